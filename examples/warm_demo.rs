//! The warm migration demo (`scripts/warm-demo.sh` runs it): migrates the simulator's VM
//! warm into a local folder while writing into its disks between precopies, sets the cutover
//! by editing the Migration manifest, then compares every target image with its source.
//!
//! Environment (from `scripts/lib/vcsim.sh`): `VCSIM_URL`, `VCSIM_CA`, `VCSIM_DISKS`.
//! Arguments: `DIR LIBDIR` (work folder, fake VDDK libdir). Exit 0 only when every target
//! disk equals its source at the cutover.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use forklift::migrate::{LocalDestination, MigrateOptions, MigrationEvent, Migrator, VmOutcome};
use forklift::providers::capability::VmRef;
use forklift::providers::{ProviderConfig, open_provider};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One disk of the simulated VM, as `vcsim -describe` lists it.
struct Disk {
    vm: String,
    vm_name: String,
    file: String,
    local: PathBuf,
}

fn disks(path: &str) -> Result<Vec<Disk>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            match f.as_slice() {
                [vm, name, _key, _capacity, file, local] => Ok(Disk {
                    vm: (*vm).to_owned(),
                    vm_name: (*name).to_owned(),
                    file: (*file).to_owned(),
                    local: PathBuf::from(local),
                }),
                _ => Err(format!("{path}: unexpected line {line:?}")),
            }
        })
        .collect()
}

fn manifests(url: &str, ca: &str, libdir: &Path, disk: &Disk, network: &str) -> String {
    let ca: String = ca.lines().map(|l| format!("    {l}\n")).collect();
    let datastore = disk.file[1..disk.file.find(']').unwrap_or(1)].to_owned();
    format!(
        r#"apiVersion: v1
kind: Secret
metadata: {{name: vcsim-secret, namespace: demo}}
type: Opaque
stringData:
  user: administrator@vsphere.local
  password: Sim-Passw0rd
  cacert: |
{ca}---
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {{name: vcsim, namespace: demo}}
spec:
  type: vsphere
  url: {url}
  secret: {{name: vcsim-secret, namespace: demo}}
  settings: {{sdkEndpoint: vcenter, vddkInitImage: "quay.io/example/vddk:8", vddkLibDir: "{libdir}"}}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {{name: host, namespace: demo}}
spec: {{type: openshift, url: ""}}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: NetworkMap
metadata: {{name: net, namespace: demo}}
spec:
  provider: {{source: {{name: vcsim, namespace: demo}}, destination: {{name: host, namespace: demo}}}}
  map: [{{source: {{id: "{network}"}}, destination: {{type: pod}}}}]
---
apiVersion: forklift.konveyor.io/v1beta1
kind: StorageMap
metadata: {{name: sto, namespace: demo}}
spec:
  provider: {{source: {{name: vcsim, namespace: demo}}, destination: {{name: host, namespace: demo}}}}
  map: [{{source: {{name: {datastore}}}, destination: {{storageClass: standard}}}}]
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Plan
metadata: {{name: warm-demo, namespace: demo}}
spec:
  type: warm
  skipGuestConversion: true
  targetNamespace: demo
  provider: {{source: {{name: vcsim, namespace: demo}}, destination: {{name: host, namespace: demo}}}}
  map: {{network: {{name: net, namespace: demo}}, storage: {{name: sto, namespace: demo}}}}
  vms: [{{name: {vm}}}]
"#,
        libdir = libdir.display(),
        vm = disk.vm_name,
    )
}

fn migration(cutover: Option<&str>) -> String {
    let cutover = cutover.map_or(String::new(), |at| format!("  cutover: \"{at}\"\n"));
    format!(
        "apiVersion: forklift.konveyor.io/v1beta1\nkind: Migration\nmetadata: {{name: warm-demo, namespace: demo}}\nspec:\n  plan: {{name: warm-demo, namespace: demo}}\n{cutover}"
    )
}

/// Writes `count` areas of 64 KiB spread over the first `span` bytes, as a guest would.
fn guest_writes(disk: &Disk, seed: u64, count: u64, span: u64) -> Result<u64, String> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&disk.local)
        .map_err(|e| format!("{}: {e}", disk.local.display()))?;
    let area = 64 * 1024;
    for i in 0..count {
        let offset = (i * 7919 + seed * 104_729) * area % span / area * area;
        let data: Vec<u8> = (0..area).map(|b| (b as u8) ^ (seed as u8) | 1).collect();
        file.write_all_at(&data, offset)
            .map_err(|e| format!("{}: {e}", disk.local.display()))?;
    }
    Ok(count * area)
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set (run scripts/warm-demo.sh)"))
}

#[tokio::main]
async fn main() -> ExitCode {
    match demo().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("warm-demo: {e}");
            ExitCode::from(2)
        }
    }
}

async fn demo() -> Result<bool, String> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, libdir] = args.as_slice() else {
        return Err("usage: warm_demo DIR LIBDIR".into());
    };
    let (dir, libdir) = (PathBuf::from(dir), PathBuf::from(libdir));
    let url = env("VCSIM_URL")?;
    let ca = std::fs::read_to_string(env("VCSIM_CA")?).map_err(|e| e.to_string())?;
    let disks = disks(&env("VCSIM_DISKS")?)?;
    let first = disks.first().ok_or("the simulator lists no disk")?;

    // The VM's network; CBT on; the source off (the simulator's guest has no VMware Tools,
    // and a running VM without them is refused; precopies do not need it running).
    let probe = forklift::core::manifest::ManifestSet::parse(
        "probe",
        &manifests(&url, &ca, &libdir, first, ""),
    );
    let config = ProviderConfig::from_manifests(&probe, "demo/vcsim").map_err(|e| e.to_string())?;
    let provider = open_provider(&config).await.map_err(|e| e.to_string())?;
    let inventory = provider
        .inventory()
        .map_err(|e| e.to_string())?
        .collect_inventory()
        .await
        .map_err(|e| e.to_string())?;
    let vm = inventory
        .vms
        .iter()
        .find(|v| v.id == first.vm)
        .ok_or("the VM is not in the inventory")?;
    let network = vm
        .nics
        .first()
        .map(|n| n.network.id.clone())
        .unwrap_or_default();
    let vm_ref = VmRef::new(vm.id.clone());
    let enable = async {
        provider
            .change_tracking()?
            .enable_change_tracking(&vm_ref)
            .await?;
        provider.power()?.power_off(&vm_ref).await?;
        provider.close().await
    };
    enable
        .await
        .map_err(|e: forklift::providers::Error| e.to_string())?;

    let manifests_dir = dir.join("manifests");
    std::fs::create_dir_all(&manifests_dir).map_err(|e| e.to_string())?;
    let plan_file = manifests_dir.join("plan.yaml");
    let migration_file = manifests_dir.join("migration.yaml");
    std::fs::write(&plan_file, manifests(&url, &ca, &libdir, first, &network))
        .map_err(|e| e.to_string())?;
    std::fs::write(&migration_file, migration(None)).map_err(|e| e.to_string())?;
    let set = forklift::manifests::load_paths(&[&plan_file, &migration_file]);
    let out = dir.join("out");
    let mut options = MigrateOptions::new(LocalDestination::new(&out));
    options.precopy_interval = Some(Duration::from_secs(2));
    let migrator = Migrator::new(&set, None, options).map_err(|e| e.to_string())?;
    let (tx, mut rx) = mpsc::channel(4096);
    let run = migrator.run(tx, CancellationToken::new());
    tokio::pin!(run);
    let mut written: Vec<u64> = Vec::new();
    let started = Instant::now();
    let result = loop {
        tokio::select! {
            result = &mut run => break result,
            Some(event) = rx.recv() => {
                let MigrationEvent::PrecopyDone { precopy, last, bytes, forecast, .. } = event else {
                    continue;
                };
                for (disk, n) in &bytes {
                    println!("precopy {precopy}{}: disk {disk} copied {n} bytes", if last { " (final)" } else { "" });
                }
                if let Some(f) = forecast.as_ref().filter(|_| !last) {
                    println!(
                        "  forecast if cut over now: final sync {:.2} s, downtime {:.2} s",
                        f.final_sync_millis as f64 / 1000.0,
                        f.downtime_millis as f64 / 1000.0
                    );
                }
                match precopy {
                    // The guest writes into both disks between precopies (1% and 0.5% of 256 MiB)...
                    1 | 2 => {
                        let mut total = 0;
                        for (i, disk) in disks.iter().enumerate() {
                            total += guest_writes(disk, precopy as u64 * 10 + i as u64, 40 / (i as u64 + 1), 64 << 20)?;
                        }
                        written.push(total);
                        println!("  guest wrote {total} bytes");
                    }
                    _ => {}
                }
                // ... and the cutover is set in the Migration manifest after the third.
                if precopy == 3 && !last {
                    let now = forklift_now();
                    std::fs::write(&migration_file, migration(Some(&now))).map_err(|e| e.to_string())?;
                    println!("  cutover set to {now} in {}", migration_file.display());
                }
            }
        }
    };
    let report = result.map_err(|e| forklift::core::error::chain(&e))?;
    println!("migration took {:.1} s", started.elapsed().as_secs_f64());
    let Some(vm) = report.vms.first() else {
        return Err("no VM in the report".into());
    };
    if vm.outcome != VmOutcome::Succeeded {
        println!(
            "the VM did not migrate: {:?} {}",
            vm.outcome,
            vm.error.clone().unwrap_or_default()
        );
        return Ok(false);
    }
    if let Some(f) = vm.warm.as_ref().and_then(|w| w.forecast.as_ref()) {
        println!(
            "final sync: forecast {:.2} s, actual {:.2} s; downtime: forecast {:.2} s, actual {:.2} s",
            f.final_sync_millis as f64 / 1000.0,
            f.actual_final_sync_millis.unwrap_or_default() as f64 / 1000.0,
            f.downtime_millis as f64 / 1000.0,
            f.actual_downtime_millis.unwrap_or_default() as f64 / 1000.0,
        );
    }
    let mut identical = true;
    for (i, disk) in disks.iter().enumerate() {
        let Some(target) = vm.disks.iter().find(|d| d.index == i) else {
            println!("disk {}: no target", disk.file);
            identical = false;
            continue;
        };
        let compare = Command::new("qemu-img")
            .args(["compare", "-q", "-f", "raw", "-F", "raw", &target.path])
            .arg(&disk.local)
            .status()
            .map_err(|e| format!("qemu-img: {e}"))?;
        println!(
            "qemu-img compare {} {}: {}",
            target.path,
            disk.local.display(),
            if compare.success() {
                "identical"
            } else {
                "DIFFERENT"
            }
        );
        identical &= compare.success();
    }
    Ok(identical)
}

/// Now as RFC 3339, the way a user would write the cutover.
fn forklift_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let output = Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output();
    output
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "2000-01-01T00:00:00Z".to_owned())
}
