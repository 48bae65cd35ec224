"""IP fragments in captures: IPv4 fragments (RFC 791 §3.2) and IPv6 Fragment headers (RFC 8200
§4.5) put back together before TCP reads them, in bounded memory and time.

Fragments are made from the packets of a crafted connection (a live capture on this machine
has none: TCP sets Don't Fragment and sizes its segments to the path). tshark, which puts IPv4
and IPv6 fragments together by default, must find the same handshakes. A property test checks
that any fragmentation of a segment, in any order, with repeats, decodes to the segment itself.
"""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path
from typing import Any

import dpkt
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.captures import REQUEST, RESPONSE, Conversation, frame, tshark_handshakes, write_pcap
from tests.helpers import invoke
from wsaccept_cli.capture import decode, fragments
from wsaccept_cli.capture.decode import Fragment, unguarded_decoder

ETHERNET_HEADER = 14


def ipv4_fragments(packet: bytes, size: int, ident: int) -> list[bytes]:
    """An Ethernet/IPv4 frame's IP payload cut in pieces of `size` bytes (a multiple of 8)."""
    ether = dpkt.ethernet.Ethernet(packet)
    ip = ether.data
    payload = bytes(ip.data)
    pieces = []
    for start in range(0, len(payload), size):
        piece = dpkt.ip.IP(
            src=ip.src, dst=ip.dst, p=ip.p, id=ident, ttl=64, data=payload[start : start + size]
        )
        piece.offset = start // 8
        piece.mf = int(start + size < len(payload))
        piece.len = 20 + len(piece.data)
        pieces.append(packet[:ETHERNET_HEADER] + bytes(piece))
    return pieces


def ipv6_fragments(packet: bytes, size: int, ident: int) -> list[bytes]:
    """An Ethernet/IPv6 frame's payload after a Fragment header, cut in pieces of `size`."""
    header, payload = packet[ETHERNET_HEADER : ETHERNET_HEADER + 40], packet[ETHERNET_HEADER + 40 :]
    pieces = []
    for start in range(0, len(payload), size):
        chunk = payload[start : start + size]
        more = int(start + size < len(payload))
        fragment_header = struct.pack("!BBHI", header[6], 0, start | more, ident)
        ip = header[:4] + struct.pack("!HB", 8 + len(chunk), 44) + header[7:]
        pieces.append(packet[:ETHERNET_HEADER] + ip + fragment_header + chunk)
    return pieces


def fragmented(talk: Conversation, *, v6: bool = False, size: int = 48, shuffle: bool = False):
    """Every packet with a payload of `talk` as fragments, each datagram's in order or not."""
    made = []
    rng = random.Random(7)
    for number, (when, packet) in enumerate(talk.frames):
        if len(packet) <= ETHERNET_HEADER + (40 if v6 else 20) + 20:
            made.append((when, packet))  # SYN, ACK, FIN: whole
            continue
        pieces = (ipv6_fragments if v6 else ipv4_fragments)(packet, size, 1000 + number)
        if shuffle:
            pieces = pieces + pieces[:1]  # a repeat
            rng.shuffle(pieces)
        made += [(when + n * 1e-5, piece) for n, piece in enumerate(pieces)]
    return made


def records(path: Path) -> tuple[int, list[dict[str, Any]]]:
    result = invoke("inspect", "--format", "json", str(path))
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines()]


def test_ipv4_fragments_are_put_together(tmp_path: Path) -> None:
    talk = Conversation().websocket()
    path = write_pcap(tmp_path / "v4.pcap", fragmented(talk))
    code, found = records(path)
    assert (code, [(r["status"], r["verdict"]) for r in found]) == (0, [(101, "pass")])
    connection = found[0]["connection"]
    assert connection["frames"]["client"]["text"] == 1
    assert connection["close"]["client"] == {"code": 1000, "reason": "bye"}
    assert connection["gaps"] == {"client": 0, "server": 0}
    assert tshark_handshakes(path) == [(40000, 8080, "101")]


def test_ipv6_fragment_headers_out_of_order_and_repeated(tmp_path: Path) -> None:
    talk = Conversation(v6=True).websocket()
    path = write_pcap(tmp_path / "v6.pcap", fragmented(talk, v6=True, size=64, shuffle=True))
    code, found = records(path)
    assert (code, [(r["status"], r["verdict"]) for r in found]) == (0, [(101, "pass")])
    assert found[0]["connection"]["gaps"] == {"client": 0, "server": 0}
    assert tshark_handshakes(path) == [(40000, 8080, "101")]


def _frames_then(pieces_of_last: Any, delay: float = 0.0) -> list[tuple[float, bytes]]:
    """A WebSocket connection whose client then sends a 200-byte text frame (208 bytes with
    its header) in fragments,
    changed by `pieces_of_last`, `delay` seconds apart; then Close both ways."""
    talk = Conversation().handshake().send("client", REQUEST).send("server", RESPONSE)
    before = len(talk.frames)
    talk.send("client", frame(0x1, b"x" * 200, mask=True))
    when, packet = talk.frames.pop(before)
    pieces = pieces_of_last(ipv4_fragments(packet, 64, 77))
    talk.frames += [(when + n * delay, piece) for n, piece in enumerate(pieces)]
    talk.time = talk.frames[-1][0]
    talk.send("client", frame(0x1, b"after", mask=True))
    return talk.frames


def test_overlapping_fragments_discard_the_datagram(tmp_path: Path) -> None:
    def overlap(pieces: list[bytes]) -> list[bytes]:
        other = bytearray(pieces[1])
        other[-1] ^= 0xFF  # the same offset, other bytes
        return [pieces[0], bytes(other), *pieces[1:]]

    path = write_pcap(tmp_path / "overlap.pcap", _frames_then(overlap))
    _, found = records(path)
    connection = found[0]["connection"]
    assert connection["gaps"]["client"] == 208  # the frame's segment never came whole
    assert connection["frames"]["client"]["text"] == 0  # its boundaries lost with it


def test_a_datagram_not_whole_within_the_timeout_is_a_gap(tmp_path: Path) -> None:
    path = write_pcap(
        tmp_path / "late.pcap", _frames_then(lambda pieces: pieces, delay=fragments.TIMEOUT / 2)
    )
    _, found = records(path)
    assert found[0]["connection"]["gaps"]["client"] == 208
    path = write_pcap(tmp_path / "soon.pcap", _frames_then(lambda pieces: pieces, delay=1.0))
    _, found = records(path)
    assert found[0]["connection"]["gaps"]["client"] == 0
    assert found[0]["connection"]["frames"]["client"]["text"] == 2


def test_a_flood_of_unfinished_fragments_stays_bounded() -> None:
    reassembly = fragments.Reassembly()
    payload = b"\0" * 1480
    for n in range(20_000):
        piece = Fragment((b"\x0a\0\0\x01", b"\x0a\0\0\x02", n), 0, True, payload, 6)
        assert reassembly.add(piece, 1.0) is None
        assert len(reassembly.waiting) <= fragments.MAX_DATAGRAMS
        assert reassembly.held <= fragments.MAX_BYTES
    assert reassembly.discarded == 20_000 - len(reassembly.waiting)
    one = (b"\x0a\0\0\x01", b"\x0a\0\0\x02", 1)
    for offset in range(0, 16 * (fragments.MAX_PIECES + 1), 16):  # pieces with holes between
        reassembly.add(Fragment(one, offset, True, b"\0" * 8, 6), 2.0)
    assert one not in reassembly.waiting  # past MAX_PIECES: discarded


def test_fragments_that_do_not_agree_are_discarded() -> None:
    key = (b"\x0a\0\0\x01", b"\x0a\0\0\x02", 9)
    for pieces in (
        [(0, True, b"\0" * 12)],  # a middle piece not a multiple of 8
        [(16, False, b"\0" * 16), (48, False, b"\0" * 8)],  # two different ends
        [(16, False, b"\0" * 8), (16, True, b"\0" * 16)],  # past the end
        [(65528, True, b"\0" * 16)],  # past 65535
    ):
        reassembly = fragments.Reassembly()
        for offset, more, data in pieces:
            assert reassembly.add(Fragment(key, offset, more, data, 6), 0.0) is None
        assert reassembly.discarded == 1, pieces


@st.composite
def segments_in_fragments(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    """A TCP segment in an Ethernet frame, and the same segment as shuffled fragments."""
    v6 = draw(st.booleans())
    talk = Conversation(v6=v6, sport=draw(st.integers(1024, 65535)))
    payload = draw(st.binary(min_size=1, max_size=1400))
    packet = talk.packet("client", dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH, payload)
    size = 8 * draw(st.integers(1, 40))
    pieces = (ipv6_fragments if v6 else ipv4_fragments)(packet, size, draw(st.integers(0, 65535)))
    repeats = draw(st.lists(st.sampled_from(pieces), max_size=3))
    return packet, draw(st.permutations(pieces + repeats))


@settings(max_examples=150, deadline=None)
@given(segments_in_fragments())
def test_any_fragmentation_decodes_to_the_segment_itself(case: tuple[bytes, list[bytes]]) -> None:
    packet, pieces = case
    expected = decode.segment(0.0, decode.ETHERNET, packet)
    assert expected is not None
    reassembly = fragments.Reassembly()
    ethernet = unguarded_decoder(decode.ETHERNET)
    found = []
    for piece in pieces:
        try:
            fields = ethernet(piece)
            if fields is not None:  # one piece: no fragment at all
                found.append((piece, fields))
        except Fragment as fragment:
            whole = reassembly.add(fragment, 0.0)
            if whole is not None:
                found.append(whole)
    assert found  # once, or again when repeats make the datagram a second time
    for data, fields in found:
        assert fields is not None
        src, sport, dst, dport, seq, flags, start, end, missing = fields
        assert (src, sport, dst, dport, seq, flags, data[start:end], missing) == (
            expected.src, expected.sport, expected.dst, expected.dport, expected.seq,
            expected.flags, expected.payload, expected.missing,
        )  # fmt: skip


def test_a_fragment_inside_a_reassembled_datagram_is_no_segment() -> None:
    key = (b"\x20" * 16, b"\x21" * 16, 5)
    inner = struct.pack("!BBHI", 6, 0, 8 | 1, 6)  # another Fragment header, offset 8, more
    first = Fragment(key, 0, True, inner + b"\0" * 8, 44)
    assert decode.reassembled(first, inner + b"\0" * 40) is None
    assert decode.reassembled(Fragment(key, 0, True, b"", 60), b"\x06") is None  # cut short
