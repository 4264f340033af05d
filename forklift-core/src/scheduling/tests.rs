use std::time::Duration;

use super::*;
use crate::resources::ProviderType;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn guide_vms(host: Option<&str>) -> Vec<SchedVm> {
    vec![
        SchedVm::uniform("a", host, 5, 10 << 30),
        SchedVm::uniform("b", host, 5, 10 << 30),
        SchedVm::uniform("c", host, 6, 10 << 30),
    ]
}

#[test]
fn guide_example_limit_15_disks_the_16th_waits() {
    for source in [
        ProviderType::OVirt,
        ProviderType::OpenStack,
        ProviderType::OpenShift,
    ] {
        let policy = Policy::for_migration(source, false, true, 15);
        let mut sched = Scheduler::new(policy, guide_vms(None)).unwrap();
        let first = sched.admit();
        let admitted: usize = first.iter().map(|a| a.disks.len()).sum();
        assert_eq!(admitted, 15, "{source:?}");
        assert_eq!(first[2].vm, "c");
        assert_eq!(first[2].disks, vec![0, 1, 2, 3, 4]);
        assert_eq!(sched.waiting(), vec!["c"]);
        assert!(sched.admit().is_empty());
        // Any disk finishing, even of a VM with disks still running, frees the slot.
        sched.disk_finished("b", 3).unwrap();
        let next = sched.admit();
        assert_eq!(
            next,
            vec![Admission {
                vm: "c".into(),
                disks: vec![5],
                vm_started: false
            }]
        );
        assert!(sched.waiting().is_empty());
    }
}

#[test]
fn guide_example_limit_15_simulated() {
    let policy = Policy::for_migration(ProviderType::OVirt, false, true, 15);
    // Disk 0 of VM a is quick; everything else takes 100 s.
    let sim = simulate(policy, &guide_vms(None), |vm, d| {
        if vm.id == "a" && d == 0 {
            secs(7)
        } else {
            secs(100)
        }
    })
    .unwrap();
    assert_eq!(sim.disks.len(), 16);
    assert!(sim.disks[..15].iter().all(|r| r.start == Duration::ZERO));
    let last = &sim.disks[15];
    assert_eq!((last.vm.as_str(), last.disk, last.start), ("c", 5, secs(7)));
    assert_eq!(sim.makespan, secs(107));
    assert_eq!(
        sim.vms
            .iter()
            .map(|v| (v.vm.as_str(), v.start, v.end))
            .collect::<Vec<_>>(),
        [
            ("a", secs(0), secs(100)),
            ("b", secs(0), secs(100)),
            ("c", secs(0), secs(107))
        ]
    );
}

#[test]
fn guide_example_ova_limit_2_vms() {
    let policy = Policy::for_migration(ProviderType::Ova, false, true, 2);
    let mut sched = Scheduler::new(policy, guide_vms(None)).unwrap();
    let first = sched.admit();
    assert_eq!(
        first.iter().map(|a| a.vm.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(first[0].disks.len(), 5);
    // Finishing disks of A does not free anything until A is done.
    for d in 0..4 {
        sched.disk_finished("a", d).unwrap();
        assert!(sched.admit().is_empty());
    }
    sched.vm_finished("a").unwrap();
    let next = sched.admit();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].vm, "c");
    assert_eq!(next[0].disks.len(), 6);

    // Simulated: virt-v2v copies each VM's disks one after another; C starts when B (shorter
    // disks) completes.
    let sim = simulate(policy, &guide_vms(None), |vm, _| match vm.id.as_str() {
        "a" => secs(20),
        "b" => secs(10),
        _ => secs(5),
    })
    .unwrap();
    let c = sim.vms.iter().find(|v| v.vm == "c").unwrap();
    assert_eq!(c.start, secs(50));
    assert_eq!(c.end, secs(80));
    assert_eq!(sim.makespan, secs(100));
}

#[test]
fn vsphere_cold_local_counts_vms_per_host() {
    let policy = Policy::for_migration(ProviderType::VSphere, false, true, 1);
    assert_eq!((policy.unit, policy.scope), (Unit::Vm, Scope::PerHost));
    let vms = vec![
        SchedVm::uniform("a", Some("host-1"), 3, 1 << 30),
        SchedVm::uniform("b", Some("host-1"), 1, 1 << 30),
        SchedVm::uniform("c", Some("host-2"), 2, 1 << 30),
    ];
    let sim = simulate(policy, &vms, |_, _| secs(10)).unwrap();
    let starts: Vec<_> = sim.vms.iter().map(|v| (v.vm.as_str(), v.start)).collect();
    assert_eq!(starts, [("a", secs(0)), ("c", secs(0)), ("b", secs(30))]);
}

#[test]
fn vsphere_remote_and_warm_count_disks_per_host() {
    for (warm, local) in [(false, false), (true, true), (true, false)] {
        let policy = Policy::for_migration(ProviderType::VSphere, warm, local, 4);
        assert_eq!((policy.unit, policy.scope), (Unit::Disk, Scope::PerHost));
        let vms = vec![
            SchedVm::uniform("a", Some("h1"), 3, 1 << 30),
            SchedVm::uniform("b", Some("h1"), 2, 1 << 30),
            SchedVm::uniform("c", Some("h1"), 1, 1 << 30),
            SchedVm::uniform("d", Some("h2"), 4, 1 << 30),
        ];
        let mut sched = Scheduler::new(policy, vms).unwrap();
        // b (2 disks) does not fit next to a (3) on h1; c (1 disk) does; d is on another host.
        let first: Vec<_> = sched.admit().into_iter().map(|a| a.vm).collect();
        assert_eq!(first, ["a", "c", "d"]);
        sched.disk_finished("a", 0).unwrap();
        assert!(sched.admit().is_empty(), "3 of 4 in use, b needs 2");
        sched.disk_finished("c", 0).unwrap();
        assert_eq!(sched.admit()[0].vm, "b");
        assert_eq!(sched.in_flight()[&Some("h1".to_owned())], 4);
    }
}

#[test]
fn vsphere_over_budget_vm_runs_alone_on_idle_host() {
    let policy = Policy::for_migration(ProviderType::VSphere, true, true, 2);
    let vms = vec![
        SchedVm::uniform("small", Some("h"), 1, 1),
        SchedVm::uniform("big", Some("h"), 5, 1),
    ];
    let sim = simulate(policy, &vms, |vm, _| {
        if vm.id == "small" { secs(3) } else { secs(10) }
    })
    .unwrap();
    let big = sim.vms.iter().find(|v| v.vm == "big").unwrap();
    assert_eq!(big.start, secs(3));
    assert_eq!(sim.makespan, secs(13));
}

#[test]
fn external_load_counts_against_the_budget() {
    let policy = Policy::for_migration(ProviderType::OVirt, false, true, 3);
    let mut sched = Scheduler::new(policy, vec![SchedVm::uniform("a", None, 3, 1)]).unwrap();
    sched.add_external_load(Some("ignored-host"), 2);
    assert_eq!(sched.admit()[0].disks, vec![0]);
    let err = simulate_with_external();
    assert_eq!(err, Error::Stalled { vm: "a".into() });

    fn simulate_with_external() -> Error {
        // A simulation cannot see other plans drain: a full external budget stalls.
        let policy = Policy::for_migration(ProviderType::Ova, false, true, 1);
        let mut sched = Scheduler::new(policy, vec![SchedVm::uniform("a", None, 1, 1)]).unwrap();
        sched.add_external_load(None, 1);
        assert!(sched.admit().is_empty());
        Error::Stalled {
            vm: sched.waiting()[0].to_owned(),
        }
    }
}

#[test]
fn errors_are_typed() {
    let policy = Policy::for_migration(ProviderType::OVirt, false, true, 0);
    assert_eq!(policy.limit, 1);
    let dup = Scheduler::new(
        policy,
        vec![
            SchedVm::uniform("a", None, 1, 1),
            SchedVm::uniform("a", None, 1, 1),
        ],
    )
    .unwrap_err();
    assert_eq!(dup.to_string(), "VM a appears twice in the plan");
    let mut sched = Scheduler::new(policy, vec![SchedVm::uniform("a", None, 2, 1)]).unwrap();
    assert!(matches!(
        sched.disk_finished("zz", 0),
        Err(Error::UnknownVm { .. })
    ));
    assert!(matches!(
        sched.disk_finished("a", 7),
        Err(Error::UnknownDisk { .. })
    ));
    assert!(matches!(
        sched.disk_finished("a", 0),
        Err(Error::DiskNotStarted { .. })
    ));
    assert_eq!(
        simulate_throughput(policy, &[], 0).unwrap_err(),
        Error::ZeroThroughput
    );
}

#[test]
fn vms_without_disks_do_not_block() {
    let policy = Policy::for_migration(ProviderType::Ova, false, true, 1);
    let vms = vec![
        SchedVm::uniform("empty", None, 0, 0),
        SchedVm::uniform("b", None, 1, 100),
    ];
    let sim = simulate_throughput(policy, &vms, 10).unwrap();
    assert_eq!(sim.vms.len(), 2);
    assert_eq!(sim.makespan, secs(10));
}

#[test]
fn policy_display() {
    assert_eq!(
        Policy::for_migration(ProviderType::OVirt, false, true, 15).to_string(),
        "at most 15 disks in flight (admitted disk by disk)"
    );
    assert_eq!(
        Policy::for_migration(ProviderType::VSphere, false, true, 20).to_string(),
        "at most 20 VMs in flight per host"
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn arb_vms() -> impl Strategy<Value = Vec<(u8, u8, Vec<u16>)>> {
        prop::collection::vec(
            (0u8..3, 0u8..6, prop::collection::vec(1u16..500, 0..6)),
            0..8,
        )
    }

    proptest! {
        #[test]
        fn budgets_hold_and_everything_runs(
            raw in arb_vms(),
            limit in 1u32..6,
            source in 0usize..4,
            warm: bool,
        ) {
            let source = [ProviderType::VSphere, ProviderType::OVirt, ProviderType::Ova, ProviderType::HyperV][source];
            let policy = Policy::for_migration(source, warm, true, limit);
            let vms: Vec<SchedVm> = raw.iter().enumerate().map(|(i, (host, _, disks))| SchedVm {
                id: format!("vm-{i}"),
                host: Some(format!("h{host}")),
                disks: disks.iter().enumerate().map(|(d, s)| SchedDisk { id: d.to_string(), size_bytes: u64::from(*s) }).collect(),
            }).collect();
            let sim = simulate(policy, &vms, |vm, d| Duration::from_millis(vm.disks[d].size_bytes)).unwrap();
            let total: usize = vms.iter().map(|v| v.disks.len()).sum();
            prop_assert_eq!(sim.disks.len(), total);
            prop_assert_eq!(sim.vms.len(), vms.len());
            // At every disk start, count overlapping work in the same budget.
            for run in &sim.disks {
                let t = run.start;
                let key = |id: &str| match policy.scope {
                    Scope::Provider => None,
                    Scope::PerHost => vms.iter().find(|v| v.id == id).and_then(|v| v.host.clone()),
                };
                let k = key(&run.vm);
                let load = match policy.unit {
                    Unit::Disk => sim.disks.iter().filter(|r| r.start <= t && t < r.end && key(&r.vm) == k).count(),
                    Unit::Vm => sim.vms.iter().filter(|r| r.start <= t && t < r.end && key(&r.vm) == k).count(),
                };
                let own = vms.iter().find(|v| v.id == run.vm).map_or(0, |v| v.disks.len());
                prop_assert!(load as u32 <= limit.max(own as u32), "load {} over limit {} at {:?}", load, limit, t);
            }
        }
    }
}

#[test]
fn adapter_reads_plan_and_inventory() {
    use crate::inventory::{Disk, SourceInventory, Vm};
    use crate::resources::{Plan, PlanVm};
    let inventory = SourceInventory {
        provider: ProviderType::OVirt,
        vms: vec![Vm {
            id: "a".into(),
            name: "alpha".into(),
            host: "h1".into(),
            disks: vec![
                Disk {
                    id: "d1".into(),
                    capacity: 10,
                    ..Disk::default()
                },
                Disk {
                    capacity: -1,
                    ..Disk::default()
                },
            ],
            ..Vm::default()
        }],
        ..SourceInventory::default()
    };
    let mut plan: Plan = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "p"}, "spec": {"targetNamespace": "t", "warm": true}
    }))
    .unwrap();
    plan.spec.vms = vec![PlanVm::by_name("alpha"), PlanVm::by_id("zz")];
    let (vms, missing) = plan_vms(&plan, &inventory);
    assert_eq!(missing, ["zz"]);
    assert_eq!(vms[0].host.as_deref(), Some("h1"));
    assert_eq!(vms[0].disks[0].id, "d1");
    assert_eq!(vms[0].disks[1].size_bytes, 0);
    let settings = crate::resources::ForkliftControllerSettings::default();
    let policy = plan_policy(&plan, &inventory, &settings, true).unwrap();
    assert_eq!((policy.unit, policy.limit), (Unit::Disk, 20));
    let mut ec2 = inventory.clone();
    ec2.provider = ProviderType::Ec2;
    assert_eq!(plan_policy(&plan, &ec2, &settings, true), None);
    assert!(!Policy::covers(ProviderType::Nutanix));
}
