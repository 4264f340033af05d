"""Collecting a source provider's inventory (VMs, disks, NICs, networks, storages, hosts)."""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Iterable, List, Optional, Union

from . import _native, _tasks
from ._model import Node, Resource, unwrap
from ._native import CancelToken, Task
from ._results import Result

__all__ = [
    "Inventory",
    "InventoryDisk",
    "InventoryHost",
    "InventoryNetwork",
    "InventoryNic",
    "InventoryStorage",
    "InventoryVm",
    "async_inventory",
    "inventory",
    "start_inventory",
]

ObjectLike = Union[Resource, Dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class InventoryDisk(Result):
    """A VM's disk (docs/inventory-format.md, "Disk")."""

    id: str
    key: int
    file: str
    storage: str
    """Id of the storage entity (datastore, storage domain, volume type...)."""
    capacity: int
    """Bytes (signed: <= 0 is invalid)."""
    shared: bool
    rdm: bool
    physical_mode: bool
    mode: str
    bus: str
    serial: str
    controller_key: int
    unit_number: int
    change_tracking_enabled: bool
    encrypted: bool


@dataclasses.dataclass(frozen=True)
class InventoryNic(Result):
    """A VM's network interface; ``network`` names the source network (``id``, ``name``...)."""

    name: str
    mac: str
    network: Dict[str, Any]
    model: str
    connected: bool


@dataclasses.dataclass(frozen=True)
class InventoryVm(Result):
    """A source VM (docs/inventory-format.md, "VM")."""

    id: str
    name: str
    path: str
    namespace: str
    power_state: str
    """``on``, ``off``, ``suspended`` or ``unknown``."""
    host: str
    cpu_count: int
    cores_per_socket: int
    memory_mib: int
    firmware: str
    """``bios``, ``efi`` or ``unknown``."""
    secure_boot: bool
    tpm_enabled: bool
    measured_boot: bool
    hibernated: bool
    guest_os: str
    guest_tools: str
    guest_tools_running: Optional[bool]
    change_tracking_enabled: bool
    snapshot_count: int
    consolidation_needed: bool
    template: bool
    disks: List[InventoryDisk]
    nics: List[InventoryNic]
    guest_networks: List[Dict[str, Any]]
    cdroms: List[Dict[str, Any]]
    concerns: List[Dict[str, Any]]
    ext: Optional[Node]
    """Provider-specific fields, untyped (attribute access)."""


@dataclasses.dataclass(frozen=True)
class InventoryNetwork(Result):
    """A source network."""

    id: str
    name: str
    namespace: str
    path: str
    kind: str
    vlan: Optional[int]
    ext: Optional[Node]


@dataclasses.dataclass(frozen=True)
class InventoryStorage(Result):
    """A storage entity storage maps refer to."""

    id: str
    name: str
    path: str
    kind: str
    capacity: Optional[int]
    free: Optional[int]
    ext: Optional[Node]


@dataclasses.dataclass(frozen=True)
class InventoryHost(Result):
    """A hypervisor host."""

    id: str
    name: str
    path: str
    cluster: str
    in_maintenance: bool
    thumbprint: str
    management_ip: str
    product_version: str
    ext: Optional[Node]


@dataclasses.dataclass(frozen=True)
class Inventory(Result):
    """A source provider's inventory, in the format of docs/inventory-format.md.

    Pass it to :func:`forklift.validate` and :func:`forklift.render`, or save ``to_dict()``
    as JSON to validate offline later.
    """

    provider: str
    """The provider type (``vsphere``, ``ova``, ``openstack``...)."""
    provider_name: str
    """Name of the Provider resource."""
    vms: List[InventoryVm]
    networks: List[InventoryNetwork]
    storages: List[InventoryStorage]
    hosts: List[InventoryHost]
    ext: Optional[Node]
    """Provider-specific fields, untyped (``ext.ova.skipped``: catalog files passed over)."""


def _arguments(
    provider: Union[str, ObjectLike], secret: Optional[ObjectLike], manifests: Optional[Iterable[ObjectLike]]
) -> "tuple[list[Any], str]":
    objects = [unwrap(obj) for obj in manifests or ()]
    if isinstance(provider, str):
        return objects, provider
    resource = provider if isinstance(provider, Resource) else Resource(provider)
    objects.append(unwrap(resource))
    if secret is not None:
        objects.append(unwrap(secret))
    name = resource.name or ""
    return objects, f"{resource.namespace}/{name}" if resource.namespace else name


def start_inventory(
    provider: Union[str, ObjectLike],
    *,
    secret: Optional[ObjectLike] = None,
    manifests: Optional[Iterable[ObjectLike]] = None,
    cancel: Optional[CancelToken] = None,
    allow_plain_http: bool = False,
) -> "Task[Dict[str, Any]]":
    """Starts collecting the inventory of ``provider`` and returns the running task.

    ``provider`` is a Provider :class:`~forklift.Resource` (with its ``secret`` when it needs
    credentials), or the ``name`` / ``namespace/name`` of a Provider among ``manifests``
    (whose Secret is then found there too). Supported types: ``ova`` (a catalog directory:
    ``spec.url`` is a local path, ``nfs://`` URL or ``server:/path`` resolved against the
    ``mountPoint`` setting) and ``vsphere``; others raise :class:`~forklift.ProviderError`.
    A vSphere ``spec.url`` must be ``https://``: a plain ``http://`` one, over which the
    password would travel in clear text, raises :class:`~forklift.ProviderError` unless
    ``allow_plain_http`` is set.
    """
    objects, name = _arguments(provider, secret, manifests)
    return _native.start_inventory(objects, name, cancel=cancel, allow_plain_http=allow_plain_http)


def inventory(
    provider: Union[str, ObjectLike],
    *,
    secret: Optional[ObjectLike] = None,
    manifests: Optional[Iterable[ObjectLike]] = None,
    cancel: Optional[CancelToken] = None,
    allow_plain_http: bool = False,
) -> Inventory:
    """Collects the inventory of ``provider`` (see :func:`start_inventory`).

    Returns the provider-neutral inventory with attribute access (``inv.vms[0].disks``);
    pass it to :func:`forklift.validate` and :func:`forklift.render`, or save
    ``inv.to_dict()`` as JSON to validate offline later.
    """
    data: Dict[str, Any] = _tasks.run(start_inventory(
            provider,
            secret=secret,
            manifests=manifests,
            cancel=cancel,
            allow_plain_http=allow_plain_http,
        ))
    return Inventory.from_dict(data)


async def async_inventory(
    provider: Union[str, ObjectLike],
    *,
    secret: Optional[ObjectLike] = None,
    manifests: Optional[Iterable[ObjectLike]] = None,
    cancel: Optional[CancelToken] = None,
    allow_plain_http: bool = False,
) -> Inventory:
    """:func:`inventory` for asyncio."""
    data: Dict[str, Any] = await _tasks.wait(start_inventory(
            provider,
            secret=secret,
            manifests=manifests,
            cancel=cancel,
            allow_plain_http=allow_plain_http,
        ))
    return Inventory.from_dict(data)
