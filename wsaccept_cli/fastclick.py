"""click's help option and file type, built without a gettext lookup: the one place wsaccept
overrides click, for start-up time alone.

click looks every help text and type name up in a translation catalogue when it builds the
option (it ships none). The first lookup imports `locale` and each searches the file system for
catalogues: about 1.6 ms of a one-liner's 65 (six lookups, measured with `python -X importtime`
and timed calls; bench/README.md), a tenth of the start-up budget of 1.15 × `import click`. So
the help and version options are made with their texts given (click.version_option looks its
help text up even when it is given one), and file arguments use `FilePath`, which is
click.Path(dir_okay=False) with its name given. tests/test_process.py keeps a one-liner
from importing `locale`; tests/test_help.py checks FilePath against click.Path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

HELP_TEXT = "Show this message and exit."


def _echo(ctx: click.Context, text: str) -> None:
    """Help or version text on stdout, then exit; a stdout that will not take it is exit 74
    with one line on stderr, or 141, quietly, for a reader that went away (click itself would
    exit 1, or show a traceback)."""
    try:
        click.echo(text, color=ctx.color)
    except OSError as error:
        from wsaccept_cli.ui.writer import unwritable_stdout

        ctx.exit(unwritable_stdout(error))
    ctx.exit()


def _show_help(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        _echo(ctx, ctx.get_help())


def version_option(version: str, *names: str) -> Callable[[F], F]:
    """click.version_option(version, *names), its help text given."""

    def show(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value and not ctx.resilient_parsing:
            _echo(ctx, f"{ctx.find_root().info_name}, version {version}")

    return click.option(
        *names, is_flag=True, expose_value=False, is_eager=True, callback=show,
        help="Show the version and exit.",
    )  # fmt: skip


class HelpOption:
    """click's -h/--help, its help text given rather than looked up."""

    help_option: click.Option | None = None

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        assert isinstance(self, click.Command)
        names = self.get_help_option_names(ctx)
        if not names or not self.add_help_option:
            return None
        if self.help_option is None:
            self.help_option = click.Option(
                names, is_flag=True, expose_value=False, is_eager=True, help=HELP_TEXT,
                callback=_show_help,
            )  # fmt: skip
        return self.help_option


class Command(HelpOption, click.Command):
    """A click command whose help option costs no lookup."""


class Group(HelpOption, click.Group):
    """A click group whose help option costs no lookup, and whose commands are `Command`s."""

    command_class = Command


class FilePath(click.Path):
    """click.Path(dir_okay=False): a file (or '-' where allowed), completed as a file name by
    every shell; the attributes click.Path.__init__ sets, set here without its name lookup."""

    def __init__(self, *, exists: bool = False, allow_dash: bool = False) -> None:
        self.exists = exists
        self.file_okay = True
        self.dir_okay = False
        self.readable = True
        self.writable = False
        self.executable = False
        self.resolve_path = False
        self.allow_dash = allow_dash
        self.type: Any = None
        self.name = "file"
