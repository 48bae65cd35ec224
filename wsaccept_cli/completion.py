"""The shell completion scripts, from one source: click's completion scripts for wsaccept, with
one fix. `wsaccept completion SHELL` prints them (so they work after `pip install` or
`pipx install`, wherever the package landed), and `completions/generate.py` writes the same text
into `completions/`, which the wheel installs where shells look (a test keeps them equal).

The scripts ask `wsaccept` itself (with _WSACCEPT_COMPLETE set) what fits at <TAB>, so commands,
options, choices and file names are never out of date. The fix: click's fish script splits each
answer at every comma, which cut a description at its first one ("Check a captured opening
handshake, rule by rule, ..." showed as "Check a captured opening handshake"); it is split at the
first comma only, the one between the kind of answer and the answer.
"""

from __future__ import annotations

SHELLS = ("bash", "zsh", "fish")
_FIXES = {
    "fish": [('(string split "," $completion)', '(string split --max 1 "," $completion)')],
}


def completion_script(shell: str) -> str:
    """The completion script for `shell` (bash, zsh or fish), ending in one newline."""
    from click.shell_completion import get_completion_class

    completion_class = get_completion_class(shell)
    assert completion_class is not None, shell
    # The script's text depends on the program's name and variable alone, not on the commands.
    source: str = completion_class(None, {}, "wsaccept", "_WSACCEPT_COMPLETE").source()  # type: ignore[arg-type]
    for old, new in _FIXES.get(shell, []):
        assert old in source, f"click's {shell} script changed: {old!r} not found"
        source = source.replace(old, new)
    return source.rstrip("\n") + "\n"
