//! Suspects from evidence alone, when no change event explains the incident: which
//! service the metrics, the logs and the call graph point at.
//!
//! The services that moved at the onset in the direction of harm (a series that got
//! worse — latency, errors or saturation up, throughput or availability down — never
//! one that got better, nor a caller's client-side timing of what it calls; error or
//! warning log lines that are new or surged; lines that vanished; calls into it that
//! wait longer or its own time grown, in the traces) go to
//! [`crate::analysis::topology::localize`], which walks the
//! call graph: a callee that moved comparably, or logs errors while its caller does,
//! explains the caller. Strength is logarithmic in the shift (a zero-spread baseline can
//! make z absurd) plus one for each surging log template (up to three). Nothing here is tied to a dataset: it reads series names only to
//! say in words what kind of resource moved.

use super::evidence::{Findings, Shift, Template};
use super::{shift_z_text, short_number};
use crate::analysis::harm;
use crate::analysis::rank::CHANGED;
use crate::analysis::significance;
use crate::analysis::topology::{self, Anomaly, localize};
use crate::protocol::digest::{EdgeStat, Percentiles, ServiceSelfTime, TraceReport};
use std::collections::{BTreeMap, BTreeSet};

/// A service the evidence points at, with what points at it.
#[derive(Debug, Clone)]
pub(super) struct Suspect {
    pub service: String,
    pub score: f64,
    /// Its own series that moved, strongest first.
    pub shifts: Vec<Shift>,
    /// Its own error/warning templates that are new or surged since the onset.
    pub templates: Vec<Template>,
    /// Anomalous services upstream of it (their symptoms it explains).
    pub callers: Vec<String>,
    /// What the traces show of it: calls into it that wait longer, its own time grown.
    pub traced: Vec<TraceSign>,
    /// Lines it wrote steadily before the onset and stopped writing.
    pub vanished: Vec<Template>,
    /// Its share of error lines, when the logs have no history to compare templates with
    /// and errors dominate its lines.
    pub erring: Option<ErrorShare>,
    /// Services above it whose new errors name it.
    pub named_by: Vec<Naming>,
    /// What its evidence weighs once practical significance is taken into account.
    pub weighed: Weighed,
    /// On a call path from the paging service (or no paging service is known).
    pub on_path: bool,
}

/// A suspect's evidence by source, each on the logarithmic scale of a metric's z and
/// weighed by whether it is large enough to matter (see `analysis::significance`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Weighed {
    /// Its strongest series that moved in the direction of harm.
    pub moved: f64,
    /// Its strongest trace sign.
    pub traced: f64,
    /// The lines it stopped writing (up to two), by their surprise.
    pub vanished: f64,
    /// Its share of error lines without a baseline (see
    /// [`significance::error_share_strength`]).
    pub errors: f64,
}

/// A service whose own lines are largely errors, in logs that reach too little before
/// the onset to say what is new.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct ErrorShare {
    pub errors: u64,
    pub lines: u64,
    pub strength: f64,
}

/// The services whose error lines stand out of their own lines and of the rest of the
/// system's, when the logs have no history to compare templates with (with history, new
/// and surging templates say more, and say it against the service's own past).
fn error_shares(f: &Findings) -> BTreeMap<String, ErrorShare> {
    let Some((_, tally, totals)) = f.log_tally.as_ref().filter(|_| f.thin_log_history) else {
        return BTreeMap::new();
    };
    // The whole log's totals (the tally lists the most erring services only); a report
    // recorded before they were given sums its tally.
    let listed = tally
        .iter()
        .fold((0, 0), |(l, e), s| (l + s.lines, e + s.errors));
    let (all_lines, all_errors) = if totals.0 >= listed.0 && totals.1 >= listed.1 {
        *totals
    } else {
        listed
    };
    tally
        .iter()
        .filter_map(|s| {
            let strength = significance::error_share_strength(
                s.errors,
                s.lines,
                all_errors - s.errors,
                all_lines - s.lines,
            )?;
            let share = ErrorShare {
                errors: s.errors,
                lines: s.lines,
                strength,
            };
            Some((s.service.clone(), share))
        })
        .collect()
}

/// What ends a file's name, not a host's (`Pool.java:12`, `cart.html:42` in a stack
/// frame or a template error have the shape of `host:port`).
const FILE_EXTENSIONS: &[&str] = &[
    "java", "kt", "scala", "go", "py", "rb", "rs", "js", "ts", "cs", "cpp", "cc", "c", "h", "php",
    "ex", "exs", "erl", "clj", "swift", "html", "htm", "jsp", "css", "json", "yaml", "yml", "xml",
    "txt", "log", "tmpl",
];

/// How a text names a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Mention {
    /// As a word, which may be a word of the message (`user`, `postgres: column …`).
    Word,
    /// As a network address: `host:port`, `//host`, or a host name it leads
    /// (`orders-db.prod.svc`). A call that failed to reach it.
    Address,
}

/// How `text` names `service` as a whole name, when it does: not inside a longer name
/// (`orders-db` is not in `orders-db-replica`), nor as a segment of a path
/// (`/api/user/42`); as an address when a port, a scheme or a domain goes with it.
fn names_service(text: &str, service: &str) -> Option<Mention> {
    let (text, name) = (text.to_lowercase(), service.to_lowercase());
    let inside = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    if name.is_empty() {
        return None;
    }
    text.match_indices(&name)
        .filter_map(|(at, _)| {
            let before = &text[..at];
            let rest = &text[at + name.len()..];
            let (previous, next) = (before.chars().next_back(), rest.chars().next());
            let whole =
                !previous.is_some_and(|c| inside(c) || c == '.') && !next.is_some_and(inside);
            let scheme = before.ends_with("//");
            let path_segment = previous == Some('/') && !scheme;
            if !whole || path_segment {
                return None;
            }
            let mut after = rest.chars();
            let port =
                after.next() == Some(':') && after.next().is_some_and(|c| c.is_ascii_digit());
            // A host name it leads, not a file it names (`cart.html`).
            let domain = rest.strip_prefix('.').is_some_and(|r| {
                let label: String = r.chars().take_while(|c| c.is_alphanumeric()).collect();
                label.starts_with(|c: char| c.is_alphabetic())
                    && !FILE_EXTENSIONS.contains(&label.as_str())
            });
            Some(if port || domain || scheme {
                Mention::Address
            } else {
                Mention::Word
            })
        })
        .max()
}

/// A caller's error template that names a service below it, and how.
#[derive(Debug, Clone)]
pub(super) struct Naming {
    pub caller: String,
    pub template: Template,
    pub mention: Mention,
}

/// The services that callers' new error lines name, below those callers in the graph:
/// a caller that logs "dial tcp cart:7070: connection refused" or "No instances
/// available for seats" reports what failed under it, and an engineer looks there next.
/// An address makes the service a suspect by itself (a call failed to reach it); a word
/// only adds to a service that moved on its own, since a message's words (`user`,
/// `postgres`, `kafka`) name things a caller's own bug was about. With no graph, any
/// other known service counts.
fn named_in_errors(
    templates: &BTreeMap<String, Vec<Template>>,
    services: &[(String, String)],
    calls: &[(String, String)],
) -> BTreeMap<String, Vec<Naming>> {
    let mut named: BTreeMap<String, Vec<Naming>> = BTreeMap::new();
    for (caller, list) in templates {
        let errors: Vec<&Template> = list.iter().filter(|t| severe(t)).collect();
        if errors.is_empty() {
            continue;
        }
        // Once per caller: a graph may hold thousands of services.
        let below = topology::downstream_of(calls, caller);
        for t in errors {
            let text = format!("{} {}", t.template, t.sample);
            for (service, _) in services.iter().filter(|(s, _)| s != caller) {
                if !(calls.is_empty() || below.contains(service)) {
                    continue;
                }
                let Some(mention) = names_service(&text, service) else {
                    continue;
                };
                let by = named.entry(service.clone()).or_default();
                match by.iter_mut().find(|n| &n.caller == caller) {
                    Some(known) if known.mention < mention => {
                        known.mention = mention;
                        known.template = t.clone();
                    }
                    Some(_) => {}
                    None => by.push(Naming {
                        caller: caller.clone(),
                        template: t.clone(),
                        mention,
                    }),
                }
            }
        }
    }
    named
}

/// Whether the logs point at `service` on their own: error lines of its that are new or
/// surging, or (with no history to compare with) errors that dominate its lines.
pub(super) fn logs_point_at(f: &Findings, service: &str) -> bool {
    let surging_here = f
        .logs
        .iter()
        .flat_map(|(_, _, templates)| templates)
        .any(|t| t.service == service && severe(t) && surging(t));
    surging_here || error_shares(f).contains_key(service)
}

/// One thing the traces show about a service, with its strength on the scale of a
/// metric shift (logarithmic).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TraceSign {
    pub strength: f64,
    /// The seconds the call or the service's own time grew by (at its median, or its p90
    /// when the median barely moved).
    pub added: f64,
    pub text: String,
    /// Read on its face, with no history to compare with.
    pub on_its_face: bool,
}

/// Calls a trace comparison needs on each side before it is believed.
const TRACE_CALLS_BEFORE: u64 = 2;
const TRACE_CALLS_AFTER: u64 = 3;
/// How much a latency must grow, as a ratio and in seconds, to be a sign.
const TRACE_RATIO: f64 = 3.0;
const TRACE_SECONDS: f64 = 0.02;

/// The growth of a latency from `before` to `after` (by its median, and by its p90 when
/// the median barely moved), when it is large enough to be a sign: (ratio, before,
/// after).
fn grown(before: Option<Percentiles>, after: Option<Percentiles>) -> Option<(f64, f64, f64)> {
    let (before, after) = (before?, after?);
    [(before.p50, after.p50), (before.p90, after.p90)]
        .into_iter()
        .map(|(b, a)| (a / b.max(0.001), b, a))
        .filter(|(ratio, b, a)| *ratio >= TRACE_RATIO && a - b >= TRACE_SECONDS)
        .max_by(|x, y| x.0.total_cmp(&y.0))
}

/// What the traces say about each service. A call whose *wait* grew — the caller's
/// client span beyond the callee's own span: the network to the callee, or its pod's
/// network — is a sign against the callee (the callee's own span did not grow, so the
/// time went between them; every caller of a delayed pod shows it). A service whose own
/// time per call grew (its spans minus the time waiting on others) is a sign against it:
/// the slow edge is attributed to the service that got slower, not to every caller above
/// it. Strength is logarithmic in the ratio, like a metric shift's in its z.
pub(super) fn trace_signs(report: &TraceReport) -> BTreeMap<String, Vec<TraceSign>> {
    let mut signs: BTreeMap<String, Vec<TraceSign>> = BTreeMap::new();
    let believed =
        |before: u64, after: u64| before >= TRACE_CALLS_BEFORE && after >= TRACE_CALLS_AFTER;
    let thin = thin_trace_history(report);
    let slowed_edges: Vec<(&EdgeStat, TraceSign)> = report
        .edges
        .iter()
        .filter(|e| e.caller != e.callee)
        .filter_map(|e| {
            let compared = believed(e.calls_before, e.calls_after)
                .then(|| waited(e))
                .flatten();
            let on_its_face = || {
                (thin && callee_side(report, e))
                    .then(|| waited_on_its_face(e))
                    .flatten()
            };
            compared.or_else(on_its_face).map(|sign| (e, sign))
        })
        .collect();
    // Each slowed call goes to the end it shares with the most other slowed calls: a pod
    // whose network is delayed slows the calls into it and out of it, a pod starved of
    // CPU the calls it makes; a lone slowed call goes to its callee.
    let ends = |service: &str| {
        slowed_edges
            .iter()
            .filter(|(e, _)| e.caller == service || e.callee == service)
            .count()
    };
    for (edge, sign) in slowed_edges.iter() {
        let blamed = if ends(&edge.caller) > ends(&edge.callee) {
            &edge.caller
        } else {
            &edge.callee
        };
        signs.entry(blamed.clone()).or_default().push(sign.clone());
    }
    // A service's own time is a distribution of many calls: it needs a few more.
    for service in report
        .services
        .iter()
        .filter(|s| believed(s.calls_before / 2, s.calls_after.saturating_sub(2)))
    {
        if let Some(sign) = slowed(service) {
            signs.entry(service.service.clone()).or_default().push(sign);
        }
    }
    for list in signs.values_mut() {
        list.sort_by(|a, b| b.strength.total_cmp(&a.strength));
    }
    signs
}

/// How long a call may wait beyond the callee's own span, at its median, before the
/// wait is a fault on its face: between two pods of one system a round trip takes
/// milliseconds, so half a second lost in most calls is the network or the pods between
/// them, whatever the history says.
const WAIT_ON_ITS_FACE: f64 = 0.5;

/// The spans reach too little before the split (less than
/// [`crate::protocol::digest::MIN_LOG_BASELINE_SECONDS`], as for logs) for the time
/// before it to be the usual: it may hold the fault already.
fn thin_trace_history(report: &TraceReport) -> bool {
    if report.onset_source != crate::protocol::digest::OnsetSource::LatencyShift
        && report.onset_source != crate::protocol::digest::OnsetSource::Given
    {
        return false;
    }
    match (report.first.as_deref(), report.onset.as_deref()) {
        (Some(first), Some(split)) => {
            super::seconds(split) - super::seconds(first)
                < crate::protocol::digest::MIN_LOG_BASELINE_SECONDS
        }
        _ => false,
    }
}

/// A call that waits [`WAIT_ON_ITS_FACE`] or more beyond the callee's own span at its
/// median, on both sides of a split with too little history before it. No baseline
/// says it is new, and none is needed: it counts on the scale of its ratio to the least
/// wait a comparison notices, as a grown wait counts on its growth.
fn waited_on_its_face(edge: &EdgeStat) -> Option<TraceSign> {
    let after = edge
        .wait_after
        .filter(|_| edge.calls_after >= TRACE_CALLS_AFTER)?;
    let before = edge.wait_before.map_or(after.p50, |b| b.p50);
    if after.p50 < WAIT_ON_ITS_FACE || before < WAIT_ON_ITS_FACE {
        return None;
    }
    Some(TraceSign {
        strength: (1.0 + after.p50 / TRACE_SECONDS).ln(),
        added: after.p50,
        on_its_face: true,
        text: format!(
            "calls {} → {} wait {} s beyond the callee's own span at the median (the network or the pods between them; no earlier traces to compare with)",
            edge.caller,
            edge.callee,
            short_number(after.p50)
        ),
    })
}

/// Whether a call's long wait may lie on the callee's side: not when the caller's calls
/// to others wait as long too (unless another caller of the callee also waits). A caller
/// whose own client queues (a full connection pool, a starved CPU, a pause) makes every
/// call it sends wait, and the callee is not to blame; with one call to go by, the
/// caller's own resources decide (a caller whose pool or CPU ran out is never explained
/// by what it calls).
fn callee_side(report: &TraceReport, edge: &EdgeStat) -> bool {
    let waits_long = |e: &EdgeStat| {
        e.wait_after
            .is_some_and(|w| w.p50 >= WAIT_ON_ITS_FACE && e.calls_after >= TRACE_CALLS_AFTER)
    };
    let others = || report.edges.iter().filter(|e| e.caller != e.callee);
    let another_caller_waits =
        others().any(|e| e.callee == edge.callee && e.caller != edge.caller && waits_long(e));
    let caller_waits_elsewhere =
        others().any(|e| e.caller == edge.caller && e.callee != edge.callee && waits_long(e));
    another_caller_waits || !caller_waits_elsewhere
}

fn waited(edge: &EdgeStat) -> Option<TraceSign> {
    let (ratio, before, after) = grown(edge.wait_before, edge.wait_after)?;
    // The callee itself answered as fast as before: the time went between them.
    let own_grew = grown(edge.latency_before, edge.latency_after).is_some();
    let place = if own_grew {
        ""
    } else {
        " beyond the callee's own span (the network or the pods between them)"
    };
    Some(TraceSign {
        strength: (1.0 + ratio).ln(),
        added: after - before,
        on_its_face: false,
        text: format!(
            "calls {} → {} wait {} → {} s{place}",
            edge.caller,
            edge.callee,
            short_number(before),
            short_number(after)
        ),
    })
}

fn slowed(service: &ServiceSelfTime) -> Option<TraceSign> {
    let (ratio, before, after) = grown(service.self_before, service.self_after)?;
    Some(TraceSign {
        strength: (1.0 + ratio).ln(),
        added: after - before,
        on_its_face: false,
        text: format!(
            "its own time per call grew {} → {} s (traces)",
            short_number(before),
            short_number(after)
        ),
    })
}

impl Suspect {
    /// All its evidence was read without a history to compare with (a share of errors, a
    /// wait on its face, a caller's errors that name it): it may single the service out,
    /// but says nothing of what is new.
    pub(super) fn without_history_only(&self) -> bool {
        self.shifts.is_empty()
            && self.templates.is_empty()
            && self.vanished.is_empty()
            && self.traced.iter().all(|t| t.on_its_face)
    }

    /// Some of its evidence says which way is harm: a series with a known direction,
    /// failing or stopped log lines, or slower calls.
    pub(super) fn harm_known(&self) -> bool {
        self.shifts
            .iter()
            .any(|s| harm::direction_of(metric_of(s)).is_some())
            || !self.templates.is_empty()
            || !self.traced.is_empty()
            || !self.vanished.is_empty()
            || self.erring.is_some()
            || self.named_by.iter().any(|n| n.mention == Mention::Address)
    }

    /// What kind of trouble its series show, in words (`CPU saturation`, …).
    pub(super) fn resource_words(&self) -> Vec<&'static str> {
        let mut words = Vec::new();
        // Saturation and growth are increases; a series that fell is a symptom.
        for shift in self.shifts.iter().filter(|s| s.after > s.before) {
            let name = shift.series.to_lowercase();
            let word = if name.contains("cpu") || name.contains("throttl") {
                "CPU saturation"
            } else if ["mem", "rss", "heap", "oom"]
                .iter()
                .any(|w| name.contains(w))
            {
                "memory growth"
            } else if name.contains("conn") || name.contains("pool") {
                "connection saturation"
            } else if name.contains("lag") || name.contains("queue") || name.contains("backlog") {
                "a growing backlog"
            } else if name.contains("disk") || name.contains("fs_") || name.contains("inode") {
                "disk filling"
            } else if name.contains("restart") {
                "restarts"
            } else {
                continue;
            };
            if !words.contains(&word) {
                words.push(word);
            }
        }
        words
    }
}

/// One line per piece of evidence a suspect has: its strongest series and its surging
/// log templates.
pub(super) fn evidence_text(suspect: &Suspect) -> String {
    let mut parts: Vec<String> = suspect
        .shifts
        .iter()
        .take(3)
        .map(|s| {
            format!(
                "{} {} → {} ({})",
                s.series,
                short_number(s.before),
                short_number(s.after),
                shift_z_text(s)
            )
        })
        .collect();
    parts.extend(suspect.traced.iter().take(2).map(|t| t.text.clone()));
    parts.extend(suspect.vanished.iter().take(1).map(|t| {
        format!(
            "stopped writing \"{}\" ({} before the onset, none since)",
            super::quote(&t.template),
            t.before
        )
    }));
    parts.extend(suspect.erring.iter().map(|e| {
        format!(
            "{} of its {} log lines are errors ({:.0} %; no earlier logs to compare with)",
            e.errors,
            e.lines,
            100.0 * e.errors as f64 / e.lines.max(1) as f64
        )
    }));
    parts.extend(suspect.named_by.iter().take(2).map(|n| {
        format!(
            "{}'s new errors name it: \"{}\" ×{}",
            n.caller,
            super::quote(&n.template.template),
            n.template.after
        )
    }));
    parts.extend(suspect.templates.iter().take(2).map(|t| {
        format!(
            "new since the onset: \"{}\" ×{}",
            super::quote(&t.template),
            t.after
        )
    }));
    parts.join("; ")
}

/// A series measured on the calling side: a symptom of a callee (see
/// [`crate::analysis::harm::caller_side`]).
pub(super) fn caller_side(shift: &Shift) -> bool {
    harm::caller_side(metric_of(shift))
}

/// Whether a series moved in the direction of harm (see
/// [`crate::analysis::harm::harmful`]).
pub(super) fn harmful(shift: &Shift) -> bool {
    harm::harmful(metric_of(shift), shift.before, shift.after)
}

/// A series' name without its service.
fn metric_of(shift: &Shift) -> &str {
    shift
        .series
        .strip_prefix(&shift.service)
        .unwrap_or(&shift.series)
}

/// A log template that is an error or warning and appeared, surged, or burst since the
/// onset.
pub(super) fn surging(t: &Template) -> bool {
    let serious = surging_kind(t);
    let burst = t.burst.as_ref().is_some_and(|b| b.since_split);
    // Rates, not counts: the windows before and after the split differ in length. A
    // template unseen before counts once it has a few lines; a row that gives no rate
    // (a session recorded before rates were reported) is read by its counts.
    let jumped = match t.rate_jump {
        Some(jump) => jump >= 4.0 && t.after >= 4,
        None => t.after >= 4 * (t.before + 1),
    };
    serious && t.after > 0 && (t.new || t.surged || burst || jumped)
}

/// A warning or worse: a line whose rise is harm and whose end is relief.
fn surging_kind(t: &Template) -> bool {
    !matches!(
        t.level.to_ascii_uppercase().as_str(),
        "INFO" | "DEBUG" | "TRACE" | "LOG" | "NOTICE"
    )
}

/// An error or worse, not a warning.
pub(super) fn severe(t: &Template) -> bool {
    matches!(
        t.level.to_ascii_uppercase().as_str(),
        "ERROR" | "ERR" | "FATAL" | "CRITICAL" | "CRIT" | "SEVERE" | "PANIC" | "ALERT" | "EMERG"
    )
}

/// A remote host the suspect's new errors name that is none of the known services (an
/// API, a payment provider, a SaaS endpoint): the failure may come from outside. Only
/// what is unmistakably a network address counts — a URL's host or a `host:port` — so a
/// Java logger (`com.zaxxer.hikari.pool`) or a file name is never taken for one.
pub(super) fn external_host(suspect: &Suspect, services: &[(String, String)]) -> Option<String> {
    // `Pool.java:12` in a stack frame has the shape of `host:port`.
    let source_file = |name: &str| {
        name.rsplit('.')
            .next()
            .is_some_and(|ext| FILE_EXTENSIONS.contains(&ext))
    };
    let address = regex::Regex::new(
        r"(?i)(?:\b[a-z][a-z0-9+.-]*://((?:[a-z0-9-]+\.)+[a-z]{2,})|\b((?:[a-z0-9-]+\.)+[a-z]{2,}):\d{2,5}\b)",
    )
    .expect("the address pattern compiles");
    let internal = |name: &str| {
        let first = name.split('.').next().unwrap_or(name);
        services
            .iter()
            .any(|(service, _)| service.eq_ignore_ascii_case(first))
            || [".local", ".internal", ".svc", ".cluster", ".localhost"]
                .iter()
                .any(|suffix| name.ends_with(suffix))
    };
    suspect.templates.iter().find_map(|t| {
        address
            .captures_iter(&t.sample)
            .filter_map(|c| c.get(1).or_else(|| c.get(2)))
            .map(|m| m.as_str().to_ascii_lowercase())
            .filter(|h| !source_file(h))
            .find(|h| !internal(h))
    })
}

/// Suspects, most likely first. `calls` are (caller, callee) edges; `target` is the
/// service that paged, when the alert names one: suspects on the paths below it first,
/// and its own moves of the kind the `alert` names count as the symptom, not as evidence.
pub(super) fn suspects(
    f: &Findings,
    calls: &[(String, String)],
    target: Option<&str>,
    alert: &str,
    services: &[(String, String)],
) -> Vec<Suspect> {
    let alerted = harm::signals(alert);
    // Unusual is not enough: a move must be large enough to matter (see
    // `analysis::significance`).
    let moved = f.ranking.iter().flat_map(|(_, r)| &r.changed);
    let practical = significance::Practical::new(
        moved.map(|s| significance::Move {
            service: &s.service,
            metric: metric_of(s),
            before: s.before,
            after: s.after,
        }),
        significance::Paging {
            service: target,
            alerted: &alerted,
            alert,
        },
    )
    .answering_per_query(
        services
            .iter()
            .filter(|(_, kind)| significance::per_query_kind(kind))
            .map(|(name, _)| name.as_str()),
    );
    // A move that matters too little to count as changed once weighed is no anomaly.
    let changed_floor = (1.0 + CHANGED).ln();
    let matters = |s: &Shift| {
        let weight = practical.weight(&s.service, metric_of(s), s.before, s.after);
        (1.0 + s.score.abs()).ln() * weight >= changed_floor
    };
    let mut shifts: BTreeMap<String, Vec<Shift>> = BTreeMap::new();
    // The paging service's symptom: it makes the service anomalous (its callees may
    // explain it) but adds nothing to its strength.
    let mut symptomatic: BTreeSet<String> = BTreeSet::new();
    if let Some((_, ranking)) = &f.ranking {
        for shift in ranking
            .changed
            .iter()
            .filter(|s| s.score.abs() >= CHANGED && !caller_side(s) && harmful(s))
        {
            let paging = Some(shift.service.as_str()) == target;
            // A series the alert describes is the symptom only when the alert names no
            // service: "p99 latency" on a named front door says nothing of the p99 of
            // everything below it.
            let described = target.is_none() && harm::described_by_alert(metric_of(shift), alert);
            if (paging && harm::is_symptom(metric_of(shift), &alerted)) || described {
                symptomatic.insert(shift.service.clone());
                continue;
            }
            if !matters(shift) {
                continue;
            }
            shifts
                .entry(shift.service.clone())
                .or_default()
                .push(shift.clone());
        }
    }
    // Without a baseline a warning cannot be told from the usual noise (every system
    // warns about something all day); an error still says something broke.
    let counts = |t: &&Template| surging(t) && (!f.thin_log_history || severe(t));
    let mut templates: BTreeMap<String, Vec<Template>> = BTreeMap::new();
    for (_, _, found) in &f.logs {
        for t in found.iter().filter(counts) {
            let list = templates.entry(t.service.clone()).or_default();
            if !list.iter().any(|o| o.template == t.template) {
                list.push(t.clone());
            }
        }
    }
    let mut vanished: BTreeMap<String, Vec<Template>> = BTreeMap::new();
    for (_, _, found) in &f.logs {
        // Errors and warnings that stop are a recovery, not a fault: only the lines a
        // service writes while it works count when they vanish.
        for t in found.iter().filter(|t| t.vanished && !surging_kind(t)) {
            let list = vanished.entry(t.service.clone()).or_default();
            if !list.iter().any(|o| o.template == t.template) {
                list.push(t.clone());
            }
        }
    }
    let trace_floor = (1.0 + TRACE_RATIO).ln();
    let mut traced: BTreeMap<String, Vec<TraceSign>> = f
        .traces
        .as_ref()
        .map(|(_, report)| trace_signs(report))
        .unwrap_or_default();
    for signs in traced.values_mut() {
        signs.retain(|sign| {
            let weight = significance::latency_weight(sign.added, practical.symptom);
            sign.strength * weight >= trace_floor
        });
    }
    traced.retain(|_, signs| !signs.is_empty());
    let erring = error_shares(f);
    let named = named_in_errors(&templates, services, calls);
    // Named as an address: a call failed to reach it.
    let unreachable: BTreeSet<String> = named
        .iter()
        .filter(|(_, by)| by.iter().any(|n| n.mention == Mention::Address))
        .map(|(service, _)| service.clone())
        .collect();
    let anomalous: BTreeSet<String> = shifts
        .keys()
        .chain(symptomatic.iter())
        .chain(templates.keys())
        .chain(traced.keys())
        .chain(vanished.keys())
        .chain(erring.keys())
        .chain(unreachable.iter())
        .cloned()
        .collect();
    // Metrics and traces are independent views: the stronger counts whole, the other
    // adds half of itself when both see the service move.
    let weighed = |service: &str| Weighed {
        moved: shifts
            .get(service)
            .into_iter()
            .flatten()
            .map(|s| {
                let weight = practical.weight(&s.service, metric_of(s), s.before, s.after);
                // A move that may be harm is weaker evidence than one that is.
                let known = harm::direction_of(metric_of(s)).is_some();
                let direction = if known {
                    1.0
                } else {
                    harm::UNKNOWN_DIRECTION_WEIGHT
                };
                (1.0 + s.score.abs()).ln() * weight * direction
            })
            .fold(0.0, f64::max),
        traced: traced
            .get(service)
            .into_iter()
            .flatten()
            .map(|sign| sign.strength * significance::latency_weight(sign.added, practical.symptom))
            .fold(0.0, f64::max),
        vanished: vanished
            .get(service)
            .into_iter()
            .flatten()
            .take(2)
            .map(|t| {
                t.expected_after
                    .map_or(1.0, significance::vanished_strength)
            })
            .sum(),
        errors: erring.get(service).map_or(0.0, |e| e.strength),
    };
    let strength_of = |service: &str| {
        let w = weighed(service);
        w.moved.max(w.traced)
            + 0.5 * w.moved.min(w.traced)
            + templates.get(service).map_or(0, |t| t.len().min(3)) as f64
            + w.vanished
            + w.errors
            + named.get(service).map_or(0, |by| by.len().min(3)) as f64
    };
    // When a service started to move: when its strongest series shifted, or its
    // earliest new log template. Not its earliest shift of any size: a busy service's
    // traffic wanders, and a faint early wobble would make it look like the first mover.
    let started = |service: &str| {
        let shifted = shifts
            .get(service)
            .into_iter()
            .flatten()
            .max_by(|a, b| a.score.abs().total_cmp(&b.score.abs()))
            .map(|s| &s.changed_at);
        let logged = templates
            .get(service)
            .into_iter()
            .flatten()
            .filter(|t| t.new)
            .map(|t| &t.first_seen);
        shifted
            .into_iter()
            .chain(logged)
            .filter_map(|time| crate::bundle::parse_time(time))
            .map(|t| t.timestamp())
            .min()
    };
    // Its strongest sign is a resource of its own running out, and the metrics are all
    // that shows it (no trace sign stronger).
    let strongest_is_local = |service: &str| {
        let strongest = shifts
            .get(service)
            .into_iter()
            .flatten()
            .max_by(|a, b| a.score.abs().total_cmp(&b.score.abs()));
        let trace = traced
            .get(service)
            .and_then(|signs| signs.first())
            .map_or(0.0, |sign| sign.strength);
        let everything = f.ranking.iter().flat_map(|(_, r)| &r.changed);
        strongest.is_some_and(|s| {
            (1.0 + s.score.abs()).ln() >= trace
                && harm::local_resource(
                    metric_of(s),
                    s.score,
                    everything
                        .filter(|o| o.service == service && o.series != s.series)
                        .map(|o| (metric_of(o), o.before, o.after, o.score)),
                )
        })
    };
    // Harm of a known direction: a series that says which way is worse, failing or
    // stopped lines, slower calls, or the paging service's own symptom.
    let harmful = |service: &str| {
        let known_move = shifts
            .get(service)
            .into_iter()
            .flatten()
            .any(|s| harm::direction_of(metric_of(s)).is_some());
        known_move
            || templates.contains_key(service)
            || unreachable.contains(service)
            || erring.contains_key(service)
            || vanished.contains_key(service)
            || traced.contains_key(service)
            || symptomatic.contains(service)
    };
    let found: BTreeMap<String, Anomaly> = anomalous
        .iter()
        .map(|service| {
            let anomaly = Anomaly {
                strength: strength_of(service),
                // A share of errors with no history to compare with is harm, but not
                // "erring": it explains a caller only by being comparably strong, never
                // by errors on both ends alone (a callee's few chronic errors would
                // otherwise take the blame from a caller that fails).
                erring: templates.contains_key(service) || unreachable.contains(service),
                started: started(service),
                local: strongest_is_local(service),
                harmful: harmful(service),
            };
            (service.clone(), anomaly)
        })
        .collect();
    localize(&found, calls, target)
        .into_iter()
        .map(|candidate| {
            // What started from nothing first (it says most about what happened), then
            // by strength.
            let mut own = shifts.get(&candidate.service).cloned().unwrap_or_default();
            own.sort_by(|a, b| {
                b.from_flat_baseline
                    .cmp(&a.from_flat_baseline)
                    .then(b.score.abs().total_cmp(&a.score.abs()))
            });
            Suspect {
                templates: templates
                    .get(&candidate.service)
                    .cloned()
                    .unwrap_or_default(),
                traced: traced.get(&candidate.service).cloned().unwrap_or_default(),
                vanished: vanished
                    .get(&candidate.service)
                    .cloned()
                    .unwrap_or_default(),
                erring: erring.get(&candidate.service).copied(),
                named_by: named.get(&candidate.service).cloned().unwrap_or_default(),
                weighed: weighed(&candidate.service),
                on_path: candidate.on_path,
                service: candidate.service,
                score: candidate.score,
                shifts: own,
                callers: candidate.callers,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offline::evidence::Ranking;

    fn shift(series: &str, score: f64) -> Shift {
        Shift {
            series: series.into(),
            service: series.split('_').next().unwrap().into(),
            score,
            before: 1.0,
            after: 2.0,
            changed_at: "2026-01-01T00:00:00Z".into(),
            from_flat_baseline: false,
        }
    }

    fn template(service: &str, text: &str, before: u64, after: u64) -> Template {
        Template {
            service: service.into(),
            level: "ERROR".into(),
            template: text.into(),
            before,
            after,
            new: before == 0,
            surged: false,
            vanished: false,
            expected_after: None,
            rate_jump: None,
            first_seen: "2026-01-01T00:00:00Z".into(),
            last_seen: "2026-01-01T00:10:00Z".into(),
            burst: None,
            sample: text.into(),
        }
    }

    fn edges(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn findings(shifts: Vec<Shift>, templates: Vec<Template>) -> Findings {
        Findings {
            ranking: Some((
                "c1".into(),
                Ranking {
                    onset: "2026-01-01T00:00:00Z".into(),
                    series_total: shifts.len(),
                    changed: shifts,
                    unchanged: Vec::new(),
                    history_rows: None,
                },
            )),
            logs: vec![("c3".into(), None, templates)],
            ..Findings::default()
        }
    }

    #[test]
    fn the_anomalous_callee_explains_its_callers() {
        // gateway → api → db; all three moved, the db most downstream.
        let f = findings(
            vec![
                shift("gateway_error_pct", 200.0),
                shift("api_error_pct", 150.0),
                shift("db_conn", 120.0),
            ],
            vec![template("api", "timeout talking to db", 0, 50)],
        );
        let calls = edges(&[("gateway", "api"), ("api", "db")]);
        let ranked = suspects(&f, &calls, None, "", &[]);
        assert_eq!(ranked[0].service, "db");
        assert_eq!(ranked[0].callers, ["api", "gateway"]);
        assert_eq!(
            ranked.len(),
            1,
            "callers of an anomalous callee are symptoms"
        );
        assert_eq!(ranked[0].resource_words(), ["connection saturation"]);
    }

    #[test]
    fn harm_has_a_direction() {
        let moved = |series: &str, before: f64, after: f64| Shift {
            before,
            after,
            ..shift(series, 10.0)
        };
        assert!(harmful(&moved("api_p99_ms", 10.0, 90.0)));
        assert!(!harmful(&moved("api_p99_ms", 90.0, 10.0)));
        assert!(!harmful(&moved("catalogue_mem", 15.0, 10.0)));
        assert!(harmful(&moved("api_rps", 100.0, 3.0)));
        assert!(!harmful(&moved("api_rps", 3.0, 100.0)));
        assert!(harmful(&moved("api_widgets", 3.0, 100.0)));
        assert!(harmful(&moved("api_widgets", 100.0, 3.0)));
    }

    #[test]
    fn a_callers_client_side_latency_points_below_it_not_at_it() {
        let f = findings(
            vec![
                shift("checkout_client_latency_p99_s", 100.0),
                // Near its limit: saturated, not just busier.
                Shift {
                    before: 30.0,
                    after: 95.0,
                    ..shift("payments_cpu_pct", 60.0)
                },
            ],
            Vec::new(),
        );
        let ranked = suspects(&f, &edges(&[("checkout", "payments")]), None, "", &[]);
        assert_eq!(ranked[0].service, "payments");
        assert!(ranked.iter().all(|s| s.service != "checkout"));
    }

    #[test]
    fn errors_that_stop_are_relief_and_work_lines_that_stop_are_not() {
        let gone = |level: &str| Template {
            level: level.into(),
            new: false,
            vanished: true,
            expected_after: Some(20.0),
            ..template("cache", "served batch", 20, 0)
        };
        let f = findings(Vec::new(), vec![gone("ERROR"), gone("WARN")]);
        assert!(suspects(&f, &[], None, "", &[]).is_empty());
        let f = findings(Vec::new(), vec![gone("INFO")]);
        let ranked = suspects(&f, &[], None, "", &[]);
        assert_eq!(ranked[0].service, "cache");
        assert!(ranked[0].weighed.vanished > 1.0, "{:?}", ranked[0].weighed);
    }

    #[test]
    fn a_surging_old_error_counts_and_old_noise_does_not() {
        let f = findings(
            Vec::new(),
            vec![
                template("cache", "evicting keys under pressure", 3, 400),
                template("batch", "retrying upload", 40, 45),
            ],
        );
        let ranked = suspects(&f, &[], None, "", &[]);
        assert_eq!(ranked.len(), 1);
        assert_eq!(ranked[0].service, "cache");
    }

    #[test]
    fn strength_is_logarithmic_and_ties_go_by_name() {
        let f = findings(vec![shift("a_cpu", 1e9), shift("b_mem", 1e9)], Vec::new());
        let ranked = suspects(&f, &[], None, "", &[]);
        assert_eq!(ranked[0].service, "a");
        assert!(ranked[0].score < 25.0, "{}", ranked[0].score);
        assert_eq!(ranked[1].resource_words(), ["memory growth"]);
    }

    #[test]
    fn a_faint_drift_below_does_not_explain_a_strong_anomaly_above() {
        // A CPU hog in `cart` (z 600); its database's memory drifts a little (z -13).
        let f = findings(
            vec![shift("cart_cpu", 600.0), shift("cartdb_mem", -13.0)],
            Vec::new(),
        );
        let calls = edges(&[("web", "cart"), ("cart", "cartdb")]);
        let ranked = suspects(&f, &calls, None, "", &[]);
        assert_eq!(ranked[0].service, "cart");
        assert_eq!(ranked[0].resource_words(), ["CPU saturation"]);
    }

    #[test]
    fn errors_on_both_ends_of_a_call_blame_the_callee() {
        // The caller's error rate jumps from zero (a huge z); the callee barely moves
        // but logs the same failure.
        let f = findings(
            vec![shift("planner_error_pct", 1500.0), shift("geo_rps", -19.0)],
            vec![
                template("planner", "handshake failed: certificate expired", 0, 80),
                template("geo", "TLS handshake error: bad certificate", 0, 200),
            ],
        );
        let ranked = suspects(&f, &edges(&[("planner", "geo")]), None, "", &[]);
        assert_eq!(ranked[0].service, "geo");
    }

    type Tally = (
        String,
        Vec<crate::protocol::digest::ServiceLogs>,
        (u64, u64),
    );

    fn tally(rows: &[(&str, u64, u64)]) -> Option<Tally> {
        let rows: Vec<_> = rows
            .iter()
            .map(
                |(service, lines, errors)| crate::protocol::digest::ServiceLogs {
                    service: service.to_string(),
                    lines: *lines,
                    errors: *errors,
                },
            )
            .collect();
        let totals = rows
            .iter()
            .fold((0, 0), |(l, e), s| (l + s.lines, e + s.errors));
        Some(("c3".into(), rows, totals))
    }

    #[test]
    fn without_log_history_a_service_whose_lines_are_mostly_errors_is_suspect() {
        // The logs begin at the fault: nothing is new or surged against a baseline, but one
        // service's lines are a third errors where the rest of the system's are not.
        let mut f = findings(vec![shift("admin_syscall_write", 80.0)], Vec::new());
        f.thin_log_history = true;
        f.log_tally = tally(&[
            ("food", 54, 17),
            ("seat", 1300, 2),
            ("basic", 840, 3),
            ("gateway", 10, 0),
        ]);
        let calls = edges(&[("gateway", "food"), ("gateway", "seat"), ("seat", "basic")]);
        let ranked = suspects(&f, &calls, Some("gateway"), "gateway p99 latency", &[]);
        assert_eq!(ranked[0].service, "food");
        let share = ranked[0].erring.expect("its share of errors");
        assert_eq!((share.errors, share.lines), (17, 54));
        assert!(evidence_text(&ranked[0]).contains("17 of its 54 log lines are errors"));
        // With history to compare with, the templates say what is new instead.
        f.thin_log_history = false;
        let ranked = suspects(&f, &calls, Some("gateway"), "gateway p99 latency", &[]);
        assert!(ranked.iter().all(|s| s.erring.is_none()));
    }

    #[test]
    fn a_callee_whose_move_has_no_known_direction_explains_no_caller() {
        // More bytes received below an erring service may follow its retries as well as
        // lead them: it neither takes the caller's place nor claims its symptoms.
        let mut f = findings(vec![shift("orders_net_rx_bytes", 9.0)], Vec::new());
        f.thin_log_history = true;
        f.log_tally = tally(&[("food", 43, 14), ("orders", 500, 0), ("seat", 900, 3)]);
        let calls = edges(&[("gateway", "food"), ("food", "orders")]);
        let ranked = suspects(&f, &calls, Some("gateway"), "gateway p99 latency", &[]);
        assert_eq!(ranked[0].service, "food");
        let orders = ranked
            .iter()
            .find(|s| s.service == "orders")
            .expect("still listed");
        assert!(orders.callers.is_empty(), "{:?}", orders.callers);
    }

    fn waiting(first: &str, wait_before: f64, wait_after: f64, others_wait: f64) -> TraceReport {
        let p = |s: f64| Percentiles {
            p50: s,
            p90: s * 2.0,
            p99: s * 2.0,
        };
        // A call from auth: its calls after the split, the callee's own span, the wait.
        let edge = |callee: &str, calls_after: u64, own: f64, before: f64, after: f64| EdgeStat {
            caller: "auth".into(),
            callee: callee.into(),
            operation: format!("POST /{callee}"),
            calls_before: 10,
            calls_after,
            errors_before: 0,
            errors_after: 0,
            latency_before: Some(p(own)),
            latency_after: Some(p(own)),
            wait_before: Some(p(before)),
            wait_after: Some(p(after)),
        };
        TraceReport {
            spans: 100,
            traces: 10,
            first: Some(first.into()),
            last: None,
            onset: Some("2026-01-01T00:02:00Z".into()),
            onset_source: crate::protocol::digest::OnsetSource::LatencyShift,
            spans_before: 50,
            spans_after: 50,
            graph: Vec::new(),
            edges: vec![
                edge("verify", 4, 0.02, wait_before, wait_after),
                edge("users", 5, 0.01, others_wait, others_wait),
            ],
            edges_total: 2,
            services: Vec::new(),
            changes: Vec::new(),
            critical_paths: Vec::new(),
            orphans: 0,
            notes: Vec::new(),
        }
    }

    #[test]
    fn a_call_that_waits_seconds_between_pods_is_a_sign_without_history() {
        // The traces begin a minute before the split, already inside the fault: the wait
        // into `verify` barely grew (1.0 → 2.0 s), but two pods of one system never wait
        // a second for each other.
        let mut f = findings(vec![shift("auth_latency_p90_s", 25.0)], Vec::new());
        f.traces = Some((
            "c2".into(),
            waiting("2026-01-01T00:01:00Z", 1.0, 1.98, 0.002),
        ));
        let calls = edges(&[("gateway", "auth"), ("auth", "verify"), ("auth", "users")]);
        let ranked = suspects(&f, &calls, Some("gateway"), "gateway p90 latency", &[]);
        assert_eq!(ranked[0].service, "verify", "{ranked:?}");
        assert!(evidence_text(&ranked[0]).contains("no earlier traces to compare with"));
        // With ten minutes of traces before the split, the same wait was there all along:
        // the usual, not the incident.
        f.traces = Some((
            "c2".into(),
            waiting("2025-12-31T23:52:00Z", 1.0, 1.98, 0.002),
        ));
        let ranked = suspects(&f, &calls, Some("gateway"), "gateway p90 latency", &[]);
        assert!(ranked.iter().all(|s| s.service != "verify"), "{ranked:?}");
        // A wait of milliseconds is no sign on its face.
        f.traces = Some((
            "c2".into(),
            waiting("2026-01-01T00:01:00Z", 0.01, 0.02, 0.002),
        ));
        let ranked = suspects(&f, &calls, Some("gateway"), "gateway p90 latency", &[]);
        assert!(ranked.iter().all(|s| s.service != "verify"), "{ranked:?}");
        // Every call the caller sends waits as long: its own client queues (a full
        // connection pool), and the callee is not to blame.
        f.traces = Some(("c2".into(), waiting("2026-01-01T00:01:00Z", 1.0, 1.98, 1.5)));
        let ranked = suspects(&f, &calls, Some("gateway"), "gateway p90 latency", &[]);
        assert!(ranked.iter().all(|s| s.service != "verify"), "{ranked:?}");
    }

    #[test]
    fn a_service_is_named_as_a_whole_name_or_a_host() {
        let address = Some(Mention::Address);
        let word = Some(Mention::Word);
        let named = names_service;
        assert_eq!(
            named("dial tcp cartservice:7070: refused", "cartservice"),
            address
        );
        assert_eq!(
            named("to orders-db.prod.svc:5432 timed out", "orders-db"),
            address
        );
        assert_eq!(named("GET http://pricing/quote failed", "pricing"), address);
        assert_eq!(named("No instances available for TS-SEAT", "ts-seat"), word);
        assert_eq!(
            named("failed on postgres: column x missing", "postgres"),
            word
        );
        assert_eq!(named("panic in GET /api/user/42/orders", "user"), None);
        assert_eq!(named("to orders-db-replica timed out", "orders-db"), None);
        assert_eq!(named("from legacy.orders-db timed out", "orders-db"), None);
        assert_eq!(named("anything", ""), None);
        assert_eq!(named("template: cart.html:42: nil pointer", "cart"), word);
    }

    #[test]
    fn only_network_addresses_outside_the_system_are_external() {
        let suspect = |sample: &str| Suspect {
            service: "payments".into(),
            score: 1.0,
            shifts: Vec::new(),
            templates: vec![Template {
                sample: sample.into(),
                ..template("payments", "x", 0, 10)
            }],
            callers: Vec::new(),
            traced: Vec::new(),
            vanished: Vec::new(),
            erring: None,
            named_by: Vec::new(),
            weighed: Weighed::default(),
            on_path: true,
        };
        let services = vec![("orders-db".to_string(), "postgres".to_string())];
        let host = |sample: &str| external_host(&suspect(sample), &services);
        assert_eq!(
            host("POST https://api.stripe.com/v1/charges timed out").as_deref(),
            Some("api.stripe.com")
        );
        assert_eq!(
            host("dial tcp smtp.mailgun.org:587: i/o timeout").as_deref(),
            Some("smtp.mailgun.org")
        );
        assert_eq!(
            host("com.zaxxer.hikari.pool.HikariPool - Connection is not available"),
            None
        );
        assert_eq!(
            host("connect to orders-db.shop.svc.cluster.local:5432 refused"),
            None
        );
        assert_eq!(host("GET http://orders-db:8080/health failed"), None);
        assert_eq!(host("at com.x.Pool.get(Pool.java:12)"), None);
    }
}
