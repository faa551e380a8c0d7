//! `cmdai config [show]` (the effective settings and where each came from) and
//! `cmdai config init` (a commented config.toml with every option at its default).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use clap::{Args, Subcommand};

use super::{print_stdout, Failure};
use crate::config::{self, Config, Flags, KEYS};
use crate::paths;

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  cmdai config\n  cmdai config show --model small\n  \
        cmdai config init\n  cmdai config init --force\n\n\
        Precedence: a flag beats the environment (CMDAI_*), which beats config.toml, which \
        beats the default. The daemon reads the file when it starts: `cmdai daemon restart` \
        after an edit."
)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: Option<ConfigCommand>,
    /// Show the settings as if these flags were given to the daemon
    #[command(flatten)]
    show: Flags,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print every effective setting and where it came from (the default)
    #[command(after_help = "Example output:\n  \
        model       \"small\"   ~/.config/cmdai/config.toml:3\n  \
        threads     4         env CMDAI_THREADS\n  \
        backend     \"embedded\" default\n\n\
        The flags preview what `cmdai daemon start` with the same flags would use.")]
    Show(Flags),
    /// Write config.toml with every option documented and commented out
    #[command(
        after_help = "Examples:\n  cmdai config init\n  cmdai config init --force\n\n\
        Writes $XDG_CONFIG_HOME/cmdai/config.toml (or $CMDAI_CONFIG). Uncomment a line to \
        change that option."
    )]
    Init {
        /// Replace an existing file
        #[arg(long)]
        force: bool,
    },
    /// Print the config file's path
    Path,
}

pub fn run(args: ConfigArgs) -> Result<(), Failure> {
    match args.command {
        None => show(args.show),
        Some(ConfigCommand::Show(show_args)) => show(show_args),
        Some(ConfigCommand::Init { force }) => init(force),
        Some(ConfigCommand::Path) => print_stdout(&format!("{}\n", paths::config_path().display())),
    }
}

fn show(flags: Flags) -> Result<(), Failure> {
    let explained = Config::explain(&flags)?;
    let rows: Vec<(&str, String, String)> = KEYS
        .iter()
        .map(|key| {
            (
                *key,
                explained.value(key),
                explained.origin(key).to_string(),
            )
        })
        .collect();
    let width = rows.iter().map(|(_, v, _)| v.len()).max().unwrap_or(0);
    let mut out = format!("# {}\n", paths::config_path().display());
    for (key, value, origin) in rows {
        out += &format!("{key:<16} {value:<width$}  {origin}\n");
    }
    print_stdout(&out)
}

fn init(force: bool) -> Result<(), Failure> {
    let path = paths::config_path();
    if path.exists() && !force {
        return Err(Failure::error(format!(
            "{} already exists; `cmdai config init --force` replaces it",
            path.display()
        )));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::error(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut file| file.write_all(config::DEFAULT_FILE.as_bytes()))
        .map_err(|e| Failure::error(format!("cannot write {}: {e}", path.display())))?;
    eprintln!(
        "cmdai: wrote {}; uncomment a line to change an option",
        path.display()
    );
    Ok(())
}
