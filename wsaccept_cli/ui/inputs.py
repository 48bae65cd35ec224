"""What the commands read: stdin, a capture or URL file, each read through one function that
turns a failure to read into an `UnreadableInputError` naming what could not be read.

The commands map `UnreadableInputError` to exit 2 and one line on stderr ("wsaccept: error: ...");
a failure to write is never caught here, so a closed stdout still ends quietly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import io

    from wsaccept_cli.ui.environment import Environment

Read = Callable[[int], bytes]
# A line of a URL file longer than this is reported, not held (a URL is rarely over 2 KiB).
MAX_URL_LINE = 8192


class UnreadableInputError(Exception):
    """Input that cannot be read at all: the command ends with exit 2 and this message."""


def reading(read: Read, name: str) -> Read:
    """`read`, with a read failure an UnreadableInputError naming what could not be read."""

    def read_or_fail(size: int) -> bytes:
        try:
            return read(size)
        except OSError as error:
            raise UnreadableInputError(f"cannot read {name}: {error.strerror or error}") from None

    return read_or_fail


def stdin_of(env: Environment) -> io.BufferedReader:
    """Stdin's bytes, or an UnreadableInputError when there is no stdin at all."""
    if env.stdin is None:
        raise UnreadableInputError("stdin is closed; give the input as arguments")
    return env.stdin


def stdin_reader(env: Environment) -> tuple[Read, int | None]:
    """Stdin's read function (os.read on its descriptor when it has one, so that worker
    processes can wait on it) and that descriptor."""
    stdin = stdin_of(env)
    fd = env.stdin_fd()
    return reading(partial(os.read, fd) if fd is not None else stdin.read1, "stdin"), fd


@contextmanager
def open_input(env: Environment, path: str | None) -> Iterator[tuple[Read, str]]:
    """The input's read function and name: stdin for none or '-' (left open), else the file,
    closed afterwards; an UnreadableInputError saying why it cannot be read."""
    if path in (None, "-"):
        yield reading(stdin_of(env).read1, "stdin"), "stdin"
        return
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed by the `with` below
    except OSError as error:
        raise UnreadableInputError(f"cannot read {path}: {error.strerror or error}") from None
    with stream:
        yield reading(stream.read1, path), path


def url_lines(urls: tuple[str, ...], read: Read | None, name: str) -> Iterator[tuple[str, str]]:
    """(where, URL) for each argument, then each line of the file that is not blank or a
    comment; a line is at most 8 KiB (a longer one is reported, not held)."""
    for index, url in enumerate(urls, 1):
        yield f"argument {index}", url
    if read is None:
        return
    pending = b""
    number = 0
    while True:
        chunk = read(65536)
        pending += chunk
        *complete, pending = pending.split(b"\n") if chunk else (*pending.split(b"\n"), b"")
        for line in complete:
            number += 1
            text = line.decode("utf-8", "surrogateescape").strip()
            if text and not text.startswith("#"):
                yield f"{name} line {number}", text.split(" #", 1)[0].strip()
        if not chunk:
            return
        if len(pending) > MAX_URL_LINE:
            raise UnreadableInputError(
                f"{name} line {number + 1} is longer than {MAX_URL_LINE} bytes"
            )
