"""Chromium's HTTP/1.1 response-head parser and WebSocket checks (see `chromium` for the sources
each rule models). A module of its own because Chromium's parser is unlike the `Grammar` ones:
it finds the status line in slop, splits lines at any run of CR and LF, skips what it cannot
use, and splits coalescing fields at commas before any WebSocket check looks at them."""

from __future__ import annotations

import re

from wsaccept_cli.core.clientmodels.headerlists import chromium_extensions
from wsaccept_cli.core.clientmodels.httpgrammar import Head, RefusalError
from wsaccept_cli.core.clientmodels.profile import Facts

MAX_HEAD = 256 * 1024  # kMaxHeaderBufSize
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_LINES = re.compile(rb"[\r\n]+")
# HttpUtil::IsNonCoalescingHeader: values never split at commas.
NON_COALESCING = frozenset(
    {"date", "expires", "last-modified", "location", "retry-after", "set-cookie",
     "www-authenticate", "proxy-authenticate", "strict-transport-security"}
)  # fmt: skip


def locate_start(data: bytes) -> int | None:
    """LocateStartOfStatusLine: `http` in any case, at most 4 bytes in."""
    for index in range(min(len(data) - 4, 4) + 1):
        if data[index : index + 4].lower() == b"http":
            return index
    return None


def locate_end(data: bytes, start: int) -> int | None:
    """LocateEndOfHeaders: after an LF, another LF (one CR between them allowed)."""
    was_lf, last = False, 0
    for index in range(start, len(data)):
        byte = data[index]
        if byte == 0x0A:
            if was_lf:
                return index + 1
            was_lf = True
        elif byte != 0x0D or last != 0x0A:
            was_lf = False
        last = byte
    return None


def parse(data: bytes) -> Head:
    """The response as Chromium's WebSocket handshake sees it, or RefusalError."""
    start = locate_start(data)
    if start is None:
        raise RefusalError("no status line (HTTP/0.9)")
    end = locate_end(data, start)
    if end is None:
        raise RefusalError("the head never ends (no empty line)")
    if end > MAX_HEAD:
        raise RefusalError(f"a head of {end} bytes (over {MAX_HEAD})")
    head_bytes = data[:end]
    if b"\x00" in head_bytes:
        raise RefusalError("a NUL byte in the head")
    body = head_bytes[start:]
    cut = len(body)
    for stop in (body.find(b"\r"), body.find(b"\n")):
        if stop >= 0:
            cut = min(cut, stop)
    status_line, rest = body[:cut], body[cut:]
    head = Head()
    _status_line(head, status_line.decode("latin-1"))
    for name, value in _fields(rest):
        head.raw_values.append(value)
        if value and name.lower() not in NON_COALESCING and "," in value:
            for item in _split(value):
                head.fields.append((name, item))
        else:
            head.fields.append((name, value))
    if len(set(head.values("content-length"))) > 1 and "chunked" not in head.tokens(
        "transfer-encoding"
    ):
        raise RefusalError("Content-Length with different values")
    head.end = end
    return head


def _status_line(head: Head, line: str) -> None:
    """ParseVersion and ParseStatusLine: the version clamped to 0.9, 1.0, 1.1 or 2.0; the
    status after the first space, 200 without digits."""
    version = "1.0"
    if line[:4].lower() == "http" and line[4:5] == "/":
        dot = line.find(".", 5)
        if dot >= 0 and line[5:6].isdigit() and line[dot + 1 : dot + 2].isdigit():
            major, minor = int(line[5]), int(line[dot + 1])
            clamped = "1.1" if (major, minor) >= (1, 1) else "1.0"
            version = "2.0" if (major, minor) == (2, 0) else clamped
    head.version = version
    space = line.find(" ")
    if space < 0:
        head.status = 200
        return
    status = line[space + 1 :].lstrip(" ")
    digits = len(status) - len(status.lstrip("0123456789"))
    head.status = int(status[:digits]) if digits else 200
    head.reason = status[digits:].strip(" ")


def _fields(rest: bytes) -> list[tuple[str, str]]:
    """AssembleRawHeaders then HeadersIterator::GetNext."""
    lines: list[str] = []
    continuable = False
    for raw in _LINES.split(rest):
        if not raw:
            continue
        line = raw.decode("latin-1")
        if continuable and line[0] in " \t":
            lines[-1] += " " + line.lstrip(" \t")
            continue
        lines.append(line)
        colon = line.find(":")
        continuable = colon > 0 and line[0] not in " \t"
    fields = []
    for line in lines:
        colon = line.find(":")
        if colon <= 0 or line[0] in " \t":
            continue
        name = line[:colon].strip(" \t")
        if not _TOKEN.fullmatch(name):
            continue
        fields.append((name, line[colon + 1 :].strip(" \t")))
    return fields


def _split(value: str) -> list[str]:
    """ValuesIterator(values, ',', ignore_empty_values=false): commas outside double quotes,
    each item trimmed, empty items kept."""
    items, start, quoted = [], 0, False
    for index, char in enumerate(value):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            items.append(value[start:index].strip(" \t"))
            start = index + 1
    items.append(value[start:].strip(" \t"))
    return items


def _single(facts: Facts, name: str) -> tuple[str | None, str | None]:
    """GetSingleHeaderValue: the one value, or the reason there is not one."""
    values = facts.response.values(name)
    if not values:
        return None, f"no {name}"
    if len(values) > 1:
        return None, f"{name} more than once"
    return values[0], None


def upgrade(facts: Facts) -> str | None:
    """ValidateUpgrade: one value (after splitting at commas), `websocket` in any case."""
    values = facts.response.values("upgrade")
    if len(values) == 1 and values[0].lower() == "websocket":
        return None
    return f"Upgrade is {', '.join(values)!r}, not websocket" if values else "no Upgrade"


def connection(facts: Facts) -> str | None:
    """ValidateConnection: a Connection field, one of whose values is `Upgrade` in any case."""
    values = facts.response.values("connection")
    if not values:
        return "no Connection"
    if any(value.lower() == "upgrade" for value in values):
        return None
    return f"Connection is {', '.join(values)!r}, not upgrade"


def accept(facts: Facts) -> str | None:
    """ValidateSecWebSocketAccept: one value, exactly the expected accept."""
    value, problem = _single(facts, "Sec-WebSocket-Accept")
    if problem is not None:
        return problem
    if facts.expected is None or value == facts.expected:
        return None
    return "wrong Sec-WebSocket-Accept"


def subprotocol(facts: Facts) -> str | None:
    """ValidateSubProtocol: at most one value, one that was offered (case-sensitive); none
    when some were offered fails."""
    values = facts.response.values("sec-websocket-protocol")
    if len(values) > 1:
        return "more than one subprotocol"
    if values and not facts.offered:
        return "a subprotocol that was not offered"
    if values and values[0] not in facts.offered:
        return "a subprotocol that was not offered"
    if facts.offered and not values:
        return "no subprotocol chosen"
    return None


_DEFLATE = "permessage-deflate"
_TAKEOVER = ("server_no_context_takeover", "client_no_context_takeover")
_BITS = ("server_max_window_bits", "client_max_window_bits")
_BITS_VALUE = re.compile(r"[89]|1[0-5]")  # GetWindowBits (no leading zero), IsValidWindowBits


def extensions(facts: Facts) -> str | None:
    """ValidateExtensions with WebSocketDeflateParameters::Initialize and IsValidAsResponse:
    every value parsed alone; only `permessage-deflate` (exact), once; parameter names exact,
    once each; the takeovers without a value; window bits digits without a leading zero, 8 to
    15; client_max_window_bits with a value."""
    seen = False
    for value in facts.response.values("sec-websocket-extensions"):
        parsed = chromium_extensions(value)
        if not parsed:
            return "malformed Sec-WebSocket-Extensions"
        for name, parameters in parsed:
            if name != _DEFLATE:
                return "an extension that was not offered"
            if seen:
                return f"{_DEFLATE} more than once"
            seen = True
            if _deflate_problem(parameters):
                return f"invalid {_DEFLATE} parameters"
    return None


def _deflate_problem(parameters: list[tuple[str, str | None]]) -> bool:
    names = set()
    for name, value in parameters:
        if name in names or (name not in _TAKEOVER and name not in _BITS):
            return True
        names.add(name)
        if name in _TAKEOVER and value is not None:
            return True
        if name in _BITS and (not value or not _BITS_VALUE.fullmatch(value)):
            return True
    return False
