// Package v1beta1 mirrors the naming-template data types of Forklift's
// pkg/apis/forklift/v1beta1, so that %T and %#v print the same type names.
package v1beta1

// PVCNameTemplateData holds the variables of PVC name templates.
type PVCNameTemplateData struct {
	VmName             string
	TargetVmName       string
	PlanName           string
	DiskIndex          int
	VmId               string
	WinDriveLetter     string
	RootDiskIndex      int
	Shared             bool
	FileName           string
	SourcePVCName      string
	SourcePVCNamespace string
	VolumeID           string
	SnapshotID         string
	DiskId             string
}

// VolumeNameTemplateData holds the variables of volume name templates.
type VolumeNameTemplateData struct {
	PVCName     string
	VolumeIndex int
}

// NetworkNameTemplateData holds the variables of network name templates.
type NetworkNameTemplateData struct {
	NetworkName      string
	NetworkNamespace string
	NetworkType      string
	NetworkIndex     int
}
