//! The `openai` and `llama-server` backends through the real daemon and client, against a real
//! llama-server serving the tests model.
//!
//! The server comes from [`crate::llama`]: each test's listens on its own free port and is
//! killed when the test ends, even by a panic.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::harness::*;
use crate::llama::{free_port, llama_server_binary, Server};

const KEY_VAR: &str = "CMDAI_TEST_OPENAI_KEY";
const SENTENCE: &str = "list the files in this directory";

/// The tests model and a llama-server binary, or `None` (skip).
fn prerequisites() -> Option<(PathBuf, PathBuf)> {
    Some((test_model()?, llama_server_binary()?))
}

/// Tests share two cores with each other and with other models: a request may wait long.
const SLOW_MACHINE: &str = "timeout_ms = 120000\n";

fn openai_config(model: &Path, base_url: &str, extra: &str) -> String {
    format!(
        "backend = \"openai\"\nmodel = \"{}\"\n{SLOW_MACHINE}\n\
         [openai]\nbase_url = \"{base_url}\"\n{SLOW_MACHINE}{extra}",
        model.display()
    )
}

/// `cmdai ask --json SENTENCE`, which must succeed; the daemon log tells why when it does not.
#[track_caller]
fn ask_json(env: &TestEnv, sentence: &str) -> Value {
    let out = env.cmdai(&["ask", "--json", sentence]);
    assert!(
        out.status.success(),
        "{}\nthe daemon log:\n{}",
        stderr(&out),
        daemon_log(env)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Asserts that `out` failed with exactly one line on stderr, besides the client's progress
/// note while the daemon opens its backend, and returns that line.
#[track_caller]
fn one_line_failure(out: &std::process::Output) -> String {
    assert!(!out.status.success(), "expected a failure: {}", stdout(out));
    let err = stderr(out);
    let lines: Vec<&str> = err
        .lines()
        .filter(|line| !line.starts_with("cmdai: loading the model"))
        .collect();
    assert_eq!(lines.len(), 1, "one line expected: {err}");
    lines[0].to_string()
}

fn daemon_log(env: &TestEnv) -> String {
    std::fs::read_to_string(env.path("state/daemon.log")).unwrap_or_default()
}

#[test]
fn the_openai_backend_answers_through_a_real_llama_server() {
    let Some((model, binary)) = prerequisites() else {
        return;
    };
    let env = TestEnv::new();
    let server = Server::start(&binary, &model, &[], &env.path("llama-server.log"));
    env.write_config(&openai_config(&model, &server.base_url(), ""));
    let answer = ask_json(&env, SENTENCE);
    let command = answer["cmd"].as_str().unwrap();
    assert!(!command.trim().is_empty(), "{answer}");
    assert_eq!(answer["backend"], "openai");
    // The answer is streamed: counted from the usage chunk or, read only to the first command
    // line, a token a chunk.
    assert!(answer["output_tokens"].as_u64() > Some(0), "{answer}");
    // No [openai] model: the first one the server lists, which llama-server names by its path.
    assert_eq!(answer["model"], path_str(&model));
    assert_eq!(env.status_json()["backend"], "openai");
}

#[test]
fn the_api_key_comes_from_the_named_variable_and_is_never_shown() {
    let Some((model, binary)) = prerequisites() else {
        return;
    };
    let secret = "cmdai-test-secret-5f0c2e";
    let env = TestEnv::new();
    let server = Server::start(
        &binary,
        &model,
        &["--api-key", secret],
        &env.path("llama-server.log"),
    );
    let config = openai_config(
        &model,
        &server.base_url(),
        &format!("api_key_env = \"{KEY_VAR}\"\n"),
    );
    let ask = |env: &TestEnv, key: Option<&str>| {
        let mut command = env.command(env!("CARGO_BIN_EXE_cmdai"));
        if let Some(key) = key {
            command.env(KEY_VAR, key);
        }
        command.args(["ask", "--json", SENTENCE]).output().unwrap()
    };

    env.write_config(&config);
    let out = ask(&env, Some(secret));
    assert_success(&out);
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["backend"], "openai");
    assert!(!stdout(&out).contains(secret) && !stderr(&out).contains(secret));
    let log = daemon_log(&env);
    assert!(
        log.contains("cmdai-daemon"),
        "the log is where we think: {log}"
    );
    assert!(!log.contains(secret), "the key reached the daemon log");

    let unset = TestEnv::new();
    unset.write_config(&config);
    let err = one_line_failure(&ask(&unset, None));
    assert!(err.contains(KEY_VAR) && err.contains("openai"), "{err}");

    let wrong = TestEnv::new();
    wrong.write_config(&config);
    let err = one_line_failure(&ask(&wrong, Some("not-the-key")));
    assert!(err.contains("refused the API key"), "{err}");
    assert!(
        err.contains(KEY_VAR) && !err.contains("not-the-key"),
        "{err}"
    );
}

#[test]
fn a_server_that_is_down_is_one_line_naming_openai_the_url_and_the_fix() {
    let Some(model) = test_model() else {
        return;
    };
    let env = TestEnv::new();
    let base_url = format!("http://127.0.0.1:{}/v1", free_port());
    env.write_config(&openai_config(&model, &base_url, ""));
    let err = one_line_failure(&env.cmdai(&["ask", SENTENCE]));
    assert!(err.contains("openai: "), "{err}");
    assert!(err.contains(&base_url), "{err}");
    assert!(
        err.contains("start the server or fix [openai] base_url"),
        "{err}"
    );
}

/// The pids of the daemon's children whose command is `llama-server`.
fn llama_server_children(daemon: u32) -> Vec<u32> {
    children_of(daemon, |_, comm| comm == "llama-server")
}

/// Waits until `pid`, a child of the daemon, can be reaped: a zombie whose other threads have
/// all exited. Until then the kernel reports a killed process with many threads as running to
/// its parent, though /proc already shows it a zombie.
fn wait_dead(pid: u32) {
    let dir = PathBuf::from(format!("/proc/{pid}"));
    wait_until(
        "the killed llama-server to finish exiting",
        Duration::from_secs(10),
        || {
            let zombie = std::fs::read_to_string(dir.join("stat")).map_or(true, |s| {
                s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            });
            let threads = std::fs::read_dir(dir.join("task")).map_or(0, |d| d.count());
            zombie && threads <= 1
        },
    );
}

#[test]
fn a_supervised_llama_server_answers_is_restarted_and_stops_with_the_daemon() {
    let Some((model, binary)) = prerequisites() else {
        return;
    };
    let env = TestEnv::new();
    env.write_config(&format!(
        "backend = \"llama-server\"\nmodel = \"{}\"\n{SLOW_MACHINE}\n\
         [llama_server]\nbinary = \"{}\"\n{SLOW_MACHINE}",
        model.display(),
        binary.display()
    ));
    let answer = ask_json(&env, SENTENCE);
    assert!(
        !answer["cmd"].as_str().unwrap().trim().is_empty(),
        "{answer}"
    );
    assert_eq!(answer["backend"], "llama-server");
    assert_eq!(env.status_json()["backend"], "llama-server");

    let daemon = env.daemon_pid().expect("an autostarted daemon");
    let first = llama_server_children(daemon);
    assert_eq!(first.len(), 1, "one llama-server child of the daemon");
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(first[0] as i32).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    wait_dead(first[0]);

    // Another sentence: the daemon would answer the same one from its cache.
    let answer = ask_json(&env, "show the disk usage of this directory");
    assert_eq!(answer["backend"], "llama-server");
    assert!(
        daemon_log(&env).contains("llama-server exited (signal: 9"),
        "the log must say why it started the server again: {}",
        daemon_log(&env)
    );
    assert!(daemon_log(&env).contains("starting it again"));
    let second = llama_server_children(daemon);
    assert_eq!(second.len(), 1, "one llama-server again");
    assert_ne!(second, first);

    assert_success(&env.cmdai(&["daemon", "stop"]));
    wait_gone(daemon);
    wait_gone(second[0]);
}

#[test]
fn a_missing_llama_server_binary_is_one_line_with_the_fix() {
    let Some(model) = test_model() else {
        return;
    };
    let env = TestEnv::new();
    env.write_config(&format!(
        "backend = \"llama-server\"\nmodel = \"{}\"\n\n[llama_server]\nbinary = \"cmdai-no-such-llama-server\"\n",
        model.display()
    ));
    let err = one_line_failure(&env.cmdai(&["ask", SENTENCE]));
    assert!(err.contains("llama-server"), "{err}");
    assert!(err.contains("cmdai-no-such-llama-server"), "{err}");
    assert!(
        err.contains("install llama.cpp's llama-server or set [llama_server] binary"),
        "{err}"
    );
}

#[test]
fn a_llama_server_that_exits_while_loading_is_one_line_with_its_status() {
    let Some(binary) = llama_server_binary() else {
        return;
    };
    let env = TestEnv::new();
    let not_a_model = env.path("not-a-model.gguf");
    std::fs::write(&not_a_model, "this is not a GGUF file\n").unwrap();
    env.write_config(&format!(
        "backend = \"llama-server\"\nmodel = \"{}\"\n\n[llama_server]\nbinary = \"{}\"\n",
        not_a_model.display(),
        binary.display()
    ));
    let err = one_line_failure(&env.cmdai(&["ask", SENTENCE]));
    assert!(err.contains("llama-server exited (exit status: "), "{err}");
    assert!(err.contains("not-a-model.gguf"), "{err}");
    assert!(err.contains("daemon log"), "{err}");
    assert!(
        daemon_log(&env).contains("not-a-model.gguf"),
        "llama-server's own output goes to the daemon log"
    );
}
