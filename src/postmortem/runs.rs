//! The export's account of N runs of the incident (`--runs N`: each run's conclusion,
//! board and session, and how they agreed) and of the follow-up questions asked after
//! the conclusion, with their answers and what they cite.

use super::{Postmortem, cell};
use crate::event::{Answer, AnsweredBy, State};
use serde::Serialize;
use std::fmt::Write;

/// A follow-up question and its answer, as the export tells it.
#[derive(Debug, Clone, Serialize)]
pub struct QuestionAnswer {
    pub question: String,
    pub by: String,
    pub answers: Vec<Answer>,
}

/// The follow-up questions of `state`.
pub(super) fn questions(state: &State) -> Vec<QuestionAnswer> {
    state
        .follow_ups
        .iter()
        .map(|f| QuestionAnswer {
            question: f.question.clone(),
            by: f.by.clone(),
            answers: f.answers.clone(),
        })
        .collect()
}

impl Postmortem {
    /// `## Runs`: each run, then the agreement (nothing when there was one run).
    pub(super) fn runs_section(&self, md: &mut String) {
        if self.runs.is_empty() {
            return;
        }
        md.push_str("\n## Runs\n\n");
        for outcome in &self.runs {
            let said = match &outcome.conclusion {
                Some(c) => format!(
                    "concluded ({:.0}%){}: {}",
                    c.confidence * 100.0,
                    outcome.by_whom(),
                    cell(&c.root_cause)
                ),
                None => format!("ended without a conclusion ({})", cell(&outcome.ended)),
            };
            let _ = writeln!(md, "- **{}** {said}", cell(&outcome.run.label()));
            let _ = writeln!(
                md,
                "  - session: {}",
                super::escape::code(&outcome.run.session)
            );
            for h in &outcome.board {
                let concluded = outcome.concluded.as_deref() == Some(h.id.as_str());
                let _ = writeln!(
                    md,
                    "  - {} {}{}: {}",
                    cell(&h.id),
                    h.standing(),
                    if concluded { " (concluded)" } else { "" },
                    cell(&h.statement)
                );
            }
        }
        if let Some(agreement) = &self.agreement {
            let _ = writeln!(
                md,
                "\n{} of {} runs concluded. Across the runs:\n",
                agreement.concluded, agreement.runs
            );
            for a in &agreement.hypotheses {
                let _ = writeln!(
                    md,
                    "- **{}** {}: {}",
                    cell(&a.hypothesis.id),
                    a.describe(agreement.runs),
                    cell(&a.hypothesis.statement)
                );
            }
        }
    }

    /// `## Follow-up questions`: each question, who asked, the answer and what it cites.
    pub(super) fn questions_section(&self, md: &mut String) {
        if self.questions.is_empty() {
            return;
        }
        md.push_str("\n## Follow-up questions\n\n");
        for q in &self.questions {
            let _ = writeln!(md, "- **{}** asked: {}", cell(&q.by), cell(&q.question));
            if q.answers.is_empty() {
                md.push_str("  - not answered\n");
            }
            for answer in &q.answers {
                let from = match answer.source {
                    AnsweredBy::Model => answer.brain.clone(),
                    AnsweredBy::Record => "from the record, without a model".into(),
                };
                let text: Vec<String> = answer.text.lines().map(cell).collect();
                let _ = writeln!(
                    md,
                    "  - answer ({}): {} {}",
                    cell(&from),
                    text.join(" / "),
                    citation(answer)
                );
            }
        }
    }
}

/// `[cites c1, c4]` with each id escaped (a file can name a call anything), or
/// `[uncited]`.
fn citation(answer: &Answer) -> String {
    if answer.evidence.is_empty() {
        return answer.citation();
    }
    let ids: Vec<String> = answer.evidence.iter().map(|id| cell(id)).collect();
    format!("[cites {}]", ids.join(", "))
}
