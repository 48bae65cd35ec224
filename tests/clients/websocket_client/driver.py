"""Python `websocket-client` against URLs read one per line on stdin (the driver contract of
`tests/clients/__init__.py`): one JSON line per URL, `opened` when `create_connection` returned
(then a text frame and a Close), else the library's error; eight URLs at a time, in eight
processes. websocket-client offers no extension (it has no permessage-deflate);
`?protocol=NAME` (or `?protocols=A,B`) in the URL offers those subprotocols.

websocket-client reads the response head one byte per `recv()` call (`_socket.py` recv_line),
some 10 µs a byte: a 300 KB head would take seconds, longer than a test server waits for the
client's message. The driver therefore connects the TCP socket itself and hands the library one
whose `recv()` is served from a 64 KiB buffer (`create_connection(socket=...)`): the library
sees the same bytes in the same order and parses them with its own code, only without a system
call per byte."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import socket
import sys
from urllib.parse import parse_qs, urlsplit

import websocket

CONCURRENCY = 8


def protocols(url: str) -> list[str]:
    query = parse_qs(urlsplit(url).query)
    values = query.get("protocol", []) + query.get("protocols", [])
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


class BufferedSocket(socket.socket):
    """A connected socket whose recv() is served from a buffer filled 64 KiB at a time."""

    def __init__(self, connected: socket.socket) -> None:
        timeout = connected.gettimeout()
        super().__init__(connected.family, connected.type, connected.proto, connected.detach())
        self.settimeout(timeout)
        self._buffer = b""
        self._offset = 0

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if self._offset >= len(self._buffer):
            self._buffer, self._offset = super().recv(65536, flags), 0
        data = self._buffer[self._offset : self._offset + bufsize]
        self._offset += len(data)
        return data


def connected(url: str, timeout: float) -> BufferedSocket:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    return BufferedSocket(socket.create_connection((parts.hostname, port), timeout))


def one(url: str, timeout: float) -> dict[str, object]:
    try:
        ws = websocket.create_connection(
            url,
            timeout=timeout,
            subprotocols=protocols(url) or None,
            socket=connected(url, timeout),
        )
    except Exception as error:  # whatever the library raises is its refusal
        return {"url": url, "opened": False, "detail": f"{type(error).__name__}: {error}"}
    with contextlib.suppress(Exception):  # it opened; what follows is not the handshake
        ws.send("hello")
        ws.close(timeout=0.2)
    return {"url": url, "opened": True, "detail": ""}


def _one(url: str) -> str:
    return json.dumps(one(url, float(os.environ.get("WSACCEPT_DRIVER_TIMEOUT") or 3)))


def main() -> None:
    """Eight processes, not threads: websocket-client reads the head one byte per recv() call,
    and eight such loops sharing one interpreter would slow each other down."""
    urls = [line.strip() for line in sys.stdin if line.strip()]
    with multiprocessing.get_context("fork").Pool(CONCURRENCY) as pool:
        for line in pool.imap_unordered(_one, urls):
            print(line, flush=True)


if __name__ == "__main__":
    main()
