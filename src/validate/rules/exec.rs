//! Commands that run other commands, builtins that change the shell, and text producers.

use super::super::analyze::{Analyzer, Ctx, Harm};
use super::super::args::{Arg, Flow, Opts, Stream};
use super::super::code::{self, Lang};
use super::super::target::{self, Cwd};
use super::super::{Risk, Shell};
use super::files;

/// Handles the command if it is a wrapper, a shell, an interpreter, a shell builtin or a text
/// producer; `None` leaves it to the tool rules.
pub(super) fn run(a: &mut Analyzer, name: &str, args: &[Arg], ctx: &Ctx) -> Option<Stream> {
    if let Some(out) = wrapper(a, name, args, ctx) {
        return Some(out);
    }
    if let Some(dialect) = shell_dialect(name) {
        return Some(shell(a, dialect, args, ctx));
    }
    if let Some(lang) = interpreter(name) {
        return Some(interpret(a, lang, name, args, ctx));
    }
    let out = match name {
        "eval" => {
            let text = join(args);
            if args.iter().any(|arg| arg.flow.network) {
                a.flag_remote_code(ctx, "evaluates code fetched from the network");
            }
            if args.iter().any(|arg| arg.flow.hidden) {
                hidden_code(a);
            }
            a.script(&text, a.shell, ctx)
        }
        "source" | "." => source(a, args, ctx),
        "cd" | "pushd" => {
            change_directory(a, args);
            Stream::default()
        }
        "popd" => {
            a.cwd = Cwd::Unknown;
            Stream::default()
        }
        "export" | "declare" | "typeset" | "local" | "readonly" => {
            for arg in args.iter().filter(|arg| !arg.text.starts_with('-')) {
                if let Some((name, value)) = split_assignment(arg) {
                    a.set_variable(&name, value, ctx);
                }
            }
            Stream::default()
        }
        "unset" => {
            for arg in args {
                if arg.is("HISTFILE") {
                    a.flag(
                        Risk::Moderate,
                        Harm::History,
                        "turns history off for this session",
                    );
                }
                a.vars.remove(&arg.text);
            }
            Stream::default()
        }
        "alias" => {
            alias(a, args, ctx);
            Stream::default()
        }
        "trap" => {
            let opts = Opts::parse(args, "", &[], true);
            if let Some(action) = opts.operands.first().filter(|_| !opts.has(&["p", "l"])) {
                a.script(&action.text, a.shell, ctx);
            }
            Stream::default()
        }
        "set" | "setopt" | "unsetopt" => {
            set_options(a, name, args);
            Stream::default()
        }
        "history" => {
            history(a, args);
            Stream::default()
        }
        "echo" => echo(args),
        "printf" => printf(args),
        "cat" | "tac" => cat(a, args, ctx),
        "base64" | "base32" | "xxd" | "openssl"
            if args
                .iter()
                .any(|arg| matches!(arg.text.as_str(), "-d" | "--decode" | "-D" | "-r")) =>
        {
            decode(name, ctx)
        }
        "awk" | "gawk" | "mawk" | "nawk" => {
            awk(a, args, ctx);
            Stream::flow(ctx.stdin.flow)
        }
        "yes" => Stream {
            answer: Some(args.first().map_or("y".into(), |arg| arg.text.clone())),
            ..Stream::default()
        },
        "mktemp" => {
            let opts = Opts::parse(args, "pt", &["tmpdir"], false);
            let dir = opts.value(&["p", "tmpdir"]).unwrap_or("/tmp");
            Stream::text(format!("{dir}/tmp.cmdai"))
        }
        "which" | "type" | "whereis" => match args.iter().find(|arg| !arg.text.starts_with('-')) {
            Some(program) => Stream::text(format!("/usr/bin/{}", program.text)),
            None => Stream::default(),
        },
        "pwd" => Stream::text(match &a.cwd {
            Cwd::At(dir) => dir.clone(),
            _ => ".".into(),
        }),
        _ => return None,
    };
    Some(out)
}

/// Wrappers run their operand command, sometimes as root, sometimes once per input line.
fn wrapper(a: &mut Analyzer, name: &str, args: &[Arg], ctx: &Ctx) -> Option<Stream> {
    let mut inner = ctx.clone();
    let rest: Vec<Arg> = match name {
        "sudo" => {
            let opts = Opts::parse(
                args,
                "ugpCDhrtTU",
                &[
                    "user",
                    "group",
                    "prompt",
                    "chdir",
                    "host",
                    "role",
                    "type",
                    "other-user",
                ],
                true,
            );
            inner.root = opts
                .value(&["u", "user"])
                .is_none_or(|user| matches!(user, "root" | "0" | "#0"));
            if opts.has(&["e", "edit"]) {
                return Some(Stream::default());
            }
            owned(&opts.operands)
        }
        "doas" | "pkexec" | "run0" => {
            let opts = Opts::parse(args, "uC", &["user"], true);
            inner.root = opts.value(&["u", "user"]).is_none_or(|u| u == "root");
            owned(&opts.operands)
        }
        "su" | "runuser" => {
            let opts = Opts::parse(args, "csgGu", &["command", "shell", "group", "user"], false);
            let user = opts.value(&["u", "user"]).or_else(|| {
                opts.operands
                    .iter()
                    .find(|o| !o.is("-"))
                    .map(|o| o.text.as_str())
            });
            inner.root = user.is_none_or(|u| u == "root");
            if let Some(command) = opts.value(&["c", "command"]) {
                a.script(command, Shell::Bash, &inner);
            }
            if name == "runuser" {
                let after = args.iter().position(|arg| arg.is("--"));
                if let Some(at) = after {
                    return Some(a.invoke(args[at + 1..].to_vec(), &inner));
                }
            }
            return Some(Stream::default());
        }
        "env" => {
            let opts = Opts::parse(args, "uCS", &["unset", "chdir", "split-string"], true);
            if let Some(line) = opts.value(&["S", "split-string"]) {
                return Some(a.script(line, Shell::Bash, &inner));
            }
            let mut rest = owned(&opts.operands);
            while rest
                .first()
                .is_some_and(|arg| split_assignment(arg).is_some())
            {
                let assignment = rest.remove(0);
                if let Some((name, value)) = split_assignment(&assignment) {
                    a.set_variable(&name, value, ctx);
                }
            }
            rest
        }
        "nice" => owned(&Opts::parse(args, "n", &["adjustment"], true).operands),
        "ionice" => owned(&Opts::parse(args, "cnp", &["class", "classdata"], true).operands),
        "nohup" | "setsid" | "unbuffer" | "nocache" | "eatmydata" | "fakeroot" | "torsocks"
        | "tsocks" | "catchsegv" | "builtin" | "then" | "do" | "else" | "time" => {
            owned(&Opts::parse(args, "foatw", &["output", "format"], true).operands)
        }
        "caffeinate" => owned(&Opts::parse(args, "tw", &[], true).operands),
        "stdbuf" => owned(&Opts::parse(args, "ioe", &["input", "output", "error"], true).operands),
        "proxychains" | "proxychains4" => owned(&Opts::parse(args, "f", &[], true).operands),
        "strace" | "ltrace" | "valgrind" => {
            owned(&Opts::parse(args, "oepsuEISaPXb", &["output"], true).operands)
        }
        "exec" => owned(&Opts::parse(args, "a", &[], true).operands),
        "command" => {
            let opts = Opts::parse(args, "", &[], true);
            if opts.has(&["v", "V"]) {
                let found = opts
                    .operands
                    .first()
                    .map(|program| Stream::text(format!("/usr/bin/{}", program.text)));
                return Some(found.unwrap_or_default());
            }
            owned(&opts.operands)
        }
        "timeout" => skip_operands(
            &Opts::parse(args, "sk", &["signal", "kill-after"], true).operands,
            1,
        ),
        "chrt" | "taskset" => {
            let operands = owned(&Opts::parse(args, "", &[], true).operands);
            let skip = operands
                .iter()
                .take_while(|o| {
                    o.text
                        .chars()
                        .all(|c| c.is_ascii_hexdigit() || ",-x".contains(c))
                })
                .count();
            operands[skip.min(operands.len())..].to_vec()
        }
        "chroot" => {
            inner.root = true;
            skip_operands(
                &Opts::parse(args, "", &["userspec", "groups"], true).operands,
                1,
            )
        }
        "flock" => {
            let opts = Opts::parse(
                args,
                "wEc",
                &["timeout", "conflict-exit-code", "command"],
                true,
            );
            if let Some(command) = opts.value(&["c", "command"]) {
                return Some(a.script(command, Shell::Bash, &inner));
            }
            skip_operands(&opts.operands, 1)
        }
        "watch" => {
            let opts = Opts::parse(args, "nq", &["interval"], true);
            return Some(a.script(&join_refs(&opts.operands), Shell::Bash, &inner));
        }
        "script" => {
            let opts = Opts::parse(args, "cBEIOTm", &["command", "log-io", "timing"], false);
            if let Some(command) = opts.value(&["c", "command"]) {
                return Some(a.script(command, Shell::Bash, &inner));
            }
            return Some(Stream::default());
        }
        "systemd-run" => {
            let opts = Opts::parse(args, "puEH", &["unit", "property", "uid", "setenv"], true);
            inner.root = !opts.has(&["user"]);
            owned(&opts.operands)
        }
        "busybox" => args.to_vec(),
        "xargs" => return Some(xargs(a, args, ctx)),
        _ => return None,
    };
    if rest.is_empty() {
        return Some(Stream::default());
    }
    Some(a.invoke(rest, &inner))
}

fn owned(operands: &[&Arg]) -> Vec<Arg> {
    operands.iter().map(|arg| (*arg).clone()).collect()
}

fn skip_operands(operands: &[&Arg], skip: usize) -> Vec<Arg> {
    owned(&operands[skip.min(operands.len())..])
}

/// `xargs CMD`: CMD runs with the input's items appended (or put in place of `-I`'s string).
fn xargs(a: &mut Analyzer, args: &[Arg], ctx: &Ctx) -> Stream {
    let opts = Opts::parse(
        args,
        "IinPLldEas",
        &[
            "replace",
            "max-args",
            "max-procs",
            "max-lines",
            "delimiter",
            "eof",
            "arg-file",
        ],
        true,
    );
    let mut command = owned(&opts.operands);
    if command.is_empty() {
        command.push(Arg::literal("echo"));
    }
    let items = input_items(&ctx.stdin);
    let replace = opts.value(&["I", "replace", "i"]);
    let words: Vec<Arg> = match replace {
        Some(marker) => command
            .iter()
            .map(|word| match items.first() {
                Some(item) if word.text.contains(marker) => Arg {
                    text: word.text.replace(marker, &item.text),
                    ..item.clone()
                },
                _ => word.clone(),
            })
            .collect(),
        None => command.into_iter().chain(items).collect(),
    };
    let inner = Ctx {
        stdin: Stream::default(),
        concurrent: ctx.concurrent || opts.has(&["P", "max-procs"]),
        ..ctx.clone()
    };
    a.invoke(words, &inner)
}

/// What `xargs` reads from its input, as arguments.
fn input_items(stdin: &Stream) -> Vec<Arg> {
    if let Some(paths) = &stdin.paths {
        return vec![paths.clone()];
    }
    if let Some(text) = &stdin.text {
        return text
            .split(|c: char| c.is_whitespace() || c == '\0')
            .filter(|item| !item.is_empty())
            .take(32)
            .map(Arg::literal)
            .collect();
    }
    vec![Arg {
        text: "$ITEM".into(),
        unknown: true,
        flow: stdin.flow,
        ..Arg::default()
    }]
}

fn shell_dialect(name: &str) -> Option<Shell> {
    match name {
        "sh" | "dash" | "ash" | "ksh" | "mksh" | "bash" | "rbash" => Some(Shell::Bash),
        "zsh" => Some(Shell::Zsh),
        "fish" => Some(Shell::Fish),
        _ => None,
    }
}

/// A shell: `-c STRING`, a script file, or commands on its input.
fn shell(a: &mut Analyzer, dialect: Shell, args: &[Arg], ctx: &Ctx) -> Stream {
    let value_options = if dialect == Shell::Fish { "cCo" } else { "oO" };
    let opts = Opts::parse(
        args,
        value_options,
        &["rcfile", "init-file", "command", "init-command"],
        true,
    );
    if opts.has(&["n", "noexec", "no-execute"]) {
        return Stream::default();
    }
    let command = if dialect == Shell::Fish {
        opts.value(&["c", "command"]).map(Arg::literal)
    } else if opts.has(&["c"]) {
        opts.operands.first().map(|arg| (*arg).clone())
    } else {
        None
    };
    if let Some(command) = command {
        if command.flow.socket {
            reverse_shell(a);
        } else if command.flow.network {
            a.flag_remote_code(ctx, "runs a script fetched from the network");
        }
        let positional = skip_operands(&opts.operands, if dialect == Shell::Fish { 0 } else { 2 });
        return a.with_positional(positional, |a| a.script(&command.text, dialect, ctx));
    }
    if let Some(script) = opts.operands.first() {
        return run_file(a, script, &skip_operands(&opts.operands, 1), ctx);
    }
    run_input(a, dialect, ctx)
}

/// A shell reading commands from its input.
fn run_input(a: &mut Analyzer, dialect: Shell, ctx: &Ctx) -> Stream {
    if ctx.socket || ctx.stdin.flow.socket {
        reverse_shell(a);
        return Stream::default();
    }
    if ctx.stdin.flow.network {
        a.flag_remote_code(ctx, "runs a script fetched from the network");
    }
    if ctx.stdin.flow.hidden && ctx.stdin.text.is_none() {
        hidden_code(a);
    }
    match ctx.stdin.text.clone() {
        Some(text) => {
            let inner = Ctx {
                stdin: Stream::default(),
                ..ctx.clone()
            };
            a.script(&text, dialect, &inner)
        }
        None => Stream::default(),
    }
}

/// A shell running a script file: one the line wrote, downloaded, or the user's own.
fn run_file(a: &mut Analyzer, script: &Arg, args: &[Arg], ctx: &Ctx) -> Stream {
    if script.flow.socket {
        reverse_shell(a);
        return Stream::default();
    }
    if script.flow.network {
        a.flag_remote_code(ctx, "runs a script fetched from the network");
        return Stream::default();
    }
    match a.file_fact(script).cloned() {
        Some(super::super::analyze::FileFact::Content(text)) => {
            a.run_script(script, &text, args, ctx)
        }
        Some(super::super::analyze::FileFact::Downloaded) => {
            a.flag_remote_code(ctx, "runs a script downloaded from the network");
            Stream::default()
        }
        _ => Stream::default(),
    }
}

fn hidden_code(a: &mut Analyzer) {
    a.flag(
        Risk::High,
        Harm::RemoteCode,
        "runs encoded code that cannot be checked",
    );
}

/// Decoding: known base64 text is decoded so what it hides is analysed; anything else is
/// marked hidden.
fn decode(name: &str, ctx: &Ctx) -> Stream {
    let decoded = match (&ctx.stdin.text, name) {
        (Some(text), "base64") => decode_base64(text),
        _ => None,
    };
    match decoded {
        Some(text) => Stream {
            flow: ctx.stdin.flow,
            ..Stream::text(text)
        },
        None => Stream::flow(Flow {
            hidden: true,
            ..ctx.stdin.flow
        }),
    }
}

fn decode_base64(text: &str) -> Option<String> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut bytes = Vec::new();
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let value = match c {
            'A'..='Z' => c as u32 - 'A' as u32,
            'a'..='z' => c as u32 - 'a' as u32 + 26,
            '0'..='9' => c as u32 - '0' as u32 + 52,
            '+' | '-' => 62,
            '/' | '_' => 63,
            _ => return None,
        };
        bits = bits << 6 | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8(bytes).ok()
}

/// awk programs run shell commands through `system("…")`.
fn awk(a: &mut Analyzer, args: &[Arg], ctx: &Ctx) {
    let opts = Opts::parse(args, "Fvf", &["field-separator", "assign", "file"], true);
    let Some(program) = opts.operands.first().filter(|_| !opts.has(&["f", "file"])) else {
        return;
    };
    let mut rest = program.text.as_str();
    while let Some(at) = rest.find("system(") {
        rest = &rest[at + "system(".len()..];
        let Some(literal) = rest.trim_start().strip_prefix('"') else {
            continue;
        };
        if let Some(end) = literal.find('"') {
            a.script(&literal[..end], Shell::Bash, ctx);
        }
    }
}

pub(super) fn reverse_shell(a: &mut Analyzer) {
    a.flag(
        Risk::Critical,
        Harm::ReverseShell,
        "hands a shell to a network connection: remote control of this machine",
    );
}

/// `source FILE`, `. FILE`: runs the file in this shell.
fn source(a: &mut Analyzer, args: &[Arg], ctx: &Ctx) -> Stream {
    let Some(file) = args.first() else {
        return Stream::default();
    };
    if matches!(file.text.as_str(), "/dev/stdin" | "-" | "/proc/self/fd/0") {
        return run_input(a, a.shell, ctx);
    }
    run_file(a, file, &args[1..], ctx)
}

fn interpreter(name: &str) -> Option<Lang> {
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    match base {
        "python" | "pypy" => Some(Lang::Python),
        "perl" => Some(Lang::Perl),
        "ruby" => Some(Lang::Ruby),
        "node" | "nodejs" | "deno" | "bun" => Some(Lang::Node),
        "php" => Some(Lang::Php),
        "lua" | "luajit" => Some(Lang::Lua),
        _ => None,
    }
}

/// An interpreter: inline code, a script file, or code on its input.
fn interpret(a: &mut Analyzer, lang: Lang, name: &str, args: &[Arg], ctx: &Ctx) -> Stream {
    let (code_flags, value_flags): (&[&str], &str) = match lang {
        Lang::Python => (&["c"], "cmWX"),
        Lang::Perl => (&["e", "E"], "eEIMm"),
        Lang::Ruby => (&["e"], "erIC"),
        Lang::Node => (&["e", "eval", "p", "print"], "epr"),
        Lang::Php => (&["r"], "rfdc"),
        Lang::Lua => (&["e"], "el"),
    };
    let args = if name == "deno" && args.first().is_some_and(|a| a.is("eval")) {
        let mut rewritten = vec![Arg::literal("-e")];
        rewritten.extend_from_slice(&args[1..]);
        rewritten
    } else {
        args.to_vec()
    };
    let opts = Opts::parse(&args, value_flags, &["eval", "print", "require"], true);
    let inline: Vec<&str> = opts.values(code_flags);
    if opts.has(&["m"]) && lang == Lang::Python {
        return Stream::default();
    }
    if !inline.is_empty() {
        if args.iter().any(|arg| arg.flow.network) {
            a.flag_remote_code(ctx, "runs code fetched from the network");
        }
        code_facts(a, lang, &inline.join("\n"), ctx);
        if opts.has(&["i"]) {
            for file in &opts.operands {
                files::edit_in_place(a, file, None, ctx);
            }
        }
        return Stream::flow(ctx.stdin.flow);
    }
    match opts.operands.first() {
        Some(script) if !script.is("-") => {
            if script.flow.network {
                a.flag_remote_code(ctx, "runs code fetched from the network");
            } else {
                match a.file_fact(script).cloned() {
                    Some(super::super::analyze::FileFact::Downloaded) => {
                        a.flag_remote_code(ctx, "runs a program downloaded from the network")
                    }
                    Some(super::super::analyze::FileFact::Content(text)) => {
                        code_facts(a, lang, &text, ctx)
                    }
                    _ => {}
                }
            }
            Stream::default()
        }
        _ => {
            if ctx.stdin.flow.network {
                a.flag_remote_code(ctx, "runs code fetched from the network");
            }
            if let Some(text) = ctx.stdin.text.clone() {
                code_facts(a, lang, &text, ctx);
            }
            Stream::default()
        }
    }
}

/// Turns what inline code does into findings.
fn code_facts(a: &mut Analyzer, lang: Lang, text: &str, ctx: &Ctx) {
    let facts = code::inspect(lang, text);
    for delete in &facts.deletes {
        let target = Arg {
            unknown_prefix: delete.target == "?",
            ..Arg::literal(&delete.target)
        };
        files::delete(a, &target, delete.recursive, false, ctx);
    }
    for path in &facts.writes {
        files::write(a, &Arg::literal(path), &Stream::default(), false, ctx);
    }
    if facts.fork_loop {
        a.flag(
            Risk::Critical,
            Harm::ForkBomb,
            "forks in an endless loop: a fork bomb",
        );
    }
    if facts.reverse_shell {
        reverse_shell(a);
    }
    if facts.remote_exec {
        a.flag_remote_code(ctx, "runs code fetched from the network");
    }
    if facts.kills_all {
        super::system::kill_everything(a, ctx);
    }
    for command in &facts.shell_commands {
        a.script(command, Shell::Bash, ctx);
    }
}

/// `NAME=VALUE` as a variable name and its value.
fn split_assignment(arg: &Arg) -> Option<(String, Arg)> {
    let (name, value) = arg.text.split_once('=')?;
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    valid.then(|| {
        let value = Arg {
            text: value.to_string(),
            unknown_prefix: arg.unknown && value.starts_with('$'),
            ..arg.clone()
        };
        (name.to_string(), value)
    })
}

/// Variables that change the shell's behaviour.
pub(in super::super) fn variable_set(a: &mut Analyzer, name: &str, value: &Arg, ctx: &Ctx) {
    match name {
        "HISTFILE" if value.text.is_empty() || value.is("/dev/null") => a.flag(
            Risk::Moderate,
            Harm::History,
            "turns history off for this session",
        ),
        "HISTSIZE" | "HISTFILESIZE" | "SAVEHIST" if value.is("0") => a.flag(
            Risk::Moderate,
            Harm::History,
            "turns history off for this session",
        ),
        "PROMPT_COMMAND" => {
            a.script(&value.text, Shell::Bash, ctx);
        }
        _ => {}
    }
}

fn change_directory(a: &mut Analyzer, args: &[Arg]) {
    let operands: Vec<&Arg> = args
        .iter()
        .filter(|arg| !arg.text.starts_with('-'))
        .collect();
    a.cwd = match operands.first() {
        None => Cwd::At("~".into()),
        Some(dir) if dir.unknown_prefix || dir.unknown => Cwd::Unknown,
        Some(dir) if dir.is("-") => Cwd::Unknown,
        Some(dir) => match target::resolve(&dir.text, &a.cwd) {
            Some(path) if path == "." => a.cwd.clone(),
            Some(path) => Cwd::At(path),
            None => Cwd::Unknown,
        },
    };
}

/// `alias NAME=VALUE`: the value runs whenever the user types NAME, with whatever arguments
/// they type after it.
fn alias(a: &mut Analyzer, args: &[Arg], ctx: &Ctx) {
    let operands: Vec<&Arg> = args
        .iter()
        .filter(|arg| !arg.text.starts_with('-'))
        .collect();
    let mut pending_name = None;
    for arg in operands {
        let (name, value) = match (arg.text.split_once('='), pending_name.take()) {
            (Some((name, value)), _) => (name.to_string(), value),
            // fish: `alias NAME VALUE`
            (None, Some(name)) => (name, arg.text.as_str()),
            (None, None) => {
                pending_name = Some(arg.text.clone());
                continue;
            }
        };
        let typed = format!("{value} $TYPED_ARGUMENTS");
        a.persisted(&typed, &format!("defines an alias {name}"), ctx);
    }
}

fn set_options(a: &mut Analyzer, name: &str, args: &[Arg]) {
    let history_off = match name {
        "set" => args
            .windows(2)
            .any(|pair| pair[0].is("+o") && pair[1].is("history")),
        "unsetopt" => args.iter().any(|arg| {
            let option = arg.text.to_ascii_lowercase().replace('_', "");
            option == "histsavenodups" || option == "incappendhistory" || option == "sharehistory"
        }),
        _ => false,
    };
    if history_off {
        a.flag(
            Risk::Moderate,
            Harm::History,
            "turns history off for this session",
        );
    }
}

fn history(a: &mut Analyzer, args: &[Arg]) {
    let clears = args.iter().any(|arg| arg.is("-c") || arg.is("clear"));
    let deletes = args
        .iter()
        .any(|arg| arg.is("-d") || arg.text.starts_with("-d") || arg.is("delete"));
    if clears {
        a.flag(Risk::High, Harm::History, "clears the shell history");
    } else if deletes {
        a.flag(
            Risk::Moderate,
            Harm::History,
            "removes lines from the shell history",
        );
    }
}

fn join(args: &[Arg]) -> String {
    args.iter()
        .map(|arg| arg.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn join_refs(args: &[&Arg]) -> String {
    args.iter()
        .map(|arg| arg.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn flow_of(args: &[Arg]) -> Flow {
    args.iter()
        .fold(Flow::default(), |flow, arg| flow.union(arg.flow))
}

fn echo(args: &[Arg]) -> Stream {
    let mut words = args;
    let mut newline = true;
    let mut escapes = false;
    while let Some(first) = words.first() {
        match first.text.as_str() {
            "-n" => newline = false,
            "-e" => escapes = true,
            "-E" => escapes = false,
            "-ne" | "-en" => {
                newline = false;
                escapes = true;
            }
            _ => break,
        }
        words = &words[1..];
    }
    let mut text = join(words);
    if escapes {
        text = unescape(&text);
    }
    if newline {
        text.push('\n');
    }
    Stream {
        flow: flow_of(args),
        ..Stream::text(text)
    }
}

/// `printf FORMAT ARGS…`, with `%s`-style conversions filled in order.
fn printf(args: &[Arg]) -> Stream {
    let operands: Vec<&Arg> = match args.first() {
        Some(first) if first.is("-v") => return Stream::default(),
        Some(first) if first.is("--") => args[1..].iter().collect(),
        _ => args.iter().collect(),
    };
    let Some((format, values)) = operands.split_first() else {
        return Stream::default();
    };
    let mut values = values.iter();
    let mut text = String::new();
    let format = unescape(&format.text);
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            text.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            text.push('%');
            continue;
        }
        while chars
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || "-+ #.".contains(*c))
        {
            chars.next();
        }
        chars.next();
        if let Some(value) = values.next() {
            text.push_str(&value.text);
        }
    }
    Stream {
        flow: flow_of(args),
        ..Stream::text(text)
    }
}

fn unescape(text: &str) -> String {
    text.replace("\\n", "\n")
        .replace("\\t", "\t")
        .replace("\\0", "\0")
        .replace("\\\\", "\\")
}

/// `cat`: its files' known content, or its input.
fn cat(a: &mut Analyzer, args: &[Arg], ctx: &Ctx) -> Stream {
    let files: Vec<&Arg> = args
        .iter()
        .filter(|arg| !arg.text.starts_with('-') || arg.is("-"))
        .collect();
    if files.is_empty() {
        return ctx.stdin.clone();
    }
    let mut out: Option<Stream> = None;
    for file in files {
        let part = if file.is("-") {
            ctx.stdin.clone()
        } else if file.is("/dev/null") {
            Stream::text("")
        } else {
            a.read_file(file)
        };
        out = Some(match out {
            Some(before) => before.then(part),
            None => part,
        });
    }
    out.unwrap_or_default()
}
