#!/usr/bin/env python3
"""Long fuzz runs over the key checks, the stdin line reader and the handshake parsers.

    python tests/fuzz.py                   # 20,000 inputs per target
    python tests/fuzz.py --examples 200000 # a longer run

Run by hand, not in CI (the test suite runs the same properties with a few hundred inputs).
Each target gets random and mutated inputs from hypothesis; a crash fails the run with the input
that caused it, and each target's peak memory (tracemalloc) must stay under MEMORY_BOUND.
It prints how many inputs each target took and its peak memory.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.test_capture_parsing import inspect_all, mutated_captures
from wsaccept_cli.core.keys import accept_for, key_problems, value_from_line
from wsaccept_cli.core.lines import Block, read_blocks
from wsaccept_cli.stream.bulk import compute_block, verify_block

MEMORY_BOUND = 32 * 1024 * 1024


def key_target(data: bytes) -> None:
    field = value_from_line(data)
    if field.value is not None:
        key_problems(field.value)
        accept_for(field.value)


def reader_target(data: bytes) -> None:
    position = 0

    def read(limit: int) -> bytes:
        nonlocal position
        chunk = data[position : position + min(limit, 97)]
        position += len(chunk)
        return chunk

    for block in read_blocks(read, max_line=512, read_size=97):
        list(compute_block(block, strict=True))
        if isinstance(block, Block):
            list(verify_block(block))


def capture_target(data: bytes) -> None:
    inspect_all(data, 113)


TARGETS: dict[str, tuple[Callable[[bytes], None], st.SearchStrategy[bytes]]] = {
    "key checks": (key_target, st.binary(max_size=64)),
    "stdin line reader": (reader_target, st.binary(max_size=4096)),
    "handshake parsers (random)": (capture_target, st.binary(max_size=4096)),
    "handshake parsers (mutated captures)": (capture_target, mutated_captures()),
}


def run_target(name: str, examples: int) -> None:
    target, strategy = TARGETS[name]
    tried = 0
    peak = 0

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def fuzz(data: bytes) -> None:
        nonlocal tried, peak
        tried += 1
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        target(data)
        peak = max(peak, tracemalloc.get_traced_memory()[1] - before)  # what this input took
        assert peak < MEMORY_BOUND, f"{name}: {peak} bytes for {data[:80]!r}"

    started = time.monotonic()
    fuzz()
    elapsed = time.monotonic() - started
    print(f"{name:40} {tried:>9,} inputs, no crash, peak {peak / 1024:8.1f} KiB, {elapsed:6.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20_000, help="inputs per target")
    options = parser.parse_args()
    tracemalloc.start()
    for name in TARGETS:
        run_target(name, options.examples)


if __name__ == "__main__":
    main()
