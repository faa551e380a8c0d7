//! `cmdai config`: every layer of the precedence (default < file < env < flag) shown with
//! where it came from, errors naming the file and line, and `config init`.

use crate::harness::*;

/// `cmdai config show` as `(key, value, origin)` rows.
fn rows(out: &std::process::Output) -> Vec<(String, String, String)> {
    assert_success(out);
    stdout(out)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let mut parts = l.splitn(2, ' ');
            let key = parts.next().unwrap().to_string();
            let rest = parts.next().unwrap_or("").trim();
            let (value, origin) = rest.rsplit_once("  ").unwrap();
            (key, value.trim().to_string(), origin.trim().to_string())
        })
        .collect()
}

#[test]
fn each_key_comes_from_the_highest_layer_that_sets_it() {
    let env = TestEnv::new();
    let file = env.path("home/config.toml");
    env.write_config(
        "model = \"small\"\ntimeout_ms = 9000\nsafety = \"strict\"\nthreads = 2\n\
         idle_unload_minutes = 0.5\n\n[context]\ngit = false\n",
    );
    let out = env
        .command(env!("CARGO_BIN_EXE_cmdai"))
        .args(["config", "show", "--threads", "7"])
        .env("CMDAI_SAFETY", "normal")
        .env("CMDAI_MAX_TOKENS", "40")
        .env("CMDAI_THREADS", "3")
        .output()
        .unwrap();
    let at = |line: u32| format!("{}:{line}", file.display());
    let table: Vec<(&str, &str, String)> = vec![
        ("backend", "\"embedded\"", "default".into()),
        ("model", "\"small\"", at(1)),
        ("threads", "7", "flag --threads".into()),
        ("timeout_ms", "9000", at(2)),
        ("max_tokens", "40", "env CMDAI_MAX_TOKENS".into()),
        ("candidates", "1", "default".into()),
        ("queue", "8", "default".into()),
        ("safety", "\"normal\"", "env CMDAI_SAFETY".into()),
        ("idle_unload_minutes", "0.5", at(5)),
        ("context.listing", "true", "default".into()),
        ("context.git", "false", at(8)),
        ("context.files", "true", "default".into()),
        ("context.system", "true", "default".into()),
        ("context.tools", "true", "default".into()),
    ];
    let want: Vec<(String, String, String)> = table
        .into_iter()
        .map(|(k, v, o)| (k.to_string(), v.to_string(), o))
        .collect();
    assert_eq!(rows(&out), want);
    // Plain `cmdai config` is `show`, without the flag's layer.
    let out = env
        .command(env!("CARGO_BIN_EXE_cmdai"))
        .arg("config")
        .env("CMDAI_THREADS", "3")
        .output()
        .unwrap();
    let threads = rows(&out).into_iter().find(|r| r.0 == "threads").unwrap();
    assert_eq!(
        threads,
        ("threads".into(), "3".into(), "env CMDAI_THREADS".into())
    );
}

/// One line on stderr: `cmdai: FILE: line N: …`, exit 2, for a bad value, an unknown key, a
/// wrong type; and the daemon refuses the same file with the same words.
#[test]
fn bad_values_and_unknown_keys_name_the_file_and_line() {
    let env = TestEnv::new();
    let file = env.path("home/config.toml");
    let cases = [
        (
            "model = \"small\"\n\ncandidates = 7\n",
            "line 3: candidates = 7 is not a number from 1 to 4",
        ),
        (
            "model = \"small\"\nmodle = \"tests\"\n",
            "line 2: unknown field `modle`",
        ),
        (
            "threads = \"four\"\n",
            "line 1: invalid type: string \"four\", expected u32",
        ),
        (
            "[context]\ngit = false\nlisting = 3\n",
            "line 3: invalid type: integer `3`, expected a boolean",
        ),
        ("[context]\ngti = false\n", "line 2: unknown field `gti`"),
        ("queue = 0\n", "line 1: queue = 0 is not at least 1"),
    ];
    for (text, want) in cases {
        env.write_config(text);
        let out = env.cmdai(&["config"]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = stderr(&out);
        let prefix = format!("cmdai: {}: {want}", file.display());
        assert!(
            err.starts_with(&prefix),
            "{text:?}\n got: {err}\nwant: {prefix}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    env.write_config("model = \"small\"\n\ncandidates = 7\n");
    let out = env
        .command(env!("CARGO_BIN_EXE_cmdai-daemon"))
        .args(["--backend", "scripted"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("line 3: candidates = 7"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn init_writes_every_option_commented_and_refuses_to_overwrite() {
    let env = TestEnv::new();
    let file = env.path("home/config.toml");
    let out = env.cmdai(&["config", "init"]);
    assert_success(&out);
    assert_eq!(mode_of(&file), 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    for key in [
        "backend",
        "model",
        "threads",
        "timeout_ms",
        "max_tokens",
        "candidates",
        "queue",
        "safety",
        "listing",
        "git",
        "files",
        "system",
        "tools",
    ] {
        assert!(
            text.contains(&format!("\n# {key} = ")),
            "{key} is not documented"
        );
    }
    // All commented out: every value is still the default.
    let out = env.cmdai(&["config"]);
    assert!(rows(&out).iter().all(|(_, _, origin)| origin == "default"));

    std::fs::write(&file, "model = \"small\"\n").unwrap();
    let out = env.cmdai(&["config", "init"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "model = \"small\"\n"
    );
    let out = env.cmdai(&["config", "init", "--force"]);
    assert_success(&out);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}
