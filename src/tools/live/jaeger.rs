//! Jaeger's query API, read-only: `/api/services`, `/api/traces` (a search: `service`,
//! `start` and `end` in microseconds, `limit`) and `/api/dependencies` (`endTs` and
//! `lookback` in milliseconds). Its trace JSON is the same as its UI's export, read by
//! [`crate::analysis::traces::jaeger`].

use super::traces::{Deadline, Endpoint, Fetched, slices};
use crate::ToolError;
use crate::analysis::traces::Digester;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;

/// Traces one digest fetches at most, over all services and slices.
pub(super) const TRACE_BUDGET: usize = 2000;

pub(super) struct JaegerClient(Endpoint);

impl JaegerClient {
    pub(super) fn new(base: &str, timeout: Duration) -> Result<JaegerClient, ToolError> {
        Endpoint::new("jaeger", base, timeout).map(JaegerClient)
    }

    pub(super) fn base(&self) -> &str {
        self.0.base()
    }

    /// The services Jaeger has spans of.
    pub(super) async fn services(&self) -> Result<Vec<String>, ToolError> {
        let body = self.0.get("/api/services", &[]).await?;
        let value = self.0.json(&body)?;
        let mut names: Vec<String> = value["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Search `[start, end)` (unix seconds) slice by slice, service by service, and feed
    /// every trace found, once, to `digester`.
    pub(super) async fn fetch(
        &self,
        start: i64,
        end: i64,
        service: Option<&str>,
        digester: &mut Digester,
    ) -> Result<Fetched, ToolError> {
        let deadline = Deadline::after(self.0.timeout());
        let services = match service {
            Some(s) => vec![s.to_string()],
            None => self.services().await?,
        };
        let windows = slices(start, end);
        let searches = (services.len() * windows.len()).max(1);
        let per_search = (TRACE_BUDGET / searches).clamp(5, 500);
        let mut fetched = Fetched {
            per_search,
            ..Fetched::default()
        };
        let mut seen: HashSet<String> = HashSet::new();
        let mut traces: Vec<Value> = Vec::new();
        'search: for (from, to) in windows {
            for name in &services {
                if deadline.passed() {
                    fetched.cut = true;
                    break 'search;
                }
                let found = self.search(name, from, to, per_search).await?;
                fetched.searches += 1;
                fetched.full += usize::from(found.len() >= per_search);
                for trace in found {
                    let id = trace["traceID"].as_str().unwrap_or_default().to_string();
                    if seen.insert(id) {
                        traces.push(trace);
                    }
                }
            }
        }
        fetched.traces = traces.len();
        let document = json!({ "data": traces }).to_string();
        digester.jaeger_document(&document).map_err(|e| {
            ToolError::Failed(format!(
                "jaeger at {}: a trace could not be read: {e}",
                self.base()
            ))
        })?;
        Ok(fetched)
    }

    /// One `/api/traces` search: the traces (as Jaeger's JSON) of `service` in
    /// `[start, end)`.
    async fn search(
        &self,
        service: &str,
        start: i64,
        end: i64,
        limit: usize,
    ) -> Result<Vec<Value>, ToolError> {
        let micros = |s: i64| (s as i128 * 1_000_000).to_string();
        let body = self
            .0
            .get(
                "/api/traces",
                &[
                    ("service", service.to_string()),
                    ("start", micros(start)),
                    ("end", micros(end)),
                    ("limit", limit.to_string()),
                ],
            )
            .await?;
        let mut value = self.0.json(&body)?;
        Ok(match value["data"].take() {
            Value::Array(traces) => traces,
            _ => Vec::new(),
        })
    }

    /// Jaeger's own service dependency links over `[start, end)`.
    pub(super) async fn dependencies(
        &self,
        start: i64,
        end: i64,
    ) -> Result<Vec<(String, String)>, ToolError> {
        let body = self
            .0
            .get(
                "/api/dependencies",
                &[
                    ("endTs", (end * 1000).to_string()),
                    ("lookback", ((end - start).max(1) * 1000).to_string()),
                ],
            )
            .await?;
        let value = self.0.json(&body)?;
        let mut edges: Vec<(String, String)> = value["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|link| {
                let name = |key: &str| link[key].as_str().map(crate::sanitize::for_display);
                Some((name("parent")?, name("child")?))
            })
            .filter(|(parent, child)| parent != child)
            .collect();
        edges.sort();
        edges.dedup();
        Ok(edges)
    }
}
