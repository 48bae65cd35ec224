"""One result per key or per key/accept pair, as the commands report them."""

from __future__ import annotations

from typing import NamedTuple

from wsaccept_cli.keys import Problem, accept_for, accepts_equal, key_problems, value_from_line

ACCEPT_FIELD = "Sec-WebSocket-Accept"


class KeyResult(NamedTuple):
    """A computed accept; `accept` is None when --strict refused an invalid key."""

    line: int | None
    key: bytes
    accept: bytes | None
    problems: tuple[Problem, ...]
    notes: tuple[Problem, ...]


class KeyRun(NamedTuple):
    """Canonical keys from consecutive lines: the fast path's unit of work."""

    first_line: int
    keys: list[bytes]
    accept_lines: list[bytes]


class PairResult(NamedTuple):
    """A received accept checked against the one computed from its key."""

    line: int | None
    key: bytes
    received: bytes
    expected: bytes
    match: bool
    problems: tuple[Problem, ...]
    notes: tuple[Problem, ...]


class PairRun(NamedTuple):
    """Matching canonical pairs from consecutive lines."""

    first_line: int
    keys: list[bytes]
    accepts: list[bytes]


class LineError(NamedTuple):
    """An input line (or argument) that holds nothing to compute or check."""

    line: int | None
    message: str


Item = KeyResult | KeyRun | PairResult | PairRun | LineError


def compute_key(text: bytes, line: int | None, *, strict: bool) -> KeyResult | LineError:
    """The accept for a key given as a bare value or a header line."""
    key, notes, error = value_from_line(text)
    if key is None:
        return LineError(line, error or "no key")
    problems = key_problems(key)
    accept = None if strict and problems else accept_for(key)
    return KeyResult(line, key, accept, problems, notes)


def verify_pair(key_text: bytes, accept_text: bytes, line: int | None) -> PairResult | LineError:
    """Check a received accept against its key, each as a bare value or a header line."""
    key, key_notes, key_error = value_from_line(key_text)
    received, accept_notes, accept_error = value_from_line(accept_text, ACCEPT_FIELD)
    if key is None or received is None:
        return LineError(line, key_error or accept_error or "no key")
    expected = accept_for(key)
    return PairResult(
        line,
        key,
        received,
        expected,
        accepts_equal(expected, received),
        key_problems(key),
        key_notes + accept_notes,
    )
