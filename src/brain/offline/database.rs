//! The database shapes the offline brain knows without a runbook, read from the live
//! `psql` diagnostics the way an on-call engineer reads them.
//!
//! When the environment has a database whose `psql` offers the built-in diagnostics and
//! the symptoms are latency, errors or connections, [`diagnose`] asks it `blocking` (who
//! blocks whom) and `activity` (who holds sessions, in which state, for how long) in the
//! evidence stage; a runbook adds its own steps later, it is never needed. [`Readings`]
//! turns those tables — psql's aligned output, read by the one row parser in
//! [`super::evidence`] — into typed findings: [`Blocker`]s and [`SessionGroup`]s.
//!
//! From them, [`hypotheses`] makes the common shapes, each keyed like every other
//! hypothesis so the board keeps them across turns:
//!
//! - a lock chain (`lock:<db>#<pid>`): a session others wait on, strongest when it sits
//!   idle in transaction — one such session is enough, however few wait;
//! - a pool leak (`idle:<db>#<app>`): ten or more sessions of one application idle in
//!   transaction;
//! - connection exhaustion (`connections:<db>`): sessions at 90 % of `max_connections`;
//! - a long query (`slow:<db>#<app>`): a query running a minute or more, not waiting on
//!   a lock.
//!
//! A shape the latest reading no longer shows is refuted, unless the brain's own
//! mitigation ended it, which confirms it. [`mitigate`] proposes that mitigation for a
//! leading lock or leak once it is confident enough or the engineer confirmed it:
//! `SELECT pg_terminate_backend(<pid>)` for a blocker, which the gate stops for approval;
//! [`verify`] reads the diagnostic again after it ran. Nothing here does I/O: it all
//! folds the context, so the plan stays a pure function of it.

use super::Plan;
use super::checks::{self, Mitigation};
use super::evidence::{Findings, normalize, psql_rows};
use super::hypotheses::{
    Board, Candidate, HELD, Keyed, Kind, MOVED, Support, cited, combine, hyp, saturating,
    shift_strength, status_of,
};
use crate::event::{CallOutcome, HypothesisStatus};
use crate::protocol::digest::args;
use crate::protocol::ops::{PSQL, PsqlArgs, PsqlDiagnostic, PsqlDiagnosticArgs};
use crate::text::plural;
use crate::{BrainContext, HistoryItem};
use std::collections::{BTreeMap, BTreeSet};

/// Sessions waiting on another's locks: the strongest sign a database has (weight, as in
/// [`combine`]).
const BLOCKS: f64 = 0.6;
/// The session they wait on does nothing: idle in transaction while holding the locks.
const IDLE_HOLDER: f64 = 0.55;
/// The session they wait on is itself busy (a long statement holding its locks).
const BUSY_HOLDER: f64 = 0.3;
/// Sessions at the connection limit.
const EXHAUSTED: f64 = 0.5;
/// A query that runs for minutes.
const LONG_RUNNING: f64 = 0.35;
/// Another diagnostic sees the same waiting (activity counts sessions waiting on locks).
const CORROBORATED: f64 = 0.2;
/// One application holding this many sessions idle in transaction leaks them.
const LEAK_SESSIONS: u64 = 10;
/// A query running this long (seconds), not waiting on a lock, is a long query.
const LONG_QUERY_SECONDS: f64 = 60.0;
/// Sessions at this share of `max_connections` exhaust them.
const EXHAUSTION_SHARE: f64 = 0.9;

/// A session others wait on, from the `blocking` diagnostic.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Blocker {
    pub pid: i64,
    pub application: String,
    pub state: String,
    /// How long its transaction has been open, in seconds.
    pub held_for: Option<f64>,
    pub query: String,
    /// The table the sessions waiting on it wait for, when they wait on a table.
    pub relation: Option<String>,
    /// How many sessions wait on it, directly or behind another waiter.
    pub waiting: usize,
}

impl Blocker {
    fn idle_in_transaction(&self) -> bool {
        self.state.starts_with("idle in transaction")
    }
}

/// Sessions of one application in one state, from the `activity` diagnostic.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SessionGroup {
    pub application: String,
    pub state: String,
    pub sessions: u64,
    /// The oldest open transaction among them, in seconds.
    pub oldest_xact: Option<f64>,
    /// The longest-running statement among them that is not waiting on a lock.
    pub longest_query: Option<f64>,
    pub waiting_on_locks: u64,
    pub max_connections: Option<u64>,
    pub sample_query: String,
}

/// What one diagnostic call returned.
#[derive(Debug, Clone)]
pub(super) enum Reading {
    Blocking(Vec<Blocker>),
    Activity(Vec<SessionGroup>),
    /// A diagnostic this brain asks for but does not read (top statements, vacuum).
    Other,
}

/// A psql call as the database shapes see it.
#[derive(Debug, Clone)]
enum DbCall {
    /// A built-in diagnostic; its reading when it answered.
    Diagnostic {
        call: String,
        diagnostic: PsqlDiagnostic,
        reading: Option<Reading>,
        error: Option<String>,
    },
    /// A statement that ran.
    Statement { call: String, query: String },
}

/// Every psql diagnostic and statement of the investigation, in the order they happened.
#[derive(Debug, Default)]
pub(super) struct Readings {
    calls: Vec<DbCall>,
}

impl Readings {
    /// Note one history item, if it is a psql call (run, failed or denied).
    pub(super) fn note(&mut self, item: &HistoryItem) {
        let (call, tool, args, outcome, output, error) = match item {
            HistoryItem::ToolResult {
                id,
                tool,
                args,
                outcome,
                output,
                error,
                ..
            } => (id, tool, args, *outcome, output.as_str(), error.clone()),
            HistoryItem::Denied { id, tool, args, .. } => {
                (id, tool, args, CallOutcome::Denied, "", None)
            }
            _ => return,
        };
        if tool != PSQL {
            return;
        }
        let call = call.clone();
        if let Ok(a) = serde_json::from_value::<PsqlDiagnosticArgs>(args.clone()) {
            let reading = (outcome == CallOutcome::Ok).then(|| read(a.diagnostic, output));
            self.calls.push(DbCall::Diagnostic {
                call,
                diagnostic: a.diagnostic,
                reading,
                error: error.or_else(|| {
                    (outcome != CallOutcome::Ok).then(|| format!("{outcome:?}").to_lowercase())
                }),
            });
        } else if let Ok(a) = serde_json::from_value::<PsqlArgs>(args.clone())
            && outcome == CallOutcome::Ok
        {
            self.calls.push(DbCall::Statement {
                call,
                query: normalize(&a.query),
            });
        }
    }

    /// Whether this diagnostic was asked for (whatever became of it).
    fn asked(&self, wanted: PsqlDiagnostic) -> bool {
        self.calls
            .iter()
            .any(|c| matches!(c, DbCall::Diagnostic { diagnostic, .. } if *diagnostic == wanted))
    }

    /// Diagnostics that failed or were refused: (call, why).
    pub(super) fn unanswered(&self) -> Vec<(&str, &str)> {
        self.calls
            .iter()
            .filter_map(|c| match c {
                DbCall::Diagnostic {
                    call,
                    reading: None,
                    error: Some(error),
                    ..
                } => Some((call.as_str(), error.as_str())),
                _ => None,
            })
            .collect()
    }

    /// The `blocking` readings, oldest first, with their position among the calls.
    fn blocking(&self) -> impl Iterator<Item = (usize, &str, &[Blocker])> {
        self.calls.iter().enumerate().filter_map(|(i, c)| match c {
            DbCall::Diagnostic {
                call,
                reading: Some(Reading::Blocking(b)),
                ..
            } => Some((i, call.as_str(), b.as_slice())),
            _ => None,
        })
    }

    /// The `activity` readings, oldest first, with their position among the calls.
    fn activity(&self) -> impl Iterator<Item = (usize, &str, &[SessionGroup])> {
        self.calls.iter().enumerate().filter_map(|(i, c)| match c {
            DbCall::Diagnostic {
                call,
                reading: Some(Reading::Activity(g)),
                ..
            } => Some((i, call.as_str(), g.as_slice())),
            _ => None,
        })
    }

    /// The latest `blocking` reading.
    fn latest_blocking(&self) -> Option<(usize, &str, &[Blocker])> {
        self.blocking().last()
    }

    /// The latest `activity` reading.
    fn latest_activity(&self) -> Option<(usize, &str, &[SessionGroup])> {
        self.activity().last()
    }

    /// The statement `command` that ran: its position and call id.
    fn ran(&self, command: &str) -> Option<(usize, &str)> {
        let command = normalize(command);
        self.calls.iter().enumerate().find_map(|(i, c)| match c {
            DbCall::Statement { call, query } if query.eq_ignore_ascii_case(&command) => {
                Some((i, call.as_str()))
            }
            _ => None,
        })
    }

    /// A blocker of the latest reading whose application is `service`'s
    /// (`payments-2.14.0` is payments'), with the call that shows it.
    pub(super) fn blocker_of(&self, service: &str) -> Option<(&str, &Blocker)> {
        let (_, call, blockers) = self.latest_blocking()?;
        blockers
            .iter()
            .find(|b| b.application == service || b.application.starts_with(&format!("{service}-")))
            .map(|b| (call, b))
    }
}

/// A diagnostic's table as typed findings.
fn read(diagnostic: PsqlDiagnostic, output: &str) -> Reading {
    let rows = psql_rows(output);
    match diagnostic {
        PsqlDiagnostic::Blocking => Reading::Blocking(blockers(&rows)),
        PsqlDiagnostic::Activity => {
            Reading::Activity(rows.iter().map(|r| session_group(r)).collect())
        }
        _ => Reading::Other,
    }
}

fn cell<'a>(row: &'a Row, column: &str) -> &'a str {
    row.iter()
        .find(|(c, _)| c == column)
        .map_or("", |(_, v)| v.as_str())
}

/// A row of psql's table: (column, cell) pairs.
type Row = [(String, String)];

/// One row of `blocking`: `waiter` waits on a lock `holder` holds.
struct Edge<'a> {
    waiter: i64,
    holder: i64,
    row: &'a Row,
}

/// The sessions at the head of each lock chain (blocking others, waiting on nobody), and
/// how many sessions wait behind each.
fn blockers(rows: &[Vec<(String, String)>]) -> Vec<Blocker> {
    let pid = |row: &Row, column: &str| cell(row, column).parse::<i64>().ok();
    let edges: Vec<Edge> = rows
        .iter()
        .filter_map(|row| {
            Some(Edge {
                waiter: pid(row, "blocked_pid")?,
                holder: pid(row, "blocking_pid")?,
                row,
            })
        })
        .collect();
    let waiters: BTreeSet<i64> = edges.iter().map(|e| e.waiter).collect();
    let holders: BTreeSet<i64> = edges.iter().map(|e| e.holder).collect();
    let mut heads: Vec<i64> = holders.difference(&waiters).copied().collect();
    if heads.is_empty() {
        // A cycle (a deadlock about to be broken): every holder is a head.
        heads = holders.into_iter().collect();
    }
    let mut out: Vec<Blocker> = heads
        .into_iter()
        .filter_map(|head| head_of_chain(head, &edges))
        .collect();
    out.sort_by(|a, b| b.waiting.cmp(&a.waiting).then(a.pid.cmp(&b.pid)));
    out
}

/// The blocker `head` as its rows describe it.
fn head_of_chain(head: i64, edges: &[Edge]) -> Option<Blocker> {
    let row = edges.iter().find(|e| e.holder == head)?.row;
    Some(Blocker {
        pid: head,
        application: cell(row, "blocking_app").to_string(),
        state: cell(row, "blocking_state").to_string(),
        held_for: interval_seconds(cell(row, "blocking_xact_age")),
        query: cell(row, "blocking_query").to_string(),
        relation: locked_relation(head, edges),
        waiting: waiting_behind(head, edges),
    })
}

/// The table most of `head`'s direct waiters wait for, when they wait on a table.
fn locked_relation(head: i64, edges: &[Edge]) -> Option<String> {
    let mut relations: BTreeMap<&str, usize> = BTreeMap::new();
    for e in edges.iter().filter(|e| e.holder == head) {
        let relation = cell(e.row, "locked_relation");
        if !relation.is_empty() {
            *relations.entry(relation).or_default() += 1;
        }
    }
    relations
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(r, _)| r.to_string())
}

/// The sessions that wait on `head`, directly or behind another waiter.
fn waiting_behind(head: i64, edges: &[Edge]) -> usize {
    let mut seen = BTreeSet::new();
    let mut stack = vec![head];
    while let Some(holder) = stack.pop() {
        for e in edges.iter().filter(|e| e.holder == holder) {
            if e.waiter != head && seen.insert(e.waiter) {
                stack.push(e.waiter);
            }
        }
    }
    seen.len()
}

fn session_group(row: &Row) -> SessionGroup {
    SessionGroup {
        application: cell(row, "application_name").to_string(),
        state: cell(row, "state").to_string(),
        sessions: cell(row, "sessions").parse().unwrap_or(0),
        oldest_xact: interval_seconds(cell(row, "oldest_xact")),
        longest_query: interval_seconds(cell(row, "longest_query")),
        waiting_on_locks: cell(row, "waiting_on_locks").parse().unwrap_or(0),
        max_connections: cell(row, "max_connections").parse().ok(),
        sample_query: cell(row, "sample_query").to_string(),
    }
}

/// A PostgreSQL interval as seconds: `00:04:12.5`, `1 day 02:00:00`, `3 days`.
fn interval_seconds(text: &str) -> Option<f64> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    if tokens.is_empty() {
        return None;
    }
    let mut total = 0.0;
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        if token.contains(':') {
            let (sign, clock) = match token.strip_prefix('-') {
                Some(rest) => (-1.0, rest),
                None => (1.0, token),
            };
            let parts: Option<Vec<f64>> = clock.split(':').map(|p| p.parse().ok()).collect();
            total += sign * parts?.iter().fold(0.0, |acc, p| acc * 60.0 + p);
            i += 1;
        } else {
            let amount: f64 = token.parse().ok()?;
            let unit = tokens.get(i + 1)?;
            let scale = match unit.trim_end_matches('s') {
                "day" => 86_400.0,
                "mon" => 30.0 * 86_400.0,
                "year" => 365.0 * 86_400.0,
                _ => return None,
            };
            total += amount * scale;
            i += 2;
        }
    }
    Some(total)
}

/// A duration as a person says it: `45 s`, `4 min`, `3 h`, `2 days`.
fn duration_text(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7_200.0 {
        format!("{:.0} min", seconds / 60.0)
    } else if seconds < 172_800.0 {
        format!("{:.0} h", seconds / 3_600.0)
    } else {
        format!("{:.0} days", seconds / 86_400.0)
    }
}

/// The database the diagnostics can ask: the environment's PostgreSQL service, when its
/// `psql` offers the built-in diagnostics (the live tool does; the demo's simulated one
/// answers only its own queries).
pub(super) fn target(ctx: &BrainContext) -> Option<&str> {
    let offers_diagnostics = ctx.tools.iter().any(|t| {
        t.name == PSQL
            && t.parameters["properties"]
                .get("diagnostic")
                .is_some_and(|d| !d.is_null())
    });
    if !offers_diagnostics {
        return None;
    }
    ctx.incident
        .services
        .iter()
        .find(|(_, kind)| kind == "postgres")
        .map(|(name, _)| name.as_str())
}

/// Words of a symptom a database can cause: latency, errors, connections, locks.
const SYMPTOM_WORDS: &[&str] = &[
    "p99",
    "p95",
    "p90",
    "p50",
    "latency",
    "slow",
    "timeout",
    "timed out",
    "duration",
    "error",
    "5xx",
    "fail",
    "connection",
    "pool",
    "lock",
    "stuck",
    "hang",
    "saturat",
    "wait",
];

/// Whether the symptoms are of the kind a database causes: the alert says so, or one of
/// the strongest shifts is one.
fn symptoms_fit(ctx: &BrainContext, f: &Findings) -> bool {
    let fits = |text: &str| {
        let text = text.to_lowercase();
        SYMPTOM_WORDS.iter().any(|w| text.contains(w))
    };
    fits(&ctx.incident.alert)
        || f.ranking
            .as_ref()
            .is_some_and(|(_, r)| r.changed.iter().take(10).any(|s| fits(&s.series)))
}

/// In the evidence stage: ask the database who blocks whom, then who holds sessions.
pub(super) fn diagnose(ctx: &BrainContext, f: &Findings, p: &mut Plan) -> bool {
    let Some(db) = target(ctx) else {
        return false;
    };
    let wanted: Vec<PsqlDiagnostic> = [PsqlDiagnostic::Blocking, PsqlDiagnostic::Activity]
        .into_iter()
        .filter(|d| !f.db.asked(*d))
        .collect();
    if wanted.is_empty() || !symptoms_fit(ctx, f) {
        return false;
    }
    p.think(format!(
        "The symptoms are of a kind a database causes, and {db} can be asked directly: who blocks whom, and who holds sessions in which state (read-only)."
    ));
    for diagnostic in wanted {
        let why = match diagnostic {
            PsqlDiagnostic::Blocking => "a lock chain: which sessions wait, and on whom",
            _ => {
                "sessions per application and state: idle in transaction, long queries, the connection limit"
            }
        };
        let call = PsqlDiagnosticArgs {
            target: db.to_string(),
            diagnostic,
        };
        p.call(PSQL, args(&call), why);
    }
    true
}

/// A database shape as its hypothesis' key names it.
#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Lock { db: String, pid: i64 },
    Leak { db: String, application: String },
    Exhausted { db: String },
    LongQuery { db: String, application: String },
}

impl Shape {
    fn key(&self) -> String {
        match self {
            Shape::Lock { db, pid } => format!("lock:{db}#{pid}"),
            Shape::Leak { db, application } => format!("idle:{db}#{application}"),
            Shape::Exhausted { db } => format!("connections:{db}"),
            Shape::LongQuery { db, application } => format!("slow:{db}#{application}"),
        }
    }

    fn of(key: &str) -> Option<Shape> {
        let (prefix, rest) = key.split_once(':')?;
        let (db, detail) = rest.split_once('#').unwrap_or((rest, ""));
        let db = db.to_string();
        Some(match prefix {
            "lock" => Shape::Lock {
                db,
                pid: detail.parse().ok()?,
            },
            "idle" => Shape::Leak {
                db,
                application: detail.to_string(),
            },
            "connections" => Shape::Exhausted { db },
            "slow" => Shape::LongQuery {
                db,
                application: detail.to_string(),
            },
            _ => return None,
        })
    }

    fn db(&self) -> &str {
        match self {
            Shape::Lock { db, .. }
            | Shape::Leak { db, .. }
            | Shape::Exhausted { db }
            | Shape::LongQuery { db, .. } => db,
        }
    }

    /// The statement that ends it, when ending sessions does.
    fn mitigation(&self) -> Option<String> {
        match self {
            Shape::Lock { pid, .. } => Some(format!("SELECT pg_terminate_backend({pid})")),
            Shape::Leak { application, .. } => Some(format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{}' AND state = 'idle in transaction'",
                application.replace('\'', "''")
            )),
            Shape::Exhausted { .. } | Shape::LongQuery { .. } => None,
        }
    }
}

/// One shape as seen in one reading: its statement and what supports it.
struct Sighting {
    shape: Shape,
    statement: String,
    supports: Vec<Support>,
}

/// The hypotheses the database readings support: every shape any reading showed, as the
/// latest reading of its diagnostic stands on it.
pub(super) fn hypotheses(f: &Findings, ctx: &BrainContext) -> Vec<Keyed> {
    let Some(db) = target(ctx) else {
        return Vec::new();
    };
    let moved = db_moved(f, db);
    let waiting = waiting_sessions(f);
    let mut out = Vec::new();
    // Lock chains from the `blocking` readings, shapes of sessions from `activity`.
    let blocking: Vec<(usize, &str, Vec<Sighting>)> =
        f.db.blocking()
            .map(|(at, call, blockers)| {
                let mut sightings = lock_sightings(db, call, blockers);
                for s in &mut sightings {
                    s.supports.extend(waiting.clone());
                }
                (at, call, sightings)
            })
            .collect();
    let activity: Vec<(usize, &str, Vec<Sighting>)> =
        f.db.activity()
            .map(|(at, call, groups)| (at, call, session_sightings(db, call, groups)))
            .collect();
    for readings in [blocking, activity] {
        let Some((latest_at, latest_call, _)) = readings.last() else {
            continue;
        };
        let (latest_at, latest_call) = (*latest_at, latest_call.to_string());
        // Each shape as its newest sighting shows it.
        let mut newest: BTreeMap<String, &Sighting> = BTreeMap::new();
        for (_, _, sightings) in &readings {
            for s in sightings {
                newest.insert(s.shape.key(), s);
            }
        }
        let standing: BTreeSet<String> = readings
            .last()
            .map(|(_, _, s)| s.iter().map(|s| s.shape.key()).collect())
            .unwrap_or_default();
        for (key, sighting) in newest {
            let mut supports = sighting.supports.clone();
            supports.extend(moved.clone());
            let c = combine(&supports).min(0.95);
            let mut evidence = cited(&supports);
            let (statement, status, confidence) = if standing.contains(&key) {
                (sighting.statement.clone(), status_of(c), c)
            } else {
                if !evidence.contains(&latest_call) {
                    evidence.push(latest_call.clone());
                }
                match ended_by(f, &sighting.shape, latest_at) {
                    Some(call) => (
                        format!(
                            "{}; ended by the mitigation ({call}), gone at {latest_call}",
                            sighting.statement
                        ),
                        HypothesisStatus::Confirmed,
                        c.max(0.9),
                    ),
                    None => (
                        format!(
                            "{} — no longer so at {latest_call}, with nothing done",
                            sighting.statement
                        ),
                        HypothesisStatus::Refuted,
                        c.min(0.1),
                    ),
                }
            };
            out.push((
                key.clone(),
                hyp(key, statement, status, confidence, evidence),
                Kind::Resource,
                db.to_string(),
            ));
        }
    }
    out
}

/// The brain's mitigation of `shape` that ran before the reading at `before`: its call.
fn ended_by<'a>(f: &'a Findings, shape: &Shape, before: usize) -> Option<&'a str> {
    let (at, call) = f.db.ran(&shape.mitigation()?)?;
    (at < before).then_some(call)
}

/// The latest `activity` reading counts sessions waiting on locks: it sees the lock chain
/// too.
fn waiting_sessions(f: &Findings) -> Option<Support> {
    let (_, call, groups) = f.db.latest_activity()?;
    let waiting: u64 = groups.iter().map(|g| g.waiting_on_locks).sum();
    (waiting > 0).then(|| Support::new(call, CORROBORATED, saturating(waiting as f64, 10.0)))
}

/// The database's own metrics moved in the direction of harm: a symptom every database
/// shape shares.
fn db_moved(f: &Findings, db: &str) -> Option<Support> {
    let (rank_id, ranking) = f.ranking.as_ref()?;
    ranking
        .changed
        .iter()
        .filter(|s| s.service == db && super::suspects::harmful(s))
        .map(|s| shift_strength(s.score))
        .max_by(f64::total_cmp)
        .map(|strength| Support::new(rank_id, MOVED, strength * 0.5))
}

/// Each head of a lock chain, as a hypothesis: as strong as how many wait on it, and
/// stronger when it sits idle in transaction (it will not let go by itself).
fn lock_sightings(db: &str, call: &str, blockers: &[Blocker]) -> Vec<Sighting> {
    blockers
        .iter()
        .map(|b| {
            let mut supports = vec![Support::new(
                call,
                BLOCKS,
                saturating(b.waiting as f64, 10.0),
            )];
            let age = b.held_for.unwrap_or(0.0);
            if b.idle_in_transaction() {
                supports.push(Support::new(call, IDLE_HOLDER, saturating(age, 10.0)));
            } else {
                supports.push(Support::new(call, BUSY_HOLDER, saturating(age, 300.0)));
            }
            Sighting {
                shape: Shape::Lock {
                    db: db.to_string(),
                    pid: b.pid,
                },
                statement: blocker_statement(b),
                supports,
            }
        })
        .collect()
}

/// `session 31616 (adhoc-cleanup) holds a lock on orders, idle in transaction, its
/// transaction open for 4 min; 37 sessions wait on it; its last query: `LOCK TABLE …``
pub(super) fn blocker_statement(b: &Blocker) -> String {
    let application = if b.application.is_empty() {
        "no application name".to_string()
    } else {
        b.application.clone()
    };
    let holds = match &b.relation {
        Some(relation) => format!("holds a lock on {relation}"),
        None => "holds locks".to_string(),
    };
    let state = match b.held_for {
        Some(age) => format!(
            "{}, its transaction open for {}",
            b.state,
            duration_text(age)
        ),
        None => b.state.clone(),
    };
    let waiting = plural(b.waiting, "session");
    let verb = if b.waiting == 1 { "waits" } else { "wait" };
    let mut text = format!(
        "session {} ({application}) {holds}, {state}; {waiting} {verb} on it",
        b.pid
    );
    if !b.query.is_empty() {
        text.push_str(&format!("; its last query: `{}`", b.query));
    }
    text
}

/// Shapes of the sessions: a leaking pool, connections at their limit, a long query.
fn session_sightings(db: &str, call: &str, groups: &[SessionGroup]) -> Vec<Sighting> {
    let mut out = Vec::new();
    for g in groups {
        if g.state.starts_with("idle in transaction") && g.sessions >= LEAK_SESSIONS {
            let mut statement = format!(
                "{} holds {} sessions idle in transaction in {db}",
                label(&g.application),
                g.sessions
            );
            if let Some(age) = g.oldest_xact {
                statement.push_str(&format!(
                    " (the oldest transaction open for {})",
                    duration_text(age)
                ));
            }
            statement.push_str(": its connection pool leaks open transactions");
            out.push(Sighting {
                shape: Shape::Leak {
                    db: db.to_string(),
                    application: g.application.clone(),
                },
                statement,
                supports: vec![Support::new(
                    call,
                    HELD,
                    saturating(g.sessions as f64, 20.0),
                )],
            });
        }
        if let Some(age) = g.longest_query.filter(|a| *a >= LONG_QUERY_SECONDS) {
            let mut statement = format!(
                "{} runs a query in {db} that has taken {}",
                label(&g.application),
                duration_text(age)
            );
            if !g.sample_query.is_empty() {
                statement.push_str(&format!(" (`{}`)", g.sample_query));
            }
            out.push(Sighting {
                shape: Shape::LongQuery {
                    db: db.to_string(),
                    application: g.application.clone(),
                },
                statement,
                supports: vec![Support::new(
                    call,
                    LONG_RUNNING,
                    saturating(age / LONG_QUERY_SECONDS, 10.0),
                )],
            });
        }
    }
    out.extend(exhaustion(db, call, groups));
    out
}

/// Sessions at the connection limit, and who holds the most of them.
fn exhaustion(db: &str, call: &str, groups: &[SessionGroup]) -> Option<Sighting> {
    let limit = groups.iter().find_map(|g| g.max_connections)?;
    let total: u64 = groups.iter().map(|g| g.sessions).sum();
    let share = total as f64 / limit.max(1) as f64;
    if share < EXHAUSTION_SHARE {
        return None;
    }
    let mut statement = format!("{db} has {total} of its {limit} connections in use");
    if let Some(top) = groups.iter().max_by_key(|g| g.sessions) {
        statement.push_str(&format!(
            "; the most by {} ({} {})",
            label(&top.application),
            top.sessions,
            top.state
        ));
    }
    statement.push_str(": new sessions are refused or wait");
    Some(Sighting {
        shape: Shape::Exhausted { db: db.to_string() },
        statement,
        supports: vec![Support::new(
            call,
            EXHAUSTED,
            ((share - 0.8) / 0.2).clamp(0.0, 1.0),
        )],
    })
}

fn label(application: &str) -> String {
    if application.is_empty() {
        "a client with no application name".into()
    } else {
        application.to_string()
    }
}

/// The lead's shape, when it is a database shape this brain can end.
fn shape_of(lead: &Candidate) -> Option<Shape> {
    Shape::of(lead.hypothesis.key.as_deref()?)
}

/// Propose the mitigation of a leading lock or leak: once it is confident enough or the
/// engineer confirmed it, while the latest reading still shows it, and never twice.
pub(super) fn mitigate(
    f: &Findings,
    board: &Board,
    lead: &Candidate,
    applied: Option<&Mitigation>,
    p: &mut Plan,
) -> bool {
    if applied.is_some() || checks::held(f).is_some() || !checks::ready_to_mitigate(lead) {
        return false;
    }
    let h = &lead.hypothesis;
    if h.status == HypothesisStatus::Refuted {
        return false;
    }
    let Some(shape) = shape_of(lead) else {
        return false;
    };
    let Some(command) = shape.mitigation() else {
        return false;
    };
    if f.attempted(&command) {
        return false;
    }
    board.record(p);
    let effect = match &shape {
        Shape::Lock { pid, .. } => format!(
            "it ends session {pid} and rolls back its open transaction, releasing the locks the others wait on"
        ),
        _ => "it ends those sessions and rolls back their open transactions".to_string(),
    };
    p.say(format!(
        "Proposing a mitigation for {} ({:.0}% confident): `{command}` — {effect}. It changes production, so it waits for your approval.",
        h.id,
        h.confidence * 100.0
    ));
    let call = PsqlArgs {
        target: shape.db().to_string(),
        query: command,
    };
    p.call(
        PSQL,
        args(&call),
        format!("mitigate {}: {}", h.id, h.statement),
    );
    true
}

/// The database mitigation that ran, and whether a reading after it shows the shape
/// gone.
pub(super) fn mitigation_applied(ctx: &BrainContext, f: &Findings) -> Option<Mitigation> {
    let db = target(ctx)?;
    for (key, h, kind, service) in hypotheses(f, ctx) {
        let Some(shape) = Shape::of(&key) else {
            continue;
        };
        let Some((at, call)) = shape.mitigation().and_then(|m| f.db.ran(&m)) else {
            continue;
        };
        let Some(done) = f.done.iter().find(|d| d.id == call) else {
            continue;
        };
        let after = match shape {
            Shape::Lock { .. } => f.db.latest_blocking().map(|(i, c, _)| (i, c)),
            _ => f.db.latest_activity().map(|(i, c, _)| (i, c)),
        };
        let verify_ids: Vec<String> = after
            .filter(|(i, _)| *i > at)
            .map(|(_, c)| c.to_string())
            .into_iter()
            .collect();
        let verified = !verify_ids.is_empty() && h.status == HypothesisStatus::Confirmed;
        return Some(Mitigation {
            id: done.id.clone(),
            command: done.command.clone(),
            kind,
            service: service.clone(),
            binder: Candidate {
                hypothesis: h,
                kind,
                service: Some(db.to_string()),
            },
            verified,
            verify_ids,
        });
    }
    None
}

/// After the brain's own mitigation of a shape ran: read the diagnostic again, once, to
/// see the shape gone.
pub(super) fn verify(
    ctx: &BrainContext,
    f: &Findings,
    board: &Board,
    applied: Option<&Mitigation>,
    p: &mut Plan,
) -> bool {
    let (Some(m), Some(db)) = (applied, target(ctx)) else {
        return false;
    };
    let Some(shape) = m.binder.hypothesis.key.as_deref().and_then(Shape::of) else {
        return false;
    };
    let Some((at, _)) = shape.mitigation().and_then(|command| f.db.ran(&command)) else {
        return false;
    };
    let (diagnostic, latest) = match shape {
        Shape::Lock { .. } => (
            PsqlDiagnostic::Blocking,
            f.db.latest_blocking().map(|(i, _, _)| i),
        ),
        _ => (
            PsqlDiagnostic::Activity,
            f.db.latest_activity().map(|(i, _, _)| i),
        ),
    };
    let asked_after = f.db.calls[at..]
        .iter()
        .any(|c| matches!(c, DbCall::Diagnostic { diagnostic: d, .. } if *d == diagnostic));
    if latest.is_some_and(|i| i > at) || asked_after {
        return false;
    }
    p.think(format!(
        "`{}` ran. Asking {db} again whether anything still waits.",
        m.command
    ));
    board.record(p);
    let call = PsqlDiagnosticArgs {
        target: db.to_string(),
        diagnostic,
    };
    p.call(PSQL, args(&call), "verify the mitigation");
    true
}

/// What the database readings add to a change on `service`: its sessions block others.
pub(super) fn blocking_support(f: &Findings, service: &str) -> Option<(Support, String)> {
    let (call, b) = f.db.blocker_of(service)?;
    let support = Support::new(call, HELD, saturating(b.waiting as f64, 10.0));
    let text = format!(
        "its session {} ({}) blocks {}",
        b.pid,
        b.state,
        plural(b.waiting, "session")
    );
    Some((support, text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IncidentBrief;
    use crate::protocol::ToolSpec;
    use serde_json::json;

    const BLOCKING: &str = " blocked_pid | blocked_app | waiting         | blocking_pid | blocking_app  | blocking_state      | blocking_xact_age | locked_relation | blocked_query                          | blocking_query
-------------+-------------+-----------------+--------------+---------------+---------------------+-------------------+-----------------+----------------------------------------+-----------------------------------------------
 101         | api         | 00:00:09.5      | 31616        | adhoc-cleanup | idle in transaction | 00:04:02.25       | orders          | UPDATE orders SET status = $1          | BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE;
 102         | api         | 00:00:08        | 31616        | adhoc-cleanup | idle in transaction | 00:04:02.25       | orders          | SELECT status FROM orders WHERE id = $1 | BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE;
 103         | api         | 00:00:07        | 102          | api           | active              | 00:00:08          | orders          | UPDATE orders SET status = $1          | SELECT status FROM orders WHERE id = $1
(3 rows)
";

    const ACTIVITY: &str = " application_name | state               | sessions | oldest_xact | waiting_on_locks | longest_query | max_connections | sample_query
------------------+---------------------+----------+-------------+------------------+---------------+-----------------+--------------
 api              | active              | 3        | 00:00:09    | 3                |               | 100             | UPDATE orders
 payments-2.14.0  | idle in transaction | 12       | 00:10:00    | 0                |               | 100             | SELECT 1
 report           | active              | 1        | 00:06:00    | 0                | 00:06:00      | 100             | SELECT sum(x) FROM big
(3 rows)
";

    fn context() -> BrainContext {
        BrainContext {
            incident: IncidentBrief {
                alert: "api p99 above 2s".into(),
                services: vec![
                    ("api".into(), "app".into()),
                    ("orders-db".into(), "postgres".into()),
                ],
                ..IncidentBrief::default()
            },
            tools: vec![ToolSpec {
                name: PSQL.into(),
                description: String::new(),
                parameters: json!({"properties": {"target": {}, "query": {}, "diagnostic": {}}}),
            }],
            ..BrainContext::default()
        }
    }

    fn result(id: &str, args: serde_json::Value, output: &str) -> HistoryItem {
        HistoryItem::ToolResult {
            id: id.into(),
            tool: PSQL.into(),
            args,
            command: String::new(),
            outcome: CallOutcome::Ok,
            output: output.into(),
            error: None,
            raw: None,
        }
    }

    fn diagnostic(id: &str, which: &str, output: &str) -> HistoryItem {
        result(
            id,
            json!({"target": "orders-db", "diagnostic": which}),
            output,
        )
    }

    #[test]
    fn intervals_read_as_seconds() {
        assert_eq!(interval_seconds("00:04:02.25"), Some(242.25));
        assert_eq!(interval_seconds("1 day 02:00:00"), Some(93_600.0));
        assert_eq!(interval_seconds("3 days"), Some(259_200.0));
        assert_eq!(interval_seconds(""), None);
        assert_eq!(interval_seconds("soon"), None);
        assert_eq!(duration_text(242.25), "4 min");
        assert_eq!(duration_text(9.5), "10 s");
    }

    #[test]
    fn the_head_of_a_lock_chain_counts_everyone_behind_it() {
        let Reading::Blocking(blockers) = read(PsqlDiagnostic::Blocking, BLOCKING) else {
            panic!("a blocking reading");
        };
        assert_eq!(blockers.len(), 1, "102 waits itself: not a head");
        let b = &blockers[0];
        assert_eq!((b.pid, b.application.as_str()), (31616, "adhoc-cleanup"));
        assert_eq!(b.waiting, 3);
        assert_eq!(b.relation.as_deref(), Some("orders"));
        assert_eq!(b.held_for, Some(242.25));
        assert_eq!(
            blocker_statement(b),
            "session 31616 (adhoc-cleanup) holds a lock on orders, idle in transaction, its transaction open for 4 min; 3 sessions wait on it; its last query: `BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE;`"
        );
    }

    #[test]
    fn a_single_idle_blocker_is_a_strong_hypothesis_and_gets_its_pid_terminated() {
        let mut ctx = context();
        let one = " blocked_pid | blocked_app | waiting | blocking_pid | blocking_app  | blocking_state      | blocking_xact_age | locked_relation | blocked_query | blocking_query
-------------+-------------+---------+--------------+---------------+---------------------+-------------------+-----------------+---------------+---------------
 101         | api         | 00:00:09 | 31616       | adhoc-cleanup | idle in transaction | 00:00:20          | orders          | UPDATE orders | LOCK TABLE orders
(1 row)
";
        ctx.history = vec![diagnostic("c3", "blocking", one)];
        let f = Findings::read(&ctx.history);
        let found = hypotheses(&f, &ctx);
        assert_eq!(found.len(), 1);
        let (key, h, kind, service) = &found[0];
        assert_eq!(key, "lock:orders-db#31616");
        assert_eq!((*kind, service.as_str()), (Kind::Resource, "orders-db"));
        assert!(h.confidence >= 0.6, "{}", h.confidence);
        assert_eq!(h.status, HypothesisStatus::Supported);
        assert_eq!(h.evidence, ["c3"]);
        assert!(
            h.statement
                .starts_with("session 31616 (adhoc-cleanup) holds a lock on orders"),
            "{}",
            h.statement
        );
    }

    #[test]
    fn sessions_show_a_leak_a_long_query_and_the_connection_limit() {
        let groups: Vec<SessionGroup> = match read(PsqlDiagnostic::Activity, ACTIVITY) {
            Reading::Activity(g) => g,
            _ => panic!("an activity reading"),
        };
        let shapes: Vec<Shape> = session_sightings("orders-db", "c4", &groups)
            .into_iter()
            .map(|s| s.shape)
            .collect();
        assert!(shapes.contains(&Shape::Leak {
            db: "orders-db".into(),
            application: "payments-2.14.0".into()
        }));
        assert!(shapes.contains(&Shape::LongQuery {
            db: "orders-db".into(),
            application: "report".into()
        }));
        assert!(
            !shapes.contains(&Shape::Exhausted {
                db: "orders-db".into()
            }),
            "16 of 100 is not exhaustion"
        );
        let full: Vec<SessionGroup> = groups
            .into_iter()
            .map(|g| SessionGroup {
                sessions: g.sessions * 6,
                ..g
            })
            .collect();
        let sighting = exhaustion("orders-db", "c4", &full).unwrap();
        assert!(
            sighting
                .statement
                .starts_with("orders-db has 96 of its 100 connections in use"),
            "{}",
            sighting.statement
        );
    }

    #[test]
    fn a_shape_gone_after_the_mitigation_is_confirmed_and_one_gone_by_itself_refuted() {
        let mut ctx = context();
        let empty = " blocked_pid | blocking_pid\n-------------+-------------\n(0 rows)\n";
        ctx.history = vec![
            diagnostic("c3", "blocking", BLOCKING),
            result(
                "c5",
                json!({"target": "orders-db", "query": "SELECT pg_terminate_backend(31616)"}),
                " pg_terminate_backend\n----------------------\n t\n(1 row)\n",
            ),
            diagnostic("c6", "blocking", empty),
        ];
        let f = Findings::read(&ctx.history);
        let (_, h, _, _) = &hypotheses(&f, &ctx)[0];
        assert_eq!(h.status, HypothesisStatus::Confirmed);
        assert!(h.statement.contains("ended by the mitigation (c5)"));
        let applied = mitigation_applied(&ctx, &f).unwrap();
        assert_eq!(applied.id, "c5");
        assert!(applied.verified);
        assert_eq!(applied.verify_ids, ["c6"]);

        ctx.history.remove(1);
        let f = Findings::read(&ctx.history);
        let (_, h, _, _) = &hypotheses(&f, &ctx)[0];
        assert_eq!(h.status, HypothesisStatus::Refuted);
        assert!(mitigation_applied(&ctx, &f).is_none());
    }

    #[test]
    fn diagnostics_are_asked_only_where_the_database_offers_them_and_symptoms_fit() {
        let ctx = context();
        let mut p = Plan::default();
        assert!(diagnose(&ctx, &Findings::default(), &mut p));
        let asked: Vec<&serde_json::Value> =
            p.calls.iter().map(|c| &c.args["diagnostic"]).collect();
        assert_eq!(asked, [&json!("blocking"), &json!("activity")]);
        // The demo's psql has no diagnostics: nothing is asked.
        let mut demo = context();
        demo.tools[0].parameters = json!({"properties": {"target": {}, "query": {}}});
        assert!(!diagnose(&demo, &Findings::default(), &mut Plan::default()));
        // A symptom no database causes.
        let mut disk = context();
        disk.incident.alert = "certificate expires in 3 days".into();
        assert!(!diagnose(&disk, &Findings::default(), &mut Plan::default()));
        // Asked once: a denied diagnostic is not asked again.
        let mut denied = context();
        denied.history = vec![
            HistoryItem::Denied {
                id: "c1".into(),
                tool: PSQL.into(),
                args: json!({"target": "orders-db", "diagnostic": "blocking"}),
                command: "psql diagnostic blocking".into(),
                reason: "no approver".into(),
            },
            diagnostic("c2", "activity", ACTIVITY),
        ];
        let f = Findings::read(&denied.history);
        assert!(!diagnose(&denied, &f, &mut Plan::default()));
        assert_eq!(f.db.unanswered(), [("c1", "denied")]);
    }

    /// Run the offline brain turn after turn against scripted answers, as the engine
    /// would: calls get ids, the board takes the upserts, a `pg_terminate_backend` is
    /// denied ("no approver", as headless does), and `conclude` ends it.
    fn investigate(
        ctx: &mut BrainContext,
        answer: impl Fn(&crate::ProposedCall) -> Result<String, String>,
    ) -> (
        crate::protocol::board::ConcludeArgs,
        Vec<crate::ProposedCall>,
    ) {
        use crate::event::{Author, Hypothesis};
        use crate::{CONCLUDE, UPDATE_HYPOTHESES};
        let mut made = Vec::new();
        for _ in 0..20 {
            let plan = super::super::plan(ctx);
            ctx.history.push(HistoryItem::Said {
                reasoning: plan.reasoning.clone(),
                text: plan.message.clone(),
                opaque: Vec::new(),
            });
            assert!(!plan.calls.is_empty(), "stalled: {}", plan.reasoning);
            for call in plan.calls {
                let id = format!("c{}", made.len() + 1);
                made.push(call.clone());
                let query = call.args["query"].as_str().unwrap_or_default().to_string();
                let command = match call.args["diagnostic"].as_str() {
                    Some(d) => format!("psql diagnostic {d}"),
                    None if !query.is_empty() => query.clone(),
                    None => call.tool.clone(),
                };
                if call.tool == CONCLUDE {
                    let concluded: crate::protocol::board::ConcludeArgs =
                        serde_json::from_value(call.args).unwrap();
                    ctx.history.push(HistoryItem::Concluded {
                        root_cause: concluded.root_cause.clone(),
                    });
                    return (concluded, made);
                }
                if call.tool == UPDATE_HYPOTHESES {
                    let update: crate::protocol::board::UpdateHypothesesArgs =
                        serde_json::from_value(call.args.clone()).unwrap();
                    for u in update.hypotheses {
                        let h = Hypothesis {
                            id: u.id.unwrap(),
                            statement: u.statement,
                            status: u.status,
                            confidence: u.confidence,
                            evidence: u.evidence,
                            key: u.key,
                            author: Author::Brain,
                            pinned: false,
                        };
                        match ctx.board.iter_mut().find(|b| b.id == h.id) {
                            Some(b) if b.author == Author::Human => {
                                b.confidence = h.confidence;
                                b.evidence = h.evidence;
                            }
                            Some(b) => *b = h,
                            None => ctx.board.push(h),
                        }
                    }
                }
                let item = if query.contains("pg_terminate_backend") {
                    HistoryItem::Denied {
                        id,
                        tool: call.tool,
                        args: call.args,
                        command,
                        reason: "no approver".into(),
                    }
                } else {
                    let (outcome, output, error) = match answer(&call) {
                        Ok(output) => (CallOutcome::Ok, output, None),
                        Err(e) => (CallOutcome::Failed, String::new(), Some(e)),
                    };
                    HistoryItem::ToolResult {
                        id,
                        tool: call.tool,
                        args: call.args,
                        command,
                        outcome,
                        output,
                        error,
                        raw: None,
                    }
                };
                ctx.history.push(item);
            }
        }
        panic!("no conclusion after 20 turns");
    }

    /// Prometheus refuses every connection; the database answers.
    fn prometheus_down(
        blocking: &'static str,
    ) -> impl Fn(&crate::ProposedCall) -> Result<String, String> {
        move |call| {
            match (call.tool.as_str(), call.args["diagnostic"].as_str()) {
            (PSQL, Some("blocking")) => Ok(blocking.to_string()),
            (PSQL, Some("activity")) => Ok(" application_name | state  | sessions | max_connections\n------------------+--------+----------+----------------\n api              | active | 3        | 100\n(1 row)\n".into()),
            ("knowledge_search", _) => Ok(r#"{"query": "", "hits": []}"#.into()),
            _ => Err("prometheus at http://127.0.0.1:9: connection refused — is it running?".into()),
        }
        }
    }

    #[test]
    fn with_prometheus_down_the_database_still_answers_and_the_blocker_is_concluded() {
        let mut ctx = context();
        let (concluded, calls) = investigate(&mut ctx, prometheus_down(BLOCKING));
        let diagnostics: Vec<&str> = calls
            .iter()
            .filter_map(|c| c.args["diagnostic"].as_str())
            .collect();
        assert_eq!(diagnostics, ["blocking", "activity"]);
        let terminate = calls
            .iter()
            .find(|c| c.args["query"] == "SELECT pg_terminate_backend(31616)")
            .expect("the blocker's pid is proposed for termination");
        assert!(
            terminate
                .rationale
                .starts_with("mitigate H1: session 31616"),
            "{}",
            terminate.rationale
        );
        let cause = &concluded.root_cause;
        assert!(
            cause.starts_with("session 31616 (adhoc-cleanup) holds a lock on orders"),
            "{cause}"
        );
        assert!(
            cause.contains("Sources that did not answer: metrics_rank (c1: prometheus at"),
            "{cause}"
        );
        assert!(!cause.contains("refuted"), "{cause}");
        let blocking_call = format!(
            "c{}",
            calls
                .iter()
                .position(|c| c.args["diagnostic"] == "blocking")
                .unwrap()
                + 1
        );
        assert!(concluded.evidence.contains(&blocking_call), "{concluded:?}");
        assert!(concluded.confidence >= 0.6, "{concluded:?}");
        assert!(
            concluded.follow_ups.iter().any(|f| f.contains(
                "`SELECT pg_terminate_backend(31616)` was not run (denied: \"no approver\")"
            )),
            "{:?}",
            concluded.follow_ups
        );
    }

    #[test]
    fn with_nothing_to_go_on_the_conclusion_says_so_rather_than_refuted() {
        let mut ctx = context();
        ctx.tools.clear();
        let (concluded, _) = investigate(&mut ctx, prometheus_down(""));
        assert!(
            concluded
                .root_cause
                .starts_with("undetermined: no hypothesis could be formed"),
            "{}",
            concluded.root_cause
        );
        assert!(concluded.root_cause.contains("metrics_rank"));
    }

    #[test]
    fn a_weak_blocker_the_engineer_confirms_gets_its_mitigation() {
        use crate::event::Author;
        let busy = " blocked_pid | blocking_pid | blocking_app | blocking_state | blocking_xact_age | blocking_query
-------------+--------------+--------------+----------------+-------------------+---------------
 101         | 4242         | report       | active         | 00:00:03          | SELECT sum(x) FROM big
(1 row)
";
        let mut ctx = context();
        let (concluded, calls) = investigate(&mut ctx, prometheus_down(busy));
        assert!(concluded.confidence < 0.6, "{concluded:?}");
        assert!(!calls.iter().any(|c| {
            c.args["query"]
                .as_str()
                .is_some_and(|q| q.contains("pg_terminate_backend"))
        }));
        let mut h = ctx
            .board
            .iter()
            .find(|h| h.key.as_deref() == Some("lock:orders-db#4242"))
            .unwrap()
            .clone();
        h.status = HypothesisStatus::Confirmed;
        h.author = Author::Human;
        ctx.board.retain(|b| b.id != h.id);
        ctx.board.push(h.clone());
        ctx.history.push(HistoryItem::BoardEdit { hypothesis: h });
        let (concluded, calls) = investigate(&mut ctx, prometheus_down(busy));
        assert!(
            calls
                .iter()
                .any(|c| c.args["query"] == "SELECT pg_terminate_backend(4242)"),
            "{calls:?}"
        );
        assert!(concluded.confidence >= 0.9, "{concluded:?}");
    }

    #[test]
    fn a_change_whose_session_blocks_others_gains_from_it() {
        use crate::protocol::digest::{ChangeRow, RankReport, SeriesMove};
        let mut ctx = context();
        ctx.incident
            .services
            .push(("payments".into(), "app".into()));
        let holder = BLOCKING.replace("adhoc-cleanup", "payments-2.14");
        let mut f = Findings {
            ranking: Some((
                "c1".into(),
                RankReport {
                    onset: "2026-01-01T01:00:00Z".into(),
                    series_total: 1,
                    changed: vec![SeriesMove {
                        series: "payments_p99_ms".into(),
                        service: "payments".into(),
                        score: 40.0,
                        from_flat_baseline: false,
                        before: 120.0,
                        after: 900.0,
                        changed_at: "2026-01-01T01:00:00Z".into(),
                    }],
                    unchanged: Vec::new(),
                    history_rows: None,
                },
            )),
            changes: Some((
                "c2".into(),
                vec![ChangeRow {
                    time: "2026-01-01T00:55:00Z".into(),
                    kind: "deploy".into(),
                    service: "payments".into(),
                    detail: "2.13 -> 2.14".into(),
                    old: None,
                    new: None,
                    by: None,
                    end: None,
                }],
            )),
            ..Findings::default()
        };
        let deploy = |f: &Findings| {
            super::super::hypotheses::from_data(f, &ctx)
                .into_iter()
                .find(|(key, ..)| key.starts_with("deploy:payments"))
                .map(|(_, h, ..)| h)
                .unwrap()
        };
        let alone = deploy(&f);
        f.db.note(&diagnostic("c3", "blocking", &holder));
        let raised = deploy(&f);
        assert!(
            raised.confidence > alone.confidence,
            "{raised:?} vs {alone:?}"
        );
        assert!(raised.evidence.contains(&"c3".to_string()), "{raised:?}");
        assert!(
            raised
                .statement
                .ends_with("its session 31616 (idle in transaction) blocks 3 sessions"),
            "{}",
            raised.statement
        );
    }
}
