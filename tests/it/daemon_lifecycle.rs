//! Start, status, stop, private modes, SIGTERM (scripted backend). Single instance, stale
//! sockets and unsafe runtime dirs are in `reliability`.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::FileTypeExt;
use std::process::Stdio;

use crate::harness::*;

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
