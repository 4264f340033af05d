//! Small upstream rules the renderer applies, each a pure function.

use std::collections::BTreeMap;

/// Label and annotation keys placed on rendered objects (upstream `kubevirt.go`, `doc.go`).
pub mod keys {
    /// Label: migration UID.
    pub const MIGRATION: &str = "migration";
    /// Label: plan UID.
    pub const PLAN: &str = "plan";
    /// Label: plan name.
    pub const PLAN_NAME: &str = "plan-name";
    /// Label: plan namespace.
    pub const PLAN_NAMESPACE: &str = "plan-namespace";
    /// Label: source VM id.
    pub const VM_ID: &str = "vmID";
    /// Label: source VM UUID (separate copy and conversion).
    pub const VM_UUID: &str = "vmUUID";
    /// Label: `vm-config` on VM, DVs and PVCs.
    pub const RESOURCE: &str = "resource";
    /// Label value of [`RESOURCE`].
    pub const RESOURCE_VM_CONFIG: &str = "vm-config";
    /// Label: whether the guest was converted.
    pub const GUEST_CONVERTED: &str = "guestConverted";
    /// Template label: target VM name.
    pub const APP: &str = "app";
    /// Label on shared disks.
    pub const SHAREABLE: &str = "shareable";
    /// Annotation: the source VM name when renamed.
    pub const DISPLAY_NAME: &str = "openshift.io/display-name";
    /// Annotation: the source VM id when renamed.
    pub const ORIGINAL_ID: &str = "original-ID";
    /// Annotation: disk identity.
    pub const DISK_SOURCE: &str = "forklift.konveyor.io/disk-source";
    /// Annotation: vSphere disk index.
    pub const DISK_INDEX: &str = "forklift.konveyor.io/disk-index";
    /// Annotation: CDI must not delete the DV after completion.
    pub const CDI_DELETE_AFTER_COMPLETION: &str = "cdi.kubevirt.io/storage.deleteAfterCompletion";
    /// Annotation: bind immediately.
    pub const CDI_BIND_IMMEDIATE: &str = "cdi.kubevirt.io/storage.bind.immediate.requested";
    /// Annotation: do not use CDI populators.
    pub const CDI_USE_POPULATOR: &str = "cdi.kubevirt.io/storage.usePopulator";
    /// Annotation: keep importer pods.
    pub const CDI_RETAIN_POD: &str = "cdi.kubevirt.io/storage.pod.retainAfterCompletion";
    /// Annotation: importer service account.
    pub const CDI_POD_SERVICE_ACCOUNT: &str = "cdi.kubevirt.io/storage.pod.serviceAccountName";
    /// Annotation: transfer network (Multus networks JSON).
    pub const MULTUS_NETWORKS: &str = "k8s.v1.cni.cncf.io/networks";
    /// Annotation: legacy transfer network default.
    pub const MULTUS_DEFAULT_NETWORK: &str = "v1.multus-cni.io/default-network";
    /// NAD annotation naming the transfer network's gateway.
    pub const ROUTE: &str = "forklift.konveyor.io/route";
    /// Template annotations KubeVirt's UI expects.
    pub const TEMPLATE_FLAVOR: &str = "vm.kubevirt.io/flavor";
    /// See [`TEMPLATE_FLAVOR`].
    pub const TEMPLATE_OS: &str = "vm.kubevirt.io/os";
    /// See [`TEMPLATE_FLAVOR`].
    pub const TEMPLATE_WORKLOAD: &str = "vm.kubevirt.io/workload";
}

/// VMware-style SMBIOS serial: `VMware-42 2c 6a 2a 5e a9 10 83-39 f3 3b 14 0f ff b4 44`.
/// An invalid UUID is returned unchanged.
pub fn vmware_serial(uuid: &str) -> String {
    let hex: String = uuid.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) || uuid.len() != 36 {
        return uuid.to_owned();
    }
    let hex = hex.to_ascii_lowercase();
    let pairs: Vec<&str> = (0..16).map(|i| &hex[2 * i..2 * i + 2]).collect();
    format!("VMware-{}-{}", pairs[..8].join(" "), pairs[8..].join(" "))
}

/// Upstream `GetBootDiskNumber`: `/dev/sda` → 0, `/dev/sdb` → 1, … anything else → 0.
pub fn boot_disk_number(root_disk: &str) -> usize {
    root_disk
        .strip_prefix("/dev/sd")
        .and_then(|rest| rest.chars().next())
        .filter(char::is_ascii_lowercase)
        .map_or(0, |c| (c as u8 - b'a') as usize)
}

/// The effective target power state values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerIntent {
    /// Start the VM.
    On,
    /// Leave it stopped.
    Off,
    /// Restore the source state.
    Auto,
}

/// Upstream `determineRunStrategy`: `Always` or `Halted`.
///
/// Windows guests with the WindowsWaitForReboot feature and a target state other than `off`
/// always start (the first-boot reboots need a running guest).
pub fn run_strategy(
    intent: Option<PowerIntent>,
    source_powered_on: bool,
    windows_wait_for_reboot: bool,
) -> &'static str {
    if windows_wait_for_reboot && intent != Some(PowerIntent::Off) {
        return "Always";
    }
    match intent {
        Some(PowerIntent::On) => "Always",
        Some(PowerIntent::Off) => "Halted",
        Some(PowerIntent::Auto) | None => {
            if source_powered_on {
                "Always"
            } else {
                "Halted"
            }
        }
    }
}

/// Disk serial for vSphere disks: the disk's backing UUID when known, else a stable
/// `<vmID>-<device key>`.
pub fn disk_serial(backing_uuid: &str, vm_id: &str, key: i32) -> String {
    if !backing_uuid.is_empty() {
        return backing_uuid.to_owned();
    }
    format!("{vm_id}-{key}")
}

/// Legacy Windows detection (`IsLegacyWindows`): only the lower-case phrases are effective
/// upstream (camel-case guest ids never match a lower-cased string), reproduced here.
pub fn is_legacy_windows(guest_id_or_name: &str) -> bool {
    const PHRASES: [&str; 6] = [
        "windows xp",
        "server 2003",
        "vista",
        "server 2008",
        "windows 7",
        "server 2008 r2",
    ];
    let lower = guest_id_or_name.to_ascii_lowercase();
    PHRASES.iter().any(|p| lower.contains(p))
}

/// Merges `extra` into `base`; keys of `base` (system labels) win.
pub fn merge_system_wins(base: &mut BTreeMap<String, String>, extra: &BTreeMap<String, String>) {
    for (k, v) in extra {
        base.entry(k.clone()).or_insert_with(|| v.clone());
    }
}

/// A static-IP entry for virt-v2v (`V2V_staticIPs`):
/// `<MAC>:ip:<IP>,<gateway>,<prefixLen>,<dns…>`, trailing comma trimmed.
pub fn static_ip_entry(mac: &str, ip: &str, gateway: &str, prefix: u8, dns: &[String]) -> String {
    let mut entry = format!("{mac}:ip:{ip},{gateway},{prefix}");
    for server in dns {
        entry.push(',');
        entry.push_str(server);
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_format_matches_upstream_example() {
        assert_eq!(
            vmware_serial("422c6a2a-5ea9-1083-39f3-3b140fffb444"),
            "VMware-42 2c 6a 2a 5e a9 10 83-39 f3 3b 14 0f ff b4 44"
        );
        assert_eq!(
            vmware_serial("422C6A2A-5EA9-1083-39F3-3B140FFFB444"),
            "VMware-42 2c 6a 2a 5e a9 10 83-39 f3 3b 14 0f ff b4 44"
        );
        assert_eq!(vmware_serial("not-a-uuid"), "not-a-uuid");
    }

    #[test]
    fn boot_disk() {
        assert_eq!(boot_disk_number("/dev/sda"), 0);
        assert_eq!(boot_disk_number("/dev/sdc"), 2);
        assert_eq!(boot_disk_number("/dev/sdc1"), 2);
        assert_eq!(boot_disk_number("/dev/vda"), 0);
        assert_eq!(boot_disk_number("/dev/sd"), 0);
        assert_eq!(boot_disk_number("/dev/sdZ"), 0);
    }

    #[test]
    fn run_strategies() {
        use PowerIntent::*;
        assert_eq!(run_strategy(Some(On), false, false), "Always");
        assert_eq!(run_strategy(Some(Off), true, false), "Halted");
        assert_eq!(run_strategy(Some(Auto), true, false), "Always");
        assert_eq!(run_strategy(Some(Auto), false, false), "Halted");
        assert_eq!(run_strategy(None, false, false), "Halted");
        assert_eq!(run_strategy(None, false, true), "Always");
        assert_eq!(run_strategy(Some(Off), true, true), "Halted");
    }

    #[test]
    fn static_ips() {
        assert_eq!(
            static_ip_entry("00:50:56:aa:bb:cc", "10.0.0.5", "10.0.0.1", 24, &[]),
            "00:50:56:aa:bb:cc:ip:10.0.0.5,10.0.0.1,24"
        );
        assert_eq!(
            static_ip_entry(
                "m",
                "1.2.3.4",
                "1.2.3.1",
                16,
                &["8.8.8.8".into(), "1.1.1.1".into()]
            ),
            "m:ip:1.2.3.4,1.2.3.1,16,8.8.8.8,1.1.1.1"
        );
    }

    #[test]
    fn legacy_windows() {
        assert!(is_legacy_windows(
            "Microsoft Windows Server 2008 R2 (64-bit)"
        ));
        assert!(is_legacy_windows("windowsVistaGuest"));
        assert!(!is_legacy_windows("windows7Guest"));
        assert!(!is_legacy_windows("windows2019srv_64Guest"));
    }
}
