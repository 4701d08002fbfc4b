//! Learning from each incident: a concluded investigation becomes a past incident in the
//! knowledge base (Markdown, the same form as hand-written ones), and the next
//! investigation's evidence search finds it and says so.

mod common;

fn session_of(err: &str) -> String {
    err.lines()
        .find_map(|l| l.strip_prefix("session: "))
        .expect("the session file is named")
        .to_string()
}

#[test]
fn the_second_investigation_finds_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| common::hunch_in(dir.path(), None, args, b"");
    let (ok, _, err) = run(&["demo", "--headless", "--approve-all"]);
    assert!(ok, "{err}");
    let first = session_of(&err);
    let id = std::path::Path::new(&first)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    // No one took part (headless, approved by --approve-all): it is not learned on its
    // own — an unverified conclusion recalled as evidence would repeat itself.
    assert!(
        err.contains("not learned: no one took part") && !err.contains("learned: /"),
        "{err}"
    );
    // Nor a plain headless run, whose risky calls the gate denied with no one there.
    let (ok, _, plain) = run(&["demo", "--headless"]);
    assert!(ok, "{plain}");
    assert!(plain.contains("not learned: no one took part"), "{plain}");
    // An engineer who read it adds it.
    let (ok, _, learned_err) = run(&["learn", &first]);
    assert!(ok, "{learned_err}");
    let learned = learned_err
        .lines()
        .find_map(|l| l.strip_prefix("learned: "))
        .expect("the concluded session was learned")
        .to_string();
    let learned = learned.as_str();
    let text = std::fs::read_to_string(learned).unwrap();
    assert!(
        text.starts_with(&format!("# {id}: checkout p99 latency above 2s")),
        "{text}"
    );
    for section in [
        "tags: learned",
        "## Summary",
        "## Evidence",
        "## Fix",
        "## Ruled out",
        "## Follow-ups",
    ] {
        assert!(text.contains(section), "{section} in {text}");
    }
    assert!(text.contains("Root cause") && text.contains("payments"));
    assert!(!text.contains(common::SECRET));
    // Parsed as the hand-written ones are.
    let doc = hunch::knowledge::parse_doc(
        &hunch::bundle::Document {
            name: "learned".into(),
            text: text.clone(),
        },
        "incident",
    );
    assert!(doc.summary.contains("Root cause"), "{doc:?}");

    let (ok, _, err) = run(&["demo", "--headless", "--approve-all"]);
    assert!(ok, "{err}");
    let second = std::fs::read_to_string(session_of(&err)).unwrap();
    let search = second
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| {
            e["type"] == "tool_call_finished"
                && e["output"]["digest"]
                    .as_str()
                    .is_some_and(|d| d.contains("hits"))
        })
        .expect("the second investigation searched its knowledge");
    let output = search["output"].to_string();
    assert!(
        output.contains(&id),
        "the search names the first incident: {output}"
    );

    // `hunch learn` writes the same for an older session.
    std::fs::remove_file(learned).unwrap();
    let (ok, _, err) = run(&["learn", &first]);
    assert!(ok, "{err}");
    assert_eq!(std::fs::read_to_string(learned).unwrap(), text);
}
