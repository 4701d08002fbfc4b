//! Reading the header of a raw log line (time, host, program and pid, level, logger)
//! so that only the message is folded into a template. A header read wrong poisons
//! every template after it, so the reader only takes what a known shape says is a
//! header and otherwise leaves the line whole.
//!
//! The shapes are the common public formats, written from their documentation:
//!
//! - syslog (RFC 3164 / BSD): `[<pri>]Mon dd hh:mm:ss host prog[pid]: message`, and
//!   the same after an RFC 3339 time (rsyslog's high-precision format);
//! - Android logcat `threadtime`: `MM-DD hh:mm:ss.mmm pid tid L tag: message`;
//! - application logs that start with a time (`2026-11-24 02:10:00,123`,
//!   `2026-11-24T02:10:00.5Z`, `26/11/24 02:10:00`, `261124 021000`, `[Sun Nov 24
//!   02:10:00 2026]`, `[11.24 02:10:00]`, epoch seconds) followed by pids, a level, a
//!   `[thread]`, `-` separators and a `logger:`;
//! - the Blue Gene/L RAS format and its syslog sibling on other supercomputers:
//!   `- 1117838570 2005.06.03 node 2005-06-03-15.42.50.363779 node RAS KERNEL INFO`
//!   and `- 1131566461 2005.11.09 node Nov 9 12:01:01 node/node prog[pid]: message`;
//! - `time|component|pid|message` pipe-separated records.

/// What [`split`] found in a line: the message and, when present, the program or
/// logger that wrote it and the level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The message after the header: the whole line when no header was recognised.
    pub message: &'a str,
    /// The program, tag or logger (`sshd`, `ActivityManager`, `dfs.DataNode`), without
    /// its pid.
    pub tag: Option<&'a str>,
    /// The level as written (`INFO`, `W`, `notice`).
    pub level: Option<&'a str>,
}

/// The header and message of one raw log line. A line with no recognised header is all
/// message.
pub fn split(line: &str) -> Header<'_> {
    let line = line.trim_ascii();
    let whole = Header {
        message: line,
        tag: None,
        level: None,
    };
    let mut cursor = Cursor { line, at: 0 };
    let Some(first) = cursor.peek() else {
        return whole;
    };
    // Most lines' first byte rules every shape out: a message starts with a letter.
    let lead = first.as_bytes()[0];
    // An alert flag in capitals may lead a supercomputer's line (`KERNDTLB 1118…`).
    let flag = || {
        first.bytes().all(|b| b.is_ascii_uppercase())
            && line[first.len()..]
                .trim_ascii_start()
                .starts_with(|c: char| c.is_ascii_digit())
    };
    if !(lead.is_ascii_digit() || matches!(lead, b'[' | b'-' | b'<') || is_month(first) || flag()) {
        return whole;
    }
    read(&mut cursor).unwrap_or(whole)
}

/// A position in a line, moved token by token.
struct Cursor<'a> {
    line: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    /// The next whitespace-separated token, not consumed.
    fn peek(&self) -> Option<&'a str> {
        self.peek_nth(0)
    }

    /// The token `n` after the next one, not consumed.
    fn peek_nth(&self, n: usize) -> Option<&'a str> {
        self.line[self.at..].split_ascii_whitespace().nth(n)
    }

    /// Consume the next token.
    fn next(&mut self) -> Option<&'a str> {
        let rest = &self.line[self.at..];
        let start = rest.len() - rest.trim_ascii_start().len();
        let len = rest.as_bytes()[start..]
            .iter()
            .position(u8::is_ascii_whitespace)
            .unwrap_or(rest.len() - start);
        if len == 0 {
            return None;
        }
        self.at += start + len;
        Some(&rest[start..start + len])
    }

    /// Consume the next `n` tokens.
    fn skip(&mut self, n: usize) {
        for _ in 0..n {
            self.next();
        }
    }

    /// Consume a bracketed group that may hold spaces (`[req-1 abc - - -]`), when the
    /// next token opens one; false (nothing consumed) when it does not close on the line.
    fn bracketed(&mut self) -> bool {
        let rest = &self.line[self.at..];
        let start = rest.len() - rest.trim_ascii_start().len();
        if !rest[start..].starts_with('[') {
            return false;
        }
        let mut depth = 0usize;
        for (i, b) in rest.bytes().enumerate().skip(start) {
            match b {
                b'[' => depth += 1,
                b']' => {
                    depth -= 1;
                    if depth == 0 {
                        let end = i + 1;
                        // A bracket glued to the message (`[x]y`) is not a field.
                        if rest[end..].starts_with(|c: char| !c.is_ascii_whitespace()) {
                            return false;
                        }
                        self.at += end;
                        return true;
                    }
                }
                _ => {}
            }
        }
        false
    }

    /// The rest of the line from here.
    fn rest(&self) -> &'a str {
        self.line[self.at..].trim_ascii_start()
    }
}

/// Read a header at the cursor, trying each shape; `None` when none fits.
fn read<'a>(cursor: &mut Cursor<'a>) -> Option<Header<'a>> {
    let first = cursor.peek()?;
    let second = cursor.peek_nth(1).unwrap_or("");
    // Blue Gene/L and its syslog sibling: a flag (`-` or an alert name), epoch seconds,
    // a dotted date.
    if is_epoch(second) && is_dotted_date(cursor.peek_nth(2).unwrap_or("")) {
        return supercomputer(cursor);
    }
    if let Some(pipe) = pipe_record(cursor.line) {
        return Some(pipe);
    }
    if is_month(first) || first.starts_with('<') {
        return syslog(cursor);
    }
    if is_month_day(first) && is_clock(second) {
        return android(cursor).or_else(|| {
            cursor.at = 0;
            cursor.skip(2);
            application(cursor)
        });
    }
    if time_prefix(cursor) {
        // rsyslog's RFC 3339 form: `time host prog[pid]: message`.
        if let (Some(host), Some(tag)) = (cursor.peek(), cursor.peek_nth(1))
            && !is_level(host)
            && program_tag(tag).is_some_and(|(_, pid)| pid)
        {
            cursor.next();
            return syslog_program(cursor);
        }
        return application(cursor);
    }
    // A source name before the time (`nova-api.log.1 2017-05-16 00:00:00.008 …`).
    if !first.starts_with('[') && is_date(second) {
        cursor.next();
        if time_prefix(cursor) {
            return application(cursor);
        }
    }
    None
}

/// `Mon dd hh:mm:ss host prog[pid]: message`, with an optional `<pri>`, year or
/// fraction of a second.
fn syslog<'a>(cursor: &mut Cursor<'a>) -> Option<Header<'a>> {
    let mut month = cursor.next()?;
    if month.starts_with('<') {
        // `<13>Nov` or `<13> Nov`.
        month = month.rsplit_once('>')?.1;
        if month.is_empty() {
            month = cursor.next()?;
        }
    }
    if !is_month(month) {
        return None;
    }
    let day = cursor.next()?;
    if !(1..=2).contains(&day.len()) || !day.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if cursor.peek().is_some_and(is_year) {
        cursor.next();
    }
    if !is_clock(cursor.next()?) {
        return None;
    }
    if cursor.peek().is_some_and(is_year) {
        cursor.next();
    }
    // The host, unless the program follows the time straight away.
    if cursor.peek().and_then(program_tag).is_none() {
        cursor.next()?;
    }
    syslog_program(cursor)
}

/// After a syslog host: `prog[pid]:`, `prog:` or (no program) the message.
fn syslog_program<'a>(cursor: &mut Cursor<'a>) -> Option<Header<'a>> {
    let tag = match cursor.peek().and_then(program_tag) {
        Some((name, _)) => {
            cursor.next();
            Some(name)
        }
        None => None,
    };
    Some(Header {
        message: cursor.rest(),
        tag,
        level: None,
    })
}

/// A syslog program field: `prog:`, `prog[pid]:`, `prog(sub)[pid]:`; the name and
/// whether it carried a pid.
fn program_tag(token: &str) -> Option<(&str, bool)> {
    let name = token.strip_suffix(':')?;
    let (name, pid) = match name.strip_suffix(']') {
        Some(inner) => {
            let (name, pid) = inner.rsplit_once('[')?;
            (!pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())).then_some((name, true))?
        }
        None => (name, false),
    };
    let valid = !name.is_empty()
        && name.as_bytes()[0].is_ascii_alphabetic()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/()@+".contains(&b));
    valid.then_some((name, pid))
}

/// Android's `threadtime`: `MM-DD hh:mm:ss.mmm pid tid L tag: message`.
fn android<'a>(cursor: &mut Cursor<'a>) -> Option<Header<'a>> {
    cursor.skip(2);
    let (pid, tid, level) = (cursor.next()?, cursor.next()?, cursor.next()?);
    let numeric = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let is_priority = level.len() == 1 && b"VDIWEFA".contains(&level.as_bytes()[0]);
    if !(numeric(pid) && numeric(tid) && is_priority) {
        return None;
    }
    // The tag runs to the first `: ` (a tag may hold spaces).
    let rest = cursor.rest();
    let (tag, message) = match rest.find(": ") {
        Some(i) if i <= 64 => (Some(rest[..i].trim_ascii()), &rest[i + 2..]),
        _ => match rest.strip_suffix(':') {
            Some(tag) if !tag.contains(' ') => (Some(tag), ""),
            _ => (None, rest),
        },
    };
    Some(Header {
        message: message.trim_ascii_start(),
        tag,
        level: Some(level),
    })
}

/// Blue Gene/L (`… 2005-06-03-15.42.50.363779 node RAS KERNEL INFO message`) or the
/// syslog form other machines of that family write (`… Nov 9 12:01:01 node/node
/// prog[pid]: message`), after the flag, epoch, date and node.
fn supercomputer<'a>(cursor: &mut Cursor<'a>) -> Option<Header<'a>> {
    cursor.skip(4);
    let next = cursor.peek()?;
    if is_month(next) {
        return syslog(cursor);
    }
    if !is_bgl_time(next) {
        return None;
    }
    cursor.skip(2);
    let (_kind, component, level) = (cursor.next()?, cursor.next()?, cursor.next()?);
    Some(Header {
        message: cursor.rest(),
        tag: Some(component),
        level: Some(level),
    })
}

/// `time|component|pid|message`: a first field that is a time, and at least three bars.
fn pipe_record(line: &str) -> Option<Header<'_>> {
    // The bar ends the first field, a time of at most 32 bytes.
    let head = &line.as_bytes()[..line.len().min(33)];
    let bar = head
        .iter()
        .position(|b| *b == b'|' || b.is_ascii_whitespace())?;
    if head[bar] != b'|' {
        return None;
    }
    let (time, rest) = (&line[..bar], &line[bar + 1..]);
    if time.contains(' ') || !time.bytes().next()?.is_ascii_digit() || !is_compact_time(time) {
        return None;
    }
    let (component, rest) = rest.split_once('|')?;
    let (_pid, message) = rest.split_once('|')?;
    Some(Header {
        message: message.trim_ascii(),
        tag: Some(component),
        level: None,
    })
}

/// Consume a time at the cursor, in any of the application shapes; false (nothing
/// consumed) when there is none.
fn time_prefix(cursor: &mut Cursor<'_>) -> bool {
    let start = cursor.at;
    let Some(first) = cursor.next() else {
        return false;
    };
    let first_bare = first.trim_end_matches(',');
    let ok = if first.starts_with('[') {
        // `[Sun Dec 04 04:47:44 2005]`, `[10.30 16:49:06]`, `[2026-11-24 02:10:00]`,
        // `[24/Nov/2026:02:10:00 +0000]`.
        cursor.at = start;
        let before = cursor.at;
        cursor.bracketed() && {
            let inner = cursor.line[before..cursor.at].trim_ascii();
            let inner = &inner[1..inner.len() - 1];
            inner.bytes().filter(|b| *b == b':').count() >= 2
                && inner.bytes().any(|b| b.is_ascii_digit())
        }
    } else if is_iso_time(first_bare) {
        true
    } else if is_epoch_time(first_bare) {
        // A count that happens to have ten digits leads some messages: unix seconds
        // are a header only when a level follows.
        cursor.peek().is_some_and(|t| is_level(trim_level(t)))
    } else if is_date(first_bare) {
        // A date, then the time of day (`02:10:00,123`, `203615`).
        cursor
            .next()
            .is_some_and(|t| is_clock(t.trim_end_matches(',')) || is_compact_clock(first, t))
    } else {
        false
    };
    if !ok {
        cursor.at = start;
    }
    ok
}

/// After an application log's time: pids and thread ids, a level, `[thread]` groups,
/// `-` separators and a `logger:`, in the order loggers write them.
fn application<'a>(cursor: &mut Cursor<'a>) -> Option<Header<'a>> {
    let (mut tag, mut level) = (None, None);
    // A zone or fraction written apart from the time (`+0000`, `,123`).
    while let Some(token) = cursor.peek() {
        let numeric = token
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b',' | b'.'));
        if level.is_none() && numeric || token == "-" || token == "|" || token == "," {
            cursor.next();
        } else if level.is_none() && is_level(trim_level(token)) {
            level = Some(trim_level(token));
            cursor.next();
        } else if cursor.bracketed() {
            // `[main]`, `[QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:Leader@123]`.
        } else if tag.is_none()
            && let Some(logger) = logger(token, level.is_some())
        {
            tag = Some(logger);
            cursor.next();
            if token.ends_with(':') {
                break;
            }
        } else {
            break;
        }
    }
    Some(Header {
        message: cursor.rest(),
        tag,
        level,
    })
}

/// A logger or program name in an application header: `dfs.DataNode$PacketResponder:`,
/// `nova.compute.manager` (dotted, after a level), `CBS` is not (no dot, no colon).
fn logger(token: &str, after_level: bool) -> Option<&str> {
    if let Some((name, _)) = program_tag(token) {
        return Some(name);
    }
    let (name, colon) = match token.strip_suffix(':') {
        Some(name) => (name, true),
        None => (token, false),
    };
    let named = !name.is_empty()
        && !name.ends_with('.')
        && name.as_bytes()[0].is_ascii_alphabetic()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._$-".contains(&b));
    (named && after_level && (colon || name.contains('.'))).then_some(name)
}

/// A level written bare, bracketed or followed by a colon.
fn trim_level(token: &str) -> &str {
    token.trim_matches(|c| matches!(c, '[' | ']' | ':' | '<' | '>' | ','))
}

/// A log level, in the spellings loggers use.
fn is_level(word: &str) -> bool {
    let first = word.as_bytes().first().map_or(0, u8::to_ascii_uppercase);
    if !(3..=8).contains(&word.len()) || !b"TDINWEFSCA".contains(&first) {
        return false;
    }
    const LEVELS: &[&str] = &[
        "TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "ERR", "FATAL", "SEVERE",
        "CRITICAL", "CRIT", "ALERT", "EMERG", "FINE", "FINER", "FINEST", "CONFIG",
    ];
    word.len() >= 3 && LEVELS.iter().any(|l| l.eq_ignore_ascii_case(word))
}

/// A month's three-letter abbreviation.
fn is_month(token: &str) -> bool {
    matches!(
        token,
        "Jan"
            | "Feb"
            | "Mar"
            | "Apr"
            | "May"
            | "Jun"
            | "Jul"
            | "Aug"
            | "Sep"
            | "Oct"
            | "Nov"
            | "Dec"
    )
}

/// Whether `token` is made of digits with the given separators at the given places,
/// e.g. `shape(t, b"dddd-dd-dd")`: `d` a digit, anything else itself.
fn shape(token: &[u8], pattern: &[u8]) -> bool {
    token.len() == pattern.len()
        && token.iter().zip(pattern).all(|(t, p)| {
            if *p == b'd' {
                t.is_ascii_digit()
            } else {
                t == p
            }
        })
}

/// `hh:mm:ss`, with an optional fraction (`.123`, `,123`, `:123`) and zone (`Z`).
fn is_clock(token: &str) -> bool {
    let bytes = token.as_bytes();
    bytes.len() >= 8
        && shape(&bytes[..8], b"dd:dd:dd")
        && bytes[8..]
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b',' | b':' | b'Z'))
}

/// `MM-DD`, Android's date.
fn is_month_day(token: &str) -> bool {
    shape(token.as_bytes(), b"dd-dd")
}

/// A date on its own: `2026-11-24`, `2026/11/24`, `26/11/24`, `261124`, `2026.11.24`.
fn is_date(token: &str) -> bool {
    let b = token.as_bytes();
    shape(b, b"dddd-dd-dd")
        || shape(b, b"dddd/dd/dd")
        || shape(b, b"dd/dd/dd")
        || shape(b, b"dddddd")
        || shape(b, b"dddddddd")
        || is_dotted_date(token)
}

/// `2005.06.03`.
fn is_dotted_date(token: &str) -> bool {
    shape(token.as_bytes(), b"dddd.dd.dd")
}

/// A six-digit time of day after a six- or eight-digit date (`081109 203615`).
fn is_compact_clock(date: &str, token: &str) -> bool {
    date.len() >= 6
        && date.bytes().all(|b| b.is_ascii_digit())
        && shape(token.as_bytes(), b"dddddd")
}

/// A date and time in one token: `2026-11-24T02:10:00.5Z`, `2026-11-24T02:10:00+01:00`.
fn is_iso_time(token: &str) -> bool {
    let b = token.as_bytes();
    b.len() >= 19 && shape(&b[..10], b"dddd-dd-dd") && matches!(b[10], b'T' | b'_') && {
        let clock = &b[11..];
        clock.len() >= 8
            && shape(&clock[..8], b"dd:dd:dd")
            && clock[8..]
                .iter()
                .all(|c| c.is_ascii_digit() || b".,:+-Z".contains(c))
    }
}

/// Unix seconds as the first field, with an optional fraction: `1795486200.123`.
fn is_epoch_time(token: &str) -> bool {
    let (whole, fraction) = token.split_once('.').unwrap_or((token, "0"));
    is_epoch(whole) && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// Ten digits: unix seconds between 2001 and 2286.
fn is_epoch(token: &str) -> bool {
    token.len() == 10 && token.bytes().all(|b| b.is_ascii_digit())
}

/// A year on its own (`2005`).
fn is_year(token: &str) -> bool {
    shape(token.as_bytes(), b"dddd")
}

/// Blue Gene/L's `2005-06-03-15.42.50.363779`.
fn is_bgl_time(token: &str) -> bool {
    let b = token.as_bytes();
    b.len() >= 19 && shape(&b[..19], b"dddd-dd-dd-dd.dd.dd")
}

/// A compact date-time in one token: `20171223-22:15:29:606`, `2026-11-24T02:10:00`.
fn is_compact_time(token: &str) -> bool {
    let b = token.as_bytes();
    (b.len() >= 17 && shape(&b[..17], b"dddddddd-dd:dd:dd")) || is_iso_time(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines written for these tests from each format's documentation (syslog RFC 3164,
    /// logcat's threadtime, log4j/logback/Python logging patterns, Apache's error log,
    /// the Blue Gene/L RAS fields), not taken from any benchmark log.
    #[test]
    fn headers_of_the_common_formats_are_read() {
        let cases: &[(&str, &str, Option<&str>, Option<&str>)] = &[
            (
                "Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8",
                "'su root' failed for lonvick on /dev/pts/8",
                Some("su"),
                None,
            ),
            (
                "<34>Oct  3 22:14:15 gw-7 ntpd(sync)[4711]: time reset +0.2 s",
                "time reset +0.2 s",
                Some("ntpd(sync)"),
                None,
            ),
            (
                "Feb  5 17:32:18 box kernel: usb 1-1: new device",
                "usb 1-1: new device",
                Some("kernel"),
                None,
            ),
            (
                "Mar  2 08:00:01 relay-02 a plain message with no program",
                "a plain message with no program",
                None,
                None,
            ),
            (
                "Apr 12 09:14:55 laptop-5 com.example.Daemon[88]: Thermal state: 2",
                "Thermal state: 2",
                Some("com.example.Daemon"),
                None,
            ),
            (
                "11-02 07:41:09.410  4410  4432 W BatteryStats: charge dropped to 15",
                "charge dropped to 15",
                Some("BatteryStats"),
                Some("W"),
            ),
            (
                "11-02 07:41:09.410   312   312 I Window Policy: focus changed",
                "focus changed",
                Some("Window Policy"),
                Some("I"),
            ),
            (
                "2026-11-24 02:10:00,123 ERROR [pool-3-thread-1] com.example.Orders: payment failed",
                "payment failed",
                Some("com.example.Orders"),
                Some("ERROR"),
            ),
            (
                "2026-11-24 02:10:00.008 31337 WARNING svc.api.handler [req-1f 9a - - -] GET /v1/x",
                "GET /v1/x",
                Some("svc.api.handler"),
                Some("WARNING"),
            ),
            (
                "2026-11-24T02:10:00.5Z host-a cron[77]: job started",
                "job started",
                Some("cron"),
                None,
            ),
            (
                "2026-11-24T02:10:00.5Z INFO cache warm",
                "cache warm",
                None,
                Some("INFO"),
            ),
            (
                "1795486200.25 WARN slow disk",
                "slow disk",
                None,
                Some("WARN"),
            ),
            (
                "[Tue Nov 24 02:10:00 2026] [warn] child 3 exited",
                "child 3 exited",
                None,
                Some("warn"),
            ),
            (
                "- 1700000000 2023.11.14 R11-M0-N3 2023-11-14-22.13.20.000001 R11-M0-N3 RAS APP FATAL ciod: read failed",
                "ciod: read failed",
                Some("APP"),
                Some("FATAL"),
            ),
            (
                "ALERT 1700000000 2023.11.14 n17 Nov 14 22:13:20 n17/n17 sshd[9]: Accepted key",
                "Accepted key",
                Some("sshd"),
                None,
            ),
            (
                "20261124-02:10:00:123|Steps|4242|step count 10",
                "step count 10",
                Some("Steps"),
                None,
            ),
            (
                "261124 021000 77 INFO net.Server$Worker: accepted 10.0.0.1",
                "accepted 10.0.0.1",
                Some("net.Server$Worker"),
                Some("INFO"),
            ),
            (
                "2026-11-24 02:10:00,123 - WARN  [main:Peer@12] - lost leader",
                "lost leader",
                None,
                Some("WARN"),
            ),
        ];
        for (line, message, tag, level) in cases {
            let header = split(line);
            assert_eq!(
                (header.message, header.tag, header.level),
                (*message, *tag, *level),
                "{line}"
            );
        }
    }

    #[test]
    fn messages_without_a_header_are_left_whole() {
        for line in [
            "session closed for user root",
            "- this line starts with a dash",
            "10 retries left",
            "1401390016 double-hummer alignment exceptions",
            "2026 was a year",
            "[worker 3] job done",
            "Mar is not a date here",
            "12-31 is a date but 7 is not a clock",
            "",
        ] {
            let header = split(line);
            assert_eq!(header.message, line.trim(), "{line}");
            assert_eq!((header.tag, header.level), (None, None), "{line}");
        }
    }
}
