#!/usr/bin/env python3
"""Probes per second and peak memory of `wsaccept probe --file` over many loopback endpoints,
side by side with a plain asyncio loop of `websockets` client connections (the baseline:
connect, handshake, close, 16 at a time), measured in the same run, interleaved.

    .venv/bin/python bench/probe_many.py            # 1,000 endpoints, medians of 3 runs
    .venv/bin/python bench/probe_many.py --count 200 --repeats 1

One `websockets` echo server in its own process answers both. Only the ratios mean anything on a
shared machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVER = """
import asyncio, sys
from websockets.asyncio.server import serve

async def main():
    async def echo(connection):
        async for message in connection:
            await connection.send(message)
    async with serve(echo, "127.0.0.1", 0, ping_interval=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()

asyncio.run(main())
"""

BASELINE = """
import asyncio, sys
from websockets.asyncio.client import connect

async def main(urls, parallel):
    gate = asyncio.Semaphore(parallel)
    async def one(url):
        async with gate:
            async with connect(url, ping_interval=None, open_timeout=10):
                pass
    await asyncio.gather(*(one(url) for url in urls))

urls = sys.stdin.read().split()
asyncio.run(main(urls, int(sys.argv[1])))
"""

LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write("peak-rss-kib %d exit %d" % (usage.ru_maxrss, os.waitstatus_to_exitcode(status)))
"""


def measured(argv: list[str], stdin: Path) -> tuple[float, int]:
    """Wall time (s) and peak RSS (KiB) of `argv` reading `stdin`."""
    with stdin.open("rb") as source:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-S", "-c", LAUNCHER, *argv],
            stdin=source,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        elapsed = time.perf_counter() - started
    report = done.stderr.rpartition(b"peak-rss-kib ")[2].decode()
    peak, _, code = report.partition(" exit ")
    if code != "0":
        raise SystemExit(f"{argv[:3]} failed: {done.stderr.decode(errors='replace')[-500:]}")
    return elapsed, int(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    wsaccept = str(Path(sys.executable).with_name("wsaccept"))
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        with tempfile.TemporaryDirectory() as tmp:
            urls = Path(tmp) / "urls.txt"
            urls.write_text(f"ws://127.0.0.1:{port}/\n" * args.count)
            cases = {
                "websockets asyncio loop": [sys.executable, "-c", BASELINE, str(args.parallel)],
                "wsaccept probe --file": [
                    wsaccept,
                    "probe",
                    "--file",
                    "-",
                    "--format",
                    "json",
                    "--parallel",
                    str(args.parallel),
                ],
            }
            times: dict[str, list[float]] = {name: [] for name in cases}
            peaks: dict[str, list[int]] = {name: [] for name in cases}
            for _ in range(args.repeats):
                for name, argv in cases.items():
                    elapsed, peak = measured(argv, urls)
                    times[name].append(elapsed)
                    peaks[name].append(peak)
    finally:
        server.terminate()
        server.wait(timeout=5)
    print(
        f"probe many: {args.count} loopback endpoints, --parallel {args.parallel},"
        f" medians of {args.repeats}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    base = statistics.median(times["websockets asyncio loop"])
    base_peak = max(peaks["websockets asyncio loop"])
    for name in cases:
        elapsed = statistics.median(times[name])
        peak = max(peaks[name])
        print(
            f"  {name:26} {elapsed * 1000:8.1f} ms  {args.count / elapsed:7.0f} probes/s"
            f"  x{base / elapsed:.2f} baseline   peak {peak / 1024:6.1f} MiB"
            f"  x{peak / base_peak:.2f} baseline"
        )


if __name__ == "__main__":
    main()
