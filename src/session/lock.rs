//! One writer per session file. The process that records a session holds an exclusive
//! advisory lock (`flock`) on its file for as long as it writes it, so a second
//! `hunch resume` of a running session is refused instead of appending events with the
//! same numbers, and `hunch sessions` can tell a running session from one whose process
//! was killed (the kernel drops the lock with the process: nothing stale survives).
//!
//! The lock is on the session file itself, which is never removed. Who holds it (pid and
//! user) is written beside it in `<id>.lock` only to be named in the refusal; that note
//! is read while the lock is held and never trusted for anything else.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

/// The lock on a session file; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct SessionLock {
    _file: File,
    note: PathBuf,
}

/// Why a session file could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "session {} is being written by {}; join it with `hunch attach {}`",
        file.display(),
        holder_words(pid, user),
        file.display()
    )]
    Held {
        file: PathBuf,
        pid: Option<u32>,
        user: Option<String>,
    },
    #[error("locking the session file {}: {source}", file.display())]
    Io { file: PathBuf, source: io::Error },
}

fn holder_words(pid: &Option<u32>, user: &Option<String>) -> String {
    match (pid, user) {
        (Some(pid), Some(user)) => format!("pid {pid} (user {user})"),
        (Some(pid), None) => format!("pid {pid}"),
        (None, Some(user)) => format!("another hunch (user {user})"),
        (None, None) => "another hunch".into(),
    }
}

/// Where the holder of `session_file`'s lock says who it is.
fn note_path(session_file: &Path) -> PathBuf {
    session_file.with_extension("lock")
}

/// Tries a few times: `hunch sessions` takes the lock for an instant to see whether it
/// is held, and that must not refuse a writer that starts at the same moment.
fn try_lock(file: &File) -> Result<bool, io::Error> {
    for attempt in 0..4 {
        match file.try_lock() {
            Ok(()) => return Ok(true),
            Err(TryLockError::WouldBlock) if attempt < 3 => {
                std::thread::sleep(std::time::Duration::from_millis(30));
            }
            Err(TryLockError::WouldBlock) => return Ok(false),
            Err(TryLockError::Error(e)) => return Err(e),
        }
    }
    Ok(false)
}

impl SessionLock {
    /// Lock `session_file` (which must exist) for this process, as `user`.
    pub fn acquire(session_file: &Path, user: &str) -> Result<SessionLock, LockError> {
        let io = |source| LockError::Io {
            file: session_file.to_path_buf(),
            source,
        };
        let file = open_session(session_file).map_err(io)?;
        if !try_lock(&file).map_err(io)? {
            let note = read_note(&note_path(session_file));
            let mut lines = note.lines();
            let pid = lines.next().and_then(|l| l.trim().parse().ok());
            let user = lines
                .next()
                .map(|u| crate::sanitize::for_display(u.trim()))
                .filter(|u| !u.is_empty());
            return Err(LockError::Held {
                file: session_file.to_path_buf(),
                pid,
                user,
            });
        }
        let note = note_path(session_file);
        let text = format!("{}\n{}\n", std::process::id(), user.replace('\n', " "));
        if let Err(e) = write_note(&note, &text) {
            tracing::debug!(error = %e, note = %note.display(), "no lock note");
        }
        Ok(SessionLock { _file: file, note })
    }
}

/// Open a session file to lock it: without waiting on a FIFO, and only a regular file.
fn open_session(session_file: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(session_file)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// Write the note as a new file of ours: one planted at its name (a link to a file of
/// the user's, in a directory others can write) is removed, or the note is not written.
fn write_note(note: &Path, text: &str) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::remove_file(note) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(note)?
        .write_all(text.as_bytes())
}

/// The note, if it is a small regular file (never a link, a FIFO or a device).
fn read_note(note: &Path) -> String {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let Ok(file) = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(note)
    else {
        return String::new();
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return String::new();
    }
    let mut text = String::new();
    let _ = file.take(4096).read_to_string(&mut text);
    text
}

impl Drop for SessionLock {
    fn drop(&mut self) {
        // The note is ours while the lock is: remove it before the lock goes.
        let _ = std::fs::remove_file(&self.note);
    }
}

/// Whether a process is writing `session_file` now: `Some(true)` while its lock is held,
/// `Some(false)` when it is free (nobody writes it, or its writer was killed), `None`
/// when that can't be told (the file can't be opened).
pub fn is_written(session_file: &Path) -> Option<bool> {
    let file = open_session(session_file).ok()?;
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            Some(false)
        }
        Err(TryLockError::WouldBlock) => Some(true),
        Err(TryLockError::Error(_)) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_with_who_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.jsonl");
        std::fs::write(&file, "{}\n").unwrap();
        assert_eq!(is_written(&file), Some(false));
        let lock = SessionLock::acquire(&file, "alice").unwrap();
        assert_eq!(is_written(&file), Some(true));
        let refused = SessionLock::acquire(&file, "bob").unwrap_err();
        let text = refused.to_string();
        assert!(
            text.contains(&format!("pid {} (user alice)", std::process::id()))
                && text.contains("hunch attach"),
            "{text}"
        );
        drop(lock);
        assert_eq!(is_written(&file), Some(false));
        assert!(!note_path(&file).exists(), "the note goes with the lock");
        let again = SessionLock::acquire(&file, "bob");
        assert!(again.is_ok(), "free again once the writer is gone");
        assert_eq!(is_written(&dir.path().join("none.jsonl")), None);
    }

    #[test]
    fn a_planted_note_is_neither_followed_nor_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.jsonl");
        std::fs::write(&file, "{}\n").unwrap();
        let precious = dir.path().join("bashrc");
        std::fs::write(&precious, "alias ls=ls\n").unwrap();
        std::os::unix::fs::symlink(&precious, note_path(&file)).unwrap();
        let lock = SessionLock::acquire(&file, "alice").unwrap();
        assert_eq!(std::fs::read_to_string(&precious).unwrap(), "alias ls=ls\n");
        drop(lock);
        let made = std::process::Command::new("mkfifo")
            .arg(note_path(&file))
            .status();
        assert!(made.unwrap().success());
        let held = File::open(&file).unwrap();
        held.try_lock().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(SessionLock::acquire(&file, "bob").is_err()));
        let refused = rx.recv_timeout(std::time::Duration::from_secs(3));
        assert_eq!(refused, Ok(true), "refused, without waiting on a FIFO note");
        // Nor on a session file that is a FIFO.
        let fifo = dir.path().join("f.jsonl");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            tx.send((
                SessionLock::acquire(&fifo, "bob").is_err(),
                is_written(&fifo),
            ))
        });
        let answer = rx.recv_timeout(std::time::Duration::from_secs(3));
        assert_eq!(
            answer,
            Ok((true, None)),
            "a FIFO session file is refused at once"
        );
    }
}
