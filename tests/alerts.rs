//! Alerts as they arrive: each format read from a payload shaped as its vendor documents
//! it (tests/fixtures/alerts/), and an investigation started from one through the real
//! binary, whose record carries the alert's labels, start and runbook, and whose onset
//! search the alert's start bounds.

mod common;

use hunch::alert::{self, Format, Status};

fn payload(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/alerts/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

#[test]
fn an_alertmanager_webhook_is_read_with_every_alert_and_its_status() {
    let alerts = alert::parse(&payload("alertmanager")).unwrap();
    assert_eq!(alerts.len(), 3);
    assert!(alerts.iter().all(|a| a.format == Format::Alertmanager));
    assert_eq!(alerts[1].status, Status::Resolved);
    let first = alert::pick(&alerts, None).unwrap();
    assert_eq!(first.name, "CheckoutLatencyHigh");
    assert_eq!(first.service(), Some("checkout"));
    assert_eq!(first.labels["severity"], "page");
    assert_eq!(first.starts_at, Some(at("2026-11-24T02:10:00.123Z")));
    assert_eq!(first.ends_at, None, "Go's zero time is no end");
    assert_eq!(
        first.runbook_url.as_deref(),
        Some("https://runbooks.example.com/checkout-latency")
    );
    // The second firing alert, skipping the resolved one.
    let second = alert::pick(&alerts, Some(1)).unwrap();
    assert_eq!(second.name, "PaymentsErrorRate");
    let error = alert::pick(&alerts, Some(2)).unwrap_err().to_string();
    assert!(error.contains("2 firing alerts"), "{error}");
    let brief = first.brief();
    for part in [
        "checkout p99 latency above 2s",
        "namespace=shop",
        "severity=page",
        "since 02:10:00 UTC",
        "runbook https://runbooks.example.com/checkout-latency",
    ] {
        assert!(brief.contains(part), "{part} in {brief}");
    }
}

#[test]
fn a_prometheus_alerts_answer_is_read_with_its_offset_times_in_utc() {
    let alerts = alert::parse(&payload("prometheus")).unwrap();
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0].format, Format::Prometheus);
    assert_eq!(
        alerts[0].starts_at,
        Some(at("2026-11-24T02:10:00.60602144Z"))
    );
    assert_eq!(alerts[0].service(), Some("checkout"));
    assert_eq!(alerts[1].name, "Watchdog");
}

#[test]
fn a_pagerduty_v3_webhook_is_one_incident_with_its_service() {
    let alerts = alert::parse(&payload("pagerduty")).unwrap();
    assert_eq!(alerts.len(), 1);
    let page = &alerts[0];
    assert_eq!(page.format, Format::PagerDuty);
    assert_eq!(page.status, Status::Firing);
    assert_eq!(page.name, "checkout p99 latency above 2s");
    assert_eq!(page.service(), Some("Checkout"));
    assert_eq!(page.labels["priority"], "P1");
    assert_eq!(page.starts_at, Some(at("2026-11-24T02:10:00Z")));
    assert_eq!(page.key.as_deref(), Some("PGR0VU2"));
    let resolved = payload("pagerduty")
        .replace("incident.triggered", "incident.resolved")
        .replace("\"triggered\"", "\"resolved\"");
    let alerts = alert::parse(&resolved).unwrap();
    assert_eq!(alerts[0].status, Status::Resolved);
    assert!(alert::pick(&alerts, None).is_err(), "nothing firing");
}

#[test]
fn a_grafana_notification_is_told_from_an_alertmanager_one() {
    let alerts = alert::parse(&payload("grafana")).unwrap();
    assert_eq!(alerts[0].format, Format::Grafana);
    assert_eq!(alerts[0].name, "Checkout p99");
    assert_eq!(alerts[0].starts_at, Some(at("2026-11-24T02:10:00.157076Z")));
    assert_eq!(
        alerts[0].description.as_deref(),
        Some("checkout p99 latency is 2.6 s")
    );
}

#[test]
fn what_is_not_an_alert_is_refused_with_a_reason() {
    for (text, says) in [
        ("not json", "not JSON"),
        (r#"{"hello": 1}"#, "not an alert payload"),
        (r#"{"alerts": []}"#, "holds no alert"),
        (r#"{"alerts": [{"labels": 3}]}"#, "does not have the shape"),
        (
            r#"{"event": {"event_type": "incident.triggered"}}"#,
            "PagerDuty",
        ),
    ] {
        let error = alert::parse(text).unwrap_err().to_string();
        assert!(error.contains(says), "{text}: {error}");
    }
}

/// The demo bundle written to `dir/bundle`.
fn demo_bundle(dir: &std::path::Path) -> String {
    let bundle = dir.join("bundle");
    let (ok, _, err) = common::hunch_in(
        dir,
        None,
        &["demo", "--write-bundle", bundle.to_str().unwrap()],
        b"",
    );
    assert!(ok, "{err}");
    bundle.to_str().unwrap().to_string()
}

fn session_start(err: &str) -> (serde_json::Value, Vec<serde_json::Value>) {
    let session = err
        .lines()
        .find_map(|l| l.strip_prefix("session: "))
        .expect("the session file is named");
    let events: Vec<serde_json::Value> = std::fs::read_to_string(session)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (events[0]["incident"].clone(), events)
}

/// The onset `metrics_rank` reported in a recorded session.
fn ranked_onset(events: &[serde_json::Value]) -> String {
    events
        .iter()
        .find(|e| e["type"] == "tool_call_finished" && e["id"] == "c1")
        .and_then(|e| e["output"]["digest"].as_str())
        .unwrap()
        .to_string()
}

#[test]
fn an_investigation_starts_from_a_payload_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = demo_bundle(dir.path());
    let (ok, _, err) = common::hunch_in(
        dir.path(),
        None,
        &[
            "investigate",
            "--bundle",
            &bundle,
            "--alert-file",
            "-",
            "--headless",
        ],
        payload("alertmanager").as_bytes(),
    );
    assert!(ok, "{err}");
    assert!(
        err.contains(
            "read as: Alertmanager alert CheckoutLatencyHigh; service checkout; since 02:10:00 UTC"
        ),
        "{err}"
    );
    let (incident, events) = session_start(&err);
    assert_eq!(incident["title"], "checkout p99 latency above 2s");
    assert_eq!(incident["fired_at"], "2026-11-24T02:10:00.123Z");
    let alert = incident["alert"].as_str().unwrap();
    assert!(alert.contains("severity=page") && alert.contains("runbook https://"));
    assert!(ranked_onset(&events).starts_with("onset 02:08:45"));

    // The alert's start bounds the onset: a page from 01:58 puts it before 01:58.
    let early = payload("alertmanager").replace("2026-11-24T02:10:00.123Z", "2026-11-24T01:58:00Z");
    let (ok, _, err) = common::hunch_in(
        dir.path(),
        None,
        &[
            "investigate",
            "--bundle",
            &bundle,
            "--alert-file",
            "-",
            "--headless",
        ],
        early.as_bytes(),
    );
    assert!(ok, "{err}");
    let (_, events) = session_start(&err);
    let onset = ranked_onset(&events);
    assert!(!onset.starts_with("onset 02:08:45"), "{onset}");
}

#[test]
fn plain_alert_text_is_read_for_its_time_and_services() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = demo_bundle(dir.path());
    let (ok, _, err) = common::hunch_in(
        dir.path(),
        None,
        &[
            "investigate",
            "--bundle",
            &bundle,
            "--alert",
            "Payments API errors and Orders DB saturated at 02:09 UTC",
            "--headless",
        ],
        b"",
    );
    assert!(ok, "{err}");
    assert!(
        err.contains("read as: service payments, orders-db; since 02:09:00 UTC (2026-11-24)"),
        "{err}"
    );
    let (incident, _) = session_start(&err);
    assert!(
        incident["alert"]
            .as_str()
            .unwrap()
            .ends_with("(2026-11-24)]")
    );
}

#[test]
fn a_bad_payload_stops_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = demo_bundle(dir.path());
    let (ok, _, err) = common::hunch_in(
        dir.path(),
        None,
        &[
            "investigate",
            "--bundle",
            &bundle,
            "--alert-file",
            "-",
            "--headless",
        ],
        br#"{"status": "success", "data": {"alerts": []}}"#,
    );
    assert!(!ok);
    assert!(
        err.contains("-: the Prometheus payload holds no alert"),
        "{err}"
    );
}
