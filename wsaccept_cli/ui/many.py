"""The output of `probe` with several URLs, in plain and on a terminal: one line per URL (tab
separated in plain, for `cut` and `awk`; aligned columns under a heading on a terminal, the URL
and its first failure wrapped under their column to the terminal's width, with a
count of each outcome at the end). JSON output is the one-URL record, one per line."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from wsaccept_cli.ui.layout import hanging
from wsaccept_cli.ui.text import display, shown
from wsaccept_cli.ui.views import ProbeView

if TYPE_CHECKING:
    from wsaccept_cli.core.outcomes import ProbeOutcome
    from wsaccept_cli.ui.session import Session

COLUMNS = ("outcome", "status", "ms", "url", "first failure")


class ManyWriter:
    """Lines for the summary of many probes; `row` takes an endpoint's Checked result."""

    def __init__(self, fmt: str, width: int | None = None) -> None:
        self.table = fmt == "rich"
        if self.table and width is None:
            from wsaccept_cli.ui.render_rich import terminal_width

            width = terminal_width()
        self.width = width or 80

    def start(self) -> bytes:
        if not self.table:
            return b""
        return f"{'outcome':16} {'status':>6} {'ms':>9}  url  (first failure)\n".encode()

    def row(self, url: str, checked: Any) -> bytes:
        response = checked.report.handshake.response
        status = "" if response is None or response.status is None else str(response.status)
        total = checked.result.timings.get("total_ms")
        failed = [f.message for f in checked.report.findings if f.status == "fail"]
        detail = display(failed[0]) if failed else ""
        shown_url = display(checked.url or url)
        label = checked.outcome.label
        if not self.table:
            fields = [label, shown_url, status, f"{total:.1f}" if total is not None else "", detail]
            return ("\t".join(field.replace("\t", " ") for field in fields) + "\n").encode(
                "utf-8", "backslashreplace"
            )
        ms = f"{total:.1f}" if total is not None else "-"
        # At a terminal: the URL and its first failure wrapped under their column.
        rest = f"{shown_url}  ({shown(detail)})" if detail else shown_url
        lines = hanging(f"{label:16} {status or '-':>6} {ms:>9}  ", rest, self.width)
        return "".join(f"{line}\n" for line in lines).encode("utf-8", "backslashreplace")

    def end(self, outcomes: Sequence[Any], bad: int) -> bytes:
        if not self.table:
            return b""
        counts = Counter(outcome.label for outcome in outcomes)
        parts = [f"{count} {label}" for label, count in sorted(counts.items())]
        if bad:
            parts.append(f"{bad} skipped")
        return f"{len(outcomes) + bad} URLs: {', '.join(parts) or 'none'}\n".encode()


# (where, outcome, record): the record rendered (JSON's Rendered, a plain or table row), or
# why the line could not be probed (outcome None).
ProbeRecord = tuple[str, "ProbeOutcome | None", Any]


def probe_record(
    session: Session, writer: ManyWriter, line: tuple[str, str], checked: Any
) -> ProbeRecord:
    """One URL's probe rendered, where it ran (a worker process or a thread); `checked` is
    net.endpoint's Checked (ui sees it only through its attributes), or why the URL could not
    be probed."""
    where, url = line
    if isinstance(checked, str):
        return where, None, checked
    if session.spec.fmt != "json":
        return where, checked.outcome, writer.row(url, checked)
    view = ProbeView(
        checked.request, checked.response, checked.report, checked.outcome,
        checked.result.address, checked.result.timings, checked.extra(),
    )  # fmt: skip
    rendering = session.rendering()
    rendering.probe(view)
    return where, checked.outcome, rendering.take()
