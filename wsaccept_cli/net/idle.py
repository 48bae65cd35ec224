"""`probe --idle-timeout`: hold a silent connection (net/hold.py's Session) until something
ends it, name what probably did, and prove the fix on a second connection with pings at a
third of the timeout. Network code only: records out, judged by core/idle.py.
"""

from __future__ import annotations

from typing import Any

from wsaccept_cli.net.hold import Plan

PROOF_MARGIN = 0.5  # the second connection is held this much past the timeout (and 2 s more)
FINGERPRINT = b"GET / HTTP/1.1\r\nHost: wsaccept.invalid\r\nBad Header: x\r\n\r\n"


def measure_idle(url: str, settings: Any, maximum: float) -> tuple[Any, dict[str, Any] | None]:
    """Hold a silent connection up to `maximum` s; if something ended it, name what probably
    did and prove the fix on a second connection with pings at a third of the timeout. The
    first connection's Checked (net.endpoint), and the record (None: no upgrade to hold)."""
    from wsaccept_cli.core.idle import ended_by, likely, measured_seconds
    from wsaccept_cli.net.endpoint import check

    settings.hold = Plan(hold=maximum)
    first = check(url, settings)
    held = first.result.held
    if not isinstance(held, dict):
        return first, None
    record: dict[str, Any] = {"max_s": maximum, "measured_s": None, "ended_by": None,
                              "likely": None, "fix": None}  # fmt: skip
    if held["ended"] == "interrupted":  # Ctrl-C: the report so far, no measurement
        return first, None
    if held["ended"] == "open":
        return first, record
    measured = max(measured_seconds(held), 1.0)
    intermediary = first.intermediary or fingerprint(url, settings)
    record.update(
        measured_s=measured, ended_by=ended_by(held), likely=likely(measured, intermediary)
    )
    ping = round(measured / 3, 3)
    hold = round(measured * (1 + PROOF_MARGIN) + 2, 3)
    settings.hold = Plan(hold=hold, ping=ping)
    second = check(url, settings)
    proof = second.result.held
    if isinstance(proof, dict):
        still_open = proof["ended"] == "open"
        record["fix"] = {"ping_s": ping, "held_s": hold, "ended": proof["ended"],
                         "after_s": proof["after_s"],
                         "ended_by": None if still_open else ended_by(proof)}  # fmt: skip
    return first, record


def fingerprint(url: str, settings: Any) -> dict[str, Any] | None:
    """The intermediary in front, from its own answer to a request it must refuse itself (a
    header name with a space: RFC 9112 §5.1): proxies answer with their own error page."""
    from wsaccept_cli.core.intermediaries import identify
    from wsaccept_cli.net.heads import parse_head
    from wsaccept_cli.net.probe import run_probe

    target, _ = settings.request(url, settings.headers)
    result = run_probe(target, FINGERPRINT, timeout=min(settings.timeout, 3.0),
                       route=settings.route(target))  # fmt: skip
    response = parse_head(result.response, "response") if result.head_complete else None
    if response is None or response.status == 101:
        return None
    body = result.body.decode("latin-1").splitlines()
    found = identify(response.status, response.values, body)
    return found.as_dict() if found is not None else None
