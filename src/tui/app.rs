//! The TUI's own state and what keys do with it.
//!
//! [`App`] holds the reduced [`State`] (folded from the same events the recorder writes)
//! plus what only the screen cares about: scroll, selection, expanded outputs and the
//! overlay stack. Keys become [`Action`]s through the keymap; actions either change this
//! view state or become engine [`Command`]s. Nothing here changes the investigation
//! directly: the engine does, and its events come back through `State::apply`.
//!
//! Overlays: the pending decision (approval or credential) is derived from `State`, so a
//! replay shows it exactly when the engineer saw it. Overlays the engineer opens (editor,
//! help, pager, steer) stack above it. When the decision closes because another engineer
//! decided first, the flash says who. An attached terminal (`hunch attach`) never takes
//! a credential and quits without asking: it only detaches.

use super::keymap::{Action, Context, Keymap};
use super::replay::Replay;
use super::theme::Theme;
use super::view::TranscriptCache;
use crate::event::{CallStatus, Event, HypothesisStatus, Pending, State};
use crate::protocol::Secret;
use crate::protocol::{Approval, Command, EngineHandle, HypothesisEdit};
use crate::sanitize::for_display;
use crate::session::BlobStore;
use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;
use std::collections::HashSet;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Transcript,
    Board,
}

/// The approval overlay's buttons, left to right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    ApproveOnce,
    ApproveSession,
    EditThenApprove,
    Deny,
}

impl Button {
    pub const ALL: [Button; 4] = [
        Button::ApproveOnce,
        Button::ApproveSession,
        Button::EditThenApprove,
        Button::Deny,
    ];

    pub fn action(self) -> Action {
        match self {
            Button::ApproveOnce => Action::ApproveOnce,
            Button::ApproveSession => Action::ApproveSession,
            Button::EditThenApprove => Action::EditThenApprove,
            Button::Deny => Action::Deny,
        }
    }
}

/// A text field inside the approval overlay.
pub enum DecisionInput {
    DenyReason(TextArea<'static>),
    EditCommand(TextArea<'static>),
}

/// View state of the pending decision, reset whenever a different call is pending.
pub struct DecisionUi {
    pub call: usize,
    pub focus: Button,
    pub input: Option<DecisionInput>,
    pub credential: TextArea<'static>,
    /// Lines of the overlay's body scrolled past.
    pub scroll: usize,
    /// Set aside while the engineer reviews the transcript (`review`).
    pub hidden: bool,
    /// The call waits for a credential, not for a decision.
    pub credential_prompt: bool,
}

pub struct EditorState {
    /// The selected hypothesis by id (None: the top row), so an edit that re-sorts the
    /// list leaves the cursor on the hypothesis just edited.
    pub selected: Option<String>,
    /// Editing a statement: the hypothesis id (None when adding) and the text.
    pub editing: Option<(Option<String>, TextArea<'static>)>,
    /// The editor paused the agent and will resume it on close.
    pub paused_agent: bool,
}

pub struct Pager {
    pub title: String,
    pub lines: Vec<String>,
    pub language: String,
    pub scroll: usize,
    pub query: String,
    pub searching: Option<TextArea<'static>>,
    pub matches: Vec<usize>,
    pub current: usize,
    /// Rows of text the pager showed at the last draw.
    pub height: usize,
}

impl Pager {
    /// The scroll that shows the last line at the bottom edge.
    pub fn max_scroll(&self) -> usize {
        self.lines.len().saturating_sub(self.height.max(1))
    }

    fn run_search(&mut self) {
        let needle = self.query.to_lowercase();
        self.matches = if needle.is_empty() {
            Vec::new()
        } else {
            self.lines
                .iter()
                .enumerate()
                .filter(|(_, l)| l.to_lowercase().contains(&needle))
                .map(|(i, _)| i)
                .collect()
        };
        self.current = 0;
        if let Some(&first) = self
            .matches
            .iter()
            .find(|&&m| m >= self.scroll)
            .or(self.matches.first())
        {
            self.current = self.matches.iter().position(|&m| m == first).unwrap_or(0);
            self.scroll = first;
        }
    }
}

pub enum Overlay {
    Help {
        scroll: usize,
    },
    /// "Quit while something is running or waiting?"
    ConfirmQuit,
    Pager(Pager),
    Editor(EditorState),
    Steer(TextArea<'static>),
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
    /// Lines scrolled up from the bottom; 0 follows the stream.
    pub scroll: usize,
    pub selected_call: Option<usize>,
    pub expanded: HashSet<usize>,
    /// The selected hypothesis on the board, by id: the board re-sorts as confidence
    /// moves, and the selection follows the hypothesis, not the row. None: the top row.
    pub board_selected: Option<String>,
    pub overlays: Vec<Overlay>,
    pub decision: Option<DecisionUi>,
    pub cache: TranscriptCache,
    /// Spinner frame.
    pub tick: u64,
    /// The clock the status bar shows elapsed time against.
    pub now: DateTime<Utc>,
    pub quit: bool,
    /// Height of the transcript at the last draw, for paging.
    pub transcript_height: usize,
    /// A one-line message in place of the key hints, until the next key.
    pub flash: Option<String>,
    /// This terminal is attached to another's investigation (`hunch attach`): it never
    /// takes a credential.
    pub attached: bool,
}

fn text_area(initial: &str, placeholder: &str) -> TextArea<'static> {
    let mut area = TextArea::new(if initial.is_empty() {
        vec![String::new()]
    } else {
        initial.lines().map(str::to_string).collect()
    });
    area.set_placeholder_text(placeholder);
    area.move_cursor(ratatui_textarea::CursorMove::Bottom);
    area.move_cursor(ratatui_textarea::CursorMove::End);
    area
}

fn area_text(area: &TextArea<'_>) -> String {
    area.lines().join("\n").trim().to_string()
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
            scroll: 0,
            selected_call: None,
            expanded: HashSet::new(),
            board_selected: None,
            overlays: Vec::new(),
            decision: None,
            cache: TranscriptCache::default(),
            tick: 0,
            now: Utc::now(),
            quit: false,
            transcript_height: 20,
            flash,
            attached: false,
        };
        // A state that already holds a pending decision (an attach, a resume) gets its
        // overlay's view state now: the decision keys act on it, not on nothing.
        app.sync_decision();
        app
    }

    pub fn is_replay(&self) -> bool {
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

    /// Why the decision overlay closed, when another engineer decided it first: "c5 was
    /// approved by alice". None when this terminal decided, or nobody did (the call was
    /// set aside, the session ended).
    fn decided_by_another(&self, ui: &DecisionUi) -> Option<String> {
        let me = for_display(self.user()?);
        let call = self.state.calls.get(ui.call)?;
        let (what, by) = if ui.credential_prompt {
            (
                "the credential for {id} was typed by",
                call.credential_by.as_ref()?,
            )
        } else {
            let (decision, by) = call.decision.as_ref()?;
            let what = if decision.is_approval() {
                "{id} was approved by"
            } else {
                "{id} was denied by"
            };
            (what, by)
        };
        (*by != me).then(|| format!("{} {by}", what.replace("{id}", &call.id)))
    }

    /// Keep the decision overlay's view state in step with what is pending.
    pub fn sync_decision(&mut self) {
        let pending = self.state.pending.first().map(Pending::call);
        // The overlay closes under the engineer's hands: say who decided first, so a
        // half-typed reason that vanishes is explained. The host hears of it only when
        // it was typing; an attached terminal always.
        if let Some(ui) = &self.decision
            && pending != Some(ui.call)
            && (self.attached || ui.input.is_some())
            && let Some(why) = self.decided_by_another(ui)
        {
            self.flash = Some(why);
        }
        match (pending, &self.decision) {
            (None, _) => self.decision = None,
            (Some(call), Some(ui)) if ui.call == call => {
                let credential =
                    matches!(self.state.pending.first(), Some(Pending::Credential { .. }));
                if let Some(ui) = self.decision.as_mut() {
                    ui.credential_prompt = credential;
                }
            }
            (Some(call), _) => {
                let destructive = self.state.calls[call].risk.is_destructive();
                let mut credential = TextArea::default();
                credential.set_mask_char('•');
                credential
                    .set_placeholder_text("type the password; enter to submit, esc to refuse");
                self.decision = Some(DecisionUi {
                    call,
                    focus: if destructive {
                        Button::Deny
                    } else {
                        Button::ApproveOnce
                    },
                    input: None,
                    credential,
                    scroll: 0,
                    hidden: false,
                    credential_prompt: matches!(
                        self.state.pending.first(),
                        Some(Pending::Credential { .. })
                    ),
                });
            }
        }
    }

    fn send(&self, command: Command) {
        if let Mode::Live(handle) = &self.mode {
            handle.send(command);
        }
    }

    /// The context whose keys apply now (for routing and for the footer hints).
    pub fn context(&self) -> Context {
        match self.overlays.last() {
            Some(Overlay::Editor(_)) => return Context::Editor,
            Some(Overlay::Pager(_)) => return Context::Pager,
            Some(_) => return Context::Global,
            None => {}
        }
        if !self.is_replay()
            && !self.decision.as_ref().is_some_and(|d| d.hidden)
            && matches!(self.state.pending.first(), Some(Pending::Approval { .. }))
        {
            return Context::Approval;
        }
        match self.focus {
            Pane::Transcript => Context::Transcript,
            Pane::Board => Context::Board,
        }
    }

    fn base_context(&self) -> Context {
        if self.is_replay() {
            Context::Replay
        } else {
            Context::Global
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) {
        if key.kind != crossterm::event::KeyEventKind::Press {
            return;
        }
        self.flash = None;
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            if matches!(self.overlays.last(), Some(Overlay::ConfirmQuit)) {
                self.quit();
            } else {
                self.request_quit();
            }
            return;
        }
        if !self.overlays.is_empty() {
            self.on_overlay_key(key);
            return;
        }
        if !self.is_replay() && self.decision.is_some() && self.on_decision_key(key) {
            return;
        }
        if let Some(ui) = self.decision.as_mut()
            && ui.hidden
            && self.keymap.action(Context::Approval, &key) == Some(Action::Review)
        {
            ui.hidden = false;
            return;
        }
        let context = self.context();
        let action = self
            .keymap
            .action(context, &key)
            .or_else(|| self.keymap.action(self.base_context(), &key));
        if let Some(action) = action {
            self.on_action(action);
        }
    }

    /// Keys for the pending approval or credential. Returns whether the key was used.
    fn on_decision_key(&mut self, key: KeyEvent) -> bool {
        let Some(pending) = self.state.pending.first().cloned() else {
            return false;
        };
        let call_id = self.state.calls[pending.call()].id.clone();
        let approval_action = self.keymap.action(Context::Approval, &key);
        let ui = self.decision.as_mut().expect("decision ui exists");
        if ui.hidden {
            return false;
        }
        match approval_action {
            Some(Action::PageUp) => {
                ui.scroll = ui.scroll.saturating_sub(self.transcript_height.max(4) / 2);
                return true;
            }
            Some(Action::PageDown) => {
                ui.scroll = ui.scroll.saturating_add(self.transcript_height.max(4) / 2);
                return true;
            }
            // While typing, printable keys are text; the review key still works as a
            // function key.
            Some(Action::Review)
                if ui.input.is_none() && !matches!(pending, Pending::Credential { .. })
                    || !matches!(key.code, KeyCode::Char(_)) =>
            {
                ui.hidden = true;
                return true;
            }
            _ => {}
        }
        if let Pending::Credential { .. } = pending {
            if self.attached {
                // A secret is typed only on the terminal that asked for it; this one can
                // set the prompt aside or leave.
                if key.code == KeyCode::Esc {
                    ui.hidden = true;
                } else if self.keymap.action(Context::Global, &key) == Some(Action::Quit) {
                    self.request_quit();
                } else if matches!(key.code, KeyCode::Enter | KeyCode::Char(_)) {
                    self.flash =
                        Some("the credential is typed on the terminal that asked for it".into());
                }
                return true;
            }
            match key.code {
                KeyCode::Enter if ui.credential.lines().join("").is_empty() => {
                    self.flash = Some("the password is empty: type it, or esc to refuse".into());
                }
                KeyCode::Enter => {
                    let secret = Secret::new(ui.credential.lines().join(""));
                    ui.credential = TextArea::default();
                    self.send(Command::SupplyCredential {
                        id: call_id,
                        secret,
                    });
                }
                KeyCode::Esc => self.send(Command::CancelCredential { id: call_id }),
                // A tab would reach the secret as spaces, which nobody meant to type.
                KeyCode::Tab | KeyCode::BackTab => {}
                _ => {
                    ui.credential.input(key);
                }
            }
            return true;
        }
        if let Some(input) = &mut ui.input {
            match key.code {
                KeyCode::Esc => ui.input = None,
                KeyCode::Enter => {
                    let command = match input {
                        DecisionInput::DenyReason(area) => Command::Deny {
                            id: call_id,
                            reason: area_text(area),
                        },
                        DecisionInput::EditCommand(area) => Command::Approve {
                            id: call_id,
                            approval: Approval::Edited(area_text(area)),
                        },
                    };
                    ui.input = None;
                    self.send(command);
                }
                _ => {
                    match input {
                        DecisionInput::DenyReason(area) | DecisionInput::EditCommand(area) => {
                            area.input(key)
                        }
                    };
                }
            }
            return true;
        }
        false
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
    pub fn agent_running(&self) -> bool {
        self.state.conclusion.is_none() && self.state.ended.is_none()
    }

    fn decide(&mut self, button: Button) {
        if button == Button::ApproveSession
            && self.decision.is_some()
            && !self.session_scope_offered()
        {
            let destructive = self.decision.as_ref().is_some_and(|ui| {
                self.state.calls[ui.call].risk == crate::event::Risk::Destructive
            });
            let why = if destructive {
                "a destructive call is asked every time"
            } else {
                "it is not one command of known risk"
            };
            let once = self
                .keymap
                .hint(Context::Approval, Action::ApproveOnce)
                .unwrap_or_default();
            self.flash = Some(format!(
                "no approval for the session here: {why}; {once} approves it once"
            ));
            return;
        }
        let Some(ui) = self.decision.as_mut() else {
            return;
        };
        let call = &self.state.calls[ui.call];
        let id = call.id.clone();
        ui.focus = button;
        match button {
            Button::ApproveOnce => self.send(Command::Approve {
                id,
                approval: Approval::Once,
            }),
            Button::ApproveSession => self.send(Command::Approve {
                id,
                approval: Approval::ForSession,
            }),
            Button::EditThenApprove => {
                ui.input = Some(DecisionInput::EditCommand(text_area(
                    &call.command,
                    "the command to run instead",
                )))
            }
            Button::Deny => {
                ui.input = Some(DecisionInput::DenyReason(text_area(
                    "",
                    "why? the agent reads this (enter to deny)",
                )))
            }
        }
    }

    fn quit(&mut self) {
        self.send(Command::Quit);
        self.quit = true;
    }

    /// What quitting now would leave undone, if anything: a call waiting for a decision
    /// or a credential, a running call, or an investigation still going.
    /// An attached terminal interrupts nothing: quitting only detaches it.
    pub fn quit_would_interrupt(&self) -> Option<String> {
        if self.is_replay() || self.attached || self.state.ended.is_some() {
            return None;
        }
        if let Some(pending) = self.state.pending.first() {
            let call = &self.state.calls[pending.call()];
            return Some(format!(
                "{} waits for your decision; it stays undecided",
                call.id
            ));
        }
        if let Some(call) = self
            .state
            .calls
            .iter()
            .find(|c| c.status == CallStatus::Running)
        {
            return Some(format!("{} is running; it will be cancelled", call.id));
        }
        if self.state.conclusion.is_none() {
            return Some("the agent has not concluded yet".into());
        }
        None
    }

    /// Quit, or ask first when quitting would interrupt something.
    fn request_quit(&mut self) {
        if self.quit_would_interrupt().is_some() {
            self.overlays.push(Overlay::ConfirmQuit);
        } else {
            self.quit();
        }
    }

    pub fn on_action(&mut self, action: Action) {
        let page = self.transcript_height.saturating_sub(2).max(1);
        match action {
            Action::Quit => self.request_quit(),
            Action::Help => self.overlays.push(Overlay::Help { scroll: 0 }),
            Action::PauseResume if !self.agent_running() => {
                self.flash = Some("the investigation is over: there is nothing to pause".into())
            }
            Action::PauseResume => self.send(if self.state.paused {
                Command::Resume
            } else {
                Command::Pause
            }),
            Action::CancelCall
                if self
                    .state
                    .calls
                    .iter()
                    .any(|c| c.status == CallStatus::Running) =>
            {
                self.send(Command::CancelRunning)
            }
            Action::CancelCall => self.flash = Some("nothing is running to cancel".into()),
            Action::EditHypotheses => self.open_editor(),
            Action::Steer => self.overlays.push(Overlay::Steer(text_area(
                "",
                "tell the agent something; enter to send, esc to cancel",
            ))),
            Action::FocusNextPane => {
                self.focus = match self.focus {
                    Pane::Transcript => Pane::Board,
                    Pane::Board => Pane::Transcript,
                }
            }
            Action::ScrollUp => self.scroll = self.scroll.saturating_add(1),
            Action::ScrollDown => self.scroll = self.scroll.saturating_sub(1),
            Action::PageUp => self.scroll = self.scroll.saturating_add(page),
            Action::PageDown => self.scroll = self.scroll.saturating_sub(page),
            Action::ScrollTop => self.scroll = usize::MAX,
            Action::ScrollBottom => self.scroll = 0,
            Action::SelectPreviousCall | Action::SelectNextCall => {
                let count = self.state.calls.len();
                if count > 0 {
                    let current = self.selected_call.filter(|&i| i < count).unwrap_or(count);
                    self.selected_call = Some(if action == Action::SelectPreviousCall {
                        current.saturating_sub(1)
                    } else {
                        (current + 1).min(count - 1)
                    });
                    self.scroll_to_selected();
                }
            }
            Action::ToggleOutput => {
                if let Some(call) = self.valid_selected_call() {
                    self.selected_call = Some(call);
                    if !self.expanded.remove(&call) {
                        self.expanded.insert(call);
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
                self.open_editor();
                if let Some(Overlay::Editor(editor)) = self.overlays.last_mut() {
                    editor.selected = selected;
                }
            }
            Action::ApproveOnce => self.decide(Button::ApproveOnce),
            Action::ApproveSession => self.decide(Button::ApproveSession),
            Action::EditThenApprove => self.decide(Button::EditThenApprove),
            Action::Deny => self.decide(Button::Deny),
            Action::FocusLeft | Action::FocusRight => {
                if let Some(ui) = self.decision.as_mut() {
                    let i = Button::ALL.iter().position(|b| *b == ui.focus).unwrap_or(0);
                    let i = if action == Action::FocusLeft {
                        i.saturating_sub(1)
                    } else {
                        (i + 1).min(Button::ALL.len() - 1)
                    };
                    ui.focus = Button::ALL[i];
                }
            }
            Action::Activate => {
                if let Some(focus) = self.decision.as_ref().map(|d| d.focus) {
                    self.decide(focus);
                }
            }
            Action::PlayPause
            | Action::Step
            | Action::SpeedUp
            | Action::SlowDown
            | Action::NextDecision
            | Action::JumpStart
            | Action::JumpEnd => self.replay_action(action),
            // Editor and pager actions are handled by their overlays.
            _ => {}
        }
    }

    fn replay_action(&mut self, action: Action) {
        let Mode::Replay(replay) = &mut self.mode else {
            return;
        };
        let mut state = std::mem::take(&mut self.state);
        match action {
            Action::PlayPause => replay.toggle_play(),
            Action::Step => replay.step(&mut state),
            Action::SpeedUp => replay.faster(),
            Action::SlowDown => replay.slower(),
            Action::NextDecision => replay.next_decision(&mut state),
            Action::JumpStart => {
                replay.restart(&mut state);
                self.scroll = 0;
            }
            Action::JumpEnd => replay.to_end(&mut state),
            _ => {}
        }
        self.state = state;
        self.forget_vanished_selection();
        self.sync_decision();
    }

    /// A replay that jumps back has fewer calls and hypotheses than a moment ago: a
    /// selection that points past them is dropped, never indexed.
    fn forget_vanished_selection(&mut self) {
        if self
            .selected_call
            .is_some_and(|i| i >= self.state.calls.len())
        {
            self.selected_call = None;
        }
        let calls = self.state.calls.len();
        self.expanded.retain(|&i| i < calls);
        if let Some(id) = &self.board_selected
            && !self.state.hypotheses.iter().any(|h| &h.id == id)
        {
            self.board_selected = None;
        }
    }

    fn scroll_to_selected(&mut self) {
        if let Some(call) = self.selected_call.filter(|&i| i < self.state.calls.len()) {
            let entry = self.state.calls[call].entry;
            let mut cache = std::mem::take(&mut self.cache);
            self.scroll = cache.lines_below(self, entry);
            self.cache = cache;
        }
    }

    fn open_editor(&mut self) {
        let paused_agent =
            !self.is_replay() && !self.state.paused && self.state.conclusion.is_none();
        if paused_agent {
            self.send(Command::Pause);
        }
        self.overlays.push(Overlay::Editor(EditorState {
            selected: None,
            editing: None,
            paused_agent,
        }));
    }

    /// The selected call, or the last one; never an index past the calls there are.
    fn valid_selected_call(&self) -> Option<usize> {
        self.selected_call
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
        self.overlays.push(Overlay::Pager(Pager {
            title: format!("{} · {}", call.id, call.command),
            lines,
            language: output.language.clone(),
            scroll: 0,
            query: String::new(),
            searching: None,
            matches: Vec::new(),
            current: 0,
            height: self.transcript_height.max(1),
        }));
    }

    fn on_overlay_key(&mut self, key: KeyEvent) {
        let context = self.context();
        let action = self.keymap.action(context, &key);
        // The editor lists the board's order, so a row means the same hypothesis in both.
        let state = &self.state;
        let ranked = state.ranked_hypotheses();
        let mut commands = Vec::new();
        let mut close = false;
        match self.overlays.last_mut().expect("an overlay is open") {
            Overlay::ConfirmQuit => match key.code {
                KeyCode::Char('y' | 'q') | KeyCode::Enter => {
                    self.overlays.pop();
                    self.quit();
                    return;
                }
                _ => close = true,
            },
            // The screen clamps the scroll to what there is to show.
            Overlay::Help { scroll } => match key.code {
                KeyCode::Down | KeyCode::Char('j') => *scroll = scroll.saturating_add(1),
                KeyCode::Up | KeyCode::Char('k') => *scroll = scroll.saturating_sub(1),
                KeyCode::PageDown | KeyCode::Char(' ') => {
                    *scroll = scroll.saturating_add(self.transcript_height.max(2) - 1)
                }
                KeyCode::PageUp => {
                    *scroll = scroll.saturating_sub(self.transcript_height.max(2) - 1)
                }
                KeyCode::Home | KeyCode::Char('g') => *scroll = 0,
                KeyCode::End | KeyCode::Char('G') => *scroll = usize::MAX,
                _ => {
                    close = matches!(
                        key.code,
                        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('?') | KeyCode::Enter
                    )
                }
            },
            Overlay::Steer(area) => match key.code {
                KeyCode::Esc => close = true,
                KeyCode::Enter => {
                    let text = area_text(area);
                    if !text.is_empty() {
                        commands.push(Command::Steer(text));
                    }
                    close = true;
                }
                _ => {
                    area.input(key);
                }
            },
            Overlay::Pager(pager) => {
                if let Some(area) = &mut pager.searching {
                    match key.code {
                        KeyCode::Esc => pager.searching = None,
                        KeyCode::Enter => {
                            pager.query = area_text(area);
                            pager.searching = None;
                            pager.run_search();
                        }
                        _ => {
                            area.input(key);
                        }
                    }
                    return;
                }
                let last = pager.max_scroll();
                let page = pager.height.max(2) - 1;
                match action {
                    Some(Action::ScrollUp) => pager.scroll = pager.scroll.saturating_sub(1),
                    Some(Action::ScrollDown) => pager.scroll = (pager.scroll + 1).min(last),
                    Some(Action::PageUp) => pager.scroll = pager.scroll.saturating_sub(page),
                    Some(Action::PageDown) => pager.scroll = (pager.scroll + page).min(last),
                    Some(Action::ScrollTop) => pager.scroll = 0,
                    Some(Action::ScrollBottom) => pager.scroll = last,
                    Some(Action::Search) => {
                        pager.searching = Some(text_area("", "search; enter to find"))
                    }
                    Some(Action::NextMatch | Action::PreviousMatch)
                        if !pager.matches.is_empty() =>
                    {
                        let n = pager.matches.len();
                        pager.current = if action == Some(Action::NextMatch) {
                            (pager.current + 1) % n
                        } else {
                            (pager.current + n - 1) % n
                        };
                        pager.scroll = pager.matches[pager.current];
                    }
                    Some(Action::Close) => close = true,
                    _ => {}
                }
            }
            Overlay::Editor(editor) => {
                if let Some((id, area)) = &mut editor.editing {
                    match key.code {
                        KeyCode::Esc => editor.editing = None,
                        KeyCode::Enter => {
                            let statement = area_text(area);
                            if !statement.is_empty() {
                                commands.push(Command::EditHypothesis(HypothesisEdit {
                                    id: id.clone(),
                                    statement: Some(statement),
                                    ..HypothesisEdit::default()
                                }));
                            }
                            editor.editing = None;
                        }
                        _ => {
                            area.input(key);
                        }
                    }
                } else {
                    let rank = state.rank_of(editor.selected.as_deref());
                    let selected = ranked.get(rank).map(|&i| &state.hypotheses[i]);
                    // Whatever the key does, the cursor stays on this hypothesis when the
                    // edit re-sorts the list.
                    editor.selected = selected.map(|h| h.id.clone());
                    let edit = |status: Option<HypothesisStatus>, pinned: Option<bool>| {
                        selected.map(|h| {
                            Command::EditHypothesis(HypothesisEdit {
                                id: Some(h.id.clone()),
                                status,
                                pinned,
                                statement: None,
                            })
                        })
                    };
                    match action {
                        Some(Action::SelectUp) => {
                            editor.selected = state.id_at_rank(rank.saturating_sub(1))
                        }
                        Some(Action::SelectDown) => editor.selected = state.id_at_rank(rank + 1),
                        Some(Action::EditStatement) => {
                            if let Some(h) = selected {
                                editor.editing = Some((
                                    Some(h.id.clone()),
                                    text_area(&h.statement, "the hypothesis"),
                                ));
                            }
                        }
                        Some(Action::AddHypothesis) => {
                            editor.editing = Some((
                                None,
                                text_area("", "a new hypothesis, e.g. \"cart redis is the cause\""),
                            ))
                        }
                        Some(Action::Reject) => {
                            commands.extend(edit(Some(HypothesisStatus::Refuted), None))
                        }
                        Some(Action::Confirm) => {
                            commands.extend(edit(Some(HypothesisStatus::Confirmed), None))
                        }
                        Some(Action::Reopen) => {
                            commands.extend(edit(Some(HypothesisStatus::Open), None))
                        }
                        Some(Action::TogglePin) => {
                            commands.extend(edit(None, selected.map(|h| !h.pinned)))
                        }
                        Some(Action::Close) => close = true,
                        _ => {}
                    }
                }
            }
        }
        for command in commands {
            self.send(command);
        }
        if close
            && let Some(Overlay::Editor(editor)) = self.overlays.pop()
            && editor.paused_agent
        {
            self.send(Command::Resume);
        }
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
    pub fn animating(&self) -> bool {
        match &self.mode {
            Mode::Replay(replay) => replay.playing(),
            Mode::Live(_) => {
                self.state.ended.is_none() && self.state.conclusion.is_none()
                    || self.state.running_calls() > 0
            }
        }
    }

    pub fn running_spinner(&self) -> bool {
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

    fn demo_events() -> Vec<Event> {
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
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
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
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
