//! The approval overlay: everything about the call that waits (what will run, where,
//! its risk, why, a dry run, what "for the session" would cover), four buttons, and a
//! field for a deny reason or an edited command. Its keys are `[approval]`; the global
//! keys work beside them while no field is open.

use super::decision_box::{self, DecisionBox};
use super::highlight::highlight;
use super::keymap::{Action, Context};
use super::layer::{Ctx, Hint, Layer, Outcome};
use super::widgets::{area_text, labelled, risk_role, text_area, truncate, wrap};
use crate::event::{Pending, Risk, SessionScope, ToolCall};
use crate::protocol::{Approval as Approved, Command};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui_textarea::TextArea;
use unicode_width::UnicodeWidthStr;

/// The approval overlay's buttons, left to right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Button {
    ApproveOnce,
    ApproveSession,
    EditThenApprove,
    Deny,
}

impl Button {
    pub(crate) const ALL: [Button; 4] = [
        Button::ApproveOnce,
        Button::ApproveSession,
        Button::EditThenApprove,
        Button::Deny,
    ];

    pub(crate) fn action(self) -> Action {
        match self {
            Button::ApproveOnce => Action::ApproveOnce,
            Button::ApproveSession => Action::ApproveSession,
            Button::EditThenApprove => Action::EditThenApprove,
            Button::Deny => Action::Deny,
        }
    }

    fn of(action: Action) -> Option<Button> {
        Button::ALL.into_iter().find(|b| b.action() == action)
    }

    fn label(self) -> &'static str {
        match self {
            Button::ApproveOnce => "approve once",
            Button::ApproveSession => "for session",
            Button::EditThenApprove => "edit, approve",
            Button::Deny => "deny",
        }
    }
}

/// A text field inside the approval overlay.
enum Input {
    DenyReason(TextArea<'static>),
    EditCommand(TextArea<'static>),
}

impl Input {
    fn area(&self) -> &TextArea<'static> {
        match self {
            Input::DenyReason(a) | Input::EditCommand(a) => a,
        }
    }
}

pub struct Approval {
    /// The call's index in `State::calls`.
    pub call: usize,
    focus: Button,
    input: Option<Input>,
    /// Lines of the body scrolled past.
    scroll: usize,
    /// Set aside while the engineer reviews the transcript (`review`).
    pub hidden: bool,
}

impl Approval {
    /// Focus starts on deny for a destructive call: enter never approves one by accident.
    pub fn new(call: usize, destructive: bool, hidden: bool) -> Approval {
        Approval {
            call,
            focus: if destructive {
                Button::Deny
            } else {
                Button::ApproveOnce
            },
            input: None,
            scroll: 0,
            hidden,
        }
    }

    pub fn typing(&self) -> bool {
        self.input.is_some()
    }

    fn scope_offered(cx: &Ctx) -> bool {
        matches!(
            cx.state.pending.first(),
            Some(Pending::Approval { scope: Some(_), .. })
        )
    }

    fn decide(&mut self, button: Button, cx: &Ctx) -> Outcome {
        let call = &cx.state.calls[self.call];
        if button == Button::ApproveSession && !Self::scope_offered(cx) {
            let why = if call.risk == Risk::Destructive {
                "a destructive call is asked every time"
            } else {
                "it is not one command of known risk"
            };
            let once = cx
                .keymap
                .hint(Context::Approval, Action::ApproveOnce)
                .unwrap_or_default();
            return Outcome::flash(format!(
                "no approval for the session here: {why}; {once} approves it once"
            ));
        }
        self.focus = button;
        let id = call.id.clone();
        match button {
            Button::ApproveOnce => Outcome::send(Command::Approve {
                id,
                approval: Approved::Once,
            }),
            Button::ApproveSession => Outcome::send(Command::Approve {
                id,
                approval: Approved::ForSession,
            }),
            Button::EditThenApprove => {
                self.input = Some(Input::EditCommand(text_area(
                    &call.command,
                    "the command to run instead",
                )));
                Outcome::used()
            }
            Button::Deny => {
                self.input = Some(Input::DenyReason(text_area(
                    "",
                    "why? the agent reads this (enter to deny)",
                )));
                Outcome::used()
            }
        }
    }

    fn on_field_key(&mut self, key: &KeyEvent, cx: &Ctx) -> Outcome {
        let Some(input) = &mut self.input else {
            return Outcome::Pass;
        };
        let id = cx.state.calls[self.call].id.clone();
        match cx.action(Context::TextField, key) {
            Some(Action::Cancel) => self.input = None,
            Some(Action::Submit) => {
                let command = match input {
                    Input::DenyReason(area) => Command::Deny {
                        id,
                        reason: area_text(area),
                    },
                    Input::EditCommand(area) => Command::Approve {
                        id,
                        approval: Approved::Edited(area_text(area)),
                    },
                };
                self.input = None;
                return Outcome::send(command);
            }
            _ => {
                match input {
                    Input::DenyReason(area) | Input::EditCommand(area) => area.input(*key),
                };
            }
        }
        Outcome::used()
    }

    /// The body (everything about the call) and the footer (the buttons, and the label
    /// of the field when one is open).
    fn lines(
        &self,
        cx: &Ctx,
        call: &ToolCall,
        (reason, scope, preview): (&str, Option<&SessionScope>, Option<&str>),
        inner_w: usize,
    ) -> (Vec<Line<'static>>, Vec<Line<'static>>) {
        let theme = cx.theme;
        let mut lines = Vec::new();
        let language = if call.tool == "psql" { "sql" } else { "shell" };
        let command: Vec<Line> = highlight(
            &wrap(&call.command, inner_w.saturating_sub(10)).join("\n"),
            language,
            theme,
        );
        for (i, l) in command.into_iter().enumerate() {
            let mut spans = vec![if i == 0 {
                Span::styled(format!("{:<10}", "Will run"), theme.style("muted"))
            } else {
                Span::raw(" ".repeat(10))
            }];
            spans.extend(l.spans);
            lines.push(Line::from(spans));
        }
        let text = theme.style("text");
        lines.extend(labelled("Target", &call.target, inner_w, text, theme));
        let risk_style = theme.style(risk_role(call.risk));
        let risk = match call.risk {
            Risk::Destructive => "destructive: cannot be undone by another call; asked every time",
            Risk::ReadsSecrets => "reads-secrets: its output holds credentials",
            other => other.label(),
        };
        lines.extend(labelled("Risk", risk, inner_w, risk_style, theme));
        lines.extend(labelled("Why", reason, inner_w, text, theme));
        if let Some(p) = preview {
            lines.extend(labelled("Preview", p, inner_w, theme.style("muted"), theme));
        }
        let session = match scope {
            Some(scope) => format!("\"approve for session\" covers {}", scope.describe()),
            None if call.risk == Risk::Destructive => {
                "\"approve for session\" is not offered: a destructive call is asked every time"
                    .into()
            }
            None => "\"approve for session\" is not offered: this call is not one statement or command of known risk".into(),
        };
        lines.extend(labelled(
            "Session",
            &session,
            inner_w,
            theme.style("muted"),
            theme,
        ));
        (lines, self.footer(cx, scope.is_some(), inner_w))
    }

    fn footer(&self, cx: &Ctx, scope: bool, inner_w: usize) -> Vec<Line<'static>> {
        let theme = cx.theme;
        let mut buttons = Vec::new();
        for button in Button::ALL {
            let key = cx
                .keymap
                .hint(Context::Approval, button.action())
                .unwrap_or_default();
            let style = if self.focus == button {
                theme.style("button.focus")
            } else if button == Button::ApproveSession && !scope {
                // Not offered for this call (the Session line says why): shown, but dimmed.
                theme.style("muted")
            } else {
                theme.style("button")
            };
            buttons.push(Span::styled(format!("[{key}] {}", button.label()), style));
            buttons.push(Span::raw(" "));
        }
        // Buttons wrap onto as many rows as the width needs; none is ever cut away.
        let mut footer = vec![Line::default()];
        let mut row: Vec<Span<'static>> = Vec::new();
        let mut row_width = 0;
        for span in buttons {
            let w = span.content.width();
            if row_width + w > inner_w && !row.is_empty() {
                footer.push(Line::from(std::mem::take(&mut row)));
                row_width = 0;
            }
            row_width += w;
            row.push(span);
        }
        footer.push(Line::from(row));
        let (submit, cancel) = (
            cx.keys(Context::TextField, Action::Submit),
            cx.keys(Context::TextField, Action::Cancel),
        );
        let label = self.input.as_ref().map(|i| match i {
            Input::DenyReason(_) => {
                format!("Reason for the agent ({submit}: deny · {cancel}: back)")
            }
            Input::EditCommand(_) => {
                format!("Edit the command ({submit}: approve it · {cancel}: back)")
            }
        });
        if let Some(label) = label {
            footer.push(Line::styled(
                truncate(&label, inner_w),
                theme.style("title"),
            ));
        }
        footer
    }
}

impl Layer for Approval {
    fn name(&self) -> &'static str {
        "approval"
    }

    fn context(&self) -> Context {
        if self.input.is_some() {
            Context::TextField
        } else {
            Context::Approval
        }
    }

    fn passes_to_global(&self) -> bool {
        self.input.is_none()
    }

    fn hints(&self, cx: &Ctx) -> Vec<Hint> {
        if let Some(input) = &self.input {
            let send = match input {
                Input::DenyReason(_) => "deny with this reason",
                Input::EditCommand(_) => "approve the edited command",
            };
            return [
                cx.hint_as(Context::TextField, Action::Submit, send),
                cx.hint_as(Context::TextField, Action::Cancel, "back to the choices"),
            ]
            .into_iter()
            .flatten()
            .collect();
        }
        let scope = Self::scope_offered(cx);
        [
            Action::ApproveOnce,
            Action::ApproveSession,
            Action::EditThenApprove,
            Action::Deny,
            Action::Review,
        ]
        .into_iter()
        .filter(|&a| a != Action::ApproveSession || scope)
        .filter_map(|a| cx.hint(Context::Approval, a))
        .collect()
    }

    fn on_key(&mut self, key: &KeyEvent, cx: &Ctx) -> Outcome {
        let action = cx.action(Context::Approval, key);
        if let Some(outcome) =
            decision_box::set_aside_or_scrolled(&mut self.hidden, &mut self.scroll, action, cx.page)
        {
            return outcome;
        }
        // While typing, printable keys are text; the review key still works as a
        // function key.
        if action == Some(Action::Review)
            && (self.input.is_none() || !matches!(key.code, KeyCode::Char(_)))
        {
            self.hidden = true;
            return Outcome::used();
        }
        if self.input.is_some() {
            return self.on_field_key(key, cx);
        }
        match action {
            Some(Action::FocusLeft | Action::FocusRight) => {
                let i = Button::ALL
                    .iter()
                    .position(|b| *b == self.focus)
                    .unwrap_or(0);
                let i = if action == Some(Action::FocusLeft) {
                    i.saturating_sub(1)
                } else {
                    (i + 1).min(Button::ALL.len() - 1)
                };
                self.focus = Button::ALL[i];
                Outcome::used()
            }
            Some(Action::Activate) => self.decide(self.focus, cx),
            Some(action) => match Button::of(action) {
                Some(button) => self.decide(button, cx),
                None => Outcome::Pass,
            },
            None => Outcome::Pass,
        }
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, cx: &Ctx) {
        if self.hidden {
            let awaited = decision_box::Awaited::Decision;
            return decision_box::draw_set_aside(frame, area, cx, self.call, awaited);
        }
        let Some(Pending::Approval {
            reason,
            scope,
            preview,
            ..
        }) = cx.state.pending.first()
        else {
            return;
        };
        let call = &cx.state.calls[self.call];
        let inner_w = decision_box::width(area).saturating_sub(2) as usize;
        let (body, footer) = self.lines(
            cx,
            call,
            (reason, scope.as_ref(), preview.as_deref()),
            inner_w,
        );
        let title = format!(
            " Approval needed · {} {} · {} ",
            call.id,
            call.tool,
            call.risk.label()
        );
        let decision = DecisionBox {
            title,
            style: cx.theme.style(risk_role(call.risk)),
            body,
            footer,
            input: self.input.as_ref().map(Input::area),
        };
        decision_box::draw_box(frame, area, cx, decision, self.scroll);
    }
}
