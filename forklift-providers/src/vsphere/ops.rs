//! Power, snapshot and change-tracking capabilities of [`VsphereProvider`].

use std::collections::BTreeMap;

use async_trait::async_trait;
use forklift_core::error::PeerText;
use tracing::info;

use super::VsphereProvider;
use super::datastore::{DatastoreFile, datastore_url, flat_extent_path, split_datastore_path};
use super::devices::{parse_devices, trim_backing_file_name};
use super::soap::MoRef;
use super::xml::escape;
use crate::capability::{
    ChangeTracking, ChangedArea, DiskAccess, DiskRef, PowerControl, PowerState, SnapshotRef,
    SnapshotRequest, Snapshots, VmRef,
};
use crate::error::{Error, Result};

fn vm_moref(vm: &VmRef) -> MoRef {
    MoRef::new("VirtualMachine", vm.id())
}

fn snapshot_moref(snapshot: &SnapshotRef) -> MoRef {
    MoRef::new("VirtualMachineSnapshot", snapshot.id())
}

/// Maps `runtime.powerState`.
pub(crate) fn power_state(text: &str) -> PowerState {
    match text.trim() {
        "poweredOn" => PowerState::On,
        "poweredOff" => PowerState::Off,
        "suspended" => PowerState::Suspended,
        _ => PowerState::Unknown,
    }
}

impl VsphereProvider {
    /// Inventory path of the datacenter holding `vm`, as datastore URLs want it in `dcPath`:
    /// its name, prefixed by any folders it sits in (`Folder1/DC0`).
    pub async fn datacenter_of(&self, vm: &VmRef) -> Result<String> {
        let not_found = || Error::NotFound {
            kind: "datacenter of VM",
            id: vm.id().to_owned(),
        };
        let mut current = vm_moref(vm);
        let mut path: Vec<String> = Vec::new();
        // Inventories are shallow; the bound only guards against a cyclic answer.
        for _ in 0..64 {
            let props = self
                .client
                .retrieve_one(&current, &["name", "parent"])
                .await?;
            let parent = props.prop("parent").and_then(MoRef::from_node);
            if current.kind == "Datacenter" || !path.is_empty() {
                if parent.is_none() {
                    // The root folder is not part of the path.
                    path.reverse();
                    return Ok(path.join("/"));
                }
                path.push(props.text("name").unwrap_or("").to_owned());
            }
            current = parent.ok_or_else(not_found)?;
        }
        Err(Error::protocol("parent", "inventory deeper than 64 levels"))
    }

    async fn vm_props(&self, vm: &VmRef, paths: &[&str]) -> Result<super::ObjectContent> {
        self.client
            .retrieve_one(&vm_moref(vm), paths)
            .await
            .map_err(|e| match e {
                Error::NotFound { .. } => Error::NotFound {
                    kind: "VM",
                    id: vm.id().to_owned(),
                },
                other => other,
            })
    }
}

#[async_trait]
impl PowerControl for VsphereProvider {
    async fn power_state(&self, vm: &VmRef) -> Result<PowerState> {
        let props = self.vm_props(vm, &["runtime.powerState"]).await?;
        Ok(power_state(props.text("runtime.powerState").unwrap_or("")))
    }

    async fn power_off(&self, vm: &VmRef) -> Result<()> {
        if self.power_state(vm).await? == PowerState::Off {
            return Ok(());
        }
        info!(vm = %PeerText(vm.id()), "powering off");
        self.client
            .run_task("PowerOffVM_Task", &vm_moref(vm), "")
            .await
            .map(|_| ())
    }

    async fn power_on(&self, vm: &VmRef) -> Result<()> {
        if self.power_state(vm).await? == PowerState::On {
            return Ok(());
        }
        info!(vm = %PeerText(vm.id()), "powering on");
        self.client
            .run_task("PowerOnVM_Task", &vm_moref(vm), "")
            .await
            .map(|_| ())
    }

    async fn shutdown_guest(&self, vm: &VmRef) -> Result<()> {
        info!(vm = %PeerText(vm.id()), "asking the guest to shut down");
        self.client
            .invoke("ShutdownGuest", &vm_moref(vm), "")
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl Snapshots for VsphereProvider {
    async fn create_snapshot(&self, vm: &VmRef, request: &SnapshotRequest) -> Result<SnapshotRef> {
        let params = format!(
            "<name>{}</name><description>{}</description><memory>{}</memory><quiesce>{}</quiesce>",
            escape(&request.name),
            escape(&request.description),
            request.memory,
            request.quiesce
        );
        info!(vm = %PeerText(vm.id()), name = %PeerText(&request.name), "creating snapshot");
        let result = match self
            .client
            .run_task_outcome("CreateSnapshot_Task", &vm_moref(vm), &params)
            .await?
        {
            Ok(result) => result,
            Err(failure) => return Err(snapshot_failure(vm, failure)),
        };
        result
            .as_ref()
            .and_then(MoRef::from_node)
            .map(|moref| SnapshotRef(moref.value))
            .ok_or_else(|| Error::protocol("CreateSnapshot_Task", "task returned no snapshot"))
    }

    async fn remove_snapshot(
        &self,
        vm: &VmRef,
        snapshot: &SnapshotRef,
        consolidate: bool,
    ) -> Result<()> {
        info!(vm = %PeerText(vm.id()), snapshot = %PeerText(snapshot.id()), "removing snapshot");
        let params = format!(
            "<removeChildren>false</removeChildren><consolidate>{consolidate}</consolidate>"
        );
        self.client
            .run_task("RemoveSnapshot_Task", &snapshot_moref(snapshot), &params)
            .await
            .map(|_| ())
    }
}

/// vSphere's fault for a snapshot chain at its depth limit.
const TOO_MANY_SNAPSHOT_LEVELS: &str = "TooManySnapshotLevels";

/// Maps a failed `CreateSnapshot_Task`: the chain limit is [`Error::SnapshotLimit`], the
/// rest a task error.
fn snapshot_failure(vm: &VmRef, failure: super::client::TaskFailure) -> Error {
    if failure.fault.as_deref() == Some(TOO_MANY_SNAPSHOT_LEVELS) {
        return Error::SnapshotLimit {
            vm: vm.id().to_owned(),
            fault: TOO_MANY_SNAPSHOT_LEVELS.to_owned(),
        };
    }
    Error::Task {
        task: failure.task,
        operation: "CreateSnapshot_Task".to_owned(),
        message: failure.message,
    }
}

#[async_trait]
impl ChangeTracking for VsphereProvider {
    async fn enable_change_tracking(&self, vm: &VmRef) -> Result<()> {
        let props = self.vm_props(vm, &["config.changeTrackingEnabled"]).await?;
        if props
            .prop("config.changeTrackingEnabled")
            .is_some_and(|n| n.text.trim() == "true")
        {
            return Ok(());
        }
        info!(vm = %PeerText(vm.id()), "enabling changed block tracking");
        let params = "<spec><changeTrackingEnabled>true</changeTrackingEnabled></spec>";
        self.client
            .run_task("ReconfigVM_Task", &vm_moref(vm), params)
            .await
            .map(|_| ())
    }

    async fn change_ids(
        &self,
        vm: &VmRef,
        snapshot: &SnapshotRef,
    ) -> Result<BTreeMap<String, String>> {
        let _ = vm;
        let props = self
            .client
            .retrieve_one(&snapshot_moref(snapshot), &["config.hardware.device"])
            .await?;
        let devices = props
            .prop("config.hardware.device")
            .map(parse_devices)
            .unwrap_or_default();
        Ok(devices
            .iter()
            .filter_map(|d| d.disk.as_ref())
            .filter(|b| !b.file.is_empty())
            .map(|b| (trim_backing_file_name(&b.file), b.change_id.clone()))
            .collect())
    }

    async fn changed_areas(
        &self,
        vm: &VmRef,
        snapshot: &SnapshotRef,
        disk: &DiskRef,
        change_id: &str,
    ) -> Result<Vec<ChangedArea>> {
        self.client
            .query_changed_disk_areas(
                &vm_moref(vm),
                Some(&snapshot_moref(snapshot)),
                disk.key,
                disk.capacity,
                change_id,
            )
            .await
    }
}

impl VsphereProvider {
    /// The backing file of disk `key` as recorded in a snapshot.
    async fn file_in_snapshot(&self, snapshot: &SnapshotRef, disk: &DiskRef) -> Result<String> {
        let props = self
            .client
            .retrieve_one(&snapshot_moref(snapshot), &["config.hardware.device"])
            .await?;
        props
            .prop("config.hardware.device")
            .map(parse_devices)
            .unwrap_or_default()
            .into_iter()
            .filter(|d| d.key == disk.key)
            .find_map(|d| d.disk.map(|b| b.file))
            .filter(|file| !file.is_empty())
            .ok_or_else(|| Error::NotFound {
                kind: "disk in snapshot",
                id: format!("{}/{}", snapshot.id(), disk.key),
            })
    }

    /// Opens a disk through VDDK: `moref=<vm>`, the endpoint's thumbprint and the provider's
    /// credentials; with a snapshot, the disk's file as that snapshot records it.
    async fn open_disk_vddk(
        &self,
        vddk: &super::VddkSettings,
        vm: &VmRef,
        disk: &DiskRef,
        snapshot: Option<&SnapshotRef>,
    ) -> Result<Box<dyn forklift_transfer::block::BlockSource>> {
        use forklift_transfer::vddk::{ConnectSpec, OpenOptions, VddkDisk, VddkLibrary};
        let file = match snapshot {
            Some(snapshot) => self.file_in_snapshot(snapshot, disk).await?,
            None => disk.file.clone(),
        };
        let libdir = vddk.libdir.clone();
        let config_file = vddk.config_file.clone();
        let library =
            tokio::task::spawn_blocking(move || VddkLibrary::load(&libdir, config_file.as_deref()))
                .await
                .map_err(|e| Error::protocol("VDDK", format!("loader task failed: {e}")))??;
        let url = &self.config.sdk_url;
        let spec = ConnectSpec {
            server: url
                .host_str()
                .unwrap_or_default()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: url.port().map(u32::from).unwrap_or(0),
            nfc_port: 0,
            thumbprint: self.thumbprint().await?,
            user: self.config.user.clone(),
            password: self.config.password.expose().to_owned(),
            vm_moref: vm.id().to_owned(),
            snapshot: snapshot.map(|s| s.id().to_owned()),
            transports: vddk.transports.clone(),
        };
        let opened = VddkDisk::open(library, spec, &file, OpenOptions::default()).await?;
        Ok(Box::new(opened))
    }
}

#[async_trait]
impl DiskAccess for VsphereProvider {
    /// With VDDK configured, opens the disk through VixDiskLib. Otherwise reads the disk's
    /// flat extent over the datastore HTTP interface: that serves flat (thick or thin)
    /// VMFS/NFS disks, and with a snapshot reads the base disk, which holds the data as of
    /// the VM's oldest snapshot.
    async fn open_disk(
        &self,
        vm: &VmRef,
        disk: &DiskRef,
        snapshot: Option<&SnapshotRef>,
    ) -> Result<Box<dyn forklift_transfer::block::BlockSource>> {
        if let Some(vddk) = &self.config.vddk {
            return self.open_disk_vddk(vddk, vm, disk, snapshot).await;
        }
        let base = match snapshot {
            Some(_) => trim_backing_file_name(&disk.file),
            None => disk.file.clone(),
        };
        let (datastore, path) = split_datastore_path(&base)?;
        let datacenter = self.datacenter_of(vm).await?;
        let url = datastore_url(
            self.client.transport().sdk_url(),
            &datacenter,
            datastore,
            &flat_extent_path(path),
        );
        let file = DatastoreFile::open(
            self.client.transport().http().clone(),
            url,
            self.client.transport().cookie(),
            Some(disk.capacity),
        )
        .await?;
        Ok(Box::new(file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vsphere::client::TaskFailure;

    fn failure(fault: Option<&str>) -> TaskFailure {
        TaskFailure {
            task: "task-9".into(),
            fault: fault.map(str::to_owned),
            message: "*types.TooManySnapshotLevels".into(),
        }
    }

    #[test]
    fn only_the_chain_limit_fault_is_a_snapshot_limit() {
        let vm = VmRef::new("vm-7");
        let err = snapshot_failure(&vm, failure(Some("TooManySnapshotLevels")));
        assert!(
            matches!(&err, Error::SnapshotLimit { vm, fault } if vm == "vm-7" && fault == "TooManySnapshotLevels"),
            "{err}"
        );
        assert!(err.to_string().contains("28 CBT snapshots"), "{err}");
        for other in [None, Some("SnapshotFault"), Some("InvalidState")] {
            let err = snapshot_failure(&vm, failure(other));
            assert!(
                matches!(&err, Error::Task { task, operation, .. } if task == "task-9" && operation == "CreateSnapshot_Task"),
                "{other:?}: {err}"
            );
        }
    }
}
