"""What the `serve` tests share: `wsaccept serve` as a running process (its URL read from its
first line), the real client programs in tests/serve_clients/, and raw WebSocket frames."""

from __future__ import annotations

import asyncio
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.helpers import clean_env, script_path
from wsaccept_cli.core.served import ServedConnection
from wsaccept_cli.net.serve import ServeOptions, Server

CLIENTS = Path(__file__).resolve().parent / "serve_clients"
NODE_MODULES = Path(__file__).resolve().parent / "node" / "node_modules"


def client_command(name: str) -> list[str]:
    """The argv of a real client program; {url} is the URL, the rest its own options. The
    client runs without the coverage measurement the test run gives Python subprocesses: it
    measures wsaccept only, and costs a client's start-up time on every run."""
    plain = ["env", "-u", "COVERAGE_PROCESS_CONFIG"]
    if name == "node_ws":
        return [shutil.which("node") or "node", str(CLIENTS / "node_ws.js"), "{url}"]
    return [*plain, sys.executable, str(CLIENTS / f"{name}.py"), "{url}"]


def node_ready() -> bool:
    return shutil.which("node") is not None and (NODE_MODULES / "ws").is_dir()


class Served:
    """A running `wsaccept serve`: its URL, and its output once it has ended."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, first: bytes) -> None:
        self.process = process
        self.url = url
        self.first = first
        self.stdout = b""
        self.stderr = b""
        self.returncode: int | None = None

    def wait(self, timeout: float = 20) -> int:
        stdout, self.stderr = self.process.communicate(timeout=timeout)
        self.stdout = self.first + stdout  # the whole of what it wrote
        self.returncode = self.process.returncode
        return self.returncode

    def stop(self) -> int:
        """Ctrl-C, then what it wrote."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.wait()

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].strip("/"))


def read_first_line(stream: object, timeout: float) -> bytes:
    fd = stream.fileno()  # type: ignore[attr-defined]
    line = b""
    deadline = time.monotonic() + timeout
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError(f"no first line within {timeout} s (got {line!r})")
        chunk = os.read(fd, 1)
        if not chunk:
            raise EOFError(f"serve ended before its first line (got {line!r})")
        line += chunk
    return line


@contextmanager
def serving(args: Sequence[str], **env: str) -> Iterator[Served]:
    """`wsaccept serve ARGS` running, its first line read; stopped (Ctrl-C) afterwards."""
    process = subprocess.Popen(
        [script_path(), "serve", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(**env),
    )
    try:
        first = read_first_line(process.stdout, 20)
        url = first.decode().strip()
        if url.startswith("{"):
            import json

            url = json.loads(url)["url"]
        served = Served(process, url, first)
        yield served
        if served.returncode is None:
            served.stop()
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


def frame(
    opcode: int, payload: bytes, *, mask: bytes = b"\x01\x02\x03\x04", fin: bool = True
) -> bytes:
    """A client's (masked) frame."""
    head = bytes([(0x80 if fin else 0) | opcode])
    length = len(payload)
    if length < 126:
        head += bytes([0x80 | length])
    elif length < 65536:
        head += bytes([0x80 | 126]) + length.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + length.to_bytes(8, "big")
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return head + mask + masked


def handshake_request(port: int, key: str = "dGhlIHNhbXBsZSBub25jZQ==", extra: str = "") -> bytes:
    return (
        f"GET /chat HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"{extra}\r\n"
    ).encode()


def raw_client(port: int, request: bytes) -> tuple[socket.socket, bytes]:
    """A connection that sent `request` and read the response head."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=5)
    connection.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data and b"\n\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    return connection, data


def recv_exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


@contextmanager
def server_thread(options: ServeOptions) -> Iterator[tuple[str, list[ServedConnection]]]:
    """The serve server in a thread of this process, its connections collected."""
    loop = asyncio.new_event_loop()
    seen: list[ServedConnection] = []
    server = Server(options, seen.append)
    url = loop.run_until_complete(server.start("127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield url, seen
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
