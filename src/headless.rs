//! The headless printer: the event stream as readable lines (or JSON lines with
//! `--json`), for CI, scripts and `hunch demo --headless`. Streamed text is buffered and
//! printed a line at a time so output stays readable when piped.

use crate::event::{CallOutcome, Decision, Event, EventKind, State};
use std::io::Write;

pub struct Printer<W: Write> {
    out: W,
    json: bool,
    state: State,
    pending_text: String,
    pending_reasoning: bool,
}

impl<W: Write> Printer<W> {
    pub fn new(out: W, json: bool) -> Printer<W> {
        Printer {
            out,
            json,
            state: State::new(),
            pending_text: String::new(),
            pending_reasoning: false,
        }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    fn flush_text(&mut self, all: bool) -> std::io::Result<()> {
        let prefix = if self.pending_reasoning {
            "  · "
        } else {
            "  » "
        };
        while let Some(pos) = self.pending_text.find('\n') {
            let line: String = self.pending_text.drain(..=pos).collect();
            let line = line.trim_end();
            if !line.is_empty() {
                writeln!(self.out, "{prefix}{line}")?;
            }
        }
        if all && !self.pending_text.trim().is_empty() {
            writeln!(self.out, "{prefix}{}", self.pending_text.trim_end())?;
            self.pending_text.clear();
        }
        Ok(())
    }

    pub fn print(&mut self, event: &Event) -> std::io::Result<()> {
        // What an edit changed is told against the hypothesis as it was.
        let edited_from = match &event.kind {
            EventKind::HypothesisEdited { hypothesis, .. } => {
                self.state.hypothesis(&hypothesis.id).cloned()
            }
            _ => None,
        };
        self.state.apply(event);
        if self.json {
            serde_json::to_writer(&mut self.out, event)?;
            return writeln!(self.out);
        }
        match &event.kind {
            EventKind::ReasoningDelta { text } | EventKind::MessageDelta { text } => {
                let reasoning = matches!(event.kind, EventKind::ReasoningDelta { .. });
                if reasoning != self.pending_reasoning {
                    self.flush_text(true)?;
                    self.pending_reasoning = reasoning;
                }
                self.pending_text.push_str(text);
                return self.flush_text(false);
            }
            _ => self.flush_text(true)?,
        }
        let time = event.ts.format("%H:%M:%S");
        match &event.kind {
            EventKind::SessionStarted {
                incident,
                brain,
                policy,
                ..
            } => writeln!(
                self.out,
                "[{time}] {} — {}\n           brain {brain} · policy {policy} · environment {}{}",
                incident.title,
                incident.alert,
                incident.environment,
                if incident.simulated {
                    " (demo environment: tools act on simulated state)"
                } else {
                    ""
                }
            )?,
            EventKind::ToolCallProposed {
                id, command, risk, ..
            } => writeln!(self.out, "[{time}] → {id} {command}  ({})", risk.label())?,
            EventKind::ApprovalRequested { id, command, .. } => {
                writeln!(self.out, "[{time}] ? {id} needs approval: {command}")?
            }
            EventKind::ApprovalDecided { id, decision, by } => {
                let what = match decision {
                    Decision::ApprovedOnce => "approved once".to_string(),
                    Decision::ApprovedForSession { scope } => {
                        format!("approved for the session ({})", scope.describe())
                    }
                    Decision::Edited { command, .. } => format!("edited and approved: {command}"),
                    Decision::Denied { reason } => format!("denied: {reason}"),
                };
                writeln!(self.out, "[{time}]   {id} {what} (by {by})")?
            }
            EventKind::CredentialRequested { id, target, .. } => {
                writeln!(self.out, "[{time}] ? {id} needs a credential for {target}")?
            }
            EventKind::CredentialSupplied { id, by } => {
                writeln!(self.out, "[{time}]   {id} credential supplied by {by}")?
            }
            EventKind::ToolCallFinished {
                id,
                outcome,
                duration_ms,
                output,
                error,
            } => {
                let mark = match outcome {
                    CallOutcome::Ok => "✓",
                    CallOutcome::Failed => "✗",
                    CallOutcome::Denied => "⊘",
                    CallOutcome::Cancelled => "◌",
                };
                let detail = error.clone().unwrap_or_else(|| output.digest.clone());
                writeln!(self.out, "[{time}] {mark} {id} {duration_ms}ms · {detail}")?
            }
            EventKind::HypothesisUpserted { hypothesis: h } => writeln!(
                self.out,
                "[{time}] {} {}: {}",
                h.id,
                h.standing(),
                h.statement
            )?,
            EventKind::HypothesisEdited { hypothesis: h, by } => writeln!(
                self.out,
                "[{time}] {by} {}",
                h.describe_edit(edited_from.as_ref())
            )?,
            EventKind::Steering { text, by } => writeln!(self.out, "[{time}] {by}: {text}")?,
            EventKind::Notice { text } => writeln!(self.out, "[{time}] {text}")?,
            EventKind::Paused { by } => writeln!(self.out, "[{time}] paused by {by}")?,
            EventKind::Resumed { by } => writeln!(self.out, "[{time}] resumed by {by}")?,
            EventKind::Attached { by, watch } => writeln!(
                self.out,
                "[{time}] {by} attached{}",
                if *watch { " to watch" } else { "" }
            )?,
            EventKind::Detached { by } => writeln!(self.out, "[{time}] {by} left")?,
            EventKind::Error {
                source, message, ..
            } => writeln!(self.out, "[{time}] error in {source}: {message}")?,
            EventKind::Concluded { conclusion } => {
                writeln!(
                    self.out,
                    "\n== conclusion ({:.0}% confidence) ==\n{}",
                    conclusion.confidence * 100.0,
                    conclusion.root_cause
                )?;
                writeln!(self.out, "evidence: {}", conclusion.evidence.join(", "))?;
                for f in &conclusion.follow_ups {
                    writeln!(self.out, "follow-up: {f}")?;
                }
                writeln!(self.out)?;
            }
            EventKind::SessionEnded { reason } => {
                writeln!(self.out, "[{time}] session ended: {reason}")?
            }
            EventKind::SessionResumed { by } => writeln!(self.out, "[{time}] resumed by {by}")?,
            EventKind::EnvironmentInForce {
                environment,
                simulated,
            } => writeln!(
                self.out,
                "[{time}] the tools act on environment {environment}{}",
                if *simulated {
                    " (simulated)"
                } else {
                    " (live systems)"
                }
            )?,
            EventKind::SessionForked {
                parent,
                at,
                by,
                brain,
            } => writeln!(
                self.out,
                "[{time}] forked by {by} from {parent} after {at}; {brain} goes on from here"
            )?,
            EventKind::RunsStarted { at, runs } => {
                writeln!(
                    self.out,
                    "[{time}] {} runs go on from here (after {at}):",
                    runs.len()
                )?;
                for run in runs {
                    writeln!(self.out, "           {} · {}", run.label(), run.session)?;
                }
            }
            EventKind::RunFinished { outcome } => {
                match &outcome.conclusion {
                    Some(c) => writeln!(
                        self.out,
                        "[{time}] {} concluded ({:.0}%){}: {}",
                        outcome.run.label(),
                        c.confidence * 100.0,
                        outcome.by_whom(),
                        c.root_cause
                    )?,
                    None => writeln!(
                        self.out,
                        "[{time}] {} ended without a conclusion ({})",
                        outcome.run.label(),
                        outcome.ended
                    )?,
                }
                for h in &outcome.board {
                    let mark = if outcome.concluded.as_deref() == Some(h.id.as_str()) {
                        " (concluded)"
                    } else {
                        ""
                    };
                    writeln!(
                        self.out,
                        "           {} {}{mark}: {}",
                        h.id,
                        h.standing(),
                        h.statement
                    )?;
                }
                writeln!(self.out, "           session {}", outcome.run.session)?;
            }
            EventKind::RunsCompared { agreement } => {
                writeln!(
                    self.out,
                    "\n== agreement: {} of {} runs concluded ==",
                    agreement.concluded, agreement.runs
                )?;
                for a in &agreement.hypotheses {
                    writeln!(
                        self.out,
                        "{} {} · {}: {}",
                        a.hypothesis.id,
                        a.hypothesis.standing(),
                        a.describe(agreement.runs),
                        a.hypothesis.statement
                    )?;
                }
            }
            // One line, even from a file whose name or question holds line breaks.
            EventKind::Question { text, by } => writeln!(
                self.out,
                "[{time}] {} asked: {}",
                by.replace(['\n', '\r'], " "),
                text.replace(['\n', '\r'], " ")
            )?,
            EventKind::Answered { answer, .. } => {
                let from = match answer.source {
                    crate::event::AnsweredBy::Model => answer.brain.clone(),
                    crate::event::AnsweredBy::Record => "from the record, no model".into(),
                };
                writeln!(
                    self.out,
                    "\n== answer ({from}) ==\n{}\n{}\n",
                    answer.text,
                    answer.citation()
                )?
            }
            EventKind::Usage { .. }
            | EventKind::HandedOver { .. }
            | EventKind::ReplyEnded { .. }
            | EventKind::BoardCallAnswered { .. }
            | EventKind::Redacted { .. }
            | EventKind::TurnStarted { .. }
            | EventKind::ToolCallStarted { .. }
            | EventKind::ReasoningDelta { .. }
            | EventKind::MessageDelta { .. } => {}
        }
        self.out.flush()
    }
}
