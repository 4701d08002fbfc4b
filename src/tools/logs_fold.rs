//! The `logs_digest` report as a fold over log records, one at a time, so a log of any
//! size streams through it.
//!
//! What it keeps grows with the distinct masked lines (signatures) of each service and
//! level, never with the lines: per signature its counts before and after the split,
//! first and last time, lines per minute, the first line's message, and the first and
//! last few raw lines. Templates come from clustering one representative message per
//! signature, fed in the order of the signatures' first lines — exactly what clustering
//! every line in time order would give, since a signature's first line is where the
//! clustering first meets it.
//!
//! Records may come in any order: "first" is by `(time, position)`, the order a stable
//! sort by time gives. The raw lines behind the digest (what `read_output(raw=true)`
//! pages through) are kept whole up to [`RAW_WHOLE_BYTES`]; past that, the raw data is
//! the first and last [`SAMPLE_LINES`] lines of every template, and says where the rest is.

use crate::analysis::templates;
use crate::bundle::LogLine;
use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, HashMap};

/// Raw lines kept whole behind a digest, in bytes; past it they are sampled.
pub(crate) const RAW_WHOLE_BYTES: usize = 8 << 20;
/// Raw lines kept at each end of a template once the raw data is sampled.
pub(crate) const SAMPLE_LINES: usize = 3;

/// Where a line falls in the time order: its time, then its position in the input.
type Key = (DateTime<Utc>, u64);

#[derive(Default)]
pub(crate) struct Signature {
    first: Option<Key>,
    pub sample: String,
    pub before: u64,
    pub after: u64,
    pub first_ts: i64,
    pub last_ts: i64,
    pub per_minute: HashMap<i64, u32>,
    head: Vec<(Key, String)>,
    tail: Vec<(Key, String)>,
}

/// One service and level: its signatures, numbered by first appearance in the input.
#[derive(Default)]
struct Stream {
    index: FxHashMap<Box<str>, u32>,
    signatures: Vec<Signature>,
}

/// A template of one stream: its text and the signatures folded into it.
pub(crate) struct Template<'a> {
    pub service: &'a str,
    pub level: &'a str,
    pub template: String,
    pub signatures: Vec<&'a Signature>,
}

impl Template<'_> {
    /// The message of the template's first line.
    pub(crate) fn sample(&self) -> &str {
        self.signatures
            .iter()
            .min_by_key(|s| s.first)
            .map_or("", |s| s.sample.as_str())
    }
}

/// The fold: add the selected lines, then read the templates.
pub(crate) struct LogFold {
    split: i64,
    /// By service, then level.
    streams: BTreeMap<String, BTreeMap<String, Stream>>,
    pub lines: usize,
    /// Earliest and latest time of the lines added (starting at the split).
    pub span: (i64, i64),
    position: u64,
    whole: Option<Vec<(Key, String)>>,
    raw_bytes: usize,
    raw_cap: usize,
    scratch: String,
    /// The raw line being added, and the last second formatted (lines share seconds).
    line: String,
    second: (i64, String),
}

impl LogFold {
    pub(crate) fn new(split: i64) -> LogFold {
        LogFold::with_raw_cap(split, RAW_WHOLE_BYTES)
    }

    /// A fold that keeps at most `raw_cap` bytes of raw lines whole.
    pub(crate) fn with_raw_cap(split: i64, raw_cap: usize) -> LogFold {
        LogFold {
            raw_cap,
            line: String::new(),
            second: (i64::MIN, String::new()),
            split,
            streams: BTreeMap::new(),
            lines: 0,
            span: (split, split),
            position: 0,
            whole: Some(Vec::new()),
            raw_bytes: 0,
            scratch: String::new(),
        }
    }

    pub(crate) fn add(&mut self, line: &LogLine) {
        self.lines += 1;
        self.position += 1;
        let key = (line.ts, self.position);
        let ts = line.ts.timestamp();
        self.span = (self.span.0.min(ts), self.span.1.max(ts));
        let mut raw = std::mem::take(&mut self.line);
        self.raw_line(line, &mut raw);
        self.keep_whole(key, &raw);
        if !self.streams.contains_key(&line.service) {
            self.streams.insert(line.service.clone(), BTreeMap::new());
        }
        let levels = self.streams.get_mut(&line.service).expect("just added");
        if !levels.contains_key(&line.level) {
            levels.insert(line.level.clone(), Stream::default());
        }
        let stream = levels.get_mut(&line.level).expect("just added");
        templates::signature_of(&line.message, &mut self.scratch);
        let id = match stream.index.get(self.scratch.as_str()) {
            Some(&id) => id as usize,
            None => {
                let id = stream.signatures.len();
                stream.index.insert(self.scratch.as_str().into(), id as u32);
                stream.signatures.push(Signature {
                    first_ts: ts,
                    last_ts: ts,
                    ..Signature::default()
                });
                id
            }
        };
        let s = &mut stream.signatures[id];
        if s.first.is_none_or(|first| key < first) {
            s.first = Some(key);
            s.sample.clone_from(&line.message);
        }
        if ts < self.split {
            s.before += 1;
        } else {
            s.after += 1;
        }
        s.first_ts = s.first_ts.min(ts);
        s.last_ts = s.last_ts.max(ts);
        *s.per_minute.entry(ts.div_euclid(60) * 60).or_default() += 1;
        keep_ends(s, key, &raw);
        self.line = raw;
    }

    /// `line` as the raw data holds it, `<time> <LEVEL> <service> <message>`, into `out`.
    fn raw_line(&mut self, line: &LogLine, out: &mut String) {
        let ts = line.ts.timestamp();
        if self.second.0 != ts {
            self.second = (ts, super::telemetry::iso(ts));
        }
        out.clear();
        for part in [&self.second.1, &line.level, &line.service, &line.message] {
            out.push_str(part);
            out.push(' ');
        }
        out.pop();
        out.push('\n');
    }

    fn keep_whole(&mut self, key: Key, raw: &str) {
        self.raw_bytes += raw.len();
        if self.raw_bytes > self.raw_cap {
            self.whole = None;
        }
        if let Some(whole) = &mut self.whole {
            whole.push((key, raw.to_string()));
        }
    }

    /// The time the counts are split at.
    pub(crate) fn split(&self) -> i64 {
        self.split
    }

    /// Every template of every stream, streams in (service, level) order and templates
    /// numbered by first appearance in time order within each.
    pub(crate) fn templates(&self) -> Vec<Template<'_>> {
        let mut out = Vec::new();
        let streams = self
            .streams
            .iter()
            .flat_map(|(service, levels)| levels.iter().map(move |(level, s)| (service, level, s)));
        for (service, level, stream) in streams {
            let mut order: Vec<usize> = (0..stream.signatures.len()).collect();
            order.sort_by_key(|&i| stream.signatures[i].first);
            let mut clusters = templates::LineClusters::default();
            for &i in &order {
                clusters.add(&stream.signatures[i].sample);
            }
            let clustered = clusters.finish();
            let first = out.len();
            for (template, _) in clustered.templates.iter().zip(0..) {
                out.push(Template {
                    service,
                    level,
                    template: template.clone(),
                    signatures: Vec::new(),
                });
            }
            for (&i, &id) in order.iter().zip(&clustered.ids) {
                out[first + id as usize]
                    .signatures
                    .push(&stream.signatures[i]);
            }
        }
        out
    }

    /// The raw lines behind the digest: every line in time order when they fit in
    /// [`RAW_WHOLE_BYTES`], else a note (naming `source` when given) and the first and
    /// last lines of each template, in `order` (indices into [`LogFold::templates`]).
    pub(crate) fn raw(&mut self, order: &[usize], source: Option<&str>) -> String {
        if let Some(mut whole) = self.whole.take() {
            whole.sort_by_key(|(key, _)| *key);
            return whole.into_iter().map(|(_, line)| line).collect();
        }
        let mut out = format!(
            "# {} ({} bytes) are behind this digest, more than the {} kept whole: here are the first and last {SAMPLE_LINES} of each template{}\n",
            crate::text::plural(self.lines, "line"),
            self.raw_bytes,
            self.raw_cap,
            source
                .map(|s| format!("; every line is in {s}"))
                .unwrap_or_default()
        );
        let templates = self.templates();
        for &t in order {
            let Some(template) = templates.get(t) else {
                continue;
            };
            let count: u64 = template.signatures.iter().map(|s| s.before + s.after).sum();
            out.push_str(&format!(
                "# {} {} {} ({})\n",
                template.service,
                template.level,
                template.template,
                crate::text::plural(count as usize, "line")
            ));
            let mut head: Vec<&(Key, String)> =
                template.signatures.iter().flat_map(|s| &s.head).collect();
            head.sort_by_key(|(key, _)| *key);
            head.truncate(SAMPLE_LINES);
            let mut tail: Vec<&(Key, String)> =
                template.signatures.iter().flat_map(|s| &s.tail).collect();
            tail.sort_by_key(|(key, _)| *key);
            let tail = &tail[tail.len().saturating_sub(SAMPLE_LINES)..];
            let mut shown: Vec<&(Key, String)> =
                head.into_iter().chain(tail.iter().copied()).collect();
            shown.sort_by_key(|(key, _)| *key);
            shown.dedup_by_key(|(key, _)| *key);
            for (_, line) in shown {
                out.push_str(line);
            }
        }
        out
    }
}

/// Keep `raw` among the signature's first and last [`SAMPLE_LINES`] lines by key:
/// `head` ascending, `tail` descending, each at most that long. A line that displaces
/// another reuses its buffer, so a sorted log allocates nothing here once they are full.
fn keep_ends(s: &mut Signature, key: Key, raw: &str) {
    keep_end(&mut s.head, key, raw, |new, old| new < old);
    keep_end(&mut s.tail, key, raw, |new, old| new > old);
}

fn keep_end(kept: &mut Vec<(Key, String)>, key: Key, raw: &str, before: fn(Key, Key) -> bool) {
    let full = kept.len() == SAMPLE_LINES;
    if full && kept.last().is_some_and(|(k, _)| !before(key, *k)) {
        return;
    }
    let mut buffer = if full {
        kept.pop().map(|(_, b)| b).unwrap_or_default()
    } else {
        String::new()
    };
    buffer.clear();
    buffer.push_str(raw);
    let at = kept.partition_point(|(k, _)| before(*k, key));
    kept.insert(at, (key, buffer));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::Bundle;
    use crate::bundle::logs::{LogFile, LogSource};
    use crate::telemetry::{stream_digest, template_digest};

    /// The demo's logs written twice over (so the file goes back in time halfway), as a
    /// bundle streams them, and the same lines held and sorted.
    fn twice_over() -> (tempfile::TempDir, LogSource, Vec<LogLine>) {
        let demo = Bundle::demo();
        let text: String = demo
            .logs
            .iter()
            .map(|l| {
                format!(
                    "{} {} {} {}\n",
                    l.ts.to_rfc3339(),
                    l.level,
                    l.service,
                    l.message
                )
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs.log");
        std::fs::write(&path, text.repeat(2)).unwrap();
        let file = LogFile::open(&path, &mut |_| {}).unwrap();
        assert!(!file.index.in_time_order);
        let mut held: Vec<LogLine> = demo.logs.iter().chain(&demo.logs).cloned().collect();
        held.sort_by_key(|l| l.ts);
        (dir, LogSource::File(file), held)
    }

    #[test]
    fn a_streamed_file_out_of_time_order_digests_like_the_sorted_lines() {
        let (_dir, source, held) = twice_over();
        let split = held[held.len() / 2].ts.timestamp();
        for min_level in [0, 1] {
            let streamed = stream_digest(&source, None, min_level, split).unwrap();
            let selected: Vec<&LogLine> = held
                .iter()
                .filter(|l| min_level == 0 || l.level != "INFO")
                .collect();
            let mut start = crate::telemetry::RecordStart::default();
            held.iter().for_each(|l| start.add(l.ts.timestamp(), split));
            let sorted = template_digest(&selected, split, start.from());
            assert_eq!(streamed.text, sorted.text);
            assert_eq!(streamed.digest, sorted.digest);
            assert_eq!(streamed.raw, sorted.raw);
        }
        let one = stream_digest(&source, Some("payments"), 0, split).unwrap();
        assert!(one.text.contains("payments") && !one.text.contains("\"catalog\""));
    }

    #[test]
    fn past_the_cap_the_raw_lines_are_the_ends_of_each_template_and_name_the_file() {
        let (_dir, _source, held) = twice_over();
        let split = held[held.len() / 2].ts.timestamp();
        let mut fold = LogFold::with_raw_cap(split, 4096);
        held.iter().for_each(|l| fold.add(l));
        let order: Vec<usize> = (0..fold.templates().len()).collect();
        let raw = fold.raw(&order, Some("/data/logs.log"));
        let first = raw.lines().next().unwrap();
        assert!(first.contains("every line is in /data/logs.log"), "{first}");
        let headers = raw.lines().filter(|l| l.starts_with("# ")).count();
        assert_eq!(headers, order.len() + 1);
        let kept = raw.lines().filter(|l| !l.starts_with('#')).count();
        assert!(kept <= order.len() * 2 * SAMPLE_LINES && kept >= order.len());
        assert!(raw.len() < 2 * held.len() * 40, "sampled, not whole");
        // The lines kept are real lines, in time order within a template.
        let whole = template_digest(&held.iter().collect::<Vec<_>>(), split, None)
            .raw
            .unwrap();
        assert!(
            raw.lines()
                .filter(|l| !l.starts_with('#'))
                .all(|l| whole.contains(l))
        );
    }
}
