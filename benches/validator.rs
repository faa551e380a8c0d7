//! How long `cmdai::validate::assess` takes per command, over the labelled safety corpus, next
//! to brush-parser's parse alone on the same commands.
//!
//! `cargo bench --bench validator [-- CORPUS.jsonl]`; without an argument the corpus is
//! `$CMDAI_SAFETY_CORPUS`, else `../shared/safety/dev-corpus.jsonl` beside the crate. Each
//! command is warmed up and then timed [`RUNS`] times; the table shows the median, p90 and max
//! of the per-command medians. No syntax-check subprocess is involved.

use std::error::Error;
use std::hint::black_box;
use std::io::Cursor;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use brush_parser::{Parser, ParserOptions, SourceInfo};
use cmdai::validate::{assess, Shell};
use serde::Deserialize;

/// Timed runs per command, after [`WARMUP`] untimed ones.
const RUNS: usize = 200;
const WARMUP: usize = 20;

/// The validator's budget per command.
const TARGET: Duration = Duration::from_millis(1);

/// One corpus line; other fields (`level`, `why`, `source`) are not needed here.
#[derive(Deserialize)]
struct Entry {
    cmd: String,
    shell: Option<String>,
}

fn main() -> Result<(), Box<dyn Error>> {
    let Some(path) = corpus_path() else {
        println!("validator bench: no corpus found (pass a path or set CMDAI_SAFETY_CORPUS)");
        return Ok(());
    };
    let mut commands = Vec::new();
    for (number, line) in std::fs::read_to_string(&path)?.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let entry: Entry = serde_json::from_str(line)
            .map_err(|err| format!("{}:{}: {err}", path.display(), number + 1))?;
        let shell = entry
            .shell
            .as_deref()
            .and_then(Shell::from_name)
            .unwrap_or(Shell::Bash);
        commands.push((entry.cmd, shell));
    }
    if commands.is_empty() {
        println!("validator bench: {} has no commands", path.display());
        return Ok(());
    }

    let mut assess_times = Vec::with_capacity(commands.len());
    let mut parse_times = Vec::with_capacity(commands.len());
    for (command, shell) in &commands {
        assess_times.push(median_time(|| {
            black_box(assess(black_box(command), black_box(*shell)));
        }));
        parse_times.push(median_time(|| {
            black_box(parse(black_box(command)));
        }));
    }
    let slowest = (0..commands.len())
        .max_by_key(|&i| assess_times[i])
        .expect("at least one command");

    let assess = Stats::of(&assess_times);
    let parse = Stats::of(&parse_times);
    println!(
        "validator bench: {} commands from {}, median of {RUNS} runs each",
        commands.len(),
        path.display()
    );
    println!();
    println!(
        "{:<22}{:>12}{:>12}{:>12}",
        "per command", "median", "p90", "max"
    );
    assess.print_row("assess");
    parse.print_row("brush-parser parse");
    println!(
        "{:<22}{:>11.2}×{:>11.2}×{:>11.2}×",
        "assess / parse",
        ratio(assess.median, parse.median),
        ratio(assess.p90, parse.p90),
        ratio(assess.max, parse.max),
    );
    println!();
    println!(
        "slowest: {} ({})",
        one_line(&commands[slowest].0, 60),
        micros(assess_times[slowest])
    );
    let verdict = if assess.median < TARGET {
        "PASS"
    } else {
        "FAIL"
    };
    println!(
        "validator median {} per command (target < 1 ms): {verdict}",
        micros(assess.median)
    );
    Ok(())
}

/// The first non-flag argument (cargo passes `--bench`), else `$CMDAI_SAFETY_CORPUS`, else the
/// shared corpus beside the crate; `None` when that file does not exist.
fn corpus_path() -> Option<PathBuf> {
    let path = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with('-'))
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("CMDAI_SAFETY_CORPUS").map(PathBuf::from))
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/safety/dev-corpus.jsonl")
        });
    path.canonicalize().ok().filter(|path| path.is_file())
}

/// The baseline: brush-parser's parse of the command, and nothing else.
fn parse(command: &str) -> bool {
    Parser::new(
        Cursor::new(command),
        &ParserOptions::default(),
        &SourceInfo::default(),
    )
    .parse_program()
    .is_ok()
}

/// The median duration of `run` over [`RUNS`] calls, after [`WARMUP`] untimed ones.
fn median_time(mut run: impl FnMut()) -> Duration {
    for _ in 0..WARMUP {
        run();
    }
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    times[times.len() / 2]
}

/// Median, 90th percentile and maximum of a set of durations.
struct Stats {
    median: Duration,
    p90: Duration,
    max: Duration,
}

impl Stats {
    fn of(times: &[Duration]) -> Stats {
        let mut sorted = times.to_vec();
        sorted.sort_unstable();
        let at = |fraction: f64| sorted[((sorted.len() - 1) as f64 * fraction).round() as usize];
        Stats {
            median: at(0.5),
            p90: at(0.9),
            max: at(1.0),
        }
    }

    fn print_row(&self, label: &str) {
        println!(
            "{label:<22}{:>12}{:>12}{:>12}",
            micros(self.median),
            micros(self.p90),
            micros(self.max)
        );
    }
}

fn micros(time: Duration) -> String {
    format!("{:.2} µs", time.as_secs_f64() * 1e6)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-12)
}

/// `text` on one line, at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &flat[..end]),
        None => flat,
    }
}
