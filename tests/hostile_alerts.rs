//! Hostile alerts, through the real binary: `--alert-file` given what never ends or
//! blocks, labels carrying terminal escapes, a start centuries away; and `hunch watch`
//! given a wrong secret, an oversized body, a payload with secrets in it and a record
//! file swapped for a symlink.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn payload() -> serde_json::Value {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/alerts/alertmanager.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn hunch(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hunch"));
    command
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env_remove("HUNCH_WATCH_SECRET")
        .env_remove("TMUX");
    command
}

/// Run to the end, or fail the test after `limit` (a hang is the bug).
fn run(mut command: Command, stdin: &[u8], limit: Duration) -> (bool, String, String) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn demo_bundle(dir: &Path) -> String {
    let bundle = dir.join("bundle");
    let mut command = hunch(dir);
    command.args(["demo", "--write-bundle", bundle.to_str().unwrap()]);
    let (ok, _, err) = run(command, b"", Duration::from_secs(60));
    assert!(ok, "{err}");
    bundle.to_str().unwrap().to_string()
}

fn investigate(
    dir: &Path,
    bundle: &str,
    file: &str,
    extra: &[&str],
    stdin: &[u8],
) -> (bool, String, String) {
    let mut command = hunch(dir);
    command.args([
        "investigate",
        "--bundle",
        bundle,
        "--alert-file",
        file,
        "--headless",
    ]);
    command.args(extra);
    run(command, stdin, Duration::from_secs(90))
}

#[test]
fn an_alert_file_that_never_ends_or_blocks_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = demo_bundle(dir.path());
    let (ok, _, err) = investigate(dir.path(), &bundle, "/dev/zero", &[], b"");
    assert!(!ok && err.contains("not a regular file"), "{err}");

    let fifo = dir.path().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let (ok, _, err) = investigate(dir.path(), &bundle, fifo.to_str().unwrap(), &[], b"");
    assert!(!ok && err.contains("not a regular file"), "{err}");

    // An endless stdin is cut at the limit, not read into memory whole.
    let huge = vec![b' '; 5 * 1024 * 1024];
    let (ok, _, err) = investigate(dir.path(), &bundle, "-", &[], &huge);
    assert!(!ok && err.contains("larger than 4 MiB"), "{err}");

    let (ok, _, err) = investigate(dir.path(), &bundle, "-", &[], &[0xff, 0xfe, b'{']);
    assert!(!ok && err.contains("not UTF-8"), "{err}");

    // Nesting past serde's depth limit is refused as JSON, not a stack overflow.
    let deep = "[".repeat(200_000);
    let (ok, _, err) = investigate(dir.path(), &bundle, "-", &[], deep.as_bytes());
    assert!(
        !ok && err.contains("not JSON: recursion limit exceeded"),
        "{err}"
    );

    let index = ["--alert-index", "99"];
    let body = payload().to_string();
    let (ok, _, err) = investigate(dir.path(), &bundle, "-", &index, body.as_bytes());
    assert!(!ok && err.contains("--alert-index 99"), "{err}");
}

#[test]
fn escape_sequences_in_an_alert_never_reach_the_terminal_or_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = demo_bundle(dir.path());
    let mut page = payload();
    let alert = &mut page["alerts"][0];
    alert["labels"]["alertname"] =
        "Checkout\u{1b}]0;owned\u{7}\u{1b}[2JHigh\u{202e}txt.exe\nsession: /tmp/forged.jsonl"
            .into();
    alert["labels"]["service"] = "checkout\u{1b}[31m".into();
    alert["annotations"]["summary"] = "slow \u{1b}]8;;http://evil/\u{7}click\u{1b}]8;;\u{7}".into();
    alert["annotations"]["runbook_url"] = "https://r/\u{1b}[1A\u{1b}[2K".into();
    let (ok, out, err) = investigate(dir.path(), &bundle, "-", &[], page.to_string().as_bytes());
    assert!(ok, "{err}");
    assert!(
        err.contains("alert read as: Alertmanager alert CheckoutHightxt.exe session: /tmp/forged"),
        "{err}"
    );
    assert!(
        !err.lines().any(|l| l.starts_with("session: /tmp/forged")),
        "{err}"
    );
    for text in [&out, &err] {
        assert!(!text.contains(['\u{1b}', '\u{7}', '\u{202e}']), "{text:?}");
    }
    let session = err
        .lines()
        .find_map(|l| l.strip_prefix("session: "))
        .expect("the session file is named");
    let record = std::fs::read_to_string(session).unwrap();
    assert!(!record.contains("\\u001b") && !record.contains('\u{202e}'));
}

#[test]
fn an_alert_start_centuries_away_is_ignored_and_the_investigation_ends() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = demo_bundle(dir.path());
    for start in ["9999-12-31T23:59:59Z", "1970-01-01T00:00:01Z"] {
        let mut page = payload();
        page["alerts"][0]["startsAt"] = start.into();
        let (ok, _, err) = investigate(dir.path(), &bundle, "-", &[], page.to_string().as_bytes());
        assert!(ok, "{err}");
        assert!(
            err.contains(&format!("its start date {} is ignored", &start[..10])),
            "{err}"
        );
    }
}

/// `hunch watch --headless` on a free loopback port; its address.
struct Watch {
    child: Child,
    address: String,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn watch(dir: &Path, secret: &str) -> Watch {
    let mut child = hunch(dir)
        .args(["watch", "--headless", "--listen", "127.0.0.1:0"])
        .env("HUNCH_WATCH_SECRET", secret)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\n") {
        assert_eq!(stdout.read(&mut byte).unwrap(), 1, "watch ended early");
        seen.push(byte[0]);
    }
    let line = String::from_utf8(seen).unwrap();
    let address = line
        .strip_prefix("listening on ")
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    // Keep reading what it prints so it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    Watch { child, address }
}

/// POST `body` with `headers`; the status code. With `send_body` false only the head is
/// sent (a server with a body limit answers from `Content-Length` alone).
fn post(address: &str, headers: &[&str], length: usize, body: Option<&[u8]>) -> u16 {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = format!(
        "POST /alerts HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n"
    );
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    if let Some(body) = body {
        stream.write_all(body).unwrap();
    }
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(e) => panic!("no answer: {e}"),
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("{answer}"))
}

fn alerts_dir(dir: &Path) -> PathBuf {
    dir.join("data").join("hunch").join("alerts")
}

#[test]
fn watch_refuses_a_wrong_secret_and_an_oversized_body() {
    let dir = tempfile::tempdir().unwrap();
    let w = watch(dir.path(), "s3cret-value");
    let body = payload().to_string();
    let send = |headers: &[&str]| post(&w.address, headers, body.len(), Some(body.as_bytes()));
    assert_eq!(send(&[]), 401);
    assert_eq!(send(&["Authorization: Bearer s3cret-valu"]), 401);
    assert_eq!(send(&["X-Hunch-Secret: s3cret-value-and-more"]), 401);
    assert_eq!(send(&["Authorization: Basic s3cret-value"]), 401);
    assert_eq!(send(&["Authorization: Bearer s3cret-value"]), 200);
    // 1.5 MiB is refused from its Content-Length, before a byte of it is read.
    let big = 1536 * 1024;
    assert_eq!(
        post(&w.address, &["X-Hunch-Secret: s3cret-value"], big, None),
        413
    );
}

#[test]
fn watch_records_payloads_privately_redacted_and_never_through_a_symlink() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let w = watch(dir.path(), "s3cret-value");
    let mut page = payload();
    page["alerts"][0]["annotations"]["description"] =
        "db login failed: password=hunter2 key AKIAIOSFODNN7EXAMPLE".into();
    let body = page.to_string();
    let auth = ["X-Hunch-Secret: s3cret-value"];
    assert_eq!(
        post(&w.address, &auth, body.len(), Some(body.as_bytes())),
        200
    );
    let alerts = alerts_dir(dir.path());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&alerts), 0o700);
    let files: Vec<PathBuf> = std::fs::read_dir(&alerts)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
        let text = std::fs::read_to_string(file).unwrap();
        assert!(text.contains("db login failed"), "{text}");
        assert!(
            !text.contains("hunter2") && !text.contains("AKIAIOSFODNN7EXAMPLE"),
            "{text}"
        );
    }

    // A record file swapped for a symlink is not written through.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::write(&elsewhere, "untouched").unwrap();
    let log = alerts.join("received.jsonl");
    std::fs::remove_file(&log).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &log).unwrap();
    assert_eq!(
        post(&w.address, &auth, body.len(), Some(body.as_bytes())),
        500
    );
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "untouched");
}

#[test]
fn watch_cuts_off_a_client_that_trickles_its_request() {
    let dir = tempfile::tempdir().unwrap();
    let w = watch(dir.path(), "s3cret-value");
    let mut stream = std::net::TcpStream::connect(&w.address).unwrap();
    stream
        .write_all(b"POST /alerts HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    let ended = stream.read_to_end(&mut rest);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(20),
        "open for {took:?}: {ended:?}"
    );
    // It is still served afterwards.
    let body = payload().to_string();
    let auth = ["X-Hunch-Secret: s3cret-value"];
    assert_eq!(
        post(&w.address, &auth, body.len(), Some(body.as_bytes())),
        200
    );
}

#[test]
fn watch_listens_beyond_loopback_only_with_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = hunch(dir.path());
    command.args([
        "watch",
        "--headless",
        "--listen",
        "0.0.0.0:0",
        "--allow-remote",
    ]);
    let (ok, _, err) = run(command, b"", Duration::from_secs(20));
    assert!(!ok && err.contains("set HUNCH_WATCH_SECRET"), "{err}");
}
