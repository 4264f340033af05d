//! The `CopyDisks` phase: each disk the scheduler admits is copied on a task of its own,
//! from the provider's disk access into the destination's disk, and optionally verified.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use forklift_core::render::TargetVm;
use forklift_providers::capability::{DiskRef, SnapshotRef, VmRef};
use forklift_transfer::block::BlockSource;
use forklift_transfer::copy;
use forklift_transfer::copy::verify::{VerifyOptions, verify};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::MigrateError;
use super::destination::DestinationDisk;
use super::events::MigrationEvent;
use super::vm::{DiskReport, RunContext, SchedulerReport, VmReport};

/// The copy options of one run: every disk copy of the plan draws its buffers from one
/// budget (the caller's, or [`PLAN_BUFFER_BUDGET`](copy::budget::PLAN_BUFFER_BUDGET)), so the
/// run's memory stays bounded however many disks copy at once.
pub(crate) fn plan_copy_options(options: &copy::CopyOptions) -> copy::CopyOptions {
    let mut plan = options.clone();
    plan.buffers.get_or_insert_with(|| {
        Arc::new(copy::budget::BufferBudget::new(
            copy::budget::PLAN_BUFFER_BUDGET,
        ))
    });
    plan
}

/// What the phase works on.
pub(crate) struct CopyJob<'a> {
    pub ctx: &'a Arc<RunContext>,
    pub target: &'a TargetVm,
    pub disks: &'a BTreeMap<usize, DestinationDisk>,
    pub report: &'a mut VmReport,
    pub cancel: &'a CancellationToken,
    /// A warm precopy: what to copy of each disk, at which snapshot. `None`: every disk
    /// as it is now (cold).
    pub warm: Option<&'a WarmCopy>,
}

/// One warm precopy's copy: the snapshot to read and the areas of each disk to copy,
/// written in place into the destination's disks.
#[derive(Debug, Clone)]
pub(crate) struct WarmCopy {
    /// The snapshot the disks are read at.
    pub snapshot: SnapshotRef,
    /// Byte ranges to copy, by disk index.
    pub ranges: BTreeMap<usize, Vec<Range<u64>>>,
    /// Provider device keys, by disk index.
    pub keys: BTreeMap<usize, i32>,
    /// Disks copied in full (every allocated area): their image starts empty and the copy
    /// keeps a checkpoint, which marks the image as one precopies wrote.
    pub full: BTreeSet<usize>,
    /// Bytes the provider reported changed, over every disk (what the guest dirtied).
    pub changed: u64,
}

/// Copies every disk of the VM as the scheduler admits it; the first failure stops the
/// VM's other disks (not other VMs) and fails the phase.
pub(crate) async fn copy_disks(
    job: CopyJob<'_>,
    admitted: &mut mpsc::Receiver<usize>,
    reports: &mpsc::Sender<SchedulerReport>,
) -> Result<(), MigrateError> {
    let CopyJob {
        ctx,
        target,
        disks,
        report,
        cancel,
        warm,
    } = job;
    let disk_access = ctx.provider.disks()?;
    let vm_ref = VmRef::new(target.source_id.clone());
    let mut remaining: Vec<usize> = target.disks.iter().map(|d| d.index).collect();
    let mut running = JoinSet::new();
    let mut first_error = None;
    // Disks whose copy task runs, to free their scheduler slots however the tasks end.
    let mut copying: Vec<usize> = Vec::new();
    // A failed disk stops its siblings through this child token: cancelling the VM's own
    // token would report the VM as cancelled instead of failed.
    let siblings = cancel.child_token();
    let done = |index: usize| SchedulerReport::DiskDone {
        vm: target.source_id.clone(),
        disk: index,
    };
    while !remaining.is_empty() || !running.is_empty() {
        tokio::select! {
            // Cancelled: the copies see the token themselves; stop admitting and wait (bounded)
            // for them, so no copy outlives the phase holding the files and the event sender.
            () = cancel.cancelled(), if first_error.is_none() => {
                first_error = Some(MigrateError::Cancelled);
            }
            Some(index) = admitted.recv(), if !remaining.is_empty() && first_error.is_none() => {
                remaining.retain(|i| *i != index);
                let (Some(disk), Some(sink)) = (
                    target.disks.iter().find(|d| d.index == index),
                    disks.get(&index),
                ) else {
                    let _ = reports.send(done(index)).await;
                    continue;
                };
                let key = warm.and_then(|w| w.keys.get(&index).copied()).unwrap_or(0);
                let disk_ref = DiskRef { key, file: disk.source.clone(), capacity: disk.capacity };
                let snapshot = warm.map(|w| &w.snapshot);
                let opened = disk_access.open_disk(&vm_ref, &disk_ref, snapshot).await;
                let source: Arc<dyn BlockSource> = match opened {
                    Ok(source) => Arc::from(source),
                    Err(e) => {
                        let _ = reports.send(done(index)).await;
                        siblings.cancel();
                        first_error.get_or_insert(MigrateError::from(e));
                        continue;
                    }
                };
                let one = DiskCopy {
                    ctx: ctx.clone(),
                    vm: target.source_id.clone(),
                    index,
                    claim: disk.claim_name.clone(),
                    task: disk.source.clone(),
                    sink: sink.clone(),
                    warm: warm.map(|w| WarmDisk {
                        ranges: w.ranges.get(&index).cloned().unwrap_or_default(),
                        full: w.full.contains(&index),
                    }),
                };
                copying.push(index);
                running.spawn(one.run(source, siblings.clone()));
            }
            Some(joined) = running.join_next() => {
                let (index, result) = joined.map_err(|source| MigrateError::Task { what: "disk copy", source })?;
                copying.retain(|i| *i != index);
                let _ = reports.send(done(index)).await;
                match result {
                    Ok((disk, task)) => {
                        ctx.status.disk_done(&report.id, &task, disk.summary.bytes_total).await;
                        report.disks.push(disk);
                    }
                    Err(e) => {
                        siblings.cancel();
                        first_error.get_or_insert(e);
                    }
                }
            }
            else => break,
        }
        if first_error.is_some() {
            siblings.cancel();
            stop_copies(&mut running).await;
            for index in copying.drain(..) {
                let _ = reports.send(done(index)).await;
            }
            break;
        }
    }
    report.disks.sort_by_key(|d| d.index);
    match first_error {
        Some(e) => Err(e),
        None if !remaining.is_empty() => Err(MigrateError::DisksNotAdmitted {
            vm: target.source_id.clone(),
            remaining: remaining.len(),
        }),
        None => Ok(()),
    }
}

/// How long the disk copies of a VM that stops (cancelled, or a sibling failed) may take to
/// end on their own; they watch the token, so this is only reached by a copy stuck in I/O.
pub(crate) const COPY_STOP_LIMIT: Duration = Duration::from_secs(10);
/// How long an aborted copy task may take to be dropped after that.
const COPY_ABORT_LIMIT: Duration = Duration::from_secs(2);

/// Waits, at most [`COPY_STOP_LIMIT`], for the copies in `running` (already told to stop) to
/// end; then aborts the rest and waits [`COPY_ABORT_LIMIT`] for them to be dropped.
async fn stop_copies<T: 'static>(running: &mut JoinSet<T>) {
    let drain = async { while running.join_next().await.is_some() {} };
    if tokio::time::timeout(COPY_STOP_LIMIT, drain).await.is_ok() {
        return;
    }
    tracing::warn!(
        copies = running.len(),
        "disk copies did not stop in time; aborting them"
    );
    running.abort_all();
    let drain = async { while running.join_next().await.is_some() {} };
    if tokio::time::timeout(COPY_ABORT_LIMIT, drain).await.is_err() {
        tracing::warn!(
            copies = running.len(),
            "aborted disk copies are still running"
        );
    }
}

/// One disk's copy, owned by its task.
struct DiskCopy {
    ctx: Arc<RunContext>,
    vm: String,
    index: usize,
    claim: String,
    task: String,
    sink: DestinationDisk,
    warm: Option<WarmDisk>,
}

/// A disk's part of a warm precopy.
struct WarmDisk {
    ranges: Vec<Range<u64>>,
    full: bool,
}

impl DiskCopy {
    async fn run(
        self,
        source: Arc<dyn BlockSource>,
        cancel: CancellationToken,
    ) -> (usize, Result<(DiskReport, String), MigrateError>) {
        let index = self.index;
        (index, self.copy(source, &cancel).await)
    }

    async fn copy(
        self,
        source: Arc<dyn BlockSource>,
        cancel: &CancellationToken,
    ) -> Result<(DiskReport, String), MigrateError> {
        let ctx = &self.ctx;
        let mut options = ctx.copy.clone();
        options.checkpoint = self.sink.checkpoint.clone();
        options.checksums = ctx.verify;
        options.target_is_zero = self.sink.zero_initialized;
        // A warm precopy writes only the areas it was handed, in place. Only a full one
        // keeps the checkpoint (the next precopy's ranges are another copy's) and may
        // count on an empty image; verification compares whole disks, so warm disks are
        // compared after the cutover by whoever wants to (`qemu-img compare`).
        let warm = self.warm.is_some();
        if let Some(w) = &self.warm {
            options.incremental = Some(copy::Incremental::Ranges(w.ranges.clone()));
            options.checksums = false;
            if !w.full {
                options.checkpoint = None;
                options.target_is_zero = false;
                options.request_size = options.request_size.min(super::warm::DELTA_REQUEST_SIZE);
            }
        }
        let (status, events) = (ctx.status.clone(), ctx.events.clone());
        let (vm, claim, task) = (self.vm.clone(), self.claim.clone(), self.task.clone());
        options.progress = Some(Arc::new(move |p: &copy::Progress| {
            status.disk_progress(&vm, &task, p.bytes_done);
            // Progress is advisory: when the listener lags, an update is dropped, never queued.
            let _ = events.try_send(MigrationEvent::DiskProgress {
                vm: vm.clone(),
                disk: claim.clone(),
                bytes_done: p.bytes_done,
                bytes_total: p.bytes_total,
                bytes_per_second: p.read_bytes_per_second,
            });
        }));
        let what = format!("{} to {}", source.describe(), self.sink.location);
        let copied = copy::copy(source.clone(), self.sink.sink.clone(), &options, cancel)
            .await
            .map_err(|e| transfer_error(&what, e))?;
        let verified = match (&self.sink.readback, ctx.verify && !warm) {
            (Some(readback), true) => {
                let check = verify(
                    source,
                    readback.clone(),
                    copied.block_map.as_ref(),
                    &VerifyOptions::default(),
                    cancel,
                )
                .await
                .map_err(|e| transfer_error(&what, e))?;
                if !check.is_identical() {
                    return Err(MigrateError::VerificationFailed {
                        location: self.sink.location.clone(),
                        blocks: check.blocks_mismatched,
                    });
                }
                true
            }
            _ => false,
        };
        // The checkpoint stays until the VM succeeds (`vm::finish`): a VM that fails or is
        // cancelled after this disk resumes it on the next run instead of copying it again.
        let summary = &copied.summary;
        if summary.bytes_resumed > 0 {
            tracing::info!(vm = %self.vm, disk = %self.claim, bytes_resumed = summary.bytes_resumed,
                bytes_total = summary.bytes_total,
                "resumed from the checkpoint of an earlier run: {} of {} bytes were already copied",
                summary.bytes_resumed, summary.bytes_total);
        }
        if let Some(why) = &summary.checkpoint_discarded {
            tracing::warn!(vm = %self.vm, disk = %self.claim, "{why}; copied from zero");
        }
        let report = DiskReport {
            index: self.index,
            claim: self.claim.clone(),
            path: self.sink.location.clone(),
            summary: copied.summary,
            verified,
        };
        ctx.emit(MigrationEvent::DiskCopied {
            vm: self.vm.clone(),
            disk: self.claim.clone(),
            path: report.path.clone(),
            summary: report.summary.clone(),
            verified,
        })
        .await;
        Ok((report, self.task))
    }
}

fn transfer_error(what: &str, source: forklift_transfer::Error) -> MigrateError {
    if source.is_cancelled() {
        MigrateError::Cancelled
    } else {
        MigrateError::Transfer {
            what: what.to_owned(),
            source: Box::new(source),
        }
    }
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    #[test]
    fn every_disk_copy_of_a_run_shares_one_buffer_budget() {
        let plan = plan_copy_options(&copy::CopyOptions::default());
        let budget = plan.buffers.clone().unwrap();
        assert_eq!(budget.limit(), copy::budget::PLAN_BUFFER_BUDGET);
        // Each disk's options are clones of the run's: the same budget.
        let disk = plan.clone();
        assert!(Arc::ptr_eq(&budget, disk.buffers.as_ref().unwrap()));
        // A budget the caller chose is kept.
        let own = Arc::new(copy::budget::BufferBudget::new(8 << 20));
        let chosen = plan_copy_options(&copy::CopyOptions {
            buffers: Some(own.clone()),
            ..copy::CopyOptions::default()
        });
        assert!(Arc::ptr_eq(&own, chosen.buffers.as_ref().unwrap()));
    }
}
