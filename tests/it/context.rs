//! The context the client sends: what `cmdai ask --show-context` prints is what the model reads,
//! and secrets never leave in it.

use std::path::Path;
use std::process::Output;

use crate::harness::*;

const FILE_KEY: &str = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a";
const DOTENV_KEY: &str = "sk-proj-Zq81Lm02Nx93Ko74Jw65Iv56Hu47Gt38";
const INI_KEY: &str = "abcd1234efgh5678ijkl9012mnop3456qrst";
const ENV_KEY: &str = "sk-test-Yy11Xx22Ww33Vv44Uu55Tt66Ss77Rr88";

/// A project folder holding a key in a file name, in `.env` and in `config.ini`.
fn plant(dir: &Path) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join(FILE_KEY), "").unwrap();
    std::fs::write(dir.join(".env"), format!("OPENAI_API_KEY={DOTENV_KEY}\n")).unwrap();
    std::fs::write(
        dir.join("config.ini"),
        format!("[server]\nport = 8080\napi_key = {INI_KEY}\n"),
    )
    .unwrap();
}

fn show_context(env: &TestEnv, dir: &Path, sentence: &str, vars: &[(&str, &str)]) -> Output {
    let mut command = env.command(env!("CARGO_BIN_EXE_cmdai"));
    command
        .args(["ask", "--show-context", sentence])
        .current_dir(dir)
        .env("OPENAI_API_KEY", ENV_KEY);
    for (key, value) in vars {
        command.env(key, value);
    }
    command.output().unwrap()
}

#[test]
fn show_context_prints_the_place_and_never_a_secret() {
    let env = TestEnv::new();
    let dir = env.path("project");
    plant(&dir);
    let out = show_context(&env, &dir, "show config.ini and .env", &[]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        text.starts_with("Entries: config.ini, [redacted], src/\n"),
        "{text}"
    );
    assert!(text.contains("\nHidden: .env\n"), "{text}");
    assert!(
        text.contains("config.ini starts with:\n  [server]\n  port = 8080\n"),
        "{text}"
    );
    assert!(text.contains("api_key = [redacted]"), "{text}");
    assert!(text.contains(".env: contents not shown"), "{text}");
    assert!(
        text.ends_with("Request: show config.ini and .env\n"),
        "{text}"
    );
    let everything = text + &stderr(&out);
    for secret in [FILE_KEY, DOTENV_KEY, INI_KEY, ENV_KEY, "OPENAI_API_KEY"] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked:\n{everything}"
        );
    }
}

#[test]
fn parts_of_the_context_can_be_switched_off() {
    let env = TestEnv::new();
    let dir = env.path("project");
    plant(&dir);
    env.write_config("[context]\nlisting = false\nfiles = false\n");
    let text = stdout(&show_context(&env, &dir, "show config.ini", &[]));
    assert!(
        !text.contains("Entries:") && !text.contains("config.ini starts"),
        "{text}"
    );
    assert!(text.contains("System: "), "{text}");
    let off = show_context(&env, &dir, "show config.ini", &[("CMDAI_CONTEXT", "off")]);
    assert_eq!(stdout(&off), "Request: show config.ini\n");
    env.write_config("[context]\nlisting = \"no\"\n");
    let bad = show_context(&env, &dir, "show config.ini", &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("config.toml"), "{}", stderr(&bad));
}
