//! `cmdai-daemon`: keeps the model loaded and answers `cmdai` over a Unix socket.

use std::process::ExitCode;

use clap::Parser;
use cmdai::config::Flags;
use cmdai::daemon;
use cmdai::protocol::Suggestion;

#[derive(Debug, Parser)]
#[command(
    name = "cmdai-daemon",
    version,
    about = "Keep a model loaded and answer cmdai over a Unix socket",
    long_about = "Keep a model loaded and answer cmdai over a Unix socket.\n\n\
        Runs in the foreground (systemd, launchd, or started by `cmdai` on demand). \
        Stop it with SIGTERM or `cmdai daemon stop`."
)]
struct Args {
    #[command(flatten)]
    flags: Flags,
    /// Load the model, answer this one sentence on stdout and exit (no socket): what a tool
    /// without a daemon pays per request
    #[arg(long, value_name = "SENTENCE")]
    once: Option<String>,
    /// Shell to target with --once
    #[arg(long, default_value = "bash", requires = "once")]
    shell: String,
}

/// llama.cpp runs its threads under OpenMP, whose default is to spin while waiting. On a machine
/// with anything else running (a build, a browser) spinning threads fight for the cores and a
/// request gets several times slower; passive waiting costs almost nothing when idle. libgomp
/// reads the setting once, before `main`, so the daemon re-executes itself with it set.
fn ensure_passive_openmp() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("OMP_WAIT_POLICY").is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("OMP_WAIT_POLICY", "PASSIVE")
        .exec();
    eprintln!("cmdai-daemon: could not re-execute with OMP_WAIT_POLICY=PASSIVE: {err}");
}

/// The command on stdout, unless the safety setting holds it back.
fn print_once(suggestion: Suggestion) -> anyhow::Result<()> {
    anyhow::ensure!(
        !suggestion.blocked,
        "held back a {} command: {}",
        suggestion.risk,
        suggestion.reasons.join("; ")
    );
    println!("{}", suggestion.command);
    Ok(())
}

fn main() -> ExitCode {
    ensure_passive_openmp();
    let args = Args::parse();
    let result = match &args.once {
        Some(sentence) => daemon::once(&args.flags, sentence, &args.shell).and_then(print_once),
        None => daemon::run(&args.flags),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cmdai-daemon: {e:#}");
            ExitCode::from(2)
        }
    }
}
