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

/// A metrics CSV read whole, refused when it holds no series or no rows; with the
/// service of each column when a multi-row header says it (see [`flatten_header`]).
fn read_table(path: &Path) -> Result<(hunch::bundle::MetricTable, BTreeMap<String, String>)> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = String::from_utf8(text).map_err(|e| {
        anyhow::anyhow!(
            "{}: not UTF-8 text (byte {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })?;
    let (text, services) = match flatten_header(&text)
        .with_context(|| format!("reading the header rows of {}", path.display()))?
    {
        Some((flat, services)) => (flat, services),
        None => (text, BTreeMap::new()),
    };
    let table = hunch::bundle::MetricTable::parse(&text, &path.display().to_string())?;
    if table.columns.is_empty() || table.times.is_empty() {
        bail!(
            "{}: no data: expected a header `time,<series>,…` and at least one row",
            path.display()
        );
    }
    Ok((table, services))
}

/// A metrics CSV whose header spans several rows, as pandas writes a table with
/// multi-level columns (the PetShop dataset: a row of services, a row of metrics, a row
/// of statistics, then a row naming the time index): one header row of names
/// `<service>_<metric>_<statistic>`, and each column's service — the first header row's
/// cell, kept whole because such names hold `_` of their own
/// (`petInfo_AWS::DynamoDB::Table`). `None` for a file with one header row.
fn flatten_header(text: &str) -> Result<Option<(String, BTreeMap<String, String>)>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut header: Vec<csv::StringRecord> = Vec::new();
    let mut rows: Vec<csv::StringRecord> = Vec::new();
    for record in reader.records() {
        let record = record?;
        let first = record.get(0).unwrap_or_default();
        if rows.is_empty() && hunch::bundle::parse_time(first).is_none() {
            if header.is_empty() && first.eq_ignore_ascii_case("time") {
                return Ok(None);
            }
            // The row naming the time index has nothing else in it.
            if record.iter().skip(1).any(|cell| !cell.is_empty()) {
                header.push(record);
            }
        } else {
            rows.push(record);
        }
    }
    if header.len() < 2 {
        return Ok(None);
    }
    let width = header.iter().map(csv::StringRecord::len).max().unwrap_or(0);
    let mut services = BTreeMap::new();
    let mut names = vec!["time".to_string()];
    for column in 1..width {
        let parts: Vec<&str> = header
            .iter()
            .filter_map(|row| row.get(column))
            .filter(|cell| !cell.is_empty())
            .collect();
        let name = parts.join("_");
        if let Some(service) = parts.first() {
            services.insert(name.clone(), service.to_string());
        }
        names.push(name);
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&names)?;
    for row in &rows {
        writer.write_record((0..width).map(|c| row.get(c).unwrap_or_default()))?;
    }
    let flat = String::from_utf8(writer.into_inner()?)?;
    Ok(Some((flat, services)))
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
    nodes
        .iter()
        .filter(|node| {
            series
                .strip_prefix(**node)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['_', '.', '{']))
        })
        .max_by_key(|node| node.len())
        .map_or_else(
            || hunch::bundle::service_of(series),
            |node| &series[..node.len()],
        )
}

/// `hunch metrics`: run the subcommand, printing to stdout.
pub(super) fn metrics(command: MetricsCommand) -> Result<()> {
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
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    hunch::analysis::topology::parse_edges(&text)
                        .with_context(|| format!("{}", path.display()))?
                }
                None => Vec::new(),
            };
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
                        eprintln!(
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
