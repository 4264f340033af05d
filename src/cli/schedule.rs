//! `forklift schedule`: the admission order of a plan's VMs and disks under
//! `controller_max_vm_inflight`, simulated at a given throughput.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use forklift_core::scheduling::{
    Granularity, SchedVm, Unit, plan_policy, plan_vms, simulate_throughput,
};

use super::exit::Outcome;
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
    println!("Policy: {policy}");
    let per_disk = policy.unit == Unit::Disk && policy.granularity == Granularity::PerDisk;
    println!(
        "{:<5} {:<24} {:<16} {:<40} {:>8} {:>8}",
        "ORDER",
        "VM",
        "HOST",
        if per_disk { "DISK" } else { "DISKS" },
        "START",
        "END"
    );
    let row = |order: usize, vm: &str, unit: &dyn Fn(&SchedVm) -> String, start, end| {
        let found = vms.iter().find(|v| v.id == vm);
        println!(
            "{:<5} {:<24} {:<16} {:<40} {:>8} {:>8}",
            order + 1,
            vm,
            found.and_then(|v| v.host.as_deref()).unwrap_or("-"),
            found.map(unit).unwrap_or_default(),
            clock(start),
            clock(end)
        );
    };
    if per_disk {
        for run in &sim.disks {
            let disk_id = |v: &SchedVm| v.disks[run.disk].id.clone();
            row(run.order, &run.vm, &disk_id, run.start, run.end);
        }
    } else {
        for run in &sim.vms {
            row(
                run.order,
                &run.vm,
                &|v| v.disks.len().to_string(),
                run.start,
                run.end,
            );
        }
    }
    println!("Total: {}", clock(sim.makespan));
    Outcome::Ok.into()
}
