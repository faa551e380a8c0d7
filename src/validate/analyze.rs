//! The walk: every simple command the line would run, with what it would see.
//!
//! The analyser interprets the syntax tree symbolically. It follows lists, pipelines, loops,
//! subshells, functions, command substitutions, strings handed to `sh -c` or `eval`, and scripts
//! the line itself writes and then runs. It tracks what it can know without running anything:
//! variables, the directory after `cd`, files written earlier in the line, and what flows
//! through each pipe (network data, secrets, known text). Each simple command then goes to the
//! rules for its tool (`rules`).

use std::collections::HashMap;
use std::rc::Rc;

use brush_parser::ast::{
    self, Command, CommandPrefixOrSuffixItem, CompoundCommand, CompoundList, IoFileRedirectKind,
    IoFileRedirectTarget, IoRedirect, Program, SeparatorOperator,
};
use brush_parser::word::{Parameter, ParameterExpr, SpecialParameter, WordPiece};

use super::args::{Arg, Flow, Stream};
use super::parse;
use super::places::{self, Expect};
use super::rules;
use super::target::{self, Cwd, Place};
use super::{Risk, Shell, Verdict};

/// Commands within commands (`sudo env nice sh -c "eval '…'"`) deeper than this are not
/// followed.
const MAX_DEPTH: u32 = 24;
/// Simple commands analysed per line before giving up.
const MAX_STEPS: u32 = 4000;
/// Loop iterations followed per loop.
const MAX_ITERATIONS: usize = 16;

/// The kind of harm a finding is about; decides how findings inside persisted text escalate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Harm {
    Delete,
    Disk,
    RemoteCode,
    ReverseShell,
    Leak,
    ForkBomb,
    KillAll,
    Auth,
    Permissions,
    History,
    Security,
    Service,
    Package,
    Vcs,
    Data,
    Logs,
    Config,
    /// The analysis itself could not finish.
    Opaque,
}

impl Harm {
    /// Harms that turn a startup-file line or a cron job into a booby trap.
    fn is_trap(self) -> bool {
        matches!(
            self,
            Harm::Delete
                | Harm::Disk
                | Harm::RemoteCode
                | Harm::ReverseShell
                | Harm::Leak
                | Harm::ForkBomb
                | Harm::KillAll
                | Harm::Auth
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Finding {
    pub risk: Risk,
    pub harm: Harm,
    pub reason: String,
}

/// What the line knows about a file it wrote earlier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FileFact {
    /// Written with this text.
    Content(String),
    /// Saved from the network.
    Downloaded,
    /// A copy of a shell binary.
    ShellCopy,
    /// A copy of a private key or credentials.
    Secret,
}

/// The context of one command: what wrappers and the surrounding pipeline give it.
#[derive(Debug, Clone, Default)]
pub(super) struct Ctx {
    /// Runs as root (`sudo`, `doas`, `su -c`).
    pub root: bool,
    /// Runs in the background, or as one stage of a pipeline: concurrently with its caller.
    pub concurrent: bool,
    /// Its input or output is a network socket (`/dev/tcp`).
    pub socket: bool,
    pub stdin: Stream,
}

/// A function or script being run, to spot recursion.
struct Frame {
    name: String,
    self_calls: u32,
    concurrent: bool,
}

pub(super) struct Analyzer {
    pub shell: Shell,
    pub findings: Vec<Finding>,
    /// Command names run, for the tool check.
    pub commands: Vec<String>,
    pub vars: HashMap<String, Arg>,
    pub functions: HashMap<String, Rc<ast::FunctionBody>>,
    pub files: HashMap<String, FileFact>,
    pub cwd: Cwd,
    /// What the line takes for granted about the start directory (`places`).
    pub expects: Vec<Expect>,
    /// Paths the commands so far named, resolved as `places` resolves them: folders they may
    /// have made.
    pub made: Vec<String>,
    /// A command so far may have made folders it did not name (`tar -x`).
    pub made_anything: bool,
    /// Mistakes that make the line do other than it says, whatever the directory.
    pub pitfalls: Vec<String>,
    positional: Vec<Arg>,
    frames: Vec<Frame>,
    depth: u32,
    steps: u32,
    gave_up: bool,
}

pub(super) fn assess(command: &str, shell: Shell) -> Verdict {
    let mut analyzer = Analyzer::new(shell);
    analyzer.script(command, shell, &Ctx::default());
    analyzer.verdict()
}

impl Analyzer {
    fn new(shell: Shell) -> Analyzer {
        Analyzer {
            shell,
            findings: Vec::new(),
            commands: Vec::new(),
            vars: HashMap::new(),
            functions: HashMap::new(),
            files: HashMap::new(),
            cwd: Cwd::Start,
            expects: Vec::new(),
            made: Vec::new(),
            made_anything: false,
            pitfalls: Vec::new(),
            positional: Vec::new(),
            frames: Vec::new(),
            depth: 0,
            steps: 0,
            gave_up: false,
        }
    }

    fn verdict(mut self) -> Verdict {
        self.findings.sort_by_key(|f| std::cmp::Reverse(f.risk));
        let risk = self.findings.first().map_or(Risk::Safe, |f| f.risk);
        let mut reasons: Vec<String> = Vec::new();
        for finding in &self.findings {
            if !reasons.contains(&finding.reason) {
                reasons.push(finding.reason.clone());
            }
        }
        let mut commands: Vec<String> = Vec::new();
        for name in self.commands {
            if !commands.contains(&name) {
                commands.push(name);
            }
        }
        Verdict {
            risk,
            reasons,
            commands,
            expects: self.expects,
            pitfalls: self.pitfalls,
        }
    }

    pub fn flag(&mut self, risk: Risk, harm: Harm, reason: impl Into<String>) {
        if risk > Risk::Safe {
            self.findings.push(Finding {
                risk,
                harm,
                reason: reason.into(),
            });
        }
    }

    /// Runs `f` with findings collected apart, and returns them.
    pub fn apart(&mut self, f: impl FnOnce(&mut Analyzer)) -> Vec<Finding> {
        let outer = std::mem::take(&mut self.findings);
        f(self);
        std::mem::replace(&mut self.findings, outer)
    }

    /// Analyses text as a script that runs now, in `shell`'s dialect.
    pub fn script(&mut self, text: &str, shell: Shell, ctx: &Ctx) -> Stream {
        if !self.descend() {
            return Stream::default();
        }
        let program = parse::parse(text, shell);
        let out = self.program(&program, ctx);
        self.depth -= 1;
        out
    }

    /// Analyses text that will run later, again and again (a startup-file line, a cron job, an
    /// alias): serious harm hidden there is a booby trap, and critical.
    pub fn persisted(&mut self, text: &str, what: &str, ctx: &Ctx) {
        let saved_cwd = std::mem::replace(&mut self.cwd, Cwd::Start);
        let found = self.apart(|a| {
            a.script(text, Shell::Bash, ctx);
        });
        self.cwd = saved_cwd;
        for finding in found {
            if finding.harm.is_trap() && finding.risk >= Risk::High {
                let reason = format!("{what} that {}", finding.reason);
                self.flag(Risk::Critical, finding.harm, reason);
            } else {
                self.findings.push(finding);
            }
        }
    }

    /// Runs `f` with `$1`, `$2`… bound to `args`.
    pub fn with_positional<T>(&mut self, args: Vec<Arg>, f: impl FnOnce(&mut Self) -> T) -> T {
        let saved = std::mem::replace(&mut self.positional, args);
        let out = f(self);
        self.positional = saved;
        out
    }

    fn descend(&mut self) -> bool {
        if self.depth >= MAX_DEPTH {
            self.give_up("nested too deeply to check");
            return false;
        }
        self.depth += 1;
        true
    }

    fn give_up(&mut self, why: &str) {
        if !self.gave_up {
            self.gave_up = true;
            self.flag(Risk::Critical, Harm::Opaque, why.to_string());
        }
    }

    fn program(&mut self, program: &Program, ctx: &Ctx) -> Stream {
        let mut out = Stream::default();
        for list in &program.complete_commands {
            out = out.then(self.list(list, ctx));
        }
        out
    }

    fn list(&mut self, list: &CompoundList, ctx: &Ctx) -> Stream {
        let mut out = Stream::default();
        for ast::CompoundListItem(and_or, separator) in &list.0 {
            let mut item_ctx = ctx.clone();
            if matches!(separator, SeparatorOperator::Async) {
                item_ctx.concurrent = true;
            }
            out = out.then(self.pipeline(&and_or.first, &item_ctx));
            for next in &and_or.additional {
                let (ast::AndOr::And(pipeline) | ast::AndOr::Or(pipeline)) = next;
                out = out.then(self.pipeline(pipeline, &item_ctx));
            }
        }
        out
    }

    fn pipeline(&mut self, pipeline: &ast::Pipeline, ctx: &Ctx) -> Stream {
        let piped = pipeline.seq.len() > 1;
        let mut input = ctx.stdin.clone();
        for command in &pipeline.seq {
            let stage = Ctx {
                stdin: input,
                concurrent: ctx.concurrent || piped,
                ..ctx.clone()
            };
            input = self.command(command, &stage);
        }
        input
    }

    fn command(&mut self, command: &Command, ctx: &Ctx) -> Stream {
        match command {
            Command::Simple(simple) => self.simple(simple, ctx),
            Command::Compound(compound, redirects) => {
                let items: Vec<&IoRedirect> = redirects.iter().flat_map(|r| r.0.iter()).collect();
                let (ctx, outputs) = self.redirections(&items, ctx);
                let out = self.compound(compound, &ctx);
                self.finish_outputs(outputs, out, &ctx)
            }
            Command::Function(definition) => {
                self.functions
                    .insert(definition.fname.clone(), Rc::new(definition.body.clone()));
                Stream::default()
            }
            Command::ExtendedTest(_) => Stream::default(),
        }
    }

    fn compound(&mut self, compound: &CompoundCommand, ctx: &Ctx) -> Stream {
        match compound {
            CompoundCommand::BraceGroup(group) => self.list(&group.0, ctx),
            CompoundCommand::Subshell(subshell) => {
                let saved = (self.cwd.clone(), self.vars.clone());
                let out = self.list(&subshell.0, ctx);
                (self.cwd, self.vars) = saved;
                out
            }
            CompoundCommand::ForClause(clause) => self.for_loop(clause, ctx),
            CompoundCommand::ArithmeticForClause(clause) => self.list(&clause.body.0, ctx),
            CompoundCommand::CaseClause(clause) => {
                let mut out = Stream::default();
                for item in &clause.cases {
                    if let Some(list) = &item.cmd {
                        out = out.then(self.list(list, ctx));
                    }
                }
                out
            }
            CompoundCommand::IfClause(clause) => {
                let mut out = self.list(&clause.condition, ctx);
                out = out.then(self.list(&clause.then, ctx));
                for branch in clause.elses.iter().flatten() {
                    if let Some(condition) = &branch.condition {
                        out = out.then(self.list(condition, ctx));
                    }
                    out = out.then(self.list(&branch.body, ctx));
                }
                out
            }
            CompoundCommand::WhileClause(clause) | CompoundCommand::UntilClause(clause) => {
                let out = self.list(&clause.0, ctx);
                out.then(self.list(&clause.1 .0, ctx))
            }
            CompoundCommand::Arithmetic(_) => Stream::default(),
        }
    }

    fn for_loop(&mut self, clause: &ast::ForClauseCommand, ctx: &Ctx) -> Stream {
        let values: Vec<Arg> = match &clause.values {
            Some(words) => words.iter().flat_map(|w| self.expand(w)).collect(),
            None => self.positional.clone(),
        };
        let mut out = Stream::default();
        if values.is_empty() {
            self.vars.remove(&clause.variable_name);
            return self.list(&clause.body.0, ctx);
        }
        for value in values.into_iter().take(MAX_ITERATIONS) {
            self.vars.insert(clause.variable_name.clone(), value);
            out = out.then(self.list(&clause.body.0, ctx));
        }
        out
    }

    fn simple(&mut self, simple: &ast::SimpleCommand, ctx: &Ctx) -> Stream {
        let mut words: Vec<Arg> = Vec::new();
        let mut assignments: Vec<&ast::Assignment> = Vec::new();
        let mut redirects: Vec<&IoRedirect> = Vec::new();
        let prefix = simple.prefix.iter().flat_map(|p| p.0.iter());
        let suffix = simple.suffix.iter().flat_map(|s| s.0.iter());
        let mut items: Vec<&CommandPrefixOrSuffixItem> = prefix.collect();
        let name = simple.word_or_name.as_ref();
        let name_item;
        if let Some(word) = name {
            name_item = CommandPrefixOrSuffixItem::Word(word.clone());
            items.push(&name_item);
        }
        items.extend(suffix);
        for item in items {
            match item {
                CommandPrefixOrSuffixItem::IoRedirect(redirect) => redirects.push(redirect),
                CommandPrefixOrSuffixItem::Word(word) => words.extend(self.expand(word)),
                // After the command name, `key=value` is an ordinary argument (`dd of=…`).
                CommandPrefixOrSuffixItem::AssignmentWord(_, word) if !words.is_empty() => {
                    words.extend(self.expand(word))
                }
                CommandPrefixOrSuffixItem::AssignmentWord(assignment, _) => {
                    assignments.push(assignment)
                }
                CommandPrefixOrSuffixItem::ProcessSubstitution(_, subshell) => {
                    let out = self.list(&subshell.0, &Ctx::default());
                    words.push(process_substitution_arg(&out));
                }
            }
        }
        let (ctx, outputs) = self.redirections(&redirects, ctx);
        for assignment in assignments {
            self.assign(assignment, &ctx);
        }
        let out = if words.is_empty() {
            Stream::default()
        } else {
            self.invoke(words, &ctx)
        };
        self.finish_outputs(outputs, out, &ctx)
    }

    fn assign(&mut self, assignment: &ast::Assignment, ctx: &Ctx) {
        let ast::AssignmentName::VariableName(name) = &assignment.name else {
            return;
        };
        let value = match &assignment.value {
            ast::AssignmentValue::Scalar(word) => self.expand_one(word),
            ast::AssignmentValue::Array(items) => {
                let mut values = items.iter().map(|(_, w)| self.expand_one(w));
                values.next().unwrap_or_default()
            }
        };
        self.set_variable(name, value, ctx);
    }

    /// Sets a variable; some variables change the shell itself.
    pub fn set_variable(&mut self, name: &str, value: Arg, ctx: &Ctx) {
        rules::variable_set(self, name, &value, ctx);
        self.vars.insert(name.to_string(), value);
    }

    /// Applies input redirections to the context and returns the outputs to write once the
    /// command's output is known: `(target, append, stdout)`.
    fn redirections(
        &mut self,
        redirects: &[&IoRedirect],
        ctx: &Ctx,
    ) -> (Ctx, Vec<(Arg, bool, bool)>) {
        let mut ctx = ctx.clone();
        let mut outputs = Vec::new();
        for redirect in redirects {
            match redirect {
                IoRedirect::File(_, kind, IoFileRedirectTarget::ProcessSubstitution(_, sub)) => {
                    let out = self.list(&sub.0, &Ctx::default());
                    if matches!(kind, IoFileRedirectKind::Read) {
                        ctx.stdin = out;
                    }
                }
                IoRedirect::File(fd, kind, target) => {
                    let Some(arg) = self.redirect_target(target) else {
                        continue;
                    };
                    if target::classify(&arg, &self.cwd) == Place::Socket {
                        ctx.socket = true;
                    }
                    let stdout = fd.is_none_or(|fd| fd == 1);
                    match kind {
                        IoFileRedirectKind::Read => ctx.stdin = self.read_file(&arg),
                        IoFileRedirectKind::Append => {
                            places::written(self, &arg);
                            outputs.push((arg, true, stdout))
                        }
                        IoFileRedirectKind::Write
                        | IoFileRedirectKind::Clobber
                        | IoFileRedirectKind::ReadAndWrite => {
                            places::written(self, &arg);
                            outputs.push((arg, false, stdout))
                        }
                        IoFileRedirectKind::DuplicateOutput => {
                            if arg.text.starts_with('/') {
                                outputs.push((arg, false, stdout));
                            }
                        }
                        IoFileRedirectKind::DuplicateInput => {
                            if arg.text.starts_with('/') {
                                ctx.stdin = self.read_file(&arg);
                            }
                        }
                    }
                }
                IoRedirect::HereDocument(_, doc) => {
                    let text = if doc.requires_expansion {
                        self.expand_quoted(&doc.doc.value)
                    } else {
                        doc.doc.value.clone()
                    };
                    ctx.stdin = Stream::text(text);
                }
                IoRedirect::HereString(_, word) => {
                    let arg = self.expand_one(word);
                    ctx.stdin = Stream {
                        flow: arg.flow,
                        ..Stream::text(format!("{}\n", arg.text))
                    };
                }
                IoRedirect::OutputAndError(word, append) => {
                    let arg = self.expand_one(word);
                    if target::classify(&arg, &self.cwd) == Place::Socket {
                        ctx.socket = true;
                    }
                    outputs.push((arg, *append, true));
                }
            }
        }
        (ctx, outputs)
    }

    fn redirect_target(&mut self, target: &IoFileRedirectTarget) -> Option<Arg> {
        match target {
            IoFileRedirectTarget::Filename(word) | IoFileRedirectTarget::Duplicate(word) => {
                Some(self.expand_one(word))
            }
            IoFileRedirectTarget::Fd(_) | IoFileRedirectTarget::ProcessSubstitution(..) => None,
        }
    }

    /// Writes a command's output to its redirection targets; returns what still flows on.
    fn finish_outputs(
        &mut self,
        outputs: Vec<(Arg, bool, bool)>,
        out: Stream,
        ctx: &Ctx,
    ) -> Stream {
        let mut consumed = false;
        for (target, append, stdout) in outputs {
            let content = if stdout {
                out.clone()
            } else {
                Stream::text("")
            };
            rules::write(self, &target, &content, append, ctx);
            consumed |= stdout;
        }
        if consumed {
            Stream::default()
        } else {
            out
        }
    }

    /// What reading a file gives: its known content, or what it carries.
    pub fn read_file(&self, arg: &Arg) -> Stream {
        let place = target::classify(arg, &self.cwd);
        let mut stream = match self.file_fact(arg) {
            Some(FileFact::Content(text)) => Stream::text(text.clone()),
            Some(FileFact::Downloaded) => Stream::flow(Flow {
                network: true,
                ..Flow::default()
            }),
            Some(FileFact::Secret) => Stream::flow(Flow {
                secret: true,
                ..Flow::default()
            }),
            _ => Stream::default(),
        };
        stream.flow = stream.flow.union(arg.flow);
        match place {
            Place::Secret | Place::KeyDir => stream.flow.secret = true,
            Place::Socket => {
                stream.flow.network = true;
                stream.flow.socket = true;
            }
            Place::CriticalFile if arg.text.ends_with("shadow") => stream.flow.secret = true,
            _ => {}
        }
        stream
    }

    pub fn file_fact(&self, arg: &Arg) -> Option<&FileFact> {
        let path = target::resolve(&arg.text, &self.cwd)?;
        self.files.get(&path)
    }

    pub fn record_file(&mut self, arg: &Arg, fact: FileFact) {
        if let Some(path) = target::resolve(&arg.text, &self.cwd) {
            self.files.insert(path, fact);
        }
    }

    /// Runs one simple command: functions, scripts the line wrote, then the rules.
    pub fn invoke(&mut self, words: Vec<Arg>, ctx: &Ctx) -> Stream {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            self.give_up("too long to check");
            return Stream::default();
        }
        if !self.descend() {
            return Stream::default();
        }
        let out = self.invoke_inner(words, ctx);
        self.depth -= 1;
        out
    }

    fn invoke_inner(&mut self, words: Vec<Arg>, ctx: &Ctx) -> Stream {
        let Some(first) = words.first() else {
            return Stream::default();
        };
        if first.flow.network {
            self.flag_remote_code(ctx, "runs a command fetched from the network");
        }
        let name = command_name(&first.text).to_string();
        if let Some(frame) = self.frames.iter_mut().rev().find(|f| f.name == first.text) {
            frame.self_calls += 1;
            frame.concurrent |= ctx.concurrent;
            return Stream::default();
        }
        if let Some(body) = self.functions.get(&name).cloned() {
            return self.call(&name, &body.0, &words[1..], ctx);
        }
        match self.file_fact(first).cloned() {
            Some(FileFact::Content(text)) => {
                return self.run_script(first, &text, &words[1..], ctx)
            }
            Some(FileFact::Downloaded) => {
                self.flag_remote_code(ctx, "runs a program downloaded from the network");
                return Stream::default();
            }
            _ => {}
        }
        if !first.unknown && !first.text.contains('/') && !name.is_empty() {
            self.commands.push(name.clone());
        }
        places::note(self, &name, &words[1..]);
        let out = rules::run(self, &name, &words[1..], ctx);
        places::named(self, &name, &words[1..]);
        out
    }

    /// Remote code: high for the user, critical as root.
    pub fn flag_remote_code(&mut self, ctx: &Ctx, what: &str) {
        if ctx.root {
            self.flag(Risk::Critical, Harm::RemoteCode, format!("{what} as root"));
        } else {
            self.flag(Risk::High, Harm::RemoteCode, what.to_string());
        }
    }

    fn call(&mut self, name: &str, body: &CompoundCommand, args: &[Arg], ctx: &Ctx) -> Stream {
        if !self.descend() {
            return Stream::default();
        }
        self.frames.push(Frame {
            name: name.to_string(),
            self_calls: 0,
            concurrent: false,
        });
        let out = self.with_positional(args.to_vec(), |a| a.compound(body, ctx));
        self.end_frame(&format!("the function {name}"));
        self.depth -= 1;
        out
    }

    /// Runs a script whose text the line itself wrote.
    pub fn run_script(&mut self, path: &Arg, text: &str, args: &[Arg], ctx: &Ctx) -> Stream {
        self.frames.push(Frame {
            name: path.text.clone(),
            self_calls: 0,
            concurrent: false,
        });
        let out = self.with_positional(args.to_vec(), |a| a.script(text, Shell::Bash, ctx));
        self.end_frame(&format!("the script {}", path.text));
        out
    }

    fn end_frame(&mut self, what: &str) {
        let Some(frame) = self.frames.pop() else {
            return;
        };
        if frame.self_calls >= 2 || frame.self_calls >= 1 && frame.concurrent {
            self.flag(
                Risk::Critical,
                Harm::ForkBomb,
                format!("{what} starts copies of itself without end: a fork bomb"),
            );
        }
    }

    /// Expands a word into the arguments it becomes (`"$@"` may become several).
    pub fn expand(&mut self, word: &ast::Word) -> Vec<Arg> {
        if is_all_positional(&word.value) && !self.positional.is_empty() {
            return self.positional.clone();
        }
        let arg = self.expand_one(word);
        if word.value.contains(['\'', '"', '\\']) {
            return vec![arg];
        }
        brace_alternatives(&arg.text)
            .into_iter()
            .map(|text| Arg {
                text,
                ..arg.clone()
            })
            .collect()
    }

    pub fn expand_one(&mut self, word: &ast::Word) -> Arg {
        let mut arg = Arg::default();
        match parse::word_pieces(&word.value) {
            Some(pieces) => {
                for piece in &pieces {
                    self.piece(&piece.piece, false, &mut arg);
                }
            }
            None => {
                arg.text = word.value.clone();
                arg.unknown = true;
            }
        }
        arg
    }

    /// Expands text as the inside of double quotes (a here-document body).
    fn expand_quoted(&mut self, text: &str) -> String {
        let quoted = format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""));
        match parse::word_pieces(&quoted) {
            Some(pieces) => {
                let mut arg = Arg::default();
                for piece in &pieces {
                    self.piece(&piece.piece, true, &mut arg);
                }
                arg.text
            }
            None => text.to_string(),
        }
    }

    fn piece(&mut self, piece: &WordPiece, quoted: bool, arg: &mut Arg) {
        match piece {
            WordPiece::Text(text) => {
                if !quoted && text.contains(['*', '?', '[']) {
                    arg.glob = true;
                }
                arg.text.push_str(text);
            }
            WordPiece::SingleQuotedText(text) | WordPiece::AnsiCQuotedText(text) => {
                arg.text.push_str(text)
            }
            WordPiece::DoubleQuotedSequence(pieces)
            | WordPiece::GettextDoubleQuotedSequence(pieces) => {
                for inner in pieces {
                    self.piece(&inner.piece, true, arg);
                }
            }
            WordPiece::TildePrefix(user) => {
                arg.text.push('~');
                arg.text.push_str(user);
            }
            WordPiece::ParameterExpansion(expr) => self.parameter(expr, arg),
            WordPiece::CommandSubstitution(source)
            | WordPiece::BackquotedCommandSubstitution(source) => {
                let out = self.script(source, Shell::Bash, &Ctx::default());
                arg.flow = arg.flow.union(out.flow);
                match out.text {
                    Some(text) => arg.text.push_str(text.trim_end_matches('\n')),
                    None => self.unknown_part(arg, "$(…)"),
                }
            }
            WordPiece::EscapeSequence(text) => {
                let escaped = text.strip_prefix('\\').unwrap_or(text);
                if !quoted && self.shell != Shell::Fish && matches!(escaped, "t" | "n" | "r") {
                    let pitfall = format!(
                        "the shell turns the unquoted \\{escaped} into a plain {escaped}: \
                         quote it ('\\{escaped}')"
                    );
                    if !self.pitfalls.contains(&pitfall) {
                        self.pitfalls.push(pitfall);
                    }
                }
                arg.text.push_str(escaped)
            }
            WordPiece::ArithmeticExpression(_) => arg.text.push('0'),
        }
    }

    fn unknown_part(&self, arg: &mut Arg, shown: &str) {
        if arg.text.is_empty() {
            arg.unknown_prefix = true;
        }
        arg.unknown = true;
        arg.text.push_str(shown);
    }

    fn parameter(&mut self, expr: &ParameterExpr, arg: &mut Arg) {
        let (parameter, default) = match expr {
            ParameterExpr::Parameter { parameter, .. } => (parameter, None),
            ParameterExpr::UseDefaultValues {
                parameter,
                default_value,
                ..
            }
            | ParameterExpr::AssignDefaultValues {
                parameter,
                default_value,
                ..
            } => (parameter, default_value.as_deref()),
            ParameterExpr::IndicateErrorIfNullOrUnset { parameter, .. } => (parameter, None),
            _ => {
                self.unknown_part(arg, "${…}");
                return;
            }
        };
        match self.lookup(parameter) {
            Some(value) => {
                if value.unknown_prefix && arg.text.is_empty() {
                    arg.unknown_prefix = true;
                }
                arg.unknown |= value.unknown;
                arg.glob |= value.glob;
                arg.flow = arg.flow.union(value.flow);
                arg.each = arg.each.or(value.each);
                arg.text.push_str(&value.text);
            }
            None => match default {
                Some(default) => arg.text.push_str(default),
                None => {
                    let name = parameter_name(parameter);
                    if looks_secret(&name) {
                        arg.flow.token = true;
                    }
                    self.unknown_part(arg, &format!("${name}"));
                }
            },
        }
    }

    fn lookup(&self, parameter: &Parameter) -> Option<Arg> {
        match parameter {
            Parameter::Named(name)
            | Parameter::NamedWithIndex { name, .. }
            | Parameter::NamedWithAllIndices { name, .. } => self
                .vars
                .get(name)
                .cloned()
                .or_else(|| well_known_variable(name)),
            Parameter::Positional(0) | Parameter::Special(SpecialParameter::ShellName) => {
                Some(Arg::literal(
                    self.frames
                        .iter()
                        .rev()
                        .find(|f| !self.functions.contains_key(&f.name))
                        .map_or(self.shell.name(), |f| f.name.as_str()),
                ))
            }
            Parameter::Positional(n) => self.positional.get(*n as usize - 1).cloned(),
            Parameter::Special(SpecialParameter::AllPositionalParameters { .. }) => {
                self.positional.first().cloned()
            }
            Parameter::Special(_) => Some(Arg::literal("0")),
        }
    }
}

/// The name a command word runs: its base name, without a leading backslash.
pub(super) fn command_name(word: &str) -> &str {
    let word = word.trim_start_matches('\\');
    word.rsplit('/').next().unwrap_or(word)
}

/// Brace expansion of one unquoted `{a,b,…}` group: `/{usr,etc}` is `/usr` and `/etc`.
fn brace_alternatives(text: &str) -> Vec<String> {
    let group = text.find('{').and_then(|open| {
        let close = open + text[open..].find('}')?;
        let inner = &text[open + 1..close];
        (inner.contains(',') && !inner.contains('{')).then_some((open, close, inner))
    });
    let Some((open, close, inner)) = group else {
        return vec![text.to_string()];
    };
    inner
        .split(',')
        .take(MAX_ITERATIONS)
        .map(|choice| format!("{}{choice}{}", &text[..open], &text[close + 1..]))
        .collect()
}

fn process_substitution_arg(out: &Stream) -> Arg {
    Arg {
        text: "/dev/fd/63".into(),
        flow: out.flow,
        ..Arg::default()
    }
}

fn is_all_positional(raw: &str) -> bool {
    matches!(raw, "\"$@\"" | "$@" | "\"${@}\"" | "$*" | "\"$*\"")
}

fn parameter_name(parameter: &Parameter) -> String {
    match parameter {
        Parameter::Named(name)
        | Parameter::NamedWithIndex { name, .. }
        | Parameter::NamedWithAllIndices { name, .. } => name.clone(),
        Parameter::Positional(n) => n.to_string(),
        Parameter::Special(_) => "?".into(),
    }
}

/// Environment variables whose meaning is fixed enough to reason about.
fn well_known_variable(name: &str) -> Option<Arg> {
    let text = match name {
        "HOME" => "~",
        "PWD" => ".",
        "TMPDIR" | "TMP" | "TEMP" => "/tmp",
        "XDG_CONFIG_HOME" => "~/.config",
        "XDG_DATA_HOME" => "~/.local/share",
        "XDG_CACHE_HOME" => "~/.cache",
        "XDG_STATE_HOME" => "~/.local/state",
        "USER" | "LOGNAME" | "HOSTNAME" | "SHELL" | "EDITOR" | "VISUAL" | "PAGER" | "LANG"
        | "TERM" | "UID" | "EUID" => return Some(Arg::literal(format!("${name}"))),
        _ => return None,
    };
    Some(Arg::literal(text))
}

/// Whether a variable name suggests a credential (`GITHUB_TOKEN`, `DB_PASSWORD`).
pub(super) fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
    ]
    .iter()
    .any(|marker| upper.contains(marker))
}
