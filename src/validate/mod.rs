//! Validation of a command before it reaches the user's line: how risky it is, whether the
//! target shell accepts it, and whether the tools it runs exist.
//!
//! Risk comes from what the shell would do, never from patterns over the raw text: the command
//! is parsed (brush-parser, with fish and zsh syntax normalised to bash first), every simple
//! command is walked through pipelines, lists, subshells, substitutions, `sh -c` strings and
//! wrappers such as `sudo` and `xargs`, and each one is rated by the rules for its tool. Quoted
//! text that never reaches a shell is data. Everything here is pure except `syntax`, which runs
//! the target shell's own parser.

mod analyze;
mod args;
mod code;
mod dialect;
#[cfg(test)]
mod fuzz_tests;
mod parse;
pub mod places;
mod rules;
pub mod syntax;
mod target;
#[cfg(test)]
mod tests;
pub mod tools;

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The shell a command is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shell {
    Sh,
    Bash,
    Zsh,
    Fish,
}

impl Shell {
    /// `bash`, `/usr/bin/zsh`, `fish`… Unknown names are `None`.
    pub fn from_name(name: &str) -> Option<Shell> {
        let base = name.rsplit('/').next().unwrap_or(name);
        match base {
            "sh" | "dash" | "ash" | "ksh" | "mksh" => Some(Shell::Sh),
            "bash" => Some(Shell::Bash),
            "zsh" => Some(Shell::Zsh),
            "fish" => Some(Shell::Fish),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Shell::Sh => "sh",
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
        }
    }
}

impl fmt::Display for Shell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How much harm a command can do, in increasing order.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    /// Everyday commands, including ones that merely mention dangerous text.
    #[default]
    Safe,
    /// Deletes or stops specific things the user probably meant: worth a note.
    Moderate,
    /// Serious but bounded damage: inserted only with a visible warning.
    High,
    /// Damage to the whole system or home that cannot be undone: never inserted.
    Critical,
}

impl Risk {
    pub fn name(self) -> &'static str {
        match self {
            Risk::Safe => "safe",
            Risk::Moderate => "moderate",
            Risk::High => "high",
            Risk::Critical => "critical",
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The safety rating of one command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    pub risk: Risk,
    /// Why, most serious first; empty when safe.
    pub reasons: Vec<String>,
    /// The command names the line runs (after wrappers such as `sudo`), excluding functions it
    /// defines itself: what the tool check looks up.
    pub commands: Vec<String>,
    /// What the line takes for granted about the directory it runs in.
    pub expects: Vec<places::Expect>,
    /// Mistakes that make the line do other than it says (`awk -F\t`: the shell drops the
    /// backslash), one line each.
    pub pitfalls: Vec<String>,
}

/// Rates a command. Pure: no processes, no file system.
pub fn assess(command: &str, shell: Shell) -> Verdict {
    analyze::assess(command, shell)
}

/// What the target shell's own parser said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Syntax {
    Ok,
    /// The shell's message, one line.
    Error(String),
    /// The check could not run (the shell is not installed, or it timed out); says why.
    Unchecked(String),
}

impl Syntax {
    /// Only a definite error counts against a command.
    pub fn ok(&self) -> bool {
        !matches!(self, Syntax::Error(_))
    }
}

/// Everything known about a command before it is inserted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub risk: Risk,
    pub reasons: Vec<String>,
    pub syntax: Syntax,
    /// Command names that are neither builtins, keywords, functions defined in the line nor
    /// executables on the user's PATH.
    pub missing_tools: Vec<String>,
    /// What would go wrong when it runs: the line's pitfalls, then what would fail in the
    /// user's directory (`places`): a folder written into that is not there, a folder read as a
    /// file.
    pub problems: Vec<String>,
}

/// The full check: risk, the target shell's syntax check, the tool check against `path` (the
/// user's PATH, which the daemon's own may not match), and a look at the user's directory `cwd`.
pub fn check(command: &str, shell: Shell, path: &str, cwd: &Path) -> Report {
    let verdict = assess(command, shell);
    let syntax = syntax::check(command, shell, syntax::DEFAULT_TIMEOUT);
    let missing_tools = tools::missing(&verdict.commands, shell, path);
    Report {
        risk: verdict.risk,
        reasons: verdict.reasons,
        syntax,
        missing_tools,
        problems: [verdict.pitfalls, places::problems(&verdict.expects, cwd)].concat(),
    }
}

/// `safety` in config.toml.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Safety {
    /// Critical commands are held back; high ones come with a warning.
    #[default]
    Normal,
    /// High commands are held back as well.
    Strict,
}

/// What happens to a command of a given risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Insert,
    /// Inserted with a note (moderate).
    Note,
    /// Inserted with a visible warning (high).
    Warn,
    /// Not inserted; the reasons are shown instead.
    HoldBack,
}

pub fn action(risk: Risk, safety: Safety) -> Action {
    match (risk, safety) {
        (Risk::Safe, _) => Action::Insert,
        (Risk::Moderate, _) => Action::Note,
        (Risk::High, Safety::Normal) => Action::Warn,
        (Risk::High, Safety::Strict) | (Risk::Critical, _) => Action::HoldBack,
    }
}
