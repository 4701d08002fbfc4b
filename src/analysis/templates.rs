//! Folding log messages into templates: variable tokens (numbers, hex ids, IPs, UUIDs,
//! durations, `key=value` values, quoted strings) become `<*>`, and lines with the same
//! template are counted together. Good enough to turn hundreds of lines into a handful
//! of rows the agent and the engineer can read.

use rustc_hash::FxHashMap;
use std::collections::HashMap;

/// The template of one message.
pub fn template_of(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for (i, token) in message.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        mask_into(token, &mut out);
    }
    out
}

/// Append the template form of one token to `out`, allocating nothing: the wrapping
/// punctuation stays, the value inside becomes `<*>` where it is variable.
fn mask_into(token: &str, out: &mut String) {
    const WRAP: &[char] = &['(', ')', ',', ';', ':', '[', ']', '"', '\'', '{', '}'];
    let wrap = |b: &u8| {
        matches!(
            b,
            b'(' | b')' | b',' | b';' | b':' | b'[' | b']' | b'"' | b'\'' | b'{' | b'}'
        )
    };
    let bytes = token.as_bytes();
    let lead = bytes.iter().take_while(|b| wrap(b)).count();
    let trail = bytes[lead..].iter().rev().take_while(|b| wrap(b)).count();
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
    if let Some((key, value)) = core.split_once('=')
        && !key.is_empty()
        && key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
    {
        if value.is_empty() || !is_variable(value.trim_matches(WRAP)) {
            out.push_str(core);
        } else {
            out.push_str(key);
            out.push_str("=<*>");
        }
    } else if core.contains('/')
        && core.bytes().any(|c| c.is_ascii_digit())
        && !core.contains("://")
    {
        for (i, segment) in core.split('/').enumerate() {
            if i > 0 {
                out.push('/');
            }
            out.push_str(if is_variable(segment) {
                WILDCARD
            } else {
                segment
            });
        }
    } else if let Some((key, value)) = core.split_once(':')
        && !key.is_empty()
        && key.bytes().all(|c| c.is_ascii_alphabetic())
        && value.bytes().any(|c| c.is_ascii_digit())
    {
        out.push_str(key);
        out.push_str(":<*>");
    } else if is_variable(core) {
        out.push_str(WILDCARD);
    } else {
        out.push_str(core);
    }
    out.push_str(&token[lead + core.len()..]);
}

const CALENDAR: &[&str] = &[
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Mon",
    "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
];

/// Top-level domains that mark a token as a host name (`troi.bluesky-technologies.com`).
const HOST_SUFFIXES: &[&str] = &[
    ".com",
    ".net",
    ".org",
    ".edu",
    ".gov",
    ".io",
    ".cn",
    ".jp",
    ".de",
    ".uk",
    ".fr",
    ".ru",
    ".br",
    ".in",
    ".local",
    ".internal",
];

fn is_variable(token: &str) -> bool {
    if token.len() == 3 && CALENDAR.contains(&token) {
        return true;
    }
    if token.contains('.')
        && HOST_SUFFIXES.iter().any(|suffix| {
            token.len() > suffix.len()
                && token.as_bytes()[token.len() - suffix.len()..]
                    .eq_ignore_ascii_case(suffix.as_bytes())
        })
    {
        return true;
    }
    // One pass over the bytes for the facts the rules below need.
    let (mut digits, mut letters, mut dots) = (0usize, 0usize, 0usize);
    let (mut hex, mut numeric_like) = (true, true);
    for b in token.bytes() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'a'..=b'f' | b'A'..=b'F' => {
                letters += 1;
                numeric_like = false;
            }
            b'g'..=b'z' | b'G'..=b'Z' => {
                letters += 1;
                hex = false;
                numeric_like = false;
            }
            b'.' => {
                dots += 1;
                hex = false;
            }
            b'-' => {}
            b':' | b'/' | b'_' | b'%' | b'+' => hex = false,
            _ => {
                hex = false;
                numeric_like = false;
            }
        }
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
    let with_unit = token.starts_with(|c: char| c.is_ascii_digit())
        && token
            .trim_end_matches(|c: char| c.is_ascii_alphabetic())
            .bytes()
            .all(|c| c.is_ascii_digit() || c == b'.');
    // An id after a separator: node-96, worker_12, pid@4711.
    let numbered = token
        .rsplit(['-', '_', '@', '#'])
        .next()
        .is_some_and(|tail| {
            !tail.is_empty() && tail.len() < token.len() && tail.bytes().all(|c| c.is_ascii_digit())
        });
    with_unit || numbered
}

/// One learned template.
#[derive(Debug, Clone)]
pub struct Template {
    pub tokens: Vec<String>,
    pub count: u64,
}

impl Template {
    pub fn text(&self) -> String {
        self.tokens.join(" ")
    }
}

/// An online log parser in the Drain family: messages are masked, bucketed by token
/// count and first token, and joined to the most similar template of their bucket
/// (positions that differ become `<*>`), or start a new one. One pass, no per-dataset
/// settings; memory grows with the number of templates, not of lines.
#[derive(Debug)]
pub struct Parser {
    buckets: std::collections::HashMap<(usize, String), Vec<usize>>,
    templates: Vec<Template>,
    similarity: f64,
}

impl Default for Parser {
    fn default() -> Parser {
        Parser {
            buckets: Default::default(),
            templates: Vec::new(),
            similarity: 0.5,
        }
    }
}

const WILDCARD: &str = "<*>";

impl Parser {
    pub fn templates(&self) -> &[Template] {
        &self.templates
    }

    /// Add a message; returns its template id.
    pub fn add(&mut self, message: &str) -> usize {
        self.add_tokens(message.split_whitespace().map(masked).collect())
    }

    fn add_tokens(&mut self, tokens: Vec<String>) -> usize {
        let first = tokens
            .first()
            .map(|t| {
                if t.contains(WILDCARD) {
                    WILDCARD.to_string()
                } else {
                    t.clone()
                }
            })
            .unwrap_or_default();
        let key = (tokens.len(), first);
        let candidates = self.buckets.entry(key).or_default();
        let mut best: Option<(usize, f64)> = None;
        for &id in candidates.iter() {
            let template = &self.templates[id];
            let same = template
                .tokens
                .iter()
                .zip(&tokens)
                .filter(|(t, m)| t == m || *t == WILDCARD)
                .count();
            let score = same as f64 / tokens.len().max(1) as f64;
            if score >= self.similarity && best.is_none_or(|(_, b)| score > b) {
                best = Some((id, score));
            }
        }
        match best {
            Some((id, _)) => {
                let template = &mut self.templates[id];
                for (t, m) in template.tokens.iter_mut().zip(&tokens) {
                    if t != m {
                        *t = WILDCARD.to_string();
                    }
                }
                template.count += 1;
                id
            }
            None => {
                let id = self.templates.len();
                self.templates.push(Template { tokens, count: 1 });
                candidates.push(id);
                id
            }
        }
    }
}

/// Distinct values a position must take inside one cluster to be a parameter. Two values
/// (`client SPP` / `client WindowsUpdateAgent`) are usually two events; three or more
/// (`user cyrus/news/root`) a parameter.
const MIN_VALUES: usize = 3;
/// The same for `key=literal` tokens, which name states more often than parameters.
const MIN_FLAG_VALUES: usize = 5;

/// A token as it appears in a template.
fn masked(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    push_masked(token, &mut out);
    out
}

/// Append a token as it appears in a template, with fast paths for the common cases: a
/// word masking leaves as it is, and a plain number.
fn push_masked(token: &str, out: &mut String) {
    let plain = !token
        .bytes()
        .any(|b| b.is_ascii_digit() || b == b'=' || b == b'.')
        && (token.len() != 3 || !CALENDAR.contains(&token))
        && token != "()"
        && token != "[]";
    if plain {
        return out.push_str(token);
    }
    // Plain numbers, the commonest variable, need no further analysis.
    if token.bytes().any(|b| b.is_ascii_digit())
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b':')
    {
        return out.push_str(WILDCARD);
    }
    mask_into(token, out)
}

/// Separates the masked tokens of a signature key (a control character, which
/// sanitized log text does not contain).
const SEPARATOR: char = '\u{1f}';

/// Distinct masked messages ("signatures"): each line is masked into one reused buffer
/// and looked up by that text, so a line seen before costs a scan and a hash and
/// allocates nothing; the clustering below works once per signature, and memory grows
/// with the number of distinct signatures, not of lines. Hand-written because this loop
/// is the whole cost of folding a million lines.
#[derive(Default)]
struct Signatures {
    index: FxHashMap<Box<str>, u32>,
    tokens: Vec<Vec<String>>,
    scratch: String,
}

impl Signatures {
    fn intern(&mut self, message: &str) -> u32 {
        let mut key = std::mem::take(&mut self.scratch);
        key.clear();
        for token in message.split_ascii_whitespace() {
            if !key.is_empty() {
                key.push(SEPARATOR);
            }
            push_masked(token, &mut key);
        }
        let id = match self.index.get(key.as_str()) {
            Some(&id) => id,
            None => {
                let id = self.tokens.len() as u32;
                self.tokens.push(
                    key.split(SEPARATOR)
                        .filter(|t| !t.is_empty())
                        .map(str::to_string)
                        .collect(),
                );
                self.index.insert(key.as_str().into(), id);
                id
            }
        };
        self.scratch = key;
        id
    }

    /// A cluster id per signature: the Drain-style [`Parser`] groups similar signatures;
    /// then each group is split at any position that takes only one or two distinct
    /// values — a constant that names a different event — so only positions with many
    /// values remain parameters.
    fn cluster(&self) -> Vec<usize> {
        let mut parser = Parser::default();
        let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
        for (sig, tokens) in self.tokens.iter().enumerate() {
            members
                .entry(parser.add_tokens(tokens.clone()))
                .or_default()
                .push(sig);
        }
        let mut cluster_of = vec![0usize; self.tokens.len()];
        let mut next = 0;
        let mut work: Vec<Vec<usize>> = members.into_values().collect();
        work.sort();
        while let Some(sigs) = work.pop() {
            let len = self.tokens[sigs[0]].len();
            let split_at = (0..len).find(|&p| {
                let mut values: Vec<&str> =
                    sigs.iter().map(|&s| self.tokens[s][p].as_str()).collect();
                values.sort_unstable();
                values.dedup();
                // `key=literal` values read like flags (user=root / user=guest): a few of
                // them are separate events; only many of them make a parameter.
                let flags = values
                    .iter()
                    .all(|v| v.contains('=') && !v.ends_with(WILDCARD));
                let needed = if flags { MIN_FLAG_VALUES } else { MIN_VALUES };
                values.len() > 1 && values.len() < needed
            });
            match split_at {
                Some(p) => {
                    let mut parts: HashMap<&str, Vec<usize>> = HashMap::new();
                    for &sig in &sigs {
                        parts
                            .entry(self.tokens[sig][p].as_str())
                            .or_default()
                            .push(sig);
                    }
                    let mut parts: Vec<Vec<usize>> = parts.into_values().collect();
                    parts.sort();
                    work.extend(parts);
                }
                None => {
                    for sig in sigs {
                        cluster_of[sig] = next;
                    }
                    next += 1;
                }
            }
        }
        cluster_of
    }
}

/// One cluster id per message, in input order, numbered by first appearance.
pub fn cluster<'a>(messages: impl IntoIterator<Item = &'a str>) -> Vec<usize> {
    let mut signatures = Signatures::default();
    let lines: Vec<u32> = messages.into_iter().map(|m| signatures.intern(m)).collect();
    let cluster_of = signatures.cluster();
    // Cluster ids are dense, so renumbering by first appearance is a table lookup.
    let mut renumber = vec![usize::MAX; signatures.tokens.len()];
    let mut next = 0;
    lines
        .into_iter()
        .map(|sig| {
            let slot = &mut renumber[cluster_of[sig as usize]];
            if *slot == usize::MAX {
                *slot = next;
                next += 1;
            }
            *slot
        })
        .collect()
}

/// The template of a cluster, built from its lines: their masked tokens, with every
/// position that differs between lines made `<*>` (and a trailing `<*>` where lengths
/// differ).
#[derive(Debug, Default, Clone)]
pub struct TemplateBuilder {
    tokens: Option<Vec<String>>,
}

impl TemplateBuilder {
    pub fn add(&mut self, line: &str) {
        let masked: Vec<String> = line.split_whitespace().map(masked).collect();
        self.add_tokens(&masked);
    }

    /// Add a line that is already masked, as its tokens.
    fn add_tokens(&mut self, masked: &[String]) {
        match &mut self.tokens {
            None => self.tokens = Some(masked.to_vec()),
            Some(tokens) => {
                for (t, m) in tokens.iter_mut().zip(masked) {
                    if t != m {
                        *t = WILDCARD.to_string();
                    }
                }
                if tokens.len() != masked.len() {
                    tokens.truncate(tokens.len().min(masked.len()));
                    tokens.push(WILDCARD.to_string());
                }
            }
        }
    }

    pub fn text(&self) -> String {
        self.tokens
            .as_ref()
            .map(|t| t.join(" "))
            .unwrap_or_default()
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

    fn stats_of(&mut self, line: &str) -> &mut SignatureStats {
        let id = self.signatures.intern(line) as usize;
        if id == self.stats.len() {
            self.stats.push(SignatureStats::default());
        }
        &mut self.stats[id]
    }

    /// The templates, new ones first, then most frequent first.
    pub fn finish(self) -> Vec<DigestRow> {
        let cluster_of = self.signatures.cluster();
        let clusters = cluster_of.iter().max().map_or(0, |m| m + 1);
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); clusters];
        for (sig, &c) in cluster_of.iter().enumerate() {
            members[c].push(sig);
        }
        let minutes = self.span.map_or(1, |(lo, hi)| {
            ((hi.div_euclid(60) - lo.div_euclid(60)) + 1) as usize
        });
        let mut rows: Vec<DigestRow> = members
            .into_iter()
            .filter_map(|sigs| {
                let seen: Vec<&SignatureStats> = sigs
                    .iter()
                    .map(|&s| &self.stats[s])
                    .filter(|s| s.count > 0)
                    .collect();
                if seen.is_empty() {
                    return None;
                }
                let mut template = TemplateBuilder::default();
                for &s in &sigs {
                    template.add_tokens(&self.signatures.tokens[s]);
                }
                let mut per_minute: HashMap<i64, u32> = HashMap::new();
                for s in &seen {
                    for (m, c) in &s.per_minute {
                        *per_minute.entry(*m).or_default() += c;
                    }
                }
                Some(DigestRow {
                    template: template.text(),
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
fn burst(per_minute: &HashMap<i64, u32>, minutes: usize) -> Option<Burst> {
    let (&minute, &count) = per_minute
        .iter()
        .max_by_key(|(m, c)| (**c, std::cmp::Reverse(**m)))?;
    let mut counts: Vec<u32> = per_minute.values().copied().collect();
    counts.resize(minutes.max(counts.len()), 0);
    counts.sort_unstable();
    let median = counts[counts.len() / 2];
    (count >= BURST_MIN && count >= BURST_FACTOR * median.max(1)).then_some(Burst {
        minute,
        count,
        median_per_minute: median,
    })
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
    fn clustering_is_deterministic_and_independent_of_input_order() {
        let lines = corpus();
        let first = cluster(lines.iter().map(String::as_str));
        assert_eq!(first, cluster(lines.iter().map(String::as_str)));
        assert_eq!(first[0], 0, "ids are numbered by first appearance");
        let expected = partition(&lines);
        for seed in 1..6u64 {
            // A deterministic shuffle, then map groups back to original line numbers.
            let mut order: Vec<usize> = (0..lines.len()).collect();
            let mut x = seed;
            for i in (1..order.len()).rev() {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                order.swap(i, (x >> 33) as usize % (i + 1));
            }
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
            assert_eq!(back, expected, "seed {seed}");
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
            (3, 1, 6)
        );
        assert_eq!(rows[1].template, "user <*> logged in");
        assert!(!rows[1].new);
    }
}
