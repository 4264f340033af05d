//! What a run needs beyond the plan's bundle: the Migration that runs it and its source
//! provider, which a run cannot do without.

use std::path::PathBuf;

use forklift_core::manifest::{ManifestSet, ObjectKey, PlanBundle};
use forklift_core::resources::{Migration, ObjectMeta, ObjectReference, Provider, Secret};

use super::MigrateError;

/// A plan with the resources it references, resolved from one manifest set.
#[derive(Debug, Clone)]
pub struct PlanInputs {
    /// The plan, the objects of its set and the controller settings.
    pub bundle: PlanBundle,
    /// The Migration that runs it (from the manifests, or a new one).
    pub migration: Migration,
    /// Its source provider.
    pub source_provider: Provider,
    /// The file the Migration was read from, watched for a new cutover time while the run
    /// goes; `None` when it came from elsewhere (text, stdin) or was made up.
    pub migration_file: Option<PathBuf>,
    /// Every Secret of the set (the VMs' LUKS passphrases among them).
    pub secrets: Vec<Secret>,
    /// The scripts of the plan's `customizationScripts` ConfigMap, run after conversions.
    pub customization_scripts: Vec<super::convert::customize::CustomizationScript>,
}

impl PlanInputs {
    /// Resolves the plan named `plan` (`namespace/name` or a name), or the only plan of the set.
    pub fn from_manifests(set: &ManifestSet, plan: Option<&str>) -> Result<Self, MigrateError> {
        let bundle = PlanBundle::select(set, plan)?;
        let source_provider = bundle.source_provider().cloned().ok_or_else(|| {
            MigrateError::SourceProviderNotFound {
                plan: bundle.plan_key(),
                provider: bundle.plan.spec.provider.source.qualified_name(),
            }
        })?;
        let migration_file = bundle.migration().and_then(|m| {
            let key = ObjectKey {
                kind: "Migration".into(),
                namespace: m.metadata.namespace_or_empty().to_owned(),
                name: m.metadata.name_or_empty().to_owned(),
            };
            let origin = set.origin(&key)?;
            let path = PathBuf::from(&origin.source);
            path.is_file().then_some(path)
        });
        let migration = bundle.migration().cloned().unwrap_or_else(|| {
            let (namespace, name) = (
                bundle.plan.metadata.namespace_or_empty().to_owned(),
                bundle.plan.metadata.name_or_empty().to_owned(),
            );
            let meta = ObjectMeta {
                name: Some(format!("{name}-migration")),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            };
            Migration::new(
                meta,
                ObjectReference {
                    name,
                    namespace,
                    ..Default::default()
                },
            )
        });
        let customization_scripts = super::convert::customize::plan_scripts(set, &bundle.plan)?;
        Ok(Self {
            customization_scripts,
            bundle,
            migration,
            source_provider,
            migration_file,
            secrets: set.all::<Secret>().cloned().collect(),
        })
    }

    /// `namespace/name` of the plan.
    pub fn plan_key(&self) -> String {
        self.bundle.plan_key()
    }
}
