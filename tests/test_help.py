"""Help and version everywhere, and every command and option documented."""

from __future__ import annotations

import click
import pytest

from tests.helpers import Run
from wsaccept_cli import __version__
from wsaccept_cli.cli import commands

COMMANDS = sorted(commands())
IN_ORDER = ["compute", "verify", "genkey", "inspect", "probe", "connect", "audit", "serve",
            "completion"]  # fmt: skip


def test_commands_are_listed_in_the_order_people_use_them_with_whole_summaries(run: Run) -> None:
    assert list(commands()) == IN_ORDER
    listing = run("--help").stdout.split("Commands:\n")[1].split("\n\n")[0]
    names = [line.split()[0] for line in listing.splitlines() if not line.startswith(" " * 4)]
    assert names == IN_ORDER
    assert "…" not in listing
    assert "..." not in listing
    summary = " ".join(listing.split())
    assert (
        "inspect Check a captured opening handshake, rule by rule, and explain what is wrong."
        in summary
    )


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_help_ends_with_two_or_three_examples(run: Run, command: list[str]) -> None:
    text = run(*command, "--help").stdout
    examples = text.rstrip("\n").split("\n  Examples:\n")[-1]
    assert "Options:" not in examples
    commands = [line for line in examples.splitlines() if line[:4] == "    " and line[4] != " "]
    assert 2 <= len(commands) <= 3, text
    assert examples.count("wsaccept") >= len(commands)


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
    command = commands()[name]
    assert command.help
    assert command.epilog
    assert "Examples:" in command.epilog
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts} has no help"


def test_unknown_option_is_a_usage_error(run: Run) -> None:
    result = run("compute", "--nope")
    assert result.exit_code == 2
    assert "No such option '--nope'." in result.stderr


def test_examples_go_last_and_a_help_without_them_stays_whole() -> None:
    from wsaccept_cli.cli.base import WsacceptCommand

    command = WsacceptCommand("x", help="Do x.\n\n    \b\n    Examples:\n      wsaccept x\n")
    assert (command.help, command.epilog) == ("Do x.", "\b\n    Examples:\n      wsaccept x\n")
    plain = WsacceptCommand("y", help="Do y.\n\n    More.")
    assert (plain.help, plain.epilog) == ("Do y.\n\n    More.", None)


def test_the_command_list_imports_no_command_and_a_command_imports_only_its_own() -> None:
    # `wsaccept --help` lists every command from the table in wsaccept_cli/cli/__init__.py; a
    # command's module is imported when that command runs, and the others stay unimported.
    import subprocess
    import sys

    from tests.helpers import clean_env

    probe = (
        "import sys\n"
        "from wsaccept_cli.cli import cli\n"
        "for args in (['--help'], ['compute', 'AAAA']):\n"
        "    try:\n"
        "        cli.main(args, prog_name='wsaccept')\n"
        "    except SystemExit:\n"
        "        pass\n"
        "    loaded = sorted(m for m in sys.modules if m.startswith('wsaccept_cli.cli.'))\n"
        "    print(loaded, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, timeout=30, env=clean_env(), check=True
    )
    after_help, after_compute = [
        line for line in result.stderr.decode().splitlines() if line.startswith("[")
    ]
    shared = ["wsaccept_cli.cli.base", "wsaccept_cli.cli.options"]
    assert after_help == repr(shared)
    assert after_compute == repr(sorted([*shared, "wsaccept_cli.cli.keys"]))
