//! What an interpreter one-liner (`python3 -c`, `perl -e`, `node -e`…) does, read heuristically.

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

pub(super) fn inspect(_lang: Lang, _code: &str) -> CodeFacts {
    CodeFacts::default()
}
