"""`wsaccept inspect` of packet captures: throughput against tshark, and memory on a large file.

Run by hand, not by the test suite (see bench/README.md):

    .venv/bin/python bench/capture_bench.py              # a 200 MB capture, 3 rounds
    .venv/bin/python bench/capture_bench.py --size 1024 --rounds 1 --no-tshark  # 1 GB: memory
    .venv/bin/python bench/capture_bench.py --tiny 1000000000  # a billion 1-byte segments, piped
    .venv/bin/python bench/capture_bench.py --pcapng     # the same as pcapng (editcap converts)

The capture is generated with dpkt: WebSocket connections (handshake, each with its own key
and a response no other one repeats, 1 KiB binary messages both ways, Close, FIN), interleaved
a few at a time, and as many bytes again of plain HTTP downloads that are no WebSocket (which
inspect follows to their FIN, skipping their bodies: a keep-alive connection may upgrade
later). `--heads dated` leaves out the request id (handshakes in the same second then differ
only in their key and accept, as from one busy server), `--heads same` gives every connection
the same handshake, as the bench did before (client predictions, memoised per head modulo a
right accept, are then made once or once a second). Each round times `wsaccept inspect
--summary FILE` and `tshark -r FILE -Y websocket` on the same file, interleaved, and takes the
peak RSS of wsaccept through a small launcher (a child's peak includes its parent's memory).
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.captures import (  # noqa: E402
    KEY,
    REQUEST,
    RESPONSE,
    Conversation,
    accept,
    close_frame,
    frame,
)
from tests.helpers import PEAK_RSS_LAUNCHER, script_path  # noqa: E402

MESSAGE = bytes(range(256)) * 4
DOWNLOAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
)


def handshake(number: int) -> tuple[bytes, bytes]:
    """A request and its 101 as real peers send them: a key of its own, the right accept, and
    a Date and a request id in the response (so no two heads are alike)."""
    key = base64.b64encode(number.to_bytes(16, "big"))
    request = REQUEST.replace(KEY, key)
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(1.7e9 + number * 0.01))
    extra = b"Date: %s\r\n" % when.encode()
    if HEADS == "unique":
        extra += b"X-Request-Id: %d\r\n" % number
    response = RESPONSE.replace(accept(KEY), accept(key)).replace(
        b"\r\n\r\n", b"\r\n" + extra + b"\r\n"
    )
    return request, response


HEADS = "unique"


def websocket_connection(number: int, messages: int) -> list[tuple[float, bytes]]:
    talk = Conversation(sport=10000 + number % 50000, start=1.7e9 + number * 0.01)
    request, response = (REQUEST, RESPONSE) if HEADS == "same" else handshake(number)
    talk.handshake().send("client", request).send("server", response)
    client, server = frame(0x2, MESSAGE, mask=True), frame(0x2, MESSAGE, mask=False)
    for _ in range(messages):
        talk.send("client", client)
        talk.send("server", server)
    talk.send("client", close_frame(1000, mask=True)).send("server", close_frame(1000, mask=False))
    return talk.fin("server").fin("client").frames


def download_connection(number: int, size: int) -> list[tuple[float, bytes]]:
    talk = Conversation(sport=10000 + number % 50000, dport=80, start=1.7e9 + number * 0.01)
    talk.handshake().send("client", b"GET /file HTTP/1.1\r\nHost: example.test\r\n\r\n")
    talk.send("server", DOWNLOAD % size + b"\0" * size)
    return talk.fin("server").fin("client").frames


def packets(size: int) -> Iterator[tuple[float, bytes]]:
    """About `size` bytes of packets: half WebSocket connections, half downloads."""
    written, number = 0, 0
    while written < size:
        batch = []
        for _ in range(4):  # four connections interleaved at a time
            number += 1
            made = (
                websocket_connection(number, 40)
                if number % 2
                else download_connection(number, 80_000)
            )
            batch += [(when + n * 1e-6, data) for n, (when, data) in enumerate(made)]
        for when, data in sorted(batch):
            written += len(data) + 16
            yield when, data


def write_capture(path: Path, size: int) -> int:
    import struct

    count = 0
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for when, data in packets(size):
            seconds = int(when)
            out.write(
                struct.pack("<IIII", seconds, int((when - seconds) * 1e6), len(data), len(data))
            )
            out.write(data)
            count += 1
    return count


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def peak_rss(command: list[str]) -> tuple[int, float]:
    """Peak RSS in MiB of `command` (via the launcher), and its time."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-S", "-c", PEAK_RSS_LAUNCHER, *command],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    report = done.stderr.rpartition(b"peak-rss-kib ")[2].decode().split()
    return int(report[0]) // 1024, elapsed


def tiny_segments(count: int) -> None:
    """A pcap on stdout: one WebSocket handshake, then `count` one-byte client segments."""
    import struct

    import dpkt

    talk = Conversation().handshake().send("client", REQUEST).send("server", RESPONSE)
    out = sys.stdout.buffer
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    for when, data in talk.frames:
        out.write(struct.pack("<IIII", int(when), 0, len(data), len(data)) + data)
    template = talk.packet("client", dpkt.tcp.TH_ACK, b"\x81")
    at = 14 + 20 + 4
    header = struct.pack("<IIII", 1_700_000_100, 0, len(template), len(template))
    for n in range(count):
        seq = (talk.seq["client"] + n) % (1 << 32)
        out.write(header + template[:at] + seq.to_bytes(4, "big") + template[at + 4 :])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=200, help="capture size in MB")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-tshark", action="store_true", help="measure wsaccept alone")
    parser.add_argument(
        "--pcapng", action="store_true", help="the same capture as pcapng (by tshark's editcap)"
    )
    parser.add_argument(
        "--heads",
        choices=["unique", "dated", "same"],
        default="unique",
        help="unique: each response has a request id; dated: only a key and a Date of its own"
        " (100 handshakes a second); same: one handshake for all",
    )
    parser.add_argument("--tiny", type=int, help="pipe this many 1-byte segments into inspect")
    parser.add_argument("--emit-tiny", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    global HEADS
    HEADS = options.heads
    if options.emit_tiny is not None:
        tiny_segments(options.emit_tiny)
        return 0
    print(f"uptime: {os.popen('uptime').read().strip()}")
    wsaccept = script_path()
    if options.tiny is not None:
        generator = subprocess.Popen(
            [sys.executable, __file__, "--emit-tiny", str(options.tiny)], stdout=subprocess.PIPE
        )
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-S", "-c", PEAK_RSS_LAUNCHER, wsaccept, "inspect", "--summary", "-"],
            stdin=generator.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False,
        )  # fmt: skip
        generator.wait()
        peak = int(done.stderr.rpartition(b"peak-rss-kib ")[2].split()[0]) // 1024
        elapsed = time.perf_counter() - started
        print(f"{options.tiny} one-byte segments: {elapsed:.1f} s, peak RSS {peak} MiB")
        return 0
    with tempfile.TemporaryDirectory(prefix="wsaccept-capture-bench-") as tmp:
        path = Path(tmp) / "bench.pcap"
        count = write_capture(path, options.size * 1_000_000)
        if options.pcapng:
            converted = path.with_suffix(".pcapng")
            subprocess.run(["editcap", "-F", "pcapng", str(path), str(converted)], check=True)
            path.unlink()
            path = converted
        size = path.stat().st_size
        print(f"capture: {size / 1e6:.0f} MB, {count} packets ({path.suffix[1:]})")
        ours, theirs, peaks = [], [], []
        for _ in range(options.rounds):
            peak, elapsed = peak_rss([wsaccept, "inspect", "--summary", str(path)])
            ours.append(elapsed)
            peaks.append(peak)
            if not options.no_tshark:
                theirs.append(timed(["tshark", "-r", str(path), "-Y", "websocket"]))
                print(f"  round: wsaccept {ours[-1]:.2f} s, tshark {theirs[-1]:.2f} s", flush=True)
        mine = statistics.median(ours)
        print(f"wsaccept inspect --summary: {mine:.2f} s ({size / 1e6 / mine:.0f} MB/s)")
        print(f"peak RSS of wsaccept: {max(peaks)} MiB")
        if options.no_tshark:
            return 0
        tshark = statistics.median(theirs)
        print(f"tshark -r FILE -Y websocket: {tshark:.2f} s ({size / 1e6 / tshark:.0f} MB/s)")
        print(f"ratio wsaccept/tshark: {mine / tshark:.2f} (below 1: wsaccept faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
