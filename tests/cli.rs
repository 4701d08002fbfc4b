//! The analysis commands of the real binary, fed through stdin and files.

use std::io::Write;
use std::process::{Command, Stdio};

mod common;

fn hunch(args: &[&str], stdin: &[u8]) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    common::hunch_in(dir.path(), None, args, stdin)
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
    // It streams: a 200 KB line is cut, not held, and still gets its one id.
    let mut long = b"user a logged in\n".to_vec();
    long.extend(std::iter::repeat_n(b'x', 200_000));
    long.extend(b"\nuser b logged in\nuser c logged in\n");
    let (ok, out, err) = hunch(&["logs", "cluster"], &long);
    assert!(ok, "{err}");
    let ids: Vec<&str> = out.lines().collect();
    assert_eq!(ids, ["0", "1", "0", "0"]);
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
    assert!(!ok && err.contains("opening /no/such/file"), "{err}");
}

#[test]
fn logs_digest_streams_with_since_bursts_and_overlong_lines() {
    let mut input = String::new();
    for i in 0..600 {
        let minute = i / 20; // 20 lines a minute for 30 minutes
        input.push_str(&format!(
            "2026-11-24T02:{minute:02}:{:02}Z INFO served request {i} in {}ms\r\n",
            i % 60,
            i % 97
        ));
        if minute == 25 && i % 20 < 15 {
            for k in 0..3 {
                input.push_str(&format!(
                    "2026-11-24T02:25:{:02}Z ERROR pool exhausted after {}ms\n",
                    i % 60,
                    k * 100 + i
                ));
            }
        }
    }
    input.push_str(&format!(
        "2026-11-24T02:29:59Z WARN huge {}\n",
        "x".repeat(200_000)
    ));
    input.push_str("    at com.shop.Pool.acquire(Pool.java:42)\n");
    let (ok, out, err) = hunch(&["logs", "digest", "-"], input.as_bytes());
    assert!(ok, "{err}");
    assert!(out.starts_with("647 lines"), "{out}");
    let burst = out.lines().find(|l| l.contains("pool exhausted")).unwrap();
    assert!(
        burst.contains("BURST 45/min at 2026-11-24T02:25:00Z (usually 0/min)"),
        "{burst}"
    );
    let served = out.lines().find(|l| l.contains("served request")).unwrap();
    assert!(
        !served.contains("BURST"),
        "a steady rate is not a burst: {served}"
    );
    assert!(
        out.len() < 80_000,
        "the overlong line was cut: {} bytes",
        out.len()
    );

    let (ok, out, err) = hunch(
        &[
            "logs",
            "digest",
            "-",
            "--since",
            "2026-11-24T02:20:00Z",
            "--json",
        ],
        input.as_bytes(),
    );
    assert!(ok, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let served = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["template"].as_str().unwrap().contains("served"))
        .unwrap();
    assert_eq!(served["count"], 200, "only the last ten minutes");
    assert_eq!(
        served["first_seen"], 1_795_486_840i64,
        "02:20:40, the first line since 02:20"
    );
    let (ok, _, err) = hunch(&["logs", "digest", "-", "--since", "yesterday"], b"");
    assert!(!ok && err.contains("an age like 30m"), "{err}");
}

fn metrics_csv(
    dir: &std::path::Path,
    name: &str,
    rows: std::ops::Range<usize>,
    shift: f64,
) -> String {
    let mut text = String::from("time,api_latency,db_cpu,cache_hits,static_flag\n");
    for i in rows {
        let noise = ((i * 7919) % 13) as f64 / 13.0;
        text.push_str(&format!(
            "{},{:.2},{:.2},{:.2},1\n",
            1_700_000_000 + i * 15,
            100.0 + noise * 5.0,
            20.0 + noise + shift,
            500.0 + noise * 20.0
        ));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn metrics_rank_by_service_and_sift() {
    let dir = tempfile::tempdir().unwrap();
    let normal = metrics_csv(dir.path(), "normal.csv", 0..60, 0.0);
    let anomalous = metrics_csv(dir.path(), "anomalous.csv", 60..100, 40.0);
    let (ok, out, err) = hunch(
        &[
            "metrics",
            "rank",
            "--normal",
            &normal,
            "--anomalous",
            &anomalous,
            "--by",
            "service",
        ],
        b"",
    );
    assert!(ok, "{err}");
    assert_eq!(out.lines().next(), Some("db"), "{out}");
    // Services read by a regex instead: here the part after the `_`.
    let by_regex = |regex: &str| {
        hunch(
            &[
                "metrics",
                "rank",
                "--normal",
                &normal,
                "--anomalous",
                &anomalous,
                "--by",
                "service",
                "--service-regex",
                regex,
                "--json",
            ],
            b"",
        )
    };
    let (ok, out, err) = by_regex("_([a-z]+)$");
    assert!(ok, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows[0]["name"], "cpu", "{out}");
    let (ok, _, err) = by_regex("_([a-z");
    assert!(
        !ok && err.contains("--service-regex is not a valid regex"),
        "{err}"
    );
    let whole = dir.path().join("whole.csv");
    let mut text = std::fs::read_to_string(&normal).unwrap();
    text.push_str(
        &std::fs::read_to_string(&anomalous)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    );
    std::fs::write(&whole, text).unwrap();
    let (ok, out, err) = hunch(&["metrics", "sift", whole.to_str().unwrap(), "--json"], b"");
    assert!(ok, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["kept"][0]["series"], "db_cpu");
    assert_eq!(doc["constant"], serde_json::json!(["static_flag"]));
}

#[test]
fn bad_metric_files_name_the_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, "time,a_x\n1700000000,1\n1700000015,oops\n").unwrap();
    let (ok, _, err) = hunch(&["metrics", "sift", path.to_str().unwrap()], b"");
    assert!(!ok);
    assert!(
        err.contains("bad.csv:3: column `a_x`: `oops` is not a number"),
        "{err}"
    );
    std::fs::write(&path, b"time,a\n\xff\n").unwrap();
    let (ok, _, err) = hunch(&["metrics", "sift", path.to_str().unwrap()], b"");
    assert!(!ok && err.contains("not UTF-8"), "{err}");
    for (text, says) in [
        ("", "no data"),
        ("time,a_x\n", "no data"),
        (
            "time,a_x\n1700000015,1\n1700000000,2\n",
            "bad.csv:3: times must increase",
        ),
        (
            "time,a_x\n1700000000,1\n1700000000,2\n",
            "bad.csv:3: times must increase",
        ),
        (
            "when,a_x\n1700000000,1\n",
            "bad.csv:1: the first column must be `time`",
        ),
    ] {
        std::fs::write(&path, text).unwrap();
        let (ok, _, err) = hunch(&["metrics", "sift", path.to_str().unwrap()], b"");
        assert!(!ok && err.contains(says), "{text:?}: {err}");
    }
}

#[test]
fn investigate_names_what_is_missing_for_a_live_environment() {
    let (ok, _, err) = hunch(
        &["investigate", "--env", "prod", "--alert", "x", "--headless"],
        b"",
    );
    assert!(!ok);
    assert!(
        err.contains("no [environments.prod]") && err.contains("Investigating live systems"),
        "{err}"
    );
    let (ok, _, err) = hunch(&["investigate", "--headless"], b"");
    assert!(!ok);
    assert!(err.contains("--env") && err.contains("--bundle"), "{err}");
    let (ok, _, err) = hunch(
        &["investigate", "--env", "a", "--bundle", "b", "--headless"],
        b"",
    );
    assert!(!ok && err.contains("cannot be used with"), "{err}");
}

/// Three services on a call path all shift; the one at the bottom explains the others.
#[test]
fn metrics_rank_walks_the_call_graph_to_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed: u64 = 7;
    let mut noise = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as f64 / (1u64 << 31) as f64) - 0.5
    };
    let mut write = |name: &str, from: i64, shifted: bool| {
        let mut text = String::from("time,web_p99,api_p99,db_cpu,batch_cpu\n");
        for i in 0..120 {
            let (web, api, db) = if shifted && i >= 20 {
                (400.0, 300.0, 90.0)
            } else {
                (100.0, 80.0, 20.0)
            };
            text.push_str(&format!(
                "{},{},{},{},{}\n",
                from + i,
                web + 5.0 * noise(),
                api + 5.0 * noise(),
                db + 2.0 * noise(),
                10.0 + noise()
            ));
        }
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let normal = write("normal.csv", 0, false);
    let anomalous = write("anomalous.csv", 120, true);
    let graph = dir.path().join("edges.csv");
    std::fs::write(&graph, "caller,callee\nweb,api\napi,db\n").unwrap();
    let (n, a, g) = (
        normal.to_str().unwrap(),
        anomalous.to_str().unwrap(),
        graph.to_str().unwrap(),
    );
    let base = [
        "metrics",
        "rank",
        "--normal",
        n,
        "--anomalous",
        a,
        "--by",
        "service",
    ];
    let (ok, plain, err) = hunch(&base, b"");
    assert!(ok, "{err}");
    let (ok, walked, err) = hunch(
        &[&base[..], &["--graph", g, "--target", "web"]].concat(),
        b"",
    );
    assert!(ok, "{err}");
    let walked: Vec<&str> = walked.lines().collect();
    assert_eq!(walked[0], "db", "plain: {plain}");
    assert_eq!(walked.len(), 4, "every service is still listed: {walked:?}");
    std::fs::write(&graph, "from,to\nweb,api\n").unwrap();
    let (ok, _, err) = hunch(&[&base[..], &["--graph", g]].concat(), b"");
    assert!(
        !ok && err.contains("line 1") && err.contains("caller,callee"),
        "{err}"
    );
    let (ok, _, err) = hunch(
        &[
            "metrics",
            "rank",
            "--normal",
            n,
            "--anomalous",
            a,
            "--graph",
            g,
        ],
        b"",
    );
    assert!(!ok && err.contains("--by service"), "{err}");
}

/// A recorded session printed as lines or JSON lines, the way a live headless run prints.
#[test]
fn replay_headless_prints_a_recorded_session() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/demo-session.jsonl"
    );
    let (ok, out, err) = hunch(&["replay", fixture, "--headless"], b"");
    assert!(ok, "{err}");
    assert!(out.contains("== conclusion"), "{out}");
    assert!(out.contains("c8 kubectl rollout undo deployment/payments -n shop"));
    let (ok, out, err) = hunch(&["replay", fixture, "--headless", "--json"], b"");
    assert!(ok, "{err}");
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.first().unwrap()["type"], "session_started");
    assert_eq!(events.last().unwrap()["type"], "session_ended");
    let (ok, _, err) = hunch(&["replay", "/no/such/session.jsonl", "--headless"], b"");
    assert!(!ok && err.contains("reading the session file"), "{err}");
}

/// `replay --follow` keeps up with a session still being written, the way `tail -f`
/// does, and stops when the session ends.
#[test]
fn replay_follow_keeps_up_with_a_session_being_written() {
    let fixture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/demo-session.jsonl"
    ))
    .unwrap();
    let lines: Vec<&str> = fixture.lines().collect();
    let (first, rest) = lines.split_at(lines.len() / 2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.jsonl");
    let mut file = std::fs::File::create(&path).unwrap();
    for line in first {
        writeln!(file, "{line}").unwrap();
    }
    // Half of a line, as a writer mid-event leaves it.
    let (head, tail) = rest[0].split_at(10);
    write!(file, "{head}").unwrap();
    file.flush().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hunch"))
        .args(["replay", "--follow", "--headless", "--json"])
        .arg(&path)
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert!(
        child.try_wait().unwrap().is_none(),
        "it waits for the session to end"
    );
    writeln!(file, "{tail}").unwrap();
    for line in &rest[1..] {
        writeln!(file, "{line}").unwrap();
    }
    file.flush().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), lines.len(), "every event once, none torn");
    assert_eq!(events.last().unwrap()["type"], "session_ended");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `hunch resume` continues a session that stopped early, in the same file, and the
/// brain goes on from what was recorded instead of starting over.
#[test]
fn resume_continues_a_stopped_session_in_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| common::hunch_in(dir.path(), Some("carol"), args, b"");
    let (ok, out, _) = run(&["demo", "--headless", "--max-steps", "3"]);
    assert!(!ok && out.contains("budget reached"), "{out}");
    let sessions = dir.path().join("data/hunch/sessions");
    let day = std::fs::read_dir(&sessions)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let file = std::fs::read_dir(day.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let file = file.to_str().unwrap();
    let (ok, out, err) = run(&[
        "resume",
        file,
        "--headless",
        "--approve-all",
        "--as",
        "erin",
    ]);
    assert!(ok, "{err}\n{out}");
    assert!(
        out.contains("resumed by erin"),
        "--as names who did it: {out}"
    );
    assert!(
        out.contains("== conclusion") || out.contains("Conclusion"),
        "{out}"
    );
    assert!(
        !out.contains("→ c1 "),
        "the brain goes on from the record, not from the start:\n{out}"
    );
    let (ok, listing, _) = run(&["sessions"]);
    assert!(ok);
    assert_eq!(
        listing.matches(".jsonl").count(),
        1,
        "one session: {listing}"
    );
    assert!(listing.contains("concluded"), "{listing}");
    // A session recorded before origins were noted says why it can't be resumed.
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/demo-session.jsonl"
    );
    let copy = dir.path().join("old.jsonl");
    // Not concluded (a concluded session is not resumed at all).
    let unfinished: String = std::fs::read_to_string(fixture)
        .unwrap()
        .lines()
        .filter(|l| {
            !l.contains(r#""type":"concluded""#) && !l.contains(r#""type":"session_ended""#)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&copy, unfinished).unwrap();
    let (ok, _, err) = run(&["resume", copy.to_str().unwrap(), "--headless"]);
    assert!(!ok && err.contains("can't be resumed"), "{err}");
}

/// `hunch fork` starts a new session from a recorded one after a given call, names its
/// parent, and with --replay-tools answers its calls from the parent's outputs.
#[test]
fn fork_starts_a_new_session_from_a_recorded_one() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| common::hunch_in(dir.path(), Some("dave"), args, b"");
    let (ok, _, err) = run(&["demo", "--headless", "--approve-all"]);
    assert!(ok, "{err}");
    let parent = err
        .lines()
        .find_map(|l| l.strip_prefix("session: "))
        .expect("the session file is named")
        .to_string();
    let (ok, out, err) = run(&[
        "fork",
        &parent,
        "--at",
        "c3",
        "--replay-tools",
        "--headless",
        "--approve-all",
        "--json",
    ]);
    assert!(ok, "{err}\n{out}");
    let child = err
        .lines()
        .find_map(|l| l.strip_prefix("session: "))
        .unwrap()
        .to_string();
    assert_ne!(child, parent, "a new session");
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["type"], "session_forked");
    assert_eq!(events[0]["at"], "c3");
    assert_eq!(events[0]["by"], "dave");
    let proposed: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "tool_call_proposed")
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(proposed.first(), Some(&"c4"), "the fork goes on after c3");
    assert!(
        events.iter().any(|e| e["type"] == "tool_call_finished"
            && e["output"]["digest"]
                .as_str()
                .is_some_and(|d| d.starts_with("replayed: the recorded output of c"))),
        "calls are answered from the parent's record"
    );
    assert!(events.iter().any(|e| e["type"] == "concluded"));
    // The fork's file holds the parent's events up to c3, then its own.
    let text = std::fs::read_to_string(&child).unwrap();
    assert!(text.lines().next().unwrap().contains("session_started"));
    let (ok, listing, _) = run(&["sessions"]);
    assert!(ok);
    assert!(
        listing.contains(&format!("fork of {parent} after c3")),
        "{listing}"
    );
    let (ok, _, err) = run(&["fork", &parent, "--at", "c99", "--headless"]);
    assert!(!ok && err.contains("no finished call c99"), "{err}");
}

/// `hunch fork --replay-tools` of a session recorded against a live environment reaches
/// nothing of it, not even to set up (no Prometheus label query, no MCP server started),
/// and a session file whose start was edited to say "demo environment" does not make the
/// screen say so: the environment shown is the one the tools act on.
#[test]
fn fork_with_replay_tools_reaches_nothing_live_and_says_where_tools_act() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| common::hunch_in(dir.path(), Some("dave"), args, b"");
    let (ok, _, err) = run(&["demo", "--headless", "--approve-all"]);
    assert!(ok, "{err}");
    let parent = err
        .lines()
        .find_map(|l| l.strip_prefix("session: "))
        .expect("the session file is named")
        .to_string();
    // The recording now says it came from environment `prod`, and still that its tools
    // were the demo's.
    let text = std::fs::read_to_string(&parent).unwrap();
    let mut lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "session_started");
    lines[0]["incident"]["origin"] =
        serde_json::json!({"kind": "env", "name": "prod", "alert": "checkout p99 > 2s"});
    assert_eq!(lines[0]["incident"]["simulated"], true);
    let tampered: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&parent, tampered).unwrap();
    let prometheus = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    prometheus.set_nonblocking(true).unwrap();
    let port = prometheus.local_addr().unwrap().port();
    let marker = dir.path().join("mcp-started");
    let config = dir.path().join("config/hunch");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[environments.prod]\nprometheus = \"http://127.0.0.1:{port}\"\nshell = false\n\n[[environments.prod.mcp]]\nname = \"tickets\"\ncommand = [\"sh\", \"-c\", \"touch {}\"]\n",
            marker.display()
        ),
    )
    .unwrap();
    let (_, out, err) = run(&[
        "fork",
        &parent,
        "--at",
        "c3",
        "--replay-tools",
        "--headless",
        "--approve-all",
        "--json",
        "--max-steps",
        "4",
    ]);
    match prometheus.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the fork reached Prometheus: {other:?}\n{err}"),
    }
    assert!(!marker.exists(), "the MCP server was started\n{err}");
    assert!(err.contains("mcp server `tickets` is not started"), "{err}");
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["type"], "session_forked", "{out}\n{err}");
    assert_eq!(events[1]["type"], "environment_in_force", "{out}");
    assert_eq!(events[1]["environment"], "prod");
    assert_eq!(
        events[1]["simulated"], false,
        "live tools, whatever the file says"
    );
    // What the status bar reads: the fork's state, folded from its file.
    let child = err
        .lines()
        .find_map(|l| l.strip_prefix("session: "))
        .expect("the fork's file is named");
    let log = hunch::session::read_session(std::path::Path::new(child)).unwrap();
    let state = hunch::event::State::from_events(log.events.iter());
    assert!(!state.session.incident.simulated, "no \"demo environment\"");
    assert_eq!(state.session.incident.environment, "prod");
}

/// Issue 27 #9: replay, export, resume and fork take a session id, or a start of one
/// that only one session has, as `hunch sessions` lists them; an ambiguous start names
/// the sessions it matches.
#[test]
fn sessions_are_named_by_id_or_a_unique_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| common::hunch_in(dir.path(), Some("carol"), args, b"");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/demo-session.jsonl"
    );
    let day = dir.path().join("data/hunch/sessions/2026-01-01");
    std::fs::create_dir_all(&day).unwrap();
    for id in ["20260101T000000-aaaa", "20260101T000000-aabb"] {
        std::fs::copy(fixture, day.join(format!("{id}.jsonl"))).unwrap();
    }
    for id in [
        "20260101T000000-aaaa",
        "20260101T000000-aab",
        "20260101T000000-aaaa.jsonl",
    ] {
        let (ok, out, err) = run(&["replay", id, "--headless"]);
        assert!(ok && out.contains("== conclusion"), "{id}: {err}");
    }
    let (ok, out, err) = run(&["export", "20260101T000000-aab"]);
    assert!(ok && out.contains("kubectl rollout undo"), "{err}");
    let (ok, _, err) = run(&["replay", "20260101T000000-aa", "--headless"]);
    assert!(!ok, "ambiguous");
    assert!(
        err.contains(
            "20260101T000000-aa names 2 sessions: 20260101T000000-aaaa, 20260101T000000-aabb"
        ),
        "{err}"
    );
    let (ok, _, err) = run(&["export", "nosuch"]);
    assert!(!ok && err.contains("no session nosuch under"), "{err}");
    let (ok, _, err) = run(&["fork", "20260101T000000-aa", "--at", "c3", "--headless"]);
    assert!(!ok && err.contains("names 2 sessions"), "{err}");
}

/// Issue 27 #9: `attach` names a session as the other commands do (id, unique prefix or
/// path), and says which one it cannot find before it asks for a terminal.
#[test]
fn attach_names_a_session_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| common::hunch_in(dir.path(), Some("carol"), args, b"");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/demo-session.jsonl"
    );
    let day = dir.path().join("data/hunch/sessions/2026-01-01");
    std::fs::create_dir_all(&day).unwrap();
    for id in ["20260101T000000-aaaa", "20260101T000000-aabb"] {
        std::fs::copy(fixture, day.join(format!("{id}.jsonl"))).unwrap();
    }
    let (ok, _, err) = run(&["attach", "nosuch"]);
    assert!(!ok && err.contains("no session nosuch under"), "{err}");
    let (ok, _, err) = run(&["attach", "20260101T000000-aa"]);
    assert!(!ok && err.contains("names 2 sessions"), "{err}");
    // Found: what stops it now is only that the test has no terminal.
    let (ok, _, err) = run(&["attach", "20260101T000000-aab"]);
    assert!(!ok && err.contains("needs a terminal"), "{err}");
}

/// Issue 27 #9: a concluded session is a finished record; `resume` refuses it, leaves the
/// file as it was, and points to `hunch fork`.
#[test]
fn resuming_a_concluded_session_is_refused_and_suggests_fork() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| common::hunch_in(dir.path(), Some("carol"), args, b"");
    let (ok, _, err) = run(&["demo", "--headless", "--approve-all"]);
    assert!(ok, "{err}");
    let file = err
        .lines()
        .find_map(|l| l.strip_prefix("session: "))
        .expect("the session file is named")
        .to_string();
    let before = std::fs::read(&file).unwrap();
    let id = std::path::Path::new(&file)
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    for name in [file.as_str(), id.as_str()] {
        let (ok, out, err) = run(&["resume", name, "--headless", "--approve-all"]);
        assert!(!ok, "{out}");
        assert!(
            err.contains("has concluded") && err.contains(&format!("hunch fork {id} --at c")),
            "{err}"
        );
    }
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "nothing was appended"
    );
}

/// A file that is not a hunch session is named as such by `ask` (it said "no session start
/// to resume from", as if `resume` had been asked), and nothing is appended to it.
#[test]
fn asking_about_a_file_that_is_no_session_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.jsonl");
    std::fs::write(&file, "{\"not\": \"a session\"}\n").unwrap();
    let path = file.to_str().unwrap();
    let (ok, out, err) = common::hunch_in(dir.path(), None, &["ask", path, "why?"], b"");
    assert!(!ok, "{out}");
    assert!(
        err.contains("holds no session start: it is not a hunch session")
            && !err.contains("resume"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "{\"not\": \"a session\"}\n"
    );
}

/// `… --json | head` ends quietly: a reader that stops reading is no error, for JSON
/// written straight to stdout as for text (it exited 1 with "Broken pipe" before).
#[test]
fn json_output_into_a_closed_pipe_ends_quietly() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    // Thousands of different events (words, not numbers, tell them apart), so the JSON is
    // far larger than a pipe's buffer.
    let word = |mut n: usize| {
        let mut w = String::new();
        for _ in 0..4 {
            w.push((b'a' + (n % 26) as u8) as char);
            n /= 26;
        }
        w
    };
    let lines: String = (0..20_000)
        .map(|i| {
            format!(
                "2026-01-01T00:00:{:02}Z ERROR {} {} {} stopped\n",
                i % 60,
                word(i),
                word(i * 7 + 3),
                word(i * 13 + 5)
            )
        })
        .collect();
    std::fs::write(&log, lines).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hunch"))
        .args(["logs", "digest", log.to_str().unwrap(), "--json"])
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The reader is gone (dropped): the rest of the output meets a closed pipe.
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{status}: {err}");
    assert!(!err.contains("Broken pipe"), "{err}");
}

/// A bundle path with no incident.toml says so once and says what a bundle is (the io
/// error was printed twice, with nothing to do about it).
#[test]
fn a_missing_bundle_is_named_once_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let (ok, _, err) = common::hunch_in(
        dir.path(),
        None,
        &[
            "investigate",
            "--bundle",
            missing.to_str().unwrap(),
            "--headless",
        ],
        b"",
    );
    assert!(!ok);
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
    assert!(err.contains("hunch demo --write-bundle"), "{err}");
}

/// Syslog lines written here in RFC 3164's shape: the header (time, host, program and pid)
/// is read off, so a pid or a time never makes a template of its own.
fn syslog_lines(n: usize) -> String {
    let mut text = String::new();
    for i in 0..n {
        let (day, hour) = (1 + i % 28, i % 24);
        let host = ["gw-1", "relay", "db-primary"][i % 3];
        let pid = 1000 + i * 7 % 9000;
        let message = match i % 3 {
            0 => format!(
                "authentication failure; logname= uid=0 euid=0 rhost=10.0.{}.{}",
                i % 200,
                i % 250
            ),
            1 => format!(
                "session opened for user {} by (uid=0)",
                ["root", "news", "cyrus", "test"][i % 4]
            ),
            _ => "check pass; user unknown".to_string(),
        };
        let program = if i % 2 == 0 {
            "sshd(pam_unix)"
        } else {
            "su(pam_unix)"
        };
        text.push_str(&format!(
            "Mar {day:>2} {hour:02}:{:02}:{:02} {host} {program}[{pid}]: {message}\n",
            i % 60,
            i * 13 % 60
        ));
    }
    text
}

#[test]
fn logs_digest_reads_syslog_headers_off() {
    let (ok, out, err) = hunch(
        &["logs", "digest", "-", "--json"],
        syslog_lines(3000).as_bytes(),
    );
    assert!(ok, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let templates: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["template"].as_str().unwrap())
        .collect();
    assert_eq!(templates.len(), 3, "{templates:?}");
    assert!(
        templates.contains(&"check pass; user unknown"),
        "{templates:?}"
    );
}

#[test]
fn logs_cluster_on_several_blocks_and_threads_matches_the_library() {
    // About 6 MB: several 1 MiB blocks, masked on every core, joined in order.
    let text = syslog_lines(60_000);
    let (ok, out, err) = hunch(&["logs", "cluster", "--templates"], text.as_bytes());
    assert!(ok, "{err}");
    let expected = hunch::analysis::templates::cluster_with(text.lines(), Default::default());
    let got: Vec<(u32, &str)> = out
        .lines()
        .map(|l| {
            let (id, template) = l.split_once('\t').unwrap();
            (id.parse().unwrap(), template)
        })
        .collect();
    let want: Vec<(u32, &str)> = expected
        .ids
        .iter()
        .copied()
        .zip(expected.line_templates())
        .collect();
    assert_eq!(got.len(), want.len());
    let first_wrong = got.iter().zip(&want).position(|(g, w)| g != w);
    assert_eq!(first_wrong, None, "first differing line");
    assert_eq!(expected.templates.len(), 3, "{:?}", expected.templates);
}
