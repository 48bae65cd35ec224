#!/usr/bin/env python3
"""Write the shell completion scripts in this folder from wsaccept's click command tree.

    python completions/generate.py          # (re)write wsaccept.bash, _wsaccept, wsaccept.fish
    python completions/generate.py --check  # exit 1 if a committed script is stale

The scripts are click's completion sources: at <TAB> they ask `wsaccept` itself (with
_WSACCEPT_COMPLETE set) what fits, so commands, options and choices are never out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from click.shell_completion import get_completion_class

from wsaccept_cli.cli import cli

HERE = Path(__file__).resolve().parent
SCRIPTS = {"bash": "wsaccept.bash", "zsh": "_wsaccept", "fish": "wsaccept.fish"}


def completion_source(shell: str) -> str:
    """The completion script click generates for `shell`."""
    completion_class = get_completion_class(shell)
    assert completion_class is not None, shell
    source = completion_class(cli, {}, "wsaccept", "_WSACCEPT_COMPLETE").source()
    return source.rstrip("\n") + "\n"


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    stale = []
    for shell, name in SCRIPTS.items():
        path = HERE / name
        source = completion_source(shell)
        if check:
            if not path.exists() or path.read_text() != source:
                stale.append(name)
        else:
            path.write_text(source)
    if stale:
        print(f"stale: {', '.join(stale)}; run python completions/generate.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
