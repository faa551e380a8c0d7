//! Is this model file usable? A fast check before every load, and a full one against the
//! catalog's SHA-256 after a download or on request.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::catalog::{spec_for_path, ModelSpec};
use super::error::{fix_for, ModelError};
use super::sink::hex;

const GGUF_MAGIC: &[u8; 4] = b"GGUF";

/// Fast pre-load check, without hashing: the file exists, is a regular file and starts with
/// the GGUF magic; when its file name is a catalog file, its size matches too.
pub fn check_file(path: &Path) -> Result<(), ModelError> {
    let spec = spec_for_path(path);
    let len = regular_file_len(path, spec)?;
    if let Some(spec) = spec {
        check_len(path, len, spec)?;
    }
    check_magic(path, spec)
}

/// Full check: size and SHA-256 against `spec`. Reads the whole file.
pub fn verify(path: &Path, spec: &ModelSpec) -> Result<(), ModelError> {
    let len = regular_file_len(path, Some(spec))?;
    check_len(path, len, spec)?;
    let file = File::open(path).map_err(ModelError::io("open", path))?;
    let got = sha256_of(file).map_err(ModelError::io("read", path))?;
    check_hash(path, &got, spec)
}

pub(crate) fn check_len(path: &Path, have: u64, spec: &ModelSpec) -> Result<(), ModelError> {
    let (want, fix) = (spec.bytes, fix_for(Some(spec)));
    let path = path.to_path_buf();
    match have {
        _ if have == want => Ok(()),
        _ if have < want => Err(ModelError::Truncated {
            path,
            have,
            want,
            fix,
        }),
        _ => Err(ModelError::WrongSize {
            path,
            have,
            want,
            fix,
        }),
    }
}

pub(crate) fn check_hash(path: &Path, got: &str, spec: &ModelSpec) -> Result<(), ModelError> {
    if got.eq_ignore_ascii_case(spec.sha256) {
        return Ok(());
    }
    Err(ModelError::HashMismatch {
        path: path.to_path_buf(),
        got: got.to_owned(),
        want: spec.sha256.to_owned(),
        fix: fix_for(Some(spec)),
    })
}

fn regular_file_len(path: &Path, spec: Option<&ModelSpec>) -> Result<u64, ModelError> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(ModelError::NotFound {
                path: path.to_path_buf(),
                fix: not_found_fix(spec),
            })
        }
        Err(e) => return Err(ModelError::io("read", path)(e)),
    };
    if !meta.is_file() {
        return Err(ModelError::NotRegularFile {
            path: path.to_path_buf(),
            fix: fix_for(spec),
        });
    }
    Ok(meta.len())
}

fn not_found_fix(spec: Option<&ModelSpec>) -> String {
    match spec {
        Some(spec) => format!(
            "run `cmdai model pull {}` or set `model` in config",
            spec.role
        ),
        None => fix_for(None),
    }
}

fn check_magic(path: &Path, spec: Option<&ModelSpec>) -> Result<(), ModelError> {
    let mut head = [0u8; 4];
    let mut file = File::open(path).map_err(ModelError::io("open", path))?;
    match file.read_exact(&mut head) {
        Ok(()) if &head == GGUF_MAGIC => Ok(()),
        Err(e) if e.kind() != io::ErrorKind::UnexpectedEof => Err(ModelError::io("read", path)(e)),
        _ => Err(ModelError::NotGguf {
            path: path.to_path_buf(),
            fix: fix_for(spec),
        }),
    }
}

fn sha256_of(mut reader: impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(hex(&hasher.finalize())),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testutil::{fake_spec, gguf_bytes};
    use std::io::Write;

    #[test]
    fn missing_file_says_to_pull() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("SmolLM2-135M-Instruct.Q4_1.gguf");
        let err = check_file(&path).unwrap_err();
        assert!(matches!(err, ModelError::NotFound { .. }));
        let text = err.to_string();
        assert!(text.starts_with(&format!("model file {} not found", path.display())));
        assert!(text.contains("run `cmdai model pull tests`"), "{text}");
    }

    #[test]
    fn missing_unknown_file_points_at_config() {
        let err = check_file(Path::new("/nonexistent/mine.gguf")).unwrap_err();
        assert!(err.to_string().contains("set `model` in config"), "{err}");
    }

    #[test]
    fn directory_is_not_a_model() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_file(dir.path()).unwrap_err();
        assert!(matches!(err, ModelError::NotRegularFile { .. }), "{err}");
    }

    #[test]
    fn non_gguf_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in [
            ("a.gguf", &b"<html>not found</html>"[..]),
            ("b.gguf", b"GG"),
        ] {
            let path = dir.path().join(name);
            fs::write(&path, body).unwrap();
            let err = check_file(&path).unwrap_err();
            assert!(matches!(err, ModelError::NotGguf { .. }), "{err}");
            assert!(err.to_string().contains("is not a GGUF file"));
        }
    }

    #[test]
    fn any_gguf_passes_the_fast_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mine.gguf");
        fs::write(&path, gguf_bytes(100)).unwrap();
        check_file(&path).unwrap();
    }

    #[test]
    fn truncated_catalog_file_is_caught_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf");
        let file = File::create(&path).unwrap();
        (&file).write_all(GGUF_MAGIC).unwrap();
        file.set_len(52_000_000).unwrap();
        let err = check_file(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "model file {} is truncated (52 MB of 1117 MB): run `cmdai model pull default`",
                path.display()
            )
        );
    }

    #[test]
    fn verify_accepts_the_right_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let body = gguf_bytes(3000);
        let spec = fake_spec("ok.gguf", &body);
        let path = dir.path().join(spec.file);
        fs::write(&path, &body).unwrap();
        verify(&path, spec).unwrap();
    }

    #[test]
    fn verify_catches_a_wrong_hash() {
        let dir = tempfile::tempdir().unwrap();
        let body = gguf_bytes(3000);
        let spec = fake_spec("bad.gguf", &body);
        let path = dir.path().join(spec.file);
        let mut corrupt = body.clone();
        corrupt[1500] ^= 1;
        fs::write(&path, &corrupt).unwrap();
        let err = verify(&path, spec).unwrap_err();
        assert!(matches!(err, ModelError::HashMismatch { .. }), "{err}");
        assert!(err.to_string().contains("fails its SHA-256 check"));
    }

    #[test]
    fn verify_catches_a_wrong_size() {
        let dir = tempfile::tempdir().unwrap();
        let body = gguf_bytes(3000);
        let spec = fake_spec("long.gguf", &body);
        let path = dir.path().join(spec.file);
        fs::write(&path, [&body[..], b"extra"].concat()).unwrap();
        let err = verify(&path, spec).unwrap_err();
        assert!(
            matches!(err, ModelError::WrongSize { have: 3005, .. }),
            "{err}"
        );
    }
}
