"""Loading and saving Kubernetes manifests (Plans, Providers, maps, ...)."""

from __future__ import annotations

import os
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union, overload

from . import _native
from ._model import Resource, unwrap
from ._native import Diagnostic

__all__ = ["Manifests", "dump", "dumps", "load", "loads"]

PathLike = Union[str, "os.PathLike[str]"]
ObjectLike = Union[Resource, Dict[str, Any]]


class Manifests(Sequence[Resource]):
    """Objects loaded from manifests, in load order, with the diagnostics of loading them.

    A sequence of :class:`Resource` s; ``get(kind, name, namespace)`` finds one by address.
    """

    def __init__(
        self,
        objects: Iterable[ObjectLike] = (),
        diagnostics: Iterable[Diagnostic] = (),
        origins: Iterable[Dict[str, Any]] = (),
    ) -> None:
        self._objects: List[Resource] = [obj if isinstance(obj, Resource) else Resource(obj) for obj in objects]
        self._origins: List[Dict[str, Any]] = list(origins)
        self.diagnostics: List[Diagnostic] = list(diagnostics)
        """Every finding of loading, errors and warnings, in the order found."""

    @overload
    def __getitem__(self, index: int) -> Resource: ...

    @overload
    def __getitem__(self, index: slice) -> List[Resource]: ...

    def __getitem__(self, index: Union[int, slice]) -> Union[Resource, List[Resource]]:
        return self._objects[index]

    def __len__(self) -> int:
        return len(self._objects)

    def __iter__(self) -> Iterator[Resource]:
        return iter(self._objects)

    def __repr__(self) -> str:
        return f"<Manifests: {len(self._objects)} objects, {len(self.errors)} errors, {len(self.warnings)} warnings>"

    @property
    def errors(self) -> List[Diagnostic]:
        """The diagnostics that are errors."""
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> List[Diagnostic]:
        """The diagnostics that are warnings (unknown fields, guide placeholders, ...)."""
        return [d for d in self.diagnostics if not d.is_error]

    def get(self, kind: str, name: str, namespace: Optional[str] = None) -> Optional[Resource]:
        """The object of ``kind`` named ``name`` (in ``namespace``, when given), or None."""
        for obj in self._objects:
            if obj.kind == kind and obj.name == name and (namespace is None or (obj.namespace or "") == namespace):
                return obj
        return None

    def of_kind(self, kind: str) -> List[Resource]:
        """Every object of ``kind``, in load order."""
        return [obj for obj in self._objects if obj.kind == kind]

    def origin(self, index: int) -> Optional[Tuple[str, int]]:
        """``(source, document)`` the object at ``index`` was loaded from, if it was loaded."""
        if index < len(self._origins):
            origin = self._origins[index]
            return str(origin["source"]), int(origin["document"])
        return None

    def to_yaml(self) -> str:
        """The objects as multi-document YAML."""
        return dumps(self._objects, "yaml")

    def to_json(self) -> str:
        """The objects as one JSON ``v1`` ``List``."""
        return dumps(self._objects, "json")


def _manifests(entries: List[Tuple[Dict[str, Any], Dict[str, Any]]], diagnostics: List[Diagnostic]) -> Manifests:
    return Manifests((data for _, data in entries), diagnostics, (origin for origin, _ in entries))


def loads(text: str, source: str = "<string>", *, strict: bool = True) -> Manifests:
    """Parses YAML or JSON text holding one or more documents (``---``) or ``List`` s.

    With ``strict`` (the default), any error raises :class:`~forklift.ManifestError` listing
    every error; otherwise bad documents are skipped and reported in ``diagnostics``.
    """
    entries, diagnostics = _native.parse_manifests(source, text, strict)
    return _manifests(entries, diagnostics)


def load(
    *paths: PathLike, strict: bool = True, max_input_size: Optional[int] = None
) -> Manifests:
    """Loads manifest files and directories (their ``.yaml``, ``.yml`` and ``.json`` files).

    A missing path raises :class:`FileNotFoundError`; see :func:`loads` for ``strict``. Only
    regular files are read (a FIFO or device is an ``io`` error), each of at most
    ``max_input_size`` bytes (64 MiB by default).
    """
    entries, diagnostics = _native.load_manifests(
        [os.fspath(path) for path in paths], strict, max_input_size
    )
    return _manifests(entries, diagnostics)


def dumps(objects: Iterable[ObjectLike], format: str = "yaml") -> str:
    """Writes objects as multi-document YAML (``format="yaml"``) or a JSON ``List`` (``"json"``).

    Objects are checked by the typed model first: one it rejects raises
    :class:`~forklift.ManifestError`. What is written is what ``kubectl apply`` accepts.
    """
    return _native.dump_manifests([unwrap(obj) for obj in objects], format)


def dump(objects: Iterable[ObjectLike], path: PathLike, format: Optional[str] = None) -> None:
    """Writes objects to ``path``; the format follows the extension (``.json``, else YAML)."""
    if format is None:
        format = "json" if os.fspath(path).endswith(".json") else "yaml"
    text = dumps(objects, format)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
