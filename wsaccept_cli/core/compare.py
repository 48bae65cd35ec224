"""`probe --compare`: the verdicts of one URL over HTTP/1.1 and over HTTP/2, side by side, and
what their difference means for the clients that use each.

Pure code: two probe outcomes and their reports in, a Comparison out. The sentence that sums it
up is chosen from the HTTP/2 failure's rule (ALPN, SETTINGS, a reset, GOAWAY, the status), since
that says which clients are affected: browsers open WebSockets over HTTP/2 only on a connection
whose SETTINGS enable it (RFC 8441 §3) and use HTTP/1.1 otherwise.
"""

from __future__ import annotations

from typing import Any

from wsaccept_cli.core.outcomes import ProbeOutcome
from wsaccept_cli.core.rules import FAIL, HandshakeReport
from wsaccept_cli.core.wording import quoted

VERSIONS = ("HTTP/1.1", "HTTP/2")
FIELDS = ("outcome", "verdict", "status", "subprotocol", "extensions", "cause")

H2_CAUSES = {
    "h2.alpn": "the server does not offer HTTP/2 here (ALPN), so browsers use HTTP/1.1 for this"
    " WebSocket; nothing breaks",
    "h2.prior_knowledge": "the server does not speak HTTP/2 over cleartext, which browsers never"
    " use for ws://; nothing breaks for them",
    "h2.settings": "over HTTP/2 the server does not enable extended CONNECT"
    " (SETTINGS_ENABLE_CONNECT_PROTOCOL), so browsers fall back to a new HTTP/1.1 connection",
    "h2.stream_reset": "over HTTP/2 the stream is reset: the server or a proxy advertises"
    " extended CONNECT but cannot carry the stream, so browsers that open it over HTTP/2 fail",
    "h2.goaway": "over HTTP/2 the server sends GOAWAY instead of answering, so browsers that open"
    " the WebSocket over HTTP/2 fail",
    "response.h2_status": "over HTTP/2 the server refuses the extended CONNECT: a route, proxy or"
    " Origin check treats HTTP/2 differently, so browsers that open it over HTTP/2 fail",
    "timeout": "over HTTP/2 no answer came in time, so browsers that open the WebSocket over"
    " HTTP/2 hang",
}


class Side:
    """One probe's verdict, as the comparison shows it."""

    def __init__(self, version: str, outcome: ProbeOutcome, report: HandshakeReport) -> None:
        self.version = version
        self.outcome = outcome
        response = report.handshake.response
        failed = [finding for finding in report.findings if finding.status == FAIL]
        self.cause = failed[0] if failed else None
        protocols = response.items("sec-websocket-protocol") if response is not None else []
        extensions = response.items("sec-websocket-extensions") if response is not None else []
        self.values: dict[str, Any] = {
            "outcome": outcome.label,
            "verdict": report.verdict,
            "status": response.status if response is not None else None,
            "subprotocol": protocols[0] if protocols else None,
            "extensions": [item.split(";")[0].strip().lower() for item in extensions],
            "cause": f"{self.cause.rule}: {self.cause.message}" if self.cause else None,
        }

    @property
    def ok(self) -> bool:
        return self.outcome is ProbeOutcome.OK


class Comparison:
    """HTTP/1.1 and HTTP/2 side by side: the fields that differ and a sentence on what it means."""

    def __init__(
        self, url: str | None, http1: Side, http2: Side, *, http2_counts: bool = True
    ) -> None:
        self.url = url
        self.sides = (http1, http2)
        # Whether a browser would take the HTTP/2 path (see `browsers_use_http2`): only then
        # does its failure count for the exit status; otherwise it is information.
        self.http2_counts = http2_counts
        both_upgrade = http1.ok and http2.ok  # then 101 and 2xx mean the same
        self.differences = [
            field
            for field in FIELDS
            if field not in ("verdict", "cause")
            and http1.values[field] != http2.values[field]
            and not (field == "status" and both_upgrade)
        ]
        self.summary = _summary(http1, http2)

    @property
    def outcome(self) -> ProbeOutcome:
        """What the run's exit code follows: the HTTP/1.1 outcome if it failed; else the HTTP/2
        one where a browser would use HTTP/2 (`http2_counts`); else OK."""
        http1, http2 = self.sides
        if not http1.ok:
            return http1.outcome
        return http2.outcome if self.http2_counts else ProbeOutcome.OK

    def as_dict(self) -> dict[str, Any]:
        http1, http2 = self.sides
        return {
            "comparison": self.url,
            "http1": http1.values,
            "http2": http2.values,
            "differences": self.differences,
            "summary": self.summary,
            "http2_counts": self.http2_counts,
            "outcome": self.outcome.label,
        }


def browsers_use_http2(url: str, settings: dict[str, int] | None) -> bool:
    """Whether a browser would open this WebSocket over HTTP/2: only for wss:// (browsers never
    use HTTP/2 without TLS) and only on a connection whose SETTINGS enable the extended CONNECT
    (RFC 8441 §3); anywhere else they use HTTP/1.1, whatever happens over HTTP/2."""
    enabled = (settings or {}).get("SETTINGS_ENABLE_CONNECT_PROTOCOL") == 1
    return url.startswith("wss://") and enabled


def _summary(http1: Side, http2: Side) -> str:
    if http1.ok and http2.ok:
        return _both_upgrade(http1, http2)
    if http1.ok:
        rule = http2.cause.rule if http2.cause else ""
        cause = H2_CAUSES.get(rule) or f"over HTTP/2 the handshake fails ({http2.values['cause']})"
        return f"HTTP/1.1 upgrades; {cause}"
    if http2.ok:
        return (
            f"over HTTP/2 the WebSocket opens but over HTTP/1.1 it fails ({http1.values['cause']}):"
            " clients without an HTTP/2 connection (most libraries, browsers on ws:// or when"
            " HTTP/2 is not in use) fail"
        )
    return f"both fail: HTTP/1.1 {http1.values['cause']}; HTTP/2 {http2.values['cause']}"


def _chosen(value: object) -> str:
    """A chosen subprotocol (a string or None) or extensions (a list of names), quoted."""
    return quoted(value) if isinstance(value, str) else repr(value)


def _both_upgrade(http1: Side, http2: Side) -> str:
    differing = [f for f in ("subprotocol", "extensions") if http1.values[f] != http2.values[f]]
    if not differing:
        return (
            "both upgrade (101 over HTTP/1.1, 2xx over HTTP/2) with the same subprotocol and"
            " extensions"
        )
    chosen = "; ".join(
        f"{field} {_chosen(http1.values[field])} over HTTP/1.1,"
        f" {_chosen(http2.values[field])} over HTTP/2"
        for field in differing
    )
    return f"both upgrade, but the server chose differently: {chosen}"
