//! The agent CLI backends through the real client and daemon, each tool played by a small
//! shell script first on the PATH the autostarted daemon inherits. Every fake checks that it
//! got its tool's headless flags (exit 2 with a usage message otherwise), takes the prompt from
//! its argument or stdin, insists that it holds the request, and answers in its tool's format.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use crate::harness::*;

const SENTENCE: &str = "list files sorted by size";

/// Shared by the fakes: `$prompt` from the remaining argument or stdin, then a check that it
/// holds the request and ends by asking for the command alone.
const READ_PROMPT: &str = r#"
if [ $# -gt 1 ]; then echo "usage: one prompt argument at most" >&2; exit 2; fi
if [ $# -eq 1 ]; then prompt=$1; else prompt=$(cat); fi
printf '%s' "$prompt" > "$FAKE_DIR/prompt.txt"
case "$prompt" in
  *"Request: list files sorted by size"*"Reply with the command alone, on one line."*) ;;
  *) echo "the prompt lacks the request" >&2; exit 2 ;;
esac
"#;

/// What each kind's fake checks and prints.
fn fake_body(kind: &str) -> String {
    let (flags, answer) = match kind {
        "claude" => (
            r#"[ "$1 $2 $3" = "-p --output-format json" ] || usage "claude -p --output-format json [PROMPT]"; shift 3"#,
            r#"printf '{"type":"result","subtype":"success","is_error":false,"result":"ls -S","usage":{"input_tokens":900,"output_tokens":4}}\n'"#,
        ),
        "codex" => (
            r#"[ "$1 $2 $3 $4 $5" = "exec --skip-git-repo-check --color never --output-last-message" ] || usage "codex exec --skip-git-repo-check --color never --output-last-message FILE PROMPT"
last=$6; shift 6; [ "$1" = "-" ] && shift"#,
            // Older versions printed the whole transcript: the file holds the final message.
            r#"echo "[2025-01-01T00:00:00] thinking"; echo "codex"; printf 'du -sh .\n' > "$last""#,
        ),
        "gemini" => (
            r#"[ "$1 $2 $3" = "--output-format json -p" ] || usage "gemini --output-format json -p PROMPT"
shift 3
if [ "$1" = "Answer the request above: the command alone, on one line." ]; then shift; fi"#,
            r#"printf '{"response":"```bash\\nfind . -name \\"*.log\\"\\n```","stats":{}}\n'"#,
        ),
        "amp" => (
            r#"[ "$1" = "-x" ] || usage "amp -x [PROMPT]"; shift"#,
            r#"printf '\033[1;32m```bash\n\nwc -l *.txt\n```\033[0m\n'"#,
        ),
        "kiro-cli" => (
            r#"[ "$1 $2" = "chat --no-interactive" ] || usage "kiro-cli chat --no-interactive [PROMPT]"; shift 2"#,
            r#"printf '\033[32m> \033[0msort -n numbers.txt\n\n'"#,
        ),
        "my-tool" => (
            r#"[ "$1" = "--one-line" ] || usage "my-tool --one-line < PROMPT"; shift"#,
            r#"printf 'echo custom\n'"#,
        ),
        other => panic!("no fake for {other}"),
    };
    format!("usage() {{ echo \"usage: $1\" >&2; exit 2; }}\n{flags}\n{READ_PROMPT}\n{answer}\n")
}

/// A test env with a directory of fake tools (`bin/`) and a private temp dir (`tmp/`).
struct Agents {
    env: TestEnv,
}

impl Agents {
    fn new(config: &str) -> Agents {
        let env = TestEnv::new();
        for dir in ["bin", "tmp", "fake"] {
            std::fs::create_dir_all(env.path(dir)).unwrap();
        }
        env.write_config(config);
        Agents { env }
    }

    /// Writes an executable `bin/NAME` running `body` under /bin/sh.
    fn fake(&self, name: &str, body: &str) {
        let path = self.env.path("bin").join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
        set_mode(&path, 0o755);
    }

    /// `cmdai ARGS` with the fakes first on PATH (or, with `system_path` false, alone on it) and
    /// the temp dir pointed into the env, where the fakes also leave what they saw.
    fn cmdai(&self, args: &[&str], system_path: bool) -> Output {
        let bin = self.env.path("bin");
        let path = match std::env::var("PATH") {
            Ok(system) if system_path => format!("{}:{system}", bin.display()),
            _ => bin.display().to_string(),
        };
        self.env
            .command(env!("CARGO_BIN_EXE_cmdai"))
            .args(args)
            .env("PATH", path)
            .env("TMPDIR", self.env.path("tmp"))
            .env("FAKE_DIR", self.env.path("fake"))
            .output()
            .unwrap()
    }

    fn ask_json(&self) -> serde_json::Value {
        let out = self.cmdai(&["ask", "--json", SENTENCE], true);
        assert_success(&out);
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The one-line message of an ask that fails, asked of a daemon started (and done opening
    /// its backends) beforehand so that no "loading" note comes first.
    #[track_caller]
    fn failed_ask(&self, system_path: bool) -> String {
        assert_success(&self.cmdai(&["daemon", "start"], system_path));
        one_line_error(&self.cmdai(&["ask", SENTENCE], system_path))
    }

    fn seen(&self, name: &str) -> String {
        std::fs::read_to_string(self.env.path("fake").join(name)).unwrap_or_default()
    }

    /// The scratch directories the backend left in the temp dir.
    fn leftovers(&self) -> Vec<PathBuf> {
        let entries = std::fs::read_dir(self.env.path("tmp")).unwrap();
        let paths = entries.map(|e| e.unwrap().path());
        paths.filter(|p| is_scratch(p)).collect()
    }
}

fn is_scratch(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("cmdai-agent-"))
}

/// The failure's message: exactly one line on stderr.
#[track_caller]
fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success(), "stdout: {}", stdout(out));
    let text = stderr(out);
    assert_eq!(text.trim_end().lines().count(), 1, "one line: {text:?}");
    text.trim_end().to_string()
}

#[test]
fn each_agent_kind_answers_with_its_tool() {
    let cases = [
        ("claude", "claude", "", "ls -S"),
        ("codex", "codex", "", "du -sh ."),
        ("gemini", "gemini", "", "find . -name \"*.log\""),
        ("amp", "amp", "", "wc -l *.txt"),
        ("kiro", "kiro-cli", "", "sort -n numbers.txt"),
        (
            "custom",
            "my-tool",
            "[agent.custom]\ncommand = \"my-tool\"\nargs = [\"--one-line\"]\nprompt = \"stdin\"\n",
            "echo custom",
        ),
    ];
    for (kind, program, table, expected) in cases {
        let agents = Agents::new(&format!("backend = \"{kind}\"\n{table}"));
        agents.fake(program, &fake_body(program));
        let answer = agents.ask_json();
        assert_eq!(answer["cmd"], expected, "{kind}: {answer}");
        assert_eq!(answer["backend"], kind, "{kind}: {answer}");
        assert!(
            agents.seen("prompt.txt").starts_with("You turn a request"),
            "{kind}: the fixed rules lead the prompt"
        );
        assert_eq!(agents.leftovers(), Vec::<PathBuf>::new(), "{kind}");
    }
}

#[test]
fn claude_reports_its_token_usage() {
    let agents = Agents::new("backend = \"claude\"\n");
    agents.fake("claude", &fake_body("claude"));
    let answer = agents.ask_json();
    assert_eq!(answer["prompt_tokens"], 900);
    assert_eq!(answer["output_tokens"], 4);
}

#[test]
fn a_tool_past_the_timeout_is_killed_and_named_in_one_line() {
    let agents = Agents::new("backend = \"claude\"\n[agent]\ntimeout_ms = 700\n");
    let fake = agents.env.path("fake");
    // The tool and a child of its own, as real tools have: both must go.
    agents.fake(
        "claude",
        &format!(
            "echo $$ > '{dir}/tool.pid'\nsleep 60 &\necho $! > '{dir}/child.pid'\nwait\n",
            dir = fake.display()
        ),
    );
    assert_success(&agents.cmdai(&["daemon", "start"], true));
    let started = Instant::now();
    let out = agents.cmdai(&["ask", SENTENCE], true);
    let took = started.elapsed();
    let message = one_line_error(&out);
    assert!(
        message.contains("claude: no answer within 0.7 s"),
        "{message}"
    );
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(10),
        "took {took:?}"
    );
    for file in ["tool.pid", "child.pid"] {
        let pid = agents.seen(file).trim().parse().expect(file);
        wait_gone(pid);
    }
    assert_eq!(agents.leftovers(), Vec::<PathBuf>::new());
}

#[test]
fn a_failing_tool_is_one_line_with_its_message() {
    let agents = Agents::new("backend = \"gemini\"\n");
    agents.fake(
        "gemini",
        "echo 'Loaded cached credentials.' >/dev/null\n\
         printf '\\033[31mError: quota exceeded for model gemini-2.5-pro\\033[0m\\nat line 2\\n' >&2\n\
         exit 1\n",
    );
    let message = agents.failed_ask(true);
    assert!(
        message.contains("gemini: exited with status 1"),
        "{message}"
    );
    assert!(
        message.contains("Error: quota exceeded for model gemini-2.5-pro"),
        "{message}"
    );
    assert!(!message.contains('\x1b'), "{message:?}");
}

#[test]
fn a_tool_not_on_path_is_named_with_what_to_do() {
    let agents = Agents::new("backend = \"claude\"\n");
    let message = agents.failed_ask(false);
    assert!(
        message
            .contains("claude: not found on PATH: install Claude Code or choose another backend"),
        "{message}"
    );
}

#[test]
fn a_long_prompt_reaches_the_tool_intact_through_a_private_file() {
    let agents = Agents::new("backend = \"claude\"\n");
    // Where the prompt came from: stdin must be a private regular file, not an argument.
    let body = fake_body("claude").replacen(
        "shift 3",
        "shift 3\n[ $# -eq 0 ] || usage 'a long prompt belongs on stdin'\n\
         readlink /proc/self/fd/0 > \"$FAKE_DIR/stdin.path\"\n\
         stat -L -c %a /proc/self/fd/0 > \"$FAKE_DIR/stdin.mode\"",
        1,
    );
    agents.fake("claude", &body);
    let long = format!(
        "{SENTENCE} {}",
        "and keep the biggest ones on top of the list ".repeat(60)
    );
    let out = agents.cmdai(&["ask", "--json", long.trim()], true);
    assert_success(&out);
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["cmd"], "ls -S");
    let prompt = agents.seen("prompt.txt");
    assert!(
        prompt.contains(&format!("Request: {}\n", long.trim())),
        "the request arrived cut: {} bytes",
        prompt.len()
    );
    let file = PathBuf::from(agents.seen("stdin.path").trim());
    assert!(
        file.starts_with(agents.env.path("tmp")) && file.parent().is_some_and(is_scratch),
        "stdin was {file:?}"
    );
    assert_eq!(agents.seen("stdin.mode").trim(), "600");
    assert!(!file.exists(), "the prompt file outlived the request");
    assert_eq!(agents.leftovers(), Vec::<PathBuf>::new());
}
