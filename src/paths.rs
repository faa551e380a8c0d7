//! Where cmdai keeps things on disk.
//!
//! Every location follows XDG (through `dirs`) and can be overridden by an environment variable,
//! so tests run hermetically in a temporary HOME. Depends on nothing else in the crate.

use std::env;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Overrides the runtime dir (socket, lock, pid file).
pub const ENV_RUNTIME_DIR: &str = "CMDAI_RUNTIME_DIR";
/// Overrides the config file path.
pub const ENV_CONFIG: &str = "CMDAI_CONFIG";
/// Overrides the directory models are stored in.
pub const ENV_MODELS_DIR: &str = "CMDAI_MODELS_DIR";
/// Overrides the directory the daemon log lives in.
pub const ENV_STATE_DIR: &str = "CMDAI_STATE_DIR";

fn env_path(name: &str) -> Option<PathBuf> {
    env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn home() -> PathBuf {
    dirs::home_dir().unwrap_or_else(env::temp_dir)
}

/// `$XDG_RUNTIME_DIR/cmdai`, else `$TMPDIR/cmdai-$UID`.
pub fn runtime_dir() -> PathBuf {
    if let Some(dir) = env_path(ENV_RUNTIME_DIR) {
        return dir;
    }
    match dirs::runtime_dir() {
        Some(dir) => dir.join("cmdai"),
        None => env::temp_dir().join(format!("cmdai-{}", current_uid())),
    }
}

pub fn socket_path() -> PathBuf {
    runtime_dir().join("daemon.sock")
}

/// Held (flock) for the daemon's whole life; also records its pid.
pub fn pid_path() -> PathBuf {
    runtime_dir().join("daemon.pid")
}

/// Held by a client while it starts a daemon, so racing clients start only one.
pub fn start_lock_path() -> PathBuf {
    runtime_dir().join("start.lock")
}

pub fn config_path() -> PathBuf {
    if let Some(path) = env_path(ENV_CONFIG) {
        return path;
    }
    dirs::config_dir()
        .unwrap_or_else(|| home().join(".config"))
        .join("cmdai")
        .join("config.toml")
}

pub fn models_dir() -> PathBuf {
    if let Some(dir) = env_path(ENV_MODELS_DIR) {
        return dir;
    }
    dirs::data_dir()
        .unwrap_or_else(|| home().join(".local/share"))
        .join("cmdai")
        .join("models")
}

pub fn state_dir() -> PathBuf {
    if let Some(dir) = env_path(ENV_STATE_DIR) {
        return dir;
    }
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(|| home().join(".local/state"))
        .join("cmdai")
}

pub fn log_path() -> PathBuf {
    state_dir().join("daemon.log")
}

pub fn current_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

#[derive(Debug, thiserror::Error)]
#[error("runtime dir {path} is unsafe: {why}; remove it and try again")]
pub struct UnsafeDir {
    pub path: PathBuf,
    pub why: String,
}

/// Creates `dir` with mode 0700, or checks that an existing one is ours, private and not a
/// symlink. The socket and locks live there, so anything else is refused.
pub fn ensure_private_dir(dir: &Path) -> Result<(), UnsafeDir> {
    let unsafe_dir = |why: String| UnsafeDir {
        path: dir.to_path_buf(),
        why,
    };
    match fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(unsafe_dir(format!("it cannot be created ({e})"))),
    }
    let meta = fs::symlink_metadata(dir).map_err(|e| unsafe_dir(e.to_string()))?;
    if meta.file_type().is_symlink() {
        return Err(unsafe_dir("it is a symlink".into()));
    }
    if !meta.is_dir() {
        return Err(unsafe_dir("it is not a directory".into()));
    }
    if meta.uid() != current_uid() {
        return Err(unsafe_dir("it belongs to another user".into()));
    }
    if meta.mode() & 0o077 != 0 {
        let mode = meta.mode() & 0o777;
        return Err(unsafe_dir(format!("its mode is {mode:o}, expected 700")));
    }
    Ok(())
}

/// The daemon log is rotated to `daemon.log.1` once it grows past this.
pub const LOG_CAP: u64 = 1 << 20;

/// `daemon.log.1`: the previous log, kept after a rotation.
pub fn old_log_path() -> PathBuf {
    state_dir().join("daemon.log.1")
}

/// Makes sure the log exists with mode 0600 in a 0700 state dir, first moving it to
/// [`old_log_path`] when it has outgrown [`LOG_CAP`]. Called before a daemon is started, by
/// the client or through the service manager, which then appends to it. Returns the log's path.
pub fn prepare_log() -> io::Result<PathBuf> {
    use std::os::unix::fs::OpenOptionsExt;
    let log = log_path();
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(state_dir())?;
    if fs::metadata(&log).is_ok_and(|m| m.len() > LOG_CAP) {
        fs::rename(&log, old_log_path())?;
    }
    let file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log)?;
    // A log left readable by others (an older version, a service manager) is made private.
    if file.metadata()?.mode() & 0o077 != 0 {
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    }
    Ok(log)
}
