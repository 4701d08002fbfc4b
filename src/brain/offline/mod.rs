//! The offline brain: a deterministic investigator that needs no model.
//!
//! Each turn it re-reads everything in its context and the board, and decides the next
//! step the way an on-call engineer would, in four parts, one module each:
//!
//! 1. [`evidence`]: a snapshot — which metrics moved and when (`metrics_rank`), what
//!    changed (`change_events`), what the logs say that they didn't before
//!    (`logs_digest`), which calls got slower and whose own time grew (`traces_digest`,
//!    when the source has traces), and where the environment has a database, the
//!    database's own answer ([`database`]: who blocks whom, who holds sessions) — read
//!    back as the tools' typed reports;
//! 2. [`hypotheses`]: from the evidence — a change whose service moved is a suspect, one
//!    whose service stayed flat is refuted, a saturated datastore is a mechanism — merged
//!    into the board; then the knowledge search made from the evidence;
//! 3. [`checks`]: the runbook's diagnostic steps for the leading hypothesis, then its
//!    mitigation (which the gate stops for approval), then its verification; a database
//!    shape ([`database`]) brings its own mitigation, with no runbook needed;
//! 4. [`conclusion`]: what the cited evidence shows; without a standing hypothesis, the
//!    strongest suspect from the evidence and the call graph ([`suspects`]).
//!
//! The board is authoritative: a hypothesis the engineer refuted can't lead, one they
//! pinned or confirmed leads, one they added is examined. Nothing is remembered between
//! turns except through the context, so an edit re-plans everything from the data. Text
//! streams a few words at a time through the same stream an LLM brain uses.

mod checks;
mod conclusion;
mod database;
mod evidence;
mod hypotheses;
mod suspects;

use super::UPDATE_HYPOTHESES;
use super::{Brain, BrainContext, BrainError, BrainItem, CONCLUDE, HistoryItem, ProposedCall};
use evidence::Findings;
use futures::StreamExt;
use futures::stream::BoxStream;
use hypotheses::{Board, Candidate, call_graph, leading};
use serde_json::Value;
use std::time::Duration;

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

/// Decide this turn. Pure: the same context always gives the same plan. Each stage
/// either plans the turn, and the turn ends there, or hands on to the next.
pub fn plan(ctx: &BrainContext) -> Plan {
    let f = Findings::read(&ctx.history);
    let mut p = Plan::default();
    acknowledge_humans(ctx, &mut p);
    // Evidence.
    if evidence::take_snapshot(ctx, &f, &mut p)
        || evidence::read_logs(&f, &mut p)
        || evidence::read_traces(ctx, &f, &mut p)
        || database::diagnose(ctx, &f, &mut p)
    {
        return p;
    }
    // Hypotheses, on the board the engineer edits; then knowledge from the evidence.
    let from_runbook = checks::mitigation_applied(ctx, &f);
    let mitigated = from_runbook
        .as_ref()
        .filter(|m| m.verified)
        .map(|m| (m.kind, m.service.as_str()));
    let board = Board::merge(ctx, &f, mitigated);
    // The database's own mitigation confirms exactly the shape it ended (see `database`).
    let applied = from_runbook.or_else(|| database::mitigation_applied(ctx, &f));
    if evidence::search_knowledge(ctx, &f, &board, &mut p)
        || hypotheses::examine_what_humans_named(ctx, &f, &board, &mut p)
    {
        return p;
    }
    let Some(lead) = leading(&board.candidates, &call_graph(ctx)).cloned() else {
        conclusion::without_a_lead(ctx, &f, &board, &mut p);
        return p;
    };
    // The evidence alone leads: conclude from it, saying how far it goes.
    if hypotheses::is_suspect(&lead.hypothesis) && !hypotheses::chosen_by_a_human(&lead.hypothesis)
    {
        if concluded_and_nothing_new(ctx) {
            return Plan::default();
        }
        conclusion::from_the_evidence(ctx, &f, &board, lead.service.as_deref(), &mut p);
        return p;
    }
    if f.knowledge.is_some() && !already_said_leading(ctx, &lead) {
        p.think(format!(
            "Leading hypothesis: {} — {}",
            lead.hypothesis.id, lead.hypothesis.statement
        ));
    }
    // Tests of the leading hypothesis.
    if checks::diagnose(ctx, &f, &board, &lead, &mut p)
        || database::mitigate(&f, &board, &lead, applied.as_ref(), &mut p)
        || checks::mitigate(ctx, &f, &board, &lead, applied.as_ref(), &mut p)
        || database::verify(ctx, &f, &board, applied.as_ref(), &mut p)
        || checks::verify(ctx, &f, &board, applied.as_ref(), &mut p)
    {
        return p;
    }
    // Conclusion.
    if concluded_and_nothing_new(ctx) {
        return Plan::default();
    }
    board.record(&mut p);
    conclusion::conclude(
        &f,
        &call_graph(ctx),
        &lead,
        &board.candidates,
        applied.as_ref(),
        checks::held(&f),
        &mut p,
    );
    p
}

pub(super) fn hhmmss(time: &str) -> &str {
    time.get(11..19).unwrap_or(time)
}

pub(super) fn seconds(time: &str) -> i64 {
    crate::bundle::parse_time(time)
        .map(|t| t.timestamp())
        .unwrap_or_default()
}

pub(super) fn services_mentioned<'a>(text: &str, ctx: &'a BrainContext) -> Vec<&'a str> {
    let lower = text.to_lowercase();
    ctx.incident
        .services
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| lower.contains(&name.to_lowercase()))
        .collect()
}

/// Where `text` first names `name` as a whole name (`catalog` is not `catalog-db`,
/// `user` is not `users`), case-insensitively.
pub(super) fn named_at(text: &str, name: &str) -> Option<usize> {
    let (text, name) = (text.to_lowercase(), name.to_lowercase());
    let is_name_char = |c: char| c.is_alphanumeric() || c == '-' || c == '_' || c == '.';
    text.match_indices(&name)
        .find(|(at, _)| {
            let before = text[..*at].chars().next_back();
            let after = text[at + name.len()..].chars().next();
            !before.is_some_and(is_name_char) && !after.is_some_and(is_name_char)
        })
        .map(|(at, _)| at)
}

/// The known services `text` names as whole names, with where each is first named;
/// where two start at the same place, the longer wins.
pub(super) fn services_named<'a>(text: &str, ctx: &'a BrainContext) -> Vec<(usize, &'a str)> {
    let mut found: Vec<(usize, std::cmp::Reverse<usize>, &str)> = ctx
        .incident
        .services
        .iter()
        .filter_map(|(name, _)| {
            named_at(text, name).map(|at| (at, std::cmp::Reverse(name.len()), name.as_str()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(at, _, name)| (at, name)).collect()
}

/// The service that paged: the one the alert names first.
pub(super) fn alerting_service(ctx: &BrainContext) -> Option<&str> {
    services_named(&ctx.incident.alert, ctx)
        .first()
        .map(|(_, name)| *name)
}

/// A z-score as a person reads it: a shift from a flat baseline is "from a flat line",
/// not `z +148000000000`.
pub(super) fn z_text(z: f64) -> String {
    if z.abs() >= crate::protocol::digest::FLAT_BASELINE_Z {
        "from a flat line".into()
    } else {
        format!("z {z:+.0}")
    }
}

/// A shift's z as a person reads it, or "from a flat line" when it started from zero.
pub(super) fn shift_z_text(shift: &crate::protocol::digest::SeriesMove) -> String {
    if shift.from_flat_baseline {
        "from a flat line".into()
    } else {
        z_text(shift.score)
    }
}

/// A log template as a sentence quotes it: whole up to 120 characters, cut at a
/// character boundary with `…` beyond (a template can hold a whole serialized object).
pub(super) fn quote(template: &str) -> String {
    crate::text::clip(template, 120)
}

/// `710742016` reads as `711M`, `0.0049` as `0.0049` (never `0`): three significant
/// digits at most, and the scale always.
pub(super) fn short_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e9 {
        format!("{:.1}G", value / 1e9)
    } else if magnitude >= 1e6 {
        format!("{:.0}M", value / 1e6)
    } else if magnitude >= 1e4 {
        format!("{:.0}k", value / 1e3)
    } else if magnitude >= 100.0 || magnitude == 0.0 {
        format!("{value:.0}")
    } else {
        let decimals = (2 - magnitude.log10().floor() as i32).clamp(0, 9) as usize;
        let text = format!("{value:.decimals$}");
        if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text
        }
    }
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
            HistoryItem::Steering { text } => p.think(steering_reply(ctx, text)),
            _ => {}
        }
    }
}

/// What the offline brain does with the engineer's words: steering that names a known
/// service is followed (that service's metrics and logs are read next), and a steer that
/// set aside a waiting call picks the next option through that call's denial; anything
/// else it has no way to act on, and it says so rather than pretend.
fn steering_reply(ctx: &BrainContext, text: &str) -> String {
    let named = services_mentioned(text, ctx);
    if !named.is_empty() {
        return format!(
            "The engineer says: \"{text}\". Following it: looking at {} before going on.",
            named.join(", ")
        );
    }
    let set_aside = ctx
        .history
        .iter()
        .any(|h| matches!(h, HistoryItem::Denied { reason, .. } if reason.contains(text.trim())));
    if set_aside {
        return format!(
            "The engineer says: \"{text}\". It set the waiting call aside; the next option is chosen with it."
        );
    }
    let known: Vec<&str> = ctx
        .incident
        .services
        .iter()
        .map(|(name, _)| name.as_str())
        .take(8)
        .collect();
    let services = if known.is_empty() {
        String::new()
    } else {
        format!(" ({})", known.join(", "))
    };
    format!(
        "I can't act on that instruction: \"{text}\". Without a model I follow steering that names a service I know{services}, and the board: confirm, refute, pin or add a hypothesis there (h)."
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IncidentBrief;

    fn context(alert: &str, services: &[&str]) -> BrainContext {
        BrainContext {
            incident: IncidentBrief {
                alert: alert.into(),
                services: services
                    .iter()
                    .map(|s| (s.to_string(), "app".to_string()))
                    .collect(),
                ..IncidentBrief::default()
            },
            ..BrainContext::default()
        }
    }

    #[test]
    fn steering_it_cannot_act_on_is_said_to_be_ignored() {
        let mut ctx = context("checkout p99 above 2s", &["checkout", "inventory"]);
        let reply = |ctx: &BrainContext, text: &str| {
            let mut ctx = ctx.clone();
            ctx.history
                .push(HistoryItem::Steering { text: text.into() });
            let mut p = Plan::default();
            acknowledge_humans(&ctx, &mut p);
            p.reasoning
        };
        let ignored = reply(&ctx, "be careful, it is Black Friday");
        assert!(
            ignored
                .starts_with("I can't act on that instruction: \"be careful, it is Black Friday\""),
            "{ignored}"
        );
        assert!(!ignored.contains("into account"), "{ignored}");
        let followed = reply(&ctx, "check inventory too");
        assert!(
            followed.contains("Following it: looking at inventory"),
            "{followed}"
        );
        ctx.history.push(HistoryItem::Denied {
            id: "c7".into(),
            tool: "kubectl".into(),
            args: Value::Null,
            command: "kubectl rollout undo deployment/checkout".into(),
            reason: "set aside: alice steered instead (\"clear the stuck sessions\")".into(),
        });
        let chosen = reply(&ctx, "clear the stuck sessions");
        assert!(chosen.contains("set the waiting call aside"), "{chosen}");
    }

    #[test]
    fn numbers_keep_their_scale() {
        assert_eq!(short_number(0.0049), "0.0049");
        assert_eq!(short_number(0.294), "0.294");
        assert_eq!(short_number(12.345), "12.3");
        assert_eq!(short_number(430.0), "430");
        assert_eq!(short_number(0.0), "0");
        assert_eq!(short_number(710742016.0), "711M");
    }

    #[test]
    fn the_alerting_service_is_the_first_whole_name_in_the_alert() {
        let ctx = context(
            "storefront p99 2.6 s; catalog-db fine",
            &["catalog", "catalog-db", "storefront"],
        );
        assert_eq!(alerting_service(&ctx), Some("storefront"));
        let ctx = context("catalog-db connections at 100%", &["catalog", "catalog-db"]);
        assert_eq!(alerting_service(&ctx), Some("catalog-db"));
        let ctx = context("users cannot log in", &["user"]);
        assert_eq!(alerting_service(&ctx), None, "`user` is not `users`");
        let ctx = context("order confirmations delayed", &["api"]);
        assert_eq!(alerting_service(&ctx), None);
    }
}
