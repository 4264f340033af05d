//! Every name the renderer produces, in one place: target VM name, PVC names, volume and
//! network interface names. Template rendering and DNS-1123 adjustment are delegated to the
//! naming module; this file only chooses templates and data per upstream rules.

use sha2::{Digest, Sha256};

use super::build::{PlanFacts, kubevirt_claim};
use crate::inventory::{Disk, Nic, Vm};
use crate::naming::{
    self, NetworkNameTemplateData, PvcNameTemplateData, PvcObjectName, SeededRandom,
    VolumeNameTemplateData,
};
use crate::resources::{NetworkDestination, PlanVm, ProviderType};

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

/// Applies upstream's generateName rule to a rendered PVC name, with a deterministic suffix.
pub fn claim_name(rendered: &str, use_generate_name: bool, seed: &str) -> ClaimName {
    match naming::pvc_object_name(rendered, use_generate_name) {
        PvcObjectName::GenerateName(prefix) => ClaimName {
            name: format!("{prefix}{}", generated_suffix(seed)),
            generate_name: Some(prefix),
        },
        PvcObjectName::Name(name) => ClaimName {
            name,
            generate_name: None,
        },
    }
}

/// Cuts a rendered name to 63 bytes on a character boundary.
pub fn cut63(name: &str) -> String {
    let mut end = name.len().min(63);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
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

/// The target VM name (upstream `Started` phase): an explicit `targetName` (which must be a
/// DNS-1123 subdomain not taken in the target namespace), else a name a previous run chose,
/// else the adjusted source name when it is not a DNS-1123 subdomain (a collision with an
/// existing VM gets a suffix), else the source name. Returns the name and whether it differs
/// from the source name.
pub(super) fn target_vm_name(
    facts: &PlanFacts<'_>,
    pvm: &PlanVm,
    vm: &Vm,
) -> Result<(String, bool), naming::Error> {
    let input = facts.input;
    if let Some(previous) = input
        .context
        .new_names
        .get(&vm.id)
        .filter(|n| !n.is_empty())
    {
        return Ok((previous.clone(), *previous != vm.name));
    }
    let namespace = &input.plan.spec.target_namespace;
    let taken = |candidate: &str| {
        input.destination.is_some_and(|d| {
            d.virtual_machines
                .iter()
                .any(|v| v.namespace == *namespace && v.name == candidate)
        })
    };
    // Seeded from the VM so that two renders agree (upstream seeds from the clock).
    let seed = u64::from_be_bytes(
        Sha256::digest(vm.id.as_bytes())[..8]
            .try_into()
            .unwrap_or_default(),
    );
    let target = Some(pvm.target_name.trim()).filter(|t| !t.is_empty());
    match naming::new_vm_name(&vm.name, target, &taken, &mut SeededRandom::new(seed)) {
        Ok(Some(name)) => {
            let renamed = name != vm.name;
            Ok((name, renamed))
        }
        Ok(None) => Ok((vm.name.clone(), false)),
        Err(e) => Err(e),
    }
}

fn opt(s: &str) -> Option<&str> {
    Some(s).filter(|s| !s.trim().is_empty())
}

/// The rendered PVC name of disk `index` (before the generateName rule).
pub(super) fn pvc_name(
    facts: &PlanFacts<'_>,
    pvm: &PlanVm,
    vm: &Vm,
    disk: &Disk,
    index: usize,
    root_index: usize,
) -> Result<String, String> {
    let input = facts.input;
    let settings = input.settings;
    let openshift = facts.kind == ProviderType::OpenShift;
    let controller = if openshift {
        settings.controller_ocp_pvc_name_template.as_deref()
    } else {
        settings.controller_pvc_name_template.as_deref()
    };
    let template = naming::pvc_name_template(
        opt(&pvm.pvc_name_template),
        opt(&input.plan.spec.pvc_name_template),
        controller,
        openshift,
    );
    let (source_pvc_name, source_pvc_namespace) = if openshift {
        (kubevirt_claim(vm, disk), vm.namespace.clone())
    } else {
        (String::new(), String::new())
    };
    let data = PvcNameTemplateData {
        vm_name: vm.name.clone(),
        target_vm_name: naming::resolve_target_vm_name(
            opt(&pvm.target_name),
            input.context.new_names.get(&vm.id).map(String::as_str),
            &vm.name,
            &vm.id,
        ),
        plan_name: input.plan.metadata.name_or_empty().to_owned(),
        disk_index: index as i64,
        vm_id: vm.id.clone(),
        win_drive_letter: win_drive_letter(vm, disk),
        root_disk_index: root_index as i64,
        shared: disk.shared,
        file_name: file_name(&disk.file),
        source_pvc_name,
        source_pvc_namespace,
        disk_id: disk.id.clone(),
        ..PvcNameTemplateData::default()
    };
    naming::render_pvc_name(template, &data)
        .map_err(|e| format!("PVC name template {template:?}: {e}"))
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
    let default = || format!("vol-{index}");
    match facts.kind {
        ProviderType::VSphere => naming::volume_name(
            naming::volume_name_template(
                opt(&pvm.volume_name_template),
                opt(&facts.input.plan.spec.volume_name_template),
            ),
            &VolumeNameTemplateData {
                pvc_name: claim.to_owned(),
                volume_index: index as i64,
            },
        ),
        ProviderType::OVirt if !disk.id.is_empty() => disk.id.clone(),
        ProviderType::OpenShift => vm
            .kubevirt()
            .and_then(|e| {
                e.volumes
                    .iter()
                    .find(|v| v.claim == kubevirt_claim(vm, disk))
            })
            .map_or_else(default, |v| v.name.clone()),
        _ => default(),
    }
}

/// The interface/network name of a mapped NIC (templates on vSphere; source names on KubeVirt).
pub(super) fn network_name(
    facts: &PlanFacts<'_>,
    pvm: &PlanVm,
    nic: &Nic,
    destination: &NetworkDestination,
    index: usize,
) -> String {
    match facts.kind {
        ProviderType::VSphere => naming::network_name(
            naming::network_name_template(
                opt(&pvm.network_name_template),
                opt(&facts.input.plan.spec.network_name_template),
            ),
            &NetworkNameTemplateData {
                network_name: destination.name.clone(),
                network_namespace: destination.namespace.clone(),
                network_type: destination.type_.as_str().to_owned(),
                network_index: index as i64,
            },
        ),
        ProviderType::OpenShift if !nic.name.is_empty() => nic.name.clone(),
        _ => format!("net-{index}"),
    }
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
    fn cut_on_char_boundary() {
        assert_eq!(cut63(&"é".repeat(40)).len(), 62);
    }
}
