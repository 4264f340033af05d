//! Table-driven tests: for every condition, one scenario that triggers it; the clean baseline
//! scenario (Ready, nothing else) is the one that does not.

use super::*;
use crate::inventory::*;
use crate::resources::{
    AapConfig, HookRef, HookSpec, HookStep, MapRefs, MigrationType, NetworkDestination,
    NetworkMapSpec, NetworkPair, NetworkSource, ObjectMeta, ObjectReference, OffloadPlugin,
    PlanSpec, PlanVm, ProviderPair, ProviderSpec, ProviderStatus, ProviderType, Ref,
    StorageDestination, StorageMapSpec, StoragePair, StorageVendor, VsphereXcopyConfig,
};

const NS: &str = "openshift-mtv";
const TARGET: &str = "target";
const GIB: i64 = 1 << 30;

#[derive(Clone)]
struct Scenario {
    plan: Plan,
    providers: Vec<Provider>,
    network_maps: Vec<NetworkMap>,
    storage_maps: Vec<StorageMap>,
    hooks: Vec<Hook>,
    source: SourceInventory,
    dest: Option<DestinationInventory>,
    settings: Settings,
}

impl Scenario {
    fn run(&self) -> Vec<Condition> {
        let res = PlanResources {
            providers: &self.providers,
            network_maps: &self.network_maps,
            storage_maps: &self.storage_maps,
            hooks: &self.hooks,
        };
        validate(
            &self.plan,
            &res,
            &self.source,
            self.dest.as_ref(),
            &self.settings,
        )
    }

    fn vm(&mut self) -> &mut Vm {
        &mut self.source.vms[0]
    }

    fn dest(&mut self) -> &mut DestinationInventory {
        self.dest.as_mut().unwrap()
    }

    fn spec(&mut self) -> &mut PlanSpec {
        &mut self.plan.spec
    }

    fn add_vm(&mut self, id: &str) {
        let mut vm = self.source.vms[0].clone();
        vm.id = id.into();
        vm.name = format!("vm-{id}");
        vm.nics[0].mac = format!("00:50:56:00:00:{:02x}", self.source.vms.len());
        vm.guest_networks[0].mac.clone_from(&vm.nics[0].mac);
        self.source.vms.push(vm);
        self.plan.spec.vms.push(PlanVm::by_id(id));
    }

    fn set_kind(&mut self, kind: ProviderType) {
        self.providers[0].spec.type_ = Some(kind);
        self.source.provider = kind;
        self.vm().ext = None;
    }
}

fn pair() -> ProviderPair {
    ProviderPair {
        source: ObjectReference::new(NS, "source"),
        destination: ObjectReference::new(NS, "host"),
    }
}

fn baseline() -> Scenario {
    let providers = vec![
        Provider::new(
            ObjectMeta::named(NS, "source"),
            ProviderSpec {
                type_: Some(ProviderType::VSphere),
                url: "https://vc/sdk".into(),
                ..Default::default()
            },
        ),
        Provider::new(
            ObjectMeta::named(NS, "host"),
            ProviderSpec {
                type_: Some(ProviderType::OpenShift),
                ..Default::default()
            },
        ),
    ];
    let network_map = NetworkMap::new(
        ObjectMeta::named(NS, "net"),
        NetworkMapSpec {
            provider: pair(),
            map: vec![NetworkPair {
                source: NetworkSource {
                    id: "net-1".into(),
                    ..Default::default()
                },
                destination: NetworkDestination {
                    type_: crate::resources::NetworkDestinationType::Multus,
                    namespace: TARGET.into(),
                    name: "nad-1".into(),
                },
            }],
        },
    );
    let storage_map = StorageMap::new(
        ObjectMeta::named(NS, "sto"),
        StorageMapSpec {
            provider: pair(),
            map: vec![StoragePair {
                source: Ref::by_id("ds-1"),
                destination: StorageDestination {
                    storage_class: "standard".into(),
                    ..Default::default()
                },
                offload_plugin: None,
            }],
        },
    );
    let plan = Plan::new(
        ObjectMeta::named(NS, "plan"),
        PlanSpec {
            target_namespace: TARGET.into(),
            provider: pair(),
            map: MapRefs {
                network: ObjectReference::new(NS, "net"),
                storage: ObjectReference::new(NS, "sto"),
            },
            vms: vec![PlanVm::by_id("vm-1")],
            ..Default::default()
        },
    );
    let mac = "00:50:56:aa:bb:01";
    let vm = Vm {
        id: "vm-1".into(),
        name: "web".into(),
        power_state: PowerState::On,
        host: "host-1".into(),
        cpu_count: 2,
        memory_mib: 2048,
        guest_tools: ToolsStatus::Ok,
        guest_tools_running: Some(true),
        change_tracking_enabled: true,
        disks: vec![Disk {
            key: 2000,
            file: "[ds1] web/web.vmdk".into(),
            storage: "ds-1".into(),
            capacity: 10 * GIB,
            change_tracking_enabled: true,
            ..Default::default()
        }],
        nics: vec![Nic {
            mac: mac.into(),
            network: NicNetwork {
                id: "net-1".into(),
                ..Default::default()
            },
            connected: true,
            ..Default::default()
        }],
        guest_networks: vec![GuestNetwork {
            mac: mac.into(),
            ip: "10.0.0.5".into(),
            prefix_length: 24,
            ..Default::default()
        }],
        ext: Some(VmExt::Vsphere(VsphereVmExt {
            uuid: "4207-uuid".into(),
            ..Default::default()
        })),
        ..Default::default()
    };
    let source = SourceInventory {
        provider: ProviderType::VSphere,
        vms: vec![vm],
        networks: vec![Network {
            id: "net-1".into(),
            name: "VM Network".into(),
            ..Default::default()
        }],
        storages: vec![Storage {
            id: "ds-1".into(),
            name: "ds1".into(),
            ..Default::default()
        }],
        hosts: vec![Host {
            id: "host-1".into(),
            name: "esx1".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let dest = DestinationInventory {
        namespaces: vec![Namespace {
            name: TARGET.into(),
            ..Default::default()
        }],
        network_attachment_definitions: vec![NetworkAttachmentDefinition {
            namespace: TARGET.into(),
            name: "nad-1".into(),
            ..Default::default()
        }],
        storage_classes: vec![StorageClass {
            name: "standard".into(),
            provisioner: "csi.example.com".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    Scenario {
        plan,
        providers,
        network_maps: vec![network_map],
        storage_maps: vec![storage_map],
        hooks: Vec::new(),
        source,
        dest: Some(dest),
        settings: Settings::default(),
    }
}

fn types(conditions: &[Condition]) -> Vec<String> {
    conditions
        .iter()
        .map(|c| format!("{}/{}/{}", c.type_, c.category, c.reason))
        .collect()
}

#[test]
fn baseline_is_ready_with_nothing_else() {
    let found = baseline().run();
    assert_eq!(types(&found), ["Ready/Required/"]);
    assert!(is_ready(&found));
}

type Mutation = fn(&mut Scenario);

/// (condition type, reason, category, mutation that triggers it).
const CASES: &[(&str, &str, Category, Mutation)] = &[
    // §2.1 provider pair
    (
        "SourceProviderNotValid",
        "NotFound",
        Category::Critical,
        |s| s.spec().provider.source.name = "nope".into(),
    ),
    (
        "SourceProviderNotValid",
        "NotSet",
        Category::Critical,
        |s| s.spec().provider.source.name.clear(),
    ),
    ("SourceProviderNotReady", "", Category::Critical, |s| {
        s.providers[0].status = Some(ProviderStatus {
            conditions: vec![Condition::new("ConnectionTestFailed", Category::Critical)],
            ..Default::default()
        });
    }),
    (
        "DestinationProviderNotValid",
        "NotFound",
        Category::Critical,
        |s| s.spec().provider.destination.name = "nope".into(),
    ),
    (
        "DestinationProviderNotValid",
        "TypeNotValid",
        Category::Critical,
        |s| s.providers[1].spec.type_ = Some(ProviderType::VSphere),
    ),
    ("DestinationProviderNotReady", "", Category::Critical, |s| {
        s.providers[1].status = Some(ProviderStatus {
            conditions: vec![Condition::new("Other", Category::Advisory)],
            ..Default::default()
        });
    }),
    // §2.2 plan level
    ("NamespaceNotValid", "NotSet", Category::Critical, |s| {
        s.spec().target_namespace.clear()
    }),
    ("NamespaceNotValid", "NotValid", Category::Critical, |s| {
        s.spec().target_namespace = "Bad_NS".into()
    }),
    ("NetworkMapRefNotValid", "NotSet", Category::Critical, |s| {
        s.spec().map.network.name.clear()
    }),
    (
        "NetworkMapRefNotValid",
        "NotFound",
        Category::Critical,
        |s| s.spec().map.network.name = "nope".into(),
    ),
    ("NetworkMapNotReady", "", Category::Critical, |s| {
        s.network_maps[0].spec.map[0].destination.name = "missing".into()
    }),
    (
        "DestinationNetworkNotValid",
        "NotFound",
        Category::Critical,
        |s| s.network_maps[0].spec.map[0].destination.name = "missing".into(),
    ),
    ("SourceNetworkNotValid", "NotFound", Category::Warn, |s| {
        let mut extra = s.network_maps[0].spec.map[0].clone();
        extra.source.id = "net-404".into();
        s.network_maps[0].spec.map.push(extra);
    }),
    ("NetMapPreservingIPsOnPodNetwork", "", Category::Warn, |s| {
        s.network_maps[0].spec.map[0].destination = NetworkDestination::default();
    }),
    (
        "NetMapDestinationNADNotValid",
        "NotValid",
        Category::Critical,
        |s| {
            s.network_maps[0].spec.map[0].destination.namespace = "elsewhere".into();
            s.dest().network_attachment_definitions[0].namespace = "elsewhere".into();
        },
    ),
    ("StorageRefNotValid", "NotSet", Category::Critical, |s| {
        s.spec().map.storage.name.clear()
    }),
    ("StorageRefNotValid", "NotFound", Category::Critical, |s| {
        s.spec().map.storage.name = "nope".into()
    }),
    ("StorageMapNotReady", "", Category::Critical, |s| {
        s.storage_maps[0].spec.map[0].destination.storage_class = "gone".into()
    }),
    (
        "DestinationStorageNotValid",
        "NotFound",
        Category::Critical,
        |s| s.storage_maps[0].spec.map[0].destination.storage_class = "gone".into(),
    ),
    (
        "SourceStorageNotValid",
        "Ambiguous",
        Category::Critical,
        |s| {
            s.source.storages.push(Storage {
                id: "ds-2".into(),
                name: "ds1".into(),
                ..Default::default()
            });
            s.storage_maps[0].spec.map[0].source = Ref::by_name("ds1");
        },
    ),
    (
        "UnsupportedUserDefinedNetwork",
        "NotSupported",
        Category::Critical,
        |s| {
            let nad = &mut s.dest().network_attachment_definitions[0];
            nad.labels
                .insert("k8s.ovn.org/user-defined-network".into(), String::new());
            nad.config = r#"{"type":"ovn-k8s-cni-overlay","topology":"layer3"}"#.into();
        },
    ),
    (
        "NetAppShiftWarmNotSupported",
        "NotSupported",
        Category::Critical,
        |s| {
            s.spec().warm = true;
            s.settings.vddk_image = "quay.io/x/vddk:8".into();
            s.dest().storage_classes[0]
                .annotations
                .insert("shift.netapp.io/storage-class-type".into(), "shift".into());
        },
    ),
    (
        "WarmMigrationNotReady",
        "NotSupported",
        Category::Critical,
        |s| {
            s.set_kind(ProviderType::OpenStack);
            s.spec().warm = true;
        },
    ),
    (
        "MigrationTypeNotValid",
        "NotSupported",
        Category::Critical,
        |s| s.spec().type_ = Some(MigrationType::Live),
    ),
    (
        "TransferNetworkNotValid",
        "NotFound",
        Category::Critical,
        |s| {
            s.spec().transfer_network = Some(ObjectReference::new(TARGET, "nope"));
        },
    ),
    (
        "TransferNetworkNotValid",
        "NotValid",
        Category::Critical,
        |s| {
            s.spec().transfer_network = Some(ObjectReference::new(TARGET, "nad-1"));
            s.dest().network_attachment_definitions[0]
                .annotations
                .insert("forklift.konveyor.io/route".into(), "not-an-ip".into());
        },
    ),
    (
        "TransferNetworkMissingDefaultRoute",
        "NotValid",
        Category::Warn,
        |s| {
            s.spec().transfer_network = Some(ObjectReference::new(TARGET, "nad-1"));
        },
    ),
    (
        "ServiceAccountNotValid",
        "NotFound",
        Category::Critical,
        |s| s.spec().service_account = "migrator".into(),
    ),
    ("HookNotValid", "NotFound", Category::Critical, |s| {
        s.spec().vms[0].hooks.push(HookRef {
            step: HookStep::PreHook.to_string(),
            hook: ObjectReference::new(NS, "nope"),
        });
    }),
    ("HookNotValid", "NotValid", Category::Critical, |s| {
        s.hooks.push(Hook::new(
            ObjectMeta::named(NS, "h"),
            HookSpec {
                image: "quay.io/a/b".into(),
                aap: Some(AapConfig {
                    job_template_id: 1,
                    ..Default::default()
                }),
                ..Default::default()
            },
        ));
        s.spec().vms[0].hooks.push(HookRef {
            step: HookStep::PreHook.to_string(),
            hook: ObjectReference::new(NS, "h"),
        });
    }),
    ("HookStepNotValid", "NotValid", Category::Critical, |s| {
        s.spec().vms[0].hooks.push(HookRef {
            step: "Cutover".into(),
            hook: ObjectReference::new(NS, "nope"),
        });
    }),
    ("HookNotReady", "NotFound", Category::Critical, |s| {
        let mut hook = Hook::new(
            ObjectMeta::named(NS, "h"),
            HookSpec {
                image: "quay.io/a/b".into(),
                ..Default::default()
            },
        );
        hook.status = Some(crate::resources::HookStatus {
            conditions: vec![Condition::new("InvalidImage", Category::Critical)],
            ..Default::default()
        });
        s.hooks.push(hook);
        s.spec().vms[0].hooks.push(HookRef {
            step: HookStep::PreHook.to_string(),
            hook: ObjectReference::new(NS, "h"),
        });
    }),
    (
        "HookServiceAccountNotValid",
        "NotFound",
        Category::Critical,
        |s| {
            s.hooks.push(Hook::new(
                ObjectMeta::named(NS, "h"),
                HookSpec {
                    image: "quay.io/a/b".into(),
                    service_account: "hook-sa".into(),
                    ..Default::default()
                },
            ));
            s.spec().vms[0].hooks.push(HookRef {
                step: HookStep::PostHook.to_string(),
                hook: ObjectReference::new(NS, "h"),
            });
        },
    ),
    (
        "VirtV2vImageNotValid",
        "NotValid",
        Category::Critical,
        |s| s.spec().virt_v2v_image = "virt-v2v".into(),
    ),
    (
        "VDDKInitImageUnavailable",
        "NotSet",
        Category::Critical,
        |s| s.spec().warm = true,
    ),
    (
        "UnsupportedVersion",
        "NotSupported",
        Category::Critical,
        |s| {
            s.set_kind(ProviderType::OpenShift);
            s.source.ext = Some(ProviderExt::Kubevirt {
                feature_gates: vec![],
                kubernetes_version: "1.25.4".into(),
            });
            s.vm().nics[0].network = NicNetwork {
                id: "net-1".into(),
                ..Default::default()
            };
        },
    ),
    ("NotValid", "", Category::Critical, |s| {
        s.spec().conversion_temp_storage_class = "standard".into()
    }),
    ("SSHNotReady", "ProviderSSHNotReady", Category::Warn, |s| {
        ssh_offload(s, false)
    }),
    ("SSHReady", "ProviderSSHReady", Category::Advisory, |s| {
        ssh_offload(s, true)
    }),
    ("RestrictedPodSecurity", "", Category::Warn, |s| {
        s.settings.controller_namespace_restricted = true
    }),
    ("Archived", "UserRequested", Category::Advisory, |s| {
        s.spec().archived = true
    }),
    // §2.3 per VM
    ("VMRefNotValid", "NotSet", Category::Critical, |s| {
        s.spec().vms.push(PlanVm::default())
    }),
    ("VMNotFound", "NotFound", Category::Critical, |s| {
        s.spec().vms[0].id = "vm-404".into()
    }),
    ("DuplicateVM", "NotUnique", Category::Critical, |s| {
        s.spec().vms.push(PlanVm::by_name("web"))
    }),
    ("DuplicateVM", "Ambiguous", Category::Critical, |s| {
        s.add_vm("vm-2");
        s.source.vms[1].name = "web".into();
        s.spec().vms = vec![PlanVm::by_name("web")];
    }),
    ("VMAlreadyExists", "NotUnique", Category::Critical, |s| {
        s.dest().virtual_machines.push(DestinationVm {
            namespace: TARGET.into(),
            name: "web".into(),
            ..Default::default()
        });
    }),
    ("TargetNameNotValid", "NotValid", Category::Warn, |s| {
        s.vm().name = "Web_Server".into()
    }),
    ("NotValid", "", Category::Critical, |s| {
        s.spec().vms[0].target_name = "Bad_Name".into()
    }),
    ("VMNetworksNotMapped", "NotValid", Category::Critical, |s| {
        s.vm().nics[0].network.id = "net-9".into()
    }),
    (
        "VMMultiplePodNetworkMappings",
        "NotValid",
        Category::Critical,
        |s| {
            s.network_maps[0].spec.map[0].destination = NetworkDestination::default();
            let nic = s.vm().nics[0].clone();
            s.vm().nics.push(nic);
        },
    ),
    ("VMStorageNotMapped", "NotValid", Category::Critical, |s| {
        s.vm().disks[0].storage = "ds-9".into()
    }),
    ("HostNotReady", "InMaintenanceMode", Category::Warn, |s| {
        s.source.hosts[0].in_maintenance = true
    }),
    (
        "VMMissingGuestIPs",
        "MissingGuestInformation",
        Category::Warn,
        |s| s.vm().guest_networks.clear(),
    ),
    // Upstream's shared disk conditions carry no reason.
    ("SharedDisks-vm-1", "", Category::Critical, |s| {
        s.vm().disks[0].shared = true;
        s.add_vm("vm-2");
        s.spec().vms.pop();
    }),
    ("SharedWarnDisks-vm-1", "", Category::Warn, |s| {
        s.vm().disks[0].shared = true;
        s.add_vm("vm-2");
        s.source.vms[1].power_state = PowerState::Off;
    }),
    (
        "VMMissingChangedBlockTracking",
        "MissingChangedBlockTracking",
        Category::Critical,
        |s| {
            s.spec().warm = true;
            s.settings.vddk_image = "quay.io/x/vddk:8".into();
            s.vm().change_tracking_enabled = false;
        },
    ),
    (
        "VMIpNotMatchingUdnSubnet",
        "NotValid",
        Category::Warn,
        |s| {
            s.settings.feature_static_udn_ip_addresses = true;
            s.network_maps[0].spec.map[0].destination = NetworkDestination::default();
            let dest = s.dest();
            dest.namespaces[0].labels.insert(
                "k8s.ovn.org/primary-user-defined-network".into(),
                String::new(),
            );
            let nad = &mut dest.network_attachment_definitions[0];
            nad.labels
                .insert("k8s.ovn.org/user-defined-network".into(), String::new());
            nad.config = r#"{"type":"ovn-k8s-cni-overlay","topology":"layer2","allowPersistentIPs":true,"subnets":"10.100.0.0/16"}"#.into();
        },
    ),
    ("VMHasSnapshots", "NotValid", Category::Critical, |s| {
        s.spec().warm = true;
        s.settings.vddk_image = "quay.io/x/vddk:8".into();
        s.vm().snapshot_count = 1;
    }),
    (
        "VMConsolidationNeeded",
        "ConsolidationNeeded",
        Category::Warn,
        |s| {
            s.spec().warm = true;
            s.settings.vddk_image = "quay.io/x/vddk:8".into();
            s.vm().consolidation_needed = true;
        },
    ),
    ("UnsupportedOVFExportSource", "", Category::Warn, |s| {
        s.vm().concerns.push(Concern {
            id: "ova.source.unsupported".into(),
            ..Default::default()
        });
    }),
    (
        "VMPowerStateUnsupported",
        "NotSupported",
        Category::Critical,
        |s| {
            kubevirt_live(s);
            s.vm().ext = Some(VmExt::Kubevirt(KubevirtVmExt {
                storage_live_migratable: true,
                ..Default::default()
            }));
        },
    ),
    (
        "VMMigrationTypeUnsupported",
        "NotSupported",
        Category::Critical,
        |s| {
            kubevirt_live(s);
            s.vm().ext = Some(VmExt::Kubevirt(KubevirtVmExt {
                instance_running: true,
                ..Default::default()
            }));
        },
    ),
    ("GuestToolsIssue", "NotValid", Category::Critical, |s| {
        s.vm().guest_tools = ToolsStatus::NotInstalled
    }),
    ("InvalidDiskSizes", "NotValid", Category::Critical, |s| {
        s.vm().disks[0].capacity = 0
    }),
    ("MacConflicts", "NotValid", Category::Critical, |s| {
        s.dest().virtual_machines.push(DestinationVm {
            namespace: "other".into(),
            name: "x".into(),
            macs: vec!["00:50:56:AA:BB:01".into()],
            ..Default::default()
        });
    }),
    (
        "MissingPvcForOnlyConversion",
        "NotValid",
        Category::Critical,
        |s| s.spec().type_ = Some(MigrationType::Conversion),
    ),
    (
        "LuksAndClevisIncompatibility",
        "NotValid",
        Category::Warn,
        |s| {
            s.spec().vms[0].luks = Some(ObjectReference::new(NS, "keys"));
            s.spec().vms[0].nbde_clevis = true;
        },
    ),
    (
        "VDDKAndOffloadMixedUsage",
        "NotSupported",
        Category::Critical,
        |s| {
            s.source.storages.push(Storage {
                id: "ds-2".into(),
                name: "ds2".into(),
                ..Default::default()
            });
            let mut offloaded = s.storage_maps[0].spec.map[0].clone();
            offloaded.source = Ref::by_id("ds-2");
            offloaded.offload_plugin = Some(xcopy());
            s.storage_maps[0].spec.map.push(offloaded);
            s.settings.feature_copy_offload = true;
        },
    ),
    (
        "CopyOffloadDisabled",
        "NotSupported",
        Category::Critical,
        |s| s.storage_maps[0].spec.map[0].offload_plugin = Some(xcopy()),
    ),
    ("VMCriticalConcerns", "NotValid", Category::Critical, |s| {
        s.vm().concerns = crate::inventory::concerns::vsphere_concerns(&Vm {
            disks: vec![Disk::default()],
            ..Default::default()
        });
    }),
    (
        "NetAppShiftDatastoreNASMissing",
        "NotValid",
        Category::Critical,
        |s| {
            s.dest().storage_classes[0]
                .annotations
                .insert("shift.netapp.io/storage-class-type".into(), "shift".into());
        },
    ),
    ("RDMDiskWarning", "NotSupported", Category::Warn, |s| {
        s.vm().disks[0].rdm = true
    }),
    (
        "IndependentDiskWarning",
        "NotSupported",
        Category::Warn,
        |s| s.vm().disks[0].mode = DiskMode::IndependentPersistent,
    ),
    // Ours: the guide's rules.
    (
        "PlanVMLimitExceeded",
        "NotSupported",
        Category::Critical,
        |s| s.settings.max_vms_per_plan = 0,
    ),
    (
        "PlanDiskLimitExceeded",
        "NotSupported",
        Category::Critical,
        |s| {
            let disk = s.vm().disks[0].clone();
            s.vm().disks = vec![disk; 501];
            for (i, d) in s.vm().disks.iter_mut().enumerate() {
                d.key = 2000 + i32::try_from(i).unwrap();
            }
        },
    ),
    ("VMHookLimitExceeded", "NotValid", Category::Critical, |s| {
        s.hooks.push(Hook::new(
            ObjectMeta::named(NS, "h"),
            HookSpec {
                image: "quay.io/a/b".into(),
                ..Default::default()
            },
        ));
        let hook = HookRef {
            step: HookStep::PreHook.to_string(),
            hook: ObjectReference::new(NS, "h"),
        };
        s.spec().vms[0].hooks = vec![hook.clone(), hook];
    }),
    ("HostNFCServiceMemory", "NotValid", Category::Warn, |s| {
        for i in 2..=11 {
            s.add_vm(&format!("vm-{i}"));
        }
    }),
    ("VMCdromMounted", "NotValid", Category::Warn, |s| {
        s.vm().cdroms.push(CdRom {
            iso: "[ds1] iso/rhel.iso".into(),
            connected: true,
            ..Default::default()
        });
    }),
    ("VMHibernated", "NotSupported", Category::Critical, |s| {
        s.vm().hibernated = true
    }),
    ("VMNvmeDisk", "NotSupported", Category::Critical, |s| {
        s.vm().disks[0].bus = DiskBus::Nvme
    }),
    (
        "VMVsanWithoutVDDK",
        "NotSupported",
        Category::Critical,
        |s| {
            s.source.storages[0].ext = Some(StorageExt::Vsphere(VsphereDatastoreExt {
                datastore_type: DatastoreType::Vsan,
                ..Default::default()
            }));
        },
    ),
    ("VMMeasuredBoot", "NotSupported", Category::Critical, |s| {
        s.vm().measured_boot = true
    }),
    ("VMSecureBoot", "NotSupported", Category::Warn, |s| {
        s.vm().secure_boot = true
    }),
    (
        "VMNicWithoutIP",
        "MissingGuestInformation",
        Category::Warn,
        |s| {
            let mut nic = s.vm().nics[0].clone();
            nic.mac = "00:50:56:aa:bb:02".into();
            s.vm().nics.push(nic);
        },
    ),
    (
        "StorageClassNoProvisioner",
        "NotSupported",
        Category::Critical,
        |s| {
            s.set_kind(ProviderType::OVirt);
            s.dest().storage_classes[0].provisioner = "kubernetes.io/no-provisioner".into();
        },
    ),
    (
        "LuksNotSupported",
        "NotSupported",
        Category::Critical,
        |s| {
            s.set_kind(ProviderType::OVirt);
            s.spec().vms[0].luks = Some(ObjectReference::new(NS, "keys"));
        },
    ),
    (
        "VMIncrementalBackupDisabled",
        "NotSupported",
        Category::Critical,
        |s| {
            s.set_kind(ProviderType::OVirt);
            s.settings.feature_ovirt_warm_migration = true;
            s.spec().warm = true;
            s.vm().change_tracking_enabled = false;
        },
    ),
];

/// Copy offload cloning over SSH, with the ESXi host's SSH `ready` or not.
fn ssh_offload(s: &mut Scenario, ready: bool) {
    s.providers[0]
        .spec
        .settings
        .insert("esxiCloneMethod".into(), "ssh".into());
    s.storage_maps[0].spec.map[0].offload_plugin = Some(xcopy());
    s.source.hosts[0].ext = Some(HostExt::Vsphere(VsphereHostExt {
        ssh_ready: Some(ready),
        ..Default::default()
    }));
}

fn xcopy() -> OffloadPlugin {
    OffloadPlugin {
        vsphere_xcopy_config: Some(VsphereXcopyConfig {
            secret_ref: "array".into(),
            storage_vendor_product: StorageVendor::Ontap,
            dedicated_migration_hosts: vec![],
        }),
        csi_volume_import: None,
    }
}

fn kubevirt_live(s: &mut Scenario) {
    s.set_kind(ProviderType::OpenShift);
    s.settings.feature_ocp_live_migration = true;
    s.spec().type_ = Some(MigrationType::Live);
    s.source.ext = Some(ProviderExt::Kubevirt {
        feature_gates: vec!["DecentralizedLiveMigration".into()],
        kubernetes_version: "1.31.0".into(),
    });
    s.dest()
        .kubevirt
        .feature_gates
        .push("DecentralizedLiveMigration".into());
}

#[test]
fn every_condition_triggers_on_its_scenario_and_not_on_the_baseline() {
    let base = baseline().run();
    let mut failures = Vec::new();
    for (type_, why, category, mutate) in CASES {
        let hit = |c: &Condition| c.type_ == *type_ && c.reason == *why;
        if base.iter().any(hit) {
            failures.push(format!("{type_}/{why}: raised on the baseline"));
        }
        let mut scenario = baseline();
        mutate(&mut scenario);
        let found = scenario.run();
        match found.iter().find(|c| hit(c)) {
            None => failures.push(format!(
                "{type_}/{why}: not raised; got {:?}",
                types(&found)
            )),
            Some(c) if c.category != *category => {
                failures.push(format!(
                    "{type_}/{why}: category {} instead of {category}",
                    c.category
                ));
            }
            Some(c) => {
                if c.is_blocker() && is_ready(&found) {
                    failures.push(format!("{type_}/{why}: blocker but ready"));
                }
                if c.is_blocker() && found.iter().any(|c| c.type_ == "Ready") {
                    failures.push(format!("{type_}/{why}: blocker with Ready"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn vm_items_use_upstream_reference_format() {
    let mut s = baseline();
    s.vm().disks[0].capacity = -1;
    s.vm().concerns.push(Concern {
        id: "x".into(),
        category: ConcernCategory::Critical,
        label: "Bad thing".into(),
        ..Default::default()
    });
    let found = s.run();
    let sizes = found
        .iter()
        .find(|c| c.type_ == "InvalidDiskSizes")
        .unwrap();
    assert_eq!(sizes.items, ["id:vm-1 name:'web' "]);
    let concerns = found
        .iter()
        .find(|c| c.type_ == "VMCriticalConcerns")
        .unwrap();
    assert_eq!(concerns.items, ["id:vm-1 name:'web'  (Bad thing)"]);

    // The type prefix appears only when set; the inventory's ID and name replace what the plan
    // gave once the VM is found.
    let mut s = baseline();
    s.vm().disks[0].capacity = 0;
    s.spec().vms[0] = PlanVm::by_name("web");
    s.spec().vms[0].type_ = "VirtualMachine".into();
    let sizes = s.run().into_iter().find(|c| c.type_ == "InvalidDiskSizes");
    assert_eq!(
        sizes.map(|c| c.items),
        Some(vec!["(VirtualMachine) id:vm-1 name:'web' ".to_owned()])
    );

    // Not found: the reference as given; an empty reference: no items, as upstream.
    let mut s = baseline();
    s.spec().vms.push(PlanVm::by_name("ghost"));
    s.spec().vms.push(PlanVm::default());
    let found = s.run();
    let items = |t: &str| found.iter().find(|c| c.type_ == t).map(|c| c.items.clone());
    assert_eq!(
        items("VMNotFound"),
        Some(vec!["id: name:'ghost' ".to_owned()])
    );
    assert_eq!(items("VMRefNotValid"), Some(Vec::new()));
}

#[test]
fn provider_not_ready_stops_everything_else() {
    let mut s = baseline();
    s.providers[0].status = Some(ProviderStatus {
        conditions: vec![Condition::new("X", Category::Critical)],
        ..Default::default()
    });
    s.spec().target_namespace.clear();
    assert_eq!(types(&s.run()), ["SourceProviderNotReady/Critical/"]);
}

#[test]
fn blockers_in_maps_skip_context_checks_but_collect_all_map_problems() {
    let mut s = baseline();
    s.spec().target_namespace = "Bad_NS".into();
    s.spec().map.storage.name = "nope".into();
    s.vm().disks[0].capacity = 0;
    let found = types(&s.run());
    assert!(found.contains(&"NamespaceNotValid/Critical/NotValid".to_owned()));
    assert!(found.contains(&"StorageRefNotValid/Critical/NotFound".to_owned()));
    assert!(
        !found.iter().any(|t| t.starts_with("InvalidDiskSizes")),
        "{found:?}"
    );
}

#[test]
fn many_problems_are_all_collected() {
    let mut s = baseline();
    s.vm().disks[0].capacity = 0;
    s.vm().hibernated = true;
    s.vm().guest_tools = ToolsStatus::NotInstalled;
    s.spec().vms.push(PlanVm::by_id("vm-404"));
    let found = types(&s.run());
    for expected in [
        "VMNotFound",
        "GuestToolsIssue",
        "InvalidDiskSizes",
        "VMHibernated",
    ] {
        assert!(
            found.iter().any(|t| t.starts_with(expected)),
            "{expected} missing from {found:?}"
        );
    }
    assert!(!found.iter().any(|t| t.starts_with("Ready")));
}

#[test]
fn without_destination_inventory_destination_checks_are_skipped() {
    let mut s = baseline();
    s.dest = None;
    s.spec().service_account = "migrator".into();
    assert_eq!(types(&s.run()), ["Ready/Required/"]);
}

#[test]
fn ova_dummy_storage_maps_every_disk() {
    let mut s = baseline();
    s.set_kind(ProviderType::Ova);
    s.source.storages = vec![Storage {
        id: "d-1".into(),
        name: "disk1.vmdk".into(),
        kind: StorageKind::OvaDisk,
        ..Default::default()
    }];
    s.vm().disks[0].id = "d-1".into();
    s.vm().disks[0].storage = "d-1".into();
    s.storage_maps[0].spec.map[0].source = Ref::by_name("Dummy storage for source provider source");
    assert_eq!(types(&s.run()), ["Ready/Required/"]);
    s.storage_maps[0].spec.map[0].source = Ref::by_name("Dummy storage for source provider other");
    assert!(
        types(&s.run())
            .iter()
            .any(|t| t.starts_with("VMStorageNotMapped"))
    );
}

#[test]
fn two_not_valid_causes_yield_one_condition_the_one_upstream_sets_last() {
    // Per VM, upstream sets NotValid(PVC template) before NotValid(targetName).
    let mut s = baseline();
    s.spec().vms[0].pvc_name_template = "{{.VmName}}_disk{{.DiskIndex}}".into();
    s.spec().vms[0].target_name = "Not_Valid".into();
    let found = s.run();
    let not_valid: Vec<&Condition> = found.iter().filter(|c| c.type_ == "NotValid").collect();
    assert_eq!(not_valid.len(), 1, "{:?}", types(&found));
    assert_eq!(not_valid[0].message, "TargetName is invalid.");
    assert_eq!(not_valid[0].items, ["id:vm-1 name:'web' "]);

    // validateConversionTempStorage runs after validateVM: its NotValid replaces the VM's, in
    // the place the type first took.
    s.spec().conversion_temp_storage_class = "standard".into();
    let found = s.run();
    let not_valid: Vec<&Condition> = found.iter().filter(|c| c.type_ == "NotValid").collect();
    assert_eq!(not_valid.len(), 1, "{:?}", types(&found));
    assert!(
        not_valid[0].message.contains("must be set together"),
        "{}",
        not_valid[0].message
    );
    assert!(not_valid[0].items.is_empty());
    let mut seen = std::collections::HashSet::new();
    assert!(
        found.iter().all(|c| seen.insert(c.type_.as_str())),
        "one condition per type: {:?}",
        types(&found)
    );
}

#[test]
fn duplicate_vm_variants_keep_the_last_set() {
    // DuplicateVM(NotUnique, source) is set before DuplicateVM(Ambiguous).
    let mut s = baseline();
    s.add_vm("vm-2");
    s.source.vms[1].name = "web".into();
    s.spec().vms = vec![
        PlanVm::by_id("vm-1"),
        PlanVm::by_id("vm-1"),
        PlanVm::by_name("web"),
    ];
    let found = s.run();
    let dup: Vec<&Condition> = found.iter().filter(|c| c.type_ == "DuplicateVM").collect();
    assert_eq!(dup.len(), 1, "{:?}", types(&found));
    assert_eq!(dup[0].reason, "Ambiguous");
    assert_eq!(dup[0].items, ["id: name:'web' "]);
}

#[test]
fn a_plan_with_an_unknown_hook_step_loads_and_fails_validation() {
    let text = r#"
apiVersion: forklift.konveyor.io/v1beta1
kind: Plan
metadata: {name: p, namespace: openshift-mtv}
spec:
  targetNamespace: target
  provider:
    source: {name: source, namespace: openshift-mtv}
    destination: {name: host, namespace: openshift-mtv}
  map:
    network: {name: net, namespace: openshift-mtv}
    storage: {name: sto, namespace: openshift-mtv}
  vms:
    - id: vm-1
      hooks:
        - step: Cutover
          hook: {name: h, namespace: openshift-mtv}
        - step: PostHook
          hook: {name: h, namespace: openshift-mtv}
"#;
    let (objects, diagnostics) = crate::manifest::parse_str("plan.yaml", text);
    assert!(diagnostics.iter().all(|d| !d.is_error()), "{diagnostics:?}");
    let Some(crate::manifest::Object::Plan(plan)) = objects.first().map(|o| o.object.clone())
    else {
        panic!("no plan in {objects:?}");
    };
    assert_eq!(plan.spec.vms[0].hooks[0].step, "Cutover");
    assert_eq!(plan.spec.vms[0].hooks[0].step(), None);
    assert_eq!(plan.spec.vms[0].hooks[1].step(), Some(HookStep::PostHook));

    let mut s = baseline();
    s.hooks.push(Hook::new(
        ObjectMeta::named(NS, "h"),
        HookSpec {
            image: "quay.io/a/b".into(),
            ..Default::default()
        },
    ));
    s.spec().vms[0].hooks = plan.spec.vms[0].hooks.clone();
    let found = s.run();
    let step = found
        .iter()
        .find(|c| c.type_ == "HookStepNotValid")
        .unwrap_or_else(|| panic!("{:?}", types(&found)));
    assert_eq!(
        (step.category, step.reason.as_str(), step.message.as_str()),
        (Category::Critical, "NotValid", "Hook step not valid.")
    );
    assert_eq!(step.items, ["VM: id:vm-1 name:'web'  step: Cutover"]);
    assert!(!is_ready(&found));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn kinds() -> impl Strategy<Value = ProviderType> {
        // Every type, EC2 and Nutanix included: validation must be total over them too.
        prop::sample::select(ProviderType::ALL)
    }

    fn migration_type() -> impl Strategy<Value = Option<MigrationType>> {
        prop_oneof![
            Just(None),
            Just(Some(MigrationType::Cold)),
            Just(Some(MigrationType::Warm)),
            Just(Some(MigrationType::Live)),
            Just(Some(MigrationType::Conversion)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever the inputs, validation returns, `Ready` appears exactly when nothing blocks,
        /// and every condition is true with a type.
        #[test]
        fn validation_is_total_and_ready_means_no_blocker(
            kind in kinds(),
            type_ in migration_type(),
            warm in any::<bool>(),
            ids in proptest::collection::vec("vm-[0-9]|web|", 0..6),
            capacities in proptest::collection::vec(-2i64..3, 0..4),
            shared in any::<bool>(),
            network in "net-[0-2]|",
            storage in "ds-[0-2]|",
            target in "[a-z_]{0,5}",
            dest_known in any::<bool>(),
        ) {
            let mut s = baseline();
            s.set_kind(kind);
            s.spec().type_ = type_;
            s.spec().warm = warm;
            s.spec().target_namespace = target;
            s.spec().vms = ids.iter().map(|id| if id == "web" { PlanVm::by_name("web") } else { PlanVm::by_id(id.as_str()) }).collect();
            s.vm().disks = capacities.iter().map(|&c| Disk { capacity: c, shared, storage: storage.clone(), file: "[ds] a.vmdk".into(), ..Default::default() }).collect();
            s.vm().nics[0].network.id = network;
            s.add_vm("vm-2");
            if !dest_known {
                s.dest = None;
            }
            let found = s.run();
            let ready = found.iter().any(|c| c.type_ == "Ready");
            prop_assert_eq!(ready, is_ready(&found) && !s.plan.spec.archived);
            prop_assert!(found.iter().all(|c| c.is_true() && !c.type_.is_empty()));
        }
    }
}

#[test]
fn naming_templates_are_validated_with_upstream_messages_and_items() {
    let messages = |s: &Scenario| -> Vec<(String, Vec<String>)> {
        s.run()
            .into_iter()
            .filter(|c| c.type_ == "NotValid")
            .map(|c| (c.message, c.items))
            .collect()
    };
    assert!(messages(&baseline()).is_empty());

    let mut s = baseline();
    s.spec().vms[0].pvc_name_template = "{{.VmName}}_disk{{.DiskIndex}}".into();
    let found = messages(&s);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "VM PVC name template is invalid.");
    assert!(
        found[0].1[0]
            .starts_with("id:vm-1 name:'web'  template:{{.VmName}}_disk{{.DiskIndex}} error:"),
        "{:?}",
        found[0].1
    );

    let mut s = baseline();
    s.spec().pvc_name_template = "{{.PlanName}}-{{.VmName}}-{{.FileName}}".into();
    assert_eq!(
        messages(&s)[0].0,
        "VM PVC name template is invalid.",
        "`.vmdk` has a dot"
    );
    s.spec().pvc_name_template = "{{.PlanName}}-{{.VmName}}-{{.DiskIndex}}".into();
    assert!(messages(&s).is_empty());

    let mut s = baseline();
    s.spec().vms[0].network_name_template = "{{.NetworkName".into();
    let found: Vec<String> = messages(&s).into_iter().map(|(m, _)| m).collect();
    assert_eq!(found, ["VM network name template is invalid."]);
    // The plan-level check runs after the VM checks, so its NotValid is the one that stays.
    s.spec().volume_name_template = "Vol-{{.VolumeIndex}}".into();
    let found: Vec<String> = messages(&s).into_iter().map(|(m, _)| m).collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("Volume name template is invalid"),
        "{found:?}"
    );
}

/// Validation settings from a ForkliftController with this `spec`, loaded as manifests are.
fn from_controller(spec: &str) -> Settings {
    let yaml = format!(
        "apiVersion: forklift.konveyor.io/v1beta1\nkind: ForkliftController\n\
         metadata: {{name: forklift-controller, namespace: {NS}}}\nspec: {spec}\n"
    );
    let set = crate::manifest::ManifestSet::parse("controller.yaml", &yaml);
    let controller = set
        .all::<crate::resources::ForkliftController>()
        .next()
        .unwrap();
    Settings::from_controller(&controller.spec)
}

/// A manifest set with one Plan, its source Provider and `extra` documents.
fn bundle(extra: &str) -> PlanBundle {
    let yaml = format!(
        "apiVersion: forklift.konveyor.io/v1beta1\nkind: Plan\n\
         metadata: {{name: p, namespace: {NS}}}\n\
         spec: {{provider: {{source: {{name: vcenter}}, destination: {{name: host}}}}, \
         map: {{network: {{name: net}}, storage: {{name: disks}}}}, targetNamespace: vms, \
         vms: [{{id: vm-1}}]}}\n\
         ---\napiVersion: forklift.konveyor.io/v1beta1\nkind: Provider\n\
         metadata: {{name: vcenter, namespace: {NS}}}\nspec: {{type: vsphere}}\n{extra}"
    );
    let set = crate::manifest::ManifestSet::parse("bundle.yaml", &yaml);
    PlanBundle::select(&set, None).unwrap()
}

#[test]
fn a_bundles_settings_come_from_its_forklift_controller_or_upstreams_defaults() {
    let without = bundle("");
    assert_eq!(Settings::for_bundle(&without), Settings::default());
    assert!(!Settings::for_bundle(&without).feature_copy_offload);

    let with = bundle(&format!(
        "---\napiVersion: forklift.konveyor.io/v1beta1\nkind: ForkliftController\n\
         metadata: {{name: forklift-controller, namespace: {NS}}}\n\
         spec: {{feature_copy_offload: 'true', feature_ocp_live_migration: 'false'}}\n"
    ));
    let settings = Settings::for_bundle(&with);
    assert!(settings.feature_copy_offload);
    assert!(!settings.feature_ocp_live_migration);
    assert_eq!(settings, Settings::from_controller(&with.settings));
}

#[test]
fn a_bundles_resources_are_the_objects_of_its_set() {
    let bundle = bundle("");
    let resources = PlanResources::of(&bundle);
    assert_eq!(resources.providers, bundle.providers.as_slice());
    assert_eq!(resources.providers.len(), 1);
    assert!(resources.network_maps.is_empty() && resources.hooks.is_empty());
}

#[test]
fn copy_offload_and_live_migration_are_refused_unless_the_controller_turns_them_on() {
    let cases: [(&str, Mutation); 2] = [
        ("CopyOffloadDisabled", |s| {
            s.storage_maps[0].spec.map[0].offload_plugin = Some(xcopy());
        }),
        ("MigrationTypeNotValid", kubevirt_live),
    ];
    let off = [
        ("defaults (no ForkliftController)", Settings::default()),
        (
            "gates set to \"false\"",
            from_controller("{feature_copy_offload: 'false', feature_ocp_live_migration: 'false'}"),
        ),
    ];
    let on = [
        (
            "gates set to \"true\"",
            from_controller("{feature_copy_offload: 'true', feature_ocp_live_migration: 'true'}"),
        ),
        // The API server fills the CRD default "true" into a ForkliftController that omits them.
        ("gates omitted", from_controller("{olm_managed: true}")),
    ];
    for (blocker, mutate) in cases {
        for (label, settings) in off.iter().chain(&on) {
            let mut scenario = baseline();
            mutate(&mut scenario);
            scenario.settings = settings.clone();
            let found = scenario.run();
            let refused = found.iter().any(|c| c.type_ == blocker && c.is_blocker());
            let expect_refused = off.iter().any(|(l, _)| l == label);
            assert_eq!(
                refused,
                expect_refused,
                "{blocker} with {label}: {:?}",
                types(&found)
            );
        }
    }
    let mut offloaded = baseline();
    offloaded.storage_maps[0].spec.map[0].offload_plugin = Some(xcopy());
    offloaded.settings = on[0].1.clone();
    let found = offloaded.run();
    assert!(is_ready(&found), "{:?}", types(&found));
}

#[test]
fn gates_default_as_upstream_without_a_controller() {
    let s = Settings::default();
    assert!(!s.feature_copy_offload);
    assert!(!s.feature_ocp_live_migration);
    assert!(!s.feature_ovirt_warm_migration);
    assert!(!s.feature_static_udn_ip_addresses);
    let c = from_controller(
        "{controller_ovirt_warm_migration: 'true', controller_static_udn_ip_addresses: 'false', \
         vddk_image: quay.io/x/vddk:8, controller_migration_service_account: migrator}",
    );
    assert!(c.feature_ovirt_warm_migration);
    assert!(!c.feature_static_udn_ip_addresses);
    assert_eq!(c.vddk_image, "quay.io/x/vddk:8");
    assert_eq!(c.migration_service_account, "migrator");
    assert_eq!(c.max_vms_per_plan, s.max_vms_per_plan);
}
