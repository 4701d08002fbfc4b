//! Hypotheses from the evidence, and the board they live on.
//!
//! [`from_data`] turns what the snapshot showed into keyed hypotheses: a change (any
//! kind) on a service whose metrics moved is a suspect, one on a service that stayed flat
//! or that a far larger movement below it dwarfs is ruled out; a datastore whose
//! connections moved is saturated; the database's own diagnostics give its shapes (a
//! lock chain, a leaking pool, …: [`super::database`]), even with no metrics at all. [`Board::merge`] puts them on the board the engineer
//! edits: human statements, statuses and pins stand, the brain contributes confidence
//! and evidence. [`Board::leading`] picks the one the tests follow.

use super::Plan;
use super::checks::MIN_RUNBOOK_SCORE;
use super::evidence::{Change, Findings, Ranking, Shift};
use super::suspects;
use super::{hhmmss, seconds, services_mentioned, short_number, z_text};
use crate::analysis::rank::CHANGED;
use crate::analysis::topology::SAME_TIME_SECONDS;
use crate::event::{Author, Hypothesis, HypothesisStatus};
use crate::knowledge::Step;
use crate::protocol::board::{HypothesisArgs, UpdateHypothesesArgs};
use crate::protocol::digest::{DigestArgs, LOGS_DIGEST, LogLevel, METRICS_QUERY, QueryArgs, args};
use crate::{BrainContext, UPDATE_HYPOTHESES};
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
            "change" | "suspect" => Kind::Other,
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

/// How much one kind of evidence can say on its own about a hypothesis (its weight in
/// [`combine`]). A metric that moved is necessary but every bystander has one; timing
/// right before the onset is strong but coincidences happen; new error lines and held
/// sessions show the mechanism; a past incident only says it happened before.
pub(super) const MOVED: f64 = 0.45;
const TIMING: f64 = 0.35;
const LOGGED: f64 = 0.3;
pub(super) const HELD: f64 = 0.4;
const RECALLED: f64 = 0.25;
/// Explaining anomalous callers through the call graph.
const EXPLAINS: f64 = 0.3;

/// One piece of evidence for a hypothesis: the call that shows it, its weight and how
/// strong it is here (0–1).
#[derive(Debug, Clone)]
pub(super) struct Support {
    call: String,
    weight: f64,
    strength: f64,
}

impl Support {
    pub(super) fn new(call: &str, weight: f64, strength: f64) -> Support {
        Support {
            call: call.to_string(),
            weight,
            strength: strength.clamp(0.0, 1.0),
        }
    }
}

/// Independent evidence combined by noisy-OR: each piece leaves a chance that it
/// misleads, 1 − weight·strength, and the confidence is what is left when all of them
/// would have to mislead at once. Each counts as strongly as it is, never as a flat
/// bonus; the result stays below 1 and grows with every independent piece.
pub(super) fn combine(supports: &[Support]) -> f32 {
    let misleading: f64 = supports
        .iter()
        .map(|s| 1.0 - s.weight * s.strength)
        .product();
    (((1.0 - misleading) * 100.0).round() / 100.0) as f32
}

/// The calls a hypothesis cites, once each, in the order of its supports.
pub(super) fn cited(supports: &[Support]) -> Vec<String> {
    let mut calls: Vec<String> = Vec::new();
    for s in supports {
        if !calls.contains(&s.call) {
            calls.push(s.call.clone());
        }
    }
    calls
}

/// A shift's strength: logarithmic in |z|, so z 1000 and beyond (a flat baseline) count
/// the same and a faint z 4 counts a little.
pub(super) fn shift_strength(z: f64) -> f64 {
    ((1.0 + z.abs()).ln() / 1001f64.ln()).min(1.0)
}

/// `amount` as a strength that grows quickly at first and reaches 1 at `full`.
pub(super) fn saturating(amount: f64, full: f64) -> f64 {
    ((1.0 + amount.max(0.0)).ln() / (1.0 + full).ln()).min(1.0)
}

/// Supported once the evidence makes it more likely than not.
pub(super) fn status_of(confidence: f32) -> HypothesisStatus {
    if confidence >= 0.5 {
        HypothesisStatus::Supported
    } else {
        HypothesisStatus::Open
    }
}

/// When a change was last taking effect, as seen from the onset: a change that was still
/// running at the onset (a rollout, a migration with an `end` after it) counts as at the
/// onset; one that finished before it counts from when it finished; one without an end
/// from when it was made.
fn in_effect_at(change: &Change, onset: i64) -> i64 {
    let start = seconds(&change.time);
    match change.end.as_deref().map(seconds) {
        Some(end) if end > start => start.max(end.min(onset)),
        _ => start,
    }
}

/// A change in words: its detail, and the old and new value and who made it when the
/// source recorded them and the detail does not already say so.
fn described(change: &Change) -> String {
    // "job" then "Job migrate-412 started" would say the kind twice.
    let detail = change.detail.trim_start();
    let mut text = match detail.split_once(' ') {
        Some((first, rest)) if first.eq_ignore_ascii_case(&change.kind) => rest.to_string(),
        _ => change.detail.clone(),
    };
    if let (Some(old), Some(new)) = (&change.old, &change.new)
        && !(text.contains(old.as_str()) && text.contains(new.as_str()))
    {
        text.push_str(&format!(" ({old} → {new})"));
    }
    if let Some(by) = change.by.as_ref().filter(|by| !text.contains(by.as_str())) {
        text.push_str(&format!(" by {by}"));
    }
    text
}

/// A hypothesis from the data, under its key, with what it is about.
pub(super) type Keyed = (String, Hypothesis, Kind, String);

/// The hypotheses the data supports now, keyed, before human edits are applied: the
/// changes near the onset, saturated datastores, the shapes the database's own
/// diagnostics show (even when the metrics could not be read), and the services the
/// evidence alone points at.
pub(super) fn from_data(f: &Findings, ctx: &BrainContext) -> Vec<Keyed> {
    let mut out = Vec::new();
    if let Some((rank_id, ranking)) = &f.ranking {
        out.extend(from_changes(f, ctx, rank_id, ranking));
        out.extend(from_saturation(f, ctx, rank_id, ranking));
    }
    let from_metrics = out.len();
    out.extend(super::database::hypotheses(f, ctx));
    let from_the_database = out.len();
    out.extend(from_suspects(f, ctx, &out));
    lower_what_engineers_ruled_out_before(f, &mut out);
    // A baseline of a few rows cannot say what moved: whatever the metrics suggest is
    // believed only in proportion to the history behind it. What the database itself
    // answered (who blocks whom) needs no history.
    if let Some(rows) = f.ranking.as_ref().and_then(|(_, r)| r.thin_history()) {
        let share = rows as f32 / crate::analysis::rank::MIN_BASELINE_ROWS as f32;
        let metric_made = out
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| *i < from_metrics || *i >= from_the_database)
            .map(|(_, keyed)| keyed);
        for (_, h, _, _) in metric_made {
            h.confidence = ((h.confidence * share * 100.0).round() / 100.0).min(0.5);
            if h.status == HypothesisStatus::Supported {
                h.status = status_of(h.confidence);
            }
        }
    }
    out
}

/// How much a hypothesis keeps of its confidence when an engineer refuted a similar one
/// in a past incident the search found: their judgement counts, but this is another
/// incident.
const RULED_OUT_BEFORE: f32 = 0.6;

/// Hypotheses like one an engineer refuted in a past incident (the same service and the
/// same kind of cause, in a learned incident's `## Ruled out`) lose confidence, and say
/// why. A refutation by the agent itself does not count.
fn lower_what_engineers_ruled_out_before(f: &Findings, out: &mut [Keyed]) {
    let Some((_, hits)) = &f.knowledge else {
        return;
    };
    let refutations: Vec<(&str, &str)> = hits
        .iter()
        .filter(|h| h.doc.kind == "incident")
        .flat_map(|h| {
            h.doc
                .ruled_out
                .iter()
                .map(move |line| (h.doc.title.as_str(), line.as_str()))
        })
        .filter(|(_, line)| {
            line.rsplit_once("(refuted by ")
                .map(|(_, who)| who.trim_end_matches(')').trim())
                .is_some_and(|who| !matches!(who, "agent" | "offline" | "brain" | ""))
        })
        .collect();
    for (key, h, _, service) in out.iter_mut() {
        if h.status == HypothesisStatus::Refuted || service.is_empty() {
            continue;
        }
        let kind = key.split([':', '#']).next().unwrap_or("");
        let kind_words: &[&str] = match kind {
            "deploy" => &["deploy", "config"],
            "saturation" => &["saturated"],
            _ => &[],
        };
        let similar = refutations.iter().find(|(_, line)| {
            let lower = line.to_lowercase();
            super::named_at(line, service).is_some()
                && (kind_words.is_empty() || kind_words.iter().any(|w| lower.contains(w)))
        });
        if let Some((title, line)) = similar {
            h.confidence = ((h.confidence * RULED_OUT_BEFORE * 100.0).round() / 100.0).min(0.95);
            if h.status == HypothesisStatus::Supported {
                h.status = status_of(h.confidence);
            }
            let who = line
                .rsplit_once("(refuted by ")
                .map_or("", |(_, w)| w.trim_end_matches(')'));
            h.statement.push_str(&format!(
                " (lowered: {who} ruled out a similar one in {})",
                title.split(':').next().unwrap_or(title).trim()
            ));
        }
    }
}

/// Every change in the half hour before the onset (and the minute after, for clock
/// skew): a suspect when its service moved, ruled out when it did not, when something
/// below moved far more, or when something below was already moving before it.
fn from_changes(f: &Findings, ctx: &BrainContext, rank_id: &str, ranking: &Ranking) -> Vec<Keyed> {
    let graph = call_graph(ctx);
    let onset = seconds(&ranking.onset);
    // The service's strongest move in the direction of harm: a change is a cause only
    // if what it changed got worse (memory falling after a deploy is not a regression).
    let top_of = |service: &str| {
        ranking
            .changed
            .iter()
            .find(|s| s.service == service && s.score.abs() >= CHANGED && suspects::harmful(s))
    };
    // The service logs errors or warnings it never logged before the onset.
    let new_errors = |service: &str| {
        f.logs.iter().find_map(|(id, _, templates)| {
            let lines: u64 = templates
                .iter()
                .filter(|t| t.service == service && t.new && t.level != "INFO")
                .map(|t| t.after)
                .sum();
            (lines > 0).then(|| Support::new(id, LOGGED, saturating(lines as f64, 100.0)))
        })
    };
    let idle_by = |service: &str| {
        f.idle_now()
            .into_iter()
            .find(|i| i.application == service || i.application.starts_with(&format!("{service}-")))
            .filter(|i| i.sessions >= 10)
    };
    // One of the service's sessions holds locks others wait on.
    let blocks = |service: &str| super::database::blocking_support(f, service);
    // A past incident of this service with a deploy behind it, as strong as its match.
    let past = |service: &str| {
        f.knowledge.as_ref().and_then(|(id, hits)| {
            hits.iter()
                .filter(|h| {
                    h.doc.kind == "incident"
                        && h.doc.title.contains(service)
                        && h.doc.tags.iter().any(|t| t == "deploy")
                })
                .map(|h| h.score)
                .max_by(f32::total_cmp)
                .map(|score| Support::new(id, RECALLED, saturating(score as f64, 10.0)))
        })
    };
    let mut out = Vec::new();
    if let Some((events_id, changes)) = &f.changes {
        for change in changes.iter() {
            let at = in_effect_at(change, onset);
            if !(onset - 1800..=onset + 60).contains(&at) {
                continue;
            }
            let what = described(change);
            let service = change.service.as_str();
            // Event kinds are open (flag, job, migration, scale, certificate, …): any
            // change on a service that moved is a suspect. Deploys and config changes are
            // listed even when their service did not move, as ruled out.
            let revertible = change.kind == "deploy" || change.kind == "config";
            if !revertible && top_of(service).is_none() {
                continue;
            }
            let evidence = vec![rank_id.to_string(), events_id.clone()];
            // What changed below this service in the call graph, with its strength
            // against the service's own (both logarithmic in |z|).
            let below = |top: &Shift| {
                let own = (1.0 + top.score.abs()).ln();
                ranking
                    .changed
                    .iter()
                    .filter(|s| s.score.abs() >= CHANGED && s.service != service)
                    .filter(|s| depends_on(&graph, service, &s.service))
                    .map(move |s| (s, (1.0 + s.score.abs()).ln() / own))
            };
            // Something below moved far more: the change is a bystander and the cause
            // lies below (a slow database explains a deployed caller's wobble; a bad
            // deploy that floods a database still leads, as it moved more than the
            // database).
            let dwarfed_by = top_of(service)
                .and_then(|top| below(top).find(|(_, ratio)| *ratio >= 2.0))
                .map(|(s, _)| s);
            // Something below that moved comparably was already moving before the
            // change was made: the change can't have caused it (a leak that began half
            // an hour earlier, not the caller's deploy a minute before the onset).
            let preceded_by = top_of(service)
                .and_then(|top| {
                    below(top).find(|(s, ratio)| {
                        *ratio >= 0.5 && seconds(&s.changed_at) + SAME_TIME_SECONDS < at
                    })
                })
                .map(|(s, _)| s);
            let (statement, status, confidence, evidence) = match top_of(service) {
                Some(_) if preceded_by.is_some() => {
                    let below = preceded_by.expect("checked");
                    (
                        format!(
                            "{service} {} {} at {} is unlikely: {}, below it, was already moving at {} ({} {} → {}), before the change",
                            change.kind,
                            what,
                            hhmmss(&change.time),
                            below.service,
                            hhmmss(&below.changed_at),
                            below.series,
                            short_number(below.before),
                            short_number(below.after)
                        ),
                        HypothesisStatus::Refuted,
                        0.1,
                        evidence.clone(),
                    )
                }
                Some(top) if dwarfed_by.is_some() => {
                    let below = dwarfed_by.expect("checked");
                    (
                        format!(
                            "{service} {} {} at {} is unlikely: {service} barely moved ({} {}) while {}, below it, moved far more ({} {})",
                            change.kind,
                            what,
                            hhmmss(&change.time),
                            top.series,
                            z_text(top.score),
                            below.service,
                            below.series,
                            z_text(below.score)
                        ),
                        HypothesisStatus::Refuted,
                        0.1,
                        evidence.clone(),
                    )
                }
                // Its metrics did not move, but its logs fail: a fresh rollout's pods
                // begin their logs at the rollout, and a bad build can throw without
                // moving a single series. Left open, not ruled out.
                None if suspects::logs_point_at(f, service) => (
                    format!(
                        "{service} {} {} at {} may be related: {service}'s metrics did not move at the onset, but its logs fail since",
                        change.kind,
                        what,
                        hhmmss(&change.time)
                    ),
                    HypothesisStatus::Open,
                    0.2,
                    evidence.clone(),
                ),
                None => (
                    format!(
                        "{service} {} {} at {} is unrelated: {service}'s metrics did not move at the onset",
                        change.kind,
                        what,
                        hhmmss(&change.time)
                    ),
                    HypothesisStatus::Refuted,
                    0.05,
                    evidence.clone(),
                ),
                Some(top) => {
                    // How strongly the service moved (log scale: z 1000 and beyond count
                    // the same), how close to the onset the change was (nothing after
                    // 30 minutes), and what else shows it, each as strong as it is.
                    let recency = 1.0 - (onset - at).max(0) as f64 / 1800.0;
                    let supports: Vec<Support> = [
                        Some(Support::new(rank_id, MOVED, shift_strength(top.score))),
                        Some(Support::new(events_id, TIMING, recency)),
                        new_errors(service),
                        idle_by(service).map(|i| {
                            Support::new(&i.call, HELD, saturating(i.sessions as f64, 20.0))
                        }),
                        blocks(service).map(|(support, _)| support),
                        past(service),
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    let c = combine(&supports);
                    let evidence = cited(&supports);
                    let mut statement = format!(
                        "{service} {} {} at {} ({}s before the onset) caused the regression: {} {} → {}",
                        change.kind,
                        what,
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
                    if let Some((_, text)) = blocks(service) {
                        statement.push_str(&format!("; {text}"));
                    }
                    (statement, status_of(c), c.min(0.95), evidence)
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
    out
}

/// A datastore whose connections moved: saturated, as strongly as its shift, the
/// callers' quoted log lines and the sessions held in it show.
fn from_saturation(
    f: &Findings,
    ctx: &BrainContext,
    rank_id: &str,
    ranking: &Ranking,
) -> Vec<Keyed> {
    let mut out = Vec::new();
    for (name, kind) in &ctx.incident.services {
        if kind == "app" {
            continue;
        }
        let Some(top) = ranking.changed.iter().find(|s| {
            s.service == *name && s.series.contains("connections") && s.score.abs() >= CHANGED
        }) else {
            continue;
        };
        let mut supports = vec![Support::new(rank_id, MOVED, shift_strength(top.score))];
        let mut statement = format!(
            "{name} is saturated: {} {} → {} ({})",
            top.series,
            short_number(top.before),
            short_number(top.after),
            z_text(top.score)
        );
        // The mechanism is said only as a log line shows it: callers' new lines about
        // connections, quoted.
        let waiting = f.logs.iter().find_map(|(id, _, templates)| {
            templates
                .iter()
                .filter(|t| t.new && t.template.contains("connection") && t.service != *name)
                .max_by_key(|t| t.after)
                .map(|t| (id, t))
        });
        if let Some((id, t)) = waiting {
            supports.push(Support::new(id, LOGGED, saturating(t.after as f64, 100.0)));
            statement.push_str(&format!(
                "; {} logs \"{}\" since the onset (×{})",
                t.service,
                super::quote(&t.template),
                t.after
            ));
        }
        if let Some(idle) = f
            .idle_now()
            .into_iter()
            .max_by_key(|i| i.sessions)
            .filter(|i| i.sessions >= 10)
        {
            let held = saturating(idle.sessions as f64, 20.0);
            supports.push(Support::new(&idle.call, HELD, held));
            statement.push_str(&format!(
                "; {} sessions are held idle in transaction by {}",
                idle.sessions, idle.application
            ));
        }
        let c = combine(&supports);
        let (status, evidence) = (status_of(c), cited(&supports));
        let key = format!("saturation:{name}");
        out.push((
            key.clone(),
            hyp(key, statement, status, c.min(0.95), evidence),
            Kind::Resource,
            name.clone(),
        ));
    }
    out
}

/// How much of its confidence a suspect keeps when it is on no call path from the
/// paging service (the graph may miss a link, so not nothing).
const OFF_PATH: f32 = 0.5;

/// How many of the evidence's suspects go on the board.
const SUSPECTS_ON_THE_BOARD: usize = 3;

/// The services the evidence points at (see [`suspects`]) that no standing hypothesis is
/// about yet, as hypotheses of their own: the engineer sees them, and can pin, confirm
/// or refute them. Their confidence is their own evidence — how far the service moved,
/// what it logs since the onset, how many anomalous callers it explains — combined like
/// any other.
fn from_suspects(f: &Findings, ctx: &BrainContext, standing: &[Keyed]) -> Vec<Keyed> {
    let Some((rank_id, _)) = &f.ranking else {
        return Vec::new();
    };
    let covered = |service: &str| {
        standing
            .iter()
            .any(|(_, h, _, s)| s == service && h.status != HypothesisStatus::Refuted)
    };
    let logs_id = f.logs.first().map(|(id, _, _)| id.as_str());
    let ranked = suspects::suspects(
        f,
        &call_graph(ctx),
        super::alerting_service(ctx),
        &ctx.incident.alert,
        &ctx.incident.services,
    );
    for s in &ranked {
        tracing::debug!(service = %s.service, score = s.score, callers = ?s.callers, "suspect");
    }
    ranked
        .iter()
        .filter(|s| !covered(&s.service))
        .take(SUSPECTS_ON_THE_BOARD)
        .map(|suspect| {
            let mut supports = Vec::new();
            // Each source as much as it matters (see `suspects::Weighed`), on the same
            // logarithmic scale as a shift's z.
            let on_the_z_scale = |weighed: f64| (weighed / 1001f64.ln()).min(1.0);
            if !suspect.shifts.is_empty() {
                let moved = on_the_z_scale(suspect.weighed.moved);
                supports.push(Support::new(rank_id, MOVED, moved));
            }
            if let (Some((traces_id, _)), false) = (&f.traces, suspect.traced.is_empty()) {
                let traced = on_the_z_scale(suspect.weighed.traced);
                supports.push(Support::new(traces_id, MOVED, traced));
            }
            // Its own new errors, and those of callers that name it.
            let logged: u64 = suspect
                .templates
                .iter()
                .chain(suspect.named_by.iter().map(|n| &n.template))
                .map(|t| t.after)
                .sum();
            if let (Some(id), true) = (logs_id, logged > 0) {
                supports.push(Support::new(id, LOGGED, saturating(logged as f64, 100.0)));
            }
            if let (Some((id, _, _)), Some(_)) = (&f.log_tally, suspect.erring) {
                // Its errors stand out, though no history says they are new.
                let erring = on_the_z_scale(suspect.weighed.errors);
                supports.push(Support::new(id, MOVED, erring));
            }
            if let (Some(id), false) = (logs_id, suspect.vanished.is_empty()) {
                // It stopped doing something: as strong as a series that moved with the
                // same surprise.
                let gone = on_the_z_scale(suspect.weighed.vanished);
                supports.push(Support::new(id, MOVED, gone));
            }
            if !suspect.callers.is_empty() {
                let explained = saturating(suspect.callers.len() as f64, 3.0);
                supports.push(Support::new(rank_id, EXPLAINS, explained));
            }
            supports.extend(recalled(f, &suspect.service));
            // What paged is slowed or failed by what it reaches: a service on no call path
            // from it needs a link the graph does not show.
            let reach = if suspect.on_path { 1.0 } else { OFF_PATH };
            let c = combine(&supports) * reach;
            let service = suspect.service.clone();
            let key = format!("suspect:{service}");
            let mut statement = suspect_statement(suspect);
            if let (false, Some(paging)) = (suspect.on_path, super::alerting_service(ctx)) {
                statement.push_str(&format!("; it is on no call path from {paging}"));
            }
            let h = hyp(
                key.clone(),
                statement,
                status_of(c),
                c.min(0.95),
                cited(&supports),
            );
            (key, h, Kind::Other, service)
        })
        .collect()
}

/// A past incident the evidence's search found (its words came from the evidence, not
/// from a guess) that names this service — in its title, tags or summary — as strong as
/// its match.
fn recalled(f: &Findings, service: &str) -> Option<Support> {
    let (id, hits) = f.knowledge.as_ref()?;
    hits.iter()
        .filter(|h| h.doc.kind == "incident" && h.score >= MIN_RUNBOOK_SCORE)
        .filter(|h| {
            let text = format!("{} {} {}", h.doc.title, h.doc.tags.join(" "), h.doc.summary);
            super::named_at(&text, service).is_some()
        })
        .map(|h| h.score)
        .max_by(f32::total_cmp)
        .map(|score| Support::new(id, RECALLED, saturating(score as f64, 10.0)))
}

/// What points at a suspect, in words: its evidence, and the callers it explains.
fn suspect_statement(suspect: &suspects::Suspect) -> String {
    let what = match suspect.resource_words().as_slice() {
        [] => String::new(),
        words => format!(" ({})", words.join(", ")),
    };
    // Errors that dominate its lines without a history to compare with did not
    // necessarily start at the onset.
    let only_errors = (suspect.erring.is_some() || !suspect.named_by.is_empty())
        && suspect.shifts.is_empty()
        && suspect.templates.is_empty()
        && suspect.traced.is_empty()
        && suspect.vanished.is_empty();
    let verb = if only_errors {
        "is failing"
    } else {
        "moved at the onset"
    };
    let mut statement = format!(
        "{}{what} {verb}: {}",
        suspect.service,
        suspects::evidence_text(suspect)
    );
    if !suspect.callers.is_empty() {
        statement.push_str(&format!(
            "; it is below {}, which moved too",
            suspect.callers.join(", ")
        ));
    }
    statement
}

/// A hypothesis the brain made from the evidence alone (not from a change or a
/// saturated datastore). It leads like any other when its evidence is the strongest;
/// unless the engineer chose it, its conclusion says how far the evidence goes
/// ([`super::conclusion::from_the_evidence`]).
pub(super) fn is_suspect(h: &Hypothesis) -> bool {
    h.key.as_deref().is_some_and(|k| k.starts_with("suspect:"))
}

pub(super) fn hyp(
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
                    } else if confirmed_by_a_human(existing) {
                        fresh.confidence.max(CONFIRMED)
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
            updated.confidence = if confirmed_by_a_human(h) {
                CONFIRMED
            } else if moved {
                0.5
            } else {
                0.15
            };
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

/// How sure a hypothesis the engineer confirmed is: they know what the evidence can't show.
const CONFIRMED: f32 = 0.9;

/// The engineer pinned it or confirmed it on the board.
pub(super) fn chosen_by_a_human(h: &Hypothesis) -> bool {
    h.pinned || confirmed_by_a_human(h)
}

/// The engineer confirmed it on the board.
pub(super) fn confirmed_by_a_human(h: &Hypothesis) -> bool {
    h.author == Author::Human && h.status == HypothesisStatus::Confirmed
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

/// The hypothesis to work on: the engineer's confirmed or pinned ones first; then one
/// that no later live change below it in the call graph explains (a DNS change explains
/// the timeouts of a service deployed minutes earlier); then confidence, whatever kind
/// of hypothesis it is; then the earlier change; only then the id.
pub(super) fn leading<'a>(
    candidates: &'a [Candidate],
    calls: &[(String, String)],
) -> Option<&'a Candidate> {
    // One rule for every kind: a change, a saturated datastore, a database shape and a
    // suspect from the evidence alone compete on what their evidence adds up to.
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
            // Between equally supported changes, the earlier: a later one on the same
            // path is more often its consequence (a config change, then the restarts it
            // causes) than its cause.
            std::cmp::Reverse(changed_at(c).unwrap_or(i64::MAX)),
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
    // A datastore the SQL tools can reach: a PostgreSQL first (psql speaks to it), then
    // any other database — never a job, a cronjob or a queue, which are not apps either.
    const SQL: &[&str] = &["postgres", "postgresql", "pg", "cockroachdb", "timescaledb"];
    const DATASTORES: &[&str] = &["mysql", "mariadb", "database", "db", "sql"];
    let of_kind = |kinds: &[&str]| {
        ctx.incident
            .services
            .iter()
            .find(|(_, kind)| kinds.contains(&kind.to_ascii_lowercase().as_str()))
            .map(|(name, _)| name.clone())
    };
    of_kind(SQL).or_else(|| of_kind(DATASTORES))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn support(weight: f64, strength: f64) -> Support {
        Support::new("c1", weight, strength)
    }

    #[test]
    fn evidence_counts_as_strongly_as_it_is() {
        let strong = combine(&[support(MOVED, 1.0), support(TIMING, 1.0)]);
        let faint = combine(&[support(MOVED, 0.2), support(TIMING, 1.0)]);
        assert!(strong > faint, "{strong} vs {faint}");
        // Another independent piece always raises it, by its own strength.
        let more = combine(&[
            support(MOVED, 1.0),
            support(TIMING, 1.0),
            support(LOGGED, 0.5),
        ]);
        let much_more = combine(&[
            support(MOVED, 1.0),
            support(TIMING, 1.0),
            support(LOGGED, 1.0),
        ]);
        assert!(strong < more && more < much_more);
        // Never past 1, and nothing from nothing.
        let all = [MOVED, TIMING, LOGGED, HELD, RECALLED].map(|w| support(w, 1.0));
        assert!(combine(&all) < 1.0);
        assert_eq!(combine(&[]), 0.0);
        assert_eq!(combine(&[support(LOGGED, 0.0)]), 0.0);
    }

    #[test]
    fn strengths_are_logarithmic_and_bounded() {
        assert!(shift_strength(4.0) < 0.3);
        assert_eq!(shift_strength(2.9e9), 1.0);
        assert_eq!(shift_strength(-2.9e9), 1.0);
        assert!(saturating(1.0, 100.0) < saturating(10.0, 100.0));
        assert_eq!(saturating(500.0, 100.0), 1.0);
        assert_eq!(saturating(-3.0, 100.0), 0.0);
    }

    fn change(time: &str, end: Option<&str>) -> Change {
        Change {
            time: time.into(),
            kind: "migration".into(),
            service: "db".into(),
            detail: "add index on orders".into(),
            old: Some("v41".into()),
            new: Some("v42".into()),
            by: Some("ci".into()),
            end: end.map(str::to_string),
        }
    }

    #[test]
    fn a_change_counts_from_when_it_last_took_effect_and_says_what_changed() {
        let onset = seconds("2026-01-01T01:00:00Z");
        let made = change("2026-01-01T00:10:00Z", None);
        assert_eq!(in_effect_at(&made, onset), seconds("2026-01-01T00:10:00Z"));
        let finished = change("2026-01-01T00:10:00Z", Some("2026-01-01T00:55:00Z"));
        assert_eq!(
            in_effect_at(&finished, onset),
            seconds("2026-01-01T00:55:00Z")
        );
        let running = change("2026-01-01T00:10:00Z", Some("2026-01-01T01:30:00Z"));
        assert_eq!(in_effect_at(&running, onset), onset);
        assert_eq!(described(&made), "add index on orders (v41 → v42) by ci");
        let said = Change {
            detail: "v41 -> v42 by ci".into(),
            ..made
        };
        assert_eq!(described(&said), "v41 -> v42 by ci");
    }

    #[test]
    fn what_an_engineer_ruled_out_before_weighs_less_now() {
        use crate::knowledge::{Hit, ParsedDoc};
        let hit = |ruled_out: &str| Hit {
            score: 5.0,
            doc: ParsedDoc {
                name: "learned.md".into(),
                kind: "incident".into(),
                title: "INC-7: checkout slow".into(),
                tags: Vec::new(),
                steps: Vec::new(),
                follow_ups: Vec::new(),
                summary: String::new(),
                ruled_out: vec![ruled_out.into()],
            },
        };
        let keyed = |key: &str, service: &str| -> Keyed {
            (
                key.into(),
                hyp(
                    key.into(),
                    format!("{service} did it"),
                    HypothesisStatus::Supported,
                    0.7,
                    Vec::new(),
                ),
                Kind::Deploy,
                service.into(),
            )
        };
        let mut f = Findings {
            knowledge: Some((
                "c4".into(),
                vec![hit(
                    "catalog deploy 3.2 -> 3.3 caused it (refuted by alice)",
                )],
            )),
            ..Findings::default()
        };
        let mut out = vec![
            keyed("deploy:catalog#deploy@t", "catalog"),
            keyed("deploy:cart#deploy@t", "cart"),
        ];
        lower_what_engineers_ruled_out_before(&f, &mut out);
        assert_eq!(out[0].1.confidence, 0.42);
        assert_eq!(out[0].1.status, HypothesisStatus::Open);
        assert!(
            out[0]
                .1
                .statement
                .contains("alice ruled out a similar one in INC-7")
        );
        assert_eq!(out[1].1.confidence, 0.7, "another service is not similar");
        // The agent's own refutation is not an engineer's judgement.
        f.knowledge = Some((
            "c4".into(),
            vec![hit(
                "catalog deploy 3.2 -> 3.3 caused it (refuted by agent)",
            )],
        ));
        let mut again = vec![keyed("deploy:catalog#deploy@t", "catalog")];
        lower_what_engineers_ruled_out_before(&f, &mut again);
        assert_eq!(again[0].1.confidence, 0.7);
    }

    #[test]
    fn a_past_incident_that_names_the_service_recalls_it() {
        use crate::knowledge::{Hit, ParsedDoc};
        let hit = |title: &str, score: f32| Hit {
            score,
            doc: ParsedDoc {
                name: "inc.md".into(),
                kind: "incident".into(),
                title: title.into(),
                tags: Vec::new(),
                steps: Vec::new(),
                follow_ups: Vec::new(),
                summary: String::new(),
                ruled_out: Vec::new(),
            },
        };
        let f = Findings {
            knowledge: Some((
                "c4".into(),
                vec![
                    hit("INC-1: catalog-db disk full", 6.0),
                    hit("INC-2: cart OOM", 0.5),
                ],
            )),
            ..Findings::default()
        };
        assert!(
            recalled(&f, "catalog").is_none(),
            "catalog-db is not catalog"
        );
        let support = recalled(&f, "catalog-db").unwrap();
        assert_eq!(support.call, "c4");
        assert!(support.strength > 0.5);
        assert!(
            recalled(&f, "cart").is_none(),
            "a weak match recalls nothing"
        );
    }

    #[test]
    fn between_equally_supported_changes_the_earlier_leads_not_the_lower_id() {
        let candidate = |id: &str, key: &str| Candidate {
            hypothesis: Hypothesis {
                id: id.into(),
                statement: key.into(),
                status: HypothesisStatus::Supported,
                confidence: 0.75,
                evidence: Vec::new(),
                key: Some(key.into()),
                author: Author::Brain,
                pinned: false,
            },
            kind: Kind::Deploy,
            service: Some("dns".into()),
        };
        let restart = candidate("H1", "change:dns#restart@2026-01-01T00:10:10Z");
        let config = candidate("H2", "deploy:dns#config@2026-01-01T00:10:00Z");
        let candidates = [restart, config];
        let lead = leading(&candidates, &[]).unwrap();
        assert_eq!(lead.hypothesis.id, "H2");
    }

    #[test]
    fn a_call_is_cited_once() {
        let supports = [
            Support::new("c1", MOVED, 1.0),
            Support::new("c3", LOGGED, 1.0),
            Support::new("c1", TIMING, 1.0),
        ];
        assert_eq!(cited(&supports), ["c1", "c3"]);
        assert_eq!(status_of(0.5), HypothesisStatus::Supported);
        assert_eq!(status_of(0.49), HypothesisStatus::Open);
    }
}
