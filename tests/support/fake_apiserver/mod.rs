//! A test Kubernetes API server and CDI upload proxy, in-process, for the endpoints the
//! `kubevirt` destination uses. Not a real cluster: it enforces the contract those endpoints
//! have on one.
//!
//! - Every DataVolume, VirtualMachine and UploadTokenRequest received is validated against
//!   the CDI / KubeVirt OpenAPI documents of shared/reference: unknown fields, wrong types and
//!   missing required fields are answered `422 Invalid` with a `Status` body.
//! - `PATCH` with `application/apply-patch+yaml` is server-side apply (`ssa.rs`): a
//!   `fieldManager` is required, fields owned by another manager conflict (409) unless
//!   `force=true`.
//! - Namespaces must exist (404) unless created; RBAC denials (403 naming verb, resource and
//!   group), quota refusals (403 `exceeded quota`) and missing API groups (404 on discovery
//!   and on their resources) are injected through [`Faults`].
//! - DataVolumes move `Pending` → `UploadReady` when applied; `GET ...?watch=true` streams
//!   their events after the `resourceVersion` given, in order.
//! - `UploadTokenRequest` issues a random token for a PVC; the upload proxy (HTTPS, a test
//!   CA) checks `Authorization: Bearer <token>` on `POST /v1beta1/upload` and
//!   `/v1beta1/upload-async` (404 when [`Faults::upload_async`] is off, as on CDI before
//!   1.21), writes the body to `<uploads>/<namespace>/<pvc>.img`, then moves the DataVolume
//!   through `status.progress` updates to `Succeeded`. A `POST` without a token is answered
//!   401 on a served route, as CDI's proxy does.
//! - Injected misbehaviour: an upload held after some bytes ([`Faults::hold_upload_after`]),
//!   an oversized answer to a `GET` ([`Faults::oversized_get`]).

#![allow(dead_code)]

#[path = "../../../forklift-core/tests/support/openapi.rs"]
mod openapi;
#[path = "../serve.rs"]
mod serve;
pub mod ssa;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// How long the server holds a watch request with nothing to send before ending it.
const WATCH_HOLD: Duration = Duration::from_secs(5);

/// What the test injects.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Group/versions not served (their CRDs "not installed").
    pub missing_apis: BTreeSet<String>,
    /// `(verb, plural)` pairs RBAC denies.
    pub forbidden: BTreeSet<(String, String)>,
    /// Plurals whose creation a ResourceQuota refuses.
    pub quota_exceeded: BTreeSet<String>,
    /// Storage classes that exist.
    pub storage_classes: BTreeSet<String>,
    /// Whether CDIConfig's status advertises the proxy's CA.
    pub advertise_ca: bool,
    /// Whether the DataVolume fails after upload instead of succeeding.
    pub fail_import: bool,
    /// Whether the DataVolume stays `UploadReady` after upload (an import that hangs).
    pub stall_import: bool,
    /// How many uploads the proxy answers `503` (with a 100 KiB body) before accepting one.
    pub proxy_failures: u32,
    /// Whether the proxy serves `/v1beta1/upload-async` (CDI before 1.21 does not: 404).
    pub upload_async: bool,
    /// After this many bytes of an upload the proxy stops reading it (a stalled upload
    /// server), until the client goes away.
    pub hold_upload_after: Option<u64>,
    /// After this many bytes of an upload the proxy answers `500` without reading the rest
    /// (an upload server that crashed mid-stream).
    pub refuse_upload_after: Option<u64>,
    /// Plurals whose `GET` of one object answers with a body this large, in bytes (a
    /// hostile or broken API server).
    pub oversized_get: BTreeMap<String, usize>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            missing_apis: BTreeSet::new(),
            forbidden: BTreeSet::new(),
            quota_exceeded: BTreeSet::new(),
            storage_classes: ["standard".to_owned(), "local".to_owned()].into(),
            advertise_ca: true,
            fail_import: false,
            stall_import: false,
            proxy_failures: 0,
            upload_async: true,
            hold_upload_after: None,
            refuse_upload_after: None,
            oversized_get: BTreeMap::new(),
        }
    }
}

/// A stored object with its field owners.
#[derive(Debug, Clone)]
pub struct Stored {
    pub object: Value,
    pub owners: BTreeMap<String, String>,
}

/// One watch event.
#[derive(Debug, Clone)]
pub struct Event {
    pub version: u64,
    pub plural: String,
    pub namespace: String,
    pub name: String,
    pub kind: &'static str,
    pub object: Value,
}

/// The server's state, readable by tests.
#[derive(Debug, Default)]
pub struct State {
    pub faults: Faults,
    pub namespaces: BTreeSet<String>,
    /// `(plural, namespace, name)` → object.
    pub objects: BTreeMap<(String, String, String), Stored>,
    pub version: u64,
    pub events: Vec<Event>,
    /// token → `(namespace, pvc)`.
    pub tokens: BTreeMap<String, (String, String)>,
    /// `METHOD path` of every request, in order (API server and proxy).
    pub requests: Vec<String>,
}

/// The running fake cluster.
pub struct FakeCluster {
    pub api_url: String,
    pub proxy_url: String,
    /// PEM of the CA that signed the proxy's certificate.
    pub ca_pem: String,
    pub uploads: PathBuf,
    pub state: Arc<Mutex<State>>,
    notify: Arc<Notify>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for FakeCluster {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

struct Shared {
    state: Arc<Mutex<State>>,
    notify: Arc<Notify>,
    cdi: openapi::OpenApi,
    kubevirt: openapi::OpenApi,
    uploads: PathBuf,
    proxy_url: String,
    ca_pem: String,
}

impl FakeCluster {
    /// Starts the API server (plain HTTP) and the upload proxy (HTTPS) on loopback.
    pub async fn start(faults: Faults, uploads: &Path) -> Self {
        let state = Arc::new(Mutex::new(State {
            faults,
            namespaces: ["default".to_owned()].into(),
            ..State::default()
        }));
        let notify = Arc::new(Notify::new());
        let (ca_pem, server_config) = tls_material();
        let api = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api_url = format!("http://{}", api.local_addr().unwrap());
        let proxy_url = format!("https://{}", proxy.local_addr().unwrap());
        let shared = Arc::new(Shared {
            state: state.clone(),
            notify: notify.clone(),
            cdi: openapi::OpenApi::load_reference("cdi-openapi/swagger.json"),
            kubevirt: openapi::OpenApi::load(),
            uploads: uploads.to_path_buf(),
            proxy_url: proxy_url.clone(),
            ca_pem: ca_pem.clone(),
        });
        let api_task = {
            let shared = shared.clone();
            serve(api, None, move |req| {
                let shared = shared.clone();
                async move { api_request(&shared, req).await }
            })
        };
        let proxy_task = {
            let shared = shared.clone();
            serve(proxy, Some(server_config), move |req| {
                let shared = shared.clone();
                async move { proxy_request(&shared, req).await }
            })
        };
        Self {
            api_url,
            proxy_url,
            ca_pem,
            uploads: uploads.to_path_buf(),
            state,
            notify,
            tasks: vec![api_task, proxy_task],
        }
    }

    /// A kubeconfig file for the API server, written into `dir`.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {{server: \"{}\"}}\nusers:\n- name: forklift\n  user: {{token: test-token}}\ncontexts:\n- name: fake\n  context: {{cluster: fake, user: forklift, namespace: default}}\ncurrent-context: fake\n",
                self.api_url
            ),
        )
        .unwrap();
        path
    }

    /// The CA's PEM written into `dir`.
    pub fn ca_file(&self, dir: &Path) -> PathBuf {
        let path = dir.join("proxy-ca.pem");
        std::fs::write(&path, &self.ca_pem).unwrap();
        path
    }

    /// Changes the injected faults.
    pub fn faults(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut self.state.lock().unwrap().faults);
    }

    /// A stored object.
    pub fn object(&self, plural: &str, namespace: &str, name: &str) -> Option<Stored> {
        let key = (plural.to_owned(), namespace.to_owned(), name.to_owned());
        self.state.lock().unwrap().objects.get(&key).cloned()
    }

    /// Stores an object as `manager` applied it (a pre-existing object of the test).
    pub fn seed(&self, plural: &str, namespace: &str, name: &str, object: Value, manager: &str) {
        let mut state = self.state.lock().unwrap();
        let (object, owners) = ssa::apply(None, &object, manager, true).ok().unwrap();
        state.namespaces.insert(namespace.to_owned());
        let key = (plural.to_owned(), namespace.to_owned(), name.to_owned());
        state.objects.insert(key, Stored { object, owners });
    }

    /// The requests served so far.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }
}

/// A CA and a server config for 127.0.0.1 signed by it.
use serve::{Answer, answer, serve, tls_material};

/// A `Status` failure as the API server sends it.
fn status(code: u16, reason: &str, message: &str) -> Answer {
    answer(
        StatusCode::from_u16(code).unwrap(),
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": reason, "code": code}),
    )
}

/// The parsed path of an API request.
#[derive(Debug)]
struct Target {
    group_version: String,
    plural: String,
    namespace: String,
    name: String,
}

fn parse_target(path: &str) -> Option<Target> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group_version, rest) = match parts.as_slice() {
        ["api", version, rest @ ..] => ((*version).to_owned(), rest),
        ["apis", group, version, rest @ ..] => (format!("{group}/{version}"), rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => ((*ns).to_owned(), rest),
        rest => (String::new(), rest),
    };
    let (plural, name) = match rest {
        [plural] => ((*plural).to_owned(), String::new()),
        [plural, name] => ((*plural).to_owned(), (*name).to_owned()),
        _ => return None,
    };
    Some(Target {
        group_version,
        plural,
        namespace,
        name,
    })
}

fn query(req: &Request<Incoming>) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn verb_of(method: &Method, target: &Target, query: &BTreeMap<String, String>) -> &'static str {
    match *method {
        Method::GET if query.get("watch").is_some_and(|w| w == "true" || w == "1") => "watch",
        Method::GET if target.name.is_empty() => "list",
        Method::GET => "get",
        Method::POST => "create",
        Method::PATCH => "patch",
        Method::PUT => "update",
        Method::DELETE => "delete",
        _ => "unknown",
    }
}

async fn api_request(shared: &Shared, req: Request<Incoming>) -> Answer {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    shared
        .state
        .lock()
        .unwrap()
        .requests
        .push(format!("{method} {}", req.uri()));
    let query = query(&req);
    // Discovery of one group/version.
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    if let ["apis", group, version] = parts.as_slice() {
        let gv = format!("{group}/{version}");
        if shared
            .state
            .lock()
            .unwrap()
            .faults
            .missing_apis
            .contains(&gv)
        {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            );
        }
        return answer(StatusCode::OK, &discovery(&gv));
    }
    let Some(target) = parse_target(&path) else {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    };
    let verb = verb_of(&method, &target, &query);
    {
        let state = shared.state.lock().unwrap();
        if state.faults.missing_apis.contains(&target.group_version) {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            );
        }
        if state
            .faults
            .forbidden
            .contains(&(verb.to_owned(), target.plural.clone()))
        {
            let group = target.group_version.rsplit_once('/').map_or("", |(g, _)| g);
            let resource = if group.is_empty() {
                target.plural.clone()
            } else {
                format!("{}.{group}", target.plural)
            };
            let scope = if target.namespace.is_empty() {
                "at the cluster scope".to_owned()
            } else {
                format!("in the namespace \"{}\"", target.namespace)
            };
            return status(
                403,
                "Forbidden",
                &format!(
                    "{resource} \"{}\" is forbidden: User \"system:serviceaccount:test:forklift\" cannot {verb} resource \"{}\" in API group \"{group}\" {scope}",
                    target.name, target.plural
                ),
            );
        }
        if !target.namespace.is_empty()
            && !state.namespaces.contains(&target.namespace)
            && verb != "get"
        {
            return status(
                404,
                "NotFound",
                &format!("namespaces \"{}\" not found", target.namespace),
            );
        }
    }
    let body = match req.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return status(400, "BadRequest", "cannot read the body"),
    };
    let oversized = shared
        .state
        .lock()
        .unwrap()
        .faults
        .oversized_get
        .get(&target.plural)
        .copied();
    if let (Some(size), "get") = (oversized, verb) {
        // A well-formed object padded with one huge annotation.
        let padding = "x".repeat(size);
        return answer(
            StatusCode::OK,
            &json!({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
                "metadata": {"name": target.name, "namespace": target.namespace,
                    "annotations": {"padding": padding}}}),
        );
    }
    match (verb, target.plural.as_str()) {
        ("get", "namespaces") => {
            if shared
                .state
                .lock()
                .unwrap()
                .namespaces
                .contains(&target.name)
            {
                answer(
                    StatusCode::OK,
                    &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": target.name}}),
                )
            } else {
                status(
                    404,
                    "NotFound",
                    &format!("namespaces \"{}\" not found", target.name),
                )
            }
        }
        ("create", "namespaces") => {
            let Ok(object) = serde_json::from_slice::<Value>(&body) else {
                return status(400, "BadRequest", "not JSON");
            };
            let name = object["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let mut state = shared.state.lock().unwrap();
            if !state.namespaces.insert(name.clone()) {
                return status(
                    409,
                    "AlreadyExists",
                    &format!("namespaces \"{name}\" already exists"),
                );
            }
            answer(StatusCode::CREATED, &object)
        }
        ("get", "storageclasses") => {
            if shared
                .state
                .lock()
                .unwrap()
                .faults
                .storage_classes
                .contains(&target.name)
            {
                answer(
                    StatusCode::OK,
                    &json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": target.name}, "provisioner": "fake"}),
                )
            } else {
                status(
                    404,
                    "NotFound",
                    &format!(
                        "storageclasses.storage.k8s.io \"{}\" not found",
                        target.name
                    ),
                )
            }
        }
        ("get", "cdiconfigs") => {
            let advertise = shared.state.lock().unwrap().faults.advertise_ca;
            let mut status_body = json!({"uploadProxyURL": shared.proxy_url});
            if advertise {
                status_body["uploadProxyCA"] = shared.ca_pem.clone().into();
            }
            answer(
                StatusCode::OK,
                &json!({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "CDIConfig",
                "metadata": {"name": "config", "resourceVersion": "1"}, "spec": {}, "status": status_body}),
            )
        }
        ("create", "uploadtokenrequests") => token_request(shared, &target, &body),
        ("patch", _) => apply(shared, &target, &query, &body),
        ("get", _) => {
            let key = (
                target.plural.clone(),
                target.namespace.clone(),
                target.name.clone(),
            );
            match shared.state.lock().unwrap().objects.get(&key) {
                Some(stored) => answer(StatusCode::OK, &stored.object),
                None => status(
                    404,
                    "NotFound",
                    &format!("{} \"{}\" not found", target.plural, target.name),
                ),
            }
        }
        ("delete", _) => {
            let key = (
                target.plural.clone(),
                target.namespace.clone(),
                target.name.clone(),
            );
            let mut state = shared.state.lock().unwrap();
            match state.objects.remove(&key) {
                Some(stored) => {
                    record(&mut state, &target, "DELETED", stored.object);
                    shared.notify.notify_waiters();
                    answer(
                        StatusCode::OK,
                        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
                    )
                }
                None => status(
                    404,
                    "NotFound",
                    &format!("{} \"{}\" not found", target.plural, target.name),
                ),
            }
        }
        ("watch", "datavolumes") => watch(shared, &target, &query).await,
        _ => status(
            405,
            "MethodNotAllowed",
            &format!("{verb} {} is not served by the test server", target.plural),
        ),
    }
}

fn discovery(gv: &str) -> Value {
    let resources: &[(&str, &str)] = match gv {
        "cdi.kubevirt.io/v1beta1" => &[("datavolumes", "DataVolume"), ("cdiconfigs", "CDIConfig")],
        "upload.cdi.kubevirt.io/v1beta1" => &[("uploadtokenrequests", "UploadTokenRequest")],
        "kubevirt.io/v1" => &[("virtualmachines", "VirtualMachine")],
        _ => &[],
    };
    let resources: Vec<Value> = resources
        .iter()
        .map(|(plural, kind)| json!({"name": plural, "singularName": kind.to_lowercase(), "namespaced": true, "kind": kind, "verbs": ["create", "delete", "get", "list", "patch", "watch"]}))
        .collect();
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
}

/// Validates an object of `plural` against its OpenAPI schema; the API server's 422 text.
fn invalid(shared: &Shared, plural: &str, object: &Value) -> Option<String> {
    let errors = match plural {
        "datavolumes" => shared.cdi.validate("v1beta1.DataVolume", object),
        "uploadtokenrequests" => shared.cdi.validate("v1beta1.UploadTokenRequest", object),
        "virtualmachines" => shared.kubevirt.validate("v1.VirtualMachine", object),
        _ => Vec::new(),
    };
    (!errors.is_empty()).then(|| errors.join(", "))
}

fn kind_of(plural: &str) -> &'static str {
    match plural {
        "datavolumes" => "DataVolume.cdi.kubevirt.io",
        "virtualmachines" => "VirtualMachine.kubevirt.io",
        "uploadtokenrequests" => "UploadTokenRequest.upload.cdi.kubevirt.io",
        _ => "Object",
    }
}

fn record(state: &mut State, target: &Target, kind: &'static str, mut object: Value) {
    state.version += 1;
    let version = state.version;
    object["metadata"]["resourceVersion"] = version.to_string().into();
    state.events.push(Event {
        version,
        plural: target.plural.clone(),
        namespace: target.namespace.clone(),
        name: target.name.clone(),
        kind,
        object,
    });
}

fn apply(
    shared: &Shared,
    target: &Target,
    query: &BTreeMap<String, String>,
    body: &[u8],
) -> Answer {
    let Some(manager) = query.get("fieldManager").filter(|m| !m.is_empty()) else {
        return status(
            400,
            "BadRequest",
            "PATCH is not supported: fieldManager is required for apply requests",
        );
    };
    let Ok(patch) = serde_yaml_ng::from_slice::<Value>(body) else {
        return status(400, "BadRequest", "the body is not YAML or JSON");
    };
    if patch["metadata"]["name"].as_str() != Some(target.name.as_str()) {
        return status(400, "BadRequest", "metadata.name does not match the URL");
    }
    let what = format!("{} \"{}\"", kind_of(&target.plural), target.name);
    if let Some(errors) = invalid(shared, &target.plural, &patch) {
        return status(422, "Invalid", &format!("{what} is invalid: {errors}"));
    }
    let force = query.get("force").is_some_and(|f| f == "true");
    let mut state = shared.state.lock().unwrap();
    let key = (
        target.plural.clone(),
        target.namespace.clone(),
        target.name.clone(),
    );
    let existing = state.objects.get(&key).cloned();
    if existing.is_none() && state.faults.quota_exceeded.contains(&target.plural) {
        return status(
            403,
            "Forbidden",
            &format!(
                "{what} is forbidden: exceeded quota: storage-quota, requested: requests.storage=10Gi, used: requests.storage=95Gi, limited: requests.storage=100Gi"
            ),
        );
    }
    let merged = ssa::apply(
        existing.as_ref().map(|s| (&s.object, &s.owners)),
        &patch,
        manager,
        force,
    );
    let (mut object, owners) = match merged {
        Ok(merged) => merged,
        Err(conflicts) => {
            let list: Vec<String> = conflicts
                .iter()
                .map(|c| format!("conflict with \"{}\": .{}", c.manager, c.field))
                .collect();
            return status(
                409,
                "Conflict",
                &format!(
                    "Apply failed with {} conflict(s): {}",
                    list.len(),
                    list.join("; ")
                ),
            );
        }
    };
    if let Some(existing) = &existing {
        object["status"] = existing.object["status"].clone();
        object["metadata"]["uid"] = existing.object["metadata"]["uid"].clone();
    } else {
        object["metadata"]["uid"] = format!("uid-{}", state.version + 1).into();
        if target.plural == "datavolumes" {
            let upload = object["spec"]["source"].get("upload").is_some();
            object["status"] =
                json!({"phase": if upload { "UploadReady" } else { "Pending" }, "progress": "N/A"});
        }
    }
    if object["status"].is_null() {
        object.as_object_mut().unwrap().remove("status");
    }
    record(
        &mut state,
        target,
        if existing.is_some() {
            "MODIFIED"
        } else {
            "ADDED"
        },
        object.clone(),
    );
    object["metadata"]["resourceVersion"] = state.version.to_string().into();
    state.objects.insert(
        key,
        Stored {
            object: object.clone(),
            owners,
        },
    );
    shared.notify.notify_waiters();
    answer(
        if existing.is_some() {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        },
        &object,
    )
}

fn token_request(shared: &Shared, target: &Target, body: &[u8]) -> Answer {
    let Ok(mut request) = serde_json::from_slice::<Value>(body) else {
        return status(400, "BadRequest", "not JSON");
    };
    if let Some(errors) = invalid(shared, "uploadtokenrequests", &request) {
        return status(
            422,
            "Invalid",
            &format!("UploadTokenRequest is invalid: {errors}"),
        );
    }
    let pvc = request["spec"]["pvcName"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let token = format!("tok.{}", uuid_like());
    shared
        .state
        .lock()
        .unwrap()
        .tokens
        .insert(token.clone(), (target.namespace.clone(), pvc));
    request["status"] = json!({"token": token});
    answer(StatusCode::CREATED, &request)
}

fn uuid_like() -> String {
    use std::hash::{BuildHasher, RandomState};
    format!(
        "{:016x}{:016x}",
        RandomState::new().hash_one(1u8),
        RandomState::new().hash_one(2u8)
    )
}

async fn watch(shared: &Shared, target: &Target, query: &BTreeMap<String, String>) -> Answer {
    let name = query
        .get("fieldSelector")
        .and_then(|f| f.strip_prefix("metadata.name="))
        .map(str::to_owned);
    let since: Option<u64> = query
        .get("resourceVersion")
        .filter(|v| !v.is_empty() && *v != "0")
        .and_then(|v| v.parse().ok());
    let deadline = tokio::time::Instant::now() + WATCH_HOLD;
    loop {
        let notified = shared.notify.notified();
        let lines: Vec<String> = {
            let state = shared.state.lock().unwrap();
            let matches = |e: &Event| {
                e.plural == target.plural
                    && e.namespace == target.namespace
                    && name.as_ref().is_none_or(|n| *n == e.name)
            };
            match since {
                Some(since) => state
                    .events
                    .iter()
                    .filter(|e| e.version > since && matches(e))
                    .map(|e| json!({"type": e.kind, "object": e.object}).to_string())
                    .collect(),
                None => state
                    .objects
                    .iter()
                    .filter(|((plural, ns, n), _)| {
                        *plural == target.plural
                            && *ns == target.namespace
                            && name.as_ref().is_none_or(|x| x == n)
                    })
                    .map(|(_, s)| json!({"type": "ADDED", "object": s.object}).to_string())
                    .collect(),
            }
        };
        if !lines.is_empty() || tokio::time::Instant::now() >= deadline {
            let mut text = lines.join("\n");
            text.push('\n');
            return Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(if lines.is_empty() {
                    String::new()
                } else {
                    text
                })))
                .unwrap();
        }
        let _ = tokio::time::timeout_at(deadline, notified).await;
    }
}

async fn proxy_request(shared: &Shared, req: Request<Incoming>) -> Answer {
    let path = req.uri().path().to_owned();
    // Requests without a token (a client probing which routes are served) are told apart.
    let label = if req.headers().contains_key("authorization") {
        "PROXY"
    } else {
        "PROXY UNAUTHENTICATED"
    };
    shared
        .state
        .lock()
        .unwrap()
        .requests
        .push(format!("{label} {} {path}", req.method()));
    let text = |code: u16, body: &str| {
        Response::builder()
            .status(code)
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap()
    };
    if req.method() == Method::GET && path == "/healthz" {
        return text(200, "OK");
    }
    let upload_async = shared.state.lock().unwrap().faults.upload_async;
    if req.method() != Method::POST
        || !(path == "/v1beta1/upload" || (upload_async && path == "/v1beta1/upload-async"))
    {
        return text(404, "not found");
    }
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::to_owned);
    let Some((namespace, pvc)) =
        token.and_then(|t| shared.state.lock().unwrap().tokens.get(&t).cloned())
    else {
        return text(
            401,
            "authentication failed: invalid or missing bearer token",
        );
    };
    let key = ("datavolumes".to_owned(), namespace.clone(), pvc.clone());
    let ready = shared
        .state
        .lock()
        .unwrap()
        .objects
        .get(&key)
        .is_some_and(|s| s.object["status"]["phase"] == "UploadReady");
    if !ready {
        return text(503, "the upload pod is not ready");
    }
    let refuse = {
        let mut state = shared.state.lock().unwrap();
        let refuse = state.faults.proxy_failures > 0;
        state.faults.proxy_failures = state.faults.proxy_failures.saturating_sub(1);
        refuse
    };
    if refuse {
        // Read the body first, as the proxy does, so the client sees the answer.
        let _ = req.into_body().collect().await;
        return text(503, &"the upload server is restarting; ".repeat(4096));
    }
    let dir = shared.uploads.join(&namespace);
    std::fs::create_dir_all(&dir).unwrap();
    let file_path = dir.join(format!("{pvc}.img"));
    let mut file = tokio::fs::File::create(&file_path).await.unwrap();
    let (hold, crash) = {
        let faults = &shared.state.lock().unwrap().faults;
        (faults.hold_upload_after, faults.refuse_upload_after)
    };
    let mut received = 0u64;
    let mut body = req.into_body();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return text(400, "body interrupted");
        };
        if let Some(data) = frame.data_ref() {
            tokio::io::AsyncWriteExt::write_all(&mut file, data)
                .await
                .unwrap();
            received += data.len() as u64;
        }
        if crash.is_some_and(|c| received >= c) {
            return text(500, "the upload server crashed");
        }
        if hold.is_some_and(|h| received >= h) {
            shared
                .state
                .lock()
                .unwrap()
                .requests
                .push(format!("PROXY HOLD {namespace}/{pvc} {received}"));
            // Reads no more; the client gives up (or the test ends).
            std::future::pending::<()>().await;
        }
    }
    tokio::io::AsyncWriteExt::flush(&mut file).await.unwrap();
    shared.state.lock().unwrap().requests.push(format!(
        "PROXY RECEIVED {path} {namespace}/{pvc} {received}"
    ));
    // The import: progress updates, then Succeeded (or Failed), each a watch event.
    let (fail, stall) = {
        let faults = &shared.state.lock().unwrap().faults;
        (faults.fail_import, faults.stall_import)
    };
    let target = Target {
        group_version: "cdi.kubevirt.io/v1beta1".to_owned(),
        plural: "datavolumes".to_owned(),
        namespace,
        name: pvc,
    };
    let steps: Vec<Value> = if stall {
        Vec::new()
    } else if fail {
        vec![
            json!({"phase": "Failed", "progress": "10.00%", "conditions": [{"type": "Running", "status": "False", "message": "Unable to process data: qemu-img: invalid image"}]}),
        ]
    } else {
        vec![
            json!({"phase": "UploadReady", "progress": "45.00%"}),
            json!({"phase": "UploadReady", "progress": "90.00%"}),
            json!({"phase": "Succeeded", "progress": "100.0%"}),
        ]
    };
    // CDI's controller moves the DataVolume after the proxy answered.
    let (state, notify) = (shared.state.clone(), shared.notify.clone());
    tokio::spawn(async move {
        for step in steps {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let mut state = state.lock().unwrap();
            let Some(stored) = state.objects.get(&key).cloned() else {
                break;
            };
            let mut object = stored.object;
            object["status"] = step;
            record(&mut state, &target, "MODIFIED", object.clone());
            object["metadata"]["resourceVersion"] = state.version.to_string().into();
            state.objects.insert(
                key.clone(),
                Stored {
                    object,
                    owners: stored.owners,
                },
            );
            notify.notify_waiters();
        }
    });
    text(200, "")
}
