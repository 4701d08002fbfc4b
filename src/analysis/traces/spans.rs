//! The span as every reader hands it over, whatever the format: numeric ids, nanosecond
//! times, the service and operation as borrowed text, and the two facts the digest needs
//! from the attributes (is it an error, is it the client side of a call).
//!
//! The rules that decide those facts live here, once, so OTLP and Jaeger agree: an
//! error is an OTLP status code 2 (`STATUS_CODE_ERROR`), a Jaeger `error=true` or
//! `otel.status_code=ERROR` tag, or an HTTP status of 500 or more
//! (`http.status_code`, `http.response.status_code`). Ids are hex; one that is not
//! (base64 from a protobuf-JSON encoder, a made-up string) is hashed, so spans still join.

use rustc_hash::{FxHashMap, FxHasher};
use std::hash::{Hash, Hasher};

/// Which side of a call a span records (OTLP `SpanKind`, Jaeger `span.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    #[default]
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl Kind {
    /// From OTLP's enum number (1 internal … 5 consumer).
    pub(crate) fn from_otlp(n: i64) -> Kind {
        match n {
            2 => Kind::Server,
            3 => Kind::Client,
            4 => Kind::Producer,
            5 => Kind::Consumer,
            _ => Kind::Internal,
        }
    }

    /// From a name: OTLP's `SPAN_KIND_CLIENT` or Jaeger's `client`.
    pub fn from_name(name: &str) -> Kind {
        let name = name.trim_start_matches("SPAN_KIND_");
        match name.to_ascii_lowercase().as_str() {
            "server" => Kind::Server,
            "client" => Kind::Client,
            "producer" => Kind::Producer,
            "consumer" => Kind::Consumer,
            _ => Kind::Internal,
        }
    }

    /// The side that waits for another service: its own time beyond its remote child's
    /// is the network and the queue between them, not its service's work.
    pub(crate) fn waits_on_remote(self) -> bool {
        matches!(self, Kind::Client | Kind::Producer)
    }
}

/// One span, as a reader hands it to the digest.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSpan<'a> {
    pub trace: u128,
    pub id: u64,
    /// The parent span, `None` for a root.
    pub parent: Option<u64>,
    pub service: &'a str,
    pub name: &'a str,
    /// Unix nanoseconds.
    pub start: i64,
    pub end: i64,
    pub kind: Kind,
    pub error: bool,
}

/// Whether an HTTP status attribute says the server failed.
pub(super) fn is_http_status_key(key: &str) -> bool {
    matches!(key, "http.status_code" | "http.response.status_code")
}

pub(super) fn is_server_error_status(code: i64) -> bool {
    code >= 500
}

fn hashed(text: &str, seed: u64) -> u64 {
    let mut h = FxHasher::default();
    seed.hash(&mut h);
    text.hash(&mut h);
    h.finish()
}

/// A trace id: hex (32 or 16 digits), else a hash of the text.
pub(super) fn trace_id(text: &str) -> u128 {
    match u128::from_str_radix(text, 16) {
        Ok(id) if text.len() <= 32 && id != 0 => id,
        _ => (u128::from(hashed(text, 1)) << 64) | u128::from(hashed(text, 2)),
    }
}

/// A span id: hex (16 digits), else a hash of the text; `None` for an empty or all-zero
/// id (how OTLP writes "no parent").
pub(super) fn span_id(text: &str) -> Option<u64> {
    if text.is_empty() || text.bytes().all(|b| b == b'0') {
        return None;
    }
    match u64::from_str_radix(text, 16) {
        Ok(id) if text.len() <= 16 => Some(id),
        _ => Some(hashed(text, 3) | 1),
    }
}

/// Names kept once, referred to by number.
#[derive(Debug, Default)]
pub struct Interner {
    ids: FxHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.into());
        self.ids.insert(name.into(), id);
        id
    }

    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("?", |n| n)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_hex_or_hashed_and_zero_means_none() {
        assert_eq!(
            trace_id("16b75d37381e985b268767e3482c6e80"),
            0x16b75d37381e985b268767e3482c6e80
        );
        assert_eq!(span_id("9a05327408d4fcfb"), Some(0x9a05327408d4fcfb));
        assert_eq!(span_id(""), None);
        assert_eq!(span_id("0000000000000000"), None);
        let b64 = span_id("mgUydAjU/Ps=").unwrap();
        assert_eq!(span_id("mgUydAjU/Ps="), Some(b64));
        assert_ne!(trace_id("a-b"), trace_id("a-c"));
    }

    #[test]
    fn kinds_from_numbers_and_names() {
        assert_eq!(Kind::from_otlp(3), Kind::Client);
        assert_eq!(Kind::from_name("SPAN_KIND_SERVER"), Kind::Server);
        assert_eq!(Kind::from_name("client"), Kind::Client);
        assert!(Kind::Client.waits_on_remote());
        assert!(!Kind::Server.waits_on_remote());
    }
}
