"""The live probe: one opening handshake with a real server, over TCP or TLS.

Network code only: it returns what happened (bytes sent and received, timings, how it ended) and
never prints. Every wait is bounded by one deadline, so a server that never answers, drips bytes
or sends an endless head ends the probe within the timeout; the waits after the head (for a
refusal's body, for the echo of our Close frame) have small budgets of their own, cut short by the
deadline too. The response head is read up to MAX_HEAD bytes exactly and a non-101 body up to
MAX_BODY, whatever the server sends, and the work done on them is linear in their size, so
checking what came takes milliseconds after the deadline at most.
"""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time

from wsaccept_cli.core.capture import parse_lines
from wsaccept_cli.core.handshake import Capture
from wsaccept_cli.core.outcomes import ProbeOutcome
from wsaccept_cli.core.request import RequestTarget
from wsaccept_cli.core.rules import FAIL, Finding, HandshakeReport, check_handshake

MAX_HEAD = 64 * 1024  # the response head, its blank line included
MAX_BODY = 4 * 1024
HEAD_END = b"\r\n\r\n"
RECV_SIZE = 16 * 1024
BODY_WAIT = 0.2  # for a refusal's body after its head, in all (not per piece)
CLOSE_WAIT = 0.5  # for the echo of our Close frame, in all


class ProbeError(Exception):
    """How a probe ended early: an outcome and a sentence."""

    def __init__(self, outcome: ProbeOutcome, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message


class ProbeResult:
    """Everything a probe saw. `outcome` is decided by the caller once the rules have run."""

    def __init__(self, url: str, request: bytes) -> None:
        self.url = url
        self.request = request
        self.response = b""
        self.body = b""
        self.address: str | None = None
        self.error: ProbeError | None = None
        self.head_complete = False
        self.head_cut = False
        self.timings: dict[str, float | None] = {
            "connect_ms": None,
            "tls_ms": None,
            "first_byte_ms": None,
            "total_ms": None,
        }


class Deadline:
    """One timeout for the whole probe, handed out as what is left of it."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left


def run_probe(
    target: RequestTarget,
    request: bytes,
    *,
    timeout: float,
    insecure: bool = False,
    cacert: str | None = None,
    url: str = "",
) -> ProbeResult:
    """Connect, send `request`, read the response head, close politely; never raises."""
    result = ProbeResult(url, request)
    deadline = Deadline(timeout)
    started = time.monotonic()
    connection: socket.socket | None = None
    try:
        connection = _connect(target, deadline, result, started)
        if target.secure:
            connection = _start_tls(connection, target, deadline, result, insecure, cacert)
        _send_all(connection, request, deadline)
        sent = time.monotonic()
        _read_head(connection, deadline, result, sent)
        if result.head_complete and not _is_upgrade(result.response):
            _read_body(connection, result, deadline)
        elif result.head_complete:
            _close_politely(connection, deadline)
    except ProbeError as error:
        result.error = error
    except TimeoutError:
        result.error = ProbeError(ProbeOutcome.TIMEOUT, _timeout_message(result, timeout))
    except ssl.SSLError as error:
        result.error = ProbeError(ProbeOutcome.TLS_FAILED, f"TLS failed: {error.reason or error}")
    except OSError as error:
        reason = error.strerror or str(error)
        if result.timings["connect_ms"] is None:
            result.error = ProbeError(ProbeOutcome.CONNECT_FAILED, f"connection failed: {reason}")
        else:  # connected, then the server reset or broke the connection
            got = f"after {len(result.response)} bytes of response" if result.response else ""
            result.error = ProbeError(
                ProbeOutcome.HANDSHAKE_FAILED,
                f"the connection broke {got or 'before any response'}: {reason}",
            )
    finally:
        if connection is not None:
            connection.close()
        result.timings["total_ms"] = _ms(time.monotonic() - started)
    return result


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _timeout_message(result: ProbeResult, timeout: float) -> str:
    if result.timings["connect_ms"] is None:
        return f"no connection within {timeout:g} s"
    if result.response:
        got = len(result.response)
        return f"the response head was not complete within {timeout:g} s ({got} bytes came)"
    return f"the server sent nothing within {timeout:g} s"


def _resolve(target: RequestTarget, deadline: Deadline) -> list[tuple[int, tuple[str, int]]]:
    """The addresses of the host, in the resolver's order, within the deadline.

    A host that is no DNS name (an empty label, one over 63 bytes: `host_problem`) fails here
    without a lookup, as a browser's does; one that the resolver's IDNA step refuses anyway
    (getaddrinfo raises UnicodeError, a ValueError, in its thread) fails the same way rather
    than as a traceback from the thread and a wait for the timeout."""
    if target.host_problem is not None:
        raise ProbeError(
            ProbeOutcome.CONNECT_FAILED, f"cannot resolve {target.host}: {target.host_problem}"
        )
    answer: list[object] = []

    def lookup() -> None:
        try:
            answer.append(socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM))
        except (OSError, ValueError) as error:  # ValueError: a name IDNA cannot encode
            answer.append(error)

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(deadline.left())
    if not answer:
        raise TimeoutError
    found = answer[0]
    if isinstance(found, OSError):
        reason = found.strerror if isinstance(found, socket.gaierror) else str(found)
        raise ProbeError(ProbeOutcome.CONNECT_FAILED, f"cannot resolve {target.host}: {reason}")
    if isinstance(found, ValueError):  # a label over 63 characters, an empty one, a bad character
        detail = str(found).rpartition("UnicodeError: ")[2].rstrip(")") or "not a host name"
        raise ProbeError(
            ProbeOutcome.CONNECT_FAILED,
            f"cannot resolve {_escaped(target.host)}: not a valid host name ({_escaped(detail)})",
        )
    assert isinstance(found, list)
    return [(family, address[:2]) for family, _, _, _, address in found]


def _connect(
    target: RequestTarget, deadline: Deadline, result: ProbeResult, started: float
) -> socket.socket:
    """A TCP connection to the first address that takes one, as clients try them in turn.

    Each address gets an equal share of the time left, so one that swallows packets does not
    use up the time of the ones after it."""
    failures = []
    addresses = _resolve(target, deadline)
    for index, (family, address) in enumerate(addresses):
        connection = socket.socket(family, socket.SOCK_STREAM)
        connection.settimeout(deadline.left() / (len(addresses) - index))
        try:
            connection.connect(address)
        except TimeoutError:
            connection.close()
            if index == len(addresses) - 1:
                raise
            failures.append(f"{_show_address(address)}: timed out")
            continue
        except OSError as error:
            connection.close()
            failures.append(f"{_show_address(address)}: {error.strerror or error}")
            continue
        result.address = _show_address(address)
        result.timings["connect_ms"] = _ms(time.monotonic() - started)
        return connection
    raise ProbeError(ProbeOutcome.CONNECT_FAILED, f"cannot connect to {'; '.join(failures)}")


def _escaped(text: str) -> str:
    """`text`, or when it holds something that cannot be printed (a lone surrogate from an
    undecodable argument, a control character) its escaped form, for a message about a name."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _show_address(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _start_tls(
    connection: socket.socket,
    target: RequestTarget,
    deadline: Deadline,
    result: ProbeResult,
    insecure: bool,
    cacert: str | None,
    alpn: tuple[str, ...] = ("http/1.1",),
) -> socket.socket:
    """TLS with SNI and certificate checks (unless --insecure); ALPN http/1.1 (or `alpn`)."""
    try:
        context = ssl.create_default_context(cafile=cacert)
    except (OSError, ssl.SSLError) as error:
        raise ProbeError(
            ProbeOutcome.TLS_FAILED, f"cannot load --cacert {cacert}: {error}"
        ) from None
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(list(alpn))
    began = time.monotonic()
    connection.settimeout(deadline.left())
    try:
        secure = context.wrap_socket(connection, server_hostname=target.host)
    except ssl.SSLCertVerificationError as error:
        raise ProbeError(
            ProbeOutcome.TLS_FAILED,
            f"the server's certificate was refused: {error.verify_message or error.reason}"
            " (--cacert FILE trusts a private CA; --insecure skips the check)",
        ) from None
    result.timings["tls_ms"] = _ms(time.monotonic() - began)
    return secure


def _send_all(connection: socket.socket, data: bytes, deadline: Deadline) -> None:
    """sendall() within the deadline: over TLS, sendall() gives each record the whole timeout
    again, so a server that reads slowly could stretch it; here each piece gets what is left."""
    with memoryview(data) as view:
        sent = 0
        while sent < len(view):
            connection.settimeout(deadline.left())
            sent += connection.send(view[sent:])


def _read_head(
    connection: socket.socket, deadline: Deadline, result: ProbeResult, sent: float
) -> None:
    """The response head, at most MAX_HEAD bytes with its blank line; what follows it in the
    last piece read is kept as body.

    Each recv asks for no more than what is left of MAX_HEAD, so a head cannot slip past the
    limit inside one large piece (an 80 KB head of 10,000 short lines did), and the search for
    the blank line resumes where the last one ended, into a bytearray: a server that drips one
    byte per recv costs time linear in what it sends, not quadratic."""
    data = bytearray()
    try:
        searched = 0
        while (end := data.find(HEAD_END, max(searched - len(HEAD_END) + 1, 0))) < 0:
            searched = len(data)
            if len(data) >= MAX_HEAD:
                del data[MAX_HEAD:]
                result.head_cut = True
                return
            connection.settimeout(deadline.left())
            chunk = connection.recv(min(RECV_SIZE, MAX_HEAD - len(data)))
            if not chunk:
                return
            if not data:
                result.timings["first_byte_ms"] = _ms(time.monotonic() - sent)
            data += chunk
        head_size = end + len(HEAD_END)  # within MAX_HEAD: no more was read
        result.body = bytes(data[head_size : head_size + MAX_BODY])
        del data[head_size:]
        result.head_complete = True
    finally:  # also when recv timed out or failed: the message says how much came
        result.response = bytes(data)


def _is_upgrade(head: bytes) -> bool:
    return head.split(b" ", 2)[1:2] == [b"101"]


def _budget(seconds: float, deadline: Deadline) -> float:
    """When a wait of `seconds` from now must end: then, or at the deadline if that is sooner."""
    return min(time.monotonic() + seconds, deadline.end)


def _read_body(connection: socket.socket, result: ProbeResult, deadline: Deadline) -> None:
    """A little of a refusal's body, which often says why: never more than MAX_BODY bytes, and
    never more than BODY_WAIT seconds in all (nor past the deadline), however it is dripped."""
    until = _budget(BODY_WAIT, deadline)
    try:
        while len(result.body) < MAX_BODY and (left := until - time.monotonic()) > 0:
            connection.settimeout(left)
            chunk = connection.recv(MAX_BODY - len(result.body))
            if not chunk:
                break
            result.body += chunk
    except OSError:
        pass


def _close_politely(connection: socket.socket, deadline: Deadline) -> None:
    """Send a masked Close frame with code 1000 (RFC 6455 §5.5.1) and wait briefly for the echo,
    so the server sees a clean close rather than a dropped connection. The wait is CLOSE_WAIT in
    all, cut short by the deadline: a server that keeps sending frames never echoing the Close
    must not keep the probe alive."""
    until = _budget(CLOSE_WAIT, deadline)
    mask = os.urandom(4)
    payload = (1000).to_bytes(2, "big")
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    try:
        connection.settimeout(max(until - time.monotonic(), 0.0))  # 0: send only if it can now
        connection.sendall(bytes([0x88, 0x80 | len(payload)]) + mask + masked)
        while (left := until - time.monotonic()) > 0:
            connection.settimeout(left)
            reply = connection.recv(4096)
            if not reply or b"\x88" in reply:
                return
    except OSError:
        pass


def probe_report(result: ProbeResult) -> HandshakeReport:
    """The rules of `inspect` applied to what the probe sent and received."""
    text = (result.request + result.response).decode("latin-1")
    capture = Capture()
    numbered = enumerate(text.split("\r\n"), start=1)
    handshakes = list(parse_lines(((n, line) for n, line in numbered), capture, curl=False))
    handshake = handshakes[0]
    handshake.source, handshake.url = "probe", result.url
    for message in (handshake.request, handshake.response):
        if message is not None:
            message.line = None  # the transcript is printed whole; line numbers mean nothing
    if handshake.response is not None:
        handshake.response.body = [
            line for line in result.body.decode("latin-1").splitlines() if line.strip()
        ][:5]
    findings = check_handshake(handshake, capture) if result.response else []
    findings += _transport_findings(result)
    return HandshakeReport(1, handshake, findings)


def _transport_findings(result: ProbeResult) -> list[Finding]:
    if result.error is not None:
        return [Finding(result.error.outcome.label, FAIL, "-", result.error.message)]
    if result.head_cut:
        return [
            Finding(
                "response.size",
                FAIL,
                "-",
                f"the response head is over {MAX_HEAD // 1024} KiB; it was cut off there",
            )
        ]
    if not result.head_complete:
        what = (
            f"after {len(result.response)} bytes, before the end of the response head"
            if result.response
            else "without answering"
        )
        return [Finding("response.closed", FAIL, "-", f"the server closed the connection {what}")]
    return []


def outcome(result: ProbeResult, report: HandshakeReport) -> ProbeOutcome:
    """How the probe ended, once the rules have judged what the server sent."""
    if result.error is not None:
        return result.error.outcome
    return ProbeOutcome.HANDSHAKE_FAILED if report.verdict == FAIL else ProbeOutcome.OK
