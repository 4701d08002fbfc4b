//! A log-scale histogram of durations: bounded memory for percentiles over any number of
//! spans.
//!
//! Nanosecond values fall into buckets of 16 per power of two (the HDR histogram layout
//! with 4 significant bits), so a percentile read back is within 1/32 (about 3%) of the
//! true value, from a nanosecond to centuries, in at most 976 buckets. Latencies cluster
//! in a few octaves, so the buckets are kept sparse: a sorted list of (bucket, count),
//! usually a few dozen entries. Histograms merge exactly, which is what lets the digest
//! keep one per time slot and choose the before/after split afterwards.

/// Sub-buckets per power of two, as a power of two.
const SUB_BITS: u32 = 4;
const SUB: u64 = 1 << SUB_BITS;

/// A sparse log-scale histogram of non-negative nanosecond values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// (bucket, count), sorted by bucket.
    buckets: Vec<(u16, u32)>,
    count: u64,
}

/// The bucket a value falls in: values below 16 are exact, then 16 per octave.
pub(super) fn bucket_of(ns: u64) -> u16 {
    if ns < SUB {
        return ns as u16;
    }
    let octave = 63 - ns.leading_zeros();
    let sub = (ns >> (octave - SUB_BITS)) - SUB;
    ((octave - SUB_BITS + 1) as u64 * SUB + sub) as u16
}

/// The middle of a bucket, in nanoseconds.
pub(super) fn value_of(bucket: u16) -> f64 {
    let b = u64::from(bucket);
    if b < SUB {
        return b as f64;
    }
    let octave = (b / SUB) as u32 + SUB_BITS - 1;
    let width = 1u64 << (octave - SUB_BITS);
    let lower = (SUB + b % SUB) * width;
    lower as f64 + width as f64 / 2.0
}

impl Histogram {
    pub fn add(&mut self, ns: u64) {
        self.add_bucket(bucket_of(ns), 1);
    }

    fn add_bucket(&mut self, bucket: u16, n: u32) {
        self.count += u64::from(n);
        // Values arrive in no order, but most land in a bucket already there.
        match self.buckets.binary_search_by_key(&bucket, |(b, _)| *b) {
            Ok(i) => self.buckets[i].1 = self.buckets[i].1.saturating_add(n),
            Err(i) => self.buckets.insert(i, (bucket, n)),
        }
    }

    pub fn merge(&mut self, other: &Histogram) {
        if self.buckets.is_empty() {
            self.buckets = other.buckets.clone();
            self.count = other.count;
            return;
        }
        for &(bucket, n) in &other.buckets {
            self.add_bucket(bucket, n);
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The nearest-rank `q` quantile in nanoseconds (`q` in 0..=1); `None` when empty.
    pub(crate) fn quantile(&self, q: f64) -> Option<f64> {
        quantile_of(self.buckets.iter().copied(), self.count, q)
    }

    /// The (bucket, count) pairs, in bucket order.
    pub(crate) fn buckets(&self) -> &[(u16, u32)] {
        &self.buckets
    }
}

/// The nearest-rank `q` quantile of `total` values spread over `buckets` (in order).
pub(super) fn quantile_of(
    buckets: impl Iterator<Item = (u16, u32)>,
    total: u64,
    q: f64,
) -> Option<f64> {
    if total == 0 {
        return None;
    }
    let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
    let mut seen = 0u64;
    let mut last = None;
    for (bucket, n) in buckets {
        if n == 0 {
            continue;
        }
        seen += u64::from(n);
        last = Some(bucket);
        if seen >= rank {
            return Some(value_of(bucket));
        }
    }
    last.map(value_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_holds_its_value_within_three_percent() {
        for ns in [
            1u64,
            15,
            16,
            17,
            100,
            999,
            5_000_000,
            294_000_000,
            3_600_000_000_000,
        ] {
            let back = value_of(bucket_of(ns));
            assert!(
                (back - ns as f64).abs() <= ns as f64 / 32.0 + 0.5,
                "{ns} came back as {back}"
            );
        }
        assert!(bucket_of(u64::MAX) < 976);
    }

    #[test]
    fn quantiles_and_merges_are_exact_up_to_the_bucket() {
        let mut a = Histogram::default();
        let mut b = Histogram::default();
        for ms in 1..=100u64 {
            if ms % 2 == 0 { &mut a } else { &mut b }.add(ms * 1_000_000);
        }
        a.merge(&b);
        assert_eq!(a.count(), 100);
        let p50 = a.quantile(0.5).unwrap() / 1e6;
        let p99 = a.quantile(0.99).unwrap() / 1e6;
        assert!((p50 - 50.0).abs() <= 2.0, "{p50}");
        assert!((p99 - 99.0).abs() <= 3.5, "{p99}");
        assert_eq!(Histogram::default().quantile(0.5), None);
    }
}
