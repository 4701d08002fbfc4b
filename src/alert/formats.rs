//! The payload shapes, one serde type per format, as each vendor documents them, and
//! how each becomes an [`Alert`]. Fields this does not use are left out (serde ignores
//! them), so a payload with more than the documentation shows still reads.

use super::{Alert, AlertError, Format, Status};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// An alert as Alertmanager and Grafana send it (Grafana's webhook follows Alertmanager's).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WebhookAlert {
    #[serde(default)]
    status: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    #[serde(rename = "generatorURL")]
    generator_url: Option<String>,
    fingerprint: Option<String>,
}

/// Alertmanager's `webhook_config` body (version 4), and Grafana's.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Webhook {
    alerts: Vec<WebhookAlert>,
    #[serde(default)]
    common_annotations: BTreeMap<String, String>,
}

/// Prometheus' `GET /api/v1/alerts`: `{"status": "success", "data": {"alerts": [...]}}`.
#[derive(Debug, Deserialize)]
struct PrometheusAnswer {
    data: PrometheusData,
}

#[derive(Debug, Deserialize)]
struct PrometheusData {
    alerts: Vec<PrometheusAlert>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrometheusAlert {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    state: String,
    active_at: Option<String>,
}

/// A PagerDuty v3 webhook: `{"event": {"event_type": "incident.triggered", "data": {...}}}`.
#[derive(Debug, Deserialize)]
struct PagerDutyWebhook {
    event: PagerDutyEvent,
}

#[derive(Debug, Deserialize)]
struct PagerDutyEvent {
    event_type: String,
    occurred_at: Option<String>,
    data: PagerDutyIncident,
}

#[derive(Debug, Deserialize)]
struct PagerDutyIncident {
    id: Option<String>,
    title: Option<String>,
    status: Option<String>,
    html_url: Option<String>,
    created_at: Option<String>,
    urgency: Option<String>,
    service: Option<PagerDutyReference>,
    priority: Option<PagerDutyReference>,
    incident_key: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PagerDutyReference {
    summary: Option<String>,
}

fn shape<T: DeserializeOwned>(format: Format, value: serde_json::Value) -> Result<T, AlertError> {
    serde_json::from_value(value).map_err(|error| AlertError::Shape {
        format: format.label(),
        error,
    })
}

pub(super) fn read(format: Format, value: serde_json::Value) -> Result<Vec<Alert>, AlertError> {
    Ok(match format {
        Format::Alertmanager | Format::Grafana => {
            let hook: Webhook = shape(format, value)?;
            let common = hook.common_annotations;
            hook.alerts
                .into_iter()
                .map(|a| webhook_alert(format, a, &common))
                .collect()
        }
        Format::Prometheus => {
            let answer: PrometheusAnswer = shape(format, value)?;
            answer
                .data
                .alerts
                .into_iter()
                .map(prometheus_alert)
                .collect()
        }
        Format::PagerDuty => {
            let hook: PagerDutyWebhook = shape(format, value)?;
            vec![pagerduty_alert(hook.event)]
        }
    })
}

/// A time as these payloads write it; Go's zero time (`0001-01-01T00:00:00Z`, "not yet")
/// is no time.
fn time(text: Option<&str>) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(text?)
        .ok()?
        .with_timezone(&Utc);
    (t.timestamp() > 0).then_some(t)
}

/// An alert's name: its `alertname` label, as Alertmanager and Prometheus give it.
fn alert_name(labels: &BTreeMap<String, String>) -> String {
    labels
        .get("alertname")
        .cloned()
        .unwrap_or_else(|| "alert".into())
}

fn non_empty(text: Option<&String>) -> Option<String> {
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

fn webhook_alert(format: Format, alert: WebhookAlert, common: &BTreeMap<String, String>) -> Alert {
    let note = |key: &str| non_empty(alert.annotations.get(key).or_else(|| common.get(key)));
    Alert {
        format,
        status: if alert.status == "resolved" {
            Status::Resolved
        } else {
            Status::Firing
        },
        name: alert_name(&alert.labels),
        summary: note("summary"),
        description: note("description"),
        runbook_url: note("runbook_url"),
        starts_at: time(alert.starts_at.as_deref()),
        ends_at: time(alert.ends_at.as_deref()),
        key: alert.fingerprint,
        link: alert.generator_url.filter(|u| !u.is_empty()),
        labels: alert.labels,
    }
}

fn prometheus_alert(alert: PrometheusAlert) -> Alert {
    let note = |key: &str| non_empty(alert.annotations.get(key));
    Alert {
        format: Format::Prometheus,
        // Pending alerts wait out their `for:`; only `inactive` would be over, and the
        // API does not list those.
        status: if alert.state == "inactive" {
            Status::Resolved
        } else {
            Status::Firing
        },
        name: alert_name(&alert.labels),
        summary: note("summary"),
        description: note("description"),
        runbook_url: note("runbook_url"),
        starts_at: time(alert.active_at.as_deref()),
        ends_at: None,
        key: None,
        link: None,
        labels: alert.labels,
    }
}

fn pagerduty_alert(event: PagerDutyEvent) -> Alert {
    let incident = event.data;
    let resolved =
        incident.status.as_deref() == Some("resolved") || event.event_type == "incident.resolved";
    let mut labels = BTreeMap::new();
    let service = incident.service.and_then(|s| s.summary);
    if let Some(service) = &service {
        labels.insert("service".to_string(), service.clone());
    }
    if let Some(urgency) = incident.urgency {
        labels.insert("urgency".to_string(), urgency);
    }
    if let Some(priority) = incident.priority.and_then(|p| p.summary) {
        labels.insert("priority".to_string(), priority);
    }
    Alert {
        format: Format::PagerDuty,
        status: if resolved {
            Status::Resolved
        } else {
            Status::Firing
        },
        name: incident.title.clone().unwrap_or_else(|| "incident".into()),
        summary: None,
        description: None,
        runbook_url: None,
        starts_at: time(incident.created_at.as_deref()).or(time(event.occurred_at.as_deref())),
        ends_at: None,
        key: incident.id.or(incident.incident_key),
        link: incident.html_url,
        labels,
    }
}
