_wsaccept_client_command() {
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

_wsaccept_completion() {
    local IFS=$'\n'
    local response

    response=$(env COMP_WORDS="${COMP_WORDS[*]}" COMP_CWORD=$COMP_CWORD _WSACCEPT_COMPLETE=bash_complete $1)

    for completion in $response; do
        IFS=',' read type value <<< "$completion"

        if [[ $type == 'dir' ]]; then
            COMPREPLY=()
            compopt -o dirnames
        elif [[ $type == 'file' ]]; then
            COMPREPLY=()
            compopt -o default
        elif [[ $type == 'command' ]]; then
            _wsaccept_client_command "$value"
            return 0
        elif [[ $type == 'plain' ]]; then
            COMPREPLY+=($value)
        fi
    done

    return 0
}

_wsaccept_completion_setup() {
    complete -o nosort -F _wsaccept_completion wsaccept
}

_wsaccept_completion_setup;
