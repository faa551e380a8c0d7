//! Reliability and security (tracker issue 9): the daemon holds under abuse, faults and other
//! users. Each test names the point of the issue it proves. Points 9 (the decoder's property
//! tests) and 13 (the validator's) also have unit tests beside the code: `protocol::tests::fuzz`
//! and `engine::review::tests`.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use cmdai::protocol::{
    self, ErrorKind, FrameKind, GenerateRequest, Header, Request, Response, HEADER_LEN,
    MAX_FRAME_LEN, PROTOCOL_VERSION,
};

use crate::harness::*;
use crate::tmux::find_program;

const CMDAI: &str = env!("CARGO_BIN_EXE_cmdai");
const DAEMON: &str = env!("CARGO_BIN_EXE_cmdai-daemon");

// ---------------------------------------------------------------------------------------------
// Helpers

/// A scripted daemon's config with room for `queue` requests at once.
fn scripted(env: &TestEnv, rules: &str, queue: usize) {
    let script = env.script(rules);
    env.write_config(&format!(
        "backend = \"scripted\"\nmodel = \"{}\"\nqueue = {queue}\n",
        script.display()
    ));
}

fn connect(env: &TestEnv) -> UnixStream {
    let stream = UnixStream::connect(env.socket()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// One request over a fresh connection, as the client sends it.
fn ask_raw(env: &TestEnv, request: &Request) -> Response {
    let mut stream = connect(env);
    protocol::write_frame(&mut stream, FrameKind::Request, request).unwrap();
    protocol::read_frame(&mut stream, FrameKind::Response).unwrap()
}

/// Pings the daemon and returns its pid.
fn ping_ok(env: &TestEnv) -> u32 {
    match ask_raw(env, &Request::Ping) {
        Response::Pong(hello) if hello.protocol == PROTOCOL_VERSION => hello.pid,
        other => panic!("unexpected answer to a ping: {other:?}"),
    }
}

fn generate(sentence: &str, context: &str) -> Request {
    Request::Generate(GenerateRequest {
        sentence: sentence.into(),
        shell: "bash".into(),
        cwd: "/".into(),
        path: std::env::var("PATH").unwrap_or_default(),
        os: "linux x86_64".into(),
        deadline_ms: 30_000,
        context: context.into(),
        details: String::new(),
        candidates: 1,
    })
}

/// The command the daemon suggests for `sentence`.
fn suggested(env: &TestEnv, sentence: &str, context: &str) -> String {
    match ask_raw(env, &generate(sentence, context)) {
        Response::Suggestion(s) => s.command,
        other => panic!("unexpected answer to {sentence:?}: {other:?}"),
    }
}

/// Sends `bytes`, closes our sending side and returns whatever the daemon answers before it
/// closes. A daemon that closes on us mid-write is fine: what it sent first is still read.
fn exchange(env: &TestEnv, bytes: &[u8]) -> Vec<u8> {
    let mut stream = connect(env);
    let _ = stream.write_all(bytes);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    reply
}

/// A clean refusal: nothing, or one well-formed `BadRequest` error frame and nothing else.
#[track_caller]
fn assert_refused(reply: &[u8], what: &str) {
    if reply.is_empty() {
        return;
    }
    let mut rest = reply;
    let response: Response = protocol::read_frame(&mut rest, FrameKind::Response)
        .unwrap_or_else(|e| panic!("{what}: the answer is not a frame ({e}): {reply:?}"));
    assert!(rest.is_empty(), "{what}: bytes after the answer");
    assert!(
        matches!(&response, Response::Error(e) if e.kind == ErrorKind::BadRequest),
        "{what}: {response:?}"
    );
}

fn header(version: u16, kind: u16, len: u32) -> Vec<u8> {
    Header { version, kind, len }.to_bytes().to_vec()
}

fn daemon_log(env: &TestEnv) -> String {
    fs::read_to_string(env.path("state/daemon.log")).unwrap_or_default()
}

/// How many daemons the log says were started.
fn starts_logged(env: &TestEnv) -> usize {
    daemon_log(env).matches(" listening on ").count()
}

/// Live `cmdai-daemon` processes of this env (found by the runtime dir in their environment).
fn daemons_of(env: &TestEnv) -> Vec<u32> {
    let needle = format!("CMDAI_RUNTIME_DIR={}", env.runtime_dir().display());
    let pids = fs::read_dir("/proc").unwrap().filter_map(|entry| {
        let name = entry.ok()?.file_name();
        name.to_str()?.parse::<u32>().ok()
    });
    pids.filter(|pid| {
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        let comm = fs::read_to_string(proc_dir.join("comm")).unwrap_or_default();
        let environ = fs::read(proc_dir.join("environ")).unwrap_or_default();
        comm.trim() == "cmdai-daemon"
            && proc_field(*pid, "State:").is_some_and(|s| !s.starts_with('Z'))
            && environ
                .split(|b| *b == 0)
                .any(|var| var == needle.as_bytes())
    })
    .collect()
}

/// A field of `/proc/<pid>/status`, after its name.
fn proc_field(pid: u32, name: &str) -> Option<String> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(name))?;
    Some(line[name.len()..].trim().to_string())
}

/// A memory figure of `/proc/<pid>/status` in KiB (`VmRSS:`, `VmPeak:`).
fn memory_kib(pid: u32, name: &str) -> u64 {
    let field = proc_field(pid, name).unwrap_or_else(|| panic!("no {name} for pid {pid}"));
    field.trim_end_matches("kB").trim().parse().unwrap()
}

fn is_root() -> bool {
    rustix::process::getuid().is_root()
}

/// Root, or `None` (skip) when CI does not require every test.
fn need_root(what: &str) -> Option<()> {
    if is_root() {
        return Some(());
    }
    assert!(!require_all(), "{what} needs root (CI runs as root)");
    eprintln!("skipped: {what} needs root");
    None
}

/// A child process that is killed and reaped however the test ends.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn one_line(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    err
}

// ---------------------------------------------------------------------------------------------
// Point 1: other users

/// A system user made for one test and deleted after it.
struct ThrowawayUser {
    name: String,
    uid: u32,
    gid: u32,
}

impl ThrowawayUser {
    fn create() -> Option<ThrowawayUser> {
        need_root("creating a throwaway user")?;
        for tool in ["useradd", "userdel", "setpriv"] {
            find_program(tool)?;
        }
        let name = format!("cmdai-t{}", std::process::id());
        let out = Command::new("useradd")
            .args(["--system", "--no-create-home", "--user-group"])
            .args(["--shell", "/usr/sbin/nologin", &name])
            .output()
            .unwrap();
        assert_success(&out);
        let id = |flag: &str| -> u32 {
            let out = Command::new("id").args([flag, &name]).output().unwrap();
            assert_success(&out);
            stdout(&out).trim().parse().unwrap()
        };
        let (uid, gid) = (id("-u"), id("-g"));
        Some(ThrowawayUser { name, uid, gid })
    }

    /// `argv` run as this user, with no supplementary groups, in `env`'s environment.
    fn command(&self, env: &TestEnv, argv: &[&str]) -> Command {
        let mut cmd = env.command("setpriv");
        cmd.arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .args(["--clear-groups", "--"])
            .args(argv);
        cmd
    }
}

impl Drop for ThrowawayUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).output();
        let _ = Command::new("groupdel").arg(&self.name).output();
    }
}

/// Point 1: another uid cannot connect, even when the socket is made 0666 and its dir 0755: the
/// daemon checks the peer's uid on every connection and answers nothing.
#[test]
fn another_uid_is_refused_even_through_an_open_socket() {
    let env = TestEnv::new();
    env.start_scripted("files => ls -S");
    let Some(user) = ThrowawayUser::create() else {
        return;
    };
    // Every door open: only the peer check is left.
    set_mode(env.root.path(), 0o755);
    set_mode(&env.runtime_dir(), 0o755);
    set_mode(&env.socket(), 0o666);
    let probe = user
        .command(
            &env,
            &[
                "sh",
                "-c",
                "test -w \"$1\" && echo writable",
                "-",
                path_str(&env.socket()),
            ],
        )
        .output()
        .unwrap();
    assert_eq!(
        stdout(&probe),
        "writable\n",
        "the test did not open the socket to the user"
    );

    let out = user
        .command(&env, &[CMDAI, "daemon", "status", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stdout(&out).is_empty(),
        "another user read the status: {}",
        stdout(&out)
    );
    let refused = format!("refused a connection from uid {}", user.uid);
    wait_until("the refusal in the log", Duration::from_secs(10), || {
        daemon_log(&env).contains(&refused)
    });
    // A request in the other user's name is not served either.
    let out = user
        .command(&env, &[CMDAI, "ask", "list", "files"])
        .env("CMDAI_NO_AUTOSTART", "1")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert_eq!(env.status_json()["requests_served"], 0);
    // The owner still is.
    let out = env.cmdai(&["ask", "list", "files"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "ls -S\n");
}

// ---------------------------------------------------------------------------------------------
// Point 2: unsafe runtime dirs

/// Point 2: an unsafe runtime dir (a symlink, mode 0777, another owner) is refused with a clear
/// error naming the dir and what is wrong, both by the daemon and by a client about to start one.
#[test]
fn an_unsafe_runtime_dir_is_refused_with_a_clear_error() {
    // What is wrong, the reason the error must give, and how to make the dir so (false: skip).
    type Case = (&'static str, &'static str, fn(&TestEnv) -> bool);
    let cases: [Case; 3] = [
        ("mode 0777", "its mode is 777, expected 700", |env| {
            set_mode(&env.runtime_dir(), 0o777);
            true
        }),
        ("a symlink", "it is a symlink", |env| {
            let real = env.path("real-run");
            fs::create_dir(&real).unwrap();
            set_mode(&real, 0o700);
            fs::remove_dir(env.runtime_dir()).unwrap();
            std::os::unix::fs::symlink(&real, env.runtime_dir()).unwrap();
            true
        }),
        ("another owner", "it belongs to another user", |env| {
            if need_root("giving the runtime dir to another user").is_none() {
                return false;
            }
            std::os::unix::fs::chown(env.runtime_dir(), Some(65534), Some(65534)).unwrap();
            true
        }),
    ];
    for (case, why, make_unsafe) in cases {
        let env = TestEnv::new();
        scripted(&env, "files => ls -S", 4);
        if !make_unsafe(&env) {
            continue;
        }
        let out = env
            .command(DAEMON)
            .args(["--backend", "scripted"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{case}: {}", stderr(&out));
        let err = one_line(&out);
        let dir = env.runtime_dir().display().to_string();
        assert!(
            err.contains(&format!("runtime dir {dir} is unsafe: {why}")),
            "{case}: {err}"
        );
        // The client that would start a daemon there says the same, and starts none.
        let out = env.cmdai(&["ask", "list", "files"]);
        assert_eq!(out.status.code(), Some(2), "{case}: {}", stderr(&out));
        let err = one_line(&out);
        assert!(
            err.contains(&format!("{dir} is unsafe: {why}")),
            "{case}: {err}"
        );
        assert!(stdout(&out).is_empty());
        assert!(!env.socket().exists(), "{case}: a socket was bound");
        assert!(daemons_of(&env).is_empty(), "{case}: a daemon started");
    }
}

// ---------------------------------------------------------------------------------------------
// Point 3: stale sockets

/// Point 3: after `kill -9` the socket is left behind; the next request notices nobody answers,
/// starts a new daemon and is answered, with no manual step.
#[test]
fn stale_socket_after_kill_9_is_recovered() {
    let env = TestEnv::new();
    env.start_scripted("files => ls -S");
    let pid = env.daemon_pid().unwrap();
    Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    wait_gone(pid);
    assert!(
        env.socket().exists(),
        "kill -9 should leave the socket behind"
    );
    // The next request finds nobody there, starts a new daemon (scripted via config) and answers.
    scripted(&env, "files => ls -S", 4);
    let out = env.cmdai(&["ask", "list", "files"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "ls -S\n");
    assert_ne!(env.daemon_pid(), Some(pid));
    assert_eq!(daemons_of(&env).len(), 1);
}

/// Point 3, the race: the daemon dies with the request already accepted (`kill -9` right as the
/// key is pressed). The client sees the connection cut, finds the socket refusing, starts a new
/// daemon and asks again.
#[test]
fn a_daemon_that_dies_holding_the_request_is_replaced() {
    let env = TestEnv::new();
    scripted(&env, "files => ls -S", 4);
    // Stands in for the dying daemon: accepts one connection and goes away with it, leaving
    // its socket file behind.
    let listener = UnixListener::bind(env.socket()).unwrap();
    let dying = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut header = [0u8; 12];
        let _ = stream.read_exact(&mut header);
        // Gone before the client sees the cut, as a killed process is.
        drop(listener);
        drop(stream);
    });
    let out = env.cmdai(&["ask", "list", "files"]);
    dying.join().unwrap();
    assert_success(&out);
    assert_eq!(stdout(&out), "ls -S\n");
    assert_eq!(daemons_of(&env).len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Point 4: a live daemon is never displaced

/// Runs a second `cmdai-daemon` in the foreground, expecting it to refuse and exit.
fn run_second_daemon(env: &TestEnv) -> Output {
    env.command(DAEMON)
        .args(["--backend", "scripted"])
        .output()
        .unwrap()
}

/// Point 4: a second daemon beside a live one exits non-zero, and the first keeps its socket
/// (same inode) and keeps answering.
#[test]
fn a_second_daemon_is_refused_and_the_first_keeps_its_socket() {
    let env = TestEnv::new();
    env.start_scripted("");
    let inode = fs::metadata(env.socket()).unwrap().ino();
    let first = env.daemon_pid().unwrap();
    let out = run_second_daemon(&env);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("already running"), "{}", stderr(&out));
    assert_eq!(fs::metadata(env.socket()).unwrap().ino(), inode);
    assert_eq!(ping_ok(&env), first);
    assert_success(&env.cmdai(&["ask", "still", "there"]));
}

/// Point 4: a socket something else listens on is never unlinked, even without the lock.
#[test]
fn a_socket_with_a_live_listener_is_never_removed() {
    let env = TestEnv::new();
    let _listener = UnixListener::bind(env.socket()).unwrap();
    let inode = fs::metadata(env.socket()).unwrap().ino();
    let out = run_second_daemon(&env);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("live daemon answers"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::metadata(env.socket()).unwrap().ino(), inode);
}

// ---------------------------------------------------------------------------------------------
// Point 5: the start race

/// Point 5: twenty clients autostarting at once start exactly one daemon, and every one of them
/// gets its own answer.
#[test]
fn twenty_clients_autostarting_at_once_start_one_daemon() {
    let env = TestEnv::new();
    scripted(&env, "", 32);
    let clients: Vec<Child> = (0..20)
        .map(|i| {
            env.command(CMDAI)
                .args(["ask", "race", &i.to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, client) in clients.into_iter().enumerate() {
        let out = client.wait_with_output().unwrap();
        assert_success(&out);
        assert_eq!(stdout(&out), format!("echo race {i}\n"));
    }
    assert_eq!(daemons_of(&env).len(), 1, "{}", daemon_log(&env));
    assert_eq!(starts_logged(&env), 1, "{}", daemon_log(&env));
    assert_eq!(env.status_json()["requests_served"], 20);
}

// ---------------------------------------------------------------------------------------------
// Point 6: daemon down, autostart off

/// Point 6: with the daemon down and autostart off, `ask` and the widget's `suggest` return
/// within 100 ms with one line and the exit code of their own (3), print nothing on stdout
/// (so the widget keeps the sentence; the widget tests drive that in real shells) and start
/// nothing. A stale socket file changes none of that.
#[test]
fn daemon_down_and_autostart_off_fails_fast_with_its_own_exit_code() {
    let env = TestEnv::new();
    let ask = || {
        env.command(CMDAI)
            .args(["ask", "list", "files"])
            .env("CMDAI_NO_AUTOSTART", "1")
            .output()
            .unwrap()
    };
    let suggest = || {
        env.command(CMDAI)
            .arg("suggest")
            .env("CMDAI_NO_AUTOSTART", "1")
            .env("CMDAI_BUFFER", "list the files")
            .env("CMDAI_CURSOR", "14")
            .env("CMDAI_SHELL", "bash")
            .output()
            .unwrap()
    };
    let runs: [(&str, &dyn Fn() -> Output); 2] = [("ask", &ask), ("suggest", &suggest)];
    for stale in [false, true] {
        if stale {
            // What `kill -9` leaves: a socket file nobody listens on.
            drop(UnixListener::bind(env.socket()).unwrap());
            assert!(env.socket().exists());
        }
        for (what, run) in runs {
            let mut fastest = Duration::MAX;
            for _ in 0..3 {
                let started = Instant::now();
                let out = run();
                let took = started.elapsed();
                fastest = fastest.min(took);
                assert!(took < Duration::from_secs(1), "{what}: {took:?}");
                assert_eq!(out.status.code(), Some(3), "{what}: {}", stderr(&out));
                assert!(stdout(&out).is_empty(), "{what}: {}", stdout(&out));
                let err = one_line(&out);
                assert!(
                    err.starts_with("cmdai: the daemon is not running"),
                    "{what}: {err}"
                );
            }
            // The fastest of three, so a loaded machine's scheduling noise is not measured.
            assert!(
                fastest < Duration::from_millis(100),
                "{what} (stale socket: {stale}) took {fastest:?}"
            );
        }
    }
    assert!(env.daemon_pid().is_none());
    assert!(daemons_of(&env).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Point 7: concurrency and memory

/// Point 7: ten clients at once each get their own answer.
#[test]
fn ten_clients_at_once_get_their_own_answers() {
    let env = TestEnv::new();
    scripted(&env, "", 16);
    assert_success(&env.cmdai(&["daemon", "start"]));
    let clients: Vec<Child> = (0..10)
        .map(|i| {
            env.command(CMDAI)
                .args(["ask", "client", &i.to_string(), "here"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, client) in clients.into_iter().enumerate() {
        let out = client.wait_with_output().unwrap();
        assert_success(&out);
        assert_eq!(stdout(&out), format!("echo client {i} here\n"));
    }
    assert_eq!(env.status_json()["requests_served"], 10);
}

/// Sends `count` generate requests from `threads` clients at once, each with its own sentence
/// and a 16 KiB context, and checks every answer is that client's own.
fn hammer(env: &TestEnv, threads: usize, count: usize, round: &str) {
    let context = "x".repeat(16 * 1024);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let context = &context;
            scope.spawn(move || {
                for i in (t..count).step_by(threads) {
                    let sentence = format!("{round} {i}");
                    assert_eq!(
                        suggested(env, &sentence, context),
                        format!("echo {sentence}")
                    );
                }
            });
        }
    });
}

/// Point 7: the daemon's resident memory stays flat across 1,000 requests (scripted backend):
/// a leak of even a request's context per request would add 16 MB.
#[test]
fn daemon_memory_is_flat_across_a_thousand_requests() {
    let env = TestEnv::new();
    scripted(&env, "", 16);
    assert_success(&env.cmdai(&["daemon", "start"]));
    let pid = env.daemon_pid().unwrap();
    // Warm up: allocator arenas, tokio's buffers and the first shell spawns settle first.
    hammer(&env, 4, 200, "warm");
    let before = memory_kib(pid, "VmRSS:");
    hammer(&env, 4, 1000, "request");
    let after = memory_kib(pid, "VmRSS:");
    assert_eq!(env.status_json()["requests_served"], 1200);
    eprintln!("daemon RSS: {before} KiB before, {after} KiB after 1,000 requests");
    assert!(
        after <= before + 4 * 1024,
        "RSS grew from {before} KiB to {after} KiB over 1,000 requests"
    );
}

// ---------------------------------------------------------------------------------------------
// Point 8: abuse on the wire

/// Point 8: a 1 MB request, a frame claiming 4 GiB, truncated headers and bodies, garbage bytes
/// and invalid UTF-8 each get a clean refusal or a close; the daemon never reserves the claimed
/// size (its peak virtual memory stays put while 4 GiB frames are held open) and serves on.
#[test]
fn hostile_frames_are_refused_and_the_daemon_serves_on() {
    let env = TestEnv::new();
    scripted(&env, "files => ls -S", 4);
    assert_success(&env.cmdai(&["daemon", "start"]));
    let pid = ping_ok(&env);
    assert_eq!(suggested(&env, "list files", ""), "ls -S");

    let mut megabyte = header(PROTOCOL_VERSION, 1, 1 << 20);
    megabyte.resize(HEADER_LEN + (1 << 20), b'a');
    let mut invalid_utf8 = vec![1u8, 4, b'l', 0xff, 0xfe, b's'];
    invalid_utf8.extend_from_slice(&[0; 12]);
    let mut bad_string = header(PROTOCOL_VERSION, 1, invalid_utf8.len() as u32);
    bad_string.extend_from_slice(&invalid_utf8);
    let mut short_body = header(PROTOCOL_VERSION, 1, 100);
    short_body.extend_from_slice(&[1, 2, 3]);
    let mut unknown_variant = header(PROTOCOL_VERSION, 1, 1);
    unknown_variant.push(200);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a 1 MB request", megabyte),
        (
            "a frame claiming 4 GiB",
            header(PROTOCOL_VERSION, 1, u32::MAX),
        ),
        (
            "one byte over the cap",
            header(PROTOCOL_VERSION, 1, MAX_FRAME_LEN + 1),
        ),
        ("a truncated header", b"CMDI\x03\x00\x01".to_vec()),
        ("a truncated body", short_body),
        (
            "garbage bytes",
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
        ("random-looking bytes", (0..=255u8).rev().collect()),
        ("invalid UTF-8 in the sentence", bad_string),
        ("an unknown request", unknown_variant),
        (
            "a response sent as a request",
            header(PROTOCOL_VERSION, 2, 0),
        ),
        ("nothing at all", Vec::new()),
    ];
    for (what, bytes) in &cases {
        assert_refused(&exchange(&env, bytes), what);
        assert_eq!(ping_ok(&env), pid, "after {what}");
    }
    // The ones that must be answered, not only closed, say why.
    for (what, bytes) in [&cases[0], &cases[1], &cases[5], &cases[7]] {
        let reply = exchange(&env, bytes);
        assert!(!reply.is_empty(), "{what}: closed without a word");
    }

    // Frames claiming 4 GiB, held open: the daemon must not reserve what they claim.
    let peak = memory_kib(pid, "VmPeak:");
    let held: Vec<UnixStream> = (0..4)
        .map(|_| {
            let mut stream = connect(&env);
            stream
                .write_all(&header(PROTOCOL_VERSION, 1, u32::MAX))
                .unwrap();
            stream.write_all(&[0; 64]).unwrap();
            let mut answer = [0u8; HEADER_LEN];
            stream.read_exact(&mut answer).unwrap();
            stream
        })
        .collect();
    let grown = memory_kib(pid, "VmPeak:").saturating_sub(peak);
    assert!(
        grown < 512 * 1024,
        "peak virtual memory grew by {grown} KiB"
    );
    drop(held);
    assert_eq!(suggested(&env, "list files", ""), "ls -S");
}

/// Point 8: clients that send one byte per second are cut off after the read timeout, without
/// an answer, while everyone else is served as usual.
#[test]
fn one_byte_per_second_clients_are_cut_off_and_others_served() {
    let env = TestEnv::new();
    scripted(&env, "files => ls -S", 4);
    assert_success(&env.cmdai(&["daemon", "start"]));
    let pid = ping_ok(&env);
    let frame = protocol::encode_frame(FrameKind::Request, &generate("list files", "")).unwrap();
    // Long enough that only the daemon's read timeout (5 s) can end it within 10 s.
    assert!(frame.len() > 20);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let slow: Vec<_> = (0..8)
            .map(|_| {
                let mut stream = connect(&env);
                stream
                    .set_read_timeout(Some(Duration::from_secs(30)))
                    .unwrap();
                let mut reader = stream.try_clone().unwrap();
                let frame = &frame;
                scope.spawn(move || {
                    for byte in frame {
                        if stream.write_all(&[*byte]).is_err() {
                            break;
                        }
                        // Pacing, not synchronisation: this client is slow on purpose.
                        std::thread::sleep(Duration::from_secs(1));
                    }
                });
                scope.spawn(move || {
                    let mut reply = Vec::new();
                    let _ = reader.read_to_end(&mut reply);
                    (reply, started.elapsed())
                })
            })
            .collect();
        // Meanwhile everyone else is served as usual.
        for _ in 0..5 {
            let asked = Instant::now();
            assert_eq!(suggested(&env, "list files", ""), "ls -S");
            assert!(
                asked.elapsed() < Duration::from_secs(3),
                "{:?}",
                asked.elapsed()
            );
        }
        for reader in slow {
            let (reply, closed_after) = reader.join().unwrap();
            assert!(reply.is_empty(), "a slow client got an answer: {reply:?}");
            assert!(
                closed_after < Duration::from_secs(10),
                "a slow client was not cut off: {closed_after:?}"
            );
        }
    });
    assert_eq!(ping_ok(&env), pid);
}

// ---------------------------------------------------------------------------------------------
// Point 9: fuzzing the wire (the decoder's own property tests are in src/protocol/tests.rs)

/// Point 9: a bounded fuzz run against a live daemon: mostly well-formed headers with random
/// fields and bodies, and damaged real requests. Each gets a clean refusal, a close or a real
/// answer, and the same daemon answers a ping afterwards.
#[test]
fn a_fuzzed_wire_never_breaks_the_daemon() {
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let env = TestEnv::new();
    scripted(&env, "files => ls -S", 4);
    assert_success(&env.cmdai(&["daemon", "start"]));
    let pid = ping_ok(&env);
    let real = protocol::encode_frame(FrameKind::Request, &generate("list files", "")).unwrap();
    let headed = (
        prop_oneof![Just(PROTOCOL_VERSION), any::<u16>()],
        prop_oneof![Just(1u16), any::<u16>()],
        prop_oneof![0..300u32, any::<u32>()],
        vec(any::<u8>(), 0..300),
    )
        .prop_map(|(version, kind, len, body)| {
            let mut bytes = header(version, kind, len);
            bytes.extend_from_slice(&body);
            bytes
        });
    let damaged = vec((0..real.len(), any::<u8>()), 1..4).prop_map(move |flips| {
        let mut bytes = real.clone();
        for (at, byte) in flips {
            bytes[at] = byte;
        }
        bytes
    });
    let strategy = prop_oneof![headed, damaged, vec(any::<u8>(), 0..64)];
    let config = Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new(config)
        .run(&strategy, |bytes| {
            let reply = exchange(&env, &bytes);
            // A foreign version is answered with the daemon's own bare header.
            let bare = Header::new(FrameKind::Response, 0).to_bytes();
            if !reply.is_empty() && reply != bare {
                let answer: Result<Response, _> =
                    protocol::read_frame(&mut reply.as_slice(), FrameKind::Response);
                prop_assert!(answer.is_ok(), "not a frame: {reply:?}");
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(ping_ok(&env), pid);
}

// ---------------------------------------------------------------------------------------------
// Point 10: bad model files

/// Point 10: a missing, a truncated and a garbage model file (embedded backend): `daemon start`
/// and every request say which file and what is wrong, in one line; the daemon stays up to say
/// so instead of exiting (no crash loop), and each request restarts it at most once.
#[test]
fn a_bad_model_file_is_a_clear_error_and_no_crash_loop() {
    let tests_model = test_model();
    // The case, how to write the model file, and what the error must say.
    type Case = (&'static str, Box<dyn Fn(&Path)>, &'static str);
    let mut cases: Vec<Case> = vec![
        ("missing", Box::new(|_: &Path| {}), "not found"),
        (
            "garbage",
            Box::new(|p: &Path| fs::write(p, b"<html>404 Not Found</html>\n").unwrap()),
            "is not a GGUF file",
        ),
        (
            // A catalog file name: its size is known, so this is caught before loading.
            "truncated",
            Box::new(|p: &Path| {
                let mut bytes = b"GGUF\x03\0\0\0".to_vec();
                bytes.resize(1 << 20, 0);
                fs::write(p, bytes).unwrap();
            }),
            "is truncated",
        ),
    ];
    if let Some(real) = tests_model {
        // A name the catalog does not know: llama.cpp itself meets the cut.
        cases.push((
            "cut",
            Box::new(move |p: &Path| {
                let bytes = fs::read(&real).unwrap();
                fs::write(p, &bytes[..bytes.len() / 2]).unwrap();
            }),
            "could not load model",
        ));
    }
    for (case, make, why) in cases {
        let env = TestEnv::new();
        let name = match case {
            "truncated" => TEST_MODEL_FILE,
            "cut" => "cut.gguf",
            _ => "model.gguf",
        };
        let model = env.path("models").join(name);
        make(&model);
        env.write_config(&format!(
            "backend = \"embedded\"\nmodel = \"{}\"\n",
            model.display()
        ));
        let out = env.cmdai(&["daemon", "start"]);
        assert_eq!(out.status.code(), Some(2), "{case}: {}", stderr(&out));
        let err = stderr(&out);
        let last = err.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("cmdai: ") && last.contains(why) && last.contains(name),
            "{case}: {err}"
        );
        // The daemon stays up, saying why, rather than exiting to be started again.
        let pid = env.daemon_pid().expect("the daemon exited");
        let status = env.status_json();
        assert_eq!(status["state"], "Failed", "{case}");
        assert!(status["error"].as_str().unwrap().contains(why), "{case}");
        assert_eq!(status["loads"], 0);
        assert!(daemon_log(&env).contains("backend failed: "), "{case}");

        // The widget's request: one line, nothing inserted; one fresh start to retry the load.
        let out = env
            .command(CMDAI)
            .arg("suggest")
            .env("CMDAI_BUFFER", "list the files")
            .env("CMDAI_SHELL", "bash")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{case}: {}", stderr(&out));
        assert!(stdout(&out).is_empty());
        let err = one_line(&out);
        assert!(err.contains(why) && err.contains(name), "{case}: {err}");
        assert_eq!(starts_logged(&env), 2, "{case}: {}", daemon_log(&env));
        assert_eq!(daemons_of(&env).len(), 1, "{case}");
        assert_ne!(env.daemon_pid(), Some(pid), "{case}: not restarted");
        let out = env.cmdai(&["ask", "list", "files"]);
        assert_eq!(out.status.code(), Some(2), "{case}: {}", stderr(&out));
        assert!(stdout(&out).is_empty());
        assert_eq!(starts_logged(&env), 3, "{case}: {}", daemon_log(&env));
        assert_eq!(daemons_of(&env).len(), 1, "{case}");
    }
}

// ---------------------------------------------------------------------------------------------
// Point 11: the socket file deleted under a running daemon

/// Point 11: a daemon whose socket file is deleted binds it again within seconds, and the new
/// socket answers (the same daemon, no second one started).
#[test]
fn a_deleted_socket_is_bound_again_and_answers() {
    let env = TestEnv::new();
    scripted(&env, "files => ls -S", 4);
    assert_success(&env.cmdai(&["daemon", "start"]));
    let pid = ping_ok(&env);
    let inode = fs::metadata(env.socket()).unwrap().ino();
    fs::remove_file(env.socket()).unwrap();
    wait_until(
        "the socket to be bound again",
        Duration::from_secs(10),
        || fs::symlink_metadata(env.socket()).is_ok_and(|m| m.file_type().is_socket()),
    );
    assert_ne!(fs::metadata(env.socket()).unwrap().ino(), inode);
    assert_eq!(mode_of(&env.socket()), 0o600);
    assert_eq!(ping_ok(&env), pid);
    let out = env
        .command(CMDAI)
        .args(["ask", "list", "files"])
        .env("CMDAI_NO_AUTOSTART", "1")
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(stdout(&out), "ls -S\n");
    assert_eq!(daemons_of(&env), [pid]);
    assert!(daemon_log(&env).contains("was removed; bound it again"));
}

/// Point 11: when its lock file went too (the runtime dir was emptied), the daemon cannot know
/// it is still the only one, so it exits cleanly; the next request starts a fresh daemon.
#[test]
fn a_daemon_whose_runtime_dir_was_emptied_exits() {
    let env = TestEnv::new();
    scripted(&env, "files => ls -S", 4);
    assert_success(&env.cmdai(&["daemon", "start"]));
    let pid = ping_ok(&env);
    for entry in fs::read_dir(env.runtime_dir()).unwrap() {
        fs::remove_file(entry.unwrap().path()).unwrap();
    }
    wait_gone(pid);
    assert!(
        daemon_log(&env).contains("; stopping"),
        "{}",
        daemon_log(&env)
    );
    let out = env.cmdai(&["ask", "list", "files"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "ls -S\n");
    assert_eq!(daemons_of(&env).len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Point 12: version skew

/// Not a test: the stand-in for a daemon of another version, run by the version-skew test as a
/// child process. It holds the pid-file lock like a daemon and answers every connection with a
/// header of protocol `CMDAI_STAND_IN_VERSION` and a body of garbage.
#[test]
#[ignore = "a helper process for the version-skew test"]
fn stand_in_daemon() {
    let Some(dir) = std::env::var_os("CMDAI_STAND_IN_DIR").map(PathBuf::from) else {
        return;
    };
    let version: u16 = std::env::var("CMDAI_STAND_IN_VERSION")
        .unwrap()
        .parse()
        .unwrap();
    let mut lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("daemon.pid"))
        .unwrap();
    fs2::FileExt::lock_exclusive(&lock).unwrap();
    lock.set_len(0).unwrap();
    writeln!(lock, "{}", std::process::id()).unwrap();
    let listener = UnixListener::bind(dir.join("daemon.sock")).unwrap();
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let mut request = [0u8; HEADER_LEN];
        let _ = stream.read_exact(&mut request);
        let mut reply = header(version, FrameKind::Response as u16, 9);
        reply.extend_from_slice(&[0xff; 9]);
        let _ = stream.write_all(&reply);
    }
}

/// Starts the stand-in with `version` in `env` and waits until it answers.
fn stand_in(env: &TestEnv, version: u16) -> Reaped {
    // This very binary, even if a build has replaced its file since it started.
    let child = Command::new("/proc/self/exe")
        .args(["--exact", "reliability::stand_in_daemon", "--ignored"])
        .args(["--nocapture", "--test-threads=1"])
        .env("CMDAI_STAND_IN_DIR", env.runtime_dir())
        .env("CMDAI_STAND_IN_VERSION", version.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child = Reaped(child);
    wait_until("the stand-in daemon", Duration::from_secs(10), || {
        env.daemon_pid() == Some(child.0.id()) && UnixStream::connect(env.socket()).is_ok()
    });
    child
}

/// Point 12: a client meeting a daemon of another protocol version detects it from the frozen
/// header and never decodes what follows: with autostart off it says exactly which command to
/// run; with autostart on it replaces that daemon and is answered by the new one. (The daemon's
/// side, answering a foreign client with its own bare header, is `wire::a_foreign_version_…`.)
#[test]
fn version_skew_is_detected_and_never_garbage() {
    let env = TestEnv::new();
    scripted(&env, "files => ls -S", 4);
    let foreign = PROTOCOL_VERSION + 1;
    let mut old = stand_in(&env, foreign);
    for args in [&["ask", "list", "files"][..], &["suggest"]] {
        let out = env
            .command(CMDAI)
            .args(args)
            .env("CMDAI_NO_AUTOSTART", "1")
            .env("CMDAI_BUFFER", "list files")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
        let err = one_line(&out);
        let expected = format!(
            "cmdai: the daemon speaks protocol {foreign}, this client {PROTOCOL_VERSION}; \
             restart it with `cmdai daemon stop && cmdai daemon start`"
        );
        assert_eq!(err.trim_end(), expected, "{args:?}");
    }
    assert!(
        old.0.try_wait().unwrap().is_none(),
        "stopped without autostart"
    );

    let out = env.cmdai(&["ask", "list", "files"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "ls -S\n");
    assert!(
        stderr(&out).contains("restarting a daemon from another version"),
        "{}",
        stderr(&out)
    );
    let status = old.0.wait().unwrap();
    assert!(!status.success(), "the old daemon was not stopped");
    assert_eq!(daemons_of(&env).len(), 1);
    assert_eq!(env.daemon_pid(), Some(ping_ok(&env)));
}

/// Point 12: a daemon of our own version that answers with a body that does not decode is an
/// error, never a command.
#[test]
fn an_undecodable_answer_is_an_error_not_a_command() {
    let env = TestEnv::new();
    let _daemon = stand_in(&env, PROTOCOL_VERSION);
    let out = env
        .command(CMDAI)
        .args(["ask", "list", "files"])
        .env("CMDAI_NO_AUTOSTART", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    let err = one_line(&out);
    assert!(err.contains("could not decode"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Point 13: the validator fails closed

/// Point 13: when the validator cannot finish (here the target shell's syntax check hangs and
/// times out), the command is held back under every safety setting: nothing is inserted.
#[test]
fn a_validator_that_times_out_inserts_nothing() {
    let env = TestEnv::new();
    scripted(&env, "files => ls -S", 4);
    // A `bash` that never finishes parsing, first on the daemon's PATH.
    let fake = env.path("fakebin");
    fs::create_dir(&fake).unwrap();
    fs::write(fake.join("bash"), "#!/bin/sh\nexec sleep 60\n").unwrap();
    set_mode(&fake.join("bash"), 0o755);
    let path = format!("{}:{}", fake.display(), std::env::var("PATH").unwrap());
    let out = env
        .command(CMDAI)
        .args(["ask", "--shell", "bash", "list", "files"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "inserted: {}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("held back") && err.contains("the safety check did not finish"),
        "{err}"
    );
    // The widget's path too: nothing on stdout, so the sentence stays.
    let out = env
        .command(CMDAI)
        .arg("suggest")
        .env("PATH", &path)
        .env("CMDAI_BUFFER", "list files")
        .env("CMDAI_SHELL", "bash")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "inserted: {}", stdout(&out));
    assert_eq!(env.status_json()["commands_held_back"], 2);
}

// ---------------------------------------------------------------------------------------------
// Point 14: logs and core dumps

/// Point 14: the log is 0600 (even one left readable before), holds no sentence
/// or command, and the daemon runs with core dumps off.
#[test]
fn logs_are_private_and_hold_no_sentences_and_core_dumps_are_off() {
    let env = TestEnv::new();
    scripted(&env, "unicorn => echo zebra-marker\nwipe => rm -rf ~", 4);
    let log = env.path("state/daemon.log");
    fs::write(&log, "an older log\n").unwrap();
    set_mode(&log, 0o644);
    for sentence in [
        "list unicorn files",
        "wipe my home",
        "secret-sentence-marker",
    ] {
        let out = env.cmdai(&["ask", sentence]);
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(mode_of(&log), 0o600);
    let pid = env.daemon_pid().unwrap();
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(fields[4..6], ["0", "0"], "{core}");
    assert_success(&env.cmdai(&["daemon", "stop"]));
    let text = daemon_log(&env);
    assert!(text.contains("listening on"), "{text}");
    for secret in [
        "unicorn",
        "zebra-marker",
        "wipe",
        "rm -rf",
        "secret-sentence-marker",
    ] {
        assert!(!text.contains(secret), "the log holds {secret:?}:\n{text}");
    }
}
