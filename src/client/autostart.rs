//! Starting and stopping the daemon from the client, where no service manager does it.
//!
//! Starting happens under a file lock so that many clients racing at login start one daemon;
//! the daemon is detached into its own process group with its output in the log. Stopping goes
//! by the pid in the locked pid file and a SIGTERM, which works whatever protocol the running
//! daemon speaks.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fs2::FileExt;

use super::{connect, ClientError};
use crate::paths;

/// How the daemon is started.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Extra arguments for `cmdai-daemon` (e.g. `--model small`).
    pub args: Vec<OsString>,
}

/// Waits this long for a started daemon to bind its socket (loading the model comes after).
const BIND_WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(10);

/// `cmdai-daemon` beside this executable, else `CMDAI_DAEMON_BIN`, else on PATH.
fn daemon_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("CMDAI_DAEMON_BIN").filter(|b| !b.is_empty()) {
        return bin.into();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("cmdai-daemon")))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| "cmdai-daemon".into())
}

fn open_log() -> Result<File, ClientError> {
    let log = paths::prepare_log().map_err(|e| {
        ClientError::Start(format!(
            "cannot prepare the log in {}: {e}",
            paths::state_dir().display()
        ))
    })?;
    OpenOptions::new()
        .append(true)
        .open(&log)
        .map_err(|e| ClientError::Start(format!("cannot open {}: {e}", log.display())))
}

/// Starts a daemon unless one already answers, and waits until its socket accepts.
pub fn start_daemon(options: &StartOptions) -> Result<(), ClientError> {
    let dir = paths::runtime_dir();
    paths::ensure_private_dir(&dir).map_err(|e| ClientError::Start(e.to_string()))?;
    let lock_path = paths::start_lock_path();
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock_path)
        .map_err(|e| ClientError::Start(format!("cannot open {}: {e}", lock_path.display())))?;
    lock.lock_exclusive()
        .map_err(|e| ClientError::Start(format!("cannot lock {}: {e}", lock_path.display())))?;
    if connect().is_ok() {
        return Ok(()); // another client started it while we waited for the lock
    }
    let log = open_log()?;
    let log_err = log
        .try_clone()
        .map_err(|e| ClientError::Start(e.to_string()))?;
    let binary = daemon_binary();
    let mut child = Command::new(&binary)
        .args(&options.args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        // Its own process group: Ctrl-C at the prompt that started it must not reach it. And
        // no hold on the directory the first request happened to come from.
        .process_group(0)
        .current_dir("/")
        .spawn()
        .map_err(|e| ClientError::Start(format!("cannot run {}: {e}", binary.display())))?;
    let deadline = Instant::now() + BIND_WAIT;
    loop {
        if connect().is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(ClientError::Start(format!(
                "cmdai-daemon exited ({status}): {}",
                last_log_line()
            )));
        }
        if Instant::now() >= deadline {
            return Err(ClientError::Start(format!(
                "cmdai-daemon did not open its socket within {BIND_WAIT:?}; see {}",
                paths::log_path().display()
            )));
        }
        std::thread::sleep(POLL);
    }
}

fn last_log_line() -> String {
    let log = paths::log_path();
    fs::read_to_string(&log)
        .ok()
        .and_then(|text| text.lines().last().map(str::to_string))
        .unwrap_or_else(|| format!("see {}", log.display()))
}

/// The running daemon's pid: the pid file is locked for exactly as long as a daemon lives.
pub fn daemon_pid() -> Option<u32> {
    pid_if_locked(&paths::pid_path())
}

fn pid_if_locked(path: &Path) -> Option<u32> {
    let file = File::open(path).ok()?;
    // fs2's, not std's inherent `File::try_lock_shared` (newer than our MSRV).
    if FileExt::try_lock_shared(&file).is_ok() {
        let _ = FileExt::unlock(&file);
        return None;
    }
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Sends SIGTERM to the running daemon and waits until it has gone. `Ok(None)` if none ran.
pub fn stop_daemon(timeout: Duration) -> Result<Option<u32>, ClientError> {
    let Some(pid) = daemon_pid() else {
        return Ok(None);
    };
    let target = rustix::process::Pid::from_raw(pid as i32)
        .ok_or_else(|| ClientError::Start(format!("bad pid {pid} in the pid file")))?;
    rustix::process::kill_process(target, rustix::process::Signal::TERM)
        .map_err(|e| ClientError::Start(format!("cannot signal pid {pid}: {e}")))?;
    let deadline = Instant::now() + timeout;
    while daemon_pid().is_some() {
        if Instant::now() >= deadline {
            return Err(ClientError::Start(format!(
                "pid {pid} did not stop within {timeout:?}"
            )));
        }
        std::thread::sleep(POLL);
    }
    Ok(Some(pid))
}
