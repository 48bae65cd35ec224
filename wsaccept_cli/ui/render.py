"""The output formats in one place: plain for pipes, JSON Lines for machines, rich for people.

Renderers collect the output for one block of input and hand it over as bytes on `take`, so a
stream of a million keys costs one write per block, and a worker process can render a block the
way this process would. Rich lives in `render_rich` and is imported only when the rich format is
chosen, so plain and JSON output start as fast as click allows. Text that may carry input passes
through `ui.text.display` (plain, rich) or `ui.text.json_safe` (JSON) on its way out.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from wsaccept_cli.core.keys import Problem, accept_lines
from wsaccept_cli.core.results import KeyResult, KeyRun, PairResult, PairRun
from wsaccept_cli.ui.text import display_bytes, json_safe, shown

if TYPE_CHECKING:
    import json

    from wsaccept_cli.core.compare import Comparison
    from wsaccept_cli.core.rules import HandshakeReport
    from wsaccept_cli.ui.views import ProbeView, Renderer


class RendererSpec:
    """What it takes to make a renderer: a format and how it is to look. Small and picklable, so
    a worker process makes the same renderer as this one."""

    __slots__ = ("clients", "color", "fmt", "quiet", "terminal", "verbose")

    def __init__(
        self,
        fmt: str,
        *,
        color: bool = False,
        quiet: bool = False,
        terminal: bool = False,
        verbose: bool = False,
        clients: tuple[str, ...] | None = None,
    ) -> None:
        self.fmt = fmt
        self.clients = clients  # the clients the `clients:` line names (--clients), or all
        self.color = color
        self.quiet = quiet
        self.terminal = terminal
        self.verbose = verbose  # every rule of a handshake, not only what needs a look

    def keeps_state(self) -> bool:
        """Whether its renderer carries state from block to block (rich's one continuing
        table), so that every block must be rendered by this process."""
        return self.fmt == "rich" and not self.quiet

    def make(self) -> Renderer:
        """The renderer for the format; rich is imported here, only when it is chosen."""
        if self.quiet:
            return NullRenderer()
        if self.fmt == "rich":
            from wsaccept_cli.ui.render_rich import RichRenderer

            return RichRenderer(
                color=self.color, terminal=self.terminal, verbose=self.verbose, clients=self.clients
            )
        renderers: dict[str, type[PlainRenderer | JsonRenderer]] = {
            "json": JsonRenderer,
            "http": HttpResponseRenderer,
        }
        return renderers.get(self.fmt, PlainRenderer)(verbose=self.verbose, clients=self.clients)


class BufferedRenderer:
    """Output pieces kept until `take` hands them over, joined."""

    def __init__(self, *, verbose: bool = False, clients: tuple[str, ...] | None = None) -> None:
        self.pieces: list[bytes] = []
        self.clients = clients
        self.verbose = verbose

    def take(self) -> bytes:
        taken = b"".join(self.pieces)
        self.pieces.clear()
        return taken


class PlainRenderer(BufferedRenderer):
    """One value per line, no decoration: an accept, a key, or a verdict."""

    def key_run(self, run: KeyRun) -> None:
        self.pieces += run.accept_lines

    def key_result(self, result: KeyResult) -> None:
        if result.accept is not None:
            self.pieces.append(result.accept + b"\n")

    def pair_run(self, run: PairRun) -> None:
        self.pieces.append(b"ok\n" * len(run.keys))

    def pair_result(self, result: PairResult) -> None:
        if result.match:
            self.pieces.append(b"ok\n")
            return
        where = f"line {result.line}: " if result.line is not None else ""
        expected, received = result.expected.decode(), display_bytes(result.received)
        received = received or "(empty)"
        cause = f": {result.cause}" if result.cause else ""
        text = f"{where}mismatch: expected {expected}, received {received}{cause}\n"
        self.pieces.append(text.encode())

    def generated(self, keys: list[bytes], accepts: list[bytes] | None) -> None:
        if accepts is None:
            self.pieces += (b"\n".join(keys), b"\n")
        else:
            self.pieces += [key + b"\t" + accept for key, accept in zip(keys, accepts)]

    def handshake(self, report: HandshakeReport) -> None:
        from wsaccept_cli.ui.findings import shown_findings, tally_text

        heading = f"handshake {report.number}: {shown(report.describe())}: {report.verdict}"
        if not self.verbose:
            heading += f" — {tally_text(report)}"
        lines = [heading]
        for finding in shown_findings(report, verbose=self.verbose):
            message = shown(finding.message)
            lines.append(f"  {finding.status:4}  {finding.rule:22} {finding.section:7}  {message}")
        from wsaccept_cli.ui.findings import chosen_clients

        if chosen := chosen_clients(report, self.clients):
            from wsaccept_cli.core.clients import describe  # not at start-up: inspect only

            lines.append(f"  clients: {shown(describe(chosen))}")
        if report.handshake.connection is not None:
            lines.append(f"  connection: {shown(report.handshake.connection.summary_line())}")
        lines += [f"  body  | {shown(line)}" for line in report.body()]
        self.pieces.append(("\n".join(lines) + "\n").encode("utf-8", "backslashreplace"))

    def probe(self, probe: ProbeView) -> None:
        from wsaccept_cli.ui.views import transcript

        lines = []
        if probe.sent:
            lines += [f"> {line}".rstrip() for line in transcript(probe.request)] + [">"]
        if probe.response:
            lines += [f"< {line}".rstrip() for line in transcript(probe.response)] + ["<"]
        if lines:
            self.pieces.append(("\n".join(lines) + "\n").encode("utf-8", "backslashreplace"))
        self.handshake(probe.report)
        self.pieces.append(f"{probe.timing_text()}\n".encode())

    def comparison(self, comparison: Comparison) -> None:
        from wsaccept_cli.ui.render_compare import comparison_lines

        text = "\n".join(comparison_lines(comparison)) + "\n"
        self.pieces.append(text.encode("utf-8", "backslashreplace"))


class HttpResponseRenderer(PlainRenderer):
    """compute --response: a complete 101 response per key instead of the accept alone."""

    def key_run(self, run: KeyRun) -> None:
        from wsaccept_cli.core.request import build_response

        self.pieces += map(build_response, run.keys)

    def key_result(self, result: KeyResult) -> None:
        from wsaccept_cli.core.request import build_response

        if result.accept is not None:
            self.pieces.append(build_response(result.key))


# Records of the fast paths, whose values are base64 and need no escaping; a test checks that
# they equal what json.dumps makes of the same record.
_VALID_KEY_RECORD = b'{"line":%d,"key":"%s","accept":"%s","valid":true,"problems":[],"notes":[]}\n'
_MATCH_RECORD = (
    b'{"line":%d,"key":"%s","accept":"%s","expected":"%s","match":true,"cause":null,'
    b'"valid":true,"problems":[],"notes":[]}\n'
)
_GENERATED_RECORD = b'{"key":"%s","accept":"%s"}\n'


class JsonRenderer(BufferedRenderer):
    """JSON Lines: one object per result, with the stable fields the README documents."""

    def key_run(self, run: KeyRun) -> None:
        if run.problems is not None:
            for result in run.results():
                self.key_result(result)
            return
        template = _VALID_KEY_RECORD
        self.pieces += [
            template % (line, key, accept[:-1])
            for line, key, accept in zip(lines_of(run), run.keys, run.accept_lines)
        ]

    def key_result(self, result: KeyResult) -> None:
        self._record(
            {
                "line": result.line,
                "key": text(result.key),
                "accept": None if result.accept is None else result.accept.decode(),
                "valid": not result.problems,
                "problems": _dicts(result.problems),
                "notes": _dicts(result.notes),
            }
        )

    def pair_run(self, run: PairRun) -> None:
        template = _MATCH_RECORD
        self.pieces += [
            template % (line, key, accept, accept)
            for line, key, accept in zip(lines_of(run), run.keys, run.accepts)
        ]

    def pair_result(self, result: PairResult) -> None:
        self._record(
            {
                "line": result.line,
                "key": text(result.key),
                "accept": text(result.received),
                "expected": result.expected.decode(),
                "match": result.match,
                "cause": result.cause,
                "valid": not result.problems,
                "problems": _dicts(result.problems),
                "notes": _dicts(result.notes),
            }
        )

    def generated(self, keys: list[bytes], accepts: list[bytes] | None) -> None:
        template = _GENERATED_RECORD
        self.pieces += [
            template % (key, accept[:-1])
            for key, accept in zip(keys, accepts or accept_lines(keys))
        ]

    def handshake(self, report: HandshakeReport) -> None:
        self._record(report.as_dict())

    def probe(self, probe: ProbeView) -> None:
        self._record(probe.as_dict())

    def comparison(self, comparison: Comparison) -> None:
        self._record(comparison.as_dict())

    def _record(self, record: dict[str, Any]) -> None:
        encoded = _json_encoder().encode(record)
        self.pieces.append(json_safe(encoded).encode("utf-8", "backslashreplace") + b"\n")


@functools.cache
def _json_encoder() -> json.JSONEncoder:
    """One encoder for every record (json.dumps makes one per call when given options): a
    record is plain data made here, dicts and lists of str, int, float, bool and None, with no
    cycle to look for. Made on first use: the fast paths and plain output never need json."""
    import json

    return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def lines_of(run: KeyRun | PairRun) -> range:
    """The line numbers of a run (a range, not itertools.count: one import fewer at start-up)."""
    return range(run.first_line, run.first_line + len(run.keys))


def _dicts(problems: Sequence[Problem]) -> list[dict[str, str]]:
    return [problem.as_dict() for problem in problems]


def text(value: bytes) -> str:
    """Bytes as JSON text: UTF-8, with invalid bytes shown as \\xNN escapes."""
    return value.decode("utf-8", "backslashreplace")


class NullRenderer:
    """For -q/--quiet: the exit code says it all."""

    def key_run(self, run: KeyRun) -> None:
        pass

    def key_result(self, result: KeyResult) -> None:
        pass

    def pair_run(self, run: PairRun) -> None:
        pass

    def pair_result(self, result: PairResult) -> None:
        pass

    def generated(self, keys: list[bytes], accepts: list[bytes] | None) -> None:
        pass

    def handshake(self, report: HandshakeReport) -> None:
        pass

    def probe(self, probe: ProbeView) -> None:
        pass

    def comparison(self, comparison: Comparison) -> None:
        pass

    def take(self) -> bytes:
        return b""
