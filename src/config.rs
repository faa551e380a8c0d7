//! Daemon settings: built-in default < `config.toml` < `CMDAI_*` environment < command-line flag.
//!
//! Only the daemon and the slow client commands read this; the key-press path never does.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::backend;
use crate::context::ContextOptions;
use crate::paths;
use crate::validate::Safety;

pub const DEFAULT_TIMEOUT_MS: u32 = 30_000;
pub const DEFAULT_MAX_TOKENS: u32 = 96;
/// The greedy answer alone: on a laptop CPU each extra candidate decoded beside it costs a
/// third more time per token, and with the default model a vote among samples picked no better
/// (measured with benches/accuracy.sh). The widgets ask for more on the second key press.
pub const DEFAULT_CANDIDATES: u32 = 1;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The backends to try, in order: the first available one answers (see [`BACKENDS`]).
    pub backend: Vec<String>,
    /// A catalog role (`default`, `small`, `tests`) or a path to any GGUF file.
    pub model: String,
    /// Generation threads; `None` means one per physical core.
    pub threads: Option<u32>,
    /// How long a request may take end to end.
    pub timeout_ms: u32,
    /// Cap on generated tokens: a command is one line.
    pub max_tokens: u32,
    /// Candidates generated per request (1 to 4): the greedy answer plus samples; the most
    /// proposed one that passes the checks wins, the others become alternatives.
    pub candidates: u32,
    /// Jobs that may wait for the engine before new ones are answered `Busy`.
    pub queue: usize,
    /// Which risks are held back rather than inserted.
    pub safety: Safety,
    /// Minutes without a request after which the model is unloaded (its memory given back)
    /// until the next one; 0 keeps it loaded.
    pub idle_unload_minutes: f64,
    /// The `[openai]`, `[ollama]`, `[llama_server]` and `[agent]` tables.
    pub backends: backend::Settings,
    /// Where the settings came from, for messages.
    pub source: PathBuf,
}

/// The file's shape; every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    /// One name or a list, the fallback chain.
    #[serde(default, deserialize_with = "chain")]
    backend: Option<Vec<String>>,
    model: Option<String>,
    threads: Option<u32>,
    timeout_ms: Option<u32>,
    max_tokens: Option<u32>,
    candidates: Option<u32>,
    queue: Option<usize>,
    safety: Option<Safety>,
    /// Whole or fractional: `30` and `0.5` both read.
    #[serde(default, deserialize_with = "minutes")]
    idle_unload_minutes: Option<f64>,
    /// Read by the client alone (`context::options`).
    context: Option<ContextOptions>,
    openai: Option<backend::openai::Settings>,
    ollama: Option<backend::ollama::Settings>,
    llama_server: Option<backend::llama_server::Settings>,
    agent: Option<backend::agent::Settings>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name}={value:?} is not {expected}")]
    Env {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl Default for Config {
    fn default() -> Self {
        Config {
            backend: vec!["embedded".into()],
            model: "default".into(),
            threads: None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            max_tokens: DEFAULT_MAX_TOKENS,
            candidates: DEFAULT_CANDIDATES,
            queue: 8,
            safety: Safety::default(),
            idle_unload_minutes: 0.0,
            backends: backend::Settings::default(),
            source: paths::config_path(),
        }
    }
}

impl Config {
    /// File then environment, over the defaults.
    pub fn load() -> Result<Config, ConfigError> {
        Ok(Config::explain(&Flags::default())?.config)
    }

    /// Flags over environment over file over defaults, with where each value came from.
    pub fn explain(flags: &Flags) -> Result<Explained, ConfigError> {
        let path = paths::config_path();
        let text = read_text(&path)?;
        explain_from(
            &path,
            text.as_deref(),
            |name| std::env::var(name).ok(),
            flags,
        )
    }

    fn apply_file(&mut self, file: FileConfig, origins: &mut Origins, lines: &KeyLines) {
        let FileConfig {
            backend,
            model,
            threads,
            timeout_ms,
            max_tokens,
            candidates,
            queue,
            safety,
            idle_unload_minutes,
            context: _,
            openai,
            ollama,
            llama_server,
            agent,
        } = file;
        let mut set = |key: &'static str, present: bool| {
            if present {
                origins.insert(key, lines.origin(key));
            }
        };
        set("backend", backend.is_some());
        set("model", model.is_some());
        set("threads", threads.is_some());
        set("timeout_ms", timeout_ms.is_some());
        set("max_tokens", max_tokens.is_some());
        set("candidates", candidates.is_some());
        set("queue", queue.is_some());
        set("safety", safety.is_some());
        set("idle_unload_minutes", idle_unload_minutes.is_some());
        self.backend = backend.unwrap_or(std::mem::take(&mut self.backend));
        self.model = model.unwrap_or(std::mem::take(&mut self.model));
        self.threads = threads.or(self.threads);
        self.timeout_ms = timeout_ms.unwrap_or(self.timeout_ms);
        self.max_tokens = max_tokens.unwrap_or(self.max_tokens);
        self.candidates = candidates.unwrap_or(self.candidates);
        self.queue = queue.unwrap_or(self.queue);
        self.safety = safety.unwrap_or(self.safety);
        self.idle_unload_minutes = idle_unload_minutes.unwrap_or(self.idle_unload_minutes);
        let tables = &mut self.backends;
        tables.openai = openai.unwrap_or(std::mem::take(&mut tables.openai));
        tables.ollama = ollama.unwrap_or(std::mem::take(&mut tables.ollama));
        tables.llama_server = llama_server.unwrap_or(std::mem::take(&mut tables.llama_server));
        tables.agent = agent.unwrap_or(std::mem::take(&mut tables.agent));
    }

    fn apply_env(
        &mut self,
        var: impl Fn(&str) -> Option<String>,
        origins: &mut Origins,
    ) -> Result<(), ConfigError> {
        let var = |name| var(name).filter(|v: &String| !v.is_empty());
        let mut from = |key: &'static str, name: &'static str| {
            origins.insert(key, Origin::Env(name));
        };
        if let Some(backend) = var("CMDAI_BACKEND") {
            self.backend = split_chain(&backend);
            from("backend", "CMDAI_BACKEND");
        }
        if let Some(model) = var("CMDAI_MODEL") {
            self.model = model;
            from("model", "CMDAI_MODEL");
        }
        if let Some(threads) = var("CMDAI_THREADS") {
            self.threads = Some(parse_env("CMDAI_THREADS", threads)?);
            from("threads", "CMDAI_THREADS");
        }
        if let Some(timeout) = var("CMDAI_TIMEOUT_MS") {
            self.timeout_ms = parse_env("CMDAI_TIMEOUT_MS", timeout)?;
            from("timeout_ms", "CMDAI_TIMEOUT_MS");
        }
        if let Some(max_tokens) = var("CMDAI_MAX_TOKENS") {
            self.max_tokens = parse_env("CMDAI_MAX_TOKENS", max_tokens)?;
            from("max_tokens", "CMDAI_MAX_TOKENS");
        }
        if let Some(candidates) = var("CMDAI_CANDIDATES") {
            self.candidates = parse_env("CMDAI_CANDIDATES", candidates)?;
            from("candidates", "CMDAI_CANDIDATES");
        }
        if let Some(queue) = var("CMDAI_QUEUE") {
            self.queue = parse_env("CMDAI_QUEUE", queue)?;
            from("queue", "CMDAI_QUEUE");
        }
        if let Some(safety) = var("CMDAI_SAFETY") {
            self.safety = parse_safety(safety)?;
            from("safety", "CMDAI_SAFETY");
        }
        if let Some(minutes) = var("CMDAI_IDLE_UNLOAD_MINUTES") {
            self.idle_unload_minutes = parse_env("CMDAI_IDLE_UNLOAD_MINUTES", minutes)?;
            from("idle_unload_minutes", "CMDAI_IDLE_UNLOAD_MINUTES");
        }
        Ok(())
    }

    fn apply_flags(&mut self, flags: &Flags, origins: &mut Origins) {
        if let Some(backend) = &flags.backend {
            self.backend = split_chain(backend);
            origins.insert("backend", Origin::Flag("--backend"));
        }
        if let Some(model) = &flags.model {
            self.model = model.clone();
            origins.insert("model", Origin::Flag("--model"));
        }
        if flags.threads.is_some() {
            self.threads = flags.threads;
            origins.insert("threads", Origin::Flag("--threads"));
        }
    }

    /// The first setting outside what the daemon can use, as `(key, what is expected)`.
    fn out_of_range(&self) -> Option<(&'static str, &'static str)> {
        let checks = [
            (
                "backend",
                !valid_chain(&self.backend),
                "one or more of \"embedded\", \"openai\", \"ollama\", \"llama-server\", \"claude\", \"codex\", \"gemini\", \"amp\", \"kiro\", \"custom\" (or \"scripted\", for tests), each once",
            ),
            ("threads", self.threads == Some(0), "at least 1"),
            ("timeout_ms", self.timeout_ms == 0, "at least 1"),
            ("max_tokens", self.max_tokens == 0, "at least 1"),
            (
                "candidates",
                !(1..=4).contains(&self.candidates),
                "a number from 1 to 4",
            ),
            ("queue", self.queue == 0, "at least 1"),
            (
                "idle_unload_minutes",
                !(self.idle_unload_minutes >= 0.0 && self.idle_unload_minutes <= 10_000_000.0),
                "a number of minutes, 0 or more (0: never unload)",
            ),
        ];
        checks
            .into_iter()
            .find(|(_, bad, _)| *bad)
            .map(|(key, _, expected)| (key, expected))
    }
}

/// Backends the daemon knows by name.
pub const BACKENDS: &[&str] = &[
    "embedded",
    "openai",
    "ollama",
    "llama-server",
    "claude",
    "codex",
    "gemini",
    "amp",
    "kiro",
    "custom",
    "scripted",
];

/// A chain written on one line: `openai,embedded` (spaces allowed).
fn split_chain(text: &str) -> Vec<String> {
    text.split(',')
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .collect()
}

/// At least one backend, each known and named once.
fn valid_chain(chain: &[String]) -> bool {
    !chain.is_empty()
        && chain
            .iter()
            .enumerate()
            .all(|(i, name)| BACKENDS.contains(&name.as_str()) && !chain[..i].contains(name))
}

/// The `backend` key: a name, or a list of names tried in order.
fn chain<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Chain {
        One(String),
        Many(Vec<String>),
    }
    Ok(Some(match Chain::deserialize(d)? {
        Chain::One(name) => vec![name],
        Chain::Many(names) => names,
    }))
}

/// Command-line choices, the top of the precedence: `cmdai-daemon`'s `--model`, `--backend`,
/// `--threads`, which `cmdai daemon start|restart` pass on and `cmdai config show` previews.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct Flags {
    /// Model to load: default, small, tests, or a path to a GGUF file
    #[arg(long)]
    pub model: Option<String>,
    /// Backends to try in order, comma-separated: embedded (llama.cpp in process), openai,
    /// ollama, llama-server, claude, codex, gemini, amp, kiro, custom
    #[arg(long, value_name = "NAME[,NAME…]")]
    pub backend: Option<String>,
    /// Generation threads [default: one per physical core]
    #[arg(long)]
    pub threads: Option<u32>,
}

impl Flags {
    /// The flags as `cmdai-daemon` arguments, to start one with them.
    pub fn daemon_args(&self) -> Vec<std::ffi::OsString> {
        let mut args = Vec::new();
        let mut push = |flag: &str, value: Option<String>| {
            if let Some(value) = value {
                args.push(flag.into());
                args.push(value.into());
            }
        };
        push("--model", self.model.clone());
        push("--backend", self.backend.clone());
        push("--threads", self.threads.map(|t| t.to_string()));
        args
    }
}

/// Where one setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File { path: PathBuf, line: usize },
    Env(&'static str),
    Flag(&'static str),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File { path, line } => write!(f, "{}:{line}", path.display()),
            Origin::Env(name) => write!(f, "env {name}"),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

type Origins = std::collections::BTreeMap<&'static str, Origin>;

/// Every setting in the order `cmdai config` shows them; `context.*` is the `[context]` table.
pub const KEYS: &[&str] = &[
    "backend",
    "model",
    "threads",
    "timeout_ms",
    "max_tokens",
    "candidates",
    "queue",
    "safety",
    "idle_unload_minutes",
    "context.listing",
    "context.git",
    "context.files",
    "context.system",
    "context.tools",
];

/// The effective settings and where each came from: what `cmdai config show` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Explained {
    pub config: Config,
    pub context: ContextOptions,
    origins: Origins,
}

impl Explained {
    /// Where `key` (one of [`KEYS`]) came from.
    pub fn origin(&self, key: &str) -> &Origin {
        self.origins.get(key).unwrap_or(&Origin::Default)
    }

    /// `key`'s effective value, written as the file would write it.
    pub fn value(&self, key: &str) -> String {
        let c = &self.config;
        let o = &self.context;
        match key {
            "backend" => match c.backend.as_slice() {
                [one] => format!("{one:?}"),
                many => format!("{many:?}"),
            },
            "model" => format!("{:?}", c.model),
            "threads" => c
                .threads
                .map_or_else(|| "auto (one per physical core)".into(), |t| t.to_string()),
            "timeout_ms" => c.timeout_ms.to_string(),
            "max_tokens" => c.max_tokens.to_string(),
            "candidates" => c.candidates.to_string(),
            "queue" => c.queue.to_string(),
            "idle_unload_minutes" => c.idle_unload_minutes.to_string(),
            "safety" => match c.safety {
                Safety::Normal => "\"normal\"".into(),
                Safety::Strict => "\"strict\"".into(),
            },
            "context.listing" => o.listing.to_string(),
            "context.git" => o.git.to_string(),
            "context.files" => o.files.to_string(),
            "context.system" => o.system.to_string(),
            "context.tools" => o.tools.to_string(),
            _ => String::new(),
        }
    }
}

/// The whole precedence over `text` (the file at `path`, if there is one), `env` and `flags`.
/// Pure, so that tests can lay out every layer.
pub fn explain_from(
    path: &Path,
    text: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
    flags: &Flags,
) -> Result<Explained, ConfigError> {
    let mut config = Config {
        source: path.to_path_buf(),
        ..Config::default()
    };
    let mut origins = Origins::new();
    let mut context = ContextOptions::default();
    if let Some(text) = text {
        context = apply_text(&mut config, &mut origins, path, text)?;
    }
    config.apply_env(&env, &mut origins)?;
    if let Some((key, expected)) = config.out_of_range() {
        if let Some(&Origin::Env(name)) = origins.get(key) {
            return Err(ConfigError::Env {
                name,
                value: env(name).unwrap_or_default(),
                expected,
            });
        }
    }
    if matches!(env("CMDAI_CONTEXT").as_deref(), Some("off" | "0" | "none")) {
        context = ContextOptions::all(false);
        for key in KEYS.iter().filter(|k| k.starts_with("context.")) {
            origins.insert(key, Origin::Env("CMDAI_CONTEXT"));
        }
    }
    config.apply_flags(flags, &mut origins);
    Ok(Explained {
        config,
        context,
        origins,
    })
}

/// The file's layer: its values over the defaults, each traced to its line, and its
/// `[context]` table. A value the daemon cannot use is refused with its line.
fn apply_text(
    config: &mut Config,
    origins: &mut Origins,
    path: &Path,
    text: &str,
) -> Result<ContextOptions, ConfigError> {
    let mut file = parse_text(path, text)?;
    let lines = KeyLines::parse(path, text);
    let context = file.context.take().unwrap_or_default();
    for key in KEYS.iter().filter(|k| k.starts_with("context.")) {
        if lines.has(key) {
            origins.insert(key, lines.origin(key));
        }
    }
    config.apply_file(file, origins, &lines);
    let Some((key, expected)) = config.out_of_range() else {
        return Ok(context);
    };
    let shown = Explained {
        config: config.clone(),
        context,
        origins: Origins::new(),
    };
    Err(ConfigError::Parse {
        path: path.into(),
        message: format!(
            "{}{key} = {} is not {expected}",
            lines.prefix(key),
            shown.value(key)
        ),
    })
}

/// The line each key of the file sits on, from the parser's spans.
#[derive(Debug, Default)]
struct KeyLines {
    path: PathBuf,
    lines: std::collections::HashMap<String, usize>,
}

impl KeyLines {
    fn parse(path: &Path, text: &str) -> KeyLines {
        let mut lines = std::collections::HashMap::new();
        if let Ok(root) = toml::de::DeTable::parse(text) {
            for (key, value) in root.get_ref().iter() {
                lines.insert(key.get_ref().to_string(), line_of(text, key.span().start));
                if let toml::de::DeValue::Table(table) = value.get_ref() {
                    for (sub, _) in table.iter() {
                        let name = format!("{}.{}", key.get_ref(), sub.get_ref());
                        lines.insert(name, line_of(text, sub.span().start));
                    }
                }
            }
        }
        KeyLines {
            path: path.into(),
            lines,
        }
    }

    fn has(&self, key: &str) -> bool {
        self.lines.contains_key(key)
    }

    fn origin(&self, key: &str) -> Origin {
        Origin::File {
            path: self.path.clone(),
            line: self.lines.get(key).copied().unwrap_or(1),
        }
    }

    fn prefix(&self, key: &str) -> String {
        self.lines
            .get(key)
            .map(|line| format!("line {line}: "))
            .unwrap_or_default()
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// A number of minutes, written as an integer or a float.
fn minutes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Whole(i64),
        Fraction(f64),
    }
    Ok(Some(match Number::deserialize(d)? {
        Number::Whole(n) => n as f64,
        Number::Fraction(x) => x,
    }))
}

fn parse_env<T: std::str::FromStr>(name: &'static str, value: String) -> Result<T, ConfigError> {
    value.trim().parse().map_err(|_| ConfigError::Env {
        name,
        value,
        expected: "a valid number",
    })
}

/// `CMDAI_SAFETY` takes the same words as the file's `safety` key.
fn parse_safety(value: String) -> Result<Safety, ConfigError> {
    use serde::de::value::{Error, StrDeserializer};
    use serde::de::IntoDeserializer;
    let words: StrDeserializer<'_, Error> = value.trim().into_deserializer();
    Safety::deserialize(words).map_err(|_| ConfigError::Env {
        name: "CMDAI_SAFETY",
        value,
        expected: "`normal` or `strict`",
    })
}

/// The `[context]` table of the config file: which parts of the context the client sends.
pub fn context_options() -> Result<ContextOptions, ConfigError> {
    let file = read_file(&paths::config_path())?;
    Ok(file.and_then(|f| f.context).unwrap_or_default())
}

/// The commented default file `cmdai config init` writes: every option, its default, what it
/// does.
pub const DEFAULT_FILE: &str = include_str!("config/default.toml");

fn read_text(path: &Path) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Read {
            path: path.into(),
            source,
        }),
    }
}

fn read_file(path: &Path) -> Result<Option<FileConfig>, ConfigError> {
    match read_text(path)? {
        Some(text) => parse_text(path, &text).map(Some),
        None => Ok(None),
    }
}

fn parse_text(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.into(),
        message: format!("{}{}", line_prefix(text, e.span()), one_line(e.message())),
    })
}

/// toml's messages may span lines; the user gets one.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `line N: ` for the start of `span`, so the error points into the file.
fn line_prefix(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    span.map(|s| format!("line {}: ", line_of(text, s.start)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> FileConfig {
        toml::from_str(text).unwrap()
    }

    impl Config {
        fn apply_file_text(&mut self, text: &str) {
            let lines = KeyLines::parse(Path::new("c.toml"), text);
            self.apply_file(parse(text), &mut Origins::new(), &lines);
        }

        fn apply_env_only(
            &mut self,
            var: impl Fn(&str) -> Option<String>,
        ) -> Result<(), ConfigError> {
            self.apply_env(var, &mut Origins::new())
        }
    }

    #[test]
    fn file_overrides_defaults_and_env_overrides_file() {
        let mut config = Config::default();
        config.apply_file_text("model = \"small\"\nthreads = 3\n");
        assert_eq!(config.model, "small");
        assert_eq!(config.threads, Some(3));
        config
            .apply_env_only(|name| (name == "CMDAI_MODEL").then(|| "/m.gguf".to_string()))
            .unwrap();
        assert_eq!(config.model, "/m.gguf");
        assert_eq!(config.threads, Some(3));
        assert_eq!(config.backend, ["embedded"]);
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "model = \"small\"\nmodle = \"x\"\n").unwrap();
        let err = read_file(&path).unwrap_err().to_string();
        assert!(err.contains("modle"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn safety_comes_from_the_file_then_the_environment() {
        let mut config = Config::default();
        assert_eq!(config.safety, Safety::Normal);
        config.apply_file_text("safety = \"strict\"\n");
        assert_eq!(config.safety, Safety::Strict);
        config
            .apply_env_only(|name| (name == "CMDAI_SAFETY").then(|| " normal ".to_string()))
            .unwrap();
        assert_eq!(config.safety, Safety::Normal);
    }

    #[test]
    fn a_bad_safety_value_names_the_file_line_and_choices() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "model = \"small\"\nsafety = \"paranoid\"\n").unwrap();
        let err = read_file(&path).unwrap_err().to_string();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("paranoid") && err.contains("strict"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        let err = Config::default()
            .apply_env_only(|name| (name == "CMDAI_SAFETY").then(|| "lax".to_string()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("CMDAI_SAFETY") && err.contains("strict"),
            "{err}"
        );
    }

    #[test]
    fn bad_env_number_is_an_error() {
        let mut config = Config::default();
        let err = config
            .apply_env_only(|name| (name == "CMDAI_THREADS").then(|| "many".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("CMDAI_THREADS"));
    }
    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn each_layer_wins_over_the_ones_below_and_says_so() {
        let path = Path::new("/etc/c.toml");
        let text = "model = \"small\"\nthreads = 3\n\n[context]\ngit = false\n";
        let env = env_of(&[("CMDAI_THREADS", "5"), ("CMDAI_SAFETY", "strict")]);
        let flags = Flags {
            model: Some("/m.gguf".into()),
            ..Flags::default()
        };
        let ex = explain_from(path, Some(text), env, &flags).unwrap();
        let file = |line| Origin::File {
            path: path.into(),
            line,
        };
        let rows: Vec<_> = [
            "model",
            "threads",
            "safety",
            "queue",
            "context.git",
            "context.tools",
        ]
        .iter()
        .map(|k| (*k, ex.value(k), ex.origin(k).clone()))
        .collect();
        assert_eq!(
            rows,
            [
                ("model", "\"/m.gguf\"".into(), Origin::Flag("--model")),
                ("threads", "5".into(), Origin::Env("CMDAI_THREADS")),
                ("safety", "\"strict\"".into(), Origin::Env("CMDAI_SAFETY")),
                ("queue", "8".into(), Origin::Default),
                ("context.git", "false".into(), file(5)),
                ("context.tools", "true".into(), Origin::Default),
            ]
        );
        assert_eq!(file(5).to_string(), "/etc/c.toml:5");
    }

    #[test]
    fn the_default_file_documents_every_key_with_its_default() {
        let path = Path::new("c.toml");
        let commented = explain_from(path, Some(DEFAULT_FILE), |_| None, &Flags::default());
        let commented = commented.unwrap();
        assert!(KEYS.iter().all(|k| *commented.origin(k) == Origin::Default));
        // Uncommenting every `# key = value` line must set every key, to its default (threads
        // excepted: its default is "unset").
        let uncommented: String = DEFAULT_FILE
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.contains(" = ") && !rest.contains('`') => rest,
                _ => l,
            })
            .flat_map(|l| [l, "\n"])
            .collect();
        let ex = explain_from(path, Some(&uncommented), |_| None, &Flags::default()).unwrap();
        for key in KEYS {
            assert!(
                matches!(ex.origin(key), Origin::File { .. }),
                "{key} is not in the default file"
            );
            if *key != "threads" {
                assert_eq!(ex.value(key), commented.value(key), "{key}");
            }
        }
        // The backends' tables, written out in full, say what the code's defaults are.
        assert_eq!(ex.config.backends, backend::Settings::default());
        for table in ["openai", "ollama", "llama_server", "agent", "agent.custom"] {
            assert!(uncommented.contains(&format!("\n[{table}]\n")), "[{table}]");
        }
    }

    #[test]
    fn out_of_range_values_name_the_line_or_the_variable() {
        let path = Path::new("/c.toml");
        let err = explain_from(
            path,
            Some("\n\ncandidates = 9\n"),
            |_| None,
            &Flags::default(),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "/c.toml: line 3: candidates = 9 is not a number from 1 to 4"
        );
        let err = explain_from(
            path,
            Some("backend = \"olama\"\n"),
            |_| None,
            &Flags::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("/c.toml: line 1: backend = \"olama\""),
            "{err}"
        );
        let env = env_of(&[("CMDAI_QUEUE", "0")]);
        let err = explain_from(path, None, env, &Flags::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("CMDAI_QUEUE") && err.contains("at least 1"),
            "{err}"
        );
    }

    #[test]
    fn context_off_in_the_environment_turns_every_part_off() {
        let env = env_of(&[("CMDAI_CONTEXT", "off")]);
        let ex = explain_from(Path::new("c"), None, env, &Flags::default()).unwrap();
        assert_eq!(ex.context, ContextOptions::all(false));
        assert_eq!(*ex.origin("context.git"), Origin::Env("CMDAI_CONTEXT"));
    }
}
