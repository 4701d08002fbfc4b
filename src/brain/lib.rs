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

// The crates this one stands on, under the names its modules use (`crate::event`, …).
use hunch_analysis as analysis;
use hunch_bundle as bundle;
use hunch_knowledge as knowledge;
use hunch_protocol as protocol;
use hunch_protocol::{event, redact, sanitize, text};

pub mod llm;
pub mod offline;

use crate::event::{CallOutcome, Hypothesis, RawRef};
use crate::protocol::ToolSpec;
use futures::StreamExt;
use futures::stream::BoxStream;
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
    /// Where `calls` came from when it was not declared (derived from traces), in words.
    pub calls_note: Option<String>,
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

#[derive(Debug, Clone, Default)]
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
    /// What hunch itself says about the brain's course (a nudge to an idle model, a
    /// hand-over to the offline brain): a notice on screen, not the model's words.
    Notice(String),
    /// The model made no progress and the offline evidence pipeline drives the session
    /// from here (recorded as a fact, beside the notice that says it).
    HandedOver,
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

    /// A follow-up question about the record (`context` holds all of it). The answer is
    /// streamed text, or one call of [`ANSWER`] with the answer and the ids it cites. A
    /// brain that can't answer free text streams nothing, and the engine answers from
    /// the record itself, saying so.
    fn answer(
        &mut self,
        context: BrainContext,
        question: &str,
    ) -> BoxStream<'static, Result<BrainItem, BrainError>> {
        let _ = (context, question);
        futures::stream::empty().boxed()
    }
}

// The engine's own tools are part of the protocol: brains call them, the engine answers.
pub use crate::protocol::board::{ANSWER, AnswerArgs, answer_tool_spec};
pub use crate::protocol::board::{
    CONCLUDE, ConcludeArgs, HypothesisArgs, READ_OUTPUT, ReadOutputArgs, UPDATE_HYPOTHESES,
    UpdateHypothesesArgs, engine_tool_specs,
};
