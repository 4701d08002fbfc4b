//! `hunch sessions`: what has been recorded, newest first. Titles are sanitized again
//! here: files written by older versions, or by hand, may hold raw escapes.

use super::reader::read_session;
use crate::event::{EventKind, State};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct SessionSummary {
    pub path: PathBuf,
    pub title: String,
    pub started: String,
    pub events: usize,
    pub steps: usize,
    pub concluded: bool,
    pub warnings: usize,
}

pub fn list_sessions(sessions_dir: &Path) -> std::io::Result<Vec<SessionSummary>> {
    let mut files = Vec::new();
    if sessions_dir.is_dir() {
        for day in std::fs::read_dir(sessions_dir)? {
            let day = day?.path();
            if !day.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&day)? {
                let file = file?.path();
                if file.extension().is_some_and(|e| e == "jsonl") {
                    files.push(file);
                }
            }
        }
    }
    files.sort();
    files.reverse();
    let mut out = Vec::new();
    for path in files {
        let log = read_session(&path)?;
        let state = State::from_events(&log.events);
        let started = log
            .events
            .iter()
            .find(|e| matches!(e.kind, EventKind::SessionStarted { .. }))
            .map(|e| e.ts.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| "?".into());
        out.push(SessionSummary {
            title: crate::sanitize::for_display(&state.session.incident.title),
            started,
            events: log.events.len(),
            steps: state.steps(),
            concluded: state.conclusion.is_some(),
            warnings: log.warnings.len(),
            path,
        });
    }
    Ok(out)
}
