"""`inspect --summary` of a packet capture: one row per connection, like Zeek's websocket.log,
then the counts by outcome and by server.

Plain output is Zeek's TSV shape (a `#fields` line, tab-separated rows, `-` for an unset
field, `#` lines for the totals), so it pipes into `zeek-cut`-style tools, cut and awk; JSON is
one object per row, then one with the counts. Rows are written as connections end, so a live
capture shows them as they come; only the counts are kept.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from wsaccept_cli.core.connection import iso_time

if TYPE_CHECKING:
    from wsaccept_cli.core.rules import HandshakeReport

FIELDS = (
    "ts", "client", "server", "status", "verdict", "handshake_ms", "client_frames",
    "server_frames", "client_close", "server_close", "closed_first", "ended", "gaps", "tls",
)  # fmt: skip


class ConnectionTable:
    """The rows of a capture's connections, and the counts they add up to."""

    def __init__(self, fmt: str) -> None:
        self.json = fmt == "json"
        self.verdicts: Counter[str] = Counter()
        self.servers: dict[str, Counter[str]] = {}
        self.started = False

    def row(self, report: HandshakeReport) -> bytes:
        """One connection's row (after the header line, for the first)."""
        values = self._values(report)
        self.verdicts[report.verdict] += 1
        self.servers.setdefault(values["server"], Counter())[report.verdict] += 1
        if self.json:
            return _json({"connection": report.number, **values})
        header = b"" if self.started else ("#fields\t" + "\t".join(FIELDS) + "\n").encode()
        self.started = True
        cells = ["-" if values[name] is None else str(values[name]) for name in FIELDS]
        return header + ("\t".join(cells) + "\n").encode("utf-8", "backslashreplace")

    def _values(self, report: HandshakeReport) -> dict[str, Any]:
        connection = report.handshake.connection
        assert connection is not None
        response = report.handshake.response
        frames = connection.frames
        tls = connection.tls
        return {
            "ts": iso_time(connection.started_at),
            "client": str(connection.client),
            "server": str(connection.server),
            "status": response.status if response is not None else None,
            "verdict": report.verdict,
            "handshake_ms": connection.handshake_ms,
            "client_frames": _frames(frames["client"].counts) if frames else None,
            "server_frames": _frames(frames["server"].counts) if frames else None,
            "client_close": _code(frames["client"].close) if frames else None,
            "server_close": _code(frames["server"].close) if frames else None,
            "closed_first": connection.close_first(),
            "ended": connection.how_ended(),
            "gaps": sum(connection.gaps.values()),
            "tls": None if tls is None else ("decrypted" if tls.decrypted else "encrypted"),
        }

    def totals(self) -> bytes:
        """The counts by outcome and by server."""
        if self.json:
            return _json(
                {
                    "connections": sum(self.verdicts.values()),
                    "verdicts": dict(self.verdicts),
                    "servers": {server: dict(c) for server, c in self.servers.items()},
                }
            )
        lines = [f"#connections\t{sum(self.verdicts.values())}\t{_counts(self.verdicts)}"]
        lines += [f"#server\t{server}\t{_counts(c)}" for server, c in sorted(self.servers.items())]
        return ("\n".join(lines) + "\n").encode()


def _frames(counts: dict[str, int]) -> str:
    return ",".join(f"{name}={count}" for name, count in counts.items() if count) or "0"


def _code(close: tuple[int | None, str] | None) -> int | str | None:
    if close is None:
        return None
    return close[0] if close[0] is not None else "none"


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{count} {verdict}" for verdict, count in sorted(counter.items()))


def _json(record: dict[str, Any]) -> bytes:
    import json

    from wsaccept_cli.ui.text import json_safe

    encoded = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    return json_safe(encoded).encode("utf-8", "backslashreplace") + b"\n"
