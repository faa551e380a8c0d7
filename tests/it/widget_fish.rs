//! Ctrl-G in a real fish under tmux.
