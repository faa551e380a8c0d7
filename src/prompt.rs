//! What the model is asked, and how its answer becomes a command.
//!
//! The conversation is split in two: a fixed part (rules, platform facts, worked examples) that
//! a daemon evaluates once at load and keeps in its KV cache, and a per-request part (shell,
//! directory, sentence) that is all a request pays for. A repair request is the same per-request
//! part with one more line saying what was wrong with the first answer, so it too reuses the
//! cached fixed part. Pure functions; no model here.

use crate::protocol::GenerateRequest;
use crate::validate::{Report, Syntax};

/// How the line that asks for a repair starts.
const REPAIR_LEAD: &str = "The command `";

/// One turn of the conversation, before a chat template renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub role: &'static str,
    pub content: String,
}

/// Worked examples, shown to the model as earlier turns of the same conversation. They teach the
/// format (one bare command line) more reliably than rules alone do with small models.
const EXAMPLES: &[(&str, &str)] = &[
    (
        "list all python files under this directory",
        "find . -type f -name '*.py'",
    ),
    (
        "show the 5 biggest files here",
        "find . -type f -exec du -h {} + | sort -rh | head -n 5",
    ),
    ("how many lines does notes.txt have", "wc -l < notes.txt"),
    (
        "undo my last git commit but keep the changes",
        "git reset --soft HEAD~1",
    ),
    (
        "replace foo with bar in config.ini",
        "sed -i 's/foo/bar/g' config.ini",
    ),
];

fn platform_facts() -> &'static str {
    if cfg!(target_os = "macos") {
        "The system is macOS with BSD userland: use BSD flags (e.g. `sed -i ''`, `stat -f`), no GNU-only options."
    } else {
        "The system is Linux with GNU coreutils, findutils, grep, sed and awk: GNU options are available."
    }
}

fn system_text() -> String {
    format!(
        "You turn a request typed at a shell prompt into one shell command.\n\
         Answer with the command only, on a single line: no explanation, no Markdown, no backticks, no leading $.\n\
         Paths are relative to the current directory unless the request names another place.\n\
         Prefer standard tools (find, grep, sed, awk, sort, du, tar, git) and short, safe commands.\n\
         Do not use sudo, and do not delete or overwrite anything the request does not ask for.\n\
         {}",
        platform_facts()
    )
}

/// The fixed part: system rules then the worked examples. Identical for every request a daemon
/// serves, which is what lets its evaluation be cached.
pub fn fixed_turns() -> Vec<Turn> {
    let mut turns = vec![Turn {
        role: "system",
        content: system_text(),
    }];
    for (sentence, command) in EXAMPLES {
        turns.push(Turn {
            role: "user",
            content: user_text("bash", "/home/user/project", sentence),
        });
        turns.push(Turn {
            role: "assistant",
            content: (*command).to_string(),
        });
    }
    turns
}

fn user_text(shell: &str, cwd: &str, sentence: &str) -> String {
    format!(
        "Shell: {shell}\nDirectory: {cwd}\nRequest: {}",
        sentence.trim()
    )
}

/// The per-request part: the content of the final user turn.
pub fn request_text(request: &GenerateRequest) -> String {
    user_text(&request.shell, &request.cwd, &request.sentence)
}

/// The per-request part again, asking to correct `command`, or `None` when the checks in
/// `report` found nothing a second try could fix (a syntax error or a missing tool).
pub fn repair_text(request: &GenerateRequest, command: &str, report: &Report) -> Option<String> {
    let mut problems = Vec::new();
    if let Syntax::Error(message) = &report.syntax {
        problems.push(format!("the shell's syntax check says: {message}"));
    }
    if !report.missing_tools.is_empty() {
        problems.push(format!(
            "not installed here: {}",
            report.missing_tools.join(", ")
        ));
    }
    if problems.is_empty() {
        return None;
    }
    Some(format!(
        "{}\n{REPAIR_LEAD}{command}` failed: {}. Reply with a corrected command only.",
        request_text(request),
        problems.join("; ")
    ))
}

/// The repair line of a user turn that `repair_text` made, if it is one.
pub fn repair_line(user_text: &str) -> Option<&str> {
    user_text
        .lines()
        .last()
        .filter(|line| line.starts_with(REPAIR_LEAD))
}

/// True once the answer holds a finished command line, so generation can stop. A fence opener
/// (```` ```bash ````) or a blank line does not count: the command is still to come.
pub fn line_complete(output: &str) -> bool {
    let Some(last_newline) = output.rfind('\n') else {
        return false;
    };
    output[..last_newline]
        .lines()
        .map(str::trim)
        .any(|line| !line.is_empty() && !line.starts_with("```"))
}

/// Takes the command out of whatever the model wrapped it in: fences, backticks, a `$ ` prompt,
/// a `Command:` label. Returns the first real line, trimmed.
pub fn extract_command(raw: &str) -> String {
    let line = raw
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with("```"))
        .unwrap_or_default();
    let line = strip_label(line);
    let line = line.strip_prefix("$ ").unwrap_or(line).trim();
    strip_backticks(line).trim().to_string()
}

fn strip_label(line: &str) -> &str {
    for label in ["Command:", "command:", "Answer:"] {
        if let Some(rest) = line.strip_prefix(label) {
            return rest.trim_start();
        }
    }
    line
}

fn strip_backticks(line: &str) -> &str {
    match line.strip_prefix('`').and_then(|l| l.strip_suffix('`')) {
        Some(inner) if !inner.contains('`') => inner,
        _ => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_line_is_complete_at_its_newline() {
        assert!(!line_complete("ls -la"));
        assert!(line_complete("ls -la\n"));
        assert!(!line_complete("\n"));
    }

    #[test]
    fn a_fence_opener_is_not_a_complete_line() {
        assert!(!line_complete("```bash\n"));
        assert!(line_complete("```bash\nls -la\n"));
    }

    #[test]
    fn extraction_strips_wrappers() {
        assert_eq!(extract_command("ls -la"), "ls -la");
        assert_eq!(extract_command("```bash\nls -la\n```"), "ls -la");
        assert_eq!(extract_command("`ls -la`"), "ls -la");
        assert_eq!(extract_command("$ ls -la\n"), "ls -la");
        assert_eq!(extract_command("Command: du -sh ."), "du -sh .");
        assert_eq!(
            extract_command("  \nfind . -name '*.py'\nexplanation"),
            "find . -name '*.py'"
        );
    }

    #[test]
    fn inner_backticks_are_kept() {
        assert_eq!(extract_command("echo `date` now"), "echo `date` now");
    }

    fn report(syntax: Syntax, missing_tools: &[&str]) -> Report {
        Report {
            risk: crate::validate::Risk::Safe,
            reasons: Vec::new(),
            syntax,
            missing_tools: missing_tools.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn request() -> GenerateRequest {
        GenerateRequest {
            sentence: "say hello".into(),
            shell: "bash".into(),
            cwd: "/home/user".into(),
            ..GenerateRequest::default()
        }
    }

    #[test]
    fn a_repair_adds_one_line_naming_the_command_and_its_problems() {
        let failed = report(Syntax::Error("unexpected EOF".into()), &["frob", "nitz"]);
        let text = repair_text(&request(), "frob ( | nitz", &failed).unwrap();
        let first = request_text(&request());
        let line = text.strip_prefix(&(first + "\n")).unwrap();
        assert!(!line.contains('\n'), "{text}");
        assert_eq!(
            line,
            "The command `frob ( | nitz` failed: the shell's syntax check says: unexpected EOF; \
             not installed here: frob, nitz. Reply with a corrected command only."
        );
        assert_eq!(repair_line(&text), Some(line));
        assert_eq!(repair_line(&request_text(&request())), None);
    }

    #[test]
    fn nothing_to_repair_without_a_syntax_error_or_a_missing_tool() {
        for syntax in [Syntax::Ok, Syntax::Unchecked("no zsh".into())] {
            assert_eq!(repair_text(&request(), "ls", &report(syntax, &[])), None);
        }
    }

    #[test]
    fn the_fixed_part_ends_with_an_assistant_turn() {
        let turns = fixed_turns();
        assert_eq!(turns[0].role, "system");
        assert_eq!(turns.last().unwrap().role, "assistant");
    }
}
