//! What a knowledge search answers with: a runbook or past incident, parsed (title, tags,
//! runnable steps, follow-ups), and its score. The parsing and the index live in
//! `hunch-knowledge`; the types are here because a tool's report carries them to the brain.

use serde::{Deserialize, Serialize};

/// A runnable step of a runbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub tool: String,
    pub phase: String,
    /// The hypothesis kind this step fits; empty means any.
    #[serde(default, rename = "for")]
    pub fits: String,
    #[serde(default)]
    pub target: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParsedDoc {
    pub name: String,
    pub kind: String,
    pub title: String,
    pub tags: Vec<String>,
    pub steps: Vec<Step>,
    pub follow_ups: Vec<String>,
    pub summary: String,
    /// A past incident's `## Ruled out` bullets: hypotheses refuted then, each ending in
    /// who refuted it (`(refuted by alice)`).
    #[serde(default)]
    pub ruled_out: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub score: f32,
    #[serde(flatten)]
    pub doc: ParsedDoc,
}
