//! Text to a bash syntax tree, whatever the dialect, without ever hanging.
//!
//! brush-parser reads bash. fish, and zsh text that bash cannot read, are normalised to bash first
//! (`dialect`); text no dialect accepts is flattened into plain simple commands, so even a broken
//! command is still rated on every word it holds.

use std::io::Cursor;

use brush_parser::ast::Program;
use brush_parser::word::WordPieceWithSource;
use brush_parser::{Parser, ParserOptions, SourceInfo};

use super::dialect;
use super::Shell;

/// brush-parser backtracks exponentially on deeply nested, unbalanced parentheses; text nested
/// deeper than this goes straight to the flattening fallback.
const MAX_NESTING: usize = 12;
/// Compound commands (`if`, `for`, `while`…) nested deeper than this would exhaust the stack
/// of a recursive parser and walker; such text is flattened too.
const MAX_BLOCKS: usize = 32;

/// Parses a command line in `shell`'s dialect; text that parses in no dialect is flattened.
pub(super) fn parse(text: &str, shell: Shell) -> Program {
    let normalised = match shell {
        Shell::Fish => Some(dialect::fish_to_bash(text)),
        Shell::Zsh => None,
        Shell::Sh | Shell::Bash => None,
    };
    let first = normalised.as_deref().unwrap_or(text);
    if let Some(program) = parse_bash(first) {
        return program;
    }
    if shell == Shell::Zsh {
        if let Some(program) = parse_bash(&dialect::zsh_to_bash(text)) {
            return program;
        }
    }
    // Flattened text is balanced and shallow by construction: no nesting guard needed.
    parse_unguarded(&dialect::loose_to_bash(text)).unwrap_or_else(empty_program)
}

/// Parses bash text, refusing text nested deep enough to make the parser crawl.
pub(super) fn parse_bash(text: &str) -> Option<Program> {
    if nesting(text) > MAX_NESTING || blocks(text) > MAX_BLOCKS {
        return None;
    }
    parse_unguarded(text)
}

fn parse_unguarded(text: &str) -> Option<Program> {
    let options = ParserOptions::default();
    let mut parser = Parser::new(Cursor::new(text), &options, &SourceInfo::default());
    parser.parse_program().ok()
}

/// Splits a word into its pieces (quotes, expansions, substitutions).
pub(super) fn word_pieces(raw: &str) -> Option<Vec<WordPieceWithSource>> {
    if nesting(raw) > MAX_NESTING {
        return None;
    }
    brush_parser::word::parse(raw, &ParserOptions::default()).ok()
}

/// The deepest nesting of brackets, counted without regard to quoting (an over-estimate).
fn nesting(text: &str) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    for byte in text.bytes() {
        match byte {
            b'(' | b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The deepest nesting of compound commands, from their keywords (an over-estimate: words
/// are not told apart from keywords).
fn blocks(text: &str) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let words = text.split(|c: char| c.is_whitespace() || ";&|()".contains(c));
    for word in words {
        match word {
            "if" | "for" | "while" | "until" | "case" | "select" | "{" | "begin" | "function" => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            "fi" | "done" | "esac" | "}" | "end" => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fn empty_program() -> Program {
    Program {
        complete_commands: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bash_parses_cleanly() {
        let program = parse("ls -la | grep x && echo done", Shell::Bash);
        assert_eq!(program.complete_commands.len(), 1);
    }

    #[test]
    fn deep_unbalanced_nesting_does_not_reach_the_parser() {
        let text = "( ".repeat(5000);
        assert!(parse_bash(&text).is_none());
        // Whatever the fallback makes of it, parsing returns.
        let _ = parse(&text, Shell::Bash);
    }

    #[test]
    fn deeply_nested_blocks_are_flattened() {
        let text = format!(
            "{}rm -rf /{}",
            "if true; then ".repeat(800),
            "; fi".repeat(800)
        );
        assert!(parse_bash(&text).is_none());
        assert_eq!(blocks("if a; then for x in y; do z; done; fi"), 2);
    }

    #[test]
    fn nesting_counts_the_deepest_point() {
        assert_eq!(nesting("a (b (c)) (d)"), 2);
        assert_eq!(nesting(")))"), 0);
    }
}
