//! install.sh's shell wiring: one marked block per rc file, idempotent, removed exactly.

use std::path::Path;
use std::process::Command;

use crate::harness::*;

const BEGIN: &str = "# >>> cmdai shell integration >>>";

fn install(home: &Path, prefix: &Path, args: &[&str]) -> std::process::Output {
    let root = env!("CARGO_MANIFEST_DIR");
    // HOME moves into the temp dir; cargo and rustup must still find the real toolchain.
    let real_home = dirs::home_dir().unwrap();
    Command::new(format!("{root}/install.sh"))
        .args(["--prefix", path_str(prefix)])
        .args(args)
        .env("HOME", home)
        .env(
            "CARGO_HOME",
            std::env::var_os("CARGO_HOME").unwrap_or(real_home.join(".cargo").into()),
        )
        .env(
            "RUSTUP_HOME",
            std::env::var_os("RUSTUP_HOME").unwrap_or(real_home.join(".rustup").into()),
        )
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("ZDOTDIR")
        .env("CMDAI_RUNTIME_DIR", home.join("run"))
        .output()
        .unwrap()
}

fn blocks(file: &Path) -> usize {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter(|l| *l == BEGIN)
        .count()
}

#[test]
fn install_wires_each_shell_once_and_uninstall_removes_only_its_block() {
    let env = TestEnv::new();
    let home = env.path("home");
    let prefix = env.path("prefix");
    std::fs::write(home.join(".bashrc"), "alias ll='ls -l'\n").unwrap();
    for _ in 0..2 {
        let out = install(&home, &prefix, &["--no-model"]);
        assert_success(&out);
    }
    let rc_files = [
        ("bash", home.join(".bashrc")),
        ("zsh", home.join(".zshrc")),
        ("fish", home.join(".config/fish/config.fish")),
    ];
    for (shell, rc) in &rc_files {
        if crate::tmux::find_program(shell).is_none() {
            continue;
        }
        assert_eq!(
            blocks(rc),
            1,
            "{shell}: {}",
            std::fs::read_to_string(rc).unwrap_or_default()
        );
        let text = std::fs::read_to_string(rc).unwrap();
        assert!(
            text.contains(&format!("{}/bin/cmdai", prefix.display())),
            "{text}"
        );
    }
    assert!(prefix.join("bin/cmdai").is_file() && prefix.join("bin/cmdai-daemon").is_file());

    let out = install(&home, &prefix, &["--uninstall"]);
    assert_success(&out);
    for (_, rc) in &rc_files {
        assert_eq!(blocks(rc), 0);
    }
    assert_eq!(
        std::fs::read_to_string(home.join(".bashrc")).unwrap(),
        "alias ll='ls -l'\n"
    );
    assert!(!prefix.join("bin/cmdai").exists());
}

#[test]
fn no_shell_leaves_rc_files_alone() {
    let env = TestEnv::new();
    let home = env.path("home");
    let out = install(&home, &env.path("prefix"), &["--no-model", "--no-shell"]);
    assert_success(&out);
    assert_eq!(blocks(&home.join(".bashrc")), 0);
    assert_eq!(blocks(&home.join(".zshrc")), 0);
}
