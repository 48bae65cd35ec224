"""A captured packet's TCP segment, under whichever link layer the capture used.

The link, IP and TCP headers are fixed layouts read with precompiled `struct.Struct`s straight
from the captured bytes (no copy, no object per layer): building dpkt's Ethernet, IP and TCP
objects for every packet took half of `inspect`'s time on a large capture, for the five fields
it needs. dpkt still reads the file format (`capture.packets`), and the tests check this
decoder against dpkt's own decoding of generated packets (tests/test_capture_decode.py).

The layouts, by link type (https://www.tcpdump.org/linktypes.html):
- Ethernet (LINKTYPE_ETHERNET, 1): destination and source address (6 + 6), EtherType (2); up to
  two 802.1Q/802.1ad tags (TCI 2, EtherType 2) before it, and an MPLS label stack (4 bytes a
  label, bottom-of-stack bit 0x100 of the third byte) read as dpkt reads it.
- Linux cooked SLL (LINKTYPE_LINUX_SLL, 113): 16 bytes, the protocol type at offset 14; SLL2
  (LINKTYPE_LINUX_SLL2, 276, `tcpdump -i any`): 20 bytes, the protocol type at offset 0.
- Raw IP (LINKTYPE_RAW 101, and 12, 14, 228, 229): the IP header's version nibble says which.
- BSD loopback (LINKTYPE_NULL 0, host byte order; LINKTYPE_LOOP 108, network byte order): a
  4-byte address family, 2 for IPv4 and 24, 28 or 30 for IPv6, taken in either byte order
  (the writer's byte order is not in the file).
- IPv4 (RFC 791 §3.1): version and IHL, TOS, total length, identification, flags and fragment
  offset, TTL, protocol, checksum, source, destination: 20 bytes, then IHL*4-20 of options.
- IPv6 (RFC 8200 §3): version, class and flow label (4), payload length (2), next header,
  hop limit, source and destination (16 + 16): 40 bytes; then the extension headers of
  RFC 8200 §4 (hop-by-hop 0, routing 43, destination options 60: (length + 1) * 8 bytes;
  fragment 44: 8 bytes) and the Authentication Header (RFC 4302 §2.2: (length + 2) * 4).
- TCP (RFC 9293 §3.1): source and destination port, sequence number, acknowledgment number,
  data offset (4 bits, in 32-bit words), flags, ...: 20 bytes, then (offset - 5) * 4 of options.

A packet that is not TCP, or whose headers do not hold together, is no segment; a fragment of
a datagram that may carry TCP raises Fragment, for `capture.fragments` to put together. A
segment cut by the snap length says how many payload bytes the capture lacks (from the IP
length, which the capture kept).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

ETHERNET, NULL, RAW, RAW_OPENBSD, RAW_BSD, LOOP, SLL, IPV4, IPV6, SLL2 = (
    1, 0, 101, 14, 12, 108, 113, 228, 229, 276,
)  # fmt: skip
TCP = 6
FIN, SYN, RST = 0x01, 0x02, 0x04
ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD
_VLAN_TAGS = frozenset((0x8100, 0x88A8, 0x9100, 0x9200))  # 802.1Q, 802.1ad, legacy QinQ
_MPLS = frozenset((0x8847, 0x8848))
_IPV6_OPTIONS = frozenset((0, 43, 60))  # hop-by-hop, routing, destination options
_FRAGMENT, _AH = 44, 51
_NULL_IPV4 = frozenset((2, 0x02000000))
_NULL_IPV6 = frozenset((24, 28, 30, 0x18000000, 0x1C000000, 0x1E000000))

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_NATIVE_U32 = struct.Struct("=I")
_ETHERNET_TYPE = struct.Struct("!12xH")
_IPV4 = struct.Struct("!BxHHHxBxx4s4s")  # version+IHL, total length, id, flags+offset, protocol
_IPV6 = struct.Struct("!4xHBx16s16s")  # payload length, next header, source, destination
_EXTENSION = struct.Struct("!BB")  # next header, length
_FRAGMENT_HEADER = struct.Struct("!BxHI")  # next header, offset (13 bits) and M flag, id
_TCP = struct.Struct("!HHIxxxxBB")  # ports, sequence number, data offset, flags
_IPV4_TCP = struct.Struct(_IPV4.format + _TCP.format[1:])  # both at once: no IPv4 options

Buffer = bytes | memoryview
# source, source port, destination, destination port, sequence number, flags,
# where the payload starts and ends in the packet's bytes, payload bytes the capture lacks
Fields = tuple[bytes, int, bytes, int, int, int, int, int, int]
Decoder = Callable[[Buffer], Fields | None]


class Segment:
    __slots__ = ("dport", "dst", "flags", "missing", "payload", "seq", "sport", "src", "time")

    def __init__(
        self,
        time: float,
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
        seq: int,
        flags: int,
        payload: bytes,
        missing: int,
    ) -> None:
        self.time = time
        self.src, self.sport, self.dst, self.dport = src, sport, dst, dport
        self.seq = seq
        self.flags = flags
        self.payload = payload
        self.missing = missing  # payload bytes the snap length cut off


def segment(time: float, linktype: int, data: Buffer) -> Segment | None:
    """The TCP segment a packet carries, or None."""
    fields = decoder(linktype)(data)
    if fields is None:
        return None
    src, sport, dst, dport, seq, flags, start, end, missing = fields
    return Segment(time, src, sport, dst, dport, seq, flags, bytes(data[start:end]), missing)


def decoder(linktype: int) -> Decoder:
    """The function that finds the TCP segment in a packet of this link type."""
    return _guarded(_DECODERS.get(linktype, _nothing))


def unguarded_decoder(linktype: int) -> Decoder:
    """`decoder`, raising struct.error or IndexError on a packet shorter than its headers
    (for a caller's loop that catches them itself, saving a call per packet)."""
    return _DECODERS.get(linktype, _nothing)


def _nothing(data: Buffer) -> None:
    return None


def _guarded(decode: Decoder) -> Decoder:
    """A decoder for which a packet shorter than its headers is no segment, nor a fragment
    (to put fragments together, catch Fragment from `unguarded_decoder`'s)."""

    def guarded(data: Buffer) -> Fields | None:
        try:
            return decode(data)
        except (struct.error, IndexError, Fragment):
            return None

    guarded.__doc__ = decode.__doc__
    return guarded


def _ethernet(data: Buffer) -> Fields | None:
    """Ethernet II, with up to two VLAN tags (as dpkt reads them) or an MPLS label stack."""
    kind = _ETHERNET_TYPE.unpack_from(data)[0]
    if kind == ETH_IPV4:
        return _ipv4(data, 14)
    if kind == ETH_IPV6:
        return _ipv6(data, 14)
    at = 14
    if kind in _VLAN_TAGS:
        kind = _U16.unpack_from(data, 16)[0]
        at = 18
        if kind == 0x8100:  # a second tag (QinQ) only after an 802.1Q type, as in dpkt
            kind = _U16.unpack_from(data, 20)[0]
            at = 22
        return _ip_of_type(kind, data, at)
    if kind in _MPLS:
        return _mpls(data, at)
    return None


def _mpls(data: Buffer, at: int) -> Fields | None:
    """An MPLS label stack (RFC 3032 §2.1), then IP as dpkt guesses it (0x45, or version 6)."""
    for _ in range(24):
        bottom = data[at + 2] & 0x01
        at += 4
        if bottom:
            break
    first = data[at]
    if first == 0x45:
        return _ipv4(data, at)
    if first >> 4 == 6:
        return _ipv6(data, at)
    return None


def _ip_of_type(kind: int, data: Buffer, at: int) -> Fields | None:
    if kind == ETH_IPV4:
        return _ipv4(data, at)
    if kind == ETH_IPV6:
        return _ipv6(data, at)
    return None


def _sll(data: Buffer) -> Fields | None:
    return _ip_of_type(_U16.unpack_from(data, 14)[0], data, 16)


def _sll2(data: Buffer) -> Fields | None:
    return _ip_of_type(_U16.unpack_from(data, 0)[0], data, 20)


def _raw(data: Buffer) -> Fields | None:
    version = data[0] >> 4
    if version == 4:
        return _ipv4(data, 0)
    if version == 6:
        return _ipv6(data, 0)
    return None


def _null(data: Buffer) -> Fields | None:
    family = _NATIVE_U32.unpack_from(data)[0]
    if family in _NULL_IPV4:
        return _ipv4(data, 4)
    if family in _NULL_IPV6:
        return _ipv6(data, 4)
    return None


def _ipv4(data: Buffer, at: int) -> Fields | None:
    if data[at] == 0x45 and len(data) >= at + 40:  # no options: one unpack for IP and TCP
        _, total, _, fragment, protocol, src, dst, sport, dport, seq, offset, flags = (
            _IPV4_TCP.unpack_from(data, at)
        )
        size, end = len(data), at + total
        if not total or end > size:
            end = size
        if protocol == TCP and not fragment & 0x3FFF and (offset >> 4) >= 5 and at + 40 <= end:
            start = at + 20 + (offset >> 4) * 4
            if start > end:
                start = end
            missing = total - 20 - (offset >> 4) * 4 - (end - start)  # builtins cost a call
            return src, sport, dst, dport, seq, flags, start, end, missing if missing > 0 else 0
    version_length, total, ident, fragment, protocol, src, dst = _IPV4.unpack_from(data, at)
    header = (version_length & 0x0F) * 4
    if header < 20 or protocol != TCP:
        return None
    end = at + total if total else len(data)  # 0: segmentation offload, as dpkt reads it
    if total and total < header:
        return None
    if fragment & 0x3FFF:  # MF, or an offset: a fragment (RFC 791 §3.2)
        if not total or end > len(data):
            return None  # cut by the snap length: never whole
        raise Fragment(
            (src, dst, ident), (fragment & 0x1FFF) * 8, bool(fragment & 0x2000),
            bytes(data[at + header : end]), TCP,
        )  # fmt: skip
    return _tcp(data, at + header, min(end, len(data)), total - header, src, dst)


def _ipv6(data: Buffer, at: int) -> Fields | None:
    length, kind, src, dst = _IPV6.unpack_from(data, at)
    end = min(at + 40 + length, len(data)) if length else len(data)  # 0: jumbogram or TSO
    whole = bool(length) and at + 40 + length <= len(data)  # not cut by the snap length
    return _ipv6_chain(data, at + 40, end, kind, length, src, dst, whole)


def _ipv6_chain(
    data: Buffer, at: int, end: int, kind: int, length: int, src: bytes, dst: bytes, whole: bool
) -> Fields | None:
    """The extension headers from `at` (the first of type `kind`) to TCP."""
    extensions = 0
    while kind != TCP:
        if kind in _IPV6_OPTIONS:
            if at + 8 > end:
                return None
            kind, size = _EXTENSION.unpack_from(data, at)
            size = (size + 1) * 8
        elif kind == _FRAGMENT:
            if at + 8 > end:
                return None
            kind, offset, ident = _FRAGMENT_HEADER.unpack_from(data, at)
            if offset & 0xFFF9:  # an offset, or more fragments to come (RFC 8200 §4.5)
                if not whole:
                    return None  # cut by the snap length: never whole
                raise Fragment(
                    (src, dst, ident), offset & 0xFFF8, bool(offset & 1), bytes(data[at + 8 : end]),
                    kind,
                )  # fmt: skip
            size = 8
        elif kind == _AH:
            if at + 12 > end:
                return None
            kind, size = _EXTENSION.unpack_from(data, at)
            size = (size + 2) * 4
        else:
            return None
        at += size
        extensions += size
    return _tcp(data, at, end, length - extensions, src, dst)


class Fragment(Exception):  # noqa: N818 (not an error: a packet the caller must put together)
    """A fragment of an IP datagram that may carry TCP, raised by a decoder: fragments are
    rare, so the common path pays nothing for them; `capture.fragments` puts them together."""

    def __init__(
        self, key: tuple[bytes, bytes, int], offset: int, more: bool, payload: bytes, kind: int
    ) -> None:
        super().__init__(key, offset)
        self.key = key  # source, destination, identification
        self.offset = offset  # in bytes
        self.more = more
        self.payload = payload
        self.kind = kind  # the protocol, or IPv6's next header after the fragment header


def reassembled(first: Fragment, payload: bytes) -> Fields | None:
    """The TCP segment in a datagram put together: `payload` is its fragmentable part, whose
    first header `first` (the fragment at offset 0) names."""
    src, dst, _ = first.key
    if len(src) == 4:
        return _tcp(payload, 0, len(payload), len(payload), src, dst)
    try:
        return _ipv6_chain(payload, 0, len(payload), first.kind, len(payload), src, dst, True)
    except (Fragment, struct.error, IndexError):
        return None  # a fragment inside a fragment, or headers that do not hold together


def _tcp(data: Buffer, at: int, end: int, length: int, src: bytes, dst: bytes) -> Fields | None:
    """The TCP header at `at`, in IP payload ending at `end` of the captured bytes, whose IP
    header said it is `length` bytes long."""
    if at + 20 > end:
        return None
    sport, dport, seq, offset, flags = _TCP.unpack_from(data, at)
    header = (offset >> 4) * 4
    if header < 20:
        return None
    start = min(at + header, end)
    missing = max(0, length - header - (end - start))
    return src, sport, dst, dport, seq, flags, start, end, missing


_DECODERS: dict[int, Decoder] = {
    ETHERNET: _ethernet,
    SLL: _sll,
    SLL2: _sll2,
    RAW: _raw,
    RAW_BSD: _raw,
    RAW_OPENBSD: _raw,
    IPV4: _raw,
    IPV6: _raw,
    NULL: _null,
    LOOP: _null,
}
