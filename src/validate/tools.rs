//! Does every command the line runs exist: a builtin, a keyword, or an executable on PATH?

use super::Shell;

pub fn missing(_commands: &[String], _shell: Shell, _path: &str) -> Vec<String> {
    Vec::new()
}
