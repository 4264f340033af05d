"""Collecting a source provider's inventory (VMs, disks, NICs, networks, storages, hosts)."""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional, Union

from . import _native, _tasks
from ._model import Node, Resource, unwrap
from ._native import CancelToken, Task

__all__ = ["async_inventory", "inventory", "start_inventory"]

ObjectLike = Union[Resource, Dict[str, Any]]


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
) -> Node:
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
    return Node(data)


async def async_inventory(
    provider: Union[str, ObjectLike],
    *,
    secret: Optional[ObjectLike] = None,
    manifests: Optional[Iterable[ObjectLike]] = None,
    cancel: Optional[CancelToken] = None,
    allow_plain_http: bool = False,
) -> Node:
    """:func:`inventory` for asyncio."""
    data: Dict[str, Any] = await _tasks.wait(start_inventory(
            provider,
            secret=secret,
            manifests=manifests,
            cancel=cancel,
            allow_plain_http=allow_plain_http,
        ))
    return Node(data)
