//! Jaeger's JSON: the UI's "Download JSON" export and the query service's
//! `/api/traces` answer, one shape.
//!
//! ```json
//! {"data": [{"traceID": "5b8e…", "processes": {"p1": {"serviceName": "cart"}},
//!   "spans": [{"traceID": "5b8e…", "spanID": "eee1…", "operationName": "GET /cart",
//!     "references": [{"refType": "CHILD_OF", "spanID": "aaa1…"}],
//!     "startTime": 1700000000000000, "duration": 120000, "processID": "p1",
//!     "tags": [{"key": "error", "type": "bool", "value": true}]}]}]}
//! ```
//!
//! Times are microseconds. The parent is the first `CHILD_OF` reference (else the first
//! `FOLLOWS_FROM`, else an old-style `parentSpanID`). A span is an error with an
//! `error=true` tag, `otel.status_code=ERROR`, or an HTTP status of 500 or more; its side
//! of a call is the `span.kind` tag. The document is parsed whole: Jaeger's exports are
//! per search, not streams.

use super::spans::{Kind, RawSpan, is_http_status_key, is_server_error_status, span_id, trace_id};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(borrow)]
    data: Vec<Trace<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Trace<'a> {
    #[serde(borrow, default, rename = "traceID")]
    trace_id: Cow<'a, str>,
    #[serde(borrow, default)]
    spans: Vec<Span<'a>>,
    #[serde(borrow, default)]
    processes: HashMap<Cow<'a, str>, Process<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Process<'a> {
    #[serde(borrow, default)]
    service_name: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Span<'a> {
    #[serde(borrow, default, rename = "traceID")]
    trace_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "spanID")]
    span_id: Cow<'a, str>,
    #[serde(borrow, default, rename = "parentSpanID")]
    parent_span_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    operation_name: Cow<'a, str>,
    #[serde(borrow, default)]
    references: Vec<Reference<'a>>,
    #[serde(default)]
    start_time: i64,
    #[serde(default)]
    duration: i64,
    #[serde(borrow, default, rename = "processID")]
    process_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    process: Option<Process<'a>>,
    #[serde(borrow, default)]
    tags: Vec<Tag<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reference<'a> {
    #[serde(borrow, default)]
    ref_type: Cow<'a, str>,
    #[serde(borrow, default, rename = "spanID")]
    span_id: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Tag<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(default)]
    value: Value,
}

impl Span<'_> {
    fn parent(&self) -> Option<u64> {
        let by = |kind: &str| self.references.iter().find(|r| r.ref_type == kind);
        by("CHILD_OF")
            .or_else(|| by("FOLLOWS_FROM"))
            .map(|r| r.span_id.as_ref())
            .or(self.parent_span_id.as_deref())
            .and_then(span_id)
    }

    fn tag(&self, key: &str) -> Option<&Value> {
        self.tags.iter().find(|t| t.key == key).map(|t| &t.value)
    }

    fn is_error(&self) -> bool {
        let flag = self
            .tag("error")
            .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true"));
        let status = self
            .tag("otel.status_code")
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("ERROR"));
        let http = self.tags.iter().any(|t| {
            is_http_status_key(&t.key)
                && (t.value.as_i64())
                    .or_else(|| t.value.as_str()?.trim().parse().ok())
                    .is_some_and(is_server_error_status)
        });
        flag || status || http
    }

    fn kind(&self) -> Kind {
        self.tag("span.kind")
            .and_then(Value::as_str)
            .map_or(Kind::Internal, Kind::from_name)
    }
}

/// Every span of a Jaeger JSON document, handed to `each`; returns how many spans lacked
/// a span id and were skipped.
pub(super) fn read_document(
    text: &str,
    each: &mut impl FnMut(RawSpan),
) -> Result<u64, serde_json::Error> {
    let document: Document = serde_json::from_str(text)?;
    let mut skipped = 0;
    for trace in &document.data {
        for span in &trace.spans {
            let Some(id) = span_id(&span.span_id) else {
                skipped += 1;
                continue;
            };
            let service = span
                .process
                .as_ref()
                .or_else(|| trace.processes.get(span.process_id.as_deref()?))
                .map_or("unknown_service", |p| p.service_name.as_ref());
            let start = span.start_time.saturating_mul(1000);
            each(RawSpan {
                trace: trace_id(span.trace_id.as_deref().unwrap_or(&trace.trace_id)),
                id,
                parent: span.parent(),
                service,
                name: &span.operation_name,
                start,
                end: start.saturating_add(span.duration.max(0).saturating_mul(1000)),
                kind: span.kind(),
                error: span.is_error(),
            });
        }
    }
    Ok(skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_references_and_error_tags() {
        let doc = r#"{"data":[{"traceID":"00000000000000aa","processes":{"p1":{"serviceName":"web"},"p2":{"serviceName":"db"}},
          "spans":[
            {"traceID":"00000000000000aa","spanID":"01","operationName":"GET /","references":[],"startTime":1000,"duration":500,"processID":"p1","tags":[{"key":"span.kind","type":"string","value":"server"}]},
            {"traceID":"00000000000000aa","spanID":"02","operationName":"query","references":[{"refType":"CHILD_OF","traceID":"00000000000000aa","spanID":"01"}],"startTime":1100,"duration":300,"processID":"p2",
             "tags":[{"key":"error","type":"bool","value":true}]},
            {"traceID":"00000000000000aa","spanID":"03","operationName":"q2","references":[{"refType":"CHILD_OF","spanID":"01"}],"startTime":1100,"duration":10,"processID":"p2",
             "tags":[{"key":"otel.status_code","type":"string","value":"ERROR"}]},
            {"traceID":"00000000000000aa","spanID":"04","operationName":"q3","references":[{"refType":"CHILD_OF","spanID":"01"}],"startTime":1100,"duration":10,"processID":"p2",
             "tags":[{"key":"http.status_code","type":"int64","value":404}]}
          ]}]}"#;
        let mut got = Vec::new();
        read_document(doc, &mut |s| {
            got.push((
                s.service.to_string(),
                s.parent,
                s.error,
                s.kind,
                s.start,
                s.end,
            ))
        })
        .unwrap();
        assert_eq!(
            got[0],
            (
                "web".into(),
                None,
                false,
                Kind::Server,
                1_000_000,
                1_500_000
            )
        );
        assert_eq!(got[1].0, "db");
        assert_eq!(got[1].1, Some(1));
        assert!(got[1].2 && got[2].2 && !got[3].2);
    }
}
