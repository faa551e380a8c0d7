//! `cmdai init` (print the shell integration) and `cmdai suggest` (what its key runs).

use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};

use super::cycle;
use super::verdict::Outcome;
use super::{print_stdout, Failure};
use crate::client;
use crate::context;
use crate::init::{self, Key, Shell};
use crate::protocol::{PrepareRequest, Request};

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
    let options = context::options().map_err(Failure::error)?;
    if let Some(shown) = cycle::load().filter(|s| s.on_show(&buffer)) {
        return next_candidate(shown, shell, &options, started + timeout);
    }
    let request = context::build_request(buffer.clone(), shell, 0, &options);
    let suggestion = super::ask::ask_with_retries(request, started + timeout, false)?;
    if suggestion.command.trim().is_empty() {
        return Err(Failure::error(
            "the model gave no command; rephrase and try again",
        ));
    }
    cycle::save(cycle::Shown::of(&buffer, &suggestion).as_ref());
    // Before the verdict: the widgets show the last line, and a risk outweighs a fallback.
    super::ask::note_fallback(&suggestion);
    let outcome = Outcome::of_suggestion(&suggestion);
    if outcome.message().is_none() && !suggestion.alternatives.is_empty() {
        let more = suggestion.alternatives.len();
        let s = if more == 1 { "" } else { "s" };
        eprintln!("cmdai: {more} other candidate{s}: press the key again to see the next");
    }
    outcome.announce()?;
    print_stdout(&suggestion.command)
}

/// The key pressed on the command it just inserted: the next candidate, asking the daemon for
/// several for the same sentence the first time there is no other.
fn next_candidate(
    shown: cycle::Shown,
    shell: String,
    options: &context::ContextOptions,
    deadline: Instant,
) -> Result<(), Failure> {
    let shown = if shown.wants_more() {
        let mut request = context::build_request(shown.sentence.clone(), shell, 0, options);
        request.candidates = MORE_CANDIDATES;
        let more = super::ask::ask_with_retries(request, deadline, false)?;
        shown.with_more(&more)
    } else {
        shown
    };
    let Some(next) = shown.next() else {
        cycle::save(Some(&shown));
        return Err(Failure {
            code: 1,
            message: "no other candidates for this sentence: edit the line, or undo to get the \
                      sentence back"
                .into(),
        });
    };
    cycle::save(Some(&next));
    show_choice(&next)
}

/// Sends the daemon what it can evaluate now of the next request from this directory: the
/// context block and, with `CMDAI_BUFFER` set, the line typed so far, so that the key press pays
/// for the rest only. Never starts the daemon and never waits for it: the shells run this in the
/// background at every prompt, and zsh also as the line changes.
pub fn prepare() -> Result<(), Failure> {
    let options = context::options().map_err(Failure::error)?;
    let shell = context::detect_shell(None);
    let buffer = std::env::var("CMDAI_BUFFER").unwrap_or_default();
    let prepare = if buffer.trim().is_empty() {
        let cwd = std::env::current_dir().map_err(Failure::error)?;
        let path = std::env::var("PATH").unwrap_or_default();
        PrepareRequest {
            context: context::current_context(&cwd, &path, &shell, &options),
            typed: String::new(),
        }
    } else {
        let request = context::build_request(buffer, shell, 0, &options);
        PrepareRequest {
            typed: crate::prompt::request_text(&request),
            context: request.context,
        }
    };
    if prepare.context.is_empty() && prepare.typed.is_empty() {
        return Ok(());
    }
    client::send(&Request::Prepare(prepare)).map_err(Failure::error)
}

/// How many candidates the second key press asks for.
const MORE_CANDIDATES: u8 = 4;

/// Puts the remembered candidate on show, with its place in the cycle and its own risk line.
fn show_choice(shown: &cycle::Shown) -> Result<(), Failure> {
    let choice = shown.current();
    let outcome = Outcome {
        risk: choice.risk,
        blocked: false,
        reasons: &choice.reasons,
        syntax_ok: true,
        missing_tools: &[],
    };
    match outcome.message() {
        Some(message) => eprintln!("cmdai: {}; {message}", shown.position()),
        None => eprintln!("cmdai: {}", shown.position()),
    }
    print_stdout(&choice.command)
}
