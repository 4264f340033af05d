//! The clock, as RFC 3339 timestamps for status fields (formatting and parsing live in
//! [`forklift_core::time`]).

use std::time::{SystemTime, UNIX_EPOCH};

pub use forklift_core::time::{format_rfc3339, parse_rfc3339};

/// The current time as `YYYY-MM-DDTHH:MM:SSZ`, as Kubernetes writes timestamps.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_rfc3339(secs)
}

/// The current time in seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
