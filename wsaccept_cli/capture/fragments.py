"""IP datagrams put back together from their fragments (IPv4: RFC 791 §3.2; IPv6's Fragment
header: RFC 8200 §4.5), in bounded memory and time.

A datagram is whole once its pieces cover every byte from 0 to the end the last fragment (the
one without More Fragments) gives. Pieces may come in any order and more than once; a piece
that overlaps another without repeating it exactly discards the datagram (RFC 5722 for IPv6;
Linux does the same for IPv4): overlapping fragments are an evasion trick, and no reading of
them is right for every receiver. What is never completed (a lost fragment, a timeout, a bound)
is dropped, and the TCP layer reports the bytes it lacks as a gap.

Bounds, as a receiver keeps them (Linux's ipfrag_time and ipfrag_high_thresh): a datagram waits
at most TIMEOUT seconds of capture time, at most MAX_DATAGRAMS wait at once holding at most
MAX_BYTES together (the oldest go first), a datagram ends by 65535 bytes and comes in at most
MAX_PIECES pieces, so each piece costs a bounded check however hostile the capture.
"""

from __future__ import annotations

from collections import OrderedDict

from wsaccept_cli.capture.decode import Fields, Fragment, reassembled

TIMEOUT = 30.0
MAX_DATAGRAMS = 1024
MAX_BYTES = 4 * 1024 * 1024
MAX_PIECES = 64
MAX_END = 65535


class Datagram:
    __slots__ = ("end", "first", "held", "pieces", "started")

    def __init__(self, started: float) -> None:
        self.started = started
        self.pieces: dict[int, bytes] = {}  # by offset
        self.held = 0
        self.end: int | None = None  # known from the last fragment
        self.first: Fragment | None = None  # the fragment at offset 0


class Reassembly:
    """The datagrams being put together, and what became of them."""

    def __init__(self) -> None:
        self.waiting: OrderedDict[tuple[bytes, bytes, int], Datagram] = OrderedDict()
        self.held = 0
        self.reassembled = 0
        self.discarded = 0  # overlapping, inconsistent, too many pieces, or over a bound

    def add(self, piece: Fragment, time: float) -> tuple[bytes, Fields | None] | None:
        """Take a fragment; a datagram it completes, as its bytes and the segment in them."""
        self._expire(time)
        datagram = self.waiting.get(piece.key)
        if datagram is None:
            datagram = self.waiting[piece.key] = Datagram(time)
        if not self._fits(datagram, piece):
            self._discard(piece.key)
            return None
        if datagram.pieces.get(piece.offset) == piece.payload:
            return None  # a retransmission of the same fragment
        datagram.pieces[piece.offset] = piece.payload
        datagram.held += len(piece.payload)
        self.held += len(piece.payload)
        if piece.offset == 0:
            datagram.first = piece
        if not piece.more:
            datagram.end = piece.offset + len(piece.payload)
        self._bound()
        if (
            piece.key not in self.waiting
            or datagram.end is None
            or datagram.held != datagram.end
            or datagram.first is None
        ):
            return None
        self._forget(piece.key)
        self.reassembled += 1
        payload = b"".join(datagram.pieces[offset] for offset in sorted(datagram.pieces))
        return payload, reassembled(datagram.first, payload)

    def _fits(self, datagram: Datagram, piece: Fragment) -> bool:
        """Whether a piece agrees with the datagram so far (no overlap, one end, in bounds)."""
        start, end = piece.offset, piece.offset + len(piece.payload)
        if end > MAX_END or (piece.more and len(piece.payload) % 8) or not piece.payload:
            return False
        if not piece.more and datagram.end is not None and datagram.end != end:
            return False
        if datagram.end is not None and end > datagram.end:
            return False
        if datagram.pieces.get(start) == piece.payload:
            return True
        if len(datagram.pieces) >= MAX_PIECES:
            return False
        return all(
            offset >= end or start >= offset + len(held) for offset, held in datagram.pieces.items()
        )

    def _expire(self, time: float) -> None:
        while self.waiting:
            key, oldest = next(iter(self.waiting.items()))
            if oldest.started >= time - TIMEOUT:
                return
            self._discard(key)

    def _bound(self) -> None:
        while len(self.waiting) > MAX_DATAGRAMS or self.held > MAX_BYTES:
            self._discard(next(iter(self.waiting)))

    def _discard(self, key: tuple[bytes, bytes, int]) -> None:
        self._forget(key)
        self.discarded += 1

    def _forget(self, key: tuple[bytes, bytes, int]) -> None:
        datagram = self.waiting.pop(key, None)
        if datagram is not None:
            self.held -= datagram.held
