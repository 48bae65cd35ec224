"""Whatever answers that is not an HTTP server never passes (issue 22, item 1).

A CI step pointed at the wrong port must fail: `probe` against an SSH server, an HTML page, JSON,
a blank line, an echo service, data then a close, garbage is `handshake_failed`, exit 1, with
what came instead. The same for the relay's upstream (`serve --upstream`) and for a proxy whose
answer to CONNECT is no whole HTTP head. Real little servers started here send those bytes; a
hypothesis property sends arbitrary bytes and mutated 101s, with h11 (the HTTP/1.1 parser of
wsproto) as the independent judge of what is an HTTP response at all.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import Run, read_request, run_script, socket_server
from tests.hostile_server import HostileServer, Peer, fixed, upgrade_head
from tests.serve_helpers import handshake_request, raw_client, serving
from wsaccept_cli.core.answered import cannot_be_http, not_http
from wsaccept_cli.core.request import probe_request
from wsaccept_cli.net.probe import outcome, probe_report, run_probe

SECTION = (
    " (RFC 9112 §4: a WebSocket server answers with a status line such as"
    " 'HTTP/1.1 101 Switching Protocols')"
)


def then_close(data: bytes) -> Any:
    def behave(peer: Peer) -> None:
        peer.send(data)

    return behave


def echo(peer: Peer) -> None:
    peer.send(peer.request)
    peer.hold(0.3)


def banner_first(peer: Peer) -> None:
    peer.send(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
    peer.hold(5)  # an SSH server waits for the client's banner: the probe must not


CASES = [
    (banner_first, False, "an SSH banner ('SSH-2.0-OpenSSH_9.2p1 Debian-2'): this port speaks SSH"),
    (
        then_close(b"<!DOCTYPE html>\n<html><body>It works</body></html>\n"),
        True,
        "an HTML page without a status line ('<!DOCTYPE html>')",
    ),
    (
        then_close(b'{"status": "ok"}\r\n\r\n'),
        True,
        'JSON without a status line (\'{"status": "ok"}\')',
    ),
    (then_close(b"\r\n\r\n"), True, "a blank line where the status line belongs"),
    (echo, True, "our own request back ('GET / HTTP/1.1'): the server echoed the request"),
    (then_close(b"hello"), True, "5 bytes starting 'hello'"),
    (then_close(b"\x00\xff\x1b[2J\n\n"), True, "8 bytes starting '\\x00\\xff\\x1b[2J'"),
    (fixed(b"-ERR unknown command 'GET'\r\n", hold=5), True, "a Redis error reply"),
    (fixed(b"220 mail.example ESMTP\r\n", hold=5), False, "a '220' greeting"),
    (
        fixed(b"\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64", hold=5),
        True,
        "an HTTP/2 SETTINGS frame: this port speaks HTTP/2 only (try --http2)",
    ),
    (then_close(b"HTTP/1 101 Switching Protocols\r\n\r\n"), True, "a status line that is not"),
    (then_close(b"http/1.1 101 Switching Protocols\r\n\r\n"), True, "a status line that is not"),
    (then_close(b"HTTP/1.1 1010 Switching\r\n\r\n"), True, "a status line that is not"),
]


@pytest.mark.parametrize(("behaviour", "read_first", "said"), CASES)
def test_probe_of_what_is_no_http_server_fails(
    run: Run, behaviour: Any, read_first: bool, said: str
) -> None:
    with HostileServer(behaviour, read_request=read_first) as server:
        result = run("probe", "--format", "json", "--timeout", "3", server.url())
    record = json.loads(result.stdout)
    assert (result.exit_code, record["outcome"], record["verdict"]) == (
        1,
        "handshake_failed",
        "fail",
    )
    failed = [f for f in record["findings"] if f["status"] == "fail"]
    assert [f["rule"] for f in failed] == ["response.not_http"]
    assert failed[0]["message"].startswith("the server sent no HTTP response: " + said)
    assert failed[0]["message"].endswith(SECTION)
    assert record["timings"]["total_ms"] < 2500  # said at once, not after the timeout


def lenient_bait(prefix: bytes) -> Any:
    """A correct 101 after `prefix`: `inspect`'s lenient parser would skip to the 101."""

    def behave(peer: Peer) -> None:
        peer.send(prefix + upgrade_head(peer.accept))
        peer.hold(0.5)

    return behave


@pytest.mark.parametrize(
    ("prefix", "said"),
    [
        (b"hello\r\n", "136 bytes starting 'hello'"),  # the 101 on the second line
        (b"xyz", "132 bytes starting 'xyzHTTP/1.1 101 Switching Protocols'"),  # as tcpdump -A
        (b" ", "130 bytes starting ' HTTP/1.1 101 Switching Protocols'"),
        (b"\r\n", "a blank line where the status line belongs"),
    ],
)
def test_a_correct_101_after_something_else_is_no_response(
    run: Run, prefix: bytes, said: str
) -> None:
    with HostileServer(lenient_bait(prefix)) as server:
        result = run("probe", "--format", "json", "--timeout", "3", server.url())
    record = json.loads(result.stdout)
    assert (result.exit_code, record["outcome"]) == (1, "handshake_failed")
    assert record["findings"][-1]["message"] == f"the server sent no HTTP response: {said}{SECTION}"


def test_a_line_in_the_head_that_is_no_header_field(wsaccept: str) -> None:
    def behave(peer: Peer) -> None:
        peer.send(upgrade_head(peer.accept, b"<b>oops</b>"))
        peer.hold(0.5)

    with HostileServer(behave) as server:
        done = run_script(["probe", "--timeout", "3", server.url()])
    assert done.returncode == 1
    assert done.stderr == b""
    lines = done.stdout.decode().splitlines()
    assert "< <b>oops</b>" in lines
    assert lines[-2] == (
        "  fail  response.not_http      -        the server sent a head that is no HTTP: line 5 of"
        " its head, '<b>oops</b>', is not a header field line (RFC 9112 §5, RFC 9110 §5.5);"
        " a client fails it"
    )
    assert lines[-1].endswith("; outcome: handshake_failed")


def test_nothing_then_close_still_fails(wsaccept: str) -> None:
    with HostileServer(then_close(b"")) as server:
        done = run_script(["probe", "--timeout", "3", server.url()])
    assert done.returncode == 1
    assert (
        "  fail  response.closed        -        the server closed the connection without answering"
        in done.stdout.decode()
    )


# The relay: an upstream that is no HTTP server is a 502 to the client and a failed run.


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (b"SSH-2.0-OpenSSH_9.2\r\n", "an SSH banner ('SSH-2.0-OpenSSH_9.2'): this port speaks SSH"),
        (b"<html>hi</html>\n\n", "an HTML page without a status line ('<html>hi</html>')"),
        (None, "our own request back ('GET /chat HTTP/1.1'): the server echoed the request"),
    ],
)
def test_a_relay_upstream_that_is_no_http_server(answer: bytes | None, said: str) -> None:
    def behave(connection: socket.socket) -> None:
        request = read_request(connection)
        connection.sendall(request if answer is None else answer)
        connection.settimeout(5)
        connection.recv(1)  # hold the connection: the relay must not wait for more

    with (
        socket_server(behave) as port,
        serving(["--upstream", f"ws://127.0.0.1:{port}/", "--once", "--format", "json"]) as relay,
    ):
        connection, head = raw_client(relay.port, handshake_request(relay.port))
        connection.close()
        assert head.startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
        assert relay.wait() == 1
    record = json.loads(relay.stdout.splitlines()[1])
    rules = {f["rule"]: f for f in record["findings"]}
    assert rules["upstream"]["status"] == "fail"
    assert rules["upstream"]["message"] == "the upstream sent no HTTP response: " + said + SECTION


# A proxy: its answer to CONNECT must be a whole HTTP head; nothing of it is the server's answer.


def oversized_proxy_head(connection: socket.socket) -> None:
    """200, then a header longer than what a client reads of a proxy's head; once the client
    sends its request through the "tunnel", the end of the head and a 101 for its key."""
    read_request(connection)
    connection.sendall(b"HTTP/1.1 200 Connection established\r\nX-Pad: " + b"a" * 20_000)
    request = read_request(connection)
    key = next(
        line.split(b":", 1)[1].strip()
        for line in request.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key:")
    )
    from tests.helpers import accept_of

    connection.sendall(b"\r\n\r\n" + upgrade_head(accept_of(key)))
    connection.settimeout(2)
    connection.recv(1)


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        (
            oversized_proxy_head,
            "the proxy http://127.0.0.1:{port}'s answer to CONNECT example.test:80 is over 16 KiB,"
            " before the end of its head; nothing after it can be read as the server's answer",
        ),
        (
            lambda c: (read_request(c), c.sendall(b"HTTP/1.1 200 OK\r\nX: y")),
            "the proxy http://127.0.0.1:{port}'s answer to CONNECT example.test:80 ended after 21"
            " bytes, before the end of its head; nothing after it can be read as the server's"
            " answer",
        ),
        (
            lambda c: (read_request(c), c.sendall(b"SSH-2.0-OpenSSH\r\n"), c.recv(1)),
            "the proxy http://127.0.0.1:{port} sent no HTTP response: an SSH banner"
            " ('SSH-2.0-OpenSSH'): this port speaks SSH" + SECTION,
        ),
    ],
)
def test_a_proxy_answer_that_is_no_whole_head(run: Run, behaviour: Any, message: str) -> None:
    with socket_server(behaviour) as port:
        result = run(
            "probe", "--format", "json", "--timeout", "3", "-x", f"http://127.0.0.1:{port}",
            "ws://example.test/", env={"no_proxy": None, "NO_PROXY": None},
        )  # fmt: skip
    record = json.loads(result.stdout)
    assert (result.exit_code, record["outcome"]) == (6, "proxy_failed")
    assert record["findings"][-1]["message"] == message.format(port=port)


# The class: arbitrary bytes, and mutations of a correct 101, from a real server. Whatever h11
# (an independent HTTP/1.1 parser) does not read as a 101 must never pass.


class Scripted:
    """One server for every example: each connection gets the current script, with {ACCEPT}
    replaced by the right accept for the request's key."""

    def __init__(self) -> None:
        self.script = b""
        self.lock = threading.Lock()

    def behave(self, peer: Peer) -> None:
        with self.lock:
            script = self.script
        peer.send(script.replace(b"{ACCEPT}", peer.accept))


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[Scripted, HostileServer]]:
    script = Scripted()
    with HostileServer(script.behave) as server:
        yield script, server


def h11_reads_a_101(data: bytes) -> bool:
    """Whether h11 reads `data` as a 101; bare LF line endings as CR LF (RFC 9112 §2.2 lets a
    client take them, and browsers do; h11 does not)."""
    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    client = h11.Connection(h11.CLIENT)
    headers = [("Host", "a"), ("Upgrade", "websocket"), ("Connection", "Upgrade")]
    client.send(h11.Request(method="GET", target="/", headers=headers))
    try:
        client.receive_data(data)
        event = client.next_event()
    except h11.ProtocolError:
        return False
    return isinstance(event, h11.InformationalResponse) and event.status_code == 101


def probe_outcome(server: HostileServer, data: bytes, scripted: Scripted) -> tuple[str, str]:
    scripted.script = data
    target, request = probe_request(server.url())
    result = run_probe(target, request, timeout=2, url=server.url())
    report = probe_report(result)
    return outcome(result, report).label, report.verdict


CORRECT = upgrade_head(b"{ACCEPT}")


def mutations() -> st.SearchStrategy[bytes]:
    def mutate(data: bytes, at: int, insert: bytes, cut: int) -> bytes:
        at %= len(data) + 1
        return data[:at] + insert + data[at + cut :]

    return st.builds(
        mutate,
        st.just(CORRECT),
        st.integers(0, len(CORRECT)),
        st.binary(max_size=12),
        st.integers(0, 3),
    )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300) | mutations())
def test_what_h11_does_not_read_as_a_101_never_passes(
    scripted: tuple[Scripted, HostileServer], data: bytes
) -> None:
    script, server = scripted
    label, _verdict = probe_outcome(server, data, script)
    if not h11_reads_a_101(data.replace(b"{ACCEPT}", b"x")):
        assert label != "ok", data


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200))
def test_the_early_check_agrees_with_the_whole_check(data: bytes) -> None:
    # a reader that stops at cannot_be_http must find a reason in not_http, and
    # every prefix of a status line is let through
    if cannot_be_http(data):
        assert not_http(data) is not None
    prefix = b"HTTP/1.1 101 Switching Protocols\r\n"
    for end in range(len(prefix) + 1):
        assert not cannot_be_http(prefix[:end])
        assert not_http(prefix[:end]) is None


def test_a_tls_handshake_that_stalls_is_said_to_stall() -> None:
    """A server that starts its side of the TLS handshake and stops (issue 22, item 11): the
    HTTP/1.1 probe says the handshake did not finish, as the HTTP/2 probe does, and how much came;
    not that the server sent nothing."""

    def stall(peer: Peer) -> None:
        peer.connection.recv(4096)  # the ClientHello
        peer.send(b"\x16\x03\x03\x00\x40\x02" + bytes(10))  # a ServerHello that never ends
        peer.hold(5)

    with HostileServer(stall, read_request=False) as server:
        done = run_script(["probe", "--timeout", "1", server.url(scheme="wss")])
    assert done.returncode == 5
    assert done.stdout.decode().splitlines()[-2] == (
        "  fail  timeout                -        the TLS handshake did not finish within 1 s (the"
        " server sent 16 bytes of it, then nothing more)"
    )
