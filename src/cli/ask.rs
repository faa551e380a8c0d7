//! `cmdai ask`: one sentence in, one command out.

use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use super::verdict::Outcome;
use super::{print_stdout, Failure};
use crate::client::{self, ClientError, StartOptions};
use crate::context;
use crate::prompt;
use crate::protocol::{
    Alternative, EngineState, ErrorKind, GenerateRequest, Request, Response, Suggestion,
    MAX_SENTENCE,
};
use crate::validate::Action;

#[derive(Debug, Args)]
#[command(
    after_help = "The command goes to stdout. A moderate-risk command comes with a note on \
    stderr, a high-risk one with a warning. A command the safety setting holds back (critical, \
    and high too with `safety = \"strict\"`) is not printed: stderr says why.\n\n\
    Exit status: 0 a command was printed, 1 held back, 2 error, 3 the daemon is not running \
    (and CMDAI_NO_AUTOSTART is set)."
)]
pub struct AskArgs {
    /// Shell to write the command for [default: $CMDAI_SHELL, else $SHELL, else bash]
    #[arg(long, value_parser = ["bash", "zsh", "fish"])]
    pub shell: Option<String>,
    /// Print a JSON object instead of the bare command: cmd, risk, blocked, reasons, syntax_ok,
    /// missing_tools, problems, backend, model, elapsed_ms, repaired, alternatives, and fallback when a
    /// backend of the chain was down (a held-back command is shown here)
    #[arg(long)]
    pub json: bool,
    /// Print what the model would be told about this sentence and where it is typed (the
    /// directory's entries, git state, system, tools, the first lines of files the sentence
    /// names, secrets redacted) and exit without asking. Parts can be switched off in the
    /// `[context]` table of config.toml, or all with CMDAI_CONTEXT=off
    #[arg(long)]
    pub show_context: bool,
    /// Give up after this many seconds, first model load included
    #[arg(
        long,
        value_name = "SECS",
        env = "CMDAI_TIMEOUT",
        default_value_t = 60.0
    )]
    pub timeout: f64,
    /// What you want to do, in your own words
    #[arg(required = true, value_name = "SENTENCE")]
    pub sentence: Vec<String>,
}

pub fn run(args: AskArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .map_err(|_| Failure::error("--timeout must be a positive number of seconds"))?;
    let sentence = args.sentence.join(" ");
    if sentence.trim().is_empty() {
        return Err(Failure::error(
            "the sentence is empty: say what the command should do",
        ));
    }
    let shell = context::detect_shell(args.shell.as_deref());
    let options = context::options().map_err(Failure::error)?;
    let request = context::build_request(sentence, shell, 0, &options);
    if args.show_context {
        return print_stdout(&format!("{}\n", prompt::user_turn(&request)));
    }
    let suggestion = ask_with_retries(request, started + timeout, true)?;
    note_fallback(&suggestion);
    let outcome = Outcome::of_suggestion(&suggestion);
    if args.json {
        let answer = AskJson::new(&suggestion, outcome.clone(), started);
        print_stdout(&(serde_json::to_string(&answer)? + "\n"))?;
    } else if outcome.action() != Action::HoldBack {
        print_stdout(&format!("{}\n", suggestion.command))?;
    }
    outcome.announce()
}

/// `cmdai ask --json`: the command and its checks first, then where it came from and timings.
#[derive(Serialize)]
struct AskJson<'a> {
    cmd: &'a str,
    #[serde(flatten)]
    outcome: Outcome<'a>,
    backend: &'a str,
    model: &'a str,
    elapsed_ms: u64,
    repaired: bool,
    daemon_ms: u32,
    prompt_tokens: u32,
    output_tokens: u32,
    /// The other candidates that passed the checks, best first.
    alternatives: &'a [Alternative],
    /// Which backends were down when a later one of the chain answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    fallback: Option<&'a str>,
}

impl<'a> AskJson<'a> {
    fn new(suggestion: &'a Suggestion, outcome: Outcome<'a>, started: Instant) -> Self {
        AskJson {
            cmd: &suggestion.command,
            outcome,
            backend: &suggestion.backend,
            model: &suggestion.model,
            elapsed_ms: started.elapsed().as_millis() as u64,
            repaired: suggestion.repaired,
            daemon_ms: suggestion.elapsed_ms,
            prompt_tokens: suggestion.prompt_tokens,
            output_tokens: suggestion.output_tokens,
            alternatives: &suggestion.alternatives,
            fallback: suggestion.fallback.as_deref(),
        }
    }
}

/// One line on stderr when the backend that answered is not the first of the chain.
pub(super) fn note_fallback(suggestion: &Suggestion) {
    if let Some(why) = &suggestion.fallback {
        eprintln!("cmdai: {why}");
    }
}

fn autostart_enabled() -> bool {
    !matches!(
        std::env::var("CMDAI_NO_AUTOSTART").as_deref(),
        Ok(v) if !v.is_empty() && v != "0"
    )
}

/// Sends the request, starting the daemon or waiting for its model when needed, until it
/// answers or the deadline passes.
///
/// `announce` prints a note while the model loads; the widgets show their own marker and read
/// stderr as the verdict, so they pass `false`.
pub(super) fn ask_with_retries(
    mut request: GenerateRequest,
    deadline: Instant,
    announce: bool,
) -> Result<Suggestion, Failure> {
    let bytes = request.sentence.trim().len();
    if bytes > MAX_SENTENCE {
        return Err(Failure::error(format!(
            "the sentence is {bytes} bytes; shorten it to at most {MAX_SENTENCE}"
        )));
    }
    let mut restarted = false;
    let mut told_loading = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::error(ClientError::Timeout(Duration::ZERO)));
        }
        request.deadline_ms = left.as_millis().min(u128::from(u32::MAX)) as u32;
        match client::request(&Request::Generate(request.clone()), left) {
            Ok(Response::Suggestion(s)) => return Ok(s),
            Ok(other) => return Err(Failure::error(format!("unexpected answer {other:?}"))),
            Err(ClientError::Daemon(e)) if e.kind == ErrorKind::Loading => {
                if announce && !told_loading {
                    // The daemon says what it is doing: loading a model, or only opening a
                    // remote backend, which says nothing.
                    if !e.message.is_empty() {
                        eprintln!("cmdai: {}…", e.message);
                    }
                    told_loading = true;
                }
                wait_until_loaded(deadline)?;
            }
            // A daemon whose model failed to load stays up to say why; the user may have fixed
            // the file since, so one fresh start gets a fresh load.
            Err(ClientError::Daemon(e))
                if e.kind == ErrorKind::Backend
                    && autostart_enabled()
                    && !restarted
                    && load_failed() =>
            {
                restarted = true;
                restart_daemon()?;
            }
            Err(ClientError::NotRunning(_)) if autostart_enabled() && !restarted => {
                restarted = true;
                client::start_daemon(&StartOptions::default())?;
            }
            // The daemon died with our request in its queue (kill -9, a crash): the connection
            // was accepted by a socket whose owner is gone. Start one (or find the live one that
            // merely hung up) and ask once more.
            Err(ClientError::Protocol(e))
                if e.is_hang_up() && autostart_enabled() && !restarted =>
            {
                restarted = true;
                client::start_daemon(&StartOptions::default())?;
            }
            Err(ClientError::VersionMismatch { .. }) if autostart_enabled() && !restarted => {
                restarted = true;
                if announce {
                    eprintln!("cmdai: restarting a daemon from another version of cmdai");
                }
                restart_daemon()?;
            }
            // Its own exit code, so a script can tell "start the daemon" from a failed request.
            Err(e @ ClientError::NotRunning(_)) => {
                return Err(Failure {
                    code: super::NOT_RUNNING,
                    message: e.to_string(),
                })
            }
            Err(e) => return Err(Failure::error(e)),
        }
    }
}

fn restart_daemon() -> Result<(), Failure> {
    client::stop_daemon(Duration::from_secs(10))?;
    client::start_daemon(&StartOptions::default())?;
    Ok(())
}

fn load_failed() -> bool {
    matches!(
        client::request(&Request::Status, Duration::from_secs(2)),
        Ok(Response::Status(status)) if status.state == EngineState::Failed
    )
}

/// Polls status until the model is loaded (or failed), so the first request after a start
/// waits for the load instead of failing.
pub(super) fn wait_until_loaded(deadline: Instant) -> Result<(), Failure> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::error("the model did not finish loading in time"));
        }
        match client::request(&Request::Status, left)? {
            Response::Status(status) => match status.state {
                // Unloaded after an idle period: the request itself loads it again.
                EngineState::Ready | EngineState::Unloaded => return Ok(()),
                EngineState::Failed => {
                    return Err(Failure::error(status.error.unwrap_or_default()));
                }
                EngineState::Loading => std::thread::sleep(Duration::from_millis(50)),
            },
            other => return Err(Failure::error(format!("unexpected answer {other:?}"))),
        }
    }
}
