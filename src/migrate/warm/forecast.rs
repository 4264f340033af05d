//! The downtime forecast (ours, not upstream's): from what each precopy measured (bytes
//! changed between two snapshots, the time between them, the copy's throughput) predict how
//! long the final delta takes and how long the VM is down if it cuts over now.

use std::time::Duration;

use forklift_core::resources::DowntimeForecast;

/// What the forecast assumes the guest takes to shut down (it cannot be measured before
/// the cutover; the actual value is reported afterwards).
pub const FORECAST_POWER_OFF: Duration = Duration::from_secs(5);
/// What the forecast assumes creating the target VM takes.
pub const FORECAST_VM_CREATION: Duration = Duration::from_secs(1);
/// Throughputs measured over less than this much copying are not trusted on their own
/// (a tiny delta copies in a blink): the run's total is used instead.
const MIN_THROUGHPUT_SAMPLE: Duration = Duration::from_millis(200);

/// Measurements of the precopies so far.
#[derive(Debug, Default, Clone)]
pub(crate) struct Measured {
    /// Bytes changed between the last two snapshots and the seconds between them.
    pub dirty: Option<(u64, Duration)>,
    /// Bytes copied and time spent copying, over every precopy of this run.
    pub copied: (u64, Duration),
    /// The last precopy's bytes and copy time.
    pub last_copy: (u64, Duration),
}

impl Measured {
    /// Records a precopy that copied `bytes` in `took`; `dirty` is `Some((changed, since))`
    /// for an incremental precopy: the bytes the source reported changed in the `since`
    /// between its snapshot and the previous one.
    pub fn precopy(&mut self, bytes: u64, took: Duration, dirty: Option<(u64, Duration)>) {
        self.copied.0 += bytes;
        self.copied.1 += took;
        self.last_copy = (bytes, took);
        if dirty.is_some() {
            self.dirty = dirty;
        }
    }

    /// Copy throughput in bytes per second: the last precopy's when it copied long enough
    /// to measure, else the run's.
    fn throughput(&self) -> Option<f64> {
        let (bytes, took) = if self.last_copy.1 >= MIN_THROUGHPUT_SAMPLE {
            self.last_copy
        } else {
            self.copied
        };
        let secs = took.as_secs_f64();
        (bytes > 0 && secs > 0.0).then(|| bytes as f64 / secs)
    }

    /// The forecast if the VM cut over `since_snapshot` after the last snapshot; `None`
    /// until an incremental precopy measured a dirty rate.
    pub fn forecast(&self, since_snapshot: Duration) -> Option<DowntimeForecast> {
        let (dirty_bytes, dirty_secs) = self.dirty?;
        let secs = dirty_secs.as_secs_f64();
        if secs <= 0.0 {
            return None;
        }
        let rate = dirty_bytes as f64 / secs;
        let throughput = self.throughput()?;
        // Changes keep coming until the guest is off.
        let window = since_snapshot + FORECAST_POWER_OFF;
        let final_bytes = rate * window.as_secs_f64();
        let final_sync = Duration::from_secs_f64(final_bytes / throughput);
        let downtime = FORECAST_POWER_OFF + final_sync + FORECAST_VM_CREATION;
        Some(DowntimeForecast {
            dirty_bytes_per_second: rate.round() as u64,
            copy_bytes_per_second: throughput.round() as u64,
            final_bytes: final_bytes.round() as u64,
            final_sync_millis: millis(final_sync),
            downtime_millis: millis(downtime),
            actual_final_sync_millis: None,
            actual_downtime_millis: None,
        })
    }
}

/// Whole milliseconds of `d`, saturating.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_forecast_before_a_dirty_rate_is_measured() {
        let mut m = Measured::default();
        m.precopy(100 << 20, Duration::from_secs(10), None);
        assert_eq!(m.forecast(Duration::ZERO), None);
    }

    #[test]
    fn the_forecast_follows_the_rates() {
        let mut m = Measured::default();
        // Full copy: 1000 MiB in 10 s (100 MiB/s).
        m.precopy(1000 << 20, Duration::from_secs(10), None);
        // 10 MiB changed in the 20 s between the snapshots, copied in 0.1 s: too short to
        // measure throughput alone, so the run's 1010 MiB / 10.1 s is used.
        m.precopy(
            10 << 20,
            Duration::from_millis(100),
            Some((10 << 20, Duration::from_secs(20))),
        );
        let f = m.forecast(Duration::from_secs(15)).unwrap();
        assert_eq!(f.dirty_bytes_per_second, (10 << 20) / 20);
        assert_eq!(f.copy_bytes_per_second, 100 << 20);
        // 20 s of changes (15 s since the snapshot + 5 s power-off) at 0.5 MiB/s = 10 MiB.
        assert_eq!(f.final_bytes, 10 << 20);
        assert_eq!(f.final_sync_millis, 100);
        assert_eq!(f.downtime_millis, 5000 + 100 + 1000);
    }
}
