"""How `wsaccept connect` shows a conversation's events (net/conversation.py).

Three ways: JSON Lines (every event one object, its kind under `event`); plain to a pipe (one
line per message that arrives on stdout, text as it came, a binary message as its size and its
bytes in hex, never raw bytes; the end, when it is not clean, on stderr); and at a terminal,
every event as it happens with its direction, type, size and the time since the start. Text
from the server reaches the screen only through `display` (ui/text.py).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from wsaccept_cli.ui.text import display, json_safe, shown

HELP = """commands:
  /ping [DATA]            send a Ping (DATA, else a numbered payload); its Pong is timed
  /close [CODE [REASON]]  send a Close (default 1000) and wait for the server's
  /binary HEX             send a binary message (hex digits, spaces allowed)
  /send-file PATH         send a file as one binary message
  /quit                   close with 1000 and quit (so does Ctrl-D)
  /help                   this list
  //TEXT                  send '/TEXT' as a text message
any other line is sent as a text message"""

ARROWS = {"in": "<", "out": ">"}
HEX_SHOWN = 64  # bytes of a binary message shown in hex at a terminal


def json_line(event: dict[str, Any]) -> bytes:
    return (json_safe(json.dumps(event, ensure_ascii=False, separators=(",", ":"))) + "\n").encode(
        "utf-8"
    )


def piped_line(event: dict[str, Any]) -> bytes:
    """Plain output to a pipe: one line per message that came, nothing else."""
    if event["event"] != "message" or event["dir"] != "in":
        return b""
    if event["type"] == "text":
        return (display(event["data"]) + "\n").encode("utf-8")
    data = base64.b64decode(event["data_base64"])
    return f"binary {event['size']} bytes: {data.hex()}\n".encode()


def terminal_line(event: dict[str, Any]) -> str:
    """At a terminal: every event, as it happens."""
    at = f"{event['at_s']:8.3f} s  "
    kind = event["event"]
    if kind == "message":
        arrow = ARROWS[event["dir"]]
        size = f"{event['size']} B"
        if event["type"] == "text":
            return f"{at}{arrow} text {size}  {shown(event['data'])}"
        data = base64.b64decode(event["data_base64"])
        more = f" … ({len(data) - HEX_SHOWN} more bytes)" if len(data) > HEX_SHOWN else ""
        return f"{at}{arrow} binary {size}  {data[:HEX_SHOWN].hex(' ')}{more}"
    if kind in ("ping", "pong"):
        arrow = ARROWS[event["dir"]]
        rtt = f"  RTT {event['rtt_ms']:.1f} ms" if event.get("rtt_ms") is not None else ""
        return f"{at}{arrow} {kind} {event['size']} B  {shown(event['data'])}{rtt}"
    if kind == "close":
        return f"{at}{close_text(event)}"
    if kind == "open":
        return f"{at}{open_text(event)}"
    return f"{at}error: {shown(event['message'])}"


def open_text(event: dict[str, Any]) -> str:
    parts = [f"connected to {display(event['url'])}"]
    if event.get("protocol"):
        parts.append(f"subprotocol {display(event['protocol'])}")
    if event.get("extensions"):
        parts.append(", ".join(display(name) for name in event["extensions"]))
    return "; ".join(parts)


def close_text(event: dict[str, Any]) -> str:
    """How the conversation ended, in words."""
    reason = f" {display(event['reason'])!r}" if event.get("reason") else ""
    code = event["code"]
    if event["by"] == "server":
        return f"closed by the server: {code}{reason}"
    if event["by"] == "client":
        answer = event.get("server_code")
        answered = f" (the server answered {answer})" if answer not in (None, code) else ""
        return f"closed by us: {code}{reason}{answered}"
    return f"ended abnormally ({code}): {display(event.get('reason') or 'no Close frame')}"


HELD_ENDS = {
    "open": "still open at the end of the hold: closing with 1000",
    "closed": "closed by the server",
    "reset": "the connection ended without a Close frame",
    "protocol_error": "the server broke the protocol",
}


def held_line(event: dict[str, Any]) -> str:
    """`probe --hold/--ping/--send` at a terminal: one event of the held connection."""
    at = f"{event['at_s']:8.3f} s  "
    kind = event["event"]
    if kind == "ping":
        return f"{at}> ping {event['number']}"
    if kind == "pong":
        return f"{at}< pong {event['number']}  RTT {event['rtt_ms']:.1f} ms"
    if kind == "message":
        return f"{at}< {event['type']} {event['size']} B  {shown(event['data'])}"
    code = f" ({event['code']})" if event.get("code") is not None else ""
    return f"{at}{HELD_ENDS.get(event['ended'], event['ended'])}{code}"
