//! From the kept aggregates to the typed [`TraceReport`]: split every series at the
//! onset, read percentiles, rank what moved, and name everything.

use super::aggregate::{Aggregates, Cell, Count, Holder, Slow, Window};
use super::histogram::Histogram;
use super::slots::Merge;
use super::spans::Interner;
use crate::protocol::digest::{
    CriticalPath, EdgeStat, GraphEdge, OnsetSource, PathStep, Percentiles, ServiceSelfTime,
    SpanChange, SpanChangeKind, TraceReport,
};
use crate::sanitize::for_display;
use chrono::{TimeZone, Utc};
use std::collections::BTreeMap;

/// Edges the report lists (the graph lists them all).
const MAX_EDGES: usize = 40;
const MAX_CHANGES: usize = 30;
/// Steps of a critical path the report shows.
const MAX_PATH_STEPS: usize = 24;

/// Where the report splits before from after.
#[derive(Debug, Clone, Copy)]
pub struct Split {
    /// The first slot that is "after".
    pub slot: i64,
    /// The onset in unix nanoseconds, when there is one.
    pub at: Option<i64>,
    pub source: OnsetSource,
}

/// The names behind the interned numbers.
pub struct Names<'a> {
    pub services: &'a Interner,
    pub ops: &'a Interner,
}

impl Names<'_> {
    fn service(&self, id: u32) -> String {
        for_display(self.services.name(id))
    }
    fn op(&self, id: u32) -> String {
        for_display(self.ops.name(id))
    }
}

/// Unix nanoseconds as RFC 3339 with milliseconds.
pub(crate) fn rfc3339(ns: i64) -> String {
    Utc.timestamp_nanos(ns)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Seconds with four significant digits: small values are never rounded to zero.
pub fn seconds(ns: f64) -> f64 {
    let s = ns / 1e9;
    if s == 0.0 || !s.is_finite() {
        return 0.0;
    }
    let digits = 3 - s.abs().log10().floor() as i32;
    let p = 10f64.powi(digits);
    (s * p).round() / p
}

fn percentiles(h: &Histogram) -> Option<Percentiles> {
    Some(Percentiles {
        p50: seconds(h.quantile(0.5)?),
        p90: seconds(h.quantile(0.9)?),
        p99: seconds(h.quantile(0.99)?),
    })
}

/// How far a latency moved: the larger log ratio of p50 and p90, trusted as far as the
/// smaller side allows (`m / (m + 3)` for `m` values: half for 3, nearly all for 60), so
/// an edge seen twice before the onset still counts when it moved a hundredfold.
fn latency_shift(before: &Histogram, after: &Histogram) -> f64 {
    let m = before.count().min(after.count()) as f64;
    if m == 0.0 {
        return 0.0;
    }
    let shift = [0.5, 0.9]
        .iter()
        .filter_map(|&q| Some((after.quantile(q)?.max(1.0) / before.quantile(q)?.max(1.0)).ln()))
        .map(f64::abs)
        .fold(0.0, f64::max);
    shift * m / (m + 3.0)
}

fn error_ratio(calls: u64, errors: u64) -> f64 {
    if calls == 0 {
        0.0
    } else {
        errors as f64 / calls as f64
    }
}

/// How much a key moved, for ranking: latency, then errors (a jump from 0% to 50%
/// errors weighs like a latency ×4).
fn movement(before: &Cell, after: &Cell) -> f64 {
    let errors =
        (error_ratio(after.calls, after.errors) - error_ratio(before.calls, before.errors)).abs();
    latency_shift(&before.latency, &after.latency).max(latency_shift(&before.wait, &after.wait))
        + 3.0 * errors
}

pub fn build(agg: &Aggregates, names: &Names, split: Split) -> TraceReport {
    let (windows_before, windows_after) = agg.windows.split(split.slot);
    let mut whole = windows_before;
    whole.merge(windows_after);
    let traces: u64 = agg.traces.0.iter().map(|(_, c)| c.count).sum();
    TraceReport {
        spans: whole.spans,
        traces,
        first: (whole.spans > 0).then(|| rfc3339(whole.first)),
        last: (whole.spans > 0).then(|| rfc3339(whole.last)),
        onset: split.at.map(rfc3339),
        onset_source: split.source,
        spans_before: windows_before.spans,
        spans_after: windows_after.spans,
        graph: graph(agg, names),
        edges_total: agg.edges.len(),
        edges: edges(agg, names, split.slot),
        services: services(agg, names, split.slot),
        changes: changes(agg, names, split.slot, (&windows_before, &windows_after)),
        critical_paths: critical_paths(agg, names, split.slot),
        orphans: agg.orphans,
        notes: Vec::new(),
    }
}

/// Every caller → callee pair, most calls first.
pub fn graph(agg: &Aggregates, names: &Names) -> Vec<GraphEdge> {
    let mut pairs: BTreeMap<(String, String), u64> = BTreeMap::new();
    for ((caller, callee, _), series) in &agg.edges {
        let calls: u64 = series.0.iter().map(|(_, c)| c.calls).sum();
        *pairs
            .entry((names.service(*caller), names.service(*callee)))
            .or_default() += calls;
    }
    let mut edges: Vec<GraphEdge> = pairs
        .into_iter()
        .map(|((caller, callee), calls)| GraphEdge {
            caller,
            callee,
            calls,
        })
        .collect();
    edges.sort_by_key(|e| std::cmp::Reverse(e.calls));
    edges
}

fn edges(agg: &Aggregates, names: &Names, split: i64) -> Vec<EdgeStat> {
    let mut rows: Vec<(f64, u64, EdgeStat)> = agg
        .edges
        .iter()
        .map(|((caller, callee, op), series)| {
            let (before, after) = series.split(split);
            let row = EdgeStat {
                caller: names.service(*caller),
                callee: names.service(*callee),
                operation: names.op(*op),
                calls_before: before.calls,
                calls_after: after.calls,
                errors_before: before.errors,
                errors_after: after.errors,
                latency_before: percentiles(&before.latency),
                latency_after: percentiles(&after.latency),
                wait_before: percentiles(&before.wait),
                wait_after: percentiles(&after.wait),
            };
            (movement(&before, &after), before.calls + after.calls, row)
        })
        .collect();
    rank(&mut rows);
    rows.into_iter().take(MAX_EDGES).map(|r| r.2).collect()
}

/// Most moved first, then most calls, then by name (so the order is stable).
fn rank<T: std::fmt::Debug>(rows: &mut [(f64, u64, T)]) {
    rows.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(b.1.cmp(&a.1))
            .then_with(|| format!("{:?}", a.2).cmp(&format!("{:?}", b.2)))
    });
}

fn services(agg: &Aggregates, names: &Names, split: i64) -> Vec<ServiceSelfTime> {
    let mut rows: Vec<(f64, u64, ServiceSelfTime)> = agg
        .services
        .iter()
        .map(|(service, series)| {
            let (before, after) = series.split(split);
            let row = ServiceSelfTime {
                service: names.service(*service),
                calls_before: before.calls,
                calls_after: after.calls,
                errors_before: before.errors,
                errors_after: after.errors,
                self_before: percentiles(&before.latency),
                self_after: percentiles(&after.latency),
            };
            (movement(&before, &after), before.calls + after.calls, row)
        })
        .collect();
    rank(&mut rows);
    rows.into_iter().map(|r| r.2).collect()
}

/// What changed about one key's calls, if anything: errors rose, it stopped, it began.
/// `rates` are the seconds the before and after windows cover.
fn change_of(before: Count, after: Count, rates: (f64, f64)) -> Option<SpanChangeKind> {
    let (rb, ra) = (
        error_ratio(before.calls, before.errors),
        error_ratio(after.calls, after.errors),
    );
    if ra >= 0.05 && after.errors >= 3 && ra >= 2.0 * rb && ra - rb >= 0.05 {
        return Some(SpanChangeKind::StartedFailing);
    }
    let (secs_before, secs_after) = rates;
    if secs_before <= 0.0 || secs_after <= 0.0 {
        return None;
    }
    let expected_after = before.calls as f64 * secs_after / secs_before;
    let expected_before = after.calls as f64 * secs_before / secs_after;
    if before.calls >= 5 && after.calls == 0 && expected_after >= 3.0 {
        return Some(SpanChangeKind::Vanished);
    }
    if after.calls >= 5 && before.calls == 0 && expected_before >= 3.0 {
        return Some(SpanChangeKind::Appeared);
    }
    None
}

fn changes(
    agg: &Aggregates,
    names: &Names,
    split: i64,
    windows: (&Window, &Window),
) -> Vec<SpanChange> {
    let rates = (windows.0.seconds(), windows.1.seconds());
    let row = |change, service: u32, op: u32, caller: Option<u32>, b: Count, a: Count| SpanChange {
        change,
        service: names.service(service),
        operation: names.op(op),
        caller: caller.map(|c| names.service(c)),
        calls_before: b.calls,
        calls_after: a.calls,
        errors_before: b.errors,
        errors_after: a.errors,
    };
    let mut out: Vec<SpanChange> = Vec::new();
    for ((service, op), series) in &agg.ops {
        let (b, a) = series.split(split);
        if let Some(change) = change_of(b, a, rates) {
            out.push(row(change, *service, *op, None, b, a));
        }
    }
    for ((caller, callee, op), series) in &agg.edges {
        let (b, a) = series.split(split);
        let (b, a) = (count_of(&b), count_of(&a));
        let Some(change) = change_of(b, a, rates) else {
            continue;
        };
        // The callee's operation as a whole said it already.
        let (service, operation) = (names.service(*callee), names.op(*op));
        let said = out.iter().any(|c| {
            c.caller.is_none()
                && c.change == change
                && c.service == service
                && c.operation == operation
        });
        if !said {
            out.push(row(change, *callee, *op, Some(*caller), b, a));
        }
    }
    let order = |c: &SpanChange| match c.change {
        SpanChangeKind::StartedFailing => (0, u64::MAX - c.errors_after),
        SpanChangeKind::Vanished => (1, u64::MAX - c.calls_before),
        SpanChangeKind::Appeared => (2, u64::MAX - c.calls_after),
    };
    out.sort_by(|a, b| {
        order(a)
            .cmp(&order(b))
            .then_with(|| (&a.service, &a.operation).cmp(&(&b.service, &b.operation)))
    });
    out.truncate(MAX_CHANGES);
    out
}

fn count_of(cell: &Cell) -> Count {
    Count {
        calls: cell.calls,
        errors: cell.errors,
    }
}

fn critical_paths(agg: &Aggregates, names: &Names, split: i64) -> Vec<CriticalPath> {
    let (_, after) = agg.traces.split(split);
    after
        .slowest
        .iter()
        .map(|slow| critical_path(slow, names))
        .collect()
}

fn holder_name(holder: Holder, names: &Names) -> String {
    match holder {
        Holder::Service(s) => names.service(s),
        Holder::Wait { caller, callee } => format!(
            "{} → {} (wait)",
            names.service(caller),
            names.service(callee)
        ),
    }
}

fn critical_path(slow: &Slow, names: &Names) -> CriticalPath {
    let secs = |ns: i64| seconds(ns as f64);
    let mut steps: Vec<&super::aggregate::Step> = slow.steps.iter().collect();
    if steps.len() > MAX_PATH_STEPS {
        let mut times: Vec<i64> = steps.iter().map(|s| s.on_path).collect();
        times.sort_unstable_by(|a, b| b.cmp(a));
        let cut = times[MAX_PATH_STEPS - 2];
        let mut kept = 0;
        steps.retain(|s| {
            let keep = s.depth == 0 || (s.on_path >= cut && kept < MAX_PATH_STEPS - 1);
            kept += usize::from(keep && s.depth != 0);
            keep
        });
    }
    CriticalPath {
        trace_id: format!("{:032x}", slow.trace),
        start: rfc3339(slow.start),
        duration: secs(slow.duration),
        error: slow.error,
        by_service: slow
            .holders
            .iter()
            .map(|(h, t)| (holder_name(*h, names), secs(*t)))
            .collect(),
        steps: steps
            .into_iter()
            .map(|s| PathStep {
                service: names.service(s.service),
                operation: names.op(s.op),
                depth: s.depth,
                offset: secs(s.offset),
                duration: secs(s.duration),
                on_path: secs(s.on_path),
            })
            .collect(),
    }
}

/// Keep only what touches `service`: its edges (and the graph's), itself and its
/// neighbours, its changes, and the critical paths that pass through it.
pub fn filter(report: &mut TraceReport, service: &str) {
    let touches = |a: &str, b: &str| a == service || b == service;
    report.graph.retain(|e| touches(&e.caller, &e.callee));
    report.edges.retain(|e| touches(&e.caller, &e.callee));
    let neighbours: Vec<String> = report
        .graph
        .iter()
        .flat_map(|e| [e.caller.clone(), e.callee.clone()])
        .collect();
    report
        .services
        .retain(|s| s.service == service || neighbours.contains(&s.service));
    report
        .changes
        .retain(|c| c.service == service || c.caller.as_deref() == Some(service));
    report
        .critical_paths
        .retain(|p| p.steps.iter().any(|s| s.service == service));
}
