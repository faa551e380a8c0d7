//! Ctrl-G in a real zsh under tmux.
//!
//! Each test writes a `.zshrc` into its own ZDOTDIR (`zsh -d` skips the system rc files) that
//! sets the prompt and evals `cmdai init zsh`, then types and reads the screen.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::*;
use crate::tmux::{find_program, has_line, last_line, write, Tmux};

const PROMPT: &str = "PS1='$ '";
const TWO_LINE_PROMPT: &str = "PS1=$'cmdai-top-line\\n$ '";
/// A user widget bound to Ctrl-G before cmdai is sourced, to see the old binding survive.
const FALLBACK_BINDING: &str = "insert-fallback() { LBUFFER+=FALLBACK }\n\
                                zle -N insert-fallback\n\
                                bindkey '^G' insert-fallback";

/// Starts an interactive zsh whose rc file runs `before_init`, then cmdai's init line, and
/// waits for its prompt. `None` (skip) when zsh or tmux is missing.
fn start_zsh(
    env: &TestEnv,
    prompt: &str,
    before_init: &str,
    extra_env: &[(&str, &str)],
) -> Option<Tmux> {
    let zsh = find_program("zsh")?;
    let zdotdir = env.path("zdotdir");
    let rc = format!(
        "{prompt}\n{before_init}\neval \"$('{}' init zsh)\"\n",
        env!("CARGO_BIN_EXE_cmdai")
    );
    write(&zdotdir.join(".zshrc"), &rc);
    let mut vars = vec![("ZDOTDIR", path_str(&zdotdir))];
    vars.extend_from_slice(extra_env);
    let tmux = Tmux::start(env, &[path_str(&zsh), "-d", "-i"], &vars)?;
    tmux.wait_line("$");
    Some(tmux)
}

/// A rule whose command would leave a file behind if the widget ever ran it.
fn marker_rule(env: &TestEnv) -> (String, PathBuf) {
    let marker = env.path("executed-marker");
    let command = format!("touch {}", marker.display());
    scripted_config(env, &format!("list the files => {command}"));
    (command, marker)
}

/// Asks for the marker rule's command and checks it lands on the line, unexecuted, with the
/// cursor at its end.
fn sentence_becomes_command(tmux: &Tmux, command: &str, marker: &Path) {
    tmux.type_text("list the files");
    tmux.wait_line("$ list the files");
    tmux.keys(&["C-g"]);
    tmux.wait_line(&format!("$ {command}"));
    tmux.type_text(" -c");
    tmux.wait_line(&format!("$ {command} -c"));
    // Throw the line away and run something: once its output shows, zsh has handled every
    // key before it, so a command that had run would have left the marker.
    tmux.keys(&["C-c"]);
    // Typeahead sent while zsh handles the interrupt may be lost: wait for the fresh prompt.
    tmux.wait_line("$");
    tmux.type_text("echo probe-$((20 + 22))");
    tmux.keys(&["Enter"]);
    tmux.wait_has_line("probe-42");
    assert!(!marker.exists(), "the generated command was executed");
}

#[test]
fn ctrl_g_turns_the_sentence_into_a_command_without_running_it() {
    let env = TestEnv::new();
    let (command, marker) = marker_rule(&env);
    let Some(tmux) = start_zsh(&env, PROMPT, "", &[]) else {
        return;
    };
    sentence_becomes_command(&tmux, &command, &marker);
}

#[test]
fn vi_insert_mode_works_like_emacs_mode() {
    let env = TestEnv::new();
    let (command, marker) = marker_rule(&env);
    let Some(tmux) = start_zsh(&env, PROMPT, "bindkey -v", &[]) else {
        return;
    };
    sentence_becomes_command(&tmux, &command, &marker);
}

#[test]
fn undo_brings_the_sentence_back() {
    let env = TestEnv::new();
    let (command, _) = marker_rule(&env);
    let Some(tmux) = start_zsh(&env, PROMPT, "", &[]) else {
        return;
    };
    tmux.type_text("list the files");
    tmux.keys(&["C-g"]);
    tmux.wait_line(&format!("$ {command}"));
    tmux.keys(&["C-_"]);
    tmux.wait_line("$ list the files");
    tmux.keys(&["C-g"]);
    tmux.wait_line(&format!("$ {command}"));
    tmux.keys(&["C-x", "u"]);
    tmux.wait_line("$ list the files");
}

/// zsh folds a vi insert session into one undo step; the widget must split it off, or `u`
/// would clear the line instead of restoring the sentence.
#[test]
fn undo_in_vi_mode_brings_the_sentence_back() {
    let env = TestEnv::new();
    let (command, _) = marker_rule(&env);
    let Some(tmux) = start_zsh(&env, PROMPT, "bindkey -v", &[]) else {
        return;
    };
    tmux.type_text("list the files");
    tmux.keys(&["C-g"]);
    tmux.wait_line(&format!("$ {command}"));
    tmux.keys(&["Escape", "u"]);
    tmux.wait_line("$ list the files");
}

#[test]
fn an_empty_line_runs_the_keys_previous_binding() {
    let env = TestEnv::new();
    let Some(tmux) = start_zsh(&env, PROMPT, FALLBACK_BINDING, &[]) else {
        return;
    };
    tmux.keys(&["C-g"]);
    tmux.wait_line("$ FALLBACK");
    tmux.keys(&["C-c"]);
    tmux.wait_line("$");
    // Blanks are empty too.
    tmux.type_text("  ");
    tmux.keys(&["C-g"]);
    tmux.wait_line("$   FALLBACK");
    assert!(env.daemon_pid().is_none(), "an empty line asked the daemon");
}

#[test]
fn no_bind_defines_the_widget_but_leaves_the_key_alone() {
    let env = TestEnv::new();
    let before = format!("{FALLBACK_BINDING}\nCMDAI_NO_BIND=1");
    let Some(tmux) = start_zsh(&env, PROMPT, &before, &[]) else {
        return;
    };
    tmux.type_text("list the files");
    tmux.keys(&["C-g"]);
    tmux.wait_line("$ list the filesFALLBACK");
    tmux.keys(&["C-c"]);
    tmux.wait_line("$");
    tmux.type_text("zle -l __cmdai_widget && echo widget-defined");
    tmux.keys(&["Enter"]);
    tmux.wait_has_line("widget-defined");
    assert!(
        env.daemon_pid().is_none(),
        "an unbound key asked the daemon"
    );
}

#[test]
fn an_error_keeps_the_sentence_and_shows_one_line_under_an_intact_prompt() {
    let env = TestEnv::new();
    let Some(tmux) = start_zsh(&env, TWO_LINE_PROMPT, "", &[("CMDAI_NO_AUTOSTART", "1")]) else {
        return;
    };
    tmux.type_text("list the files");
    tmux.keys(&["C-g"]);
    let screen = tmux.wait_for("the error message", |s| {
        s.lines()
            .any(|l| l.starts_with("cmdai: ") && l.contains("not running"))
    });
    let lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
    let top: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i] == "cmdai-top-line")
        .collect();
    assert_eq!(top.len(), 1, "the prompt was drawn twice:\n{screen}");
    assert_eq!(lines[top[0] + 1], "$ list the files", "{screen}");
    assert!(lines[top[0] + 2].contains("not running"), "{screen}");
    // The line is still live: typing extends the sentence.
    tmux.type_text(" now");
    tmux.wait_has_line("$ list the files now");
    assert!(env.daemon_pid().is_none());
}

#[test]
fn a_critical_command_is_held_back_and_the_sentence_stays_with_the_reason() {
    let env = TestEnv::new();
    scripted_config(&env, "clean my home => rm -rf ~");
    let Some(tmux) = start_zsh(&env, PROMPT, "", &[]) else {
        return;
    };
    tmux.type_text("clean my home");
    tmux.wait_line("$ clean my home");
    tmux.keys(&["C-g"]);
    let screen = tmux.wait_for("the reason", |s| {
        s.contains("cmdai: held back a critical command: ")
    });
    assert!(has_line(&screen, "$ clean my home"), "{screen}");
    assert!(!screen.contains("rm -rf"), "{screen}");
    tmux.type_text(" now");
    tmux.wait_has_line("$ clean my home now");
}

#[test]
fn a_high_command_is_inserted_with_its_warning_in_view() {
    let env = TestEnv::new();
    scripted_config(&env, "publish => git push --force origin main");
    let Some(tmux) = start_zsh(&env, PROMPT, "", &[]) else {
        return;
    };
    tmux.type_text("publish it");
    tmux.keys(&["C-g"]);
    tmux.wait_for("the command and the warning", |s| {
        has_line(s, "$ git push --force origin main") && s.contains("cmdai: warning: ")
    });
    tmux.type_text(" -n");
    tmux.wait_has_line("$ git push --force origin main -n");
}

#[test]
fn ctrl_c_while_thinking_keeps_the_sentence_and_cancels_the_work() {
    let env = TestEnv::new();
    // Ten words at three seconds each: far longer than it takes to press Ctrl-C.
    slow_daemon(&env, 3000);
    let slow = [("CMDAI_SCRIPTED_TOKEN_MS", "3000")];
    let Some(tmux) = start_zsh(&env, PROMPT, "", &slow) else {
        return;
    };
    tmux.type_text("slow sentence");
    tmux.keys(&["C-g"]);
    tmux.wait_for("the thinking marker", |s| s.contains("cmdai: thinking"));
    wait_request_pending(&env);
    tmux.keys(&["C-c"]);
    tmux.wait_for("the cancelled message", |s| {
        has_line(s, "$ slow sentence") && s.contains("cmdai: cancelled")
    });
    tmux.type_text(" kept");
    tmux.wait_has_line("$ slow sentence kept");
    wait_until(
        "the daemon to count the request as cancelled",
        Duration::from_secs(30),
        || env.status_json()["requests_cancelled"] == 1,
    );
}

/// Types a sentence, presses the key and waits up to `limit` for a real model's command: any
/// line that is neither the sentence nor empty, once the widget has stopped thinking.
fn key_gives_some_command(tmux: &Tmux, limit: Duration, what: &str) {
    let sentence = "$ list files in this directory";
    tmux.type_text(&sentence[2..]);
    tmux.wait_line(sentence);
    tmux.keys(&["C-g"]);
    tmux.wait_for_within(limit, what, |s| {
        let line = last_line(s);
        !s.contains("cmdai: thinking")
            && line.len() > 2
            && line.starts_with("$ ")
            && line != sentence
    });
}

#[test]
fn ctrl_g_with_the_real_tests_model() {
    let Some(env) = TestEnv::with_test_model() else {
        return;
    };
    let Some(tmux) = start_zsh(&env, PROMPT, "", &[]) else {
        return;
    };
    key_gives_some_command(&tmux, Duration::from_secs(30), "a generated command");
}

/// The same key with a real llama-server as the `openai` backend: the sentence becomes the
/// server's command, and status names the backend.
#[test]
fn ctrl_g_with_a_real_llama_server_as_the_openai_backend() {
    let Some(env) = TestEnv::with_test_model() else {
        return;
    };
    let Some(binary) = crate::llama::llama_server_binary() else {
        return;
    };
    let model = test_model().unwrap();
    let server = crate::llama::Server::start(&binary, &model, &[], &env.path("llama-server.log"));
    env.write_config(&format!(
        "backend = \"openai\"\ntimeout_ms = 120000\n\
         [openai]\nbase_url = \"{}\"\ntimeout_ms = 120000\n",
        server.base_url()
    ));
    let Some(tmux) = start_zsh(&env, PROMPT, "", &[]) else {
        return;
    };
    key_gives_some_command(&tmux, Duration::from_secs(150), "a command from the server");
    let status = env.status_json();
    assert_eq!(status["backend"], "openai");
    assert_eq!(status["requests_served"], 1);
}

/// Three candidates: the key on the inserted command brings the next, round the cycle, with
/// its place shown; an edited line is a new sentence again.
#[test]
fn the_key_again_cycles_through_the_candidates() {
    let env = TestEnv::new();
    scripted_config(
        &env,
        "list the files => ls -a\nlist the files => ls -l\nlist the files => ls -S\n",
    );
    let Some(tmux) = start_zsh(&env, PROMPT, "", &[]) else {
        return;
    };
    tmux.type_text("list the files");
    tmux.wait_line("$ list the files");
    tmux.keys(&["C-g"]);
    tmux.wait_line("$ ls -a");
    for (next, place) in [("ls -l", 2), ("ls -S", 3), ("ls -a", 1)] {
        tmux.keys(&["C-g"]);
        tmux.wait_for(&format!("candidate {place}"), |s| {
            has_line(s, &format!("$ {next}")) && s.contains(&format!("candidate {place} of 3"))
        });
    }
}

/// Each prompt sends the directory's context ahead (precmd), and each change of the line the
/// line so far (line-pre-redraw): the key press then evaluates less than its sentence. A
/// prompt with the daemon down prints nothing and starts nothing.
#[test]
fn each_prompt_and_each_change_of_the_line_prepares_for_the_key() {
    let env = TestEnv::new();
    env.start_scripted(crate::prepare::RULE);
    let Some(tmux) = start_zsh(&env, PROMPT, "", &[]) else {
        return;
    };
    crate::prepare::wait_prepared(&env, 1);
    tmux.type_text("list the files");
    tmux.wait_line("$ list the files");
    // The prompt's prepare and at least one of the line as it was typed.
    crate::prepare::wait_prepared(&env, 2);
    tmux.keys(&["C-g"]);
    tmux.wait_line("$ ls -a");
    let status = env.status_json();
    assert_eq!(status["requests_served"], 1, "{status}");
    assert!(
        status["last_prompt_tokens"].as_u64() < Some(crate::prepare::REQUEST_WORDS),
        "the key press evaluated its whole sentence: {status}"
    );
}

/// The pids of the `cmdai prepare --follow` helpers whose parent is `shell`.
fn helpers_of(shell: u32) -> Vec<u32> {
    children_of(shell, |pid, _| {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        cmdline.split(|b| *b == 0).any(|arg| arg == b"--follow")
    })
}

/// The prepares go through one helper per shell, fed through a pipe, so a key stroke starts
/// no process: the same helper through prompts, lines, Ctrl-C and Ctrl-Z at the prompt, gone
/// once the shell is.
#[test]
fn one_helper_per_shell_carries_the_prepares_and_leaves_with_it() {
    let env = TestEnv::new();
    env.start_scripted(crate::prepare::RULE);
    let Some(tmux) = start_zsh(&env, PROMPT, "", &[]) else {
        return;
    };
    let shell = tmux.pane_pid();
    crate::prepare::wait_prepared(&env, 1);
    let helpers = helpers_of(shell);
    assert_eq!(helpers.len(), 1, "{helpers:?}");
    tmux.type_text("echo one");
    tmux.keys(&["Enter"]);
    tmux.wait_has_line("one");
    tmux.type_text("list the");
    tmux.wait_line("$ list the");
    tmux.keys(&["C-c"]);
    tmux.wait_line("$");
    tmux.keys(&["C-z"]);
    tmux.type_text("list the files");
    tmux.wait_line("$ list the files");
    tmux.keys(&["C-g"]);
    tmux.wait_line("$ ls -a");
    assert_eq!(helpers_of(shell), helpers, "the helper was replaced");
    let status = env.status_json();
    assert!(
        status["last_prompt_tokens"].as_u64() < Some(crate::prepare::REQUEST_WORDS),
        "the key press evaluated its whole sentence: {status}"
    );
    tmux.kill();
    wait_gone(helpers[0]);
}

#[test]
fn a_prompt_with_the_daemon_down_stays_silent_and_starts_nothing() {
    let env = TestEnv::new();
    scripted_config(&env, crate::prepare::RULE);
    let Some(tmux) = start_zsh(&env, PROMPT, "", &[]) else {
        return;
    };
    for i in 0..3 {
        tmux.type_text(&format!("echo round-{i}"));
        tmux.keys(&["Enter"]);
        tmux.wait_has_line(&format!("round-{i}"));
    }
    tmux.wait_line("$");
    crate::prepare::assert_prompts_stayed_silent(&env, &tmux.screen());
}

/// CMDAI_NO_PREPARE=1 before the init line: no prompt sends anything.
#[test]
fn no_prepare_turns_the_prompt_hook_off() {
    let env = TestEnv::new();
    env.start_scripted(crate::prepare::RULE);
    let Some(tmux) = start_zsh(&env, PROMPT, "CMDAI_NO_PREPARE=1", &[]) else {
        return;
    };
    tmux.type_text("list the files");
    tmux.wait_line("$ list the files");
    tmux.keys(&["C-g"]);
    tmux.wait_line("$ ls -a");
    let status = env.status_json();
    assert_eq!(status["contexts_prepared"], 0, "{status}");
    assert!(
        status["last_prompt_tokens"].as_u64() > Some(crate::prepare::REQUEST_WORDS),
        "{status}"
    );
}
