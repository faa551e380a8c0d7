//! `cmdai-daemon`: binds the socket, keeps the model warm in the engine, answers one request
//! per connection.
//!
//! Order matters: lock, bind, then load; status answers `Loading` meanwhile so no client hangs
//! on a cold model. SIGTERM (or a `Shutdown` request) stops accepting, unlinks the socket and
//! exits 0. Sentences and commands are never logged.

mod connection;
pub mod runtime;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::Notify;

use crate::backend::{self, BackendSpec};
use crate::config::{Config, Flags};
use crate::engine::{review, Engine};
use crate::protocol::{DaemonStatus, Suggestion};
use crate::{context, model, paths, prompt};

/// Config file and environment, then the command line's flags.
pub fn effective_config(flags: &Flags) -> anyhow::Result<Config> {
    let explained = Config::explain(flags).context("could not read the configuration")?;
    Ok(explained.config)
}

pub fn backend_spec(config: &Config) -> BackendSpec {
    // The scripted backend reads its rules from the file `model` names; the others that load a
    // GGUF file resolve catalog roles.
    let model_path = if config.backend.iter().any(|b| b == "scripted") {
        PathBuf::from(&config.model)
    } else {
        model::resolve(&config.model)
    };
    BackendSpec {
        chain: config.backend.clone(),
        model_path,
        threads: config.threads.unwrap_or_else(backend::default_threads),
        max_tokens: config.max_tokens,
        fixed_turns: prompt::fixed_turns(),
        settings: config.backends.clone(),
    }
}

/// How the engine weighs and holds back candidates under `config`.
pub fn policy(config: &Config) -> review::Policy {
    review::Policy {
        candidates: config.candidates,
        safety: config.safety,
    }
}

/// How long the model stays loaded with nothing to do; `None`: for ever.
pub fn idle_unload(config: &Config) -> Option<Duration> {
    let minutes = config.idle_unload_minutes;
    (minutes > 0.0).then(|| Duration::from_secs_f64(minutes * 60.0))
}

/// State shared by every connection.
struct Shared {
    engine: Engine,
    /// What the engine was last told to open, and under which review policy: a reload
    /// compares the config read again against it.
    spec: std::sync::Mutex<(BackendSpec, review::Policy)>,
    /// The daemon's command line, which still wins over the file on a reload.
    flags: Flags,
    timeout: Duration,
    started: Instant,
    shutdown: Notify,
}

/// Runs the daemon in the foreground until SIGTERM, SIGINT or a `Shutdown` request.
pub fn run(flags: &Flags) -> anyhow::Result<()> {
    runtime::log_panics_by_place();
    if let Err(e) = runtime::forbid_core_dumps() {
        eprintln!("cmdai-daemon: could not turn core dumps off: {e}");
    }
    let config = effective_config(flags)?;
    let dir = paths::runtime_dir();
    paths::ensure_private_dir(&dir)?;
    let lock = runtime::lock_instance(&paths::pid_path())?;
    let lock_id = runtime::FileId::of_file(&lock).context("could not read the pid file")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let mut worker = None;
    let served = rt.block_on(serve(config, flags.clone(), lock_id, &mut worker));
    // Dropping the runtime drops the connections and with them the last engine handles: the
    // worker then closes the backend, which stops a llama-server it started. Give it a moment,
    // bounded, since a generation in hand finishes first.
    drop(rt);
    if let Some(worker) = worker {
        let deadline = Instant::now() + ENGINE_STOP;
        while !worker.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    drop(lock);
    served
}

/// How long a stopping daemon waits for the engine to close its backend.
const ENGINE_STOP: Duration = Duration::from_secs(5);

/// `lock` is the pid file this daemon holds: it may bind its socket again only while that
/// file is still in place.
async fn serve(
    config: Config,
    flags: Flags,
    lock: runtime::FileId,
    worker: &mut Option<std::thread::JoinHandle<()>>,
) -> anyhow::Result<()> {
    // Watch signals before anyone can know we exist: a SIGTERM right after the socket appears
    // must still unlink it.
    let mut term = signal(SignalKind::terminate()).context("could not watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("could not watch SIGINT")?;
    let mut hup = signal(SignalKind::hangup()).context("could not watch SIGHUP")?;
    let socket = paths::socket_path();
    let mut bound = runtime::bind(&socket)?;
    let spec = backend_spec(&config);
    eprintln!(
        "cmdai-daemon: pid {} listening on {}; loading {} with {} threads",
        std::process::id(),
        socket.display(),
        spec.model_path.display(),
        spec.threads
    );
    let shared = Arc::new(Shared {
        engine: Engine::spawn(
            spec.clone(),
            config.queue,
            policy(&config),
            idle_unload(&config),
        )
        .context("could not start the engine")?,
        spec: std::sync::Mutex::new((spec, policy(&config))),
        flags,
        timeout: Duration::from_millis(u64::from(config.timeout_ms)),
        started: Instant::now(),
        shutdown: Notify::new(),
    });
    *worker = shared.engine.take_worker();
    let mut footing = tokio::time::interval(runtime::SOCKET_CHECK);
    footing.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            accepted = bound.listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(connection::handle(stream, Arc::clone(&shared)));
                }
                Err(e) => eprintln!("cmdai-daemon: accept failed: {e}"),
            },
            // A socket file removed under us leaves a daemon nobody can reach, and the next
            // client would start a second one beside it: bind again, or give way.
            _ = footing.tick() => if !bound.intact() {
                match bound.rebind(&paths::pid_path(), lock) {
                    Ok(again) => {
                        eprintln!("cmdai-daemon: {} was removed; bound it again", socket.display());
                        bound = again;
                    }
                    Err(e) => {
                        eprintln!("cmdai-daemon: lost {}: {e}; stopping", socket.display());
                        break;
                    }
                }
            },
            // SIGHUP: read the configuration again, as `cmdai daemon reload` asks.
            _ = hup.recv() => if let Err(e) = reload(&shared) {
                eprintln!("cmdai-daemon: reload refused: {e:#}");
            },
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = shared.shutdown.notified() => break,
        }
    }
    bound.unlink();
    eprintln!("cmdai-daemon: stopped");
    Ok(())
}

fn status(shared: &Shared) -> DaemonStatus {
    let stats = shared.engine.stats();
    let (model_path, threads, chain) = {
        let spec = &lock_spec(shared).0;
        let path = spec.model_path.display().to_string();
        (path, spec.threads, spec.chain.clone())
    };
    DaemonStatus {
        state: stats.state,
        error: stats.error,
        pid: std::process::id(),
        daemon_version: env!("CARGO_PKG_VERSION").into(),
        backend: stats.backend,
        chain,
        model: stats.model,
        model_path,
        threads,
        uptime_ms: shared.started.elapsed().as_millis() as u64,
        load_ms: stats.load_ms,
        loads: stats.loads,
        requests_served: stats.requests_served,
        system_prompt_tokens: stats.fixed_prompt_tokens,
        last_prompt_tokens: stats.last_prompt_tokens,
        request_prompt_tokens: stats.request_prompt_tokens,
        rss_bytes: rss_bytes(),
        requests_cancelled: stats.requests_cancelled,
        requests_pending: stats.requests_pending,
        safety: stats.safety,
        commands_held_back: stats.commands_held_back,
        contexts_prepared: stats.contexts_prepared,
        prepared_tokens: stats.prepared_tokens,
        last_output_tokens: stats.last_output_tokens,
        cache_hits: stats.cache_hits,
    }
}

fn lock_spec(shared: &Shared) -> std::sync::MutexGuard<'_, (BackendSpec, review::Policy)> {
    shared.spec.lock().unwrap_or_else(|p| p.into_inner())
}

/// Reads the configuration again (a `Reload` request or SIGHUP). When the backend it names,
/// or how requests are reviewed, changed, the engine opens the backend again after the work
/// already queued; the socket stays. Returns whether anything changed.
fn reload(shared: &Shared) -> anyhow::Result<bool> {
    let config = effective_config(&shared.flags)?;
    let wanted = (backend_spec(&config), policy(&config));
    let idle_changed = shared.engine.set_idle(idle_unload(&config));
    let mut current = lock_spec(shared);
    if *current == wanted {
        return Ok(idle_changed);
    }
    shared
        .engine
        .reload(wanted.0.clone(), wanted.1)
        .map_err(|e| anyhow::anyhow!(e.message))?;
    eprintln!(
        "cmdai-daemon: reloading: {} with {} threads",
        wanted.0.model_path.display(),
        wanted.0.threads
    );
    *current = wanted;
    Ok(true)
}

fn rss_bytes() -> u64 {
    use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};
    let pid = Pid::from_u32(std::process::id());
    let mut system = System::new();
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        true,
        ProcessRefreshKind::nothing().with_memory(),
    );
    system.process(pid).map(|p| p.memory()).unwrap_or(0)
}

/// Loads the model, answers one sentence and exits: what every request costs a tool without a
/// daemon. The benchmark's baseline, checks (and a repair round) included.
pub fn once(flags: &Flags, sentence: &str, shell: &str) -> anyhow::Result<Suggestion> {
    let config = effective_config(flags)?;
    let spec = backend_spec(&config);
    let options = context::options()?;
    let request =
        context::build_request(sentence.into(), shell.into(), config.timeout_ms, &options);
    let started = Instant::now();
    let mut outcome = None;
    backend::open(&spec, &mut |backend| {
        // The request's own time starts once the model is loaded, as in the daemon.
        let deadline = Instant::now() + Duration::from_millis(u64::from(config.timeout_ms));
        let stop = || Instant::now() >= deadline;
        let result = review::generate(backend, &request, policy(&config), deadline, &stop);
        let result = result.map(|reviewed| {
            let suggestion = reviewed.into_suggestion(backend, config.safety);
            Suggestion {
                elapsed_ms: started.elapsed().as_millis() as u32,
                prompt_tokens: suggestion.prompt_tokens + backend.fixed_prompt_tokens(),
                ..suggestion
            }
        });
        outcome = Some(result);
    })?;
    Ok(outcome.context("the backend closed without answering")??)
}
