"""What the renderers are handed besides key results: a probe's exchange as it is shown, and the
interface every renderer offers. Kept apart from the renderers so that plain, JSON and rich all
import it and none imports another."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wsaccept_cli.core.wording import plural
from wsaccept_cli.ui.text import shown

if TYPE_CHECKING:
    from wsaccept_cli.core.compare import Comparison
    from wsaccept_cli.core.outcomes import ProbeOutcome
    from wsaccept_cli.core.results import KeyResult, KeyRun, PairResult, PairRun
    from wsaccept_cli.core.rules import HandshakeReport

# A hostile or broken server may send a 64 KiB head of short lines or one endless line: the
# transcript shows its start and says how much more there was, rather than pages of filler.
TRANSCRIPT_LINES = 40


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
        extra: dict[str, Any] | None = None,
        http_version: str = "1.1",
        settings: dict[str, int] | None = None,
        *,
        sent: bool = True,
    ) -> None:
        self.extra = extra or {}  # proxy, pinned, tls, redirects, intermediary, held (#15)
        self.http_version = http_version  # "2" for probe --http2
        self.settings = settings  # the server's HTTP/2 SETTINGS, by name
        self.request = request
        self.sent = sent  # whether the request went out: its transcript is shown only then
        self.response = response
        self.report = report
        self.outcome = outcome
        self.address = address
        self.timings = timings

    def timing_text(self) -> str:
        names = {"connect_ms": "connect", "tls_ms": "TLS", "first_byte_ms": "first byte"}
        shown = [f"{label} {self.timings[key]:.1f} ms" for key, label in names.items()
                 if self.timings[key] is not None]  # fmt: skip
        where = f"{self.address}: " if self.address else ""
        proxy = self.extra.get("proxy") or {}
        if proxy.get("url"):
            where = f"via proxy {proxy['url']} ({self.address or 'no connection'}): "
        return f"{where}{', '.join(shown) or 'no connection'}; outcome: {self.outcome}"

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.report.as_dict(),
            "outcome": self.outcome.label,
            "http_version": self.http_version,
            "settings": self.settings,
            "address": self.address,
            "timings": self.timings,
            "request": _text_lines(self.request),
            "request_sent": self.sent,
            "response": _text_lines(self.response),
            **self.extra,
        }


def _lines(message: bytes) -> list[bytes]:
    """The lines of a message head, without the final empty ones (at LF alone too, for a head
    with bare LF line endings)."""
    from wsaccept_cli.core.exchange import has_bare_lf

    if has_bare_lf(message):
        lines = [line.removesuffix(b"\r") for line in message.split(b"\n")]
    else:
        lines = message.split(b"\r\n")
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _text_lines(message: bytes) -> list[str]:
    """The lines of a message head as text (JSON escapes them), undecodable bytes as \\xNN."""
    return [line.decode("utf-8", "backslashreplace") for line in _lines(message)]


def transcript(message: bytes) -> list[str]:
    """The lines of a message head as display text; past TRANSCRIPT_LINES lines, or
    SHOWN_WIDTH characters in a line, a count of the rest (JSON carries them all)."""
    lines = _lines(message)
    kept = [shown(line.decode("utf-8", "backslashreplace")) for line in lines[:TRANSCRIPT_LINES]]
    if len(lines) > TRANSCRIPT_LINES:
        rest = lines[TRANSCRIPT_LINES:]
        size = sum(map(len, rest)) + 2 * len(rest)
        kept.append(
            f"[{plural(len(rest), 'more line', 'more lines')}, {plural(size, 'byte')}, not shown]"
        )
    return kept


if TYPE_CHECKING:  # a Protocol class costs start-up time; only the type checker needs it
    from typing import Protocol

    class Renderer(Protocol):
        """What results are handed to; `take` returns what was rendered since the last call."""

        def key_run(self, run: KeyRun) -> None: ...
        def key_result(self, result: KeyResult) -> None: ...
        def pair_run(self, run: PairRun) -> None: ...
        def pair_result(self, result: PairResult) -> None: ...
        def generated(self, keys: list[bytes], accepts: list[bytes] | None) -> None: ...
        def handshake(self, report: HandshakeReport) -> None: ...
        def probe(self, probe: ProbeView) -> None: ...
        def comparison(self, comparison: Comparison) -> None: ...
        def take(self) -> bytes: ...
