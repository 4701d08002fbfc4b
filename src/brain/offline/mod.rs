//! The offline brain: a deterministic investigator that needs no model.
//!
//! Each turn it re-reads everything in its context ([`findings`]) and the board, and
//! decides the next step the way an on-call engineer following a runbook would:
//!
//! 1. snapshot: which metrics moved and when (`metrics_rank`), what changed (`change_events`),
//!    what the logs say that they didn't before (`logs_digest`);
//! 2. hypotheses from the data: a deploy just before the onset whose service moved is
//!    suspect; one whose service stayed flat is refuted; a saturated database is a
//!    mechanism; confidence grows with each independent piece of evidence;
//! 3. knowledge: the best runbooks and past incidents for the suspects;
//! 4. the runbook's diagnostic steps for the leading hypothesis, then its mitigation
//!    (which the gate stops for approval), then its verification; then a conclusion.
//!
//! The board is authoritative: a hypothesis the engineer refuted can't lead, one they
//! pinned or confirmed leads, one they added is examined. Nothing is remembered between
//! turns except through the context, so an edit re-plans everything from the data. Text
//! streams a few words at a time through the same stream an LLM brain uses.

mod findings;
mod suspects;

use super::{
    Brain, BrainContext, BrainError, BrainItem, CONCLUDE, HistoryItem, ProposedCall,
    UPDATE_HYPOTHESES,
};
use crate::analysis::rank::CHANGED;
use crate::event::{Author, CallOutcome, Hypothesis, HypothesisStatus};
use crate::knowledge::Step;
use findings::{Findings, normalize};
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

/// Runbooks scoring below this are not followed.
const MIN_RUNBOOK_SCORE: f32 = 1.0;
/// The leading hypothesis needs this much confidence before a mitigation is proposed.
const MITIGATION_CONFIDENCE: f32 = 0.6;
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

pub struct OfflineBrain {
    /// Delay between streamed chunks of text; zero in headless mode and tests.
    pace: Duration,
}

impl OfflineBrain {
    pub fn new(pace: Duration) -> OfflineBrain {
        OfflineBrain { pace }
    }
}

impl Brain for OfflineBrain {
    fn name(&self) -> String {
        "offline".into()
    }

    fn turn(&mut self, context: BrainContext) -> BoxStream<'static, Result<BrainItem, BrainError>> {
        let plan = plan(&context);
        let pace = self.pace;
        let mut items: Vec<BrainItem> = Vec::new();
        items.extend(chunks(&plan.reasoning).map(BrainItem::Reasoning));
        items.extend(chunks(&plan.message).map(BrainItem::Message));
        let text_items = items.len();
        items.extend(plan.calls.into_iter().map(BrainItem::Call));
        futures::stream::iter(items.into_iter().enumerate())
            .then(move |(i, item)| async move {
                if i < text_items && !pace.is_zero() {
                    tokio::time::sleep(pace).await;
                }
                Ok(item)
            })
            .boxed()
    }
}

/// Split text into pieces of about three words, keeping the whitespace, the way a model
/// streams tokens.
fn chunks(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut words = 0;
    for part in text.split_inclusive([' ', '\n']) {
        current.push_str(part);
        words += 1;
        if words == 3 || part.ends_with('\n') {
            pieces.push(std::mem::take(&mut current));
            words = 0;
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces.into_iter()
}

#[derive(Debug, Default)]
pub struct Plan {
    pub reasoning: String,
    pub message: String,
    pub calls: Vec<ProposedCall>,
}

impl Plan {
    fn think(&mut self, line: impl AsRef<str>) {
        self.reasoning.push_str(line.as_ref());
        self.reasoning.push('\n');
    }
    fn say(&mut self, line: impl AsRef<str>) {
        self.message.push_str(line.as_ref());
        self.message.push('\n');
    }
    fn call(&mut self, tool: &str, args: Value, rationale: impl Into<String>) {
        self.calls.push(ProposedCall {
            tool: tool.into(),
            args,
            rationale: rationale.into(),
        });
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Deploy,
    Resource,
    Other,
}

impl Kind {
    fn fits(self, step: &Step) -> bool {
        step.fits.is_empty()
            || matches!(
                (self, step.fits.as_str()),
                (Kind::Deploy, "deploy") | (Kind::Resource, "resource")
            )
    }
}

/// A hypothesis as the brain sees it now, with what it is about.
#[derive(Debug, Clone)]
struct Candidate {
    hypothesis: Hypothesis,
    kind: Kind,
    service: Option<String>,
}

fn hhmmss(time: &str) -> &str {
    time.get(11..19).unwrap_or(time)
}

fn seconds(time: &str) -> i64 {
    crate::bundle::parse_time(time)
        .map(|t| t.timestamp())
        .unwrap_or_default()
}

fn services_mentioned<'a>(text: &str, ctx: &'a BrainContext) -> Vec<&'a str> {
    let lower = text.to_lowercase();
    ctx.incident
        .services
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| lower.contains(&name.to_lowercase()))
        .collect()
}

fn kind_of(h: &Hypothesis, ctx: &BrainContext) -> (Kind, Option<String>) {
    if let Some(key) = &h.key
        && let Some((prefix, rest)) = key.split_once(':')
    {
        let service = rest.split_once('#').map_or(rest, |(service, _)| service);
        let kind = match prefix {
            "deploy" => Kind::Deploy,
            "change" => Kind::Other,
            _ => Kind::Resource,
        };
        return (kind, Some(service.to_string()));
    }
    let lower = h.statement.to_lowercase();
    let mentioned = services_mentioned(&h.statement, ctx);
    let db = mentioned.iter().find(|s| {
        ctx.incident
            .services
            .iter()
            .any(|(n, k)| n == *s && k != "app")
    });
    if ["deploy", "release", "rollout", "version"]
        .iter()
        .any(|w| lower.contains(w))
    {
        (Kind::Deploy, mentioned.first().map(|s| s.to_string()))
    } else if let Some(db) = db {
        (Kind::Resource, Some(db.to_string()))
    } else if ["connection", "database", "pool", "saturat"]
        .iter()
        .any(|w| lower.contains(w))
    {
        let db = database(ctx);
        (Kind::Resource, db)
    } else {
        (Kind::Other, mentioned.first().map(|s| s.to_string()))
    }
}

/// The hypotheses the data supports now, keyed, before human edits are applied.
fn from_data(f: &Findings, ctx: &BrainContext) -> Vec<(String, Hypothesis, Kind, String)> {
    let Some((rank_id, ranking)) = &f.ranking else {
        return Vec::new();
    };
    let graph = call_graph(ctx);
    let onset = seconds(&ranking.onset);
    let top_of = |service: &str| {
        ranking
            .changed
            .iter()
            .find(|s| s.service == service && s.score.abs() >= CHANGED)
    };
    let new_noise = |service: &str| {
        f.logs.iter().find_map(|(id, _, templates)| {
            templates
                .iter()
                .any(|t| t.service == service && t.new && t.after > 0 && t.level != "INFO")
                .then(|| id.clone())
        })
    };
    let idle_by = |service: &str| {
        f.idle_now()
            .into_iter()
            .find(|i| i.application == service || i.application.starts_with(&format!("{service}-")))
            .filter(|i| i.sessions >= 10)
    };
    let past = |service: &str| {
        f.knowledge.as_ref().and_then(|(id, hits)| {
            hits.iter()
                .any(|h| {
                    h.doc.kind == "incident"
                        && h.doc.title.contains(service)
                        && h.doc.tags.iter().any(|t| t == "deploy")
                })
                .then(|| id.clone())
        })
    };
    let mut out = Vec::new();
    if let Some((events_id, changes)) = &f.changes {
        for change in changes.iter() {
            let at = seconds(&change.time);
            if !(onset - 1800..=onset + 60).contains(&at) {
                continue;
            }
            let service = change.service.as_str();
            // Event kinds are open (flag, job, migration, scale, certificate, …): any
            // change on a service that moved is a suspect. Deploys and config changes are
            // listed even when their service did not move, as ruled out.
            let revertible = change.kind == "deploy" || change.kind == "config";
            if !revertible && top_of(service).is_none() {
                continue;
            }
            let mut evidence = vec![rank_id.clone(), events_id.clone()];
            // Something below this service in the call graph moved far more: the change
            // is a bystander and the cause lies below (a slow database explains a
            // deployed caller's wobble; a bad deploy that floods a database still leads,
            // as it moved more than the database).
            let dwarfed_by = top_of(service).and_then(|top| {
                let own = (1.0 + top.score.abs()).ln();
                ranking
                    .changed
                    .iter()
                    .filter(|s| s.score.abs() >= CHANGED && s.service != service)
                    .filter(|s| depends_on(&graph, service, &s.service))
                    .find(|s| (1.0 + s.score.abs()).ln() >= 2.0 * own)
            });
            let (statement, status, confidence) = match top_of(service) {
                Some(top) if dwarfed_by.is_some() => {
                    let below = dwarfed_by.expect("checked");
                    (
                        format!(
                            "{service} {} {} at {} is unlikely: {service} barely moved ({} {}) while {}, below it, moved far more ({} {})",
                            change.kind,
                            change.detail,
                            hhmmss(&change.time),
                            top.series,
                            z_text(top.score),
                            below.service,
                            below.series,
                            z_text(below.score)
                        ),
                        HypothesisStatus::Refuted,
                        0.1,
                    )
                }
                None => (
                    format!(
                        "{service} {} {} at {} is unrelated: {service}'s metrics did not move at the onset",
                        change.kind,
                        change.detail,
                        hhmmss(&change.time)
                    ),
                    HypothesisStatus::Refuted,
                    0.05,
                ),
                Some(top) => {
                    // Confidence grows with how strongly the service moved (log scale:
                    // z 1000 and beyond count the same) and how close to the onset the
                    // change was (nothing after 30 minutes).
                    let strength = ((1.0 + top.score.abs()).ln() / 1001f64.ln()).min(1.0) as f32;
                    let recency = (1.0 - (onset - at).max(0) as f32 / 1800.0).clamp(0.0, 1.0);
                    let mut c: f32 = 0.3 + 0.2 * strength + 0.2 * recency;
                    // Each independent kind of evidence (new errors, held sessions, a
                    // matching past incident) adds the same weight.
                    let extras = [
                        new_noise(service),
                        idle_by(service).map(|i| i.call.clone()),
                        past(service),
                    ];
                    for id in extras.into_iter().flatten() {
                        c += 0.1;
                        if !evidence.contains(&id) {
                            evidence.push(id);
                        }
                    }
                    let mut statement = format!(
                        "{service} {} {} at {} ({}s before the onset) caused the regression: {} {} → {}",
                        change.kind,
                        change.detail,
                        hhmmss(&change.time),
                        onset - at,
                        top.series,
                        short_number(top.before),
                        short_number(top.after)
                    );
                    if let Some(idle) = idle_by(service) {
                        statement.push_str(&format!(
                            "; it holds {} sessions idle in transaction",
                            idle.sessions
                        ));
                    }
                    let status = if c >= 0.5 {
                        HypothesisStatus::Supported
                    } else {
                        HypothesisStatus::Open
                    };
                    (statement, status, c.min(0.95))
                }
            };
            // One hypothesis per change: a config change and a deploy of one service are
            // two suspects.
            // Only a deploy or a config change is undone by a rollback; other kinds of
            // change get no rollback proposed.
            let (prefix, kind) = if revertible {
                ("deploy", Kind::Deploy)
            } else {
                ("change", Kind::Other)
            };
            let key = format!("{prefix}:{service}#{}@{}", change.kind, change.time);
            out.push((
                key.clone(),
                hyp(key, statement, status, confidence, evidence),
                kind,
                service.to_string(),
            ));
        }
    }
    for (name, kind) in &ctx.incident.services {
        if kind == "app" {
            continue;
        }
        let Some(top) = ranking.changed.iter().find(|s| {
            s.service == *name && s.series.contains("connections") && s.score.abs() >= CHANGED
        }) else {
            continue;
        };
        let mut evidence = vec![rank_id.clone()];
        let mut c: f32 = 0.3;
        let waiting = f.logs.iter().find_map(|(id, _, templates)| {
            templates
                .iter()
                .any(|t| t.new && t.template.contains("connection") && t.service != *name)
                .then(|| id.clone())
        });
        let mut statement = format!(
            "{name} is saturated: {} {} → {} ({})",
            top.series,
            short_number(top.before),
            short_number(top.after),
            z_text(top.score)
        );
        // The mechanism is said only when a log line shows it.
        if let Some(id) = waiting {
            c += 0.1;
            evidence.push(id);
            statement.push_str("; callers log timeouts waiting for a connection");
        }
        if let Some(idle) = f
            .idle_now()
            .into_iter()
            .max_by_key(|i| i.sessions)
            .filter(|i| i.sessions >= 10)
        {
            c += 0.25;
            evidence.push(idle.call.clone());
            statement.push_str(&format!(
                "; {} sessions are held idle in transaction by {}",
                idle.sessions, idle.application
            ));
        }
        let status = if c >= 0.5 {
            HypothesisStatus::Supported
        } else {
            HypothesisStatus::Open
        };
        let key = format!("saturation:{name}");
        out.push((
            key.clone(),
            hyp(key, statement, status, c, evidence),
            Kind::Resource,
            name.clone(),
        ));
    }
    out
}

fn hyp(
    key: String,
    statement: String,
    status: HypothesisStatus,
    confidence: f32,
    evidence: Vec<String>,
) -> Hypothesis {
    Hypothesis {
        id: String::new(),
        statement,
        status,
        confidence: (confidence * 100.0).round() / 100.0,
        evidence,
        key: Some(key),
        author: Author::Brain,
        pinned: false,
    }
}

/// Merge what the data says into the board: human-edited statements, statuses and pins
/// stand; the brain contributes confidence and evidence. Returns the merged board and the
/// upserts to send.
fn merge_board(
    ctx: &BrainContext,
    f: &Findings,
    mitigated: Option<(Kind, &str)>,
) -> (Vec<Candidate>, Vec<Value>) {
    let mut board = ctx.board.clone();
    let mut upserts = Vec::new();
    let mut next_id = board.len() + 1;
    for (key, mut fresh, kind, service) in from_data(f, ctx) {
        if mitigated.is_some_and(|(k, s)| k == kind && s == service)
            && fresh.status != HypothesisStatus::Refuted
        {
            fresh.status = HypothesisStatus::Confirmed;
            fresh.confidence = fresh.confidence.max(0.9);
        }
        match board
            .iter_mut()
            .find(|h| h.key.as_deref() == Some(key.as_str()))
        {
            Some(existing) => {
                let mut updated = existing.clone();
                updated.confidence = if existing.author == Author::Human
                    && existing.status == HypothesisStatus::Refuted
                {
                    fresh.confidence.min(existing.confidence)
                } else {
                    fresh.confidence
                };
                for e in &fresh.evidence {
                    if !updated.evidence.contains(e) {
                        updated.evidence.push(e.clone());
                    }
                }
                if existing.author == Author::Brain {
                    updated.statement = fresh.statement;
                    updated.status = fresh.status;
                }
                if updated != *existing {
                    upserts.push(upsert_json(&updated));
                    *existing = updated;
                }
            }
            None => {
                while board.iter().any(|h| h.id == format!("H{next_id}")) {
                    next_id += 1;
                }
                fresh.id = format!("H{next_id}");
                next_id += 1;
                upserts.push(upsert_json(&fresh));
                board.push(fresh);
            }
        }
    }
    // Hypotheses the engineer added: the brain attaches what it found about them.
    for h in board.iter_mut().filter(|h| h.key.is_none()) {
        let (_, service) = kind_of(h, ctx);
        let Some(service) = service else { continue };
        let Some((query_id, _)) = f.metrics_queries.iter().find(|(_, s)| *s == service) else {
            continue;
        };
        let moved = f.ranking.as_ref().is_some_and(|(_, r)| {
            r.changed
                .iter()
                .any(|s| s.service == service && s.score.abs() >= CHANGED)
        });
        let mut updated = h.clone();
        updated.confidence = if moved { 0.5 } else { 0.15 };
        if !updated.evidence.contains(query_id) {
            updated.evidence.push(query_id.clone());
        }
        if updated != *h {
            upserts.push(upsert_json(&updated));
            *h = updated;
        }
    }
    let candidates = board
        .into_iter()
        .map(|h| {
            let (kind, service) = kind_of(&h, ctx);
            Candidate {
                hypothesis: h,
                kind,
                service,
            }
        })
        .collect();
    (candidates, upserts)
}

fn upsert_json(h: &Hypothesis) -> Value {
    json!({
        "id": h.id, "key": h.key, "statement": h.statement, "status": h.status,
        "confidence": h.confidence, "evidence": h.evidence,
    })
}

/// Which hypothesis the investigation follows: confirmed by a human, then pinned, then
/// the most confident; never a refuted one.
/// The hypothesis to work on: the engineer's confirmed or pinned ones first; then a
/// change that no later live change below it in the call graph explains (a DNS change
/// explains the timeouts of a service deployed minutes earlier); then confidence; ties
/// by id, never by arrival order.
fn leading<'a>(candidates: &'a [Candidate], calls: &[(String, String)]) -> Option<&'a Candidate> {
    let live: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.hypothesis.status != HypothesisStatus::Refuted)
        .collect();
    let is_change = |c: &Candidate| {
        c.hypothesis
            .key
            .as_deref()
            .is_some_and(|k| k.starts_with("deploy:") || k.starts_with("change:"))
    };
    // When the change was made: the key ends in `@<time>`.
    let changed_at = |c: &Candidate| {
        c.hypothesis
            .key
            .as_deref()
            .and_then(|k| k.rsplit_once('@'))
            .map(|(_, time)| seconds(time))
    };
    // A later change below it explains it: the onset followed the later change (had the
    // earlier one been the cause, the symptoms would have started earlier).
    let explained_by_a_change_below = |c: &Candidate| {
        let (Some(service), Some(at)) = (&c.service, changed_at(c)) else {
            return false;
        };
        is_change(c)
            && live.iter().any(|other| {
                is_change(other)
                    && changed_at(other).is_some_and(|later| later > at)
                    && other
                        .service
                        .as_ref()
                        .is_some_and(|below| below != service && depends_on(calls, service, below))
            })
    };
    let rank = |c: &Candidate| {
        let h = &c.hypothesis;
        let human_confirmed = h.author == Author::Human && h.status == HypothesisStatus::Confirmed;
        (
            human_confirmed,
            h.pinned,
            !explained_by_a_change_below(c),
            (h.confidence * 1000.0) as i64,
        )
    };
    live.iter()
        .copied()
        .fold(None, |best: Option<&Candidate>, c| match best {
            Some(b)
                if rank(b) > rank(c)
                    || (rank(b) == rank(c) && b.hypothesis.id <= c.hypothesis.id) =>
            {
                Some(b)
            }
            _ => Some(c),
        })
}

/// Whether `from` calls `to`, directly or through others.
fn depends_on(calls: &[(String, String)], from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from];
    while let Some(next) = stack.pop() {
        for (caller, callee) in calls {
            if caller == next && seen.insert(callee.as_str()) {
                if callee == to {
                    return true;
                }
                stack.push(callee);
            }
        }
    }
    false
}

/// The call graph the brain reasons over: the declared edges, plus every service calling
/// the shared infrastructure everything depends on without declaring it (a `dns`
/// service: every lookup goes through it).
fn call_graph(ctx: &BrainContext) -> Vec<(String, String)> {
    let mut edges = ctx.incident.calls.clone();
    for (shared, _) in ctx
        .incident
        .services
        .iter()
        .filter(|(_, kind)| kind == "dns")
    {
        for (name, _) in ctx.incident.services.iter().filter(|(n, _)| n != shared) {
            let edge = (name.clone(), shared.clone());
            if !edges.contains(&edge) {
                edges.push(edge);
            }
        }
    }
    edges
}

/// The incident's database: its first service that is not an app.
fn database(ctx: &BrainContext) -> Option<String> {
    ctx.incident
        .services
        .iter()
        .find(|(_, kind)| kind != "app")
        .map(|(name, _)| name.clone())
}

/// Fill `{service}`, `{db}`, `{namespace}`; None when something can't be bound.
fn bind(text: &str, lead: &Candidate, ctx: &BrainContext, f: &Findings) -> Option<String> {
    let db = database(ctx);
    let service = match lead.kind {
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
    };
    let mut out = text.replace("{namespace}", &ctx.incident.namespace);
    for (name, value) in [("{service}", service), ("{db}", db)] {
        if out.contains(name) {
            out = out.replace(name, &value?);
        }
    }
    Some(out)
}

fn step_call(
    step: &Step,
    lead: &Candidate,
    ctx: &BrainContext,
    f: &Findings,
) -> Option<(String, Value)> {
    let body = bind(&step.body, lead, ctx, f)?;
    match step.tool.as_str() {
        "psql" => {
            let target = bind(&step.target, lead, ctx, f)?;
            Some((normalize(&body), json!({"target": target, "query": body})))
        }
        "kubectl" => Some((normalize(&body), json!({"command": body}))),
        _ => None,
    }
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

/// Decide this turn. Pure: the same context always gives the same plan.
pub fn plan(ctx: &BrainContext) -> Plan {
    let f = Findings::read(&ctx.history);
    let mut p = Plan::default();
    acknowledge_humans(ctx, &mut p);

    if f.ranking.is_none() && !f.failed_snapshot.contains(&"metrics_rank".to_string()) {
        p.think(format!("The alert: \"{}\".", ctx.incident.alert));
        p.think("Before guessing, a snapshot: which metrics moved and when, and what changed around then.");
        p.call(
            "metrics_rank",
            json!({}),
            "find the series that shifted and the onset",
        );
        p.call(
            "change_events",
            json!({}),
            "deploys and config changes near the onset",
        );
        return p;
    }
    if f.logs.iter().all(|(_, service, _)| service.is_some())
        && !f.failed_snapshot.contains(&"logs_digest".to_string())
    {
        if let Some((_, r)) = &f.ranking {
            p.think(format!(
                "The series shifted together at {} — that is the onset.",
                hhmmss(&r.onset)
            ));
            let movers: Vec<String> = r
                .changed
                .iter()
                .take(5)
                .map(|s| {
                    format!(
                        "{} {}→{} ({})",
                        s.series,
                        short_number(s.before),
                        short_number(s.after),
                        z_text(s.score)
                    )
                })
                .collect();
            p.think(format!("Moved most: {}.", movers.join(", ")));
            let services: BTreeSet<&str> = r.changed.iter().map(|s| s.service.as_str()).collect();
            p.think(format!(
                "Services involved: {}.",
                services.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        if let Some((_, changes)) = &f.changes {
            let listed: Vec<String> = changes
                .iter()
                .filter(|c| c.kind == "deploy")
                .map(|c| format!("{} {} at {}", c.service, c.detail, hhmmss(&c.time)))
                .collect();
            if !listed.is_empty() {
                p.think(format!("Deploys in the window: {}.", listed.join("; ")));
            }
        }
        p.think("Next: which log lines are new since the onset, rather than the usual noise.");
        let mut args = json!({"level": "WARN"});
        if let Some((_, r)) = &f.ranking {
            args["baseline_until"] = json!(r.onset);
        }
        p.call(
            "logs_digest",
            args,
            "log templates that appeared at the onset",
        );
        return p;
    }

    let mitigation_done = mitigation_applied(ctx, &f);
    let verified = mitigation_done.as_ref().is_some_and(|m| m.verified);
    let mitigated = mitigation_done
        .as_ref()
        .filter(|_| verified)
        .map(|m| (m.kind, m.service.as_str()));
    let (candidates, upserts) = merge_board(ctx, &f, mitigated);
    let board_call = |p: &mut Plan| {
        if !upserts.is_empty() {
            p.call(
                UPDATE_HYPOTHESES,
                json!({"hypotheses": upserts}),
                "record what the evidence says",
            );
        }
    };

    if f.knowledge.is_none() && !f.failed_snapshot.contains(&"knowledge_search".to_string()) {
        if let Some((_, logs)) = f.logs.first().map(|l| (&l.0, &l.2)) {
            let new: Vec<String> = logs
                .iter()
                .filter(|t| t.new && t.level != "INFO")
                .take(4)
                .map(|t| format!("{} \"{}\" ×{}", t.service, t.template, t.after))
                .collect();
            let surged: Vec<String> = logs
                .iter()
                .filter(|t| !t.new && suspects::surging(t))
                .take(3)
                .map(|t| {
                    format!(
                        "{} \"{}\" {} → {}",
                        t.service, t.template, t.before, t.after
                    )
                })
                .collect();
            let noise: Vec<String> = logs
                .iter()
                .filter(|t| !t.new && t.before > 0 && !suspects::surging(t))
                .take(2)
                .map(|t| format!("{} \"{}\"", t.service, t.template))
                .collect();
            if !new.is_empty() {
                p.think(format!("New since the onset: {}.", new.join("; ")));
            }
            if !surged.is_empty() {
                p.think(format!(
                    "Old lines whose rate jumped at the onset (news, not noise): {}.",
                    surged.join("; ")
                ));
            }
            if !noise.is_empty() {
                p.think(format!(
                    "Old noise, present before the onset too (ignoring): {}.",
                    noise.join("; ")
                ));
            }
        }
        board_call(&mut p);
        let mut terms: BTreeSet<String> = BTreeSet::new();
        if let Some(lead) = leading(&candidates, &call_graph(ctx)) {
            terms.extend(lead.service.clone());
            terms.insert(match lead.kind {
                Kind::Deploy => "deploy rollback".into(),
                Kind::Resource => "connections saturation".into(),
                Kind::Other => String::new(),
            });
        }
        for c in candidates
            .iter()
            .filter(|c| c.hypothesis.status != HypothesisStatus::Refuted)
        {
            terms.extend(c.service.clone());
        }
        terms.extend(evidence_terms(&f));
        let query = terms
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        p.call(
            "knowledge_search",
            json!({"query": query}),
            "runbooks and past incidents that match the suspects",
        );
        return p;
    }

    // Hypotheses the engineer added or steering that names a service: look at it.
    let mut asked: Vec<String> = ctx
        .board
        .iter()
        .filter(|h| h.key.is_none())
        .filter_map(|h| kind_of(h, ctx).1)
        .collect();
    for text in &f.steering {
        asked.extend(
            services_mentioned(text, ctx)
                .into_iter()
                .map(str::to_string),
        );
    }
    let unexamined: BTreeSet<String> = asked
        .into_iter()
        .filter(|s| !f.metrics_queries.iter().any(|(_, q)| q == s))
        .collect();
    if !unexamined.is_empty() {
        for service in &unexamined {
            p.think(format!(
                "You pointed at {service}; looking at its metrics and logs before going on."
            ));
            p.call(
                "metrics_query",
                json!({"service": service}),
                format!("did {service} move at the onset?"),
            );
            p.call(
                "logs_digest",
                json!({"service": service, "level": "INFO"}),
                format!("what {service} logged"),
            );
        }
        board_call(&mut p);
        return p;
    }

    let Some(lead) = leading(&candidates, &call_graph(ctx)).cloned() else {
        board_call(&mut p);
        let ranked = suspects::suspects(&f, &call_graph(ctx));
        if ranked.is_empty() {
            p.think(
                "Every hypothesis on the board is refuted, and the data offers no other suspect.",
            );
            conclude_inconclusive(ctx, &f, &mut p);
        } else {
            p.think("No change event explains the onset. Following the evidence instead: the services that moved, and which of them the call graph says the others depend on.");
            conclude_from_evidence(ctx, &f, &ranked, &mut p);
        }
        return p;
    };
    if f.knowledge.is_some() && !already_said_leading(ctx, &lead) {
        p.think(format!(
            "Leading hypothesis: {} — {}",
            lead.hypothesis.id, lead.hypothesis.statement
        ));
    }

    // Diagnose with the runbook steps that fit the leading hypothesis.
    let steps = f.runbook_steps(MIN_RUNBOOK_SCORE);
    let mut diagnose = Vec::new();
    for (hit, step) in steps
        .iter()
        .filter(|(_, s)| s.phase == "diagnose" && lead.kind.fits(s))
    {
        if let Some((command, args)) = step_call(step, &lead, ctx, &f)
            && !f.attempted(&command)
            && !diagnose
                .iter()
                .any(|(c, _, _): &(String, _, _)| *c == command)
        {
            diagnose.push((
                command,
                args,
                format!("runbook \"{}\": {}", hit.doc.title, step.tool),
            ));
        }
    }
    if !diagnose.is_empty() {
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
        board_call(&mut p);
        for (_, args, why) in diagnose {
            let tool = if args.get("query").is_some() {
                "psql"
            } else {
                "kubectl"
            };
            p.call(tool, args, why);
        }
        return p;
    }

    let held = f.denials.iter().find(|d| {
        let r = d.reason.to_lowercase();
        HOLD_WORDS.iter().any(|w| r.contains(w))
    });

    // Mitigate.
    if mitigation_done.is_none()
        && held.is_none()
        && lead.hypothesis.confidence >= MITIGATION_CONFIDENCE
    {
        let latest_reason = f
            .denials
            .last()
            .map(|d| d.reason.clone())
            .unwrap_or_default();
        // A mitigation that failed to run (no access, a server error) opens the others,
        // as a denial does.
        let failed_mitigation = steps
            .iter()
            .filter(|(_, s)| s.phase == "mitigate")
            .filter_map(|(_, s)| step_call(s, &lead, ctx, &f))
            .find_map(|(command, _)| f.failed(&command));
        let mut options: Vec<(usize, bool, String, &str, Value)> = Vec::new();
        for (_, step) in steps.iter().filter(|(_, s)| s.phase == "mitigate") {
            let fits_lead = lead.kind.fits(step);
            let binder = if fits_lead {
                lead.clone()
            } else {
                other_kind(&candidates, step).unwrap_or_else(|| lead.clone())
            };
            if let Some((command, args)) = step_call(step, &binder, ctx, &f)
                && !f.attempted(&command)
                && !options.iter().any(|o| o.2 == command)
            {
                let pref = preference(&latest_reason, step, &command);
                if !fits_lead && f.denials.is_empty() && failed_mitigation.is_none() {
                    continue;
                }
                options.push((
                    pref,
                    fits_lead,
                    command,
                    if step.tool == "psql" {
                        "psql"
                    } else {
                        "kubectl"
                    },
                    args,
                ));
            }
        }
        options.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        if let Some((_, _, command, tool, args)) = options.into_iter().next() {
            board_call(&mut p);
            if let Some(d) = failed_mitigation {
                p.think(format!(
                    "`{}` failed: {}. The next option from the runbooks is `{}`.",
                    d.command,
                    d.error.as_deref().unwrap_or("no reason given"),
                    command
                ));
            } else if let Some(d) = f.denials.last() {
                p.think(format!("`{}` was not run (denied: \"{}\"). Taking that into account, the next option from the runbooks is `{}`.", d.command, d.reason, command));
            }
            p.say(format!(
                "Proposing a mitigation for {} ({:.0}% confident): `{}`. It changes production, so it waits for your approval.",
                lead.hypothesis.id,
                lead.hypothesis.confidence * 100.0,
                command
            ));
            p.call(
                tool,
                args,
                format!(
                    "mitigate {}: {}",
                    lead.hypothesis.id, lead.hypothesis.statement
                ),
            );
            return p;
        }
    }

    // Verify what was done.
    if let Some(m) = &mitigation_done
        && !m.verified
    {
        let verify: Vec<(String, Value)> = steps
            .iter()
            .filter(|(_, s)| s.phase == "verify" && (s.fits.is_empty() || m.kind.fits(s)))
            .filter_map(|(_, s)| step_call(s, &m.binder, ctx, &f))
            .filter(|(c, _)| !f.attempted(c))
            .collect();
        if !verify.is_empty() {
            p.think(format!("`{}` ran. Verifying it worked.", m.command));
            board_call(&mut p);
            for (_, args) in verify {
                let tool = if args.get("query").is_some() {
                    "psql"
                } else {
                    "kubectl"
                };
                p.call(tool, args, "verify the mitigation");
            }
            return p;
        }
    }

    if concluded_and_nothing_new(ctx) {
        return Plan::default();
    }
    board_call(&mut p);
    conclude(
        &f,
        &call_graph(ctx),
        &lead,
        &candidates,
        mitigation_done.as_ref(),
        held,
        &mut p,
    );
    p
}

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

struct Mitigation {
    id: String,
    command: String,
    kind: Kind,
    service: String,
    binder: Candidate,
    verified: bool,
    verify_ids: Vec<String>,
}

/// The mitigation that ran, matched back to the runbook step it came from.
fn mitigation_applied(ctx: &BrainContext, f: &Findings) -> Option<Mitigation> {
    let (candidates, _) = merge_board(ctx, f, None);
    let steps = f.runbook_steps(MIN_RUNBOOK_SCORE);
    for (_, step) in steps.iter().filter(|(_, s)| s.phase == "mitigate") {
        for c in &candidates {
            let Some((command, _)) = step_call(step, c, ctx, f) else {
                continue;
            };
            let Some(done) = f.succeeded(&command) else {
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
                .map(|(cmd, _)| cmd)
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

fn acknowledge_humans(ctx: &BrainContext, p: &mut Plan) {
    let since_me = ctx
        .history
        .iter()
        .rposition(|h| matches!(h, HistoryItem::Said { .. }))
        .map(|i| i + 1)
        .unwrap_or(0);
    for item in &ctx.history[since_me..] {
        match item {
            HistoryItem::BoardEdit { hypothesis: h } => {
                let pin = if h.pinned { " and pinned it" } else { "" };
                p.think(format!(
                    "The engineer set {} to {}{pin}: \"{}\". The board is authoritative; re-planning from it.",
                    h.id,
                    h.status.label(),
                    h.statement
                ));
            }
            HistoryItem::Steering { text } => p.think(format!(
                "The engineer says: \"{text}\". Taking it into account."
            )),
            _ => {}
        }
    }
}

fn already_said_leading(ctx: &BrainContext, lead: &Candidate) -> bool {
    let needle = format!(
        "Leading hypothesis: {} — {}",
        lead.hypothesis.id, lead.hypothesis.statement
    );
    ctx.history
        .iter()
        .any(|h| matches!(h, HistoryItem::Said { reasoning, text, .. } if reasoning.contains(&needle) || text.contains(&needle)))
}

fn concluded_and_nothing_new(ctx: &BrainContext) -> bool {
    let Some(last) = ctx
        .history
        .iter()
        .rposition(|h| matches!(h, HistoryItem::Concluded { .. }))
    else {
        return false;
    };
    !ctx.history[last..].iter().any(|h| match h {
        HistoryItem::ToolResult { tool, .. } => tool != UPDATE_HYPOTHESES && tool != CONCLUDE,
        HistoryItem::BoardEdit { .. }
        | HistoryItem::Steering { .. }
        | HistoryItem::Denied { .. } => true,
        HistoryItem::Said { .. } | HistoryItem::Concluded { .. } => false,
    })
}

fn follow_ups_from_knowledge(f: &Findings) -> Vec<String> {
    let mut out = Vec::new();
    if let Some((_, hits)) = &f.knowledge {
        for hit in hits.iter().filter(|h| h.score >= MIN_RUNBOOK_SCORE).take(3) {
            for item in &hit.doc.follow_ups {
                let text = if hit.doc.kind == "incident" {
                    format!(
                        "{item} (from {})",
                        hit.doc.title.split(':').next().unwrap_or("")
                    )
                } else {
                    item.clone()
                };
                if !out.contains(&text) && !item.contains("(fixed in") && !item.contains("(done") {
                    out.push(text);
                }
            }
        }
    }
    out
}

fn conclude(
    f: &Findings,
    calls: &[(String, String)],
    lead: &Candidate,
    candidates: &[Candidate],
    mitigation: Option<&Mitigation>,
    held: Option<&findings::Denial>,
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
            .map(|t| format!("\"{}\" ×{}", t.template, t.after))
            .collect();
        if !logged.is_empty() && !root_cause.contains(&logged[0]) {
            root_cause.push_str(&format!(
                "; {service} logs new since the onset: {}",
                logged.join("; ")
            ));
        }
        // Where the change's effect landed: an anomalous service it depends on.
        let downstream = suspects::suspects(f, calls)
            .into_iter()
            .find(|s| &s.service != service && s.callers.contains(service));
        if let Some(hit) = downstream {
            root_cause.push_str(&format!(
                ". Downstream, {}: {}",
                hit.service,
                evidence_text(&hit)
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
            if h.confidence < MITIGATION_CONFIDENCE {
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
    follow_ups.extend(follow_ups_from_knowledge(f));
    let mut seen = BTreeSet::new();
    evidence.retain(|e| seen.insert(e.clone()));
    let by = if h.author == Author::Human {
        " (as edited by the engineer)"
    } else {
        ""
    };
    p.say(format!(
        "Conclusion{by}: {root_cause}. Confidence {:.0}%; evidence {}.",
        h.confidence * 100.0,
        evidence.join(", ")
    ));
    p.call(
        CONCLUDE,
        json!({"root_cause": root_cause, "confidence": h.confidence, "evidence": evidence, "follow_ups": follow_ups}),
        "the evidence supports one explanation",
    );
}

/// Words for the knowledge search from what the data shows, not from hypotheses: the
/// metric names of the strongest shifts (`p99_ms` → `p99`) and the words of the error
/// templates that are new or surged, so a past incident that saw the same errors is
/// found even when nobody guessed its cause.
fn evidence_terms(f: &Findings) -> Vec<String> {
    let mut terms = Vec::new();
    if let Some((_, ranking)) = &f.ranking {
        for shift in ranking.changed.iter().take(2) {
            let metric = shift
                .series
                .strip_prefix(&shift.service)
                .unwrap_or(&shift.series);
            terms.extend(
                metric
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| w.len() >= 3 && !w.chars().all(|c| c.is_ascii_digit()))
                    .map(str::to_lowercase),
            );
        }
    }
    // The loudest new errors only: a long query drowns the words that matter.
    let mut loud: Vec<&findings::Template> = f
        .logs
        .iter()
        .flat_map(|(_, _, templates)| templates)
        .filter(|t| suspects::surging(t))
        .collect();
    loud.sort_by(|a, b| b.after.cmp(&a.after).then(a.template.cmp(&b.template)));
    for t in loud.into_iter().take(2) {
        terms.extend(
            t.template
                .split(|c: char| !c.is_alphabetic())
                .filter(|w| w.len() >= 5)
                .map(str::to_lowercase)
                .take(4),
        );
    }
    if terms.is_empty() {
        terms.extend(["latency".to_string(), "timeout".to_string()]);
    }
    terms
}

/// One line per piece of evidence a suspect has: its strongest series and its surging
/// log templates.
fn evidence_text(suspect: &suspects::Suspect) -> String {
    let mut parts: Vec<String> = suspect
        .shifts
        .iter()
        .take(3)
        .map(|s| {
            format!(
                "{} {} → {} ({})",
                s.series,
                short_number(s.before),
                short_number(s.after),
                z_text(s.score)
            )
        })
        .collect();
    parts.extend(
        suspect
            .templates
            .iter()
            .take(2)
            .map(|t| format!("new since the onset: \"{}\" ×{}", t.template, t.after)),
    );
    parts.join("; ")
}

/// A z-score as a person reads it: a shift from a flat baseline is "from a flat line",
/// not `z +148000000000`.
fn z_text(z: f64) -> String {
    if z.abs() >= 10_000.0 {
        "from a flat line".into()
    } else {
        format!("z {z:+.0}")
    }
}

/// `710742016` reads as `711M`.
fn short_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e9 {
        format!("{:.1}G", value / 1e9)
    } else if magnitude >= 1e6 {
        format!("{:.0}M", value / 1e6)
    } else if magnitude >= 1e4 {
        format!("{:.0}k", value / 1e3)
    } else {
        format!("{value:.0}")
    }
}

/// Change events of any kind in the 30 minutes before the onset on the suspect or on one
/// of its anomalous callers, nearest first (a migration Job of a caller locks a database).
fn recent_changes(f: &Findings, suspect: &suspects::Suspect) -> Vec<String> {
    let (Some((_, ranking)), Some((_, changes))) = (&f.ranking, &f.changes) else {
        return Vec::new();
    };
    let onset = seconds(&ranking.onset);
    let mut near: Vec<&findings::Change> = changes
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

/// No change event explains the incident, but the evidence points at services: conclude
/// with the strongest suspect and what shows it, and say how sure that is.
fn conclude_from_evidence(
    ctx: &BrainContext,
    f: &Findings,
    ranked: &[suspects::Suspect],
    p: &mut Plan,
) {
    let top = &ranked[0];
    let clear = ranked
        .get(1)
        .is_none_or(|second| top.score >= 1.5 * second.score);
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
            evidence_text(top)
        ),
        None => format!(
            "{}{what} is the most likely cause: {}",
            top.service,
            evidence_text(top)
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
            .map(|t| format!("{}: \"{}\"", t.service, t.template))
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
            .map(|s| format!("{} ({})", s.service, evidence_text(s)))
            .collect();
        root_cause.push_str(&format!(
            ". Inconclusive: the evidence does not single it out; next suspects: {}",
            others.join("; ")
        ));
    }
    let confidence = if clear { 0.5 } else { 0.3 };
    let mut evidence: Vec<String> = f.ranking.iter().map(|(id, _)| id.clone()).collect();
    evidence.extend(f.logs.iter().map(|(id, _, _)| id.clone()));
    let mut seen = BTreeSet::new();
    evidence.retain(|e| seen.insert(e.clone()));
    p.say(format!(
        "Conclusion from the evidence: {root_cause}. Confidence {:.0}%; evidence {}.",
        confidence * 100.0,
        evidence.join(", ")
    ));
    p.call(
        CONCLUDE,
        json!({
            "root_cause": root_cause,
            "confidence": confidence,
            "evidence": evidence,
            "follow_ups": [format!("Confirm on {} directly: its own metrics, logs and recent changes", top.service)],
        }),
        "the evidence points at one service",
    );
}

fn conclude_inconclusive(ctx: &BrainContext, f: &Findings, p: &mut Plan) {
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
    p.call(
        CONCLUDE,
        json!({
            "root_cause": "undetermined: every hypothesis is refuted",
            "confidence": 0.1,
            "evidence": evidence,
            "follow_ups": ["Add a hypothesis to the board, or steer the agent towards another service"],
        }),
        "nothing left to test",
    );
}
