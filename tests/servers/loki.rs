//! A stand-in for Grafana Loki, which has no Debian package (Debian's `loki` is a
//! genetics program). It speaks the parts of Loki's HTTP API hunch uses, with Loki's
//! wire format: `POST /loki/api/v1/push` (JSON streams, nanosecond timestamps as
//! strings, 204), `GET /loki/api/v1/query_range` (`query`, `start`, `end` in
//! nanoseconds, `limit` default 100, `direction` default backward; a `streams` result),
//! and a plain-text 400 for LogQL it cannot parse, worded like Loki's parser errors.
//! LogQL here is a stream selector with `=`, `!=`, `=~`, `!~` matchers followed by
//! line filters `|=`, `!=`, `|~`, `!~`.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use regex::Regex;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

type Labels = BTreeMap<String, String>;
/// A stream's labels and its (nanosecond timestamp, line) entries.
pub type Stream = (Labels, Vec<(i128, String)>);

#[derive(Default)]
struct Store {
    streams: HashMap<Labels, Vec<(i128, String)>>,
}

pub struct Loki {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Loki {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Loki {
    pub async fn start() -> Loki {
        let store = Arc::new(Mutex::new(Store::default()));
        let app = Router::new()
            .route("/loki/api/v1/push", post(push))
            .route("/loki/api/v1/query_range", get(query_range))
            .route("/ready", get(|| async { "ready" }))
            .with_state(store);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Loki { url, task }
    }

    /// Push lines the way promtail does: one request, JSON streams.
    pub async fn push(&self, streams: &[Stream]) {
        let body = json!({
            "streams": streams.iter().map(|(labels, values)| json!({
                "stream": labels,
                "values": values.iter().map(|(ns, line)| json!([ns.to_string(), line])).collect::<Vec<_>>(),
            })).collect::<Vec<_>>()
        });
        let _ = rustls::crypto::ring::default_provider().install_default();
        let response = reqwest::Client::new()
            .post(format!("{}/loki/api/v1/push", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }
}

async fn push(State(store): State<Arc<Mutex<Store>>>, body: String) -> Response {
    let Ok(value) = serde_json::from_str::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "error parsing push request\n").into_response();
    };
    let mut store = store.lock().unwrap();
    for stream in value["streams"].as_array().into_iter().flatten() {
        let labels: Labels = stream["stream"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        let entries = store.streams.entry(labels).or_default();
        for v in stream["values"].as_array().into_iter().flatten() {
            let (Some(ns), Some(line)) =
                (v[0].as_str().and_then(|s| s.parse().ok()), v[1].as_str())
            else {
                return (
                    StatusCode::BAD_REQUEST,
                    "error parsing push request: bad entry\n",
                )
                    .into_response();
            };
            entries.push((ns, line.to_string()));
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

enum Matcher {
    Eq(String, String),
    Ne(String, String),
    Re(String, Regex),
    NotRe(String, Regex),
}

enum LineFilter {
    Contains(String),
    NotContains(String),
    Re(Regex),
    NotRe(Regex),
}

fn parse_error(col: usize, what: &str) -> String {
    format!("parse error at line 1, col {col}: syntax error: {what}")
}

/// Parse the supported LogQL; errors are worded like Loki's.
fn parse(query: &str) -> Result<(Vec<Matcher>, Vec<LineFilter>), String> {
    let s = query.trim();
    let bytes = s.as_bytes();
    let mut i = 0;
    let skip = |i: &mut usize| {
        while *i < bytes.len() && bytes[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    let string = |i: &mut usize| -> Result<String, String> {
        if bytes.get(*i) != Some(&b'"') {
            return Err(parse_error(*i + 1, "unexpected token, expecting STRING"));
        }
        let start = *i + 1;
        let end = s[start..]
            .find('"')
            .ok_or_else(|| parse_error(*i + 1, "unterminated string"))?;
        *i = start + end + 1;
        Ok(s[start..start + end].to_string())
    };
    skip(&mut i);
    if bytes.get(i) != Some(&b'{') {
        return Err(parse_error(i + 1, "unexpected IDENTIFIER, expecting {"));
    }
    i += 1;
    let mut matchers = Vec::new();
    loop {
        skip(&mut i);
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        let name = s[start..i].to_string();
        if name.is_empty() {
            return Err(parse_error(i + 1, "unexpected token, expecting IDENTIFIER"));
        }
        skip(&mut i);
        let op = ["=~", "!~", "!=", "="]
            .into_iter()
            .find(|op| s[i..].starts_with(op))
            .ok_or_else(|| parse_error(i + 1, "unexpected token, expecting = or != or =~ or !~"))?;
        i += op.len();
        skip(&mut i);
        let value = string(&mut i)?;
        let regex = || {
            Regex::new(&format!("^(?:{value})$"))
                .map_err(|e| parse_error(start + 1, &format!("invalid regex: {e}")))
        };
        matchers.push(match op {
            "=" => Matcher::Eq(name, value.clone()),
            "!=" => Matcher::Ne(name, value.clone()),
            "=~" => Matcher::Re(name, regex()?),
            _ => Matcher::NotRe(name, regex()?),
        });
        skip(&mut i);
        match bytes.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => {
                i += 1;
                break;
            }
            _ => return Err(parse_error(i + 1, "unexpected token, expecting , or }")),
        }
    }
    let mut filters = Vec::new();
    loop {
        skip(&mut i);
        if i >= bytes.len() {
            break;
        }
        let op = ["|=", "!=", "|~", "!~"]
            .into_iter()
            .find(|op| s[i..].starts_with(op))
            .ok_or_else(|| parse_error(i + 1, "unexpected IDENTIFIER"))?;
        i += 2;
        skip(&mut i);
        let value = string(&mut i)?;
        let regex =
            || Regex::new(&value).map_err(|e| parse_error(i, &format!("invalid regex: {e}")));
        filters.push(match op {
            "|=" => LineFilter::Contains(value.clone()),
            "!=" => LineFilter::NotContains(value.clone()),
            "|~" => LineFilter::Re(regex()?),
            _ => LineFilter::NotRe(regex()?),
        });
    }
    let selective = matchers.iter().any(|m| match m {
        Matcher::Eq(_, v) => !v.is_empty(),
        Matcher::Re(_, r) => !r.is_match(""),
        _ => false,
    });
    if !selective {
        return Err("queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will".into());
    }
    Ok((matchers, filters))
}

fn matches(labels: &Labels, matchers: &[Matcher]) -> bool {
    matchers.iter().all(|m| {
        let get = |k: &str| labels.get(k).map(String::as_str).unwrap_or("");
        match m {
            Matcher::Eq(k, v) => get(k) == v,
            Matcher::Ne(k, v) => get(k) != v,
            Matcher::Re(k, r) => r.is_match(get(k)),
            Matcher::NotRe(k, r) => !r.is_match(get(k)),
        }
    })
}

fn keeps(line: &str, filters: &[LineFilter]) -> bool {
    filters.iter().all(|f| match f {
        LineFilter::Contains(s) => line.contains(s.as_str()),
        LineFilter::NotContains(s) => !line.contains(s.as_str()),
        LineFilter::Re(r) => r.is_match(line),
        LineFilter::NotRe(r) => !r.is_match(line),
    })
}

async fn query_range(
    State(store): State<Arc<Mutex<Store>>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(query) = params.get("query") else {
        return (StatusCode::BAD_REQUEST, "query parameter is required\n").into_response();
    };
    let (matchers, filters) = match parse(query) {
        Ok(parsed) => parsed,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    };
    let number = |name: &str, default: i128| -> Result<i128, String> {
        match params.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("invalid {name}: {v}\n")),
        }
    };
    let (start, end, limit) = match (
        number("start", 0),
        number("end", i128::MAX),
        number("limit", 100),
    ) {
        (Ok(s), Ok(e), Ok(l)) => (s, e, l.max(0) as usize),
        (Err(e), ..) | (_, Err(e), _) | (_, _, Err(e)) => {
            return (StatusCode::BAD_REQUEST, e).into_response();
        }
    };
    let forward = params.get("direction").is_some_and(|d| d == "forward");
    let store = store.lock().unwrap();
    // Loki applies the limit across streams, in the requested direction.
    let mut hits: Vec<(i128, &Labels, &str)> = store
        .streams
        .iter()
        .filter(|(labels, _)| matches(labels, &matchers))
        .flat_map(|(labels, entries)| {
            entries
                .iter()
                .filter(|(ns, line)| *ns >= start && *ns < end && keeps(line, &filters))
                .map(move |(ns, line)| (*ns, labels, line.as_str()))
        })
        .collect();
    hits.sort_by_key(|h| h.0);
    if !forward {
        hits.reverse();
    }
    hits.truncate(limit);
    let mut streams: BTreeMap<&Labels, Vec<Value>> = BTreeMap::new();
    for (ns, labels, line) in hits {
        streams
            .entry(labels)
            .or_default()
            .push(json!([ns.to_string(), line]));
    }
    let result: Vec<Value> = streams
        .into_iter()
        .map(|(labels, values)| json!({"stream": labels, "values": values}))
        .collect();
    axum::Json(json!({
        "status": "success",
        "data": {"resultType": "streams", "result": result, "stats": {}}
    }))
    .into_response()
}
