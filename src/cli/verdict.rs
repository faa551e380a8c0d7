//! How a checked command is reported: what the policy does with it, the one line that goes with
//! it on stderr, and the JSON fields that `ask` and `check` share.

use serde::Serialize;

use super::Failure;
use crate::protocol::Suggestion;
use crate::validate::{self, Action, Report, Risk, Safety};

/// What the checks found, as `ask --json` and `check --json` print it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome<'a> {
    pub risk: Risk,
    pub blocked: bool,
    pub reasons: &'a [String],
    pub syntax_ok: bool,
    pub missing_tools: &'a [String],
    /// What would fail in the user's directory (`validate::places`).
    pub problems: &'a [String],
}

impl<'a> Outcome<'a> {
    /// The daemon's verdict, under the daemon's safety setting.
    pub fn of_suggestion(suggestion: &'a Suggestion) -> Self {
        Outcome {
            risk: suggestion.risk,
            blocked: suggestion.blocked,
            reasons: &suggestion.reasons,
            syntax_ok: suggestion.syntax_error.is_none(),
            missing_tools: &suggestion.missing_tools,
            problems: &suggestion.problems,
        }
    }

    /// A local check under `safety`.
    pub fn of_report(report: &'a Report, safety: Safety) -> Self {
        Outcome {
            risk: report.risk,
            blocked: validate::action(report.risk, safety) == Action::HoldBack,
            reasons: &report.reasons,
            syntax_ok: report.syntax.ok(),
            missing_tools: &report.missing_tools,
            problems: &report.problems,
        }
    }

    /// Held back when blocked; otherwise flagged by its risk (a note or a warning).
    pub fn action(&self) -> Action {
        if self.blocked {
            Action::HoldBack
        } else {
            validate::action(self.risk, Safety::Normal)
        }
    }

    /// The line that goes with the command (a note, a warning) or instead of it (held back),
    /// without the `cmdai: ` prefix; `None` when it is simply inserted.
    pub fn message(&self) -> Option<String> {
        let first = || self.reasons.first().cloned().unwrap_or_else(|| self.all());
        match self.action() {
            Action::Insert => None,
            Action::Note => Some(format!("note: {}", first())),
            Action::Warn => Some(format!("warning: {}", self.all())),
            Action::HoldBack => Some(format!("held back a {} command: {}", self.risk, self.all())),
        }
    }

    fn all(&self) -> String {
        if self.reasons.is_empty() {
            format!("rated {}", self.risk)
        } else {
            self.reasons.join("; ")
        }
    }

    /// Says on stderr how the command is flagged. A held-back command is a `Failure` instead:
    /// exit 1, its reason as the one line.
    pub fn announce(&self) -> Result<(), Failure> {
        let Some(message) = self.message() else {
            return Ok(());
        };
        if self.action() == Action::HoldBack {
            return Err(Failure { code: 1, message });
        }
        eprintln!("cmdai: {message}");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(risk: Risk, blocked: bool, reasons: &[String]) -> Outcome<'_> {
        Outcome {
            risk,
            blocked,
            reasons,
            syntax_ok: true,
            missing_tools: &[],
            problems: &[],
        }
    }

    #[test]
    fn each_risk_gets_its_line() {
        let reasons = ["deletes files".to_string(), "as root".to_string()];
        let message = |risk, blocked| outcome(risk, blocked, &reasons).message();
        assert_eq!(message(Risk::Safe, false), None);
        assert_eq!(
            message(Risk::Moderate, false).unwrap(),
            "note: deletes files"
        );
        assert_eq!(
            message(Risk::High, false).unwrap(),
            "warning: deletes files; as root"
        );
        assert_eq!(
            message(Risk::High, true).unwrap(),
            "held back a high command: deletes files; as root"
        );
        assert_eq!(
            message(Risk::Critical, true).unwrap(),
            "held back a critical command: deletes files; as root"
        );
    }

    #[test]
    fn a_critical_command_is_never_inserted_even_unblocked() {
        assert_eq!(
            outcome(Risk::Critical, false, &[]).action(),
            Action::HoldBack
        );
    }

    #[test]
    fn a_held_back_command_is_exit_1_with_the_reason() {
        let reasons = ["wipes the disk".to_string()];
        let failure = outcome(Risk::Critical, true, &reasons)
            .announce()
            .err()
            .unwrap();
        assert_eq!(failure.code, 1);
        assert_eq!(
            failure.message,
            "held back a critical command: wipes the disk"
        );
    }

    #[test]
    fn strict_blocks_high_in_a_local_check() {
        let report = Report {
            risk: Risk::High,
            reasons: Vec::new(),
            syntax: validate::Syntax::Ok,
            missing_tools: Vec::new(),
            problems: Vec::new(),
        };
        assert!(!Outcome::of_report(&report, Safety::Normal).blocked);
        assert!(Outcome::of_report(&report, Safety::Strict).blocked);
    }
}
