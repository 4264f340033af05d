//! A test oVirt engine, in-process, serving the parts of the REST API v4 (JSON) and SSO that
//! the `ovirt` provider uses. Not a real engine (none is packaged): it enforces the contract
//! of the oVirt API model on the requests it gets.
//!
//! - HTTPS with its own CA; `POST /ovirt-engine/sso/oauth/token` (password grant, wrong
//!   credentials answer `access_denied`), `POST /ovirt-engine/services/sso-logout` revokes.
//! - `/ovirt-engine/api/...` needs `Authorization: Bearer <token>` (401 with a fault body
//!   otherwise); objects carry `id`, `href`, `link`s and `actions`; faults are
//!   `{"reason", "detail"}`; collections page with `search=page N` and `max`, and the VM
//!   listing inlines what `follow=` names (and only that).
//! - VM actions `start`/`stop`/`shutdown` move the status through `powering_up`/
//!   `powering_down` to `up`/`down` over the next reads.
//! - `POST /imagetransfers` (download, raw, the disk's VM down, no other transfer open on the
//!   disk, else 409) makes a transfer `initializing`; the next read makes it `transferring`
//!   after adding a REAL ticket to the real imageio daemon through [`Tickets`] (the disk is a
//!   real qcow2 exported by qemu-nbd). `finalize` / `cancel` remove the ticket.
//! - Incremental backup over real qemu bitmaps: [`backups`]; disk snapshots: [`snapshots`].
//! - [`Faults`]: one 401 for an expired token, a VM that disappears when it is stopped (404
//!   from then on), a stale transfer on a disk (409).

#![allow(dead_code)]

pub mod api;
pub mod backups;
#[path = "../serve.rs"]
mod serve;
pub mod snapshots;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The user and password the engine accepts.
pub const USER: &str = "admin@internal";
/// The password of [`USER`].
pub const PASSWORD: &str = "engine-pw";

/// Adds and removes imageio tickets, as the real engine does through vdsm on the host.
pub trait Tickets: Send + Sync {
    /// Adds a read ticket `id` for the image at `image` and returns the `transfer_url`.
    fn add(&self, id: &str, image: &std::path::Path, size: u64) -> Result<String, String>;
    /// Removes ticket `id`.
    fn remove(&self, id: &str);
    /// Adds a read ticket for a backup's frozen image; with `bitmap`, a ticket that
    /// answers `extents?context=dirty` from that bitmap.
    fn add_backup(
        &self,
        id: &str,
        image: &std::path::Path,
        size: u64,
        bitmap: Option<&str>,
    ) -> Result<String, String> {
        match bitmap {
            None => self.add(id, image, size),
            Some(_) => Err("these tickets serve no dirty bitmaps".to_owned()),
        }
    }
}

/// What the test injects.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// The next API request with a valid token is answered 401 (the token "expired") and the
    /// token revoked, once.
    pub expire_token_once: bool,
    /// VMs (by ID) that disappear once they reach `down` after a stop or shutdown.
    pub vanish_when_stopped: BTreeSet<String>,
    /// Also answer `proxy_url` only (no `transfer_url`), as through the engine's proxy.
    pub proxy_only: bool,
    /// Report engine 4.5.2.0, before direct LUN disks could be migrated (4.5.2.1).
    pub old_engine: bool,
    /// Backups go to `failed` instead of `ready`.
    pub fail_backups: bool,
}

/// A disk of the engine.
#[derive(Debug, Clone)]
pub struct EngineDisk {
    pub id: String,
    pub alias: String,
    /// The qcow2 (or raw) file holding its data.
    pub image: PathBuf,
    pub provisioned_size: u64,
    pub actual_size: u64,
    pub format: &'static str,
    pub storage_domain: String,
    pub interface: &'static str,
    pub bootable: bool,
    /// A direct LUN of this size instead of an image.
    pub lun_size: Option<u64>,
    /// Incremental backup mode: `incremental` or `none`.
    pub backup: &'static str,
}

/// A VM of the engine.
#[derive(Debug, Clone)]
pub struct EngineVm {
    pub id: String,
    pub name: String,
    pub status: String,
    /// Status the VM reaches after `pending` more reads.
    pub target: Option<(String, u32)>,
    pub cluster: String,
    pub bios_type: &'static str,
    pub os_type: &'static str,
    pub memory: u64,
    pub sockets: u32,
    pub disks: Vec<EngineDisk>,
    /// `(name, mac, vnic profile id)`.
    pub nics: Vec<(String, String, String)>,
}

/// An image transfer.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub id: String,
    pub disk: String,
    pub phase: String,
    pub transfer_url: String,
    /// Whether a ticket is on the daemon now.
    pub ticket: bool,
    /// The backup it reads, if any.
    pub backup: Option<String>,
}

/// The engine's state, readable by tests.
#[derive(Default)]
pub struct State {
    pub faults: Faults,
    pub tokens: BTreeSet<String>,
    pub vms: Vec<EngineVm>,
    pub transfers: Vec<Transfer>,
    pub backups: Vec<backups::EngineBackup>,
    pub checkpoints: Vec<backups::EngineCheckpoint>,
    pub snapshots: Vec<snapshots::EngineSnapshot>,
    /// `METHOD path?query` of every request, in order.
    pub requests: Vec<String>,
    /// Requests that came without `Version: 4`.
    pub unversioned: u32,
    pub logins: u32,
    pub logouts: u32,
    next_id: u64,
}

impl State {
    /// A fresh UUID-shaped ID.
    pub fn id(&mut self) -> String {
        self.next_id += 1;
        format!("0f0e0d0c-0000-4000-8000-{:012x}", self.next_id)
    }

    /// Transfers not finished or cancelled.
    pub fn open_transfers(&self) -> Vec<Transfer> {
        self.transfers
            .iter()
            .filter(|t| matches!(t.phase.as_str(), "initializing" | "transferring"))
            .cloned()
            .collect()
    }
}

/// The running engine.
pub struct FakeEngine {
    /// `https://127.0.0.1:PORT/ovirt-engine/api`.
    pub api_url: String,
    /// PEM of the CA that signed the engine's certificate.
    pub ca_pem: String,
    pub state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeEngine {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) struct Shared {
    pub state: Arc<Mutex<State>>,
    pub tickets: Arc<dyn Tickets>,
}

impl FakeEngine {
    /// Starts the engine on loopback with these VMs.
    pub async fn start(vms: Vec<EngineVm>, tickets: Arc<dyn Tickets>) -> Self {
        let state = Arc::new(Mutex::new(State {
            vms,
            ..State::default()
        }));
        let (ca_pem, server_config) = tls_material();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api_url = format!(
            "https://{}/ovirt-engine/api",
            listener.local_addr().unwrap()
        );
        let shared = Arc::new(Shared {
            state: state.clone(),
            tickets,
        });
        let task = serve(listener, Some(server_config), move |req| {
            let shared = shared.clone();
            async move { request(&shared, req).await }
        });
        Self {
            api_url,
            ca_pem,
            state,
            task,
        }
    }

    /// Changes the injected faults.
    pub fn faults(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut self.state.lock().unwrap().faults);
    }

    /// Transfers still open (initializing or transferring).
    pub fn open_transfers(&self) -> Vec<Transfer> {
        self.state.lock().unwrap().open_transfers()
    }

    /// Every transfer so far.
    pub fn transfers(&self) -> Vec<Transfer> {
        self.state.lock().unwrap().transfers.clone()
    }

    /// The requests served so far.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Adds a transfer on `disk` that nobody finalizes (a stale one of another client).
    pub fn stale_transfer(&self, disk: &str) {
        let mut state = self.state.lock().unwrap();
        let id = state.id();
        state.transfers.push(Transfer {
            id,
            disk: disk.to_owned(),
            phase: "transferring".into(),
            transfer_url: String::new(),
            ticket: false,
            backup: None,
        });
    }

    /// Backups not ended (not `succeeded` or `failed`).
    pub fn open_backups(&self) -> Vec<backups::EngineBackup> {
        let state = self.state.lock().unwrap();
        state
            .backups
            .iter()
            .filter(|b| b.is_open())
            .cloned()
            .collect()
    }

    /// Every backup so far.
    pub fn backups(&self) -> Vec<backups::EngineBackup> {
        self.state.lock().unwrap().backups.clone()
    }

    /// The checkpoints of VM `vm`, oldest first.
    pub fn checkpoints(&self, vm: &str) -> Vec<backups::EngineCheckpoint> {
        let state = self.state.lock().unwrap();
        state
            .checkpoints
            .iter()
            .filter(|c| c.vm == vm)
            .cloned()
            .collect()
    }

    /// Starts a backup of `vm`'s disks that nobody finalizes (another application's).
    pub fn stale_backup(&self, vm: &str) -> String {
        let mut state = self.state.lock().unwrap();
        let id = state.id();
        state.backups.push(backups::EngineBackup {
            id: id.clone(),
            vm: vm.to_owned(),
            phase: "ready".into(),
            from: None,
            to: String::new(),
            disks: Vec::new(),
        });
        id
    }

    /// Removes VM `vm` (its backups and checkpoints go with it): 404 from then on.
    pub fn remove_vm(&self, vm: &str) {
        backups::forget_vm(&mut self.state.lock().unwrap(), vm);
    }

    /// A VM's status now.
    pub fn vm_status(&self, id: &str) -> Option<String> {
        let state = self.state.lock().unwrap();
        state
            .vms
            .iter()
            .find(|v| v.id == id)
            .map(|v| v.status.clone())
    }
}

/// A CA and a server config for 127.0.0.1 signed by it.
pub(crate) use serve::{Answer, answer};
use serve::{serve, tls_material};

/// An engine fault.
pub(crate) fn fault(code: u16, reason: &str, detail: &str) -> Answer {
    answer(
        StatusCode::from_u16(code).unwrap(),
        &json!({"reason": reason, "detail": detail}),
    )
}

/// The engine's 404 fault for `what` (a path such as `vms/ID`).
pub(crate) fn not_found(what: &str) -> Answer {
    fault(
        404,
        "Operation Failed",
        &format!("Entity not found: {what}"),
    )
}

/// The IDs (at `id` in each item) of the list at `list` in a request body, as the engine
/// reads `{"disks": {"disk": [{"id": ..}]}}`-shaped lists; missing pieces read as none.
fn ids_in(body: &Value, list: &str, id: &str) -> Vec<String> {
    body.pointer(list)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.pointer(id).and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn form(body: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

async fn request(shared: &Shared, req: Request<Incoming>) -> Answer {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query: BTreeMap<String, String> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let versioned = req
        .headers()
        .get("version")
        .is_some_and(|v| v.as_bytes() == b"4");
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut state = shared.state.lock().unwrap();
    state.requests.push(format!(
        "{method} {path}{}",
        if query.is_empty() {
            String::new()
        } else {
            format!(
                "?{}",
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&query)
                    .finish()
            )
        }
    ));
    match path.as_str() {
        "/ovirt-engine/sso/oauth/token" if method == hyper::Method::POST => {
            let form = form(&body);
            let ok = form.get("grant_type").map(String::as_str) == Some("password")
                && form.get("username").map(String::as_str) == Some(USER)
                && form.get("password").map(String::as_str) == Some(PASSWORD);
            if !ok {
                return answer(
                    StatusCode::BAD_REQUEST,
                    &json!({"error": "access_denied",
                        "error_description": "Cannot authenticate user: wrong user name or password."}),
                );
            }
            state.logins += 1;
            let token = format!("tok-{}", state.id());
            state.tokens.insert(token.clone());
            let exp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 3_600_000;
            answer(
                StatusCode::OK,
                &json!({"access_token": token, "scope": "ovirt-app-api",
                    "exp": exp.to_string(), "token_type": "bearer"}),
            )
        }
        "/ovirt-engine/services/sso-logout" if method == hyper::Method::POST => {
            if let Some(token) = form(&body).get("token") {
                if state.tokens.remove(token) {
                    state.logouts += 1;
                }
            }
            answer(StatusCode::OK, &json!({}))
        }
        _ => {
            let Some(rest) = path.strip_prefix("/ovirt-engine/api") else {
                return fault(404, "Not Found", "no such path");
            };
            let valid = token.as_ref().is_some_and(|t| state.tokens.contains(t));
            if !valid {
                return fault(
                    401,
                    "Unauthorized",
                    "The access token is missing or invalid.",
                );
            }
            if state.faults.expire_token_once {
                state.faults.expire_token_once = false;
                if let Some(t) = &token {
                    state.tokens.remove(t);
                }
                return fault(401, "Unauthorized", "The access token has expired.");
            }
            if !versioned {
                state.unversioned += 1;
            }
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            api::route(shared, &mut state, &method, rest, &query, &body)
        }
    }
}
