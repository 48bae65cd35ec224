"""The live probe over HTTP/2: one WebSocket opening handshake by extended CONNECT (RFC 8441).

Network code only, like `probe`, whose connection, TLS and deadline code it uses: it returns what
happened and never prints. For wss:// it offers ALPN h2 and http/1.1 (a server that picks
http/1.1 ends the probe with that finding); for ws:// it speaks HTTP/2 over cleartext with prior
knowledge (RFC 9113 §3.3). It reads the server's SETTINGS (every frame of its first flight) and
sends the extended CONNECT only when they set SETTINGS_ENABLE_CONNECT_PROTOCOL to 1 (RFC 8441 §3),
reads the response head, and after a 2xx
sends a Close frame on the stream and ends it; after a refusal it reads a little of the body.
The framing is the `h2` package's (imported here, so only HTTP/2 probes load it).

Every wait is bounded by the one deadline; which phase it ran out in (settings, response) is
kept, so a timeout says what the server did not send. The waits for a refusal's body and for the
echo of our Close frame have the small budgets of `probe`.
"""

from __future__ import annotations

import os
import socket
import ssl
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wsaccept_cli.core.handshake import Handshake, Message
from wsaccept_cli.core.outcomes import ProbeOutcome
from wsaccept_cli.core.request_h2 import Headers, extended_connect_headers, headers_text
from wsaccept_cli.core.rules import FAIL, Finding, HandshakeReport, verdict
from wsaccept_cli.core.rules_h2 import (
    ENABLE_CONNECT_PROTOCOL,
    alpn_finding,
    close_reset_finding,
    ended_at_once_finding,
    extended_connect_findings,
    goaway_finding,
    settings_by_name,
    settings_finding,
    stream_reset_finding,
)
from wsaccept_cli.core.secrets import redact_exchange
from wsaccept_cli.core.wording import quoted
from wsaccept_cli.net.connect import Deadline, ProbeError, Route, open_connection, tls_failure
from wsaccept_cli.net.connect import ms as _ms
from wsaccept_cli.net.connect import send_all as _send_all
from wsaccept_cli.net.probe import (
    BODY_WAIT,
    CLOSE_WAIT,
    MAX_BODY,
    RECV_SIZE,
    ProbeResult,
    _budget,
    outcome,
)

if TYPE_CHECKING:
    from wsaccept_cli.core.request import RequestTarget

STREAM = 1  # the one stream a probe opens
SOURCE = "probe over HTTP/2"
# Where each phase's timeout is explained: what the server should have sent by then.
PHASE_SECTIONS = {"settings": "RFC 9113 §3.4", "response": "RFC 8441 §5"}
# RFC 8441 §3 asks only that the setting is received before the extended CONNECT is sent, so it
# may come in a later SETTINGS frame of the server's first flight: everything the server sends
# before it acknowledges our SETTINGS (it reads our preface first), waited for this long at most
# after its first SETTINGS. Chromium takes the setting from any SETTINGS frame, a 0 after a 1
# being a protocol error (net/spdy/spdy_session.cc, SpdySession::HandleSetting).
FIRST_FLIGHT_WAIT = 0.5
PHASE_WAITS = {"tls": "the TLS handshake", "settings": "the server's SETTINGS",
               "response": "the response"}  # fmt: skip


class H2ProbeResult(ProbeResult):
    """What an HTTP/2 probe saw, besides what every probe sees. `request` stays empty until the
    extended CONNECT is sent: a server that does not enable it never gets one."""

    def __init__(self, url: str, headers: Headers) -> None:
        super().__init__(url, b"")
        self.headers = headers
        self.phase = "connect"  # connect, tls, settings, response, close
        self.alpn: str | None = None  # what TLS ALPN chose; None over cleartext
        self.settings: dict[int, int] | None = None  # the server's SETTINGS, first flight
        self.settings_acknowledged = False  # the server acknowledged ours
        self.response_headers: list[tuple[str, str]] | None = None
        self.ended = False  # the server ended the stream (END_STREAM)
        self.ended_at_once = False  # ... with the HEADERS of its answer
        self.echoed = False  # the server's Close frame came back on the stream
        self.failed_websocket = False  # the rules failed the 2xx: the stream was reset, no Close
        self.reset: int | None = None  # RST_STREAM's error code
        self.goaway: tuple[int, int | None, bytes] | None = None  # code, last stream, debug
        self.closed = False  # the server closed the TCP connection
        self.failure: Finding | None = None  # bytes that were not HTTP/2

    def over(self) -> bool:
        """Whether the server has ended the exchange one way or another. Any GOAWAY ends it:
        h2 takes no frame after one, even on a stream the GOAWAY lets finish."""
        return bool(self.closed or self.failure or self.goaway or self.reset is not None)


def run_h2_probe(
    target: RequestTarget,
    headers: Headers,
    *,
    timeout: float,
    route: Route | None = None,
    url: str = "",
) -> H2ProbeResult:
    """Connect (through the route's proxy and pins, with its TLS settings, offering ALPN h2),
    read SETTINGS, send the extended CONNECT, read the answer, close; never raises."""
    result = H2ProbeResult(url, headers)
    deadline = Deadline(timeout)
    started = time.monotonic()
    connection: socket.socket | None = None
    route = route or Route()
    route.alpn = ("h2", "http/1.1")
    told = route.progress

    def progress(event: str, detail: str) -> None:
        if event == "tls":  # a timeout from here on is the TLS handshake's
            result.phase = "tls"
        told(event, detail)

    route.progress = progress
    try:
        connection = open_connection(target, route, deadline, result, started)
        if isinstance(connection, ssl.SSLSocket):
            result.alpn = connection.selected_alpn_protocol() or ""
            if result.alpn != "h2":
                return result
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # frames go out at once
        _Session(connection, result, deadline).exchange()
    except ProbeError as error:
        result.error = error
    except TimeoutError:
        result.error = ProbeError(ProbeOutcome.TIMEOUT, _timeout_message(result, timeout))
    except ssl.SSLError as error:
        result.error = ProbeError(ProbeOutcome.TLS_FAILED, tls_failure(error, route))
    except OSError as error:
        reason = error.strerror or str(error)
        outcome = ProbeOutcome.HANDSHAKE_FAILED
        if result.timings["connect_ms"] is None:
            outcome = ProbeOutcome.CONNECT_FAILED
            message = f"connection failed: {reason}"
        else:
            waited = PHASE_WAITS.get(result.phase, "the close")
            message = f"the connection broke while waiting for {waited}: {reason}"
        result.error = ProbeError(outcome, message)
    finally:
        if connection is not None:
            connection.close()
        result.timings["total_ms"] = _ms(time.monotonic() - started)
    return result


def _timeout_message(result: H2ProbeResult, timeout: float) -> str:
    limit = f"within {timeout:g} s"
    if result.phase == "connect":
        return f"no connection {limit}"
    if result.phase == "tls":
        return f"the TLS handshake did not finish {limit}"
    if result.phase == "settings":
        cleartext = (
            "; a server that does not speak HTTP/2 over cleartext may be waiting for an HTTP/1.1"
            " request"
            if result.alpn is None
            else ""
        )
        return (
            f"the server sent no SETTINGS {limit}: an HTTP/2 server's connection preface starts"
            f" with one{cleartext}"
        )
    return f"no response to the extended CONNECT {limit} (the server's SETTINGS enabled it)"


class _Session:
    """One HTTP/2 connection, driven step by step: what is sent goes out at once, what comes
    in is handed to h2 and its events recorded in the result."""

    def __init__(self, connection: socket.socket, result: H2ProbeResult, deadline: Deadline):
        import h2.config
        import h2.connection
        import h2.settings

        self.socket = connection
        self.result = result
        self.deadline = deadline
        # Inbound headers are not validated by h2: a malformed response is the rules' to judge.
        config = h2.config.H2Configuration(
            client_side=True, header_encoding=None, validate_inbound_headers=False
        )
        self.h2 = h2.connection.H2Connection(config)
        # No server push, as browsers ask (RFC 9113 §6.5.2): a probe has no use for it.
        self.h2.local_settings = h2.settings.Settings(
            client=True, initial_values={h2.settings.SettingCodes.ENABLE_PUSH: 0}
        )
        self.first_bytes = True
        self.sent = 0.0  # when the extended CONNECT went out

    def exchange(self) -> None:
        result = self.result
        result.phase = "settings"
        self.h2.initiate_connection()
        self.flush()
        self.pump(lambda: result.settings is not None or result.over())
        if result.settings is None or result.over():
            return
        if not self.enabled():  # perhaps in a later SETTINGS frame of the first flight
            self.pump(
                lambda: self.enabled() or result.settings_acknowledged or result.over(),
                until=_budget(FIRST_FLIGHT_WAIT, self.deadline),
            )
            if result.over():
                return
        if not self.enabled():
            self.goodbye()
            return
        result.phase = "response"
        self.h2.send_headers(STREAM, result.headers)
        self.flush()
        result.request = headers_text(result.headers)
        self.sent = time.monotonic()
        self.pump(lambda: result.response_headers is not None or result.over())
        if result.response_headers is None:
            return
        result.phase = "close"
        if _accepted(result.response_headers) and self.rules_fail():
            self.fail_websocket()
        elif _accepted(result.response_headers):
            self.close_websocket()
        else:
            self.pump(
                lambda: result.ended or result.over() or len(result.body) >= MAX_BODY,
                until=_budget(BODY_WAIT, self.deadline),
            )
        self.goodbye()

    def enabled(self) -> bool:
        """Whether the server's SETTINGS so far enable the extended CONNECT."""
        return (self.result.settings or {}).get(ENABLE_CONNECT_PROTOCOL) == 1

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data:
            _send_all(self.socket, data, self.deadline)

    def pump(self, done: Callable[[], bool], until: float | None = None) -> None:
        """Read and handle what comes until `done`, the server closes, or the time is up: the
        deadline (TimeoutError), or `until` for a wait with a budget of its own (no error)."""
        while not done():
            if until is None:
                self.socket.settimeout(self.deadline.left())
            elif (left := until - time.monotonic()) > 0:
                self.socket.settimeout(left)
            else:
                return
            try:
                data = self.socket.recv(RECV_SIZE)
            except OSError:
                if until is None:
                    raise
                return
            if not data:
                self.result.closed = True
                return
            self.feed(data)

    def feed(self, data: bytes) -> None:
        import h2.exceptions

        first, self.first_bytes = self.first_bytes, False
        if first and data.startswith(b"HTTP/"):  # h2 would wait for the rest of a "frame"
            self.result.failure = _not_http2(data, self.result.alpn, None)
            return
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError as error:
            self.result.failure = _not_http2(data if first else b"", self.result.alpn, error)
            return
        for event in events:
            self.handle(event)
        self.flush()

    def handle(self, event: Any) -> None:
        import h2.events

        result = self.result
        first_flight = result.phase == "settings" and not result.settings_acknowledged
        if isinstance(event, h2.events.RemoteSettingsChanged) and first_flight:
            changed = {
                int(code): change.new_value for code, change in event.changed_settings.items()
            }
            result.settings = {**(result.settings or {}), **changed}
        elif isinstance(event, h2.events.SettingsAcknowledged):
            result.settings_acknowledged = True
        elif isinstance(event, h2.events.ResponseReceived):
            result.timings["first_byte_ms"] = _ms(time.monotonic() - self.sent)
            result.response_headers = [
                (name.decode("latin-1"), value.decode("latin-1")) for name, value in event.headers
            ]
            result.response = headers_text(result.response_headers)
            result.ended_at_once = bool(event.stream_ended)
        elif isinstance(event, h2.events.DataReceived):
            self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            if _accepted(result.response_headers or []):  # WebSocket frames: ours closing
                result.echoed = result.echoed or b"\x88" in event.data
            else:  # a refusal's body, which often says why
                result.body = (result.body + event.data)[:MAX_BODY]
        elif isinstance(event, h2.events.StreamEnded):
            result.ended = True
        elif isinstance(event, h2.events.StreamReset):
            result.reset = int(event.error_code)
        elif isinstance(event, h2.events.ConnectionTerminated):
            code = int(event.error_code) if event.error_code is not None else 0
            result.goaway = (code, event.last_stream_id, event.additional_data or b"")

    def rules_fail(self) -> bool:
        """Whether the RFC 8441 rules fail the 2xx: then the client fails the WebSocket
        connection (RFC 6455 §4.1), with no Close frame."""
        request = _message("request", self.result.headers)
        response = _message("response", self.result.response_headers or [])
        return verdict(list(extended_connect_findings(request, response))) == FAIL

    def fail_websocket(self) -> None:
        """Fail the WebSocket connection: over HTTP/2 its connection is the stream (RFC 8441
        §5), so the stream is reset (CANCEL), and no Close frame is sent."""
        import h2.errors
        import h2.exceptions

        self.result.failed_websocket = True
        try:
            self.h2.reset_stream(STREAM, h2.errors.ErrorCodes.CANCEL)
            self.flush()
        except (h2.exceptions.H2Error, OSError):
            pass

    def close_websocket(self) -> None:
        """A masked Close frame with code 1000 on the stream, which it ends (RFC 8441 §5: the
        stream is now the WebSocket's connection, RFC 6455 §5.5.1), and a short wait for the
        server's Close. One DATA frame carries both, so the stream is not written to after
        the server may have closed it (Hypercorn 0.18 fails on an END_STREAM coming then)."""
        import h2.exceptions

        mask = os.urandom(4)
        payload = (1000).to_bytes(2, "big")
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        result = self.result
        try:
            frame = bytes([0x88, 0x80 | len(payload)]) + mask + masked
            self.h2.send_data(STREAM, frame, end_stream=True)
            self.flush()
            self.pump(
                lambda: result.echoed or result.ended or result.over(),
                until=_budget(CLOSE_WAIT, self.deadline),
            )
        except (h2.exceptions.H2Error, OSError):
            pass

    def goodbye(self) -> None:
        """GOAWAY with NO_ERROR: the server sees a clean end of the connection."""
        import h2.exceptions

        try:
            self.h2.close_connection()
            self.flush()
        except (h2.exceptions.H2Error, OSError):
            pass


def _accepted(headers: list[tuple[str, str]]) -> bool:
    status = next((value for name, value in headers if name == ":status"), "")
    return len(status) == 3 and status.startswith("2")


def _not_http2(first: bytes, alpn: str | None, error: Exception | None) -> Finding:
    """The finding for bytes h2 refused: an HTTP/1.x answer to the connection preface, or a
    broken HTTP/2 peer."""
    if first.startswith(b"HTTP/"):
        line = first.split(b"\r\n", 1)[0][:100].decode("latin-1")
        if alpn is None:
            return Finding(
                "h2.prior_knowledge",
                FAIL,
                "RFC 9113 §3.3",
                f"the server answered the HTTP/2 connection preface with {quoted(line)}: it does"
                " not"
                " speak HTTP/2 over cleartext (prior knowledge); browsers use HTTP/2 only over"
                " TLS, so ws:// WebSockets stay on HTTP/1.1",
            )
        return Finding(
            "h2.protocol",
            FAIL,
            "RFC 9113 §3.2",
            f"the server chose h2 in ALPN but answered in HTTP/1.x ({quoted(line)})",
        )
    return Finding(
        "h2.protocol", FAIL, "RFC 9113 §5.4.1", f"the server broke the HTTP/2 protocol: {error}"
    )


def h2_probe_report(result: H2ProbeResult) -> HandshakeReport:
    """The RFC 8441 rules applied to what the probe sent and received, with what happened on
    the connection (ALPN, SETTINGS, a reset, a GOAWAY, a timeout) as findings of their own."""
    request = _message("request", result.headers) if result.request else None
    response = None
    if result.response_headers is not None:
        response = _message("response", result.response_headers)
        response.body = [line for line in result.body.decode("latin-1").splitlines() if line]
        response.body = response.body[:5]
    handshake = Handshake(request, response, SOURCE, result.url)
    findings: list[Finding] = []
    if result.alpn is not None:
        findings.append(alpn_finding(result.alpn))
    if result.settings is not None:
        findings.append(settings_finding(result.settings))
    if request is not None:
        findings += extended_connect_findings(request, response)
    findings += _transport_findings(result)
    return HandshakeReport(1, handshake, findings)


def _message(kind: str, headers: Headers) -> Message:
    message = Message(kind, None)
    for name, value in headers:
        message.add_header(name, value)
    if kind == "response":
        status = message.values(":status")
        if status and len(status[0]) == 3 and status[0].isdigit():
            message.status = int(status[0])
    message.version = "2"
    return message


def _transport_findings(result: H2ProbeResult) -> list[Finding]:
    if result.error is not None:
        section = PHASE_SECTIONS.get(result.phase, "-")
        return [Finding(result.error.outcome.label, FAIL, section, result.error.message)]
    if result.failure is not None:
        return [result.failure]
    if result.response_headers is not None:
        if not _accepted(result.response_headers):
            return []
        if result.ended_at_once:
            return [ended_at_once_finding()]
        if result.reset is not None and not result.echoed:
            return [close_reset_finding(result.reset)]
        return []
    if result.reset is not None:
        return [stream_reset_finding(result.reset)]
    if result.goaway is not None:
        return [goaway_finding(*result.goaway)]
    if result.closed:
        what = "SETTINGS" if result.settings is None else "an answer to the extended CONNECT"
        section = "RFC 9113 §3.4" if result.settings is None else "RFC 8441 §5"
        return [
            Finding(
                "response.closed", FAIL, section, f"the server closed the connection without {what}"
            )
        ]
    return []


class H2Probe:
    """An HTTP/2 probe as `probe` hands it on: the exchange as it may be printed (secrets
    redacted unless asked), the report, how it ended, and the server's SETTINGS by name."""

    def __init__(self, result: H2ProbeResult, target: RequestTarget, show_secrets: bool):
        self.report = h2_probe_report(result)
        self.exchange = (result.request, result.response)
        if not show_secrets:
            self.exchange = redact_exchange(target, result.request, result.response, self.report)
        self.outcome = outcome(result, self.report)
        self.address = result.address
        self.timings = result.timings
        self.settings = settings_by_name(result.settings) if result.settings is not None else None
        # what the connection layer recorded, as an HTTP/1.1 probe reports it
        self.extra = {"proxy": result.proxy, "pinned": result.pinned, "tls": result.tls}


def probe_over_http2(
    target: RequestTarget,
    http1_request: bytes,
    *,
    timeout: float,
    route: Route,
    url: str,
    show_secrets: bool,
) -> H2Probe:
    """`probe --http2`: the extended CONNECT made from the HTTP/1.1 request `probe` built (and
    checked), sent, and its answer judged."""
    headers = extended_connect_headers(target, http1_request)
    result = run_h2_probe(target, headers, timeout=timeout, route=route, url=url)
    return H2Probe(result, target, show_secrets)
