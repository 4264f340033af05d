//! The oVirt provider against the test engine (tests/support/fake_ovirt_engine, faithful to
//! the oVirt API model) and the REAL ovirt-imageio daemon serving real qemu-nbd exports of
//! the VMs' disks: inventory, power, image transfers, `forklift migrate` end to end, and the
//! engine faults. Needs scripts/setup-ovirt.sh.

#[path = "../support/fake_ovirt_engine/mod.rs"]
mod fake_ovirt_engine;
#[path = "../support/imageio/mod.rs"]
mod imageio;
#[path = "../support/local_plan.rs"]
mod local_plan;

mod backups;
mod faults;
mod migrate;
mod real_engine;
mod support;
mod warm;
