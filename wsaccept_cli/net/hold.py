"""After the upgrade: hold the connection (--hold), ping it (--ping), send a message (--send),
and record how it ended: still open at the end (then closed politely with 1000), closed by the
peer after N s with its code and reason, or reset. This is how a proxy's idle timeout shows
itself. Frames are read and written by wsproto (imported only for these options).

Bounded: at most MAX_MESSAGES messages are kept, each cut to MAX_MESSAGE characters; every
wait ends at the hold's end (or, without --hold, after one answer within the wait).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from typing import Any

MAX_MESSAGES = 100
MAX_MESSAGE = 4096
ANSWER_WAIT = 5.0  # without --hold: how long to wait for the echo of --send or the pong
CLOSE_WAIT = 1.0


class Plan:
    """What to do with the upgraded connection."""

    def __init__(
        self, hold: float | None = None, ping: float | None = None, send: str | None = None
    ) -> None:
        self.hold = hold
        self.ping = ping
        self.send = send
        # Each event as it happens (a ping sent, a pong, a message, the end), for a person
        # watching at a terminal; a dict with its kind under "event"
        self.on_event: Callable[[dict[str, Any]], None] | None = None

    def duration(self) -> float:
        """How long the connection is kept: --hold, else until one answer comes."""
        if self.hold is not None:
            return self.hold
        return ANSWER_WAIT


def holder(plan: Plan) -> Callable[[socket.socket, Any], None]:
    """The after_upgrade hook of net.probe.run_probe for `plan`."""

    def hold(connection: socket.socket, result: Any) -> None:
        started = time.monotonic()  # before wsproto's import: the hold starts at the 101
        result.held = clean(Session(connection, plan, bytes(result.body), started).run())
        result.body = b""

    return hold


class Session:
    """One held connection: frames in and out through wsproto, and what happened."""

    def __init__(
        self, connection: socket.socket, plan: Plan, pending: bytes, started: float | None = None
    ) -> None:
        from wsproto.connection import Connection, ConnectionType

        self.socket = connection
        self.plan = plan
        self.ws = Connection(ConnectionType.CLIENT)
        self.pending = pending
        self.started = started if started is not None else time.monotonic()
        self.pings: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.record: dict[str, Any] = {
            "hold_s": plan.hold,
            "ping_s": plan.ping,
            "sent": plan.send,
            "ended": "open",
            "after_s": None,
            "close_code": None,
            "close_reason": None,
            "by": None,  # how it ended: "close" (a Close frame), "fin", "rst", "error"
            "pings": self.pings,
            "messages": self.messages,
        }
        self.sent_at: float | None = None

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def run(self) -> dict[str, Any]:
        from wsproto.events import TextMessage

        end = self.started + self.plan.duration()
        try:
            if self.plan.send is not None:
                self.sent_at = time.monotonic()
                self._write(self.ws.send(TextMessage(data=self.plan.send)))
            next_ping = time.monotonic() if self.plan.ping is not None else None
            if self.pending:
                self._feed(self.pending)
            while self.record["ended"] == "open" and time.monotonic() < end:
                if next_ping is not None and time.monotonic() >= next_ping:
                    self._ping()
                    next_ping = time.monotonic() + (self.plan.ping or 0)
                if self.plan.hold is None and self._answered():
                    break
                until = min(end, next_ping) if next_ping is not None else end
                self._read(max(until - time.monotonic(), 0.001))
        except OSError as error:
            by = "rst" if isinstance(error, ConnectionResetError) else "error"
            self._ended("reset", reason=error.strerror or str(error), by=by)
        except KeyboardInterrupt:  # the report so far is still shown; the CLI then ends by it
            self._ended("interrupted", reason="Ctrl-C", by="interrupt")
            self.socket.settimeout(0)
            with contextlib.suppress(OSError):  # going away (RFC 6455 §7.4.1), not waiting
                from wsproto.events import CloseConnection

                self.socket.send(self.ws.send(CloseConnection(code=1001)))
            return self.record
        if self.record["ended"] == "open":
            self._close_politely()
        self._tell("end", ended=self.record["ended"], code=self.record["close_code"])
        return self.record

    def _tell(self, kind: str, **fields: Any) -> None:
        if self.plan.on_event is not None:
            self.plan.on_event({"event": kind, "at_s": round(self.elapsed(), 3), **fields})

    def _answered(self) -> bool:
        wants_message = self.plan.send is not None
        wants_pong = self.plan.ping is not None
        got_pong = bool(self.pings) and self.pings[-1]["rtt_ms"] is not None
        return (not wants_message or bool(self.messages)) and (not wants_pong or got_pong)

    def _write(self, data: bytes) -> None:
        self.socket.settimeout(5)
        self.socket.sendall(data)

    def _ping(self) -> None:
        from wsproto.events import Ping

        payload = str(len(self.pings) + 1).encode()
        at = time.monotonic()
        self.pings.append(
            {
                "sent_at_s": round(at - self.started, 3),
                "rtt_ms": None,
                "_payload": payload,
                "_at": at,
            }
        )
        self._write(self.ws.send(Ping(payload=payload)))
        self._tell("ping", number=len(self.pings))

    def _read(self, wait: float) -> None:
        self.socket.settimeout(wait)
        try:
            data = self.socket.recv(65536)
        except TimeoutError:
            return
        if not data:
            self._ended("reset", reason="the connection ended without a Close frame", by="fin")
            return
        self._feed(data)

    def _feed(self, data: bytes) -> None:
        from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage

        self.ws.receive_data(data)
        for event in self.ws.events():
            if isinstance(event, Ping):
                self._write(self.ws.send(event.response()))
            elif isinstance(event, Pong):
                self._pong(bytes(event.payload))
            elif isinstance(event, (TextMessage, BytesMessage)):
                self._message(event.data if isinstance(event.data, str) else bytes(event.data))
            elif isinstance(event, CloseConnection):
                self._peer_closed(event)
                return

    def _pong(self, payload: bytes) -> None:
        for ping in self.pings:
            if ping["rtt_ms"] is None and ping["_payload"] == payload:
                ping["rtt_ms"] = round((time.monotonic() - ping["_at"]) * 1000, 3)
                self._tell("pong", number=self.pings.index(ping) + 1, rtt_ms=ping["rtt_ms"])

    def _message(self, data: str | bytes) -> None:
        if len(self.messages) >= MAX_MESSAGES:
            return
        text = data if isinstance(data, str) else data.hex()
        rtt = None
        if self.sent_at is not None and not self.messages:
            rtt = round((time.monotonic() - self.sent_at) * 1000, 3)
        self.messages.append(
            {
                "type": "text" if isinstance(data, str) else "binary",
                "data": text[:MAX_MESSAGE],
                "size": len(data),
                "at_s": round(self.elapsed(), 3),
                "rtt_ms": rtt,
            }
        )
        self._tell("message", **self.messages[-1])

    def _peer_closed(self, event: Any) -> None:
        from wsproto.connection import ConnectionState

        if self.ws.state is ConnectionState.OPEN:  # wsproto found a frame it cannot parse
            self._ended("protocol_error", code=event.code, reason=event.reason or "")
            with contextlib.suppress(OSError):  # fail the connection (RFC 6455 §7.1.7)
                self._write(self.ws.send(event))
            return
        self._ended("closed", code=event.code, reason=event.reason or "", by="close")
        with contextlib.suppress(OSError):  # echo the Close (RFC 6455 §5.5.1)
            self._write(self.ws.send(event.response()))

    def _ended(
        self, how: str, *, code: int | None = None, reason: str | None = None, by: str = "close"
    ) -> None:
        self.record.update(
            ended=how, after_s=round(self.elapsed(), 3), close_code=code, close_reason=reason,
            by=by,
        )  # fmt: skip

    def _close_politely(self) -> None:
        from wsproto.events import CloseConnection

        self.record["after_s"] = round(self.elapsed(), 3)
        try:
            self._write(self.ws.send(CloseConnection(code=1000)))
            until = time.monotonic() + CLOSE_WAIT
            while (left := until - time.monotonic()) > 0:
                self.socket.settimeout(left)
                if not self.socket.recv(65536):
                    break
        except OSError:
            pass
        self.record["close_code"] = 1000


def clean(record: dict[str, Any]) -> dict[str, Any]:
    """The record for the report, without the ping payloads kept for matching."""
    for ping in record.get("pings", []):
        ping.pop("_payload", None)
        ping.pop("_at", None)
    return record
