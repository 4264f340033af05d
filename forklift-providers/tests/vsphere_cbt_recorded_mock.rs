//! QueryChangedDiskAreas is not implemented by govmomi's simulator, so these tests replay a
//! RECORDED vim25 SOAP exchange from a loopback MOCK server (`tests/data/vim25/`).

mod common;

use common::mock_vim25::MockVim25;
use forklift_providers::Error;
use forklift_providers::capability::{
    ALL_ALLOCATED, ChangeTracking, ChangedArea, DiskRef, SnapshotRef, VmRef,
};
use forklift_providers::vsphere::{VsphereConfig, VsphereProvider};

const GIB: u64 = 1 << 30;

async fn provider(mock: &MockVim25) -> VsphereProvider {
    // The mock speaks plain http; the opt-in says so.
    let config = VsphereConfig::new_plain_http(
        &mock.url,
        "administrator@vsphere.local",
        "Recorded-Passw0rd".into(),
    )
    .unwrap();
    VsphereProvider::connect_with(config).await.unwrap()
}

fn disk() -> DiskRef {
    DiskRef {
        key: 2000,
        file: "[datastore1] vm1/vm1.vmdk".into(),
        capacity: 10 * GIB,
    }
}

#[tokio::test]
async fn recorded_mock_query_changed_disk_areas_loops_over_start_offset() {
    let mock = MockVim25::start().await;
    let provider = provider(&mock).await;
    let areas = provider
        .changed_areas(
            &VmRef::new("vm-1001"),
            &SnapshotRef("snapshot-2002".into()),
            &disk(),
            "52 de c0 7e 4c 5b 7c 11-a5 ba 38 bb 7f 2d 65 63/81",
        )
        .await
        .unwrap();
    assert_eq!(
        areas,
        vec![
            ChangedArea {
                offset: 0,
                length: 65536
            },
            ChangedArea {
                offset: GIB,
                length: 1 << 20
            },
            ChangedArea {
                offset: 5 * GIB,
                length: 128 << 10
            },
        ]
    );

    let requests = mock.requests.lock().unwrap().clone();
    let queries: Vec<&String> = requests
        .iter()
        .filter(|r| r.contains("<QueryChangedDiskAreas "))
        .collect();
    assert_eq!(
        queries.len(),
        3,
        "one call per 4 GiB page until the capacity"
    );
    for (query, start) in queries.iter().zip([0, 4 * GIB, 8 * GIB]) {
        assert!(query.contains(r#"<_this type="VirtualMachine">vm-1001</_this>"#));
        assert!(
            query.contains(r#"<snapshot type="VirtualMachineSnapshot">snapshot-2002</snapshot>"#)
        );
        assert!(query.contains("<deviceKey>2000</deviceKey>"));
        assert!(query.contains(&format!("<startOffset>{start}</startOffset>")));
        assert!(
            query.contains(
                "<changeId>52 de c0 7e 4c 5b 7c 11-a5 ba 38 bb 7f 2d 65 63/81</changeId>"
            )
        );
    }
    // Only the login carried the password.
    assert!(
        requests
            .iter()
            .filter(|r| r.contains("Recorded-Passw0rd"))
            .count()
            == 1
    );
}

#[tokio::test]
async fn recorded_mock_star_change_id_asks_for_all_allocated_areas() {
    let mock = MockVim25::start().await;
    let provider = provider(&mock).await;
    let areas = provider
        .changed_areas(
            &VmRef::new("vm-1001"),
            &SnapshotRef("snapshot-2002".into()),
            &disk(),
            ALL_ALLOCATED,
        )
        .await
        .unwrap();
    assert_eq!(areas.len(), 3);
    let requests = mock.requests.lock().unwrap().clone();
    assert!(
        requests
            .iter()
            .any(|r| r.contains("<changeId>*</changeId>"))
    );
}

#[tokio::test]
async fn recorded_mock_fault_is_reported_with_its_type() {
    let mock = MockVim25::start().await;
    let provider = provider(&mock).await;
    let err = provider
        .changed_areas(
            &VmRef::new("vm-1001"),
            &SnapshotRef("snapshot-2002".into()),
            &disk(),
            "52 00 00 00 00 00 00 00-00 00 00 00 00 00 00 00/1",
        )
        .await
        .unwrap_err();
    match err {
        Error::Fault {
            method,
            fault,
            message,
        } => {
            assert_eq!(method, "QueryChangedDiskAreas");
            assert_eq!(fault, "FileFault");
            assert!(message.contains("vm1.vmdk"));
        }
        other => panic!("unexpected {other}"),
    }
}
