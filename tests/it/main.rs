//! Integration tests: real binaries, real sockets, a temp HOME per test.
//! One test binary, as ripgrep does, so the crate links once.

mod harness;

mod ask;
mod daemon_lifecycle;
mod embedded;
mod wire;
