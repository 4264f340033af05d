"""Attribute access over the plain data of manifests and results.

The library hands every object over as JSON-shaped data (dicts, lists, scalars) with the
exact field names of the Kubernetes schemas. :class:`Node` wraps such a dict so that
``plan.spec.target_namespace`` reads ``plan["spec"]["targetNamespace"]``: an attribute name
matches the key that is equal to it once underscores are removed and case is ignored, so
``preserve_static_ips`` finds ``preserveStaticIPs``. Item access uses the exact keys. Nodes are
views: assigning through them changes the underlying data, which ``to_dict()`` returns.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any, Dict, Iterator, List, MutableSequence, Optional, Union, overload

__all__ = ["Node", "NodeList", "Resource", "unwrap", "wrap"]

_SNAKE_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _normalize(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def wrap(value: Any, root: Optional["Resource"] = None) -> Any:
    """Wraps dicts as :class:`Node` and lists as :class:`NodeList`; other values are returned as is.

    ``root`` is the :class:`Resource` the value belongs to, if any: new attributes set on its
    nodes are checked against the resource's schema.
    """
    if isinstance(value, dict):
        node = Node(value)
        object.__setattr__(node, "_root", root)
        return node
    if isinstance(value, list):
        items = NodeList(value)
        items._root = root
        return items
    return value


def unwrap(value: Any) -> Any:
    """The plain data behind a :class:`Node` or :class:`NodeList` (other values unchanged)."""
    if isinstance(value, (Node, NodeList)):
        return value._data
    return value


class Node:
    """A dict of a manifest or result, readable and writable through attributes.

    Deliberately not a ``Mapping``: its methods (``items``, ``keys``, ``values``, ``get``)
    would hide fields of the same names, such as a condition's ``items``. Use ``node["key"]``,
    ``"key" in node``, iteration over the keys, or ``to_dict()``.
    """

    __slots__ = ("_data", "_root")
    _data: Dict[str, Any]
    _root: Optional["Resource"]

    def __init__(self, data: Optional[Dict[str, Any]] = None) -> None:
        object.__setattr__(self, "_data", {} if data is None else data)
        object.__setattr__(self, "_root", None)

    def _key(self, name: str) -> Optional[str]:
        if name in self._data:
            return name
        wanted = _normalize(name)
        for key in self._data:
            if _normalize(key) == wanted:
                return key
        return None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        key = self._key(name)
        if key is None:
            raise AttributeError(f"{type(self).__name__} has no field {name!r} (fields: {', '.join(self._data)})")
        return wrap(self._data[key], self._root)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            raise AttributeError(f"cannot set {name!r}")
        key = self._key(name)
        if key is not None:
            self._data[key] = unwrap(value)
            return
        # A new field: inside a resource, the typed model must know it, or the value would be
        # dropped silently when the resource is written (``plan.spec.target_namspace = ...``).
        key = _camel(name)
        root = self._root
        before = root._unknown_fields() if root is not None else set()
        self._data[key] = unwrap(value)
        if root is None:
            return
        added = root._unknown_fields() - before
        if added:
            del self._data[key]
            raise AttributeError(
                f"{root.kind} has no field {', '.join(sorted(added))} (set {name!r}); "
                "use item access (node[key] = value) to store it anyway"
            )

    def __delattr__(self, name: str) -> None:
        key = self._key(name)
        if key is None:
            raise AttributeError(name)
        del self._data[key]

    def __dir__(self) -> List[str]:
        names = set(super().__dir__())
        for key in self._data:
            if key.isidentifier():
                names.add(key)
                names.add(_SNAKE_BOUNDARY.sub("_", key).lower())
        return sorted(names)

    def __getitem__(self, key: str) -> Any:
        return wrap(self._data[key], self._root)

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = unwrap(value)

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Node, dict)):
            return bool(self._data == unwrap(other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"

    def to_dict(self) -> Dict[str, Any]:
        """A deep copy of the data, as plain dicts and lists."""
        return copy.deepcopy(self._data)


class NodeList(MutableSequence[Any]):
    """A list of a manifest or result whose dict items read as :class:`Node`."""

    __slots__ = ("_data", "_root")

    def __init__(self, data: Optional[List[Any]] = None) -> None:
        self._data: List[Any] = [] if data is None else data
        self._root: Optional[Resource] = None

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> NodeList: ...

    def __getitem__(self, index: Union[int, slice]) -> Any:
        if isinstance(index, slice):
            return wrap(self._data[index], self._root)
        return wrap(self._data[index], self._root)

    @overload
    def __setitem__(self, index: int, value: Any) -> None: ...

    @overload
    def __setitem__(self, index: slice, value: Any) -> None: ...

    def __setitem__(self, index: Union[int, slice], value: Any) -> None:
        if isinstance(index, slice):
            self._data[index] = [unwrap(item) for item in value]
        else:
            self._data[index] = unwrap(value)

    def __delitem__(self, index: Union[int, slice]) -> None:
        del self._data[index]

    def __len__(self) -> int:
        return len(self._data)

    def insert(self, index: int, value: Any) -> None:
        self._data.insert(index, unwrap(value))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (NodeList, list)):
            return bool(self._data == unwrap(other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"NodeList({self._data!r})"

    def to_list(self) -> List[Any]:
        """A deep copy of the data, as plain lists and dicts."""
        return copy.deepcopy(self._data)


class Resource(Node):
    """A Kubernetes object (Plan, Provider, NetworkMap, VirtualMachine, DataVolume, ...).

    Fields read as attributes (``plan.spec.vms[0].name``); ``kind``, ``api_version``, ``name``
    and ``namespace`` are shortcuts into the object and its ``metadata``.
    """

    __slots__ = ()

    def __init__(self, data: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(data)
        object.__setattr__(self, "_root", self)

    def _unknown_fields(self) -> "set[str]":
        """Paths of the fields the typed model does not know (empty for kinds it does not model)."""
        from . import _native

        def unknown(data: Dict[str, Any]) -> "tuple[set[str], bool]":
            _, diagnostics = _native.parse_manifests("<resource>", json.dumps(data), False)
            rejected = any(d.severity == "error" for d in diagnostics)
            return {d.path for d in diagnostics if d.code == "unknown-field"}, rejected

        fields, rejected = unknown(self._data)
        if rejected and "status" in self._data:
            # An object the model rejects is not checked field by field; a status written by
            # hand (conditions without `status`, say) must not hide typos in the spec.
            spec_only = {k: v for k, v in self._data.items() if k != "status"}
            fields, _ = unknown(spec_only)
        return fields

    @property
    def kind(self) -> str:
        """The object's ``kind``."""
        return str(self._data.get("kind", ""))

    @property
    def api_version(self) -> str:
        """The object's ``apiVersion``."""
        return str(self._data.get("apiVersion", ""))

    @property
    def name(self) -> Optional[str]:
        """``metadata.name``, if set."""
        name = self._data.get("metadata", {}).get("name")
        return None if name is None else str(name)

    @property
    def namespace(self) -> Optional[str]:
        """``metadata.namespace``, if set."""
        namespace = self._data.get("metadata", {}).get("namespace")
        return None if namespace is None else str(namespace)

    def __repr__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else str(self.name)
        return f"<{self.kind} {where}>"

    def to_yaml(self) -> str:
        """The object as a YAML document, checked and written by the typed model."""
        from ._manifests import dumps

        return dumps([self], "yaml")

    def to_json(self) -> str:
        """The object as a JSON ``v1`` ``List`` of one item (what ``kubectl apply -f`` takes)."""
        from ._manifests import dumps

        return dumps([self], "json")
