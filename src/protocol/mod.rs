//! The wire between `cmdai` and `cmdai-daemon`: one request and one response per connection.
//!
//! A frame is a fixed 12-byte little-endian header that never changes (magic `CMDI`,
//! `version: u16`, `kind: u16`, `len: u32`) followed by one encoded message. The header is
//! frozen so any two versions of cmdai can at least tell each other apart: a daemon that sees a
//! foreign version answers with a bare header carrying its own version and closes.
//!
//! Bump [`PROTOCOL_VERSION`] by hand whenever a payload changes. Enum variants are only ever
//! appended; the golden-bytes tests below fail if an existing encoding moves. Depends only on
//! `validate`, for the risk scale and safety setting it carries.

mod codec;
mod messages;

use std::io::{self, Read, Write};

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub use messages::*;

pub const MAGIC: [u8; 4] = *b"CMDI";
pub const HEADER_LEN: usize = 12;
/// Bumped by hand whenever any payload's encoding changes.
pub const PROTOCOL_VERSION: u16 = 7;
/// Frames larger than this are refused before anything is allocated for them.
pub const MAX_FRAME_LEN: u32 = 64 * 1024;
/// The longest sentence a daemon accepts, in bytes; clients say so before sending.
pub const MAX_SENTENCE: usize = 4096;

/// What a frame carries; lets either side reject a frame sent the wrong way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum FrameKind {
    Request = 1,
    Response = 2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub version: u16,
    pub kind: u16,
    pub len: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("connection closed before a complete frame arrived")]
    Truncated,
    #[error("not a cmdai frame (bad magic)")]
    BadMagic,
    #[error("protocol version mismatch: peer speaks {peer}, this side speaks {PROTOCOL_VERSION}")]
    VersionMismatch { peer: u16 },
    #[error("unexpected frame kind {0}")]
    BadKind(u16),
    #[error("frame of {0} bytes exceeds the {MAX_FRAME_LEN}-byte cap")]
    TooLarge(u32),
    #[error("could not encode message: {0}")]
    Encode(String),
    #[error("could not decode message: {0}")]
    Decode(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl ProtocolError {
    /// The peer went away mid-exchange: a reset, a broken pipe or a frame cut short.
    pub fn is_hang_up(&self) -> bool {
        match self {
            ProtocolError::Truncated => true,
            ProtocolError::Io(e) => matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::ConnectionAborted
            ),
            _ => false,
        }
    }
}

impl Header {
    pub fn new(kind: FrameKind, len: u32) -> Self {
        Header {
            version: PROTOCOL_VERSION,
            kind: kind as u16,
            len,
        }
    }

    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..4].copy_from_slice(&MAGIC);
        out[4..6].copy_from_slice(&self.version.to_le_bytes());
        out[6..8].copy_from_slice(&self.kind.to_le_bytes());
        out[8..].copy_from_slice(&self.len.to_le_bytes());
        out
    }

    /// Parses only the frozen layout; version and size policy are [`Header::check`]'s job.
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Result<Self, ProtocolError> {
        if bytes[..4] != MAGIC {
            return Err(ProtocolError::BadMagic);
        }
        Ok(Header {
            version: u16::from_le_bytes([bytes[4], bytes[5]]),
            kind: u16::from_le_bytes([bytes[6], bytes[7]]),
            len: u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]),
        })
    }

    pub fn check(&self, expected: FrameKind) -> Result<(), ProtocolError> {
        if self.version != PROTOCOL_VERSION {
            return Err(ProtocolError::VersionMismatch { peer: self.version });
        }
        if self.kind != expected as u16 {
            return Err(ProtocolError::BadKind(self.kind));
        }
        if self.len > MAX_FRAME_LEN {
            return Err(ProtocolError::TooLarge(self.len));
        }
        Ok(())
    }
}

/// Header plus body, ready to write in one call.
pub fn encode_frame<T: Serialize>(kind: FrameKind, message: &T) -> Result<Vec<u8>, ProtocolError> {
    let body = codec::encode(message)?;
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    if len > MAX_FRAME_LEN {
        return Err(ProtocolError::TooLarge(len));
    }
    let mut frame = Vec::with_capacity(HEADER_LEN + body.len());
    frame.extend_from_slice(&Header::new(kind, len).to_bytes());
    frame.extend_from_slice(&body);
    Ok(frame)
}

pub fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ProtocolError> {
    codec::decode(body)
}

fn eof_as_truncated(err: io::Error) -> ProtocolError {
    if err.kind() == io::ErrorKind::UnexpectedEof {
        ProtocolError::Truncated
    } else {
        ProtocolError::Io(err)
    }
}

/// Blocking write, for the client.
pub fn write_frame<W: Write, T: Serialize>(
    writer: &mut W,
    kind: FrameKind,
    message: &T,
) -> Result<(), ProtocolError> {
    writer.write_all(&encode_frame(kind, message)?)?;
    writer.flush()?;
    Ok(())
}

/// Blocking read, for the client.
pub fn read_frame<R: Read, T: DeserializeOwned>(
    reader: &mut R,
    expected: FrameKind,
) -> Result<T, ProtocolError> {
    let mut header = [0u8; HEADER_LEN];
    reader.read_exact(&mut header).map_err(eof_as_truncated)?;
    let header = Header::parse(&header)?;
    header.check(expected)?;
    let mut body = vec![0u8; header.len as usize];
    reader.read_exact(&mut body).map_err(eof_as_truncated)?;
    decode_body(&body)
}

/// Async read, for the daemon. The body is allocated only after the header passed its checks.
pub async fn read_frame_async<R: AsyncRead + Unpin, T: DeserializeOwned>(
    reader: &mut R,
    expected: FrameKind,
) -> Result<T, ProtocolError> {
    let mut header = [0u8; HEADER_LEN];
    reader
        .read_exact(&mut header)
        .await
        .map_err(eof_as_truncated)?;
    let header = Header::parse(&header)?;
    header.check(expected)?;
    let mut body = vec![0u8; header.len as usize];
    reader
        .read_exact(&mut body)
        .await
        .map_err(eof_as_truncated)?;
    decode_body(&body)
}

/// Async write, for the daemon.
pub async fn write_frame_async<W: AsyncWrite + Unpin, T: Serialize>(
    writer: &mut W,
    kind: FrameKind,
    message: &T,
) -> Result<(), ProtocolError> {
    writer.write_all(&encode_frame(kind, message)?).await?;
    writer.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests;
