//! Alerts as they arrive: the four payloads a pager sends or an API answers — an
//! Alertmanager webhook, a Prometheus `/api/v1/alerts` answer, a PagerDuty v3 webhook and a
//! Grafana alert notification — read into one [`Alert`], and plain alert text read as well
//! as it can be ([`text`]).
//!
//! The one idea: whatever the source, an investigation starts from one firing [`Alert`]
//! (its name, labels, start, summary, description and runbook link), and [`Alert::brief`]
//! is the text the brain and the screen get. The brief says `since HH:MM:SS UTC` when the
//! alert knows its start, which is what bounds the onset search (`analysis::rank`).
//! Parsing is typed (one serde shape per format); the format is detected from the
//! fields only that format has. This module does no I/O.

mod formats;
pub mod start;
pub mod text;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where an alert came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Alertmanager,
    Prometheus,
    PagerDuty,
    Grafana,
}

impl Format {
    pub fn label(self) -> &'static str {
        match self {
            Format::Alertmanager => "Alertmanager",
            Format::Prometheus => "Prometheus",
            Format::PagerDuty => "PagerDuty",
            Format::Grafana => "Grafana",
        }
    }
}

/// Firing (or pending in Prometheus, triggered or acknowledged in PagerDuty) or resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Firing,
    Resolved,
}

/// One alert, whatever sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub format: Format,
    pub status: Status,
    /// `alertname`, or the PagerDuty incident's title.
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub runbook_url: Option<String>,
    /// When the alert's condition began (`startsAt`, `activeAt`, `created_at`).
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// What identifies the alert across notifications (a fingerprint, an incident id).
    pub key: Option<String>,
    /// Where to see it (`generatorURL`, the incident's page).
    pub link: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "not an alert payload this reads (an Alertmanager or Grafana webhook, a Prometheus /api/v1/alerts answer, a PagerDuty v3 webhook)"
    )]
    UnknownFormat,
    #[error("the {format} payload does not have the shape its documentation gives: {error}")]
    Shape {
        format: &'static str,
        error: serde_json::Error,
    },
    #[error("the {0} payload holds no alert")]
    Empty(&'static str),
    #[error("the payload holds no firing alert ({0} resolved)")]
    NoneFiring(usize),
    #[error("--alert-index {index}: the payload holds {count} firing alerts (0 to {last})", last = count.saturating_sub(1))]
    Index { index: usize, count: usize },
}

/// Which format a payload is in, from the fields only that format has.
pub fn detect(value: &serde_json::Value) -> Option<Format> {
    if value
        .get("event")
        .and_then(|e| e.get("event_type"))
        .is_some()
    {
        return Some(Format::PagerDuty);
    }
    if value
        .get("data")
        .and_then(|d| d.get("alerts"))
        .is_some_and(|a| a.is_array())
    {
        return Some(Format::Prometheus);
    }
    let alerts = value.get("alerts")?.as_array()?;
    let grafana_alert = |a: &serde_json::Value| {
        [
            "values",
            "valueString",
            "dashboardURL",
            "silenceURL",
            "panelURL",
        ]
        .iter()
        .any(|k| a.get(k).is_some())
    };
    if value.get("orgId").is_some() || alerts.iter().any(grafana_alert) {
        Some(Format::Grafana)
    } else {
        Some(Format::Alertmanager)
    }
}

/// Every alert of a payload, in the order it lists them.
pub fn parse(payload: &str) -> Result<Vec<Alert>, AlertError> {
    let value: serde_json::Value = serde_json::from_str(payload)?;
    let format = detect(&value).ok_or(AlertError::UnknownFormat)?;
    let alerts = formats::read(format, value)?;
    if alerts.is_empty() {
        return Err(AlertError::Empty(format.label()));
    }
    Ok(alerts)
}

/// The firing alert an investigation starts from: the `index`th firing one (the first
/// when `None`).
pub fn pick(alerts: &[Alert], index: Option<usize>) -> Result<&Alert, AlertError> {
    let firing: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.status == Status::Firing)
        .collect();
    if firing.is_empty() {
        return Err(AlertError::NoneFiring(alerts.len()));
    }
    let index = index.unwrap_or(0);
    firing.get(index).copied().ok_or(AlertError::Index {
        index,
        count: firing.len(),
    })
}

/// Label names that say which service an alert is about, most specific first.
const SERVICE_LABELS: [&str; 6] = [
    "service",
    "app",
    "app_kubernetes_io_name",
    "container",
    "job",
    "deployment",
];

impl Alert {
    /// The service the alert names in its labels, when it names one.
    pub fn service(&self) -> Option<&str> {
        SERVICE_LABELS
            .iter()
            .find_map(|k| self.labels.get(*k))
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// The alert as one text, for the brain and the screen: name, summary, description,
    /// the labels that matter, its start as `since HH:MM:SS UTC` and its runbook.
    pub fn brief(&self) -> String {
        let mut text = self.name.clone();
        for part in [&self.summary, &self.description].into_iter().flatten() {
            if !part.trim().is_empty() && !text.contains(part.trim()) {
                text.push_str(": ");
                text.push_str(part.trim());
            }
        }
        let labels: Vec<String> = self
            .labels
            .iter()
            .filter(|(k, _)| k.as_str() != "alertname" && k.as_str() != "__name__")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !labels.is_empty() {
            text.push_str(&format!(" ({})", labels.join(", ")));
        }
        if let Some(start) = self.starts_at {
            text.push_str(&format!(" since {}", start.format("%H:%M:%S UTC")));
        }
        if let Some(url) = &self.runbook_url {
            text.push_str(&format!("; runbook {url}"));
        }
        text.push_str(&format!(" [{}]", self.format.label()));
        text
    }

    /// The title an investigation of this alert gets.
    pub fn title(&self) -> String {
        match (&self.summary, self.service()) {
            (Some(summary), _) if !summary.trim().is_empty() => summary.trim().to_string(),
            (_, Some(service)) => format!("{} on {service}", self.name),
            _ => self.name.clone(),
        }
    }
}
