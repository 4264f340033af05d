//! Gathers what a plan needs from a manifest set: its maps, providers, hooks, Migration and
//! controller settings.

use forklift_core::manifest::ManifestSet;
use forklift_core::resources::{
    ForkliftController, ForkliftControllerSettings, Hook, Migration, NetworkMap, ObjectMeta,
    ObjectReference, Plan, Provider, StorageMap,
};

use super::MigrateError;

/// A plan with the resources it references, resolved from one manifest set.
#[derive(Debug, Clone)]
pub struct PlanInputs {
    /// The plan.
    pub plan: Plan,
    /// The Migration that runs it (from the manifests, or a new one).
    pub migration: Migration,
    /// Its network map, when found.
    pub network_map: Option<NetworkMap>,
    /// Its storage map, when found.
    pub storage_map: Option<StorageMap>,
    /// Its source provider.
    pub source_provider: Provider,
    /// Its destination provider, when found.
    pub destination_provider: Option<Provider>,
    /// Every Provider of the set (validation checks references itself).
    pub providers: Vec<Provider>,
    /// Every NetworkMap of the set.
    pub network_maps: Vec<NetworkMap>,
    /// Every StorageMap of the set.
    pub storage_maps: Vec<StorageMap>,
    /// Every Hook of the set.
    pub hooks: Vec<Hook>,
    /// The ForkliftController settings (defaults when the set has none).
    pub settings: ForkliftControllerSettings,
}

fn namespace_of<'a>(reference: &'a ObjectReference, default: &'a str) -> &'a str {
    if reference.namespace.is_empty() {
        default
    } else {
        &reference.namespace
    }
}

impl PlanInputs {
    /// Resolves the plan named `plan` (`namespace/name` or a name), or the only plan of the set.
    pub fn from_manifests(set: &ManifestSet, plan: Option<&str>) -> Result<Self, MigrateError> {
        let (want_ns, want_name) = match plan.map(|p| p.split_once('/').unwrap_or(("", p))) {
            Some((ns, name)) => (Some(ns).filter(|ns| !ns.is_empty()), Some(name)),
            None => (None, None),
        };
        let plans: Vec<&Plan> = set
            .all::<Plan>()
            .filter(|p| want_name.is_none_or(|n| p.metadata.name_or_empty() == n))
            .filter(|p| want_ns.is_none_or(|ns| p.metadata.namespace_or_empty() == ns))
            .collect();
        let plan = match plans.as_slice() {
            [one] => (*one).clone(),
            [] => {
                return Err(MigrateError::Manifest(match plan {
                    Some(name) => format!("no Plan named '{name}'"),
                    None => "no Plan in the manifests".to_owned(),
                }));
            }
            _ => {
                return Err(MigrateError::Manifest(
                    "several Plans in the manifests; name one".to_owned(),
                ));
            }
        };
        let ns = plan.metadata.namespace_or_empty().to_owned();
        let find_provider = |reference: &ObjectReference| {
            set.get_as::<Provider>(namespace_of(reference, &ns), &reference.name)
                .cloned()
        };
        let source_ref = &plan.spec.provider.source;
        let source_provider = find_provider(source_ref).ok_or_else(|| {
            MigrateError::Manifest(format!(
                "Plan {ns}/{}: source provider {}/{} not found",
                plan.metadata.name_or_empty(),
                namespace_of(source_ref, &ns),
                source_ref.name
            ))
        })?;
        let destination_provider = find_provider(&plan.spec.provider.destination);
        let network_ref = &plan.spec.map.network;
        let storage_ref = &plan.spec.map.storage;
        let network_map = set
            .get_as::<NetworkMap>(namespace_of(network_ref, &ns), &network_ref.name)
            .cloned();
        let storage_map = set
            .get_as::<StorageMap>(namespace_of(storage_ref, &ns), &storage_ref.name)
            .cloned();
        let plan_name = plan.metadata.name_or_empty().to_owned();
        let migration = set
            .all::<Migration>()
            .find(|m| {
                m.spec.plan.name == plan_name
                    && namespace_of(&m.spec.plan, m.metadata.namespace_or_empty()) == ns
            })
            .cloned()
            .unwrap_or_else(|| {
                let meta = ObjectMeta {
                    name: Some(format!("{plan_name}-migration")),
                    namespace: Some(ns.clone()),
                    ..ObjectMeta::default()
                };
                let reference = ObjectReference {
                    name: plan_name.clone(),
                    namespace: ns.clone(),
                    ..Default::default()
                };
                Migration::new(meta, reference)
            });
        let settings = set
            .all::<ForkliftController>()
            .next()
            .map(|c| c.spec.clone())
            .unwrap_or_default();
        Ok(Self {
            migration,
            network_map,
            storage_map,
            source_provider,
            destination_provider,
            providers: set.all::<Provider>().cloned().collect(),
            network_maps: set.all::<NetworkMap>().cloned().collect(),
            storage_maps: set.all::<StorageMap>().cloned().collect(),
            hooks: set.all::<Hook>().cloned().collect(),
            settings,
            plan,
        })
    }

    /// `namespace/name` of the plan.
    pub fn plan_key(&self) -> String {
        format!(
            "{}/{}",
            self.plan.metadata.namespace_or_empty(),
            self.plan.metadata.name_or_empty()
        )
    }

    /// The Hook a `namespace/name` reference names.
    pub fn hook(&self, key: &str) -> Option<&Hook> {
        let (ns, name) = key.split_once('/').unwrap_or(("", key));
        self.hooks.iter().find(|h| {
            h.metadata.name_or_empty() == name
                && (ns.is_empty() || h.metadata.namespace_or_empty() == ns)
        })
    }
}
