"""Loading and saving manifests through the library's typed model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import forklift

PLAN_AND_PROVIDER = """\
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {name: vcenter, namespace: mtv}
spec:
  type: vsphere
  url: https://vcenter.example.com/sdk
  secret: {name: vcenter, namespace: mtv}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Plan
metadata: {name: web, namespace: mtv}
spec:
  targetNamespace: apps
  provider:
    source: {name: vcenter, namespace: mtv}
    destination: {name: host, namespace: mtv}
  map:
    network: {name: net, namespace: mtv}
    storage: {name: disks, namespace: mtv}
  vms:
    - {id: vm-1, targetPowerState: "off"}
"""


def test_loads_gives_resources_with_attribute_access_and_crd_defaults() -> None:
    manifests = forklift.loads(PLAN_AND_PROVIDER, source="plan.yaml")
    assert len(manifests) == 2
    assert manifests.diagnostics == []
    provider, plan = manifests
    assert isinstance(plan, forklift.Resource)
    assert (provider.kind, provider.spec.type) == ("Provider", "vsphere")
    assert plan.spec.target_namespace == "apps"
    assert plan.spec.vms[0].target_power_state == "off"
    # CRD defaults are applied by the typed model.
    assert plan.spec.preserve_static_ips is True
    assert manifests.get("Plan", "web", "mtv") is plan
    assert manifests.get("Plan", "web", "elsewhere") is None
    assert manifests.of_kind("Provider") == [provider]
    assert manifests.origin(1) == ("plan.yaml", 2)


def test_strict_loading_raises_manifest_error_locating_the_field() -> None:
    bad = PLAN_AND_PROVIDER.replace('targetPowerState: "off"', "targetPowerState: maybe")
    with pytest.raises(forklift.ManifestError) as info:
        forklift.loads(bad, source="plan.yaml")
    error = info.value
    assert isinstance(error, ValueError)
    assert "plan.yaml#2: spec.vms[0].targetPowerState" in str(error)
    assert (error.file, error.document, error.path) == ("plan.yaml", 2, "spec.vms[0].targetPowerState")
    assert [d.code for d in error.diagnostics] == ["invalid-field"]


def test_lenient_loading_reports_diagnostics() -> None:
    bad = PLAN_AND_PROVIDER.replace("targetNamespace: apps", "targetNamespace: apps\n  bogusField: 1")
    manifests = forklift.loads(bad + "---\n: : not yaml [", source="x.yaml", strict=False)
    assert len(manifests) == 2
    codes = {d.code for d in manifests.diagnostics}
    assert "unknown-field" in codes
    assert manifests.errors and all(d.is_error for d in manifests.errors)
    warning = manifests.warnings[0]
    assert (warning.severity, warning.source, warning.document) == ("warning", "x.yaml", 2)
    assert str(warning).startswith("x.yaml#2: spec.bogusField")


def test_dumps_round_trips_and_writes_edits(tmp_path: Path) -> None:
    manifests = forklift.loads(PLAN_AND_PROVIDER)
    plan = manifests[1]
    plan.spec.target_namespace = "prod"
    text = manifests.to_yaml()
    again = forklift.loads(text)
    assert again[1].spec.target_namespace == "prod"
    assert [r.to_dict() for r in again] == [r.to_dict() for r in manifests]
    assert forklift.loads(plan.to_yaml())[0] == plan
    # JSON: one v1 List.
    assert forklift.loads(manifests.to_json())[0] == manifests[0]
    path = tmp_path / "out.json"
    forklift.dump(manifests, path)
    assert path.read_text().lstrip().startswith("{")
    assert forklift.load(path)[1].spec.target_namespace == "prod"


def test_dumps_rejects_objects_the_model_rejects() -> None:
    plan = forklift.loads(PLAN_AND_PROVIDER)[1]
    plan.spec.vms[0].target_power_state = "sideways"
    with pytest.raises(forklift.ManifestError, match=r"targetPowerState"):
        plan.to_yaml()
    with pytest.raises(ValueError, match="Unknown manifest format"):
        forklift.dumps([], "toml")


def test_load_reads_files_and_directories(seed_manifests: Path, tmp_path: Path) -> None:
    provider = forklift.load(seed_manifests / "provider-ova-appliance.yaml")
    assert provider[0].spec.settings.appliance_management == "true"
    (tmp_path / "a.yaml").write_text(PLAN_AND_PROVIDER)
    assert len(forklift.load(tmp_path)) == 2
    with pytest.raises(FileNotFoundError):
        forklift.load(tmp_path / "missing.yaml")


def test_load_reads_only_regular_files_up_to_the_size_cap(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(PLAN_AND_PROVIDER)
    os.symlink("/dev/zero", tmp_path / "zero.yaml")
    with pytest.raises(forklift.ManifestError, match=r"zero.yaml: Not a regular file"):
        forklift.load(tmp_path)
    size = len(PLAN_AND_PROVIDER.encode())
    assert len(forklift.load(tmp_path / "a.yaml", max_input_size=size)) == 2
    with pytest.raises(forklift.ManifestError, match=rf"Larger than {size - 1} bytes"):
        forklift.load(tmp_path / "a.yaml", max_input_size=size - 1)


def test_hostile_data_is_rejected_not_crashing() -> None:
    nested: list[object] = []
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(ValueError, match="nested deeper than"):
        forklift.dumps([{"apiVersion": "v1", "kind": "ConfigMap", "data": nested}])
    with pytest.raises(TypeError, match="keys must be strings"):
        forklift.dumps([{1: "x"}])  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="not a finite number"):
        forklift.dumps([{"x": float("nan")}])
    with pytest.raises(TypeError, match="cannot convert"):
        forklift.dumps([{"x": object()}])
