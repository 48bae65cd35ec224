"""One command run: results rendered, remarks said, counts tallied, the exit code derived.

There is one way from results to output. A `Rendering` turns results into a `Rendered`: the
bytes for stdout, the remarks for stderr and the counts. `render_block` does that for a block of
stdin, the same function whether this process calls it or a worker does. The `Session` of the
main process is the only writer: it writes each Rendered in order, says its remarks and adds its
counts to the `Tally`, whose `exit_code` is decided from the counts alone, after the output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from wsaccept_cli.core.exitcodes import ExitCode
from wsaccept_cli.core.results import KeyResult, KeyRun, LineError, PairResult, PairRun
from wsaccept_cli.ui.text import display_bytes

if TYPE_CHECKING:
    from wsaccept_cli.core.compare import Comparison
    from wsaccept_cli.core.keys import Problem
    from wsaccept_cli.core.lines import Block, OverlongLine
    from wsaccept_cli.core.outcomes import ProbeOutcome
    from wsaccept_cli.core.results import Item
    from wsaccept_cli.core.rules import HandshakeReport
    from wsaccept_cli.ui.diagnostics import Diagnostics
    from wsaccept_cli.ui.environment import Environment
    from wsaccept_cli.ui.render import RendererSpec
    from wsaccept_cli.ui.views import ProbeView, Renderer
    from wsaccept_cli.ui.writer import OutputWriter

    Remark = tuple[str, str | None, str]  # kind, where, message: one Diagnostics.say
    Rendered = tuple[bytes, list[Remark], "Counts"]
    Process = Callable[[Block | OverlongLine], Iterable[Item]]


class Counts:
    """How many results a piece of work had, and how many of them were invalid keys, failed
    checks and input lines holding nothing to check: what the exit code is decided from."""

    __slots__ = ("bad_lines", "failed", "invalid", "results")

    def __init__(self) -> None:
        self.results = self.invalid = self.failed = self.bad_lines = 0

    def add(self, other: Counts) -> None:
        self.results += other.results
        self.invalid += other.invalid
        self.failed += other.failed
        self.bad_lines += other.bad_lines


class Rendering:
    """Results turned into stdout bytes, remarks and counts, handed over by `take`."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer
        # A renderer that shows a key's problems in its row (rich) has them said once, there.
        self.problems_in_output = getattr(renderer, "shows_problems", False)
        self.remarks: list[Remark] = []
        self.counts = Counts()

    def handle(self, item: Item) -> None:
        """One result of compute or verify."""
        if isinstance(item, KeyRun):
            self._key_run(item)
        elif isinstance(item, PairRun):
            self.counts.results += len(item.keys)
            self.renderer.pair_run(item)
        elif isinstance(item, KeyResult):
            self._key_result(item)
        elif isinstance(item, PairResult):
            self._pair_result(item)
        else:
            self._line_error(item)

    def _key_run(self, run: KeyRun) -> None:
        self.counts.results += len(run.keys)
        self.renderer.key_run(run)
        if run.problems is None:
            return
        first = run.first_line
        for offset, problems in enumerate(run.problems):
            if problems:
                self._problems(f"line {first + offset}", problems, "warning")

    def _key_result(self, result: KeyResult) -> None:
        self.counts.results += 1
        self.renderer.key_result(result)
        self._remarks(_where(result.line, result.key), result)
        if result.problems and looks_like_pair(result.key):
            self.remarks.append(("note", None, PAIR_HINT))

    def _pair_result(self, result: PairResult) -> None:
        self.counts.results += 1
        self.renderer.pair_result(result)
        self._remarks(_where(result.line, result.key), result)
        if not result.match:
            self.counts.failed += 1

    def _remarks(self, where: str, result: KeyResult | PairResult) -> None:
        refused = isinstance(result, KeyResult) and result.accept is None
        self._problems(where, result.problems, "error" if refused else "warning")
        if not self.problems_in_output:
            self.remarks += [("note", where, note.message) for note in result.notes]

    def _problems(self, where: str, problems: tuple[Problem, ...], kind: str) -> None:
        """Count an invalid key and say what is wrong with it."""
        if problems:
            self.counts.invalid += 1
        if not self.problems_in_output:
            self.remarks += [(kind, where, problem.message) for problem in problems]

    def _line_error(self, error: LineError) -> None:
        self.counts.bad_lines += 1
        where = None if error.line is None else f"line {error.line}"
        self.remarks.append(("error", where, error.message))

    def handshake(self, report: HandshakeReport) -> None:
        self.count(report)
        self.renderer.handshake(report)

    def count(self, report: HandshakeReport) -> None:
        """Count a handshake shown some other way (a summary's row), without rendering it."""
        self.counts.results += 1
        if report.verdict == "fail":
            self.counts.failed += 1

    def probe(self, view: ProbeView) -> None:
        self.counts.results += 1
        self.renderer.probe(view)

    def comparison(self, comparison: Comparison) -> None:
        self.renderer.comparison(comparison)

    def generated(self, keys: list[bytes], accepts: list[bytes] | None) -> None:
        self.counts.results += len(keys)
        self.renderer.generated(keys, accepts)

    def take(self) -> Rendered:
        """What was rendered since the last call, and its remarks and counts; then start anew."""
        rendered = (self.renderer.take(), self.remarks, self.counts)
        self.remarks, self.counts = [], Counts()
        return rendered


def render_block(
    rendering: Rendering,
    process: Callable[[Block | OverlongLine], Iterable[Item]],
    block: Block | OverlongLine,
) -> Rendered:
    """A block of stdin's results rendered: the one function every block goes through."""
    for item in process(block):
        rendering.handle(item)
    return rendering.take()


class BlockWork:
    """`render_block` with its process and renderer bound: what is done to each block, here or
    in a worker. It pickles as the spec alone, so a worker makes its own Rendering (plain and
    JSON renderers hold nothing between blocks; rich output is never sent to a worker)."""

    def __init__(
        self,
        process: Callable[[Block | OverlongLine], Iterable[Item]],
        spec: RendererSpec,
        rendering: Rendering | None = None,
    ) -> None:
        self.process = process
        self.spec = spec
        self.rendering = rendering

    def __call__(self, block: Block | OverlongLine) -> Rendered:
        if self.rendering is None:
            self.rendering = Rendering(self.spec.make())
        return render_block(self.rendering, self.process, block)

    def __getstate__(self) -> tuple[Process, RendererSpec]:
        return self.process, self.spec

    def __setstate__(self, state: tuple[Process, RendererSpec]) -> None:
        self.process, self.spec = state
        self.rendering = None


class Tally(Counts):
    """The counts of a whole run, and the exit code they mean."""

    __slots__ = ("outcome", "required", "strict")

    def __init__(self, *, strict: bool = False, required: bool = False) -> None:
        super().__init__()
        self.strict = strict
        self.required = required  # a run that checked nothing fails (verify in CI)
        self.outcome: ProbeOutcome | None = None  # how a probe ended: its exit code wins

    @property
    def empty(self) -> bool:
        return not self.results and not self.bad_lines

    @property
    def exit_code(self) -> int:
        if self.outcome is not None:
            return self.outcome.exit_code
        failed = self.failed or self.bad_lines or (self.strict and self.invalid)
        if failed or (self.empty and self.required):
            return ExitCode.CHECK_FAILED
        return ExitCode.OK


class Session:
    """The main process's end of a run: the only writer of stdout and stderr."""

    def __init__(
        self, stdout: OutputWriter, diagnostics: Diagnostics, tally: Tally, spec: RendererSpec
    ) -> None:
        self.stdout = stdout
        self.diagnostics = diagnostics
        self.tally = tally
        self.spec = spec
        self.pair_hinted = False

    @classmethod
    def open(
        cls,
        env: Environment,
        fmt: str | None,
        color: bool | None,
        *,
        strict: bool = False,
        quiet: bool = False,
        required: bool = False,
        verbose: bool = False,
        clients: tuple[str, ...] | None = None,
    ) -> Session:
        """A session for `env`, its format and colours decided once, here."""
        from wsaccept_cli.ui.diagnostics import Diagnostics
        from wsaccept_cli.ui.render import RendererSpec
        from wsaccept_cli.ui.writer import OutputWriter

        assert env.stdout is not None, "a closed stdout is refused before a session opens"
        spec = RendererSpec(
            env.output_format(fmt),
            color=env.color(color, env.stdout),
            quiet=quiet,
            terminal=env.stdout_is_terminal(),
            verbose=verbose,
            clients=clients,
        )
        diagnostics = Diagnostics(env.stderr, color=env.color(color, env.stderr), quiet=quiet)
        tally = Tally(strict=strict, required=required)
        return cls(OutputWriter(env.stdout), diagnostics, tally, spec)

    def rendering(self) -> Rendering:
        """A Rendering for results this process renders itself."""
        return Rendering(self.spec.make())

    def emit(self, rendered: Rendered) -> None:
        """Write a Rendered after everything written before it, and say its remarks."""
        output, remarks, counts = rendered
        for kind, where, message in remarks:
            if message == PAIR_HINT:  # said once, at the end, not once per line or block
                self.pair_hinted = True
                continue
            self.diagnostics.say(kind, where, message)
        self.tally.add(counts)
        if output:
            self.stdout.write(output)

    def finish(self, noun: str, *, nothing: str = "") -> int:
        """Sum up what went wrong on stderr; the exit code the tally means.

        `nothing` is said when the input held no result: an error when the tally requires one.
        """
        tally, diagnostics = self.tally, self.diagnostics
        diagnostics.finish()
        if tally.empty and nothing:
            diagnostics.summary("error" if tally.required else "warning", nothing)
        if tally.invalid and tally.results > 1:
            diagnostics.summary(
                "error" if tally.strict else "warning",
                f"{tally.invalid} of {tally.results} {noun}s had problems",
            )
        if tally.bad_lines:
            plural = "s" if tally.bad_lines != 1 else ""
            diagnostics.summary("error", f"{tally.bad_lines} input line{plural} skipped")
        if self.pair_hinted:
            diagnostics.summary("note", PAIR_HINT)
        return tally.exit_code


PAIR_HINT = (
    "these look like 'KEY ACCEPT' pairs (as 'wsaccept genkey --with-accept' writes them);"
    " to check each accept against its key: wsaccept verify"
)


def looks_like_pair(key: bytes) -> bool:
    """A line of compute that is a key and an accept side by side: 24 and 28 base64
    characters, whitespace between."""
    parts = key.split()
    return len(parts) == 2 and (len(parts[0]), len(parts[1])) == (24, 28)


def _where(line: int | None, key: bytes) -> str:
    return f"line {line}" if line is not None else f"'{display_bytes(key)}'"
