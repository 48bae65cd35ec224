"""What `probe` is doing, said on stderr as it happens, as `curl -v` does: for a person at a
terminal who would otherwise stare at nothing for up to --timeout seconds. Only when stderr is a
terminal (a pipe, a log or CI gets the result alone); `net.probe` reports the events and never
prints, this module words them.
"""

from __future__ import annotations

import time
from typing import TextIO

import click

from wsaccept_cli.core.wording import plural
from wsaccept_cli.ui.text import display

_SAID = {
    "resolving": "resolving {}",
    "connecting": "connecting to {}",
    "connected": "connected to {}",
    "tls": "TLS handshake with {}",
    "tls_done": "{} established",
    "sent": "request sent ({})",
    "waiting": "waiting for the response head",
    "received": "response head received ({})",
}


class ProbeProgress:
    """Each probe event as one line on stderr, `* ` and the time since the start first."""

    def __init__(self, stream: TextIO, *, color: bool) -> None:
        self.stream: TextIO | None = stream
        self.color = color
        self.started = time.monotonic()

    def __call__(self, event: str, detail: str) -> None:
        if event in ("sent", "received"):
            detail = plural(int(detail), "byte")
        text = _SAID.get(event, event + " {}").format(detail).rstrip()
        elapsed = (time.monotonic() - self.started) * 1000
        line = f"* {elapsed:6.1f} ms  {display(text)}"
        if self.color:
            line = click.style(line, dim=True)  # faint: it is said, not the result
        if self.stream is None:
            return
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # stderr went away: the probe goes on
            self.stream = None
