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

/// The longest line read as an event. Events are small (outputs live in blobs); a
/// longer line is skipped with a warning, read past without being held.
pub const MAX_LINE: usize = 16 << 20;

/// Read a session file, streamed line by line: it must be a regular file (a FIFO or
/// a link to `/dev/zero` is refused, not read for ever), and no line costs more than
/// [`MAX_LINE`] bytes of memory.
pub fn read_session(path: &Path) -> std::io::Result<SessionLog> {
    let mut events = Vec::new();
    let warnings = each_event(path, &mut |event| events.push(event))?;
    Ok(SessionLog { events, warnings })
}

/// [`read_session`] without holding the events: each goes to `visit` as it is read, so
/// a reader that folds them (the headless replay) costs what it keeps, not the file.
/// Returns the warnings.
pub fn each_event(path: &Path, visit: &mut dyn FnMut(Event)) -> std::io::Result<Vec<ReadWarning>> {
    use std::io::BufRead;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not a regular file: not read", path.display()),
        ));
    }
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, file);
    let mut warnings = Vec::new();
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let (mut overlong, mut ended) = (false, false);
        loop {
            let buf = reader.fill_buf()?;
            if buf.is_empty() {
                ended = true;
                break;
            }
            let (take, newline) = match buf.iter().position(|&b| b == b'\n') {
                Some(at) => (at, true),
                None => (buf.len(), false),
            };
            if line.len() + take > MAX_LINE {
                overlong = true;
                line.clear();
            } else if !overlong {
                line.extend_from_slice(&buf[..take]);
            }
            reader.consume(take + usize::from(newline));
            if newline {
                break;
            }
        }
        if ended && line.is_empty() && !overlong {
            break;
        }
        number += 1;
        if overlong {
            warnings.push(ReadWarning {
                line: number,
                message: format!("longer than {MAX_LINE} bytes; line skipped"),
            });
        } else {
            parse_line(&mut warnings, visit, number, &line, ended);
        }
        if ended {
            break;
        }
    }
    Ok(warnings)
}

/// Parse a session file's bytes: one event per line.
pub(crate) fn parse_session(bytes: &[u8]) -> SessionLog {
    let (mut events, mut warnings) = (Vec::new(), Vec::new());
    let ends_with_newline = bytes.last() == Some(&b'\n');
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let count = lines.len();
    for (i, raw) in lines.into_iter().enumerate() {
        let cut_off = i + 1 == count && !ends_with_newline;
        parse_line(&mut warnings, &mut |e| events.push(e), i + 1, raw, cut_off);
    }
    SessionLog { events, warnings }
}

/// One line into `log`: an event, or a warning naming the line. `cut_off`: the last
/// line, with no newline after it.
fn parse_line(
    warnings: &mut Vec<ReadWarning>,
    visit: &mut dyn FnMut(Event),
    number: usize,
    raw: &[u8],
    cut_off: bool,
) {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    let text = match std::str::from_utf8(raw) {
        Ok(text) => text,
        Err(e) => {
            warnings.push(ReadWarning {
                line: number,
                message: format!("not valid UTF-8 ({e}); line skipped"),
            });
            return;
        }
    };
    // serde's message quotes what it did not expect (a variant, a field) verbatim: a
    // forged line must not put escape sequences on the terminal that shows the warning.
    let parsed = serde_json::from_str::<Event>(text)
        .map_err(|e| crate::sanitize::for_display(&e.to_string()));
    match parsed {
        Ok(event) => visit(event),
        Err(e) if cut_off => warnings.push(ReadWarning {
            line: number,
            message: format!(
                "last line is incomplete (the session was cut off mid-write: {e}); replaying up to the event before it"
            ),
        }),
        Err(e) => warnings.push(ReadWarning {
            line: number,
            message: format!("not a hunch event ({e}); line skipped"),
        }),
    }
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
    fn events_stream_to_a_visitor_with_the_same_warnings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        std::fs::write(&path, format!("{GOOD}\nnot json\n{GOOD}\n")).unwrap();
        let mut seen = Vec::new();
        let warnings = each_event(&path, &mut |e| seen.push(e)).unwrap();
        let log = read_session(&path).unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen, log.events);
        assert_eq!(warnings, log.warnings);
        assert_eq!(warnings[0].line, 2);
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
