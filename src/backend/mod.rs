//! The things that turn a prompt into text. One file per provider.
//!
//! A backend is opened inside the engine's thread and lent to it for as long as it stays open:
//! an embedded llama.cpp context borrows its model and is not `Send`, so instead of moving a
//! backend across threads, [`open`] calls back with a `&mut dyn Backend` that lives on the
//! opener's stack. Backends know nothing of the wire protocol.

pub mod agent;
mod chain;
#[cfg(feature = "embedded")]
pub mod embedded;
mod http;
pub mod llama_server;
pub mod ollama;
pub mod openai;
pub mod scripted;

use std::path::PathBuf;

use serde::Deserialize;

use crate::prompt::Turn;

/// What one request asks of a backend: the final user turn, in two parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask<'a> {
    /// The part every request from the same place shares (the client's context block, ending
    /// in a newline or empty). A backend may keep its evaluation for the next request.
    pub context: &'a str,
    /// The rest of the turn: details, the sentence, perhaps a repair line.
    pub request: &'a str,
    /// How many answers to produce: the first greedy, the others sampled. At least one.
    pub candidates: u32,
}

impl<'a> Ask<'a> {
    /// One greedy answer to `request` with no shared part.
    pub fn plain(request: &'a str) -> Ask<'a> {
        Ask {
            context: "",
            request,
            candidates: 1,
        }
    }

    /// What to evaluate ahead of a key press: the place's context block and the line typed so
    /// far (its details and sentence, as `request` will begin; may be empty).
    pub fn ahead(context: &'a str, typed: &'a str) -> Ask<'a> {
        Ask {
            context,
            request: typed,
            candidates: 0,
        }
    }

    /// The whole user turn, for backends that send it in one piece.
    pub fn user_text(&self) -> String {
        format!("{}{}", self.context, self.request)
    }
}

/// What a backend produced for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// The raw answers, before extraction: the greedy one first, then the sampled ones that
    /// finished. Never empty.
    pub texts: Vec<String>,
    /// Prompt tokens evaluated for this request: the shared part only when it was not kept.
    pub prompt_tokens: u32,
    /// Decoding steps: the tokens of the longest answer kept.
    pub output_tokens: u32,
    /// Set by a fallback chain when a backend before the one that answered was down: one
    /// line saying which and why, for the user's terminal.
    pub fallback: Option<String>,
}

impl Generation {
    /// The greedy answer.
    pub fn text(&self) -> &str {
        self.texts.first().map(String::as_str).unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("{0}")]
    Model(#[from] crate::model::ModelError),
    #[error("could not load model {} ({message}); the file may be corrupt: {fix}", path.display())]
    Load {
        path: PathBuf,
        message: String,
        fix: String,
    },
    /// Generation went wrong; the message says where (a remote backend names itself).
    #[error("{0}")]
    Generate(String),
    /// The backend cannot answer now (server down, tool not installed): a chain moves on to
    /// the next one. The message names the backend and says what to do.
    #[error("{0}")]
    Unavailable(String),
    #[error("stopped")]
    Stopped,
    #[error("unknown backend {0:?}: expected one of {names}", names = crate::config::BACKENDS.join(", "))]
    Unknown(String),
    #[error("this build has no embedded backend: rebuild with the `embedded` feature")]
    NotBuilt,
}

/// Why generation is asked to stop early, checked between tokens.
pub trait StopCheck {
    fn should_stop(&self) -> bool;
}

impl<F: Fn() -> bool> StopCheck for F {
    fn should_stop(&self) -> bool {
        self()
    }
}

pub trait Backend {
    /// Short provider name, e.g. `embedded`.
    fn name(&self) -> &str;
    /// What is answering, e.g. the model file name.
    fn model(&self) -> &str;
    /// Tokens of the fixed prompt part, evaluated once when the backend opened.
    /// Remote servers and tools keep their own caches, and report none.
    fn fixed_prompt_tokens(&self) -> u32 {
        0
    }
    /// Answers the final user turn, continuing the fixed conversation given at open.
    fn generate(&mut self, ask: &Ask, stop: &dyn StopCheck) -> Result<Generation, BackendError>;
    /// Evaluates what is known of a request before the key press ([`Ask::ahead`]): the context
    /// block, then the line typed so far, so that the key press pays for the rest only. Returns
    /// the tokens evaluated (0: already kept, or nothing to keep). `stop` asks to give up early
    /// because a request (or a newer line) is waiting. A prepare of a line held already keeps it,
    /// and whatever follows it. Backends that keep nothing between
    /// requests leave this as it is.
    fn prepare(&mut self, ahead: &Ask, stop: &dyn StopCheck) -> Result<u32, BackendError> {
        let _ = (ahead, stop);
        Ok(0)
    }
    /// A cheap check that the backend can answer now (a remote server lists its models, a
    /// tool is on PATH), returning [`BackendError::Unavailable`] when it cannot. A chain asks
    /// at most every 30 seconds. Backends inside the daemon are always available.
    fn available(&mut self) -> Result<(), BackendError> {
        Ok(())
    }
}

/// Everything needed to open a backend, decided by the daemon's config.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendSpec {
    /// The backends to try, in order: the first that is available answers.
    pub chain: Vec<String>,
    /// The GGUF file for the embedded backend and a supervised llama-server.
    pub model_path: PathBuf,
    pub threads: u32,
    pub max_tokens: u32,
    /// The conversation before the request: evaluated once and reused.
    pub fixed_turns: Vec<Turn>,
    /// The `[openai]`, `[ollama]`, `[llama_server]` and `[agent]` tables.
    pub settings: Settings,
}

/// Settings of the backends beyond the embedded one, each a table of the config file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub openai: openai::Settings,
    pub ollama: ollama::Settings,
    pub llama_server: llama_server::Settings,
    pub agent: agent::Settings,
}

/// Opens the backends `spec` chains and lends them, as one, to `serve` until `serve` returns.
/// Fails only when no backend of the chain could be opened.
pub fn open(
    spec: &BackendSpec,
    serve: &mut dyn FnMut(&mut dyn Backend),
) -> Result<(), BackendError> {
    chain::open(spec, serve)
}

/// Opens backend `kind` and asks whether it can answer now, for `cmdai doctor`: what answers
/// (e.g. "openai at http://…, model M"), or why it cannot. A supervised llama-server is not
/// started: its binary and model are looked for.
pub fn probe(kind: &str, spec: &BackendSpec) -> Result<String, BackendError> {
    if kind == "llama-server" {
        return llama_server::probe(spec);
    }
    let mut backend = open_owned(kind, spec)?;
    backend.available()?;
    Ok(format!("{kind}, model {}", backend.model()))
}

/// A backend that lives in a box: every provider but the embedded one, which borrows its
/// model and is lent instead (see [`open`]).
fn open_owned(kind: &str, spec: &BackendSpec) -> Result<Box<dyn Backend>, BackendError> {
    Ok(match kind {
        "scripted" => Box::new(scripted::Scripted::open(spec)?),
        "openai" => Box::new(openai::OpenAi::open(
            &spec.settings.openai,
            &spec.fixed_turns,
            spec.max_tokens,
        )?),
        "ollama" => Box::new(ollama::Ollama::open(
            &spec.settings.ollama,
            &spec.fixed_turns,
            spec.max_tokens,
        )?),
        "llama-server" => Box::new(llama_server::LlamaServer::open(spec)?),
        other if agent::KINDS.contains(&other) => Box::new(agent::Agent::open(other, spec)?),
        other => return Err(BackendError::Unknown(other.into())),
    })
}

#[cfg(feature = "embedded")]
fn open_embedded(
    spec: &BackendSpec,
    serve: &mut dyn FnMut(&mut dyn Backend),
) -> Result<(), BackendError> {
    embedded::open(spec, serve)
}

#[cfg(not(feature = "embedded"))]
fn open_embedded(_: &BackendSpec, _: &mut dyn FnMut(&mut dyn Backend)) -> Result<(), BackendError> {
    Err(BackendError::NotBuilt)
}

/// One thread per physical core: hyperthreads slow llama.cpp's matrix work down.
pub fn default_threads() -> u32 {
    sysinfo::System::physical_core_count()
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(4)
        .clamp(1, 16) as u32
}
