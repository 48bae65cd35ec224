"""Packet captures for the `inspect` tests: recorded live with tcpdump, or crafted with dpkt.

- `Tcpdump`: tcpdump on an interface (loopback, or `any` for Linux cooked SLL2), with a BPF
  filter on the test's own ports, started and stopped by the test.
- `Conversation`: a TCP connection crafted packet by packet with dpkt (Ethernet/IPv4 or IPv6,
  real sequence numbers), for what a live capture cannot produce on demand: reordering,
  retransmission, overlap, a lost segment, a snap length.
- `write_pcap` / `write_pcapng`: the frames as a file, in either byte order, with micro- or
  nanosecond timestamps, pcapng with several sections and interfaces.
- `tshark_handshakes`: what tshark (an independent dissector) found, the oracle of the tests.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import dpkt
from dpkt import pcap, pcapng

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CLIENT4, SERVER4 = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
CLIENT6 = bytes.fromhex("20010db8000000000000000000000001")
SERVER6 = bytes.fromhex("20010db8000000000000000000000002")


def accept(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
REQUEST = (
    b"GET /chat HTTP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: " + KEY + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: " + accept(KEY) + b"\r\n\r\n"
)


def frame(
    opcode: int, payload: bytes, *, mask: bool, fin: bool = True, rsv1: bool = False
) -> bytes:
    """One WebSocket frame (RFC 6455 §5.2), masked with a fixed key when `mask`."""
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    length = len(payload)
    if length < 126:
        header = bytes([first, (0x80 if mask else 0) | length])
    elif length < 65536:
        header = bytes([first, (0x80 if mask else 0) | 126]) + length.to_bytes(2, "big")
    else:
        header = bytes([first, (0x80 if mask else 0) | 127]) + length.to_bytes(8, "big")
    if not mask:
        return header + payload
    key = b"\x01\x02\x03\x04"
    return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def close_frame(code: int, reason: bytes = b"", *, mask: bool) -> bytes:
    return frame(0x8, code.to_bytes(2, "big") + reason, mask=mask)


class Conversation:
    """A TCP connection between a client and a server, as Ethernet frames with times."""

    def __init__(
        self, *, v6: bool = False, sport: int = 40000, dport: int = 8080, start: float = 1.7e9
    ) -> None:
        self.v6 = v6
        self.ends = {
            "client": (CLIENT6 if v6 else CLIENT4, sport),
            "server": (SERVER6 if v6 else SERVER4, dport),
        }
        self.seq = {"client": 1000, "server": 500000}
        self.time = start
        self.frames: list[tuple[float, bytes]] = []

    def packet(self, side: str, flags: int, payload: bytes = b"", seq: int | None = None) -> bytes:
        other = "server" if side == "client" else "client"
        (src, sport), (dst, dport) = self.ends[side], self.ends[other]
        tcp = dpkt.tcp.TCP(
            sport=sport, dport=dport, seq=self.seq[side] if seq is None else seq,
            ack=self.seq[other], flags=flags, data=payload,
        )  # fmt: skip
        if self.v6:
            ip: dpkt.Packet = dpkt.ip6.IP6(
                src=src, dst=dst, nxt=dpkt.ip.IP_PROTO_TCP, hlim=64, data=tcp, plen=len(tcp)
            )
            ethertype = dpkt.ethernet.ETH_TYPE_IP6
        else:
            ip = dpkt.ip.IP(src=src, dst=dst, p=dpkt.ip.IP_PROTO_TCP, data=tcp)
            ip.len = len(ip)
            ethertype = dpkt.ethernet.ETH_TYPE_IP
        ether = dpkt.ethernet.Ethernet(
            src=b"\x02\x00\x00\x00\x00\x01", dst=b"\x02\x00\x00\x00\x00\x02", type=ethertype,
            data=ip,
        )  # fmt: skip
        return bytes(ether)

    def add(self, frame_bytes: bytes, delay: float = 0.001) -> None:
        self.time += delay
        self.frames.append((self.time, frame_bytes))

    def handshake(self) -> Conversation:
        """SYN, SYN-ACK, ACK."""
        self.add(self.packet("client", dpkt.tcp.TH_SYN))
        self.seq["client"] += 1
        self.add(self.packet("server", dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK))
        self.seq["server"] += 1
        self.add(self.packet("client", dpkt.tcp.TH_ACK))
        return self

    def segments(self, side: str, data: bytes, size: int = 1400) -> list[bytes]:
        """`data` sent by `side` as segments of at most `size` bytes (not yet added)."""
        packets = []
        for start in range(0, len(data), size):
            chunk = data[start : start + size]
            packets.append(self.packet(side, dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH, chunk))
            self.seq[side] += len(chunk)
        return packets

    def send(self, side: str, data: bytes, size: int = 1400) -> Conversation:
        for packet in self.segments(side, data, size):
            self.add(packet)
        return self

    def fin(self, side: str) -> Conversation:
        self.add(self.packet(side, dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK))
        self.seq[side] += 1
        return self

    def reset(self, side: str) -> Conversation:
        self.add(self.packet(side, dpkt.tcp.TH_RST))
        return self

    def websocket(self, *, close: bool = True) -> Conversation:
        """A whole WebSocket connection: handshake, a message each way, Close both ways, FINs."""
        self.handshake().send("client", REQUEST).send("server", RESPONSE)
        self.send("client", frame(0x1, b"hello", mask=True))
        self.send("server", frame(0x1, b"hello", mask=False))
        if close:
            self.send("client", close_frame(1000, b"bye", mask=True))
            self.send("server", close_frame(1000, mask=False))
            self.fin("server").fin("client")
        return self


def write_pcap(
    path: Path,
    frames: list[tuple[float, bytes]],
    *,
    linktype: int = 1,
    big_endian: bool = False,
    nano: bool = False,
    snaplen: int = 262144,
) -> Path:
    """A pcap file of `frames` (each cut to `snaplen`), in the byte order asked for."""
    file_header = pcap.FileHdr if big_endian else pcap.LEFileHdr
    packet_header = pcap.PktHdr if big_endian else pcap.LEPktHdr
    magic = pcap.TCPDUMP_MAGIC_NANO if nano else pcap.TCPDUMP_MAGIC
    parts = [bytes(file_header(magic=magic, snaplen=snaplen, linktype=linktype))]
    for when, data in frames:
        seconds = int(when)
        fraction = round((when - seconds) * (1e9 if nano else 1e6))
        kept = data[:snaplen]
        parts.append(
            bytes(packet_header(tv_sec=seconds, tv_usec=fraction, caplen=len(kept), len=len(data)))
        )
        parts.append(kept)
    path.write_bytes(b"".join(parts))
    return path


def pcapng_section(
    interfaces: list[int], packets: list[tuple[int, float, bytes]], *, big_endian: bool = False
) -> bytes:
    """One pcapng section: its interfaces (by link type), then (interface, time, frame)s."""
    suffix = "" if big_endian else "LE"
    section = getattr(pcapng, "SectionHeaderBlock" + suffix)()
    parts = [bytes(section)]
    for linktype in interfaces:
        idb = getattr(pcapng, "InterfaceDescriptionBlock" + suffix)(
            snaplen=262144, linktype=linktype
        )
        parts.append(bytes(idb))
    for interface, when, data in packets:
        stamp = round(when * 1e6)
        epb = getattr(pcapng, "EnhancedPacketBlock" + suffix)(
            iface_id=interface, ts_high=stamp >> 32, ts_low=stamp & 0xFFFFFFFF, pkt_data=data
        )
        parts.append(bytes(epb))
    return b"".join(parts)


def sll2(ethernet_frame: bytes) -> bytes:
    """An Ethernet frame's IP packet under a Linux cooked v2 header (what `-i any` writes)."""
    ether = dpkt.ethernet.Ethernet(ethernet_frame)
    header = dpkt.sll2.SLL2(ethtype=ether.type, intindex=1, hrd=1, type=0, hlen=6, hdr=b"\0" * 8)
    return bytes(header) + bytes(ether.data)


def sll(ethernet_frame: bytes) -> bytes:
    ether = dpkt.ethernet.Ethernet(ethernet_frame)
    header = dpkt.sll.SLL(type=0, hrd=1, hlen=6, hdr=b"\0" * 8, ethtype=ether.type)
    return bytes(header) + bytes(ether.data)


def raw_ip(ethernet_frame: bytes) -> bytes:
    return bytes(dpkt.ethernet.Ethernet(ethernet_frame).data)


def null_loopback(ethernet_frame: bytes) -> bytes:
    ether = dpkt.ethernet.Ethernet(ethernet_frame)
    family = 2 if ether.type == dpkt.ethernet.ETH_TYPE_IP else 30
    return family.to_bytes(4, "little") + bytes(ether.data)


def vlan(ethernet_frame: bytes, tag: int = 42) -> bytes:
    """The frame with an 802.1Q tag between its addresses and its type."""
    return ethernet_frame[:12] + b"\x81\x00" + tag.to_bytes(2, "big") + ethernet_frame[12:]


class Tcpdump:
    """tcpdump writing a capture of `filter` on `interface` while the `with` block runs."""

    def __init__(self, path: Path, bpf: str, interface: str = "lo", snaplen: int = 0) -> None:
        self.path = path
        self.command = [
            tcpdump_program(), "-i", interface, "--immediate-mode", "-B", "16384", "-U",
            "-s", str(snaplen),
            "-w", str(path), bpf,
        ]  # fmt: skip

    def __enter__(self) -> Tcpdump:
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        assert self.process.stderr is not None
        said = []
        while not said or b"listening" not in said[-1]:  # "listening on lo, ..." once it captures
            said.append(self.process.stderr.readline())
            if not said[-1]:
                self.process.wait(timeout=10)
                raise AssertionError(f"tcpdump did not start: {b''.join(said)!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.5)  # the last packets reach the capture
        self.process.send_signal(signal.SIGINT)
        self.report = self.process.communicate(timeout=10)[1].decode()


def tcpdump_program() -> str:
    return shutil.which("tcpdump") or "/usr/bin/tcpdump"


def capturing_allowed() -> str | None:
    """Why live captures cannot be made here (no tcpdump, not root), or None."""
    if not os.path.exists(tcpdump_program()):
        return "tcpdump is not installed (.ci/run installs it)"
    if os.geteuid() != 0:
        return "capturing on the loopback interface needs root"
    return None


def tshark_handshakes(path: Path, *extra: str) -> list[tuple[int, int, str]]:
    """(client port, server port, status or 'none') of each upgrade request tshark found:
    tshark's own HTTP dissector, an implementation independent of ours."""
    fields = ["tcp.stream", "tcp.srcport", "tcp.dstport", "http.request", "http.response.code",
              "http.upgrade"]  # fmt: skip
    command = ["tshark", "-r", str(path), *extra, "-Y", "http", "-T", "fields"]
    for field in fields:
        command += ["-e", field]
    output = subprocess.run(command, capture_output=True, check=True, timeout=120).stdout
    requests: dict[str, tuple[int, int]] = {}
    answers: dict[str, str] = {}
    for line in output.decode().splitlines():
        stream, sport, dport, is_request, code, upgrade = line.split("\t")
        if is_request and "websocket" in upgrade.lower() and stream not in requests:
            requests[stream] = (int(sport), int(dport))
        elif code and stream in requests and stream not in answers:
            answers[stream] = code
    return sorted((*ports, answers.get(stream, "none")) for stream, ports in requests.items())


def tshark_extended_connects(
    path: Path, port: int, keylog: str | None = None
) -> list[tuple[int, str]]:
    """(client port, :status or 'none') of each HTTP/2 request with a :protocol that tshark
    found on the server `port` (h2c is told to tshark with -d; TLS is decrypted with `keylog`)."""
    options = ["-o", f"tls.keylog_file:{keylog}"] if keylog else ["-d", f"tcp.port=={port},http2"]
    command = ["tshark", "-r", str(path), *options, "-Y", f"tcp.port=={port} and http2.type==1",
               "-T", "fields", "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "http2.streamid",
               "-e", "http2.header.name", "-e", "http2.header.value"]  # fmt: skip
    output = subprocess.run(command, capture_output=True, check=True, timeout=120).stdout
    requests: dict[int, str] = {}  # by client port: the tests open one stream per connection
    for line in output.decode().splitlines():
        sport, dport, _streams, names, values = line.split("\t")  # a packet may hold frames
        headers = dict(zip(names.split(","), values.split(",")))  # of several streams
        if ":protocol" in headers:
            requests[int(sport)] = "none"
        elif ":status" in headers and requests.get(int(dport)) == "none":
            requests[int(dport)] = headers[":status"]
    return sorted(requests.items())


def tshark_reads(path: Path) -> int:
    """How many packets tshark reads from `path` (raises if it cannot read the file)."""
    output = subprocess.run(
        ["tshark", "-r", str(path), "-T", "fields", "-e", "frame.number"],
        capture_output=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return len(output.splitlines())


def lazily(chunks: Iterator[bytes]) -> object:
    """A read function over generated bytes: a capture of any size, never all in memory."""
    buffer = bytearray()

    def read(size: int) -> bytes:
        while len(buffer) < size:
            chunk = next(chunks, None)
            if chunk is None:
                break
            buffer.extend(chunk)
        data = bytes(buffer[:size])
        del buffer[:size]
        return data

    return read
