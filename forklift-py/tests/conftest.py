"""Shared fixtures: paths into the repository and the read-only shared references."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"


@pytest.fixture
def seed_manifests() -> Path:
    """The guide's YAML examples (`../shared/fixtures/seed-manifests`)."""
    path = SHARED / "fixtures" / "seed-manifests"
    assert path.is_dir(), f"missing shared references at {SHARED}"
    return path


OVF = """<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
    xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
    xmlns:vmw="http://www.vmware.com/schema/ovf"
    xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References><File ovf:href="app-disk1.vmdk" ovf:id="file1" ovf:size="{size}"/></References>
  <DiskSection><Info>Disks</Info>
    <Disk ovf:capacity="{capacity}" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1"
      ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <NetworkSection><Info>Networks</Info><Network ovf:name="VM Network"><Description>net</Description></Network></NetworkSection>
  <VirtualSystem ovf:id="5b0c5c9e-2f4e-4a51-9a0e-0c1f3a5c7d11">
    <Info>A virtual machine</Info>
    <Name>App Server</Name>
    <OperatingSystemSection ovf:id="80" vmw:osType="rhel9_64Guest"><Info>OS</Info></OperatingSystemSection>
    <VirtualHardwareSection><Info>Hardware</Info>
      <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:ElementName>2 CPUs</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>2048MB</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>2048</rasd:VirtualQuantity></Item>
      <Item><rasd:Address>0</rasd:Address><rasd:ElementName>SCSI controller 0</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>VirtualSCSI</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>Hard Disk 1</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>10</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:Address>00:50:56:aa:00:01</rasd:Address><rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>VM Network</rasd:Connection><rasd:ElementName>Network adapter 1</rasd:ElementName>
        <rasd:InstanceID>20</rasd:InstanceID><rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"""


def need(tool: str) -> str:
    """The path of an external tool; a missing one fails in CI (setup.sh installs it)."""
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is missing: scripts/setup.sh installs it")
        pytest.skip(f"{tool} is not installed")
    return path


def catalog(tmp_path: Path, size_mib: int = 64, random_mib: int = 0) -> Path:
    """An OVA catalog holding one extracted OVF package ("App Server", one disk of
    `size_mib` MiB made by qemu-img from `disk.raw`, whose bytes the test can compare with).
    `random_mib` MiB of random bytes at its start make the copy take a while."""
    qemu_img = need("qemu-img")
    package = tmp_path / "catalog" / "app-server"
    package.mkdir(parents=True)
    raw = tmp_path / "disk.raw"
    with open(raw, "wb") as file:
        file.truncate(size_mib << 20)
        for mib in range(random_mib):
            file.write(os.urandom(1 << 20))
        for offset in (0, 9 << 20, (size_mib - 1) << 20):
            file.seek(offset)
            file.write(bytes(range(256)) * 1024)
    vmdk = package / "app-disk1.vmdk"
    subprocess.run(
        [qemu_img, "convert", "-q", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, vmdk],
        check=True,
    )
    (package / "app-server.ovf").write_text(OVF.format(size=vmdk.stat().st_size, capacity=size_mib))
    # The catalog skips files changed in the last 30 seconds (still being copied).
    old = time.time() - 120
    for path in (vmdk, package / "app-server.ovf"):
        os.utime(path, (old, old))
    return tmp_path / "catalog"
