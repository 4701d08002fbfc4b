//! The incident's story as a postmortem tells it: what happened in *incident* time (the
//! alert, the changes, the onset, each service's first symptom, each decision and who made
//! it, the mitigation, the verified recovery), with the investigation's own clock beside
//! it; the impact and its duration from the data; the people who took part; and the
//! follow-ups, kept consistent with what the engineers decided and why.
//!
//! Everything comes from the record: the typed reports the digest tools wrote (read from
//! the blob store when it is at hand, else from the recorded preview when that is whole),
//! and the events. For a bundle (data recorded earlier, investigated now) the
//! investigation's moments are placed as if it had begun when the alert fired.

use crate::event::{CallOutcome, Decision, Event, EventKind, HypothesisStatus, Risk, State};
use crate::protocol::digest::{self, ChangeRow, EventsReport, LogsReport, RankReport};
use crate::session::BlobStore;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The digest tools' reports a session holds.
#[derive(Debug, Clone, Default)]
pub struct Reports {
    pub rank: Option<RankReport>,
    pub changes: Vec<ChangeRow>,
    pub logs: Vec<LogsReport>,
}

/// One moment of the incident: when it happened in incident time, when the investigation
/// saw or did it, who, and what.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentMoment {
    pub at: DateTime<Utc>,
    /// The investigation's clock, for what happened during it.
    pub during: Option<DateTime<Utc>>,
    pub who: String,
    pub what: String,
}

/// The impact, from the data.
#[derive(Debug, Clone, Serialize)]
pub struct Impact {
    /// The largest moves, as `series before → after`, the services they belong to first.
    pub moves: Vec<String>,
    pub services: Vec<String>,
    /// From the onset to the mitigation (or to the conclusion, when nothing mitigated).
    pub duration_seconds: Option<i64>,
    pub until: Option<String>,
}

/// Someone who took part, and what they did.
#[derive(Debug, Clone, Serialize)]
pub struct Person {
    pub name: String,
    pub did: Vec<String>,
}

/// A decision an engineer took, with its reason.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionNote {
    pub call: String,
    pub command: String,
    pub by: String,
    pub decision: String,
}

fn report<T: DeserializeOwned>(
    call: &crate::event::ToolCall,
    blobs: Option<&BlobStore>,
) -> Option<T> {
    let output = call.output.as_ref()?;
    let text = output
        .blob
        .as_ref()
        .and_then(|b| blobs?.get(b).ok())
        .unwrap_or_else(|| output.preview.clone());
    serde_json::from_str(&text).ok()
}

/// The reports of the session's digest calls that finished.
pub(crate) fn reports(state: &State, blobs: Option<&BlobStore>) -> Reports {
    let mut out = Reports::default();
    for call in &state.calls {
        match call.tool.as_str() {
            digest::METRICS_RANK if out.rank.is_none() => out.rank = report(call, blobs),
            digest::CHANGE_EVENTS => {
                if let Some(events) = report::<EventsReport>(call, blobs) {
                    for row in events.events {
                        if !out.changes.contains(&row) {
                            out.changes.push(row);
                        }
                    }
                }
            }
            digest::LOGS_DIGEST => out.logs.extend(report::<LogsReport>(call, blobs)),
            _ => {}
        }
    }
    out
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Reports {
    /// The onset `metrics_rank` found: the one onset every part of the draft uses.
    pub fn onset(&self) -> Option<DateTime<Utc>> {
        parse_time(&self.rank.as_ref()?.onset)
    }
}

/// How investigation time maps to incident time: live, they are the same clock; for a
/// bundle, the investigation is placed as if it began when the alert fired.
pub(crate) struct Clock {
    offset: Duration,
}

impl Clock {
    pub(crate) fn of(
        state: &State,
        started: Option<DateTime<Utc>>,
        fired: Option<DateTime<Utc>>,
    ) -> Clock {
        let offset = match (state.session.incident.simulated, started, fired) {
            (true, Some(started), Some(fired)) => fired - started,
            _ => Duration::zero(),
        };
        Clock { offset }
    }
    pub(crate) fn incident(&self, during: DateTime<Utc>) -> DateTime<Utc> {
        during + self.offset
    }
}

/// When the alert fired: as recorded, else the time its text gives, on the onset's day.
pub(crate) fn fired_at(state: &State, onset: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    let incident = &state.session.incident;
    incident.fired_at.or_else(|| {
        let reference = onset? + Duration::hours(6);
        let at = crate::analysis::rank::alert_since(&incident.alert, reference.timestamp())?;
        DateTime::from_timestamp(at, 0)
    })
}

fn number(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{:.2}", v)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// The incident in incident time, earliest first.
pub(crate) fn timeline(
    events: &[Event],
    state: &State,
    reports: &Reports,
    clock: &Clock,
    fired: Option<DateTime<Utc>>,
) -> Vec<IncidentMoment> {
    let mut out: Vec<IncidentMoment> = Vec::new();
    let data = |at: DateTime<Utc>, who: &str, what: String| IncidentMoment {
        at,
        during: None,
        who: who.to_string(),
        what,
    };
    if let Some(at) = fired {
        out.push(data(
            at,
            "alerting",
            format!("alert fired: {}", state.session.incident.alert),
        ));
    }
    for change in &reports.changes {
        if let Some(at) = parse_time(&change.time) {
            let who = change.by.as_deref().unwrap_or("change");
            out.push(data(
                at,
                who,
                format!("{} {}: {}", change.kind, change.service, change.detail),
            ));
        }
    }
    if let (Some(at), Some(rank)) = (reports.onset(), &reports.rank) {
        let first = rank
            .changed
            .first()
            .map(|m| {
                format!(
                    "; strongest {} {} → {}",
                    m.series,
                    number(m.before),
                    number(m.after)
                )
            })
            .unwrap_or_default();
        out.push(data(
            at,
            "metrics",
            format!(
                "onset: {} of {} series moved{first}",
                rank.changed.len(),
                rank.series_total
            ),
        ));
    }
    out.extend(
        first_symptoms(reports)
            .into_iter()
            .map(|(at, what)| data(at, "metrics", what)),
    );
    out.extend(decisions_in_time(events, state, clock));
    out.sort_by_key(|m| m.at);
    out
}

/// Each service's first symptom: its earliest moved series, or its earliest new error
/// or warning line, whichever came first.
fn first_symptoms(reports: &Reports) -> Vec<(DateTime<Utc>, String)> {
    let mut first: Vec<(String, DateTime<Utc>, String)> = Vec::new();
    let mut note = |service: &str, at: DateTime<Utc>, what: String| match first
        .iter_mut()
        .find(|(s, _, _)| s == service)
    {
        Some(entry) if at < entry.1 => *entry = (service.to_string(), at, what),
        Some(_) => {}
        None => first.push((service.to_string(), at, what)),
    };
    for m in reports.rank.iter().flat_map(|r| &r.changed) {
        if let Some(at) = parse_time(&m.changed_at) {
            let what = format!(
                "first symptom in {}: {} {} → {}",
                m.service,
                m.series,
                number(m.before),
                number(m.after)
            );
            note(&m.service, at, what);
        }
    }
    for t in reports.logs.iter().flat_map(|l| &l.templates) {
        if t.new
            && matches!(t.level.as_str(), "ERROR" | "WARN" | "FATAL" | "CRITICAL")
            && let Some(at) = parse_time(&t.first_seen)
        {
            let sample: String = t.sample.chars().take(90).collect();
            note(
                &t.service,
                at,
                format!(
                    "first symptom in {}: new {} line \"{sample}\"",
                    t.service, t.level
                ),
            );
        }
    }
    first.into_iter().map(|(_, at, what)| (at, what)).collect()
}

/// Who decided what during the investigation, the mitigation and the verified recovery.
fn decisions_in_time(events: &[Event], state: &State, clock: &Clock) -> Vec<IncidentMoment> {
    let mut out = Vec::new();
    let mut mitigated = false;
    let edits = super::edits_described(events);
    let mut push = |ts: DateTime<Utc>, who: &str, what: String| {
        out.push(IncidentMoment {
            at: clock.incident(ts),
            during: Some(ts),
            who: who.to_string(),
            what,
        })
    };
    for e in events {
        match &e.kind {
            EventKind::SessionStarted { brain, .. } => {
                push(e.ts, "agent", format!("investigation started ({brain})"))
            }
            EventKind::ApprovalRequested { id, .. } => {
                let command = state
                    .call(id)
                    .map(|c| c.command.clone())
                    .unwrap_or_default();
                push(e.ts, "agent", format!("asked to run {id} `{command}`"))
            }
            EventKind::ApprovalDecided { id, decision, by } => push(
                e.ts,
                by,
                format!("{} {id}", super::decision_words(decision)),
            ),
            EventKind::CredentialSupplied { id, by } => {
                push(e.ts, by, format!("typed the credential for {id}"))
            }
            EventKind::HypothesisEdited { by, .. } => {
                push(e.ts, by, edits.get(&e.seq).cloned().unwrap_or_default())
            }
            EventKind::Steering { text, by } => push(e.ts, by, format!("steered: {text}")),
            EventKind::Paused { by } => push(e.ts, by, "paused the agent".into()),
            EventKind::Resumed { by } => push(e.ts, by, "resumed the agent".into()),
            EventKind::SessionResumed { by } => push(e.ts, by, "resumed the session".into()),
            EventKind::SessionEnded { reason } => {
                push(e.ts, "agent", format!("session ended: {reason}"))
            }
            EventKind::ToolCallFinished {
                id,
                outcome: outcome @ (CallOutcome::Failed | CallOutcome::Cancelled),
                error,
                ..
            } => {
                let Some(call) = state.call(id) else { continue };
                if call.risk != Risk::ReadOnly {
                    let what = if *outcome == CallOutcome::Failed {
                        "failed"
                    } else {
                        "was interrupted"
                    };
                    let why = error.as_deref().unwrap_or("");
                    push(
                        e.ts,
                        "agent",
                        format!("{id} `{}` {what}: {why}", call.command),
                    )
                }
            }
            EventKind::Attached { by, watch } => push(
                e.ts,
                by,
                if *watch {
                    "attached to watch".into()
                } else {
                    "attached from another terminal".into()
                },
            ),
            EventKind::Detached { by } => push(e.ts, by, "left".into()),
            EventKind::ToolCallFinished {
                id,
                outcome: CallOutcome::Ok,
                ..
            } => {
                let Some(call) = state.call(id) else { continue };
                if call.risk == Risk::Mutating || call.risk == Risk::Destructive {
                    mitigated = true;
                    let by = call
                        .decision
                        .as_ref()
                        .map(|(_, by)| by.as_str())
                        .unwrap_or("policy");
                    push(
                        e.ts,
                        "agent",
                        format!("mitigation: {id} `{}` ran (approved by {by})", call.command),
                    );
                } else if mitigated {
                    mitigated = false;
                    let digest = call
                        .output
                        .as_ref()
                        .map(|o| o.digest.clone())
                        .unwrap_or_default();
                    push(
                        e.ts,
                        "agent",
                        format!("recovery checked: {id} `{}` — {digest}", call.command),
                    );
                }
            }
            EventKind::HypothesisUpserted { hypothesis }
                if hypothesis.status == HypothesisStatus::Confirmed =>
            {
                push(
                    e.ts,
                    "agent",
                    format!("confirmed {}: {}", hypothesis.id, hypothesis.statement),
                )
            }
            EventKind::Concluded { conclusion } => push(
                e.ts,
                "agent",
                format!(
                    "concluded ({:.0}%): {}",
                    conclusion.confidence * 100.0,
                    conclusion.root_cause
                ),
            ),
            _ => {}
        }
    }
    out
}

/// The impact from the data: the strongest moves (harmful direction first by size), the
/// services that moved, and how long from the onset to the mitigation.
pub(crate) fn impact(reports: &Reports, timeline: &[IncidentMoment]) -> Option<Impact> {
    let rank = reports.rank.as_ref()?;
    let onset = reports.onset()?;
    let mut services: Vec<String> = Vec::new();
    for m in &rank.changed {
        if !services.contains(&m.service) {
            services.push(m.service.clone());
        }
    }
    let moves = rank
        .changed
        .iter()
        .take(5)
        .map(|m| format!("{} {} → {}", m.series, number(m.before), number(m.after)))
        .collect();
    let end = timeline
        .iter()
        .find(|m| m.what.starts_with("mitigation:"))
        .map(|m| (m.at, "the mitigation"))
        .or_else(|| {
            timeline
                .iter()
                .find(|m| m.what.starts_with("concluded"))
                .map(|m| (m.at, "the conclusion (nothing was mitigated)"))
        });
    Some(Impact {
        moves,
        services,
        duration_seconds: end.map(|(at, _)| (at - onset).num_seconds()),
        until: end.map(|(_, what)| what.to_string()),
    })
}

/// Everyone the record names as having done something, with what they did.
pub(crate) fn people(events: &[Event]) -> Vec<Person> {
    let mut out: Vec<Person> = Vec::new();
    let mut did = |who: &str, what: String| {
        if who == "agent" || !crate::event::decided_by_a_person(who) {
            return;
        }
        match out.iter_mut().find(|p| p.name == who) {
            Some(p) if !p.did.contains(&what) => p.did.push(what),
            Some(_) => {}
            None => out.push(Person {
                name: who.to_string(),
                did: vec![what],
            }),
        }
    };
    for e in events {
        match &e.kind {
            EventKind::ApprovalDecided { id, decision, by } => did(
                by,
                match decision {
                    Decision::Denied { .. } => format!("denied {id}"),
                    _ => format!("approved {id}"),
                },
            ),
            EventKind::CredentialSupplied { id, by } => {
                did(by, format!("typed the credential for {id}"))
            }
            EventKind::HypothesisEdited { hypothesis, by } => {
                did(by, format!("edited {}", hypothesis.id))
            }
            EventKind::Steering { by, .. } => did(by, "steered".into()),
            EventKind::Paused { by } | EventKind::Resumed { by } => {
                did(by, "paused or resumed".into())
            }
            EventKind::Attached { by, watch } => did(
                by,
                if *watch {
                    "watched".into()
                } else {
                    "attached".into()
                },
            ),
            EventKind::SessionResumed { by } => did(by, "resumed the session".into()),
            EventKind::SessionForked { by, .. } => did(by, "forked the session".into()),
            _ => {}
        }
    }
    out
}

/// The engineers' decisions on calls, with their reasons.
pub(crate) fn decisions(state: &State) -> Vec<DecisionNote> {
    state
        .calls
        .iter()
        .filter_map(|c| {
            let (decision, by) = c.decision.as_ref()?;
            Some(DecisionNote {
                call: c.id.clone(),
                command: c.command.clone(),
                by: by.clone(),
                decision: super::decision_words(decision),
            })
        })
        .collect()
}

/// The follow-ups that respect the engineers' decisions (see
/// [`State::follow_ups_still_open`]).
pub(crate) fn follow_ups(proposed: &[String], state: &State) -> Vec<String> {
    state.follow_ups_still_open(proposed)
}
