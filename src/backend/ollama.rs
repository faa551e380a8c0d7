//! Ollama through its native API: `/api/chat` answers (with `keep_alive`, so Ollama keeps
//! the model warm too), `/api/tags` says whether it is up and has the model.
//!
//! Opening contacts nothing: the daemon may start before Ollama does, and the chain asks
//! [`Backend::available`] before each use anyway. Ollama keeps the evaluated prompt of the
//! last request itself, so the fixed turns cost it nothing after the first request.
//!
//! The answer is streamed (one JSON object a line) and read only up to its first finished
//! command line, like the embedded backend: a fenced answer still gives its command, and a
//! cancelled request gives up between chunks. Dropping the response closes the connection,
//! which makes Ollama stop generating.

use std::io::{self, BufRead, BufReader};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::http::{self, StreamError};
use super::{Ask, Backend, BackendError, Generation, StopCheck};
use crate::prompt::{self, Turn};

/// The `[ollama]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Where Ollama listens.
    pub base_url: String,
    /// The model to ask, as `ollama list` names it.
    pub model: String,
    /// How long Ollama keeps the model loaded after a request (its `keep_alive`).
    pub keep_alive: String,
    /// How long one request may take before the next backend of the chain is tried.
    pub timeout_ms: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            base_url: "http://127.0.0.1:11434".into(),
            model: "qwen2.5-coder:1.5b".into(),
            keep_alive: "30m".into(),
            timeout_ms: 30_000,
        }
    }
}

/// What to do when Ollama is not answering.
const START_FIX: &str = "start it with `ollama serve` or fix [ollama] base_url";

/// How long listing the models may take: the check runs while a key press waits.
const TAGS_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Ollama {
    /// Without a trailing slash.
    base_url: String,
    model: String,
    keep_alive: Value,
    timeout: Duration,
    max_tokens: u32,
    /// The fixed turns as Ollama's messages.
    fixed: Vec<Value>,
}

impl Ollama {
    pub fn open(
        settings: &Settings,
        fixed_turns: &[Turn],
        max_tokens: u32,
    ) -> Result<Ollama, BackendError> {
        let base_url = settings.base_url.trim_end_matches('/').to_string();
        if reqwest::Url::parse(&base_url).is_err() {
            return Err(BackendError::Unavailable(format!(
                "ollama: base_url {:?} is not a URL: fix [ollama] base_url",
                http::without_userinfo(&base_url)
            )));
        }
        if settings.model.trim().is_empty() {
            return Err(BackendError::Unavailable(
                "ollama: no model is set: set [ollama] model, e.g. \"qwen2.5-coder:1.5b\"".into(),
            ));
        }
        Ok(Ollama {
            base_url,
            model: settings.model.clone(),
            keep_alive: keep_alive_value(&settings.keep_alive),
            timeout: Duration::from_millis(u64::from(settings.timeout_ms)),
            max_tokens,
            fixed: fixed_turns
                .iter()
                .map(|t| message(t.role, &t.content))
                .collect(),
        })
    }

    /// The `/api/chat` request: the fixed turns, then `user_text`; one greedy answer, streamed.
    fn chat_body(&self, user_text: &str) -> Value {
        let mut messages = self.fixed.clone();
        messages.push(message("user", user_text));
        json!({
            "model": self.model,
            "messages": messages,
            "stream": true,
            "keep_alive": self.keep_alive,
            "options": {
                "temperature": 0,
                "num_predict": self.max_tokens,
            },
        })
    }

    /// Why a request to `path` was answered with a failure status.
    fn refusal(&self, path: &str, status: reqwest::StatusCode, body: &str) -> BackendError {
        let error = error_text(body);
        if status == reqwest::StatusCode::NOT_FOUND && error.contains("not found") {
            return self.not_pulled();
        }
        BackendError::Generate(format!(
            "ollama: {path} answered HTTP {}: {}",
            status.as_u16(),
            error
        ))
    }

    fn not_pulled(&self) -> BackendError {
        BackendError::Unavailable(format!(
            "ollama: model {:?} is not pulled: run `ollama pull {}`",
            self.model, self.model
        ))
    }
}

fn message(role: &str, content: &str) -> Value {
    json!({ "role": role, "content": content })
}

/// Ollama reads a number as seconds (negative: forever) and a string as a Go duration, which
/// must have a unit: "-1" or "3600" from the config is meant as a number.
fn keep_alive_value(keep_alive: &str) -> Value {
    match keep_alive.trim().parse::<i64>() {
        Ok(seconds) => json!(seconds),
        Err(_) => json!(keep_alive.trim()),
    }
}

/// The `"error"` of an error body, or the body itself, on one short line.
fn error_text(body: &str) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: String,
    }
    let text = match serde_json::from_str::<ErrorBody>(body) {
        Ok(parsed) => parsed.error,
        Err(_) if body.trim().is_empty() => "no error message".into(),
        Err(_) => body.to_string(),
    };
    one_line(&text)
}

/// `text` on one short line.
fn one_line(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// One line of a streamed `/api/chat` answer; the last, `done`, carries the counts.
#[derive(Debug, Deserialize)]
struct ChatChunk {
    message: Option<ChatMessage>,
    #[serde(default)]
    done: bool,
    error: Option<String>,
    /// Absent when Ollama reused the whole prompt from its cache.
    #[serde(default)]
    prompt_eval_count: u32,
    #[serde(default)]
    eval_count: u32,
}

#[derive(Debug, Deserialize)]
struct ChatMessage {
    #[serde(default)]
    content: String,
}

/// Reads the lines of a streamed `/api/chat` answer until the text holds a finished command
/// line, the `done` line comes, the stream ends, or `stop` fires. Lines after the command line
/// are left unread. The counts are Ollama's when its `done` line was read, else none for the
/// prompt and one a chunk for the answer (Ollama sends a chunk a token).
fn read_stream<I>(lines: I, stop: &dyn StopCheck) -> Result<Generation, StreamError>
where
    I: IntoIterator<Item = io::Result<String>>,
{
    let mut generation = Generation {
        texts: vec![String::new()],
        prompt_tokens: 0,
        output_tokens: 0,
        fallback: None,
    };
    for line in http::stream_lines(lines, stop) {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let chunk: ChatChunk = serde_json::from_str(&line).map_err(|err| {
            StreamError::Bad(format!("/api/chat answered something unexpected: {err}"))
        })?;
        if let Some(error) = chunk.error {
            return Err(StreamError::Bad(format!(
                "/api/chat failed mid-answer: {}",
                one_line(&error)
            )));
        }
        let content = chunk.message.map(|m| m.content).unwrap_or_default();
        let text = &mut generation.texts[0];
        if !content.is_empty() {
            text.push_str(&content);
            generation.output_tokens += 1;
        }
        if chunk.done {
            generation.prompt_tokens = chunk.prompt_eval_count;
            generation.output_tokens = chunk.eval_count;
            break;
        }
        if prompt::line_complete(text) {
            break;
        }
    }
    Ok(generation)
}

#[derive(Debug, Deserialize)]
struct Tags {
    #[serde(default)]
    models: Vec<Tag>,
}

#[derive(Debug, Deserialize)]
struct Tag {
    name: String,
}

/// Whether `listed` is `wanted`: a name without a tag means its `latest` tag, as in Ollama.
fn same_model(listed: &str, wanted: &str) -> bool {
    fn with_tag(name: &str) -> String {
        // A colon before the last slash is a registry's port, not a tag.
        let last = name.rsplit('/').next().unwrap_or(name);
        if last.contains(':') {
            name.to_string()
        } else {
            format!("{name}:latest")
        }
    }
    with_tag(listed) == with_tag(wanted)
}

impl Backend for Ollama {
    fn name(&self) -> &str {
        "ollama"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn generate(&mut self, ask: &Ask, stop: &dyn StopCheck) -> Result<Generation, BackendError> {
        if stop.should_stop() {
            return Err(BackendError::Stopped);
        }
        let unreachable = |err| http::failure("ollama", &self.base_url, err, START_FIX);
        let response = http::client()
            .post(format!("{}/api/chat", self.base_url))
            .timeout(self.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(self.chat_body(&ask.user_text()).to_string())
            .send()
            .map_err(unreachable)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().map_err(unreachable)?;
            return Err(self.refusal("/api/chat", status, &body));
        }
        // Each line waits on the socket: an Ollama that sends nothing blocks this loop until
        // the request's timeout, however early `stop` fires.
        let lines = BufReader::new(response).lines();
        read_stream(lines, stop).map_err(|err| match err {
            StreamError::Stopped => BackendError::Stopped,
            StreamError::Read(err) => http::read_failure("ollama", &self.base_url, err, START_FIX),
            StreamError::Bad(why) => BackendError::Generate(format!("ollama: {why}")),
        })
    }

    fn available(&mut self) -> Result<(), BackendError> {
        let unreachable = |err| http::failure("ollama", &self.base_url, err, START_FIX);
        let response = http::client()
            .get(format!("{}/api/tags", self.base_url))
            .timeout(TAGS_TIMEOUT.min(self.timeout))
            .send()
            .map_err(unreachable)?;
        let status = response.status();
        let body = response.text().map_err(unreachable)?;
        if !status.is_success() {
            return Err(BackendError::Unavailable(format!(
                "ollama: {} answered HTTP {} to /api/tags ({}): is it Ollama? fix [ollama] base_url",
                http::without_userinfo(&self.base_url),
                status.as_u16(),
                error_text(&body)
            )));
        }
        let tags: Tags = serde_json::from_str(&body).map_err(|_| {
            BackendError::Unavailable(format!(
                "ollama: {} did not list models at /api/tags: is it Ollama? fix [ollama] base_url",
                http::without_userinfo(&self.base_url)
            ))
        })?;
        if tags.models.iter().any(|m| same_model(&m.name, &self.model)) {
            Ok(())
        } else {
            Err(self.not_pulled())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ollama(keep_alive: &str) -> Ollama {
        let settings = Settings {
            base_url: "http://127.0.0.1:11434/".into(),
            keep_alive: keep_alive.into(),
            ..Settings::default()
        };
        let turns = [
            Turn {
                role: "system",
                content: "answer with a command".into(),
            },
            Turn {
                role: "user",
                content: "Request: list files".into(),
            },
            Turn {
                role: "assistant",
                content: "ls".into(),
            },
        ];
        Ollama::open(&settings, &turns, 96).unwrap()
    }

    #[test]
    fn the_chat_body_is_the_fixed_turns_then_the_user_turn_streamed_and_greedy() {
        let backend = ollama("30m");
        let body = backend.chat_body("Request: show disk usage");
        let expected = json!({
            "model": "qwen2.5-coder:1.5b",
            "messages": [
                {"role": "system", "content": "answer with a command"},
                {"role": "user", "content": "Request: list files"},
                {"role": "assistant", "content": "ls"},
                {"role": "user", "content": "Request: show disk usage"},
            ],
            "stream": true,
            "keep_alive": "30m",
            "options": {"temperature": 0, "num_predict": 96},
        });
        assert_eq!(body, expected);
        assert_eq!(backend.base_url, "http://127.0.0.1:11434");
    }

    #[test]
    fn a_keep_alive_without_a_unit_is_sent_as_seconds() {
        assert_eq!(keep_alive_value("-1"), json!(-1));
        assert_eq!(keep_alive_value("3600"), json!(3600));
        assert_eq!(keep_alive_value(" 24h "), json!("24h"));
        assert_eq!(ollama("0").chat_body("x")["keep_alive"], json!(0));
    }

    /// The lines of a streamed answer: each content as a chunk, then `tail`.
    fn stream(contents: &[&str], tail: &[&str]) -> std::vec::IntoIter<io::Result<String>> {
        let mut lines: Vec<String> = contents
            .iter()
            .map(|content| {
                json!({
                    "model": "qwen2.5-coder:1.5b",
                    "created_at": "2024-07-22T20:47:51.147561Z",
                    "message": {"role": "assistant", "content": content},
                    "done": false,
                })
                .to_string()
            })
            .collect();
        lines.extend(tail.iter().map(|line| line.to_string()));
        lines.into_iter().map(Ok).collect::<Vec<_>>().into_iter()
    }

    const DONE: &str = r#"{"model":"qwen2.5-coder:1.5b","created_at":"2024-07-22T20:47:51.147561Z",
        "message":{"role":"assistant","content":""},"done":true,"done_reason":"stop",
        "total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":412,
        "prompt_eval_duration":342546000,"eval_count":5,"eval_duration":4535599000}"#;

    fn never() -> bool {
        false
    }

    #[test]
    fn a_streamed_answer_gives_the_text_and_ollamas_token_counts() {
        let done = DONE.replace('\n', " ");
        let generation = read_stream(stream(&["du", " -sh", " ."], &[&done]), &never).unwrap();
        assert_eq!(generation.texts, ["du -sh ."]);
        assert_eq!(
            (generation.prompt_tokens, generation.output_tokens),
            (412, 5)
        );
        let cached = r#"{"message":{"role":"assistant","content":"ls"},"done":true}"#;
        let generation = read_stream(stream(&[], &[cached]), &never).unwrap();
        assert_eq!(generation.text(), "ls");
        assert_eq!((generation.prompt_tokens, generation.output_tokens), (0, 0));
    }

    #[test]
    fn a_fenced_answer_is_read_past_the_fence_to_the_command() {
        let mut lines = stream(&["```", "bash\n", "ls -la", "\n", "```"], &[]);
        let generation = read_stream(&mut lines, &never).unwrap();
        assert_eq!(generation.text(), "```bash\nls -la\n");
        assert_eq!(prompt::extract_command(generation.text()), "ls -la");
        assert_eq!(
            generation.output_tokens, 4,
            "a chunk a token, as no done line came"
        );
        assert!(
            lines.next().unwrap().unwrap().contains("```"),
            "the closer is unread"
        );
    }

    #[test]
    fn reading_stops_at_the_first_finished_line() {
        let done = DONE.replace('\n', " ");
        let mut lines = stream(&["ls -la", "\n", "This lists", " files.\n"], &[&done]);
        let generation = read_stream(&mut lines, &never).unwrap();
        assert_eq!(generation.text(), "ls -la\n");
        assert_eq!((generation.prompt_tokens, generation.output_tokens), (0, 2));
        assert_eq!(
            lines.len(),
            3,
            "the explanation and the done line are unread"
        );
    }

    #[test]
    fn an_error_mid_stream_is_reported_in_one_line() {
        let error =
            r#"{"error":"an error was encountered while running the model:\nunexpected EOF"}"#;
        let lines = stream(&["ls"], &[error]);
        let Err(StreamError::Bad(why)) = read_stream(lines, &never) else {
            panic!("an error line must fail the answer");
        };
        assert_eq!(
            why,
            "/api/chat failed mid-answer: an error was encountered while running the model: unexpected EOF"
        );
        let lines = stream(&[], &["<html>"]);
        assert!(matches!(
            read_stream(lines, &never),
            Err(StreamError::Bad(_))
        ));
    }

    #[test]
    fn an_empty_stream_is_an_empty_answer() {
        let generation = read_stream(stream(&[], &["", ""]), &never).unwrap();
        assert_eq!(generation.texts, [""]);
        assert_eq!((generation.prompt_tokens, generation.output_tokens), (0, 0));
    }

    #[test]
    fn a_stop_between_chunks_gives_up() {
        let read = std::cell::Cell::new(0);
        let lines = stream(&["ls", " -la", "\n"], &[]).inspect(|_| read.set(read.get() + 1));
        let stop = || read.get() >= 2;
        assert!(matches!(
            read_stream(lines, &stop),
            Err(StreamError::Stopped)
        ));
        assert_eq!(read.get(), 2, "reading ended at the stop");
    }

    #[test]
    fn an_unknown_model_reads_as_not_pulled() {
        let backend = ollama("30m");
        let body = r#"{"error":"model \"qwen2.5-coder:1.5b\" not found, try pulling it first"}"#;
        let err = backend.refusal("/api/chat", reqwest::StatusCode::NOT_FOUND, body);
        assert!(matches!(err, BackendError::Unavailable(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "ollama: model \"qwen2.5-coder:1.5b\" is not pulled: run `ollama pull qwen2.5-coder:1.5b`"
        );
    }

    #[test]
    fn an_error_body_becomes_one_line_naming_ollama() {
        let backend = ollama("30m");
        let body = "{\"error\":\"llama runner process has terminated:\\nsignal: killed\"}";
        let err = backend.refusal(
            "/api/chat",
            reqwest::StatusCode::INTERNAL_SERVER_ERROR,
            body,
        );
        assert!(matches!(err, BackendError::Generate(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "ollama: /api/chat answered HTTP 500: \
             llama runner process has terminated: signal: killed"
        );
    }

    #[test]
    fn an_error_without_json_is_cut_to_one_short_line() {
        assert_eq!(error_text("404 page not found\n"), "404 page not found");
        assert_eq!(error_text(""), "no error message");
        let long = "x ".repeat(300);
        let text = error_text(&long);
        assert!(
            text.chars().count() <= 201 && !text.contains('\n'),
            "{text}"
        );
    }

    #[test]
    fn a_model_without_a_tag_is_its_latest() {
        assert!(same_model("llama3:latest", "llama3"));
        assert!(same_model("llama3", "llama3:latest"));
        assert!(same_model("qwen2.5-coder:1.5b", "qwen2.5-coder:1.5b"));
        assert!(!same_model("qwen2.5-coder:7b", "qwen2.5-coder:1.5b"));
        assert!(!same_model("qwen2.5-coder:1.5b", "qwen2.5-coder"));
        assert!(same_model(
            "host:5000/ns/model:latest",
            "host:5000/ns/model"
        ));
    }

    #[test]
    fn the_models_list_parses_as_ollama_documents_it() {
        let body = r#"{"models":[{"name":"codellama:13b","modified_at":"2023-11-04T14:56:49.277302595-07:00",
            "size":7365960935,"digest":"9f438cb9","details":{"format":"gguf","family":"llama",
            "families":null,"parameter_size":"13B","quantization_level":"Q4_0"}}]}"#;
        let tags: Tags = serde_json::from_str(body).unwrap();
        assert_eq!(tags.models.len(), 1);
        assert_eq!(tags.models[0].name, "codellama:13b");
    }

    #[test]
    fn opening_checks_the_settings_without_contacting_anything() {
        let bad_url = Settings {
            base_url: "127.0.0.1 11434".into(),
            ..Settings::default()
        };
        let err = Ollama::open(&bad_url, &[], 64).err().unwrap();
        assert!(err.to_string().starts_with("ollama: base_url"), "{err}");
        let no_model = Settings {
            model: " ".into(),
            ..Settings::default()
        };
        let err = Ollama::open(&no_model, &[], 64).err().unwrap();
        assert!(err.to_string().contains("[ollama] model"), "{err}");
        // Port 9 (discard) is closed almost everywhere: opening still succeeds.
        let down = Settings {
            base_url: "http://127.0.0.1:9".into(),
            ..Settings::default()
        };
        assert!(Ollama::open(&down, &[], 64).is_ok());
    }

    #[test]
    fn a_stop_before_the_request_stops_without_contacting_the_server() {
        let mut backend = ollama("30m");
        let result = backend.generate(&Ask::plain("Request: ls"), &|| true);
        assert!(matches!(result, Err(BackendError::Stopped)), "{result:?}");
    }
}
