//! Confidence from evidence, not from a model's adjectives.
//!
//! A model's `update_hypotheses` and `conclude` calls carry a confidence the model chose.
//! Before they reach the engine, the confidence is re-grounded in what the call cites:
//! only ids of tool calls that really answered count, and the more independent tools they
//! come from, the higher the ceiling ([`ceiling`]), the way the offline brain's
//! confidence grows with the strength and independence of its evidence. The board shows
//! the grounded number; a higher number the model stated is kept in the text, as the
//! model's (`(model said 90%)`), and a claim that cites nothing that answered is marked
//! `[uncited]`. The offline brain's own calls are not touched.

use crate::event::{CallOutcome, HypothesisStatus};
use crate::{
    CONCLUDE, ConcludeArgs, HistoryItem, ProposedCall, UPDATE_HYPOTHESES, UpdateHypothesesArgs,
};
use std::collections::{BTreeSet, HashMap};

pub(super) const UNCITED: &str = "[uncited] ";

/// The highest confidence evidence from `tools` independent tools can carry.
pub(super) fn ceiling(tools: usize) -> f32 {
    match tools {
        0 => 0.0,
        1 => 0.4,
        2 => 0.6,
        3 => 0.75,
        _ => 0.85,
    }
}

/// The tool behind each call id that answered successfully.
fn answered(history: &[HistoryItem]) -> HashMap<&str, &str> {
    history
        .iter()
        .filter_map(|h| match h {
            HistoryItem::ToolResult {
                id,
                tool,
                outcome: CallOutcome::Ok,
                ..
            } if tool != UPDATE_HYPOTHESES && tool != CONCLUDE => {
                Some((id.as_str(), tool.as_str()))
            }
            _ => None,
        })
        .collect()
}

/// The text without the marks an earlier grounding added (the model may copy them back).
fn unmarked(text: &str) -> String {
    let text = text.trim().trim_start_matches(UNCITED.trim_end()).trim();
    match text.rfind(" (model said ") {
        Some(at) if text.ends_with("%)") => text[..at].to_string(),
        _ => text.to_string(),
    }
}

/// Ground one claim: its text marked, its confidence capped by its evidence.
fn ground_claim(
    text: &str,
    stated: f32,
    evidence: &[String],
    answered: &HashMap<&str, &str>,
    refuted: bool,
) -> (String, f32) {
    let tools: BTreeSet<&str> = evidence
        .iter()
        .filter_map(|id| answered.get(id.trim()).copied())
        .collect();
    let grounded = stated.clamp(0.0, 1.0).min(ceiling(tools.len()));
    let mut text = unmarked(text);
    if refuted {
        return (text, stated);
    }
    if tools.is_empty() {
        text = format!("{UNCITED}{text}");
    }
    if stated > grounded + 0.005 {
        text.push_str(&format!(" (model said {:.0}%)", stated * 100.0));
    }
    (text, grounded)
}

/// A model's board or conclusion call with its confidence grounded; other calls, and
/// calls whose arguments don't parse (the engine rejects those), are returned unchanged.
pub(super) fn ground(mut call: ProposedCall, history: &[HistoryItem]) -> ProposedCall {
    let answered = answered(history);
    if call.tool == UPDATE_HYPOTHESES
        && let Ok(mut args) = serde_json::from_value::<UpdateHypothesesArgs>(call.args.clone())
    {
        for h in &mut args.hypotheses {
            let refuted = h.status == HypothesisStatus::Refuted;
            (h.statement, h.confidence) =
                ground_claim(&h.statement, h.confidence, &h.evidence, &answered, refuted);
        }
        if let Ok(value) = serde_json::to_value(&args) {
            call.args = value;
        }
    } else if call.tool == CONCLUDE
        && let Ok(mut args) = serde_json::from_value::<ConcludeArgs>(call.args.clone())
    {
        (args.root_cause, args.confidence) = ground_claim(
            &args.root_cause,
            args.confidence,
            &args.evidence,
            &answered,
            false,
        );
        if let Ok(value) = serde_json::to_value(&args) {
            call.args = value;
        }
    }
    call
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(id: &str, tool: &str) -> HistoryItem {
        HistoryItem::ToolResult {
            id: id.into(),
            tool: tool.into(),
            args: json!({}),
            command: tool.into(),
            outcome: CallOutcome::Ok,
            output: "x".into(),
            error: None,
            raw: None,
        }
    }

    fn board(hypotheses: serde_json::Value) -> ProposedCall {
        ProposedCall {
            tool: UPDATE_HYPOTHESES.into(),
            args: json!({ "hypotheses": hypotheses }),
            rationale: String::new(),
        }
    }

    #[test]
    fn confidence_follows_the_cited_evidence_and_the_models_number_is_kept_as_its_own() {
        let history = [ok("c1", "metrics_rank"), ok("c2", "change_events")];
        let grounded = ground(
            board(json!([
                {"statement": "payments deploy", "status": "supported", "confidence": 0.95, "evidence": ["c1", "c2"]},
                {"statement": "the database is slow", "status": "supported", "confidence": 0.9, "evidence": []},
                {"statement": "cache", "status": "open", "confidence": 0.3, "evidence": ["c1", "c9"]},
            ])),
            &history,
        );
        let h = &grounded.args["hypotheses"];
        assert_eq!(h[0]["statement"], "payments deploy (model said 95%)");
        assert!((h[0]["confidence"].as_f64().unwrap() - 0.6).abs() < 1e-6);
        assert_eq!(
            h[1]["statement"],
            "[uncited] the database is slow (model said 90%)"
        );
        assert_eq!(h[1]["confidence"], 0.0);
        assert_eq!(
            h[2]["statement"], "cache",
            "a modest claim on real evidence is unmarked"
        );
        assert!((h[2]["confidence"].as_f64().unwrap() - 0.3).abs() < 1e-6);
        // Grounding again does not stack the marks.
        let again = ground(board(h.clone()), &history);
        assert_eq!(
            again.args["hypotheses"][1]["statement"],
            "[uncited] the database is slow"
        );
    }

    #[test]
    fn a_conclusion_is_grounded_too() {
        let history = [ok("c1", "metrics_rank")];
        let call = ProposedCall {
            tool: CONCLUDE.into(),
            args: json!({"root_cause": "payments", "confidence": 0.99, "evidence": ["c1", "b1"]}),
            rationale: String::new(),
        };
        let grounded = ground(call, &history);
        assert_eq!(grounded.args["root_cause"], "payments (model said 99%)");
        assert!((grounded.args["confidence"].as_f64().unwrap() - 0.4).abs() < 1e-6);
    }
}
