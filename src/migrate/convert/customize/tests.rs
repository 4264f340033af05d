//! The customization's file plan and arguments, and the interface-pinning script run on a
//! guest tree in a temporary directory.

use super::*;

fn script(name: &str) -> CustomizationScript {
    CustomizationScript {
        name: name.into(),
        kind: ScriptKind::of(name).unwrap(),
        text: format!("echo {name}\n"),
    }
}

#[test]
fn keys_are_classified_by_upstream_naming_rules() {
    assert_eq!(
        ScriptKind::of("10_linux_run_motd.sh"),
        Some(ScriptKind::LinuxRun)
    );
    assert_eq!(ScriptKind::of("2_linux_run.sh"), Some(ScriptKind::LinuxRun));
    assert_eq!(
        ScriptKind::of("20_linux_firstboot_report-ip.sh"),
        Some(ScriptKind::LinuxFirstboot)
    );
    assert_eq!(
        ScriptKind::of("5_win_firstboot_tz.ps1"),
        Some(ScriptKind::WindowsFirstboot)
    );
    for other in [
        "linux_run_x.sh",          // no number
        "_linux_run_x.sh",         // no number
        "10_linux_run_x.ps1",      // wrong suffix for Linux
        "10_win_firstboot_x.sh",   // wrong suffix for Windows
        "10_win_run_x.ps1",        // Windows scripts are first-boot only
        "10_linux_run_../../x.sh", // not a plain file name
        "10_linux_run_a b.sh",
        "10_linux_run_x.sh.bak",
        "README",
    ] {
        assert_eq!(ScriptKind::of(other), None, "{other}");
    }
}

#[test]
fn linux_guests_get_their_scripts_the_map_and_the_pinning_script_in_upstream_order() {
    let dir = Path::new("/w");
    let scripts = [
        script("10_linux_run_a.sh"),
        script("20_linux_firstboot_b.sh"),
        script("30_win_firstboot_c.ps1"),
    ];
    let ips = [
        "00:50:56:AA:BB:CC:ip:192.168.1.5,192.168.1.1,24,1.1.1.1".to_owned(),
        "not-a-mac:ip:10.0.0.1,10.0.0.254,8".to_owned(),
    ];
    let (writes, files) = plan_files(GuestFamily::Linux, &ips, &scripts, dir);
    let map = writes.iter().find(|(p, _)| p.ends_with("macToIP")).unwrap();
    assert_eq!(
        map.1,
        "00:50:56:AA:BB:CC:ip:192.168.1.5,192.168.1.1,24,1.1.1.1\n"
    );
    assert!(
        !writes
            .iter()
            .any(|(p, _)| p.ends_with("30_win_firstboot_c.ps1"))
    );
    let keys = ["--key".to_owned(), "all:key:x".to_owned()];
    let args = customize_args(
        &files,
        &[PathBuf::from("/d/0.img"), PathBuf::from("/d/1.img")],
        &keys,
    );
    assert_eq!(
        args,
        [
            "--verbose",
            "--format",
            "raw",
            "--upload",
            "/w/macToIP:/tmp/macToIP",
            "--run",
            "/w/scripts/10_linux_run_a.sh",
            "--firstboot",
            "/w/scripts/20_linux_firstboot_b.sh",
            "--run",
            "/w/keep_ifnames.sh",
            "--add",
            "/d/0.img",
            "--add",
            "/d/1.img",
            "--key",
            "all:key:x",
        ]
    );
    // Nothing to do: no customization run at all.
    let (writes, files) = plan_files(GuestFamily::Linux, &[], &[], dir);
    assert!(writes.is_empty() && files.is_empty());
}

#[test]
fn windows_guests_get_only_their_scripts_uploaded_to_the_firstboot_directory_with_a_runner() {
    let dir = Path::new("/w");
    let scripts = [
        script("10_linux_run_a.sh"),
        script("5_win_firstboot_tz.ps1"),
    ];
    // virt-v2v itself keeps a Windows guest's static IPs (--mac): no map, no pinning script.
    let ips = ["00:50:56:aa:bb:cc:ip:192.168.1.5,192.168.1.1,24".to_owned()];
    let (writes, files) = plan_files(GuestFamily::Windows, &ips, &scripts, dir);
    assert!(files.mac_to_ip.is_none() && files.keep_ifnames.is_none());
    let runner = writes
        .iter()
        .find(|(p, _)| p.ends_with(WIN_RUN_PS_SCRIPTS))
        .unwrap();
    assert!(runner.1.contains("powershell.exe") && runner.1.contains("*.ps1"));
    let args = customize_args(&files, &[PathBuf::from("/d/0.img")], &[]);
    assert_eq!(
        args,
        [
            "--verbose",
            "--format",
            "raw",
            "--upload",
            "/w/scripts/5_win_firstboot_tz.ps1:/Program Files/Guestfs/Firstboot/scripts/5_win_firstboot_tz.ps1",
            "--upload",
            "/w/scripts/9999-forklift-run-ps-scripts.bat:/Program Files/Guestfs/Firstboot/scripts/9999-forklift-run-ps-scripts.bat",
            "--add",
            "/d/0.img",
        ]
    );
    assert_eq!(GuestFamily::of(Some("windows")), GuestFamily::Windows);
    assert_eq!(GuestFamily::of(Some("linux")), GuestFamily::Linux);
    assert_eq!(GuestFamily::of(None), GuestFamily::Linux);
}

/// Runs the pinning script on a guest tree under `root`.
fn pin(root: &Path) -> String {
    let script = root.join("keep_ifnames.sh");
    std::fs::write(&script, KEEP_IFNAMES_SCRIPT).unwrap();
    let out = std::process::Command::new("sh")
        .arg(&script)
        .env("ROOT", root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    std::fs::read_to_string(root.join("etc/udev/rules.d/70-persistent-net.rules"))
        .unwrap_or_default()
}

#[test]
fn the_pinning_script_names_each_static_ip_nic_as_the_guest_configuration_does() {
    let root = tempfile::tempdir().unwrap();
    let at = |p: &str, text: &str| {
        let path = root.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    at(
        "etc/network/interfaces",
        "auto lo\niface lo inet loopback\nauto ens192\niface ens192 inet static\n    address 192.168.122.50/24\n",
    );
    at(
        "etc/sysconfig/network-scripts/ifcfg-eth1",
        "DEVICE=\"eth1\"\nIPADDR=10.0.0.7\n",
    );
    at(
        "etc/NetworkManager/system-connections/a.nmconnection",
        "[connection]\ninterface-name=enp9s0\n[ipv4]\naddress1=172.16.0.9/16,172.16.0.1\n",
    );
    at(
        "etc/udev/rules.d/70-persistent-net.rules",
        "SUBSYSTEM==\"net\",ACTION==\"add\",ATTR{address}==\"00:50:56:aa:bb:cc\",NAME=\"old\"\n\
         SUBSYSTEM==\"net\",ACTION==\"add\",ATTR{address}==\"11:11:11:11:11:11\",NAME=\"other\"\n",
    );
    at(
        "tmp/macToIP",
        "00:50:56:AA:BB:CC:ip:192.168.122.50,192.168.122.1,24\n\
         00:50:56:00:00:02:ip:10.0.0.7,10.0.0.1,24,8.8.8.8\n\
         00:50:56:00:00:03:ip:172.16.0.9,172.16.0.1,16\n\
         00:50:56:00:00:04:ip:1.2.3.4,1.2.3.1,24\n\
         00:50:56:00:00:05\",NAME=\"x:ip:1.2.3.4\n",
    );
    let rules = pin(root.path());
    let lines: Vec<&str> = rules.lines().collect();
    assert_eq!(
        lines,
        [
            "SUBSYSTEM==\"net\",ACTION==\"add\",ATTR{address}==\"00:50:56:aa:bb:cc\",NAME=\"ens192\"",
            "SUBSYSTEM==\"net\",ACTION==\"add\",ATTR{address}==\"00:50:56:00:00:02\",NAME=\"eth1\"",
            "SUBSYSTEM==\"net\",ACTION==\"add\",ATTR{address}==\"00:50:56:00:00:03\",NAME=\"enp9s0\"",
            // Another MAC's rule stays; the replaced one and the unknown IP's NIC do not.
            "SUBSYSTEM==\"net\",ACTION==\"add\",ATTR{address}==\"11:11:11:11:11:11\",NAME=\"other\"",
        ]
    );
    // Without a map the guest is left alone.
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(pin(empty.path()), "");
}

/// The scripts `plan_scripts` takes from a plan referencing `guest-scripts` and a ConfigMap
/// of that name whose `data` is `data` (YAML).
fn scripts_of(
    data: &str,
) -> Result<Vec<CustomizationScript>, crate::migrate::convert::ConvertError> {
    let text = format!(
        "apiVersion: forklift.konveyor.io/v1beta1\nkind: Plan\nmetadata:\n  name: p\n  namespace: ns\nspec:\n  customizationScripts:\n    name: guest-scripts\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: guest-scripts\n  namespace: ns\ndata: {data}\n"
    );
    let set = forklift_core::manifest::ManifestSet::parse("m.yaml", &text);
    let plan = set
        .all::<forklift_core::resources::Plan>()
        .next()
        .expect("the plan parses");
    plan_scripts(&set, plan)
}

#[test]
fn configmap_values_that_are_not_text_are_typed_errors_naming_the_configmap_and_key() {
    let scripts = scripts_of("{\"10_linux_run_a.sh\": \"echo hi\", \"README\": 5}").unwrap();
    assert_eq!(scripts.len(), 1);
    assert_eq!(scripts[0].text, "echo hi");
    for (value, found) in [
        ("5", "a number"),
        ("null", "null"),
        ("[a]", "a list"),
        ("{a: b}", "a mapping"),
    ] {
        let err = scripts_of(&format!(
            "{{\"10_linux_run_a.sh\": \"echo\", \"20_linux_firstboot_b.sh\": {value}}}"
        ))
        .unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(&err, crate::migrate::convert::ConvertError::CustomizationScriptNotText { script, .. } if script == "20_linux_firstboot_b.sh"),
            "{text}"
        );
        assert!(
            text.contains("ns/guest-scripts") && text.contains(found),
            "{text}"
        );
    }
    let err = scripts_of("[\"10_linux_run_a.sh\"]").unwrap_err();
    assert!(
        matches!(
            err,
            crate::migrate::convert::ConvertError::CustomizationScriptsNotMapping {
                found: "a list",
                ..
            }
        ),
        "{err}"
    );
    assert!(scripts_of("{}").unwrap().is_empty());
}
