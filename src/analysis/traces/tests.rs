//! The trace digest on hand-written fixtures (`tests/fixtures/traces/`) and on small
//! generated incidents whose answer is known: a slower service, a slower network, a
//! call that starts failing, one that vanishes.

use super::*;
use crate::protocol::digest::{SpanChangeKind, TraceReport};
use serde_json::{Value, json};

const OTLP: &str = include_str!("../../../tests/fixtures/traces/small.otlp.jsonl");
const JAEGER: &str = include_str!("../../../tests/fixtures/traces/small.jaeger.json");

fn digest(format: TraceFormat, text: &str, onset: Option<i64>) -> TraceReport {
    let mut d = Digester::new(onset, false);
    feed(&mut d, format, text).unwrap();
    d.finish()
}

fn pairs(report: &TraceReport) -> Vec<(String, String, u64)> {
    let mut out: Vec<_> = report
        .graph
        .iter()
        .map(|e| (e.caller.clone(), e.callee.clone(), e.calls))
        .collect();
    out.sort();
    out
}

fn edge<'a>(report: &'a TraceReport, caller: &str, callee: &str) -> &'a EdgeStatRef {
    report
        .edges
        .iter()
        .find(|e| e.caller == caller && e.callee == callee)
        .unwrap_or_else(|| panic!("no edge {caller} → {callee} in {:?}", report.edges))
}

type EdgeStatRef = crate::protocol::digest::EdgeStat;

#[test]
fn spans_spread_over_lines_are_joined_into_the_call_graph() {
    let report = digest(TraceFormat::Otlp, OTLP, None);
    let expected = vec![
        ("checkout".to_string(), "payments".to_string(), 1),
        ("web".into(), "checkout".into(), 2),
        ("web".into(), "reco".into(), 1),
    ];
    assert_eq!(pairs(&report), expected);
    assert_eq!((report.spans, report.traces, report.orphans), (11, 2, 0));
    let jaeger = digest(TraceFormat::Jaeger, JAEGER, None);
    assert_eq!(pairs(&jaeger), expected);
    assert_eq!((jaeger.spans, jaeger.traces), (11, 2));
}

#[test]
fn both_formats_agree_on_errors_waits_own_time_and_the_critical_path() {
    for (format, text) in [(TraceFormat::Otlp, OTLP), (TraceFormat::Jaeger, JAEGER)] {
        // Everything after an onset before the first span: one side, exact numbers.
        let report = digest(format, text, Some(1));
        let reco = edge(&report, "web", "reco");
        assert_eq!((reco.calls_after, reco.errors_after), (1, 1), "{format:?}");
        let checkout = edge(&report, "web", "checkout");
        assert_eq!((checkout.calls_after, checkout.errors_after), (2, 1));
        let pay = edge(&report, "checkout", "payments");
        let latency = pay.latency_after.unwrap();
        assert!((latency.p50 - 0.056).abs() < 0.002, "{latency:?}");
        assert!((pay.wait_after.unwrap().p50 - 0.004).abs() < 0.0002);
        let own = |name: &str| {
            report
                .services
                .iter()
                .find(|s| s.service == name)
                .unwrap()
                .self_after
                .unwrap()
        };
        // payments: 16 ms of its own span and 40 of its database call; checkout 16 of
        // its 76, the rest waiting on payments.
        assert!((own("payments").p50 - 0.056).abs() < 0.002);
        assert!((own("checkout").p50 - 0.016).abs() < 0.001);
        let path = &report.critical_paths[0];
        assert!((path.duration - 0.1).abs() < 1e-9, "{path:?}");
        let ids: Vec<&str> = path.steps.iter().map(|s| s.service.as_str()).collect();
        assert_eq!(
            ids,
            ["web", "web", "checkout", "checkout", "payments", "payments"]
        );
        let on_path: f64 = path.steps.iter().map(|s| s.on_path).sum();
        assert!((on_path - 0.1).abs() < 1e-6);
        assert_eq!(path.by_service[0].0, "payments");
        assert!((path.by_service[0].1 - 0.056).abs() < 1e-6);
        assert!(
            path.by_service
                .iter()
                .any(|(who, _)| who == "web → checkout (wait)")
        );
    }
}

/// A generated incident: 120 traces, one every 5 s, of web → api → db (client and
/// server spans, each service's spans on its own line per batch), with `after` applied
/// to the traces at or after 300 s.
struct Scenario {
    /// Extra milliseconds in db's own span after the onset.
    db_slower: i64,
    /// Extra milliseconds between api's client span and db's server span.
    network: i64,
    /// api's `charge` call fails after the onset.
    failing: bool,
    /// web's call to `reco` stops after the onset.
    vanishing: bool,
}

const T0: i64 = 1_700_000_000_000_000_000;
const ONSET_S: i64 = 300;

#[allow(clippy::too_many_arguments)]
fn otlp_span(
    t: u64,
    id: u64,
    parent: u64,
    name: &str,
    kind: i64,
    s: i64,
    e: i64,
    err: bool,
) -> Value {
    let mut span = json!({
        "traceId": format!("{t:032x}"), "spanId": format!("{id:016x}"),
        "parentSpanId": if parent == 0 { String::new() } else { format!("{parent:016x}") },
        "name": name, "kind": kind,
        "startTimeUnixNano": (T0 + s * 1_000_000).to_string(),
        "endTimeUnixNano": (T0 + e * 1_000_000).to_string(),
    });
    if err {
        span["status"] = json!({"code": 2});
    }
    span
}

fn request(service: &str, spans: Vec<Value>) -> String {
    json!({"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"spans": spans}]}]})
    .to_string()
}

impl Scenario {
    fn quiet() -> Scenario {
        Scenario {
            db_slower: 0,
            network: 0,
            failing: false,
            vanishing: false,
        }
    }

    /// The OTLP lines: one line per service per batch of 10 traces.
    fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for batch in 0..12u64 {
            let (mut web, mut api, mut db, mut reco) = (vec![], vec![], vec![], vec![]);
            for k in 0..10u64 {
                let n = batch * 10 + k;
                let (t, at) = (n + 1, n as i64 * 5000);
                let after = at >= ONSET_S * 1000;
                let jitter = (n % 7) as i64;
                let db_ms = 10 + jitter + if after { self.db_slower } else { 0 };
                let net = 1 + if after { self.network } else { 0 };
                let fail = after && self.failing;
                let id = |k: u64| n * 100 + k;
                let (api_start, db_start) = (at + 5, at + 10);
                let db_end = db_start + 2 * net + db_ms;
                let api_end = db_end + 5;
                web.push(otlp_span(t, id(1), 0, "GET /", 2, at, api_end + 3, fail));
                web.push(otlp_span(
                    t,
                    id(2),
                    id(1),
                    "POST /charge",
                    3,
                    api_start,
                    api_end,
                    fail,
                ));
                api.push(otlp_span(
                    t,
                    id(3),
                    id(2),
                    "charge",
                    2,
                    api_start + 1,
                    api_end - 1,
                    fail,
                ));
                api.push(otlp_span(
                    t,
                    id(4),
                    id(3),
                    "SELECT",
                    3,
                    db_start,
                    db_end,
                    false,
                ));
                db.push(otlp_span(
                    t,
                    id(5),
                    id(4),
                    "query",
                    2,
                    db_start + net,
                    db_end - net,
                    false,
                ));
                if !(after && self.vanishing) {
                    web.push(otlp_span(
                        t,
                        id(6),
                        id(1),
                        "GET /reco",
                        3,
                        at + 1,
                        at + 4,
                        false,
                    ));
                    reco.push(otlp_span(
                        t,
                        id(7),
                        id(6),
                        "recommend",
                        2,
                        at + 2,
                        at + 3,
                        false,
                    ));
                }
            }
            // Callees' batches come first: their spans end first.
            lines.extend([
                request("db", db),
                request("api", api),
                request("reco", reco),
                request("web", web),
            ]);
        }
        lines
    }

    fn report(&self, onset: Option<i64>) -> TraceReport {
        digest(TraceFormat::Otlp, &self.lines().join("\n"), onset)
    }
}

fn onset() -> Option<i64> {
    Some(T0 + ONSET_S * 1_000_000_000)
}

#[test]
fn a_slower_callee_is_blamed_on_itself_not_on_its_callers() {
    let report = Scenario {
        db_slower: 200,
        ..Scenario::quiet()
    }
    .report(onset());
    assert_eq!(report.services[0].service, "db", "{:#?}", report.services);
    let own = |name: &str| report.services.iter().find(|s| s.service == name).unwrap();
    let (b, a) = (
        own("db").self_before.unwrap(),
        own("db").self_after.unwrap(),
    );
    assert!(a.p50 > 10.0 * b.p50, "{b:?} {a:?}");
    let (b, a) = (
        own("api").self_before.unwrap(),
        own("api").self_after.unwrap(),
    );
    assert!(
        (a.p50 / b.p50 - 1.0).abs() < 0.2,
        "api's own time stayed: {b:?} {a:?}"
    );
    let top = &report.edges[0];
    assert_eq!((top.caller.as_str(), top.callee.as_str()), ("api", "db"));
    let path = &report.critical_paths[0];
    assert_eq!(path.by_service[0].0, "db");
    let text = render::render(&report);
    assert!(text.contains("db: 60 → 60 calls · own p50 0.01"), "{text}");
}

#[test]
fn a_slower_network_shows_as_the_callers_wait_with_no_slower_callee() {
    let report = Scenario {
        network: 150,
        ..Scenario::quiet()
    }
    .report(onset());
    let db = edge(&report, "api", "db");
    let (b, a) = (db.wait_before.unwrap(), db.wait_after.unwrap());
    assert!(a.p50 > 100.0 * b.p50 / 2.0, "{b:?} {a:?}");
    let (lb, la) = (db.latency_before.unwrap(), db.latency_after.unwrap());
    assert!(
        (la.p50 / lb.p50 - 1.0).abs() < 0.3,
        "db itself did not slow: {lb:?} {la:?}"
    );
    for s in &report.services {
        let (b, a) = (s.self_before.unwrap(), s.self_after.unwrap());
        assert!(
            (a.p90 / b.p90) < 1.5,
            "{}'s own time stayed: {b:?} {a:?}",
            s.service
        );
    }
    assert_eq!(report.critical_paths[0].by_service[0].0, "api → db (wait)");
}

#[test]
fn calls_that_start_failing_or_vanish_are_listed() {
    let report = Scenario {
        failing: true,
        vanishing: true,
        ..Scenario::quiet()
    }
    .report(onset());
    let found = |kind: SpanChangeKind, service: &str, op: &str| {
        report
            .changes
            .iter()
            .any(|c| c.change == kind && c.service == service && c.operation == op)
    };
    assert!(
        found(SpanChangeKind::StartedFailing, "api", "charge"),
        "{:#?}",
        report.changes
    );
    assert!(found(SpanChangeKind::Vanished, "reco", "recommend"));
    assert!(found(SpanChangeKind::Vanished, "web", "GET /reco"));
    let text = render::render(&report);
    assert!(
        text.contains("started failing: api charge · errors 0/60 (0%) → 60/60 (100%)"),
        "{text}"
    );
    assert!(
        text.contains("vanished: reco recommend: 60 calls before, none after"),
        "{text}"
    );
}

#[test]
fn without_an_onset_the_split_is_where_latency_shifted() {
    let report = Scenario {
        db_slower: 200,
        ..Scenario::quiet()
    }
    .report(None);
    assert_eq!(report.onset_source, OnsetSource::LatencyShift);
    let at = chrono::DateTime::parse_from_rfc3339(report.onset.as_deref().unwrap()).unwrap();
    let found = at.timestamp() - T0 / 1_000_000_000;
    assert!(
        (ONSET_S - 5..=ONSET_S).contains(&found),
        "split at {found} s"
    );
    assert!(report.spans_before > 0 && report.spans_after > 0);
    let quiet = Scenario::quiet().report(None);
    assert!(
        quiet.onset_source == OnsetSource::None || !quiet.notes.is_empty(),
        "{:?} {:?}",
        quiet.onset_source,
        quiet.notes
    );
}

#[test]
fn a_baseline_file_is_before_and_the_service_filter_keeps_its_neighbourhood() {
    let lines = Scenario {
        db_slower: 100,
        ..Scenario::quiet()
    }
    .lines();
    let (normal, incident) = lines.split_at(24);
    let mut d = Digester::new(None, true);
    d.set_baseline(true);
    normal.iter().try_for_each(|l| d.otlp_line(l)).unwrap();
    d.set_baseline(false);
    incident.iter().try_for_each(|l| d.otlp_line(l)).unwrap();
    let mut report = d.finish();
    assert_eq!(report.onset_source, OnsetSource::Baseline);
    assert_eq!(report.spans_before, 60 * 7);
    report::filter(&mut report, "db");
    assert!(
        report
            .edges
            .iter()
            .all(|e| e.callee == "db" || e.caller == "db")
    );
    let kept: Vec<&str> = report.services.iter().map(|s| s.service.as_str()).collect();
    assert!(kept.contains(&"db") && kept.contains(&"api") && !kept.contains(&"reco"));
}

#[test]
fn finished_traces_are_dropped_as_the_stream_moves_on() {
    let mut d = Digester::new(None, false);
    let mut peak = 0;
    // One trace a second for over five hours, spans of one trace on two lines.
    for n in 0..20_000u64 {
        let at = n as i64 * 1000;
        let t = n + 1;
        d.otlp_line(&request(
            "api",
            vec![otlp_span(t, 2, 1, "q", 2, at + 1, at + 5, false)],
        ))
        .unwrap();
        d.otlp_line(&request(
            "web",
            vec![otlp_span(t, 1, 0, "GET /", 2, at, at + 6, false)],
        ))
        .unwrap();
        peak = peak.max(d.open_spans());
    }
    assert!(peak <= SWEEP_EVERY + 2 * 130, "{peak}");
    let report = d.finish();
    assert_eq!(report.traces, 20_000);
    assert_eq!(report.graph[0].calls, 20_000);
    assert_eq!(report.orphans, 0);
}

#[test]
fn a_torn_last_line_is_noted_and_a_torn_middle_line_is_an_error() {
    let torn = format!("{OTLP}{{\"resourceSpans\":[{{\"reso");
    let report = digest(TraceFormat::Otlp, &torn, None);
    assert_eq!(report.spans, 11);
    assert!(report.notes[0].contains("line 4"), "{:?}", report.notes);
    let mut d = Digester::new(None, false);
    let middle = format!("{{\"resourceSpans\":[\n{OTLP}");
    let err = feed(&mut d, TraceFormat::Otlp, &middle).unwrap_err();
    assert!(err.to_string().starts_with("line 1, column"), "{err}");
    let err = Digester::new(None, false)
        .jaeger_document("{\"data\": [}")
        .unwrap_err();
    assert!(err.to_string().starts_with("line 1, column 11"), "{err}");
}
