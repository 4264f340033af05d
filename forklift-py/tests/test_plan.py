"""Validation and rendering of plans, and the example script that uses both."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

import forklift
from conftest import REPO

EXAMPLE = REPO / "examples" / "python"


@pytest.fixture
def manifests() -> forklift.Manifests:
    return forklift.load(EXAMPLE / "plan.yaml")


@pytest.fixture
def inventory() -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads((EXAMPLE / "inventory.json").read_text())
    return data


def test_validate_returns_mtv_conditions(manifests: forklift.Manifests, inventory: Dict[str, Any]) -> None:
    conditions = forklift.validate(manifests, inventory, executor="mtv")
    types = [c.type for c in conditions]
    assert "Ready" in types and forklift.is_ready(conditions)
    renamed = next(c for c in conditions if c.type == "TargetNameNotValid")
    assert (renamed.category, renamed.status, renamed.is_blocker) == ("Warn", "True", False)
    assert [item.text for item in renamed.items] == ["id:vm-3002 name:'Billing_App_01' "]
    assert (renamed.items[0].id, renamed.items[0].name) == ("vm-3002", "Billing_App_01")
    assert renamed.to_dict()["type"] == "TargetNameNotValid"
    assert "TargetNameNotValid" in repr(renamed)


def test_validate_adds_what_this_engine_refuses(manifests: forklift.Manifests, inventory: Dict[str, Any]) -> None:
    # The guests need virt-v2v, which `migrate` here lacks: not ready, and no Ready condition.
    conditions = forklift.validate(manifests, inventory)
    types = [c.type for c in conditions]
    assert "GuestConversionNotAvailable" in types and "Ready" not in types
    assert not forklift.is_ready(conditions)
    with pytest.raises(ValueError, match="executor must be"):
        forklift.validate(manifests, inventory, executor="elsewhere")


def test_inventory_can_be_a_path_or_json_text(manifests: forklift.Manifests, inventory: Dict[str, Any]) -> None:
    by_dict = [c.to_dict() for c in forklift.validate(manifests, inventory)]
    assert [c.to_dict() for c in forklift.validate(manifests, EXAMPLE / "inventory.json")] == by_dict
    assert [c.to_dict() for c in forklift.validate(manifests, json.dumps(inventory))] == by_dict


def test_a_missing_vm_blocks_the_plan(manifests: forklift.Manifests, inventory: Dict[str, Any]) -> None:
    inventory["vms"] = inventory["vms"][1:]
    conditions = forklift.validate(manifests, inventory, executor="mtv")
    blockers = [c for c in conditions if c.is_blocker]
    assert [c.type for c in blockers] == ["VMNotFound"]
    assert not forklift.is_ready(conditions)


def test_settings_are_passed_through(manifests: forklift.Manifests, inventory: Dict[str, Any]) -> None:
    broken = forklift.validate(manifests, inventory, pvc_name_template="{{.Nope", executor="mtv")
    assert any(c.is_blocker and "PVC name template" in c.message for c in broken)
    conditions = forklift.validate(manifests, inventory, max_vms_per_plan=1, executor="mtv")
    assert not forklift.is_ready(conditions) or any(c.category == "Warn" for c in conditions)
    with pytest.raises(ValueError, match="No Plan named"):
        forklift.validate(manifests, inventory, plan="nope")
    with pytest.raises(ValueError, match="No Plan in the manifests"):
        forklift.validate(manifests.of_kind("Provider"), inventory)
    with pytest.raises(ValueError, match="Invalid inventory"):
        forklift.validate(manifests, {"vms": "not a list"})


def test_render_gives_names_and_manifests(manifests: forklift.Manifests, inventory: Dict[str, Any]) -> None:
    target = forklift.render(manifests, inventory, plan="openshift-mtv/lab-wave", executor="mtv")
    assert not target.has_blockers
    assert target.plan == "lab-wave" and target.target_namespace == "apps"
    names = [(vm.source_name, vm.target_name, vm.renamed) for vm in target.vms]
    assert names == [("inventory-db", "inventory-db", False), ("Billing_App_01", "billing-app-01", True)]
    kinds = [m.kind for m in target.manifests]
    assert kinds.count("VirtualMachine") == 2 and kinds.count("DataVolume") == 3
    machine = next(m for m in target.manifests if m.kind == "VirtualMachine")
    assert machine.namespace == "apps" and machine.spec.run_strategy == "Always"
    assert target.to_yaml().count("\nkind: VirtualMachine\n") == 2
    assert "2 VMs" in repr(target)


def test_render_describes_this_engine_by_default(manifests: forklift.Manifests, inventory: Dict[str, Any]) -> None:
    # The guests need virt-v2v, which forklift's own runner lacks: refused, never claimed.
    target = forklift.render(manifests, inventory, plan="openshift-mtv/lab-wave")
    assert target.has_blockers
    blockers = {c.type for c in target.conditions if c.category == "Critical"}
    assert blockers == {"GuestConversionNotAvailable"}
    with pytest.raises(ValueError, match="executor must be"):
        forklift.render(manifests, inventory, executor="elsewhere")


def test_render_reports_problems_as_conditions(manifests: forklift.Manifests, inventory: Dict[str, Any]) -> None:
    without_maps = [m for m in manifests if m.kind not in ("NetworkMap", "StorageMap")]
    target = forklift.render(without_maps, inventory)
    assert target.has_blockers
    assert {c.type for c in target.conditions} >= {"NetworkMapRefNotValid", "StorageRefNotValid"}


def run_example(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE / "validate_and_render.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_example_script_validates_and_renders(tmp_path: Path) -> None:
    result = run_example("--out", str(tmp_path / "target.yaml"))
    assert result.returncode == 0, result.stderr
    assert "[Required] Ready" in result.stdout
    assert "VM billing-app-01 (renamed from Billing_App_01)" in result.stdout
    rendered = (tmp_path / "target.yaml").read_text()
    assert rendered.count("kind: DataVolume") == 3


def test_example_script_exits_1_on_blockers(tmp_path: Path, inventory: Dict[str, Any]) -> None:
    inventory["vms"] = []
    (tmp_path / "empty.json").write_text(json.dumps(inventory))
    result = run_example(str(EXAMPLE / "plan.yaml"), str(tmp_path / "empty.json"))
    assert result.returncode == 1
    assert "[BLOCKER] VMNotFound" in result.stdout


def test_rendered_objects_dump_verbatim_but_unknown_forklift_kinds_do_not(
    manifests: forklift.Manifests, inventory: Dict[str, Any]
) -> None:
    target = forklift.render(manifests, inventory)
    machine = next(m for m in target.manifests if m.kind == "VirtualMachine")
    assert "kind: VirtualMachine" in machine.to_yaml()
    assert forklift.loads(forklift.dumps(target.manifests), strict=False)[0].kind == "DataVolume"
    typo = {"apiVersion": "forklift.konveyor.io/v1beta1", "kind": "Plna", "metadata": {"name": "x"}}
    with pytest.raises(forklift.ManifestError, match="Unknown kind Plna"):
        forklift.dumps([typo])


def test_strict_validation_raises_validation_error(manifests: forklift.Manifests, inventory: Dict[str, Any]) -> None:
    assert forklift.validate(manifests, inventory, strict=True, executor="mtv")
    inventory["vms"] = []
    with pytest.raises(forklift.ValidationError, match="not ready: VMNotFound") as info:
        forklift.validate(manifests, inventory, strict=True, executor="mtv")
    assert isinstance(info.value, forklift.ForkliftError)
    assert any(c.type == "VMNotFound" for c in info.value.conditions)
