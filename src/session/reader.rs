//! Reading a session file back, tolerating the damage a crash or a hand edit leaves.
//!
//! A truncated last line (the process was killed mid-write) or a corrupt line becomes a
//! [`ReadWarning`] naming the line; every complete event before and after it is kept.

use crate::event::Event;
use std::fmt;
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct ReadWarning {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ReadWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[derive(Debug, Clone, Default)]
pub struct SessionLog {
    pub events: Vec<Event>,
    pub warnings: Vec<ReadWarning>,
}

pub fn read_session(path: &Path) -> std::io::Result<SessionLog> {
    let bytes = std::fs::read(path)?;
    Ok(parse_session(&bytes))
}

pub fn parse_session(bytes: &[u8]) -> SessionLog {
    let mut log = SessionLog::default();
    let ends_with_newline = bytes.last() == Some(&b'\n');
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let count = lines.len();
    for (i, raw) in lines.into_iter().enumerate() {
        let number = i + 1;
        let is_last = i + 1 == count;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let text = match std::str::from_utf8(raw) {
            Ok(text) => text,
            Err(e) => {
                log.warnings.push(ReadWarning {
                    line: number,
                    message: format!("not valid UTF-8 ({e}); line skipped"),
                });
                continue;
            }
        };
        match serde_json::from_str::<Event>(text) {
            Ok(event) => log.events.push(event),
            Err(e) if is_last && !ends_with_newline => log.warnings.push(ReadWarning {
                line: number,
                message: format!(
                    "last line is incomplete (the session was cut off mid-write: {e}); replaying up to the event before it"
                ),
            }),
            Err(e) => log.warnings.push(ReadWarning {
                line: number,
                message: format!("not a hunch event ({e}); line skipped"),
            }),
        }
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"seq":0,"ts":"2026-11-24T02:10:00Z","type":"notice","text":"hi"}"#;

    #[test]
    fn truncated_last_line_is_a_warning_not_an_error() {
        let text = format!("{GOOD}\n{GOOD}\n{{\"seq\":2,\"ts\":\"2026-11-");
        let log = parse_session(text.as_bytes());
        assert_eq!(log.events.len(), 2);
        assert_eq!(log.warnings.len(), 1);
        assert!(log.warnings[0].message.contains("incomplete"));
        assert_eq!(log.warnings[0].line, 3);
    }

    #[test]
    fn corrupt_middle_line_is_skipped_and_named() {
        let text = format!("{GOOD}\nnot json\n{GOOD}\n");
        let log = parse_session(text.as_bytes());
        assert_eq!(log.events.len(), 2);
        assert_eq!(log.warnings[0].line, 2);
        assert!(log.warnings[0].message.contains("not a hunch event"));
    }

    #[test]
    fn invalid_utf8_is_named() {
        let mut bytes = GOOD.as_bytes().to_vec();
        bytes.extend_from_slice(b"\n\xff\xfe\n");
        let log = parse_session(&bytes);
        assert_eq!(log.events.len(), 1);
        assert!(log.warnings[0].message.contains("UTF-8"));
    }
}
