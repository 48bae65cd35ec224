"""The rules of the opening handshake (RFC 6455 §4), checked one by one, with reasons.

Pure code: a Handshake in, a list of Findings out. Each finding names its rule, the RFC section
it comes from, and says in one sentence what was seen and why it matters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from wsaccept_cli.core.clientmodels import PROFILES, offer_of, predict, raw_head
from wsaccept_cli.core.clients import ClientVerdict, predict_clients
from wsaccept_cli.core.diagnose import diagnose_accept
from wsaccept_cli.core.extensions import DEFLATE, deflate_problem, parse_extensions
from wsaccept_cli.core.handshake import (
    MAX_HEADERS,
    MAX_VALUE,
    Capture,
    Handshake,
    Message,
    split_list,
)
from wsaccept_cli.core.intermediaries import identify
from wsaccept_cli.core.keys import accept_for, key_problems, printable
from wsaccept_cli.core.wording import and_list, quoted

PASS, FAIL, WARN, INFO = "pass", "fail", "warn", "info"

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_TOKEN_MATCH = re.compile(_TOKEN)
_PARAMETER = re.compile(rf"{_TOKEN}(?:\s*=\s*(?:{_TOKEN}|{_QUOTED}))?")


def _is_extension(item: str) -> bool:
    """Whether `item` is `name; param; param=value; param="quoted"` (RFC 6455 §9.1).

    The item is split at the ';' outside quoted strings and each part matched on its own, in
    time linear in the item: one regular expression over the whole item repeats a group once per
    parameter, and sre keeps backtracking state for every repetition (megabytes for a HAR value
    of many ';', slower per byte the more there are)."""
    name, *parameters = split_list([item], ";")
    return bool(_TOKEN_MATCH.fullmatch(name)) and all(map(_PARAMETER.fullmatch, parameters))


STATUS_MEANINGS = {
    200: "an HTTP server or proxy answered as plain HTTP and did not upgrade: the WebSocket"
    " endpoint is elsewhere, or a proxy in front of it does not pass Upgrade through",
    400: "the server rejected the request, usually for a missing or malformed WebSocket header"
    " (see the request findings)",
    401: "the server wants authentication before it upgrades",
    403: "the server refused the request, usually its Origin check (the Origin is not on its"
    " allowed list) or an authorization rule",
    404: "no WebSocket endpoint at this path",
    407: "a proxy wants authentication (Proxy-Authorization)",
    426: "Upgrade Required: the server does not speak the requested Sec-WebSocket-Version"
    " (RFC 6455 §4.4), or it is a plain HTTP endpoint that wants an upgrade",
    502: "a proxy could not reach the WebSocket backend (bad gateway)",
    503: "the service is unavailable (overloaded, or no backend behind the proxy)",
    504: "a proxy timed out waiting for the WebSocket backend",
}


class Finding:
    """One rule's verdict on one handshake."""

    __slots__ = ("message", "rule", "section", "status")

    def __init__(self, rule: str, status: str, section: str, message: str) -> None:
        self.rule = rule
        self.status = status
        self.section = section
        self.message = message

    def as_dict(self) -> dict[str, str | None]:
        """The JSON form: `section` is null where no section applies (shown as `-`)."""
        return {
            "rule": self.rule,
            "status": self.status,
            "section": None if self.section == "-" else self.section,
            "message": self.message,
        }


class HandshakeReport:
    """A numbered handshake with its findings: the unit `inspect` and `probe` report."""

    __slots__ = ("_clients", "findings", "handshake", "number", "verdict")

    def __init__(self, number: int, handshake: Handshake, findings: list[Finding]) -> None:
        self.number = number
        self.handshake = handshake
        self.findings = findings
        self.verdict = verdict(findings)
        self._clients: tuple[ClientVerdict, ...] | None = None

    @property
    def clients(self) -> tuple[ClientVerdict, ...]:
        """Which well-known clients would accept the response (`core.clients`), made when
        first asked for."""
        if self._clients is None:
            self._clients = clients_of(self.handshake)
        return self._clients

    def describe(self) -> str:
        """Where the handshake came from, for a heading."""
        request, response = self.handshake.request, self.handshake.response
        parts = [self.handshake.source]
        if self.handshake.url:
            parts.append(self.handshake.url)
        if request is not None and request.line is not None:
            parts.append(f"request at line {request.line}")
        if response is not None and response.line is not None:
            parts.append(f"response at line {response.line}")
        return ", ".join(parts)

    def body(self) -> list[str]:
        """The first lines of a non-101 response's body, which often say why."""
        response = self.handshake.response
        if response is None or response.status in (None, 101):
            return []
        return [printable(line.encode("latin-1")) for line in response.body]

    def as_dict(self) -> dict[str, Any]:
        record = self._record()
        if self.handshake.connection is not None:  # found in a packet capture
            record["connection"] = self.handshake.connection.as_dict()
        return record

    def _record(self) -> dict[str, Any]:
        request, response = self.handshake.request, self.handshake.response
        return {
            "handshake": self.number,
            "source": self.handshake.source,
            "url": self.handshake.url,
            "request_line_number": request.line if request else None,
            "response_line_number": response.line if response else None,
            "status": response.status if response else None,
            "verdict": self.verdict,
            "findings": [finding.as_dict() for finding in self.findings],
            "clients": [client.as_dict() for client in self.clients],
            "body": self.body(),
        }


def inspect_handshake(number: int, handshake: Handshake, capture: Capture) -> HandshakeReport:
    return HandshakeReport(number, handshake, check_handshake(handshake, capture))


def _show(value: str) -> str:
    """A captured value, quoted, with control characters and invalid UTF-8 escaped."""
    return quoted(printable(value.encode("latin-1")))


def verdict(findings: list[Finding]) -> str:
    """fail if any rule failed, else warn if any warned, else pass."""
    statuses = {f.status for f in findings}
    return FAIL if FAIL in statuses else WARN if WARN in statuses else PASS


def clients_of(handshake: Handshake) -> tuple[ClientVerdict, ...]:
    """The client predictions of a handshake, made once (the rules and the report share them)."""
    if handshake.predicted is None:
        handshake.predicted = predict_clients(handshake)
    return handshake.predicted  # type: ignore[no-any-return]


def check_handshake(handshake: Handshake, capture: Capture) -> list[Finding]:
    """Every rule that applies to `handshake`, in the order a reader would check them; then
    the verdict of the RFCs' grammar and of the clients (`_verdict_findings`)."""
    request, response = handshake.request, handshake.response
    findings: list[Finding] = []
    if request is None:
        findings.append(Finding("request", WARN, "§4.1", "the capture has no request"))
    else:
        findings += _request_findings(request)
    clients = clients_of(handshake) if request is not None and response is not None else ()
    if response is None:
        findings.append(_no_response(request, capture))
    else:
        findings += _response_findings(request, response, capture, clients)
        findings += _refusal_of_a_valid_request(request, response, findings)
        findings += _verdict_findings(request, response, clients, failed=_failed(findings))
    findings += _middlebox_findings(request, response, clients)
    return findings


def _failed(findings: list[Finding]) -> bool:
    return any(finding.status == FAIL for finding in findings)


def _verdict_findings(
    request: Message | None,
    response: Message,
    clients: tuple[ClientVerdict, ...],
    *,
    failed: bool,
) -> Iterator[Finding]:
    """The overall verdict follows the RFCs and the clients: a head that breaks RFC 9112 /
    9110 grammar fails, and so does a 101 every modelled client refuses; a 101 some of them
    refuse is a warning naming them; a 101 none refuses adds nothing. A handshake a rule
    already failed gets no clients finding (the `clients:` line says who refuses)."""
    if request is not None and request.values(":protocol"):
        return  # HTTP/2 and HTTP/3 (RFC 8441, RFC 9220): core.rules_h2
    from wsaccept_cli.core.clientmodels import raw_head
    from wsaccept_cli.core.rfcgrammar import grammar_problems

    problems: list[str] = []
    if response.raw is not None or response.start is not None:  # a HAR keeps no syntax
        problems = grammar_problems(raw_head(response), exact=response.raw is not None)
    if problems:
        yield Finding("response.grammar", FAIL, "RFC 9112", "; ".join(problems))
    if response.status != 101 or not clients or failed or problems:
        return
    refused = tuple(verdict for verdict in clients if not verdict.accepts)
    if not refused:
        return
    from wsaccept_cli.core.clientmodels import describe

    who = describe(refused).removeprefix("refused by ")
    if len(refused) == len(clients):
        yield Finding(
            "response.clients",
            FAIL,
            "§4.1",
            f"every client wsaccept models refuses this 101: {who}",
        )
    elif all(_after_head(verdict.reason) for verdict in refused):
        closes = all((verdict.reason or "").startswith("a Close frame (") for verdict in refused)
        one = "s" if len(refused) == 1 else ""
        yield Finding(
            "response.clients",
            WARN,
            "§5.5.1" if closes else "§5.2",
            f"the 101 is right, but {who} read{one} what the server sent right behind it"
            f" before {'its' if one else 'their'} first message goes out, and stop{one} there;"
            " the other clients open it and send",
        )
    else:
        yield Finding(
            "response.clients",
            WARN,
            "§4.1",
            f"the RFCs allow this 101, but {who} refuse{'s' if len(refused) == 1 else ''} it;"
            " the other clients open it",
        )


def _after_head(reason: str | None) -> bool:
    """Whether a refusal is about the bytes after the head (`clientmodels.frames`)."""
    return reason is not None and "right after the head" in reason


def _refusers(clients: tuple[ClientVerdict, ...], reason: str) -> list[str]:
    """The clients whose prediction refuses for `reason`."""
    return [v.client for v in clients if not v.accepts and v.reason == reason]


def _lf_capture(request: Message, response: Message) -> Finding:
    """A note on a capture whose every line ends in LF: read with CR LF (a tool may have made
    the endings), it says which clients would refuse the same response in bare LF on the wire,
    from their predictions on those bytes (so the note and the models cannot disagree)."""
    head = raw_head(response)
    verdicts = predict(head.replace(b"\r\n", b"\n"), offer_of(request))
    refusing = _refusers(verdicts, "bare LF line endings")
    wire = (
        f"{_names(refusing)} would refuse {'it' if len(refusing) == 1 else 'them'}"
        if refusing
        else "every client here would accept them"
    )
    return Finding(
        "response.line_endings",
        INFO,
        "RFC 9112 §2.2",
        "every line of the capture ends in a bare LF, as an editor or a copy may leave it, so"
        f" it was read as CR LF; had the server sent bare LF line endings, {wire}",
    )


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _no_response(request: Message | None, capture: Capture) -> Finding:
    """No response: say what the server must answer, for a request with one usable key."""
    missing = "the server sent no response" if capture.live else "the capture has no response"
    keys = request.values("sec-websocket-key") if request is not None else []
    if len(keys) != 1 or len(keys[0]) > 256:
        return Finding("response", WARN, "§4.1", missing)
    accept = accept_for(keys[0].encode("latin-1")).decode()
    return Finding(
        "response",
        WARN,
        "§4.2.2",
        f"{missing}; the server must answer 101 with Sec-WebSocket-Accept: {accept}"
        f" (`wsaccept compute --response {_show(keys[0])}` prints a complete one)",
    )


_REFUSALS = {400: "400 Bad Request", 401: "401 Unauthorized", 403: "403 Forbidden"}


def _refusal_of_a_valid_request(
    request: Message | None, response: Message, findings: list[Finding]
) -> Iterator[Finding]:
    """A 400, 401 or 403 to a request every rule passed: the server refused it for a reason
    of its own, not the RFC's; say which reasons are usual, and what Origin was sent."""
    if request is None or response.status not in _REFUSALS:
        return
    if any(f.status == FAIL and f.rule.startswith("request.") for f in findings):
        return
    origins = request.values("origin")
    origin = f"the Origin sent was {_show(origins[0])}" if origins else "no Origin was sent"
    if response.status == 400:
        yield Finding(
            "response.refusal",
            INFO,
            "§4.2.1",
            "the request is valid by RFC 6455, yet the server found it malformed (400 Bad"
            " Request): it did not get the request as sent, usually because a proxy in front of"
            " it dropped the hop-by-hop Upgrade and Connection headers (RFC 9110 §7.6.1), so it"
            " saw a plain GET it cannot upgrade; or it requires a subprotocol or header of its"
            " own; the body below may say which",
        )
        return
    yield Finding(
        "response.refusal",
        INFO,
        "§4.2.1",
        f"the request is valid by RFC 6455, so the server refused it by a check of its own"
        f" ({_REFUSALS[response.status]}): usually an Origin allow-list ({origin}), a missing"
        " subprotocol it requires, or authentication (a cookie or token); Node ws answers 401"
        " without WWW-Authenticate when its verifyClient refuses; the body below may say which",
    )


def _request_findings(request: Message) -> Iterator[Finding]:
    for rule in REQUEST_RULES:
        finding = rule(request)
        if finding is not None:
            yield finding


def _method(request: Message) -> Finding | None:
    if request.method is None:
        return None
    if request.method == "GET":
        return Finding("request.method", PASS, "§4.1", "the method is GET")
    case = " (methods are case-sensitive, RFC 9110 §9.1)" if request.method.upper() == "GET" else ""
    return Finding(
        "request.method", FAIL, "§4.1", f"the method is {request.method}; it must be GET{case}"
    )


def _at_least_1_1(version: str) -> bool:
    """Whether `version` (digits, maybe a dot and digits) is HTTP/1.1 or later, compared as
    numbers without int(): a capture may hold a version of 64,000 digits, which int() refuses
    (over 4,300 digits) or converts in quadratic time."""
    major, _, minor = version.partition(".")
    major = major.lstrip("0")
    return len(major) > 1 or major > "1" or (major == "1" and minor.strip("0") != "")


def _http_version(message: Message, rule: str) -> Finding | None:
    if message.version is None:
        return None
    if _at_least_1_1(message.version):
        return Finding(rule, PASS, "§4.1", f"HTTP/{message.version}")
    hint = ""
    if message.kind == "response" and _shows_a_proxy(message):
        hint = "; a proxy on the way probably speaks HTTP/1.0, which cannot upgrade a connection"
    elif message.kind == "response":
        hint = "; the server answered in HTTP/1.0, which has no protocol switch"
    return Finding(
        rule, FAIL, "§4.1", f"HTTP/{message.version}: a handshake needs HTTP/1.1 or later{hint}"
    )


def _shows_a_proxy(response: Message) -> bool:
    """Whether a response shows that a proxy passed it on: a Via header, or headers of a known
    proxy, load balancer or CDN (core.intermediaries); an HTTP/1.0 answer without them is more
    likely the server's own (python -m http.server, openssl s_server)."""
    if response.values("via"):
        return True
    return identify(response.status, response.values, [], response.names()) is not None


# Control characters (RFC 5234 CTL) but HTAB, which RFC 9110 §5.5 allows inside a field value.
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _host(request: Message) -> Finding:
    hosts = request.values("host") or request.values(":authority")
    if len(hosts) == 1 and _CONTROLS.search(hosts[0]):
        return Finding(
            "request.host",
            FAIL,
            "RFC 9110 §5.5",
            f"Host is {_show(hosts[0])}: it holds control characters, which make a field value"
            " invalid (and no host has them)",
        )
    if len(hosts) == 1:
        return Finding("request.host", PASS, "§4.1", f"Host is {_show(hosts[0])}")
    if not hosts:
        return Finding("request.host", FAIL, "§4.1", "no Host header; the request must have one")
    return _repeated("request.host", "Host", len(hosts), "§4.1")


def _token_rule(message: Message, rule: str, header: str, token: str, section: str) -> Finding:
    values = message.values(header)
    if token in message.tokens(header):
        return Finding(rule, PASS, section, f"{header} contains {quoted(token)}")
    if not values:
        found = f"no {header} header"
    else:
        found = f"{header} is {', '.join(_show(v) for v in values)}"
    return Finding(rule, FAIL, section, f"{found}; it must contain the token {quoted(token)}")


def _upgrade(request: Message) -> Finding:
    finding = _token_rule(request, "request.upgrade", "Upgrade", "websocket", "§4.1")
    tokens = request.tokens("upgrade")
    if finding.status == PASS and len(tokens) > 1:
        shown = ", ".join(map(_show, request.values("upgrade")))
        return Finding(
            "request.upgrade",
            WARN,
            "§4.1",
            f"Upgrade is {shown}: RFC 9110 §7.8 allows a list, but servers such as websockets,"
            " aiohttp, tornado and Node ws refuse anything but the single token websocket",
        )
    return finding


def _response_connection(response: Message) -> Finding:
    """The token upgrade, in a list or alone (§4.1, RFC 9110 §7.6.1 allows a list); which
    clients refuse a list is the clients finding's to say, from their predictions."""
    return _token_rule(response, "response.connection", "Connection", "upgrade", "§4.1")


def _response_upgrade(response: Message) -> Finding:
    """The client's second check (§4.1): the response's Upgrade is the token websocket,
    in any case, and nothing else; `websocket, h2c` is refused by most clients."""
    values = response.values("upgrade")
    if response.tokens("upgrade") == ["websocket"]:
        return Finding("response.upgrade", PASS, "§4.1", "Upgrade is websocket")
    found = f"Upgrade is {', '.join(map(_show, values))}" if values else "no Upgrade header"
    return Finding(
        "response.upgrade",
        FAIL,
        "§4.1",
        f"{found}; it must be exactly the token 'websocket' (in any case), which the client checks",
    )


def _connection(request: Message) -> Finding:
    return _token_rule(request, "request.connection", "Connection", "upgrade", "§4.1")


def _repeated(rule: str, header: str, count: int, section: str) -> Finding:
    return Finding(
        rule,
        FAIL,
        section,
        f"{header} appears {count} times; it must appear once (a proxy or framework probably"
        " added its own)",
    )


def _key(request: Message) -> Finding:
    keys = request.values("sec-websocket-key")
    if not keys:
        return Finding("request.key", FAIL, "§4.1", "no Sec-WebSocket-Key header")
    if len(keys) > 1:
        return _repeated("request.key", "Sec-WebSocket-Key", len(keys), "§11.3.1")
    problems = key_problems(keys[0].encode("latin-1"))
    if [p.code for p in problems] == ["non_canonical"]:
        return Finding(
            "request.key",
            WARN,
            "§4.1",
            f"key ends in {_show(keys[0][21:])}: its padding bits are not zero, so no base64"
            " encoder produces it, but RFC 4648 §3.5 lets a decoder accept it, and every server"
            " we tried does",
        )
    if problems:
        return Finding("request.key", FAIL, "§4.1", "; ".join(p.message for p in problems))
    return Finding("request.key", PASS, "§4.1", "Sec-WebSocket-Key decodes to 16 bytes")


def _version(request: Message) -> Finding:
    versions = request.values("sec-websocket-version")
    if versions == ["13"]:
        return Finding("request.version", PASS, "§4.1", "Sec-WebSocket-Version is 13")
    if not versions:
        return Finding("request.version", FAIL, "§4.1", "no Sec-WebSocket-Version header")
    if len(versions) > 1:
        return _repeated("request.version", "Sec-WebSocket-Version", len(versions), "§11.3.5")
    return Finding(
        "request.version",
        FAIL,
        "§4.1",
        f"Sec-WebSocket-Version is {', '.join(map(_show, versions))}; RFC 6455 is version 13,"
        " and servers answer other versions with 426",
    )


def _protocols(request: Message) -> Finding | None:
    values = request.values("sec-websocket-protocol")
    if not values:
        return None
    items = split_list(values)
    bad = [item for item in items if not _TOKEN_MATCH.fullmatch(item)]
    if bad:
        return Finding(
            "request.protocol",
            FAIL,
            "§4.1",
            f"Sec-WebSocket-Protocol has {_show(bad[0])}, which is not a token",
        )
    if len(set(items)) != len(items):
        return Finding(
            "request.protocol", FAIL, "§4.1", "Sec-WebSocket-Protocol lists a subprotocol twice"
        )
    return Finding("request.protocol", PASS, "§4.1", f"offers {', '.join(map(_show, items))}")


def _extensions(request: Message) -> Finding | None:
    values = request.values("sec-websocket-extensions")
    if not values:
        return None
    bad = [item for item in split_list(values) if not _is_extension(item)]
    if bad:
        return Finding(
            "request.extensions",
            FAIL,
            "§9.1",
            f"Sec-WebSocket-Extensions has {_show(bad[0])}, which is not name;param=value syntax",
        )
    offers_deflate = DEFLATE in ",".join(values).lower()
    for extension in (parse_extensions(values) if offers_deflate else None) or []:
        problem = (
            deflate_problem(extension.parameters, response=False)
            if extension.name == DEFLATE
            else None
        )
        if problem is not None:
            return Finding(
                "request.extensions",
                WARN,
                "RFC 7692 §7",
                f"{problem}; a server must decline such an offer, so the connection will not be"
                " compressed",
            )
    names = ", ".join(_extension_names(values))
    return Finding("request.extensions", PASS, "§9.1", f"offers {names}")


REQUEST_RULES: tuple[Callable[[Message], Finding | None], ...] = (
    _method,
    lambda request: _http_version(request, "request.http_version"),
    _host,
    _upgrade,
    _connection,
    _key,
    _version,
    _protocols,
    _extensions,
    lambda request: _field_controls(request, "request.fields", skip="host"),
)


def _field_controls(message: Message, rule: str, skip: str = "") -> Finding | None:
    """Header fields whose values hold control characters (RFC 9110 §5.5: invalid; a recipient
    must reject or replace CR, LF and NUL), named once each; None when there are none."""
    names: list[str] = []
    for name, value in message.headers:
        if name.lower() != skip and name not in names and _CONTROLS.search(value):
            names.append(name)
    if not names:
        return None
    shown = and_list([_show(name) for name in names[:5]]) + (" …" if len(names) > 5 else "")
    return Finding(
        rule,
        FAIL,
        "RFC 9110 §5.5",
        f"control characters in the value of {shown}: they make a field value invalid",
    )


def _extension_names(values: list[str]) -> list[str]:
    return [item.split(";")[0].strip().lower() for item in split_list(values) if item]


def _response_findings(
    request: Message | None,
    response: Message,
    capture: Capture,
    clients: tuple[ClientVerdict, ...] = (),
) -> Iterator[Finding]:
    version = _http_version(response, "response.http_version")
    if version is not None and response.status in (None, 101):
        yield version
    if response.bare_lf:
        refusing = _refusers(clients, "bare LF line endings")
        who = (
            f"; {_names(refusing)} refuse{'s' if len(refusing) == 1 else ''} it" if refusing else ""
        )
        yield Finding(
            "response.line_endings",
            WARN,
            "RFC 9112 §2.2",
            f"the response's lines end in a bare LF, not CR LF: a recipient may accept it{who}",
        )
    elif response.lf_capture and request is not None:
        yield _lf_capture(request, response)
    if response.interim:
        yield _interim(response, clients)
    if response.status is not None and response.status != 101:
        yield _status_failure(response)  # first: the status says more than the version
        if version is not None:
            yield version
        if response.status == 426:
            yield _versions(request, response)
        return
    status = "101" if response.status == 101 else "not shown in the capture"
    yield Finding(
        "response.status", PASS if response.status else INFO, "§4.2.2", f"status {status}"
    )
    yield _response_upgrade(response)
    yield _response_connection(response)
    yield _accept(request, response, capture)
    yield from _negotiated(request, response)
    controls = _field_controls(response, "response.fields")
    if controls is not None:
        yield controls


def _interim(response: Message, clients: tuple[ClientVerdict, ...] = ()) -> Finding:
    """Interim responses (a 100 Continue, a 103 Early Hints) before the final one. RFC 6455 §4.1
    has a client handle a status other than 101 "per HTTP procedures", and HTTP's procedure is
    to read on to the final response (RFC 9110 §15.2); a client whose parser does not (its
    model's `Grammar.interim`) takes the 1xx as the answer and fails."""
    statuses = [m.status for m in response.interim if m.status is not None]
    shown = ", ".join(str(status) for status in statuses)
    if clients:  # the predictions say which clients fail on them (and cannot disagree)
        failing = [v.client for v in clients if not v.accepts and _on_interim(v.reason or "")]
    else:
        failing = [p.name for p in PROFILES if any(s not in p.grammar.interim for s in statuses)]
    what = "an interim response" if len(statuses) == 1 else f"{len(statuses)} interim responses"
    text = f"{what} ({shown}) came before the final one; a client must read on to the final one"
    if not failing:
        return Finding("response.interim", PASS, "RFC 9110 §15.2", f"{text}, as every one does")
    names = and_list(failing)
    return Finding(
        "response.interim",
        WARN,
        "RFC 9110 §15.2",
        f"{text}, but {names} {'takes' if len(failing) == 1 else 'take'} the first as the"
        " answer and fail",
    )


def _on_interim(reason: str) -> bool:
    """Whether a prediction refuses because of an interim response: it took the 1xx as the
    answer, or what followed it failed (llhttp after an HTTP/1.0 one)."""
    return bool(re.match(r"status 1[0-9][0-9], not 101", reason)) or "interim" in reason


def _versions(request: Message | None, response: Message) -> Finding:
    """A 426 lists the versions the server speaks (§4.4). One without any, to a request that
    asked for an upgrade, is the server asking for an upgrade it never saw: a proxy in front of
    it dropped the request's hop-by-hop Upgrade and Connection."""
    offered = response.values("sec-websocket-version")
    if offered:
        return Finding(
            "response.versions", INFO, "§4.4", f"the server supports versions: {', '.join(offered)}"
        )
    asked = request is not None and "websocket" in request.tokens("upgrade")
    return Finding(
        "response.versions",
        INFO,
        "§4.4",
        "the 426 names no Sec-WebSocket-Version, so it is not a version mismatch: the server"
        " asks for an upgrade it did not see"
        + (
            "; the request had Upgrade: websocket, so a proxy in front of the server probably"
            " dropped the hop-by-hop Upgrade and Connection headers (RFC 9110 §7.6.1; nginx"
            " needs proxy_http_version 1.1 and proxy_set_header Upgrade and Connection)"
            if asked
            else ""
        ),
    )


def _status_failure(response: Message) -> Finding:
    status = response.status or 0
    meaning = STATUS_MEANINGS.get(status)
    if meaning is None and 300 <= status < 400:
        location = response.values("location")
        where = f" to {_show(location[0])}" if location else ""
        meaning = (
            f"a redirect{where}; WebSocket clients need not follow redirects (§4.1), so point the"
            " client at the final URL"
        )
    if meaning is None:
        meaning = "the server did not upgrade the connection"
    reason = f" {response.reason}" if response.reason else ""
    return Finding("response.status", FAIL, "§4.1", f"status {status}{reason}, not 101: {meaning}")


def _accept(request: Message | None, response: Message, capture: Capture) -> Finding:
    accepts = response.values("sec-websocket-accept")
    if not accepts:
        return Finding(
            "response.accept",
            FAIL,
            "§4.1",
            "no Sec-WebSocket-Accept header; the client must fail the connection",
        )
    if len(accepts) > 1:
        return _repeated("response.accept", "Sec-WebSocket-Accept", len(accepts), "§11.3.3")
    keys = request.values("sec-websocket-key") if request is not None else []
    if len(keys) != 1:
        return Finding(
            "response.accept",
            WARN,
            "§4.2.2",
            "cannot check Sec-WebSocket-Accept: the request has no single key",
        )
    key, received = keys[0].encode("latin-1"), accepts[0].encode("latin-1")
    expected = accept_for(key)
    if received == expected:
        return Finding("response.accept", PASS, "§4.2.2", "Sec-WebSocket-Accept matches the key")
    other = capture.key_answered_by(received)  # never this request's key: that would match
    others = [(other[0].encode("latin-1"), other[1])] if other is not None else []
    cause = diagnose_accept(key, received, others)
    return Finding(
        "response.accept",
        FAIL,
        "§4.2.2",
        f"Sec-WebSocket-Accept is {_show(accepts[0])}, expected"
        f" {quoted(expected.decode())}: {cause}",
    )


def _negotiated(request: Message | None, response: Message) -> Iterator[Finding]:
    """The server may only select a subprotocol or extension the client offered (§4.1)."""
    chosen = response.values("sec-websocket-protocol")
    offered = request.items("sec-websocket-protocol") if request else []
    if not chosen and offered:
        yield Finding(
            "response.protocol",
            WARN,
            "§4.1",
            f"the client offered {', '.join(map(_show, offered))} and the server chose none:"
            " RFC 6455 allows it, but Chromium and Node ws fail the connection (the WHATWG"
            " WebSocket standard requires it of browsers)",
        )
    if chosen:
        items = response.items("sec-websocket-protocol")
        if len(items) > 1:
            yield Finding(
                "response.protocol", FAIL, "§4.1", f"the server chose {len(items)} subprotocols"
            )
        elif not items:  # "" or "," (found by fuzzing: it used to raise IndexError)
            yield Finding(
                "response.protocol",
                FAIL,
                "§4.1",
                f"Sec-WebSocket-Protocol is {', '.join(map(_show, chosen))}, which names no"
                " subprotocol",
            )
        elif items[0] in offered:
            yield Finding("response.protocol", PASS, "§4.1", f"the server chose {_show(items[0])}")
        else:
            case = " (subprotocol names match case-sensitively, RFC 7936)"
            differs = items[0].lower() in (name.lower() for name in offered)
            yield Finding(
                "response.protocol",
                FAIL,
                "§4.1",
                f"the server chose {_show(items[0])}, which the client did not offer"
                + (case if differs else ""),
            )
    extensions = response.values("sec-websocket-extensions")
    if extensions:
        yield _response_extensions(request, extensions)


def _response_extensions(request: Message | None, values: list[str]) -> Finding:
    """Only what was offered, each once, permessage-deflate with parameters valid in a
    response (RFC 7692 §7: the client must fail the connection otherwise)."""
    extensions = parse_extensions(values)
    if extensions is None:
        return Finding(
            "response.extensions",
            FAIL,
            "§9.1",
            f"Sec-WebSocket-Extensions is {', '.join(map(_show, values))}, which is not"
            " name;param=value syntax",
        )
    offered_names = set(  # a set: both lists may hold thousands of names
        _extension_names(request.values("sec-websocket-extensions")) if request else []
    )
    names = [extension.name for extension in extensions]
    unoffered = [name for name in names if name not in offered_names]
    if unoffered:
        return Finding(
            "response.extensions",
            FAIL,
            "§4.1",
            f"the server chose {', '.join(unoffered)}, which the client did not offer",
        )
    if names.count(DEFLATE) > 1:
        return Finding(
            "response.extensions",
            FAIL,
            "RFC 7692 §5",
            f"the server accepted {DEFLATE} {names.count(DEFLATE)} times; it may accept one"
            " offer, and Chromium, Firefox and websockets fail the connection",
        )
    for extension in extensions:
        problem = (
            deflate_problem(extension.parameters, response=True)
            if extension.name == DEFLATE
            else None
        )
        if problem is not None:
            return Finding("response.extensions", FAIL, "RFC 7692 §7", problem)
    if len(set(names)) < len(names):
        return Finding(
            "response.extensions",
            WARN,
            "§9.1",
            f"the server accepted the same extension twice ({', '.join(names)}): clients that"
            " know only permessage-deflate refuse it",
        )
    return Finding("response.extensions", PASS, "§4.1", f"the server chose {', '.join(names)}")


# Headers a message may split over several lines (RFC 6455 §11.3.2, §11.3.4, §11.3.5): no sign
# of a proxy adding its own. A response chooses one subprotocol, so two there are suspicious.
_SPLIT_ALLOWED = {
    "request": ("sec-websocket-extensions", "sec-websocket-protocol", "sec-websocket-version"),
    "response": ("sec-websocket-extensions", "sec-websocket-version"),
}


def _middlebox_findings(
    request: Message | None,
    response: Message | None,
    clients: tuple[ClientVerdict, ...] = (),
) -> Iterator[Finding]:
    opened = (
        response is not None
        and response.status == 101
        and bool(clients)
        and all(verdict.accepts for verdict in clients)
    )
    for message in (m for m in (request, response) if m is not None):
        for via in message.values("via"):
            if opened:
                yield Finding(
                    f"{message.kind}.via",
                    INFO,
                    "§4.1",
                    f"the {message.kind} passed a proxy (Via: {_show(via)}), which carried the"
                    " upgrade: every client opens this 101",
                )
                continue
            yield Finding(
                f"{message.kind}.via",
                WARN,
                "§4.1",
                f"the {message.kind} passed a proxy (Via: {_show(via)}); a proxy that does not"
                " support WebSocket drops Upgrade and Connection or answers itself",
            )
        counts: dict[str, int] = {}
        for name, _ in message.headers:
            lowered = name.lower()
            if lowered.startswith("sec-websocket-") and lowered not in (
                "sec-websocket-key",
                "sec-websocket-accept",
            ):
                counts[lowered] = counts.get(lowered, 0) + 1
        for name, count in counts.items():
            if count > 1 and name not in _SPLIT_ALLOWED.get(message.kind or "", ()):
                yield Finding(
                    f"{message.kind}.duplicates",
                    WARN,
                    "§11.3",
                    f"{name} appears {count} times: usually a proxy or framework adding its own",
                )
        if message.truncated:
            what = (
                f"has more than {MAX_HEADERS} header lines; only the first {MAX_HEADERS} were read"
                if message.header_lines > MAX_HEADERS
                else f"has a folded header value over {MAX_VALUE // 1024} KiB; the rest was not"
                " read"
            )
            yield Finding(f"{message.kind}.size", WARN, "§4.1", f"the {message.kind} {what}")
    if (
        response is not None
        and response.status == 101
        and not response.values("upgrade")
        and not response.values("connection")
    ):
        yield Finding(
            "response.hop_by_hop",
            WARN,
            "§4.1",
            "the 101 has neither Upgrade nor Connection: a proxy that drops hop-by-hop"
            " headers is the usual cause",
        )
