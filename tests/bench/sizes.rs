//! Benchmark: hunch at real sizes — wall time and peak RSS of the real binary on each
//! kind of input, beside the raw read rate of `wc -l` on the same file in the same run.
//!
//! Inputs are generated deterministically into a temp dir from the embedded demo
//! incident (nothing is stored):
//!
//! - **logs**: the demo bundle with its `logs.log` written over and over to 5 MB, 50 MB,
//!   500 MB (and 2 GB with `HUNCH_BENCH_FULL=1`), run through `hunch investigate
//!   --bundle … --headless` (the offline brain digests the logs at every level, once
//!   for the whole bundle and again for its suspects);
//! - **spans**: OTLP/JSON lines of a 12-service shop (the generator of the `traces`
//!   bench), 1M spans (and 10M with `HUNCH_BENCH_FULL=1`), through `hunch traces digest`;
//! - **metrics**: the demo bundle with 10,000 series × 1,440 rows in its `metrics.csv`
//!   (the demo's series, six samples a row, plus deterministic noise series), through
//!   `hunch investigate`;
//! - **session**: a recorded demo session grown to 1M events (streamed reasoning), through
//!   `hunch replay --headless` and `hunch export`.
//!
//! Peak RSS is the child's own (`wait4`). MB/s is the input's size over the wall time;
//! `wc -l` is the raw read rate of the same file (warm page cache), and "× wc" how many
//! times slower than that the command is.
//!
//! Run: `cargo bench --bench sizes` (release); `HUNCH_BENCH_FULL=1` adds the 2 GB log
//! and the 10M spans; `HUNCH_BENCH_ONLY=logs` (or spans, metrics, session) runs one part.

#[path = "sizes_input.rs"]
mod input;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The hunch binary cargo built beside this benchmark (`target/<profile>/hunch`).
fn hunch() -> PathBuf {
    let exe = std::env::current_exe().expect("the bench's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<bench>");
    let bin = profile_dir.join("hunch");
    assert!(
        bin.is_file(),
        "{} is missing: build it first (cargo build --release)",
        bin.display()
    );
    bin
}

struct Measured {
    wall: Duration,
    rss_mb: f64,
    ok: bool,
}

/// Run `command` to its end with its output thrown away; wall time and the child's own
/// peak RSS.
#[expect(
    clippy::zombie_processes,
    reason = "reaped by wait4, which also gives its rusage"
)]
fn measure(command: &mut Command) -> Measured {
    let started = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the command");
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our child's, not yet waited for; both pointers are valid.
    let waited = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(waited, child.id() as i32, "wait4 failed");
    Measured {
        wall: started.elapsed(),
        rss_mb: usage.ru_maxrss as f64 / 1024.0,
        ok: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
    }
}

/// `hunch` with its data and config in `home`, a directory of its own for each run
/// (a run learns from the incidents before it, and each run here starts fresh).
fn hunch_in(home: &Path) -> Command {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let home = home.join(format!("run-{run}"));
    let mut command = Command::new(hunch());
    command
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"));
    command
}

fn row(source: &str, size: &str, input: &Path, m: &Measured) {
    let bytes = std::fs::metadata(input).map(|m| m.len()).unwrap_or(0);
    let mb = bytes as f64 / (1 << 20) as f64;
    let wc = measure(Command::new("wc").arg("-l").arg(input));
    let rate = mb / m.wall.as_secs_f64();
    let wc_rate = mb / wc.wall.as_secs_f64();
    println!(
        "| {source} | {size} | {mb:.0} MB | {:.2} s | {:.0} MB | {rate:.0} MB/s | {wc_rate:.0} MB/s | {:.0}× |{}",
        m.wall.as_secs_f64(),
        m.rss_mb,
        wc_rate / rate,
        if m.ok { "" } else { " FAILED" }
    );
}

/// The demo bundle in `dir` with `logs.log` written over to at least `bytes`.
fn log_bundle(dir: &Path, bytes: u64) -> PathBuf {
    let bundle = dir.join(format!("logs-{bytes}"));
    hunch::bundle::Bundle::write_demo(&bundle).unwrap();
    let logs = std::fs::read(bundle.join("logs.log")).unwrap();
    let mut file = std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(bundle.join("logs.log")).unwrap(),
    );
    for _ in 0..bytes.div_ceil(logs.len() as u64) {
        file.write_all(&logs).unwrap();
    }
    file.flush().unwrap();
    bundle
}

/// A recorded demo session grown to about `events` events (see
/// [`input::grown_session`]).
fn big_session(dir: &Path, events: u64) -> PathBuf {
    let home = dir.join("session-home");
    let run = hunch_in(&home)
        .args(["demo", "--headless"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("hunch demo");
    assert!(run.success(), "the demo session could not be recorded");
    let run_dir = std::fs::read_dir(&home)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let recorded = input::recorded_session(&run_dir.join("data"));
    let path = dir.join("session.jsonl");
    input::grown_session(&recorded, &path, events);
    path
}

fn main() {
    let full = std::env::var_os("HUNCH_BENCH_FULL").is_some();
    let only = std::env::var("HUNCH_BENCH_ONLY").ok();
    let part = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    println!(
        "hunch at real sizes (wall, peak RSS of the process, beside `wc -l` on the same file)\n"
    );
    println!("| source | size | input | wall | max RSS | MB/s | wc -l MB/s | × wc |");
    println!("|---|---|---|---|---|---|---|---|");

    let mut log_sizes: Vec<(&str, u64)> = vec![("5 MB", 5), ("50 MB", 50), ("500 MB", 500)];
    if full {
        log_sizes.push(("2 GB", 2048));
    }
    if !part("logs") {
        log_sizes.clear();
    }
    for (label, mb) in log_sizes {
        let bundle = log_bundle(dir.path(), mb << 20);
        let m = measure(
            hunch_in(&home)
                .args(["investigate", "--headless", "--bundle"])
                .arg(&bundle),
        );
        row("logs (investigate)", label, &bundle.join("logs.log"), &m);
        std::fs::remove_dir_all(&bundle).unwrap();
    }

    let mut span_counts: Vec<(&str, u64)> = vec![("1M spans", 1_000_000)];
    if full {
        span_counts.push(("10M spans", 10_000_000));
    }
    if !part("spans") {
        span_counts.clear();
    }
    for (label, spans) in span_counts {
        let path = dir.path().join("traces.jsonl");
        spans::generate(&path, spans);
        let m = measure(hunch_in(&home).args(["traces", "digest"]).arg(&path));
        row("spans (traces digest)", label, &path, &m);
        std::fs::remove_file(&path).unwrap();
    }

    if part("metrics") {
        metrics(dir.path(), &home);
    }
    if part("session") {
        session(dir.path(), &home);
    }
}

fn metrics(dir: &Path, home: &Path) {
    let bundle = input::metrics_bundle(dir, 10_000, 1_440);
    let m = measure(
        hunch_in(home)
            .args(["investigate", "--headless", "--bundle"])
            .arg(&bundle),
    );
    row(
        "metrics (investigate)",
        "10k series × 1440 rows",
        &bundle.join("metrics.csv"),
        &m,
    );
}

fn session(dir: &Path, home: &Path) {
    let session = big_session(dir, 1_000_000);
    let m = measure(hunch_in(home).args(["replay", "--headless"]).arg(&session));
    row("session (replay --headless)", "1M events", &session, &m);
    let m = measure(hunch_in(home).arg("export").arg(&session));
    row("session (export)", "1M events", &session, &m);
}

/// OTLP/JSON span lines, as the `traces` bench generates them: 12 services, 11 spans a
/// trace, one line per service per batch of 50 traces, over two simulated hours, one
/// service ten times slower for the last 40%.
mod spans {
    use std::io::Write;

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
    const SHAPES: [[(usize, usize); 4]; 3] = [
        [(1, 2), (2, 7), (7, 8), (1, 9)],
        [(1, 3), (3, 4), (3, 5), (5, 11)],
        [(1, 3), (3, 6), (6, 11), (3, 10)],
    ];
    const SLOW: usize = 5;
    const BATCH: u64 = 50;
    const MS: u64 = 1_000_000;

    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
            z ^ (z >> 31)
        }
        fn millis(&mut self, base: u64) -> u64 {
            let r = self.next() % 100;
            base + self.next() % base.max(1) + if r == 0 { 10 * base } else { 0 }
        }
    }

    struct Trace<'a> {
        rng: &'a mut Rng,
        id: u128,
        calls: Vec<(usize, usize)>,
        slow: bool,
        next_id: u64,
        out: Vec<(usize, String)>,
    }

    impl Trace<'_> {
        fn span(
            &mut self,
            id: u64,
            parent: u64,
            name: &str,
            kind: u8,
            start: u64,
            end: u64,
        ) -> String {
            let parent = if parent == 0 {
                String::new()
            } else {
                format!("{parent:016x}")
            };
            format!(
                r#"{{"traceId":"{:032x}","spanId":"{id:016x}","parentSpanId":"{parent}","name":"{name}","kind":{kind},"startTimeUnixNano":"{start}","endTimeUnixNano":"{end}","attributes":[{{"key":"http.response.status_code","value":{{"intValue":"200"}}}}]}}"#,
                self.id
            )
        }

        fn serve(&mut self, service: usize, parent: u64, at: u64, name: &str) -> u64 {
            self.next_id += 1;
            let id = self.next_id;
            let mut t = at + MS;
            let calls: Vec<usize> = self
                .calls
                .iter()
                .filter(|c| c.0 == service)
                .map(|c| c.1)
                .collect();
            for callee in calls {
                self.next_id += 1;
                let client = self.next_id;
                let end = self.serve(callee, client, t + MS / 2, "handle") + MS / 2;
                let json = self.span(client, id, SERVICES[callee], 3, t, end);
                self.out.push((service, json));
                t = end + MS / 4;
            }
            let own = self.rng.millis(3) * if self.slow && service == SLOW { 10 } else { 1 };
            let end = t + own * MS;
            let json = self.span(id, parent, name, 2, at, end);
            self.out.push((service, json));
            end
        }
    }

    /// Write about `spans` spans to `path`.
    pub fn generate(path: &std::path::Path, spans: u64) {
        let mut file =
            std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
        let mut rng = Rng(20);
        let traces = spans / 11;
        let start = 1_700_000_000u64 * 1_000_000_000;
        let every = 7_200 * 1_000_000_000 / traces.max(1);
        for batch in 0..traces.div_ceil(BATCH) {
            let mut by_service: Vec<Vec<String>> = vec![Vec::new(); SERVICES.len()];
            for n in batch * BATCH..((batch + 1) * BATCH).min(traces) {
                let mut calls = vec![(0, 1)];
                calls.extend(SHAPES[(n % 3) as usize]);
                let id = (u128::from(n) << 64) | u128::from(rng.next());
                let mut trace = Trace {
                    rng: &mut rng,
                    id,
                    calls,
                    slow: n * 10 >= traces * 6,
                    next_id: n << 8,
                    out: Vec::with_capacity(11),
                };
                trace.serve(0, 0, start + n * every, "GET /");
                for (service, json) in trace.out {
                    by_service[service].push(json);
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
            }
        }
        file.flush().unwrap();
    }
}
