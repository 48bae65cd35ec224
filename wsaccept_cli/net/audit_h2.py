"""The HTTP/2 side of `wsaccept audit --http2`: one case's header list sent as the HEADERS of
stream 1 on a connection of its own (ALPN h2 over TLS for wss://, prior knowledge over
cleartext for ws://), after the server's SETTINGS, and what came back recorded in the
Observed: the status and headers, a stream reset, a GOAWAY, or the connection's end.

The `h2` package frames it (imported here, so only --http2 loads it), with its checks of what
we send turned off: the malformed requests are the point. Network code only; every wait is
bounded by the case's deadline.
"""

from __future__ import annotations

import socket
import ssl
import time
from typing import Any

from wsaccept_cli.core.audit.model import Observed, Request
from wsaccept_cli.core.outcomes import ProbeOutcome
from wsaccept_cli.core.request import RequestTarget
from wsaccept_cli.core.rules_h2 import ENABLE_CONNECT_PROTOCOL
from wsaccept_cli.net.connect import Connected, Deadline, ProbeError, Route, open_connection

STREAM = 1
RECV_SIZE = 16 * 1024
FIRST_FLIGHT_WAIT = 0.5  # for the setting in a later SETTINGS frame of the first flight
BODY_WAIT = 0.2
MAX_BODY = 4096
ERROR_NAMES = {0x1: "PROTOCOL_ERROR", 0x2: "INTERNAL_ERROR", 0x7: "REFUSED_STREAM",
               0x8: "CANCEL", 0xD: "HTTP_1_1_REQUIRED"}  # fmt: skip


def exchange_h2(
    request: Request, target: RequestTarget, route: Route, timeout: float, observed: Observed
) -> None:
    """Send the case's HEADERS and record the answer; ProbeError if no connection is made."""
    observed.http2 = True
    started = time.monotonic()
    deadline = Deadline(timeout)
    h2_route = Route(
        pins=route.pins, family=route.family, proxy=route.proxy, insecure=route.insecure,
        cacert=route.cacert, cert=route.cert, key=route.key, alpn=("h2",),
    )  # fmt: skip
    connection: socket.socket | None = None
    try:
        try:
            connection = open_connection(target, h2_route, deadline, Connected(), started)
        except TimeoutError:
            raise ProbeError(ProbeOutcome.TIMEOUT, f"no connection within {timeout:g} s") from None
        except (ssl.SSLError, OSError) as error:
            raise ProbeError(ProbeOutcome.CONNECT_FAILED, f"connection failed: {error}") from None
        _Stream(connection, request, observed, deadline).run()
    except TimeoutError:
        observed.ended = "open" if observed.answered else "timeout"
    except OSError as error:
        observed.ended = "closed"
        observed.error = observed.error or f"the connection broke: {error}"
    finally:
        if connection is not None:
            connection.close()
        observed.seconds = time.monotonic() - started


class _Stream:
    def __init__(
        self, connection: socket.socket, request: Request, observed: Observed, deadline: Deadline
    ) -> None:
        import h2.config
        import h2.connection

        self.socket = connection
        self.request = request
        self.observed = observed
        self.deadline = deadline
        config = h2.config.H2Configuration(
            client_side=True,
            header_encoding=None,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
            validate_inbound_headers=False,
        )
        self.h2 = h2.connection.H2Connection(config)
        self.settings: dict[int, int] | None = None
        self.done = False

    def run(self) -> None:
        observed = self.observed
        self.h2.initiate_connection()
        self.flush()
        self.pump(lambda: self.settings is not None, self.deadline.end)
        if self.settings is None:
            observed.error = observed.error or "no SETTINGS: the server does not speak HTTP/2"
            return
        if not self.enabled():
            self.pump(self.enabled, min(time.monotonic() + FIRST_FLIGHT_WAIT, self.deadline.end))
        observed.h2_enabled = self.enabled()
        if self.request.h2_unless_enabled and observed.h2_enabled:
            observed.h2_skipped = "not sent: the server enables the extended CONNECT"
            return
        if self.done:  # a GOAWAY, or the end of the connection, before our request
            ended = observed.error or "the connection ended"
            observed.h2_skipped = f"not sent: {ended} before the request"
            return
        headers = [
            (n.encode("latin-1"), v.encode("latin-1")) for n, v in self.request.h2_headers or []
        ]
        self.h2.send_headers(STREAM, headers)
        self.flush()
        self.pump(lambda: observed.status is not None or self.done, self.deadline.end)
        if observed.status is not None and not observed.upgraded:
            self.pump(lambda: self.done, min(time.monotonic() + BODY_WAIT, self.deadline.end))

    def enabled(self) -> bool:
        return (self.settings or {}).get(ENABLE_CONNECT_PROTOCOL) == 1

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data:
            self.socket.settimeout(self.deadline.left())
            self.socket.sendall(data)

    def pump(self, ready: Any, until: float) -> None:
        """Read until `ready()`, the stream or connection ends, or `until` (the deadline:
        TimeoutError; an earlier budget: quietly)."""
        import h2.exceptions

        while not ready() and not self.done:
            left = until - time.monotonic()
            if left <= 0:
                if until >= self.deadline.end:
                    raise TimeoutError
                return
            self.socket.settimeout(left)
            try:
                data = self.socket.recv(RECV_SIZE)
            except TimeoutError:
                if until >= self.deadline.end:
                    raise
                return
            except ConnectionResetError:
                self.observed.ended, self.done = "reset", True
                return
            if not data:
                self.observed.ended, self.done = "closed", True
                return
            try:
                events = self.h2.receive_data(data)
            except h2.exceptions.ProtocolError as error:
                self.observed.error = f"not HTTP/2: {error}"
                self.observed.ended, self.done = "closed", True
                return
            for event in events:
                self.handle(event)
            self.flush()

    def handle(self, event: Any) -> None:
        import h2.events

        observed = self.observed
        if isinstance(event, h2.events.RemoteSettingsChanged):
            changed = {int(code): c.new_value for code, c in event.changed_settings.items()}
            self.settings = {**(self.settings or {}), **changed}
        elif isinstance(event, h2.events.ResponseReceived):
            headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in event.headers]
            status = dict(headers).get(":status", "")
            observed.status = int(status) if status.isdigit() else None
            observed.version = "HTTP/2"
            observed.headers = [(n, v) for n, v in headers if not n.startswith(":")]
        elif isinstance(event, h2.events.DataReceived):
            self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            observed.body = (observed.body + event.data)[:MAX_BODY]
        elif isinstance(event, h2.events.StreamEnded):
            self.done = True
        elif isinstance(event, h2.events.StreamReset):
            code = int(event.error_code)
            observed.error = f"RST_STREAM {ERROR_NAMES.get(code, hex(code))}"
            observed.ended, self.done = "reset", True
        elif isinstance(event, h2.events.ConnectionTerminated):
            code = int(event.error_code) if event.error_code is not None else 0
            observed.error = f"GOAWAY {ERROR_NAMES.get(code, hex(code))}"
            observed.ended, self.done = "reset", True
