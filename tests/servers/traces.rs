//! Stand-ins for Jaeger's query service and Grafana Tempo, neither of which is packaged
//! here. Each speaks the part of the real HTTP API hunch uses, with the real wire shapes:
//!
//! - Jaeger (`:16686`): `GET /api/services` → `{"data": [names], "total": n}`;
//!   `GET /api/traces?service=&start=&end=&limit=` (microseconds; the most recent traces
//!   first, at most `limit`, default 20; a 400 with Jaeger's error shape without
//!   `service`) → `{"data": [trace], "total": 0, "limit": 0, "offset": 0, "errors": null}`;
//!   `GET /api/dependencies?endTs=&lookback=` (milliseconds) →
//!   `{"data": [{"parent", "child", "callCount"}]}`.
//! - Tempo (`:3200`): `GET /api/search?q={ resource.service.name = "…" }&start=&end=&limit=` (unix
//!   seconds; default limit 20, most recent first) → `{"traces": [{"traceID",
//!   "rootServiceName", "rootTraceName", "startTimeUnixNano", "durationMs"}]}`;
//!   `GET /api/traces/<id>` → `{"batches": [...]}` (OTLP/JSON), 404 `trace not found`.
//!
//! Both are fed the same spans ([`Span`]) and render each format from them. `delay`
//! makes every answer wait, to test that hunch's calls are time-bounded; `requests`
//! counts what was asked.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// One span, format-neutral: times in unix nanoseconds, ids as numbers.
#[derive(Debug, Clone)]
pub struct Span {
    pub trace: u128,
    pub id: u64,
    pub parent: u64,
    pub service: String,
    pub name: String,
    pub client: bool,
    pub start: i64,
    pub end: i64,
    pub error: bool,
}

struct Data {
    traces: BTreeMap<u128, Vec<Span>>,
    delay: Duration,
    requests: AtomicUsize,
}

pub struct TraceServer {
    pub url: String,
    data: Arc<Data>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TraceServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TraceServer {
    pub fn requests(&self) -> usize {
        self.data.requests.load(Ordering::SeqCst)
    }

    async fn serve(router: Router<Arc<Data>>, spans: Vec<Span>, delay: Duration) -> TraceServer {
        let mut traces: BTreeMap<u128, Vec<Span>> = BTreeMap::new();
        for s in spans {
            traces.entry(s.trace).or_default().push(s);
        }
        let data = Arc::new(Data {
            traces,
            delay,
            requests: AtomicUsize::new(0),
        });
        let app = router.with_state(data.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TraceServer { url, data, task }
    }

    pub async fn jaeger(spans: Vec<Span>, delay: Duration) -> TraceServer {
        let router = Router::new()
            .route("/api/services", get(jaeger_services))
            .route("/api/traces", get(jaeger_traces))
            .route("/api/dependencies", get(jaeger_dependencies));
        TraceServer::serve(router, spans, delay).await
    }

    pub async fn tempo(spans: Vec<Span>, delay: Duration) -> TraceServer {
        let router = Router::new()
            .route("/api/search", get(tempo_search))
            .route("/api/traces/{id}", get(tempo_trace));
        TraceServer::serve(router, spans, delay).await
    }
}

async fn arrive(data: &Data) {
    data.requests.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(data.delay).await;
}

fn root(spans: &[Span]) -> &Span {
    spans.iter().find(|s| s.parent == 0).unwrap_or(&spans[0])
}

/// Traces that start in `[start, end)` (ns) and, with `service`, have a span there;
/// the most recent first, at most `limit`.
fn matching<'a>(
    data: &'a Data,
    service: Option<&str>,
    start: i64,
    end: i64,
    limit: usize,
) -> Vec<&'a Vec<Span>> {
    let mut found: Vec<&Vec<Span>> = data
        .traces
        .values()
        .filter(|t| (start..end).contains(&root(t).start))
        .filter(|t| service.is_none_or(|s| t.iter().any(|x| x.service == s)))
        .collect();
    found.sort_by_key(|t| std::cmp::Reverse(root(t).start));
    found.truncate(limit);
    found
}

fn number<T: std::str::FromStr>(q: &HashMap<String, String>, key: &str) -> Option<T> {
    q.get(key).and_then(|v| v.parse().ok())
}

async fn jaeger_services(State(data): State<Arc<Data>>) -> Response {
    arrive(&data).await;
    let names: BTreeSet<&str> = data
        .traces
        .values()
        .flatten()
        .map(|s| s.service.as_str())
        .collect();
    Json(json!({"data": names, "total": names.len(), "limit": 0, "offset": 0, "errors": null}))
        .into_response()
}

struct Json(Value);

impl IntoResponse for Json {
    fn into_response(self) -> Response {
        ([("content-type", "application/json")], self.0.to_string()).into_response()
    }
}

fn jaeger_trace(spans: &[Span]) -> Value {
    let services: BTreeSet<&str> = spans.iter().map(|s| s.service.as_str()).collect();
    let pid = |service: &str| {
        format!(
            "p{}",
            services.iter().position(|s| *s == service).unwrap() + 1
        )
    };
    let trace_id = format!("{:032x}", spans[0].trace);
    json!({
        "traceID": trace_id,
        "spans": spans.iter().map(|s| json!({
            "traceID": trace_id,
            "spanID": format!("{:016x}", s.id),
            "flags": 1,
            "operationName": s.name,
            "references": if s.parent == 0 { json!([]) } else {
                json!([{"refType": "CHILD_OF", "traceID": trace_id, "spanID": format!("{:016x}", s.parent)}])
            },
            "startTime": s.start / 1000,
            "duration": (s.end - s.start) / 1000,
            "tags": [
                {"key": "span.kind", "type": "string", "value": if s.client { "client" } else { "server" }},
                {"key": "error", "type": "bool", "value": s.error},
            ],
            "logs": [],
            "processID": pid(&s.service),
            "warnings": null,
        })).collect::<Vec<_>>(),
        "processes": services.iter().map(|s| (pid(s), json!({"serviceName": s, "tags": []}))).collect::<BTreeMap<_, _>>(),
        "warnings": null,
    })
}

async fn jaeger_traces(
    State(data): State<Arc<Data>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    arrive(&data).await;
    let Some(service) = q.get("service") else {
        let body = json!({"data": null, "total": 0, "limit": 0, "offset": 0,
            "errors": [{"code": 400, "msg": "parameter 'service' is required"}]});
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    };
    let start = number::<i64>(&q, "start").unwrap_or(0) * 1000;
    let end = number::<i64>(&q, "end").unwrap_or(i64::MAX / 1000) * 1000;
    let limit = number(&q, "limit").unwrap_or(20);
    let traces: Vec<Value> = matching(&data, Some(service), start, end, limit)
        .into_iter()
        .map(|t| jaeger_trace(t))
        .collect();
    Json(json!({"data": traces, "total": 0, "limit": 0, "offset": 0, "errors": null}))
        .into_response()
}

async fn jaeger_dependencies(
    State(data): State<Arc<Data>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    arrive(&data).await;
    let end = number::<i64>(&q, "endTs").unwrap_or(i64::MAX / 1_000_000) * 1_000_000;
    let lookback = number::<i64>(&q, "lookback").unwrap_or(86_400_000) * 1_000_000;
    let mut links: BTreeMap<(String, String), u64> = BTreeMap::new();
    for spans in data
        .traces
        .values()
        .filter(|t| (end - lookback..end).contains(&root(t).start))
    {
        for s in spans {
            if let Some(p) = spans
                .iter()
                .find(|p| p.id == s.parent && p.service != s.service)
            {
                *links
                    .entry((p.service.clone(), s.service.clone()))
                    .or_default() += 1;
            }
        }
    }
    let data: Vec<Value> = links
        .into_iter()
        .map(|((parent, child), n)| json!({"parent": parent, "child": child, "callCount": n}))
        .collect();
    Json(json!({"data": data, "total": data.len(), "limit": 0, "offset": 0, "errors": null}))
        .into_response()
}

async fn tempo_search(
    State(data): State<Arc<Data>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    arrive(&data).await;
    // TraceQL, as Tempo takes it: `{}` or `{ resource.service.name = "x" }`; the legacy
    // logfmt `tags` is refused, so a client that still sends it fails here.
    if q.contains_key("tags") || !q.contains_key("q") {
        return (StatusCode::BAD_REQUEST, "this stand-in speaks TraceQL (q=)").into_response();
    }
    let service = q["q"]
        .split_once("resource.service.name = \"")
        .and_then(|(_, rest)| rest.rsplit_once("\" }"))
        .map(|(name, _)| name.replace("\\\"", "\"").replace("\\\\", "\\"));
    let start = number::<i64>(&q, "start").unwrap_or(0) * 1_000_000_000;
    let end = number::<i64>(&q, "end").unwrap_or(i64::MAX / 1_000_000_000) * 1_000_000_000;
    let limit = number(&q, "limit").unwrap_or(20);
    let traces: Vec<Value> = matching(&data, service.as_deref(), start, end, limit)
        .into_iter()
        .map(|t| {
            let r = root(t);
            json!({"traceID": format!("{:032x}", r.trace), "rootServiceName": r.service,
                "rootTraceName": r.name, "startTimeUnixNano": r.start.to_string(),
                "durationMs": (r.end - r.start) / 1_000_000})
        })
        .collect();
    Json(json!({"traces": traces, "metrics": {"inspectedTraces": data.traces.len()}}))
        .into_response()
}

async fn tempo_trace(State(data): State<Arc<Data>>, Path(id): Path<String>) -> Response {
    arrive(&data).await;
    let Some(spans) = u128::from_str_radix(&id, 16)
        .ok()
        .and_then(|id| data.traces.get(&id))
    else {
        return (StatusCode::NOT_FOUND, "trace not found").into_response();
    };
    let mut by_service: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for s in spans {
        by_service.entry(&s.service).or_default().push(json!({
            "traceId": format!("{:032x}", s.trace), "spanId": format!("{:016x}", s.id),
            "parentSpanId": if s.parent == 0 { String::new() } else { format!("{:016x}", s.parent) },
            "name": s.name, "kind": if s.client { "SPAN_KIND_CLIENT" } else { "SPAN_KIND_SERVER" },
            "startTimeUnixNano": s.start.to_string(), "endTimeUnixNano": s.end.to_string(),
            "status": if s.error { json!({"code": "STATUS_CODE_ERROR"}) } else { json!({}) },
        }));
    }
    let batches: Vec<Value> = by_service
        .into_iter()
        .map(|(service, spans)| json!({
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
            "scopeSpans": [{"scope": {"name": "stand-in"}, "spans": spans}],
        }))
        .collect();
    Json(json!({"batches": batches})).into_response()
}
