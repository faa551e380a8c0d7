//! Ctrl-G in a real zsh under tmux.
