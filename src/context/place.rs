//! What the model is told about the directory: its name and entries, git state, the system and
//! its tools (the shared block), and the first lines of files the sentence names (the details).
//!
//! Runs on the key-press path: stat calls, one directory read per listed folder, at most 4 KB
//! per file head, and one `git status` with a hard time cap.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::redact;
use crate::validate::tools::{executable_in, find_executable, search_dirs};

/// How much of a listing is shown.
#[derive(Debug, Clone, Copy)]
pub struct Cap {
    pub entries: usize,
    pub bytes: usize,
}

pub const CWD_CAP: Cap = Cap {
    entries: 40,
    bytes: 600,
};
const NAMED_DIR_CAP: Cap = Cap {
    entries: 20,
    bytes: 300,
};
const HIDDEN_LISTED: usize = 8;
const HEAD_LINES: usize = 3;
const HEAD_BYTES: usize = 4096;
const LINE_CHARS: usize = 100;
const NAMED_PATHS: usize = 4;
const GIT_TIMEOUT: Duration = Duration::from_millis(150);

/// Tools whose presence changes the best command, in the order they are listed.
const TOOLS: &[&str] = &[
    "rg", "fd", "fdfind", "ag", "jq", "yq", "gawk", "mawk", "tree", "rsync", "zip", "unzip", "7z",
    "xz", "zstd", "pigz", "python3",
];

/// Entries of `dir`, sorted bytewise, folders (and links to them) with a trailing `/`, split
/// into visible and hidden. `.git` is left out.
pub fn entries(dir: &Path) -> (Vec<String>, Vec<String>) {
    let Ok(read) = fs::read_dir(dir) else {
        return (Vec::new(), Vec::new());
    };
    let mut names: Vec<(String, bool)> = read
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_dir = match entry.file_type() {
                Ok(t) if t.is_symlink() => entry.path().is_dir(),
                Ok(t) => t.is_dir(),
                Err(_) => false,
            };
            (name != ".git").then_some((name, is_dir))
        })
        .collect();
    names.sort();
    let shown = |(name, is_dir): &(String, bool)| {
        let name = redact::name(name);
        if *is_dir {
            format!("{name}/")
        } else {
            name.to_string()
        }
    };
    let (hidden, visible): (Vec<_>, Vec<_>) = names.iter().partition(|(n, _)| n.starts_with('.'));
    (
        visible.into_iter().map(shown).collect(),
        hidden.into_iter().map(shown).collect(),
    )
}

/// `a, b, c` within `cap`, then `, … (N more)` for the rest.
pub fn join_capped(names: &[String], cap: Cap) -> String {
    let mut out = String::new();
    let mut shown = 0;
    for name in names {
        if shown == cap.entries || out.len() + name.len() + 2 > cap.bytes {
            break;
        }
        if shown > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
        shown += 1;
    }
    if shown < names.len() {
        out.push_str(&format!(", … ({} more)", names.len() - shown));
    }
    out
}

/// The `Entries:` and `Hidden:` lines for the current directory.
pub fn listing_lines(dir: &Path) -> String {
    let (visible, hidden) = entries(dir);
    let mut out = if visible.is_empty() {
        "Entries: none\n".to_string()
    } else {
        format!("Entries: {}\n", join_capped(&visible, CWD_CAP))
    };
    if hidden.len() > HIDDEN_LISTED {
        out.push_str(&format!("Hidden: {} entries\n", hidden.len()));
    } else if !hidden.is_empty() {
        out.push_str(&format!("Hidden: {}\n", hidden.join(", ")));
    }
    out
}

/// `Git: branch main, uncommitted changes` when `cwd` is in a git work tree, else nothing.
pub fn git_line(cwd: &Path) -> String {
    let Some(git_dir) = find_git_dir(cwd) else {
        return String::new();
    };
    let head = fs::read_to_string(git_dir.join("HEAD")).unwrap_or_default();
    let branch = match head.trim().strip_prefix("ref: refs/heads/") {
        Some(name) => format!("branch {}", redact::name(name)),
        None => "detached HEAD".into(),
    };
    let dirty = match tracked_changes(cwd) {
        Some(true) => ", uncommitted changes",
        Some(false) => ", clean",
        None => "",
    };
    format!("Git: {branch}{dirty}\n")
}

fn find_git_dir(cwd: &Path) -> Option<PathBuf> {
    for dir in cwd.ancestors().take(40) {
        let dot_git = dir.join(".git");
        let Ok(meta) = fs::metadata(&dot_git) else {
            continue;
        };
        if meta.is_dir() {
            return Some(dot_git);
        }
        // A worktree or submodule: `gitdir: PATH`.
        let text = fs::read_to_string(&dot_git).ok()?;
        let target = text.trim().strip_prefix("gitdir: ")?;
        return Some(dir.join(target));
    }
    None
}

/// Whether tracked files differ from HEAD or the index, by `git status`, given at most
/// `GIT_TIMEOUT`; `None` when git is missing, fails or is slow.
fn tracked_changes(cwd: &Path) -> Option<bool> {
    let mut child = Command::new("git")
        .args(["--no-optional-locks", "status", "--porcelain", "-uno"])
        .current_dir(cwd)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // Drained on the side, so a long list of changes cannot fill the pipe and stall git.
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut first = [0u8; 1];
        let any = stdout.read(&mut first).map(|n| n > 0).unwrap_or(false);
        let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        any
    });
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(_)) | Err(_) => return None,
            Ok(None) if started.elapsed() >= GIT_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    reader.join().ok()
}

/// `Linux, GNU userland` and the like.
pub fn userland(path_var: &str) -> String {
    match std::env::consts::OS {
        "macos" => {
            let gnu = if on_path("gls", path_var) {
                ", GNU coreutils as g-commands"
            } else {
                ""
            };
            format!("macOS, BSD userland{gnu}")
        }
        "linux" => {
            let ls = find_on_path("ls", path_var).unwrap_or_else(|| PathBuf::from("/bin/ls"));
            let busybox = fs::read_link(&ls)
                .ok()
                .and_then(|t| t.file_name().map(|n| n == "busybox"))
                .unwrap_or(false);
            if busybox {
                "Linux, BusyBox userland".into()
            } else {
                "Linux, GNU userland".into()
            }
        }
        other => other.to_string(),
    }
}

fn find_on_path(tool: &str, path_var: &str) -> Option<PathBuf> {
    find_executable(tool, std::ffi::OsStr::new(path_var))
}

fn on_path(tool: &str, path_var: &str) -> bool {
    find_on_path(tool, path_var).is_some()
}

/// The known tools present on `path_var`, comma separated; empty when none.
pub fn tools(path_var: &str) -> String {
    let dirs = search_dirs(std::ffi::OsStr::new(path_var));
    let present: Vec<&str> = TOOLS
        .iter()
        .copied()
        .filter(|t| executable_in(t, &dirs))
        .collect();
    present.join(", ")
}

/// What the start of a file shows.
enum Start {
    /// Its first lines, indented, each cut to `LINE_CHARS`, secrets redacted.
    Text(String),
    /// Nothing at all.
    Empty,
    /// Only whitespace.
    Blank,
    Binary,
}

/// Reads the first `HEAD_BYTES` of a file, once, and says what they show.
fn text_lines(path: &Path) -> std::io::Result<Start> {
    let mut bytes = Vec::with_capacity(HEAD_BYTES);
    File::open(path)?
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut bytes)?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text,
        // A multi-byte character cut at the 4 KB mark does not make the file binary.
        Err(e) if e.error_len().is_none() => match std::str::from_utf8(&bytes[..e.valid_up_to()]) {
            Ok(text) => text,
            Err(_) => return Ok(Start::Binary),
        },
        Err(_) => return Ok(Start::Binary),
    };
    if text.contains('\0') {
        return Ok(Start::Binary);
    }
    if text.is_empty() {
        return Ok(Start::Empty);
    }
    if text.trim().is_empty() {
        return Ok(Start::Blank);
    }
    let mut out = String::new();
    for line in text.lines().take(HEAD_LINES) {
        // Redacted whole, then cut: a secret across the cut must not show its first part.
        let line = redact::line(line.trim_end_matches('\r'));
        let mut cut: String = line.chars().take(LINE_CHARS).collect();
        if cut.len() < line.len() {
            cut.push('…');
        }
        out.push_str("  ");
        out.push_str(&cut.replace('\t', "\\t"));
        out.push('\n');
    }
    Ok(Start::Text(out))
}

/// The words of `sentence` that name an existing path under `cwd`, in order, at most 4. With
/// `typing`, a last word still being typed (nothing after it yet) that begins the name of
/// exactly one entry counts as naming it.
fn named_paths(cwd: &Path, sentence: &str, typing: bool) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let words: Vec<&str> = sentence.split_whitespace().collect();
    let being_typed = typing && !sentence.ends_with(char::is_whitespace);
    for (i, word) in words.iter().enumerate() {
        let word = word
            .trim_start_matches(['(', '"', '\'', '`'])
            .trim_end_matches([',', '.', ';', ':', '!', '?', ')', '"', '\'', '`']);
        let word = word.strip_prefix("./").unwrap_or(word);
        if word.is_empty()
            || word.len() > 200
            || word.starts_with(['/', '~', '-'])
            || word.split('/').any(|part| part == "..")
            || found.iter().any(|f| f == word)
        {
            continue;
        }
        let name = if fs::symlink_metadata(cwd.join(word)).is_ok() {
            Some(word.to_string())
        } else if being_typed && i + 1 == words.len() {
            completion(cwd, word).filter(|name| !found.contains(name))
        } else {
            None
        };
        if let Some(name) = name {
            found.push(name);
            if found.len() == NAMED_PATHS {
                break;
            }
        }
    }
    found
}

/// The path `word` is on its way to naming: the one entry of its folder whose name begins with
/// its last part, when that part has at least 4 characters (with 3, everyday words like `lin`
/// of `line` took `link_to_readme` in passing, and each such guess costs two evaluations).
fn completion(cwd: &Path, word: &str) -> Option<String> {
    let (folder, start) = word.rsplit_once('/').unwrap_or(("", word));
    if start.chars().count() < 4 {
        return None;
    }
    let mut names = fs::read_dir(cwd.join(folder))
        .ok()?
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(start) && name != ".git");
    let name = names.next()?;
    if names.next().is_some() {
        return None;
    }
    Some(match folder {
        "" => name,
        folder => format!("{folder}/{name}"),
    })
}

/// The details for `sentence`: folder listings (when `listing`) and file heads (when `files`).
pub fn details(cwd: &Path, sentence: &str, listing: bool, files: bool) -> String {
    details_of(cwd, named_paths(cwd, sentence, false), listing, files)
}

/// [`details`] for a line still being typed, sent ahead of the key press: its last word counts
/// as the name it begins, when it begins exactly one. The name's details are then evaluated
/// while the rest of it is typed, and the key press finds them ready.
pub fn details_while_typing(cwd: &Path, line: &str, listing: bool, files: bool) -> String {
    details_of(cwd, named_paths(cwd, line, true), listing, files)
}

fn details_of(cwd: &Path, names: Vec<String>, listing: bool, files: bool) -> String {
    let mut out = String::new();
    for word in names {
        let path = cwd.join(&word);
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        let shown = redact::name(&word);
        if meta.is_dir() && listing {
            let word = word.trim_end_matches('/');
            let (visible, hidden) = entries(&path);
            let all: Vec<String> = visible.into_iter().chain(hidden).collect();
            if all.is_empty() {
                out.push_str(&format!("{}/ is empty\n", redact::name(word)));
            } else {
                let list = join_capped(&all, NAMED_DIR_CAP);
                out.push_str(&format!("{}/ holds: {list}\n", redact::name(word)));
            }
        } else if meta.is_file() && files {
            if sensitive(&path) {
                out.push_str(&format!("{shown}: contents not shown (may hold secrets)\n"));
            } else {
                out.push_str(&head(&path, shown));
            }
        }
    }
    out
}

/// Whether the file's name, or the name of the file a link points to, says it may hold secrets.
fn sensitive(path: &Path) -> bool {
    let name_of = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let target = fs::canonicalize(path)
        .map(|t| name_of(&t))
        .unwrap_or_default();
    redact::sensitive_name(&name_of(path)) || redact::sensitive_name(&target)
}

/// `name starts with:` and its first lines, indented, or why they are not shown.
fn head(path: &Path, shown: &str) -> String {
    match text_lines(path) {
        Ok(Start::Text(lines)) => format!("{shown} starts with:\n{lines}"),
        Ok(Start::Empty) => format!("{shown} is empty\n"),
        Ok(Start::Blank) => format!("{shown} holds only blank lines\n"),
        Ok(Start::Binary) => format!("{shown} is a binary file\n"),
        Err(_) => format!("{shown}: cannot be read\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[&str], dirs: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            fs::write(dir.path().join(f), "").unwrap();
        }
        for d in dirs {
            fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        dir
    }

    #[test]
    fn the_listing_is_sorted_marks_folders_and_summarises_hidden_entries() {
        let dir = dir_with(
            &["b.txt", "a b.md", ".env", ".zshrc"],
            &["src", ".config", ".git"],
        );
        std::os::unix::fs::symlink(dir.path().join("src"), dir.path().join("link")).unwrap();
        assert_eq!(
            listing_lines(dir.path()),
            "Entries: a b.md, b.txt, link/, src/\nHidden: .config/, .env, .zshrc\n"
        );
        let many: Vec<String> = (0..12).map(|i| format!(".f{i:02}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(listing_lines(dir_with(&refs, &[]).path()).ends_with("Hidden: 12 entries\n"));
        assert_eq!(listing_lines(dir_with(&[], &[]).path()), "Entries: none\n");
    }

    #[test]
    fn long_listings_are_capped_with_a_count() {
        let names: Vec<String> = (0..50).map(|i| format!("file{i:02}.txt")).collect();
        let capped = join_capped(&names, CWD_CAP);
        assert!(capped.ends_with(", … (10 more)"), "{capped}");
        let tight = join_capped(
            &names,
            Cap {
                entries: 40,
                bytes: 40,
            },
        );
        assert_eq!(tight, "file00.txt, file01.txt, file02.txt, … (47 more)");
    }

    /// While typing, a last word that begins exactly one entry's name already brings that
    /// entry's details, the same ones the finished name brings; nothing else changes.
    #[test]
    fn a_name_half_typed_at_the_end_of_the_line_brings_its_details_early() {
        let dir = dir_with(
            &["pom.xml", ".envrc", "link_to_readme"],
            &["photos/2024", "logs"],
        );
        let root = dir.path();
        fs::write(root.join("README.md"), "# Project\n").unwrap();
        fs::write(root.join("poem.txt"), "roses are red\n").unwrap();
        fs::write(root.join("logs/app.log"), "ERROR x\n").unwrap();
        let typing = |line: &str| details_while_typing(root, line, true, true);
        for (line, finished) in [
            ("files newer than READ", "files newer than README.md"),
            ("count the lines of poem", "count the lines of poem.txt"),
            ("how many pictures in phot", "how many pictures in photos"),
            ("errors in logs/app.l", "errors in logs/app.log"),
            ("show .env", "show .envrc"),
        ] {
            let done = details(root, finished, true, true);
            assert!(!done.is_empty(), "{finished}");
            assert_eq!(typing(line), done, "{line}");
            assert_eq!(typing(finished), done, "{finished}");
            assert_eq!(details(root, line, true, true), "", "the key press: {line}");
        }
        // Three characters, a finished word, a word earlier in the line: no name.
        for line in [
            "count the lines of poe",
            "file names and lin",
            "errors in logs/app",
            "newer than READ ",
            "READ and more",
        ] {
            assert_eq!(typing(line), "", "{line}");
        }
        fs::write(root.join("poems.md"), "").unwrap();
        assert_eq!(typing("count the lines of poem"), "", "two names begin so");
        assert_ne!(typing("count the lines of poem.t"), "", "one again");
    }

    #[test]
    fn details_show_heads_folders_and_nothing_secret() {
        let dir = dir_with(&["empty.txt", ".env"], &["docs/images"]);
        let root = dir.path();
        fs::write(root.join("data.tsv"), "id\tqty\n1\t0\n2\t5\n3\t9\n").unwrap();
        fs::write(root.join("logo.png"), b"\x89PNG\r\n\x1a\n\0\0").unwrap();
        fs::write(root.join(".env"), "TOKEN=abc").unwrap();
        fs::write(root.join("docs/api.md"), "# API").unwrap();
        let details = details(
            root,
            "rows of data.tsv, (docs) logo.png empty.txt .env and missing.txt",
            true,
            true,
        );
        assert_eq!(
            details,
            "data.tsv starts with:\n  id\\tqty\n  1\\t0\n  2\\t5\n\
             docs/ holds: api.md, images/\n\
             logo.png is a binary file\n\
             empty.txt is empty\n"
        );
        fs::write(root.join("blank.txt"), "\n  \n").unwrap();
        assert_eq!(
            super::details(root, "lines of blank.txt", true, true),
            "blank.txt holds only blank lines\n"
        );
        let secret = super::details(root, "show .env", true, true);
        assert_eq!(secret, ".env: contents not shown (may hold secrets)\n");
        assert_eq!(
            super::details(root, "rows of data.tsv in docs", false, false),
            ""
        );
    }

    #[test]
    fn paths_outside_the_directory_are_never_read() {
        let dir = dir_with(&[], &["inner"]);
        fs::write(dir.path().join("secret-outside"), "x").unwrap();
        let inner = dir.path().join("inner");
        let sentence = "cat ../secret-outside /etc/passwd ~/.bashrc";
        assert_eq!(details(&inner, sentence, true, true), "");
        for typing in ["cat ../secret-out", "cat /etc/passw", "cat ~/.bash"] {
            assert_eq!(
                details_while_typing(&inner, typing, true, true),
                "",
                "{typing}"
            );
        }
    }

    #[test]
    fn git_state_names_the_branch_and_tracked_changes() {
        let dir = dir_with(&["a.txt"], &[]);
        let git = |args: &[&str]| {
            let status = Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@t"])
                .args(args)
                .current_dir(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            status.map(|s| s.success()).unwrap_or(false)
        };
        if !git(&["init", "-q", "-b", "trunk"]) {
            assert!(
                std::env::var("CMDAI_REQUIRE_ALL").as_deref() != Ok("1"),
                "git is needed for this test (CMDAI_REQUIRE_ALL=1)"
            );
            return;
        }
        assert!(git(&["add", "a.txt"]) && git(&["commit", "-qm", "one"]));
        assert_eq!(git_line(dir.path()), "Git: branch trunk, clean\n");
        fs::write(dir.path().join("a.txt"), "changed").unwrap();
        assert_eq!(
            git_line(dir.path()),
            "Git: branch trunk, uncommitted changes\n"
        );
        assert_eq!(git_line(Path::new("/")), "");
    }
}
