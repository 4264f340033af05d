//! The real ovirt-imageio daemon (PyPI `ovirt-imageio` 2.5.1, installed by
//! scripts/setup-ovirt.sh into a venv) for tests, and `qemu-nbd` exports for it to serve.
//!
//! ```text
//!   ImageioDaemon::start(dir)   dir/pki: a test CA and a server certificate for 127.0.0.1
//!     │                         dir/conf/conf.d/99-test.conf, dir/run/sock (control), dir/log
//!     ├─ add_ticket(&TicketSpec) ── PUT /tickets/ID over the control socket
//!     ├─ remove_ticket(id)       ── DELETE /tickets/ID
//!     ├─ image_url(id)           ── https://127.0.0.1:PORT/images/ID
//!     └─ Drop: SIGTERM, then SIGKILL after 5 s, by PID; nothing is left running
//!   NbdExport::start(image, socket, bitmap) ── qemu-nbd --read-only [--bitmap=NAME] on a Unix socket
//! ```
//!
//! The daemon listens on 127.0.0.1 with TLS on a port the kernel picks (`port = 0`; the
//! port is read from its log line "remote.service listening on"), so tests run in parallel.
//! Include it from a root test with `#[path = "support/imageio/mod.rs"] mod imageio;`.

#![allow(dead_code)] // each test binary uses some of these

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variable naming the venv (scripts/setup-ovirt.sh reads the same one).
pub const VENV_ENV: &str = "FORKLIFT_IMAGEIO_VENV";
/// Where scripts/setup-ovirt.sh installs ovirt-imageio by default.
pub const DEFAULT_VENV: &str = "/opt/forklift/ovirt-imageio-venv";

/// The venv holding ovirt-imageio.
pub fn venv() -> PathBuf {
    std::env::var_os(VENV_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_VENV))
}

/// The daemon's executable.
pub fn daemon_program() -> PathBuf {
    venv().join("bin/ovirt-imageio")
}

/// Panics with the setup hint unless the daemon, qemu-nbd and openssl are installed.
pub fn require_installed() {
    assert!(
        daemon_program().is_file(),
        "{} is missing: run scripts/setup-ovirt.sh (or set {VENV_ENV})",
        daemon_program().display()
    );
    for tool in ["qemu-nbd", "qemu-img", "openssl"] {
        let found = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        assert!(found, "{tool} is missing: run scripts/setup.sh");
    }
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Writes a self-signed test CA (`NAME.pem`, `NAME.key`) into `dir` and returns the PEM path.
pub fn make_ca(dir: &Path, name: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let (pem, key) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .arg("-subj")
        .arg(format!("/CN=forklift test CA {name}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&pem));
    pem
}

/// Writes a server key and certificate for 127.0.0.1 and `localhost` signed by the CA
/// `ca_name` of `dir` (see [`make_ca`]): `cert.pem`, `key.pem`.
fn make_server_cert(dir: &Path, ca_name: &str) {
    let ext = dir.join("server.ext");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let csr = dir.join("server.csr");
    run(Command::new("openssl")
        .args([
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(&csr));
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
        .arg("-in")
        .arg(&csr)
        .arg("-CA")
        .arg(dir.join(format!("{ca_name}.pem")))
        .arg("-CAkey")
        .arg(dir.join(format!("{ca_name}.key")))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .arg("-extfile")
        .arg(&ext));
}

/// What a ticket grants (the fields the engine sends to the daemon).
#[derive(Debug, Clone)]
pub struct TicketSpec {
    /// Ticket ID (the engine uses a UUID); it is the last segment of the image URL.
    pub id: String,
    /// The backend: an NBD URL (`nbd:unix:/path/sock:exportname=disk`, see [`NbdExport::url`]).
    pub url: String,
    /// Image size in bytes.
    pub size: u64,
    /// Allowed operations (`read`, `write`).
    pub ops: Vec<String>,
    /// Seconds until the ticket expires.
    pub timeout: u64,
    /// Whether the ticket answers `GET /images/ID/extents?context=dirty` (the export must
    /// have a bitmap: `qemu-nbd --bitmap=NAME`).
    pub dirty: bool,
}

impl TicketSpec {
    /// A read-only ticket for an export, expiring in an hour.
    pub fn read(id: &str, nbd_url: &str, size: u64) -> Self {
        Self {
            id: id.to_owned(),
            url: nbd_url.to_owned(),
            size,
            ops: vec!["read".to_owned()],
            timeout: 3600,
            dirty: false,
        }
    }

    /// This ticket with dirty extents.
    pub fn dirty(mut self) -> Self {
        self.dirty = true;
        self
    }

    fn json(&self) -> String {
        serde_json::json!({
            "uuid": self.id,
            "url": self.url,
            "size": self.size,
            "ops": self.ops,
            "timeout": self.timeout,
            "dirty": self.dirty,
        })
        .to_string()
    }
}

/// A running ovirt-imageio daemon; stopped on drop.
pub struct ImageioDaemon {
    dir: PathBuf,
    child: Child,
    port: u16,
}

impl ImageioDaemon {
    /// Writes certificates and configuration under `dir` and starts the daemon; waits (at most
    /// 30 s) until it serves.
    pub fn start(dir: &Path) -> Self {
        require_installed();
        let pki = dir.join("pki");
        for sub in ["conf/conf.d", "run", "log"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        make_ca(&pki, "ca");
        make_server_cert(&pki, "ca");
        let d = dir.display();
        let conf = format!(
            "[daemon]\nrun_dir = {d}/run\ndrop_privileges = false\nsystemd_enable = false\n\n\
             [tls]\nenable = true\nkey_file = {d}/pki/key.pem\ncert_file = {d}/pki/cert.pem\n\
             ca_file = {d}/pki/ca.pem\n\n[remote]\nhost = 127.0.0.1\nport = 0\n\n\
             [local]\nenable = false\n\n[control]\ntransport = unix\nsocket = {d}/run/sock\n\n\
             [handlers]\nkeys = logfile\n\n[handler_logfile]\nargs = ('{d}/log/daemon.log',)\n"
        );
        std::fs::write(dir.join("conf/conf.d/99-test.conf"), conf).unwrap();
        let stdout = std::fs::File::create(dir.join("log/stdout.log")).unwrap();
        let child = Command::new(daemon_program())
            .arg("-c")
            .arg(dir.join("conf"))
            .stdin(Stdio::null())
            .stdout(stdout.try_clone().unwrap())
            .stderr(stdout)
            .spawn()
            .unwrap();
        let mut daemon = Self {
            dir: dir.to_path_buf(),
            child,
            port: 0,
        };
        daemon.port = daemon.wait_ready();
        daemon
    }

    /// Reads the port from the log once the daemon says it is ready.
    fn wait_ready(&mut self) -> u16 {
        let log = self.dir.join("log/daemon.log");
        let started = Instant::now();
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("Ready for requests") {
                let port = text
                    .lines()
                    .find(|l| l.contains("remote.service listening on"))
                    .and_then(|l| l.rsplit(", ").next())
                    .and_then(|p| p.trim_end_matches(')').trim().parse().ok());
                return port.unwrap_or_else(|| panic!("no port in the imageio log:\n{text}"));
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let out =
                    std::fs::read_to_string(self.dir.join("log/stdout.log")).unwrap_or_default();
                panic!("ovirt-imageio exited with {status}:\n{out}\n{text}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "ovirt-imageio did not start:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The HTTPS port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The PID of the daemon.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The test CA's certificate file (it signed the daemon's certificate).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("pki/ca.pem")
    }

    /// The test CA's certificate, PEM.
    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.ca_file()).unwrap()
    }

    /// The control socket.
    pub fn control_socket(&self) -> PathBuf {
        self.dir.join("run/sock")
    }

    /// The daemon's log file.
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("log/daemon.log")
    }

    /// `https://127.0.0.1:PORT/images/TICKET`.
    pub fn image_url(&self, ticket: &str) -> url::Url {
        url::Url::parse(&format!("https://127.0.0.1:{}/images/{ticket}", self.port)).unwrap()
    }

    /// One request over the control socket: status and body.
    pub fn control(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let mut stream = UnixStream::connect(self.control_socket()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        let body = body.unwrap_or("");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad control answer: {answer}"));
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    /// Adds a ticket (`PUT /tickets/ID`); panics unless the daemon accepts it.
    pub fn add_ticket(&self, ticket: &TicketSpec) {
        let (status, body) = self.control(
            "PUT",
            &format!("/tickets/{}", ticket.id),
            Some(&ticket.json()),
        );
        assert_eq!(status, 200, "adding ticket {}: {body}", ticket.id);
    }

    /// Removes a ticket (`DELETE /tickets/ID`; the daemon waits for requests in flight).
    /// Returns the status (200 or 204 removed, 409 still in use after the daemon's wait).
    pub fn remove_ticket(&self, id: &str) -> u16 {
        self.control("DELETE", &format!("/tickets/{id}"), None).0
    }

    /// The daemon's view of a ticket (`GET /tickets/ID`): `None` when it does not exist.
    pub fn ticket(&self, id: &str) -> Option<serde_json::Value> {
        let (status, body) = self.control("GET", &format!("/tickets/{id}"), None);
        (status == 200).then(|| serde_json::from_str(&body).unwrap())
    }
}

/// Stops a child by its PID: SIGTERM, then SIGKILL after `grace`; reaps it.
fn stop(child: &mut Child, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    // SAFETY: kill(2) on the PID of a child this process spawned and has not reaped.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let started = Instant::now();
    while started.elapsed() < grace {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for ImageioDaemon {
    fn drop(&mut self) {
        stop(&mut self.child, Duration::from_secs(5));
    }
}

/// A read-only `qemu-nbd` export of an image on a Unix socket; stopped on drop.
pub struct NbdExport {
    child: Child,
    socket: PathBuf,
}

impl NbdExport {
    /// Serves `image` (its format probed by `format`, e.g. `qcow2`) on `socket` as export
    /// `disk`, read-only, for up to 8 clients; with `bitmap`, also its dirty bitmap
    /// (`--bitmap=NAME`, which the ticket's `dirty: true` needs). Waits (at most 10 s) until
    /// the socket exists.
    pub fn start(image: &Path, format: &str, socket: &Path, bitmap: Option<&str>) -> Self {
        let _ = std::fs::remove_file(socket);
        let mut command = Command::new("qemu-nbd");
        command
            .args([
                "--read-only",
                "--persistent",
                "--shared=8",
                "--export-name=disk",
            ])
            .arg(format!("--format={format}"))
            .arg(format!("--socket={}", socket.display()));
        if let Some(bitmap) = bitmap {
            command.arg(format!("--bitmap={bitmap}"));
        }
        let child = command
            .arg(image)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut export = Self {
            child,
            socket: socket.to_path_buf(),
        };
        let started = Instant::now();
        while !socket.exists() {
            if let Ok(Some(status)) = export.child.try_wait() {
                panic!("qemu-nbd exited with {status}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "qemu-nbd did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        export
    }

    /// The NBD URL imageio takes as a ticket's `url`.
    pub fn url(&self) -> String {
        format!("nbd:unix:{}:exportname=disk", self.socket.display())
    }

    /// The PID of qemu-nbd.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for NbdExport {
    fn drop(&mut self) {
        stop(&mut self.child, Duration::from_secs(5));
        let _ = std::fs::remove_file(&self.socket);
    }
}
