#!/usr/bin/env python3
"""Write the shell completion scripts in this folder: the text `wsaccept completion SHELL` prints
(one source, `wsaccept_cli/completion.py`), for the wheel to install where shells look.

    python completions/generate.py          # (re)write wsaccept.bash, _wsaccept, wsaccept.fish
    python completions/generate.py --check  # exit 1 if a committed script is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

from wsaccept_cli.completion import completion_script

HERE = Path(__file__).resolve().parent
SCRIPTS = {"bash": "wsaccept.bash", "zsh": "_wsaccept", "fish": "wsaccept.fish"}


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    stale = []
    for shell, name in SCRIPTS.items():
        path = HERE / name
        source = completion_script(shell)
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
