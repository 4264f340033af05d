//! OVF descriptor parsing: the parts of an `Envelope` a migration needs.
//!
//! Namespaces are ignored (elements and attributes are matched by local name) as upstream's
//! decoder does, except for `Config` and `ExtraConfig`, which must be in VMware's namespace
//! `http://www.vmware.com/schema/ovf`. Every `VirtualSystem` is read, including those nested
//! in a `VirtualSystemCollection`. Hardware items are read from `Item`, `StorageItem` and
//! `EthernetPortItem` elements (OVF 1.x and 2.x).

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use super::error::{Error, Result};

/// VMware's OVF extension namespace.
pub const VMWARE_NAMESPACE: &str = "http://www.vmware.com/schema/ovf";
/// Deepest element nesting accepted.
const MAX_DEPTH: usize = 128;

/// A `References/File` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileReference {
    /// `ovf:id`.
    pub id: String,
    /// `ovf:href`: the file name inside the package.
    pub href: String,
    /// `ovf:size` in bytes, when given.
    pub size: Option<u64>,
}

/// A `DiskSection/Disk` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Disk {
    /// `ovf:capacity`, as written (a number, or a `${property}` reference).
    pub capacity: String,
    /// `ovf:capacityAllocationUnits`, e.g. `byte * 2^30`.
    pub capacity_allocation_units: String,
    /// `ovf:diskId`.
    pub disk_id: String,
    /// `ovf:fileRef`: the id of a [`FileReference`].
    pub file_ref: String,
    /// `ovf:format`, e.g. `...vmdk.html#streamOptimized`.
    pub format: String,
    /// `ovf:populatedSize` in bytes, when given.
    pub populated_size: Option<u64>,
}

/// A `NetworkSection/Network` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Network {
    /// `ovf:name`.
    pub name: String,
    /// `Description`.
    pub description: String,
}

/// A `key`/`value` pair of `vmw:Config` or `vmw:ExtraConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigEntry {
    /// `vmw:key`.
    pub key: String,
    /// `vmw:value`.
    pub value: String,
}

/// A virtual hardware item (CIM resource allocation setting data).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Item {
    /// `AllocationUnits`, e.g. `byte * 2^20`.
    pub allocation_units: String,
    /// `Description`.
    pub description: String,
    /// `ElementName`.
    pub element_name: String,
    /// `InstanceID`.
    pub instance_id: String,
    /// `ResourceType` (3 CPU, 4 memory, 10 Ethernet, 17 disk, ...), when given.
    pub resource_type: Option<u32>,
    /// `ResourceSubType`, e.g. `VmxNet3`.
    pub resource_sub_type: String,
    /// `VirtualQuantity`, when given.
    pub virtual_quantity: Option<u64>,
    /// `Address` (the MAC address of a NIC).
    pub address: String,
    /// `AddressOnParent`.
    pub address_on_parent: String,
    /// `Parent`: the instance id of the controller.
    pub parent: String,
    /// `HostResource`, e.g. `ovf:/disk/vmdisk1`.
    pub host_resource: Vec<String>,
    /// `Connection`: the network a NIC attaches to.
    pub connection: Vec<String>,
    /// `vmw:CoresPerSocket`, as written.
    pub cores_per_socket: Option<String>,
    /// `vmw:Config` entries of the item.
    pub config: Vec<ConfigEntry>,
}

/// A `VirtualSystem`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VirtualSystem {
    /// `ovf:id`.
    pub id: String,
    /// `Name` (falls back to the id when absent).
    pub name: String,
    /// `OperatingSystemSection@osType` (e.g. `rhel9_64Guest`).
    pub os_type: String,
    /// `OperatingSystemSection/Description`.
    pub os_description: String,
    /// `VirtualHardwareSection/System/VirtualSystemType` (e.g. `vmx-19`).
    pub virtual_system_type: String,
    /// Hardware items in document order.
    pub items: Vec<Item>,
    /// `vmw:Config` entries of the hardware section.
    pub config: Vec<ConfigEntry>,
    /// `vmw:ExtraConfig` entries of the hardware section.
    pub extra_config: Vec<ConfigEntry>,
}

impl VirtualSystem {
    /// The value of `key` in `vmw:Config`, else in `vmw:ExtraConfig`.
    pub fn config_value(&self, key: &str) -> Option<&str> {
        self.config
            .iter()
            .chain(&self.extra_config)
            .find(|e| e.key == key)
            .map(|e| e.value.as_str())
    }
}

/// A parsed OVF `Envelope`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// Root element attributes (qualified name, value), namespace declarations included.
    pub attributes: Vec<(String, String)>,
    /// `References/File`.
    pub references: Vec<FileReference>,
    /// `DiskSection/Disk`.
    pub disks: Vec<Disk>,
    /// `NetworkSection/Network`.
    pub networks: Vec<Network>,
    /// Every `VirtualSystem`, in document order.
    pub virtual_systems: Vec<VirtualSystem>,
}

/// Product that exported an OVF, guessed from the root attributes as upstream does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ExportSource {
    /// VMware vSphere / Workstation (the only supported source).
    VMware,
    /// Citrix Xen.
    Xen,
    /// Oracle VirtualBox.
    VirtualBox,
    /// oVirt.
    #[serde(rename = "oVirt")]
    OVirt,
    /// Anything else.
    Unknown,
}

impl ExportSource {
    /// The name upstream reports (`VMware`, `Xen`, `VirtualBox`, `oVirt`, `Unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            ExportSource::VMware => "VMware",
            ExportSource::Xen => "Xen",
            ExportSource::VirtualBox => "VirtualBox",
            ExportSource::OVirt => "oVirt",
            ExportSource::Unknown => "Unknown",
        }
    }
}

impl Envelope {
    /// Guesses the exporting product: exact namespace values name Xen, VirtualBox or oVirt
    /// (first match wins); otherwise a value containing VMware's namespace means VMware.
    pub fn export_source(&self) -> ExportSource {
        for (_, value) in &self.attributes {
            match value.as_str() {
                "http://schemas.citrix.com/ovf/envelope/1"
                | "http://www.citrix.com/xenclient/ovf/1" => {
                    return ExportSource::Xen;
                }
                "http://www.virtualbox.org/ovf/machine" => return ExportSource::VirtualBox,
                "http://www.ovirt.org/ovf" => return ExportSource::OVirt,
                _ => {}
            }
        }
        if self
            .attributes
            .iter()
            .any(|(_, v)| v.contains(VMWARE_NAMESPACE))
        {
            ExportSource::VMware
        } else {
            ExportSource::Unknown
        }
    }

    /// The file reference a disk points to, by `fileRef` id.
    pub fn file_of(&self, disk: &Disk) -> Option<&FileReference> {
        self.references.iter().find(|f| f.id == disk.file_ref)
    }
}

fn local(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|&b| b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

struct Ctx<'f> {
    file: &'f str,
}

impl Ctx<'_> {
    fn err(&self, reader_pos: u64, reason: impl std::fmt::Display) -> Error {
        Error::Ovf {
            file: self.file.to_owned(),
            reason: format!("{reason} (near byte {reader_pos})"),
        }
    }
}

/// Attributes of an element by local name, unescaped.
fn attributes(ctx: &Ctx<'_>, pos: u64, e: &BytesStart<'_>) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| ctx.err(pos, err))?;
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        let value = attr
            .unescape_value()
            .map_err(|err| ctx.err(pos, err))?
            .into_owned();
        out.push((key, value));
    }
    Ok(out)
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| local(k.as_bytes()) == name.as_bytes())
        .map(|(_, v)| v.as_str())
}

fn attr_string(attrs: &[(String, String)], name: &str) -> String {
    attr(attrs, name).unwrap_or_default().to_owned()
}

fn attr_u64(
    ctx: &Ctx<'_>,
    pos: u64,
    attrs: &[(String, String)],
    name: &str,
) -> Result<Option<u64>> {
    match attr(attrs, name).map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            ctx.err(
                pos,
                format!("attribute {name} = {v:?} is not a non-negative integer"),
            )
        }),
    }
}

fn entity(name: &[u8]) -> Option<char> {
    Some(match name {
        b"lt" => '<',
        b"gt" => '>',
        b"amp" => '&',
        b"quot" => '"',
        b"apos" => '\'',
        _ => return None,
    })
}

/// Parses OVF descriptor `xml` read from `file` (named in errors).
pub fn parse(file: &str, xml: &[u8]) -> Result<Envelope> {
    let ctx = Ctx { file };
    let text =
        std::str::from_utf8(xml).map_err(|e| ctx.err(e.valid_up_to() as u64, "not UTF-8 text"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = true;

    let mut env = Envelope::default();
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut systems: Vec<VirtualSystem> = Vec::new();
    let mut item: Option<Item> = None;
    let mut text_buf = String::new();
    let mut seen_root = false;

    loop {
        let pos = reader.buffer_position();
        let (ns, event) = reader.read_resolved_event().map_err(|e| ctx.err(pos, e))?;
        let in_vmware =
            matches!(ns, ResolveResult::Bound(n) if n.as_ref() == VMWARE_NAMESPACE.as_bytes());
        let (start, empty) = match &event {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            let name = local(e.name().as_ref()).to_vec();
            let attrs = attributes(&ctx, pos, &e)?;
            if path.is_empty() {
                if seen_root {
                    return Err(ctx.err(pos, "more than one root element"));
                }
                seen_root = true;
                if name != b"Envelope" {
                    return Err(ctx.err(
                        pos,
                        format!(
                            "root element is {:?}, not Envelope",
                            String::from_utf8_lossy(&name)
                        ),
                    ));
                }
                env.attributes = attrs.clone();
            }
            if path.len() >= MAX_DEPTH {
                return Err(ctx.err(pos, "elements nested too deeply"));
            }
            let parent = path.last().map(Vec::as_slice);
            match (parent, name.as_slice()) {
                (Some(b"References"), b"File") => env.references.push(FileReference {
                    id: attr_string(&attrs, "id"),
                    href: attr_string(&attrs, "href"),
                    size: attr_u64(&ctx, pos, &attrs, "size")?,
                }),
                (Some(b"DiskSection"), b"Disk") => env.disks.push(Disk {
                    capacity: attr_string(&attrs, "capacity"),
                    capacity_allocation_units: attr_string(&attrs, "capacityAllocationUnits"),
                    disk_id: attr_string(&attrs, "diskId"),
                    file_ref: attr_string(&attrs, "fileRef"),
                    format: attr_string(&attrs, "format"),
                    populated_size: attr_u64(&ctx, pos, &attrs, "populatedSize")?,
                }),
                (Some(b"NetworkSection"), b"Network") => env.networks.push(Network {
                    name: attr_string(&attrs, "name"),
                    description: String::new(),
                }),
                (_, b"VirtualSystem") => systems.push(VirtualSystem {
                    id: attr_string(&attrs, "id"),
                    ..VirtualSystem::default()
                }),
                (_, b"OperatingSystemSection") => {
                    if let Some(vs) = systems.last_mut() {
                        vs.os_type = attr_string(&attrs, "osType");
                    }
                }
                (
                    Some(b"VirtualHardwareSection"),
                    b"Item" | b"StorageItem" | b"EthernetPortItem",
                ) => {
                    item = Some(Item::default());
                }
                (Some(b"VirtualHardwareSection"), b"Config" | b"ExtraConfig") if in_vmware => {
                    let entry = ConfigEntry {
                        key: attr_string(&attrs, "key"),
                        value: attr_string(&attrs, "value"),
                    };
                    if let Some(vs) = systems.last_mut() {
                        if name == b"Config" {
                            vs.config.push(entry)
                        } else {
                            vs.extra_config.push(entry)
                        }
                    }
                }
                (Some(b"Item" | b"StorageItem" | b"EthernetPortItem"), b"Config") if in_vmware => {
                    if let Some(it) = item.as_mut() {
                        it.config.push(ConfigEntry {
                            key: attr_string(&attrs, "key"),
                            value: attr_string(&attrs, "value"),
                        });
                    }
                }
                _ => {}
            }
            text_buf.clear();
            path.push(name);
            if !empty {
                continue;
            }
        }
        match event {
            Event::Text(t) => text_buf.push_str(&t.xml_content().map_err(|e| ctx.err(pos, e))?),
            Event::CData(t) => text_buf.push_str(&t.decode().map_err(|e| ctx.err(pos, e))?),
            Event::GeneralRef(r) => {
                let c = if r.is_char_ref() {
                    r.resolve_char_ref().map_err(|e| ctx.err(pos, e))?
                } else {
                    entity(&r)
                };
                let c = c.ok_or_else(|| {
                    ctx.err(
                        pos,
                        format!("unknown entity &{};", String::from_utf8_lossy(&r)),
                    )
                })?;
                text_buf.push(c);
            }
            Event::Start(_) | Event::Empty(_) | Event::End(_) => {
                let Some(name) = path.pop() else {
                    return Err(ctx.err(pos, "unbalanced end tag"));
                };
                let parent = path.last().map(Vec::as_slice);
                let value = text_buf.trim().to_owned();
                text_buf.clear();
                end_element(
                    &ctx,
                    pos,
                    &name,
                    parent,
                    value,
                    &mut env,
                    &mut systems,
                    &mut item,
                )?;
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !seen_root {
        return Err(ctx.err(0, "no root element"));
    }
    if !path.is_empty() {
        return Err(ctx.err(text.len() as u64, "document ends inside an element"));
    }
    Ok(env)
}

#[allow(clippy::too_many_arguments)]
fn end_element(
    ctx: &Ctx<'_>,
    pos: u64,
    name: &[u8],
    parent: Option<&[u8]>,
    value: String,
    env: &mut Envelope,
    systems: &mut Vec<VirtualSystem>,
    item: &mut Option<Item>,
) -> Result<()> {
    if let Some(it) = item.as_mut() {
        match name {
            b"Item" | b"StorageItem" | b"EthernetPortItem"
                if parent == Some(b"VirtualHardwareSection") =>
            {
                let done = item.take().unwrap_or_default();
                if let Some(vs) = systems.last_mut() {
                    vs.items.push(done);
                }
            }
            b"AllocationUnits" => it.allocation_units = value,
            b"Description" => it.description = value,
            b"ElementName" => it.element_name = value,
            b"InstanceID" => it.instance_id = value,
            b"ResourceType" => {
                it.resource_type = Some(value.parse().map_err(|_| {
                    ctx.err(pos, format!("ResourceType {value:?} is not an integer"))
                })?)
            }
            b"ResourceSubType" => it.resource_sub_type = value,
            b"VirtualQuantity" => {
                it.virtual_quantity = Some(value.parse().map_err(|_| {
                    ctx.err(pos, format!("VirtualQuantity {value:?} is not an integer"))
                })?)
            }
            b"Address" => it.address = value,
            b"AddressOnParent" => it.address_on_parent = value,
            b"Parent" => it.parent = value,
            b"HostResource" => it.host_resource.push(value),
            b"Connection" => it.connection.push(value),
            b"CoresPerSocket" => it.cores_per_socket = Some(value),
            _ => {}
        }
        return Ok(());
    }
    match (parent, name) {
        (_, b"VirtualSystem") => {
            if let Some(mut vs) = systems.pop() {
                if vs.name.is_empty() {
                    vs.name = vs.id.clone();
                }
                env.virtual_systems.push(vs);
            }
        }
        (Some(b"VirtualSystem"), b"Name") => {
            if let Some(vs) = systems.last_mut() {
                vs.name = value;
            }
        }
        (Some(b"OperatingSystemSection"), b"Description") => {
            if let Some(vs) = systems.last_mut() {
                vs.os_description = value;
            }
        }
        (Some(b"System"), b"VirtualSystemType") => {
            if let Some(vs) = systems.last_mut() {
                vs.virtual_system_type = value;
            }
        }
        (Some(b"Network"), b"Description") => {
            if let Some(n) = env.networks.last_mut() {
                n.description = value;
            }
        }
        _ => {}
    }
    Ok(())
}
