"""The world a command runs in: its streams, whether they are terminals, and the environment
variables that decide format and colour. Commands receive one Environment (as httpie's
`context.Environment`); nothing else reads `sys.stdin`, `sys.stdout` or `os.environ`, so a test
hands in its own streams and variables and runs exactly the code a real process runs.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Mapping
from typing import BinaryIO, TextIO, cast

FORMATS = ("plain", "json", "rich")


class Environment:
    """Streams and settings, each decision about them made here, once."""

    def __init__(
        self,
        stdin: io.BufferedReader | None,
        stdout: BinaryIO | None,
        stderr: TextIO | None,
        environ: Mapping[str, str],
    ) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.environ = environ

    @classmethod
    def of_process(cls) -> Environment:
        """This process's streams (None where one is closed) and environment variables."""
        stdin = cast(io.BufferedReader, sys.stdin.buffer) if sys.stdin is not None else None
        stdout = sys.stdout.buffer if sys.stdout is not None else None
        return cls(stdin, stdout, sys.stderr, os.environ)

    def stdin_fd(self) -> int | None:
        """Stdin's file descriptor, or None when it has none (a test's in-memory stream)."""
        return _fileno(self.stdin)

    def stdin_is_terminal(self) -> bool:
        return _is_terminal(self.stdin)

    def stdout_is_terminal(self) -> bool:
        return _is_terminal(self.stdout)

    def stderr_is_terminal(self) -> bool:
        return _is_terminal(self.stderr)

    def output_format(self, asked: str | None) -> str:
        """The format asked for, else rich on a terminal and plain in a pipe."""
        if asked is not None:
            return asked
        return "rich" if _is_terminal(self.stdout) else "plain"

    def color(self, flag: bool | None, stream: BinaryIO | TextIO | None) -> bool:
        """--color/--no-color, else NO_COLOR, else FORCE_COLOR (not "0"), else TERM=dumb, else
        whether `stream` is a terminal: rich's rules, decided once so that stdout and stderr agree.
        """
        if flag is not None:
            return flag
        if self.environ.get("NO_COLOR"):
            return False
        if self.environ.get("FORCE_COLOR", "0") not in ("", "0"):
            return True
        return _is_terminal(stream) and self.environ.get("TERM") != "dumb"


def _fileno(stream: BinaryIO | TextIO | None) -> int | None:
    try:
        return None if stream is None else stream.fileno()
    except (OSError, ValueError, io.UnsupportedOperation):
        return None


def _is_terminal(stream: BinaryIO | TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except ValueError:  # a closed stream
        return False
