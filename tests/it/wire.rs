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
