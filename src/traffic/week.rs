//! A series folded into one week: each slot of the week (one sample
//! interval, placed from Monday 00:00 UTC) holds the highest rate any week
//! of the data had there. A window read from it is read at its worst.

use super::Series;
use super::time::{SECOND, WEEK, week_position};

/// A series folded into one week: each slot holds the highest rate seen at
/// that place in any week of the data.
#[derive(Debug, Clone, PartialEq)]
pub struct Week {
    /// The width of a slot: the series' sample interval, in milliseconds.
    pub step: i64,
    /// API requests per second, the worst of every week; `None` where the
    /// data has no sample.
    rps: Vec<Option<f64>>,
    writes: Option<Vec<Option<f64>>>,
    /// How many weeks the best-covered slot saw.
    pub weeks: usize,
}

/// What a window carries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// The highest rate inside the window.
    pub peak_rps: f64,
    /// API calls over the window.
    pub calls: f64,
    /// Portal writes over its read-only part (`None`: the data does not
    /// say; `Some(0.0)` when nothing in it is read-only).
    pub writes: Option<f64>,
}

impl Week {
    /// Folds `series`, sampled every `step` milliseconds, into a week of
    /// `WEEK / step` slots.
    pub fn of(series: &Series, step: i64) -> Week {
        let slots = (WEEK / step) as usize;
        let mut rps: Vec<Option<f64>> = vec![None; slots];
        let mut writes: Option<Vec<Option<f64>>> =
            series.writes.as_ref().map(|_| vec![None; slots]);
        let mut seen = vec![0usize; slots];
        for (i, &v) in series.rps.iter().enumerate() {
            let slot = (week_position(series.start + i as i64 * step) / step) as usize % slots;
            rps[slot] = Some(rps[slot].map_or(v, |old: f64| old.max(v)));
            seen[slot] += 1;
            if let (Some(out), Some(w)) = (writes.as_mut(), &series.writes) {
                let w = w[i];
                out[slot] = Some(out[slot].map_or(w, |old: f64| old.max(w)));
            }
        }
        Week {
            step,
            rps,
            writes,
            weeks: seen.into_iter().max().unwrap_or(0),
        }
    }

    /// The slots `[from, to)` (week positions, which may run past the end of
    /// the week) overlaps, with how many milliseconds of each.
    fn slots(&self, from: i64, to: i64) -> impl Iterator<Item = (usize, i64)> + '_ {
        let step = self.step;
        let n = self.rps.len() as i64;
        let (first, last) = (from.div_euclid(step), (to - 1).div_euclid(step));
        (first..=last).filter(move |_| to > from).map(move |k| {
            let overlap = to.min((k + 1) * step) - from.max(k * step);
            (k.rem_euclid(n) as usize, overlap)
        })
    }

    /// The window `[start, start + length)` (a week position and
    /// milliseconds), with the portals read-only over `read_only` (offsets
    /// from its start). `None` when the data does not cover it.
    pub fn read(&self, start: i64, length: i64, read_only: Option<(i64, i64)>) -> Option<Reading> {
        if length <= 0 || length > WEEK {
            return None;
        }
        let mut peak: f64 = 0.0;
        let mut calls = 0.0;
        for (slot, overlap) in self.slots(start, start + length) {
            let v = self.rps[slot]?;
            peak = peak.max(v);
            calls += v * overlap as f64 / SECOND as f64;
        }
        let writes = match (&self.writes, read_only) {
            (None, _) => None,
            (Some(_), None) => Some(0.0),
            (Some(w), Some((from, to))) => {
                let mut sum = 0.0;
                for (slot, overlap) in self.slots(start + from, start + to.min(length).max(from)) {
                    sum += w[slot]? * overlap as f64 / SECOND as f64;
                }
                Some(sum)
            }
        };
        Some(Reading {
            peak_rps: peak,
            calls,
            writes,
        })
    }

    /// The highest rate of the week.
    pub fn peak(&self) -> f64 {
        self.rps.iter().flatten().fold(0.0, |a: f64, &b| a.max(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::time::{DAY, HOUR, MINUTE, days_from_civil};

    fn monday() -> i64 {
        days_from_civil(2024, 4, 29) * DAY
    }

    #[test]
    fn weeks_fold_at_their_worst() {
        let step = HOUR;
        // Two weeks of hourly data: the second week is twice the first.
        let rps: Vec<f64> = (0..14 * 24)
            .map(|i| if i < 7 * 24 { 1.0 } else { 2.0 })
            .collect();
        let series = Series {
            datacenter: None,
            start: monday(),
            rps,
            writes: Some(vec![0.5; 14 * 24]),
        };
        let week = Week::of(&series, step);
        assert_eq!(week.weeks, 2);
        let r = week.read(HOUR, 3 * HOUR, Some((HOUR, 2 * HOUR))).unwrap();
        assert_eq!(r.peak_rps, 2.0);
        assert_eq!(r.calls, 2.0 * 3.0 * 3600.0);
        assert_eq!(r.writes, Some(0.5 * 3600.0));
        // A window over the end of the week wraps to Monday.
        assert!(week.read(WEEK - HOUR, 2 * HOUR, None).is_some());
        // Partial slots count for their share of calls.
        let r = week.read(30 * MINUTE, HOUR, None).unwrap();
        assert_eq!(r.calls, 2.0 * 3600.0);
    }

    #[test]
    fn a_window_the_data_misses_is_not_read() {
        let series = Series {
            datacenter: None,
            start: monday() + DAY,
            rps: vec![1.0; 24],
            writes: None,
        };
        let week = Week::of(&series, HOUR);
        assert_eq!(week.weeks, 1);
        assert!(week.read(DAY + HOUR, HOUR, None).is_some());
        assert!(week.read(HOUR, HOUR, None).is_none());
        assert!(week.read(2 * DAY - HOUR, 2 * HOUR, None).is_none());
        assert_eq!(week.read(DAY, HOUR, Some((0, HOUR))).unwrap().writes, None);
    }
}
