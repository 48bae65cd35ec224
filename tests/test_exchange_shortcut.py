"""The usual exchange's one-pass parse (`core.exchange._plain_exchange`) against the lenient
capture parser it stands in for: the same messages, attribute by attribute, and the same capture
record, on generated heads that are usual and on their neighbours that are not (the shortcut must
then step aside)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from wsaccept_cli.core import exchange
from wsaccept_cli.core.handshake import Capture, Handshake, Message
from wsaccept_cli.core.request import probe_request

REQUEST = probe_request("ws://127.0.0.1:8080/chat?x=1", ("X-Trace: a b",), protocols=("chat",))[1]
USUAL = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nServer: x\r\n\r\n"
)

FIRST_LINES = [
    "HTTP/1.1 101 Switching Protocols", "HTTP/1.1 101", "HTTP/1.1 101 ", "HTTP/1.0 200 OK",
    "HTTP/1.1 100 Continue", "HTTP/1.1 103 Early Hints", "HTTP/1.1 199 x", "HTTP/1.1 426 Upgrade",
    "http/1.1 101 x", " HTTP/1.1 101 x", "HTTP/1.1  101  x", "HTTP/2 101 x", "HTTP/1.1 1011 x",
    "E\x00HTTP/1.1 101 x", "xxGET / HTTP/1.1", "GET / HTTP/1.1", "HTTP/1.1 101 OK\xa0",
    "HTTP/1.1 101 \u00e9t\u00e9", "", "Upgrade: websocket", "HTTP/1.1 101 a: b",
]  # fmt: skip
FIELDS = [
    "Upgrade: websocket", "Connection: Upgrade", "connection:upgrade", "Upgrade : websocket",
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "Sec-WebSocket-Accept:\t x \t",
    "X:", "X: ", "no colon here", " folded: line", "\tfolded", ":status: 101",
    "Set-Cookie: a=b; Path=/", "X-\u00e9: \u00ff", "X: a\x00b", "X: \x0b", "\x0b", "\xa0",
    "Bad Name: x", "X: a: b", "Date: Sat, 05 Dec 2026 14:00:00 GMT", "HTTP/1.1 101 Again",
    "GET / HTTP/1.1", "Response Headers", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
]  # fmt: skip
ENDS = ["\r\n"] * 8 + ["\n", "\r", "\r\r\n", "\n\r"]


@st.composite
def heads(draw: st.DrawFn, first_lines: list[str]) -> bytes:
    """A head from generated lines: mostly CR LF ended, sometimes not, sometimes cut."""
    lines = [draw(st.sampled_from(first_lines))]
    lines += draw(st.lists(st.sampled_from(FIELDS) | st.text(max_size=12), max_size=8))
    text = "".join(line + draw(st.sampled_from(ENDS)) for line in lines)
    text += draw(st.sampled_from(["\r\n"] * 6 + ["", "\n", "\r\n\r\n", "\r\nX: y\r\n\r\n"]))
    return text.encode("latin-1", "replace")


def _state(value: Any) -> Any:
    """What a parse built, as comparable data (a Message's index cache left out)."""
    if isinstance(value, Message):
        found = {k: v for k, v in vars(value).items() if k != "_by_name"}
        found["interim"] = [_state(m) for m in value.interim]
        return found
    if isinstance(value, Handshake):
        return {**vars(value), "request": _state(value.request), "response": _state(value.response)}
    if isinstance(value, Capture):
        return vars(value)
    return value


def _lenient(request: bytes, response: bytes) -> tuple[Any, Any]:
    handshake, capture = exchange._lenient_exchange(request, response)
    if handshake.response is not None:
        handshake.response.raw = response
        handshake.response.bare_lf = exchange.has_bare_lf(response)
    return _state(handshake), _state(capture)


def _compared(request: bytes, response: bytes) -> bool:
    """Whether the shortcut took the exchange; either way parse_exchange's result must be the
    lenient parser's."""
    handshake, capture = exchange.parse_exchange(request, response)
    assert (_state(handshake), _state(capture)) == _lenient(request, response)
    return exchange._plain_exchange(request, response) is not None


def test_the_usual_exchange_takes_the_shortcut_and_parses_as_the_lenient_parser() -> None:
    assert _compared(REQUEST, USUAL)
    handshake, capture = exchange.parse_exchange(REQUEST, USUAL)
    assert handshake.response is not None
    assert handshake.response.status == 101
    assert handshake.response.values("upgrade") == ["websocket"]
    assert capture.lines == REQUEST.count(b"\r\n") + 1 + USUAL.count(b"\r\n") + 1


def test_heads_the_shortcut_must_leave_to_the_lenient_parser() -> None:
    for response in (
        USUAL.replace(b"Server: x\r\n", b"Server: x\r\n y\r\n"),  # folding
        USUAL.replace(b"\r\n\r\n", b"\r\n\n"),  # a bare LF
        USUAL + b"after",  # bytes after the head
        b"HTTP/1.1 100 Continue\r\n\r\n" + USUAL,  # an interim response
        USUAL[:-2],  # cut before its blank line
        b"",
    ):
        assert not _compared(REQUEST, response), response


@settings(max_examples=600, deadline=None)
@given(heads(FIRST_LINES))
def test_generated_responses_parse_as_the_lenient_parser_parses_them(response: bytes) -> None:
    _compared(REQUEST, response)


REQUEST_LINES = [
    "GET / HTTP/1.1", "GET /a?b HTTP/1.1", "get / HTTP/1.1", "POST / HTTP/1.0", "GET  /  HTTP/1.1",
    " GET / HTTP/1.1", "HTTP/1.1 101 x", "GET / HTTP/1.1 x",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(heads(REQUEST_LINES))
def test_generated_requests_parse_as_the_lenient_parser_parses_them(request: bytes) -> None:
    _compared(request, USUAL)


def test_the_generators_reach_both_paths() -> None:
    """The shortcut is taken by some generated heads and refused by others (else the two
    property tests above would compare one path with itself)."""
    taken = set()

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(heads(FIRST_LINES))
    def run(response: bytes) -> None:
        taken.add(_compared(REQUEST, response))

    run()
    assert taken == {True, False}
