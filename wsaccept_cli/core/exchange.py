"""One exchange on the wire, a request head sent and the response head received, as a Handshake.

Pure code over bytes. `probe` and any other mode that sees the bytes themselves (a relay, a
server) parse them here, so they all see a response with bare LF line endings the same way:
RFC 9112 §2.2 lets a recipient take a bare LF as a line end, so the head is read with it, and
the response is marked (`Message.bare_lf`) for the rule and the client predictions that care.
"""

from __future__ import annotations

from wsaccept_cli.core.capture import parse_lines
from wsaccept_cli.core.handshake import Capture, Handshake

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
    lines = request.decode("latin-1").split("\r\n")
    if lines[-1]:  # a request always ends its head; keep the response apart in any case
        lines.append("")
    lines += head_lines(response)
    capture = Capture()
    handshake = next(parse_lines(enumerate(lines, start=1), capture, curl=False))
    if handshake.response is not None:
        handshake.response.raw = response
        handshake.response.after = after[:MAX_AFTER]
        if has_bare_lf(response):
            handshake.response.bare_lf = True
    return handshake, capture
