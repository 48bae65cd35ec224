"""Shell completion: committed scripts are current, and TAB works in real bash, zsh and fish."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

from tests.helpers import clean_env, script_path

ROOT = Path(__file__).resolve().parent.parent
COMPLETIONS = ROOT / "completions"
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-B]|[\x07\x08]")

SHELLS = {
    "bash": (
        ["--norc", "--noprofile", "-i"],
        f"PS1='$ '; source {COMPLETIONS / 'wsaccept.bash'}",
        "\t\t",
    ),
    "zsh": (
        ["-f", "-i"],
        f"PS1='$ '; fpath=({COMPLETIONS} $fpath); autoload -Uz compinit; compinit -u -D",
        "\t\t",
    ),
    "fish": (
        ["--no-config", "-i"],
        f"source {COMPLETIONS / 'wsaccept.fish'}",
        "\t",
    ),
}


def test_committed_scripts_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(COMPLETIONS / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_generate_writes_what_check_compares(tmp_path: Path) -> None:
    copy = tmp_path / "generate.py"
    shutil.copy(COMPLETIONS / "generate.py", copy)
    subprocess.run([sys.executable, str(copy)], check=True)
    for name in ("wsaccept.bash", "_wsaccept", "wsaccept.fish"):
        assert (tmp_path / name).read_text() == (COMPLETIONS / name).read_text()


class Shell:
    """A real interactive shell on a pseudo-terminal, with wsaccept's completion loaded."""

    def __init__(self, name: str, tmp_path: Path) -> None:
        if shutil.which(name) is None:
            pytest.skip(f"{name} is not installed (apt-get install {name}); .ci/run installs it")
        args, setup, self.list_keys = SHELLS[name]
        bin_dir = os.path.dirname(script_path())
        env = clean_env(
            PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", TERM="xterm", HOME=str(tmp_path)
        )
        self.child = pexpect.spawn(
            name, args, env=env, encoding="utf-8", dimensions=(50, 200), timeout=30
        )
        self.child.sendline(setup)
        self.child.sendline("echo READY-X | tr X Y")  # only the output says READY-Y
        self.child.expect("READY-Y")

    def complete(self, typed: str, keys: str, *wanted: str) -> str:
        """Type `typed`, press `keys`, and return the screen text once `wanted` all appear."""
        self.child.send(typed + keys)
        seen, deadline = "", time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(pexpect.TIMEOUT):
                seen += self.child.read_nonblocking(65536, timeout=0.5)
            text = ANSI.sub("", seen)
            if all(word in text for word in wanted):
                break
        self.child.sendcontrol("c")
        return ANSI.sub("", seen)

    def close(self) -> None:
        self.child.close(force=True)


@pytest.fixture(params=sorted(SHELLS))
def shell(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    opened = Shell(request.param, tmp_path)
    yield opened
    opened.close()


def test_command_name_completes(shell: Shell) -> None:
    assert "compute" in shell.complete("wsaccept co", "\t", "compute")


def test_options_of_a_command_are_offered(shell: Shell) -> None:
    options = ("--count", "--with-accept", "--format", "--color", "--no-color")
    screen = shell.complete("wsaccept genkey --", shell.list_keys, *options)
    assert all(option in screen for option in options), screen


def test_format_option_completes_to_its_choices(shell: Shell) -> None:
    screen = shell.complete("wsaccept compute --format ", shell.list_keys, "plain", "json", "rich")
    assert all(choice in screen for choice in ("plain", "json", "rich")), screen
