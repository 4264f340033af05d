//! PVC, volume and network naming templates: the data they see, which template applies
//! (VM → plan → controller setting → default) and how the output is validated.

use serde::{Deserialize, Serialize};

use super::dns1123::{DNS1123_LABEL_MAX_LENGTH, dns1123_label_errors};
use super::{Error, NameKind, Result};
use crate::template::{FieldValue, Template, TemplateData};

/// MTV's default PVC name template for every source except OpenShift.
pub const DEFAULT_PVC_NAME_TEMPLATE: &str =
    "{{trunc 15 .PlanName}}-{{trunc 15 .TargetVmName}}-disk-{{.DiskIndex}}";
/// MTV's default PVC name template for OpenShift (KubeVirt) sources.
pub const DEFAULT_OCP_PVC_NAME_TEMPLATE: &str = "{{.SourcePVCName}}";

/// Variables of PVC name templates (upstream `PVCNameTemplateData`). Unused fields stay at
/// their zero values. Serialized with Go's field names; upstream's JSON names are accepted too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PvcNameTemplateData {
    /// Source VM name.
    #[serde(rename = "VmName", alias = "vmName")]
    pub vm_name: String,
    /// Target VM name as templates see it ([`super::resolve_target_vm_name`]).
    #[serde(rename = "TargetVmName", alias = "targetVmName")]
    pub target_vm_name: String,
    /// Plan name.
    #[serde(rename = "PlanName", alias = "planName")]
    pub plan_name: String,
    /// Position of the disk in the provider's disk order.
    #[serde(rename = "DiskIndex", alias = "diskIndex")]
    pub disk_index: i64,
    /// Source VM ID.
    #[serde(rename = "VmId", alias = "vmId")]
    pub vm_id: String,
    /// vSphere: lower-case Windows drive letter of the disk.
    #[serde(rename = "WinDriveLetter", alias = "winDriveLetter")]
    pub win_drive_letter: String,
    /// vSphere: index of the boot disk.
    #[serde(rename = "RootDiskIndex", alias = "rootDiskIndex")]
    pub root_disk_index: i64,
    /// vSphere: whether the disk is shared.
    #[serde(rename = "Shared", alias = "shared")]
    pub shared: bool,
    /// vSphere: VMDK base file name including `.vmdk`.
    #[serde(rename = "FileName", alias = "fileName")]
    pub file_name: String,
    /// OpenShift: source PVC name.
    #[serde(rename = "SourcePVCName", alias = "sourcePVCName")]
    pub source_pvc_name: String,
    /// OpenShift: source PVC namespace.
    #[serde(rename = "SourcePVCNamespace", alias = "sourcePVCNamespace")]
    pub source_pvc_namespace: String,
    /// EC2: volume ID.
    #[serde(rename = "VolumeID", alias = "volumeID")]
    pub volume_id: String,
    /// EC2: snapshot ID.
    #[serde(rename = "SnapshotID", alias = "snapshotID")]
    pub snapshot_id: String,
    /// Hyper-V/oVirt: disk ID.
    #[serde(rename = "DiskId", alias = "diskId")]
    pub disk_id: String,
}

impl TemplateData for PvcNameTemplateData {
    fn type_name(&self) -> &'static str {
        "v1beta1.PVCNameTemplateData"
    }

    fn field_names(&self) -> &'static [&'static str] {
        &[
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
        ]
    }

    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        Some(match name {
            "VmName" => FieldValue::Str(&self.vm_name),
            "TargetVmName" => FieldValue::Str(&self.target_vm_name),
            "PlanName" => FieldValue::Str(&self.plan_name),
            "DiskIndex" => FieldValue::Int(self.disk_index),
            "VmId" => FieldValue::Str(&self.vm_id),
            "WinDriveLetter" => FieldValue::Str(&self.win_drive_letter),
            "RootDiskIndex" => FieldValue::Int(self.root_disk_index),
            "Shared" => FieldValue::Bool(self.shared),
            "FileName" => FieldValue::Str(&self.file_name),
            "SourcePVCName" => FieldValue::Str(&self.source_pvc_name),
            "SourcePVCNamespace" => FieldValue::Str(&self.source_pvc_namespace),
            "VolumeID" => FieldValue::Str(&self.volume_id),
            "SnapshotID" => FieldValue::Str(&self.snapshot_id),
            "DiskId" => FieldValue::Str(&self.disk_id),
            _ => return None,
        })
    }
}

/// Variables of volume name templates (upstream `VolumeNameTemplateData`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeNameTemplateData {
    /// Name of the PVC the volume mounts.
    #[serde(rename = "PVCName", alias = "pvcName")]
    pub pvc_name: String,
    /// 0-based index of the volume.
    #[serde(rename = "VolumeIndex", alias = "volumeIndex")]
    pub volume_index: i64,
}

impl TemplateData for VolumeNameTemplateData {
    fn type_name(&self) -> &'static str {
        "v1beta1.VolumeNameTemplateData"
    }

    fn field_names(&self) -> &'static [&'static str] {
        &["PVCName", "VolumeIndex"]
    }

    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        Some(match name {
            "PVCName" => FieldValue::Str(&self.pvc_name),
            "VolumeIndex" => FieldValue::Int(self.volume_index),
            _ => return None,
        })
    }
}

/// Variables of network name templates (upstream `NetworkNameTemplateData`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkNameTemplateData {
    /// Multus network attachment definition name (empty for the pod network).
    #[serde(rename = "NetworkName", alias = "networkName")]
    pub network_name: String,
    /// Namespace of the network attachment definition.
    #[serde(rename = "NetworkNamespace", alias = "networkNamespace")]
    pub network_namespace: String,
    /// Destination type as written in the network map (`pod` or `multus`).
    #[serde(rename = "NetworkType", alias = "networkType")]
    pub network_type: String,
    /// 0-based index among mapped (non-ignored) NICs.
    #[serde(rename = "NetworkIndex", alias = "networkIndex")]
    pub network_index: i64,
}

impl TemplateData for NetworkNameTemplateData {
    fn type_name(&self) -> &'static str {
        "v1beta1.NetworkNameTemplateData"
    }

    fn field_names(&self) -> &'static [&'static str] {
        &[
            "NetworkName",
            "NetworkNamespace",
            "NetworkType",
            "NetworkIndex",
        ]
    }

    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        Some(match name {
            "NetworkName" => FieldValue::Str(&self.network_name),
            "NetworkNamespace" => FieldValue::Str(&self.network_namespace),
            "NetworkType" => FieldValue::Str(&self.network_type),
            "NetworkIndex" => FieldValue::Int(self.network_index),
            _ => return None,
        })
    }
}

fn first_set<'a>(candidates: &[Option<&'a str>]) -> Option<&'a str> {
    candidates.iter().flatten().copied().find(|t| !t.is_empty())
}

/// Upstream's `GetPVCNameTemplate`: the VM's template, else the plan's, else the
/// ForkliftController setting (`controller_ocp_pvc_name_template` for OpenShift sources,
/// `controller_pvc_name_template` otherwise), else the default. Empty strings count as unset.
pub fn pvc_name_template<'a>(
    vm: Option<&'a str>,
    plan: Option<&'a str>,
    controller: Option<&'a str>,
    source_is_openshift: bool,
) -> &'a str {
    let default = if source_is_openshift {
        DEFAULT_OCP_PVC_NAME_TEMPLATE
    } else {
        DEFAULT_PVC_NAME_TEMPLATE
    };
    first_set(&[vm, plan, controller]).unwrap_or(default)
}

/// The volume (or network) name template: the VM's, else the plan's; `None` means the
/// default `vol-<i>` (`net-<i>`) applies.
pub fn volume_name_template<'a>(vm: Option<&'a str>, plan: Option<&'a str>) -> Option<&'a str> {
    first_set(&[vm, plan])
}

/// See [`volume_name_template`].
pub fn network_name_template<'a>(vm: Option<&'a str>, plan: Option<&'a str>) -> Option<&'a str> {
    first_set(&[vm, plan])
}

fn check_label(kind: NameKind, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::EmptyName { kind });
    }
    let reasons = dns1123_label_errors(name);
    if !reasons.is_empty() {
        return Err(Error::NotDns1123Label {
            kind,
            name: name.to_owned(),
            reasons,
        });
    }
    Ok(())
}

fn execute(kind: NameKind, template: &str, data: &dyn TemplateData) -> Result<String> {
    let t = Template::parse(template).map_err(|source| Error::Template { kind, source })?;
    t.render(data)
        .map_err(|source| Error::Template { kind, source })
}

/// Renders a PVC name template and validates it as upstream's `ValidatePVCNameTemplate`:
/// the output is trimmed and must be a non-empty DNS-1123 label.
pub fn render_pvc_name(template: &str, data: &PvcNameTemplateData) -> Result<String> {
    let out = execute(NameKind::Pvc, template, data)?;
    let name = out.trim().to_owned();
    check_label(NameKind::Pvc, &name)?;
    Ok(name)
}

/// How a PVC gets its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PvcObjectName {
    /// `metadata.name`.
    Name(String),
    /// `metadata.generateName` (Kubernetes appends 5 random characters).
    GenerateName(String),
}

/// Upstream's `SetPVCNameOnObject` for a validated rendered name: with `use_generate_name`
/// the name gets a trailing `-` and becomes `generateName`; otherwise one trailing `-` is
/// removed and it becomes `name`.
pub fn pvc_object_name(rendered: &str, use_generate_name: bool) -> PvcObjectName {
    if use_generate_name {
        if rendered.ends_with('-') {
            PvcObjectName::GenerateName(rendered.to_owned())
        } else {
            PvcObjectName::GenerateName(format!("{rendered}-"))
        }
    } else {
        PvcObjectName::Name(rendered.strip_suffix('-').unwrap_or(rendered).to_owned())
    }
}

/// The volume name used when building the target VM: the rendered template cut to 63
/// characters, or `vol-<index>` when there is no template or it fails (upstream logs the
/// failure and falls back).
pub fn volume_name(template: Option<&str>, data: &VolumeNameTemplateData) -> String {
    let default = || format!("vol-{}", data.volume_index);
    let Some(template) = template else {
        return default();
    };
    match execute(NameKind::Volume, template, data) {
        Ok(name) => truncate_to_label(name),
        Err(e) => {
            tracing::warn!(error = %e, "volume name template failed, using the default name");
            default()
        }
    }
}

/// The network interface name used when building the target VM: the rendered template cut
/// to 63 characters, or `net-<index>` when there is no template or it fails.
pub fn network_name(template: Option<&str>, data: &NetworkNameTemplateData) -> String {
    let default = || format!("net-{}", data.network_index);
    let Some(template) = template else {
        return default();
    };
    match execute(NameKind::Network, template, data) {
        Ok(name) => truncate_to_label(name),
        Err(e) => {
            tracing::warn!(error = %e, "network name template failed, using the default name");
            default()
        }
    }
}

fn truncate_to_label(mut name: String) -> String {
    if name.len() > DNS1123_LABEL_MAX_LENGTH {
        let mut end = DNS1123_LABEL_MAX_LENGTH;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    name
}

/// Plan validation of a PVC name template: renders it with the VM's real disk data and
/// applies [`render_pvc_name`]'s checks.
pub fn validate_pvc_name_template(template: &str, data: &PvcNameTemplateData) -> Result<String> {
    render_pvc_name(template, data)
}

/// Plan validation of a volume name template with upstream's test data
/// (`PVCName: "test-pvc", VolumeIndex: 0`): the output (not trimmed) must be a non-empty
/// DNS-1123 label.
pub fn validate_volume_name_template(template: &str) -> Result<String> {
    let data = VolumeNameTemplateData {
        pvc_name: "test-pvc".into(),
        volume_index: 0,
    };
    let name = execute(NameKind::Volume, template, &data)?;
    check_label(NameKind::Volume, &name)?;
    Ok(name)
}

/// Plan validation of a network name template with upstream's test data
/// (`test-network`, `test-namespace`, `Multus`, 0): the output must be a non-empty
/// DNS-1123 label.
pub fn validate_network_name_template(template: &str) -> Result<String> {
    let data = NetworkNameTemplateData {
        network_name: "test-network".into(),
        network_namespace: "test-namespace".into(),
        network_type: "Multus".into(),
        network_index: 0,
    };
    let name = execute(NameKind::Network, template, &data)?;
    check_label(NameKind::Network, &name)?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::ErrorClass;

    fn disk(plan: &str, target: &str, index: i64) -> PvcNameTemplateData {
        PvcNameTemplateData {
            vm_name: target.to_uppercase(),
            target_vm_name: target.into(),
            plan_name: plan.into(),
            disk_index: index,
            ..Default::default()
        }
    }

    #[test]
    fn default_pvc_template_truncates_plan_and_vm() {
        let t = pvc_name_template(None, None, None, false);
        let name = render_pvc_name(
            t,
            &disk("migration-plan-2026-q4", "database-server-primary", 2),
        )
        .unwrap();
        assert_eq!(name, "migration-plan--database-server-disk-2");
    }

    #[test]
    fn resolution_order() {
        assert_eq!(
            pvc_name_template(Some("vm"), Some("plan"), Some("ctl"), false),
            "vm"
        );
        assert_eq!(
            pvc_name_template(Some(""), Some("plan"), Some("ctl"), false),
            "plan"
        );
        assert_eq!(pvc_name_template(None, None, Some("ctl"), true), "ctl");
        assert_eq!(
            pvc_name_template(None, None, None, true),
            "{{.SourcePVCName}}"
        );
        assert_eq!(volume_name_template(None, Some("p")), Some("p"));
        assert_eq!(network_name_template(None, None), None);
    }

    #[test]
    fn guide_examples() {
        let d = PvcNameTemplateData {
            vm_name: "web".into(),
            disk_index: 1,
            root_disk_index: 1,
            ..Default::default()
        };
        assert_eq!(
            render_pvc_name("{{.VmName}}-disk-{{.DiskIndex}}", &d).unwrap(),
            "web-disk-1"
        );
        let t = "{{if eq .DiskIndex .RootDiskIndex}}root{{else}}data{{end}}-{{.DiskIndex}}";
        assert_eq!(render_pvc_name(t, &d).unwrap(), "root-1");
        assert_eq!(
            validate_volume_name_template("disk-{{.VolumeIndex}}").unwrap(),
            "disk-0"
        );
        assert_eq!(
            validate_volume_name_template("pvc-{{.PVCName}}").unwrap(),
            "pvc-test-pvc"
        );
        assert_eq!(
            validate_network_name_template("net-{{.NetworkIndex}}").unwrap(),
            "net-0"
        );
        let n = "{{if eq .NetworkType \"pod\"}}pod{{else}}multus-{{.NetworkIndex}}{{end}}";
        assert_eq!(validate_network_name_template(n).unwrap(), "multus-0");
    }

    #[test]
    fn validation_failures_are_typed() {
        let d = disk("p", "v", 0);
        assert!(matches!(
            render_pvc_name("  ", &d),
            Err(Error::EmptyName {
                kind: NameKind::Pvc
            })
        ));
        assert!(matches!(
            render_pvc_name("Upper", &d),
            Err(Error::NotDns1123Label { .. })
        ));
        assert!(matches!(
            render_pvc_name("x-", &d),
            Err(Error::NotDns1123Label { .. })
        ));
        match render_pvc_name("{{.Nope}}", &d) {
            Err(Error::Template { source, .. }) => assert_eq!(source.class(), ErrorClass::Exec),
            other => panic!("{other:?}"),
        }
        match render_pvc_name("{{", &d) {
            Err(Error::Template { source, .. }) => assert_eq!(source.class(), ErrorClass::Parse),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            validate_volume_name_template(" vol"),
            Err(Error::NotDns1123Label { .. })
        ));
    }

    #[test]
    fn pvc_rendering_trims_whitespace() {
        assert_eq!(
            render_pvc_name("  a-b \n", &disk("p", "v", 0)).unwrap(),
            "a-b"
        );
    }

    #[test]
    fn generate_name_handling() {
        assert_eq!(
            pvc_object_name("web-disk", true),
            PvcObjectName::GenerateName("web-disk-".into())
        );
        assert_eq!(
            pvc_object_name("web-disk-", true),
            PvcObjectName::GenerateName("web-disk-".into())
        );
        assert_eq!(
            pvc_object_name("web-disk-", false),
            PvcObjectName::Name("web-disk".into())
        );
        assert_eq!(
            pvc_object_name("web-disk", false),
            PvcObjectName::Name("web-disk".into())
        );
    }

    #[test]
    fn runtime_volume_and_network_names_fall_back() {
        let v = VolumeNameTemplateData {
            pvc_name: "p".into(),
            volume_index: 4,
        };
        assert_eq!(volume_name(None, &v), "vol-4");
        assert_eq!(volume_name(Some("{{.Bad}}"), &v), "vol-4");
        assert_eq!(volume_name(Some("{{repeat 70 \"a\"}}"), &v).len(), 63);
        let n = NetworkNameTemplateData {
            network_index: 2,
            ..Default::default()
        };
        assert_eq!(network_name(None, &n), "net-2");
        assert_eq!(network_name(Some("nic{{.NetworkIndex}}"), &n), "nic2");
    }

    #[test]
    fn data_serializes_with_go_field_names() {
        let d = disk("p", "v", 3);
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["PlanName"], "p");
        assert_eq!(json["DiskIndex"], 3);
        let back: PvcNameTemplateData =
            serde_json::from_str(r#"{"planName": "x", "DiskIndex": 1}"#).unwrap();
        assert_eq!(back.plan_name, "x");
        assert_eq!(back.disk_index, 1);
    }
}
