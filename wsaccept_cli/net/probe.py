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

import socket
import ssl
import time
from collections.abc import Callable

from wsaccept_cli.core.answered import cannot_be_http, not_http, not_http_message
from wsaccept_cli.core.exchange import parse_exchange
from wsaccept_cli.core.handshake import Capture, Handshake, Message
from wsaccept_cli.core.keys import printable
from wsaccept_cli.core.outcomes import ProbeOutcome
from wsaccept_cli.core.request import RequestTarget
from wsaccept_cli.core.rules import (
    FAIL,
    INFO,
    PASS,
    WARN,
    Finding,
    HandshakeReport,
    check_handshake,
    verdict,
)
from wsaccept_cli.core.wording import plural, quoted
from wsaccept_cli.net.closing import closing_handshake
from wsaccept_cli.net.connect import (
    Connected,
    Deadline,
    ProbeError,
    Progress,
    Route,
    no_progress,
    open_connection,
    tls_failure,
    waiting,
)
from wsaccept_cli.net.connect import ms as _ms
from wsaccept_cli.net.connect import send_all as _send_all
from wsaccept_cli.net.recording import Recorder

MAX_HEAD = 64 * 1024  # the response head, its blank line included
MAX_BODY = 4 * 1024
HEAD_END = b"\r\n\r\n"
BARE_LF_END = b"\n\n"  # a head with bare LF line endings (RFC 9112 §2.2 lets us read it)
RECV_SIZE = 16 * 1024
_FIRST_LINE_CHECKED = 1024  # while reading; the whole head is checked once it is read
BODY_WAIT = 0.2  # for a refusal's body after its head, in all (not per piece)
CLOSE_WAIT = 0.5  # HTTP/2: for the echo of our Close frame on the stream, in all
MAX_INTERIM = 16  # interim 1xx responses read before the final one


class ProbeResult(Connected):
    """Everything a probe saw. `outcome` is decided by the caller once the rules have run."""

    def __init__(self, url: str, request: bytes) -> None:
        super().__init__()  # address, pinned, proxy, tls, timings
        self.url = url
        self.request = request
        self.response = b""
        self.body = b""
        self.error: ProbeError | None = None
        self.sent = False  # the whole request went out
        self.head_complete = False
        self.head_cut = False
        self.held: object = None  # what --hold/--ping/--send saw after the upgrade
        self.interim = 0  # interim 1xx responses read before the final one (RFC 9110 §15.2)
        # The exchange as parsed and the rules' findings, when they were needed before the
        # report (to decide the closing handshake), with the response they were made from:
        # `probe_report` takes them rather than parsing and checking it all again.
        self.rules_checked: tuple[bytes, Handshake, Capture, list[Finding]] | None = None
        # After a 101: "failed" (the rules failed it, so we closed TCP without a Close, as
        # RFC 6455 §4.1 has a client do), "closed" (Close frames exchanged), "dropped" (the
        # server closed or reset before our Close), "no-close" (it closed without answering
        # our Close), "no-answer" (no Close within the timeout), "bad-frame" (a frame that is
        # not valid came: net.closing), "server-closed" (its Close came first, and was
        # echoed); None before an upgrade.
        self.closing: str | None = None
        self.close_code: int | None = None  # of the server's Close
        self.close_reason = ""  # its reason, or why its bad frame is not valid (wsproto's)
        self.close_sent: int | None = None  # the Close we failed the connection with
        self.close_wait = 0.0  # seconds the timeout left for the server's Close ("no-answer")
        self.close_fair = False  # whether that was time enough to judge the server by
        self.not_http: str | None = None  # what came instead of an HTTP response (core.answered)


def run_probe(
    target: RequestTarget,
    request: bytes,
    *,
    timeout: float,
    insecure: bool = False,
    cacert: str | None = None,
    url: str = "",
    route: Route | None = None,
    after_upgrade: Callable[[socket.socket, ProbeResult], None] | None = None,
    progress: Progress = no_progress,
    recorder: Recorder | None = None,
) -> ProbeResult:
    """Connect, send `request`, read the response head, close politely; never raises.

    `route` says how to connect (net.connect); `after_upgrade`, when given, takes over the
    upgraded connection instead of the polite close (probe --hold/--ping/--send). Each step is
    told to `progress` as it begins (or ends, for a connection and the request). `recorder`
    keeps the bytes each way (probe --save)."""
    result = ProbeResult(url, request)
    deadline = Deadline(timeout)
    started = time.monotonic()
    connection: socket.socket | None = None
    try:
        route = route or Route(insecure=insecure, cacert=cacert)
        route.progress = progress
        connection = open_connection(target, route, deadline, result, started)
        if recorder is not None:  # probe --save: the exchange above TLS
            connection = recorder.wrap(connection, target.port)
        _send_all(connection, request, deadline)
        sent = time.monotonic()
        result.sent = True
        progress("sent", str(len(request)))
        progress("waiting", "")
        _read_head(connection, deadline, result, sent)
        progress("received", str(len(result.response)))
        result.not_http = not_http(result.response, request)
        if result.not_http is not None:
            pass  # nothing more is read from, or sent to, what is no HTTP server
        elif result.head_complete and not _is_upgrade(_final_head(result)):
            _read_body(connection, result, deadline)
        elif result.head_complete and _rules_fail(result):
            result.closing = "failed"  # the connection is failed: closed below, no Close frame
        elif result.head_complete and after_upgrade is not None:
            after_upgrade(connection, result)
        elif result.head_complete:
            _closing_handshake(connection, deadline, result)
    except ProbeError as error:
        result.error = error
    except TimeoutError:
        result.error = ProbeError(ProbeOutcome.TIMEOUT, _timeout_message(result, timeout))
    except ssl.SSLError as error:
        result.error = ProbeError(ProbeOutcome.TLS_FAILED, tls_failure(error, route or Route()))
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


def _bytes(data: bytes) -> str:
    return plural(len(data), "byte")


def _timeout_message(result: ProbeResult, timeout: float) -> str:
    if result.timings["connect_ms"] is None:
        return f"no connection within {timeout:g} s"
    if result.tls_stalled:
        return (
            f"the TLS handshake did not finish within {timeout:g} s (the server sent"
            f" {plural(result.tls_stalled, 'byte')} of it, then nothing more)"
        )
    if result.url.startswith("wss://") and result.tls is None and not result.sent:
        return (
            f"no answer to the TLS handshake within {timeout:g} s: a server that speaks plain"
            " HTTP on this port waits like this for the rest of a request; if it does, use a"
            " ws:// URL"
        )
    if result.response:
        got = _bytes(result.response)
        return f"the response head was not complete within {timeout:g} s ({got} came)"
    return f"the server sent nothing within {timeout:g} s"


def _read_head(
    connection: socket.socket, deadline: Deadline, result: ProbeResult, sent: float
) -> None:
    """The response head, at most MAX_HEAD bytes with its blank line, interim 1xx responses
    before it included (at most MAX_INTERIM: RFC 9110 §15.2 has a client read on to the final
    response); what follows it in the last piece read is kept as body.

    Each recv asks for no more than what is left of MAX_HEAD, so a head cannot slip past the
    limit inside one large piece (an 80 KB head of 10,000 short lines did), and the search for
    the blank line resumes where the last one ended, into a bytearray: a server that drips one
    byte per recv costs time linear in what it sends, not quadratic. A first line that is no
    status line ends the read at once: nothing after it can make an HTTP response (an SSH
    server sends its banner and waits)."""
    data = bytearray()
    try:
        start = searched = 0  # where the head being read starts (after interim responses)
        while True:
            head_end = _head_size(data, max(searched, start))
            if head_end >= 0 and _is_interim(data[start:head_end]) and result.interim < MAX_INTERIM:
                result.interim += 1
                start = searched = head_end
                continue
            if head_end >= 0:
                break
            searched = len(data)
            if len(data) >= MAX_HEAD:
                del data[MAX_HEAD:]
                result.head_cut = True
                return
            deadline.bound(connection)
            chunk = connection.recv(min(RECV_SIZE, MAX_HEAD - len(data)))
            if not chunk:
                return
            if not data:
                result.timings["first_byte_ms"] = _ms(time.monotonic() - sent)
            data += chunk
            if cannot_be_http(data[:_FIRST_LINE_CHECKED]):
                return
        result.body = bytes(data[head_end : head_end + MAX_BODY])
        del data[head_end:]
        result.head_complete = True
    finally:  # also when recv timed out or failed: the message says how much came
        result.response = bytes(data)


def _head_size(data: bytearray, searched: int) -> int:
    """Where the head that the search covers ends in `data`, its blank line included (CR LF
    CR LF, or LF LF for bare LF line endings), or -1; the search starts near where the last one
    ended. Within MAX_HEAD: no more is ever read."""
    ends = (
        index + len(end)
        for end in (HEAD_END, BARE_LF_END)
        if (index := data.find(end, max(searched - len(end) + 1, 0))) >= 0
    )
    return min(ends, default=-1)


def _status_of(head: bytes | bytearray) -> bytes:
    return bytes(head.split(b" ", 2)[1:2][0]) if head.count(b" ") else b""


def _is_interim(head: bytes | bytearray) -> bool:
    """A 1xx other than 101 (100 Continue, 103 Early Hints): the final response follows."""
    status = _status_of(head[:64])
    return len(status) == 3 and status.startswith(b"1") and status.isdigit() and status != b"101"


def _final_head(result: ProbeResult) -> bytes:
    """The final response's head, after any interim ones."""
    head = result.response
    for _ in range(result.interim):
        head = head[_head_size(bytearray(head), 0) :]
    return head


def _is_upgrade(head: bytes) -> bool:
    return _status_of(head[:64]) == b"101"


def _budget(seconds: float, deadline: Deadline) -> float:
    """When a wait of `seconds` from now must end: then, or at the deadline if that is sooner."""
    return min(time.monotonic() + seconds, deadline.end)


def _read_body(connection: socket.socket, result: ProbeResult, deadline: Deadline) -> None:
    """A little of a refusal's body, which often says why: never more than MAX_BODY bytes, and
    never more than BODY_WAIT seconds in all (nor past the deadline), however it is dripped.
    The wait ends as soon as the body is whole by its own framing (its Content-Length, the
    last chunk, the server's close), so a refusal with a short or empty body costs no wait."""
    until = _budget(BODY_WAIT, deadline)
    framing = _body_framing(_final_head(result))
    try:
        while len(result.body) < MAX_BODY and not _body_complete(result.body, framing):
            left = until - time.monotonic()
            if left <= 0:
                break
            connection.settimeout(left)
            chunk = connection.recv(MAX_BODY - len(result.body))
            if not chunk:
                break
            result.body += chunk
    except OSError:
        pass


def _body_framing(head: bytes) -> int | str | None:
    """How a response's body ends (RFC 9112 §6.3): its Content-Length, "chunked", or None
    when it is delimited by the close (or the head says nothing usable)."""
    lengths, chunked = set(), False
    for line in head.split(b"\n")[1:]:
        name, colon, value = line.partition(b":")
        name = name.strip().lower()
        if colon and name == b"content-length":
            lengths.add(value.strip())
        elif colon and name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        return "chunked"
    if len(lengths) == 1 and (length := lengths.pop()).isdigit() and len(length) < 12:
        return int(length)
    return None


def _body_complete(body: bytes, framing: int | str | None) -> bool:
    if isinstance(framing, int):
        return len(body) >= framing
    if framing == "chunked":
        return body.startswith(b"0\r\n") or b"\r\n0\r\n" in body  # the last chunk came
    return False


def _rules_fail(result: ProbeResult) -> bool:
    """Whether the rules fail this 101: then a client must fail the connection (RFC 6455
    §4.1), closing TCP without a Close frame, which a server scores as a refusal."""
    handshake, capture = parse_exchange(result.request, result.response, _after_head(result))
    capture.live = True
    findings = check_handshake(handshake, capture)
    result.rules_checked = (result.response, handshake, capture, findings)
    return verdict(findings) == FAIL


def _after_head(result: ProbeResult) -> bytes:
    """What came behind a 101's head in the read that ended it (`_read_head`): what a client
    reading the same stream takes as the first WebSocket frames (the client models read it)."""
    if result.head_complete and _is_upgrade(_final_head(result)):
        return result.body
    return b""


def _closing_handshake(connection: socket.socket, deadline: Deadline, result: ProbeResult) -> None:
    """The closing handshake after a good 101 (RFC 6455 §7.1.2): a connection the server has
    already closed or reset is "dropped" (what every client would see as 1006); else the
    server's frames are read as a correct client reads them, and closed (net.closing)."""
    looked = not result.body  # then `_already_closed` looks at what came after the head
    if _already_closed(connection, result):
        result.closing = "dropped"
        return
    checked = result.rules_checked
    response = checked[1].response if checked is not None else None
    try:
        result.close_wait = deadline.left()
        closing = closing_handshake(
            connection,
            deadline,
            result.body,
            response.headers if response else [],
            look=not looked,
        )
    except TimeoutError:
        result.closing = "no-answer"
        result.close_fair = result.close_wait >= min(CLOSE_ANSWER_WAIT, deadline.seconds / 2)
        return
    except OSError:
        result.closing = "no-close"
        return
    result.closing, result.close_code = closing.how, closing.code
    result.close_reason, result.close_sent = closing.reason, closing.sent_code


def _already_closed(connection: socket.socket, result: ProbeResult) -> bool:
    """Whether the server closed or reset the connection right after its 101: a look that
    does not wait. Frames that did come are kept (in `result.body`) for the closing."""
    if result.body:
        return False  # frames came after the 101: not a connection closed right away
    try:
        data = waiting(connection, RECV_SIZE)
    except OSError:  # ECONNRESET
        return True
    if data is None:
        return False
    result.body = data
    return not data


def probe_report(result: ProbeResult) -> HandshakeReport:
    """The rules of `inspect` applied to what the probe sent and received; a head that did not
    arrive whole is reported as what came, the header rules not run on it."""
    checked = result.rules_checked
    reused = checked is not None and checked[0] is result.response  # the rules ran on it
    if checked is not None and reused:
        _, handshake, capture, findings = checked
    else:
        handshake, capture = parse_exchange(result.request, result.response, _after_head(result))
        capture.live = True
    handshake.source, handshake.url = "probe", result.url
    partial = bool(result.response) and not result.head_complete and result.not_http is None
    if partial or result.not_http is not None:  # no client would read it as a response
        cut_off, handshake.response = handshake.response, None
    for message in (handshake.request, handshake.response):
        if message is not None:
            message.line = None  # the transcript is printed whole; line numbers mean nothing
    if handshake.response is not None:
        handshake.response.body = [
            line for line in result.body.decode("latin-1").splitlines() if line.strip()
        ][:5]
    if not reused:  # (the rules read neither the line numbers nor the body)
        findings = check_handshake(handshake, capture) if result.response else []
    if result.not_http is not None:  # the header rules mean nothing for what is no HTTP
        findings = [f for f in findings if not f.rule.startswith("response")]
        findings.append(Finding("response.not_http", FAIL, "-", not_http_message(result.not_http)))
    if partial:
        findings = [f for f in findings if not f.rule.startswith("response")]
        findings.append(_what_came(result, cut_off))
    findings += _scheme_hints(result)
    findings += _transport_findings(result)  # last: how the probe ended
    return HandshakeReport(1, handshake, findings)


def _what_came(result: ProbeResult, head: Message | None) -> Finding:
    """What a cut-off head held: its status line and how many header lines."""
    if head is not None and head.start is not None:
        shown = f"the status line {quoted(printable(head.start.encode('latin-1')))}"
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
    if result.not_http is not None and result.error is None:
        return []  # said by response.not_http
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
    if result.closing is not None:
        return _closing_findings(result)
    if not result.head_complete:
        what = (
            f"after {_bytes(result.response)}, before the end of the response head"
            if result.response
            else "without answering"
        )
        if result.interim:
            what = f"after {plural(result.interim, 'interim response')}, before the final one"
        return [Finding("response.closed", FAIL, "-", f"the server closed the connection {what}")]
    return []


DROPPED = (
    "the connection was closed right after the 101, before any Close frame: every client would"
    " see it drop (close code 1006, RFC 6455 §7.1.5) as soon as it opens"
)


NO_CLOSE = (
    "the server closed the connection without a Close frame, right after the 101 or in answer"
    " to ours (it must answer with one): clients see the connection drop (close code 1006)"
)


def _closing_findings(result: ProbeResult) -> list[Finding]:
    """How the closing handshake after the 101 went (RFC 6455 §7.1.2, §5.5.1)."""
    if result.closing == "dropped":
        return [Finding("closing.dropped", FAIL, "§7.1.5", DROPPED)]
    if result.closing == "no-close":
        return [Finding("closing.dropped", FAIL, "§5.5.1", NO_CLOSE)]
    if result.closing == "bad-frame":
        return [Finding("closing.frames", FAIL, "§5.2", _bad_frame(result))]
    if result.closing == "no-answer":
        return [_unanswered(result)]
    if result.closing == "closed":
        code = f" ({result.close_code})" if result.close_code is not None else " (no code)"
        text = f"the server answered our Close frame with its own{code}"
        return [Finding("closing.handshake", PASS, "§5.5.1", text)]
    if result.closing == "server-closed":
        text = f"the server closed the connection with its Close ({_close(result)}); we answered it"
        return [Finding("closing.handshake", PASS, "§5.5.1", text)]
    return []  # "failed": the connection was failed after a 101 the rules failed


# How long a server may take to answer our Close before not answering is its fault: a
# conforming server answers at once (RFC 6455 §5.5.1), so a second is ample on any network a
# probe runs over. With a --timeout under two seconds, half of it.
CLOSE_ANSWER_WAIT = 1.0


def _unanswered(result: ProbeResult) -> Finding:
    """No Close came back to ours. When the timeout left time enough, that is the server's
    failure: an endpoint that receives a Close MUST send one back (RFC 6455 §5.5.1), and a
    server that does not leaves every client waiting, then dropping the connection (1006).
    When the handshake itself took nearly all of --timeout, it is only a warning: the
    server's Close may have been on its way."""
    waited = f"{result.close_wait:.1f} s"
    if result.close_fair:
        text = (
            f"the server did not answer our Close frame within {waited} (it must send one back):"
            " clients wait for it, then drop the connection (close code 1006)"
        )
        return Finding("closing.handshake", FAIL, "§5.5.1", text)
    text = (
        f"no Close frame came back to ours in the {waited} the timeout left;"
        " a longer --timeout tells whether the server answers one"
    )
    return Finding("closing.handshake", WARN, "§5.5.1", text)


def _close(result: ProbeResult) -> str:
    reason = f", {quoted(result.close_reason)}" if result.close_reason else ""
    return f"{result.close_code}{reason}"


def _bad_frame(result: ProbeResult) -> str:
    """The server sent a frame that is not valid (wsproto says why): a conforming server does
    not, and every client fails the connection on it (RFC 6455 §7.1.7)."""
    text = (
        "after the 101 the server sent a frame that is not valid"
        f" ({result.close_reason or 'no frame'}): every client fails the connection"
    )
    if result.close_sent is None:  # it came after our Close: nothing more is sent
        return text
    return f"{text}; we did, with Close {result.close_sent} (RFC 6455 §7.1.7)"


def outcome(result: ProbeResult, report: HandshakeReport) -> ProbeOutcome:
    """How the probe ended, once the rules have judged what the server sent."""
    if result.error is not None:
        return result.error.outcome
    return ProbeOutcome.HANDSHAKE_FAILED if report.verdict == FAIL else ProbeOutcome.OK
