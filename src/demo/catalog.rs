//! Builds the demo's OVA catalog from scratch with real tools: `mke2fs -d` makes ext4
//! filesystems holding real files, `qemu-img convert` turns them into streamOptimized VMDKs,
//! and an OVF descriptor packs each VM, once as a compressed `.ova` and once as an extracted
//! `.ovf` package.

use super::ustar::UstarWriter;
use crate::demo::DemoError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::fs;
use std::io::{BufReader, Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

/// One disk of a demo VM.
#[derive(Debug, Clone)]
pub struct DemoDisk {
    /// File name of the VMDK inside the package.
    pub href: String,
    /// Virtual size in bytes (a multiple of 1 MiB).
    pub size: u64,
    /// Files to place on the disk's ext4 filesystem: (path, content).
    pub files: Vec<(String, Vec<u8>)>,
}

/// One network interface of a demo VM.
#[derive(Debug, Clone)]
pub struct DemoNic {
    /// Name of the source network the NIC connects to.
    pub network: String,
    /// MAC address to preserve.
    pub mac: String,
}

/// How a demo VM is packaged in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packaging {
    /// A compressed `.ova` tar in the catalog root.
    Ova,
    /// An extracted `.ovf` package in a subfolder.
    ExtractedOvf,
}

/// A VM of the demo catalog.
#[derive(Debug, Clone)]
pub struct DemoVm {
    /// VirtualSystem name.
    pub name: String,
    /// VirtualSystem id (a UUID, so the inventory ID is stable).
    pub id: String,
    /// vCPU count.
    pub cpus: u32,
    /// Cores per socket.
    pub cores_per_socket: u32,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// `bios` or `efi`.
    pub firmware: &'static str,
    /// VMware guest OS identifier.
    pub os_type: &'static str,
    /// Disks in controller order.
    pub disks: Vec<DemoDisk>,
    /// NICs in order.
    pub nics: Vec<DemoNic>,
    /// Package form.
    pub packaging: Packaging,
}

/// Checksums of the raw content of every disk, to verify the migration against.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CatalogChecksums {
    /// One entry per disk.
    pub disks: Vec<DiskChecksum>,
}

/// The raw content checksum of one source disk.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DiskChecksum {
    /// VM name.
    pub vm: String,
    /// Disk file name in the package.
    pub href: String,
    /// Virtual size in bytes.
    pub size: u64,
    /// SHA-256 of the raw content, lowercase hex.
    pub sha256: String,
}

/// The two VMs of the demo.
pub fn demo_vms() -> Vec<DemoVm> {
    vec![
        DemoVm {
            name: "demo-web".into(),
            id: "4c1f3a2e-6b7d-4e8f-9a01-23456789abcd".into(),
            cpus: 2,
            cores_per_socket: 1,
            memory_mib: 2048,
            firmware: "bios",
            os_type: "rhel9_64Guest",
            disks: vec![DemoDisk {
                href: "demo-web-disk1.vmdk".into(),
                size: 64 << 20,
                files: vec![
                    (
                        "index.html".into(),
                        b"<h1>Migrated by forklift</h1>\n".to_vec(),
                    ),
                    ("etc/hostname".into(), b"demo-web\n".to_vec()),
                    ("var/www/assets.bin".into(), pseudo_random(7, 8 << 20)),
                ],
            }],
            nics: vec![DemoNic {
                network: "VM Network".into(),
                mac: "00:50:56:8a:10:01".into(),
            }],
            packaging: Packaging::Ova,
        },
        DemoVm {
            name: "Demo_DB_01".into(),
            id: "9d2e4b6a-1c3f-4a5b-8c7d-0e1f2a3b4c5d".into(),
            cpus: 4,
            cores_per_socket: 2,
            memory_mib: 4096,
            firmware: "efi",
            os_type: "rhel9_64Guest",
            disks: vec![
                DemoDisk {
                    href: "demo-db-disk1.vmdk".into(),
                    size: 48 << 20,
                    files: vec![
                        ("etc/hostname".into(), b"demo-db\n".to_vec()),
                        (
                            "etc/motd".into(),
                            b"Welcome to the migrated database host\n".to_vec(),
                        ),
                    ],
                },
                DemoDisk {
                    href: "demo-db-disk2.vmdk".into(),
                    size: 256 << 20,
                    files: vec![
                        ("pgdata/base.dat".into(), pseudo_random(11, 12 << 20)),
                        ("pgdata/wal.dat".into(), pseudo_random(13, 2 << 20)),
                    ],
                },
            ],
            nics: vec![
                DemoNic {
                    network: "VM Network".into(),
                    mac: "00:50:56:8a:20:01".into(),
                },
                DemoNic {
                    network: "Storage Network".into(),
                    mac: "00:50:56:8a:20:02".into(),
                },
            ],
            packaging: Packaging::ExtractedOvf,
        },
    ]
}

/// Deterministic, incompressible bytes (xorshift64*), so copies move real data; tests use
/// it for disks that must not compress or read as zeroes.
pub fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Builds the catalog under `catalog`, using `work` for intermediate raw images, and returns
/// the checksums of every source disk.
pub fn build_catalog(
    catalog: &Path,
    work: &Path,
    vms: &[DemoVm],
) -> Result<CatalogChecksums, DemoError> {
    fs::create_dir_all(catalog).map_err(|e| DemoError::io(catalog, e))?;
    fs::create_dir_all(work).map_err(|e| DemoError::io(work, e))?;
    let mut sums = CatalogChecksums::default();
    for vm in vms {
        let package_dir = match vm.packaging {
            Packaging::Ova => work.join(format!("{}-package", slug(&vm.name))),
            Packaging::ExtractedOvf => catalog.join(slug(&vm.name)),
        };
        fs::create_dir_all(&package_dir).map_err(|e| DemoError::io(&package_dir, e))?;
        let mut vmdk_sizes = Vec::new();
        for disk in &vm.disks {
            let raw = work.join(format!("{}.raw", disk.href.trim_end_matches(".vmdk")));
            make_ext4_image(&raw, &work.join(format!("{}-root", disk.href)), disk)?;
            sums.disks.push(DiskChecksum {
                vm: vm.name.clone(),
                href: disk.href.clone(),
                size: disk.size,
                sha256: sha256_file(&raw)?,
            });
            let vmdk = package_dir.join(&disk.href);
            run(Command::new("qemu-img")
                .args([
                    "convert",
                    "-q",
                    "-f",
                    "raw",
                    "-O",
                    "vmdk",
                    "-o",
                    "subformat=streamOptimized",
                ])
                .arg(&raw)
                .arg(&vmdk))?;
            vmdk_sizes.push(
                fs::metadata(&vmdk)
                    .map_err(|e| DemoError::io(&vmdk, e))?
                    .len(),
            );
        }
        let ovf_name = format!("{}.ovf", slug(&vm.name));
        let ovf = ovf_descriptor(vm, &vmdk_sizes);
        let ovf_path = package_dir.join(&ovf_name);
        fs::write(&ovf_path, ovf.as_bytes()).map_err(|e| DemoError::io(&ovf_path, e))?;
        if vm.packaging == Packaging::Ova {
            let ova = catalog.join(format!("{}.ova", slug(&vm.name)));
            let file = fs::File::create(&ova).map_err(|e| DemoError::io(&ova, e))?;
            let mut tar = UstarWriter::new(std::io::BufWriter::new(file));
            let members =
                std::iter::once(ovf_name.clone()).chain(vm.disks.iter().map(|d| d.href.clone()));
            for member in members {
                let path = package_dir.join(&member);
                let len = fs::metadata(&path)
                    .map_err(|e| DemoError::io(&path, e))?
                    .len();
                let mut reader =
                    BufReader::new(fs::File::open(&path).map_err(|e| DemoError::io(&path, e))?);
                tar.append(&member, len, unix_now(), &mut reader)
                    .map_err(|e| DemoError::io(&ova, e))?;
            }
            let mut out = tar.finish().map_err(|e| DemoError::io(&ova, e))?;
            out.flush().map_err(|e| DemoError::io(&ova, e))?;
        }
    }
    age_files(catalog)?;
    Ok(sums)
}

/// Scanning skips files modified in the last 30 seconds (they may still be copied in), so the
/// freshly built catalog is dated one minute back.
fn age_files(dir: &Path) -> Result<(), DemoError> {
    let past = SystemTime::now() - Duration::from_secs(60);
    for entry in fs::read_dir(dir).map_err(|e| DemoError::io(dir, e))? {
        let path = entry.map_err(|e| DemoError::io(dir, e))?.path();
        if path.is_dir() {
            age_files(&path)?;
        } else {
            let file = fs::File::options()
                .write(true)
                .open(&path)
                .map_err(|e| DemoError::io(&path, e))?;
            file.set_modified(past)
                .map_err(|e| DemoError::io(&path, e))?;
        }
    }
    Ok(())
}

fn make_ext4_image(raw: &Path, root: &Path, disk: &DemoDisk) -> Result<(), DemoError> {
    if root.exists() {
        fs::remove_dir_all(root).map_err(|e| DemoError::io(root, e))?;
    }
    for (name, content) in &disk.files {
        let path = root.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| DemoError::io(parent, e))?;
        }
        fs::write(&path, content).map_err(|e| DemoError::io(&path, e))?;
    }
    let _ = fs::remove_file(raw);
    // A fixed UUID, hash seed and timestamp make the image, and so the demo, reproducible.
    run(Command::new("mke2fs")
        .args([
            "-q",
            "-F",
            "-t",
            "ext4",
            "-L",
            "forklift-demo",
            "-U",
            "6f1e0d2c-3b4a-4958-8776-a5b4c3d2e1f0",
        ])
        .args([
            "-E",
            "hash_seed=6f1e0d2c-3b4a-4958-8776-a5b4c3d2e1f0,root_owner=0:0",
        ])
        .arg("-d")
        .arg(root)
        .arg(raw)
        .arg(format!("{}k", disk.size / 1024))
        .env("E2FSPROGS_FAKE_TIME", "1700000000"))?;
    Ok(())
}

fn run(cmd: &mut Command) -> Result<(), DemoError> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().map_err(|e| DemoError::Tool {
        tool: program.clone(),
        message: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(DemoError::Tool {
            tool: program,
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// SHA-256 of a file's content, lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String, DemoError> {
    let mut file = fs::File::open(path).map_err(|e| DemoError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| DemoError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// File-system friendly form of a VM name for package files.
pub fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// The OVF descriptor of `vm`, shaped like a vSphere export.
pub fn ovf_descriptor(vm: &DemoVm, vmdk_sizes: &[u64]) -> String {
    let mut refs = String::new();
    let mut disks = String::new();
    let mut items = String::new();
    for (i, (disk, size)) in vm.disks.iter().zip(vmdk_sizes).enumerate() {
        let n = i + 1;
        let _ = writeln!(
            refs,
            r#"    <File ovf:href="{}" ovf:id="file{n}" ovf:size="{size}"/>"#,
            disk.href
        );
        let _ = writeln!(
            disks,
            r#"    <Disk ovf:capacity="{}" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk{n}" ovf:fileRef="file{n}" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>"#,
            disk.size >> 20
        );
        let _ = writeln!(
            items,
            "      <Item>\n        <rasd:AddressOnParent>{i}</rasd:AddressOnParent>\n        <rasd:ElementName>Hard Disk {n}</rasd:ElementName>\n        <rasd:HostResource>ovf:/disk/vmdisk{n}</rasd:HostResource>\n        <rasd:InstanceID>{}</rasd:InstanceID>\n        <rasd:Parent>3</rasd:Parent>\n        <rasd:ResourceType>17</rasd:ResourceType>\n      </Item>",
            10 + i
        );
    }
    let mut networks: Vec<&str> = vm.nics.iter().map(|n| n.network.as_str()).collect();
    networks.dedup();
    let mut nets = String::new();
    for net in &networks {
        let _ = writeln!(
            nets,
            "    <Network ovf:name=\"{net}\">\n      <Description>The {net} network</Description>\n    </Network>"
        );
    }
    for (i, nic) in vm.nics.iter().enumerate() {
        let _ = writeln!(
            items,
            "      <Item>\n        <rasd:Address>{}</rasd:Address>\n        <rasd:AddressOnParent>{}</rasd:AddressOnParent>\n        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>\n        <rasd:Connection>{}</rasd:Connection>\n        <rasd:ElementName>Network adapter {}</rasd:ElementName>\n        <rasd:InstanceID>{}</rasd:InstanceID>\n        <rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType>\n        <rasd:ResourceType>10</rasd:ResourceType>\n      </Item>",
            nic.mac,
            7 + i,
            nic.network,
            i + 1,
            20 + i
        );
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope vmw:buildId="build-20000000" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <References>
{refs}  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
{disks}  </DiskSection>
  <NetworkSection>
    <Info>The list of logical networks</Info>
{nets}  </NetworkSection>
  <VirtualSystem ovf:id="{id}">
    <Info>A virtual machine</Info>
    <Name>{name}</Name>
    <OperatingSystemSection ovf:id="80" vmw:osType="{os}">
      <Info>The kind of installed guest operating system</Info>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>{name}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-19</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:Description>Number of Virtual CPUs</rasd:Description>
        <rasd:ElementName>{cpus} virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>{cpus}</rasd:VirtualQuantity>
        <vmw:CoresPerSocket ovf:required="false">{cores}</vmw:CoresPerSocket>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:Description>Memory Size</rasd:Description>
        <rasd:ElementName>{mem}MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>{mem}</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:Description>SCSI Controller</rasd:Description>
        <rasd:ElementName>SCSI controller 0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>VirtualSCSI</rasd:ResourceSubType>
        <rasd:ResourceType>6</rasd:ResourceType>
      </Item>
{items}      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="{firmware}"/>
      <vmw:Config ovf:required="false" vmw:key="bootOptions.efiSecureBootEnabled" vmw:value="false"/>
      <vmw:Config ovf:required="false" vmw:key="cpuHotAddEnabled" vmw:value="false"/>
      <vmw:Config ovf:required="false" vmw:key="memoryHotAddEnabled" vmw:value="false"/>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"#,
        id = vm.id,
        name = vm.name,
        os = vm.os_type,
        cpus = vm.cpus,
        cores = vm.cores_per_socket,
        mem = vm.memory_mib,
        firmware = vm.firmware,
    )
}
