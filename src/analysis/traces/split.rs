//! Choosing the onset from the spans when none is given: the slot boundary where
//! latencies shifted most.
//!
//! Each key's durations — an edge's callee latency and its caller's wait, a service's
//! own time per call, the traces' durations — are taken as logarithms (a tenfold slowdown
//! is the same step for a 5 ms call and a 2 s one). For every candidate boundary between
//! two slots a key scores the two-sample change statistic (Student's t², the statistic
//! of binary segmentation) `n_before · n_after / n × (mean after − mean before)² / s²`,
//! with `s²` the pooled variance within the two sides: it peaks where a step is, and
//! unlike a difference of medians has no plateau when most of the "after" side has
//! already changed. Scaling by each key's own spread (floored at 10%, so a key with
//! near-constant durations cannot score on a nudge) puts every key on one scale: one
//! that only wobbles adds about 1 anywhere, one that stepped adds far more at the step,
//! even when it has only a few calls. Keys need [`MIN_SIDE`] values on each side. The
//! boundary with the largest sum wins (the earliest on a tie); its precision is one slot
//! (a second for short files, up to 1/240 of the window for long ones).

use super::aggregate::Aggregates;
use super::histogram::{Histogram, value_of};

/// Values each side of a boundary needs before a key counts.
pub(super) const MIN_SIDE: u64 = 3;
/// The smallest spread (standard deviation of log durations) a key is scaled by.
const MIN_SPREAD: f64 = 0.1;

/// A key's durations by slot.
type Keyed<'a> = Vec<(i64, &'a Histogram)>;

fn keys(agg: &Aggregates) -> Vec<Keyed<'_>> {
    let mut keys: Vec<Keyed> = Vec::new();
    for series in agg.edges.values() {
        keys.push(series.0.iter().map(|(s, c)| (*s, &c.latency)).collect());
        keys.push(series.0.iter().map(|(s, c)| (*s, &c.wait)).collect());
    }
    for series in agg.services.values() {
        keys.push(series.0.iter().map(|(s, c)| (*s, &c.latency)).collect());
    }
    keys.push(
        agg.traces
            .0
            .iter()
            .map(|(s, c)| (*s, &c.duration))
            .collect(),
    );
    keys
}

/// The first slot after the split, and the largest shift there of a key's mean log
/// duration (so `exp` of it is the typical factor), when any key moved.
pub(super) fn best_boundary(agg: &Aggregates) -> Option<(i64, f64)> {
    let (lo, hi) = agg.clock.range()?;
    if hi <= lo {
        return None;
    }
    let keys = keys(agg);
    let mut score = vec![0.0; (hi - lo) as usize];
    for key in &keys {
        Moments::of(key).scan(key, lo, |k, statistic, _| score[k] += statistic);
    }
    let mut best: Option<(usize, f64)> = None;
    for (k, &s) in score.iter().enumerate() {
        if s > best.map_or(0.0, |b| b.1) {
            best = Some((k, s));
        }
    }
    let (k, _) = best?;
    let mut largest: f64 = 0.0;
    for key in &keys {
        Moments::of(key).scan(key, lo, |at, _, shift| {
            if at == k {
                largest = largest.max(shift.abs());
            }
        });
    }
    Some((lo + 1 + k as i64, largest))
}

/// Count, sum and sum of squares of log durations.
#[derive(Clone, Copy, Default)]
struct Moments {
    n: f64,
    sum: f64,
    squares: f64,
}

impl Moments {
    fn add(&mut self, h: &Histogram) {
        for &(b, c) in h.buckets() {
            let v = value_of(b).max(1.0).ln();
            let c = f64::from(c);
            self.n += c;
            self.sum += v * c;
            self.squares += v * v * c;
        }
    }

    fn of(key: &Keyed) -> Moments {
        let mut m = Moments::default();
        key.iter().for_each(|(_, h)| m.add(h));
        m
    }

    fn mean(&self) -> f64 {
        self.sum / self.n
    }

    /// The sum of squared deviations from the mean.
    fn scatter(&self) -> f64 {
        (self.squares - self.sum * self.sum / self.n).max(0.0)
    }

    /// At every boundary `lo + 1 + k` where both sides have enough values: `each(k,
    /// statistic, mean after − mean before)`.
    fn scan(&self, key: &Keyed, lo: i64, mut each: impl FnMut(usize, f64, f64)) {
        let total = *self;
        if total.n < (2 * MIN_SIDE) as f64 {
            return;
        }
        let last = key.last().map_or(lo, |(s, _)| *s);
        let mut before = Moments::default();
        let mut next = 0;
        for boundary in lo + 1..=last {
            while next < key.len() && key[next].0 < boundary {
                before.add(key[next].1);
                next += 1;
            }
            let after = Moments {
                n: total.n - before.n,
                sum: total.sum - before.sum,
                squares: total.squares - before.squares,
            };
            if before.n < MIN_SIDE as f64 || after.n < MIN_SIDE as f64 {
                continue;
            }
            let shift = after.mean() - before.mean();
            let within = (before.scatter() + after.scatter()) / (total.n - 2.0).max(1.0);
            let statistic =
                before.n * after.n / total.n * shift * shift / within.max(MIN_SPREAD.powi(2));
            each((boundary - lo - 1) as usize, statistic, shift);
        }
    }
}
