//! The boundaries of the design, checked on the source: the TUI and the brains speak
//! the protocol and the events, never the engine's or the tools' internals. (A Cargo
//! workspace would make the compiler keep them; until then this test does.)

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Lines of code under `src/dir` that name one of `forbidden` modules.
fn crossings(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
    crossings_in(&root, forbidden)
}

fn crossings_in(root: &Path, forbidden: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for file in rust_files(root) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for module in forbidden {
                if code.contains(&format!("crate::{module}")) {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn brains_never_reach_into_tools_or_the_engine() {
    let found = crossings("brain", &["tools", "engine", "tui", "session", "launch"]);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_tui_never_reaches_into_tools_the_engine_or_brains() {
    let found = crossings("tui", &["tools", "engine", "brain", "launch"]);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_protocol_and_events_stand_on_nothing_above_them() {
    let above = ["tools", "engine", "brain", "tui", "session", "launch"];
    let found = crossings("protocol", &above);
    assert!(found.is_empty(), "{}", found.join("\n"));
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/event.rs");
    let text = std::fs::read_to_string(events).unwrap();
    for module in above {
        assert!(
            !text.contains(&format!("crate::{module}")),
            "event.rs uses crate::{module}"
        );
    }
}

/// The check itself can fail: a planted crossing is found.
#[test]
fn a_crossing_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("llm");
    std::fs::create_dir(&nested).unwrap();
    std::fs::write(
        nested.join("x.rs"),
        "use crate::tools::Secret;\n// crate::engine in a comment\n",
    )
    .unwrap();
    let found = crossings_in(dir.path(), &["tools", "engine"]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].ends_with("x.rs:1: use crate::tools::Secret;"));
}
