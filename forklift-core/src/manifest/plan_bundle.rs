//! A Plan picked from a manifest set together with every object it can reference, so the
//! CLI, the runner and the Python bindings choose plans and resolve references one way.
//!
//! This layer only loads and selects: what validation and rendering make of a bundle is built
//! by those layers (`PlanResources::of`, `Settings::for_bundle`, `RenderInput::for_plan`), so
//! `manifest` never depends on them (`tests/layering.rs` checks it).

use crate::resources::{
    ForkliftController, ForkliftControllerSettings, Hook, Migration, NetworkMap, ObjectReference,
    Plan, Provider, Resource, StorageMap,
};

use super::{ManifestSet, ObjectKind};

/// Why no single Plan could be picked from a manifest set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanSelectError {
    /// The set holds no Plan at all.
    #[error("No Plan in the manifests")]
    NoPlan,
    /// No Plan has the wanted name.
    #[error("No Plan named '{wanted}'; the manifests hold: {}", .available.join(", "))]
    NotFound {
        /// The name asked for.
        wanted: String,
        /// `namespace/name` of every Plan of the set.
        available: Vec<String>,
    },
    /// Several Plans match and none was named (or the name is ambiguous across namespaces).
    #[error("Several Plans match ({}); name one as NAME or NAMESPACE/NAME", .matching.join(", "))]
    Ambiguous {
        /// `namespace/name` of the matching Plans.
        matching: Vec<String>,
    },
}

/// A Plan with the providers, maps, hooks, Migrations and controller settings of its set.
#[derive(Debug, Clone)]
pub struct PlanBundle {
    /// The chosen Plan.
    pub plan: Plan,
    /// Every Provider of the set.
    pub providers: Vec<Provider>,
    /// Every NetworkMap of the set.
    pub network_maps: Vec<NetworkMap>,
    /// Every StorageMap of the set.
    pub storage_maps: Vec<StorageMap>,
    /// Every Hook of the set.
    pub hooks: Vec<Hook>,
    /// Every Migration of the set.
    pub migrations: Vec<Migration>,
    /// The first ForkliftController's settings, or the CRD defaults.
    pub settings: ForkliftControllerSettings,
    /// Whether the set holds a ForkliftController (`settings` is its spec); without one the
    /// feature gates take upstream's defaults rather than the CRD's.
    pub has_controller: bool,
}

fn key(plan: &Plan) -> String {
    format!(
        "{}/{}",
        plan.metadata.namespace_or_empty(),
        plan.metadata.name_or_empty()
    )
}

fn collect<T: ObjectKind + Clone>(set: &ManifestSet) -> Vec<T> {
    set.all::<T>().cloned().collect()
}

impl PlanBundle {
    /// Picks the Plan named `wanted` (`name` or `namespace/name`), or the only Plan when
    /// `wanted` is `None`, and gathers the rest of the set around it.
    pub fn select(set: &ManifestSet, wanted: Option<&str>) -> Result<Self, PlanSelectError> {
        let plans: Vec<&Plan> = set.all::<Plan>().collect();
        if plans.is_empty() {
            return Err(PlanSelectError::NoPlan);
        }
        let chosen: Vec<&Plan> = match wanted {
            Some(w) => plans
                .iter()
                .copied()
                .filter(|p| p.metadata.name_or_empty() == w || key(p) == w)
                .collect(),
            None => plans.clone(),
        };
        let plan = match chosen.as_slice() {
            [one] => (*one).clone(),
            [] => {
                return Err(PlanSelectError::NotFound {
                    wanted: wanted.unwrap_or_default().to_owned(),
                    available: plans.iter().map(|p| key(p)).collect(),
                });
            }
            many => {
                return Err(PlanSelectError::Ambiguous {
                    matching: many.iter().map(|p| key(p)).collect(),
                });
            }
        };
        let controller = set.all::<ForkliftController>().next();
        Ok(Self {
            plan,
            providers: collect(set),
            network_maps: collect(set),
            storage_maps: collect(set),
            hooks: collect(set),
            migrations: collect(set),
            settings: controller.map(|c| c.spec.clone()).unwrap_or_default(),
            has_controller: controller.is_some(),
        })
    }

    /// `namespace/name` of the plan.
    pub fn plan_key(&self) -> String {
        key(&self.plan)
    }

    /// The object of `objects` that `reference` names; a reference without namespace means
    /// the plan's namespace, and an empty name names nothing.
    fn referenced<'a, T: Resource>(
        &self,
        objects: &'a [T],
        reference: &ObjectReference,
    ) -> Option<&'a T> {
        if reference.name.is_empty() {
            return None;
        }
        let namespace = if reference.namespace.is_empty() {
            self.plan.metadata.namespace_or_empty()
        } else {
            &reference.namespace
        };
        objects.iter().find(|o| {
            o.metadata().name_or_empty() == reference.name
                && o.metadata().namespace_or_empty() == namespace
        })
    }

    /// The plan's source provider.
    pub fn source_provider(&self) -> Option<&Provider> {
        self.referenced(&self.providers, &self.plan.spec.provider.source)
    }

    /// The plan's destination provider.
    pub fn destination_provider(&self) -> Option<&Provider> {
        self.referenced(&self.providers, &self.plan.spec.provider.destination)
    }

    /// The plan's network map.
    pub fn network_map(&self) -> Option<&NetworkMap> {
        self.referenced(&self.network_maps, &self.plan.spec.map.network)
    }

    /// The plan's storage map.
    pub fn storage_map(&self) -> Option<&StorageMap> {
        self.referenced(&self.storage_maps, &self.plan.spec.map.storage)
    }

    /// The first Migration of the set that runs this plan.
    pub fn migration(&self) -> Option<&Migration> {
        let (namespace, name) = (
            self.plan.metadata.namespace_or_empty(),
            self.plan.metadata.name_or_empty(),
        );
        self.migrations.iter().find(|m| {
            let reference = &m.spec.plan;
            let ref_namespace = if reference.namespace.is_empty() {
                m.metadata.namespace_or_empty()
            } else {
                &reference.namespace
            };
            reference.name == name && ref_namespace == namespace
        })
    }

    /// The Hook a `namespace/name` (or bare name) key names.
    pub fn hook(&self, key: &str) -> Option<&Hook> {
        let (namespace, name) = key.split_once('/').unwrap_or(("", key));
        self.hooks.iter().find(|h| {
            h.metadata.name_or_empty() == name
                && (namespace.is_empty() || h.metadata.namespace_or_empty() == namespace)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET: &str = "\
apiVersion: forklift.konveyor.io/v1beta1
kind: Plan
metadata: {name: wave-1, namespace: mtv}
spec:
  provider:
    source: {name: vcenter}
    destination: {name: host, namespace: other}
  map:
    network: {name: net}
    storage: {name: disks}
  targetNamespace: vms
  vms: [{id: vm-1}]
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Plan
metadata: {name: wave-1, namespace: staging}
spec:
  provider: {source: {name: vcenter}, destination: {name: host}}
  map: {network: {name: net}, storage: {name: disks}}
  targetNamespace: vms
  vms: [{id: vm-1}]
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {name: vcenter, namespace: mtv}
spec: {type: vsphere, url: 'https://vc/sdk'}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {name: host, namespace: other}
spec: {type: openshift}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: NetworkMap
metadata: {name: net, namespace: mtv}
spec:
  provider: {source: {name: vcenter}, destination: {name: host}}
  map: []
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Migration
metadata: {name: run-1, namespace: mtv}
spec: {plan: {name: wave-1}}
";

    fn set() -> ManifestSet {
        ManifestSet::parse("set.yaml", SET)
    }

    #[test]
    fn picks_by_namespace_and_name_and_resolves_references() {
        let bundle = PlanBundle::select(&set(), Some("mtv/wave-1")).unwrap();
        assert_eq!(bundle.plan_key(), "mtv/wave-1");
        assert_eq!(
            bundle.source_provider().map(|p| p.metadata.name_or_empty()),
            Some("vcenter")
        );
        assert_eq!(
            bundle
                .destination_provider()
                .map(|p| p.metadata.namespace_or_empty()),
            Some("other")
        );
        assert!(bundle.network_map().is_some());
        assert!(bundle.storage_map().is_none());
        assert_eq!(
            bundle.migration().map(|m| m.metadata.name_or_empty()),
            Some("run-1")
        );
        assert_eq!(bundle.providers.len(), 2);
    }

    #[test]
    fn a_plan_in_another_namespace_sees_only_its_own_references() {
        let bundle = PlanBundle::select(&set(), Some("staging/wave-1")).unwrap();
        assert!(bundle.source_provider().is_none());
        assert!(bundle.migration().is_none());
    }

    #[test]
    fn names_that_match_several_plans_or_none_are_errors() {
        let set = set();
        assert_eq!(
            PlanBundle::select(&set, Some("wave-1")).unwrap_err(),
            PlanSelectError::Ambiguous {
                matching: vec!["mtv/wave-1".into(), "staging/wave-1".into()]
            }
        );
        let missing = PlanBundle::select(&set, Some("nope")).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "No Plan named 'nope'; the manifests hold: mtv/wave-1, staging/wave-1"
        );
        assert!(PlanBundle::select(&set, None).is_err());
        let empty = ManifestSet::parse("empty.yaml", "");
        assert_eq!(
            PlanBundle::select(&empty, None).unwrap_err(),
            PlanSelectError::NoPlan
        );
    }
}
