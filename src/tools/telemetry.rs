//! The telemetry digest tools: `metrics_rank`, `metrics_query`, `change_events`,
//! `logs_digest` and `knowledge_search`.
//!
//! They turn raw telemetry into what an investigator reads first — series that shifted
//! and when, templates of log lines with counts before and after the onset, deploys near
//! it, the runbooks that fit — using the pure algorithms in [`crate::analysis`]. Where the
//! telemetry comes from is a [`Telemetry`] source: an incident bundle on disk, or live
//! Prometheus and Loki servers. Every brain therefore sees the same digest whatever the
//! source, and the offline brain reads the same fields from either.

use super::logs_fold::LogFold;
use super::{
    CallPreview, Secret, Tool, ToolError, ToolOutput, ToolSpec, TypedTool, parse_args, schema_of,
    typed,
};
use crate::analysis::rank::OnsetWindow;
use crate::analysis::{rank, templates};
use crate::bundle::logs::LogSource;
use crate::bundle::traces::TraceFile;
use crate::bundle::{ChangeEvent, LogLine, MetricTable, parse_time, service_of};
use crate::event::Risk;
use crate::event::SessionScope;
use crate::knowledge::KnowledgeBase;
use crate::protocol::digest::{
    self, BurstRow, ChangeRow, DigestArgs, DocKind, EventsArgs, EventsReport, LogLevel, LogsReport,
    QueryArgs, QueryReport, RankArgs, RankReport, SearchArgs, SearchReport, SeriesMove,
    SeriesSummary, ServiceLogs, TemplateRow, TraceReport,
};
use chrono::{DateTime, TimeZone, Utc};
use futures::future::BoxFuture;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Log lines a source gave, oldest first, and what it left out when it stopped short of
/// the window (see [`Telemetry::logs_read`]).
pub(crate) type LogsRead = (Vec<LogLine>, Option<String>);

/// Where the digest tools get their data. Each call fetches afresh, so a live source
/// reflects what the servers hold now.
pub(crate) trait Telemetry: Send + Sync {
    /// Where the data comes from, as the approval overlay and previews name it.
    fn origin(&self) -> String;
    /// Every metric series of the incident window, one column per series named
    /// `<service>_<metric>`.
    fn metrics(&self) -> BoxFuture<'_, Result<Arc<MetricTable>, ToolError>>;
    /// Log lines of the incident window, oldest first, only `service`'s when given.
    fn logs<'a>(
        &'a self,
        service: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<LogLine>, ToolError>>;
    /// [`Telemetry::logs`], and what the source left out when it stopped short of the
    /// window (a live server read up to a cap), for the digest to say.
    fn logs_read<'a>(
        &'a self,
        service: Option<&'a str>,
    ) -> BoxFuture<'a, Result<LogsRead, ToolError>> {
        Box::pin(async move { Ok((self.logs(service).await?, None)) })
    }
    /// The log records as a stream, where the source can give them that way (a bundle):
    /// then `logs_digest` folds them as they pass instead of asking [`Telemetry::logs`].
    fn log_source(&self) -> Option<LogSource> {
        None
    }
    /// Deploys, config changes, scaling and restarts, oldest first.
    fn changes(&self) -> BoxFuture<'_, Result<Vec<ChangeEvent>, ToolError>>;
    /// Where the onset may be, from the alert (when it fired, the time its text gives).
    fn onset_window(&self) -> Option<OnsetWindow> {
        None
    }
    /// Whether there are traces to digest (a bundle's trace file, Jaeger, Tempo): only
    /// then is `traces_digest` offered.
    fn has_traces(&self) -> bool {
        false
    }
    /// The trace digest of the incident window, split at `onset` (unix nanoseconds;
    /// default: where latencies shifted most). `service` narrows what is fetched where
    /// the source can; the tool filters the report to it either way.
    fn traces<'a>(
        &'a self,
        _service: Option<&'a str>,
        _onset: Option<i64>,
    ) -> BoxFuture<'a, Result<TraceReport, ToolError>> {
        let origin = self.origin();
        Box::pin(std::future::ready(Err(ToolError::Failed(format!(
            "no traces in {origin}"
        )))))
    }
}

/// The five digest tools over one source and one knowledge base, and `traces_digest`
/// when the source has traces.
pub(crate) fn digest_tools(
    source: Arc<dyn Telemetry>,
    knowledge: Arc<KnowledgeBase>,
) -> Vec<Arc<dyn Tool>> {
    let mut tools = vec![
        typed(MetricsRank(source.clone())),
        typed(MetricsQuery(source.clone())),
        typed(ChangeEvents(source.clone())),
        typed(LogsDigest(source.clone())),
        typed(KnowledgeSearch(knowledge)),
    ];
    if source.has_traces() {
        tools.push(typed(super::traces::TracesDigest(source)));
    }
    tools
}

/// An incident bundle's telemetry: metrics and changes read when the bundle was loaded,
/// logs and traces streamed from their files on each call.
pub(crate) struct BundleTelemetry {
    metrics: Arc<MetricTable>,
    logs: LogSource,
    events: Vec<ChangeEvent>,
    window: Option<OnsetWindow>,
    traces: Option<TraceFile>,
}

impl BundleTelemetry {
    pub(crate) fn of(bundle: &crate::bundle::Bundle) -> BundleTelemetry {
        BundleTelemetry {
            metrics: bundle.metrics.clone(),
            logs: bundle.log_source(),
            events: bundle.events.clone(),
            window: Some(alert_window(
                &bundle.incident.alert,
                bundle.incident.fired_at.timestamp(),
            )),
            traces: bundle.traces.clone(),
        }
    }
}

/// The onset window an alert allows (see [`OnsetWindow::of_alert`]).
pub(crate) fn alert_window(alert: &str, fired_at: i64) -> OnsetWindow {
    OnsetWindow::of_alert(fired_at, rank::alert_since(alert, fired_at))
}

impl Telemetry for BundleTelemetry {
    fn origin(&self) -> String {
        "incident bundle".into()
    }
    fn metrics(&self) -> BoxFuture<'_, Result<Arc<MetricTable>, ToolError>> {
        Box::pin(std::future::ready(Ok(self.metrics.clone())))
    }
    fn logs<'a>(
        &'a self,
        service: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<LogLine>, ToolError>> {
        let mut lines = Vec::new();
        let read = self.logs.each(&mut |l| {
            if service.is_none_or(|s| s == l.service) {
                lines.push(l.clone());
            }
        });
        lines.sort_by_key(|l| l.ts);
        let result = read
            .map(|()| lines)
            .map_err(|e| ToolError::Failed(e.to_string()));
        Box::pin(std::future::ready(result))
    }
    fn log_source(&self) -> Option<LogSource> {
        Some(self.logs.clone())
    }
    fn changes(&self) -> BoxFuture<'_, Result<Vec<ChangeEvent>, ToolError>> {
        Box::pin(std::future::ready(Ok(self.events.clone())))
    }
    fn onset_window(&self) -> Option<OnsetWindow> {
        self.window
    }
    fn has_traces(&self) -> bool {
        self.traces.is_some()
    }
    fn traces<'a>(
        &'a self,
        _service: Option<&'a str>,
        onset: Option<i64>,
    ) -> BoxFuture<'a, Result<TraceReport, ToolError>> {
        let file = self.traces.clone();
        Box::pin(async move {
            let file = file.ok_or_else(|| ToolError::Failed("no traces in the bundle".into()))?;
            // Streaming a large file is CPU work: keep it off the engine's threads.
            tokio::task::spawn_blocking(move || file.digest(None, onset))
                .await
                .map_err(|e| ToolError::Failed(format!("the trace digest stopped: {e}")))?
                .map_err(|e| ToolError::Failed(e.to_string()))
        })
    }
}

/// The incident onset: where the pooled change points of every series say the fault
/// began, inside the window the alert allows when it is known.
pub(crate) fn onset_of(table: &MetricTable, window: Option<OnsetWindow>) -> i64 {
    table.onset_in(window)
}

/// The time of day of `ts` (`02:08:45`), or the number itself when no calendar holds it
/// (a server may answer any timestamp: slicing [`iso`]'s text would panic on it).
pub(crate) fn clock(ts: i64) -> String {
    Utc.timestamp_opt(ts, 0)
        .single()
        .map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_else(|| format!("t={ts}"))
}

pub(crate) fn iso(ts: i64) -> String {
    Utc.timestamp_opt(ts, 0)
        .single()
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// `v` rounded for a report without losing its scale: two decimals, or as many as keep
/// three significant digits of a small value (`0.0049` stays `0.0049`, never `0`).
pub(crate) fn keep_scale(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let magnitude = v.abs().log10().floor() as i32;
    round(v, (2 - magnitude).clamp(2, 12))
}

pub(crate) fn round(v: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (v * p).round() / p
}

pub(crate) fn json_output(value: &impl Serialize, digest: String) -> ToolOutput {
    ToolOutput {
        text: serde_json::to_string_pretty(value).unwrap_or_default(),
        language: "json",
        digest,
        raw: None,
        display: None,
    }
}

fn read_only_preview(tool: &str, args: &Value, target: String) -> CallPreview {
    let shown = match args.as_object() {
        Some(map) if !map.is_empty() => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    };
    CallPreview {
        command: format!("{tool} {shown}").trim().to_string(),
        target,
    }
}

/// Arguments for the read-only bundle tools, parsed back from `tool key=value …`.
fn args_from_key_values(command: &str, tool: &str) -> Result<Value, ToolError> {
    let words =
        shell_words::split(command).map_err(|e| ToolError::InvalidArguments(e.to_string()))?;
    let mut map = serde_json::Map::new();
    for word in words
        .iter()
        .skip(usize::from(words.first().is_some_and(|w| w == tool)))
    {
        let (k, v) = word.split_once('=').ok_or_else(|| {
            ToolError::InvalidArguments(format!("expected key=value, got `{word}`"))
        })?;
        let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
        map.insert(k.to_string(), value);
    }
    Ok(Value::Object(map))
}

/// What every read-only digest tool does the same way: typed arguments parsed once,
/// `read-only` risk, a `tool key=value …` preview (and edit), approval by that line.
macro_rules! read_only_tool_basics {
    ($name:expr, $args:ty, $target:expr) => {
        type Args = $args;
        fn parse(&self, args: &Value) -> Result<$args, ToolError> {
            parse_args(args)
        }
        fn classify(&self, _args: &$args) -> Risk {
            Risk::ReadOnly
        }
        fn preview(&self, args: &$args) -> CallPreview {
            read_only_preview($name, &digest::args(args), $target(self))
        }
        fn session_scope(&self, args: &$args, risk: Risk) -> Option<SessionScope> {
            super::scope::exact($name, &self.preview(args).command, risk)
        }
        fn args_from_command(&self, command: &str, _original: &Value) -> Result<Value, ToolError> {
            args_from_key_values(command, $name)
        }
    };
}

/// Where a digest tool's data comes from, as its preview names it.
fn origin_of<T: std::ops::Deref<Target = dyn Telemetry>>(source: &T) -> String {
    source.origin()
}

pub(crate) struct MetricsRank(pub Arc<dyn Telemetry>);

/// Cells of a metric table `metrics_rank` keeps whole as its raw data (about 8 MB of
/// CSV); a larger table keeps only the series that changed.
pub(crate) const RAW_WHOLE_CELLS: usize = 1 << 20;

impl TypedTool for MetricsRank {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: digest::METRICS_RANK.into(),
            description: "Rank every metric series by how much it shifted at the incident onset (robust z-score of the median shift); the onset is found from the data.".into(),
            parameters: schema_of::<RankArgs>(),
        }
    }
    read_only_tool_basics!(digest::METRICS_RANK, RankArgs, |t: &Self| origin_of(&t.0));

    fn run<'a>(
        &'a self,
        args: &'a Self::Args,
        _: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let top = args.top.unwrap_or(10) as usize;
            let table = self.0.metrics().await?;
            if table.columns.is_empty() {
                return Err(ToolError::Failed(format!(
                    "no metrics in {}",
                    self.0.origin()
                )));
            }
            let ranking = table.rank_in(self.0.onset_window());
            let (changed, unchanged): (Vec<_>, Vec<_>) = ranking
                .shifts
                .iter()
                .partition(|s| s.score.abs() >= rank::CHANGED);
            let rows: Vec<SeriesMove> = changed
                .iter()
                .take(top)
                .map(|s| {
                    let (score, capped) = digest::reported_z(s.score);
                    let from_flat_baseline = capped || s.flat_start();
                    SeriesMove {
                        series: s.series.clone(),
                        service: service_of(&s.series).to_string(),
                        score,
                        from_flat_baseline,
                        before: keep_scale(s.before),
                        after: keep_scale(s.after),
                        changed_at: iso(s.changed_at),
                    }
                })
                .collect();
            let history_rows = rank::history_rows(&table.times, ranking.onset);
            let thin = if history_rows < rank::MIN_BASELINE_ROWS {
                format!(
                    " · too little history to compare ({history_rows} rows before the onset; a baseline needs {})",
                    rank::MIN_BASELINE_ROWS
                )
            } else {
                String::new()
            };
            let mut digest = format!(
                "onset {} · {} of {} series changed{}{thin}",
                iso(ranking.onset).get(11..19).unwrap_or("?"),
                changed.len(),
                ranking.shifts.len(),
                changed
                    .first()
                    .map(|s| {
                        // A shift from a flat baseline has an absurd z; say what it is.
                        if digest::reported_z(s.score).1 {
                            format!(" · top {} moved from a flat line", s.series)
                        } else {
                            format!(" · top {} z={:+.1}", s.series, s.score)
                        }
                    })
                    .unwrap_or_default()
            );
            // A live source that cut its answer says what it saw.
            if let Some(cut) = &table.cut {
                digest.push_str(&format!(" · {cut}"));
            }
            let value = RankReport {
                onset: iso(ranking.onset),
                series_total: ranking.shifts.len(),
                changed: rows,
                unchanged: unchanged.iter().map(|s| s.series.clone()).collect(),
                history_rows: Some(history_rows),
            };
            // A wide table keeps only the series that changed behind the digest: the
            // whole of 10k series would be a blob of tens of MB, copied as it is cleaned.
            let keep_all = table.columns.len() * table.times.len() <= RAW_WHOLE_CELLS;
            let moved: BTreeSet<&str> = changed.iter().map(|s| s.series.as_str()).collect();
            Ok(ToolOutput {
                raw: Some(table.to_csv(|column| keep_all || moved.contains(column))),
                display: Some(rank_display(&value)),
                ..json_output(&value, digest)
            })
        })
    }
}

pub(crate) struct MetricsQuery(pub Arc<dyn Telemetry>);

pub(crate) fn sparkline(values: &[f64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() || width == 0 {
        return String::new();
    }
    let (lo, hi) = finite
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let chunk = finite.len().div_ceil(width);
    finite
        .chunks(chunk)
        .map(|c| {
            let mean = c.iter().sum::<f64>() / c.len() as f64;
            let level = if hi > lo {
                ((mean - lo) / (hi - lo) * 7.0).round() as usize
            } else {
                0
            };
            BARS[level.min(7)]
        })
        .collect()
}

impl TypedTool for MetricsQuery {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: digest::METRICS_QUERY.into(),
            description: "Summarise the series of one service (or a series name prefix): median before and after the onset, min, max, last, and a sparkline.".into(),
            parameters: schema_of::<QueryArgs>(),
        }
    }
    read_only_tool_basics!(digest::METRICS_QUERY, QueryArgs, |t: &Self| origin_of(&t.0));

    fn run<'a>(
        &'a self,
        args: &'a Self::Args,
        _: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let service = args.service.as_str();
            let table = self.0.metrics().await?;
            let series =
                table.named_series_where(|c| service_of(c) == service || c.starts_with(service));
            if series.is_empty() {
                let known: BTreeSet<&str> = table.columns.iter().map(|c| service_of(c)).collect();
                let known: Vec<&str> = known.into_iter().collect();
                return Err(ToolError::Failed(format!(
                    "no series for `{service}`; services: {}",
                    known.join(", ")
                )));
            }
            let onset = onset_of(&table, self.0.onset_window());
            let ranking = rank::rank(&table.times, &series, Some(onset));
            let rows: Vec<SeriesSummary> = ranking
                .shifts
                .iter()
                .map(|s| {
                    let values = table.series(&s.series).unwrap_or_default();
                    let finite: Vec<f64> =
                        values.iter().copied().filter(|v| v.is_finite()).collect();
                    let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
                    let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let (score, capped) = digest::reported_z(s.score);
                    let from_flat_baseline = capped || s.flat_start();
                    SeriesSummary {
                        series: s.series.clone(),
                        score,
                        from_flat_baseline,
                        before: keep_scale(s.before),
                        after: keep_scale(s.after),
                        min: keep_scale(min),
                        max: keep_scale(max),
                        last: finite.last().map(|v| keep_scale(*v)),
                        sparkline: sparkline(values, 40),
                    }
                })
                .collect();
            let moved = ranking
                .shifts
                .iter()
                .filter(|s| s.score.abs() >= rank::CHANGED)
                .count();
            let mut digest = format!(
                "{service}: {moved} of {} series changed at onset {}",
                rows.len(),
                clock(onset)
            );
            if let Some(cut) = &table.cut {
                digest.push_str(&format!(" · {cut}"));
            }
            let picked: BTreeSet<&str> = series.iter().map(|(name, _)| name.as_str()).collect();
            Ok(ToolOutput {
                raw: Some(table.to_csv(|column| picked.contains(column))),
                ..json_output(
                    &QueryReport {
                        service: service.to_string(),
                        onset: iso(onset),
                        series: rows,
                    },
                    digest,
                )
            })
        })
    }
}

pub(crate) struct ChangeEvents(pub Arc<dyn Telemetry>);

impl TypedTool for ChangeEvents {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: digest::CHANGE_EVENTS.into(),
            description: "Deploys, config changes, scaling and restarts recorded around the incident, oldest first.".into(),
            parameters: schema_of::<EventsArgs>(),
        }
    }
    read_only_tool_basics!(digest::CHANGE_EVENTS, EventsArgs, |t: &Self| origin_of(
        &t.0
    ));

    fn run<'a>(
        &'a self,
        args: &'a Self::Args,
        _: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let parsed = args;
            let bound =
                |name: &str, value: &Option<String>| -> Result<Option<DateTime<Utc>>, ToolError> {
                    match value.as_deref() {
                        None => Ok(None),
                        Some(s) => parse_time(s).map(Some).ok_or_else(|| {
                            ToolError::InvalidArguments(format!(
                                "`{name}`: `{s}` is not an RFC 3339 time"
                            ))
                        }),
                    }
                };
            let (since, until) = (
                bound("since", &parsed.since)?,
                bound("until", &parsed.until)?,
            );
            let events = self.0.changes().await?;
            let rows: Vec<ChangeRow> = events
                .iter()
                .filter(|e| since.is_none_or(|s| e.time >= s) && until.is_none_or(|u| e.time <= u))
                .map(ChangeEvent::row)
                .collect();
            let deploys = rows.iter().filter(|r| r.kind == "deploy").count();
            let digest = format!(
                "{}, {}",
                crate::text::plural(rows.len(), "change event"),
                crate::text::plural(deploys, "deploy")
            );
            let display = rows
                .iter()
                .map(|r| {
                    let at = r.time.get(11..19).unwrap_or(&r.time);
                    format!("{at}  {:<10} {}  {}", r.kind, r.service, r.detail)
                })
                .collect::<Vec<_>>()
                .join("\n");
            Ok(ToolOutput {
                display: Some(display),
                ..json_output(&EventsReport { events: rows }, digest)
            })
        })
    }
}

pub(crate) struct LogsDigest(pub Arc<dyn Telemetry>);

impl TypedTool for LogsDigest {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: digest::LOGS_DIGEST.into(),
            description: "Fold log lines into templates with counts before and after a split time (default: the metric onset); templates first seen less than a minute before the split are new, and listed first.".into(),
            parameters: schema_of::<DigestArgs>(),
        }
    }
    read_only_tool_basics!(digest::LOGS_DIGEST, DigestArgs, |t: &Self| origin_of(&t.0));

    fn run<'a>(
        &'a self,
        args: &'a Self::Args,
        _: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let parsed = args;
            let service = parsed.service.as_deref();
            let min_level: u8 = match parsed.level.unwrap_or(LogLevel::Warn) {
                LogLevel::Info => 0,
                LogLevel::Warn => 1,
                LogLevel::Error => 2,
            };
            let split = match parsed.baseline_until.as_deref() {
                Some(s) => Some(
                    parse_time(s)
                        .ok_or_else(|| ToolError::InvalidArguments(format!("`{s}` is not a time")))?
                        .timestamp(),
                ),
                None => None,
            };
            if let Some(source) = self.0.log_source() {
                let span = source.span(service);
                let split = match split {
                    Some(split) => split,
                    None => self.default_split(span).await,
                };
                let service = service.map(str::to_string);
                // Streaming a large file is CPU work: keep it off the engine's threads.
                return tokio::task::spawn_blocking(move || {
                    stream_digest(&source, service.as_deref(), min_level, split)
                })
                .await
                .map_err(|e| ToolError::Failed(format!("the logs digest stopped: {e}")))?;
            }
            let (logs, cut) = self.0.logs_read(service).await?;
            let split = match split {
                Some(split) => split,
                None => {
                    let span = logs.first().zip(logs.last());
                    let span = span.map(|(a, b)| (a.ts.timestamp(), b.ts.timestamp()));
                    self.default_split(span).await
                }
            };
            let selected: Vec<&LogLine> = logs
                .iter()
                .filter(|l| {
                    service.is_none_or(|s| s == l.service) && level_rank(&l.level) >= min_level
                })
                .collect();
            // The logs of every level say how far back the record goes.
            let mut start = RecordStart::default();
            logs.iter().for_each(|l| start.add(l.ts.timestamp(), split));
            let recorded_from = start.from();
            let mut output = template_digest(&selected, split, recorded_from);
            if let Some(cut) = cut {
                output.digest.push_str(&format!(" · {cut}"));
            }
            Ok(output)
        })
    }
}

impl LogsDigest {
    /// The split when none is given: the metric onset; without metrics (a Loki-only
    /// environment) the midpoint of the logs' `span`.
    async fn default_split(&self, span: Option<(i64, i64)>) -> i64 {
        match self.0.metrics().await {
            Ok(table) if !table.columns.is_empty() => onset_of(&table, self.0.onset_window()),
            _ => match span {
                Some((a, b)) => (a + b) / 2,
                None => Utc::now().timestamp(),
            },
        }
    }
}

/// Where a log record begins, for how much history it holds before a split: not its
/// earliest line — one stray line (a clock-skewed pod, a replayed buffer, a forged
/// timestamp from 1970) would make minutes of logs look like decades — but the first
/// minute by which at least [`STRAGGLERS`] of the lines before the split have been seen.
/// Kept per minute, so a log of any length streams through it.
#[derive(Default)]
pub(crate) struct RecordStart {
    /// Lines before the split per minute: (count, earliest second).
    minutes: std::collections::BTreeMap<i64, (u64, i64)>,
    before: u64,
    earliest: Option<i64>,
}

/// The share of the lines before a split that may come before where the record is said
/// to begin: stragglers, not history.
const STRAGGLERS: f64 = 0.01;

impl RecordStart {
    pub(crate) fn add(&mut self, second: i64, split: i64) {
        self.earliest = Some(self.earliest.map_or(second, |e| e.min(second)));
        if second < split {
            self.before += 1;
            let minute = self
                .minutes
                .entry(second.div_euclid(60))
                .or_insert((0, second));
            minute.0 += 1;
            minute.1 = minute.1.min(second);
        }
    }

    /// Where the record begins (unix seconds), when it holds any line.
    pub(crate) fn from(&self) -> Option<i64> {
        let mut seen = 0u64;
        for (count, earliest) in self.minutes.values() {
            seen += count;
            if seen as f64 > STRAGGLERS * self.before as f64 {
                return Some(*earliest);
            }
        }
        self.earliest
    }
}

/// 0 for INFO and below, 1 for WARN, 2 for ERROR and FATAL.
fn level_rank(level: &str) -> u8 {
    match level {
        "ERROR" | "FATAL" => 2,
        "WARN" | "WARNING" => 1,
        _ => 0,
    }
}

/// The logs digest of a streamed source: one pass, folding `service`'s lines at
/// `min_level` and above as they pass.
pub(crate) fn stream_digest(
    source: &LogSource,
    service: Option<&str>,
    min_level: u8,
    split: i64,
) -> Result<ToolOutput, ToolError> {
    let mut fold = LogFold::new(split);
    let mut start = RecordStart::default();
    source
        .each(&mut |line| {
            if service.is_some_and(|s| s != line.service) {
                return;
            }
            start.add(line.ts.timestamp(), split);
            if level_rank(&line.level) >= min_level {
                fold.add(line);
            }
        })
        .map_err(|e| ToolError::Failed(e.to_string()))?;
    let file = match source {
        LogSource::File(file) => Some(file.path.display().to_string()),
        LogSource::Lines(_) => None,
    };
    Ok(fold_digest(fold, start.from(), file.as_deref()))
}

/// Lines a template's rate before the split says the time after should have held, for
/// none at all to mean it vanished (a Poisson count of 5 is 0 less than 1% of the time).
const VANISHED_EXPECTED: f64 = 5.0;
/// How long a template must have been written before the split, at most, to count as
/// written steadily (see [`fold_digest`]).
const STEADY_SECONDS: i64 = 300;
/// The least a template must have been written over before the split to count as
/// written steadily.
const STEADY_MIN_SECONDS: i64 = 30;

pub(crate) use crate::protocol::digest::MIN_LOG_BASELINE_SECONDS;

/// Fold log lines into templates (never mixing services or levels) with counts before
/// and after `split`; templates first seen less than a minute before it are new and come
/// first — when the record (`recorded_from`, the first line of any level) reaches at
/// least [`MIN_LOG_BASELINE_SECONDS`] before the split; otherwise nothing is called new
/// and the digest says there is too little history to compare.
pub(crate) fn template_digest(
    selected: &[&LogLine],
    split: i64,
    recorded_from: Option<i64>,
) -> ToolOutput {
    let mut fold = LogFold::new(split);
    for line in selected {
        fold.add(line);
    }
    fold_digest(fold, recorded_from, None)
}

/// The report of a fold (see [`template_digest`]); `source` names the file every raw
/// line is in, when the raw data behind the digest has to be sampled.
fn fold_digest(mut fold: LogFold, recorded_from: Option<i64>, source: Option<&str>) -> ToolOutput {
    let split = fold.split();
    let history = recorded_from.map_or(0, |from| split - from);
    let comparable = history >= MIN_LOG_BASELINE_SECONDS;
    let lines = fold.lines;
    // Rates, not counts: the windows before and after the split differ in length.
    let (first_ts, last_ts) = fold.span;
    let before_minutes = ((split - first_ts).max(60)) as f64 / 60.0;
    let after_minutes = ((last_ts - split).max(60)) as f64 / 60.0;
    let window_minutes = (last_ts.div_euclid(60) - first_ts.div_euclid(60) + 1) as usize;
    // (new, surged, vanished), lines after the split, the template's index, its row.
    type Ranked = ((bool, bool, bool), u64, usize, TemplateRow);
    let folded = fold.templates();
    // The lines of every service on each side of the split: what the rest of the system
    // wrote, against which a template's silence is measured.
    let mut by_service: std::collections::HashMap<&str, (u64, u64)> = Default::default();
    for t in &folded {
        let (before, after) = by_service.entry(t.service).or_default();
        for s in &t.signatures {
            *before += s.before;
            *after += s.after;
        }
    }
    let (all_before, all_after) = by_service
        .values()
        .fold((0, 0), |(b, a), (sb, sa)| (b + sb, a + sa));
    // (lines before, lines after) of every service but `service`.
    let others = |service: &str| {
        let (own_before, own_after) = by_service.get(service).copied().unwrap_or_default();
        (all_before - own_before, all_after - own_after)
    };
    let mut rows: Vec<Ranked> = folded
        .into_iter()
        .enumerate()
        .map(|(index, t)| {
            let before: u64 = t.signatures.iter().map(|s| s.before).sum();
            let after: u64 = t.signatures.iter().map(|s| s.after).sum();
            let first = t
                .signatures
                .iter()
                .map(|s| s.first_ts)
                .min()
                .unwrap_or(split);
            let last = t
                .signatures
                .iter()
                .map(|s| s.last_ts)
                .max()
                .unwrap_or(split);
            let mut per_minute: std::collections::HashMap<i64, u32> = Default::default();
            for s in &t.signatures {
                for (minute, count) in &s.per_minute {
                    *per_minute.entry(*minute).or_default() += count;
                }
            }
            // Lines from the minute before the split belong to the change, not the baseline.
            let new = comparable && first >= split - 60;
            // An old template whose rate jumped is news too: a warning that was rare and
            // is now constant.
            let jump = (before > 0)
                .then(|| (after as f64 / after_minutes) / (before as f64 / before_minutes));
            let surged = !new && after >= 5 && jump.is_some_and(|j| j >= 5.0);
            // A line the service wrote steadily and stopped writing: it should have
            // written several after the split (P(none) < 1%), and wrote none. How many:
            // the fewer of two readings — its rate before over the time after, and its
            // lines before scaled by how the other services' lines changed across the
            // split. The clock alone is fooled when the whole system writes less after
            // the split (less traffic, a record that ends mid-minute); the others alone
            // when one of them floods the log (a retry storm). Steadily: its lines before
            // the split span at least a minute and half the history (up to five minutes
            // of it). Otherwise one burst of requests sets the rate, and the lines of a
            // burst that ended did not vanish.
            // (The real spans here: the minute floors above keep rates sane, but would
            // make a record that ends seconds after the split owe a minute of lines.)
            let by_clock =
                before as f64 * (last_ts - split).max(1) as f64 / (split - first_ts).max(1) as f64;
            let (others_before, others_after) = others(t.service);
            let expected_after = if others_before > 0 {
                by_clock.min(before as f64 * others_after as f64 / others_before as f64)
            } else {
                by_clock
            };
            let steady = last - first >= (history / 2).clamp(STEADY_MIN_SECONDS, STEADY_SECONDS);
            let vanished =
                steady && before >= 5 && after == 0 && expected_after >= VANISHED_EXPECTED;
            let row = TemplateRow {
                service: t.service.to_string(),
                level: t.level.to_string(),
                sample: t.sample().to_string(),
                template: t.template,
                before,
                after,
                new,
                surged,
                vanished,
                expected_after: (before > 0).then(|| round(expected_after, 1)),
                rate_jump: jump.map(|j| round(j, 1)),
                first_seen: iso(first),
                last_seen: iso(last),
                burst: templates::burst(&per_minute, window_minutes).map(|b| BurstRow {
                    minute: iso(b.minute),
                    count: b.count,
                    median_per_minute: b.median_per_minute,
                    since_split: b.minute >= split - 60,
                }),
            };
            ((new, surged, vanished), after, index, row)
        })
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    let new = rows.iter().filter(|r| r.0.0).count();
    let surged = rows.iter().filter(|r| r.0.1).count();
    let vanished = rows.iter().filter(|r| r.0.2).count();
    let mut digest = format!(
        "{} → {}, {new} new, {surged} surged and {vanished} vanished since {}",
        crate::text::plural(lines, "line"),
        crate::text::plural(rows.len(), "template"),
        clock(split)
    );
    if !comparable {
        digest.push_str(&format!(
            " · too little history to compare ({}s of logs before the split; new needs {MIN_LOG_BASELINE_SECONDS}s)",
            history.max(0)
        ));
    }
    let (services, total_errors) = service_tally(&rows.iter().map(|r| &r.3).collect::<Vec<_>>());
    if !comparable {
        // Without a history, who errs and how much of what it writes is what is left.
        let erring: Vec<String> = services
            .iter()
            .filter(|s| s.errors > 0)
            .take(3)
            .map(|s| format!("{} {} of {} lines", s.service, s.errors, s.lines))
            .collect();
        if !erring.is_empty() {
            digest.push_str(&format!(" · errors: {}", erring.join(", ")));
        }
    }
    let order: Vec<usize> = rows.iter().map(|r| r.2).collect();
    let raw = fold.raw(&order, source);
    let templates: Vec<TemplateRow> = rows.into_iter().take(25).map(|r| r.3).collect();
    let report = LogsReport {
        baseline_until: iso(split),
        lines,
        history_seconds: history.max(0),
        templates,
        services,
        errors: total_errors,
    };
    ToolOutput {
        raw: Some(raw),
        display: Some(logs_display(&report)),
        ..json_output(&report, digest)
    }
}

/// Each service's lines and error lines over every template of the digest, most errors
/// first (then most lines, then by name), at most [`digest::SERVICES_TALLIED`]; and the
/// error lines of every service, those left out included.
fn service_tally(rows: &[&TemplateRow]) -> (Vec<ServiceLogs>, u64) {
    let mut tally: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
    for row in rows {
        let (lines, errors) = tally.entry(row.service.as_str()).or_default();
        let count = row.before + row.after;
        *lines += count;
        if level_rank(&row.level) == 2 {
            *errors += count;
        }
    }
    let mut services: Vec<ServiceLogs> = tally
        .into_iter()
        .map(|(service, (lines, errors))| ServiceLogs {
            service: service.to_string(),
            lines,
            errors,
        })
        .collect();
    let total_errors = services.iter().map(|s| s.errors).sum();
    services.sort_by(|a, b| b.errors.cmp(&a.errors).then(b.lines.cmp(&a.lines)));
    services.truncate(digest::SERVICES_TALLIED);
    (services, total_errors)
}

/// `logs_digest`'s report as a person reads it: one line per template (what happened to
/// it, its service and level, the lines before → after the split).
fn logs_display(report: &LogsReport) -> String {
    report
        .templates
        .iter()
        .map(|t| {
            let what = if t.new {
                "new"
            } else if t.surged {
                "surged"
            } else if t.vanished {
                "vanished"
            } else {
                "steady"
            };
            format!(
                "{what:<8} {} {} {} → {}  \"{}\"",
                t.service,
                t.level,
                t.before,
                t.after,
                crate::text::clip(&t.template, 100)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `metrics_rank`'s report as a person reads it: one line per series that changed, its
/// robust z, the level before → after and when it began to move.
fn rank_display(report: &RankReport) -> String {
    report
        .changed
        .iter()
        .map(|s| {
            let z = if s.from_flat_baseline {
                "from flat".to_string()
            } else {
                format!("z {:+.1}", s.score)
            };
            format!(
                "{z:<10} {}  {} → {}  at {}",
                s.series,
                s.before,
                s.after,
                s.changed_at.get(11..19).unwrap_or(&s.changed_at)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) struct KnowledgeSearch(pub Arc<KnowledgeBase>);

impl TypedTool for KnowledgeSearch {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: digest::KNOWLEDGE_SEARCH.into(),
            description: "Search runbooks and past incidents (BM25). Runbook hits include their runnable steps.".into(),
            parameters: schema_of::<SearchArgs>(),
        }
    }
    read_only_tool_basics!(digest::KNOWLEDGE_SEARCH, SearchArgs, |_: &Self| {
        "runbooks and past incidents".to_string()
    });

    fn run<'a>(
        &'a self,
        args: &'a Self::Args,
        _: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let SearchArgs { query, kind } = args;
            let kind = kind.map(|k| match k {
                DocKind::Runbook => "runbook",
                DocKind::Incident => "incident",
            });
            let query = query.as_str();
            let hits = self.0.search(query, kind, 5);
            let digest = match hits.first() {
                Some(h) => format!(
                    "{} hits · best: {} ({:.2})",
                    hits.len(),
                    h.doc.title,
                    h.score
                ),
                None => "no matches".into(),
            };
            let display = hits
                .iter()
                .map(|h| format!("{:>6.2}  {:<8} {}", h.score, h.doc.kind, h.doc.title))
                .collect::<Vec<_>>()
                .join("\n");
            let report = SearchReport {
                query: query.to_string(),
                hits,
            };
            Ok(ToolOutput {
                display: Some(display),
                ..json_output(&report, digest)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The logs digest of `lines` split at `split` (unix seconds), with its report.
    fn digest_of(mut lines: Vec<LogLine>, split: i64) -> (ToolOutput, LogsReport) {
        lines.sort_by_key(|l| l.ts);
        let refs: Vec<&LogLine> = lines.iter().collect();
        let out = template_digest(&refs, split, Some(0));
        let report = serde_json::from_str(&out.text).unwrap();
        (out, report)
    }

    /// The first template of `service` in a report.
    fn first_row<'a>(report: &'a LogsReport, service: &str) -> &'a TemplateRow {
        report
            .templates
            .iter()
            .find(|r| r.service == service)
            .unwrap()
    }

    /// A log line at `second` (unix time).
    fn log_line(second: i64, level: &str, service: &str, message: &str) -> LogLine {
        LogLine {
            ts: chrono::DateTime::from_timestamp(second, 0).unwrap(),
            level: level.into(),
            service: service.into(),
            message: message.into(),
        }
    }
    use crate::bundle::Bundle;
    use serde_json::json;

    fn tool(name: &str) -> Arc<dyn Tool> {
        let bundle = Bundle::demo();
        let telemetry: Arc<dyn Telemetry> = Arc::new(BundleTelemetry::of(&bundle));
        digest_tools(telemetry, Arc::new(KnowledgeBase::new(&[], &[])))
            .into_iter()
            .find(|t| t.spec().name == name)
            .expect("a digest tool")
    }

    #[tokio::test]
    async fn digests_keep_the_samples_they_were_made_from() {
        let query = tool("metrics_query")
            .run(&json!({"service": "payments"}), None)
            .await
            .unwrap();
        let samples = MetricTable::parse(query.raw.as_deref().unwrap(), "raw").unwrap();
        assert!(!samples.columns.is_empty());
        assert!(
            samples.columns.iter().all(|c| c.starts_with("payments")),
            "{:?}",
            samples.columns
        );
        let all = Bundle::demo().metrics;
        assert_eq!(samples.times, all.times);
        let rank = tool("metrics_rank").run(&json!({}), None).await.unwrap();
        let samples = MetricTable::parse(rank.raw.as_deref().unwrap(), "raw").unwrap();
        assert_eq!(samples.columns, all.columns);
    }

    #[test]
    fn a_move_from_a_flat_zero_is_reported_capped_and_marked() {
        assert_eq!(digest::reported_z(2.9e9), (10_000.0, true));
        assert_eq!(digest::reported_z(-7.2e10), (-10_000.0, true));
        assert_eq!(digest::reported_z(21.44), (21.4, false));
    }

    #[test]
    fn a_rare_warning_that_becomes_constant_is_surged_not_noise() {
        let at = |minute: i64, service: &str, message: &str| LogLine {
            ts: chrono::DateTime::from_timestamp(minute * 60, 0).unwrap(),
            level: "WARN".into(),
            service: service.into(),
            message: message.into(),
        };
        let mut lines = Vec::new();
        for minute in (0..60).step_by(30) {
            lines.push(at(minute, "cache", "evicting keys: memory at limit"));
        }
        for minute in 0..70 {
            lines.push(at(minute, "batch", "job heartbeat"));
        }
        for minute in 60..70 {
            for _ in 0..4 {
                lines.push(at(minute, "cache", "evicting keys: memory at limit"));
            }
            lines.push(at(minute, "api", "upstream cache timed out"));
        }
        lines.sort_by_key(|l| l.ts);
        let refs: Vec<&LogLine> = lines.iter().collect();
        let out = template_digest(&refs, 60 * 60, Some(0));
        let value: serde_json::Value = serde_json::from_str(&out.text).unwrap();
        let rows = value["templates"].as_array().unwrap();
        let row = |service: &str| rows.iter().find(|r| r["service"] == service).unwrap();
        assert_eq!(row("cache")["surged"], true, "{rows:?}");
        assert!(row("cache")["rate_jump"].as_f64().unwrap() > 20.0);
        assert_eq!(row("api")["new"], true);
        assert_eq!(row("batch")["surged"], false);
        assert!(
            out.digest.contains("1 new, 1 surged and 0 vanished"),
            "{}",
            out.digest
        );
    }

    #[test]
    fn a_split_centuries_away_digests_at_once() {
        let lines: Vec<LogLine> = (0..100)
            .map(|i| LogLine {
                ts: chrono::DateTime::from_timestamp(1_700_000_000 + i * 30, 0).unwrap(),
                level: "ERROR".into(),
                service: "api".into(),
                message: format!("request {i} failed"),
            })
            .collect();
        let refs: Vec<&LogLine> = lines.iter().collect();
        // 9999-12-31: a model's argument, a quoted call or a forged bundle can say it.
        let far = 253_402_214_400;
        // Before, the quiet minutes up to it were made as zeros: 16 GB, or an abort.
        let out = template_digest(&refs, far, Some(0));
        assert!(out.digest.contains("100 lines"), "{}", out.digest);
    }

    #[test]
    fn a_line_written_steadily_that_stops_has_vanished_and_a_rare_one_has_not() {
        let line =
            |second: i64, service: &str, message: &str| log_line(second, "INFO", service, message);
        let mut lines = Vec::new();
        for minute in 0..20 {
            let t = minute * 60;
            // Twice a minute until minute 10, then never.
            if minute < 10 {
                lines.push(line(t, "route", "query route by ids [a, b, c]"));
                lines.push(line(t + 30, "route", "query route by ids [d, e, f]"));
            }
            // Once every five minutes, before and after: rare, not gone.
            if minute % 5 == 0 && minute < 10 {
                lines.push(line(t + 1, "cron", "rotated the audit log"));
            }
            lines.push(line(t + 2, "web", "GET /health 200"));
        }
        let (out, report) = digest_of(lines, 600);
        let row = |service: &str| first_row(&report, service);
        assert!(row("route").vanished, "{:?}", report.templates);
        assert!(
            !row("cron").vanished,
            "two lines expected at most: rare, not vanished"
        );
        assert!(!row("web").vanished);
        let gone = report.templates.iter().filter(|t| t.vanished).count();
        let route = report
            .templates
            .iter()
            .filter(|t| t.service == "route")
            .count();
        assert_eq!(gone, route, "{:?}", report.templates);
        assert!(
            out.digest.contains(&format!("{gone} vanished")),
            "{}",
            out.digest
        );
    }

    #[test]
    fn a_burst_that_ended_and_a_quieter_system_are_not_vanished_lines() {
        let line =
            |second: i64, service: &str, message: &str| log_line(second, "INFO", service, message);
        let mut lines = Vec::new();
        // Ninety seconds of logs before the split: one user's flow writes a dozen lines
        // in its first ten seconds, then nothing.
        for i in 0..12 {
            lines.push(line(i, "orders", "get sold tickets for travel date"));
        }
        // Everyone else writes steadily, and the seats half as often after the split
        // (less traffic).
        for second in (0..90).step_by(3) {
            lines.push(line(second, "seats", "left tickets of interval"));
            lines.push(line(second + 1, "stations", "query station id"));
        }
        for second in (90..300).step_by(6) {
            lines.push(line(second, "seats", "left tickets of interval"));
        }
        let (_, report) = digest_of(lines, 90);
        let row = |service: &str| first_row(&report, service);
        assert!(!row("orders").vanished, "a burst that ended");
        // The stations' lines did stop, while the rest of the system kept writing.
        assert!(row("stations").vanished, "{:?}", report.templates);
        assert!(!row("seats").vanished);
    }

    #[test]
    fn one_stray_line_from_1970_does_not_make_a_minute_of_logs_history() {
        let mut start = RecordStart::default();
        start.add(0, 1_700_000_100);
        for second in 1_700_000_000..1_700_000_200 {
            start.add(second, 1_700_000_100);
        }
        assert_eq!(start.from(), Some(1_700_000_000));
        // Without stragglers the record begins at its first line.
        let mut plain = RecordStart::default();
        for second in [50, 130, 200] {
            plain.add(second, 160);
        }
        assert_eq!(plain.from(), Some(50));
        assert_eq!(RecordStart::default().from(), None);
    }

    #[test]
    fn a_storm_of_lines_from_one_service_does_not_make_the_others_vanish() {
        let line = log_line;
        let mut lines = Vec::new();
        // Five minutes of steady lines, then the record ends 15 s after the split, in
        // which the front door writes 5,000 retry warnings.
        for second in (0..300).step_by(5) {
            lines.push(line(second, "INFO", "seats", "left tickets of interval"));
            lines.push(line(second + 1, "INFO", "ui", "GET /index 200"));
        }
        for i in 0..5000 {
            lines.push(line(300 + i % 15, "WARN", "ui", "upstream retry"));
        }
        lines.sort_by_key(|l| l.ts);
        let refs: Vec<&LogLine> = lines.iter().collect();
        let out = template_digest(&refs, 300, Some(0));
        let report: LogsReport = serde_json::from_str(&out.text).unwrap();
        assert!(
            report.templates.iter().all(|t| !t.vanished),
            "{:?}",
            report.templates
        );
    }

    #[test]
    fn each_service_is_tallied_with_its_errors_and_named_when_there_is_no_history() {
        let line = log_line;
        let mut lines = Vec::new();
        for second in 0..60 {
            lines.push(line(second, "INFO", "seats", "left tickets"));
            if second % 3 == 0 {
                lines.push(line(second, "ERROR", "food", "get food request failed"));
                lines.push(line(second, "INFO", "food", "get foods for trip"));
            }
        }
        let refs: Vec<&LogLine> = lines.iter().collect();
        let out = template_digest(&refs, 30, Some(0));
        let report: LogsReport = serde_json::from_str(&out.text).unwrap();
        let food = &report.services[0];
        assert_eq!(
            (food.service.as_str(), food.lines, food.errors),
            ("food", 40, 20)
        );
        assert_eq!(report.services[1].errors, 0);
        assert!(
            out.digest.contains("errors: food 20 of 40 lines"),
            "{}",
            out.digest
        );
    }

    #[test]
    fn a_flurry_at_the_onset_is_a_burst_even_when_the_rate_after_is_ordinary() {
        let at = |second: i64| LogLine {
            ts: chrono::DateTime::from_timestamp(second, 0).unwrap(),
            level: "ERROR".into(),
            service: "api".into(),
            message: "connection reset by peer".into(),
        };
        // Two a minute for an hour, then 40 in the onset minute, then two a minute again.
        let mut lines: Vec<LogLine> = (0..120).map(|i| at(i * 30)).collect();
        lines.extend((0..40).map(|i| at(3600 + i)));
        lines.extend((0..40).map(|i| at(3660 + i * 30)));
        lines.sort_by_key(|l| l.ts);
        let refs: Vec<&LogLine> = lines.iter().collect();
        let out = template_digest(&refs, 3600, Some(0));
        let report: LogsReport = serde_json::from_str(&out.text).unwrap();
        let row = &report.templates[0];
        let burst = row
            .burst
            .as_ref()
            .expect("40 lines in a minute of two is a burst");
        assert_eq!((burst.count, burst.median_per_minute), (40, 2));
        assert!(burst.since_split);
        assert!(!row.new);
        let quiet = template_digest(&refs[..120], 3600, Some(0));
        let report: LogsReport = serde_json::from_str(&quiet.text).unwrap();
        assert!(
            report.templates[0].burst.is_none(),
            "a steady rate has no burst"
        );
    }
}
