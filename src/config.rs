//! Daemon settings: built-in default < `config.toml` < `CMDAI_*` environment < command-line flag.
//!
//! Only the daemon and the slow client commands read this; the key-press path never does.

use std::path::{Path, PathBuf};

use serde::Deserialize;

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
    /// `embedded` (llama.cpp in process) or `scripted` (canned answers, for tests of plumbing).
    pub backend: String,
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
    /// Where the settings came from, for messages.
    pub source: PathBuf,
}

/// The file's shape; every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    backend: Option<String>,
    model: Option<String>,
    threads: Option<u32>,
    timeout_ms: Option<u32>,
    max_tokens: Option<u32>,
    candidates: Option<u32>,
    queue: Option<usize>,
    safety: Option<Safety>,
    /// Read by the client alone (`context::options`).
    context: Option<ContextOptions>,
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
            backend: "embedded".into(),
            model: "default".into(),
            threads: None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            max_tokens: DEFAULT_MAX_TOKENS,
            candidates: DEFAULT_CANDIDATES,
            queue: 8,
            safety: Safety::default(),
            source: paths::config_path(),
        }
    }
}

impl Config {
    /// File then environment, over the defaults.
    pub fn load() -> Result<Config, ConfigError> {
        let path = paths::config_path();
        let mut config = Config {
            source: path.clone(),
            ..Config::default()
        };
        if let Some(file) = read_file(&path)? {
            config.apply_file(file);
        }
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    fn apply_file(&mut self, file: FileConfig) {
        let FileConfig {
            backend,
            model,
            threads,
            timeout_ms,
            max_tokens,
            candidates,
            queue,
            safety,
            context: _,
        } = file;
        self.backend = backend.unwrap_or(std::mem::take(&mut self.backend));
        self.model = model.unwrap_or(std::mem::take(&mut self.model));
        self.threads = threads.or(self.threads);
        self.timeout_ms = timeout_ms.unwrap_or(self.timeout_ms);
        self.max_tokens = max_tokens.unwrap_or(self.max_tokens);
        self.candidates = candidates.unwrap_or(self.candidates).clamp(1, 4);
        self.queue = queue.unwrap_or(self.queue).max(1);
        self.safety = safety.unwrap_or(self.safety);
    }

    fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let var = |name| var(name).filter(|v: &String| !v.is_empty());
        if let Some(backend) = var("CMDAI_BACKEND") {
            self.backend = backend;
        }
        if let Some(model) = var("CMDAI_MODEL") {
            self.model = model;
        }
        if let Some(threads) = var("CMDAI_THREADS") {
            self.threads = Some(parse_env("CMDAI_THREADS", threads)?);
        }
        if let Some(timeout) = var("CMDAI_TIMEOUT_MS") {
            self.timeout_ms = parse_env("CMDAI_TIMEOUT_MS", timeout)?;
        }
        if let Some(candidates) = var("CMDAI_CANDIDATES") {
            let count: u32 = parse_env("CMDAI_CANDIDATES", candidates)?;
            self.candidates = count.clamp(1, 4);
        }
        if let Some(safety) = var("CMDAI_SAFETY") {
            self.safety = parse_safety(safety)?;
        }
        Ok(())
    }
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

fn read_file(path: &Path) -> Result<Option<FileConfig>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.into(),
                source,
            })
        }
    };
    toml::from_str(&text)
        .map(Some)
        .map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: format!("{}{}", line_prefix(&text, e.span()), e.message().trim()),
        })
}

/// `line N: ` for the start of `span`, so the error points into the file.
fn line_prefix(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    span.map(|s| {
        let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
        format!("line {line}: ")
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> FileConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn file_overrides_defaults_and_env_overrides_file() {
        let mut config = Config::default();
        config.apply_file(parse("model = \"small\"\nthreads = 3\n"));
        assert_eq!(config.model, "small");
        assert_eq!(config.threads, Some(3));
        config
            .apply_env(|name| (name == "CMDAI_MODEL").then(|| "/m.gguf".to_string()))
            .unwrap();
        assert_eq!(config.model, "/m.gguf");
        assert_eq!(config.threads, Some(3));
        assert_eq!(config.backend, "embedded");
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
        config.apply_file(parse("safety = \"strict\"\n"));
        assert_eq!(config.safety, Safety::Strict);
        config
            .apply_env(|name| (name == "CMDAI_SAFETY").then(|| " normal ".to_string()))
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
            .apply_env(|name| (name == "CMDAI_SAFETY").then(|| "lax".to_string()))
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
            .apply_env(|name| (name == "CMDAI_THREADS").then(|| "many".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("CMDAI_THREADS"));
    }
}
