//! The cluster side: `deploy(bundle, ...)` and the `kubevirt` destination options of
//! `start_migration`.

use std::path::PathBuf;

use forklift::migrate::kubevirt::{ClusterConfig, Deployer, KubevirtOptions, deploy_bundle};
use pyo3::prelude::*;

use crate::convert::to_python;
use crate::error::{Error, Result};

/// The destination options of `destination="kubevirt"`: the kubeconfig as kubectl finds it
/// unless given, the upload proxy from CDIConfig unless given; disks streamed from the copy
/// into their upload, or staged under `staging` when it is given (the plan status is kept
/// there, by default in a directory of this user under the temporary directory).
pub(crate) fn kubevirt_options(
    kubeconfig: Option<PathBuf>,
    upload_proxy_url: Option<String>,
    upload_proxy_ca: Option<PathBuf>,
    staging: Option<PathBuf>,
) -> KubevirtOptions {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    KubevirtOptions {
        cluster: ClusterConfig { kubeconfig },
        upload_proxy_url,
        upload_proxy_ca,
        stage_disks: staging.is_some(),
        staging: staging
            .unwrap_or_else(|| std::env::temp_dir().join(format!("forklift-staging-{uid}"))),
        data_volume_limit: None,
    }
}

/// Pushes the local bundle `bundle` to a cluster (apply, upload, wait, start) and returns
/// what it created; raises `ClusterError` (with `created`) when the cluster refuses or fails.
#[pyfunction]
#[pyo3(signature = (bundle, *, kubeconfig = None, upload_proxy_url = None, upload_proxy_ca = None))]
pub(crate) fn deploy<'py>(
    py: Python<'py>,
    bundle: PathBuf,
    kubeconfig: Option<PathBuf>,
    upload_proxy_url: Option<String>,
    upload_proxy_ca: Option<PathBuf>,
) -> Result<Bound<'py, PyAny>> {
    let options = kubevirt_options(kubeconfig, upload_proxy_url, upload_proxy_ca, None);
    let runtime = crate::runtime::runtime()?;
    let result = py.detach(|| {
        let deployer = Deployer::new(options);
        runtime
            .block_on(deploy_bundle(&bundle, &deployer))
            .map_err(Box::new)
    });
    let report = result.map_err(Error::Deploy)?;
    let value = serde_json::to_value(&report).map_err(|err| Error::Value(err.to_string()))?;
    Ok(to_python(py, &value)?)
}
