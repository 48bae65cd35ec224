"""Shell completion: committed scripts are current, `wsaccept completion SHELL` prints them, and
TAB works in real bash, zsh and fish loaded the way the README says, file names included."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import click
import pexpect
import pytest

from tests.helpers import clean_env, script_path

ROOT = Path(__file__).resolve().parent.parent
COMPLETIONS = ROOT / "completions"
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-B]|[\x07\x08]")

# Each shell loads the script as the README says: from `wsaccept completion SHELL`.
SHELLS = {
    "bash": (
        ["--norc", "--noprofile", "-i"],
        "PS1='$ '; eval \"$(wsaccept completion bash)\"",
        "\t\t",
    ),
    "zsh": (
        ["-f", "-i"],
        "PS1='$ '; autoload -Uz compinit; compinit -u -D; eval \"$(wsaccept completion zsh)\"",
        "\t\t",
    ),
    "fish": (["--no-config", "-i"], "wsaccept completion fish | source", "\t"),
}
# bash as most users have it: with the bash-completion package loaded (its _command_offset
# completes the client command after serve --check-client --, as it does sudo's).
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
WITH_BASH_COMPLETION = (
    ["--norc", "--noprofile", "-i"],
    f"PS1='$ '; source {BASH_COMPLETION}; eval \"$(wsaccept completion bash)\"",
    "\t\t",
)


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
        if name == "bash+bash-completion":
            if not os.path.exists(BASH_COMPLETION):
                pytest.skip("apt-get install bash-completion; .ci/run installs it")
            name, (args, setup, self.list_keys) = "bash", WITH_BASH_COMPLETION
        elif shutil.which(name) is None:
            pytest.skip(f"{name} is not installed (apt-get install {name}); .ci/run installs it")
        else:
            args, setup, self.list_keys = SHELLS[name]
        bin_dir = os.path.dirname(script_path())
        client_dir = tmp_path / "bin"  # a client command on PATH for serve --check-client --
        client_dir.mkdir()
        (client_dir / "my-ws-client").write_text("#!/bin/sh\n")
        (client_dir / "my-ws-client").chmod(0o755)
        path = os.pathsep.join([bin_dir, str(client_dir), os.environ["PATH"]])
        env = clean_env(PATH=path, TERM="xterm", HOME=str(tmp_path))
        self.child = pexpect.spawn(
            name, args, env=env, encoding="utf-8", dimensions=(50, 200), timeout=30, cwd=tmp_path
        )
        (tmp_path / "capture-1.http").write_text("GET / HTTP/1.1\r\n\r\n")
        (tmp_path / "ca-cert.pem").write_text("")
        (tmp_path / "sub").mkdir()
        (tmp_path / "sub" / "session.har").write_text("{}")
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
    assert "wsaccept verify" in shell.complete("wsaccept ver", "\t", "wsaccept verify")


def test_options_of_a_command_are_offered(shell: Shell) -> None:
    options = ("--count", "--with-accept", "--format", "--color", "--no-color")
    screen = shell.complete("wsaccept genkey --", shell.list_keys, *options)
    assert all(option in screen for option in options), screen


def test_format_option_completes_to_its_choices(shell: Shell) -> None:
    screen = shell.complete("wsaccept compute --format ", shell.list_keys, "plain", "json", "rich")
    assert all(choice in screen for choice in ("plain", "json", "rich")), screen


@pytest.mark.parametrize("shell_name", sorted(SHELLS))
def test_completion_command_prints_the_committed_script(shell_name: str) -> None:
    name = {"bash": "wsaccept.bash", "zsh": "_wsaccept", "fish": "wsaccept.fish"}[shell_name]
    result = subprocess.run(
        [script_path(), "completion", shell_name], capture_output=True, check=False
    )
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout.decode() == (COMPLETIONS / name).read_text()


def test_completion_of_an_unknown_shell_is_a_usage_error() -> None:
    result = subprocess.run([script_path(), "completion", "tcsh"], capture_output=True, check=False)
    assert result.returncode == 2
    assert b"'tcsh' is not one of 'bash', 'zsh', 'fish'" in result.stderr


def file_parameters() -> list[tuple[str, str]]:
    """Every argument and option of the command tree that takes a file: (command, option or
    '' for an argument)."""
    from wsaccept_cli.cli import commands

    found = []
    for name, command in commands().items():
        for param in command.params:
            if isinstance(param.type, click.Path):
                option = param.opts[0] if isinstance(param, click.Option) else ""
                found.append((name, option))
    return found


def test_every_file_parameter_completes_as_a_file_name() -> None:
    # What the scripts ask wsaccept at <TAB>: "file" makes each shell complete file names. Any
    # file option added later is covered here, and by the shells below through these two.
    assert ("inspect", "") in file_parameters()
    assert ("probe", "--cacert") in file_parameters()
    for command, option in file_parameters():
        words = ["wsaccept", command, *([option] if option else []), ""]
        result = subprocess.run(
            [script_path()],
            env=clean_env(
                _WSACCEPT_COMPLETE="bash_complete",
                COMP_WORDS=" ".join(words),
                COMP_CWORD=str(len(words) - 1),
            ),
            capture_output=True,
            check=False,
        )
        assert result.stdout.decode().splitlines() == ["file,"], (command, option)


@pytest.mark.parametrize(
    ("typed", "completed"),
    [
        ("wsaccept inspect capt", "wsaccept inspect capture-1.http"),
        ("wsaccept inspect -v sub/", "wsaccept inspect -v sub/session.har"),
        ("wsaccept probe --cacert ca-", "wsaccept probe --cacert ca-cert.pem"),
    ],
)
def test_file_names_complete(shell: Shell, tmp_path: Path, typed: str, completed: str) -> None:
    screen = shell.complete(typed, "\t", completed)
    assert completed in screen, screen


@pytest.mark.parametrize(
    ("typed", "completed"),
    [
        # A command name from PATH, then that command's own files, as sudo and env complete.
        ("wsaccept serve --check-client -- my-ws-cl", "-- my-ws-client "),
        ("wsaccept serve --check-client -- my-ws-client capt", "my-ws-client capture-1.http"),
        ("wsaccept serve --check-client -- my-ws-client {url} sub/", "{url} sub/session.har"),
        # The command's own completion where it has one: here wsaccept's, loaded in the shell.
        ("wsaccept serve --check-client -- wsaccept ver", "-- wsaccept verify"),
        ("wsaccept serve --check-client -- wsaccept inspect capt", "inspect capture-1.http"),
    ],
)
@pytest.mark.parametrize("shell_name", [*sorted(SHELLS), "bash+bash-completion"])
def test_client_command_completes_after_check_client(
    shell_name: str, tmp_path: Path, typed: str, completed: str
) -> None:
    shell = Shell(shell_name, tmp_path)
    try:
        screen = shell.complete(typed, "\t", completed)
    finally:
        shell.close()
    assert completed in screen, screen


@pytest.mark.parametrize(
    ("words", "before"),
    [
        ("wsaccept serve --check-client -- ", 0),
        ("wsaccept serve --check-client -- pyth", 0),
        ("wsaccept serve --check-client -- python3 ", 1),
        ("wsaccept serve --check-client -- python3 client.py {url} -", 3),
    ],
)
def test_client_command_answer_counts_the_words_before(words: str, before: int) -> None:
    # What the scripts get from wsaccept: complete a command line from `before` words back.
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    result = subprocess.run(
        [script_path()],
        env=clean_env(_WSACCEPT_COMPLETE="bash_complete", COMP_WORDS=words, COMP_CWORD=str(cword)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.splitlines() == [f"command,{before}"]


def test_fish_descriptions_are_whole(tmp_path: Path) -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed (apt-get install fish); .ci/run installs it")
    bin_dir = os.path.dirname(script_path())
    result = subprocess.run(
        ["fish", "--no-config", "-c", "wsaccept completion fish | source; complete -C 'wsaccept '"],
        env=clean_env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", HOME=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (
        "inspect\tCheck a captured opening handshake, rule by rule, and explain what is wrong."
        in result.stdout.splitlines()
    ), result.stdout
