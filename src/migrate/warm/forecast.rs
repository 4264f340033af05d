//! The downtime forecast (ours, not upstream's): from what the recent precopies measured,
//! predict the final sync and the VM's downtime.
//!
//! The final sync is what happens between the source reported off and the final snapshot
//! removed: removing the previous snapshot, taking the final one, reading its change ids and
//! changed areas, copying them, removing it. The forecast counts exactly those, each from a
//! measurement of the last [`FORECAST_WINDOW`] precopies (the median of snapshot create and
//! remove times and change queries, the dirty rate and the delta copy cost of incremental
//! precopies: the first, full copy says nothing about deltas), and the status records the
//! actual final sync over the same span.

use std::collections::VecDeque;
use std::time::Duration;

use forklift_core::resources::DowntimeForecast;

/// How many recent precopies the forecast learns from.
pub const FORECAST_WINDOW: usize = 4;
/// The guest shutdown a forecast made before the cutover counts for a running source (it
/// cannot be measured before the guest is asked; the forecast made once the source is off
/// uses the measured time instead).
pub const FORECAST_GUEST_SHUTDOWN: Duration = Duration::from_secs(5);
/// What the forecast assumes creating the target VM takes.
pub const FORECAST_VM_CREATION: Duration = Duration::from_secs(1);

/// The last [`FORECAST_WINDOW`] values of one measurement.
#[derive(Debug, Default, Clone)]
struct Recent<T>(VecDeque<T>);

impl<T: Copy> Recent<T> {
    fn push(&mut self, value: T) {
        if self.0.len() == FORECAST_WINDOW {
            self.0.pop_front();
        }
        self.0.push_back(value);
    }

    fn iter(&self) -> impl Iterator<Item = T> + '_ {
        self.0.iter().copied()
    }
}

impl Recent<Duration> {
    /// The median (the lower of the middle two), robust to one slow outlier.
    fn median(&self) -> Option<Duration> {
        let mut sorted: Vec<Duration> = self.iter().collect();
        sorted.sort_unstable();
        sorted.get(sorted.len().checked_sub(1)? / 2).copied()
    }
}

/// Measurements of the precopies so far.
#[derive(Debug, Default, Clone)]
pub(crate) struct Measured {
    /// Bytes changed between two snapshots and the time between them, per incremental
    /// precopy.
    dirty: Recent<(u64, Duration)>,
    /// Bytes copied and copy time, per incremental precopy.
    copies: Recent<(u64, Duration)>,
    /// Time to take a snapshot.
    creates: Recent<Duration>,
    /// Time to remove a snapshot.
    removes: Recent<Duration>,
    /// Time to read change ids and changed areas, per incremental precopy.
    queries: Recent<Duration>,
}

/// When the forecast is made, and what it knows of the power-off.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At {
    /// Time since the last precopy's snapshot during which the guest keeps writing before
    /// the final snapshot; for a running source, include the power-off.
    pub dirty_window: Duration,
    /// Power-off time counted in the downtime.
    pub power_off: Duration,
    /// Whether the source is off already (the power-off was measured).
    pub source_off: bool,
}

impl Measured {
    /// Records a snapshot taken in `took`.
    pub fn snapshot_created(&mut self, took: Duration) {
        self.creates.push(took);
    }

    /// Records a snapshot removed in `took`.
    pub fn snapshot_removed(&mut self, took: Duration) {
        self.removes.push(took);
    }

    /// Records a precopy that copied `bytes` in `took`. `incremental` is `Some((changed,
    /// since, query))` for a precopy of changes only: the bytes the source reported changed
    /// in the `since` between its snapshot and the previous one, and the time its change
    /// ids and changed areas took to read.
    pub fn precopy(
        &mut self,
        bytes: u64,
        took: Duration,
        incremental: Option<(u64, Duration, Duration)>,
    ) {
        if let Some((changed, since, query)) = incremental {
            self.dirty.push((changed, since));
            self.copies.push((bytes, took));
            self.queries.push(query);
        }
    }

    /// Bytes the guest dirties per second over the recent incremental precopies.
    fn dirty_rate(&self) -> Option<f64> {
        let (bytes, secs) = self
            .dirty
            .iter()
            .fold((0u64, 0f64), |(b, s), (bytes, since)| {
                (b.saturating_add(bytes), s + since.as_secs_f64())
            });
        (secs > 0.0).then(|| bytes as f64 / secs)
    }

    /// The cost of a delta copy as `(fixed seconds, seconds per byte)`, fitted on the
    /// recent incremental precopies: a least-squares line when their sizes differ enough to
    /// tell a fixed cost from a per-byte one, else the per-byte cost of their total (or
    /// their mean time, when they copied nothing).
    fn copy_cost(&self) -> Option<(f64, f64)> {
        let samples: Vec<(f64, f64)> = self
            .copies
            .iter()
            .map(|(b, t)| (b as f64, t.as_secs_f64()))
            .collect();
        if samples.is_empty() {
            return None;
        }
        let n = samples.len() as f64;
        let (sum_x, sum_y) = samples
            .iter()
            .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x, sy + y));
        let (mean_x, mean_y) = (sum_x / n, sum_y / n);
        let min_x = samples.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
        let max_x = samples.iter().map(|s| s.0).fold(0.0, f64::max);
        if samples.len() >= 2 && max_x >= 2.0 * min_x && max_x > 0.0 {
            let sxx: f64 = samples.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
            let sxy: f64 = samples
                .iter()
                .map(|(x, y)| (x - mean_x) * (y - mean_y))
                .sum();
            let slope = sxy / sxx;
            let fixed = mean_y - slope * mean_x;
            if slope > 0.0 && fixed >= 0.0 {
                return Some((fixed, slope));
            }
        }
        if sum_x > 0.0 {
            Some((0.0, sum_y / sum_x))
        } else {
            Some((mean_y, 0.0))
        }
    }

    /// The forecast at `at`; `None` until an incremental precopy measured a dirty rate and
    /// a delta copy.
    pub fn forecast(&self, at: At) -> Option<DowntimeForecast> {
        let rate = self.dirty_rate()?;
        let (fixed, per_byte) = self.copy_cost()?;
        let create = self.creates.median().unwrap_or_default();
        let remove = self.removes.median().unwrap_or_default();
        let query = self.queries.median().unwrap_or_default();
        let final_bytes = rate * at.dirty_window.as_secs_f64();
        let copy = whole_micros(fixed + per_byte * final_bytes);
        // The previous snapshot is removed, the final one taken, read, copied and removed.
        let final_sync = remove + create + query + copy + remove;
        let downtime = at.power_off + final_sync + FORECAST_VM_CREATION;
        Some(DowntimeForecast {
            dirty_bytes_per_second: rate.round() as u64,
            copy_bytes_per_second: if per_byte > 0.0 {
                (1.0 / per_byte).round() as u64
            } else {
                0
            },
            final_bytes: final_bytes.round() as u64,
            final_sync_millis: millis(final_sync),
            downtime_millis: millis(downtime),
            source_off: at.source_off,
            power_off_millis: millis(at.power_off),
            snapshot_create_millis: millis(create),
            snapshot_remove_millis: millis(remove),
            change_query_millis: millis(query),
            copy_millis: millis(copy),
            actual_final_sync_millis: None,
            actual_power_off_millis: None,
            actual_downtime_millis: None,
        })
    }
}

/// `secs` (finite, not negative) to the nearest microsecond: the fit's float noise must not
/// cost a millisecond when the result is truncated to milliseconds.
fn whole_micros(secs: f64) -> Duration {
    Duration::from_micros((secs * 1e6).round() as u64)
}

/// Whole milliseconds of `d`, saturating.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const MIB: u64 = 1 << 20;

    fn at(window: Duration, power_off: Duration) -> At {
        At {
            dirty_window: window,
            power_off,
            source_off: false,
        }
    }

    /// The full copy, then `n` incremental precopies of `bytes` each dirtied in 2 s and
    /// copied in `copy`, with snapshots of 300 ms, removals of 100 ms and queries of 20 ms.
    fn measured(n: usize, bytes: u64, copy: Duration) -> Measured {
        let mut m = Measured::default();
        m.snapshot_created(300 * MS);
        m.precopy(1000 * MIB, Duration::from_secs(10), None);
        for _ in 0..n {
            m.snapshot_removed(100 * MS);
            m.snapshot_created(300 * MS);
            m.precopy(bytes, copy, Some((bytes, Duration::from_secs(2), 20 * MS)));
        }
        m
    }

    #[test]
    fn no_forecast_before_an_incremental_precopy() {
        let m = measured(0, 0, Duration::ZERO);
        assert_eq!(m.forecast(at(Duration::ZERO, Duration::ZERO)), None);
    }

    #[test]
    fn the_final_sync_adds_the_measured_parts_and_ignores_the_full_copy() {
        // 4 MiB dirtied every 2 s, copied in 40 ms: 100 MiB/s for deltas (the full copy's
        // 100 MiB/s over 10 s does not count; it would not change this one, see below).
        let m = measured(3, 4 * MIB, 40 * MS);
        let f = m
            .forecast(at(Duration::from_secs(2), Duration::ZERO))
            .unwrap();
        assert_eq!(f.dirty_bytes_per_second, 2 * MIB);
        assert_eq!(f.copy_bytes_per_second, 100 * MIB);
        assert_eq!(f.final_bytes, 4 * MIB);
        assert_eq!(f.copy_millis, 40);
        assert_eq!(
            (
                f.snapshot_create_millis,
                f.snapshot_remove_millis,
                f.change_query_millis
            ),
            (300, 100, 20)
        );
        assert_eq!(f.final_sync_millis, 100 + 300 + 20 + 40 + 100);
        assert_eq!(f.downtime_millis, f.final_sync_millis + 1000);
        assert_eq!(f.power_off_millis, 0);
    }

    #[test]
    fn a_running_guest_keeps_dirtying_until_it_is_off() {
        let m = measured(2, 4 * MIB, 40 * MS);
        let f = m
            .forecast(at(Duration::from_secs(3), Duration::from_secs(1)))
            .unwrap();
        // 3 s at 2 MiB/s.
        assert_eq!(f.final_bytes, 6 * MIB);
        assert_eq!(f.copy_millis, 60);
        assert_eq!(f.downtime_millis, 1000 + f.final_sync_millis + 1000);
    }

    #[test]
    fn a_fixed_copy_cost_is_told_from_a_per_byte_one() {
        let mut m = measured(0, 0, Duration::ZERO);
        // 50 ms to open the disks plus 10 ms per MiB.
        for mib in [1, 4, 8] {
            m.precopy(
                mib * MIB,
                (50 + 10 * mib as u32) * MS,
                Some((mib * MIB, Duration::from_secs(1), 20 * MS)),
            );
        }
        // 13 MiB in 3 s; 2 MiB dirtied in the window.
        let window = Duration::from_secs_f64(2.0 * 3.0 / 13.0);
        let f = m.forecast(at(window, Duration::ZERO)).unwrap();
        assert_eq!(f.final_bytes, 2 * MIB);
        assert_eq!(f.copy_millis, 70);
        assert_eq!(f.copy_bytes_per_second, 100 * MIB);
    }

    #[test]
    fn a_slow_outlier_does_not_move_the_median_and_old_precopies_drop_out() {
        let mut m = measured(3, 4 * MIB, 40 * MS);
        m.snapshot_created(5 * 300 * MS);
        let f = m.forecast(at(Duration::ZERO, Duration::ZERO)).unwrap();
        assert_eq!(f.snapshot_create_millis, 300);
        // A quiet guest: the old, busy precopies leave the window.
        for _ in 0..FORECAST_WINDOW {
            m.precopy(0, 10 * MS, Some((0, Duration::from_secs(2), 20 * MS)));
        }
        let f = m
            .forecast(at(Duration::from_secs(2), Duration::ZERO))
            .unwrap();
        assert_eq!((f.dirty_bytes_per_second, f.final_bytes), (0, 0));
        assert_eq!(f.copy_millis, 10);
    }
}
