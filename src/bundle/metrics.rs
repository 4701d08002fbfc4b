//! Metric tables at size: sizing a table's columns from its file before they are filled
//! (one allocation per column, no doubling), and ranking a wide table a slice of series
//! at a time — the analysis copies each series it is given (its values without gaps and
//! their own times), so that copy is bounded by the slice, never the whole table.
//!
//! [`MetricTable::rank_in`] and [`MetricTable::onset_in`] give what
//! [`rank::rank_in`] gives for the whole table: the onset from every series' vote, then
//! every series scored at that one onset.

use super::MetricTable;
use crate::analysis::rank::{self, OnsetWindow, Ranking};
use std::io::Read;

/// Series handed to the analysis at once: 256 × 1,440 rows cost about 9 MB of copies.
const SLICE: usize = 256;

/// How many rows a CSV of `input` can hold at most: its newlines (a quoted cell may hold
/// one, so this only ever counts too many). Read at the speed of the page cache.
pub(crate) fn line_count(mut input: impl Read) -> std::io::Result<usize> {
    let mut buffer = vec![0u8; 1 << 20];
    let mut lines = 0;
    loop {
        let read = match input.read(&mut buffer) {
            Ok(0) => return Ok(lines),
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        lines += memchr::memchr_iter(b'\n', &buffer[..read]).count();
    }
}

impl MetricTable {
    /// `(name, values)` pairs of the columns `keep` accepts, copied: what the analysis
    /// functions take, for a few series.
    pub fn named_series_where(&self, keep: impl Fn(&str) -> bool) -> Vec<(String, Vec<f64>)> {
        self.columns
            .iter()
            .zip(&self.values)
            .filter(|(name, _)| keep(name))
            .map(|(name, values)| (name.clone(), values.clone()))
            .collect()
    }

    /// The table's series, [`SLICE`] at a time.
    fn slices(&self) -> impl Iterator<Item = Vec<(String, Vec<f64>)>> + '_ {
        (0..self.columns.len()).step_by(SLICE).map(|start| {
            let end = (start + SLICE).min(self.columns.len());
            self.columns[start..end]
                .iter()
                .cloned()
                .zip(self.values[start..end].iter().cloned())
                .collect()
        })
    }

    /// The onset [`rank::rank_in`] finds in the whole table (the median of the votes of
    /// the series that shifted strongly, inside `window` when it is known), with only a
    /// slice of series copied at a time.
    pub fn onset_in(&self, window: Option<OnsetWindow>) -> i64 {
        let mut votes: Vec<f64> = Vec::new();
        for slice in self.slices() {
            let voted = rank::change_votes(&self.times, &slice);
            votes.extend(
                voted
                    .into_iter()
                    .filter(|&t| window.is_none_or(|w| w.contains(t as i64))),
            );
        }
        if !votes.is_empty() {
            return rank::median(&mut votes) as i64;
        }
        match window {
            // What the analysis falls back to: mid-table without a window, else the
            // window's end less one sample.
            None => self
                .times
                .get(self.times.len() / 2)
                .copied()
                .unwrap_or_default(),
            Some(window) => {
                let step = match self.times.as_slice() {
                    [.., a, b] => (b - a).max(1),
                    _ => 60,
                };
                (window.until - step).max(window.from)
            }
        }
    }

    /// [`rank::rank_in`] of every series of the table, in bounded memory: the onset from
    /// [`MetricTable::onset_in`], then each slice ranked at it, most shifted first.
    pub fn rank_in(&self, window: Option<OnsetWindow>) -> Ranking {
        let onset = self.onset_in(window);
        let mut shifts = Vec::with_capacity(self.columns.len());
        for slice in self.slices() {
            shifts.extend(rank::rank(&self.times, &slice, Some(onset)).shifts);
        }
        shifts.sort_by(|a, b| {
            b.score
                .abs()
                .total_cmp(&a.score.abs())
                .then(a.series.cmp(&b.series))
        });
        Ranking { onset, shifts }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Bundle;

    /// A table wider than a slice: the demo's series, then noise, then the demo's again
    /// under other names (so votes come from more than one slice).
    fn wide() -> MetricTable {
        let demo = Bundle::demo().metrics;
        let mut table = MetricTable {
            times: demo.times.clone(),
            ..MetricTable::default()
        };
        let mut rng = 7u64;
        for n in 0..2 * SLICE {
            let values = demo
                .times
                .iter()
                .map(|_| {
                    rng = rng
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    100.0 + (rng >> 58) as f64
                })
                .collect();
            table.columns.push(format!("noise{}_x_{n}", n % 9));
            table.values.push(values);
        }
        for (copy, (name, values)) in demo.columns.iter().zip(&demo.values).enumerate() {
            table.columns.insert(copy, name.clone());
            table.values.insert(copy, values.clone());
            table.columns.push(format!("late{copy}_{name}"));
            table.values.push(values.clone());
        }
        table
    }

    #[test]
    fn slices_rank_as_the_whole_table_does() {
        let table = wide();
        assert!(table.columns.len() > 2 * SLICE);
        let fired = Bundle::demo().incident.fired_at.timestamp();
        let windows = [None, Some(OnsetWindow::of_alert(fired, None))];
        for window in windows {
            let whole = rank::rank_in(&table.times, &table.named_series(), window);
            assert_eq!(table.rank_in(window), whole, "window {window:?}");
            assert_eq!(table.onset_in(window), whole.onset);
        }
        // No votes at all: the same fallbacks.
        let flat = MetricTable {
            times: table.times.clone(),
            columns: vec!["a_x".into()],
            values: vec![vec![1.0; table.times.len()]],
            cut: None,
        };
        for window in windows {
            let whole = rank::rank_in(&flat.times, &flat.named_series(), window);
            assert_eq!(flat.rank_in(window), whole);
        }
    }

    #[test]
    fn lines_are_counted_across_reads() {
        let text = "time,a\n".repeat(300_000);
        assert_eq!(line_count(text.as_bytes()).unwrap(), 300_000);
        assert_eq!(line_count(&b"no newline"[..]).unwrap(), 0);
    }
}
