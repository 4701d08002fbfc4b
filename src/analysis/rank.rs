//! Ranking metric series by how much they shifted when the incident began.
//!
//! For every series we find its single strongest mean shift (the split that most reduces
//! the squared error, in O(n) with prefix sums) and score it robustly: the difference of
//! medians after and before, divided by the robust spread before (the larger of IQR / 1.349
//! and MAD, floored at 5% of the level). Series that shifted strongly vote for the onset with their split time; the
//! median vote is the onset, and every series is then scored against that one onset, so
//! a spike long before the incident can't outrank a shift at it. When the alert is known,
//! only votes inside its window count ([`rank_in`]): the onset is not after the alert
//! fired, nor long before the time it gives. A baseline's scale includes its own spikes
//! (its successive-difference noise), and its floor is 5% of the level before — and, off
//! a baseline at zero, 1% of the level after, so a flat line that starts to move scores
//! a bounded, comparable z (100 at most), not the absurd one of a zero spread. A series that drifted
//! instead (a leak that began earlier, a disk filling) is scored by its drift across the
//! window when that is stronger; one that exists on one side of the onset only (a job's
//! CPU appearing, metrics that stop) scores as changed. A success share (an availability
//! or success rate, [`crate::harm::success_ceiling`]) is scored on the share
//! that failed — 99.9 % → 97 % is thirty times the failures, which 5 % of a level near
//! 100 would hide — with a scale of at least one request in a thousand, and reported in
//! its own terms (a drop is a negative score).

/// How one series behaved around the onset.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesShift {
    pub series: String,
    /// Robust z: median shift over the robust spread before the onset (signed).
    pub score: f64,
    pub before: f64,
    pub after: f64,
    /// Unix seconds of this series' own strongest change.
    pub changed_at: i64,
}

impl SeriesShift {
    /// It moved off a baseline at (or within 1% of) zero: something that was not
    /// happening started, the way a new log line appears.
    pub fn flat_start(&self) -> bool {
        self.after != 0.0 && self.before.abs() < self.after.abs() * AFTER_FLOOR
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    /// Unix seconds where the incident began, pooled from the strongest changes.
    pub onset: i64,
    /// Most shifted first (by |score|).
    pub shifts: Vec<SeriesShift>,
}

/// Robust z above which a series counts as changed.
pub const CHANGED: f64 = 4.0;
const MIN_SEGMENT: usize = 4;
pub use crate::protocol::digest::MIN_BASELINE_ROWS;
// The baseline a report calls thin is two segments' worth (see MIN_BASELINE_ROWS).
const _: () = assert!(MIN_BASELINE_ROWS == 2 * MIN_SEGMENT);

/// How many rows of `times` lie before `onset`: the history a ranking compares with.
pub fn history_rows(times: &[i64], onset: i64) -> usize {
    times.iter().filter(|t| **t < onset).count()
}

pub fn median(values: &mut [f64]) -> f64 {
    quantile(values, 0.5)
}

/// Linear-interpolated quantile, by selection (O(n)); reorders `values`. NaN-free input.
pub(crate) fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let pos = q * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let (_, low, upper) = values.select_nth_unstable_by(lo, f64::total_cmp);
    let low = *low;
    if pos == lo as f64 || upper.is_empty() {
        return low;
    }
    let high = upper.iter().copied().fold(f64::INFINITY, f64::min);
    low + (high - low) * (pos - lo as f64)
}

/// The fraction of a series' level below which a spread is not trusted: a near-constant
/// baseline (a database's resident memory) would otherwise turn a 1% wobble into a huge z.
const SPREAD_FLOOR: f64 = 0.05;

/// For a move off a baseline at (or within 1% of) zero — a flat line that starts to
/// move — the fraction of the level after it below which no scale is trusted: such a
/// move scores at most 1 / AFTER_FLOOR (100). A baseline with a level of its own keeps
/// its own scale, so a CPU going from 1% to 100% still outranks a neighbour that
/// tripled.
const AFTER_FLOOR: f64 = 0.01;

fn flat_start_floor(before: f64, after: f64) -> f64 {
    let floor = after.abs() * AFTER_FLOOR;
    if before.abs() < floor { floor } else { 0.0 }
}

/// The spread below which a baseline is flat: nothing it did sets a scale.
const FLAT: f64 = 1e-9;

/// A baseline's scale: the larger of its robust spreads (IQR, MAD), its point-to-point
/// noise with spikes included (the standard deviation of its successive differences over
/// √2, which a steady trend does not inflate) — so a near-constant series with occasional
/// spikes is scaled by its spikes, and a level it already reached in a spike is no news —
/// and 5% of its level. Takes the values in time order.
fn robust_spread(values: &mut [f64]) -> f64 {
    let jitter = successive_noise(values);
    let m = median(values);
    let iqr = (quantile(values, 0.75) - quantile(values, 0.25)) / 1.349;
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - m).abs()).collect();
    let mad = median(&mut deviations) * 1.4826;
    iqr.max(mad)
        .max(jitter)
        .max(m.abs() * SPREAD_FLOOR)
        .max(FLAT)
}

/// The standard deviation of successive differences over √2: a series' noise from one
/// sample to the next, spikes included, trends not.
fn successive_noise(values: &[f64]) -> f64 {
    if values.len() < 3 {
        return 0.0;
    }
    let diffs: Vec<f64> = values.windows(2).map(|w| w[1] - w[0]).collect();
    let n = diffs.len() as f64;
    let mean = diffs.iter().sum::<f64>() / n;
    let variance = diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n;
    (variance / 2.0).sqrt()
}

/// Index of the strongest single mean shift, or None when the series is too short.
pub fn strongest_split(values: &[f64]) -> Option<usize> {
    let n = values.len();
    if n < 2 * MIN_SEGMENT {
        return None;
    }
    let total: f64 = values.iter().sum();
    let mut left = 0.0;
    let mut best = (0.0, None);
    for (k, v) in values.iter().enumerate().take(n - MIN_SEGMENT) {
        left += v;
        let k = k + 1;
        if k < MIN_SEGMENT {
            continue;
        }
        let (a, b) = (k as f64, (n - k) as f64);
        let diff = left / a - (total - left) / b;
        let gain = a * b / n as f64 * diff * diff;
        if gain > best.0 {
            best = (gain, Some(k));
        }
    }
    best.1
}

/// Robust z of the values from `split` on against the values before it.
///
/// The scale is never below 5% of the level before, and for a baseline at (or within 1%
/// of) zero never below 1% of the level after, so a flat line that starts to move (a
/// counter at 0 that starts to count, a lag of 0.2 s that reaches 34 s) scores at most
/// 100 — many times any threshold, comparable across series, never the absurd z of a
/// zero spread.
pub fn shift_score(values: &[f64], split: usize) -> (f64, f64, f64) {
    shift_score_above(values, split, 0.0)
}

/// [`shift_score`] with a scale never below `resolution`: the finest move the series
/// can measure (a success share's one request in a thousand).
fn shift_score_above(values: &[f64], split: usize, resolution: f64) -> (f64, f64, f64) {
    let mut before: Vec<f64> = values[..split].to_vec();
    let mut after: Vec<f64> = values[split..].to_vec();
    let (b, a) = (median(&mut before), median(&mut after));
    let spread = robust_spread(&mut before)
        .max(flat_start_floor(b, a))
        .max(resolution);
    if spread <= FLAT {
        return (0.0, b, a);
    }
    ((a - b) / spread, b, a)
}

/// The score a series gets when it exists on one side of the onset only: a job's CPU
/// that first appears at the onset, or a service's metrics that stop. Strong enough to
/// count as changed, but not to outrank every measured shift.
const APPEARED: f64 = 2.0 * CHANGED;

/// A series with (almost) no samples before the onset but enough after it appeared; one
/// with samples up to the onset and none after vanished (a series that ended long before
/// the onset — an old version's build info — did not). Anything else is too short to
/// judge.
fn appeared_or_vanished(
    times: &[i64],
    values: &[f64],
    split: usize,
    onset: i64,
) -> (f64, f64, f64) {
    let (before, after) = values.split_at(split.min(values.len()));
    let level = |part: &[f64]| median(&mut part.to_vec());
    let step = match times {
        [.., a, b] => (b - a).max(1),
        _ => 1,
    };
    let ended_near_onset = times.last().is_some_and(|&last| last >= onset - 3 * step);
    if before.len() < MIN_SEGMENT && after.len() >= MIN_SEGMENT && level(after) != 0.0 {
        (APPEARED * level(after).signum(), 0.0, level(after))
    } else if after.is_empty()
        && ended_near_onset
        && before.len() >= MIN_SEGMENT
        && level(before) != 0.0
    {
        (-APPEARED * level(before).signum(), level(before), 0.0)
    } else {
        (0.0, f64::NAN, f64::NAN)
    }
}

/// The step score, or — when the series drifted instead of stepping (a leak that began
/// before the onset, a disk that fills) — the drift from the first quarter of the window
/// to the last tenth, whichever is stronger.
fn strongest_of_step_and_ramp(values: &[f64], split: usize, resolution: f64) -> (f64, f64, f64) {
    let step = shift_score_above(values, split, resolution);
    let n = values.len();
    let head = (n / 4).max(MIN_SEGMENT);
    let tail = (n / 10).max(MIN_SEGMENT);
    if head + tail > n {
        return step;
    }
    let mut early: Vec<f64> = values[..head].to_vec();
    let mut late: Vec<f64> = values[n - tail..].to_vec();
    let (b, a) = (median(&mut early), median(&mut late));
    let spread = robust_spread(&mut early)
        .max(flat_start_floor(b, a))
        .max(resolution);
    let ramp = if spread <= FLAT {
        0.0
    } else {
        (a - b) / spread
    };
    // Only a steady drift counts: the late level must also differ from what was just
    // before the onset in the same direction, or a ramp is only noise at the edges.
    let steady = (step.2 - step.1).signum() == (a - b).signum();
    if steady && ramp.abs() > step.0.abs() && ramp.abs() >= CHANGED {
        (ramp, b, a)
    } else {
        step
    }
}

/// Where a shift found at `split` begins: a ramp's best split sits in its middle, so walk
/// back while the values are already outside the baseline band (3 robust spreads).
pub fn change_start(values: &[f64], split: usize) -> usize {
    let mut before: Vec<f64> = values[..split].to_vec();
    let spread = robust_spread(&mut before);
    let centre = median(&mut before);
    let outside = |i: usize| (values[i] - centre).abs() > 3.0 * spread;
    let mut start = split;
    while start > 0 && outside(start - 1) {
        start -= 1;
    }
    start
}

/// A series without its NaNs: name, times, values, its strongest split, and — for a
/// success share (see [`crate::harm::success_ceiling`]) — its ceiling: its
/// values are then the share that failed (`ceiling − value`), which is what moves.
type Cleaned<'a> = (&'a str, Vec<i64>, Vec<f64>, Option<usize>, Option<f64>);

/// The finest move a cleaned series can measure: a success share's resolution, else none.
fn resolution_of(ceiling: Option<f64>) -> f64 {
    ceiling.map_or(0.0, |c| c * crate::harm::SUCCESS_RESOLUTION)
}

/// A series as the analysis functions take it: name and values aligned with the times.
pub type Named = (String, Vec<f64>);

/// Where the onset may be, from what paged: not after the alert fired, and not long
/// before the time its text gives ("since 12:38") — a fault starts a little before its
/// alert, never half an hour after or long before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnsetWindow {
    pub from: i64,
    pub until: i64,
}

/// How far before the time an alert says its condition began ("since 12:38") an onset
/// may be: the cause shows in some series a few minutes before the symptom pages.
pub(crate) const BEFORE_SINCE_SECONDS: i64 = 5 * 60;
/// How far before an alert fired an onset may be when its text gives no time (alerts
/// wait out a `for:` duration before they fire).
pub(crate) const BEFORE_FIRING_SECONDS: i64 = 15 * 60;

impl OnsetWindow {
    /// The window an alert that fired at `fired_at`, saying `since` when it gave a
    /// time, allows.
    pub fn of_alert(fired_at: i64, since: Option<i64>) -> OnsetWindow {
        let from = match since.filter(|&s| s <= fired_at) {
            Some(since) => since - BEFORE_SINCE_SECONDS,
            None => fired_at - BEFORE_FIRING_SECONDS,
        };
        OnsetWindow {
            from,
            until: fired_at,
        }
    }

    /// The window a known split allows (`--normal` then `--anomalous`): the fault began
    /// at the first anomalous row, and shows within a sample before it (clocks differ)
    /// and half the anomalous stretch after it, five minutes or two samples at most,
    /// whichever is longer (with 5-minute samples — CloudWatch's — a fault that begins
    /// between two samples shows whole only in the second, and an export around an
    /// alert often starts a sample or two early). Times are in any unit (seconds, or
    /// row numbers) with `step` between samples, each sample `seconds_per_step` long.
    pub fn after_split(first: i64, last: i64, step: i64, seconds_per_step: i64) -> OnsetWindow {
        let five_minutes = step * (5 * 60 / seconds_per_step.max(1)).max(2);
        let reach = ((last - first) / 2).clamp(0, five_minutes);
        OnsetWindow {
            from: first - step.max(1),
            until: first + reach,
        }
    }

    pub fn contains(&self, t: i64) -> bool {
        (self.from..=self.until).contains(&t)
    }
}

/// The time an alert's text gives for its start (`since 12:38`, `since 12:38:05 UTC`),
/// on the day it fired (the day before when that would be after it fired).
pub fn alert_since(alert: &str, fired_at: i64) -> Option<i64> {
    let pattern = regex::Regex::new(r"(?i)\bsince\s+(\d{1,2}):(\d{2})(?::(\d{2}))?")
        .expect("the pattern compiles");
    let caps = pattern.captures(alert)?;
    let number = |i: usize| caps.get(i).map_or(Ok(0), |m| m.as_str().parse::<i64>());
    let (h, m, s) = (number(1).ok()?, number(2).ok()?, number(3).ok()?);
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    let day = fired_at - fired_at.rem_euclid(86_400);
    let at = day + h * 3600 + m * 60 + s;
    Some(if at > fired_at { at - 86_400 } else { at })
}

/// Rank `series` with the onset found inside `window` (what paged bounds it): the
/// median of the change points that fall in it, or — when none does — the window's
/// end less one sample, so a shift long before the alert never becomes the onset.
pub fn rank_in(
    times: &[i64],
    series: &[(String, Vec<f64>)],
    window: Option<OnsetWindow>,
) -> Ranking {
    let Some(window) = window else {
        return rank(times, series, None);
    };
    let votes: Vec<f64> = change_votes(times, series)
        .into_iter()
        .filter(|&t| window.contains(t as i64))
        .collect();
    let onset = if votes.is_empty() {
        let step = match times {
            [.., a, b] => (b - a).max(1),
            _ => 60,
        };
        (window.until - step).max(window.from)
    } else {
        median(&mut votes.clone()) as i64
    };
    rank(times, series, Some(onset))
}

/// Each series without its NaNs, and its strongest split (computed once).
fn cleaned<'a>(times: &[i64], series: &'a [(String, Vec<f64>)]) -> Vec<Cleaned<'a>> {
    series
        .iter()
        .map(|(name, values)| {
            let (t, v): (Vec<i64>, Vec<f64>) = times
                .iter()
                .zip(values)
                .filter(|(_, v)| v.is_finite())
                .map(|(t, v)| (*t, *v))
                .unzip();
            let ceiling = crate::harm::success_ceiling(name, &v);
            let v: Vec<f64> = match ceiling {
                Some(c) => v.iter().map(|x| c - x).collect(),
                None => v,
            };
            let split = strongest_split(&v);
            (name.as_str(), t, v, split, ceiling)
        })
        .collect()
}

/// Each strongly shifted series' change start (unix seconds): its vote for the onset.
fn votes_of(cleaned: &[Cleaned]) -> Vec<f64> {
    cleaned
        .iter()
        .filter_map(|(_, t, v, split, ceiling)| {
            let split = (*split)?;
            let (score, _, _) = shift_score_above(v, split, resolution_of(*ceiling));
            (score.abs() >= CHANGED).then(|| t[change_start(v, split)] as f64)
        })
        .collect()
}

pub fn change_votes(times: &[i64], series: &[(String, Vec<f64>)]) -> Vec<f64> {
    votes_of(&cleaned(times, series))
}

/// Rank `series` (name, values aligned with `times`). NaNs are dropped per series;
/// constant and too-short series score zero.
pub fn rank(times: &[i64], series: &[(String, Vec<f64>)], onset: Option<i64>) -> Ranking {
    let cleaned = cleaned(times, series);
    let onset = onset.unwrap_or_else(|| {
        let mut votes = votes_of(&cleaned);
        if votes.is_empty() {
            times.get(times.len() / 2).copied().unwrap_or_default()
        } else {
            median(&mut votes) as i64
        }
    });
    let mut shifts: Vec<SeriesShift> = cleaned
        .iter()
        .map(|(name, t, v, strongest, ceiling)| {
            let split = t.partition_point(|&x| x < onset);
            let changed_at = strongest.map(|s| t[s]).unwrap_or(onset);
            let (score, before, after) = if split >= MIN_SEGMENT && v.len() - split >= MIN_SEGMENT {
                strongest_of_step_and_ramp(v, split, resolution_of(*ceiling))
            } else {
                appeared_or_vanished(t, v, split, onset)
            };
            // A success share was scored on its failed share: back to its own terms.
            let (score, before, after) = match ceiling {
                Some(c) => (-score, c - before, c - after),
                None => (score, before, after),
            };
            SeriesShift {
                series: name.to_string(),
                score,
                before,
                after,
                changed_at,
            }
        })
        .collect();
    shifts.sort_by(|a, b| {
        b.score
            .abs()
            .total_cmp(&a.score.abs())
            .then(a.series.cmp(&b.series))
    });
    Ranking { onset, shifts }
}

/// The series worth looking at: those that shifted at the fault's onset.
#[derive(Debug, Clone, PartialEq)]
pub struct Sifted {
    pub onset: i64,
    /// Changed series, most shifted first.
    pub kept: Vec<SeriesShift>,
    /// Series that never vary (or hold no numbers): dead to any analysis.
    pub constant: Vec<String>,
    /// Series that vary but did not shift at the onset.
    pub unchanged: Vec<String>,
}

/// Drop constant series, find the onset from the pooled change points (unless given),
/// and keep the series whose robust shift at the onset reaches [`CHANGED`].
pub fn sift(times: &[i64], series: &[(String, Vec<f64>)], onset: Option<i64>) -> Sifted {
    let (live, constant): (Vec<&Named>, Vec<&Named>) = series.iter().partition(|(_, values)| {
        let mut finite = values.iter().filter(|v| v.is_finite());
        finite
            .next()
            .is_some_and(|first| finite.any(|v| v != first))
    });
    let live: Vec<(String, Vec<f64>)> = live.into_iter().cloned().collect();
    let ranking = rank(times, &live, onset);
    let (kept, unchanged): (Vec<SeriesShift>, Vec<SeriesShift>) = ranking
        .shifts
        .into_iter()
        .partition(|s| s.score.abs() >= CHANGED);
    Sifted {
        onset: ranking.onset,
        kept,
        constant: constant.into_iter().map(|(n, _)| n.clone()).collect(),
        unchanged: unchanged.into_iter().map(|s| s.series).collect(),
    }
}

/// Services, most likely root cause first: each scored by its most shifted series
/// (|robust z|); `service_of` names a series' service.
pub fn rank_services(ranking: &Ranking, service_of: impl Fn(&str) -> String) -> Vec<(String, f64)> {
    let mut best: std::collections::HashMap<String, f64> = std::collections::HashMap::new();
    for shift in &ranking.shifts {
        let score = if shift.score.is_finite() {
            shift.score.abs()
        } else {
            0.0
        };
        let entry = best.entry(service_of(&shift.series)).or_insert(0.0);
        *entry = entry.max(score);
    }
    let mut out: Vec<(String, f64)> = best.into_iter().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alert_bounds_the_onset() {
        let fired = 1_675_082_393; // 12:39:53
        assert_eq!(
            alert_since("p90 latency 1.82 s since 12:38 UTC", fired),
            Some(fired - fired % 86_400 + 12 * 3600 + 38 * 60)
        );
        assert_eq!(
            alert_since("since 23:50", fired),
            Some(fired - fired % 86_400 - 600)
        );
        assert_eq!(alert_since("no time here", fired), None);
        // A strong shift long before the alert, and a weaker one just before it.
        let times: Vec<i64> = (0..60).map(|i| fired - 3600 + i * 60).collect();
        let early: Vec<f64> = (0..60)
            .map(|i| {
                if i < 10 {
                    1.0 + (i % 3) as f64 * 0.01
                } else {
                    50.0 + (i % 3) as f64 * 0.01
                }
            })
            .collect();
        let late: Vec<f64> = (0..60)
            .map(|i| {
                if i < 55 {
                    5.0 + (i % 2) as f64 * 0.01
                } else {
                    9.0
                }
            })
            .collect();
        let series = vec![("a_x".to_string(), early), ("b_y".to_string(), late)];
        let window = OnsetWindow::of_alert(fired, alert_since("since 12:38", fired));
        let ranking = rank_in(&times, &series, Some(window));
        assert!(
            window.from <= ranking.onset && ranking.onset <= fired,
            "{}",
            ranking.onset
        );
        assert_eq!(ranking.shifts[0].series, "b_y");
    }

    #[test]
    fn a_flat_start_and_a_spiky_series_score_bounded() {
        let mut flat = vec![0.0; 30];
        flat.extend([0.03; 6]);
        let (z, _, _) = shift_score(&flat, 30);
        assert!((99.0..=100.0).contains(&z), "{z}");
        let mut drop = vec![100.0; 30];
        drop.extend([0.0; 6]);
        assert!((-20.0..=-19.0).contains(&shift_score(&drop, 30).0));
        let mut spiky: Vec<f64> = (0..30)
            .map(|i| if i % 10 == 3 { 5.0 } else { 1.0 })
            .collect();
        spiky.extend([2.0; 6]);
        assert!(
            shift_score(&spiky, 30).0 < CHANGED,
            "{:?}",
            shift_score(&spiky, 30)
        );
    }

    fn noisy(n: usize, seed: u64) -> Vec<f64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                10.0 + ((x >> 33) as f64 / (1u64 << 31) as f64 - 0.5)
            })
            .collect()
    }

    use proptest::prelude::*;

    const STEP: i64 = 15;

    /// Up to 8 noisy series with distinct names; the one at `shifted` (if any) gets a
    /// level shift of `size` from sample `at` on.
    fn fleet(seeds: &[u64], shifted: Option<(usize, usize, f64)>) -> (Vec<i64>, Vec<Named>) {
        let times: Vec<i64> = (0..100).map(|i| i * STEP).collect();
        let mut series: Vec<Named> = seeds
            .iter()
            .enumerate()
            .map(|(i, &seed)| (format!("svc{i}_metric"), noisy(100, seed)))
            .collect();
        if let Some((which, at, size)) = shifted {
            for v in &mut series[which].1[at..] {
                *v += size;
            }
        }
        (times, series)
    }

    proptest! {
        /// Wherever a level shift sits, whichever column holds it, and however many
        /// noisy neighbours it has, it ranks first and sets the onset.
        #[test]
        fn an_injected_level_shift_ranks_first_and_sets_the_onset(
            seeds in prop::collection::vec(any::<u64>(), 2..8),
            which in any::<prop::sample::Index>(),
            at in 20usize..80,
            size in prop_oneof![2.5f64..20.0, -9.0f64..-2.5],
        ) {
            let which = which.index(seeds.len());
            let (times, series) = fleet(&seeds, Some((which, at, size)));
            let ranking = rank(&times, &series, None);
            prop_assert_eq!(&ranking.shifts[0].series, &series[which].0);
            prop_assert_eq!(ranking.onset, at as i64 * STEP);
            prop_assert!(ranking.shifts[0].score.abs() >= CHANGED);
            for other in &ranking.shifts[1..] {
                prop_assert!(other.score.abs() < CHANGED, "{other:?}");
            }
        }

        /// The ranking is a function of the set of series, not of their column order.
        #[test]
        fn ranking_ignores_column_order(
            seeds in prop::collection::vec(any::<u64>(), 2..8),
            shifted in prop::option::of((any::<prop::sample::Index>(), 20usize..80, 2.5f64..20.0)),
            order in Just((0..8).collect::<Vec<usize>>()).prop_shuffle(),
        ) {
            let shifted = shifted.map(|(which, at, size)| (which.index(seeds.len()), at, size));
            let (times, series) = fleet(&seeds, shifted);
            let reordered: Vec<Named> = order
                .iter()
                .filter(|&&i| i < series.len())
                .map(|&i| series[i].clone())
                .collect();
            prop_assert_eq!(rank(&times, &series, None), rank(&times, &reordered, None));
        }
    }

    #[test]
    fn a_success_share_is_scored_on_what_failed() {
        let times: Vec<i64> = (0..40).map(|i| i * 300).collect();
        // 99.9 % ± 0.05, then 97 %: thirty times the failures, though the value fell 3 %.
        let share = |level: f64, scale: f64| -> Vec<f64> {
            (0..40)
                .map(|i| {
                    let healthy = 0.999 - 0.0005 * (i % 3) as f64;
                    scale * if i < 32 { healthy } else { level }
                })
                .collect()
        };
        for (name, scale) in [("api_availability", 1.0), ("api_availability_pct", 100.0)] {
            let series = vec![(name.to_string(), share(0.97, scale))];
            let shift = &rank(&times, &series, Some(32 * 300)).shifts[0];
            assert!(shift.score <= -CHANGED, "{name}: {shift:?}");
            assert!((shift.after - 0.97 * scale).abs() < 1e-9, "{shift:?}");
            // The same numbers under a name that says nothing: 5 % of the level scales them.
            let plain = vec![("api_gauge".to_string(), share(0.97, scale))];
            assert!(rank(&times, &plain, Some(32 * 300)).shifts[0].score.abs() < CHANGED);
        }
        // From a flat 100 %, one failure in ten thousand is counting noise, not a move.
        let mut flat = vec![1.0; 40];
        flat[32..].fill(0.9999);
        let series = vec![("api_availability".to_string(), flat)];
        assert!(rank(&times, &series, Some(32 * 300)).shifts[0].score.abs() < CHANGED);
    }

    #[test]
    fn a_ramp_starts_where_it_leaves_the_baseline() {
        let mut ramp = noisy(100, 5);
        for (i, v) in ramp.iter_mut().enumerate().skip(50) {
            *v += ((i - 49) as f64).min(10.0);
        }
        let split = strongest_split(&ramp).unwrap();
        assert!(split > 52, "the best split sits inside the ramp: {split}");
        assert!((50..=52).contains(&change_start(&ramp, split)));
    }

    #[test]
    fn constant_and_nan_series_do_not_panic() {
        let times: Vec<i64> = (0..20).collect();
        let series = vec![
            ("flat_x".to_string(), vec![1.0; 20]),
            ("nan_x".to_string(), vec![f64::NAN; 20]),
        ];
        let ranking = rank(&times, &series, Some(10));
        assert_eq!(ranking.shifts.len(), 2);
        assert!(ranking.shifts.iter().all(|s| s.score == 0.0));
    }

    #[test]
    fn a_leak_that_began_before_the_onset_and_a_series_that_appears_count() {
        let times: Vec<i64> = (0..100).map(|i| i * STEP).collect();
        let flat = noisy(100, 3);
        let mut step = noisy(100, 5);
        for v in step.iter_mut().skip(70) {
            *v += 30.0;
        }
        // Grows steadily from sample 20 on: at the onset (70) it is already half way.
        let leak: Vec<f64> = noisy(100, 9)
            .into_iter()
            .enumerate()
            .map(|(i, v)| v + if i > 20 { (i - 20) as f64 * 0.8 } else { 0.0 })
            .collect();
        let appears: Vec<f64> = (0..100)
            .map(|i| {
                if i >= 72 {
                    55.0 + (i % 3) as f64
                } else {
                    f64::NAN
                }
            })
            .collect();
        let series = vec![
            ("a_flat".to_string(), flat),
            ("b_step".to_string(), step),
            ("c_leak".to_string(), leak),
            ("d_job_cpu".to_string(), appears),
        ];
        let ranking = rank(&times, &series, Some(70 * STEP));
        let score = |name: &str| {
            ranking
                .shifts
                .iter()
                .find(|s| s.series == name)
                .unwrap()
                .score
        };
        assert!(score("b_step") >= CHANGED);
        assert!(score("c_leak") >= CHANGED, "{}", score("c_leak"));
        assert_eq!(score("d_job_cpu"), APPEARED);
        assert!(score("a_flat").abs() < CHANGED);
    }
}
