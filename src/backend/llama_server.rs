//! A llama-server process the daemon starts, watches and stops: for builds of llama.cpp the
//! embedded backend lacks (a GPU), or to keep the model out of the daemon's memory.
//!
//! The server listens on a free loopback port and is asked through the [`OpenAi`] client.
//! Its output goes to the daemon's stderr, which is the daemon log. A server that died is
//! started again, once, by the next request or availability check.
//!
//! It must not outlive the daemon. Dropping the backend kills it, but the daemon's `main`
//! may return before the engine thread gets to drop anything. So on Linux the server is
//! started through util-linux's `setpriv --pdeathsig KILL`, which asks the kernel to kill it
//! when the thread that started it (the engine's) goes away, however the daemon ends, even
//! by SIGKILL. Setting that signal ourselves would need a `pre_exec` hook, which is unsafe
//! code this crate forbids. Where `setpriv` is missing (macOS, minimal images) the server is
//! started directly and only dropping the backend stops it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::openai::{self, OpenAi};
use super::{http, Ask, Backend, BackendError, BackendSpec, Generation, StopCheck};
use crate::paths;
use crate::prompt::Turn;

/// The `[llama_server]` table. The model is the top-level `model`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// A name on PATH or a path.
    pub binary: String,
    /// Extra arguments, e.g. `["--n-gpu-layers", "99"]`.
    pub args: Vec<String>,
    /// How long one request may take before the next backend of the chain is tried.
    pub timeout_ms: u32,
    /// How long the server may take to load the model and answer `/health`.
    pub start_timeout_ms: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            binary: "llama-server".into(),
            args: Vec::new(),
            timeout_ms: 20_000,
            start_timeout_ms: 120_000,
        }
    }
}

/// The context the server allocates: the fixed turns, a context block and an answer fit with
/// room to spare. Without `-c` it takes the model's training context, gigabytes of KV cache
/// for some models.
const CONTEXT_TOKENS: &str = "8192";

/// The first wait between `/health` polls, doubled up to [`POLL_MAX`].
const POLL_FIRST: Duration = Duration::from_millis(50);
const POLL_MAX: Duration = Duration::from_secs(1);

/// Where the binary and the model are, without starting anything: for `cmdai doctor`.
pub fn probe(spec: &BackendSpec) -> Result<String, BackendError> {
    let binary = find_binary(&spec.settings.llama_server.binary)?;
    check_model(&spec.model_path)?;
    Ok(format!(
        "llama-server at {}, model {}",
        binary.display(),
        spec.model_path.display()
    ))
}

pub struct LlamaServer {
    binary: PathBuf,
    /// Everything after `--port P`: the model, threads, context and the configured extras.
    args: Vec<String>,
    /// The model's file name, as the embedded backend names it.
    model: String,
    model_path: PathBuf,
    settings: Settings,
    fixed_turns: Vec<Turn>,
    max_tokens: u32,
    running: Option<Running>,
}

/// A started server and the client that asks it.
struct Running {
    child: Child,
    api: OpenAi,
}

impl LlamaServer {
    /// Finds the binary and starts the server, returning once it answers `/health`.
    pub fn open(spec: &BackendSpec) -> Result<LlamaServer, BackendError> {
        let settings = spec.settings.llama_server.clone();
        let binary = find_binary(&settings.binary)?;
        check_model(&spec.model_path)?;
        let mut args: Vec<String> = vec![
            "-m".into(),
            spec.model_path.display().to_string(),
            "-t".into(),
            spec.threads.to_string(),
            "-c".into(),
            CONTEXT_TOKENS.into(),
            // One slot: the engine sends one request at a time, and the slot keeps the fixed
            // turns evaluated from one request to the next.
            "-np".into(),
            "1".into(),
        ];
        // Later arguments win in llama.cpp's parser, so the user's extras may override ours.
        args.extend(settings.args.iter().cloned());
        let mut server = LlamaServer {
            binary,
            args,
            model: spec.model_path.file_name().map_or_else(
                || spec.model_path.display().to_string(),
                |name| name.to_string_lossy().into_owned(),
            ),
            model_path: spec.model_path.clone(),
            settings,
            fixed_turns: spec.fixed_turns.clone(),
            max_tokens: spec.max_tokens,
            running: None,
        };
        server.running = Some(server.start()?);
        Ok(server)
    }

    fn start(&self) -> Result<Running, BackendError> {
        let port = free_port()?;
        let mut child = self.command(port).spawn().map_err(|e| {
            BackendError::Unavailable(format!(
                "llama-server: could not run {}: {e}: fix [llama_server] binary",
                self.binary.display()
            ))
        })?;
        eprintln!(
            "cmdai-daemon: started llama-server (pid {}) on 127.0.0.1:{port}",
            child.id()
        );
        let base_url = format!("http://127.0.0.1:{port}");
        if let Err(err) = self.wait_healthy(&mut child, &base_url) {
            stop(&mut child);
            return Err(err);
        }
        let settings = openai::Settings {
            base_url: format!("{base_url}/v1"),
            // llama-server answers with the model it loaded, whatever the request names.
            model: self.model.clone(),
            api_key_env: String::new(),
            timeout_ms: self.settings.timeout_ms,
        };
        let fix = "see the daemon log for llama-server's output";
        let api = OpenAi::at(
            "llama-server",
            fix,
            &settings,
            &self.fixed_turns,
            self.max_tokens,
        );
        Ok(Running { child, api })
    }

    fn command(&self, port: u16) -> Command {
        let mut command = match pdeathsig_wrapper() {
            Some(setpriv) => {
                let mut command = Command::new(setpriv);
                command
                    .args(["--pdeathsig", "KILL", "--"])
                    .arg(&self.binary);
                command
            }
            None => Command::new(&self.binary),
        };
        command
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(stderr_handle())
            .stderr(Stdio::inherit());
        command
    }

    /// Polls `/health` until it answers 200, the process exits, or the start timeout passes.
    fn wait_healthy(&self, child: &mut Child, base_url: &str) -> Result<(), BackendError> {
        let limit = Duration::from_millis(u64::from(self.settings.start_timeout_ms));
        let deadline = Instant::now() + limit;
        let health = format!("{base_url}/health");
        let mut pause = POLL_FIRST;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(exited(status, &self.model_path));
            }
            let answered = http::client()
                .get(&health)
                .timeout(POLL_MAX)
                .send()
                .is_ok_and(|r| r.status().is_success());
            if answered {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(BackendError::Unavailable(format!(
                    "llama-server did not answer {health} within {} s: see the daemon log ({}) \
                     or raise [llama_server] start_timeout_ms",
                    limit.as_secs(),
                    paths::log_path().display()
                )));
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(POLL_MAX);
        }
    }

    fn has_exited(&mut self) -> bool {
        let running = self.running.as_mut().map(|r| r.child.try_wait());
        matches!(running, Some(Ok(Some(_)) | Err(_)))
    }

    /// The client of a running server, starting the server again if it died.
    fn api(&mut self) -> Result<&mut OpenAi, BackendError> {
        if let Some(running) = &mut self.running {
            let exit = match running.child.try_wait() {
                Ok(status) => status.map(|s| s.to_string()),
                Err(e) => Some(e.to_string()),
            };
            if let Some(why) = exit {
                eprintln!("cmdai-daemon: llama-server exited ({why}); starting it again");
                self.running = None;
            }
        }
        let running = match self.running.take() {
            Some(running) => running,
            None => self.start()?,
        };
        Ok(&mut self.running.insert(running).api)
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        if let Some(running) = &mut self.running {
            stop(&mut running.child);
        }
    }
}

impl Backend for LlamaServer {
    fn name(&self) -> &str {
        "llama-server"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn generate(&mut self, ask: &Ask, stop: &dyn StopCheck) -> Result<Generation, BackendError> {
        if stop.should_stop() {
            return Err(BackendError::Stopped);
        }
        let answer = self.api()?.generate(ask, stop);
        if answer.is_err() && self.has_exited() {
            // It died during the request: started again and asked again, once.
            return self.api()?.generate(ask, stop);
        }
        answer
    }

    fn available(&mut self) -> Result<(), BackendError> {
        self.api()?.available()
    }
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn exited(status: ExitStatus, model: &Path) -> BackendError {
    BackendError::Unavailable(format!(
        "llama-server exited ({status}) while loading {}: see its output in the daemon log ({})",
        model.display(),
        paths::log_path().display()
    ))
}

/// `binary` as a path when it has a slash, else looked up on PATH.
fn find_binary(binary: &str) -> Result<PathBuf, BackendError> {
    let not_found = |what: String| {
        BackendError::Unavailable(format!(
            "llama-server: {what}: install llama.cpp's llama-server or set [llama_server] binary \
             to its path"
        ))
    };
    if binary.contains('/') {
        let path = match binary.strip_prefix("~/") {
            Some(rest) => dirs::home_dir().unwrap_or_default().join(rest),
            None => PathBuf::from(binary),
        };
        return match is_executable(&path) {
            true => Ok(path),
            false => Err(not_found(format!(
                "{} is not an executable file",
                path.display()
            ))),
        };
    }
    on_path(binary).ok_or_else(|| not_found(format!("{binary} is not on PATH")))
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn check_model(path: &Path) -> Result<(), BackendError> {
    if path.is_file() {
        return Ok(());
    }
    Err(BackendError::Unavailable(format!(
        "llama-server: the model {} does not exist: run `cmdai model pull` or fix `model` in the config",
        path.display()
    )))
}

/// `setpriv`, on Linux where util-linux provides it (see the module's comment).
fn pdeathsig_wrapper() -> Option<PathBuf> {
    if cfg!(target_os = "linux") {
        on_path("setpriv")
    } else {
        None
    }
}

/// A port nothing listens on now. Another process could take it before the server binds it;
/// then the server exits and says so in the log.
fn free_port() -> Result<u16, BackendError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| {
            BackendError::Unavailable(format!("llama-server: no free loopback port: {e}"))
        })?;
    Ok(listener.port())
}

/// The daemon's stderr (its log), for the server's stdout: the daemon's own stdout may carry
/// an answer (`cmdai-daemon --once`).
fn stderr_handle() -> Stdio {
    use std::os::fd::AsFd;
    match std::io::stderr().as_fd().try_clone_to_owned() {
        Ok(fd) => Stdio::from(fd),
        Err(_) => Stdio::null(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_binary_names_llama_server_and_the_fix() {
        for binary in ["cmdai-no-such-llama-server", "/nonexistent/llama-server"] {
            let message = find_binary(binary).unwrap_err().to_string();
            assert!(message.starts_with("llama-server: "), "{message}");
            assert!(message.contains(binary), "{message}");
            assert!(
                message.ends_with(
                    "install llama.cpp's llama-server or set [llama_server] binary to its path"
                ),
                "{message}"
            );
        }
    }

    #[test]
    fn a_binary_name_is_looked_up_on_path() {
        assert!(find_binary("sh").unwrap().is_absolute());
        assert_eq!(find_binary("/bin/sh").unwrap(), PathBuf::from("/bin/sh"));
    }

    #[test]
    fn a_missing_model_is_named() {
        let message = check_model(Path::new("/nonexistent/m.gguf"))
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("llama-server: the model /nonexistent/m.gguf"),
            "{message}"
        );
    }

    #[test]
    fn free_ports_are_not_zero() {
        assert_ne!(free_port().unwrap(), 0);
    }
}
