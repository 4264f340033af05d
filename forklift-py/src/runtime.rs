//! The one tokio runtime of the process, rebuilt in a child after `fork`.
//!
//! A forked child inherits the parent's memory but none of its threads, so the parent's runtime
//! is unusable there (its workers do not exist) and must not be dropped either (dropping joins
//! them). The runtime is therefore tagged with the pid that built it; a child that sees another
//! pid builds its own and leaks the inherited one. The slot is a lock-free pointer: a mutex held
//! by a parent thread at `fork` time would stay locked forever in the child.

use std::sync::atomic::{AtomicPtr, Ordering};

use tokio::runtime::{Builder, Runtime};

/// Worker threads of the runtime: enough to overlap I/O, small because Python programs are
/// mostly single-threaded and the data path does its own concurrency inside tasks.
const WORKER_THREADS: usize = 2;

struct Slot {
    pid: u32,
    runtime: Runtime,
}

static SLOT: AtomicPtr<Slot> = AtomicPtr::new(std::ptr::null_mut());

/// Returns the runtime of this process, building it on first use and after a `fork`.
///
/// Fails only when the operating system refuses the worker threads or the event descriptor.
pub(crate) fn runtime() -> std::io::Result<&'static Runtime> {
    let pid = std::process::id();
    loop {
        let current = SLOT.load(Ordering::Acquire);
        // SAFETY: a non-null pointer in SLOT always comes from `Box::into_raw` below and is never
        // freed (slots are leaked on purpose), so it stays valid for the life of the process.
        if let Some(slot) = unsafe { current.as_ref() } {
            if slot.pid == pid {
                return Ok(&slot.runtime);
            }
        }
        let fresh = Box::into_raw(Box::new(Slot {
            pid,
            runtime: build()?,
        }));
        match SLOT.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire) {
            // SAFETY: `fresh` was just leaked from a Box and is now owned by SLOT forever.
            Ok(_) => return Ok(unsafe { &(*fresh).runtime }),
            // Another thread installed a runtime first: discard ours, which never ran a task,
            // and use theirs on the next turn.
            // SAFETY: `fresh` is still exclusively ours, since the exchange failed.
            Err(_) => drop(unsafe { Box::from_raw(fresh) }),
        }
    }
}

fn build() -> std::io::Result<Runtime> {
    Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .thread_name("forklift-worker")
        .enable_all()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_is_built_once_per_process() {
        let first: *const Runtime = runtime().unwrap();
        let second: *const Runtime = runtime().unwrap();
        assert_eq!(first, second);
        assert_eq!(runtime().unwrap().block_on(async { 21 * 2 }), 42);
    }
}
