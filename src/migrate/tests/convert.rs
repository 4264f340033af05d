//! The conversion phases against a scripted converter: what runs, what status says, and
//! what is refused.

use std::sync::Mutex;

use async_trait::async_trait;

use super::*;
use crate::migrate::convert::{
    ConversionProgress, ConversionReport, ConversionRequest, ConvertError, Converter,
    VirtV2vConverter,
};

/// A converter that records its requests and answers as told.
#[derive(Debug, Default)]
struct ScriptedConverter {
    fail: bool,
    /// The osinfo id it reports (default `rhel9.2`).
    osinfo: Option<&'static str>,
    requests: Mutex<Vec<ConversionRequest>>,
}

#[async_trait]
impl Converter for ScriptedConverter {
    fn describe(&self) -> String {
        "scripted".into()
    }

    fn check(&self) -> Result<(), ConvertError> {
        Ok(())
    }

    async fn convert(
        &self,
        request: &ConversionRequest,
        progress: mpsc::Sender<ConversionProgress>,
        _cancel: &CancellationToken,
    ) -> Result<ConversionReport, ConvertError> {
        self.requests.lock().unwrap().push(request.clone());
        let _ = progress
            .send(ConversionProgress {
                seconds: 1.5,
                stage: "Inspecting the source".into(),
            })
            .await;
        if self.fail {
            return Err(ConvertError::Failed {
                vm: request.vm_name.clone(),
                status: "exit status: 1".into(),
                tail: "virt-v2v-in-place: error: inspection could not detect the source guest"
                    .into(),
                log: request.log.clone(),
            });
        }
        Ok(ConversionReport {
            converter: "scripted".into(),
            osinfo: Some(self.osinfo.unwrap_or("rhel9.2").into()),
            os_type: Some("linux".into()),
            product_name: Some("Red Hat Enterprise Linux 9.2".into()),
            virtio_drivers: true,
            warnings: vec!["the guest agent could not be installed".into()],
            customized: Vec::new(),
            log: request.log.clone(),
            seconds: 2.0,
        })
    }
}

fn harness(local_files: bool) -> Harness {
    let mut h = Harness::new();
    let destination = MemoryDestination {
        journal: h.journal.clone(),
        status_dir: h._status.path().to_path_buf(),
        local_files,
        ..MemoryDestination::default()
    };
    h.destination = Arc::new(destination);
    h
}

fn migrator(h: &Harness, set: &ManifestSet, converter: Arc<dyn Converter>) -> Migrator {
    let mut options = h.options();
    options.converter = Some(converter);
    Migrator::with_provider(set, None, backend(&h.journal).provider(), options).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_converter_converts_after_the_copy_and_status_records_what_it_found() {
    let h = harness(true);
    let converter = Arc::new(ScriptedConverter::default());
    let set = manifests("", "", "");
    let (report, events) = run(
        &migrator(&h, &set, converter.clone()),
        CancellationToken::new(),
    )
    .await;
    let report = report.unwrap();
    assert!(report.succeeded(), "{report:#?}");
    let vm = report.vms.iter().find(|v| v.id == "vm-11").unwrap();
    let phases: Vec<String> = vm.phases.iter().map(|p| p.phase.to_string()).collect();
    let at = |p: &str| {
        phases
            .iter()
            .position(|x| x == p)
            .unwrap_or_else(|| panic!("{p}: {phases:?}"))
    };
    assert!(at("CopyDisks") < at("CreateGuestConversionPod"));
    assert!(at("CreateGuestConversionPod") < at("ConvertGuest"));
    assert!(at("ConvertGuest") < at("CreateVM"));
    // The request: the copied disks in order, the VM's NICs, firmware, size.
    let requests = converter.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    let web = requests.iter().find(|r| r.disks.len() == 2).unwrap();
    assert!(
        web.disks[0].claim.contains("disk-0") && web.disks[1].claim.contains("disk-1"),
        "{web:?}"
    );
    assert_eq!(
        web.disks[0].path,
        h._status.path().join(&web.disks[0].claim)
    );
    assert_eq!(web.memory_mib, 2048);
    assert!(
        web.log
            .to_string_lossy()
            .ends_with(&format!("{}.log", web.vm_name)),
        "{:?}",
        web.log
    );
    // Progress events, the inspected OS and the warning in status, the label on the VM.
    assert!(events.iter().any(|e| matches!(e,
        MigrationEvent::ConversionProgress { stage, .. } if stage == "Inspecting the source")));
    let status = std::fs::read_to_string(&report.status_path).unwrap();
    assert!(
        status.contains("operatingSystem: rhel9_64Guest"),
        "{status}"
    );
    assert!(status.contains("type: ConversionHasWarnings"), "{status}");
    assert!(status.contains("disksCopied: true"), "{status}");
    let objects = h.destination.objects.lock().unwrap();
    let vm_object = objects.get(&vm.target_name).unwrap();
    assert_eq!(vm_object["metadata"]["labels"]["guestConverted"], "true");
}

#[tokio::test(start_paused = true)]
async fn the_inspected_os_picks_the_preference_of_the_virtual_machine() {
    // The inventory says RHEL 9 (render's preference: rhel.9); virt-v2v finds Debian 12.
    let h = harness(true);
    let converter = Arc::new(ScriptedConverter {
        osinfo: Some("debian12"),
        ..ScriptedConverter::default()
    });
    let set = manifests("", "", "");
    let (report, _) = run(&migrator(&h, &set, converter), CancellationToken::new()).await;
    let report = report.unwrap();
    assert!(report.succeeded(), "{report:#?}");
    let status = std::fs::read_to_string(&report.status_path).unwrap();
    assert!(
        status.contains("operatingSystem: debian12_64Guest"),
        "{status}"
    );
    let objects = h.destination.objects.lock().unwrap();
    for vm in &report.vms {
        let object = objects.get(&vm.target_name).unwrap();
        assert_eq!(
            object["spec"]["preference"],
            serde_json::json!({"name": "debian", "kind": "VirtualMachineClusterPreference"}),
            "{object:#}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_conversion_fails_the_vm_and_creates_no_vm() {
    let h = harness(true);
    let converter = Arc::new(ScriptedConverter {
        fail: true,
        ..ScriptedConverter::default()
    });
    let set = manifests("", "", "");
    let (report, _) = run(&migrator(&h, &set, converter), CancellationToken::new()).await;
    let report = report.unwrap();
    for vm in &report.vms {
        assert_eq!(vm.outcome, VmOutcome::Failed, "{vm:?}");
        assert_eq!(vm.phases.last().unwrap().phase.to_string(), "ConvertGuest");
        assert!(
            vm.error
                .as_deref()
                .unwrap()
                .contains("inspection could not detect"),
            "{vm:?}"
        );
        assert!(
            !h.destination
                .objects
                .lock()
                .unwrap()
                .contains_key(&vm.target_name)
        );
    }
}

#[tokio::test(start_paused = true)]
async fn disks_that_are_not_local_files_cannot_be_converted() {
    let h = harness(false);
    let converter = Arc::new(ScriptedConverter::default());
    let set = manifests("", "", "");
    let (report, _) = run(
        &migrator(&h, &set, converter.clone()),
        CancellationToken::new(),
    )
    .await;
    let vm = &report.unwrap().vms[0];
    assert_eq!(vm.outcome, VmOutcome::Failed);
    assert!(
        vm.error.as_deref().unwrap().contains("is not a local file"),
        "{vm:?}"
    );
    assert!(converter.requests.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_configured_converter_whose_programs_are_missing_is_refused_naming_them() {
    let h = harness(true);
    let converter = Arc::new(VirtV2vConverter::with_programs(
        "/nonexistent/virt-v2v-in-place",
        "/nonexistent/virt-v2v",
    ));
    let set = manifests("", "", "");
    let (result, _) = run(&migrator(&h, &set, converter), CancellationToken::new()).await;
    let Err(MigrateError::NotReady { conditions }) = result else {
        panic!("{result:?}")
    };
    let condition = conditions
        .iter()
        .find(|c| c.type_ == "GuestConversionNotAvailable")
        .unwrap();
    assert!(
        condition
            .message
            .contains("/nonexistent/virt-v2v-in-place is not installed"),
        "{}",
        condition.message
    );
    assert_eq!(h.journal.entries(), ["inventory", "close"]);
}

#[tokio::test(start_paused = true)]
async fn raw_copy_skips_conversion_even_with_a_converter() {
    let h = harness(true);
    let converter = Arc::new(ScriptedConverter::default());
    let set = manifests(RAW, "", "");
    let (report, _) = run(
        &migrator(&h, &set, converter.clone()),
        CancellationToken::new(),
    )
    .await;
    let report = report.unwrap();
    assert!(report.succeeded());
    assert!(converter.requests.lock().unwrap().is_empty());
    let status = std::fs::read_to_string(&report.status_path).unwrap();
    assert!(status.contains("skipGuestConversion"), "{status}");
    let objects = h.destination.objects.lock().unwrap();
    assert_eq!(
        objects.get(&report.vms[0].target_name).unwrap()["metadata"]["labels"]["guestConverted"],
        "false"
    );
}
