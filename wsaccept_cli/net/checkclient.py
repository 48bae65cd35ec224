"""`wsaccept serve --check-client -- CMD ...`: run a client command once against the correct
handshake and once per fault, and score what it did on the wire.

Each run gets the server's URL in place of `{url}` in the arguments and as WSACCEPT_URL in the
environment, runs in a process group of its own under a timeout (then the whole group is
killed), and is judged by the connections it made during the run, not by its exit status: what
the client did on the wire is the truth. Network and process code only; rows go to a callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Sequence

from wsaccept_cli.core.faults import Fault
from wsaccept_cli.core.served import ScoreRow, ServedConnection, request_row
from wsaccept_cli.net.serve import ServeOptions, Server

OUTPUT_LIMIT = 64 * 1024  # of each run's stdout and stderr, kept for the JUnit report
SETTLE = 5.0  # after the command ends, for its connections' verdicts (a grace period or two)


class ClientRun:
    """One run of the client command: the row it scored and what it printed."""

    def __init__(self, row: ScoreRow, status: int | None, output: bytes, seconds: float) -> None:
        self.row = row
        self.status = status  # the command's exit status; None when it was killed at the timeout
        self.output = output
        self.seconds = seconds


def command_for(command: Sequence[str], url: str) -> list[str]:
    return [argument.replace("{url}", url) for argument in command]


async def _run_command(argv: list[str], url: str, timeout: float) -> tuple[int | None, bytes]:
    environment = {**os.environ, "WSACCEPT_URL": url}
    starting = asyncio.ensure_future(
        asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )
    )
    try:
        process = await asyncio.shield(starting)
    except OSError as error:
        return 127, f"cannot run {argv[0]}: {error.strerror or error}\n".encode()
    except asyncio.CancelledError:  # Ctrl-C while the client was being started: it may run
        await _kill_once_started(starting)
        raise
    assert process.stdout is not None
    reading = asyncio.ensure_future(process.stdout.read(OUTPUT_LIMIT))
    status: int | None = None
    try:
        status = await asyncio.wait_for(process.wait(), timeout)
    except (asyncio.TimeoutError, TimeoutError):
        pass
    finally:  # at the timeout, on Ctrl-C, and for what the client left running in its group
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
    try:
        output = await asyncio.wait_for(reading, 1.0)
    except (asyncio.TimeoutError, TimeoutError):
        output = b""
    return status, output


async def _kill_once_started(starting: asyncio.Future[asyncio.subprocess.Process]) -> None:
    """Kill the client's process group as soon as it exists (it may already have started what
    it leaves in the background)."""
    with contextlib.suppress(OSError):
        process = await starting
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


async def _settle(server: Server, deadline: float) -> None:
    """Wait until every connection of the run has its verdict, or the deadline."""
    while time.monotonic() < deadline and any(not c.reported for c in server.connections):
        await asyncio.sleep(0.02)


async def check_client(
    command: Sequence[str],
    faults: Sequence[Fault],
    options: ServeOptions,
    *,
    host: str,
    port: int,
    timeout: float,
    on_listening: Callable[[str], None],
    on_run: Callable[[ClientRun], None],
) -> list[ClientRun]:
    """The correct handshake, then each fault, one run each; the request row after the first."""
    options.faults = ()  # the run chooses the fault (server.fault), not a rotation
    server = Server(options, lambda connection: None)
    server.recording = True
    base = await server.start(host, port)
    on_listening(base)
    runs: list[ClientRun] = []
    try:
        for fault in (None, *faults):
            run = await _one_run(server, base, command, fault, timeout, options.grace)
            runs.append(run)
            on_run(run)
            if fault is None:
                row = request_row(run.row.connections)
                if row is not None:
                    request_run = ClientRun(row, run.status, b"", 0.0)
                    runs.append(request_run)
                    on_run(request_run)
    finally:
        await server.close()
    return runs


async def _one_run(
    server: Server,
    base: str,
    command: Sequence[str],
    fault: Fault | None,
    timeout: float,
    grace: float,
) -> ClientRun:
    server.fault = fault
    server.connections = []
    url = base + (fault.name if fault is not None else "correct")
    started = time.monotonic()
    if fault is not None and fault.stage == "frame":  # a client's answer may take longer
        from wsaccept_cli.core.frame_faults import FrameFault

        assert isinstance(fault, FrameFault)
        timeout = max(timeout, fault.wait(grace) + SETTLE)
    status, output = await _run_command(command_for(command, url), url, timeout)
    await _settle(server, time.monotonic() + max(SETTLE, grace * 2))
    connections: list[ServedConnection] = list(server.connections)
    problem = None
    if not connections:
        problem = (
            f"the client made no connection (it was killed after {timeout:g} s)"
            if status is None
            else f"the client made no connection (it exited with status {status})"
        )
    row = ScoreRow(fault, connections, problem)
    return ClientRun(row, status, output, time.monotonic() - started)
