//! The `ollama` backend through the real daemon and client, against a stand-in for Ollama.
//!
//! No Ollama server can be installed where these tests run, so [`FakeOllama`] is a small
//! HTTP/1.1 server on 127.0.0.1 that answers `GET /api/tags` and `POST /api/chat` with the
//! request and response shapes of Ollama's API documentation (docs/api.md in the ollama
//! repository): streaming on (Ollama's default) gives one JSON object a line, a token each,
//! sent as HTTP chunks, the last line `"done": true` with the counts; streaming off gives one
//! JSON object; an unknown model a 404 with
//! `{"error": "model \"X\" not found, try pulling it first"}`, and a failure after the answer
//! began an `{"error": …}` line. It records every request it receives, so tests assert on what
//! cmdai sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::*;

const MODEL: &str = "qwen2.5-coder:1.5b";

/// How the fake answers `/api/chat` for a model it has.
#[derive(Clone)]
enum Chat {
    /// A completed answer with this content, streamed a word at a time.
    Answer(&'static str),
    /// A completed answer streamed in these pieces.
    Pieces(&'static [&'static str]),
    /// This status with `{"error": message}`.
    Fail(u16, &'static str),
    /// A streamed answer that breaks off after one piece with an `{"error": message}` line.
    Break(&'static str),
}

/// A body sent whole, or line by line as HTTP chunks.
enum Reply {
    Whole(String),
    Lines(Vec<String>),
}

/// One request the fake received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    body: Value,
}

struct FakeOllama {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeOllama {
    /// Serves `models` (what `ollama list` would show) and answers chats with `chat`.
    fn start(models: &[&str], chat: Chat) -> FakeOllama {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicBool::new(false));
        let models: Vec<String> = models.iter().map(|m| m.to_string()).collect();
        let (log, stop) = (Arc::clone(&seen), Arc::clone(&done));
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let _ = serve(stream, &models, &chat, &log);
                }
            }
        });
        FakeOllama {
            port,
            seen,
            done,
            thread: Some(thread),
        }
    }

    fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn count(&self, method: &str, path: &str) -> usize {
        let seen = self.seen();
        seen.iter()
            .filter(|s| s.method == method && s.path == path)
            .count()
    }
}

impl Drop for FakeOllama {
    fn drop(&mut self) {
        // The accept loop is blocked: flag it, then wake it with a connection of our own.
        self.done.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request (headers and a Content-Length body), records it, answers and closes.
fn serve(
    stream: TcpStream,
    models: &[String],
    chat: &Chat,
    seen: &Mutex<Vec<Seen>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line)? == 0 {
        return Ok(());
    }
    let mut words = request_line.split_whitespace();
    let method = words.next().unwrap_or_default().to_string();
    let path = words.next().unwrap_or_default().to_string();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (status, content_type, reply) = answer(&method, &path, &body, models, chat);
    seen.lock().unwrap().push(Seen { method, path, body });
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Internal Server Error",
    };
    let mut stream = stream;
    let head = format!("HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n");
    match reply {
        Reply::Whole(reply) => write!(
            stream,
            "{head}Content-Length: {}\r\nConnection: close\r\n\r\n{reply}",
            reply.len()
        )?,
        Reply::Lines(lines) => {
            write!(
                stream,
                "{head}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            )?;
            // A client that has its command closes the connection: writing then fails.
            for line in lines {
                write!(stream, "{:x}\r\n{line}\n\r\n", line.len() + 1)?;
                stream.flush()?;
            }
            write!(stream, "0\r\n\r\n")?;
        }
    }
    stream.flush()
}

/// What Ollama answers to `method path` with `body`: status, content type, body.
fn answer(
    method: &str,
    path: &str,
    body: &Value,
    models: &[String],
    chat: &Chat,
) -> (u16, &'static str, Reply) {
    const JSON: &str = "application/json; charset=utf-8";
    const NDJSON: &str = "application/x-ndjson";
    let whole = |value: Value| Reply::Whole(value.to_string());
    match (method, path) {
        ("GET", "/api/tags") => {
            let list: Vec<Value> = models.iter().map(|name| tag(name)).collect();
            (200, JSON, whole(json!({ "models": list })))
        }
        ("POST", "/api/chat") => {
            let model = body["model"].as_str().unwrap_or_default();
            if !models.iter().any(|m| m == model) {
                let error = format!("model \"{model}\" not found, try pulling it first");
                return (404, JSON, whole(json!({ "error": error })));
            }
            // Streaming is Ollama's default.
            let streamed = body["stream"] != false;
            let pieces: Vec<&str> = match chat {
                Chat::Fail(status, error) => {
                    return (*status, JSON, whole(json!({ "error": error })))
                }
                Chat::Answer(text) if !streamed => {
                    return (200, JSON, whole(chat_reply(model, text)))
                }
                Chat::Answer(text) => text.split_inclusive(' ').collect(),
                Chat::Pieces(pieces) => pieces.to_vec(),
                Chat::Break(_) => vec!["du"],
            };
            let mut lines: Vec<String> = pieces
                .iter()
                .map(|piece| chunk(model, piece).to_string())
                .collect();
            lines.push(match chat {
                Chat::Break(error) => json!({ "error": error }).to_string(),
                _ => chat_reply(model, "").to_string(),
            });
            (200, NDJSON, Reply::Lines(lines))
        }
        _ => (404, "text/plain", Reply::Whole("404 page not found".into())),
    }
}

/// A streamed piece of an answer.
fn chunk(model: &str, content: &str) -> Value {
    json!({
        "model": model,
        "created_at": "2024-11-04T14:56:49.277302595Z",
        "message": {"role": "assistant", "content": content},
        "done": false,
    })
}

/// A model as `/api/tags` lists it.
fn tag(name: &str) -> Value {
    json!({
        "name": name,
        "model": name,
        "modified_at": "2024-11-04T14:56:49.277302595-07:00",
        "size": 986061892,
        "digest": "6d2f5f2a6f6b0d6c9c3e2f0b2c6e1d1e4b5a6c7d8e9f0a1b2c3d4e5f6a7b8c9d",
        "details": {
            "format": "gguf",
            "family": "qwen2",
            "families": ["qwen2"],
            "parameter_size": "1.5B",
            "quantization_level": "Q4_K_M",
        },
    })
}

/// A finished, non-streamed chat answer, or with no content the last line of a streamed one.
fn chat_reply(model: &str, text: &str) -> Value {
    json!({
        "model": model,
        "created_at": "2024-11-04T14:56:49.277302595Z",
        "message": {"role": "assistant", "content": text},
        "done_reason": "stop",
        "done": true,
        "total_duration": 4883583458u64,
        "load_duration": 1334875,
        "prompt_eval_count": 412,
        "prompt_eval_duration": 342546000,
        "eval_count": 5,
        "eval_duration": 4535599000u64,
    })
}

/// A test env whose config asks Ollama at `base_url`.
fn ollama_env(base_url: &str) -> TestEnv {
    let env = TestEnv::new();
    env.write_config(&format!(
        "backend = \"ollama\"\nmax_tokens = 77\n\n[ollama]\nbase_url = \"{base_url}\"\n\
         model = \"{MODEL}\"\nkeep_alive = \"10m\"\n"
    ));
    env
}

/// The one line the failed ask printed, which names ollama; stdout stays empty.
#[track_caller]
fn failure_line(out: &std::process::Output) -> String {
    assert!(!out.status.success(), "the ask must fail: {}", stdout(out));
    assert_eq!(stdout(out), "", "no command on stdout");
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(lines[0].contains("ollama: "), "{err}");
    lines[0].to_string()
}

#[test]
fn ask_answers_with_ollamas_command_and_sends_a_greedy_chat() {
    let fake = FakeOllama::start(&[MODEL], Chat::Answer("du -sh ."));
    let env = ollama_env(&fake.base_url());
    let out = env.cmdai(&["ask", "--json", "show disk usage"]);
    assert_success(&out);
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["cmd"], "du -sh .");
    assert_eq!(value["backend"], "ollama");
    assert_eq!(value["model"], MODEL);
    assert_eq!(value["prompt_tokens"], 412, "Ollama's prompt_eval_count");
    assert_eq!(value["output_tokens"], 5, "Ollama's eval_count");

    let chats: Vec<Seen> = fake
        .seen()
        .into_iter()
        .filter(|s| s.path == "/api/chat")
        .collect();
    assert_eq!(chats.len(), 1, "{chats:?}");
    let body = &chats[0].body;
    assert_eq!(chats[0].method, "POST");
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["stream"], true);
    assert_eq!(body["keep_alive"], "10m");
    assert_eq!(body["options"]["temperature"], 0);
    assert_eq!(body["options"]["num_predict"], 77);
    assert_eq!(
        body["options"].get("stop"),
        None,
        "no newline stop: reading ends at the first command line"
    );
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "system");
    let last = messages.last().unwrap();
    assert_eq!(last["role"], "user");
    let content = last["content"].as_str().unwrap();
    assert!(content.ends_with("Request: show disk usage"), "{content}");
}

#[test]
fn availability_is_checked_once_for_asks_in_a_row() {
    let fake = FakeOllama::start(&[MODEL], Chat::Answer("du -sh ."));
    let env = ollama_env(&fake.base_url());
    // Two sentences: the daemon would answer a repeated one from its cache.
    assert_success(&env.cmdai(&["ask", "show disk usage"]));
    assert_success(&env.cmdai(&["ask", "how big is this folder"]));
    assert_eq!(fake.count("GET", "/api/tags"), 1, "{:?}", fake.seen());
    assert_eq!(fake.count("POST", "/api/chat"), 2, "{:?}", fake.seen());
}

#[test]
fn a_model_that_is_not_pulled_says_to_pull_it() {
    let fake = FakeOllama::start(&["llama3.2:latest"], Chat::Answer("du -sh ."));
    let env = ollama_env(&fake.base_url());
    let out = env.cmdai(&["ask", "show disk usage"]);
    let line = failure_line(&out);
    assert!(
        line.contains(&format!("run `ollama pull {MODEL}`")),
        "{line}"
    );
    assert_eq!(fake.count("GET", "/api/tags"), 1);
    assert_eq!(
        fake.count("POST", "/api/chat"),
        0,
        "a missing model is not asked"
    );
}

#[test]
fn a_server_that_is_down_is_named_with_the_fix() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let base_url = format!("http://127.0.0.1:{port}");
    let env = ollama_env(&base_url);
    let out = env.cmdai(&["ask", "show disk usage"]);
    let line = failure_line(&out);
    assert!(line.contains(&base_url), "{line}");
    assert!(line.contains("is not answering"), "{line}");
    assert!(line.contains("`ollama serve`"), "{line}");
    assert!(line.contains("[ollama] base_url"), "{line}");
}

#[test]
fn an_error_from_ollama_is_reported_in_one_line() {
    let error = "llama runner process has terminated: signal: killed";
    let fake = FakeOllama::start(&[MODEL], Chat::Fail(500, error));
    let env = ollama_env(&fake.base_url());
    let out = env.cmdai(&["ask", "show disk usage"]);
    let line = failure_line(&out);
    assert!(line.contains(error), "{line}");
    assert!(line.contains("HTTP 500"), "{line}");
}

#[test]
fn a_fenced_streamed_answer_gives_the_command_inside_the_fence() {
    let pieces = &["```", "bash", "\n", "du", " -sh", " .", "\n", "```", "\n"];
    let fake = FakeOllama::start(&[MODEL], Chat::Pieces(pieces));
    let env = ollama_env(&fake.base_url());
    let out = env.cmdai(&["ask", "--json", "show disk usage"]);
    assert_success(&out);
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["cmd"], "du -sh .");
    assert_eq!(value["backend"], "ollama");
}

#[test]
fn an_error_in_the_middle_of_a_streamed_answer_is_reported_in_one_line() {
    let error = "an error was encountered while running the model: unexpected EOF";
    let fake = FakeOllama::start(&[MODEL], Chat::Break(error));
    let env = ollama_env(&fake.base_url());
    let out = env.cmdai(&["ask", "show disk usage"]);
    let line = failure_line(&out);
    assert!(line.contains(error), "{line}");
}
