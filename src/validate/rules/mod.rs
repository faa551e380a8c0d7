//! The rules: what each tool does with its arguments, and how risky that is.
//!
//! `exec` handles commands that run other commands (wrappers, shells, interpreters) and the
//! builtins that change the shell; the other families rate tools by what they do: `files`
//! (delete, overwrite, permissions), `net` (fetch, run, leak, reverse shells), `system` (disks,
//! accounts, processes, services, packages, history) and `dev` (git, containers, clusters,
//! databases).

mod dev;
mod exec;
mod files;
mod net;
mod system;

use super::analyze::{Analyzer, Ctx};
use super::args::{Arg, Stream};
use super::target::{self, Place};

pub(super) use exec::variable_set;
pub(super) use files::write;

/// Rates one simple command (after wrappers, functions and scripts are resolved) and returns its
/// output.
pub(super) fn run(a: &mut Analyzer, name: &str, args: &[Arg], ctx: &Ctx) -> Stream {
    if let Some(out) = exec::run(a, name, args, ctx) {
        return out;
    }
    let mut out = default_output(a, name, args, ctx);
    if args
        .iter()
        .any(|arg| arg.is("--help") || arg.is("--version"))
    {
        return out;
    }
    files::run(a, name, args, ctx, &mut out);
    net::run(a, name, args, ctx, &mut out);
    system::run(a, name, args, ctx);
    dev::run(a, name, args, ctx);
    out
}

/// Commands that read files without passing their content on.
const NO_CONTENT: &[&str] = &[
    "ls",
    "stat",
    "file",
    "wc",
    "du",
    "md5sum",
    "sha1sum",
    "sha256sum",
    "sha512sum",
    "b2sum",
    "cksum",
    "chmod",
    "chown",
    "chgrp",
    "setfacl",
    "getfacl",
    "ssh",
    "ssh-add",
    "ssh-keygen",
    "ssh-copy-id",
    "rm",
    "shred",
    "touch",
    "test",
    "[",
    "find",
    "cp",
    "mv",
    "install",
];

/// By default a command passes on what it reads: its input, and the content of the files it is
/// given (so `tar czf - ~/.ssh` carries secrets).
fn default_output(a: &Analyzer, name: &str, args: &[Arg], ctx: &Ctx) -> Stream {
    let mut out = Stream::flow(ctx.stdin.flow);
    for arg in args {
        out.flow = out.flow.union(arg.flow);
        if !NO_CONTENT.contains(&name) {
            let place = target::classify(arg, &a.cwd);
            if matches!(place, Place::Secret | Place::KeyDir) {
                out.flow.secret = true;
            }
        }
    }
    out
}

/// Describes a place for a reason: "/usr", "your home directory".
fn describe(place: Place, arg: &Arg) -> String {
    match place {
        Place::Home if arg.text.ends_with('*') => "everything in your home directory".into(),
        Place::Home => "your home directory".into(),
        Place::Root if arg.text.ends_with('*') => "everything on the system".into(),
        Place::Root => "the whole file system".into(),
        Place::Cwd if arg.text.contains("..") => "the parent directory".into(),
        Place::Cwd => "everything in the current directory".into(),
        Place::MaybeEmpty => format!("{} (a variable that may be empty)", arg.text),
        _ => arg.text.clone(),
    }
}
