//! A memory budget for copy buffers, shared by every copy that holds it.
//!
//! Each copy keeps up to `requests` blocks in flight, each in a buffer of the block size.
//! One copy alone is bounded that way (16 × 1 MiB by default), but a plan copies many disks
//! at once: 40 disks of 20 VMs would hold 640 MiB of buffers, and run 640 blocking reads and
//! writes at once on a machine with a few CPUs. A [`BufferBudget`] handed to every copy of a
//! plan ([`CopyOptions::buffers`](super::CopyOptions::buffers)) bounds the buffers of all of
//! them together: a block waits for its buffer until the budget has room, in the order the
//! blocks asked (a fair queue, so no disk starves), and a buffer given back is reused by the
//! next block of any copy instead of being freed and faulted in again.
//!
//! The budget bounds the bytes leased out at once (a semaphore of bytes) and the bytes kept
//! for reuse: what is leased plus what is kept never exceeds the limit by more than one
//! block. A block larger than the whole budget still gets its buffer, alone.
//!
//! A copy on its own is bounded by [`COPY_BUFFER_BUDGET`] too: whatever the request size,
//! [`requests_in_flight`] lowers the number of requests so that their buffers fit.

use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Copy buffers a plan holds at once, across all its disk copies: 16 MiB, one copy's
/// default window (16 × 1 MiB), so a one-disk plan copies as fast as `forklift copy`. On
/// the 2-CPU benchmark (`benches/plan-compare.sh`, 40 disks) 32 MiB was no faster and put
/// the whole `forklift migrate` process at 72 MiB; at 16 MiB it stays near 50 MiB.
pub const PLAN_BUFFER_BUDGET: u64 = 16 * 1024 * 1024;

/// Copy buffers one copy keeps in flight at most, whatever its request size: 32 MiB. The
/// default 16 × 1 MiB (and 16 × 2 MiB) is within it; larger requests run fewer at once
/// (4 MiB: 8, 8 MiB: 4, 32 MiB: 1). On the file benchmark (`benches/file-compare.sh`, case
/// d) 16 × 4 MiB and 16 × 8 MiB held 75 and 138 MiB and were no faster than 1 MiB.
pub const COPY_BUFFER_BUDGET: u64 = 32 * 1024 * 1024;

/// Requests a copy of `block`-byte blocks keeps in flight: `requests`, fewer where their
/// buffers would exceed [`COPY_BUFFER_BUDGET`], and at least one (a block larger than the
/// budget runs alone).
pub fn requests_in_flight(requests: usize, block: u64) -> usize {
    let fit = usize::try_from(COPY_BUFFER_BUDGET / block.max(1)).unwrap_or(usize::MAX);
    requests.clamp(1, fit.max(1))
}

/// Bytes of copy buffers that may be in use and kept for reuse at once; see the
/// [module documentation](self).
pub struct BufferBudget {
    limit: u64,
    /// Bytes not leased out; a lease holds as many permits as its length.
    room: Arc<Semaphore>,
    state: Mutex<State>,
}

impl std::fmt::Debug for BufferBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the kept buffers' bytes.
        f.debug_struct("BufferBudget")
            .field("limit", &self.limit)
            .field("held", &self.held())
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    /// Buffers given back, kept for reuse.
    free: Vec<Vec<u8>>,
    /// Capacity of every buffer alive: leased out and kept.
    held: u64,
}

impl BufferBudget {
    /// A budget of `limit` bytes (at least one byte).
    pub fn new(limit: u64) -> Self {
        let limit = limit.clamp(1, Semaphore::MAX_PERMITS as u64);
        Self {
            limit,
            room: Arc::new(Semaphore::new(limit as usize)),
            state: Mutex::default(),
        }
    }

    /// The limit in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Waits until `length` bytes fit in the budget, then returns a buffer of that length
    /// (its contents are whatever the last user left) and the lease to give it back with.
    pub async fn take(self: &Arc<Self>, length: usize) -> (Vec<u8>, BufferLease) {
        // A block larger than the budget takes all of it.
        let permits = (length as u64).min(self.limit).min(u64::from(u32::MAX)) as u32;
        let permit = self
            .room
            .clone()
            .acquire_many_owned(permits)
            .await
            .expect("the budget's semaphore is never closed");
        let buf = self.reuse_or_allocate(length);
        let lease = BufferLease {
            budget: self.clone(),
            charged: buf.capacity() as u64,
            _permit: permit,
        };
        (buf, lease)
    }

    /// A kept buffer of at least `length` bytes, or a new one; kept buffers are dropped first
    /// as far as needed to keep everything alive within the limit.
    fn reuse_or_allocate(&self, length: usize) -> Vec<u8> {
        let mut state = lock(&self.state);
        let kept = state.free.iter().position(|b| b.capacity() >= length);
        if let Some(index) = kept {
            let mut buf = state.free.swap_remove(index);
            // Kept buffers keep their length: resizing to the same block size is free.
            buf.resize(length, 0);
            return buf;
        }
        while state.held + length as u64 > self.limit {
            let Some(dropped) = state.free.pop() else {
                break;
            };
            state.held -= dropped.capacity() as u64;
        }
        state.held += length as u64;
        drop(state);
        vec![0; length]
    }

    /// Bytes of every buffer alive (leased out and kept).
    pub fn held(&self) -> u64 {
        lock(&self.state).held
    }
}

/// A buffer's share of a [`BufferBudget`]; give the buffer back with
/// [`give_back`](Self::give_back). Dropped without it (the buffer was lost with an error),
/// the share returns to the budget all the same.
#[derive(Debug)]
pub struct BufferLease {
    budget: Arc<BufferBudget>,
    /// Capacity of the buffer as leased.
    charged: u64,
    /// Released on drop, after the buffer is kept (or not).
    _permit: OwnedSemaphorePermit,
}

impl BufferLease {
    /// Gives `buf` back for the next block to reuse.
    pub fn give_back(mut self, buf: Vec<u8>) {
        let mut state = lock(&self.budget.state);
        let capacity = buf.capacity() as u64;
        state.held -= self.charged;
        self.charged = 0;
        if capacity > 0 && state.held + capacity <= self.budget.limit {
            state.held += capacity;
            state.free.push(buf);
        }
    }
}

impl Drop for BufferLease {
    fn drop(&mut self) {
        if self.charged > 0 {
            lock(&self.budget.state).held -= self.charged;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1024 * 1024;

    #[test]
    fn a_copy_keeps_its_buffers_within_its_budget_whatever_the_request_size() {
        let mib = MIB as u64;
        // The defaults are unchanged.
        assert_eq!(requests_in_flight(16, mib), 16);
        assert_eq!(requests_in_flight(16, 2 * mib), 16);
        // Larger requests: fewer of them.
        assert_eq!(requests_in_flight(16, 4 * mib), 8);
        assert_eq!(requests_in_flight(16, 8 * mib), 4);
        assert_eq!(requests_in_flight(16, 32 * mib), 1);
        // Never more than asked, never none, whatever the values.
        assert_eq!(requests_in_flight(3, 4 * mib), 3);
        assert_eq!(requests_in_flight(0, mib), 1);
        assert_eq!(requests_in_flight(usize::MAX, 4096), 8192);
        assert_eq!(requests_in_flight(16, u64::MAX), 1);
        assert_eq!(requests_in_flight(16, 0), 16);
        for shift in 12..=25 {
            let block = 1u64 << shift;
            let requests = requests_in_flight(1 << 20, block);
            assert!(requests as u64 * block <= COPY_BUFFER_BUDGET.max(block));
        }
    }

    #[tokio::test]
    async fn buffers_are_reused_and_never_exceed_the_limit() {
        let budget = Arc::new(BufferBudget::new(4 * MIB as u64));
        let mut leases = Vec::new();
        for _ in 0..4 {
            leases.push(budget.take(MIB).await);
        }
        assert_eq!(budget.held(), 4 * MIB as u64);
        // A fifth block waits until one is given back.
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.take(MIB).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        let (buf, lease) = leases.pop().unwrap();
        let given = buf.as_ptr();
        lease.give_back(buf);
        let (buf, _lease) = waiting.await.unwrap();
        // The same memory, not a new allocation.
        assert_eq!(buf.as_ptr(), given);
        assert_eq!(budget.held(), 4 * MIB as u64);
    }

    #[tokio::test]
    async fn a_lost_buffer_returns_its_share() {
        let budget = Arc::new(BufferBudget::new(2 * MIB as u64));
        let (buf, lease) = budget.take(2 * MIB).await;
        drop(buf);
        drop(lease);
        assert_eq!(budget.held(), 0);
        let (buf, lease) = budget.take(2 * MIB).await;
        assert_eq!(buf.len(), 2 * MIB);
        lease.give_back(buf);
        assert_eq!(budget.held(), 2 * MIB as u64);
    }

    #[tokio::test]
    async fn kept_buffers_make_room_for_other_sizes() {
        let budget = Arc::new(BufferBudget::new(4 * MIB as u64));
        for _ in 0..4 {
            let (buf, lease) = budget.take(MIB).await;
            lease.give_back(buf);
        }
        // Reused: one buffer served all four.
        assert_eq!(budget.held(), MIB as u64);
        let mut small = Vec::new();
        for _ in 0..4 {
            small.push(budget.take(MIB).await);
        }
        for (buf, lease) in small {
            lease.give_back(buf);
        }
        assert_eq!(budget.held(), 4 * MIB as u64);
        // A larger block drops kept buffers to stay within the limit.
        let (big, lease) = budget.take(3 * MIB).await;
        assert_eq!(big.len(), 3 * MIB);
        assert!(budget.held() <= 4 * MIB as u64);
        lease.give_back(big);
        assert!(budget.held() <= 4 * MIB as u64);
    }

    #[tokio::test]
    async fn a_block_larger_than_the_budget_gets_it_alone() {
        let budget = Arc::new(BufferBudget::new(MIB as u64));
        let (buf, lease) = budget.take(2 * MIB).await;
        assert_eq!(buf.len(), 2 * MIB);
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.take(4096).await.0.len() }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        // Not kept: it alone is beyond the limit.
        lease.give_back(buf);
        assert_eq!(waiting.await.unwrap(), 4096);
        assert_eq!(budget.held(), 0);
    }

    #[tokio::test]
    async fn blocks_are_served_in_the_order_they_asked() {
        let budget = Arc::new(BufferBudget::new(MIB as u64));
        let (buf, lease) = budget.take(MIB).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for i in 0..3 {
            let (budget, order) = (budget.clone(), order.clone());
            waiting.push(tokio::spawn(async move {
                let (buf, lease) = budget.take(MIB).await;
                lock(&order).push(i);
                lease.give_back(buf);
            }));
            // Each asks before the next is spawned.
            tokio::task::yield_now().await;
        }
        lease.give_back(buf);
        for task in waiting {
            task.await.unwrap();
        }
        assert_eq!(*lock(&order), vec![0, 1, 2]);
    }
}
