//! `cmdai daemon logs`: the end of the daemon log, and with `--follow` what it writes next,
//! across a rotation to `daemon.log.1`.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use clap::Args;

use super::Failure;
use crate::paths;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  cmdai daemon logs\n  cmdai daemon logs -n 200\n  \
    cmdai daemon logs -f\n\n\
    The log is $XDG_STATE_HOME/cmdai/daemon.log (~/.local/state/cmdai/daemon.log); it moves to \
    daemon.log.1 when it passes 1 MiB and a daemon starts. Sentences and commands are never \
    logged."
)]
pub struct LogsArgs {
    /// Lines to print from the end of the log
    #[arg(short = 'n', long, default_value_t = 50, value_name = "N")]
    lines: usize,
    /// Keep printing what the daemon writes, until Ctrl-C
    #[arg(short, long)]
    follow: bool,
}

pub fn run(args: &LogsArgs) -> Result<(), Failure> {
    let path = paths::log_path();
    let mut out = io::stdout().lock();
    let file = match File::open(&path) {
        Ok(file) => Some(file),
        Err(e) if e.kind() == io::ErrorKind::NotFound && args.follow => None,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            eprintln!(
                "cmdai: no log yet at {}; the daemon writes it when it starts",
                path.display()
            );
            return Ok(());
        }
        Err(e) => {
            return Err(Failure::error(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    let mut position = 0;
    if let Some(mut file) = file {
        let (tail, end) = last_lines(&mut file, args.lines)
            .map_err(|e| Failure::error(format!("cannot read {}: {e}", path.display())))?;
        if !emit(&mut out, &tail)? {
            return Ok(());
        }
        position = end;
    }
    if args.follow {
        follow(&path, position, &mut out)?;
    }
    Ok(())
}

/// Writes `bytes`; `Ok(false)` when the reader went away (`| head`), which is no error.
fn emit(out: &mut impl Write, bytes: &[u8]) -> Result<bool, Failure> {
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(Failure::error(e)),
    }
}

/// The last `n` lines of `file` and the offset of its end, reading backwards in blocks so a
/// big log costs no more than its tail.
pub fn last_lines(file: &mut File, n: usize) -> io::Result<(Vec<u8>, u64)> {
    const BLOCK: u64 = 16 * 1024;
    let end = file.seek(SeekFrom::End(0))?;
    let mut start = end;
    let mut tail = Vec::new();
    // A final newline ends the last line rather than starting an empty one.
    while start > 0 && tail.iter().filter(|&&b| b == b'\n').count() <= n {
        let from = start.saturating_sub(BLOCK);
        let mut block = vec![0; (start - from) as usize];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut block)?;
        block.extend_from_slice(&tail);
        tail = block;
        start = from;
    }
    let body_end = tail.len() - usize::from(tail.last() == Some(&b'\n'));
    let cut = tail[..body_end]
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, &b)| b == b'\n')
        .nth(n.saturating_sub(1))
        .map_or(0, |(i, _)| i + 1);
    let cut = if n == 0 { tail.len() } else { cut };
    Ok((tail.split_off(cut), end))
}

/// Prints what is appended after `position`, starting over when the log is rotated or
/// truncated. Polls: the log is written by another process, and a quarter second is soon
/// enough for a person reading it.
fn follow(path: &Path, mut position: u64, out: &mut impl Write) -> Result<(), Failure> {
    let mut inode = std::fs::metadata(path).map(|m| m.ino()).ok();
    let mut buf = Vec::new();
    loop {
        if let Ok(meta) = std::fs::metadata(path) {
            if inode != Some(meta.ino()) || meta.len() < position {
                inode = Some(meta.ino());
                position = 0;
            }
            if meta.len() > position {
                let mut file = File::open(path).map_err(Failure::error)?;
                file.seek(SeekFrom::Start(position))
                    .map_err(Failure::error)?;
                buf.clear();
                position += file.read_to_end(&mut buf).map_err(Failure::error)? as u64;
                if !emit(out, &buf)? {
                    return Ok(());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail_of(text: &str, n: usize) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, text).unwrap();
        let (tail, end) = last_lines(&mut File::open(&path).unwrap(), n).unwrap();
        assert_eq!(end, text.len() as u64);
        String::from_utf8(tail).unwrap()
    }

    #[test]
    fn the_last_lines_with_or_without_a_final_newline() {
        assert_eq!(tail_of("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(tail_of("a\nb\nc", 2), "b\nc");
        assert_eq!(tail_of("a\nb\n", 5), "a\nb\n");
        assert_eq!(tail_of("a\nb\n", 0), "");
        assert_eq!(tail_of("", 3), "");
    }

    #[test]
    fn a_tail_across_blocks() {
        let text: String = (0..5000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(tail_of(&text, 3), "line 4997\nline 4998\nline 4999\n");
        assert_eq!(tail_of(&text, 5000), text);
    }
}
