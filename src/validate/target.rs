//! What a path names, for the rules: the whole system, a home directory, a disk, a key…

use super::args::Arg;

/// The kinds of place a command can act on, from the rules' point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// `/` or everything in it.
    Root,
    /// A system tree (`/usr`, `/etc`, `/var/lib`…) or everything in one.
    SystemTree,
    /// A file the system cannot boot, log in or run programs without.
    CriticalFile,
    /// Other system configuration under `/etc`.
    SystemConfig,
    /// Another file or directory under a system tree.
    SystemFile,
    /// A home directory or everything in it.
    Home,
    /// A whole top-level folder of a home directory (`~/Documents`).
    PersonalFolder,
    /// `~/.ssh` or `~/.gnupg` as a whole.
    KeyDir,
    /// A private key or a credentials file.
    Secret,
    AuthorizedKeys,
    /// A shell startup file.
    Rc,
    /// A shell history file.
    History,
    /// A scheduled-jobs file or directory.
    Cron,
    /// System logs.
    Logs,
    /// The trash.
    Trash,
    /// The current directory, everything in it, or its parent.
    Cwd,
    /// A `.git` directory.
    GitDir,
    /// Build output and caches that tools recreate.
    Disposable,
    /// Scratch space (`/tmp`, `mktemp`).
    Temp,
    /// A whole disk or partition.
    Disk,
    /// Harmless devices (`/dev/null`, terminals, standard streams).
    NullDevice,
    /// A network connection (`/dev/tcp/host/port`).
    Socket,
    /// A path behind a variable that may be empty: `rm -rf $DIR/*`.
    MaybeEmpty,
    /// Anything else: the user's own files.
    Ordinary,
}

/// Where relative paths resolve: the start directory, a known one after `cd`, or unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Cwd {
    Start,
    At(String),
    Unknown,
}

const SYSTEM_TOPS: &[&str] = &[
    "bin",
    "boot",
    "dev",
    "etc",
    "lib",
    "lib32",
    "lib64",
    "libx32",
    "opt",
    "proc",
    "root",
    "run",
    "sbin",
    "srv",
    "sys",
    "usr",
    "var",
    "snap",
    "nix",
    "System",
    "Library",
    "Applications",
    "private",
    "home",
    "Users",
];

const CRITICAL_FILES: &[&str] = &[
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/sudoers",
    "/etc/ld.so.preload",
    "/etc/fstab",
    "/bin/sh",
    "/bin/bash",
    "/usr/bin/sudo",
];

const RC_FILES: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zprofile",
    ".zshenv",
    ".zlogin",
    ".zlogout",
    ".kshrc",
    ".mkshrc",
    ".cshrc",
    ".tcshrc",
    ".xinitrc",
    ".xprofile",
    ".config/fish/config.fish",
];

const DISPOSABLE: &[&str] = &[
    "build",
    "_build",
    ".build",
    "dist",
    "target",
    "out",
    "tmp",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".tox",
    ".nox",
    ".cache",
    ".eggs",
    "coverage",
    ".coverage",
    "htmlcov",
    ".next",
    ".nuxt",
    ".parcel-cache",
    ".gradle",
    ".turbo",
    ".svelte-kit",
    ".sass-cache",
    ".stack-work",
    "CMakeFiles",
];

/// Classifies a path argument, relative paths resolved against `cwd`.
pub(super) fn classify(arg: &Arg, cwd: &Cwd) -> Place {
    if arg.unknown_prefix {
        return Place::MaybeEmpty;
    }
    match resolve(&arg.text, cwd) {
        Some(path) => classify_path(&path),
        None => Place::MaybeEmpty,
    }
}

/// The absolute (or `~`-rooted) form of a path, lexically normalised; `None` when it is relative
/// to an unknown directory. Relative paths in the start directory stay relative.
pub(super) fn resolve(text: &str, cwd: &Cwd) -> Option<String> {
    let text = text.trim();
    let joined = if text.starts_with('/') || text.starts_with('~') {
        text.to_string()
    } else {
        match cwd {
            Cwd::Start => text.to_string(),
            Cwd::At(dir) => format!("{dir}/{text}"),
            Cwd::Unknown => return None,
        }
    };
    Some(normalise(&joined))
}

/// Collapses `//`, `/./` and `..` without touching the file system; `~user` becomes
/// `/home/user`.
pub(super) fn normalise(path: &str) -> String {
    let (anchor, rest) = if let Some(rest) = path.strip_prefix('/') {
        ("/", rest)
    } else if let Some(rest) = path.strip_prefix('~') {
        match rest.split_once('/') {
            Some(("", rest)) => ("~/", rest),
            Some((user, rest)) => return normalise(&format!("/home/{user}/{rest}")),
            None if rest.is_empty() => ("~/", ""),
            None => return format!("/home/{rest}"),
        }
    } else {
        ("", path)
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in rest.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if !anchor.is_empty() => {}
            other => parts.push(other),
        }
    }
    let body = parts.join("/");
    match (anchor, body.is_empty()) {
        ("/", _) => format!("/{body}"),
        ("~/", true) => "~".to_string(),
        ("~/", false) => format!("~/{body}"),
        (_, true) => ".".to_string(),
        _ => body,
    }
}

fn classify_path(path: &str) -> Place {
    if let Some(rest) = path.strip_prefix("~") {
        return classify_home(rest.trim_start_matches('/'));
    }
    if let Some(rest) = path.strip_prefix('/') {
        return classify_absolute(rest);
    }
    classify_relative(path)
}

/// Everything in a directory: `*`, `.*`, `.[!.]*`.
fn is_everything(component: &str) -> bool {
    matches!(component, "*" | ".*" | ".[!.]*" | "..?*" | "{*,.*}" | "*.*")
}

fn classify_home(rest: &str) -> Place {
    if rest.is_empty() || is_everything(rest) {
        return Place::Home;
    }
    if RC_FILES.contains(&rest) || rest.starts_with(".config/fish/conf.d/") {
        return Place::Rc;
    }
    if is_history(rest) {
        return Place::History;
    }
    let (first, inner) = rest.split_once('/').unwrap_or((rest, ""));
    match first {
        ".ssh" | ".gnupg" if inner.is_empty() || is_everything(inner) => Place::KeyDir,
        ".ssh" if inner == "authorized_keys" || inner == "authorized_keys2" => {
            Place::AuthorizedKeys
        }
        ".ssh" if inner.ends_with(".pub") || inner == "known_hosts" || inner == "config" => {
            Place::Ordinary
        }
        ".ssh" | ".gnupg" => Place::Secret,
        ".aws" | ".azure" | ".kube" | ".docker" | ".password-store" => Place::Secret,
        ".git-credentials" | ".netrc" | ".pgpass" | ".pypirc" | ".npmrc" | ".vault-token" => {
            Place::Secret
        }
        ".config" if inner.starts_with("gcloud") || inner.starts_with("gh/") => Place::Secret,
        ".cache" => Place::Disposable,
        ".local" if inner.starts_with("share/Trash") => Place::Trash,
        _ if inner.is_empty() => Place::PersonalFolder,
        _ if is_secret_name(inner) => Place::Secret,
        _ => Place::Ordinary,
    }
}

fn classify_absolute(rest: &str) -> Place {
    let full = format!("/{rest}");
    if rest.is_empty() || is_everything(rest) {
        return Place::Root;
    }
    if CRITICAL_FILES.contains(&full.as_str())
        || full.starts_with("/etc/sudoers.d/")
        || full.starts_with("/etc/pam.d/")
        || is_loader_or_libc(&full)
    {
        return Place::CriticalFile;
    }
    if let Some(dev) = full.strip_prefix("/dev/") {
        return classify_device(dev);
    }
    let parts: Vec<&str> = rest.split('/').collect();
    let top = parts[0];
    match top {
        "tmp" => return Place::Temp,
        "var" if parts.get(1) == Some(&"tmp") => return Place::Temp,
        "var" if parts.get(1) == Some(&"log") => return Place::Logs,
        "var" if parts.get(1) == Some(&"spool") && parts.get(2) == Some(&"cron") => {
            return Place::Cron
        }
        "etc" if parts.get(1).is_some_and(|p| p.starts_with("cron")) => return Place::Cron,
        "etc" if is_system_rc(&full) => return Place::Rc,
        "home" | "Users" if parts.len() >= 2 && !is_everything(parts[1]) => {
            let inner = parts[2..].join("/");
            return classify_home(&inner);
        }
        "root" if parts.len() >= 2 && !is_everything(parts[1]) => {
            return classify_home(&parts[1..].join("/"));
        }
        _ => {}
    }
    if is_history(rest) {
        return Place::History;
    }
    if is_secret_name(rest) || full.starts_with("/etc/ssh/ssh_host_") && !full.ends_with(".pub") {
        return Place::Secret;
    }
    if !SYSTEM_TOPS.contains(&top) {
        return Place::Ordinary;
    }
    let tree_depth = match top {
        // A service's own directory under /etc or /opt is bounded damage.
        "etc" | "opt" | "srv" => 1,
        _ => 2,
    };
    let depth = parts.len() - usize::from(parts.last().is_some_and(|p| is_everything(p)));
    if depth <= tree_depth {
        Place::SystemTree
    } else if top == "etc" {
        Place::SystemConfig
    } else {
        Place::SystemFile
    }
}

fn classify_relative(path: &str) -> Place {
    let parts: Vec<&str> = path.split('/').collect();
    if parts
        .iter()
        .all(|p| *p == "." || *p == ".." || is_everything(p))
    {
        return Place::Cwd;
    }
    let last = parts.last().copied().unwrap_or_default();
    if last == ".git" || parts.contains(&".git") && is_everything(last) {
        return Place::GitDir;
    }
    if parts.first() == Some(&"..") && parts[1..].iter().all(|p| is_everything(p)) {
        return Place::Cwd;
    }
    if is_history(path) {
        return Place::History;
    }
    if is_secret_name(path) {
        return Place::Secret;
    }
    let disposable = |p: &&str| {
        DISPOSABLE.contains(p)
            || p.ends_with(".egg-info")
            || p.starts_with("cmake-build-")
            || p.ends_with(".pyc")
            || p.ends_with(".o")
    };
    if parts.iter().any(disposable) {
        return Place::Disposable;
    }
    Place::Ordinary
}

fn classify_device(dev: &str) -> Place {
    let name = dev.trim_end_matches(|c: char| c.is_ascii_digit());
    let disk_prefixes = [
        "sd", "hd", "vd", "xvd", "nvme", "mmcblk", "md", "dm-", "loop", "sr", "disk", "rdisk",
        "mapper/", "disk/", "mem", "kmem", "port",
    ];
    if matches!(
        dev,
        "null" | "zero" | "tty" | "stdout" | "stderr" | "stdin" | "random" | "urandom" | "full"
    ) || dev.starts_with("fd/")
        || dev.starts_with("pts/")
        || dev.starts_with("shm/")
        || dev.starts_with("tty")
        || dev.starts_with("console")
    {
        return Place::NullDevice;
    }
    if dev.starts_with("tcp/") || dev.starts_with("udp/") {
        return Place::Socket;
    }
    if disk_prefixes.iter().any(|p| name.starts_with(p)) || dev.contains('*') {
        return Place::Disk;
    }
    Place::SystemFile
}

/// Whether a name or glob names a shell history file.
fn is_history(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.ends_with("_history")
        || name.ends_with("_history*")
        || matches!(name, ".histfile" | ".history" | ".lesshst" | "fish_history")
}

fn is_secret_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let key_file = ["id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk"]
        .iter()
        .any(|k| name.starts_with(k) && !name.ends_with(".pub"));
    key_file || name.ends_with(".pem") || name.ends_with(".key") || name == ".env"
}

fn is_loader_or_libc(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let in_lib = path.starts_with("/lib") || path.starts_with("/usr/lib");
    in_lib
        && (name.starts_with("ld-linux") || name.starts_with("ld-") || name.starts_with("libc.so"))
}

fn is_system_rc(path: &str) -> bool {
    matches!(
        path,
        "/etc/profile" | "/etc/bash.bashrc" | "/etc/zsh/zshrc" | "/etc/zshrc"
    ) || path.starts_with("/etc/profile.d/")
}

/// Whether a path names a shell binary (for setuid-shell checks).
pub(super) fn is_shell_binary(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        name,
        "sh" | "bash" | "dash" | "zsh" | "ksh" | "fish" | "ash" | "busybox"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(text: &str) -> Place {
        classify(&Arg::literal(text), &Cwd::Start)
    }

    #[test]
    fn normalising_paths() {
        assert_eq!(normalise("/usr/../"), "/");
        assert_eq!(normalise("~/"), "~");
        assert_eq!(normalise("~alice/x"), "/home/alice/x");
        assert_eq!(normalise("./build/"), "build");
        assert_eq!(normalise("//etc//passwd"), "/etc/passwd");
    }

    #[test]
    fn places() {
        let cases = [
            ("/", Place::Root),
            ("/*", Place::Root),
            ("/usr", Place::SystemTree),
            ("/var/lib", Place::SystemTree),
            ("/etc", Place::SystemTree),
            ("/etc/nginx", Place::SystemConfig),
            ("/usr/share/doc/x", Place::SystemFile),
            ("/etc/shadow", Place::CriticalFile),
            ("/lib64/ld-linux-x86-64.so.2", Place::CriticalFile),
            ("~", Place::Home),
            ("~/*", Place::Home),
            ("/home/alice", Place::Home),
            ("~/Desktop", Place::PersonalFolder),
            ("~/.ssh", Place::KeyDir),
            ("~/.ssh/id_rsa", Place::Secret),
            ("~/.ssh/id_rsa.pub", Place::Ordinary),
            ("~/.ssh/authorized_keys", Place::AuthorizedKeys),
            ("~/.bashrc", Place::Rc),
            ("~/.bash_history", Place::History),
            ("~/.*_history", Place::History),
            ("/dev/sdb", Place::Disk),
            ("/dev/nvme0n1p2", Place::Disk),
            ("/dev/null", Place::NullDevice),
            ("/dev/tcp/1.2.3.4/80", Place::Socket),
            ("*", Place::Cwd),
            (".", Place::Cwd),
            ("..", Place::Cwd),
            (".git", Place::GitDir),
            ("./build", Place::Disposable),
            (".pytest_cache", Place::Disposable),
            ("notes.txt", Place::Ordinary),
            ("/tmp/x", Place::Temp),
            ("/var/log/syslog", Place::Logs),
            ("/etc/cron.d/job", Place::Cron),
        ];
        for (path, expected) in cases {
            assert_eq!(place(path), expected, "{path}");
        }
    }

    #[test]
    fn relative_paths_follow_cd() {
        let ssh = Cwd::At("~/.ssh".into());
        assert_eq!(classify(&Arg::literal("id_rsa"), &ssh), Place::Secret);
        let root = Cwd::At("/".into());
        assert_eq!(classify(&Arg::literal("*"), &root), Place::Root);
        assert_eq!(
            classify(&Arg::literal("*"), &Cwd::Unknown),
            Place::MaybeEmpty
        );
    }
}
