//! Grouping masked log lines into events, with no per-system settings.
//!
//! The input is the distinct masked lines ("signatures", see [`super::templates`]) as
//! token lists; the output is an event id per signature. Three steps, each from the
//! log-parsing literature and chosen because it holds on logs it has not seen:
//!
//! 1. **Longest common pattern** (Brain, Yu et al., IEEE TSC 2023). Within lines of one
//!    token count, the constant words of one event occur together, so they share one
//!    frequency: the number of that event's lines. For each line the largest set of its
//!    positions with equal frequency (ties to the more frequent) is its *root*; lines
//!    with the same root start as one group. Unlike Drain's prefix tree this never
//!    splits on the first word, which in many logs is a program, host or user name.
//! 2. **Splitting on few values** (Brain's child direction; Drain's parameter test). A
//!    position outside the root that takes only a couple of distinct values across a
//!    group names different events (`initialization` / `finalization`); one that takes
//!    many is a parameter. `key=literal` tokens read like states, so they need more
//!    values before they count as a parameter.
//! 3. **Parameters that span tokens** (the variable-length matching of LILAC's parsing
//!    cache). Two groups whose templates are equal once each run of `<*>` is read as one
//!    parameter are one event whose parameter held a different number of words.
//!
//! Hand-written because it runs once per signature inside `hunch logs`, and the
//! benchmark (`cargo bench --bench analysis`) holds it to drain3's accuracy and speed
//! on loghub, leave-one-system-out included.

use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// The token masking puts where a value was.
pub(crate) const WILDCARD: &str = "<*>";

/// The settings of the grouping. [`GroupingConfig::default`] is the one configuration
/// every system gets; the benchmark checks it by choosing settings on nine loghub
/// systems and measuring on the tenth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupingConfig {
    /// A position that takes fewer distinct values than this in a group splits it. Three:
    /// on the ten loghub systems 3 and 4 are within 0.001 of each other, and the windows
    /// an incident digest reads are short, so a parameter often shows only three values.
    pub min_values: usize,
    /// The same for positions whose values are all `key=literal`.
    pub min_flag_values: usize,
    /// Join groups whose templates differ only in how many tokens a parameter spans.
    pub join_spans: bool,
    /// A position is a parameter only if the template keeps at least this share of its
    /// tokens as plain words without it (Drain's similarity threshold, 0.5): in
    /// `boot (command 1911)` the first word names the event.
    pub min_constant_share: f64,
}

impl Default for GroupingConfig {
    fn default() -> GroupingConfig {
        GroupingConfig {
            min_values: 3,
            min_flag_values: 5,
            join_spans: true,
            min_constant_share: 0.5,
        }
    }
}

/// Events found among signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping {
    /// The event of each signature, dense from 0.
    pub event_of: Vec<usize>,
    /// Each event's template: what its signatures share, `<*>` where they differ (one
    /// `<*>` for a parameter whose length varies).
    pub templates: Vec<Vec<String>>,
}

/// Group signatures into events: deterministic, whatever order the signatures came in.
pub fn group(signatures: &[Vec<String>], config: &GroupingConfig) -> Grouping {
    let mut by_length: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (sig, tokens) in signatures.iter().enumerate() {
        by_length.entry(tokens.len()).or_default().push(sig);
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for sigs in by_length.into_values() {
        for root_group in root_groups(signatures, &sigs) {
            split_on_few_values(signatures, root_group, config, &mut groups);
        }
    }
    let mut events: Vec<Event> = if config.join_spans {
        join_spans(signatures, groups)
    } else {
        groups
            .into_iter()
            .map(|g| (template_of_group(signatures, &g), g))
            .collect()
    };
    // Events in a canonical order (by template, then smallest member), so ids do not
    // depend on the order signatures were interned in.
    for (_, members) in &mut events {
        members.sort_by(|a, b| signatures[*a].cmp(&signatures[*b]));
    }
    events.sort_by(|(ta, ma), (tb, mb)| {
        ta.cmp(tb)
            .then_with(|| signatures[ma[0]].cmp(&signatures[mb[0]]))
    });
    let mut event_of = vec![0; signatures.len()];
    let mut templates = Vec::with_capacity(events.len());
    for (event, (template, members)) in events.into_iter().enumerate() {
        for sig in members {
            event_of[sig] = event;
        }
        templates.push(template);
    }
    Grouping {
        event_of,
        templates,
    }
}

/// Step 1: the signatures of one length grouped by their longest common pattern.
fn root_groups(signatures: &[Vec<String>], sigs: &[usize]) -> Vec<Vec<usize>> {
    let mut frequency: FxHashMap<(usize, &str), u32> = FxHashMap::default();
    for &sig in sigs {
        for (position, token) in signatures[sig].iter().enumerate() {
            *frequency.entry((position, token.as_str())).or_default() += 1;
        }
    }
    let mut by_root: BTreeMap<Vec<(usize, &str)>, Vec<usize>> = BTreeMap::new();
    for &sig in sigs {
        let tokens = &signatures[sig];
        let counts: Vec<u32> = tokens
            .iter()
            .enumerate()
            .map(|(p, t)| frequency[&(p, t.as_str())])
            .collect();
        let root_frequency = most_shared(&counts);
        let root: Vec<(usize, &str)> = tokens
            .iter()
            .enumerate()
            .filter(|(p, _)| counts[*p] == root_frequency)
            .map(|(p, t)| (p, t.as_str()))
            .collect();
        by_root.entry(root).or_default().push(sig);
    }
    by_root.into_values().collect()
}

/// The frequency most positions of a line share (the more frequent on a tie).
fn most_shared(counts: &[u32]) -> u32 {
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    let mut best = (0usize, 0u32);
    for run in sorted.chunk_by(|a, b| a == b) {
        best = best.max((run.len(), run[0]));
    }
    best.1
}

/// Step 2: split a group at any position with more than one but too few values, until
/// no such position is left; the parts are pushed to `out`.
fn split_on_few_values(
    signatures: &[Vec<String>],
    group: Vec<usize>,
    config: &GroupingConfig,
    out: &mut Vec<Vec<usize>>,
) {
    let mut work = vec![group];
    while let Some(sigs) = work.pop() {
        let length = signatures[sigs[0]].len();
        let values_at = |p: usize| {
            let mut values: Vec<&str> = sigs.iter().map(|&s| signatures[s][p].as_str()).collect();
            values.sort_unstable();
            values.dedup();
            values
        };
        let columns: Vec<Vec<&str>> = (0..length).map(values_at).collect();
        let words = columns
            .iter()
            .filter(|values| values.len() == 1 && !values[0].contains(WILDCARD))
            .count();
        let split_at = columns.iter().position(|values| {
            let flags = values
                .iter()
                .all(|v| v.contains('=') && !v.ends_with(WILDCARD));
            let needed = if flags {
                config.min_flag_values
            } else {
                config.min_values
            };
            let too_few = values.len() < needed;
            let too_bare = (words as f64) < config.min_constant_share * length as f64;
            values.len() > 1 && (too_few || too_bare)
        });
        match split_at {
            Some(p) => {
                let mut parts: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
                for &sig in &sigs {
                    parts
                        .entry(signatures[sig][p].as_str())
                        .or_default()
                        .push(sig);
                }
                work.extend(parts.into_values());
            }
            None => out.push(sigs),
        }
    }
}

/// The template of a group of equal-length signatures: where they differ, what the
/// values share around a parameter (`user=<*>`, `<*>,`), else `<*>`.
fn template_of_group(signatures: &[Vec<String>], group: &[usize]) -> Vec<String> {
    let first = &signatures[group[0]];
    (0..first.len())
        .map(|p| {
            let token = first[p].as_str();
            if group.iter().all(|&s| signatures[s][p] == token) {
                token.to_string()
            } else {
                shared_frame(group.iter().map(|&s| signatures[s][p].as_str()))
            }
        })
        .collect()
}

/// The frame several values of one position share: a common key up to `=` or `:` or
/// an opening bracket, and
/// common closing punctuation, around `<*>`.
fn shared_frame<'a>(mut values: impl Iterator<Item = &'a str>) -> String {
    let Some(first) = values.next() else {
        return WILDCARD.to_string();
    };
    let (mut prefix, mut suffix) = (first.len(), first.len());
    for value in values {
        prefix = common_prefix(&first[..prefix], value);
        suffix = common_suffix(&first[first.len() - suffix..], value);
    }
    let key = first[..prefix]
        .rfind(['=', ':', '(', '[', '{'])
        .map_or(0, |i| i + 1);
    let closing = first[first.len() - suffix..]
        .bytes()
        .rev()
        .take_while(|b| b")]},;:.'\"".contains(b))
        .count();
    if key + closing >= first.len() {
        return WILDCARD.to_string();
    }
    format!(
        "{}{WILDCARD}{}",
        &first[..key],
        &first[first.len() - closing..]
    )
}

/// Bytes at the start of `a` that `b` starts with too, on a character boundary.
fn common_prefix(a: &str, b: &str) -> usize {
    let mut n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    while !a.is_char_boundary(n) {
        n -= 1;
    }
    n
}

/// Bytes at the end of `a` that `b` ends with too, on a character boundary.
fn common_suffix(a: &str, b: &str) -> usize {
    let mut n = a
        .bytes()
        .rev()
        .zip(b.bytes().rev())
        .take_while(|(x, y)| x == y)
        .count();
    while !a.is_char_boundary(a.len() - n) {
        n -= 1;
    }
    n
}

/// A template whose runs of `<*>` vary in length between lines: each run is one
/// parameter.
fn collapse_runs(mut template: Vec<String>) -> Vec<String> {
    template.dedup_by(|a, b| a == WILDCARD && b == WILDCARD);
    template
}

/// An event's template and its signatures.
type Event = (Vec<String>, Vec<usize>);

/// Step 3: groups whose templates are equal with each run of `<*>` read as one
/// parameter are joined; a joined event's template is that shape.
fn join_spans(signatures: &[Vec<String>], groups: Vec<Vec<usize>>) -> Vec<Event> {
    let mut by_shape: BTreeMap<Vec<String>, Vec<Event>> = BTreeMap::new();
    for group in groups {
        let template = template_of_group(signatures, &group);
        let shape = collapse_runs(template.clone());
        by_shape.entry(shape).or_default().push((template, group));
    }
    by_shape
        .into_iter()
        .map(|(shape, mut parts)| {
            if parts.len() == 1 {
                // One length: every `<*>` stands for one token, as the lines show.
                parts.pop().expect("one part")
            } else {
                (shape, parts.into_iter().flat_map(|(_, g)| g).collect())
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sigs(lines: &[&str]) -> Vec<Vec<String>> {
        lines
            .iter()
            .map(|l| l.split(' ').map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn a_variable_first_word_does_not_split_an_event() {
        // A program name leads each line, as in proxy and syslog logs.
        let lines = sigs(&[
            "chrome.exe - <*> open through proxy <*> HTTPS",
            "firefox.exe - <*> open through proxy <*> HTTPS",
            "Dropbox.exe - <*> open through proxy <*> HTTPS",
            "chrome.exe - <*> close, <*> bytes sent",
            "firefox.exe - <*> close, <*> bytes sent",
            "Dropbox.exe - <*> close, <*> bytes sent",
            "svchost.exe - <*> close, <*> bytes sent",
            "svchost.exe - <*> open through proxy <*> HTTPS",
        ]);
        let events = group(&lines, &GroupingConfig::default()).event_of;
        assert_eq!(events[0], events[1]);
        assert_eq!(events[1], events[2]);
        assert_eq!(events[2], events[7]);
        assert_eq!(events[3], events[5]);
        assert_eq!(events[5], events[6]);
        assert_ne!(events[0], events[3]);
    }

    #[test]
    fn a_parameter_spanning_several_words_is_one_event() {
        let lines = sigs(&[
            "lifetime <*> done",
            "lifetime <*> <*> done",
            "lifetime <*> <*> <*> done",
            "lifetime over done",
        ]);
        let events = group(&lines, &GroupingConfig::default()).event_of;
        assert_eq!(events[0], events[1]);
        assert_eq!(events[1], events[2]);
        assert_ne!(events[0], events[3]);
    }

    #[test]
    fn a_word_that_is_most_of_the_line_names_the_event() {
        // Without the first word only `(command` is left: too bare to be one event.
        let lines = sigs(&[
            "boot (command <*>)",
            "wait (command <*>)",
            "halt (command <*>)",
            "risBoot (command <*>)",
            "session closed for user cyrus",
            "session closed for user news",
            "session closed for user root",
            "session closed for user test",
        ]);
        let grouping = group(&lines, &GroupingConfig::default());
        let events = &grouping.event_of;
        assert_ne!(events[0], events[1]);
        assert_ne!(events[1], events[2]);
        assert_eq!(events[4], events[7], "four user names: a parameter");
        assert_eq!(
            grouping.templates[events[4]].join(" "),
            "session closed for user <*>"
        );
    }

    #[test]
    fn templates_keep_what_differing_values_share() {
        let lines = sigs(&[
            "login failed ruser= rhost=<*> user=guest",
            "login failed ruser= rhost=<*> user=admin",
            "login failed ruser= rhost=<*> user=test",
            "login failed ruser= rhost=<*> user=nobody",
            "login failed ruser= rhost=<*> user=oracle",
        ]);
        let grouping = group(&lines, &GroupingConfig::default());
        assert_eq!(grouping.templates.len(), 1);
        assert_eq!(
            grouping.templates[0].join(" "),
            "login failed ruser= rhost=<*> user=<*>"
        );
        assert_eq!(shared_frame(["(a),", "(bc),"].into_iter()), "(<*>),");
        assert_eq!(shared_frame(["x", "y"].into_iter()), "<*>");
        assert_eq!(shared_frame(["é1", "é2"].into_iter()), "<*>");
    }

    #[test]
    fn two_constant_words_in_one_slot_are_two_events() {
        let lines = sigs(&[
            "Ending TrustedInstaller initialization.",
            "Ending TrustedInstaller finalization.",
            "Ending TrustedInstaller initialization.",
        ]);
        let events = group(&lines, &GroupingConfig::default()).event_of;
        assert_ne!(events[0], events[1]);
    }
}
