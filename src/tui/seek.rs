//! Seek, in a replay: type a tool call's id (`c12`) and the replay moves, forward or
//! back, to where that call finished, with the call selected.

use super::keymap::{Action, Context};
use super::layer::{Ctx, Effect, Hint, Layer, Outcome};
use super::widgets::{area_text, centered, open_overlay, text_area};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;

pub(crate) struct Seek {
    field: TextArea<'static>,
}

impl Seek {
    pub(crate) fn new() -> Seek {
        Seek {
            field: text_area("", "a tool call's id, e.g. c5"),
        }
    }
}

impl Default for Seek {
    fn default() -> Seek {
        Seek::new()
    }
}

impl Layer for Seek {
    fn name(&self) -> &'static str {
        "seek"
    }

    fn context(&self) -> Context {
        Context::TextField
    }

    fn hints(&self, cx: &Ctx) -> Vec<Hint> {
        cx.field_hints("go to that call")
    }

    fn on_key(&mut self, key: &KeyEvent, cx: &Ctx) -> Outcome {
        match cx.action(Context::TextField, key) {
            Some(Action::Cancel) => Outcome::close(),
            Some(Action::Submit) => {
                let id = area_text(&self.field);
                let mut effects = vec![Effect::Close];
                if !id.is_empty() {
                    effects.push(Effect::SeekCall(id));
                }
                Outcome::Used(effects)
            }
            _ => {
                self.field.input(*key);
                Outcome::used()
            }
        }
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, cx: &Ctx) {
        let rect = centered(area, 48, 3);
        let title = format!(
            " Go to call ({} goes · {} cancels) ",
            cx.keys(Context::TextField, Action::Submit),
            cx.keys(Context::TextField, Action::Cancel)
        );
        let inner = open_overlay(frame, rect, title, cx.theme.style("border.focus"));
        frame.render_widget(&self.field, inner);
    }
}
