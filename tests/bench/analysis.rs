//! Benchmark of the analysis layer on real public data (`../shared/datasets`).
//! Prints a table with hunch's figures beside the baselines measured in the same run.
//! Exits 0 with a note when the datasets are absent.

use hunch::analysis::grouping::GroupingConfig;
use hunch::analysis::templates::{LineClusters, MaskRules};
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

/// One loghub-2k system: messages with their ground-truth event ids and templates.
struct Loghub {
    messages: Vec<String>,
    events: Vec<String>,
    templates: Vec<String>,
    /// The raw lines, headers and all, when the raw log has one line per message.
    raw: Option<Vec<String>>,
}

fn loghub(dir: &Path, system: &str) -> Loghub {
    let path = dir.join(format!(
        "loghub-2k/{system}/{system}_2k.log_structured_corrected.csv"
    ));
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let content = headers.iter().position(|h| h == "Content").unwrap();
    let event = headers.iter().position(|h| h == "EventId").unwrap();
    let template = headers.iter().position(|h| h == "EventTemplate").unwrap();
    let mut loghub = Loghub {
        messages: Vec::new(),
        events: Vec::new(),
        templates: Vec::new(),
        raw: None,
    };
    for record in reader.records() {
        let record = record.unwrap();
        loghub.messages.push(record[content].to_string());
        loghub.events.push(record[event].to_string());
        loghub.templates.push(record[template].to_string());
    }
    let raw = std::fs::read_to_string(dir.join(format!("loghub-2k/{system}/{system}_2k.log"))).map(
        |text| {
            text.lines()
                .map(|l| l.trim_end_matches('\r').to_string())
                .collect::<Vec<_>>()
        },
    );
    loghub.raw = raw.ok().filter(|raw| raw.len() == loghub.messages.len());
    loghub
}

/// A template as Loghub-2.0 compares them (its `correct_single_template`, applied to
/// the ground truth and to every parser's output alike): named placeholders (`<num>`)
/// read as `<*>`, whitespace collapsed, path-like and all-digit tokens are variables, and
/// variables joined by `.`, `:` or nothing are one.
fn corrected(template: &str) -> String {
    use regex::Regex;
    use std::sync::LazyLock;
    static NAMED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<\w+>|<>").unwrap());
    static PATH_SPLIT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"[\s,!;:=|"'\[\](){}]"#).unwrap());
    static PATH: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(/[^/]+)+$").unwrap());
    static TOKEN_SPLIT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"[\s,!;:=|"'\[\](){}.\-+@#$%&]"#).unwrap());
    static WORD_WITH_VARIABLE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[^\s/]*<\*>[^\s/]*$").unwrap());
    let split_keeping = |text: &str, delimiters: &Regex, each: &dyn Fn(&str) -> bool| {
        let mut out = String::new();
        let mut last = 0;
        let push = |token: &str, out: &mut String| {
            out.push_str(if each(token) { "<*>" } else { token });
        };
        for m in delimiters.find_iter(text) {
            push(&text[last..m.start()], &mut out);
            out.push_str(m.as_str());
            last = m.end();
        }
        push(&text[last..], &mut out);
        out
    };
    let template = NAMED.replace_all(template, "<*>");
    let template = template.split_whitespace().collect::<Vec<_>>().join(" ");
    let template = split_keeping(&template, &PATH_SPLIT, &|t| PATH.is_match(t));
    let mut template = split_keeping(&template, &TOKEN_SPLIT, &|t| {
        let lower = t.to_lowercase();
        ["true", "false", "null", "root", "admin"].contains(&lower.as_str())
            || (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            || (WORD_WITH_VARIABLE.is_match(t) && t != "<*>/<*>")
    });
    for pair in ["<*>.<*>", "<*><*>", "#<*>#", "<*>:<*>"] {
        while template.contains(pair) {
            template = template.replace(pair, "<*>");
        }
    }
    template
}

/// Parsing accuracy (Loghub-2.0's PA): the share of lines whose template, corrected,
/// equals their true template, corrected.
fn parsing_accuracy<'a>(predicted: impl Iterator<Item = &'a str>, truth: &[String]) -> f64 {
    let mut memo: HashMap<&str, String> = HashMap::new();
    let correct = predicted
        .zip(truth)
        .filter(|(p, t)| {
            let p = memo.entry(p).or_insert_with(|| corrected(p)).clone();
            p == *memo.entry(t.as_str()).or_insert_with(|| corrected(t))
        })
        .count();
    correct as f64 / truth.len() as f64
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

/// drain3's cluster id and final template per message (default config), through the
/// baseline script.
fn drain3_cluster(messages: &[String]) -> (Vec<usize>, Vec<String>) {
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
        .map(|l| {
            let (id, template) = l.split_once('\t').unwrap();
            (id.parse::<usize>().unwrap(), template.to_string())
        })
        .unzip()
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

/// The settings leave-one-system-out chooses among.
fn grid() -> Vec<GroupingConfig> {
    let mut configs = vec![GroupingConfig::default()];
    for min_values in [2, 3, 4, 5] {
        for min_flag_values in [3, 5, 8] {
            for join_spans in [false, true] {
                for min_constant_share in [0.0, 0.34, 0.5, 0.6] {
                    let config = GroupingConfig {
                        min_values,
                        min_flag_values,
                        join_spans,
                        min_constant_share,
                    };
                    if !configs.contains(&config) {
                        configs.push(config);
                    }
                }
            }
        }
    }
    configs
}

/// Grouping accuracy of each system under each configuration, masking with `rules`:
/// `accuracy[config][system]`. Masking runs once per system; grouping once per config.
fn accuracy_grid(
    systems: &[Loghub],
    configs: &[GroupingConfig],
    rules: MaskRules,
) -> Vec<Vec<f64>> {
    let masked: Vec<LineClusters> = systems
        .iter()
        .map(|system| {
            let mut clusters = LineClusters::with_rules(rules);
            for message in &system.messages {
                clusters.add(message);
            }
            clusters
        })
        .collect();
    configs
        .iter()
        .map(|config| {
            masked
                .iter()
                .zip(systems)
                .map(|(clusters, system)| {
                    let clustered = clusters.clone().finish_with(*config);
                    let ids: Vec<usize> = clustered.ids.iter().map(|&i| i as usize).collect();
                    grouping_accuracy(&ids, &system.events)
                })
                .collect()
        })
        .collect()
}

/// For each system: the settings that do best on the others, and its accuracy with them.
fn leave_one_out(
    accuracy: &[Vec<f64>],
    held_out: usize,
    allowed: impl Fn(usize) -> bool,
) -> (usize, f64) {
    let mean_without = |c: usize| {
        accuracy[c]
            .iter()
            .enumerate()
            .filter(|(s, _)| *s != held_out)
            .map(|(_, a)| a)
            .sum::<f64>()
    };
    // The first best wins, so the default is kept on a tie.
    let mut best: Option<usize> = None;
    for c in (0..accuracy.len()).filter(|&c| allowed(c)) {
        if best.is_none_or(|b| mean_without(c) > mean_without(b) + 1e-12) {
            best = Some(c);
        }
    }
    let best = best.expect("a configuration is allowed");
    (best, accuracy[best][held_out])
}

/// Grouping (GA) and parsing (PA) accuracy on the loghub-2k systems with the default
/// settings, beside drain3's; the same from the raw lines, headers read by hunch; then
/// two leave-one-system-out estimates: settings chosen on the other nine (`LOSO`), and
/// settings chosen on the other nine with every masking rule written from the held-out
/// system switched off (`honest`, see `MaskRules::PROVENANCE`).
fn log_parsing(dir: &Path, drain3: bool) {
    println!(
        "log parsing on loghub-2k, one default configuration (raw: from the raw lines, headers read by hunch)"
    );
    println!(
        "{:<10} {:>6} {:>6} {:>8} {:>8} {:>6} {:>6} {:>6} {:>7}",
        "system", "GA", "PA", "drain3GA", "drain3PA", "rawGA", "rawPA", "LOSO", "honest"
    );
    let systems: Vec<Loghub> = SYSTEMS.iter().map(|s| loghub(dir, s)).collect();
    let configs = grid();
    let accuracy = accuracy_grid(&systems, &configs, MaskRules::ALL);
    // Held out, the `key=literal` distinction (written from Linux) goes too: such
    // values then need as many values as any other to be a parameter.
    let flagless = |c: usize| configs[c].min_flag_values == configs[c].min_values;
    let mut honest_grids: HashMap<MaskRules, Vec<Vec<f64>>> = HashMap::new();
    let n = SYSTEMS.len() as f64;
    let mut sums = [0.0; 8];
    let mut worst = (1.0f64, "");
    let mut picks = Vec::new();
    for (index, (name, system)) in SYSTEMS.iter().zip(&systems).enumerate() {
        let clustered = hunch::analysis::templates::cluster_with(
            system.messages.iter().map(String::as_str),
            GroupingConfig::default(),
        );
        let ga = accuracy[0][index];
        let pa = parsing_accuracy(clustered.line_templates(), &system.templates);
        debug_system(name, system, &clustered);
        let (drain_ga, drain_pa) = if drain3 {
            let (ids, templates) = drain3_cluster(&system.messages);
            (
                grouping_accuracy(&ids, &system.events),
                parsing_accuracy(templates.iter().map(String::as_str), &system.templates),
            )
        } else {
            (f64::NAN, f64::NAN)
        };
        let (raw_ga, raw_pa) = match &system.raw {
            Some(raw) => {
                let clustered = hunch::analysis::templates::cluster_with(
                    raw.iter().map(String::as_str),
                    GroupingConfig::default(),
                );
                let ids: Vec<usize> = clustered.ids.iter().map(|&i| i as usize).collect();
                (
                    grouping_accuracy(&ids, &system.events),
                    parsing_accuracy(clustered.line_templates(), &system.templates),
                )
            }
            None => (f64::NAN, f64::NAN),
        };
        let (loso_pick, loso) = leave_one_out(&accuracy, index, |_| true);
        if loso_pick != 0 {
            picks.push(format!("{name}: {:?}", configs[loso_pick]));
        }
        let rules = MaskRules::not_from(name);
        let honest_grid = honest_grids
            .entry(rules)
            .or_insert_with(|| accuracy_grid(&systems, &configs, rules));
        let (_, honest) = leave_one_out(honest_grid, index, |c| *name != "Linux" || flagless(c));
        let row = [ga, pa, drain_ga, drain_pa, raw_ga, raw_pa, loso, honest];
        for (sum, value) in sums.iter_mut().zip(row) {
            *sum += value;
        }
        if ga < worst.0 {
            worst = (ga, name);
        }
        println!(
            "{name:<10} {ga:>6.3} {pa:>6.3} {drain_ga:>8.3} {drain_pa:>8.3} {raw_ga:>6.3} {raw_pa:>6.3} {loso:>6.3} {honest:>7.3}"
        );
    }
    let [ga, pa, drain_ga, drain_pa, raw_ga, raw_pa, loso, honest] = sums.map(|s| s / n);
    println!(
        "{:<10} {ga:>6.3} {pa:>6.3} {drain_ga:>8.3} {drain_pa:>8.3} {raw_ga:>6.3} {raw_pa:>6.3} {loso:>6.3} {honest:>7.3}   (lowest GA: {} {:.3})",
        "average", worst.1, worst.0
    );
    println!(
        "LOSO: settings chosen on nine systems from {} candidates, measured on the tenth{}",
        configs.len(),
        if picks.is_empty() {
            " · the default was chosen every time".to_string()
        } else {
            format!(" · other settings chosen: {}", picks.join("; "))
        }
    );
    let provenance: Vec<String> = MaskRules::PROVENANCE
        .iter()
        .map(|(_, rule, from)| {
            if from.is_empty() {
                format!("{rule} (format docs)")
            } else {
                format!("{rule} ({})", from.join(", "))
            }
        })
        .collect();
    println!(
        "honest: LOSO with the masking rules written from the held-out system off: {}; key=literal flags (Linux)",
        provenance.join(", ")
    );
    if std::env::var("HUNCH_DEBUG_RULES").is_ok() {
        // What each rule is worth: GA per system with it off.
        for (rule, name, _) in MaskRules::PROVENANCE {
            let without = accuracy_grid(&systems, &configs[..1], MaskRules::ALL.without(*rule));
            let row: Vec<String> = without[0].iter().map(|a| format!("{a:.3}")).collect();
            println!("  without {name:<20} {}", row.join(" "));
        }
    }
    if std::env::var("HUNCH_DEBUG_GRID").is_ok() {
        let mut order: Vec<usize> = (0..configs.len()).collect();
        order.sort_by(|&a, &b| {
            let sum = |c: usize| accuracy[c].iter().sum::<f64>();
            sum(b).total_cmp(&sum(a))
        });
        for &c in order.iter().take(8) {
            println!(
                "  {:.4}  {:?}",
                accuracy[c].iter().sum::<f64>() / n,
                configs[c]
            );
        }
    }
}

/// For tuning, when `HUNCH_DEBUG_SYSTEM` or `HUNCH_DEBUG_PA` names this system: the
/// groups it got wrong, or its most common wrong templates.
fn debug_system(name: &str, system: &Loghub, clustered: &hunch::analysis::templates::Clustered) {
    if std::env::var("HUNCH_DEBUG_SYSTEM").is_ok_and(|s| s == name) {
        let ids: Vec<usize> = clustered.ids.iter().map(|&i| i as usize).collect();
        explain(&system.messages, &ids, &system.events);
    }
    if std::env::var("HUNCH_DEBUG_HEADER").is_ok_and(|s| s == name) {
        for message in &system.messages {
            let read = hunch::analysis::logheader::split(message).message;
            if read != message.trim() {
                println!("  header read in a message: {message:?} -> {read:?}");
            }
        }
    }
    if std::env::var("HUNCH_DEBUG_PA").is_ok_and(|s| s == name) {
        let mut wrong: HashMap<(String, String), usize> = HashMap::new();
        for (p, t) in clustered.line_templates().zip(&system.templates) {
            let (p, t) = (corrected(p), corrected(t));
            if p != t {
                *wrong.entry((p, t)).or_default() += 1;
            }
        }
        let mut wrong: Vec<_> = wrong.into_iter().collect();
        wrong.sort_by_key(|w| std::cmp::Reverse(w.1));
        for ((p, t), n) in wrong.iter().take(25) {
            println!("{n:>5}  ours  {p}\n       truth {t}");
        }
    }
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
    log_parsing(&dir, drain3);
    if std::env::var("HUNCH_BENCH_ONLY").is_ok_and(|only| only == "logs") {
        return;
    }

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
    let mut pool = loghub(&dir, "HDFS").messages;
    pool.extend(loghub(&dir, "BGL").messages);
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
