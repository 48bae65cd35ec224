"""Which findings of a handshake are shown, and the one-line summary of them all.

By default `inspect` and `probe` show what needs a reader's eye: the failures first, then the
warnings and the explanations (info), with one summary line per handshake that counts every
rule, so a failure is never buried among a dozen passes. `-v/--verbose` shows every rule in the
order it was checked. JSON always carries every finding; this module only decides what plain
and rich output show.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wsaccept_cli.core.wording import plural

if TYPE_CHECKING:
    from wsaccept_cli.core.rules import Finding, HandshakeReport

# What the eye should land on first: a failure, then a warning, then an explanation.
_SHOWN_ORDER = {"fail": 0, "warn": 1, "info": 2}
# Findings shown even when they pass: `serve`'s verdict on the client is what its report is
# about, whichever way it went.
ALWAYS_SHOWN = frozenset(["client.verdict"])


def shown_findings(report: HandshakeReport, *, verbose: bool) -> list[Finding]:
    """Every finding in rule order when verbose; else the failures, warnings and explanations,
    failures first (each kind keeps its rule order), and the verdicts always shown last."""
    if verbose:
        return report.findings
    kept = [
        finding
        for finding in report.findings
        if finding.status in _SHOWN_ORDER or finding.rule in ALWAYS_SHOWN
    ]
    return sorted(kept, key=lambda finding: _SHOWN_ORDER.get(finding.status, len(_SHOWN_ORDER)))


def tally_text(report: HandshakeReport) -> str:
    """`13 passed, 1 failed, 1 warning`: every finding counted, the kinds that occur."""
    counts = {"pass": 0, "fail": 0, "warn": 0, "info": 0}
    for finding in report.findings:
        counts[finding.status] = counts.get(finding.status, 0) + 1
    parts = [f"{counts['pass']} passed"]
    if counts["fail"]:
        parts.append(f"{counts['fail']} failed")
    if counts["warn"]:
        parts.append(plural(counts["warn"], "warning"))
    if counts["info"]:
        parts.append(f"{counts['info']} info")
    return ", ".join(parts)


def chosen_clients(report: HandshakeReport, names: tuple[str, ...] | None) -> tuple[Any, ...]:
    """The report's client verdicts that the `clients:` line shows: those named by --clients
    (in the registry's order), or all."""
    if names is None:
        return report.clients
    return tuple(verdict for verdict in report.clients if verdict.client in names)
