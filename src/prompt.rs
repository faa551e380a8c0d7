//! What the model is asked, and how its answer becomes a command.
//!
//! The conversation is split in three: a fixed part (rules, platform facts, worked examples) that
//! a daemon evaluates once at load and keeps in its KV cache; the client's context block (the
//! directory, git state, system, tools), the same for every request from one place and kept too;
//! and the request part (details about the files the sentence names, then the sentence), which
//! is all a request from a known place pays for. A repair request is the same per-request
//! part with one more line saying what was wrong with the first answer, so it too reuses the
//! cached fixed part. A backend that writes the start of the answer itself (the embedded one)
//! moves the sentence there instead, as a comment line the command follows (`lead_answer`), so
//! that nothing but the line's end comes after what the user types. Pure functions; no model
//! here.

use crate::protocol::GenerateRequest;
use crate::validate::{Report, Syntax};

/// How the line that asks for a repair starts.
const REPAIR_LEAD: &str = "The command `";
/// How the line that holds the sentence starts in a user turn.
const REQUEST_LEAD: &str = "Request: ";
/// How an answer that begins with its request (`lead_answer`) restates it: a shell comment.
const ANSWER_LEAD: &str = "# ";

/// One turn of the conversation, before a chat template renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub role: &'static str,
    pub content: String,
}

/// A worked example: where it was typed, the facts about the files it names, the sentence, and
/// the answer. The context follows the client's format (`context.rs`), so the model learns to
/// read real names, headers and line formats from it.
struct Example {
    context: &'static str,
    details: &'static str,
    sentence: &'static str,
    command: &'static str,
}

/// Shown to the model as earlier turns of the same conversation. They teach the format (one
/// bare command line) and the use of the context more reliably than rules alone do with small
/// models. Everyday tasks of many kinds, none taken from any benchmark.
const EXAMPLES: &[Example] = &[
    Example {
        context: "Git: branch main, clean\n\
                  Entries: Cargo.toml, README.md, src/, target/, tests/\n\
                  Hidden: .gitignore\n\
                  System: Linux, GNU userland, bash 5.2.21\n\
                  Tools: rg, jq, python3\n",
        details: "",
        sentence: "list every rust file under src with its line count",
        command: "find src -name '*.rs' -exec wc -l {} +",
    },
    Example {
        context: "Entries: orders.csv, summary.txt\n\
                  System: Linux, GNU userland, bash 5.2.21\n",
        details: "orders.csv starts with:\n  order_id,customer,country,total\n  \
                  1001,Ann Lee,FR,42.50\n  1002,Bo Chen,DE,13.00\n",
        sentence: "total of the orders from germany",
        command: "awk -F, 'NR > 1 && $3 == \"DE\" {sum += $4} END {print sum}' orders.csv",
    },
    Example {
        context: "Location: the home directory (~)\n\
                  Entries: Desktop/, Documents/, Downloads/, Music/\n\
                  System: Linux, GNU userland, zsh 5.9\n",
        details: "Downloads/ holds: installer.deb, paper.pdf, photos/, song.mp3\n",
        sentence: "pdfs in downloads bigger than 2 mb",
        command: "find Downloads -name '*.pdf' -size +2M",
    },
    Example {
        context: "Entries: app.log, server.py\n\
                  System: Linux, GNU userland, bash 5.2.21\n",
        details: "app.log starts with:\n  2024-03-12 10:01:22 INFO started on :8000\n  \
                  2024-03-12 10:01:25 ERROR db: connection refused\n",
        sentence: "show the errors logged on march 12",
        command: "grep '^2024-03-12 .* ERROR' app.log",
    },
    Example {
        context: "Git: branch feature/nav, uncommitted changes\n\
                  Entries: index.html, package.json, src/\n\
                  System: Linux, GNU userland, bash 5.2.21\n",
        details: "",
        sentence: "undo my changes to index.html",
        command: "git restore index.html",
    },
    Example {
        context: "Entries: app.yaml, main.go\n\
                  System: Linux, GNU userland, bash 5.2.21\n",
        details: "app.yaml starts with:\n  port: 8080\n  debug: true\n",
        sentence: "set debug to false in app.yaml",
        command: "sed -i 's/^debug: true/debug: false/' app.yaml",
    },
    Example {
        context: "Entries: site.zip\n\
                  System: Linux, GNU userland, bash 5.2.21\n",
        details: "",
        sentence: "unpack site.zip into a folder named site",
        command: "unzip site.zip -d site",
    },
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
         Each request comes with facts about where it is typed: the directory's entries, git state, system and tools, and the first lines of files and folders it names. \
         Use them: the real names (match the user's words to them even when spelled loosely), the columns and separators a file's first lines show (a header line means the data starts on line 2), the format of its lines.\n\
         Paths are relative to the current directory. Search it recursively (find ., grep -r) when the request names no folder.\n\
         Print results to the terminal. Create, change or delete files only when the request asks for it, and then change them in place: no copies, no extra files.\n\
         Do every part of what is asked and nothing more: no sorting, counting, limits or extra output nobody asked for.\n\
         Prefer short commands with standard tools (find, grep, sed, awk, sort, uniq, cut, wc, du, tar, git).\n\
         Do not use sudo.\n\
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
    for example in EXAMPLES {
        turns.push(Turn {
            role: "user",
            content: format!(
                "{}{}",
                example.context,
                request_part(example.details, example.sentence)
            ),
        });
        turns.push(Turn {
            role: "assistant",
            content: example.command.to_string(),
        });
    }
    turns
}

fn request_part(details: &str, sentence: &str) -> String {
    format!("{details}{REQUEST_LEAD}{}", sentence.trim())
}

/// The same turn laid out for a backend that writes the start of the answer itself: the
/// sentence leaves the user's turn (what stays there: the context, the details and any repair
/// line) and opens the answer as a comment line, `# <sentence>`, which the command then follows.
/// The sentence then comes last, right before the answer, so everything ahead of it can be
/// evaluated while it is typed, and only the comment's line end is left for the key press.
/// `None` when `text` has no request line.
pub fn lead_answer(text: &str) -> Option<(String, String)> {
    let start = match text.rfind(&format!("\n{REQUEST_LEAD}")) {
        Some(newline) => newline + 1,
        None if text.starts_with(REQUEST_LEAD) => 0,
        None => return None,
    };
    let line_and_after = &text[start + REQUEST_LEAD.len()..];
    let (sentence, after) = line_and_after
        .split_once('\n')
        .unwrap_or((line_and_after, ""));
    Some((
        format!("{}{after}", &text[..start]),
        format!("{ANSWER_LEAD}{sentence}"),
    ))
}

/// `turns` laid out as `lead_answer` lays out a request: each worked example's sentence moves
/// from its user turn to the start of its answer, on a line of its own before the command.
pub fn led_turns(turns: &[Turn]) -> Vec<Turn> {
    let mut led = turns.to_vec();
    for i in 1..led.len() {
        if led[i - 1].role != "user" || led[i].role != "assistant" {
            continue;
        }
        if let Some((user, lead)) = lead_answer(&led[i - 1].content) {
            led[i].content = format!("{lead}\n{}", led[i].content);
            led[i - 1].content = user;
        }
    }
    led
}

/// The per-request part that follows the shared context block: the details and the sentence.
pub fn request_text(request: &GenerateRequest) -> String {
    request_part(&request.details, &request.sentence)
}

/// The whole final user turn, exactly as the model reads it: what `--show-context` prints. (The
/// embedded backend reads the same text with the request line moved to the start of its answer.)
pub fn user_turn(request: &GenerateRequest) -> String {
    format!("{}{}", request.context, request_text(request))
}

/// The per-request part again, asking to correct `command`, or `None` when the checks in
/// `report` found nothing a second try could fix (a syntax error, a missing tool, a problem in
/// the directory).
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
    problems.extend(report.problems.iter().cloned());
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
            problems: Vec::new(),
        }
    }

    fn request() -> GenerateRequest {
        GenerateRequest {
            sentence: "say hello".into(),
            shell: "bash".into(),
            cwd: "/home/user".into(),
            context: "Directory: user\n".into(),
            details: "notes.txt is empty\n".into(),
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
    fn what_would_fail_in_the_directory_is_a_problem_to_repair() {
        let failed = Report {
            problems: vec!["there is no folder logs/ here".into()],
            ..report(Syntax::Ok, &[])
        };
        let text = repair_text(&request(), "touch logs/x", &failed).unwrap();
        assert!(
            repair_line(&text)
                .unwrap()
                .contains("`touch logs/x` failed: there is no folder logs/"),
            "{text}"
        );
    }

    #[test]
    fn nothing_to_repair_without_a_syntax_error_or_a_missing_tool() {
        for syntax in [Syntax::Ok, Syntax::Unchecked("no zsh".into())] {
            assert_eq!(repair_text(&request(), "ls", &report(syntax, &[])), None);
        }
    }

    #[test]
    fn the_user_turn_is_context_then_details_then_sentence() {
        assert_eq!(
            user_turn(&request()),
            "Directory: user\nnotes.txt is empty\nRequest: say hello"
        );
        assert_eq!(
            request_text(&request()),
            "notes.txt is empty\nRequest: say hello"
        );
    }

    #[test]
    fn a_led_answer_begins_with_the_sentence_and_the_rest_stays_in_the_turn() {
        let text = request_text(&request());
        assert_eq!(
            lead_answer(&text),
            Some(("notes.txt is empty\n".into(), "# say hello".into()))
        );
        let failed = report(Syntax::Error("unexpected EOF".into()), &[]);
        let repair = repair_text(&request(), "ls (", &failed).unwrap();
        let (user, lead) = lead_answer(&repair).unwrap();
        assert_eq!(lead, "# say hello");
        assert_eq!(
            user,
            format!("notes.txt is empty\n{}", repair_line(&repair).unwrap())
        );
        // A line typed so far, before any details; a text with no request line is left alone.
        assert_eq!(
            lead_answer("Request: find pd"),
            Some((String::new(), "# find pd".into()))
        );
        assert_eq!(lead_answer(""), None);
        assert_eq!(lead_answer("Requests: none\n"), None);
    }

    #[test]
    fn led_examples_answer_with_their_sentence_then_their_command() {
        let chat = fixed_turns();
        let led = led_turns(&chat);
        assert_eq!(led.len(), chat.len());
        assert_eq!(led[0], chat[0], "the rules stay");
        for (pair, example) in led[1..].chunks(2).zip(EXAMPLES) {
            assert!(!pair[0].content.contains(REQUEST_LEAD), "{:?}", pair[0]);
            assert!(pair[0]
                .content
                .ends_with(&format!("{}{}", example.context, example.details)));
            assert_eq!(
                pair[1].content,
                format!("# {}\n{}", example.sentence, example.command)
            );
        }
    }

    #[test]
    fn the_fixed_part_ends_with_an_assistant_turn() {
        let turns = fixed_turns();
        assert_eq!(turns[0].role, "system");
        assert_eq!(turns.last().unwrap().role, "assistant");
    }
}
