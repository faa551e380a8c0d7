//! `cmdai daemon logs` (tail, follow across a rotation) and the log's rotation when a daemon
//! starts.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use crate::harness::*;

#[test]
fn logs_prints_the_last_lines() {
    let env = TestEnv::new();
    let out = env.cmdai(&["daemon", "logs"]);
    assert_success(&out);
    assert!(stderr(&out).contains("no log yet"), "{}", stderr(&out));
    let text: String = (1..=100).map(|i| format!("line {i}\n")).collect();
    std::fs::write(env.path("state/daemon.log"), text).unwrap();
    let out = env.cmdai(&["daemon", "logs", "-n", "3"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "line 98\nline 99\nline 100\n");
    let out = env.cmdai(&["daemon", "logs"]);
    assert_eq!(stdout(&out).lines().count(), 50);
}

#[test]
fn follow_prints_new_lines_and_carries_on_after_a_rotation() {
    let env = TestEnv::new();
    let log = env.path("state/daemon.log");
    std::fs::write(&log, "old\nlast\n").unwrap();
    let mut child = env
        .command(env!("CARGO_BIN_EXE_cmdai"))
        .args(["daemon", "logs", "-f", "-n", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = || rx.recv_timeout(Duration::from_secs(10)).expect("a line");
    assert_eq!(next(), "last");
    let append = |text: &str| {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&log)
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
    };
    append("appended\n");
    assert_eq!(next(), "appended");
    std::fs::rename(&log, env.path("state/daemon.log.1")).unwrap();
    append("after rotation\n");
    assert_eq!(next(), "after rotation");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Over 1 MiB, the log moves to daemon.log.1 when the client starts a daemon; the new log is
/// private whatever the old one's mode was.
#[test]
fn a_big_log_is_rotated_when_a_daemon_starts() {
    let env = TestEnv::new();
    let log = env.path("state/daemon.log");
    let big = "x".repeat(1100 * 1024) + "\nend of the old log\n";
    std::fs::write(&log, &big).unwrap();
    set_mode(&log, 0o644);
    env.start_scripted("");
    let old = std::fs::read_to_string(env.path("state/daemon.log.1")).unwrap();
    assert_eq!(old, big);
    assert_eq!(mode_of(&log), 0o600);
    assert!(std::fs::metadata(&log).unwrap().len() < 1024 * 1024);
    // A small log is appended to, not rotated.
    env.cmdai(&["daemon", "stop"]);
    std::fs::remove_file(env.path("state/daemon.log.1")).unwrap();
    let before = std::fs::read_to_string(&log).unwrap();
    env.start_scripted("");
    assert!(std::fs::read_to_string(&log).unwrap().starts_with(&before));
    assert!(!env.path("state/daemon.log.1").exists());
}
