//! The trace layer end to end: `hunch traces graph` against an independent reading of
//! real spans (the Nezha TrainTicket bundles, when `../shared` is there), the CLI on the
//! hand-written fixtures, an investigation of a bundle whose graph comes from its spans,
//! and `traces_digest` live against stand-ins of Jaeger's and Tempo's HTTP APIs.

mod common;
#[path = "servers/traces.rs"]
mod trace_servers;

use hunch::protocol::digest::{OnsetSource, TraceReport};
use hunch::tools::live::{EnvironmentConfig, connect};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use trace_servers::{Span, TraceServer};

fn hunch(args: &[&str]) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    common::hunch_in(dir.path(), None, args, b"")
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/traces")
        .join(name)
        .display()
        .to_string()
}

fn nezha() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/nezha-trainticket")
}

/// The caller → callee pairs of an OTLP/JSON lines file, read the plain way: every span
/// of every line into one map, then each child whose parent is in another service.
fn pairs_by_hand(path: &Path) -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut spans: std::collections::HashMap<(String, String), (String, String)> =
        Default::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let request: Value = serde_json::from_str(line).unwrap();
        for resource in request["resourceSpans"].as_array().unwrap() {
            let service = resource["resource"]["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["key"] == "service.name")
                .map(|a| a["value"]["stringValue"].as_str().unwrap().to_string())
                .unwrap();
            for scope in resource["scopeSpans"].as_array().unwrap() {
                for span in scope["spans"].as_array().unwrap() {
                    let trace = span["traceId"].as_str().unwrap().to_string();
                    let id = span["spanId"].as_str().unwrap().to_string();
                    let parent = span["parentSpanId"].as_str().unwrap_or("").to_string();
                    spans.insert((trace, id), (service.clone(), parent));
                }
            }
        }
    }
    spans
        .iter()
        .filter_map(|((trace, _), (service, parent))| {
            let (parent_service, _) = spans.get(&(trace.clone(), parent.clone()))?;
            (parent_service != service).then(|| (parent_service.clone(), service.clone()))
        })
        .collect()
}

fn printed_pairs(csv: &str) -> BTreeSet<(String, String)> {
    let edges = hunch::analysis::topology::parse_edges(csv).expect("the CSV metrics rank reads");
    let set: BTreeSet<(String, String)> = edges.iter().cloned().collect();
    assert_eq!(set.len(), edges.len(), "no pair printed twice");
    set
}

#[test]
fn traces_graph_gives_exactly_the_pairs_the_spans_of_a_real_incident_show() {
    let mut bundles = vec!["tt-dev-07".to_string()];
    // HUNCH_TRACES_ALL=1 checks all ten bundles (60 MB of spans).
    if std::env::var("HUNCH_TRACES_ALL").is_ok_and(|v| v == "1") {
        bundles = (1..=10).map(|n| format!("tt-dev-{n:02}")).collect();
    }
    for bundle in bundles {
        let file = nezha().join(&bundle).join("traces.jsonl");
        if !file.is_file() {
            eprintln!("skipping: {} is not here", file.display());
            return;
        }
        let (ok, out, err) = hunch(&["traces", "graph", file.to_str().unwrap()]);
        assert!(ok, "{err}");
        assert!(out.starts_with("caller,callee\n"), "{out}");
        let expected = pairs_by_hand(&file);
        assert!(expected.len() > 20, "{bundle}: {expected:?}");
        assert_eq!(printed_pairs(&out), expected, "{bundle}");
    }
}

#[test]
fn traces_digest_reads_both_formats_with_a_baseline_an_onset_and_clear_errors() {
    let (ok, out, err) = hunch(&["traces", "digest", &fixture("small.jaeger.json"), "--json"]);
    assert!(ok, "{err}");
    let report: TraceReport = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (report.spans, report.traces, report.graph.len()),
        (11, 2, 3)
    );
    let (ok, out, err) = hunch(&[
        "traces",
        "digest",
        &fixture("small.otlp.jsonl"),
        "--normal",
        &fixture("small.jaeger.json"),
        "--json",
    ]);
    assert!(ok, "{err}");
    let report: TraceReport = serde_json::from_str(&out).unwrap();
    assert_eq!(report.onset_source, OnsetSource::Baseline);
    assert_eq!((report.spans_before, report.spans_after), (11, 11));
    let (ok, out, err) = hunch(&[
        "traces",
        "digest",
        &fixture("small.otlp.jsonl"),
        "--onset",
        "2023-11-14T22:13:20.500Z",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("split at 22:13:20 (given): 6 spans before, 5 after"),
        "{out}"
    );
    assert!(out.contains("critical path of trace"), "{out}");
    let (ok, _, err) = hunch(&[
        "traces",
        "digest",
        &fixture("small.otlp.jsonl"),
        "--onset",
        "soon",
    ]);
    assert!(
        !ok && err.contains("--onset `soon` is neither RFC 3339 nor unix seconds"),
        "{err}"
    );
    let (ok, _, err) = hunch(&["traces", "graph", "/no/such/traces.jsonl"]);
    assert!(!ok && err.contains("/no/such/traces.jsonl"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.jsonl");
    std::fs::write(&broken, "{\"resourceSpans\": [\n{}\n").unwrap();
    let (ok, _, err) = hunch(&["traces", "graph", broken.to_str().unwrap()]);
    assert!(!ok && err.contains("broken.jsonl: line 1, column"), "{err}");
}

/// The demo written as a bundle to a temp dir: (the dir, the bundle in it).
fn demo_bundle() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    let (ok, _, err) = common::hunch_in(
        dir.path(),
        None,
        &["demo", "--write-bundle", bundle.to_str().unwrap()],
        b"",
    );
    assert!(ok, "{err}");
    (dir, bundle)
}

#[test]
fn an_investigation_of_a_bundle_without_a_declared_graph_uses_and_names_the_derived_one() {
    let (dir, bundle) = demo_bundle();
    let incident = std::fs::read_to_string(bundle.join("incident.toml")).unwrap();
    let undeclared: String = incident
        .lines()
        .filter(|l| !l.trim_start().starts_with("calls"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(bundle.join("incident.toml"), undeclared).unwrap();
    std::fs::copy(fixture("small.otlp.jsonl"), bundle.join("traces.jsonl")).unwrap();
    let (_, out, err) = common::hunch_in(
        dir.path(),
        None,
        &[
            "investigate",
            "--bundle",
            bundle.to_str().unwrap(),
            "--headless",
            "--max-steps",
            "2",
        ],
        b"",
    );
    assert!(
        out.contains("no call graph is declared in incident.toml: using the 3 caller → callee pairs the spans in traces.jsonl show"),
        "{out}\n{err}"
    );
}

const SECOND: i64 = 1_000_000_000;

/// Traces of web → api → db over the last 40 minutes, one every 30 s: db's own time
/// goes from 10 to 300 ms for the last 20 minutes.
fn incident_spans() -> Vec<Span> {
    let now = chrono::Utc::now().timestamp() * SECOND;
    let mut spans = Vec::new();
    for n in 0..80u64 {
        let at = now - 40 * 60 * SECOND + n as i64 * 30 * SECOND;
        let slow = n >= 40;
        let db = if slow { 300 } else { 10 } * 1_000_000;
        let ms = 1_000_000;
        let trace = u128::from(n) + 1;
        let span = |id: u64,
                    parent: u64,
                    service: &str,
                    name: &str,
                    client: bool,
                    start: i64,
                    end: i64| Span {
            trace,
            id: n * 10 + id,
            parent: if parent == 0 { 0 } else { n * 10 + parent },
            service: service.into(),
            name: name.into(),
            client,
            start,
            end,
            error: false,
        };
        let db_end = at + 4 * ms + db;
        spans.extend([
            span(1, 0, "web", "GET /", false, at, db_end + 4 * ms),
            span(2, 1, "web", "GET /api", true, at + ms, db_end + 3 * ms),
            span(3, 2, "api", "/api", false, at + 2 * ms, db_end + 2 * ms),
            span(4, 3, "api", "SELECT", true, at + 3 * ms, db_end + ms),
            span(5, 4, "db", "query", false, at + 4 * ms, db_end),
        ]);
    }
    spans
}

fn environment(key: &str, url: &str, timeout: u64) -> EnvironmentConfig {
    let config = format!(
        "{key} = \"{url}\"\nwindow_minutes = 60\ntimeout_seconds = {timeout}\nshell = false\n"
    );
    toml::from_str(&config).unwrap()
}

async fn digest_live(key: &str, server: &TraceServer) {
    let env = connect("traced", &environment(key, &server.url, 10))
        .await
        .unwrap();
    let calls: BTreeSet<(String, String)> = env.calls.iter().cloned().collect();
    let expected: BTreeSet<(String, String)> = [("web", "api"), ("api", "db")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(calls, expected, "{key}: {:?}", env.warnings);
    assert!(
        env.calls_note
            .as_deref()
            .unwrap()
            .contains("caller → callee pairs"),
        "{key}"
    );
    let tool = env
        .tools
        .get("traces_digest")
        .expect("traces_digest is offered")
        .clone();
    let out = tool.run(&json!({}), None).await.unwrap();
    let report: TraceReport = serde_json::from_str(&out.text).unwrap();
    let text = hunch::analysis::traces::render::render(&report);
    assert_eq!(report.traces, 80, "{key}: {:?}", report.notes);
    assert_eq!(report.services[0].service, "db", "{key}: {}", text);
    let (before, after) = (
        report.services[0].self_before.unwrap(),
        report.services[0].self_after.unwrap(),
    );
    assert!(
        after.p50 > 20.0 * before.p50,
        "{key}: {before:?} → {after:?}"
    );
    assert_eq!(report.onset_source, OnsetSource::LatencyShift);
    assert!(
        report.notes[0].starts_with("80 traces fetched from"),
        "{:?}",
        report.notes
    );
    assert!(
        text.contains("db: 40 → 40 calls · own p50 0.01"),
        "{}",
        text
    );
    let only = tool
        .run(&json!({"service": "db", "onset": "0"}), None)
        .await
        .unwrap();
    let report: TraceReport = serde_json::from_str(&only.text).unwrap();
    assert!(
        report
            .graph
            .iter()
            .all(|e| e.callee == "db" || e.caller == "db")
    );
}

#[tokio::test]
async fn jaeger_traces_are_digested_and_give_the_graph() {
    let jaeger = TraceServer::jaeger(incident_spans(), Duration::ZERO).await;
    digest_live("jaeger", &jaeger).await;
}

#[tokio::test]
async fn tempo_traces_are_digested_and_give_the_graph() {
    let tempo = TraceServer::tempo(incident_spans(), Duration::ZERO).await;
    digest_live("tempo", &tempo).await;
    assert!(tempo.requests() <= 3 * (4 + 80), "{}", tempo.requests());
}

#[tokio::test]
async fn a_slow_trace_server_is_cut_at_the_environment_timeout() {
    let jaeger = TraceServer::jaeger(incident_spans(), Duration::from_secs(3)).await;
    let started = std::time::Instant::now();
    let env = connect("slow", &environment("jaeger", &jaeger.url, 1))
        .await
        .unwrap();
    assert!(env.calls.is_empty());
    assert!(
        env.warnings
            .iter()
            .any(|w| w.contains("none could be derived") && w.contains("no answer within 1s")),
        "{:?}",
        env.warnings
    );
    let tool = env.tools.get("traces_digest").unwrap().clone();
    let err = tool.run(&json!({}), None).await.unwrap_err().to_string();
    assert!(
        err.contains("jaeger at") && err.contains("no answer within 1s"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

/// The trace digest in an investigation: the screen's preview is the compact report
/// with the slowest trace's waterfall, and the brains read the typed report whole from
/// the blob store.
#[test]
fn a_trace_result_is_shown_as_a_waterfall_and_read_by_brains_as_its_report() {
    let (dir, bundle) = demo_bundle();
    std::fs::copy(fixture("small.otlp.jsonl"), bundle.join("traces.jsonl")).unwrap();
    let (_, out, err) = common::hunch_in(
        dir.path(),
        None,
        &[
            "investigate",
            "--bundle",
            bundle.to_str().unwrap(),
            "--headless",
            "--json",
            "--max-steps",
            "3",
        ],
        b"",
    );
    let finished = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| {
            e["type"] == "tool_call_finished"
                && e["output"]["digest"]
                    .as_str()
                    .is_some_and(|d| d.contains("spans"))
        })
        .unwrap_or_else(|| panic!("no traces_digest result:\n{out}\n{err}"));
    let output = &finished["output"];
    let preview = output["preview"].as_str().unwrap();
    assert!(preview.contains("critical path of trace"), "{preview}");
    assert!(
        !preview.trim_start().starts_with('{'),
        "people read text, not JSON: {preview}"
    );
    let blob = output["blob"]
        .as_str()
        .expect("the report goes whole to the blob store");
    let stored = hunch::session::BlobStore::new(dir.path().join("data/hunch/blobs"))
        .get(blob)
        .unwrap();
    let report: hunch::protocol::digest::TraceReport = serde_json::from_str(&stored).unwrap();
    assert!(report.spans > 0);
}
