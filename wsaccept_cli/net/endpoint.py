"""One endpoint probed the way a user's network reaches it: the proxy chosen as curl chooses it,
redirects followed with -L, the connection held with --hold/--ping/--send, and the report told
who answered (core.intermediaries). Network code: returns a `Checked`, never prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from wsaccept_cli.core.intermediaries import identify
from wsaccept_cli.core.outcomes import ProbeOutcome
from wsaccept_cli.core.pins import Pins
from wsaccept_cli.core.proxyenv import choose_proxy
from wsaccept_cli.core.request import RequestTarget, probe_request
from wsaccept_cli.core.rules import FAIL, INFO, WARN, Finding, HandshakeReport, verdict
from wsaccept_cli.core.secrets import Redactor, redacted, request_secrets
from wsaccept_cli.core.wording import plural, quoted
from wsaccept_cli.net.connect import EXPIRY_WARNING_DAYS, Progress, Route, no_progress
from wsaccept_cli.net.probe import ProbeResult, outcome, probe_report, run_probe
from wsaccept_cli.net.recording import Recorder

if TYPE_CHECKING:
    import socket

REDIRECTS = (301, 302, 303, 307, 308)
SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}
# not sent on to another scheme, host or port (curl, since 7.83: CVE-2022-27776)
CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization")


class Settings:
    """The options of `probe` that apply to every URL."""

    def __init__(
        self,
        *,
        headers: tuple[str, ...] = (),
        origin: str | None = None,
        protocols: tuple[str, ...] = (),
        extensions: tuple[str, ...] = (),
        key: str | None = None,
        timeout: float = 10.0,
        proxy: str | None = None,
        noproxy: str | None = None,
        environ: Mapping[str, str] | None = None,
        pins: Pins | None = None,
        family: int = 0,
        insecure: bool = False,
        cacert: str | None = None,
        cert: str | None = None,
        cert_key: str | None = None,
        follow: bool = False,
        max_redirs: int = 10,
        show_secrets: bool = False,
        hold: Any = None,
        progress: Progress = no_progress,
    ) -> None:
        self.recorder: Recorder | None = None  # probe --save
        self.headers = headers
        self.origin = origin
        self.protocols = protocols
        self.extensions = extensions
        self.key = key
        self.timeout = timeout
        self.proxy = proxy
        self.noproxy = noproxy
        # The environment as it was (a dict: os.environ encodes each name it is asked for,
        # and every probe's proxy choice asks for a dozen)
        self.environ = dict(environ or {})
        self.pins = pins or Pins([], [])
        self.family = family
        self.insecure = insecure
        self.cacert = cacert
        self.cert = cert
        self.cert_key = cert_key
        self.follow = follow
        self.max_redirs = max_redirs
        self.show_secrets = show_secrets
        self.hold = hold  # a net.hold.Plan, or None
        # What takes over an upgraded connection instead (`connect`'s conversation), or None
        self.after_upgrade: Callable[[socket.socket, ProbeResult], None] | None = None
        self.progress = progress  # each step as it happens, for a person watching one probe

    def request(self, url: str, headers: tuple[str, ...]) -> tuple[RequestTarget, bytes]:
        """The target and request for `url` (RequestError for a bad value)."""
        return probe_request(
            url,
            headers,
            origin=self.origin,
            protocols=self.protocols,
            extensions=self.extensions,
            key=self.key,
        )

    def route(self, target: RequestTarget) -> Route:
        """How to reach `target` (ProxyError for a proxy URL that cannot be used)."""
        choice = choose_proxy(
            target.secure,
            target.host,
            option=self.proxy,
            noproxy=self.noproxy,
            environ=self.environ,
        )
        return Route(
            pins=self.pins,
            family=self.family,
            proxy=choice,
            insecure=self.insecure,
            cacert=self.cacert,
            cert=self.cert,
            key=self.cert_key,
        )


class Checked:
    """One endpoint's result as it is reported: the last hop's exchange (secrets redacted unless
    --show-secrets), its report and outcome, and what the connection layer recorded."""

    def __init__(
        self,
        url: str,
        result: ProbeResult,
        report: HandshakeReport,
        ended: ProbeOutcome,
        exchange: tuple[bytes, bytes],
        redirects: list[dict[str, Any]],
        intermediary: dict[str, Any] | None,
        proxy_reason: str,
    ) -> None:
        self.url = url
        self.result = result
        self.report = report
        self.outcome = ended
        self.request, self.response = exchange
        self.redirects = redirects
        self.intermediary = intermediary
        self.proxy_reason = proxy_reason

    def extra(self) -> dict[str, Any]:
        """The JSON fields this module adds to a probe's record."""
        proxy = self.result.proxy or {"url": None, "reason": self.proxy_reason}
        return {
            "proxy": proxy,
            "pinned": self.result.pinned,
            "tls": self.result.tls,
            "redirects": self.redirects,
            "intermediary": self.intermediary,
            "held": self.result.held,
        }


def check(url: str, settings: Settings) -> Checked:
    """Probe `url`, following redirects with -L. RequestError or ProxyError for bad input in
    the first URL (a usage error); in a redirect's Location they end the chain as a finding."""
    started = time.monotonic()
    target, request = settings.request(url, settings.headers)
    route = settings.route(target)
    secrets = request_secrets(request, target)  # the first request carries the URL's password
    redirects: list[dict[str, Any]] = []
    hops: list[Finding] = []
    seen = {target.full_url}
    headers = settings.headers
    while True:
        left = max(settings.timeout - (time.monotonic() - started), 0.001) if redirects else (
            settings.timeout)  # fmt: skip
        result, report = _probe_once(target, request, route, left, settings)
        location = _location(report) if settings.follow and result.error is None else None
        if location is None:
            break
        hop, to, problem = _next_hop(target, location, report, len(redirects), seen, settings)
        redirects.append(hop)
        hops.append(report.findings.pop())
        if problem is not None:
            report.findings.append(problem)
            break
        headers = _drop_credentials(hop, hops[-1], headers, target)
        try:
            target, request = settings.request(to, headers)
            route = settings.route(target)
        except ValueError as error:  # RequestError, ProxyError
            report.findings.append(Finding("redirect.location", FAIL, "-", str(error)))
            break
        seen.add(target.full_url)
    report.findings[:0] = hops
    checked = _checked(target, result, report, redirects, route)
    if not settings.show_secrets:
        _redact_records(checked, target, route, secrets)
    return checked


def _redact_records(
    checked: Checked, target: RequestTarget, route: Route, secrets: list[bytes]
) -> None:
    """Credentials kept out of everything reported, in one pass with one set of secrets: those
    of the first request (the URL's password), of the last one (what was sent to the server
    that answered), and the proxy's; the hops and the proxy's answer too, since a Location or
    a proxy may echo what was sent."""
    proxy = route.proxy.proxy if route.proxy else None
    extra = [secret.encode() for secret in proxy.secrets()] if proxy else []
    last = request_secrets(checked.result.request, target) if checked.redirects else []
    redactor = Redactor([*secrets, *last, *extra])
    for hop in checked.redirects:
        for field in ("from", "location", "to"):
            hop[field] = redactor.redact_text(hop[field])
    record = checked.result.proxy
    if record is not None and "response" in record:
        record["response"] = [redactor.redact_text(line) for line in record["response"]]
    checked.request, checked.response = redacted(
        redactor, checked.request, checked.response, checked.report
    )
    checked.url = checked.report.handshake.url = redactor.redact_text(checked.url)


def _probe_once(
    target: RequestTarget, request: bytes, route: Route, timeout: float, settings: Settings
) -> tuple[ProbeResult, HandshakeReport]:
    after = settings.after_upgrade
    if after is None and settings.hold is not None:
        from wsaccept_cli.net.hold import holder

        after = holder(settings.hold)
    shown_url = target.full_url if settings.show_secrets else target.display_url
    result = run_probe(
        target,
        request,
        timeout=timeout,
        url=shown_url,
        route=route,
        after_upgrade=after,
        progress=settings.progress,
        recorder=settings.recorder,
    )
    return result, probe_report(result)


def _location(report: HandshakeReport) -> str | None:
    response = report.handshake.response
    if response is None or response.status not in REDIRECTS:
        return None
    values = response.values("location")
    return values[0].strip() if values else None


def _next_hop(
    target: RequestTarget,
    location: str,
    report: HandshakeReport,
    count: int,
    seen: set[str],
    settings: Settings,
) -> tuple[dict[str, Any], str, Finding | None]:
    """The redirect as a hop of the report, the URL it leads to, and the finding that ends the
    chain, if any. An http:// or https:// Location leads to ws:// or wss://, as curl does."""
    response = report.handshake.response
    assert response is not None
    joined = urljoin(target.full_url, location)
    scheme, colon, rest = joined.partition(":")
    mapped = SCHEMES.get(scheme.lower())
    to = f"{mapped}:{rest}" if mapped and colon else joined
    try:
        next_target = RequestTarget(to)
        host_changed = (next_target.host, next_target.port) != (target.host, target.port)
        scheme_changed = next_target.secure != target.secure
        shown_to = next_target.full_url if settings.show_secrets else next_target.display_url
    except ValueError:
        next_target, host_changed, scheme_changed, shown_to = None, True, False, to
    shown_from = target.full_url if settings.show_secrets else target.display_url
    hop = {
        "from": shown_from,
        "status": response.status,
        "location": location,
        "to": shown_to,
        "scheme_changed": scheme_changed,
        "host_changed": host_changed,
    }
    notes = [n for n, changed in (("scheme", scheme_changed), ("host", host_changed)) if changed]
    change = f" (the {' and '.join(notes)} changes)" if notes else ""
    report.findings.append(
        Finding(
            "redirect.hop", WARN if notes else INFO, "§4.1",
            f"{response.status} from {shown_from} to {shown_to}{change}; followed (-L)",
        )
    )  # fmt: skip
    if next_target is None:
        return (
            hop,
            to,
            Finding(
                "redirect.location",
                FAIL,
                "-",
                f"the Location {quoted(location)} is not a ws:// URL",
            ),
        )
    if next_target.full_url in seen:
        return (
            hop,
            to,
            Finding("redirect.loop", FAIL, "-", f"a redirect loop: {shown_to} was visited before"),
        )
    if count + 1 > settings.max_redirs:
        return hop, to, Finding(
            "redirect.limit", FAIL, "-",
            f"more than {settings.max_redirs} redirects (--max-redirs)",
        )  # fmt: skip
    return hop, to, None


def _drop_credentials(
    hop: dict[str, Any], finding: Finding, headers: tuple[str, ...], target: RequestTarget
) -> tuple[str, ...]:
    """curl's rule: credentials (-H Authorization, -H Cookie, the URL's user and password) go
    on only to the same scheme, host and port; the hop and its finding say what was dropped."""
    changed = [n for n in ("scheme", "host") if hop[f"{n}_changed"]]
    dropped = [h.partition(":")[0].strip() for h in headers if _is_credential(h)] if changed else []
    if changed and target.authorization is not None:
        dropped.append("the URL's user and password")
    hop["credentials_dropped"] = dropped
    if dropped:
        finding.message += (
            f"; {' and '.join(dropped)} not sent on, since the {' and '.join(changed)} changes"
            " (as curl)"
        )
    return tuple(h for h in headers if not _is_credential(h)) if changed else headers


def _is_credential(header: str) -> bool:
    return header.partition(":")[0].strip().lower() in CREDENTIAL_HEADERS


def _checked(
    target: RequestTarget,
    result: ProbeResult,
    report: HandshakeReport,
    redirects: list[dict[str, Any]],
    route: Route,
) -> Checked:
    report.findings[:0] = _connection_findings(result, route)
    if target.scheme_note is not None:
        report.findings.insert(0, Finding("request.url", INFO, "§3", target.scheme_note))
    last = report.findings[-1] if report.findings else None
    if last is not None and last.rule == "response.closed" and result.tls and not route.cert:
        last.message += (
            " (a server that requires a TLS client certificate closes like this after a"
            " TLS 1.3 handshake: --cert FILE --key FILE)"
        )
    if isinstance(result.held, dict):
        report.findings += _held_findings(result.held)
    found = _intermediary(result, report)
    report.verdict = verdict(report.findings)
    exchange = (result.request, result.response)  # redacted by `check` unless --show-secrets
    reason = route.proxy.reason if route.proxy else ""
    ended = outcome(result, report)
    return Checked(result.url, result, report, ended, exchange, redirects, found, reason)


def _connection_findings(result: ProbeResult, route: Route) -> list[Finding]:
    found = []
    choice = route.proxy
    if choice is not None and (choice.proxy is not None or choice.source or "matches" in (
            choice.reason)):  # fmt: skip
        what = f"through the proxy {choice.proxy.display}" if choice.proxy else "directly"
        found.append(Finding("connection.proxy", INFO, "-", f"{what}: {choice.reason}"))
    if result.pinned:
        found.append(Finding("connection.pinned", INFO, "-", ", ".join(result.pinned)))
    tls = result.tls
    if tls is not None:
        text = f"{tls['version']}, {tls['cipher']}"
        if tls["subject"]:
            text += f"; certificate {tls['subject']}, issued by {tls['issuer']}"
            text += f", expires {tls['not_after']}"
        elif not tls["verified"]:
            text += "; the certificate was not checked (--insecure)"
        found.append(Finding("tls.session", INFO, "-", text))
        days = tls["days_left"]
        if days is not None and days < EXPIRY_WARNING_DAYS:
            found.append(
                Finding(
                    "tls.expiry", WARN, "-",
                    f"the server's certificate expires in {_time_left(days, tls['not_after'])}"
                    f" ({tls['not_after']})",
                )
            )  # fmt: skip
    return found


def _time_left(days: int, not_after: str) -> str:
    """How long a certificate has left: days, or hours (minutes) when under a day."""
    if days >= 1:
        return plural(days, "day")
    import ssl

    seconds = ssl.cert_time_to_seconds(not_after) - time.time()
    if seconds >= 3600:
        return plural(int(seconds // 3600), "hour")
    return plural(max(int(seconds // 60), 0), "minute")


def _intermediary(result: ProbeResult, report: HandshakeReport) -> dict[str, Any] | None:
    response = report.handshake.response
    if response is None or result.error is not None:
        return None
    body = result.body.decode("latin-1").splitlines()
    found = identify(response.status, response.values, body, response.names())
    if found is None:
        return None
    dropped = result.closing in ("dropped", "no-close")
    status = FAIL if response.status != 101 or dropped else INFO
    text = found.describe(response.status, dropped=dropped)
    report.findings.append(Finding("response.intermediary", status, "-", text))
    return found.as_dict()


def _held_findings(held: dict[str, Any]) -> list[Finding]:
    """How the held connection ended, and what came back."""
    found = []
    after = held["after_s"]
    if held["ended"] == "open":
        text = f"still open after {after:g} s; closed politely with 1000"
        found.append(Finding("session.end", INFO, "§7.1.2", text))
    elif held["ended"] == "interrupted":
        text = f"interrupted (Ctrl-C) after {after:g} s: the hold so far; closed with 1001"
        found.append(Finding("session.end", INFO, "§7.1.2", text))
    elif held["ended"] == "closed":
        reason = f" {quoted(held['close_reason'])}" if held["close_reason"] else ""
        text = f"closed by the peer after {after:g} s with {held['close_code']}{reason}"
        found.append(Finding("session.end", WARN, "§7.1.5", text))
    else:  # reset, or closed without a Close frame, or a protocol error: a failed hold
        found.append(
            Finding("session.end", FAIL, "§7.1.1", f"{held['ended']} after {after:g} s:"
                    f" {held['close_reason']}")
        )  # fmt: skip
    pings = held["pings"]
    if pings:
        answered = [p["rtt_ms"] for p in pings if p["rtt_ms"] is not None]
        status = INFO if len(answered) == len(pings) else WARN
        rtts = ", ".join(f"{rtt:.1f}" for rtt in answered[:10])
        text = f"{len(answered)} of {len(pings)} pings answered" + (f" (RTT ms: {rtts})" if
            answered else "")  # fmt: skip
        found.append(Finding("session.ping", status, "§5.5.2", text))
    if held["sent"] is not None:
        messages = held["messages"]
        if messages:
            first = messages[0]
            text = f"sent {quoted(held['sent'])}; came back: {quoted(first['data'][:200])}"
            text += f" after {first['rtt_ms']:.1f} ms" if first["rtt_ms"] is not None else ""
            found.append(Finding("session.message", INFO, "§6", text))
        else:
            found.append(Finding("session.message", WARN, "§6", f"sent {quoted(held['sent'])}; no"
                                 " message came back"))  # fmt: skip
    return found
