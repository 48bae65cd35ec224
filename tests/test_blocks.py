"""The stream reader and the bulk paths: bounded memory, line numbers, fast = slow."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.helpers import RFC_ACCEPT, RFC_KEY
from wsaccept_cli.core.keys import accept_for
from wsaccept_cli.core.lines import Block, OverlongLine, read_blocks
from wsaccept_cli.core.results import KeyResult, KeyRun, LineError, PairResult, PairRun, compute_key
from wsaccept_cli.stream.bulk import (
    KEY_LINE,
    KEY_RUN,
    PAIR_LINE,
    PAIR_RUN,
    compute_block,
    uniform_lines,
    verify_block,
)


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


CANONICAL_KEY = st.builds(
    lambda body, last: body + last + b"==",
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", min_size=21,
            max_size=21).map(str.encode),
    st.sampled_from([b"A", b"Q", b"g", b"w"]),
)  # fmt: skip
# Bytes changed anywhere in the lines (line ends too): to the ones with a meaning here, or any.
BYTE = st.sampled_from(list(b"= \t\r\nABQg/")) | st.integers(min_value=0, max_value=255)
COLUMN = st.sampled_from([0, 20, 21, 22, 23, 24, 25, 51, 52, 53, 54]) | st.integers(0, 56)
MUTATION = st.lists(
    st.tuples(st.integers(min_value=0), COLUMN, BYTE),
    min_size=1,
    max_size=2,
)


@pytest.mark.slow
# The mutations that only one of the checks catches, so that none of them can go unnoticed.
@example(
    keys=[RFC_KEY.encode()] * 2,
    crlf=False,
    separator=b" ",
    pairs=False,
    mutations=[(1, 21, ord("B"))],
)  # non-zero padding bits
@example(
    keys=[RFC_KEY.encode()] * 2,
    crlf=False,
    separator=b"\t",
    pairs=True,
    mutations=[(0, 21, ord("/"))],
)
@example(
    keys=[RFC_KEY.encode()] * 2,
    crlf=True,
    separator=b" ",
    pairs=False,
    mutations=[(0, 24, ord("\n")), (0, 25, ord("\r"))],
)  # LF CR
@example(
    keys=[RFC_KEY.encode()] * 2,
    crlf=False,
    separator=b" ",
    pairs=True,
    mutations=[(0, 52, ord("A")), (0, 50, ord("="))],
)  # the accept's '=' moved
@settings(max_examples=500)
@given(
    keys=st.lists(CANONICAL_KEY, min_size=1, max_size=20),
    crlf=st.booleans(),
    separator=st.sampled_from([b" ", b"\t"]),
    pairs=st.booleans(),
    mutations=st.none() | MUTATION,
)
def test_the_fixed_width_check_accepts_exactly_what_the_line_patterns_accept(
    keys: list[bytes],
    crlf: bool,
    separator: bytes,
    pairs: bool,
    mutations: list[tuple[int, int, int]] | None,
) -> None:
    ending = b"\r\n" if crlf else b"\n"
    lines = [key + separator + accept_for(key) if pairs else key for key in keys]
    width = len(lines[0] + ending)
    data = bytearray(ending.join(lines) + ending)
    for line_index, column, byte in mutations or []:
        data[(line_index % len(lines)) * width + column % width] = byte
    text = bytes(data)
    pattern, line = (PAIR_RUN, PAIR_LINE) if pairs else (KEY_RUN, KEY_LINE)
    one_width = len({len(line) for line in text.splitlines(keepends=True)}) == 1
    same_ending = text.count(b"\r") in (0, text.count(b"\n"))
    expected = pattern.fullmatch(text) is not None and one_width and same_ending
    if pairs:  # the fixed width allows one separator and no trailing blank, unlike the pattern
        expected = expected and text.count(b" ") + text.count(b"\t") == len(keys)
    assert uniform_lines(text, line) == expected
