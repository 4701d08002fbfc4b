//! Traces: the service call graph, the slow edge and the service that got slower, from
//! spans streamed in OTLP/JSON or Jaeger JSON. Pure: text in, a typed
//! [`TraceReport`](crate::protocol::digest::TraceReport) out.
//!
//! The one idea: a trace's spans are spread over many export lines (the Collector
//! writes one line per batch, per service), so spans wait in a per-trace buffer until
//! the trace is finished, and are then folded into bounded aggregates and dropped. A
//! trace is finished when the newest span end seen (the *watermark*) is [`SETTLE`] past
//! its last span and it has a root and no missing parent — or [`LINGER`] past it in any
//! case, or when the input ends. What is kept after that is per key and time slot
//! ([`slots`]): log-scale histograms ([`histogram`]), counts, and the few slowest traces
//! with their critical paths, so memory does not grow with the number of spans.
//!
//! From a finished trace ([`tree`]): an *edge* is a child span in another service than
//! its parent (caller → callee, keyed by the callee's operation) with the callee's
//! latency, its errors, and — when the parent is a client span — the caller's *wait*
//! beyond the callee's span (network and queues). A service's *own time* per call is
//! its entry span's duration minus the time it spent waiting on other services (the
//! union of its outgoing client spans), so a slow callee does not make every caller
//! above it look slow, and a slow network shows as the caller's wait on that edge, not
//! as anyone's own time.
//!
//! The split: a given onset, a baseline file (`--normal`) before everything else, or —
//! with neither — the slot boundary where latencies shifted most ([`split`]).

mod aggregate;
mod histogram;
mod jaeger;
mod otlp;
pub mod render;
pub mod report;
mod slots;
mod spans;
mod split;
mod tree;

use crate::protocol::digest::{GraphEdge, OnsetSource, TraceReport};
use aggregate::Aggregates;
use rustc_hash::{FxHashMap, FxHashSet};
pub use spans::{Kind, RawSpan};
use tree::{Span, Tree};

/// Nanoseconds past a trace's last span end after which a complete trace is finished.
pub(crate) const SETTLE: i64 = 120 * 1_000_000_000;
/// Nanoseconds past a trace's last span end after which any trace is finished.
pub(crate) const LINGER: i64 = 600 * 1_000_000_000;
/// Spans held in unfinished traces before the oldest traces are finished early.
pub(crate) const MAX_OPEN_SPANS: usize = 1 << 21;
/// Distinct operation names kept per service; the rest are counted as one.
pub(crate) const MAX_OPS_PER_SERVICE: u32 = 500;
const OTHER_OPERATIONS: &str = "(other operations)";
const SWEEP_EVERY: usize = 8192;

/// The two trace formats hunch reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceFormat {
    /// OTLP/JSON, one export request per line (`traces.jsonl`).
    Otlp,
    /// A Jaeger JSON export, `{"data": [...]}` (`traces.json`).
    Jaeger,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TraceError {
    #[error("line {line}, column {column}: {message}")]
    Json {
        line: u64,
        column: usize,
        message: String,
    },
}

impl TraceError {
    fn json(line: u64, e: &serde_json::Error) -> TraceError {
        // serde_json ends its message with the position, which this error says already.
        let text = e.to_string();
        let message = text
            .rfind(" at line ")
            .map_or(text.as_str(), |at| &text[..at]);
        TraceError::Json {
            line: line + e.line() as u64 - 1,
            column: e.column(),
            message: message.to_string(),
        }
    }
}

/// A trace still receiving spans.
#[derive(Default)]
struct OpenTrace {
    spans: Vec<Span>,
    last_end: i64,
    /// Known to have a root and every parent, as of `spans.len()` spans.
    complete_at: Option<usize>,
}

impl OpenTrace {
    fn is_complete(&mut self) -> bool {
        if self.complete_at == Some(self.spans.len()) {
            return true;
        }
        self.spans.sort_unstable_by_key(|s| s.id);
        let has = |id: u64| self.spans.binary_search_by_key(&id, |s| s.id).is_ok();
        let complete = self.spans.iter().any(|s| s.parent == 0)
            && self.spans.iter().all(|s| s.parent == 0 || has(s.parent));
        if complete {
            self.complete_at = Some(self.spans.len());
        }
        complete
    }

    fn is_due(&mut self, watermark: i64) -> bool {
        let idle = watermark.saturating_sub(self.last_end);
        idle > LINGER || (idle > SETTLE && self.is_complete())
    }
}

/// The streaming trace digest: feed it lines or documents, then [`Digester::finish`].
pub struct Digester {
    services: spans::Interner,
    ops: spans::Interner,
    ops_per_service: FxHashMap<u32, u32>,
    known_ops: FxHashSet<(u32, u32)>,
    open: FxHashMap<u128, OpenTrace>,
    open_spans: usize,
    watermark: i64,
    since_sweep: usize,
    agg: Aggregates,
    baseline: bool,
    lines: u64,
    skipped: u64,
    cut_early: u64,
    torn: Option<TraceError>,
}

impl Digester {
    /// `onset` in unix nanoseconds; `with_baseline` when a baseline file will be fed
    /// (under [`Digester::set_baseline`]) before the incident's spans.
    pub fn new(onset: Option<i64>, with_baseline: bool) -> Digester {
        Digester {
            services: Default::default(),
            ops: Default::default(),
            ops_per_service: Default::default(),
            known_ops: Default::default(),
            open: Default::default(),
            open_spans: 0,
            watermark: i64::MIN,
            since_sweep: 0,
            agg: Aggregates::new(slots::Clock::new(onset, with_baseline)),
            baseline: false,
            lines: 0,
            skipped: 0,
            cut_early: 0,
            torn: None,
        }
    }

    /// Whether the spans fed from now on are the baseline ("before" whatever their
    /// time). Switching finishes every open trace.
    pub fn set_baseline(&mut self, baseline: bool) {
        if baseline != self.baseline {
            self.finish_all();
            self.baseline = baseline;
        }
    }

    /// One line of OTLP/JSON. A line that is not JSON is an error naming it — unless it
    /// is the last one (a file still being written ends in a torn line): the error is
    /// held until another line comes, and [`Digester::finish`] notes it instead.
    pub fn otlp_line(&mut self, line: &str) -> Result<(), TraceError> {
        self.lines += 1;
        if let Some(torn) = self.torn.take() {
            return Err(torn);
        }
        if line.trim().is_empty() {
            return Ok(());
        }
        match otlp::read_request(line, &mut |s| self.take(&s)) {
            Ok(skipped) => self.skipped += skipped,
            Err(e) => self.torn = Some(TraceError::json(self.lines, &e)),
        }
        self.maybe_sweep();
        Ok(())
    }

    /// One OTLP/JSON export request as a whole document (a Tempo answer); unlike a
    /// line, a malformed one is an error at once.
    pub fn otlp_document(&mut self, text: &str) -> Result<(), TraceError> {
        let skipped = otlp::read_request(text, &mut |s| self.take(&s))
            .map_err(|e| TraceError::json(1, &e))?;
        self.skipped += skipped;
        self.maybe_sweep();
        Ok(())
    }

    /// A whole Jaeger JSON document (`{"data": [...]}`).
    pub fn jaeger_document(&mut self, text: &str) -> Result<(), TraceError> {
        let skipped = jaeger::read_document(text, &mut |s| self.take(&s))
            .map_err(|e| TraceError::json(1, &e))?;
        self.skipped += skipped;
        self.maybe_sweep();
        Ok(())
    }

    fn take(&mut self, raw: &RawSpan) {
        if let Some(span) = self.compact(raw) {
            self.add(span);
        }
    }

    fn compact(&mut self, raw: &RawSpan) -> Option<(u128, Span)> {
        if raw.start <= 0 {
            self.skipped += 1;
            return None;
        }
        let service = self.services.intern(raw.service);
        let op = self.op_id(service, raw.name);
        let span = Span {
            id: raw.id,
            parent: raw.parent.unwrap_or(0),
            start: raw.start,
            end: raw.end.max(raw.start),
            service,
            op,
            kind: raw.kind,
            error: raw.error,
        };
        Some((raw.trace, span))
    }

    /// The operation's number; past [`MAX_OPS_PER_SERVICE`] names in one service (ids
    /// in span names), new names count as one.
    fn op_id(&mut self, service: u32, name: &str) -> u32 {
        let op = self.ops.intern(name);
        if self.known_ops.contains(&(service, op)) {
            return op;
        }
        let count = self.ops_per_service.entry(service).or_default();
        if *count >= MAX_OPS_PER_SERVICE {
            return self.ops.intern(OTHER_OPERATIONS);
        }
        *count += 1;
        self.known_ops.insert((service, op));
        op
    }

    fn add(&mut self, (trace, span): (u128, Span)) {
        self.watermark = self.watermark.max(span.end);
        let open = self.open.entry(trace).or_default();
        open.last_end = open.last_end.max(span.end);
        open.spans.push(span);
        self.open_spans += 1;
        self.since_sweep += 1;
    }

    fn maybe_sweep(&mut self) {
        if self.since_sweep >= SWEEP_EVERY || self.open_spans > MAX_OPEN_SPANS {
            self.sweep();
        }
    }

    /// Finish the traces that are due, and the oldest ones when too many spans wait.
    fn sweep(&mut self) {
        self.since_sweep = 0;
        let watermark = self.watermark;
        let due: Vec<u128> = self
            .open
            .iter_mut()
            .filter_map(|(id, t)| t.is_due(watermark).then_some(*id))
            .collect();
        due.into_iter().for_each(|id| self.finish_trace(id));
        if self.open_spans > MAX_OPEN_SPANS {
            let mut by_age: Vec<(i64, u128)> =
                self.open.iter().map(|(id, t)| (t.last_end, *id)).collect();
            by_age.sort_unstable();
            for (_, id) in by_age {
                if self.open_spans <= MAX_OPEN_SPANS * 3 / 4 {
                    break;
                }
                self.cut_early += 1;
                self.finish_trace(id);
            }
        }
    }

    fn finish_trace(&mut self, id: u128) {
        if let Some(open) = self.open.remove(&id) {
            self.open_spans -= open.spans.len();
            let tree = Tree::new(open.spans);
            self.agg.record(&tree, id, self.baseline);
        }
    }

    fn finish_all(&mut self) {
        let ids: Vec<u128> = self.open.keys().copied().collect();
        ids.into_iter().for_each(|id| self.finish_trace(id));
    }

    /// Spans waiting in unfinished traces (for the memory tests).
    #[cfg(test)]
    pub(crate) fn open_spans(&self) -> usize {
        self.open_spans
    }

    /// Finish every trace, choose the split and build the report.
    pub fn finish(mut self) -> TraceReport {
        self.finish_all();
        let split = self.split();
        let names = report::Names {
            services: &self.services,
            ops: &self.ops,
        };
        let mut out = report::build(&self.agg, &names, split.0);
        out.notes = self.notes(split.1);
        out
    }

    /// Only the call graph (what `hunch traces graph` prints).
    pub fn finish_graph(mut self) -> Vec<GraphEdge> {
        self.finish_all();
        let names = report::Names {
            services: &self.services,
            ops: &self.ops,
        };
        report::graph(&self.agg, &names)
    }

    fn split(&self) -> (report::Split, Option<f64>) {
        match self.agg.clock {
            slots::Clock::Split { onset } => (
                report::Split {
                    slot: 1,
                    at: onset,
                    source: if onset.is_some() {
                        OnsetSource::Given
                    } else {
                        OnsetSource::Baseline
                    },
                },
                None,
            ),
            slots::Clock::Auto { .. } => match split::best_boundary(&self.agg) {
                Some((slot, shift)) => (
                    report::Split {
                        slot,
                        at: Some(self.agg.clock.slot_start(slot)),
                        source: OnsetSource::LatencyShift,
                    },
                    Some(shift),
                ),
                None => (
                    report::Split {
                        slot: i64::MIN,
                        at: None,
                        source: OnsetSource::None,
                    },
                    None,
                ),
            },
        }
    }

    fn notes(&self, shift: Option<f64>) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(torn) = &self.torn {
            notes.push(format!(
                "the last line is not complete JSON and was skipped ({torn}); a file still being written ends so"
            ));
        }
        if self.skipped > 0 {
            notes.push(format!(
                "{} spans without an id or a start time were skipped",
                self.skipped
            ));
        }
        if self.cut_early > 0 {
            notes.push(format!(
                "{} traces were finished early to bound memory (over {MAX_OPEN_SPANS} spans waited); some of their edges may be missing",
                self.cut_early
            ));
        }
        if shift.is_some_and(|s| s < 1.25f64.ln()) {
            notes.push(
                "no latency moved by more than ×1.25 at the chosen split: it may be noise".into(),
            );
        }
        if self.agg.clock == (slots::Clock::Split { onset: None }) && self.spans_before() == 0 {
            notes.push("the baseline file held no spans".into());
        }
        notes
    }

    fn spans_before(&self) -> u64 {
        self.agg
            .windows
            .0
            .iter()
            .filter(|(s, _)| *s < 1)
            .map(|(_, w)| w.spans)
            .sum()
    }
}

/// Stream OTLP/JSON lines or a Jaeger document into a digester; the helper the bundle,
/// the CLI and the live tools share.
pub fn feed(digester: &mut Digester, format: TraceFormat, text: &str) -> Result<(), TraceError> {
    match format {
        TraceFormat::Otlp => text.lines().try_for_each(|l| digester.otlp_line(l)),
        TraceFormat::Jaeger => digester.jaeger_document(text),
    }
}

#[cfg(test)]
mod tests;
