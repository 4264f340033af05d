//! End to end with the real virt-v2v: a Debian guest built from Debian packages
//! (scripts/build-test-guest.sh, cached between runs), exported as a VMware OVA, migrated by
//! the runner with conversion; the converted disk is checked with guestfish and booted to a
//! login prompt under qemu with virtio devices (TCG), its static IP up on the NIC whose name
//! the conversion pinned to its MAC. The plan's customizationScripts run in the same
//! conversion (a `run` script's file is checked with guestfish, a `firstboot` script reports
//! the guest's addresses on the serial console at that boot). LUKS: the Secret's passphrase
//! unlocks the data volume; a wrong one fails the VM with a clear message.
//!
//! Runs whenever virt-v2v is installed (scripts/setup.sh installs it); on a machine without
//! it the tests say so and pass.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use forklift::demo::manifests::{PLAN, demo_manifests};
use forklift::migrate::convert::{
    ConversionProgress, ConversionReport, ConversionRequest, ConvertError, Converter,
    LIBGUESTFS_TCG_ENV, VirtV2vConverter,
};
use forklift::migrate::{
    LocalDestination, MigrateError, MigrateOptions, MigrationEvent, Migrator, PlanReport, VmOutcome,
};
use forklift_core::manifest::ManifestSet;
use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;

/// The passphrase build-test-guest.sh formats the LUKS data disk with.
const PASSPHRASE: &str = "forklift-luks-test";
/// The static IP in the guest's /etc/network/interfaces.
const STATIC_IP: &str = "192.168.122.50";
/// The guest's VMware NIC (build-test-guest.sh) and the name its configuration uses.
const MAC: &str = "00:50:56:aa:bb:cc";
const NIC: &str = "ens192";
/// The line the plan's first-boot script prints on the serial console before `ip -br addr`.
const FIRSTBOOT_MARK: &str = "forklift-firstboot-addresses";
/// How long the converted guest may take to reach its login prompt under TCG.
const BOOT_LIMIT: Duration = Duration::from_secs(240);

/// One conversion at a time: each appliance takes ~1.7 GB and both cores.
static SERIAL: Mutex<()> = Mutex::const_new(());

fn v2v_installed() -> bool {
    let found = Command::new("sh")
        .args(["-c", "command -v virt-v2v-in-place && command -v guestfish"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!("virt-v2v is not installed (scripts/setup-v2v.sh): conversion tests not run");
    }
    found
}

/// The test guest's directory, built once per script version.
fn guest() -> &'static Path {
    static GUEST: OnceLock<PathBuf> = OnceLock::new();
    GUEST.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-test-guest.sh");
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-guest");
        let started = Instant::now();
        let out = Command::new("bash")
            .arg(&script)
            .arg(&cache)
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        assert!(out.status.success(), "build-test-guest.sh failed");
        let dir = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        // The packages are complete: dated back past the catalog scan's settle time (files
        // modified in the last 30 s count as still being copied), so a guest built just now
        // is found at once.
        let past = std::time::SystemTime::now() - Duration::from_secs(120);
        for catalog in ["catalog", "catalog-luks"] {
            for entry in std::fs::read_dir(dir.join(catalog)).unwrap() {
                let file = std::fs::File::options()
                    .write(true)
                    .open(entry.unwrap().path())
                    .unwrap();
                file.set_modified(past).unwrap();
            }
        }
        eprintln!(
            "test guest at {} ({:.1} s here; built in {} s)",
            dir.display(),
            started.elapsed().as_secs_f64(),
            std::fs::read_to_string(dir.join("build-seconds"))
                .unwrap_or_default()
                .trim()
        );
        dir
    })
}

/// The demo's manifests for `catalog` with conversion on, the VM `vm`, its LUKS Secret, and
/// with `customize` the plan's customizationScripts ConfigMap.
fn manifests(catalog: &Path, vm: &str, luks: Option<&str>, customize: bool) -> ManifestSet {
    let mut text = demo_manifests(catalog, &[vm.to_owned()]).replace(
        "  skipGuestConversion: true\n  useCompatibilityMode: true\n",
        "",
    );
    assert!(!text.contains("skipGuestConversion: true"));
    if let Some(passphrase) = luks {
        text = text.replace(
            &format!("    - name: \"{vm}\"\n"),
            &format!(
                "    - name: \"{vm}\"\n      luks:\n        name: luks-keys\n        namespace: forklift-demo\n"
            ),
        );
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: luks-keys\n  namespace: forklift-demo\ntype: Opaque\nstringData:\n  key1: {passphrase}\n"
        ));
    }
    if customize {
        text = text.replace(
            "  targetNamespace:",
            "  customizationScripts:\n    name: guest-scripts\n    namespace: forklift-demo\n  targetNamespace:",
        );
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: guest-scripts\n  namespace: forklift-demo\ndata:\n  \
             10_linux_run_marker.sh: |\n    echo converted-by-forklift > /etc/forklift-customized\n  \
             20_linux_firstboot_report.sh: |\n    {{ echo {FIRSTBOOT_MARK}; ip -br -4 addr; echo {FIRSTBOOT_MARK}-end; }} > /dev/ttyS0\n  \
             30_win_firstboot_never.ps1: |\n    Write-Output 'not for Linux guests'\n"
        ));
    }
    let set = ManifestSet::parse("test", &text);
    // The ConfigMap is kept verbatim (not a forklift kind): reported, not blocking.
    assert!(
        forklift::manifests::blocking_errors(&set).is_empty(),
        "{:?}",
        set.diagnostics()
    );
    set
}

async fn migrate(
    set: &ManifestSet,
    out: &Path,
) -> (Result<PlanReport, MigrateError>, Vec<MigrationEvent>) {
    let mut options = MigrateOptions::new(LocalDestination::new(out));
    options.converter = Some(std::sync::Arc::new(WithStaticIp(
        VirtV2vConverter::default(),
    )));
    let migrator = Migrator::new(set, Some(PLAN), options).unwrap();
    let (tx, mut rx) = mpsc::channel(1024);
    let collect = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some(e) = rx.recv().await {
            events.push(e);
        }
        events
    });
    let result = migrator.run(tx, CancellationToken::new()).await;
    (result, collect.await.unwrap())
}

/// The real virt-v2v converter, told the guest's static IP as a vSphere inventory's guest
/// networks would (render derives `--mac` specs from them for vSphere; an OVA carries no guest
/// IPs, and upstream preserves static IPs for vSphere and Hyper-V only).
#[derive(Debug)]
struct WithStaticIp(VirtV2vConverter);

#[async_trait::async_trait]
impl Converter for WithStaticIp {
    fn describe(&self) -> String {
        self.0.describe()
    }

    fn check(&self) -> Result<(), ConvertError> {
        self.0.check()
    }

    async fn convert(
        &self,
        request: &ConversionRequest,
        progress: mpsc::Sender<ConversionProgress>,
        cancel: &CancellationToken,
    ) -> Result<ConversionReport, ConvertError> {
        let mut request = request.clone();
        request
            .static_ips
            .push(format!("{MAC}:ip:{STATIC_IP},192.168.122.1,24"));
        self.0.convert(&request, progress, cancel).await
    }
}

/// Runs a guestfish script read-only on `disks`, with the OS mounted; returns its output.
fn guestfish(disks: &[&Path], script: &str) -> String {
    let mut cmd = Command::new("guestfish");
    // Inspection opens the LUKS partition of the data disk too.
    cmd.args(["--ro", "-i", "--key"])
        .arg(format!("/dev/sdb1:key:{PASSPHRASE}"))
        .envs(LIBGUESTFS_TCG_ENV);
    for disk in disks {
        cmd.args(["--format=raw", "-a"]).arg(disk);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "guestfish: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Boots `disk` with virtio devices under TCG (a snapshot: the disk is not changed), its NIC
/// with the source's MAC, and waits for the login prompt and the end of the first-boot
/// script's report; returns the seconds it took and the console. A qemu that ends before is
/// started once more, after printing how it ended: under a loaded CI machine a TCG qemu has
/// been seen to exit a second into the kernel, which says nothing about the guest.
fn boots_to_login(disk: &Path) -> (f64, String) {
    match boot_once(disk) {
        Ok(booted) => booted,
        Err(first) => {
            eprintln!("first boot ended without a login prompt; booting once more:\n{first}");
            boot_once(disk)
                .unwrap_or_else(|again| panic!("qemu ended without a login prompt:\n{again}"))
        }
    }
}

/// One boot: the seconds to the login prompt and the first-boot report, with the console; or
/// how qemu ended (status, its stderr, the console) when it ended first.
fn boot_once(disk: &Path) -> Result<(f64, String), String> {
    let started = Instant::now();
    let stderr_file = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new("qemu-system-x86_64")
        .args(["-machine", "q35,accel=tcg", "-m", "1024", "-smp", "2"])
        .args(["-nographic", "-serial", "mon:stdio"])
        // A virtio NIC with the VMware NIC's MAC; user networking with no way out.
        .args(["-netdev", "user,id=n0,restrict=on", "-device"])
        .arg(format!("virtio-net-pci,netdev=n0,mac={MAC}"))
        .arg("-drive")
        .arg(format!(
            "file={},format=raw,if=virtio,snapshot=on",
            disk.display()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr_file.reopen().unwrap())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let end_mark = format!("{FIRSTBOOT_MARK}-end");
    std::thread::spawn(move || {
        use std::io::Read;
        let mut console = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => console.extend_from_slice(&buf[..n]),
                // A signal meant for another thread is no reason to stop reading.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
            let text = String::from_utf8_lossy(&console);
            if text.contains("login:") && text.contains(&end_mark) {
                let _ = tx.send(Ok(text.into_owned()));
                return;
            }
            let _ = tx.send(Err(None));
        }
        let _ = tx.send(Err(Some(String::from_utf8_lossy(&console).into_owned())));
    });
    let deadline = started + BOOT_LIMIT;
    let result = loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Err(None)) => continue,
            other => break other,
        }
    };
    let _ = child.kill();
    let status = child.wait();
    match result {
        Ok(Ok(console)) => Ok((started.elapsed().as_secs_f64(), console)),
        Ok(Err(console)) => {
            let stderr = std::fs::read_to_string(stderr_file.path()).unwrap_or_default();
            let console = console.unwrap_or_default();
            let tail: String = console
                .chars()
                .rev()
                .take(2000)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            Err(format!(
                "qemu {status:?}; stderr: {stderr}\nconsole (end): {tail}"
            ))
        }
        Err(_) => panic!("no login prompt and first-boot report within {BOOT_LIMIT:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ova_guest_is_converted_unlocked_inspected_and_boots_with_virtio() {
    if !v2v_installed() {
        return;
    }
    let _serial = SERIAL.lock().await;
    let guest = guest();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let set = manifests(
        &guest.join("catalog-luks"),
        "testguest-luks",
        Some(PASSPHRASE),
        true,
    );
    let started = Instant::now();
    let (report, events) = migrate(&set, &out).await;
    let report = report.unwrap();
    eprintln!(
        "migrated with conversion in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let vm = &report.vms[0];
    assert_eq!(vm.outcome, VmOutcome::Succeeded, "{report:#?}");
    let phases: Vec<String> = vm.phases.iter().map(|p| p.phase.to_string()).collect();
    let copy = phases.iter().position(|p| p == "CopyDisks").unwrap();
    let create = phases
        .iter()
        .position(|p| p == "CreateGuestConversionPod")
        .unwrap();
    let convert = phases.iter().position(|p| p == "ConvertGuest").unwrap();
    let create_vm = phases.iter().position(|p| p == "CreateVM").unwrap();
    assert!(
        copy < create && create < convert && convert < create_vm,
        "{phases:?}"
    );
    // The conversion ran (the OVA source has no power control: those phases are skipped).
    assert!(
        vm.phases
            .iter()
            .filter(|p| p.phase.to_string().contains("Guest"))
            .all(|p| p.skipped.is_none()),
        "{phases:?}"
    );
    // virt-v2v's stages arrived as progress events.
    let stages: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            MigrationEvent::ConversionProgress { stage, .. } => Some(stage.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        stages
            .iter()
            .any(|s| s.starts_with("Inspecting the source")),
        "{stages:?}"
    );
    assert!(
        stages
            .iter()
            .any(|s| s.starts_with("Converting") && s.ends_with("to run on KVM")),
        "{stages:?}"
    );
    // Status: the inspected OS, and the conversion log next to the plan status.
    let status = std::fs::read_to_string(&report.status_path).unwrap();
    assert!(
        status.contains("operatingSystem: debian12_64Guest"),
        "{status}"
    );
    assert!(status.contains("disksCopied: true"), "{status}");
    let log = PathBuf::from(format!("{}.conversion", report.status_path))
        .join(format!("{}.log", vm.target_name));
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("virt-v2v-in-place"), "{}", log.display());
    // The VM says it was converted.
    let vm_yaml = std::fs::read_to_string(
        out.join(&vm.namespace)
            .join("virtualmachines")
            .join(format!("{}.yaml", vm.target_name)),
    )
    .unwrap();
    assert!(vm_yaml.contains("guestConverted: \"true\""), "{vm_yaml}");

    // The converted disks: virtio modules in the initramfs, VMware tools gone, the static IP
    // still configured, the LUKS volume intact.
    let root = PathBuf::from(&vm.disks[0].path);
    let data = PathBuf::from(&vm.disks[1].path);
    let checks = guestfish(
        &[&root, &data],
        "sh \"lsinitramfs /boot/initrd.img-$(ls /lib/modules | head -n1) | grep -E 'virtio_(blk|net|pci|scsi)' | sort -u\"\n\
         echo --tools--\n\
         sh \"dpkg-query -W -f='${Status}' open-vm-tools 2>/dev/null; echo; ls /usr/bin/vmtoolsd 2>&1 || true\"\n\
         echo --network--\n\
         cat /etc/network/interfaces\n\
         echo --udev--\n\
         cat /etc/udev/rules.d/70-persistent-net.rules\n\
         echo --customized--\n\
         cat /etc/forklift-customized\n\
         sh \"cat /usr/lib/virt-sysprep/scripts/*\"\n",
    );
    for module in ["virtio_blk", "virtio_net", "virtio_scsi"] {
        assert!(checks.contains(module), "{module} missing:\n{checks}");
    }
    let tools = checks
        .split("--tools--")
        .nth(1)
        .unwrap()
        .split("--network--")
        .next()
        .unwrap();
    assert!(!tools.contains("install ok installed"), "{tools}");
    assert!(tools.contains("No such file"), "{tools}");
    assert!(
        checks.contains(&format!("address {STATIC_IP}/24")),
        "{checks}"
    );
    // The NIC with the static IP's MAC keeps the name its configuration uses.
    assert!(
        checks.contains(&format!(
            "SUBSYSTEM==\"net\",ACTION==\"add\",ATTR{{address}}==\"{MAC}\",NAME=\"{NIC}\""
        )),
        "{checks}"
    );
    // The plan's scripts: the run script ran, the first-boot one is installed, the Windows
    // one is not.
    let customized = checks.split("--customized--").nth(1).unwrap();
    assert!(customized.contains("converted-by-forklift"), "{customized}");
    // virt-customize installs a first-boot script under a name of its own: look for its text.
    assert!(
        customized.contains("echo forklift-firstboot-addresses;"),
        "{customized}"
    );
    assert!(!customized.contains("win_firstboot"), "{customized}");

    // It boots, on virtio, to a login prompt, with the static IP up on the pinned NIC as the
    // plan's first-boot script reports it.
    let (seconds, console) = boots_to_login(&root);
    eprintln!("converted guest reached its login prompt in {seconds:.1} s");
    let addresses = console
        .split(FIRSTBOOT_MARK)
        .nth(1)
        .unwrap_or_else(|| panic!("no first-boot report on the console:\n{console}"));
    let nic = addresses
        .lines()
        .find(|l| l.split_whitespace().next() == Some(NIC))
        .unwrap_or_else(|| panic!("no {NIC} in the guest's addresses:\n{addresses}"));
    assert!(
        nic.contains(&format!("{STATIC_IP}/24")),
        "{STATIC_IP} not on {NIC}: {nic}"
    );
    // An OVA's VM gets no preference, as upstream (its builder has no OS map).
    assert!(!vm_yaml.contains("preference:"), "{vm_yaml}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_luks_passphrase_fails_the_vm_with_a_clear_message() {
    if !v2v_installed() {
        return;
    }
    let _serial = SERIAL.lock().await;
    let guest = guest();
    let dir = tempfile::tempdir().unwrap();
    let set = manifests(
        &guest.join("catalog-luks"),
        "testguest-luks",
        Some("not-the-passphrase"),
        false,
    );
    let started = Instant::now();
    let (report, _) = migrate(&set, &dir.path().join("out")).await;
    let report = report.unwrap();
    eprintln!(
        "wrong passphrase failed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let vm = &report.vms[0];
    assert_eq!(vm.outcome, VmOutcome::Failed, "{report:#?}");
    let error = vm.error.as_deref().unwrap();
    assert!(
        error.contains("none of the 1 passphrase(s) of the VM's luks Secret opens"),
        "{error}"
    );
    // The reason quoted is virt-v2v's last word on the key: cryptsetup's own line on some
    // runs, virt-v2v's summary of it on others (both are what `seen.rs` recognizes).
    assert!(
        [
            "No key available with this passphrase",
            "could not find key to open LUKS"
        ]
        .iter()
        .any(|reason| error.contains(reason)),
        "{error}"
    );
    assert_eq!(vm.phases.last().unwrap().phase.to_string(), "ConvertGuest");
    // Nothing claims a conversion: no VirtualMachine was written.
    assert!(
        !dir.path()
            .join("out")
            .join(&vm.namespace)
            .join("virtualmachines")
            .exists()
            || std::fs::read_dir(
                dir.path()
                    .join("out")
                    .join(&vm.namespace)
                    .join("virtualmachines")
            )
            .unwrap()
            .next()
            .is_none()
    );
}
