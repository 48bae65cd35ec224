"""The exit codes, in one place: scripts and CI steps branch on them, so they never change (the
README and the man page list them too). The outcomes that carry them are in `outcomes`."""

from __future__ import annotations


class ExitCode:
    """What a wsaccept process tells its caller.

    Plain ints, not an IntEnum: creating the enum class costs 0.7 ms of every one-liner's
    start-up (`python -X importtime`), a seventh of the budget, and an int is all that sys.exit
    and a shell see. The outcomes that are enums (`outcomes.ProbeOutcome`) carry these.
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
    PROXY_FAILED = 6
    """probe: the proxy could not be reached or refused the tunnel (407, 403, a SOCKS error)."""
    OUTPUT_FAILED = 74
    """Stdout could not be written (a full disk, an I/O error), as sysexits' EX_IOERR."""
    INTERRUPTED = 130
    """Interrupted by Ctrl-C (SIGINT); output written so far is whole lines."""
    BROKEN_PIPE = 141
    """The reader of stdout went away (e.g. `| head -1`), as for a tool killed by SIGPIPE."""
    TERMINATED = 143
    """Stopped by SIGTERM; output written so far is whole lines."""
