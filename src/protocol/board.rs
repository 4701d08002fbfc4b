//! The engine's own tools, as every brain sees them: `update_hypotheses` and `conclude`
//! write the board and the conclusion, `read_output` reads more of an earlier call's
//! output. Brains build these calls and the engine answers them, so their names,
//! argument types and specs live here, below both.

use super::{ToolSpec, schema_of};
use crate::event::HypothesisStatus;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const UPDATE_HYPOTHESES: &str = "update_hypotheses";
pub const READ_OUTPUT: &str = "read_output";
pub const CONCLUDE: &str = "conclude";

/// Arguments of `read_output`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadOutputArgs {
    /// The tool call id, e.g. c4.
    pub id: String,
    /// The first line to show (1-based).
    #[schemars(range(min = 1))]
    pub start_line: Option<u64>,
    /// The last line to show.
    #[schemars(range(min = 1))]
    pub end_line: Option<u64>,
    /// Show only lines containing this (case-insensitive).
    pub grep: Option<String>,
    /// Read the raw data the output was digested from (log lines, samples as CSV)
    /// instead of the output itself.
    #[serde(default)]
    pub raw: bool,
}

/// One hypothesis as a brain writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HypothesisArgs {
    /// H1, H2, … to update one; omit to add one.
    pub id: Option<String>,
    /// The brain's own stable handle for it, if it keeps one.
    pub key: Option<String>,
    pub statement: String,
    pub status: HypothesisStatus,
    #[schemars(range(min = 0.0, max = 1.0))]
    pub confidence: f32,
    /// Ids of the tool calls that support or refute it (c1, c2, …).
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// Arguments of `update_hypotheses`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateHypothesesArgs {
    pub hypotheses: Vec<HypothesisArgs>,
}

/// Arguments of `conclude`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConcludeArgs {
    pub root_cause: String,
    #[schemars(range(min = 0.0, max = 1.0))]
    pub confidence: f32,
    /// Ids of the tool calls that are the evidence (c1, c2, …).
    pub evidence: Vec<String>,
    #[serde(default)]
    pub follow_ups: Vec<String>,
}

/// The tool a brain answers a follow-up question with (offered only then).
pub const ANSWER: &str = "answer";

/// Arguments of `answer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerArgs {
    /// The answer, from the record only.
    pub answer: String,
    /// Ids of the tool calls the answer rests on (c1, c2, …).
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// The `answer` tool, offered for a follow-up question instead of the investigation's tools.
pub fn answer_tool_spec() -> ToolSpec {
    ToolSpec {
        name: ANSWER.into(),
        description: "Answer the engineer's follow-up question from the record of this investigation, citing the ids of the tool calls the answer rests on.".into(),
        parameters: schema_of::<AnswerArgs>(),
    }
}

/// The tools the engine itself answers: writing the board, concluding, and reading the
/// full output of an earlier call (so long outputs need not sit in the context).
pub fn engine_tool_specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: READ_OUTPUT.into(),
            description: "Read part of an earlier tool call's full output: a line range, or the lines matching a pattern (case-insensitive substring).".into(),
            parameters: schema_of::<ReadOutputArgs>(),
        },
        ToolSpec {
            name: UPDATE_HYPOTHESES.into(),
            description: "Add or update hypotheses on the board. Hypotheses edited by the engineer are authoritative: their statement and status can't be changed.".into(),
            parameters: schema_of::<UpdateHypothesesArgs>(),
        },
        ToolSpec {
            name: CONCLUDE.into(),
            description: "State the root cause with confidence, the tool-call ids that are its evidence, and follow-ups.".into(),
            parameters: schema_of::<ConcludeArgs>(),
        },
    ]
}
