//! The flags that reach a cluster, shared by `migrate --destination kubevirt` and `deploy`.

use std::path::PathBuf;

use clap::Args;
use forklift::migrate::kubevirt::{ClusterConfig, KubevirtOptions};

/// How to reach the cluster and its CDI upload proxy.
#[derive(Debug, Clone, Args)]
pub(super) struct ClusterArgs {
    /// The kubeconfig file; without it, as kubectl finds one: KUBECONFIG, ~/.kube/config,
    /// then the in-cluster service account.
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// CDI's upload proxy URL; without it, CDIConfig status.uploadProxyURL.
    #[arg(long, value_name = "URL")]
    upload_proxy_url: Option<String>,
    /// A PEM CA bundle to trust for the upload proxy; without it, CDIConfig
    /// status.uploadProxyCA when set, and the system's roots.
    #[arg(long, value_name = "FILE")]
    upload_proxy_ca: Option<PathBuf>,
    /// Stage each disk in DIR before its upload (resumable from a checkpoint) instead of
    /// streaming it from the copy into the upload; the plan status is kept there too
    /// (without it: disks are streamed, the status kept in a directory of this user under
    /// the system's temporary directory).
    #[arg(long, value_name = "DIR")]
    staging: Option<PathBuf>,
}

impl ClusterArgs {
    /// The destination options these flags describe.
    pub(super) fn options(&self) -> KubevirtOptions {
        // SAFETY: getuid has no preconditions and cannot fail.
        let uid = unsafe { libc::getuid() };
        KubevirtOptions {
            cluster: ClusterConfig {
                kubeconfig: self.kubeconfig.clone(),
            },
            upload_proxy_url: self.upload_proxy_url.clone(),
            upload_proxy_ca: self.upload_proxy_ca.clone(),
            staging: self
                .staging
                .clone()
                .unwrap_or_else(|| std::env::temp_dir().join(format!("forklift-staging-{uid}"))),
            stage_disks: self.staging.is_some(),
            data_volume_limit: None,
        }
    }
}
