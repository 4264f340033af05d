//! Tests of the virt-v2v converter with stand-in programs (shell scripts printing what
//! virt-v2v prints); the real virt-v2v runs in tests/convert_v2v.rs.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use forklift_core::credentials::SecretString;

use super::seen::Seen;
use super::*;
use crate::migrate::convert::request::{ConversionDisk, ConversionNic};
use crate::migrate::convert::{CONVERSION_ERROR_LINES, MAX_CONVERSION_WARNINGS, MAX_OUTPUT_LINE};

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    // `--help` (asked to see which options it has) prints nothing of interest.
    std::fs::write(
        &path,
        format!("#!/bin/sh\n[ \"$1\" = --help ] && exit 0\n{body}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn request(dir: &Path) -> ConversionRequest {
    let disk = dir.join("disk0.img");
    std::fs::write(&disk, b"copied").unwrap();
    ConversionRequest {
        vm_name: "web".into(),
        disks: vec![ConversionDisk {
            path: disk,
            claim: "web-disk0".into(),
        }],
        nics: vec![ConversionNic {
            mac: "00:50:56:aa:bb:cc".into(),
        }],
        static_ips: vec!["00:50:56:aa:bb:cc:ip:192.168.1.5,192.168.1.1,24".into()],
        luks_keys: vec![
            SecretString::new("alpha-pass"),
            SecretString::new("beta-pass"),
        ],
        log: dir.join("logs/web.log"),
        work_dir: dir.join("work"),
        ..ConversionRequest::default()
    }
}

async fn run(
    converter: &VirtV2vConverter,
    request: &ConversionRequest,
    cancel: &CancellationToken,
) -> (
    Result<ConversionReport, ConvertError>,
    Vec<ConversionProgress>,
) {
    // A stand-in virt-customize records what it was asked to do.
    let dir = request.work_dir.parent().unwrap();
    let customize = script(
        dir,
        "virt-customize",
        &format!("echo \"$@\" > {}/customize-args", dir.display()),
    );
    let converter = converter.clone().with_customize_program(customize);
    let (tx, mut rx) = mpsc::channel(64);
    let collect = tokio::spawn(async move {
        let mut all = Vec::new();
        while let Some(p) = rx.recv().await {
            all.push(p);
        }
        all
    });
    let result = converter.convert(request, tx, cancel).await;
    (result, collect.await.unwrap())
}

#[tokio::test]
async fn in_place_conversion_gets_the_domain_keys_and_settings_and_reports_what_it_found() {
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("seen");
    // Records its arguments, environment, the domain and the key files while they exist.
    let body = format!(
        r#"echo "$@" > {seen}/args
env | grep -E '^(LIBGUESTFS_|VIRTIO_WIN)' | sort > {seen}/env
while [ $# -gt 0 ]; do
  case "$1" in
    libvirtxml) cp "$2" {seen}/domain.xml ;;
    *:file:*) f=${{1#*:file:}}; cat "$f" >> {seen}/keys; echo >> {seen}/keys; stat -c %a "$f" >> {seen}/modes ;;
  esac
  shift
done
echo "[   0.0] Setting up the source: -i libvirtxml"
echo "libguestfs: trace: v2v: launch"
echo "[  10.5] Inspecting the source"
echo "inspection:"
echo "    i_type = linux"
echo "    i_osinfo = debian12"
echo "    i_product_name = Debian GNU/Linux 12 (bookworm)"
echo "virt-v2v-in-place: warning: could not determine a way to update the configuration of Grub2" >&2
echo "[  30.1] Converting Debian GNU/Linux 12 (bookworm) to run on KVM"
echo "virt-v2v-in-place: This guest has virtio drivers installed."
echo "[  60.0] Finishing off""#,
        seen = seen.display()
    );
    std::fs::create_dir_all(&seen).unwrap();
    let fake = script(dir.path(), "virt-v2v-in-place", &body);
    let converter = VirtV2vConverter::with_programs(&fake, "/nonexistent/virt-v2v");
    assert!(converter.check().is_ok());
    assert!(converter.describe().starts_with("virt-v2v-in-place"));
    let mut request = request(dir.path());
    request
        .env
        .insert("VIRTIO_WIN".into(), "/isos/virtio-win.iso".into());
    let (report, progress) = run(&converter, &request, &CancellationToken::new()).await;
    let report = report.unwrap();
    assert_eq!(report.osinfo.as_deref(), Some("debian12"));
    assert_eq!(report.os_type.as_deref(), Some("linux"));
    assert_eq!(
        report.product_name.as_deref(),
        Some("Debian GNU/Linux 12 (bookworm)")
    );
    assert!(report.virtio_drivers);
    assert_eq!(
        report.warnings,
        ["could not determine a way to update the configuration of Grub2"]
    );
    let stages: Vec<&str> = progress.iter().map(|p| p.stage.as_str()).collect();
    assert_eq!(
        stages,
        [
            "Setting up the source: -i libvirtxml",
            "Inspecting the source",
            "Converting Debian GNU/Linux 12 (bookworm) to run on KVM",
            "Finishing off"
        ]
    );
    assert_eq!(progress[1].seconds, 10.5);

    let args = std::fs::read_to_string(seen.join("args")).unwrap();
    assert!(args.starts_with("-v -x -i libvirtxml "), "{args}");
    assert!(args.contains("--root first"), "{args}");
    assert!(
        args.contains("--mac 00:50:56:aa:bb:cc:ip:192.168.1.5,192.168.1.1,24"),
        "{args}"
    );
    assert!(args.contains("--keys-from-stdin"), "{args}");
    // Passphrases travel in files only their owner reads, never on the command line.
    assert!(
        !args.contains("alpha-pass") && !args.contains("beta-pass"),
        "{args}"
    );
    // Each key is offered to `all` and, for virt-v2v 2.2, to the disk and its partitions.
    let per_key = 2 + MAX_KEY_PARTITIONS;
    assert!(args.contains(" --key all:file:") && args.contains(" --key /dev/sda1:file:"));
    assert!(
        args.contains(" --key /dev/sda:file:") && !args.contains("/dev/sdb"),
        "{args}"
    );
    let keys = std::fs::read_to_string(seen.join("keys")).unwrap();
    assert_eq!(keys.lines().filter(|k| *k == "alpha-pass").count(), per_key);
    assert_eq!(keys.lines().filter(|k| *k == "beta-pass").count(), per_key);
    let modes = std::fs::read_to_string(seen.join("modes")).unwrap();
    assert!(modes.lines().all(|m| m == "600"), "{modes}");
    let env = std::fs::read_to_string(seen.join("env")).unwrap();
    assert_eq!(
        env,
        "LIBGUESTFS_BACKEND=direct\nLIBGUESTFS_BACKEND_SETTINGS=force_tcg\nVIRTIO_WIN=/isos/virtio-win.iso\n"
    );
    let domain = std::fs::read_to_string(seen.join("domain.xml")).unwrap();
    assert!(
        domain.contains(&request.disks[0].path.display().to_string()),
        "{domain}"
    );
    assert!(domain.contains("00:50:56:aa:bb:cc"), "{domain}");
    // The customization after it: the static IP's MAC map and the pinning script, on the
    // converted disk, with the same keys.
    assert_eq!(report.customized, ["interface names pinned to MACs"]);
    let customize = std::fs::read_to_string(dir.path().join("customize-args")).unwrap();
    let work = request.work_dir.join("customize");
    assert!(
        customize.starts_with(&format!(
            "--verbose --format raw --upload {}/macToIP:/tmp/macToIP --run {}/keep_ifnames.sh --add {} ",
            work.display(),
            work.display(),
            request.disks[0].path.display()
        )),
        "{customize}"
    );
    assert!(
        customize.contains(" --key all:file:") && customize.ends_with("--keys-from-stdin\n"),
        "{customize}"
    );
    // The work directory (domain, key files) is gone; the full log stays.
    assert!(!request.work_dir.exists());
    let log = std::fs::read_to_string(&request.log).unwrap();
    assert!(log.contains("libguestfs: trace: v2v: launch"), "{log}");
    assert!(log.starts_with('#') && log.contains("--keys-from-stdin"));

    // Clevis wins over the keys; the default backend leaves libguestfs' choice alone.
    let converter = converter.use_default_backend();
    let mut clevis = request.clone();
    clevis.clevis = true;
    run(&converter, &clevis, &CancellationToken::new())
        .await
        .0
        .unwrap();
    let args = std::fs::read_to_string(seen.join("args")).unwrap();
    assert!(
        args.contains("--key all:clevis") && !args.contains("all:file:"),
        "{args}"
    );
    let env = std::fs::read_to_string(seen.join("env")).unwrap();
    assert!(!env.contains("LIBGUESTFS_BACKEND"), "{env}");
}

#[tokio::test]
async fn a_failed_conversion_quotes_the_error_and_the_last_lines_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let fake = script(
        dir.path(),
        "virt-v2v-in-place",
        r#"echo "[   0.0] Setting up the source"
echo "virt-v2v-in-place: error: inspection could not detect the source guest (or physical machine)" >&2
i=0; while [ $i -lt 200 ]; do echo "libguestfs: trace: noise $i"; echo "line $i"; i=$((i+1)); done
printf 'evil \033[2J end\n'
exit 1"#,
    );
    let converter = VirtV2vConverter::with_programs(&fake, "/nonexistent");
    let request = request(dir.path());
    let (result, _) = run(&converter, &request, &CancellationToken::new()).await;
    let err = result.unwrap_err();
    let ConvertError::Failed { tail, log, .. } = &err else {
        panic!("{err}")
    };
    let lines: Vec<&str> = tail.lines().collect();
    assert!(
        lines[0].contains("inspection could not detect the source guest"),
        "{tail}"
    );
    assert_eq!(lines.len(), CONVERSION_ERROR_LINES + 1, "{tail}");
    assert!(!tail.contains("noise"), "{tail}");
    assert!(!tail.contains('\u{1b}'), "{tail}");
    assert!(lines.last().unwrap().starts_with("evil "), "{tail}");
    assert!(log.is_file());
    assert!(err.to_string().contains("could not detect"), "{err}");
    assert!(!request.work_dir.exists());
}

#[tokio::test]
async fn cancel_and_time_limit_stop_the_converter_and_what_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("child.pid");
    let fake = script(
        dir.path(),
        "virt-v2v-in-place",
        &format!(
            "sleep 300 &\necho $! > {}\necho '[   0.0] Setting up the source'\nwait",
            pid_file.display()
        ),
    );
    let alive = |pid: &str| {
        std::process::Command::new("kill")
            .args(["-0", pid])
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    let converter = VirtV2vConverter::with_programs(&fake, "/nonexistent")
        .with_time_limit(Duration::from_secs(2));
    let request = request(dir.path());
    let started = Instant::now();
    let (result, _) = run(&converter, &request, &CancellationToken::new()).await;
    assert!(
        matches!(result, Err(ConvertError::TimedOut { seconds: 2, .. })),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    // The grandchild (the appliance, for virt-v2v) went with it.
    for _ in 0..50 {
        if !alive(pid.trim()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!alive(pid.trim()), "process {pid} survived");

    let converter = VirtV2vConverter::with_programs(&fake, "/nonexistent");
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        trigger.cancel();
    });
    let (result, _) = run(&converter, &request, &cancel).await;
    assert!(
        matches!(result, Err(ConvertError::Cancelled { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn without_the_in_place_program_virt_v2v_writes_local_output_that_replaces_the_disks() {
    let dir = tempfile::tempdir().unwrap();
    // -o local -os DIR -on NAME writes DIR/NAME-sda.
    let fake = script(
        dir.path(),
        "virt-v2v",
        r#"while [ $# -gt 0 ]; do case "$1" in -os) os=$2;; -on) on=$2;; esac; shift; done
mkdir -p "$os"; echo converted > "$os/$on-sda""#,
    );
    let converter = VirtV2vConverter::with_programs("/nonexistent/in-place", &fake);
    assert!(converter.describe().contains("-o local"));
    let request = request(dir.path());
    run(&converter, &request, &CancellationToken::new())
        .await
        .0
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&request.disks[0].path).unwrap(),
        "converted\n"
    );
}

#[tokio::test]
async fn missing_programs_and_empty_requests_are_typed_errors() {
    let converter = VirtV2vConverter::with_programs("/nonexistent/a", "/nonexistent/b");
    let err = converter.check().unwrap_err();
    assert!(
        matches!(&err, ConvertError::NotInstalled { program } if program == "/nonexistent/a"),
        "{err}"
    );
    assert!(err.to_string().contains("setup-v2v.sh"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let fake = script(dir.path(), "virt-v2v-in-place", "exit 0");
    let converter = VirtV2vConverter::with_programs(&fake, "/nonexistent");
    let mut empty = request(dir.path());
    empty.disks.clear();
    let (result, _) = run(&converter, &empty, &CancellationToken::new()).await;
    assert!(matches!(result, Err(ConvertError::NoDisks { .. })));
}

#[tokio::test]
async fn output_lines_are_cut_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    // One 1 MiB line, then a stage: the line is kept cut, the stage still read.
    let fake = script(
        dir.path(),
        "virt-v2v-in-place",
        "head -c 1048576 /dev/zero | tr '\\0' x; echo; echo '[   1.0] Finishing off'",
    );
    let converter = VirtV2vConverter::with_programs(&fake, "/nonexistent");
    let request = request(dir.path());
    let (result, progress) = run(&converter, &request, &CancellationToken::new()).await;
    result.unwrap();
    assert_eq!(progress.len(), 1);
    let log = std::fs::read_to_string(&request.log).unwrap();
    let longest = log.lines().map(str::len).max().unwrap();
    assert_eq!(longest, MAX_OUTPUT_LINE);
}

#[tokio::test]
async fn a_rejected_passphrase_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let fake = script(
        dir.path(),
        "virt-v2v-in-place",
        "echo 'getline: Inappropriate ioctl for device' >&2\n\
         echo '/usr/bin/virt-v2v-in-place: could not read key from user' >&2\n\
         echo 'umount-all: noise'\nexit 1",
    );
    let converter = VirtV2vConverter::with_programs(&fake, "/nonexistent");
    let (result, _) = run(&converter, &request(dir.path()), &CancellationToken::new()).await;
    let err = result.unwrap_err();
    assert!(
        matches!(&err, ConvertError::LuksKeyRejected { keys: 2, said, .. } if said.ends_with("could not read key from user")),
        "{err}"
    );
    assert!(err.to_string().contains("luks Secret"), "{err}");
}

#[test]
fn only_the_first_warnings_are_kept() {
    let mut seen = Seen::default();
    for i in 0..MAX_CONVERSION_WARNINGS + 10 {
        seen.take(&format!("virt-v2v-in-place: warning: number {i}"));
    }
    assert_eq!(seen.warnings.len(), MAX_CONVERSION_WARNINGS);
    assert_eq!(seen.warnings[0], "number 0");
}

#[tokio::test(start_paused = true)]
async fn a_help_that_hangs_counts_as_the_option_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slow-help");
    std::fs::write(&path, "#!/bin/sh\nexec sleep 600\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let started = tokio::time::Instant::now();
    assert!(!supports(&path, "--no-fstrim").await);
    assert!(started.elapsed() >= HELP_TIME_LIMIT);
}

#[tokio::test]
async fn an_option_the_help_lists_is_supported() {
    // On the real clock: with a paused one, waiting for any process lets the limit pass.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fast-help");
    std::fs::write(&path, "#!/bin/sh\necho '  --no-fstrim   Do not trim'\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(supports(&path, "--no-fstrim").await);
    assert!(!supports(&path, "--no-such-option").await);
}

#[test]
fn the_command_line_builder_passes_upstream_settings_for_windows_guests_too() {
    // A Windows guest with two manual IPs on one NIC (render's V2V_multipleIPsPerNic case),
    // its root on the second disk, the legacy driver ISO and XFS compatibility.
    let mut request = ConversionRequest {
        vm_name: "win".into(),
        root: Some("/dev/sdb".into()),
        static_ips: vec![
            "00:50:56:aa:bb:cc:ip:10.0.0.5,10.0.0.1,24,10.0.0.2".into(),
            "00:50:56:aa:bb:cc:ip:10.0.0.6,10.0.0.1,24,10.0.0.2".into(),
        ],
        xfs_compatibility: true,
        work_dir: "/w".into(),
        ..ConversionRequest::default()
    };
    request.env.insert(
        "VIRTIO_WIN".into(),
        "/usr/local/virtio-win-legacy.iso".into(),
    );
    let keys = vec!["--key".to_owned(), "all:clevis".to_owned()];
    let in_place = Mode::InPlace("/usr/bin/virt-v2v-in-place".into());
    let args = v2v_args(&in_place, &request, Path::new("/w/domain.xml"), &keys, true);
    assert_eq!(
        args,
        [
            "-v",
            "-x",
            "-i",
            "libvirtxml",
            "/w/domain.xml",
            "--root",
            "/dev/sdb",
            "--mac",
            "00:50:56:aa:bb:cc:ip:10.0.0.5,10.0.0.1,24,10.0.0.2",
            "--mac",
            "00:50:56:aa:bb:cc:ip:10.0.0.6,10.0.0.1,24,10.0.0.2",
            "--key",
            "all:clevis",
        ]
    );
    // The legacy ISO travels in the environment virt-v2v reads, not as an argument.
    assert!(!args.iter().any(|a| a.contains("virtio-win")));
    // Without XFS compatibility: --no-fstrim when the program has it; -o local output.
    request.xfs_compatibility = false;
    let local = Mode::LocalOutput("/usr/bin/virt-v2v".into());
    let args = v2v_args(&local, &request, Path::new("/w/domain.xml"), &[], true);
    assert!(args.contains(&"--no-fstrim".to_owned()), "{args:?}");
    assert!(
        args.ends_with(
            &["-o", "local", "-os", "/w/out", "-of", "raw", "-on", "win"].map(String::from)
        ),
        "{args:?}"
    );
    let args = v2v_args(&in_place, &request, Path::new("/w/domain.xml"), &[], false);
    assert!(!args.contains(&"--no-fstrim".to_owned()), "{args:?}");
}
