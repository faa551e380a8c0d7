//! The fallback chain end to end: `backend = [...]` in config, a backend that is down, the one
//! after it answering, the note on stderr, status naming both, and one error when all are down.
//!
//! The scripted tests use a loopback port nothing listens on as the down server. The last test
//! is the real thing: a real llama-server as the `openai` backend, killed while the daemon
//! runs, and the embedded tests model taking over.

use crate::harness::*;
use crate::llama::{free_port, llama_server_binary, Server};

fn ask_json(env: &TestEnv, sentence: &str) -> (serde_json::Value, String) {
    let out = env.cmdai(&["ask", "--json", sentence]);
    assert_success(&out);
    let value = serde_json::from_slice(&out.stdout).unwrap();
    (value, stderr(&out))
}

/// The lines of `text` that are the fallback note, which names the backend that answered.
fn notes<'a>(text: &'a str, answered: &str) -> Vec<&'a str> {
    let tail = format!("; {answered} answered");
    text.lines().filter(|l| l.ends_with(&tail)).collect()
}

#[test]
fn a_backend_that_is_down_hands_over_to_the_next_with_one_line_on_stderr() {
    let env = TestEnv::new();
    let port = free_port();
    let rules = env.script("disk => du -sh .\nfiles => ls -la\n");
    env.write_config(&format!(
        "backend = [\"ollama\", \"scripted\"]\nmodel = \"{}\"\n\
         [ollama]\nbase_url = \"http://127.0.0.1:{port}\"\n",
        rules.display()
    ));
    let (answer, err) = ask_json(&env, "show disk usage");
    assert_eq!(answer["cmd"], "du -sh .");
    assert_eq!(answer["backend"], "scripted");
    let notes = notes(&err, "scripted");
    assert_eq!(notes.len(), 1, "one note: {err}");
    let note = notes[0];
    assert!(
        note.starts_with(&format!(
            "cmdai: ollama: http://127.0.0.1:{port} is not answering"
        )),
        "{note}"
    );
    assert!(
        note.contains("ollama serve"),
        "the note says what to do: {note}"
    );
    assert_eq!(answer["fallback"], note.trim_start_matches("cmdai: "));

    // The plain form prints the command alone on stdout, the note on stderr.
    let out = env.cmdai(&["ask", "list the files"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "ls -la\n");
    assert_eq!(self::notes(&stderr(&out), "scripted").len(), 1);

    let status = env.status_json();
    assert_eq!(status["backend"], "scripted");
    assert_eq!(status["chain"], serde_json::json!(["ollama", "scripted"]));
    let text = stdout(&env.cmdai(&["daemon", "status"]));
    assert!(
        text.contains("scripted (tried in order: ollama, scripted)"),
        "{text}"
    );
}

#[test]
fn when_every_backend_is_down_the_error_is_one_line_naming_each() {
    let env = TestEnv::new();
    let (a, b) = (free_port(), free_port());
    env.write_config(&format!(
        "backend = [\"openai\", \"ollama\"]\n\
         [openai]\nbase_url = \"http://127.0.0.1:{a}/v1\"\n\
         [ollama]\nbase_url = \"http://127.0.0.1:{b}\"\n"
    ));
    let out = env.cmdai(&["ask", "show disk usage"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("cmdai: no backend could answer: openai: "),
        "{err}"
    );
    assert!(err.contains(&format!("http://127.0.0.1:{a}/v1")), "{err}");
    assert!(
        err.contains(&format!("; ollama: http://127.0.0.1:{b}")),
        "{err}"
    );
}

#[test]
fn an_unknown_backend_in_the_list_is_refused_with_its_line() {
    let env = TestEnv::new();
    env.write_config("\nbackend = [\"openai\", \"olama\"]\n");
    let out = env.cmdai(&["config"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("config.toml: line 2: backend = [\"openai\", \"olama\"] is not"),
        "{err}"
    );
    let env = TestEnv::new();
    env.write_config("backend = [\"embedded\", \"embedded\"]\n");
    let out = env.cmdai(&["config"]);
    assert_eq!(out.status.code(), Some(2), "a backend named twice");
}

#[test]
fn killing_the_remote_server_falls_back_to_the_embedded_model() {
    let Some(env) = TestEnv::with_test_model() else {
        return;
    };
    let Some(binary) = llama_server_binary() else {
        return;
    };
    let model = test_model().unwrap();
    let mut server = Server::start(&binary, &model, &[], &env.path("llama-server.log"));
    let base_url = server.base_url();
    env.write_config(&format!(
        "backend = [\"openai\", \"embedded\"]\nmodel = \"{}\"\n\
         [openai]\nbase_url = \"{base_url}\"\ntimeout_ms = 120000\n",
        model.display()
    ));
    let (answer, err) = ask_json(&env, "list the files in this directory");
    assert_eq!(answer["backend"], "openai", "{err}");
    assert!(!answer["cmd"].as_str().unwrap().is_empty());
    assert!(notes(&err, "embedded").is_empty(), "{err}");
    assert_eq!(env.status_json()["backend"], "openai");

    server.kill();
    let (answer, err) = ask_json(&env, "show the disk usage of this directory");
    assert_eq!(answer["backend"], "embedded", "{err}");
    assert!(!answer["cmd"].as_str().unwrap().is_empty());
    let notes = notes(&err, "embedded");
    assert_eq!(notes.len(), 1, "one note: {err}");
    assert!(
        notes[0].starts_with(&format!("cmdai: openai: {base_url} is not answering")),
        "{}",
        notes[0]
    );
    let status = env.status_json();
    assert_eq!(status["backend"], "embedded");
    assert_eq!(status["chain"], serde_json::json!(["openai", "embedded"]));
}
