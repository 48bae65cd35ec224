"""A TCP connection of a packet capture, as the report of its handshake shows it.

Pure data filled by the capture layer (`wsaccept_cli.capture`): the two ends, the times, the
frames each way after a 101, how the connection ended, the bytes a capture missed, and TLS. It
also says what could not be checked because of what the capture lacked, as findings: a report
must never pass or fail a handshake it could not see whole.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from wsaccept_cli.core.frames import FrameTally

SIDES = ("client", "server")


class Endpoint:
    __slots__ = ("address", "port")

    def __init__(self, address: str, port: int) -> None:
        self.address = address
        self.port = port

    def __str__(self) -> str:
        return (
            f"[{self.address}]:{self.port}"
            if ":" in self.address
            else f"{self.address}:{self.port}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {"address": self.address, "port": self.port}


class TlsInfo:
    __slots__ = ("alpn", "decrypted", "sni")

    def __init__(self, sni: str | None, alpn: list[str], decrypted: bool) -> None:
        self.sni = sni
        self.alpn = alpn  # offered by the client, or the one the server chose when seen
        self.decrypted = decrypted

    def as_dict(self) -> dict[str, Any]:
        return {"sni": self.sni, "alpn": self.alpn, "decrypted": self.decrypted}


class Connection:
    """One connection's record: filled as packets come, read when the report is made."""

    def __init__(self, client: Endpoint, server: Endpoint) -> None:
        self.client = client
        self.server = server
        self.started_at: float | None = None  # the first byte of the request
        self.answered_at: float | None = None  # the first byte of the response
        self.frames: dict[str, FrameTally] | None = None  # after a 101 only
        self.deflate_negotiated = False
        self.ended = "open"  # "fin", "reset" (or "close" when a Close frame was seen)
        self.gaps = dict.fromkeys(SIDES, 0)
        self.tls: TlsInfo | None = None
        self.mid_connection = False  # the capture has no SYN: it started after the connection
        self.unchecked: list[str] = []  # what could not be checked, and why
        self.not_http: str | None = None  # what the server answered instead of an HTTP head

    def start_frames(self, deflate: bool) -> None:
        self.frames = {side: FrameTally(side) for side in SIDES}
        self.deflate_negotiated = deflate

    @property
    def handshake_ms(self) -> float | None:
        if self.started_at is None or self.answered_at is None:
            return None
        return round((self.answered_at - self.started_at) * 1000, 3)

    def close_first(self) -> str | None:
        """The side whose Close frame came first."""
        if self.frames is None:
            return None
        times = [(t.close_at, t.side) for t in self.frames.values() if t.close_at is not None]
        return min(times)[1] if times else None

    def how_ended(self) -> str:
        if self.frames and any(tally.close is not None for tally in self.frames.values()):
            return "close"
        return self.ended

    def frames_dict(self) -> dict[str, Any] | None:
        if self.frames is None:
            return None
        return {side: tally.as_dict() for side, tally in self.frames.items()}

    def as_dict(self) -> dict[str, Any]:
        frames = self.frames
        return {
            "client": self.client.as_dict(),
            "server": self.server.as_dict(),
            "started_at": iso_time(self.started_at),
            "handshake_ms": self.handshake_ms,
            "frames": self.frames_dict(),
            "deflate": {
                "negotiated": self.deflate_negotiated,
                "used": bool(frames and any(t.compressed for t in frames.values())),
            },
            "masking": {side: t.masking() for side, t in frames.items()} if frames else None,
            "close": {
                **{side: _close_dict(t.close) for side, t in (frames or {}).items()},
                "first": self.close_first(),
                "ended": self.how_ended(),
            },
            "gaps": dict(self.gaps),
            "tls": self.tls.as_dict() if self.tls else None,
        }

    def summary_line(self) -> str:
        """One line, like a row of Zeek's websocket.log: who, when, how long, what, how it ended."""
        parts = [
            iso_time(self.started_at) or "-",
            f"{self.client} -> {self.server}",
            f"{self.handshake_ms} ms" if self.handshake_ms is not None else "- ms",
        ]
        if self.frames:
            for side, tally in self.frames.items():
                messages = tally.counts["text"] + tally.counts["binary"]
                parts.append(f"{side} {messages} msg {tally.bytes} B")
        if self.tls:
            parts.append(f"tls sni={self.tls.sni or '-'}")
        parts.append(f"ended {self.how_ended()}")
        first = self.close_first()
        if first:
            parts.append(f"{first} closed first")
        if any(self.gaps.values()):
            parts.append("gaps " + "/".join(f"{self.gaps[side]} B" for side in SIDES))
        return ", ".join(parts)


def _close_dict(close: tuple[int | None, str] | None) -> dict[str, Any] | None:
    return None if close is None else {"code": close[0], "reason": close[1]}


def iso_time(when: float | None) -> str | None:
    """A capture's timestamp as ISO 8601 in UTC, to the microsecond."""
    if when is None:
        return None
    moment = datetime.fromtimestamp(when, tz=timezone.utc)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")
