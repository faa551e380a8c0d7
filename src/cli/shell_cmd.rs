//! `cmdai init` (print the shell integration) and `cmdai suggest` (what its key runs).

use std::ffi::OsString;
use std::io::BufRead;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
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

#[derive(Debug, Args)]
pub struct PrepareArgs {
    /// Read records from stdin until it closes, each the shell's directory, its PATH and the
    /// line, every field ended by a NUL, and send the newest waiting: zsh keeps one of these per
    /// shell, so that a key stroke writes to a pipe and starts no process
    #[arg(long)]
    follow: bool,
}

/// Sends the daemon what it can evaluate now of the next request from this directory: the
/// context block and, with `CMDAI_BUFFER` set, the line typed so far, so that the key press pays
/// for the rest only. Never starts the daemon and never waits for it: the shells run this in the
/// background at every prompt; zsh runs `--follow` instead, once per shell.
pub fn prepare(args: PrepareArgs) -> Result<(), Failure> {
    let shell = context::detect_shell(None);
    if args.follow {
        follow(&shell);
        return Ok(());
    }
    let options = context::options().map_err(Failure::error)?;
    let place = Place {
        cwd: std::env::current_dir().map_err(Failure::error)?,
        path: std::env::var("PATH").unwrap_or_default(),
        line: std::env::var("CMDAI_BUFFER").unwrap_or_default(),
    };
    match prepare_request(place, &shell, &options) {
        Some(prepare) => client::send(&Request::Prepare(prepare)).map_err(Failure::error),
        None => Ok(()),
    }
}

/// Where the shell is and what its line holds.
struct Place {
    cwd: PathBuf,
    path: String,
    line: String,
}

/// What the daemon can evaluate ahead for `place`; `None` when there is nothing to send.
fn prepare_request(
    place: Place,
    shell: &str,
    options: &context::ContextOptions,
) -> Option<PrepareRequest> {
    let prepare = if place.line.trim().is_empty() {
        PrepareRequest {
            context: context::current_context(&place.cwd, &place.path, shell, options),
            typed: String::new(),
        }
    } else {
        let request = context::build_typed_at(
            place.line,
            shell.to_string(),
            options,
            place.cwd,
            place.path,
        );
        PrepareRequest {
            typed: crate::prompt::request_text(&request),
            context: request.context,
        }
    };
    (!prepare.context.is_empty() || !prepare.typed.is_empty()).then_some(prepare)
}

/// The newest record read from stdin and not yet sent, and whether stdin has closed.
#[derive(Default)]
struct Newest {
    place: Option<Place>,
    closed: bool,
}

/// How often `prepare --follow` checks that its shell is still there.
const SHELL_CHECK: Duration = Duration::from_secs(30);

/// `prepare --follow`: a reader thread keeps only the newest record, so a burst of key strokes
/// costs one prepare once the last is sent, and the pipe never fills while a send waits.
/// Sending fails quietly while no daemon runs; the next record tries again. It ends when its
/// input closes, or when its shell is gone though a command the shell started keeps the pipe.
fn follow(shell: &str) {
    let shared = Arc::new((Mutex::new(Newest::default()), Condvar::new()));
    let reader = Arc::clone(&shared);
    std::thread::spawn(move || {
        let (newest, ready) = &*reader;
        let mut input = std::io::stdin().lock();
        while let Some(place) = read_place(&mut input) {
            newest.lock().unwrap_or_else(PoisonError::into_inner).place = Some(place);
            ready.notify_one();
        }
        newest.lock().unwrap_or_else(PoisonError::into_inner).closed = true;
        ready.notify_one();
    });
    let (newest, ready) = &*shared;
    let shell_pid = rustix::process::getppid();
    loop {
        let place = {
            let mut waiting = newest.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if let Some(place) = waiting.place.take() {
                    break place;
                }
                // A command the shell started may hold the pipe open after the shell is gone.
                if waiting.closed || rustix::process::getppid() != shell_pid {
                    return;
                }
                waiting = ready
                    .wait_timeout(waiting, SHELL_CHECK)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        };
        // Read each time, as the key press reads it: an edit of config.toml must not leave
        // the helper preparing blocks the key press no longer sends. A broken file is the key
        // press's to report.
        let Ok(options) = context::options() else {
            continue;
        };
        if let Some(prepare) = prepare_request(place, shell, &options) {
            // The daemon may be down; the next prompt or key stroke tries again.
            let _ = client::send(&Request::Prepare(prepare));
        }
    }
}

/// One record: directory, PATH and line, each ended by a NUL. `None` at the end of the input.
fn read_place(input: &mut impl BufRead) -> Option<Place> {
    let mut field = || {
        let mut bytes = Vec::new();
        match input.read_until(0, &mut bytes) {
            Ok(_) if bytes.pop() == Some(0) => Some(bytes),
            _ => None,
        }
    };
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    Some(Place {
        cwd: PathBuf::from(OsString::from_vec(field()?)),
        path: text(field()?),
        line: text(field()?),
    })
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
        problems: &[],
    };
    match outcome.message() {
        Some(message) => eprintln!("cmdai: {}; {message}", shown.position()),
        None => eprintln!("cmdai: {}", shown.position()),
    }
    print_stdout(&choice.command)
}

#[cfg(test)]
mod tests {
    use std::os::unix::ffi::OsStrExt;

    use super::*;

    #[test]
    fn records_are_read_whole_with_newlines_and_odd_bytes_kept() {
        let mut input: &[u8] = b"/tmp/a\xffb\0/bin:/usr/bin\0find\nlogs\0/srv\0\0\0/half\0/bin";
        let first = read_place(&mut input).unwrap();
        assert_eq!(first.cwd.as_os_str().as_bytes(), b"/tmp/a\xffb");
        assert_eq!(first.path, "/bin:/usr/bin");
        assert_eq!(first.line, "find\nlogs");
        let second = read_place(&mut input).unwrap();
        assert_eq!(
            (second.cwd, second.path, second.line),
            ("/srv".into(), "".into(), "".into())
        );
        assert!(
            read_place(&mut input).is_none(),
            "a record cut short is dropped"
        );
    }
}
