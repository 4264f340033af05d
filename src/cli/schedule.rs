//! `forklift schedule`: the admission order of a plan's VMs and disks under
//! `controller_max_vm_inflight`, simulated at a given throughput.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use forklift_core::scheduling::{Granularity, Unit, plan_policy, plan_vms, simulate_throughput};

use super::exit::Outcome;
use super::output::Format;
use super::render::{PlanSource, load};

/// Arguments of `forklift schedule`.
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    #[command(flatten)]
    source: PlanSource,
    /// Override `controller_max_vm_inflight`.
    #[arg(long)]
    limit: Option<u32>,
    /// Assumed copy throughput per disk, MiB/s.
    #[arg(long, default_value_t = 100)]
    throughput: u64,
    #[command(flatten)]
    output: super::output::OutputArg,
}

/// The simulated admission order: what `schedule` prints.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Schedule {
    /// The policy, in words.
    policy: String,
    /// Its in-flight limit.
    limit: u32,
    /// Whether disks are admitted one by one (else VM by VM).
    per_disk: bool,
    /// Every admission, in order.
    entries: Vec<Entry>,
    /// When the last transfer ends, in seconds from the start.
    total_seconds: u64,
}

/// One admission: a VM, or one of its disks when disks are admitted one by one.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    /// Admission order, from 1.
    order: usize,
    /// Source VM id.
    vm: String,
    /// Its host, when known.
    host: Option<String>,
    /// The disk admitted (disk-by-disk admission only).
    #[serde(skip_serializing_if = "Option::is_none")]
    disk: Option<String>,
    /// Disks admitted with this entry.
    disks: usize,
    /// Their bytes.
    size_bytes: u64,
    /// Start, in seconds from the plan's start, at the assumed throughput.
    start_seconds: u64,
    /// End, in seconds from the plan's start.
    end_seconds: u64,
}

impl super::output::Printable for Schedule {
    fn rows(&self, wide: bool) -> Vec<Vec<String>> {
        let mut titles = vec![
            "ORDER",
            "VM",
            "HOST",
            if self.per_disk { "DISK" } else { "DISKS" },
            "START",
            "END",
        ];
        if wide {
            titles.push("SIZE");
        }
        let mut rows = vec![super::output::header(&titles)];
        for e in &self.entries {
            let mut row = vec![
                e.order.to_string(),
                e.vm.clone(),
                e.host.clone().unwrap_or_else(|| "-".to_owned()),
                e.disk.clone().unwrap_or_else(|| e.disks.to_string()),
                clock(Duration::from_secs(e.start_seconds)),
                clock(Duration::from_secs(e.end_seconds)),
            ];
            if wide {
                row.push(forklift_core::sizing::quantity(e.size_bytes));
            }
            rows.push(row);
        }
        rows
    }

    fn names(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|e| match &e.disk {
                Some(disk) => format!("disk/{}/{disk}", e.vm),
                None => format!("vm/{}", e.vm),
            })
            .collect()
    }
}

fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Runs `forklift schedule`.
pub fn run(args: ScheduleArgs, max_input_size: u64) -> ExitCode {
    let loaded = match load(&args.source, max_input_size) {
        Ok(l) => l,
        Err(message) => {
            eprintln!("error: {message}");
            return Outcome::BadInput.into();
        }
    };
    let Some(mut policy) = plan_policy(
        &loaded.bundle.plan,
        &loaded.source,
        &loaded.bundle.settings,
        loaded.local_destination(),
    ) else {
        eprintln!(
            "error: no scheduling policy for {} sources",
            loaded.source.provider
        );
        return Outcome::BadInput.into();
    };
    if let Some(limit) = args.limit {
        policy.limit = limit.max(1);
    }
    let (vms, missing) = plan_vms(&loaded.bundle.plan, &loaded.source);
    for id in &missing {
        eprintln!("warning: VM {id} is not in the inventory and is not scheduled");
    }
    let sim = match simulate_throughput(policy, &vms, args.throughput.saturating_mul(1 << 20)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::BadInput.into();
        }
    };
    let per_disk = policy.unit == Unit::Disk && policy.granularity == Granularity::PerDisk;
    let find = |id: &str| vms.iter().find(|v| v.id == id);
    let entry = |order: usize, vm: &str, disk: Option<usize>, start: Duration, end: Duration| {
        let found = find(vm);
        let disks: Vec<&forklift_core::scheduling::SchedDisk> = match (found, disk) {
            (Some(v), Some(i)) => v.disks.get(i).into_iter().collect(),
            (Some(v), None) => v.disks.iter().collect(),
            (None, _) => Vec::new(),
        };
        Entry {
            order: order + 1,
            vm: vm.to_owned(),
            host: found.and_then(|v| v.host.clone()),
            disk: disk.and_then(|_| disks.first().map(|d| d.id.clone())),
            disks: disks.len(),
            size_bytes: disks.iter().map(|d| d.size_bytes).sum(),
            start_seconds: start.as_secs(),
            end_seconds: end.as_secs(),
        }
    };
    let entries = if per_disk {
        sim.disks
            .iter()
            .map(|run| entry(run.order, &run.vm, Some(run.disk), run.start, run.end))
            .collect()
    } else {
        sim.vms
            .iter()
            .map(|run| entry(run.order, &run.vm, None, run.start, run.end))
            .collect()
    };
    let schedule = Schedule {
        policy: policy.to_string(),
        limit: policy.limit,
        per_disk,
        entries,
        total_seconds: sim.makespan.as_secs(),
    };
    let format = args.output.format();
    let table = matches!(format, Format::Table | Format::Wide);
    if table {
        eprintln!("Policy: {policy}");
    }
    if let Err(e) = super::output::print(&schedule, format) {
        eprintln!("error: {e}");
        return Outcome::Failed.into();
    }
    if table {
        eprintln!("Total: {}", clock(sim.makespan));
    }
    Outcome::Ok.into()
}
