"""The rules of the opening handshake (RFC 6455 §4), checked one by one, with reasons.

Pure code: a Handshake in, a list of Findings out. Each finding names its rule, the RFC section
it comes from, and says in one sentence what was seen and why it matters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from wsaccept_cli.core.diagnose import diagnose_accept
from wsaccept_cli.core.handshake import (
    MAX_HEADERS,
    MAX_VALUE,
    Capture,
    Handshake,
    Message,
    split_list,
)
from wsaccept_cli.core.keys import accept_for, key_problems, printable

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

    def as_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "status": self.status,
            "section": self.section,
            "message": self.message,
        }


class HandshakeReport:
    """A numbered handshake with its findings: the unit `inspect` and `probe` report."""

    __slots__ = ("findings", "handshake", "number", "verdict")

    def __init__(self, number: int, handshake: Handshake, findings: list[Finding]) -> None:
        self.number = number
        self.handshake = handshake
        self.findings = findings
        self.verdict = verdict(findings)

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
        request, response = self.handshake.request, self.handshake.response
        return {
            "handshake": self.number,
            "source": self.handshake.source,
            "url": self.handshake.url,
            "request_line": request.line if request else None,
            "response_line": response.line if response else None,
            "status": response.status if response else None,
            "verdict": self.verdict,
            "findings": [finding.as_dict() for finding in self.findings],
            "body": self.body(),
        }


def inspect_handshake(number: int, handshake: Handshake, capture: Capture) -> HandshakeReport:
    return HandshakeReport(number, handshake, check_handshake(handshake, capture))


def _show(value: str) -> str:
    """A captured value, quoted, with control characters and invalid UTF-8 escaped."""
    return repr(printable(value.encode("latin-1")))


def verdict(findings: list[Finding]) -> str:
    """fail if any rule failed, else warn if any warned, else pass."""
    statuses = {f.status for f in findings}
    return FAIL if FAIL in statuses else WARN if WARN in statuses else PASS


def check_handshake(handshake: Handshake, capture: Capture) -> list[Finding]:
    """Every rule that applies to `handshake`, in the order a reader would check them."""
    request, response = handshake.request, handshake.response
    findings: list[Finding] = []
    if request is None:
        findings.append(Finding("request", WARN, "§4.1", "the capture has no request"))
    else:
        findings += _request_findings(request)
    if response is None:
        findings.append(Finding("response", WARN, "§4.1", "the capture has no response"))
    else:
        findings += _response_findings(request, response, capture)
    findings += _middlebox_findings(request, response)
    return findings


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
    return Finding(
        "request.method", FAIL, "§4.1", f"the method is {request.method}; it must be GET"
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
    hint = (
        "; a proxy on the way probably speaks HTTP/1.0, which cannot upgrade a connection"
        if message.kind == "response"
        else ""
    )
    return Finding(
        rule, FAIL, "§4.1", f"HTTP/{message.version}: a handshake needs HTTP/1.1 or later{hint}"
    )


def _host(request: Message) -> Finding:
    hosts = request.values("host") or request.values(":authority")
    if len(hosts) == 1:
        return Finding("request.host", PASS, "§4.1", f"Host is {_show(hosts[0])}")
    if not hosts:
        return Finding("request.host", FAIL, "§4.1", "no Host header; the request must have one")
    return _repeated("request.host", "Host", len(hosts), "§4.1")


def _token_rule(message: Message, rule: str, header: str, token: str, section: str) -> Finding:
    values = message.values(header)
    if token in message.tokens(header):
        return Finding(rule, PASS, section, f"{header} contains {token!r}")
    if not values:
        found = f"no {header} header"
    else:
        found = f"{header} is {', '.join(_show(v) for v in values)}"
    return Finding(rule, FAIL, section, f"{found}; it must contain the token {token!r}")


def _upgrade(request: Message) -> Finding:
    return _token_rule(request, "request.upgrade", "Upgrade", "websocket", "§4.1")


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
)


def _extension_names(values: list[str]) -> list[str]:
    return [item.split(";")[0].strip().lower() for item in split_list(values) if item]


def _response_findings(
    request: Message | None, response: Message, capture: Capture
) -> Iterator[Finding]:
    version = _http_version(response, "response.http_version")
    if version is not None:
        yield version
    if response.status is not None and response.status != 101:
        yield _status_failure(response)
        if response.status == 426:
            offered = response.values("sec-websocket-version")
            listed = ", ".join(offered) if offered else "none"
            yield Finding(
                "response.versions", INFO, "§4.4", f"the server supports versions: {listed}"
            )
        return
    status = "101" if response.status == 101 else "not shown in the capture"
    yield Finding(
        "response.status", PASS if response.status else INFO, "§4.2.2", f"status {status}"
    )
    yield _token_rule(response, "response.upgrade", "Upgrade", "websocket", "§4.1")
    yield _token_rule(response, "response.connection", "Connection", "upgrade", "§4.1")
    yield _accept(request, response, capture)
    yield from _negotiated(request, response)


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
            "cannot check Sec-WebSocket-Accept: the capture has no single request key",
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
        f"Sec-WebSocket-Accept is {_show(accepts[0])}, expected {expected.decode()!r}: {cause}",
    )


def _negotiated(request: Message | None, response: Message) -> Iterator[Finding]:
    """The server may only select a subprotocol or extension the client offered (§4.1)."""
    chosen = response.values("sec-websocket-protocol")
    if chosen:
        offered = request.items("sec-websocket-protocol") if request else []
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
        offered_names = set(  # a set: both lists may hold thousands of names
            _extension_names(request.values("sec-websocket-extensions")) if request else []
        )
        unoffered = [name for name in _extension_names(extensions) if name not in offered_names]
        if unoffered:
            yield Finding(
                "response.extensions",
                FAIL,
                "§4.1",
                f"the server chose {', '.join(unoffered)}, which the client did not offer",
            )
        else:
            names = ", ".join(_extension_names(extensions))
            yield Finding("response.extensions", PASS, "§4.1", f"the server chose {names}")


def _middlebox_findings(request: Message | None, response: Message | None) -> Iterator[Finding]:
    for message in (m for m in (request, response) if m is not None):
        for via in message.values("via"):
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
            if count > 1 and name not in ("sec-websocket-extensions", "sec-websocket-version"):
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
