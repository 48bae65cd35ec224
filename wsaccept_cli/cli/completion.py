"""completion: print the shell completion script (the text is wsaccept_cli/completion.py's)."""

from __future__ import annotations

import click

from wsaccept_cli.cli.base import command, start

SHELLS = ("bash", "zsh", "fish")  # wsaccept_cli.completion.SHELLS, not imported at start-up


@command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL: commands, options, their choices and file names
    complete at <TAB>. Load it from your shell's start-up file.

    \b
    Examples:
      eval "$(wsaccept completion bash)"     # in ~/.bashrc
      eval "$(wsaccept completion zsh)"      # in ~/.zshrc, after compinit
      wsaccept completion fish > ~/.config/fish/completions/wsaccept.fish
    """
    from wsaccept_cli.completion import completion_script

    start(ctx, "plain", False).stdout.write(completion_script(shell).encode())
