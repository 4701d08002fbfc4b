//! `hunch traces`: the trace layer from the command line — the digest an agent reads
//! (`digest`) and the call graph the spans show as the `caller,callee` CSV that
//! `metrics rank --graph` and an environment's `graph =` take (`graph`).
//!
//! Files are streamed ([`hunch::bundle::traces::TraceFile`]); `-` reads standard input
//! as OTLP/JSON lines.

use anyhow::{Context, Result};
use clap::Subcommand;
use hunch::analysis::traces::render::render;
use hunch::bundle::traces::{TraceFile, edges_csv};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub(super) enum TracesCommand {
    /// The call graph with call counts, each call's latency (p50/p90/p99) and errors
    /// before vs after the onset, each service's own time, what started failing or
    /// vanished, and the critical path of the slowest traces.
    Digest {
        /// OTLP/JSON lines (the Collector's file exporter; `-` for stdin) or a Jaeger
        /// JSON export.
        file: PathBuf,
        /// Spans from before the incident: everything in FILE counts as after (unless
        /// --onset says otherwise).
        #[arg(long, value_name = "FILE")]
        normal: Option<PathBuf>,
        /// The onset, RFC 3339 or unix seconds. Default: the split where latencies
        /// shifted most.
        #[arg(long, value_name = "TIME")]
        onset: Option<String>,
        /// Print the typed report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The caller → callee pairs the spans show (a child span in another service than
    /// its parent), as `caller,callee` CSV with a header.
    Graph {
        /// OTLP/JSON lines (`-` for stdin) or a Jaeger JSON export.
        file: PathBuf,
    },
}

fn onset_ns(onset: &str) -> Result<i64> {
    hunch::bundle::parse_time(onset)
        .and_then(|t| t.timestamp_nanos_opt())
        .with_context(|| format!("--onset `{onset}` is neither RFC 3339 nor unix seconds"))
}

fn file(path: &Path) -> Result<TraceFile> {
    Ok(TraceFile::named(path)?)
}

pub(super) fn run(command: TracesCommand) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match command {
        TracesCommand::Digest {
            file: path,
            normal,
            onset,
            json,
        } => {
            let onset = onset.as_deref().map(onset_ns).transpose()?;
            let normal = normal.as_deref().map(file).transpose()?;
            let report = file(&path)?.digest(normal.as_ref(), onset)?;
            if json {
                serde_json::to_writer_pretty(&mut out, &report)?;
                writeln!(out)?;
            } else {
                write!(out, "{}", render(&report))?;
            }
        }
        TracesCommand::Graph { file: path } => {
            let edges = file(&path)?.graph()?;
            write!(out, "{}", edges_csv(&edges))?;
        }
    }
    out.flush()?;
    Ok(())
}
