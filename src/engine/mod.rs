//! One named thread owns the backend; everyone else talks to it through a bounded queue.
//!
//! Connection tasks submit a [`Job`] and await a oneshot reply. Each job carries a deadline and
//! a cancel flag that the worker checks between tokens; a full queue answers `Busy` at once and
//! a backend still loading answers `Loading`, so no client ever hangs on the engine. Every
//! answer is checked (and perhaps repaired) by [`review`] before it is sent.
//!
//! Besides jobs, the queue carries prepares: what is known of the next request (the place's
//! context block, and the line typed so far) to evaluate while the user types. Only the newest
//! counts: it waits in a mailbox, replacing the one before, and the queue carries at most one
//! nudge for it, so prepares sent at every key stroke never take a job's place in the queue. A
//! prepare gives way, between small batches, as soon as a job, or a prepare from another place,
//! is waiting. Identical requests are answered from a [`cache`] and checked again.

pub mod cache;
pub mod review;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::backend::{self, Backend, BackendError, BackendSpec};
use crate::protocol::{EngineState, ErrorKind, GenerateRequest, Suggestion, WireError};
use crate::validate::Safety;
use review::Policy;

/// What a request is told while the backend opens for the first time; the client shows it.
pub const LOADING: &str = "loading the model";

/// What the worker is asked to do.
enum Work {
    Generate(Box<Job>),
    /// Evaluate what waits in the prepare mailbox now, for the key press that will follow.
    Prepare,
    /// Open this backend instead of the current one, once the work queued before it is done.
    Reload(Box<(BackendSpec, Policy)>),
    /// Nothing to do but wait again: the idle period changed.
    Wake,
}

/// What is known of a request before the key press: the place's context block and the request
/// text of the line typed so far (empty at a fresh prompt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ahead {
    pub context: String,
    pub typed: String,
}

/// The newest prepare, waiting for the worker, and whether a nudge for it is in the queue.
#[derive(Default)]
struct Mailbox {
    ahead: Mutex<Option<Ahead>>,
    nudged: AtomicBool,
}

impl Mailbox {
    fn slot(&self) -> MutexGuard<'_, Option<Ahead>> {
        self.ahead.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub struct Job {
    pub request: GenerateRequest,
    pub deadline: Instant,
    pub cancel: Arc<AtomicBool>,
    pub reply: oneshot::Sender<Result<Suggestion, WireError>>,
    pub queued_at: Instant,
}

/// What status reports about the engine; updated by the worker.
#[derive(Debug, Clone)]
pub struct EngineStats {
    pub state: EngineState,
    pub error: Option<String>,
    pub backend: String,
    pub model: String,
    pub load_ms: u64,
    pub loads: u32,
    pub requests_served: u64,
    pub fixed_prompt_tokens: u32,
    pub last_prompt_tokens: u32,
    pub request_prompt_tokens: u64,
    pub requests_cancelled: u64,
    pub requests_pending: u32,
    pub safety: Safety,
    pub commands_held_back: u64,
    pub contexts_prepared: u64,
    pub prepared_tokens: u64,
    pub last_output_tokens: u32,
    pub cache_hits: u64,
    /// The chain holds a backend that loads a model file (embedded, llama-server), which is
    /// worth telling a waiting user about; remote ones open at once.
    pub loads_model: bool,
}

#[derive(Clone)]
pub struct Engine {
    jobs: mpsc::Sender<Work>,
    /// Jobs that may wait beside the one being served before new ones are answered `Busy`.
    queue: usize,
    /// How long the backend stays open with nothing to do; read by the worker at every wait.
    idle: Arc<Mutex<Option<Duration>>>,
    stats: Arc<Mutex<EngineStats>>,
    /// The worker thread, for the one who waits for it at shutdown ([`Engine::take_worker`]).
    worker: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
    ahead: Arc<Mailbox>,
}

impl Engine {
    /// Starts the worker thread, which opens the backend and then serves jobs until every
    /// `Engine` handle is dropped. `policy` says how many candidates to weigh and which commands
    /// are marked held back.
    ///
    /// With `idle` set, the backend is closed (the model's memory given back) after that long
    /// without work, and opened again by the next request or prepare.
    pub fn spawn(
        spec: BackendSpec,
        queue: usize,
        policy: Policy,
        idle: Option<Duration>,
    ) -> std::io::Result<Engine> {
        let queue = queue.max(1);
        // Room for every job accepted (`queue` + 1, before the worker takes the first) and the
        // one prepare nudge: a prepare never makes a job `Busy`.
        let (jobs, rx) = mpsc::channel(queue + 2);
        let stats = Arc::new(Mutex::new(EngineStats {
            state: EngineState::Loading,
            error: None,
            backend: spec.chain.join(", "),
            model: spec.model_path.display().to_string(),
            load_ms: 0,
            loads: 0,
            requests_served: 0,
            fixed_prompt_tokens: 0,
            last_prompt_tokens: 0,
            request_prompt_tokens: 0,
            requests_cancelled: 0,
            requests_pending: 0,
            safety: policy.safety,
            commands_held_back: 0,
            contexts_prepared: 0,
            prepared_tokens: 0,
            last_output_tokens: 0,
            cache_hits: 0,
            loads_model: spec
                .chain
                .iter()
                .any(|b| matches!(b.as_str(), "embedded" | "llama-server")),
        }));
        let worker_stats = Arc::clone(&stats);
        let idle = Arc::new(Mutex::new(idle));
        let worker_idle = Arc::clone(&idle);
        let ahead = Arc::new(Mailbox::default());
        let worker_ahead = Arc::clone(&ahead);
        let worker = std::thread::Builder::new()
            .name("cmdai-engine".into())
            .spawn(move || run_worker(spec, policy, worker_idle, rx, worker_stats, worker_ahead))?;
        Ok(Engine {
            jobs,
            queue,
            idle,
            stats,
            worker: Arc::new(Mutex::new(Some(worker))),
            ahead,
        })
    }

    /// The worker thread's handle (once). It ends, closing the backend (and stopping any
    /// process a backend started), after every `Engine` handle is dropped and the job in hand
    /// is done.
    pub fn take_worker(&self) -> Option<std::thread::JoinHandle<()>> {
        self.worker.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    pub fn stats(&self) -> EngineStats {
        lock(&self.stats).clone()
    }

    /// Queues a job, or says at once why it cannot be served.
    pub fn submit(&self, job: Job) -> Result<(), WireError> {
        let stats = self.stats();
        match stats.state {
            // The first load: the client waits on status, and says so. Later loads (after an
            // idle unload or a reload) queue the job, which is served once the model is back.
            EngineState::Loading if stats.loads == 0 => {
                let doing = if stats.loads_model { LOADING } else { "" };
                return Err(WireError::new(ErrorKind::Loading, doing));
            }
            EngineState::Loading | EngineState::Unloaded => {}
            EngineState::Failed => {
                let why = stats.error.unwrap_or_default();
                return Err(WireError::new(ErrorKind::Backend, why));
            }
            EngineState::Ready => {}
        }
        let busy = || {
            WireError::new(
                ErrorKind::Busy,
                "the daemon is busy with other requests; try again",
            )
        };
        {
            // Counted before it is queued, so the worker's decrement can never come first.
            let mut s = lock(&self.stats);
            // One being served and `queue` waiting.
            if s.requests_pending as usize > self.queue {
                return Err(busy());
            }
            s.requests_pending += 1;
        }
        self.jobs
            .try_send(Work::Generate(Box::new(job)))
            .map_err(|e| {
                let mut s = lock(&self.stats);
                s.requests_pending = s.requests_pending.saturating_sub(1);
                match e {
                    mpsc::error::TrySendError::Full(_) => busy(),
                    mpsc::error::TrySendError::Closed(_) => {
                        WireError::new(ErrorKind::Internal, "the engine has stopped")
                    }
                }
            })
    }
}

impl Engine {
    /// Queues `ahead` for evaluation before the key press, replacing any prepare not started
    /// yet. Fire and forget: while the model loads the prepare is dropped, and the key press
    /// evaluates it all.
    pub fn prepare(&self, ahead: Ahead) {
        let state = self.stats().state;
        if ahead.context.is_empty() && ahead.typed.is_empty()
            || !matches!(state, EngineState::Ready | EngineState::Unloaded)
        {
            return;
        }
        *self.ahead.slot() = Some(ahead);
        // A nudge already queued will find this one.
        if !self.ahead.nudged.swap(true, Ordering::SeqCst)
            && self.jobs.try_send(Work::Prepare).is_err()
        {
            self.ahead.nudged.store(false, Ordering::SeqCst);
        }
    }

    /// Sets the idle period (`None` keeps the backend open for ever); returns whether it
    /// changed, in which case the worker's wait in progress starts over under the new one.
    pub fn set_idle(&self, idle: Option<Duration>) -> bool {
        let old = std::mem::replace(
            &mut *self.idle.lock().unwrap_or_else(|p| p.into_inner()),
            idle,
        );
        let changed = old != idle;
        if changed {
            let _ = self.jobs.try_send(Work::Wake);
        }
        changed
    }

    /// Asks the worker to open `spec` under `policy` once the work queued before is done: the
    /// socket and the queue stay, requests in between are served by the old backend.
    pub fn reload(&self, spec: BackendSpec, policy: Policy) -> Result<(), WireError> {
        self.jobs
            .try_send(Work::Reload(Box::new((spec, policy))))
            .map_err(|_| WireError::new(ErrorKind::Busy, "the engine is busy; reload again"))
    }
}

fn lock(stats: &Mutex<EngineStats>) -> MutexGuard<'_, EngineStats> {
    // A panic elsewhere must not take status down with it: the data is plain counters.
    stats
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Why the worker let go of a backend.
enum Release {
    /// Every `Engine` handle is gone: the daemon is stopping.
    Closed,
    /// Nothing came for the idle period: free the model's memory until the next request.
    Idle,
    /// The configuration changed: open this instead.
    Reload(Box<(BackendSpec, Policy)>),
}

fn run_worker(
    mut spec: BackendSpec,
    mut policy: Policy,
    idle: Arc<Mutex<Option<Duration>>>,
    mut jobs: mpsc::Receiver<Work>,
    stats: Arc<Mutex<EngineStats>>,
    ahead: Arc<Mailbox>,
) {
    // Waits with a timeout need a clock; this thread's own runtime provides one.
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    else {
        fail_forever(
            &mut jobs,
            &stats,
            "could not start the engine's timer".into(),
        );
        return;
    };
    // Work that arrived while no backend was open: served first once one is.
    let mut waiting: Option<Work> = None;
    loop {
        let started = Instant::now();
        lock(&stats).state = EngineState::Loading;
        let mut release = Release::Closed;
        let result = backend::open(&spec, &mut |backend| {
            loaded(backend, started, &stats);
            let mut cache = cache::AnswerCache::default();
            let mut waiting = waiting.take();
            loop {
                let work = match waiting.take() {
                    Some(work) => work,
                    None => match receive(&rt, &mut jobs, current(&idle)) {
                        Some(Some(work)) => work,
                        Some(None) => return,
                        None => {
                            release = Release::Idle;
                            return;
                        }
                    },
                };
                let mut backend = cache::Remembering {
                    backend: &mut *backend,
                    cache: &mut cache,
                };
                match work {
                    Work::Generate(job) => serve_job(&mut backend, policy, *job, &stats),
                    Work::Prepare => prepare(&mut backend, &ahead, &stats),
                    Work::Reload(new) => {
                        release = Release::Reload(new);
                        return;
                    }
                    Work::Wake => {}
                }
                lock(&stats).cache_hits = cache.hits;
            }
        });
        if let Err(err) = result {
            eprintln!("cmdai-daemon: backend failed: {err}");
            {
                let mut s = lock(&stats);
                s.state = EngineState::Failed;
                s.error = Some(err.to_string());
            }
            // Keep answering so queued clients hear why instead of hanging, until a reload
            // brings a configuration worth another try.
            match fail_until_reload(&mut jobs, &err.to_string()) {
                Some(new) => {
                    (spec, policy) = new;
                    lock(&stats).safety = policy.safety;
                    continue;
                }
                None => return,
            }
        }
        match release {
            Release::Closed => return,
            Release::Reload(new) => {
                eprintln!("cmdai-daemon: configuration changed; opening the backend again");
                (spec, policy) = *new;
                lock(&stats).safety = policy.safety;
            }
            Release::Idle => {
                lock(&stats).state = EngineState::Unloaded;
                eprintln!("cmdai-daemon: idle: model unloaded until the next request");
                // Anything at all wakes it: a request, or a prompt drawn (the user is back).
                loop {
                    match jobs.blocking_recv() {
                        None => return,
                        Some(Work::Reload(new)) => {
                            (spec, policy) = *new;
                            lock(&stats).safety = policy.safety;
                        }
                        Some(Work::Wake) => {}
                        Some(work) => {
                            waiting = Some(work);
                            break;
                        }
                    }
                }
            }
        }
    }
}

fn current(idle: &Mutex<Option<Duration>>) -> Option<Duration> {
    *idle.lock().unwrap_or_else(|p| p.into_inner())
}

/// The next piece of work: `Some(None)` when the queue is closed, `None` after `idle` with
/// nothing.
fn receive(
    rt: &tokio::runtime::Runtime,
    jobs: &mut mpsc::Receiver<Work>,
    idle: Option<Duration>,
) -> Option<Option<Work>> {
    match idle {
        // The timer is made inside the runtime: it needs the runtime's clock when created.
        Some(limit) => rt
            .block_on(async { tokio::time::timeout(limit, jobs.recv()).await })
            .ok(),
        None => Some(jobs.blocking_recv()),
    }
}

fn loaded(backend: &dyn Backend, started: Instant, stats: &Mutex<EngineStats>) {
    {
        let mut s = lock(stats);
        s.state = EngineState::Ready;
        s.error = None;
        s.load_ms = started.elapsed().as_millis() as u64;
        s.loads += 1;
        s.backend = backend.name().to_string();
        s.model = backend.model().to_string();
        s.fixed_prompt_tokens = backend.fixed_prompt_tokens();
    }
    let with = match backend.model() {
        "" => String::new(),
        model => format!(" with {model}"),
    };
    eprintln!(
        "cmdai-daemon: {} backend ready{with} in {} ms ({} prompt tokens cached)",
        backend.name(),
        started.elapsed().as_millis(),
        backend.fixed_prompt_tokens()
    );
}

/// Answers every job with `why` until a reload (returned) or the end of the queue (`None`).
fn fail_until_reload(jobs: &mut mpsc::Receiver<Work>, why: &str) -> Option<(BackendSpec, Policy)> {
    while let Some(work) = jobs.blocking_recv() {
        match work {
            Work::Generate(job) => {
                let _ = job.reply.send(Err(WireError::new(ErrorKind::Backend, why)));
            }
            Work::Prepare | Work::Wake => {}
            Work::Reload(new) => return Some(*new),
        }
    }
    None
}

fn fail_forever(jobs: &mut mpsc::Receiver<Work>, stats: &Mutex<EngineStats>, why: String) {
    {
        let mut s = lock(stats);
        s.state = EngineState::Failed;
        s.error = Some(why.clone());
    }
    while fail_until_reload(jobs, &why).is_some() {}
}

/// Evaluates the newest prepare ahead of time, giving way as soon as a job, or a prepare from
/// another place, is waiting.
fn prepare(backend: &mut dyn Backend, mailbox: &Mailbox, stats: &Mutex<EngineStats>) {
    // Cleared before the mailbox is read: a prepare arriving from now on sends a nudge of its own.
    mailbox.nudged.store(false, Ordering::SeqCst);
    let Some(ahead) = mailbox.slot().take() else {
        return;
    };
    // A newer line from the same place does not stop this one: its block is still wanted, and
    // the newer line keeps whatever start it shares with this one.
    let newer_place = || {
        let slot = mailbox.slot();
        slot.as_ref()
            .is_some_and(|newer| newer.context != ahead.context)
    };
    let give_way = || lock(stats).requests_pending > 0 || newer_place();
    if give_way() {
        return;
    }
    let ask = backend::Ask::ahead(&ahead.context, &ahead.typed);
    count(backend.prepare(&ask, &give_way), stats);
}

/// Counts a prepare's tokens once it finished.
fn count(result: Result<u32, BackendError>, stats: &Mutex<EngineStats>) {
    match result {
        Ok(tokens) => {
            let mut s = lock(stats);
            s.contexts_prepared += 1;
            s.prepared_tokens += u64::from(tokens);
        }
        Err(BackendError::Stopped) => {}
        Err(err) => eprintln!("cmdai-daemon: preparing a context failed: {err}"),
    }
}

fn serve_job(backend: &mut dyn Backend, policy: Policy, job: Job, stats: &Mutex<EngineStats>) {
    answer_job(backend, policy, job, stats);
    let mut s = lock(stats);
    s.requests_pending = s.requests_pending.saturating_sub(1);
}

fn answer_job(backend: &mut dyn Backend, policy: Policy, job: Job, stats: &Mutex<EngineStats>) {
    let Job {
        request,
        deadline,
        cancel,
        reply,
        queued_at,
    } = job;
    let stop = || cancel.load(Ordering::Relaxed) || Instant::now() >= deadline;
    if stop() {
        let _ = reply.send(Err(stopped_error(&cancel, stats)));
        return;
    }
    let outcome = review::generate(backend, &request, policy, deadline, &stop);
    let result = match outcome {
        Ok(reviewed) => {
            let mut s = lock(stats);
            let suggestion = Suggestion {
                elapsed_ms: elapsed_ms(queued_at),
                ..reviewed.into_suggestion(backend, s.safety)
            };
            s.requests_served += 1;
            if s.backend != suggestion.backend || s.model != suggestion.model {
                s.backend.clone_from(&suggestion.backend);
                s.model.clone_from(&suggestion.model);
            }
            s.last_prompt_tokens = suggestion.prompt_tokens;
            s.last_output_tokens = suggestion.output_tokens;
            s.request_prompt_tokens += u64::from(suggestion.prompt_tokens);
            s.commands_held_back += u64::from(suggestion.blocked);
            Ok(suggestion)
        }
        Err(BackendError::Stopped) => Err(stopped_error(&cancel, stats)),
        Err(err) => Err(WireError::new(ErrorKind::Backend, err.to_string())),
    };
    let _ = reply.send(result);
}

fn stopped_error(cancel: &AtomicBool, stats: &Mutex<EngineStats>) -> WireError {
    if cancel.load(Ordering::Relaxed) {
        lock(stats).requests_cancelled += 1;
        WireError::new(ErrorKind::Cancelled, "the request was cancelled")
    } else {
        WireError::new(ErrorKind::Timeout, "no command within the deadline")
    }
}

fn elapsed_ms(since: Instant) -> u32 {
    since.elapsed().as_millis().min(u128::from(u32::MAX)) as u32
}

/// A job for `request`, due by its own deadline (capped by `max`), and the receiver for its reply.
pub fn job_for(
    request: GenerateRequest,
    max: Duration,
    cancel: Arc<AtomicBool>,
) -> (Job, oneshot::Receiver<Result<Suggestion, WireError>>) {
    let (reply, rx) = oneshot::channel();
    let asked = Duration::from_millis(u64::from(request.deadline_ms));
    let budget = if asked.is_zero() { max } else { asked.min(max) };
    let now = Instant::now();
    let job = Job {
        request,
        deadline: now + budget,
        cancel,
        reply,
        queued_at: now,
    };
    (job, rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scripted(dir: &std::path::Path) -> BackendSpec {
        let script = dir.join("script.txt");
        std::fs::write(&script, "list => ls -la\n").unwrap();
        BackendSpec {
            chain: vec!["scripted".into()],
            model_path: script,
            threads: 1,
            max_tokens: 16,
            fixed_turns: Vec::new(),
            settings: Default::default(),
        }
    }

    fn policy() -> Policy {
        Policy {
            candidates: 1,
            safety: Safety::Normal,
        }
    }

    fn wait_for(engine: &Engine, what: &str, ready: impl Fn(&EngineStats) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ready(&engine.stats()) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn ask(engine: &Engine) -> Suggestion {
        let request = GenerateRequest {
            sentence: "list the files".into(),
            shell: "bash".into(),
            ..GenerateRequest::default()
        };
        let cancel = Arc::new(AtomicBool::new(false));
        let (job, reply) = job_for(request, Duration::from_secs(10), cancel);
        engine.submit(job).unwrap();
        reply.blocking_recv().unwrap().unwrap()
    }

    /// After the idle period the backend is closed; a request opens it again and is answered.
    #[test]
    fn an_idle_engine_unloads_and_a_request_loads_it_again() {
        let dir = tempfile::tempdir().unwrap();
        let idle = Some(Duration::from_millis(100));
        let engine = Engine::spawn(scripted(dir.path()), 2, policy(), idle).unwrap();
        wait_for(&engine, "the first load", |s| s.state == EngineState::Ready);
        assert_eq!(ask(&engine).command, "ls -la");
        wait_for(&engine, "the unload", |s| s.state == EngineState::Unloaded);
        assert_eq!(ask(&engine).command, "ls -la");
        let stats = engine.stats();
        assert_eq!((stats.loads, stats.requests_served), (2, 2));
    }

    /// An idle period set while the worker waits without one takes effect at once.
    #[test]
    fn a_new_idle_period_applies_to_the_wait_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::spawn(scripted(dir.path()), 2, policy(), None).unwrap();
        wait_for(&engine, "the first load", |s| s.state == EngineState::Ready);
        assert!(engine.set_idle(Some(Duration::from_millis(50))));
        assert!(
            !engine.set_idle(Some(Duration::from_millis(50))),
            "unchanged"
        );
        wait_for(&engine, "the unload", |s| s.state == EngineState::Unloaded);
        assert_eq!(
            engine.stats().loads,
            1,
            "a wake must not load the model again"
        );
    }

    /// Prepares sent at every key stroke, faster than they are evaluated, hold at most one
    /// place in the queue, so a key press right after them is never `Busy`; the mailbox keeps the
    /// newest, and the worker takes it.
    #[test]
    fn prepares_at_every_key_stroke_never_crowd_out_the_key_press() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::spawn(scripted(dir.path()), 2, policy(), None).unwrap();
        wait_for(&engine, "the first load", |s| s.state == EngineState::Ready);
        let line = "Request: list the files";
        let free = engine.jobs.capacity();
        for end in 1..=line.len() {
            engine.prepare(Ahead {
                context: String::new(),
                typed: line[..end].to_string(),
            });
            assert!(
                engine.jobs.capacity() + 1 >= free,
                "a second nudge was queued"
            );
        }
        assert_eq!(ask(&engine).command, "ls -la");
        for end in 1..=line.len() {
            engine.prepare(Ahead {
                context: String::new(),
                typed: line[..end].to_string(),
            });
        }
        let drained =
            || engine.ahead.slot().is_none() && !engine.ahead.nudged.load(Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !drained() {
            assert!(
                Instant::now() < deadline,
                "the newest prepare was never taken"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A reload opens the new backend after the work queued before it; status follows.
    #[test]
    fn a_reload_opens_the_new_backend() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::spawn(scripted(dir.path()), 2, policy(), None).unwrap();
        wait_for(&engine, "the first load", |s| s.state == EngineState::Ready);
        let other = dir.path().join("other.txt");
        std::fs::write(&other, "list => ls -S\n").unwrap();
        let spec = BackendSpec {
            model_path: other,
            ..scripted(dir.path())
        };
        let strict = Policy {
            safety: Safety::Strict,
            ..policy()
        };
        engine.reload(spec, strict).unwrap();
        wait_for(&engine, "the reload", |s| s.loads == 2);
        assert_eq!(ask(&engine).command, "ls -S");
        assert_eq!(engine.stats().safety, Safety::Strict);
    }
}
