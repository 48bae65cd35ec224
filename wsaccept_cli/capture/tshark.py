"""TLS decryption with a key log, by tshark: the decrypted bytes of each TLS connection.

Decrypting TLS 1.2 and 1.3 from an SSLKEYLOGFILE means deriving every traffic key from the
logged secrets and running each cipher suite's record protection backwards: Wireshark's
dissector does exactly this, is maintained, and is what people already trust with these files,
while no maintained Python library decrypts captured TLS. So tshark is an optional engine, found
on PATH when --keylog is given. It reads the capture file once more (so --keylog needs a file,
not stdin) and follows every TLS stream in one run (`-z follow,tls,yaml,N` for each, which
gives each record's time: tshark 3.6 or later), and the decrypted bytes are read back here as
the client's and the server's, in the order they came, each with its time.
"""

from __future__ import annotations

import base64
import shutil
import subprocess

MAX_STREAMS = 1000  # TLS connections decrypted in one run
TIMEOUT = 600.0
Ends = tuple[str, int, str, int]  # client address and port, server address and port
Chunk = tuple[str, float, bytes]  # "client" or "server", the time of its record, the bytes


class DecryptionError(Exception):
    """tshark is missing, or could not read the capture or the key log."""


class Decryptor:
    """The decrypted streams of one capture file, made when first asked for."""

    def __init__(self, capture: str, keylog: str) -> None:
        self.capture = capture
        self.keylog = keylog
        self._streams: dict[Ends, list[Chunk]] | None = None

    def stream(self, ends: Ends) -> list[Chunk] | None:
        """The decrypted chunks ('client' or 'server', time, bytes) of one connection, or None
        when tshark decrypted nothing of it (no key in the log for it)."""
        if self._streams is None:
            self._streams = _decrypt(self.capture, self.keylog)
        return self._streams.get(ends)


def tshark() -> str:
    found = shutil.which("tshark")
    if found is None:
        raise DecryptionError(
            "--keylog decrypts TLS with tshark (Wireshark's command-line tool), which is not on"
            " PATH: install it (Debian and Ubuntu: apt install tshark)"
        )
    return found


def _run(arguments: list[str]) -> str:
    try:
        done = subprocess.run(
            arguments, capture_output=True, timeout=TIMEOUT, check=False, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise DecryptionError(
            f"tshark took over {TIMEOUT:.0f} s; decrypt a smaller capture"
        ) from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DecryptionError(f"tshark failed: {said[-1] if said else done.returncode}")
    return done.stdout.decode("latin-1")


def _decrypt(capture: str, keylog: str) -> dict[Ends, list[Chunk]]:
    program = tshark()
    options = ["-r", capture, "-o", f"tls.keylog_file:{keylog}"]
    fields = [
        "frame.number",
        "tls.handshake.type",
        "tcp.stream",
        "ip.src",
        "ipv6.src",
        "tcp.srcport",
        "ip.dst",
        "ipv6.dst",
        "tcp.dstport",
    ]
    # the ClientHellos name each TLS connection's ends; the records of application data say
    # which connection each frame of the follow output below belongs to
    listing = [program, *options, "-Y", "tls.handshake.type == 1 or tls.app_data", "-T", "fields"]
    for field in fields:
        listing += ["-e", field]
    streams: dict[str, Ends] = {}
    stream_of: dict[str, str] = {}  # frame number -> tcp.stream
    for line in _run(listing).splitlines():
        parts = line.split("\t")
        if len(parts) != 9:
            continue
        frame, kinds, number, src4, src6, sport, dst4, dst6, dport = parts
        stream_of[frame] = number
        if "1" in kinds.split(",") and number not in streams and len(streams) < MAX_STREAMS:
            streams[number] = (src4 or src6, int(sport), dst4 or dst6, int(dport))
    if not streams:
        return {}
    follow = [program, *options, "-q"]
    for number in streams:
        follow += ["-z", f"follow,tls,yaml,{number}"]
    found: dict[Ends, list[Chunk]] = {}
    for node0, packets in _follow_blocks(_run(follow)):
        number = stream_of.get(packets[0][0], "") if packets else ""
        if number in streams:
            found[streams[number]] = _roles(streams[number], node0, packets)
    return found


def _follow_blocks(output: str) -> list[tuple[str, list[tuple[str, int, float, bytes]]]]:
    """Each `follow,tls,yaml` block (tshark prints them in an order of its own, and does not
    name their stream): its peer 0 (`addr:port`, IPv6 in brackets) and its packets, each as
    (frame number, peer, time, decrypted bytes)."""
    blocks: list[tuple[str, list[tuple[str, int, float, bytes]]]] = []
    peers: list[list[str]] = []
    packets: list[tuple[str, int, float, bytes]] = []
    packet: list[str] = []  # frame number, peer, time
    data: list[str] = []
    section = ""

    def flush() -> None:
        if len(packet) == 3:
            try:
                decoded = base64.b64decode("".join(data))
                packets.append((packet[0], int(packet[1]), float(packet[2]), decoded))
            except ValueError:
                pass
        packet.clear()
        data.clear()

    def block() -> None:
        flush()
        if peers or packets:
            host, port = (peers[0] + ["", ""])[:2] if peers else ("", "")
            blocks.append((f"{host.join('[]') if ':' in host else host}:{port}", packets[:]))
        peers.clear()
        packets.clear()

    for line in output.splitlines():
        if line in ("peers:", "packets:"):
            if line == "peers:":
                block()
            section = line
        elif line.startswith("      ") and section == "packets:":
            data.append(line.strip())
        elif line.startswith("  - "):
            key, _, value = line[4:].partition(":")
            if section == "peers:":
                peers.append([])
            else:
                flush()
                packet.append(value.strip())
        elif line.startswith("    ") and ":" in line:
            key, _, value = line.strip().partition(":")
            if section == "peers:" and peers and key in ("host", "port"):
                peers[-1].append(value.strip())
            elif section == "packets:" and key in ("peer", "timestamp"):
                packet.append(value.strip())
    block()
    return blocks


def _roles(ends: Ends, node0: str, packets: list[tuple[str, int, float, bytes]]) -> list[Chunk]:
    """The packets as the client's and the server's: peer 0 is whichever end tshark saw first,
    named by its address and port."""
    client_first = node0.rsplit(":", 1)[-1] == str(ends[1]) and node0.startswith(
        ends[0].join("[]") if ":" in ends[0] else ends[0]
    )
    return [
        ("server" if (peer == 1) == client_first else "client", time, data)
        for _, peer, time, data in packets
    ]
