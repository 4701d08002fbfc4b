//! Traces from a live Jaeger or Tempo, for `traces_digest` and for the call graph of an
//! environment that declares none.
//!
//! Both servers answer searches with the most recent traces first, so one search over
//! the incident window would see only its end and leave no "before". The window is
//! therefore cut into [`SLICES`] time slices, each searched with an equal share of the
//! trace budget; the traces found are fetched once each (deduplicated by id), folded
//! into the same streaming digest a bundle's file goes through, and the report says
//! what was fetched. Every request has the environment's timeout, and the whole fetch
//! stops at that time too: what was found by then is digested, and the report says it
//! was cut. Only GET requests are made.

use super::jaeger::JaegerClient;
use super::tempo::TempoClient;
use super::{EnvironmentConfig, http_error, status_error};
use crate::ToolError;
use crate::analysis::traces::Digester;
use crate::protocol::digest::TraceReport;
use std::time::{Duration, Instant};

/// Time slices a search window is cut into.
pub(super) const SLICES: i64 = 4;

/// A trace server's base URL and an HTTP client with the environment's timeout.
pub(super) struct Endpoint {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
    server: &'static str,
}

impl Endpoint {
    pub(super) fn new(
        server: &'static str,
        base: &str,
        timeout: Duration,
    ) -> Result<Endpoint, ToolError> {
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ToolError::InvalidArguments(format!(
                "{server} = \"{base}\" is not an http:// or https:// URL"
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
        Ok(Endpoint {
            http,
            base: base.trim_end_matches('/').to_string(),
            timeout,
            server,
        })
    }

    pub(super) fn base(&self) -> &str {
        &self.base
    }

    pub(super) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// GET `path` with `query`; the body of a 2xx answer.
    pub(super) async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<String, ToolError> {
        let failed = |e: &reqwest::Error| http_error(self.server, &self.base, self.timeout, e);
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .query(query)
            .send()
            .await
            .map_err(|e| failed(&e))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| failed(&e))?;
        if !status.is_success() {
            return Err(status_error(self.server, &self.base, status, &body));
        }
        Ok(body)
    }

    /// The answer as JSON, or an error naming the server.
    pub(super) fn json(&self, body: &str) -> Result<serde_json::Value, ToolError> {
        serde_json::from_str(body).map_err(|e| {
            ToolError::Failed(format!(
                "{} at {} answered something that is not JSON ({e})",
                self.server, self.base
            ))
        })
    }
}

/// When a fetch must stop: the environment's timeout after it began.
pub(super) struct Deadline(Instant, Duration);

impl Deadline {
    pub(super) fn after(limit: Duration) -> Deadline {
        Deadline(Instant::now(), limit)
    }
    pub(super) fn passed(&self) -> bool {
        self.0.elapsed() >= self.1
    }
}

/// `[start, end)` (unix seconds) cut into [`SLICES`] slices, newest last.
pub(super) fn slices(start: i64, end: i64) -> Vec<(i64, i64)> {
    let width = ((end - start) / SLICES).max(1);
    (0..SLICES)
        .map(|k| {
            (
                start + k * width,
                if k == SLICES - 1 {
                    end
                } else {
                    start + (k + 1) * width
                },
            )
        })
        .filter(|(a, b)| a < b)
        .collect()
}

/// Where an environment's traces come from.
pub(super) enum TraceBackend {
    Jaeger(JaegerClient),
    Tempo(TempoClient),
}

impl TraceBackend {
    /// The environment's trace server, if it names one (`jaeger =` or `tempo =`, not both).
    pub(super) fn of(config: &EnvironmentConfig) -> Result<Option<TraceBackend>, ToolError> {
        let timeout = config.timeout();
        match (&config.jaeger, &config.tempo) {
            (Some(_), Some(_)) => Err(ToolError::InvalidArguments(
                "name one trace server: jaeger or tempo, not both".into(),
            )),
            (Some(url), None) => Ok(Some(TraceBackend::Jaeger(JaegerClient::new(url, timeout)?))),
            (None, Some(url)) => Ok(Some(TraceBackend::Tempo(TempoClient::new(url, timeout)?))),
            (None, None) => Ok(None),
        }
    }

    pub(super) fn origin(&self) -> String {
        match self {
            TraceBackend::Jaeger(j) => format!("jaeger {}", j.base()),
            TraceBackend::Tempo(t) => format!("tempo {}", t.base()),
        }
    }

    /// The digest of the traces in `[start, end)` (unix seconds), only those through
    /// `service` when given, split at `onset` (unix nanoseconds).
    pub(super) async fn report(
        &self,
        (start, end): (i64, i64),
        service: Option<&str>,
        onset: Option<i64>,
    ) -> Result<TraceReport, ToolError> {
        let mut digester = Digester::new(onset, false);
        let fetched = match self {
            TraceBackend::Jaeger(j) => j.fetch(start, end, service, &mut digester).await?,
            TraceBackend::Tempo(t) => t.fetch(start, end, service, &mut digester).await?,
        };
        let mut report = digester.finish();
        report.notes.insert(0, fetched.describe(&self.origin()));
        Ok(report)
    }

    /// The call graph of `[start, end)`: Jaeger's dependency links, or the pairs the spans
    /// of a sample of Tempo's traces show.
    pub(super) async fn graph(
        &self,
        (start, end): (i64, i64),
    ) -> Result<Vec<(String, String)>, ToolError> {
        match self {
            TraceBackend::Jaeger(j) => j.dependencies(start, end).await,
            TraceBackend::Tempo(t) => {
                let mut digester = Digester::new(None, false);
                t.fetch(start, end, None, &mut digester).await?;
                Ok(digester
                    .finish_graph()
                    .into_iter()
                    .map(|e| (e.caller, e.callee))
                    .collect())
            }
        }
    }
}

/// What a fetch got, for the report's first note.
#[derive(Debug, Default)]
pub(super) struct Fetched {
    pub traces: usize,
    pub searches: usize,
    /// Searches that returned as many traces as they were allowed.
    pub full: usize,
    pub per_search: usize,
    /// The time limit stopped the fetch.
    pub cut: bool,
}

impl Fetched {
    fn describe(&self, origin: &str) -> String {
        let mut text = format!(
            "{} traces fetched from {origin} ({} searches over {SLICES} time slices, at most {} traces each",
            self.traces, self.searches, self.per_search
        );
        if self.full > 0 {
            text.push_str(&format!("; {} of them hit that limit", self.full));
        }
        text.push(')');
        if self.cut {
            text.push_str(
                "; the time limit stopped the fetch, so the rest of the window is missing",
            );
        }
        text
    }
}

/// The call graph of an environment that declares none: what the trace server shows over
/// the last `window` seconds, and a note saying so; a failure is a warning and no graph.
pub(super) async fn derived_graph(
    server: &TraceBackend,
    window: i64,
    warnings: &mut Vec<String>,
) -> (Vec<(String, String)>, Option<Box<str>>) {
    let end = chrono::Utc::now().timestamp();
    match server.graph((end - window, end)).await {
        Ok(edges) if !edges.is_empty() => {
            let note = format!(
                "no graph is declared for this environment: using the {} caller → callee pairs {} shows",
                edges.len(),
                server.origin()
            );
            warnings.push(note.clone());
            (edges, Some(note.into()))
        }
        Ok(_) => {
            warnings.push(format!(
                "no graph is declared and {} shows no calls in the window",
                server.origin()
            ));
            (Vec::new(), None)
        }
        Err(e) => {
            warnings.push(format!(
                "no graph is declared, and none could be derived: {e}"
            ));
            (Vec::new(), None)
        }
    }
}
