"""The closing handshake `probe` completes after a good 101, as a correct client does it.

The server's frames are read and written by wsproto: what came with the 101 or right after it
is read before our Close goes out, so a server that opens with a broken frame gets the Close a
correct client sends for it (1002, or 1007 for text that is not UTF-8: RFC 6455 §7.1.7, §7.4.1,
§8.1; a masked frame from a server is a protocol error, §5.1), a Ping gets a Pong with its
payload (§5.5.2, §5.5.3), and a server that closes first gets its Close echoed (§5.5.1).
Otherwise a Close 1000 goes out and the server's is awaited, its frames before it checked the
same way, for at most CLOSE_READ bytes and until the deadline. One exchange is taken without
wsproto, the usual one: nothing came, our Close 1000 (the frame wsproto writes) and the
server's plain Close 1000 in answer, byte for byte; tests/test_closing_shortcut.py holds it to
what wsproto alone makes of every answer.

Network code only: it returns how the closing went and never prints.
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import TYPE_CHECKING, Any

from wsaccept_cli.net.connect import waiting

if TYPE_CHECKING:
    from wsaccept_cli.net.connect import Deadline

CLOSE_READ = 1024 * 1024  # of frames read while the server's Close is awaited
RECV_SIZE = 16 * 1024


class Closing:
    """How the closing handshake went: `how` is "closed" (Close frames exchanged after ours),
    "server-closed" (the server's Close came first; we echoed it), "bad-frame" (the server
    sent a frame that is not valid: `reason` is wsproto's why, `sent_code` the Close we failed
    the connection with, None when ours had gone out already), "no-close" (the connection
    ended, or CLOSE_READ bytes came, without a Close), "no-answer" (no Close by the deadline)."""

    def __init__(self) -> None:
        self.how = "no-answer"
        self.code: int | None = None  # of the server's Close
        self.reason = ""
        self.sent_code: int | None = None
        self.pongs = 0  # Pings of the server answered before our Close


def _extensions(response_headers: list[tuple[str, str]]) -> list[Any]:
    """permessage-deflate, when the 101 accepted it (RFC 7692): wsproto then reads RSV1 as
    compression on data frames (and still refuses it on control frames)."""
    from wsproto.extensions import PerMessageDeflate

    for name, value in response_headers:
        if name.lower() != "sec-websocket-extensions":
            continue
        for accepted in value.split(","):
            if accepted.split(";", 1)[0].strip().lower() == "permessage-deflate":
                extension = PerMessageDeflate()
                try:  # parameters wsproto cannot take (a window of 8 bits, no value): left off
                    extension.finalize(accepted.strip())
                except (ValueError, IndexError):
                    return []
                return [extension]
    return []


class _Client:
    """The client side of the connection after the 101, through wsproto."""

    def __init__(self, connection: socket.socket, headers: list[tuple[str, str]]) -> None:
        from wsproto.connection import Connection, ConnectionType

        self.socket = connection
        self.ws = Connection(ConnectionType.CLIENT, extensions=_extensions(headers))
        self.closing = Closing()
        self.ended = False

    def feed(self, data: bytes) -> None:
        """Take the server's bytes; answer Pings and Closes, fail the connection on a frame
        that is not valid (wsproto reports it as a Close from the state OPEN)."""
        from wsproto.connection import ConnectionState
        from wsproto.events import CloseConnection, Ping

        self.ws.receive_data(data)
        for event in self.ws.events():
            if isinstance(event, Ping) and self.ws.state is ConnectionState.OPEN:
                self.socket.sendall(self.ws.send(event.response()))
                self.closing.pongs += 1
            elif isinstance(event, CloseConnection):
                self._closed(event)
                return

    def _closed(self, event: Any) -> None:
        from wsproto.connection import ConnectionState

        closing, state = self.closing, self.ws.state
        self.ended = True
        if state in (ConnectionState.OPEN, ConnectionState.LOCAL_CLOSING):  # a broken frame
            closing.how, closing.reason = "bad-frame", event.reason or ""
            if state is ConnectionState.OPEN:  # fail the connection (RFC 6455 §7.1.7)
                closing.sent_code = event.code
                with contextlib.suppress(OSError):
                    self.socket.sendall(self.ws.send(event))
            return
        closing.code, closing.reason = event.code, event.reason or ""
        if state is ConnectionState.REMOTE_CLOSING:  # the server closed first: echo it
            closing.how = "server-closed"
            with contextlib.suppress(OSError):
                self.socket.sendall(self.ws.send(event.response()))
        else:
            closing.how = "closed"

    def close(self) -> None:
        self.socket.sendall(self.sent_close())

    def sent_close(self) -> bytes:
        """Our Close 1000, as wsproto writes it, wsproto now where sending it puts it (called
        alone when the Close went out already, `masked_close`: its bytes are dropped)."""
        from wsproto.events import CloseConnection

        return bytes(self.ws.send(CloseConnection(code=1000)))


# What nearly every server answers our Close 1000 with: its own Close 1000, no reason,
# unmasked (RFC 6455 §5.5.1, §7.4.1). Taken as wsproto takes it without importing wsproto
# (a quarter of probe's start-up in each process) or running its frame parser; anything else
# goes to wsproto, fed the same bytes.
PLAIN_CLOSE_ANSWER = b"\x88\x02\x03\xe8"
CLOSE_1000 = b"\x03\xe8"


def closing_handshake(
    connection: socket.socket,
    deadline: Deadline,
    received: bytes,
    headers: list[tuple[str, str]],
    *,
    look: bool = True,
) -> Closing:
    """Read what the server sent after its 101 (`received`, and with `look` what is there to
    read without waiting: the caller may just have looked), then, unless that ended the
    connection, send Close 1000 and await the server's. TimeoutError and OSError are the
    caller's (no answer; the connection broke).

    When nothing came before our Close, the usual exchange (our Close, the server's
    PLAIN_CLOSE_ANSWER) needs no frame parser: our frame is the one wsproto writes, masked with
    a key of its own (`masked_close`); any other answer is fed to wsproto, which is told of the
    Close already sent."""
    deadline.bound(connection)
    came = received + ((waiting(connection, RECV_SIZE) or b"") if look else b"")
    if not came:
        connection.sendall(masked_close(os.urandom(4)))
        deadline.bound(connection)
        chunk = connection.recv(RECV_SIZE)
        if chunk == PLAIN_CLOSE_ANSWER:
            closing = Closing()
            closing.how, closing.code = "closed", 1000
            return closing
        client = _Client(connection, headers)
        client.sent_close()
        return _await_close(client, connection, deadline, chunk)
    client = _Client(connection, headers)
    client.feed(came)
    if client.ended:
        return client.closing
    client.close()
    deadline.bound(connection)
    return _await_close(client, connection, deadline, connection.recv(RECV_SIZE))


def _await_close(
    client: _Client, connection: socket.socket, deadline: Deadline, chunk: bytes
) -> Closing:
    """The server's frames after our Close, from `chunk` on, until its Close, the end of the
    connection or CLOSE_READ bytes."""
    read = 0
    while True:
        if not chunk:
            client.closing.how = "no-close"
            break
        read += len(chunk)
        client.feed(chunk)
        if client.ended:
            break
        if read >= CLOSE_READ:
            client.closing.how = "no-close"
            break
        deadline.bound(connection)
        chunk = connection.recv(RECV_SIZE)
    return client.closing


def masked_close(key: bytes) -> bytes:
    """Close 1000 as a client sends it (RFC 6455 §5.2, §5.3): FIN and opcode 0x8, the mask bit
    and a length of 2, the 4-byte masking key, the code masked with it."""
    return b"\x88\x82" + key + bytes(b ^ key[i] for i, b in enumerate(CLOSE_1000))
