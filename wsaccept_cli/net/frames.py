"""`wsaccept serve` with a frame fault: the correct 101, the fault's frames, then the client's
answer watched on the wire (its Close and code, its Pongs, its TCP close) for a bounded time and
judged by core/frame_faults.py. The client's frames are read by wsproto; what the server itself
sends besides the fault's frames (echoes, Pongs, its Close) is written by wsproto too.
Network code only: it fills the ServedConnection, nothing is printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wsaccept_cli.core.frame_faults import FrameFault, Seen, judge, settled
from wsaccept_cli.net.heads import READ_SIZE

if TYPE_CHECKING:
    from wsaccept_cli.core.served import ServedConnection


async def serve_frame_fault(
    connection: ServedConnection,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    rest: bytes,
    grace: float,
    report: Callable[[ServedConnection], None],
) -> None:
    """Send the 101 and the fault's frames, watch the client, record its verdict and `report`
    it; then go on serving (echoes, Pongs, the Close) until the client goes."""
    fault = connection.fault
    assert isinstance(fault, FrameFault)
    if fault.half_close and not writer.can_write_eof():
        connection.skipped = "a FIN cannot be sent alone under TLS"
        fault = None
    watcher = FrameWatch(fault, connection, writer)
    writer.write(connection.response_bytes + (fault.frames if fault else b""))
    if fault is not None and fault.half_close:
        writer.write_eof()
    with contextlib.suppress(OSError):
        await writer.drain()
    if fault is None:
        connection.behaviour, connection.how = "accepted", "answered correctly: fault skipped"
        report(connection)
        return
    seen = await watcher.watch(reader, rest, fault.wait(grace))
    connection.behaviour, connection.frame_ok, connection.how = judge(fault, seen)
    connection.verdict_seconds = seen.watched_s
    report(connection)
    await watcher.serve_on(reader)


class FrameWatch:
    """The client's frames after a frame fault, through a wsproto server connection."""

    def __init__(
        self,
        fault: FrameFault | None,
        connection: ServedConnection,
        writer: asyncio.StreamWriter,
    ) -> None:
        from wsproto.connection import Connection, ConnectionType

        extensions: list[Any] = []
        if fault is not None and fault.deflate:
            from wsproto.extensions import PerMessageDeflate

            deflate = PerMessageDeflate(
                client_no_context_takeover=True, server_no_context_takeover=True
            )
            deflate.accept("permessage-deflate")  # the answer's own parameters
            extensions.append(deflate)
        self.fault = fault
        self.ws = Connection(ConnectionType.SERVER, extensions=extensions)
        self.writer = writer
        self.seen = Seen()
        self.started = time.monotonic()
        self.passive = False  # in a relay: watch only, the upstream answers the client
        self.judged = False

    async def watch(self, reader: asyncio.StreamReader, rest: bytes, wait: float) -> Seen:
        """Read the client until its answer settles the verdict, it closes TCP, or `wait`."""
        assert self.fault is not None
        end = self.started + wait
        data = rest
        while True:
            if data:
                self._feed(data)
            if settled(self.fault, self.seen) or (left := end - time.monotonic()) <= 0:
                break
            try:
                data = await asyncio.wait_for(reader.read(READ_SIZE), left)
            except (asyncio.TimeoutError, TimeoutError):
                break
            except OSError:
                data = b""
            if not data:
                self.seen.eof_s = time.monotonic() - self.started
                break
        self.seen.watched_s = round(min(time.monotonic() - self.started, wait), 1)
        with contextlib.suppress(OSError):
            await self.writer.drain()
        return self.seen

    async def serve_on(self, reader: asyncio.StreamReader) -> None:
        """After the verdict: the server's side of the conversation, until the client goes."""
        from wsproto.connection import ConnectionState

        # Once both Close frames have passed, the server closes TCP first (RFC 6455 §7.1.1)
        while self.seen.eof_s is None and self.ws.state is not ConnectionState.CLOSED:
            if self.writer.is_closing():
                return
            with contextlib.suppress(OSError):
                await self.writer.drain()
            try:
                data = await reader.read(READ_SIZE)
            except OSError:
                return
            if not data:
                return
            self._feed(data)

    def _feed(self, data: bytes) -> None:
        from wsproto.utilities import LocalProtocolError

        try:
            self.ws.receive_data(data)
            for event in self.ws.events():
                self._event(event)
        except LocalProtocolError:  # bytes after the client's Close: nothing more to read
            return

    def _event(self, event: Any) -> None:
        from wsproto.connection import ConnectionState
        from wsproto.events import CloseConnection, Message, Ping, Pong

        assert self.fault is not None
        at = time.monotonic() - self.started
        if isinstance(event, Pong):
            self.seen.pongs.append(bytes(event.payload))
            self.seen.pong_s = self.seen.pong_s if self.seen.pong_s is not None else at
        elif isinstance(event, Ping) and self.fault.echo:
            self._write(self.ws.send(event.response()))
        elif isinstance(event, Message):
            self.seen.messages += 1
            if self.fault.echo:
                echo = type(event)(data=event.data, message_finished=event.message_finished)
                self._write(self.ws.send(echo))
        elif isinstance(event, CloseConnection) and self.seen.close_code is None:
            if self.ws.state is ConnectionState.OPEN:  # wsproto could not parse the frame
                self.seen.bad_frame = event.reason or f"code {event.code}"
                return
            self.seen.close_code, self.seen.close_reason = event.code, event.reason or ""
            self.seen.close_s = at
            if self.fault.answer_close:
                self._write(self.ws.send(event.response()))

    def _write(self, data: bytes) -> None:
        half_closed = self.fault is not None and self.fault.half_close
        if data and not half_closed and not self.passive and not self.writer.is_closing():
            self.writer.write(data)


def relay_skip(fault: FrameFault) -> str | None:
    """Why a frame fault cannot be made in a relay (the upstream answers the client), or
    None: the fault's frames are injected after the upstream's 101 and the client watched."""
    if fault.deflate:
        return "in a relay the upstream negotiates the extensions"
    if fault.half_close or not fault.answer_close or not fault.echo:
        return "it needs the server's side of the conversation, which the upstream has"
    return None


class RelayWatch:
    """A frame fault in a relay: the client's bytes, on their way to the upstream, watched
    until the verdict; reported once."""

    def __init__(
        self,
        connection: ServedConnection,
        writer: asyncio.StreamWriter,
        grace: float,
        report: Callable[[ServedConnection], None],
    ) -> None:
        fault = connection.fault
        assert isinstance(fault, FrameFault)
        self.fault = fault
        self.connection = connection
        self.watch = FrameWatch(fault, connection, writer)
        self.watch.passive = True
        self.wait = fault.wait(grace)
        self.report = report
        writer.write(fault.frames)

    def feed(self, data: bytes) -> None:
        if not self.watch.judged:
            self.watch._feed(data)
            if settled(self.fault, self.watch.seen):
                self.finish()

    def eof(self) -> None:
        if not self.watch.judged:
            self.watch.seen.eof_s = time.monotonic() - self.watch.started
            self.finish()

    async def deadline(self) -> None:
        await asyncio.sleep(self.wait)
        self.finish()

    def finish(self) -> None:
        if self.watch.judged:
            return
        self.watch.judged = True
        seen = self.watch.seen
        seen.watched_s = round(min(time.monotonic() - self.watch.started, self.wait), 1)
        connection = self.connection
        connection.behaviour, connection.frame_ok, connection.how = judge(self.fault, seen)
        self.report(connection)
