//! The overlay stack's contract: what a screen layer owns and what it tells the App.
//!
//! A layer (approval, credential, editor, help, pager, steer, confirm-quit, seek) owns its
//! state, reads its keys through the keymap context it names, draws itself, and answers a
//! key with an [`Outcome`]: effects the App carries out (send an engine command, close the
//! layer, say something in the hint bar, quit). A layer never reaches into the App; it
//! reads the investigation through [`Ctx`]. The hint bar is the top layer's
//! [`Layer::hints`], built from the same keymap its keys go through, so it always names
//! keys that work. A new screen is one new file implementing [`Layer`].

use super::keymap::{Action, Context, Keymap};
use super::theme::Theme;
use crate::event::{CallStatus, State};
use crate::protocol::Command;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

/// What a layer may read: the investigation, the keys, the colours, and how it is run.
pub struct Ctx<'a> {
    pub state: &'a State,
    pub keymap: &'a Keymap,
    pub theme: &'a Theme,
    /// A replay: nothing is sent anywhere.
    pub replay: bool,
    /// `hunch attach`: this terminal takes no credential and quitting only detaches.
    pub attached: bool,
    /// Rows of the transcript at the last draw: a page for layers that scroll.
    pub page: usize,
}

/// One entry of the hint bar: a key and what it does here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub key: String,
    pub does: String,
}

impl Hint {
    pub fn new(key: impl Into<String>, does: impl Into<String>) -> Hint {
        Hint {
            key: key.into(),
            does: does.into(),
        }
    }
}

impl Ctx<'_> {
    pub fn action(&self, context: Context, key: &KeyEvent) -> Option<Action> {
        self.keymap.action(context, key)
    }

    /// The hint for an action: its first key and its name; None when it is unbound.
    pub fn hint(&self, context: Context, action: Action) -> Option<Hint> {
        self.hint_as(context, action, action.name())
    }

    /// The hint for an action, saying what it does here in words of this screen.
    pub(crate) fn hint_as(&self, context: Context, action: Action, does: &str) -> Option<Hint> {
        self.keymap
            .hint(context, action)
            .map(|key| Hint::new(key, does))
    }

    /// The hints of a text field: what submitting it does here, and how to leave it.
    pub(crate) fn field_hints(&self, submit: &str) -> Vec<Hint> {
        [
            self.hint_as(Context::TextField, Action::Submit, submit),
            self.hint(Context::TextField, Action::Cancel),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Every key of an action, joined with `/` ("y/q/enter").
    pub fn keys(&self, context: Context, action: Action) -> String {
        let keys: Vec<String> = self
            .keymap
            .keys(context, action)
            .iter()
            .map(|k| k.to_string())
            .collect();
        keys.join("/")
    }

    /// What quitting now would leave undone, if anything: a call waiting for a decision
    /// or a credential, a running call, or an investigation still going. A replay and an
    /// attached terminal interrupt nothing (quitting only detaches).
    pub(crate) fn quit_would_interrupt(&self) -> Option<String> {
        let state = self.state;
        if self.replay || self.attached || state.ended.is_some() {
            return None;
        }
        if let Some(pending) = state.pending.first() {
            let call = &state.calls[pending.call()];
            return Some(format!(
                "{} waits for your decision; it stays undecided",
                call.id
            ));
        }
        if let Some(call) = state.calls.iter().find(|c| c.status == CallStatus::Running) {
            return Some(format!("{} is running; it will be cancelled", call.id));
        }
        if state.conclusion.is_none() {
            return Some("the agent has not concluded yet".into());
        }
        None
    }
}

/// Something the App does for a layer.
pub enum Effect {
    /// Send a command to the engine (nothing in a replay).
    Send(Command),
    /// Take this layer off the stack.
    Close,
    /// Say this in place of the hint bar until the next key.
    Flash(String),
    /// Quit now.
    Quit,
    /// Quit, asking first if that would interrupt something.
    AskQuit,
    /// Replay up to the call with this id and select it.
    SeekCall(String),
    /// Open the help over what is on top (for a layer whose other keys are its own).
    Help,
}

/// A layer's answer to a key.
#[must_use]
pub enum Outcome {
    /// Not this layer's key: the keys below it (global, the panes) may take it.
    Pass,
    /// Taken, with what the App should do about it.
    Used(Vec<Effect>),
}

impl Outcome {
    pub fn used() -> Outcome {
        Outcome::Used(Vec::new())
    }

    pub fn close() -> Outcome {
        Outcome::Used(vec![Effect::Close])
    }

    pub fn effect(effect: Effect) -> Outcome {
        Outcome::Used(vec![effect])
    }

    pub fn send(command: Command) -> Outcome {
        Outcome::effect(Effect::Send(command))
    }

    pub fn flash(text: impl Into<String>) -> Outcome {
        Outcome::effect(Effect::Flash(text.into()))
    }
}

/// One screen on the stack.
pub trait Layer {
    /// Its name, for tests and logs ("help", "pager", …).
    fn name(&self) -> &'static str;

    /// The keymap context its keys are read in (what help lists first).
    fn context(&self) -> Context;

    /// The hint bar while it is on top.
    fn hints(&self, cx: &Ctx) -> Vec<Hint>;

    /// Whether the global keys work while it is on top (keys it passes reach them).
    fn passes_to_global(&self) -> bool {
        false
    }

    fn on_key(&mut self, key: &KeyEvent, cx: &Ctx) -> Outcome;

    /// Draw over `area` (the screen above the status bar). `&mut` so a layer can keep
    /// what the frame's size says about its scrolling.
    fn draw(&mut self, frame: &mut Frame, area: Rect, cx: &Ctx);

    /// Commands to send when it leaves the stack (the editor resumes the agent it paused).
    fn on_close(&mut self) -> Vec<Command> {
        Vec::new()
    }
}
