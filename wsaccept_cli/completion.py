"""The shell completion scripts, from one source: click's completion scripts for wsaccept, with
two fixes. `wsaccept completion SHELL` prints them (so they work after `pip install` or
`pipx install`, wherever the package landed), and `completions/generate.py` writes the same text
into `completions/`, which the wheel installs where shells look (a test keeps them equal).

The scripts ask `wsaccept` itself (with _WSACCEPT_COMPLETE set) what fits at <TAB>, so commands,
options, choices and file names are never out of date. The first fix: click's fish script splits
each answer at every comma, which cut a description at its first one ("Check a captured opening
handshake, rule by rule, ..." showed as "Check a captured opening handshake"); it is split at
the first comma only, the one between the kind of answer and the answer. The second: the client
command of `serve --check-client -- CMD ARG...` is completed as sudo and env complete theirs (a
command name from PATH, then that command's own completion, file names by default), which only
the shell can do, so wsaccept answers "command" (see complete_client_command) and each script
hands the words from CMD on to its shell's completion.
"""

from __future__ import annotations

from typing import Any

import click

SHELLS = ("bash", "zsh", "fish")
_BASH_CLIENT_COMMAND = r"""_wsaccept_client_command() {
    # The client command after `serve --check-client --`, from word COMP_CWORD-$1 on, completed
    # as sudo and env do: bash-completion's _command_offset where it is loaded; otherwise a
    # command name, then that command's own completion function, else file names.
    local start=$((COMP_CWORD - $1))
    if declare -F _command_offset >/dev/null; then
        _command_offset "$start"
        return
    fi
    if (( $1 == 0 )); then
        COMPREPLY=($(compgen -c -- "${COMP_WORDS[COMP_CWORD]}"))
        return
    fi
    local cmd=${COMP_WORDS[start]} spec func
    spec=$(complete -p -- "$cmd" 2>/dev/null)
    if [[ $spec =~ -F\ ([^ ]+) ]]; then
        func=${BASH_REMATCH[1]}
        local words=("${COMP_WORDS[@]:start}")
        local COMP_WORDS=("${words[@]}") COMP_CWORD=$1
        "$func" "$cmd" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    else
        compopt -o default
        COMPREPLY=()
    fi
}

_wsaccept_completion() {"""

# Each fix: (text of click's script, its replacement); a test fails if click's text changes.
_FIXES = {
    "bash": [
        ("_wsaccept_completion() {", _BASH_CLIENT_COMMAND),
        (
            "        elif [[ $type == 'plain' ]]; then",
            "        elif [[ $type == 'command' ]]; then\n"
            '            _wsaccept_client_command "$value"\n'
            "            return 0\n"
            "        elif [[ $type == 'plain' ]]; then",
        ),
    ],
    "zsh": [
        (
            '        elif [[ "$type" == "dir" ]]; then',
            '        elif [[ "$type" == "command" ]]; then\n'
            "            # The client command after `serve --check-client --`, as sudo's: from\n"
            "            # the word $key words back, a command name, then its own completion.\n"
            "            shift $(( CURRENT - key - 1 )) words\n"
            "            (( CURRENT = key + 1 ))\n"
            "            _normal\n"
            "            return\n"
            '        elif [[ "$type" == "dir" ]]; then',
        )
    ],
    "fish": [
        ('(string split "," $completion)', '(string split --max 1 "," $completion)'),
        (
            '        else if test $metadata[1] = "plain";',
            '        else if test $metadata[1] = "command";\n'
            "            # The client command after `serve --check-client --`, as sudo's: the\n"
            "            # last $metadata[2] words and the one at the cursor, completed alone.\n"
            "            set -l words\n"
            "            if test $metadata[2] -gt 0;\n"
            "                set -l typed (commandline -opc);\n"
            "                set -l first (math (count $typed) - $metadata[2] + 1);\n"
            "                set words (string escape -- $typed[$first..-1]);\n"
            "            end;\n"
            "            complete -C (string join ' ' -- $words (commandline -ct));\n"
            '        else if test $metadata[1] = "plain";',
        ),
    ],
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


def complete_client_command(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[Any]:
    """At <TAB> in the client command of `serve --check-client -- CMD ARG...`: one answer of
    kind "command" whose value is how many words of CMD come before the one being completed.
    The scripts then complete from that word on as sudo and env do: a command name (from PATH)
    first, then whatever that command's own completion offers, file names by default."""
    from click.shell_completion import CompletionItem

    typed = ctx.params.get(param.name or "") or ()
    return [CompletionItem(str(len(typed)), type="command")]
