//! The table of `ForkliftController.spec` settings: `olm_managed`, then the CRD's settings in
//! its (alphabetical) order.

use super::{ImagePullPolicy, McpOutputFormat, StringBool};

settings_table! {
    /// `ForkliftController.spec`: every setting of the CRD, typed, with its default.
    pub struct ForkliftControllerSettings {
        /// Set by OLM-managed installations (used in the guide's examples; not part of the CRD
        /// schema, so the API server prunes it).
        olm_managed: Option<bool>,
        /// Name of the Secret containing a custom CA certificate (data key: ca.crt) for AAP TLS verification.
        aap_ca_secret_name: Option<String>,
        /// Skip TLS certificate verification when connecting to AAP.
        aap_insecure_skip_verify: StringBool = false,
        /// Default timeout in seconds for AAP HTTP calls and job polling.
        aap_timeout: Option<i32>,
        /// Name of the Secret containing the AAP API Bearer token (data key: token).
        aap_token_secret_name: Option<String>,
        /// Ansible Automation Platform base URL. Required for centralized AAP connection together with aap_token_secret_name.
        aap_url: Option<String>,
        /// API service CPU limit.
        api_container_limits_cpu: String = "1000m",
        /// API service memory limit.
        api_container_limits_memory: String = "1Gi",
        /// API service CPU request.
        api_container_requests_cpu: String = "100m",
        /// API service memory request.
        api_container_requests_memory: String = "150Mi",
        /// API service image. Optional. If left empty, the operator automatically sets this from the release payload.
        api_image_fqin: Option<String>,
        /// CLI download service CPU limit.
        cli_download_container_limits_cpu: String = "1000m",
        /// CLI download service memory limit.
        cli_download_container_limits_memory: String = "1Gi",
        /// CLI download service CPU request.
        cli_download_container_requests_cpu: String = "100m",
        /// CLI download service memory request.
        cli_download_container_requests_memory: String = "512Mi",
        /// CLI download service image. Optional. If left empty, the operator automatically sets this from the release payload.
        cli_download_image_fqin: Option<String>,
        /// Block overhead in bytes.
        controller_block_overhead: i32 = 0,
        /// How long Critical/Error blocker conditions must persist before failing an active migration, in minutes.
        controller_blocker_grace_period_minutes: i32 = 5,
        /// Cleanup retry count.
        controller_cleanup_retries: i32 = 10,
        /// Controller CPU limit.
        controller_container_limits_cpu: String = "2",
        /// Controller memory limit.
        controller_container_limits_memory: String = "800Mi",
        /// Controller CPU request.
        controller_container_requests_cpu: String = "100m",
        /// Controller memory request.
        controller_container_requests_memory: String = "350Mi",
        /// Filesystem overhead percentage.
        controller_filesystem_overhead: i32 = 10,
        /// Host lease duration in seconds.
        controller_host_lease_duration_seconds: i32 = 10,
        /// Namespace for host lease objects.
        controller_host_lease_namespace: String = "openshift-mtv",
        /// HyperV inventory refresh interval as a Go duration.
        controller_hyperv_refresh_interval: String = "10s",
        /// Timeout for HyperV SMB disk validation HTTP calls as a Go duration.
        controller_hyperv_validation_timeout: String = "30s",
        /// Controller pod image. Optional. If left empty, the operator automatically sets this from the release payload.
        controller_image_fqin: Option<String>,
        /// Log verbosity level.
        controller_log_level: i32 = 3,
        /// Max concurrent reconciles.
        controller_max_concurrent_reconciles: i32 = 10,
        /// Max retries when getting parent disks.
        controller_max_parent_backing_retries: i32 = 10,
        /// Max concurrent populator pods per ESXi host.
        controller_max_populator_inflight: i32 = 20,
        /// Max concurrent VM migrations.
        controller_max_vm_inflight: i32 = 20,
        /// Global default ServiceAccount for migration pods in the target namespace. Overridden by Plan-level serviceAccount.
        controller_migration_service_account: Option<String>,
        /// Global default Go template for generating PVC names during OpenShift (OCP) migrations. Used when the Plan-level pvcNameTemplate is empty. When this field is also empty, the controller falls back to "\{\{.SourcePVCName\}\}" (preserves the source PVC name). Does not apply to non-OCP providers (see controller_pvc_name_template). IMPORTANT: Curly braces must be escaped with a backslash (\{ and \}) to avoid conflicts with the operator's Ansible/Jinja2 templating engine. The controller unescapes them before parsing the Go template. Example: "\{\{.SourcePVCNamespace\}\}-\{\{.SourcePVCName\}\}".
        controller_ocp_pvc_name_template: Option<String>,
        /// Enable oVirt warm migration.
        controller_ovirt_warm_migration: StringBool = true,
        /// Precopy interval in minutes.
        controller_precopy_interval: i32 = 60,
        /// Global default Go template for generating PVC names during non-OCP migrations. Used when the Plan-level pvcNameTemplate is empty. When this field is also empty, the controller falls back to the hardcoded default: "\{\{trunc 15 .PlanName\}\}-\{\{trunc 15 .TargetVmName\}\}-disk-\{\{.DiskIndex\}\}". Does not apply to OpenShift sources (see controller_ocp_pvc_name_template). IMPORTANT: Curly braces must be escaped with a backslash (\{ and \}) to avoid conflicts with the operator's Ansible/Jinja2 templating engine. The controller unescapes them before parsing the Go template. Example: "\{\{trunc 10 .PlanName\}\}-\{\{.TargetVmName\}\}-\{\{.DiskIndex\}\}".
        controller_pvc_name_template: Option<String>,
        /// Retain populator pods after migration for debugging.
        controller_retain_populator_pods: StringBool = false,
        /// Retain precopy pods.
        controller_retain_precopy_importer_pods: StringBool = false,
        /// Snapshot removal retries.
        controller_snapshot_removal_check_retries: i32 = 20,
        /// Snapshot removal timeout in minutes.
        controller_snapshot_removal_timeout_minuts: i32 = 120,
        /// Snapshot status check rate in seconds.
        controller_snapshot_status_check_rate_seconds: i32 = 10,
        /// Enable static UDN IP addresses feature.
        controller_static_udn_ip_addresses: StringBool = true,
        /// TLS connection timeout seconds.
        controller_tls_connection_timeout_sec: i32 = 5,
        /// Optional NAD name for controller pod transfer network (format: 'namespace/network-name').
        controller_transfer_network: Option<String>,
        /// VDDK job timeout in seconds.
        controller_vddk_job_active_deadline_sec: i32 = 300,
        /// Use vSphere incremental backup.
        controller_vsphere_incremental_backup: StringBool = true,
        /// Timeout in seconds for the wait-for-reboot step.
        controller_windows_reboot_timeout: i32 = 1800,
        /// Deep inspection image. Optional. If left empty, the operator automatically sets this from the release payload.
        deep_inspection_image_fqin: Option<String>,
        /// Deep inspection XFS image. Optional. If left empty, the operator automatically sets this from the release payload.
        deep_inspection_image_xfs_fqin: Option<String>,
        /// Require authentication.
        feature_auth_required: StringBool = true,
        /// Enable CLI download service.
        feature_cli_download: StringBool = true,
        /// Enable copy offload plugins.
        feature_copy_offload: StringBool = true,
        /// Enable MCP server deployment (requires OpenShift with Lightspeed).
        feature_mcp_server: StringBool = false,
        /// Enable OCP live migration.
        feature_ocp_live_migration: StringBool = true,
        /// Enable OVF-based appliance management endpoints (OVA, HyperV).
        feature_ova_appliance_management: StringBool = true,
        /// Enable UI plugin.
        feature_ui_plugin: StringBool = true,
        /// Delegate VM conversion to Conversion CRs instead of managing it directly.
        feature_use_conversion_cr: StringBool = true,
        /// Enable validation service.
        feature_validation: StringBool = true,
        /// Use VMware system serial numbers.
        feature_vmware_system_serial_number: StringBool = true,
        /// Enable volume populators.
        feature_volume_populator: StringBool = true,
        /// Run VMware driver removal scripts during Windows vSphere conversion.
        feature_vsphere_vmware_driver_removal: StringBool = false,
        /// Use registry-based network configuration scripts for Windows static IP setup.
        feature_windows_registry_network_config: StringBool = false,
        /// Enable automatic wait-for-reboot step for Windows VM migrations.
        feature_windows_wait_for_reboot: StringBool = true,
        /// Ignore xfs_repair exit status during conversion.
        feature_xfs_repair_ignore: StringBool = false,
        /// Hooks CPU limit.
        hooks_container_limits_cpu: String = "1000m",
        /// Hooks memory limit.
        hooks_container_limits_memory: String = "1Gi",
        /// Hooks CPU request.
        hooks_container_requests_cpu: String = "100m",
        /// Hooks memory request.
        hooks_container_requests_memory: String = "150Mi",
        /// HyperV CPU limit.
        hyperv_container_limits_cpu: String = "1000m",
        /// HyperV memory limit.
        hyperv_container_limits_memory: String = "1Gi",
        /// HyperV CPU request.
        hyperv_container_requests_cpu: String = "100m",
        /// HyperV memory request.
        hyperv_container_requests_memory: String = "512Mi",
        /// HyperV provider server image. Optional. If left empty, the operator automatically sets this from the release payload.
        hyperv_provider_server_fqin: Option<String>,
        /// Image pull policy.
        image_pull_policy: ImagePullPolicy = ImagePullPolicy::Always,
        /// Inventory CPU limit.
        inventory_container_limits_cpu: String = "2",
        /// Inventory memory limit.
        inventory_container_limits_memory: String = "1Gi",
        /// Inventory CPU request.
        inventory_container_requests_cpu: String = "500m",
        /// Inventory memory request.
        inventory_container_requests_memory: String = "500Mi",
        /// Inventory route timeout.
        inventory_route_timeout: String = "360s",
        /// Whether running on Kubernetes (vs OpenShift).
        k8s_cluster: StringBool = false,
        /// MCP server CPU limit.
        mcp_server_container_limits_cpu: String = "1000m",
        /// MCP server memory limit.
        mcp_server_container_limits_memory: String = "512Mi",
        /// MCP server CPU request.
        mcp_server_container_requests_cpu: String = "100m",
        /// MCP server memory request.
        mcp_server_container_requests_memory: String = "256Mi",
        /// Skip TLS verification for in-cluster MCP calls.
        mcp_server_kube_insecure: StringBool = true,
        /// Register MCP server with OpenShift Lightspeed.
        mcp_server_lightspeed_integration: StringBool = true,
        /// Add MCPServer to OLSConfig featureGates when registering with Lightspeed.
        mcp_server_lightspeed_set_mcp_gate: StringBool = false,
        /// MCP server max response chars, 0 for unlimited.
        mcp_server_max_response_chars: i32 = 0,
        /// MCP server output format.
        mcp_server_output_format: McpOutputFormat = McpOutputFormat::Markdown,
        /// Run MCP server in read-only mode.
        mcp_server_read_only: StringBool = false,
        /// MCP server verbosity level.
        mcp_server_verbose: i32 = 2,
        /// Metrics scrape interval.
        metric_interval: String = "30s",
        /// Must-gather debugging image. Optional. If left empty, the operator automatically sets this from the release payload.
        must_gather_image_fqin: Option<String>,
        /// ConfigMap name for custom NAA OUI to storage vendor mappings.
        naa_oui_map_configmap_name: String = "forklift-naa-oui-map",
        /// OVA CPU limit.
        ova_container_limits_cpu: String = "1000m",
        /// OVA memory limit.
        ova_container_limits_memory: String = "1Gi",
        /// OVA CPU request.
        ova_container_requests_cpu: String = "100m",
        /// OVA memory request.
        ova_container_requests_memory: String = "512Mi",
        /// OVA provider server image. Optional. If left empty, the operator automatically sets this from the release payload.
        ova_provider_server_fqin: Option<String>,
        /// OVA Proxy CPU limit.
        ova_proxy_container_limits_cpu: String = "1000m",
        /// OVA Proxy memory limit.
        ova_proxy_container_limits_memory: String = "1Gi",
        /// OVA Proxy CPU request.
        ova_proxy_container_requests_cpu: String = "250m",
        /// OVA Proxy memory request.
        ova_proxy_container_requests_memory: String = "512Mi",
        /// OVA inventory proxy image. Optional. If left empty, the operator automatically sets this from the release payload.
        ova_proxy_fqin: Option<String>,
        /// OVA Proxy route timeout.
        ova_proxy_route_timeout: String = "360s",
        /// ConfigMap name for oVirt OS mappings.
        ovirt_osmap_configmap_name: String = "forklift-ovirt-osmap",
        /// Volume Populator CPU limit.
        populator_container_limits_cpu: String = "1000m",
        /// Volume Populator memory limit.
        populator_container_limits_memory: String = "1Gi",
        /// Volume Populator CPU request.
        populator_container_requests_cpu: String = "100m",
        /// Volume Populator memory request.
        populator_container_requests_memory: String = "512Mi",
        /// Volume populator controller image. Optional. If left empty, the operator automatically sets this from the release payload.
        populator_controller_image_fqin: Option<String>,
        /// OpenStack populator image. Optional. If left empty, the operator automatically sets this from the release payload.
        populator_openstack_image_fqin: Option<String>,
        /// oVirt populator image. Optional. If left empty, the operator automatically sets this from the release payload.
        populator_ovirt_image_fqin: Option<String>,
        /// vSphere xcopy populator image. Optional. If left empty, the operator automatically sets this from the release payload.
        populator_vsphere_copy_offload_image_fqin: Option<String>,
        /// UI plugin CPU limit.
        ui_plugin_container_limits_cpu: String = "100m",
        /// UI plugin memory limit.
        ui_plugin_container_limits_memory: String = "800Mi",
        /// UI plugin CPU request.
        ui_plugin_container_requests_cpu: String = "100m",
        /// UI plugin memory request.
        ui_plugin_container_requests_memory: String = "150Mi",
        /// UI plugin image. Optional. If left empty, the operator automatically sets this from the release payload.
        ui_plugin_image_fqin: Option<String>,
        /// Validation CPU limit.
        validation_container_limits_cpu: String = "1000m",
        /// Validation memory limit.
        validation_container_limits_memory: String = "300Mi",
        /// Validation CPU request.
        validation_container_requests_cpu: String = "400m",
        /// Validation memory request.
        validation_container_requests_memory: String = "50Mi",
        /// Mount path for extra validation rules.
        validation_extra_volume_mountpath: String = "/usr/share/opa/policies/extra",
        /// Volume name for extra validation rules.
        validation_extra_volume_name: String = "validation-extra-rules",
        /// Validation service image. Optional. If left empty, the operator automatically sets this from the release payload.
        validation_image_fqin: Option<String>,
        /// Policy agent search interval in seconds.
        validation_policy_agent_search_interval: i32 = 120,
        /// VDDK image for VMware disk access. Optional. If left empty, no VDDK image is configured.
        vddk_image: Option<String>,
        /// ConfigMap name for virt-customize configuration.
        virt_customize_configmap_name: String = "forklift-virt-customize",
        /// Virt-v2v CPU limit.
        virt_v2v_container_limits_cpu: String = "4000m",
        /// Virt-v2v memory limit.
        virt_v2v_container_limits_memory: String = "8Gi",
        /// Virt-v2v CPU request.
        virt_v2v_container_requests_cpu: String = "1000m",
        /// Virt-v2v memory request.
        virt_v2v_container_requests_memory: String = "1Gi",
        /// Don't request KVM for virt-v2v. Optional. If left empty, the operator automatically sets this from the environment.
        virt_v2v_dont_request_kvm: Option<StringBool>,
        /// Additional arguments for virt-v2v conversion. Optional. If left empty, the operator automatically sets this from the environment.
        virt_v2v_extra_args: Option<String>,
        /// ConfigMap name containing extra virt-v2v configuration. Optional. If left empty, the operator automatically sets this from the environment.
        virt_v2v_extra_conf_config_map: Option<String>,
        /// Virt-v2v conversion image. Optional. If left empty, the operator automatically sets this from the release payload.
        virt_v2v_image_fqin: Option<String>,
        /// Virt-v2v XFS conversion image. Optional. If left empty, the operator automatically sets this from the release payload.
        virt_v2v_image_xfs_fqin: Option<String>,
        /// Additional arguments for virt-v2v-inspector. Optional. If left empty, the operator automatically sets this from the environment.
        virt_v2v_inspector_extra_args: Option<String>,
        /// Memory (in MB) allocated for the virt-v2v conversion appliance.
        virt_v2v_memsize: Option<i32>,
        /// Number of virtual CPUs for the virt-v2v conversion appliance.
        virt_v2v_smp: Option<i32>,
        /// ConfigMap name for vSphere OS mappings.
        vsphere_osmap_configmap_name: String = "forklift-vsphere-osmap",
        /// Wait for final snapshot removal and consolidation in a VMware warm migration.
        wait_for_final_snapshot_consolidation: StringBool = true,
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
