//! Warm migration: the precopy loop and the cutover, run as the phases of render's warm
//! itinerary (upstream `migrator/base` warm flow).
//!
//! ```text
//!  CreateInitialSnapshot ─► StoreInitialSnapshotDeltas ─► CreateDataVolumes
//!        ┌──────────────────────────────────────────────────────┐
//!        ▼                                                      │
//!   CopyDisks (areas changed since the last completed precopy,  │ AddCheckpoint
//!        │     read at this precopy's snapshot, written in place)│
//!        ▼                                                      │
//!   CopyingPaused ── wait the precopy interval ─► RemovePreviousSnapshot ─► CreateSnapshot
//!        │                                                  ─► StoreSnapshotDeltas ─┘
//!        └─ cutover time reached (Migration spec.cutover / vmCutover, watched while the
//!           run goes; or our max-downtime annotation) ─► StorePowerState ─► PowerOffSource
//!           ─► WaitForPowerOff ─► RemovePenultimateSnapshot ─► CreateFinalSnapshot
//!           ─► AddFinalCheckpoint ─► Finalize (final delta) ─► RemoveFinalSnapshot ─► ...
//! ```
//!
//! The VM holds at most one snapshot of ours at any time, as upstream since
//! kubev2v/forklift#1184: the previous one is removed before the next is taken. Each
//! precopy is recorded in `status.migration.vms[].warm` (snapshot, change id and bytes
//! copied per disk, start and end), which is also what a re-run resumes from: a run killed
//! mid-precopy starts again from the change ids of the last completed precopy, so only
//! what changed since is copied again.

mod cutover;
mod forecast;
mod phases;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use forklift_core::inventory::SourceInventory;
use forklift_core::itinerary::Phase;
use forklift_core::render::{ExecutorCapability, ExecutorProfile};
use forklift_core::resources::{VmStatus, WarmStatus};
use forklift_providers::Provider;
use forklift_providers::capability::{Capability, SnapshotRef};
use tokio::sync::watch;
use tokio::time::Instant;

pub use cutover::{CUTOVER_POLL_INTERVAL, MAX_DOWNTIME_ANNOTATION};
pub(crate) use cutover::{CutoverTimes, watch_migration_file};
pub use forecast::{FORECAST_GUEST_SHUTDOWN, FORECAST_VM_CREATION, FORECAST_WINDOW};
pub(crate) use phases::{
    WarmStep, after_phase, clean_up, handles, prepare_images, release_changes, run_phase,
};

/// How many times a failed precopy is tried again before its VM fails (upstream's
/// `IMPORTER_RETRY`, default 3).
pub const PRECOPY_RETRIES: u32 = 3;
/// The first wait before a failed precopy is tried again; doubled for each retry.
pub const PRECOPY_RETRY_DELAY: Duration = Duration::from_secs(5);
/// How long removing one snapshot may take when a failed or cancelled VM is cleaned up;
/// a snapshot not removed in time is reported as left behind.
pub const SNAPSHOT_CLEANUP_LIMIT: Duration = Duration::from_secs(120);
/// Largest request of an incremental precopy: vSphere tracks changes in 64 KiB areas, and
/// a larger block would read unchanged data around each changed area again.
pub const DELTA_REQUEST_SIZE: u32 = 64 * 1024;
/// Name of the snapshots warm migration takes (upstream's).
pub const SNAPSHOT_NAME: &str = "forklift-migration-precopy";
/// Description of the snapshots warm migration takes (upstream's).
pub const SNAPSHOT_DESCRIPTION: &str = "Forklift Operator warm migration precopy";

/// What this engine can do with `provider`: `profile` plus warm migration when the provider
/// offers snapshots, change tracking and disk access (all three are needed for a
/// precopy); without them a warm plan keeps its Critical `WarmMigrationNotAvailable`.
pub fn profile_for(mut profile: ExecutorProfile, provider: &Provider) -> ExecutorProfile {
    let warm = [
        Capability::Snapshots,
        Capability::ChangeTracking,
        Capability::DiskAccess,
    ]
    .into_iter()
    .all(|c| provider.can(c));
    if warm && !profile.has(ExecutorCapability::WarmMigration) {
        profile.capabilities.push(ExecutorCapability::WarmMigration);
    }
    profile
}

/// `inventory` without the snapshots an earlier, interrupted run of this plan took and
/// recorded in `previous` (its status): they are ours and the resumed run removes them, so
/// they must not make validation refuse the VM (`VMHasSnapshots`) as a stranger's would.
pub(crate) fn discount_own_snapshots(
    mut inventory: SourceInventory,
    previous: &BTreeMap<String, VmStatus>,
) -> SourceInventory {
    for vm in &mut inventory.vms {
        let Some(warm) = previous.get(&vm.id).and_then(|s| s.warm.as_ref()) else {
            continue;
        };
        let ours: Vec<&str> = warm
            .precopies
            .iter()
            .filter(|p| p.removed.is_none() && !p.snapshot.is_empty())
            .map(|p| p.snapshot.as_str())
            .collect();
        if ours.is_empty() {
            continue;
        }
        let count = u32::try_from(ours.len()).unwrap_or(u32::MAX);
        vm.snapshot_count = vm.snapshot_count.saturating_sub(count);
        if let Some(forklift_core::inventory::VmExt::Vsphere(ext)) = &mut vm.ext {
            if ours.contains(&ext.current_snapshot.as_str()) && vm.snapshot_count == 0 {
                ext.current_snapshot.clear();
            }
        }
    }
    inventory
}

/// What every warm VM of one run shares.
pub(crate) struct WarmRun {
    /// Wait between the end of a precopy and the next snapshot.
    pub interval: Duration,
    /// Device keys of the disks, by VM id and backing file (change tracking asks by key).
    keys: BTreeMap<(String, String), i32>,
    /// The warm status earlier runs recorded, by VM id: where a re-run resumes.
    previous: BTreeMap<String, WarmStatus>,
    /// The Migration's cutover times, updated while the run goes.
    pub cutover: watch::Receiver<CutoverTimes>,
}

impl WarmRun {
    /// The shared state of a run over `inventory`, resuming from `previous`.
    pub fn new(
        interval: Duration,
        inventory: &SourceInventory,
        previous: &BTreeMap<String, VmStatus>,
        cutover: watch::Receiver<CutoverTimes>,
    ) -> Arc<Self> {
        let keys = inventory
            .vms
            .iter()
            .flat_map(|vm| {
                vm.disks
                    .iter()
                    .map(|d| ((vm.id.clone(), d.file.clone()), d.key))
            })
            .collect();
        let previous = previous
            .iter()
            .filter_map(|(id, status)| Some((id.clone(), status.warm.clone()?)))
            .collect();
        Arc::new(Self {
            interval,
            keys,
            previous,
            cutover,
        })
    }

    fn key(&self, vm: &str, file: &str) -> i32 {
        self.keys
            .get(&(vm.to_owned(), file.to_owned()))
            .copied()
            .unwrap_or(0)
    }
}

/// One warm VM's state, kept between its phases.
#[derive(Debug, Default)]
pub(crate) struct WarmVm {
    /// `status.migration.vms[].warm`, as recorded.
    pub status: WarmStatus,
    /// Whether the state was set up (from an earlier run's status or fresh).
    started: bool,
    /// The snapshot of the last precopy until it is removed: the only one the VM holds.
    current: Option<SnapshotRef>,
    /// Change ids of the snapshot of the last completed precopy, by disk backing file: the
    /// next precopy copies what changed since. A disk without one copies every allocated
    /// area.
    base: BTreeMap<String, String>,
    /// The phase to run next instead of the following one (the loop back, the cutover).
    pub jump: Option<Phase>,
    /// When the next precopy may start.
    next_at: Option<Instant>,
    /// When the cutover was decided (the downtime starts with the power-off after it).
    cutover_at: Option<Instant>,
    /// When the last snapshot was taken, and the time between it and the one before: the
    /// window in which the guest dirtied what the precopy copies.
    snapshot_at: Option<Instant>,
    dirty_since: Option<Duration>,
    /// Whether the first precopy went through the scheduler's admissions.
    admitted: bool,
    /// Snapshots an interrupted earlier run left, removed before the next is taken.
    stale: Vec<SnapshotRef>,
    /// Dirty bytes and seconds between snapshots, and copy throughput, for the forecast.
    measured: forecast::Measured,
    /// Time spent reading change ids and changed areas for the current precopy.
    query_took: Duration,
    /// When the source was reported off at the cutover: the final sync starts.
    off_at: Option<Instant>,
}

impl WarmVm {
    /// Takes the phase to continue with, when the last phase asked to jump.
    pub fn take_jump(&mut self) -> Option<Phase> {
        self.jump.take()
    }
}
