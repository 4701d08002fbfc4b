//! Tests of the leading hypothesis, the way a runbook orders them: its diagnostic steps,
//! then its mitigation (which the gate stops for approval), then its verification. A
//! step is bound to the hypothesis it tests (`{service}`, `{db}`, `{namespace}`) and
//! never proposed twice; a denial or a failed mitigation opens the others, and a denial
//! that asks to hold stops them.

use super::Plan;
use super::evidence::{Denial, Findings, normalize};
use super::hypotheses::{Board, Candidate, Kind, database};
use crate::BrainContext;
use crate::event::HypothesisStatus;
use crate::knowledge::Step;
use crate::protocol::digest::args;
use crate::protocol::ops::{KUBECTL, KubectlArgs, PSQL, PsqlArgs};
use serde_json::Value;
use std::collections::BTreeSet;

/// Runbooks scoring below this are not followed.
pub(super) const MIN_RUNBOOK_SCORE: f32 = 1.0;
/// The leading hypothesis needs this much confidence before a mitigation is proposed.
pub(super) const MITIGATION_CONFIDENCE: f32 = 0.6;
/// Words in a denial reason that mean "change nothing for now".
const HOLD_WORDS: &[&str] = &[
    "hold",
    "wait",
    "not now",
    "no changes",
    "freeze",
    "don't touch",
    "do not touch",
    "no mitigation",
    "leave it",
];

/// A runbook step bound to a hypothesis: the tool, its arguments, and the command line
/// it shows (normalized, to recognise it when it ran).
pub(super) struct BoundStep {
    pub tool: &'static str,
    pub args: Value,
    pub command: String,
}

/// The denial that asked to change nothing for now, if any.
pub(super) fn held(f: &Findings) -> Option<&Denial> {
    f.denials.iter().find(|d| {
        let r = d.reason.to_lowercase();
        HOLD_WORDS.iter().any(|w| r.contains(w))
    })
}

/// Whether a mitigation may be proposed for the hypothesis: the evidence is strong
/// enough, or the engineer confirmed it (the gate still asks before anything runs).
pub(super) fn ready_to_mitigate(lead: &Candidate) -> bool {
    lead.hypothesis.confidence >= MITIGATION_CONFIDENCE
        || super::hypotheses::confirmed_by_a_human(&lead.hypothesis)
}

/// The service a step's `{service}` means for a hypothesis: for a saturated resource,
/// the application holding the most sessions in it (`payments-7f9c` → `payments`), else
/// what the hypothesis is about.
fn bound_service(lead: &Candidate, f: &Findings) -> Option<String> {
    match lead.kind {
        Kind::Resource => f
            .idle_now()
            .into_iter()
            .max_by_key(|i| i.sessions)
            .map(|i| {
                i.application
                    .split('-')
                    .next()
                    .unwrap_or(&i.application)
                    .to_string()
            })
            .or_else(|| lead.service.clone()),
        _ => lead.service.clone(),
    }
}

/// Fill `{service}`, `{db}`, `{namespace}`; None when something can't be bound.
pub(super) fn bind(
    text: &str,
    lead: &Candidate,
    ctx: &BrainContext,
    f: &Findings,
) -> Option<String> {
    let db = database(ctx);
    let service = bound_service(lead, f);
    let mut out = text.replace("{namespace}", &ctx.incident.namespace);
    for (name, value) in [("{service}", service), ("{db}", db)] {
        if out.contains(name) {
            out = out.replace(name, &value?);
        }
    }
    Some(out)
}

/// A runbook step as a call for this hypothesis; None when it can't be bound or names a
/// tool the brain does not drive.
pub(super) fn step_call(
    step: &Step,
    lead: &Candidate,
    ctx: &BrainContext,
    f: &Findings,
) -> Option<BoundStep> {
    let body = bind(&step.body, lead, ctx, f)?;
    if !only_names(&body, lead, ctx, f) {
        return None;
    }
    let command = normalize(&body);
    match step.tool.as_str() {
        PSQL => {
            let target = bind(&step.target, lead, ctx, f)?;
            let query = body;
            Some(BoundStep {
                tool: PSQL,
                args: args(&PsqlArgs { target, query }),
                command,
            })
        }
        KUBECTL => Some(BoundStep {
            tool: KUBECTL,
            args: args(&KubectlArgs { command: body }),
            command,
        }),
        _ => None,
    }
}

/// Whether a bound step acts only on what the hypothesis is about: a runbook written for
/// one service (`kubectl rollout undo deployment/playback-api`) does not test, or
/// mitigate, a hypothesis about another.
fn only_names(body: &str, lead: &Candidate, ctx: &BrainContext, f: &Findings) -> bool {
    let allowed = [lead.service.clone(), bound_service(lead, f), database(ctx)];
    super::services_named(body, ctx)
        .into_iter()
        .all(|(_, name)| allowed.iter().flatten().any(|a| a == name))
}

/// How strongly a denial reason asks for this mitigation instead.
fn preference(reason: &str, step: &Step, command: &str) -> usize {
    let reason = reason.to_lowercase();
    let words: &[&str] = if command.contains("rollout undo") {
        &["rollback", "roll back", "undo", "revert"]
    } else if command.contains("restart") {
        &["restart", "bounce"]
    } else if step.tool == "psql" {
        &[
            "session",
            "database",
            " db",
            "terminate",
            "connection",
            "kill",
        ]
    } else {
        &[]
    };
    words.iter().filter(|w| reason.contains(*w)).count()
}

/// The runbooks' diagnostic steps that test the leading hypothesis and have not run.
pub(super) fn diagnose(
    ctx: &BrainContext,
    f: &Findings,
    board: &Board,
    lead: &Candidate,
    p: &mut Plan,
) -> bool {
    let steps = f.runbook_steps(MIN_RUNBOOK_SCORE);
    let mut diagnose: Vec<(BoundStep, String)> = Vec::new();
    for (hit, step) in steps
        .iter()
        .filter(|(_, s)| s.phase == "diagnose" && lead.kind.fits(s))
    {
        if let Some(bound) = step_call(step, lead, ctx, f)
            && !f.attempted(&bound.command)
            && !diagnose.iter().any(|(b, _)| b.command == bound.command)
        {
            let why = format!("runbook \"{}\": {}", hit.doc.title, step.tool);
            diagnose.push((bound, why));
        }
    }
    if diagnose.is_empty() {
        return false;
    }
    let titles: BTreeSet<&str> = steps.iter().map(|(h, _)| h.doc.title.as_str()).collect();
    p.think(format!(
        "Following the runbook{} {}.",
        if titles.len() > 1 { "s" } else { "" },
        titles
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(" and ")
    ));
    board.record(p);
    for (bound, why) in diagnose {
        p.call(bound.tool, bound.args, why);
    }
    true
}

/// The runbooks' mitigation for the leading hypothesis, once it is confident enough and
/// nothing was mitigated or held; after a denial, the option the reason asks for.
pub(super) fn mitigate(
    ctx: &BrainContext,
    f: &Findings,
    board: &Board,
    lead: &Candidate,
    applied: Option<&Mitigation>,
    p: &mut Plan,
) -> bool {
    if applied.is_some() || held(f).is_some() || !ready_to_mitigate(lead) {
        return false;
    }
    let steps = f.runbook_steps(MIN_RUNBOOK_SCORE);
    let mitigations = || steps.iter().filter(|(_, s)| s.phase == "mitigate");
    let latest_reason = f
        .denials
        .last()
        .map(|d| d.reason.clone())
        .unwrap_or_default();
    // A mitigation that failed to run (no access, a server error) opens the others,
    // as a denial does.
    let failed_mitigation = mitigations()
        .filter_map(|(_, s)| step_call(s, lead, ctx, f))
        .find_map(|bound| f.failed(&bound.command));
    let mut options: Vec<(usize, bool, BoundStep)> = Vec::new();
    for (_, step) in mitigations() {
        let fits_lead = lead.kind.fits(step);
        // A step written for another kind of cause binds to a hypothesis of that kind;
        // a rollback (`for=deploy`) only ever to a deploy or config change, never to a
        // service that had none.
        let binder = if fits_lead {
            lead.clone()
        } else {
            match other_kind(&board.candidates, step) {
                Some(other) => other,
                None if step.fits == "deploy" => continue,
                None => lead.clone(),
            }
        };
        let Some(bound) = step_call(step, &binder, ctx, f) else {
            continue;
        };
        if f.attempted(&bound.command) || options.iter().any(|o| o.2.command == bound.command) {
            continue;
        }
        if !fits_lead && f.denials.is_empty() && failed_mitigation.is_none() {
            continue;
        }
        options.push((
            preference(&latest_reason, step, &bound.command),
            fits_lead,
            bound,
        ));
    }
    options.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    let Some((_, _, bound)) = options.into_iter().next() else {
        return false;
    };
    board.record(p);
    if let Some(d) = failed_mitigation {
        p.think(format!(
            "`{}` failed: {}. The next option from the runbooks is `{}`.",
            d.command,
            d.error.as_deref().unwrap_or("no reason given"),
            bound.command
        ));
    } else if let Some(d) = f.denials.last() {
        p.think(format!("`{}` was not run (denied: \"{}\"). Taking that into account, the next option from the runbooks is `{}`.", d.command, d.reason, bound.command));
    }
    let h = &lead.hypothesis;
    p.say(format!(
        "Proposing a mitigation for {} ({:.0}% confident): `{}`. It changes production, so it waits for your approval.",
        h.id,
        h.confidence * 100.0,
        bound.command
    ));
    p.call(
        bound.tool,
        bound.args,
        format!("mitigate {}: {}", h.id, h.statement),
    );
    true
}

/// The runbooks' verification of a mitigation that ran and is not verified yet.
pub(super) fn verify(
    ctx: &BrainContext,
    f: &Findings,
    board: &Board,
    applied: Option<&Mitigation>,
    p: &mut Plan,
) -> bool {
    let Some(m) = applied.filter(|m| !m.verified) else {
        return false;
    };
    let verify: Vec<BoundStep> = f
        .runbook_steps(MIN_RUNBOOK_SCORE)
        .iter()
        .filter(|(_, s)| s.phase == "verify" && (s.fits.is_empty() || m.kind.fits(s)))
        .filter_map(|(_, s)| step_call(s, &m.binder, ctx, f))
        .filter(|bound| !f.attempted(&bound.command))
        .collect();
    if verify.is_empty() {
        return false;
    }
    p.think(format!("`{}` ran. Verifying it worked.", m.command));
    board.record(p);
    for bound in verify {
        p.call(bound.tool, bound.args, "verify the mitigation");
    }
    true
}

/// The most confident live hypothesis a step is written for, when it is not the lead's kind.
fn other_kind(candidates: &[Candidate], step: &Step) -> Option<Candidate> {
    candidates
        .iter()
        .filter(|c| {
            c.hypothesis.status != HypothesisStatus::Refuted
                && c.kind.fits(step)
                && !step.fits.is_empty()
        })
        .max_by(|a, b| a.hypothesis.confidence.total_cmp(&b.hypothesis.confidence))
        .cloned()
}

/// A mitigation that ran, and whether its verification did.
pub(super) struct Mitigation {
    pub id: String,
    pub command: String,
    pub kind: Kind,
    pub service: String,
    pub binder: Candidate,
    pub verified: bool,
    pub verify_ids: Vec<String>,
}

/// The mitigation that ran, matched back to the runbook step it came from.
pub(super) fn mitigation_applied(ctx: &BrainContext, f: &Findings) -> Option<Mitigation> {
    let candidates = Board::merge(ctx, f, None).candidates;
    let steps = f.runbook_steps(MIN_RUNBOOK_SCORE);
    for (_, step) in steps.iter().filter(|(_, s)| s.phase == "mitigate") {
        for c in &candidates {
            let Some(bound) = step_call(step, c, ctx, f) else {
                continue;
            };
            let Some(done) = f.succeeded(&bound.command) else {
                continue;
            };
            let kind = if step.fits == "deploy" {
                Kind::Deploy
            } else {
                Kind::Resource
            };
            let verify: Vec<String> = steps
                .iter()
                .filter(|(_, s)| s.phase == "verify" && (s.fits.is_empty() || kind.fits(s)))
                .filter_map(|(_, s)| step_call(s, c, ctx, f))
                .map(|bound| bound.command)
                .collect();
            let verify_ids: Vec<String> = verify
                .iter()
                .filter_map(|v| f.succeeded(v))
                .map(|d| d.id.clone())
                .collect();
            let verified = !verify.is_empty() && verify_ids.len() == verify.len();
            return Some(Mitigation {
                id: done.id.clone(),
                // What actually ran: the engineer may have edited the runbook's command.
                command: done.command.clone(),
                kind,
                service: c.service.clone().unwrap_or_default(),
                binder: c.clone(),
                verified,
                verify_ids,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IncidentBrief;
    use crate::event::{Author, Hypothesis};

    fn context() -> BrainContext {
        let services = [
            ("gateway", "app"),
            ("playback-api", "app"),
            ("coredns", "dns"),
        ];
        BrainContext {
            incident: IncidentBrief {
                namespace: "music".into(),
                services: services
                    .iter()
                    .map(|(n, k)| (n.to_string(), k.to_string()))
                    .collect(),
                ..IncidentBrief::default()
            },
            ..BrainContext::default()
        }
    }

    fn about(service: &str) -> Candidate {
        Candidate {
            hypothesis: Hypothesis {
                id: "H1".into(),
                statement: format!("{service} config change"),
                status: HypothesisStatus::Supported,
                confidence: 0.8,
                evidence: Vec::new(),
                key: Some(format!("deploy:{service}#config@t")),
                author: Author::Brain,
                pinned: false,
            },
            kind: Kind::Deploy,
            service: Some(service.into()),
        }
    }

    fn step(body: &str) -> Step {
        Step {
            tool: "kubectl".into(),
            phase: "mitigate".into(),
            fits: "deploy".into(),
            body: body.into(),
            target: String::new(),
        }
    }

    #[test]
    fn a_step_written_for_another_service_is_not_bound_to_this_one() {
        let (ctx, f) = (context(), Findings::default());
        let generic = step("kubectl rollout undo deployment/{service} -n {namespace}");
        let bound = step_call(&generic, &about("coredns"), &ctx, &f).unwrap();
        assert_eq!(
            bound.command,
            "kubectl rollout undo deployment/coredns -n music"
        );
        let named = step("kubectl rollout undo deployment/playback-api -n {namespace}");
        assert!(step_call(&named, &about("coredns"), &ctx, &f).is_none());
        let own = step_call(&named, &about("playback-api"), &ctx, &f).unwrap();
        assert_eq!(own.tool, KUBECTL);
        assert_eq!(
            own.args["command"],
            "kubectl rollout undo deployment/playback-api -n music"
        );
    }
}
