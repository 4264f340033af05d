//! `Hook`: an Ansible playbook or AAP job run before or after a VM's migration.

use serde::{Deserialize, Serialize};

use super::serde_util::is_zero;
use super::{API_VERSION, Condition, ObjectReference, resource};

resource! {
    /// A `Hook` resource.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Hook(API_VERSION, "Hook") {
        #[serde(default)]
        spec: HookSpec,
        status: HookStatus,
    }
    /// A hook with the given metadata and spec.
    pub fn new;
}

/// `Hook.spec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookSpec {
    /// Service account of the hook job.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_account: String,
    /// Container image (required for local hooks).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image: String,
    /// Base64-encoded Ansible playbook.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub playbook: String,
    /// Job deadline in seconds; 0 means none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub deadline: i64,
    /// Run an Ansible Automation Platform job template instead of a local job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aap: Option<AapConfig>,
}

/// Ansible Automation Platform job settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AapConfig {
    /// Job template ID (> 0).
    pub job_template_id: i64,
    /// Job timeout in seconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timeout: i64,
    /// Secret with the AAP token (otherwise the cluster-wide one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret: Option<ObjectReference>,
    /// AAP URL (otherwise the cluster-wide one).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
}

/// `Hook.status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookStatus {
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Generation last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
