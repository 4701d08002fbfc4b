//! Prometheus over its HTTP API: the `prometheus` tool (instant and range queries, series
//! and label discovery) and the metric side of [`super::LiveTelemetry`].
//!
//! PromQL is parsed with `promql-parser` before anything is sent, so a malformed query
//! goes back to the brain with the parser's message instead of costing a round trip.
//! Results reach the brain as compact tables — per series min, max, last, the strongest
//! change point with the medians either side, and a sparkline — never as raw JSON.
//!
//! For the digest tools, what a series says is read as a person would: a counter (a
//! `_total` name, or `counter` in Prometheus' metadata) is ranked by its rate, never its
//! level ([`counters_as_rates`]); and a change is an event, a `version` label replaced
//! while its series keeps flowing, never the labels seen when scraping began
//! ([`version_changes`]).

use super::super::telemetry::{clock, iso, round, sparkline};
use super::super::{
    CallPreview, Secret, ToolError, ToolOutput, ToolSpec, TypedTool, parse_args, schema_of,
};
use super::prom_caps::{CAPS, Caps, MAX_BODY_BYTES, MAX_TREE_BYTES, RangeAnswer, parse_range};
use super::{http_error, query_window, status_error};
use crate::analysis::rank;
use crate::bundle::{ChangeEvent, MetricTable};
use crate::event::Risk;
use chrono::{TimeZone, Utc};
use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// Labels that identify where a sample was scraped, not what it measures.
const SCRAPE_LABELS: &[&str] = &["__name__", "instance", "job"];

pub(super) struct PromClient {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
    /// What a range query keeps (see [`super::prom_caps`]).
    caps: Caps,
}

/// One series of a range query.
#[derive(Debug, Clone, PartialEq)]
pub struct PromSeries {
    pub labels: BTreeMap<String, String>,
    /// (unix seconds, value); `NaN` and `±Inf` as Prometheus wrote them.
    pub points: Vec<(i64, f64)>,
}

/// About 240 points over the window, never finer than 5 s.
pub(super) fn step_for(window: i64) -> i64 {
    (window / 240).max(5)
}

/// Check a PromQL expression with a real parser; the error says where it broke.
pub(super) fn check_promql(query: &str) -> Result<(), ToolError> {
    promql_parser::parser::parse(query)
        .map(|_| ())
        .map_err(|e| ToolError::InvalidArguments(format!("PromQL does not parse: {e}")))
}

fn sample_value(v: &Value) -> f64 {
    match v.as_str() {
        Some("+Inf") => f64::INFINITY,
        Some("-Inf") => f64::NEG_INFINITY,
        Some(s) => s.parse().unwrap_or(f64::NAN),
        None => f64::NAN,
    }
}

fn labels_of(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

impl PromClient {
    pub(super) fn new(base: &str, timeout: Duration) -> Result<PromClient, ToolError> {
        // reqwest is built without a TLS backend of its own: it uses the ring provider
        // (a no-op once installed).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| ToolError::Failed(format!("building an HTTP client: {e}")))?;
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ToolError::InvalidArguments(format!(
                "prometheus = \"{base}\" is not an http:// or https:// URL"
            )));
        }
        Ok(PromClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            timeout,
            caps: CAPS,
        })
    }

    pub(super) fn caps(&self) -> Caps {
        self.caps
    }

    pub(super) fn base(&self) -> &str {
        &self.base
    }

    /// GET an API path; the `data` member of a success answer.
    async fn get(&self, path: &str, params: &[(&str, String)]) -> Result<Value, ToolError> {
        let url = format!("{}{path}", self.base);
        let response = self
            .http
            .get(&url)
            .query(params)
            .send()
            .await
            .map_err(|e| http_error("prometheus", &self.base, self.timeout, &e))?;
        let status = response.status();
        let body = self.read_capped(response, path, MAX_TREE_BYTES).await?;
        let body = String::from_utf8_lossy(&body);
        // Prometheus answers errors (400, 422, 503) with a JSON envelope; use its words.
        match serde_json::from_str::<Value>(&body) {
            Ok(v) if v["status"] == "success" => Ok(v["data"].clone()),
            Ok(v) if v["status"] == "error" => Err(ToolError::Failed(format!(
                "prometheus {}: {}",
                v["errorType"].as_str().unwrap_or("error"),
                v["error"].as_str().unwrap_or("no message")
            ))),
            _ => Err(status_error("prometheus", &self.base, status, &body)),
        }
    }

    /// The body of `response`, refused once it passes `limit` bytes (`what`: the query
    /// or path the error names), so a server can't make hunch hold an answer of any size.
    async fn read_capped(
        &self,
        mut response: reqwest::Response,
        what: &str,
        limit: usize,
    ) -> Result<Vec<u8>, ToolError> {
        let failed = |e: &reqwest::Error| http_error("prometheus", &self.base, self.timeout, e);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| failed(&e))? {
            if body.len() + chunk.len() > limit {
                return Err(ToolError::Failed(format!(
                    "prometheus at {}: the answer to `{what}` is over {} MB: not read — narrow the query (a selector, fewer labels) or the window",
                    self.base,
                    limit >> 20
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// A range query, read with the client's caps: the series kept and how many the
    /// server answered (see [`RangeAnswer::cut_note`]).
    pub(super) async fn query_range(
        &self,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<RangeAnswer, ToolError> {
        check_promql(query)?;
        let params = [
            ("query", query.to_string()),
            ("start", start.to_string()),
            ("end", end.to_string()),
            ("step", step.to_string()),
        ];
        let url = format!("{}/api/v1/query_range", self.base);
        let response = self
            .http
            .get(&url)
            .query(&params)
            .send()
            .await
            .map_err(|e| http_error("prometheus", &self.base, self.timeout, &e))?;
        let status = response.status();
        let body = self.read_capped(response, query, MAX_BODY_BYTES).await?;
        parse_range(&body, self.caps).unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&body);
            Err(status_error("prometheus", &self.base, status, &text))
        })
    }

    /// An instant query: (labels, value) per result, a scalar as one unlabelled row.
    pub(super) async fn query(
        &self,
        query: &str,
        time: i64,
    ) -> Result<Vec<(BTreeMap<String, String>, f64)>, ToolError> {
        check_promql(query)?;
        let data = self
            .get(
                "/api/v1/query",
                &[("query", query.to_string()), ("time", time.to_string())],
            )
            .await?;
        Ok(match data["resultType"].as_str() {
            Some("vector") => data["result"]
                .as_array()
                .map(|r| {
                    r.iter()
                        .map(|s| (labels_of(&s["metric"]), sample_value(&s["value"][1])))
                        .collect()
                })
                .unwrap_or_default(),
            Some("scalar") | Some("string") => {
                vec![(BTreeMap::new(), sample_value(&data["result"][1]))]
            }
            _ => Vec::new(),
        })
    }

    pub(super) async fn series(
        &self,
        selector: &str,
        start: i64,
        end: i64,
    ) -> Result<Vec<BTreeMap<String, String>>, ToolError> {
        check_promql(selector)?;
        let data = self
            .get(
                "/api/v1/series",
                &[
                    ("match[]", selector.to_string()),
                    ("start", start.to_string()),
                    ("end", end.to_string()),
                ],
            )
            .await?;
        Ok(data
            .as_array()
            .map(|s| s.iter().map(labels_of).collect())
            .unwrap_or_default())
    }

    /// The label names (`label` empty), or the values of `label`. The name goes into
    /// the URL's path, so it must be a label name (letters, digits, `_`; not starting
    /// with a digit): `../admin` or `x?y` would reach another path of the server.
    pub(super) async fn label_values(&self, label: &str) -> Result<Vec<String>, ToolError> {
        let is_name = |l: &str| {
            l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !l.starts_with(|c: char| c.is_ascii_digit())
        };
        if !is_name(label) {
            return Err(ToolError::InvalidArguments(format!(
                "{label:?} is not a label name (letters, digits and _, not starting with a digit)"
            )));
        }
        let path = if label.is_empty() {
            "/api/v1/labels".to_string()
        } else {
            format!("/api/v1/label/{label}/values")
        };
        let data = self.get(&path, &[]).await?;
        Ok(data
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// A series' short name: its metric name and the labels that tell it apart.
fn series_name(labels: &BTreeMap<String, String>, service_label: &str) -> String {
    let metric = labels
        .get("__name__")
        .map(String::as_str)
        .unwrap_or("value");
    let extra: Vec<&str> = labels
        .iter()
        .filter(|(k, _)| !SCRAPE_LABELS.contains(&k.as_str()) && *k != service_label)
        .map(|(_, v)| v.as_str())
        .collect();
    if extra.is_empty() {
        metric.to_string()
    } else {
        format!("{metric}_{}", extra.join("_"))
    }
}

/// Range-query results as a metric table: one column `<service>_<metric>[_<labels>]` per
/// series (underscores in the service become dashes, so the service is the part before
/// the first `_`), rows at the union of their timestamps, gaps as NaN.
pub(super) fn table_of(series: &[PromSeries], service_label: &str) -> MetricTable {
    let times: BTreeSet<i64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    let times: Vec<i64> = times.into_iter().collect();
    let row: HashMap<i64, usize> = times.iter().enumerate().map(|(i, t)| (*t, i)).collect();
    let mut table = MetricTable {
        times,
        ..MetricTable::default()
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    for s in series {
        let service = s
            .labels
            .get(service_label)
            .or_else(|| s.labels.get("job"))
            .map(|v| v.replace('_', "-"))
            .unwrap_or_else(|| "unlabelled".into());
        let mut name = format!("{service}_{}", series_name(&s.labels, service_label));
        let n = seen.entry(name.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            name = format!("{name}_{n}");
        }
        let mut values = vec![f64::NAN; table.times.len()];
        for (t, v) in &s.points {
            values[row[t]] = *v;
        }
        table.columns.push(name);
        table.values.push(values);
    }
    table
}

/// Deploys, read from series with a `version` label (such as `app_build_info`): a change
/// is an event, never a label seen when scraping begins. See [`version_changes`].
pub(super) async fn deploys(
    prom: &PromClient,
    service_label: &str,
    start: i64,
    end: i64,
) -> Result<Vec<ChangeEvent>, ToolError> {
    let query = format!("{{version=~\".+\", {service_label}=~\".+\"}}");
    let step = step_for(end - start);
    let answer = prom.query_range(&query, start, end, step).await?;
    Ok(version_changes(&answer.series, service_label, step))
}

/// When a version appears in a series, and when it was last seen.
struct Seen {
    version: String,
    first: i64,
    last: i64,
}

/// The version changes in range-query results. Each metric of each service is its own
/// stream (`go_info`'s Go version and `pg_static`'s server version are not one thing), and
/// a version counts as a change only when it replaces another while that metric keeps
/// flowing: the old value was seen before the new one appeared, and until at most a few
/// steps (or five minutes) before it. The first value seen, even a few seconds after the window starts (the
/// moment scraping began), is no change; nor are two values that appear together (two
/// instances of different versions).
pub(super) fn version_changes(
    series: &[PromSeries],
    service_label: &str,
    step: i64,
) -> Vec<ChangeEvent> {
    let mut streams: BTreeMap<(String, String), Vec<Seen>> = BTreeMap::new();
    for s in series {
        let (Some(service), Some(version)) = (s.labels.get(service_label), s.labels.get("version"))
        else {
            continue;
        };
        let times = s.points.iter().filter(|p| p.1.is_finite()).map(|p| p.0);
        let (Some(first), Some(last)) = (times.clone().min(), times.max()) else {
            continue;
        };
        let metric = s.labels.get("__name__").cloned().unwrap_or_default();
        let seen = streams.entry((service.clone(), metric)).or_default();
        match seen.iter_mut().find(|v| v.version == *version) {
            Some(v) => {
                v.first = v.first.min(first);
                v.last = v.last.max(last);
            }
            None => seen.push(Seen {
                version: version.clone(),
                first,
                last,
            }),
        }
    }
    // A restart that takes a while (a rollout with downtime) still replaces the old value.
    let gap = (3 * step).max(300);
    let mut events = Vec::new();
    for ((service, _), mut seen) in streams {
        seen.sort_by(|a, b| a.first.cmp(&b.first).then(a.version.cmp(&b.version)));
        for (i, new) in seen.iter().enumerate() {
            // The version it replaced: seen before it, and still reported just before it.
            let old = seen[..i]
                .iter()
                .filter(|old| old.first < new.first && old.last + gap >= new.first)
                .max_by_key(|old| old.last);
            let (Some(old), Some(time)) = (old, Utc.timestamp_opt(new.first, 0).single()) else {
                continue;
            };
            events.push(ChangeEvent {
                time,
                kind: "deploy".into(),
                service: service.clone(),
                detail: format!("{} -> {} (version label)", old.version, new.version),
                old: Some(old.version.clone()),
                new: Some(new.version.clone()),
                ..ChangeEvent::default()
            });
        }
    }
    events.sort_by_key(|e| e.time);
    events.dedup_by(|a, b| a.time == b.time && a.service == b.service && a.detail == b.detail);
    events
}

/// The metric names Prometheus' metadata calls counters, and the `_count`, `_sum` and
/// `_bucket` series of its histograms and summaries; empty when it can't say (the
/// `_total` names are counters anyway, see [`is_counter`]).
pub(super) async fn counter_names(prom: &PromClient) -> BTreeSet<String> {
    let Ok(data) = prom.get("/api/v1/metadata", &[]).await else {
        return BTreeSet::new();
    };
    let mut names = BTreeSet::new();
    for (metric, entries) in data.as_object().into_iter().flatten() {
        let types = entries.as_array().into_iter().flatten();
        for kind in types.filter_map(|e| e["type"].as_str()) {
            match kind {
                "counter" => {
                    names.insert(metric.clone());
                }
                "histogram" | "summary" | "gaugehistogram" => {
                    for suffix in ["_count", "_sum", "_bucket"] {
                        names.insert(format!("{metric}{suffix}"));
                    }
                }
                _ => {}
            }
        }
    }
    names
}

/// Whether a metric is a counter: its name ends in `_total` (the OpenMetrics rule) or
/// Prometheus' metadata says so.
pub(super) fn is_counter(metric: &str, counters: &BTreeSet<String>) -> bool {
    metric.ends_with("_total") || counters.contains(metric)
}

/// Counter series as per-second rates, renamed `…_per_s` (as a bundle's counters are),
/// with a drop read as a reset: a cumulative counter's level says nothing about the
/// incident, its rate does. Series without a metric name (a `rate(…)` the environment
/// asked for) are left as they are.
pub(super) fn counters_as_rates(series: &mut [PromSeries], counters: &BTreeSet<String>) {
    for s in series.iter_mut() {
        let Some(metric) = s.labels.get("__name__").cloned() else {
            continue;
        };
        if !is_counter(&metric, counters) {
            continue;
        }
        let times: Vec<i64> = s.points.iter().map(|p| p.0).collect();
        let values: Vec<f64> = s.points.iter().map(|p| p.1).collect();
        let rates = crate::bundle::counter_rate(&times, &values);
        s.points = times.into_iter().zip(rates).collect();
        s.labels
            .insert("__name__".into(), crate::bundle::rate_name(&metric));
    }
}

#[derive(Deserialize, JsonSchema, Clone, Copy, Default, PartialEq)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub(super) enum PromKind {
    /// A PromQL expression over time (the default).
    #[default]
    Range,
    /// A PromQL expression at one time (`end`, default now).
    Instant,
    /// The series matching a selector.
    Series,
    /// Every label name, or with `label` the values of one label.
    Labels,
}

/// Arguments of `prometheus`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PrometheusArgs {
    /// A PromQL expression, or a series selector for `series`.
    query: Option<String>,
    /// What to ask (default range).
    kind: Option<PromKind>,
    /// For `labels`: list this label's values instead of the label names.
    label: Option<String>,
    /// Start, RFC 3339 or unix seconds (default: the start of the incident window).
    start: Option<String>,
    /// End, RFC 3339 or unix seconds (default: now).
    end: Option<String>,
    /// Seconds between points of a range query (default: about 240 points).
    #[schemars(range(min = 1))]
    step_seconds: Option<u64>,
}

impl PromKind {
    /// As the argument spells it.
    fn name(self) -> &'static str {
        match self {
            PromKind::Range => "range",
            PromKind::Instant => "instant",
            PromKind::Series => "series",
            PromKind::Labels => "labels",
        }
    }
}

/// The `prometheus` tool.
pub(super) struct PrometheusTool {
    client: Arc<PromClient>,
    window: i64,
}

impl PrometheusTool {
    pub(super) fn new(client: Arc<PromClient>, window: i64) -> PrometheusTool {
        PrometheusTool { client, window }
    }

    async fn range(
        &self,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<ToolOutput, ToolError> {
        let answer = self.client.query_range(query, start, end, step).await?;
        let cut = answer.cut_note(self.client.caps());
        let series = answer.series;
        let mut rows: Vec<(f64, String)> = Vec::new();
        let mut biggest: Option<(f64, String)> = None;
        for s in &series {
            let values: Vec<f64> = s.points.iter().map(|p| p.1).collect();
            let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
            let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
            let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let last = finite.last().copied().unwrap_or(f64::NAN);
            let change = rank::strongest_split(&values).map(|split| {
                let (score, before, after) = rank::shift_score(&values, split);
                let at = s.points[rank::change_start(&values, split)].0;
                (score, before, after, at)
            });
            let name = labels_text(&s.labels);
            let change_text = match change {
                Some((score, before, after, at)) if score.abs() >= rank::CHANGED => {
                    let text = format!(
                        "{} {:.3}→{:.3} (z {:+.1})",
                        clock(at),
                        round(before, 3),
                        round(after, 3),
                        score
                    );
                    if biggest.as_ref().is_none_or(|b| score.abs() > b.0) {
                        biggest = Some((score.abs(), format!("{name} at {text}")));
                    }
                    text
                }
                _ => "no change".into(),
            };
            let score = change.map(|c| c.0.abs()).unwrap_or(0.0);
            rows.push((
                score,
                format!(
                    "{name}  min {:.3}  max {:.3}  last {:.3}  change {change_text}  {}",
                    round(min, 3),
                    round(max, 3),
                    round(last, 3),
                    sparkline(&values, 30)
                ),
            ));
        }
        rows.sort_by(|a, b| b.0.total_cmp(&a.0));
        let shown = rows.len().min(40);
        let mut text = format!(
            "{query}  {} → {} step {step}s: {} series\n",
            iso(start),
            iso(end),
            series.len()
        );
        if let Some(cut) = &cut {
            text.push_str(&format!("{cut}\n"));
        }
        for (_, row) in rows.iter().take(shown) {
            text.push_str(row);
            text.push('\n');
        }
        if rows.len() > shown {
            text.push_str(&format!(
                "… {} more series with smaller changes\n",
                rows.len() - shown
            ));
        }
        let mut digest = match biggest {
            Some((_, b)) => format!("{} series · biggest change: {b}", series.len()),
            None => format!("{} series · no change points", series.len()),
        };
        if let Some(cut) = cut {
            digest.push_str(&format!(" · {cut}"));
        }
        let samples = series
            .iter()
            .map(|s| (labels_text(&s.labels), s.points.clone()))
            .collect();
        Ok(ToolOutput {
            text,
            language: "log",
            digest,
            raw: Some(MetricTable::from_samples(samples).to_csv(|_| true)),
            display: None,
        })
    }
}

fn labels_text(labels: &BTreeMap<String, String>) -> String {
    let name = labels.get("__name__").cloned().unwrap_or_default();
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    format!("{name}{{{}}}", rest.join(","))
}

impl TypedTool for PrometheusTool {
    type Args = PrometheusArgs;

    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "prometheus".into(),
            description: "Query Prometheus: a PromQL range (default) or instant query, the series matching a selector, or label names and values. Range results come back as one line per series: min, max, last, the strongest change point with the values either side, and a sparkline.".into(),
            parameters: schema_of::<PrometheusArgs>(),
        }
    }

    fn parse(&self, args: &Value) -> Result<PrometheusArgs, ToolError> {
        parse_args(args)
    }

    fn classify(&self, _args: &PrometheusArgs) -> Risk {
        Risk::ReadOnly
    }

    fn preview(&self, args: &PrometheusArgs) -> CallPreview {
        let kind = args.kind.unwrap_or_default().name();
        let query = args
            .query
            .as_deref()
            .or(args.label.as_deref())
            .unwrap_or_default();
        CallPreview {
            command: format!("prometheus {kind} {query}").trim().to_string(),
            target: format!("prometheus {}", self.client.base()),
        }
    }

    fn session_scope(
        &self,
        args: &PrometheusArgs,
        risk: Risk,
    ) -> Option<crate::event::SessionScope> {
        crate::scope::exact("prometheus", &self.preview(args).command, risk)
    }

    fn args_from_command(&self, command: &str, original: &Value) -> Result<Value, ToolError> {
        let rest = command
            .trim()
            .strip_prefix("prometheus")
            .unwrap_or(command)
            .trim();
        let (kind, query) = rest.split_once(' ').unwrap_or((rest, ""));
        let mut args = original.clone();
        args["kind"] = json!(kind);
        if kind == "labels" {
            args["label"] = json!(query.trim());
        } else {
            args["query"] = json!(query.trim());
        }
        Ok(args)
    }

    fn run<'a>(
        &'a self,
        args: &'a PrometheusArgs,
        _: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let a = args;
            let (start, end) = query_window(&a.start, &a.end, self.window)?;
            let query = || {
                a.query
                    .as_deref()
                    .filter(|q| !q.trim().is_empty())
                    .ok_or_else(|| {
                        ToolError::InvalidArguments("`query` is required for this kind".into())
                    })
            };
            match a.kind.unwrap_or_default() {
                PromKind::Range => {
                    let step = a
                        .step_seconds
                        .map(|s| s as i64)
                        .unwrap_or_else(|| step_for(end - start));
                    self.range(query()?, start, end, step).await
                }
                PromKind::Instant => {
                    let rows = self.client.query(query()?, end).await?;
                    let text: String = rows
                        .iter()
                        .map(|(labels, v)| format!("{}  {v}\n", labels_text(labels)))
                        .collect();
                    Ok(ToolOutput {
                        digest: format!("{} results at {}", rows.len(), clock(end)),
                        text,
                        language: "log",
                        raw: None,
                        display: None,
                    })
                }
                PromKind::Series => {
                    let series = self.client.series(query()?, start, end).await?;
                    let text: String = series
                        .iter()
                        .map(|l| format!("{}\n", labels_text(l)))
                        .collect();
                    Ok(ToolOutput {
                        digest: format!("{} series", series.len()),
                        text,
                        language: "log",
                        raw: None,
                        display: None,
                    })
                }
                PromKind::Labels => {
                    let label = a.label.as_deref().unwrap_or_default();
                    let values = self.client.label_values(label).await?;
                    Ok(ToolOutput {
                        digest: if label.is_empty() {
                            format!("{} label names", values.len())
                        } else {
                            format!("{} values of {label}", values.len())
                        },
                        text: values.join("\n"),
                        language: "log",
                        raw: None,
                        display: None,
                    })
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promql_is_checked_before_sending() {
        assert!(check_promql("rate(http_requests_total{code=~\"5..\"}[5m])").is_ok());
        let err = check_promql("rate(http_requests_total[5m]").unwrap_err();
        assert!(err.to_string().contains("PromQL does not parse"), "{err}");
    }

    fn series(pairs: &[(&str, &str)], points: &[(i64, f64)]) -> PromSeries {
        PromSeries {
            labels: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            points: points.to_vec(),
        }
    }

    fn flowing(from: i64, to: i64) -> Vec<(i64, f64)> {
        (from..=to).step_by(5).map(|t| (t, 1.0)).collect()
    }

    #[test]
    fn a_version_is_a_change_only_when_it_replaces_another_while_data_flows() {
        let db = |metric: &str, version: &str, from: i64, to: i64| {
            series(
                &[
                    ("__name__", metric),
                    ("service", "orders-db"),
                    ("version", version),
                ],
                &flowing(from, to),
            )
        };
        // Scraping begins at 100: three exporters' labels, each seen from its first scrape.
        let scraped = [
            db("go_info", "go1.19.8", 100, 400),
            db("postgres_exporter_build_info", "0.11.1", 105, 400),
            db("pg_static", "PostgreSQL 15.18", 110, 400),
        ];
        assert!(version_changes(&scraped, "service", 5).is_empty());
        // A deploy: v1 flows, then v2 replaces it.
        let deployed = [
            db("app_build_info", "v1", 100, 250),
            db("app_build_info", "v2", 255, 400),
        ];
        let events = version_changes(&deployed, "service", 5);
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].detail, "v1 -> v2 (version label)");
        assert_eq!(events[0].time.timestamp(), 255);
        // Two versions from the start (two instances) and a version after a long silence
        // (a new series, not a replacement) are no change.
        let together = [
            db("app_build_info", "v1", 100, 400),
            db("app_build_info", "v2", 100, 400),
        ];
        assert!(version_changes(&together, "service", 5).is_empty());
        let silent = [
            db("app_build_info", "v1", 100, 150),
            db("app_build_info", "v2", 600, 700),
        ];
        assert!(version_changes(&silent, "service", 5).is_empty());
    }

    #[test]
    fn counters_are_ranked_as_rates_and_a_reset_is_not_a_drop() {
        let counters = BTreeSet::from(["pg_stat_database_xact_commit".to_string()]);
        let mut all = vec![
            series(
                &[
                    ("__name__", "pg_stat_database_xact_commit"),
                    ("datname", "shop"),
                ],
                &[(0, 100.0), (10, 200.0), (20, 300.0), (30, 50.0)],
            ),
            series(
                &[("__name__", "http_requests_total")],
                &[(0, 0.0), (5, 10.0)],
            ),
            series(&[("__name__", "pg_up")], &[(0, 1.0), (5, 1.0)]),
            series(&[("service", "api")], &[(0, 3.0), (5, 4.0)]),
        ];
        counters_as_rates(&mut all, &counters);
        assert_eq!(
            all[0].labels["__name__"],
            "pg_stat_database_xact_commit_per_s"
        );
        let rates: Vec<f64> = all[0].points.iter().map(|p| p.1).collect();
        assert!(rates[0].is_nan());
        assert_eq!(&rates[1..], &[10.0, 10.0, 5.0]);
        assert_eq!(all[1].labels["__name__"], "http_requests_per_s");
        assert_eq!(all[1].points[1].1, 2.0);
        assert_eq!(all[2].labels["__name__"], "pg_up", "a gauge stays");
        assert_eq!(all[3].points[1].1, 4.0, "an unnamed rate(…) stays");
    }

    #[test]
    fn tables_name_series_by_service_and_align_times() {
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let series = vec![
            PromSeries {
                labels: labels(&[
                    ("__name__", "latency_p99"),
                    ("service", "orders_db"),
                    ("instance", "x:1"),
                ]),
                points: vec![(10, 1.0), (20, 2.0)],
            },
            PromSeries {
                labels: labels(&[("__name__", "errors"), ("service", "cart"), ("code", "500")]),
                points: vec![(20, 5.0), (30, 6.0)],
            },
        ];
        let table = table_of(&series, "service");
        assert_eq!(table.times, vec![10, 20, 30]);
        assert_eq!(
            table.columns,
            vec!["orders-db_latency_p99", "cart_errors_500"]
        );
        assert!(table.values[1][0].is_nan());
        assert_eq!(table.values[1][2], 6.0);
    }
}
