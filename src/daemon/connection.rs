//! One connection: check the peer, read one request, answer it, close.
//!
//! While a generation runs, the connection keeps reading: a client that hangs up (Ctrl-C in the
//! widget) ends the read, which sets the job's cancel flag so the engine stops between tokens.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::OwnedReadHalf;
use tokio::net::UnixStream;

use super::Shared;
use crate::engine::{self, Ahead};
use crate::paths;
use crate::protocol::{
    read_frame_async, write_frame_async, ErrorKind, FrameKind, GenerateRequest, Header, Hello,
    ProtocolError, Request, Response, WireError, MAX_SENTENCE, PROTOCOL_VERSION,
};

/// A client gets this long to send its request; slow senders cannot pin a connection.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) async fn handle(stream: UnixStream, shared: Arc<Shared>) {
    match stream.peer_cred() {
        Ok(cred) if cred.uid() == paths::current_uid() => {}
        Ok(cred) => {
            eprintln!("cmdai-daemon: refused a connection from uid {}", cred.uid());
            return;
        }
        Err(e) => {
            eprintln!("cmdai-daemon: refused a connection with unknown peer: {e}");
            return;
        }
    }
    let (mut reader, mut writer) = stream.into_split();
    let request = tokio::time::timeout(
        READ_TIMEOUT,
        read_frame_async::<_, Request>(&mut reader, FrameKind::Request),
    )
    .await;
    let response = match request {
        Err(_elapsed) => return,
        Ok(Err(ProtocolError::VersionMismatch { .. })) => {
            // Our own header, no body: any version of the client can read that much.
            let header = Header::new(FrameKind::Response, 0).to_bytes();
            let _ = writer.write_all(&header).await;
            let _ = writer.shutdown().await;
            drain(&mut reader).await;
            return;
        }
        Ok(Err(ProtocolError::Truncated)) => return,
        Ok(Err(e)) => Response::Error(WireError::new(ErrorKind::BadRequest, e.to_string())),
        Ok(Ok(request)) => match dispatch(request, &mut reader, &shared).await {
            Some(response) => response,
            None => return,
        },
    };
    let shutting_down = response == Response::ShuttingDown;
    let _ = write_frame_async(&mut writer, FrameKind::Response, &response).await;
    if shutting_down {
        shared.shutdown.notify_one();
    }
    let _ = writer.shutdown().await;
    drain(&mut reader).await;
}

/// Reads and drops what the client still sends (briefly, boundedly) so that closing with unread
/// bytes does not reset the connection before the client has read our answer.
async fn drain(reader: &mut OwnedReadHalf) {
    let mut sink = [0u8; 4096];
    let mut left = crate::protocol::MAX_FRAME_LEN as usize;
    while left > 0 {
        match tokio::time::timeout(Duration::from_secs(1), reader.read(&mut sink)).await {
            Ok(Ok(n)) if n > 0 => left = left.saturating_sub(n),
            _ => return,
        }
    }
}

/// The answer to one request, or `None` when the client hung up first.
async fn dispatch(
    request: Request,
    reader: &mut OwnedReadHalf,
    shared: &Shared,
) -> Option<Response> {
    Some(match request {
        Request::Ping => Response::Pong(Hello {
            daemon_version: env!("CARGO_PKG_VERSION").into(),
            protocol: PROTOCOL_VERSION,
            pid: std::process::id(),
        }),
        Request::Status => Response::Status(super::status(shared)),
        Request::Shutdown => Response::ShuttingDown,
        Request::Generate(request) => return generate(request, reader, shared).await,
        Request::Prepare(prepare) => {
            shared.engine.prepare(Ahead {
                context: prepare.context,
                typed: prepare.typed,
            });
            Response::Prepared
        }
        Request::Reload => match super::reload(shared) {
            Ok(changed) => Response::Reloaded { changed },
            Err(e) => Response::Error(WireError::new(ErrorKind::BadRequest, format!("{e:#}"))),
        },
    })
}

async fn generate(
    request: GenerateRequest,
    reader: &mut OwnedReadHalf,
    shared: &Shared,
) -> Option<Response> {
    if let Err(why) = check_request(&request) {
        return Some(Response::Error(WireError::new(ErrorKind::BadRequest, why)));
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let (job, reply) = engine::job_for(request, shared.timeout, Arc::clone(&cancel));
    if let Err(e) = shared.engine.submit(job) {
        return Some(Response::Error(e));
    }
    let mut probe = [0u8; 1];
    tokio::select! {
        answer = reply => Some(match answer {
            Ok(Ok(suggestion)) => Response::Suggestion(suggestion),
            Ok(Err(e)) => Response::Error(e),
            Err(_) => Response::Error(WireError::new(ErrorKind::Internal, "the engine dropped the request")),
        }),
        // One request per connection: anything readable now is a hang-up (or a protocol
        // violation), and either way the work is no longer wanted.
        _ = reader.read(&mut probe) => {
            cancel.store(true, Ordering::Relaxed);
            None
        }
    }
}

fn check_request(request: &GenerateRequest) -> Result<(), String> {
    let sentence = request.sentence.trim();
    if sentence.is_empty() {
        return Err("the sentence is empty".into());
    }
    if sentence.len() > MAX_SENTENCE {
        return Err(format!(
            "the sentence is {} bytes; at most {MAX_SENTENCE} are accepted",
            sentence.len()
        ));
    }
    Ok(())
}
