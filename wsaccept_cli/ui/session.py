"""One command run: results to the renderer, remarks to stderr, counts to the exit code."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wsaccept_cli.core.keys import Problem, printable
from wsaccept_cli.core.outcomes import ExitCode
from wsaccept_cli.core.results import Item, KeyResult, KeyRun, LineError, PairResult, PairRun

if TYPE_CHECKING:
    from wsaccept_cli.core.rules import HandshakeReport
    from wsaccept_cli.ui.diagnostics import Diagnostics
    from wsaccept_cli.ui.render import ProbeView, Renderer
    from wsaccept_cli.ui.writer import OutputWriter

    Remark = tuple[str, str | None, str]  # kind, where, message: one Diagnostics.say
    Counts = tuple[int, int, int, int]  # results, invalid, failed, bad_lines
    # A block's output rendered elsewhere (a worker's, read into a bytearray), remarks, counts.
    Rendered = tuple[bytes | bytearray, list[Remark], Counts]


class Session:
    """Routes each result where it belongs and keeps the counts the summary and exit code need."""

    def __init__(
        self,
        renderer: Renderer,
        diagnostics: Diagnostics,
        *,
        strict: bool = False,
        stdout: OutputWriter | None = None,
    ) -> None:
        self.renderer = renderer
        self.stdout = stdout
        self.diagnostics = diagnostics
        self.strict = strict
        self.results = 0
        self.invalid = 0
        self.failed = 0
        self.bad_lines = 0

    def handle(self, item: Item) -> None:
        if isinstance(item, KeyRun):
            self._key_run(item)
        elif isinstance(item, PairRun):
            self.results += len(item.keys)
            self.renderer.pair_run(item)
        elif isinstance(item, KeyResult):
            self._key_result(item)
        elif isinstance(item, PairResult):
            self._pair_result(item)
        else:
            self._line_error(item)

    def _key_run(self, run: KeyRun) -> None:
        self.results += len(run.keys)
        self.renderer.key_run(run)
        if run.problems is None:
            return
        first = run.first_line
        for offset, problems in enumerate(run.problems):
            if problems:
                self._problems(f"line {first + offset}", problems, "warning")

    def _key_result(self, result: KeyResult) -> None:
        self.results += 1
        self.renderer.key_result(result)
        self._remarks(_where(result.line, result.key), result)

    def _pair_result(self, result: PairResult) -> None:
        self.results += 1
        self.renderer.pair_result(result)
        self._remarks(_where(result.line, result.key), result)
        if not result.match:
            self.failed += 1

    def _remarks(self, where: str, result: KeyResult | PairResult) -> None:
        refused = isinstance(result, KeyResult) and result.accept is None
        self._problems(where, result.problems, "error" if refused else "warning")
        for note in result.notes:
            self.diagnostics.say("note", where, note.message)

    def _problems(self, where: str, problems: tuple[Problem, ...], kind: str) -> None:
        """Count an invalid key and say what is wrong with it."""
        if problems:
            self.invalid += 1
        for problem in problems:
            self.diagnostics.say(kind, where, problem.message)

    def _line_error(self, error: LineError) -> None:
        self.bad_lines += 1
        where = None if error.line is None else f"line {error.line}"
        self.diagnostics.say("error", where, error.message)

    def handshake(self, report: HandshakeReport) -> None:
        self.results += 1
        if report.verdict == "fail":
            self.failed += 1
        self.renderer.handshake(report)

    def probe(self, view: ProbeView) -> None:
        self.results += 1
        self.renderer.probe(view)

    def generated(self, keys: list[bytes], accepts: list[bytes] | None) -> None:
        self.results += len(keys)
        self.renderer.generated(keys, accepts)

    def flush(self) -> None:
        self.renderer.flush()

    def counts(self) -> Counts:
        return self.results, self.invalid, self.failed, self.bad_lines

    def absorb(self, rendered: Rendered) -> None:
        """A block rendered by another session (a worker's): its remarks said here, in order,
        its counts added, its output written after whatever this session has written."""
        output, said, (results, invalid, failed, bad_lines) = rendered
        for kind, where, message in said:
            self.diagnostics.say(kind, where, message)
        self.results += results
        self.invalid += invalid
        self.failed += failed
        self.bad_lines += bad_lines
        if output:
            assert self.stdout is not None, "a session that absorbs output needs its stdout"
            self.renderer.flush()
            self.stdout.write(output)

    def finish(self, noun: str, *, nothing: str = "", required: bool = False) -> int:
        """Close the output, sum up what went wrong, and choose the exit code.

        `nothing` is said when the input held no result; with `required` that is a failure, as
        a check that checked nothing must not pass in CI.
        """
        self.renderer.close()
        self.diagnostics.finish()
        empty = not self.results and not self.bad_lines
        if empty and nothing:
            self.diagnostics.summary("error" if required else "warning", nothing)
        if self.invalid and self.results > 1:
            self.diagnostics.summary(
                "error" if self.strict else "warning",
                f"{self.invalid} of {self.results} {noun}s had problems",
            )
        if self.bad_lines:
            plural = "s" if self.bad_lines != 1 else ""
            self.diagnostics.summary("error", f"{self.bad_lines} input line{plural} skipped")
        failed = self.failed or self.bad_lines or (self.strict and self.invalid)
        failed = failed or (empty and required)
        return ExitCode.CHECK_FAILED if failed else ExitCode.OK


def _where(line: int | None, key: bytes) -> str:
    return f"line {line}" if line is not None else repr(printable(key))
