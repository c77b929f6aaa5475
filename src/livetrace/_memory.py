"""Memory for the hot paths: page-offset-matched arrays (:func:`aligned_empty`) and the
recycled output blocks of large reads (:class:`OutputPool`)."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["OutputPool", "aligned_empty"]


def _probe_page_offset() -> int:
    """Page offset at which numpy places large allocations here (16 on glibc).

    The probe (never touched, so never backed by memory) is larger than glibc's biggest
    dynamic mmap threshold: it is always mapped afresh, whatever the allocator did before,
    and freeing it does not raise the threshold for later allocations.
    """
    probe = np.empty(1 << 26, dtype=np.uint8)
    return int(probe.ctypes.data % 4096)


_PAGE_OFFSET = _probe_page_offset()


def aligned_empty(
    shape: int | tuple[int, ...], dtype: Any, *, like_address: int | None = None
) -> NDArray[Any]:
    """``np.empty`` whose address has the same page offset as ``like_address``.

    Copies between arrays whose addresses differ by a small non-multiple of 64 modulo 4096 run
    up to 10x slower on some CPUs (4K aliasing). Without ``like_address`` the
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
    """``sys.getrefcount`` of a pooled block nobody else holds, as OutputPool sees it: the
    pool's list entry, the view it keeps of the block, and the call's own argument."""
    raw = np.empty(8, dtype=np.uint8)
    blocks = [[raw, 0, 8, np.ndarray((8,), np.uint8, raw, 0), None]]
    del raw
    getrefcount = sys.getrefcount
    for block in blocks:  # the same loop as OutputPool.empty's
        return getrefcount(block[0])
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
        # [raw, address, nbytes, view, key]: ``view`` is the whole block as rows of the last
        # (offset, dtype, row shape) == ``key`` asked for; outputs are slices of it
        self._blocks: list[list[Any]] = []

    def empty(
        self, shape: tuple[int, ...], dtype: np.dtype[Any], like_address: int
    ) -> NDArray[Any]:
        """An uninitialised array of ``shape``/``dtype`` whose page offset matches."""
        row_bytes = dtype.itemsize
        for s in shape[1:]:
            row_bytes *= s
        need = shape[0] * row_bytes + 4096
        getrefcount = sys.getrefcount
        for block in self._blocks:
            # no reference beyond the pool's own (measured once: interpreters count differently)
            if block[2] >= need and getrefcount(block[0]) == _FREE_REFCOUNT:
                break
        else:
            raw = np.empty(need + 64, dtype=np.uint8)
            block = [raw, int(raw.ctypes.data), need + 64, None, None]
            del raw
            if len(self._blocks) < self._size:
                self._blocks.append(block)
            else:  # all busy: replace the smallest so that sizes adapt
                self._blocks.sort(key=lambda b: b[2])
                self._blocks[0] = block
        start = (like_address - block[1]) % 4096
        key = (start, dtype, shape[1:])
        if block[4] != key:
            rows = (block[2] - start) // row_bytes
            block[3] = np.ndarray((rows, *shape[1:]), dtype, block[0], start)
            block[4] = key
        out: NDArray[Any] = block[3][: shape[0]]
        return out
