//! Keeping a weak model investigating: judging each of its turns, nudging it when it
//! stalls, and handing the investigation to the offline evidence pipeline when nudges
//! don't help.
//!
//! The one idea: a turn is judged by what it added to the record, not by what the model
//! said. A turn that brought new evidence (a tool answer unlike any before it, digits
//! aside) is progress; one that only talked is idle; one whose calls were all rejected is
//! invalid; one whose calls only repeated known answers (the same tool with near-same
//! arguments) is a loop; one in which the engineer spoke resets the count. Each idle,
//! invalid or looping turn is a strike: the next request carries a nudge (what the model
//! may call, and what the evidence pipeline would do next, and why), and after
//! [`HANDOVER_AFTER`] strikes the offline brain's plan drives the rest of the session.
//! The model's text stays in the record as commentary; the screen says who did what.

use crate::event::CallOutcome;
use crate::offline;
use crate::{BrainContext, CONCLUDE, HistoryItem, ProposedCall, UPDATE_HYPOTHESES};
use std::collections::HashSet;

/// Strikes (idle, invalid or looping turns in a row) before the offline brain takes over.
pub(super) const HANDOVER_AFTER: u32 = 3;

/// What one of the model's turns added to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// New evidence (or a conclusion).
    Progress,
    /// Text and no call.
    Idle,
    /// Every call was rejected (unknown tool, invalid arguments, a repeat).
    Invalid,
    /// Calls whose answers were all known already.
    Looping,
    /// The engineer steered or edited the board: a fresh start.
    Human,
    /// Nothing to judge (only denials, or nothing at all).
    Neutral,
}

impl Verdict {
    /// Whether this verdict is a strike.
    pub(super) fn strikes(self) -> bool {
        matches!(self, Verdict::Idle | Verdict::Invalid | Verdict::Looping)
    }

    fn why(self) -> &'static str {
        match self {
            Verdict::Idle => "your last answer was text without a tool call",
            Verdict::Invalid => "your last calls were rejected (see their errors)",
            Verdict::Looping => {
                "your last calls repeated earlier ones (same tool, near-same arguments) and brought no new evidence"
            }
            _ => "",
        }
    }
}

/// A tool answer with its digits and spacing set aside, so a repeat whose timestamps or
/// durations differ is still a repeat.
fn shape(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .collect::<String>()
        .to_lowercase()
}

/// Arguments as compared for a loop: string values without case or spacing differences
/// (`kubectl  get pods` is `kubectl get pods`); numbers count (another page is new).
fn near(args: &serde_json::Value) -> String {
    let mut args = args.clone();
    crate::sanitize::each_string(&mut args, &mut |s: &mut String| {
        *s = s
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
    });
    args.to_string()
}

/// Judge the turn whose record is `latest`, given everything `earlier`.
pub(super) fn judge(earlier: &[HistoryItem], latest: &[HistoryItem]) -> Verdict {
    if latest.iter().any(|h| {
        matches!(
            h,
            HistoryItem::Steering { .. } | HistoryItem::BoardEdit { .. }
        )
    }) {
        return Verdict::Human;
    }
    let known: HashSet<(String, String, String)> = earlier
        .iter()
        .filter_map(|h| match h {
            HistoryItem::ToolResult {
                tool,
                args,
                outcome: CallOutcome::Ok,
                output,
                ..
            } => Some((tool.clone(), near(args), shape(output))),
            _ => None,
        })
        .collect();
    let denied_before: HashSet<(String, String)> = earlier
        .iter()
        .filter_map(|h| match h {
            HistoryItem::Denied { tool, args, .. } => Some((tool.clone(), args.to_string())),
            _ => None,
        })
        .collect();
    let mut answered = 0;
    let mut failed = 0;
    let mut denied_again = false;
    let mut denied = 0;
    let mut fresh = HashSet::new();
    for item in latest {
        match item {
            HistoryItem::ToolResult {
                tool,
                args,
                outcome,
                output,
                ..
            } => {
                if *outcome != CallOutcome::Ok {
                    failed += 1;
                    continue;
                }
                answered += 1;
                let key = (tool.clone(), near(args), shape(output));
                if tool == CONCLUDE || (!known.contains(&key) && fresh.insert(key)) {
                    return Verdict::Progress;
                }
            }
            HistoryItem::Denied { tool, args, .. } => {
                denied += 1;
                denied_again |= denied_before.contains(&(tool.clone(), args.to_string()));
            }
            HistoryItem::Concluded { .. } => return Verdict::Progress,
            _ => {}
        }
    }
    match (answered, failed, denied) {
        (0, 0, 0) => Verdict::Idle,
        (0, _, 0) => Verdict::Invalid,
        (0, _, _) if denied_again => Verdict::Looping,
        (0, _, _) => Verdict::Neutral,
        _ => Verdict::Looping,
    }
}

/// The context the offline brain plans from when it suggests a step: the model's calls
/// that failed (rejected arguments, unknown tools) are left out, so a source the model
/// asked for badly is still suggested, properly, instead of counted as a source that did
/// not answer.
pub(super) fn without_failures(ctx: &BrainContext) -> BrainContext {
    let history = ctx
        .history
        .iter()
        .filter(|h| {
            !matches!(h, HistoryItem::ToolResult { outcome, .. } if *outcome != CallOutcome::Ok)
        })
        .cloned()
        .collect();
    BrainContext {
        history,
        ..ctx.clone()
    }
}

/// The offline brain's plan after the hand-over at `at` (the history's length then).
///
/// The model's own tool answers before it are left out of the pipeline's view — they stay
/// in the record and on screen, citable by id — so the pipeline takes its whole snapshot
/// itself rather than building on a model's partial or odd calls. Where the pipeline
/// would make exactly a call the model already made (same tool, same arguments), that
/// answer is put back in its view instead, so nothing is asked twice (the engine would
/// refuse the repeat). Denials, steering and board edits are the engineer's and stay.
pub(super) fn offline_plan(ctx: &BrainContext, at: usize) -> offline::Plan {
    let at = at.min(ctx.history.len());
    let mut reused: HashSet<usize> = HashSet::new();
    let view = |reused: &HashSet<usize>| {
        let mut history: Vec<HistoryItem> = ctx.history[..at]
            .iter()
            .enumerate()
            .filter(|(i, h)| {
                reused.contains(i)
                    || !matches!(h, HistoryItem::ToolResult { .. } | HistoryItem::Said { .. })
            })
            .map(|(_, h)| h.clone())
            .collect();
        history.extend(ctx.history[at..].iter().cloned());
        BrainContext {
            history,
            ..ctx.clone()
        }
    };
    for _ in 0..16 {
        let plan = offline::plan(&view(&reused));
        let again: Vec<usize> = plan
            .calls
            .iter()
            .filter_map(|call| {
                ctx.history[..at].iter().position(|h| {
                    matches!(h, HistoryItem::ToolResult { tool, args, outcome: CallOutcome::Ok, .. } if *tool == call.tool && *args == call.args)
                })
            })
            .filter(|i| !reused.contains(i))
            .collect();
        if again.is_empty() {
            return plan;
        }
        reused.extend(again);
    }
    offline::plan(&view(&reused))
}

/// The call the offline evidence pipeline would make next, to suggest to the model.
pub(super) fn suggestion(ctx: &BrainContext) -> Option<ProposedCall> {
    let plan = offline::plan(&without_failures(ctx));
    let mut calls = plan.calls.into_iter();
    let first = calls.next()?;
    if first.tool == UPDATE_HYPOTHESES {
        // The board write comes with the step that follows; suggest the step.
        return calls.find(|c| c.tool != UPDATE_HYPOTHESES).or(Some(first));
    }
    Some(first)
}

/// The first sentence of a tool's description, short.
fn gist(description: &str) -> String {
    let sentence = description
        .split_once(". ")
        .map_or(description, |(first, _)| first)
        .trim_end_matches('.');
    let mut short: String = sentence.chars().take(90).collect();
    if short.len() < sentence.len() {
        short.push('…');
    }
    short
}

/// What the model is told after a strike: why, what comes next, what it may call.
pub(super) fn nudge(
    ctx: &BrainContext,
    verdict: Verdict,
    strikes: u32,
    next: Option<&ProposedCall>,
) -> String {
    let mut text = format!(
        "hunch: {} (strike {strikes} of {HANDOVER_AFTER}; at {HANDOVER_AFTER} the offline evidence pipeline takes over the investigation).\nAnswer with a tool call (the API's tool_calls, or JSON {{\"name\": ..., \"arguments\": {{...}}}}), not with prose.",
        verdict.why()
    );
    if let Some(call) = next {
        text.push_str(&format!(
            "\nSuggested next step: call {} with {} — {}.",
            call.tool,
            call.args,
            call.rationale.trim_end_matches('.')
        ));
    }
    text.push_str("\nTools you may call:");
    for tool in &ctx.tools {
        text.push_str(&format!("\n- {}: {}", tool.name, gist(&tool.description)));
    }
    text
}

/// What the screen says when the offline brain takes over.
pub(super) fn handover_notice(model: &str, strikes: u32) -> String {
    format!(
        "Hand-over: {model} made no progress in {strikes} turns in a row (no usable tool call, or only repeats). The offline evidence pipeline (snapshot, digests, hypotheses) carries the investigation from here; the model's text above stays as commentary.\n"
    )
}

/// What the screen says before a conclusion the offline brain reached after a hand-over.
pub(super) fn concluded_by_offline(model: &str) -> String {
    format!(
        "This conclusion is the offline evidence pipeline's (it took over from {model}); the model's own words above are commentary, not evidence.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn result(id: &str, tool: &str, outcome: CallOutcome, output: &str) -> HistoryItem {
        HistoryItem::ToolResult {
            id: id.into(),
            tool: tool.into(),
            args: json!({}),
            command: tool.into(),
            outcome,
            output: output.into(),
            error: None,
            raw: None,
        }
    }

    fn said(text: &str) -> HistoryItem {
        HistoryItem::Said {
            reasoning: String::new(),
            text: text.into(),
            opaque: vec![],
        }
    }

    #[test]
    fn turns_are_judged_by_what_they_added() {
        let first = result(
            "c1",
            "metrics_rank",
            CallOutcome::Ok,
            "payments p99 139 -> 1792",
        );
        assert_eq!(
            judge(&[], &[said("I think"), first.clone()]),
            Verdict::Progress
        );
        assert_eq!(
            judge(std::slice::from_ref(&first), &[said("hmm")]),
            Verdict::Idle
        );
        let repeat = result(
            "c2",
            "metrics_rank",
            CallOutcome::Ok,
            "payments p99 140 -> 1795",
        );
        assert_eq!(
            judge(std::slice::from_ref(&first), &[repeat]),
            Verdict::Looping,
            "digits aside, the same answer"
        );
        let rejected = result("c3", "kubectl", CallOutcome::Failed, "");
        assert_eq!(
            judge(std::slice::from_ref(&first), &[rejected]),
            Verdict::Invalid
        );
        assert_eq!(
            judge(
                &[first],
                &[HistoryItem::Steering {
                    text: "look at db".into()
                }]
            ),
            Verdict::Human
        );
    }

    #[test]
    fn a_denial_repeated_is_a_loop_and_a_first_denial_is_not_a_strike() {
        let denied = HistoryItem::Denied {
            id: "c4".into(),
            tool: "kubectl".into(),
            args: json!({"command": "kubectl delete pod x"}),
            command: "kubectl delete pod x".into(),
            reason: "no".into(),
        };
        assert_eq!(judge(&[], std::slice::from_ref(&denied)), Verdict::Neutral);
        assert_eq!(
            judge(std::slice::from_ref(&denied), std::slice::from_ref(&denied)),
            Verdict::Looping
        );
    }

    #[test]
    fn the_nudge_names_the_tools_and_the_next_step() {
        let ctx = BrainContext {
            tools: crate::engine_tool_specs(),
            ..BrainContext::default()
        };
        let next = ProposedCall {
            tool: "metrics_rank".into(),
            args: json!({"top": 5}),
            rationale: "which metrics moved, and when".into(),
        };
        let text = nudge(&ctx, Verdict::Idle, 1, Some(&next));
        assert!(text.contains("strike 1 of 3"), "{text}");
        assert!(
            text.contains("call metrics_rank with {\"top\":5} — which metrics moved, and when."),
            "{text}"
        );
        assert!(text.contains("- conclude:"), "{text}");
    }
}
