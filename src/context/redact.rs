//! Keeping secrets out of what the model is told: file names and file lines are scanned for
//! key-like assignments and token-looking words, which become `[redacted]`. Hand-rolled
//! scanning, no regular expressions: it runs on every key press.

pub const REDACTED: &str = "[redacted]";

/// Prefixes that well-known services put on their keys and tokens.
const TOKEN_PREFIXES: &[&str] = &[
    "sk-",
    "sk_live_",
    "sk_test_",
    "pk_live_",
    "rk_live_",
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "AIza",
    "hf_",
    "npm_",
    "pypi-",
];

/// Parts of a setting's name that say its value is a secret (`api_key`, `AUTH_TOKEN`,
/// `dbPassword`); whole parts only, so `author` and `apiVersion` are not.
const SECRET_PARTS: &[&str] = &[
    "key",
    "apikey",
    "token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "pass",
    "passphrase",
    "auth",
    "authorization",
    "credential",
    "credentials",
    "bearer",
    "session",
    "cookie",
];

/// Whether a setting named `key` holds a secret.
fn secret_key(key: &str) -> bool {
    let key = key.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let mut parts = Vec::new();
    let mut part = String::new();
    let mut previous_lower = false;
    for c in key.chars() {
        let boundary = !c.is_ascii_alphanumeric() || (c.is_ascii_uppercase() && previous_lower);
        if boundary && !part.is_empty() {
            parts.push(std::mem::take(&mut part));
        }
        if c.is_ascii_alphanumeric() {
            part.push(c.to_ascii_lowercase());
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
    }
    parts.push(part);
    parts.iter().any(|p| SECRET_PARTS.contains(&p.as_str()))
}

/// Whether a file's name says its contents may be secret: those are never read.
pub fn sensitive_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let exact = [".netrc", ".npmrc", ".pypirc", ".git-credentials", ".pgpass"];
    let ext = [".pem", ".key", ".p12", ".pfx", ".kdbx", ".gpg", ".asc"];
    let starts = [
        ".env",
        "id_rsa",
        "id_ed25519",
        "id_ecdsa",
        "id_dsa",
        "credentials",
    ];
    exact.contains(&lower.as_str())
        || ext.iter().any(|e| lower.ends_with(e))
        || starts.iter().any(|s| lower.starts_with(s))
        || ["secret", "token", "password"]
            .iter()
            .any(|w| lower.contains(w))
}

fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '/' | '=' | '.')
}

/// Whether `word` looks like a key or token: a known prefix with enough after it, an AWS key
/// id, a JWT, or a long run of letters and digits mixed.
pub fn looks_like_token(word: &str) -> bool {
    let word = word.trim_matches(|c: char| !token_char(c) || c == '.');
    let keyed = |rest: &str| rest.len() >= 16 && rest.chars().any(|c| c.is_ascii_digit());
    if TOKEN_PREFIXES
        .iter()
        .any(|p| word.strip_prefix(p).is_some_and(keyed))
    {
        return true;
    }
    if word.len() == 20
        && word.starts_with("AKIA")
        && word[4..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return true;
    }
    if word.starts_with("eyJ") && word.matches('.').count() == 2 && word.len() >= 30 {
        return true;
    }
    // A run without `.` or `/` (so paths and dotted names survive): long, and mixing letters
    // with many digits, as generated secrets do and long descriptive names do not.
    word.split(['.', '/']).any(|run| {
        run.len() >= 32
            && run.chars().filter(|c| c.is_ascii_digit()).count() >= 4
            && run.chars().filter(|c| c.is_ascii_alphabetic()).count() >= 4
    })
}

/// A file or folder name, or `[redacted]` when it looks like a token.
pub fn name(name: &str) -> &str {
    if looks_like_token(name) {
        REDACTED
    } else {
        name
    }
}

/// One line of a file with secret values and token-looking words replaced: the value of every
/// setting whose name says it is secret (`key=value`, `key: value`, `key = value`), the
/// password in a URL, and any word that looks like a key or token.
pub fn line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    // Set when the previous word was a secret setting's name waiting for its value.
    let mut value_next = false;
    for (i, piece) in line.split_inclusive(char::is_whitespace).enumerate() {
        let word = piece.trim_end();
        let space = &piece[word.len()..];
        let shown = if word.is_empty() {
            String::new()
        } else if value_next && !matches!(word, "=" | ":") {
            value_next = false;
            REDACTED.to_string()
        } else if let Some((key, sep, value)) = split_setting(word) {
            if secret_key(key) && value.is_empty() {
                value_next = true;
                word.to_string()
            } else if secret_key(key) {
                format!("{key}{sep}{REDACTED}")
            } else {
                scrub_word(word)
            }
        } else {
            // `password = x`: the name, then `=` as a word of its own.
            if i > 0 && matches!(word, "=" | ":") {
                value_next = value_next || secret_key(last_word(&out));
            } else if secret_key(word) && word.len() <= 64 {
                value_next = false;
            }
            scrub_word(word)
        };
        out.push_str(&shown);
        out.push_str(space);
    }
    out
}

fn last_word(text: &str) -> &str {
    text.split_whitespace().last().unwrap_or_default()
}

/// `key=value` or `key:value` (value possibly empty) in one word; not URLs or paths.
fn split_setting(word: &str) -> Option<(&str, char, &str)> {
    if word.contains("://") {
        return None;
    }
    let at = word.find(['=', ':'])?;
    let key = &word[..at];
    let key_like = !key.is_empty()
        && key.len() <= 64
        && key
            .trim_start_matches(['-', '"', '\''])
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"' | '\''));
    let sep = word[at..].chars().next()?;
    key_like.then(|| (key, sep, &word[at + 1..]))
}

/// A word with a URL's password and token-looking runs replaced.
fn scrub_word(word: &str) -> String {
    let word = url_password(word);
    let mut out = String::with_capacity(word.len());
    let mut rest = word.as_str();
    while !rest.is_empty() {
        let start = rest.find(token_char).unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(|c: char| !token_char(c)).unwrap_or(rest.len());
        let run = &rest[..end];
        out.push_str(if looks_like_token(run) { REDACTED } else { run });
        rest = &rest[end..];
    }
    out
}

/// `scheme://user:password@host` → `scheme://user:[redacted]@host`.
fn url_password(word: &str) -> String {
    let Some(scheme_end) = word.find("://") else {
        return word.to_string();
    };
    let authority_start = scheme_end + 3;
    let authority_end = word[authority_start..]
        .find('/')
        .map_or(word.len(), |i| authority_start + i);
    let authority = &word[authority_start..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}{REDACTED}{}",
            &word[..authority_start],
            &authority[..=colon],
            &word[authority_start + at..]
        ),
        _ => word.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_recognised() {
        for token in [
            "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c",
            "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ012345",
            "AKIAIOSFODNN7EXAMPLE",
            "xoxb-123456789012-abcdefghijkl",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlX2hlcmU",
            "a8f5f167f44f4964e6c998dee827110c3a8f5f167f44",
        ] {
            assert!(looks_like_token(token), "{token}");
        }
        for word in [
            "README.md",
            "employees.csv",
            "my_very_long_descriptive_file_name_for_notes.txt",
            "src/components/navigation/SidebarMenu.tsx",
            "2024-03-12",
            "sk-learn",
            "IMG_0001.jpg",
        ] {
            assert!(!looks_like_token(word), "{word}");
        }
    }

    #[test]
    fn every_secret_on_a_line_goes_and_ordinary_settings_stay() {
        assert_eq!(
            line("host=db password=hunter2 port=5432"),
            "host=db password=[redacted] port=5432"
        );
        assert_eq!(
            line("url: postgres://admin:hunter2@db:5432/app"),
            "url: postgres://admin:[redacted]@db:5432/app"
        );
        assert_eq!(line("author: Alice"), "author: Alice");
        assert_eq!(line("apiVersion: apps/v1"), "apiVersion: apps/v1");
        assert_eq!(line("dbPassword: hunter2"), "dbPassword: [redacted]");
        assert_eq!(
            line("AWS_SECRET_ACCESS_KEY = abc"),
            "AWS_SECRET_ACCESS_KEY = [redacted]"
        );
        assert!(!looks_like_token("sk-learn-and-pandas-tutorial"));
        assert!(!looks_like_token("test_connection_pool_handles_timeout_2"));
    }

    #[test]
    fn secret_settings_and_tokens_in_lines_are_redacted() {
        assert_eq!(line("api_key = abcd1234efgh5678"), "api_key = [redacted]");
        assert_eq!(
            line("export GITHUB_TOKEN=xyz"),
            "export GITHUB_TOKEN=[redacted]"
        );
        assert_eq!(line("password: hunter2"), "password: [redacted]");
        assert_eq!(
            line("curl -H 'Authorization: Bearer sk-proj-AAAAAAAAAAAAAAAAAAAA1'"),
            "curl -H 'Authorization: [redacted] [redacted]'"
        );
        assert_eq!(line("port = 8080"), "port = 8080");
        assert_eq!(
            line("1,Alice,Engineering,85000"),
            "1,Alice,Engineering,85000"
        );
        assert_eq!(line("[database]"), "[database]");
    }

    #[test]
    fn secret_looking_files_are_never_read() {
        for name in [
            ".env",
            ".env.local",
            "server.pem",
            "id_rsa",
            "credentials.json",
            "db_password.txt",
        ] {
            assert!(sensitive_name(name), "{name}");
        }
        for name in ["config.ini", "notes.txt", "environment.md"] {
            assert!(!sensitive_name(name), "{name}");
        }
    }
}
