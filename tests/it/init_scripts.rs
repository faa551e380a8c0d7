//! Every rendered script parses in its own shell and is silent when sourced.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::harness::*;
use crate::tmux::find_program;

fn rendered(env: &TestEnv, shell: &str) -> String {
    let out = env.cmdai(&["init", shell]);
    assert_success(&out);
    stdout(&out)
}

fn run_with_stdin(program: &str, args: &[&str], input: &str) -> std::process::Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn every_script_parses_in_its_shell() {
    let env = TestEnv::new();
    for shell in ["zsh", "bash", "fish"] {
        let Some(program) = find_program(shell) else {
            continue;
        };
        let script = rendered(&env, shell);
        assert!(!script.trim().is_empty(), "{shell}: empty script");
        // fish 3.6's `--no-execute -c` exits 0 on errors; stdin is checked properly.
        let out = run_with_stdin(program.to_str().unwrap(), &["-n"], &script);
        assert_success(&out);
        assert!(stderr(&out).is_empty(), "{shell}: {}", stderr(&out));
    }
}

#[test]
fn sourcing_prints_nothing() {
    let env = TestEnv::new();
    let cases: [(&str, &[&str], String); 3] = [
        (
            "zsh",
            &["-f", "-i", "-c"],
            "eval \"$(\"$CMDAI\" init zsh)\"".into(),
        ),
        (
            "bash",
            &["--norc", "--noprofile", "-i", "-c"],
            "set -u; eval \"$(\"$CMDAI\" init bash)\"".into(),
        ),
        (
            "fish",
            &["--no-config", "-i", "-c"],
            "\"$CMDAI\" init fish | source".into(),
        ),
    ];
    for (shell, flags, line) in cases {
        let Some(program) = find_program(shell) else {
            continue;
        };
        let out = env
            .command(program.to_str().unwrap())
            .args(flags)
            .arg(&line)
            .env("CMDAI", env!("CARGO_BIN_EXE_cmdai"))
            .env("TERM", "dumb")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_success(&out);
        assert!(
            stdout(&out).is_empty(),
            "{shell} printed {:?}",
            stdout(&out)
        );
        let noise: Vec<_> = stderr(&out)
            .lines()
            // Interactive shells without a terminal warn about job control; that is the
            // shell, not the script.
            .filter(|l| {
                !l.contains("job control") && !l.contains("ioctl") && !l.contains("tcsetattr")
            })
            .map(str::to_string)
            .collect();
        assert!(noise.is_empty(), "{shell} said {noise:?}");
    }
}

#[test]
fn init_substitutes_the_binary_path_and_key() {
    let env = TestEnv::new();
    let out = env.cmdai(&["init", "bash", "--key", "alt-k"]);
    assert_success(&out);
    let script = stdout(&out);
    let bin = std::fs::canonicalize(env!("CARGO_BIN_EXE_cmdai")).unwrap();
    assert!(script.contains(&format!("'{}'", bin.display())), "{script}");
    assert!(script.contains("\\ek"), "{script}");
    let out = env.cmdai(&["init", "zsh", "--key", "hyper-q"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("ctrl-<letter>"), "{}", stderr(&out));
}
