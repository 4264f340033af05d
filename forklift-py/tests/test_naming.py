"""Name adjustment and naming templates, as MTV produces them."""

from __future__ import annotations

import pytest

import forklift


@pytest.mark.parametrize(
    ("name", "adjusted"),
    [
        # The user guide's table ("Renaming virtual machines").
        ("App_VM_01", "app-vm-01"),
        ("-app-server", "app-server"),
        ("app--server", "app-server"),
        ("Database_Server.Prod", "database-server.prod"),
        ("a" * 70, "a" * 63),
    ],
)
def test_adjust_name_follows_the_guide(name: str, adjusted: str) -> None:
    assert forklift.adjust_name(name) == adjusted
    assert forklift.dns1123_subdomain_errors(adjusted) == []


def test_adjust_name_avoids_taken_names_reproducibly() -> None:
    first = forklift.adjust_name("App_VM_01", taken={"app-vm-01"}, seed=7)
    assert first.startswith("app-vm-01-") and len(first) == len("app-vm-01-") + 4
    assert forklift.adjust_name("App_VM_01", taken=["app-vm-01"], seed=7) == first
    # Nothing usable left: "vm-" and 4 random characters.
    assert forklift.adjust_name("!!!", seed=1).startswith("vm-")


def test_dns1123_checks_explain_the_problem() -> None:
    assert forklift.dns1123_label_errors("ok-name") == []
    assert forklift.dns1123_label_errors("Bad_Name")
    assert forklift.dns1123_label_errors("a.b") and not forklift.dns1123_subdomain_errors("a.b")


def test_render_template_uses_mtv_semantics() -> None:
    data = {"PlanName": "nightly-migration", "TargetVmName": "database-server", "DiskIndex": 3}
    pvc = "{{trunc 15 .PlanName}}-{{trunc 15 .TargetVmName}}-disk-{{.DiskIndex}}"
    assert forklift.render_template("pvc", pvc, data) == "nightly-migrati-database-server-disk-3"
    # camelCase spellings of the fields are accepted too.
    assert forklift.render_template("pvc", '{{printf "%s-%03d" .PlanName .DiskIndex}}', {"planName": "p", "diskIndex": 7}) == "p-007"
    assert forklift.render_template("volume", "{{.PVCName}}-v{{.VolumeIndex}}", {"PVCName": "disk", "VolumeIndex": 1}) == "disk-v1"
    network = '{{if eq .NetworkType "pod"}}pod{{else}}{{.NetworkName}}{{end}}-{{.NetworkIndex}}'
    assert forklift.render_template("network", network, {"NetworkType": "multus", "NetworkName": "vlan10", "NetworkIndex": 2}) == "vlan10-2"
    assert forklift.render_template("volume", "x" * 80, {}) == "x" * 63


def test_template_errors_are_template_errors() -> None:
    with pytest.raises(forklift.TemplateError, match="Invalid template syntax"):
        forklift.render_template("pvc", "{{.PlanName", {"PlanName": "p"})
    with pytest.raises(forklift.TemplateError, match="Template execution failed"):
        forklift.render_template("volume", "{{.Nope}}", {})
    with pytest.raises(forklift.TemplateError, match="not a valid DNS-1123 label") as info:
        forklift.render_template("pvc", "{{.PlanName}}", {"PlanName": "Not_Valid"})
    assert isinstance(info.value, ValueError)
    with pytest.raises(ValueError, match="Unknown template field"):
        forklift.render_template("pvc", "{{.PlanName}}", {"PlanNam": "typo"})
    with pytest.raises(ValueError, match="Unknown template kind"):
        forklift.render_template("vm", "x", {})
