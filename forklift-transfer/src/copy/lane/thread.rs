//! Where a lane runs: on a thread of its own, like nbdcopy's workers, with its two sockets
//! registered in that thread's runtime, so a readiness event wakes the lane directly instead
//! of going through the main runtime's I/O thread. On two CPUs this cut the copier's CPU by
//! about a third and took case (a) of `benches/copy-compare.sh` from about 0.95× to 0.78×
//! nbdcopy's median wall time. A TLS connection cannot move between runtimes, so a lane with
//! one runs on the calling runtime.

use std::sync::Arc;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::driver::Lane;
use super::{Feed, LaneEnd};
use crate::copy::{Shared, Task};
use crate::error::{Error, Op, Result};
use crate::nbd::connection::Transport;
use crate::nbd::portable::Portable;

/// What a lane needs besides its connections.
pub(super) struct Setup {
    pub(super) shared: Arc<Shared>,
    pub(super) depth: usize,
    pub(super) can_zero: bool,
    pub(super) feed: Arc<Feed>,
    pub(super) cancel: CancellationToken,
}

/// Runs one lane over `source` and `sink` (slot index and transport each).
pub(super) async fn run(
    setup: Setup,
    (source_index, source): (usize, Transport),
    (sink_index, sink): (usize, Transport),
) -> LaneEnd {
    let (source, sink) = match (source.into_portable(), sink.into_portable()) {
        (Ok(source), Ok(sink)) => (source, sink),
        (source, sink) => {
            let (source, sink) = (here(source), here(sink));
            return setup
                .run_lane((source_index, source), (sink_index, sink))
                .await;
        }
    };
    // The lane stops (drains and hands back) if this future is dropped.
    let cancel = setup.cancel.child_token();
    let _stop_when_dropped = cancel.clone().drop_guard();
    let setup = Setup { cancel, ..setup };
    let (answer, answered) = oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("forklift-lane".into())
        .spawn(move || {
            let end = on_own_runtime(setup, (source_index, source), (sink_index, sink));
            let _ = answer.send(end);
        });
    if let Err(error) = spawned {
        let error = Error::io(Op::Connect, error).into_fatal();
        return failed((source_index, Err(error.clone())), (sink_index, Err(error)));
    }
    match answered.await {
        Ok(end) => end.register_here(),
        Err(_) => {
            let error = Error::disconnected("Copy lane thread ended without an answer");
            failed((source_index, Err(error.clone())), (sink_index, Err(error)))
        }
    }
}

/// A [`LaneEnd`] whose transports are out of any runtime.
struct PortableEnd {
    source: (usize, Result<Portable>),
    sink: (usize, Result<Portable>),
    outcome: Result<()>,
    deferred: Vec<Task>,
}

impl PortableEnd {
    fn register_here(self) -> LaneEnd {
        let register_ok =
            |(index, portable): (usize, Result<Portable>)| (index, portable.and_then(register));
        LaneEnd {
            source: register_ok(self.source),
            sink: register_ok(self.sink),
            outcome: self.outcome,
            deferred: self.deferred,
        }
    }
}

fn on_own_runtime(setup: Setup, source: (usize, Portable), sink: (usize, Portable)) -> PortableEnd {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let error = Error::io(Op::Connect, error).into_fatal();
            return PortableEnd {
                source: (source.0, Err(error.clone())),
                sink: (sink.0, Err(error.clone())),
                outcome: Err(error),
                deferred: Vec::new(),
            };
        }
    };
    runtime.block_on(async move {
        let (source, sink) = ((source.0, register(source.1)), (sink.0, register(sink.1)));
        let end = setup.run_lane(source, sink).await;
        let unregister = |(index, transport): (usize, Result<Transport>)| {
            let portable = transport.and_then(|transport| {
                transport.into_portable().map_err(|_| {
                    Error::disconnected("Connection cannot leave the lane's runtime").into_fatal()
                })
            });
            (index, portable)
        };
        PortableEnd {
            source: unregister(end.source),
            sink: unregister(end.sink),
            outcome: end.outcome,
            deferred: end.deferred,
        }
    })
}

/// A transport registered with the current runtime again.
fn here(transport: std::result::Result<Portable, Box<Transport>>) -> Result<Transport> {
    match transport {
        Ok(portable) => register(portable),
        Err(transport) => Ok(*transport),
    }
}

/// Registers `portable` with the current runtime.
fn register(portable: Portable) -> Result<Transport> {
    portable
        .into_transport()
        .map_err(|e| Error::io(Op::Connect, e).into_fatal())
}

impl Setup {
    /// Runs the lane over two registered transports; if either could not be registered,
    /// the lane never runs and both connections are lost.
    async fn run_lane(
        self,
        (source_index, source): (usize, Result<Transport>),
        (sink_index, sink): (usize, Result<Transport>),
    ) -> LaneEnd {
        match (source, sink) {
            (Ok(source), Ok(sink)) => {
                let lane = Lane::new(
                    self.shared,
                    (source_index, source),
                    (sink_index, sink),
                    self.depth,
                    self.can_zero,
                );
                lane.run(self.feed, self.cancel).await
            }
            (source, sink) => failed(
                (source_index, source.map(drop)),
                (sink_index, sink.map(drop)),
            ),
        }
    }
}

/// A lane that never ran: its connections are lost.
fn failed(source: (usize, Result<()>), sink: (usize, Result<()>)) -> LaneEnd {
    let error = [&source.1, &sink.1]
        .into_iter()
        .find_map(|r| r.as_ref().err().cloned())
        .unwrap_or_else(|| Error::disconnected("Copy lane did not start"));
    let lost = |result: Result<()>| Err(result.err().unwrap_or_else(|| error.clone()));
    LaneEnd {
        source: (source.0, lost(source.1)),
        sink: (sink.0, lost(sink.1)),
        outcome: Err(error.clone()),
        deferred: Vec::new(),
    }
}
