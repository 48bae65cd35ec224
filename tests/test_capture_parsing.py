"""The capture parsers never crash, whatever the bytes, and hold bounded memory."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsaccept_cli.core.capture import CaptureError, read_capture
from wsaccept_cli.core.handshake import Capture
from wsaccept_cli.core.rules_h2 import inspect_handshake

CASES_DIR = Path(__file__).resolve().parent / "cases" / "inspect"
CASES = sorted(p for p in CASES_DIR.iterdir() if p.suffix in (".http", ".curl", ".har", ".txt"))
SAMPLES = [case.read_bytes() for case in CASES]


def reader(data: bytes, size: int = 4096) -> Callable[[int], bytes]:
    position = 0

    def read(limit: int) -> bytes:
        nonlocal position
        chunk = data[position : position + min(size, limit)]
        position += len(chunk)
        return chunk

    return read


def inspect_all(data: bytes, size: int = 4096) -> int:
    """Parse and check every handshake in `data`; the number of handshakes."""
    capture = Capture()
    count = 0
    try:
        for number, handshake in enumerate(read_capture(reader(data, size), capture), start=1):
            report = inspect_handshake(number, handshake, capture)
            report.as_dict()
            report.describe()
            count += 1
    except CaptureError:
        pass
    return count


@st.composite
def mutated_captures(draw: st.DrawFn) -> bytes:
    """A real capture with bytes replaced, inserted and deleted at random places."""
    data = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        position = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        action = draw(st.sampled_from(["replace", "insert", "delete"]))
        piece = draw(st.binary(min_size=1, max_size=8))
        if action == "replace":
            data[position : position + len(piece)] = piece
        elif action == "insert":
            data[position:position] = piece
        else:
            del data[position : position + len(piece)]
    return bytes(data)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000), st.integers(min_value=1, max_value=300))
def test_random_bytes_never_crash(data: bytes, size: int) -> None:
    inspect_all(data, size)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_captures(), st.integers(min_value=1, max_value=300))
def test_mutated_real_captures_never_crash(data: bytes, size: int) -> None:
    inspect_all(data, size)


@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["log", "entries", "request", "response", "headers", "name", "value",
                         "_resourceType", "status", "httpVersion", "url", "method", "content",
                         "text"]), children, max_size=5),
    max_leaves=30,
))  # fmt: skip
def test_arbitrary_json_never_crashes(document: object) -> None:
    inspect_all(json.dumps({"log": {"entries": [document]}}).encode())
    inspect_all(json.dumps(document).encode())


def test_a_long_line_without_newline_is_never_held_whole() -> None:
    # 200 MB without a newline, handed out a piece at a time, then a real capture.
    pieces = [b"x" * 262_144] * 800 + [b"\n" + SAMPLES[0]]

    def read(limit: int) -> bytes:
        return pieces.pop(0) if pieces else b""

    tracemalloc.start()
    try:
        handshakes = list(read_capture(read, Capture()))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(handshakes) == 1
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes"


def test_an_oversized_har_is_refused_without_reading_it_all() -> None:
    data = b'{"log": {"entries": [' + b" " * (2 * 1024 * 1024)
    with pytest.raises(CaptureError, match="the HAR file is over 1 MiB"):
        list(read_capture(reader(data, 65536), Capture(), max_har=1024 * 1024))
