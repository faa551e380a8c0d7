//! The systemd user unit: `~/.config/systemd/user/cmdai.service`, driven with
//! `systemctl --user`. Restarted on failure only, so `cmdai daemon stop` (SIGTERM, exit 0)
//! stays stopped; its output is appended to the same log the client's autostart uses.

use std::path::PathBuf;

use super::{run, ServiceError, ServiceSpec};

pub const UNIT: &str = "cmdai.service";

pub fn unit_path() -> PathBuf {
    dirs::config_dir()
        .unwrap_or_else(|| dirs::home_dir().unwrap_or_default().join(".config"))
        .join("systemd/user")
        .join(UNIT)
}

pub fn render(spec: &ServiceSpec) -> String {
    let log = escape_specifiers(&spec.log.display().to_string());
    let mut text = format!(
        "# Written by `cmdai daemon install`; `cmdai daemon uninstall` removes it.\n\
         [Unit]\n\
         Description=cmdai daemon: turns sentences typed at the shell into commands\n\
         \n\
         [Service]\n\
         Type=simple\n\
         ExecStart={}\n\
         ExecReload=/bin/kill -HUP $MAINPID\n\
         Restart=on-failure\n\
         RestartSec=2\n\
         UMask=0077\n\
         StandardOutput=append:{log}\n\
         StandardError=append:{log}\n",
        quote(&spec.daemon.display().to_string()),
    );
    for (key, value) in &spec.env {
        text += &format!("Environment={}\n", quote(&format!("{key}={value}")));
    }
    text + "\n[Install]\nWantedBy=default.target\n"
}

/// One double-quoted word as systemd reads it: C-style escapes, `%` doubled (a specifier
/// otherwise).
fn quote(word: &str) -> String {
    let escaped = word.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{}\"", escape_specifiers(&escaped))
}

fn escape_specifiers(text: &str) -> String {
    text.replace('%', "%%")
}

/// `(section, key, value)` for every assignment, in order; comments and blank lines skipped.
pub fn parse(text: &str) -> Vec<(String, String, String)> {
    let mut section = String::new();
    let mut entries = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
        } else if let Some((key, value)) = line.split_once('=') {
            entries.push((section.clone(), key.trim().into(), value.trim().into()));
        }
    }
    entries
}

/// The value of `key` in `section`, if set.
pub fn value(text: &str, section: &str, key: &str) -> Option<String> {
    parse(text)
        .into_iter()
        .find(|(s, k, _)| s == section && k == key)
        .map(|(_, _, v)| v)
}

/// The program `ExecStart=` runs, unquoted.
pub fn exec_start(text: &str) -> Option<PathBuf> {
    let line = value(text, "Service", "ExecStart")?;
    Some(first_word(&line).into())
}

/// The first word of a command line, its quotes and escapes undone.
pub fn first_word(line: &str) -> String {
    let line = line.replace("%%", "%");
    let Some(rest) = line.strip_prefix('"') else {
        return line.split_whitespace().next().unwrap_or_default().into();
    };
    let mut word = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => word.extend(chars.next()),
            c => word.push(c),
        }
    }
    word
}

fn systemctl(args: &[&str]) -> Result<String, ServiceError> {
    let mut all = vec!["--user"];
    all.extend_from_slice(args);
    run("systemctl", &all)
}

/// The user's manager answers on its bus (not in a container or a minimal VM).
pub fn available() -> Result<(), ServiceError> {
    systemctl(&["show-environment"])
        .map(drop)
        .map_err(|e| match e {
            ServiceError::Command { message, .. } => ServiceError::NoManager(message),
            other => other,
        })
}

pub fn is_active() -> bool {
    systemctl(&["is-active", "--quiet", UNIT]).is_ok()
}

pub fn daemon_reload() -> Result<(), ServiceError> {
    systemctl(&["daemon-reload"]).map(drop)
}

/// Enabled at login, and (re)started now so that a reinstall runs the new binary.
pub fn enable_and_start() -> Result<(), ServiceError> {
    daemon_reload()?;
    systemctl(&["enable", UNIT])?;
    systemctl(&["restart", UNIT]).map(drop)
}

pub fn disable_and_stop() -> Result<(), ServiceError> {
    systemctl(&["disable", "--now", UNIT]).map(drop)
}

pub fn restart() -> Result<(), ServiceError> {
    systemctl(&["restart", UNIT]).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_words_come_back_unchanged() {
        for word in ["/usr/bin/cmdai-daemon", "/opt/my apps/100%/a\"b\\c"] {
            assert_eq!(first_word(&quote(word)), word);
        }
        assert_eq!(first_word("/bin/x --flag"), "/bin/x");
    }
}
