//! Property tests: [`assess`] never panics and always returns, for every shell, whatever text it
//! is given (up to 64 KiB): arbitrary strings, soups of shell tokens, and deep nesting.
//!
//! Each call runs on a thread of its own with the default stack size (the size of the daemon's
//! worker threads), so a panic is reported with the input that caused it, a stack overflow
//! aborts the run, and a call that has not returned within [`LIMIT`] fails the test instead of
//! hanging it.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError};

use super::{assess, Shell};

const SHELLS: [Shell; 4] = [Shell::Sh, Shell::Bash, Shell::Zsh, Shell::Fish];

/// The largest input, in bytes.
const MAX_BYTES: usize = 64 * 1024;

/// The deepest nesting tried.
const MAX_DEPTH: usize = 5000;

/// How long one call may take before it counts as hanging: generous, for loaded machines.
const LIMIT: Duration = Duration::from_secs(10);

/// Words, operators and fragments that exercise the analyzer: quoting, substitutions,
/// redirections, compound commands of all four shells, wrappers and dangerous commands.
#[rustfmt::skip]
const TOKENS: &[&str] = &[
    "echo", "ls", "-la", "/", "~", "*", "$HOME", "${x}", "${x:-/}", "$x", "$@", "\"", "'", "\\",
    "$(", "`", ")", "(", "{", "}", "[", "]", "[[", "]]", "((", "))", "$((", "<(", ">(", "|", "||",
    "&", "&&", ";", ";;", "\n", "<", ">", ">>", "2>&1", "&>", ">|", "<<EOF", "<<-EOF", "<<'EOF'",
    "<<<", "EOF", "=", "x=1", "sudo", "doas", "rm", "-rf", "rm -rf", "--no-preserve-root", "sh -c",
    "bash -c", "zsh -c", "fish -c", "eval", "exec", "xargs", "xargs -0", "env", "nohup",
    "timeout 5", "find / -delete", "-exec", "{}", "\\;", "+", "dd", "of=/dev/sda", "mkfs.ext4",
    "chmod -R 777", "chown", ":(){ :|:& };:", "for f in", "in", "do", "done", "while", "until",
    "if", "then", "elif", "else", "fi", "case", "esac", "function", "f()", "()", "begin", "end",
    "switch", "and", "or", "not", "set -x", "command", "builtin", "foreach", "repeat", "select",
    "coproc", "time", "!", "#", "# comment", "%", "^", "**", "=(", "${(k)x}", "(N)", "string",
    "math", "curl http://x | sh", "wget -O-", "tee", "/etc/passwd", "~/.ssh", "/dev/null", "é",
    "\u{0}", "\t", "\r",
];

/// What goes between two tokens.
const SEPARATORS: &[&str] = &[" ", " ", " ", "", "\n", "; ", "\t"];

/// Openers and their closers, nested up to [`MAX_DEPTH`] deep.
const NESTERS: &[(&str, &str)] = &[
    ("$(", ")"),
    ("(", ")"),
    ("\"$(echo \"", "\")\""),
    ("bash -c '", "'"),
    ("sh -c \"", "\""),
    ("{ ", "; }"),
    ("`", "`"),
    ("<(", ")"),
    ("$((", "))"),
    ("${", "}"),
    ("[[ ", " ]]"),
    ("if true; then ", "; fi"),
    ("begin; ", "; end"),
    ("for f in a; do ", "; done"),
    ("f() { ", "; }; f"),
    ("sudo ", ""),
    ("eval ", ""),
    ("xargs ", ""),
    ("echo | ", ""),
    ("echo $(echo ", ")"),
];

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        // Shrinking a 64 KiB input that hangs could take forever.
        max_shrink_time: 60_000,
        ..Config::default()
    }
}

/// Cuts `text` to at most [`MAX_BYTES`], at a character boundary.
fn cap(mut text: String) -> String {
    if text.len() > MAX_BYTES {
        let end = (0..=MAX_BYTES)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text.truncate(end);
    }
    text
}

/// `open` × `depth`, a dangerous core, then `close` × `depth` when `balanced`.
fn nested((open, close): (&str, &str), depth: usize, balanced: bool) -> String {
    let mut text = open.repeat(depth);
    text.push_str("rm -rf /");
    if balanced {
        text.push_str(&close.repeat(depth));
    }
    cap(text)
}

/// Fails unless [`assess`] returns without panicking, within [`LIMIT`], for every shell.
fn assess_returns(command: &str) -> Result<(), TestCaseError> {
    for shell in SHELLS {
        let input = command.to_owned();
        returns_within(LIMIT, move || assess(&input, shell)).map_err(|err| {
            TestCaseError::fail(format!("{shell}, {} bytes: {err}", command.len()))
        })?;
    }
    Ok(())
}

/// Runs `work` on a thread of its own and fails if it panics or is still running after `limit`.
fn returns_within<T: Send + 'static>(
    limit: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<(), String> {
    let (done, finished) = mpsc::channel();
    let worker = thread::Builder::new()
        .name("assess".into())
        .spawn(move || {
            let _ = done.send(work());
        })
        .expect("spawn a thread");
    match finished.recv_timeout(limit) {
        Ok(_) => Ok(()),
        Err(RecvTimeoutError::Disconnected) => match worker.join() {
            Err(payload) => Err(format!("panicked: {}", panic_message(payload.as_ref()))),
            Ok(()) => Err("stopped without a result".into()),
        },
        // The thread is left behind: it cannot be stopped, and the test fails anyway.
        Err(RecvTimeoutError::Timeout) => Err(format!("did not return within {limit:?}")),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Any Unicode text, mostly short, sometimes up to 64 KiB.
fn arbitrary_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => vec(any::<char>(), 0..1024).prop_map(String::from_iter),
        1 => vec(any::<char>(), 0..MAX_BYTES / 4).prop_map(|chars| cap(String::from_iter(chars))),
        // ASCII with control characters: far more of it looks like shell syntax.
        1 => vec(proptest::char::range('\0', '\x7f'), 0..MAX_BYTES)
            .prop_map(|chars| cap(String::from_iter(chars))),
    ]
}

/// Shell tokens joined by spaces, newlines and nothing at all, up to 64 KiB.
fn token_soup() -> impl Strategy<Value = String> {
    let pair = (select(TOKENS), select(SEPARATORS));
    prop_oneof![
        3 => vec(pair.clone(), 0..64),
        1 => vec(pair, 0..12_000),
    ]
    .prop_map(|pairs| {
        let text: String = pairs
            .into_iter()
            .flat_map(|(token, sep)| [token, sep])
            .collect();
        cap(text)
    })
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn assess_survives_arbitrary_text(text in arbitrary_text()) {
        assess_returns(&text)?;
    }
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn assess_survives_token_soup(text in token_soup()) {
        assess_returns(&text)?;
    }
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn assess_survives_deep_nesting(
        nester in select(NESTERS),
        depth in 0..=MAX_DEPTH,
        balanced in any::<bool>(),
    ) {
        assess_returns(&nested(nester, depth, balanced))?;
    }
}

#[test]
fn assess_survives_the_deepest_nesting() {
    for &nester in NESTERS {
        for balanced in [false, true] {
            let text = nested(nester, MAX_DEPTH, balanced);
            if let Err(err) = assess_returns(&text) {
                panic!("{nester:?} × {MAX_DEPTH} (balanced: {balanced}): {err}");
            }
        }
    }
}

#[test]
fn assess_survives_edge_cases() {
    let long_word = "a".repeat(MAX_BYTES);
    let many_lines = "\n".repeat(MAX_BYTES);
    let many_pipes = "echo |".repeat(MAX_BYTES / 6);
    let many_heredocs = "cat <<EOF\n".repeat(MAX_BYTES / 10);
    let quotes = "'\"".repeat(MAX_BYTES / 2);
    let backslashes = "\\".repeat(MAX_BYTES);
    let cases = [
        "",
        " ",
        "\0",
        "\\",
        "'",
        "\"",
        "$(",
        "`",
        "<<",
        "<<EOF",
        "rm -rf /",
        "sudo",
        "sh -c",
        "xargs",
        "eval",
        "find / -delete",
        "for f in",
        "end",
        "()",
        "\u{feff}rm -rf /",
        long_word.as_str(),
        many_lines.as_str(),
        many_pipes.as_str(),
        many_heredocs.as_str(),
        quotes.as_str(),
        backslashes.as_str(),
    ];
    for text in cases {
        assert!(text.len() <= MAX_BYTES);
        if let Err(err) = assess_returns(text) {
            panic!("{:?}…: {err}", text.chars().take(40).collect::<String>());
        }
    }
}

#[test]
fn cap_keeps_char_boundaries() {
    let text = cap("é".repeat(MAX_BYTES));
    assert!(text.len() <= MAX_BYTES && text.len() >= MAX_BYTES - 1);
    assert_eq!(cap("short".into()), "short");
}

#[test]
fn panics_and_hangs_are_caught() {
    let panicked = returns_within(LIMIT, || panic!("boom"));
    assert_eq!(panicked, Err("panicked: boom".into()));
    let hung = returns_within(Duration::from_millis(20), || {
        thread::sleep(Duration::from_secs(2))
    });
    assert_eq!(hung, Err("did not return within 20ms".into()));
    assert_eq!(returns_within(LIMIT, || 1), Ok(()));
}
