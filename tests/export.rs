//! `hunch export`: the postmortem draft of a recorded session, as golden Markdown, as
//! JSON, and with an SVG chart that parses.

mod common;

fn fixture() -> Vec<hunch::event::Event> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/demo-session.jsonl"
    );
    let log = hunch::session::read_session(std::path::Path::new(path)).unwrap();
    assert!(log.warnings.is_empty());
    log.events
}

/// The draft of the recorded demo session, golden: who did what, the evidence, every
/// action with who allowed it, the credential's use without its value.
#[test]
fn the_markdown_draft_of_a_recorded_session() {
    let draft = hunch::postmortem::draft(&fixture());
    let markdown = draft.markdown(Some("incident.svg"));
    insta::assert_snapshot!("demo_postmortem", markdown);
    assert!(markdown.contains("typed the credential for c5"));
    assert!(!markdown.contains(common_secret()));
}

/// The secret the demo tests type (see tests/common).
fn common_secret() -> &'static str {
    "hunter2-d3mo-PASSWORD"
}

#[test]
fn the_json_draft_has_the_same_content() {
    let draft = hunch::postmortem::draft(&fixture());
    let json = serde_json::to_value(&draft).unwrap();
    assert_eq!(json["credentials"][0]["call"], "c5");
    assert!(json["credentials"][0].get("value").is_none());
    assert_eq!(
        json["actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["command"].as_str().unwrap().contains("rollout undo"))
            .count(),
        1
    );
    assert!(json["root_cause"].as_str().unwrap().contains("payments"));
}

/// A fresh session through the real binary: the Markdown names its chart, and the SVG
/// beside it parses, with a line per series and the onset marked.
#[test]
fn export_writes_markdown_and_a_chart_that_parses() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| common::hunch_in(dir.path(), None, args, b"");
    let (ok, _, err) = run(&["demo", "--headless", "--approve-all"]);
    assert!(ok, "{err}");
    let session = err
        .lines()
        .find_map(|l| l.strip_prefix("session: "))
        .unwrap()
        .to_string();
    let report = dir.path().join("report.md");
    let (ok, _, err) = run(&["export", &session, "-o", report.to_str().unwrap()]);
    assert!(ok, "{err}");
    let markdown = std::fs::read_to_string(&report).unwrap();
    assert!(markdown.contains("![The series behind the conclusion](report.svg)"));
    assert!(markdown.contains("approved c8") || markdown.contains("| --approve-all | approved c8"));
    let svg = std::fs::read_to_string(dir.path().join("report.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("the chart is well-formed SVG");
    let lines = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .count();
    assert!(lines >= 1, "a line per series");
    assert!(
        doc.descendants()
            .any(|n| n.has_tag_name("text") && n.text() == Some("onset")),
        "the onset is marked"
    );
    let (ok, json, err) = run(&["export", &session, "--format", "json"]);
    assert!(ok, "{err}");
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(value["timeline"].as_array().unwrap().len() > 5);
    let (ok, _, err) = run(&["export", "/no/such/session.jsonl"]);
    assert!(!ok && err.contains("reading the session file"), "{err}");
}

/// Secrets the hostile session below plants, each hidden from a redaction that runs on
/// serialized or escaped text (`\"` in JSON, `&quot;` in SVG).
const PLANTED: &[&str] = &["AKIAIOSFODNN7EXAMPLE", "hunter2secret", "LEAKED-KUBECONFIG"];

/// Markup that must never reach a Markdown export live.
const LIVE_MARKUP: &[&str] = &[
    "<script",
    "<img",
    "<iframe",
    "![](http://beacon",
    "[click](javascript:",
];

/// A session file written by a hostile model (and an unredacted older hunch): markup and
/// secrets in every field the draft shows, a FIFO and a link to a kubeconfig in its blob
/// store. Returns the session file.
fn hostile_session(dir: &std::path::Path) -> std::path::PathBuf {
    use serde_json::json;
    let blobs = hunch::session::BlobStore::new(dir.join("blobs"));
    let csv: String = (0..20)
        .map(|i| {
            format!(
                "2026-11-24T02:{i:02}:00Z,{}\n",
                if i < 10 { 100 } else { 900 }
            )
        })
        .collect();
    let metrics = blobs.put(&format!("time,payments_p99_ms\n{csv}")).unwrap();
    let changes = |kind: &str| {
        json!({"events": [{"time": "2026-11-24T02:09:00Z", "kind": kind, "service": "payments"}]})
            .to_string()
    };
    let planted = |content: &str| {
        let hash = blobs.put(content).unwrap();
        let path = dir.join("blobs").join(&hash[..2]).join(&hash);
        std::fs::remove_file(&path).unwrap();
        (hash, path)
    };
    let (fifo, path) = planted("a FIFO stands here");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap()
            .success()
    );
    let (linked, path) = planted("a link stands here");
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, changes("LEAKED-KUBECONFIG")).unwrap();
    std::os::unix::fs::symlink(&kubeconfig, &path).unwrap();

    let markup = "<script>alert(1)</script> <img src=x onerror=alert(1)> <iframe src=//evil> ![](http://beacon/x.png) [click](javascript:alert(1))";
    let secret = r#"password="hunter2secret" AKIAIOSFODNN7EXAMPLE"#;
    let both = format!("{markup} {secret}");
    let output = |preview: &str, blob: Option<&str>, raw: Option<&str>| {
        let mut o = json!({"preview": preview, "bytes": 10, "lines": 1, "digest": both});
        if let Some(blob) = blob {
            o["blob"] = json!(blob);
        }
        if let Some(raw) = raw {
            o["raw"] = json!({"blob": raw, "lines": 20, "bytes": 400});
        }
        o
    };
    let proposed = |id: &str, risk: &str| {
        json!({"type": "tool_call_proposed", "id": id, "tool": "kubectl", "args": {},
            "command": format!("kubectl `x` {markup} {secret}"), "target": both, "risk": risk,
            "rationale": both})
    };
    let finished = |id: &str, output: serde_json::Value| {
        json!({"type": "tool_call_finished", "id": id, "outcome": "ok", "duration_ms": 1,
            "output": output})
    };
    let hypothesis = json!({"id": "H1", "statement": both, "status": "confirmed",
        "confidence": 0.9, "evidence": ["c1"], "key": null, "author": "brain", "pinned": false});
    let events = [
        json!({"type": "session_started", "brain": "offline", "policy": "ask",
            "incident": {"title": both, "alert": both, "environment": "demo"}}),
        proposed("c1", "mutating"),
        json!({"type": "approval_requested", "id": "c1", "command": "kubectl", "target": "t",
            "risk": "mutating", "reason": both,
            "preview": format!("```\n{markup}\n````\n{secret}")}),
        json!({"type": "approval_decided", "id": "c1", "decision": "approved-once", "by": both}),
        finished("c1", output(&both, None, Some(&metrics))),
        proposed("c2", "read-only"),
        finished("c2", output(&changes(secret), Some(&fifo), None)),
        proposed("c3", "read-only"),
        finished("c3", output(&changes("ok"), Some(&linked), None)),
        json!({"type": "hypothesis_upserted", "hypothesis": hypothesis}),
        json!({"type": "steering", "text": both, "by": "alice"}),
        json!({"type": "concluded", "conclusion": {"root_cause": format!("payments_p99_ms rose; {both}"),
            "confidence": 0.9, "evidence": ["c1"], "follow_ups": [both]}}),
        json!({"type": "session_ended", "reason": both}),
    ];
    let lines: String = events
        .into_iter()
        .enumerate()
        .map(|(seq, mut e)| {
            e["seq"] = json!(seq);
            e["ts"] = json!(format!("2026-11-24T02:30:{seq:02}Z"));
            format!("{e}\n")
        })
        .collect();
    let file = dir.join("hostile.jsonl");
    std::fs::write(&file, lines).unwrap();
    let log = hunch::session::read_session(&file).unwrap();
    assert!(log.warnings.is_empty(), "{:?}", log.warnings);
    file
}

/// The lines of Markdown outside fenced code blocks (a closing fence is a run of at
/// least as many backticks as the opening one, CommonMark's rule).
fn outside_fences(markdown: &str) -> String {
    let mut open: Option<usize> = None;
    let mut out = String::new();
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        let run = trimmed.bytes().take_while(|b| *b == b'`').count();
        match open {
            Some(fence) if run >= fence && trimmed[run..].trim().is_empty() => open = None,
            Some(_) => {}
            None if run >= 3 => open = Some(run),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    assert!(open.is_none(), "a fence is left open:\n{markdown}");
    out
}

/// Markdown text without its code spans (a run of backticks up to the next run of the
/// same length; an escaped backtick opens none), where markup is inert.
fn outside_code(markdown: &str) -> String {
    let text = markdown.replace("\\`", "");
    let run = |t: &str| t.bytes().take_while(|b| *b == b'`').count();
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(open) = rest.find('`') {
        out.push_str(&rest[..open]);
        let length = run(&rest[open..]);
        let after = &rest[open + length..];
        let mut at = 0;
        let close = loop {
            match after[at..].find('`') {
                None => break None,
                Some(found) if run(&after[at + found..]) == length => break Some(at + found),
                Some(found) => at += found + run(&after[at + found..]),
            }
        };
        match close {
            Some(close) => rest = &after[close + length..],
            None => panic!("an unclosed code span: {rest}"),
        }
    }
    out + rest
}

/// The real binary, failing instead of hanging (a FIFO in the blob store once did that).
fn hunch_within(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let (tx, rx) = std::sync::mpsc::channel();
    let (dir, args) = (
        dir.to_path_buf(),
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
    );
    std::thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        tx.send(common::hunch_in(&dir, None, &args, b""))
    });
    rx.recv_timeout(std::time::Duration::from_secs(30))
        .expect("hunch export finished in time")
}

/// Export is text, not markup, and redacted before it is serialized or escaped: a
/// hostile session exports to Markdown, JSON and SVG with no planted secret, no live
/// HTML, image or link, no fence its content closes, and nothing read through a link or
/// a FIFO in the blob store.
#[test]
fn a_hostile_session_exports_as_redacted_text() {
    let dir = tempfile::tempdir().unwrap();
    let session = hostile_session(dir.path());
    let session = session.to_str().unwrap();
    let report = dir.path().join("report.md");
    let (ok, _, err) = hunch_within(
        dir.path(),
        &["export", session, "-o", report.to_str().unwrap()],
    );
    assert!(ok, "{err}");
    let markdown = std::fs::read_to_string(&report).unwrap();
    let svg = std::fs::read_to_string(dir.path().join("report.svg")).unwrap();
    let (ok, json, err) = hunch_within(dir.path(), &["export", session, "--format", "json"]);
    assert!(ok, "{err}");
    serde_json::from_str::<serde_json::Value>(&json).expect("the JSON export parses");
    roxmltree::Document::parse(&svg).expect("the chart is well-formed SVG");
    for (what, text) in [("markdown", &markdown), ("json", &json), ("svg", &svg)] {
        for secret in PLANTED {
            assert!(!text.contains(secret), "{what} holds {secret}:\n{text}");
        }
    }
    let text = outside_code(&outside_fences(&markdown));
    for live in LIVE_MARKUP {
        assert!(
            !text.contains(live),
            "the markdown holds {live}:\n{markdown}"
        );
    }
    assert!(
        markdown.contains("&lt;script>alert(1)&lt;/script>"),
        "{markdown}"
    );
    assert!(
        markdown.contains("!\\[\\](http://beacon/x.png)"),
        "{markdown}"
    );
    // The dry run's fence is longer than the ```` inside it: the block ends where it should.
    assert!(
        markdown.contains("    `````\n    ```\n    <script>alert(1)</script> <img"),
        "{markdown}"
    );
}

/// `-o FILE` never replaces an existing file, nor the chart beside it, without --force.
#[test]
fn export_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let session = hostile_session(dir.path());
    let session = session.to_str().unwrap();
    let report = dir.path().join("report.md");
    let chart = dir.path().join("report.svg");
    let out = report.to_str().unwrap();
    for existing in [&report, &chart] {
        std::fs::write(existing, "mine").unwrap();
        let (ok, _, err) = hunch_within(dir.path(), &["export", session, "-o", out]);
        assert!(
            !ok && err.contains("already exists") && err.contains("--force"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(existing).unwrap(), "mine");
        std::fs::remove_file(existing).unwrap();
    }
    std::fs::write(&report, "mine").unwrap();
    let (ok, _, err) = hunch_within(dir.path(), &["export", session, "-o", out, "--force"]);
    assert!(ok, "{err}");
    assert!(
        std::fs::read_to_string(&report)
            .unwrap()
            .starts_with("# Postmortem draft")
    );
    let svg = dir.path().join("draft.svg");
    let (ok, _, err) = hunch_within(
        dir.path(),
        &["export", session, "-o", svg.to_str().unwrap()],
    );
    assert!(ok, "{err}");
    assert!(
        std::fs::read_to_string(&svg)
            .unwrap()
            .starts_with("# Postmortem draft")
    );
    assert!(
        dir.path().join("draft.chart.svg").exists(),
        "the chart does not replace the draft"
    );
}

/// Who attached from another terminal, and when they left, is in the timeline: who was
/// there is part of who did what.
#[test]
fn the_timeline_lists_who_attached_and_left() {
    use hunch::event::{Event, EventKind};
    let mut events = fixture();
    let at = events
        .iter()
        .position(|e| matches!(e.kind, EventKind::ApprovalRequested { .. }))
        .unwrap();
    let around = events[at].clone();
    let joined = Event {
        kind: EventKind::Attached {
            by: "bob".into(),
            watch: false,
        },
        ..around.clone()
    };
    let left = Event {
        kind: EventKind::Detached { by: "bob".into() },
        ..around
    };
    events.insert(at + 1, left);
    events.insert(at + 1, joined);
    let draft = hunch::postmortem::draft(&events);
    let said: Vec<(&str, &str)> = draft
        .timeline
        .iter()
        .filter(|m| m.who == "bob")
        .map(|m| (m.who.as_str(), m.what.as_str()))
        .collect();
    assert_eq!(
        said,
        [("bob", "attached from another terminal"), ("bob", "left")]
    );
    let markdown = draft.markdown(None);
    assert!(
        markdown.contains("bob") && markdown.contains("attached from another terminal"),
        "{markdown}"
    );
    // Who took part: the engineer at the keyboard and the one who attached.
    let people: Vec<&str> = draft.people.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(people, ["engineer", "bob"]);
    assert!(
        markdown.contains(
            "- **People:** engineer (typed the credential for c5, approved c8); bob (attached)"
        ),
        "{markdown}"
    );
}

/// The demo as an incident commander reads it: alice types the password, refuses the
/// rollback with a reason, and the draft tells the incident in incident time (the alert,
/// the changes, the onset, each service's first symptom, her decisions), with the
/// investigation's clock beside it. Golden, with the investigation's clock masked.
#[tokio::test]
async fn the_demo_postmortem_tells_the_incident_in_incident_time() {
    use hunch::engine::Command;
    use hunch::event::EventKind;
    let outcome = common::run_demo(
        hunch::engine::gate::Policy::Ask,
        hunch::engine::gate::Approver::Human,
        |event, state, handle| match &event.kind {
            EventKind::ApprovalRequested { id, .. }
                if state
                    .call(id)
                    .is_some_and(|c| c.command.contains("rollout undo")) =>
            {
                handle.send(Command::Deny {
                    id: id.clone(),
                    reason: "no rollback: 2.14.0 carries a PCI fix".into(),
                })
            }
            _ => common::approve_everything(event, state, handle),
        },
    )
    .await;
    let blobs = hunch::session::blob_store_for(&outcome.session_file);
    let draft = hunch::postmortem::draft_with(&outcome.events, Some(&blobs));
    let markdown = draft.markdown(Some("incident.svg"));
    // One onset everywhere: the summary's, the timeline's and the digests'.
    assert!(markdown.contains("**Onset (where the metrics moved):** 2026-11-24 02:08:45 UTC"));
    assert!(
        markdown.contains("| 02:08:45 |  | metrics | onset:"),
        "{markdown}"
    );
    assert!(!markdown.contains("02:09:00 UTC"));
    // The alert, the deploy and the decisions, in incident order.
    let order = [
        "deploy payments",
        "onset:",
        "alert fired",
        "denied (\"no rollback",
        "mitigation:",
        "recovery checked:",
    ];
    let timeline =
        &markdown[markdown.find("## Timeline").unwrap()..markdown.find("## Hypotheses").unwrap()];
    let at: Vec<usize> = order
        .iter()
        .map(|w| {
            timeline
                .find(w)
                .unwrap_or_else(|| panic!("{w}: {markdown}"))
        })
        .collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "{order:?} in order: {markdown}"
    );
    // Follow-ups respect the refusal; the credentialed read says who typed it.
    assert!(!markdown.contains("was not run"), "{markdown}");
    assert!(
        !markdown.to_lowercase().contains("previous release pinned"),
        "{markdown}"
    );
    assert!(!markdown.contains("not decided; ran"), "{markdown}");
    let proposed = &outcome.state.conclusion.as_ref().unwrap().follow_ups;
    assert!(
        proposed
            .iter()
            .any(|f| f.contains("previous release pinned") || f.contains("was not run")),
        "the brain proposed what the refusal rules out: {proposed:?}"
    );
    assert!(markdown.contains("credential typed by alice"));
    assert!(markdown.contains("- **People:** alice ("));
    let masked = regex::Regex::new(r"\| (\d\d:\d\d:\d\d) \| \d\d:\d\d:\d\d \|")
        .unwrap()
        .replace_all(&markdown, "| $1 | hh:mm:ss |");
    let masked = regex::Regex::new(r"(?m)^(- \*\*(Investigation started|Concluded):\*\*) .*$")
        .unwrap()
        .replace_all(&masked, "$1 (masked)");
    let masked =
        regex::Regex::new(r"(typed the credential for c\d+ \(`[^`]*`\) at) \d\d:\d\d:\d\d")
            .unwrap()
            .replace_all(&masked, "$1 hh:mm:ss");
    let masked = regex::Regex::new(r"(\d\d:\d\d:\d\d) (\w+(?: \d+%)? by)")
        .unwrap()
        .replace_all(&masked, "hh:mm:ss $2");
    // The knowledge query's words come from the log templates, tuned elsewhere.
    let masked = regex::Regex::new(
        r"knowledge_search query=[^`]*` — (\d+) hits · best: ([^(]*)\(\d+\.\d+\)",
    )
    .unwrap()
    .replace_all(
        &masked,
        "knowledge_search query=…` — $1 hits · best: $2(score)",
    );
    insta::assert_snapshot!("demo_postmortem_incident_time", masked);
}

/// The chart does not depend on what the conclusion cites: a session that never concluded
/// still gets one (from the strongest moves `metrics_rank` reported), with the same onset
/// as the draft, and the JSON and HTML exports carry it.
#[tokio::test]
async fn every_export_has_a_chart_even_without_a_conclusion() {
    use hunch::event::EventKind;
    let outcome = common::run_demo(
        hunch::engine::gate::Policy::Ask,
        hunch::engine::gate::Approver::Human,
        common::approve_everything,
    )
    .await;
    let blobs = hunch::session::blob_store_for(&outcome.session_file);
    let unfinished: Vec<_> = outcome
        .events
        .iter()
        .filter(|e| !matches!(e.kind, EventKind::Concluded { .. }))
        .cloned()
        .collect();
    let redactor = hunch::redact::Redactor::default();
    let (draft, svg) = hunch::postmortem::prepare(&unfinished, &blobs, &redactor);
    assert!(draft.root_cause.is_none());
    let svg = svg.expect("a chart without a conclusion");
    assert!(svg.contains("payments_p99_ms"), "{svg}");
    assert!(
        svg.contains(">02:08:45<"),
        "the draft's onset is the chart's: {svg}"
    );
    assert_eq!(
        draft
            .onset
            .map(|t| t.format("%H:%M:%S").to_string())
            .as_deref(),
        Some("02:08:45")
    );
    let html = draft.html(Some(&svg));
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<svg"));
    let mut with_chart = draft.clone();
    with_chart.chart_svg = Some(svg);
    let json = serde_json::to_value(&with_chart).unwrap();
    assert!(json["chart_svg"].as_str().unwrap().starts_with("<svg"));
}

/// A diagnostic the gate turned away because no one was there to type its credential is
/// still open work: the export keeps its follow-up (an engineer's refusal drops it; see
/// the demo golden, where alice refuses the rollback).
#[test]
fn what_no_one_was_there_to_decide_stays_a_follow_up() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = common::hunch_in(dir.path(), None, &["demo", "--headless"], b"");
    assert!(ok, "{err}");
    let session = err
        .lines()
        .find_map(|l| l.strip_prefix("session: "))
        .expect("the session is named")
        .to_string();
    let (ok, out, err) = hunch_within(dir.path(), &["export", &session]);
    assert!(ok, "{err}");
    let follow_ups = out
        .split("## Follow-ups")
        .nth(1)
        .expect("a follow-ups section");
    assert!(
        follow_ups.contains("was not run") && !follow_ups.contains("None proposed"),
        "{follow_ups}"
    );
}

/// A digest tool's report read from the blob store (a session an older or unredacting
/// hunch recorded, or a pattern added since): its change rows and log lines reach the
/// incident timeline, so they are redacted and cleaned of terminal escapes like every
/// other recorded string before the draft is serialized.
#[test]
fn a_digest_report_in_the_blob_store_is_redacted_in_the_export() {
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let blobs = hunch::session::BlobStore::new(dir.path().join("blobs"));
    let secret = r#"password="hunter2secret" AKIAIOSFODNN7EXAMPLE"#;
    let report = json!({"events": [{"time": "2026-11-24T02:09:00Z",
        "kind": format!("deploy \u{1b}]0;pwned\u{7} {secret}"), "service": "payments",
        "detail": secret, "by": format!("ci {secret}")}]});
    let hash = blobs.put(&report.to_string()).unwrap();
    let events = [
        json!({"type": "session_started", "brain": "offline", "policy": "ask",
            "incident": {"title": "t", "alert": "a", "environment": "demo"}}),
        json!({"type": "tool_call_proposed", "id": "c1", "tool": "change_events", "args": {},
            "command": "change_events", "target": "demo", "risk": "read-only",
            "rationale": "r"}),
        json!({"type": "tool_call_finished", "id": "c1", "outcome": "ok", "duration_ms": 1,
            "output": {"preview": "1 change", "bytes": 10, "lines": 1, "digest": "1 change",
                "blob": hash}}),
    ];
    let lines: String = events
        .into_iter()
        .enumerate()
        .map(|(seq, mut e)| {
            e["seq"] = json!(seq);
            e["ts"] = json!(format!("2026-11-24T02:30:{seq:02}Z"));
            format!("{e}\n")
        })
        .collect();
    let file = dir.path().join("blobbed.jsonl");
    std::fs::write(&file, lines).unwrap();
    let file = file.to_str().unwrap();
    for format in ["md", "json", "html"] {
        let (ok, out, err) = hunch_within(dir.path(), &["export", file, "--format", format]);
        assert!(ok, "{err}");
        assert!(out.contains("payments"), "the change is told: {out}");
        for planted in PLANTED {
            assert!(!out.contains(planted), "{format} holds {planted}:\n{out}");
        }
        assert!(!out.contains('\u{1b}'), "{format} holds an escape:\n{out}");
    }
}

/// A forged session file whose lines name an event type, or hold a field, made of
/// terminal escapes (and one line that is not UTF-8): `hunch export` warns about each
/// line it skips, and its warnings on the terminal are text, never escape sequences
/// (serde's messages quote the unknown name verbatim).
#[test]
fn warnings_about_a_forged_session_are_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("forged.jsonl");
    let mut bytes = br#"{"seq":0,"ts":"2026-11-24T02:30:00Z","type":"session_started","brain":"offline","policy":"ask","incident":{"title":"t","alert":"a","environment":"demo"}}
{"seq":1,"ts":"2026-11-24T02:30:01Z","type":"\u001b]0;pwned\u0007\u001b[2J"}
"#
    .to_vec();
    bytes.extend_from_slice(b"{\"seq\":2,\"type\":\"notice\",\"text\":\"\xff\xfe\"}\n");
    std::fs::write(&file, bytes).unwrap();
    let (ok, out, err) = hunch_within(dir.path(), &["export", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("# Postmortem draft: t"), "{out}");
    assert!(err.contains("line 2: not a hunch event"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    for c in ['\u{1b}', '\u{7}'] {
        assert!(!err.contains(c), "{err:?}");
    }
}

/// An edit is told by what it changed, against the hypothesis as it stood: a refutation
/// names the status it overturned, a pin is a pin (not "set H1 to refuted" again), and
/// the headless replay says who edited and gives a refuted hypothesis no confidence.
#[test]
fn edits_are_told_by_what_they_changed_and_who_made_them() {
    use hunch::event::{Event, EventKind, HypothesisStatus};
    let mut events = fixture();
    let (at, first) = events
        .iter()
        .enumerate()
        .find_map(|(n, e)| match &e.kind {
            EventKind::HypothesisUpserted { hypothesis }
                if hypothesis.status != HypothesisStatus::Refuted =>
            {
                Some((n, hypothesis.clone()))
            }
            _ => None,
        })
        .expect("the fixture proposes a hypothesis it does not refute at once");
    let mut refuted = first.clone();
    refuted.status = HypothesisStatus::Refuted;
    let mut pinned = refuted.clone();
    pinned.pinned = true;
    let edit = |hypothesis, seq| Event {
        seq,
        kind: EventKind::HypothesisEdited {
            hypothesis,
            by: "alice".into(),
        },
        ..events[at].clone()
    };
    let (refute, pin) = (edit(refuted, 10_000), edit(pinned, 10_001));
    events.insert(at + 1, pin);
    events.insert(at + 1, refute);
    let draft = hunch::postmortem::draft(&events);
    let said: Vec<&str> = draft
        .timeline
        .iter()
        .filter(|m| m.who == "alice")
        .map(|m| m.what.as_str())
        .collect();
    let was = first.status.label();
    assert_eq!(
        said,
        [
            format!("refuted {} (was {was}): {}", first.id, first.statement),
            format!("pinned {}: {}", first.id, first.statement),
        ],
        "{said:?}"
    );
    let mut printed = Vec::new();
    let mut printer = hunch::headless::Printer::new(&mut printed, false);
    for event in &events {
        printer.print(event).unwrap();
    }
    let printed = String::from_utf8(printed).unwrap();
    let line = printed
        .lines()
        .find(|l| l.contains("alice refuted"))
        .unwrap_or_else(|| panic!("{printed}"));
    assert!(
        !line.contains('%'),
        "a refuted hypothesis has no confidence: {line}"
    );
}
