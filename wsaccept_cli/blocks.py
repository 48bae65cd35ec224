"""Line-oriented input in bounded memory, and the bulk paths that turn it into results.

Input arrives as blocks of whole lines, handed on as soon as they are read, so output for the
first lines appears before the input ends. Runs of well-formed lines are recognised by one regular
expression over the block and hashed in a list comprehension; any other line takes the per-line
path, which explains what is wrong with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from hmac import compare_digest
from typing import NamedTuple

from wsaccept_cli.keys import BASE64_ALPHABET, accept_lines, key_problems
from wsaccept_cli.results import (
    KeyResult,
    KeyRun,
    LineError,
    PairResult,
    PairRun,
    compute_key,
    verify_pair,
)

MAX_LINE = 64 * 1024
READ_SIZE = 256 * 1024

_KEY_RUN = re.compile(rb"(?:[A-Za-z0-9+/]{21}[AQgw]==\r?\n)+")
# Lines of base64 characters alone: keys whose problems depend on little more than their length,
# checked in bulk instead of line by line (not under --strict, which refuses them one by one).
_TOKEN_RUN = re.compile(rb"(?:[A-Za-z0-9+/=]{1,256}\r?\n)+")
_PAIR_RUN = re.compile(rb"(?:[A-Za-z0-9+/]{21}[AQgw]==[ \t]+[A-Za-z0-9+/]{27}=[ \t]*\r?\n)+")

# The same lines at their one fixed width (the regular expressions above cost more than hashing
# for a pair): for each column that does not hold a base64 character, the bytes it may hold.
_KEY_LINE = (24, {21: b"AQgw", 22: b"=", 23: b"="})
_PAIR_LINE = (53, {21: b"AQgw", 22: b"=", 23: b"=", 24: b" \t", 52: b"="})


class Block(NamedTuple):
    """Whole lines, each ending in a newline, the first of them numbered `first_line`."""

    first_line: int
    data: bytes


class OverlongLine(NamedTuple):
    """A line longer than the reader keeps; its bytes were read and dropped."""

    line: int
    length: int


def uniform_lines(data: bytes, line: tuple[int, dict[int, bytes]]) -> bool:
    """Whether every line of `data` fits `line` exactly, with LF or (all) CR LF endings; checked
    with a few passes of C over the whole block instead of a regular expression per line."""
    body, columns = line
    width = data.find(b"\n") + 1
    ending = b"\r\n"[body + 2 - width :] if body < width <= body + 2 else b""
    if not ending or len(data) % width:
        return False
    lines = len(data) // width
    columns = {**columns, **{body + i: bytes([byte]) for i, byte in enumerate(ending)}}
    if any(data[column::width].translate(None, allowed) for column, allowed in columns.items()):
        return False
    others = bytes(set(b"".join(columns.values())).difference(BASE64_ALPHABET))
    rest = data.translate(None, others)
    if rest.translate(None, BASE64_ALPHABET):
        return False
    # Each column of non-base64 bytes has one per line; any more of them are where base64 belongs.
    marked = sum(not allowed.translate(None, others) for allowed in columns.values())
    return len(data) - len(rest) == marked * lines


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


def overlong_error(line: int, length: int) -> LineError:
    return LineError(
        line, f"line is {length} bytes, longer than the {MAX_LINE}-byte limit; skipped"
    )


def compute_block(
    block: Block | OverlongLine, *, strict: bool
) -> Iterator[KeyRun | KeyResult | LineError]:
    """Accepts for every key line of `block`, in order; blank lines are skipped."""
    if isinstance(block, OverlongLine):
        yield overlong_error(*block)
        return
    data, line, pos, end = block.data, block.first_line, 0, len(block.data)
    if uniform_lines(data, _KEY_LINE):
        keys = _lines_of(data)
        yield KeyRun(line, keys, accept_lines(keys))
        return
    while pos < end:
        run = _KEY_RUN.match(data, pos)
        if run is not None:
            keys = _lines_of(run.group())
            yield KeyRun(line, keys, accept_lines(keys))
            line, pos = line + len(keys), run.end()
            continue
        run = None if strict else _TOKEN_RUN.match(data, pos)
        if run is not None:
            keys = _lines_of(run.group())
            yield KeyRun(line, keys, accept_lines(keys), list(map(key_problems, keys)))
            line, pos = line + len(keys), run.end()
            continue
        newline = data.index(b"\n", pos)
        text = data[pos:newline]
        pos = newline + 1
        item = _compute_line(text, line, strict)
        line += 1
        if item is not None:
            yield item


def _lines_of(text: bytes) -> list[bytes]:
    """The lines of a run of well-formed lines, without their CR LF or LF."""
    lines = text.replace(b"\r", b"").split(b"\n")
    lines.pop()
    return lines


def _compute_line(text: bytes, line: int, strict: bool) -> KeyResult | LineError | None:
    if text.endswith(b"\r"):
        text = text[:-1]
    if len(text) > MAX_LINE:
        return overlong_error(line, len(text))
    if not text.strip():
        return None
    return compute_key(text, line, strict=strict)


def verify_block(block: Block | OverlongLine) -> Iterator[PairRun | PairResult | LineError]:
    """Every `KEY ACCEPT` line of `block` checked, in order; blank lines are skipped."""
    if isinstance(block, OverlongLine):
        yield overlong_error(*block)
        return
    data, line, pos, end = block.data, block.first_line, 0, len(block.data)
    if uniform_lines(data, _PAIR_LINE):
        yield from _pair_run(line, data)
        return
    while pos < end:
        run = _PAIR_RUN.match(data, pos)
        if run is not None:
            text = run.group()
            yield from _pair_run(line, text)
            line, pos = line + text.count(b"\n"), run.end()
            continue
        newline = data.index(b"\n", pos)
        text = data[pos:newline]
        pos = newline + 1
        item = _verify_line(text, line)
        line += 1
        if item is not None:
            yield item


def _pair_run(first_line: int, text: bytes) -> Iterator[PairRun | PairResult | LineError]:
    """Well-formed 'KEY ACCEPT' lines checked: the matching stretches as runs, each mismatch as
    its own result."""
    fields = text.split()
    keys, accepts = fields[0::2], fields[1::2]
    expected = accept_lines(keys, newline=False)
    if compare_digest(b"".join(expected), b"".join(accepts)):  # all match: one comparison
        yield PairRun(first_line, keys, accepts)
        return
    matches = list(map(compare_digest, expected, accepts))
    start = 0
    for index, match in enumerate(matches):
        if match:
            continue
        if index > start:
            yield PairRun(first_line + start, keys[start:index], accepts[start:index])
        yield verify_pair(keys[index], accepts[index], first_line + index)
        start = index + 1
    if start < len(keys):
        yield PairRun(first_line + start, keys[start:], accepts[start:])


def _verify_line(text: bytes, line: int) -> PairResult | LineError | None:
    if len(text) > MAX_LINE:
        return overlong_error(line, len(text))
    fields = text.split()
    if not fields:
        return None
    if len(fields) != 2:
        return LineError(line, f"expected 'KEY ACCEPT', found {len(fields)} field(s)")
    return verify_pair(fields[0], fields[1], line)
