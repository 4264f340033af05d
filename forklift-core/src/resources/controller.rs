//! `ForkliftController`: the operator's configuration, with every setting typed and defaulted.
//!
//! Settings keep the CRD's snake_case names. Settings equal to their CRD default are omitted
//! when saving (the configuration stays as short as the user wrote it); absent settings take
//! the default, so loading a saved object gives an equal value. Feature gates and other
//! boolean switches are the strings `"true"`/`"false"`: the guide states the ForkliftController
//! API does not accept YAML booleans for them, and neither do we.

use serde::{Deserialize, Serialize};

use super::{API_VERSION, ObjectMeta, impl_resource};

string_enum! {
    /// A boolean written as the string `"true"` or `"false"`.
    pub enum StringBool {
        /// `"true"`.
        True = "true",
        /// `"false"`.
        False = "false",
    }
}

impl StringBool {
    /// The boolean value.
    pub fn as_bool(self) -> bool {
        self == StringBool::True
    }
}

impl From<bool> for StringBool {
    fn from(value: bool) -> Self {
        if value {
            StringBool::True
        } else {
            StringBool::False
        }
    }
}

string_enum! {
    /// Image pull policy of the operator's containers.
    pub enum ImagePullPolicy {
        /// Always pull.
        Always = "Always",
        /// Pull when missing.
        IfNotPresent = "IfNotPresent",
        /// Never pull.
        Never = "Never",
    }
}

string_enum! {
    /// Output format of the MCP server.
    pub enum McpOutputFormat {
        /// Markdown.
        Markdown = "markdown",
        /// Plain text.
        Text = "text",
        /// JSON.
        Json = "json",
    }
}

/// A `ForkliftController` resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForkliftController {
    /// Always `forklift.konveyor.io/v1beta1`.
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// Always `ForkliftController`.
    #[serde(default = "default_kind")]
    pub kind: String,
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The settings.
    #[serde(default)]
    pub spec: ForkliftControllerSettings,
    /// Status written by the Ansible operator (free-form in the CRD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

fn default_api_version() -> String {
    API_VERSION.to_owned()
}

fn default_kind() -> String {
    "ForkliftController".to_owned()
}

impl_resource!(ForkliftController, API_VERSION, "ForkliftController");

impl ForkliftController {
    /// A controller with the given metadata and settings.
    pub fn new(metadata: ObjectMeta, spec: ForkliftControllerSettings) -> Self {
        Self {
            api_version: default_api_version(),
            kind: default_kind(),
            metadata,
            spec,
            status: None,
        }
    }
}

/// `ForkliftController.spec`: every setting of the CRD, typed, with its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkliftControllerSettings {
    /// Set by OLM-managed installations (used in the guide's examples; not part of the CRD
    /// schema, so the API server prunes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub olm_managed: Option<bool>,
    /// Name of the Secret containing a custom CA certificate (data key: ca.crt) for AAP TLS verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aap_ca_secret_name: Option<String>,
    /// Skip TLS certificate verification when connecting to AAP. Default `false`.
    #[serde(
        default = "defaults::aap_insecure_skip_verify",
        skip_serializing_if = "defaults::is_aap_insecure_skip_verify"
    )]
    pub aap_insecure_skip_verify: StringBool,
    /// Default timeout in seconds for AAP HTTP calls and job polling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aap_timeout: Option<i32>,
    /// Name of the Secret containing the AAP API Bearer token (data key: token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aap_token_secret_name: Option<String>,
    /// Ansible Automation Platform base URL. Required for centralized AAP connection together with aap_token_secret_name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aap_url: Option<String>,
    /// API service CPU limit. Default `1000m`.
    #[serde(
        default = "defaults::api_container_limits_cpu",
        skip_serializing_if = "defaults::is_api_container_limits_cpu"
    )]
    pub api_container_limits_cpu: String,
    /// API service memory limit. Default `1Gi`.
    #[serde(
        default = "defaults::api_container_limits_memory",
        skip_serializing_if = "defaults::is_api_container_limits_memory"
    )]
    pub api_container_limits_memory: String,
    /// API service CPU request. Default `100m`.
    #[serde(
        default = "defaults::api_container_requests_cpu",
        skip_serializing_if = "defaults::is_api_container_requests_cpu"
    )]
    pub api_container_requests_cpu: String,
    /// API service memory request. Default `150Mi`.
    #[serde(
        default = "defaults::api_container_requests_memory",
        skip_serializing_if = "defaults::is_api_container_requests_memory"
    )]
    pub api_container_requests_memory: String,
    /// API service image. Optional. If left empty, the operator automatically sets this from the release payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_image_fqin: Option<String>,
    /// CLI download service CPU limit. Default `1000m`.
    #[serde(
        default = "defaults::cli_download_container_limits_cpu",
        skip_serializing_if = "defaults::is_cli_download_container_limits_cpu"
    )]
    pub cli_download_container_limits_cpu: String,
    /// CLI download service memory limit. Default `1Gi`.
    #[serde(
        default = "defaults::cli_download_container_limits_memory",
        skip_serializing_if = "defaults::is_cli_download_container_limits_memory"
    )]
    pub cli_download_container_limits_memory: String,
    /// CLI download service CPU request. Default `100m`.
    #[serde(
        default = "defaults::cli_download_container_requests_cpu",
        skip_serializing_if = "defaults::is_cli_download_container_requests_cpu"
    )]
    pub cli_download_container_requests_cpu: String,
    /// CLI download service memory request. Default `512Mi`.
    #[serde(
        default = "defaults::cli_download_container_requests_memory",
        skip_serializing_if = "defaults::is_cli_download_container_requests_memory"
    )]
    pub cli_download_container_requests_memory: String,
    /// CLI download service image. Optional. If left empty, the operator automatically sets this from the release payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cli_download_image_fqin: Option<String>,
    /// Block overhead in bytes. Default `0`.
    #[serde(
        default = "defaults::controller_block_overhead",
        skip_serializing_if = "defaults::is_controller_block_overhead"
    )]
    pub controller_block_overhead: i32,
    /// How long Critical/Error blocker conditions must persist before failing an active migration, in minutes. Default `5`.
    #[serde(
        default = "defaults::controller_blocker_grace_period_minutes",
        skip_serializing_if = "defaults::is_controller_blocker_grace_period_minutes"
    )]
    pub controller_blocker_grace_period_minutes: i32,
    /// Cleanup retry count. Default `10`.
    #[serde(
        default = "defaults::controller_cleanup_retries",
        skip_serializing_if = "defaults::is_controller_cleanup_retries"
    )]
    pub controller_cleanup_retries: i32,
    /// Controller CPU limit. Default `2`.
    #[serde(
        default = "defaults::controller_container_limits_cpu",
        skip_serializing_if = "defaults::is_controller_container_limits_cpu"
    )]
    pub controller_container_limits_cpu: String,
    /// Controller memory limit. Default `800Mi`.
    #[serde(
        default = "defaults::controller_container_limits_memory",
        skip_serializing_if = "defaults::is_controller_container_limits_memory"
    )]
    pub controller_container_limits_memory: String,
    /// Controller CPU request. Default `100m`.
    #[serde(
        default = "defaults::controller_container_requests_cpu",
        skip_serializing_if = "defaults::is_controller_container_requests_cpu"
    )]
    pub controller_container_requests_cpu: String,
    /// Controller memory request. Default `350Mi`.
    #[serde(
        default = "defaults::controller_container_requests_memory",
        skip_serializing_if = "defaults::is_controller_container_requests_memory"
    )]
    pub controller_container_requests_memory: String,
    /// Filesystem overhead percentage. Default `10`.
    #[serde(
        default = "defaults::controller_filesystem_overhead",
        skip_serializing_if = "defaults::is_controller_filesystem_overhead"
    )]
    pub controller_filesystem_overhead: i32,
    /// Host lease duration in seconds. Default `10`.
    #[serde(
        default = "defaults::controller_host_lease_duration_seconds",
        skip_serializing_if = "defaults::is_controller_host_lease_duration_seconds"
    )]
    pub controller_host_lease_duration_seconds: i32,
    /// Namespace for host lease objects. Default `openshift-mtv`.
    #[serde(
        default = "defaults::controller_host_lease_namespace",
        skip_serializing_if = "defaults::is_controller_host_lease_namespace"
    )]
    pub controller_host_lease_namespace: String,
    /// HyperV inventory refresh interval as a Go duration. Default `10s`.
    #[serde(
        default = "defaults::controller_hyperv_refresh_interval",
        skip_serializing_if = "defaults::is_controller_hyperv_refresh_interval"
    )]
    pub controller_hyperv_refresh_interval: String,
    /// Timeout for HyperV SMB disk validation HTTP calls as a Go duration. Default `30s`.
    #[serde(
        default = "defaults::controller_hyperv_validation_timeout",
        skip_serializing_if = "defaults::is_controller_hyperv_validation_timeout"
    )]
    pub controller_hyperv_validation_timeout: String,
    /// Controller pod image. Optional. If left empty, the operator automatically sets this from the release payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_image_fqin: Option<String>,
    /// Log verbosity level. Default `3`.
    #[serde(
        default = "defaults::controller_log_level",
        skip_serializing_if = "defaults::is_controller_log_level"
    )]
    pub controller_log_level: i32,
    /// Max concurrent reconciles. Default `10`.
    #[serde(
        default = "defaults::controller_max_concurrent_reconciles",
        skip_serializing_if = "defaults::is_controller_max_concurrent_reconciles"
    )]
    pub controller_max_concurrent_reconciles: i32,
    /// Max retries when getting parent disks. Default `10`.
    #[serde(
        default = "defaults::controller_max_parent_backing_retries",
        skip_serializing_if = "defaults::is_controller_max_parent_backing_retries"
    )]
    pub controller_max_parent_backing_retries: i32,
    /// Max concurrent populator pods per ESXi host. Default `20`.
    #[serde(
        default = "defaults::controller_max_populator_inflight",
        skip_serializing_if = "defaults::is_controller_max_populator_inflight"
    )]
    pub controller_max_populator_inflight: i32,
    /// Max concurrent VM migrations. Default `20`.
    #[serde(
        default = "defaults::controller_max_vm_inflight",
        skip_serializing_if = "defaults::is_controller_max_vm_inflight"
    )]
    pub controller_max_vm_inflight: i32,
    /// Global default ServiceAccount for migration pods in the target namespace. Overridden by Plan-level serviceAccount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_migration_service_account: Option<String>,
    /// Global default Go template for generating PVC names during OpenShift (OCP) migrations. Used when the Plan-level pvcNameTemplate is empty. When this field is also empty, the controller falls back to "\{\{.SourcePVCName\}\}" (preserves the source PVC name). Does not apply to non-OCP providers (see controller_pvc_name_template). IMPORTANT: Curly braces must be escaped with a backslash (\{ and \}) to avoid conflicts with the operator's Ansible/Jinja2 templating engine. The controller unescapes them before parsing the Go template. Example: "\{\{.SourcePVCNamespace\}\}-\{\{.SourcePVCName\}\}".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_ocp_pvc_name_template: Option<String>,
    /// Enable oVirt warm migration. Default `true`.
    #[serde(
        default = "defaults::controller_ovirt_warm_migration",
        skip_serializing_if = "defaults::is_controller_ovirt_warm_migration"
    )]
    pub controller_ovirt_warm_migration: StringBool,
    /// Precopy interval in minutes. Default `60`.
    #[serde(
        default = "defaults::controller_precopy_interval",
        skip_serializing_if = "defaults::is_controller_precopy_interval"
    )]
    pub controller_precopy_interval: i32,
    /// Global default Go template for generating PVC names during non-OCP migrations. Used when the Plan-level pvcNameTemplate is empty. When this field is also empty, the controller falls back to the hardcoded default: "\{\{trunc 15 .PlanName\}\}-\{\{trunc 15 .TargetVmName\}\}-disk-\{\{.DiskIndex\}\}". Does not apply to OpenShift sources (see controller_ocp_pvc_name_template). IMPORTANT: Curly braces must be escaped with a backslash (\{ and \}) to avoid conflicts with the operator's Ansible/Jinja2 templating engine. The controller unescapes them before parsing the Go template. Example: "\{\{trunc 10 .PlanName\}\}-\{\{.TargetVmName\}\}-\{\{.DiskIndex\}\}".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_pvc_name_template: Option<String>,
    /// Retain populator pods after migration for debugging. Default `false`.
    #[serde(
        default = "defaults::controller_retain_populator_pods",
        skip_serializing_if = "defaults::is_controller_retain_populator_pods"
    )]
    pub controller_retain_populator_pods: StringBool,
    /// Retain precopy pods. Default `false`.
    #[serde(
        default = "defaults::controller_retain_precopy_importer_pods",
        skip_serializing_if = "defaults::is_controller_retain_precopy_importer_pods"
    )]
    pub controller_retain_precopy_importer_pods: StringBool,
    /// Snapshot removal retries. Default `20`.
    #[serde(
        default = "defaults::controller_snapshot_removal_check_retries",
        skip_serializing_if = "defaults::is_controller_snapshot_removal_check_retries"
    )]
    pub controller_snapshot_removal_check_retries: i32,
    /// Snapshot removal timeout in minutes. Default `120`.
    #[serde(
        default = "defaults::controller_snapshot_removal_timeout_minuts",
        skip_serializing_if = "defaults::is_controller_snapshot_removal_timeout_minuts"
    )]
    pub controller_snapshot_removal_timeout_minuts: i32,
    /// Snapshot status check rate in seconds. Default `10`.
    #[serde(
        default = "defaults::controller_snapshot_status_check_rate_seconds",
        skip_serializing_if = "defaults::is_controller_snapshot_status_check_rate_seconds"
    )]
    pub controller_snapshot_status_check_rate_seconds: i32,
    /// Enable static UDN IP addresses feature. Default `true`.
    #[serde(
        default = "defaults::controller_static_udn_ip_addresses",
        skip_serializing_if = "defaults::is_controller_static_udn_ip_addresses"
    )]
    pub controller_static_udn_ip_addresses: StringBool,
    /// TLS connection timeout seconds. Default `5`.
    #[serde(
        default = "defaults::controller_tls_connection_timeout_sec",
        skip_serializing_if = "defaults::is_controller_tls_connection_timeout_sec"
    )]
    pub controller_tls_connection_timeout_sec: i32,
    /// Optional NAD name for controller pod transfer network (format: 'namespace/network-name').
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_transfer_network: Option<String>,
    /// VDDK job timeout in seconds. Default `300`.
    #[serde(
        default = "defaults::controller_vddk_job_active_deadline_sec",
        skip_serializing_if = "defaults::is_controller_vddk_job_active_deadline_sec"
    )]
    pub controller_vddk_job_active_deadline_sec: i32,
    /// Use vSphere incremental backup. Default `true`.
    #[serde(
        default = "defaults::controller_vsphere_incremental_backup",
        skip_serializing_if = "defaults::is_controller_vsphere_incremental_backup"
    )]
    pub controller_vsphere_incremental_backup: StringBool,
    /// Timeout in seconds for the wait-for-reboot step. Default `1800`.
    #[serde(
        default = "defaults::controller_windows_reboot_timeout",
        skip_serializing_if = "defaults::is_controller_windows_reboot_timeout"
    )]
    pub controller_windows_reboot_timeout: i32,
    /// Deep inspection image. Optional. If left empty, the operator automatically sets this from the release payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deep_inspection_image_fqin: Option<String>,
    /// Deep inspection XFS image. Optional. If left empty, the operator automatically sets this from the release payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deep_inspection_image_xfs_fqin: Option<String>,
    /// Require authentication. Default `true`.
    #[serde(
        default = "defaults::feature_auth_required",
        skip_serializing_if = "defaults::is_feature_auth_required"
    )]
    pub feature_auth_required: StringBool,
    /// Enable CLI download service. Default `true`.
    #[serde(
        default = "defaults::feature_cli_download",
        skip_serializing_if = "defaults::is_feature_cli_download"
    )]
    pub feature_cli_download: StringBool,
    /// Enable copy offload plugins. Default `true`.
    #[serde(
        default = "defaults::feature_copy_offload",
        skip_serializing_if = "defaults::is_feature_copy_offload"
    )]
    pub feature_copy_offload: StringBool,
    /// Enable MCP server deployment (requires OpenShift with Lightspeed). Default `false`.
    #[serde(
        default = "defaults::feature_mcp_server",
        skip_serializing_if = "defaults::is_feature_mcp_server"
    )]
    pub feature_mcp_server: StringBool,
    /// Enable OCP live migration. Default `true`.
    #[serde(
        default = "defaults::feature_ocp_live_migration",
        skip_serializing_if = "defaults::is_feature_ocp_live_migration"
    )]
    pub feature_ocp_live_migration: StringBool,
    /// Enable OVF-based appliance management endpoints (OVA, HyperV). Default `true`.
    #[serde(
        default = "defaults::feature_ova_appliance_management",
        skip_serializing_if = "defaults::is_feature_ova_appliance_management"
    )]
    pub feature_ova_appliance_management: StringBool,
    /// Enable UI plugin. Default `true`.
    #[serde(
        default = "defaults::feature_ui_plugin",
        skip_serializing_if = "defaults::is_feature_ui_plugin"
    )]
    pub feature_ui_plugin: StringBool,
    /// Delegate VM conversion to Conversion CRs instead of managing it directly. Default `true`.
    #[serde(
        default = "defaults::feature_use_conversion_cr",
        skip_serializing_if = "defaults::is_feature_use_conversion_cr"
    )]
    pub feature_use_conversion_cr: StringBool,
    /// Enable validation service. Default `true`.
    #[serde(
        default = "defaults::feature_validation",
        skip_serializing_if = "defaults::is_feature_validation"
    )]
    pub feature_validation: StringBool,
    /// Use VMware system serial numbers. Default `true`.
    #[serde(
        default = "defaults::feature_vmware_system_serial_number",
        skip_serializing_if = "defaults::is_feature_vmware_system_serial_number"
    )]
    pub feature_vmware_system_serial_number: StringBool,
    /// Enable volume populators. Default `true`.
    #[serde(
        default = "defaults::feature_volume_populator",
        skip_serializing_if = "defaults::is_feature_volume_populator"
    )]
    pub feature_volume_populator: StringBool,
    /// Run VMware driver removal scripts during Windows vSphere conversion. Default `false`.
    #[serde(
        default = "defaults::feature_vsphere_vmware_driver_removal",
        skip_serializing_if = "defaults::is_feature_vsphere_vmware_driver_removal"
    )]
    pub feature_vsphere_vmware_driver_removal: StringBool,
    /// Use registry-based network configuration scripts for Windows static IP setup. Default `false`.
    #[serde(
        default = "defaults::feature_windows_registry_network_config",
        skip_serializing_if = "defaults::is_feature_windows_registry_network_config"
    )]
    pub feature_windows_registry_network_config: StringBool,
    /// Enable automatic wait-for-reboot step for Windows VM migrations. Default `true`.
    #[serde(
        default = "defaults::feature_windows_wait_for_reboot",
        skip_serializing_if = "defaults::is_feature_windows_wait_for_reboot"
    )]
    pub feature_windows_wait_for_reboot: StringBool,
    /// Ignore xfs_repair exit status during conversion. Default `false`.
    #[serde(
        default = "defaults::feature_xfs_repair_ignore",
        skip_serializing_if = "defaults::is_feature_xfs_repair_ignore"
    )]
    pub feature_xfs_repair_ignore: StringBool,
    /// Hooks CPU limit. Default `1000m`.
    #[serde(
        default = "defaults::hooks_container_limits_cpu",
        skip_serializing_if = "defaults::is_hooks_container_limits_cpu"
    )]
    pub hooks_container_limits_cpu: String,
    /// Hooks memory limit. Default `1Gi`.
    #[serde(
        default = "defaults::hooks_container_limits_memory",
        skip_serializing_if = "defaults::is_hooks_container_limits_memory"
    )]
    pub hooks_container_limits_memory: String,
    /// Hooks CPU request. Default `100m`.
    #[serde(
        default = "defaults::hooks_container_requests_cpu",
        skip_serializing_if = "defaults::is_hooks_container_requests_cpu"
    )]
    pub hooks_container_requests_cpu: String,
    /// Hooks memory request. Default `150Mi`.
    #[serde(
        default = "defaults::hooks_container_requests_memory",
        skip_serializing_if = "defaults::is_hooks_container_requests_memory"
    )]
    pub hooks_container_requests_memory: String,
    /// HyperV CPU limit. Default `1000m`.
    #[serde(
        default = "defaults::hyperv_container_limits_cpu",
        skip_serializing_if = "defaults::is_hyperv_container_limits_cpu"
    )]
    pub hyperv_container_limits_cpu: String,
    /// HyperV memory limit. Default `1Gi`.
    #[serde(
        default = "defaults::hyperv_container_limits_memory",
        skip_serializing_if = "defaults::is_hyperv_container_limits_memory"
    )]
    pub hyperv_container_limits_memory: String,
    /// HyperV CPU request. Default `100m`.
    #[serde(
        default = "defaults::hyperv_container_requests_cpu",
        skip_serializing_if = "defaults::is_hyperv_container_requests_cpu"
    )]
    pub hyperv_container_requests_cpu: String,
    /// HyperV memory request. Default `512Mi`.
    #[serde(
        default = "defaults::hyperv_container_requests_memory",
        skip_serializing_if = "defaults::is_hyperv_container_requests_memory"
    )]
    pub hyperv_container_requests_memory: String,
    /// HyperV provider server image. Optional. If left empty, the operator automatically sets this from the release payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hyperv_provider_server_fqin: Option<String>,
    /// Image pull policy. Default `Always`.
    #[serde(
        default = "defaults::image_pull_policy",
        skip_serializing_if = "defaults::is_image_pull_policy"
    )]
    pub image_pull_policy: ImagePullPolicy,
    /// Inventory CPU limit. Default `2`.
    #[serde(
        default = "defaults::inventory_container_limits_cpu",
        skip_serializing_if = "defaults::is_inventory_container_limits_cpu"
    )]
    pub inventory_container_limits_cpu: String,
    /// Inventory memory limit. Default `1Gi`.
    #[serde(
        default = "defaults::inventory_container_limits_memory",
        skip_serializing_if = "defaults::is_inventory_container_limits_memory"
    )]
    pub inventory_container_limits_memory: String,
    /// Inventory CPU request. Default `500m`.
    #[serde(
        default = "defaults::inventory_container_requests_cpu",
        skip_serializing_if = "defaults::is_inventory_container_requests_cpu"
    )]
    pub inventory_container_requests_cpu: String,
    /// Inventory memory request. Default `500Mi`.
    #[serde(
        default = "defaults::inventory_container_requests_memory",
        skip_serializing_if = "defaults::is_inventory_container_requests_memory"
    )]
    pub inventory_container_requests_memory: String,
    /// Inventory route timeout. Default `360s`.
    #[serde(
        default = "defaults::inventory_route_timeout",
        skip_serializing_if = "defaults::is_inventory_route_timeout"
    )]
    pub inventory_route_timeout: String,
    /// Whether running on Kubernetes (vs OpenShift). Default `false`.
    #[serde(
        default = "defaults::k8s_cluster",
        skip_serializing_if = "defaults::is_k8s_cluster"
    )]
    pub k8s_cluster: StringBool,
    /// MCP server CPU limit. Default `1000m`.
    #[serde(
        default = "defaults::mcp_server_container_limits_cpu",
        skip_serializing_if = "defaults::is_mcp_server_container_limits_cpu"
    )]
    pub mcp_server_container_limits_cpu: String,
    /// MCP server memory limit. Default `512Mi`.
    #[serde(
        default = "defaults::mcp_server_container_limits_memory",
        skip_serializing_if = "defaults::is_mcp_server_container_limits_memory"
    )]
    pub mcp_server_container_limits_memory: String,
    /// MCP server CPU request. Default `100m`.
    #[serde(
        default = "defaults::mcp_server_container_requests_cpu",
        skip_serializing_if = "defaults::is_mcp_server_container_requests_cpu"
    )]
    pub mcp_server_container_requests_cpu: String,
    /// MCP server memory request. Default `256Mi`.
    #[serde(
        default = "defaults::mcp_server_container_requests_memory",
        skip_serializing_if = "defaults::is_mcp_server_container_requests_memory"
    )]
    pub mcp_server_container_requests_memory: String,
    /// Skip TLS verification for in-cluster MCP calls. Default `true`.
    #[serde(
        default = "defaults::mcp_server_kube_insecure",
        skip_serializing_if = "defaults::is_mcp_server_kube_insecure"
    )]
    pub mcp_server_kube_insecure: StringBool,
    /// Register MCP server with OpenShift Lightspeed. Default `true`.
    #[serde(
        default = "defaults::mcp_server_lightspeed_integration",
        skip_serializing_if = "defaults::is_mcp_server_lightspeed_integration"
    )]
    pub mcp_server_lightspeed_integration: StringBool,
    /// Add MCPServer to OLSConfig featureGates when registering with Lightspeed. Default `false`.
    #[serde(
        default = "defaults::mcp_server_lightspeed_set_mcp_gate",
        skip_serializing_if = "defaults::is_mcp_server_lightspeed_set_mcp_gate"
    )]
    pub mcp_server_lightspeed_set_mcp_gate: StringBool,
    /// MCP server max response chars, 0 for unlimited. Default `0`.
    #[serde(
        default = "defaults::mcp_server_max_response_chars",
        skip_serializing_if = "defaults::is_mcp_server_max_response_chars"
    )]
    pub mcp_server_max_response_chars: i32,
    /// MCP server output format. Default `markdown`.
    #[serde(
        default = "defaults::mcp_server_output_format",
        skip_serializing_if = "defaults::is_mcp_server_output_format"
    )]
    pub mcp_server_output_format: McpOutputFormat,
    /// Run MCP server in read-only mode. Default `false`.
    #[serde(
        default = "defaults::mcp_server_read_only",
        skip_serializing_if = "defaults::is_mcp_server_read_only"
    )]
    pub mcp_server_read_only: StringBool,
    /// MCP server verbosity level. Default `2`.
    #[serde(
        default = "defaults::mcp_server_verbose",
        skip_serializing_if = "defaults::is_mcp_server_verbose"
    )]
    pub mcp_server_verbose: i32,
    /// Metrics scrape interval. Default `30s`.
    #[serde(
        default = "defaults::metric_interval",
        skip_serializing_if = "defaults::is_metric_interval"
    )]
    pub metric_interval: String,
    /// Must-gather debugging image. Optional. If left empty, the operator automatically sets this from the release payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub must_gather_image_fqin: Option<String>,
    /// ConfigMap name for custom NAA OUI to storage vendor mappings. Default `forklift-naa-oui-map`.
    #[serde(
        default = "defaults::naa_oui_map_configmap_name",
        skip_serializing_if = "defaults::is_naa_oui_map_configmap_name"
    )]
    pub naa_oui_map_configmap_name: String,
    /// OVA CPU limit. Default `1000m`.
    #[serde(
        default = "defaults::ova_container_limits_cpu",
        skip_serializing_if = "defaults::is_ova_container_limits_cpu"
    )]
    pub ova_container_limits_cpu: String,
    /// OVA memory limit. Default `1Gi`.
    #[serde(
        default = "defaults::ova_container_limits_memory",
        skip_serializing_if = "defaults::is_ova_container_limits_memory"
    )]
    pub ova_container_limits_memory: String,
    /// OVA CPU request. Default `100m`.
    #[serde(
        default = "defaults::ova_container_requests_cpu",
        skip_serializing_if = "defaults::is_ova_container_requests_cpu"
    )]
    pub ova_container_requests_cpu: String,
    /// OVA memory request. Default `512Mi`.
    #[serde(
        default = "defaults::ova_container_requests_memory",
        skip_serializing_if = "defaults::is_ova_container_requests_memory"
    )]
    pub ova_container_requests_memory: String,
    /// OVA provider server image. Optional. If left empty, the operator automatically sets this from the release payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ova_provider_server_fqin: Option<String>,
    /// OVA Proxy CPU limit. Default `1000m`.
    #[serde(
        default = "defaults::ova_proxy_container_limits_cpu",
        skip_serializing_if = "defaults::is_ova_proxy_container_limits_cpu"
    )]
    pub ova_proxy_container_limits_cpu: String,
    /// OVA Proxy memory limit. Default `1Gi`.
    #[serde(
        default = "defaults::ova_proxy_container_limits_memory",
        skip_serializing_if = "defaults::is_ova_proxy_container_limits_memory"
    )]
    pub ova_proxy_container_limits_memory: String,
    /// OVA Proxy CPU request. Default `250m`.
    #[serde(
        default = "defaults::ova_proxy_container_requests_cpu",
        skip_serializing_if = "defaults::is_ova_proxy_container_requests_cpu"
    )]
    pub ova_proxy_container_requests_cpu: String,
    /// OVA Proxy memory request. Default `512Mi`.
    #[serde(
        default = "defaults::ova_proxy_container_requests_memory",
        skip_serializing_if = "defaults::is_ova_proxy_container_requests_memory"
    )]
    pub ova_proxy_container_requests_memory: String,
    /// OVA inventory proxy image. Optional. If left empty, the operator automatically sets this from the release payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ova_proxy_fqin: Option<String>,
    /// OVA Proxy route timeout. Default `360s`.
    #[serde(
        default = "defaults::ova_proxy_route_timeout",
        skip_serializing_if = "defaults::is_ova_proxy_route_timeout"
    )]
    pub ova_proxy_route_timeout: String,
    /// ConfigMap name for oVirt OS mappings. Default `forklift-ovirt-osmap`.
    #[serde(
        default = "defaults::ovirt_osmap_configmap_name",
        skip_serializing_if = "defaults::is_ovirt_osmap_configmap_name"
    )]
    pub ovirt_osmap_configmap_name: String,
    /// Volume Populator CPU limit. Default `1000m`.
    #[serde(
        default = "defaults::populator_container_limits_cpu",
        skip_serializing_if = "defaults::is_populator_container_limits_cpu"
    )]
    pub populator_container_limits_cpu: String,
    /// Volume Populator memory limit. Default `1Gi`.
    #[serde(
        default = "defaults::populator_container_limits_memory",
        skip_serializing_if = "defaults::is_populator_container_limits_memory"
    )]
    pub populator_container_limits_memory: String,
    /// Volume Populator CPU request. Default `100m`.
    #[serde(
        default = "defaults::populator_container_requests_cpu",
        skip_serializing_if = "defaults::is_populator_container_requests_cpu"
    )]
    pub populator_container_requests_cpu: String,
    /// Volume Populator memory request. Default `512Mi`.
    #[serde(
        default = "defaults::populator_container_requests_memory",
        skip_serializing_if = "defaults::is_populator_container_requests_memory"
    )]
    pub populator_container_requests_memory: String,
    /// Volume populator controller image. Optional. If left empty, the operator automatically sets this from the release payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub populator_controller_image_fqin: Option<String>,
    /// OpenStack populator image. Optional. If left empty, the operator automatically sets this from the release payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub populator_openstack_image_fqin: Option<String>,
    /// oVirt populator image. Optional. If left empty, the operator automatically sets this from the release payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub populator_ovirt_image_fqin: Option<String>,
    /// vSphere xcopy populator image. Optional. If left empty, the operator automatically sets this from the release payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub populator_vsphere_copy_offload_image_fqin: Option<String>,
    /// UI plugin CPU limit. Default `100m`.
    #[serde(
        default = "defaults::ui_plugin_container_limits_cpu",
        skip_serializing_if = "defaults::is_ui_plugin_container_limits_cpu"
    )]
    pub ui_plugin_container_limits_cpu: String,
    /// UI plugin memory limit. Default `800Mi`.
    #[serde(
        default = "defaults::ui_plugin_container_limits_memory",
        skip_serializing_if = "defaults::is_ui_plugin_container_limits_memory"
    )]
    pub ui_plugin_container_limits_memory: String,
    /// UI plugin CPU request. Default `100m`.
    #[serde(
        default = "defaults::ui_plugin_container_requests_cpu",
        skip_serializing_if = "defaults::is_ui_plugin_container_requests_cpu"
    )]
    pub ui_plugin_container_requests_cpu: String,
    /// UI plugin memory request. Default `150Mi`.
    #[serde(
        default = "defaults::ui_plugin_container_requests_memory",
        skip_serializing_if = "defaults::is_ui_plugin_container_requests_memory"
    )]
    pub ui_plugin_container_requests_memory: String,
    /// UI plugin image. Optional. If left empty, the operator automatically sets this from the release payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ui_plugin_image_fqin: Option<String>,
    /// Validation CPU limit. Default `1000m`.
    #[serde(
        default = "defaults::validation_container_limits_cpu",
        skip_serializing_if = "defaults::is_validation_container_limits_cpu"
    )]
    pub validation_container_limits_cpu: String,
    /// Validation memory limit. Default `300Mi`.
    #[serde(
        default = "defaults::validation_container_limits_memory",
        skip_serializing_if = "defaults::is_validation_container_limits_memory"
    )]
    pub validation_container_limits_memory: String,
    /// Validation CPU request. Default `400m`.
    #[serde(
        default = "defaults::validation_container_requests_cpu",
        skip_serializing_if = "defaults::is_validation_container_requests_cpu"
    )]
    pub validation_container_requests_cpu: String,
    /// Validation memory request. Default `50Mi`.
    #[serde(
        default = "defaults::validation_container_requests_memory",
        skip_serializing_if = "defaults::is_validation_container_requests_memory"
    )]
    pub validation_container_requests_memory: String,
    /// Mount path for extra validation rules. Default `/usr/share/opa/policies/extra`.
    #[serde(
        default = "defaults::validation_extra_volume_mountpath",
        skip_serializing_if = "defaults::is_validation_extra_volume_mountpath"
    )]
    pub validation_extra_volume_mountpath: String,
    /// Volume name for extra validation rules. Default `validation-extra-rules`.
    #[serde(
        default = "defaults::validation_extra_volume_name",
        skip_serializing_if = "defaults::is_validation_extra_volume_name"
    )]
    pub validation_extra_volume_name: String,
    /// Validation service image. Optional. If left empty, the operator automatically sets this from the release payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_image_fqin: Option<String>,
    /// Policy agent search interval in seconds. Default `120`.
    #[serde(
        default = "defaults::validation_policy_agent_search_interval",
        skip_serializing_if = "defaults::is_validation_policy_agent_search_interval"
    )]
    pub validation_policy_agent_search_interval: i32,
    /// VDDK image for VMware disk access. Optional. If left empty, no VDDK image is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vddk_image: Option<String>,
    /// ConfigMap name for virt-customize configuration. Default `forklift-virt-customize`.
    #[serde(
        default = "defaults::virt_customize_configmap_name",
        skip_serializing_if = "defaults::is_virt_customize_configmap_name"
    )]
    pub virt_customize_configmap_name: String,
    /// Virt-v2v CPU limit. Default `4000m`.
    #[serde(
        default = "defaults::virt_v2v_container_limits_cpu",
        skip_serializing_if = "defaults::is_virt_v2v_container_limits_cpu"
    )]
    pub virt_v2v_container_limits_cpu: String,
    /// Virt-v2v memory limit. Default `8Gi`.
    #[serde(
        default = "defaults::virt_v2v_container_limits_memory",
        skip_serializing_if = "defaults::is_virt_v2v_container_limits_memory"
    )]
    pub virt_v2v_container_limits_memory: String,
    /// Virt-v2v CPU request. Default `1000m`.
    #[serde(
        default = "defaults::virt_v2v_container_requests_cpu",
        skip_serializing_if = "defaults::is_virt_v2v_container_requests_cpu"
    )]
    pub virt_v2v_container_requests_cpu: String,
    /// Virt-v2v memory request. Default `1Gi`.
    #[serde(
        default = "defaults::virt_v2v_container_requests_memory",
        skip_serializing_if = "defaults::is_virt_v2v_container_requests_memory"
    )]
    pub virt_v2v_container_requests_memory: String,
    /// Don't request KVM for virt-v2v. Optional. If left empty, the operator automatically sets this from the environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virt_v2v_dont_request_kvm: Option<StringBool>,
    /// Additional arguments for virt-v2v conversion. Optional. If left empty, the operator automatically sets this from the environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virt_v2v_extra_args: Option<String>,
    /// ConfigMap name containing extra virt-v2v configuration. Optional. If left empty, the operator automatically sets this from the environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virt_v2v_extra_conf_config_map: Option<String>,
    /// Virt-v2v conversion image. Optional. If left empty, the operator automatically sets this from the release payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virt_v2v_image_fqin: Option<String>,
    /// Virt-v2v XFS conversion image. Optional. If left empty, the operator automatically sets this from the release payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virt_v2v_image_xfs_fqin: Option<String>,
    /// Additional arguments for virt-v2v-inspector. Optional. If left empty, the operator automatically sets this from the environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virt_v2v_inspector_extra_args: Option<String>,
    /// Memory (in MB) allocated for the virt-v2v conversion appliance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virt_v2v_memsize: Option<i32>,
    /// Number of virtual CPUs for the virt-v2v conversion appliance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virt_v2v_smp: Option<i32>,
    /// ConfigMap name for vSphere OS mappings. Default `forklift-vsphere-osmap`.
    #[serde(
        default = "defaults::vsphere_osmap_configmap_name",
        skip_serializing_if = "defaults::is_vsphere_osmap_configmap_name"
    )]
    pub vsphere_osmap_configmap_name: String,
    /// Wait for final snapshot removal and consolidation in a VMware warm migration. Default `true`.
    #[serde(
        default = "defaults::wait_for_final_snapshot_consolidation",
        skip_serializing_if = "defaults::is_wait_for_final_snapshot_consolidation"
    )]
    pub wait_for_final_snapshot_consolidation: StringBool,
}

impl Default for ForkliftControllerSettings {
    /// Every setting at its CRD default.
    fn default() -> Self {
        Self {
            olm_managed: None,
            aap_ca_secret_name: None,
            aap_insecure_skip_verify: defaults::aap_insecure_skip_verify(),
            aap_timeout: None,
            aap_token_secret_name: None,
            aap_url: None,
            api_container_limits_cpu: defaults::api_container_limits_cpu(),
            api_container_limits_memory: defaults::api_container_limits_memory(),
            api_container_requests_cpu: defaults::api_container_requests_cpu(),
            api_container_requests_memory: defaults::api_container_requests_memory(),
            api_image_fqin: None,
            cli_download_container_limits_cpu: defaults::cli_download_container_limits_cpu(),
            cli_download_container_limits_memory: defaults::cli_download_container_limits_memory(),
            cli_download_container_requests_cpu: defaults::cli_download_container_requests_cpu(),
            cli_download_container_requests_memory:
                defaults::cli_download_container_requests_memory(),
            cli_download_image_fqin: None,
            controller_block_overhead: defaults::controller_block_overhead(),
            controller_blocker_grace_period_minutes:
                defaults::controller_blocker_grace_period_minutes(),
            controller_cleanup_retries: defaults::controller_cleanup_retries(),
            controller_container_limits_cpu: defaults::controller_container_limits_cpu(),
            controller_container_limits_memory: defaults::controller_container_limits_memory(),
            controller_container_requests_cpu: defaults::controller_container_requests_cpu(),
            controller_container_requests_memory: defaults::controller_container_requests_memory(),
            controller_filesystem_overhead: defaults::controller_filesystem_overhead(),
            controller_host_lease_duration_seconds:
                defaults::controller_host_lease_duration_seconds(),
            controller_host_lease_namespace: defaults::controller_host_lease_namespace(),
            controller_hyperv_refresh_interval: defaults::controller_hyperv_refresh_interval(),
            controller_hyperv_validation_timeout: defaults::controller_hyperv_validation_timeout(),
            controller_image_fqin: None,
            controller_log_level: defaults::controller_log_level(),
            controller_max_concurrent_reconciles: defaults::controller_max_concurrent_reconciles(),
            controller_max_parent_backing_retries: defaults::controller_max_parent_backing_retries(
            ),
            controller_max_populator_inflight: defaults::controller_max_populator_inflight(),
            controller_max_vm_inflight: defaults::controller_max_vm_inflight(),
            controller_migration_service_account: None,
            controller_ocp_pvc_name_template: None,
            controller_ovirt_warm_migration: defaults::controller_ovirt_warm_migration(),
            controller_precopy_interval: defaults::controller_precopy_interval(),
            controller_pvc_name_template: None,
            controller_retain_populator_pods: defaults::controller_retain_populator_pods(),
            controller_retain_precopy_importer_pods:
                defaults::controller_retain_precopy_importer_pods(),
            controller_snapshot_removal_check_retries:
                defaults::controller_snapshot_removal_check_retries(),
            controller_snapshot_removal_timeout_minuts:
                defaults::controller_snapshot_removal_timeout_minuts(),
            controller_snapshot_status_check_rate_seconds:
                defaults::controller_snapshot_status_check_rate_seconds(),
            controller_static_udn_ip_addresses: defaults::controller_static_udn_ip_addresses(),
            controller_tls_connection_timeout_sec: defaults::controller_tls_connection_timeout_sec(
            ),
            controller_transfer_network: None,
            controller_vddk_job_active_deadline_sec:
                defaults::controller_vddk_job_active_deadline_sec(),
            controller_vsphere_incremental_backup: defaults::controller_vsphere_incremental_backup(
            ),
            controller_windows_reboot_timeout: defaults::controller_windows_reboot_timeout(),
            deep_inspection_image_fqin: None,
            deep_inspection_image_xfs_fqin: None,
            feature_auth_required: defaults::feature_auth_required(),
            feature_cli_download: defaults::feature_cli_download(),
            feature_copy_offload: defaults::feature_copy_offload(),
            feature_mcp_server: defaults::feature_mcp_server(),
            feature_ocp_live_migration: defaults::feature_ocp_live_migration(),
            feature_ova_appliance_management: defaults::feature_ova_appliance_management(),
            feature_ui_plugin: defaults::feature_ui_plugin(),
            feature_use_conversion_cr: defaults::feature_use_conversion_cr(),
            feature_validation: defaults::feature_validation(),
            feature_vmware_system_serial_number: defaults::feature_vmware_system_serial_number(),
            feature_volume_populator: defaults::feature_volume_populator(),
            feature_vsphere_vmware_driver_removal: defaults::feature_vsphere_vmware_driver_removal(
            ),
            feature_windows_registry_network_config:
                defaults::feature_windows_registry_network_config(),
            feature_windows_wait_for_reboot: defaults::feature_windows_wait_for_reboot(),
            feature_xfs_repair_ignore: defaults::feature_xfs_repair_ignore(),
            hooks_container_limits_cpu: defaults::hooks_container_limits_cpu(),
            hooks_container_limits_memory: defaults::hooks_container_limits_memory(),
            hooks_container_requests_cpu: defaults::hooks_container_requests_cpu(),
            hooks_container_requests_memory: defaults::hooks_container_requests_memory(),
            hyperv_container_limits_cpu: defaults::hyperv_container_limits_cpu(),
            hyperv_container_limits_memory: defaults::hyperv_container_limits_memory(),
            hyperv_container_requests_cpu: defaults::hyperv_container_requests_cpu(),
            hyperv_container_requests_memory: defaults::hyperv_container_requests_memory(),
            hyperv_provider_server_fqin: None,
            image_pull_policy: defaults::image_pull_policy(),
            inventory_container_limits_cpu: defaults::inventory_container_limits_cpu(),
            inventory_container_limits_memory: defaults::inventory_container_limits_memory(),
            inventory_container_requests_cpu: defaults::inventory_container_requests_cpu(),
            inventory_container_requests_memory: defaults::inventory_container_requests_memory(),
            inventory_route_timeout: defaults::inventory_route_timeout(),
            k8s_cluster: defaults::k8s_cluster(),
            mcp_server_container_limits_cpu: defaults::mcp_server_container_limits_cpu(),
            mcp_server_container_limits_memory: defaults::mcp_server_container_limits_memory(),
            mcp_server_container_requests_cpu: defaults::mcp_server_container_requests_cpu(),
            mcp_server_container_requests_memory: defaults::mcp_server_container_requests_memory(),
            mcp_server_kube_insecure: defaults::mcp_server_kube_insecure(),
            mcp_server_lightspeed_integration: defaults::mcp_server_lightspeed_integration(),
            mcp_server_lightspeed_set_mcp_gate: defaults::mcp_server_lightspeed_set_mcp_gate(),
            mcp_server_max_response_chars: defaults::mcp_server_max_response_chars(),
            mcp_server_output_format: defaults::mcp_server_output_format(),
            mcp_server_read_only: defaults::mcp_server_read_only(),
            mcp_server_verbose: defaults::mcp_server_verbose(),
            metric_interval: defaults::metric_interval(),
            must_gather_image_fqin: None,
            naa_oui_map_configmap_name: defaults::naa_oui_map_configmap_name(),
            ova_container_limits_cpu: defaults::ova_container_limits_cpu(),
            ova_container_limits_memory: defaults::ova_container_limits_memory(),
            ova_container_requests_cpu: defaults::ova_container_requests_cpu(),
            ova_container_requests_memory: defaults::ova_container_requests_memory(),
            ova_provider_server_fqin: None,
            ova_proxy_container_limits_cpu: defaults::ova_proxy_container_limits_cpu(),
            ova_proxy_container_limits_memory: defaults::ova_proxy_container_limits_memory(),
            ova_proxy_container_requests_cpu: defaults::ova_proxy_container_requests_cpu(),
            ova_proxy_container_requests_memory: defaults::ova_proxy_container_requests_memory(),
            ova_proxy_fqin: None,
            ova_proxy_route_timeout: defaults::ova_proxy_route_timeout(),
            ovirt_osmap_configmap_name: defaults::ovirt_osmap_configmap_name(),
            populator_container_limits_cpu: defaults::populator_container_limits_cpu(),
            populator_container_limits_memory: defaults::populator_container_limits_memory(),
            populator_container_requests_cpu: defaults::populator_container_requests_cpu(),
            populator_container_requests_memory: defaults::populator_container_requests_memory(),
            populator_controller_image_fqin: None,
            populator_openstack_image_fqin: None,
            populator_ovirt_image_fqin: None,
            populator_vsphere_copy_offload_image_fqin: None,
            ui_plugin_container_limits_cpu: defaults::ui_plugin_container_limits_cpu(),
            ui_plugin_container_limits_memory: defaults::ui_plugin_container_limits_memory(),
            ui_plugin_container_requests_cpu: defaults::ui_plugin_container_requests_cpu(),
            ui_plugin_container_requests_memory: defaults::ui_plugin_container_requests_memory(),
            ui_plugin_image_fqin: None,
            validation_container_limits_cpu: defaults::validation_container_limits_cpu(),
            validation_container_limits_memory: defaults::validation_container_limits_memory(),
            validation_container_requests_cpu: defaults::validation_container_requests_cpu(),
            validation_container_requests_memory: defaults::validation_container_requests_memory(),
            validation_extra_volume_mountpath: defaults::validation_extra_volume_mountpath(),
            validation_extra_volume_name: defaults::validation_extra_volume_name(),
            validation_image_fqin: None,
            validation_policy_agent_search_interval:
                defaults::validation_policy_agent_search_interval(),
            vddk_image: None,
            virt_customize_configmap_name: defaults::virt_customize_configmap_name(),
            virt_v2v_container_limits_cpu: defaults::virt_v2v_container_limits_cpu(),
            virt_v2v_container_limits_memory: defaults::virt_v2v_container_limits_memory(),
            virt_v2v_container_requests_cpu: defaults::virt_v2v_container_requests_cpu(),
            virt_v2v_container_requests_memory: defaults::virt_v2v_container_requests_memory(),
            virt_v2v_dont_request_kvm: None,
            virt_v2v_extra_args: None,
            virt_v2v_extra_conf_config_map: None,
            virt_v2v_image_fqin: None,
            virt_v2v_image_xfs_fqin: None,
            virt_v2v_inspector_extra_args: None,
            virt_v2v_memsize: None,
            virt_v2v_smp: None,
            vsphere_osmap_configmap_name: defaults::vsphere_osmap_configmap_name(),
            wait_for_final_snapshot_consolidation: defaults::wait_for_final_snapshot_consolidation(
            ),
        }
    }
}

impl ForkliftControllerSettings {
    /// Maximum VMs (vSphere: disks per host budget) migrated at once.
    pub fn max_vm_inflight(&self) -> u32 {
        u32::try_from(self.controller_max_vm_inflight).unwrap_or(0)
    }

    /// Interval between warm-migration precopies.
    pub fn precopy_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            60 * u64::try_from(self.controller_precopy_interval).unwrap_or(0),
        )
    }

    /// Filesystem overhead percentage added to PVC sizes.
    pub fn filesystem_overhead_percent(&self) -> u32 {
        u32::try_from(self.controller_filesystem_overhead).unwrap_or(0)
    }

    /// Block overhead in bytes added to block PVC sizes.
    pub fn block_overhead(&self) -> u64 {
        u64::try_from(self.controller_block_overhead).unwrap_or(0)
    }
}

/// CRD defaults, one function per setting, plus "is default" predicates for saving.
mod defaults {
    use super::{ImagePullPolicy, McpOutputFormat, StringBool};

    pub(super) fn aap_insecure_skip_verify() -> StringBool {
        StringBool::False
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_aap_insecure_skip_verify(value: &StringBool) -> bool {
        *value == aap_insecure_skip_verify()
    }

    pub(super) fn api_container_limits_cpu() -> String {
        "1000m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_api_container_limits_cpu(value: &String) -> bool {
        *value == api_container_limits_cpu()
    }

    pub(super) fn api_container_limits_memory() -> String {
        "1Gi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_api_container_limits_memory(value: &String) -> bool {
        *value == api_container_limits_memory()
    }

    pub(super) fn api_container_requests_cpu() -> String {
        "100m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_api_container_requests_cpu(value: &String) -> bool {
        *value == api_container_requests_cpu()
    }

    pub(super) fn api_container_requests_memory() -> String {
        "150Mi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_api_container_requests_memory(value: &String) -> bool {
        *value == api_container_requests_memory()
    }

    pub(super) fn cli_download_container_limits_cpu() -> String {
        "1000m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_cli_download_container_limits_cpu(value: &String) -> bool {
        *value == cli_download_container_limits_cpu()
    }

    pub(super) fn cli_download_container_limits_memory() -> String {
        "1Gi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_cli_download_container_limits_memory(value: &String) -> bool {
        *value == cli_download_container_limits_memory()
    }

    pub(super) fn cli_download_container_requests_cpu() -> String {
        "100m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_cli_download_container_requests_cpu(value: &String) -> bool {
        *value == cli_download_container_requests_cpu()
    }

    pub(super) fn cli_download_container_requests_memory() -> String {
        "512Mi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_cli_download_container_requests_memory(value: &String) -> bool {
        *value == cli_download_container_requests_memory()
    }

    pub(super) fn controller_block_overhead() -> i32 {
        0
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_block_overhead(value: &i32) -> bool {
        *value == controller_block_overhead()
    }

    pub(super) fn controller_blocker_grace_period_minutes() -> i32 {
        5
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_blocker_grace_period_minutes(value: &i32) -> bool {
        *value == controller_blocker_grace_period_minutes()
    }

    pub(super) fn controller_cleanup_retries() -> i32 {
        10
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_cleanup_retries(value: &i32) -> bool {
        *value == controller_cleanup_retries()
    }

    pub(super) fn controller_container_limits_cpu() -> String {
        "2".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_container_limits_cpu(value: &String) -> bool {
        *value == controller_container_limits_cpu()
    }

    pub(super) fn controller_container_limits_memory() -> String {
        "800Mi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_container_limits_memory(value: &String) -> bool {
        *value == controller_container_limits_memory()
    }

    pub(super) fn controller_container_requests_cpu() -> String {
        "100m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_container_requests_cpu(value: &String) -> bool {
        *value == controller_container_requests_cpu()
    }

    pub(super) fn controller_container_requests_memory() -> String {
        "350Mi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_container_requests_memory(value: &String) -> bool {
        *value == controller_container_requests_memory()
    }

    pub(super) fn controller_filesystem_overhead() -> i32 {
        10
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_filesystem_overhead(value: &i32) -> bool {
        *value == controller_filesystem_overhead()
    }

    pub(super) fn controller_host_lease_duration_seconds() -> i32 {
        10
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_host_lease_duration_seconds(value: &i32) -> bool {
        *value == controller_host_lease_duration_seconds()
    }

    pub(super) fn controller_host_lease_namespace() -> String {
        "openshift-mtv".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_host_lease_namespace(value: &String) -> bool {
        *value == controller_host_lease_namespace()
    }

    pub(super) fn controller_hyperv_refresh_interval() -> String {
        "10s".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_hyperv_refresh_interval(value: &String) -> bool {
        *value == controller_hyperv_refresh_interval()
    }

    pub(super) fn controller_hyperv_validation_timeout() -> String {
        "30s".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_hyperv_validation_timeout(value: &String) -> bool {
        *value == controller_hyperv_validation_timeout()
    }

    pub(super) fn controller_log_level() -> i32 {
        3
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_log_level(value: &i32) -> bool {
        *value == controller_log_level()
    }

    pub(super) fn controller_max_concurrent_reconciles() -> i32 {
        10
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_max_concurrent_reconciles(value: &i32) -> bool {
        *value == controller_max_concurrent_reconciles()
    }

    pub(super) fn controller_max_parent_backing_retries() -> i32 {
        10
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_max_parent_backing_retries(value: &i32) -> bool {
        *value == controller_max_parent_backing_retries()
    }

    pub(super) fn controller_max_populator_inflight() -> i32 {
        20
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_max_populator_inflight(value: &i32) -> bool {
        *value == controller_max_populator_inflight()
    }

    pub(super) fn controller_max_vm_inflight() -> i32 {
        20
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_max_vm_inflight(value: &i32) -> bool {
        *value == controller_max_vm_inflight()
    }

    pub(super) fn controller_ovirt_warm_migration() -> StringBool {
        StringBool::True
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_ovirt_warm_migration(value: &StringBool) -> bool {
        *value == controller_ovirt_warm_migration()
    }

    pub(super) fn controller_precopy_interval() -> i32 {
        60
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_precopy_interval(value: &i32) -> bool {
        *value == controller_precopy_interval()
    }

    pub(super) fn controller_retain_populator_pods() -> StringBool {
        StringBool::False
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_retain_populator_pods(value: &StringBool) -> bool {
        *value == controller_retain_populator_pods()
    }

    pub(super) fn controller_retain_precopy_importer_pods() -> StringBool {
        StringBool::False
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_retain_precopy_importer_pods(value: &StringBool) -> bool {
        *value == controller_retain_precopy_importer_pods()
    }

    pub(super) fn controller_snapshot_removal_check_retries() -> i32 {
        20
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_snapshot_removal_check_retries(value: &i32) -> bool {
        *value == controller_snapshot_removal_check_retries()
    }

    pub(super) fn controller_snapshot_removal_timeout_minuts() -> i32 {
        120
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_snapshot_removal_timeout_minuts(value: &i32) -> bool {
        *value == controller_snapshot_removal_timeout_minuts()
    }

    pub(super) fn controller_snapshot_status_check_rate_seconds() -> i32 {
        10
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_snapshot_status_check_rate_seconds(value: &i32) -> bool {
        *value == controller_snapshot_status_check_rate_seconds()
    }

    pub(super) fn controller_static_udn_ip_addresses() -> StringBool {
        StringBool::True
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_static_udn_ip_addresses(value: &StringBool) -> bool {
        *value == controller_static_udn_ip_addresses()
    }

    pub(super) fn controller_tls_connection_timeout_sec() -> i32 {
        5
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_tls_connection_timeout_sec(value: &i32) -> bool {
        *value == controller_tls_connection_timeout_sec()
    }

    pub(super) fn controller_vddk_job_active_deadline_sec() -> i32 {
        300
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_vddk_job_active_deadline_sec(value: &i32) -> bool {
        *value == controller_vddk_job_active_deadline_sec()
    }

    pub(super) fn controller_vsphere_incremental_backup() -> StringBool {
        StringBool::True
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_vsphere_incremental_backup(value: &StringBool) -> bool {
        *value == controller_vsphere_incremental_backup()
    }

    pub(super) fn controller_windows_reboot_timeout() -> i32 {
        1800
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_controller_windows_reboot_timeout(value: &i32) -> bool {
        *value == controller_windows_reboot_timeout()
    }

    pub(super) fn feature_auth_required() -> StringBool {
        StringBool::True
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_feature_auth_required(value: &StringBool) -> bool {
        *value == feature_auth_required()
    }

    pub(super) fn feature_cli_download() -> StringBool {
        StringBool::True
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_feature_cli_download(value: &StringBool) -> bool {
        *value == feature_cli_download()
    }

    pub(super) fn feature_copy_offload() -> StringBool {
        StringBool::True
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_feature_copy_offload(value: &StringBool) -> bool {
        *value == feature_copy_offload()
    }

    pub(super) fn feature_mcp_server() -> StringBool {
        StringBool::False
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_feature_mcp_server(value: &StringBool) -> bool {
        *value == feature_mcp_server()
    }

    pub(super) fn feature_ocp_live_migration() -> StringBool {
        StringBool::True
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_feature_ocp_live_migration(value: &StringBool) -> bool {
        *value == feature_ocp_live_migration()
    }

    pub(super) fn feature_ova_appliance_management() -> StringBool {
        StringBool::True
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_feature_ova_appliance_management(value: &StringBool) -> bool {
        *value == feature_ova_appliance_management()
    }

    pub(super) fn feature_ui_plugin() -> StringBool {
        StringBool::True
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_feature_ui_plugin(value: &StringBool) -> bool {
        *value == feature_ui_plugin()
    }

    pub(super) fn feature_use_conversion_cr() -> StringBool {
        StringBool::True
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_feature_use_conversion_cr(value: &StringBool) -> bool {
        *value == feature_use_conversion_cr()
    }

    pub(super) fn feature_validation() -> StringBool {
        StringBool::True
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_feature_validation(value: &StringBool) -> bool {
        *value == feature_validation()
    }

    pub(super) fn feature_vmware_system_serial_number() -> StringBool {
        StringBool::True
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_feature_vmware_system_serial_number(value: &StringBool) -> bool {
        *value == feature_vmware_system_serial_number()
    }

    pub(super) fn feature_volume_populator() -> StringBool {
        StringBool::True
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_feature_volume_populator(value: &StringBool) -> bool {
        *value == feature_volume_populator()
    }

    pub(super) fn feature_vsphere_vmware_driver_removal() -> StringBool {
        StringBool::False
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_feature_vsphere_vmware_driver_removal(value: &StringBool) -> bool {
        *value == feature_vsphere_vmware_driver_removal()
    }

    pub(super) fn feature_windows_registry_network_config() -> StringBool {
        StringBool::False
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_feature_windows_registry_network_config(value: &StringBool) -> bool {
        *value == feature_windows_registry_network_config()
    }

    pub(super) fn feature_windows_wait_for_reboot() -> StringBool {
        StringBool::True
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_feature_windows_wait_for_reboot(value: &StringBool) -> bool {
        *value == feature_windows_wait_for_reboot()
    }

    pub(super) fn feature_xfs_repair_ignore() -> StringBool {
        StringBool::False
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_feature_xfs_repair_ignore(value: &StringBool) -> bool {
        *value == feature_xfs_repair_ignore()
    }

    pub(super) fn hooks_container_limits_cpu() -> String {
        "1000m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_hooks_container_limits_cpu(value: &String) -> bool {
        *value == hooks_container_limits_cpu()
    }

    pub(super) fn hooks_container_limits_memory() -> String {
        "1Gi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_hooks_container_limits_memory(value: &String) -> bool {
        *value == hooks_container_limits_memory()
    }

    pub(super) fn hooks_container_requests_cpu() -> String {
        "100m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_hooks_container_requests_cpu(value: &String) -> bool {
        *value == hooks_container_requests_cpu()
    }

    pub(super) fn hooks_container_requests_memory() -> String {
        "150Mi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_hooks_container_requests_memory(value: &String) -> bool {
        *value == hooks_container_requests_memory()
    }

    pub(super) fn hyperv_container_limits_cpu() -> String {
        "1000m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_hyperv_container_limits_cpu(value: &String) -> bool {
        *value == hyperv_container_limits_cpu()
    }

    pub(super) fn hyperv_container_limits_memory() -> String {
        "1Gi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_hyperv_container_limits_memory(value: &String) -> bool {
        *value == hyperv_container_limits_memory()
    }

    pub(super) fn hyperv_container_requests_cpu() -> String {
        "100m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_hyperv_container_requests_cpu(value: &String) -> bool {
        *value == hyperv_container_requests_cpu()
    }

    pub(super) fn hyperv_container_requests_memory() -> String {
        "512Mi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_hyperv_container_requests_memory(value: &String) -> bool {
        *value == hyperv_container_requests_memory()
    }

    pub(super) fn image_pull_policy() -> ImagePullPolicy {
        ImagePullPolicy::Always
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_image_pull_policy(value: &ImagePullPolicy) -> bool {
        *value == image_pull_policy()
    }

    pub(super) fn inventory_container_limits_cpu() -> String {
        "2".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_inventory_container_limits_cpu(value: &String) -> bool {
        *value == inventory_container_limits_cpu()
    }

    pub(super) fn inventory_container_limits_memory() -> String {
        "1Gi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_inventory_container_limits_memory(value: &String) -> bool {
        *value == inventory_container_limits_memory()
    }

    pub(super) fn inventory_container_requests_cpu() -> String {
        "500m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_inventory_container_requests_cpu(value: &String) -> bool {
        *value == inventory_container_requests_cpu()
    }

    pub(super) fn inventory_container_requests_memory() -> String {
        "500Mi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_inventory_container_requests_memory(value: &String) -> bool {
        *value == inventory_container_requests_memory()
    }

    pub(super) fn inventory_route_timeout() -> String {
        "360s".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_inventory_route_timeout(value: &String) -> bool {
        *value == inventory_route_timeout()
    }

    pub(super) fn k8s_cluster() -> StringBool {
        StringBool::False
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_k8s_cluster(value: &StringBool) -> bool {
        *value == k8s_cluster()
    }

    pub(super) fn mcp_server_container_limits_cpu() -> String {
        "1000m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_mcp_server_container_limits_cpu(value: &String) -> bool {
        *value == mcp_server_container_limits_cpu()
    }

    pub(super) fn mcp_server_container_limits_memory() -> String {
        "512Mi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_mcp_server_container_limits_memory(value: &String) -> bool {
        *value == mcp_server_container_limits_memory()
    }

    pub(super) fn mcp_server_container_requests_cpu() -> String {
        "100m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_mcp_server_container_requests_cpu(value: &String) -> bool {
        *value == mcp_server_container_requests_cpu()
    }

    pub(super) fn mcp_server_container_requests_memory() -> String {
        "256Mi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_mcp_server_container_requests_memory(value: &String) -> bool {
        *value == mcp_server_container_requests_memory()
    }

    pub(super) fn mcp_server_kube_insecure() -> StringBool {
        StringBool::True
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_mcp_server_kube_insecure(value: &StringBool) -> bool {
        *value == mcp_server_kube_insecure()
    }

    pub(super) fn mcp_server_lightspeed_integration() -> StringBool {
        StringBool::True
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_mcp_server_lightspeed_integration(value: &StringBool) -> bool {
        *value == mcp_server_lightspeed_integration()
    }

    pub(super) fn mcp_server_lightspeed_set_mcp_gate() -> StringBool {
        StringBool::False
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_mcp_server_lightspeed_set_mcp_gate(value: &StringBool) -> bool {
        *value == mcp_server_lightspeed_set_mcp_gate()
    }

    pub(super) fn mcp_server_max_response_chars() -> i32 {
        0
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_mcp_server_max_response_chars(value: &i32) -> bool {
        *value == mcp_server_max_response_chars()
    }

    pub(super) fn mcp_server_output_format() -> McpOutputFormat {
        McpOutputFormat::Markdown
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_mcp_server_output_format(value: &McpOutputFormat) -> bool {
        *value == mcp_server_output_format()
    }

    pub(super) fn mcp_server_read_only() -> StringBool {
        StringBool::False
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_mcp_server_read_only(value: &StringBool) -> bool {
        *value == mcp_server_read_only()
    }

    pub(super) fn mcp_server_verbose() -> i32 {
        2
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_mcp_server_verbose(value: &i32) -> bool {
        *value == mcp_server_verbose()
    }

    pub(super) fn metric_interval() -> String {
        "30s".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_metric_interval(value: &String) -> bool {
        *value == metric_interval()
    }

    pub(super) fn naa_oui_map_configmap_name() -> String {
        "forklift-naa-oui-map".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_naa_oui_map_configmap_name(value: &String) -> bool {
        *value == naa_oui_map_configmap_name()
    }

    pub(super) fn ova_container_limits_cpu() -> String {
        "1000m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_ova_container_limits_cpu(value: &String) -> bool {
        *value == ova_container_limits_cpu()
    }

    pub(super) fn ova_container_limits_memory() -> String {
        "1Gi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_ova_container_limits_memory(value: &String) -> bool {
        *value == ova_container_limits_memory()
    }

    pub(super) fn ova_container_requests_cpu() -> String {
        "100m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_ova_container_requests_cpu(value: &String) -> bool {
        *value == ova_container_requests_cpu()
    }

    pub(super) fn ova_container_requests_memory() -> String {
        "512Mi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_ova_container_requests_memory(value: &String) -> bool {
        *value == ova_container_requests_memory()
    }

    pub(super) fn ova_proxy_container_limits_cpu() -> String {
        "1000m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_ova_proxy_container_limits_cpu(value: &String) -> bool {
        *value == ova_proxy_container_limits_cpu()
    }

    pub(super) fn ova_proxy_container_limits_memory() -> String {
        "1Gi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_ova_proxy_container_limits_memory(value: &String) -> bool {
        *value == ova_proxy_container_limits_memory()
    }

    pub(super) fn ova_proxy_container_requests_cpu() -> String {
        "250m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_ova_proxy_container_requests_cpu(value: &String) -> bool {
        *value == ova_proxy_container_requests_cpu()
    }

    pub(super) fn ova_proxy_container_requests_memory() -> String {
        "512Mi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_ova_proxy_container_requests_memory(value: &String) -> bool {
        *value == ova_proxy_container_requests_memory()
    }

    pub(super) fn ova_proxy_route_timeout() -> String {
        "360s".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_ova_proxy_route_timeout(value: &String) -> bool {
        *value == ova_proxy_route_timeout()
    }

    pub(super) fn ovirt_osmap_configmap_name() -> String {
        "forklift-ovirt-osmap".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_ovirt_osmap_configmap_name(value: &String) -> bool {
        *value == ovirt_osmap_configmap_name()
    }

    pub(super) fn populator_container_limits_cpu() -> String {
        "1000m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_populator_container_limits_cpu(value: &String) -> bool {
        *value == populator_container_limits_cpu()
    }

    pub(super) fn populator_container_limits_memory() -> String {
        "1Gi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_populator_container_limits_memory(value: &String) -> bool {
        *value == populator_container_limits_memory()
    }

    pub(super) fn populator_container_requests_cpu() -> String {
        "100m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_populator_container_requests_cpu(value: &String) -> bool {
        *value == populator_container_requests_cpu()
    }

    pub(super) fn populator_container_requests_memory() -> String {
        "512Mi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_populator_container_requests_memory(value: &String) -> bool {
        *value == populator_container_requests_memory()
    }

    pub(super) fn ui_plugin_container_limits_cpu() -> String {
        "100m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_ui_plugin_container_limits_cpu(value: &String) -> bool {
        *value == ui_plugin_container_limits_cpu()
    }

    pub(super) fn ui_plugin_container_limits_memory() -> String {
        "800Mi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_ui_plugin_container_limits_memory(value: &String) -> bool {
        *value == ui_plugin_container_limits_memory()
    }

    pub(super) fn ui_plugin_container_requests_cpu() -> String {
        "100m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_ui_plugin_container_requests_cpu(value: &String) -> bool {
        *value == ui_plugin_container_requests_cpu()
    }

    pub(super) fn ui_plugin_container_requests_memory() -> String {
        "150Mi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_ui_plugin_container_requests_memory(value: &String) -> bool {
        *value == ui_plugin_container_requests_memory()
    }

    pub(super) fn validation_container_limits_cpu() -> String {
        "1000m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_validation_container_limits_cpu(value: &String) -> bool {
        *value == validation_container_limits_cpu()
    }

    pub(super) fn validation_container_limits_memory() -> String {
        "300Mi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_validation_container_limits_memory(value: &String) -> bool {
        *value == validation_container_limits_memory()
    }

    pub(super) fn validation_container_requests_cpu() -> String {
        "400m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_validation_container_requests_cpu(value: &String) -> bool {
        *value == validation_container_requests_cpu()
    }

    pub(super) fn validation_container_requests_memory() -> String {
        "50Mi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_validation_container_requests_memory(value: &String) -> bool {
        *value == validation_container_requests_memory()
    }

    pub(super) fn validation_extra_volume_mountpath() -> String {
        "/usr/share/opa/policies/extra".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_validation_extra_volume_mountpath(value: &String) -> bool {
        *value == validation_extra_volume_mountpath()
    }

    pub(super) fn validation_extra_volume_name() -> String {
        "validation-extra-rules".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_validation_extra_volume_name(value: &String) -> bool {
        *value == validation_extra_volume_name()
    }

    pub(super) fn validation_policy_agent_search_interval() -> i32 {
        120
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_validation_policy_agent_search_interval(value: &i32) -> bool {
        *value == validation_policy_agent_search_interval()
    }

    pub(super) fn virt_customize_configmap_name() -> String {
        "forklift-virt-customize".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_virt_customize_configmap_name(value: &String) -> bool {
        *value == virt_customize_configmap_name()
    }

    pub(super) fn virt_v2v_container_limits_cpu() -> String {
        "4000m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_virt_v2v_container_limits_cpu(value: &String) -> bool {
        *value == virt_v2v_container_limits_cpu()
    }

    pub(super) fn virt_v2v_container_limits_memory() -> String {
        "8Gi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_virt_v2v_container_limits_memory(value: &String) -> bool {
        *value == virt_v2v_container_limits_memory()
    }

    pub(super) fn virt_v2v_container_requests_cpu() -> String {
        "1000m".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_virt_v2v_container_requests_cpu(value: &String) -> bool {
        *value == virt_v2v_container_requests_cpu()
    }

    pub(super) fn virt_v2v_container_requests_memory() -> String {
        "1Gi".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_virt_v2v_container_requests_memory(value: &String) -> bool {
        *value == virt_v2v_container_requests_memory()
    }

    pub(super) fn vsphere_osmap_configmap_name() -> String {
        "forklift-vsphere-osmap".to_owned()
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_vsphere_osmap_configmap_name(value: &String) -> bool {
        *value == vsphere_osmap_configmap_name()
    }

    pub(super) fn wait_for_final_snapshot_consolidation() -> StringBool {
        StringBool::True
    }
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn is_wait_for_final_snapshot_consolidation(value: &StringBool) -> bool {
        *value == wait_for_final_snapshot_consolidation()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_issue_and_guide() {
        let s = ForkliftControllerSettings::default();
        assert_eq!(s.controller_max_vm_inflight, 20);
        assert_eq!(s.controller_precopy_interval, 60);
        assert_eq!(s.controller_snapshot_status_check_rate_seconds, 10);
        assert_eq!(s.controller_filesystem_overhead, 10);
        assert_eq!(s.controller_block_overhead, 0);
        assert_eq!(s.vsphere_osmap_configmap_name, "forklift-vsphere-osmap");
        assert_eq!(s.ovirt_osmap_configmap_name, "forklift-ovirt-osmap");
        assert_eq!(s.feature_copy_offload, StringBool::True);
        assert_eq!(serde_json::to_value(&s).unwrap(), serde_json::json!({}));
        let parsed: ForkliftControllerSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, s);
    }

    #[test]
    fn feature_gates_reject_yaml_booleans() {
        let err =
            serde_json::from_str::<ForkliftControllerSettings>(r#"{"feature_copy_offload": true}"#)
                .unwrap_err()
                .to_string();
        assert!(err.contains("expected one of true, false"), "{err}");
        let ok: ForkliftControllerSettings =
            serde_json::from_str(r#"{"feature_copy_offload": "false"}"#).unwrap();
        assert!(!ok.feature_copy_offload.as_bool());
    }
}
