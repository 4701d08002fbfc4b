//! Incident bundles: a directory anyone can write that holds what an investigation needs
//! when no live system is attached — the incident, metrics, logs, change events, runbooks,
//! past incidents, and the simulated state the demo `kubectl` and `psql` act on.
//!
//! ```text
//! incident.toml      title, alert, fired_at, namespace, [[services]]
//! metrics.csv        time (RFC 3339 or unix seconds), then one column per series;
//!                    a series' service is the part of its name before the first `_`
//! logs.log           `<RFC 3339 time> <LEVEL> <service> <message>` per line
//! events.csv         time,kind,service,detail   (deploy, config, scale, restart …)
//! runbooks/*.md      Markdown; fenced ```hunch blocks are steps the agent can run
//! incidents/*.md     past incidents, searchable as knowledge
//! state.toml         the simulated environment (deployments, database sessions)
//! traces.jsonl       spans as OTLP/JSON lines, or traces.json, a Jaeger export
//!                    (streamed when wanted, never held: see [`traces`])
//! ```
//!
//! A loaded bundle's `logs.log` is read once to check and index it and then streamed
//! each time it is wanted, never held (see [`logs`]); its traces likewise.
//!
//! The demo incident is this same format, embedded in the binary (`hunch demo
//! --write-bundle DIR` writes it out as a starting point).

// The crates this one stands on, under the names its modules use (`crate::event`, …).
use hunch_analysis as analysis;
use hunch_protocol as protocol;
use hunch_protocol::{sanitize, text};

pub mod logs;
mod metrics;
pub mod traces;

pub use metrics::{
    LayoutError, MAX_METRIC_FILE_BYTES, MetricFile, MetricFileError, TextFileError, read_text_file,
};

use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The io error is said in the message, not chained as a source, so it is read once.
    #[error("{}: {error}{}", file.display(), missing_hint(file, error))]
    Io {
        file: PathBuf,
        error: std::io::Error,
    },
    /// A column's labels are malformed; the label error is said in the message, not
    /// chained, like the io error above.
    #[error("{file}:{line}: {error}")]
    Labels {
        file: String,
        line: usize,
        error: LabelError,
    },
    #[error("{file}:{line}: {message}")]
    Parse {
        file: String,
        line: usize,
        message: String,
    },
}

/// What to do when a bundle's `incident.toml` is not there at all, saying first when the
/// bundle's directory itself is missing (a mistyped path).
fn missing_hint(file: &std::path::Path, error: &std::io::Error) -> String {
    let incident = file.file_name().is_some_and(|n| n == "incident.toml");
    if !incident || error.kind() != std::io::ErrorKind::NotFound {
        return String::new();
    }
    let no_dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
            format!("there is no directory {}; ", dir.display())
        }
        _ => String::new(),
    };
    format!(
        " ({no_dir}a bundle is a directory holding incident.toml; `hunch demo --write-bundle DIR` writes one to start from)"
    )
}

fn parse_error(file: &str, line: usize, message: impl Into<String>) -> BundleError {
    BundleError::Parse {
        file: file.to_string(),
        line,
        message: message.into(),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub name: String,
    #[serde(default = "default_kind")]
    pub kind: String,
    #[serde(default)]
    pub calls: Vec<String>,
    /// The node (host, VM) it runs on: services on one node share its CPU, memory and
    /// disk, so the node is below all of them in the call graph. A node's own series are
    /// named after it (`node-7_cpu_steal_pct`).
    #[serde(default)]
    pub node: Option<String>,
    /// Topics or queues it writes to and reads from: asynchronous edges, producer →
    /// topic → consumer in the call graph (a consumer that falls behind explains its
    /// topic's backlog; a topic that takes no writes explains its producers' errors).
    /// A topic's own series are named after it (`order-events_lag`).
    #[serde(default)]
    pub produces: Vec<String>,
    #[serde(default)]
    pub consumes: Vec<String>,
}

fn default_kind() -> String {
    "app".into()
}

/// The most characters a component's name may have (a DNS name's limit).
const NAME_CHARS: usize = 253;

/// What a component's name (a service, a node, a topic, a callee) may not hold: names go
/// into tool arguments and commands the engineer approves (`kubectl rollout undo
/// deployment/<name>`), so a name that reads as shell syntax or spreads over lines is
/// refused where it is written, not carried along.
fn name_flaw(name: &str) -> Option<String> {
    const SHELL: &[char] = &[
        ';', '$', '`', '|', '&', '<', '>', '(', ')', '{', '}', '[', ']', '\'', '"', '\\', '*', '?',
        '!', '#', '~',
    ];
    if name.trim().is_empty() {
        return Some("is empty".into());
    }
    if name.chars().count() > NAME_CHARS {
        return Some(format!("is longer than {NAME_CHARS} characters"));
    }
    name.chars()
        .find(|c| c.is_whitespace() || c.is_control() || SHELL.contains(c))
        .map(|c| format!("holds {:?}, which a name cannot", c))
}

/// Every name `incident.toml` gives a component is one a command may carry (see
/// [`name_flaw`]); the error names the line it is on.
fn check_names(incident: &IncidentSpec, text: &str) -> Result<(), BundleError> {
    let names = incident.services.iter().flat_map(|s| {
        std::iter::once(&s.name)
            .chain(&s.calls)
            .chain(&s.node)
            .chain(&s.produces)
            .chain(&s.consumes)
    });
    for name in names {
        if let Some(flaw) = name_flaw(name) {
            let quoted = format!("{name:?}");
            let line = text
                .lines()
                .position(|l| l.contains(&quoted) || l.contains(name.as_str()))
                .map_or(1, |i| i + 1);
            let shown = crate::sanitize::one_line(&name.chars().take(60).collect::<String>());
            return Err(parse_error(
                "incident.toml",
                line,
                format!(
                    "the name \"{shown}\" {flaw}: use letters, digits and - _ . : / (as in a Kubernetes or host name)"
                ),
            ));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentSpec {
    pub title: String,
    pub alert: String,
    pub fired_at: DateTime<Utc>,
    #[serde(default = "default_environment")]
    pub environment: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    #[serde(default)]
    pub services: Vec<ServiceSpec>,
    /// What kind of series a `metrics.csv` column is, where its name does not say.
    #[serde(default)]
    pub series: Vec<SeriesSpec>,
}

/// A series declared in `incident.toml`: `name` is a column's metric name (without
/// labels) or the whole column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesSpec {
    pub name: String,
    pub kind: SeriesKind,
}

/// A gauge is a level (memory, connections, latency); a counter only grows, except when
/// the process that counts restarts. Counters are read as per-second rates, so a restart
/// is not a level shift and a change in pace is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeriesKind {
    Gauge,
    Counter,
}

impl IncidentSpec {
    /// The call graph as (caller, callee) edges, read "the caller's symptoms may come
    /// from the callee": declared calls, each service's node below it, and the
    /// asynchronous path producer → topic → consumer (a producer needs the topic to take
    /// its writes; a topic's backlog grows when its consumer falls behind).
    pub fn call_edges(&self) -> Vec<(String, String)> {
        let mut edges: Vec<(String, String)> = Vec::new();
        let mut add = |edge: (String, String)| {
            if !edges.contains(&edge) {
                edges.push(edge);
            }
        };
        for s in &self.services {
            let below = s.calls.iter().chain(s.node.as_ref()).chain(&s.produces);
            for callee in below {
                add((s.name.clone(), callee.clone()));
            }
            for topic in &s.consumes {
                add((topic.clone(), s.name.clone()));
            }
        }
        edges
    }

    /// (name, kind) of every component: the services, then the nodes (`node`) and the
    /// topics (`topic`) they name that are not services themselves.
    pub fn components(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .services
            .iter()
            .map(|s| (s.name.clone(), s.kind.clone()))
            .collect();
        let named = |s: &ServiceSpec| {
            let nodes = s.node.iter().map(|n| (n.clone(), "node"));
            let topics = s
                .produces
                .iter()
                .chain(&s.consumes)
                .map(|t| (t.clone(), "topic"));
            nodes.chain(topics).collect::<Vec<_>>()
        };
        for (name, kind) in self.services.iter().flat_map(named) {
            if !out.iter().any(|(n, _)| *n == name) {
                out.push((name, kind.to_string()));
            }
        }
        out
    }
}

fn default_environment() -> String {
    "bundle".into()
}
fn default_namespace() -> String {
    "default".into()
}

/// Metrics as columns: `values[c][r]` is series `columns[c]` at `times[r]`.
#[derive(Debug, Clone, Default)]
pub struct MetricTable {
    pub times: Vec<i64>,
    pub columns: Vec<String>,
    pub values: Vec<Vec<f64>>,
    /// What the source left out, in words, when it cut (a live server's answer past a
    /// cap); `None` when the table is all there was.
    pub cut: Option<String>,
}

impl MetricTable {
    pub fn series(&self, name: &str) -> Option<&[f64]> {
        self.columns
            .iter()
            .position(|c| c == name)
            .map(|i| self.values[i].as_slice())
    }
}

/// A column's kind: as declared in `incident.toml` (by metric name or whole column), else
/// a counter when its metric name ends in `_total` (the OpenMetrics rule for counters),
/// else a gauge.
pub(crate) fn series_kind(declared: &[SeriesSpec], column: &str) -> SeriesKind {
    let metric = metric_name(column);
    declared
        .iter()
        .find(|s| s.name == column || s.name == metric)
        .map(|s| s.kind)
        .unwrap_or(if metric.ends_with("_total") {
            SeriesKind::Counter
        } else {
            SeriesKind::Gauge
        })
}

/// A column's metric name: the column without its `{label="value",…}` part.
pub fn metric_name(column: &str) -> &str {
    column.split_once('{').map_or(column, |(name, _)| name)
}

/// What is wrong with a column's `{label="value",…}` part.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LabelError {
    #[error("`{column}`: labels must end with `}}`")]
    Unclosed { column: String },
    #[error("`{column}`: expected `label=\"value\"` in `{rest}`")]
    NotAPair { column: String, rest: String },
    #[error("`{column}`: `{key}` is not a label name")]
    BadName { column: String, key: String },
    #[error("`{column}`: the value of `{key}` has no closing quote")]
    OpenQuote { column: String, key: String },
    #[error("`{column}`: expected `,` before `{rest}`")]
    NoComma { column: String, rest: String },
}

/// A column's labels, `name{pod="api-1",endpoint="/cart"}` → `[(pod, api-1), …]`, in the
/// Prometheus series notation; an error says what is wrong with it.
pub(crate) fn series_labels(column: &str) -> Result<Vec<(String, String)>, LabelError> {
    let Some((_, rest)) = column.split_once('{') else {
        return Ok(Vec::new());
    };
    let inner = rest.strip_suffix('}').ok_or_else(|| LabelError::Unclosed {
        column: column.into(),
    })?;
    let mut labels = Vec::new();
    let mut rest = inner.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").ok_or_else(|| LabelError::NotAPair {
            column: column.into(),
            rest: rest.to_string(),
        })?;
        let key = key.trim().trim_start_matches(',').trim();
        let valid = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(LabelError::BadName {
                column: column.into(),
                key: key.to_string(),
            });
        }
        let (value, after) = after.split_once('"').ok_or_else(|| LabelError::OpenQuote {
            column: column.into(),
            key: key.to_string(),
        })?;
        labels.push((key.to_string(), value.to_string()));
        rest = after.trim();
        if let Some(next) = rest.strip_prefix(',') {
            rest = next.trim();
        } else if !rest.is_empty() {
            return Err(LabelError::NoComma {
                column: column.into(),
                rest: rest.to_string(),
            });
        }
    }
    Ok(labels)
}

/// The name a counter's rate goes by: `…_total` becomes `…_per_s`, any other name gets
/// `_per_s`; labels stay.
pub fn rate_name(column: &str) -> String {
    let metric = metric_name(column);
    let labels = &column[metric.len()..];
    let base = metric.strip_suffix("_total").unwrap_or(metric);
    format!("{base}_per_s{labels}")
}

/// Per-second increase between samples, Prometheus-style: a drop is a counter reset (the
/// process restarted), so the increase is the new value itself. Missing samples are
/// skipped; the first sample has no rate.
pub fn counter_rate(times: &[i64], values: &[f64]) -> Vec<f64> {
    let mut out = vec![f64::NAN; values.len()];
    let mut previous: Option<(i64, f64)> = None;
    for (i, (&t, &v)) in times.iter().zip(values).enumerate() {
        if !v.is_finite() {
            continue;
        }
        if let Some((t0, v0)) = previous
            && t > t0
        {
            let increase = if v >= v0 { v - v0 } else { v };
            out[i] = increase / (t - t0) as f64;
        }
        previous = Some((t, v));
    }
    out
}

/// The service a series belongs to: the part of its name before the first `_`.
pub fn service_of(series: &str) -> &str {
    series.split('_').next().unwrap_or(series)
}

#[derive(Debug, Clone)]
pub struct LogLine {
    pub ts: DateTime<Utc>,
    pub level: String,
    pub service: String,
    pub message: String,
}

/// A change to the system: a deploy, a config or flag change, a job, a migration, a
/// scale, a restart, a certificate rotation … (kinds are open). `events.csv` must have
/// `time,kind,service,detail`; the columns `old`, `new` (the value before and after),
/// `by` (who or what made it) and `end` (when a change that takes time finished) are
/// optional, and any other column is an error.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeEvent {
    pub time: DateTime<Utc>,
    pub kind: String,
    pub service: String,
    pub detail: String,
    #[serde(default, deserialize_with = "empty_is_none")]
    pub old: Option<String>,
    #[serde(default, deserialize_with = "empty_is_none")]
    pub new: Option<String>,
    #[serde(default, deserialize_with = "empty_is_none")]
    pub by: Option<String>,
    #[serde(default, deserialize_with = "empty_time_is_none")]
    pub end: Option<DateTime<Utc>>,
}

impl ChangeEvent {
    /// The event as the `change_events` tool reports it.
    pub fn row(&self) -> crate::protocol::digest::ChangeRow {
        let iso = |t: &DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        crate::protocol::digest::ChangeRow {
            time: iso(&self.time),
            kind: self.kind.clone(),
            service: self.service.clone(),
            detail: self.detail.clone(),
            old: self.old.clone(),
            new: self.new.clone(),
            by: self.by.clone(),
            end: self.end.as_ref().map(iso),
        }
    }
}

fn empty_is_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let cell: Option<String> = Option::deserialize(d)?;
    Ok(cell.filter(|c| !c.trim().is_empty()))
}

fn empty_time_is_none<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    match empty_is_none(d)? {
        None => Ok(None),
        Some(cell) => parse_time(&cell).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!("`{cell}` is not a time (RFC 3339 or unix seconds)"))
        }),
    }
}

#[derive(Debug, Clone)]
pub struct Document {
    pub name: String,
    pub text: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentSpec {
    pub name: String,
    #[serde(default = "one")]
    pub replicas: u32,
    /// Released versions, oldest first; the last one is running.
    pub history: Vec<String>,
    /// Versions that leave database transactions open while they run.
    #[serde(default)]
    pub leaks_transactions_from: Option<String>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSpec {
    pub service: String,
    #[serde(default = "hundred")]
    pub max_connections: u32,
    #[serde(default)]
    pub baseline_sessions: Vec<(String, String, u32)>,
    #[serde(default)]
    pub leaked_sessions: u32,
    #[serde(default)]
    pub leaked_query: String,
}

fn hundred() -> u32 {
    100
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatedState {
    #[serde(default)]
    pub deployments: Vec<DeploymentSpec>,
    #[serde(default)]
    pub database: Option<DatabaseSpec>,
}

#[derive(Debug, Clone)]
pub struct Bundle {
    pub incident: IncidentSpec,
    /// Shared, never copied, by the tools that read it: a wide table is most of what a
    /// loaded bundle holds (`Arc::make_mut` to change it).
    pub metrics: Arc<MetricTable>,
    /// Log lines held in memory: the embedded demo's, or lines a test adds. A bundle
    /// loaded from a directory streams its `logs.log` instead ([`Bundle::log_file`]);
    /// read either through [`Bundle::log_source`].
    pub logs: Vec<LogLine>,
    /// A loaded bundle's `logs.log`, indexed, streamed on each use.
    pub log_file: Option<logs::LogFile>,
    pub events: Vec<ChangeEvent>,
    pub runbooks: Vec<Document>,
    pub past_incidents: Vec<Document>,
    pub state: SimulatedState,
    /// The directory it was loaded from; `None` for the embedded demo.
    pub dir: Option<std::path::PathBuf>,
    /// Its trace file, streamed when a digest is wanted.
    pub traces: Option<traces::TraceFile>,
}

impl Bundle {
    /// The bundle with terminal control sequences, C0/C1 controls and bidi overrides
    /// removed from every text it holds: bundle files come from outside, and what the
    /// tools serve from them (sometimes as JSON, where an escape would survive as
    /// `\u001b`) must be clean before it is recorded or shown.
    pub fn sanitized(mut self) -> Bundle {
        use crate::sanitize::for_display as clean;
        let incident = &mut self.incident;
        for text in [
            &mut incident.title,
            &mut incident.alert,
            &mut incident.environment,
            &mut incident.namespace,
        ] {
            *text = clean(text);
        }
        for service in &mut incident.services {
            service.name = clean(&service.name);
            service.kind = clean(&service.kind);
            let named = service
                .calls
                .iter_mut()
                .chain(&mut service.produces)
                .chain(&mut service.consumes)
                .chain(&mut service.node);
            named.for_each(|c| *c = clean(c));
        }
        let columns = &self.metrics.columns;
        if columns.iter().any(|c| clean(c) != *c) {
            let metrics = Arc::make_mut(&mut self.metrics);
            metrics.columns.iter_mut().for_each(|c| *c = clean(c));
        }
        for series in &mut incident.series {
            series.name = clean(&series.name);
        }
        if let Some(file) = &mut self.log_file {
            file.sanitize = true;
        }
        for line in &mut self.logs {
            line.level = clean(&line.level);
            line.service = clean(&line.service);
            line.message = clean(&line.message);
        }
        for event in &mut self.events {
            event.kind = clean(&event.kind);
            event.service = clean(&event.service);
            event.detail = clean(&event.detail);
            for text in [&mut event.old, &mut event.new, &mut event.by]
                .into_iter()
                .flatten()
            {
                *text = clean(text);
            }
        }
        for doc in self.runbooks.iter_mut().chain(&mut self.past_incidents) {
            doc.name = clean(&doc.name);
            doc.text = clean(&doc.text);
        }
        for deployment in &mut self.state.deployments {
            deployment.name = clean(&deployment.name);
            deployment.history.iter_mut().for_each(|v| *v = clean(v));
        }
        if let Some(db) = &mut self.state.database {
            db.service = clean(&db.service);
            db.leaked_query = clean(&db.leaked_query);
            for (app, state, _) in &mut db.baseline_sessions {
                *app = clean(app);
                *state = clean(state);
            }
        }
        self
    }
}

/// The raw files of a bundle, before parsing.
struct BundleFiles {
    incident: String,
    metrics: String,
    logs: String,
    events: String,
    state: String,
    runbooks: Vec<Document>,
    past_incidents: Vec<Document>,
}

macro_rules! demo_file {
    ($name:literal) => {
        ($name, include_str!(concat!("demo/", $name)))
    };
}

/// The embedded demo incident, file by file.
const DEMO_FILES: &[(&str, &str)] = &[
    demo_file!("incident.toml"),
    demo_file!("metrics.csv"),
    demo_file!("logs.log"),
    demo_file!("events.csv"),
    demo_file!("state.toml"),
    demo_file!("runbooks/postgres-connection-saturation.md"),
    demo_file!("runbooks/bad-deploy.md"),
    demo_file!("runbooks/redis-timeouts.md"),
    demo_file!("incidents/INC-2041.md"),
    demo_file!("incidents/INC-1987.md"),
];

fn demo_text(name: &str) -> String {
    DEMO_FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| t.to_string())
        .unwrap_or_default()
}

fn demo_docs(folder: &str) -> Vec<Document> {
    DEMO_FILES
        .iter()
        .filter_map(|(n, t)| {
            n.strip_prefix(folder).map(|rest| Document {
                name: rest.trim_start_matches('/').to_string(),
                text: t.to_string(),
            })
        })
        .collect()
}

impl Bundle {
    pub fn demo() -> Bundle {
        let files = BundleFiles {
            incident: demo_text("incident.toml"),
            metrics: demo_text("metrics.csv"),
            logs: demo_text("logs.log"),
            events: demo_text("events.csv"),
            state: demo_text("state.toml"),
            runbooks: demo_docs("runbooks"),
            past_incidents: demo_docs("incidents"),
        };
        Bundle::parse(files).expect("the embedded demo bundle parses")
    }

    /// Write the embedded demo bundle to `dir`, as a template for a bundle of your own.
    pub fn write_demo(dir: &Path) -> Result<(), BundleError> {
        for (name, text) in DEMO_FILES {
            let path = dir.join(name);
            let io = |error| BundleError::Io {
                file: path.clone(),
                error,
            };
            std::fs::create_dir_all(path.parent().expect("file in a folder")).map_err(io)?;
            std::fs::write(&path, text).map_err(io)?;
        }
        Ok(())
    }

    pub fn load(dir: &Path) -> Result<Bundle, BundleError> {
        Bundle::load_with_progress(dir, &mut |_| {})
    }

    /// [`Bundle::load`], saying on standard error how far reading a large `logs.log` has
    /// got (see [`logs::stderr_progress`]): what the command line loads bundles with.
    pub fn load_reporting(dir: &Path) -> Result<Bundle, BundleError> {
        Bundle::load_with_progress(dir, &mut logs::stderr_progress())
    }

    /// [`Bundle::load`], telling `progress` how far the pass over `logs.log` has got.
    pub fn load_with_progress(
        dir: &Path,
        progress: &mut dyn FnMut(logs::Progress),
    ) -> Result<Bundle, BundleError> {
        let read = |name: &str, required: bool| -> Result<String, BundleError> {
            let path = dir.join(name);
            match read_lossy(&path) {
                Ok(text) => Ok(text),
                Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                    Ok(String::new())
                }
                Err(error) => Err(BundleError::Io { file: path, error }),
            }
        };
        let docs = |folder: &str| load_documents(&dir.join(folder));
        let mut bundle = Bundle::parse(BundleFiles {
            incident: read("incident.toml", true)?,
            metrics: String::new(),
            logs: String::new(),
            events: read("events.csv", false)?,
            state: read("state.toml", false)?,
            runbooks: docs("runbooks")?,
            past_incidents: docs("incidents")?,
        })?;
        let metrics_path = dir.join("metrics.csv");
        if metrics_path.exists() {
            let metrics = load_metrics(&metrics_path, &bundle.incident.series, progress)?;
            bundle.metrics = Arc::new(metrics);
        }
        let log_path = dir.join("logs.log");
        if log_path.exists() {
            bundle.log_file = Some(logs::LogFile::open(&log_path, progress)?);
        }
        bundle.dir = Some(std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()));
        bundle.traces = traces::TraceFile::find(dir);
        Ok(bundle)
    }

    fn parse(files: BundleFiles) -> Result<Bundle, BundleError> {
        let incident: IncidentSpec = toml::from_str(&files.incident)
            .map_err(|e| toml_error("incident.toml", &files.incident, e))?;
        check_names(&incident, &files.incident)?;
        let mut metrics = parse_metrics(&files.metrics)?;
        metrics.counters_to_rates(|column| series_kind(&incident.series, column));
        let state: SimulatedState =
            toml::from_str(&files.state).map_err(|e| toml_error("state.toml", &files.state, e))?;
        let mut logs = parse_logs(&files.logs)?;
        logs.sort_by_key(|l| l.ts);
        let mut events = parse_events(&files.events)?;
        events.sort_by_key(|e| e.time);
        Ok(Bundle {
            incident,
            metrics: Arc::new(metrics),
            logs,
            events,
            runbooks: files.runbooks,
            past_incidents: files.past_incidents,
            state,
            dir: None,
            traces: None,
            log_file: None,
        })
    }

    /// The bundle's log records: its file, streamed, or the lines it holds.
    pub fn log_source(&self) -> logs::LogSource {
        match &self.log_file {
            Some(file) => logs::LogSource::File(file.clone()),
            None => logs::LogSource::Lines(std::sync::Arc::new(self.logs.clone())),
        }
    }

    pub fn service(&self, name: &str) -> Option<&ServiceSpec> {
        self.incident.services.iter().find(|s| s.name == name)
    }
}

/// A bundle's `metrics.csv`, streamed from the file into columns sized by a first pass
/// that counts its lines; counters become rates as `declared` (or their names) say.
/// `progress` hears how far the parse has got, about every 8 MB.
fn load_metrics(
    path: &Path,
    declared: &[SeriesSpec],
    progress: &mut dyn FnMut(logs::Progress),
) -> Result<MetricTable, BundleError> {
    use std::io::Seek;
    let io = |error| BundleError::Io {
        file: path.to_path_buf(),
        error,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let total = file.metadata().map_err(io)?.len();
    let rows = metrics::line_count(&file).map_err(io)?;
    file.rewind().map_err(io)?;
    let reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut next_report = 0;
    let mut report = |bytes: u64, records: u64| {
        progress(logs::Progress {
            file: "metrics.csv",
            bytes,
            total,
            records,
            unit: "rows",
        })
    };
    let mut on_row = |bytes: u64, rows: u64| {
        if bytes >= next_report && bytes < total {
            next_report = bytes + (8 << 20);
            report(bytes, rows);
        }
    };
    let mut metrics = read_metric_table(reader, "metrics.csv", rows, &mut on_row)?;
    report(total, metrics.times.len() as u64);
    for column in &metrics.columns {
        series_labels(column).map_err(|error| BundleError::Labels {
            file: "metrics.csv".into(),
            line: 1,
            error,
        })?;
    }
    metrics.counters_to_rates(|column| series_kind(declared, column));
    Ok(metrics)
}

fn toml_error(file: &str, text: &str, e: toml::de::Error) -> BundleError {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
        .unwrap_or(0);
    parse_error(file, line, e.message().to_string())
}

/// The Markdown files (`*.md`) of a directory, sorted by name; a missing directory has none.
pub fn load_documents(path: &Path) -> Result<Vec<Document>, BundleError> {
    let mut docs = Vec::new();
    if !path.is_dir() {
        return Ok(docs);
    }
    let entries = std::fs::read_dir(path).map_err(|error| BundleError::Io {
        file: path.to_path_buf(),
        error,
    })?;
    let mut names: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    names.sort();
    for file in names {
        let text = read_lossy(&file).map_err(|error| BundleError::Io {
            file: file.clone(),
            error,
        })?;
        let name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into();
        docs.push(Document { name, text });
    }
    Ok(docs)
}

/// Parse a time cell: RFC 3339, or unix seconds (integer or fractional).
pub fn parse_time(cell: &str) -> Option<DateTime<Utc>> {
    let cell = cell.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(cell) {
        return Some(t.with_timezone(&Utc));
    }
    let secs: f64 = cell.parse().ok()?;
    if !secs.is_finite() {
        return None;
    }
    Utc.timestamp_millis_opt((secs * 1000.0) as i64).single()
}

/// A bundle's `metrics.csv`: a metric table whose column labels, if any, are well formed.
fn parse_metrics(text: &str) -> Result<MetricTable, BundleError> {
    let table = MetricTable::parse(text, "metrics.csv")?;
    for column in &table.columns {
        series_labels(column).map_err(|error| BundleError::Labels {
            file: "metrics.csv".into(),
            line: 1,
            error,
        })?;
    }
    Ok(table)
}

impl MetricTable {
    /// Parse a metrics CSV: a `time` column (RFC 3339 or unix seconds), then one column per
    /// series. Errors name the file, line and column.
    pub fn parse(text: &str, file: &str) -> Result<MetricTable, BundleError> {
        parse_metric_table(text, file)
    }

    /// `after`'s rows appended to `before`'s, matched by column name (a column missing on
    /// one side is NaN there). Times become row numbers: two exports of one incident often
    /// overlap or disagree in their clocks, and the row order is what they agree on.
    pub fn concat_rows(before: &MetricTable, after: &MetricTable) -> MetricTable {
        let mut columns = before.columns.clone();
        columns.extend(
            after
                .columns
                .iter()
                .filter(|c| !before.columns.contains(c))
                .cloned(),
        );
        let take = |table: &MetricTable, column: &str| -> Vec<f64> {
            table
                .series(column)
                .map(<[f64]>::to_vec)
                .unwrap_or_else(|| vec![f64::NAN; table.times.len()])
        };
        let values = columns
            .iter()
            .map(|c| {
                let mut v = take(before, c);
                v.extend(take(after, c));
                v
            })
            .collect();
        let rows = before.times.len() + after.times.len();
        MetricTable {
            times: (0..rows as i64).collect(),
            columns,
            values,
            cut: before.cut.clone().or_else(|| after.cut.clone()),
        }
    }

    /// The table as CSV in the format [`MetricTable::parse`] reads (unix seconds, an
    /// empty cell for a missing value), with only the columns `keep` accepts.
    pub fn to_csv(&self, keep: impl Fn(&str) -> bool) -> String {
        let kept: Vec<usize> = (0..self.columns.len())
            .filter(|&c| keep(&self.columns[c]))
            .collect();
        let mut writer = csv::Writer::from_writer(Vec::new());
        let header = std::iter::once("time").chain(kept.iter().map(|&c| self.columns[c].as_str()));
        let mut written = writer.write_record(header);
        for (r, time) in self.times.iter().enumerate() {
            let cells = std::iter::once(time.to_string()).chain(kept.iter().map(|&c| {
                let v = self.values[c][r];
                if v.is_finite() {
                    v.to_string()
                } else {
                    String::new()
                }
            }));
            written = written.and_then(|()| writer.write_record(cells));
        }
        // Writing into memory cannot fail, and every cell is UTF-8.
        written.expect("CSV into memory");
        String::from_utf8(writer.into_inner().expect("CSV into memory")).expect("UTF-8 cells")
    }

    /// A table from series that each carry their own sample times (as a query API
    /// returns them): the times are the union, and a series is NaN where it has none.
    pub fn from_samples(series: Vec<(String, Vec<(i64, f64)>)>) -> MetricTable {
        let mut times: Vec<i64> = series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|s| s.0))
            .collect();
        times.sort_unstable();
        times.dedup();
        let mut table = MetricTable {
            values: Vec::with_capacity(series.len()),
            columns: Vec::with_capacity(series.len()),
            times,
            cut: None,
        };
        for (name, points) in series {
            let mut values = vec![f64::NAN; table.times.len()];
            for (t, v) in points {
                if let Ok(row) = table.times.binary_search(&t) {
                    values[row] = v;
                }
            }
            table.columns.push(name);
            table.values.push(values);
        }
        table
    }

    /// Every counter column (by `kind_of`) replaced by its per-second rate, renamed by
    /// [`rate_name`].
    pub(crate) fn counters_to_rates(&mut self, kind_of: impl Fn(&str) -> SeriesKind) {
        for (column, values) in self.columns.iter_mut().zip(&mut self.values) {
            if kind_of(column) == SeriesKind::Counter {
                *values = counter_rate(&self.times, values);
                *column = rate_name(column);
            }
        }
    }

    /// `(name, values)` pairs, as the analysis functions take them.
    pub fn named_series(&self) -> Vec<(String, Vec<f64>)> {
        self.columns
            .iter()
            .cloned()
            .zip(self.values.iter().cloned())
            .collect()
    }
}

fn parse_metric_table(text: &str, file: &str) -> Result<MetricTable, BundleError> {
    if text.trim().is_empty() {
        return Ok(MetricTable::default());
    }
    let rows = memchr::memchr_iter(b'\n', text.as_bytes()).count();
    read_metric_table(text.as_bytes(), file, rows, &mut |_, _| {})
}

/// Values a metric table reserves room for before reading its rows (256 MiB of them);
/// past that its columns grow as rows arrive.
const RESERVED_VALUES: usize = 32 << 20;

/// A metrics CSV streamed from `input`: only the table is held, never the text. Each
/// column is allocated once for `rows` (at least the rows there are: see
/// [`metrics::line_count`]), not grown and copied as rows arrive. `on_row` hears the
/// bytes and rows read after each row.
fn read_metric_table(
    input: impl std::io::Read,
    file: &str,
    rows: usize,
    on_row: &mut dyn FnMut(u64, u64),
) -> Result<MetricTable, BundleError> {
    let mut table = MetricTable::default();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| parse_error(file, 1, e.to_string()))?
        .clone();
    if headers.is_empty() || headers.iter().all(str::is_empty) {
        return Ok(table);
    }
    if headers.get(0) != Some("time") {
        return Err(parse_error(file, 1, "the first column must be `time`"));
    }
    table.columns = headers.iter().skip(1).map(str::to_string).collect();
    // The lines counted may be blank or cut short: reserve for them only up to a budget
    // of values, so a wide header over a file of empty lines allocates nothing it won't fill.
    let rows = rows.min(RESERVED_VALUES / table.columns.len().max(1));
    table.times.reserve_exact(rows);
    table.values = (0..table.columns.len())
        .map(|_| Vec::with_capacity(rows))
        .collect();
    let mut record = csv::StringRecord::new();
    for row in 0.. {
        let line = row + 2;
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(parse_error(file, line, e.to_string())),
        }
        let time = parse_time(&record[0]).ok_or_else(|| {
            parse_error(
                file,
                line,
                format!("`{}` is not a time (RFC 3339 or unix seconds)", &record[0]),
            )
        })?;
        if table
            .times
            .last()
            .is_some_and(|&last| time.timestamp() <= last)
        {
            return Err(parse_error(
                file,
                line,
                "times must increase from row to row",
            ));
        }
        table.times.push(time.timestamp());
        for (c, column) in table.values.iter_mut().enumerate() {
            let cell = record.get(c + 1).unwrap_or("");
            let value = if cell.is_empty() {
                f64::NAN
            } else {
                cell.parse().map_err(|_| {
                    parse_error(
                        file,
                        line,
                        format!("column `{}`: `{cell}` is not a number", table.columns[c]),
                    )
                })?
            };
            column.push(value);
        }
        on_row(reader.position().byte(), table.times.len() as u64);
    }
    Ok(table)
}

/// A file as text; an invalid UTF-8 byte (a truncated multi-byte character in an
/// exported log) becomes U+FFFD instead of failing the whole bundle.
fn read_lossy(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// One spelling per level, whatever the source wrote: `WARNING` is `WARN`, PostgreSQL's
/// `LOG` and syslog's `NOTICE` are `INFO`, `PANIC`/`CRITICAL`/`SEVERE`/`EMERG`/`ALERT` are
/// `FATAL`. A PostgreSQL `DETAIL`, `HINT`, `STATEMENT`, `CONTEXT` or `QUERY` line explains
/// the line before it: it takes that line's level. Unknown levels are kept as written.
fn canonical_level(level: &str, previous: Option<&str>) -> String {
    let upper = level.to_ascii_uppercase();
    match upper.as_str() {
        "WARNING" => "WARN".into(),
        "LOG" | "NOTICE" => "INFO".into(),
        "PANIC" | "CRITICAL" | "CRIT" | "SEVERE" | "EMERG" | "EMERGENCY" | "ALERT" => {
            "FATAL".into()
        }
        "ERR" => "ERROR".into(),
        "DETAIL" | "HINT" | "STATEMENT" | "CONTEXT" | "QUERY" => {
            previous.unwrap_or("INFO").to_string()
        }
        _ => upper,
    }
}

fn parse_logs(text: &str) -> Result<Vec<LogLine>, BundleError> {
    logs::parse_text(text)
}

fn parse_events(text: &str) -> Result<Vec<ChangeEvent>, BundleError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    reader
        .deserialize()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| parse_error("events.csv", i + 2, e.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_that_reads_as_shell_syntax_is_refused_at_its_line() {
        let text = "title = \"t\"\nalert = \"a\"\nfired_at = \"2026-01-01T00:00:00Z\"\n\n[[services]]\nname = \"web\"\ncalls = [\"payments;$(touch /tmp/x)\"]\n";
        let incident: IncidentSpec = toml::from_str(text).unwrap();
        let error = check_names(&incident, text).unwrap_err().to_string();
        assert!(
            error.starts_with("incident.toml:7: the name \"payments;$(touch /tmp/x)\""),
            "{error}"
        );
        assert!(error.contains("holds ';'"), "{error}");
        for fine in [
            "ts-food-service",
            "orders-db.prod.svc",
            "node-7",
            "PetShop::pets_v2",
            "api/v1",
        ] {
            assert_eq!(name_flaw(fine), None, "{fine}");
        }
        for bad in ["", "  ", "a b", "x`id`", "line\nbreak", &"n".repeat(254)] {
            assert!(name_flaw(bad).is_some(), "{bad:?}");
        }
    }

    proptest::proptest! {
        /// Samples with their own times become a table that survives CSV and back:
        /// missing samples are empty cells, and names with commas and quotes are quoted
        /// (the reader trims cells, so names here do not start or end with a space).
        #[test]
        fn samples_round_trip_through_csv(
            series in proptest::collection::vec(
                (
                    "[a-z_\",{}= ]{1,12}",
                    proptest::collection::btree_map(0i64..500, -1e6f64..1e6, 0..20),
                ),
                1..5,
            ),
        ) {
            let samples: Vec<(String, Vec<(i64, f64)>)> = series
                .iter()
                .enumerate()
                .map(|(i, (name, points))| (format!("m{i}{name}x"), points.clone().into_iter().collect()))
                .collect();
            let table = MetricTable::from_samples(samples.clone());
            let back = MetricTable::parse(&table.to_csv(|_| true), "raw").unwrap();
            proptest::prop_assert_eq!(&back.times, &table.times);
            proptest::prop_assert_eq!(&back.columns, &table.columns);
            for ((name, points), values) in samples.iter().zip(&back.values) {
                let present = values.iter().filter(|v| v.is_finite()).count();
                proptest::prop_assert_eq!(present, points.len(), "{}", name);
                for (t, v) in points {
                    let row = back.times.binary_search(t).unwrap();
                    proptest::prop_assert_eq!(values[row], *v);
                }
            }
        }
    }

    #[test]
    fn demo_bundle_is_complete() {
        let bundle = Bundle::demo();
        assert_eq!(bundle.metrics.times.len(), 240);
        assert!(bundle.metrics.columns.len() > 15);
        assert!(bundle.logs.len() > 500);
        assert!(
            bundle
                .events
                .iter()
                .any(|e| e.kind == "deploy" && e.service == "catalog")
        );
        assert_eq!(bundle.runbooks.len(), 3);
        assert_eq!(bundle.past_incidents.len(), 2);
        assert!(bundle.state.database.is_some());
    }

    #[test]
    fn written_demo_loads_back_identically() {
        let dir = tempfile::tempdir().unwrap();
        Bundle::write_demo(dir.path()).unwrap();
        let loaded = Bundle::load(dir.path()).unwrap();
        let demo = Bundle::demo();
        assert_eq!(loaded.metrics.values, demo.metrics.values);
        let file = loaded
            .log_file
            .as_ref()
            .expect("a loaded bundle streams its logs");
        assert_eq!(file.index.records, demo.logs.len() as u64);
        let mut streamed = Vec::new();
        loaded
            .log_source()
            .each(&mut |l| streamed.push(l.clone()))
            .unwrap();
        streamed.sort_by_key(|l| l.ts);
        let same = |a: &LogLine, b: &LogLine| {
            (a.ts, &a.level, &a.service, &a.message) == (b.ts, &b.level, &b.service, &b.message)
        };
        assert!(streamed.iter().zip(&demo.logs).all(|(a, b)| same(a, b)));
        assert_eq!(loaded.runbooks.len(), demo.runbooks.len());
    }

    #[test]
    fn bad_metric_cell_names_line_and_column() {
        let err = parse_metrics("time,a_x\n2026-01-01T00:00:00Z,1\n2026-01-01T00:00:15Z,oops\n")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "metrics.csv:3: column `a_x`: `oops` is not a number"
        );
        let err = parse_metrics("time,a_x\n10,1\n5,2\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("metrics.csv:3: times must increase")
        );
    }

    #[test]
    fn a_missing_bundle_directory_is_said_to_be_missing() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-bundle");
        let err = Bundle::load(&missing).unwrap_err().to_string();
        let said = format!("there is no directory {};", missing.display());
        assert!(err.contains(&said), "{err}");
        let err = Bundle::load(dir.path()).unwrap_err().to_string();
        assert!(
            !err.contains("there is no directory") && err.contains("holding incident.toml"),
            "{err}"
        );
    }

    #[test]
    fn broken_incident_toml_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        Bundle::write_demo(dir.path()).unwrap();
        std::fs::write(
            dir.path().join("incident.toml"),
            "title = \"x\"\nalert = \n",
        )
        .unwrap();
        let err = Bundle::load(dir.path()).unwrap_err().to_string();
        assert!(err.starts_with("incident.toml:2:"), "{err}");
    }

    #[test]
    fn real_logs_load_stack_traces_levels_and_bad_bytes() {
        let text = "2026-01-01T00:00:00Z ERROR api request failed: java.lang.IllegalStateException: pool closed\n\tat com.x.Pool.get(Pool.java:12)\n\tat com.x.Api.handle(Api.java:40)\n2026-01-01T00:00:01Z ERROR db canceling statement due to lock timeout\n2026-01-01T00:00:01Z DETAIL db Process 42 waits for AccessExclusiveLock on relation 16384\n2026-01-01T00:00:02Z LOG db checkpoint complete\n2026-01-01T00:00:03Z WARNING api slow\n2026-01-01T00:00:04Z PANIC db could not write to file\n";
        let logs = parse_logs(text).unwrap();
        assert_eq!(logs.len(), 6);
        assert!(
            logs[0]
                .message
                .ends_with("at com.x.Api.handle(Api.java:40)")
        );
        assert_eq!(logs[0].message.lines().count(), 3);
        let levels: Vec<&str> = logs.iter().map(|l| l.level.as_str()).collect();
        assert_eq!(levels, ["ERROR", "ERROR", "ERROR", "INFO", "WARN", "FATAL"]);
        assert!(parse_logs("\tat orphan.Frame(X.java:1)\n").is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs.log");
        std::fs::write(&path, b"2026-01-01T00:00:00Z ERROR api caf\xc3 cut\n").unwrap();
        let text = read_lossy(&path).unwrap();
        assert_eq!(parse_logs(&text).unwrap()[0].message, "caf\u{fffd} cut");
    }

    #[test]
    fn a_typo_in_incident_toml_names_its_line_and_what_was_expected() {
        let files = BundleFiles {
            incident: "title = \"t\"\nalert = \"a\"\nfired_at = \"2026-01-01T00:00:00Z\"\n\n[[services]]\nname = \"api\"\ncals = [\"db\"]\n".into(),
            metrics: String::new(),
            logs: String::new(),
            events: String::new(),
            state: String::new(),
            runbooks: Vec::new(),
            past_incidents: Vec::new(),
        };
        let err = Bundle::parse(files).unwrap_err().to_string();
        assert!(err.starts_with("incident.toml:7"), "{err}");
        assert!(
            err.contains("unknown field `cals`") && err.contains("`calls`"),
            "{err}"
        );
    }

    fn incident_with(extra: &str) -> String {
        format!("title = \"t\"\nalert = \"a\"\nfired_at = \"2026-01-01T00:00:00Z\"\n{extra}")
    }

    fn files(incident: String, metrics: &str, events: &str) -> BundleFiles {
        BundleFiles {
            incident,
            metrics: metrics.into(),
            logs: String::new(),
            events: events.into(),
            state: String::new(),
            runbooks: Vec::new(),
            past_incidents: Vec::new(),
        }
    }

    #[test]
    fn a_counter_is_read_as_a_rate_so_a_restart_is_not_a_level_shift() {
        // 60 samples 10 s apart of a counter that grows 50/s, reset to 0 by a restart at
        // sample 30; and one declared by name that grows 2/s.
        let mut csv =
            String::from("time,api_requests_total{pod=\"api-1\"},api_jobs_done,api_mem_mb\n");
        for i in 0..60i64 {
            let since_restart = if i < 30 {
                1000 + i * 10 * 50
            } else {
                (i - 30) * 10 * 50
            };
            csv.push_str(&format!(
                "{},{},{},{}\n",
                i * 10,
                since_restart,
                i * 20,
                300
            ));
        }
        let declared = "[[series]]\nname = \"api_jobs_done\"\nkind = \"counter\"\n";
        let bundle = Bundle::parse(files(incident_with(declared), &csv, "")).unwrap();
        let table = &bundle.metrics;
        assert_eq!(
            table.columns,
            [
                "api_requests_per_s{pod=\"api-1\"}",
                "api_jobs_done_per_s",
                "api_mem_mb"
            ]
        );
        let rates = &table.values[0];
        assert!(rates[0].is_nan());
        let steady = |i: usize| i != 30;
        assert!(
            (1..60)
                .filter(|&i| steady(i))
                .all(|i| (rates[i] - 50.0).abs() < 1e-9),
            "{rates:?}"
        );
        assert!(rates[30] >= 0.0, "a reset is never a negative rate");
        assert!(table.values[1][1..].iter().all(|r| (*r - 2.0).abs() < 1e-9));
        let ranking = crate::analysis::rank::rank(&table.times, &table.named_series(), None);
        assert!(
            ranking
                .shifts
                .iter()
                .all(|s| s.score.abs() < crate::analysis::rank::CHANGED),
            "{:?}",
            ranking.shifts
        );
    }

    #[test]
    fn labels_are_checked_and_a_wrong_kind_is_named() {
        assert_eq!(
            series_labels("api_lat{pod=\"a-1\", endpoint=\"/cart,x\"}").unwrap(),
            [
                ("pod".into(), "a-1".into()),
                ("endpoint".into(), "/cart,x".into())
            ]
        );
        let err = parse_metrics("time,\"api_lat{pod=a}\"\n1,2\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("metrics.csv:1:") && err.contains("label=\"value\""),
            "{err}"
        );
        let typo = "[[series]]\nname = \"x\"\nkind = \"countr\"\n";
        let err = Bundle::parse(files(incident_with(typo), "", ""))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("incident.toml:6") && err.contains("counter"),
            "{err}"
        );
    }

    #[test]
    fn change_events_carry_optional_structured_fields_and_refuse_unknown_columns() {
        let events = "time,kind,service,detail,old,new,by,end\n\
            2026-01-01T00:00:00Z,config,api,pool size,50,10,alice,\n\
            2026-01-01T00:01:00Z,migration,db,add index,,,ci,2026-01-01T00:09:00Z\n";
        let bundle = Bundle::parse(files(incident_with(""), "", events)).unwrap();
        let first = &bundle.events[0];
        assert_eq!(
            (first.old.as_deref(), first.new.as_deref()),
            (Some("50"), Some("10"))
        );
        assert_eq!(first.by.as_deref(), Some("alice"));
        assert!(first.end.is_none());
        let row = bundle.events[1].row();
        assert_eq!(row.end.as_deref(), Some("2026-01-01T00:09:00Z"));
        assert_eq!(row.old, None);
        let old_format = "time,kind,service,detail\n2026-01-01T00:00:00Z,deploy,api,v1 -> v2\n";
        assert_eq!(
            Bundle::parse(files(incident_with(""), "", old_format))
                .unwrap()
                .events
                .len(),
            1
        );
        let typo = "time,kind,service,detail,ownr\n2026-01-01T00:00:00Z,deploy,api,v2,bob\n";
        let err = Bundle::parse(files(incident_with(""), "", typo))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("events.csv:2") && err.contains("ownr"),
            "{err}"
        );
    }

    #[test]
    fn nodes_are_below_their_services_and_topics_between_producer_and_consumer() {
        let services = "[[services]]\nname = \"orders\"\ncalls = [\"db\"]\nproduces = [\"order-events\"]\nnode = \"n1\"\n\n\
            [[services]]\nname = \"mailer\"\nconsumes = [\"order-events\"]\n\n\
            [[services]]\nname = \"db\"\nkind = \"postgres\"\n";
        let bundle = Bundle::parse(files(incident_with(services), "", "")).unwrap();
        let edges = bundle.incident.call_edges();
        let edge = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            edges,
            [
                edge("orders", "db"),
                edge("orders", "n1"),
                edge("orders", "order-events"),
                edge("order-events", "mailer")
            ]
        );
        let kinds = bundle.incident.components();
        assert!(kinds.contains(&("order-events".into(), "topic".into())));
        assert!(kinds.contains(&("n1".into(), "node".into())));
        assert_eq!(kinds.len(), 5);
    }

    /// A forged file: a header of 100,000 series over a million empty lines. The lines
    /// are counted before the rows are read; reserving every column for all of them
    /// would ask for 800 GB.
    #[test]
    fn a_wide_header_over_empty_lines_reserves_no_more_than_it_fills() {
        let mut text = String::from("time");
        for n in 0..100_000 {
            text.push_str(&format!(",s{n}"));
        }
        text.push('\n');
        text.push_str(&"\n".repeat(1_000_000));
        let table = MetricTable::parse(&text, "metrics.csv").unwrap();
        assert_eq!((table.columns.len(), table.times.len()), (100_000, 0));
        let reserved: usize = table.values.iter().map(Vec::capacity).sum();
        assert!(reserved <= RESERVED_VALUES, "{reserved} values reserved");
    }

    #[test]
    fn label_errors_say_what_is_wrong_word_for_word() {
        let said = |column: &str| series_labels(column).unwrap_err().to_string();
        assert_eq!(
            said("a{pod=\"x\""),
            "`a{pod=\"x\"`: labels must end with `}`"
        );
        assert_eq!(
            said("a{pod=x}"),
            "`a{pod=x}`: expected `label=\"value\"` in `pod=x`"
        );
        assert_eq!(
            said("a{p-d=\"x\"}"),
            "`a{p-d=\"x\"}`: `p-d` is not a label name"
        );
        assert_eq!(
            said("a{pod=\"x}"),
            "`a{pod=\"x}`: the value of `pod` has no closing quote"
        );
        assert_eq!(
            said("a{pod=\"x\" b=\"y\"}"),
            "`a{pod=\"x\" b=\"y\"}`: expected `,` before `b=\"y\"`"
        );
        assert_eq!(
            series_labels("a{p-d=\"x\"}"),
            Err(LabelError::BadName {
                column: "a{p-d=\"x\"}".into(),
                key: "p-d".into()
            })
        );
    }
}
