"""One result per key or per key/accept pair, as the commands report them.

Plain classes with __slots__ rather than NamedTuples: creating a NamedTuple class costs a
noticeable share of start-up, and nothing here needs tuple behaviour.
"""

from __future__ import annotations

from collections.abc import Iterator

from wsaccept_cli.core.keys import Problem, accept_for, accepts_equal, key_problems, value_from_line

ACCEPT_FIELD = "Sec-WebSocket-Accept"


class KeyResult:
    """A computed accept; `accept` is None when --strict refused an invalid key."""

    __slots__ = ("accept", "key", "line", "notes", "problems")

    def __init__(
        self,
        line: int | None,
        key: bytes,
        accept: bytes | None,
        problems: tuple[Problem, ...],
        notes: tuple[Problem, ...],
    ) -> None:
        self.line = line
        self.key = key
        self.accept = accept
        self.problems = problems
        self.notes = notes


class KeyRun:
    """Keys from consecutive lines: the fast path's unit of work. `problems`, one entry per
    key, is None for a run of canonical keys, which have none."""

    __slots__ = ("accept_lines", "first_line", "keys", "problems")

    def __init__(
        self,
        first_line: int,
        keys: list[bytes],
        accept_lines: list[bytes],
        problems: list[tuple[Problem, ...]] | None = None,
    ) -> None:
        self.first_line = first_line
        self.keys = keys
        self.accept_lines = accept_lines
        self.problems = problems

    def results(self) -> Iterator[KeyResult]:
        """One KeyResult per key, for output that describes every key on its own."""
        problems = self.problems or [()] * len(self.keys)
        for offset, (key, accept, found) in enumerate(zip(self.keys, self.accept_lines, problems)):
            yield KeyResult(self.first_line + offset, key, accept[:-1], found, ())


class PairResult:
    """A received accept checked against the one computed from its key."""

    __slots__ = ("cause", "expected", "key", "line", "match", "notes", "problems", "received")

    def __init__(
        self,
        line: int | None,
        key: bytes,
        received: bytes,
        expected: bytes,
        match: bool,
        problems: tuple[Problem, ...],
        notes: tuple[Problem, ...],
    ) -> None:
        self.line = line
        self.key = key
        self.received = received
        self.expected = expected
        self.match = match
        self.problems = problems
        self.notes = notes
        self.cause: str | None = None  # the known bug that made a mismatch, if one did


class PairRun:
    """Matching canonical pairs from consecutive lines."""

    __slots__ = ("accepts", "first_line", "keys")

    def __init__(self, first_line: int, keys: list[bytes], accepts: list[bytes]) -> None:
        self.first_line = first_line
        self.keys = keys
        self.accepts = accepts


class LineError:
    """An input line (or argument) that holds nothing to compute or check."""

    __slots__ = ("line", "message")

    def __init__(self, line: int | None, message: str) -> None:
        self.line = line
        self.message = message


Item = KeyResult | KeyRun | PairResult | PairRun | LineError


def compute_key(text: bytes, line: int | None, *, strict: bool) -> KeyResult | LineError:
    """The accept for a key given as a bare value or a header line."""
    field = value_from_line(text)
    if field.value is None:
        return LineError(line, field.error or "no key")
    problems = key_problems(field.value)
    accept = None if strict and problems else accept_for(field.value)
    return KeyResult(line, field.value, accept, problems, field.notes)


def verify_pair(key_text: bytes, accept_text: bytes, line: int | None) -> PairResult | LineError:
    """Check a received accept against its key, each as a bare value or a header line."""
    key = value_from_line(key_text)
    received = value_from_line(accept_text, ACCEPT_FIELD)
    if key.value is None or received.value is None:
        return LineError(line, key.error or received.error or "no key")
    expected = accept_for(key.value)
    result = PairResult(
        line,
        key.value,
        received.value,
        expected,
        accepts_equal(expected, received.value),
        key_problems(key.value),
        key.notes + received.notes,
    )
    if not key.value:
        result.match = False  # an empty key has no accept to match, not even an empty one
        result.cause = "the key is empty: there is no accept to check against it"
    elif not received.value:
        result.cause = "the received accept is empty (no value, or the header was not captured)"
    elif not result.match:
        from wsaccept_cli.core.diagnose import known_bug  # only for a mismatch

        result.cause = known_bug(key.value, received.value)
    return result
