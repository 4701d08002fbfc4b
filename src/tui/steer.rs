//! Steering: a line for the agent, sent on submit. After the conclusion the same field
//! asks a follow-up question instead ([`Steer::question`], sent as [`Command::Ask`]).

use super::keymap::{Action, Context};
use super::layer::{Ctx, Effect, Hint, Layer, Outcome};
use super::widgets::{area_text, centered, open_overlay, text_area};
use crate::protocol::Command;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;

pub(crate) struct Steer {
    field: TextArea<'static>,
    /// A follow-up question about the record, not steering.
    asking: bool,
}

impl Steer {
    pub(crate) fn new() -> Steer {
        Steer {
            field: text_area("", "tell the agent something; enter to send, esc to cancel"),
            asking: false,
        }
    }

    /// The field after the conclusion: a follow-up question, answered from the record.
    pub(crate) fn question() -> Steer {
        Steer {
            field: text_area(
                "",
                "ask about the investigation; the answer cites the calls it rests on",
            ),
            asking: true,
        }
    }
}

impl Default for Steer {
    fn default() -> Steer {
        Steer::new()
    }
}

impl Layer for Steer {
    fn name(&self) -> &'static str {
        "steer"
    }

    fn context(&self) -> Context {
        Context::TextField
    }

    fn hints(&self, cx: &Ctx) -> Vec<Hint> {
        cx.field_hints(if self.asking {
            "ask"
        } else {
            "send to the agent"
        })
    }

    fn on_key(&mut self, key: &KeyEvent, cx: &Ctx) -> Outcome {
        match cx.action(Context::TextField, key) {
            Some(Action::Cancel) => Outcome::close(),
            Some(Action::Submit) => {
                let text = area_text(&self.field);
                let mut effects = Vec::new();
                if !text.is_empty() {
                    effects.push(Effect::Send(if self.asking {
                        Command::Ask(text)
                    } else {
                        Command::Steer(text)
                    }));
                }
                effects.push(Effect::Close);
                Outcome::Used(effects)
            }
            _ => {
                self.field.input(*key);
                Outcome::used()
            }
        }
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, cx: &Ctx) {
        let rect = centered(area, 76, 7);
        let title = format!(
            " {} ({} sends · {} cancels) ",
            if self.asking {
                "Ask a follow-up question"
            } else {
                "Tell the agent"
            },
            cx.keys(Context::TextField, Action::Submit),
            cx.keys(Context::TextField, Action::Cancel)
        );
        let inner = open_overlay(frame, rect, title, cx.theme.style("border.focus"));
        frame.render_widget(&self.field, inner);
    }
}
