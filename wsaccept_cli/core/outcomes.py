"""Outcomes that carry their exit codes: how a probe of a live server ended."""

from __future__ import annotations

import enum

from wsaccept_cli.core.exitcodes import ExitCode


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
    PROXY_FAILED = ("proxy_failed", ExitCode.PROXY_FAILED)
    """The proxy could not be reached, or refused the tunnel (407, 403, 502, a SOCKS error)."""

    def __init__(self, label: str, exit_code: int) -> None:
        self.label = label
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.label
