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
    /// `offline`, `openai:gpt-5.1`, …
    pub brain: String,
    pub state: SessionState,
    /// The conclusion's root cause, when there is one.
    pub root_cause: Option<String>,
    /// For a fork: the parent session's file and the call it was forked after.
    pub parent: Option<(String, String)>,
}

/// Where a recorded session stands.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionState {
    /// It ended (concluded, the engineer quit, a budget, …): the reason.
    Ended(String),
    /// No end recorded and a process holds the file's writer lock (or, when that can't
    /// be told, it was written to within the last minutes).
    Running,
    /// No end recorded and nobody writes it: the process died or was killed.
    Interrupted,
}

impl SessionState {
    pub fn label(&self) -> String {
        match self {
            SessionState::Ended(reason) => reason.clone(),
            SessionState::Running => "running".into(),
            SessionState::Interrupted => "interrupted".into(),
        }
    }
}

/// A session without an end whose lock can't be probed, written to this recently, is
/// taken to be running.
const RUNNING_WITHIN: std::time::Duration = std::time::Duration::from_secs(120);

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
        // A file that is not a session (a FIFO, a link to a device) is not listed.
        let Ok(log) = read_session(&path) else {
            continue;
        };
        let state = State::from_events(&log.events);
        let started = log
            .events
            .iter()
            .find(|e| matches!(e.kind, EventKind::SessionStarted { .. }))
            .map(|e| e.ts.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| "?".into());
        let recently_written = || {
            std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age < RUNNING_WITHIN)
        };
        let session_state = match &state.ended {
            Some(reason) => SessionState::Ended(crate::sanitize::for_display(reason)),
            None if super::is_written(&path).unwrap_or_else(recently_written) => {
                SessionState::Running
            }
            None => SessionState::Interrupted,
        };
        let forked = log.events.iter().rev().find_map(|e| match &e.kind {
            EventKind::SessionForked {
                parent, at, brain, ..
            } => Some((parent.clone(), at.clone(), brain.clone())),
            _ => None,
        });
        let brain = forked
            .as_ref()
            .map_or(&state.session.brain, |(_, _, brain)| brain);
        out.push(SessionSummary {
            title: crate::sanitize::for_display(&state.session.incident.title),
            started,
            events: log.events.len(),
            steps: state.steps(),
            concluded: state.conclusion.is_some(),
            warnings: log.warnings.len(),
            brain: crate::sanitize::for_display(brain),
            state: session_state,
            root_cause: state
                .conclusion
                .as_ref()
                .map(|c| crate::sanitize::for_display(&c.root_cause)),
            parent: forked.map(|(parent, at, _)| {
                (
                    crate::sanitize::for_display(&parent),
                    crate::sanitize::for_display(&at),
                )
            }),
            path,
        });
    }
    Ok(out)
}

/// Why a session id named no one session.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    #[error("no session {0} under {1} (`hunch sessions` lists them)")]
    NotFound(String, PathBuf),
    #[error("{query} names {} sessions: {}; give more of the id", .matches.len(), ids(.matches))]
    Ambiguous {
        query: String,
        matches: Vec<PathBuf>,
    },
    #[error("reading {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

fn ids(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .filter_map(|p| p.file_stem()?.to_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl SessionSummary {
    /// The session file whose id (its file name without `.jsonl`, as `hunch sessions`
    /// lists it) is `query`, or starts with it when only one does. Only names are
    /// compared: no session is read.
    pub fn find_file(sessions_dir: &Path, query: &str) -> Result<PathBuf, FindError> {
        find_session(sessions_dir, query)
    }
}

fn find_session(sessions_dir: &Path, query: &str) -> Result<PathBuf, FindError> {
    let query = query.trim().trim_end_matches(".jsonl");
    let io = |e| FindError::Io(sessions_dir.to_path_buf(), e);
    let mut matches = Vec::new();
    if !query.is_empty() && sessions_dir.is_dir() {
        for day in std::fs::read_dir(sessions_dir).map_err(io)? {
            let day = day.map_err(io)?.path();
            if !day.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&day).map_err(io)? {
                let file = file.map_err(io)?.path();
                let Some(id) = file
                    .extension()
                    .is_some_and(|e| e == "jsonl")
                    .then(|| file.file_stem().and_then(|s| s.to_str()))
                    .flatten()
                else {
                    continue;
                };
                if id == query {
                    return Ok(file);
                }
                if id.starts_with(query) {
                    matches.push(file);
                }
            }
        }
    }
    matches.sort();
    match matches.len() {
        0 => Err(FindError::NotFound(
            query.to_string(),
            sessions_dir.to_path_buf(),
        )),
        1 => Ok(matches.remove(0)),
        _ => Err(FindError::Ambiguous {
            query: query.to_string(),
            matches,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STARTED: &str = r#"{"seq":0,"ts":"2026-01-01T00:00:00Z","type":"session_started","incident":{"title":"t","alert":"a","environment":"e","simulated":true},"budget":{},"brain":"offline","policy":"ask"}"#;
    const ENDED: &str =
        r#"{"seq":1,"ts":"2026-01-01T00:01:00Z","type":"session_ended","reason":"brain idle"}"#;

    #[test]
    fn a_session_is_running_interrupted_or_ended() {
        let dir = tempfile::tempdir().unwrap();
        let day = dir.path().join("2026-01-01");
        std::fs::create_dir_all(&day).unwrap();
        let write = |name: &str, text: String, age: u64| {
            let path = day.join(name);
            std::fs::write(&path, text).unwrap();
            let when = std::time::SystemTime::now() - std::time::Duration::from_secs(age);
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(when)
                .unwrap();
        };
        write("a.jsonl", format!("{STARTED}\n"), 3600);
        write("b.jsonl", format!("{STARTED}\n"), 0);
        write("c.jsonl", format!("{STARTED}\n{ENDED}\n"), 3600);
        write("d.jsonl", format!("{STARTED}\n"), 0);
        // b is being written; d was written a moment ago by a process that was killed.
        let _writer = super::super::SessionLock::acquire(&day.join("b.jsonl"), "alice").unwrap();
        let listed = list_sessions(dir.path()).unwrap();
        let state = |file: &str| {
            listed
                .iter()
                .find(|s| s.path.ends_with(file))
                .map(|s| s.state.clone())
                .unwrap()
        };
        assert_eq!(state("a.jsonl"), SessionState::Interrupted);
        assert_eq!(state("b.jsonl"), SessionState::Running);
        assert_eq!(state("d.jsonl"), SessionState::Interrupted);
        assert_eq!(state("c.jsonl"), SessionState::Ended("brain idle".into()));
        assert!(listed.iter().all(|s| s.brain == "offline"));
    }
}
