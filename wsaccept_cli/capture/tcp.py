"""One direction of a TCP connection, put back in order: what an application read, and where
the capture missed bytes.

Segments are placed by sequence number (unwrapped past 2**32, so a stream of any length works):
a retransmission or an overlap gives only its new bytes, a segment from ahead waits in a heap
until the bytes before it come. What never comes is a gap, reported with its byte count, when
the waiting bytes pass a bound (per direction, and one shared by all connections, so a capture
of any size holds bounded memory), when the side ends, or at the end of the capture. Bytes a
snap length cut off are a gap at their place too: they were sent, the capture did not keep them.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

WRAP = 1 << 32
MAX_WAITING = 1024 * 1024  # bytes from ahead one direction keeps for a segment still to come
MAX_WAITING_SEGMENTS = 4096


class Budget:
    """The bytes from ahead that all directions together may keep waiting."""

    def __init__(self, limit: int = 64 * 1024 * 1024) -> None:
        self.limit = limit
        self.used = 0


Deliver = Callable[[float, bytes], None]
Gap = Callable[[float, int], None]


class Direction:
    """One side's bytes, handed in order to `deliver(time, data)`; missing ones to
    `gap(time, count)`."""

    def __init__(self, deliver: Deliver, gap: Gap, budget: Budget) -> None:
        self._deliver = deliver
        self._gap = gap
        self._budget = budget
        self._isn: int | None = None  # the sequence number of stream offset 0
        self.next = 0  # the stream offset of the next byte the application reads
        self._waiting: list[tuple[int, int, float, bytes, int]] = []
        self._waiting_bytes = 0
        self._count = 0
        self.fin_at: int | None = None  # the stream offset of FIN
        self.mid_connection = False  # no SYN was seen: the stream starts where the capture did
        self.retransmitted = 0  # bytes that came again (retransmissions and overlaps)

    def syn(self, seq: int) -> None:
        if self._isn is None:
            self._isn = (seq + 1) % WRAP

    def _offset(self, seq: int) -> int:
        if self._isn is None:
            self._isn = seq
            self.mid_connection = True
        offset = (seq - self._isn) % WRAP
        return offset + ((self.next - offset + WRAP // 2) // WRAP) * WRAP  # nearest to `next`

    def segment(self, time: float, seq: int, payload: bytes, missing: int, fin: bool) -> None:
        """Take a segment: `missing` bytes the snap length cut off follow its `payload`."""
        if not payload and not missing and not fin:
            return
        offset = self._offset(seq)
        if fin:
            end = offset + len(payload) + missing
            self.fin_at = end if self.fin_at is None else self.fin_at
        if offset > self.next:
            self._wait(offset, time, payload, missing)
            return
        self._take(offset, time, payload, missing)
        self._drain()

    def take_in_order(self, seq: int, size: int) -> bool:
        """Whether `size` bytes at `seq` are the very next ones, with nothing waiting: then
        they count as read, and the caller hands them on itself (the common case, without
        the general path's work)."""
        if self._waiting or self._isn is None or (seq - self._isn) % WRAP != self.next % WRAP:
            return False
        self.next += size
        return True

    def _take(self, offset: int, time: float, payload: bytes, missing: int) -> None:
        skip = self.next - offset
        if skip >= len(payload) + missing:
            self.retransmitted += len(payload) + missing
            return
        self.retransmitted += skip
        if skip < len(payload):
            data = payload[skip:]
            self.next += len(data)
            self._deliver(time, data)
            skip = 0
        else:
            skip -= len(payload)
        if missing - skip > 0:
            self.next += missing - skip
            self._gap(time, missing - skip)

    def _wait(self, offset: int, time: float, payload: bytes, missing: int) -> None:
        self._count += 1
        heapq.heappush(self._waiting, (offset, self._count, time, payload, missing))
        self._waiting_bytes += len(payload)
        self._budget.used += len(payload)
        if (
            self._waiting_bytes > MAX_WAITING
            or len(self._waiting) > MAX_WAITING_SEGMENTS
            or self._budget.used > self._budget.limit
        ):
            self.skip_to_waiting()

    def _drain(self) -> None:
        while self._waiting and self._waiting[0][0] <= self.next:
            offset, _, time, payload, missing = heapq.heappop(self._waiting)
            self._waiting_bytes -= len(payload)
            self._budget.used -= len(payload)
            self._take(offset, time, payload, missing)

    def skip_to_waiting(self) -> None:
        """Give up on the bytes before the first waiting segment: a gap of their count."""
        if not self._waiting:
            return
        offset, _, time, _, _ = self._waiting[0]
        self._gap(time, offset - self.next)
        self.next = offset
        self._drain()

    def done(self) -> bool:
        """Whether every byte up to this side's FIN has been read."""
        return self.fin_at is not None and self.next >= self.fin_at and not self._waiting

    def finish(self, time: float) -> None:
        """The end of the capture (or of the side): whatever is still missing is a gap."""
        while self._waiting:
            self.skip_to_waiting()
        if self.fin_at is not None and self.fin_at > self.next:
            self._gap(time, self.fin_at - self.next)
            self.next = self.fin_at

    def release(self) -> None:
        """Forget the waiting bytes (the connection is no longer followed)."""
        self._budget.used -= self._waiting_bytes
        self._waiting, self._waiting_bytes = [], 0
