"""The output formats in one place: plain for pipes, JSON Lines for machines, rich for people.

Renderers collect the output for one block of input and write it on `flush`, so a stream of a
million keys costs one write per block. Rich lives in `render_rich` and is imported only when the
rich format is chosen, so plain and JSON output start as fast as click allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any, cast

from wsaccept_cli.core.keys import Problem, accept_lines, printable
from wsaccept_cli.core.results import KeyResult, KeyRun, PairResult, PairRun
from wsaccept_cli.ui.writer import OutputWriter, TextOutput

if TYPE_CHECKING:
    from wsaccept_cli.core.outcomes import ProbeOutcome
    from wsaccept_cli.core.rules import HandshakeReport


class ProbeView:
    """What `probe` shows: the exchange as printed (secrets redacted), its report and outcome."""

    def __init__(
        self,
        request: bytes,
        response: bytes,
        report: HandshakeReport,
        outcome: ProbeOutcome,
        address: str | None,
        timings: dict[str, float | None],
    ) -> None:
        self.request_lines = _transcript(request)
        self.response_lines = _transcript(response)
        self.report = report
        self.outcome = outcome
        self.address = address
        self.timings = timings

    def timing_text(self) -> str:
        names = {"connect_ms": "connect", "tls_ms": "TLS", "first_byte_ms": "first byte"}
        shown = [f"{label} {self.timings[key]:.1f} ms" for key, label in names.items()
                 if self.timings[key] is not None]  # fmt: skip
        where = f"{self.address}: " if self.address else ""
        return f"{where}{', '.join(shown) or 'no connection'}; outcome: {self.outcome}"

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.report.as_dict(),
            "outcome": self.outcome.label,
            "address": self.address,
            "timings": self.timings,
            "request": self.request_lines,
            "response": self.response_lines,
        }


def _transcript(message: bytes) -> list[str]:
    """The lines of a message head as printable text, without the final empty ones."""
    lines = message.split(b"\r\n")
    while lines and not lines[-1]:
        lines.pop()
    return [printable(line) for line in lines]


if TYPE_CHECKING:  # a Protocol class costs start-up time; only the type checker needs it
    from typing import Protocol

    class Renderer(Protocol):
        """What the commands hand their results to."""

        def key_run(self, run: KeyRun) -> None: ...
        def key_result(self, result: KeyResult) -> None: ...
        def pair_run(self, run: PairRun) -> None: ...
        def pair_result(self, result: PairResult) -> None: ...
        def generated(self, keys: list[bytes], accepts: list[bytes] | None) -> None: ...
        def handshake(self, report: HandshakeReport) -> None: ...
        def probe(self, probe: ProbeView) -> None: ...
        def flush(self) -> None: ...
        def close(self) -> None: ...


def make_renderer(fmt: str, stdout: OutputWriter, *, color: bool, quiet: bool = False) -> Renderer:
    """The renderer for `fmt`, writing to `stdout`."""
    if quiet:
        return NullRenderer()
    if fmt == "rich":
        from wsaccept_cli.ui.render_rich import RichRenderer

        return RichRenderer(cast(IO[str], TextOutput(stdout)), color=color)
    renderers: dict[str, type[PlainRenderer | JsonRenderer]] = {
        "json": JsonRenderer,
        "http": HttpResponseRenderer,
    }
    return renderers.get(fmt, PlainRenderer)(stdout)


class BufferedRenderer:
    """Output pieces kept until `flush` writes them in one call."""

    def __init__(self, stream: OutputWriter) -> None:
        self.stream = stream
        self.pieces: list[bytes] = []

    def flush(self) -> None:
        if self.pieces:
            self.stream.write(b"".join(self.pieces))
            self.pieces.clear()

    def close(self) -> None:
        self.flush()


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
        expected, received = result.expected.decode(), printable(result.received)
        text = f"{where}mismatch: expected {expected}, received {received}\n"
        self.pieces.append(text.encode())

    def generated(self, keys: list[bytes], accepts: list[bytes] | None) -> None:
        if accepts is None:
            self.pieces += (b"\n".join(keys), b"\n")
        else:
            self.pieces += [key + b"\t" + accept for key, accept in zip(keys, accepts)]

    def handshake(self, report: HandshakeReport) -> None:
        lines = [f"handshake {report.number}: {report.describe()}: {report.verdict}"]
        for finding in report.findings:
            lines.append(
                f"  {finding.status:4}  {finding.rule:22} {finding.section:7}  {finding.message}"
            )
        lines += [f"  body  | {line}" for line in report.body()]
        self.pieces.append(("\n".join(lines) + "\n").encode("utf-8", "backslashreplace"))

    def probe(self, probe: ProbeView) -> None:
        lines = [f"> {line}".rstrip() for line in probe.request_lines] + [">"]
        if probe.response_lines:
            lines += [f"< {line}".rstrip() for line in probe.response_lines] + ["<"]
        self.pieces.append(("\n".join(lines) + "\n").encode("utf-8", "backslashreplace"))
        self.handshake(probe.report)
        self.pieces.append(f"{probe.timing_text()}\n".encode())


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
    b'{"line":%d,"key":"%s","accept":"%s","expected":"%s","match":true,'
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

    def _record(self, record: dict[str, Any]) -> None:
        import json  # here, not at the top: the fast paths and plain output never need it

        self.pieces.append(
            json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        )


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

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass
