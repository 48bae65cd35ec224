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

import base64
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable

from wsaccept_cli.core.exchange import parse_exchange
from wsaccept_cli.core.handshake import Message
from wsaccept_cli.core.keys import printable
from wsaccept_cli.core.outcomes import ProbeOutcome
from wsaccept_cli.core.request import RequestTarget
from wsaccept_cli.core.rules import FAIL, INFO, Finding, HandshakeReport, check_handshake
from wsaccept_cli.core.wording import plural

MAX_HEAD = 64 * 1024  # the response head, its blank line included
MAX_BODY = 4 * 1024
HEAD_END = b"\r\n\r\n"
BARE_LF_END = b"\n\n"  # a head with bare LF line endings (RFC 9112 §2.2 lets us read it)
RECV_SIZE = 16 * 1024
BODY_WAIT = 0.2  # for a refusal's body after its head, in all (not per piece)
CLOSE_WAIT = 0.5  # for the echo of our Close frame, in all

# What the probe is doing, as it happens, for a person watching: an event name ("resolving",
# "connecting", "connected", "tls", "tls_done", "sent", "waiting", "received") and its detail
# (a host, an address, a TLS version, a byte count). The ui decides whether and how to show it.
Progress = Callable[[str, str], None]


def _no_progress(event: str, detail: str) -> None:
    """Progress nobody watches."""


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
        self.sent = False  # the whole request went out
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
    progress: Progress = _no_progress,
) -> ProbeResult:
    """Connect, send `request`, read the response head, close politely; never raises. Each
    step is told to `progress` as it begins (or ends, for a connection and the request)."""
    result = ProbeResult(url, request)
    deadline = Deadline(timeout)
    started = time.monotonic()
    connection: socket.socket | None = None
    try:
        connection = _connect(target, deadline, result, started, progress)
        if target.secure:
            progress("tls", target.host)
            connection = _start_tls(connection, target, deadline, result, insecure, cacert)
            version = connection.version() if isinstance(connection, ssl.SSLSocket) else None
            progress("tls_done", version or "TLS")
        _send_all(connection, request, deadline)
        sent = time.monotonic()
        result.sent = True
        progress("sent", str(len(request)))
        progress("waiting", "")
        _read_head(connection, deadline, result, sent)
        progress("received", str(len(result.response)))
        if result.head_complete and not _is_upgrade(result.response):
            _read_body(connection, result, deadline)
        elif result.head_complete:
            _close_politely(connection, deadline)
    except ProbeError as error:
        result.error = error
    except TimeoutError:
        result.error = ProbeError(ProbeOutcome.TIMEOUT, _timeout_message(result, timeout))
    except ssl.SSLError as error:
        result.error = ProbeError(
            ProbeOutcome.TLS_FAILED, f"TLS failed: {error.reason or error}{_plain_hint(error)}"
        )
    except OSError as error:
        reason = error.strerror or str(error)
        if result.timings["connect_ms"] is None:
            result.error = ProbeError(ProbeOutcome.CONNECT_FAILED, f"connection failed: {reason}")
        else:  # connected, then the server reset or broke the connection
            got = f"after {_bytes(result.response)} of response" if result.response else ""
            result.error = ProbeError(
                ProbeOutcome.HANDSHAKE_FAILED,
                f"the connection broke {got or 'before any response'}: {reason}",
            )
    finally:
        if connection is not None:
            connection.close()
        result.timings["total_ms"] = _ms(time.monotonic() - started)
    return result


# What OpenSSL says when the server answers a ClientHello in plain text (an HTTP 400).
_PLAIN_REPLY_REASONS = frozenset(
    ["WRONG_VERSION_NUMBER", "HTTP_REQUEST", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"]
)


def _plain_hint(error: ssl.SSLError) -> str:
    if error.reason in _PLAIN_REPLY_REASONS:
        return (
            " (the server answered in plain text, not TLS: it speaks plain HTTP on this port,"
            " so try a ws:// URL)"
        )
    return ""


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _timeout_message(result: ProbeResult, timeout: float) -> str:
    if result.timings["connect_ms"] is None:
        return f"no connection within {timeout:g} s"
    if result.response:
        got = _bytes(result.response)
        return f"the response head was not complete within {timeout:g} s ({got} came)"
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
    target: RequestTarget,
    deadline: Deadline,
    result: ProbeResult,
    started: float,
    progress: Progress = _no_progress,
) -> socket.socket:
    """A TCP connection to the first address that takes one, as clients try them in turn.

    Each address gets an equal share of the time left, so one that swallows packets does not
    use up the time of the ones after it."""
    failures = []
    progress("resolving", target.host)
    addresses = _resolve(target, deadline)
    for index, (family, address) in enumerate(addresses):
        progress("connecting", _show_address(address))
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
        progress("connected", result.address)
        return connection
    raise ProbeError(ProbeOutcome.CONNECT_FAILED, f"cannot connect to {'; '.join(failures)}")


def _bytes(data: bytes) -> str:
    return plural(len(data), "byte")


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
) -> socket.socket:
    """TLS with SNI and certificate checks (unless --insecure); ALPN http/1.1."""
    try:
        context = ssl.create_default_context(cafile=cacert)
    except (OSError, ssl.SSLError) as error:
        raise ProbeError(
            ProbeOutcome.TLS_FAILED, f"cannot load --cacert {cacert}: {error}"
        ) from None
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    began = time.monotonic()
    connection.settimeout(deadline.left())
    try:
        secure = context.wrap_socket(connection, server_hostname=target.host)
    except ssl.SSLCertVerificationError as error:
        raise ProbeError(
            ProbeOutcome.TLS_FAILED,
            f"the server's certificate was refused: {error.verify_message or error.reason}"
            f"{_leaf_hint(cacert)}",
        ) from None
    result.timings["tls_ms"] = _ms(time.monotonic() - began)
    return secure


_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----"
)
_BASIC_CONSTRAINTS = b"\x06\x03\x55\x1d\x13"  # the OID 2.5.29.19, DER-encoded
_TRUE = b"\x01\x01\xff"  # BOOLEAN TRUE


def _leaf_hint(cacert: str | None) -> str:
    """Why a --cacert did not help, when it can tell: a file of server (leaf) certificates,
    none a CA, which OpenSSL does not take as an anchor of the server's chain."""
    usual = " (--cacert FILE trusts a private CA; --insecure skips the check)"
    if cacert is None:
        return usual
    try:
        with open(cacert, "rb") as file:
            pem = file.read(1024 * 1024)
        blocks = [base64.b64decode(block) for block in _CERTIFICATE.findall(pem)]
    except (OSError, ValueError):  # gone since, or a block that is not base64
        return usual
    if not blocks or any(_is_ca(der) for der in blocks):
        return usual
    return (
        f" (--cacert {cacert} holds a server certificate, not a CA's: give the certificate of"
        " the CA that issued the server's)"
    )


def _is_ca(der: bytes) -> bool:
    """Whether a DER certificate says it is a CA (basicConstraints cA TRUE, RFC 5280
    §4.2.1.9); one without basicConstraints (an old v1 root), or one this short reading of
    DER cannot follow, counts as one."""
    index = der.find(_BASIC_CONSTRAINTS)
    if index < 0:
        return True
    index += len(_BASIC_CONSTRAINTS)
    if der[index : index + 3] == _TRUE:  # the extension is critical
        index += 3
    if der[index : index + 1] != b"\x04" or der[index + 2 : index + 3] != b"\x30":
        return True  # not OCTET STRING { SEQUENCE ... } with short lengths
    return der[index + 4 : index + 7] == _TRUE  # the SEQUENCE starts with cA TRUE


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
        while (head_size := _head_size(data, searched)) < 0:
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
        result.body = bytes(data[head_size : head_size + MAX_BODY])
        del data[head_size:]
        result.head_complete = True
    finally:  # also when recv timed out or failed: the message says how much came
        result.response = bytes(data)


def _head_size(data: bytearray, searched: int) -> int:
    """The size of the head at the start of `data`, its blank line included (CR LF CR LF, or
    LF LF for bare LF line endings), or -1; the search starts near where the last one ended.
    Within MAX_HEAD: no more is ever read."""
    ends = (
        index + len(end)
        for end in (HEAD_END, BARE_LF_END)
        if (index := data.find(end, max(searched - len(end) + 1, 0))) >= 0
    )
    return min(ends, default=-1)


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
    """The rules of `inspect` applied to what the probe sent and received; a head that did not
    arrive whole is reported as what came, the header rules not run on it."""
    handshake, capture = parse_exchange(result.request, result.response)
    capture.live = True
    handshake.source, handshake.url = "probe", result.url
    partial = bool(result.response) and not result.head_complete
    if partial:
        cut_off, handshake.response = handshake.response, None
    for message in (handshake.request, handshake.response):
        if message is not None:
            message.line = None  # the transcript is printed whole; line numbers mean nothing
    if handshake.response is not None:
        handshake.response.body = [
            line for line in result.body.decode("latin-1").splitlines() if line.strip()
        ][:5]
    findings = check_handshake(handshake, capture) if result.response else []
    if partial:
        findings = [f for f in findings if not f.rule.startswith("response")]
        findings.append(_what_came(result, cut_off))
    findings += _scheme_hints(result)
    findings += _transport_findings(result)  # last: how the probe ended
    return HandshakeReport(1, handshake, findings)


def _what_came(result: ProbeResult, head: Message | None) -> Finding:
    """What a cut-off head held: its status line and how many header lines."""
    if head is not None and head.start is not None:
        shown = f"the status line {printable(head.start.encode('latin-1'))!r}"
    else:
        shown = "no status line"
    count = len(head.headers) if head is not None else 0
    return Finding(
        "response.partial",
        INFO,
        "-",
        f"{len(result.response)} bytes of the response head came: {shown} and {count} header"
        " lines; the header rules were not run on a head that did not arrive whole",
    )


# A TLS record from the server (handshake 0x16 or alert 0x15, version 3.x): it speaks TLS.
_TLS_RECORD = (b"\x15\x03", b"\x16\x03")
_HTTPS_PORT_MESSAGE = b"plain HTTP request was sent to HTTPS port"  # nginx's 400


def _scheme_hints(result: ProbeResult) -> list[Finding]:
    """ws:// to a port that speaks TLS: the server answers with a TLS record, or (nginx) a 400
    that says so."""
    if not result.url.startswith("ws://"):
        return []
    if result.response.startswith(_TLS_RECORD) or _HTTPS_PORT_MESSAGE in result.body:
        hint = "the server speaks TLS on this port (it answered with TLS, not HTTP): use a wss://"
    elif not result.response and result.timings["connect_ms"] is not None and _ended(result):
        hint = (
            "the server ended the connection without a word, as a TLS server does when a"
            " client speaks plain HTTP to it: if this port speaks TLS, use a wss://"
        )
    else:
        return []
    return [Finding("transport.scheme", INFO, "§3", f"{hint} URL")]


def _ended(result: ProbeResult) -> bool:
    """Whether the server closed or reset the connection before answering (not a timeout)."""
    error = result.error
    return error is None or error.outcome is ProbeOutcome.HANDSHAKE_FAILED


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
            f"after {_bytes(result.response)}, before the end of the response head"
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
