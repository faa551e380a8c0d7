//! Model files whose SHA-256 was checked, remembered by size and modification time so that
//! only the first doctor run pays for hashing.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::model::{self, ModelError, ModelSpec};
use crate::paths;

fn record_path() -> PathBuf {
    paths::state_dir().join("verified-models")
}

fn stamp(path: &Path, spec: &ModelSpec) -> Option<String> {
    let meta = path.metadata().ok()?;
    let mtime = meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128;
    Some(format!(
        "{} {} {mtime} {}",
        spec.sha256,
        meta.len(),
        path.display()
    ))
}

pub fn check(path: &Path, spec: &ModelSpec) -> Result<(), ModelError> {
    let stamp = stamp(path, spec);
    let records = std::fs::read_to_string(record_path()).unwrap_or_default();
    if stamp
        .as_ref()
        .is_some_and(|s| records.lines().any(|l| l == s))
    {
        return Ok(());
    }
    eprintln!("cmdai: checking the SHA-256 of {} (once)…", path.display());
    model::verify(path, spec)?;
    if let Some(stamp) = stamp {
        // Remembering is an optimisation: a failure to write only costs time next run.
        let _ = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(paths::state_dir());
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(record_path())
            .and_then(|mut f| writeln!(f, "{stamp}"));
    }
    Ok(())
}
