"""Inventory collection from a real OVA catalog: an OVF package with a VMDK made by qemu-img."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import forklift

OVF = """<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
    xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
    xmlns:vmw="http://www.vmware.com/schema/ovf"
    xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References><File ovf:href="app-disk1.vmdk" ovf:id="file1" ovf:size="{size}"/></References>
  <DiskSection><Info>Disks</Info>
    <Disk ovf:capacity="64" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1"
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


def catalog(tmp_path: Path) -> Path:
    qemu_img = shutil.which("qemu-img")
    if qemu_img is None:
        if os.environ.get("CI") == "true":
            pytest.fail("qemu-img is missing: scripts/setup.sh installs it")
        pytest.skip("qemu-img is not installed")
    package = tmp_path / "catalog" / "app-server"
    package.mkdir(parents=True)
    vmdk = package / "app-disk1.vmdk"
    subprocess.run([qemu_img, "create", "-q", "-f", "vmdk", "-o", "subformat=streamOptimized", vmdk, "64M"], check=True)
    (package / "app-server.ovf").write_text(OVF.format(size=vmdk.stat().st_size))
    # The catalog skips files changed in the last 30 seconds (still being copied).
    old = time.time() - 120
    for path in (vmdk, package / "app-server.ovf"):
        os.utime(path, (old, old))
    return tmp_path / "catalog"


def provider(url: Path) -> forklift.Resource:
    return forklift.loads(
        f"""
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {{name: ova, namespace: mtv}}
spec: {{type: ova, url: "{url}"}}
"""
    )[0]


def test_inventory_of_an_ova_catalog(tmp_path: Path) -> None:
    inv = forklift.inventory(provider(catalog(tmp_path)))
    assert inv.provider == "ova"
    [vm] = inv.vms
    assert (vm.name, vm.cpu_count, vm.memory_mib, vm.firmware) == ("App Server", 2, 2048, "efi")
    assert vm.disks[0].capacity == 64 * 1024 * 1024
    assert vm.nics[0].mac == "00:50:56:aa:00:01"
    assert [n.name for n in inv.networks] == ["VM Network"]


def test_inventory_by_name_among_manifests_and_async(tmp_path: Path) -> None:
    import asyncio

    manifests = [provider(catalog(tmp_path))]
    inv = asyncio.run(forklift.async_inventory("mtv/ova", manifests=manifests))
    assert len(inv.vms) == 1


def test_provider_errors_are_typed(tmp_path: Path) -> None:
    with pytest.raises(forklift.ProviderError) as info:
        forklift.inventory("mtv/missing", manifests=[provider(tmp_path)])
    assert info.value.kind == "not_found"
    kubevirt = forklift.loads(
        "apiVersion: forklift.konveyor.io/v1beta1\nkind: Provider\nmetadata: {name: k, namespace: mtv}\n"
        "spec: {type: openshift, url: https://api.example:6443}\n"
    )[0]
    with pytest.raises(forklift.ProviderError) as info:
        forklift.inventory(kubevirt)
    assert info.value.kind == "config"
