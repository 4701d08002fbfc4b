//! `hunch export`: a postmortem draft folded from a session's events (and the raw data
//! in its blob store), as Markdown for people and JSON for tools, with an SVG chart of
//! the series behind the conclusion. It says only what the record shows: who did what
//! and when, what each action was and who allowed it, the evidence the conclusion cites,
//! and never a credential's value (the log never holds one).
//!
//! A record is redacted before anything is drafted from it ([`redacted`], as [`read_for_draft`] reads it), never
//! after the draft was serialized or escaped (where `\"` or `&lt;` would hide a secret
//! from the patterns); and the Markdown treats everything recorded as text (see
//! [`escape`]).

// The crates this one stands on, under the names its modules use (`crate::event`, …).
use hunch_analysis as analysis;
use hunch_bundle as bundle;
use hunch_protocol as protocol;
use hunch_protocol::{event, redact, sanitize};
use hunch_session as session;

mod escape;
mod runs;
mod story;

pub use story::{DecisionNote, Impact, IncidentMoment, Person, Reports};

use crate::event::{
    CallOutcome, Decision, Event, EventKind, Hypothesis, HypothesisStatus, Risk, State, ToolCall,
};
use crate::redact::Redactor;
use crate::session::BlobStore;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write;

/// The draft, as `--format json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Postmortem {
    pub title: String,
    pub alert: String,
    pub environment: String,
    pub brain: String,
    pub started: Option<DateTime<Utc>>,
    /// When the charted series moved together, when the raw data is at hand.
    pub onset: Option<DateTime<Utc>>,
    pub concluded_at: Option<DateTime<Utc>>,
    /// When the alert fired (recorded, or the time its text gives).
    pub fired_at: Option<DateTime<Utc>>,
    pub ended: Option<String>,
    pub root_cause: Option<String>,
    pub confidence: Option<f32>,
    /// The investigation's own record, in its clock: every call and decision.
    pub timeline: Vec<Moment>,
    /// The incident in incident time, with the investigation's clock beside it.
    pub incident_timeline: Vec<IncidentMoment>,
    pub impact: Option<Impact>,
    /// The people the record names, and what each did.
    pub people: Vec<Person>,
    /// The engineers' decisions on calls, with their reasons.
    pub decisions: Vec<DecisionNote>,
    pub hypotheses: Vec<HypothesisStory>,
    pub evidence: Vec<Evidence>,
    pub actions: Vec<Action>,
    pub credentials: Vec<CredentialUse>,
    pub follow_ups: Vec<String>,
    /// `--runs N`: what each run ended with, and how they agreed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<crate::event::RunOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement: Option<crate::event::Agreement>,
    /// Follow-up questions asked after the conclusion, with their answers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<runs::QuestionAnswer>,
    /// The chart (SVG), for the JSON and HTML exports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart_svg: Option<String>,
}

/// One thing that happened, and who did it (`agent` for the brain).
#[derive(Debug, Clone, Serialize)]
pub struct Moment {
    pub at: DateTime<Utc>,
    pub who: String,
    pub what: String,
}

/// A hypothesis as it ended, and each change to it.
#[derive(Debug, Clone, Serialize)]
pub struct HypothesisStory {
    pub id: String,
    pub statement: String,
    pub status: HypothesisStatus,
    pub confidence: f32,
    pub changes: Vec<Moment>,
}

/// A call the conclusion cites, with what its output meant.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub call: String,
    pub command: String,
    pub digest: String,
}

/// A call that could change something: proposed, decided, and what came of it.
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    pub call: String,
    pub command: String,
    pub risk: Risk,
    pub rationale: String,
    pub decision: Option<String>,
    pub decided_by: Option<String>,
    pub dry_run: Option<String>,
    pub outcome: Option<CallOutcome>,
}

/// A credential typed for a call: who, when, for what — never the value.
#[derive(Debug, Clone, Serialize)]
pub struct CredentialUse {
    pub call: String,
    pub target: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// The draft of a recorded session, from its events alone (reports whose recorded
/// preview is whole are read; see [`draft_with`]).
pub fn draft(events: &[Event]) -> Postmortem {
    draft_with(events, None)
}

/// The draft of a recorded session, reading the digest tools' full reports from its
/// blob store.
pub fn draft_with(events: &[Event], blobs: Option<&BlobStore>) -> Postmortem {
    let state = State::from_events(events);
    let reports = story::reports(&state, blobs);
    let started = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::SessionStarted { .. }))
        .map(|e| e.ts);
    let concluded_at = events
        .iter()
        .rev()
        .find(|e| matches!(e.kind, EventKind::Concluded { .. }))
        .map(|e| e.ts);
    let incident = &state.session.incident;
    let onset = reports.onset();
    let fired_at = story::fired_at(&state, onset);
    let clock = story::Clock::of(&state, started, fired_at);
    let incident_timeline = story::timeline(events, &state, &reports, &clock, fired_at);
    Postmortem {
        title: incident.title.clone(),
        alert: incident.alert.clone(),
        environment: incident.environment.clone(),
        brain: state.session.brain.clone(),
        started,
        onset,
        concluded_at,
        fired_at,
        impact: story::impact(&reports, &incident_timeline),
        incident_timeline,
        people: story::people(events),
        decisions: story::decisions(&state),
        chart_svg: None,
        ended: state.ended.clone(),
        root_cause: state.conclusion.as_ref().map(|c| c.root_cause.clone()),
        confidence: state.conclusion.as_ref().map(|c| c.confidence),
        timeline: timeline(events, &state),
        hypotheses: hypotheses(events, &state),
        evidence: evidence(&state),
        actions: actions(events, &state),
        credentials: credentials(events, &state),
        follow_ups: state
            .conclusion
            .as_ref()
            .map(|c| story::follow_ups(&c.follow_ups, &state))
            .unwrap_or_default(),
        runs: state.run_outcomes.clone(),
        agreement: state.agreement.clone(),
        questions: runs::questions(&state),
    }
}

fn call_command(state: &State, id: &str) -> String {
    state
        .call(id)
        .map(|c| c.command.clone())
        .unwrap_or_else(|| id.to_string())
}

/// What each human edit of the board changed (by the edit event's `seq`), told against
/// the hypothesis as it stood before it: "refuted H4 (was supported): …", "pinned H2: …".
pub(crate) fn edits_described(events: &[Event]) -> HashMap<u64, String> {
    let mut standing: HashMap<&str, &Hypothesis> = HashMap::new();
    let mut described = HashMap::new();
    for event in events {
        match &event.kind {
            EventKind::HypothesisUpserted { hypothesis } => {
                standing.insert(&hypothesis.id, hypothesis);
            }
            EventKind::HypothesisEdited { hypothesis, .. } => {
                let before = standing.insert(&hypothesis.id, hypothesis);
                described.insert(event.seq, hypothesis.describe_edit(before));
            }
            _ => {}
        }
    }
    described
}

fn timeline(events: &[Event], state: &State) -> Vec<Moment> {
    let agent = || "agent".to_string();
    let edits = edits_described(events);
    events
        .iter()
        .filter_map(|e| {
            let (who, what) = match &e.kind {
                EventKind::SessionStarted { .. } => (
                    agent(),
                    format!("investigation started ({})", state.session.brain),
                ),
                EventKind::ToolCallFinished {
                    id, outcome, error, ..
                } => {
                    let command = call_command(state, id);
                    let command = escape::quote(&command);
                    let what = match (outcome, error) {
                        (CallOutcome::Ok, _) => format!("{id} ran {command}"),
                        (CallOutcome::Denied, e) => format!(
                            "{id} {command} was not run: {}",
                            e.clone().unwrap_or_default()
                        ),
                        (_, e) => format!(
                            "{id} {command} {}: {}",
                            outcome_word(*outcome),
                            e.clone().unwrap_or_default()
                        ),
                    };
                    (agent(), what)
                }
                EventKind::ApprovalDecided { id, decision, by } => {
                    (by.clone(), format!("{} {id}", decision_words(decision)))
                }
                EventKind::CredentialSupplied { id, by } => {
                    (by.clone(), format!("typed the credential for {id}"))
                }
                EventKind::HypothesisEdited { by, .. } => {
                    (by.clone(), edits.get(&e.seq).cloned().unwrap_or_default())
                }
                EventKind::Steering { text, by } => (by.clone(), format!("steered: {text}")),
                EventKind::Paused { by } => (by.clone(), "paused the agent".into()),
                EventKind::Resumed { by } => (by.clone(), "resumed the agent".into()),
                EventKind::Attached { by, watch } => (
                    by.clone(),
                    if *watch {
                        "attached to watch".into()
                    } else {
                        "attached from another terminal".into()
                    },
                ),
                EventKind::Detached { by } => (by.clone(), "left".into()),
                EventKind::SessionResumed { by } => (by.clone(), "resumed the session".into()),
                EventKind::SessionForked { parent, at, by, .. } => (
                    by.clone(),
                    format!("forked the session from {parent} after {at}"),
                ),
                EventKind::Concluded { conclusion } => (
                    agent(),
                    format!(
                        "concluded ({:.0}%): {}",
                        conclusion.confidence * 100.0,
                        conclusion.root_cause
                    ),
                ),
                EventKind::SessionEnded { reason } => (agent(), format!("session ended: {reason}")),
                _ => return None,
            };
            Some(Moment {
                at: e.ts,
                who,
                what,
            })
        })
        .collect()
}

fn outcome_word(outcome: CallOutcome) -> &'static str {
    match outcome {
        CallOutcome::Ok => "ran",
        CallOutcome::Failed => "failed",
        CallOutcome::Denied => "not run",
        CallOutcome::Cancelled => "was cancelled",
    }
}

fn decision_words(decision: &Decision) -> String {
    match decision {
        Decision::ApprovedOnce => "approved".into(),
        Decision::ApprovedForSession { .. } => "approved for the session".into(),
        Decision::Edited { command, .. } => {
            format!("edited to {} and approved", escape::quote(command))
        }
        Decision::Denied { reason } => format!("denied (\"{reason}\")"),
    }
}

fn hypotheses(events: &[Event], state: &State) -> Vec<HypothesisStory> {
    state
        .ranked_hypotheses()
        .into_iter()
        .map(|i| {
            let h = &state.hypotheses[i];
            let changes = events
                .iter()
                .filter_map(|e| {
                    let (hypothesis, who) = match &e.kind {
                        EventKind::HypothesisUpserted { hypothesis } => {
                            (hypothesis, "agent".to_string())
                        }
                        EventKind::HypothesisEdited { hypothesis, by } => (hypothesis, by.clone()),
                        _ => return None,
                    };
                    (hypothesis.id == h.id).then(|| Moment {
                        at: e.ts,
                        who,
                        what: standing(hypothesis.status, hypothesis.confidence, " "),
                    })
                })
                .collect();
            HypothesisStory {
                id: h.id.clone(),
                statement: h.statement.clone(),
                status: h.status,
                confidence: h.confidence,
                changes,
            }
        })
        .collect()
}

fn evidence(state: &State) -> Vec<Evidence> {
    let Some(conclusion) = &state.conclusion else {
        return Vec::new();
    };
    conclusion
        .evidence
        .iter()
        .filter_map(|id| state.call(id))
        .map(|call| Evidence {
            call: call.id.clone(),
            command: call.command.clone(),
            digest: call
                .output
                .as_ref()
                .map(|o| o.digest.clone())
                .unwrap_or_default(),
        })
        .collect()
}

fn actions(events: &[Event], state: &State) -> Vec<Action> {
    state
        .calls
        .iter()
        .filter(|c| c.risk != Risk::ReadOnly)
        .map(|call: &ToolCall| {
            let dry_run = events.iter().find_map(|e| match &e.kind {
                EventKind::ApprovalRequested { id, preview, .. } if *id == call.id => {
                    preview.clone()
                }
                _ => None,
            });
            Action {
                call: call.id.clone(),
                command: call.command.clone(),
                risk: call.risk,
                rationale: call.rationale.clone(),
                decision: call.decision.as_ref().map(|(d, _)| decision_words(d)),
                decided_by: call.decision.as_ref().map(|(_, by)| by.clone()),
                dry_run,
                outcome: match call.status {
                    crate::event::CallStatus::Finished(outcome) => Some(outcome),
                    _ => None,
                },
            }
        })
        .collect()
}

fn credentials(events: &[Event], state: &State) -> Vec<CredentialUse> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CredentialSupplied { id, by } => Some(CredentialUse {
                call: id.clone(),
                target: state.call(id).map(|c| c.target.clone()).unwrap_or_default(),
                by: by.clone(),
                at: e.ts,
            }),
            _ => None,
        })
        .collect()
}

fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Recorded text on one line of Markdown: escaped, so it stays text.
fn cell(text: &str) -> String {
    escape::text(text)
}

/// One event as it may be exported: every string without control sequences and
/// redacted, each a whole value. An event that can't be walked is left out rather than
/// exported unredacted.
fn redacted(event: &Event, redactor: &Redactor) -> Option<Event> {
    let mut value = serde_json::to_value(event).ok()?;
    crate::sanitize::each_string(&mut value, &mut |text: &mut String| {
        *text = redactor.redact(&crate::sanitize::for_display(text)).0;
    });
    serde_json::from_value(value).ok()
}

/// A session file read for a draft (see [`read_for_draft`]).
#[derive(Debug, Default)]
pub struct DraftInput {
    /// The events a draft reads, redacted, in the order they were recorded.
    pub events: Vec<Event>,
    /// Every event the file holds, those left behind included.
    pub read: u64,
    pub warnings: Vec<crate::session::ReadWarning>,
}

/// Whether a draft reads `event`: the model's streamed text (reasoning and message
/// deltas) is what a session is mostly made of, and no part of a draft reads it.
pub(crate) fn drafted(event: &Event) -> bool {
    !matches!(
        event.kind,
        EventKind::ReasoningDelta { .. } | EventKind::MessageDelta { .. }
    )
}

/// The events of the session file at `path` that a draft is made from, streamed: each
/// is redacted as it is read (see [`redacted`]) and the streamed text is left
/// behind ([`drafted`]), so a session of a million events costs what its calls,
/// decisions and hypotheses hold, not the size of its file. The draft made from them is
/// the draft of the whole record.
pub fn read_for_draft(path: &std::path::Path, redactor: &Redactor) -> std::io::Result<DraftInput> {
    let (mut events, mut read) = (Vec::new(), 0);
    let warnings = crate::session::each_event(path, &mut |event| {
        read += 1;
        if drafted(&event) {
            events.extend(redacted(&event, redactor));
        }
    })?;
    Ok(DraftInput {
        events,
        read,
        warnings,
    })
}

impl Postmortem {
    /// The draft as Markdown; `chart` names the SVG file beside it, when there is one.
    pub fn markdown(&self, chart: Option<&str>) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# Postmortem draft: {}\n", cell(&self.title));
        let _ = writeln!(
            md,
            "*Drafted by hunch from the session record; edit before sharing.*\n"
        );
        md.push_str("## Summary\n\n");
        let _ = writeln!(md, "- **Alert:** {}", cell(&self.alert));
        let _ = writeln!(md, "- **Environment:** {}", cell(&self.environment));
        let _ = writeln!(md, "- **People:** {}", cell(&self.people_line()));
        let _ = writeln!(md, "- **Agent:** {} brain", cell(&self.brain));
        if let Some(t) = &self.fired_at {
            let _ = writeln!(md, "- **Alert fired:** {}", time(t));
        }
        if let Some(t) = &self.onset {
            let _ = writeln!(md, "- **Onset (where the metrics moved):** {}", time(t));
        }
        if let Some(t) = &self.started {
            let _ = writeln!(md, "- **Investigation started:** {}", time(t));
        }
        match (&self.concluded_at, &self.root_cause) {
            (Some(t), Some(cause)) => {
                let _ = writeln!(md, "- **Concluded:** {}", time(t));
                let _ = writeln!(
                    md,
                    "- **Root cause ({:.0}% confidence):** {}",
                    self.confidence.unwrap_or(0.0) * 100.0,
                    cell(cause)
                );
            }
            _ => {
                let _ = writeln!(
                    md,
                    "- **Root cause:** not concluded ({})",
                    cell(self.ended.as_deref().unwrap_or("the session has not ended"))
                );
            }
        }
        if let Some(chart) = chart {
            let _ = writeln!(md, "\n![The series behind the conclusion]({chart})");
        }
        self.impact_section(&mut md);
        md.push_str("\n## Evidence behind the conclusion\n\n");
        if self.evidence.is_empty() {
            md.push_str("None cited.\n");
        }
        for e in &self.evidence {
            let _ = writeln!(
                md,
                "- **{}** {} — {}",
                cell(&e.call),
                escape::code(&e.command),
                cell(&e.digest)
            );
        }
        self.timeline_section(&mut md);
        md.push_str("\n## Hypotheses\n\n");
        for h in &self.hypotheses {
            let _ = writeln!(
                md,
                "- **{}** ({}): {}",
                cell(&h.id),
                standing(h.status, h.confidence, ", "),
                cell(&h.statement)
            );
            let changes: Vec<String> = h
                .changes
                .iter()
                .map(|c| {
                    let (what, who) = (cell(&c.what), cell(&c.who));
                    format!("{} {what} by {who}", c.at.format("%H:%M:%S"))
                })
                .collect();
            if !changes.is_empty() {
                let _ = writeln!(md, "  - {}", changes.join(" → "));
            }
        }
        let ruled_out: Vec<&HypothesisStory> = self
            .hypotheses
            .iter()
            .filter(|h| h.status == HypothesisStatus::Refuted)
            .collect();
        self.runs_section(&mut md);
        md.push_str("\n## Ruled out\n\n");
        if ruled_out.is_empty() {
            md.push_str("Nothing was ruled out.\n");
        }
        for h in ruled_out {
            let _ = writeln!(md, "- {}: {}", cell(&h.id), cell(&h.statement));
        }
        md.push_str("\n## Actions\n\n");
        if self.actions.is_empty() {
            md.push_str("No call that could change anything was proposed.\n");
        }
        for a in &self.actions {
            let credential = self.credentials.iter().find(|c| c.call == a.call);
            let decision = match (&a.decision, &a.decided_by, credential) {
                (Some(d), Some(by), _) => format!("{} by {}", cell(d), cell(by)),
                (_, _, Some(c)) => format!("credential typed by {}", cell(&c.by)),
                _ => "not decided".into(),
            };
            let outcome = a.outcome.map(outcome_word).unwrap_or("did not finish");
            let _ = writeln!(
                md,
                "- **{}** {} ({}) — {decision}; {outcome}.",
                cell(&a.call),
                escape::code(&a.command),
                a.risk.label()
            );
            if !a.rationale.is_empty() {
                let _ = writeln!(md, "  - why: {}", cell(&a.rationale));
            }
            if let Some(dry_run) = &a.dry_run {
                let _ = writeln!(md, "  - dry run:\n\n{}", escape::fenced(dry_run, "    "));
            }
        }
        md.push_str("\n## Decisions\n\n");
        if self.decisions.is_empty() {
            md.push_str("No call needed a decision.\n");
        }
        for d in &self.decisions {
            let _ = writeln!(
                md,
                "- {} {} {} ({})",
                cell(&d.by),
                cell(&d.decision),
                cell(&d.call),
                escape::code(&d.command)
            );
        }
        md.push_str("\n## Credentials used\n\n");
        if self.credentials.is_empty() {
            md.push_str("None.\n");
        }
        for c in &self.credentials {
            let _ = writeln!(
                md,
                "- {} typed the credential for {} ({}) at {} (the value is never recorded)",
                cell(&c.by),
                cell(&c.call),
                escape::code(&c.target),
                c.at.format("%H:%M:%S")
            );
        }
        self.questions_section(&mut md);
        md.push_str("\n## Follow-ups\n\n");
        if self.follow_ups.is_empty() {
            md.push_str("None proposed.\n");
        }
        for f in &self.follow_ups {
            let _ = writeln!(md, "- [ ] {}", cell(f));
        }
        md
    }
}

impl Postmortem {
    /// Who took part, and what each did, in one line.
    fn people_line(&self) -> String {
        if self.people.is_empty() {
            return "nobody but the agent is named in the record".into();
        }
        self.people
            .iter()
            .map(|p| format!("{} ({})", p.name, p.did.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn impact_section(&self, md: &mut String) {
        let Some(impact) = &self.impact else { return };
        md.push_str("\n## Impact\n\n");
        if let (Some(seconds), Some(until)) = (impact.duration_seconds, &impact.until) {
            let _ = writeln!(
                md,
                "- **Duration:** {} from the onset to {}",
                duration_words(seconds),
                cell(until)
            );
        }
        let _ = writeln!(
            md,
            "- **Services that moved:** {}",
            cell(&impact.services.join(", "))
        );
        for m in &impact.moves {
            let _ = writeln!(md, "- {}", cell(m));
        }
    }

    fn timeline_section(&self, md: &mut String) {
        md.push_str("\n## Timeline\n\n");
        md.push_str(
            "Incident time (UTC); the investigation's own clock beside what happened during it.\n\n",
        );
        md.push_str("| incident time | investigation | who | what |\n|---|---|---|---|\n");
        for m in &self.incident_timeline {
            let during = m
                .during
                .map(|t| t.format("%H:%M:%S").to_string())
                .unwrap_or_default();
            let _ = writeln!(
                md,
                "| {} | {during} | {} | {} |",
                m.at.format("%H:%M:%S"),
                cell(&m.who),
                cell(&m.what)
            );
        }
    }
}

impl Postmortem {
    /// The draft as one self-contained HTML page: the chart inline, the draft's text
    /// below it as text (everything recorded is escaped, nothing from the record is
    /// markup).
    pub fn html(&self, chart: Option<&str>) -> String {
        let markdown = self.markdown(None);
        let mut page =
            String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        let _ = write!(
            page,
            "<title>{}</title><style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}}pre{{white-space:pre-wrap;font-size:14px}}</style></head><body>",
            svg_escape(&format!("Postmortem draft: {}", self.title))
        );
        if let Some(svg) = chart {
            page.push_str("<figure>");
            page.push_str(svg.trim_end());
            page.push_str("</figure>");
        }
        let _ = writeln!(page, "<pre>{}</pre></body></html>", svg_escape(&markdown));
        page
    }
}

/// A duration as a person says it: `1 min 25 s`, `2 h 05 min`.
fn duration_words(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

/// The draft of a (redacted) session and its chart: one onset for both (the one
/// `metrics_rank` reported; else where the charted series moved together), the change
/// marks and the slow edge on the chart, every label redacted.
pub fn prepare(
    events: &[Event],
    blobs: &BlobStore,
    redactor: &Redactor,
) -> (Postmortem, Option<String>) {
    let mut draft = draft_with(events, Some(blobs));
    draft.clean_reported(&|text: &mut String| {
        *text = redactor.redact(&crate::sanitize::for_display(text)).0;
    });
    let mut series = conclusion_series(events, blobs);
    if draft.onset.is_none() {
        draft.onset = onset_of(&series).and_then(|t| DateTime::from_timestamp(t, 0));
    }
    let mut marks = change_marks(events, blobs);
    marks.extend(slow_edge_mark(events, blobs));
    let redact = |text: &mut String| *text = redactor.redact(text).0;
    series.iter_mut().for_each(|(name, _)| redact(name));
    marks.iter_mut().for_each(|(_, label)| redact(label));
    let mut title = format!("{} — the series behind the conclusion", draft.title);
    redact(&mut title);
    let svg = chart_svg(&series, draft.onset.map(|t| t.timestamp()), &marks)
        .map(|svg| svg.replacen("<!--title-->", &svg_escape(&title), 1));
    (draft, svg)
}

impl Postmortem {
    /// Apply `clean` to what the draft took from the digest tools' reports in the blob
    /// store (the incident timeline and the impact): unlike the events, those were not
    /// redacted as the session file was read, and may hold what an older hunch recorded
    /// unredacted or a pattern added since.
    fn clean_reported(&mut self, clean: &dyn Fn(&mut String)) {
        for moment in &mut self.incident_timeline {
            clean(&mut moment.who);
            clean(&mut moment.what);
        }
        if let Some(impact) = &mut self.impact {
            impact.moves.iter_mut().for_each(clean);
            impact.services.iter_mut().for_each(clean);
            impact.until.iter_mut().for_each(clean);
        }
    }
}

fn svg_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A time series to chart: its name and (unix seconds, value) points.
pub type Series = (String, Vec<(i64, f64)>);

/// The series behind the conclusion, from the raw data of the calls it cites: metric
/// tables (a `time` column, one column per series) whose series the root cause names.
/// When the cited calls hold none (a conclusion that cites no metrics call, a session
/// that did not conclude), the strongest moves `metrics_rank` reported, from any call's
/// metric table: a live run gets its chart too.
pub(crate) fn conclusion_series(events: &[Event], blobs: &BlobStore) -> Vec<Series> {
    let state = State::from_events(events);
    let cited: Vec<&str> = state
        .conclusion
        .iter()
        .flat_map(|c| c.evidence.iter().map(String::as_str))
        .collect();
    let root_cause = state
        .conclusion
        .as_ref()
        .map(|c| c.root_cause.as_str())
        .unwrap_or("");
    let mut out = series_from(&state, blobs, &cited, |name| root_cause.contains(name));
    if out.is_empty() {
        let reports = story::reports(&state, Some(blobs));
        let strongest: Vec<String> = reports
            .rank
            .iter()
            .flat_map(|r| r.changed.iter().take(3).map(|m| m.series.clone()))
            .collect();
        let every: Vec<&str> = state.calls.iter().map(|c| c.id.as_str()).collect();
        out = series_from(&state, blobs, &every, |name| {
            strongest.iter().any(|s| s == name)
        });
    }
    out.truncate(4);
    out
}

/// The series of the metric tables behind `calls` that `wanted` keeps, each once.
fn series_from(
    state: &State,
    blobs: &BlobStore,
    calls: &[&str],
    wanted: impl Fn(&str) -> bool,
) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::new();
    for id in calls {
        let Some(raw) = state
            .call(id)
            .and_then(|c| c.output.as_ref())
            .and_then(|o| o.raw.as_ref())
        else {
            continue;
        };
        let Ok(text) = blobs.get(&raw.blob) else {
            continue;
        };
        let Ok(table) = crate::bundle::MetricTable::parse(&text, id) else {
            continue;
        };
        for (name, values) in table.columns.iter().zip(&table.values) {
            if wanted(name) && !out.iter().any(|(n, _)| n == name) {
                let points = table.times.iter().copied().zip(values.iter().copied());
                out.push((name.clone(), points.collect()));
            }
        }
    }
    out
}

/// When things changed: the change events the session's tools reported (any output
/// with an `events` list of `{time, kind, service}`), as (unix seconds, label).
pub(crate) fn change_marks(events: &[Event], blobs: &BlobStore) -> Vec<(i64, String)> {
    let state = State::from_events(events);
    let mut marks = Vec::new();
    for call in &state.calls {
        let Some(output) = &call.output else { continue };
        let text = match &output.blob {
            Some(blob) => blobs.get(blob).unwrap_or_else(|_| output.preview.clone()),
            None => output.preview.clone(),
        };
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        for event in value["events"].as_array().into_iter().flatten() {
            let time = event["time"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
            if let Some(time) = time {
                let label = format!(
                    "{} {}",
                    event["service"].as_str().unwrap_or(""),
                    event["kind"].as_str().unwrap_or("change")
                );
                marks.push((time.timestamp(), label.trim().to_string()));
            }
        }
    }
    marks.sort();
    marks.dedup();
    marks
}

/// The slow edge the session's trace digest found, as a chart mark at its onset: the
/// call whose wait (the network between caller and callee) or latency grew most, by its
/// median, with its numbers.
pub(crate) fn slow_edge_mark(events: &[Event], blobs: &BlobStore) -> Option<(i64, String)> {
    let state = State::from_events(events);
    state
        .calls
        .iter()
        .filter(|c| c.tool == crate::protocol::digest::TRACES_DIGEST)
        .filter_map(|c| {
            let output = c.output.as_ref()?;
            let text = match &output.blob {
                Some(blob) => blobs.get(blob).ok()?,
                None => output.preview.clone(),
            };
            serde_json::from_str::<crate::protocol::digest::TraceReport>(&text).ok()
        })
        .find_map(|report| slow_edge_of(&report))
}

/// The call of a trace report whose wait or latency grew most (by the ratio of medians,
/// at least twofold), as (onset, label).
pub(crate) fn slow_edge_of(report: &crate::protocol::digest::TraceReport) -> Option<(i64, String)> {
    use crate::protocol::digest::Percentiles;
    let onset = DateTime::parse_from_rfc3339(report.onset.as_deref()?)
        .ok()?
        .timestamp();
    let growth = |before: Option<Percentiles>, after: Option<Percentiles>| {
        let (b, a) = (before?.p50, after?.p50);
        (a >= 2.0 * b.max(1e-6)).then_some((a / b.max(1e-6), b, a))
    };
    report
        .edges
        .iter()
        .flat_map(|e| {
            [
                growth(e.wait_before, e.wait_after).map(|g| (g, e, "wait")),
                growth(e.latency_before, e.latency_after).map(|g| (g, e, "latency")),
            ]
        })
        .flatten()
        .max_by(|x, y| x.0.0.total_cmp(&y.0.0))
        .map(|((_, b, a), e, what)| {
            let label = format!(
                "slow edge {} → {} ({what} p50 {} → {} s)",
                e.caller,
                e.callee,
                crate::analysis::traces::render::secs(b),
                crate::analysis::traces::render::secs(a)
            );
            (onset, label)
        })
}

/// An SVG chart readable in a browser: a title, one panel per series with its own y
/// scale (ticks at its minimum, middle and maximum), a time axis in UTC under the
/// panels, the onset as a red dashed line and each change as a grey line, labelled
/// inside the plot (staggered so labels do not overlap). `<!--title-->` is where
/// [`prepare`] puts the title; without it the chart says what it shows.
pub fn chart_svg(series: &[Series], onset: Option<i64>, marks: &[(i64, String)]) -> Option<String> {
    const W: f64 = 960.0;
    const LEFT: f64 = 70.0;
    const RIGHT: f64 = 20.0;
    const TOP: f64 = 40.0;
    const PANEL_H: f64 = 110.0;
    const GAP: f64 = 28.0;
    const COLORS: [&str; 4] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"];
    let times = series.iter().flat_map(|(_, p)| p.iter().map(|(t, _)| *t));
    let (t0, t1) = times.fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    if series.is_empty() || t0 >= t1 {
        return None;
    }
    let panels = series.len() as f64;
    let plot_bottom = TOP + panels * (PANEL_H + GAP) - GAP;
    let marks_in: Vec<&(i64, String)> = marks
        .iter()
        .filter(|(t, _)| (t0..=t1).contains(t))
        .collect();
    let h = plot_bottom + 50.0 + 16.0 * marks_in.len().min(8) as f64;
    let x = |t: i64| LEFT + (t - t0) as f64 / (t1 - t0) as f64 * (W - LEFT - RIGHT);
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif" font-size="12"><rect x="0" y="0" width="{W}" height="{h}" fill="#ffffff"/><text x="{LEFT}" y="22" font-size="15" font-weight="bold" fill="#222222"><!--title--></text>"##
    );
    if !svg.contains("<!--title-->") {
        return None;
    }
    for (i, (name, points)) in series.iter().enumerate() {
        svg.push_str(&panel(
            i,
            name,
            points,
            COLORS[i % COLORS.len()],
            TOP + i as f64 * (PANEL_H + GAP),
            PANEL_H,
            LEFT,
            W - RIGHT,
            &x,
        ));
    }
    svg.push_str(&time_axis(t0, t1, plot_bottom, TOP, &x));
    for (k, (t, label)) in marks_in.iter().enumerate() {
        let lx = x(*t);
        svg.push_str(&format!(
            r##"<line x1="{lx:.1}" y1="{TOP}" x2="{lx:.1}" y2="{plot_bottom}" stroke="#888888" stroke-width="1"/><text x="{lx:.1}" y="{:.0}" fill="#555555" font-size="11" text-anchor="middle">{}</text>"##,
            TOP + 12.0 + 13.0 * (k % 4) as f64,
            k + 1,
        ));
        if k < 8 {
            svg.push_str(&format!(
                r##"<text x="{LEFT}" y="{:.0}" fill="#555555">{} · {} {}</text>"##,
                plot_bottom + 50.0 + 16.0 * k as f64,
                k + 1,
                clock(*t),
                svg_escape(label)
            ));
        }
    }
    if let Some(onset) = onset.filter(|t| (t0..=t1).contains(t)) {
        let ox = x(onset);
        svg.push_str(&format!(
            r##"<line x1="{ox:.1}" y1="{TOP}" x2="{ox:.1}" y2="{plot_bottom}" stroke="#d62728" stroke-width="1.5" stroke-dasharray="5,3"/><text x="{:.1}" y="{:.0}" fill="#d62728">onset</text><text x="{:.1}" y="{:.0}" fill="#d62728" font-size="11">{}</text>"##,
            ox + 4.0,
            TOP - 4.0,
            ox + 44.0,
            TOP - 4.0,
            clock(onset)
        ));
    }
    svg.push_str("</svg>\n");
    Some(svg)
}

fn clock(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_default()
}

/// One series' panel: a frame, its y scale (min, middle, max), its line and its name.
#[allow(clippy::too_many_arguments)]
fn panel(
    i: usize,
    name: &str,
    points: &[(i64, f64)],
    color: &str,
    top: f64,
    height: f64,
    left: f64,
    right: f64,
    x: &dyn Fn(i64) -> f64,
) -> String {
    let finite: Vec<f64> = points
        .iter()
        .map(|(_, v)| *v)
        .filter(|v| v.is_finite())
        .collect();
    let (lo, hi) = finite
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let (lo, hi) = if finite.is_empty() {
        (0.0, 1.0)
    } else {
        (lo, hi)
    };
    let span = if hi > lo { hi - lo } else { 1.0 };
    let y = |v: f64| top + height - (v - lo) / span * height;
    let mut out = format!(
        r##"<rect x="{left}" y="{top}" width="{:.1}" height="{height}" fill="none" stroke="#cccccc"/>"##,
        right - left
    );
    for v in [lo, lo + span / 2.0, hi] {
        out.push_str(&format!(
            r##"<line x1="{tick:.1}" y1="{ty:.1}" x2="{left}" y2="{ty:.1}" stroke="#444444"/><text x="{label:.1}" y="{ly:.1}" text-anchor="end" fill="#444444" font-size="11">{value}</text>"##,
            tick = left - 4.0,
            ty = y(v),
            label = left - 6.0,
            ly = y(v) + 4.0,
            value = legend_number(v)
        ));
    }
    let path: Vec<String> = points
        .iter()
        .filter(|(_, v)| v.is_finite())
        .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v)))
        .collect();
    out.push_str(&format!(
        r#"<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{}"/><text x="{:.1}" y="{:.1}" fill="{color}" font-weight="bold">{}</text>"#,
        path.join(" "),
        left + 6.0,
        top + 14.0,
        svg_escape(name)
    ));
    let _ = i;
    out
}

/// The time axis under the panels: about six ticks on round minutes, in UTC.
fn time_axis(t0: i64, t1: i64, bottom: f64, top: f64, x: &dyn Fn(i64) -> f64) -> String {
    let span = t1 - t0;
    let step = [60, 120, 300, 600, 900, 1800, 3600, 7200, 21600]
        .into_iter()
        .find(|s| span / s <= 8)
        .unwrap_or(86_400);
    let mut out = String::new();
    let mut t = t0 + (step - t0.rem_euclid(step)) % step;
    while t <= t1 {
        let tx = x(t);
        out.push_str(&format!(
            r##"<line x1="{tx:.1}" y1="{top}" x2="{tx:.1}" y2="{bottom}" stroke="#eeeeee"/><line x1="{tx:.1}" y1="{bottom}" x2="{tx:.1}" y2="{:.1}" stroke="#444444"/><text x="{tx:.1}" y="{:.1}" text-anchor="middle" fill="#444444" font-size="11">{}</text>"##,
            bottom + 5.0,
            bottom + 18.0,
            DateTime::from_timestamp(t, 0).map(|d| d.format("%H:%M").to_string()).unwrap_or_default()
        ));
        t += step;
    }
    out.push_str(&format!(
        r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#444444" font-size="11">time (UTC)</text>"##,
        x(t1),
        bottom + 32.0
    ));
    out
}

/// A number as a legend shows it: `0.15`, `139`, `1.8k`, `711M`.
fn legend_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e6 {
        format!("{:.0}M", value / 1e6)
    } else if magnitude >= 1e4 {
        format!("{:.1}k", value / 1e3)
    } else if magnitude >= 10.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// The onset of the charted series: where they moved together (the analysis layer's
/// sift, on the series as charted).
pub fn onset_of(series: &[Series]) -> Option<i64> {
    let (_, first) = series.first()?;
    let times: Vec<i64> = first.iter().map(|(t, _)| *t).collect();
    let named: Vec<(String, Vec<f64>)> = series
        .iter()
        .filter(|(_, p)| p.len() == times.len())
        .map(|(n, p)| (n.clone(), p.iter().map(|(_, v)| *v).collect()))
        .collect();
    let sifted = crate::analysis::rank::sift(&times, &named, None);
    (!sifted.kept.is_empty()).then_some(sifted.onset)
}

/// A hypothesis' status with its confidence (`supported, 62%`), or the status alone when
/// it was refuted: a refuted hypothesis has no confidence left to report.
fn standing(status: HypothesisStatus, confidence: f32, between: &str) -> String {
    if status == HypothesisStatus::Refuted {
        status.label().to_string()
    } else {
        format!("{}{between}{:.0}%", status.label(), confidence * 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::digest::{EdgeStat, OnsetSource, Percentiles, TraceReport};

    fn p(p50: f64) -> Option<Percentiles> {
        Some(Percentiles {
            p50,
            p90: p50 * 2.0,
            p99: p50 * 3.0,
        })
    }

    fn edge(caller: &str, callee: &str, wait: (f64, f64), latency: (f64, f64)) -> EdgeStat {
        EdgeStat {
            caller: caller.into(),
            callee: callee.into(),
            operation: "GET /x".into(),
            calls_before: 10,
            calls_after: 10,
            errors_before: 0,
            errors_after: 0,
            latency_before: p(latency.0),
            latency_after: p(latency.1),
            wait_before: p(wait.0),
            wait_after: p(wait.1),
        }
    }

    #[test]
    fn the_slow_edge_is_the_call_that_grew_most_and_keeps_its_scale() {
        let report = TraceReport {
            spans: 100,
            traces: 10,
            first: None,
            last: None,
            onset: Some("2023-01-30T12:36:54Z".into()),
            onset_source: OnsetSource::Given,
            spans_before: 50,
            spans_after: 50,
            graph: Vec::new(),
            edges: vec![
                edge("web", "api", (0.002, 0.0025), (0.05, 0.09)),
                edge("auth", "verify", (0.0046, 1.98), (0.006, 0.007)),
            ],
            edges_total: 2,
            services: Vec::new(),
            changes: Vec::new(),
            critical_paths: Vec::new(),
            orphans: 0,
            notes: Vec::new(),
        };
        let (at, label) = slow_edge_of(&report).unwrap();
        assert_eq!(at, 1_675_082_214);
        assert!(
            label.starts_with("slow edge auth → verify (wait p50 0.0046 → 1.98 s)"),
            "{label}"
        );
        let svg = chart_svg(
            &[(
                "verify_latency".into(),
                vec![(at - 60, 1.0), (at + 60, 2.0)],
            )],
            None,
            &[(at, label)],
        )
        .unwrap();
        assert!(svg.contains("slow edge auth → verify"), "{svg}");
    }

    /// The recorded demo session with more streamed text in it: the draft of what
    /// [`read_for_draft`] keeps is the draft of the whole record, and the text is left.
    #[test]
    fn a_streamed_read_drafts_what_the_whole_record_drafts() {
        let fixture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/demo-session.jsonl"
        );
        let text = std::fs::read_to_string(fixture).unwrap();
        let mut grown = String::new();
        for (n, line) in text.lines().enumerate() {
            grown.push_str(line);
            grown.push('\n');
            if n % 7 == 3 {
                let delta = r#"{"seq":0,"ts":"2026-11-24T02:10:00Z","type":"reasoning_delta","text":"more "}"#;
                grown.push_str(&format!("{delta}\n"));
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grown.jsonl");
        std::fs::write(&path, &grown).unwrap();
        let redactor = Redactor::new(&[]).unwrap();
        let whole = crate::session::read_session(&path).unwrap().events;
        let input = read_for_draft(&path, &redactor).unwrap();
        assert_eq!(input.read, whole.len() as u64);
        assert!(input.events.iter().all(drafted));
        assert!(
            input.events.len() < whole.len() / 2,
            "the text is left behind"
        );
        let blobs = BlobStore::new(dir.path().join("blobs"));
        let full = prepare(
            &whole
                .iter()
                .filter_map(|event| redacted(event, &redactor))
                .collect::<Vec<_>>(),
            &blobs,
            &redactor,
        );
        let streamed = prepare(&input.events, &blobs, &redactor);
        let json = |p: &Postmortem| serde_json::to_string(p).unwrap();
        assert_eq!(json(&streamed.0), json(&full.0));
        assert_eq!(streamed.1, full.1);
        assert_eq!(streamed.0.markdown(None), full.0.markdown(None));
    }
}
