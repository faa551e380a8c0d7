//! The one HTTP client the remote backends share, and how its failures read.

use std::sync::OnceLock;
use std::time::Duration;

use super::{BackendError, StopCheck};

/// How long connecting may take: a server on the same network answers in milliseconds, and a
/// host that is down must not hold a key press for long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The shared client: one connection pool for every remote backend of the daemon. Each
/// request sets its own overall timeout.
pub fn client() -> &'static reqwest::blocking::Client {
    static CLIENT: OnceLock<reqwest::blocking::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::blocking::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("cmdai/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|_| reqwest::blocking::Client::new())
    })
}

/// A failed request to `url` as the backend `name` reports it: unreachable servers and
/// timeouts are `Unavailable` (a chain moves on), anything else a generation error. `fix`
/// says what to do about an unreachable one.
pub fn failure(name: &str, url: &str, err: reqwest::Error, fix: &str) -> BackendError {
    // The error's own text repeats the URL, which may carry credentials in its userinfo.
    let unreachable = err.is_timeout() || err.is_connect();
    let why = if err.is_timeout() {
        "timed out".to_string()
    } else if err.is_connect() {
        // The innermost cause reads best: "Connection refused (os error 111)".
        let mut deepest = None;
        let mut next = std::error::Error::source(&err);
        while let Some(cause) = next {
            deepest = Some(cause);
            next = cause.source();
        }
        deepest.map_or_else(|| "connection failed".to_string(), |e| e.to_string())
    } else {
        err.without_url().to_string()
    };
    let url = without_userinfo(url);
    if unreachable {
        BackendError::Unavailable(format!("{name}: {url} is not answering ({why}): {fix}"))
    } else {
        BackendError::Generate(format!("{name}: {url}: {why}"))
    }
}

/// `url` with any `user:password@` removed, for messages.
pub fn without_userinfo(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// Why a streamed answer was not read to a command line.
#[derive(Debug)]
pub enum StreamError {
    /// `stop` fired between two chunks.
    Stopped,
    /// The connection failed or timed out.
    Read(std::io::Error),
    /// The server reported an error, or sent something that is not a chat stream.
    Bad(String),
}

/// The lines of a streamed body, read one at a time and stopping with [`StreamError::Stopped`]
/// as soon as `stop` fires between two of them: the openai and ollama streams both read so.
pub fn stream_lines<'a, I>(
    lines: I,
    stop: &'a dyn StopCheck,
) -> impl Iterator<Item = Result<String, StreamError>> + 'a
where
    I: IntoIterator<Item = std::io::Result<String>>,
    I::IntoIter: 'a,
{
    lines.into_iter().map(move |line| {
        if stop.should_stop() {
            return Err(StreamError::Stopped);
        }
        line.map_err(StreamError::Read)
    })
}

/// A failed read of an answer's body, as backend `name` at `url` reports it: like a failed
/// request ([`failure`]) when the client's error is inside, e.g. a timeout.
pub fn read_failure(name: &str, url: &str, err: std::io::Error, fix: &str) -> BackendError {
    let kind = err.kind();
    let why = match err
        .into_inner()
        .map(|inner| inner.downcast::<reqwest::Error>())
    {
        Some(Ok(client_error)) => return failure(name, url, *client_error, fix),
        Some(Err(inner)) => inner.to_string(),
        None => kind.to_string(),
    };
    let url = without_userinfo(url);
    if kind == std::io::ErrorKind::TimedOut {
        return BackendError::Unavailable(format!(
            "{name}: {url} is not answering (timed out): {fix}"
        ));
    }
    BackendError::Generate(format!(
        "{name}: {url}: reading the answer failed: {}",
        excerpt(&why)
    ))
}

/// `text` on one line, cut to a length a terminal line can hold.
pub fn excerpt(text: &str) -> String {
    const LIMIT: usize = 200;
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        return "(empty body)".into();
    }
    match line.char_indices().nth(LIMIT) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line,
    }
}
