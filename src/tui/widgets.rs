//! Small drawing pieces every screen shares: wrapping and cutting text to a width,
//! centring a box, an overlay's border and title, a labelled field, a text field, and the
//! one-line key hints. Nothing here knows the App or a layer.

use super::layer::Hint;
use super::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear};
use ratatui_textarea::TextArea;
use unicode_width::UnicodeWidthStr;

/// `text` wrapped at `width` columns (at least 8), one string per screen line.
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            out.push(String::new());
            continue;
        }
        out.extend(
            textwrap::wrap(line, width)
                .into_iter()
                .map(|c| c.into_owned()),
        );
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

/// `text` wrapped to `width` with `first` before its first line and `rest` before the others.
pub(crate) fn prefixed(
    text: &str,
    width: usize,
    first: &str,
    rest: &str,
    style: Style,
) -> Vec<Line<'static>> {
    let inner = width.saturating_sub(first.width().max(rest.width()));
    wrap(text, inner)
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            Line::from(vec![
                Span::styled(if i == 0 { first } else { rest }.to_string(), style),
                Span::styled(l, style),
            ])
        })
        .collect()
}

/// `text` cut to `width` display columns, an ellipsis marking the cut.
pub(crate) fn truncate(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if out.width() + unicode_width::UnicodeWidthChar::width(c).unwrap_or(0) + 1 > width {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// A box of at most `width` x `height` in the middle of `area`.
pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width
        .min(area.width.saturating_sub(2))
        .max(10.min(area.width));
    let height = height
        .min(area.height.saturating_sub(2))
        .max(3.min(area.height));
    Rect {
        x: area.x + (area.width.saturating_sub(width)) / 2,
        y: area.y + (area.height.saturating_sub(height)) / 2,
        width,
        height,
    }
}

pub(crate) fn overlay_block(title: String, style: Style) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(style)
        .title(Span::styled(title, style.add_modifier(Modifier::BOLD)))
}

/// Clear `rect`, draw an overlay's border and title there, and return the inside.
pub(crate) fn open_overlay(frame: &mut Frame, rect: Rect, title: String, style: Style) -> Rect {
    frame.render_widget(Clear, rect);
    let block = overlay_block(title, style);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    inner
}

/// `text` wrapped beside a 10-column label ("Target    …").
pub(crate) fn labelled(
    label: &str,
    text: &str,
    width: usize,
    style: Style,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let pad = format!("{label:<10}");
    let inner = width.saturating_sub(pad.width());
    wrap(text, inner)
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let head = if i == 0 {
                Span::styled(pad.clone(), theme.style("muted"))
            } else {
                Span::raw(" ".repeat(pad.width()))
            };
            Line::from(vec![head, Span::styled(l, style)])
        })
        .collect()
}

/// A text field with a focused border and an optional title.
pub(crate) fn draw_field(
    frame: &mut Frame,
    field: &TextArea<'static>,
    title: &str,
    area: Rect,
    theme: &Theme,
) {
    let mut boxed = field.clone();
    boxed.set_block(
        Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style("border.focus"))
            .title(title.to_string()),
    );
    frame.render_widget(&boxed, area);
}

/// A text field holding `initial`, the cursor at its end.
pub(crate) fn text_area(initial: &str, placeholder: &str) -> TextArea<'static> {
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

/// What was typed into a field, trimmed.
pub(crate) fn area_text(area: &TextArea<'_>) -> String {
    area.lines().join("\n").trim().to_string()
}

/// The hint bar: ` key does ` pairs, as many whole ones as fit in `width` columns (none is
/// cut mid-word); when some must go, `? help` stays, so the rest can be found.
pub(crate) fn hint_line(hints: &[Hint], theme: &Theme, width: u16) -> Line<'static> {
    let mut spans = Vec::new();
    for hint in fitting_hints(hints, usize::from(width)) {
        spans.push(Span::styled(
            format!(" {}", hint.key),
            theme.style("status.key"),
        ));
        spans.push(Span::styled(
            format!(" {} ", hint.does),
            theme.style("muted"),
        ));
    }
    Line::from(spans)
}

/// The hints that fit in `width` columns, in their order: every one when they all fit,
/// else `help`, then each other one that still fits, first come first kept.
fn fitting_hints(hints: &[Hint], width: usize) -> Vec<&Hint> {
    let cost = |h: &Hint| h.key.width() + h.does.width() + 3;
    let help = |h: &Hint| h.does == super::keymap::Action::Help.name();
    // The last hint's trailing space may fall off the edge.
    let mut room = (width + 1).saturating_sub(hints.iter().filter(|h| help(h)).map(cost).sum());
    hints
        .iter()
        .filter(|hint| {
            if help(hint) {
                return true;
            }
            let fits = cost(hint) <= room;
            if fits {
                room -= cost(hint);
            }
            fits
        })
        .collect()
}

/// The theme role for a call's risk.
pub(crate) fn risk_role(risk: crate::event::Risk) -> &'static str {
    use crate::event::Risk;
    match risk {
        Risk::ReadOnly => "approval.risk.low",
        Risk::NeedsCredentials | Risk::ReadsSecrets => "approval.risk.medium",
        Risk::Mutating | Risk::Destructive | Risk::Unknown => "approval.risk.high",
    }
}

/// A bordered pane with a title; the area inside it.
pub(crate) fn pane(
    frame: &mut Frame,
    area: Rect,
    title: String,
    border: Style,
    theme: &Theme,
) -> Rect {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Span::styled(title, theme.style("title")));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}
