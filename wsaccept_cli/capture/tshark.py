"""TLS decryption with a key log, by tshark: the decrypted bytes of each TLS connection.

Decrypting TLS 1.2 and 1.3 from an SSLKEYLOGFILE means deriving every traffic key from the
logged secrets and running each cipher suite's record protection backwards: Wireshark's
dissector does exactly this, is maintained, and is what people already trust with these files,
while no maintained Python library decrypts captured TLS. So tshark is an optional engine, found
on PATH when --keylog is given. It reads the capture file once more (so --keylog needs a file,
not stdin) and follows every TLS stream in one run (`-z follow,tls,raw,N` for each), and the
decrypted bytes are read back here as the client's and the server's, in the order they came.
"""

from __future__ import annotations

import shutil
import subprocess

MAX_STREAMS = 1000  # TLS connections decrypted in one run
TIMEOUT = 600.0
Ends = tuple[str, int, str, int]  # client address and port, server address and port


class DecryptionError(Exception):
    """tshark is missing, or could not read the capture or the key log."""


class Decryptor:
    """The decrypted streams of one capture file, made when first asked for."""

    def __init__(self, capture: str, keylog: str) -> None:
        self.capture = capture
        self.keylog = keylog
        self._streams: dict[Ends, list[tuple[str, bytes]]] | None = None

    def stream(self, ends: Ends) -> list[tuple[str, bytes]] | None:
        """The decrypted chunks ('client' or 'server', bytes) of one connection, or None when
        tshark decrypted nothing of it (no key in the log for it)."""
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


def _decrypt(capture: str, keylog: str) -> dict[Ends, list[tuple[str, bytes]]]:
    program = tshark()
    options = ["-r", capture, "-o", f"tls.keylog_file:{keylog}"]
    fields = [
        "tcp.stream",
        "ip.src",
        "ipv6.src",
        "tcp.srcport",
        "ip.dst",
        "ipv6.dst",
        "tcp.dstport",
    ]
    listing = [program, *options, "-Y", "tls.handshake.type == 1", "-T", "fields"]
    for field in fields:
        listing += ["-e", field]
    streams: dict[str, Ends] = {}
    for line in _run(listing).splitlines():
        parts = line.split("\t")
        if len(parts) != 7 or parts[0] in streams or len(streams) >= MAX_STREAMS:
            continue
        number, src4, src6, sport, dst4, dst6, dport = parts
        streams[number] = (src4 or src6, int(sport), dst4 or dst6, int(dport))
    if not streams:
        return {}
    follow = [program, *options, "-q"]
    for number in streams:
        follow += ["-z", f"follow,tls,raw,{number}"]
    blocks = _follow_blocks(_run(follow))
    return {
        streams[n]: _roles(streams[n], node0, lines)
        for n, (node0, lines) in blocks.items()
        if n in streams and lines
    }


def _follow_blocks(output: str) -> dict[str, tuple[str, list[tuple[bool, bytes]]]]:
    """Each `follow,tls,raw` block by its stream number (tshark prints them in an order of its
    own): its Node 0 (`addr:port`) and its lines of hex, each with whether it was indented
    (Node 1's) or not (Node 0's)."""
    blocks: dict[str, tuple[str, list[tuple[bool, bytes]]]] = {}
    number, node0 = "", ""
    current: list[tuple[bool, bytes]] | None = None
    for line in output.splitlines():
        if line.startswith("Follow: tls"):
            current, node0 = [], ""
        elif current is not None and line.startswith("Filter: tcp.stream eq "):
            number = line.rsplit(" ", 1)[-1].strip()
        elif current is not None and line.startswith("Node 0: "):
            node0 = line[len("Node 0: ") :].strip()
        elif current is not None and line.startswith("====="):
            if number:
                blocks[number] = (node0, current)
            current, number = None, ""
        elif current is not None and line.strip() and not line.startswith(("Node ", "Filter:")):
            try:
                current.append((line.startswith("\t"), bytes.fromhex(line.strip())))
            except ValueError:
                continue
    return blocks


def _roles(ends: Ends, node0: str, lines: list[tuple[bool, bytes]]) -> list[tuple[str, bytes]]:
    """The lines as the client's and the server's: Node 0 is whichever end tshark saw first,
    named by its address and port."""
    client_first = node0.rsplit(":", 1)[-1] == str(ends[1]) and node0.startswith(
        ends[0].join("[]") if ":" in ends[0] else ends[0]
    )
    return [("server" if indented == client_first else "client", data) for indented, data in lines]
