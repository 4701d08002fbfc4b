//! Choosing the onset from the spans when none is given: the slot boundary where
//! latencies shifted most.
//!
//! For every candidate boundary between two slots, each edge's callee latency and the
//! traces' durations are split into before and after; a key contributes
//! `min(n_before, n_after) × max(|ln(p50 after / p50 before)|, |ln(p90 after / p90 before)|)`
//! when both sides hold at least [`MIN_SIDE`] values. The boundary with the largest sum
//! wins (the earliest on a tie). Weighting by the smaller side keeps a boundary near
//! either end of the file, where one side is a handful of spans, from winning on noise;
//! a log ratio makes a fast edge that got ten times slower count as much as a slow one.
//! The answer's precision is one slot (a second for short files, up to 1/240 of the
//! window for long ones).

use super::aggregate::Aggregates;
use super::histogram::{Histogram, quantile_of};

/// Values each side of a boundary needs before a key counts.
pub const MIN_SIDE: u64 = 5;

/// The first slot after the split, and the mean log shift there (weighted), when any
/// key moved.
pub fn best_boundary(agg: &Aggregates) -> Option<(i64, f64)> {
    let (lo, hi) = agg.clock.range()?;
    if hi <= lo {
        return None;
    }
    let candidates = (hi - lo) as usize;
    let mut scores = vec![0.0f64; candidates];
    let mut weights = vec![0.0f64; candidates];
    let mut add = |series: Vec<(i64, &Histogram)>| {
        score_key(&series, lo, &mut scores, &mut weights);
    };
    for series in agg.edges.values() {
        add(series.0.iter().map(|(s, c)| (*s, &c.latency)).collect());
    }
    add(agg
        .traces
        .0
        .iter()
        .map(|(s, c)| (*s, &c.duration))
        .collect());
    let (best, score) =
        scores.iter().enumerate().fold(
            (0, 0.0),
            |(bi, bs), (i, &s)| if s > bs { (i, s) } else { (bi, bs) },
        );
    (score > 0.0).then(|| (lo + 1 + best as i64, score / weights[best].max(1.0)))
}

/// Add one key's contribution at every boundary `lo + 1 + k` to `scores[k]`.
fn score_key(series: &[(i64, &Histogram)], lo: i64, scores: &mut [f64], weights: &mut [f64]) {
    let mut ids: Vec<u16> = series
        .iter()
        .flat_map(|(_, h)| h.buckets().iter().map(|(b, _)| *b))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let index = |b: u16| ids.binary_search(&b).unwrap_or(0);
    let mut total = vec![0u32; ids.len()];
    for (_, h) in series {
        for &(b, n) in h.buckets() {
            total[index(b)] += n;
        }
    }
    let n_total: u64 = total.iter().map(|&n| u64::from(n)).sum();
    if n_total < 2 * MIN_SIDE {
        return;
    }
    let mut before = vec![0u32; ids.len()];
    let mut n_before = 0u64;
    let mut next = 0;
    for (k, score) in scores.iter_mut().enumerate() {
        let boundary = lo + 1 + k as i64;
        while next < series.len() && series[next].0 < boundary {
            for &(b, n) in series[next].1.buckets() {
                before[index(b)] += n;
                n_before += u64::from(n);
            }
            next += 1;
        }
        let n_after = n_total - n_before;
        if n_before < MIN_SIDE || n_after < MIN_SIDE {
            continue;
        }
        let q = |counts: &mut dyn Iterator<Item = u32>, n: u64, q: f64| {
            quantile_of(ids.iter().copied().zip(counts), n, q)
                .unwrap_or(1.0)
                .max(1.0)
        };
        let shift = [0.5, 0.9]
            .iter()
            .map(|&p| {
                let b = q(&mut before.iter().copied(), n_before, p);
                let a = q(
                    &mut total.iter().zip(&before).map(|(t, b)| t - b),
                    n_after,
                    p,
                );
                (a / b).ln().abs()
            })
            .fold(0.0, f64::max);
        let weight = n_before.min(n_after) as f64;
        *score += weight * shift;
        weights[k] += weight;
    }
}
