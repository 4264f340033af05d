//! Storage pair resolution.

use crate::inventory::{Disk, Lookup, SourceInventory, Vm};
use crate::resources::{ProviderType, StoragePair};
use std::collections::HashMap;

/// Source name of the pair that maps OpenStack image-based (Glance) disks.
pub const GLANCE_SOURCE: &str = "glance";

/// Prefix of the guide's OVA catch-all storage name.
pub const DUMMY_STORAGE_PREFIX: &str = "Dummy storage for source provider ";

/// The guide's OVA catch-all storage name for a provider.
pub fn dummy_storage_name(provider: &str) -> String {
    format!("{DUMMY_STORAGE_PREFIX}{provider}")
}

/// Resolves disks to storage pairs.
#[derive(Debug)]
pub struct StorageMapper<'m> {
    pairs: &'m [StoragePair],
    by_key: HashMap<String, usize>,
    glance: Option<usize>,
    dummy: Option<usize>,
    provider: ProviderType,
}

impl<'m> StorageMapper<'m> {
    /// Indexes the pairs. `provider_name`/`provider_uid` identify the OVA source provider for
    /// the "Dummy storage" form (either may be empty when unknown; an empty name accepts the
    /// form for any provider). With an inventory, pairs given by name are also indexed under
    /// the ID they resolve to, and pairs given by ID under the resolved storage's name.
    pub fn new(
        pairs: &'m [StoragePair],
        inventory: Option<&SourceInventory>,
        provider_name: &str,
        provider_uid: &str,
    ) -> Self {
        let provider = inventory.map(|i| i.provider).unwrap_or_default();
        let mut mapper = Self {
            pairs,
            by_key: HashMap::new(),
            glance: None,
            dummy: None,
            provider,
        };
        for (i, pair) in pairs.iter().enumerate() {
            let source = &pair.source;
            if source.name == GLANCE_SOURCE && source.id.is_empty() {
                mapper.glance.get_or_insert(i);
                continue;
            }
            let dummy_name = source.name.strip_prefix(DUMMY_STORAGE_PREFIX);
            if dummy_name.is_some_and(|n| provider_name.is_empty() || n == provider_name)
                || (!provider_uid.is_empty() && source.id == provider_uid)
            {
                mapper.dummy.get_or_insert(i);
                continue;
            }
            for key in [&source.id, &source.name] {
                if !key.is_empty() {
                    mapper.by_key.entry(key.clone()).or_insert(i);
                }
            }
            if let Some(Lookup::Found(storage)) =
                inventory.map(|x| x.find_storage(&source.id, &source.name))
            {
                mapper.by_key.entry(storage.id.clone()).or_insert(i);
                mapper.by_key.entry(storage.name.clone()).or_insert(i);
            }
        }
        mapper
    }

    /// The pairs being resolved against.
    pub fn pairs(&self) -> &'m [StoragePair] {
        self.pairs
    }

    /// Whether the map has the OVA catch-all pair.
    pub fn has_dummy(&self) -> bool {
        self.dummy.is_some()
    }

    /// The `glance` pair, if any.
    pub fn glance(&self) -> Option<&'m StoragePair> {
        self.glance.map(|i| &self.pairs[i])
    }

    /// The pair for a storage ID or name.
    pub fn by_storage(&self, key: &str) -> Option<&'m StoragePair> {
        if key.is_empty() {
            return None;
        }
        self.by_key.get(key).map(|&i| &self.pairs[i])
    }

    /// The pair a disk of `vm` goes through, if any.
    pub fn pair_for_disk(&self, vm: &Vm, disk: &Disk) -> Option<&'m StoragePair> {
        match self.provider {
            ProviderType::Ova => self
                .by_storage(&disk.id)
                .or_else(|| self.by_storage(&disk.storage))
                .or(self.dummy.map(|i| &self.pairs[i])),
            ProviderType::OpenStack if disk.storage.is_empty() => vm
                .openstack()
                .filter(|o| o.image_booted())
                .and(self.glance()),
            _ => self.by_storage(&disk.storage),
        }
    }

    /// Whether every disk of `vm` has a pair (and, for image-booted OpenStack VMs, `glance`).
    pub fn all_disks_mapped(&self, vm: &Vm) -> bool {
        let disks_ok = vm.disks.iter().all(|d| self.pair_for_disk(vm, d).is_some());
        let glance_ok = self.provider != ProviderType::OpenStack
            || !vm.openstack().is_some_and(|o| o.image_booted())
            || self.glance.is_some();
        disks_ok && glance_ok
    }
}
