//! The only place that names bincode, so swapping or upgrading the encoding is a one-file change.
//!
//! bincode 1.3.x is pinned on purpose: 3.0.0 on crates.io is a deliberate `compile_error!` and the
//! crate is marked unmaintained (RUSTSEC-2025-0141, recorded in deny.toml). The options below are
//! part of the wire format; golden-bytes tests in `mod.rs` pin them.

use bincode::Options;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{ProtocolError, MAX_FRAME_LEN};

fn options() -> impl Options {
    bincode::DefaultOptions::new()
        .with_little_endian()
        .with_varint_encoding()
        .with_limit(MAX_FRAME_LEN as u64)
        .reject_trailing_bytes()
}

pub(super) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, ProtocolError> {
    options()
        .serialize(value)
        .map_err(|e| ProtocolError::Encode(e.to_string()))
}

pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ProtocolError> {
    options()
        .deserialize(bytes)
        .map_err(|e| ProtocolError::Decode(e.to_string()))
}
