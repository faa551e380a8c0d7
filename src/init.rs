//! `cmdai init <shell>`: the shell integration scripts, embedded and rendered.
//!
//! The scripts live in `shell/` as plain shell code; rendering substitutes the quoted absolute
//! path of this binary and the key to bind, nothing else. Pure functions; no I/O.

use std::path::Path;

pub const ZSH: &str = include_str!("../shell/cmdai.zsh");
pub const BASH: &str = include_str!("../shell/cmdai.bash");
pub const FISH: &str = include_str!("../shell/cmdai.fish");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Zsh,
    Bash,
    Fish,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("cannot bind {0:?}: use ctrl-<letter> or alt-<letter>, e.g. ctrl-g")]
pub struct BadKey(pub String);

/// A key in the portable spelling users type (`ctrl-g`, `alt-k`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Ctrl(char),
    Alt(char),
}

impl std::str::FromStr for Key {
    type Err = BadKey;

    fn from_str(text: &str) -> Result<Key, BadKey> {
        let lower = text.trim().to_ascii_lowercase();
        let (modifier, letter) = lower
            .split_once('-')
            .or_else(|| lower.split_once('+'))
            .ok_or_else(|| BadKey(text.into()))?;
        let mut chars = letter.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            return Err(BadKey(text.into()));
        };
        if !c.is_ascii_lowercase() {
            return Err(BadKey(text.into()));
        }
        match modifier {
            "ctrl" | "c" | "control" => Ok(Key::Ctrl(c)),
            "alt" | "meta" | "m" => Ok(Key::Alt(c)),
            _ => Err(BadKey(text.into())),
        }
    }
}

impl Key {
    /// The key as the shell's own binding command spells it.
    pub fn spelled_for(self, shell: Shell) -> String {
        match (self, shell) {
            (Key::Ctrl(c), Shell::Zsh) => format!("^{}", c.to_ascii_uppercase()),
            (Key::Ctrl(c), Shell::Bash) => format!("\\C-{c}"),
            (Key::Ctrl(c), Shell::Fish) => format!("\\c{c}"),
            (Key::Alt(c), Shell::Zsh) => format!("^[{c}"),
            (Key::Alt(c), Shell::Bash | Shell::Fish) => format!("\\e{c}"),
        }
    }
}

/// Single-quotes `text` for any of the three shells (fish included: `\'` inside single quotes
/// is fish's escape, so close-escape-reopen is used, which all three accept).
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

pub fn render(shell: Shell, binary: &Path, key: Key, abbreviation: bool) -> String {
    let template = match shell {
        Shell::Zsh => ZSH,
        Shell::Bash => BASH,
        Shell::Fish => FISH,
    };
    template
        .replace("@CMDAI_BIN@", &quote(&binary.display().to_string()))
        .replace("@CMDAI_KEY@", &quote(&key.spelled_for(shell)))
        .replace("@CMDAI_ABBR@", if abbreviation { "1" } else { "0" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_spell_per_shell() {
        let key: Key = "ctrl-g".parse().unwrap();
        assert_eq!(key.spelled_for(Shell::Zsh), "^G");
        assert_eq!(key.spelled_for(Shell::Bash), "\\C-g");
        assert_eq!(key.spelled_for(Shell::Fish), "\\cg");
        let key: Key = "Alt-K".parse().unwrap();
        assert_eq!(key.spelled_for(Shell::Zsh), "^[k");
        assert!("ctrl-gg".parse::<Key>().is_err());
        assert!("super-g".parse::<Key>().is_err());
        assert!("ctrl-1".parse::<Key>().is_err());
    }

    #[test]
    fn quoting_survives_quotes_and_spaces() {
        assert_eq!(quote("/opt/my bin/cmdai"), "'/opt/my bin/cmdai'");
        assert_eq!(quote("/it's/cmdai"), r"'/it'\''s/cmdai'");
    }

    #[test]
    fn rendering_leaves_no_placeholder() {
        for shell in [Shell::Zsh, Shell::Bash, Shell::Fish] {
            let text = render(shell, Path::new("/usr/bin/cmdai"), Key::Ctrl('g'), true);
            assert!(!text.contains("@CMDAI_"), "{shell:?}");
            assert!(text.contains("'/usr/bin/cmdai'"), "{shell:?}");
        }
    }
}
