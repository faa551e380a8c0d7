//! `cmdai completions bash|zsh|fish`: tab completion scripts generated from the argument
//! definitions, so they never drift from them.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{print_stdout, Cli, Failure};

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    cmdai completions bash > ~/.local/share/bash-completion/completions/cmdai\n  \
    cmdai completions zsh > ~/.zfunc/_cmdai    # with fpath+=(~/.zfunc) before compinit\n  \
    cmdai completions fish > ~/.config/fish/completions/cmdai.fish\n\n\
    Open a new shell afterwards. These complete cmdai's own arguments; the Ctrl-G key comes \
    from `cmdai init`.")]
pub struct CompletionsArgs {
    /// Shell to write completions for
    #[arg(value_parser = ["bash", "zsh", "fish"])]
    shell: String,
}

pub fn run(args: &CompletionsArgs) -> Result<(), Failure> {
    let shell = match args.shell.as_str() {
        "zsh" => Shell::Zsh,
        "fish" => Shell::Fish,
        _ => Shell::Bash,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "cmdai", &mut script);
    print_stdout(&String::from_utf8_lossy(&script))
}
