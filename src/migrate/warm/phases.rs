//! The warm phases of one VM: snapshots, change ids, the precopies and the pause between
//! them, the final delta, and the cleanup of snapshots when the VM fails or is cancelled.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use forklift_core::error::PeerText;
use forklift_core::inventory::PowerState;
use forklift_core::itinerary::{ItineraryKind, Phase};
use forklift_core::render::TargetVm;
use forklift_core::resources::{Precopy, SourcePowerOff};
use forklift_providers::capability::{ALL_ALLOCATED, DiskRef, SnapshotRef, SnapshotRequest, VmRef};
use forklift_transfer::changed::ChangedExtents;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::forecast::{At, FORECAST_GUEST_SHUTDOWN, millis};
use super::{
    PRECOPY_RETRIES, PRECOPY_RETRY_DELAY, SNAPSHOT_CLEANUP_LIMIT, SNAPSHOT_DESCRIPTION,
    SNAPSHOT_NAME, WarmVm,
};
use crate::migrate::MigrateError;
use crate::migrate::copy::{CopyJob, WarmCopy, copy_disks};
use crate::migrate::destination::DestinationDisk;
use crate::migrate::events::MigrationEvent;
use crate::migrate::time::{format_rfc3339, now_rfc3339, now_unix};
use crate::migrate::vm::{DiskReport, RunContext, SchedulerReport, VmReport};

/// Whether `phase` is one only the warm itinerary has (run here).
pub(crate) fn handles(phase: Phase) -> bool {
    matches!(
        phase,
        Phase::CreateInitialSnapshot
            | Phase::WaitForInitialSnapshot
            | Phase::StoreInitialSnapshotDeltas
            | Phase::CopyingPaused
            | Phase::RemovePreviousSnapshot
            | Phase::WaitForPreviousSnapshotRemoval
            | Phase::CreateSnapshot
            | Phase::WaitForSnapshot
            | Phase::StoreSnapshotDeltas
            | Phase::AddCheckpoint
            | Phase::RemovePenultimateSnapshot
            | Phase::WaitForPenultimateSnapshotRemoval
            | Phase::CreateFinalSnapshot
            | Phase::WaitForFinalSnapshot
            | Phase::AddFinalCheckpoint
            | Phase::Finalize
            | Phase::RemoveFinalSnapshot
            | Phase::WaitForFinalSnapshotRemoval
    )
}

/// One warm phase's view of the VM.
pub(crate) struct WarmStep<'a> {
    pub ctx: &'a Arc<RunContext>,
    pub target: &'a TargetVm,
    pub warm: &'a mut WarmVm,
    pub disks: &'a BTreeMap<usize, DestinationDisk>,
    pub report: &'a mut VmReport,
    pub cancel: &'a CancellationToken,
}

/// Runs warm `phase` (one [`handles`] accepts, or a warm VM's `CopyDisks`); sets
/// [`WarmVm::jump`] when the itinerary loops back or cuts over.
pub(crate) async fn run_phase(
    mut step: WarmStep<'_>,
    phase: Phase,
    admitted: &mut mpsc::Receiver<usize>,
    reports: &mpsc::Sender<SchedulerReport>,
) -> Result<Option<String>, MigrateError> {
    step.start();
    match phase {
        Phase::CreateInitialSnapshot | Phase::CreateSnapshot => {
            step.create_snapshot(false).await?;
        }
        Phase::CreateFinalSnapshot => step.create_snapshot(true).await?,
        Phase::StoreInitialSnapshotDeltas | Phase::StoreSnapshotDeltas => {
            step.store_deltas().await?;
        }
        Phase::AddCheckpoint => {
            step.store_deltas().await?;
            step.warm.jump = Some(Phase::CopyDisks);
        }
        Phase::AddFinalCheckpoint => step.store_deltas().await?,
        Phase::CopyDisks => {
            // The first precopy's disks go as the scheduler admits them; later precopies
            // run between pauses that hold no slot (as upstream's budget counts them).
            let first = !step.warm.admitted;
            step.warm.admitted = true;
            let gate = first.then_some((admitted, reports));
            step.precopy(gate).await?;
        }
        Phase::Finalize => step.precopy(None).await?,
        Phase::CopyingPaused => step.pause().await?,
        Phase::RemovePreviousSnapshot
        | Phase::RemovePenultimateSnapshot
        | Phase::RemoveFinalSnapshot => step.remove_current().await?,
        // Creating and removing return once the snapshot exists or is gone.
        Phase::WaitForInitialSnapshot
        | Phase::WaitForSnapshot
        | Phase::WaitForFinalSnapshot
        | Phase::WaitForPreviousSnapshotRemoval
        | Phase::WaitForPenultimateSnapshotRemoval
        | Phase::WaitForFinalSnapshotRemoval => {}
        phase => return Err(MigrateError::PhaseNotSupported { phase }),
    }
    Ok(None)
}

/// After a warm VM's disks were opened at the destination: a disk the next precopy copies
/// from its last change id keeps its image only if the image is still the one earlier
/// precopies wrote (its checkpoint, which a complete first precopy leaves, is there);
/// every other disk starts from an empty image and copies all allocated areas.
pub(crate) async fn prepare_images(
    ctx: &RunContext,
    target: &TargetVm,
    warm: &mut WarmVm,
    disks: &mut BTreeMap<usize, DestinationDisk>,
) -> Result<(), MigrateError> {
    if target.itinerary != ItineraryKind::Warm {
        return Ok(());
    }
    start_vm(ctx, target, warm);
    let namespace = ctx.bundle.plan.spec.target_namespace.clone();
    for disk in &target.disks {
        let Some(opened) = disks.get(&disk.index) else {
            continue;
        };
        let checkpoint = opened.checkpoint.as_ref().is_some_and(|p| p.is_file());
        if warm.base.contains_key(&disk.source) && checkpoint {
            continue;
        }
        if warm.base.remove(&disk.source).is_some() {
            tracing::warn!(vm = %PeerText(&target.source_name), disk = %disk.claim_name,
                "the image earlier precopies wrote is gone; copying the disk again");
        }
        if checkpoint {
            // A first precopy that did not finish: its checkpoint is for another snapshot.
            ctx.destination
                .discard_checkpoint(&namespace, &disk.claim_name)
                .await?;
            let reopened = ctx
                .destination
                .open_rewritable_disk(&namespace, &disk.claim_name, disk.capacity)
                .await?;
            disks.insert(disk.index, reopened);
        }
    }
    Ok(())
}

/// Sets the VM's warm state up once: resumed from the last completed precopy an earlier
/// run recorded, else fresh.
fn start_vm(ctx: &RunContext, target: &TargetVm, warm: &mut WarmVm) {
    if warm.started {
        return;
    }
    warm.started = true;
    let Some(previous) = ctx.warm.previous.get(&target.source_id) else {
        return;
    };
    let Some(done) = previous
        .precopies
        .iter()
        .rev()
        .find(|p| p.end.is_some() && !p.last)
    else {
        return;
    };
    warm.base = done
        .deltas
        .iter()
        .map(|d| (d.disk.clone(), d.delta_id.clone()))
        .collect();
    warm.status = previous.clone();
    warm.status.next_precopy_at = None;
    warm.status.snapshots_left.clear();
    // Precopies after the last completed one never finished: drop them, but keep their
    // snapshots to remove.
    let keep = warm
        .status
        .precopies
        .iter()
        .rposition(|p| p.end.is_some() && !p.last)
        .map_or(0, |i| i + 1);
    let stale: Vec<SnapshotRef> = warm
        .status
        .precopies
        .iter()
        .filter(|p| p.removed.is_none() && !p.snapshot.is_empty())
        .map(|p| SnapshotRef(p.snapshot.clone()))
        .collect();
    warm.status.precopies.truncate(keep);
    warm.stale = stale;
    tracing::info!(vm = %PeerText(&target.source_name), precopies = keep,
        "resuming the warm migration from the last completed precopy");
}

impl WarmStep<'_> {
    fn start(&mut self) {
        start_vm(self.ctx, self.target, self.warm);
    }

    fn vm_ref(&self) -> VmRef {
        VmRef::new(self.target.source_id.clone())
    }

    /// Writes the warm status.
    async fn publish(&self) {
        self.ctx
            .status
            .set_warm(&self.target.source_id, self.warm.status.clone())
            .await;
    }

    /// Removes what an earlier, killed run left: the snapshots its status does not record
    /// as removed. One already gone is fine; one that cannot be removed fails the VM (it
    /// would count against the VM's snapshot limit and its disk chain).
    async fn remove_stale(&mut self) -> Result<(), MigrateError> {
        let snapshots = self.ctx.provider.snapshots()?;
        let vm = self.vm_ref();
        for snapshot in std::mem::take(&mut self.warm.stale) {
            match snapshots.remove_snapshot(&vm, &snapshot, true).await {
                Ok(()) => {
                    tracing::info!(vm = %PeerText(&self.target.source_name), snapshot = %PeerText(snapshot.id()),
                    "removed the snapshot an interrupted run left")
                }
                Err(e) if is_gone(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Takes the snapshot of the next precopy (`last`: the final one, source off). Any
    /// snapshot still held is removed first, so the VM never holds two of ours.
    async fn create_snapshot(&mut self, last: bool) -> Result<(), MigrateError> {
        self.remove_stale().await?;
        if self.warm.current.is_some() {
            self.remove_current().await?;
        }
        let snapshots = self.ctx.provider.snapshots()?;
        let request = SnapshotRequest {
            name: SNAPSHOT_NAME.into(),
            description: SNAPSHOT_DESCRIPTION.into(),
            memory: false,
            // Quiescing needs the guest running (upstream quiesces precopies).
            quiesce: !last,
            // What the next copy asks changes since: an oVirt backup starts from it.
            since: self
                .target
                .disks
                .iter()
                .find_map(|d| self.warm.base.get(&d.source).cloned()),
        };
        let start = now_rfc3339();
        let asked = Instant::now();
        let created = snapshots.create_snapshot(&self.vm_ref(), &request).await;
        let snapshot = created.map_err(|e| {
            if is_snapshot_limit(&e) {
                MigrateError::SnapshotLimit {
                    vm: self.target.source_name.clone(),
                    source: Box::new(e),
                }
            } else {
                e.into()
            }
        })?;
        let now = Instant::now();
        self.warm.measured.snapshot_created(now - asked);
        self.warm.query_took = Duration::ZERO;
        self.warm.dirty_since = self.warm.snapshot_at.map(|t| now - t);
        self.warm.snapshot_at = Some(now);
        tracing::info!(vm = %PeerText(&self.target.source_name), snapshot = %PeerText(snapshot.id()), last, "snapshot taken");
        self.warm.current = Some(snapshot.clone());
        self.warm.status.next_precopy_at = None;
        self.warm.status.precopies.push(Precopy {
            start: Some(start),
            snapshot: snapshot.0,
            last,
            ..Precopy::default()
        });
        // Disk progress starts over for each precopy (upstream resets the tasks).
        let tasks = self
            .target
            .disks
            .iter()
            .map(|d| (d.source.clone(), d.capacity))
            .collect();
        self.ctx
            .status
            .set_disk_tasks(&self.target.source_id, tasks)
            .await;
        self.publish().await;
        Ok(())
    }

    /// Removes the snapshot of the last precopy and records when.
    async fn remove_current(&mut self) -> Result<(), MigrateError> {
        let Some(snapshot) = self.warm.current.clone() else {
            return Ok(());
        };
        let asked = Instant::now();
        self.ctx
            .provider
            .snapshots()?
            .remove_snapshot(&self.vm_ref(), &snapshot, true)
            .await?;
        self.warm.measured.snapshot_removed(asked.elapsed());
        self.warm.current = None;
        mark_removed(&mut self.warm.status.precopies, &snapshot);
        self.publish().await;
        Ok(())
    }

    /// Records the change id of every disk as of the current snapshot (once per precopy).
    async fn store_deltas(&mut self) -> Result<(), MigrateError> {
        let Some(snapshot) = self.warm.current.clone() else {
            return Ok(());
        };
        let Some(precopy) = self.warm.status.precopies.last() else {
            return Ok(());
        };
        if !precopy.deltas.is_empty() {
            return Ok(());
        }
        let asked = Instant::now();
        let ids = self
            .ctx
            .provider
            .change_tracking()?
            .change_ids(&self.vm_ref(), &snapshot)
            .await?;
        self.warm.query_took += asked.elapsed();
        let mut deltas = Vec::new();
        for disk in &self.target.disks {
            let Some(id) = ids.get(&disk.source).filter(|id| !id.is_empty()) else {
                let e = MigrateError::ChangeIdMissing {
                    vm: self.target.source_name.clone(),
                    disk: disk.source.clone(),
                    snapshot: snapshot.0.clone(),
                };
                // Not retried (the same snapshot gives the same answer), but counted as
                // this precopy's failure, so a reader of the warm status sees why no
                // precopy can follow, not only the VM's error.
                self.record_failure(&e).await;
                return Err(e);
            };
            deltas.push(forklift_core::resources::PrecopyDelta {
                disk: disk.source.clone(),
                delta_id: id.clone(),
                bytes_copied: 0,
            });
        }
        if let Some(precopy) = self.warm.status.precopies.last_mut() {
            precopy.deltas = deltas;
        }
        self.publish().await;
        Ok(())
    }

    /// The areas of each disk to copy at the current snapshot: those changed since the last
    /// completed precopy, every allocated one for a disk without one.
    async fn plan_copy(&mut self) -> Result<WarmCopy, MigrateError> {
        self.store_deltas().await?;
        let snapshot =
            self.warm
                .current
                .clone()
                .ok_or_else(|| MigrateError::PhaseNotSupported {
                    phase: Phase::CopyDisks,
                })?;
        let tracking = self.ctx.provider.change_tracking()?;
        let vm = self.vm_ref();
        let asked = Instant::now();
        let mut copy = WarmCopy {
            snapshot,
            ranges: BTreeMap::new(),
            keys: BTreeMap::new(),
            full: BTreeSet::new(),
            changed: 0,
        };
        for disk in &self.target.disks {
            let key = self.ctx.warm.key(&self.target.source_id, &disk.source);
            let base = self.warm.base.get(&disk.source);
            if base.is_none() {
                copy.full.insert(disk.index);
            }
            let disk_ref = DiskRef {
                key,
                file: disk.source.clone(),
                capacity: disk.capacity,
            };
            let areas = tracking
                .changed_areas(
                    &vm,
                    &copy.snapshot,
                    &disk_ref,
                    base.map_or(ALL_ALLOCATED, String::as_str),
                )
                .await?;
            // Sorted, merged and inside the disk, or refused.
            let extents = ChangedExtents::from_areas(
                areas.iter().map(|a| (a.offset, a.length)),
                disk.capacity,
            )
            .map_err(|e| MigrateError::Transfer {
                what: format!("changed areas of {} at {}", disk.source, copy.snapshot),
                source: Box::new(e),
            })?;
            copy.keys.insert(disk.index, key);
            copy.changed += extents.bytes();
            copy.ranges.insert(disk.index, extents.ranges().to_vec());
        }
        self.warm.query_took += asked.elapsed();
        Ok(copy)
    }

    /// Copies the current precopy (retrying a failed one per [`PRECOPY_RETRIES`]) and
    /// records it; `gate` holds the scheduler's admissions for the first precopy.
    async fn precopy(
        &mut self,
        mut gate: Option<(&mut mpsc::Receiver<usize>, &mpsc::Sender<SchedulerReport>)>,
    ) -> Result<(), MigrateError> {
        let plan = self.plan_copy().await?;
        let number = self.warm.status.precopies.len();
        let mut attempt = 0;
        loop {
            let started = Instant::now();
            // This precopy's disk reports, apart from the earlier ones (the copy sorts them).
            let earlier = std::mem::take(&mut self.report.disks);
            let result = match gate.take() {
                Some((admitted, reports)) => self.copy(&plan, admitted, reports).await,
                None => {
                    let n = self.target.disks.len();
                    let (tx, mut admitted) = mpsc::channel(n.max(1));
                    for disk in &self.target.disks {
                        let _ = tx.try_send(disk.index);
                    }
                    // Reports of these copies free no scheduler slot: nobody reads them.
                    let (reports, _unread) = mpsc::channel(2 * n + 2);
                    self.copy(&plan, &mut admitted, &reports).await
                }
            };
            let copied = std::mem::replace(&mut self.report.disks, earlier);
            self.report.disks.extend(copied.iter().cloned());
            match result {
                Ok(()) => {
                    self.finish_precopy(&plan, &copied, started.elapsed()).await;
                    return Ok(());
                }
                Err(MigrateError::Cancelled) => return Err(MigrateError::Cancelled),
                Err(e) => {
                    attempt += 1;
                    self.record_failure(&e).await;
                    if attempt > PRECOPY_RETRIES {
                        return Err(MigrateError::PrecopyFailed {
                            vm: self.target.source_name.clone(),
                            precopy: number,
                            attempts: attempt,
                            source: Box::new(e),
                        });
                    }
                    tracing::warn!(vm = %PeerText(&self.target.source_name), precopy = number, attempt,
                        error = %e.chain(), "precopy failed; trying again");
                    let delay = PRECOPY_RETRY_DELAY * 2u32.pow(attempt - 1);
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = self.cancel.cancelled() => return Err(MigrateError::Cancelled),
                    }
                }
            }
        }
    }

    /// Counts a failed precopy in the warm status (`failures`, `consecutiveFailures`) with
    /// why (`lastFailure`), and publishes it.
    async fn record_failure(&mut self, e: &MigrateError) {
        let status = &mut self.warm.status;
        status.failures += 1;
        status.consecutive_failures += 1;
        status.last_failure = Some(e.chain());
        self.publish().await;
    }

    async fn copy(
        &mut self,
        plan: &WarmCopy,
        admitted: &mut mpsc::Receiver<usize>,
        reports: &mpsc::Sender<SchedulerReport>,
    ) -> Result<(), MigrateError> {
        let job = CopyJob {
            ctx: self.ctx,
            target: self.target,
            disks: self.disks,
            report: self.report,
            cancel: self.cancel,
            warm: Some(plan),
        };
        copy_disks(job, admitted, reports).await
    }

    /// Records a precopy that copied: bytes per disk, end, counters, next precopy time and
    /// the forecast; the change ids of its snapshot become what the next copies from.
    async fn finish_precopy(&mut self, plan: &WarmCopy, copied: &[DiskReport], took: Duration) {
        let mut bytes: BTreeMap<String, u64> = self
            .target
            .disks
            .iter()
            .map(|d| (d.source.clone(), 0))
            .collect();
        for disk in copied {
            if let Some(target) = self.target.disks.iter().find(|d| d.index == disk.index) {
                *bytes.entry(target.source.clone()).or_default() += disk.summary.bytes_read;
            }
        }
        let total: u64 = bytes.values().sum();
        let interval = self.ctx.warm.interval;
        let warm = &mut *self.warm;
        let last = warm.status.precopies.last().is_some_and(|p| p.last);
        let number = warm.status.precopies.len();
        if let Some(precopy) = warm.status.precopies.last_mut() {
            precopy.end = Some(now_rfc3339());
            for delta in &mut precopy.deltas {
                delta.bytes_copied = bytes.get(&delta.disk).copied().unwrap_or(0);
            }
            warm.base = precopy
                .deltas
                .iter()
                .map(|d| (d.disk.clone(), d.delta_id.clone()))
                .collect();
        }
        warm.status.successes += 1;
        warm.status.consecutive_failures = 0;
        warm.status.last_failure = None;
        let incremental = plan.full.is_empty();
        let measured = warm
            .dirty_since
            .filter(|_| incremental && !last)
            .map(|since| (plan.changed, since, warm.query_took));
        warm.measured.precopy(total, took, measured);
        if !last {
            warm.next_at = Some(Instant::now() + interval);
            let next = u64::try_from(now_unix()).unwrap_or(0) + interval.as_secs();
            warm.status.next_precopy_at = Some(format_rfc3339(next));
        }
        if !last {
            // If the cutover came now: the guest, when running, writes until it is off.
            let power_off = self.assumed_power_off().await;
            let warm = &mut *self.warm;
            let since = warm.snapshot_at.map_or(Duration::ZERO, |t| t.elapsed());
            let at = At {
                dirty_window: since + power_off,
                power_off,
                source_off: false,
            };
            if let Some(forecast) = warm.measured.forecast(at) {
                warm.status.forecast = Some(forecast);
            }
        }
        tracing::info!(vm = %PeerText(&self.target.source_name), precopy = number, bytes = total,
            seconds = took.as_secs_f64(), "precopy done");
        let event = MigrationEvent::PrecopyDone {
            vm: self.target.source_id.clone(),
            precopy: number,
            last,
            bytes: bytes.into_iter().collect(),
            forecast: self.warm.status.forecast.clone(),
        };
        self.ctx.emit(event).await;
        self.publish().await;
    }

    /// The power-off a cutover now would take: none for a source that is off, else the
    /// assumed guest shutdown (a source whose state cannot be read counts as running).
    async fn assumed_power_off(&self) -> Duration {
        let state = match self.ctx.provider.power() {
            Ok(power) => power.power_state(&self.vm_ref()).await.ok(),
            Err(_) => None,
        };
        if state == Some(PowerState::Off) {
            Duration::ZERO
        } else {
            FORECAST_GUEST_SHUTDOWN
        }
    }

    /// `CopyingPaused`: waits for the next precopy, or cuts over (jumps to
    /// `StorePowerState`) once the cutover time has come or the forecast fits the
    /// Migration's max-downtime annotation.
    async fn pause(&mut self) -> Result<(), MigrateError> {
        let mut cutover = self.ctx.warm.cutover.clone();
        loop {
            let times = cutover.borrow_and_update().clone();
            let at = times.for_vm(&self.target.source_id)?;
            let now = now_unix();
            let forecast_fits = match (times.max_downtime()?, &self.warm.status.forecast) {
                (Some(max), Some(f)) => Duration::from_millis(f.downtime_millis) <= max,
                _ => false,
            };
            if at.is_some_and(|at| at <= now) || forecast_fits {
                tracing::info!(vm = %PeerText(&self.target.source_name), by_forecast = forecast_fits,
                    "cutting over");
                self.warm.cutover_at = Some(Instant::now());
                self.warm.status.next_precopy_at = None;
                self.publish().await;
                self.warm.jump = Some(Phase::StorePowerState);
                return Ok(());
            }
            let next = self.warm.next_at.unwrap_or_else(Instant::now);
            if Instant::now() >= next {
                return Ok(());
            }
            let wake = match at {
                Some(at) => {
                    let secs = u64::try_from(at - now).unwrap_or(0);
                    next.min(Instant::now() + Duration::from_secs(secs))
                }
                None => next,
            };
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                changed = cutover.changed() => {
                    if changed.is_err() {
                        // The run's cutover source is gone: only the interval is left.
                        tokio::time::sleep_until(next).await;
                        return Ok(());
                    }
                }
                () = self.cancel.cancelled() => return Err(MigrateError::Cancelled),
            }
        }
    }
}

fn mark_removed(precopies: &mut [Precopy], snapshot: &SnapshotRef) {
    let now = now_rfc3339();
    for p in precopies.iter_mut().filter(|p| p.snapshot == snapshot.0) {
        p.removed.get_or_insert_with(|| now.clone());
    }
}

/// Whether a snapshot to remove is already gone.
fn is_gone(e: &forklift_providers::Error) -> bool {
    match e {
        forklift_providers::Error::NotFound { .. } => true,
        forklift_providers::Error::Fault { fault, .. } => fault.contains("ManagedObjectNotFound"),
        _ => false,
    }
}

/// Whether the source refused a snapshot because the VM has too many.
fn is_snapshot_limit(e: &forklift_providers::Error) -> bool {
    match e {
        forklift_providers::Error::SnapshotLimit { .. } => true,
        forklift_providers::Error::Fault { fault, message, .. } => {
            fault.contains("TooManySnapshotLevels")
                || fault.contains("SnapshotLimit")
                || message.to_ascii_lowercase().contains("snapshot limit")
        }
        _ => false,
    }
}

/// Called after each phase of the VM that succeeded (or had nothing to do), with how the
/// source was powered off once it was: when the source is off the final sync starts and
/// the forecast is made again with the measured power-off; the final sync ends when the
/// final snapshot is removed, the downtime when the target VM exists.
pub(crate) async fn after_phase(
    ctx: &RunContext,
    target: &TargetVm,
    warm: &mut WarmVm,
    power_off: Option<&SourcePowerOff>,
    phase: Phase,
) {
    if target.itinerary != ItineraryKind::Warm {
        return;
    }
    let Some(cutover) = warm.cutover_at else {
        return;
    };
    let now = Instant::now();
    match phase {
        Phase::WaitForPowerOff => {
            warm.off_at = Some(now);
            let record = power_off.cloned().unwrap_or_default();
            let took = Duration::from_millis(record.millis);
            let at = At {
                dirty_window: warm.snapshot_at.map_or(Duration::ZERO, |t| now - t),
                power_off: took,
                source_off: true,
            };
            if let Some(mut forecast) = warm.measured.forecast(at) {
                forecast.actual_power_off_millis = Some(record.millis);
                warm.status.forecast = Some(forecast);
            }
            warm.status.power_off = Some(record);
        }
        Phase::RemoveFinalSnapshot => {
            let (Some(off), Some(forecast)) = (warm.off_at, warm.status.forecast.as_mut()) else {
                return;
            };
            forecast.actual_final_sync_millis = Some(millis(now - off));
        }
        Phase::CreateVM => {
            let Some(forecast) = warm.status.forecast.as_mut() else {
                return;
            };
            forecast.actual_downtime_millis = Some(millis(now - cutover));
        }
        _ => return,
    }
    ctx.status
        .set_warm(&target.source_id, warm.status.clone())
        .await;
}

/// After a warm VM succeeded (and [`clean_up`] removed its last snapshot): the source's
/// change tracking state kept for later precopies goes too (oVirt checkpoints), as
/// upstream removes its last warm snapshot. Not before: a re-run of a failed VM resumes
/// from the last precopy's checkpoint. The VM migrated whatever this finds, so a failure
/// is a warning naming what is left, not the VM's failure.
pub(crate) async fn release_changes(ctx: &RunContext, target: &TargetVm) {
    let Ok(tracking) = ctx.provider.change_tracking() else {
        return;
    };
    let vm = VmRef::new(target.source_id.clone());
    if let Err(e) = tracking.release_changes(&vm).await {
        tracing::warn!(vm = %PeerText(&target.source_name), error = %forklift_core::error::chain(&e),
            "the source keeps change tracking state of this migration");
    }
}

/// Removes the snapshots the VM still holds (on every outcome: a failed or cancelled
/// VM, or a provider without the removal phases), each within [`SNAPSHOT_CLEANUP_LIMIT`];
/// returns those that could not be removed, which are also recorded in the warm status.
pub(crate) async fn clean_up(
    ctx: &RunContext,
    target: &TargetVm,
    warm: &mut WarmVm,
) -> Vec<String> {
    let mut held: Vec<SnapshotRef> = std::mem::take(&mut warm.stale);
    held.extend(warm.current.take());
    if held.is_empty() {
        return Vec::new();
    }
    let vm = VmRef::new(target.source_id.clone());
    let mut left = Vec::new();
    for snapshot in held {
        let result = match ctx.provider.snapshots() {
            Ok(snapshots) => tokio::time::timeout(
                SNAPSHOT_CLEANUP_LIMIT,
                snapshots.remove_snapshot(&vm, &snapshot, true),
            )
            .await
            .map_err(|_| format!("not removed in {} s", SNAPSHOT_CLEANUP_LIMIT.as_secs()))
            .and_then(|r| match r {
                Err(e) if !is_gone(&e) => Err(forklift_core::error::chain(&e)),
                _ => Ok(()),
            }),
            Err(e) => Err(forklift_core::error::chain(&e)),
        };
        match result {
            Ok(()) => {
                tracing::info!(vm = %PeerText(&target.source_name), snapshot = %PeerText(snapshot.id()), "removed the snapshot");
                mark_removed(&mut warm.status.precopies, &snapshot);
            }
            Err(reason) => {
                tracing::warn!(vm = %PeerText(&target.source_name), snapshot = %PeerText(snapshot.id()), %reason,
                    "cannot remove the warm migration snapshot; remove it by hand");
                left.push(snapshot.0);
            }
        }
    }
    warm.status.snapshots_left.clone_from(&left);
    ctx.status
        .set_warm(&target.source_id, warm.status.clone())
        .await;
    left
}
