"""The stream reader and the bulk paths: bounded memory, line numbers, fast = slow."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import RFC_ACCEPT, RFC_KEY
from wsaccept_cli.blocks import (
    Block,
    OverlongLine,
    compute_block,
    read_blocks,
    verify_block,
)
from wsaccept_cli.keys import accept_for
from wsaccept_cli.results import KeyResult, KeyRun, LineError, PairResult, PairRun, compute_key


def reader(data: bytes, sizes: list[int]) -> Callable[[int], bytes]:
    """A read1 that hands out `data` in pieces of the given sizes (then 7 bytes at a time)."""
    pieces: Iterator[int] = iter(sizes)
    position = 0

    def read(limit: int) -> bytes:
        nonlocal position
        size = min(limit, next(pieces, 7))
        chunk = data[position : position + size]
        position += len(chunk)
        return chunk

    return read


def lines_of(items: list[Block | OverlongLine]) -> list[tuple[int, bytes | int]]:
    """(line number, text) for each line, or (line number, length) for an overlong one."""
    found: list[tuple[int, bytes | int]] = []
    for item in items:
        if isinstance(item, OverlongLine):
            found.append((item.line, item.length))
            continue
        assert item.data.endswith(b"\n")
        for offset, text in enumerate(item.data[:-1].split(b"\n")):
            found.append((item.first_line + offset, text))
    return found


@given(
    st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), max_size=30),
    st.lists(st.integers(min_value=1, max_value=40), max_size=60),
    st.booleans(),
)
def test_reader_gives_every_line_once_numbered_whatever_the_chunking(
    lines: list[bytes], sizes: list[int], final_newline: bool
) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    expected = list(enumerate(lines, start=1)) if data else []
    if data and not final_newline and lines[-1] == b"":
        expected.pop()  # "a\n" + "" without a final newline is just "a\n"
    found = lines_of(list(read_blocks(reader(data, sizes), max_line=1000, read_size=64)))
    assert found == expected


def test_reader_drops_an_overlong_line_in_bounded_memory() -> None:
    # 10 MB with no newline, then a key: the long line is counted, never held.
    long_line = b"A" * 10_000_000
    data = b"first\n" + long_line + b"\r\nlast"
    held = []
    for item in read_blocks(reader(data, []), max_line=64, read_size=4096):
        held.append(item if isinstance(item, OverlongLine) else len(item.data))
    assert held == [6, OverlongLine(2, 10_000_001), 5]


def test_reader_overlong_line_ending_in_a_later_chunk_with_more_lines_after() -> None:
    data = b"x" * 100 + b"\nok\nfine\n"
    items = list(read_blocks(reader(data, [50, 30, 40, 100]), max_line=60, read_size=1000))
    assert lines_of(items) == [(1, 100), (2, b"ok"), (3, b"fine")]


def test_reader_overlong_last_line_without_newline() -> None:
    items = list(read_blocks(reader(b"a\n" + b"y" * 90, [10] * 20), max_line=20, read_size=10))
    assert lines_of(items) == [(1, b"a"), (2, 90)]


def test_compute_block_fast_runs_equal_the_per_line_path() -> None:
    lines = [
        RFC_KEY,
        "AAAA",
        RFC_KEY + "\r",
        "",
        f"Sec-WebSocket-Key: {RFC_KEY}",
        RFC_KEY,
        "Host: x",
    ]
    data = "\n".join(lines).encode() + b"\n"
    accepts: list[tuple[int, bytes | None]] = []
    for item in compute_block(Block(10, data), strict=False):
        if isinstance(item, KeyRun):
            accepts += [(item.first_line + i, a[:-1]) for i, a in enumerate(item.accept_lines)]
        elif isinstance(item, KeyResult):
            accepts.append((item.line or 0, item.accept))
        else:
            accepts.append((item.line or 0, None))
    expected = []
    for number, text in enumerate(lines, start=10):
        if text.strip():
            result = compute_key(text.encode(), number, strict=False)
            expected.append((number, result.accept if isinstance(result, KeyResult) else None))
    assert accepts == expected
    assert accepts[0] == (10, RFC_ACCEPT.encode())


def test_compute_block_overlong_line_in_a_block() -> None:
    data = b"A" * 70_000 + b"\n"
    (item,) = compute_block(Block(3, data), strict=False)
    assert isinstance(item, LineError)
    assert item.message == "line is 70000 bytes, longer than the 65536-byte limit; skipped"


def test_verify_block_overlong_and_overlong_item() -> None:
    (item,) = verify_block(Block(1, b"A" * 70_000 + b" x\n"))
    assert isinstance(item, LineError)
    (item,) = verify_block(OverlongLine(4, 99_999))
    assert isinstance(item, LineError)
    assert item.line == 4


def test_verify_block_splits_runs_around_mismatches() -> None:
    good = f"{RFC_KEY} {RFC_ACCEPT}\n"
    bad = f"{RFC_KEY} {RFC_ACCEPT[:-2]}A=\n"
    items = list(verify_block(Block(1, (bad + good + good + bad + good).encode())))
    kinds = [(type(i).__name__, i.first_line if isinstance(i, PairRun) else i.line) for i in items]
    assert kinds == [
        ("PairResult", 1),
        ("PairRun", 2),
        ("PairResult", 4),
        ("PairRun", 5),
    ]
    assert all(not i.match for i in items if isinstance(i, PairResult))
    assert accept_for(RFC_KEY.encode()) == RFC_ACCEPT.encode()
