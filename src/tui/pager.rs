//! The pager: one call's full output (and the raw data behind a digest) with line
//! numbers, highlighting and search. It never scrolls past its last line.

use super::highlight::highlight;
use super::keymap::{Action, Context};
use super::layer::{Ctx, Effect, Hint, Layer, Outcome};
use super::theme::Theme;
use super::widgets::{area_text, draw_field, overlay_block, text_area, truncate};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui_textarea::TextArea;

pub(crate) struct Pager {
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
    pub(crate) fn new(title: String, lines: Vec<String>, language: String, height: usize) -> Pager {
        Pager {
            title,
            lines,
            language,
            scroll: 0,
            query: String::new(),
            searching: None,
            matches: Vec::new(),
            current: 0,
            height: height.max(1),
        }
    }

    /// The scroll that shows the last line at the bottom edge.
    pub(crate) fn max_scroll(&self) -> usize {
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

    fn on_search_key(&mut self, key: &KeyEvent, cx: &Ctx) -> Outcome {
        let Some(area) = &mut self.searching else {
            return Outcome::Pass;
        };
        match cx.action(Context::TextField, key) {
            Some(Action::Cancel) => self.searching = None,
            Some(Action::Submit) => {
                self.query = area_text(area);
                self.searching = None;
                self.run_search();
            }
            _ => {
                area.input(*key);
            }
        }
        Outcome::used()
    }
}

impl Layer for Pager {
    fn name(&self) -> &'static str {
        "pager"
    }

    fn context(&self) -> Context {
        if self.searching.is_some() {
            Context::TextField
        } else {
            Context::Pager
        }
    }

    fn hints(&self, cx: &Ctx) -> Vec<Hint> {
        if self.searching.is_some() {
            return cx.field_hints("find");
        }
        [Action::Search, Action::NextMatch, Action::Close]
            .into_iter()
            .filter_map(|a| cx.hint(Context::Pager, a))
            .chain(cx.hint(Context::Global, Action::Help))
            .collect()
    }

    fn on_key(&mut self, key: &KeyEvent, cx: &Ctx) -> Outcome {
        if self.searching.is_some() {
            return self.on_search_key(key, cx);
        }
        let action = cx.action(Context::Pager, key);
        let last = self.max_scroll();
        let page = self.height.max(2) - 1;
        match action {
            Some(Action::ScrollUp) => self.scroll = self.scroll.saturating_sub(1),
            Some(Action::ScrollDown) => self.scroll = (self.scroll + 1).min(last),
            Some(Action::PageUp) => self.scroll = self.scroll.saturating_sub(page),
            Some(Action::PageDown) => self.scroll = (self.scroll + page).min(last),
            Some(Action::ScrollTop) => self.scroll = 0,
            Some(Action::ScrollBottom) => self.scroll = last,
            Some(Action::Search) => self.searching = Some(text_area("", "search; enter to find")),
            Some(Action::NextMatch | Action::PreviousMatch) if !self.matches.is_empty() => {
                let n = self.matches.len();
                self.current = if action == Some(Action::NextMatch) {
                    (self.current + 1) % n
                } else {
                    (self.current + n - 1) % n
                };
                self.scroll = self.matches[self.current];
            }
            Some(Action::Close) => return Outcome::close(),
            // The pager's own keys first; the help key opens the help over it.
            _ if cx.action(Context::Global, key) == Some(Action::Help) => {
                return Outcome::effect(Effect::Help);
            }
            _ => {}
        }
        Outcome::used()
    }

    fn draw(&mut self, frame: &mut Frame, rect: Rect, cx: &Ctx) {
        let theme = cx.theme;
        // The keys ask for "as far as there is"; the screen's size says how far that is.
        let searching = if self.searching.is_some() { 3 } else { 0 };
        self.height = (rect.height.saturating_sub(2 + searching) as usize).max(1);
        self.scroll = self.scroll.min(self.max_scroll());
        frame.render_widget(Clear, rect);
        let matches = if self.query.is_empty() {
            String::new()
        } else {
            format!(" · /{}: {} matches", self.query, self.matches.len())
        };
        let title = format!(
            " {} · line {}/{}{matches} ",
            truncate(&self.title, rect.width as usize / 2),
            self.scroll + 1,
            self.lines.len()
        );
        let block = overlay_block(title, theme.style("border.focus"));
        let inner = block.inner(rect);
        frame.render_widget(block, rect);
        let body_height = inner.height.saturating_sub(searching) as usize;
        let number_width = self.lines.len().to_string().len();
        let visible: Vec<&String> = self
            .lines
            .iter()
            .skip(self.scroll)
            .take(body_height)
            .collect();
        let highlighted = if self.query.is_empty() {
            highlight(
                &visible
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("\n"),
                &self.language,
                theme,
            )
        } else {
            visible
                .iter()
                .map(|l| search_line(l, &self.query, theme))
                .collect()
        };
        let lines: Vec<Line> = highlighted
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                let mut spans = vec![Span::styled(
                    format!("{:>number_width$} ", self.scroll + i + 1),
                    theme.style("muted"),
                )];
                spans.extend(l.spans);
                Line::from(spans)
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);
        if let Some(search) = &self.searching {
            let field = Rect {
                y: inner.y + inner.height.saturating_sub(3),
                height: 3.min(inner.height),
                ..inner
            };
            draw_field(frame, search, " / search ", field, theme);
        }
    }
}

fn search_line(line: &str, query: &str, theme: &Theme) -> Line<'static> {
    let lower = line.to_lowercase();
    let needle = query.to_lowercase();
    if needle.is_empty() || lower.len() != line.len() {
        return Line::from(line.to_string());
    }
    let mut spans = Vec::new();
    let mut last = 0;
    for (pos, _) in lower.match_indices(&needle) {
        spans.push(Span::raw(line[last..pos].to_string()));
        spans.push(Span::styled(
            line[pos..pos + needle.len()].to_string(),
            theme.style("search.match"),
        ));
        last = pos + needle.len();
    }
    spans.push(Span::raw(line[last..].to_string()));
    Line::from(spans)
}
