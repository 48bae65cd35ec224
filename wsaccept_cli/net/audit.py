"""`wsaccept audit`'s network side: each case's request sent on a connection of its own
(through net.connect: proxies, TLS, client certificates, --resolve, --connect-to), what came
back recorded in an Observed, and the case's judge called on it. Cases run a few at a time
(`parallel`, bounded), their connections spaced by `delay`.

Network code only: it returns results and never prints. Every wait is bounded by the case's
timeout; what is kept of an answer is bounded (the head by MAX_HEAD, what follows it by
MAX_AFTER), and a case's request bytes are dropped once sent, so memory stays flat however
many cases run.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from wsaccept_cli.core.audit.build import close_frame
from wsaccept_cli.core.audit.model import (
    Case,
    Observed,
    Outcome,
    Request,
    Result,
    Server,
    Verdict,
    parse_frames,
)
from wsaccept_cli.core.outcomes import ProbeOutcome
from wsaccept_cli.core.request import RequestTarget
from wsaccept_cli.core.wording import quoted
from wsaccept_cli.net.connect import (
    Connected,
    Deadline,
    ProbeError,
    Route,
    open_connection,
    tls_failure,
)

MAX_HEAD = 64 * 1024
MAX_AFTER = 8 * 1024
RECV_SIZE = 16 * 1024
BODY_WAIT = 0.2  # for a refusal's body when it has no Content-Length
CLOSE_WAIT = 2.0  # at most, for a server to close after a refusal the case watches
MAX_HEADERS = 256


class UnreachableError(Exception):
    """The server could not be reached at all: the outcome (its exit code) and why."""

    def __init__(self, outcome: ProbeOutcome, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message


class Pacer:
    """Spaces the start of connections by `delay` seconds, across threads."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> None:
        if self.delay <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.delay
        time.sleep(max(start - now, 0))


def run_audit(
    cases: Sequence[Case],
    server: Server,
    target: RequestTarget,
    route: Route,
    *,
    timeout: float,
    parallel: int = 4,
    delay: float = 0.0,
    on_result: Callable[[Result], None] = lambda result: None,
) -> list[Result]:
    """Every case of `cases` run against the server, in catalogue order. request.1 (the valid
    handshake) goes first, alone: if its connection cannot be made, UnreachableError is raised;
    whether it upgraded tells the judges of the cases that must upgrade."""
    from wsaccept_cli.core.audit import catalogue

    pacer = Pacer(delay)
    baseline_case = catalogue()[0]
    baseline = _run(baseline_case, server, target, route, timeout, pacer, fatal=True)
    if baseline.observed.ended == "timeout" and not baseline.observed.answered:
        # Connected, but nothing came: every case would wait its whole timeout for nothing.
        raise UnreachableError(
            ProbeOutcome.TIMEOUT,
            f"no answer to the valid handshake (request.1) within {timeout:g} s",
        )
    server.baseline = baseline.observed.upgraded
    results = {baseline_case.id: baseline} if baseline_case in cases else {}
    if baseline_case in cases:
        on_result(baseline)
    rest = sorted((c for c in cases if c is not baseline_case), key=lambda c: not c.slow)
    for result in _pool(rest, server, target, route, timeout, pacer, parallel):
        results[result.case.id] = result
        on_result(result)
    return [results[case.id] for case in cases]


def _pool(
    cases: Sequence[Case],
    server: Server,
    target: RequestTarget,
    route: Route,
    timeout: float,
    pacer: Pacer,
    parallel: int,
) -> Iterator[Result]:
    """The results as they come, at most `parallel` cases at once."""
    pending: set[Future[Result]] = set()
    queue = iter(cases)
    with ThreadPoolExecutor(max_workers=parallel) as executor:
        try:
            while True:
                for case in queue:
                    pending.add(executor.submit(_run, case, server, target, route, timeout, pacer))
                    if len(pending) >= parallel:
                        break
                if not pending:
                    return
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()


def _run(
    case: Case,
    server: Server,
    target: RequestTarget,
    route: Route,
    timeout: float,
    pacer: Pacer,
    *,
    fatal: bool = False,
) -> Result:
    request = case.build(case, server)
    pacer.wait()
    observed = Observed()
    try:
        if case.http2:
            from wsaccept_cli.net.audit_h2 import exchange_h2

            exchange_h2(request, target, route, timeout, observed)
        else:
            exchange(request, target, route, timeout, observed)
    except ProbeError as error:
        if fatal:
            raise UnreachableError(error.outcome, error.message) from None
        observed.error = f"no connection: {error.message}"
    request.pieces = []  # sent: a 1 MiB head is not kept for the report
    if observed.error is not None and observed.error.startswith("no connection"):
        verdict = Verdict(Outcome.INFORMATIONAL, observed.error)
    else:
        verdict = case.judge(observed, request, server)
    return Result(case, request, observed, verdict)


def exchange(
    request: Request, target: RequestTarget, route: Route, timeout: float, observed: Observed
) -> None:
    """Send `request` on a new connection and record what came back in `observed`. A
    connection that cannot be made raises ProbeError (with a connection timeout as the
    outcome `timeout`)."""
    started = time.monotonic()
    deadline = Deadline(timeout)
    connection: socket.socket | None = None
    try:
        try:
            connection = open_connection(target, route, deadline, Connected(), started)
        except TimeoutError:
            raise ProbeError(ProbeOutcome.TIMEOUT, f"no connection within {timeout:g} s") from None
        except ssl.SSLError as error:
            raise ProbeError(ProbeOutcome.TLS_FAILED, tls_failure(error, route)) from None
        except OSError as error:
            reason = error.strerror or str(error)
            raise ProbeError(ProbeOutcome.CONNECT_FAILED, f"connection failed: {reason}") from None
        _talk(connection, request, deadline, observed, started)
    finally:
        if connection is not None:
            connection.close()
        observed.seconds = time.monotonic() - started


def _talk(
    connection: socket.socket,
    request: Request,
    deadline: Deadline,
    observed: Observed,
    started: float,
) -> None:
    try:
        _send(connection, request, deadline, observed)
        rest = _read_head(connection, deadline, observed)
        if rest is None:
            return
        if observed.upgraded:
            _after_upgrade(connection, request, deadline, observed, rest)
        else:
            _after_refusal(connection, request, deadline, observed, rest, started)
    except TimeoutError:
        observed.ended = "open" if observed.answered else "timeout"
    except ConnectionResetError:
        observed.ended = "reset"
    except OSError as error:
        observed.ended = "closed"
        observed.error = observed.error or f"the connection broke: {error.strerror or error}"


def _send(
    connection: socket.socket, request: Request, deadline: Deadline, observed: Observed
) -> None:
    """The request's pieces, each followed by its pause; a server that closes or resets the
    connection before it has all of them (a head too large) is noted, not an error: its
    answer may be waiting."""
    for piece, pause in request.pieces:
        try:
            connection.settimeout(deadline.left())
            connection.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            observed.sent_all = False
            return
        if pause:
            time.sleep(min(pause, deadline.left()))


def _read_head(connection: socket.socket, deadline: Deadline, observed: Observed) -> bytes | None:
    """The response head into `observed`; what came after it, or None if no head came."""
    data = bytearray()
    while True:
        end = _head_end(data)
        if end >= 0:
            break
        if len(data) >= MAX_HEAD:
            observed.error = f"a response head over {MAX_HEAD // 1024} KiB"
            observed.ended = "open"
            return None
        connection.settimeout(deadline.left())
        try:
            chunk = connection.recv(RECV_SIZE)
        except ConnectionResetError:
            observed.ended = "reset"
            return None
        if not chunk:
            observed.ended = "closed"
            if data:
                observed.error = f"the server closed the connection after {len(data)} bytes"
            return None
        data += chunk
    _parse_head(bytes(data[:end]), observed)
    return bytes(data[end : end + MAX_AFTER])


def _head_end(data: bytearray) -> int:
    ends = [i + len(end) for end in (b"\r\n\r\n", b"\n\n") if (i := data.find(end)) >= 0]
    return min(ends, default=-1)


def _parse_head(head: bytes, observed: Observed) -> None:
    observed.bare_lf = b"\n" in head.replace(b"\r\n", b"")
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    version, _, rest = lines[0].partition(" ")
    status, _, reason = rest.partition(" ")
    observed.version = version
    observed.status = int(status) if status.isdigit() and len(status) == 3 else None
    if observed.status is None:
        observed.error = f"no HTTP status line: {quoted(lines[0][:80])}"
        observed.ended = "closed"
    observed.reason = reason.strip()
    for line in lines[1:MAX_HEADERS]:
        name, colon, value = line.partition(":")
        if colon:
            observed.headers.append((name.strip(), value.strip(" \t")))


def _after_upgrade(
    connection: socket.socket,
    request: Request,
    deadline: Deadline,
    observed: Observed,
    rest: bytes,
) -> None:
    """Send the case's frames (by default our Close) and read the server's frames until it
    sends a Close, closes the connection, or the case's wait ends."""
    after = request.after if request.after is not None else close_frame(1000)
    data = bytearray(rest)
    try:
        if after:
            connection.settimeout(deadline.left())
            connection.sendall(after)
        until = min(time.monotonic() + request.after_wait, deadline.end)
        while len(data) < MAX_AFTER and (left := until - time.monotonic()) > 0:
            if any(frame.opcode == 0x8 for frame in parse_frames(bytes(data))):
                break
            connection.settimeout(left)
            chunk = connection.recv(MAX_AFTER - len(data))
            if not chunk:
                observed.ended = "closed"
                break
            data += chunk
    except TimeoutError:
        pass
    except (BrokenPipeError, ConnectionResetError):
        observed.ended = "reset"
    finally:
        observed.body = bytes(data)
        observed.frames = parse_frames(observed.body)


def _after_refusal(
    connection: socket.socket,
    request: Request,
    deadline: Deadline,
    observed: Observed,
    rest: bytes,
    started: float,
) -> None:
    """A little of the refusal's body (its Content-Length, or what comes within BODY_WAIT);
    for a case that watches, whether the server then closes the connection (or answers a
    request pipelined behind), within CLOSE_WAIT."""
    data = bytearray(rest)
    lengths = observed.values("content-length")
    want = int(lengths[0]) if lengths and lengths[0].isdigit() else None
    wait_for = CLOSE_WAIT if request.watch_close else BODY_WAIT
    until = min(time.monotonic() + wait_for, deadline.end)
    try:
        while len(data) < MAX_AFTER and (left := until - time.monotonic()) > 0:
            if want is not None and len(data) >= want and not request.watch_close:
                break
            connection.settimeout(left)
            chunk = connection.recv(MAX_AFTER - len(data))
            if not chunk:
                observed.ended = "closed"
                break
            data += chunk
    except TimeoutError:
        pass
    except ConnectionResetError:
        observed.ended = "reset"
    finally:
        observed.body = bytes(data)
