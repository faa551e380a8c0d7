//! The target shell's own syntax check (`bash -n`, `zsh -n`, `fish -n`, `sh -n`), the command
//! on stdin.
//!
//! The command is never passed as an argument and never executed: the shell only parses what it
//! reads from stdin. Nothing is sourced on the way (no rc files, `BASH_ENV` and `ENV` cleared),
//! stdout is discarded and the first meaningful line of stderr becomes the message. A shell that
//! takes longer than the timeout is killed; a shell that is not installed leaves the command
//! unchecked rather than wrong.
//!
//! Waiting is done without polling: a helper thread blocks in `waitid(WNOWAIT)`, which reports
//! the exit without reaping the child, so the child's pid stays valid until we reap it ourselves
//! and killing it after a timeout can never hit an unrelated process.
//!
//! A verdict depends only on the bytes and the shell binary, so the last few are remembered: a
//! command the daemon sees again (the same answer to the same request, a repair that repeats
//! itself) costs no process. Only verdicts are kept, never "unchecked".

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{waitid, Pid, WaitId, WaitIdOptions};

use super::tools;
use super::{Shell, Syntax};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest message kept from the shell, in characters.
const MAX_MESSAGE_CHARS: usize = 200;

/// Asks `shell` whether `command` parses, giving up after `timeout`. The shell binary is looked
/// up on this process's PATH.
pub fn check(command: &str, shell: Shell, timeout: Duration) -> Syntax {
    check_with_path(command, shell, timeout, std::env::var_os("PATH").as_deref())
}

/// [`check`] with the PATH to search given explicitly.
fn check_with_path(command: &str, shell: Shell, timeout: Duration, path: Option<&OsStr>) -> Syntax {
    let name = shell.name();
    let Some(program) = path.and_then(|path| tools::find_executable(name, path)) else {
        return Syntax::Unchecked(format!("{name} is not installed"));
    };
    if let Some(known) = remembered(&program, command) {
        return known;
    }
    let syntax = run_parser(name, &program, parser_args(shell), command, timeout);
    if !matches!(syntax, Syntax::Unchecked(_)) {
        remember(program, command, &syntax);
    }
    syntax
}

/// Verdicts kept, oldest dropped first.
const REMEMBERED: usize = 256;

type Verdicts = VecDeque<(PathBuf, String, Syntax)>;

static VERDICTS: Mutex<Verdicts> = Mutex::new(VecDeque::new());

fn verdicts() -> std::sync::MutexGuard<'static, Verdicts> {
    // Plain data: a panic elsewhere cannot leave it half-written.
    VERDICTS.lock().unwrap_or_else(|p| p.into_inner())
}

fn remembered(program: &Path, command: &str) -> Option<Syntax> {
    let verdicts = verdicts();
    let found = verdicts
        .iter()
        .find(|(p, c, _)| p == program && c == command);
    found.map(|(_, _, syntax)| syntax.clone())
}

fn remember(program: PathBuf, command: &str, syntax: &Syntax) {
    let mut verdicts = verdicts();
    if verdicts.len() >= REMEMBERED {
        verdicts.pop_front();
    }
    verdicts.push_back((program, command.to_owned(), syntax.clone()));
}

/// The arguments that make `shell` parse stdin without executing it or reading any config.
fn parser_args(shell: Shell) -> &'static [&'static str] {
    match shell {
        // Long options must come first; a non-interactive bash reads no rc files anyway.
        Shell::Bash => &["--noprofile", "--norc", "-n"],
        // -f: no startup files beyond /etc/zshenv, which -n keeps from executing.
        Shell::Zsh => &["-f", "-n"],
        // `fish --no-execute -c CMD` exits 0 on errors (3.6); reading stdin reports them.
        Shell::Fish => &["--no-config", "-n"],
        Shell::Sh => &["-n"],
    }
}

/// Runs `program args…` with `command` on stdin and turns its exit status and stderr into a
/// [`Syntax`]. `name` is the shell's name, used as `argv[0]` and in messages.
fn run_parser(
    name: &str,
    program: &Path,
    args: &[&str],
    command: &str,
    timeout: Duration,
) -> Syntax {
    let deadline = Instant::now() + timeout;
    let spawned = Command::new(program)
        .arg0(name)
        .args(args)
        .env_remove("BASH_ENV")
        .env_remove("ENV")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(err) => return Syntax::Unchecked(format!("could not run {name}: {err}")),
    };

    // Feed stdin and drain stderr on their own threads so that neither pipe can fill up and
    // block the shell while we wait for it.
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = command.to_owned();
    thread::spawn(move || {
        // The shell may stop reading at the first error (or be killed): a broken pipe is fine.
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let (stderr_tx, stderr_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        let _ = stderr_tx.send(text);
    });

    let exited = exit_notice(&child);
    let status = match exited.recv_timeout(timeout) {
        Ok(()) => child.wait(),
        Err(_) => {
            // Still running: it is our unreaped child, so the pid cannot have been reused.
            let _ = child.kill();
            let _ = child.wait();
            return Syntax::Unchecked(format!("{name} syntax check timed out"));
        }
    };
    let status = match status {
        Ok(status) => status,
        Err(err) => return Syntax::Unchecked(format!("could not wait for {name}: {err}")),
    };
    if status.success() {
        return Syntax::Ok;
    }

    // The shell has exited, so stderr is at its end unless it handed the pipe to a child of its
    // own; do not let such a straggler hold us past the deadline.
    let grace = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(50));
    let stderr = stderr_rx.recv_timeout(grace).unwrap_or_default();
    let message =
        first_line(&String::from_utf8_lossy(&stderr), name).unwrap_or_else(|| {
            match status.code() {
                Some(code) => format!("{name} exited with status {code}"),
                None => format!("{name} was killed by a signal"),
            }
        });
    Syntax::Error(message)
}

/// A channel that receives `()` once `child` has exited, without reaping it.
fn exit_notice(child: &Child) -> mpsc::Receiver<()> {
    let pid = Pid::from_child(child);
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        loop {
            match waitid(
                WaitId::Pid(pid),
                WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
            ) {
                Err(err) if io::Error::from(err).kind() == io::ErrorKind::Interrupted => continue,
                // Exited, or already reaped by someone else: either way waiting is over.
                _ => break,
            }
        }
        let _ = tx.send(());
    });
    rx
}

/// The first non-blank line of `stderr` without the shell's `name: line N: ` style prefix,
/// trimmed to [`MAX_MESSAGE_CHARS`].
fn first_line(stderr: &str, name: &str) -> Option<String> {
    let line = stderr
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())?;
    let stripped = strip_line_number(strip_program(line, name));
    let line = if stripped.is_empty() { line } else { stripped };
    Some(truncate(line, MAX_MESSAGE_CHARS))
}

/// Strips `name: ` (bash, fish, dash) or `name:N: ` (zsh).
fn strip_program<'a>(line: &'a str, name: &str) -> &'a str {
    let Some(rest) = line
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix(':'))
    else {
        return line;
    };
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    rest.strip_prefix(':').unwrap_or(rest).trim_start()
}

/// Strips `line N: ` (bash) or `N: ` (dash).
fn strip_line_number(line: &str) -> &str {
    let rest = line.strip_prefix("line ").unwrap_or(line);
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    match rest[digits..].strip_prefix(':') {
        Some(after) if digits > 0 => after.trim_start(),
        _ => line,
    }
}

/// At most `max` characters of `text`, with `…` when something was cut.
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHELLS: [Shell; 4] = [Shell::Sh, Shell::Bash, Shell::Zsh, Shell::Fish];

    /// Whether `shell` can be tested here. An absent shell skips the test, unless
    /// `CMDAI_REQUIRE_ALL=1` asks for every shell to be present.
    fn available(shell: Shell) -> bool {
        let path = std::env::var_os("PATH").unwrap_or_default();
        if tools::find_executable(shell.name(), &path).is_some() {
            return true;
        }
        if std::env::var("CMDAI_REQUIRE_ALL").as_deref() == Ok("1") {
            panic!("{shell} is not installed but CMDAI_REQUIRE_ALL=1");
        }
        eprintln!("skipping: {shell} is not installed");
        false
    }

    fn syntax(command: &str, shell: Shell) -> Syntax {
        check(command, shell, Duration::from_secs(10))
    }

    fn assert_ok(command: &str, shell: Shell) {
        if available(shell) {
            assert_eq!(syntax(command, shell), Syntax::Ok, "{shell}: {command:?}");
        }
    }

    /// Asserts a syntax error and returns its message.
    fn assert_error(command: &str, shell: Shell) -> Option<String> {
        if !available(shell) {
            return None;
        }
        match syntax(command, shell) {
            Syntax::Error(message) => {
                assert!(
                    !message.is_empty(),
                    "{shell}: empty message for {command:?}"
                );
                assert!(
                    !message.contains('\n'),
                    "{shell}: {message:?} is not one line"
                );
                Some(message)
            }
            other => panic!("{shell}: expected an error for {command:?}, got {other:?}"),
        }
    }

    #[test]
    fn accepts_valid_commands() {
        for shell in SHELLS {
            assert_ok("echo hello", shell);
            assert_ok("ls -la /tmp | grep x > /dev/null", shell);
            assert_ok("", shell);
        }
        assert_ok("for f in *.txt; do wc -l \"$f\"; done", Shell::Bash);
        assert_ok("[[ -n $HOME ]] && echo $(( 1 + 2 ))", Shell::Bash);
        assert_ok("for f in *.txt; do wc -l \"$f\"; done", Shell::Zsh);
        assert_ok("print -l ${(k)commands} | head", Shell::Zsh);
        assert_ok("for f in *.txt; wc -l $f; end", Shell::Fish);
        assert_ok("set -l n (count *.txt); and echo $n", Shell::Fish);
    }

    #[test]
    fn accepts_multiline_heredoc() {
        let heredoc = "cat <<'EOF' > /dev/null\nline one\n  $(not run)\nEOF\necho done\n";
        for shell in [Shell::Sh, Shell::Bash, Shell::Zsh] {
            assert_ok(heredoc, shell);
        }
        assert_ok(
            "if true\n    echo one\nelse\n    echo two\nend\n",
            Shell::Fish,
        );
    }

    #[test]
    fn reports_unterminated_if() {
        for shell in [Shell::Sh, Shell::Bash, Shell::Zsh] {
            assert_error("if true; then", shell);
        }
        if let Some(message) = assert_error("if true; then", Shell::Bash) {
            assert_eq!(message, "syntax error: unexpected end of file");
        }
        if let Some(message) = assert_error("if true; then", Shell::Zsh) {
            assert_eq!(message, "parse error near `then'");
        }
        if let Some(message) = assert_error("if true\necho x\n", Shell::Fish) {
            assert_eq!(message, "Missing end to balance this if statement");
        }
    }

    #[test]
    fn reports_unbalanced_parenthesis() {
        for shell in [Shell::Sh, Shell::Bash, Shell::Fish] {
            assert_error("echo (", shell);
        }
        assert_error("echo $(", Shell::Zsh);
    }

    #[test]
    fn reports_fish_for_without_end() {
        if let Some(message) = assert_error("for x in a; echo $x", Shell::Fish) {
            assert_eq!(message, "Missing end to balance this for loop");
        }
    }

    #[test]
    fn reports_errors_on_later_lines_without_line_prefix() {
        if let Some(message) = assert_error("echo a\necho b | | c\n", Shell::Bash) {
            assert_eq!(message, "syntax error near unexpected token `|'");
        }
        if let Some(message) = assert_error("echo a\n\nif true; then\n", Shell::Sh) {
            assert!(message.starts_with("Syntax error"), "{message}");
        }
    }

    #[test]
    fn never_executes_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let canary = dir.path().join("keep-me");
        std::fs::write(&canary, "still here").unwrap();
        let created = dir.path().join("created");
        for shell in SHELLS {
            if !available(shell) {
                continue;
            }
            let touch = format!("touch '{}'", created.display());
            assert_eq!(syntax(&touch, shell), Syntax::Ok, "{shell}");
            let wipe = format!(
                "rm -rf '{}' /tmp/cmdai-never-created-*",
                dir.path().display()
            );
            assert_eq!(syntax(&wipe, shell), Syntax::Ok, "{shell}");
            assert!(!created.exists(), "{shell} ran `touch`");
            assert!(canary.exists(), "{shell} ran `rm -rf`");
        }
    }

    #[test]
    fn big_command_does_not_deadlock() {
        // Far more than a pipe buffer, on stdin and (for the error) on stderr.
        let big = "echo 'some words to parse'\n".repeat(20_000);
        assert_ok(&big, Shell::Bash);
        let broken = format!("{big}echo (\n");
        assert_error(&broken, Shell::Fish);
    }

    /// A verdict is remembered per shell binary and command: the same bytes again run no
    /// process, other bytes or another binary do.
    #[test]
    fn verdicts_are_remembered_per_binary_and_command() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("runs");
        let fake = dir.path().join("zsh");
        std::fs::write(
            &fake,
            format!("#!/bin/sh\necho run >> '{}'\n", log.display()),
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = Some(dir.path().as_os_str());
        let runs = || {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .count()
        };
        let command = "echo remembered-verdict-test";
        assert_eq!(
            check_with_path(command, Shell::Zsh, DEFAULT_TIMEOUT, path),
            Syntax::Ok
        );
        assert_eq!(
            check_with_path(command, Shell::Zsh, DEFAULT_TIMEOUT, path),
            Syntax::Ok
        );
        assert_eq!(runs(), 1, "the second check ran the shell again");
        check_with_path("echo another", Shell::Zsh, DEFAULT_TIMEOUT, path);
        assert_eq!(runs(), 2);
    }

    #[test]
    fn missing_shell_is_unchecked() {
        let empty = tempfile::tempdir().unwrap();
        let result = check_with_path(
            "echo hi",
            Shell::Zsh,
            DEFAULT_TIMEOUT,
            Some(empty.path().as_os_str()),
        );
        assert_eq!(result, Syntax::Unchecked("zsh is not installed".into()));
        assert!(result.ok());
        let result = check_with_path("echo hi", Shell::Fish, DEFAULT_TIMEOUT, None);
        assert_eq!(result, Syntax::Unchecked("fish is not installed".into()));
    }

    #[test]
    fn slow_parser_is_killed_after_timeout() {
        let Some(sleep) = tools::find_executable("sleep", OsStr::new("/usr/bin:/bin")) else {
            return;
        };
        let start = Instant::now();
        let result = run_parser("bash", &sleep, &["30"], "", Duration::from_millis(200));
        assert_eq!(
            result,
            Syntax::Unchecked("bash syntax check timed out".into())
        );
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn failure_without_stderr_names_the_status() {
        let Some(fail) = tools::find_executable("false", OsStr::new("/usr/bin:/bin")) else {
            return;
        };
        let result = run_parser("sh", &fail, &[], "echo hi", DEFAULT_TIMEOUT);
        assert_eq!(result, Syntax::Error("sh exited with status 1".into()));
    }

    #[test]
    fn message_prefixes_are_stripped() {
        let cases = [
            (
                "bash: line 1: syntax error near `x'",
                "bash",
                "syntax error near `x'",
            ),
            (
                "bash: syntax error: unexpected end of file",
                "bash",
                "syntax error: unexpected end of file",
            ),
            (
                "zsh: parse error near `then'",
                "zsh",
                "parse error near `then'",
            ),
            ("zsh:3: parse error near `|'", "zsh", "parse error near `|'"),
            (
                "sh: 4: Syntax error: \"fi\" unexpected",
                "sh",
                "Syntax error: \"fi\" unexpected",
            ),
            (
                "\n\nfish: Missing end\nfor x in a\n^~^",
                "fish",
                "Missing end",
            ),
            (
                "something else: entirely",
                "bash",
                "something else: entirely",
            ),
        ];
        for (stderr, name, expected) in cases {
            assert_eq!(
                first_line(stderr, name).as_deref(),
                Some(expected),
                "{stderr:?}"
            );
        }
        assert_eq!(first_line(" \n\t\n", "bash"), None);
        let long = format!("bash: {}", "é".repeat(500));
        let message = first_line(&long, "bash").unwrap();
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(message.ends_with('…'));
    }
}
