"""The cluster side from Python: ``deploy`` and ``destination="kubevirt"``.

No Kubernetes API server runs here: the Rust suite (tests/cluster_kubevirt.rs) drives these
paths against its test API server; these tests check the Python surface and its errors.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import forklift
from test_migrate import manifests


def unreachable_kubeconfig(tmp_path: Path) -> Path:
    """A kubeconfig naming a loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: c\n  cluster: {{server: 'http://127.0.0.1:{port}'}}\n"
        "users:\n- name: u\n  user: {token: t}\n"
        "contexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n"
    )
    return path


def test_a_local_bundle_is_deployable_and_deploy_names_an_unreachable_cluster(tmp_path: Path) -> None:
    objects = manifests(tmp_path)
    report = forklift.migrate(objects, f"local:{tmp_path / 'out'}")
    assert [vm.outcome for vm in report.vms] == ["succeeded"], report.to_dict()
    uploads = (tmp_path / "out" / "apps" / "uploads.yaml").read_text()
    assert "image: disks/" in uploads, uploads
    for dv in (tmp_path / "out" / "apps" / "datavolumes").iterdir():
        assert "upload: {}" in dv.read_text(), dv.read_text()
    with pytest.raises(forklift.ClusterError, match="unreachable") as raised:
        forklift.deploy(tmp_path / "out", kubeconfig=unreachable_kubeconfig(tmp_path))
    assert raised.value.created == {
        "dataVolumes": [],
        "uploaded": [],
        "adopted": [],
        "virtualMachines": [],
    }


def test_deploy_refuses_a_directory_that_is_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(forklift.ForkliftError, match="holds no VirtualMachine") as raised:
        forklift.deploy(tmp_path, kubeconfig=unreachable_kubeconfig(tmp_path))
    assert not isinstance(raised.value, forklift.ClusterError)


def test_the_kubevirt_destination_fails_the_vm_naming_the_unreachable_cluster(tmp_path: Path) -> None:
    objects = manifests(tmp_path)
    report = forklift.migrate(
        objects,
        "kubevirt",
        kubeconfig=unreachable_kubeconfig(tmp_path),
        staging=tmp_path / "staging",
    )
    (vm,) = report.vms
    assert vm.outcome == "failed"
    assert vm.error is not None and "is unreachable" in vm.error, vm.error
    # Nothing was copied towards a cluster that cannot be reached.
    assert not any((tmp_path / "staging").rglob("*.img"))
