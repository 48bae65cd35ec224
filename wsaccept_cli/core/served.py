"""What `wsaccept serve` saw of one connection, judged: the client's request against the request
rules, and what the client did with the answer (accepted or refused it) against what a correct
client must do. In a relay, the upstream's response against the response rules too. And the
scoreboard of `serve --check-client`: one row per fault.

Pure code: the network code fills a ServedConnection, this module turns it into a
HandshakeReport (the unit every renderer already shows) and scoreboard rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from wsaccept_cli.core.faults import ACCEPT, REFUSE, Fault
from wsaccept_cli.core.handshake import Capture, Handshake, Message
from wsaccept_cli.core.rules import (
    FAIL,
    INFO,
    PASS,
    REQUEST_RULES,
    Finding,
    HandshakeReport,
    check_handshake,
)

ACCEPTED, REFUSED = "accepted", "refused"


class ServedConnection:
    """One client connection: what came, what was answered, what the client did."""

    def __init__(self, number: int, peer: str) -> None:
        self.number = number
        self.peer = peer
        self.request: Message | None = None
        self.request_bytes = b""
        self.response: Message | None = None  # the answer we (or the upstream) gave
        self.response_bytes = b""
        self.fault: Fault | None = None
        self.skipped: str | None = None  # why the fault did not apply to this request
        self.refused_request: str | None = None  # our 400/426: why the request was no handshake
        self.behaviour: str | None = None  # ACCEPTED or REFUSED, once the client showed it
        # A frame fault: whether what the client did (`behaviour`, a word) is right
        self.frame_ok: bool | None = None
        self.how = ""  # what the client did, as a phrase
        self.error: str | None = None  # how the connection broke before a verdict
        self.upstream: str | None = None  # the relay's upstream URL
        self.upstream_error: str | None = None
        self.extra: list[Finding] = []  # findings a later stage adds (client predictions, #13)
        self.sent = 0  # bytes relayed from the client, after the handshake
        self.received = 0  # bytes relayed from the server, after the handshake
        self.verdict_seconds: float | None = None
        self.reported = False  # handed to the ui already

    @property
    def target(self) -> str:
        if self.request is None:
            return ""
        return f"{self.request.method or '?'} {self.request.target or '?'}"

    @property
    def expected(self) -> frozenset[str]:
        """What a correct client does with the answer it got."""
        if self.fault is None or self.skipped is not None:
            return frozenset({ACCEPT})
        return self.fault.expect

    @property
    def client_ok(self) -> bool:
        """Whether the client did what a correct client does (a refused request never is)."""
        if self.refused_request is not None or self.behaviour is None:
            return False
        if self.frame_ok is not None:
            return self.frame_ok
        return _did(self.behaviour) in self.expected


def _did(behaviour: str) -> str:
    return ACCEPT if behaviour == ACCEPTED else REFUSE


def _request_findings(request: Message | None) -> list[Finding]:
    if request is None:
        return []
    return [finding for rule in REQUEST_RULES if (finding := rule(request)) is not None]


def _answer_finding(connection: ServedConnection) -> Finding:
    fault = connection.fault
    if connection.refused_request is not None:
        message = f"answered {connection.refused_request}"
    elif fault is None:
        message = "answered with a correct 101 Switching Protocols"
    elif connection.skipped is not None:
        message = f"fault {fault.name} does not apply ({connection.skipped}): answered correctly"
    else:
        message = f"answered with fault {fault.name}: {fault.does}"
    return Finding("serve.answer", INFO, "§4.2.2", message)


def _client_finding(connection: ServedConnection) -> Finding:
    if connection.refused_request is not None:
        return Finding(
            "client.verdict", FAIL, "§4.1", "the request is no WebSocket handshake: not upgraded"
        )
    if connection.behaviour is None:
        return Finding(
            "client.verdict",
            FAIL,
            "-",
            f"no verdict: {connection.error or 'the connection ended before the answer'}",
        )
    fault = connection.fault
    if connection.frame_ok is not None and fault is not None:
        return Finding(
            "client.verdict",
            PASS if connection.frame_ok else FAIL,
            fault.section,
            f"the client {connection.how}; a correct client must {fault.expect_text}: {fault.why}",
        )
    must = " or ".join(sorted(connection.expected))
    if fault is None or connection.skipped is not None:
        why = "a correct handshake must be accepted"
    else:
        why = f"a correct client must {must}: {fault.why}"
    status = PASS if connection.client_ok else FAIL
    section = "§4.1"
    return Finding(
        "client.verdict",
        status,
        section,
        f"the client {connection.behaviour} it ({connection.how}); {why}",
    )


def serve_report(connection: ServedConnection) -> HandshakeReport:
    """The connection as a report: the request rules, our answer, the client's verdict."""
    findings = _request_findings(connection.request)
    if connection.request is None:
        findings.append(Finding("request", FAIL, "§4.1", connection.error or "no request came"))
    else:
        findings += [_answer_finding(connection), _client_finding(connection)]
    return HandshakeReport(connection.number, _handshake(connection, "serve"), findings)


def relay_report(connection: ServedConnection) -> HandshakeReport:
    """A relayed connection as a report: both sides checked, as `inspect` checks a capture."""
    handshake = _handshake(connection, "relay")
    if connection.request is None:
        findings = [Finding("request", FAIL, "§4.1", connection.error or "no request came")]
    elif connection.upstream_error is not None:
        findings = _request_findings(connection.request)
        findings.append(Finding("upstream", FAIL, "-", connection.upstream_error))
    else:
        findings = check_handshake(handshake, Capture())
        if connection.fault is not None and connection.fault.stage == "frame":
            findings.append(_answer_finding(connection))
            if connection.frame_ok is not None:
                findings.append(_client_finding(connection))
    findings += connection.extra
    return HandshakeReport(connection.number, handshake, findings)


def _handshake(connection: ServedConnection, source: str) -> Handshake:
    where = f"connection {connection.number} from {connection.peer}"
    if connection.request is not None:
        where += f", {connection.target}"
    if connection.upstream is not None:
        where += f", upstream {connection.upstream}"
    return Handshake(connection.request, connection.response, source, where)


class ScoreRow:
    """One line of the scoreboard: a fault (None: the correct handshake), what a correct
    client does, what this client did, and whether that passes."""

    def __init__(
        self, fault: Fault | None, connections: Sequence[ServedConnection], problem: str | None
    ) -> None:
        self.fault = fault
        self.name = fault.name if fault is not None else "none"
        self.expect = fault.expect_text if fault is not None else ACCEPT
        self.connections = connections
        skipped = [c.skipped for c in connections if c.skipped is not None]
        self.skipped = skipped[0] if skipped and len(skipped) == len(connections) else None
        if self.skipped is not None:
            self.did, self.status = "n/a", "skip"
            self.detail = self.skipped
            return
        judged = [c for c in connections if c.behaviour is not None]
        if not judged:
            self.did, self.status = "nothing", FAIL
            self.detail = problem or "the client made no connection"
            return
        tries = f" ({len(connections)} connections)" if len(connections) > 1 else ""
        framed = [c for c in judged if c.frame_ok is not None]
        if framed:  # a frame fault: the first wrong answer, else the first answer
            chosen = next((c for c in framed if not c.frame_ok), framed[0])
            self.did, self.status = chosen.behaviour or "", PASS if chosen.frame_ok else FAIL
            self.detail = f"{chosen.how}{tries}"
            return
        accepted = [c for c in judged if c.behaviour == ACCEPTED]
        chosen = accepted[0] if accepted else judged[0]
        self.did = ACCEPTED if accepted else REFUSED
        ok = _did(self.did) in (chosen.expected if fault is not None else {ACCEPT})
        if fault is None and any(c.refused_request for c in connections):
            ok = False
        self.status = PASS if ok else FAIL
        self.detail = f"{chosen.how}{tries}"

    def as_dict(self) -> dict[str, object]:
        return {
            "fault": self.name,
            "correct": self.expect,
            "client": self.did,
            "result": self.status,
            "detail": self.detail,
            "why": self.fault.why if self.fault is not None else "RFC 6455 §4.1",
        }


def request_row(connections: Sequence[ServedConnection]) -> ScoreRow | None:
    """The client's own request, judged by the request rules, as a row of its own."""
    requests = [c.request for c in connections if c.request is not None]
    if not requests:
        return None
    row = ScoreRow(None, [], None)
    row.name, row.expect, row.did = "request", "valid", "valid"
    failed = [f for f in _request_findings(requests[0]) if f.status == FAIL]
    row.status = FAIL if failed else PASS
    row.detail = "; ".join(f.message for f in failed) or "every request rule passes"
    if failed:
        row.did = "invalid"
    return row
