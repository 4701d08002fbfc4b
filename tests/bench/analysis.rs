//! Benchmark of the analysis layer on real public data (`../shared/datasets`).
//! Prints a table with hunch's figures beside the baselines measured in the same run.
//! Exits 0 with a note when the datasets are absent.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

const SYSTEMS: &[&str] = &[
    "Apache",
    "BGL",
    "HDFS",
    "HPC",
    "Hadoop",
    "Linux",
    "OpenSSH",
    "Spark",
    "Windows",
    "Zookeeper",
];

fn datasets() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets");
    dir.is_dir().then_some(dir)
}

/// (messages, ground-truth event ids) of one loghub-2k system.
fn loghub(dir: &Path, system: &str) -> (Vec<String>, Vec<String>) {
    let path = dir.join(format!(
        "loghub-2k/{system}/{system}_2k.log_structured_corrected.csv"
    ));
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let content = headers.iter().position(|h| h == "Content").unwrap();
    let event = headers.iter().position(|h| h == "EventId").unwrap();
    let mut messages = Vec::new();
    let mut truth = Vec::new();
    for record in reader.records() {
        let record = record.unwrap();
        messages.push(record[content].to_string());
        truth.push(record[event].to_string());
    }
    (messages, truth)
}

/// Grouping accuracy: a line counts when its predicted group is exactly its true group.
pub fn grouping_accuracy(predicted: &[usize], truth: &[String]) -> f64 {
    let mut by_pred: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut by_truth: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (p, t)) in predicted.iter().zip(truth).enumerate() {
        by_pred.entry(*p).or_default().push(i);
        by_truth.entry(t.as_str()).or_default().push(i);
    }
    let correct: usize = by_pred
        .values()
        .filter(|lines| {
            let t = &truth[lines[0]];
            by_truth[t.as_str()].len() == lines.len() && lines.iter().all(|&i| truth[i] == *t)
        })
        .map(Vec::len)
        .sum();
    correct as f64 / truth.len() as f64
}

/// For tuning: the true groups that were split or merged, with examples.
fn explain(messages: &[String], predicted: &[usize], truth: &[String]) {
    let mut by_truth: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, t) in truth.iter().enumerate() {
        by_truth.entry(t.as_str()).or_default().push(i);
    }
    for (t, lines) in by_truth {
        let mut preds: Vec<usize> = lines.iter().map(|&i| predicted[i]).collect();
        preds.sort();
        preds.dedup();
        let merged = predicted
            .iter()
            .enumerate()
            .any(|(i, p)| preds.contains(p) && truth[i] != t);
        if preds.len() > 1 || merged {
            println!(
                "--- {t}: {} lines, {} predicted groups{}",
                lines.len(),
                preds.len(),
                if merged { ", merged with others" } else { "" }
            );
            let mut shown = std::collections::HashSet::new();
            for &i in &lines {
                if shown.insert(predicted[i]) && shown.len() <= 4 {
                    println!(
                        "    {}  =>  {}",
                        messages[i],
                        hunch::analysis::templates::template_of(&messages[i])
                    );
                }
            }
        }
    }
}

fn baseline_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bench/baselines.py")
}

fn drain3_available() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import drain3"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// drain3's cluster ids for `messages` (default config), through the baseline script.
fn drain3_cluster(messages: &[String]) -> Vec<usize> {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .arg(baseline_script())
        .arg("cluster")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input = messages.join("\n");
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The 50 rcd-sockshop cases: (service, metrics with normal then anomalous rows).
fn sockshop(dir: &Path) -> Vec<(String, hunch::bundle::MetricTable)> {
    let root = dir.join("rcd-sockshop");
    let mut cases = Vec::new();
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    folders.sort();
    for folder in folders {
        let name = folder.file_name().unwrap().to_string_lossy().into_owned();
        let service = name.rsplit_once('-').unwrap().0.to_string();
        for n in 1..=5 {
            let case = folder.join(n.to_string());
            let read = |file: &str| {
                let text = std::fs::read_to_string(case.join(file)).unwrap();
                hunch::bundle::MetricTable::parse(&text, &format!("{name}/{n}/{file}")).unwrap()
            };
            cases.push((
                service.clone(),
                hunch::bundle::MetricTable::concat_rows(
                    &read("normal.csv"),
                    &read("anomalous.csv"),
                ),
            ));
        }
    }
    cases
}

/// AC@k for k = 1..=5 over the cases, from each case's ranked services.
fn accuracy_at(ranked: &[(String, Vec<String>)]) -> [f64; 5] {
    let mut acc = [0.0; 5];
    for (truth, services) in ranked {
        if let Some(pos) = services.iter().position(|s| s == truth) {
            for slot in acc.iter_mut().skip(pos) {
                *slot += 1.0;
            }
        }
    }
    acc.map(|a| a / ranked.len() as f64)
}

fn main() {
    let Some(dir) = datasets() else {
        println!("../shared/datasets is absent: nothing to benchmark");
        return;
    };
    let drain3 = drain3_available();
    if !drain3 {
        println!(
            "(drain3 is not installed: `pip install drain3` to measure the baseline beside hunch)"
        );
    }
    println!("grouping accuracy on loghub-2k, one default configuration");
    println!("{:<10} {:>8} {:>8}", "system", "hunch", "drain3");
    let (mut total, mut total_drain, mut worst) = (0.0, 0.0, (1.0f64, ""));
    for system in SYSTEMS {
        let (messages, truth) = loghub(&dir, system);
        let ids = hunch::analysis::templates::cluster(messages.iter().map(String::as_str));
        let ga = grouping_accuracy(&ids, &truth);
        if std::env::var("HUNCH_DEBUG_SYSTEM").is_ok_and(|s| s == *system) {
            explain(&messages, &ids, &truth);
        }
        total += ga;
        if ga < worst.0 {
            worst = (ga, system);
        }
        let baseline = if drain3 {
            grouping_accuracy(&drain3_cluster(&messages), &truth)
        } else {
            f64::NAN
        };
        total_drain += baseline;
        println!("{system:<10} {ga:>8.3} {baseline:>8.3}");
    }
    let n = SYSTEMS.len() as f64;
    println!(
        "{:<10} {:>8.3} {:>8.3}   (lowest: {} {:.3})",
        "average",
        total / n,
        total_drain / n,
        worst.1,
        worst.0
    );

    // Root-cause ranking on rcd-sockshop, the fault time not given.
    let cases = sockshop(&dir);
    let mut times = Vec::new();
    let mut ranked = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        ranked = cases
            .iter()
            .map(|(truth, table)| {
                let ranking =
                    hunch::analysis::rank::rank(&table.times, &table.named_series(), None);
                let services = hunch::analysis::rank::rank_services(&ranking, |s| {
                    hunch::bundle::service_of(s).to_string()
                });
                (
                    truth.clone(),
                    services.into_iter().map(|(s, _)| s).collect::<Vec<_>>(),
                )
            })
            .collect();
        times.push(start.elapsed().as_secs_f64());
    }
    let acc = accuracy_at(&ranked);
    let avg5 = acc.iter().sum::<f64>() / 5.0;
    println!(
        "\nservice ranking on rcd-sockshop ({} cases, fault time not given)",
        cases.len()
    );
    println!(
        "hunch AC@1 {:.3} · Avg@5 {:.3} · {:.1} ms for all cases (median of 3)",
        acc[0],
        avg5,
        median(times.clone()) * 1e3
    );
    let baro = std::process::Command::new("python3")
        .arg(baseline_script())
        .arg("baro")
        .arg(&dir)
        .output();
    match baro {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let v: Vec<f64> = text
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            if let [ac1, avg5, seconds] = v[..] {
                println!(
                    "BARO  AC@1 {ac1:.3} · Avg@5 {avg5:.3} · {:.1} ms, fault time given · hunch is {:.1}x faster",
                    seconds * 1e3,
                    seconds / median(times.clone())
                );
            }
        }
        _ => println!(
            "(BARO is not installed: `pip install rcaeval numpy pandas scikit-learn` to measure it beside hunch)"
        ),
    }
    if std::env::var("HUNCH_DEBUG_RANK").is_ok() {
        for (truth, services) in &ranked {
            if services.first() != Some(truth) {
                println!("  missed {truth}: {:?}", &services[..5.min(services.len())]);
            }
        }
    }

    // Metric sifting on rcd-sockshop: kept a root-cause series? how much dropped?
    let mut sift_times = Vec::new();
    let mut outcome = (0usize, 0usize, 0usize);
    for _ in 0..3 {
        let start = Instant::now();
        let sifted: Vec<_> = cases
            .iter()
            .map(|(_, t)| hunch::analysis::rank::sift(&t.times, &t.named_series(), None))
            .collect();
        sift_times.push(start.elapsed().as_secs_f64());
        outcome = (0, 0, 0);
        for ((truth, table), s) in cases.iter().zip(&sifted) {
            outcome.0 += usize::from(
                s.kept
                    .iter()
                    .any(|k| hunch::bundle::service_of(&k.series) == truth),
            );
            outcome.1 += table.columns.len() - s.kept.len();
            outcome.2 += table.columns.len();
        }
    }
    println!("\nmetric sifting on rcd-sockshop ({} cases)", cases.len());
    println!(
        "hunch keeps a root-cause series in {}/{} cases · drops {:.0}% of series · {:.1} ms (median of 3)",
        outcome.0,
        cases.len(),
        100.0 * outcome.1 as f64 / outcome.2 as f64,
        median(sift_times.clone()) * 1e3
    );
    let sifter = std::process::Command::new("python3")
        .arg(baseline_script())
        .arg("sift")
        .arg(&dir)
        .output();
    match sifter {
        Ok(out) if out.status.success() => {
            let v: Vec<f64> = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            if let [kept, dropped, seconds] = v[..] {
                println!(
                    "MetricSifter keeps {kept}/{} · drops {:.0}% · {:.1} ms · hunch is {:.1}x faster",
                    cases.len(),
                    dropped * 100.0,
                    seconds * 1e3,
                    seconds / median(sift_times)
                );
            }
        }
        _ => println!(
            "(MetricSifter is not installed: `pip install metricsifter` to measure it beside hunch)"
        ),
    }

    // Throughput: 1M lines of HDFS+BGL messages, one core, medians of 3.
    let mut pool = loghub(&dir, "HDFS").0;
    pool.extend(loghub(&dir, "BGL").0);
    let lines: Vec<String> = pool.iter().cycle().take(1_000_000).cloned().collect();
    let rates: Vec<f64> = (0..3)
        .map(|_| {
            let start = Instant::now();
            let ids = hunch::analysis::templates::cluster(lines.iter().map(String::as_str));
            assert_eq!(ids.len(), lines.len());
            lines.len() as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    let hunch_rate = median(rates);
    println!("\nthroughput, 1M lines of HDFS+BGL messages, one core (median of 3)");
    if drain3 {
        let file = std::env::temp_dir().join(format!("hunch-bench-{}.log", std::process::id()));
        std::fs::write(&file, lines.join("\n")).unwrap();
        let out = std::process::Command::new("python3")
            .arg(baseline_script())
            .arg("throughput")
            .arg(&file)
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&file);
        let drain_rate: f64 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(f64::NAN);
        println!(
            "hunch {:.0}k lines/s · drain3 {:.0}k lines/s · {:.1}x",
            hunch_rate / 1e3,
            drain_rate / 1e3,
            hunch_rate / drain_rate
        );
    } else {
        println!("hunch {:.0}k lines/s", hunch_rate / 1e3);
    }
}
