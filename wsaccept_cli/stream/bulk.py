"""The bulk paths: a block of input lines turned into results.

Runs of well-formed lines are recognised by one regular expression over the block (or a few C
passes, for blocks of fixed-width lines) and hashed in a list comprehension; any other line takes
the per-line path, which explains what is wrong with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from hmac import compare_digest

from wsaccept_cli.core.keys import BASE64_ALPHABET, accept_lines, key_problems
from wsaccept_cli.core.lines import MAX_LINE, Block, OverlongLine
from wsaccept_cli.core.results import (
    KeyResult,
    KeyRun,
    LineError,
    PairResult,
    PairRun,
    compute_key,
    verify_pair,
)

KEY_RUN = re.compile(rb"(?:[A-Za-z0-9+/]{21}[AQgw]==\r?\n)+")
# Lines of base64 characters alone: keys whose problems depend on little more than their length,
# checked in bulk instead of line by line (not under --strict, which refuses them one by one).
TOKEN_RUN = re.compile(rb"(?:[A-Za-z0-9+/=]{1,256}\r?\n)+")
PAIR_RUN = re.compile(rb"(?:[A-Za-z0-9+/]{21}[AQgw]==[ \t]+[A-Za-z0-9+/]{27}=[ \t]*\r?\n)+")

# The same lines at their one fixed width (the regular expressions above cost more than hashing
# for a pair): for each column that does not hold a base64 character, the bytes it may hold.
KEY_LINE = (24, {21: b"AQgw", 22: b"=", 23: b"="})
PAIR_LINE = (53, {21: b"AQgw", 22: b"=", 23: b"=", 24: b" \t", 52: b"="})


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
    if uniform_lines(data, KEY_LINE):
        keys = _lines_of(data)
        yield KeyRun(line, keys, accept_lines(keys))
        return
    while pos < end:
        run = KEY_RUN.match(data, pos)
        if run is not None:
            keys = _lines_of(run.group())
            yield KeyRun(line, keys, accept_lines(keys))
            line, pos = line + len(keys), run.end()
            continue
        run = None if strict else TOKEN_RUN.match(data, pos)
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
    if uniform_lines(data, PAIR_LINE):
        yield from _pair_run(line, data)
        return
    while pos < end:
        run = PAIR_RUN.match(data, pos)
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
        return LineError(
            line,
            f"expected 'KEY ACCEPT', found {len(fields)} field{'' if len(fields) == 1 else 's'}",
        )
    return verify_pair(fields[0], fields[1], line)
