//! The help overlay: every key of the resolved keymap, the keys of the screen it was
//! opened over first. It scrolls with the keys of its own `[help]` context and says, in
//! its border, what is hidden and which keys scroll; it never scrolls past its last line.

use super::keymap::{Action, Context};
use super::layer::{Ctx, Hint, Layer, Outcome};
use super::widgets::{centered, overlay_block, prefixed, wrap};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

pub(crate) struct Help {
    /// The contexts whose keys worked where help was opened: listed first.
    first: Vec<Context>,
    scroll: usize,
    /// The furthest scroll the last frame had room for, and its rows of text.
    max_scroll: usize,
    height: usize,
}

impl Help {
    pub(crate) fn new(first: Vec<Context>) -> Help {
        Help {
            first,
            scroll: 0,
            max_scroll: usize::MAX,
            height: 0,
        }
    }
}

/// The help laid out for the screen: one column, or two side by side when the screen is
/// wide enough, each line already wrapped so the scroll range is exact.
struct HelpLayout {
    rect: Rect,
    columns: Vec<Vec<Line<'static>>>,
    /// Rows of text that fit inside the border.
    height: usize,
}

impl HelpLayout {
    fn rows(&self) -> usize {
        self.columns.iter().map(Vec::len).max().unwrap_or(0)
    }

    fn max_scroll(&self) -> usize {
        self.rows().saturating_sub(self.height)
    }
}

fn section(cx: &Ctx, context: Context, width: usize) -> Option<Vec<Line<'static>>> {
    let theme = cx.theme;
    let entries = cx.keymap.listing().get(&context)?;
    if entries.iter().all(|(_, keys)| keys.is_empty()) {
        return None;
    }
    let mut lines = vec![Line::styled(
        format!("[{}]", context.name()),
        theme.style("title"),
    )];
    for (action, keys) in entries.iter().filter(|(_, keys)| !keys.is_empty()) {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        let keys = format!("  {:<16}", keys.join(" "));
        let name = format!("{:<22}", action.name());
        if width >= 64 {
            let indent = keys.chars().count() + name.chars().count();
            let mut help = wrap(action.help(), width.saturating_sub(indent)).into_iter();
            lines.push(Line::from(vec![
                Span::styled(keys, theme.style("status.key")),
                Span::styled(name, theme.style("text")),
                Span::styled(help.next().unwrap_or_default(), theme.style("muted")),
            ]));
            lines.extend(help.map(|rest| {
                Line::styled(
                    format!("{}{rest}", " ".repeat(indent)),
                    theme.style("muted"),
                )
            }));
        } else {
            lines.push(Line::from(vec![
                Span::styled(keys, theme.style("status.key")),
                Span::styled(name, theme.style("text")),
            ]));
            lines.extend(prefixed(
                action.help(),
                width,
                "    ",
                "    ",
                theme.style("muted"),
            ));
        }
    }
    Some(lines)
}

/// Sections one under another, a blank line between two.
fn join(sections: Vec<Vec<Line<'static>>>) -> Vec<Line<'static>> {
    let mut column = Vec::new();
    for section in sections {
        if !column.is_empty() {
            column.push(Line::default());
        }
        column.extend(section);
    }
    column
}

/// Two columns, sections kept whole and in order, split where the longer column is
/// shortest.
fn balanced(mut sections: Vec<Vec<Line<'static>>>) -> Vec<Vec<Line<'static>>> {
    let height = |s: &[Vec<Line>]| s.iter().map(|l| l.len() + 1).sum::<usize>();
    let split = (0..=sections.len())
        .min_by_key(|&k| height(&sections[..k]).max(height(&sections[k..])))
        .unwrap_or(0);
    let right = sections.split_off(split);
    vec![join(sections), join(right)]
}

impl Help {
    fn layout(&self, cx: &Ctx, area: Rect) -> HelpLayout {
        let two = area.width >= 168;
        let rect = centered(
            area,
            if two {
                area.width.saturating_sub(4)
            } else {
                120
            },
            area.height.saturating_sub(2),
        );
        let inner = Block::default().borders(Borders::ALL).inner(rect);
        let count = if two { 2 } else { 1 };
        let width = (inner.width / count).saturating_sub(1) as usize;
        let order = self.first.iter().copied().chain(
            Context::ALL
                .iter()
                .copied()
                .filter(|c| !self.first.contains(c)),
        );
        let sections: Vec<Vec<Line<'static>>> =
            order.filter_map(|c| section(cx, c, width)).collect();
        let columns = if count == 2 {
            balanced(sections)
        } else {
            vec![join(sections)]
        };
        HelpLayout {
            rect,
            columns,
            height: inner.height as usize,
        }
    }

    /// The border's note of what is hidden, with the keys that scroll (from the keymap).
    fn more(&self, cx: &Ctx, rows: usize) -> Option<String> {
        let key = |a| cx.keymap.hint(Context::Help, a).unwrap_or_default();
        let scroll = format!(
            "{}/{} or {}/{} scroll",
            key(Action::ScrollDown),
            key(Action::ScrollUp),
            key(Action::PageDown),
            key(Action::PageUp)
        );
        match (self.scroll, rows.saturating_sub(self.scroll + self.height)) {
            (0, 0) => None,
            (0, below) => Some(format!(" ↓ {below} more · {scroll} ")),
            (above, 0) => Some(format!(
                " ↑ {above} above · {} or {} scrolls back ",
                key(Action::ScrollUp),
                key(Action::PageUp)
            )),
            (above, below) => Some(format!(" ↑ {above} above · ↓ {below} more · {scroll} ")),
        }
    }
}

impl Layer for Help {
    fn name(&self) -> &'static str {
        "help"
    }

    fn context(&self) -> Context {
        Context::Help
    }

    fn hints(&self, cx: &Ctx) -> Vec<Hint> {
        let key = |a| cx.keymap.hint(Context::Help, a).unwrap_or_default();
        let scroll = format!("{}/{}", key(Action::ScrollDown), key(Action::ScrollUp));
        let page = format!("{}/{}", key(Action::PageDown), key(Action::PageUp));
        let close = Hint::new(cx.keys(Context::Help, Action::Close), "close");
        // Everything fits (the last frame had nothing to scroll): only closing is left.
        if self.max_scroll == 0 {
            return vec![close];
        }
        vec![Hint::new(scroll, "scroll"), Hint::new(page, "page"), close]
    }

    fn on_key(&mut self, key: &KeyEvent, cx: &Ctx) -> Outcome {
        let page = if self.height > 0 {
            self.height
        } else {
            cx.page
        }
        .max(2)
            - 1;
        let last = self.max_scroll;
        let scroll = &mut self.scroll;
        match cx.action(Context::Help, key) {
            Some(Action::ScrollDown) => *scroll = scroll.saturating_add(1).min(last),
            Some(Action::ScrollUp) => *scroll = scroll.saturating_sub(1),
            Some(Action::PageDown) => *scroll = scroll.saturating_add(page).min(last),
            Some(Action::PageUp) => *scroll = scroll.saturating_sub(page),
            Some(Action::ScrollTop) => *scroll = 0,
            Some(Action::ScrollBottom) => *scroll = last,
            Some(Action::Close) => return Outcome::close(),
            _ => {}
        }
        Outcome::used()
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, cx: &Ctx) {
        let theme = cx.theme;
        let help = self.layout(cx, area);
        self.max_scroll = help.max_scroll();
        self.height = help.height;
        self.scroll = self.scroll.min(self.max_scroll);
        let scroll = self.scroll;
        frame.render_widget(Clear, help.rect);
        let close = cx.keys(Context::Help, Action::Close);
        let close = close.split('/').next().unwrap_or_default();
        let title = format!(" Keys · keymap {} · {close} closes ", cx.keymap.name);
        let mut block = overlay_block(title, theme.style("border.focus"));
        if let Some(more) = self.more(cx, help.rows()) {
            block = block.title_bottom(Span::styled(more, theme.style("title")));
        }
        let inner = block.inner(help.rect);
        frame.render_widget(block, help.rect);
        let columns = help.columns.len() as u32;
        let areas =
            Layout::horizontal((0..columns).map(|_| Constraint::Ratio(1, columns))).split(inner);
        for (column, rect) in help.columns.into_iter().zip(areas.iter()) {
            let lines: Vec<Line> = column.into_iter().skip(scroll).take(help.height).collect();
            frame.render_widget(Paragraph::new(lines), *rect);
        }
    }
}
