//! The network: fetching (whose output may reach a shell), sending (which may leak secrets),
//! and sockets handed to shells.

use super::super::analyze::{Analyzer, Ctx, FileFact, Harm};
use super::super::args::{Arg, Opts, Stream};
use super::super::target::{self, Place};
use super::super::Risk;

pub(super) fn run(a: &mut Analyzer, name: &str, args: &[Arg], ctx: &Ctx, out: &mut Stream) {
    match name {
        "curl" => curl(a, args, ctx, out),
        "wget" => wget(a, args, ctx, out),
        "fetch" | "http" | "https" | "xh" | "xhs" | "lwp-request" | "GET" | "lynx" | "links" => {
            out.flow.network = true
        }
        "nc" | "ncat" | "netcat" | "telnet" => netcat(a, name, args, ctx, out),
        "socat" => socat(a, args, ctx, out),
        "openssl" if args.first().is_some_and(|arg| arg.is("s_client")) => {
            sink(a, "a TLS connection", ctx, args);
            out.flow.network = true;
        }
        "ssh" => ssh(a, args, ctx, out),
        "scp" | "sftp" | "rsync" | "rclone" | "gsutil" => upload_files(a, name, args),
        "whois" | "dig" | "nslookup" | "host" | "drill" | "ping" | "ping6" | "traceroute"
            if args.iter().any(|arg| arg.flow.secret || arg.flow.token) =>
        {
            leak(a, name)
        }
        "mail" | "mailx" | "sendmail" | "mutt" | "msmtp" | "ssmtp" | "s-nail" => {
            sink(a, "email", ctx, args);
            upload_files(a, name, args);
        }
        "aws" | "gh" | "gcloud" | "az" => cloud(a, name, args, out),
        "gpg" | "gpg2" => {
            let exports = args.iter().any(|arg| {
                arg.text.starts_with("--export-secret-keys")
                    || arg.text.starts_with("--export-secret-subkeys")
            });
            out.flow.secret |= exports;
        }
        "security" => {
            let reveals = args.iter().any(|arg| arg.is("-w") || arg.is("-g"))
                || args.iter().any(|arg| arg.is("dump-keychain"));
            out.flow.secret |= reveals;
        }
        "printenv" | "env" if args.is_empty() => out.flow.secret = true,
        "pass" | "op" | "vault" => out.flow.secret = true,
        "kubectl" if has_all(args, &["config", "view", "--raw"]) => out.flow.secret = true,
        _ => {}
    }
}

fn has_all(args: &[Arg], words: &[&str]) -> bool {
    words.iter().all(|w| args.iter().any(|arg| arg.is(w)))
}

/// Secrets leave the machine: always critical.
pub(super) fn leak(a: &mut Analyzer, channel: &str) {
    a.flag(
        Risk::Critical,
        Harm::Leak,
        format!("sends private keys or credentials off this machine ({channel})"),
    );
}

/// A command that sends its input and arguments somewhere.
fn sink(a: &mut Analyzer, channel: &str, ctx: &Ctx, args: &[Arg]) {
    if ctx.stdin.flow.secret || args.iter().any(|arg| arg.flow.secret) {
        leak(a, channel);
    }
}

fn curl(a: &mut Analyzer, args: &[Arg], ctx: &Ctx, out: &mut Stream) {
    let opts = Opts::parse(
        args,
        "oTdFHuXAeEKrwxCbcDmQUYyz",
        &[
            "output",
            "upload-file",
            "data",
            "data-binary",
            "data-raw",
            "data-ascii",
            "data-urlencode",
            "form",
            "json",
            "header",
            "user",
            "request",
            "user-agent",
            "referer",
            "cert",
            "key",
            "proxy",
            "config",
            "cookie",
            "cookie-jar",
            "max-time",
            "connect-timeout",
            "retry",
            "dump-header",
            "write-out",
            "resolve",
            "url",
        ],
        false,
    );
    let uploads = opts.values(&[
        "T",
        "upload-file",
        "d",
        "data",
        "data-binary",
        "data-raw",
        "data-ascii",
        "data-urlencode",
        "F",
        "form",
        "json",
    ]);
    for value in uploads {
        uploads_secret(a, value, ctx, "an HTTP upload");
    }
    let credentials: Vec<&str> = opts.values(&["H", "header", "u", "user"]);
    let leaked = args
        .iter()
        .any(|arg| arg.flow.secret && !credentials.contains(&arg.text.as_str()));
    if leaked {
        leak(a, "an HTTP request");
    }
    let url = opts
        .operands
        .first()
        .map(|u| u.text.as_str())
        .or(opts.value(&["url"]));
    if let Some(file) = opts.value(&["o", "output"]) {
        download(a, file);
    } else if opts.has(&["O", "remote-name", "remote-name-all"]) {
        if let Some(url) = url {
            download(a, url_basename(url));
        }
    } else {
        out.flow.network = true;
    }
}

/// An upload value: `@file`, `name=@file`, `-` or `@-` (the input).
fn uploads_secret(a: &mut Analyzer, value: &str, ctx: &Ctx, channel: &str) {
    let file = match value.split_once('@') {
        Some((_, file)) => file,
        None if value == "-" => "-",
        None => return,
    };
    let file = file.split(';').next().unwrap_or(file);
    let secret = if file == "-" {
        ctx.stdin.flow.secret
    } else {
        let arg = Arg::literal(file);
        matches!(
            target::classify(&arg, &a.cwd),
            Place::Secret | Place::KeyDir
        ) || a.read_file(&arg).flow.secret
    };
    if secret {
        leak(a, channel);
    }
}

fn download(a: &mut Analyzer, file: &str) {
    if file != "-" && file != "/dev/stdout" {
        a.record_file(&Arg::literal(file), FileFact::Downloaded);
    }
}

fn url_basename(url: &str) -> &str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/').next().unwrap_or(path)
}

fn wget(a: &mut Analyzer, args: &[Arg], ctx: &Ctx, out: &mut Stream) {
    let opts = Opts::parse(
        args,
        "OoaPtTweUiBDQ",
        &[
            "output-document",
            "post-file",
            "post-data",
            "body-file",
            "body-data",
            "directory-prefix",
        ],
        false,
    );
    if let Some(file) = opts.value(&["post-file", "body-file"]) {
        uploads_secret(a, &format!("@{file}"), ctx, "an HTTP upload");
    }
    if args.iter().any(|arg| arg.flow.secret) {
        leak(a, "an HTTP request");
    }
    match opts.value(&["O", "output-document"]) {
        Some("-") | Some("/dev/stdout") => out.flow.network = true,
        Some(file) => download(a, file),
        None => {
            for url in &opts.operands {
                download(a, url_basename(&url.text));
            }
        }
    }
}

fn netcat(a: &mut Analyzer, name: &str, args: &[Arg], ctx: &Ctx, out: &mut Stream) {
    let opts = Opts::parse(
        args,
        "ecpswqiXxIOTgG",
        &["exec", "sh-exec", "lua-exec"],
        false,
    );
    if opts.has(&["e", "c", "exec", "sh-exec", "lua-exec"]) {
        super::exec::reverse_shell(a);
    }
    sink(a, name, ctx, args);
    out.flow.network = true;
    out.flow.socket = true;
}

fn socat(a: &mut Analyzer, args: &[Arg], ctx: &Ctx, out: &mut Stream) {
    let addresses: Vec<String> = args
        .iter()
        .filter(|arg| !arg.text.starts_with('-') || arg.is("-"))
        .map(|arg| arg.text.to_ascii_lowercase())
        .collect();
    let runs_program = addresses
        .iter()
        .any(|addr| addr.starts_with("exec:") || addr.starts_with("system:"));
    let network = addresses.iter().any(|addr| {
        ["tcp", "udp", "openssl", "ssl", "sctp", "socks", "proxy"]
            .iter()
            .any(|p| addr.starts_with(p))
    });
    if runs_program && network {
        super::exec::reverse_shell(a);
    }
    if network {
        sink(a, "a socket", ctx, args);
    }
    out.flow.network = true;
    out.flow.socket = true;
}

/// `ssh HOST [COMMAND]`: the command runs there; the input goes there.
fn ssh(a: &mut Analyzer, args: &[Arg], ctx: &Ctx, out: &mut Stream) {
    let opts = Opts::parse(args, "bcDEeFIiJLlmOopQRSWw", &[], true);
    sink(a, "ssh", ctx, args);
    if let Some((_host, command)) = opts.operands.split_first() {
        if !command.is_empty() {
            let text: Vec<&str> = command.iter().map(|arg| arg.text.as_str()).collect();
            let remote = Ctx {
                root: false,
                stdin: Stream::default(),
                ..ctx.clone()
            };
            a.script(&text.join(" "), super::super::Shell::Bash, &remote);
        }
    }
    out.flow.network = true;
}

/// Copying files to another host: secrets among them leak.
fn upload_files(a: &mut Analyzer, name: &str, args: &[Arg]) {
    let value_options = match name {
        "scp" => "cFiJlmoPS",
        "sftp" => "BbcDFiJloPRSs",
        "rsync" => "eBfT",
        "mail" | "mailx" | "mutt" | "s-nail" => "sbcra",
        _ => "",
    };
    let opts = Opts::parse(args, value_options, &["rsh", "exclude", "filter"], false);
    let mut files = opts.operands.clone();
    files.extend(
        opts.values(&["a", "attach"])
            .into_iter()
            .filter_map(|file| args.iter().find(|arg| arg.is(file))),
    );
    let remote = files.iter().any(|arg| is_remote(&arg.text));
    let attachments = matches!(name, "mail" | "mailx" | "mutt" | "s-nail");
    if !remote && !attachments {
        return;
    }
    let secret = files.iter().any(|arg| {
        !is_remote(&arg.text)
            && matches!(target::classify(arg, &a.cwd), Place::Secret | Place::KeyDir)
    });
    if secret {
        leak(a, name);
    }
}

fn is_remote(text: &str) -> bool {
    let head = text.split('/').next().unwrap_or(text);
    head.contains(':') && !text.starts_with('-') && !text.starts_with('/')
        || text.starts_with("s3://")
        || text.starts_with("gs://")
}

fn cloud(a: &mut Analyzer, name: &str, args: &[Arg], out: &mut Stream) {
    let words: Vec<&str> = args.iter().map(|arg| arg.text.as_str()).collect();
    let reveals = match name {
        "aws" => {
            words.starts_with(&["configure", "get"]) && words.iter().any(|w| w.contains("secret"))
                || words.starts_with(&["configure", "export-credentials"])
                || words.contains(&"get-session-token")
        }
        "gh" => words.starts_with(&["auth", "token"]),
        "gcloud" => words
            .iter()
            .any(|w| w.starts_with("print-access-token") || w.starts_with("print-identity-token")),
        "az" => words.contains(&"get-access-token"),
        _ => false,
    };
    out.flow.secret |= reveals;
    let uploads = match name {
        "aws" => words.first() == Some(&"s3") && args.iter().any(|arg| is_remote(&arg.text)),
        "gh" => words.starts_with(&["gist", "create"]) || words.starts_with(&["release", "upload"]),
        _ => false,
    };
    let secret = args
        .iter()
        .any(|arg| matches!(target::classify(arg, &a.cwd), Place::Secret | Place::KeyDir));
    if uploads && secret {
        leak(a, name);
    }
}
