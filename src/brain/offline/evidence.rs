//! Evidence: what the offline brain has learned so far, read back every turn from the
//! typed reports of the tool results in its context ([`Findings::read`]), and the first
//! stages of a turn that gather it — the snapshot (which series moved and when, what
//! changed), the logs (templates new or surging since the onset), and the knowledge
//! search made from that evidence. The brain keeps no private memory between turns:
//! everything it knows is in the session's history, so a replay or a human edit can't
//! desynchronise it.

use super::hypotheses::{Board, Kind, call_graph, leading};
use super::{Plan, hhmmss, shift_z_text, short_number, suspects};
use crate::event::CallOutcome;
use crate::knowledge::{Hit, Step};
use crate::protocol::digest::{
    self, CHANGE_EVENTS, DigestArgs, EventsArgs, EventsReport, KNOWLEDGE_SEARCH, LOGS_DIGEST,
    LogLevel, LogsReport, METRICS_RANK, QueryArgs, RankArgs, SearchArgs, SearchReport, ServiceLogs,
    TRACES_DIGEST, TraceReport, TracesArgs, args,
};
use crate::{BrainContext, CONCLUDE, HistoryItem, UPDATE_HYPOTHESES};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeSet;

pub(super) use crate::protocol::digest::{
    ChangeRow as Change, RankReport as Ranking, SeriesMove as Shift, TemplateRow as Template,
};

/// A finished call the brain can cite.
#[derive(Debug, Clone)]
pub(super) struct Done {
    pub id: String,
    pub tool: String,
    pub command: String,
    pub outcome: CallOutcome,
    pub output: String,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Denial {
    pub command: String,
    pub reason: String,
}

/// Sessions held `idle in transaction`, per application, from a psql result.
#[derive(Debug, Clone)]
pub(super) struct IdleSessions {
    pub call: String,
    pub application: String,
    pub sessions: u64,
}

#[derive(Debug, Default)]
pub(super) struct Findings {
    pub ranking: Option<(String, Ranking)>,
    pub changes: Option<(String, Vec<Change>)>,
    /// (call id, service filter, templates)
    pub logs: Vec<(String, Option<String>, Vec<Template>)>,
    /// A logs digest said its logs reach too little before the split to compare with.
    pub thin_log_history: bool,
    /// Every service's lines and errors, from a digest of all services at every level:
    /// (call id, tally, (lines, error lines) of the whole log).
    pub log_tally: Option<(String, Vec<ServiceLogs>, (u64, u64))>,
    pub knowledge: Option<(String, Vec<Hit>)>,
    /// The trace digest: (call id, report).
    pub traces: Option<(String, TraceReport)>,
    pub done: Vec<Done>,
    pub denials: Vec<Denial>,
    pub idle: Vec<IdleSessions>,
    /// What the database's own diagnostics said, typed ([`super::database`]).
    pub db: super::database::Readings,
    pub metrics_queries: Vec<(String, String)>,
    pub steering: Vec<String>,
    pub failed_snapshot: Vec<String>,
}

/// A digest tool's report, read back as the type the tool wrote.
fn report<T: DeserializeOwned>(output: &str) -> Option<T> {
    serde_json::from_str(output).ok()
}

/// A call's arguments as the tool's argument type.
fn arguments<T: DeserializeOwned>(args: &Value) -> Option<T> {
    serde_json::from_value(args.clone()).ok()
}

/// Rows of psql's aligned output as maps from column to cell: the one reader of psql's
/// tables. psql does not escape a `|` inside a cell, so a row with more cells than the
/// header gives the rest to the last column (the diagnostics put their query text there).
pub(super) fn psql_rows(output: &str) -> Vec<Vec<(String, String)>> {
    let mut lines = output.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let columns: Vec<String> = header.split('|').map(|c| c.trim().to_string()).collect();
    lines
        .filter(|l| l.contains('|') && !l.starts_with('-'))
        .map(|l| {
            columns
                .iter()
                .cloned()
                .zip(l.splitn(columns.len(), '|').map(|c| c.trim().to_string()))
                .collect()
        })
        .collect()
}

/// First, a snapshot: which metrics moved and when, and what changed around then.
pub(super) fn take_snapshot(ctx: &BrainContext, f: &Findings, p: &mut Plan) -> bool {
    if f.ranking.is_some() || f.gave_up_on(METRICS_RANK) {
        return false;
    }
    p.think(format!("The alert: \"{}\".", ctx.incident.alert));
    p.think(
        "Before guessing, a snapshot: which metrics moved and when, and what changed around then.",
    );
    // Enough rows that a service's own resource series are seen beside its callers'
    // symptoms (in a fleet of forty services the top ten may all be symptoms).
    p.call(
        METRICS_RANK,
        args(&RankArgs { top: Some(40) }),
        "find the series that shifted and the onset",
    );
    p.call(
        CHANGE_EVENTS,
        args(&EventsArgs::default()),
        "deploys and config changes near the onset",
    );
    // Spans are timed to the millisecond: where their latencies shifted is a sharper
    // onset than minute-by-minute metrics give.
    if ctx.tools.iter().any(|t| t.name == TRACES_DIGEST) {
        p.call(
            TRACES_DIGEST,
            args(&TracesArgs::default()),
            "which calls got slower and whose own time grew, split where span latencies shifted",
        );
    }
    true
}

/// How far from the metrics' onset the traces' own split may be and still be preferred:
/// a few scrapes.
const TRACE_ONSET_AGREES_SECONDS: i64 = 10 * 60;

/// The onset the logs are split at: the traces' split when they found one near the
/// metrics' onset (finer than a scrape interval), else the metrics' onset.
pub(super) fn onset(f: &Findings) -> Option<String> {
    let metrics = f.ranking.as_ref().map(|(_, r)| r.onset.clone());
    let traced = f.traces.as_ref().and_then(|(_, r)| {
        (r.onset_source == digest::OnsetSource::LatencyShift)
            .then(|| r.onset.clone())
            .flatten()
    });
    match (metrics, traced) {
        (Some(m), Some(t))
            if (super::seconds(&m) - super::seconds(&t)).abs() <= TRACE_ONSET_AGREES_SECONDS =>
        {
            Some(t)
        }
        (Some(m), _) => Some(m),
        (None, t) => t,
    }
}

/// Then the logs since the onset, once the snapshot is read.
pub(super) fn read_logs(f: &Findings, p: &mut Plan) -> bool {
    let read_all = f.logs.iter().any(|(_, service, _)| service.is_none());
    if read_all || f.gave_up_on(LOGS_DIGEST) {
        return false;
    }
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
                    shift_z_text(s)
                )
            })
            .collect();
        if movers.is_empty() {
            p.think("No series moved beyond its own noise in the window.");
        } else {
            p.think(format!("Moved most: {}.", movers.join(", ")));
            let services: BTreeSet<&str> = r.changed.iter().map(|s| s.service.as_str()).collect();
            p.think(format!(
                "Services involved: {}.",
                services.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
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
    // Every level: a service that stops writing its usual INFO lines has stopped doing
    // something (new and surged lines still count only at WARN and above).
    let digest = DigestArgs {
        level: Some(LogLevel::Info),
        baseline_until: onset(f),
        ..DigestArgs::default()
    };
    p.call(
        LOGS_DIGEST,
        args(&digest),
        "log templates that appeared at the onset",
    );
    true
}

/// Then the traces, when the source has them: which call got slower, and which service's
/// own time grew, split at the metrics' onset.
pub(super) fn read_traces(ctx: &BrainContext, f: &Findings, p: &mut Plan) -> bool {
    let offered = ctx.tools.iter().any(|t| t.name == TRACES_DIGEST);
    if !offered || f.traces.is_some() || f.gave_up_on(TRACES_DIGEST) {
        return false;
    }
    if f.done.iter().any(|d| d.tool == TRACES_DIGEST) {
        return false;
    }
    p.think("Next: the traces — which calls got slower, and which service's own time grew.");
    let traces = TracesArgs {
        service: None,
        onset: f.ranking.as_ref().map(|(_, r)| r.onset.clone()),
    };
    p.call(
        TRACES_DIGEST,
        args(&traces),
        "where the time and the errors went, call by call",
    );
    true
}

/// With the hypotheses on the board, search the runbooks and past incidents with words
/// from the evidence and the suspects.
pub(super) fn search_knowledge(
    ctx: &BrainContext,
    f: &Findings,
    board: &Board,
    p: &mut Plan,
) -> bool {
    if f.knowledge.is_some() || f.gave_up_on(KNOWLEDGE_SEARCH) {
        return false;
    }
    if let Some((_, logs)) = f.logs.first().map(|l| (&l.0, &l.2)) {
        narrate_logs(logs, p);
    }
    board.record(p);
    let mut terms: BTreeSet<String> = BTreeSet::new();
    if let Some(lead) = leading(&board.candidates, &call_graph(ctx)) {
        terms.extend(lead.service.clone());
        terms.insert(match lead.kind {
            Kind::Deploy => "deploy rollback".into(),
            Kind::Resource => "connections saturation".into(),
            Kind::Other => String::new(),
        });
    }
    for c in board.live() {
        terms.extend(c.service.clone());
    }
    terms.extend(evidence_terms(f));
    let query = terms
        .into_iter()
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    p.call(
        KNOWLEDGE_SEARCH,
        args(&SearchArgs { query, kind: None }),
        "runbooks and past incidents that match the suspects",
    );
    true
}

/// Say what the logs showed: new lines, old ones whose rate jumped, and the noise.
fn narrate_logs(logs: &[Template], p: &mut Plan) {
    let new: Vec<String> = logs
        .iter()
        .filter(|t| t.new && t.level != "INFO")
        .take(4)
        .map(|t| {
            format!(
                "{} \"{}\" ×{}",
                t.service,
                super::quote(&t.template),
                t.after
            )
        })
        .collect();
    let surged: Vec<String> = logs
        .iter()
        .filter(|t| !t.new && suspects::surging(t))
        .take(3)
        .map(|t| {
            format!(
                "{} \"{}\" {} → {}",
                t.service,
                super::quote(&t.template),
                t.before,
                t.after
            )
        })
        .collect();
    let noise: Vec<String> = logs
        .iter()
        .filter(|t| !t.new && t.before > 0 && !suspects::surging(t))
        .take(2)
        .map(|t| format!("{} \"{}\"", t.service, super::quote(&t.template)))
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

/// Words for the knowledge search from what the data shows, not from hypotheses: the
/// metric names of the strongest shifts (`p99_ms` → `p99`), the words of the error
/// templates that are new or surged, and the kinds of the changes made to services that
/// moved in the half hour before the onset (`flag`, `migration`), so a past incident
/// that saw the same errors is found even when nobody guessed its cause.
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
    let mut loud: Vec<&Template> = f
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
    if let (Some((_, ranking)), Some((_, changes))) = (&f.ranking, &f.changes) {
        let onset = super::seconds(&ranking.onset);
        let moved = |service: &str| ranking.changed.iter().any(|s| s.service == service);
        for change in changes {
            let at = super::seconds(&change.time);
            if (onset - 1800..=onset).contains(&at)
                && moved(&change.service)
                && !terms.contains(&change.kind)
            {
                terms.push(change.kind.to_lowercase());
            }
        }
    }
    if terms.is_empty() {
        terms.extend(["latency".to_string(), "timeout".to_string()]);
    }
    terms
}

impl Findings {
    /// A snapshot tool that failed: it is not asked again this investigation.
    pub(super) fn gave_up_on(&self, tool: &str) -> bool {
        self.failed_snapshot.iter().any(|t| t == tool)
    }

    pub(super) fn read(history: &[HistoryItem]) -> Findings {
        let mut f = Findings::default();
        for item in history {
            f.db.note(item);
            match item {
                HistoryItem::ToolResult {
                    id,
                    tool,
                    args,
                    command,
                    outcome,
                    output,
                    error,
                    ..
                } => {
                    if tool == UPDATE_HYPOTHESES || tool == CONCLUDE {
                        continue;
                    }
                    f.done.push(Done {
                        id: id.clone(),
                        tool: tool.clone(),
                        command: command.clone(),
                        outcome: *outcome,
                        output: output.clone(),
                        error: error.clone(),
                    });
                    if *outcome != CallOutcome::Ok {
                        if digest::SNAPSHOT_TOOLS.contains(&tool.as_str()) {
                            f.failed_snapshot.push(tool.clone());
                        }
                        continue;
                    }
                    let id = id.clone();
                    match tool.as_str() {
                        digest::METRICS_RANK => {
                            if let Some(r) = report::<Ranking>(output) {
                                f.ranking = Some((id, r));
                            }
                        }
                        digest::CHANGE_EVENTS => {
                            if let Some(r) = report::<EventsReport>(output) {
                                f.changes = Some((id, r.events));
                            }
                        }
                        digest::LOGS_DIGEST => {
                            if let Some(r) = report::<LogsReport>(output) {
                                let digest = arguments::<DigestArgs>(args).unwrap_or_default();
                                // The history of the whole log: one service's lines may
                                // begin later than everyone else's.
                                if digest.service.is_none() {
                                    f.thin_log_history |= r.thin_history();
                                }
                                // A share of errors needs every line of every service as
                                // its denominator.
                                let whole = digest.service.is_none()
                                    && digest.level == Some(LogLevel::Info);
                                if whole && !r.services.is_empty() {
                                    let totals = (r.lines as u64, r.errors);
                                    f.log_tally = Some((id.clone(), r.services, totals));
                                }
                                f.logs.push((id, digest.service, r.templates));
                            }
                        }
                        digest::TRACES_DIGEST => {
                            if let Some(r) = report::<TraceReport>(output) {
                                f.traces = Some((id, r));
                            }
                        }
                        digest::KNOWLEDGE_SEARCH => {
                            if let Some(r) = report::<SearchReport>(output) {
                                f.knowledge = Some((id, r.hits));
                            }
                        }
                        digest::METRICS_QUERY => {
                            if let Some(QueryArgs { service }) = arguments(args) {
                                f.metrics_queries.push((id, service));
                            }
                        }
                        "psql" => {
                            for row in psql_rows(output) {
                                let get = |k: &str| {
                                    row.iter().find(|(c, _)| c == k).map(|(_, v)| v.as_str())
                                };
                                if get("state") == Some("idle in transaction")
                                    && let (Some(app), Some(n)) =
                                        (get("application_name"), get("sessions"))
                                {
                                    f.idle.push(IdleSessions {
                                        call: id.clone(),
                                        application: app.to_string(),
                                        sessions: n.parse().unwrap_or(0),
                                    });
                                }
                            }
                        }
                        _ => {}
                    }
                }
                HistoryItem::Denied {
                    command, reason, ..
                } => f.denials.push(Denial {
                    command: command.clone(),
                    reason: reason.clone(),
                }),
                HistoryItem::Steering { text } => f.steering.push(text.clone()),
                HistoryItem::Said { .. }
                | HistoryItem::BoardEdit { .. }
                | HistoryItem::Concluded { .. } => {}
            }
        }
        f
    }

    /// Whether a command was already run or refused (so it is not proposed again).
    pub(super) fn attempted(&self, command: &str) -> bool {
        let norm = normalize(command);
        self.done.iter().any(|d| normalize(&d.command) == norm)
            || self.denials.iter().any(|d| normalize(&d.command) == norm)
    }

    /// A run of this command that failed (not one that was denied).
    pub(super) fn failed(&self, command: &str) -> Option<&Done> {
        let norm = normalize(command);
        self.done
            .iter()
            .find(|d| d.outcome == CallOutcome::Failed && normalize(&d.command) == norm)
    }

    /// The successful call that did what `command` does: the same words, or the same
    /// words plus flags the engineer added when editing it (`--to-revision=2`), so an
    /// edited mitigation counts as done and is not proposed again.
    pub(super) fn succeeded(&self, command: &str) -> Option<&Done> {
        let norm = normalize(command);
        let wanted: Vec<&str> = norm.split(' ').collect();
        self.done.iter().find(|d| {
            if d.outcome != CallOutcome::Ok {
                return false;
            }
            let ran = normalize(&d.command);
            ran == norm || {
                let ran: Vec<&str> = ran.split(' ').collect();
                let added = ran.iter().filter(|w| !wanted.contains(w));
                wanted.iter().all(|w| ran.contains(w))
                    && added.clone().count() > 0
                    && added.into_iter().all(|w| w.starts_with("--"))
            }
        })
    }

    /// The latest idle-in-transaction reading per application (the newest psql call wins).
    pub(super) fn idle_now(&self) -> Vec<&IdleSessions> {
        let Some(last_call) = self
            .done
            .iter()
            .rev()
            .find(|d| d.tool == "psql" && d.output.contains("state"))
        else {
            return Vec::new();
        };
        self.idle
            .iter()
            .filter(|i| i.call == last_call.id)
            .collect()
    }

    pub(super) fn runbook_steps(&self, min_score: f32) -> Vec<(&Hit, &Step)> {
        let Some((_, hits)) = &self.knowledge else {
            return Vec::new();
        };
        hits.iter()
            .filter(|h| h.doc.kind == "runbook" && h.score >= min_score)
            .take(2)
            .flat_map(|h| h.doc.steps.iter().map(move |s| (h, s)))
            .collect()
    }
}

pub(super) fn normalize(command: &str) -> String {
    command.split_whitespace().collect::<Vec<_>>().join(" ")
}
