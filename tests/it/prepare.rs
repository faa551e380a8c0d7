//! `cmdai prepare`: the context block is evaluated while the user types, and asking for it can
//! never hold up a prompt. The widget files test that each shell sends it at every prompt.

use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use crate::harness::*;

/// The scripted rule the prepare tests type; their daemon is started with it before any shell
/// exists, as a login service would.
pub const RULE: &str = "list the files => ls -a";

/// Words of the request part a key press sends for `list the files` from an empty-ish temp
/// directory (`Request: list the files` and nothing else): what the scripted backend counts when
/// the context block was already kept.
pub const REQUEST_WORDS: u64 = 4;

/// After a few prompts with no daemon: nothing from cmdai or the shell's job control on the
/// screen, and no daemon started.
#[track_caller]
pub fn assert_prompts_stayed_silent(env: &TestEnv, screen: &str) {
    assert!(!screen.contains("cmdai"), "{screen}");
    assert!(!screen.contains('['), "a job notice: {screen}");
    assert!(!screen.contains("Job"), "a job notice: {screen}");
    assert_eq!(env.daemon_pid(), None, "a prompt started the daemon");
}

/// Waits until the daemon has evaluated `count` context blocks ahead of a key press.
#[track_caller]
pub fn wait_prepared(env: &TestEnv, count: u64) {
    wait_until(
        &format!("{count} context(s) prepared"),
        Duration::from_secs(20),
        || env.status_json()["contexts_prepared"].as_u64() >= Some(count),
    );
}

/// After the key press: the daemon evaluated the sentence's part alone, because the shell's
/// prompt had sent it the very context block the key press then carried.
#[track_caller]
pub fn assert_only_the_sentence_was_evaluated(env: &TestEnv) {
    let status = env.status_json();
    assert_eq!(status["requests_served"], 1, "{status}");
    assert_eq!(
        status["last_prompt_tokens"].as_u64(),
        Some(REQUEST_WORDS),
        "the key press evaluated more than its sentence: {status}"
    );
}

/// The control for the tests above: without a prepare the key press evaluates the context
/// block too, so `assert_only_the_sentence_was_evaluated` can fail.
#[test]
fn without_a_prepare_the_key_press_evaluates_the_context_too() {
    let env = TestEnv::new();
    env.start_scripted(RULE);
    let out = env
        .command(env!("CARGO_BIN_EXE_cmdai"))
        .args(["ask", "list the files"])
        .env("CMDAI_SHELL", "bash")
        .current_dir(env.path("home"))
        .output()
        .unwrap();
    assert_success(&out);
    let status = env.status_json();
    assert!(
        status["last_prompt_tokens"].as_u64() > Some(REQUEST_WORDS),
        "{status}"
    );
    assert_eq!(status["contexts_prepared"], 0, "{status}");
}

/// `cmdai prepare` then `cmdai ask` from the same place: the ask pays for its sentence only,
/// and preparing the same place again evaluates nothing.
#[test]
fn prepare_then_ask_evaluates_only_the_sentence() {
    let env = TestEnv::new();
    env.start_scripted(RULE);
    let run = |args: &[&str]| {
        let out = env
            .command(env!("CARGO_BIN_EXE_cmdai"))
            .args(args)
            .env("CMDAI_SHELL", "bash")
            .env("CMDAI_SHELL_VERSION", "5.2.15")
            .current_dir(env.path("home"))
            .output()
            .unwrap();
        assert_success(&out);
        if args == ["prepare"] {
            assert!(out.stdout.is_empty(), "prepare printed something");
        }
    };
    run(&["prepare"]);
    wait_prepared(&env, 1);
    let evaluated = env.status_json()["prepared_tokens"].clone();
    assert!(evaluated.as_u64() > Some(0), "{evaluated}");
    run(&["prepare"]);
    wait_prepared(&env, 2);
    assert_eq!(
        env.status_json()["prepared_tokens"],
        evaluated,
        "kept: nothing to do"
    );
    run(&["ask", "list the files"]);
    assert_only_the_sentence_was_evaluated(&env);
}

/// With no daemon, `cmdai prepare` starts none and returns at once; with a socket whose owner
/// never reads, it still returns (the frame fits in the socket's buffer).
#[test]
fn prepare_never_starts_or_waits_for_a_daemon() {
    let env = TestEnv::new();
    scripted_config(&env, RULE);
    let prepare = || {
        let started = Instant::now();
        let out = env
            .command(env!("CARGO_BIN_EXE_cmdai"))
            .arg("prepare")
            .output()
            .unwrap();
        (out, started.elapsed())
    };
    let (out, _) = prepare();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("not running"), "{}", stderr(&out));
    assert!(!env.socket().exists(), "prepare started a daemon");
    assert_eq!(env.daemon_pid(), None, "prepare started a daemon");

    let _silent = UnixListener::bind(env.socket()).unwrap();
    let (out, took) = prepare();
    assert_success(&out);
    // Generous: the point is that it does not wait for an answer that never comes.
    assert!(took < Duration::from_secs(2), "prepare waited {took:?}");
}

/// `cmdai prepare --follow`, the helper zsh keeps per shell: each record it reads (directory,
/// PATH, line) reaches the daemon as a prepare, so the key press from that place evaluates less
/// than its sentence; it ends when its input closes.
#[test]
fn follow_prepares_each_record_it_reads_and_ends_with_its_input() {
    use std::io::Write;
    use std::process::Stdio;

    let env = TestEnv::new();
    env.start_scripted(RULE);
    let path = std::env::var("PATH").unwrap();
    let home = env.path("home");
    let mut helper = env
        .command(env!("CARGO_BIN_EXE_cmdai"))
        .args(["prepare", "--follow"])
        .env("CMDAI_SHELL", "bash")
        .env("CMDAI_SHELL_VERSION", "5.2.15")
        .current_dir("/")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut feed = helper.stdin.take().unwrap();
    let record = |line: &str| format!("{}\0{path}\0{line}\0", home.display());
    feed.write_all(record("").as_bytes()).unwrap();
    wait_prepared(&env, 1);
    feed.write_all(record("list the files").as_bytes()).unwrap();
    wait_prepared(&env, 2);
    drop(feed);
    wait_until("the helper to end", Duration::from_secs(10), || {
        helper.try_wait().unwrap().is_some()
    });
    assert!(helper.wait().unwrap().success());

    let out = env
        .command(env!("CARGO_BIN_EXE_cmdai"))
        .args(["ask", "list the files"])
        .env("CMDAI_SHELL", "bash")
        .env("CMDAI_SHELL_VERSION", "5.2.15")
        .env("PATH", &path)
        .current_dir(&home)
        .output()
        .unwrap();
    assert_success(&out);
    let status = env.status_json();
    assert!(
        status["last_prompt_tokens"].as_u64() < Some(REQUEST_WORDS),
        "the line the helper sent was not prepared: {status}"
    );
}
