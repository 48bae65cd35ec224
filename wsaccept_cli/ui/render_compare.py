"""`probe --compare` as people read it: HTTP/1.1 and HTTP/2 side by side, as plain lines or a
rich table (JSON is the comparison's own dict). Rich is imported only by `comparison_table`.
Every value may come from the server (a subprotocol, a finding quoting a header), so each passes
through `ui.text.shown`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wsaccept_cli.core.compare import FIELDS, VERSIONS
from wsaccept_cli.core.wording import quoted
from wsaccept_cli.ui.text import shown

if TYPE_CHECKING:
    from rich.table import Table

    from wsaccept_cli.core.compare import Comparison, Side


def value_text(value: Any) -> str:
    """A field's value: none for nothing, a list as its items, a subprotocol quoted."""
    if value is None or value == []:
        return "none"
    if isinstance(value, list):
        return ", ".join(shown(str(item)) for item in value)
    if isinstance(value, str):
        return shown(value)
    return str(value)


def _side_line(side: Side) -> str:
    values = side.values
    protocol = values["subprotocol"]
    chosen = quoted(shown(protocol)) if protocol is not None else "none"
    return (
        f"outcome {values['outcome']}, status {value_text(values['status'])}, subprotocol"
        f" {chosen}, extensions {value_text(values['extensions'])}"
    )


def comparison_lines(comparison: Comparison) -> list[str]:
    """The plain form: a heading, a line per version, its cause when it failed, the fields
    that differ and the sentence that sums it up."""
    http1, http2 = comparison.sides
    url = shown(comparison.url or "")
    lines = [f"compare {url}: HTTP/1.1 {http1.outcome}, HTTP/2 {http2.outcome}"]
    for side in comparison.sides:
        lines.append(f"  {side.version:9} {_side_line(side)}")
    for side in comparison.sides:
        if side.values["cause"] is not None:
            lines.append(f"  {side.version:9} cause {shown(side.values['cause'])}")
    lines.append(f"  {'differs':9} {', '.join(comparison.differences) or 'nothing'}")
    lines.append(f"  {'summary':9} {shown(comparison.summary)}")
    if not comparison.http2_counts:
        lines.append(f"  {'exit':9} {exit_rule(comparison)}")
    return lines


def exit_rule(comparison: Comparison) -> str:
    """Why the HTTP/2 half is information only (core.compare.browsers_use_http2)."""
    why = (
        "browsers never use HTTP/2 without TLS (ws://)"
        if (comparison.url or "").startswith("ws://")
        else "the server does not enable the extended CONNECT over HTTP/2 (RFC 8441 §3), so"
        " browsers use HTTP/1.1"
    )
    return f"HTTP/1.1 decides it: {why}; the HTTP/2 probe is information"


def comparison_table(comparison: Comparison) -> Table:
    """The rich form: a row per field, a column per version, differing rows in bold."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    title = Text(f"compare {shown(comparison.url or '')}", style="bold")
    caption = shown(comparison.summary)
    if not comparison.http2_counts:
        caption += f"\n{exit_rule(comparison)}"
    table = Table(title=title, box=box.SIMPLE_HEAD, caption=Text(caption))
    table.add_column("")
    for version in VERSIONS:
        table.add_column(version, overflow="fold")
    for field in FIELDS:
        style = "bold yellow" if field in comparison.differences else ""
        cells = [Text(value_text(side.values[field]), style=style) for side in comparison.sides]
        table.add_row(Text(field, style="dim"), *cells)
    return table
