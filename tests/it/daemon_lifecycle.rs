//! Start, status, stop, single instance, stale sockets, private modes (scripted backend).

use std::io::{BufRead, BufReader};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixListener;
use std::process::Stdio;

use crate::harness::*;

/// Runs a second `cmdai-daemon` in the foreground, expecting it to refuse and exit.
fn run_daemon(env: &TestEnv) -> std::process::Output {
    env.command(env!("CARGO_BIN_EXE_cmdai-daemon"))
        .args(["--backend", "scripted"])
        .output()
        .unwrap()
}

#[test]
fn start_status_stop() {
    let env = TestEnv::new();
    env.start_scripted("files => ls -S");
    let out = env.cmdai(&["daemon", "status", "--json"]);
    assert_success(&out);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["state"], "Ready");
    assert_eq!(status["backend"], "scripted");
    assert_eq!(status["loads"], 1);
    let pid = env.daemon_pid().expect("pid file");
    assert_eq!(status["pid"], pid);

    let out = env.cmdai(&["daemon", "stop"]);
    assert_success(&out);
    wait_gone(pid);
    assert!(!env.socket().exists(), "socket left behind after stop");
    let out = env.cmdai(&["daemon", "status"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("not running"), "{}", stderr(&out));
}

#[test]
fn runtime_dir_and_socket_are_private() {
    let env = TestEnv::new();
    env.start_scripted("");
    assert_eq!(mode_of(&env.runtime_dir()), 0o700);
    assert_eq!(mode_of(&env.socket()), 0o600);
    let meta = std::fs::symlink_metadata(env.socket()).unwrap();
    assert!(meta.file_type().is_socket());
}

#[test]
fn a_second_daemon_is_refused_and_the_first_keeps_its_socket() {
    use std::os::unix::fs::MetadataExt;
    let env = TestEnv::new();
    env.start_scripted("");
    let inode = std::fs::metadata(env.socket()).unwrap().ino();
    let out = run_daemon(&env);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already running"), "{}", stderr(&out));
    assert_eq!(std::fs::metadata(env.socket()).unwrap().ino(), inode);
    assert_success(&env.cmdai(&["ask", "still", "there"]));
}

#[test]
fn stale_socket_after_kill_9_is_recovered() {
    let env = TestEnv::new();
    env.start_scripted("files => ls -S");
    let pid = env.daemon_pid().unwrap();
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    wait_gone(pid);
    assert!(
        env.socket().exists(),
        "kill -9 should leave the socket behind"
    );
    // The next request finds nobody there, starts a new daemon (scripted via config) and answers.
    env.write_config(&format!(
        "backend = \"scripted\"\nmodel = \"{}\"\n",
        env.path("script.txt").display()
    ));
    let out = env.cmdai(&["ask", "list", "files"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "ls -S\n");
    assert_ne!(env.daemon_pid(), Some(pid));
}

#[test]
fn a_socket_with_a_live_listener_is_never_removed() {
    let env = TestEnv::new();
    // Something else listens on the socket path; the daemon must not unlink it.
    let _listener = UnixListener::bind(env.socket()).unwrap();
    let out = run_daemon(&env);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("live daemon answers"),
        "{}",
        stderr(&out)
    );
    assert!(env.socket().exists());
}

#[test]
fn an_unsafe_runtime_dir_is_refused() {
    let env = TestEnv::new();
    set_mode(&env.runtime_dir(), 0o777);
    let out = run_daemon(&env);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is unsafe"), "{}", stderr(&out));
}

#[test]
fn sigterm_unlinks_the_socket_and_exits_zero() {
    let env = TestEnv::new();
    let script = env.script("");
    let mut child = env
        .command(env!("CARGO_BIN_EXE_cmdai-daemon"))
        .args(["--backend", "scripted", "--model", path_str(&script)])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The daemon announces its socket once bound: that line is the readiness signal.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let bound = lines.find(|l| l.as_ref().is_ok_and(|l| l.contains("listening on")));
    assert!(bound.is_some(), "the daemon never said it was listening");
    assert!(env.socket().exists());
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!env.socket().exists());
}
