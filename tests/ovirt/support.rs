//! A test engine with two VMs whose disks are real qcow2 images, the real imageio daemon
//! the engine adds tickets to, and the manifests that point forklift at them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use forklift::core::credentials::SecretString;
use forklift::providers::ovirt::{OvirtConfig, OvirtProvider};
use forklift::providers::vsphere::TlsTrust;

use super::fake_ovirt_engine::{self as engine, EngineDisk, EngineVm, FakeEngine, Tickets};
use super::imageio::{ImageioDaemon, NbdExport, TicketSpec};
use super::local_plan::ColdPlan;

pub const VM1: &str = "1a2b3c4d-0001-4000-8000-000000000001";
pub const VM2: &str = "1a2b3c4d-0002-4000-8000-000000000002";
pub const NETWORK: &str = "00000000-0000-0000-0000-000000000009";
pub const STORAGE_DOMAIN: &str = engine::api::STORAGE_DOMAIN;

pub use super::local_plan::{files_under, run};

/// A qcow2 of `mib` MiB with a few written areas (a byte pattern per area).
pub fn qcow2(path: &Path, mib: u64, seed: u8) {
    run(Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(path)
        .arg(format!("{mib}M")));
    let mut writes = Vec::new();
    for (i, at) in [0, mib / 3, mib - 1].iter().enumerate() {
        writes.push("-c".to_owned());
        writes.push(format!(
            "write -P {} {}M 512k",
            seed.wrapping_add(i as u8 * 17),
            at
        ));
    }
    run(Command::new("qemu-io")
        .args(["-f", "qcow2"])
        .args(&writes)
        .arg(path));
}

/// Tickets on the real imageio daemon, each over its own qemu-nbd export of the disk.
pub struct DaemonTickets {
    pub daemon: ImageioDaemon,
    dir: PathBuf,
    exports: Mutex<BTreeMap<String, NbdExport>>,
}

impl Tickets for DaemonTickets {
    fn add(&self, id: &str, image: &Path, size: u64) -> Result<String, String> {
        let socket = self.dir.join(format!("{id}.sock"));
        let export = NbdExport::start(image, "qcow2", &socket, None);
        self.daemon
            .add_ticket(&TicketSpec::read(id, &export.url(), size));
        self.exports.lock().unwrap().insert(id.to_owned(), export);
        Ok(self.daemon.image_url(id).to_string())
    }

    fn remove(&self, id: &str) {
        self.daemon.remove_ticket(id);
        self.exports.lock().unwrap().remove(id);
    }

    fn add_backup(
        &self,
        id: &str,
        image: &Path,
        size: u64,
        bitmap: Option<&str>,
    ) -> Result<String, String> {
        let socket = self.dir.join(format!("{id}.sock"));
        let export = NbdExport::start(image, "qcow2", &socket, bitmap);
        let mut ticket = TicketSpec::read(id, &export.url(), size);
        if bitmap.is_some() {
            ticket = ticket.dirty();
        }
        self.daemon.add_ticket(&ticket);
        self.exports.lock().unwrap().insert(id.to_owned(), export);
        Ok(self.daemon.image_url(id).to_string())
    }
}

impl DaemonTickets {
    /// Tickets the daemon holds now.
    pub fn tickets_on_daemon(&self) -> usize {
        self.exports.lock().unwrap().len()
    }
}

/// A running test setup.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub engine: FakeEngine,
    pub tickets: Arc<DaemonTickets>,
    /// The images of the VMs' disks: (vm, disk id, path).
    pub disks: Vec<(String, String, PathBuf)>,
}

fn disk(id: &str, image: &Path, mib: u64, bootable: bool) -> EngineDisk {
    EngineDisk {
        id: id.to_owned(),
        alias: format!("disk-{}", &id[id.len() - 4..]),
        image: image.to_path_buf(),
        provisioned_size: mib << 20,
        actual_size: std::fs::metadata(image).map(|m| m.len()).unwrap_or(0),
        format: "cow",
        storage_domain: STORAGE_DOMAIN.to_owned(),
        interface: "virtio_scsi",
        bootable,
        lun_size: None,
        backup: "incremental",
    }
}

fn vm(id: &str, name: &str, disks: Vec<EngineDisk>, mac: &str) -> EngineVm {
    EngineVm {
        id: id.to_owned(),
        name: name.to_owned(),
        status: "up".to_owned(),
        target: None,
        cluster: "b4f7a1b8-ba62-11ec-8a27-525400aabbcc".to_owned(),
        bios_type: "cluster_default",
        os_type: "rhel_9x64",
        memory: 1 << 30,
        sockets: 2,
        disks,
        nics: vec![(
            "nic1".to_owned(),
            mac.to_owned(),
            "0000000a-000a-000a-000a-000000000398".to_owned(),
        )],
    }
}

impl Setup {
    /// Two running VMs: `web` with two disks (24 and 8 MiB), `db` with one (16 MiB).
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let images = dir.path().join("images");
        std::fs::create_dir_all(&images).unwrap();
        let specs = [
            (VM1, "d1000000-0000-4000-8000-000000000001", 24, 0x11),
            (VM1, "d1000000-0000-4000-8000-000000000002", 8, 0x22),
            (VM2, "d2000000-0000-4000-8000-000000000001", 16, 0x33),
        ];
        let mut disks = Vec::new();
        for (vm, id, mib, seed) in specs {
            let path = images.join(format!("{id}.qcow2"));
            qcow2(&path, mib, seed);
            disks.push((vm.to_owned(), id.to_owned(), path, mib));
        }
        let of = |vm_id: &str| {
            disks
                .iter()
                .filter(|d| d.0 == vm_id)
                .enumerate()
                .map(|(i, d)| disk(&d.1, &d.2, d.3, i == 0))
                .collect::<Vec<_>>()
        };
        let vms = vec![
            vm(VM1, "web", of(VM1), "56:6f:1a:00:00:01"),
            vm(VM2, "db", of(VM2), "56:6f:1a:00:00:02"),
        ];
        let imageio_dir = dir.path().join("imageio");
        let sockets = dir.path().join("nbd");
        std::fs::create_dir_all(&sockets).unwrap();
        let daemon = ImageioDaemon::start(&imageio_dir);
        let tickets = Arc::new(DaemonTickets {
            daemon,
            dir: sockets,
            exports: Mutex::new(BTreeMap::new()),
        });
        let engine = FakeEngine::start(vms, tickets.clone()).await;
        Self {
            disks: disks.into_iter().map(|d| (d.0, d.1, d.2)).collect(),
            dir,
            engine,
            tickets,
        }
    }

    /// The engine's CA followed by the imageio daemon's (in a real deployment the engine CA
    /// signs the hosts' imageio certificates; here they are two test CAs in one bundle).
    pub fn ca_bundle(&self) -> String {
        let mut pem = self.engine.ca_pem.clone();
        pem.push('\n');
        pem.push_str(&String::from_utf8(self.tickets.daemon.ca_pem()).unwrap());
        pem
    }

    pub fn config(&self) -> OvirtConfig {
        let mut config = OvirtConfig::new(
            "rhv",
            &self.engine.api_url,
            engine::USER,
            SecretString::new(engine::PASSWORD),
        )
        .unwrap();
        config.trust = TlsTrust::CustomCa(self.ca_bundle().into_bytes());
        config
    }

    pub async fn provider(&self) -> OvirtProvider {
        OvirtProvider::connect_with(self.config()).await.unwrap()
    }

    /// Secret + Provider manifests (`cacert` = the CA bundle) into `dir`.
    pub fn provider_manifests(&self, dir: &Path) {
        let cacert: String = self
            .ca_bundle()
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect();
        let yaml = format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: rhv-secret, namespace: konveyor-forklift}}\n\
             type: Opaque\nstringData:\n  user: {user}\n  password: {password}\n  cacert: |\n{cacert}\
             ---\napiVersion: forklift.konveyor.io/v1beta1\nkind: Provider\n\
             metadata: {{name: rhv, namespace: konveyor-forklift}}\n\
             spec:\n  type: ovirt\n  url: {url}\n  secret: {{name: rhv-secret, namespace: konveyor-forklift}}\n",
            user = engine::USER,
            password = engine::PASSWORD,
            url = self.engine.api_url,
        );
        std::fs::write(dir.join("provider.yaml"), yaml).unwrap();
    }
}

/// Maps, plan and migration for `vms` (cold, raw copy, target off) into `dir`.
pub fn plan_manifests(dir: &Path, vms: &[&str]) {
    ColdPlan {
        prefix: "rhv",
        source: "rhv",
        network: &format!("id: {NETWORK}"),
        storage: &format!("id: {STORAGE_DOMAIN}"),
        spec: "",
        vms,
    }
    .write(dir);
}
