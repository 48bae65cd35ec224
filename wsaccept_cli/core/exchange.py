"""One exchange on the wire, a request head sent and the response head received, as a Handshake.

Pure code over bytes. `probe` and any other mode that sees the bytes themselves (a relay, a
server) parse them here, so they all see a response with bare LF line endings the same way:
RFC 9112 §2.2 lets a recipient take a bare LF as a line end, so the head is read with it, and
the response is marked (`Message.bare_lf`) for the rule and the client predictions that care.

The usual exchange (two heads whose every line ends in CR LF, one status line, `Name: value`
lines, no folding, nothing after the blank line) is built by `_plain_exchange` in one pass
over each head's lines, into exactly what the lenient capture parser (`core.capture`, made for
pasted text: labels, curl output, heads without a first line) builds from the same lines;
anything else goes through that parser. tests/test_exchange_shortcut.py holds the two to the
same result, attribute by attribute, on generated heads, usual and not.
"""

from __future__ import annotations

from wsaccept_cli.core.capture import header_line, parse_lines, request_line, status_line
from wsaccept_cli.core.handshake import Capture, Handshake, Message

HEAD_END = b"\r\n\r\n"
SOURCE = "raw HTTP"  # as core.capture names a handshake parsed from raw lines

# What is kept of the bytes after a response head: enough for the frames a client reads before
# it opens (a valid first frame, then the next one's header), bounded like the rest.
MAX_AFTER = 4096


def has_bare_lf(head: bytes) -> bool:
    """Whether a head ends a line with LF alone (an LF not after a CR) before its end."""
    return head.count(b"\n") != head.count(b"\r\n")


def head_lines(head: bytes) -> list[str]:
    """The lines of a head: split at CR LF, or at LF (a trailing CR dropped) if it uses bare
    LF line endings."""
    text = head.decode("latin-1")
    if not has_bare_lf(head):
        return text.split("\r\n")
    return [line.removesuffix("\r") for line in text.split("\n")]


def parse_exchange(
    request: bytes, response: bytes, after: bytes = b""
) -> tuple[Handshake, Capture]:
    """The handshake of one exchange (its response None if nothing came back), and the
    capture record the rules take with it. `after`: what came right behind the response head
    with it (the client models read it as the first WebSocket bytes; at most MAX_AFTER kept).
    """
    parsed = _plain_exchange(request, response) or _lenient_exchange(request, response)
    handshake = parsed[0]
    if handshake.response is not None:
        handshake.response.raw = response
        handshake.response.after = after[:MAX_AFTER]
        if has_bare_lf(response):
            handshake.response.bare_lf = True
    return parsed


def _lenient_exchange(request: bytes, response: bytes) -> tuple[Handshake, Capture]:
    """Any exchange, through the capture parser's line-by-line state machine."""
    lines = request.decode("latin-1").split("\r\n")
    if lines[-1]:  # a request always ends its head; keep the response apart in any case
        lines.append("")
    lines += head_lines(response)
    capture = Capture()
    handshake = next(parse_lines(enumerate(lines, start=1), capture, curl=False))
    return handshake, capture


def _plain(head: bytes) -> bool:
    """Whether every line of `head` ends in CR LF (no CR or LF alone) and its one blank line
    ends it."""
    ends = head.count(b"\r\n")
    return head.find(HEAD_END) == len(head) - len(HEAD_END) >= 0 and head.count(
        b"\r"
    ) == ends == head.count(b"\n")


def _plain_exchange(request: bytes, response: bytes) -> tuple[Handshake, Capture] | None:
    """The usual exchange as the capture parser reads it, or None when it is not one.

    What the parser does with such lines, and so what this does: the lines come split at
    CR LF, so each counts as LF-ended (`lf_lines`, the first and the blank one included); the
    request line and the status line start their messages, each header line is kept as it
    was written and its name and value taken by `header_line`; after each blank line the
    second empty string of the split is read as an empty body line and dropped; the request's
    key is remembered when the two are paired; every line counts in `capture.lines`."""
    if not (_plain(request) and _plain(response)):
        return None
    request_lines = request.decode("latin-1").split("\r\n")
    response_lines = response.decode("latin-1").split("\r\n")
    sent = _message(request_lines, 1, "request")
    answer = _message(response_lines, len(request_lines) + 1, "response")
    if sent is None or answer is None:
        return None
    capture = Capture()
    capture.lines = len(request_lines) + len(response_lines)
    keys = sent.values("sec-websocket-key")
    if keys:
        capture.add_key(keys[0], sent.line)
    return Handshake(sent, answer, SOURCE), capture


def _message(lines: list[str], line: int, kind: str) -> Message | None:
    """A head's lines (split at CR LF: the blank line and the empty string after it last) as
    the message the capture parser makes of them, or None where it would do anything else."""
    first = lines[0]
    if first != first.strip():
        return None
    request = request_line(first)
    if kind == "request":
        if request is None:
            return None
        message = Message(kind, line, first[request.start(1) :])
        message.method, message.target, message.version = request.groups()
    else:
        status = status_line(first)
        if request is not None or status is None or _interim(int(status.group(2))):
            return None
        message = Message(kind, line, first[status.start(1) - len("HTTP/") :])
        message.version, code, reason = status.groups()
        message.status, message.reason = int(code), reason or ""
        message.keep_line(message.start or first)
    for text in lines[1:-2]:
        header = header_line(text) if text[:1] not in (" ", "\t") else None
        if header is None:  # folding, or a line that is no header line: the parser decides
            return None
        message.add_header(*header)
        message.keep_line(text)
    message.lf_lines = len(lines) - 1  # each line of the head, its blank line included
    return message


def _interim(status: int) -> bool:
    """An interim response: the capture parser keeps it for the final one it awaits."""
    return 100 <= status < 200 and status != 101
