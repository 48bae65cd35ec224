"""How output looks: format and colour decided once, and diagnostics on stderr.

Results go to stdout through a renderer; everything said about them goes to stderr through
`Diagnostics`, which caps per-line messages so a million bad keys do not flood a terminal.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

FORMATS = ("plain", "json", "rich")
SHOWN_PER_KIND = 10

_ANSI_COLORS = {"error": "31", "warning": "33", "note": "36"}  # red, yellow, cyan


def resolve_color(flag: bool | None, stream: TextIO) -> bool:
    """--color/--no-color, else NO_COLOR, else FORCE_COLOR, else whether `stream` is a terminal."""
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR", "0") not in ("", "0"):
        return True
    return _is_terminal(stream) and os.environ.get("TERM") != "dumb"


def resolve_format(name: str | None) -> str:
    """The format asked for, else rich on a terminal and plain in a pipe."""
    if name is not None:
        return name
    return "rich" if _is_terminal(sys.stdout) else "plain"


def _is_terminal(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except ValueError:  # a closed stream
        return False


class Diagnostics:
    """Warnings, notes and errors about input lines, on stderr, the first few of each kind."""

    def __init__(self, stream: TextIO | None, *, color: bool, quiet: bool = False) -> None:
        self.stream = stream
        self.color = color
        self.quiet = quiet
        self.counts = {"error": 0, "warning": 0, "note": 0}

    def say(self, kind: str, where: str | None, message: str) -> None:
        """One line about one input; past the cap only counted, and summed up in `finish`."""
        self.counts[kind] += 1
        if self.counts[kind] <= SHOWN_PER_KIND:
            self.summary(kind, f"{where}: {message}" if where else message)

    def summary(self, kind: str, text: str) -> None:
        """A line said once, not capped; under --quiet only errors are said."""
        if not self.quiet or kind == "error":
            self.write(kind, text)

    def write(self, kind: str, text: str) -> None:
        """One line on stderr; if stderr cannot take it, results on stdout still go on."""
        label = f"{kind}:"
        if self.color:
            label = f"\x1b[{_ANSI_COLORS[kind]}m{label}\x1b[0m"
        if self.stream is None:
            return
        try:
            self.stream.write(f"wsaccept: {label} {text}\n")
            self.stream.flush()
        except (OSError, ValueError):
            self.stream = None

    def finish(self) -> None:
        """Say how many messages the cap held back."""
        for kind, count in self.counts.items():
            hidden = count - SHOWN_PER_KIND
            if hidden > 0:
                plural = "s" if hidden != 1 else ""
                hint = "" if kind == "error" else " (--format json lists every problem)"
                self.summary(kind, f"{hidden} more {kind}{plural} not shown{hint}")
