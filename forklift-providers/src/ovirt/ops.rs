//! Power operations: `start`, `stop` and `shutdown` actions on `/vms/ID`, with the VM's
//! `status` polled (bounded, [`VM_POWER_LIMIT`]) until it is `up` or `down`.

use super::poll::{Look, Wait};

use serde_json::json;

use super::client::Engine;
use super::error::Result;
use super::limits::VM_POWER_LIMIT;
use super::model::Vm;
use crate::capability::{PowerState, VmRef};

/// Reads a VM's `status`.
pub async fn status(engine: &Engine, vm: &VmRef) -> Result<String> {
    let found: Vm = engine
        .get(&format!("/vms/{}", path_id(vm.id())), "read the VM")
        .await?;
    Ok(found.status)
}

/// An ID as a path segment: engine IDs are UUIDs; anything that is not stays out of the
/// path (a `/` or `?` would address another resource).
pub(crate) fn path_id(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

/// The neutral power state of an engine status.
pub fn power_state(status: &str) -> PowerState {
    match status {
        "down" => PowerState::Off,
        "paused" | "suspended" => PowerState::Suspended,
        "" | "unknown" | "not_responding" | "image_locked" => PowerState::Unknown,
        _ => PowerState::On,
    }
}

/// Runs a VM action (`start`, `stop`, `shutdown`).
pub async fn action(engine: &Engine, vm: &VmRef, name: &str) -> Result<()> {
    let _: serde_json::Value = engine
        .post(
            &format!("/vms/{}/{name}", path_id(vm.id())),
            &json!({}),
            &format!("{name} VM {vm}"),
        )
        .await?;
    Ok(())
}

/// Polls until the VM's status is `wanted`.
pub async fn wait_status(engine: &Engine, vm: &VmRef, wanted: &'static str) -> Result<()> {
    let what = || format!("VM {vm}");
    let wait = Wait {
        what: &what,
        wanted,
        limit: VM_POWER_LIMIT,
    };
    wait.poll(|| async {
        let now = status(engine, vm).await?;
        Ok(if now == wanted {
            Look::Done(())
        } else {
            Look::Pending(now)
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_statuses_map_to_power_states_and_ids_stay_one_segment() {
        assert_eq!(power_state("down"), PowerState::Off);
        assert_eq!(power_state("up"), PowerState::On);
        assert_eq!(power_state("powering_down"), PowerState::On);
        assert_eq!(power_state("suspended"), PowerState::Suspended);
        assert_eq!(power_state("image_locked"), PowerState::Unknown);
        assert_eq!(path_id("../vms?x=1"), "..%2Fvms%3Fx%3D1");
    }
}
