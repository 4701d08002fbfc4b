//! What the approval and the credential prompt draw alike: a body that scrolls with an
//! indicator of what is hidden, a footer that is always on screen, a field under it, and
//! the one line left while the decision is set aside.

use super::keymap::{Action, Context};
use super::layer::{Ctx, Outcome};
use super::widgets::{centered, draw_field, open_overlay, truncate};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};
use ratatui_textarea::TextArea;

/// What a decision overlay shows.
pub(crate) struct DecisionBox<'a> {
    pub title: String,
    pub style: Style,
    /// Everything about the call; scrolls.
    pub body: Vec<Line<'static>>,
    /// Always on screen: the buttons, the prompt.
    pub footer: Vec<Line<'static>>,
    /// A text field under the footer.
    pub input: Option<&'a TextArea<'static>>,
}

/// The overlay's width for a screen area.
pub(crate) fn width(area: Rect) -> u16 {
    area.width.saturating_sub(4).min(84)
}

/// Draw a decision: the body scrolled by `scroll` (clamped to what there is), its last
/// row saying what is hidden when it overflows, the footer and the field below it.
pub(crate) fn draw_box(
    frame: &mut Frame,
    area: Rect,
    cx: &Ctx,
    decision: DecisionBox,
    scroll: usize,
) {
    let theme = cx.theme;
    let DecisionBox {
        title,
        style,
        body,
        footer,
        input,
    } = decision;
    let input_rows: u16 = if input.is_some() { 3 } else { 0 };
    let footer_rows = footer.len() as u16 + input_rows;
    let wanted = body.len() as u16 + footer_rows + 2;
    let rect = centered(area, width(area), wanted);
    let inner = open_overlay(frame, rect, title, style);
    let body_rows = inner.height.saturating_sub(footer_rows) as usize;
    // When the body overflows, its last row says what is hidden.
    let overflow = body.len() > body_rows;
    let content_rows = if overflow {
        body_rows.saturating_sub(1)
    } else {
        body_rows
    };
    let scroll = scroll.min(body.len().saturating_sub(content_rows));
    let hidden_below = body.len().saturating_sub(scroll + content_rows);
    let mut shown: Vec<Line> = body.into_iter().skip(scroll).take(content_rows).collect();
    if overflow && body_rows > 0 {
        let key = |action| {
            cx.keymap
                .hint(Context::Approval, action)
                .unwrap_or_default()
        };
        let note = match (scroll, hidden_below) {
            (_, 0) => format!(
                "↑ {} above ({})",
                crate::text::plural(scroll, "more line"),
                key(Action::PageUp)
            ),
            (0, below) => format!(
                "↓ {} ({})",
                crate::text::plural(below, "more line"),
                key(Action::PageDown)
            ),
            (above, below) => format!(
                "↑ {above} above · ↓ {below} below ({}/{})",
                key(Action::PageUp),
                key(Action::PageDown)
            ),
        };
        shown.push(Line::styled(note, theme.style("tool.pending")));
    }
    frame.render_widget(Paragraph::new(shown), inner);
    let footer_area = Rect {
        y: inner.y + inner.height.saturating_sub(footer_rows),
        height: footer_rows.min(inner.height),
        ..inner
    };
    frame.render_widget(Paragraph::new(footer), footer_area);
    if let Some(field) = input {
        let field_area = Rect {
            y: inner.y + inner.height.saturating_sub(input_rows),
            height: input_rows.min(inner.height),
            ..inner
        };
        draw_field(frame, field, "", field_area, theme);
    }
}

/// What a decision set aside waits for, as its one line says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Awaited {
    /// A decision this terminal can make.
    Decision,
    /// A credential, which only the terminal that asked for it takes.
    CredentialElsewhere,
}

/// While the engineer reviews the transcript, the pending decision is one line that
/// says how to come back to it.
pub(crate) fn draw_set_aside(
    frame: &mut Frame,
    area: Rect,
    cx: &Ctx,
    call: usize,
    awaited: Awaited,
) {
    let call = &cx.state.calls[call];
    let key = cx
        .keymap
        .hint(Context::Approval, Action::Review)
        .unwrap_or_default();
    let what = match awaited {
        Awaited::Decision => "waits for your decision",
        Awaited::CredentialElsewhere => "waits for its credential on the terminal that asked",
    };
    let text = format!(" ⚠ {} {} {what} · {key}: back to it ", call.id, call.tool);
    let rect = Rect {
        y: area.y + area.height.saturating_sub(1),
        height: 1.min(area.height),
        ..area
    };
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(truncate(&text, rect.width as usize)).style(cx.theme.style("tool.pending")),
        rect,
    );
}

/// The keys every decision box reads first: while it is set aside (`hidden`) only the
/// review key brings it back and every other key passes to the screen below; otherwise
/// the page keys scroll its body. `None` when the key is for the box itself.
pub(crate) fn set_aside_or_scrolled(
    hidden: &mut bool,
    scroll: &mut usize,
    action: Option<Action>,
    page: usize,
) -> Option<Outcome> {
    if *hidden {
        if action == Some(Action::Review) {
            *hidden = false;
            return Some(Outcome::used());
        }
        return Some(Outcome::Pass);
    }
    let scrolled = scrolled(*scroll, action, page)?;
    *scroll = scrolled;
    Some(Outcome::used())
}

/// The approval context's page keys scroll a decision's body by half a page.
pub(crate) fn scrolled(scroll: usize, action: Option<Action>, page: usize) -> Option<usize> {
    let half = page.max(4) / 2;
    match action {
        Some(Action::PageUp) => Some(scroll.saturating_sub(half)),
        Some(Action::PageDown) => Some(scroll.saturating_add(half)),
        _ => None,
    }
}
