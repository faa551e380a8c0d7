//! What the client tells the daemon about where the user is: cwd, shell, PATH, OS.
//!
//! Runs on the key-press path, so it only reads the process environment: no subprocesses, no
//! directory walks. Depends only on `protocol`.

use std::env;
use std::path::Path;

use crate::protocol::GenerateRequest;

/// Shells cmdai knows how to target.
pub const SHELLS: &[&str] = &["bash", "zsh", "fish"];

/// The shell to target: the flag, else `CMDAI_SHELL` (set by the widgets), else `$SHELL`'s name,
/// else bash.
pub fn detect_shell(flag: Option<&str>) -> String {
    let from_env = || {
        env::var("CMDAI_SHELL")
            .ok()
            .or_else(|| env::var("SHELL").ok())
    };
    let raw = flag
        .map(str::to_string)
        .or_else(from_env)
        .unwrap_or_default();
    let name = Path::new(raw.trim())
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    if SHELLS.contains(&name.as_str()) {
        name
    } else {
        "bash".into()
    }
}

pub fn os_description() -> String {
    let os = match env::consts::OS {
        "macos" => "macOS",
        "linux" => "Linux",
        other => other,
    };
    format!("{os} {}", env::consts::ARCH)
}

pub fn build_request(sentence: String, shell: String, deadline_ms: u32) -> GenerateRequest {
    GenerateRequest {
        sentence,
        shell,
        cwd: env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        path: env::var("PATH").unwrap_or_default(),
        os: os_description(),
        deadline_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_wins_and_paths_are_reduced_to_names() {
        assert_eq!(detect_shell(Some("/usr/bin/zsh")), "zsh");
        assert_eq!(detect_shell(Some("fish")), "fish");
        assert_eq!(detect_shell(Some("tcsh")), "bash");
    }
}
