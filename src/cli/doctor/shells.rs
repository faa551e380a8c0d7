//! The shell integration: for each installed shell, is the `cmdai init` line in its rc file,
//! and does an interactive shell started from that file actually bind the key?
//!
//! The probe runs `zsh -i`, `bash -i` or `fish -i` under `setsid`, in a session of its own: an
//! interactive shell started from a terminal would otherwise take the terminal's foreground
//! from the doctor. Where `setsid` is missing (macOS), only the rc line is checked.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{probe, Check, Level};

const PROBE_LIMIT: Duration = Duration::from_secs(3);

struct Shell {
    name: &'static str,
    rc: PathBuf,
    /// What the user would add to `rc`, for `cmdai` at the given path.
    line: fn(&str) -> String,
    /// Lists the key bindings from an interactive shell.
    listing: &'static str,
}

fn shells() -> Vec<Shell> {
    let home = dirs::home_dir().unwrap_or_default();
    let zdotdir = std::env::var_os("ZDOTDIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| home.clone(), PathBuf::from);
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
        .unwrap_or_else(|| home.join(".config"));
    vec![
        Shell {
            name: "zsh",
            rc: zdotdir.join(".zshrc"),
            line: |exe| format!("eval \"$(\"{exe}\" init zsh)\""),
            listing: "bindkey -M emacs; bindkey -M viins",
        },
        Shell {
            name: "bash",
            rc: home.join(".bashrc"),
            line: |exe| format!("eval \"$(\"{exe}\" init bash)\""),
            listing: "bind -X",
        },
        Shell {
            name: "fish",
            rc: config_home.join("fish/config.fish"),
            line: |exe| format!("\"{exe}\" init fish | source"),
            listing: "bind",
        },
    ]
}

/// One check per installed shell, probed in parallel.
pub fn checks(exe: &Path) -> Vec<Check> {
    let login = std::env::var("SHELL").unwrap_or_default();
    let login = Path::new(&login)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let setsid = find_program("setsid");
    let probes: Vec<_> = shells()
        .into_iter()
        .filter_map(|shell| {
            let program = find_program(shell.name)?;
            let level = if shell.name == login {
                Level::Fail
            } else {
                Level::Warn
            };
            let exe = exe.display().to_string();
            let setsid = setsid.clone();
            Some(std::thread::spawn(move || {
                check(&shell, &program, setsid.as_deref(), level, &exe)
            }))
        })
        .collect();
    probes.into_iter().filter_map(|p| p.join().ok()).collect()
}

fn check(shell: &Shell, program: &Path, setsid: Option<&Path>, level: Level, exe: &str) -> Check {
    let name = format!("shell:{}", shell.name);
    let rc = shell.rc.display().to_string();
    let finding = |what: String, fix: String| Check {
        name: name.clone(),
        level,
        what,
        fix: Some(fix),
    };
    if !has_init_line(&shell.rc, shell.name) {
        let add = (shell.line)(exe).replace('\'', "'\\''");
        return finding(
            format!("no `cmdai init {}` line in {rc}", shell.name),
            format!("echo '{add}' >> {rc}   (or run ./install.sh)"),
        );
    }
    let Some(setsid) = setsid else {
        return Check::ok(
            &name,
            format!("{rc} loads cmdai (binding not probed: no setsid)"),
        );
    };
    let mut command = Command::new(setsid);
    command.arg(program).args(["-i", "-c", shell.listing]);
    match probe::output_within(command, PROBE_LIMIT) {
        Some(out) if String::from_utf8_lossy(&out.stdout).contains("__cmdai_widget") => Check::ok(
            &name,
            format!(
                "{rc} loads cmdai and an interactive {} binds its key",
                shell.name
            ),
        ),
        Some(_) => finding(
            format!(
                "{rc} has the cmdai line but an interactive {} binds no cmdai key",
                shell.name
            ),
            format!(
                "make sure nothing above the line in {rc} returns early and CMDAI_NO_BIND is unset"
            ),
        ),
        None => Check::warn(
            &name,
            format!(
                "{rc} loads cmdai; `{} -i` took over {} s, binding not checked",
                shell.name,
                PROBE_LIMIT.as_secs()
            ),
            format!(
                "time `{} -i -c exit` to find what slows your startup file",
                shell.name
            ),
        ),
    }
}

/// A line that runs `cmdai … init <shell>`, not commented out.
fn has_init_line(rc: &Path, shell: &str) -> bool {
    let text = std::fs::read_to_string(rc).unwrap_or_default();
    let init = format!("init {shell}");
    text.lines()
        .map(str::trim)
        .any(|l| !l.starts_with('#') && l.contains("cmdai") && l.contains(&init))
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_init_line_counts_only_uncommented_and_for_its_shell() {
        let dir = tempfile::tempdir().unwrap();
        let rc = dir.path().join("rc");
        std::fs::write(
            &rc,
            "# eval \"$(cmdai init bash)\"\neval \"$(cmdai init zsh)\"\n",
        )
        .unwrap();
        assert!(!has_init_line(&rc, "bash"));
        assert!(has_init_line(&rc, "zsh"));
        assert!(!has_init_line(&dir.path().join("none"), "zsh"));
    }
}
