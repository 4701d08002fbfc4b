//! Root-cause localisation on a call graph: which anomalous service explains the others.
//!
//! Symptoms travel from a callee to its callers (a slow database makes every caller
//! slow), so a service is *explained* when something it depends on, directly or through
//! others, is anomalous too and moved comparably — at least half as strongly — or logs
//! errors of its own while this service does (errors on both ends of a call: the
//! callee's are the cause) — and did not start moving well after it (an effect does
//! not come before its cause). What no one below explains is a candidate cause; explaining
//! more anomalous callers breaks near-ties. With an alerting service, candidates on the
//! paths from it come first (the cause of what paged is below what paged).
//!
//! This is the graph-traversal family of microservice RCA (MicroRCA, the RCD and CIRCA
//! baselines walk the same graph); hand-written because it is a few dozen lines over a
//! graph of tens of services and must stay deterministic.

use std::collections::{BTreeMap, BTreeSet};

/// How strongly a service moved, whether it logs new errors, and when it started to
/// move (unix seconds), when known.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Anomaly {
    pub strength: f64,
    pub erring: bool,
    pub started: Option<i64>,
    /// Its strongest sign is its own resource running out (CPU, memory, disk): a slow
    /// callee makes a caller wait, not burn CPU or fill its disk, so nothing below
    /// explains it.
    pub local: bool,
}

/// How much later than its caller a callee may start moving and still explain it: the
/// two are sampled at different moments, and a symptom needs a scrape or two to show.
pub const SAME_TIME_SECONDS: i64 = 120;

impl Anomaly {
    /// Whether `self`, below `caller`, started moving no later than it did (give or take
    /// [`SAME_TIME_SECONDS`]): an effect does not come before its cause, so a callee that
    /// only moved well after its caller is the caller's victim (a bad deploy flooding a
    /// database), not its explanation. Unknown times never rule it out.
    fn moved_no_later_than(&self, caller: &Anomaly) -> bool {
        match (self.started, caller.started) {
            (Some(below), Some(above)) => below <= above + SAME_TIME_SECONDS,
            _ => true,
        }
    }
}

/// A candidate cause.
#[derive(Debug, Clone, PartialEq)]
pub struct Localized {
    pub service: String,
    pub score: f64,
    /// The anomalous services upstream of it, whose symptoms it explains.
    pub callers: Vec<String>,
    /// On a call path from the alerting service (always, when none is known): what
    /// paged can only be slowed or failed by what it reaches.
    pub on_path: bool,
}

fn callees<'a>(calls: &'a [(String, String)], service: &'a str) -> impl Iterator<Item = &'a str> {
    calls
        .iter()
        .filter(move |(caller, _)| caller == service)
        .map(|(_, callee)| callee.as_str())
}

/// Everything `from` reaches by calls, itself excluded.
fn downstream<'a>(calls: &'a [(String, String)], from: &'a str) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&str> = callees(calls, from).collect();
    while let Some(next) = stack.pop() {
        if next != from && seen.insert(next) {
            stack.extend(callees(calls, next));
        }
    }
    seen
}

/// Everything that reaches `to` by calls, itself excluded.
fn upstream(calls: &[(String, String)], to: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut stack = vec![to.to_string()];
    while let Some(next) = stack.pop() {
        for (caller, _) in calls.iter().filter(|(_, callee)| *callee == next) {
            if caller != to && found.insert(caller.clone()) {
                stack.push(caller.clone());
            }
        }
    }
    found
}

/// Candidate causes among the anomalous services, most likely first (ties by name).
/// `calls` are (caller, callee) edges; `target` is the alerting service, if known.
pub fn localize(
    anomalies: &BTreeMap<String, Anomaly>,
    calls: &[(String, String)],
    target: Option<&str>,
) -> Vec<Localized> {
    let explained = |service: &str| {
        let own = anomalies[service];
        !own.local
            && downstream(calls, service).into_iter().any(|below| {
                anomalies.get(below).is_some_and(|other| {
                    let comparable =
                        other.strength >= 0.5 * own.strength || (own.erring && other.erring);
                    comparable && other.moved_no_later_than(&own)
                })
            })
    };
    // A target the graph shows calling nothing says nothing about paths.
    let below_target: Option<BTreeSet<&str>> = target
        .map(|t| {
            let mut set = downstream(calls, t);
            set.insert(t);
            set
        })
        .filter(|set| set.len() > 1);
    let mut out: Vec<(bool, Localized)> = anomalies
        .keys()
        .filter(|service| !explained(service))
        .map(|service| {
            let callers: Vec<String> = upstream(calls, service)
                .into_iter()
                .filter(|c| anomalies.contains_key(c))
                .collect();
            let score = anomalies[service].strength * (1.0 + 0.1 * callers.len() as f64);
            let on_path = below_target
                .as_ref()
                .is_none_or(|set| set.contains(service.as_str()));
            (
                on_path,
                Localized {
                    service: service.clone(),
                    score,
                    callers,
                    on_path,
                },
            )
        })
        .collect();
    out.sort_by(|(a_path, a), (b_path, b)| {
        b_path
            .cmp(a_path)
            .then(b.score.total_cmp(&a.score))
            .then(a.service.cmp(&b.service))
    });
    out.into_iter().map(|(_, l)| l).collect()
}

/// A `caller,callee` edge list (header row `caller,callee`), as `metrics rank --graph`
/// reads it.
pub fn parse_edges(text: &str) -> Result<Vec<(String, String)>, EdgeError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    match lines.next() {
        Some((_, header)) if header.trim().eq_ignore_ascii_case("caller,callee") => {}
        Some((n, header)) => {
            return Err(EdgeError {
                line: n + 1,
                message: format!(
                    "the header must be `caller,callee`, not `{}`",
                    header.trim()
                ),
            });
        }
        None => {
            return Err(EdgeError {
                line: 1,
                message: "the file is empty; write a `caller,callee` header and one edge per line"
                    .into(),
            });
        }
    }
    lines
        .map(
            |(n, line)| match line.split(',').map(str::trim).collect::<Vec<_>>()[..] {
                [caller, callee] if !caller.is_empty() && !callee.is_empty() => {
                    Ok((caller.to_string(), callee.to_string()))
                }
                _ => Err(EdgeError {
                    line: n + 1,
                    message: format!("expected `caller,callee`, got `{}`", line.trim()),
                }),
            },
        )
        .collect()
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("line {line}: {message}")]
pub struct EdgeError {
    pub line: usize,
    pub message: String,
}

/// Services ranked by their harmful moves, re-ordered by the call graph: the candidate
/// causes [`localize`] finds among the changed services first (a callee explains a
/// caller only when it moved comparably and not later), then every other service in its
/// ranking order. `hunch metrics rank --graph` prints this.
pub fn along_the_graph(
    ranked: &[crate::harm::ServiceMove],
    edges: &[(String, String)],
    target: Option<&str>,
) -> Vec<(String, f64)> {
    let anomalies: BTreeMap<String, Anomaly> = ranked
        .iter()
        .filter(|m| m.score >= crate::rank::CHANGED)
        .map(|m| {
            let anomaly = Anomaly {
                strength: (1.0 + m.score).ln(),
                erring: false,
                started: Some(m.started),
                local: m.local,
            };
            (m.service.clone(), anomaly)
        })
        .collect();
    let causes = localize(&anomalies, edges, target);
    // Each service keeps its own score (its strongest harmful z); the order is the walk's.
    let score_of = |service: &str| {
        ranked
            .iter()
            .find(|m| m.service == service)
            .map_or(0.0, |m| m.score)
    };
    let mut out: Vec<(String, f64)> = causes
        .iter()
        .map(|c| (c.service.clone(), score_of(&c.service)))
        .collect();
    out.extend(
        ranked
            .iter()
            .filter(|m| !causes.iter().any(|c| c.service == m.service))
            .map(|m| (m.service.clone(), m.score)),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anomalies(list: &[(&str, f64, bool)]) -> BTreeMap<String, Anomaly> {
        list.iter()
            .map(|(s, strength, erring)| {
                (
                    s.to_string(),
                    Anomaly {
                        strength: *strength,
                        erring: *erring,
                        started: None,
                        local: false,
                    },
                )
            })
            .collect()
    }

    fn edges(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn the_database_below_explains_its_callers() {
        let found = localize(
            &anomalies(&[("web", 5.0, false), ("api", 5.5, false), ("db", 4.0, false)]),
            &edges(&[("web", "api"), ("api", "db")]),
            None,
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].service, "db");
        assert_eq!(found[0].callers, ["api", "web"]);
    }

    #[test]
    fn a_callee_that_moved_well_after_its_caller_is_its_victim() {
        let mut found = anomalies(&[("api", 5.0, false), ("db", 6.0, false)]);
        let calls = edges(&[("api", "db")]);
        found.get_mut("api").unwrap().started = Some(1_000);
        found.get_mut("db").unwrap().started = Some(1_000 + 600);
        let causes = localize(&found, &calls, None);
        assert_eq!(
            causes[0].service, "db",
            "the stronger one still ranks first"
        );
        assert!(
            causes.iter().any(|c| c.service == "api"),
            "api is not explained by a later db"
        );
        // Within a scrape or two, the callee still explains its caller.
        found.get_mut("db").unwrap().started = Some(1_000 + SAME_TIME_SECONDS);
        let causes = localize(&found, &calls, None);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].service, "db");
    }

    #[test]
    fn a_faint_drift_below_explains_nothing() {
        let found = localize(
            &anomalies(&[("cart", 6.4, false), ("cartdb", 2.0, false)]),
            &edges(&[("cart", "cartdb")]),
            None,
        );
        assert_eq!(found[0].service, "cart");
    }

    #[test]
    fn the_alerting_service_puts_its_own_paths_first() {
        let found = localize(
            &anomalies(&[("a", 9.0, false), ("b", 3.0, false)]),
            &edges(&[("gateway", "b")]),
            Some("gateway"),
        );
        assert_eq!(found[0].service, "b");
    }

    #[test]
    fn edge_lists_are_checked() {
        assert_eq!(
            parse_edges("caller,callee\nweb,api\n\napi , db\n").unwrap(),
            edges(&[("web", "api"), ("api", "db")])
        );
        assert_eq!(parse_edges("a,b\n").unwrap_err().line, 1);
        assert_eq!(
            parse_edges("caller,callee\nweb\n").unwrap_err(),
            EdgeError {
                line: 2,
                message: "expected `caller,callee`, got `web`".into()
            }
        );
    }
}
