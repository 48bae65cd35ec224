"""A probe's exchange as a pcapng file (`probe --save`), readable by `inspect` and Wireshark.

The bytes are those the probe sent and received above TLS; addresses and TCP are synthesised
(documentation addresses of RFC 5737, a handshake, sequence numbers, segments of at most
MSS bytes, FIN both ways), so the file shows the exchange as cleartext a bug report can carry.
dpkt builds every header and block.
"""

from __future__ import annotations

import io

CLIENT = bytes([192, 0, 2, 1])  # TEST-NET-1
SERVER = bytes([198, 51, 100, 1])  # TEST-NET-2
MSS = 1400


def exchange_pcapng(
    events: list[tuple[int, float, str, bytes]], ports: list[int], started: float
) -> bytes:
    """The pcapng bytes of each connection's pieces (connection, time, side, bytes)."""
    import dpkt

    output = io.BytesIO()
    writer = dpkt.pcapng.Writer(output, snaplen=65535, linktype=dpkt.pcap.DLT_EN10MB)
    for index, port in enumerate(ports):
        pieces = [(when, side, data) for number, when, side, data in events if number == index]
        first = pieces[0][0] if pieces else started
        for when, packet in _connection(40000 + index, port, pieces, first, started):
            writer.writepkt(packet, ts=when)
    return output.getvalue()


def _connection(
    client_port: int, server_port: int, pieces: list[tuple[float, str, bytes]], first: float,
    started: float,
) -> list[tuple[float, bytes]]:  # fmt: skip
    import dpkt

    seq = {"client": 1_000_000, "server": 2_000_000}
    ports = {"client": (client_port, server_port), "server": (server_port, client_port)}
    hosts = {"client": (CLIENT, SERVER), "server": (SERVER, CLIENT)}

    def packet(side: str, flags: int, data: bytes = b"") -> bytes:
        other = "server" if side == "client" else "client"
        tcp = dpkt.tcp.TCP(
            sport=ports[side][0], dport=ports[side][1], seq=seq[side], ack=seq[other],
            flags=flags, win=65535, data=data,
        )  # fmt: skip
        ip = dpkt.ip.IP(src=hosts[side][0], dst=hosts[side][1], p=dpkt.ip.IP_PROTO_TCP, data=tcp)
        ip.len = len(ip)
        frame = dpkt.ethernet.Ethernet(
            src=b"\x02\x00\x00\x00\x00\x01" if side == "client" else b"\x02\x00\x00\x00\x00\x02",
            dst=b"\x02\x00\x00\x00\x00\x02" if side == "client" else b"\x02\x00\x00\x00\x00\x01",
            type=dpkt.ethernet.ETH_TYPE_IP, data=ip,
        )  # fmt: skip
        return bytes(frame)

    start = min(first, started)
    packets = [(start, packet("client", dpkt.tcp.TH_SYN))]
    seq["client"] += 1
    packets.append((start, packet("server", dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK)))
    seq["server"] += 1
    packets.append((start, packet("client", dpkt.tcp.TH_ACK)))
    for when, side, data in pieces:
        for offset in range(0, len(data), MSS):
            chunk = data[offset : offset + MSS]
            packets.append((when, packet(side, dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH, chunk)))
            seq[side] += len(chunk)
    end = pieces[-1][0] if pieces else start
    for side in ("client", "server"):
        packets.append((end, packet(side, dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK)))
        seq[side] += 1
    return packets
