"""forklift: migrate virtual machines onto KubeVirt (the Forklift / MTV engine, in Rust).

Runs end to end today: sources ``vsphere`` (VMware vSphere), ``openstack`` (OpenStack), ``ovirt`` (oVirt / RHV) and ``ova`` (directories of
.ova/.ovf packages), migrated by :func:`migrate` into a local folder bundle (disk images,
DataVolume and VirtualMachine YAML, plan status; :func:`deploy` pushes it to a cluster) or
onto a cluster with KubeVirt and CDI (``destination="kubevirt"``); cold migrations without
guest conversion (the plan sets ``skipGuestConversion: true``).

Warm migration runs for ``vsphere`` sources (precopies from changed-block tracking, then
the cutover). Planned: sources ``openshift``, ``hyperv``, ``ec2`` and ``nutanix``
(:func:`validate` and :func:`render` cover them already), guest conversion (virt-v2v), warm
migration from other sources and live migration. :func:`render` (``executor="local"``, the
default) shows what :func:`migrate` does, refusals included; ``executor="mtv"`` shows what
MTV's controller would do.

The Python face of the forklift engine. Every call is a thin layer over the Rust library:
long operations run on one process-wide runtime with the GIL released, return a
:class:`Task` or wait for one, and can be stopped with a :class:`CancelToken`. Each blocking
call has an ``async_`` variant for asyncio programs. Errors are :class:`ForkliftError`
subclasses (see :mod:`forklift.exceptions`) or built-in exceptions where the meaning is the same.

Results are typed: :func:`migrate` returns a :class:`PlanReport`, :func:`inventory` an
:class:`Inventory`, :func:`render` a :class:`Target`, a migration's events are
:class:`MigrationEvent` objects, all frozen dataclasses whose ``to_dict()`` gives the
library's JSON (camelCase keys, as the CLI's ``-o json``); ``help(forklift.copy)`` (and
``migrate``, ``validate``, ``render``) lists every option.
"""

from __future__ import annotations

from . import exceptions
from ._cluster import deploy
from ._inventory import (
    Inventory,
    InventoryDisk,
    InventoryHost,
    InventoryNetwork,
    InventoryNic,
    InventoryStorage,
    InventoryVm,
    async_inventory,
    inventory,
    start_inventory,
)
from ._manifests import Manifests, dump, dumps, load, loads
from ._migrate import CancelledVm, Migration, MigrationCopyOptions, async_migrate, migrate, start_migration
from ._model import Node, NodeList, Resource
from ._plan import Target, TargetDisk, TargetVm, is_ready, render, validate
from ._results import DiskCopySummary, DiskReport, MigrationEvent, PhaseRecord, PlanReport, Result, VmReport
from ._transfer import CopyOptions, async_copy, copy, start_copy
from ._native import (
    CancelToken,
    Condition,
    ConditionItem,
    CopyProgress,
    CopySummary,
    Diagnostic,
    Task,
    __version__,
    adjust_name,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    render_template,
)
from .exceptions import (
    CancelledError,
    ClusterError,
    ForkliftError,
    ManifestError,
    ProviderError,
    TemplateError,
    TransferError,
    ValidationError,
)

__all__ = [
    "CancelToken",
    "CancelledError",
    "CancelledVm",
    "ClusterError",
    "Condition",
    "ConditionItem",
    "CopyOptions",
    "CopyProgress",
    "CopySummary",
    "Diagnostic",
    "DiskCopySummary",
    "DiskReport",
    "Inventory",
    "InventoryDisk",
    "InventoryHost",
    "InventoryNetwork",
    "InventoryNic",
    "InventoryStorage",
    "InventoryVm",
    "Manifests",
    "Migration",
    "MigrationCopyOptions",
    "MigrationEvent",
    "Node",
    "NodeList",
    "PhaseRecord",
    "PlanReport",
    "Resource",
    "Result",
    "Target",
    "TargetDisk",
    "TargetVm",
    "VmReport",
    "adjust_name",
    "async_copy",
    "async_inventory",
    "async_migrate",
    "copy",
    "deploy",
    "dns1123_label_errors",
    "dns1123_subdomain_errors",
    "dump",
    "inventory",
    "is_ready",
    "dumps",
    "load",
    "loads",
    "migrate",
    "render",
    "render_template",
    "start_copy",
    "start_inventory",
    "start_migration",
    "validate",
    "ForkliftError",
    "ManifestError",
    "ProviderError",
    "Task",
    "TemplateError",
    "TransferError",
    "ValidationError",
    "__version__",
    "exceptions",
]
