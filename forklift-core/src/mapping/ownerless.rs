//! Ownerless maps: the plan-owned copy a plan uses.

use crate::resources::{
    NetworkMap, ObjectMeta, ObjectReference, OwnerReference, Plan, ProviderPair, StorageMap,
};

/// Errors of map adoption.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MappingError {
    /// The map's provider differs from the plan's.
    #[error(
        "Map {map} has {side} provider '{map_provider}' but plan {plan} uses '{plan_provider}'"
    )]
    ProviderMismatch {
        /// `namespace/name` of the map.
        map: String,
        /// `source` or `destination`.
        side: &'static str,
        /// The map's provider.
        map_provider: String,
        /// `namespace/name` of the plan.
        plan: String,
        /// The plan's provider.
        plan_provider: String,
    },
    /// The plan has no name to own the copy.
    #[error("Plan has no name: cannot own a copy of map {map}")]
    UnnamedPlan {
        /// `namespace/name` of the map.
        map: String,
    },
}

/// Whether a map has no owner (a map shared between plans).
pub fn is_ownerless(metadata: &ObjectMeta) -> bool {
    metadata.owner_references.is_empty()
}

/// The owner reference pointing at a plan.
pub fn plan_owner_reference(plan: &Plan) -> OwnerReference {
    OwnerReference {
        api_version: crate::resources::API_VERSION.to_owned(),
        kind: "Plan".to_owned(),
        name: plan.metadata.name_or_empty().to_owned(),
        uid: plan.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

fn qualified(meta: &ObjectMeta) -> String {
    format!("{}/{}", meta.namespace_or_empty(), meta.name_or_empty())
}

/// Compares provider references, a missing namespace meaning the object's own namespace.
fn same_provider(a: &ObjectReference, a_ns: &str, b: &ObjectReference, b_ns: &str) -> bool {
    let ns = |r: &ObjectReference, default: &str| {
        if r.namespace.is_empty() {
            default.to_owned()
        } else {
            r.namespace.clone()
        }
    };
    a.name == b.name && ns(a, a_ns) == ns(b, b_ns)
}

fn check_providers(
    map_meta: &ObjectMeta,
    map_providers: &ProviderPair,
    plan: &Plan,
) -> Result<(), MappingError> {
    let plan_ns = plan.metadata.namespace_or_empty();
    let map_ns = map_meta.namespace_or_empty();
    let sides = [
        ("source", &map_providers.source, &plan.spec.provider.source),
        (
            "destination",
            &map_providers.destination,
            &plan.spec.provider.destination,
        ),
    ];
    for (side, mine, theirs) in sides {
        if !same_provider(mine, map_ns, theirs, plan_ns) {
            return Err(MappingError::ProviderMismatch {
                map: qualified(map_meta),
                side,
                map_provider: mine.qualified_name(),
                plan: qualified(&plan.metadata),
                plan_provider: theirs.qualified_name(),
            });
        }
    }
    if plan.metadata.name_or_empty().is_empty() {
        return Err(MappingError::UnnamedPlan {
            map: qualified(map_meta),
        });
    }
    Ok(())
}

fn owned_metadata(map_meta: &ObjectMeta, plan: &Plan) -> ObjectMeta {
    ObjectMeta {
        generate_name: Some(format!("{}-", plan.metadata.name_or_empty())),
        namespace: plan.metadata.namespace.clone(),
        labels: map_meta.labels.clone(),
        owner_references: vec![plan_owner_reference(plan)],
        ..ObjectMeta::default()
    }
}

/// A plan-owned copy of a network map: same pairs, `generateName: <plan>-`, owner reference to
/// the plan, no status. Fails when the map's providers are not the plan's.
pub fn plan_owned_network_map(map: &NetworkMap, plan: &Plan) -> Result<NetworkMap, MappingError> {
    check_providers(&map.metadata, &map.spec.provider, plan)?;
    Ok(NetworkMap::new(
        owned_metadata(&map.metadata, plan),
        map.spec.clone(),
    ))
}

/// A plan-owned copy of a storage map (see [`plan_owned_network_map`]).
pub fn plan_owned_storage_map(map: &StorageMap, plan: &Plan) -> Result<StorageMap, MappingError> {
    check_providers(&map.metadata, &map.spec.provider, plan)?;
    Ok(StorageMap::new(
        owned_metadata(&map.metadata, plan),
        map.spec.clone(),
    ))
}
