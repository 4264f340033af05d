//! Every name the renderer produces, in one place: target VM name, PVC names, volume and
//! network interface names. Template rendering and DNS-1123 adjustment are delegated to the
//! naming module; this file only chooses templates and data per upstream rules.

use sha2::{Digest, Sha256};

/// Upstream's default PVC name template.
pub const DEFAULT_PVC_TEMPLATE: &str =
    "{{trunc 15 .PlanName}}-{{trunc 15 .TargetVmName}}-disk-{{.DiskIndex}}";

/// A name with an optional generateName prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimName {
    /// The final name.
    pub name: String,
    /// The prefix when generated.
    pub generate_name: Option<String>,
}

/// Deterministic 5-character suffix standing in for Kubernetes' random generateName suffix,
/// so the VM can reference its claims before they exist (same alphabet as Kubernetes).
pub fn generated_suffix(seed: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let digest = Sha256::digest(seed.as_bytes());
    digest
        .iter()
        .take(5)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// Applies upstream's generateName rule to a rendered PVC name.
pub fn claim_name(rendered: &str, use_generate_name: bool, seed: &str) -> ClaimName {
    if use_generate_name {
        let prefix = if rendered.ends_with('-') {
            rendered.to_owned()
        } else {
            format!("{rendered}-")
        };
        ClaimName {
            name: format!("{prefix}{}", generated_suffix(seed)),
            generate_name: Some(prefix),
        }
    } else {
        ClaimName {
            name: rendered.strip_suffix('-').unwrap_or(rendered).to_owned(),
            generate_name: None,
        }
    }
}

/// Default volume name (`vol-<i>`).
pub fn default_volume_name(index: usize) -> String {
    format!("vol-{index}")
}

/// Default interface name (`net-<i>`, index among mapped NICs).
pub fn default_network_name(index: usize) -> String {
    format!("net-{index}")
}

/// Cuts a rendered name to 63 bytes on a character boundary.
pub fn cut63(name: &str) -> String {
    let mut end = name.len().min(63);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
}

/// Whether `name` is a DNS-1123 label.
pub fn is_dns1123_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// Disk serial (upstream `disk_serial.go`): keep `[0-9A-Za-z-]` of the source serial, cut to
/// 20; if nothing is left, the first 20 hex digits of SHA-256 of `"<vmID>:<diskKey>"`.
pub fn disk_serial(source_serial: &str, vm_id: &str, disk_key: &str) -> String {
    let kept: String = source_serial
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(20)
        .collect();
    if !kept.is_empty() {
        return kept;
    }
    let digest = Sha256::digest(format!("{vm_id}:{disk_key}").as_bytes());
    digest
        .iter()
        .flat_map(|b| [b >> 4, b & 0xf])
        .take(20)
        .map(|n| char::from_digit(u32::from(n), 16).unwrap_or('0'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_name_rule() {
        let c = claim_name("plan-vm-disk-0", true, "seed");
        assert_eq!(c.generate_name.as_deref(), Some("plan-vm-disk-0-"));
        assert_eq!(c.name.len(), "plan-vm-disk-0-".len() + 5);
        assert_eq!(c, claim_name("plan-vm-disk-0", true, "seed"));
        assert_ne!(c.name, claim_name("plan-vm-disk-0", true, "other").name);
        assert_eq!(claim_name("x-", false, "s").name, "x");
    }

    #[test]
    fn serials() {
        assert_eq!(
            disk_serial("6000C29a-b0c1_d2", "vm-1", "2000"),
            "6000C29a-b0c1d2"
        );
        assert_eq!(
            disk_serial("abcdefghijklmnopqrstuvwxyz", "v", "k"),
            "abcdefghijklmnopqrst"
        );
        let hashed = disk_serial("", "vm-1", "2000");
        assert_eq!(hashed.len(), 20);
        assert!(hashed.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn labels() {
        assert!(is_dns1123_label("a-b-0"));
        assert!(!is_dns1123_label("-a"));
        assert!(!is_dns1123_label("A"));
        assert!(!is_dns1123_label(&"a".repeat(64)));
        assert_eq!(cut63(&"é".repeat(40)).len(), 62);
    }
}

use std::collections::BTreeMap;

use super::build::{PlanFacts, kubevirt_claim};
use crate::inventory::{Disk, Nic, ProviderKind, Vm};
use crate::resources::{NetworkDestination, PlanVm};

/// The naming module's entry points used here (name adjustment, Go-template execution).
mod bridge {
    use crate::template::{FieldValue, Template, TemplateData};

    /// Upstream `ChangeVmName` (§3.1) without the random fallback: an empty result becomes
    /// `vm-` plus four characters derived from the input, so renders are reproducible.
    ///
    /// Interim: the naming module takes this over once it provides name adjustment.
    pub fn adjust_vm_name(name: &str) -> String {
        const MAX: usize = 63;
        fn cut(s: &str, trim: &[char]) -> String {
            let s = if s.len() > MAX { &s[..MAX] } else { s };
            s.trim_matches(trim).to_owned()
        }
        let lowered = name.to_lowercase();
        let trimmed = lowered.trim_matches(['.', '-']);
        let parts: Vec<String> = trimmed
            .split('.')
            .filter_map(|part| {
                let replaced: String = part
                    .chars()
                    .map(|c| {
                        if matches!(c, '_' | '+' | '*' | ' ' | '/' | '\\') {
                            '-'
                        } else {
                            c
                        }
                    })
                    .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
                    .collect();
                let collapsed = replaced
                    .trim_matches(['-', '.'])
                    .split('-')
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join("-");
                let part = cut(&collapsed, &['-']);
                (!part.is_empty()).then_some(part)
            })
            .collect();
        let joined = parts.join(".");
        let result = if joined.len() > MAX {
            cut(&joined, &['.', '-'])
        } else {
            joined
        };
        if result.is_empty() {
            format!("vm-{}", &super::generated_suffix(name)[..4])
        } else {
            result
        }
    }

    /// Whether `name` is a DNS-1123 subdomain.
    pub fn is_subdomain(name: &str) -> bool {
        name.len() <= 253
            && !name.is_empty()
            && name.split('.').all(|label| {
                let b = label.as_bytes();
                !b.is_empty()
                    && b.iter()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                    && b[0] != b'-'
                    && b[b.len() - 1] != b'-'
            })
    }

    /// Template data: a Go struct with string, int and bool fields.
    pub struct Data {
        pub type_name: &'static str,
        pub names: &'static [&'static str],
        pub values: Vec<Field>,
    }

    /// One field value.
    pub enum Field {
        Str(String),
        Int(i64),
        Bool(bool),
    }

    impl TemplateData for Data {
        fn type_name(&self) -> &'static str {
            self.type_name
        }
        fn field_names(&self) -> &'static [&'static str] {
            self.names
        }
        fn field(&self, name: &str) -> Option<FieldValue<'_>> {
            let i = self.names.iter().position(|n| *n == name)?;
            Some(match self.values.get(i)? {
                Field::Str(s) => FieldValue::Str(s),
                Field::Int(n) => FieldValue::Int(*n),
                Field::Bool(b) => FieldValue::Bool(*b),
            })
        }
    }

    /// Executes a naming template.
    pub fn execute(template: &str, data: &Data) -> Result<String, String> {
        let parsed = Template::parse(template).map_err(|e| e.to_string())?;
        parsed.render(data).map_err(|e| e.to_string())
    }
}

use bridge::{Data, Field};

/// The target VM name (upstream §3.2): `targetName`, else a name a previous run chose, else
/// the adjusted source name when it is not a DNS-1123 subdomain, else the source name.
pub fn target_vm_name(
    pvm: &PlanVm,
    vm: &Vm,
    new_names: &BTreeMap<String, String>,
) -> (String, bool) {
    let explicit = pvm.target_name.trim();
    let name = if !explicit.is_empty() {
        explicit.to_owned()
    } else if let Some(previous) = new_names.get(&vm.id).filter(|n| !n.is_empty()) {
        previous.clone()
    } else if !bridge::is_subdomain(&vm.name) {
        bridge::adjust_vm_name(&vm.name)
    } else {
        vm.name.clone()
    };
    let renamed = name != vm.name;
    (name, renamed)
}

/// The name templates see as `.TargetVmName` (upstream §3.3, DNS-1123 label rules).
fn template_vm_name(pvm: &PlanVm, vm: &Vm, new_names: &BTreeMap<String, String>) -> String {
    let explicit = pvm.target_name.trim();
    if !explicit.is_empty() {
        return explicit.to_owned();
    }
    if let Some(previous) = new_names.get(&vm.id).filter(|n| !n.is_empty()) {
        return previous.clone();
    }
    if is_dns1123_label(&vm.name) {
        return vm.name.clone();
    }
    if vm.name.chars().any(|c| c.is_ascii_alphanumeric()) {
        bridge::adjust_vm_name(&vm.name)
    } else if vm.id.chars().any(|c| c.is_ascii_alphanumeric()) {
        bridge::adjust_vm_name(&vm.id)
    } else {
        "vm-0000".to_owned()
    }
}

fn first_non_empty<'a>(candidates: &[&'a str]) -> Option<&'a str> {
    candidates.iter().copied().find(|t| !t.trim().is_empty())
}

/// The rendered PVC name of disk `index` (before the generateName rule).
pub(super) fn pvc_name(
    facts: &PlanFacts<'_>,
    pvm: &PlanVm,
    vm: &Vm,
    target_name: &str,
    disk: &Disk,
    index: usize,
    root_index: usize,
) -> Result<String, String> {
    let input = facts.input;
    let settings = input.settings;
    let plan_name = input.plan.metadata.name_or_empty();
    let openshift = facts.kind == ProviderKind::Openshift;
    let controller = if openshift {
        settings.controller_ocp_pvc_name_template.as_deref()
    } else {
        settings.controller_pvc_name_template.as_deref()
    }
    .unwrap_or("");
    let fallback = if openshift {
        "{{.SourcePVCName}}"
    } else {
        DEFAULT_PVC_TEMPLATE
    };
    let template = first_non_empty(&[
        &pvm.pvc_name_template,
        &input.plan.spec.pvc_name_template,
        controller,
    ])
    .unwrap_or(fallback);
    let _ = target_name;
    let (source_pvc, source_pvc_namespace) = if openshift {
        (kubevirt_claim(vm, disk), vm.namespace.clone())
    } else {
        (String::new(), String::new())
    };
    let data = Data {
        type_name: "v1beta1.PVCNameTemplateData",
        names: &[
            "VmName",
            "TargetVmName",
            "PlanName",
            "DiskIndex",
            "VmId",
            "WinDriveLetter",
            "RootDiskIndex",
            "Shared",
            "FileName",
            "SourcePVCName",
            "SourcePVCNamespace",
            "VolumeID",
            "SnapshotID",
            "DiskId",
        ],
        values: vec![
            Field::Str(vm.name.clone()),
            Field::Str(template_vm_name(pvm, vm, &input.context.new_names)),
            Field::Str(plan_name.to_owned()),
            Field::Int(index as i64),
            Field::Str(vm.id.clone()),
            Field::Str(win_drive_letter(vm, disk)),
            Field::Int(root_index as i64),
            Field::Bool(disk.shared),
            Field::Str(file_name(&disk.file)),
            Field::Str(source_pvc),
            Field::Str(source_pvc_namespace),
            Field::Str(String::new()),
            Field::Str(String::new()),
            Field::Str(disk.id.clone()),
        ],
    };
    let rendered = bridge::execute(template, &data)
        .map_err(|e| format!("PVC name template {template:?} failed: {e}"))?;
    let rendered = rendered.trim().to_owned();
    if !is_dns1123_label(&rendered) {
        return Err(format!(
            "PVC name template {template:?} produced {rendered:?}, not a DNS-1123 label"
        ));
    }
    Ok(rendered)
}

/// The Windows drive letter of a vSphere disk, from the guest disk reported for its key
/// (`C:\` → `c`).
fn win_drive_letter(vm: &Vm, disk: &Disk) -> String {
    vm.vsphere()
        .and_then(|e| e.guest_disks.iter().find(|g| g.key == disk.key))
        .and_then(|g| {
            let mut chars = g.disk_path.chars();
            match (chars.next(), chars.next()) {
                (Some(letter), Some(':')) if letter.is_ascii_alphabetic() => {
                    Some(letter.to_ascii_lowercase().to_string())
                }
                _ => None,
            }
        })
        .unwrap_or_default()
}

/// `[ds] dir/file.vmdk` → `file.vmdk`.
fn file_name(path: &str) -> String {
    let after_ds = path.rsplit_once("] ").map_or(path, |(_, p)| p);
    after_ds.rsplit('/').next().unwrap_or(after_ds).to_owned()
}

/// The volume name of a disk (templates on vSphere; source names on KubeVirt; disk ids on oVirt).
pub(super) fn volume_name(
    facts: &PlanFacts<'_>,
    pvm: &PlanVm,
    vm: &Vm,
    disk: &Disk,
    index: usize,
    claim: &str,
) -> String {
    match facts.kind {
        ProviderKind::Vsphere => {
            let plan = &facts.input.plan.spec;
            match first_non_empty(&[&pvm.volume_name_template, &plan.volume_name_template]) {
                Some(template) => {
                    let data = Data {
                        type_name: "v1beta1.VolumeNameTemplateData",
                        names: &["PVCName", "VolumeIndex"],
                        values: vec![Field::Str(claim.to_owned()), Field::Int(index as i64)],
                    };
                    match bridge::execute(template, &data) {
                        Ok(name) if !name.is_empty() => cut63(&name),
                        _ => default_volume_name(index),
                    }
                }
                None => default_volume_name(index),
            }
        }
        ProviderKind::Ovirt if !disk.id.is_empty() => disk.id.clone(),
        ProviderKind::Openshift => vm
            .kubevirt()
            .and_then(|e| {
                e.volumes
                    .iter()
                    .find(|v| v.claim == kubevirt_claim(vm, disk))
            })
            .map_or_else(|| default_volume_name(index), |v| v.name.clone()),
        _ => default_volume_name(index),
    }
}

/// The interface/network name of a mapped NIC (templates on vSphere; source names on KubeVirt).
pub(super) fn network_name(
    facts: &PlanFacts<'_>,
    pvm: &PlanVm,
    _vm: &Vm,
    nic: &Nic,
    destination: &NetworkDestination,
    index: usize,
) -> String {
    match facts.kind {
        ProviderKind::Vsphere => {
            let plan = &facts.input.plan.spec;
            match first_non_empty(&[&pvm.network_name_template, &plan.network_name_template]) {
                Some(template) => {
                    let data = Data {
                        type_name: "v1beta1.NetworkNameTemplateData",
                        names: &[
                            "NetworkName",
                            "NetworkNamespace",
                            "NetworkType",
                            "NetworkIndex",
                        ],
                        values: vec![
                            Field::Str(destination.name.clone()),
                            Field::Str(destination.namespace.clone()),
                            Field::Str(destination.type_.as_str().to_owned()),
                            Field::Int(index as i64),
                        ],
                    };
                    match bridge::execute(template, &data) {
                        Ok(name) if !name.is_empty() => cut63(&name),
                        _ => default_network_name(index),
                    }
                }
                None => default_network_name(index),
            }
        }
        ProviderKind::Openshift if !nic.name.is_empty() => nic.name.clone(),
        _ => default_network_name(index),
    }
}

#[cfg(test)]
mod bridge_tests {
    use super::bridge::{adjust_vm_name, is_subdomain};

    #[test]
    fn change_vm_name_rules() {
        assert_eq!(adjust_vm_name("Legacy_DB.Server"), "legacy-db.server");
        assert_eq!(adjust_vm_name("--My VM++x--"), "my-vm-x");
        assert_eq!(adjust_vm_name("a..b"), "a.b");
        assert_eq!(adjust_vm_name(&"x".repeat(80)).len(), 63);
        let empty = adjust_vm_name("日本");
        assert!(empty.starts_with("vm-") && empty.len() == 7, "{empty}");
        assert!(is_subdomain("legacy-db.server"));
        assert!(!is_subdomain("Legacy_DB"));
        assert!(!is_subdomain("a..b"));
    }
}
