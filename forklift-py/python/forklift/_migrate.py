"""Running a plan's migration into a local folder bundle, with events and cancellation."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import os
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Callable,
    Dict,
    Generator,
    Iterable,
    Iterator,
    List,
    Literal,
    Optional,
    TypedDict,
    Union,
)

from . import _docs, _native
from ._model import Resource, unwrap
from ._native import CancelToken
from ._results import MigrationEvent, PlanReport

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "Migration",
    "MigrationCopyOptions",
    "MigrationEvent",
    "async_migrate",
    "migrate",
    "start_migration",
]

ObjectLike = Union[Resource, Dict[str, Any]]
PathLike = Union[str, "os.PathLike[str]"]
HookCallback = Callable[[Dict[str, Any], Dict[str, Any]], object]
"""``hooks(hook, context)``: ``hook`` is the Hook resource and ``context`` its step, plan, VM
and target as a dict; what it returns (as text) is the hook's output, an exception fails it."""
Hooks = Union[Literal["local"], HookCallback]
"""What runs a plan's hooks: ``"local"`` (a local ``ansible-playbook``) or a callback."""
ConverterCallback = Callable[[List[Dict[str, Any]], Dict[str, Any]], Optional[Dict[str, Any]]]
"""``converter(disks, vm)``: ``disks`` are the copied raw images in the VM's order
(``{"path", "claim"}``), ``vm`` what the conversion knows of the VM (``name``, ``firmware``,
``macs``, ``memoryMib``, ``vcpus``, ``root``, ``staticIps``, ``nbdeClevis``, ``luksKeys`` (a
count), ``env``). It converts the images in place and returns ``None`` or a dict with any of
``osinfo``, ``osType``, ``productName``, ``virtioDrivers``, ``warnings``; an exception fails
the VM with its message."""
Converter = Union[Literal["virt-v2v"], ConverterCallback]
"""What converts guests: ``"virt-v2v"`` (this machine's virt-v2v) or a callback."""


MIGRATE_OPTION_DOCS: Dict[str, str] = {
    "plan": "The plan to run, ``name`` or ``namespace/name``, when ``objects`` hold several.",
    "on_event": "(migrate, async_migrate) Called with every MigrationEvent, in the calling thread "
    "(on the event loop for async_migrate); an exception it raises cancels the migration.",
    "cancel": "A CancelToken: cancels every VM when triggered.",
    "verify": "Re-read every copied disk and compare it with the source (default False).",
    "hooks": '"local" runs the plan\'s hooks with a local ansible-playbook; a callable '
    "``hooks(hook, context)`` runs them in Python; without it a plan with hooks is refused "
    "(HookRunnerNotAvailable).",
    "converter": '"virt-v2v" converts the guests in place with this machine\'s virt-v2v; without '
    "it a plan that needs conversion is refused unless it sets skipGuestConversion.",
    "request_size": "Bytes per disk-copy request (a power of two, 4 KiB to 32 MiB; default 1 MiB).",
    "requests": "Disk-copy requests in flight per disk (default 16).",
    "retries": "Attempts per block for recoverable errors (default 3).",
    "reconnects": "Times a lost NBD connection is reopened before the disk fails (default 3).",
    "io_timeout": "Seconds an NBD request may wait without a byte from the server (default 300; 0: forever).",
    "allow_plain_http": "Let a vSphere source's spec.url be plain http:// (the password then "
    "travels in clear text; refused otherwise).",
    "restart": "Copy every disk from zero, discarding the checkpoints an earlier run left (default False).",
    "kubeconfig": 'With destination="kubevirt": the kubeconfig (else KUBECONFIG, ~/.kube/config, in-cluster).',
    "upload_proxy_url": "With kubevirt: CDI's upload proxy URL (else CDIConfig's status).",
    "upload_proxy_ca": "With kubevirt: the upload proxy's CA file (else CDIConfig's status).",
    "staging": "With kubevirt: where disks are staged before their upload.",
}
"""What each keyword option of :func:`migrate` does (shown by ``help()``)."""


class MigrationCopyOptions(TypedDict, total=False):
    """How :func:`migrate` and :func:`async_migrate` copy disks (see :class:`~forklift.CopyOptions`)."""

    request_size: Optional[int]
    requests: Optional[int]
    retries: Optional[int]
    reconnects: Optional[int]
    io_timeout: Optional[float]


@dataclasses.dataclass(frozen=True)
class CancelledVm:
    """The VM :meth:`Migration.cancel_vm` cancelled."""

    id: str
    """Inventory id (empty if the plan names the VM by name and the run has not looked it up yet)."""
    source_name: str
    """Source name (empty if the plan names the VM by id and the run has not looked it up yet)."""
    target_name: Optional[str]
    """Name on the target, once the run has rendered the plan."""


class Migration:
    """A running migration: iterate it for its events, ``result()`` for the plan report.

    Iterating (``for event in migration``) blocks with the GIL released until the next event
    and ends when the migration has; ``async for`` works in asyncio code. ``cancel()`` stops
    every VM, ``cancel_vm(vm)`` one of them; cancelled VMs are cleaned up.
    """

    def __init__(self, task: "_native.Task[Dict[str, Any]]", events: "_native.MigrationEvents") -> None:
        self._task = task
        self._events = events

    def __iter__(self) -> Iterator[MigrationEvent]:
        for event in self._events:
            yield MigrationEvent.from_dict(event)

    async def __aiter__(self) -> AsyncIterator[MigrationEvent]:
        loop = asyncio.get_running_loop()
        while True:
            event = await loop.run_in_executor(None, self._events.next)
            if event is None:
                return
            yield MigrationEvent.from_dict(event)

    def next_event(self, timeout: Optional[float] = None) -> Optional[MigrationEvent]:
        """The next event, None once the migration ended; ``TimeoutError`` after ``timeout`` s."""
        event = self._events.next(timeout)
        return None if event is None else MigrationEvent.from_dict(event)

    def cancel(self) -> None:
        """Cancels the whole migration; ``result()`` then raises :class:`~forklift.CancelledError`."""
        self._task.cancel()

    def cancel_vm(self, vm: str) -> CancelledVm:
        """Cancels one VM, found by its inventory id, its source name or its target name (the
        names events show; the target name once the plan is rendered), and returns it.

        Raises ``LookupError`` naming ``vm`` when the plan has no such VM."""
        found = self._events.cancel_vm(vm)
        return CancelledVm(
            id=str(found["id"]),
            source_name=str(found["sourceName"]),
            target_name=None if found["targetName"] is None else str(found["targetName"]),
        )

    def cutover(self, at: Union[str, datetime.datetime, None] = None) -> None:
        """Cuts the warm VMs over at ``at`` (an RFC 3339 string or a timezone-aware
        ``datetime``), or now when None, as setting the Migration's ``spec.cutover`` does:
        each VM cuts over when its current precopy is done. Per-VM ``vmCutover`` times in the
        Migration keep precedence.

        Raises ``ValueError`` for a time that is not RFC 3339 or a naive ``datetime``."""
        if isinstance(at, datetime.datetime):
            if at.tzinfo is None:
                raise ValueError("cutover needs a timezone-aware datetime")
            at = at.isoformat()
        self._events.cutover(at)

    def done(self) -> bool:
        """Whether the migration has finished."""
        return self._task.done()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Waits until the migration finishes or ``timeout`` seconds pass; returns whether it did."""
        return self._task.wait(timeout)

    def result(self, timeout: Optional[float] = None) -> PlanReport:
        """Waits for the end and returns the plan report (``vms``, ``conditions``, bytes, seconds)."""
        return PlanReport.from_dict(self._task.result(timeout))

    def __await__(self) -> Generator[Any, None, PlanReport]:
        data: Dict[str, Any] = yield from self._task.__await__()
        return PlanReport.from_dict(data)


@_docs.options(MIGRATE_OPTION_DOCS)
def start_migration(
    objects: Iterable[ObjectLike],
    destination: PathLike,
    *,
    plan: Optional[str] = None,
    cancel: Optional[CancelToken] = None,
    verify: bool = False,
    hooks: Optional[Hooks] = None,
    converter: Optional[Converter] = None,
    request_size: Optional[int] = None,
    requests: Optional[int] = None,
    retries: Optional[int] = None,
    reconnects: Optional[int] = None,
    io_timeout: Optional[float] = None,
    allow_plain_http: bool = False,
    restart: bool = False,
    kubeconfig: Optional[PathLike] = None,
    upload_proxy_url: Optional[str] = None,
    upload_proxy_ca: Optional[PathLike] = None,
    staging: Optional[PathLike] = None,
) -> Migration:
    """Starts migrating a plan into ``destination``: a local directory (``"local:DIR"`` or a
    path) for a deployable bundle, or ``"kubevirt"`` for a cluster with KubeVirt and CDI.

    With ``"kubevirt"`` the kubeconfig is ``kubeconfig``, else found as kubectl finds it
    (``KUBECONFIG``, ``~/.kube/config``, in-cluster); disks are streamed from the copy into
    CDI's upload proxy (``upload_proxy_url`` / ``upload_proxy_ca``, else CDIConfig's status),
    or, when ``staging`` is given, staged there first and uploaded from the staged images; a refusal of the cluster fails the VM, and its ``error`` in the report
    says what was refused and what to do. A local directory named
    ``kubevirt`` is written as ``"local:kubevirt"`` or ``"./kubevirt"``.

    ``objects`` holds the Plan, its Providers (with Secrets), maps and Hooks, e.g. a
    :class:`~forklift.Manifests`; ``plan`` picks one by ``name`` or ``namespace/name``. The plan
    is validated first: blockers fail the migration with :class:`~forklift.ValidationError`
    before anything moves. What is created is exactly what :func:`forklift.render` returns;
    ``verify`` re-reads every copied disk and compares it with the source. Hooks run only when
    asked: without ``hooks`` a plan with hooks fails with :class:`~forklift.ValidationError`
    (a Critical ``HookRunnerNotAvailable`` condition) before anything moves.
    ``hooks="local"`` runs their playbooks on this machine with ``ansible-playbook``; a
    callable runs them in Python: it is called from a forklift thread with the Hook resource
    and the context (``step``, ``planName``, ``vmName``, ``targetName``...); its return value
    is the hook's output and an exception fails the VM with the exception's message.
    Guests are converted only when asked: ``converter="virt-v2v"`` converts the copied disks in
    place with this machine's virt-v2v (virtio drivers, VMware tools removed, LUKS unlocked
    with the VM's ``luks`` Secret; libguestfs forced to TCG), records the inspected OS in the
    VM's status and keeps virt-v2v's log next to the plan status; without it a plan that needs
    conversion fails with :class:`~forklift.ValidationError` (``GuestConversionNotAvailable``)
    unless it sets ``skipGuestConversion``. A callable converts in Python (see
    :data:`ConverterCallback`): it is called from a forklift thread for each VM after its
    disks are copied; what it returns is recorded as virt-v2v's findings are.
    ``request_size``, ``requests``, ``retries``, ``reconnects`` and ``io_timeout`` (seconds
    an NBD request may wait without a byte from the server) tune the disk copies as in
    :class:`~forklift.CopyOptions`. ``allow_plain_http`` lets a vSphere source's ``spec.url``
    be plain ``http://``, which sends the password in clear text (refused otherwise).

    A disk whose copy an earlier run into the same ``destination`` did not finish (it was
    interrupted, cancelled, or its VM failed) resumes from the checkpoint kept beside its
    image; checkpoints are removed when their VM succeeds (and, with
    ``deleteVmOnFailMigration``, with the failed VM's images). ``restart=True`` discards them
    and copies every disk from zero.
    """
    task, events = _native.start_migration(
        [unwrap(obj) for obj in objects],
        os.fspath(destination),
        plan=plan,
        cancel=cancel,
        verify=verify,
        hooks=hooks,
        converter=converter,
        request_size=request_size,
        requests=requests,
        retries=retries,
        reconnects=reconnects,
        io_timeout=io_timeout,
        allow_plain_http=allow_plain_http,
        restart=restart,
        kubeconfig=None if kubeconfig is None else os.fspath(kubeconfig),
        upload_proxy_url=upload_proxy_url,
        upload_proxy_ca=None if upload_proxy_ca is None else os.fspath(upload_proxy_ca),
        staging=None if staging is None else os.fspath(staging),
    )
    return Migration(task, events)


@_docs.options(MIGRATE_OPTION_DOCS)
def migrate(
    objects: Iterable[ObjectLike],
    destination: PathLike,
    *,
    plan: Optional[str] = None,
    on_event: Optional[Callable[[MigrationEvent], object]] = None,
    cancel: Optional[CancelToken] = None,
    verify: bool = False,
    hooks: Optional[Hooks] = None,
    converter: Optional[Converter] = None,
    allow_plain_http: bool = False,
    restart: bool = False,
    kubeconfig: Optional[PathLike] = None,
    upload_proxy_url: Optional[str] = None,
    upload_proxy_ca: Optional[PathLike] = None,
    staging: Optional[PathLike] = None,
    **copy: Unpack[MigrationCopyOptions],
) -> PlanReport:
    """Migrates a plan (see :func:`start_migration`) and returns the plan report.

    What runs today: a cold plan from a ``vsphere`` or ``ova`` source into the local folder
    ``destination``, or onto a cluster with ``destination="kubevirt"`` (``kubeconfig=``...,
    see :func:`start_migration`), its guests converted with ``converter="virt-v2v"``, or copied
    raw when the plan sets ``skipGuestConversion: true`` (MTV's raw copy mode; with
    ``useCompatibilityMode: true`` the VMs get SATA disks and e1000e NICs); otherwise, and for
    warm plans or other sources, it
    fails with :class:`~forklift.ValidationError` (a Critical ``GuestConversionNotAvailable``,
    ``WarmMigrationNotAvailable``... condition) or :class:`~forklift.ProviderError` (a source
    type not implemented yet) before anything moves. Each DataVolume of a local bundle takes
    its disk through CDI's upload API: :func:`forklift.deploy` pushes the bundle to a cluster.

    ``on_event`` is called with every event, in this thread; an exception it raises (or
    Ctrl-C) cancels the migration and propagates.
    """
    migration = start_migration(
        objects,
        destination,
        plan=plan,
        cancel=cancel,
        verify=verify,
        hooks=hooks,
        converter=converter,
        allow_plain_http=allow_plain_http,
        restart=restart,
        kubeconfig=kubeconfig,
        upload_proxy_url=upload_proxy_url,
        upload_proxy_ca=upload_proxy_ca,
        staging=staging,
        **copy,
    )
    try:
        for event in migration:
            if on_event is not None:
                on_event(event)
        return migration.result()
    except BaseException:
        migration.cancel()
        raise


async def async_migrate(
    objects: Iterable[ObjectLike],
    destination: PathLike,
    *,
    plan: Optional[str] = None,
    on_event: Optional[Callable[[MigrationEvent], object]] = None,
    cancel: Optional[CancelToken] = None,
    verify: bool = False,
    hooks: Optional[Hooks] = None,
    converter: Optional[Converter] = None,
    allow_plain_http: bool = False,
    restart: bool = False,
    kubeconfig: Optional[PathLike] = None,
    upload_proxy_url: Optional[str] = None,
    upload_proxy_ca: Optional[PathLike] = None,
    staging: Optional[PathLike] = None,
    **copy: Unpack[MigrationCopyOptions],
) -> PlanReport:
    """:func:`migrate` for asyncio: events are delivered on the event loop."""
    migration = start_migration(
        objects,
        destination,
        plan=plan,
        cancel=cancel,
        verify=verify,
        hooks=hooks,
        converter=converter,
        allow_plain_http=allow_plain_http,
        restart=restart,
        kubeconfig=kubeconfig,
        upload_proxy_url=upload_proxy_url,
        upload_proxy_ca=upload_proxy_ca,
        staging=staging,
        **copy,
    )
    try:
        async for event in migration:
            if on_event is not None:
                on_event(event)
        return await migration
    except BaseException:
        migration.cancel()
        raise


_docs.document(async_migrate, MIGRATE_OPTION_DOCS)
