"""Input as blocks of whole lines, read in bounded memory.

Input arrives as blocks of whole lines, handed on as soon as they are read, so output for the
first lines appears before the input ends; a line longer than the limit is dropped and reported
by its number and length. Pure: the bytes come through a read function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

MAX_LINE = 64 * 1024
READ_SIZE = 256 * 1024


class Block(NamedTuple):
    """Whole lines, each ending in a newline, the first of them numbered `first_line`."""

    first_line: int
    data: bytes


class OverlongLine(NamedTuple):
    """A line longer than the reader keeps; its bytes were read and dropped."""

    line: int
    length: int


def read_blocks(
    read: Callable[[int], bytes], max_line: int = MAX_LINE, read_size: int = READ_SIZE
) -> Iterator[Block | OverlongLine]:
    """Blocks of whole lines from `read` (a `read1`), holding at most one partial line."""
    line = 1
    pending = b""
    overlong = 0  # bytes of a too-long line seen so far; its end is still to come
    while chunk := read(read_size):
        if overlong:
            newline = chunk.find(b"\n")
            if newline < 0:
                overlong += len(chunk)
                continue
            yield OverlongLine(line, overlong + newline)
            line, overlong, chunk = line + 1, 0, chunk[newline + 1 :]
        data = pending + chunk if pending else chunk
        cut = data.rfind(b"\n") + 1
        if cut:
            yield Block(line, data[:cut])
            line += data.count(b"\n", 0, cut)
        pending = data[cut:]
        if len(pending) > max_line:
            overlong, pending = len(pending), b""
    if overlong:
        yield OverlongLine(line, overlong)
    elif pending:
        yield Block(line, pending + b"\n")
