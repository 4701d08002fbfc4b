//! `hunch metrics sift` and `hunch metrics rank`: which series changed when the fault
//! began, and which series or service is the likely cause (optionally along a call graph).

use super::show_time;
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub(super) enum MetricsCommand {
    /// The series that changed when the fault began, and where (drops constant and unchanged series).
    Sift {
        /// A CSV: a `time` column, then one column per series.
        file: PathBuf,
        /// Print JSON: the onset, the kept series with their shifts, and what was dropped.
        #[arg(long)]
        json: bool,
    },
    /// Suspects, most likely first, from metrics before and during an incident (the fault
    /// time is found from the data).
    Rank {
        /// Metrics from before the incident (CSV: a `time` column, one column per series;
        /// or a multi-row header as pandas writes one — service, metric, statistic —
        /// as in the PetShop dataset).
        #[arg(long, value_name = "FILE")]
        normal: PathBuf,
        /// Metrics from during the incident, same columns.
        #[arg(long, value_name = "FILE")]
        anomalous: PathBuf,
        /// Rank services (one per line) instead of series.
        #[arg(long, value_parser = ["series", "service"], default_value = "series")]
        by: String,
        /// How to read a series' service from its name: the first capture group of this
        /// regex, or its whole match. Default: the part before the first `_`
        /// (`carts-db_cpu` is `carts-db`). A series it does not match is its own service.
        #[arg(long, value_name = "REGEX")]
        service_regex: Option<String>,
        /// The call graph: a CSV with a `caller,callee` header and one edge per line, or
        /// an adjacency matrix (an empty cell then the nodes; a row per caller, nonzero
        /// where it calls the column's node). The service ranking then walks it: an
        /// anomalous callee that moved comparably explains its callers, so the cause
        /// comes before its symptoms (needs --by service). A series belongs to the
        /// longest graph node its name starts with.
        #[arg(long, value_name = "EDGES.csv")]
        graph: Option<PathBuf>,
        /// The alerting service: with --graph, the walk starts there and follows the
        /// callees that moved the harmful way for the alert's kind; the service itself
        /// is the cause when nothing below explains it.
        #[arg(long, value_name = "SERVICE", requires = "graph")]
        target: Option<String>,
        /// What the alerting service's alert is about (latency, errors or availability):
        /// the kind of move the walk follows, and its own moves of that kind are the
        /// symptom, not a cause (needs --target; without it, the target's strongest
        /// harmful move sets the kind).
        #[arg(long, value_name = "KIND", requires = "target")]
        target_metric: Option<hunch::analysis::harm::Signal>,
        /// Print JSON: name, score and service of each row.
        #[arg(long)]
        json: bool,
    },
}

/// The largest call graph `--graph` takes: a dense adjacency matrix of a few thousand
/// nodes.
const MAX_GRAPH_BYTES: u64 = 64 << 20;

/// A metrics file read whole (see [`hunch::bundle::MetricFile`]): its table, and each
/// column's service when a multi-row header names it.
fn read_table(path: &Path) -> Result<(hunch::bundle::MetricTable, BTreeMap<String, String>)> {
    let file = hunch::bundle::MetricFile::read(path)?;
    Ok((file.table, file.services))
}

/// The service a series belongs to, without a `--service-regex`: the one its file's
/// header gave, else the longest node of the call graph its name starts with (followed
/// by `_`, `.` or `{`: graph nodes are named as the tracer names them, and may hold `_`
/// themselves — `lambda_step_readDDB`), else the part of its name before the first `_`.
fn service_without_regex<'a>(
    series: &'a str,
    from_header: &'a BTreeMap<String, String>,
    nodes: &BTreeSet<&str>,
) -> &'a str {
    if let Some(service) = from_header.get(series) {
        return service;
    }
    // The longest prefix that ends where the series' name does or before a separator,
    // looked up (not every node tried against every series: both may be many).
    std::iter::once(series.len())
        .chain(series.rmatch_indices(['_', '.', '{']).map(|(at, _)| at))
        .find(|&end| nodes.contains(&series[..end]))
        .map_or_else(|| hunch::bundle::service_of(series), |end| &series[..end])
}

/// `hunch metrics`: run the subcommand, printing to stdout. An error may quote a file's
/// cells or names: it is made safe to print first (no control sequences).
pub(super) fn metrics(command: MetricsCommand) -> Result<()> {
    run(command).map_err(|e| anyhow::anyhow!(hunch::sanitize::for_display(&format!("{e:#}"))))
}

fn run(command: MetricsCommand) -> Result<()> {
    use hunch::analysis::rank::sift;
    use hunch::bundle::MetricTable;
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match command {
        MetricsCommand::Sift { file, json } => {
            let (table, _) = read_table(&file)?;
            let sifted = sift(&table.times, &table.named_series(), None);
            if json {
                let kept: Vec<serde_json::Value> = sifted
                    .kept
                    .iter()
                    .map(|s| serde_json::json!({"series": s.series, "score": s.score, "before": s.before, "after": s.after, "changed_at": s.changed_at}))
                    .collect();
                let doc = serde_json::json!({"onset": sifted.onset, "kept": kept, "constant": sifted.constant, "unchanged": sifted.unchanged});
                serde_json::to_writer_pretty(&mut out, &doc)?;
                writeln!(out)?;
            } else {
                let total = sifted.kept.len() + sifted.constant.len() + sifted.unchanged.len();
                writeln!(
                    out,
                    "onset at {} · kept {} of {total} series ({} constant, {} unchanged dropped)",
                    show_time(sifted.onset),
                    sifted.kept.len(),
                    sifted.constant.len(),
                    sifted.unchanged.len()
                )?;
                for s in &sifted.kept {
                    writeln!(
                        out,
                        "{:>8.1}  {:<32} {:.3} → {:.3}  changed at {}",
                        s.score,
                        s.series,
                        s.before,
                        s.after,
                        show_time(s.changed_at)
                    )?;
                }
            }
        }
        MetricsCommand::Rank {
            normal,
            anomalous,
            by,
            service_regex,
            graph,
            target,
            target_metric,
            json,
        } => {
            if graph.is_some() && by != "service" {
                bail!("--graph ranks services: add --by service");
            }
            let edges = match &graph {
                Some(path) => {
                    let text = hunch::bundle::read_text_file(path, MAX_GRAPH_BYTES)?;
                    hunch::analysis::topology::parse_edges(&text)
                        .with_context(|| format!("{}", path.display()))?
                }
                None => Vec::new(),
            };
            // Names read from the files are made safe to print; the target is matched
            // against them as it would be shown.
            let target = target.map(|t| hunch::sanitize::for_display(&t).replace('\n', " "));
            let pattern = service_regex
                .as_deref()
                .map(regex::Regex::new)
                .transpose()
                .context("--service-regex is not a valid regex")?;
            let ((normal, mut from_header), (anomalous, more)) =
                (read_table(&normal)?, read_table(&anomalous)?);
            from_header.extend(more);
            let nodes: BTreeSet<&str> = edges
                .iter()
                .flat_map(|(a, b)| [a.as_str(), b.as_str()])
                .chain(target.as_deref())
                .collect();
            let service = |series: &str| -> String {
                match &pattern {
                    Some(pattern) => pattern
                        .captures(series)
                        .and_then(|c| c.get(1).or_else(|| c.get(0)))
                        .map_or(series, |m| m.as_str())
                        .to_string(),
                    None => service_without_regex(series, &from_header, &nodes).to_string(),
                }
            };
            let table = MetricTable::concat_rows(&normal, &anomalous);
            // The fault began where the anomalous rows begin: the onset is sought there,
            // from a row before to half the anomalous rows after, five minutes at most.
            // (The joined table counts rows, not seconds.)
            let window = (!anomalous.times.is_empty()).then(|| {
                let step = match anomalous.times.as_slice() {
                    [a, b, ..] => (b - a).max(1),
                    _ => 60,
                };
                let first = normal.times.len() as i64;
                let last = first + anomalous.times.len() as i64 - 1;
                hunch::analysis::rank::OnsetWindow::after_split(first, last, 1, step)
            });
            let ranking =
                hunch::analysis::rank::rank_in(&table.times, &table.named_series(), window);
            let alerted: Vec<hunch::analysis::harm::Signal> = target_metric.into_iter().collect();
            let paging = hunch::analysis::harm::Paging {
                service: target.as_deref(),
                alerted: &alerted,
            };
            let rows: Vec<(String, f64)> = if by == "service" {
                let moves = hunch::analysis::harm::services_by_harm(&ranking, service, paging);
                if graph.is_some() {
                    if let Some(target) = target
                        .as_deref()
                        .filter(|t| !edges.iter().any(|(a, b)| a == t || b == t))
                    {
                        note!(
                            "warning: --target {target} is in no edge of the graph: nothing is below it, so it orders nothing"
                        );
                    }
                    hunch::analysis::topology::along_the_graph(
                        &moves,
                        &edges,
                        target.as_deref(),
                        target_metric,
                    )
                } else {
                    moves.into_iter().map(|m| (m.service, m.score)).collect()
                }
            } else {
                ranking
                    .shifts
                    .iter()
                    .map(|s| (s.series.clone(), s.score.abs()))
                    .collect()
            };
            if json {
                let rows: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|(name, score)| {
                        let service = if by == "service" {
                            name.clone()
                        } else {
                            service(name)
                        };
                        serde_json::json!({"name": name, "score": score, "service": service})
                    })
                    .collect();
                serde_json::to_writer_pretty(&mut out, &rows)?;
                writeln!(out)?;
            } else if by == "service" {
                for (name, _) in rows {
                    writeln!(out, "{name}")?;
                }
            } else {
                for (name, score) in rows {
                    writeln!(out, "{score:>10.1}  {name}")?;
                }
            }
        }
    }
    Ok(())
}
