//! cmdai: turn a sentence typed at the shell prompt into a shell command, locally and fast.
//!
//! Two thin binaries sit on this library: `cmdai`, the synchronous client a key press runs, and
//! `cmdai-daemon`, which keeps the model loaded. The client side (`client`, `context`,
//! `protocol`, `paths`) never pulls in the daemon, the engine or a backend.

pub mod backend;
pub mod cli;
pub mod client;
pub mod config;
pub mod context;
pub mod daemon;
pub mod engine;
pub mod init;
pub mod model;
pub mod paths;
pub mod prompt;
pub mod protocol;
pub mod service;
pub mod validate;
