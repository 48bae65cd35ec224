"""The console script's first module: Ctrl-C's default action is restored before anything
heavy is imported.

Python starts with a SIGINT handler that raises KeyboardInterrupt, so a Ctrl-C during the tenth
of a second that importing click takes ends in a traceback. wsaccept wants what a C tool does:
a Ctrl-C before it has written anything ends it by the signal, quietly. Its signal guard
(ui/writer.py) takes over once output is under way; a SIGINT inherited as ignored (a background
job) stays ignored. `_signal` is the C module behind `signal`: importing `signal` itself costs
0.7 ms of start-up (it builds enums), a seventh of the budget (bench/README.md).
"""

from __future__ import annotations

try:
    import _signal as signals  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - not CPython
    import signal as signals  # type: ignore[no-redef,unused-ignore]

if signals.getsignal(signals.SIGINT) is signals.default_int_handler:
    signals.signal(signals.SIGINT, signals.SIG_DFL)

from wsaccept_cli.cli import main

__all__ = ["main"]
