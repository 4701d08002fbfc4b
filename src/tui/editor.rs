//! The hypothesis editor: the board in its ranked order, a cursor that follows the
//! hypothesis (not the row) when an edit re-sorts it, and a field for a statement. It
//! pauses the agent while open (when it was running) and resumes it on close.

use super::keymap::{Action, Context};
use super::layer::{Ctx, Effect, Hint, Layer, Outcome};
use super::widgets::{
    area_text, centered, draw_field, hint_line, open_overlay, prefixed, text_area,
};
use crate::event::{Author, Hypothesis, HypothesisStatus};
use crate::protocol::{Command, HypothesisEdit};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui_textarea::TextArea;

pub(crate) struct Editor {
    /// The selected hypothesis by id (None: the top row), so an edit that re-sorts the
    /// list leaves the cursor on the hypothesis just edited.
    pub selected: Option<String>,
    /// Editing a statement: the hypothesis id (None when adding) and the text.
    editing: Option<(Option<String>, TextArea<'static>)>,
    /// The editor paused the agent and resumes it on close.
    paused_agent: bool,
}

impl Editor {
    /// An editor on `selected`; `paused_agent` when opening it paused the agent.
    pub(crate) fn new(selected: Option<String>, paused_agent: bool) -> Editor {
        Editor {
            selected,
            editing: None,
            paused_agent,
        }
    }

    fn on_field_key(&mut self, key: &KeyEvent, cx: &Ctx) -> Outcome {
        let Some((id, area)) = &mut self.editing else {
            return Outcome::Pass;
        };
        match cx.action(Context::TextField, key) {
            Some(Action::Cancel) => self.editing = None,
            Some(Action::Submit) => {
                let statement = area_text(area);
                let edit = HypothesisEdit {
                    id: id.clone(),
                    statement: Some(statement.clone()),
                    ..HypothesisEdit::default()
                };
                self.editing = None;
                if !statement.is_empty() {
                    return Outcome::send(Command::EditHypothesis(edit));
                }
            }
            _ => {
                area.input(*key);
            }
        }
        Outcome::used()
    }

    fn on_list_key(&mut self, key: &KeyEvent, cx: &Ctx) -> Outcome {
        let state = cx.state;
        // The editor lists the board's order, so a row means the same hypothesis in both.
        let ranked = state.ranked_hypotheses();
        let rank = state.rank_of(self.selected.as_deref());
        let selected: Option<&Hypothesis> = ranked.get(rank).map(|&i| &state.hypotheses[i]);
        // Whatever the key does, the cursor stays on this hypothesis when the edit
        // re-sorts the list.
        self.selected = selected.map(|h| h.id.clone());
        let edit = |status: Option<HypothesisStatus>, pinned: Option<bool>| match selected {
            Some(h) => Outcome::send(Command::EditHypothesis(HypothesisEdit {
                id: Some(h.id.clone()),
                status,
                pinned,
                statement: None,
            })),
            None => Outcome::used(),
        };
        match cx.action(Context::Editor, key) {
            Some(Action::SelectUp) => self.selected = state.id_at_rank(rank.saturating_sub(1)),
            Some(Action::SelectDown) => self.selected = state.id_at_rank(rank + 1),
            Some(Action::EditStatement) => {
                if let Some(h) = selected {
                    self.editing = Some((
                        Some(h.id.clone()),
                        text_area(&h.statement, "the hypothesis"),
                    ));
                }
            }
            Some(Action::AddHypothesis) => {
                self.editing = Some((
                    None,
                    text_area("", "a new hypothesis, e.g. \"cart redis is the cause\""),
                ))
            }
            Some(Action::Reject) => return edit(Some(HypothesisStatus::Refuted), None),
            Some(Action::Confirm) => return edit(Some(HypothesisStatus::Confirmed), None),
            Some(Action::Reopen) => return edit(Some(HypothesisStatus::Open), None),
            Some(Action::TogglePin) => return edit(None, selected.map(|h| !h.pinned)),
            Some(Action::Close) => return Outcome::effect(Effect::Close),
            // Nothing is typed in the list: the help key opens the help over it.
            _ if cx.action(Context::Global, key) == Some(Action::Help) => {
                return Outcome::effect(Effect::Help);
            }
            _ => {}
        }
        Outcome::used()
    }
}

impl Layer for Editor {
    fn name(&self) -> &'static str {
        "editor"
    }

    fn context(&self) -> Context {
        if self.editing.is_some() {
            Context::TextField
        } else {
            Context::Editor
        }
    }

    fn hints(&self, cx: &Ctx) -> Vec<Hint> {
        if self.editing.is_some() {
            return cx.field_hints("save");
        }
        // An empty board has nothing to reword, refute, confirm or pin: adding is all.
        let empty = cx.state.hypotheses.is_empty();
        let about_one = [
            Action::EditStatement,
            Action::Reject,
            Action::Confirm,
            Action::TogglePin,
        ];
        [
            Action::EditStatement,
            Action::AddHypothesis,
            Action::Reject,
            Action::Confirm,
            // Where not all fit, how to leave is kept before pinning.
            Action::Close,
            Action::TogglePin,
        ]
        .into_iter()
        .filter(|a| !(empty && about_one.contains(a)))
        .filter_map(|a| cx.hint(Context::Editor, a))
        .chain(cx.hint(Context::Global, Action::Help))
        .collect()
    }

    fn on_key(&mut self, key: &KeyEvent, cx: &Ctx) -> Outcome {
        if self.editing.is_some() {
            self.on_field_key(key, cx)
        } else {
            self.on_list_key(key, cx)
        }
    }

    fn on_close(&mut self) -> Vec<Command> {
        if std::mem::take(&mut self.paused_agent) {
            vec![Command::Resume]
        } else {
            Vec::new()
        }
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, cx: &Ctx) {
        let theme = cx.theme;
        let state = cx.state;
        let rect = centered(area, 96, area.height.saturating_sub(2));
        let inner = open_overlay(
            frame,
            rect,
            " Hypotheses · your edits are authoritative for the agent ".into(),
            theme.style("border.focus"),
        );
        let width = inner.width as usize;
        let mut lines = Vec::new();
        let selected_rank = state.rank_of(self.selected.as_deref());
        for (rank, &i) in state.ranked_hypotheses().iter().enumerate() {
            let h = &state.hypotheses[i];
            let role = format!("hypothesis.{}", h.status.label());
            let marker = if rank == selected_rank { "▶ " } else { "  " };
            let who = if h.author == Author::Human {
                " ✎"
            } else {
                ""
            };
            let pin = if h.pinned { " pinned" } else { "" };
            let head = format!("{marker}{}{who} {}{pin}", h.id, h.standing());
            let head_style = if rank == selected_rank {
                theme.style("selection")
            } else {
                theme.style(&role)
            };
            lines.push(Line::styled(head, head_style));
            lines.extend(prefixed(
                &h.statement,
                width,
                "    ",
                "    ",
                theme.style("text"),
            ));
        }
        if state.hypotheses.is_empty() {
            let add = cx
                .keymap
                .hint(Context::Editor, Action::AddHypothesis)
                .unwrap_or_default();
            lines.push(Line::styled(
                format!("The board is empty. Press {add} to add a hypothesis."),
                theme.style("muted"),
            ));
        }
        let editing_rows = if self.editing.is_some() { 5 } else { 0 };
        let list_area = Rect {
            height: inner.height.saturating_sub(editing_rows + 1),
            ..inner
        };
        frame.render_widget(Paragraph::new(lines), list_area);
        let footer = Rect {
            y: inner.y + inner.height.saturating_sub(1),
            height: 1.min(inner.height),
            ..inner
        };
        frame.render_widget(
            Paragraph::new(hint_line(&self.hints(cx), theme, footer.width)),
            footer,
        );
        if let Some((id, text)) = &self.editing {
            let field = Rect {
                y: inner.y + inner.height.saturating_sub(editing_rows + 1),
                height: editing_rows.min(inner.height),
                ..inner
            };
            let (submit, cancel) = (
                cx.keys(Context::TextField, Action::Submit),
                cx.keys(Context::TextField, Action::Cancel),
            );
            let title = match id {
                Some(id) => format!(" Edit {id} ({submit} saves · {cancel} cancels) "),
                None => format!(" New hypothesis ({submit} adds · {cancel} cancels) "),
            };
            draw_field(frame, text, &title, field, theme);
        }
    }
}
