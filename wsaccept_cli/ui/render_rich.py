"""The rich format: a coloured table for people at a terminal.

Keys and pairs are printed as one table that streams: its heading once, then each block's rows
as soon as the block is read, in fixed columns (line, key, accept, check). The rows are laid out
here with string templates, coloured with rich's styles: rich's Table lays out every cell of
every row (about 0.6 ms a row, three minutes for a million keys typed at a terminal), where a
template costs about as much as plain output (bench/bench.py measures the ratio). A key's
problems are shown in its row, under it, and so not said again on stderr. Handshakes are laid out
as styled rich Text, printed through a Console whose markup, emoji and highlighting are off. Every
cell that may carry input passes through `ui.text.display`.
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING

from rich.console import Console
from rich.style import Style
from rich.text import Text

from wsaccept_cli.core.results import KeyResult, KeyRun, PairResult, PairRun
from wsaccept_cli.ui.findings import chosen_clients, shown_findings, tally_text
from wsaccept_cli.ui.layout import hanging
from wsaccept_cli.ui.text import display, display_bytes, shown
from wsaccept_cli.ui.views import transcript

if TYPE_CHECKING:
    from wsaccept_cli.core.compare import Comparison
    from wsaccept_cli.core.keys import Problem
    from wsaccept_cli.core.rules import HandshakeReport
    from wsaccept_cli.ui.views import ProbeView

_VERDICT_STYLES = {"pass": "green", "fail": "red", "warn": "yellow", "info": "cyan"}
LINE_WIDTH, KEY_WIDTH, ACCEPT_WIDTH = 7, 24, 28
GAP = "  "


class ConsoleBuffer(io.StringIO):
    """Where the console writes: a buffer that answers isatty for the real stdout, so that rich
    sizes its text for the terminal it will reach."""

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


class Painter:
    """Text in a rich style, as the terminal codes rich writes for it; as it is without colour."""

    def __init__(self, color: bool) -> None:
        from rich.color import ColorSystem

        self.system = ColorSystem.STANDARD if color else None

    def __call__(self, style: str, text: str) -> str:
        if self.system is None or not text:
            return text
        return Style.parse(style).render(text, color_system=self.system)


class KeyTable:
    """The streaming table of compute and verify: the heading once, then rows as they come."""

    def __init__(
        self, paint: Painter, headers: tuple[str, str], *, numbered: bool, width: int = 80
    ) -> None:
        self.paint = paint
        self.numbered = numbered
        self.key_column = " " * (LINE_WIDTH + len(GAP)) if numbered else ""
        self.indent = self.key_column or "  "  # of the lines under a row
        self.width = max(width - len(self.indent), 40)  # of the lines under a row
        names = f"{headers[0]:{KEY_WIDTH}}{GAP}{headers[1]:{ACCEPT_WIDTH}}{GAP}check"
        if numbered:
            names = f"{'line':>{LINE_WIDTH}}{GAP}{names}"
        rule = "─" * min(len(names) + 8, max(width, len(names)))
        self.heading = f"{paint('bold', names)}\n{rule}\n".encode()
        # The fast runs' rows: canonical keys at their one width, filled in by `%`.
        self.valid_row = self._template(paint("green", "✓ valid"))
        self.match_row = self._template(paint("green", "✓ match"))

    def _template(self, check: str) -> bytes:
        line = self.paint("dim", f"%{LINE_WIDTH}d") + GAP if self.numbered else ""
        return f"{line}%s{GAP}%s{GAP}{check}\n".encode()

    def row(
        self, line: int | None, key: str, accept: str, check: str, more: list[tuple[str, str]]
    ) -> str:
        """One row of any kind, and lines under it (what is wrong, notes: a style and a text
        each) at the key's column, wrapped there to the width of the terminal."""
        number = self.paint("dim", f"{line or '':>{LINE_WIDTH}}") + GAP if self.numbered else ""
        width = len(display(key))
        if width > KEY_WIDTH:  # an overlong line: the rest of its row goes under it
            key = f"{key}\n{self.key_column}{'':{KEY_WIDTH}}"
        else:
            key += " " * (KEY_WIDTH - width)
        accept += " " * max(ACCEPT_WIDTH - len(accept), 0)
        under = "".join(
            f"\n{self.indent}{self.paint(style, piece)}"
            for style, text in more
            for piece in _wrapped(text, self.width)
        )
        return f"{number}{key}{GAP}{accept}{GAP}{check}{under}\n"


MIN_WIDTH, MAX_WIDTH, DEFAULT_WIDTH = 40, 4096, 80


def usable_width(width: int) -> int:
    """The width to lay out for: what rich found (COLUMNS, else the terminal's), unless it is
    nonsense (COLUMNS=0, 5, a billion): then the terminal's own size if it has a sane one, else
    80. A width of 0 made rich print nothing at all, and 5 one letter a line."""
    if MIN_WIDTH <= width <= MAX_WIDTH:
        return width
    try:
        measured = os.get_terminal_size(1).columns
    except OSError:
        return DEFAULT_WIDTH
    return measured if MIN_WIDTH <= measured <= MAX_WIDTH else DEFAULT_WIDTH


def terminal_width() -> int:
    """The width rich lays out for at this terminal (COLUMNS, else the terminal's), made sane."""
    return usable_width(Console(file=io.StringIO()).width)


class RichRenderer:
    """Key and pair results as one streaming table; handshakes and probes as styled text."""

    shows_problems = True  # in the row of the key: not said again on stderr

    def __init__(
        self,
        *,
        color: bool,
        terminal: bool = False,
        verbose: bool = False,
        clients: tuple[str, ...] | None = None,
    ) -> None:
        self.clients = clients
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
        self.console.width = usable_width(self.console.width)  # measured once, not at every print
        self.paint = Painter(color)
        self.verbose = verbose
        self.table: KeyTable | None = None
        self.pieces: list[bytes] = []

    def _start(self, headers: tuple[str, str], *, numbered: bool) -> KeyTable:
        if self.table is None:
            width = self.console.width
            self.table = KeyTable(self.paint, headers, numbered=numbered, width=width)
            self.pieces.append(self.table.heading)
        return self.table

    def key_run(self, run: KeyRun) -> None:
        if run.problems is not None:
            for result in run.results():
                self.key_result(result)
            return
        table = self._start(("key", "accept"), numbered=True)
        accepts = [accept[:-1] for accept in run.accept_lines]
        self._fast_rows(table, table.valid_row, run.first_line, run.keys, accepts)

    def key_result(self, result: KeyResult) -> None:
        table = self._start(("key", "accept"), numbered=result.line is not None)
        accept = "—" if result.accept is None else result.accept.decode()
        check, more = self._problems(result.problems, refused=result.accept is None)
        more += self._notes(result.notes)
        row = table.row(result.line, display_bytes(result.key), accept, check, more)
        self.pieces.append(row.encode("utf-8", "backslashreplace"))

    def pair_run(self, run: PairRun) -> None:
        table = self._start(("key", "accept received"), numbered=True)
        self._fast_rows(table, table.match_row, run.first_line, run.keys, run.accepts)

    def _fast_rows(
        self, table: KeyTable, template: bytes, first: int, keys: list[bytes], accepts: list[bytes]
    ) -> None:
        """The rows of a run of canonical keys, filled into the table's template by `%`: the
        cost of plain output, about, for the bulk of a large input."""
        if table.numbered:
            self.pieces += [
                template % (first + i, key, accept)
                for i, (key, accept) in enumerate(zip(keys, accepts))
            ]
        else:  # keys given as arguments came first: the table has no line column
            self.pieces += [template % pair for pair in zip(keys, accepts)]

    def pair_result(self, result: PairResult) -> None:
        table = self._start(("key", "accept received"), numbered=result.line is not None)
        received = display_bytes(result.received) or "(empty)"
        if result.match:
            check, more = self.paint("green", "✓ match"), []
        else:
            check = self.paint("red", "✗ mismatch")
            more = [("red", f"expected {result.expected.decode()}")]
            if result.cause:
                more.append(("red", result.cause))
            received = self.paint("red", received) + " " * max(ACCEPT_WIDTH - len(received), 0)
        if result.problems:
            problem_check, problem_lines = self._problems(result.problems, refused=False)
            check += f", {problem_check}" if not result.match else ""
            if result.match:
                check = problem_check
            more += problem_lines
        more += self._notes(result.notes)
        row = table.row(result.line, display_bytes(result.key), received, check, more)
        self.pieces.append(row.encode("utf-8", "backslashreplace"))

    def _problems(
        self, problems: tuple[Problem, ...], *, refused: bool
    ) -> tuple[str, list[tuple[str, str]]]:
        """The check cell and the lines under the row that say what is wrong."""
        if not problems:
            return self.paint("green", "✓ valid"), []
        if refused:
            check = self.paint("red", "✗ refused (--strict)")
        else:
            check = self.paint("yellow", "⚠ " + ", ".join(problem.code for problem in problems))
        style = "red" if refused else "yellow"
        return check, [(style, display(problem.message)) for problem in problems]

    def _notes(self, notes: tuple[Problem, ...]) -> list[tuple[str, str]]:
        return [("cyan", f"note: {display(note.message)}") for note in notes]

    def generated(self, keys: list[bytes], accepts: list[bytes] | None) -> None:
        """Fresh keys ready to copy: one a line (with its accept after a tab), no frame."""
        if accepts is None:
            self.pieces += (b"\n".join(keys), b"\n")
        else:
            self.pieces += [key + b"\t" + accept for key, accept in zip(keys, accepts)]

    def handshake(self, report: HandshakeReport) -> None:
        """A handshake is printed whole, in one piece of styled text: a heading with the count
        of every rule's verdict, a line per finding shown in aligned columns, the body. Not a
        rich Table: laying one out costs about 7 ms, and a capture of thousands of handshakes
        must not take minutes at a terminal."""
        style = _VERDICT_STYLES[report.verdict]
        findings = shown_findings(report, verbose=self.verbose)
        columns = self.console.width
        title, verdict = f"handshake {report.number}", report.verdict.upper()
        heading = f"{shown(report.describe())}  {verdict}  {tally_text(report)}"
        text = Text()
        text.append("\n".join(hanging(f"{title}  ", heading, columns, indent=2)), style="dim")
        text.stylize(Style(bold=True, dim=False), 0, len(title))
        at = text.plain.rindex(verdict)  # the tally after it holds no capitals
        text.stylize(Style.parse(f"bold {style} not dim"), at, at + len(verdict))
        width = max((len(finding.rule) for finding in findings), default=0)
        for finding in findings:
            # The message wrapped under its own column (a hanging indent), never from column 0.
            prefix = f"  {finding.status:4}  {finding.rule:{width}}  {finding.section:7}  "
            first, *more = hanging(prefix, shown(finding.message), columns, indent=8)
            text.append("\n  ")
            text.append(f"{finding.status:4}", style=_VERDICT_STYLES[finding.status])
            text.append(f"  {finding.rule:{width}}  ")
            below = len(first) < len(prefix)  # the message starts on the next line
            text.append(finding.section if below else f"{finding.section:7}", style="dim")
            text.append("" if below else f"  {first[len(prefix) :]}")
            text.append("".join(f"\n{line}" for line in more))
        if chosen := chosen_clients(report, self.clients):
            from wsaccept_cli.core.clients import describe

            self._labelled(text, "clients", shown(describe(chosen)))
        if report.handshake.connection is not None:
            summary = shown(report.handshake.connection.summary_line())
            self._labelled(text, "connection", summary)
        for line in report.body():
            body = hanging("  body | ", shown(line), columns)
            text.append("".join(f"\n{piece}" for piece in body), style="dim")
        text.append("\n")  # the blank line between handshakes, in the same print
        self.console.print(text, soft_wrap=True)  # laid out above, to the width: not again
        self.pieces.append(self.buffer.take())

    def _labelled(self, text: Text, label: str, value: str) -> None:
        """`  label: value`, the value wrapped under itself."""
        first, *more = hanging(f"  {label}: ", value, self.console.width)
        text.append(f"\n  {label}", style="bold")
        text.append(first[len(label) + 2 :])
        text.append("".join(f"\n{line}" for line in more))

    def probe(self, probe: ProbeView) -> None:
        exchange = [(">", probe.request)] if probe.sent else []
        for prefix, message in [*exchange, ("<", probe.response)]:
            for line in transcript(message):
                self.console.print(Text(f"{prefix} {line}", style="dim"))
        if probe.sent or probe.response:
            self.console.print()
        self.handshake(probe.report)
        self.console.print(Text(probe.timing_text(), style="dim"))
        self.pieces.append(self.buffer.take())

    def comparison(self, comparison: Comparison) -> None:
        from wsaccept_cli.ui.render_compare import comparison_table

        self.console.print()
        self.console.print(comparison_table(comparison))
        self.pieces.append(self.buffer.take())

    def take(self) -> bytes:
        taken = b"".join(self.pieces)
        self.pieces.clear()
        return taken


def _wrapped(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` characters, broken at spaces (a longer word whole)."""
    if len(text) <= width:
        return [text]
    import textwrap  # only for the rows that say what is wrong, and only for long messages

    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [text]
