//! "Quit while something is running or waiting?": the keys of `[quit-dialog]` quit or
//! stay; any other key stays too.

use super::keymap::{Action, Context};
use super::layer::{Ctx, Effect, Hint, Layer, Outcome};
use super::widgets::{centered, open_overlay, prefixed};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

pub(crate) struct ConfirmQuit;

impl Layer for ConfirmQuit {
    fn name(&self) -> &'static str {
        "confirm-quit"
    }

    fn context(&self) -> Context {
        Context::QuitDialog
    }

    fn hints(&self, cx: &Ctx) -> Vec<Hint> {
        vec![
            Hint::new(cx.keys(Context::QuitDialog, Action::QuitNow), "quit"),
            Hint::new("any other key", "stay"),
        ]
    }

    fn on_key(&mut self, key: &KeyEvent, cx: &Ctx) -> Outcome {
        match cx.action(Context::QuitDialog, key) {
            Some(Action::QuitNow) => Outcome::Used(vec![Effect::Close, Effect::Quit]),
            _ => Outcome::close(),
        }
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, cx: &Ctx) {
        let theme = cx.theme;
        let what = cx
            .quit_would_interrupt()
            .unwrap_or_else(|| "nothing is waiting".into());
        let width = area.width.saturating_sub(4).min(64);
        let text = format!("Quit now? {what}. The session is saved; `hunch replay` shows it.");
        let mut lines = prefixed(
            &text,
            width.saturating_sub(2) as usize,
            "",
            "",
            theme.style("text"),
        );
        lines.push(Line::default());
        lines.push(Line::styled(
            format!(
                "{}: quit · any other key: stay",
                cx.keys(Context::QuitDialog, Action::QuitNow)
            ),
            theme.style("title"),
        ));
        let rect = centered(area, width, lines.len() as u16 + 2);
        let inner = open_overlay(frame, rect, " Quit? ".into(), theme.style("tool.pending"));
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
