//! The daemon's footing on disk: a private runtime dir, the instance lock, the socket.
//!
//! The lock (on `daemon.pid`) is what makes a daemon the only one; the socket is removed only
//! when connecting to it is refused, so a live daemon is never displaced.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use fs2::FileExt;

use crate::paths;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Dir(#[from] paths::UnsafeDir),
    #[error("another cmdai-daemon is already running{pid}; stop it with `cmdai daemon stop`")]
    AlreadyRunning { pid: String },
    #[error("a live daemon answers on {0}; stop it with `cmdai daemon stop`")]
    SocketInUse(PathBuf),
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

fn io_error<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> RuntimeError + 'a {
    move |source| RuntimeError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Takes the single-instance lock and writes our pid into it. Held until the file is dropped.
pub fn lock_instance(path: &Path) -> Result<File, RuntimeError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(io_error("open", path))?;
    if file.try_lock_exclusive().is_err() {
        let pid = fs::read_to_string(path)
            .ok()
            .map(|p| format!(" (pid {})", p.trim()))
            .unwrap_or_default();
        return Err(RuntimeError::AlreadyRunning { pid });
    }
    file.set_len(0).map_err(io_error("write", path))?;
    writeln!(file, "{}", std::process::id()).map_err(io_error("write", path))?;
    Ok(file)
}

/// Clears the way for binding: a socket nobody answers on is stale and removed; one that
/// answers belongs to a live daemon and is left alone.
pub fn clear_stale_socket(path: &Path) -> Result<(), RuntimeError> {
    match UnixStream::connect(path) {
        Ok(_) => Err(RuntimeError::SocketInUse(path.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            fs::remove_file(path).map_err(io_error("remove stale socket", path))
        }
        Err(e) => Err(io_error("probe socket", path)(e)),
    }
}

/// Binds the socket and makes it private (0600). The dir is already 0700, so the moment between
/// bind and chmod exposes nothing.
pub fn bind(path: &Path) -> Result<tokio::net::UnixListener, RuntimeError> {
    clear_stale_socket(path)?;
    let listener = tokio::net::UnixListener::bind(path).map_err(io_error("bind", path))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
        .map_err(io_error("chmod", path))?;
    Ok(listener)
}
