"""What `serve` and its relay put on the wire from what a client sent (issue 22, item 10): serve
never echoes a subprotocol or any other value that is not a token (RFC 6455 §4.1, RFC 9110
§5.6.2), whatever the offer and the fault; the relay gives the upstream exactly one Host, its own
(added when the client sent none, the client's dropped with its continuation lines)."""

from __future__ import annotations

import socket

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import read_request, socket_server
from tests.serve_helpers import raw_client, serving
from wsaccept_cli.core.faults import FAULTS, answer_for, request_refusal
from wsaccept_cli.core.request_syntax import TOKEN
from wsaccept_cli.net.heads import parse_head
from wsaccept_cli.net.relay import rewrite_request

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
BASE = (
    b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: " + KEY + b"\r\nSec-WebSocket-Version: 13\r\n"
)
OFFER = st.binary(max_size=30) | st.lists(
    st.sampled_from(["chat", "v2.x", "a b", "x,y", "\x1b[2J", "é", '"q"', "", " ", "\t", "a/b"]),
    max_size=4,
).map(lambda items: ", ".join(items).encode("utf-8"))


@settings(max_examples=300, deadline=None)
@given(protocols=st.lists(OFFER, max_size=3), extensions=st.lists(OFFER, max_size=2))
def test_serve_echoes_only_tokens(protocols: list[bytes], extensions: list[bytes]) -> None:
    head = BASE
    head += b"".join(b"Sec-WebSocket-Protocol: " + p + b"\r\n" for p in protocols)
    head += b"".join(b"Sec-WebSocket-Extensions: " + e + b"\r\n" for e in extensions)
    head += b"\r\n"
    request = parse_head(head, "request")
    if request is None or request_refusal(request, head) is not None:
        return
    for fault in (None, *FAULTS):
        answer, _ = answer_for(request, fault)
        for name, value in answer.headers:
            assert value.isprintable(), (name, value)
            if name.lower() == "sec-websocket-protocol":
                assert TOKEN.fullmatch(value), value
                assert value in request.items("sec-websocket-protocol") or fault is not None


FOLDS = st.sampled_from([b"Host: evil.test", b"host:evil", b"HOST :x", b" continued", b"\tmore",
                         b"X-A: 1", b"X-Host: keep", b"Hostname: keep"])  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(FOLDS, max_size=6), bare_lf=st.booleans(), path=st.sampled_from([None, "/up"])
)
def test_the_relay_sends_exactly_one_host(
    lines: list[bytes], bare_lf: bool, path: str | None
) -> None:
    end = b"\n" if bare_lf else b"\r\n"
    head = end.join([b"GET /a HTTP/1.1", *lines, b"", b""])
    rewritten = rewrite_request(head, path, "upstream.test:8080")
    message = parse_head(rewritten, "request")
    assert message is not None
    assert message.values("host") == ["upstream.test:8080"]
    assert rewritten.count(b"upstream.test:8080") == 1
    for kept in (b"X-Host: keep", b"Hostname: keep", b"X-A: 1"):
        assert rewritten.count(kept) == head.count(kept)


def test_a_folded_host_reaches_the_upstream_as_the_upstreams_host() -> None:
    seen: list[bytes] = []

    def upstream(connection: socket.socket) -> None:
        seen.append(read_request(connection))

    request = (
        b"GET /chat HTTP/1.1\r\nHost: a.test\r\n  .evil.test\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: "
        + KEY
        + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with (
        socket_server(upstream) as port,
        serving(["--upstream", f"ws://127.0.0.1:{port}/", "--once", "--format", "json"]) as relay,
    ):
        connection, _ = raw_client(relay.port, request)
        connection.close()
        relay.wait()
    (forwarded,) = seen
    assert forwarded.split(b"\r\n")[1] == f"Host: 127.0.0.1:{port}".encode()
    assert b"evil" not in forwarded
