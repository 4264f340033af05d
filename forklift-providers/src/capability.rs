//! Provider capability traits and the one factory that opens a provider.
//!
//! A migration needs up to five things from its source: the inventory, power control,
//! snapshots, change tracking and disk access. Each is a small object-safe trait; a provider
//! implements the ones it can offer and the [`Provider`] handle answers the others with a
//! typed [`Error::Unsupported`], so callers ask `provider.power()?` and never downcast.
//!
//! Providers are opened through [`open_provider`], keyed by [`ProviderType`]: the single place
//! where a provider type becomes an implementation.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::{Error, Result};

/// Source provider types, as spelled in `Provider.spec.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ProviderType {
    /// VMware vCenter or ESXi (`vsphere`).
    Vsphere,
    /// oVirt / RHV (`ovirt`).
    Ovirt,
    /// OpenStack (`openstack`).
    Openstack,
    /// A directory of OVA/OVF appliances (`ova`).
    Ova,
    /// KubeVirt / OpenShift Virtualization (`openshift`).
    Openshift,
    /// Microsoft Hyper-V (`hyperv`).
    Hyperv,
    /// Amazon EC2 (`ec2`).
    Ec2,
}

impl ProviderType {
    /// The `spec.type` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vsphere => "vsphere",
            Self::Ovirt => "ovirt",
            Self::Openstack => "openstack",
            Self::Ova => "ova",
            Self::Openshift => "openshift",
            Self::Hyperv => "hyperv",
            Self::Ec2 => "ec2",
        }
    }
}

impl fmt::Display for ProviderType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ProviderType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "vsphere" => Self::Vsphere,
            "ovirt" => Self::Ovirt,
            "openstack" => Self::Openstack,
            "ova" => Self::Ova,
            "openshift" => Self::Openshift,
            "hyperv" => Self::Hyperv,
            "ec2" => Self::Ec2,
            other => {
                return Err(Error::config(
                    "spec.type",
                    format!("unknown provider type '{other}'"),
                ));
            }
        })
    }
}

/// One of the capabilities a provider may offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// Collecting the inventory ([`InventorySource`]).
    Inventory,
    /// Power state and power operations ([`PowerControl`]).
    Power,
    /// A specific power operation, e.g. guest shutdown.
    PowerOperation(&'static str),
    /// Creating and removing snapshots ([`Snapshots`]).
    Snapshots,
    /// Changed block tracking ([`ChangeTracking`]).
    ChangeTracking,
    /// Reading disks ([`DiskAccess`]).
    DiskAccess,
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Inventory => f.write_str("inventory collection"),
            Self::Power => f.write_str("power control"),
            Self::PowerOperation(op) => write!(f, "the power operation '{op}'"),
            Self::Snapshots => f.write_str("snapshots"),
            Self::ChangeTracking => f.write_str("changed block tracking"),
            Self::DiskAccess => f.write_str("disk access"),
        }
    }
}

/// A VM of the source provider, by its provider identifier (vSphere MoRef such as `vm-42`,
/// oVirt/OpenStack UUID, OVA VM id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VmRef(pub String);

impl VmRef {
    /// Wraps an identifier.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The identifier.
    pub fn id(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VmRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A snapshot of a VM (vSphere snapshot MoRef such as `snapshot-7`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SnapshotRef(pub String);

impl SnapshotRef {
    /// The identifier.
    pub fn id(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SnapshotRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A disk of a VM, identified the way the migration engine identifies disks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DiskRef {
    /// Provider device key (vSphere `key`, e.g. 2000); 0 when the provider has none.
    pub key: i32,
    /// Backing file or disk id (vSphere `[datastore] dir/name.vmdk`).
    pub file: String,
    /// Capacity in bytes.
    pub capacity: u64,
}

/// Options of a snapshot taken for migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRequest {
    /// Snapshot name.
    pub name: String,
    /// Free-form description.
    pub description: String,
    /// Include guest memory (never needed for migration).
    pub memory: bool,
    /// Quiesce the guest file systems through the guest tools.
    pub quiesce: bool,
}

impl SnapshotRequest {
    /// A disk-only, non-quiesced snapshot with this name, as warm migration takes them.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: "forklift".into(),
            memory: false,
            quiesce: false,
        }
    }
}

/// A changed (or, for a baseline, allocated) byte range of a disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangedArea {
    /// Offset in bytes.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
}

/// Change identifier meaning "every allocated area", used for a baseline copy.
pub const ALL_ALLOCATED: &str = "*";

/// Power state as seen by the provider.
pub use forklift_core::inventory::PowerState;

/// Collects the source inventory.
#[async_trait]
pub trait InventorySource: Send + Sync {
    /// Reads the whole inventory: VMs with disks, NICs and guest networks, networks, storages
    /// and hosts, converted into the provider-neutral model.
    async fn collect_inventory(&self) -> Result<forklift_core::inventory::SourceInventory>;
}

/// Reads and changes the power state of VMs.
#[async_trait]
pub trait PowerControl: Send + Sync {
    /// Current power state.
    async fn power_state(&self, vm: &VmRef) -> Result<PowerState>;
    /// Hard power off; returns once the VM is off.
    async fn power_off(&self, vm: &VmRef) -> Result<()>;
    /// Power on; returns once the VM is on.
    async fn power_on(&self, vm: &VmRef) -> Result<()>;
    /// Asks the guest OS to shut down (returns when the request is accepted, not when the VM
    /// is off). Providers without guest integration answer [`Error::Unsupported`].
    async fn shutdown_guest(&self, vm: &VmRef) -> Result<()> {
        let _ = vm;
        Err(Error::unsupported(
            None,
            Capability::PowerOperation("shutdown guest"),
        ))
    }
}

/// Creates and removes VM snapshots.
#[async_trait]
pub trait Snapshots: Send + Sync {
    /// Takes a snapshot and returns its reference once the snapshot exists.
    async fn create_snapshot(&self, vm: &VmRef, request: &SnapshotRequest) -> Result<SnapshotRef>;
    /// Removes a snapshot, consolidating its delta into the parent when `consolidate` is set.
    async fn remove_snapshot(
        &self,
        vm: &VmRef,
        snapshot: &SnapshotRef,
        consolidate: bool,
    ) -> Result<()>;
}

/// Changed block tracking, the basis of warm migration.
#[async_trait]
pub trait ChangeTracking: Send + Sync {
    /// Enables change tracking on the VM (and hence on its disks).
    async fn enable_change_tracking(&self, vm: &VmRef) -> Result<()>;

    /// Change identifiers of the VM's disks as of a snapshot, keyed by the disk's base backing
    /// file (snapshot suffix trimmed).
    async fn change_ids(
        &self,
        vm: &VmRef,
        snapshot: &SnapshotRef,
    ) -> Result<BTreeMap<String, String>>;

    /// Areas of `disk` changed between `change_id` and `snapshot`, in offset order. With
    /// [`ALL_ALLOCATED`] as `change_id`, every allocated area.
    async fn changed_areas(
        &self,
        vm: &VmRef,
        snapshot: &SnapshotRef,
        disk: &DiskRef,
        change_id: &str,
    ) -> Result<Vec<ChangedArea>>;
}

/// Opens VM disks for reading.
#[async_trait]
pub trait DiskAccess: Send + Sync {
    /// Opens `disk` of `vm` (as of `snapshot` when given) as a block source.
    async fn open_disk(
        &self,
        vm: &VmRef,
        disk: &DiskRef,
        snapshot: Option<&SnapshotRef>,
    ) -> Result<Box<dyn forklift_transfer::block::BlockSource>>;
}

/// The implementation behind a [`Provider`]: it hands out the capabilities it offers.
///
/// Every accessor defaults to `None`, so an implementation lists only what it supports.
#[async_trait]
pub trait ProviderBackend: Send + Sync {
    /// Ends the provider's session (vSphere logout); the default has nothing to end.
    async fn close(&self) -> Result<()> {
        Ok(())
    }

    /// The provider type.
    fn provider_type(&self) -> ProviderType;
    /// Inventory collection, if supported.
    fn inventory(&self) -> Option<&dyn InventorySource> {
        None
    }
    /// Power control, if supported.
    fn power(&self) -> Option<&dyn PowerControl> {
        None
    }
    /// Snapshots, if supported.
    fn snapshots(&self) -> Option<&dyn Snapshots> {
        None
    }
    /// Change tracking, if supported.
    fn change_tracking(&self) -> Option<&dyn ChangeTracking> {
        None
    }
    /// Disk access, if supported.
    fn disks(&self) -> Option<&dyn DiskAccess> {
        None
    }
}

/// An opened source provider. Cheap to clone; share it between tasks.
#[derive(Clone)]
pub struct Provider {
    backend: Arc<dyn ProviderBackend>,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("type", &self.provider_type())
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// Wraps a backend; [`open_provider`] is the usual way to get one.
    pub fn from_backend(backend: Arc<dyn ProviderBackend>) -> Self {
        Self { backend }
    }

    /// The provider type.
    pub fn provider_type(&self) -> ProviderType {
        self.backend.provider_type()
    }

    fn missing(&self, capability: Capability) -> Error {
        Error::unsupported(Some(self.provider_type()), capability)
    }

    /// Inventory collection, or [`Error::Unsupported`].
    pub fn inventory(&self) -> Result<&dyn InventorySource> {
        self.backend
            .inventory()
            .ok_or_else(|| self.missing(Capability::Inventory))
    }

    /// Power control, or [`Error::Unsupported`].
    pub fn power(&self) -> Result<&dyn PowerControl> {
        self.backend
            .power()
            .ok_or_else(|| self.missing(Capability::Power))
    }

    /// Snapshots, or [`Error::Unsupported`].
    pub fn snapshots(&self) -> Result<&dyn Snapshots> {
        self.backend
            .snapshots()
            .ok_or_else(|| self.missing(Capability::Snapshots))
    }

    /// Change tracking, or [`Error::Unsupported`].
    pub fn change_tracking(&self) -> Result<&dyn ChangeTracking> {
        self.backend
            .change_tracking()
            .ok_or_else(|| self.missing(Capability::ChangeTracking))
    }

    /// Disk access, or [`Error::Unsupported`].
    pub fn disks(&self) -> Result<&dyn DiskAccess> {
        self.backend
            .disks()
            .ok_or_else(|| self.missing(Capability::DiskAccess))
    }

    /// Ends the session; the handle must not be used afterwards.
    pub async fn close(&self) -> Result<()> {
        self.backend.close().await
    }

    /// Whether the provider offers `capability`.
    pub fn can(&self, capability: Capability) -> bool {
        match capability {
            Capability::Inventory => self.backend.inventory().is_some(),
            Capability::Power | Capability::PowerOperation(_) => self.backend.power().is_some(),
            Capability::Snapshots => self.backend.snapshots().is_some(),
            Capability::ChangeTracking => self.backend.change_tracking().is_some(),
            Capability::DiskAccess => self.backend.disks().is_some(),
        }
    }
}

/// A secret value (password, token, key). Never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is sent to the provider.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// Everything needed to open a provider: the Provider resource's type, URL and settings and
/// the referenced Secret's data.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// `spec.type`.
    pub provider_type: ProviderType,
    /// Provider name, used in messages.
    pub name: String,
    /// `spec.url` (vSphere: `https://vcenter.example.com/sdk`; OVA: `server:/path` or a
    /// local directory).
    pub url: String,
    /// `spec.settings`, e.g. `sdkEndpoint`, `vddkInitImage`.
    pub settings: BTreeMap<String, String>,
    /// The Secret's data, decoded (`user`, `password`, `cacert`, `insecureSkipVerify`...).
    pub secret: BTreeMap<String, SecretString>,
}

impl ProviderConfig {
    /// A configuration with no settings and no secret.
    pub fn new(
        provider_type: ProviderType,
        name: impl Into<String>,
        url: impl Into<String>,
    ) -> Self {
        Self {
            provider_type,
            name: name.into(),
            url: url.into(),
            settings: BTreeMap::new(),
            secret: BTreeMap::new(),
        }
    }

    /// A secret value by key.
    pub fn secret(&self, key: &str) -> Option<&SecretString> {
        self.secret.get(key)
    }

    /// A secret value that must be present.
    pub fn required_secret(&self, key: &str) -> Result<&SecretString> {
        self.secret(key)
            .ok_or_else(|| Error::config(format!("secret.{key}"), "is required"))
    }

    /// A secret key parsed as Go's `strconv.ParseBool` would; unparsable or missing is `false`.
    pub fn secret_bool(&self, key: &str) -> bool {
        self.secret(key)
            .is_some_and(|v| matches!(v.expose(), "1" | "t" | "T" | "TRUE" | "true" | "True"))
    }
}

impl From<ProviderType> for Option<forklift_core::resources::ProviderType> {
    fn from(value: ProviderType) -> Self {
        use forklift_core::resources::ProviderType as Core;
        Some(match value {
            ProviderType::Vsphere => Core::VSphere,
            ProviderType::Ovirt => Core::OVirt,
            ProviderType::Openstack => Core::OpenStack,
            ProviderType::Ova => Core::Ova,
            ProviderType::Openshift => Core::OpenShift,
            ProviderType::Hyperv => Core::HyperV,
            ProviderType::Ec2 => Core::Ec2,
        })
    }
}

impl TryFrom<forklift_core::resources::ProviderType> for ProviderType {
    type Error = Error;

    fn try_from(value: forklift_core::resources::ProviderType) -> Result<Self> {
        use forklift_core::resources::ProviderType as Core;
        Ok(match value {
            Core::VSphere => Self::Vsphere,
            Core::OVirt => Self::Ovirt,
            Core::OpenStack => Self::Openstack,
            Core::Ova => Self::Ova,
            Core::OpenShift => Self::Openshift,
            Core::HyperV => Self::Hyperv,
            Core::Ec2 => Self::Ec2,
            other => {
                return Err(Error::config(
                    "spec.type",
                    format!("provider type '{other}' has no source implementation"),
                ));
            }
        })
    }
}

impl ProviderConfig {
    /// Builds the configuration from a Provider resource and the Secret it references.
    pub fn from_resources(
        provider: &forklift_core::resources::Provider,
        secret: Option<&forklift_core::resources::Secret>,
    ) -> Result<Self> {
        let provider_type = provider
            .spec
            .type_
            .ok_or_else(|| Error::config("spec.type", "is missing"))?
            .try_into()?;
        let mut config = Self::new(
            provider_type,
            provider.metadata.name_or_empty(),
            provider.spec.url.clone(),
        );
        config.settings = provider.spec.settings.clone();
        if let Some(secret) = secret {
            for key in secret.keys() {
                if let Some(value) = secret.get_str(key) {
                    config
                        .secret
                        .insert(key.to_owned(), SecretString::new(value.into_owned()));
                }
            }
        }
        Ok(config)
    }

    /// Finds the Provider `name` (`namespace/name`, or a name unique across namespaces) in a
    /// manifest set, with the Secret its `spec.secret` names (namespace defaulting to the
    /// provider's).
    pub fn from_manifests(set: &forklift_core::manifest::ManifestSet, name: &str) -> Result<Self> {
        use forklift_core::resources::{Provider, Secret};
        let (namespace, name) = match name.split_once('/') {
            Some((ns, n)) => (Some(ns), n),
            None => (None, name),
        };
        let mut matches = set.all::<Provider>().filter(|p| {
            p.metadata.name_or_empty() == name
                && namespace.is_none_or(|ns| p.metadata.namespace_or_empty() == ns)
        });
        let provider = match (matches.next(), matches.next()) {
            (Some(p), None) => p,
            (None, _) => {
                return Err(Error::NotFound {
                    kind: "Provider",
                    id: name.to_owned(),
                });
            }
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    "--provider",
                    format!("'{name}' names Providers in several namespaces; use namespace/name"),
                ));
            }
        };
        let reference = &provider.spec.secret;
        let secret = if reference.name.is_empty() {
            None
        } else {
            let ns = if reference.namespace.is_empty() {
                provider.metadata.namespace_or_empty()
            } else {
                reference.namespace.as_str()
            };
            Some(
                set.get_as::<Secret>(ns, &reference.name)
                    .ok_or_else(|| Error::NotFound {
                        kind: "Secret",
                        id: format!("{ns}/{}", reference.name),
                    })?,
            )
        };
        Self::from_resources(provider, secret)
    }
}

/// Opens the provider, collects its inventory and closes the session.
pub async fn collect_inventory(
    config: &ProviderConfig,
) -> Result<forklift_core::inventory::SourceInventory> {
    let provider = open_provider(config).await?;
    let inventory = provider.inventory()?.collect_inventory().await;
    if let Err(e) = provider.close().await {
        tracing::warn!(provider = %config.name, "closing the provider session failed: {e}");
    }
    inventory
}

/// Opens a provider: the one place where a provider type becomes an implementation.
///
/// Connecting providers (vSphere) log in here, so configuration and credential errors
/// surface immediately.
pub async fn open_provider(config: &ProviderConfig) -> Result<Provider> {
    match config.provider_type {
        ProviderType::Vsphere => {
            let provider = crate::vsphere::VsphereProvider::connect(config).await?;
            Ok(Provider::from_backend(Arc::new(provider)))
        }
        ProviderType::Ova => Ok(Provider::from_backend(Arc::new(
            crate::ova::OvaProvider::open(config)?,
        ))),
        other => Err(Error::config(
            "spec.type",
            format!("provider type '{other}' is not implemented yet"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct InventoryOnly;

    impl ProviderBackend for InventoryOnly {
        fn provider_type(&self) -> ProviderType {
            ProviderType::Ova
        }
    }

    #[test]
    fn missing_capabilities_are_typed_unsupported_errors() {
        let provider = Provider::from_backend(Arc::new(InventoryOnly));
        let err = provider.power().err().unwrap();
        assert!(err.is_unsupported());
        assert_eq!(
            err.to_string(),
            "ova providers do not support power control"
        );
        assert!(!provider.can(Capability::Snapshots));
    }

    #[test]
    fn secrets_never_print() {
        let secret = SecretString::new("hunter2");
        assert_eq!(format!("{secret:?}"), "<redacted>");
        let mut config = ProviderConfig::new(ProviderType::Vsphere, "vc", "https://vc/sdk");
        config.secret.insert("password".into(), secret);
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn provider_and_secret_manifests_become_a_config() {
        let yaml = r#"
apiVersion: v1
kind: Secret
metadata: {name: vc-secret, namespace: konveyor-forklift}
type: Opaque
stringData: {user: administrator@vsphere.local, password: S3cret!, insecureSkipVerify: "true"}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {name: vcenter, namespace: konveyor-forklift}
spec:
  type: vsphere
  url: https://vcenter.example.com/sdk
  secret: {name: vc-secret, namespace: konveyor-forklift}
  settings: {sdkEndpoint: vcenter}
"#;
        let set = forklift_core::manifest::ManifestSet::parse("test.yaml", yaml);
        let config = ProviderConfig::from_manifests(&set, "vcenter").unwrap();
        assert_eq!(config.provider_type, ProviderType::Vsphere);
        assert_eq!(config.url, "https://vcenter.example.com/sdk");
        assert_eq!(config.secret("password").unwrap().expose(), "S3cret!");
        assert!(config.secret_bool("insecureSkipVerify"));
        assert_eq!(config.settings["sdkEndpoint"], "vcenter");
        assert!(ProviderConfig::from_manifests(&set, "konveyor-forklift/vcenter").is_ok());
        assert!(matches!(
            ProviderConfig::from_manifests(&set, "other/vcenter"),
            Err(Error::NotFound { .. })
        ));
        let no_secret = set_without_secret(yaml);
        let err = ProviderConfig::from_manifests(&no_secret, "vcenter").unwrap_err();
        assert!(
            err.to_string().contains("konveyor-forklift/vc-secret"),
            "{err}"
        );
    }

    fn set_without_secret(yaml: &str) -> forklift_core::manifest::ManifestSet {
        let provider_only = yaml.split("---").nth(1).unwrap();
        forklift_core::manifest::ManifestSet::parse("test.yaml", provider_only)
    }

    #[test]
    fn provider_types_round_trip() {
        for t in [
            "vsphere",
            "ovirt",
            "openstack",
            "ova",
            "openshift",
            "hyperv",
            "ec2",
        ] {
            assert_eq!(t.parse::<ProviderType>().unwrap().as_str(), t);
        }
        assert!("vmware".parse::<ProviderType>().is_err());
    }
}
