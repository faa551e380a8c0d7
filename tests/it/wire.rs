//! Raw frames against a live daemon: what any client, old or hostile, can send.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use cmdai::protocol::{self, FrameKind, Request, Response, HEADER_LEN, PROTOCOL_VERSION};

use crate::harness::*;

fn connect(env: &TestEnv) -> UnixStream {
    let stream = UnixStream::connect(env.socket()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

fn ping_ok(env: &TestEnv) {
    let mut stream = connect(env);
    protocol::write_frame(&mut stream, FrameKind::Request, &Request::Ping).unwrap();
    let response: Response = protocol::read_frame(&mut stream, FrameKind::Response).unwrap();
    assert!(matches!(response, Response::Pong(ref hello) if hello.protocol == PROTOCOL_VERSION));
}

#[test]
fn a_foreign_version_gets_our_bare_header_and_a_close() {
    let env = TestEnv::new();
    env.start_scripted("");
    let mut stream = connect(&env);
    let mut frame = protocol::encode_frame(FrameKind::Request, &Request::Ping).unwrap();
    frame[4..6].copy_from_slice(&(PROTOCOL_VERSION + 7).to_le_bytes());
    stream.write_all(&frame).unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    assert_eq!(reply.len(), HEADER_LEN);
    let header = protocol::Header::parse(reply[..HEADER_LEN].try_into().unwrap()).unwrap();
    assert_eq!(header.version, PROTOCOL_VERSION);
    assert_eq!(header.len, 0);
    ping_ok(&env);
}

#[test]
fn garbage_and_oversize_frames_are_refused_and_the_daemon_serves_on() {
    let env = TestEnv::new();
    env.start_scripted("");
    let mut huge = b"CMDI".to_vec();
    huge.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
    huge.extend_from_slice(&1u16.to_le_bytes());
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    for bytes in [b"GET / HTTP/1.1\r\n\r\n".to_vec(), huge, b"CMDI".to_vec()] {
        let mut stream = connect(&env);
        stream.write_all(&bytes).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply);
        if !reply.is_empty() {
            let response: Response =
                protocol::read_frame(&mut reply.as_slice(), FrameKind::Response).unwrap();
            assert!(matches!(response, Response::Error(_)), "{response:?}");
        }
    }
    ping_ok(&env);
}
