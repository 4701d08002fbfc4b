//! `hunch logs digest` and `hunch logs cluster`: log lines folded into templates,
//! streamed so a log of any size fits (`cluster` is in [`super::logs_cluster`]).

use super::{logs_cluster, show_time};
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub(super) enum LogsCommand {
    /// Templates with counts, where they were first and last seen, and bursts; streams, so
    /// a log of any size fits (`-` reads stdin).
    Digest {
        file: PathBuf,
        /// Mark templates that don't occur in this earlier log as new.
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// Only lines at or after this time: RFC 3339, or an age like 30m, 2h, 1d.
        #[arg(long)]
        since: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One cluster id per input line, in order (reads stdin).
    Cluster {
        /// Print each line's template after its id, separated by a tab.
        #[arg(long)]
        templates: bool,
    },
}

/// The longest line kept whole; the rest of a longer line is skipped, not buffered.
const MAX_LINE: usize = 64 * 1024;

/// Call `each` with every line of a file (or stdin for `-`), one at a time, without
/// holding the file: `\r\n` is handled, invalid UTF-8 replaced, and a line longer than
/// [`MAX_LINE`] cut there.
fn for_each_line(path: &Path, mut each: impl FnMut(&str)) -> Result<()> {
    use std::io::{BufRead, BufReader, Read};
    let input: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?)
    };
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            return Ok(());
        }
        if line.last() != Some(&b'\n') && n == MAX_LINE {
            // Skip the rest of the overlong line without keeping it.
            let mut rest = Vec::new();
            while (&mut reader)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut rest)?
                == MAX_LINE
                && rest.last() != Some(&b'\n')
            {
                rest.clear();
            }
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        each(&String::from_utf8_lossy(&line));
    }
}

/// `--since`: RFC 3339, or an age (`90s`, `30m`, `2h`, `1d`) before now, as unix seconds.
fn parse_since(text: &str) -> Result<i64> {
    if let Some(t) = hunch::bundle::parse_time(text) {
        return Ok(t.timestamp());
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    match number.parse::<i64>() {
        Ok(n) if seconds > 0 && n >= 0 => Ok(chrono::Utc::now().timestamp() - n * seconds),
        _ => bail!("--since {text}: expected an RFC 3339 time or an age like 30m, 2h, 1d"),
    }
}

/// `hunch logs`: run the subcommand, printing to a buffered stdout.
pub(super) fn logs(command: LogsCommand) -> Result<()> {
    use hunch::analysis::templates::{Digest, leading_time};
    use std::io::Write;
    // Buffered: `cluster` prints a line per input line, and stdout flushes every line.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match command {
        LogsCommand::Cluster { templates } => logs_cluster::cluster(templates, MAX_LINE)?,
        LogsCommand::Digest {
            file,
            baseline,
            since,
            json,
        } => {
            let since = since.as_deref().map(parse_since).transpose()?;
            let mut digest = Digest::default();
            if let Some(baseline) = baseline {
                for_each_line(&baseline, |line| digest.add_baseline(line))?;
            }
            let (mut last_time, mut skipped) = (None, 0usize);
            for_each_line(&file, |line| {
                // A line without a time (a stack trace, a continuation) belongs to the last one.
                let time = leading_time(line).or(last_time);
                last_time = time;
                if since.is_some_and(|s| time.is_some_and(|t| t < s)) {
                    skipped += 1;
                } else {
                    digest.add(line, time);
                }
            })?;
            let lines = digest.lines();
            let rows = digest.finish();
            if json {
                serde_json::to_writer_pretty(&mut out, &rows)?;
                writeln!(out)?;
            } else {
                let skipped = if skipped > 0 {
                    format!(
                        " ({} skipped)",
                        hunch::text::plural(skipped, "earlier line")
                    )
                } else {
                    String::new()
                };
                writeln!(
                    out,
                    "{} → {}{skipped}",
                    hunch::text::plural(lines, "line"),
                    hunch::text::plural(rows.len(), "template")
                )?;
                for r in rows {
                    let new = if r.new { "NEW " } else { "" };
                    let burst = r
                        .burst
                        .map(|b| {
                            format!(
                                "BURST {}/min at {} (usually {}/min) ",
                                b.count,
                                show_time(b.minute),
                                b.median_per_minute
                            )
                        })
                        .unwrap_or_default();
                    let shown = hunch::sanitize::for_display(&r.template);
                    writeln!(
                        out,
                        "{:>7}  lines {}-{}  {new}{burst}{shown}",
                        r.count, r.first_line, r.last_line
                    )?;
                }
            }
        }
    }
    out.flush().context("writing the output")?;
    Ok(())
}
