//! The widgets' second key press. When the line still holds exactly the command cmdai just put
//! there, the key brings the next candidate instead of asking the model about a command: the
//! client remembers what it showed in the private runtime dir, so the widgets stay unchanged.
//! When the first answer came alone, the second press asks the daemon once more for the same
//! sentence with several candidates, so the first press never pays for alternatives.
//!
//! Only candidates the daemon let through are remembered (alternatives held back by the safety
//! setting never reach the client), each with its own risk, so the next one is announced like
//! the first: a note or a warning when it has one.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::paths;
use crate::protocol::{Alternative, Suggestion};

const FILE: &str = "last-suggestion.json";

/// One command the user can be shown, with what the checks found: the wire's own shape.
pub type Choice = Alternative;

/// What the last suggestion offered and which of it is on the line now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shown {
    /// The sentence the commands answer.
    pub sentence: String,
    pub choices: Vec<Choice>,
    pub index: usize,
    /// More candidates were already asked for.
    pub expanded: bool,
}

/// The commands a suggestion offers that may be shown: the chosen one unless held back, then
/// the alternatives (the daemon sends none that are held back).
fn choices_of(suggestion: &Suggestion) -> Vec<Choice> {
    let first = (!suggestion.blocked && !suggestion.command.trim().is_empty()).then(|| Choice {
        command: suggestion.command.clone(),
        risk: suggestion.risk,
        reasons: suggestion.reasons.clone(),
    });
    let others = suggestion.alternatives.iter().cloned();
    first.into_iter().chain(others).collect()
}

impl Shown {
    /// What `suggestion` for `sentence` offers; `None` when nothing may be shown.
    pub fn of(sentence: &str, suggestion: &Suggestion) -> Option<Shown> {
        let choices = choices_of(suggestion);
        (!choices.is_empty() && !suggestion.blocked).then(|| Shown {
            sentence: sentence.to_string(),
            choices,
            index: 0,
            expanded: false,
        })
    }

    /// True when `line` is exactly the command on show.
    pub fn on_show(&self, line: &str) -> bool {
        self.choices
            .get(self.index)
            .is_some_and(|c| c.command == line)
    }

    /// Whether asking for more candidates could add something: nothing else to offer yet.
    pub fn wants_more(&self) -> bool {
        self.choices.len() == 1 && !self.expanded
    }

    /// Adds the commands of `more` not offered yet, after the current ones.
    pub fn with_more(mut self, more: &Suggestion) -> Shown {
        for choice in choices_of(more) {
            if self.choices.iter().all(|c| c.command != choice.command) {
                self.choices.push(choice);
            }
        }
        self.expanded = true;
        self
    }

    /// The next command round the cycle, if there is another.
    pub fn next(&self) -> Option<Shown> {
        (self.choices.len() > 1).then(|| Shown {
            index: (self.index + 1) % self.choices.len(),
            ..self.clone()
        })
    }

    pub fn current(&self) -> &Choice {
        &self.choices[self.index]
    }

    /// `candidate 2 of 3`, for the status line.
    pub fn position(&self) -> String {
        format!("candidate {} of {}", self.index + 1, self.choices.len())
    }
}

fn path() -> PathBuf {
    paths::runtime_dir().join(FILE)
}

/// What was last shown, if anything readable is remembered.
pub fn load() -> Option<Shown> {
    let bytes = std::fs::read(path()).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Remembers `shown` for the next key press; `None` forgets. Best effort: a failure only costs
/// the cycling, never the suggestion. Written private and swapped in whole.
pub fn save(shown: Option<&Shown>) {
    let path = path();
    let Some(shown) = shown else {
        let _ = std::fs::remove_file(&path);
        return;
    };
    let Ok(json) = serde_json::to_vec(shown) else {
        return;
    };
    let temp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut file| file.write_all(&json));
    if written
        .and_then(|()| std::fs::rename(&temp, &path))
        .is_err()
    {
        let _ = std::fs::remove_file(&temp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::Risk;

    fn suggestion(alternatives: &[&str]) -> Suggestion {
        Suggestion {
            command: "ls -a".into(),
            backend: "b".into(),
            model: "m".into(),
            elapsed_ms: 0,
            prompt_tokens: 0,
            output_tokens: 0,
            risk: Risk::Safe,
            reasons: Vec::new(),
            blocked: false,
            syntax_error: None,
            missing_tools: Vec::new(),
            problems: Vec::new(),
            repaired: false,
            alternatives: alternatives
                .iter()
                .map(|c| Alternative {
                    command: c.to_string(),
                    risk: Risk::Moderate,
                    reasons: vec!["why".into()],
                })
                .collect(),
            fallback: None,
        }
    }

    #[test]
    fn the_cycle_goes_round_from_the_command_on_show() {
        let shown = Shown::of("list", &suggestion(&["ls -l", "ls -S"])).unwrap();
        assert!(shown.on_show("ls -a"));
        assert!(
            !shown.on_show("ls -l") && !shown.on_show("ls -a "),
            "edited"
        );
        assert!(!shown.wants_more());
        let second = shown.next().unwrap();
        assert_eq!(second.current().command, "ls -l");
        assert_eq!(second.current().risk, Risk::Moderate);
        assert_eq!(second.position(), "candidate 2 of 3");
        let back = second.next().unwrap().next().unwrap();
        assert_eq!(back.current().command, "ls -a");
    }

    #[test]
    fn a_lone_command_asks_once_for_more_and_keeps_only_new_ones() {
        let shown = Shown::of("list", &suggestion(&[])).unwrap();
        assert!(shown.wants_more());
        assert_eq!(shown.next(), None);
        let mut more = suggestion(&["ls -l", "ls -a"]);
        more.command = "ls -a".into();
        let grown = shown.with_more(&more);
        assert!(!grown.wants_more());
        let commands: Vec<_> = grown.choices.iter().map(|c| c.command.as_str()).collect();
        assert_eq!(commands, ["ls -a", "ls -l"]);
        let alone = Shown::of("list", &suggestion(&[]))
            .unwrap()
            .with_more(&suggestion(&[]));
        assert!(!alone.wants_more() && alone.next().is_none());
    }

    #[test]
    fn a_held_back_command_is_not_remembered() {
        let mut blocked = suggestion(&["ls -l"]);
        blocked.blocked = true;
        assert_eq!(Shown::of("list", &blocked), None);
    }
}
