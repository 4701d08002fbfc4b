//! Practical significance: whether a move that is *unusual* is also *large enough to
//! matter* for the incident at hand.
//!
//! A robust z says a series left its own noise; it says nothing about whether the move can
//! explain what paged. A quiet service whose latency goes 0.01 → 0.1 s scores z = 38 and
//! still adds a tenth of a second to a front door that got 3.6 s slower; a CPU that goes
//! from 0.5 % to 1.2 % of its limit scores z = 10 and is nowhere near saturated. Both
//! are the classic confusion of statistical with practical significance; the USE method
//! (utilisation, saturation, errors) and latency-budget reasoning in tracing (a callee
//! explains its caller's latency only with time of its own) answer them, and so do the
//! rules here:
//!
//! - **Latency is weighed by its share of the symptom**: the seconds a service added,
//!   over the seconds the paging service's symptom rose (read from the alert, "4.55 s
//!   (usual 0.91 s)", or from its own series). A quarter of the symptom or more counts
//!   whole; less counts in proportion (it would take several sequential calls per request
//!   to add up). A datastore is the exception: a request makes many queries, so a few
//!   milliseconds more per query can be the whole symptom.
//! - **Utilisation is weighed by how close it came to its limit**: a series measured as a
//!   share of a limit (`cpu_pct`, `memory_utilization`) counts whole from half the limit
//!   up, in proportion below; the same resource's other series (`cpu_millicores`) follow
//!   it, because they measure the same thing without the limit.
//! - **A vanished log line weighs by its surprise**: a template that the rate before the
//!   onset said should appear λ times and never did is as unlikely as a normal deviate of
//!   about √(2λ) (Poisson P(0) = e^−λ), so it weighs ln(1 + √(2λ)), on the same
//!   logarithmic scale as a metric's z.
//!
//! Each rule only lowers a move's weight (never below nothing, never above whole), and
//! only where the unit or the scale is known from the name; an unknown unit counts whole.

use super::harm::{Signal, caller_side, is_symptom, signals, words};
use std::collections::BTreeMap;

/// The share of the symptom's rise at and above which a latency counts whole.
pub(crate) const FULL_SHARE: f64 = 0.25;

/// The share of a limit at and above which a utilisation counts whole.
pub(crate) const SATURATED_PERCENT: f64 = 50.0;

/// A value of `metric` in seconds, when its name says its unit (`_s`, `_seconds`, `_ms`,
/// `_us`, `_ns`).
pub fn seconds(metric: &str, value: f64) -> Option<f64> {
    let words = words(metric);
    let scale = words.iter().rev().find_map(|w| match w.as_str() {
        "s" | "sec" | "secs" | "seconds" | "second" => Some(1.0),
        "ms" | "milliseconds" | "millis" => Some(1e-3),
        "us" | "microseconds" | "micros" => Some(1e-6),
        "ns" | "nanoseconds" | "nanos" => Some(1e-9),
        _ => None,
    })?;
    Some(value * scale)
}

/// How many seconds the alert says its latency rose: "p99 latency 4.55 s (usual 0.91 s)"
/// → 3.64. Needs two durations, the second introduced as the usual level ("usual",
/// "normally", "baseline", "was", "from"); `None` otherwise.
pub(crate) fn symptom_rise_seconds(alert: &str) -> Option<f64> {
    let durations = durations_in(alert);
    let lower = alert.to_ascii_lowercase();
    let usual = ["usual", "normal", "baseline", "was ", "from ", "typical"]
        .iter()
        .any(|w| lower.contains(w));
    match durations.as_slice() {
        [now, before, ..] if usual && now > before => Some(now - before),
        _ => None,
    }
}

/// Durations written in text ("4.55 s", "950ms", "2.1 seconds"), in seconds, in order.
fn durations_in(text: &str) -> Vec<f64> {
    let pattern =
        regex::Regex::new(r"(?i)(\d+(?:\.\d+)?)\s*(ms|milliseconds|s|sec|secs|seconds|us|µs)\b")
            .expect("a fixed pattern");
    pattern
        .captures_iter(text)
        .filter_map(|c| {
            let value: f64 = c.get(1)?.as_str().parse().ok()?;
            let scale = match c.get(2)?.as_str().to_ascii_lowercase().as_str() {
                "ms" | "milliseconds" => 1e-3,
                "us" | "µs" => 1e-6,
                _ => 1.0,
            };
            Some(value * scale)
        })
        .collect()
}

/// The weight of a latency that rose by `added` seconds, beside a symptom that rose by
/// `symptom` seconds: whole from [`FULL_SHARE`] of it up, in proportion below.
pub fn latency_weight(added: f64, symptom: Option<f64>) -> f64 {
    match symptom {
        Some(symptom) if symptom > 0.0 && added.is_finite() => {
            (added / (FULL_SHARE * symptom)).clamp(0.0, 1.0)
        }
        _ => 1.0,
    }
}

/// A value of `metric` as a percentage of its limit, when its name says it is one
/// (`cpu_pct`, `memory_percent`, `disk_utilization` — a ratio ≤ 1 read as a fraction).
pub(crate) fn percent_of_limit(metric: &str, value: f64) -> Option<f64> {
    let words = words(metric);
    let percent = words
        .iter()
        .any(|w| matches!(w.as_str(), "pct" | "percent" | "percentage"));
    let share = words
        .iter()
        .any(|w| w.starts_with("utili") || w == "ratio" || w == "usage_ratio");
    if percent {
        Some(value)
    } else if share {
        Some(if value.abs() <= 1.0 {
            value * 100.0
        } else {
            value
        })
    } else {
        None
    }
}

/// The weight of a utilisation that reached `percent` of its limit: whole from
/// [`SATURATED_PERCENT`] up, in proportion below.
pub(crate) fn saturation_weight(percent: f64) -> f64 {
    if percent.is_finite() {
        (percent / SATURATED_PERCENT).clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// The weight of a log line that was due `expected` times and never came: the
/// logarithm of the normal deviate as unlikely as a Poisson zero, ln(1 + √(2λ)).
pub fn vanished_strength(expected: f64) -> f64 {
    if expected.is_finite() && expected > 0.0 {
        (1.0 + (2.0 * expected).sqrt()).ln()
    } else {
        0.0
    }
}

/// The Wilson score lower bound of a proportion at 95 %: the least share of `trials`
/// that `hits` says is likely, which a handful of lines cannot inflate (3 errors in 3
/// lines is at least 44 %, not 100 %).
pub fn wilson_lower(hits: u64, trials: u64) -> f64 {
    if trials == 0 {
        return 0.0;
    }
    const Z: f64 = 1.96;
    let n = trials as f64;
    let p = hits.min(trials) as f64 / n;
    let centre = p + Z * Z / (2.0 * n);
    let margin = Z * ((p * (1.0 - p) + Z * Z / (4.0 * n)) / n).sqrt();
    ((centre - margin) / (1.0 + Z * Z / n)).max(0.0)
}

/// The least share of a service's log lines that must be errors, at 95 % confidence, for
/// its errors to say something without a baseline: one line in ten. A healthy service
/// logs far fewer; one that logs only on failure needs [`MIN_ERROR_LINES`] to count.
pub const ERROR_SHARE: f64 = 0.1;
/// The fewest error lines that can single a service out without a baseline.
pub const MIN_ERROR_LINES: u64 = 5;

/// The Wilson score upper bound of a proportion at 95 %: the most of `trials` that
/// `hits` says is likely.
pub fn wilson_upper(hits: u64, trials: u64) -> f64 {
    if trials == 0 {
        return 1.0;
    }
    1.0 - wilson_lower(trials - hits.min(trials), trials)
}

/// How many times the rest of the system's error share a service's must be, at least.
pub const ERROR_SHARE_RATIO: f64 = 3.0;

/// The weight of a service's error lines when the logs reach too little before the onset
/// to compare its templates with: its `errors` of `lines` against the rest of the
/// system's (`others_errors` of `others_lines`) in the same window. It counts only when
/// the two shares differ beyond doubt — its Wilson lower bound above the others' upper
/// bound, and at least [`ERROR_SHARE_RATIO`] times the others' share — so a system where
/// everything errs (a collector that tags all of stderr ERROR) singles no one out. Then
/// it weighs as the binomial deviate z of that many errors at the others' share, like a
/// metric's z (ln(1 + z)), halved, because no history says the share is new. `None` when
/// the share is not at least [`ERROR_SHARE`] (Wilson lower bound), the errors are fewer
/// than [`MIN_ERROR_LINES`], or nothing else logged to compare with.
pub fn error_share_strength(
    errors: u64,
    lines: u64,
    others_errors: u64,
    others_lines: u64,
) -> Option<f64> {
    let own = wilson_lower(errors, lines);
    if errors < MIN_ERROR_LINES || own < ERROR_SHARE || others_lines == 0 {
        return None;
    }
    let others_share = others_errors.min(others_lines) as f64 / others_lines as f64;
    let share = errors as f64 / lines as f64;
    if own <= wilson_upper(others_errors, others_lines) || share < ERROR_SHARE_RATIO * others_share
    {
        return None;
    }
    // One error added to the others, so that a system with none elsewhere still has a
    // finite scale.
    let background = (others_errors + 1) as f64 / (others_lines + 1) as f64;
    let n = lines as f64;
    let expected = n * background;
    let z = (errors as f64 - expected) / (expected * (1.0 - background)).sqrt();
    (z > 0.0).then(|| 0.5 * (1.0 + z).ln())
}

/// One series' move, as the weighing reads it.
#[derive(Debug, Clone, Copy)]
pub struct Move<'a> {
    pub service: &'a str,
    /// The series' name without its service.
    pub metric: &'a str,
    pub before: f64,
    pub after: f64,
}

/// The paging service, what its alert is about, and the alert's text.
#[derive(Debug, Clone, Copy)]
pub struct Paging<'a> {
    pub service: Option<&'a str>,
    pub alerted: &'a [Signal],
    pub alert: &'a str,
}

/// What makes a move large enough to matter in one incident: how many seconds the
/// symptom rose, and how close each service's resources came to their limits.
#[derive(Debug, Clone, Default)]
pub struct Practical {
    /// The rise of the paging service's latency, in seconds: from the alert's text, else
    /// from its own series.
    pub symptom: Option<f64>,
    /// (service, resource) → the highest share of its limit a series of it reached.
    utilisation: BTreeMap<(String, &'static str), f64>,
    /// Services whose latency is per query (datastores): a request makes many queries,
    /// so their latency is not weighed by its share of the symptom.
    per_query: std::collections::BTreeSet<String>,
}

impl Practical {
    /// Read from the series that moved and the page.
    pub fn new<'a>(moves: impl Iterator<Item = Move<'a>>, paging: Paging<'_>) -> Practical {
        let mut symptom_from_series: Option<f64> = None;
        let mut utilisation: BTreeMap<(String, &'static str), f64> = BTreeMap::new();
        for m in moves {
            let paging_here = paging.service == Some(m.service);
            if paging_here
                && is_symptom(m.metric, paging.alerted)
                && !caller_side(m.metric)
                && let (Some(after), Some(before)) =
                    (seconds(m.metric, m.after), seconds(m.metric, m.before))
                && after > before
            {
                let rise = after - before;
                symptom_from_series = Some(symptom_from_series.map_or(rise, |r| r.max(rise)));
            }
            if let (Some(resource), Some(level)) =
                (resource_of(m.metric), percent_of_limit(m.metric, m.after))
            {
                let slot = utilisation
                    .entry((m.service.to_string(), resource))
                    .or_insert(level);
                *slot = slot.max(level);
            }
        }
        Practical {
            symptom: symptom_rise_seconds(paging.alert).or(symptom_from_series),
            utilisation,
            per_query: Default::default(),
        }
    }

    /// These services answer queries, many per request (databases, caches): a small
    /// rise per query can add up to the whole symptom.
    pub fn answering_per_query<'a>(mut self, services: impl Iterator<Item = &'a str>) -> Self {
        self.per_query.extend(services.map(str::to_string));
        self
    }

    /// How much of a move's strength counts: a resource by how close it came to its
    /// limit (when a series of it says), a latency by its share of the symptom (when the
    /// units say); whole otherwise.
    pub fn weight(&self, service: &str, metric: &str, before: f64, after: f64) -> f64 {
        if let Some(resource) = resource_of(metric) {
            return self
                .utilisation
                .get(&(service.to_string(), resource))
                .map_or(1.0, |level| saturation_weight(*level));
        }
        if signals(metric).contains(&Signal::Latency)
            && !self.per_query.contains(service)
            && let (Some(after), Some(before)) = (seconds(metric, after), seconds(metric, before))
        {
            return latency_weight(after - before, self.symptom);
        }
        1.0
    }
}

/// A kind of service a request queries many times (a database, a cache, a search or
/// key-value store), as an incident declares it.
pub fn per_query_kind(kind: &str) -> bool {
    const KINDS: &[&str] = &[
        "db",
        "database",
        "sql",
        "postgres",
        "postgresql",
        "pg",
        "mysql",
        "mariadb",
        "redis",
        "cache",
        "memcached",
        "mongodb",
        "mongo",
        "cassandra",
        "elasticsearch",
        "opensearch",
        "kv",
        "etcd",
        "datastore",
        "dynamodb",
    ];
    KINDS.contains(&kind.to_ascii_lowercase().as_str())
}

/// The resource a metric measures, when it is one a limit applies to.
pub(crate) fn resource_of(metric: &str) -> Option<&'static str> {
    let lower = metric.to_ascii_lowercase();
    for word in lower.split(|c: char| !c.is_ascii_alphanumeric()) {
        if word.starts_with("cpu") {
            return Some("cpu");
        }
        if word.starts_with("mem") || word == "rss" || word.starts_with("heap") {
            return Some("memory");
        }
        if word.starts_with("disk") || word.starts_with("inode") {
            return Some("disk");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_lines_cannot_make_a_share() {
        assert!((wilson_lower(3, 3) - 0.438).abs() < 0.01);
        assert!((wilson_lower(17, 54) - 0.207).abs() < 0.01);
        assert_eq!(wilson_lower(0, 0), 0.0);
        assert_eq!(wilson_lower(0, 100), 0.0);
    }

    #[test]
    fn errors_count_without_a_baseline_only_when_they_dominate_a_service() {
        // A third of its lines, where the rest of the system errs in one line of 500.
        let strong = error_share_strength(17, 54, 5, 5229).expect("a third of its lines");
        assert!(strong > 1.5 && strong < 2.5, "{strong}");
        // One line in seven of 90: the usual errors of a service that fails now and then.
        assert_eq!(error_share_strength(13, 93, 15, 5000), None);
        // Every line an error, but only three of them.
        assert_eq!(error_share_strength(3, 3, 0, 1000), None);
        // As erring as everything else: nothing stands out.
        assert_eq!(error_share_strength(40, 100, 400, 1000), None);
        // Nothing else erring does not make the scale infinite.
        assert!(error_share_strength(50, 100, 0, 2000).is_some_and(f64::is_finite));
        // Nothing else logging: nothing to stand out from.
        assert_eq!(error_share_strength(50, 100, 0, 0), None);
        assert_eq!(error_share_strength(100, 100, 0, 0), None);
        // Everything errs (every stderr line tagged ERROR): no one stands out, and one
        // that errs less than the rest least of all.
        assert_eq!(error_share_strength(60, 100, 900, 1000), None);
        assert_eq!(error_share_strength(100, 100, 5000, 5000), None);
        // Twice the rest's share is not enough to single a service out.
        assert_eq!(error_share_strength(40, 200, 100, 1000), None);
    }

    #[test]
    fn units_are_read_from_the_name() {
        assert_eq!(seconds("latency_p99_s", 2.0), Some(2.0));
        assert_eq!(seconds("http_server_duration_ms", 250.0), Some(0.25));
        assert_eq!(seconds("request_seconds_p95", 0.5), Some(0.5));
        assert_eq!(seconds("cpu_pct", 50.0), None);
    }

    #[test]
    fn the_alert_says_how_much_its_latency_rose() {
        let rise = symptom_rise_seconds("web p99 latency 4.55 s (usual 0.91 s) since 09:32 UTC");
        assert!((rise.unwrap() - 3.64).abs() < 1e-9);
        let ms = symptom_rise_seconds("checkout p95 1200ms, normally 300 ms");
        assert!((ms.unwrap() - 0.9).abs() < 1e-9);
        assert_eq!(
            symptom_rise_seconds("web p99 above 2 s"),
            None,
            "no usual level"
        );
        assert_eq!(symptom_rise_seconds("errors 5% (usual 0.1%)"), None);
    }

    #[test]
    fn a_tenth_of_a_second_does_not_explain_three() {
        assert!(latency_weight(0.1, Some(3.64)) < 0.15);
        assert_eq!(latency_weight(1.0, Some(3.64)), 1.0);
        assert_eq!(latency_weight(0.1, None), 1.0, "no symptom: whole");
    }

    #[test]
    fn a_cpu_far_from_its_limit_is_not_saturated() {
        assert_eq!(percent_of_limit("cpu_pct", 1.2), Some(1.2));
        assert_eq!(percent_of_limit("disk_utilization", 0.9), Some(90.0));
        assert_eq!(percent_of_limit("cpu_millicores", 500.0), None);
        assert!(saturation_weight(1.2) < 0.05);
        assert_eq!(saturation_weight(99.0), 1.0);
    }

    #[test]
    fn a_line_long_due_weighs_more_than_one_barely_due() {
        assert!(vanished_strength(29.0) > vanished_strength(5.0));
        assert!((vanished_strength(8.0) - 5.0_f64.ln()).abs() < 1e-9);
        assert_eq!(vanished_strength(0.0), 0.0);
    }
}
