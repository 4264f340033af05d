//! Virtual devices of a VM (`config.hardware.device`), read from vim25 XML.

use super::soap::MoRef;
use super::xml::Node;

/// Snapshot delta suffix `-NNNNNN.vmdk` (upstream `trimBackingFileName`).
pub fn trim_backing_file_name(file: &str) -> String {
    let bytes = file.as_bytes();
    // Search for "-dddddd.vmdk" anywhere (upstream's regex is unanchored; it ends in ".vmdk").
    let pattern_len = "-000000.vmdk".len();
    let mut i = 0;
    while i + pattern_len <= bytes.len() {
        let window = &bytes[i..i + pattern_len];
        if window[0] == b'-'
            && window[1..7].iter().all(u8::is_ascii_digit)
            && &window[7..] == b".vmdk"
        {
            let mut out = String::with_capacity(file.len());
            out.push_str(&file[..i]);
            out.push_str(".vmdk");
            out.push_str(&file[i + pattern_len..]);
            return out;
        }
        i += 1;
    }
    file.to_owned()
}

/// A disk backing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskBacking {
    /// Backing xsi type, e.g. `VirtualDiskFlatVer2BackingInfo`.
    pub kind: String,
    /// `fileName` (`descriptorFileName` for RawDiskVer2).
    pub file: String,
    /// Datastore holding the file.
    pub datastore: Option<MoRef>,
    /// Backing `uuid` (disk serial).
    pub uuid: String,
    /// CBT change id of this backing.
    pub change_id: String,
    /// Multi-writer sharing.
    pub shared: bool,
    /// Raw device mapping.
    pub rdm: bool,
    /// RDM in physical compatibility mode.
    pub physical_mode: bool,
    /// `diskMode`, e.g. `persistent`, `independent_persistent`.
    pub disk_mode: String,
    /// RDM device name.
    pub device_name: String,
    /// RDM LUN UUID.
    pub lun_uuid: String,
    /// Disk encrypted with a key.
    pub encrypted: bool,
}

/// One virtual device, with the fields migration needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Device {
    /// xsi type, e.g. `VirtualDisk`, `VirtualVmxnet3`, `ParaVirtualSCSIController`.
    pub kind: String,
    /// Device key.
    pub key: i32,
    /// Controller key (for devices on a controller).
    pub controller_key: Option<i32>,
    /// Unit number on the controller.
    pub unit_number: Option<i32>,
    /// Bus number (controllers).
    pub bus_number: Option<i32>,
    /// `deviceInfo.label`.
    pub label: String,
    /// `deviceInfo.summary`.
    pub summary: String,
    /// Capacity in bytes (disks).
    pub capacity_bytes: Option<i64>,
    /// Disk backing (disks).
    pub disk: Option<DiskBacking>,
    /// MAC address (NICs).
    pub mac: String,
    /// Backing network (NICs on standard networks / opaque networks).
    pub network: Option<MoRef>,
    /// Distributed port group key (NICs on DVS).
    pub portgroup_key: String,
    /// Opaque network id (NICs on NSX).
    pub opaque_network_id: String,
    /// Backing device/ISO file name (CD-ROMs).
    pub file: String,
    /// Currently connected.
    pub connected: bool,
    /// Connects at power on.
    pub start_connected: bool,
    /// SR-IOV / PCI passthrough backing or device.
    pub passthrough: bool,
}

impl Device {
    /// Whether the device is a virtual disk.
    pub fn is_disk(&self) -> bool {
        self.kind == "VirtualDisk"
    }

    /// Whether the device is a network adapter.
    pub fn is_nic(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "VirtualE1000"
                | "VirtualE1000e"
                | "VirtualPCNet32"
                | "VirtualVmxnet"
                | "VirtualVmxnet2"
                | "VirtualVmxnet3"
                | "VirtualVmxnet3Vrdma"
                | "VirtualSriovEthernetCard"
        )
    }

    /// Bus of a controller device, if the device is one.
    pub fn controller_bus(&self) -> Option<&'static str> {
        match self.kind.as_str() {
            "VirtualIDEController" => Some("ide"),
            "VirtualAHCIController" | "VirtualSATAController" => Some("sata"),
            "VirtualNVMEController" => Some("nvme"),
            "VirtualUSBController" | "VirtualUSBXHCIController" => Some("usb"),
            "VirtualBusLogicController"
            | "VirtualLsiLogicController"
            | "VirtualLsiLogicSASController"
            | "ParaVirtualSCSIController"
            | "VirtualSCSIController" => Some("scsi"),
            _ => None,
        }
    }
}

/// Reads the devices of a `config.hardware.device` value (`ArrayOfVirtualDevice`) or of a
/// `hardware` element (repeated `device`).
pub fn parse_devices(node: &Node) -> Vec<Device> {
    node.children
        .iter()
        .filter(|c| c.name == "VirtualDevice" || c.name == "device")
        .map(parse_device)
        .collect()
}

fn parse_device(node: &Node) -> Device {
    let kind = node.xsi_type().unwrap_or(&node.name).to_owned();
    let info = node.child("deviceInfo");
    let connectable = node.child("connectable");
    let backing = node.child("backing");
    let backing_kind = backing.and_then(Node::xsi_type).unwrap_or("");
    let mut device = Device {
        key: node.child_parse("key").unwrap_or_default(),
        controller_key: node.child_parse("controllerKey"),
        unit_number: node.child_parse("unitNumber"),
        bus_number: node.child_parse("busNumber"),
        label: info
            .and_then(|i| i.child_text("label"))
            .unwrap_or("")
            .to_owned(),
        summary: info
            .and_then(|i| i.child_text("summary"))
            .unwrap_or("")
            .to_owned(),
        mac: node.child_text("macAddress").unwrap_or("").to_owned(),
        connected: connectable
            .and_then(|c| c.child_bool("connected"))
            .unwrap_or(false),
        start_connected: connectable
            .and_then(|c| c.child_bool("startConnected"))
            .unwrap_or(false),
        passthrough: kind == "VirtualPCIPassthrough"
            || kind == "VirtualSriovEthernetCard"
            || backing_kind.contains("Passthrough"),
        kind,
        ..Device::default()
    };
    if device.kind == "VirtualDisk" {
        device.capacity_bytes = node.child_parse("capacityInBytes").or_else(|| {
            node.child_parse::<i64>("capacityInKB")
                .map(|kb| kb.saturating_mul(1024))
        });
        device.disk = backing.map(parse_disk_backing);
    } else if let Some(backing) = backing {
        device.file = backing
            .child_text("fileName")
            .or_else(|| backing.child_text("deviceName"))
            .unwrap_or("")
            .to_owned();
        device.network = backing.child("network").and_then(MoRef::from_node);
        if let Some(port) = backing.child("port") {
            device.portgroup_key = port.child_text("portgroupKey").unwrap_or("").to_owned();
        }
        device.opaque_network_id = backing
            .child_text("opaqueNetworkId")
            .unwrap_or("")
            .to_owned();
    }
    device
}

fn parse_disk_backing(node: &Node) -> DiskBacking {
    let kind = node.xsi_type().unwrap_or("").to_owned();
    let text = |name: &str| node.child_text(name).unwrap_or("").trim().to_owned();
    let mut backing = DiskBacking {
        file: text("fileName"),
        datastore: node.child("datastore").and_then(MoRef::from_node),
        uuid: text("uuid"),
        change_id: text("changeId"),
        disk_mode: text("diskMode"),
        encrypted: node.child("keyId").is_some(),
        ..DiskBacking::default()
    };
    match kind.as_str() {
        "VirtualDiskFlatVer2BackingInfo"
        | "VirtualDiskSeSparseBackingInfo"
        | "VirtualDiskSparseVer2BackingInfo" => {
            let sharing = text("sharing");
            backing.shared = !sharing.is_empty() && sharing != "sharingNone";
        }
        "VirtualDiskRawDiskMappingVer1BackingInfo" => {
            backing.rdm = true;
            backing.physical_mode = text("compatibilityMode") == "physicalMode";
            backing.device_name = text("deviceName");
            backing.lun_uuid = text("lunUuid");
            let sharing = text("sharing");
            backing.shared = !sharing.is_empty() && sharing != "sharingNone";
        }
        "VirtualDiskRawDiskVer2BackingInfo" => {
            backing.rdm = true;
            backing.physical_mode = true;
            backing.file = text("descriptorFileName");
            backing.device_name = text("deviceName");
        }
        _ => {}
    }
    backing.kind = kind;
    backing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_suffixes_are_trimmed() {
        assert_eq!(
            trim_backing_file_name("[ds1] vm/vm-000001.vmdk"),
            "[ds1] vm/vm.vmdk"
        );
        assert_eq!(
            trim_backing_file_name("[ds1] vm/vm.vmdk"),
            "[ds1] vm/vm.vmdk"
        );
        assert_eq!(
            trim_backing_file_name("[ds1] vm/vm-01.vmdk"),
            "[ds1] vm/vm-01.vmdk"
        );
        assert_eq!(trim_backing_file_name("[ds] é-123456.vmdk"), "[ds] é.vmdk");
    }

    #[test]
    fn rdm_and_shared_backings() {
        let doc = r#"<a xmlns:xsi="x">
          <VirtualDevice xsi:type="VirtualDisk"><key>2001</key><controllerKey>1000</controllerKey><unitNumber>1</unitNumber>
            <capacityInBytes>1073741824</capacityInBytes>
            <backing xsi:type="VirtualDiskRawDiskMappingVer1BackingInfo"><fileName>[ds] v/rdm.vmdk</fileName>
              <compatibilityMode>physicalMode</compatibilityMode><lunUuid>0200</lunUuid><sharing>sharingMultiWriter</sharing></backing>
          </VirtualDevice>
          <VirtualDevice xsi:type="VirtualVmxnet3"><key>4000</key><macAddress>00:50:56:aa:bb:cc</macAddress>
            <backing xsi:type="VirtualEthernetCardDistributedVirtualPortBackingInfo"><port><portgroupKey>dvportgroup-1</portgroupKey></port></backing>
            <connectable><startConnected>true</startConnected><connected>false</connected></connectable></VirtualDevice>
        </a>"#;
        let devices = parse_devices(&super::super::xml::parse(doc).unwrap());
        let disk = devices[0].disk.as_ref().unwrap();
        assert!(disk.rdm && disk.physical_mode && disk.shared);
        assert_eq!(devices[0].capacity_bytes, Some(1 << 30));
        assert!(devices[1].is_nic());
        assert_eq!(devices[1].portgroup_key, "dvportgroup-1");
        assert!(devices[1].start_connected && !devices[1].connected);
    }
}
