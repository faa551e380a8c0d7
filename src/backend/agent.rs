//! Coding agents' command-line tools, run headless once per request: claude, codex, gemini,
//! amp, kiro, or any command (`custom`).
//!
//! A tool takes one text, not a chat, so the fixed turns and the request are rendered into one
//! plain prompt. Each request runs the tool once in a fresh private directory: its working
//! directory, so that it picks up no project's instructions, and the home of the prompt file
//! and of anything the tool writes for us; the directory is removed afterwards. The tool gets
//! its own process group, so that a timeout or a stop can kill everything it started, and
//! its output is drained on threads so that a chatty tool cannot block on a full pipe.
//!
//! A long prompt goes on stdin from a private file rather than on the command line, where
//! every user's `ps` would show it: a file, unlike a pipe, needs no writer thread and cannot
//! fill up.

use std::ffi::OsString;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{kill_process_group, waitid, Pid, Signal, WaitId, WaitIdOptions};
use serde::Deserialize;
use serde_json::Value;

use super::{Ask, Backend, BackendError, BackendSpec, Generation, StopCheck};
use crate::prompt::Turn;
use crate::validate::tools::find_executable;

/// The agent backends' names.
pub const KINDS: &[&str] = &["claude", "codex", "gemini", "amp", "kiro", "custom"];

/// Prompts longer than this (in bytes) go on stdin from a private file.
const LONG_PROMPT: usize = 4096;

/// How often a running tool is checked for its exit, a stop and the deadline.
const POLL: Duration = Duration::from_millis(5);

/// The most of a tool's stdout or stderr kept; the rest is drained and dropped.
const MAX_OUTPUT: u64 = 1 << 20;

/// The longest message kept from a tool's stderr, in characters.
const MAX_MESSAGE_CHARS: usize = 200;

/// Gemini reads piped stdin as context placed before its `-p` text: with the prompt on stdin,
/// this is the `-p` text.
const GEMINI_STDIN_PROMPT: &str = "Answer the request above: the command alone, on one line.";

/// The `[agent]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// How long the tool may take before it is killed and the next backend is tried.
    pub timeout_ms: u32,
    /// The `[agent.custom]` table: the command behind the `custom` backend.
    pub custom: Custom,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timeout_ms: 60_000,
            custom: Custom::default(),
        }
    }
}

/// Any command that reads a prompt and prints a command.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Custom {
    pub command: String,
    pub args: Vec<String>,
    /// How the prompt reaches it.
    pub prompt: PromptVia,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PromptVia {
    /// As the last argument.
    #[default]
    Argument,
    /// On standard input.
    Stdin,
}

/// The tools we know how to run headless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Claude,
    Codex,
    Gemini,
    Amp,
    Kiro,
    Custom,
}

impl Tool {
    const ALL: [Tool; 6] = [
        Tool::Claude,
        Tool::Codex,
        Tool::Gemini,
        Tool::Amp,
        Tool::Kiro,
        Tool::Custom,
    ];

    fn of(kind: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|tool| tool.kind() == kind)
    }

    fn kind(self) -> &'static str {
        match self {
            Tool::Claude => "claude",
            Tool::Codex => "codex",
            Tool::Gemini => "gemini",
            Tool::Amp => "amp",
            Tool::Kiro => "kiro",
            Tool::Custom => "custom",
        }
    }

    /// The binary looked for on PATH, and what to install when it is missing.
    fn program(self) -> (&'static str, &'static str) {
        match self {
            Tool::Claude => ("claude", "Claude Code"),
            Tool::Codex => ("codex", "the Codex CLI"),
            Tool::Gemini => ("gemini", "the Gemini CLI"),
            Tool::Amp => ("amp", "the Amp CLI"),
            Tool::Kiro => ("kiro-cli", "the Kiro CLI"),
            Tool::Custom => ("", ""),
        }
    }
}

/// The arguments that run `tool` headless once, with the prompt given as `via` says. Each
/// tool's documented non-interactive usage:
fn headless_args(
    tool: Tool,
    custom_args: &[String],
    via: PromptVia,
    prompt: &str,
    last_message: &Path,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = match tool {
        // Claude Code, "Headless mode" and CLI reference: `-p` (print) answers once and exits;
        // `--output-format json` prints one object, the answer in `result`, with `is_error`
        // and `usage`. With no prompt argument, `-p` reads the prompt from stdin.
        Tool::Claude => os(&["-p", "--output-format", "json"]),
        // Codex, "Non-interactive mode" (`codex exec`): `--skip-git-repo-check` because our
        // working directory is no repository; `--output-last-message FILE` writes the final
        // message alone (before 0.44 stdout carried the whole transcript); `--color never`.
        // A prompt of `-` is read from stdin.
        Tool::Codex => {
            let mut args = os(&["exec", "--skip-git-repo-check", "--color", "never"]);
            args.extend([
                "--output-last-message".into(),
                last_message.as_os_str().to_owned(),
            ]);
            args
        }
        // Gemini CLI, "Headless mode": `-p` answers once; `--output-format json` prints
        // `{"response": …, "stats": …, "error": …}`. Piped stdin is read as context before
        // the `-p` text, so a long prompt goes there with a short `-p` (below).
        Tool::Gemini => os(&["--output-format", "json"]),
        // Amp, "Execute mode": `-x` sends the message, waits for the turn to end, prints the
        // final message and exits; with no message argument it reads stdin.
        Tool::Amp => os(&["-x"]),
        // Kiro CLI, "Headless mode": `chat --no-interactive`; with no positional argument it
        // reads the whole of a piped stdin as the instruction.
        Tool::Kiro => os(&["chat", "--no-interactive"]),
        Tool::Custom => custom_args.iter().map(OsString::from).collect(),
    };
    match (tool, via) {
        (Tool::Codex, PromptVia::Stdin) => args.push("-".into()),
        (Tool::Gemini, PromptVia::Stdin) => args.extend(os(&["-p", GEMINI_STDIN_PROMPT])),
        (Tool::Gemini, PromptVia::Argument) => args.extend(os(&["-p", prompt])),
        (_, PromptVia::Argument) => args.push(prompt.into()),
        (_, PromptVia::Stdin) => {}
    }
    args
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

pub struct Agent {
    tool: Tool,
    /// The binary's name, or the custom command as configured.
    program: String,
    /// What the `custom` backend is told about its command; unused by the others.
    custom: Custom,
    timeout: Duration,
    /// The fixed turns rendered as text: every prompt starts with it.
    preamble: String,
}

impl Agent {
    pub fn open(kind: &str, spec: &BackendSpec) -> Result<Agent, BackendError> {
        let tool = Tool::of(kind).ok_or_else(|| BackendError::Unknown(kind.into()))?;
        let settings = &spec.settings.agent;
        let program = match tool {
            Tool::Custom => settings.custom.command.trim().to_string(),
            _ => tool.program().0.to_string(),
        };
        if program.is_empty() {
            return Err(BackendError::Unavailable(
                "custom: no command: set [agent.custom] command to the program that answers".into(),
            ));
        }
        Ok(Agent {
            tool,
            program,
            custom: settings.custom.clone(),
            timeout: Duration::from_millis(u64::from(settings.timeout_ms)),
            preamble: render_preamble(&spec.fixed_turns),
        })
    }

    /// The program to run, found on PATH now.
    fn locate(&self) -> Result<PathBuf, BackendError> {
        let found = if self.program.contains('/') {
            Some(PathBuf::from(&self.program)).filter(|p| is_executable(p))
        } else {
            find_executable(&self.program, &std::env::var_os("PATH").unwrap_or_default())
        };
        found.ok_or_else(|| {
            BackendError::Unavailable(match self.tool {
                Tool::Custom => format!(
                    "custom: {} not found on PATH: install it or fix [agent.custom] command",
                    self.program
                ),
                tool => format!(
                    "{}: not found on PATH: install {} or choose another backend",
                    self.tool.kind(),
                    tool.program().1
                ),
            })
        })
    }

    /// Stdin for long prompts and for commands configured to read it.
    fn via(&self, prompt: &str) -> PromptVia {
        match self.tool {
            // A custom command told to take an argument may not read stdin at all.
            Tool::Custom => self.custom.prompt,
            _ if prompt.len() > LONG_PROMPT => PromptVia::Stdin,
            _ => PromptVia::Argument,
        }
    }

    fn failure(&self, why: impl std::fmt::Display) -> BackendError {
        BackendError::Generate(format!("{}: {why}", self.tool.kind()))
    }

    /// Turns what the tool printed into the answer, or its error into ours.
    fn answer(
        &self,
        finished: Finished,
        last_message: Option<String>,
    ) -> Result<Generation, BackendError> {
        let stdout = strip_ansi(&finished.stdout);
        if !finished.status.success() {
            let stderr = strip_ansi(&finished.stderr);
            let said = first_line(&stderr).or_else(|| first_line(&stdout));
            let how = match finished.status.code() {
                Some(code) => format!("exited with status {code}"),
                None => format!(
                    "was killed by signal {}",
                    finished.status.signal().unwrap_or_default()
                ),
            };
            return Err(self.failure(match said {
                Some(line) => format!("{how}: {line}"),
                None => how,
            }));
        }
        let reply = match last_message.filter(|m| !m.trim().is_empty()) {
            Some(message) => Reply::plain(&strip_ansi(&message)),
            None => parse_reply(self.tool, &stdout).map_err(|why| self.failure(why))?,
        };
        let text = clean(self.tool, &reply.text);
        if text.is_empty() {
            return Err(self.failure("gave an empty answer"));
        }
        Ok(Generation {
            texts: vec![text],
            prompt_tokens: reply.prompt_tokens,
            output_tokens: reply.output_tokens,
            fallback: None,
        })
    }
}

impl Backend for Agent {
    fn name(&self) -> &str {
        self.tool.kind()
    }

    fn model(&self) -> &str {
        &self.program
    }

    fn generate(&mut self, ask: &Ask, stop: &dyn StopCheck) -> Result<Generation, BackendError> {
        if stop.should_stop() {
            return Err(BackendError::Stopped);
        }
        let program = self.locate()?;
        let prompt = render_prompt(&self.preamble, &ask.user_text());
        let scratch = Scratch::new()
            .map_err(|e| self.failure(format!("could not make a private temp directory: {e}")))?;
        let via = self.via(&prompt);
        let stdin = match via {
            PromptVia::Argument => Stdio::null(),
            PromptVia::Stdin => Stdio::from(
                scratch
                    .prompt_file(&prompt)
                    .map_err(|e| self.failure(format!("could not write the prompt file: {e}")))?,
            ),
        };
        let last_message = scratch.path().join("last-message.txt");
        let mut command = Command::new(&program);
        command
            .args(headless_args(
                self.tool,
                &self.custom.args,
                via,
                &prompt,
                &last_message,
            ))
            .current_dir(scratch.path())
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let ended = run(command, self.timeout, stop).map_err(|e| {
            BackendError::Unavailable(format!(
                "{}: could not start {}: {e}",
                self.tool.kind(),
                program.display()
            ))
        })?;
        match ended {
            Ended::Finished(finished) => {
                let message = fs::read_to_string(&last_message).ok();
                self.answer(finished, message)
            }
            Ended::TimedOut => Err(BackendError::Unavailable(format!(
                "{}: no answer within {} s: raise [agent] timeout_ms or choose another backend",
                self.tool.kind(),
                self.timeout.as_secs_f64()
            ))),
            Ended::Stopped => Err(BackendError::Stopped),
        }
    }

    fn available(&mut self) -> Result<(), BackendError> {
        self.locate().map(|_| ())
    }
}

/// The fixed turns as one plain text: the rules, then the worked examples, each a request and
/// its answer.
fn render_preamble(turns: &[Turn]) -> String {
    let mut text = String::new();
    let mut examples = 0;
    for turn in turns {
        let content = turn.content.trim();
        match turn.role {
            "user" => {
                examples += 1;
                if examples == 1 {
                    text.push_str("Examples:\n\n");
                }
                text.push_str(content);
                text.push('\n');
            }
            "assistant" => {
                text.push_str("Answer: ");
                text.push_str(content);
                text.push_str("\n\n");
            }
            _ => {
                text.push_str(content);
                text.push_str("\n\n");
            }
        }
    }
    text
}

/// The whole prompt: the preamble, the request, and what to reply.
fn render_prompt(preamble: &str, user_text: &str) -> String {
    format!(
        "{preamble}Now the real request:\n\n{}\n\nReply with the command alone, on one line.\n",
        user_text.trim()
    )
}

/// A private directory for one run, removed with everything in it when dropped.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new() -> io::Result<Scratch> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("cmdai-agent-{}-{n}", std::process::id()));
            // A leftover of an earlier daemon with the same pid is never reused: another name.
            match DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok(Scratch { dir }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn path(&self) -> &Path {
        &self.dir
    }

    /// Writes `prompt` to a file only we can read and opens it for the tool's stdin.
    fn prompt_file(&self, prompt: &str) -> io::Result<File> {
        let path = self.dir.join("prompt.txt");
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?
            .write_all(prompt.as_bytes())?;
        File::open(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A regular file (after following links) with at least one execute bit.
fn is_executable(file: &Path) -> bool {
    file.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// What a tool that exited left behind.
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

enum Ended {
    Finished(Finished),
    TimedOut,
    Stopped,
}

/// Runs `command` (its own process group leader) until it exits, `timeout` passes or `stop`
/// says so. Whatever way it ends, the whole group is killed and the tool reaped.
fn run(mut command: Command, timeout: Duration, stop: &dyn StopCheck) -> io::Result<Ended> {
    let deadline = Instant::now() + timeout;
    let mut child = command.spawn()?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let waited = wait_for_exit(&child, deadline, stop);
    // Unreaped, the tool's pid (its group's id) cannot have been reused: this reaches only
    // the tool and what it left running, which would otherwise hold our pipes open.
    let _ = kill_process_group(Pid::from_child(&child), Signal::KILL);
    let status = child.wait()?;
    let ended = match waited {
        Waited::Exited => {
            // A straggler that left the group may still hold a pipe: do not wait for it long.
            let grace = deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(100));
            let text = |rx: mpsc::Receiver<Vec<u8>>| {
                String::from_utf8_lossy(&rx.recv_timeout(grace).unwrap_or_default()).into_owned()
            };
            Ended::Finished(Finished {
                status,
                stdout: text(stdout),
                stderr: text(stderr),
            })
        }
        Waited::TimedOut => Ended::TimedOut,
        Waited::Stopped => Ended::Stopped,
    };
    Ok(ended)
}

enum Waited {
    Exited,
    TimedOut,
    Stopped,
}

/// Polls `child` until it exits, without reaping it (`WNOWAIT`), so that its group can still
/// be killed safely afterwards.
fn wait_for_exit(child: &Child, deadline: Instant, stop: &dyn StopCheck) -> Waited {
    let pid = Pid::from_child(child);
    let options = WaitIdOptions::EXITED | WaitIdOptions::NOWAIT | WaitIdOptions::NOHANG;
    loop {
        match waitid(WaitId::Pid(pid), options) {
            Ok(None) => {}
            Err(rustix::io::Errno::INTR) => continue,
            // Exited, or not waitable at all: either way waiting is over.
            Ok(Some(_)) | Err(_) => return Waited::Exited,
        }
        if stop.should_stop() {
            return Waited::Stopped;
        }
        if Instant::now() >= deadline {
            return Waited::TimedOut;
        }
        thread::sleep(POLL);
    }
}

/// Reads `pipe` to its end on a thread, keeping the first [`MAX_OUTPUT`] bytes.
fn drain(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    if let Some(mut pipe) = pipe {
        thread::spawn(move || {
            let mut kept = Vec::new();
            let _ = (&mut pipe).take(MAX_OUTPUT).read_to_end(&mut kept);
            let _ = io::copy(&mut pipe, &mut io::sink());
            let _ = tx.send(kept);
        });
    }
    rx
}

/// The answer a tool gave, with the tokens it says it used.
#[derive(Debug, PartialEq)]
struct Reply {
    text: String,
    prompt_tokens: u32,
    output_tokens: u32,
}

impl Reply {
    fn plain(text: &str) -> Reply {
        Reply {
            text: text.to_string(),
            prompt_tokens: 0,
            output_tokens: 0,
        }
    }
}

/// The answer in a tool's stdout (ANSI already stripped): the JSON field for the tools asked
/// for JSON, the text itself otherwise or when it is not JSON after all. A JSON error report
/// is the tool's error message.
fn parse_reply(tool: Tool, stdout: &str) -> Result<Reply, String> {
    let field = match tool {
        Tool::Claude => "result",
        Tool::Gemini => "response",
        _ => return Ok(Reply::plain(stdout)),
    };
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(stdout.trim()) else {
        return Ok(Reply::plain(stdout));
    };
    let text = object.get(field).and_then(Value::as_str);
    let error = match tool {
        Tool::Claude if object.get("is_error") == Some(&Value::Bool(true)) => Some(
            text.or(object.get("subtype").and_then(Value::as_str))
                .unwrap_or("an error"),
        ),
        _ => object.get("error").filter(|e| !e.is_null()).map(|e| {
            e.get("message")
                .and_then(Value::as_str)
                .unwrap_or("an error")
        }),
    };
    if let Some(error) = error {
        return Err(format!(
            "reported {}",
            first_line(error).unwrap_or_else(|| "an error".into())
        ));
    }
    let Some(text) = text else {
        return Err(format!("printed JSON without a \"{field}\" field"));
    };
    let usage = |key: &str| {
        let n = object
            .get("usage")
            .and_then(|u| u.get(key))
            .and_then(Value::as_u64);
        n.unwrap_or(0) as u32
    };
    Ok(Reply {
        text: text.to_string(),
        prompt_tokens: usage("input_tokens")
            + usage("cache_creation_input_tokens")
            + usage("cache_read_input_tokens"),
        output_tokens: usage("output_tokens"),
    })
}

/// The answer without blank lines or surrounding whitespace. Kiro marks its reply with `> `.
fn clean(tool: Tool, text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.trim().is_empty())
        .collect();
    let text = lines.join("\n");
    let text = text.trim();
    let text = match tool {
        Tool::Kiro => text.strip_prefix("> ").unwrap_or(text),
        _ => text,
    };
    text.trim().to_string()
}

/// `text` as a terminal would leave it: escape sequences (CSI, OSC, two-byte) removed, and
/// of a line rewritten with carriage returns only what was written last.
fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            plain.push(c);
            continue;
        }
        match chars.next() {
            // CSI: parameters and intermediates up to a final byte in @..~.
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            // OSC: up to BEL or ESC \.
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    let plain = plain.replace("\r\n", "\n");
    let lines = plain
        .split('\n')
        .map(|line| line.rsplit('\r').next().unwrap_or(line));
    lines.collect::<Vec<_>>().join("\n")
}

/// The first non-blank line of `text`, trimmed to [`MAX_MESSAGE_CHARS`].
fn first_line(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|line| !line.is_empty())?;
    Some(match line.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(tool: Tool, via: PromptVia) -> Vec<String> {
        let custom = ["--one".to_string(), "two".to_string()];
        let argv = headless_args(tool, &custom, via, "PROMPT", Path::new("/s/last"));
        argv.into_iter().map(|a| a.into_string().unwrap()).collect()
    }

    #[test]
    fn every_kind_is_a_tool() {
        let kinds: Vec<&str> = Tool::ALL.iter().map(|t| t.kind()).collect();
        assert_eq!(kinds, KINDS);
        assert_eq!(Tool::of("kiro"), Some(Tool::Kiro));
        assert_eq!(Tool::of("kiro-cli"), None);
    }

    #[test]
    fn each_tool_gets_its_headless_flags_and_the_prompt_as_an_argument() {
        use PromptVia::Argument;
        assert_eq!(
            args(Tool::Claude, Argument),
            ["-p", "--output-format", "json", "PROMPT"]
        );
        assert_eq!(
            args(Tool::Codex, Argument),
            [
                "exec",
                "--skip-git-repo-check",
                "--color",
                "never",
                "--output-last-message",
                "/s/last",
                "PROMPT"
            ]
        );
        assert_eq!(
            args(Tool::Gemini, Argument),
            ["--output-format", "json", "-p", "PROMPT"]
        );
        assert_eq!(args(Tool::Amp, Argument), ["-x", "PROMPT"]);
        assert_eq!(
            args(Tool::Kiro, Argument),
            ["chat", "--no-interactive", "PROMPT"]
        );
        assert_eq!(args(Tool::Custom, Argument), ["--one", "two", "PROMPT"]);
    }

    #[test]
    fn with_the_prompt_on_stdin_no_argument_carries_it() {
        use PromptVia::Stdin;
        assert_eq!(args(Tool::Claude, Stdin), ["-p", "--output-format", "json"]);
        assert_eq!(args(Tool::Codex, Stdin).last().unwrap(), "-");
        assert_eq!(
            args(Tool::Gemini, Stdin),
            ["--output-format", "json", "-p", GEMINI_STDIN_PROMPT]
        );
        assert_eq!(args(Tool::Amp, Stdin), ["-x"]);
        assert_eq!(args(Tool::Kiro, Stdin), ["chat", "--no-interactive"]);
        assert_eq!(args(Tool::Custom, Stdin), ["--one", "two"]);
        for tool in [
            Tool::Claude,
            Tool::Codex,
            Tool::Amp,
            Tool::Kiro,
            Tool::Custom,
        ] {
            assert!(!args(tool, Stdin).iter().any(|a| a == "PROMPT"), "{tool:?}");
        }
    }

    fn spec(kind: &str, custom: Custom) -> BackendSpec {
        let mut settings = super::super::Settings::default();
        settings.agent.custom = custom;
        BackendSpec {
            chain: vec![kind.into()],
            model_path: PathBuf::new(),
            threads: 1,
            max_tokens: 64,
            fixed_turns: crate::prompt::fixed_turns(),
            settings,
        }
    }

    #[test]
    fn long_prompts_go_on_stdin_and_a_custom_command_gets_what_it_asked_for() {
        let claude = Agent::open("claude", &spec("claude", Custom::default())).unwrap();
        assert_eq!(claude.via("short"), PromptVia::Argument);
        assert_eq!(claude.via(&"x".repeat(LONG_PROMPT + 1)), PromptVia::Stdin);
        let argument = Custom {
            command: "tool".into(),
            ..Custom::default()
        };
        let custom = Agent::open("custom", &spec("custom", argument)).unwrap();
        assert_eq!(
            custom.via(&"x".repeat(LONG_PROMPT * 2)),
            PromptVia::Argument
        );
        let stdin = Custom {
            command: "tool".into(),
            args: vec![],
            prompt: PromptVia::Stdin,
        };
        let custom = Agent::open("custom", &spec("custom", stdin)).unwrap();
        assert_eq!(custom.via("short"), PromptVia::Stdin);
    }

    #[test]
    fn a_custom_backend_without_a_command_says_what_to_set() {
        let err = Agent::open("custom", &spec("custom", Custom::default()))
            .err()
            .unwrap();
        assert!(err.to_string().starts_with("custom: "), "{err}");
        assert!(err.to_string().contains("[agent.custom] command"), "{err}");
    }

    #[test]
    fn a_missing_tool_is_unavailable_with_what_to_install() {
        let mut agent = Agent::open("claude", &spec("claude", Custom::default())).unwrap();
        agent.program = "cmdai-no-such-tool".into();
        let err = agent.available().unwrap_err();
        assert!(matches!(err, BackendError::Unavailable(_)));
        assert_eq!(
            err.to_string(),
            "claude: not found on PATH: install Claude Code or choose another backend"
        );
    }

    #[test]
    fn ansi_sequences_and_overwritten_text_are_removed() {
        assert_eq!(strip_ansi("\x1b[1;32mls -la\x1b[0m\n"), "ls -la\n");
        assert_eq!(
            strip_ansi("\x1b]0;title\x07du -sh .\x1b]8;;\x1b\\"),
            "du -sh ."
        );
        assert_eq!(strip_ansi("\x1b[?25lThinking...\rfind .\r\n"), "find .\n");
        assert_eq!(strip_ansi("plain text"), "plain text");
    }

    #[test]
    fn claude_json_gives_the_result_and_its_usage() {
        let out = r#"{"type":"result","is_error":false,"result":"ls -S","usage":{"input_tokens":10,"cache_read_input_tokens":5,"output_tokens":3}}"#;
        let reply = parse_reply(Tool::Claude, out).unwrap();
        assert_eq!(reply.text, "ls -S");
        assert_eq!((reply.prompt_tokens, reply.output_tokens), (15, 3));
        let failed = r#"{"type":"result","subtype":"success","is_error":true,"result":"Invalid API key · Please run /login"}"#;
        assert_eq!(
            parse_reply(Tool::Claude, failed).unwrap_err(),
            "reported Invalid API key · Please run /login"
        );
    }

    #[test]
    fn gemini_json_gives_the_response_or_its_error() {
        let out = "{\"response\": \"```bash\\nls\\n```\", \"stats\": {}}";
        assert_eq!(
            parse_reply(Tool::Gemini, out).unwrap().text,
            "```bash\nls\n```"
        );
        let failed = r#"{"error": {"type": "Error", "message": "quota exceeded", "code": 1}}"#;
        assert_eq!(
            parse_reply(Tool::Gemini, failed).unwrap_err(),
            "reported quota exceeded"
        );
        assert!(parse_reply(Tool::Gemini, r#"{"stats": {}}"#).is_err());
    }

    #[test]
    fn output_that_is_not_json_is_taken_as_text() {
        assert_eq!(
            parse_reply(Tool::Claude, "ls -S\n").unwrap(),
            Reply::plain("ls -S\n")
        );
        assert_eq!(
            parse_reply(Tool::Amp, r#"{"result":"x"}"#).unwrap().text,
            r#"{"result":"x"}"#
        );
    }

    #[test]
    fn answers_lose_blank_lines_and_surrounding_space() {
        assert_eq!(
            clean(Tool::Amp, "\n\n  ```bash\n\nls -S   \n```\n\n"),
            "```bash\nls -S\n```"
        );
        assert_eq!(clean(Tool::Kiro, "> git status\n"), "git status");
        assert_eq!(clean(Tool::Claude, "> git status"), "> git status");
    }

    #[test]
    fn the_prompt_holds_the_rules_the_examples_and_the_request() {
        let turns = crate::prompt::fixed_turns();
        let prompt = render_prompt(
            &render_preamble(&turns),
            "Entries: a.txt\nRequest: count lines\n",
        );
        assert!(prompt.starts_with(turns[0].content.trim()));
        assert!(prompt.contains("Examples:\n\n"));
        assert!(prompt.contains(&format!("Answer: {}\n", turns[2].content)));
        assert!(prompt.contains(turns[1].content.trim()));
        assert!(prompt.ends_with(
            "Now the real request:\n\nEntries: a.txt\nRequest: count lines\n\nReply with the command alone, on one line.\n"
        ));
        assert!(
            !prompt.contains("\n\n\n"),
            "compact: no runs of blank lines"
        );
    }

    #[test]
    fn the_prompt_file_is_private_and_goes_with_its_directory() {
        let scratch = Scratch::new().unwrap();
        let dir = scratch.path().to_path_buf();
        let mut file = scratch.prompt_file("the prompt").unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        assert_eq!(text, "the prompt");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("prompt.txt")), 0o600);
        assert!(
            Scratch::new().unwrap().path() != dir,
            "each run gets its own directory"
        );
        drop(scratch);
        assert!(!dir.exists());
    }

    fn sh(script: &str) -> Command {
        let mut command = Command::new("/bin/sh");
        command
            .args(["-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        command
    }

    /// Whether `pid` has exited (gone, or a zombie nobody reaped yet).
    fn gone(pid: &str) -> bool {
        match fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z'),
            Err(_) => true,
        }
    }

    #[test]
    fn a_tool_past_its_deadline_is_killed_with_what_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("sleeper");
        let script = format!("sleep 30 & echo $! > '{}'; wait", pid_file.display());
        let started = Instant::now();
        let ended = run(sh(&script), Duration::from_millis(1500), &|| false).unwrap();
        assert!(matches!(ended, Ended::TimedOut));
        assert!(started.elapsed() < Duration::from_secs(10));
        let sleeper = fs::read_to_string(&pid_file).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !gone(sleeper.trim()) {
            assert!(Instant::now() < deadline, "the tool's child outlived it");
            thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_stop_ends_the_run() {
        let polls = std::cell::Cell::new(0);
        let stop = || {
            polls.set(polls.get() + 1);
            polls.get() > 3
        };
        let ended = run(sh("sleep 30"), Duration::from_secs(60), &stop).unwrap();
        assert!(matches!(ended, Ended::Stopped));
    }

    #[test]
    fn a_chatty_tool_cannot_block_on_its_pipes() {
        let script =
            "head -c 3000000 /dev/zero | tr '\\0' x; head -c 200000 /dev/zero >&2; echo done";
        let ended = run(sh(script), Duration::from_secs(30), &|| false).unwrap();
        let Ended::Finished(finished) = ended else {
            panic!("the tool did not finish");
        };
        assert!(finished.status.success());
        assert_eq!(finished.stdout.len(), MAX_OUTPUT as usize);
        assert_eq!(finished.stderr.len(), 200_000);
    }

    #[test]
    fn first_lines_are_trimmed_and_cut() {
        assert_eq!(
            first_line("\n  Error: boom \nmore"),
            Some("Error: boom".into())
        );
        assert_eq!(first_line(" \n"), None);
        let long = first_line(&"x".repeat(500)).unwrap();
        assert_eq!(long.chars().count(), MAX_MESSAGE_CHARS + 1);
    }
}
