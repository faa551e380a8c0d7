//! Golden bytes pin the wire format: if one of these fails, an encoding moved and
//! `PROTOCOL_VERSION` must be bumped (and the bytes here updated on purpose).

use super::*;
use crate::validate::{Risk, Safety};

fn frame_of<T: Serialize>(kind: FrameKind, message: &T) -> Vec<u8> {
    encode_frame(kind, message).unwrap()
}

/// The protocol version the bytes in this file were written for. Bumping `PROTOCOL_VERSION`
/// means checking every golden frame here again and then this number.
const GOLDEN_VERSION: u16 = 7;

fn header_bytes(kind: u16, len: u32) -> Vec<u8> {
    let mut out = b"CMDI".to_vec();
    out.extend_from_slice(&GOLDEN_VERSION.to_le_bytes());
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out
}

#[test]
fn header_layout_is_frozen() {
    let bytes = Header::new(FrameKind::Response, 0x0102_0304).to_bytes();
    assert_eq!(&bytes[..4], b"CMDI");
    assert_eq!(&bytes[4..6], &PROTOCOL_VERSION.to_le_bytes());
    assert_eq!(&bytes[6..8], &[2, 0]);
    assert_eq!(&bytes[8..], &[4, 3, 2, 1]);
}

#[test]
fn the_golden_bytes_were_written_for_this_version() {
    assert_eq!(PROTOCOL_VERSION, GOLDEN_VERSION);
}

/// A version-1 client or daemon (before suggestions carried their checks) is told apart by the
/// frozen header alone, so the skew handling can restart it.
#[test]
fn a_version_1_frame_is_a_named_mismatch() {
    let mut frame = b"CMDI".to_vec();
    frame.extend_from_slice(&[1, 0, 1, 0, 1, 0, 0, 0, 0]);
    let err = read_frame::<_, Request>(&mut frame.as_slice(), FrameKind::Request).unwrap_err();
    assert!(
        matches!(err, ProtocolError::VersionMismatch { peer: 1 }),
        "{err:?}"
    );
}

#[test]
fn golden_simple_requests() {
    for (request, tag) in [
        (Request::Ping, 0u8),
        (Request::Status, 2),
        (Request::Shutdown, 3),
        (Request::Reload, 5),
    ] {
        let mut expected = header_bytes(1, 1);
        expected.push(tag);
        assert_eq!(
            frame_of(FrameKind::Request, &request),
            expected,
            "{request:?}"
        );
    }
}

#[test]
fn golden_generate_request() {
    let request = Request::Generate(GenerateRequest {
        sentence: "ls".into(),
        shell: "bash".into(),
        cwd: "/".into(),
        path: "/bin".into(),
        os: "Linux x86_64".into(),
        deadline_ms: 1000,
        context: "C".into(),
        details: "D".into(),
        candidates: 4,
    });
    let mut body = vec![1u8];
    for field in ["ls", "bash", "/", "/bin", "Linux x86_64"] {
        body.push(field.len() as u8);
        body.extend_from_slice(field.as_bytes());
    }
    body.extend_from_slice(&[251, 0xe8, 0x03]); // varint u16 marker, then 1000 LE
    body.extend_from_slice(&[1, b'C', 1, b'D', 4]); // context, details, candidates
    let mut expected = header_bytes(1, body.len() as u32);
    expected.extend_from_slice(&body);
    assert_eq!(frame_of(FrameKind::Request, &request), expected);
}

#[test]
fn golden_prepare_request_and_answer() {
    let request = Request::Prepare(PrepareRequest {
        context: "Git: x\n".into(),
        typed: "Request: ls".into(),
    });
    let mut body = vec![4u8, 7, b'G', b'i', b't', b':', b' ', b'x', b'\n', 11];
    body.extend_from_slice(b"Request: ls");
    let mut expected = header_bytes(1, body.len() as u32);
    expected.extend_from_slice(&body);
    assert_eq!(frame_of(FrameKind::Request, &request), expected);
    let mut expected = header_bytes(2, 1);
    expected.push(5);
    assert_eq!(frame_of(FrameKind::Response, &Response::Prepared), expected);
}

#[test]
fn golden_error_response() {
    let response = Response::Error(WireError::new(ErrorKind::Busy, "x"));
    let mut expected = header_bytes(2, 4);
    expected.extend_from_slice(&[4, 0, 1, b'x']);
    assert_eq!(frame_of(FrameKind::Response, &response), expected);
}

#[test]
fn golden_suggestion() {
    let response = Response::Suggestion(Suggestion {
        command: "ls".into(),
        backend: "b".into(),
        model: "m".into(),
        elapsed_ms: 9,
        prompt_tokens: 20,
        output_tokens: 4,
        risk: Risk::High,
        reasons: vec!["r".into()],
        blocked: true,
        syntax_error: Some("e".into()),
        missing_tools: vec!["t".into()],
        problems: vec!["p".into()],
        repaired: true,
        alternatives: vec![Alternative {
            command: "a".into(),
            risk: Risk::Moderate,
            reasons: Vec::new(),
        }],
        fallback: Some("f".into()),
    });
    let body = [
        1, // Response::Suggestion
        2, b'l', b's', 1, b'b', 1, b'm', // command, backend, model
        9, 20, 4, // elapsed_ms, prompt_tokens, output_tokens
        2, // Risk::High
        1, 1, b'r', // reasons: one string
        1,    // blocked
        1, 1, b'e', // syntax_error: Some
        1, 1, b't', // missing_tools: one string
        1, 1, b'p', // problems: one string
        1,    // repaired
        1, 1, b'a', 1, 0, // alternatives: one, "a", Risk::Moderate, no reasons
        1, 1, b'f', // fallback: Some
    ];
    let mut expected = header_bytes(2, body.len() as u32);
    expected.extend_from_slice(&body);
    assert_eq!(frame_of(FrameKind::Response, &response), expected);
}

#[test]
fn risks_and_safety_settings_keep_their_tags() {
    let risks = [Risk::Safe, Risk::Moderate, Risk::High, Risk::Critical];
    for (tag, risk) in risks.into_iter().enumerate() {
        assert_eq!(codec::encode(&risk).unwrap(), [tag as u8], "{risk:?}");
    }
    for (tag, safety) in [Safety::Normal, Safety::Strict].into_iter().enumerate() {
        assert_eq!(codec::encode(&safety).unwrap(), [tag as u8], "{safety:?}");
    }
}

#[test]
fn error_kinds_keep_their_tags() {
    let kinds = [
        ErrorKind::Busy,
        ErrorKind::Loading,
        ErrorKind::Timeout,
        ErrorKind::Cancelled,
        ErrorKind::BadRequest,
        ErrorKind::Backend,
        ErrorKind::Internal,
    ];
    for (tag, kind) in kinds.into_iter().enumerate() {
        let frame = frame_of(
            FrameKind::Response,
            &Response::Error(WireError::new(kind, "")),
        );
        assert_eq!(frame[HEADER_LEN + 1], tag as u8, "{kind:?}");
    }
}

#[test]
fn every_message_round_trips() {
    let status = DaemonStatus {
        state: EngineState::Ready,
        error: Some("none".into()),
        pid: 42,
        daemon_version: "0.1.0".into(),
        backend: "embedded".into(),
        chain: vec!["openai".into(), "embedded".into()],
        model: "m.gguf".into(),
        model_path: "/m.gguf".into(),
        threads: 2,
        uptime_ms: 1 << 40,
        load_ms: 1234,
        loads: 1,
        requests_served: 2,
        system_prompt_tokens: 300,
        last_prompt_tokens: 20,
        request_prompt_tokens: 40,
        rss_bytes: 1 << 31,
        requests_cancelled: 3,
        requests_pending: 1,
        safety: Safety::Strict,
        commands_held_back: 5,
        contexts_prepared: 6,
        prepared_tokens: 700,
        last_output_tokens: 9,
        cache_hits: 7,
    };
    let responses = [
        Response::Pong(Hello {
            daemon_version: "0.1.0".into(),
            protocol: PROTOCOL_VERSION,
            pid: 7,
        }),
        Response::Suggestion(Suggestion {
            command: "ls -S".into(),
            backend: "embedded".into(),
            model: "m".into(),
            elapsed_ms: 9,
            prompt_tokens: 20,
            output_tokens: 4,
            risk: Risk::Critical,
            reasons: vec!["deletes the home directory".into()],
            blocked: true,
            syntax_error: None,
            missing_tools: Vec::new(),
            problems: Vec::new(),
            repaired: false,
            alternatives: vec![Alternative {
                command: "ls -lS".into(),
                risk: Risk::Safe,
                reasons: Vec::new(),
            }],
            fallback: Some("openai: down; embedded answered".into()),
        }),
        Response::Status(status),
        Response::ShuttingDown,
        Response::Error(WireError::new(ErrorKind::Timeout, "slow")),
        Response::Prepared,
        Response::Reloaded { changed: true },
    ];
    for response in responses {
        let frame = frame_of(FrameKind::Response, &response);
        let back: Response = read_frame(&mut frame.as_slice(), FrameKind::Response).unwrap();
        assert_eq!(back, response);
    }
}

#[test]
fn oversize_frames_are_refused_before_reading_the_body() {
    let mut frame = header_bytes(1, u32::MAX);
    frame.push(0);
    let err = read_frame::<_, Request>(&mut frame.as_slice(), FrameKind::Request).unwrap_err();
    assert!(matches!(err, ProtocolError::TooLarge(u32::MAX)), "{err:?}");
}

#[test]
fn garbage_is_bad_magic() {
    let garbage = b"GET / HTTP/1.1\r\n\r\n".to_vec();
    let err = read_frame::<_, Request>(&mut garbage.as_slice(), FrameKind::Request).unwrap_err();
    assert!(matches!(err, ProtocolError::BadMagic), "{err:?}");
}

#[test]
fn truncated_header_and_body_are_reported() {
    let short = b"CMDI\x01".to_vec();
    let err = read_frame::<_, Request>(&mut short.as_slice(), FrameKind::Request).unwrap_err();
    assert!(matches!(err, ProtocolError::Truncated), "{err:?}");
    let mut frame = header_bytes(1, 10);
    frame.extend_from_slice(&[1, 2]);
    let err = read_frame::<_, Request>(&mut frame.as_slice(), FrameKind::Request).unwrap_err();
    assert!(matches!(err, ProtocolError::Truncated), "{err:?}");
}

#[test]
fn foreign_version_is_named() {
    let mut frame = frame_of(FrameKind::Request, &Request::Ping);
    frame[4] = frame[4].wrapping_add(1);
    let err = read_frame::<_, Request>(&mut frame.as_slice(), FrameKind::Request).unwrap_err();
    assert!(
        matches!(err, ProtocolError::VersionMismatch { .. }),
        "{err:?}"
    );
}

#[test]
fn wrong_direction_and_bad_bodies_are_refused() {
    let frame = frame_of(FrameKind::Response, &Response::ShuttingDown);
    let err = read_frame::<_, Request>(&mut frame.as_slice(), FrameKind::Request).unwrap_err();
    assert!(matches!(err, ProtocolError::BadKind(2)), "{err:?}");
    // An unknown variant tag and trailing bytes are both decode errors, not panics.
    for body in [vec![99u8], vec![0u8, 0]] {
        let mut frame = header_bytes(1, body.len() as u32);
        frame.extend_from_slice(&body);
        let err = read_frame::<_, Request>(&mut frame.as_slice(), FrameKind::Request).unwrap_err();
        assert!(matches!(err, ProtocolError::Decode(_)), "{err:?}");
    }
}

#[test]
fn invalid_utf8_in_a_string_is_a_decode_error() {
    let mut body = vec![1u8, 2, 0xff, 0xfe];
    body.extend_from_slice(&[0, 0, 0, 0, 0]);
    let mut frame = header_bytes(1, body.len() as u32);
    frame.extend_from_slice(&body);
    let err = read_frame::<_, Request>(&mut frame.as_slice(), FrameKind::Request).unwrap_err();
    assert!(matches!(err, ProtocolError::Decode(_)), "{err:?}");
}

/// Property tests for the frame decoders, the blocking one (the client's) and the async one (the
/// daemon's): whatever bytes arrive, each returns a message or an error and never panics, both
/// agree, neither reads a body whose header was refused nor past the frame its header announces,
/// and a frame cut anywhere is `Truncated`. A bounded number of cases, so `cargo test` stays the
/// CI step that runs them.
mod fuzz {
    use std::io::Cursor;

    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::Index;

    use super::*;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 512,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// Headers that are mostly well formed, so bodies get decoded, with every field sometimes
    /// arbitrary.
    fn header() -> impl Strategy<Value = Vec<u8>> {
        let magic = prop_oneof![4 => Just(MAGIC.to_vec()), 1 => vec(any::<u8>(), 4)];
        let version = prop_oneof![4 => Just(PROTOCOL_VERSION), 1 => any::<u16>()];
        let kind = prop_oneof![Just(1u16), Just(2u16), any::<u16>()];
        let len = prop_oneof![4 => 0..=600u32, 1 => Just(MAX_FRAME_LEN), 1 => any::<u32>()];
        (magic, version, kind, len).prop_map(|(magic, version, kind, len)| {
            let mut bytes = magic;
            bytes.extend_from_slice(&version.to_le_bytes());
            bytes.extend_from_slice(&kind.to_le_bytes());
            bytes.extend_from_slice(&len.to_le_bytes());
            bytes
        })
    }

    /// The blocking decoder's answer, as text, and how many bytes it consumed.
    fn decode_blocking<T: DeserializeOwned + std::fmt::Debug>(
        bytes: &[u8],
        kind: FrameKind,
    ) -> (Result<T, String>, u64) {
        let mut cursor = Cursor::new(bytes);
        let result = read_frame::<_, T>(&mut cursor, kind).map_err(|e| e.to_string());
        (result, cursor.position())
    }

    fn decode_async<T: DeserializeOwned>(bytes: &[u8], kind: FrameKind) -> Result<T, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut reader = bytes;
        runtime
            .block_on(read_frame_async::<_, T>(&mut reader, kind))
            .map_err(|e| e.to_string())
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn any_bytes_are_a_message_or_an_error(
            header in header(),
            body in vec(any::<u8>(), 0..700),
        ) {
            let mut bytes = header.clone();
            bytes.extend_from_slice(&body);
            let parsed = Header::parse(header[..HEADER_LEN].try_into().unwrap());
            for kind in [FrameKind::Request, FrameKind::Response] {
                let checked = parsed.as_ref().ok().filter(|h| h.check(kind).is_ok());
                let (request, read) = decode_blocking::<Request>(&bytes, FrameKind::Request);
                let (response, _) = decode_blocking::<Response>(&bytes, FrameKind::Response);
                let blocking = match kind {
                    FrameKind::Request => format!("{request:?}"),
                    FrameKind::Response => format!("{response:?}"),
                };
                let other = match kind {
                    FrameKind::Request => format!("{:?}", decode_async::<Request>(&bytes, kind)),
                    FrameKind::Response => format!("{:?}", decode_async::<Response>(&bytes, kind)),
                };
                prop_assert_eq!(&blocking, &other, "the two decoders disagree");
                if kind != FrameKind::Request {
                    continue;
                }
                match checked {
                    Some(h) => prop_assert!(read <= (HEADER_LEN as u64) + u64::from(h.len)),
                    None => {
                        prop_assert!(request.is_err());
                        prop_assert_eq!(read, HEADER_LEN as u64, "a refused header's body was read");
                    }
                }
            }
        }

        #[test]
        fn a_request_crosses_the_wire_whole_and_any_cut_is_truncated(
            sentence in "\\PC{0,120}",
            shell in "[a-z/]{0,12}",
            path in "\\PC{0,80}",
            context in "(\\PC|\n){0,200}",
            deadline_ms in any::<u32>(),
            candidates in any::<u8>(),
            cut in any::<Index>(),
        ) {
            let request = Request::Generate(GenerateRequest {
                sentence,
                shell,
                cwd: path.clone(),
                path,
                os: "linux x86_64".into(),
                deadline_ms,
                context,
                details: String::new(),
                candidates,
            });
            let frame = encode_frame(FrameKind::Request, &request).unwrap();
            let (decoded, read) = decode_blocking::<Request>(&frame, FrameKind::Request);
            prop_assert_eq!(decoded, Ok(request.clone()));
            prop_assert_eq!(read, frame.len() as u64);
            prop_assert_eq!(decode_async::<Request>(&frame, FrameKind::Request), Ok(request));
            let short = &frame[..cut.index(frame.len())];
            let (cut_off, _) = decode_blocking::<Request>(short, FrameKind::Request);
            prop_assert_eq!(cut_off, Err(ProtocolError::Truncated.to_string()));
        }

        #[test]
        fn a_damaged_frame_is_refused_or_still_a_request(
            flips in vec((any::<Index>(), any::<u8>()), 1..6),
            sentence in "\\PC{0,60}",
        ) {
            let request = Request::Generate(GenerateRequest {
                sentence,
                shell: "bash".into(),
                ..GenerateRequest::default()
            });
            let mut frame = encode_frame(FrameKind::Request, &request).unwrap();
            for (at, byte) in flips {
                let at = at.index(frame.len());
                frame[at] = byte;
            }
            let (blocking, read) = decode_blocking::<Request>(&frame, FrameKind::Request);
            prop_assert!(read <= frame.len() as u64);
            let other = decode_async::<Request>(&frame, FrameKind::Request);
            prop_assert_eq!(blocking, other);
        }
    }
}
