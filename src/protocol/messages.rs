//! The messages themselves. Append variants and bump `PROTOCOL_VERSION`; never reorder.

use serde::{Deserialize, Serialize};

use crate::validate::{Risk, Safety};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    Ping,
    Generate(GenerateRequest),
    Status,
    Shutdown,
    /// Fire and forget, sent when the shell draws a prompt and as the line is typed: evaluate
    /// what is known of the next request now, so that the key press pays for the rest only.
    /// Answered `Prepared` at once.
    Prepare(PrepareRequest),
    /// Read the configuration again and open the backend again if what it names changed,
    /// keeping the socket. Answered `Reloaded`, or an error naming the config file's fault.
    Reload,
}

/// What `cmdai prepare` renders: byte for byte how the next `Generate` from the current
/// directory will begin.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PrepareRequest {
    /// The directory's context block.
    pub context: String,
    /// The request text (`prompt::request_text`) of the line typed so far; empty at a fresh
    /// prompt.
    pub typed: String,
}

/// What the client knows that the daemon cannot see: the user's shell, directory and PATH.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GenerateRequest {
    pub sentence: String,
    pub shell: String,
    pub cwd: String,
    /// The user's PATH: under systemd the daemon's own PATH is not the user's.
    pub path: String,
    /// e.g. `linux x86_64` or `macos aarch64`.
    pub os: String,
    /// How long the client will wait, in milliseconds; the engine gives up after that.
    pub deadline_ms: u32,
    /// What the model is told about where the user is (directory and listing, git, system,
    /// tools), rendered by the client so that `cmdai ask --show-context` prints exactly what is
    /// sent. The same for every request from one place, so a daemon may keep its evaluation.
    pub context: String,
    /// Facts for this sentence alone: the first lines of files and the entries of folders it
    /// names. Rendered by the client; may be empty.
    pub details: String,
    /// How many candidates to weigh (1 to 4); 0 leaves it to the daemon's setting. The widgets
    /// ask for more when the user wants another command for the same sentence.
    pub candidates: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    Pong(Hello),
    Suggestion(Suggestion),
    Status(DaemonStatus),
    ShuttingDown,
    Error(WireError),
    /// The prepare was queued (or dropped because the engine is busy); nothing to wait for.
    Prepared,
    /// The configuration was read again; `changed` when any setting the daemon holds changed.
    Reloaded {
        changed: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub daemon_version: String,
    pub protocol: u16,
    pub pid: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    pub command: String,
    pub backend: String,
    pub model: String,
    /// Time the daemon spent on the request, queueing included.
    pub elapsed_ms: u32,
    /// Prompt tokens evaluated for this request (the cached system prompt is not counted).
    pub prompt_tokens: u32,
    pub output_tokens: u32,
    pub risk: Risk,
    /// Why the risk is what it is, most serious first; empty when safe.
    pub reasons: Vec<String>,
    /// Held back under the daemon's safety setting: the client must not insert `command`, which
    /// is still filled in so that `--json` can show it.
    pub blocked: bool,
    /// The target shell's syntax error, when its parser refused the command.
    pub syntax_error: Option<String>,
    /// Commands the line runs that are not on the user's PATH (nor builtins or functions).
    pub missing_tools: Vec<String>,
    /// What would fail in the user's directory: a folder written into that is not there, a
    /// folder read as a file.
    pub problems: Vec<String>,
    /// The first answer failed the syntax or tool check and this is the model's second try.
    pub repaired: bool,
    /// Other candidates that passed the checks and are not held back, best first; the widgets'
    /// second key press cycles through them.
    pub alternatives: Vec<Alternative>,
    /// Set when a backend of the daemon's chain was down and a later one answered: one line
    /// naming which and why, for the user's terminal.
    pub fallback: Option<String>,
}

/// A candidate command beside the chosen one, with its risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alternative {
    pub command: String,
    pub risk: Risk,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EngineState {
    Loading,
    Ready,
    Failed,
    /// The model was unloaded after the idle period; the next request loads it again.
    Unloaded,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaemonStatus {
    pub state: EngineState,
    /// Why loading failed, when it did.
    pub error: Option<String>,
    pub pid: u32,
    pub daemon_version: String,
    /// The backend that answers now (the last one that did, in a chain).
    pub backend: String,
    /// The backends config names, in the order they are tried.
    pub chain: Vec<String>,
    pub model: String,
    pub model_path: String,
    pub threads: u32,
    pub uptime_ms: u64,
    pub load_ms: u64,
    /// How many times the model was loaded in this daemon's life.
    pub loads: u32,
    pub requests_served: u64,
    /// Evaluated once at load and reused by every request.
    pub system_prompt_tokens: u32,
    /// Prompt tokens evaluated by the last request: its own part only.
    pub last_prompt_tokens: u32,
    /// Total prompt tokens evaluated by requests, to derive the per-request mean.
    pub request_prompt_tokens: u64,
    pub rss_bytes: u64,
    /// Requests stopped because their client hung up.
    pub requests_cancelled: u64,
    /// Requests queued or being generated right now.
    pub requests_pending: u32,
    /// The daemon's policy: which risks are held back.
    pub safety: Safety,
    /// Generated commands held back under that policy.
    pub commands_held_back: u64,
    /// Prepares handled (a block or line already kept counts, and costs nothing), and the
    /// tokens they evaluated ahead of a key press.
    pub contexts_prepared: u64,
    pub prepared_tokens: u64,
    /// Tokens generated by the last request, both rounds and all candidates' steps.
    pub last_output_tokens: u32,
    /// Requests answered from the cache of identical requests (still checked again).
    pub cache_hits: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireError {
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// The queue is full; try again shortly.
    Busy,
    /// The model is still loading.
    Loading,
    Timeout,
    Cancelled,
    BadRequest,
    /// The backend failed (model missing, load error, generation error).
    Backend,
    Internal,
}

impl WireError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        WireError {
            kind,
            message: message.into(),
        }
    }
}
