"""HTTP/2 WebSocket servers for the `probe --http2` tests, on 127.0.0.1 with a port the OS picks.

- `hypercorn_server`: Hypercorn, a real ASGI server that speaks RFC 8441, serving a small
  WebSocket application over TLS (trustme certificates) or over cleartext (h2c, prior knowledge).
  The application records the close code each client sent.
- `h2_server`: a deliberately faulty server written with the `h2` package, whose SETTINGS and
  answer to the extended CONNECT a test chooses. It also answers an HTTP/1.1 handshake with a
  valid 101, so `probe --compare` sees a server that works over HTTP/1.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
import trustme
from hypercorn.asyncio import serve
from hypercorn.config import Config

from tests.helpers import accept_of, key_of, socket_server

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
RequestHeaders = list[tuple[bytes, bytes]]
Answer = Callable[[h2.connection.H2Connection, int, RequestHeaders], None]


class WebSocketApp:
    """An ASGI WebSocket application: accepts with the first subprotocol offered (or
    `subprotocol`), echoes messages, records how each client closed. /refuse closes before
    accepting, which Hypercorn answers with 403."""

    def __init__(self) -> None:
        self.close_codes: list[int | None] = []
        self.versions: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "websocket":
            return
        await receive()  # websocket.connect
        self.versions.append(scope["http_version"])
        if scope["path"] == "/refuse":
            await send({"type": "websocket.close", "code": 1008})
            return
        offered = scope.get("subprotocols") or []
        await send({"type": "websocket.accept", "subprotocol": offered[0] if offered else None})
        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                self.close_codes.append(event.get("code"))
                return
            await send({"type": "websocket.send", "text": event.get("text"), "bytes": None})


@contextmanager
def hypercorn_server(
    app: WebSocketApp, ca: trustme.CA | None = None, tmp: Path | None = None
) -> Iterator[int]:
    """Hypercorn serving `app` on a free loopback port: TLS with a certificate of `ca` for
    localhost and 127.0.0.1 when `ca` is given (ALPN h2 and http/1.1), cleartext otherwise."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{listener.detach()}"]  # Hypercorn owns and closes it
    config.errorlog = None  # no "Running on" lines in the test output
    config.graceful_timeout = 1
    if ca is not None and tmp is not None:
        certificate = ca.issue_cert("localhost", "127.0.0.1")
        config.certfile = str(tmp / "server.pem")
        config.keyfile = str(tmp / "server.key")
        certificate.cert_chain_pems[0].write_to_path(config.certfile)
        certificate.private_key_pem.write_to_path(config.keyfile)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def serve_until_stopped() -> None:
        await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    thread = threading.Thread(target=loop.run_until_complete, args=(serve_until_stopped(),))
    thread.start()
    try:
        yield port
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
        loop.close()


def _answer_http1(connection: socket.socket, data: bytes) -> None:
    """A valid 101 to an HTTP/1.1 handshake, then wait for the client to close."""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return
        data += chunk
    connection.sendall(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept_of(key_of(data)) + b"\r\n\r\n"
    )
    while chunk := connection.recv(65536):
        if chunk[:1] == b"\x88":  # the client's Close: echo one
            connection.sendall(b"\x88\x02\x03\xe8")
            return


def h2_behaviour(
    enable: int | None,
    answer: Answer | None,
    recorder: StreamRecorder | None = None,
    reset_stream_on_data: int | None = None,
    second: SecondSettings | None = None,
) -> Callable[[socket.socket], None]:
    """A connection handler: HTTP/2 with SETTINGS_ENABLE_CONNECT_PROTOCOL = `enable` (None:
    absent) and `answer` to each request (None: never answer), or HTTP/1.1 with a 101. The
    client's Close frame is echoed, or answered with RST_STREAM `reset_stream_on_data`. With
    `second`, a second SETTINGS frame follows the first (see SecondSettings)."""

    def behave(connection: socket.socket) -> None:
        connection.settimeout(10)
        data = connection.recv(65536)
        while PREFACE.startswith(data) and len(data) < len(PREFACE):
            data += connection.recv(65536)
        if not data.startswith(PREFACE):
            _answer_http1(connection, data)
            return
        config = h2.config.H2Configuration(
            client_side=False, header_encoding=None, validate_inbound_headers=False
        )
        server = h2.connection.H2Connection(config)
        setting = h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL
        if enable is None:  # h2 sends every setting it knows, this one as 0, unless deleted
            del server.local_settings[setting]
        else:
            server.local_settings = h2.settings.Settings(
                client=False, initial_values={setting: enable}
            )
        server.initiate_connection()
        connection.sendall(server.data_to_send())
        if second is not None and second.when != "after-ack":
            if second.when == "apart":  # its own TCP segment, a moment later
                time.sleep(0.05)
            server.update_settings(second.settings())
            connection.sendall(server.data_to_send())
        late = second if second is not None and second.when == "after-ack" else None
        while data:
            for event in server.receive_data(data):
                if isinstance(event, h2.events.RemoteSettingsChanged) and late is not None:
                    acknowledgement = server.data_to_send()  # of the client's SETTINGS
                    server.update_settings(late.settings())
                    connection.sendall(acknowledgement + server.data_to_send())  # ACK first
                    late = None
                elif isinstance(event, h2.events.RequestReceived) and answer is not None:
                    answer(server, event.stream_id, list(event.headers))
                elif isinstance(event, h2.events.DataReceived):
                    if recorder is not None:
                        recorder.data += event.data
                        recorder.streams.add(event.stream_id)
                    # the client's Close: echo one, end the stream
                    with contextlib.suppress(h2.exceptions.ProtocolError):
                        if reset_stream_on_data is not None:
                            server.reset_stream(event.stream_id, reset_stream_on_data)
                        else:
                            echo = b"\x88\x02\x03\xe8"
                            server.send_data(event.stream_id, echo, end_stream=True)
                elif isinstance(event, h2.events.StreamEnded) and recorder is not None:
                    recorder.ended.set()
            connection.sendall(server.data_to_send())
            data = connection.recv(65536)

    return behave


@dataclass
class SecondSettings:
    """A second SETTINGS frame with SETTINGS_ENABLE_CONNECT_PROTOCOL = `enable` (None: a frame
    without it), sent `when`: "together" with the first (one write), "apart" (its own write, a
    moment later), both in the server's first flight; or "after-ack", after the server has
    acknowledged the client's SETTINGS (no longer its first flight)."""

    enable: int | None
    when: str = "together"

    def settings(self) -> dict[int, int]:
        if self.enable is None:
            return {h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100}
        return {h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: self.enable}


@contextmanager
def h2_server(
    enable: int | None = 1,
    answer: Answer | None = None,
    recorder: StreamRecorder | None = None,
    second: SecondSettings | None = None,
) -> Iterator[int]:
    with socket_server(h2_behaviour(enable, answer, recorder, second=second)) as port:
        yield port


class StreamRecorder:
    """What the client sent on its streams after the answer: DATA bytes and whether it ended."""

    def __init__(self) -> None:
        self.data = b""
        self.streams: set[int] = set()  # the streams DATA came on
        self.ended = threading.Event()


def respond(status: bytes, *headers: tuple[bytes, bytes], body: bytes = b"") -> Answer:
    def answer(server: h2.connection.H2Connection, stream: int, _: RequestHeaders) -> None:
        # A 2xx opens the WebSocket: the stream stays open for its frames.
        ended = not body and not status.startswith(b"2")
        server.send_headers(stream, [(b":status", status), *headers], end_stream=ended)
        if body:
            server.send_data(stream, body, end_stream=True)

    return answer


def reset(code: int) -> Answer:
    def answer(server: h2.connection.H2Connection, stream: int, _: RequestHeaders) -> None:
        server.reset_stream(stream, code)

    return answer


def goaway(code: int, debug: bytes) -> Answer:
    def answer(server: h2.connection.H2Connection, stream: int, _: RequestHeaders) -> None:
        server.close_connection(code, additional_data=debug, last_stream_id=0)

    return answer


@contextmanager
def tls_server(
    ca: trustme.CA, behave: Callable[[socket.socket], None], alpn: list[str]
) -> Iterator[int]:
    """A TLS server offering `alpn`, running `behave` on each connection once TLS is up."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    context.set_alpn_protocols(alpn)

    def wrapped(connection: socket.socket) -> None:
        connection.settimeout(10)
        with context.wrap_socket(connection, server_side=True) as secure:
            behave(secure)

    with socket_server(wrapped) as port:
        yield port


def drain(connection: socket.socket) -> None:
    """Read until the client closes."""
    while connection.recv(65536):
        pass
