//! What the brain is told happened, folded from the event log and the blob store: the
//! engine keeps no other memory of a session. The live engine applies each event as it
//! emits it; `hunch resume` and `hunch fork` apply a recorded log the same way, so a
//! continued session tells its brain exactly what the original would have.

use crate::brain::HistoryItem;
use crate::event::{CallOutcome, Decision, Event, EventKind, OutputRef};
use crate::session::BlobStore;
use serde_json::Value;
use std::collections::HashMap;

/// A call as proposed, then as edited by the engineer.
#[derive(Debug, Clone)]
struct Call {
    tool: String,
    args: Value,
    command: String,
}

/// The brain's history, built one event at a time.
#[derive(Debug, Default)]
pub struct HistoryFold {
    items: Vec<HistoryItem>,
    calls: HashMap<String, Call>,
    /// The reply being streamed in this turn.
    reasoning: String,
    text: String,
    /// The root cause of the last conclusion, told after `conclude` is answered.
    concluded: Option<String>,
}

impl HistoryFold {
    /// The fold of a whole recorded log.
    pub fn of(events: &[Event], blobs: &BlobStore) -> HistoryFold {
        let mut fold = HistoryFold::default();
        for event in events {
            fold.apply(event, blobs);
        }
        fold
    }

    /// What the brain has been told so far.
    pub fn items(&self) -> &[HistoryItem] {
        &self.items
    }

    pub fn apply(&mut self, event: &Event, blobs: &BlobStore) {
        match &event.kind {
            EventKind::ReasoningDelta { text } => self.reasoning.push_str(text),
            EventKind::MessageDelta { text } => self.text.push_str(text),
            // A reply cut off and tried again: what it said so far is dropped.
            EventKind::Error {
                source, retried, ..
            } if source == "brain" && *retried => {
                self.reasoning.clear();
                self.text.clear();
            }
            EventKind::ReplyEnded { opaque } => {
                let opaque = opaque
                    .as_deref()
                    .and_then(|blob| blobs.get(blob).ok())
                    .and_then(|text| serde_json::from_str::<Vec<Value>>(&text).ok())
                    .unwrap_or_default();
                self.end_reply(opaque);
            }
            // Logs recorded before replies were marked end them at the next step.
            EventKind::TurnStarted { .. } => self.end_reply(Vec::new()),
            EventKind::ToolCallProposed {
                id,
                tool,
                args,
                command,
                ..
            } => {
                self.end_reply(Vec::new());
                let call = Call {
                    tool: tool.clone(),
                    args: args.clone(),
                    command: command.clone(),
                };
                self.calls.insert(id.clone(), call);
            }
            EventKind::ApprovalDecided {
                id,
                decision: Decision::Edited { args, command, .. },
                ..
            } => {
                if let Some(call) = self.calls.get_mut(id) {
                    call.args = args.clone();
                    call.command = command.clone();
                }
            }
            EventKind::ToolCallFinished {
                id,
                outcome,
                output,
                error,
                ..
            } => self.finished(id, *outcome, output, error.clone(), blobs),
            EventKind::BoardCallAnswered {
                id,
                tool,
                args,
                outcome,
                output,
                error,
            } => {
                self.end_reply(Vec::new());
                self.items.push(HistoryItem::ToolResult {
                    id: id.clone(),
                    tool: tool.clone(),
                    args: args.clone(),
                    command: String::new(),
                    outcome: *outcome,
                    output: output.clone(),
                    error: error.clone(),
                    raw: None,
                });
                if tool == crate::brain::CONCLUDE
                    && *outcome == CallOutcome::Ok
                    && let Some(root_cause) = self.concluded.take()
                {
                    self.items.push(HistoryItem::Concluded { root_cause });
                }
            }
            EventKind::Concluded { conclusion } => {
                self.concluded = Some(conclusion.root_cause.clone());
            }
            EventKind::Steering { text, .. } => self
                .items
                .push(HistoryItem::Steering { text: text.clone() }),
            EventKind::HypothesisEdited { hypothesis, .. } => {
                self.items.push(HistoryItem::BoardEdit {
                    hypothesis: hypothesis.clone(),
                })
            }
            _ => {}
        }
    }

    /// The reply streamed so far becomes one item, if it said anything.
    fn end_reply(&mut self, opaque: Vec<Value>) {
        if self.reasoning.is_empty() && self.text.is_empty() {
            return;
        }
        self.items.push(HistoryItem::Said {
            reasoning: std::mem::take(&mut self.reasoning),
            text: std::mem::take(&mut self.text),
            opaque,
        });
    }

    fn finished(
        &mut self,
        id: &str,
        outcome: CallOutcome,
        output: &OutputRef,
        error: Option<String>,
        blobs: &BlobStore,
    ) {
        let Some(call) = self.calls.get(id).cloned() else {
            return;
        };
        let item = match outcome {
            CallOutcome::Denied => HistoryItem::Denied {
                id: id.into(),
                tool: call.tool,
                args: call.args,
                command: call.command,
                reason: error.unwrap_or_default(),
            },
            _ => HistoryItem::ToolResult {
                id: id.into(),
                tool: call.tool,
                args: call.args,
                command: call.command,
                outcome,
                output: full_output(output, blobs),
                error,
                raw: output.raw.clone(),
            },
        };
        self.items.push(item);
    }
}

/// A call's whole output: the blob when the preview was cut, else the preview.
fn full_output(output: &OutputRef, blobs: &BlobStore) -> String {
    match &output.blob {
        Some(blob) => blobs.get(blob).unwrap_or_else(|e| {
            format!(
                "{}\n[the full output could not be read from the blob store: {e}]",
                output.preview
            )
        }),
        None => output.preview.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Conclusion, Risk};
    use serde_json::json;

    fn event(kind: EventKind) -> Event {
        Event {
            seq: 0,
            ts: chrono::Utc::now(),
            kind,
        }
    }

    #[test]
    fn a_log_folds_into_what_the_brain_was_told() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::new(dir.path());
        let long = "row\n".repeat(500);
        let blob = blobs.put(&long).unwrap();
        let opaque = blobs.put(r#"[{"signature":"abc"}]"#).unwrap();
        let proposed = |id: &str, command: &str| {
            event(EventKind::ToolCallProposed {
                id: id.into(),
                tool: "kubectl".into(),
                args: json!({"command": command}),
                command: command.into(),
                target: String::new(),
                risk: Risk::ReadOnly,
                rationale: String::new(),
            })
        };
        let events = vec![
            event(EventKind::TurnStarted { turn: 1 }),
            event(EventKind::MessageDelta {
                text: "lost".into(),
            }),
            event(EventKind::Error {
                source: "brain".into(),
                message: "cut".into(),
                retried: true,
            }),
            event(EventKind::ReasoningDelta {
                text: "think".into(),
            }),
            event(EventKind::MessageDelta {
                text: "look at pods".into(),
            }),
            event(EventKind::ReplyEnded {
                opaque: Some(opaque),
            }),
            proposed("c1", "kubectl get pods"),
            event(EventKind::ToolCallFinished {
                id: "c1".into(),
                outcome: CallOutcome::Ok,
                duration_ms: 3,
                output: OutputRef {
                    preview: "row".into(),
                    blob: Some(blob),
                    ..OutputRef::default()
                },
                error: None,
            }),
            proposed("c2", "kubectl rollout undo deployment/x"),
            event(EventKind::ApprovalDecided {
                id: "c2".into(),
                decision: Decision::Denied {
                    reason: "not now".into(),
                },
                by: "alice".into(),
            }),
            event(EventKind::ToolCallFinished {
                id: "c2".into(),
                outcome: CallOutcome::Denied,
                duration_ms: 0,
                output: OutputRef::default(),
                error: Some("not now".into()),
            }),
            event(EventKind::Steering {
                text: "check the db".into(),
                by: "alice".into(),
            }),
            event(EventKind::Concluded {
                conclusion: Conclusion {
                    root_cause: "x broke".into(),
                    confidence: 0.9,
                    evidence: Vec::new(),
                    follow_ups: Vec::new(),
                },
            }),
            event(EventKind::BoardCallAnswered {
                id: "b1".into(),
                tool: crate::brain::CONCLUDE.into(),
                args: json!({}),
                outcome: CallOutcome::Ok,
                output: "concluded".into(),
                error: None,
            }),
        ];
        let fold = HistoryFold::of(&events, &blobs);
        let items = fold.items();
        assert_eq!(items.len(), 6, "{items:#?}");
        assert!(
            matches!(&items[0], HistoryItem::Said { reasoning, text, opaque } if reasoning == "think" && text == "look at pods" && opaque[0]["signature"] == "abc")
        );
        assert!(
            matches!(&items[1], HistoryItem::ToolResult { id, output, .. } if id == "c1" && *output == long),
            "the full output comes back from the blob store"
        );
        assert!(
            matches!(&items[2], HistoryItem::Denied { reason, command, .. } if reason == "not now" && command.contains("rollout undo"))
        );
        assert!(matches!(&items[3], HistoryItem::Steering { text } if text == "check the db"));
        assert!(matches!(&items[4], HistoryItem::ToolResult { id, .. } if id == "b1"));
        assert!(
            matches!(&items[5], HistoryItem::Concluded { root_cause } if root_cause == "x broke")
        );
    }
}
