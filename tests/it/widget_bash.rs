//! Ctrl-G in a real bash under tmux: the line becomes the command and never runs, Ctrl-C keeps
//! the sentence, errors leave the prompt intact, an empty line keeps the old binding.

use std::time::Duration;

use crate::harness::*;
use crate::tmux::{find_program, write, Tmux};

const CMDAI: &str = env!("CARGO_BIN_EXE_cmdai");
const MARKER: &str = "[cmdai...]";

/// An interactive bash whose rc file sets `ps1`, runs `before`, then the one init line.
fn start_bash(env: &TestEnv, ps1: &str, before: &str, extra_env: &[(&str, &str)]) -> Option<Tmux> {
    let bash = find_program("bash")?;
    let rc = env.path("bashrc");
    write(
        &rc,
        &format!("PS1='{ps1}'\n{before}\neval \"$('{CMDAI}' init bash)\"\n"),
    );
    let tmux = Tmux::start(
        env,
        &[
            path_str(&bash),
            "--noprofile",
            "--rcfile",
            path_str(&rc),
            "-i",
        ],
        extra_env,
    )?;
    tmux.wait_line("$");
    Some(tmux)
}

/// Types `text` and waits until readline shows it after the prompt.
fn type_line(tmux: &Tmux, text: &str) {
    tmux.type_text(text);
    tmux.wait_line(&format!("$ {text}"));
}

/// Clears the line (the cursor is at its end) and runs a command whose output proves that every
/// earlier key was handled: anything the earlier line could have run has run by now.
fn sync(tmux: &Tmux) {
    tmux.keys(&["C-u"]);
    tmux.wait_line("$");
    tmux.type_text("echo synced-$((40 + 2))");
    tmux.keys(&["Enter"]);
    tmux.wait_has_line("synced-42");
}

/// The line being edited: what follows the last `$ ` prompt, its wrapped rows joined (a long
/// command from the model can wrap).
fn edited_line(screen: &str) -> Option<String> {
    let rows: Vec<&str> = screen.lines().map(str::trim_end).collect();
    let prompt = rows
        .iter()
        .rposition(|r| r.starts_with("$ ") || *r == "$")?;
    Some(
        rows[prompt..]
            .concat()
            .trim_start_matches('$')
            .trim()
            .to_string(),
    )
}

/// The marker sentence becomes the rule's command, and typing goes on at its end.
fn replace_and_append(tmux: &Tmux) {
    type_line(tmux, "make the marker file");
    tmux.keys(&["C-g"]);
    tmux.wait_line("$ touch executed-marker");
    tmux.type_text(" more");
    tmux.wait_line("$ touch executed-marker more");
}

#[test]
fn ctrl_g_turns_the_sentence_into_a_command_that_does_not_run() {
    let env = TestEnv::new();
    scripted_config(&env, "marker file => touch executed-marker");
    let Some(tmux) = start_bash(&env, "$ ", "", &[]) else {
        return;
    };
    replace_and_append(&tmux);
    sync(&tmux);
    assert!(
        !env.path("home/executed-marker").exists(),
        "the generated command ran"
    );
}

#[test]
fn ctrl_g_still_rings_on_an_empty_line_and_cancels_a_history_search() {
    let env = TestEnv::new();
    let Some(tmux) = start_bash(&env, "$ ", "", &[]) else {
        return;
    };
    assert!(!tmux.bell_rang());
    tmux.keys(&["C-g"]);
    wait_until("the bell (abort's)", Duration::from_secs(30), || {
        tmux.bell_rang()
    });
    tmux.type_text("echo hello1");
    tmux.keys(&["Enter"]);
    tmux.wait_has_line("hello1");
    type_line(&tmux, "other words");
    tmux.keys(&["C-r"]);
    tmux.type_text("hel");
    tmux.wait_for("the search", |s| {
        crate::tmux::last_line(s).ends_with("`hel': echo hello1")
    });
    // Readline cancels a search only on a key bound to a command, not to a macro.
    tmux.keys(&["C-g"]);
    tmux.wait_line("$ other words");
    assert!(env.daemon_pid().is_none(), "nothing was asked");
}

#[test]
fn ctrl_c_while_waiting_keeps_the_sentence_and_cancels_the_request() {
    let env = TestEnv::new();
    slow_daemon(&env, 1000);
    let Some(tmux) = start_bash(&env, "$ ", "", &[]) else {
        return;
    };
    type_line(&tmux, "something slow");
    tmux.keys(&["C-g"]);
    tmux.wait_for("the waiting marker", |s| s.contains(MARKER));
    // Ctrl-C before the request reaches the daemon would cancel nothing there.
    wait_request_pending(&env);
    tmux.keys(&["C-c"]);
    tmux.wait_line("$ something slow");
    wait_cancelled(&env, Duration::from_secs(30));
    tmux.type_text(" still here");
    tmux.wait_line("$ something slow still here");
    sync(&tmux);
}

#[test]
fn an_empty_line_keeps_the_users_own_binding() {
    let env = TestEnv::new();
    scripted_config(&env, "list files => ls -la");
    let before = r#"bind -x '"\C-g": READLINE_LINE=FALLBACK; READLINE_POINT=8'"#;
    let Some(tmux) = start_bash(&env, "$ ", before, &[]) else {
        return;
    };
    tmux.keys(&["C-g"]);
    tmux.wait_line("$ FALLBACK");
    tmux.keys(&["C-u"]);
    tmux.wait_line("$");
    type_line(&tmux, "list files");
    tmux.keys(&["C-g"]);
    tmux.wait_line("$ ls -la");
}

#[test]
fn an_error_shows_one_line_and_keeps_sentence_and_two_line_prompt() {
    let env = TestEnv::new();
    let Some(tmux) = start_bash(&env, "top line\\n$ ", "", &[("CMDAI_NO_AUTOSTART", "1")]) else {
        return;
    };
    type_line(&tmux, "list files please");
    tmux.keys(&["C-g"]);
    // The message comes first, the redrawn prompt after it.
    let screen = tmux.wait_for("the message and the prompt", |s| {
        s.contains("not running") && crate::tmux::last_line(s) == "$ list files please"
    });
    let lines: Vec<&str> = screen
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    let message = lines
        .iter()
        .position(|l| l.contains("not running"))
        .unwrap();
    let n = lines.len();
    assert_eq!(lines[n - 1], "$ list files please", "{screen}");
    assert_eq!(lines[n - 2], "top line", "{screen}");
    assert!(
        message < n - 2,
        "the message must sit above the prompt:\n{screen}"
    );
    assert!(lines[message].starts_with("cmdai: "), "{screen}");
    tmux.type_text(" now");
    tmux.wait_line("$ list files please now");
    assert!(env.daemon_pid().is_none(), "autostart was off");
}

#[test]
fn a_critical_command_is_held_back_and_the_sentence_stays_with_the_reason() {
    let env = TestEnv::new();
    scripted_config(&env, "clean my home => rm -rf ~");
    let Some(tmux) = start_bash(&env, "$ ", "", &[]) else {
        return;
    };
    type_line(&tmux, "clean my home");
    tmux.keys(&["C-g"]);
    let screen = tmux.wait_for("the reason above the sentence", |s| {
        s.contains("cmdai: held back a critical command: ")
            && crate::tmux::last_line(s) == "$ clean my home"
    });
    assert!(!screen.contains("rm -rf"), "{screen}");
    tmux.type_text(" now");
    tmux.wait_line("$ clean my home now");
}

#[test]
fn a_high_command_is_inserted_with_its_warning_in_view() {
    let env = TestEnv::new();
    scripted_config(&env, "publish => git push --force origin main");
    let Some(tmux) = start_bash(&env, "$ ", "", &[]) else {
        return;
    };
    type_line(&tmux, "publish it");
    tmux.keys(&["C-g"]);
    tmux.wait_for("the warning above the command", |s| {
        s.contains("cmdai: warning: ")
            && crate::tmux::last_line(s) == "$ git push --force origin main"
    });
    tmux.type_text(" -n");
    tmux.wait_line("$ git push --force origin main -n");
    sync(&tmux);
}

#[test]
fn vi_insert_mode_works_like_emacs_mode() {
    let env = TestEnv::new();
    scripted_config(&env, "marker file => touch executed-marker");
    let Some(tmux) = start_bash(&env, "$ ", "set -o vi", &[]) else {
        return;
    };
    replace_and_append(&tmux);
    // Still in insert mode: Ctrl-_ (vi-undo) takes back the typing, then the replacement.
    tmux.keys(&["C-_"]);
    tmux.wait_line("$ touch executed-marker");
    tmux.keys(&["C-_"]);
    tmux.wait_line("$ make the marker file");
    sync(&tmux);
    assert!(!env.path("home/executed-marker").exists());
}

#[test]
fn undo_brings_the_sentence_back() {
    let env = TestEnv::new();
    scripted_config(&env, "list files => ls -la");
    let Some(tmux) = start_bash(&env, "$ ", "", &[]) else {
        return;
    };
    type_line(&tmux, "list files please");
    tmux.keys(&["C-g"]);
    tmux.wait_line("$ ls -la");
    tmux.keys(&["C-_"]);
    tmux.wait_line("$ list files please");
    tmux.keys(&["C-g"]);
    tmux.wait_line("$ ls -la");
    tmux.keys(&["C-x", "C-u"]);
    tmux.wait_line("$ list files please");
}

#[test]
fn no_bind_defines_the_widget_and_leaves_the_key_alone() {
    let env = TestEnv::new();
    let Some(tmux) = start_bash(&env, "$ ", "CMDAI_NO_BIND=1", &[]) else {
        return;
    };
    type_line(&tmux, "list files");
    tmux.keys(&["C-g"]);
    tmux.type_text(" x");
    tmux.wait_line("$ list files x");
    tmux.keys(&["C-u"]);
    tmux.wait_line("$");
    tmux.type_text(
        r#"echo "[$(bind -p | grep -F '"\C-g"')|$(bind -X | grep -c cmdai)|$(type -t __cmdai_widget)]""#,
    );
    tmux.keys(&["Enter"]);
    tmux.wait_has_line(r#"["\C-g": abort|0|function]"#);
    assert!(env.daemon_pid().is_none());
}

#[test]
fn the_tests_model_turns_a_sentence_into_a_command() {
    let Some(env) = TestEnv::with_test_model() else {
        return;
    };
    let Some(tmux) = start_bash(&env, "$ ", "", &[]) else {
        return;
    };
    let sentence = "list files in this directory";
    type_line(&tmux, sentence);
    tmux.keys(&["C-g"]);
    // The key starts the daemon, which loads the model: beside the rest of the suite that
    // alone has taken over 5 s, and the whole wait 27 s.
    let limit = std::time::Duration::from_secs(90);
    let screen = tmux.wait_for_within(limit, "a generated command", |s| {
        !s.contains(MARKER) && edited_line(s).is_some_and(|l| !l.is_empty() && l != sentence)
    });
    assert!(!screen.contains("cmdai:"), "{screen}");
    eprintln!("generated: {}", edited_line(&screen).unwrap());
}

/// The key on the inserted command brings the next candidate, in bash too.
#[test]
fn the_key_again_cycles_through_the_candidates() {
    let env = TestEnv::new();
    scripted_config(&env, "list the files => ls -a\nlist the files => ls -l\n");
    let Some(tmux) = start_bash(&env, "$ ", "", &[]) else {
        return;
    };
    tmux.type_text("list the files");
    tmux.wait_line("$ list the files");
    tmux.keys(&["C-g"]);
    tmux.wait_line("$ ls -a");
    tmux.keys(&["C-g"]);
    tmux.wait_line("$ ls -l");
    tmux.keys(&["C-g"]);
    tmux.wait_line("$ ls -a");
}

/// Each prompt sends the directory's context ahead (PROMPT_COMMAND, after the user's own, with
/// `$?` kept for it): the key press then evaluates only its sentence.
#[test]
fn each_prompt_prepares_the_context_for_the_key() {
    let env = TestEnv::new();
    env.start_scripted(crate::prepare::RULE);
    let before = "PROMPT_COMMAND='__user_status=$?;'";
    let Some(tmux) = start_bash(&env, "$ ", before, &[]) else {
        return;
    };
    crate::prepare::wait_prepared(&env, 1);
    type_line(&tmux, "list the files");
    tmux.keys(&["C-g"]);
    tmux.wait_line("$ ls -a");
    crate::prepare::assert_only_the_sentence_was_evaluated(&env);
    // The user's PROMPT_COMMAND still runs first and still sees the command's status.
    tmux.keys(&["C-u"]);
    tmux.wait_line("$");
    type_line(&tmux, "(exit 7)");
    tmux.keys(&["Enter"]);
    tmux.wait_line("$");
    type_line(&tmux, "echo status-$__user_status");
    tmux.keys(&["Enter"]);
    tmux.wait_has_line("status-7");
}

#[test]
fn a_prompt_with_the_daemon_down_stays_silent_and_starts_nothing() {
    let env = TestEnv::new();
    scripted_config(&env, crate::prepare::RULE);
    let Some(tmux) = start_bash(&env, "$ ", "", &[]) else {
        return;
    };
    for i in 0..3 {
        type_line(&tmux, &format!("echo round-{i}"));
        tmux.keys(&["Enter"]);
        tmux.wait_has_line(&format!("round-{i}"));
    }
    tmux.wait_line("$");
    crate::prepare::assert_prompts_stayed_silent(&env, &tmux.screen());
}
