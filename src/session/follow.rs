//! Following a session file that is still being written, as `tail -f` does: each poll
//! reads what was appended since the last one and returns its complete events; a line
//! still being written waits for its newline.

use super::reader::{ReadWarning, parse_session};
use crate::event::{Event, EventKind};
use std::fs::File;
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
        }
    }

    /// Whether the session's end has been read: nothing more will be written.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// The complete events appended since the last poll.
    pub fn poll(&mut self) -> io::Result<Appended> {
        let mut file = File::open(&self.path)?;
        let length = file.metadata()?.len();
        if length < self.offset {
            return Err(io::Error::other(format!(
                "{} shrank from {} to {length} bytes while being followed",
                self.path.display(),
                self.offset
            )));
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut fresh = Vec::new();
        file.take(length - self.offset).read_to_end(&mut fresh)?;
        self.offset += fresh.len() as u64;
        self.partial.extend_from_slice(&fresh);
        let Some(last_newline) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Ok(Appended::default());
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
}
