//! The conclusion: what the evidence shows, said in words that claim no more than the
//! cited calls do. With a leading hypothesis, its statement, what the blamed service
//! logged, where the effect landed downstream, the mechanism, and what was done; without
//! one, the strongest suspect from the evidence ([`super::suspects`]), marked
//! inconclusive when the evidence does not single it out. Either way it ends with the
//! sources that did not answer, so a conclusion drawn without them says so.

use super::checks::{MIN_RUNBOOK_SCORE, MITIGATION_CONFIDENCE, Mitigation};
use super::evidence::{Change, Denial, Findings};
use super::hypotheses::{Board, Candidate, call_graph, confirmed_by_a_human, is_suspect};
use super::{Plan, hhmmss, seconds, suspects};
use crate::event::{Author, CallOutcome, HypothesisStatus};
use crate::protocol::board::ConcludeArgs;
use crate::protocol::digest::args;
use crate::{BrainContext, CONCLUDE};
use std::collections::BTreeSet;

/// No hypothesis stands: conclude from the evidence alone, or say nothing is left.
pub(super) fn without_a_lead(ctx: &BrainContext, f: &Findings, board: &Board, p: &mut Plan) {
    from_the_evidence(ctx, f, board, None, p);
}

/// Conclude from the evidence's suspects, `lead` (the board's strongest) first when it
/// is one of them; say nothing is left when there are none.
pub(super) fn from_the_evidence(
    ctx: &BrainContext,
    f: &Findings,
    board: &Board,
    lead: Option<&str>,
    p: &mut Plan,
) {
    board.record(p);
    // A suspect the engineer refuted stays refuted.
    let refuted = |service: &str| {
        board.candidates.iter().any(|c| {
            is_suspect(&c.hypothesis)
                && c.service.as_deref() == Some(service)
                && c.hypothesis.status == HypothesisStatus::Refuted
        })
    };
    let mut ranked: Vec<suspects::Suspect> = suspects::suspects(
        f,
        &call_graph(ctx),
        super::alerting_service(ctx),
        &ctx.incident.alert,
        &ctx.incident.services,
    )
    .into_iter()
    .filter(|s| !refuted(&s.service))
    .collect();
    if let Some(at) = lead.and_then(|lead| ranked.iter().position(|s| s.service == lead)) {
        let first = ranked.remove(at);
        ranked.insert(0, first);
    }
    if ranked.is_empty() {
        let none_formed = board.candidates.is_empty();
        if none_formed {
            p.think("No hypothesis could be formed from the sources that answered, and the data offers no suspect.");
        } else {
            p.think(
                "Every hypothesis on the board is refuted, and the data offers no other suspect.",
            );
        }
        conclude_inconclusive(ctx, f, none_formed, p);
    } else {
        let outweighed: Vec<&str> = board
            .live()
            .filter(|c| !is_suspect(&c.hypothesis))
            .map(|c| c.hypothesis.id.as_str())
            .collect();
        if outweighed.is_empty() {
            p.think("No change event explains the onset. Following the evidence instead: the services that moved, and which of them the call graph says the others depend on.");
        } else {
            p.think(format!(
                "The evidence against {} outweighs {} on the board: it is concluded, the others stay open.",
                ranked[0].service,
                outweighed.join(", ")
            ));
        }
        conclude_from_evidence(ctx, f, board, &ranked, p);
    }
}

/// Dedup, keeping the first of each.
fn unique(mut ids: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    ids.retain(|e| seen.insert(e.clone()));
    ids
}

/// Follow-ups the best-matching runbooks and past incidents recommend.
fn follow_ups_from_knowledge(f: &Findings, lead: &Candidate, root_cause: &str) -> Vec<String> {
    let mut out = Vec::new();
    // The services the conclusion names: the blamed one, and those its mechanism runs
    // through (the database whose sessions it holds).
    let mut involved: Vec<&str> = lead.service.as_deref().into_iter().collect();
    if let Some((_, ranking)) = &f.ranking {
        for shift in &ranking.changed {
            if !involved.contains(&shift.service.as_str())
                && super::named_at(root_cause, &shift.service).is_some()
            {
                involved.push(&shift.service);
            }
        }
    }
    // Only documents about what was concluded: a runbook or past incident that names
    // the blamed service, or one tagged with the kind of cause concluded (a deploy's
    // runbook for a deploy). Another service's runbook has nothing to say about this one.
    let kind = lead
        .hypothesis
        .key
        .as_deref()
        .and_then(|k| k.split(':').next())
        .filter(|k| !matches!(*k, "suspect"));
    let about = |doc: &crate::knowledge::ParsedDoc| {
        let text = format!("{} {} {}", doc.title, doc.tags.join(" "), doc.summary);
        let named = involved
            .iter()
            .any(|service| super::named_at(&text, service).is_some());
        named || kind.is_some_and(|kind| doc.tags.iter().any(|t| t.eq_ignore_ascii_case(kind)))
    };
    if let Some((_, hits)) = &f.knowledge {
        for hit in hits
            .iter()
            .filter(|h| h.score >= MIN_RUNBOOK_SCORE && about(&h.doc))
            .take(3)
        {
            for item in &hit.doc.follow_ups {
                let source = hit.doc.title.split(':').next().unwrap_or("").trim();
                let text = if hit.doc.kind == "incident" {
                    format!("{item} (from {source})")
                } else {
                    format!("{item} (runbook: {source})")
                };
                if !out.contains(&text) && !item.contains("(fixed in") && !item.contains("(done") {
                    out.push(text);
                }
            }
        }
    }
    out
}

/// Conclude on the leading hypothesis.
pub(super) fn conclude(
    f: &Findings,
    calls: &[(String, String)],
    lead: &Candidate,
    candidates: &[Candidate],
    mitigation: Option<&Mitigation>,
    held: Option<&Denial>,
    p: &mut Plan,
) {
    let h = &lead.hypothesis;
    let mut root_cause = h.statement.clone();
    // What the blamed service itself logged since the onset: often the mechanism.
    if let Some(service) = &lead.service {
        let logged: Vec<String> = f
            .logs
            .iter()
            .flat_map(|(_, _, templates)| templates)
            .filter(|t| &t.service == service && suspects::surging(t))
            .take(2)
            .map(|t| format!("\"{}\" ×{}", super::quote(&t.template), t.after))
            .collect();
        if !logged.is_empty() && !root_cause.contains(&logged[0]) {
            root_cause.push_str(&format!(
                "; {service} logs new since the onset: {}",
                logged.join("; ")
            ));
        }
        // Where the change's effect landed: an anomalous service it depends on.
        let downstream = suspects::suspects(f, calls, None, "", &[])
            .into_iter()
            .find(|s| &s.service != service && s.callers.contains(service));
        if let Some(hit) = downstream {
            root_cause.push_str(&format!(
                ". Downstream, {}: {}",
                hit.service,
                suspects::evidence_text(&hit)
            ));
        }
    }
    if let Some(mechanism) = candidates.iter().find(|c| {
        c.kind != lead.kind
            && c.hypothesis.status != HypothesisStatus::Refuted
            && c.hypothesis.confidence >= 0.5
    }) {
        root_cause.push_str(&format!(
            ". Mechanism ({}): {}",
            mechanism.hypothesis.id, mechanism.hypothesis.statement
        ));
    }
    let mut evidence = h.evidence.clone();
    let mut follow_ups = Vec::new();
    match mitigation {
        Some(m) => {
            evidence.push(m.id.clone());
            evidence.extend(m.verify_ids.iter().cloned());
            p.say(format!(
                "Mitigated with `{}` ({}){}.",
                m.command,
                m.id,
                if m.verified {
                    ", verified"
                } else {
                    ", not yet verified"
                }
            ));
        }
        None => {
            if h.confidence < MITIGATION_CONFIDENCE && !confirmed_by_a_human(h) {
                follow_ups.push(format!(
                    "Confidence in {} is {:.0}%: gather more evidence before mitigating",
                    h.id,
                    h.confidence * 100.0
                ));
            }
        }
    }
    for d in &f.denials {
        follow_ups.push(format!(
            "`{}` was not run (denied: \"{}\")",
            d.command, d.reason
        ));
    }
    if let Some(d) = held {
        p.think(format!(
            "You asked to hold changes (\"{}\"), so I am not proposing another mitigation.",
            d.reason
        ));
    }
    follow_ups.extend(follow_ups_from_knowledge(f, lead, &root_cause));
    note_unavailable(f, &mut root_cause, &mut follow_ups);
    let evidence = unique(evidence);
    let by = if h.author == Author::Human {
        " (as edited by the engineer)"
    } else {
        ""
    };
    // The engineer's own number stands; the brain's is its evidence, calibrated.
    let confidence = if h.author == Author::Human {
        h.confidence
    } else {
        calibrated(h.confidence)
    };
    // The conclusion itself is shown once, as the conclusion; this says where it stands.
    p.say(format!(
        "Concluding on {}{by}, {:.0}% confident; evidence {}.",
        h.id,
        confidence * 100.0,
        evidence.join(", ")
    ));
    let conclusion = ConcludeArgs {
        root_cause,
        confidence,
        evidence,
        follow_ups,
    };
    p.call(
        CONCLUDE,
        args(&conclusion),
        "the evidence supports one explanation",
    );
}

/// Change events of any kind in the 30 minutes before the onset on the suspect or on one
/// of its anomalous callers, nearest first (a migration Job of a caller locks a database).
fn recent_changes(f: &Findings, suspect: &suspects::Suspect) -> Vec<String> {
    let (Some((_, ranking)), Some((_, changes))) = (&f.ranking, &f.changes) else {
        return Vec::new();
    };
    let onset = seconds(&ranking.onset);
    let mut near: Vec<&Change> = changes
        .iter()
        .filter(|c| (onset - 1800..=onset).contains(&seconds(&c.time)))
        .filter(|c| c.service == suspect.service || suspect.callers.contains(&c.service))
        .collect();
    near.sort_by_key(|c| onset - seconds(&c.time));
    near.iter()
        .take(2)
        .map(|c| {
            format!(
                "{} {} at {}: {}",
                c.service,
                c.kind,
                hhmmss(&c.time),
                c.detail
            )
        })
        .collect()
}

/// How many times over the evidence behind a conclusion counts when it is turned into
/// the probability the conclusion states: confidence = 1 − (1 − evidence)^k.
///
/// The board's confidences combine each piece of evidence as a noisy OR, so one strong
/// series that moved reads about 45 %; as a probability of being right that is too low.
/// On the development sets (`cargo bench --bench diagnosis`: 76 conclusions over four
/// systems) every conclusion that singles its suspect out is right and the evidence
/// reads 0.2–0.7, so the Brier score keeps improving as k grows. k = 2 is deliberately
/// far below that: on incidents the brain had not seen, accuracy has been much lower
/// than on its development sets, and a stated 90 % that is right 60 % of the time is
/// worse at 3 a.m. than a stated 70 %.
const EVIDENCE_COUNTS: i32 = 2;

/// The confidence a conclusion states for `evidence` (the board's combined confidence,
/// reduced when the suspect is not singled out): see [`EVIDENCE_COUNTS`].
pub(super) fn calibrated(evidence: f32) -> f32 {
    let evidence = evidence.clamp(0.0, 1.0);
    let c = 1.0 - (1.0 - evidence).powi(EVIDENCE_COUNTS);
    // Never certain: the board stops at 95 %, and so does what a conclusion states.
    (c.min(MOST_STATED) * 100.0).round() / 100.0
}

/// The most a conclusion of the brain's states.
const MOST_STATED: f32 = 0.95;

/// No change event explains the incident, but the evidence points at services: conclude
/// with the strongest suspect and what shows it, and say how sure that is.
fn conclude_from_evidence(
    ctx: &BrainContext,
    f: &Findings,
    board: &Board,
    ranked: &[suspects::Suspect],
    p: &mut Plan,
) {
    let top = &ranked[0];
    let ahead = ranked
        .get(1)
        .is_none_or(|second| top.score >= 1.5 * second.score);
    // Singled out: well ahead of the next, on a path from what paged, moved the way of
    // harm (not only more bytes or syscalls, which may follow as well as lead), and not
    // on evidence read without history alone.
    let clear = ahead && top.on_path && top.harm_known() && !top.without_history_only();
    let what = match top.resource_words().as_slice() {
        [] => String::new(),
        words => format!(" ({})", words.join(", ")),
    };
    // Errors naming a host outside the system, with nothing inside below them: the
    // dependency is the suspect, and the service is where it shows.
    let external = suspects::external_host(top, &ctx.incident.services);
    let mut root_cause = match &external {
        Some(host) => format!(
            "{host}, an external dependency of {}, is the most likely cause: {}",
            top.service,
            suspects::evidence_text(top)
        ),
        None => format!(
            "{}{what} is the most likely cause: {}",
            top.service,
            suspects::evidence_text(top)
        ),
    };
    if !top.callers.is_empty() {
        root_cause.push_str(&format!(
            ". It explains its callers' symptoms ({} {} on it)",
            top.callers.join(", "),
            if top.callers.len() == 1 {
                "depends"
            } else {
                "depend"
            }
        ));
        let caller_errors: Vec<String> = f
            .logs
            .iter()
            .flat_map(|(_, _, templates)| templates)
            .filter(|t| top.callers.contains(&t.service) && suspects::surging(t))
            .take(2)
            .map(|t| format!("{}: \"{}\"", t.service, super::quote(&t.template)))
            .collect();
        if !caller_errors.is_empty() {
            root_cause.push_str(&format!("; their new errors: {}", caller_errors.join("; ")));
        }
    }
    let near = recent_changes(f, top);
    if !near.is_empty() {
        root_cause.push_str(&format!(
            ". Changes just before the onset: {}",
            near.join("; ")
        ));
    }
    if !clear {
        let others: Vec<String> = ranked[1..]
            .iter()
            .take(2)
            .map(|s| format!("{} ({})", s.service, suspects::evidence_text(s)))
            .collect();
        root_cause.push_str(&format!(
            ". Inconclusive: the evidence does not single it out; next suspects: {}",
            others.join("; ")
        ));
    }
    // As sure as the suspect's own hypothesis on the board (its evidence combined),
    // and less when the evidence does not single it out.
    let on_the_board = board
        .candidates
        .iter()
        .find(|c| is_suspect(&c.hypothesis) && c.service.as_deref() == Some(top.service.as_str()));
    let combined = on_the_board.map_or(0.5, |c| c.hypothesis.confidence);
    let confidence = calibrated(if clear { combined } else { combined * 0.6 });
    let mut evidence: Vec<String> = f.ranking.iter().map(|(id, _)| id.clone()).collect();
    evidence.extend(f.logs.iter().map(|(id, _, _)| id.clone()));
    if let Some(c) = on_the_board {
        evidence.extend(c.hypothesis.evidence.iter().cloned());
    }
    let evidence = unique(evidence);
    let mut follow_ups = vec![format!(
        "Confirm on {} directly: its own metrics, logs and recent changes",
        top.service
    )];
    note_unavailable(f, &mut root_cause, &mut follow_ups);
    p.say(format!(
        "Concluding from the evidence on {}, {:.0}% confident; evidence {}.",
        top.service,
        confidence * 100.0,
        evidence.join(", ")
    ));
    let conclusion = ConcludeArgs {
        root_cause,
        confidence,
        evidence,
        follow_ups,
    };
    p.call(
        CONCLUDE,
        args(&conclusion),
        "the evidence points at one service",
    );
}

/// Nothing stands and nothing in the data points anywhere: say whether hypotheses were
/// refuted or none could be formed, and which sources did not answer.
fn conclude_inconclusive(ctx: &BrainContext, f: &Findings, none_formed: bool, p: &mut Plan) {
    let evidence: Vec<String> = f
        .done
        .iter()
        .filter(|d| d.outcome == CallOutcome::Ok)
        .map(|d| d.id.clone())
        .take(4)
        .collect();
    p.say(format!(
        "No supported explanation is left for \"{}\".",
        ctx.incident.alert
    ));
    let mut root_cause = if none_formed {
        "undetermined: no hypothesis could be formed from the sources that answered".to_string()
    } else {
        "undetermined: every hypothesis is refuted".to_string()
    };
    let mut follow_ups =
        vec!["Add a hypothesis to the board, or steer the agent towards another service".into()];
    note_unavailable(f, &mut root_cause, &mut follow_ups);
    let conclusion = ConcludeArgs {
        root_cause,
        confidence: 0.1,
        evidence,
        follow_ups,
    };
    p.call(CONCLUDE, args(&conclusion), "nothing left to test");
}

/// The sources that did not answer — a snapshot tool or a database diagnostic that
/// failed or was refused — each with its call and why, so a conclusion drawn without them
/// says so.
fn unavailable(f: &Findings) -> Vec<String> {
    let short = |why: &str| crate::text::clip(why.trim(), 200);
    let mut out: Vec<String> = f
        .done
        .iter()
        .filter(|d| d.outcome != CallOutcome::Ok && f.gave_up_on(&d.tool))
        .map(|d| {
            let why = d
                .error
                .clone()
                .unwrap_or_else(|| format!("{:?}", d.outcome).to_lowercase());
            format!("{} ({}: {})", d.tool, d.id, short(&why))
        })
        .collect();
    out.extend(
        f.db.unanswered()
            .into_iter()
            .map(|(call, why)| format!("psql ({call}: {})", short(why))),
    );
    out
}

/// Add to a conclusion which sources did not answer, and what to do about it; and when
/// the metrics' history was too short to compare with, that it was.
fn note_unavailable(f: &Findings, root_cause: &mut String, follow_ups: &mut Vec<String>) {
    if let Some(rows) = f.ranking.as_ref().and_then(|(_, r)| r.thin_history()) {
        root_cause.push_str(&format!(
            ". Too little history to compare: {rows} rows of metrics before the onset (a baseline needs {}), so what the metrics moved is uncertain",
            crate::analysis::rank::MIN_BASELINE_ROWS
        ));
        follow_ups.push(
            "Look at a longer stretch of metrics before the onset: this conclusion rests on a thin baseline".into(),
        );
    }
    let down = unavailable(f);
    if down.is_empty() {
        return;
    }
    root_cause.push_str(&format!(
        ". Sources that did not answer: {}",
        down.join("; ")
    ));
    follow_ups.push(
        "Bring back the sources that did not answer and look again: this conclusion was drawn without them".into(),
    );
}
