"""Typed results: migration reports and events as frozen dataclasses.

The library hands results over as JSON-shaped data with camelCase keys. Each class here
declares the fields a result has, with their types, so that ``report.bytes_writen`` is an
``AttributeError`` at run time and an error under ``mypy --strict``; :meth:`Result.from_dict`
builds one from the data (a field ``bytes_written`` reads the key ``bytesWritten``) and
:meth:`Result.to_dict` returns the data as the library wrote it.
"""

from __future__ import annotations

import copy
import dataclasses
import typing
from typing import Any, Dict, List, Mapping, Optional, Tuple, Type, TypeVar, Union

from ._model import Node
from ._native import Condition

__all__ = [
    "DiskCopySummary",
    "DiskReport",
    "MigrationEvent",
    "PhaseRecord",
    "PlanReport",
    "Result",
    "VmReport",
]

R = TypeVar("R", bound="Result")

_HINTS: Dict[type, Dict[str, Any]] = {}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _empty(hint: Any) -> Any:
    """The value of a field the data leaves out: what the library's serde defaults are."""
    origin = typing.get_origin(hint)
    if origin is Union:
        return None
    if origin is list:
        return []
    if origin is dict:
        return {}
    if origin is tuple:
        return ()
    if hint in (str, int, float, bool):
        return hint()
    if isinstance(hint, type) and issubclass(hint, Result):
        return hint.from_dict({})
    return None


def _convert(hint: Any, value: Any) -> Any:
    """``value`` (plain JSON data) as the type ``hint`` declares."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Union:
        inner = [arg for arg in args if arg is not type(None)]
        return _convert(inner[0], value) if len(inner) == 1 else value
    if origin is list:
        return [_convert(args[0], item) for item in value]
    if origin is tuple:
        return tuple(_convert(arg, item) for arg, item in zip(args, value))
    if origin is dict:
        return copy.deepcopy(value)
    if isinstance(hint, type):
        if issubclass(hint, Result):
            return hint.from_dict(value)
        if hint is Condition:
            return Condition.from_dict(value)
        if issubclass(hint, Node):
            return hint(copy.deepcopy(value))
        if hint is float:
            return float(value)
    return value


class Result:
    """Base of the typed results (subclasses are frozen dataclasses).

    ``to_dict()`` returns the data as the library wrote it (camelCase keys, as the CLI's
    ``-o json`` prints it); ``from_dict(data)`` builds the result from such data.
    """

    _raw: Dict[str, Any]

    @classmethod
    def from_dict(cls: Type[R], data: Mapping[str, Any]) -> R:
        """The result of ``data`` (camelCase keys; missing fields take empty values)."""
        hints = _HINTS.get(cls)
        if hints is None:
            hints = _HINTS[cls] = typing.get_type_hints(cls)
        values: Dict[str, Any] = {}
        for field in dataclasses.fields(typing.cast(Any, cls)):
            key = field.metadata.get("key", _camel(field.name))
            hint = hints[field.name]
            values[field.name] = _convert(hint, data[key]) if key in data else _empty(hint)
        result: R = typing.cast(Any, cls)(**values)
        object.__setattr__(result, "_raw", dict(data))
        return result

    def to_dict(self) -> Dict[str, Any]:
        """A deep copy of the data, as plain dicts and lists with the library's camelCase keys."""
        return copy.deepcopy(self._raw)


@dataclasses.dataclass(frozen=True)
class DiskCopySummary(Result):
    """What the copy of one disk did (the fields of :class:`~forklift.CopySummary`)."""

    bytes_total: int
    """Size of the source disk."""
    bytes_read: int
    """Bytes read from the source."""
    bytes_written: int
    """Bytes of data written to the destination."""
    bytes_zeroed: int
    """Bytes zeroed on the destination with zeroing requests."""
    bytes_skipped: int
    """Bytes not written: zero where the destination already was, or not dirty."""
    bytes_resumed: int
    """Bytes a checkpoint showed as already copied."""
    seconds: float
    """Wall time."""
    mib_per_s: float
    """Disk bytes dealt with per second, in MiB/s."""
    request_size: int
    """Request size used."""
    requests: int
    """Requests in flight used."""
    checkpoint_discarded: Optional[str]
    """Why the checkpoint was discarded (it belonged to a replaced target), if it was."""


@dataclasses.dataclass(frozen=True)
class DiskReport(Result):
    """A disk migrated to the destination."""

    index: int
    """Disk index in the provider's order."""
    claim: str
    """Target claim name."""
    path: str
    """Where the disk is at the destination."""
    summary: DiskCopySummary
    """What the copy did."""
    verified: bool
    """Whether the image was re-read and found identical to the source."""


@dataclasses.dataclass(frozen=True)
class PhaseRecord(Result):
    """How one phase of a VM went."""

    phase: str
    """The phase (``DiskTransfer``, ``CreateVM``...)."""
    skipped: Optional[str]
    """Why it had nothing to do, when it had nothing to do."""


@dataclasses.dataclass(frozen=True)
class VmReport(Result):
    """How one VM's migration ended."""

    id: str
    """Source VM id."""
    source_name: str
    """Source VM name."""
    target_name: str
    """Name on the target."""
    namespace: str
    """Target namespace."""
    outcome: str
    """``succeeded``, ``failed``, ``canceled`` or ``skipped`` (migrated by an earlier run)."""
    error: Optional[str]
    """What failed, when it failed."""
    phases: List[PhaseRecord]
    """The phases that ran, in order (the failed one last when it failed)."""
    disks: List[DiskReport]
    """Copied disks (a warm VM: one entry per disk and precopy)."""
    warm: Optional[Dict[str, Any]]
    """A warm VM's precopies and downtime forecast, as its status records them."""


@dataclasses.dataclass(frozen=True)
class PlanReport(Result):
    """The result of a migration: every VM, the plan's conditions, bytes and time."""

    plan: str
    """``namespace/name`` of the plan."""
    vms: List[VmReport]
    """Every VM, in plan order."""
    conditions: List[Condition]
    """Conditions validation and render set."""
    bytes_written: int
    """Bytes of data written to the destination."""
    bytes_total: int
    """Bytes of every migrated disk."""
    seconds: float
    """Wall time."""
    status_path: str
    """Where the plan status was written."""

    def count(self, outcome: str) -> int:
        """How many VMs ended with ``outcome`` (``succeeded``, ``failed``...)."""
        return sum(1 for vm in self.vms if vm.outcome == outcome)

    @property
    def succeeded(self) -> bool:
        """Whether no VM failed or was cancelled."""
        return all(vm.outcome in ("succeeded", "skipped") for vm in self.vms)


@dataclasses.dataclass(frozen=True, repr=False)
class MigrationEvent(Result):
    """One event of a running migration.

    ``kind`` is the event's type; the other fields are set by the kinds that carry them and
    empty otherwise:

    - ``validated``: ``ready``, ``conditions``
    - ``planStarted``: ``plan``, ``vms`` (how many), ``bytes_total``
    - ``vmStarted``: ``vm``, ``target_name``
    - ``precopyDone``: ``vm``, ``precopy``, ``last``, ``bytes`` (per disk), ``forecast``
    - ``phaseStarted``: ``vm``, ``phase``, ``step``
    - ``phaseSkipped``: ``vm``, ``phase``, ``reason``
    - ``diskProgress``: ``vm``, ``disk``, ``bytes_done``, ``bytes_total``, ``bytes_per_second``
    - ``diskCopied``: ``vm``, ``disk``, ``path``, ``summary``, ``verified``
    - ``conversionProgress``: ``vm``, ``seconds``, ``stage``
    - ``vmRemigrating``: ``vm``, ``target_name``, ``reason``
    - ``vmCompleted``: ``vm``, ``target_name``, ``outcome``, ``error``
    - ``planCompleted``: ``succeeded``, ``failed``, ``canceled``, ``skipped``
    """

    kind: str = dataclasses.field(metadata={"key": "event"})
    """The event's type (``diskProgress``...), the ``event`` key of the data."""
    vm: str
    """Source VM id."""
    target_name: str
    """The VM's name on the target."""
    plan: str
    """``namespace/name`` of the plan."""
    vms: int
    """How many VMs the plan migrates."""
    ready: bool
    """Whether validation found no blocker."""
    conditions: List[Condition]
    """The plan's conditions."""
    precopy: int
    """Number of the precopy that finished (1-based)."""
    last: bool
    """Whether it was the final precopy."""
    bytes: List[Tuple[str, int]]
    """Bytes a precopy sent, per disk."""
    forecast: Optional[Dict[str, Any]]
    """The downtime forecast after a precopy."""
    phase: str
    """The phase started or skipped."""
    step: str
    """The pipeline step the phase belongs to."""
    reason: str
    """Why a phase was skipped or a VM is migrated again."""
    disk: str
    """Target claim name of the disk."""
    bytes_done: int
    """Bytes of the disk dealt with so far."""
    bytes_total: int
    """Bytes of the disk, or of every disk of the plan (``planStarted``)."""
    bytes_per_second: float
    """Average rate of data read from the source."""
    path: str
    """Where the copied disk is."""
    summary: Optional[DiskCopySummary]
    """What the disk's copy did."""
    verified: bool
    """Whether the copied disk was re-read and found identical."""
    seconds: float
    """Seconds the conversion has run."""
    stage: str
    """The conversion's current stage."""
    outcome: str
    """How the VM ended (``succeeded``, ``failed``, ``canceled``, ``skipped``)."""
    error: Optional[str]
    """What failed, when the VM failed."""
    succeeded: int
    """VMs that succeeded."""
    failed: int
    """VMs that failed."""
    canceled: int
    """VMs that were cancelled."""
    skipped: int
    """VMs an earlier run had migrated."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in self._raw.items() if key != "event")
        return f"<MigrationEvent {self.kind}: {fields}>"
