//! The TUI's own state and the routing of keys.
//!
//! [`App`] holds the reduced [`State`] (folded from the same events the recorder writes)
//! plus what only the screen cares about: the transcript's view state, the board's
//! selection, the focused pane, and the stack of layers. A key goes to the layer on top
//! (see [`super::layer`]); what it passes goes to the global keys, and to the panes when
//! nothing covers them. A layer answers with effects, which the App turns into engine
//! [`Command`]s, closes, flashes or quits. Nothing here changes the investigation
//! directly: the engine does, and its events come back through `State::apply`.
//!
//! The stack: at the bottom the pending decision (approval or credential), derived from
//! `State` so a replay shows it exactly when the engineer saw it; above it what the
//! engineer opened (editor, help, pager, steer, the quit dialog, seek). When the decision
//! closes because another engineer decided first, the flash says who. An attached
//! terminal (`hunch attach`) never takes a credential and quits without asking: it only
//! detaches.

use super::confirm_quit::ConfirmQuit;
use super::decision::Decision;
use super::editor::Editor;
use super::help::Help;
use super::keymap::{Action, Context, Keymap};
use super::layer::{Ctx, Effect, Hint, Layer, Outcome};
use super::pager::Pager;
use super::replay::Replay;
use super::seek::Seek;
use super::steer::Steer;
use super::theme::Theme;
use super::transcript::{Look, TranscriptView};
use crate::event::{CallStatus, Event, Pending, State};
use crate::protocol::{Command, EngineHandle};
use crate::sanitize::for_display;
use crate::session::BlobStore;
use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Transcript,
    Board,
}

pub enum Mode {
    Live(EngineHandle),
    Replay(Replay),
}

pub struct App {
    pub state: State,
    pub mode: Mode,
    pub keymap: Keymap,
    pub theme: Theme,
    pub session_file: Option<PathBuf>,
    pub blobs: Option<BlobStore>,
    pub focus: Pane,
    /// Scroll, selected call, expanded outputs, and the transcript's line cache.
    pub transcript: TranscriptView,
    /// The selected hypothesis on the board, by id: the board re-sorts as confidence
    /// moves, and the selection follows the hypothesis, not the row. None: the top row.
    pub board_selected: Option<String>,
    /// What the engineer opened, the top last.
    layers: Vec<Box<dyn Layer>>,
    /// The pending decision, under the layers.
    decision: Option<Decision>,
    /// Spinner frame.
    pub tick: u64,
    /// The clock the status bar shows elapsed time against.
    pub now: DateTime<Utc>,
    pub quit: bool,
    /// A one-line message in place of the key hints, until the next key.
    pub flash: Option<String>,
    /// This terminal is attached to another's investigation (`hunch attach`): it never
    /// takes a credential.
    pub attached: bool,
}

/// Where a key goes when the layer on top passes it.
enum Below {
    Nothing,
    Global,
    Panes,
}

/// The context layers read, from the App's fields (so the layers can be borrowed
/// mutably beside it).
macro_rules! ctx {
    ($app:expr) => {
        Ctx {
            state: &$app.state,
            keymap: &$app.keymap,
            theme: &$app.theme,
            replay: matches!($app.mode, Mode::Replay(_)),
            attached: $app.attached,
            page: $app.transcript.height,
        }
    };
}

impl App {
    pub fn new(state: State, mode: Mode, keymap: Keymap, theme: Theme) -> App {
        // A damaged session file is said on screen, not only before the TUI starts.
        let flash = match &mode {
            Mode::Replay(replay) => replay
                .warnings
                .first()
                .map(|w| format!("⚠ damaged line skipped: {w}")),
            Mode::Live(_) => None,
        };
        let mut app = App {
            state,
            mode,
            keymap,
            theme,
            session_file: None,
            blobs: None,
            focus: Pane::Transcript,
            transcript: TranscriptView::default(),
            board_selected: None,
            layers: Vec::new(),
            decision: None,
            tick: 0,
            now: Utc::now(),
            quit: false,
            flash,
            attached: false,
        };
        // A state that already holds a pending decision (an attach, a resume) gets its
        // layer now: the decision keys act on it, not on nothing.
        app.sync_decision();
        app
    }

    pub(crate) fn is_replay(&self) -> bool {
        matches!(self.mode, Mode::Replay(_))
    }

    /// A new event: folded at once when live; queued behind the cursor in a replay that
    /// follows a session still being written.
    pub fn apply(&mut self, event: &Event) {
        if let Mode::Replay(replay) = &mut self.mode {
            replay.push(event.clone());
            return;
        }
        self.state.apply(event);
        self.sync_decision();
    }

    /// Who this terminal's commands are from (none in a replay).
    pub fn user(&self) -> Option<&str> {
        match &self.mode {
            Mode::Live(handle) => Some(handle.by()),
            Mode::Replay(_) => None,
        }
    }

    /// The pending decision's layer (also while set aside, and in a replay).
    pub fn decision(&self) -> Option<&Decision> {
        self.decision.as_ref()
    }

    /// The names of the layers on the stack, bottom first (the decision included while
    /// it is shown).
    pub fn stack(&self) -> Vec<&'static str> {
        let decision = self
            .decision
            .as_ref()
            .filter(|d| !d.hidden())
            .map(|d| d.layer().name());
        decision
            .into_iter()
            .chain(self.layers.iter().map(|l| l.name()))
            .collect()
    }

    /// The layers, for drawing: the context they read, the decision, what is above it.
    pub(super) fn stack_mut(
        &mut self,
    ) -> (Ctx<'_>, Option<&mut dyn Layer>, &mut Vec<Box<dyn Layer>>) {
        let cx = ctx!(self);
        let decision = self.decision.as_mut().map(Decision::layer_mut);
        (cx, decision, &mut self.layers)
    }

    /// Why the decision overlay closed, when another engineer decided it first: "c5 was
    /// approved by alice". None when this terminal decided, or nobody did (the call was
    /// set aside, the session ended).
    fn decided_by_another(&self, decision: &Decision) -> Option<String> {
        let me = for_display(self.user()?);
        let call = self.state.calls.get(decision.call())?;
        let (what, by) = if decision.is_credential() {
            (
                "the credential for {id} was typed by",
                call.credential_by.as_ref()?,
            )
        } else {
            let (verdict, by) = call.decision.as_ref()?;
            let what = if verdict.is_approval() {
                "{id} was approved by"
            } else {
                "{id} was denied by"
            };
            (what, by)
        };
        (*by != me).then(|| format!("{} {by}", what.replace("{id}", &call.id)))
    }

    /// Keep the decision layer in step with what is pending.
    pub fn sync_decision(&mut self) {
        let pending = self.state.pending.first();
        // The overlay closes under the engineer's hands: say who decided first, so a
        // half-typed reason that vanishes is explained. The host hears of it only when
        // it was typing; an attached terminal always.
        if let Some(decision) = &self.decision
            && pending.map(Pending::call) != Some(decision.call())
            && (self.attached || decision.typing())
            && let Some(why) = self.decided_by_another(decision)
        {
            self.flash = Some(why);
        }
        let Some(pending) = pending else {
            self.decision = None;
            return;
        };
        if self.decision.as_ref().is_some_and(|d| d.shows(pending)) {
            return;
        }
        // The same call moving from its approval to its credential stays set aside.
        let hidden = self
            .decision
            .as_ref()
            .is_some_and(|d| d.call() == pending.call() && d.hidden());
        self.decision = Some(Decision::for_pending(&self.state, pending, hidden));
    }

    fn send(&self, command: Command) {
        if let Mode::Live(handle) = &self.mode {
            handle.send(command);
        }
    }

    /// The decision when it takes keys: live, not a replay.
    fn live_decision(&self) -> Option<&Decision> {
        self.decision.as_ref().filter(|_| !self.is_replay())
    }

    /// The pane's keymap context.
    fn pane_context(&self) -> Context {
        match self.focus {
            Pane::Transcript => Context::Transcript,
            Pane::Board => Context::Board,
        }
    }

    /// The context whose keys apply now: the top layer's, or the focused pane's.
    pub fn context(&self) -> Context {
        if let Some(layer) = self.layers.last() {
            return layer.context();
        }
        match self.live_decision().filter(|d| !d.hidden()) {
            Some(decision) => decision.layer().context(),
            None => self.pane_context(),
        }
    }

    fn base_context(&self) -> Context {
        if self.is_replay() {
            Context::Replay
        } else {
            Context::Global
        }
    }

    /// The contexts whose keys work now, the top first (help lists them first).
    fn live_contexts(&self) -> Vec<Context> {
        let mut contexts = vec![self.context()];
        let passes = match self.layers.last() {
            Some(layer) => layer.passes_to_global(),
            None => true,
        };
        if passes {
            contexts.push(self.base_context());
        }
        contexts.dedup();
        contexts
    }

    pub fn on_key(&mut self, key: KeyEvent) {
        if key.kind != crossterm::event::KeyEventKind::Press {
            return;
        }
        self.flash = None;
        // ctrl-c leaves from anywhere, a text field included: it asks first, and a
        // second one quits.
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            if self
                .layers
                .last()
                .is_some_and(|l| l.name() == "confirm-quit")
            {
                self.quit();
            } else {
                self.request_quit();
            }
            return;
        }
        let replay = self.is_replay();
        let cx = ctx!(self);
        let (outcome, below, opened) = if let Some(layer) = self.layers.last_mut() {
            let below = if layer.passes_to_global() {
                Below::Global
            } else {
                Below::Nothing
            };
            (layer.on_key(&key, &cx), below, true)
        } else if let Some(decision) = self.decision.as_mut().filter(|_| !replay) {
            let below = if decision.hidden() {
                Below::Panes
            } else if decision.layer().passes_to_global() {
                Below::Global
            } else {
                Below::Nothing
            };
            (decision.layer_mut().on_key(&key, &cx), below, false)
        } else {
            (Outcome::Pass, Below::Panes, false)
        };
        match outcome {
            Outcome::Used(effects) => self.carry_out(effects, opened),
            Outcome::Pass => {
                let action = match below {
                    Below::Nothing => None,
                    Below::Global => self.keymap.action(self.base_context(), &key),
                    Below::Panes => self
                        .keymap
                        .action(self.pane_context(), &key)
                        .or_else(|| self.keymap.action(self.base_context(), &key)),
                };
                if let Some(action) = action {
                    self.on_action(action);
                }
            }
        }
    }

    /// Do what a layer asked. `opened`: it is one the engineer opened (a `Close` pops it).
    fn carry_out(&mut self, effects: Vec<Effect>, opened: bool) {
        for effect in effects {
            match effect {
                Effect::Send(command) => self.send(command),
                Effect::Close if opened => self.close_top(),
                Effect::Close => {}
                Effect::Flash(text) => self.flash = Some(text),
                Effect::Quit => self.quit(),
                Effect::AskQuit => self.request_quit(),
                Effect::SeekCall(id) => self.seek_call(&id),
                Effect::Help => self.on_action(Action::Help),
            }
        }
    }

    /// Open a layer on top; one already on the stack is not opened twice.
    fn push(&mut self, layer: Box<dyn Layer>) {
        if !self.layers.iter().any(|l| l.name() == layer.name()) {
            self.layers.push(layer);
        }
    }

    fn close_top(&mut self) {
        if let Some(mut layer) = self.layers.pop() {
            for command in layer.on_close() {
                self.send(command);
            }
        }
    }

    /// The hint bar: the keys of what is on top now (a text field being typed into, a
    /// dialog, an overlay, the pending decision, or the panes), never those of a mode
    /// that is not active.
    pub fn hints(&self) -> Vec<Hint> {
        let cx = ctx!(self);
        let top = match self.layers.last() {
            Some(layer) => Some(layer.as_ref()),
            None => self
                .live_decision()
                .filter(|d| !d.hidden())
                .map(Decision::layer),
        };
        let mut hints = Vec::new();
        match top {
            Some(layer) => {
                hints.extend(layer.hints(&cx));
                if layer.passes_to_global() {
                    hints.extend(self.base_hints(&cx));
                }
            }
            None => {
                // A replay's own keys need the room: its toggle-output is in help.
                let transcript: &[Action] = match (self.focus, self.is_replay()) {
                    (Pane::Board, _) => &[],
                    (Pane::Transcript, true) => &[Action::SelectNextCall],
                    (Pane::Transcript, false) => &[Action::SelectNextCall, Action::ToggleOutput],
                };
                hints.extend(
                    transcript
                        .iter()
                        .filter_map(|&a| cx.hint(Context::Transcript, a)),
                );
                hints.extend(self.base_hints(&cx));
            }
        }
        hints
    }

    /// The global keys' hints, or the replay's.
    fn base_hints(&self, cx: &Ctx) -> Vec<Hint> {
        let (context, actions): (Context, &[Action]) = if self.is_replay() {
            (
                Context::Replay,
                &[
                    Action::PlayPause,
                    Action::Step,
                    Action::NextDecision,
                    Action::SeekCall,
                    Action::Help,
                    Action::Quit,
                ],
            )
        } else {
            (
                Context::Global,
                &[
                    Action::PauseResume,
                    Action::EditHypotheses,
                    Action::Steer,
                    Action::Help,
                    Action::Quit,
                ],
            )
        };
        let step_back = cx.keymap.hint(Context::Replay, Action::StepBack);
        actions
            .iter()
            .filter(|&&a| a != Action::PauseResume || self.agent_running())
            // An attached terminal whose host has gone: nothing is there to take an
            // edit or a question.
            .filter(|&&a| !matches!(a, Action::EditHypotheses | Action::Steer) || !self.host_gone())
            .filter_map(|&a| match (a, &step_back) {
                // One hint for both directions: "right/left step".
                (Action::Step, Some(back)) => cx
                    .hint(context, a)
                    .map(|h| Hint::new(format!("{}/{back}", h.key), h.does)),
                // After the conclusion the steer box asks a follow-up question.
                (Action::Steer, _) if self.state.conclusion.is_some() => {
                    cx.hint_as(context, a, "ask-follow-up")
                }
                _ => cx.hint(context, a),
            })
            .collect()
    }

    /// Whether the pending approval offers "approve for the session" (the tool built a
    /// scope for the call).
    pub fn session_scope_offered(&self) -> bool {
        matches!(
            self.state.pending.first(),
            Some(Pending::Approval { scope: Some(_), .. })
        )
    }

    /// Whether the agent is still at work, so pausing means something.
    pub(crate) fn agent_running(&self) -> bool {
        self.state.conclusion.is_none() && self.state.ended.is_none()
    }

    /// This terminal is attached and the session it joined has ended: no command can
    /// reach anyone.
    fn host_gone(&self) -> bool {
        self.attached && self.state.ended.is_some()
    }

    fn quit(&mut self) {
        self.send(Command::Quit);
        self.quit = true;
    }

    /// What quitting now would leave undone, if anything (see [`Ctx::quit_would_interrupt`]).
    pub(crate) fn quit_would_interrupt(&self) -> Option<String> {
        ctx!(self).quit_would_interrupt()
    }

    /// Quit, or ask first when quitting would interrupt something.
    fn request_quit(&mut self) {
        if self.quit_would_interrupt().is_some() {
            self.push(Box::new(ConfirmQuit));
        } else {
            self.quit();
        }
    }

    /// What the global, replay and pane keys do.
    pub fn on_action(&mut self, action: Action) {
        let page = self.transcript.height.saturating_sub(2).max(1);
        match action {
            Action::Quit => self.request_quit(),
            Action::Help => {
                let first = self.live_contexts();
                self.push(Box::new(Help::new(first)));
            }
            Action::PauseResume if !self.agent_running() => {
                self.flash = Some("the investigation is over: there is nothing to pause".into())
            }
            Action::PauseResume => self.send(if self.state.paused {
                Command::Resume
            } else {
                Command::Pause
            }),
            Action::CancelCall if self.running_spinner() => self.send(Command::CancelRunning),
            Action::CancelCall => self.flash = Some("nothing is running to cancel".into()),
            Action::EditHypotheses | Action::Steer if self.host_gone() => {
                self.flash =
                    Some("the investigation has ended: nothing more can be sent to it".into())
            }
            Action::EditHypotheses => self.open_editor(None),
            Action::Steer if self.state.conclusion.is_some() => {
                self.push(Box::new(Steer::question()))
            }
            Action::Steer => self.push(Box::new(Steer::new())),
            Action::FocusNextPane => {
                self.focus = match self.focus {
                    Pane::Transcript => Pane::Board,
                    Pane::Board => Pane::Transcript,
                }
            }
            Action::ScrollUp | Action::ScrollDown | Action::PageUp | Action::PageDown => {
                let scroll = &mut self.transcript.scroll;
                *scroll = match action {
                    Action::ScrollUp => scroll.saturating_add(1),
                    Action::ScrollDown => scroll.saturating_sub(1),
                    Action::PageUp => scroll.saturating_add(page),
                    _ => scroll.saturating_sub(page),
                }
            }
            // "As far as there is": the transcript clamps it when it is drawn.
            Action::ScrollTop => self.transcript.scroll = usize::MAX,
            Action::ScrollBottom => self.transcript.scroll = 0,
            Action::SelectPreviousCall | Action::SelectNextCall => self.select_call(action),
            Action::ToggleOutput => {
                if let Some(call) = self.valid_selected_call() {
                    let view = &mut self.transcript;
                    view.selected_call = Some(call);
                    if !view.expanded.remove(&call) {
                        view.expanded.insert(call);
                    }
                }
            }
            Action::OpenPager => self.open_pager(),
            Action::SelectUp | Action::SelectDown => {
                let rank = self.state.rank_of(self.board_selected.as_deref());
                let rank = if action == Action::SelectUp {
                    rank.saturating_sub(1)
                } else {
                    rank + 1
                };
                self.board_selected = self.state.id_at_rank(rank);
            }
            Action::OpenEditor => {
                let selected = self
                    .state
                    .id_at_rank(self.state.rank_of(self.board_selected.as_deref()));
                self.open_editor(selected);
            }
            Action::SeekCall if self.is_replay() => self.push(Box::new(Seek::new())),
            Action::PlayPause
            | Action::Step
            | Action::StepBack
            | Action::SpeedUp
            | Action::SlowDown
            | Action::NextDecision
            | Action::JumpStart
            | Action::JumpEnd => self.replay_action(action),
            // The layers' own actions are read by the layers.
            _ => {}
        }
    }

    fn select_call(&mut self, action: Action) {
        let count = self.state.calls.len();
        if count == 0 {
            return;
        }
        let view = &mut self.transcript;
        let current = view.selected_call.filter(|&i| i < count).unwrap_or(count);
        view.selected_call = Some(if action == Action::SelectPreviousCall {
            current.saturating_sub(1)
        } else {
            (current + 1).min(count - 1)
        });
        self.scroll_to_selected();
    }

    fn replay_action(&mut self, action: Action) {
        let Mode::Replay(replay) = &mut self.mode else {
            return;
        };
        let mut state = std::mem::take(&mut self.state);
        match action {
            Action::PlayPause => replay.toggle_play(),
            Action::Step => replay.step(&mut state),
            Action::StepBack => replay.step_back(&mut state),
            Action::SpeedUp => replay.faster(),
            Action::SlowDown => replay.slower(),
            Action::NextDecision => replay.next_decision(&mut state),
            Action::JumpStart => {
                replay.restart(&mut state);
                self.transcript.scroll = 0;
            }
            Action::JumpEnd => replay.jump_to_end(&mut state),
            _ => {}
        }
        self.state = state;
        self.forget_vanished_selection();
        self.sync_decision();
    }

    /// In a replay: go to where call `id` finished, select it and scroll to it.
    fn seek_call(&mut self, id: &str) {
        let Mode::Replay(replay) = &mut self.mode else {
            return;
        };
        let mut state = std::mem::take(&mut self.state);
        let found = replay.seek_call(&mut state, id);
        self.state = state;
        self.forget_vanished_selection();
        self.sync_decision();
        if !found {
            self.flash = Some(format!("no tool call {id} in this session"));
            return;
        }
        self.transcript.selected_call = self.state.calls.iter().position(|c| c.id == id);
        self.scroll_to_selected();
    }

    /// A replay that jumps back has fewer calls and hypotheses than a moment ago: a
    /// selection that points past them is dropped, never indexed.
    fn forget_vanished_selection(&mut self) {
        self.transcript.forget_calls_from(self.state.calls.len());
        if let Some(id) = &self.board_selected
            && !self.state.hypotheses.iter().any(|h| &h.id == id)
        {
            self.board_selected = None;
        }
    }

    fn scroll_to_selected(&mut self) {
        if let Some(call) = self
            .transcript
            .selected_call
            .filter(|&i| i < self.state.calls.len())
        {
            let entry = self.state.calls[call].entry;
            let look = Look {
                theme: &self.theme,
                tick: self.tick,
                now: self.now,
                focused: self.focus == Pane::Transcript,
            };
            self.transcript.scroll = self.transcript.lines_below(&self.state, entry, look);
        }
    }

    /// The editor on `selected`; it pauses the agent while open when the agent runs.
    fn open_editor(&mut self, selected: Option<String>) {
        let paused_agent =
            !self.is_replay() && !self.state.paused && self.state.conclusion.is_none();
        if paused_agent {
            self.send(Command::Pause);
        }
        self.push(Box::new(Editor::new(selected, paused_agent)));
    }

    /// The selected call, or the last one; never an index past the calls there are.
    fn valid_selected_call(&self) -> Option<usize> {
        self.transcript
            .selected_call
            .filter(|&i| i < self.state.calls.len())
            .or(self.state.calls.len().checked_sub(1))
    }

    fn open_pager(&mut self) {
        let Some(index) = self.valid_selected_call() else {
            return;
        };
        let call = &self.state.calls[index];
        let Some(output) = &call.output else {
            return;
        };
        let full = match (&output.blob, &self.blobs) {
            (Some(hash), Some(store)) => match store.get(hash) {
                Ok(text) => for_display(&text),
                Err(e) => format!(
                    "{}\n\n[the full output (blob {}) could not be read: {e}; showing the preview]",
                    output.preview,
                    &hash[..12]
                ),
            },
            _ => output.preview.clone(),
        };
        let full = match (&output.raw, &self.blobs) {
            (Some(raw), Some(store)) => {
                let data = store.get(&raw.blob).map_or_else(
                    |e| format!("[the raw data could not be read: {e}]"),
                    |text| for_display(&text),
                );
                format!(
                    "{full}\n\n── raw data behind this output: {} lines (blob {}) ──\n{data}",
                    raw.lines,
                    &raw.blob[..12.min(raw.blob.len())]
                )
            }
            _ => full,
        };
        let lines = if full.is_empty() {
            vec![call.error.clone().unwrap_or_default()]
        } else {
            full.lines().map(str::to_string).collect()
        };
        let pager = Pager::new(
            format!("{} · {}", call.id, call.command),
            lines,
            output.language.clone(),
            self.transcript.height,
        );
        self.push(Box::new(pager));
    }

    /// What to print once the screen is gone: where the session is, how to replay it,
    /// and, unless it concluded, how to go on with it.
    pub fn exit_hints(&self) -> Vec<String> {
        let Some(file) = &self.session_file else {
            return Vec::new();
        };
        let file = file.display();
        let mut lines = vec![
            format!("session saved: {file}"),
            format!("replay it with: hunch replay {file}"),
        ];
        if !self.is_replay() && self.state.conclusion.is_none() {
            lines.push(format!("resume it with: hunch resume {file}"));
        }
        lines
    }

    /// Whether something on screen moves by itself (a spinner, a live clock).
    pub(crate) fn animating(&self) -> bool {
        match &self.mode {
            Mode::Replay(replay) => replay.playing(),
            Mode::Live(_) => {
                self.state.ended.is_none() && self.state.conclusion.is_none()
                    || self.state.running_calls() > 0
            }
        }
    }

    pub(crate) fn running_spinner(&self) -> bool {
        self.state
            .calls
            .iter()
            .any(|c| c.status == CallStatus::Running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use crate::protocol::Approval;

    fn demo_events() -> Vec<Event> {
        let fixture = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join("tests/fixtures/demo-session.jsonl");
        crate::session::read_session(&fixture).unwrap().events
    }

    /// Issue 27 #9: quitting mid-run says how to resume, not only how to replay.
    #[test]
    fn quitting_mid_run_prints_the_replay_and_the_resume_hint() {
        let events = demo_events();
        let concluded = events
            .iter()
            .position(|e| matches!(e.kind, EventKind::Concluded { .. }))
            .unwrap();
        let (handle, _commands) = EngineHandle::channel("alice");
        let mut app = App::new(
            State::from_events(events[..concluded].iter()),
            Mode::Live(handle),
            Keymap::default_keymap(),
            Theme::default_theme(),
        );
        app.session_file = Some("/data/sessions/2026-11-25/s1.jsonl".into());
        assert_eq!(
            app.exit_hints(),
            [
                "session saved: /data/sessions/2026-11-25/s1.jsonl",
                "replay it with: hunch replay /data/sessions/2026-11-25/s1.jsonl",
                "resume it with: hunch resume /data/sessions/2026-11-25/s1.jsonl",
            ]
        );
        app.state = State::from_events(events.iter());
        assert_eq!(
            app.exit_hints().len(),
            2,
            "a concluded session is not resumed"
        );
    }

    /// `hunch attach` while an approval already waits: the screen starts from the
    /// recorded events, and its first key decides that call.
    #[test]
    fn a_screen_that_starts_with_an_approval_waiting_decides_it() {
        let fixture = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join("tests/fixtures/demo-session.jsonl");
        let events = crate::session::read_session(&fixture).unwrap().events;
        let asked = events
            .iter()
            .position(|e| matches!(e.kind, EventKind::ApprovalRequested { .. }))
            .expect("the demo asks for an approval");
        let state = State::from_events(events[..=asked].iter());
        let waiting = state.calls[state.pending[0].call()].id.clone();
        let (handle, mut commands) = EngineHandle::channel("bob");
        let mut app = App::new(
            state,
            Mode::Live(handle),
            Keymap::default_keymap(),
            Theme::default_theme(),
        );
        app.attached = true;
        app.on_key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE));
        let sent = commands.try_recv().expect("the approval is sent");
        assert!(
            matches!(&sent.command, Command::Approve { id, approval: Approval::Once } if *id == waiting),
            "{:?}",
            sent.command
        );
    }
}
