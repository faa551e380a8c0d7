# cmdai for zsh: type a sentence, press the key (Ctrl-G unless `cmdai init --key` chose
# another), and the line becomes a command. Nothing runs until you press Enter.
#
# Undo brings the sentence back: Ctrl-_ (or Ctrl-X u) in emacs mode, Esc then u in vi mode.
# Ctrl-C while it thinks cancels and keeps the sentence. On an empty line the key does what
# it did before this script was sourced. Set CMDAI_NO_BIND=1 before sourcing to define the
# widget without binding any key.

typeset -g __cmdai_bin=@CMDAI_BIN@
typeset -g __cmdai_key=@CMDAI_KEY@
# keymap -> the widget the key ran there before cmdai took it over.
typeset -gA __cmdai_fallback

# zle calls the keymap `main` when main is linked to emacs or viins; name the real one.
__cmdai_keymap() {
  emulate -L zsh
  local -a link
  if [[ $KEYMAP == main ]]; then
    link=(${(z)"$(bindkey -lL main)"})  # bindkey -A emacs main
    REPLY=${link[3]:-emacs}
  else
    REPLY=$KEYMAP
  fi
}

__cmdai_run_fallback() {
  local REPLY
  __cmdai_keymap
  zle ${__cmdai_fallback[$REPLY]:-send-break}
}

# Prints the client's stderr, a NUL, its exit status, a NUL, then its stdout: both streams in
# one capture, with no temp file. fd 3 is closed for the client so nothing it starts (the
# daemon) can hold the capture open.
__cmdai_suggest() {
  emulate -L zsh
  local out rc
  out=$(CMDAI_BUFFER=$1 CMDAI_CURSOR=$2 CMDAI_SHELL=zsh CMDAI_SHELL_VERSION=$ZSH_VERSION \
    $__cmdai_bin suggest 2>&3 3>&-)
  rc=$?
  print -rn -- $'\0'$rc$'\0'$out
}

__cmdai_widget() {
  # The old binding must run under the user's own options, so this comes before emulate.
  if [[ -z ${BUFFER//[[:space:]]/} ]]; then
    __cmdai_run_fallback
    return
  fi
  emulate -L zsh
  local interrupted=0 captured err rc out
  local -a lines
  # Ctrl-C reaches the whole foreground group: the client dies (the daemon then drops the
  # work) and so would this widget, with zle throwing the line away. A trap that returns 0
  # marks the signal handled, so the sentence stays. LOCAL_TRAPS (from emulate -L) removes it.
  TRAPINT() { interrupted=1; return 0 }
  zle -R 'cmdai: thinking...'
  captured=$(__cmdai_suggest $BUFFER $CURSOR 3>&1)
  err=${captured%%$'\0'*}
  captured=${captured#*$'\0'}
  rc=${captured%%$'\0'*}
  out=${captured#*$'\0'}
  # A progress line ("loading the model…") may come first; the last line is the verdict: a
  # note or warning that comes with the command, or why there is none (held back, an error).
  lines=(${(f)err})
  if (( interrupted )); then
    zle -M 'cmdai: cancelled'
  elif [[ $rc == 0 && -n $out ]]; then
    # Its own undo step, so undo restores the sentence: vi mode would otherwise fold it into
    # the insert session that typed the sentence, and undo would clear the whole line.
    zle split-undo
    BUFFER=$out
    CURSOR=${#BUFFER}
    # A command is not a sentence being typed: nothing to prepare for it.
    __cmdai_typed_last=$BUFFER
    (( $#lines )) && zle -M -- ${lines[-1]}
  elif (( $#lines )); then
    zle -M -- ${lines[-1]}
  elif [[ $rc != <0-1> ]]; then
    zle -M "cmdai: failed (exit status ${rc:-unknown})"
  fi
  zle -R
}

# At every prompt, tell the daemon (never waiting, silent) this directory's context, and as the
# line changes, the line so far: it evaluates them while the sentence is typed, and the key then
# pays only for what was typed last. A helper, `cmdai prepare --follow`, one per shell, reads
# them from a pipe, so a key stroke writes a record and starts no process. It starts no daemon.
# CMDAI_NO_PREPARE=1 before sourcing turns this off.
typeset -g __cmdai_typed_last=
typeset -gi __cmdai_feed=-1
# Writes a record (directory, PATH, line; each ended by a NUL), first starting the helper if
# none runs: at the first prompt, or when it has gone and the write fails.
__cmdai_send() {
  emulate -L zsh
  local record=$PWD$'\0'$PATH$'\0'$1$'\0'
  { (( __cmdai_feed >= 0 )) && print -rnu $__cmdai_feed -- $record } 2>/dev/null && return
  (( __cmdai_feed >= 0 )) && { exec {__cmdai_feed}>&- } 2>/dev/null
  __cmdai_feed=-1
  # Ctrl-C and Ctrl-Z at the prompt reach it too; they are not meant for it.
  { exec {__cmdai_feed}> >(trap '' INT QUIT TSTP
      CMDAI_SHELL=zsh CMDAI_SHELL_VERSION=$ZSH_VERSION \
        exec $__cmdai_bin prepare --follow &>/dev/null) } 2>/dev/null || return 0
  { print -rnu $__cmdai_feed -- $record } 2>/dev/null
  return 0
}
__cmdai_prepare() {
  __cmdai_typed_last=
  __cmdai_send ''
}
# Runs before each redraw of the line: a record per change, none for a cursor move.
__cmdai_typed() {
  emulate -L zsh
  [[ $BUFFER == "$__cmdai_typed_last" ]] && return
  __cmdai_typed_last=$BUFFER
  [[ -z ${BUFFER//[[:space:]]/} ]] && return
  __cmdai_send $BUFFER
}
if [[ -z ${CMDAI_NO_PREPARE:-} || $CMDAI_NO_PREPARE == 0 ]]; then
  autoload -Uz add-zsh-hook add-zle-hook-widget
  add-zsh-hook precmd __cmdai_prepare
  zle -N __cmdai_typed
  add-zle-hook-widget line-pre-redraw __cmdai_typed
fi

() {
  emulate -L zsh
  zle -N __cmdai_widget
  [[ -n ${CMDAI_NO_BIND:-} && $CMDAI_NO_BIND != 0 ]] && return
  local keymap
  local -a old
  for keymap in emacs viins vicmd; do
    old=(${(z)"$(bindkey -M $keymap $__cmdai_key)"})  # "^G" send-break
    # Sourcing twice must not make the widget its own fallback. A string binding
    # (bindkey -s) cannot be called as a widget; the key then does nothing on an empty line.
    if [[ ${old[2]:-} == __cmdai_widget ]]; then
      :
    elif [[ -n ${old[2]:-} && ${old[2]} != \"* ]]; then
      __cmdai_fallback[$keymap]=${old[2]}
    else
      __cmdai_fallback[$keymap]=undefined-key
    fi
    bindkey -M $keymap $__cmdai_key __cmdai_widget
  done
}
