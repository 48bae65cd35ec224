function _wsaccept_completion;
    set -l response (env _WSACCEPT_COMPLETE=fish_complete COMP_WORDS=(commandline -cp) COMP_CWORD=(commandline -t) wsaccept);

    for completion in $response;
        set -l metadata (string split --max 1 "," $completion);

        if test $metadata[1] = "dir";
            __fish_complete_directories $metadata[2];
        else if test $metadata[1] = "file";
            __fish_complete_path $metadata[2];
        else if test $metadata[1] = "command";
            # The client command after `serve --check-client --`, as sudo's: the
            # last $metadata[2] words and the one at the cursor, completed alone.
            set -l words
            if test $metadata[2] -gt 0;
                set -l typed (commandline -opc);
                set -l first (math (count $typed) - $metadata[2] + 1);
                set words (string escape -- $typed[$first..-1]);
            end;
            complete -C (string join ' ' -- $words (commandline -ct));
        else if test $metadata[1] = "plain";
            echo $metadata[2];
        end;
    end;
end;

complete --no-files --command wsaccept --arguments "(_wsaccept_completion)";
