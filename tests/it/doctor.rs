//! `cmdai doctor` on a healthy temp HOME and on one broken on purpose: it must name exactly
//! the broken checks, with a fix under each, and exit 1.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::harness::*;

fn bin_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cmdai"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The init line of each shell, as install.sh writes it, in the env's rc files.
fn wire_shells(env: &TestEnv, skip: &str) {
    let cmdai = env!("CARGO_BIN_EXE_cmdai");
    let home = env.path("home");
    let rc = [
        (
            "zsh",
            home.join(".zshrc"),
            format!("eval \"$(\"{cmdai}\" init zsh)\""),
        ),
        (
            "bash",
            home.join(".bashrc"),
            format!("eval \"$(\"{cmdai}\" init bash)\""),
        ),
        (
            "fish",
            home.join(".config/fish/config.fish"),
            format!("\"{cmdai}\" init fish | source"),
        ),
    ];
    for (shell, file, line) in rc {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let text = if shell == skip {
            "alias ll='ls -l'\n".to_string()
        } else {
            line + "\n"
        };
        std::fs::write(file, text).unwrap();
    }
}

fn doctor(env: &TestEnv) -> Output {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin_dir()];
    dirs.extend(std::env::split_paths(&path));
    env.command(env!("CARGO_BIN_EXE_cmdai"))
        .arg("doctor")
        .env("PATH", std::env::join_paths(dirs).unwrap())
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("ZDOTDIR")
        .output()
        .unwrap()
}

/// `(level, name)` of every check, and checks that each non-ok one is followed by a fix.
fn findings(out: &Output) -> Vec<(String, String)> {
    let text = stdout(out);
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let mut words = line.split_whitespace();
        let level = words.next().unwrap_or_default();
        if level == "fix:" {
            continue;
        }
        assert!(
            ["ok", "warn", "FAIL"].contains(&level),
            "odd line {line:?}\n{text}"
        );
        if level != "ok" {
            let next = lines.get(i + 1).map(|l| l.trim_start()).unwrap_or("");
            assert!(next.starts_with("fix: "), "no fix under {line:?}\n{text}");
        }
        found.push((
            level.to_string(),
            words.next().unwrap_or_default().to_string(),
        ));
    }
    found
}

fn failing(out: &Output) -> BTreeSet<String> {
    findings(out)
        .into_iter()
        .filter(|(level, _)| level == "FAIL")
        .map(|(_, name)| name)
        .collect()
}

fn installed_shells() -> Vec<&'static str> {
    ["zsh", "bash", "fish"]
        .into_iter()
        .filter(|s| crate::tmux::find_program(s).is_some())
        .collect()
}

#[test]
fn a_healthy_install_passes_every_check() {
    let env = TestEnv::new();
    scripted_config(&env, "files => ls");
    assert_success(&env.cmdai(&["daemon", "start"]));
    wire_shells(&env, "");
    let out = doctor(&env);
    assert_success(&out);
    assert_eq!(failing(&out), BTreeSet::new(), "{}", stdout(&out));
    let names: BTreeSet<String> = findings(&out).into_iter().map(|(_, n)| n).collect();
    let mut want: BTreeSet<String> = [
        "cmdai",
        "daemon-binary",
        "path",
        "config",
        "runtime-dir",
        "socket",
        "daemon",
        "backend",
        "model",
        "memory",
        "service",
        "log",
    ]
    .map(String::from)
    .into();
    want.extend(installed_shells().iter().map(|s| format!("shell:{s}")));
    assert_eq!(names, want, "{}", stdout(&out));
    // The shells' checks are real probes: each says its key is bound.
    for shell in installed_shells() {
        assert!(
            stdout(&out).contains(&format!("an interactive {shell} binds its key")),
            "{}",
            stdout(&out)
        );
    }
    assert!(stdout(&out).contains("ready with"), "{}", stdout(&out));
}

/// Daemon stopped, model truncated, the login shell's rc line missing: those three fail and
/// nothing else does.
#[test]
fn a_broken_install_fails_exactly_the_broken_checks() {
    let env = TestEnv::new();
    let model = env.path("models").join(TEST_MODEL_FILE);
    let mut bytes = b"GGUF".to_vec();
    bytes.resize(4096, 0);
    std::fs::write(&model, bytes).unwrap();
    env.write_config("model = \"tests\"\n");
    // Started and stopped: the daemon is down, as after a crash or a `daemon stop`.
    scripted_config(&env, "");
    assert_success(&env.cmdai(&["daemon", "start"]));
    assert_success(&env.cmdai(&["daemon", "stop"]));
    env.write_config("model = \"tests\"\n");
    wire_shells(&env, "bash");
    let out = doctor(&env);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let mut want = BTreeSet::from(["daemon".to_string(), "model".to_string()]);
    if installed_shells().contains(&"bash") {
        want.insert("shell:bash".into());
    }
    assert_eq!(failing(&out), want, "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("is truncated"), "{text}");
    assert!(text.contains("fix: run `cmdai model pull tests`"), "{text}");
    assert!(text.contains("fix: cmdai daemon start"), "{text}");
    assert_eq!(
        stderr(&out),
        "cmdai: 3 checks failed; run the fix: lines above\n".replace('3', &want.len().to_string())
    );
}

/// The real tests model: its SHA-256 verifies (and is remembered), and a copy with one byte
/// changed fails the checksum while its size is right.
#[test]
fn the_model_check_verifies_the_checksum() {
    let Some(real) = test_model() else {
        return;
    };
    let env = TestEnv::new();
    let models = env.path("models");
    std::fs::copy(&real, models.join(TEST_MODEL_FILE)).unwrap();
    env.write_config("model = \"tests\"\n");
    let model_line = |out: &Output| {
        stdout(out)
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some("model"))
            .unwrap_or_default()
            .to_string()
    };
    let out = doctor(&env);
    let line = model_line(&out);
    assert!(
        line.starts_with("ok") && line.contains("SHA-256 verified"),
        "{line}"
    );
    assert!(
        stderr(&out).contains("checking the SHA-256"),
        "{}",
        stderr(&out)
    );
    let out = doctor(&env);
    assert!(
        !stderr(&out).contains("checking the SHA-256"),
        "hashed twice"
    );
    corrupt(&models.join(TEST_MODEL_FILE));
    let out = doctor(&env);
    let line = model_line(&out);
    assert!(
        line.starts_with("FAIL") && line.contains("SHA-256"),
        "{line}"
    );
    assert!(failing(&out).contains("model"));
}

fn corrupt(path: &Path) {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.seek(SeekFrom::Start(1_000_000)).unwrap();
    file.write_all(b"cmdai").unwrap();
}
