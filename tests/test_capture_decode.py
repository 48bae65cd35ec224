"""The capture's header decoder (struct over the raw bytes) against dpkt's decoding, an
independent implementation, on generated packets of every link type it reads.

Packets are generated field by field: Ethernet with 0 to 2 VLAN tags or an MPLS stack, Linux
cooked SLL and SLL2, raw IP, BSD loopback in both byte orders; IPv4 with options, odd header
lengths, total lengths of 0 (segmentation offload), short or long, fragments; IPv6 with chains
of extension headers (hop-by-hop, routing, destination options, fragment, AH, ESP); TCP with
options and odd data offsets; then cut anywhere (a snap length) or replaced by random bytes.
dpkt decodes each one as `inspect` did before the decoder was written (the reference below);
both must find the same segment, or both none. The one difference on purpose: an IPv6 fragment
is no whole segment, whichever of its headers says so (dpkt looks at the last), as an IPv4 one
never was. Where dpkt
1.9.8 raises (an IPv6 fragment header then another extension header: its check reads
`frag_off` of the last header), there is nothing to compare, and inspect used to end on that
traceback.
"""

from __future__ import annotations

import struct
from typing import Any

import dpkt
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from wsaccept_cli.capture import decode
from wsaccept_cli.capture.decode import decoder, segment

Expected = tuple[bytes, int, bytes, int, int, int, bytes, int] | None
DPKT_FAILS = (b"dpkt raised", 0, b"", 0, 0, 0, b"", 0)


def dpkt_segment(linktype: int, data: bytes) -> Expected:
    """What dpkt finds in a packet: the reference the struct decoder is checked against."""
    try:
        packet = _dpkt_link(linktype, data)
        if isinstance(packet, dpkt.ip.IP):
            if packet.p != decode.TCP or packet.offset or packet.mf:
                return None
            length = packet.len - packet.hl * 4
        elif isinstance(packet, dpkt.ip6.IP6):
            if packet.nxt != decode.TCP and not isinstance(packet.data, dpkt.tcp.TCP):
                return None
            headers = packet.all_extension_headers
            if any(
                isinstance(h, dpkt.ip6.IP6FragmentHeader) and h.frag_off | h.m_flag for h in headers
            ):
                return None  # a fragment: not a whole segment (dpkt looks at the last one)
            length = packet.plen - sum(header.length for header in headers)
        else:
            return None
        tcp = packet.data
        if not isinstance(tcp, dpkt.tcp.TCP):
            return None
    except (dpkt.Error, struct.error, ValueError, IndexError):
        return None
    except AttributeError:  # dpkt 1.9.8 on a fragment header followed by another extension
        return DPKT_FAILS
    payload = bytes(tcp.data)
    missing = max(0, length - tcp.off * 4 - len(payload))
    return (
        bytes(packet.src), tcp.sport, bytes(packet.dst), tcp.dport, tcp.seq, tcp.flags & 0xFF,
        payload, missing,
    )  # fmt: skip


def _dpkt_link(linktype: int, data: bytes) -> Any:
    if linktype == decode.ETHERNET:
        return dpkt.ethernet.Ethernet(data).data
    if linktype in (decode.RAW, decode.RAW_BSD, decode.RAW_OPENBSD, decode.IPV4, decode.IPV6):
        version = data[0] >> 4 if data else 0
        return dpkt.ip.IP(data) if version == 4 else dpkt.ip6.IP6(data) if version == 6 else None
    if linktype == decode.SLL:
        return dpkt.sll.SLL(data).data
    if linktype == decode.SLL2:
        return dpkt.sll2.SLL2(data).data
    if linktype in (decode.NULL, decode.LOOP):
        return dpkt.loopback.Loopback(data).data
    return None


def ours(linktype: int, data: bytes) -> Expected:
    fields = decoder(linktype)(memoryview(data))
    if fields is None:
        return None
    src, sport, dst, dport, seq, flags, start, end, missing = fields
    return src, sport, dst, dport, seq, flags, bytes(data[start:end]), missing


# -- generators --------------------------------------------------------------------------------

small = st.integers(0, 255)
port = st.integers(0, 65535)


@st.composite
def tcp_segments(draw: st.DrawFn) -> bytes:
    """A TCP header (RFC 9293 §3.1) with options, usually a right data offset, and a payload."""
    options = draw(st.binary(max_size=40).map(lambda b: b + b"\x01" * (-len(b) % 4)))
    right = 5 + len(options) // 4
    offset = draw(st.one_of(st.just(right), st.integers(0, 15))) if len(options) <= 40 else right
    flags = draw(st.integers(0, 0x1FF))
    header = struct.pack(
        "!HHIIHHHH", draw(port), draw(port), draw(st.integers(0, 2**32 - 1)),
        draw(st.integers(0, 2**32 - 1)), (offset << 12) | flags, draw(port), 0, 0,
    )  # fmt: skip
    return header + options + draw(st.binary(max_size=300))


def _length(draw: st.DrawFn, right: int) -> int:
    """An IP length field: usually right, else 0 (offload), or anything."""
    return draw(st.one_of(st.just(right), st.just(right), st.just(0), st.integers(0, 0xFFFF)))


@st.composite
def ipv4_packets(draw: st.DrawFn) -> bytes:
    """An IPv4 header (RFC 791 §3.1) with options, around a TCP segment (or not TCP)."""
    options = draw(st.binary(max_size=40).map(lambda b: b + b"\0" * (-len(b) % 4)))
    right = 5 + len(options) // 4
    ihl = draw(st.one_of(st.just(right), st.just(right), st.integers(0, 15)))
    body = draw(tcp_segments())
    protocol = draw(st.one_of(st.just(6), st.just(6), small))
    fragment = draw(st.one_of(st.just(0x4000), st.just(0), st.integers(0, 0xFFFF)))
    total = _length(draw, 20 + len(options) + len(body))
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x40 | ihl, 0, total, draw(port), fragment, 64, protocol, 0,
        draw(st.binary(min_size=4, max_size=4)), draw(st.binary(min_size=4, max_size=4)),
    )  # fmt: skip
    return header + options + body


@st.composite
def ipv6_extension(draw: st.DrawFn, kind: int, following: int) -> bytes:
    if kind in (0, 60):  # options: Pad1s, which every reader walks (RFC 8200 §4.2)
        units = draw(st.integers(0, 3))
        return bytes([following, units]) + b"\0" * (6 + 8 * units)
    if kind == 43:  # routing (RFC 8200 §4.4)
        units = draw(st.integers(0, 2)) * 2
        return bytes([following, units, 0, 0]) + b"\0" * (4 + 8 * units)
    if kind == 44:  # fragment (RFC 8200 §4.5)
        bits = draw(st.one_of(st.just(0), st.just(1), st.integers(0, 0xFFFF)))
        return struct.pack("!BBHI", following, 0, bits, draw(st.integers(0, 2**32 - 1)))
    if kind == 51:  # AH (RFC 4302 §2.2)
        units = draw(st.integers(1, 4))
        return bytes([following, units, 0, 0]) + b"\0" * (4 * units + 4)
    return b"\0" * 8 + draw(st.binary(max_size=16))  # ESP: opaque


@st.composite
def ipv6_packets(draw: st.DrawFn) -> bytes:
    """An IPv6 header (RFC 8200 §3) and a chain of extension headers before TCP."""
    kinds = draw(st.lists(st.sampled_from([0, 43, 60, 44, 51, 50]), max_size=3))
    last = draw(st.one_of(st.just(6), st.just(6), small))
    chain = [*kinds, last]
    extensions = b"".join(draw(ipv6_extension(kind, chain[n + 1])) for n, kind in enumerate(kinds))
    payload = extensions + draw(tcp_segments())
    length = _length(draw, len(payload))
    header = struct.pack(
        "!IHBB16s16s", 0x60000000, length, chain[0], 64,
        draw(st.binary(min_size=16, max_size=16)), draw(st.binary(min_size=16, max_size=16)),
    )  # fmt: skip
    return header + payload


ip_packets = st.one_of(ipv4_packets(), ipv6_packets())
ethertypes = {4: 0x0800, 6: 0x86DD}


def _ethertype(packet: bytes, draw: st.DrawFn) -> int:
    right = ethertypes.get(packet[0] >> 4, 0x0800)
    return draw(st.one_of(st.just(right), st.just(right), st.integers(1501, 0xFFFF)))


@st.composite
def ethernet_frames(draw: st.DrawFn) -> tuple[int, bytes]:
    packet = draw(ip_packets)
    addresses = draw(st.binary(min_size=12, max_size=12))
    shape = draw(st.sampled_from(["plain", "vlan", "qinq", "mpls"]))
    kind = _ethertype(packet, draw)
    if shape == "plain":
        head = struct.pack("!H", kind)
    elif shape == "vlan":
        outer = draw(st.sampled_from([0x8100, 0x88A8, 0x9100, 0x9200]))
        head = struct.pack("!HHH", outer, draw(port), kind)
    elif shape == "qinq":
        head = struct.pack("!HHHHH", 0x88A8, draw(port), 0x8100, draw(port), kind)
    else:
        labels = draw(st.integers(1, 3))
        stack = b"".join(
            struct.pack("!I", (n << 12) | (0x100 if n == labels - 1 else 0) | 64)
            for n in range(labels)
        )
        head = struct.pack("!H", draw(st.sampled_from([0x8847, 0x8848]))) + stack
    return decode.ETHERNET, addresses + head + packet


@st.composite
def cooked_frames(draw: st.DrawFn) -> tuple[int, bytes]:
    packet = draw(ip_packets)
    kind = _ethertype(packet, draw)
    if draw(st.booleans()):
        header = struct.pack("!HHH8sH", 0, 1, 6, b"\0" * 8, kind)
        return decode.SLL, header + packet
    header = struct.pack("!HHIHBB8s", kind, 0, 1, 1, 0, 6, b"\0" * 8)
    return decode.SLL2, header + packet


@st.composite
def other_frames(draw: st.DrawFn) -> tuple[int, bytes]:
    packet = draw(ip_packets)
    if draw(st.booleans()):
        raw = [decode.RAW, decode.RAW_BSD, decode.RAW_OPENBSD, decode.IPV4, decode.IPV6]
        return draw(st.sampled_from(raw)), packet
    family = draw(st.sampled_from([2, 24, 28, 30, 7])) if packet[0] >> 4 == 6 else 2
    order = draw(st.sampled_from(["<", ">"]))
    linktype = draw(st.sampled_from([decode.NULL, decode.LOOP]))
    return linktype, struct.pack(order + "I", family) + packet


frames = st.one_of(ethernet_frames(), cooked_frames(), other_frames())


@st.composite
def captured(draw: st.DrawFn) -> tuple[int, bytes]:
    """A frame as a capture holds it: whole, cut by a snap length, or with a byte changed."""
    linktype, data = draw(frames)
    how = draw(st.sampled_from(["whole", "whole", "cut", "flip"]))
    if how == "cut":
        data = data[: draw(st.integers(0, len(data)))]
    elif how == "flip" and data:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([draw(small)]) + data[at + 1 :]
    return linktype, data


linktypes = st.sampled_from(
    [decode.ETHERNET, decode.SLL, decode.SLL2, decode.RAW, decode.NULL, decode.LOOP, 147]
)


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(captured())
def test_the_decoder_agrees_with_dpkt_on_generated_packets(frame: tuple[int, bytes]) -> None:
    linktype, data = frame
    expected = dpkt_segment(linktype, data)
    found = ours(linktype, data)
    if expected is DPKT_FAILS:  # no reference: ours reads on past the fragment header
        assert data
    else:
        assert found == expected


@settings(max_examples=200, deadline=None)
@given(linktypes, st.binary(max_size=120))
def test_the_decoder_agrees_with_dpkt_on_random_bytes(linktype: int, data: bytes) -> None:
    assert ours(linktype, data) == dpkt_segment(linktype, data)


def generated_kinds(attempt: int) -> tuple[bool, ...]:
    """What a batch of 300 generated packets (under a fixed seed) holds: enough segments, one
    with a payload, one cut by a snap length, and some that are no segment."""
    found = []

    @seed(attempt)
    @settings(max_examples=300, deadline=None, database=None)
    @given(captured())
    def collect(frame: tuple[int, bytes]) -> None:
        found.append(dpkt_segment(*frame))

    collect()
    segments = [one for one in found if one is not None]
    return (
        len(segments) > len(found) // 10,
        any(one[6] for one in segments),  # payloads
        any(one[7] for one in segments),  # bytes cut by a snap length
        len(segments) < len(found),
    )


def test_the_generators_reach_segments_and_not_segments() -> None:
    """The generated packets hold real segments often enough for the comparison to mean
    something (a generator of packets dpkt rejects would agree trivially). Batches under fixed
    seeds until one holds every kind: what a batch holds depends on what hypothesis did before
    in the same process (a single batch missed the snap-length cut in a full CI run)."""
    kinds: tuple[bool, ...] = ()
    for attempt in range(8):
        kinds = generated_kinds(attempt)
        if all(kinds):
            return
    raise AssertionError(f"no batch of generated packets held every kind: {kinds}")


def test_a_segment_is_a_copy_of_its_payload() -> None:
    ip = dpkt.ip.IP(
        src=b"\x7f\0\0\x01", dst=b"\x7f\0\0\x02", p=6,
        data=dpkt.tcp.TCP(sport=1, dport=2, seq=7, flags=0x18, data=b"GET / HTTP/1.1\r\n"),
    )  # fmt: skip
    ip.len = len(ip)
    view = memoryview(bytearray(bytes(ip)))
    found = segment(1.5, decode.RAW, view)
    assert found is not None
    view[-1] = 0
    assert (found.payload, found.sport, found.dport, found.seq) == (b"GET / HTTP/1.1\r\n", 1, 2, 7)
    assert segment(1.5, 147, view) is None  # a link type it does not read
