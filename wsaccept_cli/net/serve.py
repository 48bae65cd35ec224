"""`wsaccept serve`: a WebSocket server (asyncio) that answers each client with the correct
handshake or a deliberate fault, watches what the client does with the answer, and echoes;
or, with an upstream, a relay that checks both sides of each handshake and forwards the frames
byte for byte.

Network code only: each connection's ServedConnection is handed to a callback as soon as its
verdict is known (the ui renders it); nothing here prints. Every wait on a peer is bounded: the
request head by `head_timeout` and MAX_HEAD bytes, the client's verdict by `grace`, the
upstream's answer by `head_timeout`. After the handshake the frames are parsed by wsproto (a
small, well-kept sans-I/O library, imported when the first connection comes).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import re
import ssl
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wsaccept_cli.core.faults import Fault, answer_for, request_refusal
from wsaccept_cli.core.served import ACCEPTED, REFUSED, ServedConnection
from wsaccept_cli.core.wording import quoted
from wsaccept_cli.net.heads import (
    MAX_HEAD,
    READ_SIZE,
    HeadError,
    WrongProtocolError,
    parse_head,
    read_head,
    send,
)

if TYPE_CHECKING:
    from wsaccept_cli.core.request import RequestTarget

# Close codes a client sends when it fails the connection (RFC 6455 §7.4.1): protocol error,
# and an extension it needs that the server did not negotiate.
_REFUSING_CODES = {1002, 1010}
_DATA_OPCODES = {0, 1, 2}
_OPCODE_NAMES = {0: "a continuation frame", 1: "a text frame", 2: "a binary frame"}


class ServeOptions:
    """How the server answers and how long it waits."""

    def __init__(
        self,
        *,
        faults: tuple[Fault | None, ...] = (),  # None: the correct answer (--fault none)
        grace: float = 1.0,
        head_timeout: float = 10.0,
        tls: ssl.SSLContext | None = None,
        upstream: RequestTarget | None = None,
        upstream_tls: ssl.SSLContext | None = None,
        fault_by_path: bool = False,
    ) -> None:
        self.faults = faults
        self.grace = grace
        self.head_timeout = head_timeout
        self.tls = tls
        self.upstream = upstream
        self.upstream_tls = upstream_tls
        # The fault named by the last segment of the request's path (/accept-sha256): one page
        # can try every fault in turn (the tests' headless browser does).
        self.fault_by_path = fault_by_path
        self.notice: Callable[[str], None] = lambda text: None  # a line for stderr (the ui's)


def listen_address(text: str) -> tuple[str, int]:
    """HOST:PORT (an IPv6 host in brackets) taken apart; ValueError saying why it is not one."""
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit() or not host or int(port) > 65535:
        raise ValueError(f"{quoted(text)} is not HOST:PORT (e.g. 127.0.0.1:0, [::1]:8080)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{quoted(text)}: an IPv6 address goes in brackets, e.g. [::1]:{port}")
    if not _is_address(host) and _HOST_NAME.fullmatch(host) is None:
        hint = " (give its punycode form, or an address)" if not host.isascii() else ""
        raise ValueError(
            f"{quoted(text)}: {quoted(host)} is neither an IP address nor a host name{hint}"
        )
    return host, int(port)


# A host name to listen on: ASCII labels of letters, digits and hyphens (RFC 1123 §2.1).
_HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(?:\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")


def _is_address(host: str) -> bool:
    import ipaddress

    if not host.isascii():
        return False
    try:
        ipaddress.ip_address(host.partition("%")[0])  # an IPv6 zone (fe80::1%eth0) aside
    except ValueError:
        return False
    return True


def url_of(host: str, port: int, secure: bool) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{'wss' if secure else 'ws'}://{shown}:{port}/"


class Server:
    """The listening server; `on_result` gets each connection once its verdict is known."""

    def __init__(
        self, options: ServeOptions, on_result: Callable[[ServedConnection], None]
    ) -> None:
        self.options = options
        self.on_result = on_result
        self.fault: Fault | None = options.faults[0] if options.faults else None
        self.connections: list[ServedConnection] = []  # those of the current check run, if kept
        self.pending: set[asyncio.Task[Any]] = set()
        self.finished = asyncio.Event()  # set when a connection has ended (for --once)
        self._numbers = itertools.count(1)
        self._fault_cycle = itertools.cycle(options.faults)
        self.first: ServedConnection | None = None  # for --once
        self.recording = False  # keep every connection in `connections` (--check-client)
        self._server: asyncio.Server | None = None
        self.url = ""

    async def start(self, host: str, port: int) -> str:
        self._server = await asyncio.start_server(
            self._accept, host, port, ssl=self.options.tls, backlog=1024, limit=MAX_HEAD + 1
        )
        address = self._server.sockets[0].getsockname()
        self.url = url_of(host, address[1], self.options.tls is not None)
        return self.url

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self.pending):
            task.cancel()
        if self.pending:
            await asyncio.wait(self.pending, timeout=2)

    def _next_fault(self) -> Fault | None:
        """The fault for a new connection: --fault NAME given several times takes turns."""
        if len(self.options.faults) > 1:
            return next(self._fault_cycle)
        return self.fault

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._handle(reader, writer))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        shown = f"[{peer[0]}]:{peer[1]}" if ":" in peer[0] else f"{peer[0]}:{peer[1]}"
        connection = ServedConnection(next(self._numbers), shown)
        connection.fault = self._next_fault()
        self.first = self.first or connection
        if self.recording:  # not always: a server that runs for days must not keep them all
            self.connections.append(connection)
        try:
            scheme = "wss" if self.options.tls is not None else "ws"
            head, rest = await read_head(reader, self.options.head_timeout, scheme=scheme)
            connection.request_bytes = head
            connection.request = parse_head(head, "request")
            if connection.request is None:
                connection.error = "what came is no HTTP request"
                await send(writer, _bad_request(connection.error))
            elif self.options.upstream is not None:
                from wsaccept_cli.net.relay import relay

                upstream = (
                    self.options.upstream,
                    self.options.upstream_tls,
                    self.options.head_timeout,
                )
                grace = self.options.grace
                await relay(connection, reader, writer, rest, upstream, self._report, grace)
            else:
                await self._serve(connection, reader, writer, rest)
        except WrongProtocolError as error:
            connection.error = str(error)
            with contextlib.suppress(OSError):
                await send(writer, error.reply)
        except HeadError as error:
            connection.error = f"no request: {error}"
            if error.too_large:
                with contextlib.suppress(OSError):
                    await send(writer, _refusal(431, "Request Header Fields Too Large", str(error)))
        except (OSError, ssl.SSLError) as error:
            connection.error = connection.error or f"the connection broke: {error}"
        except Exception as error:  # pragma: no cover - a bug here must not end the server
            connection.error = f"wsaccept failed on this connection: {error!r}"
        finally:
            self._report(connection)
            writer.close()
            self.finished.set()

    def _report(self, connection: ServedConnection) -> None:
        if not connection.reported:
            connection.reported = True
            self.on_result(connection)

    async def _serve(
        self,
        connection: ServedConnection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        rest: bytes,
    ) -> None:
        request = connection.request
        assert request is not None
        refusal = request_refusal(request, connection.request_bytes)
        if refusal is not None:
            connection.response_bytes = refusal.to_bytes()
            connection.refused_request = (
                f"{refusal.status} {refusal.reason}: {refusal.body.strip()}"
            )
            self._report(connection)
            await send(writer, connection.response_bytes)
            return
        if self.options.fault_by_path:
            from wsaccept_cli.core.frame_faults import ALL_BY_NAME

            name = (request.target or "").partition("?")[0].rsplit("/", 1)[-1]
            connection.fault = ALL_BY_NAME.get(name)
        answer, connection.skipped = answer_for(request, connection.fault)
        connection.response_bytes = answer.to_bytes()
        fault = connection.fault
        if fault is not None and fault.stage == "frame" and connection.skipped is None:
            from wsaccept_cli.net.frames import serve_frame_fault

            grace = self.options.grace
            await serve_frame_fault(connection, reader, writer, rest, grace, self._report)
            return
        started = time.monotonic()
        await send(writer, connection.response_bytes)
        from wsproto.connection import Connection, ConnectionType

        socket = Connection(ConnectionType.SERVER)
        watch = Watch(socket, reader, writer)
        connection.behaviour, connection.how = await watch.verdict(rest, self.options.grace)
        connection.verdict_seconds = time.monotonic() - started
        self._report(connection)
        if connection.behaviour == ACCEPTED and not watch.ended:
            await watch.echo()


class Watch:
    """The frames of one served connection: the client's verdict, then the echo."""

    def __init__(self, socket: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.socket = socket
        self.reader = reader
        self.writer = writer
        self.ended = False

    async def verdict(self, rest: bytes, grace: float) -> tuple[str, str]:
        """ACCEPTED or REFUSED, and what the client did, from the first thing it did."""
        deadline = time.monotonic() + grace
        data = rest
        while True:
            if data:
                self.socket.receive_data(data)
                found = self._judge(data)
                if found is not None:
                    return found
            left = deadline - time.monotonic()
            try:
                data = await asyncio.wait_for(self.reader.read(READ_SIZE), max(left, 0))
            except (asyncio.TimeoutError, TimeoutError):
                return ACCEPTED, f"kept the connection open for {grace:g} s without a frame"
            except OSError:
                data = b""
            if not data:
                self.ended = True
                return REFUSED, "closed the connection without sending a frame"

    def _judge(self, data: bytes) -> tuple[str, str] | None:
        from wsproto.connection import ConnectionState
        from wsproto.events import CloseConnection, Message, Ping, Pong

        for event in self.socket.events():
            if isinstance(event, Message):
                kind = "a text frame" if isinstance(event.data, str) else "a binary frame"
                self._echo_event(event)
                return ACCEPTED, f"sent {kind}"
            if isinstance(event, (Ping, Pong)):
                self._echo_event(event)
                return ACCEPTED, f"sent a {type(event).__name__.lower()} frame"
            if isinstance(event, CloseConnection):
                self.ended = True
                if self.socket.state is not ConnectionState.REMOTE_CLOSING:  # a parse failure
                    opcode = data[0] & 0x0F
                    if opcode in _DATA_OPCODES:
                        return ACCEPTED, f"sent {_OPCODE_NAMES[opcode]} ({event.reason})"
                    return REFUSED, "sent bytes that are not a WebSocket frame"
                self._write(self.socket.send(event.response()))
                if event.code in _REFUSING_CODES:
                    return REFUSED, f"failed the connection with a Close frame, code {event.code}"
                return ACCEPTED, f"sent a Close frame (code {event.code}) before any data"
        return None

    def _write(self, data: bytes) -> None:
        if data and not self.writer.is_closing():
            self.writer.write(data)

    def _echo_event(self, event: Any) -> None:
        from wsproto.events import CloseConnection, Message, Ping

        if isinstance(event, Message):
            self._write(
                self.socket.send(type(event)(event.data, message_finished=event.message_finished))
            )
        elif isinstance(event, Ping):
            self._write(self.socket.send(event.response()))
        elif isinstance(event, CloseConnection) and not self.ended:
            from wsproto.connection import ConnectionState

            self.ended = True
            if self.socket.state is ConnectionState.REMOTE_CLOSING:
                self._write(self.socket.send(event.response()))
            else:  # a frame wsproto could not parse: close with its code
                self._write(self.socket.send(CloseConnection(event.code, event.reason)))

    async def echo(self) -> None:
        """Echo messages, answer pings, answer a Close with a Close, until the client goes."""
        while not self.ended:
            for event in self.socket.events():
                self._echo_event(event)
            if self.ended:
                break
            await self.writer.drain()
            data = await self.reader.read(READ_SIZE)
            if not data:
                break
            self.socket.receive_data(data)
        await _drain(self.writer)


async def _drain(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        await writer.drain()


def _bad_request(reason: str) -> bytes:
    return _refusal(400, "Bad Request", reason)


def _refusal(status: int, phrase: str, reason: str) -> bytes:
    """A refusal with a text body, UTF-8 and said to be (its length counted in bytes)."""
    body = f"{reason}\n".encode()
    head = (
        f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def server_tls(cert: str, key: str) -> ssl.SSLContext:
    """A TLS context for wss:// from a certificate chain and its key (PEM files)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["http/1.1"])
    return context


class _OutOfResources:
    """The event loop's handler of errors no task caught. asyncio meets a full file descriptor
    table (EMFILE, ENFILE) at accept() by pausing accepts for a second and calling this, which
    by default logs a traceback each time: a flood, under load. It becomes one line, at most
    once a second; the open connections go on and accepts resume as descriptors free up."""

    ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})

    def __init__(self, notice: Callable[[str], None]) -> None:
        self.notice = notice
        self.said = -1.0
        self.closed = False  # the server is closing: a retry of accept() on its closed socket

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if self.closed and isinstance(error, (OSError, ValueError)):  # -1: its fd is gone
            return  # nothing to say of a socket closed on purpose
        if not isinstance(error, OSError) or error.errno not in self.ERRNOS:
            loop.default_exception_handler(context)
            return
        now = time.monotonic()
        if now - self.said >= 1.0:
            self.said = now
            what = "file descriptors" if error.errno in (errno.EMFILE, errno.ENFILE) else "memory"
            code = errno.errorcode.get(error.errno or 0, "?")
            self.notice(
                f"out of {what} ({code}: {error.strerror}): new connections wait until some"
                " close (ulimit -n raises the limit); the open ones go on"
            )


async def run_server(
    host: str,
    port: int,
    options: ServeOptions,
    on_listening: Callable[[str], None],
    on_result: Callable[[ServedConnection], None],
    *,
    once: bool = False,
) -> ServedConnection | None:
    """Serve until cancelled (Ctrl-C), or with `once` until the first connection has ended;
    then the connection, for its verdict."""
    server = Server(options, on_result)
    handler = _OutOfResources(options.notice)
    asyncio.get_running_loop().set_exception_handler(handler)
    on_listening(await server.start(host, port))
    try:
        while True:
            await server.finished.wait()
            server.finished.clear()
            if once:
                return server.first
    finally:
        handler.closed = True
        await server.close()
