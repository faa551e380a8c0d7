//! Every generated command is checked before it leaves the engine: its risk, the target shell's
//! own syntax check, and the tools it runs against the user's PATH.
//!
//! A request asks the backend for a few candidates at once (the greedy answer and low-temperature
//! samples, decoded side by side). Each distinct command is checked; the winner is the one with
//! no faults and not held back, most often proposed, the greedy one on a tie. The others that
//! pass become alternatives. When even the winner has a syntax error or a missing tool, one
//! repair round shows the problem to the model, if the deadline leaves at least as much time as
//! the first round took.
//!
//! This runs on the engine thread, beside the backend that a repair needs, so the engine stays
//! one loop with one owner. The cost: the syntax check spawns the target shell (a few
//! milliseconds per distinct candidate), and a queued request waits for that too.
//!
//! The checks fail closed: a check that panics, runs past [`CHECK_LIMIT`] or whose syntax check
//! timed out rates its command critical, so it is held back under every safety setting and
//! never inserted unchecked.

use std::path::Path;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use crate::backend::{Ask, Backend, BackendError, StopCheck};
use crate::prompt;
use crate::protocol::{Alternative, GenerateRequest, Suggestion};
use crate::validate::{self, Action, Report, Risk, Safety, Shell, Syntax};

/// Room left after a repair round for checking its answer and replying before the deadline.
const REPLY_MARGIN: Duration = Duration::from_millis(100);
/// The longest the checks of one candidate may take: the syntax check's own timeout and then
/// some, so only a check that hangs somewhere else meets it.
const CHECK_LIMIT: Duration = Duration::from_secs(3);

/// How a request is reviewed: how many candidates to ask for, and the safety setting that
/// decides which are held back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub candidates: u32,
    pub safety: Safety,
}

/// A generated command with what the checks found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewed {
    pub command: String,
    pub report: Report,
    /// The command is the repair round's answer.
    pub repaired: bool,
    /// Prompt tokens evaluated, both rounds together.
    pub prompt_tokens: u32,
    /// Decoding steps, both rounds together.
    pub output_tokens: u32,
    /// Other candidates that passed every check, best first.
    pub alternatives: Vec<(String, Report)>,
    /// Which backends of the chain were down, when one after them answered.
    pub fallback: Option<String>,
}

impl Reviewed {
    /// The answer on the wire; `blocked` follows `safety`.
    pub fn into_suggestion(self, backend: &dyn Backend, safety: Safety) -> Suggestion {
        let Report {
            risk,
            reasons,
            syntax,
            missing_tools,
            problems,
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
            problems,
            repaired: self.repaired,
            alternatives: self
                .alternatives
                .into_iter()
                .map(|(command, report)| Alternative {
                    command,
                    risk: report.risk,
                    reasons: report.reasons,
                })
                .collect(),
            fallback: self.fallback,
        }
    }
}

/// Generates candidates for `request`, checks them, picks one and repairs it once if it needs
/// and the deadline allows. `stop` is the job's own (cancel or deadline).
pub fn generate(
    backend: &mut dyn Backend,
    request: &GenerateRequest,
    policy: Policy,
    deadline: Instant,
    stop: &dyn StopCheck,
) -> Result<Reviewed, BackendError> {
    let shell = Shell::from_name(&request.shell).unwrap_or(Shell::Bash);
    let path: Arc<str> = request.path.as_str().into();
    let cwd: Arc<Path> = Path::new(&request.cwd).into();
    let check = |command: &str| {
        let (command, path, cwd) = (command.to_owned(), Arc::clone(&path), Arc::clone(&cwd));
        fail_closed(CHECK_LIMIT, move || {
            validate::check(&command, shell, &path, &cwd)
        })
    };
    generate_with(backend, request, policy, deadline, stop, &check)
}

/// Runs `check` on its own thread so that its failure cannot pass for a verdict: a panic, a
/// check still running after `limit` (left to finish on its own), or a syntax check that timed
/// out gives a critical report instead, which every safety setting holds back.
fn fail_closed(limit: Duration, check: impl FnOnce() -> Report + Send + 'static) -> Report {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("cmdai-check".into())
        .spawn(move || {
            let _ = tx.send(check());
        });
    if let Err(e) = spawned {
        return check_failed(format!("it could not start ({e})"));
    }
    match rx.recv_timeout(limit) {
        Ok(report) => match &report.syntax {
            Syntax::Unchecked(why) if why.ends_with("timed out") => check_failed(why.clone()),
            _ => report,
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            check_failed(format!("it took longer than {} s", limit.as_secs_f32()))
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => check_failed("it failed".into()),
    }
}

/// The report of a command whose checks gave no verdict.
fn check_failed(why: String) -> Report {
    Report {
        risk: Risk::Critical,
        reasons: vec![format!("the safety check did not finish: {why}")],
        syntax: Syntax::Unchecked(why),
        missing_tools: Vec::new(),
        problems: Vec::new(),
    }
}

/// `generate` with the checks passed in, so the selection and repair logic can be tested alone.
fn generate_with(
    backend: &mut dyn Backend,
    request: &GenerateRequest,
    policy: Policy,
    deadline: Instant,
    stop: &dyn StopCheck,
    check: &dyn Fn(&str) -> Report,
) -> Result<Reviewed, BackendError> {
    let started = Instant::now();
    let candidates = match request.candidates {
        0 => policy.candidates,
        asked => u32::from(asked),
    };
    let ask = Ask {
        context: &request.context,
        request: &prompt::request_text(request),
        candidates: candidates.clamp(1, 4),
    };
    let first = choose(backend.generate(&ask, stop)?, policy.safety, check);
    let Some(repair) = prompt::repair_text(request, &first.command, &first.report) else {
        return Ok(first);
    };
    if deadline.saturating_duration_since(Instant::now()) < started.elapsed() {
        return Ok(first);
    }
    let repair_by = deadline.checked_sub(REPLY_MARGIN).unwrap_or(deadline);
    let repair_stop = || stop.should_stop() || Instant::now() >= repair_by;
    let ask = Ask {
        candidates: 1,
        request: &repair,
        ..ask
    };
    match backend.generate(&ask, &repair_stop) {
        Ok(generation) => Ok(better(first, choose(generation, policy.safety, check))),
        // Cancelled, or past the deadline: nobody is waiting for any answer.
        Err(BackendError::Stopped) if stop.should_stop() => Err(BackendError::Stopped),
        Err(BackendError::Stopped) => Ok(first),
        Err(err) => {
            eprintln!("cmdai-daemon: the repair round failed: {err}");
            Ok(first)
        }
    }
}

/// One distinct command among the candidates.
struct Proposal {
    command: String,
    report: Report,
    votes: usize,
}

/// Picks the best of the candidates in `generation`: fewest faults, not held back, most votes,
/// earliest (the greedy answer comes first). The rest that pass every check are alternatives.
fn choose(
    generation: crate::backend::Generation,
    safety: Safety,
    check: &dyn Fn(&str) -> Report,
) -> Reviewed {
    let mut proposals: Vec<(String, Proposal)> = Vec::new();
    for text in &generation.texts {
        let command = prompt::extract_command(text);
        if command.is_empty() && !proposals.is_empty() {
            continue;
        }
        let key = vote_key(&command);
        match proposals.iter_mut().find(|(k, _)| *k == key) {
            Some((_, proposal)) => proposal.votes += 1,
            None => {
                let report = check(&command);
                proposals.push((
                    key,
                    Proposal {
                        command,
                        report,
                        votes: 1,
                    },
                ));
            }
        }
    }
    let mut ranked: Vec<Proposal> = proposals.into_iter().map(|(_, p)| p).collect();
    // A stable sort keeps the greedy answer ahead of any other with the same standing.
    ranked.sort_by_key(|p| {
        let held_back = validate::action(p.report.risk, safety) == Action::HoldBack;
        (
            p.command.is_empty(),
            faults(&p.report),
            held_back,
            std::cmp::Reverse(p.votes),
        )
    });
    let mut ranked = ranked.into_iter();
    let best = ranked.next().unwrap_or(Proposal {
        command: String::new(),
        report: check(""),
        votes: 0,
    });
    let alternatives = ranked
        .filter(|p| {
            !p.command.is_empty()
                && faults(&p.report) == (false, 0)
                && validate::action(p.report.risk, safety) != Action::HoldBack
        })
        .map(|p| (p.command, p.report))
        .collect();
    Reviewed {
        command: best.command,
        report: best.report,
        repaired: false,
        prompt_tokens: generation.prompt_tokens,
        output_tokens: generation.output_tokens,
        alternatives,
        fallback: generation.fallback,
    }
}

/// Candidates that differ only in spacing, or in the kind of quotes where nothing inside them
/// could expand, count as one.
fn vote_key(command: &str) -> String {
    let spaced = command.split_whitespace().collect::<Vec<_>>().join(" ");
    if spaced.contains(['$', '`', '\\', '!']) {
        spaced
    } else {
        spaced.replace('"', "'")
    }
}

/// The repair replaces the first answer only when it has fewer problems; a tie keeps the first.
fn better(first: Reviewed, second: Reviewed) -> Reviewed {
    let prompt_tokens = first.prompt_tokens + second.prompt_tokens;
    let output_tokens = first.output_tokens + second.output_tokens;
    let fallback = first.fallback.clone().or_else(|| second.fallback.clone());
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
        fallback,
        ..kept
    }
}

/// What stands between a command and running: a syntax error outweighs any missing tools.
fn faults(report: &Report) -> (bool, usize) {
    let failures = report.missing_tools.len() + report.problems.len();
    (!report.syntax.ok(), failures)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::backend::Generation;
    use crate::validate::Risk;

    /// Answers the n-th generation with the n-th set of candidates, taking `delay` for each.
    struct Canned {
        answers: Vec<Vec<&'static str>>,
        delay: Duration,
        asked: Vec<String>,
        candidates: Vec<u32>,
    }

    impl Canned {
        /// One candidate per round.
        fn new(answers: &[&'static str]) -> Canned {
            Canned::rounds(answers.iter().map(|a| vec![*a]).collect())
        }

        fn rounds(answers: Vec<Vec<&'static str>>) -> Canned {
            Canned {
                answers,
                delay: Duration::ZERO,
                asked: Vec::new(),
                candidates: Vec::new(),
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

        fn generate(
            &mut self,
            ask: &Ask,
            stop: &dyn StopCheck,
        ) -> Result<Generation, BackendError> {
            std::thread::sleep(self.delay);
            if stop.should_stop() {
                return Err(BackendError::Stopped);
            }
            let texts = self.answers[self.asked.len()].iter().map(|t| t.to_string());
            self.asked.push(ask.request.to_string());
            self.candidates.push(ask.candidates);
            Ok(Generation {
                fallback: None,
                texts: texts.collect(),
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
            problems: match command.contains("nowhere/") && !command.contains("mkdir") {
                true => vec!["there is no folder nowhere/ here".into()],
                false => Vec::new(),
            },
        }
    }

    fn request() -> GenerateRequest {
        GenerateRequest {
            sentence: "say hello".into(),
            shell: "bash".into(),
            ..GenerateRequest::default()
        }
    }

    const POLICY: Policy = Policy {
        candidates: 3,
        safety: Safety::Normal,
    };

    fn review(backend: &mut Canned, deadline: Instant) -> Result<Reviewed, BackendError> {
        generate_with(backend, &request(), POLICY, deadline, &|| false, &check)
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
    fn what_would_fail_in_the_directory_gets_a_repair_round_too() {
        let fixed = "mkdir -p nowhere && touch nowhere/x";
        let mut backend = Canned::new(&["touch nowhere/x", fixed]);
        let reviewed = review(&mut backend, far()).unwrap();
        assert_eq!(reviewed.command, fixed);
        assert!(reviewed.repaired);
        let repair = prompt::repair_line(&backend.asked[1]).unwrap();
        assert!(repair.contains("no folder nowhere/"), "{repair}");
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
        let result = generate_with(&mut backend, &request(), POLICY, far(), &stop, &check);
        assert!(matches!(result, Err(BackendError::Stopped)), "{result:?}");
    }

    #[test]
    fn the_most_proposed_command_wins_and_the_rest_are_alternatives() {
        let mut backend = Canned::rounds(vec![vec!["ls -a", "ls  -l", "echo (", "ls -l", "ls -S"]]);
        let reviewed = review(&mut backend, far()).unwrap();
        assert_eq!(reviewed.command, "ls  -l", "two votes beat the greedy one");
        let alternatives: Vec<_> = reviewed.alternatives.iter().map(|(c, _)| c).collect();
        assert_eq!(alternatives, ["ls -a", "ls -S"], "faulty ones are left out");
        assert_eq!(backend.candidates, [3], "the policy's count was asked for");
        let mut backend = Canned::new(&["ls"]);
        let asking = GenerateRequest {
            candidates: 4,
            ..request()
        };
        generate_with(&mut backend, &asking, POLICY, far(), &|| false, &check).unwrap();
        assert_eq!(backend.candidates, [4], "the request's own count wins");
    }

    #[test]
    fn a_tie_keeps_the_greedy_answer_and_quotes_do_not_split_votes() {
        let mut backend = Canned::rounds(vec![vec!["ls -a", "ls -l"]]);
        assert_eq!(review(&mut backend, far()).unwrap().command, "ls -a");
        let mut backend = Canned::rounds(vec![vec![
            "ls -a",
            "find . -name '*.py'",
            "find . -name \"*.py\"",
        ]]);
        assert_eq!(
            review(&mut backend, far()).unwrap().command,
            "find . -name '*.py'"
        );
        // Inside double quotes a `$` expands; inside single quotes it does not.
        assert_ne!(vote_key("echo \"$HOME\""), vote_key("echo '$HOME'"));
    }

    #[test]
    fn a_faulty_or_held_back_candidate_loses_to_a_clean_one() {
        let mut backend = Canned::rounds(vec![vec!["echo (", "echo (", "ls"]]);
        let reviewed = review(&mut backend, far()).unwrap();
        assert_eq!(reviewed.command, "ls");
        assert_eq!(backend.asked.len(), 1, "nothing to repair");
        let mut backend = Canned::rounds(vec![vec!["rm -r x", "ls"]]);
        let policy = Policy {
            safety: Safety::Strict,
            ..POLICY
        };
        let reviewed =
            generate_with(&mut backend, &request(), policy, far(), &|| false, &check).unwrap();
        assert_eq!(reviewed.command, "ls");
        assert!(reviewed.alternatives.is_empty(), "held back: not offered");
    }

    #[test]
    fn a_check_that_panics_or_hangs_holds_the_command_back() {
        let panicked = fail_closed(Duration::from_secs(5), || panic!("validator bug"));
        let hung = fail_closed(Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_secs(2));
            check("ls")
        });
        let timed_out = fail_closed(Duration::from_secs(5), || Report {
            syntax: Syntax::Unchecked("bash syntax check timed out".into()),
            ..check("ls")
        });
        for report in [panicked, hung, timed_out] {
            assert_eq!(report.risk, Risk::Critical, "{report:?}");
            for safety in [Safety::Normal, Safety::Strict] {
                assert_eq!(validate::action(report.risk, safety), Action::HoldBack);
            }
        }
        let absent = Report {
            syntax: Syntax::Unchecked("fish is not installed".into()),
            ..check("ls")
        };
        let kept = absent.clone();
        assert_eq!(fail_closed(Duration::from_secs(5), move || kept), absent);
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
