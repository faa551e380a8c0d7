//! `cmdai`: the client a key press runs. All logic lives in the library's `cli` module.

use std::process::ExitCode;

fn main() -> ExitCode {
    cmdai::cli::main_with_args(std::env::args_os())
}
