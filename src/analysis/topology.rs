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
//! When the alerting service and the kind of its alert are known, the walk starts there
//! instead and follows only callees that moved the harmful way *in that kind*
//! ([`walk_from_target`]): latency adds up along a call path and failed requests fail
//! their callers, so a symptom travels up in its own kind; a callee whose latency fell,
//! or whose traffic only dropped because its caller stopped calling, explains nothing.
//! The alerting service is a candidate like any other: it is the cause when nothing
//! below it explains its move.
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

/// A call graph as `metrics rank --graph` reads it: either an edge list (a
/// `caller,callee` header, one edge per line) or an adjacency matrix, as pandas writes
/// one (`DataFrame.to_csv` of `nx.to_pandas_adjacency`, the PetShop dataset's
/// `graph.csv`): a header of an empty cell then every node, and a row per node — its
/// name, then a number per node, nonzero where the row's node calls the column's.
pub fn parse_edges(text: &str) -> Result<Vec<(String, String)>, EdgeError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    match lines.next() {
        Some((_, header)) if header.trim().eq_ignore_ascii_case("caller,callee") => {}
        Some((_, header))
            if header.split(',').count() > 2
                && header
                    .split(',')
                    .next()
                    .is_some_and(|c| c.trim().is_empty()) =>
        {
            return parse_matrix(text);
        }
        Some((n, header)) => {
            return Err(EdgeError {
                line: n + 1,
                message: format!(
                    "the header must be `caller,callee` (or an adjacency matrix's: an empty cell, then the nodes), not `{}`",
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

/// An adjacency matrix (see [`parse_edges`]): the header names the callees, each row
/// its caller first; a nonzero number is an edge.
fn parse_matrix(text: &str) -> Result<Vec<(String, String)>, EdgeError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let at = |e: &csv::Error| e.position().map_or(1, |p| p.line() as usize);
    let header = match records.next() {
        Some(Ok(header)) => header,
        Some(Err(e)) => {
            return Err(EdgeError {
                line: at(&e),
                message: e.to_string(),
            });
        }
        None => return Ok(Vec::new()),
    };
    let callees: Vec<String> = header.iter().skip(1).map(str::to_string).collect();
    let mut edges = Vec::new();
    for record in records {
        let record = record.map_err(|e| EdgeError {
            line: at(&e),
            message: e.to_string(),
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let caller = record.get(0).unwrap_or_default();
        if caller.is_empty() {
            continue;
        }
        for (callee, cell) in callees.iter().zip(record.iter().skip(1)) {
            let weight: f64 = cell.parse().map_err(|_| EdgeError {
                line,
                message: format!("`{cell}` (from {caller} to {callee}) is not a number"),
            })?;
            if weight != 0.0 && caller != callee {
                edges.push((caller.to_string(), callee.clone()));
            }
        }
    }
    Ok(edges)
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("line {line}: {message}")]
pub struct EdgeError {
    pub line: usize,
    pub message: String,
}

/// Services ranked by their harmful moves, re-ordered by the call graph.
///
/// With an alerting service in the graph and the kind of signal its alert is about
/// (`kind`, else the kind of its own strongest harmful move), the graph is walked from
/// it ([`walk_from_target`]): the causes the walk ends at come first, then the anomalous
/// services on the way (deepest first), then every other service in its ranking order.
/// Without either, or when the walk finds no anomalous service at all, the candidate
/// causes [`localize`] finds among the changed services come first (a callee explains a
/// caller only when it moved comparably and not later). `hunch metrics rank --graph`
/// prints this.
pub fn along_the_graph(
    ranked: &[crate::harm::ServiceMove],
    edges: &[(String, String)],
    target: Option<&str>,
    kind: Option<crate::harm::Signal>,
) -> Vec<(String, f64)> {
    // Each service keeps its own score (its strongest harmful z); the order is the walk's.
    let score_of = |service: &str| {
        ranked
            .iter()
            .find(|m| m.service == service)
            .map_or(0.0, |m| {
                m.kinds
                    .iter()
                    .filter(|k| kind.is_none_or(|kind| k.signal == kind))
                    .map(|k| k.score)
                    .fold(m.score, f64::max)
            })
    };
    let walked = target
        .filter(|t| edges.iter().any(|(a, b)| a == t || b == t))
        .and_then(|t| {
            let kind = kind.or_else(|| symptom_kind(ranked, t))?;
            Some(walk_from_target(ranked, edges, t, kind))
        })
        .filter(|walk| !walk.causes.is_empty());
    let first: Vec<String> = match walked {
        Some(walk) => walk.causes.into_iter().chain(walk.on_the_way).collect(),
        None => localize(&anomalies_of(ranked), edges, target)
            .into_iter()
            .map(|c| c.service)
            .collect(),
    };
    let mut out: Vec<(String, f64)> = first.iter().map(|s| (s.clone(), score_of(s))).collect();
    out.extend(
        ranked
            .iter()
            .filter(|m| !first.contains(&m.service))
            .map(|m| (m.service.clone(), m.score)),
    );
    out
}

/// The changed services as [`localize`] reads them: each by its strongest harmful move.
fn anomalies_of(ranked: &[crate::harm::ServiceMove]) -> BTreeMap<String, Anomaly> {
    ranked
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
        .collect()
}

/// The kind of the alerting service's own strongest harmful move: what it pages about
/// when the alert's kind is not given.
fn symptom_kind(
    ranked: &[crate::harm::ServiceMove],
    target: &str,
) -> Option<crate::harm::Signal> {
    ranked
        .iter()
        .find(|m| m.service == target)?
        .kinds
        .iter()
        .filter(|k| k.score >= crate::rank::CHANGED)
        .max_by(|a, b| a.score.total_cmp(&b.score))
        .map(|k| k.signal)
}

/// Where a walk from the alerting service ended.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Walk {
    /// The anomalous services nothing below explains, most likely first.
    pub causes: Vec<String>,
    /// The anomalous services the walk went through, explained by what is below them,
    /// deepest first.
    pub on_the_way: Vec<String>,
}

/// The graph-traversal rule of the RCA literature (the PetShop and RCD baselines,
/// MicroRCA), with direction: start at the alerting service; step to each callee that
/// moved in the direction of harm *for the alert's kind of signal* (latency up, errors
/// up or availability down, throughput down) — or whose own resource ran out, which
/// shows above as any kind of symptom — and not well after its caller; the causes are
/// the services reached (the alerting one included) that no such callee explains: none
/// moved at least half as strongly (on a log scale). A service whose strongest sign is
/// its own resource running out is never explained by what it calls.
///
/// Why each part: a caller's latency is its own time plus its callees', and a callee's
/// failed requests fail its callers' (retries and fallbacks hide some, never add), so a
/// symptom travels up the call graph in its own kind and weakens on the way; a callee
/// whose latency *fell*, or that only moved in another kind (its traffic dropped
/// because its caller stopped calling), explains nothing above it. Causes are ordered
/// by their own strength, then by depth (the one below explains more), then by name.
pub fn walk_from_target(
    ranked: &[crate::harm::ServiceMove],
    edges: &[(String, String)],
    target: &str,
    kind: crate::harm::Signal,
) -> Walk {
    use crate::rank::CHANGED;
    // How strongly a service moved for this walk, when it did, and whether that move is
    // its own resource running out.
    let moved = |service: &str| -> Option<(Anomaly, bool)> {
        let m = ranked.iter().find(|m| m.service == service)?;
        let own = m.of_kind(kind).filter(|k| k.score >= CHANGED);
        let local = (m.local && m.score >= CHANGED).then_some((m.score, m.started));
        let (score, started, is_local) = match (own, local) {
            (Some(k), Some((score, started))) if score > k.score => (score, started, true),
            (Some(k), _) => (k.score, k.started, false),
            (None, Some((score, started))) => (score, started, true),
            (None, None) => return None,
        };
        let anomaly = Anomaly {
            strength: (1.0 + score).ln(),
            erring: false,
            started: Some(started),
            local: is_local,
        };
        Some((anomaly, is_local))
    };
    // Breadth first from the target: each reached service and its depth.
    let mut reached: Vec<(String, usize)> = vec![(target.to_string(), 0)];
    let mut next = 0;
    while next < reached.len() {
        let (service, depth) = reached[next].clone();
        let above = moved(&service).map(|(a, _)| a);
        for callee in callees(edges, &service) {
            if reached.iter().any(|(s, _)| s == callee) {
                continue;
            }
            if let Some((below, _)) = moved(callee)
                && above.is_none_or(|above| below.moved_no_later_than(&above))
            {
                reached.push((callee.to_string(), depth + 1));
            }
        }
        next += 1;
    }
    let explained = |service: &str| -> bool {
        let own = moved(service);
        if own.is_some_and(|(_, local)| local) {
            return false;
        }
        let strength = own.map_or(0.0, |(a, _)| a.strength);
        callees(edges, service).any(|callee| {
            moved(callee).is_some_and(|(below, _)| {
                below.strength >= 0.5 * strength
                    && own.is_none_or(|(above, _)| below.moved_no_later_than(&above))
            })
        })
    };
    let mut causes: Vec<(f64, usize, String)> = Vec::new();
    let mut on_the_way: Vec<(usize, String)> = Vec::new();
    for (service, depth) in &reached {
        let Some((anomaly, _)) = moved(service) else {
            continue;
        };
        if explained(service) {
            on_the_way.push((*depth, service.clone()));
        } else {
            causes.push((anomaly.strength, *depth, service.clone()));
        }
    }
    causes.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    on_the_way.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    Walk {
        causes: causes.into_iter().map(|(_, _, s)| s).collect(),
        on_the_way: on_the_way.into_iter().map(|(_, s)| s).collect(),
    }
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

    use crate::harm::{KindMove, ServiceMove, Signal};

    /// A service's moves: (signal, weighted z) each, all started at the same time.
    fn moved(service: &str, kinds: &[(Signal, f64)]) -> ServiceMove {
        ServiceMove {
            service: service.into(),
            series: String::new(),
            score: kinds.iter().map(|(_, z)| *z).fold(0.0, f64::max),
            started: 100,
            local: false,
            kinds: kinds
                .iter()
                .map(|(signal, score)| KindMove {
                    signal: *signal,
                    score: *score,
                    started: 100,
                })
                .collect(),
        }
    }

    fn first_cause(ranked: &[ServiceMove], calls: &[(&str, &str)], kind: Signal) -> String {
        along_the_graph(ranked, &edges(calls), Some("site"), Some(kind))[0]
            .0
            .clone()
    }

    #[test]
    fn a_failing_table_two_hops_down_explains_the_availability_drop() {
        let ranked = [
            moved("site", &[(Signal::Errors, 40.0)]),
            moved("api", &[(Signal::Errors, 60.0)]),
            moved("table", &[(Signal::Errors, 90.0)]),
            // Louder, but in another kind and off the failing path.
            moved("search", &[(Signal::Latency, 300.0)]),
        ];
        let calls = [("site", "api"), ("api", "table"), ("site", "search")];
        assert_eq!(first_cause(&ranked, &calls, Signal::Errors), "table");
        let walk = walk_from_target(&ranked, &edges(&calls), "site", Signal::Errors);
        assert_eq!(walk.causes, ["table"]);
        assert_eq!(walk.on_the_way, ["api", "site"], "deepest first");
    }

    #[test]
    fn a_callee_that_moved_only_in_another_kind_explains_nothing() {
        // The api's latency fell (its failed requests return early: no harmful latency
        // move), and the queue only got fewer requests: the site's own errors stay its own.
        let ranked = [
            moved("site", &[(Signal::Errors, 50.0), (Signal::Latency, 30.0)]),
            moved("api", &[]),
            moved("queue", &[(Signal::Throughput, 80.0)]),
        ];
        let calls = [("site", "api"), ("site", "queue")];
        assert_eq!(first_cause(&ranked, &calls, Signal::Errors), "site");
        // The same site, paged for latency, with a slower api below: the api.
        let ranked = [
            moved("site", &[(Signal::Latency, 30.0)]),
            moved("api", &[(Signal::Latency, 25.0)]),
        ];
        assert_eq!(first_cause(&ranked, &calls, Signal::Latency), "api");
    }

    #[test]
    fn a_faint_callee_does_not_explain_a_strong_caller() {
        let ranked = [
            moved("site", &[(Signal::Latency, 10.0)]),
            moved("api", &[(Signal::Latency, 400.0)]),
            moved("db", &[(Signal::Latency, 4.5)]),
        ];
        let calls = [("site", "api"), ("api", "db")];
        let walk = walk_from_target(&ranked, &edges(&calls), "site", Signal::Latency);
        assert_eq!(walk.causes, ["api", "db"]);
    }

    #[test]
    fn without_a_kind_the_alerting_services_own_symptom_sets_it() {
        let ranked = [
            moved("site", &[(Signal::Errors, 50.0)]),
            moved("api", &[(Signal::Latency, 500.0)]),
            moved("table", &[(Signal::Errors, 70.0)]),
        ];
        let order = along_the_graph(
            &ranked,
            &edges(&[("site", "api"), ("site", "table")]),
            Some("site"),
            None,
        );
        assert_eq!(order[0].0, "table");
        assert_eq!(order.len(), 3, "every service is still listed");
    }

    #[test]
    fn adjacency_matrices_are_read_as_pandas_writes_them() {
        let matrix = ",PetSite,petInfo_AWS::DynamoDB::Table,lambda_step_readDDB\n\
                      PetSite,0.0,0.0,1.0\n\
                      petInfo_AWS::DynamoDB::Table,0.0,0.0,0.0\n\
                      lambda_step_readDDB,0.0,1.0,0.0\n";
        assert_eq!(
            parse_edges(matrix).unwrap(),
            edges(&[
                ("PetSite", "lambda_step_readDDB"),
                ("lambda_step_readDDB", "petInfo_AWS::DynamoDB::Table")
            ])
        );
        let wrong = ",a,b\na,0,x\nb,0,0\n";
        assert_eq!(parse_edges(wrong).unwrap_err().line, 2);
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
