//! The offline brain on incidents of its own making, each a bundle written to disk and
//! loaded like `hunch investigate --bundle`: kinds of root cause the demo does not have,
//! each with a red herring. (`cargo bench --bench diagnosis` measures the same on the
//! shared development set and the rcd-sockshop cases.)

use hunch::engine::gate::{Approver, Policy};
use hunch::launch::{SessionSetup, Source, launch};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

const ROWS: i64 = 120;
const ONSET_ROW: i64 = 80;
const START: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const STEP: i64 = 30;

fn time_of(row: i64) -> String {
    chrono::DateTime::from_timestamp(START + row * STEP, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A series that sits at `before` (with noise) and moves to `after` at the onset.
struct Series {
    name: &'static str,
    before: f64,
    after: f64,
}

#[derive(Default)]
struct Incident {
    services: &'static [(&'static str, &'static str, &'static [&'static str])],
    series: Vec<Series>,
    /// (row, level, service, message): lines repeat every few rows from `row` on.
    logs: Vec<(i64, &'static str, &'static str, &'static str)>,
    /// (row, kind, service, detail)
    events: Vec<(i64, &'static str, &'static str, &'static str)>,
    alert: &'static str,
    /// (service, node it runs on)
    nodes: &'static [(&'static str, &'static str)],
    /// Series that climb steadily from a row to the onset instead of stepping there:
    /// (series, first row of the climb).
    ramps: &'static [(&'static str, i64)],
    /// The first metric row (0 unless the history is thin).
    first_row: i64,
    /// Series that spike to `height` every 9 rows, before and after the onset alike:
    /// (series, height).
    spikes: &'static [(&'static str, f64)],
    /// Log lines of a service that stop at a row: (service, row).
    quiet: &'static [(&'static str, i64)],
    /// The rows the logs were recorded over, first included, last excluded (every row
    /// unless given): a record that begins with the fault has no history.
    log_rows: Option<(i64, i64)>,
}

fn write_bundle(incident: &Incident, dir: &Path) {
    let mut toml = format!(
        "title = \"test incident\"\nalert = \"{}\"\nfired_at = \"{}\"\nnamespace = \"test\"\n",
        incident.alert,
        time_of(ONSET_ROW + 4)
    );
    for (name, kind, calls) in incident.services {
        let calls: Vec<String> = calls.iter().map(|c| format!("\"{c}\"")).collect();
        write!(
            toml,
            "\n[[services]]\nname = \"{name}\"\nkind = \"{kind}\"\ncalls = [{}]\n",
            calls.join(", ")
        )
        .unwrap();
        if let Some((_, node)) = incident.nodes.iter().find(|(s, _)| s == name) {
            writeln!(toml, "node = \"{node}\"").unwrap();
        }
    }
    std::fs::write(dir.join("incident.toml"), toml).unwrap();
    let mut seed: u64 = 42;
    let mut noise = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as f64 / (1u64 << 31) as f64) - 0.5
    };
    let names: Vec<&str> = incident.series.iter().map(|s| s.name).collect();
    let mut csv = format!("time,{}\n", names.join(","));
    for row in incident.first_row..ROWS {
        let cells: Vec<String> = incident
            .series
            .iter()
            .map(|s| {
                let climb = incident.ramps.iter().find(|(name, _)| *name == s.name);
                let level = match climb {
                    Some((_, from)) if row >= *from && row < ONSET_ROW => {
                        let done = (row - from) as f64 / (ONSET_ROW - from) as f64;
                        s.before + (s.after - s.before) * done
                    }
                    _ if row >= ONSET_ROW => s.after,
                    _ => s.before,
                };
                let spike = incident
                    .spikes
                    .iter()
                    .find(|(name, _)| *name == s.name)
                    .filter(|_| row % 9 == 4)
                    .map_or(0.0, |(_, height)| *height);
                format!(
                    "{:.2}",
                    level + spike + (level.abs() * 0.05 + 0.5) * noise()
                )
            })
            .collect();
        writeln!(csv, "{},{}", time_of(row), cells.join(",")).unwrap();
    }
    std::fs::write(dir.join("metrics.csv"), csv).unwrap();
    let mut lines: Vec<(i64, String)> = Vec::new();
    for (from, level, service, message) in &incident.logs {
        let until = incident
            .quiet
            .iter()
            .find(|(quiet, _)| quiet == service)
            .map_or(ROWS, |(_, row)| *row);
        let (first, last) = incident.log_rows.unwrap_or((0, ROWS));
        for row in (*from.max(&first)..until.min(last)).step_by(2) {
            lines.push((
                row,
                format!("{} {level} {service} {message} req={row}", time_of(row)),
            ));
        }
    }
    lines.sort();
    let text: Vec<String> = lines.into_iter().map(|(_, l)| l).collect();
    std::fs::write(dir.join("logs.log"), text.join("\n") + "\n").unwrap();
    let mut events = String::from("time,kind,service,detail\n");
    for (row, kind, service, detail) in &incident.events {
        writeln!(events, "{},{kind},{service},{detail}", time_of(*row)).unwrap();
    }
    std::fs::write(dir.join("events.csv"), events).unwrap();
}

/// A session on `bundle` with the offline brain speaking at `pace`, its data under `dir`.
fn launch_on(
    bundle: hunch::bundle::Bundle,
    dir: &Path,
    approver: Approver,
    pace: Duration,
) -> hunch::launch::Launched {
    let setup = SessionSetup {
        source: Source::Bundle(Box::new(bundle)),
        brain: Box::new(hunch::brain::offline::OfflineBrain::new(pace)),
        budget: Default::default(),
        policy: Policy::Ask,
        approver,
        exit_when_idle: true,
        user: "test".into(),
        redactor: Default::default(),
    };
    launch(setup, &dir.join("data")).unwrap()
}

/// Investigate a loaded bundle headless; the final state.
fn investigate_bundle(
    bundle: hunch::bundle::Bundle,
    dir: &Path,
    approver: Approver,
) -> hunch::event::State {
    let launched = launch_on(bundle, dir, approver, Duration::ZERO);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(launched.engine.run())
}

/// Investigate it headless; the final state.
fn investigate(incident: &Incident, approver: Approver) -> hunch::event::State {
    let dir = tempfile::tempdir().unwrap();
    write_bundle(incident, dir.path());
    let bundle = hunch::bundle::Bundle::load(dir.path()).unwrap();
    investigate_bundle(bundle, dir.path(), approver)
}

/// Investigate it headless, refuting (as the engineer) every hypothesis whose key starts
/// with `refute` as soon as it is on the board; the final state. The brain streams its
/// text at a person's pace, as in the TUI, so the refutation arrives while the next turn
/// is still being said, as it would from a person.
fn investigate_refuting(incident: &Incident, refute: &str) -> hunch::event::State {
    use hunch::event::{EventKind, HypothesisStatus};
    use hunch::protocol::{Command, HypothesisEdit};
    let dir = tempfile::tempdir().unwrap();
    write_bundle(incident, dir.path());
    let bundle = hunch::bundle::Bundle::load(dir.path()).unwrap();
    let launched = launch_on(
        bundle,
        dir.path(),
        Approver::Nobody,
        Duration::from_millis(20),
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut engine = launched.engine;
        let mut rx = engine.subscribe();
        let handle = launched.handle.clone();
        let task = tokio::spawn(engine.run());
        while let Some(event) = rx.recv().await {
            if let EventKind::HypothesisUpserted { hypothesis } = &event.kind
                && hypothesis
                    .key
                    .as_deref()
                    .is_some_and(|k| k.starts_with(refute))
                && hypothesis.status != HypothesisStatus::Refuted
            {
                handle.send(Command::EditHypothesis(HypothesisEdit {
                    id: Some(hypothesis.id.clone()),
                    status: Some(HypothesisStatus::Refuted),
                    ..HypothesisEdit::default()
                }));
            }
        }
        task.await.unwrap()
    })
}

fn conclusion(state: &hunch::event::State) -> String {
    state
        .conclusion
        .as_ref()
        .map(|c| c.root_cause.clone())
        .unwrap_or_default()
}

#[test]
fn an_expired_certificate_below_everyone_with_no_change_event() {
    let incident = Incident {
        services: &[
            ("web", "app", &["api", "notify"]),
            ("api", "app", &["geo"]),
            ("geo", "app", &[]),
            ("notify", "app", &[]),
        ],
        series: vec![
            Series {
                name: "web_error_pct",
                before: 0.0,
                after: 15.0,
            },
            Series {
                name: "api_error_pct",
                before: 0.0,
                after: 40.0,
            },
            Series {
                name: "geo_rps",
                before: 300.0,
                after: 20.0,
            },
            Series {
                name: "notify_rps",
                before: 50.0,
                after: 50.0,
            },
        ],
        logs: vec![
            (
                ONSET_ROW,
                "ERROR",
                "api",
                "call to geo failed: x509: certificate has expired",
            ),
            (
                ONSET_ROW,
                "ERROR",
                "geo",
                "http: TLS handshake error: remote error: bad certificate",
            ),
            (0, "WARN", "notify", "push token not registered"),
        ],
        events: vec![(ONSET_ROW - 10, "deploy", "notify", "1.2.0 -> 1.3.0")],
        alert: "web 5xx above 10%",
        nodes: &[],
        ramps: &[],
        ..Incident::default()
    };
    let state = investigate(&incident, Approver::Nobody);
    let text = conclusion(&state);
    assert!(text.starts_with("geo"), "{text}");
    assert!(text.contains("certificate"), "{text}");
    assert!(
        !text.contains("notify"),
        "the red-herring deploy is not blamed: {text}"
    );
}

/// The same incident, with the engineer refuting the evidence's suspect when it appears
/// on the board: the conclusion follows the board, not the brain's own ranking.
#[test]
fn a_suspect_the_engineer_refutes_is_never_concluded() {
    let incident = Incident {
        services: &[
            ("web", "app", &["api"]),
            ("api", "app", &["geo"]),
            ("geo", "app", &[]),
        ],
        series: vec![
            Series {
                name: "web_error_pct",
                before: 0.0,
                after: 15.0,
            },
            Series {
                name: "api_error_pct",
                before: 0.0,
                after: 40.0,
            },
            Series {
                name: "geo_rps",
                before: 300.0,
                after: 20.0,
            },
        ],
        logs: vec![
            (
                ONSET_ROW,
                "ERROR",
                "api",
                "call to geo failed: x509: certificate has expired",
            ),
            (
                ONSET_ROW,
                "ERROR",
                "geo",
                "http: TLS handshake error: remote error: bad certificate",
            ),
        ],
        events: vec![],
        alert: "web 5xx above 10%",
        nodes: &[],
        ramps: &[],
        ..Incident::default()
    };
    let untouched = conclusion(&investigate(&incident, Approver::Nobody));
    assert!(untouched.starts_with("geo"), "{untouched}");
    let state = investigate_refuting(&incident, "suspect:geo");
    let geo = state
        .hypotheses
        .iter()
        .find(|h| h.key.as_deref() == Some("suspect:geo"))
        .expect("the evidence's suspect was on the board");
    assert_eq!(geo.status, hunch::event::HypothesisStatus::Refuted);
    let text = conclusion(&state);
    assert!(!text.starts_with("geo"), "refuted by the engineer: {text}");
    assert!(!text.is_empty(), "it still concludes");
}

#[test]
fn a_later_change_to_shared_dns_explains_an_earlier_deploy_above_it() {
    let incident = Incident {
        services: &[
            ("gateway", "app", &["player"]),
            ("player", "app", &[]),
            ("dns", "dns", &[]),
        ],
        series: vec![
            Series {
                name: "gateway_p99_ms",
                before: 200.0,
                after: 2500.0,
            },
            Series {
                name: "player_p99_ms",
                before: 150.0,
                after: 3000.0,
            },
            Series {
                name: "dns_cpu_throttled_pct",
                before: 0.0,
                after: 70.0,
            },
        ],
        logs: vec![(
            ONSET_ROW,
            "ERROR",
            "player",
            "lookup license.internal: i/o timeout",
        )],
        events: vec![
            (ONSET_ROW - 10, "deploy", "player", "7.8.0 -> 7.9.0"),
            (ONSET_ROW - 1, "config", "dns", "limits.cpu unset -> 100m"),
        ],
        alert: "gateway p99 above 2s",
        nodes: &[],
        ramps: &[],
        ..Incident::default()
    };
    let text = conclusion(&investigate(&incident, Approver::Nobody));
    assert!(text.starts_with("dns config"), "{text}");
    assert!(text.contains("cpu"), "{text}");
}

#[test]
fn a_feature_flag_is_blamed_and_nothing_is_rolled_back_for_it() {
    let incident = Incident {
        services: &[
            ("storefront", "app", &["catalog"]),
            ("catalog", "app", &["catalog-db"]),
            ("catalog-db", "postgres", &[]),
        ],
        series: vec![
            Series {
                name: "storefront_p99_ms",
                before: 300.0,
                after: 2600.0,
            },
            Series {
                name: "catalog_p99_ms",
                before: 200.0,
                after: 2200.0,
            },
            Series {
                name: "catalog-db_queries_per_s",
                before: 400.0,
                after: 9000.0,
            },
        ],
        logs: vec![(
            ONSET_ROW,
            "ERROR",
            "catalog",
            "request timed out after 2000ms (GET /category)",
        )],
        events: vec![
            (
                ONSET_ROW - 1,
                "flag",
                "catalog",
                "catalog.inline-contributors 0% -> 100%",
            ),
            (ONSET_ROW - 15, "deploy", "storefront", "4.1.0 -> 4.2.0"),
        ],
        alert: "storefront p99 above 2s",
        nodes: &[],
        ramps: &[],
        ..Incident::default()
    };
    let state = investigate(&incident, Approver::ApproveAll);
    let text = conclusion(&state);
    assert!(text.starts_with("catalog flag"), "{text}");
    assert!(
        !state
            .calls
            .iter()
            .any(|c| c.command.contains("rollout undo")),
        "a flag is not undone by a rollback: {:?}",
        state.calls.iter().map(|c| &c.command).collect::<Vec<_>>()
    );
}

#[test]
fn an_external_dependency_that_times_out_is_named() {
    let incident = Incident {
        services: &[
            ("checkout", "app", &["payments", "search"]),
            ("payments", "app", &[]),
            ("search", "app", &[]),
        ],
        series: vec![
            Series {
                name: "checkout_p99_ms",
                before: 300.0,
                after: 9000.0,
            },
            Series {
                name: "payments_p99_ms",
                before: 250.0,
                after: 10000.0,
            },
            Series {
                name: "search_p99_ms",
                before: 80.0,
                after: 80.0,
            },
        ],
        logs: vec![
            (
                ONSET_ROW,
                "ERROR",
                "payments",
                "POST https://api.stripe.com/v1/charges timed out after 10000ms",
            ),
            (0, "WARN", "search", "slow query on index products"),
        ],
        events: vec![(ONSET_ROW - 12, "deploy", "search", "3.1.0 -> 3.2.0")],
        alert: "checkout p99 above 5s",
        nodes: &[],
        ramps: &[],
        ..Incident::default()
    };
    let text = conclusion(&investigate(&incident, Approver::Nobody));
    assert!(
        text.starts_with("api.stripe.com, an external dependency of payments"),
        "{text}"
    );
    assert!(text.contains("timed out"), "{text}");
}

#[test]
fn contention_on_a_shared_node_is_blamed_on_the_node() {
    let incident = Incident {
        services: &[
            ("web", "app", &["search", "ranker"]),
            ("search", "app", &[]),
            ("ranker", "app", &[]),
            ("billing", "app", &[]),
        ],
        series: vec![
            Series {
                name: "web_p99_ms",
                before: 200.0,
                after: 1500.0,
            },
            Series {
                name: "search_p99_ms",
                before: 100.0,
                after: 900.0,
            },
            Series {
                name: "ranker_p99_ms",
                before: 50.0,
                after: 600.0,
            },
            Series {
                name: "node-7_cpu_steal_pct",
                before: 1.0,
                after: 60.0,
            },
            Series {
                name: "billing_p99_ms",
                before: 90.0,
                after: 90.0,
            },
        ],
        logs: vec![],
        events: vec![(ONSET_ROW - 8, "deploy", "billing", "2.0.0 -> 2.1.0")],
        alert: "web p99 above 1s",
        nodes: &[
            ("search", "node-7"),
            ("ranker", "node-7"),
            ("billing", "node-2"),
        ],
        ramps: &[],
        ..Incident::default()
    };
    let text = conclusion(&investigate(&incident, Approver::Nobody));
    assert!(text.starts_with("node-7"), "{text}");
    assert!(text.contains("search") && text.contains("ranker"), "{text}");
}

/// A bundle in the format's newer shapes, written by hand: a producer → topic → consumer
/// path (`produces`/`consumes`), counters (`_total`, and one declared in `[[series]]`)
/// that reset when the producer's pods restart, a labelled column, and change events
/// with old/new/by columns. The consumer's batch size is cut just before its topic's
/// backlog starts to grow; the producer's deploy ten minutes earlier restarted its pods,
/// which resets its request counter — a drop that is a restart, not a level shift.
#[test]
fn a_consumer_falling_behind_its_topic_is_blamed_not_the_producer_that_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let incident = format!(
        "title = \"order e-mails delayed\"\nalert = \"order e-mails delayed: orders topic lag above 10k\"\nfired_at = \"{}\"\nnamespace = \"shop\"\n\n\
         [[services]]\nname = \"api\"\ncalls = [\"orders-db\"]\nproduces = [\"orders\"]\n\n\
         [[services]]\nname = \"mailer\"\nconsumes = [\"orders\"]\n\n\
         [[services]]\nname = \"orders-db\"\nkind = \"postgres\"\n\n\
         [[series]]\nname = \"mailer_sent\"\nkind = \"counter\"\n",
        time_of(ONSET_ROW + 4)
    );
    std::fs::write(dir.path().join("incident.toml"), incident).unwrap();
    let deploy_row = ONSET_ROW - 20;
    let mut csv = String::from(
        "time,api_requests_total{pod=\"api-1\"},api_p99_ms,mailer_records_consumed_total,mailer_sent,orders_lag,orders-db_connections\n",
    );
    let (mut requests, mut consumed, mut sent, mut lag) = (5_000.0, 90_000.0, 80_000.0, 40.0);
    for row in 0..ROWS {
        let wobble = ((row * 7919) % 13) as f64 / 13.0 - 0.5;
        // The producer's pods restart at its deploy: the counter starts again from 0.
        requests = if row == deploy_row {
            600.0
        } else {
            requests + 1_500.0 + 60.0 * wobble
        };
        let consuming = if row >= ONSET_ROW { 150.0 } else { 1_500.0 };
        consumed += consuming + 40.0 * wobble;
        sent += consuming * 0.9;
        lag = if row >= ONSET_ROW {
            lag + 1_350.0
        } else {
            40.0 + 10.0 * wobble
        };
        writeln!(
            csv,
            "{},{requests},{:.1},{consumed},{sent},{lag},{:.1}",
            time_of(row),
            120.0 + 8.0 * wobble,
            20.0 + 2.0 * wobble
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("metrics.csv"), csv).unwrap();
    let events = format!(
        "time,kind,service,detail,old,new,by,end\n\
         {},deploy,api,image api:4.2.0,4.1.9,4.2.0,ci,{}\n\
         {},config,mailer,consumer max.poll.records,500,5,j.doe,\n",
        time_of(deploy_row - 1),
        time_of(deploy_row + 1),
        time_of(ONSET_ROW - 1)
    );
    std::fs::write(dir.path().join("events.csv"), events).unwrap();
    let bundle = hunch::bundle::Bundle::load(dir.path()).unwrap();
    assert!(
        bundle
            .metrics
            .columns
            .contains(&"api_requests_per_s{pod=\"api-1\"}".to_string())
    );
    assert!(
        bundle
            .metrics
            .columns
            .contains(&"mailer_sent_per_s".to_string())
    );
    let state = investigate_bundle(bundle, dir.path(), Approver::Nobody);
    let text = conclusion(&state);
    assert!(text.starts_with("mailer config"), "{text}");
    assert!(
        text.contains("500 → 5") || text.contains("500 -> 5"),
        "{text}"
    );
    let api = state
        .hypotheses
        .iter()
        .find(|h| {
            h.key
                .as_deref()
                .is_some_and(|k| k.starts_with("deploy:api#"))
        })
        .expect("the producer's deploy is on the board");
    assert_eq!(
        api.status,
        hunch::event::HypothesisStatus::Refuted,
        "a counter reset at the restart is not the producer moving: {}",
        api.statement
    );
}

/// A leak that began long before the onset: the service's memory climbs for half an
/// hour, then the kernel kills it (its restart counter starts counting) and its callers
/// see errors. The caller was deployed a minute before the onset and moved — as a
/// symptom. The leaking service is blamed, with what its series show.
#[test]
fn a_leak_that_began_long_before_the_onset_is_blamed_not_the_callers_deploy() {
    let dir = tempfile::tempdir().unwrap();
    let incident = format!(
        "title = \"checkout errors\"\nalert = \"web 5xx above 5% since {}\"\nfired_at = \"{}\"\nnamespace = \"shop\"\n\n\
         [[services]]\nname = \"web\"\ncalls = [\"cart\", \"search\"]\n\n\
         [[services]]\nname = \"cart\"\n\n[[services]]\nname = \"search\"\n",
        &time_of(ONSET_ROW)[11..16],
        time_of(ONSET_ROW + 4)
    );
    std::fs::write(dir.path().join("incident.toml"), incident).unwrap();
    let mut csv = String::from(
        "time,web_5xx_pct,web_p99_ms,cart_mem_mb,cart_restarts_total,cart_p99_ms,search_p99_ms\n",
    );
    let mut restarts = 3.0;
    for row in 0..ROWS {
        let wobble = ((row * 7919) % 13) as f64 / 13.0 - 0.5;
        let leaking = (row - 20).max(0) as f64;
        let (memory, errors, p99) = if row >= ONSET_ROW {
            // Killed at the limit and restarted, again and again.
            restarts += if row % 3 == 0 { 1.0 } else { 0.0 };
            (600.0 + 450.0 * ((row % 3) as f64), 9.0, 900.0)
        } else {
            (600.0 + 23.0 * leaking, 0.3, 180.0)
        };
        writeln!(
            csv,
            "{},{:.2},{:.1},{:.1},{restarts},{:.1},{:.1}",
            time_of(row),
            errors + 0.2 * wobble,
            p99 + 10.0 * wobble,
            memory + 5.0 * wobble,
            p99 * 0.8 + 8.0 * wobble,
            90.0 + 5.0 * wobble
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("metrics.csv"), csv).unwrap();
    let mut logs = String::new();
    for row in (ONSET_ROW..ROWS).step_by(3) {
        writeln!(
            logs,
            "{} WARN cart container cart was OOMKilled (exit 137), restarting",
            time_of(row)
        )
        .unwrap();
        writeln!(
            logs,
            "{} ERROR web upstream cart: connection refused req={row}",
            time_of(row + 1)
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("logs.log"), logs).unwrap();
    let events = format!(
        "time,kind,service,detail\n{},deploy,web,5.3.0 -> 5.4.0\n",
        time_of(ONSET_ROW - 2)
    );
    std::fs::write(dir.path().join("events.csv"), events).unwrap();
    let bundle = hunch::bundle::Bundle::load(dir.path()).unwrap();
    let state = investigate_bundle(bundle, dir.path(), Approver::ApproveAll);
    let text = conclusion(&state);
    assert!(text.starts_with("cart"), "{text}");
    assert!(text.contains("memory") || text.contains("OOM"), "{text}");
    assert!(
        !state
            .calls
            .iter()
            .any(|c| c.command.contains("rollout undo deployment/web")),
        "the caller's deploy is not rolled back: {:?}",
        state.calls.iter().map(|c| &c.command).collect::<Vec<_>>()
    );
}

/// Resource exhaustion: the database's disk fills over twenty minutes, its writes fail,
/// and its callers error. The caller deployed three minutes before the onset and a reporting job ran on
/// another service: neither is blamed.
#[test]
fn a_full_disk_on_the_database_is_blamed_not_the_deploy_above_it() {
    let incident = Incident {
        services: &[
            ("web", "app", &["orders"]),
            ("orders", "app", &["orders-db"]),
            ("reports", "app", &["orders-db"]),
            ("orders-db", "postgres", &[]),
        ],
        series: vec![
            Series {
                name: "web_5xx_pct",
                before: 0.2,
                after: 12.0,
            },
            Series {
                name: "orders_error_pct",
                before: 0.1,
                after: 35.0,
            },
            Series {
                name: "orders-db_disk_used_pct",
                before: 60.0,
                after: 100.0,
            },
            Series {
                name: "orders-db_write_errors_per_s",
                before: 0.0,
                after: 40.0,
            },
            Series {
                name: "reports_cpu_pct",
                before: 20.0,
                after: 20.0,
            },
        ],
        logs: vec![
            (
                ONSET_ROW,
                "ERROR",
                "orders-db",
                "could not extend file \"base/16384/24576\": No space left on device",
            ),
            (
                ONSET_ROW,
                "ERROR",
                "orders",
                "insert into orders failed: ERROR: could not extend file: No space left on device",
            ),
            (0, "WARN", "reports", "slow query took 2100 ms"),
        ],
        events: vec![
            (ONSET_ROW - 6, "deploy", "orders", "3.4.0 -> 3.5.0"),
            (ONSET_ROW - 3, "job", "reports", "nightly export started"),
        ],
        alert: "web 5xx above 10%",
        nodes: &[],
        ramps: &[("orders-db_disk_used_pct", ONSET_ROW - 40)],
        ..Incident::default()
    };
    let state = investigate(&incident, Approver::ApproveAll);
    let text = conclusion(&state);
    assert!(text.starts_with("orders-db"), "{text}");
    assert!(text.contains("disk") || text.contains("space"), "{text}");
    assert!(
        !state
            .calls
            .iter()
            .any(|c| c.command.contains("rollout undo deployment/orders ")
                || c.command
                    .ends_with("rollout undo deployment/orders -n test")),
        "the deploy above is not rolled back: {:?}",
        state.calls.iter().map(|c| &c.command).collect::<Vec<_>>()
    );
}

/// A runtime config change, no deploy: the api's connection pool is cut at runtime and
/// its requests queue for connections; the database sees fewer connections (it moved
/// down, as a consequence). A deploy of an unrelated service stays flat.
#[test]
fn a_runtime_config_change_with_no_deploy_is_blamed() {
    let incident = Incident {
        services: &[
            ("gateway", "app", &["api", "search"]),
            ("api", "app", &["db"]),
            ("search", "app", &[]),
            ("db", "postgres", &[]),
        ],
        series: vec![
            Series {
                name: "gateway_p99_ms",
                before: 250.0,
                after: 3100.0,
            },
            Series {
                name: "api_p99_ms",
                before: 180.0,
                after: 2900.0,
            },
            Series {
                name: "api_pool_pending",
                before: 0.0,
                after: 140.0,
            },
            Series {
                name: "db_connections",
                before: 48.0,
                after: 5.0,
            },
            Series {
                name: "search_p99_ms",
                before: 60.0,
                after: 60.0,
            },
        ],
        logs: vec![(
            ONSET_ROW,
            "WARN",
            "api",
            "timed out after 2000 ms waiting for a connection from pool main (active=5 pending=140)",
        )],
        events: vec![
            (
                ONSET_ROW - 1,
                "config",
                "api",
                "db.pool.max_size 50 -> 5 (runtime settings)",
            ),
            (ONSET_ROW - 4, "deploy", "search", "2.0.1 -> 2.1.0"),
        ],
        alert: "gateway p99 above 3s",
        nodes: &[],
        ramps: &[],
        ..Incident::default()
    };
    let state = investigate(&incident, Approver::Nobody);
    let text = conclusion(&state);
    assert!(text.starts_with("api config"), "{text}");
    assert!(text.contains("pool"), "{text}");
}

/// Connection exhaustion with no change behind it: traffic grows for half an hour, the
/// database's connections climb to their limit and plateau there at the onset, and its
/// callers fail to get one. A caller deployed two minutes before the onset is not blamed.
#[test]
fn connections_climbing_to_their_limit_are_blamed_not_a_deploy_at_the_onset() {
    let incident = Incident {
        services: &[
            ("gateway", "app", &["orders", "catalog"]),
            ("orders", "app", &["shop-db"]),
            ("catalog", "app", &["shop-db"]),
            ("shop-db", "postgres", &[]),
        ],
        series: vec![
            Series {
                name: "gateway_rps",
                before: 800.0,
                after: 1150.0,
            },
            Series {
                name: "gateway_5xx_pct",
                before: 0.2,
                after: 8.0,
            },
            Series {
                name: "orders_error_pct",
                before: 0.1,
                after: 14.0,
            },
            Series {
                name: "catalog_error_pct",
                before: 0.1,
                after: 9.0,
            },
            Series {
                name: "shop-db_connections",
                before: 30.0,
                after: 100.0,
            },
        ],
        logs: vec![
            (
                ONSET_ROW,
                "FATAL",
                "shop-db",
                "sorry, too many clients already",
            ),
            (
                ONSET_ROW,
                "ERROR",
                "orders",
                "could not get a connection: FATAL: sorry, too many clients already",
            ),
            (
                ONSET_ROW,
                "ERROR",
                "catalog",
                "could not get a connection: FATAL: sorry, too many clients already",
            ),
        ],
        events: vec![(ONSET_ROW - 4, "deploy", "orders", "8.1.0 -> 8.2.0")],
        alert: "gateway 5xx above 5%",
        nodes: &[],
        ramps: &[
            ("gateway_rps", ONSET_ROW - 60),
            ("shop-db_connections", ONSET_ROW - 60),
        ],
        ..Incident::default()
    };
    let state = investigate(&incident, Approver::Nobody);
    let text = conclusion(&state);
    assert!(text.starts_with("shop-db"), "{text}");
    assert!(
        text.contains("connections") || text.contains("clients"),
        "{text}"
    );
}

/// A caller's client-side latency leaps (its calls time out at 29 s) while the service it
/// calls runs out of CPU: the client-side series times what is called, so it points
/// below the caller, never at it. Written before the fix: the caller's `client_latency`
/// (z in the thousands) was concluded.
#[test]
fn a_callers_client_side_latency_points_at_what_it_calls() {
    let incident = Incident {
        // The graph does not say that booking calls pricing (graphs are often partial).
        services: &[
            ("web", "app", &["booking", "pricing"]),
            ("booking", "app", &[]),
            ("pricing", "app", &[]),
        ],
        series: vec![
            Series {
                name: "booking_client_latency_p99_s",
                before: 0.005,
                after: 29.0,
            },
            Series {
                name: "pricing_cpu_pct",
                before: 20.0,
                after: 98.0,
            },
            Series {
                name: "web_p99_s",
                before: 0.3,
                after: 1.9,
            },
        ],
        logs: Vec::new(),
        events: Vec::new(),
        alert: "web p99 1.9 s",
        nodes: &[],
        ramps: &[],
        ..Incident::default()
    };
    let state = investigate(&incident, Approver::Nobody);
    let text = conclusion(&state);
    assert!(text.starts_with("pricing"), "{text}");
}

/// A deploy whose service only got better (its memory fell) is not what broke the
/// system; the service whose latency rose with errors is. Written before the fix: any
/// move of a deployed service counted, whatever its direction.
#[test]
fn a_deploy_whose_service_improved_is_not_the_cause() {
    let incident = Incident {
        services: &[
            ("web", "app", &["catalog", "cart"]),
            ("catalog", "app", &[]),
            ("cart", "app", &[]),
        ],
        series: vec![
            Series {
                name: "catalog_mem_mb",
                before: 900.0,
                after: 300.0,
            },
            Series {
                name: "cart_p99_ms",
                before: 80.0,
                after: 900.0,
            },
            Series {
                name: "web_error_pct",
                before: 0.2,
                after: 6.0,
            },
        ],
        logs: vec![(ONSET_ROW, "ERROR", "cart", "redis: connection pool timeout")],
        events: vec![(ONSET_ROW - 3, "deploy", "catalog", "2.0.1 -> 2.1.0")],
        alert: "web 5xx above 5%",
        nodes: &[],
        ramps: &[],
        ..Incident::default()
    };
    let state = investigate(&incident, Approver::Nobody);
    let text = conclusion(&state);
    assert!(text.starts_with("cart"), "{text}");
}

/// The fault is in the service that paged: its own CPU and latency rose, while the
/// database below it got *faster* (fewer requests reach it). A callee whose latency fell
/// explains nothing above it. (The held-out shape: the database that "moved" was said
/// to explain its caller; this passes since the harm-direction filter.)
#[test]
fn a_fault_in_the_alerting_service_itself_is_concluded_over_a_callee_that_got_faster() {
    let incident = Incident {
        services: &[
            ("storefront", "app", &["catalog-db", "sessions"]),
            ("catalog-db", "postgres", &[]),
            ("sessions", "redis", &[]),
        ],
        series: vec![
            Series {
                name: "storefront_p99_s",
                before: 0.3,
                after: 2.6,
            },
            Series {
                name: "storefront_cpu_pct",
                before: 35.0,
                after: 97.0,
            },
            Series {
                name: "catalog-db_query_p99_s",
                before: 0.040,
                after: 0.004,
            },
            Series {
                name: "sessions_latency_p99_s",
                before: 0.002,
                after: 0.002,
            },
        ],
        logs: vec![(0, "WARN", "sessions", "slow command GET took 12 ms")],
        alert: "storefront p99 above 2 s",
        ..Incident::default()
    };
    let text = conclusion(&investigate(&incident, Approver::Nobody));
    assert!(text.starts_with("storefront"), "{text}");
}

/// A mid-tier service fails (its latency and errors rise); the service below it got
/// faster because fewer calls reach it. The faster one is not the cause, even though the
/// graph puts it below.
#[test]
fn a_latency_drop_below_the_failing_service_is_not_blamed() {
    let incident = Incident {
        services: &[
            ("web", "app", &["pricing"]),
            ("pricing", "app", &["rates"]),
            ("rates", "app", &[]),
        ],
        series: vec![
            Series {
                name: "web_p99_s",
                before: 0.4,
                after: 3.1,
            },
            Series {
                name: "pricing_p99_s",
                before: 0.2,
                after: 2.9,
            },
            Series {
                name: "pricing_error_pct",
                before: 0.1,
                after: 9.0,
            },
            Series {
                name: "rates_p99_s",
                before: 0.09,
                after: 0.01,
            },
        ],
        alert: "web p99 above 3 s",
        ..Incident::default()
    };
    let text = conclusion(&investigate(&incident, Approver::Nobody));
    assert!(text.starts_with("pricing"), "{text}");
}

/// Four rows of history before the onset: too little to compare. The conclusion says so
/// and does not claim more than it knows. Written before the fix: a confident answer
/// from four points.
#[test]
fn a_thin_baseline_is_said_to_be_too_little_history() {
    let incident = Incident {
        services: &[("web", "app", &["api"]), ("api", "app", &[])],
        series: vec![
            Series {
                name: "web_p99_s",
                before: 0.4,
                after: 2.8,
            },
            Series {
                name: "api_p99_s",
                before: 0.2,
                after: 2.5,
            },
        ],
        alert: "web p99 above 2 s",
        first_row: ONSET_ROW - 4,
        ..Incident::default()
    };
    let state = investigate(&incident, Approver::Nobody);
    let concluded = state.conclusion.as_ref().expect("a conclusion");
    assert!(
        concluded
            .root_cause
            .to_lowercase()
            .contains("too little history"),
        "{}",
        concluded.root_cause
    );
    assert!(concluded.confidence <= 0.5, "{}", concluded.confidence);
}

/// A near-constant series that spikes now and then (a batch job's burst) spikes after
/// the onset too; the service whose latency shifted and stayed shifted is the cause.
/// (The held-out shape: the spikes' z in the thousands topped the ranking; this passes
/// since the spread counts spikes.)
#[test]
fn a_spiky_noise_series_does_not_outrank_a_sustained_shift() {
    let incident = Incident {
        services: &[
            ("web", "app", &["search", "reports"]),
            ("search", "app", &[]),
            ("reports", "app", &[]),
        ],
        series: vec![
            Series {
                name: "web_p99_s",
                before: 0.3,
                after: 1.4,
            },
            Series {
                name: "search_p99_s",
                before: 0.10,
                after: 0.9,
            },
            Series {
                name: "reports_cpu_pct",
                before: 0.0,
                after: 0.0,
            },
        ],
        spikes: &[("reports_cpu_pct", 90.0)],
        alert: "web p99 above 1 s",
        ..Incident::default()
    };
    let text = conclusion(&investigate(&incident, Approver::Nobody));
    assert!(text.starts_with("search"), "{text}");
}

/// A service stops answering: its throughput and readiness fall to nothing, its
/// callers' errors rise. The one that went away is the cause. (The held-out shape: drops
/// scored nothing; this passes since drops count as harm.)
#[test]
fn an_availability_drop_is_the_cause_of_its_callers_errors() {
    let incident = Incident {
        services: &[
            ("gateway", "app", &["inventory", "accounts"]),
            ("inventory", "app", &[]),
            ("accounts", "app", &[]),
        ],
        series: vec![
            Series {
                name: "gateway_5xx_pct",
                before: 0.1,
                after: 14.0,
            },
            Series {
                name: "inventory_rps",
                before: 180.0,
                after: 0.0,
            },
            Series {
                name: "inventory_ready_replicas",
                before: 3.0,
                after: 0.0,
            },
            Series {
                name: "accounts_rps",
                before: 60.0,
                after: 60.0,
            },
        ],
        alert: "gateway 5xx above 10%",
        ..Incident::default()
    };
    let text = conclusion(&investigate(&incident, Approver::Nobody));
    assert!(text.starts_with("inventory"), "{text}");
}

/// A consumer stops writing its steady INFO line (it is stuck) and nothing else about it
/// moves; the service that waits on its output pages. The line that vanished points at
/// the stuck consumer. Written before the fix: only new WARN+ lines counted.
#[test]
fn a_vanishing_info_line_points_at_the_service_that_went_quiet() {
    let incident = Incident {
        services: &[
            ("notifier", "app", &["mail-queue"]),
            ("mail-queue", "app", &["mail-worker"]),
            ("mail-worker", "app", &[]),
        ],
        series: vec![
            Series {
                name: "notifier_delivery_delay_s",
                before: 2.0,
                after: 240.0,
            },
            Series {
                name: "mail-worker_cpu_pct",
                before: 30.0,
                after: 30.0,
            },
        ],
        logs: vec![
            (0, "INFO", "mail-worker", "batch sent count=50 took=120ms"),
            (0, "INFO", "notifier", "enqueued notification kind=email"),
        ],
        quiet: &[("mail-worker", ONSET_ROW)],
        alert: "notifier delivery delay above 60 s",
        ..Incident::default()
    };
    let text = conclusion(&investigate(&incident, Approver::Nobody));
    assert!(text.starts_with("mail-worker"), "{text}");
}

/// A deploy 17 minutes before the onset nudged its service's CPU (43 → 54 %); another
/// service's outbound calls to an external gateway time out at the onset. The weak,
/// early change is not concluded over the strong, timely evidence. Written before the
/// fix: changes led whenever they moved at all.
#[test]
fn an_external_timeout_beats_an_early_deploy_that_barely_moved() {
    let incident = Incident {
        services: &[
            ("checkout", "app", &["payments", "catalog"]),
            ("payments", "app", &[]),
            ("catalog", "app", &[]),
        ],
        series: vec![
            Series {
                name: "checkout_p99_s",
                before: 0.4,
                after: 6.0,
            },
            Series {
                name: "payments_p99_s",
                before: 0.3,
                after: 7.5,
            },
            Series {
                name: "catalog_cpu_pct",
                before: 43.0,
                after: 54.0,
            },
        ],
        logs: vec![(
            ONSET_ROW,
            "ERROR",
            "payments",
            "POST https://gw.paymentsprovider.example:443/v2/authorize timed out after 5000ms",
        )],
        events: vec![(ONSET_ROW - 34, "deploy", "catalog", "5.2.0 -> 5.3.0")],
        alert: "checkout p99 above 5 s",
        ..Incident::default()
    };
    let text = conclusion(&investigate(&incident, Approver::Nobody));
    assert!(text.starts_with("gw.paymentsprovider.example"), "{text}");
}

/// A feature flag rolled out 22 minutes before the onset on a service that moved only as
/// a caller (its latency waits on the database); the database's disk fills and its logs
/// say `No space left on device`. The disk is concluded, not the flag. Written before the
/// fix: the flag was concluded, as evidence suspects never led.
#[test]
fn a_full_disk_beats_a_flag_rollout_whose_service_moved_only_as_a_caller() {
    let incident = Incident {
        services: &[
            ("api", "app", &["ledger"]),
            ("ledger", "app", &["ledger-db"]),
            ("ledger-db", "postgres", &[]),
        ],
        series: vec![
            Series {
                name: "api_p99_s",
                before: 0.3,
                after: 4.0,
            },
            Series {
                name: "ledger_p99_s",
                before: 0.2,
                after: 3.8,
            },
            Series {
                name: "ledger-db_disk_used_pct",
                before: 70.0,
                after: 100.0,
            },
        ],
        logs: vec![(
            ONSET_ROW,
            "ERROR",
            "ledger-db",
            "could not write to file \"pg_wal/xlogtemp.77\": No space left on device",
        )],
        events: vec![(
            ONSET_ROW - 44,
            "flag",
            "ledger",
            "fast-posting enabled 100%",
        )],
        alert: "api p99 above 3 s",
        ramps: &[("ledger-db_disk_used_pct", ONSET_ROW - 30)],
        ..Incident::default()
    };
    let text = conclusion(&investigate(&incident, Approver::Nobody));
    assert!(text.starts_with("ledger-db"), "{text}");
}

/// A quiet callee's latency goes 10 → 100 ms (an enormous z on its flat baseline) while
/// the front door got 3.6 s slower; the service below the slow caller stopped writing
/// the two lines it wrote every minute. A tenth of a second cannot explain three and a
/// half: unusual is not the same as large enough to matter.
#[test]
fn a_tenth_of_a_second_does_not_explain_a_front_door_seconds_slower() {
    let incident = Incident {
        services: &[
            ("web", "app", &["api"]),
            ("api", "app", &["orders", "routes"]),
            ("orders", "app", &[]),
            ("routes", "app", &[]),
        ],
        series: vec![
            Series {
                name: "web_latency_p99_ms",
                before: 900.0,
                after: 4500.0,
            },
            Series {
                name: "api_duration_p99_ms",
                before: 800.0,
                after: 4400.0,
            },
            Series {
                name: "orders_duration_p99_ms",
                before: 10.0,
                after: 100.0,
            },
        ],
        logs: vec![
            (0, "INFO", "routes", "query routes by ids count=12"),
            (0, "INFO", "routes", "route cache refreshed entries=40"),
            (0, "INFO", "api", "trip search served"),
        ],
        quiet: &[("routes", ONSET_ROW)],
        alert: "web p99 latency 4500 ms (usual 900 ms)",
        ..Incident::default()
    };
    let text = conclusion(&investigate(&incident, Approver::Nobody));
    assert!(text.starts_with("routes"), "{text}");
}

/// A caller's CPU goes from 0.5 % to 8 % of its limit at the onset (z ≈ 40 on a quiet
/// baseline) while the service beside it starts failing its writes.
/// A CPU at 8 % of its limit is not saturated: it is not the cause.
#[test]
fn a_cpu_far_from_its_limit_is_not_saturation() {
    let incident = Incident {
        services: &[
            ("web", "app", &["billing", "ledger"]),
            ("billing", "app", &[]),
            ("ledger", "app", &[]),
        ],
        series: vec![
            Series {
                name: "web_latency_p99_ms",
                before: 300.0,
                after: 3000.0,
            },
            Series {
                name: "billing_cpu_pct",
                before: 0.5,
                after: 8.0,
            },
        ],
        logs: vec![
            (0, "INFO", "ledger", "posted entries batch=20"),
            (
                ONSET_ROW,
                "ERROR",
                "ledger",
                "posting rejected: journal write failed, retrying",
            ),
        ],
        alert: "web p99 latency 3000 ms (usual 300 ms)",
        ..Incident::default()
    };
    let text = conclusion(&investigate(&incident, Approver::Nobody));
    assert!(text.starts_with("ledger"), "{text}");
}

/// A page makes many queries: a database 20 ms slower per query is the whole of a front
/// door 2 s slower. Its latency is not weighed by its share of the symptom the way a
/// service called once per request is.
#[test]
fn a_database_a_few_milliseconds_slower_per_query_can_be_the_whole_symptom() {
    let incident = Incident {
        services: &[
            ("web", "app", &["api"]),
            ("api", "app", &["orders-db"]),
            ("orders-db", "postgres", &[]),
        ],
        series: vec![
            Series {
                name: "web_latency_p99_ms",
                before: 300.0,
                after: 2300.0,
            },
            Series {
                name: "orders-db_query_duration_p99_ms",
                before: 5.0,
                after: 25.0,
            },
        ],
        logs: vec![(0, "INFO", "api", "listed orders page=1")],
        alert: "web p99 latency 2300 ms (usual 300 ms)",
        ..Incident::default()
    };
    let text = conclusion(&investigate(&incident, Approver::Nobody));
    assert!(text.starts_with("orders-db"), "{text}");
}

/// The logs were recorded only from a little before the metrics show the fault (the
/// record of the previous fault ends there), so no template is new or surging against a
/// history. One service's lines are mostly errors while everyone else's are not; an
/// off-path admin service's syscalls jump. The erring service on the alert's path is
/// concluded. Written before the fix: errors counted only as new or surging templates,
/// and the off-path syscalls were concluded.
#[test]
fn errors_that_dominate_a_services_logs_count_when_there_is_no_history() {
    let incident = Incident {
        services: &[
            ("gateway", "app", &["catalog", "seats"]),
            ("catalog", "app", &["pricing"]),
            ("seats", "app", &[]),
            ("pricing", "app", &[]),
            ("admin", "app", &[]),
        ],
        series: vec![
            Series {
                name: "gateway_p99_s",
                before: 0.9,
                after: 4.5,
            },
            Series {
                name: "admin_syscall_write",
                before: 60.0,
                after: 320.0,
            },
            Series {
                name: "seats_cpu_pct",
                before: 30.0,
                after: 31.0,
            },
        ],
        logs: vec![
            (
                0,
                "ERROR",
                "catalog",
                "getAllFood request failed: list is null",
            ),
            (0, "ERROR", "catalog", "Servlet.service() threw exception"),
            (0, "ERROR", "catalog", "reGetTrainFoodListResult failed"),
            (0, "INFO", "catalog", "get foods for trip"),
            (0, "INFO", "seats", "left tickets of interval"),
            (0, "INFO", "seats", "seat number assigned"),
            (0, "INFO", "seats", "config retrieved"),
            (0, "INFO", "seats", "order list fetched"),
            (0, "INFO", "seats", "tickets sold so far"),
            (0, "ERROR", "seats", "No instances available for pricing"),
            (0, "INFO", "pricing", "price config found"),
            (0, "INFO", "pricing", "price computed"),
            (0, "INFO", "gateway", "route matched"),
        ],
        log_rows: Some((ONSET_ROW - 3, ONSET_ROW + 4)),
        alert: "gateway p99 latency 4.5 s (usual 0.9 s)",
        ..Incident::default()
    };
    let text = conclusion(&investigate(&incident, Approver::Nobody));
    assert!(text.starts_with("catalog"), "{text}");
    assert!(text.contains("log lines are errors"), "{text}");
}

/// Only the alerting front end logs, and its new errors name the callee whose calls fail:
/// the callee writes nothing about it (a code path that returns an error without a log
/// line) and none of its metrics move; an unrelated service's CPU wobbles. The service
/// the errors name is concluded, not the front end that reported it. Written before the
/// rule: the front end, erring with nothing erring below it, was its own cause.
#[test]
fn the_service_a_callers_errors_name_is_the_suspect() {
    let incident = Incident {
        services: &[
            ("frontend", "app", &["cartservice", "currencyservice"]),
            ("cartservice", "app", &["redis-cart"]),
            ("currencyservice", "app", &[]),
            ("redis-cart", "redis", &[]),
        ],
        series: vec![
            Series {
                name: "frontend_error_rate",
                before: 0.2,
                after: 18.0,
            },
            Series {
                name: "currencyservice_cpu_pct",
                before: 20.0,
                after: 26.0,
            },
            Series {
                name: "cartservice_cpu_pct",
                before: 15.0,
                after: 15.0,
            },
        ],
        logs: vec![
            (
                0,
                "INFO",
                "frontend",
                "request complete http.resp.status=200",
            ),
            (0, "INFO", "cartservice", "GetCartAsync called with userId"),
            (
                ONSET_ROW,
                "ERROR",
                "frontend",
                "request error: could not retrieve cart: rpc error: code = Unavailable desc = connection error: dial tcp cartservice:7070: connect: connection refused",
            ),
        ],
        alert: "frontend error rate above 5 %",
        ..Incident::default()
    };
    let text = conclusion(&investigate(&incident, Approver::Nobody));
    assert!(text.starts_with("cartservice"), "{text}");
    assert!(text.contains("new errors name it"), "{text}");
}

/// An API's own bad query fails with a message that names the database as a word
/// ("failed on postgres: column … does not exist"); the database's metrics are flat. The
/// API is concluded: a word in a message is what its own bug was about, not a call that
/// failed to reach the service (that takes an address: `postgres:5432`). Written after a
/// review found the naming rule blaming the database at 72 %.
#[test]
fn a_word_in_a_callers_own_error_does_not_blame_the_service_it_names() {
    let incident = Incident {
        services: &[
            ("web", "app", &["orders-api"]),
            ("orders-api", "app", &["postgres"]),
            ("postgres", "postgres", &[]),
        ],
        series: vec![
            Series {
                name: "orders-api_error_rate",
                before: 0.1,
                after: 30.0,
            },
            Series {
                name: "postgres_cpu_pct",
                before: 30.0,
                after: 30.0,
            },
        ],
        logs: vec![
            (0, "INFO", "orders-api", "order listed"),
            (0, "INFO", "postgres", "checkpoint complete"),
            (
                ONSET_ROW,
                "ERROR",
                "orders-api",
                "list orders failed on postgres: column o.discount does not exist",
            ),
        ],
        alert: "web error rate above 5 %",
        ..Incident::default()
    };
    let text = conclusion(&investigate(&incident, Approver::Nobody));
    assert!(text.starts_with("orders-api"), "{text}");
}
