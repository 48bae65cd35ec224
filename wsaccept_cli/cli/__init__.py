"""The `wsaccept` commands: parse arguments, call the core or the network code, hand the results
to the session. How things look is decided in `ui`, what is true in `core`.

This package holds the group (`cli`), the console script's `main`, and one module per command;
`base` and `options` hold what the commands share. A command's module is imported only when
that command runs (or its help is asked for), so a one-liner pays for its own command alone.

To add a command: write a module here with one function decorated with `base.command()` (its
docstring is the help, ending with two or three examples; shared options come from `options`
by name, e.g. `@handshake_options` for what probe sends and how), and add one line to
`COMMANDS` below: its name, its module and its one-line summary for `wsaccept --help`. A
command module imports `base`, `options` and the layers below (core, net, stream, ui), never
another command's module (tests/test_architecture.py keeps that so).
"""

from __future__ import annotations

import importlib
from contextlib import suppress
from typing import Any

import click

from wsaccept_cli import __version__
from wsaccept_cli.cli.base import ExamplesLast, InputError, WsacceptCommand, environment
from wsaccept_cli.cli.options import output_options
from wsaccept_cli.core.exitcodes import ExitCode
from wsaccept_cli.fastclick import Group, version_option
from wsaccept_cli.ui.inputs import UnreadableInputError
from wsaccept_cli.ui.text import display
from wsaccept_cli.ui.writer import OutputError, TerminatedError, discard_stdout

# name: (module in this package, summary for `wsaccept --help`), in the order people use them.
COMMANDS = {
    "compute": ("keys", "Print the Sec-WebSocket-Accept for each KEY."),
    "verify": ("keys", "Check that ACCEPT is the right Sec-WebSocket-Accept for KEY."),
    "genkey": ("keys", "Print fresh Sec-WebSocket-Key values from the OS random source."),
    "inspect": (
        "inspect",
        "Check a captured opening handshake, rule by rule, and explain what is wrong.",
    ),
    "probe": ("probe", "Check a live server's opening handshake over ws:// or wss://."),
    "connect": ("connect", "Open a WebSocket, check its handshake, and talk: send and receive."),
    "audit": ("audit", "Audit a WebSocket server's handshake with many deliberate requests."),
    "serve": (
        "serve",
        "Serve handshakes to test WebSocket clients, or relay and check both sides.",
    ),
    "completion": ("completion", "Print the shell completion script for bash, zsh or fish."),
}


class WsacceptGroup(ExamplesLast, Group):
    """The commands from the table, each imported when it is run; Ctrl-C, SIGTERM, a closed
    stdout, a failed write and unreadable input mapped to their exit codes."""

    command_class = WsacceptCommand

    def list_commands(self, ctx: click.Context) -> list[str]:
        """In the order people use them, not alphabetical."""
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, summary = COMMANDS[name]
        found: click.Command = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        found.short_help = summary
        return found

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of `wsaccept --help`, from the table: no command imported."""
        from gettext import gettext as _

        with formatter.section(_("Commands")):
            formatter.write_dl([(name, summary) for name, (_module, summary) in COMMANDS.items()])

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        """Command names (with their summaries, from the table), then the group's options."""
        from click.shell_completion import CompletionItem

        names = [
            CompletionItem(name, help=summary)
            for name, (_module, summary) in COMMANDS.items()
            if name.startswith(incomplete)
        ]
        return names + click.Command.shell_complete(self, ctx, incomplete)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                return super().invoke(ctx)
            except UnreadableInputError as error:
                raise InputError(str(error)) from None
        except KeyboardInterrupt:
            ctx.exit(ExitCode.INTERRUPTED)
        except TerminatedError:
            ctx.exit(ExitCode.TERMINATED)
        except BrokenPipeError:
            discard_stdout(environment(ctx).stdout)
            ctx.exit(ExitCode.BROKEN_PIPE)
        except OutputError as error:
            discard_stdout(environment(ctx).stdout)
            click.echo(f"wsaccept: error: {display(str(error))}", err=True)
            ctx.exit(ExitCode.OUTPUT_FAILED)


def commands() -> dict[str, click.Command]:
    """Every command, imported (for the tests, the man page and completion checks)."""
    ctx = click.Context(cli, info_name="wsaccept")
    return {name: command for name in COMMANDS if (command := cli.get_command(ctx, name))}


@click.group(
    name="wsaccept", cls=WsacceptGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@version_option(__version__, "-V", "--version")
@output_options
@click.pass_context
def cli(ctx: click.Context, fmt: str | None, color: bool | None) -> None:
    """Compute, check and debug the WebSocket opening handshake (RFC 6455).

    Sec-WebSocket-Accept is base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), taken
    over the Sec-WebSocket-Key exactly as sent. compute, verify and genkey work on keys;
    inspect checks a captured handshake, probe a live server, audit a server with many
    deliberate requests, serve tests clients (and relays to a server). Results go to stdout,
    diagnostics to stderr.

    \b
    Exit status: 0 success; 1 a check failed (a mismatch, an invalid key
    under --strict, an input line with no key, a broken handshake rule, an
    audit case FAILED); 2 usage error or unreadable input; 3, 4, 5, 6 probe
    and audit: no connection, TLS failed, timeout, proxy failed; 74 stdout
    not writable; 130 Ctrl-C; 141 stdout closed by its reader; 143 SIGTERM.

    \b
    Examples:
      wsaccept compute dGhlIHNhbXBsZSBub25jZQ==
      wsaccept inspect examples/decoded-key-bug.http
      wsaccept probe ws://localhost:8080/chat
    """
    environment(ctx)


def main() -> None:
    """The console script: click's main, and what happens around it.

    Errors are shown through the display boundary (click's usage errors echo arguments). A
    Ctrl-C or SIGTERM ends wsaccept by that signal itself, after its whole lines, so that a
    calling shell loop, xargs or make stops too. Help or version text that stdout would not take
    is one line and exit 74 (141, quietly, for a closed pipe), not a traceback.
    """
    import sys

    from wsaccept_cli.ui.text import DisplayStream
    from wsaccept_cli.ui.writer import end_by_signal

    try:
        code = cli.main(prog_name="wsaccept", standalone_mode=False)
    except click.ClickException as error:
        if sys.stderr is not None:
            with suppress(OSError, ValueError):
                error.show(DisplayStream(sys.stderr))  # type: ignore[arg-type]
        code = error.exit_code
    except (click.Abort, KeyboardInterrupt):  # Ctrl-C before or after a command ran
        code = ExitCode.INTERRUPTED
    end_by_signal(code)
    sys.exit(code)
