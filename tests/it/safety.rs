//! Every generated command is checked: what `cmdai ask` prints, holds back and repairs (scripted
//! backend), and `cmdai check` on its own. Verdicts follow the labelling policy in
//! ../shared/safety/README.md: `rm -rf ~` critical, `git push --force origin main` high,
//! `rm notes.txt` moderate, `ls -la` safe.

use std::io::Write;
use std::process::{Output, Stdio};

use serde_json::Value;

use crate::harness::*;
use crate::tmux::find_program;

const CMDAI: &str = env!("CARGO_BIN_EXE_cmdai");

/// The object `cmdai check --json` prints, key for key.
const VERDICT_KEYS: [&str; 6] = [
    "risk",
    "blocked",
    "reasons",
    "syntax_ok",
    "missing_tools",
    "problems",
];

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {:?}, stderr {:?}", stdout(out), stderr(out)))
}

/// The verdict keys are there with their types.
#[track_caller]
fn assert_verdict_fields(value: &Value) {
    assert!(value["risk"].is_string(), "{value}");
    assert!(value["blocked"].is_boolean(), "{value}");
    assert!(value["syntax_ok"].is_boolean(), "{value}");
    for list in ["reasons", "missing_tools", "problems"] {
        let items = value[list]
            .as_array()
            .unwrap_or_else(|| panic!("{list}: {value}"));
        assert!(items.iter().all(Value::is_string), "{value}");
    }
}

/// Exactly one line on stderr, starting with `prefix`.
#[track_caller]
fn assert_one_stderr_line(out: &Output, prefix: &str) -> String {
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with(prefix), "{err}");
    err
}

fn add_to_config(env: &TestEnv, line: &str) {
    let text = std::fs::read_to_string(env.path("home/config.toml")).unwrap_or_default();
    env.write_config(&format!("{text}{line}\n"));
}

fn check(env: &TestEnv, args: &[&str]) -> Output {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    env.cmdai(&all)
}

#[test]
fn a_critical_command_is_held_back_with_the_reason_and_nothing_on_stdout() {
    let env = TestEnv::new();
    scripted_config(&env, "clean up my home => rm -rf ~");
    let out = env.cmdai(&["ask", "clean up my home"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    let err = assert_one_stderr_line(&out, "cmdai: held back a critical command: ");
    assert!(
        !err.contains("rm -rf ~"),
        "the command must not be shown: {err}"
    );
    assert_eq!(env.status_json()["commands_held_back"], 1);
    let status = stdout(&env.cmdai(&["daemon", "status"]));
    assert!(status.contains("1 command held back"), "{status}");
}

#[test]
fn ask_json_shows_a_held_back_command_and_its_verdict() {
    let env = TestEnv::new();
    scripted_config(&env, "clean up my home => rm -rf ~");
    let out = env.cmdai(&["ask", "--json", "clean up my home"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_one_stderr_line(&out, "cmdai: held back a critical command: ");
    let answer = json_of(&out);
    assert_verdict_fields(&answer);
    assert_eq!(answer["cmd"], "rm -rf ~");
    assert_eq!(answer["risk"], "critical");
    assert_eq!(answer["blocked"], true);
    assert!(
        !answer["reasons"].as_array().unwrap().is_empty(),
        "{answer}"
    );
    assert_eq!(answer["repaired"], false);
    assert_eq!(answer["backend"], "scripted");
    assert_eq!(answer["model"], "scripted");
    assert!(answer["elapsed_ms"].is_u64(), "{answer}");
}

#[test]
fn ask_json_of_a_safe_command_has_every_field() {
    let env = TestEnv::new();
    scripted_config(&env, "list => ls -la");
    let out = env.cmdai(&["ask", "--json", "list everything"]);
    assert_success(&out);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let answer = json_of(&out);
    assert_verdict_fields(&answer);
    assert_eq!(answer["cmd"], "ls -la");
    assert_eq!(answer["risk"], "safe");
    assert_eq!(answer["blocked"], false);
    assert_eq!(answer["syntax_ok"], true);
    assert_eq!(answer["missing_tools"], serde_json::json!([]));
    assert_eq!(answer["repaired"], false);
}

#[test]
fn strict_holds_back_a_high_command_that_normal_inserts_with_a_warning() {
    let env = TestEnv::new();
    scripted_config(&env, "publish => git push --force origin main");
    let out = env.cmdai(&["ask", "publish it"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "git push --force origin main\n");
    assert_one_stderr_line(&out, "cmdai: warning: ");
    assert_eq!(env.status_json()["safety"], "normal");

    add_to_config(&env, "safety = \"strict\"");
    assert_success(&env.cmdai(&["daemon", "restart"]));
    assert_eq!(env.status_json()["safety"], "strict");
    let out = env.cmdai(&["ask", "publish it"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    assert_one_stderr_line(&out, "cmdai: held back a high command: ");
}

#[test]
fn a_moderate_command_is_inserted_with_a_note() {
    let env = TestEnv::new();
    scripted_config(&env, "tidy => rm notes.txt");
    let out = env.cmdai(&["ask", "tidy up"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "rm notes.txt\n");
    assert_one_stderr_line(&out, "cmdai: note: ");
}

#[test]
fn a_syntax_error_or_a_missing_tool_is_repaired_in_a_second_round() {
    let env = TestEnv::new();
    // The repair request names the failed command and its problem; "failed" matches only it.
    scripted_config(
        &env,
        "broken => echo (\nfancy => frobnicate-cmdai-test --all\nfailed => echo repaired",
    );
    for sentence in ["something broken", "something fancy"] {
        let out = env.cmdai(&["ask", "--json", sentence]);
        assert_success(&out);
        let answer = json_of(&out);
        assert_eq!(answer["cmd"], "echo repaired", "{sentence}: {answer}");
        assert_eq!(answer["repaired"], true, "{answer}");
        assert_eq!(answer["syntax_ok"], true, "{answer}");
        assert_eq!(answer["missing_tools"], serde_json::json!([]), "{answer}");
    }
}

#[test]
fn a_repair_that_is_no_better_keeps_the_first_answer() {
    let env = TestEnv::new();
    scripted_config(&env, "broken => echo (");
    let out = env.cmdai(&["ask", "--json", "something broken"]);
    assert_success(&out);
    let answer = json_of(&out);
    assert_eq!(answer["cmd"], "echo (");
    assert_eq!(answer["repaired"], false);
    assert_eq!(answer["syntax_ok"], false);
    assert_eq!(
        answer["blocked"], false,
        "a syntax error alone holds nothing back"
    );
}

#[test]
fn the_repair_round_happens_only_when_the_deadline_leaves_room() {
    let env = TestEnv::new();
    scripted_config(&env, "broken => echo (\nfailed => echo repaired");
    // Two words of 600 ms: the first answer takes 1.2 s.
    let out = env
        .command(CMDAI)
        .args(["daemon", "start"])
        .env("CMDAI_SCRIPTED_TOKEN_MS", "600")
        .output()
        .unwrap();
    assert_success(&out);
    let ask =
        |timeout: &str| json_of(&env.cmdai(&["ask", "--json", "--timeout", timeout, "broken"]));
    // 2 s leaves less than 1.2 s after the first answer: no repair, and no timeout either.
    let answer = ask("2");
    assert_eq!(answer["cmd"], "echo (", "{answer}");
    assert_eq!(answer["repaired"], false);
    let answer = ask("10");
    assert_eq!(answer["cmd"], "echo repaired", "{answer}");
    assert_eq!(answer["repaired"], true);
}

#[test]
fn check_json_prints_exactly_the_verdict_and_exits_by_it() {
    let env = TestEnv::new();
    let cases = [
        ("ls -la", "safe", false),
        ("rm notes.txt", "moderate", false),
        ("git push --force origin main", "high", false),
        ("rm -rf ~", "critical", true),
    ];
    for (command, risk, blocked) in cases {
        let out = check(&env, &["--json", command]);
        assert_eq!(out.status.code(), Some(i32::from(blocked)), "{command}");
        let verdict = json_of(&out);
        let keys: Vec<&str> = verdict
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = VERDICT_KEYS.to_vec();
        expected.sort_unstable();
        assert_eq!(keys, expected, "{verdict}");
        assert_verdict_fields(&verdict);
        assert_eq!(verdict["risk"], risk, "{command}: {verdict}");
        assert_eq!(verdict["blocked"], blocked, "{command}: {verdict}");
    }
    assert!(env.daemon_pid().is_none(), "check needs no daemon");
}

#[test]
fn check_without_json_names_risk_reasons_syntax_and_tools() {
    let env = TestEnv::new();
    let out = check(&env, &["rm -rf ~"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "critical (held back)", "{text}");
    assert!(lines[1].starts_with("  - "), "{text}");
    assert!(lines.contains(&"syntax: ok"), "{text}");
    assert_eq!(lines.last(), Some(&"missing tools: none"), "{text}");
    let text = stdout(&check(&env, &["echo ( ; frobnicate-cmdai-test"]));
    assert!(text.starts_with("safe\n"), "{text}");
    assert!(text.contains("\nsyntax: error: "), "{text}");
    assert!(
        text.ends_with("missing tools: frobnicate-cmdai-test\n"),
        "{text}"
    );
}

#[test]
fn check_usage_errors_exit_2() {
    let env = TestEnv::new();
    for args in [
        &[][..],
        &[""],
        &["--shell", "tcsh", "ls"],
        &["--bogus", "ls"],
        &["ls", "-la"],
    ] {
        let out = check(&env, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
}

#[test]
fn check_reads_stdin_and_commands_over_several_lines() {
    let env = TestEnv::new();
    let mut child = env
        .command(CMDAI)
        .args(["check", "--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Text fed to `cat` is data, however it reads.
    let heredoc = "cat <<'EOF'\nrm -rf ~\nEOF\n";
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(heredoc.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_success(&out);
    assert_eq!(json_of(&out)["risk"], "safe");
    let out = check(&env, &["--json", "cd /tmp\nrm -rf ~"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["risk"], "critical");
}

#[test]
fn check_uses_the_shell_from_the_flag_else_cmdai_shell() {
    let env = TestEnv::new();
    if find_program("fish").is_none() {
        return;
    }
    let fish_loop = "for f in *.txt; wc -l $f; end";
    let syntax_ok = |out: Output| json_of(&out)["syntax_ok"].as_bool().unwrap();
    assert!(syntax_ok(check(
        &env,
        &["--json", "--shell", "fish", fish_loop]
    )));
    assert!(!syntax_ok(check(
        &env,
        &["--json", "--shell", "bash", fish_loop]
    )));
    let out = env
        .command(CMDAI)
        .args(["check", "--json", fish_loop])
        .env("CMDAI_SHELL", "fish")
        .output()
        .unwrap();
    assert!(syntax_ok(out));
}

#[test]
fn check_follows_safety_from_the_config_and_the_environment() {
    let env = TestEnv::new();
    env.write_config("safety = \"strict\"\n");
    let push = "git push --force origin main";
    let out = check(&env, &["--json", push]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(json_of(&out)["blocked"], true);
    let out = env
        .command(CMDAI)
        .args(["check", "--json", push])
        .env("CMDAI_SAFETY", "normal")
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(json_of(&out)["blocked"], false);
}

#[test]
fn a_bad_safety_value_is_one_line_naming_the_file_and_line() {
    let env = TestEnv::new();
    env.write_config("model = \"tests\"\nsafety = \"paranoid\"\n");
    let out = check(&env, &["ls"]);
    assert_eq!(out.status.code(), Some(2));
    let err = assert_one_stderr_line(&out, "cmdai: ");
    for part in ["config.toml", "line 2", "paranoid", "strict"] {
        assert!(err.contains(part), "{part}: {err}");
    }
}
