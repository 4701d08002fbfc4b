//! The layers of the design, read from the workspace itself (`cargo metadata`): each crate
//! depends only on crates in layers below its own, the TUI and the brains never on the
//! tools or the engine, and the pure layers on no network or terminal crate. The compiler
//! already refuses a cycle; this test refuses an arrow that points up or sideways, which a
//! cycle-free graph can still have.

use std::collections::BTreeMap;

/// The layers, bottom first (as `Cargo.toml` explains them). A crate may depend on crates
/// of lower layers only: not on its own layer (tools and brains stay strangers), not above.
const LAYERS: &[&[&str]] = &[
    &["hunch-protocol"],
    &["hunch-analysis", "hunch-session"],
    &["hunch-bundle"],
    &["hunch-postmortem"],
    &["hunch-knowledge"],
    &["hunch-tools", "hunch-brain"],
    &["hunch-engine"],
    &["hunch-tui"],
    &["hunch"],
];

/// Crates a part must not reach, even though they lie below it.
const FORBIDDEN: &[(&str, &[&str])] = &[
    // The screens speak the protocol: a decision goes to the engine as a command.
    (
        "hunch-tui",
        &[
            "hunch-tools",
            "hunch-engine",
            "hunch-brain",
            "hunch-knowledge",
        ],
    ),
];

/// Outside crates that put a part on the network or the terminal.
const NETWORK: &[&str] = &["reqwest", "axum", "rmcp", "tokio-postgres"];
const TERMINAL: &[&str] = &["crossterm", "ratatui", "ratatui-textarea"];

/// Parts that know nothing of the network, and parts that know nothing of the terminal.
const OFF_THE_NETWORK: &[&str] = &[
    "hunch-protocol",
    "hunch-analysis",
    "hunch-session",
    "hunch-bundle",
    "hunch-postmortem",
    "hunch-knowledge",
    "hunch-tui",
];
const OFF_THE_TERMINAL: &[&str] = &[
    "hunch-protocol",
    "hunch-analysis",
    "hunch-session",
    "hunch-bundle",
    "hunch-postmortem",
    "hunch-knowledge",
    "hunch-tools",
    "hunch-brain",
    "hunch-engine",
];

/// Each workspace crate with the names of everything it depends on (all kinds: a dev
/// dependency pointing up is an upward arrow too).
fn workspace() -> BTreeMap<String, Vec<String>> {
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            let name = package["name"].as_str().unwrap().to_string();
            let deps = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|dep| dep["name"].as_str().unwrap().to_string())
                .collect();
            (name, deps)
        })
        .collect()
}

fn layer_of(name: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&name))
}

/// Every arrow that breaks the layers, as "from -> to (why)".
fn wrong_arrows(crates: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut wrong = Vec::new();
    for (name, deps) in crates {
        let Some(own) = layer_of(name) else {
            wrong.push(format!("{name} is in no layer: place it in LAYERS"));
            continue;
        };
        for dep in deps {
            match layer_of(dep) {
                Some(below) if below < own => {}
                Some(_) => wrong.push(format!("{name} -> {dep} (not below it)")),
                None => {}
            }
        }
        let forbidden = FORBIDDEN
            .iter()
            .filter(|(part, _)| part == name)
            .flat_map(|(_, crates)| crates.iter());
        for crate_name in forbidden {
            if deps.iter().any(|dep| dep == crate_name) {
                wrong.push(format!("{name} -> {crate_name} (forbidden)"));
            }
        }
        let off = [(OFF_THE_NETWORK, NETWORK), (OFF_THE_TERMINAL, TERMINAL)];
        for (parts, outside) in off {
            if parts.contains(&name.as_str()) {
                for dep in deps.iter().filter(|dep| outside.contains(&dep.as_str())) {
                    wrong.push(format!("{name} -> {dep} (network or terminal)"));
                }
            }
        }
    }
    wrong
}

#[test]
fn every_crate_stands_only_on_the_layers_below_it() {
    let crates = workspace();
    assert!(
        crates.len() >= LAYERS.iter().map(|layer| layer.len()).sum::<usize>(),
        "every layer's crate is in the workspace: {:?}",
        crates.keys()
    );
    let wrong = wrong_arrows(&crates);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_tui_and_the_brains_never_reach_tools_or_the_engine() {
    let crates = workspace();
    for part in ["hunch-tui", "hunch-brain"] {
        let deps = &crates[part];
        for inner in ["hunch-tools", "hunch-engine"] {
            assert!(
                !deps.iter().any(|d| d == inner),
                "{part} depends on {inner}"
            );
        }
    }
}

/// The check itself can fail: planted wrong arrows are each found.
#[test]
fn a_wrong_arrow_is_found() {
    let planted: BTreeMap<String, Vec<String>> = [
        ("hunch-protocol", vec!["hunch-analysis"]),
        ("hunch-brain", vec!["hunch-tools", "hunch-protocol"]),
        ("hunch-tui", vec!["hunch-engine", "reqwest"]),
        ("hunch-analysis", vec!["crossterm"]),
        ("hunch-new", vec![]),
    ]
    .into_iter()
    .map(|(name, deps)| {
        (
            name.to_string(),
            deps.into_iter().map(String::from).collect(),
        )
    })
    .collect();
    let wrong = wrong_arrows(&planted);
    for expected in [
        "hunch-protocol -> hunch-analysis (not below it)",
        "hunch-brain -> hunch-tools (not below it)",
        "hunch-tui -> hunch-engine (forbidden)",
        "hunch-tui -> reqwest (network or terminal)",
        "hunch-analysis -> crossterm (network or terminal)",
        "hunch-new is in no layer: place it in LAYERS",
    ] {
        assert!(
            wrong.iter().any(|w| w == expected),
            "{expected} in {wrong:?}"
        );
    }
    assert_eq!(wrong.len(), 6, "{wrong:?}");
}
