"""The exceptions forklift raises.

Every failure of an operation is a :class:`ForkliftError`; its subclasses say which layer
failed. Where a built-in exception means the same thing, forklift raises the built-in
instead: :class:`FileNotFoundError` for a missing file, :class:`ValueError` for an argument
value a call does not accept, :class:`TimeoutError` for a wait that ran out.
:class:`ManifestError` and :class:`TemplateError` are also :class:`ValueError`\\ s, since both
report bad input text.
"""

from __future__ import annotations

from typing import Any, List, Optional

__all__ = [
    "CancelledError",
    "ClusterError",
    "ForkliftError",
    "ManifestError",
    "ProviderError",
    "TemplateError",
    "TransferError",
    "ValidationError",
]


class ForkliftError(Exception):
    """Base class of the errors of forklift operations."""


class ManifestError(ForkliftError, ValueError):
    """A manifest cannot be parsed, or does not match the schema of its kind.

    ``file``, ``document`` (1-based index in a multi-document stream) and ``path`` (the field,
    e.g. ``spec.vms[3].targetPowerState``) locate the first problem when known;
    ``diagnostics`` lists every error (:class:`forklift.Diagnostic`).
    """

    file: Optional[str] = None
    document: Optional[int] = None
    path: Optional[str] = None
    diagnostics: List[Any] = []


class ValidationError(ForkliftError):
    """A plan failed validation where a valid one is required (rendering, migrating).

    ``conditions`` holds the blocking conditions, as :func:`forklift.validate` returns them.
    """

    conditions: List[Any] = []


class TemplateError(ForkliftError, ValueError):
    """A naming template cannot be parsed or fails while executing."""


class ProviderError(ForkliftError):
    """A source provider (vSphere, oVirt, OpenStack, OVA, KubeVirt) failed or refused a request.

    ``kind`` is a stable code: ``"unsupported"`` (the provider type lacks the capability),
    ``"config"`` (the Provider resource, settings or secret; a plain ``http://`` vSphere URL
    without ``allow_plain_http``), ``"tls"``, ``"http"``, ``"http_status"``, ``"fault"`` (a
    SOAP fault), ``"protocol"`` (an answer not understood, or beyond the client's limits),
    ``"task"``, ``"not_found"``.
    A local file the provider cannot read raises :class:`OSError` (``FileNotFoundError``...).
    """

    kind: Optional[str] = None


class TransferError(ForkliftError):
    """Copying disk data failed.

    ``kind`` is a stable code (``"io"``, ``"protocol"``, ``"disconnected"``, ``"server"``,
    ``"unsupported"``, ``"out_of_bounds"``, ``"invalid_format"``, ``"tls"``, ``"mismatch"``,
    ``"timeout"``...); ``fatal`` tells whether the connection is unusable afterwards; ``op``,
    ``offset``, ``length``, ``target`` and ``errno`` locate the failure when known.
    """

    kind: str = "io"
    fatal: bool = False
    op: Optional[str] = None
    offset: Optional[int] = None
    length: Optional[int] = None
    target: Optional[str] = None
    errno: Optional[int] = None


class CancelledError(ForkliftError):
    """The operation was cancelled (through a :class:`forklift.CancelToken` or ``cancel()``)."""


class ClusterError(ForkliftError):
    """The Kubernetes cluster refused or failed a request (the ``kubevirt`` destination,
    :func:`forklift.deploy`): an unreachable API server, an RBAC denial (naming the verb and
    resource), missing CDI / KubeVirt APIs, an absent storage class, an exceeded quota, an
    upload proxy whose TLS certificate is not trusted, a DataVolume that failed.

    ``created`` (from :func:`forklift.deploy`) lists what was created before the failure
    (``dataVolumes``, ``uploaded``, ``adopted``, ``virtualMachines``); it is kept, and a
    re-run adopts it.
    """

    created: Optional[Any] = None
