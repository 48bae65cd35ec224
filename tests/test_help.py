"""Help and version everywhere, and every command and option documented."""

from __future__ import annotations

import click
import pytest

from tests.helpers import Run
from wsaccept_cli import __version__
from wsaccept_cli.cli import cli

COMMANDS = sorted(cli.commands)


def test_commands() -> None:
    assert COMMANDS == ["compute", "genkey", "inspect", "probe", "serve", "verify"]


@pytest.mark.parametrize("flag", ["-h", "--help"])
@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_help(run: Run, command: list[str], flag: str) -> None:
    result = run(*command, flag)
    assert result.exit_code == 0
    assert result.stdout.startswith(f"Usage: wsaccept {' '.join(command)}".rstrip() + " ")


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(run: Run, flag: str) -> None:
    assert run(flag).stdout == f"wsaccept, version {__version__}\n"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_and_option_has_help(name: str) -> None:
    command = cli.commands[name]
    assert command.help
    assert "Examples:" in command.help
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts} has no help"


def test_unknown_option_is_a_usage_error(run: Run) -> None:
    result = run("compute", "--nope")
    assert result.exit_code == 2
    assert "No such option '--nope'." in result.stderr
