//! Benchmark: the trace digest on about a million spans of OTLP/JSON lines, beside a
//! straightforward baseline in the same run.
//!
//! The input is generated deterministically into a temp file: a shop of 12 services
//! whose traces (11 spans each, client and server spans for every call) arrive the way
//! the Collector's file exporter writes them — one line per service per batch of 50
//! traces — over two simulated hours, with one service's own time ten times longer for
//! the last 40% of them. The digest streams the file (automatic onset, critical paths
//! and all) three times; the median is reported as lines/s and spans/s, with the peak
//! RSS of the digest alone (`VmHWM` after resetting it). The baseline is Python reading
//! the same file with `json.loads` per line and computing every edge's latency list
//! (spans joined across lines in a dict, then the child's duration per caller → callee
//! pair), skipped cleanly without `python3`. It also prints the exact p50/p90/p99 of the
//! busiest edge, to set beside the digest's sketched ones.
//!
//! Run: `cargo bench --bench traces` (`HUNCH_BENCH_SPANS=200000` for a shorter run).

use hunch::analysis::traces::TraceFormat;
use hunch::bundle::traces::TraceFile;
use std::io::Write;
use std::time::{Duration, Instant};

const SERVICES: [&str; 12] = [
    "frontend",
    "gateway",
    "cart",
    "checkout",
    "payments",
    "orders",
    "inventory",
    "catalog",
    "pricing",
    "users",
    "shipping",
    "orders-db",
];
/// Calls below the gateway: (caller, callee) by index into [`SERVICES`].
const SHAPES: [[(usize, usize); 4]; 3] = [
    [(1, 2), (2, 7), (7, 8), (1, 9)],
    [(1, 3), (3, 4), (3, 5), (5, 11)],
    [(1, 3), (3, 6), (6, 11), (3, 10)],
];
const SLOW: usize = 5; // orders
const BATCH: u64 = 50;

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }
    /// Milliseconds with a long tail: mostly near `base`, sometimes 10x.
    fn millis(&mut self, base: u64) -> u64 {
        let r = self.next() % 100;
        base + self.next() % base.max(1) + if r == 0 { 10 * base } else { 0 }
    }
}

struct SpanOut {
    service: usize,
    json: String,
}

#[allow(clippy::too_many_arguments)]
fn span(
    trace: u128,
    id: u64,
    parent: u64,
    name: &str,
    kind: u8,
    start: u64,
    end: u64,
    service: usize,
) -> SpanOut {
    let parent = if parent == 0 {
        String::new()
    } else {
        format!("{parent:016x}")
    };
    SpanOut {
        service,
        json: format!(
            r#"{{"traceId":"{trace:032x}","spanId":"{id:016x}","parentSpanId":"{parent}","name":"{name}","kind":{kind},"startTimeUnixNano":"{start}","endTimeUnixNano":"{end}","attributes":[{{"key":"http.response.status_code","value":{{"intValue":"200"}}}}]}}"#
        ),
    }
}

/// What one trace is being built with.
struct Builder<'a> {
    rng: &'a mut Rng,
    trace: u128,
    calls: Vec<(usize, usize)>,
    slow: bool,
    next_id: u64,
    out: Vec<SpanOut>,
}

const MS: u64 = 1_000_000;

impl Builder<'_> {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A server span of `service` starting at `at` under `parent`, with a client and a
    /// server span for each of its calls, one after another; returns its end.
    fn serve(&mut self, service: usize, parent: u64, at: u64, name: &str) -> u64 {
        let id = self.id();
        let mut t = at + MS;
        let calls: Vec<usize> = self
            .calls
            .iter()
            .filter(|c| c.0 == service)
            .map(|c| c.1)
            .collect();
        for callee in calls {
            let client = self.id();
            let end = self.serve(callee, client, t + MS / 2, "handle") + MS / 2;
            let trace = self.trace;
            self.out.push(span(
                trace,
                client,
                id,
                SERVICES[callee],
                3,
                t,
                end,
                service,
            ));
            t = end + MS / 4;
        }
        let own = self.rng.millis(3) * if self.slow && service == SLOW { 10 } else { 1 };
        let end = t + own * MS;
        self.out
            .push(span(self.trace, id, parent, name, 2, at, end, service));
        end
    }
}

/// One trace's spans: `frontend` calls `gateway`, which calls along one of [`SHAPES`];
/// 11 spans.
fn trace(rng: &mut Rng, n: u64, start: u64, slow: bool) -> Vec<SpanOut> {
    let trace = (u128::from(n) << 64) | u128::from(rng.next());
    let mut calls = vec![(0, 1)];
    calls.extend(SHAPES[(n % 3) as usize]);
    let mut builder = Builder {
        rng,
        trace,
        calls,
        slow,
        next_id: n << 8,
        out: Vec::with_capacity(11),
    };
    builder.serve(0, 0, start, "GET /");
    builder.out
}

/// Write about `spans` spans as OTLP/JSON lines; returns (lines, spans).
fn generate(path: &std::path::Path, spans: u64) -> (u64, u64) {
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut rng = Rng(20);
    let traces = spans / 11;
    let start = 1_700_000_000u64 * 1_000_000_000;
    let every = 7_200 * 1_000_000_000 / traces.max(1);
    let (mut lines, mut written) = (0, 0);
    for batch in 0..traces.div_ceil(BATCH) {
        let mut by_service: Vec<Vec<String>> = vec![Vec::new(); SERVICES.len()];
        for n in batch * BATCH..((batch + 1) * BATCH).min(traces) {
            let slow = n * 10 >= traces * 6;
            for s in trace(&mut rng, n, start + n * every, slow) {
                by_service[s.service].push(s.json);
                written += 1;
            }
        }
        for (service, spans) in by_service.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
            writeln!(
                file,
                r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"{}"}}}}]}},"scopeSpans":[{{"scope":{{"name":"bench"}},"spans":[{}]}}]}}]}}"#,
                SERVICES[service],
                spans.join(",")
            )
            .unwrap();
            lines += 1;
        }
    }
    file.flush().unwrap();
    (lines, written)
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// Reset the peak RSS (Linux: writing 5 to clear_refs), so VmHWM measures what follows.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

const BASELINE: &str = r#"
import json, sys, time, resource
t0 = time.time()
spans = {}
for line in open(sys.argv[1]):
    req = json.loads(line)
    for rs in req["resourceSpans"]:
        service = next(a["value"]["stringValue"] for a in rs["resource"]["attributes"] if a["key"] == "service.name")
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                spans[(s["traceId"], s["spanId"])] = (service, s.get("parentSpanId", ""),
                    int(s["endTimeUnixNano"]) - int(s["startTimeUnixNano"]))
edges = {}
for (trace, _), (service, parent, duration) in spans.items():
    p = spans.get((trace, parent))
    if p and p[0] != service:
        edges.setdefault((p[0], service), []).append(duration)
busiest = max(edges, key=lambda e: len(edges[e]))
d = sorted(edges[busiest])
q = lambda p: d[max(0, -(-len(d) * p // 100) - 1)] / 1e9
print(time.time() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, len(edges),
      busiest[0], busiest[1], q(50), q(90), q(99))
"#;

fn python_baseline(path: &std::path::Path) -> Option<Vec<String>> {
    let out = std::process::Command::new("python3")
        .args(["-c", BASELINE])
        .arg(path)
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "python3 baseline failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(String::from)
            .collect(),
    )
}

fn main() {
    let target: u64 = std::env::var("HUNCH_BENCH_SPANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traces.jsonl");
    let started = Instant::now();
    let (lines, spans) = generate(&path, target);
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "generated {spans} spans in {lines} lines ({:.0} MB) in {:.1} s",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let file = TraceFile {
        path: path.clone(),
        format: TraceFormat::Otlp,
    };
    let before_kb = status_kb("VmRSS:");
    reset_peak();
    let mut times = Vec::new();
    let mut report = None;
    for _ in 0..3 {
        let t = Instant::now();
        report = Some(file.digest(None, None).expect("the digest reads the file"));
        times.push(t.elapsed());
    }
    let peak_kb = status_kb("VmHWM:");
    let report = report.unwrap();
    let time = median(times.clone()).as_secs_f64();
    println!(
        "digest (median of 3: {:?}): {:.2} s, {:.0} lines/s, {:.0} spans/s, {:.0} MB/s",
        times
            .iter()
            .map(|t| format!("{:.2}", t.as_secs_f64()))
            .collect::<Vec<_>>(),
        time,
        lines as f64 / time,
        spans as f64 / time,
        bytes as f64 / 1e6 / time
    );
    println!(
        "peak RSS during the digest: {} MB (the process held {} MB before it)",
        peak_kb / 1024,
        before_kb / 1024
    );
    println!(
        "report: {} traces, {} edges, {} orphans, onset {} ({:?}), top service {}",
        report.traces,
        report.graph.len(),
        report.orphans,
        report.onset.as_deref().unwrap_or("-"),
        report.onset_source,
        report.services.first().map_or("-", |s| s.service.as_str())
    );
    // The sketch's accuracy: every span on one side (an onset before them all), to set
    // beside the exact percentiles the baseline computes over all spans.
    let whole = file
        .digest(None, Some(1))
        .expect("the digest reads the file");
    let busiest = &whole.graph[0];
    let sketched = whole
        .edges
        .iter()
        .filter(|e| e.caller == busiest.caller && e.callee == busiest.callee)
        .filter_map(|e| e.latency_after)
        .next();
    let Some(base) = python_baseline(&path) else {
        println!("python3 baseline: skipped (python3 not found)");
        return;
    };
    let (py_time, py_rss_kb): (f64, u64) = (base[0].parse().unwrap(), base[1].parse().unwrap());
    println!(
        "python3 baseline (json.loads per line, per-edge latency lists): {py_time:.2} s, {:.0} lines/s, peak RSS {} MB, {} edges",
        lines as f64 / py_time,
        py_rss_kb / 1024,
        base[2]
    );
    println!(
        "ratio: the digest is {:.1}x faster than the baseline, in {:.1}x less memory",
        py_time / time,
        py_rss_kb as f64 / peak_kb.max(1) as f64
    );
    println!(
        "busiest edge {} → {}: p50/p90/p99 over all its spans, exact {} / {} / {} s (python), sketched {}",
        base[3],
        base[4],
        base[5],
        base[6],
        base[7],
        sketched.map_or("-".into(), |p| format!(
            "{} / {} / {} s",
            p.p50, p.p90, p.p99
        ))
    );
}
