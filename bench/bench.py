#!/usr/bin/env python3
"""Benchmarks for wsaccept: start-up, bulk throughput and peak memory, as whole processes.

Every figure is a median over repeated runs, and every verdict is a ratio against a baseline
measured in the same run, interleaved with it, because these machines are noisy.

    python bench/bench.py            # the full run: 1 million keys, 10 million for memory
    python bench/bench.py --quick    # a smoke run: 100,000 keys, fewer repeats
    python bench/bench.py --parallel # default jobs against -j 1, quiet and with a CPU-bound
                                     # process beside (issue 23), stdin a file and a pipe

Run it from an environment where wsaccept and websockets are installed
(`pip install -e '.[test]'`). It compiles wsaccept's modules to bytecode first, as
`pip install` does, so start-up is measured as users get it.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

PYTHON = sys.executable
WSACCEPT = shutil.which("wsaccept", path=str(Path(PYTHON).parent)) or "wsaccept"
RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

BARE_COMPUTE = f"""
import sys, hashlib, base64
G = b"{GUID}"
out, write = [], sys.stdout.buffer.write
for line in sys.stdin.buffer:
    out.append(base64.b64encode(hashlib.sha1(line.strip() + G).digest()) + b"\\n")
    if len(out) >= 8192:
        write(b"".join(out)); out.clear()
write(b"".join(out))
"""

WEBSOCKETS_COMPUTE = """
import sys
from websockets.utils import accept_key
out, write = [], sys.stdout.write
for line in sys.stdin:
    out.append(accept_key(line.strip()) + "\\n")
    if len(out) >= 8192:
        write("".join(out)); out.clear()
write("".join(out))
"""

BARE_VERIFY = f"""
import sys, hashlib, base64, hmac
G = b"{GUID}"
out, write = [], sys.stdout.buffer.write
for line in sys.stdin.buffer:
    key, accept = line.split()
    ok = hmac.compare_digest(base64.b64encode(hashlib.sha1(key + G).digest()), accept)
    out.append(b"ok\\n" if ok else b"mismatch\\n")
    if len(out) >= 8192:
        write(b"".join(out)); out.clear()
write(b"".join(out))
"""

WEBSOCKETS_VERIFY = """
import sys
from websockets.utils import accept_key
out, write = [], sys.stdout.write
for line in sys.stdin:
    key, accept = line.split()
    out.append("ok\\n" if accept_key(key) == accept else "mismatch\\n")
    if len(out) >= 8192:
        write("".join(out)); out.clear()
write("".join(out))
"""

BARE_GENKEY = """
import sys, os, base64
n = int(sys.argv[1])
out, write = [], sys.stdout.buffer.write
for _ in range(n):
    out.append(base64.b64encode(os.urandom(16)) + b"\\n")
    if len(out) >= 8192:
        write(b"".join(out)); out.clear()
write(b"".join(out))
"""


PIPE = "|"  # an argv that starts with it reads its stdin file through a pipe (from `cat`)
# The "loaded" figures: one CPU-bound process beside the one measured, as a CI runner's other
# job, a browser or a build would be.
HOG = "while True: pass"


def run_once(argv: Sequence[str], stdin: Path | None, *, loaded: bool = False) -> float:
    """Wall time in seconds of one process, stdout and stderr to /dev/null; its stdin the file,
    or a pipe from `cat` for an argv that starts with PIPE; with a CPU-bound process beside
    it when `loaded`."""
    piped = bool(argv) and argv[0] == PIPE
    argv = list(argv[1:] if piped else argv)
    feeder = None
    if piped:
        assert stdin is not None
        feeder = subprocess.Popen(["cat", str(stdin)], stdout=subprocess.PIPE)
        assert feeder.stdout is not None
        source = os.dup(feeder.stdout.fileno())
        feeder.stdout.close()
    else:
        source = os.open(stdin or os.devnull, os.O_RDONLY)
    sink = os.open(os.devnull, os.O_WRONLY)
    actions = [
        (os.POSIX_SPAWN_DUP2, source, 0),
        (os.POSIX_SPAWN_DUP2, sink, 1),
        (os.POSIX_SPAWN_DUP2, sink, 2),
    ]
    hog = subprocess.Popen([PYTHON, "-c", HOG]) if loaded else None
    try:
        started = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
        os.close(source)
        source = -1
        _, status = os.waitpid(pid, 0)
        elapsed = time.perf_counter() - started
    finally:
        if source >= 0:
            os.close(source)
        os.close(sink)
        if hog is not None:
            hog.kill()
            hog.wait()
        if feeder is not None:
            feeder.wait()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited {code}")
    return elapsed


# A child's peak RSS counts the memory of the process it was forked from, so a small launcher
# forks the measured process and reports its peak, instead of this larger process doing it.
PEAK_RSS_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def peak_rss(argv: Sequence[str], stdin: Path) -> int:
    """Peak RSS in KiB of one run of `argv` reading `stdin`."""
    with stdin.open("rb") as source:
        launched = subprocess.run(
            [PYTHON, "-S", "-c", PEAK_RSS_LAUNCHER, *argv],
            stdin=source,
            capture_output=True,
            check=True,
        )
    peak, code = launched.stdout.split()
    if int(code) not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited {code.decode()}")
    return int(peak)


def medians(
    cases: dict[str, tuple[Sequence[str], Path | None]], repeats: int, *, loaded: bool = False
) -> dict[str, float]:
    """Median wall time per case, the cases interleaved round by round."""
    return {name: statistics.median(values) for name, values in rounds(cases, repeats, loaded)}


def rounds(
    cases: dict[str, tuple[Sequence[str], Path | None]], repeats: int, loaded: bool = False
) -> list[tuple[str, list[float]]]:
    """Each case's wall times, one per round, the cases interleaved round by round."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for argv, stdin in cases.values():  # warm the page cache once
        run_once(argv, stdin)
    for _ in range(repeats):
        for name, (argv, stdin) in cases.items():
            times[name].append(run_once(argv, stdin, loaded=loaded))
    return list(times.items())


def parallel_figures(name: str, path: Path, keys: int, repeats: int) -> dict[str, float]:
    """`wsaccept NAME` with its default jobs against -j 1 and the bare loop, stdin a file and a
    pipe, on a quiet machine and with one CPU-bound process beside it: the medians, and the
    median of each round's ratio to -j 1 in the same round (the loaded figure's target is that
    the default is never slower than -j 1)."""
    bare = BARE_COMPUTE if name == "compute" else BARE_VERIFY
    cases: dict[str, tuple[Sequence[str], Path | None]] = {
        BARE: ([PYTHON, "-c", bare], path),
        f"wsaccept {name} -j 1": ([WSACCEPT, name, "-j", "1"], path),
        f"wsaccept {name}": ([WSACCEPT, name], path),
        f"wsaccept {name} -j 1, piped": ([PIPE, WSACCEPT, name, "-j", "1"], path),
        f"wsaccept {name}, piped": ([PIPE, WSACCEPT, name], path),
    }
    found = {}
    for loaded in (False, True):
        times = dict(rounds(cases, repeats, loaded))
        where = "with one CPU-bound process beside it" if loaded else "quiet"
        print(f"\nBulk {name}, {keys:,} lines, default jobs against -j 1, {where}")
        print(f"  ({os.popen('uptime').read().strip()})")
        for case, values in times.items():
            median = statistics.median(values)
            speed = statistics.median(times[BARE]) / median
            line = f"  {case:36} {median * 1000:8.1f} ms  throughput x{speed:.2f} bare"
            if case.startswith("wsaccept") and "-j 1" not in case:
                one = case.replace(f"wsaccept {name}", f"wsaccept {name} -j 1")
                ratio = statistics.median(a / b for a, b in zip(values, times[one]))
                line += f", time x{ratio:.2f} -j 1 (median of the rounds' ratios)"
                found[f"{case}{', loaded' if loaded else ''}"] = ratio
            print(line)
        for piped in ("", ", piped"):
            found[f"{name}{piped} bare ratio{', loaded' if loaded else ''}"] = statistics.median(
                times[BARE]
            ) / statistics.median(times[f"wsaccept {name}{piped}"])
    return found


def write_lines(path: Path, count: int, line: Callable[[bytes], bytes]) -> Path:
    with path.open("wb") as out:
        for start in range(0, count, 65536):
            nonces = os.urandom(16 * min(65536, count - start))
            out.write(b"".join(line(nonces[i : i + 16]) for i in range(0, len(nonces), 16)))
    return path


def key_line(nonce: bytes) -> bytes:
    return base64.b64encode(nonce) + b"\n"


def pair_line(nonce: bytes) -> bytes:
    import hashlib

    key = base64.b64encode(nonce)
    accept = base64.b64encode(hashlib.sha1(key + GUID.encode()).digest())
    return key + b" " + accept + b"\n"


def invalid_line(nonce: bytes) -> bytes:
    return base64.b64encode(nonce + b"xyzw") + b"\n"  # decodes to 20 bytes


def report(title: str, results: dict[str, float], baselines: Sequence[str], count: int) -> None:
    """One line per case: its median, and its ratio to each baseline measured alongside."""
    print(f"\n{title}")
    for name, elapsed in results.items():
        if count:
            rate = f"{count / elapsed / 1e6:5.2f} M/s"
            ratios = [f"x{results[base] / elapsed:.2f} {SHORT[base]}" for base in baselines]
            ratio = "throughput " + ", ".join(ratios)
        else:
            rate = ""
            ratio = "time " + ", ".join(
                f"x{elapsed / results[b]:.3f} {SHORT[b]}" for b in baselines
            )
        print(f"  {name:40} {elapsed * 1000:8.1f} ms {rate:>9}  {ratio}")


BARE, WEBSOCKETS, IMPORT_CLICK = (
    "bare hashlib loop",
    "websockets.utils.accept_key loop",
    ('python -c "import click"'),
)
SHORT = {
    BARE: "bare",
    WEBSOCKETS: "websockets",
    IMPORT_CLICK: "import click",
    "bare os.urandom loop": "bare",
}


ONE_PROCESS = {"": "", " -j 1": " (one process)"}
RICH_KEYS = 100_000  # issue 14's measure: rich output of this many keys against plain


def targets(
    startup: dict[str, float],
    compute: dict[str, float],
    verify: dict[str, float],
    genkey: dict[str, float],
    peaks: dict[int, int],
    rich: dict[str, float],
) -> None:
    """Each target (issues 6 and 11) against this run's figures: throughput as a ratio to the
    bare loop, with the usable CPUs (2 here) and with -j 1."""
    start = startup[f"wsaccept compute {RFC_KEY}"] / startup[IMPORT_CLICK]
    rows = [
        ("start-up <= 1.15 x import click", start, start <= 1.15),
        *(
            (f"{name}{jobs} >= {floor} x {SHORT[base]} loop", ratio, ratio >= floor)
            for name, figures in (("compute", compute), ("verify", verify))
            for jobs, base, floor in (("", BARE, 2.0), (" -j 1", BARE, 1.2), ("", WEBSOCKETS, 2.0))
            for ratio in [figures[base] / figures[f"wsaccept {name}{jobs}{ONE_PROCESS[jobs]}"]]
        ),
    ]
    gen = genkey["bare os.urandom loop"] / next(v for k, v in genkey.items() if k.endswith("0"))
    rows.append(("genkey >= 0.9 x bare loop", gen, gen >= 0.9))
    (few, small), (many, large) = sorted(peaks.items())
    growth = (large - small) / 1024
    rows.append((f"peak RSS, {many:,} keys <= {few:,} + 5 MiB", growth, growth <= 5))
    for name in ("compute", "verify"):  # issue 14: rich output streams at a terminal's pace
        ratio = rich[f"wsaccept {name} --format rich"] / rich[f"wsaccept {name}"]
        rows.append((f"{name} --format rich <= 3 x plain, {RICH_KEYS:,}", ratio, ratio <= 3))
    print("\nTargets of issues 6, 11 and 14")
    for label, value, met in rows:
        print(f"  {label:44} {value:7.2f}  {'met' if met else 'NOT MET'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, few repeats")
    parser.add_argument(
        "--parallel",
        action="store_true",
        help="only the default jobs against -j 1, quiet and loaded (issue 23)",
    )
    parser.add_argument("--repeats", type=int, help="rounds (default: 5, or 3 with --quick)")
    options = parser.parse_args()
    if options.parallel:
        parallel_only(100_000 if options.quick else 1_000_000, options.repeats or 7)
        return
    keys = 100_000 if options.quick else 1_000_000
    big = 1_000_000 if options.quick else 10_000_000
    repeats = options.repeats or (3 if options.quick else 5)
    startup_repeats = 15 if options.quick else 40

    package = Path(__import__("wsaccept_cli").__file__).parent
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(package)], check=True)
    print(f"wsaccept benchmark: {platform.platform()}, Python {platform.python_version()},")
    print(f"{os.cpu_count()} cores, {keys:,} keys, medians of {repeats} runs", end="")
    print(f" ({startup_repeats} for start-up)")

    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        keys_file = write_lines(tmp / "keys.txt", keys, key_line)
        pairs_file = write_lines(tmp / "pairs.txt", keys, pair_line)
        invalid_file = write_lines(tmp / "invalid.txt", keys, invalid_line)

        startup = medians(
            {
                "python -c pass": ([PYTHON, "-c", "pass"], None),
                'python -c "import click"': ([PYTHON, "-c", "import click"], None),
                f"wsaccept compute {RFC_KEY}": ([WSACCEPT, "compute", RFC_KEY], None),
            },
            startup_repeats,
        )
        report("Start-up (plain output, stdout not a terminal)", startup, [IMPORT_CLICK], 0)

        compute = medians(
            {
                BARE: ([PYTHON, "-c", BARE_COMPUTE], keys_file),
                WEBSOCKETS: ([PYTHON, "-c", WEBSOCKETS_COMPUTE], keys_file),
                "wsaccept compute": ([WSACCEPT, "compute"], keys_file),
                "wsaccept compute -j 1 (one process)": (
                    [WSACCEPT, "compute", "-j", "1"],
                    keys_file,
                ),
                "wsaccept compute --format json": (
                    [WSACCEPT, "compute", "--format", "json"],
                    keys_file,
                ),
                "wsaccept compute (invalid keys)": ([WSACCEPT, "compute"], invalid_file),
            },
            repeats,
        )
        report(f"Bulk compute, {keys:,} keys on stdin", compute, [BARE, WEBSOCKETS], keys)

        verify = medians(
            {
                BARE: ([PYTHON, "-c", BARE_VERIFY], pairs_file),
                WEBSOCKETS: ([PYTHON, "-c", WEBSOCKETS_VERIFY], pairs_file),
                "wsaccept verify": ([WSACCEPT, "verify"], pairs_file),
                "wsaccept verify -j 1 (one process)": ([WSACCEPT, "verify", "-j", "1"], pairs_file),
                "wsaccept verify --format json": (
                    [WSACCEPT, "verify", "--format", "json"],
                    pairs_file,
                ),
            },
            repeats,
        )
        report(f"Bulk verify, {keys:,} pairs on stdin", verify, [BARE, WEBSOCKETS], keys)

        genkey = medians(
            {
                "bare os.urandom loop": ([PYTHON, "-c", BARE_GENKEY, str(keys)], None),
                f"wsaccept genkey -n {keys}": ([WSACCEPT, "genkey", "-n", str(keys)], None),
                f"wsaccept genkey -n {keys} --with-accept": (
                    [WSACCEPT, "genkey", "-n", str(keys), "--with-accept"],
                    None,
                ),
            },
            repeats,
        )
        report(f"genkey, {keys:,} keys", genkey, ["bare os.urandom loop"], keys)

        big_file = write_lines(tmp / "big.txt", big, key_line)
        print(f"\nPeak memory (max RSS) of wsaccept compute, max over {repeats} runs")
        peaks = {}
        for count, path in ((keys, keys_file), (big, big_file)):
            peaks[count] = max(peak_rss([WSACCEPT, "compute"], path) for _ in range(repeats))
            print(f"  {count:>12,} keys  {peaks[count] / 1024:7.2f} MiB")
        print(f"  difference: {(peaks[big] - peaks[keys]) / 1024:+.2f} MiB")
        rich_keys = write_lines(tmp / "rich-keys.txt", RICH_KEYS, key_line)
        rich_pairs = write_lines(tmp / "rich-pairs.txt", RICH_KEYS, pair_line)
        rich = medians(
            {
                f"wsaccept {name}{fmt}": ([WSACCEPT, name, *fmt.split()], path)
                for name, path in (("compute", rich_keys), ("verify", rich_pairs))
                for fmt in ("", " --format rich")
            },
            repeats,
        )
        print(f"\nRich output, {RICH_KEYS:,} keys (pairs), stdout not a terminal")
        for name, elapsed in rich.items():
            plain = rich[name.replace(" --format rich", "")]
            print(f"  {name:40} {elapsed * 1000:8.1f} ms  time x{elapsed / plain:.2f} plain")
        targets(startup, compute, verify, genkey, peaks, rich)


def parallel_only(keys: int, repeats: int) -> None:
    """`--parallel`: the figures of issue 23, and its targets."""
    print(
        f"wsaccept parallel benchmark: {platform.platform()}, Python {platform.python_version()},"
    )
    print(f"{os.cpu_count()} cores, {keys:,} lines, medians of {repeats} interleaved rounds")
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        figures = parallel_figures("compute", write_lines(tmp / "k", keys, key_line), keys, repeats)
        figures |= parallel_figures(
            "verify", write_lines(tmp / "p", keys, pair_line), keys, repeats
        )
    print("\nTargets of issue 23")
    for name in ("compute", "verify"):
        for piped in ("", ", piped"):
            ratio = figures[f"{name}{piped} bare ratio"]
            label = f"{name}{piped} >= 2.0 x bare loop (quiet)"
            print(f"  {label:44} {ratio:5.2f}  {'met' if ratio >= 2 else 'NOT MET'}")
        for piped in ("", ", piped"):
            ratio = figures[f"wsaccept {name}{piped}, loaded"]
            label = f"{name}{piped} loaded: time <= 1.0 x -j 1"
            print(f"  {label:44} {ratio:5.2f}  {'met' if ratio <= 1 else 'NOT MET'}")


if __name__ == "__main__":
    main()
