//! Real interactive shells under tmux: type keys, read the screen.
//!
//! Waiting is always for a condition on the screen (with a deadline and the screen in the
//! failure message), never a fixed sleep.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{require_all, TestEnv};

/// The shell's binary, or `None` (skip) when absent and CI does not require it.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            !require_all(),
            "{name} is not installed (CI installs it in .ci/run)"
        );
        eprintln!("skipped: {name} is not installed");
    }
    found
}

pub struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    /// Starts `argv` in a fresh tmux server (its own socket) inside the test's environment.
    pub fn start(env: &TestEnv, argv: &[&str], extra_env: &[(&str, &str)]) -> Option<Tmux> {
        find_program("tmux")?;
        let socket = env.path("tmux.sock");
        let mut cmd = env.command("tmux");
        cmd.arg("-S").arg(&socket);
        cmd.args([
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "160",
            "-y",
            "40",
            "-s",
            "t",
        ]);
        cmd.env("TERM", "xterm-256color");
        for (key, value) in extra_env {
            cmd.env(key, value);
        }
        // tmux passes its own environment on to the shell it starts.
        cmd.arg("--");
        cmd.args(argv);
        let status = cmd.status().unwrap();
        assert!(status.success(), "tmux did not start");
        Some(Tmux { socket })
    }

    fn tmux(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S").arg(&self.socket);
        cmd
    }

    /// What tmux says `format` is for the shell's pane (`#{pane_pid}`, …).
    fn display(&self, format: &str) -> String {
        let out = self
            .tmux()
            .args(["display-message", "-p", "-t", "t", format])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The pid of the program tmux started: the shell.
    pub fn pane_pid(&self) -> u32 {
        self.display("#{pane_pid}").parse().unwrap()
    }

    /// Ends the tmux server, and with it the shell.
    pub fn kill(&self) {
        let _ = self
            .tmux()
            .arg("kill-server")
            .stderr(std::process::Stdio::null())
            .status();
    }

    /// Keys in tmux's names (`C-g`, `Enter`, `Space`, `C-c`).
    pub fn keys(&self, keys: &[&str]) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", "t"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Text typed literally.
    pub fn type_text(&self, text: &str) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", "t", "-l", "--", text])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Whether the terminal bell rang in the shell's window since tmux last reported it.
    pub fn bell_rang(&self) -> bool {
        self.display("#{window_bell_flag}") == "1"
    }

    pub fn screen(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-t", "t"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The last non-empty line of the screen: where the prompt and the buffer are.
    pub fn last_line(&self) -> String {
        last_line(&self.screen())
    }

    /// Waits until `ready` holds for the screen, or fails showing the screen.
    #[track_caller]
    pub fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        self.wait_for_within(Duration::from_secs(30), what, ready)
    }

    /// `wait_for` with its own limit, for waits that include loading a real model.
    #[track_caller]
    pub fn wait_for_within(
        &self,
        limit: Duration,
        what: &str,
        ready: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the last line is exactly `line` (trailing spaces ignored).
    #[track_caller]
    pub fn wait_line(&self, line: &str) -> String {
        self.wait_for(&format!("the line {line:?}"), |s| last_line(s) == line)
    }

    /// Waits until some line of the screen is exactly `line` (trailing spaces ignored): output
    /// that later lines may have scrolled past the last.
    #[track_caller]
    pub fn wait_has_line(&self, line: &str) -> String {
        self.wait_for(&format!("a line {line:?}"), |s| has_line(s, line))
    }
}

/// Whether some line of `screen` is exactly `line` (trailing spaces ignored).
pub fn has_line(screen: &str, line: &str) -> bool {
    screen.lines().any(|l| l.trim_end() == line)
}

pub fn last_line(screen: &str) -> String {
    screen
        .lines()
        .map(str::trim_end)
        .rfind(|l| !l.is_empty())
        .unwrap_or_default()
        .to_string()
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Writes `text` to `path`, creating parent directories.
pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}
