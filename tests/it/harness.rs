//! A temp HOME with every cmdai path inside it, and helpers to run the real binaries there.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub const TEST_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// True when CI demands that nothing be skipped.
pub fn require_all() -> bool {
    std::env::var("CMDAI_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// The tests model, or `None` (skip) when it is absent and CI does not require it.
pub fn test_model() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("CMDAI_TEST_MODEL").map(PathBuf::from),
        dirs::data_dir().map(|d| d.join("cmdai/models").join(TEST_MODEL_FILE)),
    ];
    if let Some(found) = candidates.into_iter().flatten().find(|p| p.is_file()) {
        return Some(found);
    }
    assert!(
        !require_all(),
        "the tests model is missing: run `cmdai model pull tests` or set CMDAI_TEST_MODEL"
    );
    eprintln!("skipped: the tests model is missing (run `cmdai model pull tests`)");
    None
}

pub struct TestEnv {
    pub root: TempDir,
}

impl TestEnv {
    /// A test env whose daemon will load the real tests model, or `None` (skip).
    pub fn with_test_model() -> Option<TestEnv> {
        let model = test_model()?;
        let env = TestEnv::new();
        env.write_config(&format!("model = \"{}\"\n", model.display()));
        Some(env)
    }

    /// Replaces the config file the env's binaries read.
    pub fn write_config(&self, text: &str) {
        std::fs::write(self.path("home/config.toml"), text).unwrap();
    }

    pub fn new() -> TestEnv {
        let root = tempfile::Builder::new()
            .prefix("cmdai-t")
            .tempdir()
            .unwrap();
        for dir in ["home", "run", "models", "state"] {
            std::fs::create_dir_all(root.path().join(dir)).unwrap();
        }
        // The runtime dir must be private before a daemon accepts it.
        set_mode(&root.path().join("run"), 0o700);
        TestEnv { root }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    pub fn runtime_dir(&self) -> PathBuf {
        self.path("run")
    }

    pub fn socket(&self) -> PathBuf {
        self.runtime_dir().join("daemon.sock")
    }

    /// A command for one of the binaries with the environment pointed into the temp HOME.
    pub fn command(&self, binary: &str) -> Command {
        let mut cmd = Command::new(binary);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("CMDAI_") || key == "XDG_RUNTIME_DIR" {
                cmd.env_remove(&key);
            }
        }
        cmd.env("HOME", self.path("home"))
            .env("CMDAI_RUNTIME_DIR", self.runtime_dir())
            .env("CMDAI_CONFIG", self.path("home/config.toml"))
            .env("CMDAI_MODELS_DIR", self.path("models"))
            .env("CMDAI_STATE_DIR", self.path("state"))
            .env("CMDAI_DAEMON_BIN", env!("CARGO_BIN_EXE_cmdai-daemon"))
            .env("SHELL", "/bin/bash")
            .current_dir(self.path("home"));
        cmd
    }

    pub fn cmdai(&self, args: &[&str]) -> Output {
        self.command(env!("CARGO_BIN_EXE_cmdai"))
            .args(args)
            .output()
            .unwrap()
    }

    /// Writes the scripted backend's canned answers and returns the file.
    pub fn script(&self, rules: &str) -> PathBuf {
        let path = self.path("script.txt");
        std::fs::write(&path, rules).unwrap();
        path
    }

    /// Starts a daemon with the scripted backend, waiting until it is ready.
    pub fn start_scripted(&self, rules: &str) {
        let script = self.script(rules);
        let out = self.cmdai(&[
            "daemon",
            "start",
            "--backend",
            "scripted",
            "--model",
            path_str(&script),
        ]);
        assert_success(&out);
    }

    /// `cmdai daemon status --json`, parsed; the daemon must be running.
    pub fn status_json(&self) -> serde_json::Value {
        let out = self.cmdai(&["daemon", "status", "--json"]);
        assert_success(&out);
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn daemon_pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.runtime_dir().join("daemon.pid")).ok()?;
        text.trim().parse().ok()
    }
}

/// Points the config at the scripted backend with a queue of one, so autostart needs no model
/// and a third concurrent request is answered busy.
pub fn scripted_config(env: &TestEnv, rules: &str) {
    let script = env.script(rules);
    let config = format!(
        "backend = \"scripted\"\nmodel = \"{}\"\nqueue = 1\n",
        script.display()
    );
    std::fs::write(env.path("home/config.toml"), config).unwrap();
}

/// Starts a daemon (from the `scripted_config` written here) whose answers to sentences with
/// `slow` take ten words of `token_ms` each.
pub fn slow_daemon(env: &TestEnv, token_ms: u64) {
    scripted_config(env, "slow => a b c d e f g h i j");
    let out = env
        .command(env!("CARGO_BIN_EXE_cmdai"))
        .args(["daemon", "start"])
        .env("CMDAI_SCRIPTED_TOKEN_MS", token_ms.to_string())
        .output()
        .unwrap();
    assert_success(&out);
}

/// Polls `ready` until it holds, or fails naming `what` once `limit` has passed.
#[track_caller]
pub fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the daemon counts one request cancelled, and checks that none was served.
#[track_caller]
pub fn wait_cancelled(env: &TestEnv, limit: Duration) {
    wait_until("the daemon to count the request cancelled", limit, || {
        env.status_json()["requests_cancelled"] == 1
    });
    assert_eq!(env.status_json()["requests_served"], 0);
}

/// Waits until the daemon holds a request (queued or being generated), so that a Ctrl-C after
/// it cancels work the daemon has, not a client that had not yet sent its request.
#[track_caller]
pub fn wait_request_pending(env: &TestEnv) {
    wait_until(
        "the daemon to hold a pending request",
        Duration::from_secs(30),
        || {
            env.status_json()["requests_pending"]
                .as_u64()
                .is_some_and(|n| n >= 1)
        },
    );
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let _ = self.cmdai(&["daemon", "stop"]);
    }
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[track_caller]
pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        stdout(out),
        stderr(out)
    );
}

/// The live (not zombie) children of `parent` for which `wanted(pid, comm)` holds.
pub fn children_of(parent: u32, wanted: impl Fn(u32, &str) -> bool) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid …; comm may hold spaces and parentheses.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let comm = head.split_once('(').map_or("", |(_, c)| c);
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("");
        let ppid = fields.next().and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) && state != "Z" && wanted(pid, comm) {
            found.push(pid);
        }
    }
    found
}

/// Blocks until `pid` no longer exists (it is not our child, so `wait` is not available).
pub fn wait_gone(pid: u32) {
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while proc_dir.exists() && !is_zombie(&proc_dir) {
        assert!(Instant::now() < deadline, "pid {pid} did not exit");
        std::thread::yield_now();
    }
}

fn is_zombie(proc_dir: &Path) -> bool {
    std::fs::read_to_string(proc_dir.join("stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(true)
}
