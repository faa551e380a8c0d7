//! Ctrl-G in a real bash under tmux.
