//! Integration tests: real binaries, real sockets, a temp HOME per test.
//! One test binary, as ripgrep does, so the crate links once.

mod harness;
mod tmux;

mod agents;
mod ask;
mod completions;
mod config_cmd;
mod context;
mod daemon_lifecycle;
mod daemon_logs;
mod doctor;
mod embedded;
mod fallback;
mod idle;
mod init_scripts;
mod install;
mod llama;
mod ollama;
mod openai;
mod prepare;
mod reliability;
mod safety;
mod service;
mod widget_bash;
mod widget_fish;
mod widget_zsh;
mod wire;
