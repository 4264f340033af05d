//! The cluster client: kubeconfig loading, API discovery, namespaces, server-side apply,
//! deletion, storage classes, CDI's configuration, upload tokens and DataVolume watches.

use std::path::Path;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;

use super::error::{Action, ClusterError};

/// The field manager of every server-side apply forklift makes.
pub const FIELD_MANAGER: &str = "forklift";

/// How long connecting to the API server may take.
pub const API_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one API response may take (a watch request asks the server to end it sooner,
/// [`WATCH_REQUEST_SECONDS`]).
pub const API_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// How long one watch request runs before it is re-issued from the last resourceVersion.
pub const WATCH_REQUEST_SECONDS: u32 = 30;

/// How long a DataVolume may take to reach `Succeeded` once its image is uploaded.
pub const DATA_VOLUME_SUCCEEDED_LIMIT: Duration = Duration::from_secs(30 * 60);

/// How long a DataVolume's upload server may take to become ready (phase `UploadReady`)
/// before a streamed disk is sent to it.
pub const UPLOAD_READY_LIMIT: Duration = Duration::from_secs(10 * 60);

/// The largest API answer read, in bytes: every response body, a watch's whole stream
/// included (one watch request lasts [`WATCH_REQUEST_SECONDS`] on one DataVolume). A larger
/// one fails the request instead of growing memory (kube-rs itself caps nothing).
pub const API_RESPONSE_LIMIT: usize = 16 * 1024 * 1024;

/// The APIs the destination needs: `(group/version, what provides it)`.
pub const REQUIRED_APIS: [(&str, &str); 3] = [
    ("cdi.kubevirt.io/v1beta1", "CDI"),
    ("upload.cdi.kubevirt.io/v1beta1", "CDI"),
    ("kubevirt.io/v1", "KubeVirt"),
];

/// A resource forklift writes: its group/version, kind and plural.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    /// `group/version` (`v1` for the core group).
    pub api_version: &'static str,
    /// The kind.
    pub kind: &'static str,
    /// The plural.
    pub plural: &'static str,
}

impl Resource {
    /// CDI DataVolumes.
    pub const DATA_VOLUME: Self = Self::new("cdi.kubevirt.io/v1beta1", "DataVolume", "datavolumes");
    /// KubeVirt VirtualMachines.
    pub const VIRTUAL_MACHINE: Self =
        Self::new("kubevirt.io/v1", "VirtualMachine", "virtualmachines");
    /// CDI upload tokens.
    pub const UPLOAD_TOKEN_REQUEST: Self = Self::new(
        "upload.cdi.kubevirt.io/v1beta1",
        "UploadTokenRequest",
        "uploadtokenrequests",
    );
    /// Core Secrets.
    pub const SECRET: Self = Self::new("v1", "Secret", "secrets");
    /// Core ConfigMaps.
    pub const CONFIG_MAP: Self = Self::new("v1", "ConfigMap", "configmaps");
    /// CDI's cluster configuration.
    pub const CDI_CONFIG: Self = Self::new("cdi.kubevirt.io/v1beta1", "CDIConfig", "cdiconfigs");
    /// Storage classes.
    pub const STORAGE_CLASS: Self =
        Self::new("storage.k8s.io/v1", "StorageClass", "storageclasses");
    /// Namespaces.
    pub const NAMESPACE: Self = Self::new("v1", "Namespace", "namespaces");

    const fn new(api_version: &'static str, kind: &'static str, plural: &'static str) -> Self {
        Self {
            api_version,
            kind,
            plural,
        }
    }

    /// The resource for a kind forklift writes, from an object's `kind`.
    pub fn of_kind(kind: &str) -> Option<Self> {
        [
            Self::DATA_VOLUME,
            Self::VIRTUAL_MACHINE,
            Self::SECRET,
            Self::CONFIG_MAP,
        ]
        .into_iter()
        .find(|r| r.kind == kind)
    }

    fn api_resource(self) -> ApiResource {
        let (group, version) = self
            .api_version
            .split_once('/')
            .unwrap_or(("", self.api_version));
        ApiResource {
            group: group.to_owned(),
            version: version.to_owned(),
            api_version: self.api_version.to_owned(),
            kind: self.kind.to_owned(),
            plural: self.plural.to_owned(),
        }
    }

    /// `plural.group`, as RBAC names it.
    pub fn qualified(self) -> String {
        match self.api_version.split_once('/') {
            Some((group, _)) => format!("{}.{group}", self.plural),
            None => self.plural.to_owned(),
        }
    }

    fn action(self, verb: &'static str, namespace: &str, name: &str) -> Action {
        let object = match (namespace.is_empty(), name.is_empty()) {
            (true, _) => name.to_owned(),
            (false, true) => namespace.to_owned(),
            (false, false) => format!("{namespace}/{name}"),
        };
        Action {
            verb,
            resource: self.qualified(),
            object,
        }
    }
}

/// Where the kubeconfig comes from.
#[derive(Debug, Clone, Default)]
pub struct ClusterConfig {
    /// An explicit kubeconfig file (`--kubeconfig`); otherwise as kubectl finds it:
    /// `KUBECONFIG`, `~/.kube/config`, then the in-cluster service account.
    pub kubeconfig: Option<std::path::PathBuf>,
}

/// A connected cluster.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    server: String,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Loads the configuration as kubectl would and builds a client (nothing is sent yet).
    pub async fn connect(config: &ClusterConfig) -> Result<Self, ClusterError> {
        let mut kube_config = match &config.kubeconfig {
            Some(path) => load_kubeconfig(path).await?,
            None => kube::Config::infer()
                .await
                .map_err(ClusterError::NoConfig)?,
        };
        kube_config.connect_timeout = Some(API_CONNECT_TIMEOUT);
        kube_config.read_timeout = Some(API_READ_TIMEOUT);
        let server = kube_config.cluster_url.to_string();
        // kube-rs reads whole answers and watch lines without a cap: every response body
        // goes through `Limited`, which fails the request past API_RESPONSE_LIMIT.
        let client = kube::client::ClientBuilder::try_from(kube_config)
            .map_err(|e| ClusterError::Client(Box::new(e)))?
            .with_layer(&tower_http::map_response_body::MapResponseBodyLayer::new(
                |body| http_body_util::Limited::new(body, API_RESPONSE_LIMIT),
            ))
            .build();
        Ok(Self { client, server })
    }

    /// The API server's URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Checks that the API server answers and serves CDI's and KubeVirt's APIs.
    pub async fn preflight(&self) -> Result<(), ClusterError> {
        for (group_version, what) in REQUIRED_APIS {
            match self.client.list_api_group_resources(group_version).await {
                Ok(_) => {}
                Err(kube::Error::Api(r)) if r.code == 404 => {
                    return Err(ClusterError::MissingApi {
                        group_version,
                        what,
                    });
                }
                Err(e @ kube::Error::Api(_)) => {
                    let action = Action {
                        verb: "get",
                        resource: format!("/apis/{group_version}"),
                        object: String::new(),
                    };
                    return Err(ClusterError::from_api(action, "", e));
                }
                Err(e) => {
                    return Err(ClusterError::Unreachable {
                        server: self.server.clone(),
                        source: Box::new(e),
                    });
                }
            }
        }
        Ok(())
    }

    fn api(&self, resource: Resource, namespace: &str) -> Api<DynamicObject> {
        let ar = resource.api_resource();
        if namespace.is_empty() {
            Api::all_with(self.client.clone(), &ar)
        } else {
            Api::namespaced_with(self.client.clone(), namespace, &ar)
        }
    }

    /// Makes sure `namespace` exists, creating it when allowed.
    pub async fn ensure_namespace(&self, namespace: &str) -> Result<(), ClusterError> {
        if self
            .get(Resource::NAMESPACE, "", namespace)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let object: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}
        }))
        .map_err(|e| ClusterError::Api {
            action: Resource::NAMESPACE.action("create", "", namespace),
            source: Box::new(kube::Error::SerdeError(e)),
        })?;
        match self
            .api(Resource::NAMESPACE, "")
            .create(&PostParams::default(), &object)
            .await
        {
            Ok(_) => {
                tracing::info!(%namespace, "created the target namespace");
                Ok(())
            }
            // Someone else created it meanwhile.
            Err(kube::Error::Api(r)) if r.code == 409 => Ok(()),
            Err(kube::Error::Api(r)) if r.code == 403 && !r.message.contains("exceeded quota") => {
                Err(ClusterError::NamespaceNotAllowed {
                    namespace: namespace.to_owned(),
                    message: r.message,
                })
            }
            Err(e) => Err(ClusterError::from_api(
                Resource::NAMESPACE.action("create", "", namespace),
                namespace,
                e,
            )),
        }
    }

    /// Reads an object; `None` when it does not exist.
    pub async fn get(
        &self,
        resource: Resource,
        namespace: &str,
        name: &str,
    ) -> Result<Option<DynamicObject>, ClusterError> {
        self.api(resource, namespace)
            .get_opt(name)
            .await
            .map_err(|e| {
                ClusterError::from_api(resource.action("get", namespace, name), namespace, e)
            })
    }

    /// Server-side applies `object` (field manager [`FIELD_MANAGER`], strict field
    /// validation, conflicts reported, never forced).
    pub async fn apply(
        &self,
        resource: Resource,
        namespace: &str,
        name: &str,
        object: &Value,
    ) -> Result<DynamicObject, ClusterError> {
        let mut params = PatchParams::apply(FIELD_MANAGER);
        params.field_validation = Some(kube::api::ValidationDirective::Strict);
        self.api(resource, namespace)
            .patch(name, &params, &Patch::Apply(object))
            .await
            .map_err(|e| {
                ClusterError::from_api(resource.action("patch", namespace, name), namespace, e)
            })
    }

    /// Deletes an object; a missing one is not an error.
    pub async fn delete(
        &self,
        resource: Resource,
        namespace: &str,
        name: &str,
    ) -> Result<(), ClusterError> {
        match self
            .api(resource, namespace)
            .delete(name, &DeleteParams::background())
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(r)) if r.code == 404 => Ok(()),
            Err(e) => Err(ClusterError::from_api(
                resource.action("delete", namespace, name),
                namespace,
                e,
            )),
        }
    }

    /// Checks that the storage class `class` exists (asked before a DataVolume names it).
    pub async fn check_storage_class(
        &self,
        class: &str,
        data_volume: &str,
    ) -> Result<(), ClusterError> {
        match self.get(Resource::STORAGE_CLASS, "", class).await? {
            Some(_) => Ok(()),
            None => Err(ClusterError::StorageClassMissing {
                class: class.to_owned(),
                data_volume: data_volume.to_owned(),
            }),
        }
    }

    /// CDI's upload proxy URL and CA from the CDIConfig `config` status (each `None` when
    /// unset).
    pub async fn cdi_upload_proxy(&self) -> Result<(Option<String>, Option<String>), ClusterError> {
        let Some(config) = self.get(Resource::CDI_CONFIG, "", "config").await? else {
            return Ok((None, None));
        };
        let status = config.data.get("status");
        let text = |key: &str| {
            status
                .and_then(|s| s.get(key))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Ok((text("uploadProxyURL"), text("uploadProxyCA")))
    }

    /// Asks CDI for a bearer token to upload into the PVC of `data_volume`.
    pub async fn upload_token(
        &self,
        namespace: &str,
        data_volume: &str,
    ) -> Result<String, ClusterError> {
        let resource = Resource::UPLOAD_TOKEN_REQUEST;
        let request: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": resource.api_version,
            "kind": resource.kind,
            "metadata": {"name": data_volume, "namespace": namespace},
            "spec": {"pvcName": data_volume},
            "status": {},
        }))
        .map_err(|e| ClusterError::Api {
            action: resource.action("create", namespace, data_volume),
            source: Box::new(kube::Error::SerdeError(e)),
        })?;
        let answer = self
            .api(resource, namespace)
            .create(&PostParams::default(), &request)
            .await
            .map_err(|e| {
                ClusterError::from_api(
                    resource.action("create", namespace, data_volume),
                    namespace,
                    e,
                )
            })?;
        answer
            .data
            .get("status")
            .and_then(|s| s.get("token"))
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| ClusterError::NoToken {
                data_volume: data_volume.to_owned(),
            })
    }

    /// Watches the DataVolume until phase `Succeeded`, calling `progress` with each new
    /// `status.progress`; fails on phase `Failed` or after `limit`.
    pub async fn wait_data_volume(
        &self,
        namespace: &str,
        name: &str,
        limit: Duration,
        progress: impl FnMut(&str, &str),
    ) -> Result<(), ClusterError> {
        self.wait_phase(namespace, name, "Succeeded", limit, progress)
            .await
    }

    /// Watches the DataVolume until its upload server is ready (phase `UploadReady`, as
    /// `virtctl image-upload` waits before sending); fails on phase `Failed` or after
    /// [`UPLOAD_READY_LIMIT`].
    pub async fn wait_upload_ready(&self, namespace: &str, name: &str) -> Result<(), ClusterError> {
        self.wait_phase(namespace, name, "UploadReady", UPLOAD_READY_LIMIT, |phase, _| {
            tracing::info!(%namespace, data_volume = %name, phase = %forklift_core::error::PeerText(phase),
                "waiting for the upload server");
        })
        .await
    }

    /// Watches the DataVolume until phase `wanted`.
    async fn wait_phase(
        &self,
        namespace: &str,
        name: &str,
        wanted: &'static str,
        limit: Duration,
        mut progress: impl FnMut(&str, &str),
    ) -> Result<(), ClusterError> {
        let resource = Resource::DATA_VOLUME;
        let full_name = format!("{namespace}/{name}");
        let deadline = tokio::time::Instant::now() + limit;
        let api = self.api(resource, namespace);
        let mut last = Observed {
            wanted,
            ..Observed::default()
        };
        let current = self.get(resource, namespace, name).await?.ok_or_else(|| {
            ClusterError::DataVolumeFailed {
                data_volume: full_name.clone(),
                message: "it was deleted".to_owned(),
            }
        })?;
        let mut version = current
            .metadata
            .resource_version
            .clone()
            .unwrap_or_default();
        if last.observe(&current, &full_name, &mut progress)? {
            return Ok(());
        }
        loop {
            let params = WatchParams::default()
                .fields(&format!("metadata.name={name}"))
                .timeout(WATCH_REQUEST_SECONDS);
            let watch = async {
                let mut events = api.watch(&params, &version).await?.boxed();
                while let Some(event) = events.try_next().await? {
                    match event {
                        WatchEvent::Added(dv) | WatchEvent::Modified(dv) => {
                            if let Some(v) = &dv.metadata.resource_version {
                                version.clone_from(v);
                            }
                            if last
                                .observe(&dv, &full_name, &mut progress)
                                .map_err(Box::new)?
                            {
                                return Ok(true);
                            }
                        }
                        WatchEvent::Deleted(_) => {
                            return Err(WatchStop::Failed(ClusterError::DataVolumeFailed {
                                data_volume: full_name.clone(),
                                message: "it was deleted".to_owned(),
                            }));
                        }
                        WatchEvent::Bookmark(b) => version = b.metadata.resource_version,
                        WatchEvent::Error(e) if e.code == 410 => {
                            // Our resourceVersion is too old: start again from a fresh read.
                            version.clear();
                            return Ok(false);
                        }
                        WatchEvent::Error(e) => return Err(kube::Error::Api(e).into()),
                    }
                }
                Ok::<bool, WatchStop>(false)
            };
            match tokio::time::timeout_at(deadline, watch).await {
                Ok(Ok(true)) => return Ok(()),
                Ok(Ok(false)) => {}
                Ok(Err(WatchStop::Failed(e))) => return Err(e),
                Ok(Err(WatchStop::Boxed(e))) => return Err(*e),
                Ok(Err(WatchStop::Kube(e))) => {
                    return Err(ClusterError::from_api(
                        resource.action("watch", namespace, name),
                        namespace,
                        e,
                    ));
                }
                Err(_) => {
                    return Err(ClusterError::DataVolumeTimeout {
                        wanted,
                        data_volume: full_name,
                        seconds: limit.as_secs(),
                        phase: last.phase,
                    });
                }
            }
            if version.is_empty() {
                if let Some(dv) = self.get(resource, namespace, name).await? {
                    version = dv.metadata.resource_version.clone().unwrap_or_default();
                    if last.observe(&dv, &full_name, &mut progress)? {
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// Why a watch request ended early.
enum WatchStop {
    Failed(ClusterError),
    Boxed(Box<ClusterError>),
    Kube(kube::Error),
}

impl From<kube::Error> for WatchStop {
    fn from(e: kube::Error) -> Self {
        Self::Kube(e)
    }
}

impl From<Box<ClusterError>> for WatchStop {
    fn from(e: Box<ClusterError>) -> Self {
        Self::Boxed(e)
    }
}

/// What a DataVolume watch has seen so far.
#[derive(Default)]
struct Observed {
    wanted: &'static str,
    phase: String,
    progress: String,
}

impl Observed {
    /// Records `dv`'s phase and progress; `Ok(true)` once it succeeded.
    fn observe(
        &mut self,
        dv: &DynamicObject,
        full_name: &str,
        progress: &mut impl FnMut(&str, &str),
    ) -> Result<bool, ClusterError> {
        let status = dv.data.get("status");
        let field = |key: &str| {
            status
                .and_then(|s| s.get(key))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let (phase, percent) = (field("phase"), field("progress"));
        if phase != self.phase || percent != self.progress {
            progress(&phase, &percent);
            self.phase = phase;
            self.progress = percent;
        }
        match self.phase.as_str() {
            phase if phase == self.wanted => Ok(true),
            "Failed" => Err(ClusterError::DataVolumeFailed {
                data_volume: full_name.to_owned(),
                message: last_condition_message(status),
            }),
            _ => Ok(false),
        }
    }
}

fn last_condition_message(status: Option<&Value>) -> String {
    status
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .and_then(|c| {
            c.iter()
                .rev()
                .find_map(|c| c.get("message").and_then(Value::as_str))
        })
        .unwrap_or("no condition says why")
        .to_owned()
}

async fn load_kubeconfig(path: &Path) -> Result<kube::Config, ClusterError> {
    let error = |source| ClusterError::Kubeconfig {
        path: path.to_path_buf(),
        source,
    };
    let kubeconfig = Kubeconfig::read_from(path).map_err(error)?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(error)
}
