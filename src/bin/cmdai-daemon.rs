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

/// llama.cpp runs its threads under OpenMP. libgomp's default spins long while waiting: on a
/// machine with anything else running (a build, a browser) spinning threads fight for the
/// cores and a request gets several times slower. Fully passive waiting puts a thread to sleep
/// at each of the hundreds of barriers in one token's step, and a step then takes as long on
/// two threads as on one (60 ms against 43 for the default model on our 2-core machine). A
/// short spin keeps most of that speed and gives the core back within a fraction of a
/// millisecond. libgomp reads its settings once, before `main`, so the daemon re-executes
/// itself with them set; a user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT is left alone.
fn ensure_openmp_waits_briefly() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("OMP_WAIT_POLICY").is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut command = std::process::Command::new(exe);
    command
        .args(std::env::args_os().skip(1))
        .env("OMP_WAIT_POLICY", "PASSIVE");
    if std::env::var_os("GOMP_SPINCOUNT").is_none() {
        command.env("GOMP_SPINCOUNT", OPENMP_SPINS);
    }
    let err = command.exec();
    eprintln!("cmdai-daemon: could not re-execute with OpenMP's waiting set: {err}");
}

/// How many times an OpenMP thread checks for work before it sleeps: well under a millisecond.
const OPENMP_SPINS: &str = "30000";

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
    ensure_openmp_waits_briefly();
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
