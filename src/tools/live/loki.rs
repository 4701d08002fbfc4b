//! Loki over its HTTP API: the `loki` tool (LogQL range queries, digested) and the log
//! side of [`super::LiveTelemetry`].
//!
//! Lines never reach the brain raw: they are folded into templates with counts in the
//! query window and in a baseline window just before it, so what is new stands out.
//! There is no maintained LogQL parser for Rust, so a malformed query is reported with
//! Loki's own parse error, which names the line and column.

use super::super::telemetry::{clock, template_digest};
use super::super::{
    CallPreview, Secret, ToolError, ToolOutput, ToolSpec, TypedTool, parse_args, schema_of,
};
use super::{http_error, query_window, status_error};
use crate::bundle::LogLine;
use crate::event::Risk;
use crate::sanitize::for_display;
use chrono::{TimeZone, Utc};
use futures::future::BoxFuture;
use regex::Regex;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// Lines in one page of what `logs_digest` reads from the window.
pub(crate) const DIGEST_LIMIT: usize = 5000;
/// Lines a digest reads from Loki at most, in pages of [`DIGEST_LIMIT`].
pub(crate) const DIGEST_CAP: usize = 100_000;
/// The most lines one `loki` call may ask for.
const MAX_LIMIT: u64 = 5000;

pub struct LokiClient {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
}

/// What [`LokiClient::query_pages`] read.
#[derive(Debug, Default)]
pub struct Pages {
    pub streams: Vec<LokiStream>,
    pub lines: usize,
    pub pages: usize,
    /// When the cap stopped the reading: the time (unix seconds) the lines read reach.
    pub cut_at: Option<i64>,
}

impl Pages {
    /// What the cap left out, in words, when it cut.
    pub fn cut_note(&self) -> Option<String> {
        self.cut_at.map(|t| {
            format!(
                "Loki read cut at {} lines in {} pages (through {}): later lines were not read",
                self.lines,
                self.pages,
                crate::telemetry::iso(t)
            )
        })
    }
}

/// One stream of a log query.
#[derive(Debug, Clone)]
pub struct LokiStream {
    pub labels: BTreeMap<String, String>,
    /// (unix nanoseconds, line), oldest first.
    pub entries: Vec<(i64, String)>,
}

impl LokiClient {
    pub fn new(base: &str, timeout: Duration) -> Result<LokiClient, ToolError> {
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ToolError::InvalidArguments(format!(
                "loki = \"{base}\" is not an http:// or https:// URL"
            )));
        }
        // reqwest is built without a TLS backend of its own: it uses the ring provider
        // (a no-op once installed).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| ToolError::Failed(format!("building an HTTP client: {e}")))?;
        Ok(LokiClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            timeout,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// A LogQL log query over `[start, end)` (unix seconds), oldest lines first.
    pub async fn query_range(
        &self,
        query: &str,
        start: i64,
        end: i64,
        limit: usize,
    ) -> Result<Vec<LokiStream>, ToolError> {
        let ns = |s: i64| s as i128 * 1_000_000_000;
        self.query_range_ns(query, ns(start), ns(end), limit).await
    }

    /// A LogQL log query over the whole of `[start, end)` (unix seconds), read in pages
    /// of `page` lines, oldest first, until the window is read or `cap` lines are; the
    /// answer says where a cap stopped it.
    pub async fn query_pages(
        &self,
        query: &str,
        (start, end): (i64, i64),
        page: usize,
        cap: usize,
    ) -> Result<Pages, ToolError> {
        let ns = |s: i64| s as i128 * 1_000_000_000;
        let (mut from, end) = (ns(start), ns(end));
        let mut out = Pages::default();
        let mut streams: BTreeMap<BTreeMap<String, String>, Vec<(i64, String)>> = BTreeMap::new();
        // Lines at the last page's last time: the next page starts at that time (more
        // lines may share it) and skips these.
        let mut boundary: Vec<(i64, String)> = Vec::new();
        loop {
            let got = self.query_range_ns(query, from, end, page).await?;
            out.pages += 1;
            let returned: usize = got.iter().map(|s| s.entries.len()).sum();
            let last = got
                .iter()
                .filter_map(|s| s.entries.last())
                .map(|e| e.0)
                .max();
            let mut added = 0;
            let mut next_boundary = Vec::new();
            for stream in got {
                let kept = streams.entry(stream.labels).or_default();
                for entry in stream.entries {
                    if boundary.contains(&entry) {
                        continue;
                    }
                    if Some(entry.0) == last {
                        next_boundary.push(entry.clone());
                    }
                    kept.push(entry);
                    added += 1;
                }
            }
            out.lines += added;
            let Some(last) = last else { break };
            if returned < page {
                break;
            }
            if out.lines >= cap {
                out.cut_at = Some(last.div_euclid(1_000_000_000));
                break;
            }
            // A page of one instant's lines, all seen: step past that instant.
            from = if added == 0 {
                last as i128 + 1
            } else {
                last as i128
            };
            boundary = next_boundary;
        }
        out.streams = streams
            .into_iter()
            .map(|(labels, mut entries)| {
                entries.sort_by_key(|e| e.0);
                LokiStream { labels, entries }
            })
            .collect();
        Ok(out)
    }

    async fn query_range_ns(
        &self,
        query: &str,
        start: i128,
        end: i128,
        limit: usize,
    ) -> Result<Vec<LokiStream>, ToolError> {
        let url = format!("{}/loki/api/v1/query_range", self.base);
        let response = self
            .http
            .get(&url)
            .query(&[
                ("query", query.to_string()),
                ("start", start.to_string()),
                ("end", end.to_string()),
                ("limit", limit.to_string()),
                ("direction", "forward".to_string()),
            ])
            .send()
            .await
            .map_err(|e| http_error("loki", &self.base, self.timeout, &e))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| http_error("loki", &self.base, self.timeout, &e))?;
        if status == reqwest::StatusCode::BAD_REQUEST {
            // Loki answers a bad query with its parser's message as plain text.
            return Err(ToolError::Failed(format!(
                "loki rejected the query: {}",
                body.trim()
            )));
        }
        if !status.is_success() {
            return Err(status_error("loki", &self.base, status, &body));
        }
        let value: Value = serde_json::from_str(&body).map_err(|e| {
            ToolError::Failed(format!("loki answered something that is not JSON ({e})"))
        })?;
        let data = &value["data"];
        if data["resultType"] != "streams" {
            return Err(ToolError::InvalidArguments(format!(
                "that is a metric query (result type {}); ask for log lines, e.g. {{service=\"api\"}} |= \"error\"",
                data["resultType"]
            )));
        }
        let mut streams: Vec<LokiStream> = data["result"]
            .as_array()
            .map(|r| {
                r.iter()
                    .map(|s| LokiStream {
                        labels: s["stream"]
                            .as_object()
                            .map(|m| {
                                m.iter()
                                    .map(|(k, v)| {
                                        (k.clone(), v.as_str().unwrap_or_default().to_string())
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                        entries: s["values"]
                            .as_array()
                            .map(|v| {
                                v.iter()
                                    .filter_map(|e| {
                                        Some((
                                            e[0].as_str()?.parse().ok()?,
                                            e[1].as_str()?.to_string(),
                                        ))
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        for s in &mut streams {
            s.entries.sort_by_key(|e| e.0);
        }
        Ok(streams)
    }
}

static LEVEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b(?:level|lvl|severity)?[=:]?"?(fatal|critical|error|err|warning|warn|info|debug)\b"#)
        .expect("the level pattern compiles")
});

/// A line's level: from a `level`-like label, else the first level word in the line.
fn level_of(labels: &BTreeMap<String, String>, line: &str) -> String {
    let word = ["level", "detected_level", "severity"]
        .iter()
        .find_map(|k| labels.get(*k).cloned())
        .or_else(|| LEVEL.captures(line).map(|c| c[1].to_string()))
        .unwrap_or_default()
        .to_uppercase();
    match word.as_str() {
        "ERR" | "ERROR" | "CRITICAL" => "ERROR",
        "FATAL" => "FATAL",
        "WARN" | "WARNING" => "WARN",
        "DEBUG" => "DEBUG",
        _ => "INFO",
    }
    .to_string()
}

/// Streams as log lines, oldest first, with service and level taken from the labels.
pub(crate) fn log_lines(streams: &[LokiStream], service_label: &str) -> Vec<LogLine> {
    let mut lines: Vec<LogLine> = streams
        .iter()
        .flat_map(|s| {
            let service = s
                .labels
                .get(service_label)
                .or_else(|| s.labels.get("job"))
                .cloned()
                .unwrap_or_else(|| "unlabelled".into());
            s.entries.iter().filter_map(move |(ns, line)| {
                Some(LogLine {
                    ts: Utc
                        .timestamp_nanos(*ns)
                        .max(Utc.timestamp_opt(0, 0).single()?),
                    level: level_of(&s.labels, line),
                    service: service.clone(),
                    // A clear-screen or title change in a log is data, not an instruction
                    // to this terminal, and not something the model needs to read.
                    message: for_display(line).trim_end().to_string(),
                })
            })
        })
        .collect();
    lines.sort_by_key(|l| l.ts);
    lines
}

/// Arguments of `loki`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LokiArgs {
    /// A LogQL log query, e.g. {service="payments"} |= "timeout".
    query: String,
    /// Start, RFC 3339 or unix seconds (default: the start of the incident window).
    start: Option<String>,
    /// End, RFC 3339 or unix seconds (default: now).
    end: Option<String>,
    /// The most lines to read from each window (default 2000, at most 5000).
    #[schemars(range(min = 1, max = 5000))]
    limit: Option<u64>,
    /// Minutes before `start` to read as the baseline that decides what is new
    /// (default: as long as the query window; 0 for none).
    baseline_minutes: Option<u64>,
}

/// The `loki` tool.
pub(crate) struct LokiTool {
    client: Arc<LokiClient>,
    window: i64,
    service_label: String,
}

impl LokiTool {
    pub(crate) fn new(client: Arc<LokiClient>, window: i64, service_label: &str) -> LokiTool {
        LokiTool {
            client,
            window,
            service_label: service_label.to_string(),
        }
    }
}

impl TypedTool for LokiTool {
    type Args = LokiArgs;

    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "loki".into(),
            description: "Read logs from Loki with a LogQL query, folded into templates with counts: lines in the window versus a baseline window just before it, new templates first.".into(),
            parameters: schema_of::<LokiArgs>(),
        }
    }

    fn parse(&self, args: &Value) -> Result<LokiArgs, ToolError> {
        parse_args(args)
    }

    fn classify(&self, _args: &LokiArgs) -> Risk {
        Risk::ReadOnly
    }

    fn preview(&self, args: &LokiArgs) -> CallPreview {
        CallPreview {
            command: format!("loki {}", args.query),
            target: format!("loki {}", self.client.base()),
        }
    }

    fn session_scope(&self, args: &LokiArgs, risk: Risk) -> Option<crate::event::SessionScope> {
        crate::scope::exact("loki", &self.preview(args).command, risk)
    }

    fn args_from_command(&self, command: &str, original: &Value) -> Result<Value, ToolError> {
        let query = command
            .trim()
            .strip_prefix("loki")
            .unwrap_or(command)
            .trim();
        let mut args = original.clone();
        args["query"] = json!(query);
        Ok(args)
    }

    fn run<'a>(
        &'a self,
        args: &'a LokiArgs,
        _: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let a = args;
            let (start, end) = query_window(&a.start, &a.end, self.window)?;
            let limit = a.limit.unwrap_or(2000).clamp(1, MAX_LIMIT) as usize;
            let baseline = a
                .baseline_minutes
                .map(|m| m as i64 * 60)
                .unwrap_or(end - start);
            let mut streams = Vec::new();
            let mut cut = Vec::new();
            if baseline > 0 {
                let before = self
                    .client
                    .query_range(&a.query, start - baseline, start, limit)
                    .await?;
                if before.iter().map(|s| s.entries.len()).sum::<usize>() >= limit {
                    cut.push("baseline");
                }
                streams.extend(before);
            }
            let window = self.client.query_range(&a.query, start, end, limit).await?;
            if window.iter().map(|s| s.entries.len()).sum::<usize>() >= limit {
                cut.push("window");
            }
            streams.extend(window);
            let lines = log_lines(&streams, &self.service_label);
            let selected: Vec<&LogLine> = lines.iter().collect();
            let recorded_from = selected.iter().map(|l| l.ts.timestamp()).min();
            let mut out = template_digest(&selected, start, recorded_from);
            if !cut.is_empty() {
                out.digest
                    .push_str(&format!(" · {} cut at {limit} lines", cut.join(" and ")));
            }
            out.digest
                .push_str(&format!(" · window from {}", clock(start)));
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_come_from_labels_or_the_line() {
        let none = BTreeMap::new();
        assert_eq!(level_of(&none, "2026-11-24 level=error msg=x"), "ERROR");
        assert_eq!(level_of(&none, "WARN pool nearly exhausted"), "WARN");
        assert_eq!(level_of(&none, "GET /health 200"), "INFO");
        let labelled: BTreeMap<String, String> =
            [("level".to_string(), "warning".to_string())].into();
        assert_eq!(level_of(&labelled, "ERROR in text but label wins"), "WARN");
    }
}
