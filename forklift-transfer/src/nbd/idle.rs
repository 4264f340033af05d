//! The idle timeout of a connection in transmission: requests that see no byte from the
//! server for this long mean the server has stopped answering, and the connection counts as
//! lost (a fatal [`ErrorKind::Timeout`]), so the copy's reconnect logic takes over instead of
//! waiting forever.
//!
//! Only waiting counts: a connection with nothing in flight may stay quiet as long as it
//! likes. The value is shared by a client and all its connections (also while a copy lane
//! drives them), so a copy can set it on clients it did not open
//! ([`NbdClient::set_io_timeout`](super::NbdClient::set_io_timeout)).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::{Error, ErrorKind, Op};

/// Default idle timeout: 5 minutes. Long enough for a server that is itself waiting on its
/// storage to ride it out (open-iscsi gives a lost path 120 s before failing I/O, multipath
/// and NFS retries take about as long), short enough that a hung server costs minutes, not
/// a night. Any byte of a reply restarts the clock, so slow links are not affected: the
/// timeout bounds silence, not request duration.
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(300);

/// How long requests may wait without a byte from the server; zero means forever.
#[derive(Debug, Clone)]
pub(crate) struct IoTimeout(Arc<AtomicU64>);

impl Default for IoTimeout {
    fn default() -> Self {
        Self::new(DEFAULT_IO_TIMEOUT)
    }
}

impl IoTimeout {
    pub(crate) fn new(timeout: Duration) -> Self {
        Self(Arc::new(AtomicU64::new(timeout_millis(timeout))))
    }

    /// The limit, or `None` when requests may wait forever.
    pub(crate) fn get(&self) -> Option<Duration> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            millis => Some(Duration::from_millis(millis)),
        }
    }

    /// Changes the limit for every connection sharing it.
    pub(crate) fn set(&self, timeout: Duration) {
        self.0.store(timeout_millis(timeout), Ordering::Relaxed);
    }
}

/// Milliseconds, at least 1 for any non-zero duration (so it never turns into "forever").
fn timeout_millis(timeout: Duration) -> u64 {
    if timeout.is_zero() {
        0
    } else {
        u64::try_from(timeout.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

/// The error of a connection whose requests waited `limit` without a byte from the server.
pub(crate) fn timed_out(limit: Duration) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!(
            "Server sent nothing for {} while requests were waiting (--io-timeout)",
            human(limit)
        ),
    )
    .with_op(Op::Read)
    .into_fatal()
}

fn human(limit: Duration) -> String {
    if limit.subsec_millis() == 0 {
        format!("{} s", limit.as_secs())
    } else {
        format!("{} ms", limit.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_means_forever_and_tiny_values_stay_finite() {
        let timeout = IoTimeout::new(Duration::ZERO);
        assert_eq!(timeout.get(), None);
        timeout.set(Duration::from_micros(10));
        assert_eq!(timeout.get(), Some(Duration::from_millis(1)));
        let shared = timeout.clone();
        shared.set(Duration::from_secs(7));
        assert_eq!(timeout.get(), Some(Duration::from_secs(7)));
        assert_eq!(IoTimeout::default().get(), Some(DEFAULT_IO_TIMEOUT));
        let error = timed_out(Duration::from_secs(7));
        assert!(error.is_fatal());
        assert_eq!(error.kind(), ErrorKind::Timeout);
        assert!(error.to_string().contains("7 s"), "{error}");
    }
}
