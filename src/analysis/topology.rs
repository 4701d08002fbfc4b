//! Root-cause localisation on a call graph: which anomalous service explains the others.
//!
//! Symptoms travel from a callee to its callers (a slow database makes every caller
//! slow), so a service is *explained* when something it depends on, directly or through
//! others, is anomalous too, moved the way of harm (latency or errors up, throughput
//! down, a resource running out — not merely more bytes on the wire) and comparably — at least half as strongly — or logs
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

use crate::{sanitize, text};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

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
    /// Some of its evidence is harm of a known direction (latency or errors up,
    /// throughput down, a resource running out, failing log lines): only such a move
    /// explains a caller. Bytes on the wire that rose may be more work or less; they
    /// follow a caller as readily as they lead it.
    pub harmful: bool,
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

/// A call graph indexed both ways, built once per question: the graph may be a dense
/// matrix of thousands of nodes, so no walk scans the edge list per step.
#[derive(Default)]
struct Calls<'a> {
    down: HashMap<&'a str, Vec<&'a str>>,
    up: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Calls<'a> {
    fn new(calls: &'a [(String, String)]) -> Calls<'a> {
        let mut index = Calls::default();
        for (caller, callee) in calls {
            index.down.entry(caller).or_default().push(callee);
            index.up.entry(callee).or_default().push(caller);
        }
        index
    }

    /// What `service` calls, itself excluded (a self-loop says nothing about causes).
    fn callees<'s>(&'s self, service: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.down
            .get(service)
            .into_iter()
            .flatten()
            .copied()
            .filter(move |callee| *callee != service)
    }

    /// Whether `from` reaches, through `next` (its callees, or its callers), a node
    /// `found` accepts, itself excluded; every node reached goes to `seen`. Each node is
    /// visited once, so cycles end; the search stops at the first found.
    fn search(
        next: &HashMap<&'a str, Vec<&'a str>>,
        from: &str,
        seen: &mut HashSet<&'a str>,
        mut found: impl FnMut(&str) -> bool,
    ) -> bool {
        let mut stack: Vec<&'a str> = Vec::new();
        let visit = |node: &'a str, stack: &mut Vec<&'a str>, seen: &mut HashSet<&'a str>| {
            if node != from && seen.insert(node) {
                stack.push(node);
            }
        };
        for node in next.get(from).into_iter().flatten() {
            visit(node, &mut stack, seen);
        }
        while let Some(node) = stack.pop() {
            if found(node) {
                return true;
            }
            for after in next.get(node).into_iter().flatten() {
                visit(after, &mut stack, seen);
            }
        }
        false
    }

    /// Everything `from` reaches through `next`, itself excluded.
    fn reach(next: &HashMap<&'a str, Vec<&'a str>>, from: &str) -> BTreeSet<&'a str> {
        let mut seen = HashSet::new();
        Calls::search(next, from, &mut seen, |_| false);
        seen.into_iter().collect()
    }

    /// Whether anything `from` reaches by calls is accepted by `found`.
    fn any_below(&self, from: &str, found: impl FnMut(&str) -> bool) -> bool {
        Calls::search(&self.down, from, &mut HashSet::new(), found)
    }

    /// Everything `from` reaches by calls, itself excluded.
    fn downstream(&self, from: &str) -> BTreeSet<&'a str> {
        Calls::reach(&self.down, from)
    }

    /// Everything that reaches `to` by calls, itself excluded.
    fn upstream(&self, to: &str) -> BTreeSet<&'a str> {
        Calls::reach(&self.up, to)
    }
}

/// Candidate causes among the anomalous services, most likely first (ties by name).
/// `calls` are (caller, callee) edges; `target` is the alerting service, if known.
pub fn localize(
    anomalies: &BTreeMap<String, Anomaly>,
    calls: &[(String, String)],
    target: Option<&str>,
) -> Vec<Localized> {
    let graph = Calls::new(calls);
    let explained = |service: &str| {
        let own = anomalies[service];
        // What also calls back up to this service (a callback, a cycle): each would
        // explain the other, so there only the stronger explains.
        let above = graph.upstream(service);
        !own.local
            && graph.any_below(service, |below| {
                anomalies.get(below).is_some_and(|other| {
                    let comparable =
                        other.strength >= 0.5 * own.strength || (own.erring && other.erring);
                    let cycle_won = !above.contains(below) || other.strength > own.strength;
                    other.harmful && comparable && cycle_won && other.moved_no_later_than(&own)
                })
            })
    };
    // A target the graph shows calling nothing says nothing about paths.
    let below_target: Option<BTreeSet<&str>> = target
        .map(|t| {
            let mut set = graph.downstream(t);
            set.insert(t);
            set
        })
        .filter(|set| set.len() > 1);
    let mut out: Vec<(bool, Localized)> = anomalies
        .keys()
        .filter(|service| !explained(service))
        .map(|service| {
            // A move of unknown direction explains no one above it, and no one explains
            // a caller whose own resource ran out.
            let explains = |caller: &str| {
                anomalies[service.as_str()].harmful
                    && anomalies.get(caller).is_some_and(|above| !above.local)
            };
            let callers: Vec<String> = graph
                .upstream(service)
                .into_iter()
                .filter(|c| explains(c))
                .map(str::to_string)
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

/// Every service `from` reaches by calls (directly or through others), itself excluded.
pub fn downstream_of(calls: &[(String, String)], from: &str) -> BTreeSet<String> {
    Calls::new(calls)
        .downstream(from)
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// The most calls a graph may hold: a call graph has tens to thousands of edges, and
/// the search for what explains each anomalous service may go over all of them.
pub const MAX_EDGES: usize = 100_000;
/// How much of a cell an error message shows.
const SHOWN_CHARS: usize = 60;

/// A call graph as `metrics rank --graph` reads it: either an edge list (a
/// `caller,callee` header, one edge per line) or an adjacency matrix, as pandas writes
/// one (`DataFrame.to_csv` of `nx.to_pandas_adjacency`, the PetShop dataset's
/// `graph.csv`): a header of an empty cell then every node, and a row per node, in any
/// order — its name, then a number per node: 0 where it does not call the column's
/// node, a positive weight (1) where it does.
///
/// Names are made safe to print (no control sequences, one line); a service calling
/// itself is dropped (it explains nothing about itself), as are repeated edges. A
/// matrix that is not square, names a node twice, or holds an empty, negative or
/// non-finite cell is refused with the line and what to do.
pub fn parse_edges(text: &str) -> Result<Vec<(String, String)>, EdgeError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut records = reader.records().map(|record| {
        record.map_err(|e| EdgeError {
            line: e.position().map_or(1, |p| p.line() as usize),
            message: e.to_string(),
        })
    });
    let header = match records.next().transpose()? {
        Some(header) => header,
        None => {
            return Err(EdgeError {
                line: 1,
                message: "the file is empty; write a `caller,callee` header and one edge per line"
                    .into(),
            });
        }
    };
    let mut edges = Edges::default();
    let is_list = header.len() == 2
        && header[0].eq_ignore_ascii_case("caller")
        && header[1].eq_ignore_ascii_case("callee");
    if is_list {
        for record in records {
            let record = record?;
            let line = line_of(&record);
            let (caller, callee) = match (record.len(), record.get(0), record.get(1)) {
                (2, Some(caller), Some(callee)) => {
                    (sanitize::one_line(caller), sanitize::one_line(callee))
                }
                _ => (String::new(), String::new()),
            };
            if caller.is_empty() || callee.is_empty() {
                return Err(EdgeError {
                    line,
                    message: format!(
                        "expected `caller,callee`, got `{}`",
                        shown(&record.iter().collect::<Vec<_>>().join(","))
                    ),
                });
            }
            edges.add(caller, callee, line)?;
        }
    } else if header.len() >= 2 && header[0].is_empty() {
        parse_matrix(&header, records, &mut edges)?;
    } else {
        return Err(EdgeError {
            line: line_of(&header),
            message: format!(
                "the header must be `caller,callee` (or an adjacency matrix's: an empty cell, then the nodes), not `{}`",
                shown(&header.iter().collect::<Vec<_>>().join(","))
            ),
        });
    }
    Ok(edges.list)
}

/// Edges as they are read: each once, no self-loops, at most [`MAX_EDGES`].
#[derive(Default)]
struct Edges {
    list: Vec<(String, String)>,
    seen: HashSet<(String, String)>,
}

impl Edges {
    fn add(&mut self, caller: String, callee: String, line: usize) -> Result<(), EdgeError> {
        if caller == callee || !self.seen.insert((caller.clone(), callee.clone())) {
            return Ok(());
        }
        if self.list.len() == MAX_EDGES {
            return Err(EdgeError {
                line,
                message: format!(
                    "more than {MAX_EDGES} calls: a call graph has far fewer; is this the right file?"
                ),
            });
        }
        self.list.push((caller, callee));
        Ok(())
    }
}

fn line_of(record: &csv::StringRecord) -> usize {
    record.position().map_or(0, |p| p.line() as usize)
}

/// A cell as an error message shows it: on one line, cleaned, and cut short.
fn shown(cell: &str) -> String {
    text::clip(&sanitize::one_line(cell), SHOWN_CHARS)
}

/// An adjacency matrix (see [`parse_edges`]) after its header: the header names the
/// callees, each row its caller first; a positive number is an edge.
fn parse_matrix(
    header: &csv::StringRecord,
    records: impl Iterator<Item = Result<csv::StringRecord, EdgeError>>,
    edges: &mut Edges,
) -> Result<(), EdgeError> {
    let header_line = line_of(header);
    let mut nodes: Vec<String> = Vec::with_capacity(header.len() - 1);
    let mut columns: HashMap<String, usize> = HashMap::new();
    for (column, cell) in header.iter().enumerate().skip(1) {
        let node = sanitize::one_line(cell);
        let problem = if node.is_empty() {
            Some(format!(
                "column {} of the header names no node: an adjacency matrix names a node per column",
                column + 1
            ))
        } else if columns.contains_key(&node) {
            Some(format!(
                "`{}` names two columns: each node once",
                shown(&node)
            ))
        } else {
            None
        };
        if let Some(message) = problem {
            return Err(EdgeError {
                line: header_line,
                message,
            });
        }
        columns.insert(node.clone(), column);
        nodes.push(node);
    }
    let mut rows: HashSet<String> = HashSet::new();
    for record in records {
        let record = record?;
        let line = line_of(&record);
        let fail = |message: String| EdgeError { line, message };
        if record.len() != header.len() {
            return Err(fail(format!(
                "{} cells where the header has {}: an adjacency matrix has the row's node, then a cell per node",
                record.len(),
                header.len()
            )));
        }
        let caller = sanitize::one_line(&record[0]);
        if !columns.contains_key(&caller) {
            return Err(fail(format!(
                "the row `{}` is not a node of the header: an adjacency matrix is square, the same nodes across and down",
                shown(&caller)
            )));
        }
        if !rows.insert(caller.clone()) {
            return Err(fail(format!(
                "a second row for `{}`: each node once",
                shown(&caller)
            )));
        }
        for (callee, cell) in nodes.iter().zip(record.iter().skip(1)) {
            let weight = cell
                .parse::<f64>()
                .ok()
                .filter(|w| w.is_finite() && *w >= 0.0);
            match weight {
                Some(0.0) => {}
                Some(_) => edges.add(caller.clone(), callee.clone(), line)?,
                None => {
                    let what = match shown(cell) {
                        _ if cell.is_empty() => "an empty cell".to_string(),
                        clean if clean.is_empty() => "a cell of control characters".to_string(),
                        clean => format!("`{clean}`"),
                    };
                    return Err(fail(format!(
                        "{what} (from {} to {}): a cell is 0 (no call) or a positive weight (a call)",
                        shown(&caller),
                        shown(callee)
                    )));
                }
            }
        }
    }
    if let Some(missing) = nodes.iter().find(|n| !rows.contains(*n)) {
        return Err(EdgeError {
            line: header_line,
            message: format!(
                "no row for `{}`: an adjacency matrix is square, a row per node of the header (all 0 for one that calls nothing)",
                shown(missing)
            ),
        });
    }
    Ok(())
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
    let by_service: HashMap<&str, &crate::harm::ServiceMove> =
        ranked.iter().map(|m| (m.service.as_str(), m)).collect();
    let score_of = |service: &str| {
        by_service.get(service).map_or(0.0, |m| {
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
    let listed: HashSet<&str> = first.iter().map(String::as_str).collect();
    out.extend(
        ranked
            .iter()
            .filter(|m| !listed.contains(m.service.as_str()))
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
                harmful: true,
            };
            (m.service.clone(), anomaly)
        })
        .collect()
}

/// The kind of the alerting service's own strongest harmful move: what it pages about
/// when the alert's kind is not given.
fn symptom_kind(ranked: &[crate::harm::ServiceMove], target: &str) -> Option<crate::harm::Signal> {
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
    let graph = Calls::new(edges);
    let by_service: HashMap<&str, &crate::harm::ServiceMove> =
        ranked.iter().map(|m| (m.service.as_str(), m)).collect();
    // How strongly a service moved for this walk, when it did, and whether that move is
    // its own resource running out.
    let moved = |service: &str| -> Option<(Anomaly, bool)> {
        let m = by_service.get(service)?;
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
            harmful: true,
        };
        Some((anomaly, is_local))
    };
    // Breadth first from the target: each reached service and its depth. Each service
    // is reached once, so a cycle or a self-loop ends the walk.
    let mut reached: Vec<(String, usize)> = vec![(target.to_string(), 0)];
    let mut seen: HashSet<String> = HashSet::from([target.to_string()]);
    let mut next = 0;
    while next < reached.len() {
        let (service, depth) = reached[next].clone();
        let above = moved(&service).map(|(a, _)| a);
        for callee in graph.callees(&service) {
            if seen.contains(callee) {
                continue;
            }
            if let Some((below, _)) = moved(callee)
                && above.is_none_or(|above| below.moved_no_later_than(&above))
            {
                seen.insert(callee.to_string());
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
        graph.callees(service).any(|callee| {
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
                        harmful: true,
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

    #[test]
    fn a_self_loop_explains_nothing_and_a_cycle_ends_the_walk() {
        let ranked = [
            moved("site", &[(Signal::Latency, 40.0)]),
            moved("api", &[(Signal::Latency, 60.0)]),
        ];
        let looped = edges(&[("site", "api"), ("api", "api")]);
        let walk = walk_from_target(&ranked, &looped, "site", Signal::Latency);
        assert_eq!(walk.causes, ["api"], "the api does not explain itself");
        // A cycle: the walk ends, and every service is listed.
        let cycle = edges(&[("site", "api"), ("api", "site"), ("site", "site")]);
        let walk = walk_from_target(&ranked, &cycle, "site", Signal::Latency);
        assert_eq!(walk.on_the_way.len() + walk.causes.len(), 2);
        let order = along_the_graph(&ranked, &cycle, Some("site"), Some(Signal::Latency));
        assert_eq!(order.len(), 2);
    }

    #[test]
    fn matrices_that_are_not_square_or_hold_no_weights_are_refused() {
        let refused = |text: &str, says: &str| {
            let error = parse_edges(text).unwrap_err();
            assert!(error.message.contains(says), "{text:?}: {error}");
            error.line
        };
        assert_eq!(
            refused(",a,b\na,0,1\nb,0,0\nc,1,0\n", "not a node of the header"),
            4
        );
        assert_eq!(refused(",a,b,c\na,0,1,0\nb,0,0,0\n", "no row for `c`"), 1);
        assert_eq!(
            refused(",a,b\na,0,1,1\nb,0,0\n", "4 cells where the header has 3"),
            2
        );
        assert_eq!(refused(",a,b\na,0\nb,0,0\n", "2 cells"), 2);
        assert_eq!(refused(",a,a\na,0,1\na,0,0\n", "names two columns"), 1);
        assert_eq!(refused(",a,b\na,0,1\na,0,0\n", "a second row"), 3);
        for cell in ["NaN", "inf", "-1", "", "yes"] {
            let text = format!(",a,b\na,0,{cell}\nb,0,0\n");
            refused(&text, "a cell is 0 (no call) or a positive weight");
        }
        assert_eq!(
            parse_edges(",a,b\na,1,2.5\nb,0.0,0\n").unwrap(),
            edges(&[("a", "b")]),
            "a weight is a call; the diagonal is not"
        );
        let dense: String = std::iter::once(format!(
            ",{}\n",
            (0..400)
                .map(|n| format!("n{n}"))
                .collect::<Vec<_>>()
                .join(",")
        ))
        .chain((0..400).map(|r| format!("n{r}{}\n", ",1".repeat(400))))
        .collect();
        refused(&dense, "more than 100000 calls");
    }

    #[test]
    fn names_in_a_graph_are_made_safe_and_quotes_and_a_bom_are_read() {
        assert_eq!(
            parse_edges("\u{feff}caller,callee\n\"web\",\"api, v2\"\napi,api\nweb,\"api, v2\"\n")
                .unwrap(),
            edges(&[("web", "api, v2")]),
            "a self-loop and a repeated edge are dropped"
        );
        assert_eq!(
            parse_edges("caller,callee\n\u{1b}]0;x\u{7}\u{1b}[31mweb\u{0},\"a\npi\"\n").unwrap(),
            edges(&[("web", "a pi")])
        );
        let error = parse_edges(",a,b\na,0,\u{1b}[2Jx\nb,0,0\n").unwrap_err();
        assert!(!error.message.contains('\u{1b}'), "{error}");
    }
}
