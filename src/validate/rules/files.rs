//! Deleting, overwriting, editing and changing the permissions of files.

use super::super::analyze::{Analyzer, Ctx, FileFact, Harm};
use super::super::args::{Arg, Opts, Stream};
use super::super::target::{self, Place};
use super::super::Risk;
use super::describe;

pub(super) fn run(a: &mut Analyzer, name: &str, args: &[Arg], ctx: &Ctx, out: &mut Stream) {
    match name {
        "rm" | "srm" => rm(a, args, ctx),
        "unlink" => {
            for file in args.iter().filter(|arg| !arg.text.starts_with('-')) {
                delete(a, file, false, false, ctx);
            }
        }
        "shred" | "wipe" => shred(a, args, ctx),
        "find" => *out = find(a, args, ctx),
        "ls" => {
            let dir = args.iter().find(|arg| !arg.text.starts_with('-'));
            out.paths = Some(Arg {
                each: Some(false),
                ..dir.cloned().unwrap_or_else(|| Arg::literal("."))
            });
        }
        "rsync" => rsync(a, args, ctx),
        "tar" | "bsdtar" | "gtar" | "zip" | "7z" => archive_and_remove(a, name, args, ctx),
        "mv" => mv(a, args, ctx),
        "cp" | "install" => copy(a, name, args, ctx),
        "ln" => link(a, args, ctx),
        "truncate" => truncate(a, args, ctx),
        "dd" => *out = dd(a, args, ctx),
        "tee" => tee(a, args, ctx),
        "sed" | "gsed" => sed(a, args, ctx),
        "chmod" => chmod(a, args),
        "chown" | "chgrp" => chown(a, args),
        "setfacl" => setfacl(a, args),
        "trash-empty" => a.flag(Risk::Moderate, Harm::Delete, "empties the trash"),
        "gio" | "trash" if args.iter().any(|arg| arg.is("--empty")) => {
            a.flag(Risk::Moderate, Harm::Delete, "empties the trash")
        }
        "gio" if args.first().is_some_and(|arg| arg.is("remove")) => {
            for file in args[1..].iter().filter(|arg| !arg.text.starts_with('-')) {
                delete(a, file, false, false, ctx);
            }
        }
        _ => {}
    }
}

fn rm(a: &mut Analyzer, args: &[Arg], ctx: &Ctx) {
    let opts = Opts::parse(args, "", &[], false);
    let recursive = opts.has(&["r", "R", "recursive"]);
    let prompts = match opts.value(&["interactive"]) {
        Some(when) => when != "never",
        None => opts.has(&["i", "interactive"]),
    };
    let answered_yes = ctx
        .stdin
        .answer
        .as_ref()
        .is_some_and(|answer| answer.starts_with(['y', 'Y']));
    let interactive = prompts && !answered_yes && !opts.has(&["f", "force"]);
    for file in &opts.operands {
        delete(a, file, recursive, interactive, ctx);
    }
}

/// Rates deleting `file`. `interactive` means every deletion is confirmed by the user.
pub(in super::super) fn delete(
    a: &mut Analyzer,
    file: &Arg,
    recursive: bool,
    interactive: bool,
    _ctx: &Ctx,
) {
    let place = target::classify(file, &a.cwd);
    let recursive = recursive || file.each == Some(false);
    let contents = file.glob || file.each == Some(false);
    let what = describe(place, file);
    let (risk, reason) = if file.each == Some(true) {
        filtered_delete(place, &what)
    } else {
        match place {
            Place::Root | Place::SystemTree if recursive || contents => (
                Risk::Critical,
                format!("deletes {what}, which the system needs"),
            ),
            Place::CriticalFile => (
                Risk::Critical,
                format!("deletes {what}, which the system cannot run or log in without"),
            ),
            Place::Home if recursive => (Risk::Critical, format!("deletes {what}")),
            Place::Home if contents => (Risk::High, format!("deletes the files in {what}")),
            Place::PersonalFolder | Place::SystemConfig if recursive => {
                (Risk::High, format!("deletes the whole folder {what}"))
            }
            Place::KeyDir => (Risk::High, format!("deletes your keys in {what}")),
            Place::Secret => (
                Risk::High,
                format!("deletes the private key or credentials {what}"),
            ),
            Place::AuthorizedKeys => (Risk::High, "removes the keys allowed to log in".into()),
            Place::Rc => (
                Risk::High,
                format!("deletes your shell startup file {what}"),
            ),
            Place::History => (Risk::High, "wipes your shell history".into()),
            Place::Cron => (Risk::High, format!("removes the scheduled jobs in {what}")),
            Place::Logs => (Risk::High, format!("destroys system logs ({what})")),
            Place::Cwd if recursive => (Risk::High, format!("deletes {what}, recursively")),
            Place::GitDir if recursive => {
                (Risk::High, "deletes the repository's history (.git)".into())
            }
            Place::MaybeEmpty if recursive => {
                (Risk::High, format!("deletes recursively through {what}"))
            }
            Place::Disposable | Place::Temp | Place::Socket => (Risk::Safe, String::new()),
            Place::Trash => (Risk::Moderate, "empties the trash".into()),
            _ => (Risk::Moderate, format!("deletes {what}")),
        }
    };
    let risk = if interactive && risk == Risk::Moderate {
        Risk::Safe
    } else {
        risk
    };
    a.flag(risk, Harm::Delete, reason);
}

/// Deleting only what a search matched (`find … -name … -delete`).
fn filtered_delete(place: Place, what: &str) -> (Risk, String) {
    match place {
        Place::Root | Place::SystemTree => {
            (Risk::High, format!("deletes matching files across {what}"))
        }
        Place::History => (Risk::High, "wipes your shell history".into()),
        Place::Secret | Place::KeyDir => (Risk::High, format!("deletes your keys ({what})")),
        Place::Rc => (
            Risk::High,
            format!("deletes your shell startup files ({what})"),
        ),
        Place::Logs => (Risk::High, format!("destroys system logs ({what})")),
        Place::CriticalFile => (
            Risk::Critical,
            format!("deletes {what}, which the system cannot run without"),
        ),
        Place::Disposable | Place::Temp => (Risk::Safe, String::new()),
        _ => (
            Risk::Moderate,
            format!("deletes the matching files in {what}"),
        ),
    }
}

fn shred(a: &mut Analyzer, args: &[Arg], ctx: &Ctx) {
    let opts = Opts::parse(args, "nsx", &["iterations", "size", "random-source"], false);
    for file in &opts.operands {
        if target::classify(file, &a.cwd) == Place::Disk {
            a.flag(
                Risk::Critical,
                Harm::Disk,
                format!("overwrites the whole disk {}", file.text),
            );
        } else {
            delete(a, file, opts.has(&["r", "recursive"]), false, ctx);
        }
    }
}

/// Tests that narrow what `find` matches; `-type` alone does not.
const FIND_FILTERS: &[&str] = &[
    "-name",
    "-iname",
    "-path",
    "-ipath",
    "-wholename",
    "-iwholename",
    "-regex",
    "-iregex",
    "-size",
    "-mtime",
    "-mmin",
    "-atime",
    "-amin",
    "-ctime",
    "-cmin",
    "-newer",
    "-newermt",
    "-empty",
    "-user",
    "-group",
    "-perm",
    "-links",
    "-inum",
    "-samefile",
    "-uid",
    "-gid",
    "-nouser",
    "-nogroup",
    "-lname",
    "-ilname",
    "-used",
];

/// `find START… EXPRESSION`: `-delete` and `-exec` act on every match.
fn find(a: &mut Analyzer, args: &[Arg], ctx: &Ctx) -> Stream {
    let split = args
        .iter()
        .position(|arg| arg.text.starts_with('-') || arg.is("(") || arg.is("!"))
        .unwrap_or(args.len());
    let (starts, expression) = args.split_at(split);
    let filtered = expression
        .iter()
        .any(|arg| FIND_FILTERS.contains(&arg.text.as_str()));
    let pattern = expression
        .windows(2)
        .find(|pair| pair[0].is("-name") || pair[0].is("-iname"))
        .map(|pair| pair[1].text.clone());
    let default_start = [Arg::literal(".")];
    let starts = if starts.is_empty() {
        &default_start[..]
    } else {
        starts
    };
    let matches: Vec<Arg> = starts
        .iter()
        .map(|start| Arg {
            text: match &pattern {
                Some(pattern) => format!("{}/{pattern}", start.text.trim_end_matches('/')),
                None => start.text.clone(),
            },
            each: Some(filtered),
            ..start.clone()
        })
        .collect();
    let mut rest = expression;
    while let Some((word, tail)) = rest.split_first() {
        rest = tail;
        match word.text.as_str() {
            "-delete" => {
                for found in &matches {
                    delete(a, found, true, false, ctx);
                }
            }
            "-exec" | "-execdir" | "-ok" | "-okdir" => {
                let end = rest
                    .iter()
                    .position(|arg| arg.is(";") || arg.is("+"))
                    .unwrap_or(rest.len());
                for found in &matches {
                    let command: Vec<Arg> = rest[..end]
                        .iter()
                        .map(|arg| {
                            if arg.is("{}") {
                                found.clone()
                            } else {
                                arg.clone()
                            }
                        })
                        .collect();
                    if !command.is_empty() {
                        a.invoke(
                            command,
                            &Ctx {
                                stdin: Stream::default(),
                                ..ctx.clone()
                            },
                        );
                    }
                }
                rest = &rest[(end + 1).min(rest.len())..];
            }
            _ => {}
        }
    }
    Stream {
        paths: matches.into_iter().next(),
        ..Stream::default()
    }
}

const RSYNC_DELETES: &[&str] = &[
    "delete",
    "del",
    "delete-before",
    "delete-during",
    "delete-delay",
    "delete-after",
    "delete-excluded",
];

/// `rsync --delete SRC DEST`: makes DEST match SRC, deleting everything else there.
fn rsync(a: &mut Analyzer, args: &[Arg], ctx: &Ctx) {
    let opts = Opts::parse(
        args,
        "efTB",
        &["rsh", "filter", "exclude", "include"],
        false,
    );
    if opts.has(&["remove-source-files"]) {
        a.flag(
            Risk::Moderate,
            Harm::Delete,
            "removes the source files after copying them",
        );
    }
    if !opts.has(RSYNC_DELETES) {
        return;
    }
    let Some((dest, sources)) = opts.operands.split_last() else {
        return;
    };
    if is_remote(dest) {
        a.flag(
            Risk::Moderate,
            Harm::Delete,
            format!("deletes files on {} that are not in the source", dest.text),
        );
        return;
    }
    let empty_source = sources
        .iter()
        .any(|s| target::classify(s, &a.cwd) == Place::Temp);
    let place = target::classify(dest, &a.cwd);
    if empty_source || matches!(place, Place::Root | Place::SystemTree | Place::Home) {
        let everything = Arg {
            each: Some(false),
            ..(*dest).clone()
        };
        delete(a, &everything, true, false, ctx);
    } else {
        a.flag(
            Risk::Moderate,
            Harm::Delete,
            format!("deletes files in {} that are not in the source", dest.text),
        );
    }
}

fn is_remote(arg: &Arg) -> bool {
    let text = &arg.text;
    !text.starts_with('/')
        && !text.starts_with('.')
        && !text.starts_with('~')
        && text
            .split('/')
            .next()
            .is_some_and(|head| head.contains(':'))
}

/// `tar --remove-files`, `zip -m`, `7z -sdel`: archives, then deletes the originals.
fn archive_and_remove(a: &mut Analyzer, name: &str, args: &[Arg], ctx: &Ctx) {
    let (removes, files): (bool, Vec<&Arg>) = match name {
        "zip" => {
            let opts = Opts::parse(args, "bnOPtx", &[], false);
            (
                opts.has(&["m", "move"]),
                opts.operands.iter().skip(1).copied().collect(),
            )
        }
        "7z" => (
            args.iter().any(|arg| arg.is("-sdel")),
            args.iter()
                .skip(2)
                .filter(|arg| !arg.text.starts_with('-'))
                .collect(),
        ),
        _ => {
            let opts = Opts::parse(args, "fCbHKLNTVX", &["file", "directory", "exclude"], false);
            let files = opts
                .operands
                .iter()
                .copied()
                .filter(|arg| !arg.text.contains('='))
                .skip(usize::from(
                    !args.first().is_some_and(|a| a.text.starts_with('-')),
                ))
                .collect();
            (opts.has(&["remove-files"]), files)
        }
    };
    if removes {
        for file in files {
            delete(a, file, true, false, ctx);
        }
    }
}

/// `mv SRC… DEST`: moving a system tree or home away breaks it; moving onto a file replaces it.
fn mv(a: &mut Analyzer, args: &[Arg], ctx: &Ctx) {
    let opts = Opts::parse(args, "tS", &["target-directory", "suffix"], false);
    let (dest, sources): (Option<&Arg>, Vec<&Arg>) = match opts.value(&["t", "target-directory"]) {
        Some(_) => (None, opts.operands.clone()),
        None => match opts.operands.split_last() {
            Some((dest, sources)) => (Some(*dest), sources.to_vec()),
            None => return,
        },
    };
    for source in &sources {
        let place = target::classify(source, &a.cwd);
        if matches!(
            place,
            Place::Root | Place::SystemTree | Place::CriticalFile | Place::Home
        ) {
            let what = describe(place, source);
            a.flag(
                Risk::Critical,
                Harm::Delete,
                format!("moves {what} away; the system or your account breaks"),
            );
        }
    }
    let Some(dest) = dest else {
        return;
    };
    match target::classify(dest, &a.cwd) {
        Place::NullDevice => {
            for source in &sources {
                delete(a, source, true, false, ctx);
            }
        }
        Place::CriticalFile | Place::Disk => write(a, dest, &Stream::default(), false, ctx),
        Place::Rc | Place::History | Place::AuthorizedKeys => a.flag(
            Risk::Moderate,
            Harm::Config,
            format!("replaces {}", dest.text),
        ),
        _ => {}
    }
}

/// `cp SRC DEST`, `install SRC DEST`: DEST gets SRC's content.
fn copy(a: &mut Analyzer, name: &str, args: &[Arg], ctx: &Ctx) {
    let value_options = if name == "install" { "mogSt" } else { "tS" };
    let opts = Opts::parse(
        args,
        value_options,
        &["target-directory", "mode", "owner", "group"],
        false,
    );
    if name == "install" && opts.has(&["d", "directory"]) {
        return;
    }
    if opts.value(&["t", "target-directory"]).is_some() {
        return;
    }
    let Some((dest, sources)) = opts.operands.split_last() else {
        return;
    };
    let Some(source) = sources.first() else {
        return;
    };
    if target::is_shell_binary(&source.text) {
        a.record_file(dest, FileFact::ShellCopy);
        return;
    }
    if matches!(
        target::classify(source, &a.cwd),
        Place::Secret | Place::KeyDir
    ) {
        a.record_file(dest, FileFact::Secret);
        return;
    }
    let content = if source.is("/dev/null") || source.is("/dev/zero") && name == "install" {
        Stream::text("")
    } else {
        a.read_file(source)
    };
    write(a, dest, &content, false, ctx);
}

/// `ln -sf TARGET LINK` replaces LINK.
fn link(a: &mut Analyzer, args: &[Arg], ctx: &Ctx) {
    let opts = Opts::parse(args, "tS", &["target-directory", "suffix"], false);
    if !opts.has(&["f", "force"]) {
        return;
    }
    if let [source, dest] = opts.operands.as_slice() {
        let content = if source.is("/dev/null") {
            Stream::text("")
        } else {
            Stream::default()
        };
        write(a, dest, &content, false, ctx);
    }
}

fn truncate(a: &mut Analyzer, args: &[Arg], ctx: &Ctx) {
    let opts = Opts::parse(args, "sr", &["size", "reference"], false);
    let emptied = opts
        .value(&["s", "size"])
        .is_some_and(|size| size.trim_start_matches(['<', '/', '%']).starts_with('0'));
    if emptied {
        for file in &opts.operands {
            write(a, file, &Stream::text(""), false, ctx);
        }
    }
}

/// `dd if=… of=…`.
fn dd(a: &mut Analyzer, args: &[Arg], ctx: &Ctx) -> Stream {
    let operand = |key: &str| {
        args.iter().find_map(|arg| {
            let value = arg.text.strip_prefix(key)?.strip_prefix('=')?;
            Some(Arg {
                text: value.to_string(),
                ..arg.clone()
            })
        })
    };
    let input = match operand("if") {
        Some(file) => a.read_file(&file),
        None => ctx.stdin.clone(),
    };
    match operand("of") {
        Some(file) => {
            write(a, &file, &input, false, ctx);
            Stream::default()
        }
        None => Stream::flow(input.flow),
    }
}

fn tee(a: &mut Analyzer, args: &[Arg], ctx: &Ctx) {
    let opts = Opts::parse(args, "", &[], false);
    let append = opts.has(&["a", "append"]);
    for file in &opts.operands {
        write(a, file, &ctx.stdin, append, ctx);
    }
}

fn sed(a: &mut Analyzer, args: &[Arg], ctx: &Ctx) {
    let opts = Opts::parse(args, "ef", &["expression", "file"], false);
    if !opts.has(&["i", "in-place"]) {
        return;
    }
    let scripts = opts.values(&["e", "expression"]);
    let (script, files) = if scripts.is_empty() && !opts.has(&["f", "file"]) {
        match opts.operands.split_first() {
            Some((script, files)) => (Some(script.text.clone()), files.to_vec()),
            None => return,
        }
    } else {
        (Some(scripts.join("\n")), opts.operands.clone())
    };
    for file in files {
        edit_in_place(a, file, script.as_deref(), ctx);
    }
}

/// Whether a sed script deletes every line.
fn empties(script: &str) -> bool {
    let script = script.trim();
    matches!(script, "d" | "1,$d" | ",$d" | "1,$ d" | "%d")
}

/// An in-place edit (`sed -i`, `perl -pi`) of `file`.
pub(in super::super) fn edit_in_place(
    a: &mut Analyzer,
    file: &Arg,
    script: Option<&str>,
    _ctx: &Ctx,
) {
    let place = target::classify(file, &a.cwd);
    let empties = script.is_some_and(empties);
    let name = &file.text;
    let (risk, reason) = match place {
        Place::CriticalFile => (
            Risk::Critical,
            format!("edits {name}, which logins and sudo depend on"),
        ),
        Place::SystemConfig | Place::SystemTree if name.starts_with("/etc") => (
            Risk::High,
            format!("edits the system configuration {name} in place"),
        ),
        Place::Logs => (Risk::High, format!("tampers with the system log {name}")),
        Place::Rc | Place::AuthorizedKeys if empties => (Risk::High, format!("empties {name}")),
        Place::History if empties => (Risk::High, "wipes your shell history".into()),
        Place::History => (
            Risk::Moderate,
            "removes lines from the shell history".into(),
        ),
        Place::Rc => (
            Risk::Moderate,
            format!("edits your shell startup file {name}"),
        ),
        Place::AuthorizedKeys => (Risk::Moderate, "edits the keys allowed to log in".into()),
        _ => (Risk::Safe, String::new()),
    };
    a.flag(risk, Harm::Config, reason);
}

/// Writing `content` to `file` (a redirection, `tee`, `cp`, `dd of=`).
pub(in super::super) fn write(
    a: &mut Analyzer,
    file: &Arg,
    content: &Stream,
    append: bool,
    ctx: &Ctx,
) {
    remember(a, file, content, append);
    let place = target::classify(file, &a.cwd);
    let name = file.text.as_str();
    let verb = if append { "appends to" } else { "overwrites" };
    let emptied = !append && content.text.as_deref().is_some_and(|t| t.trim().is_empty());
    match place {
        Place::Disk => a.flag(
            Risk::Critical,
            Harm::Disk,
            format!("writes straight over the disk {name}, destroying what is on it"),
        ),
        Place::CriticalFile => a.flag(
            Risk::Critical,
            Harm::Auth,
            format!("{verb} {name}, which logins, sudo or every program depend on"),
        ),
        Place::Cron => persist(
            a,
            content,
            &format!("adds a scheduled job ({name})"),
            true,
            ctx,
        ),
        Place::Rc => {
            if !append {
                a.flag(
                    Risk::High,
                    Harm::Config,
                    format!("replaces your shell startup file {name}"),
                );
            }
            persist(
                a,
                content,
                &format!("adds a line to {name}, run at every shell start,"),
                false,
                ctx,
            );
        }
        Place::History if !append => a.flag(Risk::High, Harm::History, "wipes your shell history"),
        Place::AuthorizedKeys if emptied => a.flag(
            Risk::High,
            Harm::Auth,
            "empties the list of keys allowed to log in",
        ),
        Place::AuthorizedKeys if !append => a.flag(
            Risk::Moderate,
            Harm::Auth,
            "replaces the keys allowed to log in",
        ),
        Place::Secret | Place::KeyDir if !append => a.flag(
            Risk::High,
            Harm::Delete,
            format!("overwrites the private key {name}"),
        ),
        Place::Logs if !append => a.flag(
            Risk::High,
            Harm::Logs,
            format!("destroys system logs ({name})"),
        ),
        Place::SystemConfig | Place::SystemTree if name.starts_with("/etc") => a.flag(
            Risk::High,
            Harm::Config,
            format!("{verb} the system configuration {name}"),
        ),
        Place::SystemFile if name == "/proc/sysrq-trigger" => a.flag(
            Risk::High,
            Harm::Service,
            "triggers a kernel action at once (crash, reboot or power-off)",
        ),
        Place::Socket if content.flow.secret => super::net::leak(a, name),
        _ if is_autostart(name) => persist(
            a,
            content,
            &format!("adds a program that starts at login ({name})"),
            false,
            ctx,
        ),
        _ => {}
    }
}

/// Keeps what the line wrote, so running or reading the file later is understood.
fn remember(a: &mut Analyzer, file: &Arg, content: &Stream, append: bool) {
    if content.flow.network {
        a.record_file(file, FileFact::Downloaded);
        return;
    }
    if let Some(text) = &content.text {
        let text = match (append, a.file_fact(file)) {
            (true, Some(FileFact::Content(before))) => format!("{before}{text}"),
            _ => text.clone(),
        };
        a.record_file(file, FileFact::Content(text));
    }
}

fn is_autostart(path: &str) -> bool {
    path.contains("/autostart/")
        || path.contains("/systemd/user/")
        || path.contains("/LaunchAgents/")
        || path.contains("/LaunchDaemons/")
}

/// Text that will run later: each command line in it is analysed as a booby trap.
fn persist(a: &mut Analyzer, content: &Stream, what: &str, cron: bool, ctx: &Ctx) {
    if content.flow.network {
        a.flag(
            Risk::Critical,
            Harm::RemoteCode,
            format!("{what} with code downloaded from the network"),
        );
        return;
    }
    let Some(text) = &content.text else {
        return;
    };
    for line in text.lines() {
        if !cron {
            if let Some(command) = service_command(line) {
                a.persisted(command, what, ctx);
            }
            continue;
        }
        if let Some(command) = cron_command(line) {
            a.persisted(command, what, ctx);
            if let Some((_user, after)) = command.split_once(char::is_whitespace) {
                a.persisted(after, what, ctx);
            }
        }
    }
}

/// The command of a crontab line: what follows the five time fields. System crontabs put a
/// user name first, so the caller also tries the line without its first word.
fn cron_command(line: &str) -> Option<&str> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') || line.contains('=') && !line.contains(' ') {
        return None;
    }
    let fields = if line.starts_with('@') { 1 } else { 5 };
    let mut rest = line;
    for _ in 0..fields {
        rest = rest.trim_start().split_once(char::is_whitespace)?.1;
    }
    Some(rest.trim_start())
}

/// The command of a startup line: `Exec=` in desktop files, `ExecStart=` in units, else the
/// line itself.
fn service_command(line: &str) -> Option<&str> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    for key in ["Exec=", "ExecStart=", "ExecStartPre="] {
        if let Some(command) = line.strip_prefix(key) {
            return Some(command);
        }
    }
    if line.starts_with('[') || line.contains('=') && !line.contains(' ') {
        return None;
    }
    Some(line)
}

/// What a chmod mode does.
#[derive(Default)]
struct Mode {
    /// Grants read or write to group or others.
    exposes: bool,
    /// Grants write to others.
    world_writable: bool,
    setuid: bool,
    /// Takes execute permission away from the owner.
    removes_exec: bool,
}

fn parse_mode(mode: &str) -> Mode {
    if mode.chars().all(|c| c.is_ascii_digit()) && !mode.is_empty() {
        let digits: Vec<u32> = mode.chars().filter_map(|c| c.to_digit(8)).collect();
        let n = digits.len();
        let at = |i: usize| if n > i { digits[n - 1 - i] } else { 0 };
        let (other, group, user, special) = (at(0), at(1), at(2), at(3));
        return Mode {
            exposes: other & 6 != 0 || group & 6 != 0,
            world_writable: other & 2 != 0,
            setuid: special & 6 != 0,
            removes_exec: user & 1 == 0,
        };
    }
    let mut result = Mode::default();
    for clause in mode.split(',') {
        let op_at = clause.find(['+', '-', '=']).unwrap_or(clause.len());
        let (who, rest) = clause.split_at(op_at);
        let who = if who.is_empty() { "a" } else { who };
        let Some(op) = rest.chars().next() else {
            continue;
        };
        let perms = &rest[1..];
        let others = who.contains(['o', 'g', 'a']);
        let grants = op == '+' || op == '=';
        if grants && others && perms.contains(['r', 'w']) {
            result.exposes = true;
        }
        if grants && who.contains(['o', 'a']) && perms.contains('w') {
            result.world_writable = true;
        }
        if grants && perms.contains('s') {
            result.setuid = true;
        }
        let owner = who.contains(['u', 'a']);
        if owner && (op == '-' && perms.contains('x') || op == '=' && !perms.contains(['x', 'X'])) {
            result.removes_exec = true;
        }
    }
    result
}

fn chmod(a: &mut Analyzer, args: &[Arg]) {
    let mut recursive = false;
    let mut words = Vec::new();
    for arg in args {
        match arg.text.as_str() {
            "-R" | "--recursive" => recursive = true,
            "-f" | "-v" | "-c" | "--silent" | "--quiet" | "--verbose" | "--changes"
            | "--preserve-root" | "--no-preserve-root" | "--" => {}
            text if text.starts_with("--reference") => {}
            _ => words.push(arg),
        }
    }
    let Some((mode, files)) = words.split_first() else {
        return;
    };
    let mode = parse_mode(&mode.text);
    for file in files {
        permissions(a, file, recursive, &mode);
    }
}

fn permissions(a: &mut Analyzer, file: &Arg, recursive: bool, mode: &Mode) {
    let place = target::classify(file, &a.cwd);
    let recursive = recursive || file.each == Some(false);
    let name = describe(place, file);
    let in_bin = file.text.contains("/bin/") || file.text.contains("/sbin/");
    let shell_copy = matches!(a.file_fact(file), Some(FileFact::ShellCopy))
        || target::is_shell_binary(&file.text);
    let (risk, reason) = match place {
        Place::Root | Place::SystemTree if recursive => (
            Risk::Critical,
            format!("changes the permissions of every file under {name}"),
        ),
        _ if mode.setuid && shell_copy => (
            Risk::Critical,
            format!("makes {name} a setuid shell: anyone can become root"),
        ),
        Place::CriticalFile if mode.exposes || mode.world_writable => (
            Risk::Critical,
            format!("lets other users read or change {name}"),
        ),
        Place::Secret | Place::KeyDir if mode.exposes => (
            Risk::High,
            format!("exposes your private keys ({name}) to other users"),
        ),
        Place::Home if recursive && mode.exposes => (
            Risk::High,
            "exposes everything in your home directory, keys included, to other users".into(),
        ),
        Place::SystemFile | Place::SystemTree if in_bin && mode.removes_exec => {
            (Risk::High, format!("makes {name} impossible to run"))
        }
        Place::SystemFile | Place::SystemTree | Place::SystemConfig if mode.world_writable => {
            (Risk::High, format!("lets any user change {name}"))
        }
        _ if mode.setuid => (Risk::Moderate, format!("makes {name} setuid")),
        _ => (Risk::Safe, String::new()),
    };
    a.flag(risk, Harm::Permissions, reason);
}

fn chown(a: &mut Analyzer, args: &[Arg]) {
    let opts = Opts::parse(args, "", &["reference", "from"], false);
    let recursive = opts.has(&["R", "recursive"]);
    for file in opts.operands.iter().skip(1) {
        let place = target::classify(file, &a.cwd);
        let recursive = recursive || file.each == Some(false);
        let name = describe(place, file);
        match place {
            Place::Root | Place::SystemTree if recursive => a.flag(
                Risk::Critical,
                Harm::Permissions,
                format!("changes the owner of every file under {name}"),
            ),
            Place::CriticalFile => a.flag(
                Risk::Critical,
                Harm::Permissions,
                format!("changes the owner of {name}"),
            ),
            _ => {}
        }
    }
}

fn setfacl(a: &mut Analyzer, args: &[Arg]) {
    let opts = Opts::parse(
        args,
        "mMxX",
        &["modify", "set", "modify-file", "remove"],
        false,
    );
    let recursive = opts.has(&["R", "recursive"]);
    let specs = opts.values(&["m", "modify", "set"]);
    let exposes = specs.iter().any(|spec| {
        spec.split(',').any(|entry| {
            let mut parts = entry.split(':');
            let kind = parts.next().unwrap_or_default();
            let qualifier = parts.next().unwrap_or_default();
            let perms = parts.next().unwrap_or_default();
            let other_party =
                kind.starts_with('o') || kind.starts_with('g') || !qualifier.is_empty();
            other_party && perms.contains(['r', 'w'])
        })
    });
    let mode = Mode {
        exposes,
        world_writable: false,
        setuid: false,
        removes_exec: false,
    };
    for file in &opts.operands {
        permissions(a, file, recursive, &mode);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert!(parse_mode("777").world_writable);
        assert!(parse_mode("644").exposes);
        assert!(!parse_mode("600").exposes);
        assert!(!parse_mode("go-rwx").exposes);
        assert!(parse_mode("o+w").world_writable);
        assert!(parse_mode("+s").setuid);
        assert!(parse_mode("4755").setuid);
        assert!(parse_mode("a-x").removes_exec);
        assert!(!parse_mode("u+rwX,go-w").exposes);
    }

    #[test]
    fn cron_lines() {
        assert_eq!(cron_command("* * * * * curl x | sh"), Some("curl x | sh"));
        assert_eq!(cron_command("@reboot /opt/run.sh"), Some("/opt/run.sh"));
        assert_eq!(cron_command("# comment"), None);
    }
}
