//! What the digest keeps of every finished trace, per time slot: per edge (caller,
//! callee, operation) the callee's latency, the caller's wait beyond it and the errors;
//! per service its own time per call; per operation its calls and errors; per slot the
//! slowest traces with their critical paths. Everything here is a count, a
//! [`Histogram`] or a short list, so memory is bounded by the number of distinct keys
//! times the slots, never by the number of spans.

use super::histogram::Histogram;
use super::slots::{Clock, Merge, Series};
use super::tree::Tree;
use rustc_hash::FxHashMap;

/// Slowest traces kept per slot.
pub(super) const SLOWEST: usize = 3;
/// Spans kept of one critical path (those holding the most of its time).
const MAX_STEPS: usize = 200;

/// Calls, errors and latencies of one key in one slot.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub calls: u64,
    pub errors: u64,
    pub latency: Histogram,
    pub wait: Histogram,
}

impl Merge for Cell {
    fn merge(&mut self, other: Cell) {
        self.calls += other.calls;
        self.errors += other.errors;
        self.latency.merge(&other.latency);
        self.wait.merge(&other.wait);
    }
}

/// Calls and errors of an operation in one slot.
#[derive(Debug, Clone, Copy, Default)]
pub struct Count {
    pub calls: u64,
    pub errors: u64,
}

impl Merge for Count {
    fn merge(&mut self, other: Count) {
        self.calls += other.calls;
        self.errors += other.errors;
    }
}

/// The first and last span start seen in a slot.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub first: i64,
    pub last: i64,
    pub spans: u64,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            first: i64::MAX,
            last: i64::MIN,
            spans: 0,
        }
    }
}

impl Merge for Window {
    fn merge(&mut self, other: Window) {
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
        self.spans += other.spans;
    }
}

impl Window {
    /// Seconds between the first and the last start (0 when empty).
    pub fn seconds(&self) -> f64 {
        if self.spans == 0 {
            0.0
        } else {
            (self.last - self.first) as f64 / 1e9
        }
    }
}

/// Whose time a critical-path step is: a service's own, or the wait of a caller's client
/// span on a callee (the network and queues between them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holder {
    Service(u32),
    Wait { caller: u32, callee: u32 },
}

#[derive(Debug, Clone)]
pub struct Step {
    pub service: u32,
    pub op: u32,
    pub depth: u32,
    pub offset: i64,
    pub duration: i64,
    pub on_path: i64,
}

/// One slow trace and its critical path.
#[derive(Debug, Clone)]
pub struct Slow {
    pub trace: u128,
    pub start: i64,
    pub duration: i64,
    pub error: bool,
    pub holders: Vec<(Holder, i64)>,
    pub steps: Vec<Step>,
}

/// Traces that started in one slot: how many, and the slowest.
#[derive(Debug, Clone, Default)]
pub struct TraceCell {
    pub count: u64,
    pub duration: Histogram,
    pub slowest: Vec<Slow>,
}

impl Merge for TraceCell {
    fn merge(&mut self, other: TraceCell) {
        self.count += other.count;
        self.duration.merge(&other.duration);
        self.slowest.extend(other.slowest);
        self.slowest
            .sort_by_key(|s| (std::cmp::Reverse(s.duration), s.trace));
        self.slowest.truncate(SLOWEST);
    }
}

impl TraceCell {
    fn admits(&self, duration: i64) -> bool {
        self.slowest.len() < SLOWEST || self.slowest.iter().any(|s| s.duration < duration)
    }
}

/// Everything kept, by key and slot.
pub struct Aggregates {
    pub clock: Clock,
    /// (caller, callee, callee's operation).
    pub edges: FxHashMap<(u32, u32, u32), Series<Cell>>,
    /// By service: its own time per call.
    pub services: FxHashMap<u32, Series<Cell>>,
    /// (service, operation).
    pub ops: FxHashMap<(u32, u32), Series<Count>>,
    pub traces: Series<TraceCell>,
    pub windows: Series<Window>,
    pub orphans: u64,
    /// Reused by [`local_time`], which runs for every call into a service.
    scratch: Scratch,
}

#[derive(Default)]
struct Scratch {
    stack: Vec<usize>,
    waiting: Vec<(i64, i64)>,
}

impl Aggregates {
    pub fn new(clock: Clock) -> Aggregates {
        Aggregates {
            clock,
            edges: FxHashMap::default(),
            services: FxHashMap::default(),
            ops: FxHashMap::default(),
            traces: Series::default(),
            windows: Series::default(),
            orphans: 0,
            scratch: Scratch::default(),
        }
    }

    /// Make room for times `lo..=hi` so no slot changes width while a trace is recorded.
    fn reserve(&mut self, lo: i64, hi: i64, baseline: bool) {
        let halvings = self.clock.slot(lo, baseline).1 + self.clock.slot(hi, baseline).1;
        for _ in 0..halvings {
            self.edges.values_mut().for_each(Series::halve);
            self.services.values_mut().for_each(Series::halve);
            self.ops.values_mut().for_each(Series::halve);
            self.traces.halve();
            self.windows.halve();
        }
    }

    fn slot(&mut self, t: i64, baseline: bool) -> i64 {
        self.clock.slot(t, baseline).0
    }

    /// Fold one finished trace in.
    pub fn record(&mut self, tree: &Tree, trace: u128, baseline: bool) {
        if tree.is_empty() {
            return;
        }
        let lo = tree.spans.iter().map(|s| s.start).min().unwrap_or(0);
        let hi = tree.spans.iter().map(|s| s.start).max().unwrap_or(0);
        self.reserve(lo, hi, baseline);
        for i in 0..tree.len() {
            self.record_span(tree, i, baseline);
        }
        self.record_trace(tree, trace, baseline);
    }

    fn record_span(&mut self, tree: &Tree, i: usize, baseline: bool) {
        let span = tree.spans[i];
        let slot = self.slot(span.start, baseline);
        let window = self.windows.at(slot);
        window.first = window.first.min(span.start);
        window.last = window.last.max(span.start);
        window.spans += 1;
        let op = self
            .ops
            .entry((span.service, span.op))
            .or_default()
            .at(slot);
        op.calls += 1;
        op.errors += u64::from(span.error);
        let parent_index = tree.parent(i);
        let parent = parent_index.map(|p| tree.spans[p]);
        if tree.is_orphan(i) {
            self.orphans += 1;
        }
        if let Some(p) = parent.filter(|p| p.service != span.service) {
            let cell = self
                .edges
                .entry((p.service, span.service, span.op))
                .or_default()
                .at(slot);
            cell.calls += 1;
            cell.errors += u64::from(span.error);
            cell.latency.add(span.duration().max(0) as u64);
            if let Some(caller) = parent_index.filter(|_| p.kind.waits_on_remote()) {
                cell.wait.add(tree.self_time(caller) as u64);
            }
        }
        if parent.is_none_or(|p| p.service != span.service) {
            let own = local_time(tree, i, &mut self.scratch);
            let cell = self.services.entry(span.service).or_default().at(slot);
            cell.calls += 1;
            cell.errors += u64::from(span.error);
            cell.latency.add(own as u64);
        }
    }

    fn record_trace(&mut self, tree: &Tree, trace: u128, baseline: bool) {
        let root = tree.root();
        let (start, end) = match root {
            Some(r) => (tree.spans[r].start, tree.spans[r].end),
            None => (
                tree.spans.iter().map(|s| s.start).min().unwrap_or(0),
                tree.spans.iter().map(|s| s.end).max().unwrap_or(0),
            ),
        };
        let duration = end - start;
        let slot = self.slot(start, baseline);
        let cell = self.traces.at(slot);
        cell.count += 1;
        cell.duration.add(duration.max(0) as u64);
        if let Some(root) = root.filter(|_| cell.admits(duration)) {
            let slow = slow_trace(tree, trace, root);
            cell.merge(TraceCell {
                slowest: vec![slow],
                ..TraceCell::default()
            });
        }
    }
}

/// The own time of one call into a service: the entry span's duration minus the time
/// in it spent waiting on other services (the union of its client spans that reach
/// another service, and of remote children of its other spans). A union, not a sum of
/// self times: a framework span that runs beside the outgoing call (Spring's
/// `FilteringWebHandler.handle` next to the gateway's `HTTP POST`) is not counted twice.
fn local_time(tree: &Tree, entry: usize, scratch: &mut Scratch) -> i64 {
    let span = tree.spans[entry];
    let Scratch { stack, waiting } = scratch;
    waiting.clear();
    stack.clear();
    stack.push(entry);
    while let Some(i) = stack.pop() {
        let waits = tree.spans[i].kind.waits_on_remote() && tree.has_remote_child(i);
        if waits {
            waiting.push((tree.spans[i].start, tree.spans[i].end));
        }
        for &c in tree.children(i) {
            let child = tree.spans[c as usize];
            if child.service == span.service {
                stack.push(c as usize);
            } else if !waits {
                waiting.push((child.start, child.end));
            }
        }
    }
    waiting.sort_unstable();
    let (mut covered, mut reach) = (0, span.start);
    for &(from, to) in waiting.iter() {
        let (from, to) = (from.max(reach), to.min(span.end));
        if to > from {
            covered += to - from;
            reach = to;
        }
    }
    (span.duration() - covered).max(0)
}

/// Whose time a span on a critical path is.
fn holder(tree: &Tree, i: usize) -> Holder {
    let span = &tree.spans[i];
    let remote = tree
        .children(i)
        .iter()
        .map(|&c| tree.spans[c as usize].service)
        .find(|&s| s != span.service);
    match remote {
        Some(callee) if span.kind.waits_on_remote() => Holder::Wait {
            caller: span.service,
            callee,
        },
        _ => Holder::Service(span.service),
    }
}

fn slow_trace(tree: &Tree, trace: u128, root: usize) -> Slow {
    let r = tree.spans[root];
    let path = tree.critical_path(root);
    let mut holders: FxHashMap<Holder, i64> = FxHashMap::default();
    for step in &path {
        *holders.entry(holder(tree, step.span as usize)).or_default() += step.on_path;
    }
    let mut holders: Vec<(Holder, i64)> = holders.into_iter().filter(|(_, t)| *t > 0).collect();
    holders.sort_by_key(|(h, t)| (std::cmp::Reverse(*t), format!("{h:?}")));
    let mut steps: Vec<Step> = path
        .iter()
        .map(|p| {
            let s = tree.spans[p.span as usize];
            Step {
                service: s.service,
                op: s.op,
                depth: p.depth,
                offset: s.start - r.start,
                duration: s.duration(),
                on_path: p.on_path,
            }
        })
        .collect();
    if steps.len() > MAX_STEPS {
        let mut by_time: Vec<i64> = steps.iter().map(|s| s.on_path).collect();
        by_time.sort_unstable_by(|a, b| b.cmp(a));
        let cut = by_time[MAX_STEPS - 1];
        let mut kept = 0;
        steps.retain(|s| {
            let keep = s.depth == 0 || (s.on_path >= cut && kept < MAX_STEPS);
            kept += usize::from(keep);
            keep
        });
    }
    Slow {
        trace,
        start: r.start,
        duration: r.duration(),
        error: tree.spans.iter().any(|s| s.error),
        holders,
        steps,
    }
}
