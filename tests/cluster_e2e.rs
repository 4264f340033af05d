//! The demo plan against a real cluster (kind or any cluster with KubeVirt and CDI), when
//! `FORKLIFT_E2E_KUBECONFIG` names its kubeconfig; skipped, with the reason printed, otherwise.
//!
//! Optional: `FORKLIFT_E2E_UPLOAD_PROXY_URL` and `FORKLIFT_E2E_UPLOAD_PROXY_CA` when the
//! cluster's CDIConfig does not advertise a reachable upload proxy (on kind, port-forward
//! `svc/cdi-uploadproxy` in namespace `cdi` and pass `https://127.0.0.1:<port>`).
//!
//! ```sh
//! FORKLIFT_E2E_KUBECONFIG=~/.kube/config cargo test --test cluster_e2e -- --nocapture
//! ```

use std::process::Command;

#[test]
fn the_demo_plan_runs_against_a_real_cluster() {
    let Some(kubeconfig) = std::env::var_os("FORKLIFT_E2E_KUBECONFIG") else {
        println!(
            "skipped: set FORKLIFT_E2E_KUBECONFIG to the kubeconfig of a cluster with KubeVirt and CDI to run the demo plan against it"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo-out");
    // The demo builds the catalog and a local bundle; then the same plan goes to the cluster,
    // and the bundle is deployed (adopting what the migration created).
    let status = Command::new(env!("CARGO_BIN_EXE_forklift"))
        .arg("demo")
        .arg("--dir")
        .arg(&demo)
        .status()
        .unwrap();
    assert!(status.success(), "forklift demo failed");
    let cluster_args = |command: &mut Command| {
        command.arg("--kubeconfig").arg(&kubeconfig);
        if let Some(url) = std::env::var_os("FORKLIFT_E2E_UPLOAD_PROXY_URL") {
            command.arg("--upload-proxy-url").arg(url);
        }
        if let Some(ca) = std::env::var_os("FORKLIFT_E2E_UPLOAD_PROXY_CA") {
            command.arg("--upload-proxy-ca").arg(ca);
        }
    };
    let mut migrate = Command::new(env!("CARGO_BIN_EXE_forklift"));
    migrate
        .arg("migrate")
        .arg("--manifests")
        .arg(demo.join("manifests.yaml"))
        .arg("--destination")
        .arg("kubevirt");
    cluster_args(&mut migrate);
    let output = migrate.output().unwrap();
    assert!(
        output.status.success(),
        "forklift migrate --destination kubevirt failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut deploy = Command::new(env!("CARGO_BIN_EXE_forklift"));
    deploy.arg("deploy").arg(demo.join("out"));
    cluster_args(&mut deploy);
    let output = deploy.output().unwrap();
    assert!(
        output.status.success(),
        "forklift deploy failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{}", String::from_utf8_lossy(&output.stdout));
}
