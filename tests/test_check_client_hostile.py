"""`serve --check-client` with client commands that misbehave (issue 22, item 2; issue 24, item 20).

A client that writes megabytes is still killed at --timeout and its output is kept bounded (the
first and last 64 KiB, and how much was dropped) in the JUnit report; a client that leaves a
daemon holding its stdout does not make the run wait for the daemon, and the daemon is killed;
the last lines of a failed client's stderr are shown under its row, escaped (and dimmed at a
terminal). Never a traceback. The installed script runs the real client commands.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from xml.etree import ElementTree

from tests.helpers import run_script

PY = sys.executable

FLOOD = (
    "import sys, time\n"
    "sys.stdout.write('first words\\n' + 'o' * 3_000_000 + '\\nlast words\\n')\n"
    "sys.stdout.flush()\n"
    "sys.stderr.write('e' * 3_000_000 + '\\nwhy it failed\\n'); sys.stderr.flush()\n"
    "time.sleep(60)\n"
)


def test_a_client_that_writes_megabytes_is_killed_at_the_timeout(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    started = time.monotonic()
    done = run_script(
        ["serve", "--check-client", "--fault", "no-accept", "--timeout", "2", "--junit",
         str(junit), "--", PY, "-c", FLOOD],
        timeout=60,
    )  # fmt: skip
    assert time.monotonic() - started < 20  # two runs of 2 s and their settling, not 60 s each
    assert done.returncode == 1
    assert done.stderr == b""
    lines = done.stdout.decode().splitlines()
    assert lines[1].split(None, 6)[-1] == "the client made no connection (it was killed after 2 s)"
    assert lines[2:4] == [  # the last lines, each cut to 200 characters
        f"      stderr: {'e' * 192}[… 65329 more characters]",
        "      stderr: why it failed",
    ]
    cases = ElementTree.parse(junit).getroot().findall("testcase")
    out, err = cases[0].find("system-out"), cases[0].find("system-err")
    assert out is not None
    assert out.text is not None
    assert err is not None
    assert err.text is not None
    dropped = 3_000_000 + len("first words\n\nlast words\n") - 2 * 65536
    assert out.text.startswith("first words\nooo")
    assert f"\n[… {dropped} bytes dropped …]\n" in out.text
    assert out.text.endswith("ooo\nlast words\n")
    assert len(out.text) < 140_000
    assert err.text.endswith("eee\nwhy it failed\n")


DAEMON = (
    "import os, sys, time\n"
    "if os.fork() == 0:\n"
    "    os.setsid()\n"
    "    if os.fork() == 0:\n"
    "        open(sys.argv[1], 'w').write(str(os.getpid()))\n"
    "        print('daemon holds stdout', flush=True)\n"
    "        time.sleep(120)\n"
    "    os._exit(0)\n"
    "os.wait()\n"
    "while not os.path.exists(sys.argv[1]) or not open(sys.argv[1]).read():\n"
    "    time.sleep(0.01)\n"
    "print('client: cannot connect', file=sys.stderr)\n"
    "sys.exit(7)\n"
)


def test_a_daemon_holding_the_clients_stdout_is_found_and_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "daemon.pid"
    started = time.monotonic()
    done = run_script(
        ["serve", "--check-client", "--fault", "no-accept", "--timeout", "30", "--",
         PY, "-c", DAEMON, str(pid_file)],
        timeout=120,
    )  # fmt: skip
    took = time.monotonic() - started
    assert done.stderr == b""
    assert took < 20  # not the 30 s timeout, nor the daemon's 120 s
    lines = done.stdout.decode().splitlines()
    assert lines[1].split(None, 6)[-1] == "the client made no connection (it exited with status 7)"
    assert lines[2] == "      stderr: client: cannot connect"
    killed = [line for line in lines if "left running" in line]
    assert len(killed) == 2  # one daemon per run
    pid = int(pid_file.read_text())
    assert killed[-1] == (
        f"      killed process {pid}, which the client left running outside its process group"
    )
    assert (
        not Path(f"/proc/{pid}").exists() or "State:\tZ" in Path(f"/proc/{pid}/status").read_text()
    )


HOSTILE_STDERR = (
    "import sys\n"
    "sys.stderr.write('line one\\nline two\\n\\n' + 'x' * 500 + '\\n'\n"
    "                 'curl: (7) \\x1b]0;pwned\\x07 Failed \\u202e to connect\\n')\n"
    "sys.exit(7)\n"
)


def test_a_failed_clients_stderr_is_shown_escaped_under_its_row() -> None:
    done = run_script(
        ["serve", "--check-client", "--fault", "no-accept", "--", PY, "-c", HOSTILE_STDERR],
    )
    lines = done.stdout.decode().splitlines()
    assert lines[2:5] == [
        "      stderr: line two",
        f"      stderr: {'x' * 192}[… 308 more characters]",
        "      stderr: curl: (7) \\x1b]0;pwned\\x07 Failed \\u202e to connect",
    ]
    assert "\x1b" not in done.stdout.decode()
    rich = run_script(
        ["serve", "--check-client", "--fault", "no-accept", "--format", "rich", "--color", "--",
         PY, "-c", HOSTILE_STDERR],
    )  # fmt: skip
    text = rich.stdout.decode()
    assert "\x1b[2m      stderr: curl: (7) \\x1b]0;pwned\\x07 Failed \\u202e to connect" in text
    assert "\x1b]0;pwned" not in text
    json_run = run_script(
        ["serve", "--check-client", "--fault", "no-accept", "--format", "json", "--",
         PY, "-c", HOSTILE_STDERR],
    )  # fmt: skip
    assert '"stderr: curl: (7) \\u001b]0;pwned\\u0007 Failed \\u202e to connect"' in (
        json_run.stdout.decode()
    )
