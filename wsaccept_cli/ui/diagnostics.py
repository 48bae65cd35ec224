"""Diagnostics on stderr: what is said about the input, capped per kind.

Results go to stdout through a renderer; everything said about them goes to stderr through
`Diagnostics`, which caps per-line messages so a million bad keys do not flood a terminal. Every
line passes through the display boundary (`ui.text.display`), since messages quote input.
"""

from __future__ import annotations

from typing import TextIO

import click

from wsaccept_cli.ui.text import display

SHOWN_PER_KIND = 10

# The label of a stderr line is coloured by click.style (click is loaded already): rich would
# colour it too, but importing rich.console costs about 30 ms (`python -X importtime`,
# bench/README.md), half again a plain one-liner's start-up, for three colours.
_COLOUR = {"error": "red", "warning": "yellow", "note": "cyan"}


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
            label = click.style(label, fg=_COLOUR[kind])
        if self.stream is None:
            return
        try:
            self.stream.write(f"wsaccept: {label} {display(text)}\n")
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
