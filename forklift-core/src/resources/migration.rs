//! `Migration`: one run of a plan.

use serde::{Deserialize, Serialize};

use super::serde_util::is_false;
use super::{API_VERSION, Condition, ObjectMeta, ObjectReference, Ref, VmStatus, resource};

resource! {
    /// A `Migration` resource.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Migration(API_VERSION, "Migration") {
        spec: MigrationSpec,
        status: MigrationStatus,
    }
}

impl Migration {
    /// A migration of the given plan.
    pub fn new(metadata: ObjectMeta, plan: ObjectReference) -> Self {
        Self {
            api_version: default_api_version(),
            kind: default_kind(),
            metadata,
            spec: MigrationSpec {
                plan,
                ..MigrationSpec::default()
            },
            status: None,
        }
    }
}

/// `Migration.spec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationSpec {
    /// The plan to run.
    #[serde(default)]
    pub plan: ObjectReference,
    /// VMs to cancel (matched by ID only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cancel: Vec<Ref>,
    /// Cutover time of a warm migration (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutover: Option<String>,
    /// Per-VM cutover times overriding `cutover`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vm_cutover: Vec<VmCutover>,
    /// Re-run only the conversion, reusing the copied PVCs.
    #[serde(default, skip_serializing_if = "is_false")]
    pub resume_conversion: bool,
}

impl MigrationSpec {
    /// The cutover time for a VM: its own, else the global one (upstream `CutoverFor`).
    pub fn cutover_for(&self, vm_id: &str) -> Option<&str> {
        self.vm_cutover
            .iter()
            .find(|c| c.id == vm_id)
            .map(|c| c.cutover.as_str())
            .or(self.cutover.as_deref())
    }
}

/// A per-VM cutover time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmCutover {
    /// Inventory ID of the VM.
    pub id: String,
    /// Cutover time (RFC 3339).
    pub cutover: String,
}

/// `Migration.status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationStatus {
    /// Start time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// Completion time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<String>,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Generation last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Per-VM status (copy of the plan's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vms: Vec<VmStatus>,
}
