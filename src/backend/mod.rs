//! The things that turn a prompt into text. One file per provider.
//!
//! A backend is opened inside the engine's thread and lent to it for as long as it stays open:
//! an embedded llama.cpp context borrows its model and is not `Send`, so instead of moving a
//! backend across threads, [`open`] calls back with a `&mut dyn Backend` that lives on the
//! opener's stack. Backends know nothing of the wire protocol.

#[cfg(feature = "embedded")]
pub mod embedded;
pub mod scripted;

use std::path::PathBuf;

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
    #[error("generation failed: {0}")]
    Generate(String),
    #[error("stopped")]
    Stopped,
    #[error("unknown backend {0:?}: expected \"embedded\" or \"scripted\"")]
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
    fn fixed_prompt_tokens(&self) -> u32;
    /// Answers the final user turn, continuing the fixed conversation given at open.
    fn generate(&mut self, ask: &Ask, stop: &dyn StopCheck) -> Result<Generation, BackendError>;
    /// Evaluates a context block ahead of the request that will carry it, so that request pays
    /// for its own part only. Returns the tokens evaluated (0: already kept, or nothing to keep).
    /// `stop` asks to give up early because a request is waiting. Backends that keep nothing
    /// between requests leave this as it is.
    fn prepare(&mut self, context: &str, stop: &dyn StopCheck) -> Result<u32, BackendError> {
        let _ = (context, stop);
        Ok(0)
    }
}

/// Everything needed to open a backend, decided by the daemon's config.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendSpec {
    pub kind: String,
    pub model_path: PathBuf,
    pub threads: u32,
    pub max_tokens: u32,
    /// The conversation before the request: evaluated once and reused.
    pub fixed_turns: Vec<Turn>,
}

/// Opens the backend `spec` names and lends it to `serve` until `serve` returns.
pub fn open(
    spec: &BackendSpec,
    serve: &mut dyn FnMut(&mut dyn Backend),
) -> Result<(), BackendError> {
    match spec.kind.as_str() {
        "embedded" => open_embedded(spec, serve),
        "scripted" => {
            let mut backend = scripted::Scripted::open(spec)?;
            serve(&mut backend);
            Ok(())
        }
        other => Err(BackendError::Unknown(other.into())),
    }
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
