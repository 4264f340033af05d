//! The OpenStack provider against real OpenStack services (tests/testbeds/openstack):
//! Keystone authentication, inventory, power and the migration of a server's disks.
//!
//! The testbed starts once per run of this binary ([`support::testbed`]) and stops when the
//! binary exits (its watcher runs `testbed.sh down`). Needs scripts/setup-openstack.sh.

#[path = "../support/local_plan.rs"]
mod local_plan;

mod auth;
mod cloud;
mod inventory;
mod migrate;
mod support;
