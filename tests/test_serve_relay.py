"""`wsaccept serve --upstream`: a relay between real clients and real servers (websockets,
aiohttp, Node ws). Messages arrive unchanged, the frames of both directions are forwarded byte
for byte, and the findings say what each side got wrong."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import aiohttp.web
import pytest
import trustme
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from tests.helpers import event_loop_thread, key_of, read_request, socket_server
from tests.serve_helpers import (
    CLIENTS,
    frame,
    handshake_request,
    node_ready,
    raw_client,
    recv_exactly,
    serving,
)
from wsaccept_cli.core.keys import GUID, accept_for

MESSAGES: list[str | bytes] = ["text é", os.urandom(1000), "x" * 300_000, b""]


def run_in(loop: asyncio.AbstractEventLoop, coroutine: Any) -> Any:
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=10)


@contextmanager
def websockets_upstream(tls: ssl.SSLContext | None = None) -> Iterator[tuple[int, list[Any]]]:
    """A real websockets server that records and echoes every message; `chat` offered."""
    received: list[Any] = []

    async def handler(connection: ServerConnection) -> None:
        async for message in connection:
            received.append(message)
            await connection.send(message)

    async def start() -> Any:
        return await serve(
            handler, "127.0.0.1", 0, subprotocols=["chat"], ssl=tls, compression=None
        )  # type: ignore[list-item]

    with event_loop_thread() as loop:
        server = run_in(loop, start())
        yield server.sockets[0].getsockname()[1], received
        server.close()
        run_in(loop, server.wait_closed())


async def websockets_session(url: str, context: ssl.SSLContext | None = None) -> list[Any]:
    got: list[Any] = []
    async with connect(url, subprotocols=["chat"], compression=None, ssl=context) as ws:  # type: ignore[list-item]
        got.append(ws.subprotocol)
        for message in MESSAGES:
            await ws.send(message)
            got.append(await ws.recv())
    return got


def records_of(stdout: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()][1:]


def test_websockets_client_to_websockets_server() -> None:
    with (
        websockets_upstream() as (port, received),
        serving(
            ["--upstream", f"ws://127.0.0.1:{port}/chat", "--format", "json", "--once"]
        ) as relay,
    ):
        got = asyncio.run(websockets_session(relay.url))
        assert relay.wait() == 0
    assert got == ["chat", *MESSAGES]
    assert received == MESSAGES
    (record,) = records_of(relay.stdout)
    assert record["verdict"] == "pass"
    assert record["upstream"] == f"ws://127.0.0.1:{port}/chat"
    assert record["request"][0] == "GET / HTTP/1.1"  # as the client sent it
    rules = {f["rule"]: f for f in record["findings"]}
    assert rules["response.accept"]["message"] == "Sec-WebSocket-Accept matches the key"
    assert rules["response.protocol"]["message"] == "the server chose 'chat'"
    assert relay.stderr == b""


def test_aiohttp_client_to_aiohttp_server() -> None:
    async def handler(request: aiohttp.web.Request) -> aiohttp.web.WebSocketResponse:
        ws = aiohttp.web.WebSocketResponse(protocols=["chat"])
        await ws.prepare(request)
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(message.data)
            else:
                await ws.send_bytes(message.data)
        return ws

    async def start() -> tuple[aiohttp.web.AppRunner, int]:
        app = aiohttp.web.Application()
        app.router.add_get("/ws", handler)
        runner = aiohttp.web.AppRunner(app)
        await runner.setup()
        site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def client(url: str) -> list[Any]:
        got: list[Any] = []
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(url, protocols=["chat"]) as ws,
        ):
            got.append(ws.protocol)
            for message in MESSAGES:
                await (ws.send_str(message) if isinstance(message, str) else ws.send_bytes(message))
                got.append((await ws.receive(timeout=5)).data)
        return got

    with event_loop_thread() as loop:
        runner, port = run_in(loop, start())
        with serving(
            ["--upstream", f"ws://127.0.0.1:{port}/ws", "--format", "json", "--once"]
        ) as relay:
            got = asyncio.run(client(relay.url))
            assert relay.wait() == 0
        run_in(loop, runner.cleanup())
    assert got == ["chat", *MESSAGES]
    (record,) = records_of(relay.stdout)
    assert record["verdict"] == "pass", record["findings"]


@pytest.mark.skipif(not node_ready(), reason="Node ws is not installed (npm ci in tests/node)")
def test_node_ws_client_to_node_ws_server() -> None:
    server = subprocess.Popen(
        ["node", str(CLIENTS / "node_ws_server.js")], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        with serving(
            ["--upstream", f"ws://127.0.0.1:{port}/", "--format", "json", "--once"]
        ) as relay:
            client = subprocess.run(
                ["node", str(CLIENTS / "node_ws_relay_client.js"), relay.url],
                capture_output=True,
                timeout=30,
                check=False,
            )
            assert relay.wait() == 0
    finally:
        server.communicate(b"", timeout=10)
    assert json.loads(client.stdout) == {"protocol": "chat", "same": True}
    assert client.returncode == 0
    (record,) = records_of(relay.stdout)
    assert record["verdict"] == "pass", record["findings"]


def test_frames_are_forwarded_byte_for_byte() -> None:
    """A raw upstream records every byte after the handshake and sends frames of its own."""
    upstream_got = bytearray()
    from_server = (
        b"\x81\x03srv" + b"\x02\x02ab" + b"\x80\x01c" + b"\x89\x00"
    )  # text, fragments, ping
    done = threading.Event()

    heads: list[bytes] = []

    def upstream(connection: socket.socket) -> None:
        head = read_request(connection)
        heads.append(head)
        key = key_of(head)
        connection.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept_for(key) + b"\r\n\r\n" + from_server
        )
        connection.settimeout(5)
        while len(upstream_got) < len(to_server):
            chunk = connection.recv(65536)
            if not chunk:
                break
            upstream_got.extend(chunk)
        done.set()

    to_server = (
        frame(0x1, "é".encode(), fin=False, mask=b"\xff\x00\xaa\x55")
        + frame(0x0, b"!" * 70_000, mask=b"\x00\x00\x00\x00")
        + frame(0x9, b"ping")
        + frame(0x8, (1001).to_bytes(2, "big") + b"bye")
    )
    with (
        socket_server(upstream) as port,
        serving(["--upstream", f"ws://127.0.0.1:{port}/", "--format", "json", "--once"]) as relay,
    ):
        client, head = raw_client(relay.port, handshake_request(relay.port))
        assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
        rest = head.split(b"\r\n\r\n", 1)[1]
        client.sendall(to_server)
        rest += recv_exactly(client, len(from_server) - len(rest))
        assert done.wait(10)
        client.close()
        assert relay.wait() == 0
    assert rest == from_server
    assert bytes(upstream_got) == to_server
    (record,) = records_of(relay.stdout)
    assert record["verdict"] == "pass"
    assert record["request"][1] == f"Host: 127.0.0.1:{relay.port}"  # as the client sent it
    (forwarded,) = heads
    lines = forwarded.split(b"\r\n")
    assert re.fullmatch(rb"Via: 1\.1 wsaccept-\d+-[0-9a-f]{8}", lines[2])  # loops are found by it
    assert b"\r\n".join(lines[:2] + lines[3:]) == handshake_request(relay.port).replace(
        f"Host: 127.0.0.1:{relay.port}".encode(), f"Host: 127.0.0.1:{port}".encode()
    )  # Host rewritten and the Via added, nothing else


def test_a_broken_upstream_is_diagnosed_and_the_client_refuses_it() -> None:
    def broken(connection: socket.socket) -> None:
        head = read_request(connection)
        key = key_of(head)
        wrong = base64.b64encode(hashlib.sha1(base64.b64decode(key) + GUID).digest())
        connection.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Protocol: v9\r\nSec-WebSocket-Accept: " + wrong + b"\r\n\r\n"
        )
        connection.recv(100)

    with (
        socket_server(broken) as port,
        serving(["--upstream", f"ws://127.0.0.1:{port}/", "--once"]) as relay,
    ):
        with pytest.raises(Exception, match=r"Sec-WebSocket-Accept|subprotocol"):
            asyncio.run(websockets_session(relay.url))
        assert relay.wait() == 1
    text = relay.stdout.decode()
    assert "  fail  response.accept        §4.2.2   Sec-WebSocket-Accept is " in text
    assert "the server hashed the base64-decoded key bytes instead of the key text" in text
    protocol = "  fail  response.protocol      §4.1     the server chose 'v9'"
    assert f"{protocol}, which the client did not offer" in text


def test_an_unreachable_upstream_is_a_502_and_a_finding() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now
    with serving(["--upstream", f"ws://127.0.0.1:{port}/", "--once", "--format", "json"]) as relay:
        connection, head = raw_client(relay.port, handshake_request(relay.port))
        connection.close()
        assert head.startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
        assert relay.wait() == 1
    (record,) = records_of(relay.stdout)
    rules = {f["rule"]: f["message"] for f in record["findings"]}
    assert rules["upstream"].startswith(f"cannot connect to the upstream ws://127.0.0.1:{port}/: ")

    def silent(connection: socket.socket) -> None:
        read_request(connection)  # and close without answering

    with (
        socket_server(silent) as port,
        serving(["--upstream", f"ws://127.0.0.1:{port}/", "--once", "--format", "json"]) as relay,
    ):
        connection, head = raw_client(relay.port, handshake_request(relay.port))
        connection.close()
        assert head.startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
        assert relay.wait() == 1
    (record,) = records_of(relay.stdout)
    rules = {f["rule"]: f["message"] for f in record["findings"]}
    assert (
        rules["upstream"]
        == "the upstream sent no response: the peer closed the connection without sending anything"
    )


def test_a_wss_upstream_with_cacert(tmp_path: Path) -> None:
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    cacert = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(cacert))
    with websockets_upstream(context) as (port, _received):
        with serving(
            ["--upstream", f"wss://localhost:{port}/", "--cacert", str(cacert), "--once"]
        ) as relay:
            got = asyncio.run(websockets_session(relay.url))
            assert relay.wait() == 0
        assert got == ["chat", *MESSAGES]
        with serving(
            ["--upstream", f"wss://localhost:{port}/", "--once", "--format", "json"]
        ) as relay:
            connection, head = raw_client(relay.port, handshake_request(relay.port))
            connection.close()
            assert relay.wait() == 1
        assert head.startswith(b"HTTP/1.1 502 Bad Gateway")
        assert b"CERTIFICATE_VERIFY_FAILED" in head or b"certificate verify failed" in head
        with serving(["--upstream", f"wss://localhost:{port}/", "--insecure", "--once"]) as relay:
            asyncio.run(websockets_session(relay.url))
            assert relay.wait() == 0
