"""The strict reading of an HTTP/1.1 request head that `wsaccept serve`, the reference server,
applies before it upgrades: what RFC 9112 lets a lenient server accept, a strict one refuses with
400, because two parsers that read one head differently are how requests are smuggled.

Pure code: the head's bytes in, a sentence naming the first problem (with its section) out, in
time linear in the head.
"""

from __future__ import annotations

import re

_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") (\S+) HTTP/(\d)\.(\d)")
_FIELD_LINE = re.compile(rb"(" + _TOKEN + rb"):[ \t]*([^\r\n\x00]*?)[ \t]*")
_HOST = re.compile(
    r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::[0-9]*)?"
)  # RFC 9110 §7.2: uri-host [ ":" port ] (RFC 3986 reg-name / IPv4 / IP-literal)
_CONTENT_LENGTH = re.compile(r"[0-9]+")
TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 §5.6.2


def head_syntax_problem(head: bytes) -> str | None:
    """The first way `head` (a request head, its blank line included) is not strict
    HTTP/1.1 syntax, or None."""
    if b"\r\n\r\n" not in head or b"\n" in head.replace(b"\r\n", b""):
        return "a line ends in a bare LF, not CR LF (RFC 9112 §2.2)"
    lines = head[: head.index(b"\r\n\r\n")].split(b"\r\n")
    if _REQUEST_LINE.fullmatch(lines[0]) is None:
        return "the request line is not `method SP target SP HTTP/x.y` (RFC 9112 §3)"
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):
            return "a header line is folded onto the one before (obs-fold, RFC 9112 §5.2)"
        if b"\r" in line or b"\x00" in line:
            return "a header line holds a bare CR or a NUL (RFC 9112 §2.2, RFC 9110 §5.5)"
        if _FIELD_LINE.fullmatch(line) is None:
            return (
                "a header line is not `name: value` (whitespace before the colon, or a name"
                " that is no token: RFC 9112 §5.1)"
            )
    return None


def host_problem(hosts: list[str]) -> str | None:
    """What is wrong with the request's Host headers (RFC 9112 §3.2: exactly one, valid)."""
    if not hosts:
        return "no Host header (RFC 9112 §3.2)"
    if len(hosts) > 1:
        return "more than one Host header (RFC 9112 §3.2)"
    if not hosts[0]:
        return "the Host header is empty, but a ws:// URI has an authority (RFC 9112 §3.2)"
    if _HOST.fullmatch(hosts[0]) is None:
        return "the Host header is not host[:port] (RFC 9110 §7.2)"
    return None


def body_problem(content_lengths: list[str], transfer_encodings: list[str]) -> str | None:
    """Why a handshake request's framing says it has content (RFC 9112 §6): an upgrade request
    has none, and one that claims some is a request smuggling shape."""
    if transfer_encodings:
        return "the request has a Transfer-Encoding: a handshake has no content (RFC 9112 §6.1)"
    if any(_CONTENT_LENGTH.fullmatch(value) is None for value in content_lengths):
        return "a Content-Length is not a number (RFC 9112 §6.3)"
    if len(content_lengths) > 1:
        return "more than one Content-Length (RFC 9112 §6.3)"
    if content_lengths and int(content_lengths[0]) != 0:
        return "the request has content: a handshake has none (RFC 9110 §9.3.1)"
    return None
