//! The login service: the daemon started at login and restarted after a crash by the
//! platform's service manager, a systemd user unit on Linux or a launchd agent on macOS.
//!
//! Where no service manager runs (a container, a minimal VM) nothing is installed and the
//! client's autostart starts the daemon on the first request instead. The unit files are plain
//! text rendered here and parsed back by `cmdai doctor`; the managers are driven through their
//! command-line tools. Depends on `paths` only.

pub mod launchd;
pub mod systemd;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::paths;

/// What the service runs and where its output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    /// Absolute path of `cmdai-daemon`.
    pub daemon: PathBuf,
    /// The daemon log, appended to.
    pub log: PathBuf,
    /// `CMDAI_*` path overrides set where the service was installed, so that the service's
    /// daemon and this client agree on the socket, config and models.
    pub env: Vec<(String, String)>,
}

/// The environment a service carries over from the shell that installed it.
const CARRIED_ENV: &[&str] = &[
    paths::ENV_RUNTIME_DIR,
    paths::ENV_CONFIG,
    paths::ENV_MODELS_DIR,
    paths::ENV_STATE_DIR,
];

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Not an error for the user: the client's autostart takes over.
    #[error("no service manager answers here ({0})")]
    NoManager(String),
    #[error("{} is {why}: other users could change what runs at your login; install cmdai into a directory only you can write (./install.sh --prefix ~/.local)", path.display())]
    Unsafe { path: PathBuf, why: &'static str },
    #[error("cannot find cmdai-daemon next to {}: reinstall with ./install.sh", .0.display())]
    NoDaemon(PathBuf),
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{command}` failed: {message}")]
    Command { command: String, message: String },
}

impl ServiceSpec {
    /// The `cmdai-daemon` beside the running `cmdai`, the log, and the carried environment.
    pub fn for_this_install() -> Result<ServiceSpec, ServiceError> {
        let exe = std::env::current_exe()
            .and_then(|p| p.canonicalize())
            .map_err(|source| ServiceError::Io {
                action: "locate",
                path: "cmdai".into(),
                source,
            })?;
        let daemon = exe.with_file_name("cmdai-daemon");
        if !daemon.is_file() {
            return Err(ServiceError::NoDaemon(exe));
        }
        let env = CARRIED_ENV
            .iter()
            .filter_map(|name| {
                let value = std::env::var(name).ok().filter(|v| !v.is_empty())?;
                Some((name.to_string(), value))
            })
            .collect();
        Ok(ServiceSpec {
            daemon,
            log: paths::log_path(),
            env,
        })
    }

    /// Refuses a daemon or log that others could replace.
    pub fn check_safe(&self) -> Result<(), ServiceError> {
        check_not_world_writable(&self.daemon)?;
        match self.log.parent() {
            Some(dir) => check_not_world_writable(dir),
            None => Ok(()),
        }
    }
}

/// `path` and every directory above it must not be writable by everyone, except sticky
/// directories such as /tmp, where others cannot replace what is ours.
pub fn check_not_world_writable(path: &Path) -> Result<(), ServiceError> {
    for (depth, dir) in path.ancestors().enumerate() {
        let Ok(meta) = std::fs::metadata(dir) else {
            continue; // not created yet: created private later
        };
        let mode = meta.permissions().mode();
        let world_writable = mode & 0o002 != 0;
        let sticky_dir = meta.is_dir() && mode & 0o1000 != 0;
        if world_writable && (depth == 0 || !sticky_dir) {
            return Err(ServiceError::Unsafe {
                path: dir.to_path_buf(),
                why: "writable by everyone",
            });
        }
    }
    Ok(())
}

/// The service managers cmdai knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    Systemd,
    Launchd,
}

impl Manager {
    /// This platform's manager.
    pub fn native() -> Manager {
        if cfg!(target_os = "macos") {
            Manager::Launchd
        } else {
            Manager::Systemd
        }
    }

    /// Where the unit (or agent) file lives.
    pub fn unit_path(self) -> PathBuf {
        match self {
            Manager::Systemd => systemd::unit_path(),
            Manager::Launchd => launchd::plist_path(),
        }
    }

    pub fn render(self, spec: &ServiceSpec) -> String {
        match self {
            Manager::Systemd => systemd::render(spec),
            Manager::Launchd => launchd::render(spec),
        }
    }

    /// The daemon the installed file runs, parsed back from it.
    pub fn installed_daemon(self) -> Option<PathBuf> {
        let text = std::fs::read_to_string(self.unit_path()).ok()?;
        match self {
            Manager::Systemd => systemd::exec_start(&text),
            Manager::Launchd => launchd::program(&text),
        }
    }

    /// `Ok` when the manager answers for this user; otherwise the reason, in a few words.
    pub fn available(self) -> Result<(), ServiceError> {
        match self {
            Manager::Systemd => systemd::available(),
            Manager::Launchd => launchd::available(),
        }
    }

    /// Whether the manager runs the daemon now.
    pub fn is_active(self) -> bool {
        match self {
            Manager::Systemd => systemd::is_active(),
            Manager::Launchd => launchd::is_loaded(),
        }
    }
}

/// What `install` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// Written, enabled and started.
    Service(PathBuf),
    /// No manager here: the reason; the client's autostart will start the daemon.
    NoManager(String),
}

/// Writes the unit for `spec`, enables it at login and (re)starts it. Where no manager
/// answers, writes nothing.
pub fn install(manager: Manager, spec: &ServiceSpec) -> Result<Installed, ServiceError> {
    spec.check_safe()?;
    if let Err(ServiceError::NoManager(why)) = manager.available() {
        return Ok(Installed::NoManager(why));
    }
    paths::prepare_log().map_err(|source| ServiceError::Io {
        action: "create the log",
        path: spec.log.clone(),
        source,
    })?;
    let path = manager.unit_path();
    write_private(&path, &manager.render(spec))?;
    match manager {
        Manager::Systemd => systemd::enable_and_start()?,
        Manager::Launchd => launchd::load(&path)?,
    }
    Ok(Installed::Service(path))
}

/// Stops and disables the service and removes its file. `Ok(false)` when none was installed.
pub fn uninstall(manager: Manager) -> Result<bool, ServiceError> {
    let path = manager.unit_path();
    if !path.exists() {
        return Ok(false);
    }
    if manager.available().is_ok() {
        match manager {
            Manager::Systemd => systemd::disable_and_stop()?,
            Manager::Launchd => launchd::unload()?,
        }
    }
    std::fs::remove_file(&path).map_err(|source| ServiceError::Io {
        action: "remove",
        path: path.clone(),
        source,
    })?;
    if manager == Manager::Systemd && manager.available().is_ok() {
        systemd::daemon_reload()?;
    }
    Ok(true)
}

/// Restarts the installed service through its manager (the log rotated first, since the
/// manager reopens it).
pub fn restart(manager: Manager) -> Result<(), ServiceError> {
    paths::prepare_log().map_err(|source| ServiceError::Io {
        action: "rotate",
        path: paths::log_path(),
        source,
    })?;
    match manager {
        Manager::Systemd => systemd::restart(),
        Manager::Launchd => launchd::restart(),
    }
}

/// The installed service's manager, when a unit file is there and its manager answers.
pub fn active_manager() -> Option<Manager> {
    let manager = Manager::native();
    (manager.unit_path().is_file() && manager.available().is_ok()).then_some(manager)
}

fn write_private(path: &Path, text: &str) -> Result<(), ServiceError> {
    let io = |action| {
        let path = path.to_path_buf();
        move |source| ServiceError::Io {
            action,
            path,
            source,
        }
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io("create the directory of"))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(io("write"))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).map_err(io("chmod"))?;
    std::fs::rename(&tmp, path).map_err(io("write"))
}

/// Runs a manager's command line; its first line of stderr becomes the error.
fn run(program: &str, args: &[&str]) -> Result<String, ServiceError> {
    let command = format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| ServiceError::NoManager(format!("{program}: {e}")))?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let message = stderr
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .trim()
        .to_string();
    Err(ServiceError::Command { command, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn world_writable_directories_are_refused_but_sticky_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let daemon = open.join("cmdai-daemon");
        std::fs::write(&daemon, "").unwrap();
        let err = check_not_world_writable(&daemon).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{} is writable by everyone", open.display())));
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
        check_not_world_writable(&daemon).unwrap();
        std::fs::set_permissions(&daemon, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(check_not_world_writable(&daemon).is_err());
    }
}
