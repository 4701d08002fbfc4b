//! `cargo bench --bench diagnosis`: the offline brain's diagnosis on incidents it was not
//! written against, through the same path as `hunch investigate --bundle … --headless`
//! (bundle files on disk, the real loader, the engine, the demo tools).
//!
//! 1. The 50 rcd-sockshop fault-injection cases (5 services × CPU hog or memory leak × 5),
//!    each turned into a bundle: normal then anomalous rows (re-timed to follow on), the
//!    public Sock Shop call graph, a generic alert. Right when the first service the
//!    conclusion names is the injected one. Bar: ≥ 45/50.
//! 2. The incident bundles of `../shared/datasets/incidents`, graded like its `grade.sh`:
//!    the first service named is the root cause (or an accepted alias) and every keyword
//!    group matches. Bar: ≥ 8/9.
//! 3. The ten real TrainTicket fault injections of `../shared/datasets/nezha-trainticket`
//!    (metrics, logs and traces), graded the same way. Bar: ≥ 8/10.
//!    Then the same bundles with every log line and span before the fault left out (the
//!    seven whose logs begin earlier): the shape of a bundle recorded right after an
//!    earlier fault, with metrics history but no log or trace history. No bar; it guards
//!    what the brain does without a baseline.
//! 4. Calibration over all of them: the concluded confidence against correctness — the
//!    Brier score (mean squared gap between confidence and 0/1 correctness; 0.25 is what
//!    always saying 50 % scores) and a reliability table by confidence bucket, so "70 %"
//!    can be read as "right about 70 % of the time". A conclusion that says it is
//!    inconclusive is counted as an abstention, beside the others.
//!
//! 5. `hunch metrics rank --by service` on the same rcd-sockshop and TrainTicket metrics
//!    (no logs, no traces): AS@1 and AS@3 of the old direction-blind ranking, of the
//!    harm-aware ranking the CLI prints, and of the latter walked along the call graph
//!    with the alerting service as target (with and without its alerted signal kind) —
//!    so a graph that makes ranking worse than no graph shows here.
//!
//! Exits 0 with a note when the datasets are absent.

use hunch::analysis::rank::OnsetWindow;
use hunch::engine::gate::{Approver, Policy};
use hunch::launch::{SessionSetup, Source, launch};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn datasets() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets");
    dir.is_dir().then_some(dir)
}

/// One graded conclusion: whether it was right, how sure it said it was, whether it
/// abstained (said it was inconclusive).
struct Graded {
    right: bool,
    confidence: f64,
    abstained: bool,
}

/// Every conclusion graded so far, for the calibration table.
#[derive(Default)]
struct Calibration(Vec<Graded>);

impl Calibration {
    fn add(&mut self, right: bool, conclusion: &(String, f64)) {
        self.0.push(Graded {
            right,
            confidence: conclusion.1,
            abstained: conclusion.0.to_lowercase().contains("inconclusive"),
        });
    }

    fn print(&self) {
        if self.0.is_empty() {
            return;
        }
        let n = self.0.len() as f64;
        let right = self.0.iter().filter(|g| g.right).count();
        let brier = self
            .0
            .iter()
            .map(|g| (g.confidence - if g.right { 1.0 } else { 0.0 }).powi(2))
            .sum::<f64>()
            / n;
        println!(
            "calibration over {} conclusions: accuracy {:.2}, Brier score {brier:.3} (0.25 = always 50 %)",
            self.0.len(),
            right as f64 / n
        );
        println!("  confidence   conclusions   right   mean confidence   abstained");
        for (lo, hi) in [(0.0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 1.01)] {
            let bucket: Vec<&Graded> = self
                .0
                .iter()
                .filter(|g| g.confidence >= lo && g.confidence < hi)
                .collect();
            if bucket.is_empty() {
                continue;
            }
            let k = bucket.len() as f64;
            println!(
                "  {:>3.0}–{:<3.0} %   {:>11}   {:>5.2}   {:>15.2}   {:>9}",
                lo * 100.0,
                (hi * 100.0f64).min(100.0),
                bucket.len(),
                bucket.iter().filter(|g| g.right).count() as f64 / k,
                bucket.iter().map(|g| g.confidence).sum::<f64>() / k,
                bucket.iter().filter(|g| g.abstained).count()
            );
        }
    }
}

/// Investigate a bundle directory headless with the offline brain; the conclusion text
/// and its confidence.
fn investigate(bundle: &Path, runtime: &tokio::runtime::Runtime) -> Option<(String, f64)> {
    let loaded = hunch::bundle::Bundle::load(bundle).ok()?;
    let data = tempfile::tempdir().ok()?;
    let setup = SessionSetup {
        source: Source::Bundle(Box::new(loaded)),
        brain: Box::new(hunch::brain::offline::OfflineBrain::new(Duration::ZERO)),
        budget: Default::default(),
        policy: Policy::Ask,
        approver: Approver::Nobody,
        exit_when_idle: true,
        user: "bench".into(),
        redactor: Default::default(),
    };
    let launched = launch(setup, data.path()).ok()?;
    let state = runtime.block_on(launched.engine.run());
    state
        .conclusion
        .map(|c| (c.root_cause, c.confidence as f64))
}

/// The service a conclusion names first: whole names, case-insensitive, earliest wins,
/// the longest on a tie (`catalog` is not `catalog-db`).
fn first_named(text: &str, names: &[String]) -> Option<String> {
    let lower = text.to_lowercase();
    let is_name_char = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    let mut best: Option<(usize, usize, String)> = None;
    for name in names {
        let needle = name.to_lowercase();
        for (at, _) in lower.match_indices(&needle) {
            let before = lower[..at].chars().next_back();
            let after = lower[at + needle.len()..].chars().next();
            if before.is_some_and(is_name_char) || after.is_some_and(is_name_char) {
                continue;
            }
            let better = match &best {
                None => true,
                Some((b_at, b_len, _)) => at < *b_at || (at == *b_at && needle.len() > *b_len),
            };
            if better {
                best = Some((at, needle.len(), name.clone()));
            }
            break;
        }
    }
    best.map(|(_, _, name)| name)
}

const SOCKSHOP: &[(&str, &str, &[&str])] = &[
    (
        "front-end",
        "app",
        &["catalogue", "carts", "orders", "user"],
    ),
    ("catalogue", "app", &["catalogue-db"]),
    ("carts", "app", &["carts-db"]),
    (
        "orders",
        "app",
        &["carts", "payment", "user", "shipping", "orders-db"],
    ),
    ("user", "app", &["user-db"]),
    ("payment", "app", &[]),
    ("shipping", "app", &["rabbitmq"]),
    ("queue-master", "app", &["rabbitmq"]),
    ("catalogue-db", "mysql", &[]),
    ("carts-db", "mongodb", &[]),
    ("orders-db", "mongodb", &[]),
    ("user-db", "mongodb", &[]),
    ("rabbitmq", "rabbitmq", &[]),
];

/// One rcd-sockshop case as a bundle directory.
fn rcd_bundle(case: &Path, into: &Path) -> std::io::Result<()> {
    let normal = std::fs::read_to_string(case.join("normal.csv"))?;
    let anomalous = std::fs::read_to_string(case.join("anomalous.csv"))?;
    let mut lines = normal.lines();
    let header = lines.next().unwrap_or_default().to_string();
    let mut rows: Vec<String> = lines.map(str::to_string).collect();
    let last: i64 = rows
        .last()
        .and_then(|r| r.split(',').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let mut anomalous_rows = anomalous.lines().skip(1).peekable();
    let first: i64 = anomalous_rows
        .peek()
        .and_then(|r| r.split(',').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    for row in anomalous_rows {
        let (time, rest) = row.split_once(',').unwrap_or((row, ""));
        let time: i64 = time.parse().unwrap_or(first);
        rows.push(format!("{},{rest}", last + 1 + (time - first)));
    }
    std::fs::create_dir_all(into)?;
    std::fs::write(
        into.join("metrics.csv"),
        format!("{header}\n{}\n", rows.join("\n")),
    )?;
    let fired = chrono::DateTime::from_timestamp(last + 61, 0).unwrap_or_default();
    let mut incident = format!(
        "title = \"sock-shop slow\"\nalert = \"sock-shop storefront latency and errors up\"\nfired_at = \"{}\"\nnamespace = \"sock-shop\"\n",
        fired.format("%Y-%m-%dT%H:%M:%SZ")
    );
    for (name, kind, calls) in SOCKSHOP {
        let calls: Vec<String> = calls.iter().map(|c| format!("\"{c}\"")).collect();
        incident.push_str(&format!(
            "\n[[services]]\nname = \"{name}\"\nkind = \"{kind}\"\ncalls = [{}]\n",
            calls.join(", ")
        ));
    }
    std::fs::write(into.join("incident.toml"), incident)?;
    std::fs::write(into.join("events.csv"), "time,kind,service,detail\n")?;
    std::fs::write(into.join("logs.log"), "")?;
    Ok(())
}

fn rcd_cases(root: &Path, runtime: &tokio::runtime::Runtime, calibration: &mut Calibration) {
    let dir = root.join("rcd-sockshop");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("rcd-sockshop: not here, skipped");
        return;
    };
    let names: Vec<String> = SOCKSHOP.iter().map(|(n, _, _)| n.to_string()).collect();
    let mut folders: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    folders.sort();
    let (mut right, mut total) = (0, 0);
    let mut by_fault: std::collections::BTreeMap<String, (u32, u32)> = Default::default();
    for folder in folders {
        let label = folder.file_name().unwrap().to_string_lossy().into_owned();
        let Some((service, fault)) = label.rsplit_once('-') else {
            continue;
        };
        let mut cases: Vec<PathBuf> = std::fs::read_dir(&folder)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        cases.sort();
        for case in cases {
            let work = tempfile::tempdir().unwrap();
            let bundle = work.path().join("bundle");
            rcd_bundle(&case, &bundle).unwrap();
            let concluded = investigate(&bundle, runtime).unwrap_or_default();
            let conclusion = &concluded.0;
            let named = first_named(conclusion, &names);
            let ok = named.as_deref() == Some(service);
            calibration.add(ok, &concluded);
            total += 1;
            right += ok as u32;
            let slot = by_fault.entry(fault.to_string()).or_default();
            slot.0 += ok as u32;
            slot.1 += 1;
            if !ok {
                let shown: String = conclusion.chars().take(120).collect();
                println!(
                    "  rcd {label}/{}: named {named:?} — {shown}",
                    case.file_name().unwrap().to_string_lossy()
                );
            }
        }
    }
    let faults: Vec<String> = by_fault
        .iter()
        .map(|(fault, (r, n))| format!("{fault} {r}/{n}"))
        .collect();
    println!(
        "rcd-sockshop as bundles through investigate: {right}/{total} name the injected service ({}); bar 45/50",
        faults.join(", ")
    );
}

#[derive(serde::Deserialize)]
struct Truth {
    root_cause_service: String,
    #[serde(default)]
    accept_services: Vec<String>,
    #[serde(default)]
    keywords: Vec<Vec<String>>,
}

#[derive(serde::Deserialize)]
struct IncidentFile {
    #[serde(default)]
    services: Vec<ServiceName>,
}

#[derive(serde::Deserialize)]
struct ServiceName {
    name: String,
}

/// Grade every bundle with a TRUTH.toml under `dir` like `grade.sh`; prints one line per
/// bundle and the total against `bar`.
/// The TrainTicket bundles whose logs and traces begin before the fault, copied into
/// `into` with every log line and span from before the fault's onset (`TRUTH.toml`) left
/// out: the shape of the bundles recorded right after an earlier fault, whose logs and
/// traces have no history. The metrics are untouched. Returns how many were cut.
fn from_the_fault_on(dir: &Path, into: &Path) -> usize {
    #[derive(serde::Deserialize)]
    struct Onset {
        onset: chrono::DateTime<chrono::Utc>,
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut cut = 0;
    for bundle in entries.flatten().map(|e| e.path()) {
        let Ok(truth) = std::fs::read_to_string(bundle.join("TRUTH.toml")) else {
            continue;
        };
        let Ok(Onset { onset }) = toml::from_str::<Onset>(&truth) else {
            continue;
        };
        let logs = std::fs::read_to_string(bundle.join("logs.log")).unwrap_or_default();
        let after = |line: &&str| {
            line.split_whitespace()
                .next()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .is_some_and(|t| t >= onset)
        };
        let kept: Vec<&str> = logs.lines().filter(after).collect();
        if kept.len() == logs.lines().count() {
            continue; // already begins at the fault
        }
        let copy = into.join(bundle.file_name().unwrap());
        std::fs::create_dir_all(&copy).unwrap();
        for file in ["incident.toml", "metrics.csv", "events.csv", "TRUTH.toml"] {
            let _ = std::fs::copy(bundle.join(file), copy.join(file));
        }
        std::fs::write(copy.join("logs.log"), kept.join("\n") + "\n").unwrap();
        let onset_ns = onset.timestamp_nanos_opt().unwrap_or(i64::MAX).to_string();
        let traces = std::fs::read_to_string(bundle.join("traces.jsonl")).unwrap_or_default();
        let mut out = String::new();
        for line in traces.lines() {
            let Ok(mut value) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let mut any = false;
            for spans in value["resourceSpans"]
                .as_array_mut()
                .into_iter()
                .flatten()
                .flat_map(|r| r["scopeSpans"].as_array_mut().into_iter().flatten())
                .filter_map(|s| s["spans"].as_array_mut())
            {
                // Same-width decimal strings compare as numbers.
                spans.retain(|span| {
                    span["startTimeUnixNano"]
                        .as_str()
                        .is_some_and(|t| (t.len(), t) >= (onset_ns.len(), onset_ns.as_str()))
                });
                any |= !spans.is_empty();
            }
            if any {
                out.push_str(&value.to_string());
                out.push('\n');
            }
        }
        std::fs::write(copy.join("traces.jsonl"), out).unwrap();
        cut += 1;
    }
    cut
}

fn graded_set(
    dir: &Path,
    label: &str,
    bar: &str,
    runtime: &tokio::runtime::Runtime,
    calibration: &mut Calibration,
) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        println!("{label}: not here, skipped");
        return;
    };
    let mut bundles: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("TRUTH.toml").is_file())
        .collect();
    bundles.sort();
    let mut right = 0;
    for bundle in &bundles {
        let truth: Truth =
            toml::from_str(&std::fs::read_to_string(bundle.join("TRUTH.toml")).unwrap()).unwrap();
        let incident: IncidentFile =
            toml::from_str(&std::fs::read_to_string(bundle.join("incident.toml")).unwrap())
                .unwrap();
        let mut names: Vec<String> = incident.services.into_iter().map(|s| s.name).collect();
        names.extend(truth.accept_services.iter().cloned());
        names.push(truth.root_cause_service.clone());
        let concluded = investigate(bundle, runtime).unwrap_or_default();
        let conclusion = &concluded.0;
        let named = first_named(conclusion, &names);
        let service_ok = named.as_ref().is_some_and(|n| {
            n.eq_ignore_ascii_case(&truth.root_cause_service)
                || truth
                    .accept_services
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(n))
        });
        let groups = truth
            .keywords
            .iter()
            .filter(|group| {
                group.iter().any(|pattern| {
                    regex::RegexBuilder::new(pattern)
                        .case_insensitive(true)
                        .build()
                        .is_ok_and(|r| r.is_match(conclusion))
                })
            })
            .count();
        let ok = service_ok && groups == truth.keywords.len();
        right += ok as u32;
        calibration.add(ok, &concluded);
        println!(
            "  {:<32} {} (named {named:?}, keywords {groups}/{}, confidence {:.2})",
            bundle.file_name().unwrap().to_string_lossy(),
            if ok { "right" } else { "WRONG" },
            truth.keywords.len(),
            concluded.1
        );
    }
    println!("{label}: {right}/{} right; bar {bar}", bundles.len());
}

/// The ways `metrics rank --by service` can order services, and where each put the
/// truth (1-based; 0 when absent): old (direction-blind), harm, harm + graph + target,
/// harm + graph + target + the alert's signal kind.
#[derive(Default)]
struct RankPositions(Vec<[usize; 4]>);

impl RankPositions {
    fn add(&mut self, bundle: &Path, truth: &str, window: Option<OnsetWindow>) {
        use hunch::analysis::harm::{Paging, services_by_harm, signals};
        use hunch::analysis::rank::{alert_since, rank_in, rank_services};
        use hunch::analysis::topology::along_the_graph;
        let Ok(loaded) = hunch::bundle::Bundle::load(bundle) else {
            return;
        };
        // Where the fault began: the split when the data has one, else what the alert says.
        let fired = loaded.incident.fired_at.timestamp();
        let window = window.unwrap_or_else(|| {
            OnsetWindow::of_alert(fired, alert_since(&loaded.incident.alert, fired))
        });
        let table = &loaded.metrics;
        let ranking = rank_in(&table.times, &table.named_series(), Some(window));
        let service_of = |s: &str| hunch::bundle::service_of(s).to_string();
        let edges = loaded.incident.call_edges();
        let names: Vec<String> = loaded
            .incident
            .services
            .iter()
            .map(|s| s.name.clone())
            .collect();
        let target = first_named(&loaded.incident.alert, &names);
        let alerted = signals(&loaded.incident.alert);
        let position = |order: Vec<String>| {
            order
                .iter()
                .position(|s| s.eq_ignore_ascii_case(truth))
                .map_or(0, |p| p + 1)
        };
        let old = rank_services(&ranking, service_of);
        let plain = services_by_harm(&ranking, service_of, Paging::default());
        let paging = Paging {
            service: target.as_deref(),
            alerted: &alerted,
        };
        let aware = services_by_harm(&ranking, service_of, paging);
        let row = [
            position(old.into_iter().map(|(s, _)| s).collect()),
            position(plain.iter().map(|m| m.service.clone()).collect()),
            position(
                along_the_graph(&plain, &edges, target.as_deref(), None)
                    .into_iter()
                    .map(|(s, _)| s)
                    .collect(),
            ),
            position(
                along_the_graph(&aware, &edges, target.as_deref(), alerted.first().copied())
                    .into_iter()
                    .map(|(s, _)| s)
                    .collect(),
            ),
        ];
        if std::env::var_os("HUNCH_BENCH_VERBOSE").is_some() {
            println!(
                "    {} {truth}: positions {row:?}; harm-aware top {:?}",
                bundle.display(),
                aware
                    .iter()
                    .take(3)
                    .map(|m| (&m.series, m.score))
                    .collect::<Vec<_>>()
            );
        }
        self.0.push(row);
    }

    fn print(&self, label: &str) {
        let n = self.0.len().max(1) as f64;
        let at = |method: usize, k: usize| {
            self.0
                .iter()
                .filter(|p| p[method] >= 1 && p[method] <= k)
                .count() as f64
                / n
        };
        let methods = [
            "direction-blind (old)",
            "harm-aware",
            "harm-aware + graph + target",
            "… + the alert's signal kind",
        ];
        println!(
            "metrics rank --by service on {label} ({} cases):",
            self.0.len()
        );
        for (i, name) in methods.iter().enumerate() {
            println!("  {name:<32} AS@1 {:.2}  AS@3 {:.2}", at(i, 1), at(i, 3));
        }
    }
}

/// The onset window of an rcd case as `metrics rank --normal --anomalous` sees it: the
/// anomalous rows begin where `rcd_bundle` put them, one step after the normal ones.
fn rcd_split(bundle: &Path) -> OnsetWindow {
    let loaded = hunch::bundle::Bundle::load(bundle).unwrap();
    let times = &loaded.metrics.times;
    let fired = loaded.incident.fired_at.timestamp();
    // `rcd_bundle` fires the alert 61 s after the last normal row.
    let first = times
        .iter()
        .copied()
        .find(|t| *t > fired - 61)
        .unwrap_or(fired);
    let step = match times.as_slice() {
        [a, b, ..] => b - a,
        _ => 60,
    };
    OnsetWindow::after_split(first, times.last().copied().unwrap_or(first), step, step)
}

fn rank_positions(root: &Path) {
    let mut nezha = RankPositions::default();
    let dir = root.join("nezha-trainticket");
    let mut bundles: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("TRUTH.toml").is_file())
        .collect();
    bundles.sort();
    for bundle in &bundles {
        let truth: Truth =
            toml::from_str(&std::fs::read_to_string(bundle.join("TRUTH.toml")).unwrap()).unwrap();
        nezha.add(bundle, &truth.root_cause_service, None);
    }
    nezha.print("nezha-trainticket");
    let mut rcd = RankPositions::default();
    let mut folders: Vec<PathBuf> = std::fs::read_dir(root.join("rcd-sockshop"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    folders.sort();
    for folder in folders {
        let label = folder.file_name().unwrap().to_string_lossy().into_owned();
        let Some((service, _)) = label.rsplit_once('-') else {
            continue;
        };
        for case in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let work = tempfile::tempdir().unwrap();
            let bundle = work.path().join("bundle");
            rcd_bundle(&case.path(), &bundle).unwrap();
            rcd.add(&bundle, service, Some(rcd_split(&bundle)));
        }
    }
    rcd.print("rcd-sockshop");
}

fn main() {
    let Some(root) = datasets() else {
        println!("../shared/datasets is not here: nothing to measure");
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut calibration = Calibration::default();
    graded_set(
        &root.join("incidents"),
        "incidents (dev set)",
        "8/9",
        &runtime,
        &mut calibration,
    );
    graded_set(
        &root.join("nezha-trainticket"),
        "nezha-trainticket (real fault injections, dev set)",
        "8/10",
        &runtime,
        &mut calibration,
    );
    let from_the_fault = tempfile::tempdir().unwrap();
    let cut = from_the_fault_on(&root.join("nezha-trainticket"), from_the_fault.path());
    graded_set(
        from_the_fault.path(),
        &format!("nezha-trainticket, logs and traces from the fault on ({cut} cut)"),
        "none",
        &runtime,
        &mut calibration,
    );
    rcd_cases(&root, &runtime, &mut calibration);
    calibration.print();
    rank_positions(&root);
}
