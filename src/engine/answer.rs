//! Follow-up questions after the conclusion: the question is recorded, the brain is
//! given the whole record and the question, and its answer is recorded with the calls it
//! cites (only ids of calls that answered in this session count). The investigation does
//! not go on: no tool runs for a question.
//!
//! A brain that can't answer free text (the offline brain) streams nothing; then the
//! engine answers from the record itself — the conclusion, the hypotheses and the calls
//! whose words match the question — and says that no model read it. A model that fails
//! is answered for the same way, with its error said first.

use super::*;
use crate::brain::{ANSWER, AnswerArgs};
use crate::event::{Answer, AnsweredBy, content_words};

/// Call ids (`c12`) written in a model's text, in order, once each.
fn ids_in_text(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for word in text.split(|c: char| !c.is_ascii_alphanumeric()) {
        let is_id = word.len() > 1
            && word.starts_with('c')
            && word[1..].chars().all(|c| c.is_ascii_digit());
        if is_id && !ids.iter().any(|i| i == word) {
            ids.push(word.to_string());
        }
    }
    ids
}

/// `text` without control sequences, on one line (line breaks become spaces).
fn one_line(text: &str) -> String {
    for_display(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a brain's answer stream held.
#[derive(Default)]
struct Heard {
    text: String,
    args: Option<AnswerArgs>,
    failed: Option<String>,
    /// The brain streamed anything at all (a brain that can't answer streams nothing).
    spoke: bool,
}

impl Engine {
    /// `hunch ask`: one follow-up question about a recorded session (an engine made
    /// with [`Engine::resume`]), answered and appended to its record. The investigation
    /// does not go on; returns the state with the answer.
    pub async fn ask_once(mut self, question: String, by: &str) -> State {
        self.continued = None;
        self.ask(question, by.into());
        self.answer_questions().await;
        self.state
    }

    /// Record a question; it is answered when the engine is next idle.
    pub(super) fn ask(&mut self, text: String, by: String) {
        // A credential typed during the investigation, pasted into the question, goes
        // neither to the model nor into the record; a question and a name are one line
        // each, so neither can print a line of its own (`bob approved c8`).
        let text = one_line(&self.scrub_typed(text, None));
        if text.is_empty() {
            return;
        }
        self.emit(EventKind::Question {
            text: text.clone(),
            by: one_line(&by),
        });
        self.questions.push(text);
    }

    /// Answer every question asked so far, in order.
    pub(super) async fn answer_questions(&mut self) {
        while !self.questions.is_empty() {
            let question = self.questions.remove(0);
            self.answer(question).await;
        }
    }

    async fn answer(&mut self, question: String) {
        let mut context = self.context(self.state.turns);
        context.tools = vec![crate::brain::answer_tool_spec()];
        let brain = self.config.brain.name();
        let mut stream = self.config.brain.answer(context, &question);
        let mut heard = Heard::default();
        while let Some(item) = stream.next().await {
            heard.spoke = true;
            match item {
                Ok(BrainItem::Message(text)) => heard.text.push_str(&text),
                Ok(BrainItem::Call(call)) if call.tool == ANSWER => {
                    match serde_json::from_value::<AnswerArgs>(call.args) {
                        Ok(args) => heard.args = Some(args),
                        Err(e) => heard.failed = Some(format!("invalid `answer` call: {e}")),
                    }
                }
                Ok(BrainItem::Usage { input, output }) => self.emit(EventKind::Usage {
                    input_tokens: input,
                    output_tokens: output,
                }),
                Ok(BrainItem::Redacted(count)) => self.count_redactions(count as usize),
                Ok(BrainItem::Retry { .. }) => heard.text.clear(),
                Ok(BrainItem::Problem { message, retrying }) => self.emit(EventKind::Error {
                    source: "brain".into(),
                    message: for_display(&message),
                    retried: retrying,
                }),
                Ok(_) => {}
                Err(e) => {
                    heard.failed = Some(e.to_string());
                    break;
                }
            }
        }
        drop(stream);
        let answer = self.heard_answer(heard, &question, brain);
        let uncited = answer.source == AnsweredBy::Model && answer.evidence.is_empty();
        self.emit(EventKind::Answered {
            question: question.clone(),
            answer,
        });
        if uncited {
            // A model's answer that rests on nothing in the record gets the record's
            // beside it, said to be the record's.
            let mut record = self.answer_from_record(&question, false);
            record.text = format!(
                "The model cited no call of this session; what the record holds:\n{}",
                record.text
            );
            self.emit(EventKind::Answered {
                question,
                answer: record,
            });
        }
    }

    /// The model's answer with its citations kept to calls of this session; without one,
    /// the record's.
    fn heard_answer(&mut self, heard: Heard, question: &str, brain: String) -> Answer {
        let (text, cited) = match heard.args {
            // Ids the answer names count as cited, as in a text answer.
            Some(mut args) => {
                args.evidence.extend(ids_in_text(&args.answer));
                (args.answer, args.evidence)
            }
            None => {
                let cited = ids_in_text(&heard.text);
                (heard.text, cited)
            }
        };
        let text = for_display(self.scrub_typed(text, None).trim());
        if text.is_empty() {
            let mut answer = self.answer_from_record(question, !heard.spoke);
            match heard.failed {
                Some(error) => {
                    self.emit(EventKind::Error {
                        source: "brain".into(),
                        message: for_display(&error),
                        retried: false,
                    });
                    answer.text = format!(
                        "{brain} could not answer ({error}); what the record holds:\n{}",
                        answer.text
                    );
                }
                None if heard.spoke => {
                    answer.text = format!(
                        "{brain} gave no answer; what the record holds:\n{}",
                        answer.text
                    );
                }
                None => {}
            }
            return answer;
        }
        Answer {
            text,
            evidence: self.answered_calls(&cited),
            source: AnsweredBy::Model,
            brain,
        }
    }

    /// The ids among `cited` of calls of this session that answered.
    fn answered_calls(&self, cited: &[String]) -> Vec<String> {
        let mut kept: Vec<String> = Vec::new();
        for id in cited {
            if self.state.call_answered(id) && !kept.contains(id) {
                kept.push(id.clone());
            }
        }
        kept
    }

    /// An answer read from the record, without a model: the conclusion, the hypotheses
    /// and the calls that share words with the question.
    /// `no_model` adds that no model was asked (not so when one was, and failed or cited
    /// nothing: the answer says that first).
    pub(super) fn answer_from_record(&self, question: &str, no_model: bool) -> Answer {
        let words = content_words(question);
        let shared = |text: &str| {
            let these = content_words(text);
            words.iter().filter(|w| these.contains(w)).count()
        };
        let mut lines = Vec::new();
        let mut evidence = Vec::new();
        match &self.state.conclusion {
            Some(c) => {
                lines.push(format!(
                    "The investigation concluded ({:.0}%): {}",
                    c.confidence * 100.0,
                    c.root_cause
                ));
            }
            None => lines.push("The investigation has not concluded.".into()),
        }
        let mut hypotheses: Vec<(usize, &Hypothesis)> = self
            .state
            .hypotheses
            .iter()
            .map(|h| (shared(&h.statement), h))
            .filter(|(n, _)| *n > 0)
            .collect();
        hypotheses.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.id.cmp(&b.1.id)));
        for (_, h) in hypotheses.iter().take(3) {
            lines.push(format!("{} {}: {}", h.id, h.standing(), h.statement));
            evidence.extend(h.evidence.iter().cloned());
        }
        let mut calls: Vec<(usize, &crate::event::ToolCall)> = self
            .state
            .calls
            .iter()
            .filter(|c| c.status == crate::event::CallStatus::Finished(CallOutcome::Ok))
            .map(|c| {
                let digest = c.output.as_ref().map_or("", |o| o.digest.as_str());
                (shared(&format!("{} {} {digest}", c.tool, c.command)), c)
            })
            .filter(|(n, _)| *n > 0)
            .collect();
        calls.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.id.cmp(&b.1.id)));
        for (_, c) in calls.iter().take(3) {
            let digest = c.output.as_ref().map_or("", |o| o.digest.as_str());
            lines.push(format!(
                "{} {}: {}",
                c.id,
                c.command,
                crate::text::clip(digest, 200)
            ));
            if !evidence.contains(&c.id) {
                evidence.push(c.id.clone());
            }
        }
        if hypotheses.is_empty() && calls.is_empty() {
            lines.push("Nothing else in the record shares words with the question.".into());
            // What the conclusion rests on is all the record can point to.
            if let Some(c) = &self.state.conclusion {
                evidence.extend(c.evidence.iter().cloned());
            }
        }
        if no_model {
            lines.push(
                "(Read from the record without a model, which can't answer free text: ask with --model PROVIDER:MODEL for an answer in words.)"
                    .into(),
            );
        }
        Answer {
            text: lines.join("\n"),
            evidence: self.answered_calls(&evidence),
            source: AnsweredBy::Record,
            brain: self.config.brain.name(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_ids_are_read_from_text_once() {
        assert_eq!(
            ids_in_text("c3 and (c12), not cx or c, again c3; see c4."),
            vec!["c3", "c12", "c4"]
        );
    }
}
