//! Grafana Tempo's HTTP API, read-only: `/api/search` (a TraceQL query in `q` —
//! `{ resource.service.name = "cart" }`, or `{}` for every trace — `start` and `end` in
//! unix seconds, `limit`) finds trace ids, and
//! `/api/traces/<id>` returns one trace as OTLP/JSON (`batches` in the v1 answer,
//! `resourceSpans` or `trace.resourceSpans` elsewhere), read by
//! [`crate::analysis::traces::otlp`]. A search answers with ids only, so each trace is a
//! request of its own: the budget is smaller than Jaeger's, and at most [`PARALLEL`] are
//! in flight at once.

use super::traces::{Deadline, Endpoint, Fetched, slices};
use crate::ToolError;
use crate::analysis::traces::Digester;
use futures::StreamExt;
use std::collections::HashSet;
use std::time::Duration;

/// Traces one digest fetches at most.
pub(super) const TRACE_BUDGET: usize = 240;
/// Trace requests in flight at once.
pub(super) const PARALLEL: usize = 8;

pub(super) struct TempoClient(Endpoint);

/// The TraceQL query that selects the traces through `service` (every trace without
/// one); the name is a TraceQL string, its quotes and backslashes escaped.
pub(super) fn traceql(service: Option<&str>) -> String {
    match service {
        Some(s) => {
            let quoted = s.replace('\\', "\\\\").replace('"', "\\\"");
            format!("{{ resource.service.name = \"{quoted}\" }}")
        }
        None => "{}".to_string(),
    }
}

impl TempoClient {
    pub(super) fn new(base: &str, timeout: Duration) -> Result<TempoClient, ToolError> {
        Endpoint::new("tempo", base, timeout).map(TempoClient)
    }

    pub(super) fn base(&self) -> &str {
        self.0.base()
    }

    /// The ids of up to `limit` traces in `[start, end)` (unix seconds), through
    /// `service` when given.
    async fn search(
        &self,
        service: Option<&str>,
        start: i64,
        end: i64,
        limit: usize,
    ) -> Result<Vec<String>, ToolError> {
        let mut query = vec![
            ("start", start.to_string()),
            ("end", end.to_string()),
            ("limit", limit.to_string()),
        ];
        query.push(("q", traceql(service)));
        let body = self.0.get("/api/search", &query).await?;
        let value = self.0.json(&body)?;
        Ok(value["traces"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["traceID"].as_str())
            .filter(|id| is_trace_id(id))
            .map(String::from)
            .collect())
    }

    /// Search `[start, end)` slice by slice, fetch every trace found once, and feed it to
    /// `digester`.
    pub(super) async fn fetch(
        &self,
        start: i64,
        end: i64,
        service: Option<&str>,
        digester: &mut Digester,
    ) -> Result<Fetched, ToolError> {
        let deadline = Deadline::after(self.0.timeout());
        let windows = slices(start, end);
        let per_search = TRACE_BUDGET / windows.len().max(1);
        let mut fetched = Fetched {
            per_search,
            ..Fetched::default()
        };
        let mut seen = HashSet::new();
        let mut ids = Vec::new();
        for (from, to) in windows {
            if deadline.passed() {
                fetched.cut = true;
                break;
            }
            let found = self.search(service, from, to, per_search).await?;
            fetched.searches += 1;
            fetched.full += usize::from(found.len() >= per_search);
            ids.extend(found.into_iter().filter(|id| seen.insert(id.clone())));
        }
        let mut answers = futures::stream::iter(ids)
            .map(|id| async move { self.0.get(&format!("/api/traces/{id}"), &[]).await })
            .buffered(PARALLEL);
        while let Some(answer) = answers.next().await {
            if deadline.passed() {
                fetched.cut = true;
                break;
            }
            digester.otlp_document(&answer?).map_err(|e| {
                ToolError::Failed(format!(
                    "tempo at {}: a trace could not be read: {e}",
                    self.base()
                ))
            })?;
            fetched.traces += 1;
        }
        Ok(fetched)
    }
}

/// A trace id as Tempo writes it: 1 to 32 hex digits. Ids come from the server's own
/// answer and go into a request path (`/api/traces/<id>`): anything else (`../`, `?`,
/// `#`) could send the request elsewhere on the server, so it is dropped.
fn is_trace_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::traceql;

    #[test]
    fn searches_are_traceql_with_the_name_quoted() {
        assert_eq!(traceql(None), "{}");
        assert_eq!(
            traceql(Some("cart")),
            "{ resource.service.name = \"cart\" }"
        );
        assert_eq!(
            traceql(Some("a\"b\\c")),
            "{ resource.service.name = \"a\\\"b\\\\c\" }"
        );
    }

    #[test]
    fn only_hex_trace_ids_reach_a_request_path() {
        assert!(super::is_trace_id("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert!(super::is_trace_id("a1"));
        for hostile in ["../../admin", "abc?x=1", "abc#f", "", "g1", &"a".repeat(33)] {
            assert!(!super::is_trace_id(hostile), "{hostile}");
        }
    }
}
