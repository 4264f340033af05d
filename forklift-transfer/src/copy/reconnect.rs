//! Going on after a lost connection: reopen both sides, then forget the blocks that may not
//! have reached stable storage so the next pass copies them again.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Shared, flush_durable, lock};
use crate::error::{Error, ErrorKind, Result};

/// Attempts to reopen the connections, with backoff between them (0.1 s doubling: about
/// 3 seconds in all, enough for a server restart or a short network loss).
const ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// Reopens the lost connections of the source and the sink. Fails when neither side can
/// reconnect or the server stays unreachable.
pub(super) async fn reopen(shared: &Shared, cancel: &CancellationToken) -> Result<()> {
    let unsupported = |e: &Error| e.kind() == ErrorKind::Unsupported;
    let mut backoff = FIRST_BACKOFF;
    let mut last = None;
    for _ in 0..ATTEMPTS {
        tokio::select! {
            () = cancel.cancelled() => return Err(Error::cancelled()),
            () = tokio::time::sleep(backoff) => {}
        }
        let errors: Vec<Error> = [
            shared.source.reconnect().await,
            shared.sink.reconnect().await,
        ]
        .into_iter()
        .filter_map(Result::err)
        .collect();
        if errors.len() == 2 && errors.iter().all(unsupported) {
            let mut errors = errors;
            return Err(errors.swap_remove(1));
        }
        // A side that cannot reconnect has no connection to lose; other errors are retried.
        match errors.into_iter().find(|e| !unsupported(e)) {
            None => return Ok(()),
            Some(error) => last = Some(error),
        }
        backoff *= 2;
    }
    Err(last.unwrap_or_else(|| Error::disconnected("Reconnecting failed")))
}

/// Makes the completed set what is known durable, before any connection is reopened: a flush
/// that still succeeds over the sink's surviving connections makes every completed block
/// durable; otherwise (the sink's connection is gone) blocks completed since the last
/// successful flush are copied again.
pub(super) async fn rewind(shared: &Shared) {
    // A failed flush leaves `durable` at the last one that worked.
    let _ = flush_durable(shared).await;
    let mut tracking = lock(&shared.tracking);
    tracking.completed = tracking.durable.clone();
    drop(tracking);
    // The next pass counts resumed and skipped blocks again.
    let counters = &shared.counters;
    for counter in [&counters.done, &counters.skipped, &counters.resumed] {
        counter.store(0, Ordering::Relaxed);
    }
}
