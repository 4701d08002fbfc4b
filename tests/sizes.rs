//! Real sizes in bounded memory: `hunch investigate --bundle … --headless` on a generated
//! bundle whose `logs.log` is 64 MB (the demo's logs written over and over), with the
//! child's peak RSS read from `wait4`. Holding the lines cost about 3.5× the file (over
//! 200 MB here); streaming them costs what the digest keeps, so the bound below catches
//! any return to holding them, in a few seconds of a debug build.

use std::io::Write;
use std::process::{Command, Stdio};

/// Generated log size, and the peak RSS the whole run must stay under.
const LOG_BYTES: u64 = 64 << 20;
const MAX_RSS_MB: u64 = 128;

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
