//! A bundle's logs, read as a stream: `logs.log` is never held in memory.
//!
//! Loading a bundle reads the file once, line by line, to check it and to build a
//! [`LogIndex`] (how many records, bytes, each service's count and time span, whether
//! the file is in time order); every later use streams the file again through
//! [`LogSource::each`] and folds what it needs as the records pass. So a bundle's logs
//! cost memory by what the digest keeps (templates, counts), never by their size.
//!
//! One record is a line that starts with a time, plus the lines after it that do not (a
//! stack trace, a wrapped message). A line longer than [`MAX_LINE`] bytes and a record
//! longer than [`MAX_RECORD`] bytes are cut there (the cut is said in the message), so
//! one broken line cannot cost more than that either.
//!
//! The order of records is the file's: a consumer that wants time order keys records by
//! `(time, position)` — the order a stable sort by time gives — rather than sorting.

use super::{BundleError, LogLine, canonical_level, parse_error, parse_time};
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The longest line kept whole; the rest of a longer line is read past, not held.
pub const MAX_LINE: usize = 1 << 20;
/// The longest record (a line and its continuation lines) kept whole.
pub(crate) const MAX_RECORD: usize = 1 << 20;

/// What one pass over a log file saw: enough to answer "how much, from when to when, for
/// whom" without reading it again.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogIndex {
    pub records: u64,
    pub bytes: u64,
    /// Records per service, with the first and last time (unix seconds) each wrote.
    pub services: BTreeMap<String, ServiceSpan>,
    /// Whether every record's time is at or after the one before it.
    pub in_time_order: bool,
    /// Lines or records cut at [`MAX_LINE`] / [`MAX_RECORD`].
    pub cut: u64,
}

/// A service's records in a log file.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ServiceSpan {
    pub records: u64,
    pub first: i64,
    pub last: i64,
}

impl LogIndex {
    /// The first and last time of `service`'s records (of every service's when `None`).
    pub fn span(&self, service: Option<&str>) -> Option<(i64, i64)> {
        self.services
            .iter()
            .filter(|(name, _)| service.is_none_or(|s| s == name.as_str()))
            .map(|(_, s)| (s.first, s.last))
            .reduce(|(a, b), (c, d)| (a.min(c), b.max(d)))
    }

    fn add(&mut self, line: &LogLine) {
        let t = line.ts.timestamp();
        let span = self
            .services
            .entry(line.service.clone())
            .or_insert(ServiceSpan {
                records: 0,
                first: t,
                last: t,
            });
        span.records += 1;
        span.first = span.first.min(t);
        span.last = span.last.max(t);
    }
}

/// How far a pass over one of a bundle's files has got, for a progress line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// The file, as the bundle names it (`logs.log`, `metrics.csv`).
    pub file: &'static str,
    pub bytes: u64,
    pub total: u64,
    /// What was read so far, in [`Progress::unit`]s.
    pub records: u64,
    /// What a record of this file is called (`records`, `rows`).
    pub unit: &'static str,
}

impl Progress {
    /// Whether the pass is over.
    pub fn done(&self) -> bool {
        self.bytes >= self.total
    }

    /// The pass as it goes: `reading logs.log: 72 of 256 MB (28%), 615178 records`.
    pub fn reading(&self) -> String {
        let pct = self.bytes * 100 / self.total.max(1);
        format!(
            "reading {}: {} of {} MB ({pct}%), {} {}",
            self.file,
            self.bytes >> 20,
            self.total >> 20,
            self.records,
            self.unit
        )
    }
}

/// Files smaller than this load without a word: the pass takes well under a second.
pub(crate) const REPORT_FROM_BYTES: u64 = 32 << 20;

/// A progress reporter for a command line: on a terminal, a line on standard error
/// updated in place while a file of [`REPORT_FROM_BYTES`] or more is read; on any
/// standard error, one line when it is done (`read logs.log: 245 MB, 1937000 records
/// in 2.4 s`), so a headless run says where its first seconds went.
pub fn stderr_progress() -> impl FnMut(Progress) {
    use std::io::{IsTerminal, Write};
    let mut started = std::time::Instant::now();
    let mut reported: Option<&'static str> = None;
    let terminal = std::io::stderr().is_terminal();
    move |p: Progress| {
        if p.total < REPORT_FROM_BYTES || reported == Some(p.file) {
            return;
        }
        let mut err = std::io::stderr().lock();
        if !p.done() {
            if terminal {
                let _ = write!(err, "\r{}", p.reading());
                let _ = err.flush();
            }
            return;
        }
        let _ = writeln!(
            err,
            "{}read {}: {} MB, {} {} in {:.1} s",
            if terminal { "\r\x1b[K" } else { "" },
            p.file,
            p.total >> 20,
            p.records,
            p.unit,
            started.elapsed().as_secs_f64()
        );
        // The next file's pass is timed from here.
        (started, reported) = (std::time::Instant::now(), Some(p.file));
    }
}

/// A bundle's log file and what the loading pass learnt of it.
#[derive(Debug, Clone)]
pub struct LogFile {
    pub path: PathBuf,
    pub index: Arc<LogIndex>,
    /// Whether records are cleaned for display as they are read (see
    /// [`super::Bundle::sanitized`]).
    pub sanitize: bool,
}

impl LogFile {
    /// Read `path` once: check every record and index it. `progress` is told how far the
    /// pass has got, about every 8 MB.
    pub fn open(path: &Path, progress: &mut dyn FnMut(Progress)) -> Result<LogFile, BundleError> {
        let mut index = LogIndex {
            in_time_order: true,
            ..LogIndex::default()
        };
        let mut last_time = i64::MIN;
        let total = std::fs::metadata(path)
            .map(|m| m.len())
            .map_err(|error| io_error(path, error))?;
        let mut next_report = 0;
        let bytes = read_records(open(path)?, false, &mut |line, read| {
            index.records += 1;
            let t = line.ts.timestamp();
            index.in_time_order &= t >= last_time;
            last_time = last_time.max(t);
            index.add(line);
            if read >= next_report {
                next_report = read + (8 << 20);
                progress(Progress {
                    file: "logs.log",
                    bytes: read,
                    total,
                    records: index.records,
                    unit: "records",
                });
            }
        })
        .map_err(|e| e.at(path))?;
        index.bytes = bytes.bytes;
        index.cut = bytes.cut;
        progress(Progress {
            file: "logs.log",
            bytes: bytes.bytes.max(total),
            total,
            records: index.records,
            unit: "records",
        });
        Ok(LogFile {
            path: path.to_path_buf(),
            index: Arc::new(index),
            sanitize: false,
        })
    }

    /// Every record, in file order.
    pub fn each(&self, visit: &mut dyn FnMut(&LogLine)) -> Result<(), BundleError> {
        read_records(open(&self.path)?, self.sanitize, &mut |line, _| visit(line))
            .map(|_| ())
            .map_err(|e| e.at(&self.path))
    }
}

fn open(path: &Path) -> Result<std::io::BufReader<std::fs::File>, BundleError> {
    let file = std::fs::File::open(path).map_err(|error| io_error(path, error))?;
    Ok(std::io::BufReader::with_capacity(256 << 10, file))
}

fn io_error(path: &Path, error: std::io::Error) -> BundleError {
    BundleError::Io {
        file: path.to_path_buf(),
        error,
    }
}

/// Where a bundle's log records come from: lines held in memory (the embedded demo, a
/// bundle built in a test) or a file streamed on each use.
#[derive(Debug, Clone)]
pub enum LogSource {
    Lines(Arc<Vec<LogLine>>),
    File(LogFile),
}

impl LogSource {
    /// Every record, in the source's order (time order for held lines).
    pub fn each(&self, visit: &mut dyn FnMut(&LogLine)) -> Result<(), BundleError> {
        match self {
            LogSource::Lines(lines) => {
                lines.iter().for_each(visit);
                Ok(())
            }
            LogSource::File(file) => file.each(visit),
        }
    }

    /// The first and last time of `service`'s records (every service's when `None`).
    pub fn span(&self, service: Option<&str>) -> Option<(i64, i64)> {
        match self {
            LogSource::Lines(lines) => lines
                .iter()
                .filter(|l| service.is_none_or(|s| s == l.service))
                .map(|l| l.ts.timestamp())
                .fold(None, |span, t| match span {
                    None => Some((t, t)),
                    Some((a, b)) => Some((t.min(a), t.max(b))),
                }),
            LogSource::File(file) => file.index.span(service),
        }
    }

    /// How many records `service` has (every service when `None`).
    pub fn count(&self, service: Option<&str>) -> u64 {
        match self {
            LogSource::Lines(lines) => lines
                .iter()
                .filter(|l| service.is_none_or(|s| s == l.service))
                .count() as u64,
            LogSource::File(file) => file
                .index
                .services
                .iter()
                .filter(|(name, _)| service.is_none_or(|s| s == name.as_str()))
                .map(|(_, span)| span.records)
                .sum(),
        }
    }

    /// `service`'s last `n` records in time order (ties in source order).
    pub fn tail(&self, service: &str, n: usize) -> Result<Vec<LogLine>, BundleError> {
        // The n records with the largest (time, position), in a map kept at n.
        let mut kept: BTreeMap<(chrono::DateTime<chrono::Utc>, u64), LogLine> = BTreeMap::new();
        let mut position = 0u64;
        self.each(&mut |line| {
            position += 1;
            if line.service != service || n == 0 {
                return;
            }
            let key = (line.ts, position);
            if kept.len() < n || kept.first_key_value().is_some_and(|(k, _)| *k < key) {
                kept.insert(key, line.clone());
                if kept.len() > n {
                    kept.pop_first();
                }
            }
        })?;
        Ok(kept.into_values().collect())
    }
}

/// A pass's totals: bytes read and lines or records cut.
struct Read {
    bytes: u64,
    cut: u64,
}

/// A parse error before the file name is known.
struct LineError {
    line: usize,
    message: String,
    io: Option<std::io::Error>,
}

impl LineError {
    fn at(self, path: &Path) -> BundleError {
        match self.io {
            Some(error) => io_error(path, error),
            None => parse_error("logs.log", self.line, self.message),
        }
    }
}

/// Parse log text held in memory (the embedded demo, a test's lines).
pub(super) fn parse_text(text: &str) -> Result<Vec<LogLine>, BundleError> {
    let mut out = Vec::new();
    read_records(text.as_bytes(), false, &mut |line, _| {
        out.push(line.clone())
    })
    .map_err(|e| e.at(Path::new("logs.log")))?;
    Ok(out)
}

/// One bounded line: at most [`MAX_LINE`] bytes of it are kept in `line`; returns the
/// bytes consumed (0 at the end) and whether it was cut.
fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<(usize, bool)> {
    line.clear();
    let (mut consumed, mut cut) = (0, false);
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok((consumed, cut));
        }
        let (take, newline) = match memchr(buf) {
            Some(at) => (at, true),
            None => (buf.len(), false),
        };
        let room = MAX_LINE.saturating_sub(line.len());
        line.extend_from_slice(&buf[..take.min(room)]);
        cut |= take > room;
        let used = take + usize::from(newline);
        reader.consume(used);
        consumed += used;
        if newline {
            return Ok((consumed, cut));
        }
    }
}

fn memchr(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n')
}

/// Stream records from `reader` to `visit` (with the bytes read so far): continuation
/// lines joined to their record, levels in one spelling (a `DETAIL` line takes the level
/// of its service's line before it), each text cleaned for display when `sanitize`.
fn read_records(
    mut reader: impl BufRead,
    sanitize: bool,
    visit: &mut dyn FnMut(&LogLine, u64),
) -> Result<Read, LineError> {
    let mut raw = Vec::new();
    let mut pending: Option<LogLine> = None;
    let mut levels: HashMap<String, String> = HashMap::new();
    let (mut bytes, mut cut, mut number) = (0u64, 0u64, 0usize);
    let emit = |line: &mut LogLine, visit: &mut dyn FnMut(&LogLine, u64), bytes: u64| {
        if sanitize {
            clean(line);
        }
        visit(line, bytes);
    };
    loop {
        let (consumed, line_cut) = read_line(&mut reader, &mut raw).map_err(|e| LineError {
            line: number + 1,
            message: String::new(),
            io: Some(e),
        })?;
        if consumed == 0 {
            break;
        }
        number += 1;
        bytes += consumed as u64;
        let mut text = match std::str::from_utf8(&raw) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(&raw),
        };
        let trimmed = text.trim_end_matches(['\r', '\n']).len();
        if trimmed < text.len() {
            text.to_mut().truncate(trimmed);
        }
        if line_cut {
            cut += 1;
            text.to_mut().push_str(" … [line cut at 1 MiB]");
        }
        if text.trim().is_empty() {
            continue;
        }
        let ts = text.split(' ').next().and_then(parse_time);
        if ts.is_none()
            && let Some(last) = pending.as_mut()
        {
            if last.message.len() + text.len() < MAX_RECORD {
                last.message.push('\n');
                last.message.push_str(&text);
            } else if !last.message.ends_with(RECORD_CUT) {
                cut += 1;
                last.message.push_str(RECORD_CUT);
            }
            continue;
        }
        let record = parse_record(&text, ts, number, &levels)?;
        if let Some(mut done) = pending.replace(record) {
            emit(&mut done, visit, bytes - consumed as u64);
        }
        let current = pending.as_ref().expect("just set");
        match levels.get_mut(&current.service) {
            Some(level) => level.clone_from(&current.level),
            None => {
                levels.insert(current.service.clone(), current.level.clone());
            }
        }
    }
    if let Some(mut done) = pending {
        emit(&mut done, visit, bytes);
    }
    Ok(Read { bytes, cut })
}

const RECORD_CUT: &str = "\n… [record cut at 1 MiB]";

fn parse_record(
    text: &str,
    time: Option<chrono::DateTime<chrono::Utc>>,
    number: usize,
    levels: &HashMap<String, String>,
) -> Result<LogLine, LineError> {
    let error = |message: String| LineError {
        line: number,
        message,
        io: None,
    };
    let mut parts = text.splitn(4, ' ');
    let (Some(ts), Some(level), Some(service), Some(message)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(error(
            "expected `<time> <LEVEL> <service> <message>`".into(),
        ));
    };
    let ts = time.ok_or_else(|| error(format!("`{ts}` is not an RFC 3339 time")))?;
    let previous = levels.get(service).map(String::as_str);
    Ok(LogLine {
        ts,
        level: canonical_level(level, previous),
        service: service.to_string(),
        message: message.to_string(),
    })
}

fn clean(line: &mut LogLine) {
    use crate::sanitize::{for_display, is_clean};
    for text in [&mut line.level, &mut line.service, &mut line.message] {
        if !is_clean(text) {
            *text = for_display(text);
        }
    }
    line.service = service_name(&line.service);
}

/// The longest service name a log line may give: a pod name with its hashes is about 60.
const SERVICE_NAME_CHARS: usize = 128;

/// A service name as the digests tally and print it: without invisible characters (a
/// zero-width space would make a second service that prints like the first), at most
/// [`SERVICE_NAME_CHARS`], and `(unnamed)` when nothing visible is left.
fn service_name(name: &str) -> String {
    let invisible = |c: char| matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{00ad}');
    if !name.chars().any(invisible) && name.len() <= SERVICE_NAME_CHARS && !name.is_empty() {
        return name.to_string();
    }
    let visible: String = name
        .chars()
        .filter(|c| !invisible(*c))
        .take(SERVICE_NAME_CHARS)
        .collect();
    if visible.trim().is_empty() {
        "(unnamed)".to_string()
    } else {
        visible
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_name_is_visible_bounded_and_never_empty() {
        assert_eq!(service_name("\u{200b}ts-food-service"), "ts-food-service");
        assert_eq!(service_name(""), "(unnamed)");
        assert_eq!(service_name("\u{feff}"), "(unnamed)");
        assert_eq!(service_name(&"x".repeat(500_000)).len(), SERVICE_NAME_CHARS);
        assert_eq!(service_name("ts-food-service"), "ts-food-service");
    }

    fn lines_of(text: &str) -> Vec<LogLine> {
        parse_text(text).unwrap()
    }

    #[test]
    fn a_file_streams_the_same_records_as_the_text_and_is_indexed() {
        let text = "2026-01-01T00:00:02Z INFO api b\n\tat x.Y(Z.java:1)\n2026-01-01T00:00:01Z ERROR db lock\n2026-01-01T00:00:03Z DETAIL db waits\n\n2026-01-01T00:00:04Z WARN api c";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs.log");
        std::fs::write(&path, text).unwrap();
        let mut seen = Vec::new();
        let file = LogFile::open(&path, &mut |p| seen.push(p)).unwrap();
        let mut streamed = Vec::new();
        file.each(&mut |l| streamed.push(l.clone())).unwrap();
        let held = lines_of(text);
        assert_eq!(streamed.len(), 4);
        for (a, b) in streamed.iter().zip(&held) {
            assert_eq!(
                (a.ts, &a.level, &a.service, &a.message),
                (b.ts, &b.level, &b.service, &b.message)
            );
        }
        assert_eq!(streamed[0].message, "b\n\tat x.Y(Z.java:1)");
        assert_eq!(
            streamed[2].level, "ERROR",
            "DETAIL takes its service's level"
        );
        let index = &file.index;
        assert_eq!((index.records, index.bytes), (4, text.len() as u64));
        assert!(!index.in_time_order);
        assert_eq!(index.services["api"].records, 2);
        assert_eq!(index.span(Some("api")), Some((1767225602, 1767225604)));
        assert_eq!(index.span(None), Some((1767225601, 1767225604)));
        assert_eq!(seen.last().map(|p| p.bytes), Some(text.len() as u64));
    }

    #[test]
    fn a_huge_line_is_cut_not_held() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs.log");
        let mut text = String::from("2026-01-01T00:00:00Z INFO api ");
        text.push_str(&"x".repeat(3 * MAX_LINE));
        text.push_str("\n2026-01-01T00:00:01Z INFO api after\n");
        std::fs::write(&path, &text).unwrap();
        let file = LogFile::open(&path, &mut |_| {}).unwrap();
        let mut lengths = Vec::new();
        file.each(&mut |l| lengths.push(l.message.len())).unwrap();
        assert_eq!(lengths.len(), 2);
        assert!(lengths[0] <= MAX_LINE, "{}", lengths[0]);
        assert_eq!(file.index.cut, 1);
    }

    #[test]
    fn the_tail_of_a_service_is_its_latest_records_in_time_order() {
        let text = "2026-01-01T00:00:03Z INFO api c\n2026-01-01T00:00:01Z INFO api a\n2026-01-01T00:00:09Z INFO db z\n2026-01-01T00:00:02Z INFO api b\n";
        let source = LogSource::Lines(Arc::new(lines_of(text)));
        let tail: Vec<String> = source
            .tail("api", 2)
            .unwrap()
            .into_iter()
            .map(|l| l.message)
            .collect();
        assert_eq!(tail, ["b", "c"]);
    }

    #[test]
    fn a_bad_line_names_its_number() {
        let err = parse_text("2026-01-01T00:00:00Z INFO api ok\nnot a time here at all\n");
        assert!(err.is_ok(), "a line without a time continues the record");
        let err = parse_text("yesterday INFO api x\n")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "logs.log:1: `yesterday` is not an RFC 3339 time");
        assert!(parse_text("\tat orphan.Frame(X.java:1)\n").is_err());
    }
}
