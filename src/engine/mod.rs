//! The engine: a tokio task that owns the investigation.
//!
//! It runs the brain turn by turn, turns what the brain streams into events, puts every
//! tool call through the [`gate`], asks for credentials, runs tools, and publishes every
//! event on the bus (the TUI, the recorder and the headless printer are subscribers).
//! Engineers steer it through [`Command`]s: approve, deny, supply a credential, edit a
//! hypothesis, steer, pause, resume, quit.
//!
//! Two rules hold everywhere here: a secret goes only to the one tool call it was typed
//! for (it is scrubbed from that call's output and never put in an event or in the
//! brain's context), and a human edit to the board interrupts the brain's turn so it
//! re-plans from the edited board.

pub mod gate;
pub mod history;

pub use crate::protocol::{Approval, Command, EngineHandle, Envelope, HypothesisEdit};

use crate::brain::{
    Brain, BrainContext, BrainItem, CONCLUDE, ConcludeArgs, HistoryItem, IncidentBrief,
    ProposedCall, READ_OUTPUT, ReadOutputArgs, UPDATE_HYPOTHESES, UpdateHypothesesArgs,
    engine_tool_specs,
};
use crate::event::{
    Author, CallOutcome, Conclusion, Decision, Event, EventKind, Hypothesis, HypothesisStatus,
    IncidentInfo, OutputRef, RawRef, Risk, State,
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

/// Check a call's arguments against its tool's JSON Schema; the error names the path.
pub fn check_arguments(schema: &Value, args: &Value) -> Result<(), String> {
    if !args.is_object() {
        let shown: String = args.to_string().chars().take(120).collect();
        return Err(format!("arguments must be a JSON object, got {shown}"));
    }
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| format!("the tool's schema is invalid: {e}"))?;
    let problems: Vec<String> = validator
        .iter_errors(args)
        .take(3)
        .map(|e| {
            let path = e.instance_path().to_string();
            if path.is_empty() {
                e.to_string()
            } else {
                format!("{path}: {e}")
            }
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
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
            brain_failed: false,
            started: Instant::now(),
            quit: false,
            redactions: 0,
            recording: RecordingHealth::default(),
            told_unrecorded: false,
            continued: None,
            turns_before: 0,
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
            let text = match secret {
                Some(s) if !s.expose().is_empty() => {
                    text.replace(s.expose(), "[redacted:credential]")
                }
                _ => text,
            };
            let (text, n) = self.config.redactor.redact(&for_display(&text));
            count += n;
            text
        };
        let output = ToolOutput {
            text: clean(output.text),
            digest: clean(output.digest),
            raw: output.raw.map(&mut clean),
            ..output
        };
        self.count_redactions(count);
        output
    }

    /// Run the investigation until it ends; returns the final state.
    pub async fn run(mut self) -> State {
        let again = match self.continued.take() {
            Some(continued) => {
                self.emit(continued);
                self.close_interrupted()
            }
            None => {
                self.emit(EventKind::SessionStarted {
                    incident: self.config.incident.clone(),
                    budget: self.config.budget,
                    brain: self.config.brain.name(),
                    policy: self.config.policy.name().into(),
                });
                Vec::new()
            }
        };
        let reason = match self.config.budget.max_seconds {
            None => self.investigate(again).await,
            Some(seconds) => {
                let wall = Duration::from_secs(seconds);
                match tokio::time::timeout(wall, self.investigate(again)).await {
                    Ok(reason) => reason,
                    Err(_) => self.wall_deadline_reached(seconds),
                }
            }
        };
        self.emit(EventKind::SessionEnded { reason });
        self.state
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
            if !did_something || self.state.conclusion.is_some() {
                if self.config.exit_when_idle {
                    return if self.state.conclusion.is_some() {
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
            let Some(envelope) = self.commands.recv().await else {
                return Err(Interrupt::Quit);
            };
            self.handle_side_command(envelope)?;
        }
        Ok(())
    }

    /// Commands that can arrive at any time: edits, steering, pause, resume, quit.
    /// Approvals for calls that are not pending are stale and ignored.
    fn handle_side_command(&mut self, envelope: Envelope) -> Result<(), Interrupt> {
        let by = envelope.by;
        match envelope.command {
            Command::EditHypothesis(edit) => self.apply_edit(edit, &by),
            Command::Steer(text) => {
                let text = for_display(&text);
                self.emit(EventKind::Steering {
                    text: text.clone(),
                    by,
                });
                self.replan = true;
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
            Command::Quit => {
                self.quit = true;
                return Err(Interrupt::Quit);
            }
            other => tracing::debug!(?other, "ignoring a command for nothing pending"),
        }
        Ok(())
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
        self.replan = true;
    }

    /// Wait while paused, still handling edits and quit.
    async fn wait_while_paused(&mut self) -> Result<(), Interrupt> {
        while self.state.paused {
            let Some(envelope) = self.commands.recv().await else {
                return Err(Interrupt::Quit);
            };
            self.handle_side_command(envelope)?;
        }
        Ok(())
    }

    fn context(&self, turn: u32) -> BrainContext {
        let mut tools = self.config.tools.specs();
        tools.extend(engine_tool_specs());
        BrainContext {
            incident: self.config.brief.clone(),
            tools,
            history: self.history.items().to_vec(),
            board: self.state.hypotheses.clone(),
            turn,
        }
    }

    /// One brain turn. Returns whether the brain did anything.
    async fn brain_turn(&mut self, turn: u32) -> bool {
        if self.wait_while_paused().await.is_err() {
            return false;
        }
        let context = self.context(turn);
        let mut stream = self.config.brain.turn(context);
        let mut said = String::new();
        let mut thought = String::new();
        let mut opaque = Vec::new();
        let mut calls: Vec<ProposedCall> = Vec::new();
        loop {
            tokio::select! {
                biased;
                envelope = self.commands.recv() => {
                    let Some(envelope) = envelope else { self.quit = true; return false };
                    if self.handle_side_command(envelope).is_err() { return false; }
                    if self.wait_while_paused().await.is_err() { return false; }
                    if self.replan {
                        self.emit(EventKind::Notice { text: "board changed by the engineer: re-planning".into() });
                        break;
                    }
                }
                item = stream.next() => match item {
                    None => break,
                    Some(Ok(BrainItem::Reasoning(text))) => {
                        thought.push_str(&text);
                        self.emit(EventKind::ReasoningDelta { text: for_display(&text) });
                    }
                    Some(Ok(BrainItem::Message(text))) => {
                        said.push_str(&text);
                        self.emit(EventKind::MessageDelta { text: for_display(&text) });
                    }
                    Some(Ok(BrainItem::Call(mut call))) => {
                        clean_value(&mut call.args);
                        call.rationale = for_display(&call.rationale);
                        calls.push(call);
                    }
                    Some(Ok(BrainItem::Problem { message, retrying })) => {
                        self.emit(EventKind::Error { source: "brain".into(), message: for_display(&message), retried: retrying });
                    }
                    Some(Ok(BrainItem::Redacted(count))) => self.count_redactions(count as usize),
                    Some(Ok(BrainItem::Retry { message })) => {
                        said.clear();
                        thought.clear();
                        opaque.clear();
                        calls.clear();
                        self.emit(EventKind::Error { source: "brain".into(), message, retried: true });
                    }
                    Some(Ok(BrainItem::Opaque(value))) => opaque.push(value),
                    Some(Ok(BrainItem::Usage { input, output })) => {
                        self.emit(EventKind::Usage { input_tokens: input, output_tokens: output });
                    }
                    Some(Err(e)) => {
                        self.emit(EventKind::Error { source: "brain".into(), message: for_display(&e.to_string()), retried: false });
                        self.brain_failed = true;
                        break;
                    }
                }
            }
        }
        drop(stream);
        if !said.is_empty() || !thought.is_empty() {
            let opaque = self.store_opaque(&opaque);
            self.emit(EventKind::ReplyEnded { opaque });
        }
        if self.replan {
            return true;
        }
        if self.brain_failed {
            // Nothing from a failed reply runs; the engineer decides whether to try again.
            return false;
        }
        let did_something = !said.is_empty() || !thought.is_empty() || !calls.is_empty();
        for call in calls {
            if self.quit
                || self.replan
                || self
                    .config
                    .budget
                    .exceeded(&self.state, self.started.elapsed().as_secs())
                    .is_some()
            {
                break;
            }
            if self.wait_while_paused().await.is_err() {
                return false;
            }
            match call.tool.as_str() {
                UPDATE_HYPOTHESES | CONCLUDE | READ_OUTPUT => self.board_call(call),
                _ => self.execute(call).await,
            }
        }
        did_something
    }

    /// `update_hypotheses` and `conclude`: handled here, answered in the brain's history
    /// like any other call (models expect every call answered).
    fn board_call(&mut self, call: ProposedCall) {
        let id = format!("b{}", self.next_board_call);
        self.next_board_call += 1;
        fn parse<T: serde::de::DeserializeOwned>(tool: &str, args: &Value) -> Result<T, String> {
            serde_json::from_value(args.clone())
                .map_err(|e| format!("invalid arguments for `{tool}`: {e}"))
        }
        let result = match call.tool.as_str() {
            CONCLUDE => parse(CONCLUDE, &call.args).map(|args| self.conclude(args)),
            READ_OUTPUT => parse(READ_OUTPUT, &call.args).and_then(|args| self.read_output(args)),
            _ => parse(UPDATE_HYPOTHESES, &call.args).map(|args| self.update_hypotheses(args)),
        };
        if let Err(message) = &result
            && call.tool != READ_OUTPUT
        {
            self.emit(EventKind::Error {
                source: "brain".into(),
                message: message.clone(),
                retried: false,
            });
        }
        let (outcome, output, error) = match result {
            Ok(summary) => (CallOutcome::Ok, summary, None),
            Err(message) => (CallOutcome::Failed, String::new(), Some(message)),
        };
        self.emit(EventKind::BoardCallAnswered {
            id,
            tool: call.tool,
            args: call.args,
            outcome,
            output,
            error,
        });
    }

    /// Provider data a brain must get back (thinking signatures) goes to the blob store,
    /// never into the log; the log names it by hash.
    fn store_opaque(&mut self, opaque: &[Value]) -> Option<String> {
        if opaque.is_empty() {
            return None;
        }
        let text = serde_json::to_string(opaque).ok()?;
        match self.config.blobs.put(&text) {
            Ok(hash) => Some(hash),
            Err(e) => {
                self.emit(EventKind::Error {
                    source: "blob store".into(),
                    message: format!(
                        "could not keep the model's reply data ({e}); its next turn may lose its reasoning"
                    ),
                    retried: false,
                });
                None
            }
        }
    }

    /// An earlier successful call with the same tool and arguments, if no call that
    /// changes anything has succeeded since (then the answer could not differ).
    fn unchanged_repeat(&self, call: &ProposedCall) -> Option<String> {
        let history = self.history.items();
        let earlier = history.iter().rposition(|h| {
            matches!(h, HistoryItem::ToolResult { tool, args, outcome: CallOutcome::Ok, .. } if *tool == call.tool && *args == call.args)
        })?;
        let changed_since = history[earlier..].iter().any(|h| match h {
            HistoryItem::ToolResult {
                id,
                outcome: CallOutcome::Ok,
                ..
            } => self.state.call(id).is_some_and(|c| {
                !matches!(
                    c.risk,
                    crate::event::Risk::ReadOnly | crate::event::Risk::NeedsCredentials
                )
            }),
            _ => false,
        });
        match (&history[earlier], changed_since) {
            (HistoryItem::ToolResult { id, .. }, false) => Some(id.clone()),
            _ => None,
        }
    }

    /// A slice of an earlier call's full output, by line range or substring.
    fn read_output(&self, args: ReadOutputArgs) -> Result<String, String> {
        const MAX_LINES: usize = 200;
        let id = args.id.as_str();
        let (output, raw) = self
            .history
            .items()
            .iter()
            .find_map(|h| match h {
                HistoryItem::ToolResult {
                    id: i,
                    output,
                    raw,
                    outcome: CallOutcome::Ok,
                    ..
                } if i == id => Some((output, raw)),
                _ => None,
            })
            .ok_or_else(|| format!("no finished call `{id}` with output in this session"))?;
        let raw_text;
        let output = if args.raw {
            let raw = raw
                .as_ref()
                .ok_or_else(|| format!("call `{id}` kept no raw data; read its output instead"))?;
            raw_text = self.config.blobs.get(&raw.blob).map_err(|e| {
                format!("the raw data of `{id}` could not be read from the blob store: {e}")
            })?;
            &raw_text
        } else {
            output
        };
        let lines: Vec<&str> = output.lines().collect();
        let selected: Vec<String> = match args.grep.as_deref() {
            Some(pattern) => {
                let needle = pattern.to_lowercase();
                lines
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.to_lowercase().contains(&needle))
                    .map(|(n, l)| format!("{}: {l}", n + 1))
                    .collect()
            }
            None => {
                let start = args.start_line.unwrap_or(1).max(1) as usize;
                let end = args
                    .end_line
                    .map(|e| e as usize)
                    .unwrap_or(start + MAX_LINES - 1)
                    .min(lines.len());
                (start..=end)
                    .filter_map(|n| lines.get(n - 1).map(|l| format!("{n}: {l}")))
                    .collect()
            }
        };
        let total = selected.len();
        let mut text: Vec<String> = selected.into_iter().take(MAX_LINES).collect();
        if total > MAX_LINES {
            text.push(format!(
                "[{}; narrow the range or the pattern]",
                crate::text::plural(total - MAX_LINES, "more line")
            ));
        }
        if text.is_empty() {
            text.push(format!("no lines matched ({} lines in {id})", lines.len()));
        }
        Ok(text.join("\n"))
    }

    fn update_hypotheses(&mut self, args: UpdateHypothesesArgs) -> String {
        let mut updated = Vec::new();
        for item in args.hypotheses {
            let mut proposed = Hypothesis {
                id: item.id.unwrap_or_default(),
                statement: for_display(&item.statement),
                status: item.status,
                confidence: item.confidence.clamp(0.0, 1.0),
                evidence: item.evidence,
                key: item.key,
                author: Author::Brain,
                pinned: false,
            };
            proposed.evidence.retain(|id| self.state.call(id).is_some());
            let existing = self
                .state
                .hypotheses
                .iter()
                .find(|h| {
                    (!proposed.id.is_empty() && h.id == proposed.id)
                        || (proposed.key.is_some() && h.key == proposed.key)
                })
                .cloned();
            let hypothesis = match existing {
                // The engineer's word stands: the brain adds evidence and confidence only,
                // and a hypothesis the engineer refuted never gains confidence.
                Some(h) if h.author == Author::Human => Hypothesis {
                    confidence: if h.status == HypothesisStatus::Refuted {
                        proposed.confidence.min(h.confidence)
                    } else {
                        proposed.confidence
                    },
                    evidence: proposed.evidence,
                    ..h
                },
                Some(h) => Hypothesis {
                    id: h.id,
                    pinned: h.pinned,
                    key: proposed.key.or(h.key),
                    ..proposed
                },
                None => {
                    if proposed.id.is_empty() || self.state.hypothesis(&proposed.id).is_some() {
                        let mut n = self.state.hypotheses.len() + 1;
                        while self.state.hypothesis(&format!("H{n}")).is_some() {
                            n += 1;
                        }
                        proposed.id = format!("H{n}");
                    }
                    proposed
                }
            };
            updated.push(hypothesis.id.clone());
            self.emit(EventKind::HypothesisUpserted { hypothesis });
        }
        format!("board updated: {}", updated.join(", "))
    }

    /// Record the conclusion; returns what to tell the brain.
    fn conclude(&mut self, args: ConcludeArgs) -> String {
        let cited: Vec<String> = args.evidence.iter().map(|e| for_display(e)).collect();
        let unknown: Vec<String> = cited
            .iter()
            .filter(|id| self.state.call(id).is_none())
            .cloned()
            .collect();
        let conclusion = Conclusion {
            root_cause: for_display(&args.root_cause),
            confidence: args.confidence.clamp(0.0, 1.0),
            evidence: cited
                .into_iter()
                .filter(|id| self.state.call(id).is_some())
                .collect(),
            follow_ups: distinct_follow_ups(&args.follow_ups),
        };
        let uncited = conclusion.evidence.is_empty();
        self.emit(EventKind::Concluded { conclusion });
        let mut summary = "conclusion recorded".to_string();
        if !unknown.is_empty() {
            summary.push_str(&format!(
                "; these evidence ids are not tool calls of this session and were dropped: {}",
                unknown.join(", ")
            ));
        }
        if uncited {
            summary.push_str("; it cites no evidence and is shown as uncited");
        }
        summary
    }

    /// Wait for the engineer's decision on a pending call; side commands are handled
    /// meanwhile. An edited command is parsed, schema-checked and classified like a
    /// proposed call before it becomes a decision; one that can't be is reported and the
    /// call keeps waiting.
    async fn wait_for_decision(
        &mut self,
        id: &str,
        tool: &Arc<dyn Tool>,
        args: &Value,
        risk: Risk,
    ) -> Result<(Decision, String), Interrupt> {
        loop {
            let Some(envelope) = self.commands.recv().await else {
                return Err(Interrupt::Quit);
            };
            match envelope.command {
                Command::Approve {
                    id: target,
                    approval,
                } if target == id => {
                    let decision = match approval {
                        Approval::Once => Decision::ApprovedOnce,
                        Approval::ForSession => match tool.session_scope(args, risk) {
                            Some(scope) => Decision::ApprovedForSession { scope },
                            None => {
                                self.emit(EventKind::Notice { text: format!("{id} can't be approved for the session (it is not one statement or command of known risk); approve it once, edit or deny it") });
                                continue;
                            }
                        },
                        Approval::Edited(command) => match edited_call(tool, &command, args) {
                            Ok((args, risk)) => Decision::Edited {
                                command: tool.preview(&args).command,
                                args,
                                risk,
                            },
                            Err(e) => {
                                self.emit(EventKind::Notice { text: format!("edited command rejected ({e}); still waiting for a decision on {id}") });
                                continue;
                            }
                        },
                    };
                    return Ok((decision, envelope.by));
                }
                Command::Deny { id: target, reason } if target == id => {
                    let reason = if reason.trim().is_empty() {
                        "denied".to_string()
                    } else {
                        for_display(&reason)
                    };
                    return Ok((Decision::Denied { reason }, envelope.by));
                }
                // Steering while a call waits is a new direction: the call is set aside
                // (the agent may propose it again) and the agent re-plans with the steer.
                Command::Steer(text) => {
                    let by = envelope.by.clone();
                    let reason = format!(
                        "set aside: {by} steered instead (\"{}\")",
                        for_display(&text)
                    );
                    self.handle_side_command(Envelope {
                        by: envelope.by,
                        command: Command::Steer(text),
                    })?;
                    return Ok((Decision::Denied { reason }, by));
                }
                command => self.handle_side_command(Envelope {
                    by: envelope.by,
                    command,
                })?,
            }
        }
    }

    async fn wait_for_credential(
        &mut self,
        id: &str,
    ) -> Result<Option<(Secret, String)>, Interrupt> {
        loop {
            let Some(envelope) = self.commands.recv().await else {
                return Err(Interrupt::Quit);
            };
            match envelope.command {
                Command::SupplyCredential { id: target, secret } if target == id => {
                    return Ok(Some((secret, envelope.by)));
                }
                Command::CancelCredential { id: target } | Command::Deny { id: target, .. }
                    if target == id =>
                {
                    return Ok(None);
                }
                command => self.handle_side_command(Envelope {
                    by: envelope.by,
                    command,
                })?,
            }
        }
    }

    fn finish_denied(&mut self, id: &str, reason: String) {
        self.emit(EventKind::ToolCallFinished {
            id: id.into(),
            outcome: CallOutcome::Denied,
            duration_ms: 0,
            output: OutputRef::default(),
            error: Some(reason),
        });
    }

    async fn execute(&mut self, call: ProposedCall) {
        let id = format!("c{}", self.next_call);
        self.next_call += 1;
        let Some(tool) = self.config.tools.get(&call.tool).cloned() else {
            self.emit(EventKind::ToolCallProposed {
                id: id.clone(),
                tool: call.tool.clone(),
                args: call.args.clone(),
                command: call.tool.clone(),
                target: String::new(),
                risk: crate::event::Risk::Unknown,
                rationale: for_display(&call.rationale),
            });
            self.finish_failed(&id, format!("unknown tool `{}`", call.tool), 0);
            return;
        };
        self.unrecorded();
        let mut args = call.args.clone();
        let invalid = check_arguments(&tool.spec().parameters, &args).err();
        let risk = if invalid.is_some() {
            crate::event::Risk::Unknown
        } else {
            tool.classify(&args)
        };
        let preview = tool.preview(&args);
        let mut command = preview.command.clone();
        self.emit(EventKind::ToolCallProposed {
            id: id.clone(),
            tool: call.tool.clone(),
            args: args.clone(),
            command: for_display(&command),
            target: for_display(&preview.target),
            risk,
            rationale: for_display(&call.rationale),
        });
        if let Some(earlier) = self.unchanged_repeat(&call) {
            let message = format!(
                "repeated call: identical to {earlier}, and nothing has changed since; use its result (read_output can show more of it)"
            );
            return self.finish_failed(&id, message, 0);
        }
        if let Some(problem) = invalid {
            // Back to the brain as an error it can correct; nothing runs.
            return self.finish_failed(
                &id,
                format!("invalid arguments for `{}`: {problem}", call.tool),
                0,
            );
        }
        let mut risk = risk;
        loop {
            let scope = tool.session_scope(&args, risk);
            let gate = gate::decide(
                &self.config.policy,
                self.config.approver,
                risk,
                scope.as_ref(),
                &self.state.session_rules,
            );
            let (decision, by) = match gate {
                Gate::Run => break,
                Gate::Decided(decision, by) => (decision, by),
                Gate::Ask => {
                    let preview = tool.preview(&args);
                    self.emit(EventKind::ApprovalRequested {
                        id: id.clone(),
                        command: for_display(&preview.command),
                        target: for_display(&preview.target),
                        risk,
                        reason: for_display(&call.rationale),
                        scope,
                        preview: tool.dry_run(&args).await.map(|p| for_display(&p)),
                    });
                    match self.wait_for_decision(&id, &tool, &args, risk).await {
                        Ok(decided) => decided,
                        Err(Interrupt::Quit) => return,
                    }
                }
            };
            self.emit(EventKind::ApprovalDecided {
                id: id.clone(),
                decision: decision.clone(),
                by,
            });
            match decision {
                Decision::Denied { reason } => {
                    return self.finish_denied(&id, reason);
                }
                Decision::Edited {
                    args: edited,
                    command: edited_command,
                    risk: edited_risk,
                } => {
                    let raised = gate::edit_needs_review(risk, edited_risk);
                    args = edited;
                    command = edited_command;
                    risk = edited_risk;
                    if raised {
                        self.emit(EventKind::Notice {
                            text: format!(
                                "the edit made {id} {}: it is asked again before it runs",
                                risk.label()
                            ),
                        });
                        continue;
                    }
                    break;
                }
                Decision::ApprovedOnce | Decision::ApprovedForSession { .. } => break,
            }
        }
        if let Some(failure) = self.unrecorded()
            && risk != crate::event::Risk::ReadOnly
        {
            return self.finish_denied(
                &id,
                format!("the session can't be recorded ({failure}); only read-only calls run"),
            );
        }
        let secret = match tool.credential(&args) {
            None => None,
            Some(_) if self.config.approver != Approver::Human => {
                return self.finish_denied(&id, "no approver to type the credential".into());
            }
            Some(spec) => {
                self.emit(EventKind::CredentialRequested {
                    id: id.clone(),
                    target: spec.target,
                    prompt: spec.prompt,
                });
                match self.wait_for_credential(&id).await {
                    Ok(Some((secret, by))) => {
                        self.emit(EventKind::CredentialSupplied { id: id.clone(), by });
                        Some(secret)
                    }
                    Ok(None) => {
                        return self.finish_denied(
                            &id,
                            "the engineer cancelled the credential prompt".into(),
                        );
                    }
                    Err(Interrupt::Quit) => return,
                }
            }
        };
        self.emit(EventKind::ToolCallStarted {
            id: id.clone(),
            command: for_display(&command),
        });
        let started = Instant::now();
        let result = self.run_tool(tool, &args, secret.as_ref()).await;
        let elapsed = started.elapsed().as_millis() as u64;
        let scrub = |text: String| match &secret {
            Some(s) if !s.expose().is_empty() => text.replace(s.expose(), "[redacted:credential]"),
            _ => text,
        };
        match result {
            Ok(RunEnd::Done(Ok(output))) => {
                let output = self.cleaned_output(output, secret.as_ref());
                let reference = self.store_output(&output);
                self.emit(EventKind::ToolCallFinished {
                    id: id.clone(),
                    outcome: CallOutcome::Ok,
                    duration_ms: elapsed,
                    output: reference,
                    error: None,
                });
            }
            Ok(RunEnd::Done(Err(e))) => {
                let message = scrub(e.to_string());
                self.finish_failed(&id, message, elapsed);
            }
            Ok(RunEnd::TimedOut) => {
                let message = format!("timed out after {}s", TOOL_TIMEOUT.as_secs());
                self.finish_failed(&id, message, elapsed);
            }
            Ok(RunEnd::Cancelled { by }) => {
                let message = format!("cancelled by {by} while it ran");
                self.emit(EventKind::ToolCallFinished {
                    id: id.clone(),
                    outcome: CallOutcome::Cancelled,
                    duration_ms: elapsed,
                    output: OutputRef::default(),
                    error: Some(message),
                });
            }
            Err(Interrupt::Quit) => {
                self.emit(EventKind::ToolCallFinished {
                    id,
                    outcome: CallOutcome::Cancelled,
                    duration_ms: elapsed,
                    output: OutputRef::default(),
                    error: Some("cancelled: the session ended".into()),
                });
            }
        }
    }

    /// Run a tool with a timeout; the engineer can cancel it, and quitting cancels it.
    async fn run_tool(
        &mut self,
        tool: Arc<dyn Tool>,
        args: &Value,
        secret: Option<&Secret>,
    ) -> Result<RunEnd, Interrupt> {
        let run = tokio::time::timeout(TOOL_TIMEOUT, tool.run(args, secret));
        tokio::pin!(run);
        loop {
            tokio::select! {
                result = &mut run => return Ok(match result {
                    Ok(done) => RunEnd::Done(done),
                    Err(_) => RunEnd::TimedOut,
                }),
                envelope = self.commands.recv() => {
                    let Some(envelope) = envelope else { return Err(Interrupt::Quit) };
                    if matches!(envelope.command, Command::CancelRunning) {
                        return Ok(RunEnd::Cancelled { by: envelope.by });
                    }
                    self.handle_side_command(envelope)?;
                }
            }
        }
    }

    fn finish_failed(&mut self, id: &str, message: String, elapsed: u64) {
        let message = for_display(&message);
        self.emit(EventKind::ToolCallFinished {
            id: id.into(),
            outcome: CallOutcome::Failed,
            duration_ms: elapsed,
            output: OutputRef::default(),
            error: Some(message),
        });
    }

    /// A preview for the event; the full output in the blob store when it doesn't fit,
    /// and the raw data behind a digest always.
    fn store_output(&mut self, output: &ToolOutput) -> OutputRef {
        let display = for_display(&output.text);
        let lines = display.lines().count() as u64;
        let mut preview: String = display
            .lines()
            .take(PREVIEW_LINES)
            .collect::<Vec<_>>()
            .join("\n");
        if preview.len() > PREVIEW_BYTES {
            let mut cut = PREVIEW_BYTES;
            while !preview.is_char_boundary(cut) {
                cut -= 1;
            }
            preview.truncate(cut);
        }
        let blob = if preview.len() < display.len() {
            match self.config.blobs.put(&output.text) {
                Ok(hash) => Some(hash),
                Err(e) => {
                    self.emit(EventKind::Error {
                        source: "blob store".into(),
                        message: format!(
                            "could not store the full output ({e}); only the preview is kept"
                        ),
                        retried: false,
                    });
                    None
                }
            }
        } else {
            None
        };
        let raw = output.raw.as_deref().and_then(|raw| match self.config.blobs.put(raw) {
            Ok(blob) => Some(RawRef {
                blob,
                lines: raw.lines().count() as u64,
                bytes: raw.len() as u64,
            }),
            Err(e) => {
                self.emit(EventKind::Error {
                    source: "blob store".into(),
                    message: format!(
                        "could not store the raw data behind the output ({e}); only the digest is kept"
                    ),
                    retried: false,
                });
                None
            }
        });
        OutputRef {
            preview,
            bytes: output.text.len() as u64,
            lines,
            blob,
            language: output.language.into(),
            digest: for_display(&output.digest),
            raw,
        }
    }
}

/// An edited command as a new call: arguments parsed by the tool, checked against its
/// schema, and classified from scratch.
fn edited_call(
    tool: &Arc<dyn Tool>,
    command: &str,
    original: &Value,
) -> Result<(Value, Risk), ToolError> {
    let args = tool.args_from_command(command, original)?;
    check_arguments(&tool.spec().parameters, &args).map_err(ToolError::InvalidArguments)?;
    let risk = tool.classify(&args);
    Ok((args, risk))
}

/// What stands in the log for an event that could not be cleaned (never expected: every
/// event serializes).
fn unrecordable(error: &serde_json::Error) -> EventKind {
    EventKind::Notice {
        text: format!("an event could not be cleaned for recording and was dropped ({error})"),
    }
}

/// Follow-ups without near-repeats: one that names the same setting or command (a
/// backticked term) as an earlier one and shares another word with it, or whose words
/// mostly repeat an earlier one's, is dropped. Two sources saying "set
/// `idle_in_transaction_session_timeout` to 30s" become one.
fn distinct_follow_ups(follow_ups: &[String]) -> Vec<String> {
    use std::collections::BTreeSet;
    fn words(text: &str) -> BTreeSet<String> {
        text.split(|c: char| !c.is_alphanumeric() && c != '_')
            .filter(|w| w.len() > 2)
            .map(str::to_lowercase)
            .collect()
    }
    fn named_terms(text: &str) -> BTreeSet<String> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .filter_map(|span| span.split_whitespace().next())
            .map(str::to_lowercase)
            .collect()
    }
    let mut kept: Vec<(String, BTreeSet<String>, BTreeSet<String>)> = Vec::new();
    for text in follow_ups {
        let text = for_display(text).trim().to_string();
        let (these, terms) = (words(&text), named_terms(&text));
        let repeats = kept.iter().any(|(_, earlier, earlier_terms)| {
            let shared = these.intersection(earlier).count();
            let smaller = these.len().min(earlier.len()).max(1);
            let same_term = terms.intersection(earlier_terms).count();
            (same_term > 0 && shared > same_term) || (shared * 2 > smaller && shared >= 2)
        });
        if !text.is_empty() && !repeats {
            kept.push((text, these, terms));
        }
    }
    kept.into_iter().map(|(text, ..)| text).collect()
}

#[cfg(test)]
mod tests {
    use super::distinct_follow_ups;

    #[test]
    fn near_identical_follow_ups_are_kept_once() {
        let follow_ups = [
            "`idle_in_transaction_session_timeout = 30s` on orders-db (not yet done). (from INC-2041)".to_string(),
            "Set `idle_in_transaction_session_timeout` on the database (30s is a common choice).".into(),
            "Alert when connections stay above 80% of `max_connections` for 2 minutes.".into(),
            "Keep the previous release pinned until the regression is understood.".into(),
        ];
        let kept = distinct_follow_ups(&follow_ups);
        assert_eq!(kept.len(), 3, "{kept:?}");
        assert!(kept[0].contains("INC-2041"));
        let different = [
            "Alert above 80% of `max_connections`".to_string(),
            "Raise `max_connections`".into(),
        ];
        assert_eq!(distinct_follow_ups(&different).len(), 2);
    }
}
