"""Text from outside never reaches a terminal raw: everything that came from a capture file, a
live server, a HAR field, stdin or an argument is display-escaped on its way to the output.

Hostile strings (every C0 control, DEL, C1 controls as characters and as raw bytes, bidi
controls, line and paragraph separators, OSC 52, a title set, a screen clear, rich markup) are
fed through every field of every input, and the installed script is run in each format, in a pipe
and on a pseudo-terminal. The output may hold our own newlines and, when colour is on, SGR colour
sequences, and nothing else of the kind: no other control byte, no C1 in UTF-8 or as a raw byte,
no raw bidi control or separator. JSON stays JSON with those characters escaped. Rich markup in
the data appears literally, and the escapes are visible (`\\x1b`, `\\x9b`, `\\u202e`), so that
dropping the data would not pass either. A failure names each leak with the tag `<field>` that
opens the hostile value it came from, and the line it is on.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import pty
import re
import select
import socket
import struct
import subprocess
import tempfile
import termios
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import RFC_ACCEPT, RFC_KEY, clean_env, read_request, script_path, socket_server

# --- hostile strings ------------------------------------------------------------------------

OSC_52 = "\x1b]52;c;aGVsbG8=\x07"  # writes the clipboard
OSC_TITLE = "\x1b]0;pwned\x07"  # sets the window title
CSI_CLEAR = "\x1b[2J"  # clears the screen
SGR_BLINK = "\x1b[5;31m"  # an SGR the data carries: ours are allowed, the data's never
MARKUP = "[bold red]x[/]"
MARKUP_TIGHT = "[bold]x[/]"  # without a space, for fields that end at whitespace
MARKUP_LINK = "[link=http://evil]y[/link]"
C0_CONTROLS = "".join(chr(c) for c in range(0x20) if c != 0x0A)  # LF ends every input line
DEL = "\x7f"
C1_CONTROLS = "".join(chr(c) for c in range(0x80, 0xA0))  # as characters: UTF-8 C2 80..C2 9F
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
SEPARATORS = "\u2028\u2029"
RAW_C1 = bytes(range(0x80, 0xA0))  # as lone bytes: invalid UTF-8

_LATIN1_SPACE = re.compile(r"\s")


def _splits_a_field(char: str) -> bool:
    """Whether a parser that reads bytes as Latin-1 and splits at whitespace (a request line's
    target, a status line, `KEY ACCEPT`) would split at `char` or at a byte of its UTF-8."""
    return bool(_LATIN1_SPACE.search(char.encode().decode("latin-1")))


def hostile_text(tag: str, *, spaces: bool = True, nul: bool = True, wide: bool = True) -> str:
    """Every hostile string at once, opened by `<tag>` so a leak can be traced to its field.

    `spaces=False` leaves out whatever splits a whitespace-separated field, `nul=False` the NUL
    an argument cannot hold, `wide=False` the characters above U+00FF (bidi controls and
    separators)."""
    # The sequences with ';' come last: a list item or an extension name ends at ';' or ','.
    pieces = [
        CSI_CLEAR, MARKUP if spaces else MARKUP_TIGHT, MARKUP_LINK, C0_CONTROLS, DEL,
        C1_CONTROLS, BIDI_CONTROLS if wide else "", SEPARATORS if wide else "",
        OSC_TITLE, SGR_BLINK, OSC_52,
    ]  # fmt: skip
    text = f"<{tag}>" + "x".join(pieces)
    if not nul:
        text = text.replace("\0", "")
    if not spaces:
        text = "".join(char for char in text if not _splits_a_field(char))
    return text


def hostile(tag: str, *, spaces: bool = True, nul: bool = True) -> bytes:
    """hostile_text as UTF-8, followed by the C1 range as raw bytes (invalid UTF-8)."""
    data = hostile_text(tag, spaces=spaces, nul=nul).encode()
    return data + (RAW_C1 if spaces else RAW_C1.replace(b"\x85", b""))


def tight(tag: str) -> bytes:
    """A hostile value that survives as one whitespace-separated field."""
    return hostile(tag, spaces=False)


def argument(tag: str) -> bytes:
    """A hostile command-line argument: everything but NUL, which argv cannot carry."""
    return hostile(tag, nul=False)


def test_the_hostile_strings_hold_every_kind_of_control() -> None:
    data = hostile("t")
    text = data.decode("utf-8", "surrogateescape")
    for char in C0_CONTROLS + DEL + C1_CONTROLS + BIDI_CONTROLS + SEPARATORS:
        assert char in text, f"U+{ord(char):04X}"
    assert "\n" not in text
    for byte in RAW_C1:  # each a lone byte, undecodable, not a part of a UTF-8 character
        assert chr(0xDC00 + byte) in text, hex(byte)
    for sequence in (OSC_52, OSC_TITLE, CSI_CLEAR, SGR_BLINK, MARKUP, MARKUP_LINK):
        assert sequence in text
    field = tight("t").decode("latin-1")
    assert field.split() == [field]
    for expected in ("\x1b", MARKUP_TIGHT, "\x9b"):
        assert expected in field
    assert b"\0" not in argument("t")
    assert b"\x1b" in argument("t")


# --- what may reach the output --------------------------------------------------------------

SGR = re.compile(r"\x1b\[[0-9;]*m")
# C0 but LF (no command under test writes a tab of its own, so a tab is the data's), DEL, C1,
# bidi controls, separators, and undecodable bytes (surrogates after surrogateescape).
FORBIDDEN = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\udc80-\udcff]"
)
TAG = re.compile(r"<([a-z0-9][a-z0-9-]*)>")
SHOWN_LEAKS = 12


def _kind(char: str) -> str:
    """The class of a forbidden character, for a failure message."""
    code = ord(char)
    kinds = {0x1B: "ESC", 0x09: "TAB", 0x0D: "CR", 0x00: "NUL", 0x7F: "DEL"}
    if code in kinds:
        return kinds[code]
    if code < 0x20:
        return "C0"
    if code <= 0x9F:
        return "C1 (UTF-8)"
    if code >= 0xDC80:
        return "undecodable byte"
    return "separator" if code in (0x2028, 0x2029) else "bidi control"


def leaks(data: bytes, stream: str, *, colour: bool) -> list[str]:
    """Each raw control in `data`, by class, grouped by the field (`<tag>`) it came from and the
    line it is on; a message shows the start of the line and what comes just before the leak."""
    text = data.decode("utf-8", "surrogateescape")
    if colour:
        text = SGR.sub("", text)
    groups: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for match in FORBIDDEN.finditer(text):
        start = text.rfind("\n", 0, match.start()) + 1
        tags = TAG.findall(text, start, match.start())
        if tags:
            field = f"<{tags[-1]}>"
        else:  # a line broken inside a value (rich breaks at U+0085, U+001C…)
            before = TAG.findall(text, 0, start)
            field = f"(a line after <{before[-1]}>)" if before else "(no tag)"
        line = repr(text[start : start + 60].strip())
        context = repr(text[max(start, match.start() - 40) : match.start() + 1])
        _, kinds = groups.setdefault((field, line), (context, []))
        if _kind(match.group()) not in kinds:
            kinds.append(_kind(match.group()))
    found = [
        f"{stream}: raw {', '.join(kinds)} from {field}, on the line {line}…, at …{context}"
        for (field, line), (context, kinds) in groups.items()
    ]
    if len(found) > SHOWN_LEAKS:
        found[SHOWN_LEAKS:] = [f"{stream}: … and {len(found) - SHOWN_LEAKS} more lines with leaks"]
    return found


@dataclass(frozen=True)
class Shown:
    """Something the output must show: one of `spellings` in the text as displayed, or, inside
    a string decoded from JSON, the character itself."""

    what: str
    spellings: tuple[str, ...]
    char: str | None = None


ESC = Shown("ESC as the visible escape \\x1b", ("\\x1b", "\\u001b", "\\u001B"), "\x1b")
C1 = Shown("U+009B as the visible escape \\x9b", ("\\x9b", "\\u009b", "\\u009B"), "\x9b")
BIDI = Shown("U+202E as the visible escape \\u202e", ("\\u202e", "\\u202E"), "\u202e")
C1_OR_BIDI = Shown(
    "a C1 control or a bidi control as a visible escape",
    C1.spellings + BIDI.spellings,
    "\x9b\u202e",
)


def literal(markup: str) -> Shown:
    return Shown(f"the markup {markup!r} literally", (markup,), markup)


ALL_SHOWN = (ESC, C1, BIDI, literal(MARKUP), literal(MARKUP_LINK))


# --- running the script: pipes and a pseudo-terminal ----------------------------------------

WIDTH = 4000  # wide enough that rich folds no finding: a hostile value stays on one line
ENVIRONMENT = {"COLUMNS": str(WIDTH), "LINES": "50", "TERM": "xterm-256color"}
TIMEOUT = 30.0


@dataclass(frozen=True)
class Route:
    """A format, a colour choice and where the output goes."""

    name: str
    fmt: str | None  # None: the default, rich on a terminal
    color: bool  # --color given
    terminal: bool  # stdout and stderr one pseudo-terminal (else two pipes)

    def options(self) -> list[bytes]:
        chosen = [] if self.fmt is None else [b"--format", self.fmt.encode()]
        return chosen + ([b"--color"] if self.color else [])

    @property
    def colour(self) -> bool:
        return self.color or self.terminal

    @property
    def json(self) -> bool:
        return self.fmt == "json"


ROUTES = [
    Route("pipe-plain", "plain", color=False, terminal=False),
    Route("pipe-plain-color", "plain", color=True, terminal=False),
    Route("pipe-rich", "rich", color=False, terminal=False),
    Route("pipe-rich-color", "rich", color=True, terminal=False),
    Route("pipe-json", "json", color=False, terminal=False),
    Route("pty-default-rich", None, color=False, terminal=True),
    Route("pty-plain", "plain", color=False, terminal=True),
    Route("pty-json", "json", color=False, terminal=True),
]
TERMINAL_ROUTES = [route for route in ROUTES if route.terminal]
routes = pytest.mark.parametrize("route", ROUTES, ids=[route.name for route in ROUTES])


@dataclass
class Ran:
    route: Route
    code: int
    stdout: bytes
    stderr: bytes  # on a terminal both streams arrive in `stdout`

    def streams(self) -> list[tuple[str, bytes]]:
        if self.route.terminal:
            return [("terminal", self.stdout)]
        return [("stdout", self.stdout), ("stderr", self.stderr)]


def run(
    route: Route, command: str | bytes, *args: str | bytes, stdin: bytes = b"", options: bool = True
) -> Ran:
    """`wsaccept COMMAND [route options] ARGS` with `stdin`, the route deciding where output
    goes; `options=False` leaves the route's options out (for a bad command line)."""
    argv = [os.fsencode(script_path()), os.fsencode(command)]
    argv += (route.options() if options else []) + [os.fsencode(arg) for arg in args]
    if route.terminal:
        code, output = run_on_terminal(argv, stdin)
        return Ran(route, code, output, b"")
    done = subprocess.run(
        argv, input=stdin, capture_output=True, timeout=TIMEOUT, env=clean_env(**ENVIRONMENT),
        check=False,
    )  # fmt: skip
    return Ran(route, done.returncode, done.stdout, done.stderr)


def run_on_terminal(argv: list[bytes], stdin: bytes) -> tuple[int, bytes]:
    """Run with stdout and stderr on a new pseudo-terminal (stdin a file with `stdin`) and
    read all it writes, within TIMEOUT. Output post-processing is off, so the bytes read are
    the bytes written (no CR added before LF)."""
    master, slave = pty.openpty()
    try:
        attributes = termios.tcgetattr(slave)
        attributes[1] &= ~termios.OPOST
        termios.tcsetattr(slave, termios.TCSANOW, attributes)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, WIDTH, 0, 0))
        with tempfile.TemporaryFile() as source:
            source.write(stdin)
            source.seek(0)
            process = subprocess.Popen(
                argv, stdin=source, stdout=slave, stderr=slave, env=clean_env(**ENVIRONMENT),
                start_new_session=True,
            )  # fmt: skip
    finally:
        os.close(slave)
    output = bytearray()
    deadline = time.monotonic() + TIMEOUT
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"the output did not end within {TIMEOUT:g} s: {bytes(output)!r:.300}")
            ready, _, _ = select.select([master], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError as error:  # EIO: the last writer closed the terminal
                if error.errno != errno.EIO:
                    raise
                break
            if not chunk:
                break
            output += chunk
        code = process.wait(timeout=max(deadline - time.monotonic(), 1.0))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
        os.close(master)
    return code, bytes(output)


# --- the checks -----------------------------------------------------------------------------


def _json_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


def _json_problems(ran: Ran) -> tuple[list[str], list[str]]:
    """Problems with the JSON Lines on stdout, and the strings they hold. On a terminal the
    diagnostics share the stream: there only the lines that start with `{` are records."""
    problems: list[str] = []
    strings: list[str] = []
    for number, raw in enumerate(ran.stdout.split(b"\n"), start=1):
        if not raw.strip():
            continue
        if ran.route.terminal and not raw.startswith(b"{"):
            continue  # diagnostics share the terminal with the JSON Lines
        try:
            record = json.loads(raw)
        except ValueError as error:
            problems.append(f"stdout line {number} is not JSON ({error}): {raw[:120]!r}")
            continue
        if not isinstance(record, dict):
            problems.append(f"stdout line {number} is not a JSON object: {raw[:120]!r}")
        strings += _json_strings(record)
    return problems, strings


def _displayed(ran: Ran) -> str:
    """All the output as text, our SGR colour sequences removed when colour is on."""
    text = "\n".join(data.decode("utf-8", "surrogateescape") for _, data in ran.streams())
    return SGR.sub("", text) if ran.route.colour else text


def check(ran: Ran, shown: Sequence[Shown], exits: Sequence[int]) -> None:
    """No crash, an expected exit status, valid JSON, no raw control, and `shown` shown."""
    everything = b"\n".join(data for _, data in ran.streams())
    if b"Traceback (most recent call last)" in everything:
        last = everything.decode("utf-8", "replace").strip().splitlines()[-1]
        pytest.fail(f"{ran.route.name}: a crash, exit {ran.code}: {last[:300]!r}")
    problems: list[str] = []
    if ran.code not in exits:
        problems.append(f"exit status {ran.code}, expected one of {sorted(exits)}")
    strings: list[str] = []
    if ran.route.json:
        bad_json, strings = _json_problems(ran)
        problems += bad_json
    for stream, data in ran.streams():
        problems += leaks(data, stream, colour=ran.route.colour)
    text = _displayed(ran)
    decoded = "\n".join(strings)
    for item in shown:
        seen = any(spelling in text or spelling in decoded for spelling in item.spellings)
        seen = seen or (item.char is not None and any(char in decoded for char in item.char))
        if not seen:
            problems.append(f"the output does not show {item.what}")
    assert not problems, f"{ran.route.name}:\n" + "\n".join(problems)


# --- inspect: a raw HTTP capture, curl -v, a pasted HTTP/2 capture, a HAR file --------------


def raw_capture() -> bytes:
    """Five handshakes with a hostile value in every field the parser takes: a request and its
    101, then a 426, a 302 and a 400 with a body, then a pasted HTTP/2 extended CONNECT."""
    lines = [
        hostile("junk"),  # not HTTP: skipped
        tight("packet") + b"GET /" + tight("target") + b" HTTP/1.1",  # tcpdump -A: bytes first
        b"Host: " + hostile("host"),
        b"Origin: " + hostile("origin"),
        b"Upgrade: " + hostile("upgrade"),
        b"Connection: " + hostile("connection"),
        b"Sec-WebSocket-Key: " + hostile("key"),
        b"Sec-WebSocket-Version: " + hostile("version"),
        b"Sec-WebSocket-Protocol: " + hostile("protocol"),
        b"Sec-WebSocket-Extensions: " + hostile("extensions"),
        b"Via: " + hostile("request-via"),
        b"X-Custom: " + hostile("custom"),
        b"",
        b"HTTP/1.1 101 " + hostile("reason-101"),
        b"Upgrade: " + hostile("response-upgrade"),
        b"Connection: " + hostile("response-connection"),
        b"Sec-WebSocket-Accept: " + hostile("accept"),
        b"Sec-WebSocket-Protocol: " + hostile("chosen-protocol"),
        b"Sec-WebSocket-Extensions: " + hostile("chosen-extensions"),
        b"Via: " + hostile("response-via"),
        b"",
        b"HTTP/1.1 426 " + hostile("reason-426"),
        b"Sec-WebSocket-Version: " + hostile("versions-426"),
        b"Via: " + hostile("via-426"),
        b"",
        hostile("body-426"),
        b"HTTP/1.1 302 " + hostile("reason-302"),
        b"Location: " + hostile("location"),
        b"",
        b"HTTP/1.0 400 " + hostile("reason-400"),
        b"Content-Type: " + hostile("content-type"),
        b"",
        hostile("body-400"),
        hostile("body-400-second"),
        b"Request Headers",  # as pasted from developer tools
        b":method: " + hostile("h2-method"),
        b":protocol: " + hostile("h2-protocol"),
        b":scheme: https",
        b":authority: " + hostile("h2-authority"),
        b":path: /" + hostile("h2-path"),
        b"sec-websocket-version: " + hostile("h2-version"),
        b"",
        b"Response Headers",
        b":status: " + hostile("h2-status"),
        b"",
    ]
    return b"\r\n".join(lines)


def curl_capture() -> bytes:
    lines = [
        b"*   Trying 127.0.0.1:8080... " + hostile("curl-info"),
        b"* Connected to " + hostile("curl-connected"),
        b"> GET /" + tight("curl-target") + b" HTTP/1.1",
        b"> Host: " + hostile("curl-host"),
        b"> Upgrade: websocket",
        b"> Connection: Upgrade",
        b"> Sec-WebSocket-Key: " + hostile("curl-key"),
        b"> Sec-WebSocket-Version: " + hostile("curl-version"),
        b"> ",
        b"< HTTP/1.1 426 " + hostile("curl-reason"),
        b"< Sec-WebSocket-Version: " + hostile("curl-versions"),
        b"< Via: " + hostile("curl-via"),
        b"< ",
        hostile("curl-body"),
        b"* Connection #0 to host left intact " + hostile("curl-trailer"),
    ]
    return b"\n".join(lines) + b"\n"


@routes
def test_inspect_raw_http_capture(route: Route, tmp_path: Path) -> None:
    capture = tmp_path / "capture.http"
    capture.write_bytes(raw_capture())
    check(run(route, "inspect", str(capture)), ALL_SHOWN, exits=[1])


@routes
def test_inspect_curl_verbose_capture(route: Route, tmp_path: Path) -> None:
    capture = tmp_path / "capture.curl"
    capture.write_bytes(curl_capture())
    check(run(route, "inspect", str(capture)), ALL_SHOWN, exits=[1])


def har_document(*, wide: bool) -> dict[str, Any]:
    """WebSocket entries with a hostile value in every field inspect reads: the url, method,
    httpVersion, header names and values, status (a string), statusText, content.text."""

    def h(tag: str) -> str:
        return hostile_text(tag, wide=wide)

    def request(entry: str) -> dict[str, Any]:
        names = ["Host", "Origin", "Upgrade", "Connection", "Sec-WebSocket-Key",
                 "Sec-WebSocket-Version", "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions",
                 "Via"]  # fmt: skip
        headers = [{"name": name, "value": h(f"{entry}-{name.lower()}")} for name in names]
        headers += [
            {"name": h(f"{entry}-header-name"), "value": "v"},
            {"name": "Sec-WebSocket-" + h(f"{entry}-repeated-name"), "value": "1"},
            {"name": "Sec-WebSocket-" + h(f"{entry}-repeated-name"), "value": "2"},
        ]
        return {
            "method": h(f"{entry}-method"),
            "url": "ws://127.0.0.1/" + h(f"{entry}-url"),
            "httpVersion": h(f"{entry}-http-version"),
            "headers": headers,
        }

    def response(entry: str, status: Any, *names: str) -> dict[str, Any]:
        headers = [{"name": name, "value": h(f"{entry}-{name.lower()}")} for name in names]
        headers.append({"name": h(f"{entry}-response-header-name"), "value": "v"})
        return {
            "status": status,
            "statusText": h(f"{entry}-status-text"),
            "httpVersion": h(f"{entry}-response-http-version"),
            "headers": headers,
            "content": {"text": h(f"{entry}-content") + "\n" + h(f"{entry}-content-second")},
        }

    upgrade = ("Upgrade", "Connection", "Sec-WebSocket-Accept", "Sec-WebSocket-Protocol",
               "Sec-WebSocket-Extensions", "Via")  # fmt: skip
    entries = [
        ("e1", 101, upgrade),
        ("e2", 426, ("Sec-WebSocket-Version", "Via")),
        ("e3", 302, ("Location",)),
        ("e4", h("e4-status"), ("Via",)),
    ]
    har_entries: list[dict[str, Any]] = [
        {"_resourceType": "websocket", "request": request(entry),
         "response": response(entry, status, *names)}
        for entry, status, names in entries
    ]  # fmt: skip
    har_entries.append({"request": {"url": h("not-websocket-url")}, "response": {}})
    return {"log": {"version": "1.2", "entries": har_entries}}


@routes
def test_inspect_har(route: Route, tmp_path: Path) -> None:
    """Every HAR field, with the hostile strings up to U+00FF (C0, DEL, C1, sequences)."""
    capture = tmp_path / "session.har"
    capture.write_text(json.dumps(har_document(wide=False), ensure_ascii=False), "utf-8")
    shown = (ESC, C1, literal(MARKUP), literal(MARKUP_LINK))
    check(run(route, "inspect", str(capture)), shown, exits=[1])


@routes
def test_inspect_har_with_bidi_controls_and_separators(route: Route, tmp_path: Path) -> None:
    capture = tmp_path / "session.har"
    capture.write_text(json.dumps(har_document(wide=True), ensure_ascii=False), "utf-8")
    check(run(route, "inspect", str(capture)), ALL_SHOWN, exits=[1])


# --- probe: a live server that answers with hostile bytes in every field --------------------

STATUSES = ("101", "426", "302", "400")


def server_response(path: bytes) -> bytes:
    """The answer to a request for `path`: /101, /426, /302 or /400 with a hostile value in the
    reason and every header, a hostile header name last (it ends the head for a parser), and a
    hostile body; anything else a plain 400."""
    status = path.strip(b"/")
    if status.decode("latin-1") not in STATUSES:
        return b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
    prefix = status.decode()

    def h(tag: str) -> bytes:
        return hostile(f"s{prefix}-{tag}")

    head = [b"HTTP/1.1 " + status + b" " + h("reason")]
    if status == b"101":
        head += [
            b"Upgrade: " + h("upgrade"),
            b"Connection: " + h("connection"),
            b"Sec-WebSocket-Accept: " + h("accept"),
            b"Sec-WebSocket-Protocol: " + h("protocol"),
            b"Sec-WebSocket-Extensions: " + h("extensions"),
        ]
    elif status == b"426":
        head.append(b"Sec-WebSocket-Version: " + h("versions"))
    elif status == b"302":
        head.append(b"Location: " + h("location"))
    head += [
        b"Via: " + h("via"),
        b"Server: " + h("server"),
        b"Set-Cookie: " + h("cookie"),
        b"X-" + h("header-name") + b": value",
    ]
    body = b"" if status == b"101" else h("body") + b"\r\n" + h("body-second") + b"\r\n"
    return b"\r\n".join(head) + b"\r\n\r\n" + body


@contextmanager
def serving(answer: Callable[[bytes], bytes]) -> Iterator[int]:
    """A threaded server on 127.0.0.1 that reads each request head and sends
    `answer(request target)`, then closes; stopped when the block ends."""

    def serve_one(connection: socket.socket) -> None:
        request = read_request(connection)
        if b"\r\n\r\n" not in request:
            return
        parts = request.split(b"\r\n", 1)[0].split(b" ")
        connection.sendall(answer(parts[1] if len(parts) > 2 else b"/"))
        connection.shutdown(socket.SHUT_WR)
        connection.settimeout(2)
        connection.recv(4096)  # the client's Close frame, or its end

    with socket_server(serve_one) as port:
        yield port


@pytest.fixture(scope="module")
def hostile_port() -> Iterator[int]:
    with serving(server_response) as port:
        yield port


PROBE_EXITS = (0, 1, 2, 3, 4, 5)


@routes
@pytest.mark.parametrize("status", STATUSES)
def test_probe_server_response(route: Route, status: str, hostile_port: int) -> None:
    url = f"ws://127.0.0.1:{hostile_port}/{status}"
    ran = run(route, "probe", "--timeout", "10", url)
    check(ran, ALL_SHOWN, exits=PROBE_EXITS)
    assert ran.code == 1, ran.stderr  # the server answered, and a rule failed


def lead(tag: str, markup: str) -> bytes:
    """What a hostile argument starts with, so that an echo cut short still shows it: a bidi
    control, a C1 control (as UTF-8 and as a raw byte), ESC and markup."""
    return f"<{tag}>\u202e\x9b{CSI_CLEAR}{markup}".encode() + b"\x9b"


PROBE_OPTIONS: dict[str, Callable[[bytes, bytes], list[bytes]]] = {
    "origin": lambda value, _: [b"--origin", value],
    "header-value": lambda value, _: [b"-H", b"X-Evil: " + value],
    "header-name": lambda _, name: [b"-H", b"X-" + name.replace(b":", b"") + b": v"],
    "protocol": lambda value, _: [b"--protocol", value],
    "extension": lambda value, _: [b"--extension", value],
    "key": lambda value, _: [b"--ws-key", value],
    "url-path": lambda _, path: [b"/plain/" + path],
}


# One option at a time (a refusal stops at the first bad one), so fewer routes: pipe and
# terminal, each format, colour on and off.
ARGUMENT_ROUTES = [ROUTES[0], ROUTES[3], ROUTES[4], ROUTES[5], ROUTES[7]]


@pytest.mark.parametrize("route", ARGUMENT_ROUTES, ids=[route.name for route in ARGUMENT_ROUTES])
@pytest.mark.parametrize("option", list(PROBE_OPTIONS))
def test_probe_echoes_a_hostile_argument(route: Route, option: str, hostile_port: int) -> None:
    """Each option probe sends (and the URL's path), hostile: sent and shown escaped in the
    request as printed, or refused as a usage error that shows it escaped; never a crash."""
    tag = f"arg-{option}"
    value = lead(tag, MARKUP) + argument(f"{tag}-rest")
    field = lead(tag, MARKUP_TIGHT) + hostile(f"{tag}-rest", spaces=False, nul=False)
    arguments = PROBE_OPTIONS[option](value, field)
    url = f"ws://127.0.0.1:{hostile_port}".encode()
    if option == "url-path":
        url, arguments = url + arguments[0], []
    else:
        url += b"/plain"
    markup = MARKUP_TIGHT if option in ("header-name", "url-path") else MARKUP
    ran = run(route, "probe", b"--timeout", b"10", *arguments, url)
    check(ran, (ESC, C1_OR_BIDI, literal(markup)), exits=PROBE_EXITS)


# --- compute and verify: keys on stdin and as arguments -------------------------------------

LONG_NAME = b"X-" + b"A" * 3000
SHORT_PIECES = [
    OSC_TITLE.encode(), OSC_52.encode(), CSI_CLEAR.encode(), SGR_BLINK.encode(),
    "\x9b".encode(), b"\x9b", "\u202e".encode(), "\u2028".encode(), b"\x7f", b"\x00AAAA",
]  # fmt: skip


def compute_lines() -> bytes:
    lines = [
        hostile("stdin-key"),
        b"\t" + hostile("stdin-key-tabbed") + b"\t",
        *SHORT_PIECES,
        MARKUP.encode(),
        MARKUP_LINK.encode(),
        b"Sec-WebSocket-Key: " + hostile("stdin-header-key"),
        b"Host: " + hostile("stdin-host"),
        LONG_NAME + b": " + hostile("stdin-long-name"),
        b"X-" + tight("stdin-name").replace(b":", b"") + b": value",
        RFC_KEY.encode() + b"\r",
    ]
    return b"\n".join(lines) + b"\n"


@routes
def test_compute_keys_on_stdin(route: Route) -> None:
    ran = run(route, "compute", "-", stdin=compute_lines())
    if route.json:
        shown: tuple[Shown, ...] = ALL_SHOWN
    elif route.fmt == "plain":  # plain prints accepts: the keys appear only in warnings
        shown = (ESC,)
    else:  # a table whose key column is 24 wide: the short keys are whole in it
        shown = (ESC, C1, BIDI, literal(MARKUP))
    check(ran, shown, exits=[0, 1])


def verify_lines() -> bytes:
    received = [tight("stdin-accept"), *SHORT_PIECES, MARKUP_TIGHT.encode(), MARKUP_LINK.encode()]
    lines = [RFC_KEY.encode() + b" " + accept for accept in received]
    lines += [
        tight("stdin-key") + b" " + RFC_ACCEPT.encode(),
        CSI_CLEAR.encode() + b" " + RFC_ACCEPT.encode(),
        tight("stdin-three") + b" b c",
        b"Host:" + tight("stdin-host") + b" " + RFC_ACCEPT.encode(),
        LONG_NAME + b":" + tight("stdin-long-name") + b" " + RFC_ACCEPT.encode(),
        RFC_KEY.encode() + b" " + RFC_ACCEPT.encode(),
    ]
    return b"\n".join(lines) + b"\n"


@routes
def test_verify_pairs_on_stdin(route: Route) -> None:
    ran = run(route, "verify", "-", stdin=verify_lines())
    shown = (ESC, C1, BIDI, literal(MARKUP_TIGHT), literal(MARKUP_LINK))
    check(ran, shown, exits=[1])


@routes
def test_compute_keys_as_arguments(route: Route) -> None:
    keys = [argument("arg-key"), *(piece for piece in SHORT_PIECES if b"\0" not in piece)]
    keys += [MARKUP.encode(), MARKUP_LINK.encode(), b"Host: " + argument("arg-host")]
    check(run(route, "compute", *keys), ALL_SHOWN, exits=[1])


@routes
def test_verify_pair_as_arguments(route: Route) -> None:
    ran = run(route, "verify", argument("arg-key"), argument("arg-accept"))
    check(ran, ALL_SHOWN, exits=[1])


# --- arguments echoed in usage errors -------------------------------------------------------

USAGE_ERRORS: dict[str, Callable[[bytes], list[bytes]]] = {
    "inspect-missing-file": lambda value: [b"inspect", b"/nonexistent/" + value],
    "unknown-option": lambda value: [b"compute", b"--" + value],
    "bad-format": lambda value: [b"compute", b"--format", value, RFC_KEY.encode()],
    "unknown-command": lambda value: [value],
    "probe-bad-url": lambda value: [b"probe", value],
    "probe-bad-header": lambda value: [b"probe", b"-H", value, b"ws://127.0.0.1:9/"],
    "probe-missing-cacert": lambda value: [
        b"probe",
        b"--cacert",
        b"/nonexistent/" + value,
        b"wss://127.0.0.1:9/",
    ],
    "probe-bad-timeout": lambda value: [b"probe", b"--timeout", value, b"ws://127.0.0.1:9/"],
    "genkey-bad-request-url": lambda value: [b"genkey", b"--request", value],
    "genkey-bad-count": lambda value: [b"genkey", b"-n", value],
}
USAGE_ROUTES = [ROUTES[0], TERMINAL_ROUTES[0]]


@pytest.mark.parametrize("route", USAGE_ROUTES, ids=[route.name for route in USAGE_ROUTES])
@pytest.mark.parametrize("case", list(USAGE_ERRORS))
def test_an_argument_echoed_in_a_usage_error(route: Route, case: str) -> None:
    command, *rest = USAGE_ERRORS[case](argument(f"usage-{case}"))
    ran = run(route, command, *rest, options=False)
    check(ran, (ESC,), exits=[2])
