//! What a line takes for granted about the directory it runs in, and a look at whether it holds.
//!
//! The analysis notes, for literal paths it can resolve from the start directory, the folders a
//! command writes or creates files in and the operands `grep` reads as files (pure: nothing is
//! looked at then). [`problems`] then looks, in the user's directory: `touch logs/.keep` with no
//! `logs/`, or `grep -i port .` without `-r`, fail when run, and a repair round can fix them.

use std::path::Path;

use super::analyze::Analyzer;
use super::args::{Arg, Opts};
use super::target::Cwd;

/// One assumption about the start directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// This folder exists: files are written or created in it.
    Folder(String),
    /// `tool` reads this path as a file, which fails on a folder.
    NotFolder { path: String, tool: String },
}

/// The problems the assumptions in `expects` meet in `cwd`, one line each; none when `cwd`
/// cannot be seen from here (another mount namespace, a folder since removed).
pub fn problems(expects: &[Expect], cwd: &Path) -> Vec<String> {
    let mut found = Vec::new();
    if !cwd.is_absolute() || !cwd.is_dir() {
        return found;
    }
    for expect in expects {
        let problem = match expect {
            Expect::Folder(path) if !cwd.join(path).is_dir() => {
                format!("{path}/ does not exist here (mkdir -p {path} first)")
            }
            Expect::NotFolder { path, tool } if cwd.join(path).is_dir() => {
                format!("{path} is a folder: {tool} reads folders only with -r")
            }
            _ => continue,
        };
        if !found.contains(&problem) {
            found.push(problem);
        }
    }
    found
}

/// Notes what running `name` with `args` takes for granted.
pub(super) fn note(a: &mut Analyzer, name: &str, args: &[Arg]) {
    match name {
        "touch" => {
            let opts = Opts::parse(args, "rdt", &["reference", "date"], false);
            for file in opts.operands {
                folder_of(a, file);
            }
        }
        "tee" => {
            for file in Opts::parse(args, "", &[], false).operands {
                folder_of(a, file);
            }
        }
        "mkdir" => {
            let opts = Opts::parse(args, "m", &["mode", "context"], false);
            let parents = opts.has(&["p", "parents"]);
            for dir in opts.operands {
                if !parents {
                    folder_of(a, dir);
                }
            }
        }
        "cp" | "mv" => {
            let opts = Opts::parse(args, "tS", &["target-directory", "suffix"], false);
            if let Some(dir) = opts.value(&["t", "target-directory"]) {
                folder(a, &Arg::literal(dir));
            } else if let [sources @ .., dest] = opts.operands.as_slice() {
                // One folder copied or moved to `new/` makes `new`: only a file needs it to
                // exist, and only `cp` without -r is sure to copy a file.
                let files_only =
                    name == "cp" && !opts.has(&["r", "R", "a", "recursive", "archive"]);
                if sources.len() > 1 || dest.text.ends_with('/') && files_only {
                    folder(a, dest);
                } else if !sources.is_empty() {
                    folder_of(a, dest);
                }
            }
        }
        "grep" | "egrep" | "fgrep" => grep(a, name, args),
        _ => {}
    }
}

/// Notes what a command that ran (with what it runs in turn: `find -exec`, `xargs`) may have
/// made.
pub(super) fn named(a: &mut Analyzer, name: &str, args: &[Arg]) {
    // Whatever a command names, it may have made (`mkdir -p a/b`, `git clone URL dir`,
    // `unzip x.zip -d out`, `cp -r src new`): later commands may write there. Some make
    // folders their words do not name at all.
    a.made_anything |= UNPACKERS.contains(&name);
    for arg in args {
        if let Some(path) = resolved(a, arg) {
            a.made.push(path);
        }
    }
}

/// Commands that make folders their words need not name: archives unpacked, trees copied.
const UNPACKERS: &[&str] = &[
    "tar", "gtar", "bsdtar", "unzip", "7z", "7za", "cpio", "git", "rsync",
];

/// A file written by a redirection (`> path`, `>> path`) needs its folder.
pub(super) fn written(a: &mut Analyzer, file: &Arg) {
    folder_of(a, file);
}

fn grep(a: &mut Analyzer, name: &str, args: &[Arg]) {
    let opts = Opts::parse(
        args,
        "efABCmdD",
        &[
            "regexp",
            "file",
            "after-context",
            "before-context",
            "context",
            "max-count",
            "directories",
            "devices",
            "include",
            "exclude",
            "exclude-dir",
            "label",
        ],
        false,
    );
    // Folders are searched (-r) or skipped (-d skip): either way not an error.
    let folders_handled = opts.has(&["r", "R", "recursive", "dereference-recursive"])
        || matches!(opts.value(&["d", "directories"]), Some("recurse" | "skip"));
    if folders_handled {
        return;
    }
    let pattern_given = opts.has(&["e", "f", "regexp", "file"]);
    let files = opts.operands.iter().skip(usize::from(!pattern_given));
    for file in files {
        if let Some(path) = resolved(a, file) {
            a.expects.push(Expect::NotFolder {
                path,
                tool: name.to_string(),
            });
        }
    }
}

/// `dir` must be a folder, unless the line made it.
fn folder(a: &mut Analyzer, dir: &Arg) {
    if let Some(path) = resolved(a, dir) {
        folder_at(a, path.trim_end_matches('/'));
    }
}

/// The folder `file` is in must exist (nothing to check for a name with no folder in it).
fn folder_of(a: &mut Analyzer, file: &Arg) {
    if let Some(path) = resolved(a, file) {
        if let Some((parent, _)) = path.trim_end_matches('/').rsplit_once('/') {
            folder_at(a, parent);
        }
    }
}

fn folder_at(a: &mut Analyzer, path: &str) {
    if a.made_anything {
        return;
    }
    let made = |m: &String| m.trim_end_matches('/') == path || m.starts_with(&format!("{path}/"));
    if !path.is_empty() && path != "." && !a.made.iter().any(made) {
        a.expects.push(Expect::Folder(path.to_string()));
    }
}

/// `arg` as a path relative to the start directory (or absolute), when the line's own words
/// decide it: no expansion, glob, home directory or stand-in for found paths, no `cd` before.
fn resolved(a: &Analyzer, arg: &Arg) -> Option<String> {
    let text = &arg.text;
    let literal = !arg.unknown && !arg.unknown_prefix && !arg.glob && arg.each.is_none();
    // Unknown expansions stay in the text as written.
    let plain = !text.is_empty() && !text.starts_with(['~', '-']) && !text.contains(['$', '`']);
    let placed = a.cwd == Cwd::Start || text.starts_with('/');
    let device = text.starts_with("/dev/") || text.starts_with("/proc/");
    (literal && plain && placed && !device).then(|| text.clone())
}

#[cfg(test)]
mod tests {
    use super::super::{assess, Shell};
    use super::*;

    fn problems_in(line: &str, dir: &Path) -> Vec<String> {
        problems(&assess(line, Shell::Bash).expects, dir)
    }

    fn place() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("logs")).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "hello\n").unwrap();
        dir
    }

    #[test]
    fn writing_into_a_folder_that_is_not_there_is_a_problem() {
        let dir = place();
        let missing = |line: &str| problems_in(line, dir.path());
        let no_cache = vec!["cache/ does not exist here (mkdir -p cache first)"];
        assert_eq!(missing("touch logs/.keep cache/.keep"), no_cache);
        assert_eq!(missing("echo hi > cache/out.txt"), no_cache);
        assert_eq!(missing("sort notes.txt | tee cache/sorted.txt"), no_cache);
        assert_eq!(missing("cp notes.txt logs/ cache/"), no_cache);
        assert_eq!(missing("mv -t cache notes.txt"), no_cache);
        assert_eq!(missing("mkdir cache/deep"), no_cache);
        assert_eq!(missing("cp notes.txt cache/notes.txt"), no_cache);
        assert_eq!(
            missing("find . -name '*.txt' -exec cp {} cache/ \\;"),
            no_cache
        );
    }

    #[test]
    fn folders_that_exist_or_the_line_makes_are_no_problem() {
        let dir = place();
        let fine = |line: &str| assert_eq!(problems_in(line, dir.path()), Vec::<String>::new());
        fine("touch logs/.keep new.txt");
        fine("mkdir -p cache && touch cache/.keep");
        fine("mkdir -p cache/a/b && cp notes.txt cache/a/");
        fine("mkdir cache; echo hi > cache/out.txt");
        fine("cp notes.txt copy.txt");
        fine("mv notes.txt logs");
        fine("cp -r logs backup/");
        fine("mv logs archive/");
        fine("git clone https://example.com/r.git repo && touch repo/.keep");
        fine("unzip site.zip -d out && cp notes.txt out/");
        fine("tar -xzf site.tar.gz && touch site/.keep");
        fine("echo hi > /dev/null 2>&1");
        // Not decided by the line's words: an expansion, a glob, the home folder, another cwd.
        fine("touch \"$DIR\"/x");
        fine("cp -t \"$DIR\" notes.txt");
        fine("touch ~/nowhere/x");
        fine("cd /tmp && touch nowhere/x");
        fine("find . -name '*.txt' -exec cp {} logs/ \\;");
        // A directory this process cannot see says nothing.
        let unseen = dir.path().join("gone");
        assert_eq!(
            problems_in("touch nowhere/x", &unseen),
            Vec::<String>::new()
        );
    }

    #[test]
    fn grep_reading_a_folder_without_recursion_is_a_problem() {
        let dir = place();
        let found = |line: &str| problems_in(line, dir.path());
        let folder = vec!["logs is a folder: grep reads folders only with -r"];
        assert_eq!(found("grep -i port logs"), folder);
        assert_eq!(
            found("grep -i port --include='*.py' ."),
            vec![". is a folder: grep reads folders only with -r"]
        );
        assert_eq!(found("grep -e hello notes.txt logs"), folder);
        for fine in [
            "grep -ri port logs",
            "grep -r --include='*.py' port .",
            "grep -d recurse port logs",
            "grep hello notes.txt",
            "grep logs notes.txt",
            "grep -e logs notes.txt",
            "cat notes.txt | grep logs",
        ] {
            assert_eq!(found(fine), Vec::<String>::new(), "{fine}");
        }
    }
}
