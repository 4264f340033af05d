//! Volume and access modes: storage map, else StorageProfile, else the guide's table.

use serde::Serialize;

pub use crate::resources::{AccessMode, VolumeMode};

/// The guide's "Default volume and access modes" table (Storage support and default modes).
pub fn default_modes_for_provisioner(provisioner: &str) -> Option<(VolumeMode, AccessMode)> {
    use AccessMode::*;
    use VolumeMode::*;
    Some(match provisioner {
        "kubernetes.io/aws-ebs" => (Block, ReadWriteOnce),
        "kubernetes.io/azure-disk" => (Block, ReadWriteOnce),
        "kubernetes.io/azure-file" => (Filesystem, ReadWriteMany),
        "kubernetes.io/cinder" => (Block, ReadWriteOnce),
        "kubernetes.io/gce-pd" => (Block, ReadWriteOnce),
        "kubernetes.io/hostpath-provisioner" => (Filesystem, ReadWriteOnce),
        "manila.csi.openstack.org" => (Filesystem, ReadWriteMany),
        "openshift-storage.cephfs.csi.ceph.com" => (Filesystem, ReadWriteMany),
        "openshift-storage.rbd.csi.ceph.com" => (Block, ReadWriteOnce),
        "kubernetes.io/rbd" => (Block, ReadWriteOnce),
        "kubernetes.io/vsphere-volume" => (Block, ReadWriteOnce),
        _ => return None,
    })
}

/// Where a resolved mode came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ModeOrigin {
    /// Set by the storage map pair (or forced by the transfer path).
    StorageMap,
    /// The destination's CDI StorageProfile `claimPropertySets[0]`.
    StorageProfile,
    /// The guide's per-provisioner default table.
    ProvisionerDefault,
    /// No information: the guide's setting for storage without dynamic provisioning
    /// (Filesystem, ReadWriteOnce).
    Fallback,
}

/// Volume and access mode of one target volume, with their origins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ResolvedModes {
    /// The volume mode.
    pub volume_mode: VolumeMode,
    /// Where it came from.
    pub volume_mode_origin: ModeOrigin,
    /// The access mode.
    pub access_mode: AccessMode,
    /// Where it came from.
    pub access_mode_origin: ModeOrigin,
}

/// Resolves modes field by field: the storage map's value, else the StorageProfile's first
/// claim property set (strings as in the inventory; unparsable values are ignored), else the
/// provisioner table, else Filesystem / ReadWriteOnce.
pub fn resolve_modes(
    map_volume_mode: Option<VolumeMode>,
    map_access_mode: Option<AccessMode>,
    profile: Option<(&str, &[String])>,
    provisioner: Option<&str>,
) -> ResolvedModes {
    let table = provisioner.and_then(default_modes_for_provisioner);
    let profile_volume = profile.and_then(|(v, _)| v.parse::<VolumeMode>().ok());
    let profile_access =
        profile.and_then(|(_, a)| a.iter().find_map(|m| m.parse::<AccessMode>().ok()));

    let (volume_mode, volume_mode_origin) = if let Some(v) = map_volume_mode {
        (v, ModeOrigin::StorageMap)
    } else if let Some(v) = profile_volume {
        (v, ModeOrigin::StorageProfile)
    } else if let Some((v, _)) = table {
        (v, ModeOrigin::ProvisionerDefault)
    } else {
        (VolumeMode::Filesystem, ModeOrigin::Fallback)
    };
    let (access_mode, access_mode_origin) = if let Some(a) = map_access_mode {
        (a, ModeOrigin::StorageMap)
    } else if let Some(a) = profile_access {
        (a, ModeOrigin::StorageProfile)
    } else if let Some((_, a)) = table {
        (a, ModeOrigin::ProvisionerDefault)
    } else {
        (AccessMode::ReadWriteOnce, ModeOrigin::Fallback)
    };
    ResolvedModes {
        volume_mode,
        volume_mode_origin,
        access_mode,
        access_mode_origin,
    }
}
