//! Multus `NetworkAttachmentDefinition` (`k8s.cni.cncf.io/v1`).

use serde::{Deserialize, Serialize};

use super::{ObjectMeta, impl_resource};

/// `apiVersion` of NetworkAttachmentDefinitions.
pub const NAD_API_VERSION: &str = "k8s.cni.cncf.io/v1";

/// Annotation naming the default route (gateway IP) of a transfer network.
pub const ROUTE_ANNOTATION: &str = "forklift.konveyor.io/route";

/// A Multus network attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkAttachmentDefinition {
    /// Always `k8s.cni.cncf.io/v1`.
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// Always `NetworkAttachmentDefinition`.
    #[serde(default = "default_kind")]
    pub kind: String,
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// CNI configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<NetworkAttachmentDefinitionSpec>,
}

fn default_api_version() -> String {
    NAD_API_VERSION.to_owned()
}

fn default_kind() -> String {
    "NetworkAttachmentDefinition".to_owned()
}

impl_resource!(
    NetworkAttachmentDefinition,
    NAD_API_VERSION,
    "NetworkAttachmentDefinition"
);

impl NetworkAttachmentDefinition {
    /// A NAD with the given metadata and CNI config JSON.
    pub fn new(metadata: ObjectMeta, config: Option<String>) -> Self {
        Self {
            api_version: default_api_version(),
            kind: default_kind(),
            metadata,
            spec: config.map(|config| NetworkAttachmentDefinitionSpec {
                config: Some(config),
            }),
        }
    }

    /// The `forklift.konveyor.io/route` annotation: the transfer network's gateway, if set.
    pub fn route(&self) -> Option<&str> {
        self.metadata
            .annotations
            .get(ROUTE_ANNOTATION)
            .map(String::as_str)
    }
}

/// `NetworkAttachmentDefinition.spec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAttachmentDefinitionSpec {
    /// CNI configuration JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
}
