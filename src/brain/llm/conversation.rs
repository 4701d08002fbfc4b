//! Rebuilding the conversation a model sees from the session's history, every turn.
//!
//! The history is the truth (it is what the engine recorded), so the conversation is
//! derived, never kept: each assistant turn is followed by the answers to every call it
//! made (a denial is an answer too, with the engineer's reason); human edits and steering
//! land as user turns after those answers; and the last turn always restates the board,
//! with the engineer's entries marked authoritative. Long outputs are capped here (the
//! model reads the rest with `read_output`), so the context stays small.

use crate::event::{Author, CallOutcome, Hypothesis, RawRef};
use crate::{BrainContext, CONCLUDE, HistoryItem, UPDATE_HYPOTHESES};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub id: String,
    pub name: String,
    pub args: Value,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message {
    pub text: String,
    pub reasoning: String,
    pub calls: Vec<CallRecord>,
    /// Provider blocks to send back unchanged (thinking with signatures).
    pub opaque: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Turn {
    System(String),
    User(String),
    Assistant(Message),
    ToolResult {
        id: String,
        name: String,
        content: String,
        is_error: bool,
    },
}

/// A tool's output as the model reads it: a typed report it would read better as text
/// (the trace digest's JSON, as its compact rendering with the numbers cited) is
/// rendered; everything else is sent as it is.
fn for_the_model(tool: &str, output: &str) -> String {
    if tool == crate::protocol::digest::TRACES_DIGEST
        && let Ok(report) = serde_json::from_str::<crate::protocol::digest::TraceReport>(output)
    {
        return crate::analysis::traces::render::render(&report);
    }
    output.to_string()
}

/// Tool output longer than this reaches the model cut, with a note saying so.
pub const OUTPUT_CAP: usize = 6000;

pub(crate) const SYSTEM_PROMPT: &str = "You are hunch, an SRE agent investigating a production incident together with the engineer on call, who watches every step.
Work like a senior on-call engineer: look at the data first (metrics, change events, logs), form hypotheses, test them with tools, follow matching runbooks, then mitigate and verify.
Rules:
- Use the tools; do not invent data. Keep text short: what you saw, what you think, what you do next.
- Record hypotheses with update_hypotheses (statement, status open|supported|refuted|confirmed, confidence 0-1, evidence = ids of tool calls such as c3).
- Board entries marked [engineer] are authoritative: never change their statement or status; re-plan around them.
- Risky calls (anything that changes systems, unknown commands, credentials) wait for the engineer. A denied call comes back with the engineer's reason: do not retry it; take the reason into account.
- Never ask for passwords or keys in text; tools that need one prompt the engineer, and you never see it.
- Finish with conclude: root cause, confidence, the tool-call ids that are its evidence, and follow-ups.";

fn board_line(h: &Hypothesis) -> String {
    let who = if h.author == Author::Human {
        " [engineer]"
    } else {
        ""
    };
    let pin = if h.pinned { " [pinned]" } else { "" };
    let evidence = if h.evidence.is_empty() {
        String::new()
    } else {
        format!(" evidence: {}", h.evidence.join(", "))
    };
    format!(
        "{} {} {:.0}%{who}{pin}: {}{evidence}",
        h.id,
        h.status.label(),
        h.confidence * 100.0,
        h.statement
    )
}

/// The output as the model sees it: whole when short, else its start plus how to read
/// the rest with `read_output` (the full text stays in the session).
fn cap(id: &str, text: &str) -> String {
    if text.len() <= OUTPUT_CAP {
        return text.to_string();
    }
    let mut cut = OUTPUT_CAP;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let shown = text[..cut].lines().count();
    format!(
        "{}\n[output {id} continues: {} lines, {} bytes in all; shown up to line {shown}. Read more with read_output(id=\"{id}\", start_line, end_line) or read_output(id=\"{id}\", grep=\"...\")]",
        &text[..cut],
        text.lines().count(),
        text.len()
    )
}

/// Where the data behind a digest is, so the model can read it when the digest is not
/// enough (the digest is what fills the context).
fn raw_note(id: &str, raw: Option<&RawRef>) -> String {
    raw.map(|raw| {
        format!(
            "\n[this is a digest of {} lines of raw data; read them with read_output(id=\"{id}\", raw=true) and start_line/end_line or grep]",
            raw.lines
        )
    })
    .unwrap_or_default()
}

/// Add a call to the assistant turn being rebuilt (starting one if the brain said nothing).
fn record_call(current: &mut Option<Message>, id: &str, tool: &str, args: &Value) {
    current
        .get_or_insert_with(Message::default)
        .calls
        .push(CallRecord {
            id: id.to_string(),
            name: tool.to_string(),
            args: args.clone(),
        });
}

pub fn build(ctx: &BrainContext) -> Vec<Turn> {
    let incident = &ctx.incident;
    let mut intro = format!("Incident: {}\nAlert: {}\n", incident.title, incident.alert);
    if let Some(at) = incident.fired_at {
        intro.push_str(&format!("Fired at: {}\n", at.format("%Y-%m-%dT%H:%M:%SZ")));
    }
    if !incident.namespace.is_empty() {
        intro.push_str(&format!("Namespace: {}\n", incident.namespace));
    }
    if !incident.services.is_empty() {
        let services: Vec<String> = incident
            .services
            .iter()
            .map(|(n, k)| format!("{n} ({k})"))
            .collect();
        intro.push_str(&format!("Services: {}\n", services.join(", ")));
    }
    if !incident.calls.is_empty() {
        let calls: Vec<String> = incident
            .calls
            .iter()
            .map(|(caller, callee)| format!("{caller} → {callee}"))
            .collect();
        intro.push_str(&format!(
            "Calls (symptoms travel from a callee to its callers): {}\n",
            calls.join(", ")
        ));
        if let Some(note) = &incident.calls_note {
            intro.push_str(&format!("({note})\n"));
        }
    }
    intro.push_str("Investigate.");
    let mut turns = vec![Turn::System(SYSTEM_PROMPT.into()), Turn::User(intro)];
    let mut current: Option<Message> = None;
    let mut answers: Vec<Turn> = Vec::new();
    let mut deferred: Vec<String> = Vec::new();
    let flush = |turns: &mut Vec<Turn>,
                 current: &mut Option<Message>,
                 answers: &mut Vec<Turn>,
                 deferred: &mut Vec<String>| {
        if let Some(message) = current.take() {
            turns.push(Turn::Assistant(message));
            turns.append(answers);
        }
        turns.extend(deferred.drain(..).map(Turn::User));
    };
    for item in &ctx.history {
        match item {
            HistoryItem::Said {
                reasoning,
                text,
                opaque,
            } => {
                flush(&mut turns, &mut current, &mut answers, &mut deferred);
                current = Some(Message {
                    text: text.clone(),
                    reasoning: reasoning.clone(),
                    calls: Vec::new(),
                    opaque: opaque.clone(),
                });
            }
            HistoryItem::ToolResult {
                id,
                tool,
                args,
                outcome,
                output,
                error,
                raw,
                ..
            } => {
                record_call(&mut current, id, tool, args);
                let (content, is_error) = match (outcome, error) {
                    (CallOutcome::Ok, _) => (
                        cap(id, &for_the_model(tool, output)) + &raw_note(id, raw.as_ref()),
                        false,
                    ),
                    (_, Some(e)) => (format!("error: {e}"), true),
                    (_, None) => ("error".to_string(), true),
                };
                let content =
                    if (tool == UPDATE_HYPOTHESES || tool == CONCLUDE) && content.is_empty() {
                        "ok".into()
                    } else {
                        content
                    };
                answers.push(Turn::ToolResult {
                    id: id.clone(),
                    name: tool.clone(),
                    content,
                    is_error,
                });
            }
            HistoryItem::Denied {
                id,
                tool,
                args,
                reason,
                ..
            } => {
                record_call(&mut current, id, tool, args);
                let content = format!(
                    "denied: {reason}. Do not retry this call; take the reason into account."
                );
                answers.push(Turn::ToolResult {
                    id: id.clone(),
                    name: tool.clone(),
                    content,
                    is_error: true,
                });
            }
            HistoryItem::Steering { text } => deferred.push(format!("The engineer says: {text}")),
            HistoryItem::BoardEdit { hypothesis } => deferred.push(format!(
                "The engineer edited the board (authoritative): {}",
                board_line(hypothesis)
            )),
            HistoryItem::Concluded { .. } => {}
        }
        if current.is_none() {
            turns.extend(deferred.drain(..).map(Turn::User));
        }
    }
    flush(&mut turns, &mut current, &mut answers, &mut deferred);
    let board = if ctx.board.is_empty() {
        "The board is empty.".to_string()
    } else {
        let lines: Vec<String> = ctx.board.iter().map(board_line).collect();
        format!(
            "The board now ([engineer] entries are authoritative):\n{}",
            lines.join("\n")
        )
    };
    turns.push(Turn::User(format!(
        "{board}\nContinue the investigation (turn {}).",
        ctx.turn
    )));
    turns
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IncidentBrief;
    use crate::event::HypothesisStatus;
    use serde_json::json;

    #[test]
    fn every_call_is_answered_and_edits_follow_the_answers() {
        let edited = Hypothesis {
            id: "H1".into(),
            statement: "payments deploy".into(),
            status: HypothesisStatus::Refuted,
            confidence: 0.7,
            evidence: vec!["c1".into()],
            key: None,
            author: Author::Human,
            pinned: false,
        };
        let ctx = BrainContext {
            incident: IncidentBrief {
                title: "t".into(),
                alert: "a".into(),
                ..IncidentBrief::default()
            },
            tools: vec![],
            history: vec![
                HistoryItem::Said {
                    reasoning: "think".into(),
                    text: "look".into(),
                    opaque: vec![],
                },
                HistoryItem::ToolResult {
                    id: "c1".into(),
                    tool: "metrics_rank".into(),
                    args: json!({}),
                    command: "metrics_rank".into(),
                    outcome: CallOutcome::Ok,
                    output: "x".repeat(OUTPUT_CAP + 10),
                    error: None,
                    raw: Some(RawRef {
                        blob: "ab".repeat(32),
                        lines: 5000,
                        bytes: 300_000,
                    }),
                },
                HistoryItem::BoardEdit {
                    hypothesis: edited.clone(),
                },
                HistoryItem::Denied {
                    id: "c2".into(),
                    tool: "kubectl".into(),
                    args: json!({"command": "kubectl delete ns x"}),
                    command: "kubectl delete ns x".into(),
                    reason: "no".into(),
                },
            ],
            board: vec![edited],
            turn: 3,
        };
        let turns = build(&ctx);
        assert!(
            matches!(&turns[2], Turn::Assistant(m) if m.calls.len() == 2 && m.reasoning == "think")
        );
        assert!(
            matches!(&turns[3], Turn::ToolResult { id, content, .. } if id == "c1" && content.contains("[output c1 continues") && content.contains("read_output(id=\"c1\"") && content.ends_with("[this is a digest of 5000 lines of raw data; read them with read_output(id=\"c1\", raw=true) and start_line/end_line or grep]"))
        );
        assert!(
            matches!(&turns[4], Turn::ToolResult { id, is_error: true, content, .. } if id == "c2" && content.starts_with("denied: no"))
        );
        assert!(
            matches!(&turns[5], Turn::User(t) if t.contains("edited the board (authoritative): H1 refuted 70% [engineer]"))
        );
        assert!(
            matches!(turns.last(), Some(Turn::User(t)) if t.contains("[engineer]") && t.contains("turn 3"))
        );
    }
}
