//! What the offline brain has learned so far, read back from the tool results in its
//! context every turn. The brain keeps no private memory between turns: everything it
//! knows is in the session's history, so a replay or a human edit can't desynchronise it.

use super::super::{CONCLUDE, HistoryItem, UPDATE_HYPOTHESES};
use crate::event::CallOutcome;
use crate::knowledge::{Hit, Step};
use crate::protocol::digest::{
    self, DigestArgs, EventsReport, LogsReport, QueryArgs, SearchReport,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use crate::protocol::digest::{
    ChangeRow as Change, RankReport as Ranking, SeriesMove as Shift, TemplateRow as Template,
};

/// A finished call the brain can cite.
#[derive(Debug, Clone)]
pub struct Done {
    pub id: String,
    pub tool: String,
    pub command: String,
    pub outcome: CallOutcome,
    pub output: String,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Denial {
    pub command: String,
    pub reason: String,
}

/// Sessions held `idle in transaction`, per application, from a psql result.
#[derive(Debug, Clone)]
pub struct IdleSessions {
    pub call: String,
    pub application: String,
    pub sessions: u64,
}

#[derive(Debug, Default)]
pub struct Findings {
    pub ranking: Option<(String, Ranking)>,
    pub changes: Option<(String, Vec<Change>)>,
    /// (call id, service filter, templates)
    pub logs: Vec<(String, Option<String>, Vec<Template>)>,
    pub knowledge: Option<(String, Vec<Hit>)>,
    pub done: Vec<Done>,
    pub denials: Vec<Denial>,
    pub idle: Vec<IdleSessions>,
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

/// Rows of psql's aligned output as maps from column to cell.
fn psql_rows(output: &str) -> Vec<Vec<(String, String)>> {
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
                .zip(l.split('|').map(|c| c.trim().to_string()))
                .collect()
        })
        .collect()
}

impl Findings {
    pub fn read(history: &[HistoryItem]) -> Findings {
        let mut f = Findings::default();
        for item in history {
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
                                let service = arguments::<DigestArgs>(args).and_then(|a| a.service);
                                f.logs.push((id, service, r.templates));
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
    pub fn attempted(&self, command: &str) -> bool {
        let norm = normalize(command);
        self.done.iter().any(|d| normalize(&d.command) == norm)
            || self.denials.iter().any(|d| normalize(&d.command) == norm)
    }

    /// A run of this command that failed (not one that was denied).
    pub fn failed(&self, command: &str) -> Option<&Done> {
        let norm = normalize(command);
        self.done
            .iter()
            .find(|d| d.outcome == CallOutcome::Failed && normalize(&d.command) == norm)
    }

    /// The successful call that did what `command` does: the same words, or the same
    /// words plus flags the engineer added when editing it (`--to-revision=2`), so an
    /// edited mitigation counts as done and is not proposed again.
    pub fn succeeded(&self, command: &str) -> Option<&Done> {
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
    pub fn idle_now(&self) -> Vec<&IdleSessions> {
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

    pub fn runbook_steps(&self, min_score: f32) -> Vec<(&Hit, &Step)> {
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

pub fn normalize(command: &str) -> String {
    command.split_whitespace().collect::<Vec<_>>().join(" ")
}
