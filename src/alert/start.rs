//! Starting an investigation from what paged: `--alert-file` (a payload, one firing alert
//! of it) or `--alert` text, applied to the [`Source`] about to be investigated. The
//! alert's start becomes the incident's `fired_at` and a `since` in the alert text, which
//! is what bounds the onset search; what was understood is added to the text the brain
//! and the screen get.

use super::{Alert, AlertError, text};
use crate::launch::Source;
use chrono::{DateTime, Utc};

/// What the engineer gave.
pub enum Given {
    /// `--alert "…"`.
    Text(String),
    /// `--alert-file`: the payload's text, and which firing alert (`--alert-index`).
    Payload {
        payload: String,
        index: Option<usize>,
    },
}

/// Apply what paged to the source; returns the line to show the engineer (how the
/// alert was read), when there is something to say.
pub fn apply(source: &mut Source, given: Given) -> Result<Option<String>, AlertError> {
    let now = Utc::now();
    let (services, reference) = match source {
        Source::Bundle(bundle) => (
            bundle
                .incident
                .services
                .iter()
                .map(|s| s.name.clone())
                .collect::<Vec<_>>(),
            bundle.incident.fired_at,
        ),
        Source::Live { env, .. } => (env.services.iter().map(|(s, _)| s.clone()).collect(), now),
    };
    let (title, alert, fired_at, said) = match given {
        Given::Text(alert) => {
            let reading = text::read(&alert, &services, reference);
            let said = reading.said();
            let alert = match &said {
                Some(said) => format!("{alert} [{said}]"),
                None => alert,
            };
            (None, alert, None, said)
        }
        Given::Payload { payload, index } => {
            let alerts = super::parse(&payload)?;
            let mut page = super::pick(&alerts, index)?.clone();
            let doubted = page.starts_at.filter(|&t| !plausible(t, reference));
            if doubted.is_some() {
                page.starts_at = None;
            }
            let mut said = page_said(&page, &services);
            if let Some(t) = doubted {
                // The date only: a clock time in this text would be read as the start.
                said.push_str(&format!(
                    "; its start date {} is ignored (more than {MAX_AGE_DAYS} days before or a day after the incident)",
                    t.format("%Y-%m-%d"),
                ));
            }
            let alert = format!("{} [{said}]", page.brief());
            (Some(page.title()), alert, page.starts_at, Some(said))
        }
    };
    // Labels and annotations come from outside: no escape sequence or bidi override
    // reaches the terminal (the line said back) or the incident.
    // The line said back and the title are one line each: a name with a line break in
    // it cannot print a line of its own (a fake `session: …`).
    let clean = crate::sanitize::for_display;
    let one_line = |text: &str| clean(text).replace('\n', " ");
    set(
        source,
        title.as_deref().map(one_line),
        clean(&alert),
        fired_at,
    );
    Ok(said.as_deref().map(one_line))
}

/// How long before the reference time (the bundle's incident, or now) an alert's start
/// is still believed. A start outside the window (a clock gone wrong, a forged payload
/// saying year 9999 or 1970) would stretch every window the tools search to centuries.
pub const MAX_AGE_DAYS: i64 = 30;

/// Whether `start` can be when this incident began: at most [`MAX_AGE_DAYS`] before
/// `reference` and at most a day after it.
fn plausible(start: DateTime<Utc>, reference: DateTime<Utc>) -> bool {
    let earliest = reference - chrono::Duration::days(MAX_AGE_DAYS);
    let latest = reference + chrono::Duration::days(1);
    (earliest..=latest).contains(&start)
}

/// How a payload's alert was read: its source, service, start and runbook.
fn page_said(page: &Alert, services: &[String]) -> String {
    let mut parts = vec![format!("{} alert {}", page.format.label(), page.name)];
    let named = page
        .service()
        .map(|s| text::services_in(s, services))
        .filter(|found| !found.is_empty())
        .unwrap_or_else(|| text::services_in(&page.brief(), services));
    match (named.first(), page.service()) {
        (Some(known), _) => parts.push(format!("service {known}")),
        (None, Some(label)) => parts.push(format!("service {label} (not a known service)")),
        (None, None) => {}
    }
    if let Some(start) = page.starts_at {
        parts.push(format!("since {}", start.format("%H:%M:%S UTC (%Y-%m-%d)")));
    }
    if let Some(url) = &page.runbook_url {
        parts.push(format!("runbook {url}"));
    }
    format!("read as: {}", parts.join("; "))
}

fn set(source: &mut Source, title: Option<String>, text: String, at: Option<DateTime<Utc>>) {
    match source {
        Source::Bundle(bundle) => {
            if let Some(title) = title {
                bundle.incident.title = title;
            }
            bundle.incident.alert = text;
            if let Some(at) = at {
                bundle.incident.fired_at = at;
            }
        }
        Source::Live {
            alert, fired_at, ..
        } => {
            *alert = text;
            if at.is_some() {
                *fired_at = at;
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GivenError {
    #[error("reading the alert from {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path}: {error}")]
    Alert { path: String, error: AlertError },
}

/// The most an alert payload may hold: a pager sends kilobytes, and this keeps
/// `--alert-file /dev/zero` (or an endless stdin) from eating the memory.
pub const MAX_PAYLOAD: u64 = 4 * 1024 * 1024;

/// A payload's text from `file` (`-` is stdin): a regular file (a FIFO would block,
/// a device never ends), at most [`MAX_PAYLOAD`] bytes, UTF-8.
fn read_payload(file: &std::path::Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read};
    let mut bytes = Vec::new();
    if file == std::path::Path::new("-") {
        std::io::stdin()
            .lock()
            .take(MAX_PAYLOAD + 1)
            .read_to_end(&mut bytes)?;
    } else {
        if !std::fs::metadata(file)?.is_file() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "not a regular file (a FIFO, a device or a directory)",
            ));
        }
        std::fs::File::open(file)?
            .take(MAX_PAYLOAD + 1)
            .read_to_end(&mut bytes)?;
    }
    if bytes.len() as u64 > MAX_PAYLOAD {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!(
                "larger than {} MiB: not an alert payload",
                MAX_PAYLOAD / 1024 / 1024
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|_| Error::new(ErrorKind::InvalidData, "not UTF-8"))
}

/// What the command line gave: `--alert TEXT`, or `--alert-file FILE|-` (read and
/// checked here, so a bad payload is refused before anything starts).
pub fn given(
    alert: Option<String>,
    file: Option<&std::path::Path>,
    index: Option<usize>,
) -> Result<Option<Given>, GivenError> {
    let Some(file) = file else {
        return Ok(alert.map(Given::Text));
    };
    let path = file.display().to_string();
    let payload = read_payload(file).map_err(|error| GivenError::Read {
        path: path.clone(),
        error,
    })?;
    let alerts = super::parse(&payload).map_err(|error| GivenError::Alert {
        path: path.clone(),
        error,
    })?;
    super::pick(&alerts, index).map_err(|error| GivenError::Alert { path, error })?;
    Ok(Some(Given::Payload { payload, index }))
}
