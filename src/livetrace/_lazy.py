"""Lazy names for subpackages: ``import livetrace.sources`` must not import pyzmq."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_namespace"]


def lazy_namespace(
    package: str, table: dict[str, str], namespace: dict[str, Any], eager: list[str]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for a package whose names in ``table`` (name ->
    private module, relative to ``package``) are imported on first access and then cached in
    ``namespace`` (the package's globals). ``eager`` lists the names imported directly."""
    names = sorted([*eager, *table])

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return names

    return names, __getattr__, __dir__
