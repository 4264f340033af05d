"""Per-option documentation that ``help()`` shows: one home for each option's text.

A function decorated with :func:`options` gets an "Options" section in its docstring, one
entry per keyword, so ``help(forklift.copy)`` lists every option with what it does.
"""

from __future__ import annotations

import inspect
import textwrap
from typing import Any, Callable, Mapping, TypeVar

__all__ = ["document", "options", "section"]

F = TypeVar("F", bound=Callable[..., Any])


def section(docs: Mapping[str, str]) -> str:
    """The "Options" section listing ``docs`` (option name to its text)."""
    lines = ["", "", "Options:"]
    for name, text in docs.items():
        lines.append(f"    {name}")
        lines.extend(textwrap.wrap(" ".join(text.split()), 84, initial_indent="        ", subsequent_indent="        "))
    return "\n".join(lines)


def document(function: Callable[..., Any], docs: Mapping[str, str]) -> None:
    """Appends the "Options" section of ``docs`` to ``function``'s docstring (for ``async def``
    functions, which a decorator would hide from ``mypy.stubtest``)."""
    function.__doc__ = inspect.cleandoc(function.__doc__ or "") + section(docs)


def options(docs: Mapping[str, str]) -> Callable[[F], F]:
    """Appends the "Options" section of ``docs`` to the decorated function's docstring."""

    def apply(function: F) -> F:
        document(function, docs)
        return function

    return apply
