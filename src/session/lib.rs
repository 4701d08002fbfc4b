//! Sessions on disk: the JSONL event log, the content-addressed blob store beside it, and
//! listing what has been recorded.
//!
//! Layout under the data dir: `sessions/YYYY-MM-DD/<id>.jsonl` (one event per line,
//! flushed per event, so `tail -f` works and a SIGKILL loses at most the line being
//! written) and `blobs/<hh>/<sha256>` for large tool outputs. The process writing a
//! session holds a lock on its file ([`SessionLock`]): one writer per session. The log
//! never holds a secret: credentials travel in engine commands, never in events.

// The crates this one stands on, under the names its modules use (`crate::event`, …).
use hunch_protocol::{event, sanitize};

mod blobs;
mod follow;
mod listing;
mod lock;
mod reader;
mod recorder;

pub use blobs::{BlobError, BlobStore};
pub use follow::{Appended, Follower};
pub use listing::{SessionState, SessionSummary, list_sessions};
pub use lock::{LockError, SessionLock, is_written};
pub use reader::{MAX_LINE, ReadWarning, SessionLog, each_event, read_session};
pub use recorder::{Recorder, RecordingHealth};

use std::path::{Path, PathBuf};

/// The blob store that belongs to a session file: `<data>/blobs` for a file at
/// `<data>/sessions/<day>/<id>.jsonl`, else a `blobs` folder beside the file.
pub fn blob_store_for(session_file: &Path) -> BlobStore {
    let beside = session_file
        .parent()
        .map(|p| p.join("blobs"))
        .unwrap_or_else(|| PathBuf::from("blobs"));
    let data_dir = session_file
        .parent()
        .and_then(Path::parent)
        .filter(|p| p.file_name().is_some_and(|n| n == "sessions"))
        .and_then(Path::parent);
    match data_dir {
        Some(dir) => BlobStore::new(dir.join("blobs")),
        None => BlobStore::new(beside),
    }
}

/// A new session id: UTC time plus a short random suffix, sortable by start time.
pub fn new_session_id(now: chrono::DateTime<chrono::Utc>) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_i64(now.timestamp_nanos_opt().unwrap_or_default());
    format!(
        "{}-{:04x}",
        now.format("%Y%m%dT%H%M%S"),
        hasher.finish() & 0xffff
    )
}
