//! Real sizes in bounded memory: `hunch investigate --bundle … --headless` on generated
//! bundles, with the child's peak RSS read from `wait4`.
//!
//! - logs: a `logs.log` of 64 MB (the demo's logs written over and over). Holding the
//!   lines cost about 3.5× the file (over 200 MB here); streaming them costs what the
//!   digest keeps.
//! - metrics: 6,000 series × 1,440 rows (66 MB of samples). Ranking them through copies
//!   of the whole table cost about 5.5× the samples (over 400 MB here); the table itself
//!   and a slice of series at a time cost about 100 MB.
//!
//! - export: a recorded demo session grown to 300,000 events of streamed reasoning (43
//!   MB). Holding the events, then a redacted copy of them, cost about 6× the file; the
//!   streamed read keeps only what a draft reads.
//!
//! The bounds catch any return to holding or copying, in a few seconds of a debug build.

#[path = "bench/sizes_input.rs"]
mod input;

use std::io::Write;
use std::process::{Command, Stdio};

/// Generated log size, and the peak RSS the whole run must stay under.
const LOG_BYTES: u64 = 64 << 20;
const MAX_RSS_MB: u64 = 128;

/// Generated metric table, and the peak RSS investigating it must stay under.
const SERIES: usize = 6_000;
const ROWS: usize = 1_440;
const MAX_METRICS_RSS_MB: u64 = 170;

/// Events in the grown session, and the peak RSS exporting it must stay under.
const EVENTS: u64 = 300_000;
const MAX_EXPORT_RSS_MB: u64 = 64;

/// Run `command` to its end; its exit status, standard output and error, and peak RSS in
/// MB (from `wait4`, for this child alone).
#[expect(
    clippy::zombie_processes,
    reason = "reaped by wait4, which also gives its rusage"
)]
fn run_measured(command: &mut Command) -> (bool, String, String, u64) {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let child = command
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("start hunch");
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our child's, not yet waited for; both pointers are valid.
    let waited = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(waited, child.id() as i32, "wait4 failed");
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_default();
    (ok, read(&out), read(&err), usage.ru_maxrss as u64 / 1024)
}

#[test]
fn a_large_bundle_is_investigated_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    hunch::bundle::Bundle::write_demo(&bundle).unwrap();
    let logs = std::fs::read(bundle.join("logs.log")).unwrap();
    let copies = LOG_BYTES.div_ceil(logs.len() as u64);
    let mut file = std::io::BufWriter::new(std::fs::File::create(bundle.join("logs.log")).unwrap());
    for _ in 0..copies {
        file.write_all(&logs).unwrap();
    }
    file.flush().unwrap();
    drop(file);
    let records = hunch::bundle::Bundle::demo().logs.len() as u64 * copies;

    let (ok, out, err, rss_mb) = run_measured(
        Command::new(env!("CARGO_BIN_EXE_hunch"))
            .args(["investigate", "--headless", "--bundle"])
            .arg(&bundle)
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("XDG_STATE_HOME", dir.path().join("state")),
    );
    assert!(ok, "investigate failed:\n{err}\n{out}");
    assert!(out.contains("session ended: concluded"), "{out}");
    // Every record went through the digest, at every level.
    assert!(out.contains(&format!("{records} lines →")), "{out}");
    // The headless run says where its first seconds went.
    assert!(
        err.contains(&format!(
            "read logs.log: {} MB, {records} records",
            LOG_BYTES >> 20
        )),
        "{err}"
    );
    assert!(
        rss_mb <= MAX_RSS_MB,
        "investigating a bundle with {} MB of logs peaked at {rss_mb} MB (bound {MAX_RSS_MB} MB)",
        LOG_BYTES >> 20
    );
}

#[test]
fn a_wide_metric_table_is_ranked_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = input::metrics_bundle(dir.path(), SERIES, ROWS);
    let csv_mb = std::fs::metadata(bundle.join("metrics.csv")).unwrap().len() >> 20;
    let (ok, out, err, rss_mb) = run_measured(
        Command::new(env!("CARGO_BIN_EXE_hunch"))
            .args(["investigate", "--headless", "--bundle"])
            .arg(&bundle)
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("XDG_STATE_HOME", dir.path().join("state")),
    );
    assert!(ok, "investigate failed:\n{err}\n{out}");
    // Every series was ranked, and the demo's root cause still tops them.
    assert!(
        out.contains("series changed · top payments_p99_ms"),
        "{out}"
    );
    assert!(
        out.contains(&format!(" of {SERIES} series changed")),
        "{out}"
    );
    assert!(out.contains("session ended: concluded"), "{out}");
    // The headless run says where its first seconds went.
    assert!(
        err.contains(&format!("read metrics.csv: {csv_mb} MB, {ROWS} rows")),
        "{err}"
    );
    assert!(
        rss_mb <= MAX_METRICS_RSS_MB,
        "investigating {SERIES} series × {ROWS} rows peaked at {rss_mb} MB (bound {MAX_METRICS_RSS_MB} MB)"
    );
}

#[test]
fn a_long_session_is_exported_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let hunch = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hunch"));
        command
            .args(args)
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("XDG_STATE_HOME", dir.path().join("state"));
        command
    };
    let (ok, out, err, _) = run_measured(&mut hunch(&["demo", "--headless"]));
    assert!(ok, "the demo session could not be recorded:\n{err}\n{out}");
    let recorded = input::recorded_session(&dir.path().join("data"));
    let grown = dir.path().join("grown.jsonl");
    input::grown_session(&recorded, &grown, EVENTS);

    let export = |file: &std::path::Path| {
        let (ok, out, err, rss_mb) = run_measured(hunch(&["export"]).arg(file));
        assert!(ok, "export failed:\n{err}\n{out}");
        (out, rss_mb)
    };
    let (draft, rss_mb) = export(&grown);
    // The draft of the grown session tells the same incident as the recording's.
    let (original, _) = export(&recorded);
    let conclusion = |md: &str| {
        md.lines()
            .find(|l| l.contains("Root cause"))
            .map(str::to_string)
    };
    assert!(conclusion(&draft).is_some(), "{draft}");
    assert_eq!(conclusion(&draft), conclusion(&original));
    assert!(
        rss_mb <= MAX_EXPORT_RSS_MB,
        "exporting a session of {EVENTS} events peaked at {rss_mb} MB (bound {MAX_EXPORT_RSS_MB} MB)"
    );
}
