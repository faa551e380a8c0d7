//! `cmdai check`: the validator on one command, here and now; no daemon, no model.

use std::io::Read;

use clap::Args;

use super::verdict::Outcome;
use super::{print_stdout, Failure};
use crate::config::Config;
use crate::context;
use crate::validate::{self, Action, Report, Shell, Syntax};

#[derive(Debug, Args)]
#[command(
    after_help = "Rates the command safe, moderate, high or critical (with reasons), \
    runs the shell's own syntax check (bash -n, zsh -n, fish -n), and looks for the tools it \
    runs on $PATH. It also looks at the current directory for what would fail there: a folder \
    written into that does not exist, a folder grep reads without -r. Nothing is executed. Quote the command as one argument: your shell would \
    otherwise expand ~, globs and variables before cmdai sees them.\n\n\
    A critical command is held back; so is a high one with `safety = \"strict\"` in \
    config.toml (or CMDAI_SAFETY=strict).\n\n\
    Exit status: 0 it would be inserted, 1 it would be held back, 2 error.\n\n\
    Examples:\n  \
    cmdai check 'rm -rf ~/Downloads/*'\n  \
    cmdai check --json --shell fish 'for f in *.txt; wc -l $f; end'\n  \
    printf '%s\\n' 'cat <<EOF' 'rm -rf /' 'EOF' | cmdai check -"
)]
pub struct CheckArgs {
    /// Print a JSON object: risk, blocked, reasons, syntax_ok, missing_tools, problems
    #[arg(long)]
    json: bool,
    /// Shell the command is written for [default: $CMDAI_SHELL, else $SHELL, else bash]
    #[arg(long, value_parser = ["bash", "zsh", "fish", "sh"])]
    shell: Option<String>,
    /// The command, as one argument (it may span lines); `-` reads it from stdin
    #[arg(value_name = "COMMAND")]
    command: String,
}

pub fn run(args: CheckArgs) -> Result<(), Failure> {
    let command = command_text(args.command)?;
    let shell_name = args.shell.unwrap_or_else(|| context::detect_shell(None));
    let shell = Shell::from_name(&shell_name).unwrap_or(Shell::Bash);
    let safety = Config::load()?.safety;
    let path = std::env::var("PATH").unwrap_or_default();
    let cwd = std::env::current_dir().unwrap_or_default();
    let report = validate::check(&command, shell, &path, &cwd);
    let outcome = Outcome::of_report(&report, safety);
    let text = if args.json {
        serde_json::to_string(&outcome)? + "\n"
    } else {
        render(&report, &outcome)
    };
    print_stdout(&text)?;
    if outcome.blocked {
        return Err(Failure {
            code: 1,
            message: String::new(),
        });
    }
    Ok(())
}

/// The argument itself, or all of stdin for `-`.
fn command_text(argument: String) -> Result<String, Failure> {
    let command = if argument == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::error(format!("could not read the command from stdin: {e}")))?;
        text
    } else {
        argument
    };
    if command.trim().is_empty() {
        return Err(Failure::error("the command is empty: nothing to check"));
    }
    Ok(command)
}

/// The risk and what the policy does, the reasons as bullets, then syntax and tools.
fn render(report: &Report, outcome: &Outcome) -> String {
    let policy = match outcome.action() {
        Action::Insert => "",
        Action::Note => " (inserted with a note)",
        Action::Warn => " (inserted with a warning)",
        Action::HoldBack => " (held back)",
    };
    let mut text = format!("{}{policy}\n", report.risk);
    for reason in &report.reasons {
        text += &format!("  - {reason}\n");
    }
    text += &match &report.syntax {
        Syntax::Ok => "syntax: ok\n".to_string(),
        Syntax::Error(message) => format!("syntax: error: {message}\n"),
        Syntax::Unchecked(why) => format!("syntax: unchecked: {why}\n"),
    };
    let missing = if report.missing_tools.is_empty() {
        "none".to_string()
    } else {
        report.missing_tools.join(", ")
    };
    text += &format!("missing tools: {missing}\n");
    for problem in &report.problems {
        text += &format!("would fail: {problem}\n");
    }
    text
}
