//! The trace report as compact text: what a person or a model reads first, every number
//! cited with its unit and its before → after (`p90 0.005 → 0.294 s`), small values
//! never rounded to zero, and the slowest trace's critical path as a waterfall.

use crate::protocol::digest::{
    CriticalPath, EdgeStat, OnsetSource, Percentiles, ServiceSelfTime, SpanChange, SpanChangeKind,
    TraceReport,
};
use std::fmt::Write;

const EDGES: usize = 8;
const SERVICES: usize = 8;
const CHANGES: usize = 10;
const GRAPH: usize = 12;
const BAR: usize = 24;

/// Seconds with three significant digits (`0.00512`, `0.294`, `4.21`, `37.5`), `0` only
/// for zero.
pub fn secs(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".into();
    }
    if v.abs() >= 100.0 {
        return format!("{v:.0}");
    }
    let decimals = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn clock(rfc3339: &str) -> &str {
    rfc3339.get(11..19).unwrap_or(rfc3339)
}

/// A percentile's name and how to read it.
type Quantile = (&'static str, fn(&Percentiles) -> f64);

const QUANTILES: [Quantile; 3] = [("p50", |p| p.p50), ("p90", |p| p.p90), ("p99", |p| p.p99)];

/// `p50 a → b · p90 a → b · p99 a → b s`, or one side when the other is missing.
fn moved(label: &str, before: Option<Percentiles>, after: Option<Percentiles>) -> String {
    let pick = |p: Option<Percentiles>, q: fn(&Percentiles) -> f64| p.map(|p| secs(q(&p)));
    let qs = QUANTILES;
    let parts: Vec<String> = qs
        .iter()
        .map(|(name, q)| match (pick(before, *q), pick(after, *q)) {
            (Some(b), Some(a)) => format!("{name} {b} → {a}"),
            (None, Some(a)) => format!("{name} (none) → {a}"),
            (Some(b), None) => format!("{name} {b} → (none)"),
            (None, None) => String::new(),
        })
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("{label}{} s", parts.join(" · "))
    }
}

fn errors(calls_b: u64, errors_b: u64, calls_a: u64, errors_a: u64) -> String {
    if errors_b == 0 && errors_a == 0 {
        return String::new();
    }
    let pct = |e: u64, c: u64| {
        if c == 0 {
            0.0
        } else {
            100.0 * e as f64 / c as f64
        }
    };
    format!(
        " · errors {errors_b}/{calls_b} ({:.0}%) → {errors_a}/{calls_a} ({:.0}%)",
        pct(errors_b, calls_b),
        pct(errors_a, calls_a)
    )
}

fn header(report: &TraceReport, out: &mut String) {
    let window = match (&report.first, &report.last) {
        (Some(a), Some(b)) => format!(", {}–{} UTC", clock(a), clock(b)),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "{} spans in {} traces{window}, {} call edges",
        count(report.spans),
        count(report.traces),
        report.graph.len()
    );
    let split = match (report.onset_source, &report.onset) {
        (OnsetSource::Given, Some(at)) => format!("split at {} (given)", clock(at)),
        (OnsetSource::LatencyShift, Some(at)) => {
            format!("split at {} (where latencies shifted most)", clock(at))
        }
        (OnsetSource::Baseline, Some(at)) => {
            format!("baseline file, and this file before {}", clock(at))
        }
        (OnsetSource::Baseline, None) => "baseline file before, this file after".into(),
        _ => "no split (no latency shift found): everything counts as after".into(),
    };
    let _ = writeln!(
        out,
        "{split}: {} spans before, {} after",
        count(report.spans_before),
        count(report.spans_after)
    );
}

fn edge_line(e: &EdgeStat) -> String {
    let wait = moved(" · wait ", e.wait_before, e.wait_after);
    format!(
        "  {} → {} {}: {} → {} calls · {}{wait}{}",
        e.caller,
        e.callee,
        e.operation,
        count(e.calls_before),
        count(e.calls_after),
        moved("", e.latency_before, e.latency_after),
        errors(
            e.calls_before,
            e.errors_before,
            e.calls_after,
            e.errors_after
        )
    )
}

fn service_line(s: &ServiceSelfTime) -> String {
    format!(
        "  {}: {} → {} calls · {}{}",
        s.service,
        count(s.calls_before),
        count(s.calls_after),
        moved("own ", s.self_before, s.self_after),
        errors(
            s.calls_before,
            s.errors_before,
            s.calls_after,
            s.errors_after
        )
    )
}

fn change_line(c: &SpanChange) -> String {
    let what = match &c.caller {
        Some(caller) => format!("{caller} → {} {}", c.service, c.operation),
        None => format!("{} {}", c.service, c.operation),
    };
    match c.change {
        SpanChangeKind::StartedFailing => format!(
            "  started failing: {what}{}",
            errors(
                c.calls_before,
                c.errors_before,
                c.calls_after,
                c.errors_after
            )
        ),
        SpanChangeKind::Vanished => format!(
            "  vanished: {what}: {} calls before, none after",
            count(c.calls_before)
        ),
        SpanChangeKind::Appeared => format!(
            "  appeared: {what}: none before, {} calls after",
            count(c.calls_after)
        ),
    }
}

fn bar(offset: f64, duration: f64, total: f64) -> String {
    if total <= 0.0 {
        return " ".repeat(BAR);
    }
    let from = ((offset / total) * BAR as f64)
        .floor()
        .clamp(0.0, BAR as f64 - 1.0) as usize;
    let len = ((duration / total) * BAR as f64).round().max(1.0) as usize;
    let len = len.min(BAR - from);
    format!(
        "{}{}{}",
        " ".repeat(from),
        "█".repeat(len),
        " ".repeat(BAR - from - len)
    )
}

fn waterfall(path: &CriticalPath, out: &mut String) {
    let _ = writeln!(
        out,
        "critical path of trace {} ({} s{}, at {}):",
        path.trace_id,
        secs(path.duration),
        if path.error { ", failed" } else { "" },
        clock(&path.start)
    );
    for step in &path.steps {
        let _ = writeln!(
            out,
            "  ▕{}▏ {:>7} s {}{} {} (own {} s)",
            bar(step.offset, step.duration, path.duration),
            secs(step.duration),
            "  ".repeat(step.depth.min(8) as usize),
            step.service,
            step.operation,
            secs(step.on_path)
        );
    }
    let shares: Vec<String> = path
        .by_service
        .iter()
        .take(4)
        .map(|(who, t)| {
            let pct = if path.duration > 0.0 {
                100.0 * t / path.duration
            } else {
                0.0
            };
            format!("{who} {} s ({pct:.0}%)", secs(*t))
        })
        .collect();
    let _ = writeln!(out, "  time on the path: {}", shares.join(", "));
}

/// The report as compact text.
pub fn render(report: &TraceReport) -> String {
    let mut out = String::new();
    header(report, &mut out);
    if !report.edges.is_empty() {
        let _ = writeln!(
            out,
            "\ncalls that moved most (callee latency before → after; wait = the caller's client span beyond it):"
        );
        for e in report.edges.iter().take(EDGES) {
            let _ = writeln!(out, "{}", edge_line(e));
        }
    }
    if !report.services.is_empty() {
        let _ = writeln!(
            out,
            "\nown time per call (minus time waiting on other services):"
        );
        for s in report.services.iter().take(SERVICES) {
            let _ = writeln!(out, "{}", service_line(s));
        }
    }
    if !report.changes.is_empty() {
        let _ = writeln!(out, "\nsince the split:");
        for c in report.changes.iter().take(CHANGES) {
            let _ = writeln!(out, "{}", change_line(c));
        }
    }
    if let Some(path) = report.critical_paths.first() {
        out.push('\n');
        waterfall(path, &mut out);
        for other in report.critical_paths.iter().skip(1) {
            let top = other.by_service.first().map_or(String::new(), |(who, t)| {
                format!(": {who} holds {} s of it", secs(*t))
            });
            let _ = writeln!(
                out,
                "  next slowest: {} ({} s){top}",
                other.trace_id,
                secs(other.duration)
            );
        }
    }
    let graph: Vec<String> = report
        .graph
        .iter()
        .take(GRAPH)
        .map(|e| format!("{} → {} ×{}", e.caller, e.callee, count(e.calls)))
        .collect();
    if !graph.is_empty() {
        let more = report.graph.len().saturating_sub(GRAPH);
        let more = if more > 0 {
            format!(", and {more} more")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "\ncall graph (most calls first): {}{more}",
            graph.join(", ")
        );
    }
    if report.orphans > 0 {
        let _ = writeln!(
            out,
            "{} spans name a parent that never arrived",
            count(report.orphans)
        );
    }
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}

/// One line: what the digest found first.
pub fn headline(report: &TraceReport) -> String {
    let mut parts = vec![format!(
        "{} spans, {} traces, {} edges",
        count(report.spans),
        count(report.traces),
        report.graph.len()
    )];
    if let Some((s, b, a)) = report
        .services
        .first()
        .and_then(|s| Some((s, s.self_before?, s.self_after?)))
    {
        parts.push(format!(
            "{} own p90 {} → {} s",
            s.service,
            secs(b.p90),
            secs(a.p90)
        ));
    }
    if let Some((e, b, a)) = report
        .edges
        .first()
        .and_then(|e| Some((e, e.latency_before?, e.latency_after?)))
    {
        parts.push(format!(
            "{} → {} p90 {} → {} s",
            e.caller,
            e.callee,
            secs(b.p90),
            secs(a.p90)
        ));
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_keep_three_significant_digits_and_never_become_zero() {
        assert_eq!(secs(0.005), "0.005");
        assert_eq!(secs(0.294), "0.294");
        assert_eq!(secs(0.0000012), "0.0000012");
        assert_eq!(secs(4.2149), "4.21");
        assert_eq!(secs(37.54), "37.5");
        assert_eq!(secs(1234.4), "1234");
        assert_eq!(secs(0.0), "0");
        assert_eq!(count(1234567), "1,234,567");
    }

    #[test]
    fn a_bar_sits_where_the_span_ran() {
        assert_eq!(bar(0.0, 1.0, 1.0), "█".repeat(BAR));
        let half = bar(0.5, 0.5, 1.0);
        assert!(half.starts_with(&" ".repeat(BAR / 2)), "{half}");
        assert_eq!(half.chars().count(), BAR);
    }
}
