#!/usr/bin/env python3
"""Record the captures under tests/cases/inspect/ from real clients and servers on 127.0.0.1.

    python tests/cases/record.py   # needs websockets, aiohttp and curl; rewrites the captures

Real peers (websockets and aiohttp, clients and servers, curl, Python's http.server) talk through
a recording proxy that keeps the bytes of each opening handshake. The deliberately broken servers
answer a real client's request the way known buggy implementations do. The expected findings
(`*.expected`) are then written by `pytest tests/test_inspect.py --update-golden` and reviewed by
hand before they are committed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import http.server
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import aiohttp.web
import websockets
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

OUT = Path(__file__).resolve().parent / "inspect"
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
HEAD_END = b"\r\n\r\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Recorder:
    """A TCP proxy that keeps each direction's bytes up to the end of the first HTTP head."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.request = b""
        self.response = b""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, side: str) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    kept = getattr(self, side)
                    if HEAD_END not in kept:
                        setattr(self, side, kept + data)
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(ConnectionError, OSError):
                dst.close()

        await asyncio.gather(
            pump(reader, up_writer, "request"), pump(up_reader, writer, "response")
        )

    def capture(self, body_lines: int = 0) -> bytes:
        """The request head and the response head (plus some body lines when asked)."""
        request = self.request.split(HEAD_END)[0] + HEAD_END
        head, _, body = self.response.partition(HEAD_END)
        kept = b"\r\n".join(body.split(b"\r\n")[:body_lines]) if body_lines else b""
        return request + head + HEAD_END + kept


async def through_recorder(
    upstream: int, client: Callable[[int], Awaitable[None]], body_lines: int = 0
) -> bytes:
    recorder = Recorder(upstream)
    port = free_port()
    server = await asyncio.start_server(recorder.handle, "127.0.0.1", port)
    async with server:
        with contextlib.suppress(Exception):
            await client(port)
        await asyncio.sleep(0.2)
    return recorder.capture(body_lines)


async def websockets_client(port: int) -> None:
    async with connect(f"ws://127.0.0.1:{port}/chat", subprotocols=["chat"]) as ws:
        await ws.send("hello")
        await ws.recv()


async def aiohttp_client(port: int) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"ws://127.0.0.1:{port}/chat", protocols=("chat",)) as ws,
    ):
        await ws.send_str("hello")
        await ws.receive()


async def curl_client(port: int) -> None:
    await asyncio.to_thread(curl_verbose, port)


def curl_verbose(port: int, *extra: str) -> str:
    """What `curl -v` prints for an upgrade request: the README's CI recipe."""
    key = base64.b64encode(b"wsaccept-curl-16").decode()
    result = subprocess.run(
        ["curl", "-sv", "--max-time", "1", "-H", "Connection: Upgrade", "-H", "Upgrade: websocket",
         "-H", "Sec-WebSocket-Version: 13", "-H", f"Sec-WebSocket-Key: {key}", *extra,
         f"http://127.0.0.1:{port}/chat"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return result.stderr + result.stdout


async def websockets_echo_server(port: int, **options: object) -> websockets.Server:
    async def echo(ws: websockets.ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)

    options.setdefault("subprotocols", ["chat"])
    return await serve(echo, "127.0.0.1", port, **options)  # type: ignore[arg-type]


async def aiohttp_echo_server(port: int) -> aiohttp.web.AppRunner:
    async def handler(request: aiohttp.web.Request) -> aiohttp.web.WebSocketResponse:
        ws = aiohttp.web.WebSocketResponse(protocols=("chat",))
        await ws.prepare(request)
        async for message in ws:
            await ws.send_str(message.data)
        return ws

    app = aiohttp.web.Application()
    app.router.add_get("/chat", handler)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    await aiohttp.web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def raw_exchange(port: int, request: bytes, body_lines: int = 3) -> bytes:
    """Send `request` as is and keep the response head and its first body lines."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
        connection.sendall(request)
        data = b""
        with contextlib.suppress(TimeoutError, ConnectionError):
            while chunk := connection.recv(65536):
                data += chunk
                if HEAD_END in data and (data.endswith(b"\n") or len(data) > 4096):
                    break
    head, _, body = data.partition(HEAD_END)
    kept = b"".join(body.splitlines(keepends=True)[:body_lines])
    return request + head + HEAD_END + kept


def request_from(
    key: str, version: str = "13", extra: str = "", method: str = "GET", path: str = "/chat"
) -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        f"Sec-WebSocket-Version: {version}\r\n{extra}\r\n"
    ).encode()


BROKEN_ACCEPTS: dict[str, Callable[[bytes], bytes]] = {
    "bug-decoded-key": lambda k: base64.b64encode(
        hashlib.sha1(base64.b64decode(k) + GUID).digest()
    ),
    "bug-trailing-crlf": lambda k: base64.b64encode(hashlib.sha1(k + b"\r\n" + GUID).digest()),
    "bug-lowercase-guid": lambda k: base64.b64encode(hashlib.sha1(k + GUID.lower()).digest()),
    "bug-hex-digest": lambda k: base64.b64encode(hashlib.sha1(k + GUID).hexdigest().encode()),
    "bug-sha256": lambda k: base64.b64encode(hashlib.sha256(k + GUID).digest()),
    "bug-no-padding": lambda k: base64.b64encode(hashlib.sha1(k + GUID).digest()).rstrip(b"="),
    "bug-mistyped-guid": lambda k: base64.b64encode(
        hashlib.sha1(k + GUID.replace(b"C5AB", b"C5BA")).digest()
    ),
}


def right_accept(request: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key_of(request) + GUID).digest())


OTHER_KEY = base64.b64encode(b"some-other-key!!")
BROKEN_ANSWERS: dict[str, Callable[[bytes], bytes]] = {
    "bug-accept-of-an-unknown-key": lambda request: response_with(
        base64.b64encode(hashlib.sha1(OTHER_KEY + GUID).digest())
    ),
    "proxy-dropped-upgrade-headers": lambda request: (
        b"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: "
        + right_accept(request)
        + b"\r\n\r\n"
    ),
    "proxy-http10-via": lambda request: (
        b"HTTP/1.0 200 OK\r\nVia: 1.0 squid\r\nContent-Type: text/html\r\n\r\n"
        b"<html>cached page</html>\r\n"
    ),
    "duplicate-accept": lambda request: response_with(
        BROKEN_ACCEPTS["bug-sha256"](key_of(request)),
        b"Sec-WebSocket-Accept: " + right_accept(request) + b"\r\n",
    ),
    "version-426-lists-13": lambda request: (
        b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13, 8\r\n"
        b"Content-Length: 0\r\n\r\n"
    ),
    "redirect-302": lambda request: (
        b"HTTP/1.1 302 Found\r\nLocation: wss://127.0.0.1/chat\r\nContent-Length: 0\r\n\r\n"
    ),
    "unoffered-subprotocol": lambda request: response_with(
        right_accept(request),
        b"Sec-WebSocket-Protocol: superchat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n",
    ),
}


def broken_server(port: int, answer: Callable[[bytes], bytes]) -> threading.Thread:
    """A one-shot server that reads a request and sends `answer(request)`."""
    listener = socket.create_server(("127.0.0.1", port))

    def serve_once() -> None:
        with listener, listener.accept()[0] as connection:
            request = b""
            while HEAD_END not in request:
                request += connection.recv(65536)
            connection.sendall(answer(request))

    thread = threading.Thread(target=serve_once, daemon=True)
    thread.start()
    return thread


def key_of(request: bytes) -> bytes:
    for line in request.split(b"\r\n"):
        if line.lower().startswith(b"sec-websocket-key:"):
            return line.split(b":", 1)[1].strip()
    raise ValueError("no key")


def response_with(accept: bytes, extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n" + extra + b"\r\n"
    )


async def record_broken(name: str, answer: Callable[[bytes], bytes]) -> None:
    port = free_port()
    thread = broken_server(port, answer)
    capture = await through_recorder(port, websockets_client)
    thread.join(timeout=5)
    write(f"{name}.http", capture)


async def record_stale_accept() -> None:
    """Two connections to a server (a caching proxy, say) that answers the second with the
    accept it computed for the first."""
    first_key: list[bytes] = []

    def stale(request: bytes) -> bytes:
        first_key.append(key_of(request))
        return response_with(base64.b64encode(hashlib.sha1(first_key[0] + GUID).digest()))

    captures = []
    for _ in range(2):
        port = free_port()
        thread = broken_server(port, stale)
        captures.append(await through_recorder(port, websockets_client))
        thread.join(timeout=5)
    write("bug-accept-of-the-previous-key.http", b"".join(captures))


def decoded_key_answer(request: bytes) -> bytes:
    return response_with(BROKEN_ACCEPTS["bug-decoded-key"](key_of(request)))


async def record_tcpdump() -> None:
    """`tcpdump -A` on loopback (root and tcpdump needed) of a good and a broken handshake."""
    if shutil.which("tcpdump") is None:
        print("tcpdump not found: the tcpdump captures are kept as they are")
        return
    cases = (("tcpdump-A-websockets.txt", None), ("tcpdump-A-bug-decoded-key.txt", "bug"))
    for name, bug in cases:
        port = free_port()
        dump = subprocess.Popen(
            ["tcpdump", "-i", "lo", "-A", "-s0", "-l", "-c", "12", f"tcp port {port}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        await asyncio.sleep(1)
        if bug:
            thread = broken_server(port, decoded_key_answer)
            with contextlib.suppress(Exception):
                await websockets_client(port)
            thread.join(timeout=5)
        else:
            server = await websockets_echo_server(port, subprotocols=None)
            async with connect(f"ws://127.0.0.1:{port}/chat") as ws:
                await ws.send("hello")
                await ws.recv()
            server.close()
        await asyncio.sleep(1)
        dump.terminate()
        output, _ = dump.communicate(timeout=5)
        write(name, output)


def write(name: str, data: bytes | str) -> None:
    path = OUT / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    print(f"wrote {path.relative_to(OUT.parent.parent.parent)}")


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    ws_port, aio_port = free_port(), free_port()
    server = await websockets_echo_server(ws_port)
    strict = await websockets_echo_server(free_port(), origins=["https://app.example"])
    runner = await aiohttp_echo_server(aio_port)

    for name, client, port in (
        ("websockets-client-websockets-server.http", websockets_client, ws_port),
        ("aiohttp-client-aiohttp-server.http", aiohttp_client, aio_port),
        ("websockets-client-aiohttp-server.http", websockets_client, aio_port),
        ("aiohttp-client-websockets-server.http", aiohttp_client, ws_port),
    ):
        write(name, await through_recorder(port, client))

    open_server = await websockets_echo_server(free_port(), subprotocols=None)
    open_port = open_server.sockets[0].getsockname()[1]
    strict_port = strict.sockets[0].getsockname()[1]
    evil = ("-H", "Origin: https://evil.example")
    for name, port, extra in (
        ("curl-missing-subprotocol-400.curl", ws_port, ()),
        ("curl-websockets-server.curl", open_port, ()),
        ("curl-origin-refused-403.curl", strict_port, evil),
    ):
        write(name, await asyncio.to_thread(curl_verbose, port, *extra))

    key = base64.b64encode(b"wsaccept-raw-key").decode()
    without_key = request_from(key).replace(f"Sec-WebSocket-Key: {key}\r\n".encode(), b"")
    for name, port, request in (
        ("version-8-answered-400.http", ws_port, request_from(key, version="8")),
        ("no-key-answered-400.http", ws_port, without_key),
        ("short-key-answered-400.http", ws_port, request_from("c2hvcnQ=")),
        ("post-answered-by-aiohttp.http", aio_port, request_from(key, method="POST")),
    ):
        write(name, await asyncio.to_thread(raw_exchange, port, request))

    http_port = free_port()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=tempfile.mkdtemp())
    plain = http.server.ThreadingHTTPServer(("127.0.0.1", http_port), handler)
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    listing = await asyncio.to_thread(raw_exchange, http_port, request_from(key, path="/"))
    write("plain-http-server-200.http", listing)
    plain.shutdown()

    for name, wrong in BROKEN_ACCEPTS.items():
        await record_broken(
            name, lambda request, wrong=wrong: response_with(wrong(key_of(request)))
        )
    await record_stale_accept()
    for name, answer in BROKEN_ANSWERS.items():
        await record_broken(name, answer)

    await record_tcpdump()
    derive_captures()
    server.close()
    strict.close()
    open_server.close()
    await runner.cleanup()


def derive_captures() -> None:
    """The other input forms, made from recorded bytes: LF endings, a browser paste, a HAR."""
    good = (OUT / "websockets-client-websockets-server.http").read_bytes()
    write("lf-line-endings.http", good.replace(b"\r\n", b"\n"))
    head, _, rest = good.partition(HEAD_END)  # the request as sent, the response in bare LF
    write("bare-lf-response.http", head + HEAD_END + rest.replace(b"\r\n", b"\n"))
    request, response = (part.decode() for part in good.split(HEAD_END)[:2])
    paste = ["Request Headers", *request.splitlines()[1:], "", "Response Headers",
             *response.splitlines()[1:], ""]  # fmt: skip
    write("devtools-headers-pasted.txt", "\n".join(paste))
    write("session.har", har([good, (OUT / "bug-decoded-key.http").read_bytes()]))


def har(captures: list[bytes]) -> str:
    """A HAR 1.2 log as Chrome exports it: a page load, then the WebSocket entries."""
    import json

    def headers(lines: list[str]) -> list[dict[str, str]]:
        return [
            {"name": n, "value": v.strip()} for n, _, v in (line.partition(":") for line in lines)
        ]

    entries: list[dict[str, object]] = [
        {
            "_resourceType": "document",
            "request": {"method": "GET", "url": "http://127.0.0.1/", "httpVersion": "HTTP/1.1",
                        "headers": [{"name": "Host", "value": "127.0.0.1"}]},
            "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                         "headers": [], "content": {"size": 5, "text": "hello"}},
        }
    ]  # fmt: skip
    for capture in captures:
        request, response = (part.decode().splitlines() for part in capture.split(HEAD_END)[:2])
        method, target, version = request[0].split(" ")
        _, status, reason = response[0].split(" ", 2)
        entries.append({
            "_resourceType": "websocket",
            "request": {"method": method, "url": f"ws://127.0.0.1{target}", "httpVersion": version,
                        "headers": headers(request[1:])},
            "response": {"status": int(status), "statusText": reason, "httpVersion": version,
                         "headers": headers(response[1:]), "content": {"size": 0}},
        })  # fmt: skip
    return json.dumps({"log": {"version": "1.2", "creator": {"name": "WebInspector",
                      "version": "537.36"}, "entries": entries}}, indent=2)  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
