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

/// What a backend produced for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// The model's raw answer, before extraction.
    pub text: String,
    /// Prompt tokens evaluated for this request alone.
    pub prompt_tokens: u32,
    pub output_tokens: u32,
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
    fn generate(
        &mut self,
        user_text: &str,
        stop: &dyn StopCheck,
    ) -> Result<Generation, BackendError>;
}

/// Everything needed to open a backend, decided by the daemon's config.
#[derive(Debug, Clone)]
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
