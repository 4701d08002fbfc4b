//! The engine: a tokio task that owns the investigation.
//!
//! It runs the brain turn by turn, turns what the brain streams into events, puts every
//! tool call through the [`gate`], asks for credentials, runs tools, and publishes every
//! event on the bus (the TUI, the recorder and the headless printer are subscribers).
//! Engineers steer it through [`Command`]s: approve, deny, supply a credential, edit a
//! hypothesis, steer, pause, resume, quit; the attach server reports through them too
//! who attached and who left, so those are events like every other.
//!
//! Its parts: this file is the loop (start, resume or fork, turns until a conclusion or a
//! budget, commands that arrive at any time, the border every event passes); `turn`
//! is one brain turn, `calls` the call pipeline behind the gate, `board` the engine's
//! own tools, `answer` follow-up questions after the conclusion, [`history`] what the
//! brain is told, folded from the log. A runs group (`--runs N`, `hunch::runs`) drives
//! an engine through [`Engine::run_open`] and records its runs' outcomes through it.
//!
//! Two rules hold everywhere here: a secret goes only to the one tool call it was typed
//! for (it is scrubbed from that call's output — as a whole word, when at least 4
//! characters long — and never put in an event or in the brain's context), and a human
//! edit to the board interrupts the brain's turn so it re-plans from the edited board.

// The crates this one stands on, under the names its modules use (`crate::event`, …).
use hunch_brain as brain;
use hunch_protocol as protocol;
use hunch_protocol::{event, redact, sanitize, text};
use hunch_session as session;
use hunch_tools as tools;

mod answer;
mod board;
mod calls;
mod commands;
pub mod gate;
pub mod history;
mod turn;

pub use crate::protocol::{Approval, Command, EngineHandle, Envelope, HypothesisEdit};
use commands::{Route, Waiting};

use crate::brain::{
    Brain, BrainContext, BrainItem, CONCLUDE, ConcludeArgs, HistoryItem, IncidentBrief,
    ProposedCall, READ_OUTPUT, ReadOutputArgs, UPDATE_HYPOTHESES, UpdateHypothesesArgs,
    engine_tool_specs,
};
use crate::event::{
    Author, CallOutcome, Conclusion, Decision, Event, EventKind, Hypothesis, HypothesisStatus,
    IncidentInfo, OutputRef, RawRef, Risk, SessionScope, State,
};
use crate::protocol::Secret;
use crate::redact::Redactor;
use crate::sanitize::{clean_value, for_display};
use crate::session::{BlobStore, RecordingHealth};
use crate::tools::{Registry, Tool, ToolError, ToolOutput};
use futures::StreamExt;
use gate::{Approver, Gate, Policy};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Outputs longer than this many lines or bytes keep only a preview in the event; the
/// full text goes to the blob store.
const PREVIEW_LINES: usize = 40;
const PREVIEW_BYTES: usize = 4096;
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_TURNS: u32 = 60;

pub struct EngineConfig {
    pub incident: IncidentInfo,
    pub brief: IncidentBrief,
    pub brain: Box<dyn Brain>,
    pub tools: Registry,
    pub policy: Policy,
    pub approver: Approver,
    pub blobs: BlobStore,
    /// End the session when the brain has nothing more to do (headless), instead of
    /// waiting for the engineer.
    pub exit_when_idle: bool,
    pub budget: crate::event::Budget,
    /// Applied to everything the engine records, shows or hands to a brain.
    pub redactor: Arc<Redactor>,
}

/// Why a call's arguments fail its tool's JSON Schema.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ArgumentsError {
    /// `shown` is the arguments as JSON, cut to 120 characters.
    #[error("arguments must be a JSON object, got {shown}")]
    NotAnObject { shown: String },
    #[error("the tool's schema is invalid: {0}")]
    InvalidSchema(jsonschema::ValidationError<'static>),
    /// The first few problems, each naming its path.
    #[error("{}", problems_text(.0))]
    Invalid(Vec<jsonschema::ValidationError<'static>>),
}

/// Problems as the brain reads them: `path: problem`, joined by `; `.
fn problems_text(problems: &[jsonschema::ValidationError<'static>]) -> String {
    let shown: Vec<String> = problems
        .iter()
        .map(|e| {
            let path = e.instance_path().to_string();
            if path.is_empty() {
                e.to_string()
            } else {
                format!("{path}: {e}")
            }
        })
        .collect();
    shown.join("; ")
}

/// Check a call's arguments against its tool's JSON Schema; the error names the path.
pub(crate) fn check_arguments(schema: &Value, args: &Value) -> Result<(), ArgumentsError> {
    if !args.is_object() {
        let shown: String = args.to_string().chars().take(120).collect();
        return Err(ArgumentsError::NotAnObject { shown });
    }
    let validator = jsonschema::validator_for(schema).map_err(ArgumentsError::InvalidSchema)?;
    let problems: Vec<_> = validator
        .iter_errors(args)
        .take(3)
        .map(jsonschema::ValidationError::to_owned)
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ArgumentsError::Invalid(problems))
    }
}

/// What happened while waiting for a human.
enum Interrupt {
    Quit,
}

/// How a tool run ended.
enum RunEnd {
    Done(Result<ToolOutput, ToolError>),
    TimedOut,
    Cancelled { by: String },
}

pub struct Engine {
    config: EngineConfig,
    state: State,
    seq: u64,
    subscribers: Vec<mpsc::UnboundedSender<Event>>,
    commands: mpsc::UnboundedReceiver<Envelope>,
    /// What the brain is told, folded from the events emitted (the log is the memory).
    history: history::HistoryFold,
    next_call: u32,
    next_board_call: u32,
    /// A human changed the board or steered since the brain's turn began.
    replan: bool,
    /// A human changed the board or steered after the last conclusion: it no longer
    /// answers the board, and the brain goes on until it concludes again or goes idle.
    conclusion_stale: bool,
    /// The current turn ended with a brain error.
    brain_failed: bool,
    started: Instant,
    quit: bool,
    /// Secrets removed at the border so far (shown in the status bar).
    redactions: u64,
    /// Whether the session file is still written; the engineer was told it is not.
    recording: RecordingHealth,
    told_unrecorded: bool,
    /// Set when this engine continues a recorded session: the event that says so
    /// (resumed or forked), and the turns the recording already holds.
    continued: Option<EventKind>,
    turns_before: u32,
    /// The session rules the engineer granted to this process ("approve for the
    /// session"). Never folded from a recording: a resumed or forked session starts with
    /// none, so a line appended to a session file can't grant anything.
    granted: Vec<SessionScope>,
    /// Every credential typed in this process, kept (wiped on drop, never recorded) only
    /// to scrub it from every later output: a password typed for one call that a later
    /// call prints (a log line, an error) is still never recorded or sent to the brain.
    typed: Vec<Secret>,
    /// Follow-up questions asked and not answered yet (answered when the brain is idle).
    questions: Vec<String>,
}

impl Engine {
    pub fn new(mut config: EngineConfig, by: &str) -> (Engine, EngineHandle) {
        let (handle, commands) = EngineHandle::channel(by);
        let clean = |text: &str| config.redactor.redact(&for_display(text)).0;
        config.brief.title = clean(&config.brief.title);
        config.brief.alert = clean(&config.brief.alert);
        config.brief.namespace = clean(&config.brief.namespace);
        for (name, kind) in &mut config.brief.services {
            *name = clean(name);
            *kind = clean(kind);
        }
        for (caller, callee) in &mut config.brief.calls {
            *caller = clean(caller);
            *callee = clean(callee);
        }
        let engine = Engine {
            config,
            state: State::new(),
            seq: 0,
            subscribers: Vec::new(),
            commands,
            history: history::HistoryFold::default(),
            next_call: 1,
            next_board_call: 1,
            replan: false,
            conclusion_stale: false,
            brain_failed: false,
            started: Instant::now(),
            quit: false,
            redactions: 0,
            recording: RecordingHealth::default(),
            told_unrecorded: false,
            continued: None,
            turns_before: 0,
            granted: Vec::new(),
            typed: Vec::new(),
            questions: Vec::new(),
        };
        (engine, handle)
    }

    /// An engine that continues a recorded session: its state, its numbering and the
    /// brain's history are folded from `recorded`, and what it emits carries on from the
    /// last recorded event. When run, calls the recording left unfinished are closed as
    /// interrupted (never run again unasked); one that was waiting for approval is
    /// proposed again, so it is asked again.
    pub fn resume(config: EngineConfig, by: &str, recorded: &[Event]) -> (Engine, EngineHandle) {
        let (mut engine, handle) = Engine::new(config, by);
        for event in recorded {
            engine.state.apply(event);
            engine.history.apply(event, &engine.config.blobs);
        }
        engine.seq = recorded.last().map_or(0, |e| e.seq + 1);
        let number = |id: &str, prefix: char| id.strip_prefix(prefix)?.parse::<u32>().ok();
        engine.next_call = 1 + engine
            .state
            .calls
            .iter()
            .filter_map(|c| number(&c.id, 'c'))
            .max()
            .unwrap_or(0);
        engine.next_board_call = 1 + recorded
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::BoardCallAnswered { id, .. } => number(id, 'b'),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        engine.turns_before = recorded
            .iter()
            .filter(|e| matches!(e.kind, EventKind::TurnStarted { .. }))
            .count() as u32;
        engine.continued = Some(EventKind::SessionResumed { by: by.into() });
        (engine, handle)
    }

    /// A new session that starts from `recorded` (a parent session cut after call `at`)
    /// and goes on with this engine's brain; it says where it came from first.
    pub fn fork(
        config: EngineConfig,
        by: &str,
        recorded: &[Event],
        parent: &str,
        at: &str,
    ) -> (Engine, EngineHandle) {
        let (mut engine, handle) = Engine::resume(config, by, recorded);
        // The parent's conclusion is not this session's: the new brain must reach its own.
        engine.state.conclusion = None;
        engine.continued = Some(EventKind::SessionForked {
            parent: parent.into(),
            at: at.into(),
            by: by.into(),
            brain: engine.config.brain.name(),
        });
        (engine, handle)
    }

    /// Close what the recording left unfinished; returns the calls to propose again.
    fn close_interrupted(&mut self) -> Vec<ProposedCall> {
        let unfinished: Vec<crate::event::ToolCall> = self
            .state
            .calls
            .iter()
            .filter(|c| !matches!(c.status, crate::event::CallStatus::Finished(_)))
            .cloned()
            .collect();
        let mut again = Vec::new();
        for call in unfinished {
            let awaiting_approval = call.status == crate::event::CallStatus::AwaitingApproval;
            let error = if awaiting_approval {
                "interrupted while it waited for approval; proposed again to be asked again"
            } else {
                "interrupted: hunch stopped before this call finished; it was not run again"
            };
            self.emit(EventKind::ToolCallFinished {
                id: call.id.clone(),
                outcome: CallOutcome::Cancelled,
                duration_ms: 0,
                output: OutputRef::default(),
                error: Some(error.into()),
            });
            if awaiting_approval {
                again.push(ProposedCall {
                    tool: call.tool,
                    args: call.args,
                    rationale: call.rationale,
                });
            }
        }
        again
    }

    /// Follow the recorder's health: while the session can't be recorded, only read-only
    /// calls run, and the engineer is told why.
    pub fn watch_recording(&mut self, health: RecordingHealth) {
        self.recording = health;
    }

    /// Why the session can't be recorded, if it can't; said on screen the first time.
    fn unrecorded(&mut self) -> Option<String> {
        let failure = self.recording.failure()?;
        if !self.told_unrecorded {
            self.told_unrecorded = true;
            self.emit(EventKind::Notice {
                text: format!(
                    "the session can no longer be recorded ({failure}): only read-only calls will run; free the disk and start a new session to act"
                ),
            });
        }
        Some(failure)
    }

    /// A new receiver of every event from now on. Subscribe before `run`.
    pub fn subscribe(&mut self) -> mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.subscribers.push(tx);
        rx
    }

    /// Record an event and hand it to every subscriber: the border that everything
    /// recorded, printed or drawn passes.
    fn emit(&mut self, kind: EventKind) {
        let (kind, redacted) = self.cleaned(kind);
        let event = Event {
            seq: self.seq,
            ts: chrono::Utc::now(),
            kind,
        };
        self.seq += 1;
        self.state.apply(&event);
        self.history.apply(&event, &self.config.blobs);
        self.subscribers.retain(|s| s.send(event.clone()).is_ok());
        self.count_redactions(redacted);
    }

    fn count_redactions(&mut self, count: usize) {
        if count > 0 {
            self.redactions += count as u64;
            self.emit(EventKind::Redacted {
                count: self.redactions,
            });
        }
    }

    /// Every string of an event without control sequences, bidi overrides or secrets.
    /// It walks the event's serialized form, so a field added later can't be missed.
    fn cleaned(&self, kind: EventKind) -> (EventKind, usize) {
        if matches!(
            kind,
            EventKind::Redacted { .. } | EventKind::Usage { .. } | EventKind::TurnStarted { .. }
        ) {
            return (kind, 0);
        }
        let mut value = match serde_json::to_value(&kind) {
            Ok(value) => value,
            Err(e) => return (unrecordable(&e), 0),
        };
        let mut count = 0;
        crate::sanitize::each_string(&mut value, &mut |text: &mut String| {
            let (clean, n) = self.config.redactor.redact(&for_display(text));
            count += n;
            *text = clean;
        });
        match serde_json::from_value(value) {
            Ok(kind) => (kind, count),
            Err(e) => (unrecordable(&e), 0),
        }
    }

    /// A tool's output as it may be kept and shown: sanitized and redacted, the typed
    /// credential (if any) removed first.
    fn cleaned_output(&mut self, output: ToolOutput, secret: Option<&Secret>) -> ToolOutput {
        let mut count = 0;
        let mut clean = |text: String| {
            let text = self.scrub_typed(text, secret);
            let (text, n) = self.config.redactor.redact(&for_display(&text));
            count += n;
            text
        };
        let output = ToolOutput {
            text: clean(output.text),
            digest: clean(output.digest),
            raw: output.raw.map(&mut clean),
            display: output.display.map(&mut clean),
            ..output
        };
        self.count_redactions(count);
        output
    }

    /// Run the investigation until it ends; returns the final state.
    pub async fn run(mut self) -> State {
        let reason = self.go().await;
        self.emit(EventKind::SessionEnded { reason });
        self.state
    }

    /// Run the investigation until it stops, without ending the session: the snapshot
    /// of a runs group (`--runs N`), which the runs' outcomes are recorded in next.
    /// Returns why it stopped.
    pub async fn run_open(&mut self) -> String {
        self.go().await
    }

    /// The state folded so far.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Record that `runs` go on from this session (forks of it after call `at`).
    pub fn record_runs_started(&mut self, at: String, runs: Vec<crate::event::RunInfo>) {
        self.emit(EventKind::RunsStarted { at, runs });
    }

    /// Record what one run ended with.
    pub fn record_run(&mut self, outcome: crate::event::RunOutcome) {
        self.emit(EventKind::RunFinished { outcome });
    }

    /// Record the runs compared and the group's conclusion, and end the session.
    pub fn finish_runs(
        mut self,
        agreement: crate::event::Agreement,
        conclusion: Option<Conclusion>,
        reason: String,
    ) -> State {
        self.emit(EventKind::RunsCompared { agreement });
        if let Some(conclusion) = conclusion {
            self.emit(EventKind::Concluded { conclusion });
        }
        self.emit(EventKind::SessionEnded { reason });
        self.state
    }

    /// Start (or continue) the session and investigate until it stops; the reason.
    async fn go(&mut self) -> String {
        let again = match self.continued.take() {
            Some(continued) => {
                self.emit(continued);
                // The screen shows the environment the tools really act on: the config
                // in force, whatever the recording's start says.
                let (recorded, actual) = (&self.state.session.incident, &self.config.incident);
                if (&recorded.environment, recorded.simulated)
                    != (&actual.environment, actual.simulated)
                {
                    self.emit(EventKind::EnvironmentInForce {
                        environment: actual.environment.clone(),
                        simulated: actual.simulated,
                    });
                }
                let recorded_rules = self.state.session_rules.len();
                if recorded_rules > 0 {
                    self.emit(EventKind::Notice {
                        text: format!(
                            "the recording's {recorded_rules} approve-for-session rule(s) are not carried over: calls they covered are asked again"
                        ),
                    });
                }
                self.close_interrupted()
            }
            None => {
                self.emit(EventKind::SessionStarted {
                    incident: self.config.incident.clone(),
                    budget: self.config.budget,
                    brain: self.config.brain.name(),
                    policy: self.config.policy.name().into(),
                });
                // A call graph derived rather than declared is said on screen too.
                if let Some(note) = self.config.brief.calls_note.clone() {
                    self.emit(EventKind::Notice { text: note });
                }
                Vec::new()
            }
        };
        match self.config.budget.max_seconds {
            None => self.investigate(again).await,
            Some(seconds) => {
                let wall = Duration::from_secs(seconds);
                match tokio::time::timeout(wall, self.investigate(again)).await {
                    Ok(reason) => reason,
                    Err(_) => self.wall_deadline_reached(seconds),
                }
            }
        }
    }

    /// `--max-minutes` is a hard deadline: whatever was waiting (a model reply, a tool,
    /// an approval) is abandoned and said so.
    fn wall_deadline_reached(&mut self, seconds: u64) -> String {
        let open: Vec<String> = self
            .state
            .calls
            .iter()
            .filter(|c| !matches!(c.status, crate::event::CallStatus::Finished(_)))
            .map(|c| c.id.clone())
            .collect();
        for id in open {
            self.emit(EventKind::ToolCallFinished {
                id,
                outcome: CallOutcome::Cancelled,
                duration_ms: 0,
                output: OutputRef::default(),
                error: Some("cancelled: the session reached its time limit".into()),
            });
        }
        let message = format!(
            "budget reached: wall time {}s; the investigation stops here",
            seconds
        );
        self.emit(EventKind::Error {
            source: "budget".into(),
            message,
            retried: false,
        });
        format!("budget reached: wall time {seconds}s")
    }

    /// Turns of the brain until it concludes, a budget runs out or the engineer quits;
    /// `again` are calls of a resumed session to put through the gate first.
    async fn investigate(&mut self, again: Vec<ProposedCall>) -> String {
        for call in again {
            if self.quit {
                return "engineer quit".into();
            }
            self.execute(call).await;
        }
        let mut turn = self.turns_before;
        loop {
            if self.quit {
                return "engineer quit".into();
            }
            if turn >= MAX_TURNS {
                self.emit(EventKind::Error {
                    source: "engine".into(),
                    message: format!("stopped after {MAX_TURNS} turns without a conclusion"),
                    retried: false,
                });
                return "turn budget reached".into();
            }
            if let Some(reason) = self.budget_reached() {
                return reason;
            }
            turn += 1;
            self.replan = false;
            self.brain_failed = false;
            self.emit(EventKind::TurnStarted { turn });
            let did_something = self.brain_turn(turn).await;
            if self.quit {
                return "engineer quit".into();
            }
            if self.replan {
                continue;
            }
            let concluded = self.state.conclusion.is_some() && !self.conclusion_stale;
            if !did_something || concluded {
                // Questions asked meanwhile are answered now the brain is idle.
                self.answer_questions().await;
                if self.config.exit_when_idle {
                    return if concluded {
                        "concluded".into()
                    } else if self.brain_failed {
                        "brain failed".into()
                    } else {
                        "brain idle".into()
                    };
                }
                if self.brain_failed {
                    self.emit(EventKind::Notice {
                        text:
                            "the brain's turn failed (see the error above); steer (s) to try again"
                                .into(),
                    });
                }
                // Wait for the engineer to say or change something, then re-plan.
                if let Err(Interrupt::Quit) = self.wait_for_human().await {
                    return "engineer quit".into();
                }
            }
        }
    }

    /// Stop when a budget is used up: an error on screen, and the reason the session ended.
    fn budget_reached(&mut self) -> Option<String> {
        let elapsed = self.started.elapsed().as_secs();
        let reason = self.config.budget.exceeded(&self.state, elapsed)?;
        self.emit(EventKind::Error {
            source: "budget".into(),
            message: format!("budget reached: {reason}; the investigation stops here"),
            retried: false,
        });
        Some(format!("budget reached: {reason}"))
    }

    async fn wait_for_human(&mut self) -> Result<(), Interrupt> {
        while !self.replan {
            self.next_command(Waiting::Nothing).await?;
            self.answer_questions().await;
        }
        Ok(())
    }

    /// The commands that can arrive at any time: edits, steering, pause, resume (see
    /// [`commands::route`]).
    fn apply_side_command(&mut self, command: Command, by: String) {
        match command {
            Command::EditHypothesis(edit) => self.apply_edit(edit, &by),
            Command::Steer(text) => {
                let text = for_display(&text);
                self.emit(EventKind::Steering {
                    text: text.clone(),
                    by,
                });
                self.human_changed_the_board();
            }
            Command::Pause => {
                if !self.state.paused {
                    self.emit(EventKind::Paused { by });
                }
            }
            Command::Resume => {
                if self.state.paused {
                    self.emit(EventKind::Resumed { by });
                }
            }
            Command::Attached { watch } => self.emit(EventKind::Attached {
                by: for_display(&by),
                watch,
            }),
            Command::Detached => self.emit(EventKind::Detached {
                by: for_display(&by),
            }),
            Command::Ask(text) => self.ask(text, by),
            other => tracing::debug!(?other, "not a side command"),
        }
    }

    fn apply_edit(&mut self, edit: HypothesisEdit, by: &str) {
        let existing = edit
            .id
            .as_deref()
            .and_then(|id| self.state.hypothesis(id))
            .cloned();
        let hypothesis = match existing {
            Some(mut h) => {
                if let Some(statement) = edit.statement {
                    h.statement = for_display(&statement);
                }
                if let Some(status) = edit.status {
                    h.status = status;
                }
                if let Some(pinned) = edit.pinned {
                    h.pinned = pinned;
                }
                h.author = Author::Human;
                h
            }
            None => {
                let Some(statement) = edit.statement.filter(|s| !s.trim().is_empty()) else {
                    return;
                };
                let mut n = self.state.hypotheses.len() + 1;
                while self.state.hypothesis(&format!("H{n}")).is_some() {
                    n += 1;
                }
                Hypothesis {
                    id: format!("H{n}"),
                    statement: for_display(&statement),
                    status: edit.status.unwrap_or(HypothesisStatus::Open),
                    confidence: 0.0,
                    evidence: Vec::new(),
                    key: None,
                    author: Author::Human,
                    pinned: edit.pinned.unwrap_or(false),
                }
            }
        };
        self.emit(EventKind::HypothesisEdited {
            hypothesis: hypothesis.clone(),
            by: by.into(),
        });
        self.human_changed_the_board();
    }

    /// The brain re-plans from what a human said or changed; a conclusion it reached
    /// before no longer answers the board.
    fn human_changed_the_board(&mut self) {
        self.replan = true;
        self.conclusion_stale |= self.state.conclusion.is_some();
    }

    /// Wait while paused, still handling edits and quit.
    async fn wait_while_paused(&mut self) -> Result<(), Interrupt> {
        while self.state.paused {
            self.next_command(Waiting::Nothing).await?;
        }
        Ok(())
    }
}

/// What stands in the log for an event that could not be cleaned (never expected: every
/// event serializes).
fn unrecordable(error: &serde_json::Error) -> EventKind {
    EventKind::Notice {
        text: format!("an event could not be cleaned for recording and was dropped ({error})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn argument_errors_name_the_path_and_read_as_before() {
        let schema = json!({
            "type": "object",
            "properties": {"n": {"type": "integer"}},
            "required": ["n"]
        });
        let said = |args: Value| check_arguments(&schema, &args).unwrap_err().to_string();
        assert_eq!(said(json!([1])), "arguments must be a JSON object, got [1]");
        assert_eq!(
            said(json!({"n": "x"})),
            "/n: \"x\" is not of type \"integer\""
        );
        assert_eq!(said(json!({})), "\"n\" is a required property");
        assert!(check_arguments(&schema, &json!({"n": 1})).is_ok());
        let broken = check_arguments(&json!({"type": 5}), &json!({}));
        assert!(
            matches!(&broken, Err(ArgumentsError::InvalidSchema(_)))
                && broken
                    .unwrap_err()
                    .to_string()
                    .starts_with("the tool's schema is invalid: "),
        );
    }
}
