//! `cmdai completions`: each script loads silently in its real shell and completes the
//! subcommands; and every new subcommand's help teaches with examples.

use std::process::Command;

use crate::harness::*;

fn script(env: &TestEnv, shell: &str) -> std::path::PathBuf {
    let out = env.cmdai(&["completions", shell]);
    assert_success(&out);
    let path = env.path(&format!("completion.{shell}"));
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

/// Runs `code` in `shell`; it must exit 0 with nothing on stderr. Returns stdout.
fn run_in(shell: &str, args: &[&str]) -> Option<String> {
    let program = crate::tmux::find_program(shell)?;
    let out = Command::new(program).args(args).output().unwrap();
    assert_success(&out);
    assert_eq!(stderr(&out), "", "{shell} printed errors");
    Some(stdout(&out))
}

#[test]
fn bash_completion_loads_and_completes_subcommands() {
    let env = TestEnv::new();
    let file = script(&env, "bash");
    let code = format!(
        "source '{}'; complete -p cmdai; COMP_WORDS=(cmdai dae); COMP_CWORD=1; \
         _cmdai cmdai dae cmdai; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display()
    );
    if let Some(out) = run_in("bash", &["-c", &code]) {
        assert!(
            out.starts_with("complete ") && out.contains(" -F _cmdai cmdai\n"),
            "{out}"
        );
        assert!(out.lines().any(|l| l == "daemon"), "{out}");
    }
}

#[test]
fn zsh_completion_loads() {
    let env = TestEnv::new();
    let file = script(&env, "zsh");
    let code = format!(
        "autoload -U compinit && compinit -u -D -d '{}' && source '{}' && print $_comps[cmdai]",
        env.path("zcompdump").display(),
        file.display()
    );
    if let Some(out) = run_in("zsh", &["-f", "-c", &code]) {
        assert_eq!(out.trim(), "_cmdai");
    }
}

#[test]
fn fish_completion_loads_and_completes_subcommands() {
    let env = TestEnv::new();
    let file = script(&env, "fish");
    let code = format!(
        "source '{}'; complete --do-complete 'cmdai do'",
        file.display()
    );
    if let Some(out) = run_in("fish", &["--no-config", "-c", &code]) {
        assert!(out.lines().any(|l| l.starts_with("doctor")), "{out}");
    }
}

#[test]
fn new_subcommands_teach_by_example() {
    let env = TestEnv::new();
    for args in [
        &["daemon", "install"][..],
        &["daemon", "uninstall"],
        &["daemon", "restart"],
        &["daemon", "logs"],
        &["config"],
        &["config", "init"],
        &["config", "show"],
        &["doctor"],
        &["completions"],
    ] {
        let mut args = args.to_vec();
        args.push("--help");
        let out = env.cmdai(&args);
        assert_success(&out);
        assert!(stdout(&out).contains("Example"), "{args:?} has no examples");
    }
}
