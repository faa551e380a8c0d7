# cmdai for bash (readline): type a sentence, press the key (Ctrl-G unless `cmdai init --key`
# said otherwise), and the line becomes a command. Nothing runs until you press Enter.
#
# Undo brings the sentence back: Ctrl-_ or Ctrl-X Ctrl-U in emacs mode, Ctrl-_ in vi insert
# mode (bash makes a `bind -x` change of the line one undo step). In vi command mode `u` undoes
# the whole insert session, sentence included, so undo before pressing Esc.
# Ctrl-C while the model works cancels it and keeps the sentence.
# On an empty line the key does what it did before this script was sourced. Set CMDAI_NO_BIND=1
# before sourcing to define the functions without binding any key.
#
# Why it is shaped like this:
# - The key is a `bind -x` widget whenever the old binding can be reproduced from the shell
#   (abort rings the bell; another `bind -x` command is run by eval). Readline then still
#   treats the key as a command, so Ctrl-G keeps cancelling an incremental search (Ctrl-R).
# - Only when the old binding is another readline function or a macro does the key become a
#   macro: a private `bind -x` key runs the widget, then a second private key that the widget
#   rebinds on every press either does nothing or replays the old binding (a third private
#   key, bound to it once here). Shell code cannot call a readline function any other way.
# - bash clears the line before running a `bind -x` command, so while the model works the
#   widget reprints the prompt's last line and the sentence itself, with a marker after it.
# - Returning 124 from a `bind -x` command makes bash (5.1+) redraw the whole prompt, so a
#   message printed above it leaves a multi-line prompt intact.
# - Ctrl-C during a `bind -x` command makes bash throw the line away; a temporary INT trap lets
#   the client die alone, and the user's own trap is put back afterwards.

__cmdai_marker=' [cmdai...]'

# Undoes the quoting of `bind -X` (readline's macro syntax): \\ \" \e \C-x \C-? and \M-x.
__cmdai_unquote() {
    local __cmdai_in=$1 __cmdai_c
    REPLY=
    while [[ -n $__cmdai_in ]]; do
        __cmdai_c=${__cmdai_in:0:1}
        __cmdai_in=${__cmdai_in:1}
        if [[ $__cmdai_c == "\\" ]]; then
            case $__cmdai_in in
                'C-?'*) __cmdai_c=$'\177' __cmdai_in=${__cmdai_in:3} ;;
                C-?*)
                    printf -v __cmdai_c '%03o' "$(($(printf '%d' "'${__cmdai_in:2:1}") & 31))"
                    printf -v __cmdai_c '%b' "\\$__cmdai_c"
                    __cmdai_in=${__cmdai_in:3}
                    ;;
                M-?*)
                    printf -v __cmdai_c '%03o' "$(($(printf '%d' "'${__cmdai_in:2:1}") | 128))"
                    printf -v __cmdai_c '%b' "\\$__cmdai_c"
                    __cmdai_in=${__cmdai_in:3}
                    ;;
                e*) __cmdai_c=$'\e' __cmdai_in=${__cmdai_in:1} ;;
                ?*) __cmdai_c=${__cmdai_in:0:1} __cmdai_in=${__cmdai_in:1} ;;
            esac
        fi
        REPLY+=$__cmdai_c
    done
}

# Prints what `key` is bound to in `listing` (the output of bind -p, -s or -X), or fails.
__cmdai_binding_in() {
    local __cmdai_all=$'\n'$2$'\n' __cmdai_head=$'\n'"\"$1\": "
    [[ $__cmdai_all == *"$__cmdai_head"* ]] || return 1
    __cmdai_all=${__cmdai_all#*"$__cmdai_head"}
    printf '%s' "${__cmdai_all%%$'\n'*}"
}

__cmdai_keymap_name() {
    case $1 in
        e) REPLY=emacs ;;
        *) REPLY=vi-insert ;;
    esac
}

__cmdai_bell() {
    case $(bind -v 2>/dev/null) in
        *'bell-style none'*) ;;
        *'bell-style visible'*) command tput flash 2>/dev/null || printf '\a' >&2 ;;
        *) printf '\a' >&2 ;;
    esac
}

# The empty-line press: what the key did before. Runs inside the widget's `bind -x`.
__cmdai_fallback() {
    local __cmdai_var=__cmdai_fallback_$1 REPLY
    local __cmdai_how=${!__cmdai_var-bell}
    case $__cmdai_how in
        bell) __cmdai_bell ;;
        chain)
            __cmdai_keymap_name "$1"
            bind -m "$REPLY" "\"\\C-x\\C-_z$1\": \"\\C-x\\C-_f$1\""
            ;;
        x:*) eval "${__cmdai_how#x:}" ;;
    esac
}

__cmdai_return() {
    return "$1"
}

# The prompt's last line as the terminal shows it (bash >= 4.4), for reprinting the sentence.
__cmdai_prompt_line() {
    REPLY=
    if ((BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 4))); then
        # $? as the prompt saw it; the `||` keeps `set -e` from ending the shell.
        __cmdai_return "$1" && REPLY=${PS1@P} || REPLY=${PS1@P}
        REPLY=${REPLY##*$'\n'}
    fi
}

# Reprints the prompt's last line and the sentence (bash has just cleared them) with a dim
# marker when it fits on the last row, saving the cursor so that __cmdai_unmark can erase it.
__cmdai_mark() {
    local REPLY __cmdai_shown
    __cmdai_prompt_line "$1"
    # What the terminal counts: \[...\] arrives as \001...\002 and takes no columns.
    __cmdai_shown=$REPLY
    while [[ $__cmdai_shown == *$'\001'*$'\002'* ]]; do
        __cmdai_shown=${__cmdai_shown%%$'\001'*}${__cmdai_shown#*$'\002'}
    done
    REPLY=${REPLY//[$'\001\002']/}
    printf '\e7%s%s' "$REPLY" "$READLINE_LINE" >&2
    local __cmdai_cols=${COLUMNS:-80} __cmdai_used=$((${#__cmdai_shown} + ${#READLINE_LINE}))
    if [[ $READLINE_LINE != *$'\n'* ]] && ((__cmdai_cols > 0)) &&
        ((__cmdai_used % __cmdai_cols + ${#__cmdai_marker} < __cmdai_cols)); then
        printf '\e[2m%s\e[0m' "$__cmdai_marker" >&2
    fi
}

__cmdai_unmark() {
    printf '\e8\e[J' >&2
}

# Runs the client on the line; replaces it on success, else leaves it. Either way the client's
# last line on stderr (a note or warning with the command, or why there is none) is printed.
__cmdai_suggest() {
    local __cmdai_status=$1 __cmdai_out="" __cmdai_rc=0 __cmdai_errfile __cmdai_trap
    local __cmdai_err="" __cmdai_line=""
    __cmdai_errfile=$(command mktemp "${TMPDIR:-/tmp}/cmdai.XXXXXX" 2>/dev/null) || __cmdai_errfile=
    __cmdai_mark "$__cmdai_status"
    __cmdai_trap=$(trap -p INT)
    trap : INT
    __cmdai_out=$(CMDAI_BUFFER=$READLINE_LINE CMDAI_CURSOR=$READLINE_POINT CMDAI_SHELL=bash \
        CMDAI_SHELL_VERSION=${BASH_VERSION%%[(]*} \
        @CMDAI_BIN@ suggest 2>"${__cmdai_errfile:-/dev/null}") || __cmdai_rc=$?
    if [[ -n $__cmdai_trap ]]; then eval "$__cmdai_trap"; else trap - INT; fi
    __cmdai_unmark
    if [[ -n $__cmdai_errfile ]]; then
        # The last line says why (a "loading the model" line may come before it). Not
        # $(<file): in bash 5.2 that inside `bind -x` breaks the parsing of the next command line.
        while IFS= read -r __cmdai_line || [[ -n $__cmdai_line ]]; do
            [[ -n $__cmdai_line ]] && __cmdai_err=$__cmdai_line
        done <"$__cmdai_errfile"
        command rm -f -- "$__cmdai_errfile"
    fi
    if ((__cmdai_rc == 0)) && [[ -n $__cmdai_out ]]; then
        READLINE_LINE=$__cmdai_out
        # In bytes: bash 4 counts bytes, bash 5 counts characters and clamps to the end.
        local LC_ALL=C
        READLINE_POINT=${#READLINE_LINE}
    elif [[ -z $__cmdai_err ]] && ((__cmdai_rc > 2 && __cmdai_rc < 128)); then
        __cmdai_err="cmdai: suggest failed (exit $__cmdai_rc)"
    fi
    [[ -n $__cmdai_err ]] || return 0
    printf '%s\n' "$__cmdai_err" >&2
    return 124
}

# The key's `bind -x` command; $1 says which keymap it was bound in (e: emacs, i: vi-insert).
__cmdai_widget() {
    local __cmdai_status=$?
    local __cmdai_var=__cmdai_fallback_$1 REPLY
    if [[ ${!__cmdai_var-} == chain ]]; then
        __cmdai_keymap_name "$1"
        bind -m "$REPLY" "\"\\C-x\\C-_z$1\": \"\""
    fi
    if [[ -z ${READLINE_LINE//[[:space:]]/} ]]; then
        __cmdai_fallback "$1"
    else
        __cmdai_suggest "$__cmdai_status"
    fi
}

# Prints how the key's old binding in `keymap` can be replayed: "x:COMMAND" (a `bind -x`
# command, unquoted), "s:MACRO" or "f:FUNCTION" (as bind prints them), or fails when unbound.
__cmdai_old_binding() {
    local __cmdai_keymap=$1 __cmdai_key=$2 __cmdai_old REPLY
    if ((BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 3))); then
        if __cmdai_old=$(__cmdai_binding_in "$__cmdai_key" "$(bind -m "$__cmdai_keymap" -X)")
        then
            __cmdai_old=${__cmdai_old#\"}
            __cmdai_unquote "${__cmdai_old%\"}"
            printf 'x:%s' "$REPLY"
            return 0
        fi
        if __cmdai_old=$(__cmdai_binding_in "$__cmdai_key" "$(bind -m "$__cmdai_keymap" -s)")
        then
            printf 's:%s' "$__cmdai_old"
            return 0
        fi
    fi
    __cmdai_old=$(__cmdai_binding_in "$__cmdai_key" "$(bind -m "$__cmdai_keymap" -p)") &&
        printf 'f:%s' "$__cmdai_old"
}

# Records what the key does in `keymap` now, then binds it there to the widget.
__cmdai_bind() {
    local __cmdai_keymap=$1 __cmdai_id=$2 __cmdai_key=@CMDAI_KEY@ __cmdai_old
    local __cmdai_var=__cmdai_fallback_$2 __cmdai_how=none
    # An Alt key arrives as Esc and a letter, which in vi insert mode is how one leaves insert
    # mode and moves (Esc k): only a Ctrl key is bound there.
    [[ $__cmdai_keymap == vi-insert && $__cmdai_key == '\e'* ]] && return 0
    __cmdai_old=$(__cmdai_old_binding "$__cmdai_keymap" "$__cmdai_key")
    case $__cmdai_old in
        # Sourced a second time: the key is already ours, keep what the first time recorded.
        *__cmdai_widget* | *'\C-x\C-_c'*) __cmdai_how=${!__cmdai_var-bell} ;;
        x:*) __cmdai_how=$__cmdai_old ;;
        f:abort) __cmdai_how=bell ;;
        f:self-insert | '') __cmdai_how=none ;;
        f:* | s:*)
            # Chaining needs `bind -x` on a private sequence of more than two bytes (4.3+).
            if ((BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 3)))
            then
                __cmdai_how=chain
                bind -m "$__cmdai_keymap" "\"\\C-x\\C-_f$__cmdai_id\": ${__cmdai_old#?:}"
            fi
            ;;
    esac
    printf -v "$__cmdai_var" '%s' "$__cmdai_how"
    # bash 5.1 corrupts other `bind -x` keys when one is overwritten in place.
    bind -m "$__cmdai_keymap" -r "$__cmdai_key"
    if [[ $__cmdai_how == chain ]]; then
        bind -m "$__cmdai_keymap" -x "\"\\C-x\\C-_c$__cmdai_id\": __cmdai_widget $__cmdai_id"
        bind -m "$__cmdai_keymap" "\"\\C-x\\C-_z$__cmdai_id\": \"\""
        bind -m "$__cmdai_keymap" \
            "\"$__cmdai_key\": \"\\C-x\\C-_c$__cmdai_id\\C-x\\C-_z$__cmdai_id\""
    else
        bind -m "$__cmdai_keymap" -x "\"$__cmdai_key\": __cmdai_widget $__cmdai_id"
    fi
}

# At every prompt, ask the daemon (in the background, never waiting, silent) to evaluate this
# directory's context while the sentence is typed, so that the key pays for the sentence only.
# It starts no daemon, and keeps $? for whatever runs after it. CMDAI_NO_PREPARE=1 before
# sourcing turns it off.
__cmdai_prepare() {
    local __cmdai_status=$?
    (CMDAI_SHELL=bash CMDAI_SHELL_VERSION=${BASH_VERSION%%[(]*} \
        @CMDAI_BIN@ prepare </dev/null >/dev/null 2>&1 &)
    return "$__cmdai_status"
}

# Appended to PROMPT_COMMAND (its first element when it is an array, bash 5.1+), once.
if [[ ${CMDAI_NO_PREPARE-0} == 0 && ${PROMPT_COMMAND-} != *__cmdai_prepare* ]]; then
    __cmdai_pc=${PROMPT_COMMAND-}
    # Trailing blanks and separators would make `;;`.
    while [[ $__cmdai_pc =~ [[:space:]\;]$ ]]; do __cmdai_pc=${__cmdai_pc%?}; done
    PROMPT_COMMAND=${__cmdai_pc:+$__cmdai_pc; }__cmdai_prepare
    unset __cmdai_pc
fi

if [[ ${CMDAI_NO_BIND-} != 1 ]] && [[ -o emacs || -o vi ]]; then
    __cmdai_bind emacs e
    __cmdai_bind vi-insert i
fi
