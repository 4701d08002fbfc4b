//! OTLP/JSON, as the OpenTelemetry Collector's file exporter writes it: one
//! `{"resourceSpans": […]}` export request per line.
//!
//! ```json
//! {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}}]},
//!   "scopeSpans":[{"spans":[{"traceId":"5b8e…","spanId":"eee1…","parentSpanId":"","name":"GET /cart",
//!     "kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000120000000",
//!     "status":{"code":2},"attributes":[{"key":"http.response.status_code","value":{"intValue":"503"}}]}]}]}]}
//! ```
//!
//! The service is the resource's `service.name` (`unknown_service` without one). The
//! OTLP JSON mapping writes 64-bit integers as strings and enums as numbers; numbers,
//! strings and enum names are all accepted. Tempo's answers use the same shapes under
//! `batches` (its v1 API) or `trace.resourceSpans` (v2), so they are read here too.
//! Each line is parsed on its own with borrowed strings, so memory stays at one line.

use super::spans::{Kind, RawSpan, is_http_status_key, is_server_error_status, span_id, trace_id};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::borrow::Cow;
use std::fmt;

#[derive(Deserialize)]
struct Export<'a> {
    #[serde(borrow, default, rename = "resourceSpans", alias = "batches")]
    resource_spans: Vec<ResourceSpans<'a>>,
    /// Tempo's v2 answer wraps the request: `{"trace": {"resourceSpans": …}}`.
    #[serde(borrow, default)]
    trace: Option<Box<Export<'a>>>,
}

#[derive(Deserialize)]
struct ResourceSpans<'a> {
    #[serde(borrow, default)]
    resource: Option<Resource<'a>>,
    #[serde(
        borrow,
        default,
        rename = "scopeSpans",
        alias = "instrumentationLibrarySpans"
    )]
    scope_spans: Vec<ScopeSpans<'a>>,
}

#[derive(Deserialize)]
struct Resource<'a> {
    #[serde(borrow, default)]
    attributes: Vec<KeyValue<'a>>,
}

#[derive(Deserialize)]
struct ScopeSpans<'a> {
    #[serde(borrow, default)]
    spans: Vec<SpanJson<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpanJson<'a> {
    #[serde(borrow, default)]
    trace_id: Cow<'a, str>,
    #[serde(borrow, default)]
    span_id: Cow<'a, str>,
    #[serde(borrow, default)]
    parent_span_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    kind: Option<NumOrName<'a>>,
    #[serde(default)]
    start_time_unix_nano: Int,
    #[serde(default)]
    end_time_unix_nano: Int,
    /// Only the HTTP status is kept of a span's attributes, and nothing is allocated
    /// for the rest.
    #[serde(default)]
    attributes: HttpStatus,
    #[serde(borrow, default)]
    status: Option<Status<'a>>,
}

/// The largest HTTP status among a span's attributes (0 without one), read from the
/// attribute list without keeping it.
#[derive(Default, Clone, Copy)]
struct HttpStatus(i64);

impl<'de> Deserialize<'de> for HttpStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<HttpStatus, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HttpStatus;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of attributes")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<HttpStatus, A::Error> {
                let mut status = 0;
                while let Some(kv) = seq.next_element::<KeyValue<'de>>()? {
                    if is_http_status_key(&kv.key) {
                        status = status.max(kv.value.as_int().unwrap_or(0));
                    }
                }
                Ok(HttpStatus(status))
            }
        }
        d.deserialize_seq(V)
    }
}

#[derive(Deserialize)]
struct Status<'a> {
    #[serde(borrow, default)]
    code: Option<NumOrName<'a>>,
}

#[derive(Deserialize)]
struct KeyValue<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(borrow, default)]
    value: AnyValue<'a>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AnyValue<'a> {
    #[serde(borrow, default)]
    string_value: Option<Cow<'a, str>>,
    #[serde(default)]
    int_value: Option<Int>,
}

impl AnyValue<'_> {
    fn as_int(&self) -> Option<i64> {
        self.int_value
            .map(|i| i.0)
            .or_else(|| self.string_value.as_deref()?.trim().parse().ok())
    }
}

/// A 64-bit integer written as a JSON number or a string.
#[derive(Clone, Copy, Default)]
struct Int(i64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Int, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Int;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer or a string holding one")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int, E> {
                Ok(Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int, E> {
                Ok(Int(v.min(i64::MAX as u64) as i64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Int, E> {
                Ok(Int(v as i64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Int, E> {
                v.trim()
                    .parse()
                    .map(Int)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// An enum written as its number or its name.
enum NumOrName<'a> {
    Num(i64),
    Name(Cow<'a, str>),
}

impl<'de: 'a, 'a> Deserialize<'de> for NumOrName<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<NumOrName<'a>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NumOrName<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an enum number or name")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(NumOrName::Num(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(NumOrName::Num(v as i64))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(NumOrName::Name(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(NumOrName::Name(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

impl SpanJson<'_> {
    fn kind(&self) -> Kind {
        match &self.kind {
            Some(NumOrName::Num(n)) => Kind::from_otlp(*n),
            Some(NumOrName::Name(name)) => Kind::from_name(name),
            None => Kind::Internal,
        }
    }

    fn is_error(&self) -> bool {
        let status = match self.status.as_ref().and_then(|s| s.code.as_ref()) {
            Some(NumOrName::Num(n)) => *n == 2,
            Some(NumOrName::Name(name)) => name.ends_with("ERROR"),
            None => false,
        };
        status || is_server_error_status(self.attributes.0)
    }
}

fn service_of<'a>(resource: &'a Option<Resource<'_>>) -> &'a str {
    resource
        .iter()
        .flat_map(|r| &r.attributes)
        .find(|kv| kv.key == "service.name")
        .and_then(|kv| kv.value.string_value.as_deref())
        .unwrap_or("unknown_service")
}

/// Every span of one OTLP/JSON export request (one line of the file exporter's output,
/// or one Tempo answer), handed to `each`; returns how many spans lacked a trace or span
/// id and were skipped.
pub(super) fn read_request(
    text: &str,
    each: &mut impl FnMut(RawSpan),
) -> Result<u64, serde_json::Error> {
    let export: Export = serde_json::from_str(text)?;
    Ok(walk(&export, each))
}

fn walk(export: &Export, each: &mut impl FnMut(RawSpan)) -> u64 {
    let mut skipped = 0;
    for resource_spans in &export.resource_spans {
        let service = service_of(&resource_spans.resource);
        for span in resource_spans.scope_spans.iter().flat_map(|s| &s.spans) {
            let Some(id) = span_id(&span.span_id) else {
                skipped += 1;
                continue;
            };
            if span.trace_id.is_empty() {
                skipped += 1;
                continue;
            }
            each(RawSpan {
                trace: trace_id(&span.trace_id),
                id,
                parent: span.parent_span_id.as_deref().and_then(span_id),
                service,
                name: &span.name,
                start: span.start_time_unix_nano.0,
                end: span.end_time_unix_nano.0.max(span.start_time_unix_nano.0),
                kind: span.kind(),
                error: span.is_error(),
            });
        }
    }
    if let Some(inner) = &export.trace {
        skipped += walk(inner, each);
    }
    skipped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str) -> Vec<(String, String, Option<u64>, bool, Kind, i64)> {
        let mut out = Vec::new();
        read_request(text, &mut |s| {
            out.push((
                s.service.to_string(),
                s.name.to_string(),
                s.parent,
                s.error,
                s.kind,
                s.end - s.start,
            ))
        })
        .unwrap();
        out
    }

    #[test]
    fn strings_numbers_and_enum_names_are_all_read() {
        let line = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}}]},"scopeSpans":[{"spans":[
            {"traceId":"01","spanId":"0a","parentSpanId":"","name":"GET \"/cart\"","kind":2,"startTimeUnixNano":"1000","endTimeUnixNano":"4000","status":{"code":2}},
            {"traceId":"01","spanId":"0b","parentSpanId":"0a","name":"redis","kind":"SPAN_KIND_CLIENT","startTimeUnixNano":2000,"endTimeUnixNano":3000,
             "attributes":[{"key":"http.response.status_code","value":{"intValue":"503"}},{"key":"x","value":{"arrayValue":{"values":[]}}}]},
            {"traceId":"01","spanId":"0c","parentSpanId":"0a","name":"ok","startTimeUnixNano":"2000","endTimeUnixNano":"2500","status":{"code":"STATUS_CODE_OK"},
             "attributes":[{"key":"http.status_code","value":{"intValue":200}}]}
        ]}]}]}"#;
        let got = spans(line);
        assert_eq!(
            got[0],
            (
                "cart".into(),
                "GET \"/cart\"".into(),
                None,
                true,
                Kind::Server,
                3000
            )
        );
        assert_eq!(got[1].2, Some(0x0a));
        assert!(got[1].3, "a 503 is an error");
        assert_eq!(got[1].4, Kind::Client);
        assert!(!got[2].3);
    }

    #[test]
    fn tempo_batches_and_v2_traces_and_a_missing_service() {
        let v1 = r#"{"batches":[{"resource":{"attributes":[]},"scopeSpans":[{"spans":[{"traceId":"01","spanId":"0a","name":"x","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}"#;
        assert_eq!(spans(v1)[0].0, "unknown_service");
        let v2 = r#"{"trace":{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01","spanId":"0a","name":"x","startTimeUnixNano":"1","endTimeUnixNano":"2"},{"traceId":"","spanId":"0b"}]}]}]}}"#;
        let mut n = 0;
        assert_eq!(read_request(v2, &mut |_| n += 1).unwrap(), 1);
        assert_eq!(n, 1);
    }
}
