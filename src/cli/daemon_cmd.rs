//! `cmdai daemon start|stop|restart|status|install|uninstall|logs`.

use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use super::logs_cmd::LogsArgs;
use super::service_cmd::{self, InstallArgs};
use super::{print_stdout, Failure};
use crate::client::{self, ClientError, StartOptions};
use crate::config::Flags;
use crate::paths;
use crate::protocol::{DaemonStatus, EngineState, Request, Response};
use crate::validate::Safety;

#[derive(Debug, Subcommand)]
pub enum DaemonCommand {
    /// Start the daemon in the background and wait until its model is loaded
    Start(StartArgs),
    /// Stop the running daemon
    Stop,
    /// Stop the daemon, then start it again (through the login service when installed)
    #[command(after_help = "Examples:\n  cmdai daemon restart\n  \
        cmdai daemon restart --model small\n\n\
        Run it after editing config.toml. With a login service installed (cmdai daemon install) \
        and no flags, the service manager restarts it; flags start a daemon directly.")]
    Restart(StartArgs),
    /// Read config.toml again; open the model again if it changed, keeping the socket
    #[command(after_help = "Example:\n  cmdai daemon reload\n\n\
        Requests in flight finish with the old settings; later ones get the new. A config \
        with an error is refused (the daemon keeps its settings) and the error is printed. \
        The daemon also reloads on SIGHUP. Flags given to `cmdai daemon start` still win.")]
    Reload,
    /// Show what the daemon is doing: state, model, load time, requests, safety, memory
    Status {
        /// Print the status as JSON
        #[arg(long)]
        json: bool,
    },
    /// Start the daemon at login: a systemd user unit (Linux) or a launchd agent (macOS)
    #[command(
        after_help = "Examples:\n  cmdai daemon install\n  cmdai daemon install --print\n\n\
        systemd: ~/.config/systemd/user/cmdai.service, enabled and started with systemctl --user; \
        restarted after a crash, not after `cmdai daemon stop`. launchd: \
        ~/Library/LaunchAgents/org.cmdai.daemon.plist, loaded with launchctl. The daemon's output \
        goes to the log (cmdai daemon logs). Where no service manager runs (a container, a \
        minimal VM) this says so and changes nothing: cmdai starts the daemon on demand."
    )]
    Install(InstallArgs),
    /// Remove the login service installed by `cmdai daemon install`, stopping its daemon
    #[command(after_help = "Example:\n  cmdai daemon uninstall\n\n\
        The binaries, models, config and log stay; ./install.sh --uninstall removes the rest.")]
    Uninstall,
    /// Print the daemon log; -f keeps following it
    Logs(LogsArgs),
}

#[derive(Debug, Args)]
pub struct StartArgs {
    #[command(flatten)]
    flags: Flags,
    /// Return as soon as the socket is up, without waiting for the model
    #[arg(long)]
    no_wait: bool,
}

pub fn run(command: DaemonCommand) -> Result<(), Failure> {
    match command {
        DaemonCommand::Start(args) => start(&args),
        DaemonCommand::Stop => stop(),
        DaemonCommand::Restart(args) => restart(&args),
        DaemonCommand::Reload => reload(),
        DaemonCommand::Status { json } => status(json),
        DaemonCommand::Install(args) => service_cmd::install(&args),
        DaemonCommand::Uninstall => service_cmd::uninstall(),
        DaemonCommand::Logs(args) => super::logs_cmd::run(&args),
    }
}

fn start(args: &StartArgs) -> Result<(), Failure> {
    if let Some(pid) = client::daemon_pid() {
        eprintln!("cmdai: the daemon is already running (pid {pid})");
        return Ok(());
    }
    let started = Instant::now();
    let flags = args.flags.daemon_args();
    // The service runs the daemon without flags; flags mean this one daemon, started directly.
    if !(flags.is_empty() && service_cmd::restart_through_service()?) {
        client::start_daemon(&StartOptions { args: flags })?;
    }
    if args.no_wait {
        eprintln!("cmdai: daemon started; the model loads in the background");
        return Ok(());
    }
    eprintln!("cmdai: daemon started, loading the model…");
    super::ask::wait_until_loaded(started + Duration::from_secs(300))?;
    eprintln!("cmdai: ready in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn restart(args: &StartArgs) -> Result<(), Failure> {
    stop()?;
    start(args)
}

fn stop() -> Result<(), Failure> {
    match client::stop_daemon(Duration::from_secs(10))? {
        Some(pid) => eprintln!("cmdai: stopped the daemon (pid {pid})"),
        None => eprintln!("cmdai: the daemon was not running"),
    }
    Ok(())
}

fn status(json: bool) -> Result<(), Failure> {
    let status = match client::request(&Request::Status, Duration::from_secs(5)) {
        Ok(Response::Status(status)) => status,
        Ok(other) => return Err(Failure::error(format!("unexpected answer {other:?}"))),
        Err(e @ ClientError::NotRunning(_)) => {
            return Err(Failure {
                code: super::NOT_RUNNING,
                message: e.to_string(),
            })
        }
        Err(e) => return Err(e.into()),
    };
    if json {
        let text = serde_json::to_string_pretty(&status).map_err(Failure::error)?;
        return print_stdout(&(text + "\n"));
    }
    print_stdout(&render(&status))
}

fn render(s: &DaemonStatus) -> String {
    let state = match s.state {
        EngineState::Loading => "loading".to_string(),
        EngineState::Ready => "ready".to_string(),
        EngineState::Unloaded => {
            "unloaded while idle (the next request loads it again)".to_string()
        }
        EngineState::Failed => format!("failed: {}", s.error.as_deref().unwrap_or("")),
    };
    let per_request = s
        .request_prompt_tokens
        .checked_div(s.requests_served)
        .unwrap_or(0);
    let rows = [
        (
            "daemon",
            format!("cmdai-daemon {} (pid {})", s.daemon_version, s.pid),
        ),
        ("state", state),
        ("backend", backend_line(s)),
        ("model", model_line(s)),
        ("threads", s.threads.to_string()),
        ("uptime", human_duration(s.uptime_ms)),
        (
            "load time",
            format!(
                "{:.2} s ({} load{})",
                s.load_ms as f64 / 1000.0,
                s.loads,
                plural(s.loads.into())
            ),
        ),
        (
            "requests",
            format!(
                "{} served, {} cancelled, {} in progress",
                s.requests_served, s.requests_cancelled, s.requests_pending
            ),
        ),
        (
            "prompt",
            format!(
                "{} tokens evaluated once at load; {per_request} per request on average (last {})",
                s.system_prompt_tokens, s.last_prompt_tokens
            ),
        ),
        (
            "ahead",
            format!(
                "{} context{} prepared at the prompt ({} tokens evaluated ahead); {} answer{} \
                 from cache",
                s.contexts_prepared,
                plural(s.contexts_prepared),
                s.prepared_tokens,
                s.cache_hits,
                plural(s.cache_hits)
            ),
        ),
        (
            "safety",
            format!(
                "{}: {} command{} held back",
                safety_name(s.safety),
                s.commands_held_back,
                plural(s.commands_held_back)
            ),
        ),
        (
            "memory",
            format!("{:.0} MB resident", s.rss_bytes as f64 / 1e6),
        ),
        ("socket", paths::socket_path().display().to_string()),
        ("log", paths::log_path().display().to_string()),
    ];
    rows.iter()
        .map(|(key, value)| format!("{key:<10} {value}\n"))
        .collect()
}

fn reload() -> Result<(), Failure> {
    match client::request(&Request::Reload, Duration::from_secs(10))? {
        Response::Reloaded { changed: true } => {
            print_stdout("reloaded: the daemon applies the new settings\n")
        }
        Response::Reloaded { changed: false } => {
            print_stdout("reloaded: settings unchanged; nothing to do\n")
        }
        other => Err(Failure::error(format!("unexpected answer {other:?}"))),
    }
}

fn safety_name(safety: Safety) -> &'static str {
    match safety {
        Safety::Normal => "normal (critical commands are held back)",
        Safety::Strict => "strict (high and critical commands are held back)",
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn human_duration(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m {}s", secs / 60, secs % 60),
        _ => format!("{}h {}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// The backend answering now, and the chain it belongs to when there is one.
fn backend_line(s: &DaemonStatus) -> String {
    match s.chain.as_slice() {
        [] | [_] => s.backend.clone(),
        chain => format!("{} (tried in order: {})", s.backend, chain.join(", ")),
    }
}

/// The model, with the file it was loaded from when the daemon loads one.
fn model_line(s: &DaemonStatus) -> String {
    if matches!(s.backend.as_str(), "embedded" | "llama-server") {
        format!("{} ({})", s.model, s.model_path)
    } else {
        s.model.clone()
    }
}
