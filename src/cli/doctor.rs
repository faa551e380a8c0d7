//! `cmdai doctor`: one line per check of the install (`ok`, `warn` or `FAIL`, its name, what
//! was found), a `fix:` line under each one that is not ok, and exit 1 when any failed.
//!
//! It must be quick on a healthy machine and must not change what it inspects: it never starts
//! the daemon (a stopped daemon is a finding), bounds every probe with a timeout, and probes the
//! shells in parallel with the other checks. The one slow step, hashing a model file, runs once
//! per file and is remembered by size and modification time.

mod probe;
mod shells;
mod verified;

use std::fmt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::{print_stdout, Failure};
use crate::client::{self, ClientError};
use crate::config::{Config, Flags};
use crate::protocol::{DaemonStatus, EngineState, Request, Response, PROTOCOL_VERSION};
use crate::service::{Manager, ServiceError};
use crate::{model, paths};

const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  cmdai doctor\n  cmdai doctor && echo healthy\n\n\
    Each line is ok, warn or FAIL, the check's name and what was found; a fix: line follows \
    each warning and failure. Exit status: 0 nothing failed (warnings allowed), 1 something \
    failed. The doctor never starts the daemon; the first check of a model file hashes it once \
    (a few seconds for the default model)."
)]
pub struct DoctorArgs {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub level: Level,
    pub what: String,
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: &str, what: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            level: Level::Ok,
            what: what.into(),
            fix: None,
        }
    }

    fn warn(name: &str, what: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            level: Level::Warn,
            fix: Some(fix.into()),
            ..Check::ok(name, what)
        }
    }

    fn fail(name: &str, what: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            level: Level::Fail,
            ..Check::warn(name, what, fix)
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        };
        writeln!(f, "{level:<5} {:<13} {}", self.name, self.what)?;
        match &self.fix {
            Some(fix) => writeln!(f, "{:<19} fix: {fix}", ""),
            None => Ok(()),
        }
    }
}

pub fn run(_args: &DoctorArgs) -> Result<(), Failure> {
    let checks = collect();
    print_stdout(&checks.iter().map(Check::to_string).collect::<String>())?;
    let failed = checks.iter().filter(|c| c.level == Level::Fail).count();
    if failed == 0 {
        return Ok(());
    }
    Err(Failure {
        code: 1,
        message: format!(
            "{failed} check{} failed; run the fix: lines above",
            if failed == 1 { "" } else { "s" }
        ),
    })
}

fn collect() -> Vec<Check> {
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .unwrap_or_default();
    let shell_probe = {
        let exe = exe.clone();
        std::thread::spawn(move || shells::checks(&exe))
    };
    let (config_check, config) = config();
    let (daemon_check, status) = daemon();
    let mut checks = vec![
        Check::ok("cmdai", format!("cmdai {VERSION} at {}", exe.display())),
        daemon_binary(&exe),
        path_check(&exe),
        config_check,
        runtime_dir(),
        socket(daemon_check.level == Level::Ok),
        daemon_check,
        backend(&config),
        model_check(&config),
        memory(&config, status.as_ref()),
        service(&exe),
        log(),
    ];
    checks.extend(shell_probe.join().unwrap_or_default());
    checks
}

/// The `cmdai-daemon` this client starts: `CMDAI_DAEMON_BIN`, else the one beside it.
fn daemon_path(exe: &Path) -> PathBuf {
    std::env::var_os("CMDAI_DAEMON_BIN")
        .filter(|b| !b.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| exe.with_file_name("cmdai-daemon"))
}

fn daemon_binary(exe: &Path) -> Check {
    const NAME: &str = "daemon-binary";
    let daemon = daemon_path(exe);
    let reinstall = "./install.sh (from the cmdai checkout) installs both binaries together";
    if !daemon.is_file() {
        return Check::fail(
            NAME,
            format!("no cmdai-daemon at {}", daemon.display()),
            reinstall,
        );
    }
    let mut command = std::process::Command::new(&daemon);
    command.arg("--version");
    let Some(out) = probe::output_within(command, Duration::from_secs(2)) else {
        let what = format!("{} --version did not answer", daemon.display());
        return Check::fail(NAME, what, reinstall);
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split_whitespace().nth(1).unwrap_or("?");
    if version != VERSION {
        let what = format!("{} is version {version}, cmdai {VERSION}", daemon.display());
        return Check::fail(NAME, what, reinstall);
    }
    Check::ok(
        NAME,
        format!("cmdai-daemon {version} at {}", daemon.display()),
    )
}

fn path_check(exe: &Path) -> Check {
    const NAME: &str = "path";
    let dir = exe.parent().unwrap_or(Path::new("/")).display().to_string();
    let fix = format!("add `export PATH=\"{dir}:$PATH\"` to your shell's startup file");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|d| d.join("cmdai"))
        .find(|c| {
            c.metadata()
                .is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
        });
    match found {
        None => Check::fail(NAME, "no cmdai on PATH", fix),
        Some(first) if first.canonicalize().ok().as_deref() == Some(exe) => {
            Check::ok(NAME, format!("{} is this cmdai", first.display()))
        }
        Some(first) => Check::fail(
            NAME,
            format!(
                "the cmdai first on PATH is {}, not this one",
                first.display()
            ),
            format!("remove {} or {fix}", first.display()),
        ),
    }
}

fn config() -> (Check, Config) {
    const NAME: &str = "config";
    let path = paths::config_path();
    match Config::explain(&Flags::default()) {
        Ok(_) if !path.exists() => (
            Check::ok(
                NAME,
                "no config file: built-in defaults (cmdai config init writes one)",
            ),
            Config::load().unwrap_or_default(),
        ),
        Ok(explained) => (
            Check::ok(NAME, format!("{} reads cleanly", path.display())),
            explained.config,
        ),
        Err(e) => (
            Check::fail(
                NAME,
                e.to_string(),
                "correct that line; `cmdai config` shows the result",
            ),
            Config::default(),
        ),
    }
}

fn runtime_dir() -> Check {
    const NAME: &str = "runtime-dir";
    let dir = paths::runtime_dir();
    let Ok(meta) = std::fs::symlink_metadata(&dir) else {
        return Check::ok(
            NAME,
            format!("{} not created yet (the daemon makes it)", dir.display()),
        );
    };
    let mode = meta.mode() & 0o777;
    if !meta.is_dir() || meta.uid() != paths::current_uid() {
        let what = format!("{} is not a directory of yours", dir.display());
        return Check::fail(NAME, what, format!("rm -rf {}", dir.display()));
    }
    if mode & 0o077 != 0 {
        let what = format!("{} has mode {mode:o}, expected 700", dir.display());
        return Check::fail(NAME, what, format!("chmod 700 {}", dir.display()));
    }
    Check::ok(NAME, format!("{} (700)", dir.display()))
}

fn socket(daemon_answers: bool) -> Check {
    const NAME: &str = "socket";
    let socket = paths::socket_path();
    let Ok(meta) = std::fs::symlink_metadata(&socket) else {
        return Check::ok(NAME, "none (no daemon running)");
    };
    let mode = meta.mode() & 0o777;
    if !meta.file_type().is_socket() || meta.uid() != paths::current_uid() || mode & 0o077 != 0 {
        let what = format!(
            "{} is not a private socket of yours ({mode:o})",
            socket.display()
        );
        return Check::fail(NAME, what, "cmdai daemon restart");
    }
    if !daemon_answers {
        let what = format!("{} is left from a daemon that is gone", socket.display());
        return Check::ok(NAME, what + "; the next daemon replaces it");
    }
    Check::ok(NAME, format!("{} (600)", socket.display()))
}

fn daemon() -> (Check, Option<DaemonStatus>) {
    const NAME: &str = "daemon";
    let limit = Duration::from_secs(1);
    let hello = match client::request(&Request::Ping, limit) {
        Ok(Response::Pong(hello)) => hello,
        Ok(other) => {
            let what = format!("answered a ping with {other:?}");
            return (Check::fail(NAME, what, "cmdai daemon restart"), None);
        }
        Err(ClientError::NotRunning(_)) => {
            let fix = "cmdai daemon start (or just use cmdai: it starts the daemon)";
            return (Check::fail(NAME, "not running", fix), None);
        }
        Err(ClientError::VersionMismatch { daemon }) => {
            let what = format!("speaks protocol {daemon}, this cmdai {PROTOCOL_VERSION}");
            return (Check::fail(NAME, what, "cmdai daemon restart"), None);
        }
        Err(e) => {
            return (
                Check::fail(NAME, e.to_string(), "cmdai daemon restart"),
                None,
            )
        }
    };
    let status = match client::request(&Request::Status, limit) {
        Ok(Response::Status(status)) => status,
        _ => {
            let what = format!("pid {} answers ping but not status", hello.pid);
            return (Check::fail(NAME, what, "cmdai daemon restart"), None);
        }
    };
    let about = format!(
        "cmdai-daemon {} (pid {}), protocol {}",
        hello.daemon_version, hello.pid, hello.protocol
    );
    let check = match status.state {
        EngineState::Failed => Check::fail(
            NAME,
            format!("{about}: {}", status.error.as_deref().unwrap_or("failed")),
            "cmdai daemon logs; fix the cause, then cmdai daemon restart",
        ),
        _ if hello.daemon_version != VERSION => Check::warn(
            NAME,
            format!("{about} runs an older build than this cmdai {VERSION}"),
            "cmdai daemon restart",
        ),
        EngineState::Loading => Check::ok(NAME, format!("{about}, loading {}", status.model)),
        EngineState::Ready => Check::ok(NAME, format!("{about}, ready with {}", status.model)),
        EngineState::Unloaded => Check::ok(
            NAME,
            format!(
                "{about}, {} unloaded while idle (the next request loads it)",
                status.model
            ),
        ),
    };
    (check, Some(status))
}

fn backend(config: &Config) -> Check {
    const NAME: &str = "backend";
    let mut up = Vec::new();
    let mut down = Vec::new();
    for name in &config.backend {
        match backend_finding(name, config) {
            Ok(finding) => up.push(finding),
            Err(problem) => down.push(problem),
        }
    }
    if up.is_empty() {
        let (what, fix) = down.swap_remove(0);
        return Check::fail(NAME, what, fix);
    }
    let what = up.join("; then ");
    if !down.is_empty() {
        let why: Vec<String> = down.into_iter().map(|(what, _)| what).collect();
        return Check::warn(
            NAME,
            format!("{what} answers; down: {}", why.join("; ")),
            "start them, or take them out of backend = [...] in config.toml",
        );
    }
    if config.backend.iter().any(|b| b == "scripted") {
        return Check::warn(
            NAME,
            format!("{what}: canned answers for tests, not a model"),
            "set backend = \"embedded\" in config.toml (or remove the line)",
        );
    }
    Check::ok(NAME, what)
}

/// One backend of the chain, described, or what is wrong with it and the fix.
fn backend_finding(name: &str, config: &Config) -> Result<String, (String, String)> {
    match name {
        "embedded" if cfg!(feature = "embedded") => {
            Ok("embedded (llama.cpp in the daemon, this build has it)".into())
        }
        "embedded" => Err((
            "this build has no embedded backend".into(),
            "rebuild with the `embedded` feature: ./install.sh".into(),
        )),
        "scripted" => Ok("scripted".into()),
        other => match crate::backend::probe(other, &crate::daemon::backend_spec(config)) {
            Ok(about) => Ok(about),
            Err(e) => Err((
                e.to_string(),
                "start it, or put \"embedded\" after it in backend = [...] as a fallback".into(),
            )),
        },
    }
}

fn model_check(config: &Config) -> Check {
    const NAME: &str = "model";
    if !config
        .backend
        .iter()
        .any(|b| matches!(b.as_str(), "embedded" | "llama-server" | "scripted"))
    {
        return Check::ok(NAME, "none needed: the backends named load no model file");
    }
    if config.backend.iter().any(|b| b == "scripted") {
        let rules = Path::new(&config.model);
        if rules.is_file() {
            return Check::ok(NAME, format!("scripted rules {}", rules.display()));
        }
        let what = format!("no scripted rules file at {}", rules.display());
        return Check::fail(NAME, what, "set model to the rules file");
    }
    let path = model::resolve(&config.model);
    if let Err(e) = model::check_file(&path) {
        return model_failure(&e);
    }
    let Some(spec) = model::by_file_name(&file_name(&path)) else {
        let what = format!(
            "{} is a GGUF file (not in the catalog: no checksum to compare)",
            path.display()
        );
        return Check::ok(NAME, what);
    };
    match verified::check(&path, spec) {
        Ok(()) => Check::ok(
            NAME,
            format!(
                "{} ({}, {} MB, SHA-256 verified)",
                path.display(),
                spec.role,
                spec.bytes / 1_000_000
            ),
        ),
        Err(e) => model_failure(&e),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The model error's message as the finding and its fix as the fix.
fn model_failure(e: &model::ModelError) -> Check {
    use model::ModelError::*;
    let message = e.to_string();
    let fix = match e {
        NotFound { fix, .. }
        | NotRegularFile { fix, .. }
        | NotGguf { fix, .. }
        | Truncated { fix, .. }
        | WrongSize { fix, .. }
        | HashMismatch { fix, .. } => fix.clone(),
        _ => "cmdai model pull default --force".into(),
    };
    let what = message
        .strip_suffix(&format!(": {fix}"))
        .unwrap_or(&message)
        .to_string();
    Check::fail("model", what, fix)
}

fn memory(config: &Config, status: Option<&DaemonStatus>) -> Check {
    const NAME: &str = "memory";
    let mut system = sysinfo::System::new();
    system.refresh_memory();
    let available = system.available_memory();
    if !config.backend.iter().any(|b| b == "embedded") {
        return Check::ok(NAME, format!("{} MB available", available / 1_000_000));
    }
    let path = model::resolve(&config.model);
    let size = model::by_file_name(&file_name(&path))
        .map(|spec| spec.bytes)
        .or_else(|| path.metadata().ok().map(|m| m.len()))
        .unwrap_or(0);
    // A daemon that already holds the model counts its memory as available to it.
    let held = status
        .filter(|s| s.state == EngineState::Ready)
        .map_or(0, |s| s.rss_bytes);
    let have = available + held;
    let recommended = recommend(have);
    let what = format!(
        "{} MB available{}, the model needs about {} MB; recommended model: {recommended}",
        available / 1_000_000,
        if held > 0 {
            format!(" (+{} MB held by the daemon)", held / 1_000_000)
        } else {
            String::new()
        },
        needed(size) / 1_000_000
    );
    if have >= needed(size) {
        Check::ok(NAME, what)
    } else {
        Check::warn(
            NAME,
            what,
            format!(
                "cmdai model pull {recommended}, then set model = \"{recommended}\" in config.toml"
            ),
        )
    }
}

/// Weights plus the context, the KV cache and the daemon itself.
fn needed(model_bytes: u64) -> u64 {
    model_bytes + model_bytes / 4 + 300_000_000
}

/// The best catalog model (tests excepted) that fits in `bytes`, else the smallest.
fn recommend(bytes: u64) -> &'static str {
    model::catalog()
        .iter()
        .filter(|spec| spec.role != "tests")
        .find(|spec| needed(spec.bytes) <= bytes)
        .map_or("small", |spec| spec.role)
}

fn service(exe: &Path) -> Check {
    const NAME: &str = "service";
    let manager = Manager::native();
    match manager.available() {
        Err(ServiceError::NoManager(why)) => {
            let what = format!("no service manager ({why}): cmdai starts the daemon on demand");
            return Check::ok(NAME, what);
        }
        Err(e) => return Check::warn(NAME, e.to_string(), "cmdai daemon install"),
        Ok(()) => {}
    }
    let unit = manager.unit_path();
    let Some(runs) = manager.installed_daemon() else {
        return Check::warn(
            NAME,
            "no login service: the daemon starts on first use, not at login",
            "cmdai daemon install",
        );
    };
    let expected = exe.with_file_name("cmdai-daemon");
    if runs != expected {
        let what = format!(
            "{} runs {}, not {}",
            unit.display(),
            runs.display(),
            expected.display()
        );
        return Check::fail(NAME, what, "cmdai daemon install");
    }
    if !manager.is_active() {
        let what = format!("{} is installed but not running", unit.display());
        return Check::warn(NAME, what, "cmdai daemon restart; see cmdai daemon logs");
    }
    Check::ok(NAME, format!("{} installed and running", unit.display()))
}

fn log() -> Check {
    const NAME: &str = "log";
    let log = paths::log_path();
    let Ok(meta) = std::fs::metadata(&log) else {
        return Check::ok(NAME, format!("{} not written yet", log.display()));
    };
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        let what = format!("{} has mode {mode:o}: others can read it", log.display());
        return Check::warn(NAME, what, format!("chmod 600 {}", log.display()));
    }
    Check::ok(
        NAME,
        format!("{} ({} KB)", log.display(), meta.len().div_ceil(1024)),
    )
}
