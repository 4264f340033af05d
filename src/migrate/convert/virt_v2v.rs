//! The [`Converter`] that runs the real virt-v2v.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use seen::{Seen, read_lines};
use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::customize::{self, GuestFamily};
use super::request::ConversionRequest;
use super::{
    CONVERSION_TIME_LIMIT, ConversionProgress, ConversionReport, ConvertError, Converter,
    domain_xml,
};
use crate::migrate::hooks::which;

/// The environment that makes libguestfs run its appliance under TCG (software emulation).
/// On machines where `/dev/kvm` exists but cannot run a guest kernel (nested virtualisation
/// without VMX, as on many CI and cloud machines) libguestfs picks KVM by default and its
/// appliance hangs until libguestfs' own 10-minute launch timeout; TCG always works, and a
/// 1 GiB guest still converts in 1 to 3 minutes. [`VirtV2vConverter::use_default_backend`]
/// lets libguestfs choose (KVM where it works).
pub const LIBGUESTFS_TCG_ENV: [(&str, &str); 2] = [
    ("LIBGUESTFS_BACKEND", "direct"),
    ("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg"),
];

/// Runs `virt-v2v-in-place -i libvirtxml` on a domain XML describing the copied disks (or,
/// when the in-place program is absent, `virt-v2v -i libvirtxml -o local` and moves the
/// converted disks over the copied ones), with libguestfs forced to TCG.
#[derive(Debug, Clone)]
pub struct VirtV2vConverter {
    in_place: PathBuf,
    virt_v2v: PathBuf,
    virt_customize: PathBuf,
    force_tcg: bool,
    time_limit: Duration,
}

impl Default for VirtV2vConverter {
    fn default() -> Self {
        Self {
            in_place: PathBuf::from("virt-v2v-in-place"),
            virt_v2v: PathBuf::from("virt-v2v"),
            virt_customize: PathBuf::from("virt-customize"),
            force_tcg: true,
            time_limit: CONVERSION_TIME_LIMIT,
        }
    }
}

/// Which program converts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    InPlace(PathBuf),
    LocalOutput(PathBuf),
}

impl VirtV2vConverter {
    /// A converter using these programs instead of `virt-v2v-in-place` and `virt-v2v` from
    /// `PATH` (either may be absent; the in-place one is preferred).
    pub fn with_programs(in_place: impl Into<PathBuf>, virt_v2v: impl Into<PathBuf>) -> Self {
        Self {
            in_place: in_place.into(),
            virt_v2v: virt_v2v.into(),
            ..Self::default()
        }
    }

    /// Runs the customization after the conversion with this program instead of
    /// `virt-customize` from `PATH`.
    pub fn with_customize_program(mut self, program: impl Into<PathBuf>) -> Self {
        self.virt_customize = program.into();
        self
    }

    /// Lets libguestfs choose its backend (KVM where it works) instead of forcing TCG; for
    /// machines where `/dev/kvm` runs guests.
    pub fn use_default_backend(mut self) -> Self {
        self.force_tcg = false;
        self
    }

    /// Stops a conversion after `limit` instead of [`CONVERSION_TIME_LIMIT`].
    pub fn with_time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = limit;
        self
    }

    fn mode(&self) -> Result<Mode, ConvertError> {
        if let Some(path) = which(&self.in_place) {
            return Ok(Mode::InPlace(path));
        }
        if let Some(path) = which(&self.virt_v2v) {
            return Ok(Mode::LocalOutput(path));
        }
        Err(ConvertError::NotInstalled {
            program: self.in_place.display().to_string(),
        })
    }

    /// The LUKS arguments of `request` (`--key` per passphrase file and device, or
    /// `--key all:clevis`), with the key files written into its work directory; virt-v2v and
    /// virt-customize take the same.
    async fn key_args(request: &ConversionRequest) -> Result<Vec<String>, ConvertError> {
        let mut args = Vec::new();
        if request.clevis {
            args.push("--key".into());
            args.push("all:clevis".into());
        } else {
            for (i, key) in request.luks_keys.iter().enumerate() {
                let path = request.work_dir.join(format!("luks-key-{i}"));
                write_private(&path, key.expose().as_bytes())
                    .await
                    .map_err(|source| ConvertError::Io {
                        vm: request.vm_name.clone(),
                        path: path.clone(),
                        source,
                    })?;
                for selector in key_selectors(request.disks.len()) {
                    args.push("--key".into());
                    args.push(format!("{selector}:file:{}", path.display()));
                }
            }
        }
        // Passphrases are never asked on a terminal: with none matching, the run fails
        // (stdin is empty) instead of waiting for a user.
        args.push("--keys-from-stdin".into());
        Ok(args)
    }
}

/// The arguments of one conversion (after the program): upstream's common arguments
/// (`--root`, `--mac` per preserved static IP, the LUKS `keys`), `--no-fstrim` when the
/// program has it and XFS compatibility is off, and the output of `-o local` mode. Nothing
/// here differs for Windows guests, as upstream: their static IPs are the same `--mac` specs
/// (render keeps only manual ones), and the legacy driver ISO is the `VIRTIO_WIN` variable of
/// `request.env`.
fn v2v_args(
    mode: &Mode,
    request: &ConversionRequest,
    domain: &Path,
    keys: &[String],
    no_fstrim: bool,
) -> Vec<String> {
    // -v -x: the full libguestfs log, kept in the log file (upstream's conversion pods run
    // with them too); the inspection summary it prints names the guest's OS.
    let mut args: Vec<String> = vec!["-v".into(), "-x".into(), "-i".into()];
    args.push("libvirtxml".into());
    args.push(domain.display().to_string());
    args.push("--root".into());
    args.push(request.root.clone().unwrap_or_else(|| "first".into()));
    for spec in &request.static_ips {
        args.push("--mac".into());
        args.push(spec.clone());
    }
    args.extend(keys.iter().cloned());
    if !request.xfs_compatibility && no_fstrim {
        args.push("--no-fstrim".into());
    }
    if let Mode::LocalOutput(_) = mode {
        args.extend([
            "-o".into(),
            "local".into(),
            "-os".into(),
            request.work_dir.join("out").display().to_string(),
            "-of".into(),
            "raw".into(),
            "-on".into(),
            request.vm_name.clone(),
        ]);
    }
    args
}

#[async_trait]
impl Converter for VirtV2vConverter {
    fn describe(&self) -> String {
        match self.mode() {
            Ok(Mode::InPlace(p)) => format!("virt-v2v-in-place ({})", p.display()),
            Ok(Mode::LocalOutput(p)) => format!("virt-v2v -o local ({})", p.display()),
            Err(_) => "virt-v2v (not installed)".into(),
        }
    }

    fn check(&self) -> Result<(), ConvertError> {
        self.mode().map(|_| ())
    }

    async fn convert(
        &self,
        request: &ConversionRequest,
        progress: mpsc::Sender<ConversionProgress>,
        cancel: &CancellationToken,
    ) -> Result<ConversionReport, ConvertError> {
        let vm = request.vm_name.clone();
        if request.disks.is_empty() {
            return Err(ConvertError::NoDisks { vm });
        }
        let mode = self.mode()?;
        let io = |path: &Path| {
            let (vm, path) = (vm.clone(), path.to_path_buf());
            move |source| ConvertError::Io { vm, path, source }
        };
        tokio::fs::create_dir_all(&request.work_dir)
            .await
            .map_err(io(&request.work_dir))?;
        let domain = request.work_dir.join("domain.xml");
        tokio::fs::write(&domain, domain_xml(request))
            .await
            .map_err(io(&domain))?;
        let result = self.run(&mode, request, &domain, progress, cancel).await;
        // The key files and the domain go whatever happened; the log stays.
        let _ = tokio::fs::remove_dir_all(&request.work_dir).await;
        result
    }
}

impl VirtV2vConverter {
    async fn run(
        &self,
        mode: &Mode,
        request: &ConversionRequest,
        domain: &Path,
        progress: mpsc::Sender<ConversionProgress>,
        cancel: &CancellationToken,
    ) -> Result<ConversionReport, ConvertError> {
        let vm = request.vm_name.clone();
        let started = Instant::now();
        let keys = Self::key_args(request).await?;
        let program = match mode {
            Mode::InPlace(p) | Mode::LocalOutput(p) => p.clone(),
        };
        let no_fstrim = supports(&program, "--no-fstrim").await;
        let args = v2v_args(mode, request, domain, &keys, no_fstrim);
        if let Some(parent) = request.log.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|source| ConvertError::Io {
                    vm: vm.clone(),
                    path: parent.to_path_buf(),
                    source,
                })?;
        }
        let mut log = tokio::fs::File::create(&request.log)
            .await
            .map_err(|source| ConvertError::Io {
                vm: vm.clone(),
                path: request.log.clone(),
                source,
            })?;
        let deadline = tokio::time::sleep(self.time_limit);
        tokio::pin!(deadline);
        let mut seen = Seen::default();
        let mut run = Supervised {
            request,
            log: &mut log,
            seen: &mut seen,
            progress: &progress,
            cancel,
            deadline: deadline.as_mut(),
            time_limit: self.time_limit,
        };
        let status = run.command(self, &program, &args).await?;
        if !status.success() {
            if let Some(said) = run.seen.luks_rejected.take() {
                return Err(ConvertError::LuksKeyRejected {
                    vm,
                    keys: request.luks_keys.len(),
                    said,
                    log: request.log.clone(),
                });
            }
            return Err(ConvertError::Failed {
                vm,
                status: status.to_string(),
                tail: run.seen.tail(),
                log: request.log.clone(),
            });
        }
        if let Mode::LocalOutput(_) = mode {
            move_converted(request).await?;
        }
        let family = GuestFamily::of(run.seen.os_type.as_deref());
        let customized = self.customize(&mut run, &keys, family).await?;
        Ok(ConversionReport {
            converter: program.display().to_string(),
            osinfo: seen.osinfo,
            os_type: seen.os_type,
            product_name: seen.product_name,
            virtio_drivers: seen.virtio,
            warnings: seen.warnings,
            customized,
            log: request.log.clone(),
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Runs virt-customize on the converted disks when the guest has something to customize
    /// (see [`super::customize`]); returns the customizations it made.
    async fn customize(
        &self,
        run: &mut Supervised<'_>,
        keys: &[String],
        family: GuestFamily,
    ) -> Result<Vec<String>, ConvertError> {
        let request = run.request;
        let vm = request.vm_name.clone();
        let dir = request.work_dir.join("customize");
        let (writes, files) = customize::plan_files(
            family,
            &request.static_ips,
            &request.customization_scripts,
            &dir,
        );
        if files.is_empty() {
            return Ok(Vec::new());
        }
        let program = which(&self.virt_customize).ok_or_else(|| ConvertError::NotInstalled {
            program: self.virt_customize.display().to_string(),
        })?;
        for (path, text) in &writes {
            let io = |source| ConvertError::Io {
                vm: vm.clone(),
                path: path.clone(),
                source,
            };
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent).await.map_err(io)?;
            }
            tokio::fs::write(path, text)
                .await
                .map_err(|source| ConvertError::Io {
                    vm: vm.clone(),
                    path: path.clone(),
                    source,
                })?;
        }
        let disks: Vec<PathBuf> = request.disks.iter().map(|d| d.path.clone()).collect();
        let args = customize::customize_args(&files, &disks, keys);
        let status = run.command(self, &program, &args).await?;
        if !status.success() {
            return Err(ConvertError::CustomizeFailed {
                vm,
                status: status.to_string(),
                tail: run.seen.tail(),
                log: request.log.clone(),
            });
        }
        let mut done: Vec<String> = files
            .scripts
            .iter()
            .filter_map(|(_, p)| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        if files.keep_ifnames.is_some() {
            done.push("interface names pinned to MACs".into());
        }
        Ok(done)
    }
}

/// One conversion's programs as they run one after the other: their output goes to the log
/// and to `seen`, stages to `progress`; all share one deadline and the cancellation.
struct Supervised<'a> {
    request: &'a ConversionRequest,
    log: &'a mut tokio::fs::File,
    seen: &'a mut Seen,
    progress: &'a mpsc::Sender<ConversionProgress>,
    cancel: &'a CancellationToken,
    deadline: std::pin::Pin<&'a mut tokio::time::Sleep>,
    time_limit: Duration,
}

impl Supervised<'_> {
    /// Runs `program args` to its end, unless the deadline or the cancellation comes first.
    async fn command(
        &mut self,
        converter: &VirtV2vConverter,
        program: &Path,
        args: &[String],
    ) -> Result<std::process::ExitStatus, ConvertError> {
        let vm = self.request.vm_name.clone();
        let _ = self
            .log
            .write_all(format!("# {} {}\n", program.display(), args.join(" ")).as_bytes())
            .await;
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .envs(&self.request.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so that stopping it also stops the appliance's qemu.
            .process_group(0)
            .kill_on_drop(true);
        if converter.force_tcg {
            cmd.envs(LIBGUESTFS_TCG_ENV);
        }
        tracing::info!(vm = %vm, program = %program.display(), "converting the guest");
        let mut child = cmd.spawn().map_err(|source| ConvertError::Spawn {
            vm: vm.clone(),
            program: program.display().to_string(),
            source,
        })?;
        let pgid = child.id();
        let (line_tx, mut line_rx) = mpsc::channel::<String>(256);
        let readers = [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn AsyncRead + Send + Unpin>),
        ];
        for reader in readers.into_iter().flatten() {
            tokio::spawn(read_lines(reader, line_tx.clone()));
        }
        drop(line_tx);
        let stopped = loop {
            tokio::select! {
                line = line_rx.recv() => match line {
                    Some(line) => {
                        let _ = self.log.write_all(line.as_bytes()).await;
                        let _ = self.log.write_all(b"\n").await;
                        if let Some(p) = self.seen.take(&line) {
                            let _ = self.progress.send(p).await;
                        }
                    }
                    None => break None,
                },
                () = self.deadline.as_mut() => break Some(false),
                () = self.cancel.cancelled() => break Some(true),
            }
        };
        if let Some(cancelled) = stopped {
            kill_group(pgid);
            let _ = child.kill().await;
            let _ = self.log.flush().await;
            return Err(if cancelled {
                ConvertError::Cancelled { vm }
            } else {
                ConvertError::TimedOut {
                    vm,
                    seconds: self.time_limit.as_secs(),
                    log: self.request.log.clone(),
                }
            });
        }
        let status = child.wait().await.map_err(|source| ConvertError::Spawn {
            vm: vm.clone(),
            program: "wait".into(),
            source,
        })?;
        let _ = self.log.flush().await;
        Ok(status)
    }
}

/// Partitions per disk a LUKS key is offered to by device name.
pub const MAX_KEY_PARTITIONS: usize = 16;

/// The devices every LUKS key is offered to: `all` (virt-v2v from 2.3 on), and, for the
/// versions before it (Debian 12's 2.2 reads `all` as a device name), each disk and its first
/// [`MAX_KEY_PARTITIONS`] partitions by the names libguestfs gives them (`/dev/sda`,
/// `/dev/sda1`...: disks in the domain's order). Selectors naming no device are ignored.
fn key_selectors(disks: usize) -> Vec<String> {
    let mut selectors = vec!["all".to_owned()];
    for index in 0..disks {
        let disk = format!("/dev/{}", super::domain::scsi_name(index));
        selectors.extend((1..=MAX_KEY_PARTITIONS).map(|p| format!("{disk}{p}")));
        selectors.push(disk);
    }
    selectors
}

/// `virt-v2v -o local` wrote `<out>/<name>-sda`...: each replaces the copied disk it came from.
async fn move_converted(request: &ConversionRequest) -> Result<(), ConvertError> {
    let out = request.work_dir.join("out");
    for (index, disk) in request.disks.iter().enumerate() {
        let converted = out.join(format!(
            "{}-{}",
            request.vm_name,
            super::domain::scsi_name(index)
        ));
        let io = |path: &Path| {
            let (vm, path) = (request.vm_name.clone(), path.to_path_buf());
            move |source| ConvertError::Io { vm, path, source }
        };
        if tokio::fs::rename(&converted, &disk.path).await.is_err() {
            // Another filesystem: copy, then remove.
            tokio::fs::copy(&converted, &disk.path)
                .await
                .map_err(io(&converted))?;
            tokio::fs::remove_file(&converted)
                .await
                .map_err(io(&converted))?;
        }
    }
    Ok(())
}

/// Whether `program --help` mentions `option` (virt-v2v 2.2 has no `--no-fstrim`).
async fn supports(program: &Path, option: &str) -> bool {
    let output = tokio::process::Command::new(program)
        .arg("--help")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(HELP_TIME_LIMIT, output).await {
        Ok(Ok(o)) => String::from_utf8_lossy(&o.stdout).contains(option),
        _ => false,
    }
}

/// How long `virt-v2v --help` may take when asked which options it has.
pub const HELP_TIME_LIMIT: Duration = Duration::from_secs(10);

/// Writes `data` to a new file only its owner can read.
async fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .await?;
    file.write_all(data).await?;
    file.flush().await
}

/// Kills the process group `pgid` led (the converter and the appliance it started).
fn kill_group(pgid: Option<u32>) {
    let Some(pgid) = pgid.and_then(|p| i32::try_from(p).ok()) else {
        return;
    };
    // SAFETY: kill(2) takes plain integers and touches no memory of ours; a group that has
    // already gone only makes it fail with ESRCH.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

mod seen;
#[cfg(test)]
mod tests;
