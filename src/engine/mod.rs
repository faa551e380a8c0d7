//! One named thread owns the backend; everyone else talks to it through a bounded queue.
//!
//! Connection tasks submit a [`Job`] and await a oneshot reply. Each job carries a deadline and
//! a cancel flag that the worker checks between tokens; a full queue answers `Busy` at once and
//! a backend still loading answers `Loading`, so no client ever hangs on the engine. Every
//! answer is checked (and perhaps repaired) by [`review`] before it is sent.

pub mod review;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::backend::{self, Backend, BackendError, BackendSpec};
use crate::protocol::{EngineState, ErrorKind, GenerateRequest, Suggestion, WireError};
use crate::validate::Safety;
use review::Policy;

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
}

#[derive(Clone)]
pub struct Engine {
    jobs: mpsc::Sender<Job>,
    stats: Arc<Mutex<EngineStats>>,
}

impl Engine {
    /// Starts the worker thread, which opens the backend and then serves jobs until every
    /// `Engine` handle is dropped. `policy` says how many candidates to weigh and which commands
    /// are marked held back.
    pub fn spawn(spec: BackendSpec, queue: usize, policy: Policy) -> std::io::Result<Engine> {
        let (jobs, rx) = mpsc::channel(queue.max(1));
        let stats = Arc::new(Mutex::new(EngineStats {
            state: EngineState::Loading,
            error: None,
            backend: spec.kind.clone(),
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
        }));
        let worker_stats = Arc::clone(&stats);
        std::thread::Builder::new()
            .name("cmdai-engine".into())
            .spawn(move || run_worker(spec, policy, rx, worker_stats))?;
        Ok(Engine { jobs, stats })
    }

    pub fn stats(&self) -> EngineStats {
        lock(&self.stats).clone()
    }

    /// Queues a job, or says at once why it cannot be served.
    pub fn submit(&self, job: Job) -> Result<(), WireError> {
        let stats = self.stats();
        match stats.state {
            EngineState::Loading => {
                return Err(WireError::new(
                    ErrorKind::Loading,
                    "the model is still loading",
                ))
            }
            EngineState::Failed => {
                let why = stats.error.unwrap_or_default();
                return Err(WireError::new(ErrorKind::Backend, why));
            }
            EngineState::Ready => {}
        }
        // Counted before it is queued, so the worker's decrement can never come first.
        lock(&self.stats).requests_pending += 1;
        self.jobs.try_send(job).map_err(|e| {
            let mut s = lock(&self.stats);
            s.requests_pending = s.requests_pending.saturating_sub(1);
            match e {
                mpsc::error::TrySendError::Full(_) => WireError::new(
                    ErrorKind::Busy,
                    "the daemon is busy with other requests; try again",
                ),
                mpsc::error::TrySendError::Closed(_) => {
                    WireError::new(ErrorKind::Internal, "the engine has stopped")
                }
            }
        })
    }
}

fn lock(stats: &Mutex<EngineStats>) -> MutexGuard<'_, EngineStats> {
    // A panic elsewhere must not take status down with it: the data is plain counters.
    stats
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn run_worker(
    spec: BackendSpec,
    policy: Policy,
    mut jobs: mpsc::Receiver<Job>,
    stats: Arc<Mutex<EngineStats>>,
) {
    let started = Instant::now();
    let result = backend::open(&spec, &mut |backend| {
        {
            let mut s = lock(&stats);
            s.state = EngineState::Ready;
            s.load_ms = started.elapsed().as_millis() as u64;
            s.loads += 1;
            s.backend = backend.name().to_string();
            s.model = backend.model().to_string();
            s.fixed_prompt_tokens = backend.fixed_prompt_tokens();
        }
        eprintln!(
            "cmdai-daemon: {} backend ready with {} in {} ms ({} prompt tokens cached)",
            backend.name(),
            backend.model(),
            started.elapsed().as_millis(),
            backend.fixed_prompt_tokens()
        );
        while let Some(job) = jobs.blocking_recv() {
            serve_job(backend, policy, job, &stats);
        }
    });
    if let Err(err) = result {
        eprintln!("cmdai-daemon: backend failed: {err}");
        let mut s = lock(&stats);
        s.state = EngineState::Failed;
        s.error = Some(err.to_string());
        drop(s);
        // Keep answering so queued clients hear why instead of hanging.
        while let Some(job) = jobs.blocking_recv() {
            let _ = job
                .reply
                .send(Err(WireError::new(ErrorKind::Backend, err.to_string())));
        }
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
            s.last_prompt_tokens = suggestion.prompt_tokens;
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
