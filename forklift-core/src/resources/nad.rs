//! Multus `NetworkAttachmentDefinition` (`k8s.cni.cncf.io/v1`).

use serde::{Deserialize, Serialize};

use super::{ObjectMeta, resource};

/// `apiVersion` of NetworkAttachmentDefinitions.
pub const NAD_API_VERSION: &str = super::object::api_version_text!(NAD_API_VERSION);

/// Annotation naming the default route (gateway IP) of a transfer network.
pub const ROUTE_ANNOTATION: &str = "forklift.konveyor.io/route";

resource! {
    /// A Multus network attachment.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct NetworkAttachmentDefinition(NAD_API_VERSION, "NetworkAttachmentDefinition") {
        /// CNI configuration.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub spec: Option<NetworkAttachmentDefinitionSpec>,
    }
}

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
