//! Integration tests: real binaries, real sockets, a temp HOME per test.
//! One test binary, as ripgrep does, so the crate links once.

mod harness;
mod tmux;

mod ask;
mod context;
mod daemon_lifecycle;
mod embedded;
mod init_scripts;
mod install;
mod safety;
mod widget_bash;
mod widget_fish;
mod widget_zsh;
mod wire;
