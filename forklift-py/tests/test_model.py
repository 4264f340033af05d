"""Attribute access over manifest data (forklift._model)."""

from __future__ import annotations

import pytest

from forklift._model import Node, NodeList, Resource


def plan() -> Resource:
    return Resource(
        {
            "apiVersion": "forklift.konveyor.io/v1beta1",
            "kind": "Plan",
            "metadata": {"name": "web", "namespace": "mtv"},
            "spec": {"preserveStaticIPs": True, "vms": [{"name": "db"}], "targetNamespace": "apps"},
            "status": {"conditions": [{"type": "Ready", "items": ["a"]}]},
        }
    )


def test_snake_case_attributes_find_camel_case_and_acronym_keys() -> None:
    resource = plan()
    assert resource.kind == "Plan"
    assert resource.api_version == "forklift.konveyor.io/v1beta1"
    assert (resource.name, resource.namespace) == ("web", "mtv")
    assert resource.spec.target_namespace == "apps"
    assert resource.spec.targetNamespace == "apps"
    assert resource.spec.preserve_static_ips is True
    assert resource.spec.vms[0].name == "db"
    assert repr(resource) == "<Plan mtv/web>"


def test_fields_named_like_mapping_methods_stay_reachable() -> None:
    assert plan().status.conditions[0].items == ["a"]


def test_missing_fields_raise_attribute_error_listing_the_fields() -> None:
    with pytest.raises(AttributeError, match="no field 'warm'.*preserveStaticIPs"):
        _ = plan().spec.warm


def test_writes_go_through_to_the_data() -> None:
    resource = plan()
    resource.spec.target_namespace = "other"
    resource.spec.warm = True
    resource.spec.vms.append(Node({"name": "web"}))
    resource.spec.vms[0] = {"name": "cache"}
    del resource.spec.preserve_static_ips
    data = resource.to_dict()
    assert data["spec"] == {"vms": [{"name": "cache"}, {"name": "web"}], "targetNamespace": "other", "warm": True}
    # to_dict() is a copy: changing it leaves the resource alone.
    data["spec"]["warm"] = False
    assert resource.spec.warm is True


def test_item_access_iteration_and_equality() -> None:
    resource = plan()
    assert resource["metadata"]["name"] == "web"
    assert "spec" in resource and "nope" not in resource
    assert list(resource) == ["apiVersion", "kind", "metadata", "spec", "status"]
    assert resource.spec.vms == [{"name": "db"}]
    assert resource.metadata == {"name": "web", "namespace": "mtv"}
    assert isinstance(resource.spec.vms[:1], NodeList)
    assert "target_namespace" in dir(resource.spec)
    with pytest.raises(TypeError):
        hash(resource)


def test_a_misspelt_field_on_a_resource_raises_attribute_error_and_changes_nothing() -> None:
    resource = plan()
    with pytest.raises(AttributeError, match=r"Plan has no field spec\.targetNamspace"):
        resource.spec.target_namspace = "other"
    assert "targetNamspace" not in resource.spec
    with pytest.raises(AttributeError, match="Plan has no field"):
        resource.spec.vms[0].nmae = "x"
    # Real fields that are not set yet are accepted, at any depth.
    resource.spec.warm = True
    resource.spec.vms[0].target_name = "db-new"
    assert resource.to_dict()["spec"]["vms"][0]["targetName"] == "db-new"
    # Item access is the escape hatch: stored as given (and dropped by the typed model).
    resource.spec["futureField"] = 1
    assert resource.spec["futureField"] == 1


def test_plain_nodes_and_foreign_kinds_take_any_attribute() -> None:
    node = Node({})
    node.anything = 1
    vm = Resource({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "a"}})
    vm.spec = {"running": False}
    vm.spec.custom_field = 2
    assert vm.to_dict()["spec"] == {"running": False, "customField": 2}
