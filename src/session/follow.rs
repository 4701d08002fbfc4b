//! Following a session file that is still being written, as `tail -f` does: each poll
//! reads what was appended since the last one and returns its complete events; a line
//! still being written waits for its newline.

use super::reader::{MAX_LINE, ReadWarning, parse_session};
use crate::event::{Event, EventKind};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

pub struct Follower {
    path: PathBuf,
    offset: u64,
    /// Bytes of a line whose newline has not been written yet.
    partial: Vec<u8>,
    /// Lines read so far, so warnings name the line in the file.
    lines: usize,
    ended: bool,
    /// Inside a line longer than [`MAX_LINE`]: dropped up to its newline.
    skipping: bool,
}

/// What one poll found.
#[derive(Debug, Default)]
pub struct Appended {
    pub events: Vec<Event>,
    pub warnings: Vec<ReadWarning>,
}

impl Follower {
    pub fn new(path: &Path) -> Follower {
        Follower {
            path: path.to_path_buf(),
            offset: 0,
            partial: Vec::new(),
            lines: 0,
            ended: false,
            skipping: false,
        }
    }

    /// Whether the session's end has been read: nothing more will be written.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// The complete events appended since the last poll.
    pub fn poll(&mut self) -> io::Result<Appended> {
        use std::os::unix::fs::OpenOptionsExt;
        // Not blocking on a FIFO, and only a regular file is followed.
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&self.path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is not a regular file: not followed",
                    self.path.display()
                ),
            ));
        }
        let length = meta.len();
        if length < self.offset {
            return Err(io::Error::other(format!(
                "{} shrank from {} to {length} bytes while being followed",
                self.path.display(),
                self.offset
            )));
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut fresh = Vec::new();
        // At most a line's worth per poll: a huge append is read over several polls.
        let chunk = (length - self.offset).min(MAX_LINE as u64 + 1);
        file.take(chunk).read_to_end(&mut fresh)?;
        self.offset += fresh.len() as u64;
        if self.skipping {
            match fresh.iter().position(|&b| b == b'\n') {
                Some(at) => {
                    fresh.drain(..=at);
                    self.skipping = false;
                    self.lines += 1;
                }
                None => fresh.clear(),
            }
        }
        self.partial.extend_from_slice(&fresh);
        let Some(last_newline) = self.partial.iter().rposition(|&b| b == b'\n') else {
            let mut appended = Appended::default();
            if self.partial.len() > MAX_LINE {
                self.partial.clear();
                self.skipping = true;
                appended.warnings.push(ReadWarning {
                    line: self.lines + 1,
                    message: format!("longer than {MAX_LINE} bytes; line skipped"),
                });
            }
            return Ok(appended);
        };
        let complete: Vec<u8> = self.partial.drain(..=last_newline).collect();
        let log = parse_session(&complete);
        let before = self.lines;
        self.lines += complete.iter().filter(|&&b| b == b'\n').count();
        self.ended |= log
            .events
            .iter()
            .any(|e| matches!(e.kind, EventKind::SessionEnded { .. }));
        Ok(Appended {
            events: log.events,
            warnings: log
                .warnings
                .into_iter()
                .map(|w| ReadWarning {
                    line: before + w.line,
                    ..w
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const EVENT: &str = r#"{"seq":0,"ts":"2026-11-24T02:10:00Z","type":"notice","text":"hi"}"#;

    #[test]
    fn a_line_is_read_once_its_newline_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let mut file = std::fs::File::create(&path).unwrap();
        let mut follower = Follower::new(&path);
        assert!(follower.poll().unwrap().events.is_empty());
        write!(file, "{EVENT}\n{}", &EVENT[..20]).unwrap();
        assert_eq!(follower.poll().unwrap().events.len(), 1);
        write!(file, "{}\nnot json\n", &EVENT[20..]).unwrap();
        let appended = follower.poll().unwrap();
        assert_eq!(appended.events.len(), 1);
        assert_eq!(appended.warnings[0].line, 3, "{:?}", appended.warnings);
        assert!(!follower.ended());
    }

    #[test]
    fn a_fifo_is_refused_and_an_overlong_line_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f.jsonl");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(Follower::new(&fifo).poll().is_err()));
        let refused = rx.recv_timeout(std::time::Duration::from_secs(2));
        assert_eq!(refused, Ok(true), "a FIFO is refused without hanging");

        let path = dir.path().join("s.jsonl");
        let mut file = std::fs::File::create(&path).unwrap();
        let mut follower = Follower::new(&path);
        file.write_all(&vec![b'a'; MAX_LINE + 10]).unwrap();
        assert!(
            follower.poll().unwrap().warnings[0]
                .message
                .contains("longer")
        );
        writeln!(file, "aaa\n{EVENT}").unwrap();
        let appended = follower.poll().unwrap();
        assert_eq!(appended.events.len(), 1, "{:?}", appended.warnings);
        assert!(appended.warnings.is_empty(), "{:?}", appended.warnings);
    }
}
