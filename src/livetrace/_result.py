"""Base for frozen result objects that also answer ``result["key"]`` like the seed's dicts."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

__all__ = ["ResultMapping"]


class ResultMapping:
    """Mixin for frozen dataclasses: read-only mapping access to the fields.

    ``result["mean"]``, ``"mean" in result``, ``dict(result)``, ``result.keys()`` and
    ``result.get("mean")`` work as on the seed's dicts, and ``result.mean`` is typed.
    """

    __slots__ = ()

    def _field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(self))  # type: ignore[arg-type]  # mixin: always on a dataclass

    def __getitem__(self, key: str) -> Any:
        if key not in self._field_names():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._field_names())

    def __len__(self) -> int:
        return len(self._field_names())

    def __contains__(self, key: object) -> bool:
        return key in self._field_names()

    def keys(self) -> tuple[str, ...]:
        """Field names, in declaration order."""
        return self._field_names()

    def values(self) -> tuple[Any, ...]:
        """Field values, in declaration order."""
        return tuple(getattr(self, k) for k in self._field_names())

    def items(self) -> tuple[tuple[str, Any], ...]:
        """``(name, value)`` pairs, in declaration order."""
        return tuple((k, getattr(self, k)) for k in self._field_names())

    def get(self, key: str, default: Any = None) -> Any:
        """``self[key]``, or ``default`` when there is no such field."""
        return getattr(self, key) if key in self._field_names() else default

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of the fields (shallow)."""
        return dict(self.items())
