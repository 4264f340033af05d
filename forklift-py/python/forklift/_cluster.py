"""Pushing a local bundle to a cluster: :func:`deploy`."""

from __future__ import annotations

import os
from typing import Optional, Union

from . import _native
from ._model import Node

PathLike = Union[str, "os.PathLike[str]"]


def deploy(
    bundle: PathLike,
    *,
    kubeconfig: Optional[PathLike] = None,
    upload_proxy_url: Optional[str] = None,
    upload_proxy_ca: Optional[PathLike] = None,
) -> Node:
    """Pushes the local bundle ``bundle`` (what :func:`forklift.migrate` wrote into a local
    directory) to a cluster with KubeVirt and CDI, as ``forklift deploy`` does: per
    VirtualMachine, its DataVolumes are applied, their images uploaded through CDI's upload
    proxy and watched to ``Succeeded``, then the VirtualMachine is applied.

    ``kubeconfig`` defaults to what kubectl finds (``KUBECONFIG``, ``~/.kube/config``,
    in-cluster); the upload proxy's URL and CA default to CDIConfig's status. Returns what was
    done (``dataVolumes``, ``uploaded``, ``adopted``, ``virtualMachines``, each
    ``namespace/name``); objects an earlier deploy or migration created are adopted, not
    duplicated. Raises :class:`~forklift.ClusterError` (``created`` lists what was created
    before the failure) when the cluster refuses or fails, :class:`~forklift.ForkliftError`
    when the bundle is unusable.
    """
    return Node(
        _native.deploy(
            os.fspath(bundle),
            kubeconfig=None if kubeconfig is None else os.fspath(kubeconfig),
            upload_proxy_url=upload_proxy_url,
            upload_proxy_ca=None if upload_proxy_ca is None else os.fspath(upload_proxy_ca),
        )
    )
