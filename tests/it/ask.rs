//! `cmdai ask` end to end: autostart, output discipline, busy, timeout, cancel, the real model.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use cmdai::protocol::{self, FrameKind, GenerateRequest, Request};

use crate::harness::*;

#[test]
fn ask_autostarts_and_prints_only_the_command() {
    let env = TestEnv::new();
    scripted_config(&env, "sorted by size => ls -S");
    let out = env.cmdai(&["ask", "list files sorted by size"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "ls -S\n");
    let pid = env.daemon_pid().expect("an autostarted daemon");
    assert_success(&env.cmdai(&["ask", "list files sorted by size"]));
    let status = env.status_json();
    assert_eq!(status["pid"], pid, "the second ask must reuse the daemon");
    assert_eq!(status["loads"], 1);
    assert_eq!(status["requests_served"], 2);
}

#[test]
fn json_output_names_command_backend_model_and_time() {
    let env = TestEnv::new();
    scripted_config(&env, "size => du -sh .");
    let out = env.cmdai(&["ask", "--json", "disk", "size"]);
    assert_success(&out);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["cmd"], "du -sh .");
    assert_eq!(value["backend"], "scripted");
    assert_eq!(value["model"], "scripted");
    assert!(value["elapsed_ms"].is_u64());
}

#[test]
fn an_empty_sentence_is_a_clear_error() {
    let env = TestEnv::new();
    let out = env.cmdai(&["ask", "  "]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("the sentence is empty"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_full_queue_answers_busy_at_once() {
    let env = TestEnv::new();
    slow_daemon(&env, 200);
    let children: Vec<_> = (0..3)
        .map(|_| {
            env.command(env!("CARGO_BIN_EXE_cmdai"))
                .args(["ask", "slow"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let busy = outputs
        .iter()
        .filter(|o| stderr(o).contains("busy"))
        .count();
    let served = outputs.iter().filter(|o| o.status.success()).count();
    assert!(
        busy >= 1,
        "one worker and a queue of one cannot hold three requests"
    );
    assert!(served >= 1);
    for out in outputs.iter().filter(|o| !o.status.success()) {
        assert_eq!(out.status.code(), Some(2));
        assert!(stdout(out).is_empty());
    }
}

#[test]
fn the_deadline_is_enforced() {
    let env = TestEnv::new();
    slow_daemon(&env, 500);
    let started = Instant::now();
    let out = env.cmdai(&["ask", "--timeout", "1", "slow"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_client_that_hangs_up_cancels_its_generation() {
    let env = TestEnv::new();
    slow_daemon(&env, 300);
    let request = Request::Generate(GenerateRequest {
        sentence: "slow".into(),
        shell: "bash".into(),
        deadline_ms: 60_000,
        ..GenerateRequest::default()
    });
    let mut stream = UnixStream::connect(env.socket()).unwrap();
    let frame = protocol::encode_frame(FrameKind::Request, &request).unwrap();
    stream.write_all(&frame).unwrap();
    drop(stream);
    // The engine notices between tokens; three seconds of work would otherwise finish.
    wait_cancelled(&env, Duration::from_secs(10));
}

#[test]
fn ask_with_the_real_tests_model_through_an_autostarted_daemon() {
    let Some(env) = TestEnv::with_test_model() else {
        return;
    };
    let out = env.cmdai(&["ask", "list files in this directory sorted by size"]);
    assert_success(&out);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text:?}");
    assert!(!text.trim().is_empty());
    let out = env.cmdai(&["ask", "--json", "show disk usage of this folder"]);
    assert_success(&out);
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["backend"], "embedded");
    assert_eq!(answer["model"], super::harness::TEST_MODEL_FILE);
    // The checks ran on the model's answer too.
    assert!(answer["risk"].is_string(), "{answer}");
    for flag in ["blocked", "syntax_ok", "repaired"] {
        assert!(answer[flag].is_boolean(), "{flag}: {answer}");
    }
    for list in ["reasons", "missing_tools"] {
        assert!(answer[list].is_array(), "{list}: {answer}");
    }
    let status = env.status_json();
    assert_eq!(status["loads"], 1);
    assert_eq!(status["requests_served"], 2);
    // The fixed prompt is cached: a request evaluates far fewer tokens than it holds, even when
    // a repair round (the request again, and one more line) counts as part of it.
    let fixed = status["system_prompt_tokens"].as_u64().unwrap();
    let last = status["last_prompt_tokens"].as_u64().unwrap();
    assert!(
        fixed > 100 && last < fixed / 2,
        "fixed {fixed}, per request {last}"
    );
}

/// Starts nothing by hand: `cmdai ask` autostarts a daemon whose model file is `bytes`.
fn ask_with_model_file(name: &str, bytes: &[u8], setting: &str) -> std::process::Output {
    let env = TestEnv::new();
    std::fs::write(env.path("models").join(name), bytes).unwrap();
    env.write_config(&format!("model = \"{setting}\"\n"));
    env.cmdai(&["ask", "list", "files"])
}

#[track_caller]
fn assert_one_line_naming(out: &std::process::Output, file: &str, fix: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
    assert!(stdout(out).is_empty());
    let err = stderr(out);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("cmdai: ") && last.contains(file) && last.contains(fix),
        "{err}"
    );
}

#[test]
fn a_truncated_model_is_one_line_naming_the_file_and_the_fix() {
    let mut bytes = b"GGUF".to_vec();
    bytes.resize(4096, 0);
    let out = ask_with_model_file(TEST_MODEL_FILE, &bytes, "tests");
    assert_one_line_naming(&out, TEST_MODEL_FILE, "cmdai model pull tests");
    assert!(stderr(&out).contains("truncated"), "{}", stderr(&out));
}

#[test]
fn a_corrupt_model_is_one_line_naming_the_file_and_the_fix() {
    let mut bytes = b"GGUF".to_vec();
    bytes.extend(std::iter::repeat_n(0xA5u8, 64 * 1024));
    let env_model = "mystery.gguf";
    let out = {
        let env = TestEnv::new();
        let path = env.path("models").join(env_model);
        std::fs::write(&path, &bytes).unwrap();
        env.write_config(&format!("model = \"{}\"\n", path.display()));
        env.cmdai(&["ask", "list", "files"])
    };
    assert_one_line_naming(&out, env_model, "set `model` in config");
}

#[test]
fn a_missing_model_is_one_line_naming_the_file_and_the_fix() {
    let env = TestEnv::new();
    env.write_config("model = \"small\"\n");
    let out = env.cmdai(&["ask", "list", "files"]);
    assert_one_line_naming(
        &out,
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "cmdai model pull small",
    );
}

#[test]
fn a_model_fixed_after_a_failed_load_is_picked_up_by_the_next_ask() {
    let Some(good) = test_model() else { return };
    let env = TestEnv::new();
    let path = env.path("models").join("replaced.gguf");
    std::fs::write(&path, b"GGUFbroken").unwrap();
    env.write_config(&format!("model = \"{}\"\n", path.display()));
    let out = env.cmdai(&["ask", "list", "files"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    std::fs::copy(good, &path).unwrap();
    let out = env.cmdai(&["ask", "list", "files"]);
    assert_success(&out);
    assert_eq!(stdout(&out).lines().count(), 1);
}

/// A sentence longer than the daemon accepts is refused by the client in one line that says
/// what to do, before any daemon is started or asked.
#[test]
fn an_overlong_sentence_is_one_line_and_starts_nothing() {
    let env = TestEnv::new();
    scripted_config(&env, "files => ls");
    let sentence = "find ".repeat(1000);
    let out = env.cmdai(&["ask", &sentence]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr(&out),
        "cmdai: the sentence is 4999 bytes; shorten it to at most 4096\n"
    );
    assert_eq!(env.daemon_pid(), None);
}
