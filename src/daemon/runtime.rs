//! The daemon's footing on disk: a private runtime dir, the instance lock, the socket.
//!
//! The lock (on `daemon.pid`) is what makes a daemon the only one; the socket is removed only
//! when connecting to it is refused, so a live daemon is never displaced. A running daemon
//! checks now and then that its socket path still leads to it (tmp cleaners and careless
//! `rm -r` delete sockets) and binds it again while it still holds the lock.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    #[error("{0} is no longer the lock this daemon holds (the runtime dir was removed?)")]
    LockLost(PathBuf),
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

/// How often a running daemon checks that its socket path still leads to it.
pub const SOCKET_CHECK: Duration = Duration::from_secs(2);

/// Which file a path names: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(meta: &fs::Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }

    /// The file at `path` itself (a symlink is not followed), if there is one.
    pub fn of_path(path: &Path) -> Option<FileId> {
        fs::symlink_metadata(path)
            .ok()
            .map(|meta| FileId::of(&meta))
    }

    pub fn of_file(file: &File) -> io::Result<FileId> {
        file.metadata().map(|meta| FileId::of(&meta))
    }
}

/// The listening socket and the file `bind` created for it.
pub struct BoundSocket {
    pub listener: tokio::net::UnixListener,
    path: PathBuf,
    id: FileId,
}

impl BoundSocket {
    /// Whether clients can still reach us: the path names the socket file we bound.
    pub fn intact(&self) -> bool {
        FileId::of_path(&self.path) == Some(self.id)
    }

    /// Binds the path again after its file was removed or replaced, provided `lock` (the held
    /// pid file) is still the one at `lock_path`: if the runtime dir was removed with it, a new
    /// daemon may already own a fresh lock, and this one must give way rather than compete.
    pub fn rebind(&self, lock_path: &Path, lock: FileId) -> Result<BoundSocket, RuntimeError> {
        if FileId::of_path(lock_path) != Some(lock) {
            return Err(RuntimeError::LockLost(lock_path.to_path_buf()));
        }
        bind(&self.path)
    }

    /// Removes the socket file, unless it is no longer ours.
    pub fn unlink(self) {
        let intact = self.intact();
        drop(self.listener);
        if intact {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Turns core dumps off: a dump of the daemon would hold the user's recent sentences and
/// commands, and whatever the model was given as context, in a file others may collect.
pub fn forbid_core_dumps() -> io::Result<()> {
    use rustix::process::{setrlimit, Resource, Rlimit};
    let none = Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    setrlimit(Resource::Core, none).map_err(io::Error::from)
}

/// Logs a panic by its place only: a panic message can quote what was being worked on, and the
/// log must hold no sentences or commands. A plain literal message cannot, so it is kept.
pub fn log_panics_by_place() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .unwrap_or("message withheld");
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("cmdai-daemon: internal error{place} ({what})");
    }));
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
pub fn bind(path: &Path) -> Result<BoundSocket, RuntimeError> {
    clear_stale_socket(path)?;
    let listener = tokio::net::UnixListener::bind(path).map_err(io_error("bind", path))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
        .map_err(io_error("chmod", path))?;
    let id = FileId::of_path(path)
        .ok_or_else(|| io_error("stat", path)(io::ErrorKind::NotFound.into()))?;
    Ok(BoundSocket {
        listener,
        path: path.to_path_buf(),
        id,
    })
}
