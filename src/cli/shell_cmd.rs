//! `cmdai init` (print the shell integration) and `cmdai suggest` (what its key runs).

use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};

use super::verdict::Outcome;
use super::{print_stdout, Failure};
use crate::context;
use crate::init::{self, Key, Shell};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ShellName {
    Zsh,
    Bash,
    Fish,
}

#[derive(Debug, Args)]
#[command(after_help = "Add one line to your shell's startup file:\n  \
    zsh  (~/.zshrc):                  eval \"$(cmdai init zsh)\"\n  \
    bash (~/.bashrc):                 eval \"$(cmdai init bash)\"\n  \
    fish (~/.config/fish/config.fish): cmdai init fish | source\n\n\
    Then type a sentence and press Ctrl-G. Set CMDAI_NO_BIND=1 before that line to define \
    the widget without binding any key.")]
pub struct InitArgs {
    /// Shell to integrate with
    shell: ShellName,
    /// Key that turns the sentence into a command (ctrl-<letter> or alt-<letter>)
    #[arg(long, default_value = "ctrl-g")]
    key: String,
    /// fish: do not expand a sentence ending in `,,` on Space
    #[arg(long)]
    no_abbr: bool,
}

pub fn init(args: InitArgs) -> Result<(), Failure> {
    let key: Key = args.key.parse()?;
    let shell = match args.shell {
        ShellName::Zsh => Shell::Zsh,
        ShellName::Bash => Shell::Bash,
        ShellName::Fish => Shell::Fish,
    };
    let binary = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| Failure::error(format!("cannot find the cmdai binary's path: {e}")))?;
    print_stdout(&init::render(shell, &binary, key, !args.no_abbr))
}

/// The widget contract: the line in `CMDAI_BUFFER`; exit 0 with the new line on stdout, and
/// perhaps one line on stderr (a note or a warning) to show with it; exit 1 when declined, with
/// one line on stderr when the safety setting held the command back; exit 2 with one line on
/// stderr on error. Nothing else reaches stdout.
pub fn suggest() -> Result<(), Failure> {
    let started = Instant::now();
    let buffer = std::env::var("CMDAI_BUFFER").unwrap_or_default();
    if buffer.trim().is_empty() {
        return Err(Failure {
            code: 1,
            message: String::new(),
        });
    }
    let shell = context::detect_shell(None);
    let timeout = std::env::var("CMDAI_TIMEOUT")
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
        .and_then(|t| Duration::try_from_secs_f64(t).ok())
        .unwrap_or(Duration::from_secs(60));
    let suggestion = super::ask::ask_with_retries(buffer, shell, started + timeout, false)?;
    if suggestion.command.trim().is_empty() {
        return Err(Failure::error(
            "the model gave no command; rephrase and try again",
        ));
    }
    Outcome::of_suggestion(&suggestion).announce()?;
    print_stdout(&suggestion.command)
}
