//! The one wait loop of the engine client: look at a resource every [`POLL_INTERVAL`] until
//! it reaches the state waited for, fails, or the wait's limit passes. (The engine has no
//! watch; VM power, transfers, backups and snapshots are all polled this way.)

use std::future::Future;
use std::time::{Duration, Instant};

use super::error::{OvirtError, Result};
use super::limits::POLL_INTERVAL;

/// What one look at the resource found.
pub enum Look<T> {
    /// The state waited for, with what the wait returns.
    Done(T),
    /// Not there yet: the state seen (named in the timeout error).
    Pending(String),
}

/// A bounded wait: `what` is waited for until it is `wanted`, at most `limit`.
pub struct Wait<'a> {
    /// What is waited for, e.g. `backup B of VM V`.
    pub what: &'a (dyn Fn() -> String + Sync),
    /// The state waited for, e.g. `ready`.
    pub wanted: &'static str,
    /// The longest the wait may take.
    pub limit: Duration,
}

impl Wait<'_> {
    /// Looks until `look` answers [`Look::Done`] or fails; past the limit, the last state
    /// seen is returned in [`OvirtError::WaitTimeout`].
    pub async fn poll<T, F, Fut>(&self, mut look: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Look<T>>>,
    {
        let started = Instant::now();
        loop {
            let last = match look().await? {
                Look::Done(value) => return Ok(value),
                Look::Pending(state) => state,
            };
            if started.elapsed() >= self.limit {
                return Err(OvirtError::WaitTimeout {
                    what: (self.what)(),
                    wanted: self.wanted,
                    seconds: self.limit.as_secs(),
                    last,
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_wait_ends_done_or_past_its_limit_with_the_last_state() {
        let what = || "thing T".to_owned();
        let wait = Wait {
            what: &what,
            wanted: "ready",
            limit: Duration::from_secs(2),
        };
        let mut looks = 0;
        let done = wait
            .poll(|| {
                looks += 1;
                let n = looks;
                async move {
                    Ok(if n == 3 {
                        Look::Done(n)
                    } else {
                        Look::Pending("starting".into())
                    })
                }
            })
            .await
            .unwrap();
        assert_eq!(done, 3);
        let err = wait
            .poll(|| async { Ok::<Look<()>, _>(Look::Pending("stuck".into())) })
            .await
            .unwrap_err();
        assert!(
            matches!(&err, OvirtError::WaitTimeout { last, seconds: 2, .. } if last == "stuck"),
            "{err}"
        );
    }
}
