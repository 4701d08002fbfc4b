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
