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
from wsaccept_cli.core.kept import ClientOutput, KeptBytes
from wsaccept_cli.core.served import ScoreRow, ServedConnection, request_row
from wsaccept_cli.net.serve import ServeOptions, Server
from wsaccept_cli.net.strays import become_subreaper, children, end_strays

SETTLE = 5.0  # after the command ends, for its connections' verdicts (a grace period or two)
HELD_WAIT = (
    0.1  # after the client's group is killed: if its pipes are still open, a stray holds them
)
DRAIN_WAIT = 0.5  # after the strays are killed, for the last of the output
READ_SIZE = 64 * 1024


class ClientRun:
    """One run of the client command: the row it scored, what it printed on stdout and
    stderr (the first and last 64 KiB of each), and the processes it left behind."""

    def __init__(
        self,
        row: ScoreRow,
        status: int | None,
        output: ClientOutput | None = None,
        seconds: float = 0.0,
    ) -> None:
        self.row = row
        self.status = status  # the command's exit status; None when it was killed at the timeout
        self.output = output or ClientOutput()
        self.seconds = seconds


def command_for(command: Sequence[str], url: str) -> list[str]:
    return [argument.replace("{url}", url) for argument in command]


class _Drain:
    """Reads a pipe as the client writes it, into `kept`, until its end; never blocks the
    client on a full pipe. The pipe is ours, not asyncio's: a process's wait() then waits
    for the process alone, not for a pipe a daemon it started may hold for ever."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int, kept: KeptBytes) -> None:
        self.loop, self.fd, self.kept = loop, fd, kept
        self.ended = loop.create_future()
        os.set_blocking(fd, False)
        loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self.kept.add(data)
        else:
            self.close()

    def close(self) -> None:
        if self.fd >= 0:
            self.loop.remove_reader(self.fd)
            os.close(self.fd)
            self.fd = -1
        if not self.ended.done():
            self.ended.set_result(None)


async def _run_command(
    argv: list[str], url: str, timeout: float
) -> tuple[int | None, ClientOutput]:
    output = ClientOutput()
    environment = {**os.environ, "WSACCEPT_URL": url}
    loop = asyncio.get_running_loop()
    before = children()
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    drains = [_Drain(loop, out_read, output.stdout), _Drain(loop, err_read, output.stderr)]
    try:
        starting = asyncio.ensure_future(
            asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out_write,
                stderr=err_write,
                env=environment,
                start_new_session=True,
            )
        )
        try:
            process = await asyncio.shield(starting)
        except OSError as error:
            output.stderr.add(f"cannot run {argv[0]}: {error.strerror or error}\n".encode())
            return 127, output
        except asyncio.CancelledError:  # Ctrl-C while the client was being started: it may run
            await _kill_once_started(starting)
            raise
        finally:
            os.close(out_write)
            os.close(err_write)
        status = await _wait_then_kill(process, timeout)
        ends = [asyncio.shield(drain.ended) for drain in drains]
        _, held = await asyncio.wait(ends, timeout=HELD_WAIT)
        pipes = (out_read, err_read)
        output.left = end_strays(before, pipes, group=process.pid, held=bool(held))
        if held:
            await asyncio.wait(held, timeout=DRAIN_WAIT)
        return status, output
    finally:
        for drain in drains:
            drain.close()


async def _wait_then_kill(process: asyncio.subprocess.Process, timeout: float) -> int | None:
    """The client's exit status (None if it was killed at the timeout); its group killed in
    any case, for what it left running there."""
    status: int | None = None
    try:
        status = await asyncio.wait_for(process.wait(), timeout)
    except (asyncio.TimeoutError, TimeoutError):
        pass
    finally:  # at the timeout, on Ctrl-C, and for what the client left running in its group
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
    return status


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
    become_subreaper()
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
                    request_run = ClientRun(row, run.status)
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
