//! The recorder: appends each event to the session's JSONL file and flushes it at once,
//! and says so through [`RecordingHealth`] when it no longer can.

use crate::event::Event;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Whether the session file is still being written: the recorder marks it failed (disk
/// full, file gone), and the engine reads it before anything but a read-only call runs.
#[derive(Debug, Clone, Default)]
pub struct RecordingHealth(Arc<Mutex<Option<String>>>);

impl RecordingHealth {
    /// The session can no longer be recorded, because of `error`.
    pub fn fail(&self, error: String) {
        let mut failure = self.0.lock().unwrap_or_else(|e| e.into_inner());
        failure.get_or_insert(error);
    }

    /// Why the session can't be recorded, if it can't.
    pub fn failure(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

pub struct Recorder {
    file: File,
    path: PathBuf,
}

impl Recorder {
    pub fn create(path: &Path) -> io::Result<Recorder> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Never appended through a link planted at the session's name.
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)?;
        Ok(Recorder {
            file,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One line per event, written with a single `write_all` so a crash leaves at most
    /// one partial line at the end.
    pub fn record(&mut self, event: &Event) -> io::Result<()> {
        let mut line = serde_json::to_string(event).map_err(io::Error::other)?;
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_an_error_not_a_silent_loss() {
        let full = Path::new("/dev/full");
        if !full.exists() {
            return;
        }
        let mut recorder = Recorder::create(full).unwrap();
        let event = Event {
            seq: 0,
            ts: chrono::Utc::now(),
            kind: crate::event::EventKind::Notice { text: "x".into() },
        };
        let error = recorder.record(&event).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(28), "ENOSPC: {error}");
    }
}
