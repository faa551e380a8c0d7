//! Developer tools that destroy work or data: git, containers, clusters, infrastructure,
//! databases.

use super::super::analyze::{Analyzer, Ctx, Harm};
use super::super::args::{Arg, Opts};
use super::super::Risk;

pub(super) fn run(a: &mut Analyzer, name: &str, args: &[Arg], ctx: &Ctx) {
    match name {
        "git" => git(a, args),
        "docker" | "podman" | "nerdctl" => containers(a, args),
        "docker-compose" | "podman-compose" => compose(a, args),
        "kubectl" | "oc" => kubectl(a, args),
        "helm"
            if args.first().is_some_and(|arg| {
                matches!(arg.text.as_str(), "uninstall" | "delete" | "del" | "un")
            }) =>
        {
            a.flag(Risk::Moderate, Harm::Data, "uninstalls a Helm release")
        }
        "terraform" | "tofu" | "pulumi" => {
            let destroys = args.first().is_some_and(|arg| arg.is("destroy"))
                || args.first().is_some_and(|arg| arg.is("apply"))
                    && args.iter().any(|arg| arg.is("-destroy"));
            if destroys {
                a.flag(
                    Risk::High,
                    Harm::Data,
                    "destroys every resource the configuration manages",
                );
            }
        }
        "aws" => aws(a, args),
        "dropdb" => a.flag(Risk::High, Harm::Data, "drops a whole database"),
        "mysqladmin" if args.iter().any(|arg| arg.is("drop")) => {
            a.flag(Risk::High, Harm::Data, "drops a whole database")
        }
        "psql" | "mysql" | "mariadb" | "sqlite3" | "mongo" | "mongosh" | "redis-cli"
        | "clickhouse-client" | "cqlsh" => database(a, name, args, ctx),
        _ => {}
    }
}

fn is_protected(branch: &str) -> bool {
    let branch = branch
        .trim_start_matches('+')
        .trim_start_matches("refs/heads/");
    matches!(branch, "main" | "master")
}

fn git(a: &mut Analyzer, args: &[Arg]) {
    let mut rest = args;
    while let Some(first) = rest.first() {
        match first.text.as_str() {
            "-C" | "-c" | "--git-dir" | "--work-tree" | "--namespace" => {
                rest = rest.get(2..).unwrap_or_default()
            }
            text if text.starts_with('-') => rest = &rest[1..],
            _ => break,
        }
    }
    let Some((command, args)) = rest.split_first() else {
        return;
    };
    let has = |names: &[&str]| args.iter().any(|arg| names.contains(&arg.text.as_str()));
    let discard = "discards uncommitted changes";
    match command.text.as_str() {
        "push" => push(a, args),
        "reset" if has(&["--hard"]) => a.flag(Risk::Moderate, Harm::Vcs, discard),
        "checkout" if has(&["-f", "--force", "."]) || has(&["--"]) => {
            a.flag(Risk::Moderate, Harm::Vcs, discard)
        }
        "restore" if !has(&["--staged", "-S"]) || has(&["--worktree", "-W"]) => {
            a.flag(Risk::Moderate, Harm::Vcs, discard)
        }
        "switch" if has(&["--discard-changes", "-f", "--force"]) => {
            a.flag(Risk::Moderate, Harm::Vcs, discard)
        }
        "read-tree" if has(&["--reset"]) => a.flag(Risk::Moderate, Harm::Vcs, discard),
        "stash" if has(&["drop", "clear"]) => {
            a.flag(Risk::Moderate, Harm::Vcs, "deletes stashed changes")
        }
        "clean" => {
            let opts = Opts::parse(args, "e", &["exclude"], false);
            if !opts.has(&["n", "dry-run"]) && opts.has(&["f", "force"]) {
                a.flag(Risk::Moderate, Harm::Vcs, "deletes untracked files");
            }
        }
        "rm" if !has(&["--cached"]) => a.flag(
            Risk::Moderate,
            Harm::Vcs,
            "deletes files from the working tree",
        ),
        "branch" => {
            let opts = Opts::parse(args, "", &[], false);
            let deletes = opts.has(&["d", "delete"]);
            if opts.has(&["D"]) || deletes && opts.has(&["f", "force"]) {
                a.flag(
                    Risk::Moderate,
                    Harm::Vcs,
                    "force-deletes a branch, unmerged work included",
                );
            }
        }
        "reflog" if has(&["expire", "delete"]) => a.flag(
            Risk::Moderate,
            Harm::Vcs,
            "expires the reflog: lost commits become unrecoverable",
        ),
        "gc" if args.iter().any(|arg| arg.text.starts_with("--prune")) => a.flag(
            Risk::Moderate,
            Harm::Vcs,
            "prunes unreachable commits for good",
        ),
        "filter-branch" | "filter-repo" => a.flag(
            Risk::Moderate,
            Harm::Vcs,
            "rewrites the repository's history",
        ),
        "update-ref" if has(&["-d"]) => a.flag(Risk::Moderate, Harm::Vcs, "deletes a ref"),
        _ => {}
    }
}

/// `git push`: force, delete and mirror rewrite the remote's history.
fn push(a: &mut Analyzer, args: &[Arg]) {
    let opts = Opts::parse(
        args,
        "o",
        &["push-option", "repo", "receive-pack", "exec"],
        false,
    );
    let refspecs: Vec<&str> = opts
        .operands
        .iter()
        .skip(1)
        .map(|arg| arg.text.as_str())
        .collect();
    if opts.has(&["mirror"]) {
        a.flag(
            Risk::High,
            Harm::Vcs,
            "mirrors onto the remote, overwriting and deleting its branches",
        );
        return;
    }
    let force = opts.has(&["f", "force", "force-with-lease", "force-if-includes"])
        || opts
            .flags
            .iter()
            .any(|(name, _)| name.starts_with("force-with-lease"));
    let delete = opts.has(&["d", "delete"]);
    if opts.has(&["prune"]) {
        a.flag(
            Risk::Moderate,
            Harm::Vcs,
            "deletes remote branches that do not exist locally",
        );
    }
    for refspec in &refspecs {
        let (source, dest) = refspec.split_once(':').unwrap_or(("", refspec));
        let dest = if refspec.contains(':') { dest } else { refspec };
        let deleted = delete || refspec.contains(':') && source.is_empty();
        let forced = force || refspec.starts_with('+');
        let protected = is_protected(dest);
        match (deleted, forced, protected) {
            (true, _, true) => a.flag(
                Risk::High,
                Harm::Vcs,
                format!(
                    "deletes the {} branch on the remote",
                    dest.trim_start_matches("refs/heads/")
                ),
            ),
            (true, _, false) => a.flag(
                Risk::Moderate,
                Harm::Vcs,
                format!("deletes the remote branch {dest}"),
            ),
            (false, true, true) => a.flag(
                Risk::High,
                Harm::Vcs,
                format!(
                    "force-pushes to {}, overwriting the remote's history",
                    dest.trim_start_matches('+')
                ),
            ),
            (false, true, false) => a.flag(
                Risk::Moderate,
                Harm::Vcs,
                format!("force-pushes {dest}, overwriting the remote's history"),
            ),
            _ => {}
        }
    }
    if force && refspecs.is_empty() {
        a.flag(
            Risk::Moderate,
            Harm::Vcs,
            "force-pushes the current branch, overwriting the remote's history",
        );
    }
}

fn containers(a: &mut Analyzer, args: &[Arg]) {
    let words: Vec<&str> = args
        .iter()
        .map(|arg| arg.text.as_str())
        .filter(|w| !w.starts_with('-'))
        .collect();
    let force = args.iter().any(|arg| arg.is("-f") || arg.is("--force"));
    let removes_running = matches!(words.as_slice(), ["rm", ..] | ["container", "rm", ..]) && force;
    let volumes = matches!(words.as_slice(), ["volume", "rm" | "prune", ..]);
    let prune = matches!(words.as_slice(), ["system", "prune", ..]);
    if removes_running {
        a.flag(
            Risk::Moderate,
            Harm::Data,
            "force-removes containers, running ones included",
        );
    }
    if volumes || prune {
        a.flag(
            Risk::Moderate,
            Harm::Data,
            "deletes container data (volumes, images or containers)",
        );
    }
    if words.first() == Some(&"compose") {
        compose(a, &args[1..]);
    }
}

fn compose(a: &mut Analyzer, args: &[Arg]) {
    let down = args.iter().any(|arg| arg.is("down"));
    if down && args.iter().any(|arg| arg.is("-v") || arg.is("--volumes")) {
        a.flag(
            Risk::Moderate,
            Harm::Data,
            "deletes the services' volumes and their data",
        );
    }
}

fn kubectl(a: &mut Analyzer, args: &[Arg]) {
    if !args.iter().any(|arg| arg.is("delete")) {
        return;
    }
    let everything = args
        .iter()
        .any(|arg| matches!(arg.text.as_str(), "--all" | "-A" | "--all-namespaces"));
    let whole = args.iter().any(|arg| {
        matches!(
            arg.text.as_str(),
            "namespace" | "namespaces" | "ns" | "node" | "nodes" | "pv" | "crd" | "crds"
        )
    });
    if everything || whole {
        a.flag(Risk::High, Harm::Data, "deletes cluster objects in bulk");
    } else {
        a.flag(Risk::Moderate, Harm::Data, "deletes cluster objects");
    }
}

fn aws(a: &mut Analyzer, args: &[Arg]) {
    let words: Vec<&str> = args.iter().map(|arg| arg.text.as_str()).collect();
    let dry = words.contains(&"--dryrun") || words.contains(&"--dry-run");
    if dry {
        return;
    }
    match words.as_slice() {
        ["s3", "rb", ..] if words.contains(&"--force") => a.flag(
            Risk::High,
            Harm::Data,
            "deletes a bucket and everything in it",
        ),
        ["s3", "rm", ..] if words.contains(&"--recursive") => a.flag(
            Risk::Moderate,
            Harm::Data,
            "deletes every object under a prefix",
        ),
        _ => {}
    }
}

/// SQL, Mongo or Redis statements passed to a database client.
fn database(a: &mut Analyzer, name: &str, args: &[Arg], ctx: &Ctx) {
    let opts = Opts::parse(
        args,
        "cdehHpUuPDn",
        &[
            "command", "execute", "eval", "host", "port", "user", "dbname",
        ],
        false,
    );
    let mut statements: Vec<String> = opts
        .values(&["c", "command", "e", "execute", "eval"])
        .iter()
        .map(|s| s.to_string())
        .collect();
    match name {
        "sqlite3" => statements.extend(opts.operands.iter().skip(1).map(|arg| arg.text.clone())),
        "redis-cli" => statements.push(
            opts.operands
                .iter()
                .map(|arg| arg.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => {}
    }
    if let Some(text) = &ctx.stdin.text {
        statements.push(text.clone());
    }
    for statement in statements {
        rate_statement(a, &statement);
    }
}

fn rate_statement(a: &mut Analyzer, statement: &str) {
    let code = strip_literals(statement).to_ascii_uppercase();
    let code = code.split_whitespace().collect::<Vec<_>>().join(" ");
    if code.contains("DROP DATABASE")
        || code.contains("DROP SCHEMA")
        || code.contains("DROPDATABASE(")
        || code.contains("FLUSHALL")
        || code.contains("FLUSHDB")
    {
        a.flag(Risk::High, Harm::Data, "drops a whole database");
    } else if code.contains("DROP TABLE")
        || code.contains("TRUNCATE")
        || code.contains(".DROP(")
        || code.contains("DELETEMANY({})")
    {
        a.flag(Risk::Moderate, Harm::Data, "drops or empties a table");
    } else {
        for clause in code.split(';') {
            let unbounded = (clause.contains("DELETE FROM")
                || clause.trim_start().starts_with("UPDATE "))
                && !clause.contains(" WHERE ");
            if unbounded {
                a.flag(
                    Risk::Moderate,
                    Harm::Data,
                    "changes or deletes every row of a table",
                );
            }
        }
    }
}

/// The statement without its string literals, which are data.
fn strip_literals(statement: &str) -> String {
    let mut out = String::with_capacity(statement.len());
    let mut quote: Option<char> = None;
    for c in statement.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None => out.push(c),
        }
    }
    out
}
