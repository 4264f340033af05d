//! The `virt-customize` run that follows a successful conversion, as upstream's conversion
//! pod runs it: the plan's `customizationScripts` (named by upstream's rules) and, for Linux
//! guests with preserved static IPs, the script that pins each interface name to its NIC's
//! MAC so the kept configuration comes up on the renamed virtio NIC.
//!
//! Upstream's naming rules for the ConfigMap's keys:
//! - `<N>_linux_run_<name>.sh`: run in the guest at conversion time (`--run`);
//! - `<N>_linux_firstboot_<name>.sh`: run once at the guest's first boot (`--firstboot`);
//! - `<N>_win_firstboot_<name>.ps1`: uploaded to `/Program Files/Guestfs/Firstboot/scripts`,
//!   which the Windows first-boot service virt-v2v installed runs.
//!
//! Linux scripts go to Linux guests only, Windows scripts to Windows guests only; other keys
//! are ignored, as upstream ignores them.

use std::path::{Path, PathBuf};

/// The script that pins interface names to MACs, run in the guest (`--run`).
pub const KEEP_IFNAMES_SCRIPT: &str = include_str!("scripts/keep_ifnames.sh");

/// Where virt-customize uploads the MAC → static IP map the pinning script reads.
pub const MAC_TO_IP_GUEST_PATH: &str = "/tmp/macToIP";

/// Where Windows first-boot scripts go in the guest (upstream `WinFirstbootScriptsPath`).
pub const WIN_FIRSTBOOT_SCRIPTS: &str = "/Program Files/Guestfs/Firstboot/scripts";

/// The batch file uploaded next to Windows scripts: virt-v2v's first-boot service runs the
/// batch files of the scripts directory, and this one runs the PowerShell scripts there in
/// name order (upstream uploads its own `9999-run-mtv-ps-scripts.bat` for the same purpose).
pub const WIN_RUN_PS_SCRIPTS: &str = "9999-forklift-run-ps-scripts.bat";

/// The text of [`WIN_RUN_PS_SCRIPTS`].
pub const WIN_RUN_PS_SCRIPTS_TEXT: &str = "@echo off\r\n\
    cd /d \"%~dp0\"\r\n\
    for %%f in (*.ps1) do powershell.exe -NoProfile -ExecutionPolicy Bypass -File \"%%f\"\r\n";

/// Scripts taken from the `customizationScripts` ConfigMap; later keys are refused.
pub const MAX_CUSTOMIZATION_SCRIPTS: usize = 64;

/// Bytes of one customization script; a longer one is refused.
pub const MAX_CUSTOMIZATION_SCRIPT_BYTES: usize = 1024 * 1024;

/// What a customization script is, by its key in the ConfigMap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptKind {
    /// `N_linux_run_*.sh`: run at conversion time.
    LinuxRun,
    /// `N_linux_firstboot_*.sh`: run at the first boot.
    LinuxFirstboot,
    /// `N_win_firstboot_*.ps1`: run at the first boot of a Windows guest.
    WindowsFirstboot,
}

impl ScriptKind {
    /// The kind `key` names by upstream's rules (`^[0-9]+_linux_(run|firstboot)[\w-]*\.sh$`,
    /// `^[0-9]+_win_firstboot[\w-]*\.ps1$`); `None` for any other key. A key that matches is
    /// a plain file name (digits, letters, `_`, `-`, one dot), safe as a path component.
    pub fn of(key: &str) -> Option<Self> {
        let digits = key.bytes().take_while(u8::is_ascii_digit).count();
        let rest = key
            .get(digits..)?
            .strip_prefix('_')
            .filter(|_| digits > 0)?;
        let word = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        let (kind, tail) = if let Some(t) = rest.strip_prefix("linux_run") {
            (Self::LinuxRun, t.strip_suffix(".sh")?)
        } else if let Some(t) = rest.strip_prefix("linux_firstboot") {
            (Self::LinuxFirstboot, t.strip_suffix(".sh")?)
        } else if let Some(t) = rest.strip_prefix("win_firstboot") {
            (Self::WindowsFirstboot, t.strip_suffix(".ps1")?)
        } else {
            return None;
        };
        word(tail).then_some(kind)
    }

    /// Whether it is for Windows guests.
    pub fn is_windows(self) -> bool {
        self == Self::WindowsFirstboot
    }
}

/// One script of the plan's `customizationScripts` ConfigMap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomizationScript {
    /// Its key (a plain file name, checked by [`ScriptKind::of`]).
    pub name: String,
    /// What it is.
    pub kind: ScriptKind,
    /// Its text.
    pub text: String,
}

/// The guest family the inspection found, which decides the customization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestFamily {
    /// Anything but Windows (upstream customizes every non-Windows guest as Linux).
    Linux,
    /// Windows.
    Windows,
}

impl GuestFamily {
    /// The family of the inspector's OS type (`windows`, `linux`...).
    pub fn of(os_type: Option<&str>) -> Self {
        if os_type.is_some_and(|t| t.eq_ignore_ascii_case("windows")) {
            Self::Windows
        } else {
            Self::Linux
        }
    }
}

/// The files of one customization, written into the conversion's work directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomizeFiles {
    /// The MAC → static IP map (`MAC:ip:...` per line), for Linux guests with static IPs.
    pub mac_to_ip: Option<PathBuf>,
    /// The interface-pinning script, when `mac_to_ip` is there.
    pub keep_ifnames: Option<PathBuf>,
    /// The plan's scripts for this guest family, in key order, with their kinds.
    pub scripts: Vec<(ScriptKind, PathBuf)>,
    /// The PowerShell runner uploaded with Windows scripts.
    pub win_runner: Option<PathBuf>,
}

impl CustomizeFiles {
    /// Whether there is anything to customize.
    pub fn is_empty(&self) -> bool {
        self.mac_to_ip.is_none() && self.scripts.is_empty()
    }
}

/// What goes into the work directory for `family`: which scripts apply, the static-IP map
/// (well-formed `MAC:ip:` specs only, one a line). Returns the files to write, as (path, text)
/// pairs, and the [`CustomizeFiles`] naming them.
pub fn plan_files(
    family: GuestFamily,
    static_ips: &[String],
    scripts: &[CustomizationScript],
    dir: &Path,
) -> (Vec<(PathBuf, String)>, CustomizeFiles) {
    let mut writes = Vec::new();
    let mut files = CustomizeFiles::default();
    if family == GuestFamily::Linux {
        let map: String = static_ips
            .iter()
            .filter(|spec| is_mac(spec.split(":ip:").next().unwrap_or("")) && spec.contains(":ip:"))
            .filter(|spec| !spec.contains(['\n', '\r']))
            .map(|spec| format!("{spec}\n"))
            .collect();
        if !map.is_empty() {
            let (map_path, script) = (dir.join("macToIP"), dir.join("keep_ifnames.sh"));
            writes.push((map_path.clone(), map));
            writes.push((script.clone(), KEEP_IFNAMES_SCRIPT.to_owned()));
            files.mac_to_ip = Some(map_path);
            files.keep_ifnames = Some(script);
        }
    }
    let scripts_dir = dir.join("scripts");
    for script in scripts
        .iter()
        .filter(|s| s.kind.is_windows() == (family == GuestFamily::Windows))
    {
        let path = scripts_dir.join(&script.name);
        writes.push((path.clone(), script.text.clone()));
        files.scripts.push((script.kind, path));
    }
    if family == GuestFamily::Windows && !files.scripts.is_empty() {
        let runner = scripts_dir.join(WIN_RUN_PS_SCRIPTS);
        writes.push((runner.clone(), WIN_RUN_PS_SCRIPTS_TEXT.to_owned()));
        files.win_runner = Some(runner);
    }
    (writes, files)
}

/// The arguments of `virt-customize` for `files` on `disks` (raw images, in the VM's order),
/// in upstream's order: the static-IP map, the plan's scripts, the pinning script, the disks,
/// then `keys` (the LUKS `--key` arguments the conversion used).
pub fn customize_args(files: &CustomizeFiles, disks: &[PathBuf], keys: &[String]) -> Vec<String> {
    let mut args: Vec<String> = vec!["--verbose".into(), "--format".into(), "raw".into()];
    if let Some(map) = &files.mac_to_ip {
        args.push("--upload".into());
        args.push(format!("{}:{MAC_TO_IP_GUEST_PATH}", map.display()));
    }
    for (kind, path) in &files.scripts {
        match kind {
            ScriptKind::LinuxRun => args.push("--run".into()),
            ScriptKind::LinuxFirstboot => args.push("--firstboot".into()),
            ScriptKind::WindowsFirstboot => {
                args.push("--upload".into());
                args.push(format!("{}:{}", path.display(), win_destination(path)));
                continue;
            }
        }
        args.push(path.display().to_string());
    }
    if let Some(runner) = &files.win_runner {
        args.push("--upload".into());
        args.push(format!("{}:{}", runner.display(), win_destination(runner)));
    }
    if let Some(script) = &files.keep_ifnames {
        args.push("--run".into());
        args.push(script.display().to_string());
    }
    for disk in disks {
        args.push("--add".into());
        args.push(disk.display().to_string());
    }
    args.extend(keys.iter().cloned());
    args
}

/// The scripts of the plan's `customizationScripts` ConfigMap among `set` (its namespace
/// defaults to the plan's), in key order; keys that name no script by upstream's rules are
/// ignored. A plan without the reference has none; a reference to a ConfigMap that is not
/// there is an error, as upstream fails the VM when the ConfigMap is missing.
pub fn plan_scripts(
    set: &forklift_core::manifest::ManifestSet,
    plan: &forklift_core::resources::Plan,
) -> Result<Vec<CustomizationScript>, super::ConvertError> {
    use forklift_core::manifest::Object;
    let Some(reference) = plan
        .spec
        .customization_scripts
        .as_ref()
        .filter(|r| !r.name.is_empty())
    else {
        return Ok(Vec::new());
    };
    let namespace = if reference.namespace.is_empty() {
        plan.metadata.namespace_or_empty()
    } else {
        reference.namespace.as_str()
    };
    let config_map = format!("{namespace}/{}", reference.name);
    let data = set
        .objects()
        .find_map(|o| match o {
            Object::Unknown(u)
                if u.kind == "ConfigMap"
                    && u.metadata.name_or_empty() == reference.name
                    && u.metadata.namespace_or_empty() == namespace =>
            {
                Some(u.raw.get("data").cloned())
            }
            _ => None,
        })
        .ok_or_else(|| super::ConvertError::CustomizationScriptsNotFound {
            config_map: config_map.clone(),
        })?;
    let data = match data {
        None | Some(serde_json::Value::Null) => serde_json::Map::new(),
        Some(serde_json::Value::Object(data)) => data,
        Some(other) => {
            return Err(super::ConvertError::CustomizationScriptsNotMapping {
                config_map,
                found: json_kind(&other),
            });
        }
    };
    let mut scripts = Vec::new();
    let named: Vec<(&String, ScriptKind)> = data
        .keys()
        .filter_map(|k| ScriptKind::of(k).map(|kind| (k, kind)))
        .collect();
    if named.len() > MAX_CUSTOMIZATION_SCRIPTS {
        return Err(super::ConvertError::TooManyCustomizationScripts {
            config_map,
            count: named.len(),
            max: MAX_CUSTOMIZATION_SCRIPTS,
        });
    }
    for (name, kind) in named {
        let text = match &data[name.as_str()] {
            serde_json::Value::String(text) => text.as_str(),
            other => {
                return Err(super::ConvertError::CustomizationScriptNotText {
                    config_map,
                    script: name.clone(),
                    found: json_kind(other),
                });
            }
        };
        if text.len() > MAX_CUSTOMIZATION_SCRIPT_BYTES {
            return Err(super::ConvertError::CustomizationScriptTooLarge {
                config_map,
                script: name.clone(),
                bytes: text.len(),
                max: MAX_CUSTOMIZATION_SCRIPT_BYTES,
            });
        }
        scripts.push(CustomizationScript {
            name: name.clone(),
            kind,
            text: text.to_owned(),
        });
    }
    Ok(scripts)
}

/// What a JSON value is, for an error saying it is not what was wanted.
fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "text",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a mapping",
    }
}

/// `/Program Files/Guestfs/Firstboot/scripts/<file name>`.
fn win_destination(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{WIN_FIRSTBOOT_SCRIPTS}/{name}")
}

/// `aa:bb:cc:dd:ee:ff` (either case).
fn is_mac(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests;
