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
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
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


def measured(argv: list[str], stdin: Path) -> tuple[float, int, int, float]:
    """Wall time (s), peak RSS of its largest process (KiB), peak PSS of all its processes
    together (KiB, sampled every 20 ms: PSS counts the pages workers share with the process
    they were forked from once) and CPU time (s, user + system, every process) of `argv`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with stdin.open("rb") as source:
        started = time.perf_counter()
        launcher = subprocess.Popen(
            [sys.executable, "-S", "-c", LAUNCHER, *argv],
            stdin=source,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        peak_pss = [0]
        sampler = threading.Thread(target=_sample, args=(launcher, peak_pss), daemon=True)
        sampler.start()
        _, stderr = launcher.communicate()
        elapsed = time.perf_counter() - started
        sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    report = stderr.rpartition(b"peak-rss-kib ")[2].decode()
    peak, _, code = report.partition(" exit ")
    if code != "0":
        raise SystemExit(f"{argv[:3]} failed: {stderr.decode(errors='replace')[-500:]}")
    return elapsed, int(peak), peak_pss[0], cpu


def _sample(launcher: subprocess.Popen[bytes], peak: list[int]) -> None:
    while launcher.poll() is None:
        total = sum(_pss_kib(pid) for pid in _tree(launcher.pid)[1:])  # not the launcher
        peak[0] = max(peak[0], total)
        time.sleep(0.02)


def _tree(pid: int) -> list[int]:
    found, index = [pid], 0
    while index < len(found):
        for children in Path(f"/proc/{found[index]}/task").glob("*/children"):
            with contextlib.suppress(OSError, ValueError):
                found += [int(child) for child in children.read_text().split()]
        index += 1
    return found


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


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
            figures: dict[str, list[tuple[float, int, int, float]]] = {name: [] for name in cases}
            for _ in range(args.repeats):
                for name, argv in cases.items():
                    figures[name].append(measured(argv, urls))
    finally:
        server.terminate()
        server.wait(timeout=5)
    print(
        f"probe many: {args.count} loopback endpoints, --parallel {args.parallel},"
        f" medians of {args.repeats}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    print(f"  ({os.popen('uptime').read().strip()})")
    base = figures["websockets asyncio loop"]
    base_wall = statistics.median(run[0] for run in base)
    base_rss, base_pss = max(run[1] for run in base), max(run[2] for run in base)
    for name, runs in figures.items():
        wall = statistics.median(run[0] for run in runs)
        rss, pss = max(run[1] for run in runs), max(run[2] for run in runs)
        cpu = statistics.median(run[3] for run in runs)
        print(
            f"  {name:24} {wall * 1000:7.1f} ms {args.count / wall:6.0f} probes/s"
            f" x{base_wall / wall:.2f}   CPU {cpu * 1000 / args.count:.2f} ms/probe"
            f"   peak RSS {rss / 1024:5.1f} MiB x{rss / base_rss:.2f}"
            f"   all processes' PSS {pss / 1024:5.1f} MiB x{pss / base_pss:.2f}"
        )


if __name__ == "__main__":
    main()
