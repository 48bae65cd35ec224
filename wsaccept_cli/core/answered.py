"""Whether what a server sent is an HTTP response at all, and if not, what it looks like.

A WebSocket client reads an HTTP/1.1 response head: a status line `HTTP/x.y NNN reason`
(RFC 9112 §4), header field lines (§5), a blank line. A port that speaks something else (SSH,
SMTP, Redis, TLS, HTTP/2 only), a server that sends a page with no status line, an echo service
and garbage all fail that at the first line, and a real client refuses them (websockets:
"invalid HTTP status line"; Node's llhttp: HPE_INVALID_CONSTANT). The lenient capture parser of
`inspect` would skip such lines looking for a handshake; on the wire nothing may be skipped, so
`probe`, the relay and the proxy tunnel check the bytes here first, and say what came instead.

Pure code over bytes; linear in their size.
"""

from __future__ import annotations

import re

from wsaccept_cli.core.keys import printable
from wsaccept_cli.core.wording import plural

STATUS_SECTION = "RFC 9112 §4"
# The status line's fixed part: `HTTP/`, one digit, a dot, one digit, a space, three digits.
_TEMPLATE = b"HTTP/9.9 999"
# A reason phrase and a field value hold HTAB, SP, visible ASCII and obs-text, nothing else
# (RFC 9112 §4, RFC 9110 §5.5): no control character, no bare CR.
_TEXT = rb"[\t\x20-\x7e\x80-\xff]*"
_STATUS_LINE = re.compile(rb"HTTP/[0-9]\.[0-9] [0-9]{3}(?: " + _TEXT + rb")?\r?")
_FIELD_LINE = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+:" + _TEXT + rb"\r?")
_FOLD_LINE = re.compile(rb"[ \t]" + _TEXT + rb"\r?")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_REQUEST_LINE = re.compile(rb"[A-Za-z]+ \S+ HTTP/\S*\r?")
_STATUS_START = re.compile(rb"HTTP/[0-9]\.[0-9] [0-9]{3} ")
_SHOWN = 60  # bytes of what came shown in a message
_HTTP2_FRAME_TYPES = {0x4: "SETTINGS", 0x7: "GOAWAY"}


def _fits_template(data: bytes | bytearray) -> bool:
    """Whether `data` could still begin a status line (it matches the template so far)."""
    for have, want in zip(data[: len(_TEMPLATE)], _TEMPLATE, strict=False):
        if (want == ord("9") and not 0x30 <= have <= 0x39) or (want != ord("9") and have != want):
            return False
    return len(data) <= len(_TEMPLATE) or data[len(_TEMPLATE)] in b" \r\n"


def cannot_be_http(data: bytes | bytearray) -> bool:
    """Whether the first bytes of an answer already rule out an HTTP response: its first line
    (complete, or so far) is no status line. A reader stops reading there."""
    newline = data.find(b"\n")
    if newline < 0:
        return not _fits_template(data)
    return _STATUS_LINE.fullmatch(data[:newline]) is None


def not_http(data: bytes, request: bytes = b"") -> str | None:
    """None when `data` begins like an HTTP response (a status line, then header field lines
    up to the blank line or the end of what came); else what came, as a phrase naming the
    protocol it looks like. `request` is what we sent, to recognise an echo of it."""
    if not data:
        return None
    lines = data.split(b"\n")
    complete = lines[:-1]  # the last piece has no LF yet
    if not complete:
        return None if _fits_template(data) else _what_came(data, request)
    if _STATUS_LINE.fullmatch(complete[0]) is None:
        return _what_came(data, request)
    return _bad_field_line(complete[1:])


def _bad_field_line(lines: list[bytes]) -> str | None:
    for number, line in enumerate(lines, 2):
        if line in (b"", b"\r"):
            return None  # the end of the head
        if number > 2 and _FOLD_LINE.fullmatch(line):  # obsolete line folding (RFC 9112 §5.2)
            continue
        if _FIELD_LINE.fullmatch(line) is None:
            return f"line {number} of its head, {_quote(line)}, {_why_not_a_field(line)}"
    return None


def _why_not_a_field(line: bytes) -> str:
    control = _CONTROL.search(line.removesuffix(b"\r"))
    if control is not None and b":" in line[: control.start()]:
        return f"holds a control character ({printable(control.group())}) in its value"
    return "is not a header field line"


def _quote(data: bytes) -> str:
    shown = printable(data[:_SHOWN].rstrip(b"\r\n"))
    more = f" and {len(data) - _SHOWN} more bytes" if len(data) > _SHOWN else ""
    return f"'{shown}'{more}"


def _what_came(data: bytes, request: bytes) -> str:
    """What a first line that is no status line looks like."""
    first = data.split(b"\n", 1)[0]
    shown = _quote(first)
    stripped = data.lstrip()[:20].lower()
    if request and data[: len(request)] == request[: len(data)]:
        return f"our own request back ({shown}): the server echoed the request"
    if _REQUEST_LINE.fullmatch(first) is not None:
        return f"a request line ({shown}), not a status line: the other end speaks as a client"
    if not first.strip():
        return "a blank line where the status line belongs"
    for prefix, what in _LOOKS_LIKE:
        if data.startswith(prefix) or stripped.startswith(prefix):
            return what.format(shown=shown)
    if data[:1] in (b"\x15", b"\x16") and data[1:2] == b"\x03":
        return f"a TLS record ({shown}): this port speaks TLS; use a wss:// URL"
    frame = _HTTP2_FRAME_TYPES.get(data[3]) if len(data) >= 9 and data[:2] == b"\0\0" else None
    if frame is not None:
        return f"an HTTP/2 {frame} frame: this port speaks HTTP/2 only (try --http2)"
    if first.upper().startswith(b"HTTP/"):
        if _STATUS_START.match(first) is not None:
            return f"a status line whose reason holds a control character ({shown})"
        return f"a status line that is not 'HTTP/x.y NNN' ({shown})"
    return f"{plural(len(data), 'byte')} starting {shown}"


# What a first line that is no status line usually means: (its start, lowercased where the
# protocol is not case-sensitive, the phrase).
_LOOKS_LIKE: tuple[tuple[bytes, str], ...] = (
    (b"SSH-", "an SSH banner ({shown}): this port speaks SSH"),
    (b"<!doctype html", "an HTML page without a status line ({shown})"),
    (b"<html", "an HTML page without a status line ({shown})"),
    (b"<", "markup without a status line ({shown})"),
    (b"{", "JSON without a status line ({shown})"),
    (b"[", "JSON without a status line ({shown})"),
    (b"220", "a '220' greeting ({shown}): this port speaks SMTP or FTP"),
    (b"+OK", "a '+OK' greeting ({shown}): this port speaks POP3"),
    (b"* OK", "a '* OK' greeting ({shown}): this port speaks IMAP"),
    (b"-ERR", "a Redis error reply ({shown}): this port speaks Redis"),
    (b"-NOAUTH", "a Redis error reply ({shown}): this port speaks Redis"),
)


def not_http_message(what: str, who: str = "the server") -> str:
    """The one-line reason a reader gives for an answer that is no HTTP response."""
    if what.startswith("line "):
        return (
            f"{who} sent a head that is no HTTP: {what} (RFC 9112 §5, RFC 9110 §5.5);"
            " a client fails it"
        )
    return (
        f"{who} sent no HTTP response: {what} ({STATUS_SECTION}: a WebSocket server answers"
        " with a status line such as 'HTTP/1.1 101 Switching Protocols')"
    )
