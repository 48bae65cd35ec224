"""Processes a client command of `serve --check-client` left running outside its process group.

Each run's process group is killed when the run ends, but a daemon escapes it: `setsid` (or a
double fork) puts it in a session of its own, and it may hold the client's stdout for ever. On
Linux wsaccept marks itself a child subreaper (prctl(2) PR_SET_CHILD_SUBREAPER), so such an
orphan becomes its child instead of init's; after a run, the children that were not there before
it and live in another session than ours are the client's strays, and so is any process that
still holds the run's output pipes (/proc/PID/fd). They are killed (SIGKILL, their group too) and
reaped; one that cannot be killed is reported with its PID. Linux only; elsewhere nothing is
found and the pipes are simply closed after a bounded wait.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable, Iterator

PR_SET_CHILD_SUBREAPER = 36
_REAP_TRIES = 100  # of 10 ms
_ROUNDS = 3  # a killed stray's own children become ours too: look again, a few times


def become_subreaper() -> bool:
    """Make orphaned descendants our children (Linux); False where that is not possible."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return False


def _stat(pid: int) -> tuple[int, str, int, int] | None:
    """(parent PID, state, process group, session ID) of `pid` from /proc, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            text = file.read()
    except OSError:
        return None
    fields = text[text.rfind(b")") + 2 :].split()  # the command name may hold spaces
    return int(fields[1]), fields[0].decode(), int(fields[2]), int(fields[3])


def _pids() -> Iterator[int]:
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):
            if name.isdigit():
                yield int(name)


def children() -> set[int]:
    """Our children now (taken before a run, to tell the run's orphans from them)."""
    me = os.getpid()
    return {pid for pid in _pids() if (stat := _stat(pid)) is not None and stat[0] == me}


def _orphans(before: set[int], group: int) -> set[int]:
    """Children of ours that were not before the run, in a session not ours: the client's.
    Those of the client's own process group were killed with it: they are only reaped."""
    me, session = os.getpid(), os.getsid(0)
    found = set()
    for pid in _pids():
        stat = _stat(pid)
        if stat is None or stat[0] != me or pid in before or stat[3] == session:
            continue
        if stat[1] == "Z" or stat[2] == group:
            _kill(pid)
        else:
            found.add(pid)
    return found


def _holders(pipes: Iterable[int]) -> set[int]:
    """Processes other than us with a descriptor on one of the pipes of the read ends given."""
    wanted = set()
    for fd in pipes:
        with contextlib.suppress(OSError):
            wanted.add(f"pipe:[{os.fstat(fd).st_ino}]")
    me, found = os.getpid(), set()
    for pid in _pids():
        if pid == me:
            continue
        with contextlib.suppress(OSError):
            for name in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{name}") in wanted:
                        found.add(pid)
                        break
    return found


def _kill(pid: int) -> bool:
    """SIGKILL to `pid` and its process group; whether it is gone or going."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    for _ in range(_REAP_TRIES):  # ours (we are its subreaper): reap it, without hanging
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                break
        except OSError:  # not our child: init reaps it
            break
        time.sleep(0.01)
    return True


def end_strays(
    before: set[int], pipes: Iterable[int], *, group: int, held: bool
) -> list[tuple[int, bool]]:
    """Kill what the run left outside the client's process `group` (killed already): our new
    orphans in other sessions and, when `held` (the pipes are still open after the group
    died), whatever holds the pipes. Returns each stray's PID and whether it was killed."""
    pipes = list(pipes)
    seen: dict[int, bool] = {}
    for _ in range(_ROUNDS):
        found = _orphans(before, group) | (_holders(pipes) if held else set())
        fresh = sorted(found - {pid for pid, killed in seen.items() if killed})
        if not fresh:
            break
        for pid in fresh:
            seen[pid] = _kill(pid)
    return list(seen.items())
