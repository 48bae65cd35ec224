"""`wsaccept connect`: a conversation over an upgraded connection. Messages go out as the user
(or stdin) gives them, what arrives is handed on as events the moment it comes, pings keep the
connection alive, and the end is recorded: who closed it, with which code, or that it ended
without a Close frame.

Network code only: every event is a dict handed to `on_event` (the ui renders it); nothing here
prints. Frames are read and written by wsproto (permessage-deflate through its extension when
the server accepted it), never by hand. One thread does all the I/O (a TLS socket must not be
read and written from two threads at once): the caller's sends are queued for it, and a pipe
wakes it. Memory is bounded: a message over
`max_size` bytes is refused with Close 1009 (RFC 6455 §7.4.1) as soon as it is that large.
"""

from __future__ import annotations

import base64
import contextlib
import os
import queue
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

Event = dict[str, Any]
RECV_SIZE = 64 * 1024
TICK = 0.1  # how often the reader looks at the clock (pings, the end)
CLEAN_CODES = frozenset({1000, 1001})
TOO_BIG, NO_STATUS, ABNORMAL = 1009, 1005, 1006
DEFAULT_MAX_SIZE = 16 * 1024 * 1024


class Options:
    """How the conversation behaves: limits, keep-alive, when it ends."""

    def __init__(
        self,
        *,
        max_size: int = DEFAULT_MAX_SIZE,
        ping: float | None = None,
        count: int | None = None,
        close_wait: float = 5.0,
    ) -> None:
        self.max_size = max_size
        self.ping = ping  # send a Ping every `ping` seconds
        self.count = count  # close (1000) after this many messages have come
        self.close_wait = close_wait  # for the server's Close after ours


def deflate_extension(offered: str) -> Any:
    """A wsproto PerMessageDeflate for the offer `offered` makes (`--extension
    permessage-deflate...`), or None when the offer names no permessage-deflate."""
    names = [item.split(";")[0].strip().lower() for item in offered.split(",")]
    if "permessage-deflate" not in names:
        return None
    from wsproto.extensions import PerMessageDeflate

    return PerMessageDeflate()


def accepted_extensions(extension: Any, response_values: list[str]) -> list[Any]:
    """The extensions to run: permessage-deflate when we offered it and the server accepted it
    (its parameters taken from the response, RFC 7692 §7.1)."""
    if extension is None:
        return []
    for value in response_values:
        for item in value.split(","):
            if item.split(";")[0].strip().lower() == "permessage-deflate":
                extension.finalize(item.strip())
                return [extension]
    return []


class Conversation:
    """One upgraded connection, talked over."""

    def __init__(
        self,
        connection: socket.socket,
        pending: bytes,
        options: Options,
        on_event: Callable[[Event], None],
        extensions: list[Any] | None = None,
    ) -> None:
        from wsproto.connection import Connection, ConnectionType

        self.socket = connection
        self.pending = pending
        self.options = options
        self.on_event = on_event
        self.ws = Connection(ConnectionType.CLIENT, extensions=extensions or [])
        self.outbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._wake_read, self._wake_write = os.pipe()
        self.sent_close: tuple[int, str] | None = None
        self.started = time.monotonic()
        self.ended = threading.Event()
        self.received = 0  # whole messages that came
        self.last_activity = self.started
        self.pings: dict[bytes, float] = {}
        self.ping_count = 0
        self.close: Event | None = None  # the close event, once it is known
        self.protocol_error = False  # 1002, 1007, 1009 sent or received
        self._parts: list[bytes | str] = []
        self._size = 0
        self._reader: threading.Thread | None = None

    # --- the caller's side ------------------------------------------------------------------

    def start(self) -> None:
        """The reader thread: what arrives is handed on as it comes."""
        self._reader = threading.Thread(target=self._read_loop, name="wsaccept-reader")
        self._reader.daemon = True
        self._reader.start()

    def elapsed(self) -> float:
        return round(time.monotonic() - self.started, 3)

    def send_text(self, text: str) -> None:
        self._queue("text", text)

    def send_binary(self, data: bytes) -> None:
        self._queue("binary", data)

    def ping(self, payload: bytes | None = None) -> None:
        """A Ping (our own numbered payload unless one is given), timed when its Pong comes."""
        self._queue("ping", payload)

    def close_with(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake (RFC 6455 §7.1.2); the I/O thread sees the server's
        Close."""
        self._queue("close", (code, reason))

    def _queue(self, kind: str, value: Any) -> None:
        self.outbox.put((kind, value))
        with contextlib.suppress(OSError):
            os.write(self._wake_write, b"x")

    def wait_quiet(self, seconds: float) -> None:
        """Until `seconds` pass without a message coming, or the conversation ends."""
        self.last_activity = max(self.last_activity, time.monotonic())
        while not self.ended.is_set():
            left = self.last_activity + seconds - time.monotonic()
            if left <= 0:
                return
            self.ended.wait(min(left, TICK))

    def finish(self) -> Event:
        """Close with 1000 if still open, wait (bounded) for the server's Close and its end of
        TCP, and return how it ended (the close event)."""
        self.close_with(1000)
        self.ended.wait(self.options.close_wait)
        if not self.ended.is_set():
            self._ended(ABNORMAL, f"no Close from the server within {self.options.close_wait:g} s",
                        "none")  # fmt: skip
        if self._reader is not None:
            self._reader.join(1.0)
        for fd in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)
        assert self.close is not None
        return self.close

    @property
    def clean(self) -> bool:
        """A clean close: Close frames exchanged, 1000 or 1001 either side (RFC 6455 §7.1.5)."""
        return (
            self.close is not None and self.close["code"] in CLEAN_CODES and not self.protocol_error
        )

    # --- the reader's side ------------------------------------------------------------------

    def _read_loop(self) -> None:
        next_ping = time.monotonic() + self.options.ping if self.options.ping else None
        self.socket.settimeout(self.options.close_wait)  # for sends; reads wait in select
        try:
            if self.pending:
                self._feed(self.pending)
            while not self.ended.is_set():
                self._drain_outbox()
                if next_ping is not None and time.monotonic() >= next_ping:
                    self._ping(None)
                    next_ping = time.monotonic() + (self.options.ping or 0)
                wait = (
                    TICK if next_ping is None else max(min(next_ping - time.monotonic(), TICK), 0)
                )
                if not self._readable(wait):
                    continue
                data = self.socket.recv(RECV_SIZE)
                if not data:
                    self._ended(ABNORMAL, "the connection ended without a Close frame", "none")
                    return
                self._feed(data)
        except OSError as error:
            self._ended(ABNORMAL, f"the connection broke: {error.strerror or error}", "none")
        finally:
            with contextlib.suppress(OSError):
                self.socket.shutdown(socket.SHUT_RDWR)

    def _readable(self, wait: float) -> bool:
        """Whether the socket has data (TLS may hold some decrypted already), after at most
        `wait` seconds, or less when the caller queues something."""
        pending = getattr(self.socket, "pending", None)
        if pending is not None and pending():
            return True
        watched: list[Any] = [self.socket, self._wake_read]
        ready, _, _ = select.select(watched, [], [], wait)
        if self._wake_read in ready:
            os.read(self._wake_read, 4096)
        return self.socket in ready

    def _drain_outbox(self) -> None:
        from wsproto.events import BytesMessage, TextMessage

        while not self.ended.is_set():
            try:
                kind, value = self.outbox.get_nowait()
            except queue.Empty:
                return
            if (kind == "text" and self._send(TextMessage(data=value))) or (
                kind == "binary" and self._send(BytesMessage(data=value))
            ):
                self._message("out", value)
            elif kind == "ping":
                self._ping(value)
            elif kind == "close":
                self._close(*value)

    def _ping(self, payload: bytes | None) -> None:
        from wsproto.events import Ping

        if payload is None:
            self.ping_count += 1
            payload = f"wsaccept {self.ping_count}".encode()
        self.pings[payload] = time.monotonic()
        if self._send(Ping(payload=payload)):
            self._emit("ping", dir="out", data=_text_or_b64(payload), size=len(payload))

    def _close(self, code: int, reason: str) -> None:
        from wsproto.connection import ConnectionState
        from wsproto.events import CloseConnection

        if self.ws.state is ConnectionState.OPEN and self._send(
            CloseConnection(code=code, reason=reason or None)
        ):
            self.sent_close = (code, reason)

    def _feed(self, data: bytes) -> None:
        self.ws.receive_data(data)
        events = list(self.ws.events())
        for event in events:
            self._event(event)
            if self.ended.is_set():
                return

    def _event(self, event: Any) -> None:
        from wsproto.events import CloseConnection, Message, Ping, Pong

        if isinstance(event, Message):
            self._fragment(event.data, event.message_finished)
        elif isinstance(event, Ping):
            payload = bytes(event.payload)
            self._emit("ping", dir="in", data=_text_or_b64(payload), size=len(payload))
            self._send(event.response())
            self._emit("pong", dir="out", data=_text_or_b64(payload), size=len(payload))
        elif isinstance(event, Pong):
            self._pong(bytes(event.payload))
        elif isinstance(event, CloseConnection):
            self._peer_close(event)

    def _fragment(self, data: bytes | str, finished: bool) -> None:
        self._size += len(data)
        if self._size > self.options.max_size:
            self._parts, self._size = [], 0
            self._fail(TOO_BIG, f"a message over {self.options.max_size} bytes (--max-size)")
            return
        self._parts.append(data)
        if not finished:
            return
        parts, self._parts, self._size = self._parts, [], 0
        whole: bytes | str = "".join(parts) if isinstance(parts[0], str) else b"".join(parts)  # type: ignore[arg-type]
        self.received += 1
        self.last_activity = time.monotonic()  # what --wait counts from: the last message
        self._message("in", whole)
        if self.options.count is not None and self.received >= self.options.count:
            self._close(1000, "")

    def _pong(self, payload: bytes) -> None:
        sent = self.pings.pop(payload, None)
        rtt = round((time.monotonic() - sent) * 1000, 3) if sent is not None else None
        self._emit("pong", dir="in", data=_text_or_b64(payload), size=len(payload), rtt_ms=rtt)

    def _peer_close(self, event: Any) -> None:
        from wsproto.connection import ConnectionState

        if self.ws.state is ConnectionState.OPEN:  # a frame wsproto cannot take: fail it
            self._fail(int(event.code), event.reason or "a frame that breaks RFC 6455")
            return
        code, reason = int(event.code), event.reason or ""
        if self.ws.state is ConnectionState.REMOTE_CLOSING:  # the server closes: answer it
            self._send(event.response())
            self._ended(code, reason, "server")
        else:  # the answer to our Close
            ours = self.sent_close or (code, reason)
            self._ended(ours[0], ours[1], "client", server_code=code)

    def _fail(self, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455 §7.1.7): our Close with `code`, then the end."""
        from wsproto.events import CloseConnection

        self.protocol_error = True
        self._emit("error", message=reason, code=code)
        with contextlib.suppress(Exception):
            self._write(self.ws.send(CloseConnection(code=code, reason=reason[:100])))
        self._ended(code, reason, "client")

    # --- both sides -------------------------------------------------------------------------

    def _send(self, event: Any) -> bool:
        """Send one wsproto event; False (and an error event) when the connection is gone."""
        from wsproto.utilities import LocalProtocolError

        try:
            self._write(self.ws.send(event))
        except (OSError, LocalProtocolError) as error:
            if not self.ended.is_set():
                self._emit("error", message=f"cannot send: {error}")
            return False
        return True

    def _write(self, data: bytes) -> None:
        self.socket.sendall(data)

    def _message(self, direction: str, data: bytes | str) -> None:
        if isinstance(data, str):
            self._emit("message", dir=direction, type="text", data=data,
                       size=len(data.encode("utf-8")))  # fmt: skip
        else:
            encoded = base64.b64encode(data).decode("ascii")
            self._emit("message", dir=direction, type="binary", data_base64=encoded,
                       size=len(data))  # fmt: skip

    def _ended(self, code: int, reason: str, by: str, server_code: int | None = None) -> None:
        if self.ended.is_set():
            return
        if code in (1002, 1007, TOO_BIG):
            self.protocol_error = True
        self.close = {"event": "close", "code": code, "reason": reason, "by": by,
                      "at_s": self.elapsed()}  # fmt: skip
        if server_code is not None:
            self.close["server_code"] = server_code
        self.on_event(self.close)
        self.ended.set()

    def _emit(self, kind: str, **fields: Any) -> None:
        self.on_event({"event": kind, **fields, "at_s": self.elapsed()})


def _text_or_b64(payload: bytes) -> str:
    """A ping's payload as text when it is UTF-8 (as most are), else `base64:` and its base64."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(payload).decode("ascii")


class Talk:
    """What `connect` does with the upgraded connection: `drive` (the CLI's input loop) is
    given the Conversation once the handshake has passed its checks; a failed one is failed
    by closing TCP, no Close frame (RFC 6455 §4.1)."""

    def __init__(
        self,
        offer: str,
        options: Options,
        on_event: Callable[[Event], None],
        drive: Callable[[Conversation], None],
    ) -> None:
        self.offer = offer
        self.options = options
        self.on_event = on_event
        self.drive = drive
        self.conversation: Conversation | None = None

    def __call__(self, connection: socket.socket, result: Any) -> None:
        """The after_upgrade hook of net.probe.run_probe."""
        from wsaccept_cli.core.rules import FAIL
        from wsaccept_cli.net.probe import probe_report

        report = probe_report(result)
        response = report.handshake.response
        if report.verdict == FAIL or response is None:
            return  # run_probe closes TCP: the client fails the connection (§4.1)
        extension = deflate_extension(self.offer)
        extensions = accepted_extensions(extension, response.values("sec-websocket-extensions"))
        pending, result.body = bytes(result.body), b""
        self.conversation = Conversation(
            connection, pending, self.options, self.on_event, extensions
        )
        protocols = response.values("sec-websocket-protocol")
        self.on_event(
            {
                "event": "open",
                "url": result.url,
                "protocol": protocols[0].strip() if protocols else None,
                "extensions": [item.split(";")[0].strip() for item in
                               response.items("sec-websocket-extensions")],
                "at_s": 0.0,
            }
        )  # fmt: skip
        self.conversation.start()
        self.drive(self.conversation)
