//! Events and the reducer: the one idea hunch is built on.
//!
//! An investigation is an append-only log of [`Event`]s. Everything a user sees (the
//! transcript, tool cells, the hypothesis board, pending approvals, the conclusion) is
//! [`State`], a pure fold of that log through [`State::apply`]. The live TUI, the replay
//! viewer, the headless printer and the engine itself all run this same reducer, which is
//! why a replay shows exactly what the engineer saw.
//!
//! This module must never do I/O, read the clock or know about the terminal: `apply` is a
//! deterministic function of the events it is given.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

mod runs;
pub use runs::{
    Agreed, Agreement, Answer, AnsweredBy, FollowUp, RunInfo, RunOutcome, content_words,
    most_common_status,
};

/// One recorded thing that happened, with its place in the log and the time it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    pub ts: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// How risky a tool call is, decided by the tool from its actual arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Risk {
    ReadOnly,
    /// Reads secrets (a raw kubeconfig, a Secret's data): asked, like a change.
    ReadsSecrets,
    Mutating,
    /// Cannot be undone by another call: dropping or emptying a table, deleting a
    /// namespace or a volume, scaling to zero, `rm -r`. Never covered by a session or
    /// trusted rule; asked with the focus on deny.
    Destructive,
    NeedsCredentials,
    Unknown,
}

impl Risk {
    pub fn label(self) -> &'static str {
        match self {
            Risk::ReadOnly => "read-only",
            Risk::ReadsSecrets => "reads-secrets",
            Risk::Mutating => "mutating",
            Risk::Destructive => "destructive",
            Risk::NeedsCredentials => "needs-credentials",
            Risk::Unknown => "unknown",
        }
    }

    /// Order by how much could go wrong: read-only < needs-credentials < reads-secrets <
    /// mutating < destructive < unknown.
    pub fn rank(self) -> u8 {
        match self {
            Risk::ReadOnly => 0,
            Risk::NeedsCredentials => 1,
            Risk::ReadsSecrets => 2,
            Risk::Mutating => 3,
            Risk::Destructive => 4,
            Risk::Unknown => 5,
        }
    }

    /// The riskier of two.
    pub fn max(self, other: Risk) -> Risk {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// Whether a mistake here could change or destroy something (approval focus starts on deny).
    pub fn is_destructive(self) -> bool {
        matches!(self, Risk::Mutating | Risk::Destructive | Risk::Unknown)
    }

    /// Whether a session or trusted rule may ever cover a call of this risk: never one
    /// that can't be undone, and never one whose risk is not known.
    pub fn may_be_covered(self) -> bool {
        !matches!(self, Risk::Destructive | Risk::Unknown)
    }
}

/// What the engineer approved for the rest of the session.
///
/// A scope is built by the tool from the call's parsed arguments, never from its text:
/// later calls are covered only when their own parsed shape is the same and their risk is
/// no higher. `; DROP TABLE x` after an approved statement makes a second statement (no
/// shape at all), `&& kubectl delete` makes a kubectl line unknown, and an unknown call
/// has no scope, so each of those asks again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionScope {
    pub tool: String,
    /// Sessions recorded before shapes existed carry a text prefix instead; it reads as
    /// [`CallShape::Nothing`] and covers nothing.
    #[serde(default)]
    pub shape: CallShape,
    /// The highest risk covered: the risk of the call that was approved.
    #[serde(default = "unknown_risk")]
    pub risk: Risk,
}

fn unknown_risk() -> Risk {
    Risk::Unknown
}

/// The parsed shape of one call, as far as session approval is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum CallShape {
    /// One SQL statement on one database: its leading keyword, the write keywords it
    /// holds, the functions it calls and the tables it names (sorted, lower-case unless
    /// quoted), and its skeleton: every token in order (WHERE and SET included) with
    /// literal values as `?`, except the ones that name what is acted on (the pid given
    /// to `pg_terminate_backend`).
    Sql {
        target: String,
        statement: String,
        writes: Vec<String>,
        functions: Vec<String>,
        tables: Vec<String>,
        #[serde(default)]
        skeleton: String,
    },
    /// One kubectl invocation: verb, resource, names (in order), namespace, every flag
    /// that can change what it touches, and the command after `--` word for word.
    Kubectl {
        verb: String,
        resource: String,
        names: Vec<String>,
        namespace: String,
        flags: Vec<String>,
        #[serde(default)]
        command: Vec<String>,
    },
    /// The identical command line (shell lines, and tools with no parser of their own).
    Exact { command: String },
    /// No shape (a scope recorded by an older hunch): covers nothing.
    #[default]
    Nothing,
}

impl SessionScope {
    /// Whether an approval with this scope also approves `call` (the scope the tool built
    /// for that call).
    pub fn covers(&self, call: &SessionScope) -> bool {
        self.tool == call.tool
            && self.shape != CallShape::Nothing
            && self.shape == call.shape
            && self.risk.may_be_covered()
            && call.risk.may_be_covered()
            && call.risk.rank() <= self.risk.rank()
    }

    /// In words, what approving for the session covers (the approval overlay, the log).
    pub fn describe(&self) -> String {
        let list = |items: &[String]| {
            if items.is_empty() {
                "none".to_string()
            } else {
                items.join(", ")
            }
        };
        let what = match &self.shape {
            CallShape::Sql {
                target,
                statement,
                functions,
                tables,
                skeleton,
                ..
            } => {
                let mut text = format!(
                    "single {} statements on {target}, calling {} on tables {}",
                    statement.to_uppercase(),
                    list(functions),
                    list(tables)
                );
                if skeleton.contains('?') {
                    text.push_str(&format!(", shaped exactly `{skeleton}` (? is any literal)"));
                } else if !skeleton.is_empty() {
                    text.push_str(&format!(", exactly `{skeleton}` (its literals as written)"));
                }
                text
            }
            CallShape::Kubectl {
                verb,
                resource,
                names,
                namespace,
                flags,
                command,
            } => {
                let mut text = format!("`kubectl {verb}` of {resource} {}", list(names));
                if !command.is_empty() {
                    text.push_str(&format!(" running exactly `{}`", command.join(" ")));
                }
                text.push_str(&match namespace.as_str() {
                    "" => " in the default namespace".to_string(),
                    ns => format!(" in namespace {ns}"),
                });
                if !flags.is_empty() {
                    text.push_str(&format!(" with exactly the flags {}", flags.join(" ")));
                }
                text
            }
            CallShape::Exact { command } => format!("exactly `{command}`"),
            CallShape::Nothing => {
                return format!("nothing ({} scope of an older hunch)", self.tool);
            }
        };
        format!("{} calls: {what}; at most {}", self.tool, self.risk.label())
    }
}

/// The engineer's (or the policy's) answer to an approval request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "kebab-case")]
pub enum Decision {
    ApprovedOnce,
    ApprovedForSession {
        scope: SessionScope,
    },
    /// The engineer edited the call; it was checked and classified again as a new call.
    Edited {
        args: Value,
        command: String,
        /// The edited call's own risk (older sessions lack it: unknown).
        #[serde(default = "unknown_risk")]
        risk: Risk,
    },
    Denied {
        reason: String,
    },
}

impl Decision {
    pub fn is_approval(&self) -> bool {
        !matches!(self, Decision::Denied { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(inline)]
pub enum HypothesisStatus {
    Open,
    Supported,
    Refuted,
    Confirmed,
}

impl HypothesisStatus {
    pub fn label(self) -> &'static str {
        match self {
            HypothesisStatus::Open => "open",
            HypothesisStatus::Supported => "supported",
            HypothesisStatus::Refuted => "refuted",
            HypothesisStatus::Confirmed => "confirmed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Author {
    Brain,
    Human,
}

/// One entry on the hypothesis board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hypothesis {
    pub id: String,
    pub statement: String,
    pub status: HypothesisStatus,
    pub confidence: f32,
    /// Ids of the tool calls whose results support or refute it.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// The brain's own stable handle for it (e.g. `deploy:payments`); kept across human edits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub author: Author,
    #[serde(default)]
    pub pinned: bool,
}

impl Hypothesis {
    /// Its status and the brain's confidence, as the board says it: a refuted hypothesis
    /// is ruled out, and the confidence it had before says nothing any more.
    pub fn standing(&self) -> String {
        if self.status == HypothesisStatus::Refuted {
            self.status.label().to_string()
        } else {
            format!("{} {:.0}%", self.status.label(), self.confidence * 100.0)
        }
    }

    /// What an edit changed, from the hypothesis as it was (`None`: added), for the
    /// transcript: "refuted and pinned H3 (was supported): …", "reworded H4: new (was: old)".
    pub fn describe_edit(&self, before: Option<&Hypothesis>) -> String {
        let Some(before) = before else {
            let pin = if self.pinned { ", pinned" } else { "" };
            return format!(
                "added {} ({}{pin}): {}",
                self.id,
                self.status.label(),
                self.statement
            );
        };
        let mut verbs = Vec::new();
        let reworded = before.statement != self.statement;
        if reworded {
            verbs.push("reworded");
        }
        let status_changed = before.status != self.status;
        if status_changed {
            verbs.push(match self.status {
                HypothesisStatus::Refuted => "refuted",
                HypothesisStatus::Confirmed => "confirmed",
                HypothesisStatus::Open => "reopened",
                HypothesisStatus::Supported => "marked as supported",
            });
        }
        if before.pinned != self.pinned {
            verbs.push(if self.pinned { "pinned" } else { "unpinned" });
        }
        let mut text = match verbs.split_last() {
            None => format!("saved {} unchanged", self.id),
            Some((last, [])) => format!("{last} {}", self.id),
            Some((last, rest)) => format!("{} and {last} {}", rest.join(", "), self.id),
        };
        if status_changed {
            text.push_str(&format!(" (was {})", before.status.label()));
        }
        text.push_str(&format!(": {}", self.statement));
        if reworded {
            text.push_str(&format!(" (was: {})", before.statement));
        }
        text
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conclusion {
    pub root_cause: String,
    pub confidence: f32,
    pub evidence: Vec<String>,
    pub follow_ups: Vec<String>,
}

/// What a tool call printed: a preview for the screen, the full text behind a blob hash.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutputRef {
    /// The first lines of the output, already stripped of control sequences.
    pub preview: String,
    pub bytes: u64,
    pub lines: u64,
    /// sha256 of the full output in the session's blob store, when it did not fit the preview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
    /// Syntax for highlighting: json, sql, yaml, shell or log.
    #[serde(default)]
    pub language: String,
    /// One line saying what the output means (row counts, top result).
    #[serde(default)]
    pub digest: String,
    /// The data the output was digested from (log lines, samples), in the blob store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<RawRef>,
}

/// Raw data kept whole behind a digest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RawRef {
    /// sha256 of the data in the session's blob store.
    pub blob: String,
    pub lines: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallOutcome {
    Ok,
    Failed,
    Denied,
    Cancelled,
}

/// Limits on a session: it stops with a clear message when one is reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_steps: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost: Option<f64>,
    /// Dollars per million (input, output) tokens, when the provider's price is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_per_mtok: Option<(f64, f64)>,
}

impl Budget {
    pub fn cost(&self, input_tokens: u64, output_tokens: u64) -> Option<f64> {
        self.price_per_mtok
            .map(|(i, o)| (input_tokens as f64 * i + output_tokens as f64 * o) / 1e6)
    }

    /// Which limit `state` has reached after `elapsed_seconds`, in words.
    pub fn exceeded(&self, state: &State, elapsed_seconds: u64) -> Option<String> {
        let tokens = state.input_tokens + state.output_tokens;
        if let Some(max) = self.max_steps
            && state.steps() as u32 >= max
        {
            return Some(format!(
                "{} of {max} steps used (--max-steps)",
                state.steps()
            ));
        }
        if let Some(max) = self.max_tokens
            && tokens >= max
        {
            return Some(format!("{tokens} of {max} tokens used (--max-tokens)"));
        }
        if let Some(max) = self.max_seconds
            && elapsed_seconds >= max
        {
            return Some(format!(
                "{elapsed_seconds}s of {max}s wall time used (--max-minutes)"
            ));
        }
        if let (Some(max), Some(cost)) = (
            self.max_cost,
            self.cost(state.input_tokens, state.output_tokens),
        ) && cost >= max
        {
            return Some(format!("${cost:.2} of ${max:.2} spent (--max-cost)"));
        }
        None
    }
}

/// The incident as the session started it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentInfo {
    pub title: String,
    pub alert: String,
    pub environment: String,
    /// True when tools act on a simulated environment (the embedded demo or a bundle).
    #[serde(default)]
    pub simulated: bool,
    /// Where the incident came from, so `hunch resume` can connect to it again.
    #[serde(default, skip_serializing_if = "Origin::is_unknown")]
    pub origin: Origin,
    /// When the alert fired (its start, when the alert said), in incident time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fired_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Where an investigation's data and tools came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// Recorded before sessions said where they came from.
    #[default]
    Unknown,
    /// The embedded demo incident.
    Demo,
    /// An incident bundle directory, with the alert it was investigated under.
    Bundle { path: String, alert: String },
    /// A live environment from config.toml, with what the pager said.
    Env { name: String, alert: String },
}

impl Origin {
    pub(crate) fn is_unknown(&self) -> bool {
        *self == Origin::Unknown
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    SessionStarted {
        incident: IncidentInfo,
        brain: String,
        policy: String,
        #[serde(default)]
        budget: Budget,
    },
    TurnStarted {
        turn: u32,
    },
    ReasoningDelta {
        text: String,
    },
    MessageDelta {
        text: String,
    },
    ToolCallProposed {
        id: String,
        tool: String,
        args: Value,
        command: String,
        target: String,
        risk: Risk,
        rationale: String,
    },
    ApprovalRequested {
        id: String,
        command: String,
        target: String,
        risk: Risk,
        reason: String,
        /// What "approve for session" would cover; none when the call can't be approved
        /// for the session (several statements, an unknown call).
        #[serde(default)]
        scope: Option<SessionScope>,
        /// A preview of the effect, when the tool can produce one (a dry run, a diff).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preview: Option<String>,
    },
    ApprovalDecided {
        id: String,
        #[serde(flatten)]
        decision: Decision,
        by: String,
    },
    CredentialRequested {
        id: String,
        target: String,
        prompt: String,
    },
    CredentialSupplied {
        id: String,
        by: String,
    },
    ToolCallStarted {
        id: String,
        command: String,
    },
    ToolCallFinished {
        id: String,
        outcome: CallOutcome,
        duration_ms: u64,
        output: OutputRef,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    HypothesisUpserted {
        hypothesis: Hypothesis,
    },
    HypothesisEdited {
        hypothesis: Hypothesis,
        by: String,
    },
    Steering {
        text: String,
        by: String,
    },
    Paused {
        by: String,
    },
    Resumed {
        by: String,
    },
    /// An engineer joined from another terminal (`hunch attach`); a watcher only follows.
    Attached {
        by: String,
        #[serde(default)]
        watch: bool,
    },
    /// An attached terminal left (it quit, or its connection closed).
    Detached {
        by: String,
    },
    Notice {
        text: String,
    },
    /// Secrets removed from what the last request to a model carried.
    Redacted {
        count: u64,
    },
    /// Tokens a model turn used (summed into the status bar).
    Usage {
        input_tokens: u64,
        output_tokens: u64,
    },
    Error {
        source: String,
        message: String,
        retried: bool,
    },
    Concluded {
        conclusion: Conclusion,
    },
    /// The brain's reply for this turn is complete. Provider data it must be sent back
    /// (thinking signatures) is kept in the blob store, never in the log.
    ReplyEnded {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        opaque: Option<String>,
    },
    /// The engine's answer to one of its own tools (`update_hypotheses`, `conclude`,
    /// `read_output`), as the brain is told it.
    BoardCallAnswered {
        id: String,
        tool: String,
        args: Value,
        outcome: CallOutcome,
        output: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The session goes on after it ended or its process died (`hunch resume`).
    SessionResumed {
        by: String,
    },
    /// A resumed or forked session's tools act on another environment than its
    /// recording's start says (the file was edited, or the config changed): this is the
    /// environment of the config in force, which the screen shows from here on.
    EnvironmentInForce {
        environment: String,
        /// True when the tools act on simulated state (the demo or a bundle).
        simulated: bool,
    },
    /// A new session that starts from a recorded one, up to one of its calls
    /// (`hunch fork`); the events before this one are the parent's.
    SessionForked {
        /// The parent session's file.
        parent: String,
        /// The parent's last call this session keeps.
        at: String,
        by: String,
        brain: String,
    },
    SessionEnded {
        reason: String,
    },
    /// `--runs N`: N investigations go on from this snapshot (after call `at`), each a
    /// fork of it in a session of its own.
    RunsStarted {
        at: String,
        runs: Vec<RunInfo>,
    },
    /// One of those runs ended: its conclusion, if it reached one, and its board.
    RunFinished {
        #[serde(flatten)]
        outcome: RunOutcome,
    },
    /// The runs compared: every hypothesis with the runs that concluded, supported or
    /// refuted it. It becomes the group's board.
    RunsCompared {
        agreement: Agreement,
    },
    /// The model made no progress: the offline evidence pipeline drives the session from
    /// here, and what is concluded is its conclusion (a notice says so on screen).
    HandedOver {
        model: String,
    },
    /// A follow-up question about the record, to the brain (after the conclusion).
    Question {
        text: String,
        by: String,
    },
    /// The answer to the follow-up question `question`, citing calls of the record.
    Answered {
        question: String,
        #[serde(flatten)]
        answer: Answer,
    },
}

impl EventKind {
    /// Events a replay can jump to: where a human decided something.
    pub fn is_human_decision(&self) -> bool {
        matches!(
            self,
            EventKind::ApprovalRequested { .. }
                | EventKind::CredentialRequested { .. }
                | EventKind::HypothesisEdited { .. }
                | EventKind::Steering { .. }
        )
    }
}

/// Where a tool call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStatus {
    Proposed,
    AwaitingApproval,
    AwaitingCredential,
    Running,
    Finished(CallOutcome),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub tool: String,
    pub args: Value,
    pub command: String,
    pub target: String,
    pub risk: Risk,
    pub rationale: String,
    pub status: CallStatus,
    pub decision: Option<(Decision, String)>,
    pub credential_by: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<u64>,
    pub output: Option<OutputRef>,
    pub error: Option<String>,
    /// Index of the transcript entry that shows this call.
    pub entry: usize,
}

/// What one transcript row is.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Reasoning(String),
    Message(String),
    Tool(usize),
    Human(String),
    Notice(String),
    Error(String),
    Board(String),
    Conclusion,
}

/// Something waiting for a human.
#[derive(Debug, Clone, PartialEq)]
pub enum Pending {
    Approval {
        call: usize,
        reason: String,
        scope: Option<SessionScope>,
        preview: Option<String>,
    },
    Credential {
        call: usize,
        target: String,
        prompt: String,
    },
}

impl Pending {
    pub fn call(&self) -> usize {
        match self {
            Pending::Approval { call, .. } | Pending::Credential { call, .. } => *call,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionInfo {
    pub incident: IncidentInfo,
    pub budget: Budget,
    pub brain: String,
    pub policy: String,
    pub started_at: Option<DateTime<Utc>>,
}

/// The fold of the event log: everything a reader of the session can show.
#[derive(Debug, Clone, Default)]
pub struct State {
    pub session: SessionInfo,
    pub transcript: Vec<Entry>,
    /// Bumped whenever the transcript entry at the same index changes, so views can cache.
    pub entry_revisions: Vec<u64>,
    pub calls: Vec<ToolCall>,
    call_index: HashMap<String, usize>,
    pub hypotheses: Vec<Hypothesis>,
    pub pending: Vec<Pending>,
    pub session_rules: Vec<SessionScope>,
    pub paused: bool,
    /// Who is attached from another terminal now, in the order they came (a name twice
    /// when the same engineer attached twice).
    pub attached: Vec<String>,
    pub turns: u32,
    pub conclusion: Option<Conclusion>,
    pub ended: Option<String>,
    pub errors: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Secrets redacted so far: from what was recorded and shown, and from model requests.
    pub redacted: u64,
    pub events: u64,
    pub last_ts: Option<DateTime<Utc>>,
    /// When the investigation last came to rest — concluded or ended — until the agent
    /// starts another turn: the clock a live screen shows stands still there, whatever
    /// arrives after (an engineer attaching, a question).
    pub settled_at: Option<DateTime<Utc>>,
    /// `--runs N`: the runs that went on from this snapshot, and what each ended with.
    pub runs: Vec<RunInfo>,
    pub run_outcomes: Vec<RunOutcome>,
    /// The runs compared (the board is then the agreement).
    pub agreement: Option<Agreement>,
    /// Follow-up questions asked after the conclusion, with their answers.
    pub follow_ups: Vec<FollowUp>,
    /// The model whose session the offline pipeline took over, when it did.
    pub handed_over: Option<String>,
    revision: u64,
}

/// Words that make a follow-up about undoing a release.
fn about_rollback(text: &str) -> bool {
    let lower = text.to_lowercase();
    [
        "rollout undo",
        "rollback",
        "roll back",
        "previous release",
        "pinned",
        "pin the",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

impl State {
    /// The follow-ups in `proposed` that respect the engineers' decisions: a call an
    /// engineer denied is their decision, not an open task (its "… was not run" goes), and
    /// when they refused to roll back nothing asks to keep the previous release or roll
    /// back again. A call the gate itself turned away (no one there to approve it or type
    /// its credential) is still open work, and stays. The screen and the export both show
    /// these.
    pub fn follow_ups_still_open(&self, proposed: &[String]) -> Vec<String> {
        let refused: Vec<&ToolCall> = self
            .calls
            .iter()
            .filter(|c| {
                matches!(&c.decision, Some((Decision::Denied { .. }, by))
                    if decided_by_a_person(by))
            })
            .collect();
        let rollback_refused = refused.iter().any(|c| about_rollback(&c.command));
        proposed
            .iter()
            .filter(|f| !refused.iter().any(|c| f.contains(&c.command)))
            .filter(|f| !(rollback_refused && about_rollback(f)))
            .cloned()
            .collect()
    }

    pub fn new() -> State {
        State::default()
    }

    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> State {
        let mut state = State::new();
        for event in events {
            state.apply(event);
        }
        state
    }

    /// The hypotheses in the order every view shows them: pinned first, then confirmed,
    /// supported, open, refuted, then by confidence, then by id (so no tie is decided by
    /// arrival order). Indexes into `hypotheses`.
    pub fn ranked_hypotheses(&self) -> Vec<usize> {
        let status_rank = |s: HypothesisStatus| match s {
            HypothesisStatus::Confirmed => 0,
            HypothesisStatus::Supported => 1,
            HypothesisStatus::Open => 2,
            HypothesisStatus::Refuted => 3,
        };
        let mut order: Vec<usize> = (0..self.hypotheses.len()).collect();
        order.sort_by(|&a, &b| {
            let (ha, hb) = (&self.hypotheses[a], &self.hypotheses[b]);
            hb.pinned
                .cmp(&ha.pinned)
                .then(status_rank(ha.status).cmp(&status_rank(hb.status)))
                .then(hb.confidence.total_cmp(&ha.confidence))
                .then(ha.id.cmp(&hb.id))
        });
        order
    }

    /// The board row of the hypothesis `id` (0, the top row, when there is none).
    pub fn rank_of(&self, id: Option<&str>) -> usize {
        let Some(id) = id else { return 0 };
        self.ranked_hypotheses()
            .iter()
            .position(|&i| self.hypotheses[i].id == id)
            .unwrap_or(0)
    }

    /// The id of the hypothesis on board row `rank`, or on the last row past the end.
    pub fn id_at_rank(&self, rank: usize) -> Option<String> {
        let ranked = self.ranked_hypotheses();
        let i = *ranked.get(rank.min(ranked.len().checked_sub(1)?))?;
        Some(self.hypotheses[i].id.clone())
    }

    pub fn call(&self, id: &str) -> Option<&ToolCall> {
        self.call_index.get(id).map(|&i| &self.calls[i])
    }

    /// Whether `id` is a call of this session that answered (what an answer may cite).
    pub fn call_answered(&self, id: &str) -> bool {
        self.call(id)
            .is_some_and(|c| c.status == CallStatus::Finished(CallOutcome::Ok))
    }

    pub fn hypothesis(&self, id: &str) -> Option<&Hypothesis> {
        self.hypotheses.iter().find(|h| h.id == id)
    }

    /// Tool calls that finished, counted as the investigation's steps.
    pub fn steps(&self) -> usize {
        self.calls
            .iter()
            .filter(|c| matches!(c.status, CallStatus::Finished(_)))
            .count()
    }

    pub fn running_calls(&self) -> usize {
        self.calls
            .iter()
            .filter(|c| c.status == CallStatus::Running)
            .count()
    }

    fn push_entry(&mut self, entry: Entry) -> usize {
        self.revision += 1;
        self.transcript.push(entry);
        self.entry_revisions.push(self.revision);
        self.transcript.len() - 1
    }

    fn touch_entry(&mut self, index: usize) {
        self.revision += 1;
        self.entry_revisions[index] = self.revision;
    }

    fn append_text(&mut self, text: &str, reasoning: bool) {
        let last = self.transcript.len().wrapping_sub(1);
        match self.transcript.last_mut() {
            Some(Entry::Reasoning(buf)) if reasoning => buf.push_str(text),
            Some(Entry::Message(buf)) if !reasoning => buf.push_str(text),
            _ => {
                let entry = if reasoning {
                    Entry::Reasoning(text.to_string())
                } else {
                    Entry::Message(text.to_string())
                };
                self.push_entry(entry);
                return;
            }
        }
        self.touch_entry(last);
    }

    fn with_call(&mut self, id: &str, change: impl FnOnce(&mut ToolCall)) {
        if let Some(&index) = self.call_index.get(id) {
            change(&mut self.calls[index]);
            let entry = self.calls[index].entry;
            self.touch_entry(entry);
        }
    }

    fn resolve_pending(&mut self, id: &str) {
        if let Some(&index) = self.call_index.get(id) {
            self.pending.retain(|p| p.call() != index);
        }
    }

    fn upsert_hypothesis(&mut self, hypothesis: &Hypothesis) {
        match self.hypotheses.iter_mut().find(|h| h.id == hypothesis.id) {
            Some(existing) => *existing = hypothesis.clone(),
            None => self.hypotheses.push(hypothesis.clone()),
        }
    }

    /// The reducer. Unknown call ids are ignored rather than trusted, so a damaged log
    /// still folds into a coherent state.
    pub fn apply(&mut self, event: &Event) {
        self.events += 1;
        self.last_ts = Some(event.ts);
        match &event.kind {
            EventKind::SessionStarted {
                incident,
                brain,
                policy,
                budget,
            } => {
                self.session = SessionInfo {
                    incident: incident.clone(),
                    budget: *budget,
                    brain: brain.clone(),
                    policy: policy.clone(),
                    started_at: Some(event.ts),
                };
            }
            EventKind::TurnStarted { turn } => {
                self.turns = *turn;
                self.settled_at = None;
            }
            EventKind::ReasoningDelta { text } => self.append_text(text, true),
            EventKind::MessageDelta { text } => self.append_text(text, false),
            EventKind::ToolCallProposed {
                id,
                tool,
                args,
                command,
                target,
                risk,
                rationale,
            } => {
                let index = self.calls.len();
                let entry = self.push_entry(Entry::Tool(index));
                self.calls.push(ToolCall {
                    id: id.clone(),
                    tool: tool.clone(),
                    args: args.clone(),
                    command: command.clone(),
                    target: target.clone(),
                    risk: *risk,
                    rationale: rationale.clone(),
                    status: CallStatus::Proposed,
                    decision: None,
                    credential_by: None,
                    started_at: None,
                    duration_ms: None,
                    output: None,
                    error: None,
                    entry,
                });
                self.call_index.insert(id.clone(), index);
            }
            EventKind::ApprovalRequested {
                id,
                reason,
                scope,
                preview,
                ..
            } => {
                if let Some(&call) = self.call_index.get(id) {
                    self.pending.push(Pending::Approval {
                        call,
                        reason: reason.clone(),
                        scope: scope.clone(),
                        preview: preview.clone(),
                    });
                    self.with_call(id, |c| c.status = CallStatus::AwaitingApproval);
                }
            }
            EventKind::ApprovalDecided { id, decision, by } => {
                self.resolve_pending(id);
                if let Decision::ApprovedForSession { scope } = decision
                    && !self.session_rules.contains(scope)
                {
                    self.session_rules.push(scope.clone());
                }
                self.with_call(id, |c| {
                    if let Decision::Edited {
                        args,
                        command,
                        risk,
                    } = decision
                    {
                        c.args = args.clone();
                        c.command = command.clone();
                        c.risk = *risk;
                    }
                    c.decision = Some((decision.clone(), by.clone()));
                    c.status = CallStatus::Proposed;
                });
            }
            EventKind::CredentialRequested { id, target, prompt } => {
                if let Some(&call) = self.call_index.get(id) {
                    self.pending.push(Pending::Credential {
                        call,
                        target: target.clone(),
                        prompt: prompt.clone(),
                    });
                    self.with_call(id, |c| c.status = CallStatus::AwaitingCredential);
                }
            }
            EventKind::CredentialSupplied { id, by } => {
                self.resolve_pending(id);
                self.with_call(id, |c| {
                    c.credential_by = Some(by.clone());
                    c.status = CallStatus::Proposed;
                });
            }
            EventKind::ToolCallStarted { id, command } => {
                let ts = event.ts;
                self.with_call(id, |c| {
                    c.status = CallStatus::Running;
                    c.command = command.clone();
                    c.started_at = Some(ts);
                });
            }
            EventKind::ToolCallFinished {
                id,
                outcome,
                duration_ms,
                output,
                error,
            } => {
                self.resolve_pending(id);
                self.with_call(id, |c| {
                    c.status = CallStatus::Finished(*outcome);
                    c.duration_ms = Some(*duration_ms);
                    c.output = Some(output.clone());
                    c.error = error.clone();
                });
            }
            EventKind::HypothesisUpserted { hypothesis } => {
                self.upsert_hypothesis(hypothesis);
                self.push_entry(Entry::Board(format!(
                    "{} {}: {}",
                    hypothesis.id,
                    hypothesis.standing(),
                    hypothesis.statement
                )));
            }
            EventKind::HypothesisEdited { hypothesis, by } => {
                let before = self
                    .hypotheses
                    .iter()
                    .find(|h| h.id == hypothesis.id)
                    .cloned();
                self.upsert_hypothesis(hypothesis);
                self.push_entry(Entry::Human(format!(
                    "{by} {}",
                    hypothesis.describe_edit(before.as_ref())
                )));
            }
            EventKind::Steering { text, by } => {
                self.push_entry(Entry::Human(format!("{by}: {text}")));
            }
            EventKind::Paused { by } => {
                self.paused = true;
                self.push_entry(Entry::Notice(format!("paused by {by}")));
            }
            EventKind::Resumed { by } => {
                self.paused = false;
                self.push_entry(Entry::Notice(format!("resumed by {by}")));
            }
            EventKind::Attached { by, watch } => {
                self.attached.push(by.clone());
                let how = if *watch { " to watch" } else { "" };
                self.push_entry(Entry::Notice(format!("{by} attached{how}")));
            }
            EventKind::Detached { by } => {
                if let Some(at) = self.attached.iter().position(|name| name == by) {
                    self.attached.remove(at);
                }
                self.push_entry(Entry::Notice(format!("{by} left")));
            }
            EventKind::Notice { text } => {
                self.push_entry(Entry::Notice(text.clone()));
            }
            EventKind::Redacted { count } => self.redacted = *count,
            EventKind::Usage {
                input_tokens,
                output_tokens,
            } => {
                self.input_tokens += input_tokens;
                self.output_tokens += output_tokens;
            }
            EventKind::Error {
                source, message, ..
            } => {
                self.errors += 1;
                self.push_entry(Entry::Error(format!("{source}: {message}")));
            }
            EventKind::Concluded { conclusion } => {
                self.conclusion = Some(conclusion.clone());
                self.settled_at = Some(event.ts);
                self.push_entry(Entry::Conclusion);
            }
            EventKind::SessionEnded { reason } => {
                self.ended = Some(reason.clone());
                self.settled_at.get_or_insert(event.ts);
                self.pending.clear();
                // The server went with the process: nobody stays attached.
                self.attached.clear();
            }
            EventKind::EnvironmentInForce {
                environment,
                simulated,
            } => {
                let shown = |environment: &str, simulated: bool| {
                    if simulated {
                        format!("{environment} (simulated)")
                    } else {
                        format!("{environment} (live)")
                    }
                };
                let incident = &self.session.incident;
                let notice = format!(
                    "the tools act on {}, not on {} as the recording's start says",
                    shown(environment, *simulated),
                    shown(&incident.environment, incident.simulated)
                );
                self.push_entry(Entry::Notice(notice));
                self.session.incident.environment = environment.clone();
                self.session.incident.simulated = *simulated;
            }
            EventKind::SessionResumed { by } => {
                self.ended = None;
                // A process that died left no Detached behind; its attachers are gone.
                self.attached.clear();
                self.push_entry(Entry::Notice(format!("resumed by {by}")));
            }
            EventKind::SessionForked {
                parent,
                at,
                by,
                brain,
            } => {
                self.ended = None;
                self.conclusion = None;
                self.handed_over = None;
                self.push_entry(Entry::Notice(format!(
                    "forked by {by} from {parent} after {at}; {brain} goes on from here"
                )));
            }
            EventKind::RunsStarted { at, runs } => {
                self.runs = runs.clone();
                let brains: Vec<String> = runs.iter().map(RunInfo::label).collect();
                self.push_entry(Entry::Notice(format!(
                    "{} runs go on from here (after {at}), each in a session of its own: {}",
                    runs.len(),
                    brains.join("; ")
                )));
            }
            EventKind::RunFinished { outcome } => {
                let said = match &outcome.conclusion {
                    Some(c) => format!(
                        "concluded ({:.0}%){}: {}",
                        c.confidence * 100.0,
                        outcome.by_whom(),
                        c.root_cause
                    ),
                    None => format!("ended without a conclusion ({})", outcome.ended),
                };
                self.push_entry(Entry::Notice(format!(
                    "{} {said} · {}",
                    outcome.run.label(),
                    outcome.run.session
                )));
                self.run_outcomes.push(outcome.clone());
            }
            EventKind::RunsCompared { agreement } => {
                self.hypotheses = agreement
                    .hypotheses
                    .iter()
                    .map(|a| a.on_board(agreement.runs))
                    .collect();
                self.agreement = Some(agreement.clone());
                self.push_entry(Entry::Board(format!(
                    "{} runs compared: {} concluded",
                    agreement.runs, agreement.concluded
                )));
            }
            EventKind::HandedOver { model } => self.handed_over = Some(model.clone()),
            EventKind::Question { text, by } => {
                self.follow_ups.push(FollowUp {
                    question: text.clone(),
                    by: by.clone(),
                    answers: Vec::new(),
                });
                self.push_entry(Entry::Human(format!("{by} asked: {text}")));
            }
            EventKind::Answered { question, answer } => {
                // Only calls of this session that answered are cited, whatever a file
                // says (the engine records no other).
                let mut answer = answer.clone();
                answer.evidence.retain(|id| self.call_answered(id));
                if let Some(asked) = self
                    .follow_ups
                    .iter_mut()
                    .rev()
                    .find(|f| f.question == *question)
                {
                    asked.answers.push(answer.clone());
                }
                let from = match answer.source {
                    AnsweredBy::Model => answer.brain.clone(),
                    AnsweredBy::Record => "from the record, no model".into(),
                };
                self.push_entry(Entry::Message(format!(
                    "Answer ({from}): {} {}",
                    answer.text,
                    answer.citation()
                )));
            }
            EventKind::ReplyEnded { .. } | EventKind::BoardCallAnswered { .. } => {}
        }
    }
}

/// Who decides an approval when no person does: the gate's own names for its policy,
/// a session rule, a trusted session, a headless run with no approver, and
/// `--approve-all`. Anyone else in an `ApprovalDecided` is a person.
pub(crate) const AUTOMATIC_DECIDERS: &[&str] = &[
    "policy",
    "session rule",
    "policy trusted-session",
    "headless",
    "--approve-all",
];

/// Whether `by` (of an approval decision) is a person rather than the gate itself.
pub fn decided_by_a_person(by: &str) -> bool {
    !by.is_empty() && !AUTOMATIC_DECIDERS.contains(&by)
}
