//! The conversion phases of a VM's itinerary: `CreateGuestConversionPod` prepares the
//! conversion of the copied disks (upstream creates the virt-v2v pod there and records that
//! the disks are copied), `ConvertGuest` runs it and records what it found.

use std::path::PathBuf;

use forklift_core::credentials::SecretString;
use forklift_core::error::PeerText;
use forklift_core::render::RenderContext;
use forklift_core::render::TargetVm;
use forklift_core::render::kubevirt::Matcher;
use forklift_core::render::osmap::{os_key, preference_for, vsphere_guest_id_for_osinfo};
use forklift_core::resources::{Category, Condition, PlanVm, Secret};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::request::{ConversionDisk, ConversionNic, ConversionRequest, Firmware};
use super::{ConversionReport, ConvertError};
use crate::migrate::MigrateError;
use crate::migrate::events::MigrationEvent;
use crate::migrate::vm::RunContext;

/// Condition type upstream sets on a VM whose conversion warned.
pub const CONVERSION_HAS_WARNINGS: &str = "ConversionHasWarnings";

/// The environment variables of render's conversion environment passed to virt-v2v as they
/// are; the `V2V_*` ones are turned into arguments here, as upstream's conversion entry
/// point does.
const PASSED_ENV: [&str; 1] = ["VIRTIO_WIN"];

/// `CreateGuestConversionPod`: checks that the converter can run and builds the request for
/// the copied disks.
pub(crate) async fn prepare(
    ctx: &RunContext,
    target: &TargetVm,
) -> Result<ConversionRequest, MigrateError> {
    let converter = ctx
        .converter
        .as_ref()
        .ok_or(MigrateError::PhaseNotSupported {
            phase: forklift_core::itinerary::Phase::CreateGuestConversionPod,
        })?;
    converter.check()?;
    let namespace = &ctx.bundle.plan.spec.target_namespace;
    let mut disks = Vec::with_capacity(target.disks.len());
    for disk in &target.disks {
        let path = ctx
            .destination
            .local_disk_path(namespace, &disk.claim_name)
            .ok_or_else(|| ConvertError::DiskNotLocal {
                vm: target.target_name.clone(),
                claim: disk.claim_name.clone(),
            })?;
        disks.push(ConversionDisk {
            path,
            claim: disk.claim_name.clone(),
        });
    }
    let plan_vm = plan_vm(ctx, target);
    let domain = target
        .virtual_machine
        .as_ref()
        .map(|vm| &vm.spec.template.spec.domain);
    let firmware = match domain
        .and_then(|d| d.firmware.as_ref())
        .and_then(|f| f.bootloader.as_ref())
    {
        Some(b) if b.efi.is_some() => Firmware::Uefi,
        _ => Firmware::Bios,
    };
    let nics = domain
        .map(|d| {
            d.devices
                .interfaces
                .iter()
                .filter(|i| !i.mac_address.is_empty())
                .map(|i| ConversionNic {
                    mac: i.mac_address.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let memory_mib = domain
        .and_then(|d| d.memory.as_ref())
        .map_or(0, |m| mebibytes(&m.guest));
    let vcpus = domain.and_then(|d| d.cpu.as_ref()).map_or(0, |c| {
        c.sockets.unwrap_or(1).saturating_mul(c.cores.unwrap_or(1))
    });
    let static_ips = target
        .conversion_env
        .get("V2V_staticIPs")
        .map(|v| {
            v.split('_')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let clevis = plan_vm.as_ref().is_some_and(|v| v.nbde_clevis);
    let luks_keys = match plan_vm.as_ref() {
        Some(vm) if !clevis => luks_keys(ctx, target, vm)?,
        _ => Vec::new(),
    };
    let root = plan_vm
        .as_ref()
        .map(|v| v.root_disk.trim().to_owned())
        .filter(|r| !r.is_empty());
    let env = target
        .conversion_env
        .iter()
        .filter(|(k, _)| PASSED_ENV.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(ConversionRequest {
        vm_name: target.target_name.clone(),
        disks,
        firmware,
        nics,
        memory_mib,
        vcpus,
        root,
        static_ips,
        luks_keys,
        clevis,
        env,
        xfs_compatibility: ctx.bundle.plan.spec.xfs_compatibility,
        customization_scripts: ctx.customization_scripts.clone(),
        log: log_path(ctx, target)?,
        work_dir: work_dir(target),
    })
}

/// `ConvertGuest`: runs the conversion, sends its stages as progress events and records the
/// inspected OS and warnings in the VM's status.
pub(crate) async fn convert(
    ctx: &RunContext,
    target: &TargetVm,
    request: &ConversionRequest,
    cancel: &CancellationToken,
) -> Result<ConversionReport, MigrateError> {
    let converter = ctx
        .converter
        .as_ref()
        .ok_or(MigrateError::PhaseNotSupported {
            phase: forklift_core::itinerary::Phase::ConvertGuest,
        })?;
    let (tx, mut rx) = mpsc::channel::<super::ConversionProgress>(64);
    let forward = async {
        while let Some(progress) = rx.recv().await {
            tracing::info!(vm = %PeerText(&target.source_name), stage = %PeerText(&progress.stage), "conversion");
            ctx.emit(MigrationEvent::ConversionProgress {
                vm: target.source_id.clone(),
                seconds: progress.seconds,
                stage: progress.stage,
            })
            .await;
        }
    };
    let (result, ()) = tokio::join!(converter.convert(request, tx, cancel), forward);
    let report = result?;
    let operating_system = report
        .osinfo
        .as_deref()
        .map(|osinfo| vsphere_guest_id_for_osinfo(osinfo, report.os_type.as_deref().unwrap_or("")));
    let warnings = (!report.warnings.is_empty()).then(|| {
        Condition::new(CONVERSION_HAS_WARNINGS, Category::Warn)
            .with_message(format!(
                "The guest conversion reported warnings: {}",
                report.warnings.join("; ")
            ))
            .with_items(report.warnings.clone())
    });
    ctx.status
        .converted(&target.source_id, operating_system, warnings)
        .await;
    tracing::info!(vm = %PeerText(&target.source_name), osinfo = ?report.osinfo, virtio = report.virtio_drivers,
        seconds = report.seconds, log = %report.log.display(), "guest converted");
    Ok(report)
}

/// The preference of the VirtualMachine once the guest was inspected: render's choice
/// ([`preference_for`]) with the OS virt-v2v found as the OS-map key, as upstream's builders
/// create the VM after the conversion. `None` when the OS maps give none (OVA and the other
/// providers without preferences, an OS not in the map); an instance type's preference kind
/// is kept as render chose it.
pub(crate) fn preference_after(
    ctx: &RunContext,
    target: &TargetVm,
    report: &ConversionReport,
) -> Option<Matcher> {
    let provider = ctx.bundle.source_provider()?.spec.type_?;
    let detected = report
        .osinfo
        .as_deref()
        .map(|osinfo| vsphere_guest_id_for_osinfo(osinfo, report.os_type.as_deref().unwrap_or("")));
    let (vsphere, ovirt) = RenderContext::default().os_maps(&ctx.bundle.settings);
    let key = os_key(provider, detected.as_deref(), "");
    let name = preference_for(provider, &vsphere, &ovirt, key)?;
    let kind = target
        .virtual_machine
        .as_ref()
        .and_then(|vm| vm.spec.preference.as_ref())
        .map_or("VirtualMachineClusterPreference", |p| p.kind.as_str());
    Some(Matcher {
        name: name.to_owned(),
        kind: kind.to_owned(),
    })
}

fn plan_vm(ctx: &RunContext, target: &TargetVm) -> Option<PlanVm> {
    crate::migrate::vm::plan_vm(&ctx.bundle.plan, target).cloned()
}

/// Every value of the VM's `luks` Secret, in key order (upstream mounts each key as a file
/// and passes them all).
fn luks_keys(
    ctx: &RunContext,
    target: &TargetVm,
    vm: &PlanVm,
) -> Result<Vec<SecretString>, ConvertError> {
    let Some(reference) = vm.luks.as_ref().filter(|r| !r.name.is_empty()) else {
        return Ok(Vec::new());
    };
    let namespace = if reference.namespace.is_empty() {
        ctx.bundle.plan.metadata.namespace_or_empty()
    } else {
        reference.namespace.as_str()
    };
    let key = format!("{namespace}/{}", reference.name);
    let secret: &Secret = ctx
        .secrets
        .iter()
        .find(|s| {
            s.metadata.namespace_or_empty() == namespace
                && s.metadata.name_or_empty() == reference.name
        })
        .ok_or_else(|| ConvertError::LuksSecretNotFound {
            vm: target.source_name.clone(),
            secret: key.clone(),
        })?;
    let mut names: Vec<&String> = secret
        .data
        .keys()
        .chain(secret.string_data.keys())
        .collect();
    names.sort();
    names.dedup();
    let keys: Vec<SecretString> = names
        .into_iter()
        .filter_map(|name| secret.get_str(name))
        .filter(|v| !v.is_empty())
        .map(|v| SecretString::new(v.into_owned()))
        .collect();
    if keys.is_empty() {
        return Err(ConvertError::LuksSecretEmpty {
            vm: target.source_name.clone(),
            secret: key,
        });
    }
    Ok(keys)
}

/// The conversion log of `target`: `<plan status file>.conversion/<target name>.log`, next
/// to the status that records the VM.
fn log_path(ctx: &RunContext, target: &TargetVm) -> Result<PathBuf, MigrateError> {
    let plan = &ctx.bundle.plan;
    let status = ctx.destination.status_path(
        plan.metadata.namespace_or_empty(),
        plan.metadata.name_or_empty(),
    )?;
    let mut dir = status.into_os_string();
    dir.push(".conversion");
    Ok(PathBuf::from(dir).join(format!("{}.log", target.target_name)))
}

/// A private directory for the domain XML and key files.
fn work_dir(target: &TargetVm) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "forklift-v2v-{}-{}-{nanos}",
        std::process::id(),
        target.target_name
    ))
}

/// MiB of a Kubernetes quantity as render writes guest memory (`1024Mi`, `4Gi`, bytes); 0
/// when it cannot be read.
fn mebibytes(quantity: &str) -> u64 {
    let q = quantity.trim();
    let (number, factor) = if let Some(n) = q.strip_suffix("Gi") {
        (n, 1024)
    } else if let Some(n) = q.strip_suffix("Mi") {
        (n, 1)
    } else {
        return q.parse::<u64>().map_or(0, |b| b / (1024 * 1024));
    };
    number
        .parse::<u64>()
        .map_or(0, |n| n.saturating_mul(factor))
}

#[cfg(test)]
mod tests {
    use super::mebibytes;

    #[test]
    fn memory_quantities() {
        assert_eq!(mebibytes("1024Mi"), 1024);
        assert_eq!(mebibytes("4Gi"), 4096);
        assert_eq!(mebibytes("2147483648"), 2048);
        assert_eq!(mebibytes("lots"), 0);
    }
}
