"""Type stubs of the native extension ``forklift._native`` (checked by ``mypy.stubtest``)."""

import os
from typing import Any, Callable, Dict, Generator, Generic, Iterable, List, Literal, Mapping, Optional, Sequence, Tuple, TypeVar, Union, final

_T = TypeVar("_T")

__all__ = [
    "__version__",
    "CancelToken",
    "Task",
    "Diagnostic",
    "_sleep",
    "parse_manifests",
    "load_manifests",
    "dump_manifests",
    "adjust_name",
    "dns1123_label_errors",
    "dns1123_subdomain_errors",
    "render_template",
    "CopyProgress",
    "CopySummary",
    "start_copy",
    "Condition",
    "ConditionItem",
    "validate",
    "render",
    "start_inventory",
    "MigrationEvents",
    "start_migration",
    "deploy",
]

__version__: str

@final
class CancelToken:
    """A cancellation token: pass it to long calls, call ``cancel()`` from anywhere to stop them."""

    def __init__(self) -> None: ...
    def cancel(self) -> None: ...
    @property
    def cancelled(self) -> bool: ...

@final
class Task(Generic[_T]):
    """A running or finished operation (like ``concurrent.futures.Future``)."""

    def done(self) -> bool: ...
    def cancel(self) -> bool: ...
    def running(self) -> bool: ...
    @property
    def cancelled(self) -> bool: ...
    def wait(self, timeout: Optional[float] = None) -> bool: ...
    def result(self, timeout: Optional[float] = None) -> _T: ...
    def add_done_callback(self, callback: Callable[[Task[_T]], object]) -> None: ...
    def exception(self, timeout: Optional[float] = None) -> Optional[BaseException]: ...
    def __await__(self) -> Generator[Any, None, _T]: ...

def _sleep(seconds: float, cancel: Optional[CancelToken] = None) -> Task[float]: ...

@final
class Diagnostic:
    """One finding of manifest loading: severity, stable code, location and message."""

    @property
    def severity(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def document(self) -> Optional[int]: ...
    @property
    def path(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def is_error(self) -> bool: ...
    def to_dict(self) -> Dict[str, Any]: ...

_Loaded = Tuple[List[Tuple[Dict[str, Any], Dict[str, Any]]], List[Diagnostic]]

def parse_manifests(source: str, text: str, strict: bool = True) -> _Loaded: ...
def load_manifests(
    paths: Sequence[Union[str, os.PathLike[str]]],
    strict: bool = True,
    max_input_size: Optional[int] = None,
) -> _Loaded: ...
def dump_manifests(objects: Iterable[Any], format: str = "yaml") -> str: ...

def adjust_name(name: str, *, taken: Optional[Iterable[str]] = None, seed: Optional[int] = None) -> str:
    """Adjusts a VM name the way MTV does: a DNS-1123 name of at most 63 characters.

    When the result is in ``taken``, it is cut to 58 characters and gets ``-`` and 4 random
    characters; ``seed`` makes those reproducible.
    """

def dns1123_label_errors(value: str) -> List[str]:
    """Why ``value`` is not a DNS-1123 label (Kubernetes' messages); empty when it is one."""

def dns1123_subdomain_errors(value: str) -> List[str]:
    """Why ``value`` is not a DNS-1123 subdomain (Kubernetes' messages); empty when it is one."""

def render_template(kind: str, template: str, data: Mapping[str, Any]) -> str:
    """Renders an MTV naming template (Go ``text/template`` with MTV's sprig functions).

    ``kind`` is ``"pvc"`` (the output is trimmed and must be a DNS-1123 label),
    ``"volume"`` or ``"network"`` (cut to 63 characters). ``data`` maps the template's
    fields (``PlanName``, ``TargetVmName``, ``DiskIndex``, ...) to values. A template that does
    not parse or fails raises :class:`~forklift.TemplateError`.
    """

@final
class CopyProgress:
    """How far a copy has come (passed to the ``progress`` callback)."""

    @property
    def bytes_done(self) -> int: ...
    @property
    def bytes_total(self) -> int: ...
    @property
    def bytes_read(self) -> int: ...
    @property
    def bytes_per_second(self) -> float: ...
    @property
    def read_bytes_per_second(self) -> float: ...
    @property
    def eta_seconds(self) -> Optional[float]: ...
    @property
    def elapsed_seconds(self) -> float: ...
    @property
    def fraction(self) -> float: ...
    def to_dict(self) -> Dict[str, Any]: ...

@final
class CopySummary:
    """What a finished copy did."""

    @property
    def bytes_total(self) -> int: ...
    @property
    def bytes_read(self) -> int: ...
    @property
    def bytes_written(self) -> int: ...
    @property
    def bytes_zeroed(self) -> int: ...
    @property
    def bytes_skipped(self) -> int: ...
    @property
    def bytes_resumed(self) -> int: ...
    @property
    def seconds(self) -> float: ...
    @property
    def mib_per_s(self) -> float: ...
    @property
    def request_size(self) -> int: ...
    @property
    def requests(self) -> int: ...
    @property
    def checkpoint_discarded(self) -> Optional[str]: ...
    def to_dict(self) -> Dict[str, Any]: ...

def start_copy(
    source: Union[str, os.PathLike[str]],
    destination: Union[str, os.PathLike[str]],
    *,
    progress: Optional[Callable[[CopyProgress], object]] = None,
    cancel: Optional[CancelToken] = None,
    request_size: Optional[int] = None,
    requests: Optional[int] = None,
    sparse_granularity: Optional[int] = None,
    connections: Optional[int] = None,
    bitmap: Optional[str] = None,
    checkpoint: Optional[Union[str, os.PathLike[str]]] = None,
    checksums: bool = False,
    flush: bool = True,
    lanes: bool = True,
    direct: bool = False,
    retries: Optional[int] = None,
    reconnects: Optional[int] = None,
    io_timeout: Optional[float] = None,
    progress_interval: Optional[float] = None,
) -> Task[CopySummary]: ...

@final
class Condition:
    """A status condition, as MTV sets them on a Plan."""

    @property
    def type(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def suggestion(self) -> str: ...
    @property
    def durable(self) -> bool: ...
    @property
    def items(self) -> List[ConditionItem]: ...
    @property
    def is_blocker(self) -> bool: ...
    def to_dict(self) -> Dict[str, Any]: ...
    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Condition: ...

@final
class ConditionItem:
    """One item of a condition: the text MTV writes, and the VM it names when it names one.

    Equal to its ``text`` (``item == "id:vm-1 name:'web' "``); ``str(item)`` is the text.
    """

    @property
    def text(self) -> str: ...
    @property
    def id(self) -> Optional[str]: ...
    @property
    def name(self) -> Optional[str]: ...
    @property
    def type(self) -> Optional[str]: ...
    def to_dict(self) -> Dict[str, Optional[str]]: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

def validate(
    objects: Iterable[Any],
    inventory: Any,
    *,
    plan: Optional[str] = None,
    destination: Any = None,
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
    executor: str = "local",
    hooks: Optional[Literal["local"]] = None,
    converter: Union[Literal["virt-v2v"], Callable[[List[Dict[str, Any]], Dict[str, Any]], object], None] = None,
) -> List[Condition]: ...
def render(
    objects: Iterable[Any],
    inventory: Any,
    *,
    plan: Optional[str] = None,
    destination: Any = None,
    migration_uid: Optional[str] = None,
    executor: str = "local",
    hooks: Optional[Literal["local"]] = None,
    converter: Union[Literal["virt-v2v"], Callable[[List[Dict[str, Any]], Dict[str, Any]], object], None] = None,
) -> Tuple[Dict[str, Any], List[Dict[str, Any]], str, bool]: ...
def start_inventory(
    objects: Iterable[Any],
    provider: str,
    *,
    cancel: Optional[CancelToken] = None,
    allow_plain_http: bool = False,
) -> Task[Dict[str, Any]]: ...

@final
class MigrationEvents:
    """The events of a running migration, in the order they happened (an iterator)."""

    def __iter__(self) -> MigrationEvents: ...
    def __next__(self) -> Dict[str, Any]: ...
    def next(self, timeout: Optional[float] = None) -> Optional[Dict[str, Any]]: ...
    def cancel_vm(self, vm: str) -> Dict[str, Any]: ...
    def cutover(self, at: Optional[str] = None) -> None: ...

def start_migration(
    objects: Iterable[Any],
    destination: Union[str, os.PathLike[str]],
    *,
    plan: Optional[str] = None,
    cancel: Optional[CancelToken] = None,
    verify: bool = False,
    hooks: Union[Literal["local"], Callable[[Dict[str, Any], Dict[str, Any]], object], None] = None,
    converter: Union[Literal["virt-v2v"], Callable[[List[Dict[str, Any]], Dict[str, Any]], object], None] = None,
    request_size: Optional[int] = None,
    requests: Optional[int] = None,
    retries: Optional[int] = None,
    reconnects: Optional[int] = None,
    io_timeout: Optional[float] = None,
    allow_plain_http: bool = False,
    restart: bool = False,
    kubeconfig: Union[str, os.PathLike[str], None] = None,
    upload_proxy_url: Optional[str] = None,
    upload_proxy_ca: Union[str, os.PathLike[str], None] = None,
    staging: Union[str, os.PathLike[str], None] = None,
) -> Tuple[Task[Dict[str, Any]], MigrationEvents]: ...
def deploy(
    bundle: Union[str, os.PathLike[str]],
    *,
    kubeconfig: Union[str, os.PathLike[str], None] = None,
    upload_proxy_url: Optional[str] = None,
    upload_proxy_ca: Union[str, os.PathLike[str], None] = None,
) -> Dict[str, Any]: ...
