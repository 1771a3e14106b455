function __spoolrunner_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __spoolrunner_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __spoolrunner_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __spoolrunner_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __spoolrunner_parse_tokens -S
    set -l unparsed_tokens (__spoolrunner_tokens -pc)
    switch $unparsed_tokens[1]
    case 'spoolrunner'
        __spoolrunner_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'serve'
            __spoolrunner_parse_subcommand 0 'spool=' 'db=' 'definitions=' 'max-tasks=' 'max-live=' 'commit-batch=' 'store=' 'store-password-file=' 'runner-id=' 'lease=' 'store-pool=' 'notify=' 'prune-after=' 'once' 'rescan=' 'settle=' 'grace=' 'no-inotify' 'max-request-bytes=' 'log-level=' 'log-format=' 'metrics-file=' 'metrics-interval=' 'version' 'h/help'
        case 'submit'
            __spoolrunner_parse_subcommand -r 2 'json=' 'id=' 'wait' 'timeout=' 'spool=' 'definitions=' 'version' 'h/help'
        case 'status'
            __spoolrunner_parse_subcommand 1 'json' 'spool=' 'store=' 'store-password-file=' 'version' 'h/help'
        case 'history'
            __spoolrunner_parse_subcommand 0 'type=' 'status=' 'since=' 'until=' 'limit=' 'json' 'spool=' 'db=' 'store=' 'store-password-file=' 'version' 'h/help'
        case 'events'
            __spoolrunner_parse_subcommand 1 'json' 'f/follow' 'spool=' 'db=' 'store=' 'store-password-file=' 'version' 'h/help'
        case 'cancel'
            __spoolrunner_parse_subcommand 1 'wait' 'spool=' 'db=' 'store=' 'store-password-file=' 'version' 'h/help'
        case 'retry'
            __spoolrunner_parse_subcommand 1 'wait' 'spool=' 'db=' 'store=' 'store-password-file=' 'version' 'h/help'
        case 'validate'
            __spoolrunner_parse_subcommand 0 'definitions=' 'version' 'h/help'
        case 'init'
            __spoolrunner_parse_subcommand 1 'version' 'h/help'
        case 'prune'
            __spoolrunner_parse_subcommand 0 'older-than=' 'dry-run' 'spool=' 'db=' 'store=' 'store-password-file=' 'version' 'h/help'
        case 'rejections'
            __spoolrunner_parse_subcommand 0 'code=' 'since=' 'limit=' 'json' 'spool=' 'db=' 'store=' 'store-password-file=' 'version' 'h/help'
        case 'schema'
            __spoolrunner_parse_subcommand 1 'version' 'h/help'
        case 'schedules'
            __spoolrunner_parse_subcommand 0 'json' 'spool=' 'db=' 'definitions=' 'version' 'h/help'
        case 'watch'
            __spoolrunner_parse_subcommand 0 'spool=' 'db=' 'interval=' 'version' 'h/help'
        case 'migrate'
            __spoolrunner_parse_subcommand 0 'store=' 'store-password-file=' 'version' 'h/help'
        case 'runners'
            __spoolrunner_parse_subcommand 0 'json' 'store=' 'store-password-file=' 'version' 'h/help'
        case 'store'
            __spoolrunner_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'copy'
                __spoolrunner_parse_subcommand 0 'from=' 'to=' 'store-password-file=' 'spool=' 'runner-id=' 'definitions=' 'version' 'h/help'
            end
        case 'help'
            __spoolrunner_parse_subcommand -r 1 'version'
        end
    end
end

function __spoolrunner_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __spoolrunner_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __spoolrunner_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __spoolrunner_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__spoolrunner_tokens -p)
    if test -z "$(__spoolrunner_tokens -t)"
        set -l index (count (__spoolrunner_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'spoolrunner' -f
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner" version' -l 'version' -d 'Show the version.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner" -eq 1' -fa 'serve' -d 'Run the runner: take requests from the inbox and run their processes.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner" -eq 1' -fa 'submit' -d 'Submit a request: write it to tmp/ and rename it into inbox/.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner" -eq 1' -fa 'status' -d 'Show a process\'s status (one line per task), or its status file with --json.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner" -eq 1' -fa 'history' -d 'List processes from the history store, newest first.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner" -eq 1' -fa 'events' -d 'Print every state change of a process, oldest first.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner" -eq 1' -fa 'cancel' -d 'Cancel a process: pending tasks are skipped, running ones get SIGTERM (SIGKILL after 5 s).'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner" -eq 1' -fa 'retry' -d 'Resume a failed or cancelled process from its unfinished tasks, under the same id.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner" -eq 1' -fa 'validate' -d 'Check every definition; print each error as file:line:column: message; exit 1 if any.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner" -eq 1' -fa 'init' -d 'Create DIR/spool and DIR/definitions (with an example definition when it is empty).'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner" -eq 1' -fa 'prune' -d 'Delete finished processes that ended more than DUR ago: history rows, status files, logs, work directories.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner" -eq 1' -fa 'rejections' -d 'List rejected request and control files from the history store, newest first.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner" -eq 1' -fa 'schema' -d 'Print the JSON Schema (draft-07) of a file format: request, status or definition.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner" -eq 1' -fa 'schedules' -d 'List every schedule entry: cron, time zone, next slot, last submitted slot and its status.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner" -eq 1' -fa 'watch' -d 'Live view of running and recent processes (q or Ctrl-C quits).'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner" -eq 1' -fa 'migrate' -d 'Apply the PostgreSQL store\'s schema migrations (once, however many runners start at once).'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner" -eq 1' -fa 'runners' -d 'List the runners sharing a PostgreSQL store: health, leader, owned processes, definitions.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner" -eq 1' -fa 'store' -d 'Work on a PostgreSQL store (SPEC §9): copy a spool\'s SQLite history into it.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" spool' -l 'spool' -d 'Spool root (env SPOOLRUNNER_SPOOL).' -rfa '(__spoolrunner_complete_directories)'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" db' -l 'db' -d 'History store (default SPOOL/history.sqlite; env SPOOLRUNNER_DB).' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'sqlite\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" definitions' -l 'definitions' -d 'Definitions directory (env SPOOLRUNNER_DEFINITIONS).' -rfa '(__spoolrunner_complete_directories)'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" max-tasks' -l 'max-tasks' -d 'Most tasks running at once (0 with --store: accept requests, never run them).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" max-live' -l 'max-live' -d 'Most accepted processes not yet ended held at once; more requests wait in inbox/ until some end (bounds memory under a big backlog).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" commit-batch' -l 'commit-batch' -d 'Most processes whose changes one store transaction carries (group commit); more wait for the next transaction. 1 commits each process\'s changes alone (for benchmarks).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" store' -l 'store' -d 'PostgreSQL store: postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|prefer|require&schema=NAME] (env SPOOLRUNNER_STORE).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" store-password-file' -l 'store-password-file' -d 'Read the store\'s password from the first line of FILE.' -rF
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" runner-id' -l 'runner-id' -d 'This runner\'s name in the store (default HOSTNAME-<first 6 hex digits of SPOOL/runner.id>).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" lease' -l 'lease' -d 'With --store: how long the store keeps this runner\'s processes without a renewal (at least 1s); a longer lease rides out a longer database outage, a shorter one hands work over sooner.' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" store-pool' -l 'store-pool' -d 'With --store: most pooled connections to the store.' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" notify' -l 'notify' -d 'With --store: on: LISTEN for work, cancels and status changes (found at once), and NOTIFY the other runners; off: neither (no LISTEN connection, no NOTIFY): work and cancels are found by polling every second, status changes by reconciliation.' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" prune-after' -l 'prune-after' -d 'Delete finished processes that ended more than DUR ago (at least 1m), as `prune --older-than DUR` does, every DUR/2 (at least a minute, at most an hour apart). With --store the leader prunes the store and every runner removes its own spool\'s files of processes the store no longer has.' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" once' -l 'once' -d 'Resume, take the inbox, run everything to its end, then exit.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" rescan' -l 'rescan' -d 'Full rescan interval of inbox/ and control/.' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" settle' -l 'settle' -d 'How long an unparsable inbox file may stay untouched before it is rejected.' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" grace' -l 'grace' -d 'How long running tasks may finish after SIGTERM.' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" no-inotify' -l 'no-inotify' -d 'Do not use inotify (NFS and other filesystems without it): poll inbox/, control/ and the definitions directory every --rescan.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" max-request-bytes' -l 'max-request-bytes' -d 'Largest accepted request file, in bytes.' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" log-level' -l 'log-level' -d 'Lowest level logged: trace, debug, info, notice, warning, error (env SPOOLRUNNER_LOG_LEVEL).' -rfka 'trace debug info notice warning error'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" log-format' -l 'log-format' -d 'Log line format: logfmt (key=value) or json (one object per line).' -rfka 'logfmt json'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" metrics-file' -l 'metrics-file' -d 'Write Prometheus metrics to this file (node_exporter\'s textfile collector reads *.prom).' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'prom\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" metrics-interval' -l 'metrics-interval' -d 'How often --metrics-file is rewritten.' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" version' -l 'version' -d 'Show the version.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner serve" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner submit" -eq 1' -fka '(__spoolrunner_custom_completion ---completion submit -- positional@0 (count (__spoolrunner_tokens -pc)) (__spoolrunner_tokens -tC))'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner submit" json' -l 'json' -d 'Read inputs from a JSON object file (\'-\' for standard input).' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'json\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner submit" id' -l 'id' -d 'Use this process id instead of a generated one (it is the idempotency key).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner submit" wait' -l 'wait' -d 'Wait for the process to end; exit 0 only on success.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner submit" timeout' -l 'timeout' -d 'With --wait: give up after this long (exit 124).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner submit" spool' -l 'spool' -d 'Spool root (env SPOOLRUNNER_SPOOL).' -rfa '(__spoolrunner_complete_directories)'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner submit" definitions' -l 'definitions' -d 'Definitions directory (env SPOOLRUNNER_DEFINITIONS).' -rfa '(__spoolrunner_complete_directories)'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner submit" version' -l 'version' -d 'Show the version.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner submit" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner status" -eq 1' -fka '(__spoolrunner_custom_completion ---completion status -- positional@0 (count (__spoolrunner_tokens -pc)) (__spoolrunner_tokens -tC))'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner status" json' -l 'json' -d 'Print the status file as it is.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner status" spool' -l 'spool' -d 'Spool root (env SPOOLRUNNER_SPOOL).' -rfa '(__spoolrunner_complete_directories)'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner status" store' -l 'store' -d 'PostgreSQL store: postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|prefer|require&schema=NAME] (env SPOOLRUNNER_STORE).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner status" store-password-file' -l 'store-password-file' -d 'Read the store\'s password from the first line of FILE.' -rF
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner status" version' -l 'version' -d 'Show the version.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner status" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner history" type' -l 'type' -d 'Only this process type.' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner history" status' -l 'status' -d 'Only this status (pending, running, success, failed, cancelled).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner history" since' -l 'since' -d 'Created at or after TIME (ISO 8601, or a duration before now such as 2h).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner history" until' -l 'until' -d 'Created before TIME.' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner history" limit' -l 'limit' -d 'At most this many rows.' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner history" json' -l 'json' -d 'Print a JSON array.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner history" spool' -l 'spool' -d 'Spool root (env SPOOLRUNNER_SPOOL).' -rfa '(__spoolrunner_complete_directories)'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner history" db' -l 'db' -d 'History store (default SPOOL/history.sqlite; env SPOOLRUNNER_DB).' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'sqlite\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner history" store' -l 'store' -d 'PostgreSQL store: postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|prefer|require&schema=NAME] (env SPOOLRUNNER_STORE).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner history" store-password-file' -l 'store-password-file' -d 'Read the store\'s password from the first line of FILE.' -rF
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner history" version' -l 'version' -d 'Show the version.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner history" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner events" -eq 1' -fka '(__spoolrunner_custom_completion ---completion events -- positional@0 (count (__spoolrunner_tokens -pc)) (__spoolrunner_tokens -tC))'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner events" json' -l 'json' -d 'Print a JSON array (with --follow: one JSON object per line).'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner events" f follow' -l 'follow' -s 'f' -d 'Keep printing new events until the process ends.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner events" spool' -l 'spool' -d 'Spool root (env SPOOLRUNNER_SPOOL).' -rfa '(__spoolrunner_complete_directories)'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner events" db' -l 'db' -d 'History store (default SPOOL/history.sqlite; env SPOOLRUNNER_DB).' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'sqlite\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner events" store' -l 'store' -d 'PostgreSQL store: postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|prefer|require&schema=NAME] (env SPOOLRUNNER_STORE).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner events" store-password-file' -l 'store-password-file' -d 'Read the store\'s password from the first line of FILE.' -rF
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner events" version' -l 'version' -d 'Show the version.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner events" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner cancel" -eq 1' -fka '(__spoolrunner_custom_completion ---completion cancel -- positional@0 (count (__spoolrunner_tokens -pc)) (__spoolrunner_tokens -tC))'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner cancel" wait' -l 'wait' -d 'Wait for the outcome: exit 0 once the process is cancelled (cancel) or ends in success (retry).'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner cancel" spool' -l 'spool' -d 'Spool root (env SPOOLRUNNER_SPOOL).' -rfa '(__spoolrunner_complete_directories)'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner cancel" db' -l 'db' -d 'History store (default SPOOL/history.sqlite; env SPOOLRUNNER_DB).' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'sqlite\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner cancel" store' -l 'store' -d 'PostgreSQL store: postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|prefer|require&schema=NAME] (env SPOOLRUNNER_STORE).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner cancel" store-password-file' -l 'store-password-file' -d 'Read the store\'s password from the first line of FILE.' -rF
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner cancel" version' -l 'version' -d 'Show the version.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner cancel" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner retry" -eq 1' -fka '(__spoolrunner_custom_completion ---completion retry -- positional@0 (count (__spoolrunner_tokens -pc)) (__spoolrunner_tokens -tC))'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner retry" wait' -l 'wait' -d 'Wait for the outcome: exit 0 once the process is cancelled (cancel) or ends in success (retry).'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner retry" spool' -l 'spool' -d 'Spool root (env SPOOLRUNNER_SPOOL).' -rfa '(__spoolrunner_complete_directories)'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner retry" db' -l 'db' -d 'History store (default SPOOL/history.sqlite; env SPOOLRUNNER_DB).' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'sqlite\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner retry" store' -l 'store' -d 'PostgreSQL store: postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|prefer|require&schema=NAME] (env SPOOLRUNNER_STORE).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner retry" store-password-file' -l 'store-password-file' -d 'Read the store\'s password from the first line of FILE.' -rF
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner retry" version' -l 'version' -d 'Show the version.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner retry" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner validate" definitions' -l 'definitions' -d 'Definitions directory (env SPOOLRUNNER_DEFINITIONS).' -rfa '(__spoolrunner_complete_directories)'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner validate" version' -l 'version' -d 'Show the version.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner validate" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner init" -eq 1' -fa '(__spoolrunner_complete_directories)'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner init" version' -l 'version' -d 'Show the version.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner init" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner prune" older-than' -l 'older-than' -d 'Age of the processes to delete (e.g. 30d).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner prune" dry-run' -l 'dry-run' -d 'Only list what would be deleted; change nothing.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner prune" spool' -l 'spool' -d 'Spool root (env SPOOLRUNNER_SPOOL).' -rfa '(__spoolrunner_complete_directories)'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner prune" db' -l 'db' -d 'History store (default SPOOL/history.sqlite; env SPOOLRUNNER_DB).' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'sqlite\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner prune" store' -l 'store' -d 'PostgreSQL store: postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|prefer|require&schema=NAME] (env SPOOLRUNNER_STORE).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner prune" store-password-file' -l 'store-password-file' -d 'Read the store\'s password from the first line of FILE.' -rF
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner prune" version' -l 'version' -d 'Show the version.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner prune" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner rejections" code' -l 'code' -d 'Only this error code (invalid_json, not_an_object, too_large, invalid_process_id, unknown_process_type, invalid_inputs, duplicate_process_id, not_a_regular_file, unknown_action, unknown_process).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner rejections" since' -l 'since' -d 'Received at or after TIME (ISO 8601, or a duration before now such as 2h).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner rejections" limit' -l 'limit' -d 'At most this many rows.' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner rejections" json' -l 'json' -d 'Print a JSON array.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner rejections" spool' -l 'spool' -d 'Spool root (env SPOOLRUNNER_SPOOL).' -rfa '(__spoolrunner_complete_directories)'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner rejections" db' -l 'db' -d 'History store (default SPOOL/history.sqlite; env SPOOLRUNNER_DB).' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'sqlite\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner rejections" store' -l 'store' -d 'PostgreSQL store: postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|prefer|require&schema=NAME] (env SPOOLRUNNER_STORE).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner rejections" store-password-file' -l 'store-password-file' -d 'Read the store\'s password from the first line of FILE.' -rF
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner rejections" version' -l 'version' -d 'Show the version.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner rejections" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner schema" -eq 1' -fka 'request status definition'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner schema" version' -l 'version' -d 'Show the version.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner schema" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner schedules" json' -l 'json' -d 'Print a JSON array.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner schedules" spool' -l 'spool' -d 'Spool root (env SPOOLRUNNER_SPOOL).' -rfa '(__spoolrunner_complete_directories)'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner schedules" db' -l 'db' -d 'History store (default SPOOL/history.sqlite; env SPOOLRUNNER_DB).' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'sqlite\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner schedules" definitions' -l 'definitions' -d 'Definitions directory (env SPOOLRUNNER_DEFINITIONS).' -rfa '(__spoolrunner_complete_directories)'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner schedules" version' -l 'version' -d 'Show the version.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner schedules" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner watch" spool' -l 'spool' -d 'Spool root (env SPOOLRUNNER_SPOOL).' -rfa '(__spoolrunner_complete_directories)'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner watch" db' -l 'db' -d 'History store (default SPOOL/history.sqlite; env SPOOLRUNNER_DB).' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'sqlite\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner watch" interval' -l 'interval' -d 'Redraw at least this often.' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner watch" version' -l 'version' -d 'Show the version.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner watch" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner migrate" store' -l 'store' -d 'PostgreSQL store: postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|prefer|require&schema=NAME] (env SPOOLRUNNER_STORE).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner migrate" store-password-file' -l 'store-password-file' -d 'Read the store\'s password from the first line of FILE.' -rF
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner migrate" version' -l 'version' -d 'Show the version.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner migrate" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner runners" json' -l 'json' -d 'Print a JSON array.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner runners" store' -l 'store' -d 'PostgreSQL store: postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|prefer|require&schema=NAME] (env SPOOLRUNNER_STORE).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner runners" store-password-file' -l 'store-password-file' -d 'Read the store\'s password from the first line of FILE.' -rF
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner runners" version' -l 'version' -d 'Show the version.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner runners" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner store" version' -l 'version' -d 'Show the version.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner store" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_positional "spoolrunner store" -eq 1' -fa 'copy' -d 'Copy a spool\'s SQLite history into a PostgreSQL store (rerun it to finish an interrupted copy).'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner store copy" from' -l 'from' -d 'The SQLite history store to copy (SPOOL/history.sqlite).' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'sqlite\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner store copy" to' -l 'to' -d 'The PostgreSQL store to copy into (env SPOOLRUNNER_STORE).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner store copy" store-password-file' -l 'store-password-file' -d 'Read the store\'s password from the first line of FILE.' -rF
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner store copy" spool' -l 'spool' -d 'The spool the history belongs to (default: the directory of --from).' -rfa '(__spoolrunner_complete_directories)'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner store copy" runner-id' -l 'runner-id' -d 'The runner that keeps the copied processes\' status files (default: the spool\'s serve --store runner id, <host>-<first 6 hex of runner.id>).' -rfka ''
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner store copy" definitions' -l 'definitions' -d 'Definitions directory (env SPOOLRUNNER_DEFINITIONS).' -rfa '(__spoolrunner_complete_directories)'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner store copy" version' -l 'version' -d 'Show the version.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner store copy" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'spoolrunner' -n '__spoolrunner_should_offer_completions_for_flags_or_options "spoolrunner help" version' -l 'version' -d 'Show the version.'
