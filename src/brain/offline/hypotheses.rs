//! Hypotheses from the evidence, and the board they live on.
//!
//! [`from_data`] turns what the snapshot showed into keyed hypotheses: a change (any
//! kind) on a service whose metrics moved is a suspect, one on a service that stayed flat
//! or that a far larger movement below it dwarfs is ruled out; a datastore whose
//! connections moved is saturated. [`Board::merge`] puts them on the board the engineer
//! edits: human statements, statuses and pins stand, the brain contributes confidence
//! and evidence. [`Board::leading`] picks the one the tests follow.

use super::Plan;
use super::evidence::Findings;
use super::{hhmmss, seconds, services_mentioned, short_number, z_text};
use crate::analysis::rank::CHANGED;
use crate::brain::{BrainContext, UPDATE_HYPOTHESES};
use crate::event::{Author, Hypothesis, HypothesisStatus};
use crate::knowledge::Step;
use crate::protocol::board::{HypothesisArgs, UpdateHypothesesArgs};
use crate::protocol::digest::{DigestArgs, LOGS_DIGEST, LogLevel, METRICS_QUERY, QueryArgs, args};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Deploy,
    Resource,
    Other,
}

impl Kind {
    pub(super) fn fits(self, step: &Step) -> bool {
        step.fits.is_empty()
            || matches!(
                (self, step.fits.as_str()),
                (Kind::Deploy, "deploy") | (Kind::Resource, "resource")
            )
    }
}

/// A hypothesis as the brain sees it now, with what it is about.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub hypothesis: Hypothesis,
    pub kind: Kind,
    pub service: Option<String>,
}

/// What a hypothesis is about: from its key when the brain wrote it, else from its words.
pub(super) fn kind_of(h: &Hypothesis, ctx: &BrainContext) -> (Kind, Option<String>) {
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
pub(super) fn from_data(
    f: &Findings,
    ctx: &BrainContext,
) -> Vec<(String, Hypothesis, Kind, String)> {
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

/// The board as the brain sees it this turn, and the updates it sends.
pub(super) struct Board {
    pub candidates: Vec<Candidate>,
    upserts: Vec<HypothesisArgs>,
}

impl Board {
    /// Merge what the data says into the board: human-edited statements, statuses and pins
    /// stand; the brain contributes confidence and evidence. Returns the merged board and the
    /// upserts to send.
    pub(super) fn merge(
        ctx: &BrainContext,
        f: &Findings,
        mitigated: Option<(Kind, &str)>,
    ) -> Board {
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
                        upserts.push(upsert(&updated));
                        *existing = updated;
                    }
                }
                None => {
                    while board.iter().any(|h| h.id == format!("H{next_id}")) {
                        next_id += 1;
                    }
                    fresh.id = format!("H{next_id}");
                    next_id += 1;
                    upserts.push(upsert(&fresh));
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
                upserts.push(upsert(&updated));
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
        Board {
            candidates,
            upserts,
        }
    }

    /// Send what changed on the board, if anything.
    pub(super) fn record(&self, p: &mut Plan) {
        if !self.upserts.is_empty() {
            let update = UpdateHypothesesArgs {
                hypotheses: self.upserts.clone(),
            };
            p.call(
                UPDATE_HYPOTHESES,
                args(&update),
                "record what the evidence says",
            );
        }
    }

    /// The hypotheses still standing.
    pub(super) fn live(&self) -> impl Iterator<Item = &Candidate> {
        self.candidates
            .iter()
            .filter(|c| c.hypothesis.status != HypothesisStatus::Refuted)
    }
}

/// A hypothesis as `update_hypotheses` takes it.
fn upsert(h: &Hypothesis) -> HypothesisArgs {
    HypothesisArgs {
        id: Some(h.id.clone()),
        key: h.key.clone(),
        statement: h.statement.clone(),
        status: h.status,
        confidence: h.confidence,
        evidence: h.evidence.clone(),
    }
}

/// The hypothesis to work on: the engineer's confirmed or pinned ones first; then a
/// change that no later live change below it in the call graph explains (a DNS change
/// explains the timeouts of a service deployed minutes earlier); then confidence; ties
/// by id, never by arrival order.
pub(super) fn leading<'a>(
    candidates: &'a [Candidate],
    calls: &[(String, String)],
) -> Option<&'a Candidate> {
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
pub(super) fn depends_on(calls: &[(String, String)], from: &str, to: &str) -> bool {
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
pub(super) fn call_graph(ctx: &BrainContext) -> Vec<(String, String)> {
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
pub(super) fn database(ctx: &BrainContext) -> Option<String> {
    ctx.incident
        .services
        .iter()
        .find(|(_, kind)| kind != "app")
        .map(|(name, _)| name.clone())
}

/// Hypotheses the engineer added, or steering that names a service: look at that
/// service's metrics and logs before going on.
pub(super) fn examine_what_humans_named(
    ctx: &BrainContext,
    f: &Findings,
    board: &Board,
    p: &mut Plan,
) -> bool {
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
    if unexamined.is_empty() {
        return false;
    }
    for service in unexamined {
        p.think(format!(
            "You pointed at {service}; looking at its metrics and logs before going on."
        ));
        let why = format!("did {service} move at the onset?");
        p.call(
            METRICS_QUERY,
            args(&QueryArgs {
                service: service.clone(),
            }),
            why,
        );
        let logs = DigestArgs {
            service: Some(service.clone()),
            level: Some(LogLevel::Info),
            ..DigestArgs::default()
        };
        p.call(LOGS_DIGEST, args(&logs), format!("what {service} logged"));
    }
    board.record(p);
    true
}
