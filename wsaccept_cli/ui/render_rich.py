"""The rich format: a coloured table for people at a terminal.

A stream is printed as one table in pieces: each `take` renders the rows read so far with the
same fixed column widths and no borders between pieces, so memory stays bounded and rows appear
as their input arrives. The console writes into a buffer that `take` empties. Markup, emoji and
highlighting are off, and every cell that may carry input passes through `ui.text.display`.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from wsaccept_cli.core.keys import Problem
from wsaccept_cli.core.results import KeyResult, KeyRun, PairResult, PairRun
from wsaccept_cli.ui.text import display, display_bytes, shown
from wsaccept_cli.ui.views import transcript

if TYPE_CHECKING:
    from wsaccept_cli.core.compare import Comparison
    from wsaccept_cli.core.rules import HandshakeReport
    from wsaccept_cli.ui.views import ProbeView

Row = tuple[str, Text | str, Text | str, Text]

_COLUMNS: tuple[dict[str, Any], ...] = (
    {"justify": "right", "width": 7, "no_wrap": True, "style": "dim"},
    {"width": 24, "overflow": "fold"},
    {"width": 28, "overflow": "fold"},
    {"ratio": 1, "overflow": "fold"},
)
_VERDICT_STYLES = {"pass": "green", "fail": "red", "warn": "yellow", "info": "cyan"}
_VALID = Text("✓ valid", style="green")
_MATCH = Text("✓ match", style="green")


class ConsoleBuffer(io.StringIO):
    """Where the console writes: a buffer that answers isatty for the real stdout, so that rich
    sizes its tables for the terminal they will reach."""

    def __init__(self, terminal: bool) -> None:
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal

    def take(self) -> bytes:
        taken = self.getvalue().encode("utf-8", "backslashreplace")
        self.seek(0)
        self.truncate()
        return taken


class RichRenderer:
    """Rows gathered per block of input and printed as one continuing table."""

    def __init__(self, *, color: bool, terminal: bool = False) -> None:
        self.buffer = ConsoleBuffer(terminal)
        self.console = Console(
            file=self.buffer,
            force_terminal=True if color else None,
            color_system="auto" if color else None,
            no_color=not color,
            highlight=False,
            emoji=False,
            markup=False,
        )
        self.rows: list[Row] = []
        self.headers: tuple[str, str, str, str] | None = None
        self.numbered = False
        self.header_shown = False

    def key_run(self, run: KeyRun) -> None:
        if run.problems is not None:
            for result in run.results():
                self.key_result(result)
            return
        self._start(("key", "accept", "check"), numbered=True)
        line = run.first_line
        for i, (key, accept) in enumerate(zip(run.keys, run.accept_lines)):
            self.rows.append((str(line + i), key.decode(), accept[:-1].decode(), _VALID))

    def key_result(self, result: KeyResult) -> None:
        self._start(("key", "accept", "check"), numbered=result.line is not None)
        accept = "—" if result.accept is None else result.accept.decode()
        status = _problems_text(result.problems, refused=result.accept is None)
        _append_notes(status, result.notes)
        self.rows.append((_number(result.line), display_bytes(result.key), accept, status))

    def pair_run(self, run: PairRun) -> None:
        self._start(("key", "accept received", "check"), numbered=True)
        line = run.first_line
        for i, (key, accept) in enumerate(zip(run.keys, run.accepts)):
            self.rows.append((str(line + i), key.decode(), accept.decode(), _MATCH))

    def pair_result(self, result: PairResult) -> None:
        self._start(("key", "accept received", "check"), numbered=result.line is not None)
        if result.match:
            status = _MATCH.copy()
        else:
            status = Text(f"✗ mismatch: expected {result.expected.decode()}", style="red")
        if result.problems:
            status.append("\n")
            status.append_text(_problems_text(result.problems, refused=False))
        _append_notes(status, result.notes)
        received = Text(display_bytes(result.received), style="" if result.match else "red")
        self.rows.append((_number(result.line), display_bytes(result.key), received, status))

    def generated(self, keys: list[bytes], accepts: list[bytes] | None) -> None:
        self._start(("key", "accept" if accepts else "", ""), numbered=False)
        for key, accept in zip(keys, accepts or [b"\n"] * len(keys)):
            self.rows.append(("", key.decode(), accept[:-1].decode(), Text("")))

    def handshake(self, report: HandshakeReport) -> None:
        """A handshake is printed whole, in one piece of styled text: a heading, a line per
        finding in aligned columns, the body. Not a rich Table: laying one out costs about
        7 ms, and a capture of thousands of handshakes must not take minutes at a terminal."""
        self._print_rows()
        style = _VERDICT_STYLES[report.verdict]
        text = Text()
        text.append(f"handshake {report.number}", style="bold")
        text.append(f"  {shown(report.describe())}  ", style="dim")
        text.append(report.verdict.upper(), style=f"bold {style}")
        width = max((len(finding.rule) for finding in report.findings), default=0)
        for finding in report.findings:
            text.append("\n  ")
            text.append(f"{finding.status:4}", style=_VERDICT_STYLES[finding.status])
            text.append(f"  {finding.rule:{width}}  ")
            text.append(f"{finding.section:7}", style="dim")
            text.append(f"  {shown(finding.message)}")
        for line in report.body():
            text.append(f"\n  body | {shown(line)}", style="dim")
        self.console.print(text)
        self.console.print()

    def probe(self, probe: ProbeView) -> None:
        for prefix, message in ((">", probe.request), ("<", probe.response)):
            for line in transcript(message):
                self.console.print(Text(f"{prefix} {line}", style="dim"))
        self.console.print()
        self.handshake(probe.report)
        self.console.print(Text(probe.timing_text(), style="dim"))

    def comparison(self, comparison: Comparison) -> None:
        from wsaccept_cli.ui.render_compare import comparison_table

        self.console.print()
        self.console.print(comparison_table(comparison))

    def _start(self, headers: tuple[str, str, str], *, numbered: bool) -> None:
        if self.headers is None:
            self.headers = ("line", *headers)
            self.numbered = numbered

    def take(self) -> bytes:
        self._print_rows()
        return self.buffer.take()

    def _print_rows(self) -> None:
        if not self.rows or self.headers is None:
            return
        table = Table(
            box=box.SIMPLE_HEAD,
            show_header=not self.header_shown,
            show_edge=False,
            pad_edge=False,
            header_style="bold",
        )
        visible = [bool(name) for name in self.headers]
        visible[0] = self.numbered
        for name, spec, show in zip(self.headers, _COLUMNS, visible):
            if show:
                table.add_column(name, **spec)
        for row in self.rows:
            table.add_row(*(cell for cell, show in zip(row, visible) if show))
        self.console.print(table)
        self.header_shown = True
        self.rows.clear()


def _number(line: int | None) -> str:
    return "" if line is None else str(line)


def _problems_text(problems: tuple[Problem, ...], *, refused: bool) -> Text:
    if not problems:
        return _VALID.copy()
    label, style = ("✗ refused (--strict): ", "red") if refused else ("⚠ ", "yellow")
    return Text(label + display("; ".join(p.message for p in problems)), style=style)


def _append_notes(status: Text, notes: tuple[Problem, ...]) -> None:
    for note in notes:
        status.append(f"\nnote: {display(note.message)}", style="cyan")
