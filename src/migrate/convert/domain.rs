//! The libvirt domain XML that describes the copied disks to virt-v2v (`-i libvirtxml`), as
//! upstream's in-place conversion does: firmware, disks in order, NICs.

use std::fmt::Write as _;

use super::request::{ConversionRequest, Firmware};

/// The domain XML of `request`: its disks as raw files on SCSI targets `sda`, `sdb`... in
/// order (as the VMware guest saw them on its pvscsi controller), its NICs with their MACs.
pub fn domain_xml(request: &ConversionRequest) -> String {
    let mut xml = String::from("<domain type='kvm'>\n");
    let _ = writeln!(xml, "  <name>{}</name>", escape(&request.vm_name));
    if request.memory_mib > 0 {
        let _ = writeln!(
            xml,
            "  <memory unit='KiB'>{}</memory>",
            request.memory_mib.saturating_mul(1024)
        );
    }
    if request.vcpus > 0 {
        let _ = writeln!(xml, "  <vcpu>{}</vcpu>", request.vcpus);
    }
    match request.firmware {
        Firmware::Bios => xml.push_str("  <os>\n    <type arch='x86_64'>hvm</type>\n  </os>\n"),
        Firmware::Uefi => xml.push_str(
            "  <os firmware='efi'>\n    <type arch='x86_64'>hvm</type>\n    \
             <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>\n  </os>\n",
        ),
    }
    xml.push_str("  <devices>\n");
    for (index, disk) in request.disks.iter().enumerate() {
        let _ = write!(
            xml,
            "    <disk type='file' device='disk'>\n      <driver name='qemu' type='raw'/>\n      \
             <source file='{}'/>\n      <target dev='{}' bus='scsi'/>\n    </disk>\n",
            escape(&disk.path.to_string_lossy()),
            scsi_name(index)
        );
    }
    for nic in &request.nics {
        let _ = write!(
            xml,
            "    <interface type='network'>\n      <mac address='{}'/>\n      \
             <source network='default'/>\n      <model type='vmxnet3'/>\n    </interface>\n",
            escape(&nic.mac)
        );
    }
    xml.push_str("  </devices>\n</domain>\n");
    xml
}

/// `sda`, `sdb`, ... `sdz`, `sdaa`, ...: the Linux name of the `index`th SCSI disk.
pub(super) fn scsi_name(index: usize) -> String {
    let mut letters = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'a' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    format!("sd{}", String::from_utf8_lossy(&letters))
}

/// Escapes text for XML character data and single-quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::convert::request::{ConversionDisk, ConversionNic};

    #[test]
    fn disks_in_order_with_firmware_and_nics() {
        let request = ConversionRequest {
            vm_name: "web<1>".into(),
            disks: vec![
                ConversionDisk {
                    path: "/d/root's.img".into(),
                    claim: "c0".into(),
                },
                ConversionDisk {
                    path: "/d/data.img".into(),
                    claim: "c1".into(),
                },
            ],
            firmware: Firmware::Uefi,
            nics: vec![ConversionNic {
                mac: "00:50:56:aa:bb:cc".into(),
            }],
            memory_mib: 1024,
            vcpus: 2,
            ..ConversionRequest::default()
        };
        let xml = domain_xml(&request);
        assert!(xml.contains("<name>web&lt;1&gt;</name>"), "{xml}");
        assert!(xml.contains("<memory unit='KiB'>1048576</memory>"));
        assert!(xml.contains("<os firmware='efi'>") && xml.contains("type='pflash'"));
        let root = xml.find("/d/root&apos;s.img").unwrap();
        let data = xml.find("/d/data.img").unwrap();
        assert!(root < data);
        assert!(xml.contains("<target dev='sda' bus='scsi'/>"));
        assert!(xml.contains("<target dev='sdb' bus='scsi'/>"));
        assert!(xml.contains("<mac address='00:50:56:aa:bb:cc'/>"));
        let bios = domain_xml(&ConversionRequest::default());
        assert!(bios.contains("<os>") && !bios.contains("efi"));
    }

    #[test]
    fn scsi_names_go_past_z() {
        assert_eq!(scsi_name(0), "sda");
        assert_eq!(scsi_name(25), "sdz");
        assert_eq!(scsi_name(26), "sdaa");
        assert_eq!(scsi_name(27), "sdab");
        assert_eq!(scsi_name(26 * 27), "sdaaa");
    }
}
