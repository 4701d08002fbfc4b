//! What a metric's name says about its movement: whether a move is harm (latency up,
//! throughput down), whether the series is timed on the calling side (a symptom of what
//! is called), what kind of signal it is, and whether an alert describes it.
//!
//! Read from the name alone, in the words exporters and instrumentation libraries use
//! (OpenTelemetry's `http.server.duration` and `http.client.*`, Prometheus' `_seconds`,
//! `_total` and `_errors`, Istio's source/destination reporters, nginx's upstream
//! timings). The offline brain's suspects and `hunch metrics rank` share these rules, so
//! the agent and the command line read a series the same way.

/// The kind of signal an alert or a series is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    Latency,
    Errors,
    Throughput,
}

impl std::str::FromStr for Signal {
    type Err = UnknownSignal;

    fn from_str(text: &str) -> Result<Signal, UnknownSignal> {
        match text.to_ascii_lowercase().as_str() {
            "latency" => Ok(Signal::Latency),
            // Availability is the share of requests that succeeded: the complement of the
            // error rate, so an availability alert is about errors.
            "errors" | "error" | "availability" => Ok(Signal::Errors),
            "throughput" => Ok(Signal::Throughput),
            _ => Err(UnknownSignal(text.to_string())),
        }
    }
}

/// A signal kind that is none of latency, errors, availability.
#[derive(Debug, thiserror::Error)]
#[error("unknown signal kind {0:?}: use latency, errors or availability")]
pub struct UnknownSignal(pub String);

/// Words that name each kind of signal, as alerts and metric names spell them.
const SIGNAL_WORDS: &[(Signal, &[&str])] = &[
    (
        Signal::Latency,
        &[
            "lat", "p50", "p90", "p95", "p99", "duration", "delay", "slow", "wait", "response",
            "timeout",
        ],
    ),
    (
        Signal::Errors,
        &[
            "err",
            "5xx",
            "4xx",
            "fail",
            "exception",
            "unavailable",
            "availab",
            "success",
        ],
    ),
    (
        Signal::Throughput,
        &[
            "rps",
            "qps",
            "throughput",
            "ops",
            "requests",
            "traffic",
            "workload",
            "down",
        ],
    ),
];

/// The lower-case alphanumeric words of a metric name or a text.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// The kinds of signal `text` names (an alert, or a series' metric part).
pub fn signals(text: &str) -> Vec<Signal> {
    let words = words(text);
    SIGNAL_WORDS
        .iter()
        .filter(|(_, names)| {
            words
                .iter()
                .any(|w| names.iter().any(|name| w.starts_with(name)))
        })
        .map(|(signal, _)| *signal)
        .collect()
}

/// A metric measured on the calling side (`client_latency`, `outbound`,
/// `upstream_response`): it times what the service calls, so it is a symptom of a
/// callee and never makes the caller a suspect by itself. A resource the caller holds
/// (`http_client_pool_pending`, a client's CPU) is its own, not the callee's.
pub fn caller_side(metric: &str) -> bool {
    !is_resource(metric)
        && words(metric)
            .iter()
            .any(|word| matches!(word.as_str(), "client" | "outbound" | "upstream"))
}

/// Names of metrics that get worse going up.
const WORSE_UP: &[&str] = &[
    "lat", "p50", "p90", "p95", "p99", "duration", "err", "5xx", "4xx", "fail", "timeout", "cpu",
    "mem", "rss", "heap", "lag", "queue", "backlog", "pending", "wait", "restart", "oom", "evict",
    "disk", "conn", "lock", "throttl", "gc", "swap", "drop", "retr",
];
/// Names of metrics that get worse going down.
const WORSE_DOWN: &[&str] = &[
    "rps",
    "qps",
    "throughput",
    "ops",
    "success",
    "availab",
    "ready",
    "up",
    "hit",
    "served",
    "ok",
    "workload",
];

/// Whether a metric moving from `before` to `after` moved in the direction of harm, read
/// from its name: up for latency, errors, saturation, backlog and restarts; down for
/// throughput, success and availability; either way for a name that says neither.
pub fn harmful(metric: &str, before: f64, after: f64) -> bool {
    let up = after > before;
    match direction_of(metric) {
        Some(Direction::WorseUp) => up,
        Some(Direction::WorseDown) => !up,
        None => true,
    }
}

/// The ceiling of a success share — an availability or success rate, the share of
/// requests that succeeded, as a fraction (≤ 1) or a percentage (≤ 100) — when the
/// metric's name says it is one and every value of `values` lies between 0 and that
/// ceiling. Such a series lives just below its ceiling, and what moves is the share of
/// requests that *failed* (`ceiling − value`): 99.9 % → 99 % is ten times the failures,
/// though the value moved by 1 %. The ranking scores it on that failed share.
pub fn success_ceiling(metric: &str, values: &[f64]) -> Option<f64> {
    let words = words(metric);
    let availability = words.iter().any(|w| w.starts_with("availab"));
    let success_rate = words.iter().any(|w| w.starts_with("success"))
        && words.iter().any(|w| {
            matches!(
                w.as_str(),
                "rate" | "ratio" | "share" | "pct" | "percent" | "percentage"
            )
        });
    if !(availability || success_rate) {
        return None;
    }
    let finite = || values.iter().filter(|v| v.is_finite());
    let (low, high) = finite().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(*v), hi.max(*v))
    });
    if !low.is_finite() || low < 0.0 {
        return None;
    }
    [1.0, 100.0].into_iter().find(|ceiling| high <= *ceiling)
}

/// The finest move of a success share worth a score: one request in a thousand (0.1
/// percentage points). A share is a count of failures over a count of requests, so
/// below that it is the noise of counting, whatever a quiet baseline's spread says.
pub const SUCCESS_RESOLUTION: f64 = 0.001;

/// A metric of a resource the service itself runs out of (CPU, memory, disk, swap, GC,
/// throttling): a local cause, which a slow callee does not produce.
pub(crate) fn is_resource(metric: &str) -> bool {
    const RESOURCE: &[&str] = &[
        "cpu", "mem", "rss", "heap", "disk", "swap", "gc", "throttl", "oom", "inode",
    ];
    words(metric)
        .iter()
        .any(|w| RESOURCE.iter().any(|r| w.starts_with(r)))
}

/// Whether a service's strongest move, a resource of its own (`metric`, robust z `z`),
/// is a local cause: not when its traffic rose comparably (at least half as strongly on
/// a log scale) — CPU follows load, and load comes from above. `moves` are the service's
/// other series as (metric, before, after, z).
pub fn local_resource<'a>(
    metric: &str,
    z: f64,
    mut moves: impl Iterator<Item = (&'a str, f64, f64, f64)>,
) -> bool {
    let own = (1.0 + z.abs()).ln();
    is_resource(metric)
        && !moves.any(|(name, before, after, z)| {
            after > before
                && signals(name).contains(&Signal::Throughput)
                && (1.0 + z.abs()).ln() >= 0.5 * own
        })
}

/// Which way a metric gets worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    WorseUp,
    WorseDown,
}

/// Which way a metric gets worse, when its name says: `None` for a name that says
/// neither (`syscall_write`, `net_rx_bytes`) or both.
pub fn direction_of(metric: &str) -> Option<Direction> {
    let words = words(metric);
    let has = |list: &[&str]| words.iter().any(|w| list.iter().any(|l| w.starts_with(l)));
    match (has(WORSE_UP), has(WORSE_DOWN)) {
        (true, false) => Some(Direction::WorseUp),
        (false, true) => Some(Direction::WorseDown),
        _ => None,
    }
}

/// How much a move of a metric whose name says no direction counts beside one whose
/// harm is known: a move that may be harm is weaker evidence than one that is.
pub const UNKNOWN_DIRECTION_WEIGHT: f64 = 0.5;

/// Whether a metric is the one an alert describes, though the alert names no service:
/// every distinctive word of its name (`confirm`, `delay`, `p95` in `confirm_delay_p95_s`)
/// is in the alert text ("order confirmation delay p95 above 5 min"), and there are at
/// least two of them. Units and generic words do not count.
pub fn described_by_alert(metric: &str, alert: &str) -> bool {
    const GENERIC: &[&str] = &[
        "s", "ms", "us", "ns", "seconds", "sec", "pct", "percent", "total", "per", "count", "rate",
        "bytes", "value", "avg", "sum", "max", "min",
    ];
    let alert_words: Vec<String> = words(alert).into_iter().filter(|w| w.len() >= 2).collect();
    let own: Vec<String> = words(metric)
        .into_iter()
        .filter(|w| w.len() >= 2 && !GENERIC.contains(&w.as_str()))
        .collect();
    let in_alert = |word: &str| {
        alert_words
            .iter()
            .any(|a| a.starts_with(word) || (a.len() >= 4 && word.starts_with(a.as_str())))
    };
    own.len() >= 2 && own.iter().all(|w| in_alert(w))
}

/// The paging service's own move of the kind the alert is about (its latency when the
/// alert says latency): the symptom the page already reported, not evidence of why.
pub fn is_symptom(metric: &str, alerted: &[Signal]) -> bool {
    signals(metric).iter().any(|s| alerted.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_is_read_from_the_name() {
        assert!(harmful("p99_latency_s", 0.1, 2.0));
        assert!(!harmful("p99_latency_s", 2.0, 0.1));
        assert!(harmful("rps", 100.0, 3.0));
        assert!(!harmful("rps", 100.0, 300.0));
        assert!(harmful("workload_ops", 1.5, 0.0));
        assert!(
            harmful("mystery_gauge", 1.0, 0.0),
            "unknown names count either way"
        );
    }

    #[test]
    fn success_shares_and_their_ceilings_are_read_from_name_and_values() {
        assert_eq!(
            success_ceiling("PetSite_availability_Average", &[100.0, 54.5]),
            Some(100.0)
        );
        assert_eq!(
            success_ceiling("api_availability", &[0.999, 0.97, f64::NAN]),
            Some(1.0)
        );
        assert_eq!(success_ceiling("checkout_success_rate", &[0.99]), Some(1.0));
        assert_eq!(
            success_ceiling("checkout_success_total", &[0.5]),
            None,
            "a count"
        );
        assert_eq!(success_ceiling("api_latency_s", &[0.5]), None);
        assert_eq!(
            success_ceiling("api_availability", &[130.0]),
            None,
            "not a share"
        );
        assert_eq!("availability".parse::<Signal>().unwrap(), Signal::Errors);
        assert_eq!(
            signals("PetSite availability below 99 %"),
            vec![Signal::Errors]
        );
    }

    #[test]
    fn cpu_that_follows_load_is_not_a_local_cause() {
        let load = [("requests_per_s", 100.0, 240.0, 15.0)];
        assert!(!local_resource("cpu_pct", 20.0, load.into_iter()));
        assert!(local_resource("cpu_pct", 20.0, std::iter::empty()));
        assert!(!local_resource("latency_p99_s", 20.0, std::iter::empty()));
    }

    #[test]
    fn a_service_that_went_down_is_ranked_by_its_drops_and_the_symptom_is_not() {
        use crate::rank::{Ranking, SeriesShift};
        let shift = |series: &str, score: f64, before: f64, after: f64| SeriesShift {
            series: series.into(),
            score,
            before,
            after,
            changed_at: 100,
        };
        let ranking = Ranking {
            onset: 100,
            shifts: vec![
                shift("web_p99_s", 60.0, 0.2, 3.0),
                shift("cart_cpu", -30.0, 40.0, 0.0),
                shift("cart_mem", -25.0, 500.0, 1.0),
                shift("search_cpu", -20.0, 40.0, 10.0),
            ],
        };
        let service_of = |s: &str| s.split('_').next().unwrap().to_string();
        let paging = Paging {
            service: Some("web"),
            alerted: &[Signal::Latency],
        };
        let ranked = services_by_harm(&ranking, service_of, paging);
        assert_eq!(ranked[0].service, "cart", "{ranked:?}");
        let web = ranked.iter().find(|m| m.service == "web").unwrap();
        assert_eq!(web.score, 0.0, "the page's own symptom is not evidence");
        let search = ranked.iter().find(|m| m.service == "search").unwrap();
        assert_eq!(
            search.score, 0.0,
            "CPU falling is no harm when the service is up"
        );
    }

    #[test]
    fn the_calling_side_and_the_alerts_words_are_recognised() {
        assert!(caller_side("client_latency_p99_s"));
        assert!(!caller_side("latency_p99_s"));
        assert!(described_by_alert(
            "confirm_delay_p95_s",
            "order confirmation delay p95 above 5 min"
        ));
        assert!(!described_by_alert(
            "cpu_pct",
            "order confirmation delay p95 above 5 min"
        ));
        assert!(
            !described_by_alert("delay_s", "delay above 5 min"),
            "one word is not enough"
        );
        assert_eq!(signals("web p99 above 2 s"), vec![Signal::Latency]);
        assert!(is_symptom("latency_p90_s", &[Signal::Latency]));
        assert!(!is_symptom("cpu_pct", &[Signal::Latency]));
    }
}

/// A service's strongest move in the direction of harm, and when it began.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceMove {
    pub service: String,
    /// The series behind the score (empty when none counted).
    pub series: String,
    /// |robust z| of its strongest harmful series.
    pub score: f64,
    /// When that series began to move (unix seconds).
    pub started: i64,
    /// That series is a resource of its own running out, not a load it was given (see
    /// [`local_resource`]).
    pub local: bool,
    /// Its strongest harmful move of each kind of signal (latency, errors, throughput)
    /// its series name — the paging service's own symptom included, which the walk
    /// along a call graph starts from.
    pub kinds: Vec<KindMove>,
}

/// A service's strongest harmful move of one kind of signal.
#[derive(Debug, Clone, PartialEq)]
pub struct KindMove {
    pub signal: Signal,
    /// Weighted |robust z|, as [`ServiceMove::score`].
    pub score: f64,
    /// When that series began to move (unix seconds), never before the onset.
    pub started: i64,
}

impl ServiceMove {
    /// Its strongest harmful move of `signal`, if any.
    pub fn of_kind(&self, signal: Signal) -> Option<&KindMove> {
        self.kinds.iter().find(|k| k.signal == signal)
    }
}

/// The paging service and what its alert is about: its own moves of that kind are the
/// symptom, not evidence.
#[derive(Debug, Clone, Copy, Default)]
pub struct Paging<'a> {
    pub service: Option<&'a str>,
    pub alerted: &'a [Signal],
}

/// A series' name without its service prefix.
fn metric_name<'a>(series: &'a str, service: &str) -> &'a str {
    series.strip_prefix(service).unwrap_or(series)
}

/// A series that fell to (near) nothing: a tenth of its level or less.
fn collapsed(shift: &crate::rank::SeriesShift) -> bool {
    shift.before.is_finite()
        && shift.before != 0.0
        && shift.after.is_finite()
        && shift.after.abs() <= 0.1 * shift.before.abs()
}

/// Services, most likely cause first, the way the offline brain reads them: each scored
/// by its strongest series that moved in the direction of harm, never a calling-side
/// timing, never the paging service's own alerted symptom. A service most of whose
/// moving series (two or more) collapsed to nothing went down: drops count then whatever
/// the series' names say (CPU and memory falling to zero is a service that stopped).
pub fn services_by_harm(
    ranking: &crate::rank::Ranking,
    service_of: impl Fn(&str) -> String,
    paging: Paging<'_>,
) -> Vec<ServiceMove> {
    use crate::rank::CHANGED;
    use std::collections::BTreeMap;
    let mut moves: BTreeMap<String, Vec<&crate::rank::SeriesShift>> = BTreeMap::new();
    for shift in ranking.shifts.iter().filter(|s| s.score.is_finite()) {
        moves
            .entry(service_of(&shift.series))
            .or_default()
            .push(shift);
    }
    // Unusual is not enough: a move must be large enough to matter (a latency by its
    // share of the page's symptom, a resource by how close it came to its limit).
    let practical = crate::significance::Practical::new(
        moves.iter().flat_map(|(service, shifts)| {
            shifts.iter().map(move |s| crate::significance::Move {
                service,
                metric: metric_name(&s.series, service),
                before: s.before,
                after: s.after,
            })
        }),
        crate::significance::Paging {
            service: paging.service,
            alerted: paging.alerted,
            alert: "",
        },
    );
    let mut out: Vec<ServiceMove> = moves
        .into_iter()
        .map(|(service, shifts)| {
            let metric =
                |s: &crate::rank::SeriesShift| metric_name(&s.series, &service).to_string();
            let moving: Vec<_> = shifts.iter().filter(|s| s.score.abs() >= CHANGED).collect();
            let down = moving.len() >= 2
                && moving.iter().filter(|s| collapsed(s)).count() * 2 > moving.len();
            let paging_here = paging.service == Some(service.as_str());
            let counts = |s: &crate::rank::SeriesShift| {
                let m = metric(s);
                let symptom = paging_here && is_symptom(&m, paging.alerted);
                !caller_side(&m)
                    && !symptom
                    && (harmful(&m, s.before, s.after) || (down && collapsed(s)))
            };
            let weighted = |s: &crate::rank::SeriesShift| {
                let m = metric(s);
                let known = direction_of(&m).is_some() || (down && collapsed(s));
                // A service that went down is weighed by its fall, not by its levels.
                let matters = if down && collapsed(s) {
                    1.0
                } else {
                    practical.weight(&service, &m, s.before, s.after)
                };
                s.score.abs() * matters * if known { 1.0 } else { UNKNOWN_DIRECTION_WEIGHT }
            };
            let best = shifts
                .iter()
                .filter(|s| counts(s))
                .max_by(|a, b| weighted(a).total_cmp(&weighted(b)));
            let local = best.is_some_and(|b| {
                local_resource(
                    &metric(b),
                    b.score,
                    shifts
                        .iter()
                        .filter(|s| s.series != b.series)
                        .map(|s| (metric_name(&s.series, &service), s.before, s.after, s.score)),
                )
            });
            let kinds = [Signal::Latency, Signal::Errors, Signal::Throughput]
                .into_iter()
                .filter_map(|signal| {
                    let best = shifts
                        .iter()
                        .filter(|s| {
                            let m = metric(s);
                            !caller_side(&m)
                                && signals(&m).contains(&signal)
                                && (harmful(&m, s.before, s.after) || (down && collapsed(s)))
                        })
                        .max_by(|a, b| weighted(a).total_cmp(&weighted(b)))?;
                    // A series whose strongest change lies before the onset (a daily
                    // swing in a long baseline) was moving at the onset, no earlier as
                    // far as this incident goes.
                    Some(KindMove {
                        signal,
                        score: weighted(best),
                        started: best.changed_at.max(ranking.onset),
                    })
                })
                .collect();
            ServiceMove {
                kinds,
                local,
                series: best.map(|s| s.series.clone()).unwrap_or_default(),
                score: best.map_or(0.0, |s| weighted(s)),
                started: best.map_or(ranking.onset, |s| s.changed_at),
                service,
            }
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.service.cmp(&b.service)));
    out
}
