"""Plans offline: will this plan run (:func:`validate`), and what will it create (:func:`render`)?"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Literal, Optional, Union

from . import _native
from ._model import Node, Resource, unwrap
from ._native import Condition
from .exceptions import ValidationError

if TYPE_CHECKING:
    from ._migrate import Converter

__all__ = ["Target", "is_ready", "render", "validate"]

ObjectLike = Union[Resource, Dict[str, Any]]
InventoryLike = Union[Dict[str, Any], Node, str, "os.PathLike[str]"]


def _inventory(inventory: Optional[InventoryLike]) -> Any:
    """Inventories are dicts (or Nodes), JSON text, or paths of JSON files."""
    if inventory is None:
        return None
    if isinstance(inventory, os.PathLike):
        with open(inventory, encoding="utf-8") as file:
            return file.read()
    if isinstance(inventory, str) and not inventory.lstrip().startswith("{"):
        with open(inventory, encoding="utf-8") as file:
            return file.read()
    return unwrap(inventory)


def validate(
    objects: Iterable[ObjectLike],
    inventory: InventoryLike,
    *,
    plan: Optional[str] = None,
    destination: Optional[InventoryLike] = None,
    assume_ready: Optional[bool] = None,
    feature_ocp_live_migration: Optional[bool] = None,
    feature_ovirt_warm_migration: Optional[bool] = None,
    feature_copy_offload: Optional[bool] = None,
    feature_static_udn_ip_addresses: Optional[bool] = None,
    vddk_image: Optional[str] = None,
    migration_service_account: Optional[str] = None,
    controller_namespace_restricted: Optional[bool] = None,
    max_vms_per_plan: Optional[int] = None,
    max_disks_per_plan: Optional[int] = None,
    max_vms_per_esxi_host: Optional[int] = None,
    pvc_name_template: Optional[str] = None,
    strict: bool = False,
    executor: str = "local",
    hooks: Optional[Literal["local"]] = None,
    converter: Optional[Converter] = None,
) -> List[Condition]:
    """Validates a plan the way MTV's plan controller does; returns its conditions.

    ``objects`` holds the Plan and what it refers to (Providers, NetworkMap, StorageMap,
    Hooks), e.g. a :class:`~forklift.Manifests`; ``plan`` picks one by ``name`` or
    ``namespace/name`` when there are several. ``inventory`` is the source inventory (a dict,
    JSON text or the path of a JSON file, see :func:`forklift.inventory`); ``destination`` the
    destination inventory, without which cluster-side checks are skipped. The keyword
    settings override those of a ForkliftController among ``objects`` (its feature gates,
    ``vddk_image`` and migration service account); without one, the feature gates are off
    as upstream defaults them (``assume_ready``: resources without status count as Ready,
    the default for offline manifests; ``pvc_name_template``: the ForkliftController's PVC
    name template).

    ``executor`` is the engine validated for: ``"local"`` (default) adds the Critical
    ``...NotAvailable`` conditions of what :func:`migrate` on this machine cannot do (guest
    conversion, warm migration, copy offload...), ``"mtv"`` validates for MTV's controller
    only. ``hooks="local"`` describes :func:`migrate` given ``hooks=`` (a plan's hooks run);
    without it a plan with hooks gets the Critical ``HookRunnerNotAvailable``, as
    :func:`migrate` without ``hooks=`` refuses it. ``converter`` (``"virt-v2v"`` or a
    callable) describes :func:`migrate` given ``converter=``: a plan that needs conversion is
    then not refused (unless virt-v2v is not installed, which the condition says).

    Every condition is returned, in the order MTV sets them; ``is_ready(conditions)`` tells
    whether any blocks the plan. With ``strict``, blockers raise
    :class:`~forklift.ValidationError` carrying every condition instead.
    """
    conditions = _native.validate(
        [unwrap(obj) for obj in objects],
        _inventory(inventory),
        plan=plan,
        destination=_inventory(destination),
        assume_ready=assume_ready,
        feature_ocp_live_migration=feature_ocp_live_migration,
        feature_ovirt_warm_migration=feature_ovirt_warm_migration,
        feature_copy_offload=feature_copy_offload,
        feature_static_udn_ip_addresses=feature_static_udn_ip_addresses,
        vddk_image=vddk_image,
        migration_service_account=migration_service_account,
        controller_namespace_restricted=controller_namespace_restricted,
        max_vms_per_plan=max_vms_per_plan,
        max_disks_per_plan=max_disks_per_plan,
        max_vms_per_esxi_host=max_vms_per_esxi_host,
        pvc_name_template=pvc_name_template,
        executor=executor,
        hooks=hooks,
        converter=converter,
    )
    if strict and not is_ready(conditions):
        blockers = "; ".join(f"{c.type}: {c.message}" for c in conditions if c.is_blocker)
        error = ValidationError(f"The plan is not ready: {blockers}")
        error.conditions = conditions
        raise error
    return conditions


def is_ready(conditions: Iterable[Condition]) -> bool:
    """Whether no condition blocks the plan (none is true with category Critical or Error)."""
    return not any(condition.is_blocker for condition in conditions)


class Target(Node):
    """What a plan will create: ``plan``, ``target_namespace``, ``vms`` (per VM: ``target_name``,
    ``virtual_machine``, ``disks``, ``interfaces``, ``hooks``, ``itinerary``, ``phases``,
    ``conditions``) and the plan-level ``conditions``, with attribute access.
    """

    __slots__ = ("_manifests", "_yaml", "_has_blockers")

    def __init__(self, report: Dict[str, Any], manifests: List[Dict[str, Any]], yaml: str, has_blockers: bool) -> None:
        super().__init__(report)
        object.__setattr__(self, "_manifests", manifests)
        object.__setattr__(self, "_yaml", yaml)
        object.__setattr__(self, "_has_blockers", has_blockers)

    @property
    def manifests(self) -> List[Resource]:
        """The DataVolumes, PVCs and VirtualMachines to create, in creation order."""
        return [Resource(manifest) for manifest in self._manifests]

    @property
    def has_blockers(self) -> bool:
        """Whether a condition of the plan or of a VM blocks the migration."""
        return bool(self._has_blockers)

    def to_yaml(self) -> str:
        """The manifests as multi-document YAML, ready for ``kubectl apply -f -``."""
        return str(self._yaml)

    def __repr__(self) -> str:
        return f"<Target {self._data.get('plan')}: {len(self._data.get('vms', []))} VMs, {len(self._manifests)} manifests>"


def render(
    objects: Iterable[ObjectLike],
    inventory: InventoryLike,
    *,
    plan: Optional[str] = None,
    destination: Optional[InventoryLike] = None,
    migration_uid: Optional[str] = None,
    executor: str = "local",
    hooks: Optional[Literal["local"]] = None,
    converter: Optional[Converter] = None,
) -> Target:
    """Renders exactly what a plan will create (a dry run), without touching anything.

    Takes the same ``objects``, ``inventory``, ``plan`` and ``destination`` as :func:`validate`;
    a ForkliftController among the objects supplies the controller settings. Problems do not
    raise: they are conditions on the plan or on the VM they concern.

    ``executor`` says which engine the dry run describes: ``"local"`` (default) is what
    :func:`migrate` does on this machine (its own disk copy, no guest conversion, no warm
    migration yet: plans that need those get a Critical ``...NotAvailable`` condition), and
    ``"mtv"`` is what MTV's controller would do (virt-v2v, populators, warm precopies).
    ``hooks="local"`` describes :func:`migrate` given ``hooks=``; without it a plan with hooks
    gets the Critical ``HookRunnerNotAvailable``. ``converter`` describes :func:`migrate`
    given ``converter=``: the conversion phases instead of ``GuestConversionNotAvailable``.
    """
    report, manifests, yaml, has_blockers = _native.render(
        [unwrap(obj) for obj in objects],
        _inventory(inventory),
        plan=plan,
        destination=_inventory(destination),
        migration_uid=migration_uid,
        executor=executor,
        hooks=hooks,
        converter=converter,
    )
    return Target(report, manifests, yaml, has_blockers)
