//! Where downloaded bytes go: the `.part` file, hashed and counted on the way so a finished
//! download needs no second full read to verify, with an optional progress bar on stderr.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::error::ModelError;

/// Size and SHA-256 (lowercase hex) of what was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    pub bytes: u64,
    pub sha256: String,
}

pub(crate) struct Sink<'f> {
    out: BufWriter<&'f File>,
    path: PathBuf,
    hasher: Sha256,
    written: u64,
    limit: u64,
    progress: Progress,
}

impl<'f> Sink<'f> {
    /// Keeps the first `keep` bytes of `file` (hashing them) and appends after them. Nothing
    /// more than `limit` bytes in all is accepted, so a wrong source cannot fill the disk.
    pub fn resume(
        file: &'f File,
        path: &Path,
        keep: u64,
        limit: u64,
        progress: bool,
    ) -> Result<Self, ModelError> {
        let io_err = || ModelError::io("write", path);
        file.set_len(keep).map_err(io_err())?;
        let mut reader = file;
        reader.seek(SeekFrom::Start(0)).map_err(io_err())?;
        let mut hasher = Sha256::new();
        let hashed = io::copy(&mut reader.take(keep), &mut HashWriter(&mut hasher))
            .map_err(ModelError::io("read", path))?;
        reader.seek(SeekFrom::Start(keep)).map_err(io_err())?;
        Ok(Sink {
            out: BufWriter::with_capacity(1 << 20, file),
            path: path.to_path_buf(),
            hasher,
            written: hashed,
            limit,
            progress: Progress::new(progress, limit, keep),
        })
    }

    /// Copies all of `reader` in; `on_read` turns a failure of the source into an error that
    /// names the source.
    pub fn copy_from(
        &mut self,
        mut reader: impl Read,
        on_read: impl Fn(io::Error) -> ModelError,
    ) -> Result<u64, ModelError> {
        let mut buf = vec![0u8; 256 * 1024];
        let start = self.written;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => return Ok(self.written - start),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(on_read(e)),
            };
            if self.written + n as u64 > self.limit {
                let msg = format!("more than the expected {} bytes", self.limit);
                return Err(on_read(io::Error::new(io::ErrorKind::InvalidData, msg)));
            }
            self.append(&buf[..n])?;
        }
    }

    fn append(&mut self, chunk: &[u8]) -> Result<(), ModelError> {
        self.out
            .write_all(chunk)
            .map_err(ModelError::io("write", &self.path))?;
        self.hasher.update(chunk);
        self.written += chunk.len() as u64;
        self.progress.advance(chunk.len() as u64);
        Ok(())
    }

    /// Flushes and syncs the file, ends the progress line, and says what was written.
    pub fn finish(mut self) -> Result<Written, ModelError> {
        self.progress.finish();
        let file = self
            .out
            .into_inner()
            .map_err(|e| ModelError::io("write", &self.path)(e.into_error()))?;
        file.sync_all()
            .map_err(ModelError::io("sync", &self.path))?;
        Ok(Written {
            bytes: self.written,
            sha256: hex(&self.hasher.finalize()),
        })
    }
}

struct HashWriter<'h>(&'h mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A carriage-return progress line on stderr: done/total MB, percent, speed of this session.
pub(crate) struct Progress {
    enabled: bool,
    total: u64,
    done: u64,
    resumed_at: u64,
    started: Instant,
    last_draw: Option<Instant>,
}

const REDRAW_EVERY: Duration = Duration::from_millis(200);

impl Progress {
    pub fn new(enabled: bool, total: u64, done: u64) -> Self {
        Progress {
            enabled,
            total,
            done,
            resumed_at: done,
            started: Instant::now(),
            last_draw: None,
        }
    }

    pub fn advance(&mut self, n: u64) {
        self.done += n;
        let due = self.last_draw.is_none_or(|t| t.elapsed() >= REDRAW_EVERY);
        if self.enabled && due {
            self.draw("");
            self.last_draw = Some(Instant::now());
        }
    }

    pub fn finish(&mut self) {
        if self.enabled && self.last_draw.is_some() {
            self.draw("\n");
        }
    }

    fn draw(&self, end: &str) {
        let secs = self.started.elapsed().as_secs_f64();
        let rate = (self.done - self.resumed_at) as f64 / secs.max(1e-3);
        let line = render(self.done, self.total, rate);
        // A progress bar that cannot be drawn is not worth failing a download for.
        let _ = write!(io::stderr().lock(), "\r{line}{end}");
    }
}

/// `  52.4 / 1117.3 MB   4%  12.3 MB/s`, padded so a shorter line overwrites a longer one.
pub(crate) fn render(done: u64, total: u64, bytes_per_sec: f64) -> String {
    let pct = (done as f64 * 100.0 / total.max(1) as f64).min(100.0);
    let mb = |b: f64| b / 1e6;
    let line = format!(
        "  {:.1} / {:.1} MB  {:3.0}%  {:.1} MB/s",
        mb(done as f64),
        mb(total as f64),
        pct,
        mb(bytes_per_sec)
    );
    format!("{line:<48}")
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testutil::part_file;
    use std::fs;

    #[test]
    fn resumed_sink_hashes_old_and_new_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.part");
        fs::write(&path, b"hello, stale tail").unwrap();
        let file = part_file(&path);
        let mut sink = Sink::resume(&file, &path, 7, 100, false).unwrap();
        let fail = |e| ModelError::io("read", "src")(e);
        assert_eq!(sink.copy_from(&b"world"[..], fail).unwrap(), 5);
        let written = sink.finish().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"hello, world");
        assert_eq!(written.bytes, 12);
        assert_eq!(written.sha256, hex(&Sha256::digest(b"hello, world")));
    }

    #[test]
    fn sink_refuses_more_than_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.part");
        let file = part_file(&path);
        let mut sink = Sink::resume(&file, &path, 0, 4, false).unwrap();
        let err = sink
            .copy_from(&b"too long"[..], |e| ModelError::io("read", "src")(e))
            .unwrap_err();
        assert!(
            err.to_string().contains("more than the expected 4 bytes"),
            "{err}"
        );
    }

    #[test]
    fn progress_line() {
        assert_eq!(
            render(52_400_000, 1_117_320_768, 12_345_678.0).trim_end(),
            "  52.4 / 1117.3 MB    5%  12.3 MB/s"
        );
        assert_eq!(
            render(10, 10, 0.0).trim_end(),
            "  0.0 / 0.0 MB  100%  0.0 MB/s"
        );
        assert_eq!(render(0, 0, 0.0).len(), 48);
    }

    #[test]
    fn hex_is_lowercase_and_padded() {
        assert_eq!(hex(&[0x00, 0xab, 0x0f]), "00ab0f");
    }
}
