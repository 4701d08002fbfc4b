//! The credential prompt: the call a secret is for and a masked field. A secret is typed
//! only on the terminal that asked for it: an attached terminal shows the prompt, can set
//! it aside or leave (its quit key only detaches), and types nothing into it.

use super::decision_box::{self, DecisionBox};
use super::keymap::{Action, Context};
use super::layer::{Ctx, Effect, Hint, Layer, Outcome};
use super::widgets::{labelled, prefixed, truncate};
use crate::event::{Pending, ToolCall};
use crate::protocol::{Command, Secret};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui_textarea::TextArea;

pub struct Credential {
    /// The call's index in `State::calls`.
    pub call: usize,
    field: TextArea<'static>,
    /// Lines of the body scrolled past.
    scroll: usize,
    /// Set aside while the engineer reviews the transcript (`review`, or esc attached).
    pub hidden: bool,
}

fn masked_field() -> TextArea<'static> {
    let mut field = TextArea::default();
    field.set_mask_char('•');
    field.set_placeholder_text("type the password; enter to submit, esc to refuse");
    field
}

impl Credential {
    pub fn new(call: usize, hidden: bool) -> Credential {
        Credential {
            call,
            field: masked_field(),
            scroll: 0,
            hidden,
        }
    }

    fn typed(&self) -> String {
        self.field.lines().join("")
    }

    /// An attached terminal: set the prompt aside, detach, or hear where the secret goes.
    fn on_attached_key(&mut self, key: &KeyEvent, cx: &Ctx) -> Outcome {
        if cx.action(Context::TextField, key) == Some(Action::Cancel) {
            self.hidden = true;
        } else if cx.action(Context::Global, key) == Some(Action::Quit) {
            return Outcome::effect(Effect::AskQuit);
        } else if cx.action(Context::Global, key) == Some(Action::Help) {
            // Nothing is typed here, so the help key is free to open the help.
            return Outcome::effect(Effect::Help);
        } else if matches!(key.code, KeyCode::Enter | KeyCode::Char(_)) {
            return Outcome::flash("the credential is typed on the terminal that asked for it");
        }
        Outcome::used()
    }

    fn on_field_key(&mut self, key: &KeyEvent, cx: &Ctx) -> Outcome {
        let id = cx.state.calls[self.call].id.clone();
        let cancel = cx.keymap.hint(Context::TextField, Action::Cancel);
        match cx.action(Context::TextField, key) {
            Some(Action::Submit) if self.typed().is_empty() => Outcome::flash(format!(
                "the password is empty: type it, or {} to refuse",
                cancel.unwrap_or_default()
            )),
            Some(Action::Submit) => {
                let secret = Secret::new(self.typed());
                self.field = masked_field();
                Outcome::send(Command::SupplyCredential { id, secret })
            }
            Some(Action::Cancel) => Outcome::send(Command::CancelCredential { id }),
            _ => {
                // A tab would reach the secret as spaces, which nobody meant to type.
                if !matches!(key.code, KeyCode::Tab | KeyCode::BackTab) {
                    self.field.input(*key);
                }
                Outcome::used()
            }
        }
    }

    /// The body (the whole call the secret is for) and the footer (the prompt).
    fn lines(
        &self,
        cx: &Ctx,
        call: &ToolCall,
        (target, prompt): (&str, &str),
        inner_w: usize,
    ) -> (Vec<Line<'static>>, Vec<Line<'static>>) {
        let theme = cx.theme;
        let mut lines = Vec::new();
        lines.extend(labelled(
            "Target",
            target,
            inner_w,
            theme.style("text"),
            theme,
        ));
        lines.extend(labelled(
            "For",
            &call.command,
            inner_w,
            theme.style("muted"),
            theme,
        ));
        lines.extend(labelled(
            "Why",
            &call.rationale,
            inner_w,
            theme.style("text"),
            theme,
        ));
        lines.extend(prefixed(
            "Goes only to this one call. Never shown, recorded, logged or sent to the agent.",
            inner_w,
            "",
            "",
            theme.style("muted"),
        ));
        let mut footer = vec![
            Line::default(),
            Line::styled(truncate(prompt, inner_w), theme.style("title")),
        ];
        let typed = self.typed().chars().count();
        if (1..crate::redact::MIN_SCRUBBED_CREDENTIAL).contains(&typed) {
            let warning = format!(
                "Shorter than {} characters: it will not be scrubbed from the call's output.",
                crate::redact::MIN_SCRUBBED_CREDENTIAL
            );
            footer.push(Line::styled(
                truncate(&warning, inner_w),
                theme.style("muted"),
            ));
        }
        if cx.attached {
            // Wrapped, not cut: on a narrow terminal this is the line that says why
            // nothing can be typed here.
            footer.extend(prefixed(
                "typed on the terminal that asked for it: a secret never crosses to this one",
                inner_w,
                "",
                "",
                theme.style("muted"),
            ));
        }
        (lines, footer)
    }
}

impl Layer for Credential {
    fn name(&self) -> &'static str {
        "credential"
    }

    fn context(&self) -> Context {
        Context::TextField
    }

    fn hints(&self, cx: &Ctx) -> Vec<Hint> {
        let hints = if cx.attached {
            vec![
                cx.hint_as(Context::TextField, Action::Cancel, "set aside"),
                cx.hint_as(Context::Global, Action::Quit, "detach"),
                cx.hint(Context::Global, Action::Help),
            ]
        } else {
            vec![
                cx.hint_as(Context::TextField, Action::Submit, "submit the credential"),
                cx.hint_as(Context::TextField, Action::Cancel, "refuse"),
            ]
        };
        hints.into_iter().flatten().collect()
    }

    fn on_key(&mut self, key: &KeyEvent, cx: &Ctx) -> Outcome {
        let action = cx.action(Context::Approval, key);
        if let Some(outcome) =
            decision_box::set_aside_or_scrolled(&mut self.hidden, &mut self.scroll, action, cx.page)
        {
            return outcome;
        }
        // Printable keys are the secret; the review key still works as a function key.
        if action == Some(Action::Review) && !matches!(key.code, KeyCode::Char(_)) {
            self.hidden = true;
            return Outcome::used();
        }
        if cx.attached {
            self.on_attached_key(key, cx)
        } else {
            self.on_field_key(key, cx)
        }
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, cx: &Ctx) {
        if self.hidden {
            let awaited = if cx.attached {
                decision_box::Awaited::CredentialElsewhere
            } else {
                decision_box::Awaited::Decision
            };
            return decision_box::draw_set_aside(frame, area, cx, self.call, awaited);
        }
        let Some(Pending::Credential { target, prompt, .. }) = cx.state.pending.first() else {
            return;
        };
        let call = &cx.state.calls[self.call];
        let inner_w = decision_box::width(area).saturating_sub(2) as usize;
        let (body, footer) = self.lines(cx, call, (target, prompt), inner_w);
        let decision = DecisionBox {
            title: format!(" Credential needed · {} {} ", call.id, call.tool),
            style: cx.theme.style("approval.risk.medium"),
            body,
            footer,
            input: Some(&self.field).filter(|_| !cx.attached),
        };
        decision_box::draw_box(frame, area, cx, decision, self.scroll);
    }
}
