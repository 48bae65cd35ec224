"""`probe --idle-timeout`: what a held, silent connection's end says. The measured idle timeout
(to the second), who ended it (a Close frame from the server with its code, a FIN, a RST), the
likely intermediary and the setting to change, and whether pings at a third of the timeout kept
a second connection open past it. Pure: the records of net/hold.py in, findings out.
"""

from __future__ import annotations

from typing import Any

from wsaccept_cli.core.rules import FAIL, PASS, WARN, Finding

# Idle timeouts known by their default length, for when no header names the intermediary.
KNOWN_DEFAULTS: tuple[tuple[float, str], ...] = (
    (30, "Google Cloud Load Balancing (the backend service timeout, 30 s by default)"),
    (55, "the Heroku router (55 s)"),
    (60, "nginx (proxy_read_timeout, 60 s by default) or an AWS load balancer"
         " (idle_timeout.timeout_seconds, 60 s by default)"),
    (100, "Cloudflare (100 s)"),
    (240, "Azure Application Gateway or Azure Load Balancer (4 min)"),
    (300, "Envoy (stream_idle_timeout, 5 min)"),
    (600, "Amazon CloudFront (10 min)"),
)  # fmt: skip
TOLERANCE = 1.5  # seconds either side of a known default


def ended_by(held: dict[str, Any]) -> str:
    """Who ended a held connection, in words."""
    if held["ended"] == "closed":
        reason = f" {held['close_reason']!r}" if held.get("close_reason") else ""
        return f"a Close frame from the server, code {held['close_code']}{reason}"
    if held.get("by") == "rst":
        return "a TCP reset (RST), no Close frame"
    if held.get("by") == "fin":
        return "a TCP close (FIN) with no Close frame"
    return f"the connection failing ({held.get('close_reason') or 'no Close frame'})"


def likely(seconds: float, intermediary: dict[str, Any] | None) -> str:
    """The intermediary that probably ended it and its setting."""
    if intermediary is not None:
        name, evidence = intermediary["name"], intermediary["evidence"]
        return f"likely {name} ({evidence}): {intermediary['idle_timeout']}"
    for default, who in KNOWN_DEFAULTS:
        if abs(seconds - default) <= TOLERANCE:
            return f"by its length, probably {who}"
    return (
        "no header names the intermediary, and the length matches no known default: a proxy's"
        " read timeout, a load balancer's idle timeout or the server's own"
    )


def idle_findings(record: dict[str, Any]) -> list[Finding]:
    """The findings of --idle-timeout: the measurement, then the proof of the fix."""
    measured = record["measured_s"]
    if measured is None:
        return [
            Finding(
                "idle.timeout", PASS, "-",
                f"no idle timeout up to {record['max_s']:g} s: the silent connection stayed open",
            )
        ]  # fmt: skip
    text = (
        f"the silent connection was ended after {measured:g} s by {record['ended_by']};"
        f" {record['likely']}"
    )
    found = [Finding("idle.timeout", WARN, "§7.1.1", text)]
    fix = record["fix"]
    if fix is None:
        return found
    every = f"pings every {fix['ping_s']:g} s"
    if fix["ended"] == "open":
        found.append(
            Finding(
                "idle.fix", PASS, "§5.5.2",
                f"with {every} a second connection stayed open {fix['held_s']:g} s, past the"
                f" {measured:g} s timeout: send a ping at least every {fix['ping_s']:g} s",
            )
        )  # fmt: skip
    else:
        found.append(
            Finding(
                "idle.fix", FAIL, "§5.5.2",
                f"even with {every} a second connection was ended after {fix['after_s']:g} s"
                f" by {fix['ended_by']}: pings do not count as traffic here, or the limit is"
                " not an idle timeout",
            )
        )  # fmt: skip
    return found


def measured_seconds(held: dict[str, Any]) -> float:
    """The idle timeout to the second: the held connection's end, rounded."""
    return float(round(held["after_s"]))
