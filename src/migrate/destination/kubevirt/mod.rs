//! The `kubevirt` destination: VMs land on a cluster with KubeVirt and CDI.
//!
//! Per VM, in the itinerary's order: the target namespace is made sure of (created when
//! allowed, [`ClusterError::NamespaceNotAllowed`] otherwise); each disk's DataVolume is
//! server-side applied (field manager [`FIELD_MANAGER`]) with `source: upload: {}`; once its
//! upload server is ready (`UploadReady`), an `UploadTokenRequest` gives a token and the
//! copy pipeline streams the disk straight into the upload proxy's request body
//! (`POST /v1beta1/upload-async`, or `/v1beta1/upload` where that is not served; see
//! `stream.rs` and `upload.rs`); the DataVolume is watched until `Succeeded`; last the
//! VirtualMachine is applied as render produced it (its `runStrategy` decides whether
//! KubeVirt starts it).
//!
//! The same [`Deployer`] pushes a local bundle (`forklift deploy`, see `deploy.rs`).
//!
//! Objects are labelled with the plan and VM id by render; an object that exists with other
//! labels is never touched ([`ClusterError::NotOurs`]); one with ours is adopted, so a
//! re-run does not duplicate anything, and a DataVolume already `Succeeded` is not uploaded
//! again. Removal (a failed VM whose plan asks for deleteVmOnFailMigration) deletes only
//! objects carrying this plan's labels.
//!
//! A streamed disk cannot resume: an interrupted copy starts again from zero. With
//! [`KubevirtOptions::stage_disks`] (`--staging DIR`) each disk is instead copied to a local
//! image first (resumable from its checkpoint) and uploaded from it before the
//! VirtualMachine; the staged image is removed once its VM succeeded.
//!
//! Cancel and failure follow upstream's cleanup: when the plan (or the VM) sets
//! `deleteVmOnFailMigration`, what this run created for the VM (its VirtualMachine and
//! DataVolumes) is deleted on failure and on cancel alike ([`Destination::removes_on_cancel`]);
//! what could not be deleted is reported ([`ClusterError::CleanupIncomplete`]).

mod client;
mod deploy;
mod error;
mod stream;
mod upload;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::OnceCell;

pub use client::{
    API_CONNECT_TIMEOUT, API_READ_TIMEOUT, API_RESPONSE_LIMIT, Cluster, ClusterConfig,
    DATA_VOLUME_SUCCEEDED_LIMIT, FIELD_MANAGER, REQUIRED_APIS, Resource, UPLOAD_READY_LIMIT,
    WATCH_REQUEST_SECONDS,
};
pub use deploy::{DeployError, DeployFailure, DeployReport, MAX_BUNDLE_OBJECT_SIZE, deploy_bundle};
pub use error::{Action, ClusterError};
pub use stream::{
    STREAM_CHANNEL_CHUNKS, STREAM_SEND_TIMEOUT, STREAM_WINDOW, StreamBody, StreamSink,
};
pub use upload::{
    UPLOAD_ASYNC_PATH, UPLOAD_ATTEMPTS, UPLOAD_CONNECT_TIMEOUT, UPLOAD_PATH,
    UPLOAD_PROGRESS_INTERVAL, UPLOAD_READ_TIMEOUT, UPLOAD_RESPONSE_LIMIT, UPLOAD_RETRY_DELAY,
    UploadProxy,
};

use super::{Destination, DestinationDisk, DestinationError, LocalDestination, ObjectKind};
use forklift_core::error::PeerText;
use forklift_core::render::rules::keys;

/// The annotation recording the size in bytes of the image uploaded into a DataVolume (so a
/// re-run can tell a complete disk from another one).
pub const DISK_SIZE_ANNOTATION: &str = "forklift.konveyor.io/source-disk-size";

/// The labels (render sets them) that make an object this plan's, for one VM: an object with
/// other values is never adopted, changed or deleted.
const OWNER_LABELS: [&str; 4] = [
    keys::PLAN,
    keys::PLAN_NAME,
    keys::PLAN_NAMESPACE,
    keys::VM_ID,
];

/// `(kind, namespace, name)` of an object.
type ObjectKey = (&'static str, String, String);
/// An object's labels.
type Labels = BTreeMap<String, String>;

/// How a cluster destination connects and uploads.
#[derive(Debug, Clone, Default)]
pub struct KubevirtOptions {
    /// Where the kubeconfig comes from.
    pub cluster: ClusterConfig,
    /// The upload proxy URL; `None` reads CDIConfig `status.uploadProxyURL`.
    pub upload_proxy_url: Option<String>,
    /// A PEM CA bundle trusted for the upload proxy; `None` uses CDIConfig
    /// `status.uploadProxyCA` when set, and the system's roots.
    pub upload_proxy_ca: Option<PathBuf>,
    /// Where the plan status is kept (and disks staged, with `stage_disks`).
    pub staging: PathBuf,
    /// Copy each disk to a local image under `staging` first and upload it from there
    /// (resumable), instead of streaming it from the copy into the upload.
    pub stage_disks: bool,
    /// How long a DataVolume may take to reach `Succeeded` after its upload.
    pub data_volume_limit: Option<Duration>,
}

/// The cluster operations a migration and `forklift deploy` share.
#[derive(Debug)]
pub struct Deployer {
    options: KubevirtOptions,
    cluster: OnceCell<Cluster>,
    proxy: OnceCell<UploadProxy>,
    namespaces: tokio::sync::Mutex<BTreeSet<String>>,
    /// The labels of each object applied by this process, by `(kind, namespace, name)`.
    applied: Mutex<BTreeMap<ObjectKey, Labels>>,
}

impl Deployer {
    /// A deployer; nothing is sent until the first operation.
    pub fn new(options: KubevirtOptions) -> Self {
        Self {
            options,
            cluster: OnceCell::new(),
            proxy: OnceCell::new(),
            namespaces: tokio::sync::Mutex::new(BTreeSet::new()),
            applied: Mutex::default(),
        }
    }

    /// The cluster, connected and checked on first use ([`Cluster::preflight`]).
    pub async fn cluster(&self) -> Result<&Cluster, ClusterError> {
        self.cluster
            .get_or_try_init(|| async {
                let cluster = Cluster::connect(&self.options.cluster).await?;
                cluster.preflight().await?;
                tracing::info!(server = %cluster.server(), "connected to the cluster");
                Ok(cluster)
            })
            .await
    }

    async fn proxy(&self) -> Result<&UploadProxy, ClusterError> {
        self.proxy
            .get_or_try_init(|| async {
                let (status_url, status_ca) = self.cluster().await?.cdi_upload_proxy().await?;
                let url = self
                    .options
                    .upload_proxy_url
                    .clone()
                    .or(status_url)
                    .ok_or(ClusterError::NoUploadProxy)?;
                let ca = match &self.options.upload_proxy_ca {
                    Some(path) => Some((
                        path.display().to_string(),
                        tokio::fs::read(path)
                            .await
                            .map_err(|source| ClusterError::Image {
                                path: path.clone(),
                                source,
                            })?,
                    )),
                    None => status_ca.map(|pem| {
                        (
                            "CDIConfig status.uploadProxyCA".to_owned(),
                            pem.into_bytes(),
                        )
                    }),
                };
                UploadProxy::new(
                    &url,
                    ca.as_ref()
                        .map(|(origin, pem)| (origin.as_str(), pem.as_slice())),
                )
            })
            .await
    }

    /// Makes sure `namespace` exists (once per run).
    pub async fn namespace(&self, namespace: &str) -> Result<(), ClusterError> {
        let mut known = self.namespaces.lock().await;
        if !known.contains(namespace) {
            self.cluster().await?.ensure_namespace(namespace).await?;
            known.insert(namespace.to_owned());
        }
        Ok(())
    }

    /// The existing object `name`, refused when it does not carry `object`'s plan and VM
    /// labels (someone else's object is never adopted nor changed).
    async fn adoptable(
        &self,
        resource: Resource,
        namespace: &str,
        name: &str,
        object: &Value,
    ) -> Result<Option<kube::api::DynamicObject>, ClusterError> {
        let Some(existing) = self.cluster().await?.get(resource, namespace, name).await? else {
            return Ok(None);
        };
        let ours = |key: &str| {
            let wanted = object["metadata"]["labels"][key].as_str();
            let found = existing
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(key))
                .map(String::as_str);
            wanted.is_none() || wanted == found
        };
        if OWNER_LABELS.iter().all(|key| ours(key)) && existing.metadata.labels.is_some() {
            Ok(Some(existing))
        } else {
            Err(ClusterError::NotOurs {
                kind: resource.kind,
                name: format!("{namespace}/{name}"),
            })
        }
    }

    /// Applies a disk's DataVolume (`source: upload: {}`, the image size annotated) after
    /// checking its storage class exists; an adopted DataVolume that already succeeded is
    /// left as it is. Returns whether it still needs its image.
    pub async fn apply_data_volume(
        &self,
        namespace: &str,
        name: &str,
        object: &Value,
        size: u64,
    ) -> Result<bool, ClusterError> {
        self.namespace(namespace).await?;
        let mut object = super::bundle::upload_source(object);
        if let Some(existing) = self
            .adoptable(Resource::DATA_VOLUME, namespace, name, &object)
            .await?
        {
            if phase(&existing) == Some("Succeeded") && annotated_size(&existing) == Some(size) {
                tracing::info!(%namespace, data_volume = %name, "adopted a DataVolume that already holds its disk");
                return Ok(false);
            }
        }
        let class = object["spec"]["storage"]["storageClassName"]
            .as_str()
            .or_else(|| object["spec"]["pvc"]["storageClassName"].as_str())
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        if let Some(class) = class {
            self.cluster()
                .await?
                .check_storage_class(&class, name)
                .await?;
        }
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            let annotations = meta
                .entry("annotations")
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Some(annotations) = annotations.as_object_mut() {
                annotations.insert(DISK_SIZE_ANNOTATION.to_owned(), size.to_string().into());
            }
        }
        self.apply(Resource::DATA_VOLUME, namespace, name, &object)
            .await?;
        Ok(true)
    }

    /// Uploads `image` into the DataVolume `name` and waits for it to succeed, reporting
    /// progress through `tracing`.
    pub async fn upload(
        &self,
        namespace: &str,
        name: &str,
        image: &Path,
    ) -> Result<(), ClusterError> {
        let cluster = self.cluster().await?;
        let proxy = self.proxy().await?;
        let token = cluster.upload_token(namespace, name).await?;
        tracing::info!(%namespace, data_volume = %name, proxy = %proxy.url(), "uploading");
        proxy.upload(image, name, &token).await?;
        self.wait_uploaded(cluster, namespace, name).await
    }

    /// Streams `body` into the DataVolume `name` once its upload server is ready, then
    /// waits for it to succeed. Any failure is also handed to the disk's writers.
    pub async fn upload_stream(
        &self,
        namespace: &str,
        name: &str,
        body: StreamBody,
    ) -> Result<(), ClusterError> {
        let prepared = async {
            let cluster = self.cluster().await?;
            let proxy = self.proxy().await?;
            cluster.wait_upload_ready(namespace, name).await?;
            let token = cluster.upload_token(namespace, name).await?;
            Ok::<_, ClusterError>((cluster, proxy, token))
        }
        .await;
        let (cluster, proxy, token) = match prepared {
            Ok(ready) => ready,
            Err(e) => {
                let e = Arc::new(e);
                body.outcome.send_replace(Some(e.clone()));
                return Err(ClusterError::Shared(e));
            }
        };
        tracing::info!(%namespace, data_volume = %name, proxy = %proxy.url(), "streaming the disk");
        proxy.upload_stream(body, name, &token).await?;
        self.wait_uploaded(cluster, namespace, name).await
    }

    /// Waits (bounded) for the DataVolume `name`, uploaded, to succeed, logging its phase
    /// and progress.
    async fn wait_uploaded(
        &self,
        cluster: &Cluster,
        namespace: &str,
        name: &str,
    ) -> Result<(), ClusterError> {
        let limit = self
            .options
            .data_volume_limit
            .unwrap_or(DATA_VOLUME_SUCCEEDED_LIMIT);
        cluster
            .wait_data_volume(namespace, name, limit, |phase, progress| {
                // The cluster's text: a newline in it would forge a log line.
                tracing::info!(%namespace, data_volume = %name, phase = %PeerText(phase),
                    progress = %PeerText(progress), "DataVolume");
            })
            .await
    }

    /// Applies the VirtualMachine as rendered (its runStrategy / running says whether it
    /// starts).
    pub async fn apply_vm(
        &self,
        namespace: &str,
        name: &str,
        object: &Value,
    ) -> Result<(), ClusterError> {
        self.namespace(namespace).await?;
        self.adoptable(Resource::VIRTUAL_MACHINE, namespace, name, object)
            .await?;
        self.apply(Resource::VIRTUAL_MACHINE, namespace, name, object)
            .await
    }

    /// Server-side applies `object`, remembering its labels for [`Deployer::remove`].
    async fn apply(
        &self,
        resource: Resource,
        namespace: &str,
        name: &str,
        object: &Value,
    ) -> Result<(), ClusterError> {
        self.cluster()
            .await?
            .apply(resource, namespace, name, object)
            .await?;
        let labels = object["metadata"]["labels"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect();
        self.applied
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                (resource.kind, namespace.to_owned(), name.to_owned()),
                labels,
            );
        Ok(())
    }

    /// The size annotated on a DataVolume that succeeded, `None` otherwise.
    pub async fn data_volume_size(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<u64>, ClusterError> {
        let dv = self
            .cluster()
            .await?
            .get(Resource::DATA_VOLUME, namespace, name)
            .await?;
        Ok(dv
            .filter(|dv| phase(dv) == Some("Succeeded"))
            .and_then(|dv| annotated_size(&dv)))
    }

    /// Deletes the VirtualMachine and DataVolumes, those carrying a plan's labels only (and,
    /// for objects this process applied, the same plan and VM labels). Goes on past a
    /// failure; returns what it deleted (`Kind namespace/name`), or
    /// [`ClusterError::CleanupIncomplete`] naming what is left.
    pub async fn remove(
        &self,
        namespace: &str,
        vm: &str,
        claims: &[String],
    ) -> Result<Vec<String>, ClusterError> {
        let cluster = self.cluster().await?;
        let targets = std::iter::once((Resource::VIRTUAL_MACHINE, vm))
            .chain(claims.iter().map(|c| (Resource::DATA_VOLUME, c.as_str())));
        let (mut deleted, mut left, mut first) = (Vec::new(), Vec::new(), None);
        for (resource, name) in targets {
            let what = format!("{} {namespace}/{name}", resource.kind);
            match self.remove_one(cluster, resource, namespace, name).await {
                Ok(true) => deleted.push(what),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(%namespace, kind = resource.kind, %name,
                        error = %forklift_core::error::PeerText(&forklift_core::error::chain(&e)), "cannot delete");
                    left.push(what);
                    first.get_or_insert(e);
                }
            }
        }
        match first {
            None => Ok(deleted),
            Some(first) => Err(ClusterError::CleanupIncomplete {
                deleted,
                left,
                first: Box::new(first),
            }),
        }
    }

    /// Deletes one object when it is this plan's; whether it did.
    async fn remove_one(
        &self,
        cluster: &Cluster,
        resource: Resource,
        namespace: &str,
        name: &str,
    ) -> Result<bool, ClusterError> {
        let Some(existing) = cluster.get(resource, namespace, name).await? else {
            return Ok(false);
        };
        let labels = existing.metadata.labels.clone().unwrap_or_default();
        let applied = self
            .applied
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(resource.kind, namespace.to_owned(), name.to_owned()))
            .cloned();
        let same = applied.is_none_or(|wanted| {
            OWNER_LABELS
                .iter()
                .all(|key| wanted.get(*key) == labels.get(*key))
        });
        if labels.contains_key(keys::PLAN_NAME) && same {
            cluster.delete(resource, namespace, name).await?;
            tracing::info!(%namespace, kind = resource.kind, %name, "deleted");
            return Ok(true);
        }
        Ok(false)
    }
}

fn phase(dv: &kube::api::DynamicObject) -> Option<&str> {
    dv.data.get("status")?.get("phase")?.as_str()
}

fn annotated_size(dv: &kube::api::DynamicObject) -> Option<u64> {
    dv.metadata
        .annotations
        .as_ref()?
        .get(DISK_SIZE_ANNOTATION)?
        .parse()
        .ok()
}

/// The DataVolumes a VirtualMachine uses, in volume order: its `dataVolume` volumes and
/// its `persistentVolumeClaim` volumes (MTV's VMs name the claim CDI creates for each
/// DataVolume, which has the DataVolume's name).
pub fn data_volumes_of(vm: &Value) -> Vec<String> {
    vm["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| {
            v["dataVolume"]["name"]
                .as_str()
                .or_else(|| v["persistentVolumeClaim"]["claimName"].as_str())
                .map(str::to_owned)
        })
        .collect()
}

/// `(namespace, claim)` of a disk.
type DiskKey = (String, String);

/// A streamed disk's upload task.
type UploadTask = tokio::task::JoinHandle<Result<(), ClusterError>>;

/// The `kubevirt` destination.
#[derive(Debug, Clone)]
pub struct KubevirtDestination {
    deployer: Arc<Deployer>,
    staging: LocalDestination,
    /// Disk sizes by `(namespace, claim)`, from `open_disk`, for the DataVolume annotation.
    sizes: Arc<Mutex<BTreeMap<DiskKey, u64>>>,
    /// Bodies of streamed disks opened but whose upload has not started.
    bodies: Arc<Mutex<BTreeMap<DiskKey, StreamBody>>>,
    /// Disks staged although the destination streams (warm precopies rewrite them).
    staged: Arc<Mutex<BTreeSet<DiskKey>>>,
    /// Uploads of streamed disks under way (each ends with its DataVolume `Succeeded`).
    uploads: Arc<Mutex<BTreeMap<DiskKey, UploadTask>>>,
}

impl KubevirtDestination {
    /// A destination for `options` (the cluster is contacted on first use).
    pub fn new(options: KubevirtOptions) -> Self {
        let staging = LocalDestination::new(&options.staging);
        Self {
            deployer: Arc::new(Deployer::new(options)),
            staging,
            sizes: Arc::default(),
            bodies: Arc::default(),
            staged: Arc::default(),
            uploads: Arc::default(),
        }
    }

    /// Whether disk `key` is (or was) copied to a staged image.
    fn is_staged(&self, key: &DiskKey) -> bool {
        !self.streaming() || lock(&self.staged).contains(key)
    }

    fn streaming(&self) -> bool {
        !self.deployer.options.stage_disks
    }

    /// Starts the upload of a streamed disk whose DataVolume was just applied, or drains
    /// its body when the DataVolume already holds the disk.
    fn start_upload(&self, namespace: &str, claim: &str, needs_image: bool) {
        let key = (namespace.to_owned(), claim.to_owned());
        let Some(body) = lock(&self.bodies).remove(&key) else {
            return;
        };
        let deployer = self.deployer.clone();
        let (ns, name) = key.clone();
        let task = tokio::spawn(async move {
            if needs_image {
                deployer.upload_stream(&ns, &name, body).await
            } else {
                // The copy still runs (its VM was not skipped); its bytes are not needed.
                let mut chunks = body.chunks;
                while chunks.recv().await.is_some() {}
                Ok(())
            }
        });
        if let Some(earlier) = lock(&self.uploads).insert(key, task) {
            earlier.abort();
        }
    }

    /// Stops the uploads of `claims` (a cleanup follows).
    async fn stop_uploads(&self, namespace: &str, claims: &[String]) {
        let mut stopped = Vec::new();
        {
            let mut uploads = lock(&self.uploads);
            let mut bodies = lock(&self.bodies);
            for claim in claims {
                let key = (namespace.to_owned(), claim.clone());
                bodies.remove(&key);
                if let Some(task) = uploads.remove(&key) {
                    task.abort();
                    stopped.push(task);
                }
            }
        }
        for task in stopped {
            // Aborted: it ends at its next await.
            let _ = task.await;
        }
    }

    /// The shared cluster operations.
    pub fn deployer(&self) -> &Deployer {
        &self.deployer
    }

    fn size_of(&self, namespace: &str, claim: &str) -> Option<u64> {
        self.sizes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(namespace.to_owned(), claim.to_owned()))
            .copied()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn cluster_error(e: ClusterError) -> DestinationError {
    DestinationError::Cluster(Box::new(e))
}

#[async_trait]
impl Destination for KubevirtDestination {
    fn describe(&self) -> String {
        "kubevirt".to_owned()
    }

    async fn open_disk(
        &self,
        namespace: &str,
        claim: &str,
        size: u64,
    ) -> Result<DestinationDisk, DestinationError> {
        // Connect (and check the APIs) before copying anything.
        self.deployer.cluster().await.map_err(cluster_error)?;
        let key = (namespace.to_owned(), claim.to_owned());
        lock(&self.sizes).insert(key.clone(), size);
        if self.is_staged(&key) {
            return self.staging.open_disk(namespace, claim, size).await;
        }
        let (sink, body) = StreamSink::new(format!("{namespace}/{claim}"), size);
        lock(&self.bodies).insert(key, body);
        Ok(DestinationDisk {
            sink,
            readback: None,
            // A streamed upload cannot resume: no checkpoint.
            checkpoint: None,
            zero_initialized: false,
            location: format!("upload of DataVolume {namespace}/{claim}"),
        })
    }

    async fn open_rewritable_disk(
        &self,
        namespace: &str,
        claim: &str,
        size: u64,
    ) -> Result<DestinationDisk, DestinationError> {
        // A stream is sent once: a disk rewritten in place is staged and uploaded whole.
        lock(&self.staged).insert((namespace.to_owned(), claim.to_owned()));
        self.open_disk(namespace, claim, size).await
    }

    async fn write_object(
        &self,
        namespace: &str,
        kind: ObjectKind,
        name: &str,
        object: &Value,
    ) -> Result<(), DestinationError> {
        match kind {
            ObjectKind::DiskClaim => {
                let size = self.size_of(namespace, name).ok_or_else(|| {
                    cluster_error(ClusterError::MissingField {
                        kind: "DataVolume",
                        name: name.to_owned(),
                        field: "disk opened before it",
                    })
                })?;
                let needs_image = self
                    .deployer
                    .apply_data_volume(namespace, name, object, size)
                    .await
                    .map_err(cluster_error)?;
                self.start_upload(namespace, name, needs_image);
                Ok(())
            }
            ObjectKind::VirtualMachine => {
                for dv in data_volumes_of(object) {
                    let key = (namespace.to_owned(), dv.clone());
                    let upload = lock(&self.uploads).remove(&key);
                    if let Some(upload) = upload {
                        upload
                            .await
                            .map_err(DestinationError::Task)?
                            .map_err(cluster_error)?;
                        continue;
                    }
                    let held = self
                        .deployer
                        .data_volume_size(namespace, &dv)
                        .await
                        .map_err(cluster_error)?;
                    let done = match self.size_of(namespace, &dv) {
                        Some(size) => held == Some(size),
                        None => held.is_some(),
                    };
                    if done {
                        continue;
                    }
                    if !self.is_staged(&key) {
                        return Err(cluster_error(ClusterError::NotCopied {
                            data_volume: dv,
                            vm: name.to_owned(),
                        }));
                    }
                    let image = self.staging.disk_path(namespace, &dv)?;
                    if !image.is_file() {
                        return Err(cluster_error(ClusterError::NotStaged {
                            data_volume: dv,
                            vm: name.to_owned(),
                        }));
                    }
                    self.deployer
                        .upload(namespace, &dv, &image)
                        .await
                        .map_err(cluster_error)?;
                }
                self.deployer
                    .apply_vm(namespace, name, object)
                    .await
                    .map_err(cluster_error)
            }
        }
    }

    async fn disk_completed(&self, namespace: &str, claim: &str) -> Result<(), DestinationError> {
        // The DataVolume holds the disk now: the staged image and its checkpoint go.
        let (image, checkpoint) = (
            self.staging.disk_path(namespace, claim)?,
            self.staging.checkpoint_path(namespace, claim)?,
        );
        super::local::blocking(move || {
            for path in [image, checkpoint] {
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(super::local::io_error(&path)(e));
                    }
                    _ => {}
                }
            }
            Ok(())
        })
        .await
    }

    async fn discard_checkpoint(
        &self,
        namespace: &str,
        claim: &str,
    ) -> Result<(), DestinationError> {
        self.staging.discard_checkpoint(namespace, claim).await
    }

    async fn disk_size(
        &self,
        namespace: &str,
        claim: &str,
    ) -> Result<Option<u64>, DestinationError> {
        self.deployer
            .data_volume_size(namespace, claim)
            .await
            .map_err(cluster_error)
    }

    async fn remove_vm(
        &self,
        namespace: &str,
        vm: &str,
        claims: &[String],
    ) -> Result<(), DestinationError> {
        self.stop_uploads(namespace, claims).await;
        let removed = self.deployer.remove(namespace, vm, claims).await;
        // Staged images go whatever the cluster said.
        self.staging.remove_vm(namespace, vm, claims).await?;
        let deleted = removed.map_err(cluster_error)?;
        tracing::info!(%namespace, %vm, deleted = %deleted.join(", "), "removed from the cluster");
        Ok(())
    }

    fn removes_on_cancel(&self) -> bool {
        // Upstream deletes a cancelled VM's objects like a failed one's; a streamed disk has
        // nothing to resume from anyway.
        true
    }

    fn status_path(&self, plan_namespace: &str, plan: &str) -> Result<PathBuf, DestinationError> {
        self.staging.status_path(plan_namespace, plan)
    }
}
