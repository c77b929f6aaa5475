"""Base for frozen result objects that also answer ``result["key"]`` like the seed's dicts."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["OutputPool", "ResultMapping", "aligned_empty"]


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


def _probe_page_offset() -> int:
    """Page offset at which numpy places large allocations here (16 on glibc)."""
    probe = np.empty(1 << 18, dtype=np.uint8)
    return int(probe.ctypes.data % 4096)


_PAGE_OFFSET = _probe_page_offset()


def aligned_empty(
    shape: int | tuple[int, ...], dtype: Any, *, like_address: int | None = None
) -> NDArray[Any]:
    """``np.empty`` whose address has the same page offset as ``like_address``.

    Copies between arrays whose addresses differ by a small non-multiple of 64 modulo 4096 run
    up to 10x slower on these CPUs (4K aliasing; see PERF-NOTES). Without ``like_address`` the
    array gets the page offset numpy gives large allocations, so arrays users allocate and our
    ring line up.
    """
    dt = np.dtype(dtype)
    n_items = int(np.prod(shape))
    nbytes = n_items * dt.itemsize
    raw = np.empty(nbytes + 4096 + 64, dtype=np.uint8)
    target = _PAGE_OFFSET if like_address is None else like_address % 4096
    start = (target - raw.ctypes.data) % 4096
    out: NDArray[Any] = raw[start : start + nbytes].view(dt).reshape(shape)
    return out


def _free_refcount() -> int:
    """``sys.getrefcount`` of a pooled block nobody else holds, as OutputPool sees it."""
    blocks = [(np.empty(1, dtype=np.uint8), 0)]
    for block in blocks:
        return sys.getrefcount(block[0])
    raise AssertionError("unreachable")


_FREE_REFCOUNT = _free_refcount()


class OutputPool:
    """Recycles the memory of large output arrays once nobody references them any more.

    A fresh multi-hundred-kilobyte array costs more in page faults on first touch than the
    copy into it (see ``benchmarks/bench_core.py``). The pool keeps up to ``size`` raw blocks
    and hands one out again only when its reference count shows that no array, view or
    memoryview of it is alive (every numpy view keeps its memory owner alive, so this is
    exact in CPython). Arrays are placed at a page offset matching ``like_address`` (see
    :func:`aligned_empty`). Not thread-safe: callers hold their own lock.
    """

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._blocks: list[tuple[NDArray[np.uint8], int]] = []

    def empty(
        self, shape: tuple[int, ...], dtype: np.dtype[Any], like_address: int
    ) -> NDArray[Any]:
        """An uninitialised array of ``shape``/``dtype`` whose page offset matches."""
        count = 1
        for s in shape:
            count *= s
        nbytes = count * dtype.itemsize
        need = nbytes + 4096
        chosen: tuple[NDArray[np.uint8], int] | None = None
        for block in self._blocks:
            # no reference beyond the pool's own (measured once: interpreters count differently)
            if block[0].nbytes >= need and sys.getrefcount(block[0]) == _FREE_REFCOUNT:
                chosen = block
                break
        if chosen is None:
            raw = np.empty(need + 64, dtype=np.uint8)
            chosen = (raw, int(raw.ctypes.data))
            if len(self._blocks) < self._size:
                self._blocks.append(chosen)
            else:  # all busy: replace the smallest so that sizes adapt
                self._blocks.sort(key=lambda b: b[0].nbytes)
                self._blocks[0] = chosen
        raw, addr = chosen
        start = (like_address - addr) % 4096
        out: NDArray[Any] = np.frombuffer(raw, dtype=dtype, count=count, offset=start)
        return out.reshape(shape) if len(shape) > 1 else out
