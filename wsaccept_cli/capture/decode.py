"""A captured packet's TCP segment, under whichever link layer the capture used.

dpkt decodes the layers: Ethernet (802.1Q VLAN tags included), Linux cooked capture SLL and SLL2
(`tcpdump -i any`), raw IPv4/IPv6, and BSD/Linux loopback (null). A packet that is not TCP, or
that dpkt cannot decode, is no segment; a segment cut by the snap length says how many payload
bytes the capture lacks (from the IP length, which the capture kept).
"""

from __future__ import annotations

import struct
from typing import Any

ETHERNET, NULL, RAW, RAW_OPENBSD, RAW_BSD, LOOP, SLL, IPV4, IPV6, SLL2 = (
    1, 0, 101, 14, 12, 108, 113, 228, 229, 276,
)  # fmt: skip
TCP = 6
FIN, SYN, RST = 0x01, 0x02, 0x04


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


def link_layer(linktype: int, data: bytes) -> Any:
    """The IP packet inside a link-layer frame (a dpkt object), or None."""
    import dpkt

    if linktype == ETHERNET:
        kind = data[12:14]  # the common case skips dpkt's Ethernet object (VLAN, MPLS, LLC)
        if kind == b"\x08\x00":
            return dpkt.ip.IP(data[14:])
        if kind == b"\x86\xdd":
            return dpkt.ip6.IP6(data[14:])
        return dpkt.ethernet.Ethernet(data).data
    if linktype in (RAW, RAW_BSD, RAW_OPENBSD, IPV4, IPV6):
        return _raw_ip(data)
    if linktype == SLL:
        return dpkt.sll.SLL(data).data
    if linktype == SLL2:
        return dpkt.sll2.SLL2(data).data
    if linktype in (NULL, LOOP):
        return dpkt.loopback.Loopback(data).data
    return None


def _raw_ip(data: bytes) -> Any:
    import dpkt

    version = data[0] >> 4 if data else 0
    return dpkt.ip.IP(data) if version == 4 else dpkt.ip6.IP6(data) if version == 6 else None


def segment(time: float, linktype: int, data: bytes) -> Segment | None:
    """The TCP segment a packet carries, or None."""
    import dpkt

    try:
        packet = link_layer(linktype, data)
        if isinstance(packet, dpkt.ip.IP):
            if packet.p != TCP or packet.offset or packet.mf:
                return None  # a fragment: not reassembled (TCP stacks avoid fragmenting)
            payload_length = packet.len - packet.hl * 4
        elif isinstance(packet, dpkt.ip6.IP6):
            if packet.nxt != TCP and not isinstance(packet.data, dpkt.tcp.TCP):
                return None
            extensions = sum(header.length for header in packet.all_extension_headers)
            payload_length = packet.plen - extensions
        else:
            return None
        tcp = packet.data
        if not isinstance(tcp, dpkt.tcp.TCP):
            return None
    except (dpkt.Error, struct.error, ValueError, IndexError):
        return None
    payload = bytes(tcp.data)
    missing = max(0, payload_length - tcp.off * 4 - len(payload))
    return Segment(
        time, bytes(packet.src), tcp.sport, bytes(packet.dst), tcp.dport, tcp.seq, tcp.flags,
        payload, missing,
    )  # fmt: skip
