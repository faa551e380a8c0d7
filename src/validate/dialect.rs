//! Rewrites what brush-parser cannot read into bash it can, for the analysis only (never run).
//!
//! brush-parser reads POSIX/bash syntax. The rewriters here turn fish, zsh-only constructs and
//! plain garbage into bash that keeps what the analysis looks at: the words of every simple
//! command with the same values, redirections, and the structure that decides what runs
//! (loops with their variable and list, function definitions and calls, pipelines, `&&`/`||`/
//! `;`/`&` lists, command substitutions). Exact semantics beyond that do not matter.
//!
//! - [`fish_to_bash`] tokenises fish properly and translates its blocks, variables and
//!   substitutions.
//! - [`zsh_to_bash`] copies zsh text and rewrites only the zsh-only constructs bash lacks.
//! - [`loose_to_bash`] is the last resort: a flat list of simple commands that brush-parser
//!   always accepts.
//!
//! Each scans its input once, by hand, works on `char`s so that nothing splits a character,
//! never panics, and recurses only as deep as the input's own nesting, at most [`MAX_DEPTH`]
//! levels ([`LOOSE_MAX_DEPTH`] for the flat fallback); text nested deeper is treated as plain
//! text.

/// How deep substitutions, blocks and subshells are followed before the rest counts as text.
const MAX_DEPTH: usize = 32;

/// Loose output stays shallow (the analyzer refuses deeply bracketed text): command
/// substitutions nested deeper than this become text.
const LOOSE_MAX_DEPTH: usize = 8;

/// Words brush-parser reserves at the start of a command.
const BASH_RESERVED: &[&str] = &[
    "!", "{", "}", "[[", "]]", "case", "do", "done", "elif", "else", "esac", "fi", "for",
    "function", "if", "in", "select", "then", "until", "while",
];

/// fish syntax as equivalent bash.
pub(super) fn fish_to_bash(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut fish = Fish {
        sc: Scan::new(&chars),
        no_bracket_before: 0,
    };
    fish.program(0, false)
}

/// zsh-only constructs as equivalent bash.
pub(super) fn zsh_to_bash(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut zsh = Zsh {
        sc: Scan::new(&chars),
        anon: 0,
        heredocs: Vec::new(),
    };
    zsh.list(0, Stop::Eof)
}

/// Last resort for text that does not parse: keeps every word, always parses.
pub(super) fn loose_to_bash(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    Loose {
        sc: Scan::new(&chars),
    }
    .program(0, false)
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/// A read position in a text, kept as `char`s so that slicing never splits a character.
struct Scan<'a> {
    s: &'a [char],
    pos: usize,
}

impl<'a> Scan<'a> {
    fn new(s: &'a [char]) -> Self {
        Scan { s, pos: 0 }
    }

    fn peek(&self) -> Option<char> {
        self.s.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.s.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    /// Whether the text at the read position starts with `text`.
    fn at(&self, text: &str) -> bool {
        text.chars()
            .enumerate()
            .all(|(k, c)| self.peek_at(k) == Some(c))
    }

    fn eat(&mut self, text: &str) -> bool {
        let found = self.at(text);
        if found {
            self.pos += text.chars().count();
        }
        found
    }

    /// The first of `ops` (longest first) found at the read position.
    fn first_of(&self, ops: &[&'static str]) -> Option<&'static str> {
        ops.iter().copied().find(|op| self.at(op))
    }

    fn slice(&self, from: usize) -> String {
        self.s[from.min(self.pos)..self.pos].iter().collect()
    }

    fn skip_blanks(&mut self) {
        loop {
            match self.peek() {
                Some(' ' | '\t') => self.pos += 1,
                Some('\\') if self.peek_at(1) == Some('\n') => self.pos += 2,
                _ => return,
            }
        }
    }

    fn skip_comment(&mut self) {
        while self.peek().is_some_and(|c| c != '\n') {
            self.pos += 1;
        }
    }

    /// Reads the lines of a here-document up to its end tag: the body and all the text read.
    fn heredoc(&mut self, tag: &str, strip_tabs: bool) -> (String, String) {
        let (mut body, mut raw) = (String::new(), String::new());
        while self.peek().is_some() {
            let start = self.pos;
            self.skip_comment();
            let line = self.slice(start);
            let newline = self.eat("\n");
            raw.push_str(&line);
            if newline {
                raw.push('\n');
            }
            let bare = if strip_tabs {
                line.trim_start_matches('\t')
            } else {
                &line
            };
            if bare == tag {
                break;
            }
            body.push_str(&line);
            if newline {
                body.push('\n');
            }
        }
        (body, raw)
    }
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A shell variable name.
fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

/// Whether brush-parser reads `word` as an assignment: `NAME=…`, `NAME[…]=…`, `NAME+=…`.
fn is_assignment(word: &str) -> bool {
    let b = word.as_bytes();
    if !b
        .first()
        .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_')
    {
        return false;
    }
    let name_end = b
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || c == b'_'))
        .unwrap_or(b.len());
    let equals_at = |i: usize| {
        let i = if b.get(i) == Some(&b'+') { i + 1 } else { i };
        b.get(i) == Some(&b'=')
    };
    if b.get(name_end) == Some(&b'[') {
        if let Some(close) = b[name_end + 1..].iter().position(|&c| c == b']') {
            if equals_at(name_end + close + 2) {
                return true;
            }
        }
    }
    equals_at(name_end)
}

/// `s` as one single-quoted bash word with the same value.
fn single_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Appends `s` single-quoted. After a `$`, brush-parser would read `$'…'` as an ANSI-C string,
/// so an empty `""` goes between.
fn push_single_quoted(out: &mut String, s: &str) {
    if out.ends_with('$') {
        out.push_str("\"\"");
    }
    out.push_str(&single_quote(s));
}

/// A here-document tag without its quoting: the line that ends the document.
fn unquote(raw: &str) -> String {
    let mut out = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '\'' | '"' => {}
            _ => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Loose: a flat list of simple commands out of anything

/// One token of the tolerant lexer, already in the bash it is written out as.
enum Tok {
    Word(String),
    /// Operator (with its file descriptor) and target.
    Redir(String, String),
    /// `;`, `&`, `|`, `&&`, `||` or a newline.
    Sep(&'static str),
}

/// A here-document whose body comes after the next newline.
struct PendingHeredoc {
    /// The index of its redirection in the token list.
    tok: usize,
    tag: String,
    strip_tabs: bool,
}

struct Loose<'a> {
    sc: Scan<'a>,
}

fn is_loose_meta(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\n' | ';' | '&' | '|' | '<' | '>' | '(' | ')'
    )
}

impl Loose<'_> {
    /// Converts up to the end, or when `nested`, up to the `)` that closes a substitution.
    fn program(&mut self, depth: usize, nested: bool) -> String {
        let toks = self.tokens(depth, nested);
        flatten(&toks)
    }

    fn tokens(&mut self, depth: usize, nested: bool) -> Vec<Tok> {
        let mut toks = Vec::new();
        let mut heredocs = Vec::new();
        let mut parens = 0usize;
        while let Some(c) = self.sc.peek() {
            match c {
                ' ' | '\t' => self.sc.pos += 1,
                '\\' if self.sc.peek_at(1) == Some('\n') => self.sc.pos += 2,
                '\n' => {
                    self.sc.pos += 1;
                    toks.push(Tok::Sep("\n"));
                    self.heredoc_bodies(&mut toks, &mut heredocs);
                }
                '#' => self.sc.skip_comment(),
                ';' => {
                    let op = self.sc.first_of(&[";;&", ";;", ";&"]).unwrap_or(";");
                    self.sc.eat(op);
                    toks.push(Tok::Sep(";"));
                }
                '&' if self.sc.peek_at(1) == Some('>') => {
                    self.redirect(String::new(), depth, &mut toks, &mut heredocs);
                }
                '&' | '|' => {
                    let op = self
                        .sc
                        .first_of(&["&&", "||", "|&", "&", "|"])
                        .unwrap_or("|");
                    self.sc.eat(op);
                    toks.push(Tok::Sep(if op == "|&" { "|" } else { op }));
                }
                '<' | '>' if self.sc.peek_at(1) == Some('(') && depth < LOOSE_MAX_DEPTH => {
                    self.sc.pos += 2;
                    let inner = self.program(depth + 1, true);
                    toks.push(Tok::Word(format!("$({inner})")));
                }
                '<' | '>' => self.redirect(String::new(), depth, &mut toks, &mut heredocs),
                '(' => {
                    self.sc.pos += 1;
                    parens += 1;
                    toks.push(Tok::Sep(";"));
                }
                ')' => {
                    self.sc.pos += 1;
                    if nested && parens == 0 {
                        break;
                    }
                    parens = parens.saturating_sub(1);
                    toks.push(Tok::Sep(";"));
                }
                _ => {
                    let start = self.sc.pos;
                    let word = self.word(depth);
                    if self.sc.pos == start {
                        self.sc.pos += 1;
                        continue;
                    }
                    let is_fd = self.sc.s[start..self.sc.pos]
                        .iter()
                        .all(char::is_ascii_digit)
                        && matches!(self.sc.peek(), Some('<' | '>'))
                        && self.sc.peek_at(1) != Some('(');
                    if is_fd {
                        self.redirect(word, depth, &mut toks, &mut heredocs);
                    } else if !word.is_empty() {
                        toks.push(Tok::Word(word));
                    }
                }
            }
        }
        toks
    }

    /// A redirection operator and its target; dropped when there is no target. A
    /// here-document becomes a here-string of its body.
    fn redirect(
        &mut self,
        fd: String,
        depth: usize,
        toks: &mut Vec<Tok>,
        heredocs: &mut Vec<PendingHeredoc>,
    ) {
        const OPS: &[&str] = &[
            "<<<", "<<-", "<<", "<&", "<>", "<", ">>", ">&", ">|", ">", "&>>", "&>",
        ];
        let Some(op) = self.sc.first_of(OPS) else {
            self.sc.pos += 1;
            return;
        };
        self.sc.eat(op);
        self.sc.skip_blanks();
        let start = self.sc.pos;
        let target = match self.sc.peek() {
            Some('<' | '>') if self.sc.peek_at(1) == Some('(') && depth < LOOSE_MAX_DEPTH => {
                self.sc.pos += 2;
                format!("$({})", self.program(depth + 1, true))
            }
            Some(c) if !is_loose_meta(c) && c != '#' => self.word(depth),
            _ => return,
        };
        if target.is_empty() {
            return;
        }
        if op.starts_with("<<") && op != "<<<" {
            heredocs.push(PendingHeredoc {
                tok: toks.len(),
                tag: unquote(&self.sc.slice(start)),
                strip_tabs: op == "<<-",
            });
            toks.push(Tok::Redir(format!("{fd}<<<"), "''".to_string()));
        } else {
            toks.push(Tok::Redir(format!("{fd}{op}"), target));
        }
    }

    fn heredoc_bodies(&mut self, toks: &mut [Tok], heredocs: &mut Vec<PendingHeredoc>) {
        for doc in heredocs.drain(..) {
            let (body, _) = self.sc.heredoc(&doc.tag, doc.strip_tabs);
            if let Some(Tok::Redir(_, target)) = toks.get_mut(doc.tok) {
                *target = single_quote(&body);
            }
        }
    }

    /// One word, written out as a well-formed bash word with the same value: quotes and
    /// substitutions left open are closed, backquotes become `$(…)`.
    fn word(&mut self, depth: usize) -> String {
        let mut out = String::new();
        while let Some(c) = self.sc.peek() {
            match c {
                c if is_loose_meta(c) => break,
                '\\' => {
                    self.sc.pos += 1;
                    match self.sc.bump() {
                        None => out.push_str(r"\\"),
                        Some('\n') => {}
                        Some(d) => {
                            out.push('\\');
                            out.push(d);
                        }
                    }
                }
                '\'' => {
                    self.sc.pos += 1;
                    let start = self.sc.pos;
                    while self.sc.peek().is_some_and(|c| c != '\'') {
                        self.sc.pos += 1;
                    }
                    let text = self.sc.slice(start);
                    self.sc.eat("'");
                    push_single_quoted(&mut out, &text);
                }
                '"' => self.double_quoted(depth, &mut out),
                '$' => self.dollar(depth, false, &mut out),
                '`' => self.backquoted(depth, &mut out),
                _ => {
                    out.push(c);
                    self.sc.pos += 1;
                }
            }
        }
        out
    }

    fn double_quoted(&mut self, depth: usize, out: &mut String) {
        self.sc.pos += 1;
        out.push('"');
        loop {
            match self.sc.peek() {
                None => break,
                Some('"') => {
                    self.sc.pos += 1;
                    break;
                }
                Some('\\') => {
                    self.sc.pos += 1;
                    match self.sc.bump() {
                        None => out.push_str(r"\\"),
                        Some(d) => {
                            out.push('\\');
                            out.push(d);
                        }
                    }
                }
                Some('$') => self.dollar(depth, true, out),
                Some('`') => self.backquoted(depth, out),
                Some(c) => {
                    out.push(c);
                    self.sc.pos += 1;
                }
            }
        }
        out.push('"');
    }

    /// `$(…)`, `$((…))`, `${…}`, `$'…'` or a plain `$`.
    fn dollar(&mut self, depth: usize, in_dq: bool, out: &mut String) {
        self.sc.pos += 1;
        match self.sc.peek() {
            Some('(') if depth < LOOSE_MAX_DEPTH => {
                if self.sc.peek_at(1) == Some('(') {
                    if let Some(end) = self.arithmetic_end() {
                        out.push('$');
                        out.extend(&self.sc.s[self.sc.pos..=end]);
                        self.sc.pos = end + 1;
                        return;
                    }
                }
                self.sc.pos += 1;
                let inner = self.program(depth + 1, true);
                out.push_str("$(");
                out.push_str(&inner);
                out.push(')');
            }
            Some('{') if depth < LOOSE_MAX_DEPTH => self.parameter(depth, in_dq, out),
            // Too deep: the rest is text.
            Some('(' | '{') => out.push_str(r"\$"),
            Some('\'') if !in_dq => {
                self.sc.pos += 1;
                out.push_str("$'");
                loop {
                    match self.sc.bump() {
                        None | Some('\'') => break,
                        Some('\\') => match self.sc.bump() {
                            None => out.push_str(r"\\"),
                            Some(d) => {
                                out.push('\\');
                                out.push(d);
                            }
                        },
                        Some(c) => out.push(c),
                    }
                }
                out.push('\'');
            }
            // A parameter (`$x`, `$1`, `$@`…): its name follows as plain characters.
            Some(c) if is_name_char(c) || "@*#?-$!".contains(c) => out.push('$'),
            // `$"…"` is the string itself.
            Some('"') if !in_dq => {}
            // A literal `$`, escaped so that nothing after it (say, once a line continuation
            // is gone) can make it start an expansion.
            _ => out.push_str(r"\$"),
        }
    }

    /// Where `$((…))` ends, when it is a plain arithmetic expression brush-parser reads as
    /// one word: balanced parentheses (a few levels), no quotes, no here-document operator.
    fn arithmetic_end(&self) -> Option<usize> {
        let s = self.sc.s;
        let mut level = 0usize;
        let mut k = self.sc.pos + 2;
        loop {
            let c = *s.get(k)?;
            match c {
                '(' if level < 4 => level += 1,
                '(' => return None,
                ')' if level == 0 => return (s.get(k + 1) == Some(&')')).then_some(k + 1),
                ')' => level -= 1,
                '$' if !s.get(k + 1).is_some_and(|&d| is_name_char(d)) => return None,
                '<' if s.get(k + 1) == Some(&'<') => return None,
                c if c.is_ascii_alphanumeric() || " \t_+-*/%<>=!&|^~?:,.[]$@".contains(c) => {}
                _ => return None,
            }
            k += 1;
        }
    }

    /// `${…}` kept when its inside is simple enough for brush-parser's tokenizer; otherwise
    /// the text read so far becomes a literal.
    fn parameter(&mut self, depth: usize, in_dq: bool, out: &mut String) {
        let start = self.sc.pos - 1;
        self.sc.pos += 1;
        let mut buf = String::from("${");
        loop {
            match self.sc.peek() {
                None => break,
                Some('}') => {
                    self.sc.pos += 1;
                    break;
                }
                Some('\'') => {
                    self.sc.pos += 1;
                    let from = self.sc.pos;
                    while self.sc.peek().is_some_and(|c| c != '\'') {
                        self.sc.pos += 1;
                    }
                    let text = self.sc.slice(from);
                    self.sc.eat("'");
                    push_single_quoted(&mut buf, &text);
                }
                Some('"') => self.double_quoted(depth + 1, &mut buf),
                Some('$') => self.dollar(depth + 1, false, &mut buf),
                Some('`') => self.backquoted(depth + 1, &mut buf),
                Some('\\') if self.sc.peek_at(1) == Some('\n') => self.sc.pos += 2,
                Some('\\') => {
                    self.sc.pos += 1;
                    buf.push('\\');
                    match self.sc.bump() {
                        None => buf.push('\\'),
                        Some(d) => buf.push(d),
                    }
                }
                Some(c) if c.is_ascii_alphanumeric() || "_#@*?!:=+-%/,^~.[]{ ".contains(c) => {
                    buf.push(c);
                    self.sc.pos += 1;
                }
                Some(_) => {
                    let raw = self.sc.slice(start);
                    if in_dq {
                        for c in raw.chars() {
                            if matches!(c, '\\' | '"' | '$' | '`') {
                                out.push('\\');
                            }
                            out.push(c);
                        }
                    } else {
                        push_single_quoted(out, &raw);
                    }
                    return;
                }
            }
        }
        buf.push('}');
        out.push_str(&buf);
    }

    /// `` `…` `` as `$(…)`, its inside converted like the rest.
    fn backquoted(&mut self, depth: usize, out: &mut String) {
        self.sc.pos += 1;
        if depth >= LOOSE_MAX_DEPTH {
            out.push_str(r"\`");
            return;
        }
        let mut inner = String::new();
        loop {
            match self.sc.bump() {
                None | Some('`') => break,
                Some('\\') => match self.sc.bump() {
                    Some(d @ ('`' | '\\' | '$')) => inner.push(d),
                    Some(d) => {
                        inner.push('\\');
                        inner.push(d);
                    }
                    None => inner.push('\\'),
                },
                Some(c) => inner.push(c),
            }
        }
        let chars: Vec<char> = inner.chars().collect();
        let converted = Loose {
            sc: Scan::new(&chars),
        }
        .program(depth + 1, false);
        out.push_str("$(");
        out.push_str(&converted);
        out.push(')');
    }
}

/// One simple command of the flat output and the operator after it.
struct FlatCommand {
    items: Vec<String>,
    sep: &'static str,
}

fn is_binary(sep: &str) -> bool {
    matches!(sep, "|" | "&&" | "||")
}

/// Joins tokens into a flat list of simple commands: block keywords, braces and parentheses
/// at command position become separators, empty commands disappear, and `for V in LIST`
/// becomes the assignment `V=(LIST)`.
fn flatten(toks: &[Tok]) -> String {
    let mut commands: Vec<FlatCommand> = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let mut has_name = false;

    let mut finish = |cur: &mut Vec<String>, has_name: &mut bool, sep: &'static str| {
        *has_name = false;
        if !cur.is_empty() {
            commands.push(FlatCommand {
                items: std::mem::take(cur),
                sep,
            });
        } else if let Some(last) = commands.last_mut() {
            // `a && ; b`: the weaker operator wins; a newline after `&&` or `|` continues.
            if is_binary(last.sep) && matches!(sep, ";" | "&") {
                last.sep = sep;
            }
        }
    };

    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Word(w) if has_name || is_assignment(w) => cur.push(w.clone()),
            Tok::Word(w) => match w.as_str() {
                "for" | "select" => {
                    let header = match (toks.get(i + 1), toks.get(i + 2)) {
                        (Some(Tok::Word(name)), Some(Tok::Word(kw)))
                            if is_name(name) && kw == "in" =>
                        {
                            Some(name)
                        }
                        _ => None,
                    };
                    finish(&mut cur, &mut has_name, ";");
                    if let Some(name) = header {
                        let mut list = Vec::new();
                        i += 3;
                        while let Some(Tok::Word(w)) = toks.get(i) {
                            list.push(w.as_str());
                            i += 1;
                        }
                        cur.push(format!("{name}=({})", list.join(" ")));
                        finish(&mut cur, &mut has_name, ";");
                        continue;
                    }
                }
                "if" | "then" | "elif" | "else" | "fi" | "while" | "until" | "do" | "done"
                | "case" | "esac" | "in" | "{" | "}" | "function" | "begin" | "end" => {
                    finish(&mut cur, &mut has_name, ";");
                }
                // Negation does not change what runs.
                "!" => {}
                "[[" | "]]" | "time" => {
                    cur.push(single_quote(w));
                    has_name = true;
                }
                _ => {
                    cur.push(w.clone());
                    has_name = true;
                }
            },
            Tok::Redir(op, target) => cur.push(format!("{op} {target}")),
            Tok::Sep(sep) => finish(&mut cur, &mut has_name, sep),
        }
        i += 1;
    }
    finish(&mut cur, &mut has_name, ";");

    let mut out = String::new();
    let count = commands.len();
    for (k, command) in commands.iter().enumerate() {
        if k > 0 {
            out.push(' ');
        }
        out.push_str(&command.items.join(" "));
        let sep = if command.sep == "\n" {
            ";"
        } else {
            command.sep
        };
        if k + 1 < count {
            out.push(' ');
            out.push_str(sep);
        } else if sep == "&" {
            out.push_str(" &");
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// fish

/// One fish word, translated.
struct FishWord {
    /// The bash text.
    text: String,
    /// The source text, when the word is nothing but plain characters (what a keyword is).
    plain: Option<String>,
    /// The value, quoting removed, when the word has no expansion (for `case` patterns).
    value: Option<String>,
    /// Has an unquoted wildcard or brace: may stand for several words.
    glob: bool,
}

enum FishItem {
    Word(FishWord),
    /// A complete bash redirection.
    Redir(String),
}

impl FishItem {
    fn plain(&self) -> Option<&str> {
        match self {
            FishItem::Word(w) => w.plain.as_deref(),
            FishItem::Redir(_) => None,
        }
    }
}

/// What ended a fish statement.
enum FishTerm {
    /// `;`, newline or `&`.
    Sep(&'static str),
    /// `|`, `&&`, `||` or `|&`.
    Binary(&'static str),
    /// End of the text, or of the command substitution.
    End,
}

enum FishBlock {
    /// `header`: the condition has not been ended by a separator yet.
    If {
        header: bool,
    },
    While {
        header: bool,
    },
    For,
    Begin,
    Function,
    Switch {
        item_open: bool,
    },
}

/// Builds one bash word out of fish pieces.
#[derive(Default)]
struct WordBuf {
    text: String,
    /// Literal characters not yet written: quoted together when written.
    lit: String,
    /// A `$name` not yet written: braced if what follows would extend the name.
    var: Option<String>,
    value: Option<String>,
    plain: bool,
    glob: bool,
    source: String,
}

/// Characters that mean themselves in bash outside quotes.
fn is_safe_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_./:,+=@%-".contains(c)
}

impl WordBuf {
    fn new() -> Self {
        WordBuf {
            value: Some(String::new()),
            plain: true,
            ..WordBuf::default()
        }
    }

    /// Appends bash text, writing out a pending variable first.
    fn append(&mut self, s: &str) {
        if let Some(name) = self.var.take() {
            let numbered = name.len() > 1 && name.starts_with(|c: char| c.is_ascii_digit());
            if numbered || s.starts_with(is_name_char) {
                self.text.push_str(&format!("${{{name}}}"));
            } else {
                self.text.push('$');
                self.text.push_str(&name);
            }
        }
        self.text.push_str(s);
    }

    fn flush_lit(&mut self) {
        if self.lit.is_empty() {
            return;
        }
        let lit = std::mem::take(&mut self.lit);
        if lit.chars().all(is_safe_char) {
            self.append(&lit);
        } else {
            self.append("");
            push_single_quoted(&mut self.text, &lit);
        }
    }

    fn lit(&mut self, c: char) {
        self.lit.push(c);
        if let Some(v) = &mut self.value {
            v.push(c);
        }
    }

    /// An unquoted character with the same special meaning in bash (glob, brace, tilde).
    fn raw(&mut self, c: char) {
        self.glob |= matches!(c, '*' | '?' | '{');
        self.flush_lit();
        self.append(c.encode_utf8(&mut [0; 4]));
        if let Some(v) = &mut self.value {
            v.push(c);
        }
    }

    fn expansion(&mut self, s: &str) {
        self.flush_lit();
        self.append(s);
        self.value = None;
    }

    fn var(&mut self, name: String) {
        self.flush_lit();
        self.append("");
        self.var = Some(name);
        self.value = None;
    }

    /// A literal character inside a double-quoted string.
    fn dq_char(&mut self, c: char) {
        if matches!(c, '\\' | '"' | '$' | '`') {
            self.append(&format!("\\{c}"));
        } else {
            self.append(c.encode_utf8(&mut [0; 4]));
        }
        if let Some(v) = &mut self.value {
            v.push(c);
        }
    }

    fn finish(mut self) -> FishWord {
        self.flush_lit();
        self.append("");
        FishWord {
            text: self.text,
            plain: self.plain.then_some(self.source),
            value: self.value,
            glob: self.glob,
        }
    }
}

fn ends_fish_word(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '<' | '>' | ')'
    )
}

struct Fish<'a> {
    sc: Scan<'a>,
    /// No `]` before this position on the same line (saves rescanning `$a[$b[$c[…`).
    no_bracket_before: usize,
}

impl Fish<'_> {
    /// Converts up to the end, or when `nested`, up to the `)` that closes a substitution.
    fn program(&mut self, depth: usize, nested: bool) -> String {
        let mut em = Emitter::new();
        let mut blocks = Vec::new();
        loop {
            let (items, term) = self.statement(depth, nested);
            fish_statement(items, &mut em, &mut blocks);
            match term {
                FishTerm::Sep(sep) => match blocks.last_mut() {
                    Some(FishBlock::If { header: h @ true }) => {
                        *h = false;
                        em.header_end("then");
                    }
                    Some(FishBlock::While { header: h @ true }) => {
                        *h = false;
                        em.header_end("do");
                    }
                    _ => em.end_statement(sep),
                },
                FishTerm::Binary(op) => em.binary(op),
                FishTerm::End => break,
            }
        }
        while let Some(block) = blocks.pop() {
            close_fish_block(block, &mut em);
        }
        em.finish()
    }

    /// The words and redirections of one statement, and what ended it.
    fn statement(&mut self, depth: usize, nested: bool) -> (Vec<FishItem>, FishTerm) {
        let mut items = Vec::new();
        loop {
            let Some(c) = self.sc.peek() else {
                return (items, FishTerm::End);
            };
            match c {
                ' ' | '\t' | '\r' => self.sc.pos += 1,
                '\\' if self.sc.peek_at(1) == Some('\n') => self.sc.pos += 2,
                '\n' | ';' => {
                    self.sc.pos += 1;
                    return (items, FishTerm::Sep(";"));
                }
                '#' => self.sc.skip_comment(),
                '&' if self.sc.peek_at(1) == Some('>') => {
                    self.redirect(String::new(), depth, &mut items);
                }
                '&' | '|' => {
                    let op = self
                        .sc
                        .first_of(&["&&", "||", "&|", "&", "|"])
                        .unwrap_or("|");
                    self.sc.eat(op);
                    let term = match op {
                        "&" => FishTerm::Sep("&"),
                        "&|" => FishTerm::Binary("|&"),
                        op => FishTerm::Binary(op),
                    };
                    return (items, term);
                }
                ')' => {
                    self.sc.pos += 1;
                    if nested {
                        return (items, FishTerm::End);
                    }
                    items.push(FishItem::Word(FishWord {
                        text: single_quote(")"),
                        plain: None,
                        value: Some(")".to_string()),
                        glob: false,
                    }));
                }
                // Old fish (before 3.0) redirected stderr with `^`; today it is a plain character
                // (`grep ^foo`), so only the unmistakable forms count: `^/dev/null`, `^^log`,
                // `^&1`.
                '<' | '>' | '^'
                    if c != '^' || matches!(self.sc.peek_at(1), Some('/' | '^' | '&')) =>
                {
                    if let Some(term) = self.redirect(String::new(), depth, &mut items) {
                        return (items, term);
                    }
                }
                c if c.is_ascii_digit() && self.digits_before_redirect() > 0 => {
                    let start = self.sc.pos;
                    self.sc.pos += self.digits_before_redirect();
                    let fd = self.sc.slice(start);
                    if let Some(term) = self.redirect(fd, depth, &mut items) {
                        return (items, term);
                    }
                }
                _ => {
                    let start = self.sc.pos;
                    let word = self.word(depth);
                    if self.sc.pos == start {
                        self.sc.pos += 1;
                    } else if !word.text.is_empty() {
                        items.push(FishItem::Word(word));
                    }
                }
            }
        }
    }

    /// How many digits start a redirection such as `2>` here (0: none).
    fn digits_before_redirect(&self) -> usize {
        let mut k = 0;
        while self.sc.peek_at(k).is_some_and(|c| c.is_ascii_digit()) {
            k += 1;
        }
        if matches!(self.sc.peek_at(k), Some('<' | '>')) {
            k
        } else {
            0
        }
    }

    /// A fish redirection: `>`, `>>`, `<`, `>?`, `<?`, `&>`, `&>>`, `N>&M`, old `^`/`^^`, or
    /// `N>|` (pipe of that descriptor), which ends the statement.
    fn redirect(
        &mut self,
        fd: String,
        depth: usize,
        items: &mut Vec<FishItem>,
    ) -> Option<FishTerm> {
        let c = self.sc.bump()?;
        let (fd, op) = match c {
            '&' => {
                self.sc.eat(">");
                let op = if self.sc.eat(">") { "&>>" } else { "&>" };
                (String::new(), op)
            }
            '^' => {
                let op = if self.sc.eat("^") { ">>" } else { ">" };
                ("2".to_string(), op)
            }
            '>' if self.sc.eat(">") => (fd, ">>"),
            '>' if self.sc.eat("|") => {
                if !fd.is_empty() && fd != "1" {
                    items.push(FishItem::Redir(format!("{fd}>&1")));
                }
                return Some(FishTerm::Binary("|"));
            }
            '>' => (fd, ">"),
            _ => (fd, "<"),
        };
        // `>?` (no clobber) and `<?` (only if it exists) name the same file.
        self.sc.eat("?");
        if matches!(op, ">" | "<") && self.sc.eat("&") {
            let start = self.sc.pos;
            while self
                .sc
                .peek()
                .is_some_and(|c| c.is_ascii_digit() || c == '-')
            {
                self.sc.pos += 1;
            }
            let target = self.sc.slice(start);
            if !target.is_empty() {
                items.push(FishItem::Redir(format!("{fd}{op}&{target}")));
            }
            return None;
        }
        self.sc.skip_blanks();
        if self
            .sc
            .peek()
            .is_some_and(|c| !ends_fish_word(c) && c != '#')
        {
            let target = self.word(depth);
            if !target.text.is_empty() {
                items.push(FishItem::Redir(format!("{fd}{op} {}", target.text)));
            }
        }
        None
    }

    fn word(&mut self, depth: usize) -> FishWord {
        let mut w = WordBuf::new();
        while let Some(c) = self.sc.peek() {
            match c {
                // Since fish 3.4 `&` inside a token is a plain character unless an operator
                // (`&&`, `&|`, `&>`) or the end of the statement follows.
                '&' if !w.text.is_empty() || !w.lit.is_empty() || w.var.is_some() => {
                    match self.sc.peek_at(1) {
                        None | Some('&' | '|' | '>' | ';' | ' ' | '\t' | '\r' | '\n' | ')') => {
                            break
                        }
                        Some(_) => {
                            self.sc.pos += 1;
                            w.lit('&');
                            w.source.push('&');
                        }
                    }
                }
                c if ends_fish_word(c) => break,
                '\\' => {
                    w.plain = false;
                    self.sc.pos += 1;
                    self.escape(&mut w);
                }
                '\'' => {
                    w.plain = false;
                    self.single_quoted(&mut w);
                }
                '"' => {
                    w.plain = false;
                    self.double_quoted(depth, &mut w);
                }
                '$' => {
                    w.plain = false;
                    self.dollar(depth, false, &mut w);
                }
                '(' => {
                    w.plain = false;
                    self.substitution(depth, false, &mut w);
                }
                '~' | '*' | '?' | '{' | '}' | '[' | ']' | '!' | '#' | '^' | '%' => {
                    self.sc.pos += 1;
                    w.raw(c);
                    w.source.push(c);
                }
                _ => {
                    self.sc.pos += 1;
                    w.lit(c);
                    w.source.push(c);
                }
            }
        }
        w.finish()
    }

    /// A backslash escape outside quotes (the backslash is read).
    fn escape(&mut self, w: &mut WordBuf) {
        let Some(c) = self.sc.bump() else {
            w.lit('\\');
            return;
        };
        let byte = |n: u32| {
            char::from_u32(n)
                .filter(char::is_ascii)
                .unwrap_or('\u{fffd}')
        };
        let ch = match c {
            '\n' => return,
            'a' => '\x07',
            'b' => '\x08',
            'e' => '\x1b',
            'f' => '\x0c',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\x0b',
            'x' | 'X' => self.code(16, 2).map_or(c, byte),
            'u' => self
                .code(16, 4)
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}'),
            'U' => self
                .code(16, 8)
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}'),
            '0'..='7' => {
                self.sc.pos -= 1;
                self.code(8, 3).map_or(c, byte)
            }
            'c' => match self.sc.bump() {
                Some(x) => char::from_u32(u32::from(x) & 0x1f).unwrap_or('\u{fffd}'),
                None => 'c',
            },
            other => other,
        };
        w.lit(ch);
    }

    /// Up to `max` digits in `radix`, as a number.
    fn code(&mut self, radix: u32, max: usize) -> Option<u32> {
        let mut n: u32 = 0;
        let mut digits = 0;
        while digits < max {
            let Some(d) = self.sc.peek().and_then(|c| c.to_digit(radix)) else {
                break;
            };
            n = n.saturating_mul(radix).saturating_add(d);
            self.sc.pos += 1;
            digits += 1;
        }
        (digits > 0).then_some(n)
    }

    fn single_quoted(&mut self, w: &mut WordBuf) {
        self.sc.pos += 1;
        let mut empty = true;
        loop {
            match self.sc.bump() {
                None | Some('\'') => break,
                Some('\\') if matches!(self.sc.peek(), Some('\\' | '\'')) => {
                    w.lit(self.sc.bump().unwrap_or('\\'));
                }
                Some(c) => w.lit(c),
            }
            empty = false;
        }
        if empty {
            w.flush_lit();
            w.append("''");
        }
    }

    fn double_quoted(&mut self, depth: usize, w: &mut WordBuf) {
        self.sc.pos += 1;
        w.flush_lit();
        w.append("\"");
        loop {
            match self.sc.peek() {
                None => break,
                Some('"') => {
                    self.sc.pos += 1;
                    break;
                }
                Some('\\') => match self.sc.peek_at(1) {
                    Some(c @ ('"' | '\\' | '$')) => {
                        self.sc.pos += 2;
                        w.dq_char(c);
                    }
                    Some('\n') => self.sc.pos += 2,
                    _ => {
                        self.sc.pos += 1;
                        w.dq_char('\\');
                    }
                },
                Some('$') => self.dollar(depth, true, w),
                Some(c) => {
                    self.sc.pos += 1;
                    w.dq_char(c);
                }
            }
        }
        w.append("\"");
    }

    /// `$name`, `$name[…]` or `$(…)` (the `$` is at the read position).
    fn dollar(&mut self, depth: usize, in_dq: bool, w: &mut WordBuf) {
        self.sc.pos += 1;
        match self.sc.peek() {
            Some('(') if depth < MAX_DEPTH => self.substitution(depth, in_dq, w),
            Some(c) if is_name_char(c) => {
                let start = self.sc.pos;
                while self.sc.peek().is_some_and(is_name_char) {
                    self.sc.pos += 1;
                }
                let name = self.sc.slice(start);
                let index = self.index();
                match name.as_str() {
                    "argv" => match index.as_deref().map(str::trim) {
                        Some(i)
                            if i.chars().all(|c| c.is_ascii_digit())
                                && !i.trim_start_matches('0').is_empty() =>
                        {
                            w.var(i.trim_start_matches('0').to_string());
                        }
                        _ => w.expansion(if in_dq { "$@" } else { "\"$@\"" }),
                    },
                    "status" => w.expansion("$?"),
                    "fish_pid" => w.expansion("$$"),
                    "last_pid" => w.expansion("$!"),
                    _ => w.var(name),
                }
            }
            _ if in_dq => w.dq_char('$'),
            _ => w.lit('$'),
        }
    }

    /// `[…]` right after a variable or substitution: its text, if it closes on this line.
    fn index(&mut self) -> Option<String> {
        if self.sc.peek() != Some('[') || self.sc.pos < self.no_bracket_before {
            return None;
        }
        let mut k = self.sc.pos + 1;
        while let Some(&c) = self.sc.s.get(k) {
            match c {
                ']' => {
                    let inner = self.sc.s[self.sc.pos + 1..k].iter().collect();
                    self.sc.pos = k + 1;
                    return Some(inner);
                }
                '\n' => break,
                _ => k += 1,
            }
        }
        self.no_bracket_before = k;
        None
    }

    /// `(…)` command substitution (the `(` is at the read position).
    fn substitution(&mut self, depth: usize, in_dq: bool, w: &mut WordBuf) {
        self.sc.pos += 1;
        if depth >= MAX_DEPTH {
            if in_dq {
                w.dq_char('(');
            } else {
                w.lit('(');
            }
            return;
        }
        let inner = self.program(depth + 1, true);
        w.expansion(&format!("$({inner})"));
        if !in_dq {
            // `(cmd)[1]`: which lines are used does not matter here.
            self.index();
        }
    }
}

/// Translates one fish statement: keywords at command position open and close blocks.
fn fish_statement(items: Vec<FishItem>, em: &mut Emitter, blocks: &mut Vec<FishBlock>) {
    let mut i = 0;
    while i < items.len() {
        let in_if = matches!(blocks.last(), Some(FishBlock::If { .. }));
        match items[i].plain() {
            Some("and") => em.connect("&&"),
            Some("or") => em.connect("||"),
            Some("not" | "!") => em.negate = !em.negate,
            Some("if") => {
                em.open("if");
                blocks.push(FishBlock::If { header: true });
            }
            Some("while") => {
                em.open("while");
                blocks.push(FishBlock::While { header: true });
            }
            Some("else") if in_if => {
                if items.get(i + 1).and_then(FishItem::plain) == Some("if") {
                    em.middle("elif");
                    blocks.pop();
                    blocks.push(FishBlock::If { header: true });
                    i += 1;
                } else {
                    em.middle("else");
                }
            }
            Some("begin" | "{") => {
                em.open("{");
                blocks.push(FishBlock::Begin);
            }
            Some("end" | "}") => {
                if let Some(block) = blocks.pop() {
                    close_fish_block(block, em);
                }
            }
            Some("for") => {
                fish_for(&items[i + 1..], em);
                blocks.push(FishBlock::For);
                return;
            }
            Some("switch") => {
                let value = match items.get(i + 1) {
                    Some(FishItem::Word(w)) => w.text.as_str(),
                    _ => "''",
                };
                em.open(&format!("case {value} in"));
                blocks.push(FishBlock::Switch { item_open: false });
                return;
            }
            Some("case") => {
                if let Some(FishBlock::Switch { item_open }) = blocks.last_mut() {
                    let patterns: Vec<String> = items[i + 1..]
                        .iter()
                        .filter_map(|item| match item {
                            FishItem::Word(w) => Some(case_pattern(w)),
                            FishItem::Redir(_) => None,
                        })
                        .collect();
                    let patterns = if patterns.is_empty() {
                        "''".to_string()
                    } else {
                        patterns.join("|")
                    };
                    em.case_item(*item_open, &patterns);
                    *item_open = true;
                }
                return;
            }
            Some("function") => {
                fish_function(&items[i + 1..], em);
                blocks.push(FishBlock::Function);
                return;
            }
            Some("set") if fish_set(&items[i + 1..], em) => return,
            // Out of place: fish would refuse it.
            Some("else") => {}
            _ => {
                for (k, item) in items[i..].iter().enumerate() {
                    match item {
                        FishItem::Word(w) if k == 0 && BASH_RESERVED.contains(&w.text.as_str()) => {
                            em.word(&single_quote(&w.text));
                        }
                        FishItem::Word(w) => em.word(&w.text),
                        FishItem::Redir(r) => em.redir(r),
                    }
                }
                return;
            }
        }
        i += 1;
    }
}

fn close_fish_block(block: FishBlock, em: &mut Emitter) {
    match block {
        FishBlock::If { .. } => em.close("fi"),
        FishBlock::While { .. } | FishBlock::For => em.close("done"),
        FishBlock::Begin | FishBlock::Function => em.close("}"),
        FishBlock::Switch { item_open } => em.close_case(item_open),
    }
}

fn words(items: &[FishItem]) -> impl Iterator<Item = &FishWord> {
    items.iter().filter_map(|item| match item {
        FishItem::Word(w) => Some(w),
        FishItem::Redir(_) => None,
    })
}

/// `for V in LIST` (after `for`) as `for V in LIST; do`.
fn fish_for(rest: &[FishItem], em: &mut Emitter) {
    let var = rest
        .first()
        .and_then(FishItem::plain)
        .filter(|v| is_name(v))
        .unwrap_or("__cmdai_v");
    let skip = if rest.get(1).and_then(FishItem::plain) == Some("in") {
        2
    } else {
        1
    };
    let list: Vec<&str> = words(rest.get(skip..).unwrap_or_default())
        .map(|w| w.text.as_str())
        .collect();
    em.open(&format!("for {var} in {}; do", list.join(" ")));
}

/// `function NAME [options]` (after `function`) as `NAME() {`, with `--argument-names` as
/// assignments from the positional parameters.
fn fish_function(rest: &[FishItem], em: &mut Emitter) {
    let name = rest
        .first()
        .and_then(FishItem::plain)
        .filter(|n| {
            n.chars().all(|c| is_safe_char(c) && c != '=')
                && !n.starts_with('-')
                && !n.ends_with(['@', '+'])
                && !BASH_RESERVED.contains(n)
        })
        .unwrap_or("__cmdai_fn");
    let mut arguments = Vec::new();
    let mut naming = false;
    let mut skip_next = false;
    for item in rest.iter().skip(1) {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        let Some(word) = item.plain() else {
            naming = false;
            continue;
        };
        if naming && !word.starts_with('-') {
            arguments.push(word);
            continue;
        }
        naming = false;
        match word {
            "-a" | "--argument-names" | "--argument" => naming = true,
            "-d" | "--description" | "-w" | "--wraps" | "-e" | "--on-event" | "-v"
            | "--on-variable" | "-j" | "--on-job-exit" | "-p" | "--on-process-exit" | "-s"
            | "--on-signal" | "-V" | "--inherit-variable" => skip_next = true,
            _ => {
                if let Some(list) = word.strip_prefix("--argument-names=") {
                    arguments.push(list);
                    naming = true;
                }
            }
        }
    }
    em.open(&format!("{name}() {{"));
    for (k, argument) in arguments.iter().filter(|a| is_name(a)).enumerate() {
        em.word(&format!("{argument}=\"${{{}}}\"", k + 1));
        em.end_statement(";");
    }
}

/// `set [flags] NAME VALUES…` (after `set`) as an assignment, `set -e NAME` as `unset`.
/// Other forms (`set -q`, `set` alone) are left to be commands: returns false.
fn fish_set(rest: &[FishItem], em: &mut Emitter) -> bool {
    let (mut erase, mut append, mut prepend) = (false, false, false);
    let mut k = 0;
    while let Some(flag) = rest.get(k).and_then(FishItem::plain) {
        if !flag.starts_with('-') || flag == "-" {
            break;
        }
        k += 1;
        match flag {
            "--" => break,
            "--erase" => erase = true,
            "--append" => append = true,
            "--prepend" => prepend = true,
            "--global" | "--local" | "--export" | "--unexport" | "--universal" | "--function"
            | "--path" | "--unpath" => {}
            long if long.starts_with("--") => return false,
            short => {
                for c in short.chars().skip(1) {
                    match c {
                        'e' => erase = true,
                        'a' => append = true,
                        'p' => prepend = true,
                        'g' | 'l' | 'x' | 'u' | 'U' | 'f' => {}
                        _ => return false,
                    }
                }
            }
        }
    }
    let Some(target) = rest.get(k).and_then(FishItem::plain) else {
        return false;
    };
    let name = target.split('[').next().unwrap_or_default();
    if !is_name(name) {
        return false;
    }
    let values: Vec<&FishWord> = words(&rest[k + 1..]).collect();
    let glob = values.iter().any(|w| w.glob);
    let values: Vec<&str> = values.iter().map(|w| w.text.as_str()).collect();
    if erase {
        em.word("unset");
        em.word(name);
    } else if append {
        em.word(&format!("{name}+=({})", values.join(" ")));
    } else if prepend {
        em.word(&format!("{name}=({} \"${{{name}[@]}}\")", values.join(" ")));
    } else if values.len() == 1 && !glob {
        em.word(&format!("{name}={}", values[0]));
    } else {
        em.word(&format!("{name}=({})", values.join(" ")));
    }
    true
}

/// A fish `case` pattern as a bash one: fish wildcards match even when quoted.
fn case_pattern(w: &FishWord) -> String {
    let Some(value) = &w.value else {
        return w.text.clone();
    };
    if value.is_empty() {
        return "''".to_string();
    }
    let mut out = String::new();
    for c in value.chars() {
        match c {
            '*' | '?' => out.push(c),
            '\n' => out.push_str(r"$'\n'"),
            c if is_safe_char(c) => out.push(c),
            c => {
                out.push('\\');
                out.push(c);
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EmState {
    /// At the start of a list (after `then`, `do`, `{`, a case pattern, or the beginning).
    Start,
    /// In a command: a word or redirection extends it.
    InCommand,
    /// A command ended by a separator not written yet.
    Ended,
    /// After `|`, `&&` or `||`.
    Binary,
}

/// Writes bash text out of a stream of commands and block keywords, placing separators
/// only where bash allows them and `:` where a list would otherwise be empty.
struct Emitter {
    out: String,
    state: EmState,
    /// The command in progress is a compound command that has just been closed.
    after_close: bool,
    /// The separator (`;` or `&`) that ended the last command.
    pending_sep: &'static str,
    /// `then` or `do`, written once the condition is known to be complete (fish continues
    /// a condition with `and`/`or` statements).
    pending_kw: Option<&'static str>,
    negate: bool,
}

impl Emitter {
    fn new() -> Self {
        Emitter {
            out: String::new(),
            state: EmState::Start,
            after_close: false,
            pending_sep: ";",
            pending_kw: None,
            negate: false,
        }
    }

    fn push(&mut self, s: &str) {
        if !self.out.is_empty() {
            self.out.push(' ');
        }
        self.out.push_str(s);
    }

    fn flush_kw(&mut self) {
        if let Some(kw) = self.pending_kw.take() {
            if matches!(self.state, EmState::Start | EmState::Binary) {
                self.push(":");
            }
            self.out.push(';');
            self.push(kw);
            self.state = EmState::Start;
        }
    }

    /// Writes what must come before a new command.
    fn begin_command(&mut self) {
        match self.state {
            EmState::Binary => {}
            EmState::InCommand => self.out.push(';'),
            EmState::Ended if self.pending_kw.is_some() => self.flush_kw(),
            EmState::Ended if self.pending_sep == "&" => self.push("&"),
            EmState::Ended => self.out.push(';'),
            EmState::Start => self.flush_kw(),
        }
        if std::mem::take(&mut self.negate) {
            self.push("!");
        }
    }

    fn word(&mut self, text: &str) {
        if self.state != EmState::InCommand || self.after_close {
            self.begin_command();
            self.state = EmState::InCommand;
            self.after_close = false;
        }
        self.push(text);
    }

    fn redir(&mut self, text: &str) {
        if self.state != EmState::InCommand {
            self.begin_command();
            self.state = EmState::InCommand;
        }
        self.push(text);
    }

    /// `|`, `&&`, `||` between commands.
    fn binary(&mut self, op: &str) {
        if self.state == EmState::InCommand {
            self.push(op);
            self.state = EmState::Binary;
            self.after_close = false;
        }
    }

    /// fish `and`/`or`: joins the previous command.
    fn connect(&mut self, op: &str) {
        if matches!(self.state, EmState::Ended | EmState::InCommand) {
            self.push(op);
            self.state = EmState::Binary;
            self.after_close = false;
        }
    }

    fn end_statement(&mut self, sep: &'static str) {
        self.negate = false;
        if self.state == EmState::InCommand {
            self.state = EmState::Ended;
            self.pending_sep = if sep == "&" { "&" } else { ";" };
        }
    }

    /// The end of an `if`/`while` condition: `kw` comes before the next command.
    fn header_end(&mut self, kw: &'static str) {
        self.end_statement(";");
        self.pending_kw = Some(kw);
    }

    /// A compound command's opening text (`if`, `for … do`, `{`, `NAME() {`, `case … in`).
    fn open(&mut self, text: &str) {
        self.begin_command();
        self.push(text);
        self.state = EmState::Start;
        self.after_close = false;
    }

    /// `else` or `elif`.
    fn middle(&mut self, kw: &str) {
        self.flush_kw();
        if matches!(self.state, EmState::Start | EmState::Binary) {
            self.push(":");
        }
        self.out.push(';');
        self.push(kw);
        self.state = EmState::Start;
        self.negate = false;
    }

    /// `fi`, `done` or `}`.
    fn close(&mut self, kw: &str) {
        self.flush_kw();
        if matches!(self.state, EmState::Start | EmState::Binary) {
            self.push(":");
        }
        self.out.push(';');
        self.push(kw);
        self.state = EmState::InCommand;
        self.after_close = true;
        self.negate = false;
    }

    fn close_case_item(&mut self) {
        if self.state == EmState::Binary {
            self.push(":");
        }
        self.push(";;");
        self.state = EmState::Start;
    }

    /// A case pattern list; patterns are written `(P1|P2)` so that parentheses stay balanced
    /// inside `$(…)`.
    fn case_item(&mut self, item_open: bool, patterns: &str) {
        if item_open {
            self.close_case_item();
        }
        self.push(&format!("({patterns})"));
        self.state = EmState::Start;
    }

    fn close_case(&mut self, item_open: bool) {
        if item_open {
            self.close_case_item();
        }
        self.push("esac");
        self.state = EmState::InCommand;
        self.after_close = true;
    }

    fn finish(mut self) -> String {
        self.flush_kw();
        match self.state {
            EmState::Binary => self.push(":"),
            EmState::Ended if self.pending_sep == "&" => self.push("&"),
            _ => {}
        }
        self.out
    }
}

// ---------------------------------------------------------------------------------------------
// zsh

/// Where a zsh list ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The end of the text.
    Eof,
    /// A `)` (command substitution, subshell).
    Paren,
    /// A `}` word (zsh closes braces even in argument position).
    Brace,
    /// `end` (`foreach`).
    End,
    /// `done`.
    Done,
    /// The end of a pipeline list: `;`, `&`, newline.
    Sublist,
    /// `;;`, `;&`, `;|` or `esac`.
    CaseItem,
    /// `then`, `do` or `{` after an `if`/`while` condition.
    Cond,
}

/// Words after which the next word is still at command position.
const KEEPS_COMMAND_POSITION: &[&str] = &[
    "if",
    "then",
    "else",
    "elif",
    "do",
    "while",
    "until",
    "!",
    "time",
    "noglob",
    "nocorrect",
    "exec",
    "command",
    "builtin",
    "coproc",
];

fn is_zsh_delim(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\n' | ';' | '&' | '|' | '<' | '>' | '(' | ')'
    )
}

/// A list body ready to be followed by a closing keyword: ends with a separator, and is `:`
/// when empty.
fn close_body(body: &str) -> String {
    let trimmed = body.trim_end();
    if trimmed.trim_start().is_empty() {
        return " :;".to_string();
    }
    let mut s = trimmed.to_string();
    if !s.starts_with(char::is_whitespace) {
        s.insert(0, ' ');
    }
    if has_comment(trimmed) || trimmed.ends_with('\\') {
        s.push('\n');
    } else if trimmed.ends_with("&&") || trimmed.ends_with("||") || trimmed.ends_with('|') {
        s.push_str(" :;");
    } else if !trimmed.ends_with(';') && !trimmed.ends_with('&') {
        s.push(';');
    }
    s
}

/// Whether `text` may contain a comment: a `#` that starts a word.
fn has_comment(text: &str) -> bool {
    let mut prev = ' ';
    for c in text.chars() {
        if c == '#' && (prev.is_whitespace() || ";&|(){}".contains(prev)) {
            return true;
        }
        prev = c;
    }
    false
}

struct Zsh<'a> {
    sc: Scan<'a>,
    /// Anonymous functions written so far.
    anon: usize,
    /// Here-document tags whose bodies start after the next newline.
    heredocs: Vec<(String, bool)>,
}

impl Zsh<'_> {
    /// Copies text up to `stop`, which is left unread, rewriting zsh-only constructs.
    fn list(&mut self, depth: usize, stop: Stop) -> String {
        let mut out = String::new();
        if depth > MAX_DEPTH {
            out.extend(&self.sc.s[self.sc.pos..]);
            self.sc.pos = self.sc.s.len();
            return out;
        }
        let mut cmd_pos = true;
        let mut after_test = false;
        // The last operator was a pipe.
        let mut piped = false;
        let mut nest = 0usize;
        loop {
            self.copy_blanks(&mut out);
            let Some(c) = self.sc.peek() else { break };
            let start = self.sc.pos;
            match c {
                '\n' => {
                    if stop == Stop::Sublist {
                        break;
                    }
                    self.sc.pos += 1;
                    out.push('\n');
                    self.heredoc_bodies(&mut out);
                    cmd_pos = true;
                    after_test = false;
                    piped = false;
                }
                '#' => self.copy_comment(&mut out),
                ';' => {
                    let op = self.sc.first_of(&[";;&", ";;", ";&", ";|"]).unwrap_or(";");
                    if stop == Stop::Sublist || (stop == Stop::CaseItem && op != ";") {
                        break;
                    }
                    self.sc.eat(op);
                    out.push_str(op);
                    cmd_pos = true;
                    after_test = false;
                    piped = false;
                }
                '&' | '|' => {
                    let op = self
                        .sc
                        .first_of(&["&&", "||", "&>>", "&>", "&|", "&!", "|&", "&", "|"])
                        .unwrap_or("|");
                    if stop == Stop::Sublist && matches!(op, "&" | "&|" | "&!") {
                        break;
                    }
                    if op.starts_with("&>") {
                        self.redirect(depth, &mut out);
                    } else {
                        self.sc.eat(op);
                        out.push_str(op);
                        cmd_pos = true;
                    }
                    after_test = false;
                    piped = matches!(op, "|" | "|&");
                }
                '<' | '>' => {
                    self.redirect(depth, &mut out);
                    after_test = false;
                }
                '(' if cmd_pos => {
                    if let Some(after) = self.anon_parens() {
                        self.sc.pos = after;
                        let text = self.anon_function(depth, piped);
                        out.push_str(&text);
                    } else if self.sc.peek_at(1) == Some('(') {
                        out.push_str(&self.copy_balanced());
                    } else {
                        self.sc.pos += 1;
                        let inner = self.list(depth + 1, Stop::Paren);
                        out.push('(');
                        out.push_str(&inner);
                        if self.sc.eat(")") {
                            out.push(')');
                        }
                    }
                    cmd_pos = false;
                    after_test = true;
                }
                '(' => {
                    // `name ()` before a function body, or a glob group.
                    let group = self.copy_balanced();
                    cmd_pos = group
                        .chars()
                        .filter(|c| !c.is_whitespace())
                        .eq("()".chars());
                    out.push_str(&group);
                }
                ')' => {
                    if stop != Stop::Eof {
                        break;
                    }
                    self.sc.pos += 1;
                    out.push(')');
                }
                _ => {
                    let plain = self.peek_plain();
                    let p = plain.as_deref();
                    if p == Some("}") && !matches!(stop, Stop::Eof | Stop::Paren) {
                        break;
                    }
                    let ends = match stop {
                        Stop::End => p == Some("end"),
                        Stop::Done => p == Some("done") && nest == 0,
                        Stop::CaseItem => p == Some("esac"),
                        Stop::Cond => matches!(p, Some("then" | "do")),
                        _ => false,
                    };
                    if cmd_pos && ends {
                        break;
                    }
                    if stop == Stop::Cond && p == Some("{") && (cmd_pos || after_test) {
                        break;
                    }
                    after_test = false;
                    if cmd_pos {
                        if let Some(kw) = p {
                            if let Some((text, next)) = self.construct(kw, depth, piped) {
                                out.push_str(&text);
                                cmd_pos = next;
                                after_test = kw == "[[";
                                continue;
                            }
                            if stop == Stop::Done {
                                match kw {
                                    "do" => nest += 1,
                                    "done" => nest = nest.saturating_sub(1),
                                    _ => {}
                                }
                            }
                        }
                    }
                    let word = self.word(depth);
                    if self.sc.pos == start {
                        out.push(c);
                        self.sc.pos += 1;
                        continue;
                    }
                    cmd_pos = cmd_pos
                        && (p.is_some_and(|k| KEEPS_COMMAND_POSITION.contains(&k))
                            || is_assignment(&word)
                            || word.ends_with("()"));
                    out.push_str(&word);
                }
            }
        }
        out
    }

    /// A construct that starts with the keyword `kw` at command position, rewritten: its
    /// text and whether a command may follow directly.
    /// `piped`: it is on the right of a pipe.
    fn construct(&mut self, kw: &str, depth: usize, piped: bool) -> Option<(String, bool)> {
        Some(match kw {
            "for" => self.zfor(depth),
            "foreach" => self.zforeach(depth),
            "repeat" => self.zrepeat(depth),
            "if" => self.zif(depth),
            "while" | "until" => self.zwhile(kw, depth),
            "function" => self.zfunction(depth, piped),
            "{" => {
                let body = self.brace_body(depth);
                let mut out = format!("{{{} }}", close_body(&body));
                // `{ TRY } always { FINALLY }`: both run.
                let save = self.sc.pos;
                self.sc.skip_blanks();
                if self.eat_word("always") {
                    self.sc.skip_blanks();
                    if self.peek_plain().as_deref() == Some("{") {
                        let finally = self.brace_body(depth);
                        out.push_str(&format!("; {{{} }}", close_body(&finally)));
                    } else {
                        self.sc.pos = save;
                    }
                } else {
                    self.sc.pos = save;
                }
                (out, false)
            }
            "[[" => self.test_expression(depth),
            "case" => self.zcase(depth),
            _ => return None,
        })
    }

    /// The text of the next word if it is all plain characters (no quoting or expansion).
    fn peek_plain(&self) -> Option<String> {
        let s = self.sc.s;
        let mut k = self.sc.pos;
        while let Some(&c) = s.get(k) {
            if is_zsh_delim(c) {
                break;
            }
            if matches!(c, '\'' | '"' | '\\' | '$' | '`') {
                return None;
            }
            k += 1;
        }
        (k > self.sc.pos).then(|| s[self.sc.pos..k].iter().collect())
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let found = self.peek_plain().as_deref() == Some(word);
        if found {
            self.sc.pos += word.chars().count();
        }
        found
    }

    fn copy_blanks(&mut self, out: &mut String) {
        loop {
            match self.sc.peek() {
                Some(c @ (' ' | '\t')) => {
                    out.push(c);
                    self.sc.pos += 1;
                }
                Some('\\') if self.sc.peek_at(1) == Some('\n') => {
                    out.push_str("\\\n");
                    self.sc.pos += 2;
                }
                _ => return,
            }
        }
    }

    fn skip_blanks_and_newlines(&mut self) {
        while matches!(self.sc.peek(), Some(' ' | '\t' | '\n')) {
            self.sc.pos += 1;
        }
    }

    fn copy_comment(&mut self, out: &mut String) {
        let start = self.sc.pos;
        self.sc.skip_comment();
        out.push_str(&self.sc.slice(start));
    }

    fn heredoc_bodies(&mut self, out: &mut String) {
        for (tag, strip_tabs) in std::mem::take(&mut self.heredocs) {
            let (_, raw) = self.sc.heredoc(&tag, strip_tabs);
            out.push_str(&raw);
        }
    }

    /// A redirection with its target, or a process substitution `<(…)`/`>(…)`.
    fn redirect(&mut self, depth: usize, out: &mut String) {
        if let (Some(c @ ('<' | '>')), Some('(')) = (self.sc.peek(), self.sc.peek_at(1)) {
            self.sc.pos += 2;
            let inner = self.list(depth + 1, Stop::Paren);
            out.push(c);
            out.push('(');
            out.push_str(&inner);
            if self.sc.eat(")") {
                out.push(')');
            }
            return;
        }
        const OPS: &[&str] = &[
            "<<<", "<<-", "<<", "<&", "<>", "<", ">>!", ">>|", ">>", ">&!", ">&|", ">&", ">|",
            ">!", ">", "&>>", "&>",
        ];
        let Some(op) = self.sc.first_of(OPS) else {
            out.extend(self.sc.bump());
            return;
        };
        self.sc.eat(op);
        out.push_str(op);
        self.copy_blanks(out);
        let word_start =
            self.sc.at("=(") || self.sc.peek().is_some_and(|c| !is_zsh_delim(c) && c != '#');
        if word_start {
            let start = self.sc.pos;
            let word = self.word(depth);
            out.push_str(&word);
            if op == "<<" || op == "<<-" {
                self.heredocs
                    .push((unquote(&self.sc.slice(start)), op == "<<-"));
            }
        }
    }

    /// One word, copied, with command substitutions converted and `=(…)` as `<(…)`.
    fn word(&mut self, depth: usize) -> String {
        let mut out = String::new();
        let start = self.sc.pos;
        while let Some(c) = self.sc.peek() {
            match c {
                '=' if self.sc.pos == start && self.sc.peek_at(1) == Some('(') => {
                    self.sc.pos += 2;
                    let inner = self.list(depth + 1, Stop::Paren);
                    out.push_str("<(");
                    out.push_str(&inner);
                    if self.sc.eat(")") {
                        out.push(')');
                    }
                }
                '(' if self.sc.pos > start => {
                    let group = self.copy_balanced();
                    // A glob qualifier (`*.log(N)`, `*(.om[1,5])`) only narrows the matches
                    // and bash cannot read it: dropped.
                    let qualifier = out.contains(['*', '?', ']'])
                        && group.ends_with(')')
                        && self.sc.peek().is_none_or(is_zsh_delim);
                    if !qualifier {
                        out.push_str(&group);
                    }
                }
                c if is_zsh_delim(c) => break,
                '\\' => {
                    self.sc.pos += 1;
                    out.push('\\');
                    out.extend(self.sc.bump());
                }
                '\'' => self.copy_quoted('\'', false, &mut out),
                '"' => self.double_quoted(depth, &mut out),
                '$' => self.dollar(depth, false, &mut out),
                '`' => self.copy_quoted('`', true, &mut out),
                _ => {
                    out.push(c);
                    self.sc.pos += 1;
                }
            }
        }
        out
    }

    /// Copies a quoted string that ends at `close` (backslash escapes when `escapes`).
    fn copy_quoted(&mut self, close: char, escapes: bool, out: &mut String) {
        out.extend(self.sc.bump());
        while let Some(c) = self.sc.bump() {
            out.push(c);
            if c == close {
                return;
            }
            if escapes && c == '\\' {
                out.extend(self.sc.bump());
            }
        }
    }

    fn double_quoted(&mut self, depth: usize, out: &mut String) {
        out.extend(self.sc.bump());
        while let Some(c) = self.sc.peek() {
            match c {
                '"' => {
                    out.push('"');
                    self.sc.pos += 1;
                    return;
                }
                '\\' => {
                    self.sc.pos += 1;
                    out.push('\\');
                    out.extend(self.sc.bump());
                }
                '$' => self.dollar(depth, true, out),
                '`' => self.copy_quoted('`', true, out),
                _ => {
                    out.push(c);
                    self.sc.pos += 1;
                }
            }
        }
    }

    fn dollar(&mut self, depth: usize, in_dq: bool, out: &mut String) {
        match self.sc.peek_at(1) {
            Some('(') if self.sc.peek_at(2) == Some('(') => {
                out.extend(self.sc.bump());
                out.push_str(&self.copy_balanced());
            }
            Some('(') => {
                self.sc.pos += 2;
                let inner = self.list(depth + 1, Stop::Paren);
                out.push_str("$(");
                out.push_str(&inner);
                if self.sc.eat(")") {
                    out.push(')');
                }
            }
            Some('{') => {
                out.extend(self.sc.bump());
                out.push_str(&self.copy_balanced());
            }
            Some('\'') if !in_dq => {
                out.extend(self.sc.bump());
                self.copy_quoted('\'', true, out);
            }
            _ => out.extend(self.sc.bump()),
        }
    }

    /// Copies from the `(` or `{` at the read position to its match (or the end).
    fn copy_balanced(&mut self) -> String {
        let mut out = String::new();
        let Some(open) = self.sc.peek() else {
            return out;
        };
        let close = if open == '{' { '}' } else { ')' };
        let mut level = 0usize;
        while let Some(c) = self.sc.peek() {
            match c {
                '\'' => self.copy_quoted('\'', false, &mut out),
                '"' => self.copy_quoted('"', true, &mut out),
                '\\' => {
                    self.sc.pos += 1;
                    out.push('\\');
                    out.extend(self.sc.bump());
                }
                _ => {
                    self.sc.pos += 1;
                    out.push(c);
                    if c == open {
                        level += 1;
                    } else if c == close {
                        level = level.saturating_sub(1);
                        if level == 0 {
                            break;
                        }
                    }
                }
            }
        }
        out
    }

    /// Names of loop variables, up to the list.
    fn loop_names(&mut self) -> Vec<String> {
        let mut names = Vec::new();
        loop {
            let save = self.sc.pos;
            self.sc.skip_blanks();
            match self.peek_plain() {
                Some(name) if is_name(&name) && name != "in" && name != "do" => {
                    self.sc.pos += name.len();
                    names.push(name);
                }
                _ => {
                    self.sc.pos = save;
                    return names;
                }
            }
        }
    }

    /// The words of `(a b c)` (the `(` is read), joined by spaces.
    fn paren_words(&mut self, depth: usize) -> String {
        let mut words = Vec::new();
        loop {
            self.skip_blanks_and_newlines();
            match self.sc.peek() {
                Some(')') => {
                    self.sc.pos += 1;
                    break;
                }
                Some(c) if !is_zsh_delim(c) => words.push(self.word(depth)),
                _ => break,
            }
        }
        words.join(" ")
    }

    /// Words up to the end of the command.
    fn words_to_end(&mut self, depth: usize) -> String {
        let mut words = Vec::new();
        loop {
            self.sc.skip_blanks();
            match self.sc.peek() {
                Some(c) if !is_zsh_delim(c) && c != '#' => words.push(self.word(depth)),
                _ => break,
            }
        }
        words.join(" ")
    }

    /// A loop body: `{ … }`, `do … done`, or (short form) one pipeline list.
    fn loop_body(&mut self, depth: usize) -> String {
        self.sc.skip_blanks();
        let save = self.sc.pos;
        self.skip_blanks_and_newlines();
        match self.peek_plain().as_deref() {
            Some("{") => self.brace_body(depth),
            Some("do") => {
                self.sc.pos += 2;
                let body = self.list(depth + 1, Stop::Done);
                self.eat_word("done");
                body
            }
            _ => {
                self.sc.pos = save;
                self.list(depth + 1, Stop::Sublist)
            }
        }
    }

    /// `{ … }` with the `{` at the read position: the inside.
    fn brace_body(&mut self, depth: usize) -> String {
        self.sc.pos += 1;
        let body = self.list(depth + 1, Stop::Brace);
        self.eat_word("}");
        body
    }

    /// `for x (a b) …`, `for x in a b; …` without `do`, and the bash forms (left as they are).
    fn zfor(&mut self, depth: usize) -> (String, bool) {
        self.sc.pos += 3;
        let names = self.loop_names();
        let Some(var) = names.first() else {
            return ("for".to_string(), true);
        };
        self.sc.skip_blanks();
        if self.sc.eat("(") {
            let list = self.paren_words(depth);
            let body = self.loop_body(depth);
            return (
                format!("for {var} in {list}; do{} done", close_body(&body)),
                false,
            );
        }
        if self.eat_word("in") {
            let list = self.words_to_end(depth);
            self.sc.skip_blanks();
            if self.sc.peek() == Some('#') {
                self.sc.skip_comment();
            }
            if !self.sc.at(";;") {
                self.sc.eat(";");
            }
            let save = self.sc.pos;
            self.skip_blanks_and_newlines();
            if self.peek_plain().as_deref() == Some("do") {
                return (format!("for {var} in {list}; "), true);
            }
            self.sc.pos = save;
            let body = self.loop_body(depth);
            return (
                format!("for {var} in {list}; do{} done", close_body(&body)),
                false,
            );
        }
        if self.peek_plain().as_deref() == Some("{") {
            let body = self.loop_body(depth);
            return (format!("for {var}; do{} done", close_body(&body)), false);
        }
        (format!("for {var}"), false)
    }

    /// `foreach x (a b) … end`.
    fn zforeach(&mut self, depth: usize) -> (String, bool) {
        self.sc.pos += 7;
        let names = self.loop_names();
        self.sc.skip_blanks();
        let Some(var) = names.first() else {
            return ("foreach".to_string(), false);
        };
        if !self.sc.eat("(") {
            return (format!("foreach {}", names.join(" ")), false);
        }
        let list = self.paren_words(depth);
        let body = self.list(depth + 1, Stop::End);
        self.eat_word("end");
        (
            format!("for {var} in {list}; do{} done", close_body(&body)),
            false,
        )
    }

    /// `repeat N …`: the body, run once per word of the count.
    fn zrepeat(&mut self, depth: usize) -> (String, bool) {
        self.sc.pos += 6;
        self.sc.skip_blanks();
        let count = match self.sc.peek() {
            Some(c) if !is_zsh_delim(c) && c != '#' => self.word(depth),
            _ => "1".to_string(),
        };
        let body = self.loop_body(depth);
        (
            format!("for __cmdai_i in {count}; do{} done", close_body(&body)),
            false,
        )
    }

    /// `if COND { … } elif COND { … } else { … }`; the bash form is left as it is.
    fn zif(&mut self, depth: usize) -> (String, bool) {
        self.sc.pos += 2;
        let cond = self.list(depth + 1, Stop::Cond);
        if self.peek_plain().as_deref() != Some("{") {
            return (format!("if{cond}"), true);
        }
        let body = self.brace_body(depth);
        let mut out = format!("if{} then{}", close_body(&cond), close_body(&body));
        loop {
            let save = self.sc.pos;
            self.skip_blanks_and_newlines();
            match self.peek_plain().as_deref() {
                Some("elif") => {
                    self.sc.pos += 4;
                    let cond = self.list(depth + 1, Stop::Cond);
                    if self.peek_plain().as_deref() != Some("{") {
                        out.push_str(&format!(" elif{cond}"));
                        return (out, true);
                    }
                    let body = self.brace_body(depth);
                    out.push_str(&format!(
                        " elif{} then{}",
                        close_body(&cond),
                        close_body(&body)
                    ));
                }
                Some("else") => {
                    self.sc.pos += 4;
                    let after_else = self.sc.pos;
                    self.skip_blanks_and_newlines();
                    if self.peek_plain().as_deref() != Some("{") {
                        self.sc.pos = after_else;
                        out.push_str(" else");
                        return (out, true);
                    }
                    let body = self.brace_body(depth);
                    out.push_str(&format!(" else{}", close_body(&body)));
                    break;
                }
                _ => {
                    self.sc.pos = save;
                    break;
                }
            }
        }
        out.push_str(" fi");
        (out, false)
    }

    /// `while COND { … }` (or `until`); the bash form is left as it is.
    fn zwhile(&mut self, kw: &str, depth: usize) -> (String, bool) {
        self.sc.pos += kw.len();
        let cond = self.list(depth + 1, Stop::Cond);
        if self.peek_plain().as_deref() != Some("{") {
            return (format!("{kw}{cond}"), true);
        }
        let body = self.brace_body(depth);
        (
            format!("{kw}{} do{} done", close_body(&cond), close_body(&body)),
            false,
        )
    }

    /// `function { … } ARGS` and `function () { … } ARGS` (anonymous), or a named function,
    /// whose body then comes as a brace group at command position.
    fn zfunction(&mut self, depth: usize, piped: bool) -> (String, bool) {
        self.sc.pos += 8;
        let save = self.sc.pos;
        self.sc.skip_blanks();
        if self.peek_plain().as_deref() == Some("{") {
            self.sc.pos += 1;
            return (self.anon_function(depth, piped), false);
        }
        if let Some(after) = self.anon_parens() {
            self.sc.pos = after;
            return (self.anon_function(depth, piped), false);
        }
        self.sc.pos = save;
        let mut out = String::from("function");
        self.copy_blanks(&mut out);
        if self.sc.peek().is_some_and(|c| !is_zsh_delim(c)) {
            out.push_str(&self.word(depth));
        }
        let save = self.sc.pos;
        let mut blanks = String::new();
        self.copy_blanks(&mut blanks);
        if self.sc.eat("()") {
            out.push_str(&blanks);
            out.push_str("()");
        } else {
            self.sc.pos = save;
        }
        (out, true)
    }

    /// At `(`: if this is `() {`, where the body starts.
    fn anon_parens(&self) -> Option<usize> {
        let s = self.sc.s;
        if s.get(self.sc.pos) != Some(&'(') {
            return None;
        }
        let mut k = self.sc.pos + 1;
        while matches!(s.get(k), Some(' ' | '\t')) {
            k += 1;
        }
        if s.get(k) != Some(&')') {
            return None;
        }
        k += 1;
        while matches!(s.get(k), Some(' ' | '\t' | '\n')) {
            k += 1;
        }
        let brace = s.get(k) == Some(&'{') && s.get(k + 1).is_none_or(|&c| is_zsh_delim(c));
        brace.then_some(k + 1)
    }

    /// An anonymous function whose body starts at the read position, with its arguments:
    /// defined under a name and called at once (inside `{ …; }` when part of a pipeline, so
    /// that the pipe still feeds the call).
    fn anon_function(&mut self, depth: usize, piped: bool) -> String {
        let body = self.list(depth + 1, Stop::Brace);
        self.eat_word("}");
        let mut args = String::new();
        loop {
            let save = self.sc.pos;
            let mut blanks = String::new();
            self.copy_blanks(&mut blanks);
            match self.sc.peek() {
                Some('<' | '>') => {
                    args.push_str(&blanks);
                    self.redirect(depth, &mut args);
                }
                Some(c)
                    if !is_zsh_delim(c)
                        && c != '#'
                        && self.peek_plain().as_deref() != Some("}") =>
                {
                    args.push_str(&blanks);
                    args.push_str(&self.word(depth));
                }
                _ => {
                    self.sc.pos = save;
                    break;
                }
            }
        }
        self.anon += 1;
        let name = if self.anon == 1 {
            "__cmdai_anon".to_string()
        } else {
            format!("__cmdai_anon{}", self.anon)
        };
        let text = format!("{name}() {{{} }}; {name}{args}", close_body(&body));
        let mut rest = self.sc.pos;
        while matches!(self.sc.s.get(rest), Some(' ' | '\t')) {
            rest += 1;
        }
        let pipe_follows =
            self.sc.s.get(rest) == Some(&'|') && self.sc.s.get(rest + 1) != Some(&'|');
        if piped || pipe_follows {
            format!("{{ {text}; }}")
        } else {
            text
        }
    }

    /// `[[ … ]]`, copied (its operators are not command separators).
    fn test_expression(&mut self, depth: usize) -> (String, bool) {
        self.sc.pos += 2;
        let mut out = String::from("[[");
        loop {
            self.copy_blanks(&mut out);
            match self.sc.peek() {
                None | Some(';') => break,
                Some(c) if is_zsh_delim(c) => {
                    out.push(c);
                    self.sc.pos += 1;
                }
                Some(_) if self.eat_word("]]") => {
                    out.push_str("]]");
                    break;
                }
                Some(c) => {
                    let start = self.sc.pos;
                    out.push_str(&self.word(depth));
                    if self.sc.pos == start {
                        out.push(c);
                        self.sc.pos += 1;
                    }
                }
            }
        }
        (out, false)
    }

    /// `case WORD in PATTERN) … ;; esac`, copied item by item so that the `)` of a pattern is
    /// not taken for the end of a substitution.
    fn zcase(&mut self, depth: usize) -> (String, bool) {
        self.sc.pos += 4;
        let mut out = String::from("case");
        self.copy_blanks(&mut out);
        if self.sc.peek().is_some_and(|c| !is_zsh_delim(c)) {
            out.push_str(&self.word(depth));
        }
        self.copy_blanks_and_newlines(&mut out);
        if !self.eat_word("in") {
            return (out, false);
        }
        out.push_str("in");
        loop {
            let iteration = self.sc.pos;
            self.copy_blanks_and_newlines(&mut out);
            if self.sc.peek() == Some('#') {
                self.copy_comment(&mut out);
                continue;
            }
            if self.sc.peek().is_none() {
                break;
            }
            if self.eat_word("esac") {
                out.push_str("esac");
                break;
            }
            if self.sc.eat("(") {
                out.push('(');
            }
            loop {
                self.copy_blanks(&mut out);
                match self.sc.peek() {
                    Some(')') => {
                        self.sc.pos += 1;
                        out.push(')');
                        break;
                    }
                    Some('|') => {
                        self.sc.pos += 1;
                        out.push('|');
                    }
                    Some('(') => out.push_str(&self.copy_balanced()),
                    Some(c) if !is_zsh_delim(c) => out.push_str(&self.word(depth)),
                    _ => break,
                }
            }
            out.push_str(&self.list(depth + 1, Stop::CaseItem));
            if let Some(op) = self.sc.first_of(&[";;&", ";;", ";&", ";|"]) {
                self.sc.eat(op);
                out.push_str(if op == ";|" { ";;&" } else { op });
            }
            if self.sc.pos == iteration {
                break;
            }
        }
        (out, false)
    }

    fn copy_blanks_and_newlines(&mut self, out: &mut String) {
        while let Some(c @ (' ' | '\t' | '\n')) = self.sc.peek() {
            out.push(c);
            self.sc.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parses(text: &str) -> bool {
        let opts = brush_parser::ParserOptions::default();
        let mut p = brush_parser::Parser::new(
            std::io::Cursor::new(text),
            &opts,
            &brush_parser::SourceInfo::default(),
        );
        p.parse_program().is_ok()
    }

    #[track_caller]
    fn fish(src: &str, expected: &str) {
        let out = fish_to_bash(src);
        assert_eq!(out, expected, "fish: {src:?}");
        assert!(parses(&out), "does not parse: {out:?} (from fish {src:?})");
    }

    #[track_caller]
    fn zsh(src: &str, expected: &str) {
        let out = zsh_to_bash(src);
        assert_eq!(out, expected, "zsh: {src:?}");
        assert!(parses(&out), "does not parse: {out:?} (from zsh {src:?})");
    }

    #[track_caller]
    fn loose(src: &str, expected: &str) {
        let out = loose_to_bash(src);
        assert_eq!(out, expected, "loose: {src:?}");
        assert!(parses(&out), "does not parse: {out:?} (from {src:?})");
    }

    #[test]
    fn fish_for_loops() {
        fish(
            "for f in ~/*; rm -rf $f; end",
            "for f in ~/*; do rm -rf $f; done",
        );
        fish(
            "for f in *.log\n  gzip $f\nend",
            "for f in *.log; do gzip $f; done",
        );
        fish("for x in a b; end", "for x in a b; do :; done");
    }

    #[test]
    fn fish_command_substitutions() {
        fish("rm (find . -name x)", "rm $(find . -name x)");
        fish("rm $(find . -name x)", "rm $(find . -name x)");
        fish("echo (echo (pwd))/x", "echo $(echo $(pwd))/x");
        fish("echo \"in $(pwd) now\"", "echo \"in $(pwd) now\"");
        fish("set n (count *)[1]", "n=$(count *)");
    }

    #[test]
    fn fish_functions() {
        fish(
            "function f; rm -rf $argv[1]; end; f ~",
            "f() { rm -rf $1; }; f ~",
        );
        fish(
            "function clean -a dir --description 'wipe it'\n rm -rf $dir/*\nend\nclean ~",
            "clean() { dir=\"${1}\"; rm -rf $dir/*; }; clean ~",
        );
        fish("function g; echo $argv; end", "g() { echo \"$@\"; }");
        fish("function h; end", "h() { :; }");
    }

    #[test]
    fn fish_begin_blocks() {
        fish("begin; echo a; end | sh", "{ echo a; } | sh");
        fish(
            "begin\n echo a\n echo b\nend > out",
            "{ echo a; echo b; } > out",
        );
    }

    #[test]
    fn fish_and_or_not() {
        fish(
            "test -f x; and rm x; or echo missing",
            "test -f x && rm x || echo missing",
        );
        fish("not test -d x; and mkdir x", "! test -d x && mkdir x");
        fish("true && false || echo c", "true && false || echo c");
        fish("make; and make install &", "make && make install &");
    }

    #[test]
    fn fish_if_while_switch() {
        fish(
            "if test -f x; echo y; else if test -d x; echo z; else; echo w; end",
            "if test -f x; then echo y; elif test -d x; then echo z; else echo w; fi",
        );
        fish(
            "if test -d a; and test -w a\n rm -r a\nend",
            "if test -d a && test -w a; then rm -r a; fi",
        );
        fish("while true; sleep 1; end", "while true; do sleep 1; done");
        fish(
            "switch $x; case a b; echo 1; case '*'; echo 2; end",
            "case $x in (a|b) echo 1 ;; (*) echo 2 ;; esac",
        );
        fish("if true; end", "if true; then :; fi");
    }

    #[test]
    fn fish_set() {
        fish("set d ~/x; rm -r $d", "d=~/x; rm -r $d");
        fish("set -gx PATH ~/bin $PATH", "PATH=(~/bin $PATH)");
        fish("set -e d", "unset d");
        fish("set -l empty", "empty=()");
        fish("set -a PATH /opt/bin", "PATH+=(/opt/bin)");
        fish("set -q d; or set d 1", "set -q d || d=1");
        fish("set files *.txt; rm $files", "files=(*.txt); rm $files");
        fish("set", "set");
    }

    #[test]
    fn fish_words() {
        fish(
            r#"echo 'it\'s' "a $HOME b" \$x a\ b"#,
            r#"echo 'it'\''s' "a $HOME b" '$x' 'a b'"#,
        );
        fish("echo $status $argv $argv[2]", "echo $? \"$@\" $2");
        fish("echo $var[1]x $a$b", "echo ${var}x $a$b");
        fish("echo {a,b}.txt `x` ''", "echo {a,b}.txt '`x`' ''");
        fish("echo \\n", "echo '\n'");
        fish("echo end for # comment", "echo end for");
        fish("do x", "'do' x");
    }

    #[test]
    fn fish_redirections() {
        fish(
            "cmd >? out 2>&1 <in >>log &>all",
            "cmd > out 2>&1 < in >> log &> all",
        );
        fish("cmd ^/dev/null ^^errlog", "cmd 2> /dev/null 2>> errlog");
        fish("grep ^root /etc/passwd", "grep ^root /etc/passwd");
        fish("curl http://x/a=1&b=2 &", "curl 'http://x/a=1&b=2' &");
        fish("cmd 2>| less", "cmd 2>&1 | less");
        fish("cmd &| less", "cmd |& less");
    }

    #[test]
    fn fish_unbalanced_input_is_best_effort() {
        for src in [
            "for", "end", "if", "(", ")", "'", "\"", "$", "\\", "begin; (", "switch", "case x",
            "function", "else", "echo (((", "set -e", "$argv[", "a | | b", "and", "not",
        ] {
            let _ = fish_to_bash(src);
        }
        fish("if test -f x; echo y", "if test -f x; then echo y; fi");
        fish("echo (pwd", "echo $(pwd)");
        fish("echo 'open", "echo open");
    }

    #[test]
    fn zsh_anonymous_functions() {
        zsh(
            "() { rm -rf $1; } ~",
            "__cmdai_anon() { rm -rf $1; }; __cmdai_anon ~",
        );
        zsh(
            "function { echo $1 } a b",
            "__cmdai_anon() { echo $1; }; __cmdai_anon a b",
        );
        zsh(
            "() {\n  local d=$1\n  rm -r $d\n} /tmp/x; echo done",
            "__cmdai_anon() {\n  local d=$1\n  rm -r $d; }; __cmdai_anon /tmp/x; echo done",
        );
    }

    #[test]
    fn zsh_anonymous_function_in_a_pipeline() {
        zsh(
            "ls | () { xargs rm }",
            "ls | { __cmdai_anon() { xargs rm; }; __cmdai_anon; }",
        );
        zsh(
            "() { cat $1 } f | sh",
            "{ __cmdai_anon() { cat $1; }; __cmdai_anon f; } | sh",
        );
    }

    #[test]
    fn zsh_short_loops() {
        zsh("for x (a b) echo $x", "for x in a b; do echo $x; done");
        zsh("for x (a b) { echo $x }", "for x in a b; do echo $x; done");
        zsh("for x in a b; rm $x", "for x in a b; do rm $x; done");
        zsh(
            "for f (*.txt) rm $f; echo ok",
            "for f in *.txt; do rm $f; done; echo ok",
        );
        zsh(
            "foreach x (a b)\n echo $x\nend",
            "for x in a b; do\n echo $x; done",
        );
        zsh("repeat 3 echo hi", "for __cmdai_i in 3; do echo hi; done");
        zsh("repeat 2 { date }", "for __cmdai_i in 2; do date; done");
        zsh(
            "for x in a b; do echo $x; done",
            "for x in a b; do echo $x; done",
        );
    }

    #[test]
    fn zsh_short_if_and_while() {
        zsh(
            "if [[ -f x ]] { rm x } else { echo no }",
            "if [[ -f x ]]; then rm x; else echo no; fi",
        );
        zsh(
            "if [[ -f x ]] { rm x } elif [[ -d x ]] { rmdir x }",
            "if [[ -f x ]]; then rm x; elif [[ -d x ]]; then rmdir x; fi",
        );
        zsh(
            "while (( i < 3 )) { sleep 1 }",
            "while (( i < 3 )); do sleep 1; done",
        );
        zsh("if true; then echo y; fi", "if true; then echo y; fi");
    }

    #[test]
    fn zsh_process_substitution_and_nesting() {
        zsh("diff =(ls a) =(ls b)", "diff <(ls a) <(ls b)");
        zsh(
            "echo $(for x (a) echo $x)",
            "echo $(for x in a; do echo $x; done)",
        );
        zsh(
            "x=$(case $y in (a) for i (1) echo;; esac)",
            "x=$(case $y in (a) for i in 1; do echo; done;; esac)",
        );
        zsh("{ echo a }", "{ echo a; }");
        zsh("{ rm a } always { echo b }", "{ rm a; }; { echo b; }");
        zsh(
            "for f (**/*.tmp(N)) rm $f",
            "for f in **/*.tmp; do rm $f; done",
        );
        zsh("ls *(.om[1,5]) | wc -l", "ls * | wc -l");
        zsh(
            "() { echo $# } a",
            "__cmdai_anon() { echo $#; }; __cmdai_anon a",
        );
    }

    #[test]
    fn zsh_leaves_other_text_alone() {
        for src in [
            "echo 'for x (a)' \"() { }\"",
            "cat <<EOF\nfor x (a) echo\nEOF\necho",
            "print -l ${(f)x}",
            "f() { echo hi; }",
        ] {
            assert_eq!(zsh_to_bash(src), src);
        }
    }

    #[test]
    fn loose_keeps_words_and_stays_flat() {
        loose("rm -rf / (", "rm -rf /");
        loose("echo \"unterminated", "echo \"unterminated\"");
        loose("if then fi ((", "");
        loose("}}}", "}}}");
        loose("a | | b", "a | b");
        loose("> ", "");
        loose("echo $(rm -rf / ; (", "echo $(rm -rf /)");
        loose("cat <<EOF\nrm -rf /\n", "cat <<< 'rm -rf /\n'");
        loose("cat <<'X' | sh\nrm a\nX\nls", "cat <<< 'rm a\n' | sh ; ls");
        loose("for f in a b; do rm $f; done (", "f=(a b) ; rm $f");
        loose("if [[ -f x ]]; then rm x; fi", "'[[' -f x ]] ; rm x");
        loose("time ! ls `pwd` &&", "'time' ! ls $(pwd)");
        loose("a=1 if b 2>&1 >f", "a=1 ; b 2>& 1 > f");
        loose("echo ${x;y} $'a' \\$'b'", "echo '${x' ; y} $'a' \\$\"\"'b'");
        loose("x=$((1 + (2*3)))", "x=$((1 + (2*3)))");
        loose("diff <(ls a) >(cat)", "diff $(ls a) $(cat)");
    }

    #[test]
    fn loose_garbage_always_parses() {
        for src in [
            "'",
            "\"",
            "`",
            "\\",
            "$",
            "$(",
            "${",
            "$((",
            "((((((",
            "$($($(",
            "))))",
            "{ ( [ ",
            "<<",
            "<<EOF",
            "cat <<EOF\n",
            "a <<-X\n\tX\n",
            "&&",
            "||",
            ";;",
            "!",
            "! !",
            "time",
            "[[ ]]",
            "function f { }",
            "case x in a) ;; esac",
            "for ((i=0;i<3;i++)); do :; done",
            "echo \\",
            "$'\\",
            "${a:-$(echo ",
            "`echo $(",
            "\"$(\"",
            "a=(",
            "x[1]=",
            "2>",
            "echo @(a|b) !(c)",
            "#",
            "a #b\nc",
            "\r\n\t",
            "\0",
            "é ü ∀",
        ] {
            let out = loose_to_bash(src);
            assert!(parses(&out), "does not parse: {out:?} (from {src:?})");
        }
    }

    #[test]
    fn deep_and_large_inputs() {
        let inputs = [
            "(".repeat(65536),
            "$(".repeat(30000),
            "`".repeat(20000),
            "${".repeat(30000),
            "\"$(".repeat(20000),
            "$a[".repeat(20000),
            "{ ".repeat(30000),
            "() { ".repeat(10000),
            "for x (".repeat(10000),
            "if ".repeat(20000),
            "'".repeat(65535),
            "a".repeat(65536),
            "$((".repeat(20000),
            "<(".repeat(30000),
            "<<EOF\n".repeat(10000),
        ];
        for input in &inputs {
            let started = std::time::Instant::now();
            let _ = fish_to_bash(input);
            let _ = zsh_to_bash(input);
            let out = loose_to_bash(input);
            assert!(parses(&out), "does not parse: loose of {:?}…", &input[..8]);
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "slow on {:?}…",
                &input[..8]
            );
        }
    }

    /// Bracket nesting counted the way the analyzer's guard counts it (quotes ignored).
    fn bracket_depth(text: &str) -> usize {
        let (mut depth, mut deepest) = (0usize, 0usize);
        for c in text.chars() {
            match c {
                '(' | '{' | '[' => {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                ')' | '}' | ']' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        deepest
    }

    #[test]
    fn loose_substitutions_stay_shallow() {
        for input in [
            "$(".repeat(1000),
            "<(".repeat(1000),
            "$((".repeat(1000),
            format!("echo $(({}1{}))", "(".repeat(20), ")".repeat(20)),
            "`echo \\`".repeat(100),
        ] {
            let out = loose_to_bash(&input);
            assert!(parses(&out));
            assert!(bracket_depth(&out) <= 12, "too deep: {out:.40}…");
        }
    }

    /// Shell-ish token soup: words, quotes, substitutions, operators, keywords.
    fn soup() -> impl Strategy<Value = String> {
        let token = prop::sample::select(vec![
            "rm", "-rf", "/", "~", "x", "$x", "a=1", "x[1]=2", "f()", "\"", "'", "`", "\\", "$(",
            "$((", "${", "$'", "(", ")", "((", "))", "{", "}", "[[", "]]", "|", "||", "&&", "&",
            ";", ";;", ">", ">>", "<", "2>&1", "&>", "<<<", "<<EOF", "<<-X", "EOF", "X", "<(",
            ">(", "=(", "\n", "#", "!", "*", "@(", "if", "then", "else", "fi", "for", "in", "do",
            "done", "while", "case", "esac", "function", "begin", "end", "time", "and", "or",
            "not", "set", "switch", "foreach", "repeat", "()", "\t", "é",
        ]);
        prop::collection::vec((token, any::<bool>()), 0..600).prop_map(|tokens| {
            let mut s = String::new();
            for (t, space) in tokens {
                s.push_str(t);
                if space {
                    s.push(' ');
                }
            }
            s
        })
    }

    fn text(max: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(any::<char>(), 0..max).prop_map(String::from_iter)
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 512,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn loose_output_of_soup_parses(src in soup()) {
            let out = loose_to_bash(&src);
            prop_assert!(parses(&out), "does not parse: {:?}", out);
        }

        #[test]
        fn loose_output_of_any_text_parses(src in text(3000)) {
            let out = loose_to_bash(&src);
            prop_assert!(parses(&out), "does not parse: {:?}", out);
        }

        #[test]
        fn converters_never_panic_on_soup(src in soup()) {
            let _ = fish_to_bash(&src);
            let _ = zsh_to_bash(&src);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 12,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn converters_never_panic_on_large_text(src in text(65536)) {
            let _ = fish_to_bash(&src);
            let _ = zsh_to_bash(&src);
            let _ = loose_to_bash(&src);
        }
    }
}
