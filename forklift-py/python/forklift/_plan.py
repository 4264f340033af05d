"""Plans offline: will this plan run (:func:`validate`), and what will it create (:func:`render`)?"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Literal, Optional, Union

from . import _docs, _native
from ._model import Node, Resource, unwrap
from ._native import Condition
from ._results import Result
from .exceptions import ValidationError

if TYPE_CHECKING:
    from ._migrate import Converter

__all__ = ["Target", "TargetDisk", "TargetVm", "is_ready", "render", "validate"]

ObjectLike = Union[Resource, Dict[str, Any]]
InventoryLike = Union[Dict[str, Any], Node, Result, str, "os.PathLike[str]"]
"""An inventory: a dict, :class:`~forklift.Inventory`, JSON text or the path of a JSON file."""


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
    if isinstance(inventory, Result):
        return inventory.to_dict()
    return unwrap(inventory)


PLAN_OPTION_DOCS: Dict[str, str] = {
    "plan": "The plan, ``name`` or ``namespace/name``, when ``objects`` hold several.",
    "destination": "The destination inventory (dict, JSON text or path); without it cluster-side "
    "checks are skipped.",
    "assume_ready": "Resources without status count as Ready (default True for offline manifests).",
    "feature_ocp_live_migration": "The ForkliftController feature gate (default off).",
    "feature_ovirt_warm_migration": "The ForkliftController feature gate (default off).",
    "feature_copy_offload": "The ForkliftController feature gate (default off).",
    "feature_static_udn_ip_addresses": "The ForkliftController feature gate (default off).",
    "vddk_image": "The controller's global VDDK image, used when the provider sets none.",
    "migration_service_account": "The controller's migration service account.",
    "controller_namespace_restricted": "Whether the controller may only use its own namespace.",
    "max_vms_per_plan": "Guide limit: VMs per plan.",
    "max_disks_per_plan": "Guide limit: disks per plan.",
    "max_vms_per_esxi_host": "Guide limit: VMs per ESXi host.",
    "pvc_name_template": "The ForkliftController's PVC name template.",
    "strict": "(validate) Raise ValidationError carrying every condition when a blocker exists.",
    "migration_uid": "(render) The Migration's uid used in generated names and labels.",
    "executor": '"local" (default) describes forklift.migrate on this machine, refusals included; '
    '"mtv" describes MTV\'s controller.',
    "hooks": '"local" describes migrate given hooks= (a plan\'s hooks run); without it a plan with '
    "hooks gets the Critical HookRunnerNotAvailable.",
    "converter": '"virt-v2v" or a callable describes migrate given converter= (the conversion '
    "phases run); without it a plan that needs conversion gets the Critical "
    "GuestConversionNotAvailable.",
}
"""What each keyword option of :func:`validate` and :func:`render` does (shown by ``help()``)."""


@_docs.options(PLAN_OPTION_DOCS)
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


@dataclasses.dataclass(frozen=True)
class TargetDisk(Result):
    """One disk a VM gets: its claim, size and modes."""

    index: int
    """Disk index in the provider's order."""
    source: str
    """The source disk (file, volume or id)."""
    capacity: int
    """Source capacity in bytes."""
    claim_name: str
    """Name of the DataVolume / PVC (empty when generated)."""
    generate_name_prefix: Optional[str]
    """``generateName`` prefix, when the name is generated."""
    volume_name: str
    """Volume name in the VirtualMachine."""
    storage_class: str
    """Storage class of the claim."""
    requested_bytes: int
    """Bytes the claim requests (overhead included)."""
    volume_mode: str
    """``Filesystem`` or ``Block``."""
    volume_mode_origin: str
    """Where the volume mode came from."""
    access_mode: str
    """``ReadWriteOnce``, ``ReadWriteMany``..."""
    access_mode_origin: str
    """Where the access mode came from."""
    transfer_path: str
    """How the disk is created (``VsphereDataVolume``, ``OvirtImageio``...)."""
    object: Resource
    """The DataVolume or PVC to create."""


@dataclasses.dataclass(frozen=True)
class TargetVm(Result):
    """What one VM becomes."""

    source_id: str
    """Source VM id (empty when the VM is not in the inventory)."""
    source_name: str
    """Source VM name."""
    target_name: str
    """Name of the target VirtualMachine."""
    renamed: bool
    """Whether the target name differs from the source name."""
    virtual_machine: Optional[Resource]
    """The VirtualMachine to create (None when the VM cannot be rendered)."""
    disks: List[TargetDisk]
    """One entry per migrated disk, in disk order."""
    interfaces: List[Dict[str, Any]]
    """One entry per mapped NIC."""
    hooks: List[Dict[str, Any]]
    """Hooks in execution order."""
    itinerary: str
    """The itinerary the VM follows."""
    flags: str
    """The predicate flags that select its phases."""
    phases: List[str]
    """The phases it walks through."""
    pipeline: List[Dict[str, Any]]
    """The pipeline steps shown in status."""
    steps: List[Dict[str, Any]]
    """The status pipeline with skipped steps and why."""
    conversion_env: Dict[str, str]
    """Environment of the conversion derived from the plan."""
    conditions: List[Condition]
    """Conditions that apply to this VM."""


@dataclasses.dataclass(frozen=True, repr=False)
class Target(Result):
    """What a plan will create: ``plan``, ``target_namespace``, ``vms`` (per VM its target name,
    VirtualMachine, disks, interfaces, hooks, itinerary, phases, conditions) and the plan-level
    ``conditions``; ``manifests`` and ``to_yaml()`` give the objects to create.
    """

    plan: str
    """Plan name."""
    target_namespace: str
    """Target namespace."""
    vms: List[TargetVm]
    """One entry per plan VM, in plan order."""
    conditions: List[Condition]
    """Conditions about the plan as a whole."""

    @classmethod
    def _of(cls, report: Dict[str, Any], manifests: List[Dict[str, Any]], yaml: str, has_blockers: bool) -> "Target":
        target = cls.from_dict(report)
        object.__setattr__(target, "_manifests", manifests)
        object.__setattr__(target, "_yaml", yaml)
        object.__setattr__(target, "_has_blockers", has_blockers)
        return target

    @property
    def manifests(self) -> List[Resource]:
        """The DataVolumes, PVCs and VirtualMachines to create, in creation order."""
        manifests: List[Dict[str, Any]] = getattr(self, "_manifests", [])
        return [Resource(manifest) for manifest in manifests]

    @property
    def has_blockers(self) -> bool:
        """Whether a condition of the plan or of a VM blocks the migration."""
        return bool(getattr(self, "_has_blockers", False))

    def to_yaml(self) -> str:
        """The manifests as multi-document YAML, ready for ``kubectl apply -f -``."""
        return str(getattr(self, "_yaml", ""))

    def __repr__(self) -> str:
        return f"<Target {self.plan}: {len(self.vms)} VMs, {len(self.manifests)} manifests>"


@_docs.options({key: PLAN_OPTION_DOCS[key] for key in ("plan", "destination", "migration_uid", "executor", "hooks", "converter")})
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
    return Target._of(report, manifests, yaml, has_blockers)
