//! Does every command the line runs exist: a builtin, a keyword, or an executable on PATH?
//!
//! The PATH is the user's, passed in by the caller (the daemon's own may differ), and the lookup
//! follows the shell's rules closely enough for a warning: a name is found when it is one of the
//! shell's builtins or reserved words, or an executable regular file in one of PATH's absolute
//! directories. Empty and relative entries are skipped, since they name the user's working
//! directory, which is not ours. Names with a `/` are paths, not lookups, and may well be created
//! by the same line, so they are never reported.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::Shell;

/// Bash 5.2 builtins (`compgen -b`).
#[rustfmt::skip]
const BASH_BUILTINS: &[&str] = &[
    ".", ":", "[", "alias", "bg", "bind", "break", "builtin", "caller", "cd", "command", "compgen",
    "complete", "compopt", "continue", "declare", "dirs", "disown", "echo", "enable", "eval",
    "exec", "exit", "export", "false", "fc", "fg", "getopts", "hash", "help", "history", "jobs",
    "kill", "let", "local", "logout", "mapfile", "popd", "printf", "pushd", "pwd", "read",
    "readarray", "readonly", "return", "set", "shift", "shopt", "source", "suspend", "test",
    "times", "trap", "true", "type", "typeset", "ulimit", "umask", "unalias", "unset", "wait",
];

/// Bash reserved words (`compgen -k`).
#[rustfmt::skip]
const BASH_KEYWORDS: &[&str] = &[
    "!", "[[", "]]", "{", "}", "case", "coproc", "do", "done", "elif", "else", "esac", "fi", "for",
    "function", "if", "in", "select", "then", "time", "until", "while",
];

/// Zsh 5.9 builtins: those of a plain `zsh -f` (`${(k)builtins}`) and of the modules shipped
/// with zsh that are commonly loaded from a user's rc files.
#[rustfmt::skip]
const ZSH_BUILTINS: &[&str] = &[
    "-", ".", ":", "[", "alias", "autoload", "bg", "bindkey", "break", "builtin", "bye", "cd",
    "chdir", "command", "compadd", "comparguments", "compcall", "compctl", "compdescribe",
    "compfiles", "compgroups", "compquote", "compset", "comptags", "comptry", "compvalues",
    "continue", "declare", "dirs", "disable", "disown", "echo", "echotc", "echoti", "emulate",
    "enable", "eval", "exec", "exit", "export", "false", "fc", "fg", "float", "functions", "getln",
    "getopts", "hash", "history", "integer", "jobs", "kill", "let", "limit", "local", "log",
    "logout", "noglob", "popd", "print", "printf", "private", "pushd", "pushln", "pwd", "r", "read",
    "readonly", "rehash", "return", "sched", "set", "setopt", "shift", "source", "suspend", "test",
    "times", "trap", "true", "ttyctl", "type", "typeset", "ulimit", "umask", "unalias",
    "unfunction", "unhash", "unlimit", "unset", "unsetopt", "vared", "wait", "whence", "where",
    "which", "zcompile", "zformat", "zle", "zmodload", "zparseopts", "zregexparse", "zstyle",
    // zsh/datetime, zsh/stat, zsh/system, zsh/zpty, zsh/net/tcp, zsh/net/socket, zsh/zprof,
    // zsh/curses, zsh/zselect, zsh/clone.
    "strftime", "zstat", "sysopen", "sysread", "sysseek", "syswrite", "syserror", "zsystem", "zpty",
    "ztcp", "zsocket", "zprof", "zcurses", "zselect", "clone",
];

/// Functions shipped with zsh that rc files routinely `autoload`: not builtins, but present
/// wherever zsh is.
#[rustfmt::skip]
const ZSH_FUNCTIONS: &[&str] = &[
    "add-zsh-hook", "bashcompinit", "colors", "compdef", "compinit", "promptinit", "prompt",
    "run-help", "zargs", "zcalc", "zed", "zmv", "zln", "zcp",
];

/// Zsh reserved words (`${(k)reswords}`).
#[rustfmt::skip]
const ZSH_KEYWORDS: &[&str] = &[
    "!", "[[", "]]", "{", "}", "case", "coproc", "declare", "do", "done", "elif", "else", "end",
    "esac", "export", "fi", "float", "for", "foreach", "function", "if", "in", "integer", "local",
    "nocorrect", "readonly", "repeat", "select", "then", "time", "typeset", "until", "while",
];

/// Fish 3.6 builtins (`builtin -n`), which include its reserved words.
#[rustfmt::skip]
const FISH_BUILTINS: &[&str] = &[
    ".", ":", "[", "_", "abbr", "and", "argparse", "begin", "bg", "bind", "block", "break",
    "breakpoint", "builtin", "case", "cd", "command", "commandline", "complete", "contains",
    "continue", "count", "disown", "echo", "else", "emit", "end", "eval", "exec", "exit", "false",
    "fg", "for", "function", "functions", "history", "if", "jobs", "math", "not", "or", "path",
    "printf", "pwd", "random", "read", "realpath", "return", "set", "set_color", "source", "status",
    "string", "switch", "test", "time", "true", "type", "ulimit", "wait", "while",
];

/// Functions shipped with fish 3.6 (`functions -a`, without the private `__` ones and the
/// wrappers that only call a real tool of the same name, such as `ls` or `grep`).
#[rustfmt::skip]
const FISH_FUNCTIONS: &[&str] = &[
    "N_", "alias", "cdh", "contains_seq", "dirh", "dirs", "down-or-search", "edit_command_buffer",
    "export", "fish_add_path", "fish_breakpoint_prompt", "fish_clipboard_copy",
    "fish_clipboard_paste", "fish_command_not_found", "fish_commandline_append",
    "fish_commandline_prepend", "fish_config", "fish_default_key_bindings",
    "fish_default_mode_prompt", "fish_delta", "fish_git_prompt", "fish_greeting", "fish_hg_prompt",
    "fish_hybrid_key_bindings", "fish_is_root_user", "fish_job_summary", "fish_mode_prompt",
    "fish_opt", "fish_print_git_action", "fish_print_hg_root", "fish_prompt",
    "fish_status_to_signal", "fish_svn_prompt", "fish_title", "fish_update_completions",
    "fish_vcs_prompt", "fish_vi_cursor", "fish_vi_key_bindings", "funced", "funcsave", "help",
    "isatty", "la", "ll", "nextd", "open", "popd", "prevd", "prompt_hostname", "prompt_login",
    "prompt_pwd", "psub", "pushd", "seq", "setenv", "suspend", "trap", "umask", "up-or-search",
    "vared",
];

/// Fish reserved words that are not also builtins.
const FISH_KEYWORDS: &[&str] = &["!", "in"];

/// POSIX sh builtins (special and regular) plus the common extensions of dash and ash.
#[rustfmt::skip]
const SH_BUILTINS: &[&str] = &[
    ".", ":", "[", "alias", "bg", "break", "cd", "command", "continue", "echo", "eval", "exec",
    "exit", "export", "false", "fc", "fg", "getopts", "hash", "jobs", "kill", "local", "newgrp",
    "printf", "pwd", "read", "readonly", "return", "set", "shift", "test", "times", "trap", "true",
    "type", "ulimit", "umask", "unalias", "unset", "wait",
];

/// POSIX sh reserved words.
#[rustfmt::skip]
const SH_KEYWORDS: &[&str] = &[
    "!", "{", "}", "case", "do", "done", "elif", "else", "esac", "fi", "for", "if", "in", "then",
    "until", "while",
];

/// The command names `shell` knows without looking at PATH.
fn known_names(shell: Shell) -> &'static [&'static [&'static str]] {
    match shell {
        Shell::Sh => &[SH_BUILTINS, SH_KEYWORDS],
        Shell::Bash => &[BASH_BUILTINS, BASH_KEYWORDS],
        Shell::Zsh => &[ZSH_BUILTINS, ZSH_KEYWORDS, ZSH_FUNCTIONS],
        Shell::Fish => &[FISH_BUILTINS, FISH_KEYWORDS, FISH_FUNCTIONS],
    }
}

/// Whether `name` is a builtin, reserved word or bundled function of `shell`.
pub fn is_builtin(name: &str, shell: Shell) -> bool {
    known_names(shell).iter().any(|names| names.contains(&name))
}

/// The names in `commands` that `shell` would not find: neither builtins nor keywords nor
/// executables on `path` (a `:`-separated list). Duplicates are reported once, in first-seen
/// order; names containing `/` are never reported.
pub fn missing(commands: &[String], shell: Shell, path: &str) -> Vec<String> {
    let dirs = search_dirs(OsStr::new(path));
    let mut missing: Vec<String> = Vec::new();
    for name in commands {
        let name = name.as_str();
        if name.is_empty()
            || name.contains('/')
            || missing.iter().any(|seen| seen == name)
            || is_builtin(name, shell)
            || executable_in(name, &dirs)
        {
            continue;
        }
        missing.push(name.to_owned());
    }
    missing
}

/// The first executable file called `name` in `path`'s directories.
pub(crate) fn find_executable(name: &str, path: &OsStr) -> Option<PathBuf> {
    search_dirs(path)
        .into_iter()
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// The absolute directories of a PATH-style list, in order, each once: a folder listed twice
/// is searched at its first place only, as the shell would find nothing new at the second.
pub(crate) fn search_dirs(path: &OsStr) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for dir in std::env::split_paths(path) {
        if dir.is_absolute() && !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

/// Whether an executable file called `name` is in one of `dirs`.
pub(crate) fn executable_in(name: &str, dirs: &[PathBuf]) -> bool {
    dirs.iter().any(|dir| is_executable(&dir.join(name)))
}

/// A regular file (after following links) with at least one execute bit.
fn is_executable(file: &Path) -> bool {
    file.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    const SHELLS: [Shell; 4] = [Shell::Sh, Shell::Bash, Shell::Zsh, Shell::Fish];

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| name.to_string()).collect()
    }

    /// A directory holding `exe` (mode 755), `data` (644) and `dir/` (a directory).
    fn bin_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (file, mode) in [("exe", 0o755), ("data", 0o644), ("owner-only", 0o700)] {
            let file = dir.path().join(file);
            fs::write(&file, "#!/bin/sh\n").unwrap();
            fs::set_permissions(&file, fs::Permissions::from_mode(mode)).unwrap();
        }
        fs::create_dir(dir.path().join("dir")).unwrap();
        dir
    }

    fn path_of(dirs: &[&tempfile::TempDir]) -> String {
        let dirs: Vec<_> = dirs
            .iter()
            .map(|dir| dir.path().display().to_string())
            .collect();
        dirs.join(":")
    }

    #[test]
    fn executables_on_path_are_found() {
        let bin = bin_dir();
        let path = path_of(&[&bin]);
        assert!(missing(&names(&["exe", "owner-only"]), Shell::Bash, &path).is_empty());
    }

    #[test]
    fn non_executables_and_directories_are_missing() {
        let bin = bin_dir();
        let path = path_of(&[&bin]);
        let found = missing(&names(&["data", "dir", "nope"]), Shell::Bash, &path);
        assert_eq!(found, names(&["data", "dir", "nope"]));
    }

    #[test]
    fn every_path_entry_is_searched() {
        let empty = tempfile::tempdir().unwrap();
        let bin = bin_dir();
        let path = format!("::{}::{}:", path_of(&[&empty]), path_of(&[&bin]));
        assert!(missing(&names(&["exe"]), Shell::Zsh, &path).is_empty());
    }

    #[test]
    fn empty_and_relative_entries_are_ignored() {
        let bin = bin_dir();
        let cwd = std::env::current_dir().unwrap();
        // `exe` is reachable through a relative entry only when resolved from our own cwd.
        let relative = pathdiff(bin.path(), &cwd);
        let path = format!(":{}:", relative.display());
        assert_eq!(
            missing(&names(&["exe"]), Shell::Bash, &path),
            names(&["exe"])
        );
        assert_eq!(missing(&names(&["exe"]), Shell::Bash, ""), names(&["exe"]));
    }

    /// `target` relative to `base`, both absolute.
    fn pathdiff(target: &Path, base: &Path) -> PathBuf {
        let depth = base.components().count() - 1;
        let mut relative: PathBuf = std::iter::repeat_n("..", depth).collect();
        relative.push(target.strip_prefix("/").unwrap());
        relative
    }

    #[test]
    fn symlinks_to_executables_count() {
        let bin = bin_dir();
        let links = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(bin.path().join("exe"), links.path().join("link")).unwrap();
        std::os::unix::fs::symlink(bin.path().join("gone"), links.path().join("dangling")).unwrap();
        let path = path_of(&[&links]);
        let found = missing(&names(&["link", "dangling"]), Shell::Bash, &path);
        assert_eq!(found, names(&["dangling"]));
    }

    #[test]
    fn builtins_and_keywords_are_never_missing() {
        let cases: [(Shell, &[&str]); 4] = [
            (
                Shell::Sh,
                &[
                    ".", "[", "test", "cd", "export", "if", "while", "local", "type",
                ],
            ),
            (
                Shell::Bash,
                &[
                    "[[", "source", ".", "alias", "history", "fc", "set", "shopt", "mapfile",
                ],
            ),
            (
                Shell::Zsh,
                &[
                    "print", "autoload", "zle", "bindkey", "setopt", "foreach", "repeat", "zmv",
                ],
            ),
            (
                Shell::Fish,
                &[
                    "string",
                    "math",
                    "abbr",
                    "contains",
                    "functions",
                    "alias",
                    "begin",
                    "end",
                ],
            ),
        ];
        for (shell, builtins) in cases {
            assert!(missing(&names(builtins), shell, "").is_empty(), "{shell}");
        }
    }

    #[test]
    fn builtins_are_per_shell() {
        assert_eq!(
            missing(&names(&["string"]), Shell::Bash, ""),
            names(&["string"])
        );
        assert_eq!(missing(&names(&["[["]), Shell::Fish, ""), names(&["[["]));
        assert_eq!(
            missing(&names(&["shopt"]), Shell::Zsh, ""),
            names(&["shopt"])
        );
        assert_eq!(
            missing(&names(&["source"]), Shell::Sh, ""),
            names(&["source"])
        );
        assert_eq!(
            missing(&names(&["print"]), Shell::Bash, ""),
            names(&["print"])
        );
    }

    #[test]
    fn every_shell_knows_the_common_ones() {
        for shell in SHELLS {
            let common = names(&[
                ".", "[", "test", "cd", "echo", "set", "exit", "true", "false",
            ]);
            assert!(missing(&common, shell, "").is_empty(), "{shell}");
        }
    }

    #[test]
    fn paths_are_skipped() {
        let found = missing(
            &names(&["./build.sh", "/opt/none/tool", "a/b"]),
            Shell::Bash,
            "",
        );
        assert!(found.is_empty());
    }

    #[test]
    fn duplicates_are_reported_once_in_order() {
        let bin = bin_dir();
        let path = path_of(&[&bin]);
        let commands = names(&["zz-b", "exe", "zz-a", "zz-b", "echo", "zz-a", "zz-c"]);
        assert_eq!(
            missing(&commands, Shell::Bash, &path),
            names(&["zz-b", "zz-a", "zz-c"])
        );
    }

    #[test]
    fn a_folder_listed_twice_in_path_is_searched_once() {
        let first = bin_dir();
        let second = bin_dir();
        let path = path_of(&[&first, &second, &first]);
        let dirs = search_dirs(OsStr::new(&path));
        assert_eq!(dirs, [first.path(), second.path()]);
        assert!(executable_in("exe", &dirs));
        assert!(!executable_in("data", &dirs));
    }

    #[test]
    fn find_executable_takes_the_first_match() {
        let first = bin_dir();
        let second = bin_dir();
        let path = path_of(&[&first, &second]);
        let found = find_executable("exe", OsStr::new(&path));
        assert_eq!(found, Some(first.path().join("exe")));
        assert_eq!(find_executable("data", OsStr::new(&path)), None);
    }
}
