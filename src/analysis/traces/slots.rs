//! Time slots: how the digest keeps "before" and "after" apart when it does not yet know
//! where the onset is.
//!
//! With an onset given (or a baseline file), there are two slots, before and after.
//! Without one, every statistic is kept per time slot — slots are aligned on the unix
//! epoch, start one second wide, and double in width (merging neighbours) whenever more
//! than [`MAX_SLOTS`] would be needed — so memory stays bounded however long the file
//! is, and the split can be chosen at the end from the data ([`super::split`]). A series
//! is sparse: a key keeps only the slots it was seen in.

/// The most slots a series spans before they are merged pairwise.
pub(super) const MAX_SLOTS: i64 = 240;
const SECOND: i64 = 1_000_000_000;

/// Something kept per slot that merges exactly.
pub trait Merge: Default {
    fn merge(&mut self, other: Self);
}

/// A key's values by slot, sorted by slot.
#[derive(Debug, Clone)]
pub struct Series<T>(pub Vec<(i64, T)>);

impl<T> Default for Series<T> {
    fn default() -> Self {
        Series(Vec::new())
    }
}

impl<T: Merge> Series<T> {
    pub fn at(&mut self, slot: i64) -> &mut T {
        let i = match self.0.last() {
            Some((last, _)) if *last == slot => self.0.len() - 1,
            Some((last, _)) if *last < slot => {
                self.0.push((slot, T::default()));
                self.0.len() - 1
            }
            None => {
                self.0.push((slot, T::default()));
                0
            }
            _ => match self.0.binary_search_by_key(&slot, |(s, _)| *s) {
                Ok(i) => i,
                Err(i) => {
                    self.0.insert(i, (slot, T::default()));
                    i
                }
            },
        };
        &mut self.0[i].1
    }

    /// Re-key every slot `s` to `s / 2` (rounding down), merging the pairs that meet.
    pub(crate) fn halve(&mut self) {
        let mut out: Vec<(i64, T)> = Vec::with_capacity(self.0.len());
        for (slot, value) in self.0.drain(..) {
            let slot = slot.div_euclid(2);
            match out.last_mut() {
                Some((last, into)) if *last == slot => into.merge(value),
                _ => out.push((slot, value)),
            }
        }
        self.0 = out;
    }

    /// Everything before slot `split`, and everything from it on.
    pub fn split(&self, split: i64) -> (T, T)
    where
        T: Clone,
    {
        let (mut before, mut after) = (T::default(), T::default());
        for (slot, value) in &self.0 {
            if *slot < split {
                &mut before
            } else {
                &mut after
            }
            .merge(value.clone());
        }
        (before, after)
    }
}

/// How times map to slots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Clock {
    /// Slot 0 is before `onset` (or the baseline file), slot 1 after.
    Split { onset: Option<i64> },
    /// Epoch-aligned slots of `width` nanoseconds, over `[lo, hi]` so far.
    Auto { width: i64, lo: i64, hi: i64 },
}

impl Clock {
    pub fn new(onset: Option<i64>, baseline: bool) -> Clock {
        if onset.is_some() || baseline {
            Clock::Split { onset }
        } else {
            Clock::Auto {
                width: SECOND,
                lo: i64::MAX,
                hi: i64::MIN,
            }
        }
    }

    /// The slot of a time, and how many times every series must be halved first so that
    /// it fits (only ever non-zero for [`Clock::Auto`]).
    pub fn slot(&mut self, t: i64, baseline: bool) -> (i64, u32) {
        match self {
            Clock::Split { onset } => {
                let after = !baseline && onset.is_none_or(|o| t >= o);
                (i64::from(after), 0)
            }
            Clock::Auto { width, lo, hi } => {
                let mut halvings = 0;
                loop {
                    let slot = t.div_euclid(*width);
                    let (l, h) = ((*lo).min(slot), (*hi).max(slot));
                    if h - l < MAX_SLOTS {
                        (*lo, *hi) = (l, h);
                        return (slot, halvings);
                    }
                    *width *= 2;
                    *lo = lo.div_euclid(2);
                    *hi = hi.div_euclid(2);
                    halvings += 1;
                }
            }
        }
    }

    /// The time a slot starts.
    pub(crate) fn slot_start(&self, slot: i64) -> i64 {
        match self {
            Clock::Split { onset } => onset.unwrap_or(0),
            Clock::Auto { width, .. } => slot.saturating_mul(*width),
        }
    }

    /// The slots seen so far (`lo..=hi`), for an automatic split.
    pub fn range(&self) -> Option<(i64, i64)> {
        match self {
            Clock::Auto { lo, hi, .. } if lo <= hi => Some((*lo, *hi)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Merge for u32 {
        fn merge(&mut self, other: u32) {
            *self += other;
        }
    }

    #[test]
    fn slots_widen_to_stay_bounded_and_merge_exactly() {
        let mut clock = Clock::new(None, false);
        let mut series: Series<u32> = Series::default();
        for second in 0..1000i64 {
            let (slot, halvings) = clock.slot(second * SECOND, false);
            for _ in 0..halvings {
                series.halve();
            }
            *series.at(slot) += 1;
        }
        assert!(series.0.len() as i64 <= MAX_SLOTS);
        assert_eq!(series.0.iter().map(|(_, n)| n).sum::<u32>(), 1000);
        let Clock::Auto { width, .. } = clock else {
            panic!()
        };
        assert_eq!(width, 8 * SECOND);
        // Slot 62 of 8 s starts at 496 s.
        let (before, after) = series.split(500 * SECOND / width);
        assert_eq!((before, after), (496, 504));
    }

    #[test]
    fn a_given_onset_makes_two_slots() {
        let mut clock = Clock::new(Some(100), false);
        assert_eq!(clock.slot(99, false), (0, 0));
        assert_eq!(clock.slot(100, false), (1, 0));
        assert_eq!(clock.slot(500, true), (0, 0));
        let mut only_baseline = Clock::new(None, true);
        assert_eq!(only_baseline.slot(5, false), (1, 0));
    }
}
