//! The live environment: tools that reach real systems, configured per environment in
//! `config.toml` (`[environments.NAME]`) and chosen with `hunch investigate --env NAME`.
//!
//! Each source is optional. Prometheus and Loki feed the same digest tools the demo uses
//! (`metrics_rank`, `logs_digest`, …, through [`LiveTelemetry`]) and add their own query
//! tools; PostgreSQL, kubectl, the shell and MCP servers are tools of their own. Every
//! tool classifies its risk from its arguments, so the engine's gate stands in front of
//! all of them exactly as it does in the demo.

mod jaeger;
mod kubectl;
pub mod loki;
pub mod mcp;
mod postgres;
pub mod prom_caps;
mod prometheus;
mod shell;
mod tempo;
mod traces;

use super::telemetry::{Telemetry, digest_tools};
use super::{Registry, Tool, ToolError};
use crate::analysis::rank::OnsetWindow;
use crate::bundle::{ChangeEvent, Document, LogLine, MetricTable, load_documents};
use crate::knowledge::KnowledgeBase;
use futures::future::BoxFuture;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// One `[environments.NAME]` table.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentConfig {
    /// Prometheus base URL, e.g. `http://prometheus:9090`.
    pub prometheus: Option<String>,
    /// Loki base URL, e.g. `http://loki:3100`.
    pub loki: Option<String>,
    /// Jaeger query base URL, e.g. `http://jaeger:16686`: traces for `traces_digest`,
    /// and the call graph when `graph` is not given.
    pub jaeger: Option<String>,
    /// Tempo base URL, e.g. `http://tempo:3200` (instead of Jaeger).
    pub tempo: Option<String>,
    /// The kube context every kubectl call uses; without it the environment has no
    /// kubectl tool.
    pub kube_context: Option<String>,
    /// A kubeconfig file (default: kubectl's own, `$KUBECONFIG` or `~/.kube/config`).
    pub kubeconfig: Option<PathBuf>,
    /// The kubectl binary (default `kubectl` on `$PATH`).
    pub kubectl: Option<PathBuf>,
    /// The namespace runbooks mean by `{namespace}` (default `default`).
    pub namespace: Option<String>,
    /// `postgres://user@host:port/db`; without a password in it, hunch asks for one.
    pub postgres: Option<String>,
    /// An environment variable holding the database password, for unattended runs
    /// (`--headless`); without it, and without a password in the URL, hunch asks.
    pub postgres_password_env: Option<String>,
    /// The name the agent uses for that database (default: the database name in the URL).
    pub database_name: Option<String>,
    /// The label that names a series' or stream's service (default `service`).
    pub service_label: Option<String>,
    /// PromQL queries whose series `metrics_rank` ranks (default: every series with the
    /// service label). Give counters as rates: `rate(http_requests_total[2m])`.
    #[serde(default)]
    pub metrics: Vec<String>,
    /// The LogQL selector `logs_digest` reads (default: every stream with the service label).
    pub logs: Option<String>,
    /// How far back the incident window reaches, in minutes (default 60).
    pub window_minutes: Option<u64>,
    /// A directory with `runbooks/` and `incidents/` of Markdown files.
    pub knowledge: Option<PathBuf>,
    /// The call graph: a CSV with a `caller,callee` header and one edge per line (as
    /// `hunch metrics rank --graph` reads it). Symptoms travel from a callee to its
    /// callers, so the agent looks below the alerting service.
    pub graph: Option<PathBuf>,
    /// Seconds before a server request or a command is abandoned (default 30).
    pub timeout_seconds: Option<u64>,
    /// Offer the `shell` tool (default true).
    pub shell: Option<bool>,
    /// MCP servers whose tools the agent may use.
    #[serde(default)]
    pub mcp: Vec<mcp::McpServerConfig>,
}

impl EnvironmentConfig {
    pub fn service_label(&self) -> &str {
        self.service_label.as_deref().unwrap_or("service")
    }
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds.unwrap_or(30).max(1))
    }
    pub(crate) fn window_seconds(&self) -> i64 {
        self.window_minutes.unwrap_or(60).max(1) as i64 * 60
    }
}

/// Why an environment could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum EnvironmentError {
    #[error("environment `{0}`: {1}")]
    Invalid(String, String),
    #[error("environment `{name}`: reading knowledge from {dir}: {message}")]
    Knowledge {
        name: String,
        dir: PathBuf,
        message: String,
    },
}

/// A connected environment: its tools, and what the brain is told about it up front.
/// A clone shares the tools (the runs of `--runs N` act through the same connections).
#[derive(Clone)]
pub struct LiveEnv {
    pub name: String,
    pub namespace: String,
    pub tools: Registry,
    /// (name, kind) of known services: Prometheus' service label values, and the database.
    pub services: Vec<(String, String)>,
    /// The declared call graph, as (caller, callee) edges.
    pub calls: Vec<(String, String)>,
    /// Where `calls` came from when no `graph` was given (derived from traces).
    pub calls_note: Option<Box<str>>,
    /// Problems found while connecting (an unreachable server); the session still starts.
    pub warnings: Vec<String>,
    /// Where the onset may be, once the alert is known ([`LiveEnv::anchor_onset`]).
    onset: Arc<std::sync::OnceLock<OnsetWindow>>,
}

impl LiveEnv {
    /// Bound the onset search of this environment's digests by the alert: not after it
    /// fired (`fired_at`, unix seconds), not long before the time its text gives — as a
    /// bundle's alert does. Set once; later calls change nothing.
    pub fn anchor_onset(&self, alert: &str, fired_at: i64) {
        let _ = self
            .onset
            .set(crate::telemetry::alert_window(alert, fired_at));
    }
}

/// The environment's declared call graph; an unreadable or malformed file is an error
/// naming the file and line.
fn load_graph(
    name: &str,
    config: &EnvironmentConfig,
) -> Result<Vec<(String, String)>, EnvironmentError> {
    let Some(path) = &config.graph else {
        return Ok(Vec::new());
    };
    let invalid = |m: String| EnvironmentError::Invalid(name.to_string(), m);
    let text = std::fs::read_to_string(path)
        .map_err(|e| invalid(format!("graph {}: {e}", path.display())))?;
    crate::analysis::topology::parse_edges(&text).map_err(|e| {
        invalid(format!(
            "graph {}:{}: {}",
            path.display(),
            e.line,
            e.message
        ))
    })
}

/// Whether setting up an environment may reach its systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Ask Prometheus for the service names, start the MCP servers and list their tools.
    Systems,
    /// Reach nothing (`hunch fork --replay-tools`): the tools are built (their risk,
    /// preview and scope are the real ones) but no server is asked anything and no MCP
    /// server is started, so MCP tools are not offered.
    Nothing,
}

/// Build the tools of an environment. Unreachable servers don't stop it: each tool
/// reports its own errors when called, and the warnings say what was found at start.
pub async fn connect(name: &str, config: &EnvironmentConfig) -> Result<LiveEnv, EnvironmentError> {
    connect_with(name, config, Reach::Systems).await
}

/// [`connect`], or with [`Reach::Nothing`] the same tools built without reaching any
/// system.
pub(crate) async fn connect_with(
    name: &str,
    config: &EnvironmentConfig,
    reach: Reach,
) -> Result<LiveEnv, EnvironmentError> {
    connect_learning(name, config, reach, Vec::new()).await
}

/// [`connect_with`], with the past incidents earlier investigations learned searched
/// beside the environment's own (see [`crate::knowledge::learn`]).
pub async fn connect_learning(
    name: &str,
    config: &EnvironmentConfig,
    reach: Reach,
    learned: Vec<Document>,
) -> Result<LiveEnv, EnvironmentError> {
    let invalid = |m: String| EnvironmentError::Invalid(name.to_string(), m);
    let timeout = config.timeout();
    let prometheus = config
        .prometheus
        .as_deref()
        .map(|url| prometheus::PromClient::new(url, timeout))
        .transpose()
        .map_err(|e| invalid(e.to_string()))?
        .map(Arc::new);
    let loki = config
        .loki
        .as_deref()
        .map(|url| loki::LokiClient::new(url, timeout))
        .transpose()
        .map_err(|e| invalid(e.to_string()))?
        .map(Arc::new);
    let knowledge = match &config.knowledge {
        Some(dir) => {
            let load = |sub: &str| -> Result<Vec<Document>, EnvironmentError> {
                load_documents(&dir.join(sub)).map_err(|e| EnvironmentError::Knowledge {
                    name: name.into(),
                    dir: dir.clone(),
                    message: e.to_string(),
                })
            };
            let mut incidents = load("incidents")?;
            incidents.extend(learned);
            KnowledgeBase::new(&load("runbooks")?, &incidents)
        }
        None => KnowledgeBase::new(&[], &learned),
    };
    let mut warnings = Vec::new();
    let trace_server = traces::TraceBackend::of(config)
        .map_err(|e| invalid(e.to_string()))?
        .map(Arc::new);
    let (calls, calls_note) = match (load_graph(name, config)?, &trace_server) {
        (declared, Some(server)) if declared.is_empty() && reach == Reach::Systems => {
            traces::derived_graph(server, config.window_seconds(), &mut warnings).await
        }
        (declared, _) => (declared, None),
    };
    let mut services: Vec<(String, String)> = Vec::new();
    if let Some(prom) = prometheus.as_ref().filter(|_| reach == Reach::Systems) {
        match prom.label_values(config.service_label()).await {
            Ok(values) => services.extend(values.into_iter().map(|v| (v, "app".to_string()))),
            Err(e) => warnings.push(format!("prometheus: {e}")),
        }
    }
    let onset = Arc::new(std::sync::OnceLock::new());
    let telemetry = Arc::new(LiveTelemetry {
        prometheus: prometheus.clone(),
        loki: loki.clone(),
        service_label: config.service_label().to_string(),
        metric_queries: if config.metrics.is_empty() {
            vec![format!("{{{}=~\".+\"}}", config.service_label())]
        } else {
            config.metrics.clone()
        },
        log_selector: config
            .logs
            .clone()
            .unwrap_or_else(|| format!("{{{}=~\".+\"}}", config.service_label())),
        window: config.window_seconds(),
        traces: trace_server,
        onset: onset.clone(),
    });
    let mut tools: Vec<Arc<dyn Tool>> = digest_tools(telemetry, Arc::new(knowledge));
    if let Some(prom) = prometheus {
        tools.push(super::typed(prometheus::PrometheusTool::new(
            prom,
            config.window_seconds(),
        )));
    }
    if let Some(loki) = loki {
        tools.push(super::typed(loki::LokiTool::new(
            loki,
            config.window_seconds(),
            config.service_label(),
        )));
    }
    if let Some(url) = &config.postgres {
        let password = config
            .postgres_password_env
            .as_deref()
            .and_then(|var| std::env::var(var).ok())
            .map(super::Secret::new);
        let db = postgres::Postgres::new(
            url,
            config.database_name.as_deref(),
            password.as_ref(),
            timeout,
        )
        .map_err(|e| invalid(e.to_string()))?;
        services.retain(|(s, _)| s != db.name());
        services.push((db.name().to_string(), "postgres".to_string()));
        tools.push(super::typed(db));
    }
    // kubectl only where the environment names the cluster: without a context it would
    // act on whatever the user's kubeconfig points at.
    if config.kube_context.is_some() {
        tools.push(super::typed(kubectl::Kubectl::new(config, timeout)));
    } else if config.kubeconfig.is_some() || config.kubectl.is_some() {
        warnings
            .push("kubectl is off: set kube_context so every call is pinned to one cluster".into());
    }
    if config.shell.unwrap_or(true) {
        tools.push(super::typed(shell::Shell::new(timeout)));
    }
    for server in config.mcp.iter().filter(|_| reach == Reach::Systems) {
        match mcp::connect(server, timeout).await {
            Ok(found) => tools.extend(found),
            Err(e) => warnings.push(format!("mcp server `{}`: {e}", server.name)),
        }
    }
    if reach == Reach::Nothing {
        warnings.extend(config.mcp.iter().map(|server| {
            format!(
                "mcp server `{}` is not started (nothing is reached with --replay-tools): its tools are not offered",
                server.name
            )
        }));
    }
    Ok(LiveEnv {
        name: name.to_string(),
        namespace: config.namespace.clone().unwrap_or_else(|| "default".into()),
        tools: Registry::new(tools),
        services,
        calls,
        calls_note,
        warnings,
        onset,
    })
}

/// The digest tools' data, fetched from Prometheus and Loki over the incident window
/// ending now.
pub(crate) struct LiveTelemetry {
    prometheus: Option<Arc<prometheus::PromClient>>,
    loki: Option<Arc<loki::LokiClient>>,
    service_label: String,
    metric_queries: Vec<String>,
    log_selector: String,
    window: i64,
    traces: Option<Arc<traces::TraceBackend>>,
    onset: Arc<std::sync::OnceLock<OnsetWindow>>,
}

impl LiveTelemetry {
    fn window(&self) -> (i64, i64) {
        let end = chrono::Utc::now().timestamp();
        (end - self.window, end)
    }

    fn prometheus(&self) -> Result<&prometheus::PromClient, ToolError> {
        self.prometheus.as_deref().ok_or_else(|| {
            ToolError::Failed(
                "no Prometheus in this environment; add `prometheus = \"http://…\"` to it".into(),
            )
        })
    }
}

impl Telemetry for LiveTelemetry {
    fn onset_window(&self) -> Option<OnsetWindow> {
        self.onset.get().copied()
    }
    fn origin(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.prometheus {
            parts.push(format!("prometheus {}", p.base()));
        }
        if let Some(l) = &self.loki {
            parts.push(format!("loki {}", l.base()));
        }
        if let Some(t) = &self.traces {
            parts.push(t.origin());
        }
        if parts.is_empty() {
            "no telemetry configured".into()
        } else {
            parts.join(", ")
        }
    }

    fn metrics(&self) -> BoxFuture<'_, Result<Arc<MetricTable>, ToolError>> {
        Box::pin(async move {
            let prom = self.prometheus()?;
            let (start, end) = self.window();
            let step = prometheus::step_for(end - start);
            let mut answer = prom_caps::RangeAnswer::default();
            for query in &self.metric_queries {
                let read = prom.query_range(query, start, end, step).await?;
                answer.absorb(read, prom.caps());
            }
            let cut = answer.cut_note(prom.caps());
            let mut series = answer.series;
            // Cumulative counters are ranked by their rate, never their level.
            let counters = prometheus::counter_names(prom).await;
            prometheus::counters_as_rates(&mut series, &counters);
            let mut table = prometheus::table_of(&series, &self.service_label);
            table.cut = cut;
            Ok(Arc::new(table))
        })
    }

    fn logs<'a>(
        &'a self,
        service: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<LogLine>, ToolError>> {
        Box::pin(async move { Ok(self.logs_read(service).await?.0) })
    }

    fn logs_read<'a>(
        &'a self,
        service: Option<&'a str>,
    ) -> BoxFuture<'a, Result<super::telemetry::LogsRead, ToolError>> {
        Box::pin(async move {
            let loki = self.loki.as_deref().ok_or_else(|| {
                ToolError::Failed(
                    "no Loki in this environment; add `loki = \"http://…\"` to it".into(),
                )
            })?;
            let (start, end) = self.window();
            let selector = match service {
                Some(s) => format!("{{{}=\"{}\"}}", self.service_label, s.replace('"', "")),
                None => self.log_selector.clone(),
            };
            let pages = loki
                .query_pages(
                    &selector,
                    (start, end),
                    loki::DIGEST_LIMIT,
                    loki::DIGEST_CAP,
                )
                .await?;
            let lines = loki::log_lines(&pages.streams, &self.service_label);
            Ok((lines, pages.cut_note()))
        })
    }

    fn changes(&self) -> BoxFuture<'_, Result<Vec<ChangeEvent>, ToolError>> {
        Box::pin(async move {
            let prom = self.prometheus()?;
            let (start, end) = self.window();
            prometheus::deploys(prom, &self.service_label, start, end).await
        })
    }

    fn has_traces(&self) -> bool {
        self.traces.is_some()
    }

    fn traces<'a>(
        &'a self,
        service: Option<&'a str>,
        onset: Option<i64>,
    ) -> BoxFuture<'a, Result<crate::protocol::digest::TraceReport, ToolError>> {
        Box::pin(async move {
            let server = self.traces.as_deref().ok_or_else(|| {
                ToolError::Failed("no trace server in this environment; add `jaeger = \"http://…\"` or `tempo = \"http://…\"` to it".into())
            })?;
            server.report(self.window(), service, onset).await
        })
    }
}

/// The `[start, end)` of a query in unix seconds, from optional RFC 3339 or unix-second
/// arguments: `end` defaults to now, `start` to `window` seconds before `end`.
pub(crate) fn query_window(
    start: &Option<String>,
    end: &Option<String>,
    window: i64,
) -> Result<(i64, i64), ToolError> {
    let parse = |name: &str, value: &Option<String>, default: i64| match value.as_deref() {
        None => Ok(default),
        Some(s) => s
            .parse::<f64>()
            .ok()
            .map(|v| v as i64)
            .or_else(|| crate::bundle::parse_time(s).map(|t| t.timestamp()))
            .ok_or_else(|| {
                ToolError::InvalidArguments(format!(
                    "`{name}`: `{s}` is neither RFC 3339 nor unix seconds"
                ))
            }),
    };
    let end = parse("end", end, chrono::Utc::now().timestamp())?;
    let start = parse("start", start, end - window)?;
    if start >= end {
        return Err(ToolError::InvalidArguments(
            "`start` must be before `end`".into(),
        ));
    }
    Ok((start, end))
}

/// A reqwest error in words an engineer can act on: which server, what failed, what to check.
pub(crate) fn http_error(
    server: &str,
    base: &str,
    timeout: Duration,
    e: &reqwest::Error,
) -> ToolError {
    let mut chain = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    let advice = if e.is_timeout() {
        format!(
            "no answer within {}s; the server may be overloaded — narrow the query or try again",
            timeout.as_secs()
        )
    } else if e.is_connect() {
        "is it running, and is the URL in the environment right?".to_string()
    } else {
        "check the server's own log".to_string()
    };
    ToolError::Failed(format!("{server} at {base}: {chain} — {advice}"))
}

/// A non-success HTTP answer: the status and the start of the body.
pub(crate) fn status_error(
    server: &str,
    base: &str,
    status: reqwest::StatusCode,
    body: &str,
) -> ToolError {
    let body: String = body.trim().chars().take(400).collect();
    ToolError::Failed(format!("{server} at {base} answered {status}: {body}"))
}
