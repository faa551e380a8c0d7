//! Ctrl-G and the `,,` abbreviation in a real fish under tmux.
//!
//! fish runs with `--no-config` (private mode: no history, so no autosuggestions on the last
//! line) and sources a config.fish written per test, which ends with `cmdai init fish | source`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::harness::*;
use crate::tmux::{find_program, last_line, write, Tmux};

const MARKER: &str = "[cmdai...]";

/// fish on a one-line `$ ` prompt, with `before` in config.fish ahead of the cmdai line.
fn start_fish(
    env: &TestEnv,
    before: &str,
    init_flags: &str,
    tmux_env: &[(&str, &str)],
) -> Option<Tmux> {
    let fish = find_program("fish")?;
    let config = env.path("fish/config.fish");
    let text = format!(
        "set -g fish_greeting\n\
         function fish_prompt; echo -n '$ '; end\n\
         {before}\n\
         '{}' init fish {init_flags} | source\n",
        env!("CARGO_BIN_EXE_cmdai")
    );
    write(&config, &text);
    let source = format!("source '{}'", config.display());
    // No history from outside either, should the caller's environment point elsewhere.
    let data = env.path("data");
    let mut vars = vec![("XDG_DATA_HOME", path_str(&data))];
    vars.extend_from_slice(tmux_env);
    let tmux = Tmux::start(
        env,
        &[path_str(&fish), "--no-config", "-i", "-C", &source],
        &vars,
    )?;
    tmux.wait_for("the prompt", |s| last_line(s).starts_with('$'));
    Some(tmux)
}

/// A rule whose command leaves a file behind if it ever runs.
fn marker_rule(env: &TestEnv) -> (PathBuf, String) {
    let marker = env.path("executed-marker");
    scripted_config(env, &format!("list files => touch {}", marker.display()));
    let line = format!("$ touch {}", marker.display());
    (marker, line)
}

#[test]
fn ctrl_g_replaces_the_sentence_with_the_command_and_runs_nothing() {
    let env = TestEnv::new();
    let (marker, command_line) = marker_rule(&env);
    let Some(tmux) = start_fish(&env, "", "", &[]) else {
        return;
    };
    tmux.type_text("list files here");
    tmux.keys(&["C-g"]);
    tmux.wait_line(&command_line);
    tmux.type_text(" -c");
    tmux.wait_line(&format!("{command_line} -c"));
    assert!(!marker.exists(), "the generated command ran");
    assert!(!tmux.screen().contains(MARKER));
}

#[test]
fn ctrl_c_while_waiting_keeps_the_sentence_and_cancels_the_request() {
    let env = TestEnv::new();
    slow_daemon(&env, 1000);
    let Some(tmux) = start_fish(&env, "", "", &[]) else {
        return;
    };
    tmux.type_text("slow thing");
    tmux.keys(&["C-g"]);
    tmux.wait_for("the waiting marker", |s| s.contains(MARKER));
    wait_request_pending(&env);
    tmux.keys(&["C-c"]);
    tmux.wait_line("$ slow thing");
    wait_cancelled(&env, Duration::from_secs(20));
    assert_eq!(
        tmux.last_line(),
        "$ slow thing",
        "a late answer changed the line"
    );
    tmux.type_text(" more");
    tmux.wait_line("$ slow thing more");
    assert!(!tmux.screen().contains(MARKER));
}

/// fish runs the line as typed when an abbreviation function is interrupted on Enter; the
/// marker's generation must happen where Ctrl-C cannot do that, with or without cmdai's Enter.
#[test]
fn ctrl_c_while_the_marker_waits_after_enter_runs_nothing() {
    for before in ["", "set -g CMDAI_NO_BIND 1"] {
        let env = TestEnv::new();
        slow_daemon(&env, 1000);
        let Some(tmux) = start_fish(&env, before, "", &[]) else {
            return;
        };
        // Run as typed, this line would create the file.
        let literal = env.path("slow-sentence-ran");
        let sentence = format!("touch {} ,,", literal.display());
        tmux.type_text(&sentence);
        tmux.keys(&["Enter"]);
        tmux.wait_for("the waiting marker", |s| s.contains(MARKER));
        wait_request_pending(&env);
        tmux.keys(&["C-c"]);
        tmux.wait_line(&format!("$ {sentence}"));
        wait_cancelled(&env, Duration::from_secs(20));
        assert!(!literal.exists(), "{before:?}: the sentence ran");
        assert!(!tmux.screen().contains(MARKER), "{}", tmux.screen());
    }
}

#[test]
fn ctrl_g_on_an_empty_line_runs_the_previous_binding() {
    let env = TestEnv::new();
    let before = "bind \\cg 'commandline -i FALLBACK'";
    let Some(tmux) = start_fish(&env, before, "", &[]) else {
        return;
    };
    tmux.keys(&["C-g"]);
    tmux.wait_line("$ FALLBACK");
}

#[test]
fn daemon_down_keeps_the_sentence_and_shows_why_above_an_intact_prompt() {
    let env = TestEnv::new();
    let before = "function fish_prompt; echo 'cmdai-prompt-top'; echo -n '$ '; end";
    let Some(tmux) = start_fish(&env, before, "", &[("CMDAI_NO_AUTOSTART", "1")]) else {
        return;
    };
    tmux.type_text("list files");
    tmux.keys(&["C-g"]);
    let screen = tmux.wait_for("the message and the prompt below it", |s| {
        s.contains("not running") && last_line(s) == "$ list files"
    });
    let lines: Vec<&str> = screen
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    let n = lines.len();
    assert!(n >= 3, "{screen}");
    assert_eq!(lines[n - 1], "$ list files", "{screen}");
    assert_eq!(lines[n - 2], "cmdai-prompt-top", "{screen}");
    let message = lines
        .iter()
        .position(|l| l.contains("not running"))
        .unwrap();
    assert!(
        message < n - 2,
        "the message must be above the prompt:\n{screen}"
    );
    assert!(lines[message].starts_with("cmdai: "), "{screen}");
    assert!(!screen.contains(MARKER), "{screen}");
    tmux.type_text(" now");
    tmux.wait_line("$ list files now");
}

#[test]
fn a_critical_command_is_held_back_and_the_sentence_stays_with_the_reason() {
    let env = TestEnv::new();
    scripted_config(&env, "clean my home => rm -rf ~");
    let Some(tmux) = start_fish(&env, "", "", &[]) else {
        return;
    };
    tmux.type_text("clean my home");
    tmux.wait_line("$ clean my home");
    tmux.keys(&["C-g"]);
    let screen = tmux.wait_for("the reason above the sentence", |s| {
        s.contains("cmdai: held back a critical command: ") && last_line(s) == "$ clean my home"
    });
    assert!(!screen.contains("rm -rf"), "{screen}");
    assert!(!screen.contains(MARKER), "{screen}");
    tmux.type_text(" now");
    tmux.wait_line("$ clean my home now");
}

#[test]
fn a_critical_command_after_the_marker_leaves_the_line_as_typed() {
    let env = TestEnv::new();
    scripted_config(&env, "clean my home => rm -rf ~");
    let Some(tmux) = start_fish(&env, "", "", &[]) else {
        return;
    };
    tmux.type_text("clean my home ,,");
    tmux.keys(&["Space"]);
    let screen = tmux.wait_for("the reason", |s| {
        s.contains("cmdai: held back a critical command: ")
    });
    assert!(!screen.contains("rm -rf"), "{screen}");
    tmux.type_text("x");
    tmux.wait_line("$ clean my home ,, x");
}

#[test]
fn a_high_command_is_inserted_with_its_warning_in_view() {
    let env = TestEnv::new();
    scripted_config(&env, "publish => git push --force origin main");
    let Some(tmux) = start_fish(&env, "", "", &[]) else {
        return;
    };
    tmux.type_text("publish it");
    tmux.keys(&["C-g"]);
    tmux.wait_for("the warning above the command", |s| {
        s.contains("cmdai: warning: ") && last_line(s) == "$ git push --force origin main"
    });
    tmux.type_text(" -n");
    tmux.wait_line("$ git push --force origin main -n");
}

#[test]
fn vi_insert_mode_gets_the_command_too() {
    let env = TestEnv::new();
    let (marker, command_line) = marker_rule(&env);
    // Without config, no handler re-runs fish_vi_key_bindings when the variable changes, so
    // set the variable first and call it; an empty mode prompt keeps the last line `$ …`.
    let before = "function fish_mode_prompt; end\n\
                  set -g fish_key_bindings fish_vi_key_bindings\n\
                  fish_vi_key_bindings";
    let Some(tmux) = start_fish(&env, before, "", &[]) else {
        return;
    };
    tmux.type_text("list files here");
    tmux.keys(&["C-g"]);
    tmux.wait_line(&command_line);
    tmux.type_text(" -c");
    tmux.wait_line(&format!("{command_line} -c"));
    assert!(!marker.exists(), "the generated command ran");
}

#[test]
fn undo_brings_the_sentence_back() {
    let env = TestEnv::new();
    let (_, command_line) = marker_rule(&env);
    let Some(tmux) = start_fish(&env, "", "", &[]) else {
        return;
    };
    tmux.type_text("list files here");
    tmux.keys(&["C-g"]);
    tmux.wait_line(&command_line);
    tmux.keys(&["C-z"]);
    tmux.wait_line("$ list files here");
    tmux.keys(&["C-g"]);
    tmux.wait_line(&command_line);
    tmux.keys(&["C-_"]);
    tmux.wait_line("$ list files here");
}

#[test]
fn marker_then_space_expands_the_whole_line_and_one_undo_restores_it() {
    let env = TestEnv::new();
    let (marker, command_line) = marker_rule(&env);
    let Some(tmux) = start_fish(&env, "", "", &[]) else {
        return;
    };
    tmux.type_text("list files ,,");
    tmux.keys(&["Space"]);
    tmux.wait_line(&command_line);
    tmux.type_text("x");
    tmux.wait_line(&format!("{command_line} x"));
    tmux.keys(&["C-z"]);
    tmux.wait_line(&command_line);
    tmux.keys(&["C-z"]);
    tmux.wait_line("$ list files ,,");
    assert!(!marker.exists(), "the generated command ran");
}

#[test]
fn marker_then_enter_leaves_the_command_unrun() {
    let env = TestEnv::new();
    let (marker, command_line) = marker_rule(&env);
    let Some(tmux) = start_fish(&env, "", "", &[]) else {
        return;
    };
    tmux.type_text("list files ,,");
    tmux.keys(&["Enter"]);
    tmux.wait_line(&command_line);
    // Also with a space after the marker (here: Space, then undo), where fish itself expands
    // no abbreviation on Enter.
    tmux.keys(&["C-u"]);
    tmux.wait_line("$");
    tmux.type_text("list files ,, ");
    tmux.wait_line(&command_line);
    tmux.keys(&["C-z"]);
    tmux.wait_line("$ list files ,,");
    tmux.keys(&["Enter"]);
    tmux.wait_line(&command_line);
    assert!(!marker.exists(), "the generated command ran");
}

/// With no cmdai binding on Enter, fish's own `execute` expands `,,`; it must not run either.
#[test]
fn marker_then_enter_through_fish_s_own_execute_leaves_the_command_unrun() {
    let env = TestEnv::new();
    let (marker, command_line) = marker_rule(&env);
    let Some(tmux) = start_fish(&env, "set -g CMDAI_NO_BIND 1", "", &[]) else {
        return;
    };
    tmux.type_text("list files ,,");
    tmux.keys(&["Enter"]);
    tmux.wait_line(&command_line);
    // As after Space, the space that followed the marker follows the command.
    tmux.type_text("x");
    tmux.wait_line(&format!("{command_line} x"));
    assert!(!marker.exists(), "the generated command ran");
    assert!(
        !tmux.screen().contains("list files ,,"),
        "{}",
        tmux.screen()
    );
}

#[test]
fn no_abbr_leaves_the_marker_alone() {
    let env = TestEnv::new();
    let (marker, _) = marker_rule(&env);
    let Some(tmux) = start_fish(&env, "", "--no-abbr", &[]) else {
        return;
    };
    tmux.type_text("list files ,,");
    tmux.keys(&["Space"]);
    tmux.type_text("x");
    tmux.wait_line("$ list files ,, x");
    assert!(!marker.exists());
    assert!(
        env.daemon_pid().is_none(),
        "nothing should have asked the daemon"
    );
}

#[test]
fn ctrl_g_with_the_real_tests_model() {
    let Some(env) = TestEnv::with_test_model() else {
        return;
    };
    let Some(tmux) = start_fish(&env, "", "", &[]) else {
        return;
    };
    let sentence = "list files in this directory";
    tmux.type_text(sentence);
    tmux.wait_line(&format!("$ {sentence}"));
    tmux.keys(&["C-g"]);
    // Loading and generating on a busy CPU can outlast the usual 30 seconds.
    let deadline = Instant::now() + Duration::from_secs(120);
    // Settled: the same screen twice, so a line still being drawn does not count. A long
    // command wraps past the pane's width, so the edited line is everything after the last
    // prompt, rows joined.
    let mut previous = String::new();
    let (screen, command) = loop {
        let screen = tmux.screen();
        let command = edited_line(&screen);
        if !screen.contains(MARKER) && command.as_deref().is_some_and(|c| c != sentence) {
            if screen == previous {
                break (screen, command.unwrap_or_default());
            }
            previous = screen.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no command came; screen:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!command.trim().is_empty(), "{screen}");
    assert_ne!(command, sentence, "{screen}");
}

/// The text after the last `$ ` prompt, wrapped rows joined.
fn edited_line(screen: &str) -> Option<String> {
    let rows: Vec<&str> = screen.lines().map(str::trim_end).collect();
    let start = rows.iter().rposition(|row| row.starts_with("$ "))?;
    Some(
        rows[start..]
            .concat()
            .strip_prefix("$ ")?
            .trim_end()
            .to_string(),
    )
}

/// Each prompt sends the directory's context ahead (the fish_prompt event): the key press then
/// evaluates only its sentence.
#[test]
fn each_prompt_prepares_the_context_for_the_key() {
    let env = TestEnv::new();
    env.start_scripted(crate::prepare::RULE);
    let Some(tmux) = start_fish(&env, "", "", &[]) else {
        return;
    };
    crate::prepare::wait_prepared(&env, 1);
    tmux.type_text("list the files");
    tmux.keys(&["C-g"]);
    tmux.wait_line("$ ls -a");
    crate::prepare::assert_only_the_sentence_was_evaluated(&env);
}

#[test]
fn a_prompt_with_the_daemon_down_stays_silent_and_starts_nothing() {
    let env = TestEnv::new();
    scripted_config(&env, crate::prepare::RULE);
    let Some(tmux) = start_fish(&env, "", "", &[]) else {
        return;
    };
    for i in 0..3 {
        tmux.type_text(&format!("echo round-{i}"));
        tmux.keys(&["Enter"]);
        tmux.wait_has_line(&format!("round-{i}"));
    }
    tmux.wait_for("the prompt", |s| last_line(s) == "$");
    crate::prepare::assert_prompts_stayed_silent(&env, &tmux.screen());
}

/// The key on the inserted command brings the next candidate, in fish too, round the cycle.
#[test]
fn the_key_again_cycles_through_the_candidates() {
    let env = TestEnv::new();
    scripted_config(&env, "list the files => ls -a\nlist the files => ls -l\n");
    let Some(tmux) = start_fish(&env, "", "", &[]) else {
        return;
    };
    tmux.type_text("list the files");
    tmux.keys(&["C-g"]);
    tmux.wait_line("$ ls -a");
    tmux.keys(&["C-g"]);
    tmux.wait_for("candidate 2", |s| {
        last_line(s) == "$ ls -l" && s.contains("candidate 2 of 2")
    });
    tmux.keys(&["C-g"]);
    tmux.wait_line("$ ls -a");
}
