//! Operating-system → KubeVirt preference maps (upstream `forklift-vsphere-osmap` and
//! `forklift-ovirt-osmap` config maps), overridable like the operator's config maps.

use std::collections::BTreeMap;

use crate::resources::ProviderType;

/// Default `forklift-vsphere-osmap`: VMware guest id → preference name.
pub const VSPHERE_DEFAULT: &[(&str, &str)] = &[
    ("genericLinuxGuest", "linux"),
    ("ubuntu64Guest", "ubuntu"),
    ("ubuntuGuest", "ubuntu"),
    ("fedora64Guest", "fedora"),
    ("fedoraGuest", "fedora"),
    ("centos7_64Guest", "centos.7"),
    ("centos8_64Guest", "centos.stream8"),
    ("centos9_64Guest", "centos.stream9"),
    ("rhel7_64Guest", "rhel.7"),
    ("rhel7Guest", "rhel.7"),
    ("rhel8_64Guest", "rhel.8"),
    ("rhel9_64Guest", "rhel.9"),
    ("rhel10_64Guest", "rhel.10"),
    ("sles10_64Guest", "sles"),
    ("sles11_64Guest", "sles"),
    ("sles12_64Guest", "sles"),
    ("sles15_64Guest", "sles"),
    ("sles16_64Guest", "sles"),
    ("opensuse64Guest", "opensuse.leap"),
    ("debian4_64Guest", "debian"),
    ("debian5_64Guest", "debian"),
    ("debian6_64Guest", "debian"),
    ("debian7_64Guest", "debian"),
    ("debian8_64Guest", "debian"),
    ("debian9_64Guest", "debian"),
    ("debian10_64Guest", "debian"),
    ("debian11_64Guest", "debian"),
    ("debian12_64Guest", "debian"),
    ("debian13_64Guest", "debian"),
    ("windows7_64Guest", "windows.7"),
    ("windows8_64Guest", "windows.8"),
    ("windows9_64Guest", "windows.10"),
    ("windows11_64Guest", "windows.11"),
    ("windows12_64Guest", "windows.12"),
    ("windows7Server64Guest", "windows.2k8"),
    ("windows8Server64Guest", "windows.2k12"),
    ("windows9Server64Guest", "windows.2k16"),
    ("windows2019srv_64Guest", "windows.2k19"),
    ("windows2019srvNext_64Guest", "windows.2k22"),
    ("windows2022srvNext_64Guest", "windows.2k25"),
];

/// Default `forklift-ovirt-osmap`: oVirt OS type → preference name.
pub const OVIRT_DEFAULT: &[(&str, &str)] = &[
    ("rhel_7x64", "rhel.7"),
    ("rhel_8x64", "rhel.8"),
    ("rhel_9x64", "rhel.9"),
    ("ubuntu_12_04", "ubuntu"),
    ("ubuntu_12_10", "ubuntu"),
    ("ubuntu_13_04", "ubuntu"),
    ("ubuntu_13_10", "ubuntu"),
    ("ubuntu_14_04", "ubuntu"),
    ("windows_10", "windows.10.virtio"),
    ("windows_10x64", "windows.10.virtio"),
    ("windows_2012R2x64", "windows.2k12.virtio"),
    ("windows_2012x64", "windows.2k12.virtio"),
    ("windows_2016x64", "windows.2k16.virtio"),
    ("windows_2019x64", "windows.2k19.virtio"),
    ("windows_2022", "windows.2k22.virtio"),
    ("windows_11", "windows.11.virtio"),
];

/// Default config map names (ForkliftController `vsphere_osmap_configmap_name`,
/// `ovirt_osmap_configmap_name`).
pub const VSPHERE_CONFIG_MAP: &str = "forklift-vsphere-osmap";
/// See [`VSPHERE_CONFIG_MAP`].
pub const OVIRT_CONFIG_MAP: &str = "forklift-ovirt-osmap";

/// An OS → preference map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsMap {
    entries: BTreeMap<String, String>,
}

impl OsMap {
    /// The default vSphere map.
    pub fn vsphere_default() -> Self {
        Self::from_pairs(VSPHERE_DEFAULT)
    }

    /// The default oVirt map.
    pub fn ovirt_default() -> Self {
        Self::from_pairs(OVIRT_DEFAULT)
    }

    fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        OsMap {
            entries: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    /// Applies a config map's `data` as the guide describes: a config map with the default
    /// name adds to (and overrides keys of) the defaults; a config map with another name
    /// replaces them entirely.
    pub fn with_config_map(
        self,
        config_map_name: &str,
        default_name: &str,
        data: &BTreeMap<String, String>,
    ) -> Self {
        let mut entries = if config_map_name == default_name {
            self.entries
        } else {
            BTreeMap::new()
        };
        for (k, v) in data {
            entries.insert(k.clone(), v.clone());
        }
        OsMap { entries }
    }

    /// The preference for an OS key, if mapped (empty values count as unmapped).
    pub fn preference(&self, os: &str) -> Option<&str> {
        self.entries
            .get(os)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The OS-map key of a VM, as upstream's builders take it: for vSphere the OS virt-v2v
/// detected (`status.vms[].operatingSystem`, a guest id) when there is one, else the
/// inventory's guest id; for every other provider the inventory's OS (oVirt's `osType`).
pub fn os_key<'a>(
    provider: ProviderType,
    detected: Option<&'a str>,
    inventory_os: &'a str,
) -> &'a str {
    match (provider, detected) {
        (ProviderType::VSphere, Some(os)) => os,
        _ => inventory_os,
    }
}

/// The preference name of a VM of `provider` whose OS-map key is `os_key` ([`os_key`]): the
/// vSphere map for vSphere, the oVirt map for oVirt; none for the other providers (OVA,
/// OpenStack, OpenShift, Hyper-V), whose upstream builders use no preference. The one place
/// render and the runner (after a conversion) pick a preference.
pub fn preference_for<'m>(
    provider: ProviderType,
    vsphere: &'m OsMap,
    ovirt: &'m OsMap,
    os_key: &str,
) -> Option<&'m str> {
    match provider {
        ProviderType::VSphere => vsphere.preference(os_key),
        ProviderType::OVirt => ovirt.preference(os_key),
        _ => None,
    }
}

/// Maps an OS detected by virt-v2v inspection (osinfo id such as `rhel9.2`, `win2k19`) to the
/// VMware guest id used as the vSphere osmap key. `inspector_name` is the inspector's `<name>`
/// (e.g. `linux`, `windows`).
pub fn vsphere_guest_id_for_osinfo(osinfo: &str, inspector_name: &str) -> String {
    fn lookup(id: &str) -> Option<String> {
        let fixed = match id {
            "rocky" => "rockylinux_64Guest",
            "opensuse" => "opensuse64Guest",
            "ubuntu" => "ubuntu64Guest",
            "fedora" => "fedora64Guest",
            "win7" => "windows7_64Guest",
            "win8" => "windows8_64Guest",
            "win10" => "windows9_64Guest",
            "win11" => "windows11_64Guest",
            "win12" => "windows12_64Guest",
            "win2k8r2" => "windows7Server64Guest",
            "win2k12" | "win2k12r2" => "windows8Server64Guest",
            "win2k16" => "windows9Server64Guest",
            "win2k19" => "windows2019srv_64Guest",
            "win2k22" => "windows2019srvNext_64Guest",
            "win2k25" => "windows2022srvNext_64Guest",
            _ => "",
        };
        if !fixed.is_empty() {
            return Some(fixed.to_owned());
        }
        let numbered = |prefix: &str, range: std::ops::RangeInclusive<u32>| {
            id.strip_prefix(prefix)
                .and_then(|n| n.parse::<u32>().ok())
                .filter(|n| range.contains(n))
                .map(|n| format!("{prefix}{n}_64Guest"))
        };
        numbered("centos", 6..=9)
            .or_else(|| numbered("rhel", 7..=10))
            .or_else(|| {
                id.strip_prefix("sles")
                    .and_then(|n| n.parse::<u32>().ok())
                    .filter(|n| [10, 11, 12, 15, 16].contains(n))
                    .map(|n| format!("sles{n}_64Guest"))
            })
            .or_else(|| numbered("debian", 4..=13))
    }
    let id = osinfo.trim();
    if let Some(found) = lookup(id) {
        return found;
    }
    if let Some((family, _)) = id.split_once('.') {
        if let Some(found) = lookup(family) {
            return found;
        }
    }
    if inspector_name == "linux" {
        "genericLinuxGuest".to_owned()
    } else {
        "otherGuest64".to_owned()
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_detected_os_picks_the_preference_of_vsphere_vms_only() {
        let (vsphere, ovirt) = (OsMap::vsphere_default(), OsMap::ovirt_default());
        // What virt-v2v inspected (rhel9.2 → rhel9_64Guest) wins over the inventory's guest id.
        let detected = vsphere_guest_id_for_osinfo("rhel9.2", "linux");
        let key = os_key(ProviderType::VSphere, Some(&detected), "rhel8_64Guest");
        assert_eq!(key, "rhel9_64Guest");
        assert_eq!(
            preference_for(ProviderType::VSphere, &vsphere, &ovirt, key),
            Some("rhel.9")
        );
        let debian = vsphere_guest_id_for_osinfo("debian12", "linux");
        assert_eq!(
            preference_for(ProviderType::VSphere, &vsphere, &ovirt, &debian),
            Some("debian")
        );
        let windows = vsphere_guest_id_for_osinfo("win2k19", "windows");
        assert_eq!(
            preference_for(ProviderType::VSphere, &vsphere, &ovirt, &windows),
            Some("windows.2k19")
        );
        // Without a detected OS: the inventory's.
        assert_eq!(
            os_key(ProviderType::VSphere, None, "rhel8_64Guest"),
            "rhel8_64Guest"
        );
        // oVirt keys by its osType even when an OS was detected; OVA has no preference.
        assert_eq!(
            os_key(ProviderType::OVirt, Some("rhel9_64Guest"), "rhel_8x64"),
            "rhel_8x64"
        );
        assert_eq!(
            preference_for(ProviderType::OVirt, &vsphere, &ovirt, "rhel_8x64"),
            Some("rhel.8")
        );
        assert_eq!(
            preference_for(ProviderType::Ova, &vsphere, &ovirt, &debian),
            None
        );
    }
    use super::*;

    #[test]
    fn defaults() {
        let v = OsMap::vsphere_default();
        assert_eq!(v.preference("rhel9_64Guest"), Some("rhel.9"));
        assert_eq!(
            v.preference("windows2019srvNext_64Guest"),
            Some("windows.2k22")
        );
        assert_eq!(v.preference("otherGuest64"), None);
        let o = OsMap::ovirt_default();
        assert_eq!(o.preference("windows_2019x64"), Some("windows.2k19.virtio"));
        assert_eq!(o.len(), 16);
    }

    #[test]
    fn config_map_overrides() {
        let data = BTreeMap::from([
            ("rhel9_64Guest".to_owned(), "my-rhel".to_owned()),
            ("otherGuest64".to_owned(), "other".to_owned()),
        ]);
        let added =
            OsMap::vsphere_default().with_config_map(VSPHERE_CONFIG_MAP, VSPHERE_CONFIG_MAP, &data);
        assert_eq!(added.preference("rhel9_64Guest"), Some("my-rhel"));
        assert_eq!(added.preference("ubuntu64Guest"), Some("ubuntu"));
        let replaced =
            OsMap::vsphere_default().with_config_map("custom", VSPHERE_CONFIG_MAP, &data);
        assert_eq!(replaced.preference("ubuntu64Guest"), None);
        assert_eq!(replaced.preference("otherGuest64"), Some("other"));
    }

    #[test]
    fn osinfo_to_guest_id() {
        assert_eq!(
            vsphere_guest_id_for_osinfo("rhel9.2", "linux"),
            "rhel9_64Guest"
        );
        assert_eq!(
            vsphere_guest_id_for_osinfo("rhel9", "linux"),
            "rhel9_64Guest"
        );
        assert_eq!(
            vsphere_guest_id_for_osinfo("win2k19", "windows"),
            "windows2019srv_64Guest"
        );
        assert_eq!(
            vsphere_guest_id_for_osinfo("win10", "windows"),
            "windows9_64Guest"
        );
        assert_eq!(
            vsphere_guest_id_for_osinfo("debian12", "linux"),
            "debian12_64Guest"
        );
        assert_eq!(
            vsphere_guest_id_for_osinfo("sles13", "linux"),
            "genericLinuxGuest"
        );
        assert_eq!(
            vsphere_guest_id_for_osinfo("ubuntu22.04", "linux"),
            "genericLinuxGuest"
        );
        assert_eq!(
            vsphere_guest_id_for_osinfo("ubuntu", "linux"),
            "ubuntu64Guest"
        );
        assert_eq!(
            vsphere_guest_id_for_osinfo("freebsd13", "freebsd"),
            "otherGuest64"
        );
    }
}
