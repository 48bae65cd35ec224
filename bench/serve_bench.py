"""The handshake rate of `wsaccept serve`, side by side with a plain `websockets` server on the
same machine, as a ratio (issue 17's target: at least 0.8 x).

Each server runs in a process of its own on 127.0.0.1 (port 0); one client process makes N
opening handshakes, C at a time, each on a fresh connection (connect, send the request, read the
101 head, send a text frame, read its echo, close) and reports handshakes per second. The
servers' rounds are interleaved and the median of each is compared: this machine's speed varies
from minute to minute, so only the ratio of rounds run side by side means anything.

    python bench/serve_bench.py            # 5 rounds of 2,000 handshakes each
    python bench/serve_bench.py --quick    # 3 rounds of 500
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

WEBSOCKETS_SERVER = """
import asyncio, sys
from websockets.asyncio.server import serve

async def echo(ws):
    async for message in ws:
        await ws.send(message)

async def main():
    async with serve(echo, "127.0.0.1", 0, compression=None) as server:
        print("ws://127.0.0.1:%d/" % server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Event().wait()

asyncio.run(main())
"""

CLIENT = """
import asyncio, sys, time
url, count, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
host, port = url[5:].rstrip("/").rsplit(":", 1)
request = (
    "GET /bench HTTP/1.1\\r\\nHost: %s:%s\\r\\nUpgrade: websocket\\r\\n"
    "Connection: Upgrade\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\n"
    "Sec-WebSocket-Version: 13\\r\\n\\r\\n" % (host, port)
).encode()
message = bytes([0x81, 0x82, 1, 2, 3, 4, ord("h") ^ 1, ord("i") ^ 2])

async def one():
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request)
    head = await reader.readuntil(b"\\r\\n\\r\\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    writer.write(message)
    await reader.readexactly(4)
    writer.close()

async def main():
    left = count
    async def worker():
        nonlocal left
        while left > 0:
            left -= 1
            await one()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    print(count / (time.perf_counter() - started))

asyncio.run(main())
"""


def start(argv: list[str]) -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    line = process.stdout.readline().decode().strip()
    url = json.loads(line)["url"] if line.startswith("{") else line
    # what the server prints after its first line goes nowhere (a full pipe would stall it)
    subprocess.Popen(["cat"], stdin=process.stdout, stdout=subprocess.DEVNULL)
    return process, url


def rate(url: str, count: int, concurrency: int) -> float:
    out = subprocess.run(
        [sys.executable, "-c", CLIENT, url, str(count), str(concurrency)],
        capture_output=True,
        check=True,
        timeout=600,
    )
    return float(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--count", type=int)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 5)
    count = args.count or (500 if args.quick else 2000)
    wsaccept = shutil.which("wsaccept", path=os.path.dirname(sys.executable)) or "wsaccept"
    servers = {
        "websockets server (echo)": start([sys.executable, "-c", WEBSOCKETS_SERVER]),
        "wsaccept serve (plain output)": start([wsaccept, "serve", "--format", "plain"]),
        "wsaccept serve --format json": start([wsaccept, "serve", "--format", "json"]),
    }
    try:
        for _, url in servers.values():  # warm up: imports, first connections
            rate(url, 100, args.concurrency)
        rates: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(rounds):
            for name, (_, url) in servers.items():
                rates[name].append(rate(url, count, args.concurrency))
                time.sleep(0.2)
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=10)
    print(
        f"wsaccept serve benchmark: {platform.platform()}, Python {platform.python_version()},"
        f" {os.cpu_count()} cores; {count:,} handshakes per round, {args.concurrency} at a time,"
        f" medians of {rounds} rounds"
    )
    baseline = statistics.median(rates["websockets server (echo)"])
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"  {name:32} {median:8.0f} handshakes/s   x{median / baseline:.2f} websockets")
    ratio = statistics.median(rates["wsaccept serve (plain output)"]) / baseline
    met = "met" if ratio >= 0.8 else "NOT met"
    print(f"Target (issue 17): serve's handshake rate >= 0.8 x websockets: x{ratio:.2f}, {met}")


if __name__ == "__main__":
    main()
