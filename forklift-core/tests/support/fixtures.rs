//! Loading render fixtures: multi-document YAML of Forklift resources plus inventories.

use forklift_core::inventory::{DestinationInventory, SourceInventory};
use forklift_core::resources::{
    ForkliftControllerSettings, Hook, NetworkMap, Plan, Provider, StorageMap,
};
use serde::Deserialize;
use std::path::PathBuf;

/// Path of a file under `tests/fixtures/render/`.
pub fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/render")
        .join(name)
}

/// The resources of one fixture file.
#[derive(Default)]
pub struct Resources {
    pub plans: Vec<Plan>,
    pub network_maps: Vec<NetworkMap>,
    pub storage_maps: Vec<StorageMap>,
    pub providers: Vec<Provider>,
    pub hooks: Vec<Hook>,
}

impl Resources {
    pub fn load(name: &str) -> Self {
        let text = std::fs::read_to_string(path(name)).unwrap();
        let mut out = Resources::default();
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let value = serde_json::Value::deserialize(doc).unwrap();
            let kind = value["kind"].as_str().unwrap_or_default().to_owned();
            match kind.as_str() {
                "Plan" => out.plans.push(serde_json::from_value(value).unwrap()),
                "NetworkMap" => out
                    .network_maps
                    .push(serde_json::from_value(value).unwrap()),
                "StorageMap" => out
                    .storage_maps
                    .push(serde_json::from_value(value).unwrap()),
                "Provider" => out.providers.push(serde_json::from_value(value).unwrap()),
                "Hook" => out.hooks.push(serde_json::from_value(value).unwrap()),
                other => panic!("unexpected kind {other}"),
            }
        }
        out
    }

    pub fn provider(&self, name: &str) -> &Provider {
        self.providers
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(name))
            .unwrap()
    }
}

pub fn source(name: &str) -> SourceInventory {
    SourceInventory::from_json(&std::fs::read_to_string(path(name)).unwrap()).unwrap()
}

pub fn destination(name: &str) -> DestinationInventory {
    DestinationInventory::from_json(&std::fs::read_to_string(path(name)).unwrap()).unwrap()
}

pub fn default_settings() -> ForkliftControllerSettings {
    serde_json::from_str("{}").unwrap()
}
