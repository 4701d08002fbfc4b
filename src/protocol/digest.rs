//! The digest tools' contract: their names, the arguments a brain sends them and the
//! reports they answer with. The tools (`hunch-tools`, `telemetry`) serialize these
//! types and the offline brain reads them back as the same types, so a field renamed on
//! one side is a compile error on the other, never a finding silently lost. An LLM brain
//! reads the same reports as JSON text.

use crate::knowledge::Hit;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const METRICS_RANK: &str = "metrics_rank";
pub const METRICS_QUERY: &str = "metrics_query";
pub const CHANGE_EVENTS: &str = "change_events";
pub const LOGS_DIGEST: &str = "logs_digest";
pub const KNOWLEDGE_SEARCH: &str = "knowledge_search";
pub const TRACES_DIGEST: &str = "traces_digest";

/// The tools a first look at an incident is made of.
pub const SNAPSHOT_TOOLS: [&str; 5] = [
    METRICS_RANK,
    CHANGE_EVENTS,
    LOGS_DIGEST,
    KNOWLEDGE_SEARCH,
    TRACES_DIGEST,
];

/// Arguments of `metrics_rank`.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RankArgs {
    /// How many changed series to list (default 10).
    #[schemars(range(min = 1))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top: Option<u64>,
}

/// Arguments of `metrics_query`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryArgs {
    /// A service name, or a series-name prefix.
    pub service: String,
}

/// Arguments of `change_events`.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsArgs {
    /// Only events at or after this RFC 3339 time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Only events at or before this RFC 3339 time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
#[schemars(inline)]
pub enum LogLevel {
    Info,
    Warn,
    Error,
}

/// Arguments of `logs_digest`.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DigestArgs {
    /// Only this service's lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The minimum level (default WARN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<LogLevel>,
    /// Lines before this RFC 3339 time are the baseline (default: the metric onset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_until: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
pub enum DocKind {
    Runbook,
    Incident,
}

/// Arguments of `knowledge_search`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// Words to search for.
    pub query: String,
    /// Only runbooks or only past incidents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<DocKind>,
}

/// The largest |z| a report states: beyond it the baseline had no spread at all (a
/// series at exactly 0 that starts moving), and the number would only say so absurdly.
pub const FLAT_BASELINE_Z: f64 = 10_000.0;

/// A robust z as a report states it: capped at [`FLAT_BASELINE_Z`], and whether it was.
pub fn reported_z(z: f64) -> (f64, bool) {
    let flat = z.abs() >= FLAT_BASELINE_Z;
    let shown = if flat {
        FLAT_BASELINE_Z.copysign(z)
    } else {
        (z * 10.0).round() / 10.0
    };
    (shown, flat)
}

/// One series that moved, as `metrics_rank` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesMove {
    pub series: String,
    pub service: String,
    /// Robust z of the shift (signed); see `analysis::rank`. Capped at ±10000.
    pub score: f64,
    /// The baseline had no spread (the score is capped): it moved from a flat line.
    #[serde(default)]
    pub from_flat_baseline: bool,
    pub before: f64,
    pub after: f64,
    /// When this series itself changed (RFC 3339).
    pub changed_at: String,
}

/// `metrics_rank`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankReport {
    /// Where the incident began (RFC 3339), pooled from the series' own change points.
    pub onset: String,
    pub series_total: usize,
    /// The series whose |z| reached the ranking's threshold, strongest first.
    pub changed: Vec<SeriesMove>,
    pub unchanged: Vec<String>,
    /// Rows before the onset, the baseline everything is compared with (absent in
    /// sessions recorded before it was reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_rows: Option<usize>,
}

/// Rows a ranking's baseline needs before the onset to be compared with: two of the
/// change-point search's segments (`hunch-analysis`, `rank`), so the baseline's spread (IQR,
/// MAD, successive differences) rests on more than a handful of points. Fewer, and a report
/// says "too little history to compare" instead of guessing.
pub const MIN_BASELINE_ROWS: usize = 8;

impl RankReport {
    /// The baseline is too short to compare with: its rows when so.
    pub fn thin_history(&self) -> Option<usize> {
        self.history_rows.filter(|rows| *rows < MIN_BASELINE_ROWS)
    }
}

/// One series of `metrics_query`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesSummary {
    pub series: String,
    /// Robust z, capped at ±10000 as in [`SeriesMove`].
    pub score: f64,
    #[serde(default)]
    pub from_flat_baseline: bool,
    pub before: f64,
    pub after: f64,
    pub min: f64,
    pub max: f64,
    pub last: Option<f64>,
    pub sparkline: String,
}

/// `metrics_query`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryReport {
    pub service: String,
    pub onset: String,
    pub series: Vec<SeriesSummary>,
}

/// One change event, as `change_events` lists it. Kinds are open (`deploy`, `config`,
/// `flag`, `job`, …); the structured fields are there when the source recorded them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRow {
    pub time: String,
    pub kind: String,
    pub service: String,
    pub detail: String,
    /// The value before and after the change (a version, a setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    /// Who or what made the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// When a change that takes time (a rollout, a job, a migration) ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

/// `change_events`' answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsReport {
    pub events: Vec<ChangeRow>,
}

/// One log template with its counts before and after the split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateRow {
    pub service: String,
    pub level: String,
    pub template: String,
    pub before: u64,
    pub after: u64,
    /// First seen less than a minute before the split, or after it.
    pub new: bool,
    /// An old template whose rate jumped at least fivefold.
    pub surged: bool,
    /// A template written steadily before the split and not at all after, when its rate
    /// said several lines were due (at every level: a service that stops writing its
    /// usual lines has stopped doing something). Steadily: its lines before the split
    /// span at least half the logs' history (up to five minutes), so the end of one
    /// burst of requests is not taken for a line that stopped.
    #[serde(default)]
    pub vanished: bool,
    /// The lines its rate before the split said were due after it (when it was seen
    /// before): how surprising a vanished template's silence is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_after: Option<f64>,
    /// Lines per minute after over lines per minute before, when it was seen before.
    pub rate_jump: Option<f64>,
    pub first_seen: String,
    pub last_seen: String,
    /// The busiest minute, when it stands far above the template's usual rate
    /// (at least 10 lines and 5× the median per minute over the window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<BurstRow>,
    /// One line it was made from, unmasked (hosts and URLs survive here).
    pub sample: String,
}

/// A minute in which a template occurred far more often than usual.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BurstRow {
    /// The start of the minute (RFC 3339).
    pub minute: String,
    pub count: u32,
    pub median_per_minute: u32,
    /// In the minute before the split or after it: part of the incident, not of the
    /// baseline.
    pub since_split: bool,
}

/// How much log history before the split it takes to call a template new: with less,
/// a template first seen after the split may simply not have been recorded before it.
pub const MIN_LOG_BASELINE_SECONDS: i64 = 120;

/// `logs_digest`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogsReport {
    pub baseline_until: String,
    pub lines: usize,
    /// Seconds of logs recorded before the split; under two minutes nothing is called
    /// new (there is too little history to compare).
    #[serde(default)]
    pub history_seconds: i64,
    /// New templates first, then surged ones, then vanished ones, then by count after the
    /// split.
    pub templates: Vec<TemplateRow>,
    /// Each service's lines over the whole window, and how many of them are errors, most
    /// errors first: what a service's logs say of it when there is no history to compare
    /// its templates with (absent in sessions recorded before it was reported).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceLogs>,
    /// Error lines (ERROR and FATAL) of the whole digest, beside its `lines`: the rest of
    /// the system a service's errors are compared with, whatever `services` leaves out.
    #[serde(default)]
    pub errors: u64,
}

/// One service's share of a logs digest: every line it wrote at the digest's level and
/// above, and those at ERROR or FATAL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceLogs {
    pub service: String,
    pub lines: u64,
    pub errors: u64,
}

/// The services a logs digest tallies, most errors first: enough for any system's
/// erring services, bounded for one with thousands.
pub const SERVICES_TALLIED: usize = 100;

impl LogsReport {
    /// The logs reach too little before the split to compare with.
    pub fn thin_history(&self) -> bool {
        self.history_seconds < MIN_LOG_BASELINE_SECONDS
    }
}

/// `knowledge_search`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchReport {
    pub query: String,
    pub hits: Vec<Hit>,
}

/// Arguments of `traces_digest`.
#[derive(Debug, Default, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TracesArgs {
    /// Only the edges, operations and critical-path steps that touch this service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Spans that start before this time (RFC 3339 or unix seconds) are the baseline
    /// (default: the split where span latencies shifted most).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onset: Option<String>,
}

/// Latency percentiles, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
}

/// Where a trace digest's before/after split came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnsetSource {
    /// Given by the caller (`--onset`, the tool's `onset`).
    Given,
    /// The split between time slots where span latencies shifted most.
    LatencyShift,
    /// A separate baseline file (`--normal`) is "before"; every span of the file is "after".
    Baseline,
    /// No split: too few spans, or no latency moved; every span counts as "after".
    None,
}

/// One caller → callee pair of the service call graph: a child span in another service
/// than its parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphEdge {
    pub caller: String,
    pub callee: String,
    pub calls: u64,
}

/// One edge of the call graph and one operation of the callee, before and after the
/// split. Latency is the callee's span; `wait` is what the caller's client span spent
/// beyond it (the network and queues between them), when the caller recorded one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeStat {
    pub caller: String,
    pub callee: String,
    pub operation: String,
    pub calls_before: u64,
    pub calls_after: u64,
    pub errors_before: u64,
    pub errors_after: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_before: Option<Percentiles>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_after: Option<Percentiles>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_before: Option<Percentiles>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_after: Option<Percentiles>,
}

/// A service's own time per call (its entry span and the spans under it in the same
/// service, minus the time spent waiting on other services), before and after the split:
/// the service that got slower, as opposed to every caller above it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceSelfTime {
    pub service: String,
    pub calls_before: u64,
    pub calls_after: u64,
    pub errors_before: u64,
    pub errors_after: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_before: Option<Percentiles>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_after: Option<Percentiles>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanChangeKind {
    /// Errors rose after the split (at least 5% of calls and 3 errors, twice the rate before).
    StartedFailing,
    /// Seen before the split at a rate that would have given several calls after, and
    /// never after.
    Vanished,
    /// Never seen before the split, several times after.
    Appeared,
}

/// An operation (or a call from `caller`, when given) that started failing, vanished or
/// appeared after the split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanChange {
    pub change: SpanChangeKind,
    pub service: String,
    pub operation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    pub calls_before: u64,
    pub calls_after: u64,
    pub errors_before: u64,
    pub errors_after: u64,
}

/// One span on a critical path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathStep {
    pub service: String,
    pub operation: String,
    /// Nesting below the trace's root (0).
    pub depth: u32,
    /// Seconds from the trace's start to the span's.
    pub offset: f64,
    pub duration: f64,
    /// Seconds of the path spent in this span itself (not in a child on the path).
    pub on_path: f64,
}

/// The critical path of one slow trace: the chain of spans that set its duration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriticalPath {
    pub trace_id: String,
    /// When the trace started (RFC 3339).
    pub start: String,
    pub duration: f64,
    #[serde(default)]
    pub error: bool,
    /// The path's time by service, largest first: (service, seconds).
    pub by_service: Vec<(String, f64)>,
    /// The spans on the path in call order (those holding the path's time; short ones
    /// are left out of long paths).
    pub steps: Vec<PathStep>,
}

/// `traces_digest`'s answer (and `hunch traces digest --json`). Every duration is in
/// seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceReport {
    pub spans: u64,
    pub traces: u64,
    /// First and last span start (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
    /// The before/after split (RFC 3339), and where it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onset: Option<String>,
    pub onset_source: OnsetSource,
    pub spans_before: u64,
    pub spans_after: u64,
    /// Every caller → callee pair the spans show, most calls first.
    pub graph: Vec<GraphEdge>,
    /// Edges by how much they moved (latency, then errors), at most 40.
    pub edges: Vec<EdgeStat>,
    pub edges_total: usize,
    /// Services by how much their own time moved.
    pub services: Vec<ServiceSelfTime>,
    /// Operations and calls that started failing, vanished or appeared.
    pub changes: Vec<SpanChange>,
    /// The slowest traces after the split (at most 3), slowest first.
    pub critical_paths: Vec<CriticalPath>,
    /// Spans whose parent never arrived (their edge is unknown).
    #[serde(default)]
    pub orphans: u64,
    /// What limited or qualified the digest (skipped spans, a torn last line, caps).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Arguments as a JSON value for a tool call (they always serialize).
pub fn args<T: Serialize>(args: &T) -> serde_json::Value {
    serde_json::to_value(args).expect("tool arguments serialize")
}
