"""`wsaccept probe` against real servers on 127.0.0.1, started here: correct ones from two
implementations, and small deliberately broken ones. Each case asserts the exit code and the
finding named."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp.web
import pytest
import trustme
from websockets.asyncio.server import ServerConnection, serve

from tests.helpers import (
    GUID,
    Run,
    accept_of,
    event_loop_thread,
    hold_and_answer_close,
    key_of,
    read_request,
    socket_server,
)
from wsaccept_cli.net.probe import MAX_HEAD

HEAD_END = b"\r\n\r\n"


def run_in(loop: asyncio.AbstractEventLoop, coroutine: Awaitable[Any]) -> Any:
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=10)  # type: ignore[arg-type]


async def started(handler: Callable[[ServerConnection], Awaitable[None]], **options: Any) -> Any:
    """A websockets server on a free loopback port, started inside the running loop."""
    return await serve(handler, "127.0.0.1", 0, **options)


class WebsocketsServer:
    """A real `websockets` server that records the close code each client sent."""

    def __init__(self) -> None:
        self.close_codes: list[int | None] = []

    async def handler(self, connection: ServerConnection) -> None:
        async for message in connection:
            await connection.send(message)
        self.close_codes.append(connection.close_code)


@pytest.fixture
def websockets_server() -> Iterator[tuple[int, WebsocketsServer]]:
    recorder = WebsocketsServer()
    with event_loop_thread() as loop:
        server = run_in(loop, started(recorder.handler, subprotocols=["chat", "v2"]))
        port = server.sockets[0].getsockname()[1]
        yield port, recorder
        server.close()
        run_in(loop, server.wait_closed())


@pytest.fixture
def aiohttp_server() -> Iterator[int]:
    async def handler(request: aiohttp.web.Request) -> aiohttp.web.WebSocketResponse:
        ws = aiohttp.web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            await ws.send_str(message.data)
        return ws

    async def start() -> tuple[aiohttp.web.AppRunner, int]:
        app = aiohttp.web.Application()
        app.router.add_get("/chat", handler)
        runner = aiohttp.web.AppRunner(app)
        await runner.setup()
        site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    with event_loop_thread() as loop:
        runner, port = run_in(loop, start())
        yield port
        run_in(loop, runner.cleanup())


def answering(make: Callable[[bytes], bytes], then: Callable[[socket.socket], None] | None = None):
    def behave(connection: socket.socket) -> None:
        connection.sendall(make(read_request(connection)))
        if then is not None:
            then(connection)
        else:
            hold_and_answer_close(connection, 0.3)

    return behave


def upgrade(accept: bytes, *extra: bytes) -> bytes:
    return b"\r\n".join(
        [b"HTTP/1.1 101 Switching Protocols", b"Upgrade: websocket", b"Connection: Upgrade",
         b"Sec-WebSocket-Accept: " + accept, *extra, b"", b""]
    )  # fmt: skip


def findings(result: Any) -> dict[str, str]:
    record = json.loads(result.stdout)
    return {f["rule"]: f["status"] + ": " + f["message"] for f in record["findings"]}


def probe_json(run: Run, url: str, *args: str) -> tuple[int, dict[str, Any]]:
    result = run("probe", "--format", "json", *args, url)
    return result.exit_code, json.loads(result.stdout)


def test_valid_handshake_with_a_websockets_server_closes_politely(
    run: Run, websockets_server: tuple[int, WebsocketsServer]
) -> None:
    port, server = websockets_server
    result = run("probe", "-v", "--protocol", "chat", f"ws://127.0.0.1:{port}/chat")
    assert result.exit_code == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0] == "> GET /chat HTTP/1.1"
    assert f"> Host: 127.0.0.1:{port}" in lines
    assert "< HTTP/1.1 101 Switching Protocols" in lines
    assert "  pass  response.accept        §4.2.2   Sec-WebSocket-Accept matches the key" in lines
    assert lines[-1].startswith(f"127.0.0.1:{port}: connect ")
    assert lines[-1].endswith("; outcome: ok")
    for _ in range(50):
        if server.close_codes:
            break
        time.sleep(0.05)
    assert server.close_codes == [1000]


def test_subprotocol_origin_and_json_timings(
    run: Run, websockets_server: tuple[int, WebsocketsServer]
) -> None:
    port, _ = websockets_server
    code, record = probe_json(
        run, f"ws://127.0.0.1:{port}/", "--protocol", "v2", "--protocol", "x",
        "--origin", "https://app.example", "--extension", "permessage-deflate",
    )  # fmt: skip
    assert code == 0
    assert record["outcome"] == "ok"
    assert "Sec-WebSocket-Protocol: v2, x" in record["request"]
    assert "Origin: https://app.example" in record["request"]
    assert "Sec-WebSocket-Protocol: v2" in record["response"]
    assert set(record["timings"]) == {"connect_ms", "tls_ms", "first_byte_ms", "total_ms"}
    assert record["timings"]["tls_ms"] is None
    assert record["timings"]["connect_ms"] >= 0
    assert record["timings"]["first_byte_ms"] >= 0


def test_valid_handshake_with_an_aiohttp_server(run: Run, aiohttp_server: int) -> None:
    code, record = probe_json(run, f"ws://127.0.0.1:{aiohttp_server}/chat")
    assert (code, record["outcome"], record["verdict"]) == (0, "ok", "pass")


def test_ipv6_literal(run: Run) -> None:
    with socket_server(answering(lambda r: upgrade(accept_of(key_of(r)))), socket.AF_INET6) as port:
        code, record = probe_json(run, f"ws://[::1]:{port}/")
    assert code == 0
    assert f"Host: [::1]:{port}" in record["request"]
    assert record["address"] == f"[::1]:{port}"


BUGS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "decoded key": (
        lambda k: base64.b64encode(hashlib.sha1(base64.b64decode(k) + GUID).digest()),
        "hashed the base64-decoded key bytes",
    ),
    "trailing CR LF": (lambda k: accept_of(k + b"\r\n"), "with a trailing CR LF"),
    "lowercase GUID": (
        lambda k: base64.b64encode(hashlib.sha1(k + GUID.lower()).digest()),
        "GUID in lowercase",
    ),
    "hex digest": (
        lambda k: base64.b64encode(hashlib.sha1(k + GUID).hexdigest().encode()),
        "base64-encoded the hex digest",
    ),
    "SHA-256": (
        lambda k: base64.b64encode(hashlib.sha256(k + GUID).digest()),
        "SHA-256 instead of SHA-1",
    ),
    "no padding": (lambda k: accept_of(k).rstrip(b"="), "dropped the base64 padding"),
    "mistyped GUID": (
        lambda k: base64.b64encode(hashlib.sha1(k + GUID.replace(b"E914", b"E941")).digest()),
        "GUID is mistyped: characters 12 and 13 are swapped",
    ),
}


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_wrong_accept_names_the_bug(run: Run, bug: str) -> None:
    wrong, cause = BUGS[bug]
    with socket_server(answering(lambda r: upgrade(wrong(key_of(r))))) as port:
        result = run("probe", "--format", "json", f"ws://127.0.0.1:{port}/")
    assert result.exit_code == 1
    assert cause in findings(result)["response.accept"]


@pytest.mark.parametrize(
    ("response", "rule", "text"),
    [
        (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nbad request", "response.status",
         "status 400 Bad Request, not 101"),
        (b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", "response.status",
         "its Origin check"),
        (b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\r\n", "response.versions",
         "the server supports versions: 13"),
        (b"HTTP/1.1 301 Moved Permanently\r\nLocation: wss://example.com/\r\n\r\n",
         "response.status", "a redirect to 'wss://example.com/'"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "response.status",
         "did not upgrade"),
    ],
)  # fmt: skip
def test_refusals_are_explained(run: Run, response: bytes, rule: str, text: str) -> None:
    with socket_server(answering(lambda r: response)) as port:
        result = run("probe", "--format", "json", f"ws://127.0.0.1:{port}/")
    assert result.exit_code == 1
    assert text in findings(result)[rule]


def test_missing_upgrade_and_connection(run: Run) -> None:
    def bare(request: bytes) -> bytes:
        return (
            b"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: "
            + accept_of(key_of(request))
            + b"\r\n\r\n"
        )

    with socket_server(answering(bare)) as port:
        result = run("probe", "--format", "json", f"ws://127.0.0.1:{port}/")
    assert result.exit_code == 1
    found = findings(result)
    assert found["response.upgrade"].startswith("fail: no Upgrade header")
    assert found["response.connection"].startswith("fail: no Connection header")
    assert "drops hop-by-hop headers" in found["response.hop_by_hop"]


def test_refusal_body_is_shown_and_a_huge_body_is_not_read(run: Run) -> None:
    def flood(connection: socket.socket) -> None:
        chunk = b"x" * 65536
        for _ in range(16 * 1024):  # up to 1 GiB, for as long as the client reads
            connection.sendall(chunk)

    head = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 1073741824\r\n\r\nwhy: no key\r\n"
    started = time.monotonic()
    with socket_server(answering(lambda r: head, then=flood)) as port:
        code, record = probe_json(run, f"ws://127.0.0.1:{port}/", "--timeout", "5")
    assert code == 1
    assert time.monotonic() - started < 5
    assert record["body"][0] == "why: no key"


@pytest.mark.parametrize(
    ("behave", "message"),
    [
        (lambda c: (read_request(c), time.sleep(3)), "the server sent nothing within 1 s"),
        (lambda c: (read_request(c), [c.sendall(b"HTTP/1.1 101 ") or time.sleep(0.2)
                                      for _ in range(30)]),
         "the response head was not complete within 1 s"),
    ],
    ids=["no answer", "slow drip"],
)  # fmt: skip
def test_silent_and_dripping_servers_time_out(
    run: Run, behave: Callable[[socket.socket], None], message: str
) -> None:
    started = time.monotonic()
    with socket_server(behave) as port:
        code, record = probe_json(run, f"ws://127.0.0.1:{port}/", "--timeout", "1")
    assert time.monotonic() - started < 3
    assert code == 5
    assert record["outcome"] == "timeout"
    assert message in record["findings"][-1]["message"]


def test_oversized_head_is_cut_off(run: Run) -> None:
    def endless(connection: socket.socket) -> None:
        read_request(connection)
        connection.sendall(b"HTTP/1.1 101 Switching Protocols\r\nX-Filler: ")
        for _ in range(100):
            connection.sendall(b"a" * 4096)

    with socket_server(endless) as port:
        code, record = probe_json(run, f"ws://127.0.0.1:{port}/")
    assert code == 1
    assert record["findings"][-1] == {
        "rule": "response.size",
        "status": "fail",
        "section": None,  # null, not "-": no section applies
        "message": f"the response head is over {MAX_HEAD // 1024} KiB; it was cut off there",
    }


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        (b"", "the server closed the connection without answering"),
        (b"HTTP/1.1 101 Swi", "the server closed the connection after 16 bytes, before the end"),
    ],
)
def test_server_closing_early(run: Run, sent: bytes, message: str) -> None:
    with socket_server(lambda c: (read_request(c), c.sendall(sent))) as port:
        code, record = probe_json(run, f"ws://127.0.0.1:{port}/")
    assert code == 1
    assert record["findings"][-1]["message"].startswith(message)


def test_refused_connection_and_unknown_host(run: Run) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    code, record = probe_json(run, f"ws://127.0.0.1:{port}/")
    assert (code, record["outcome"]) == (3, "connect_failed")
    assert (
        record["findings"][-1]["message"]
        == f"cannot connect to 127.0.0.1:{port}: Connection refused"
    )
    code, record = probe_json(run, "ws://nonexistent.invalid/")
    assert (code, record["outcome"]) == (3, "connect_failed")
    assert record["findings"][-1]["message"].startswith("cannot resolve nonexistent.invalid: ")


@pytest.fixture(scope="module")
def certificate_authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(certificate_authority: trustme.CA) -> Iterator[int]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    recorder = WebsocketsServer()
    with event_loop_thread() as loop:
        server = run_in(loop, started(recorder.handler, ssl=context))
        yield server.sockets[0].getsockname()[1]
        server.close()
        run_in(loop, server.wait_closed())


def test_rich_output_shows_the_exchange(
    run: Run, websockets_server: tuple[int, WebsocketsServer]
) -> None:
    port, _ = websockets_server
    result = run("probe", "--format", "rich", "--protocol", "chat", f"ws://127.0.0.1:{port}/")
    assert result.exit_code == 0
    assert "< HTTP/1.1 101 Switching Protocols" in result.stdout
    assert "PASS" in result.stdout
    assert "outcome: ok" in result.stdout


def test_wss_self_signed_is_refused_by_default(run: Run, tls_server: int) -> None:
    code, record = probe_json(run, f"wss://localhost:{tls_server}/")
    assert (code, record["outcome"]) == (4, "tls_failed")
    assert "certificate was refused" in record["findings"][-1]["message"]


def test_wss_with_cacert_or_insecure(
    run: Run, tls_server: int, certificate_authority: trustme.CA, tmp_path: Path
) -> None:
    ca_file = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(ca_file))
    code, record = probe_json(run, f"wss://localhost:{tls_server}/", "--cacert", str(ca_file))
    assert (code, record["outcome"]) == (0, "ok")
    assert record["timings"]["tls_ms"] >= 0
    code, record = probe_json(run, f"wss://127.0.0.1:{tls_server}/", "--insecure")
    assert (code, record["outcome"]) == (0, "ok")


def test_tls_to_a_plain_server_is_a_tls_failure(run: Run) -> None:
    def plain_http(connection: socket.socket) -> None:
        connection.recv(65536)  # a ClientHello, which a plain HTTP server cannot parse
        connection.sendall(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")

    with socket_server(plain_http) as port:
        code, record = probe_json(run, f"wss://127.0.0.1:{port}/", "--timeout", "3")
    assert (code, record["outcome"]) == (4, "tls_failed")


def test_secrets_are_redacted_unless_asked(
    run: Run, websockets_server: tuple[int, WebsocketsServer]
) -> None:
    port, _ = websockets_server
    url = f"ws://127.0.0.1:{port}/"
    args = ["--protocol", "chat", "-H", "Authorization: Bearer s3cret", "-H", "Cookie: id=42"]
    result = run("probe", *args, url)
    assert "s3cret" not in result.stdout
    assert "id=42" not in result.stdout
    assert "> Authorization: [redacted; --show-secrets shows it]" in result.stdout
    assert "> Authorization: Bearer s3cret" in run("probe", "--show-secrets", *args, url).stdout


def test_given_headers_replace_ours_and_key_is_used(run: Run) -> None:
    seen: list[bytes] = []

    def record(request: bytes) -> bytes:
        seen.append(request)
        return upgrade(accept_of(key_of(request)))

    with socket_server(answering(record)) as port:
        result = run(
            "probe", "--ws-key", "dGhlIHNhbXBsZSBub25jZQ==", "-H", "Sec-WebSocket-Version: 8",
            "-H", "X-Trace: 1", f"ws://127.0.0.1:{port}/",
        )  # fmt: skip
    request = seen[0].decode()
    assert request.count("Sec-WebSocket-Version") == 1
    assert "Sec-WebSocket-Version: 8\r\n" in request
    assert "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" in request
    assert "X-Trace: 1\r\n" in request
    assert result.exit_code == 1  # the request breaks §4.1 on purpose: version 8
    assert "fail  request.version" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ftp://example.com/"], "is not a ws:// or wss:// URL"),
        (["-H", "NoColon", "ws://example.com/"], "'NoColon' is not 'Name: value'"),
        (["--timeout", "0", "ws://example.com/"], "0.0 is not a number of seconds between 0"),
        (["--timeout", "nan", "ws://example.com/"], "nan is not a number of seconds between 0"),
        (["--timeout", "inf", "ws://example.com/"], "inf is not a number of seconds between 0"),
        (["--timeout", "1e309", "ws://example.com/"], "inf is not a number of seconds between 0"),
        (["--timeout", "1e9", "ws://example.com/"], "1000000000.0 is not a number of seconds"),
    ],
)
def test_usage_errors(run: Run, args: list[str], message: str) -> None:
    result = run("probe", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_a_host_with_several_addresses_is_tried_address_by_address(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_getaddrinfo = socket.getaddrinfo

    def two_addresses(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host != "multi.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        stream = socket.SOCK_STREAM
        return [
            (socket.AF_INET6, stream, 6, "", ("::1", port, 0, 0)),  # nothing listens there
            (socket.AF_INET, stream, 6, "", ("127.0.0.1", port)),
        ]

    with socket_server(answering(lambda r: upgrade(accept_of(key_of(r))))) as port:
        monkeypatch.setattr(socket, "getaddrinfo", two_addresses)
        code, record = probe_json(run, f"ws://multi.test:{port}/")
    assert (code, record["address"]) == (0, f"127.0.0.1:{port}")
    assert f"Host: multi.test:{port}" in record["request"]


@pytest.mark.parametrize("content", [b"", b"not a certificate\n", b"-----BEGIN CERTIFICATE-----\n"])
def test_a_cacert_without_certificates_is_a_usage_error(
    run: Run, tmp_path: Path, content: bytes
) -> None:
    cacert = tmp_path / "ca.pem"
    cacert.write_bytes(content)
    result = run("probe", "--cacert", str(cacert), "wss://127.0.0.1:1/")
    assert result.exit_code == 2
    assert f"Invalid value for '--cacert': '{cacert}' holds no PEM certificate" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_cacert_that_is_not_a_regular_file_is_refused_at_once(run: Run, tmp_path: Path) -> None:
    fifo = tmp_path / "ca.fifo"
    os.mkfifo(fifo)  # nobody will ever write to it: reading it would wait for ever
    result = run("probe", "--cacert", str(fifo), "--timeout", "1", "wss://127.0.0.1:1/")
    assert result.exit_code == 2
    assert f"Invalid value for '--cacert': '{fifo}' is not a regular file" in result.stderr
