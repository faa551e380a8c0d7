//! The `cmdai` command line: argument definitions and the exit-code discipline.
//!
//! Exit 0: success, stdout holds the answer and nothing else. Exit 1: declined (by the user or
//! by policy). Exit 2: error, one `cmdai:` line on stderr. Exit 3: the daemon is not running
//! (and was not to be started), also one line. A closed stdout is a quiet success.

mod ask;
mod check_cmd;
mod completions_cmd;
mod config_cmd;
mod cycle;
mod daemon_cmd;
mod doctor;
mod logs_cmd;
mod model_cmd;
mod service_cmd;
mod shell_cmd;
mod verdict;

use std::ffi::OsString;
use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use ask::AskArgs;

#[derive(Debug, Parser)]
#[command(
    name = "cmdai",
    version,
    about = "Turn a sentence into a shell command, locally and fast",
    long_about = "Turn a sentence into a shell command, locally and fast.\n\n\
        A daemon keeps the model loaded; `cmdai ask` sends it your sentence with the current \
        directory, shell and PATH, and prints the command. Nothing leaves this machine.",
    after_help = "Examples:\n  cmdai ask list files in this directory sorted by size\n  \
        cmdai ask --shell fish --json 'find pdfs over 10 MB in Downloads'\n  \
        cmdai check 'rm -rf ./build'\n  \
        cmdai daemon status\n  cmdai model pull small\n  cmdai doctor\n  cmdai config"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Turn a sentence into a command and print it
    Ask(AskArgs),
    /// Check a command for risk, syntax and missing tools, as every generated one is
    Check(check_cmd::CheckArgs),
    /// Start, stop or inspect the background daemon
    #[command(subcommand)]
    Daemon(daemon_cmd::DaemonCommand),
    /// List or download models
    #[command(subcommand)]
    Model(model_cmd::ModelCommand),
    /// Print the shell integration (Ctrl-G) for zsh, bash or fish
    Init(shell_cmd::InitArgs),
    /// Turn $CMDAI_BUFFER into a command: what the shell integration's key runs
    Suggest,
    /// Evaluate this directory's context, and the line in $CMDAI_BUFFER if set, ahead of the
    /// next key press (the shell integration runs it in the background at every prompt, and in
    /// zsh as the line changes)
    Prepare(shell_cmd::PrepareArgs),
    /// Show the effective settings and where each came from, or write a commented config.toml
    Config(config_cmd::ConfigArgs),
    /// Check the install: binaries, daemon, model, memory, service, shell integration
    Doctor(doctor::DoctorArgs),
    /// Print tab completions for bash, zsh or fish
    Completions(completions_cmd::CompletionsArgs),
}

/// The exit code for "no daemon answers and none was started", as `cmdai daemon status` uses.
pub const NOT_RUNNING: u8 = 3;

/// Errors that reach the user: one line, prefixed, and an exit code.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn error(message: impl std::fmt::Display) -> Self {
        Failure {
            code: 2,
            message: message.to_string(),
        }
    }
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::error(e)
    }
}

/// A bug must still end in one readable line and the error exit code, never a backtrace
/// above the user's prompt.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("unknown cause");
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("cmdai: internal error ({what}{place}); please report it");
    }));
}

pub fn main_with_args<I: IntoIterator<Item = OsString>>(args: I) -> ExitCode {
    quiet_panics();
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match cli.command {
        Command::Ask(args) => ask::run(args),
        Command::Check(args) => check_cmd::run(args),
        Command::Daemon(command) => daemon_cmd::run(command),
        Command::Model(command) => model_cmd::run(command),
        Command::Init(args) => shell_cmd::init(args),
        Command::Suggest => shell_cmd::suggest(),
        Command::Prepare(args) => shell_cmd::prepare(args),
        Command::Config(args) => config_cmd::run(args),
        Command::Doctor(args) => doctor::run(&args),
        Command::Completions(args) => completions_cmd::run(&args),
    }))
    // The hook has already said what happened.
    .unwrap_or_else(|_| Err(Failure::error("")));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.message.is_empty() {
                eprintln!("cmdai: {}", failure.message);
            }
            ExitCode::from(failure.code)
        }
    }
}

/// Writes to stdout; a reader that went away (`| head`) is not an error.
pub fn print_stdout(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Failure::error(e)),
        _ => Ok(()),
    }
}
