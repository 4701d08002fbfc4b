//! Brains: what decides the next step of an investigation.
//!
//! A [`Brain`] is given a [`BrainContext`] — the incident, the tools (by schema only), what
//! happened so far and the hypothesis board, human edits marked authoritative — and
//! answers with a stream of [`BrainItem`]s: reasoning and message text as it is produced,
//! then tool calls. The engine turns the stream into events, so text from every brain
//! reaches the screen through one path. Hypotheses and the conclusion are written through
//! two tools every brain sees, `update_hypotheses` and `conclude`, which the engine handles
//! itself.
//!
//! A brain proposes; it never decides what is safe. Its calls carry no risk field.

pub mod llm;
pub mod offline;

use crate::event::{CallOutcome, Hypothesis, HypothesisStatus, RawRef};
use crate::protocol::{ToolSpec, schema_of};
use futures::stream::BoxStream;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// The incident as a brain sees it.
#[derive(Debug, Clone, Default)]
pub struct IncidentBrief {
    pub title: String,
    pub alert: String,
    pub fired_at: Option<chrono::DateTime<chrono::Utc>>,
    pub namespace: String,
    /// (name, kind) of known services; kind is `app`, `postgres`, …
    pub services: Vec<(String, String)>,
    /// The call graph, as (caller, callee) edges, when the source declares one.
    pub calls: Vec<(String, String)>,
}

/// One thing that happened, as a brain sees it. Outputs are the full text with secrets
/// scrubbed; credentials never appear.
#[derive(Debug, Clone)]
pub enum HistoryItem {
    /// What the brain itself produced in one turn: its reasoning and its visible text.
    Said {
        reasoning: String,
        text: String,
        /// Provider data to send back unchanged; never shown or recorded.
        opaque: Vec<Value>,
    },
    ToolResult {
        id: String,
        tool: String,
        args: Value,
        command: String,
        outcome: CallOutcome,
        output: String,
        error: Option<String>,
        /// The raw data the output was digested from, kept in the blob store.
        raw: Option<RawRef>,
    },
    /// The engineer (or the policy) refused a call.
    Denied {
        id: String,
        tool: String,
        args: Value,
        command: String,
        reason: String,
    },
    Steering {
        text: String,
    },
    /// The engineer changed the board; the hypothesis as it now stands.
    BoardEdit {
        hypothesis: Hypothesis,
    },
    /// The brain concluded (through the `conclude` tool).
    Concluded {
        root_cause: String,
    },
}

#[derive(Debug, Clone)]
pub struct BrainContext {
    pub incident: IncidentBrief,
    pub tools: Vec<ToolSpec>,
    pub history: Vec<HistoryItem>,
    pub board: Vec<Hypothesis>,
    pub turn: u32,
}

/// A call a brain proposes. The engine assigns the id and asks the tool for its risk.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposedCall {
    pub tool: String,
    pub args: Value,
    pub rationale: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BrainItem {
    Reasoning(String),
    Message(String),
    Call(ProposedCall),
    /// Something went wrong and is being handled (a retry after a 429, a skipped
    /// malformed chunk); shown on screen, the turn goes on.
    Problem {
        message: String,
        retrying: bool,
    },
    /// Tokens used by this turn, when the server reports them.
    Usage {
        input: u64,
        output: u64,
    },
    /// How many secrets were redacted from the request this turn sent.
    Redacted(u64),
    /// The reply was cut and is being asked for again: what was streamed of it so far
    /// is dropped (it stays on screen, marked by this retry).
    Retry {
        message: String,
    },
    /// Provider data the brain needs back next turn (Anthropic thinking signatures).
    Opaque(Value),
}

#[derive(Debug, thiserror::Error)]
pub enum BrainError {
    #[error("{0}")]
    Failed(String),
}

pub trait Brain: Send {
    /// Shown in the status bar: `offline`, `openai:gpt-5.1`, …
    fn name(&self) -> String;

    /// One turn: stream text, then the calls to make. An empty turn means the brain has
    /// nothing more to do until the engineer says something.
    fn turn(&mut self, context: BrainContext) -> BoxStream<'static, Result<BrainItem, BrainError>>;
}

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
#[derive(Debug, Deserialize, JsonSchema)]
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
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateHypothesesArgs {
    pub hypotheses: Vec<HypothesisArgs>,
}

/// Arguments of `conclude`.
#[derive(Debug, Deserialize, JsonSchema)]
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
