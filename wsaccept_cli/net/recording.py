"""What a probe sent and received on its connections, kept for `probe --save`.

A RecordingSocket stands in for the probe's socket (plain or TLS) and notes each piece of bytes
that went out or came in, above TLS, with its time: the exchange as the application saw it,
which `capture.write` turns into a pcapng file. At most MAX_RECORDED bytes are kept; past them
the recording says it was cut.
"""

from __future__ import annotations

import socket
import time
from typing import Any

MAX_RECORDED = 16 * 1024 * 1024


class Recorder:
    """Every piece of every connection a probe made: (connection, time, side, bytes)."""

    def __init__(self) -> None:
        self.events: list[tuple[int, float, str, bytes]] = []
        self.ports: list[int] = []  # the server port of each connection
        self.size = 0
        self.cut = False

    def wrap(self, connection: socket.socket, port: int) -> socket.socket:
        self.ports.append(port)
        wrapped: Any = RecordingSocket(connection, self, len(self.ports) - 1)
        return wrapped  # type: ignore[no-any-return]

    def note(self, index: int, side: str, data: bytes) -> None:
        if not data:
            return
        if self.size + len(data) > MAX_RECORDED:
            self.cut = True
            return
        self.size += len(data)
        self.events.append((index, time.time(), side, bytes(data)))


class RecordingSocket:
    """A socket whose send, sendall and recv are noted by a Recorder; the rest passes through."""

    def __init__(self, connection: socket.socket, recorder: Recorder, index: int) -> None:
        self._connection = connection
        self._recorder = recorder
        self._index = index

    def send(self, data: Any) -> int:
        sent = self._connection.send(data)
        self._recorder.note(self._index, "client", bytes(data[:sent]))
        return sent

    def sendall(self, data: Any) -> None:
        self._connection.sendall(data)
        self._recorder.note(self._index, "client", bytes(data))

    def recv(self, size: int) -> bytes:
        data = self._connection.recv(size)
        self._recorder.note(self._index, "server", data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)
