"""What every command module shares: the command class, the errors a command raises, the run's
Environment and the Session a command reports through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from wsaccept_cli.core.exitcodes import ExitCode
from wsaccept_cli.fastclick import Command
from wsaccept_cli.ui.environment import Environment
from wsaccept_cli.ui.session import Session
from wsaccept_cli.ui.text import display


class InputError(click.ClickException):
    """Input that cannot be read at all: exit 2, one line on stderr."""

    exit_code = ExitCode.USAGE

    def show(self, file: Any = None) -> None:
        click.echo(f"wsaccept: error: {display(self.format_message())}", err=True)


class ExamplesLast:
    """A command whose help ends with its examples: the docstring's last block, a `\\b` line
    then `Examples:`, is printed after the options (click's epilog) rather than before them,
    where a reader scrolling back from the prompt would pass them by."""

    help: str | None
    epilog: str | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        at = self.help.rfind("\b", 0, self.help.find("Examples:")) if self.help else -1
        if self.help and at >= 0 and self.epilog is None:
            self.help, self.epilog = self.help[:at].rstrip(), self.help[at:]


class WsacceptCommand(ExamplesLast, Command):
    """A command of wsaccept: examples last. Its short help is the command table's
    (`wsaccept_cli.cli.COMMANDS`), so that `wsaccept --help` lists it without importing it."""


def command(**settings: Any) -> Callable[[Callable[..., Any]], WsacceptCommand]:
    """click.command for a wsaccept command (`@command()` over the command's function)."""
    return click.command(cls=WsacceptCommand, **settings)


def environment(ctx: click.Context) -> Environment:
    """The run's Environment: the one a test handed in as `obj`, else this process's."""
    root = ctx.find_root()
    if not isinstance(root.obj, Environment):
        root.obj = Environment.of_process()
    return root.obj


def start(
    ctx: click.Context,
    fmt: str | None,
    color: bool | None,
    *,
    strict: bool = False,
    quiet: bool = False,
    required: bool = False,
    verbose: bool = False,
    clients: tuple[str, ...] | None = None,
) -> Session:
    """The session a command reports through; a closed stdout is an InputError."""
    env = environment(ctx)
    if env.stdout is None:
        raise InputError("stdout is closed")
    return Session.open(
        env,
        fmt,
        color,
        strict=strict,
        quiet=quiet,
        required=required,
        verbose=verbose,
        clients=clients,
    )


def raw_http_format(fmt: str | None, option: str) -> str:
    """The internal format that writes raw HTTP; only plain output can carry it."""
    if fmt not in (None, "plain"):
        raise click.UsageError(
            f"{option} prints raw HTTP; it cannot be combined with --format {fmt}"
        )
    return "http"


def stdin_or_usage_error(ctx: click.Context, what: str, *, several: bool = True) -> None:
    """Refuse to wait silently for input typed at a terminal nobody may be watching. `several`:
    the command takes several of `what` as arguments (KEY ...), else one (FILE)."""
    if environment(ctx).stdin_is_terminal():
        given = "as arguments" if several else "as an argument"
        raise click.UsageError(
            f"no {what} given and stdin is a terminal; give {what} {given},"
            " pipe lines in, or pass '-' to type them"
        )
