//! The synchronous side of the socket: one connection, one request, one response.
//!
//! This is what a key press runs, so it stays small: std sockets, no async runtime, no config
//! file. It depends on `protocol` and `paths` only, never on the daemon or the engine.

mod autostart;

use std::io;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::paths;
use crate::protocol::{self, FrameKind, ProtocolError, Request, Response, WireError};

pub use autostart::{daemon_pid, start_daemon, stop_daemon, StartOptions};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the daemon is not running (no answer on {0}); start it with `cmdai daemon start`")]
    NotRunning(String),
    #[error("the daemon speaks protocol {daemon}, this client {PROTOCOL}; restart it with `cmdai daemon stop && cmdai daemon start`", PROTOCOL = protocol::PROTOCOL_VERSION)]
    VersionMismatch { daemon: u16 },
    #[error("the daemon did not answer within {0:?}")]
    Timeout(Duration),
    #[error("{}", .0.message)]
    Daemon(WireError),
    #[error("could not start the daemon: {0}")]
    Start(String),
    #[error("could not talk to the daemon: {0}")]
    Protocol(ProtocolError),
}

impl From<ProtocolError> for ClientError {
    fn from(e: ProtocolError) -> Self {
        match e {
            ProtocolError::VersionMismatch { peer } => {
                ClientError::VersionMismatch { daemon: peer }
            }
            ProtocolError::Io(e) if is_timeout(&e) => ClientError::Timeout(Duration::ZERO),
            // The decoder's messages run over several lines; the user gets one.
            ProtocolError::Decode(why) => {
                ClientError::Protocol(ProtocolError::Decode(one_line(&why)))
            }
            other => ClientError::Protocol(other),
        }
    }
}

/// `text` on one line: what a widget shows above the prompt, whatever a daemon sent.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Connects to the daemon's socket; `NotRunning` when nothing listens there.
pub fn connect() -> Result<UnixStream, ClientError> {
    let path = paths::socket_path();
    UnixStream::connect(&path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
            ClientError::NotRunning(path.display().to_string())
        }
        _ => ClientError::Protocol(ProtocolError::Io(e)),
    })
}

/// Sends one request and waits up to `timeout` for its response.
pub fn request(request: &Request, timeout: Duration) -> Result<Response, ClientError> {
    let mut stream = send_frame(request, Duration::from_secs(5))?;
    stream
        .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
        .map_err(|e| ClientError::Protocol(ProtocolError::Io(e)))?;
    match protocol::read_frame(&mut stream, FrameKind::Response) {
        Ok(Response::Error(e)) => Err(ClientError::Daemon(WireError {
            message: one_line(&e.message),
            ..e
        })),
        Ok(response) => Ok(response),
        Err(e) => Err(match ClientError::from(e) {
            ClientError::Timeout(_) => ClientError::Timeout(timeout),
            other => other,
        }),
    }
}

/// Sends one request and does not wait for the answer: the daemon's reply, if any, is dropped
/// with the connection. For `Prepare`, which the shell sends at every prompt.
pub fn send(request: &Request) -> Result<(), ClientError> {
    send_frame(request, Duration::from_millis(200)).map(drop)
}

/// Connects and writes `request`, giving the write `write_timeout`; the stream, to read from.
fn send_frame(request: &Request, write_timeout: Duration) -> Result<UnixStream, ClientError> {
    let mut stream = connect()?;
    stream
        .set_write_timeout(Some(write_timeout))
        .map_err(|e| ClientError::Protocol(ProtocolError::Io(e)))?;
    protocol::write_frame(&mut stream, FrameKind::Request, request)?;
    Ok(stream)
}
