"""A scripted malicious server on 127.0.0.1, for tests of what wsaccept does with hostile peers.

A real server is the only honest way to test `wsaccept probe` against a peer that lies, stalls
or floods: the probe's deadline, its read limits and its escaping all act on bytes that come off
a socket. Each connection gets a *behaviour*, a function that is handed the connection once the
request has arrived and does whatever a bad server would do: send fixed bytes, drip them, send a
head that never ends, echo the request, and so on. The server records every request it received,
so a test can check what the probe sent (and, with `echo_request`, what the probe prints of it).

    from tests.hostile_server import HostileServer, drip, fixed

    with HostileServer(drip(b"HTTP/1.1 101 Switching Protocols\\r\\n", 0.05)) as server:
        run_script(["probe", "--timeout", "1", server.url()])

    with HostileServer(fixed(ESCAPES_RESPONSE)) as server:
        ...

Behaviours are plain functions of a `Peer`; the ready-made ones below cover the usual attacks,
and a test can write its own. The server stops when the `with` block ends: it closes every
connection it accepted, so a behaviour stuck in a send or a sleep ends too (its socket errors are
swallowed: a client that hangs up is what these servers expect).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType

from tests.helpers import accept_of, hold_and_answer_close

HEAD_END = b"\r\n\r\n"
REQUEST_LIMIT = 1024 * 1024  # a request head longer than this is taken as it is


class Peer:
    """One accepted connection, as a behaviour sees it: the socket and the request read from it."""

    def __init__(self, connection: socket.socket, request: bytes, stop: threading.Event) -> None:
        self.connection = connection
        self.request = request
        self.stop = stop

    @property
    def key(self) -> bytes:
        """The request's Sec-WebSocket-Key, or b"" when it has none."""
        for line in self.request.split(b"\r\n"):
            name, colon, value = line.partition(b":")
            if colon and name.strip().lower() == b"sec-websocket-key":
                return value.strip()
        return b""

    @property
    def accept(self) -> bytes:
        """The right Sec-WebSocket-Accept for the request's key."""
        return accept_of(self.key)

    def send(self, data: bytes) -> None:
        self.connection.sendall(data)

    def drip(self, data: bytes, interval: float, size: int = 1) -> None:
        """Send `data` `size` bytes at a time, `interval` seconds apart, until done or stopped."""
        for start in range(0, len(data), size):
            if self.stop.is_set():
                return
            self.connection.sendall(data[start : start + size])
            time.sleep(interval)

    def hold(self, seconds: float) -> None:
        """Keep the connection open, sending nothing, for `seconds` or until the server stops;
        a Close frame from the client is answered with one and ends the hold (the attacks here
        are on the head: the closing handshake after it is a polite one)."""
        hold_and_answer_close(self.connection, seconds, self.stop)


Behaviour = Callable[[Peer], None]


class HostileServer:
    """A threaded TCP server on 127.0.0.1 (a free port) answering each connection with
    `behaviour`; a context manager that starts it and stops it.

    `read_request=False` hands the connection over before anything is read, for behaviours that
    answer at once or never read at all."""

    def __init__(self, behaviour: Behaviour, *, read_request: bool = True) -> None:
        self.behaviour = behaviour
        self.read_request = read_request
        self.requests: list[bytes] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._connections: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    def url(self, path: str = "/", scheme: str = "ws") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> HostileServer:
        self._acceptor.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting, end every connection (which ends its behaviour), wait for them."""
        self._stop.set()
        self._acceptor.join(timeout=5)
        self._listener.close()
        with self._lock:
            connections, threads = list(self._connections), list(self._threads)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout=5)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            with self._lock:
                self._connections.append(connection)
                self._threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            try:
                request = read_head(connection) if self.read_request else b""
                with self._lock:
                    self.requests.append(request)
                self.behaviour(Peer(connection, request, self._stop))
            except OSError:
                pass  # the client hung up, or the server is stopping: both expected
            except Exception as error:  # a broken behaviour: keep it for the test to see
                self.errors.append(error)


def read_head(connection: socket.socket, timeout: float = 5) -> bytes:
    """What the client sent up to the end of its head (or REQUEST_LIMIT bytes, or a close)."""
    connection.settimeout(timeout)
    data = b""
    while HEAD_END not in data and len(data) < REQUEST_LIMIT:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    connection.settimeout(None)
    return data


def upgrade_head(accept: bytes, *extra: bytes) -> bytes:
    """A 101 response head with `accept` and `extra` header lines, CR LF endings."""
    lines = [
        b"HTTP/1.1 101 Switching Protocols",
        b"Upgrade: websocket",
        b"Connection: Upgrade",
        b"Sec-WebSocket-Accept: " + accept,
        *extra,
    ]
    return b"\r\n".join(lines) + HEAD_END


# Behaviours. Each returns a function of a Peer; arguments that are callables are given the
# request, so a response can answer the key it was sent.

Response = bytes | Callable[[Peer], bytes]


def _bytes(response: Response, peer: Peer) -> bytes:
    return response(peer) if callable(response) else response


def fixed(response: Response, *, hold: float = 0.3) -> Behaviour:
    """Send `response` at once, then keep the connection open for `hold` seconds."""

    def behave(peer: Peer) -> None:
        peer.send(_bytes(response, peer))
        peer.hold(hold)

    return behave


def drip(response: Response, interval: float, *, size: int = 1, then: bytes = b"") -> Behaviour:
    """Send `response` `size` bytes every `interval` seconds (a slowloris server), then `then`
    the same way, for ever if `then` is long enough."""

    def behave(peer: Peer) -> None:
        peer.drip(_bytes(response, peer), interval, size)
        peer.drip(then, interval, size)

    return behave


def answer_then_drip(
    response: Response, interval: float, *, size: int = 1, total: int = 1 << 30
) -> Behaviour:
    """Send `response` at once, then drip `total` bytes of b"x" after it: a body or frame data
    that keeps coming slowly, which tempts a client to wait for just one more piece."""

    def behave(peer: Peer) -> None:
        peer.send(_bytes(response, peer))
        sent = 0
        while sent < total and not peer.stop.is_set():
            peer.send(b"x" * size)
            sent += size
            time.sleep(interval)

    return behave


def endless_head(status: bytes = b"HTTP/1.1 101 Switching Protocols\r\n") -> Behaviour:
    """A status line, then header bytes without end (one long header line), as fast as taken."""

    def behave(peer: Peer) -> None:
        peer.send(status + b"X-Filler: ")
        chunk = b"a" * 4096
        while not peer.stop.is_set():
            peer.send(chunk)

    return behave


def many_headers(count: int, header: bytes = b"X: a", *, status: bytes = b"") -> Behaviour:
    """A head of `count` short header lines (a 101 with the right accept unless `status` is
    given), sent in one go: a limit that counts recv() calls or lines alone misses it."""

    def behave(peer: Peer) -> None:
        first = status or upgrade_head(peer.accept)[: -len(b"\r\n")]
        peer.send(first + (header + b"\r\n") * count + b"\r\n")
        peer.hold(0.5)

    return behave


def quadratic_header(length: int, *, lines: int = 1) -> Behaviour:
    """A 101 whose head has `lines` header lines shaped for backtracking parsers: a value of
    `length` spaces between two letters (which a regex like `(.*?)[ \\t]*$` matches in time
    quadratic in `length`)."""

    def behave(peer: Peer) -> None:
        line = b"X-Spaces: a" + b" " * length + b"b\r\n"
        peer.send(upgrade_head(peer.accept)[: -len(b"\r\n")] + line * lines + b"\r\n")
        peer.hold(0.5)

    return behave


def echo_request(status: bytes = b"HTTP/1.1 400 Bad Request") -> Behaviour:
    """A refusal whose body is the request as received, byte for byte: whatever secret the
    client sent comes back in the body, where a printer of the body must redact it too."""

    def behave(peer: Peer) -> None:
        body = peer.request
        head = status + b"\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body)
        peer.send(head + body)
        peer.hold(0.3)

    return behave


def set_cookie(*cookies: bytes) -> Behaviour:
    """A valid 101 that sets `cookies` (Set-Cookie lines), for tests of what is shown of them."""

    def behave(peer: Peer) -> None:
        extra = [b"Set-Cookie: " + cookie for cookie in cookies]
        peer.send(upgrade_head(peer.accept, *extra))
        peer.hold(0.3)

    return behave


# Terminal escape sequences in every part of a response that wsaccept prints: the status reason,
# header names and values, the versions of a 426, extension names, and the body. A printer that
# passes them through lets a server clear the screen, set the title or hide text.
ESC = b"\x1b"
ESCAPES = ESC + b"[2J" + ESC + b"]0;pwned\x07" + ESC + b"[31m"
ESCAPES_426 = (
    b"HTTP/1.1 426 Upgrade " + ESCAPES + b"Required\r\n"
    b"Sec-WebSocket-Version: 13, " + ESCAPES + b"8\r\n"
    b"X-" + ESC + b"[1mName: value " + ESCAPES + b"\r\n"
    b"Content-Length: 24\r\n"
    b"\r\n"
    b"body " + ESCAPES + b"\r\n"
)


def escapes_101(peer: Peer) -> bytes:
    """A 101 with the right accept whose reason, extension and subprotocol carry escapes."""
    return upgrade_head(
        peer.accept,
        b"Sec-WebSocket-Extensions: permessage-" + ESCAPES + b"deflate",
        b"Sec-WebSocket-Protocol: chat" + ESCAPES,
        b"X-" + ESC + b"[1mName: " + ESCAPES,
    ).replace(b"Switching Protocols", b"Switching " + ESCAPES + b"Protocols")


@contextlib.contextmanager
def hostile_server(behaviour: Behaviour, *, read_request: bool = True) -> Iterator[HostileServer]:
    """`HostileServer` as a generator context manager, for `contextlib.ExitStack` users."""
    with HostileServer(behaviour, read_request=read_request) as server:
        yield server
