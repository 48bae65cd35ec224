"""The installed `wsaccept` script as a shell sees it: pipes, terminals, signals, bytes."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

from tests.helpers import RFC_ACCEPT, RFC_KEY, clean_env, run_script, script_path


def start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [script_path(), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )


def test_stdin_streams_results_before_the_input_ends(wsaccept: str) -> None:
    with start("compute") as process:
        assert process.stdin
        assert process.stdout
        process.stdin.write(f"{RFC_KEY}\n".encode())
        process.stdin.flush()
        assert process.stdout.readline() == f"{RFC_ACCEPT}\n".encode()
        process.stdin.write(b"AAAA\n")
        process.stdin.flush()
        assert process.stdout.readline() == b"XB9IIzDTB5SFgH/jYXFZTWYC8MY=\n"
        process.stdin.close()
        assert process.wait(timeout=30) == 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_stream_exits_cleanly_with_whole_lines(wsaccept: str, signum: int) -> None:
    with start("verify") as process:
        assert process.stdin
        assert process.stdout
        assert process.stderr
        process.stdin.write(f"{RFC_KEY} {RFC_ACCEPT}\n".encode())
        process.stdin.flush()
        assert process.stdout.readline() == b"ok\n"
        process.send_signal(signum)
        code = process.wait(timeout=30)
        assert code == -signum  # ended by the signal itself, as a shell expects
        assert process.stdout.read() == b""
        assert process.stderr.read() == b""


def test_closed_pipe_is_quiet(wsaccept: str) -> None:
    shell = f"'{wsaccept}' genkey -n 1000000 | head -1; echo \"status=${{PIPESTATUS[0]}}\""
    result = subprocess.run(
        ["bash", "-c", shell], capture_output=True, timeout=60, env=clean_env(), check=False
    )
    lines = result.stdout.decode().splitlines()
    assert len(lines[0]) == 24
    assert lines[1] == "status=141"
    assert result.stderr == b""


def test_invalid_utf8_on_stdin_has_no_traceback() -> None:
    result = run_script(["compute"], stdin=b"\xff\xfe\xfd\n" + RFC_KEY.encode() + b"\n")
    assert result.returncode == 0
    assert result.stdout.decode().splitlines()[1] == RFC_ACCEPT
    assert result.stderr == (
        b"wsaccept: warning: line 1: key contains non-ASCII bytes;"
        b" RFC 6455 \xc2\xa74.1 requires base64 text\n"
        b"wsaccept: warning: 1 of 2 keys had problems\n"
    )


def test_unreadable_stdin_is_a_clear_error() -> None:
    # The write end of a pipe as stdin: open, but reading it fails (EBADF). (A directory on
    # stdin never reaches wsaccept: CPython refuses it at start-up.)
    read_end, write_end = os.pipe()
    try:
        result = subprocess.run(
            [script_path(), "compute"],
            stdin=write_end,
            capture_output=True,
            timeout=30,
            check=False,
        )
    finally:
        os.close(read_end)
        os.close(write_end)
    assert result.returncode == 2
    assert result.stderr == b"wsaccept: error: cannot read stdin: Bad file descriptor\n"


def test_closed_stdin_is_a_clear_error() -> None:
    result = subprocess.run(
        [script_path(), "compute"],
        stdin=None,
        capture_output=True,
        timeout=30,
        check=False,
        preexec_fn=lambda: os.close(0),
    )
    assert result.returncode == 2
    assert result.stderr == b"wsaccept: error: stdin is closed; give the input as arguments\n"


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wsaccept_cli", "compute", RFC_KEY],
        capture_output=True,
        timeout=30,
        env=clean_env(),
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, f"{RFC_ACCEPT}\n".encode())


def test_plain_and_json_output_never_import_rich() -> None:
    probe = (
        "import sys\n"
        "from wsaccept_cli.cli import cli\n"
        "for args in (['compute', 'AAAA'], ['compute', '--format', 'json', 'AAAA'],"
        " ['verify', 'a', 'b'], ['genkey', '--format', 'json']):\n"
        "    try:\n"
        "        cli.main(args, prog_name='wsaccept')\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rich', 'pygments')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, timeout=30, env=clean_env(), check=True
    )
    assert result.stdout.decode().splitlines()[-1] == "[]"


def spawn(*args: str, **env: str) -> pexpect.spawn:
    return pexpect.spawn(
        script_path(), list(args), env=clean_env(TERM="xterm-256color", **env), timeout=20
    )


def test_terminal_gets_a_coloured_table_by_default() -> None:
    child = spawn("compute", RFC_KEY)
    output = child.read().decode()
    child.close()
    assert child.exitstatus == 0
    assert "\x1b[" in output
    assert "accept" in output
    assert RFC_ACCEPT in output
    assert "✓ valid" in output


def test_terminal_respects_no_color() -> None:
    child = spawn("compute", RFC_KEY, NO_COLOR="1")
    output = child.read().decode()
    child.close()
    assert "\x1b[" not in output
    assert RFC_ACCEPT in output


def test_pipe_gets_plain_output() -> None:
    result = run_script(["compute", RFC_KEY])
    assert result.stdout == f"{RFC_ACCEPT}\n".encode()


def test_force_color_colours_rich_output_in_a_pipe() -> None:
    result = run_script(["compute", "--format", "rich", RFC_KEY], FORCE_COLOR="1")
    assert b"\x1b[" in result.stdout


@pytest.mark.parametrize(
    ("command", "what", "given"),
    [("compute", "KEY", "as arguments"), ("verify", "KEY ACCEPT", "as arguments"),
     ("inspect", "FILE", "as an argument")],
)  # fmt: skip
def test_no_key_with_a_terminal_on_stdin_fails_at_once(command: str, what: str, given: str) -> None:
    started = time.monotonic()
    child = spawn(command)
    output = child.read().decode()
    child.close()
    assert child.exitstatus == 2
    assert time.monotonic() - started < 15
    assert f"no {what} given and stdin is a terminal; give {what} {given}," in " ".join(
        output.split()
    )


def test_a_one_liner_loads_only_click_and_wsaccept() -> None:
    # Start-up is what a one-liner in a shell loop pays: beyond what `import click` loads, only
    # wsaccept's own modules and two small C modules, and no gettext lookup (it loads locale).
    probe = (
        "import sys\n"
        "import click\n"
        "before = set(sys.modules)\n"
        "from wsaccept_cli.cli import cli\n"
        "try:\n"
        f"    cli.main(['compute', '{RFC_KEY}'], prog_name='wsaccept')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, timeout=30, env=clean_env(), check=True
    )
    loaded = ast.literal_eval(result.stdout.decode().splitlines()[-1])
    others = {name for name in loaded if not name.startswith("wsaccept_cli")}
    assert others <= {"_sha1", "binascii"}, others  # binascii may be loaded already (coverage)


def test_ctrl_c_stops_the_shell_loop_that_called_wsaccept(tmp_path: Path) -> None:
    # Ctrl-C signals the whole foreground process group. A shell goes on with its loop when the
    # command it waited for caught the signal and exited; it stops when the command was ended
    # by the signal, which is what wsaccept does after its whole lines.
    log = tmp_path / "log"
    loop = (
        f"for i in 1 2 3; do sleep 30 | '{script_path()}' compute; echo \"after $i\" >> '{log}';"
        f" done; echo finished >> '{log}'"
    )
    with subprocess.Popen(["bash", "-c", loop], env=clean_env(), process_group=0) as shell:
        deadline = time.monotonic() + 20
        while not any("wsaccept" in " ".join(cmd) for cmd in children_commands(shell.pid)):
            assert time.monotonic() < deadline, "wsaccept did not start"
            time.sleep(0.05)
        time.sleep(0.3)
        os.killpg(shell.pid, signal.SIGINT)
        assert shell.wait(timeout=20) == -signal.SIGINT
    assert not log.exists()  # not "after 1": the loop stopped with wsaccept


def children_commands(pid: int) -> list[list[str]]:
    """The command lines of the processes whose parent is `pid`, and of their children."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                parent = int(stat.read().rpartition(b")")[2].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read().decode(errors="replace").split("\0")
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if parent == pid:
            found.append(command)
            found += children_commands(int(entry))
    return found


@pytest.mark.parametrize("option", ["--help", "--version", "-h"])
def test_help_and_version_on_a_full_disk_are_one_line_and_exit_74(option: str) -> None:
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [script_path(), option], stdout=full, stderr=subprocess.PIPE, timeout=30,
            env=clean_env(), check=False,
        )  # fmt: skip
    assert done.returncode == 74
    assert done.stderr == b"wsaccept: error: cannot write output: No space left on device\n"


def test_inspect_into_head_ends_quietly_with_141(tmp_path: Path) -> None:
    one = (Path(__file__).parent / "cases" / "inspect" / "bug-sha256.http").read_bytes()
    capture = tmp_path / "many.http"
    capture.write_bytes(one * 2000)  # far more output than a pipe holds
    shell = (
        f"'{script_path()}' inspect '{capture}' | head -1 >/dev/null;"
        ' echo "status=${PIPESTATUS[0]}"'
    )
    done = subprocess.run(["bash", "-c", shell], capture_output=True, env=clean_env(), timeout=30)
    assert (done.stdout, done.stderr) == (b"status=141\n", b"")


def test_a_sigint_ignored_from_the_start_stays_ignored(tmp_path: Path) -> None:
    # A shell starts background jobs (and `trap '' INT` sections) with SIGINT ignored: such a
    # wsaccept goes on through Ctrl-C, as Python itself and every Unix tool do.
    source = tmp_path / "keys"
    source.write_bytes(f"{RFC_KEY}\n".encode() * 2_000_000)
    command = f"trap '' INT; exec '{script_path()}' compute -j 1 < '{source}'"
    with subprocess.Popen(
        ["bash", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env()
    ) as process:
        assert process.stdout is not None
        received = process.stdout.read(100_000)  # it is writing now
        process.send_signal(signal.SIGINT)
        received += process.stdout.read()
        assert process.wait(timeout=60) == 0
    assert received == f"{RFC_ACCEPT}\n".encode() * 2_000_000


def sigint_caught(pid: int) -> bool | None:
    """Whether the process has a handler for SIGINT (its SigCgt mask), None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(mask, 16) & (1 << (signal.SIGINT - 1)))


def wait_for_wsaccept_to_take_over(pid: int) -> None:
    """Until the console script reaches wsaccept's own first module (launch.py), which gives
    SIGINT back its default action. Before that, Python is still starting: it catches SIGINT
    from its initialisation on and runs pip's generated script (`import re`, …), and a Ctrl-C
    there is Python's KeyboardInterrupt, which no code of wsaccept can have a say in. How long
    that takes depends on the machine's load, so the test waits for the hand-over itself (the
    handler appearing, then going) rather than guessing it with a fixed delay."""
    seen_python_handler = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        caught = sigint_caught(pid)
        if caught is None or (seen_python_handler and not caught):
            return
        seen_python_handler |= caught
        time.sleep(0.0005)
    raise AssertionError("wsaccept never restored SIGINT's default action")


@pytest.mark.parametrize("delay", [0, 0.05, 0.1, 0.4])
def test_ctrl_c_while_starting_or_waiting_for_input_ends_quietly(delay: float) -> None:
    # From its first module on (Python's own start-up, pip's script included, is before
    # wsaccept can act), a Ctrl-C that finds nothing written ends wsaccept by the signal, with
    # no traceback: at once (delay 0, while click is imported), later in its start-up, or while
    # it waits for input. Without the coverage measurement the test run adds to subprocesses:
    # its start-up catches the signal, as a user's wsaccept never does.
    env = {name: value for name, value in clean_env().items() if not name.startswith("COVERAGE")}
    with subprocess.Popen(
        [script_path(), "compute"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env,
    ) as process:  # fmt: skip
        wait_for_wsaccept_to_take_over(process.pid)
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    assert (process.returncode, stdout, stderr) == (-signal.SIGINT, b"", b"")
