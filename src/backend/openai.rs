//! Any server speaking OpenAI's chat API: vLLM, llama-server, LM Studio, Ollama's compatible
//! endpoint. `/v1/chat/completions` answers, `/v1/models` says whether the server is up.
//!
//! The answer is streamed and read only up to its first finished command line (the way the
//! embedded backend stops), so a model that opens with a code fence still gives its command,
//! and a cancelled request gives up between chunks. Dropping the response closes the
//! connection, which makes llama-server, vLLM and Ollama stop generating.
//!
//! Opening asks nothing of the server: the daemon may start before it. The model, when the
//! config names none, is learned from `/v1/models` at the first check or request. The API key
//! is read from the environment variable the config names, once, and only ever sent in the
//! `Authorization` header: no message built here contains it.

use std::io::{self, BufRead, BufReader};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::http::{self, StreamError};
use super::{Ask, Backend, BackendError, Generation, StopCheck};
use crate::prompt::{self, Turn};

/// The `[openai]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Up to and including `/v1`.
    pub base_url: String,
    /// The model named in each request; empty: the first one the server lists.
    pub model: String,
    /// The name of the environment variable that holds the API key; empty: no key is sent.
    pub api_key_env: String,
    /// How long one request may take before the next backend of the chain is tried.
    pub timeout_ms: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            base_url: "http://127.0.0.1:8080/v1".into(),
            model: String::new(),
            api_key_env: String::new(),
            timeout_ms: 20_000,
        }
    }
}

pub struct OpenAi {
    /// How messages name this backend: `openai`, or the supervised `llama-server`.
    name: &'static str,
    /// What to do about a server that does not answer.
    fix: &'static str,
    /// Without the trailing slash.
    base_url: String,
    /// Configured, or learned from `/models`; empty until then.
    model: String,
    key: Option<ApiKey>,
    timeout: Duration,
    fixed_turns: Vec<Turn>,
    max_tokens: u32,
}

/// A key and the variable it came from, which messages may name.
struct ApiKey {
    var: String,
    value: String,
}

impl OpenAi {
    pub fn open(
        settings: &Settings,
        fixed_turns: &[Turn],
        max_tokens: u32,
    ) -> Result<OpenAi, BackendError> {
        let mut api = OpenAi::at(
            "openai",
            "start the server or fix [openai] base_url",
            settings,
            fixed_turns,
            max_tokens,
        );
        api.key = api_key(&settings.api_key_env)?;
        Ok(api)
    }

    /// A client for a server that answers as backend `name`, `fix` saying what to do when it
    /// does not answer. No key.
    pub(super) fn at(
        name: &'static str,
        fix: &'static str,
        settings: &Settings,
        fixed_turns: &[Turn],
        max_tokens: u32,
    ) -> OpenAi {
        OpenAi {
            name,
            fix,
            base_url: settings.base_url.trim_end_matches('/').to_string(),
            model: settings.model.clone(),
            key: None,
            timeout: Duration::from_millis(u64::from(settings.timeout_ms)),
            fixed_turns: fixed_turns.to_vec(),
            max_tokens,
        }
    }

    fn request(
        &self,
        method: reqwest::Method,
        endpoint: &str,
    ) -> reqwest::blocking::RequestBuilder {
        let url = format!("{}/{endpoint}", self.base_url);
        let request = http::client().request(method, url).timeout(self.timeout);
        match &self.key {
            Some(key) => request.bearer_auth(&key.value),
            None => request,
        }
    }

    /// Sends `request` and returns a successful answer, its body unread.
    fn respond(
        &self,
        request: reqwest::blocking::RequestBuilder,
    ) -> Result<reqwest::blocking::Response, BackendError> {
        let failed = |err| http::failure(self.name, &self.base_url, err, self.fix);
        let response = request.send().map_err(failed)?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().map_err(failed)?;
        Err(self.refused(status, &body))
    }

    /// Sends `request` and returns the body of a successful answer.
    fn send(&self, request: reqwest::blocking::RequestBuilder) -> Result<String, BackendError> {
        let response = self.respond(request)?;
        response
            .text()
            .map_err(|err| http::failure(self.name, &self.base_url, err, self.fix))
    }

    /// Reads a streamed answer up to its first command line. A server that ignored `stream`
    /// and sent one JSON object is read whole.
    fn read_answer(
        &self,
        response: reqwest::blocking::Response,
        stop: &dyn StopCheck,
    ) -> Result<Generation, BackendError> {
        let url = http::without_userinfo(&self.base_url);
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if is_json {
            let body = response
                .text()
                .map_err(|err| http::failure(self.name, &self.base_url, err, self.fix))?;
            return parse_chat(&body)
                .map_err(|why| BackendError::Generate(format!("{}: {url}: {why}", self.name)));
        }
        // Each line waits on the socket: a server that sends nothing blocks this loop until
        // the request's timeout, however early `stop` fires.
        let lines = BufReader::new(response).lines();
        match read_stream(lines, stop) {
            Ok(streamed) => Ok(streamed.into_generation()),
            Err(StreamError::Stopped) => Err(BackendError::Stopped),
            Err(StreamError::Read(err)) => {
                Err(http::read_failure(self.name, &self.base_url, err, self.fix))
            }
            Err(StreamError::Bad(why)) => Err(BackendError::Generate(format!(
                "{}: {url}: {why}",
                self.name
            ))),
        }
    }

    /// What an answer with an error status means, in one line.
    fn refused(&self, status: reqwest::StatusCode, body: &str) -> BackendError {
        let (name, url) = (self.name, http::without_userinfo(&self.base_url));
        let code = status.as_u16();
        if code == 401 || code == 403 {
            let fix = match &self.key {
                Some(key) => format!("set {} to a key the server accepts", key.var),
                None => {
                    "put the key in an environment variable and name it in [openai] api_key_env"
                        .into()
                }
            };
            return BackendError::Unavailable(format!(
                "{name}: {url} refused the API key (HTTP {code}): {fix}"
            ));
        }
        let why = error_message(body);
        if code == 503 {
            // llama-server and vLLM answer 503 while the model loads.
            return BackendError::Unavailable(format!(
                "{name}: {url} is not ready (HTTP 503: {why}): try again shortly"
            ));
        }
        BackendError::Generate(format!("{name}: {url} answered HTTP {code}: {why}"))
    }

    /// The model to name: the configured one, else the first the server lists.
    fn ensure_model(&mut self) -> Result<(), BackendError> {
        if self.model.is_empty() {
            self.list_models()?;
        }
        Ok(())
    }

    /// `GET /models`: whether the server answers, and the first model it lists.
    fn list_models(&mut self) -> Result<(), BackendError> {
        let body = self.send(self.request(reqwest::Method::GET, "models"))?;
        if self.model.is_empty() {
            self.model = first_model(&body).ok_or_else(|| {
                BackendError::Unavailable(format!(
                    "{}: {} lists no model: load one in the server or set [openai] model",
                    self.name,
                    http::without_userinfo(&self.base_url)
                ))
            })?;
        }
        Ok(())
    }

    fn chat_body(&self, user_text: &str) -> String {
        let fixed = self.fixed_turns.iter().map(|t| Message {
            role: t.role,
            content: &t.content,
        });
        let user = Message {
            role: "user",
            content: user_text,
        };
        let body = ChatRequest {
            model: &self.model,
            messages: fixed.chain([user]).collect(),
            temperature: 0.0,
            max_tokens: self.max_tokens,
            stream: true,
            stream_options: StreamOptions {
                include_usage: true,
            },
        };
        serde_json::to_string(&body).expect("a chat request always serializes")
    }
}

/// The key in variable `var`, or `None` when no variable is named.
fn api_key(var: &str) -> Result<Option<ApiKey>, BackendError> {
    if var.is_empty() {
        return Ok(None);
    }
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Ok(Some(ApiKey {
            var: var.to_string(),
            value: value.trim().to_string(),
        })),
        _ => Err(BackendError::Unavailable(format!(
            "openai: the environment variable {var} (named by [openai] api_key_env) is not set \
             for the daemon: set it where the daemon starts, then `cmdai daemon stop`"
        ))),
    }
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<Message<'a>>,
    temperature: f32,
    max_tokens: u32,
    stream: bool,
    stream_options: StreamOptions,
}

/// Asks for the token counts in a last chunk. Servers that do not know it ignore it.
#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'a str,
    content: &'a str,
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Option<Vec<Choice>>,
    #[serde(default)]
    usage: Usage,
}

#[derive(Deserialize)]
struct Choice {
    message: Option<ChoiceMessage>,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    content: Option<String>,
}

/// One `data:` event of a streamed answer.
#[derive(Deserialize)]
struct StreamChunk {
    choices: Option<Vec<StreamChoice>>,
    usage: Option<Usage>,
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct StreamChoice {
    delta: Option<Delta>,
}

#[derive(Deserialize)]
struct Delta {
    content: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u32,
    #[serde(default)]
    completion_tokens: u32,
}

#[derive(Deserialize)]
struct ModelList {
    data: Vec<ModelEntry>,
}

#[derive(Deserialize)]
struct ModelEntry {
    id: String,
}

/// The answer and token counts of a chat completion body, or why there is none.
fn parse_chat(body: &str) -> Result<Generation, String> {
    let response: ChatResponse = serde_json::from_str(body).map_err(|_| {
        format!(
            "the answer is not a chat completion: {}",
            http::excerpt(body)
        )
    })?;
    let Some(choices) = response.choices else {
        return Err(format!(
            "the answer has no choices: {}",
            error_message(body)
        ));
    };
    let text = choices
        .into_iter()
        .next()
        .and_then(|c| c.message)
        .and_then(|m| m.content)
        .ok_or("the answer's first choice has no message")?;
    Ok(Generation {
        texts: vec![text],
        prompt_tokens: response.usage.prompt_tokens,
        output_tokens: response.usage.completion_tokens,
        fallback: None,
    })
}

/// What a streamed answer said up to where reading stopped.
#[derive(Debug, Default, PartialEq)]
struct Streamed {
    text: String,
    /// The last chunk's counts; `None` when the server sends none or reading stopped first.
    usage: Option<Usage>,
    /// Chunks that carried text: about one token each on llama-server and vLLM.
    chunks: u32,
}

impl Streamed {
    fn into_generation(self) -> Generation {
        let usage = self.usage.unwrap_or(Usage {
            prompt_tokens: 0,
            completion_tokens: self.chunks,
        });
        Generation {
            texts: vec![self.text],
            prompt_tokens: usage.prompt_tokens,
            output_tokens: usage.completion_tokens,
            fallback: None,
        }
    }
}

/// Reads the lines of a Server-Sent Events answer (`data: {chunk}` lines, `data: [DONE]` last)
/// until the text holds a finished command line, the stream ends, or `stop` fires. Lines after
/// the command line are left unread.
fn read_stream<I>(lines: I, stop: &dyn StopCheck) -> Result<Streamed, StreamError>
where
    I: IntoIterator<Item = io::Result<String>>,
{
    let mut streamed = Streamed::default();
    let mut events = 0;
    let mut other = None;
    for line in http::stream_lines(lines, stop) {
        let line = line?;
        let line = line.trim_end();
        // llama-server reports a failure after the headers as an `error:` line.
        if let Some(error) = line.strip_prefix("error:") {
            return Err(StreamError::Bad(failed_mid_answer(error)));
        }
        let Some(data) = line.strip_prefix("data:").map(str::trim_start) else {
            // Blank lines end events, `:` lines are comments; anything else is kept for
            // the message when no event ever comes.
            if other.is_none() && !line.is_empty() && !line.starts_with(':') {
                other = Some(line.to_string());
            }
            continue;
        };
        events += 1;
        if data == "[DONE]" {
            break;
        }
        let chunk: StreamChunk = serde_json::from_str(data).map_err(|_| {
            StreamError::Bad(format!(
                "the answer is not a chat stream: {}",
                http::excerpt(data)
            ))
        })?;
        if chunk.error.is_some() {
            return Err(StreamError::Bad(failed_mid_answer(data)));
        }
        if chunk.usage.is_some() {
            streamed.usage = chunk.usage;
        }
        let content = chunk
            .choices
            .and_then(|choices| choices.into_iter().next())
            .and_then(|choice| choice.delta)
            .and_then(|delta| delta.content)
            .unwrap_or_default();
        if !content.is_empty() {
            streamed.text.push_str(&content);
            streamed.chunks += 1;
            if prompt::line_complete(&streamed.text) {
                break;
            }
        }
    }
    match other {
        Some(line) if events == 0 => Err(StreamError::Bad(format!(
            "the answer is not a chat stream: {}",
            http::excerpt(&line)
        ))),
        _ => Ok(streamed),
    }
}

fn failed_mid_answer(error: &str) -> String {
    format!(
        "the server failed mid-answer: {}",
        error_message(error.trim())
    )
}

/// The id of the first model in a `/models` body.
fn first_model(body: &str) -> Option<String> {
    let list: ModelList = serde_json::from_str(body).ok()?;
    list.data
        .into_iter()
        .map(|m| m.id)
        .find(|id| !id.is_empty())
}

/// The message of an error body (`{"error": {"message": …}}`, `{"error": "…"}` or
/// `{"message": …}`), else the body's start.
fn error_message(body: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let error = &value["error"];
    let message = error["message"]
        .as_str()
        .or_else(|| error.as_str())
        .or_else(|| value["message"].as_str());
    match message {
        Some(message) => http::excerpt(message),
        None => http::excerpt(body),
    }
}

impl Backend for OpenAi {
    fn name(&self) -> &str {
        self.name
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn generate(&mut self, ask: &Ask, stop: &dyn StopCheck) -> Result<Generation, BackendError> {
        if stop.should_stop() {
            return Err(BackendError::Stopped);
        }
        self.ensure_model()?;
        let body = self.chat_body(&ask.user_text());
        let request = self
            .request(reqwest::Method::POST, "chat/completions")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        let response = self.respond(request)?;
        self.read_answer(response, stop)
    }

    fn available(&mut self) -> Result<(), BackendError> {
        self.list_models()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(model: &str) -> Settings {
        Settings {
            base_url: "http://127.0.0.1:9/v1/".into(),
            model: model.into(),
            ..Settings::default()
        }
    }

    fn turns() -> Vec<Turn> {
        vec![
            Turn {
                role: "system",
                content: "be brief".into(),
            },
            Turn {
                role: "user",
                content: "Request: list files".into(),
            },
            Turn {
                role: "assistant",
                content: "ls".into(),
            },
        ]
    }

    #[test]
    fn the_body_holds_the_fixed_turns_then_the_user_turn() {
        let api = OpenAi::open(&settings("m1"), &turns(), 48).unwrap();
        let body: serde_json::Value = serde_json::from_str(&api.chat_body("Request: x")).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "model": "m1",
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "Request: list files"},
                    {"role": "assistant", "content": "ls"},
                    {"role": "user", "content": "Request: x"},
                ],
                "temperature": 0.0,
                "max_tokens": 48,
                "stream": true,
                "stream_options": {"include_usage": true},
            })
        );
    }

    #[test]
    fn the_base_url_loses_its_trailing_slash() {
        let api = OpenAi::open(&settings(""), &[], 8).unwrap();
        assert_eq!(api.base_url, "http://127.0.0.1:9/v1");
        assert_eq!(api.model(), "", "the model is learned later, not at open");
    }

    #[test]
    fn an_answer_gives_its_text_and_token_counts() {
        let body = r#"{"choices":[{"index":0,"finish_reason":"stop",
            "message":{"role":"assistant","content":"ls -la"}}],
            "usage":{"prompt_tokens":321,"completion_tokens":4,"total_tokens":325}}"#;
        let generation = parse_chat(body).unwrap();
        assert_eq!(generation.texts, ["ls -la"]);
        assert_eq!(generation.prompt_tokens, 321);
        assert_eq!(generation.output_tokens, 4);
        assert_eq!(generation.fallback, None);
    }

    #[test]
    fn an_answer_without_usage_counts_zero() {
        let body = r#"{"choices":[{"message":{"content":"pwd"}}]}"#;
        let generation = parse_chat(body).unwrap();
        assert_eq!(generation.text(), "pwd");
        assert_eq!((generation.prompt_tokens, generation.output_tokens), (0, 0));
    }

    #[test]
    fn an_answer_without_choices_is_an_error_quoting_the_server() {
        let why = parse_chat(r#"{"error":{"message":"model not found","code":404}}"#).unwrap_err();
        assert_eq!(why, "the answer has no choices: model not found");
        let why = parse_chat(r#"{"object":"chat.completion"}"#).unwrap_err();
        assert!(why.starts_with("the answer has no choices: {"), "{why}");
        assert!(parse_chat(r#"{"choices":[]}"#).is_err());
        assert!(parse_chat("<html>\n<body>bad gateway</body>")
            .unwrap_err()
            .contains("<html> <body>"));
    }

    /// The lines of an event stream: each chunk's content as a `data:` event, then `tail`.
    fn stream(contents: &[&str], tail: &[&str]) -> std::vec::IntoIter<io::Result<String>> {
        let mut lines = Vec::new();
        for content in contents {
            let chunk = serde_json::json!({
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}],
            });
            lines.push(format!("data: {chunk}"));
            lines.push(String::new());
        }
        lines.extend(tail.iter().map(|line| line.to_string()));
        lines.into_iter().map(Ok).collect::<Vec<_>>().into_iter()
    }

    fn never() -> bool {
        false
    }

    #[test]
    fn a_fenced_answer_is_read_past_the_fence_to_the_command() {
        let mut lines = stream(
            &["```", "bash\n", "ls", " -la", "\n", "```"],
            &["data: [DONE]"],
        );
        let streamed = read_stream(&mut lines, &never).unwrap();
        assert_eq!(streamed.text, "```bash\nls -la\n");
        assert_eq!(prompt::extract_command(&streamed.text), "ls -la");
        assert_eq!(streamed.chunks, 5);
        assert_eq!(lines.next().unwrap().unwrap(), "", "the event's end");
        assert!(
            lines.next().unwrap().unwrap().contains("```"),
            "the fence closer is unread"
        );
    }

    #[test]
    fn reading_stops_at_the_first_finished_line() {
        let mut lines = stream(
            &["ls", " -la\n", "explanation", " of it\n"],
            &[r#"data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4}}"#],
        );
        let generation = read_stream(&mut lines, &never).unwrap().into_generation();
        assert_eq!(generation.text(), "ls -la\n");
        // No usage came before the stop: each chunk counts as a token.
        assert_eq!((generation.prompt_tokens, generation.output_tokens), (0, 2));
        let rest: Vec<String> = lines.map(Result::unwrap).collect();
        assert_eq!(rest.len(), 6, "{rest:?}");
        assert!(rest[1].contains("explanation"), "{rest:?}");
    }

    #[test]
    fn the_usage_chunk_gives_the_token_counts() {
        let lines = stream(
            &["pwd"],
            &[
                r#"data: {"choices":[],"usage":{"prompt_tokens":321,"completion_tokens":2}}"#,
                "",
                "data: [DONE]",
                "",
            ],
        );
        let generation = read_stream(lines, &never).unwrap().into_generation();
        assert_eq!(generation.texts, ["pwd"]);
        assert_eq!(
            (generation.prompt_tokens, generation.output_tokens),
            (321, 2)
        );
    }

    #[test]
    fn done_without_content_is_an_empty_answer() {
        let lines = stream(&[], &[": keep-alive", "data: [DONE]", ""]);
        let generation = read_stream(lines, &never).unwrap().into_generation();
        assert_eq!(generation.texts, [""]);
        assert_eq!((generation.prompt_tokens, generation.output_tokens), (0, 0));
    }

    #[test]
    fn an_error_mid_stream_is_reported_in_one_line() {
        let lines = stream(
            &["ls"],
            &[r#"data: {"error":{"message":"out of\nmemory"}}"#],
        );
        let Err(StreamError::Bad(why)) = read_stream(lines, &never) else {
            panic!("an error event must fail the answer");
        };
        assert_eq!(why, "the server failed mid-answer: out of memory");
        let lines = stream(
            &[],
            &[r#"error: {"code":500,"message":"slot unavailable"}"#],
        );
        let Err(StreamError::Bad(why)) = read_stream(lines, &never) else {
            panic!("llama-server's error line must fail the answer");
        };
        assert_eq!(why, "the server failed mid-answer: slot unavailable");
    }

    #[test]
    fn a_body_that_is_no_event_stream_is_an_error_quoting_it() {
        let lines = stream(&[], &["<html>", "<body>bad gateway</body>"]);
        let Err(StreamError::Bad(why)) = read_stream(lines, &never) else {
            panic!("a page is not a chat stream");
        };
        assert_eq!(why, "the answer is not a chat stream: <html>");
        let lines = stream(&[], &["data: {not json"]);
        assert!(matches!(
            read_stream(lines, &never),
            Err(StreamError::Bad(_))
        ));
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
    fn a_failed_read_names_the_backend_and_never_the_userinfo() {
        let url = "http://user:pw@127.0.0.1:9/v1";
        let timeout = io::Error::new(io::ErrorKind::TimedOut, "deadline");
        let err = http::read_failure("openai", url, timeout, "fix it");
        assert!(matches!(err, BackendError::Unavailable(_)), "{err}");
        assert_eq!(
            err.to_string(),
            "openai: http://127.0.0.1:9/v1 is not answering (timed out): fix it"
        );
        let broken = io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        );
        let err = http::read_failure("openai", url, broken, "fix it");
        assert!(matches!(err, BackendError::Generate(_)), "{err}");
        assert_eq!(
            err.to_string(),
            "openai: http://127.0.0.1:9/v1: reading the answer failed: stream did not contain valid UTF-8"
        );
    }

    #[test]
    fn error_bodies_read_as_one_line() {
        assert_eq!(
            error_message(r#"{"error":{"message":"Invalid API Key"}}"#),
            "Invalid API Key"
        );
        assert_eq!(
            error_message(r#"{"error":"no such model"}"#),
            "no such model"
        );
        assert_eq!(error_message("Bad\nGateway\n"), "Bad Gateway");
        assert_eq!(error_message(""), "(empty body)");
        assert_eq!(error_message(&"x".repeat(500)).chars().count(), 201);
    }

    #[test]
    fn the_first_listed_model_is_taken() {
        let body = r#"{"object":"list","data":[{"id":"qwen","object":"model"},{"id":"other"}]}"#;
        assert_eq!(first_model(body).as_deref(), Some("qwen"));
        assert_eq!(first_model(r#"{"data":[]}"#), None);
        assert_eq!(first_model("not json"), None);
    }

    #[test]
    fn a_refused_key_names_the_variable_and_never_the_key() {
        let mut api = OpenAi::open(&settings("m"), &[], 8).unwrap();
        api.key = Some(ApiKey {
            var: "MY_KEY".into(),
            value: "sk-secret".into(),
        });
        let err = api.refused(
            reqwest::StatusCode::UNAUTHORIZED,
            r#"{"error":"sk-secret bad"}"#,
        );
        let message = err.to_string();
        assert!(matches!(err, BackendError::Unavailable(_)));
        assert_eq!(
            message,
            "openai: http://127.0.0.1:9/v1 refused the API key (HTTP 401): set MY_KEY to a key the server accepts"
        );
    }

    #[test]
    fn other_error_statuses_quote_the_server() {
        let api = OpenAi::open(&settings("m"), &[], 8).unwrap();
        let err = api.refused(
            reqwest::StatusCode::BAD_REQUEST,
            r#"{"error":{"message":"context too long"}}"#,
        );
        let BackendError::Generate(message) = err else {
            panic!("a 400 is a generation error: {err}");
        };
        assert_eq!(
            message,
            "openai: http://127.0.0.1:9/v1 answered HTTP 400: context too long"
        );
        let err = api.refused(reqwest::StatusCode::SERVICE_UNAVAILABLE, "Loading model");
        assert!(matches!(err, BackendError::Unavailable(_)), "{err}");
    }

    #[test]
    fn a_named_but_unset_key_variable_is_an_error_naming_it() {
        let var = "CMDAI_UNIT_TEST_SURELY_UNSET_KEY";
        let Err(err) = api_key(var) else {
            panic!("an unset variable must be an error");
        };
        let message = err.to_string();
        assert!(message.starts_with("openai: "), "{message}");
        assert!(message.contains(var), "{message}");
        assert!(!message.contains('\n'));
        assert!(api_key("").unwrap().is_none());
    }

    #[test]
    fn a_stopped_request_sends_nothing() {
        let mut api = OpenAi::open(&settings("m"), &[], 8).unwrap();
        let stopped = api.generate(&Ask::plain("x"), &|| true);
        assert!(matches!(stopped, Err(BackendError::Stopped)));
    }

    #[test]
    fn a_server_that_is_down_is_unavailable_naming_the_url_and_the_fix() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let settings = Settings {
            base_url: format!("http://127.0.0.1:{port}/v1"),
            ..Settings::default()
        };
        let mut api = OpenAi::open(&settings, &[], 8).unwrap();
        let err = api.available().unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, BackendError::Unavailable(_)), "{message}");
        assert!(
            message.starts_with(&format!(
                "openai: http://127.0.0.1:{port}/v1 is not answering"
            )),
            "{message}"
        );
        assert!(
            message.ends_with("start the server or fix [openai] base_url"),
            "{message}"
        );
    }
}
