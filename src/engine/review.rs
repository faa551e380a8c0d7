//! Every generated command is checked before it leaves the engine: its risk, the target shell's
//! own syntax check, and the tools it runs against the user's PATH. A syntax error or a missing
//! tool earns one repair round, with the problem shown to the model, when the deadline leaves
//! at least as much time as the first answer took.
//!
//! This runs on the engine thread, beside the backend that a repair needs, so the engine stays
//! one loop with one owner. The cost: the syntax check spawns the target shell (a few
//! milliseconds per check, two checks with a repair), and a queued request waits for that too.

use std::time::{Duration, Instant};

use crate::backend::{Backend, BackendError, StopCheck};
use crate::prompt;
use crate::protocol::{GenerateRequest, Suggestion};
use crate::validate::{self, Action, Report, Safety, Shell, Syntax};

/// Room left after a repair round for checking its answer and replying before the deadline.
const REPLY_MARGIN: Duration = Duration::from_millis(100);

/// A generated command with what the checks found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewed {
    pub command: String,
    pub report: Report,
    /// The command is the repair round's answer.
    pub repaired: bool,
    /// Prompt tokens evaluated, both rounds together.
    pub prompt_tokens: u32,
    /// Tokens generated, both rounds together.
    pub output_tokens: u32,
}

impl Reviewed {
    /// The answer on the wire; `blocked` follows `safety`.
    pub fn into_suggestion(self, backend: &dyn Backend, safety: Safety) -> Suggestion {
        let Report {
            risk,
            reasons,
            syntax,
            missing_tools,
        } = self.report;
        Suggestion {
            command: self.command,
            backend: backend.name().to_string(),
            model: backend.model().to_string(),
            elapsed_ms: 0,
            prompt_tokens: self.prompt_tokens,
            output_tokens: self.output_tokens,
            risk,
            reasons,
            blocked: validate::action(risk, safety) == Action::HoldBack,
            syntax_error: match syntax {
                Syntax::Error(message) => Some(message),
                Syntax::Ok | Syntax::Unchecked(_) => None,
            },
            missing_tools,
            repaired: self.repaired,
        }
    }
}

/// Generates a command for `request`, checks it, and repairs it once if it needs and the
/// deadline allows. `stop` is the job's own (cancel or deadline).
pub fn generate(
    backend: &mut dyn Backend,
    request: &GenerateRequest,
    deadline: Instant,
    stop: &dyn StopCheck,
) -> Result<Reviewed, BackendError> {
    let shell = Shell::from_name(&request.shell).unwrap_or(Shell::Bash);
    let check = |command: &str| validate::check(command, shell, &request.path);
    generate_with(backend, request, deadline, stop, &check)
}

/// `generate` with the checks passed in, so the repair logic can be tested on its own.
fn generate_with(
    backend: &mut dyn Backend,
    request: &GenerateRequest,
    deadline: Instant,
    stop: &dyn StopCheck,
    check: &dyn Fn(&str) -> Report,
) -> Result<Reviewed, BackendError> {
    let started = Instant::now();
    let first = attempt(backend, &prompt::request_text(request), stop, check)?;
    let Some(repair) = prompt::repair_text(request, &first.command, &first.report) else {
        return Ok(first);
    };
    if deadline.saturating_duration_since(Instant::now()) < started.elapsed() {
        return Ok(first);
    }
    let repair_by = deadline.checked_sub(REPLY_MARGIN).unwrap_or(deadline);
    let repair_stop = || stop.should_stop() || Instant::now() >= repair_by;
    match attempt(backend, &repair, &repair_stop, check) {
        Ok(second) => Ok(better(first, second)),
        // Cancelled, or past the deadline: nobody is waiting for any answer.
        Err(BackendError::Stopped) if stop.should_stop() => Err(BackendError::Stopped),
        Err(BackendError::Stopped) => Ok(first),
        Err(err) => {
            eprintln!("cmdai-daemon: the repair round failed: {err}");
            Ok(first)
        }
    }
}

fn attempt(
    backend: &mut dyn Backend,
    user_text: &str,
    stop: &dyn StopCheck,
    check: &dyn Fn(&str) -> Report,
) -> Result<Reviewed, BackendError> {
    let generation = backend.generate(user_text, stop)?;
    let command = prompt::extract_command(&generation.text);
    Ok(Reviewed {
        report: check(&command),
        command,
        repaired: false,
        prompt_tokens: generation.prompt_tokens,
        output_tokens: generation.output_tokens,
    })
}

/// The repair replaces the first answer only when it has fewer problems; a tie keeps the first.
fn better(first: Reviewed, second: Reviewed) -> Reviewed {
    let prompt_tokens = first.prompt_tokens + second.prompt_tokens;
    let output_tokens = first.output_tokens + second.output_tokens;
    let kept = if !second.command.is_empty() && faults(&second.report) < faults(&first.report) {
        Reviewed {
            repaired: true,
            ..second
        }
    } else {
        first
    };
    Reviewed {
        prompt_tokens,
        output_tokens,
        ..kept
    }
}

/// What stands between a command and running: a syntax error outweighs any missing tools.
fn faults(report: &Report) -> (bool, usize) {
    (!report.syntax.ok(), report.missing_tools.len())
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::backend::Generation;
    use crate::validate::Risk;

    /// Answers the n-th generation with the n-th line, taking `delay` for each.
    struct Canned {
        answers: Vec<&'static str>,
        delay: Duration,
        asked: Vec<String>,
    }

    impl Canned {
        fn new(answers: &[&'static str]) -> Canned {
            Canned {
                answers: answers.to_vec(),
                delay: Duration::ZERO,
                asked: Vec::new(),
            }
        }
    }

    impl Backend for Canned {
        fn name(&self) -> &str {
            "canned"
        }

        fn model(&self) -> &str {
            "canned"
        }

        fn fixed_prompt_tokens(&self) -> u32 {
            0
        }

        fn generate(
            &mut self,
            user_text: &str,
            stop: &dyn StopCheck,
        ) -> Result<Generation, BackendError> {
            std::thread::sleep(self.delay);
            if stop.should_stop() {
                return Err(BackendError::Stopped);
            }
            let text = self.answers[self.asked.len()].to_string();
            self.asked.push(user_text.to_string());
            Ok(Generation {
                text,
                prompt_tokens: 10,
                output_tokens: 2,
            })
        }
    }

    /// `(` is a syntax error and `frob` is not installed; `rm` is high risk.
    fn check(command: &str) -> Report {
        let syntax = if command.contains('(') {
            Syntax::Error("unexpected EOF".into())
        } else {
            Syntax::Ok
        };
        Report {
            risk: if command.starts_with("rm") {
                Risk::High
            } else {
                Risk::Safe
            },
            reasons: Vec::new(),
            syntax,
            missing_tools: command
                .split_whitespace()
                .filter(|word| *word == "frob")
                .map(str::to_string)
                .collect(),
        }
    }

    fn request() -> GenerateRequest {
        GenerateRequest {
            sentence: "say hello".into(),
            shell: "bash".into(),
            ..GenerateRequest::default()
        }
    }

    fn review(backend: &mut Canned, deadline: Instant) -> Result<Reviewed, BackendError> {
        generate_with(backend, &request(), deadline, &|| false, &check)
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[test]
    fn a_command_that_passes_is_not_repaired() {
        let mut backend = Canned::new(&["echo hello"]);
        let reviewed = review(&mut backend, far()).unwrap();
        assert_eq!(reviewed.command, "echo hello");
        assert!(!reviewed.repaired);
        assert_eq!(backend.asked.len(), 1);
    }

    #[test]
    fn a_syntax_error_gets_one_repair_round_that_shows_the_problem() {
        let mut backend = Canned::new(&["echo (", "echo hello"]);
        let reviewed = review(&mut backend, far()).unwrap();
        assert_eq!(reviewed.command, "echo hello");
        assert!(reviewed.repaired);
        assert_eq!((reviewed.prompt_tokens, reviewed.output_tokens), (20, 4));
        let repair = prompt::repair_line(&backend.asked[1]).unwrap();
        assert!(
            repair.contains("`echo (`") && repair.contains("unexpected EOF"),
            "{repair}"
        );
    }

    #[test]
    fn a_repair_that_is_no_better_keeps_the_first_answer() {
        for second in ["echo ((", "", "echo ( frob"] {
            let mut backend = Canned::new(&["echo (", second]);
            let reviewed = review(&mut backend, far()).unwrap();
            assert_eq!(reviewed.command, "echo (", "{second:?}");
            assert!(!reviewed.repaired);
            assert_eq!(reviewed.prompt_tokens, 20, "the repair was still paid for");
        }
    }

    #[test]
    fn fewer_missing_tools_is_better_and_a_syntax_error_is_worse_than_any() {
        let mut backend = Canned::new(&["frob frob", "frob"]);
        assert_eq!(review(&mut backend, far()).unwrap().command, "frob");
        let mut backend = Canned::new(&["frob", "echo ("]);
        assert_eq!(review(&mut backend, far()).unwrap().command, "frob");
    }

    #[test]
    fn the_repaired_command_brings_its_own_risk() {
        let mut backend = Canned::new(&["frob -r", "rm -r x"]);
        let reviewed = review(&mut backend, far()).unwrap();
        assert_eq!(reviewed.report.risk, Risk::High);
        assert!(reviewed.repaired);
    }

    #[test]
    fn no_repair_when_the_deadline_is_nearer_than_the_first_answer_took() {
        let mut backend = Canned::new(&["echo (", "echo hello"]);
        backend.delay = Duration::from_millis(50);
        let deadline = Instant::now() + Duration::from_millis(90);
        let reviewed = review(&mut backend, deadline).unwrap();
        assert_eq!(reviewed.command, "echo (");
        assert_eq!(backend.asked.len(), 1);
    }

    #[test]
    fn a_repair_cut_short_by_its_margin_keeps_the_first_answer() {
        let mut backend = Canned::new(&["echo (", "echo hello"]);
        // Time for the repair to start, but it ends inside the margin before the deadline.
        backend.delay = Duration::from_millis(40);
        let deadline = Instant::now() + Duration::from_millis(130);
        let reviewed = review(&mut backend, deadline).unwrap();
        assert_eq!(reviewed.command, "echo (");
        assert!(!reviewed.repaired);
    }

    #[test]
    fn a_cancelled_repair_is_an_error() {
        let cancelled = Cell::new(false);
        let mut backend = Canned::new(&["echo (", "echo hello"]);
        let stop = || {
            let now = cancelled.get();
            cancelled.set(true);
            now
        };
        let result = generate_with(&mut backend, &request(), far(), &stop, &check);
        assert!(matches!(result, Err(BackendError::Stopped)), "{result:?}");
    }

    #[test]
    fn blocked_follows_the_safety_setting() {
        let mut backend = Canned::new(&["rm -r x"]);
        let reviewed = review(&mut backend, far()).unwrap();
        let normal = reviewed.clone().into_suggestion(&backend, Safety::Normal);
        assert!(!normal.blocked);
        assert_eq!(normal.command, "rm -r x");
        let strict = reviewed.into_suggestion(&backend, Safety::Strict);
        assert!(strict.blocked);
        assert_eq!(
            strict.command, "rm -r x",
            "a held-back command is still named"
        );
    }
}
