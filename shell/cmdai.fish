# cmdai for fish (written against 3.6): `cmdai init fish | source` in ~/.config/fish/config.fish.
#
# Type a sentence and press Ctrl-G (`cmdai init fish --key` picks another key): the line becomes
# the generated command, ready to edit or run; nothing is ever run for you. On an empty line the
# key does what it did before. Ctrl-C while waiting stops the request and keeps the sentence.
# A sentence ending in the token `,,` is turned into a command by Space, and by Enter, which
# then does not run it (`cmdai init fish --no-abbr` turns `,,` off).
#
# Undo brings the sentence back: Ctrl-Z or Ctrl-/ (Ctrl-_), or `u` in vi normal mode.
#
# CMDAI_NO_BIND=1 before sourcing defines the functions and binds no key; then bind your own,
# e.g. `bind \cg __cmdai_widget`, and `bind \r '__cmdai_execute \r'` so that Enter on a line
# ending in `,, ` (after a space) generates rather than runs it.

# fish draws the line only after a binding returns, so the waiting marker goes straight to the
# terminal, after the end of the line, with the cursor saved and restored around it so that
# fish's idea of where the cursor is stays true. The repaint queued before waiting redraws the
# whole line, wiping the marker, whether the request ends or Ctrl-C cancels it.
function __cmdai_marker --argument-names text buffer cursor
    set -l rest (string sub --start (math $cursor + 1) -- $buffer | string split \n)[1]
    set -l width (string length --visible -- "$rest")
    printf '\e7' >/dev/tty
    test "$width" -gt 0 2>/dev/null
    and printf '\e[%dC' $width >/dev/tty
    if test -n "$text"
        printf '%s\e8' $text >/dev/tty
    else
        printf '\e[K\e8' >/dev/tty
    end
end

# Prints a message above the prompt the way fish's own __fish_list_current_token does: below
# the line, then one blank line per extra prompt line, because the repaint moves up that many
# lines to reach the prompt's first line.
function __cmdai_say
    set -q argv[1]
    or return 0
    printf '\n%s\n' $argv >&2
    set -l lines 1
    functions -q fish_prompt
    and set lines (count (fish_prompt))
    test $lines -gt 1
    and string repeat --no-newline --count (math $lines - 1) \n >&2
    return 0
end

# Runs `cmdai suggest` on the widget contract while the marker shows, and reports its message:
# a note or warning that comes with the command, or why there is none (held back, an error).
# The command goes to $__cmdai_reply; stderr is piped to `read` (stderr of a command
# substitution ignores redirections around it, and a temporary file costs a process).
function __cmdai_generate --argument-names sentence buffer cursor
    commandline -f repaint
    __cmdai_marker ' [cmdai...]' $buffer $cursor
    set -g __cmdai_message
    set -g __cmdai_status 2
    set -l at (math "min($cursor, "(string length -- $sentence)")")
    set -l reply (CMDAI_BUFFER=$sentence CMDAI_CURSOR=$at \
        CMDAI_SHELL=fish CMDAI_SHELL_VERSION=$version \
        @CMDAI_BIN@ suggest 2>| read --global --null __cmdai_message
        set -g __cmdai_status $pipestatus[1])
    set -g __cmdai_reply (string join \n -- $reply)
    __cmdai_marker '' $buffer $cursor
    __cmdai_say (string split --no-empty \n -- $__cmdai_message)
    test $__cmdai_status -eq 0 -a -n "$__cmdai_reply"
end

# The sentence of a line whose last token is the marker `,,`; nothing otherwise.
function __cmdai_marked --argument-names buffer
    string match --regex --groups-only '^(?s)(|.*\s),,\s*$' -- $buffer | string trim
end

# Replaces the whole line with the command for it (a trailing `,,` left out); one undo step.
function __cmdai_replace_line --argument-names buffer sentence
    set -l cursor (commandline -C)
    __cmdai_generate $sentence $buffer $cursor
    or return
    commandline -r -- $__cmdai_reply
    commandline -C (string length -- $__cmdai_reply)
end

# Runs the binding KEY had before cmdai took it, for the mode in hand: the user's, recorded when
# this script was sourced, or else fish's preset (presets may be loaded after config.fish).
function __cmdai_fallback --argument-names key
    set -l recorded __cmdai_previous_(string escape --style=var -- $fish_bind_mode)_(string escape --style=var -- $key)
    set -l line $$recorded
    set -q line[1]
    or set line (bind --preset -M $fish_bind_mode $key 2>/dev/null)[1]
    set -q line[1]
    or return 0
    # The listing is the command that made the binding:
    # bind [--preset] [-M MODE] [-m NEW_MODE] [-k] [--] KEY COMMAND...
    echo $line | read --local --list --tokenize words
    set -e words[1]
    set -l new_mode
    while set -q words[1]
        switch $words[1]
            case --preset --user -k --key -s --silent
                set -e words[1]
            case -M --mode
                set -e words[1..2]
            case -m --sets-mode
                set new_mode $words[2]
                set -e words[1..2]
            case --
                set -e words[1]
                break
            case '*'
                break
        end
    end
    set -e words[1]
    set -l functions (bind --function-names)
    for command in $words
        if contains -- $command $functions
            commandline -f $command
        else
            eval $command
        end
    end
    if set -q new_mode[1]
        set fish_bind_mode $new_mode
        commandline -f repaint-mode
    end
end

# KEY is the key bound to this (for the fallback); `cmdai init`'s key when left out.
function __cmdai_widget --description 'cmdai: replace the sentence on the line with a command'
    set -l buffer (commandline -b | string collect)
    if test -z (string trim -- "$buffer")
        set -l key $argv[1]
        set -q key[1]
        or set key $__cmdai_key
        __cmdai_fallback $key
        return
    end
    set -l sentence (__cmdai_marked $buffer)
    test -n "$sentence"
    or set sentence $buffer
    __cmdai_replace_line $buffer $sentence
end

# Enter (\r and \n): a line whose last token is `,,` becomes the command, left unrun, however
# the cursor and spaces lie; any other line gets the key's previous binding (normally
# `execute`, which expands abbreviations itself).
function __cmdai_execute --argument-names key
    set -l buffer (commandline -b | string collect)
    set -l sentence (__cmdai_marked $buffer)
    if test -n "$sentence"
        __cmdai_replace_line $buffer $sentence
    else
        __cmdai_fallback $key
    end
end

# The abbreviation replaces only its own token, runs after the key that triggered it has edited
# the line, and cannot set the line itself; the rest is done by readline functions it queues.
# Which key it was shows in where the cursor is, as these cases cannot overlap:
# - Space (or other whitespace) was just typed after `,,`: generate. The token becomes the
#   command and the queued functions delete the sentence before it, as one undo group opened
#   here (`commandline -f begin-undo-group` acts at once) and closed by the queued `undo redo`
#   (both end a group; undoing and redoing it leaves the line as it was).
# - Enter, when another binding than cmdai's has it (the cursor is on the token): fish expands,
#   then runs whatever the line has become, and runs the sentence as typed if the function is
#   interrupted; so nothing slow happens here. The token becomes `,, "`, which leaves the line
#   incomplete (fish adds a newline instead of running it); the queued functions undo the
#   newline, delete the quote and expand again after the space: the Space case, where Ctrl-C
#   cannot make anything run.
# When generation fails or is cancelled, the line keeps the sentence and the marker.
function __cmdai_abbr --description 'cmdai: expand a sentence ending in ,, into a command'
    set -l buffer (commandline -b | string collect)
    set -l cursor (commandline -C)
    set -l head (string match --regex --groups-only '^(?s)(.*?),,\s*$' -- $buffer)
    set -l sentence (string trim -- "$head")
    test -n "$sentence"
    or return 1
    set -l start (string length -- $head)
    if test $cursor -ge $start -a $cursor -le (math $start + 2)
        # A dance that leads to another is not the Enter case: stop before it could loop.
        set -g __cmdai_abbr_dances (math $__cmdai_abbr_dances + 1)
        test $__cmdai_abbr_dances -lt 3
        and commandline -f undo backward-delete-char expand-abbr
        printf ',, "'
        return 0
    end
    set -g __cmdai_abbr_dances 0
    test $cursor -eq (math $start + 3)
    or return 1
    __cmdai_generate $sentence $buffer $cursor
    or return 1
    set -l deletes (string repeat --count $start 'delete-char ' | string trim)
    commandline -f begin-undo-group
    commandline -f beginning-of-buffer (string split ' ' -- $deletes) undo redo end-of-buffer
    printf '%s' $__cmdai_reply
end

# At every prompt, ask the daemon (in the background, never waiting, silent) to evaluate this
# directory's context while the sentence is typed, so that the key pays for the sentence only.
# It starts no daemon. CMDAI_NO_PREPARE=1 before sourcing turns it off.
if test "$CMDAI_NO_PREPARE" != 1
    function __cmdai_prepare --on-event fish_prompt
        CMDAI_SHELL=fish CMDAI_SHELL_VERSION=$version @CMDAI_BIN@ prepare </dev/null >/dev/null 2>&1 &
        disown $last_pid 2>/dev/null
    end
end

set -g __cmdai_key (string unescape -- @CMDAI_KEY@)
set -g __cmdai_abbr_dances 0
if test "$CMDAI_NO_BIND" != 1
    set -l bindings $__cmdai_key "__cmdai_widget "(string escape -- $__cmdai_key)
    test @CMDAI_ABBR@ = 1
    and set -a bindings \r '__cmdai_execute \r' \n '__cmdai_execute \n'
    for mode in default insert
        set -l pairs $bindings
        while set -q pairs[2]
            set -l previous (bind --user -M $mode $pairs[1] 2>/dev/null)[1]
            string match -q '*__cmdai_*' -- $previous
            or set -g __cmdai_previous_{$mode}_(string escape --style=var -- $pairs[1]) $previous
            bind -M $mode $pairs[1..2]
            set -e pairs[1..2]
        end
    end
end
if test @CMDAI_ABBR@ = 1
    abbr --add __cmdai_abbr_marker --position anywhere --regex ',,' --function __cmdai_abbr
end
