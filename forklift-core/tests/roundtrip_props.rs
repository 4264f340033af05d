//! Property tests: any set of objects saved as YAML or JSON loads back equal, with no error
//! and no unknown field, whatever the strings hold (YAML 1.1 booleans, numbers, quotes,
//! control and line-break characters, non-ASCII text).

use forklift_core::manifest::{DiagnosticCode, ManifestSet, Object};
use forklift_core::resources::*;
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9][a-z0-9.-]{0,14}",
        2 => any::<String>(),
        1 => prop::sample::select(vec![
            "on", "off", "yes", "No", "TRUE", "null", "~", "1", "1:30", "0x1f", "1e3", ".5",
            "2026-01-02", "- item", "a: b", "# c", "{x}", "[y]", "*ref", "&anchor", "!tag",
            "'q'", "\"dq\"", "multi\nline", "tab\there", "nel\u{85}", "ls\u{2028}", "<placeholder>",
            "", " ", "=", "<<", "ünïcödé", "日本語",
        ])
        .prop_map(str::to_owned),
    ]
}

fn labels() -> impl Strategy<Value = BTreeMap<String, String>> {
    btree_map(text(), text(), 0..3)
}

/// Namespaces the API server accepts (DNS-1123 labels; loading refuses any other), YAML 1.1
/// look-alikes included so saving must quote them.
fn namespace() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?",
        prop::sample::select(vec![
            "on", "off", "yes", "n", "y", "1", "0x1f", "1e3", "null"
        ])
        .prop_map(str::to_owned),
    ]
}

fn meta(index: usize) -> impl Strategy<Value = ObjectMeta> {
    (
        option::of(namespace()),
        labels(),
        labels(),
        option::of(text()),
    )
        .prop_map(move |(namespace, labels, annotations, uid)| ObjectMeta {
            // Unique names keep the objects distinct in the set.
            name: Some(format!("object-{index}")),
            namespace,
            labels,
            annotations,
            uid,
            ..ObjectMeta::default()
        })
}

fn object_ref() -> impl Strategy<Value = ObjectReference> {
    (text(), text(), text()).prop_map(|(namespace, name, kind)| ObjectReference {
        namespace,
        name,
        kind,
        ..ObjectReference::default()
    })
}

fn inventory_ref() -> impl Strategy<Value = Ref> {
    (text(), text(), text(), text()).prop_map(|(id, name, namespace, type_)| Ref {
        id,
        name,
        namespace,
        type_,
    })
}

fn pair() -> impl Strategy<Value = ProviderPair> {
    (object_ref(), object_ref()).prop_map(|(source, destination)| ProviderPair {
        source,
        destination,
    })
}

fn plan_vm() -> impl Strategy<Value = PlanVm> {
    (
        inventory_ref(),
        option::of(prop::sample::select(TargetPowerState::ALL.to_vec())),
        (
            any::<bool>(),
            option::of(any::<bool>()),
            option::of(any::<bool>()),
        ),
        (text(), text(), option::of(object_ref())),
        vec(
            (
                // Valid steps and any other text: the CRD types `step` as a plain string.
                prop_oneof![
                    prop::sample::select(HookStep::NAMES.to_vec()).prop_map(str::to_owned),
                    text(),
                ],
                object_ref(),
            ),
            0..2,
        ),
    )
        .prop_map(
            |(r, power, (clevis, shared, nested), (target, pvc, luks), hooks)| PlanVm {
                id: r.id,
                name: r.name,
                namespace: r.namespace,
                type_: r.type_,
                target_power_state: power,
                nbde_clevis: clevis,
                migrate_shared_disks: shared,
                enable_nested_virtualization: nested,
                target_name: target,
                pvc_name_template: pvc,
                luks,
                hooks: hooks
                    .into_iter()
                    .map(|(step, hook)| HookRef { step, hook })
                    .collect(),
                ..PlanVm::default()
            },
        )
}

fn plan(index: usize) -> impl Strategy<Value = Object> {
    (
        meta(index),
        (text(), pair(), object_ref(), object_ref()),
        vec(plan_vm(), 0..4),
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
        option::of(prop::sample::select(MigrationType::ALL.to_vec())),
        (
            labels(),
            option::of(text().prop_map(|key| Affinity {
                node_affinity: Some(NodeAffinity {
                    required: Some(NodeSelector {
                        node_selector_terms: vec![NodeSelectorTerm {
                            match_expressions: vec![NodeSelectorRequirement {
                                key,
                                operator: "In".into(),
                                values: vec!["a".into()],
                            }],
                            match_fields: Vec::new(),
                        }],
                    }),
                    preferred: Vec::new(),
                }),
                ..Affinity::default()
            })),
        ),
    )
        .prop_map(
            |(
                metadata,
                (ns, provider, network, storage),
                vms,
                bools,
                type_,
                (target_labels, target_affinity),
            )| {
                let (preserve, shared, delete, compat, warm) = bools;
                Object::Plan(Plan::new(
                    metadata,
                    PlanSpec {
                        target_namespace: ns,
                        provider,
                        map: MapRefs { network, storage },
                        vms,
                        preserve_static_ips: preserve,
                        migrate_shared_disks: shared,
                        delete_vm_on_fail_migration: delete,
                        use_compatibility_mode: compat,
                        warm,
                        type_,
                        target_labels,
                        target_affinity,
                        ..PlanSpec::default()
                    },
                ))
            },
        )
}

fn network_map(index: usize) -> impl Strategy<Value = Object> {
    (
        meta(index),
        pair(),
        vec(
            (
                inventory_ref(),
                option::of("[1-9][0-9]{0,2}"),
                prop::sample::select(NetworkDestinationType::ALL.to_vec()),
                text(),
                text(),
            ),
            0..4,
        ),
    )
        .prop_map(|(metadata, provider, pairs)| {
            let map = pairs
                .into_iter()
                .map(|(source, vlan, type_, namespace, name)| NetworkPair {
                    source: NetworkSource {
                        vlan,
                        ..source.into()
                    },
                    destination: NetworkDestination {
                        type_,
                        namespace,
                        name,
                    },
                })
                .collect();
            Object::NetworkMap(NetworkMap::new(metadata, NetworkMapSpec { provider, map }))
        })
}

fn storage_map(index: usize) -> impl Strategy<Value = Object> {
    (
        meta(index),
        pair(),
        vec(
            (
                inventory_ref(),
                text(),
                option::of(prop::sample::select(VolumeMode::ALL.to_vec())),
                option::of(prop::sample::select(AccessMode::ALL.to_vec())),
                option::of((
                    text(),
                    prop::sample::select(StorageVendor::ALL.to_vec()),
                    vec(text(), 0..2),
                )),
            ),
            0..4,
        ),
    )
        .prop_map(|(metadata, provider, pairs)| {
            let map = pairs
                .into_iter()
                .map(
                    |(source, storage_class, volume_mode, access_mode, xcopy)| StoragePair {
                        source,
                        destination: StorageDestination {
                            storage_class,
                            volume_mode,
                            access_mode,
                        },
                        offload_plugin: xcopy.map(|(secret_ref, vendor, hosts)| OffloadPlugin {
                            vsphere_xcopy_config: Some(VsphereXcopyConfig {
                                secret_ref,
                                storage_vendor_product: vendor,
                                dedicated_migration_hosts: hosts,
                            }),
                            csi_volume_import: None,
                        }),
                    },
                )
                .collect();
            Object::StorageMap(StorageMap::new(metadata, StorageMapSpec { provider, map }))
        })
}

fn provider(index: usize) -> impl Strategy<Value = Object> {
    (
        meta(index),
        option::of(prop::sample::select(ProviderType::ALL.to_vec())),
        text(),
        object_ref(),
        labels(),
    )
        .prop_map(|(metadata, type_, url, secret, settings)| {
            Object::Provider(Provider::new(
                metadata,
                ProviderSpec {
                    type_,
                    url,
                    secret,
                    settings,
                },
            ))
        })
}

fn secret(index: usize) -> impl Strategy<Value = Object> {
    (
        meta(index),
        btree_map(text(), vec(any::<u8>(), 0..40), 0..3),
        labels(),
    )
        .prop_map(|(metadata, data, string_data)| {
            let mut s = Secret::opaque(metadata, string_data);
            s.data = data.into_iter().map(|(k, v)| (k, SecretBytes(v))).collect();
            Object::Secret(s)
        })
}

fn controller(index: usize) -> impl Strategy<Value = Object> {
    (
        meta(index),
        any::<i32>(),
        any::<i32>(),
        any::<bool>(),
        any::<bool>(),
        option::of(text()),
        text(),
    )
        .prop_map(
            |(metadata, inflight, precopy, copy_offload, retain, vddk, osmap)| {
                let spec = ForkliftControllerSettings {
                    controller_max_vm_inflight: inflight,
                    controller_precopy_interval: precopy,
                    feature_copy_offload: copy_offload.into(),
                    controller_retain_precopy_importer_pods: retain.into(),
                    vddk_image: vddk,
                    vsphere_osmap_configmap_name: osmap,
                    ..ForkliftControllerSettings::default()
                };
                Object::ForkliftController(ForkliftController::new(metadata, spec))
            },
        )
}

fn migration_or_hook(index: usize) -> impl Strategy<Value = Object> {
    prop_oneof![
        (
            meta(index),
            object_ref(),
            vec(inventory_ref(), 0..3),
            option::of(text()),
            any::<bool>()
        )
            .prop_map(|(metadata, plan, cancel, cutover, resume)| {
                let mut m = Migration::new(metadata, plan);
                m.spec.cancel = cancel;
                m.spec.cutover = cutover;
                m.spec.resume_conversion = resume;
                Object::Migration(m)
            }),
        (
            meta(index),
            text(),
            text(),
            any::<i64>(),
            option::of((1..1000i64, text()))
        )
            .prop_map(|(metadata, image, playbook, deadline, aap)| {
                Object::Hook(Hook::new(
                    metadata,
                    HookSpec {
                        image,
                        playbook,
                        deadline,
                        aap: aap.map(|(job_template_id, url)| AapConfig {
                            job_template_id,
                            url,
                            ..AapConfig::default()
                        }),
                        ..HookSpec::default()
                    },
                ))
            }),
    ]
}

fn objects() -> impl Strategy<Value = Vec<Object>> {
    vec(0..7usize, 1..6).prop_flat_map(|kinds| {
        kinds
            .into_iter()
            .enumerate()
            .map(|(i, kind)| match kind {
                0 => plan(i).boxed(),
                1 => network_map(i).boxed(),
                2 => storage_map(i).boxed(),
                3 => provider(i).boxed(),
                4 => secret(i).boxed(),
                5 => controller(i).boxed(),
                _ => migration_or_hook(i).boxed(),
            })
            .collect::<Vec<_>>()
    })
}

fn assert_reloads(set: &ManifestSet, text: &str, objects: &[Object]) -> Result<(), TestCaseError> {
    let again = ManifestSet::parse("saved", text);
    let problems: Vec<String> = again
        .diagnostics()
        .iter()
        .filter(|d| d.is_error() || d.code == DiagnosticCode::UnknownField)
        .map(ToString::to_string)
        .collect();
    prop_assert!(problems.is_empty(), "{problems:?}\n{text}");
    let loaded: Vec<&Object> = again.objects().collect();
    let expected: Vec<&Object> = objects.iter().collect();
    prop_assert_eq!(loaded, expected, "{}", text);
    prop_assert_eq!(again.len(), set.len());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn saved_yaml_and_json_load_back_equal(objects in objects()) {
        let mut set = ManifestSet::new();
        for object in &objects {
            prop_assert!(set.insert(object.clone()));
        }
        assert_reloads(&set, &set.to_yaml().unwrap(), &objects)?;
        assert_reloads(&set, &set.to_json().unwrap(), &objects)?;
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(text in any::<String>()) {
        let set = ManifestSet::parse("fuzz", &text);
        // Whatever loaded can be saved and loads back the same.
        let saved = set.to_yaml().unwrap();
        let again = ManifestSet::parse("saved", &saved);
        prop_assert_eq!(again.len(), set.len());
    }
}
