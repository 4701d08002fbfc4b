//! Folding log messages into templates: variable tokens (numbers, hex ids, IPs, host
//! names, URLs, paths with numbers, dates, ids with a number part, variable `key=value`
//! values, a size or duration with its unit) become `<*>`, keeping the punctuation
//! around them (`from <*>: <*>:`), and lines of the same event are counted together.
//!
//! Two stages. Each line is masked into a signature and interned (the per-line cost:
//! [`mask_line`] uses 16-byte SIMD byte masks from the `wide` crate to find the few
//! tokens that may need masking and copies the rest in runs); then the distinct
//! signatures, not the lines, are grouped into events by [`super::grouping`]. A raw
//! line's header (time, host, program, level) is read off by [`super::logheader`]
//! first. The masking rules are about how values are written in any log (numbers,
//! addresses, units), never about one system's messages; the ones first seen in a
//! benchmark system are tagged with it ([`MaskRules::PROVENANCE`]) so the benchmark
//! can leave them out with that system. Hand-written because no parser crate
//! meets the accuracy and speed this needs on real logs: `cargo bench --bench analysis`
//! measures both against drain3 on loghub, leave-one-system-out included.

use super::grouping::{self, GroupingConfig, WILDCARD};
use super::logheader;
use rustc_hash::FxHashMap;
use std::collections::HashMap;
use wide::u8x16;

/// The masking rules that are about one way of writing values, each of which can be
/// switched off to measure how much it owes to the logs it was written from (see
/// [`MaskRules::PROVENANCE`] and `cargo bench --bench analysis`). Plain numbers, hex
/// ids, dotted addresses and mixed letter-digit ids are always masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaskRules(u16);

impl MaskRules {
    /// Month and weekday names are parts of a date.
    pub(crate) const CALENDAR: MaskRules = MaskRules(1);
    /// A name ending in a top-level domain is a host.
    pub(crate) const HOST_NAMES: MaskRules = MaskRules(1 << 1);
    /// `0x` and hex digits is an id, whatever its length.
    pub(crate) const HEX_PREFIXED: MaskRules = MaskRules(1 << 2);
    /// A URL is one value.
    pub(crate) const URLS: MaskRules = MaskRules(1 << 3);
    /// A path made only of values (`10.0.0.1/10.0.0.2`) is one value.
    pub(crate) const WHOLE_PATHS: MaskRules = MaskRules(1 << 4);
    /// A number between separators names an instance (`node-96`, `broadcast_9_piece0`).
    pub(crate) const NUMBERED: MaskRules = MaskRules(1 << 5);
    /// A unit joins its number (`8.8 KB`, `5000ms`).
    pub(crate) const UNITS: MaskRules = MaskRules(1 << 6);
    /// An empty `()` or `[]` is an empty value.
    pub(crate) const EMPTY_BRACKETS: MaskRules = MaskRules(1 << 7);
    /// A full stop after a value is punctuation (`(TID 12).`).
    pub(crate) const FULL_STOP: MaskRules = MaskRules(1 << 8);
    /// `key=value`: only the value is masked.
    pub(crate) const KEY_VALUE: MaskRules = MaskRules(1 << 9);
    /// Values inside a token between brackets or commas are masked one by one
    /// (`sshd[1234]:`, `Token{a64f99}`).
    pub(crate) const SEGMENTS: MaskRules = MaskRules(1 << 10);
    /// A label with a dotted leader keeps its label: `depth.......0` is `depth.......<*>`.
    pub(crate) const LEADERS: MaskRules = MaskRules(1 << 11);
    /// Every rule: what hunch uses.
    pub const ALL: MaskRules = MaskRules((1 << 12) - 1);

    /// Each rule, its name, and the loghub-2k systems its examples were taken from when
    /// it was written (read from the examples in this file and its history); empty when
    /// it was written from a format's documentation. Leave-one-system-out switches a
    /// rule off when its system is the one left out.
    pub const PROVENANCE: &[(MaskRules, &str, &[&str])] = &[
        (MaskRules::CALENDAR, "calendar", &["Linux", "Apache"]),
        (MaskRules::HOST_NAMES, "host names", &["Linux", "OpenSSH"]),
        (MaskRules::HEX_PREFIXED, "0x ids", &["Zookeeper"]),
        (MaskRules::URLS, "URLs", &["Hadoop", "Spark"]),
        (MaskRules::WHOLE_PATHS, "whole paths", &["HDFS"]),
        (MaskRules::NUMBERED, "numbered ids", &["HPC", "Spark"]),
        (MaskRules::UNITS, "units", &["Spark"]),
        (MaskRules::EMPTY_BRACKETS, "empty brackets", &["Linux"]),
        (MaskRules::FULL_STOP, "full stop", &["Spark"]),
        (MaskRules::KEY_VALUE, "key=value", &["Linux"]),
        (MaskRules::SEGMENTS, "bracketed segments", &[]),
        (MaskRules::LEADERS, "dotted leaders", &["BGL"]),
    ];

    /// Whether `rule` is on.
    pub fn has(self, rule: MaskRules) -> bool {
        self.0 & rule.0 != 0
    }

    /// These rules with `rule` off.
    pub fn without(self, rule: MaskRules) -> MaskRules {
        MaskRules(self.0 & !rule.0)
    }

    /// The rules that were not written from `system`.
    pub fn not_from(system: &str) -> MaskRules {
        MaskRules::PROVENANCE
            .iter()
            .filter(|(_, _, from)| from.contains(&system))
            .fold(MaskRules::ALL, |rules, (rule, _, _)| rules.without(*rule))
    }
}

impl Default for MaskRules {
    fn default() -> MaskRules {
        MaskRules::ALL
    }
}

/// The template of one message: its tokens, masked, joined by single spaces.
pub fn template_of(message: &str) -> String {
    masked_tokens(message, MaskRules::ALL).join(" ")
}

/// The signature of one message (its variable tokens masked), written into `out`:
/// two messages with one signature are one line to [`LineClusters`], so a caller that
/// streams a log can keep one representative message per signature and cluster those.
pub fn signature_of(message: &str, out: &mut String) {
    out.clear();
    mask_line(logheader::split(message).message, MaskRules::ALL, out);
}

/// The masked tokens of one message.
fn masked_tokens(message: &str, rules: MaskRules) -> Vec<String> {
    let mut masked = String::with_capacity(message.len());
    mask_line(message, rules, &mut masked);
    tokens_of_masked(&masked, rules)
}

/// The tokens of a masked line, a unit after a masked number joined to it: `8.8 KB`
/// and `384.0 B` are both one size, `<*>`.
fn tokens_of_masked(masked: &str, rules: MaskRules) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    for token in masked.split_ascii_whitespace() {
        let unit = token.trim_end_matches([',', ')', ';', '.', ']']);
        let after_value = tokens.last().is_some_and(|t| t.ends_with(WILDCARD));
        if after_value && rules.has(MaskRules::UNITS) && is_unit(unit) {
            let closing = &token[unit.len()..];
            tokens
                .last_mut()
                .expect("a previous token")
                .push_str(closing);
        } else {
            tokens.push(token.to_string());
        }
    }
    tokens
}

/// A unit of size or time, as written after a number.
fn is_unit(word: &str) -> bool {
    matches!(
        word,
        "B" | "KB"
            | "MB"
            | "GB"
            | "TB"
            | "PB"
            | "KiB"
            | "MiB"
            | "GiB"
            | "TiB"
            | "ns"
            | "us"
            | "µs"
            | "ms"
            | "s"
            | "sec"
            | "secs"
            | "min"
            | "mins"
    )
}

/// What a byte is, as bit flags; a token's class is the union over its bytes and lets
/// the masking skip searches for characters the token does not have.
const DIGIT: u8 = 1;
const EQUALS: u8 = 2;
const DOT: u8 = 4;
const COLON: u8 = 8;
const SLASH: u8 = 16;
/// Bracketing punctuation that [`mask_into`] keeps around a value (with `:`).
const WRAP: u8 = 32;
/// Anything else: letters and the rest.
const OTHER: u8 = 64;

const CLASS: [u8; 256] = {
    let mut table = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            b'0'..=b'9' => DIGIT,
            b'=' => EQUALS,
            b'.' => DOT,
            b':' => COLON,
            b'/' => SLASH,
            b'(' | b')' | b',' | b';' | b'[' | b']' | b'"' | b'\'' | b'{' | b'}' => WRAP,
            _ => OTHER,
        };
        b += 1;
    }
    table
};

/// The union of the classes of a token's bytes.
fn class_of(token: &str) -> u8 {
    token.bytes().fold(0, |class, b| class | CLASS[b as usize])
}

/// Bit masks over a window of 64 bytes of a line (bit `i` is byte `i`).
struct Window {
    /// ASCII whitespace, as `split_ascii_whitespace` splits on. Bytes past the end of
    /// the line count as whitespace.
    space: u64,
    /// Bytes that make a token variable-looking: digits, `=` and `.`.
    marked: u64,
    /// Capitals (a month or weekday starts with one) and opening brackets (an empty
    /// `()` or `[]`), which need a look when they start a short token.
    initial: u64,
}

impl Window {
    /// The masks of the 64 bytes of `line` from `base`, 16 lanes at a time. Blocks are
    /// loaded straight from the line; a short last block is the line's last 16 bytes,
    /// shifted, so no byte is copied (a copy would stall the vector loads).
    fn of(line: &[u8], base: usize) -> Window {
        let mut window = Window {
            space: 0,
            marked: 0,
            initial: 0,
        };
        for block in 0..4 {
            let from = base + block * 16;
            let shift = block * 16;
            let (masks, valid) = if from + 16 <= line.len() {
                (block_masks(&line[from..from + 16]), 16)
            } else if from < line.len() {
                let valid = line.len() - from;
                let masks = if line.len() >= 16 {
                    block_masks(&line[line.len() - 16..]).map(|m| m >> (16 - valid))
                } else {
                    let mut padded = [b' '; 16];
                    padded[..valid].copy_from_slice(&line[from..]);
                    block_masks(&padded)
                };
                (masks, valid)
            } else {
                ([0; 3], 0)
            };
            // Bytes past the end of the line are whitespace.
            let past_end = (u16::MAX as u64) & !((1u64 << valid) - 1);
            window.space |= (masks[0] | past_end) << shift;
            window.marked |= masks[1] << shift;
            window.initial |= masks[2] << shift;
        }
        window
    }

    /// Bits where a token may need a look: it holds a marked byte, or it is two or three
    /// bytes long and starts with an initial. `space_before` says whether the byte
    /// before the window is whitespace; bytes past the window count as maybe-whitespace.
    fn look(&self, space_before: bool) -> (u64, u64) {
        let starts = !self.space & (self.space << 1 | space_before as u64);
        // Bit i set when byte i + k is whitespace, or lies past the window.
        let space_at = |k: u32| self.space >> k | !(u64::MAX >> k);
        let short = !(self.space >> 1) & (space_at(2) | (!(self.space >> 2) & space_at(3)));
        (self.marked | (self.initial & starts & short), starts)
    }
}

/// The whitespace, marked and initial masks (see [`Window`]) of 16 bytes.
fn block_masks(bytes: &[u8]) -> [u64; 3] {
    let x = u8x16::new(bytes.try_into().expect("a block is 16 bytes"));
    let is = |b: u8| x.simd_eq(u8x16::splat(b));
    let within = |lo: u8, hi: u8| {
        // Unsigned range check in one comparison: x - lo wraps above hi - lo.
        (x - u8x16::splat(lo)).simd_lt(u8x16::splat(hi - lo + 1))
    };
    let space = is(b' ') | (within(b'\t', b'\r') & !is(0x0b));
    let marked = within(b'0', b'9') | is(b'=') | is(b'.');
    let initial = within(b'A', b'Z') | is(b'(') | is(b'[');
    [space, marked, initial].map(|m| m.to_bitmask() as u64)
}

/// Append `line` to `out` with its variable tokens masked and everything else as it is,
/// the whitespace between tokens included (the line's own leading and trailing
/// whitespace dropped). Byte masks find the tokens that may need masking; only those are
/// looked at, and the rest of the line is copied in runs. Hand-written because this
/// loop is the whole cost of folding a million lines.
fn mask_line(line: &str, rules: MaskRules, out: &mut String) {
    let line = line.trim_ascii();
    let bytes = line.as_bytes();
    // Bytes of `line` before `copied` are in `out`; bytes before `resume` are decided.
    let (mut copied, mut resume) = (0, 0usize);
    let mut space_before = true;
    for base in (0..bytes.len()).step_by(64) {
        let window = Window::of(bytes, base);
        let (look, starts) = window.look(space_before);
        space_before = window.space >> 63 == 1;
        let mut look = look & bits_from(resume.saturating_sub(base));
        while look != 0 {
            let at = look.trailing_zeros();
            let before = starts & !bits_from(at as usize + 1);
            let start = if before != 0 {
                base + 63 - before.leading_zeros() as usize
            } else {
                // The token began in an earlier window.
                bytes[..base]
                    .iter()
                    .rposition(u8::is_ascii_whitespace)
                    .map_or(0, |i| i + 1)
            };
            let after = window.space & bits_from(at as usize);
            let end = if after != 0 {
                base + after.trailing_zeros() as usize
            } else {
                // The token runs on past this window.
                bytes[base + 64..]
                    .iter()
                    .position(u8::is_ascii_whitespace)
                    .map_or(bytes.len(), |i| base + 64 + i)
            };
            // ASCII whitespace never sits inside a UTF-8 sequence: these are boundaries.
            let token = &line[start..end];
            let class = class_of(token);
            if !is_verbatim(token, class, rules) {
                out.push_str(&line[copied..start]);
                push_variable(token, class, rules, out);
                copied = end;
            }
            resume = end;
            look &= bits_from(end - base);
        }
    }
    out.push_str(&line[copied..]);
}

/// The bits at and above `from` (none when `from` is 64 or more).
fn bits_from(from: usize) -> u64 {
    u64::MAX.checked_shl(from as u32).unwrap_or(0)
}

/// Append a token masking does not leave as it is (see [`is_verbatim`]), with a fast
/// path for the commonest variable, a plain number.
fn push_variable(token: &str, class: u8, rules: MaskRules, out: &mut String) {
    if class & DIGIT != 0
        && class & !(DIGIT | DOT | COLON) == 0
        && token.as_bytes().last().is_some_and(u8::is_ascii_digit)
    {
        return out.push_str(WILDCARD);
    }
    mask_into(token, class, rules, out)
}

/// Whether masking leaves the token as it is: no digit, `=` or `.`, and not a month,
/// weekday or empty bracket pair.
fn is_verbatim(token: &str, class: u8, rules: MaskRules) -> bool {
    class & (DIGIT | EQUALS | DOT) == 0
        && !(rules.has(MaskRules::CALENDAR) && is_calendar(token))
        && !(rules.has(MaskRules::EMPTY_BRACKETS) && (token == "()" || token == "[]"))
}

/// A month or weekday abbreviation, which is a timestamp's part and so a variable.
fn is_calendar(token: &str) -> bool {
    matches!(
        token.as_bytes(),
        b"Jan"
            | b"Feb"
            | b"Mar"
            | b"Apr"
            | b"May"
            | b"Jun"
            | b"Jul"
            | b"Aug"
            | b"Sep"
            | b"Oct"
            | b"Nov"
            | b"Dec"
            | b"Mon"
            | b"Tue"
            | b"Wed"
            | b"Thu"
            | b"Fri"
            | b"Sat"
            | b"Sun"
    )
}

/// Append the template form of one token to `out`, allocating nothing: the wrapping
/// punctuation stays, the value inside becomes `<*>` where it is variable. The token's
/// class lets it skip the searches for characters the token does not have.
fn mask_into(token: &str, class: u8, rules: MaskRules, out: &mut String) {
    let wrap = |b: &u8| CLASS[*b as usize] & (WRAP | COLON) != 0;
    let bytes = token.as_bytes();
    let lead = bytes.iter().take_while(|b| wrap(b)).count();
    // A sentence's full stop after a value (`(TID 12).`) is punctuation, not the value.
    let stop = usize::from(
        rules.has(MaskRules::FULL_STOP)
            && bytes.len() > lead + 1
            && bytes.ends_with(b".")
            && !bytes.ends_with(b".."),
    );
    let trail = stop
        + bytes[lead..bytes.len() - stop]
            .iter()
            .rev()
            .take_while(|b| wrap(b))
            .count();
    // Wrapping characters are ASCII, so these are character boundaries.
    let core = &token[lead..token.len() - trail];
    if core.is_empty() {
        // An empty bracket pair is an empty value: `()` where a host name usually stands.
        out.push_str(match token {
            "()" => "(<*>)",
            "[]" => "[<*>]",
            _ => token,
        });
        return;
    }
    out.push_str(&token[..lead]);
    if let Some((key, value)) = (class & EQUALS != 0 && rules.has(MaskRules::KEY_VALUE))
        .then(|| core.split_once('='))
        .flatten()
        && !key.is_empty()
        && key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
    {
        let bare = trim_wrap(value);
        if rules.has(MaskRules::SEGMENTS) && has_inner_separator(bare, WRAP | COLON) {
            // `token=Token{a64f992`, `headroom=<memory:8192`: the value's own parts.
            out.push_str(key);
            out.push('=');
            push_segments(value, rules, out);
        } else if !bare.is_empty() && is_variable(bare, rules) {
            out.push_str(key);
            out.push_str("=<*>");
        } else {
            out.push_str(core);
        }
    } else if rules.has(MaskRules::URLS)
        && class & COLON != 0
        && class & SLASH != 0
        && core.contains("://")
    {
        // A URL (`hdfs://namenode:8020/user/x`) is one value.
        out.push_str(WILDCARD);
    } else if class & SLASH != 0 && class & DIGIT != 0 {
        push_path(core, rules, out);
    } else if let Some((key, value)) = (class & COLON != 0).then(|| core.split_once(':')).flatten()
        && !key.is_empty()
        && key.bytes().all(|c| c.is_ascii_alphabetic())
        && value.bytes().any(|c| c.is_ascii_digit())
        && !is_hex_groups(core)
    {
        out.push_str(key);
        out.push_str(":<*>");
    } else if let Some(label) = rules
        .has(MaskRules::LEADERS)
        .then(|| dotted_label(core, rules))
        .flatten()
    {
        out.push_str(label);
        out.push_str(WILDCARD);
    } else if rules.has(MaskRules::SEGMENTS)
        && class & WRAP != 0
        && class & DIGIT != 0
        && has_inner_separator(core, WRAP)
    {
        push_segments(core, rules, out);
    } else if is_variable(core, rules) {
        out.push_str(WILDCARD);
    } else {
        out.push_str(core);
    }
    out.push_str(&token[lead + core.len()..]);
}

/// A `/`-separated value with its variable segments masked (`/products/<*>/reviews`);
/// one made only of variables (`10.0.0.1/10.0.0.2`, `/10.0.0.1:50010`) is one value.
fn push_path(path: &str, rules: MaskRules, out: &mut String) {
    let all_variable = rules.has(MaskRules::WHOLE_PATHS)
        && path
            .split('/')
            .all(|segment| segment.is_empty() || is_variable(segment, rules));
    if all_variable {
        if path.starts_with('/') {
            out.push('/');
        }
        return out.push_str(WILDCARD);
    }
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(if is_variable(segment, rules) {
            WILDCARD
        } else {
            segment
        });
    }
}

/// The label and leader of `label......value` when the value is variable.
fn dotted_label(core: &str, rules: MaskRules) -> Option<&str> {
    let at = core.find("..").filter(|&at| at > 0)?;
    let end = at + core[at..].bytes().take_while(|b| *b == b'.').count();
    let value = &core[end..];
    (!value.is_empty() && is_variable(value, rules)).then_some(&core[..end])
}

/// Whether a value holds a byte of `classes` between two other bytes, and a digit.
fn has_inner_separator(value: &str, classes: u8) -> bool {
    let bytes = value.as_bytes();
    bytes.len() > 2
        && bytes.iter().any(u8::is_ascii_digit)
        && bytes[1..bytes.len() - 1]
            .iter()
            .any(|b| CLASS[*b as usize] & classes != 0)
}

/// A token whose parts are joined by brackets, commas or colons, each variable part
/// masked on its own: `sshd[1234]:` is `sshd[<*>]:`, `Token{a64f992` is `Token{<*>`.
fn push_segments(core: &str, rules: MaskRules, out: &mut String) {
    let mut start = 0;
    let bytes = core.as_bytes();
    for end in 0..=bytes.len() {
        let separator = end < bytes.len() && CLASS[bytes[end] as usize] & (WRAP | COLON) != 0;
        if end == bytes.len() || separator {
            let part = &core[start..end];
            if !part.is_empty()
                && part.bytes().any(|b| b.is_ascii_digit())
                && is_variable(part, rules)
            {
                out.push_str(WILDCARD);
            } else {
                out.push_str(part);
            }
            if separator {
                out.push(bytes[end] as char);
            }
            start = end + 1;
        }
    }
}

/// Whether a token is groups of hex digits joined by colons, as MAC and IPv6 addresses
/// are written (`00:1a:2b:3c:4d:5e`, `fe80::1`).
fn is_hex_groups(token: &str) -> bool {
    let mut groups = 0;
    for group in token.split(':') {
        if group.len() > 4 || !group.bytes().all(|b| b.is_ascii_hexdigit()) {
            return false;
        }
        groups += 1;
    }
    groups >= 3
}

/// The token without the bracketing punctuation around it.
fn trim_wrap(token: &str) -> &str {
    token.trim_matches(|c: char| c.is_ascii() && CLASS[c as usize] & (WRAP | COLON) != 0)
}

/// Whether a token ends in a top-level domain that marks it a host name
/// (`troi.bluesky-technologies.com`).
fn is_host_name(token: &str) -> bool {
    let mut lower = [0u8; 8];
    // The longest domain is 8 bytes, so the dot is among the last 9.
    let bytes = token.as_bytes();
    let tail = bytes.len().saturating_sub(lower.len() + 1);
    let Some(dot) = bytes[tail..]
        .iter()
        .rposition(|&b| b == b'.')
        .map(|i| tail + i)
        .filter(|&dot| dot > 0)
    else {
        return false;
    };
    let tld = &bytes[dot + 1..];
    for (l, b) in lower.iter_mut().zip(tld) {
        *l = b.to_ascii_lowercase();
    }
    matches!(
        &lower[..tld.len()],
        b"com"
            | b"net"
            | b"org"
            | b"edu"
            | b"gov"
            | b"io"
            | b"cn"
            | b"jp"
            | b"de"
            | b"uk"
            | b"fr"
            | b"ru"
            | b"br"
            | b"in"
            | b"local"
            | b"internal"
    )
}

/// What [`is_variable`] needs to know of a byte, as bit flags, so its loop has no
/// branches: counts of digits, letters and dots, and whether every byte so far could
/// belong to a hex id (digits, `a-f`, `-`) or a number-like value (digits and `.-:/_%+`).
const IS_DIGIT: u8 = 1;
const IS_LETTER: u8 = 2;
const IS_DOT: u8 = 4;
const KEEPS_HEX: u8 = 8;
const KEEPS_NUMERIC: u8 = 16;
const IS_COLON: u8 = 32;

const BYTE_FACTS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            b'0'..=b'9' => IS_DIGIT | KEEPS_HEX | KEEPS_NUMERIC,
            b'a'..=b'f' | b'A'..=b'F' => IS_LETTER | KEEPS_HEX,
            b'g'..=b'z' | b'G'..=b'Z' => IS_LETTER,
            b'.' => IS_DOT | KEEPS_NUMERIC,
            b'-' => KEEPS_HEX | KEEPS_NUMERIC,
            b':' => IS_COLON | KEEPS_NUMERIC,
            b'/' | b'_' | b'%' | b'+' => KEEPS_NUMERIC,
            _ => 0,
        };
        b += 1;
    }
    table
};

/// Whether a token (without wrapping punctuation) is a value that varies between lines.
fn is_variable(token: &str, rules: MaskRules) -> bool {
    if rules.has(MaskRules::CALENDAR) && is_calendar(token) {
        return true;
    }
    // One branch-free pass over the bytes for the facts the rules below need.
    let (mut digits, mut letters, mut dots, mut colons, mut all) =
        (0usize, 0usize, 0usize, 0usize, u8::MAX);
    for b in token.bytes() {
        let facts = BYTE_FACTS[b as usize];
        digits += (facts & IS_DIGIT) as usize;
        letters += ((facts & IS_LETTER) >> 1) as usize;
        dots += ((facts & IS_DOT) >> 2) as usize;
        colons += ((facts & IS_COLON) >> 5) as usize;
        all &= facts;
    }
    // `0x` and hex digits: an address or id, whatever its letters.
    if rules.has(MaskRules::HEX_PREFIXED)
        && token.len() > 2
        && (token.starts_with("0x") || token.starts_with("0X"))
        && token[2..].bytes().all(|b| b.is_ascii_hexdigit())
    {
        return true;
    }
    let hex = all & KEEPS_HEX != 0;
    let numeric_like = all & KEEPS_NUMERIC != 0;
    if dots > 0 && rules.has(MaskRules::HOST_NAMES) && is_host_name(token) {
        return true;
    }
    if digits == 0 {
        return false;
    }
    // Words with a digit inside (v2, sha256, http2) stay; ids, numbers, paths with numbers go.
    let is_hex = hex && token.len() >= 6;
    // Hosts, addresses and versions: digits among dotted parts.
    let dotted = dots >= 2;
    if numeric_like || is_hex || dotted || letters * 2 < token.len() {
        return true;
    }
    let with_unit = rules.has(MaskRules::UNITS)
        && token.starts_with(|c: char| c.is_ascii_digit())
        && token
            .trim_end_matches(|c: char| c.is_ascii_alphabetic())
            .bytes()
            .all(|c| c.is_ascii_digit() || c == b'.');
    // A number between separators names an instance: node-96, worker_12, pid@4711,
    // broadcast_9_piece0.
    let numbered = rules.has(MaskRules::NUMBERED)
        && token.contains(['-', '_', '@', '#'])
        && token
            .split(['-', '_', '@', '#'])
            .any(|part| !part.is_empty() && part.bytes().all(|c| c.is_ascii_digit()));
    with_unit || numbered || (colons >= 2 && is_hex_groups(token))
}

/// Distinct masked messages ("signatures"): each line is masked into one reused buffer
/// and looked up by that text, so a line whose signature was seen before allocates
/// nothing; the clustering below works once per signature, and memory grows with the
/// number of distinct signatures, not of lines.
#[derive(Default, Clone)]
struct Signatures {
    index: FxHashMap<Box<str>, u32>,
    tokens: Vec<Vec<String>>,
    scratch: String,
    rules: MaskRules,
}

impl Signatures {
    /// The signature of a message, after `prefix` (a level) when one is given.
    fn intern(&mut self, prefix: Option<&str>, message: &str) -> u32 {
        let mut key = std::mem::take(&mut self.scratch);
        key.clear();
        if let Some(prefix) = prefix {
            key.push_str(prefix);
            key.push(' ');
        }
        mask_line(message, self.rules, &mut key);
        let id = match self.index.get(key.as_str()) {
            Some(&id) => id,
            None => {
                let id = self.tokens.len() as u32;
                self.tokens.push(tokens_of_masked(&key, self.rules));
                self.index.insert(key.as_str().into(), id);
                id
            }
        };
        self.scratch = key;
        id
    }

    /// The id of a signature already masked (from another table), adding it with its
    /// tokens when it is new.
    fn insert_masked(&mut self, key: Box<str>, tokens: impl FnOnce() -> Vec<String>) -> u32 {
        if let Some(&id) = self.index.get(&key) {
            return id;
        }
        let id = self.tokens.len() as u32;
        self.tokens.push(tokens());
        self.index.insert(key, id);
        id
    }

    /// An event id per signature (see [`grouping`]).
    fn cluster(&self, config: &GroupingConfig) -> grouping::Grouping {
        grouping::group(&self.tokens, config)
    }
}

/// One cluster id per message, in input order, numbered by first appearance.
pub fn cluster<'a>(messages: impl IntoIterator<Item = &'a str>) -> Vec<usize> {
    cluster_with(messages, GroupingConfig::default())
        .ids
        .into_iter()
        .map(|id| id as usize)
        .collect()
}

/// The clusters and templates of messages, with the given grouping settings.
pub fn cluster_with<'a>(
    messages: impl IntoIterator<Item = &'a str>,
    config: GroupingConfig,
) -> Clustered {
    let mut clusters = LineClusters::default();
    for message in messages {
        clusters.add(message);
    }
    clusters.finish_with(config)
}

/// [`cluster`] for a stream of lines: each line is held as the 4-byte id of its
/// signature until [`finish`](LineClusters::finish), never as text. A line's header
/// (time, host, program, level; see [`logheader`]) is read off and only its message
/// is clustered.
#[derive(Default, Clone)]
pub struct LineClusters {
    signatures: Signatures,
    lines: Vec<u32>,
}

impl LineClusters {
    /// Clusters that mask with only these rules (to measure what each rule is worth).
    pub fn with_rules(rules: MaskRules) -> LineClusters {
        let mut clusters = LineClusters::default();
        clusters.signatures.rules = rules;
        clusters
    }

    pub fn add(&mut self, line: &str) {
        let message = logheader::split(line).message;
        self.lines.push(self.signatures.intern(None, message));
    }

    /// Join the signatures of a part of the stream masked elsewhere (on another
    /// thread): the id here of each of the part's signature ids. Add the part's lines
    /// with [`extend_ids`](LineClusters::extend_ids), mapped through it, in stream order.
    pub fn absorb(&mut self, part: PartSignatures) -> Vec<u32> {
        let Signatures { index, tokens, .. } = part.signatures;
        let mut tokens: Vec<Vec<String>> = tokens;
        let mut here = vec![0; tokens.len()];
        for (key, local) in index {
            let local = local as usize;
            here[local] = self
                .signatures
                .insert_masked(key, || std::mem::take(&mut tokens[local]));
        }
        here
    }

    /// Lines given by their signature ids here (see [`absorb`](LineClusters::absorb)).
    pub fn extend_ids(&mut self, ids: impl IntoIterator<Item = u32>) {
        self.lines.extend(ids);
    }

    /// The cluster of every line added.
    pub fn finish(self) -> Clustered {
        self.finish_with(GroupingConfig::default())
    }

    /// [`finish`](LineClusters::finish) with other grouping settings.
    pub fn finish_with(self, config: GroupingConfig) -> Clustered {
        let grouping = self.signatures.cluster(&config);
        // Event ids are dense, so renumbering by first appearance is a table lookup,
        // done in place over the lines' signature ids.
        let mut renumber = vec![u32::MAX; grouping.templates.len()];
        let mut templates = Vec::new();
        let mut ids = self.lines;
        for id in &mut ids {
            let event = grouping.event_of[*id as usize];
            if renumber[event] == u32::MAX {
                renumber[event] = templates.len() as u32;
                templates.push(grouping.templates[event].join(" "));
            }
            *id = renumber[event];
        }
        Clustered { ids, templates }
    }
}

/// The signatures of one part of a stream, masked on a thread of its own: the lines'
/// ids are local to the part until [`LineClusters::absorb`] maps them.
#[derive(Default)]
pub struct PartSignatures {
    signatures: Signatures,
}

impl PartSignatures {
    /// The part's id for the signature of `line`, its header read off as
    /// [`LineClusters::add`] does.
    pub fn add(&mut self, line: &str) -> u32 {
        let message = logheader::split(line).message;
        self.signatures.intern(None, message)
    }
}

/// Lines grouped into events: an id per line, in input order, numbered by first
/// appearance, and each id's template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clustered {
    pub ids: Vec<u32>,
    pub templates: Vec<String>,
}

impl Clustered {
    /// The template of every line, in order.
    pub fn line_templates(&self) -> impl Iterator<Item = &str> {
        self.ids
            .iter()
            .map(|&id| self.templates[id as usize].as_str())
    }
}

/// One template of a digest: what the lines of a cluster share, and where it was seen.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DigestRow {
    pub template: String,
    pub count: u64,
    /// 1-based line numbers of the first and last occurrence.
    pub first_line: usize,
    pub last_line: usize,
    /// Not seen in the baseline (when one was given).
    pub new: bool,
    /// Unix seconds of the first and last occurrence, when the lines carry times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<i64>,
    /// The busiest minute, when it stands far above the template's usual rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst: Option<Burst>,
}

/// A minute in which a template occurred far more often than usual.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Burst {
    /// Unix seconds of the start of the minute.
    pub minute: i64,
    pub count: u32,
    /// The template's median count per minute over the whole log's span.
    pub median_per_minute: u32,
}

/// A burst needs at least this many lines in its minute…
const BURST_MIN: u32 = 10;
/// …and this many times the template's median per minute.
const BURST_FACTOR: u32 = 5;

#[derive(Default)]
struct SignatureStats {
    count: u64,
    first_line: usize,
    last_line: usize,
    first_seen: Option<i64>,
    last_seen: Option<i64>,
    in_baseline: bool,
    per_minute: HashMap<i64, u32>,
}

/// A digest built one line at a time, so a log of any length streams through it: memory
/// grows with the number of distinct masked lines (signatures) and of minutes, never
/// with the number of lines. Clustering runs once, over the signatures, at [`finish`].
///
/// [`finish`]: Digest::finish
#[derive(Default)]
pub struct Digest {
    signatures: Signatures,
    stats: Vec<SignatureStats>,
    lines: usize,
    has_baseline: bool,
    span: Option<(i64, i64)>,
}

impl Digest {
    /// A line of the log, with its time (unix seconds) when known.
    pub fn add(&mut self, line: &str, time: Option<i64>) {
        self.lines += 1;
        let n = self.lines;
        let s = self.stats_of(line);
        s.count += 1;
        if s.first_line == 0 {
            s.first_line = n;
        }
        s.last_line = n;
        if let Some(t) = time {
            s.first_seen.get_or_insert(t);
            s.last_seen = Some(t);
            *s.per_minute.entry(t.div_euclid(60) * 60).or_default() += 1;
            let (lo, hi) = self.span.get_or_insert((t, t));
            *lo = (*lo).min(t);
            *hi = (*hi).max(t);
        }
    }

    /// A line of the baseline: templates seen here are not new.
    pub fn add_baseline(&mut self, line: &str) {
        self.has_baseline = true;
        self.stats_of(line).in_baseline = true;
    }

    /// Lines of the log added so far.
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// Distinct masked lines held (what memory grows with).
    pub fn signatures(&self) -> usize {
        self.stats.len()
    }

    /// A line's header is read off (see [`logheader`]); its level, when it has one,
    /// stays in front of the message so that an error and a notice never share a row.
    fn stats_of(&mut self, line: &str) -> &mut SignatureStats {
        let header = logheader::split(line);
        let id = self.signatures.intern(header.level, header.message) as usize;
        if id == self.stats.len() {
            self.stats.push(SignatureStats::default());
        }
        &mut self.stats[id]
    }

    /// The templates, new ones first, then most frequent first.
    pub fn finish(self) -> Vec<DigestRow> {
        let grouping = self.signatures.cluster(&GroupingConfig::default());
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); grouping.templates.len()];
        for (sig, &event) in grouping.event_of.iter().enumerate() {
            members[event].push(sig);
        }
        let minutes = self.span.map_or(1, |(lo, hi)| {
            ((hi.div_euclid(60) - lo.div_euclid(60)) + 1) as usize
        });
        let mut rows: Vec<DigestRow> = members
            .into_iter()
            .zip(&grouping.templates)
            .filter_map(|(sigs, template)| {
                let seen: Vec<&SignatureStats> = sigs
                    .iter()
                    .map(|&s| &self.stats[s])
                    .filter(|s| s.count > 0)
                    .collect();
                if seen.is_empty() {
                    return None;
                }
                let mut per_minute: HashMap<i64, u32> = HashMap::new();
                for s in &seen {
                    for (m, c) in &s.per_minute {
                        *per_minute.entry(*m).or_default() += c;
                    }
                }
                Some(DigestRow {
                    template: template.join(" "),
                    count: seen.iter().map(|s| s.count).sum(),
                    first_line: seen.iter().map(|s| s.first_line).min().unwrap_or(0),
                    last_line: seen.iter().map(|s| s.last_line).max().unwrap_or(0),
                    new: self.has_baseline && !sigs.iter().any(|&s| self.stats[s].in_baseline),
                    first_seen: seen.iter().filter_map(|s| s.first_seen).min(),
                    last_seen: seen.iter().filter_map(|s| s.last_seen).max(),
                    burst: burst(&per_minute, minutes),
                })
            })
            .collect();
        rows.sort_by(|a, b| {
            b.new
                .cmp(&a.new)
                .then(b.count.cmp(&a.count))
                .then(a.first_line.cmp(&b.first_line))
        });
        rows
    }
}

/// The busiest minute, if it has at least [`BURST_MIN`] lines and [`BURST_FACTOR`] times
/// the median per minute over the log's span (quiet minutes count as zero).
pub fn burst(per_minute: &HashMap<i64, u32>, minutes: usize) -> Option<Burst> {
    let (&minute, &count) = per_minute
        .iter()
        .max_by_key(|(m, c)| (**c, std::cmp::Reverse(**m)))?;
    // The median over every minute of the span, the quiet ones as zeros — without
    // making the zeros: a span is whatever the times say (a year, a far-away date).
    let mut counts: Vec<u32> = per_minute.values().copied().collect();
    counts.sort_unstable();
    let total = minutes.max(counts.len());
    let zeros = total - counts.len();
    let middle = total / 2;
    let median = if middle < zeros {
        0
    } else {
        counts[middle - zeros]
    };
    (count >= BURST_MIN && count >= BURST_FACTOR * median.max(1)).then_some(Burst {
        minute,
        count,
        median_per_minute: median,
    })
}

#[cfg(test)]
mod burst_tests {
    use super::*;

    #[test]
    fn a_span_of_centuries_costs_nothing() {
        let per_minute: HashMap<i64, u32> = [(10, 50), (11, 2), (12, 3)].into_iter().collect();
        let found = burst(&per_minute, usize::MAX / 2).expect("a burst over quiet minutes");
        assert_eq!(
            (found.minute, found.count, found.median_per_minute),
            (10, 50, 0)
        );
        // Over the three minutes alone, the median is 3 and 50 is still a burst.
        let found = burst(&per_minute, 3).unwrap();
        assert_eq!(found.median_per_minute, 3);
    }
}

/// The time at the start of a log line, in unix seconds (UTC where the line gives no
/// zone): RFC 3339 (`2026-11-24T02:10:00.123Z`), `2026-11-24 02:10:00,123`, syslog's
/// `Nov 24 02:10:00` (this year), or unix seconds.
pub fn leading_time(line: &str) -> Option<i64> {
    let mut words = line.split_ascii_whitespace();
    let first = words.next()?;
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(first) {
        return Some(t.timestamp());
    }
    let second = words.next().unwrap_or("");
    if first.len() == 10 && first.as_bytes().get(4) == Some(&b'-') {
        let joined = format!("{first} {}", second.replace(',', "."));
        return chrono::NaiveDateTime::parse_from_str(&joined, "%Y-%m-%d %H:%M:%S%.f")
            .ok()
            .map(|t| t.and_utc().timestamp());
    }
    if first.len() == 3 && first.as_bytes()[0].is_ascii_uppercase() {
        let third = words.next().unwrap_or("");
        let year = chrono::Utc::now().format("%Y");
        let joined = format!("{year} {first} {second} {third}");
        return chrono::NaiveDateTime::parse_from_str(&joined, "%Y %b %d %H:%M:%S")
            .ok()
            .map(|t| t.and_utc().timestamp());
    }
    let seconds: f64 = first.parse().ok()?;
    (first.len() >= 10 && (1e9..1e11).contains(&seconds)).then_some(seconds as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_variables_and_keeps_words() {
        assert_eq!(
            template_of(
                "req=ab12cd timeout acquiring connection after 5000ms (pool=orders-db active=20)"
            ),
            "req=<*> timeout acquiring connection after <*> (pool=orders-db active=<*>)"
        );
        assert_eq!(
            template_of("GET /products/1234/reviews 404 from 66.249.70.12 ua=Googlebot"),
            "GET /products/<*>/reviews <*> from <*> ua=Googlebot"
        );
        assert_eq!(template_of("starting v2 on http2"), "starting v2 on http2");
    }

    #[test]
    fn values_keep_their_punctuation_and_units_join_their_numbers() {
        let cases = [
            (
                "Received disconnect from 187.141.143.180: 11: Bye Bye",
                "Received disconnect from <*>: <*>: Bye Bye",
            ),
            (
                "Finished task 1.0 in stage 0.0 (TID 12). 2043 bytes",
                "Finished task <*> in stage <*> (TID <*>). <*> bytes",
            ),
            (
                "stored (estimated size 8.8 KB, free 384.0 B)",
                "stored (estimated size <*>, free <*>)",
            ),
            ("took 120 ms", "took <*>"),
            ("Expiring session 0x14f3fdae8ba000c", "Expiring session <*>"),
            ("Block broadcast_9_piece0 stored", "Block <*> stored"),
            (
                "Input split: hdfs://10.0.0.1:9000/pjhe/test.txt:0+100",
                "Input split: <*>",
            ),
            (
                "Old: 10.0.0.1/10.0.0.2 New: /10.0.0.3:50010",
                "Old: <*> New: /<*>",
            ),
            ("GET /products/1234/reviews", "GET /products/<*>/reviews"),
            // A unit word with no number before it is a word.
            ("size in MB exceeded", "size in MB exceeded"),
        ];
        for (line, template) in cases {
            assert_eq!(template_of(line), template, "{line}");
        }
    }

    /// Written here from the formats (syslog's `prog[pid]:`, Java's `toString` of
    /// `Name{hash}`, MAC addresses, dotted leaders in register dumps), not taken from
    /// any benchmark log.
    #[test]
    fn values_inside_a_token_are_masked_part_by_part() {
        let cases = [
            (
                "cron(pam_unix)[4242]: started",
                "cron(pam_unix)[<*>]: started",
            ),
            (
                "record=Entry{9c2e1f0 at Slot{77}}",
                "record=Entry{<*> at Slot{<*>}}",
            ),
            ("limit=<mem:8192, cpu:-3>", "limit=<mem:<*>, cpu:<*>"),
            ("limit=<mem:10240, cpu:-17>", "limit=<mem:<*>, cpu:<*>"),
            (
                "lease for ab:cd:ef:12:aa:bb renewed",
                "lease for <*> renewed",
            ),
            ("fan speed........1200", "fan speed........<*>"),
        ];
        for (line, template) in cases {
            assert_eq!(template_of(line), template, "{line}");
        }
    }

    #[test]
    fn rules_are_switched_off_by_the_system_they_came_from() {
        let rules = MaskRules::not_from("Spark");
        assert!(!rules.has(MaskRules::UNITS) && !rules.has(MaskRules::FULL_STOP));
        assert!(rules.has(MaskRules::CALENDAR) && rules.has(MaskRules::SEGMENTS));
        assert_eq!(
            MaskRules::not_from("a system no rule came from"),
            MaskRules::ALL
        );
        let mut without_units = LineClusters::with_rules(rules);
        without_units.add("took 120 ms");
        assert_eq!(without_units.finish().templates, ["took <*> ms"]);
    }

    #[test]
    fn same_shape_same_template() {
        assert_eq!(
            template_of("redis: i/o timeout on GET cart:12345678 after 120ms (retrying)"),
            template_of("redis: i/o timeout on GET cart:87654321 after 99ms (retrying)")
        );
    }

    fn partition(messages: &[String]) -> Vec<Vec<usize>> {
        let ids = cluster(messages.iter().map(String::as_str));
        let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for (line, id) in ids.iter().enumerate() {
            groups.entry(*id).or_default().push(line);
        }
        let mut out: Vec<Vec<usize>> = groups.into_values().collect();
        out.sort();
        out
    }

    fn corpus() -> Vec<String> {
        let mut lines = Vec::new();
        for (i, user) in ["cyrus", "news", "root", "test", "cyrus", "root"]
            .iter()
            .enumerate()
        {
            lines.push(format!("session closed for user {user}"));
            lines.push(format!(
                "Session: {}_{} initialized by client {}",
                3000 + i,
                77 * i,
                if i % 3 == 0 {
                    "SPP"
                } else {
                    "WindowsUpdateAgent"
                }
            ));
            lines.push(format!(
                "authentication failure; rhost=10.0.0.{i} user={}",
                ["root", "guest", "test"][i % 3]
            ));
            lines.push(format!(
                "Ending TrustedInstaller {}.",
                if i % 2 == 0 {
                    "initialization"
                } else {
                    "finalization"
                }
            ));
            lines.push(format!(
                "connection from 10.1.{i}.4 (host-{i}.example.net) at Fri Jun {} 07:07:0{i} 2005",
                10 + i
            ));
        }
        lines
    }

    #[test]
    fn parameters_merge_and_named_events_stay_apart() {
        let lines = corpus();
        let ids = cluster(lines.iter().map(String::as_str));
        let id_of = |needle: &str| -> Vec<usize> {
            let mut v: Vec<usize> = lines
                .iter()
                .zip(&ids)
                .filter(|(l, _)| l.contains(needle))
                .map(|(_, id)| *id)
                .collect();
            v.sort();
            v.dedup();
            v
        };
        assert_eq!(
            id_of("session closed").len(),
            1,
            "four user names: a parameter"
        );
        assert_eq!(
            id_of("connection from").len(),
            1,
            "hosts, addresses and dates are parameters"
        );
        assert_eq!(id_of("client SPP").len(), 1);
        assert_ne!(
            id_of("client SPP"),
            id_of("client WindowsUpdateAgent"),
            "two clients: two events"
        );
        assert_ne!(id_of("initialization."), id_of("finalization."));
        assert_eq!(id_of("user=root").len(), 1);
        assert_ne!(
            id_of("user=root"),
            id_of("user=guest"),
            "a few key=literal values: separate events"
        );
    }

    #[test]
    fn cluster_ids_are_numbered_by_first_appearance() {
        let lines = corpus();
        let ids = cluster(lines.iter().map(String::as_str));
        let mut next = 0;
        for &id in &ids {
            assert!(id <= next, "id {id} before {next} was given");
            next = next.max(id + 1);
        }
    }

    proptest::proptest! {
        /// Clustering is deterministic and does not depend on the order lines arrive in:
        /// any shuffle of the corpus groups the same lines together.
        #[test]
        fn clustering_is_deterministic_and_independent_of_input_order(
            order in proptest::strategy::Strategy::prop_shuffle(
                proptest::strategy::Just((0..corpus().len()).collect::<Vec<usize>>()),
            ),
        ) {
            let lines = corpus();
            let expected = partition(&lines);
            proptest::prop_assert_eq!(&partition(&lines), &expected);
            let shuffled: Vec<String> = order.iter().map(|&i| lines[i].clone()).collect();
            let mut back: Vec<Vec<usize>> = partition(&shuffled)
                .into_iter()
                .map(|g| {
                    let mut g: Vec<usize> = g.into_iter().map(|i| order[i]).collect();
                    g.sort();
                    g
                })
                .collect();
            back.sort();
            proptest::prop_assert_eq!(back, expected);
        }
    }

    /// The obvious way to mask a line, token by token, which [`mask_line`] must match.
    fn template_token_by_token(line: &str) -> String {
        let mut out = String::new();
        for token in line.split_ascii_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            let class = class_of(token);
            if is_verbatim(token, class, MaskRules::ALL) {
                out.push_str(token);
            } else {
                push_variable(token, class, MaskRules::ALL, &mut out);
            }
        }
        out
    }

    proptest::proptest! {
        /// Lines built from words that exercise every mask (digits, `=`, `.`, months,
        /// empty brackets, capitals, every kind of whitespace including the vertical tab
        /// that is not one, multi-byte text), at lengths that cross the 16-byte blocks
        /// and 64-byte windows.
        #[test]
        fn masking_by_byte_masks_matches_masking_token_by_token(
            words in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::string::string_regex("[a-zA-Z_()\\[\\]:,/-]{1,12}").unwrap(),
                    proptest::string::string_regex("[a-f0-9x.=:/-]{1,30}").unwrap(),
                    proptest::sample::select(vec![
                        "Jan".to_string(), "()".into(), "[]".into(), "(Mon)".into(),
                        "Sun,".into(), "é5".into(), "😀".into(), "a\u{0b}1".into(),
                        "user=root".into(), "10.0.0.1:80".into(), "x".repeat(70),
                    ]),
                ],
                0..24,
            ),
            gaps in proptest::collection::vec(
                proptest::sample::select(vec![" ", " ", "  ", "\t", "\r\n", "\u{0c}", " \r "]),
                24,
            ),
        ) {
            let mut line = String::from(gaps[23]);
            for (word, gap) in words.iter().zip(&gaps) {
                line.push_str(word);
                line.push_str(gap);
            }
            let mut masked = String::new();
            mask_line(&line, MaskRules::ALL, &mut masked);
            let masked = masked.split_ascii_whitespace().collect::<Vec<_>>().join(" ");
            proptest::prop_assert_eq!(masked, template_token_by_token(&line));
        }
    }

    #[test]
    fn crlf_and_empty_lines_are_handled() {
        let ids = cluster(["a b 1\r", "a b 2", "", "   "]);
        assert_eq!(ids[0], ids[1]);
        assert_eq!(ids.len(), 4);
    }

    #[test]
    fn the_streaming_digest_holds_signatures_not_lines_and_finds_bursts() {
        let mut digest = Digest::default();
        let start = 1_764_000_000; // a whole minute
        for i in 0..100_000i64 {
            let t = start + i * 60 / 1000; // 1000 lines a minute over 100 minutes
            digest.add(
                &format!(
                    "request {i} served in {}ms from 10.0.{}.{}",
                    i % 900,
                    i % 7,
                    i % 250
                ),
                Some(t),
            );
            if (3000..3400).contains(&i) {
                digest.add(
                    &format!("pool exhausted waiting for connection {i}"),
                    Some(t),
                );
            }
            if i % 10_000 == 0 {
                digest.add(
                    &format!("pool exhausted waiting for connection {i}"),
                    Some(t),
                );
            }
        }
        assert_eq!(digest.lines(), 100_410);
        assert!(
            digest.signatures() < 10,
            "{} signatures",
            digest.signatures()
        );
        let rows = digest.finish();
        assert_eq!(rows.len(), 2);
        let pool = rows
            .iter()
            .find(|r| r.template.starts_with("pool"))
            .unwrap();
        let burst = pool
            .burst
            .as_ref()
            .expect("400 lines in 3 minutes is a burst");
        assert_eq!(burst.minute, start + 180);
        assert_eq!(burst.median_per_minute, 0);
        let requests = rows
            .iter()
            .find(|r| r.template.starts_with("request"))
            .unwrap();
        assert!(requests.burst.is_none(), "a steady rate is not a burst");
        assert_eq!(requests.first_seen, Some(start));
    }

    #[test]
    fn leading_times_in_common_formats() {
        assert_eq!(
            leading_time("2026-11-24T02:10:00.5Z ERROR x"),
            Some(1_795_486_200)
        );
        assert_eq!(
            leading_time("2026-11-24 02:10:00,123 WARN y"),
            Some(1_795_486_200)
        );
        assert_eq!(leading_time("1795486200 z"), Some(1_795_486_200));
        assert!(leading_time("Nov 24 02:10:00 host sshd[1]: x").is_some());
        assert_eq!(leading_time("GET /index 200"), None);
        assert_eq!(leading_time(""), None);
    }

    #[test]
    fn digest_counts_and_marks_new_templates() {
        let lines: Vec<String> = [
            "disk full on /dev/sda1",
            "user a logged in",
            "user b logged in",
            "user c logged in",
            "disk full on /dev/sdc3",
            "disk full on /dev/sdb2",
            "disk full on /dev/sdd4",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut digest = Digest::default();
        digest.add_baseline("user z logged in");
        for line in &lines {
            digest.add(line, None);
        }
        let rows = digest.finish();
        assert_eq!(rows[0].template, "disk full on <*>");
        assert!(rows[0].new);
        assert_eq!(
            (rows[0].count, rows[0].first_line, rows[0].last_line),
            (4, 1, 7)
        );
        assert_eq!(rows[1].template, "user <*> logged in");
        assert!(!rows[1].new);
    }
}
