"""Writing stdout so that a reader only ever gets whole lines, whatever happens.

Every write goes to the file descriptor in a loop until all of it is written (an unbuffered
stdout, as under PYTHONUNBUFFERED, may take part of a write), and Ctrl-C or SIGTERM arriving
mid-write is held until the line being written is done: interrupted output ends after a whole
line. A second signal is not held, for a reader that has stalled mid-line. A write that fails
(a full disk, an I/O error) becomes an OutputError with one clear message.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, TypeVar

from wsaccept_cli.core.exitcodes import ExitCode

T = TypeVar("T")


class TerminatedError(Exception):
    """SIGTERM, raised like KeyboardInterrupt so a stream stops the same way."""


class OutputError(Exception):
    """Stdout could not be written: the reason, for one line on stderr."""


class SignalGuard:
    """Holds SIGINT and SIGTERM while output is written, then acts on them."""

    def __init__(self) -> None:
        self.writing = 0
        self.pending: int | None = None
        self.installed = False

    def install(self) -> None:
        """Take over SIGINT and SIGTERM, except one this process was started with ignored (a
        background job, `nohup`, a `trap '' INT`): that stays ignored, as Python leaves it."""
        if self.installed:
            return
        import signal

        self.sigint = signal.SIGINT
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(signum) is not signal.SIG_IGN:
                signal.signal(signum, self._handle)
        self.installed = True

    def _handle(self, signum: int, frame: object) -> None:
        if self.writing and self.pending is None:
            self.pending = signum
            return
        # Not writing, or a second signal: the user insists, perhaps because the reader of
        # stdout has stalled and the line being written can never end; stop at once.
        self.pending = None
        self._raise(signum)

    def _raise(self, signum: int) -> None:
        if signum == self.sigint:
            raise KeyboardInterrupt
        raise TerminatedError

    @contextmanager
    def held(self) -> Iterator[None]:
        """Signals that arrive inside wait until the block is done."""
        self.writing += 1
        try:
            yield
        finally:
            self.writing -= 1
            if not self.writing and self.pending is not None:
                signum, self.pending = self.pending, None
                self._raise(signum)


GUARD = SignalGuard()
ATOMIC_WRITE = 512  # PIPE_BUF's least value in POSIX; Linux's is 4096


class OutputWriter:
    """Bytes to stdout's file descriptor, all of each write, signals held meanwhile.

    Where there is no file descriptor (a test's in-memory stream), the binary stream is
    written instead.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.writes = 0
        try:
            self.fd: int | None = stream.fileno()
        except (OSError, ValueError, io.UnsupportedOperation):
            self.fd = None

    def write(self, data: bytes | bytearray) -> None:
        # The guard is taken up where a signal could cut a line: a first write of at most
        # PIPE_BUF bytes reaches a pipe whole (POSIX), and a one-liner then never pays for the
        # signal module. The only place wsaccept installs it.
        if self.writes or len(data) > ATOMIC_WRITE:
            GUARD.install()
        self.writes += 1
        with GUARD.held():
            try:
                self._write_all(data)
            except BrokenPipeError:
                raise
            except OSError as error:
                if error.errno == errno.EPIPE:
                    raise BrokenPipeError(*error.args) from None
                raise OutputError(f"cannot write output: {error.strerror or error}") from None

    def _write_all(self, data: bytes | bytearray) -> None:
        if self.fd is None:
            self.stream.write(data)
            self.stream.flush()
            return
        view, written, end = memoryview(data), 0, len(data)
        while written < end:
            if GUARD.pending is not None:  # stopping: end the line being written, no more
                end = line_end(data, written)
            written += os.write(self.fd, view[written:end])


def line_end(data: bytes | bytearray, written: int) -> int:
    """Where the line that the first `written` bytes of `data` stopped in ends."""
    if written == 0 or data[written - 1] == 0x0A:
        return written
    return data.find(b"\n", written) + 1 or len(data)


def discard_stdout(stream: BinaryIO | None) -> None:
    """Point stdout at /dev/null, so that nothing later fails writing to a closed pipe."""
    try:
        fd = -1 if stream is None else stream.fileno()
    except (OSError, ValueError, io.UnsupportedOperation):
        return
    if fd < 0:
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def unwritable_stdout(error: OSError) -> int:
    """The exit code for text (help, version) that stdout would not take, after one line on
    stderr; a reader that went away is not an error worth a line."""
    import sys

    discard_stdout(sys.stdout.buffer if sys.stdout is not None else None)
    if error.errno == errno.EPIPE:
        return ExitCode.BROKEN_PIPE
    if sys.stderr is not None:
        sys.stderr.write(f"wsaccept: error: cannot write output: {error.strerror or error}\n")
    return ExitCode.OUTPUT_FAILED


def end_by_signal(code: object) -> None:
    """After Ctrl-C (exit 130) or SIGTERM (143), end by that signal itself, its default action
    restored: a shell then knows the command was interrupted, and a loop, xargs or make that
    called it stops too, as for any well-behaved Unix tool. Other codes return."""
    if code not in (ExitCode.INTERRUPTED, ExitCode.TERMINATED):
        return
    import signal
    import sys

    signum = signal.SIGINT if code == ExitCode.INTERRUPTED else signal.SIGTERM
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
    os.kill(os.getpid(), signum)


class ReaderWatch:
    """For a long-running command that writes only now and then (`serve`): whether the reader
    of stdout went away, noticed without a write (a pipe whose reader closed polls as an error
    on its write end) or by a write that failed in a callback, where the exception would be
    lost. `run` races a coroutine against it: the reader gone, the coroutine is cancelled (so
    it unwinds, killing what it started) and BrokenPipeError is raised, for the quiet 141 of
    every command."""

    POLL = 0.2  # seconds between two looks at stdout

    def __init__(self, writer: OutputWriter) -> None:
        self.fd = writer.fd  # None for a test's in-memory stream: no reader to lose
        self.broken = False

    def emitting(self, emit: Callable[[], None]) -> None:
        """Run `emit` (a write to stdout); a closed pipe is remembered, not raised."""
        try:
            emit()
        except BrokenPipeError:
            self.broken = True

    def gone(self) -> bool:
        if self.broken:
            return True
        if self.fd is None:
            return False
        import select

        poller = select.poll()
        poller.register(self.fd, select.POLLERR)
        return any(event & (select.POLLERR | select.POLLHUP) for _, event in poller.poll(0))

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        import asyncio

        task = asyncio.ensure_future(work)
        while not task.done():
            await asyncio.wait({task}, timeout=self.POLL)
            if not task.done() and self.gone():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                raise BrokenPipeError(errno.EPIPE, "the reader of stdout went away")
        if self.broken:
            raise BrokenPipeError(errno.EPIPE, "the reader of stdout went away")
        return task.result()
