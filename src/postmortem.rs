//! `hunch export`: a postmortem draft folded from a session's events (and the raw data
//! in its blob store), as Markdown for people and JSON for tools, with an SVG chart of
//! the series behind the conclusion. It says only what the record shows: who did what
//! and when, what each action was and who allowed it, the evidence the conclusion cites,
//! and never a credential's value (the log never holds one).
//!
//! A record is redacted before anything is drafted from it ([`redacted_events`]), never
//! after the draft was serialized or escaped (where `\"` or `&lt;` would hide a secret
//! from the patterns); and the Markdown treats everything recorded as text (see
//! [`escape`]).

mod escape;

use crate::event::{
    CallOutcome, Decision, Event, EventKind, HypothesisStatus, Risk, State, ToolCall,
};
use crate::redact::Redactor;
use crate::session::BlobStore;
use chrono::{DateTime, Utc};
use serde::Serialize;
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
    pub ended: Option<String>,
    pub root_cause: Option<String>,
    pub confidence: Option<f32>,
    pub timeline: Vec<Moment>,
    pub hypotheses: Vec<HypothesisStory>,
    pub evidence: Vec<Evidence>,
    pub actions: Vec<Action>,
    pub credentials: Vec<CredentialUse>,
    pub follow_ups: Vec<String>,
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

/// The draft of a recorded session.
pub fn draft(events: &[Event]) -> Postmortem {
    let state = State::from_events(events);
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
    Postmortem {
        title: incident.title.clone(),
        alert: incident.alert.clone(),
        environment: incident.environment.clone(),
        brain: state.session.brain.clone(),
        started,
        onset: None,
        concluded_at,
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
            .map(|c| c.follow_ups.clone())
            .unwrap_or_default(),
    }
}

fn call_command(state: &State, id: &str) -> String {
    state
        .call(id)
        .map(|c| c.command.clone())
        .unwrap_or_else(|| id.to_string())
}

fn timeline(events: &[Event], state: &State) -> Vec<Moment> {
    let agent = || "agent".to_string();
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
                EventKind::HypothesisEdited { hypothesis, by } => (
                    by.clone(),
                    format!(
                        "set {} to {} — {}",
                        hypothesis.id,
                        hypothesis.status.label(),
                        hypothesis.statement
                    ),
                ),
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
        CallOutcome::Denied => "was denied",
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
                        what: format!(
                            "{} {:.0}%",
                            hypothesis.status.label(),
                            hypothesis.confidence * 100.0
                        ),
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

/// A recorded session as it may be exported: every string of every event without
/// control sequences and redacted, each a whole value. An event that can't be walked is
/// left out rather than exported unredacted.
pub fn redacted_events(events: &[Event], redactor: &Redactor) -> Vec<Event> {
    events
        .iter()
        .filter_map(|event| {
            let mut value = serde_json::to_value(event).ok()?;
            crate::sanitize::each_string(&mut value, &mut |text: &mut String| {
                *text = redactor.redact(&crate::sanitize::for_display(text)).0;
            });
            serde_json::from_value(value).ok()
        })
        .collect()
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
        let _ = writeln!(md, "- **Investigated by:** {}", cell(&self.brain));
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
        md.push_str("\n## Timeline\n\n| time (UTC) | who | what |\n|---|---|---|\n");
        for m in &self.timeline {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                m.at.format("%H:%M:%S"),
                cell(&m.who),
                cell(&m.what)
            );
        }
        md.push_str("\n## Hypotheses\n\n");
        for h in &self.hypotheses {
            let _ = writeln!(
                md,
                "- **{}** ({}, {:.0}%): {}",
                cell(&h.id),
                h.status.label(),
                h.confidence * 100.0,
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
            let decision = match (&a.decision, &a.decided_by) {
                (Some(d), Some(by)) => format!("{} by {}", cell(d), cell(by)),
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

/// A time series to chart: its name and (unix seconds, value) points.
pub type Series = (String, Vec<(i64, f64)>);

/// The series behind the conclusion, from the raw data of the calls it cites: metric
/// tables (a `time` column, one column per series) whose series the root cause names.
pub fn conclusion_series(events: &[Event], blobs: &BlobStore) -> Vec<Series> {
    let state = State::from_events(events);
    let Some(conclusion) = &state.conclusion else {
        return Vec::new();
    };
    let mut out: Vec<Series> = Vec::new();
    for id in &conclusion.evidence {
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
        for (name, values) in table.named_series() {
            if conclusion.root_cause.contains(name.as_str()) && !out.iter().any(|(n, _)| *n == name)
            {
                let points = table.times.iter().copied().zip(values).collect();
                out.push((name, points));
            }
        }
    }
    out.truncate(4);
    out
}

/// When things changed: the change events the session's tools reported (any output
/// with an `events` list of `{time, kind, service}`), as (unix seconds, label).
pub fn change_marks(events: &[Event], blobs: &BlobStore) -> Vec<(i64, String)> {
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
pub fn slow_edge_mark(events: &[Event], blobs: &BlobStore) -> Option<(i64, String)> {
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
pub fn slow_edge_of(report: &crate::protocol::digest::TraceReport) -> Option<(i64, String)> {
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

/// An SVG line chart: each series scaled to its own range (the legend gives it), the
/// onset as a red dashed line, change events as grey lines with their labels.
pub fn chart_svg(series: &[Series], onset: Option<i64>, marks: &[(i64, String)]) -> Option<String> {
    const W: f64 = 900.0;
    const H: f64 = 360.0;
    const LEFT: f64 = 20.0;
    const TOP: f64 = 30.0;
    const PLOT_H: f64 = 230.0;
    const COLORS: [&str; 4] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"];
    let times = series.iter().flat_map(|(_, p)| p.iter().map(|(t, _)| *t));
    let (t0, t1) = times.fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    if series.is_empty() || t0 >= t1 {
        return None;
    }
    let x = |t: i64| LEFT + (t - t0) as f64 / (t1 - t0) as f64 * (W - 2.0 * LEFT);
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11">"#
    );
    svg.push_str(&format!(
        r##"<rect x="0" y="0" width="{W}" height="{H}" fill="#ffffff"/>"##
    ));
    for (i, (name, points)) in series.iter().enumerate() {
        let finite: Vec<f64> = points
            .iter()
            .map(|(_, v)| *v)
            .filter(|v| v.is_finite())
            .collect();
        let (lo, hi) = finite
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        let span = if hi > lo { hi - lo } else { 1.0 };
        let path: Vec<String> = points
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(t, v)| {
                format!(
                    "{:.1},{:.1}",
                    x(*t),
                    TOP + PLOT_H - (v - lo) / span * PLOT_H
                )
            })
            .collect();
        let color = COLORS[i % COLORS.len()];
        svg.push_str(&format!(
            r#"<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{}"/>"#,
            path.join(" ")
        ));
        svg.push_str(&format!(
            r#"<text x="{LEFT}" y="{:.0}" fill="{color}">{} ({} to {})</text>"#,
            TOP + PLOT_H + 45.0 + 14.0 * i as f64,
            escape(name),
            legend_number(lo),
            legend_number(hi)
        ));
    }
    for (t, label) in marks.iter().filter(|(t, _)| (t0..=t1).contains(t)) {
        svg.push_str(&format!(
            r##"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1}" stroke="#888888" stroke-width="1"/><text x="{0:.1}" y="{2}" fill="#555555" transform="rotate(-30 {0:.1} {2})">{3}</text>"##,
            x(*t),
            TOP + PLOT_H,
            TOP - 4.0,
            escape(label)
        ));
    }
    if let Some(onset) = onset.filter(|t| (t0..=t1).contains(t)) {
        svg.push_str(&format!(
            r##"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1}" stroke="#d62728" stroke-width="1.5" stroke-dasharray="5,3"/><text x="{2:.1}" y="{3}" fill="#d62728">onset</text>"##,
            x(onset),
            TOP + PLOT_H,
            x(onset) + 3.0,
            TOP + PLOT_H + 14.0
        ));
    }
    svg.push_str("</svg>\n");
    Some(svg)
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
}
