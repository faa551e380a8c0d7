//! What the client tells the daemon about where the user is: cwd, shell, PATH, OS, and the
//! context the model reads (see [`place`]): a block shared by every request from one directory,
//! and details for the sentence alone. Both are rendered here, in the client, so that
//! `cmdai ask --show-context` prints exactly what is sent.
//!
//! Runs on the key-press path: a bounded look at the current directory and the files the
//! sentence names, no walks. Secrets are kept out by [`redact`]; environment variables other
//! than PATH (which the model never sees) are not read at all.

pub mod place;
pub mod redact;

use std::env;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::protocol::GenerateRequest;

/// Which parts of the context are sent; `[context]` in config.toml, all on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContextOptions {
    /// The directory's entries, and the entries of folders the sentence names.
    pub listing: bool,
    /// The git branch and whether tracked files changed.
    pub git: bool,
    /// The first lines of files the sentence names.
    pub files: bool,
    /// The OS, its userland and the shell's version.
    pub system: bool,
    /// Which well-known tools are on PATH.
    pub tools: bool,
}

impl Default for ContextOptions {
    fn default() -> Self {
        ContextOptions::all(true)
    }
}

impl ContextOptions {
    pub fn all(on: bool) -> Self {
        ContextOptions {
            listing: on,
            git: on,
            files: on,
            system: on,
            tools: on,
        }
    }
}

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

/// The request for `sentence` from the current directory, its context rendered under `options`.
pub fn build_request(
    sentence: String,
    shell: String,
    deadline_ms: u32,
    options: &ContextOptions,
) -> GenerateRequest {
    let cwd = env::current_dir().unwrap_or_default();
    let path = env::var("PATH").unwrap_or_default();
    let details = place::details(&cwd, &sentence, options.listing, options.files);
    request_with(sentence, details, shell, deadline_ms, options, cwd, path)
}

/// What a line still being typed in a shell at `cwd` will ask, as far as can be told: sent
/// ahead of the key press. A name half typed at its end counts as typed
/// ([`place::details_while_typing`]).
pub fn build_typed_at(
    line: String,
    shell: String,
    options: &ContextOptions,
    cwd: PathBuf,
    path: String,
) -> GenerateRequest {
    let details = place::details_while_typing(&cwd, &line, options.listing, options.files);
    request_with(line, details, shell, 0, options, cwd, path)
}

fn request_with(
    sentence: String,
    details: String,
    shell: String,
    deadline_ms: u32,
    options: &ContextOptions,
    cwd: PathBuf,
    path: String,
) -> GenerateRequest {
    GenerateRequest {
        context: current_context(&cwd, &path, &shell, options),
        details,
        sentence,
        cwd: cwd.display().to_string(),
        path,
        os: os_description(),
        deadline_ms,
        shell,
        candidates: 0,
    }
}

/// The context block for `cwd`: what `cmdai prepare` sends ahead of the key press, and the
/// block the key press's request then carries, byte for byte.
pub fn current_context(cwd: &Path, path: &str, shell: &str, options: &ContextOptions) -> String {
    let home = env::var_os("HOME").map(std::path::PathBuf::from);
    let version = env::var("CMDAI_SHELL_VERSION").unwrap_or_default();
    let facts = Facts {
        cwd,
        home: home.as_deref(),
        path,
        shell,
        shell_version: &version,
    };
    render_context(&facts, options)
}

/// What the context is rendered from.
pub struct Facts<'a> {
    pub cwd: &'a Path,
    pub home: Option<&'a Path>,
    /// The user's PATH, to see which tools exist.
    pub path: &'a str,
    pub shell: &'a str,
    /// e.g. `5.2.21`; empty when the shell did not say.
    pub shell_version: &'a str,
}

/// The block shared by every request from this place. Deterministic: the daemon keeps its
/// evaluation keyed by the exact text.
pub fn render_context(facts: &Facts, options: &ContextOptions) -> String {
    // The directory's own name is left out: small models take it for a path to search.
    let mut out = String::new();
    if facts.home == Some(facts.cwd) {
        out.push_str("Location: the home directory (~)\n");
    }
    if options.git {
        out.push_str(&place::git_line(facts.cwd));
    }
    if options.listing {
        out.push_str(&place::listing_lines(facts.cwd));
    }
    if options.system {
        let shell = match facts.shell_version.trim() {
            "" => facts.shell.to_string(),
            version => format!("{} {}", facts.shell, shell_version(version)),
        };
        out.push_str(&format!(
            "System: {}, {shell}\n",
            place::userland(facts.path)
        ));
    }
    if options.tools {
        let tools = place::tools(facts.path);
        if !tools.is_empty() {
            out.push_str(&format!("Tools: {tools}\n"));
        }
    }
    out
}

/// `5.2.21(1)-release` → `5.2.21`; anything odd is cut to its first plain word.
fn shell_version(raw: &str) -> &str {
    let end = raw
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .unwrap_or(raw.len());
    &raw[..end.min(20)]
}

/// The options the config file sets, or all on. `CMDAI_CONTEXT=off` turns every part off.
pub fn options() -> Result<ContextOptions, crate::config::ConfigError> {
    if matches!(
        env::var("CMDAI_CONTEXT").as_deref(),
        Ok("off" | "0" | "none")
    ) {
        return Ok(ContextOptions::all(false));
    }
    crate::config::context_options()
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
