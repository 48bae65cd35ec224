"""Packet captures (pcap and pcapng): the WebSocket handshakes in them, each with its connection.

A layer of its own between the core and the commands: reading a capture is I/O-bound and uses
dpkt, so it is not the pure core, and it neither prints nor touches the network. Packets are
read as they come (`packets`), decoded to TCP segments (`decode`; IP fragments put together
first by `fragments`), put back in order per connection and direction (`tcp`), and the
connections that carry a handshake followed to their end (`flows`; plain HTTP/1.1 messages
before an upgrade skipped by their framing, `http1`); each one is handed on as a Handshake whose
`connection` says what the capture showed of it, as soon as it ends, so `tcpdump -U -w - |
wsaccept inspect -` reports live.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from wsaccept_cli.capture.packets import CaptureFileError, Source, is_capture_file, read_packets
from wsaccept_cli.capture.tshark import DecryptionError, Decryptor
from wsaccept_cli.core.handshake import Handshake

if TYPE_CHECKING:
    from wsaccept_cli.capture.decode import Fields, Fragment
    from wsaccept_cli.capture.flows import Tracker
    from wsaccept_cli.capture.fragments import Reassembly

__all__ = ["CaptureFileError", "CaptureReading", "DecryptionError", "Decryptor", "is_capture_file"]


class CaptureReading:
    """One capture being read; its counts say what it held once the handshakes are taken."""

    def __init__(
        self, read: Callable[[int], bytes], first: bytes = b"", decryptor: Decryptor | None = None
    ) -> None:
        self.source = Source(read, first)
        self.decryptor = decryptor
        self.packets = 0
        self.segments = 0
        self.connections = 0  # connections with a handshake or TLS, reported
        self.evicted = 0
        self.error: str | None = None  # why reading stopped before the end of the file
        self.fragments: Reassembly | None = None  # IP datagrams being put together, if any

    @property
    def truncated(self) -> bool:
        return self.source.truncated

    def handshakes(self) -> Iterator[Handshake]:
        """Each connection that held a handshake (or TLS), as it ends, then the rest."""
        from wsaccept_cli.capture.flows import Tracker

        tracker = Tracker()
        tracker.decryptor = self.decryptor
        try:
            yield from self._read(tracker)
        except CaptureFileError as error:
            self.error = str(error)
        yield from self._results(tracker.finish())
        self.evicted = tracker.evicted

    def _read(self, tracker: Tracker) -> Iterator[Handshake]:
        """The packets' loop, the hot path of a large capture: a packet of a connection already
        dropped costs its header decoding and one look-up, with no copy and no object."""
        import struct

        from wsaccept_cli.capture.decode import FIN, RST, Fragment, unguarded_decoder

        dropped, flows, start = tracker.dropped, tracker.flows, tracker.start
        last, decode = -1, unguarded_decoder(-1)
        packets = segments = 0
        try:
            for when, linktype, data in read_packets(self.source):
                packets += 1
                if linktype != last:  # pcapng interfaces may differ: most captures have one
                    last, decode = linktype, unguarded_decoder(linktype)
                try:
                    fields = decode(data)
                except (struct.error, IndexError):
                    continue  # shorter than its headers
                except Fragment as piece:
                    whole = self._fragment(piece, when)
                    if whole is None:
                        continue
                    data, fields = whole
                if fields is None:
                    continue
                segments += 1
                src, sport, dst, dport, seq, flags, begin, end, missing = fields
                if src < dst or (src == dst and sport <= dport):
                    key = (src, sport, dst, dport)
                else:
                    key = (dst, dport, src, sport)
                if key in dropped:
                    if flags & (FIN | RST):
                        del dropped[key]
                    continue
                flow = flows.get(key)
                if flow is None:
                    start(key, when, src, sport, seq, flags, data[begin:end], missing)
                else:
                    flows.move_to_end(key)
                    flow.take(when, src, sport, seq, flags, data[begin:end], missing)
                if tracker.ended:
                    yield from self._results(tracker.take_ended())
        finally:
            self.packets, self.segments = packets, segments

    def _fragment(self, piece: Fragment, when: float) -> tuple[bytes, Fields | None] | None:
        from wsaccept_cli.capture.fragments import Reassembly

        if self.fragments is None:
            self.fragments = Reassembly()
        return self.fragments.add(piece, when)

    def _results(self, flows: Iterator[object]) -> Iterator[Handshake]:
        from wsaccept_cli.capture.flows import Flow

        for flow in flows:
            assert isinstance(flow, Flow)
            for handshake in flow.results():
                self.connections += 1
                yield handshake
