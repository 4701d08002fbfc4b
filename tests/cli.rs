//! The analysis commands of the real binary, fed through stdin and files.

use std::io::Write;
use std::process::{Command, Stdio};

fn hunch(args: &[&str], stdin: &[u8]) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hunch"))
        .args(args)
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn logs_cluster_prints_one_id_per_line_in_order() {
    let input = b"user a logged in\r\nuser b logged in\ndisk full on /dev/sda1\nuser c logged in\n\xff\xfe broken bytes 12\n";
    let (ok, out, err) = hunch(&["logs", "cluster"], input);
    assert!(ok, "{err}");
    let ids: Vec<&str> = out.lines().collect();
    assert_eq!(ids.len(), 5);
    assert_eq!(ids[0], "0");
    assert_eq!(ids[0], ids[1]);
    assert_eq!(ids[1], ids[3]);
    assert_ne!(ids[0], ids[2]);
}

#[test]
fn logs_digest_reads_stdin_and_prints_json() {
    let input = b"disk full on /dev/sda1\nuser a logged in\nuser b logged in\nuser c logged in\n";
    let (ok, out, err) = hunch(&["logs", "digest", "-", "--json"], input);
    assert!(ok, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows[0]["template"], "user <*> logged in");
    assert_eq!(rows[0]["count"], 3);
    let (ok, _, err) = hunch(&["logs", "digest", "/no/such/file"], b"");
    assert!(!ok && err.contains("reading /no/such/file"), "{err}");
}
