"""Inventory collection from a real OVA catalog: an OVF package with a VMDK made by qemu-img."""

from __future__ import annotations

from pathlib import Path

import pytest

import forklift
from conftest import catalog

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


def test_skipped_packages_are_listed_with_their_reason(tmp_path: Path) -> None:
    import os

    root = catalog(tmp_path)
    os.mkfifo(root / "pipe.ova")
    (root / "zero.ova").symlink_to("/dev/zero")
    (root / "empty.ova").write_bytes(b"")
    inv = forklift.inventory(provider(root))
    assert [vm.name for vm in inv.vms] == ["App Server"]
    assert inv.ext is not None
    skipped = sorted((s.path, s.reason) for s in inv.ext.ova.skipped)
    assert skipped == [("empty.ova", "empty"), ("pipe.ova", "notRegularFile"), ("zero.ova", "link")]


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


def test_plain_http_vsphere_urls_are_refused_unless_allowed() -> None:
    objects = forklift.loads(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: mtv}\n"
        "stringData: {user: u, password: p}\n---\n"
        "apiVersion: forklift.konveyor.io/v1beta1\nkind: Provider\nmetadata: {name: vc, namespace: mtv}\n"
        "spec: {type: vsphere, url: 'http://127.0.0.1:9/sdk', secret: {name: s, namespace: mtv}}\n"
    )
    with pytest.raises(forklift.ProviderError, match="spec.url") as info:
        forklift.inventory("mtv/vc", manifests=objects)
    assert info.value.kind == "config"
    # Allowed, the URL is used: nothing listens on the discard port.
    with pytest.raises(forklift.ProviderError) as info:
        forklift.inventory("mtv/vc", manifests=objects, allow_plain_http=True)
    assert info.value.kind == "http"
