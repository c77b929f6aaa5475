"""What every analysis object shares: taking chunks apart, and noticing gaps.

Contract (see ``docs/architecture.md``): an analyser is constructed with keyword parameters
(validated once), ``update(chunk)`` consumes a :class:`~livetrace.WaveformTrace` or an array,
``result`` is a frozen result object, ``reset()`` restores the fresh state exactly, and
``attach(info)`` (called by the stream) takes the sample rate and channel count from the
stream when they were not given. Results never depend on chunk boundaries.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError
from .._types import WaveformTrace

__all__ = ["ChunkView", "GapTracker", "as_chunk", "check_positive"]


class ChunkView(NamedTuple):
    """A chunk taken apart: 2-D ``data`` (n, channels), absolute ``start_index``, rate, gap.

    ``sample_rate`` is None for a bare array. ``discontinuity`` is the chunk's flag.
    """

    data: NDArray[Any]
    start_index: int | None
    sample_rate: float | None
    discontinuity: bool


def as_chunk(chunk: WaveformTrace | NDArray[Any]) -> ChunkView:
    """Split a chunk or array into a :class:`ChunkView`; ``TypeError`` for anything else."""
    if isinstance(chunk, WaveformTrace):
        data = chunk.data
        meta = chunk.metadata
        start: int | None = meta.start_index
        rate: float | None = meta.sample_rate
        disc = bool(meta.discontinuity)
    elif isinstance(chunk, np.ndarray):
        data = chunk
        start, rate, disc = None, None, False
    else:
        raise TypeError(
            f"update() takes a WaveformTrace chunk or a numpy array, got {type(chunk).__name__}"
        )
    if data.dtype.kind not in "biufc":
        raise TypeError(f"chunk data must be numeric, got dtype {data.dtype}")
    if data.ndim == 1:
        data = data[:, None]
    elif data.ndim != 2:
        raise ValueError(f"chunk data must be 1-D or (n_samples, n_channels), got {data.shape}")
    return ChunkView(data, start, rate, disc)


class GapTracker:
    """Follows absolute positions across chunks and says when samples were skipped.

    ``check(view)`` returns True when the chunk does not continue the previous one (a jump in
    ``start_index`` or the chunk's ``discontinuity`` flag): the caller then resets what must
    not be spliced across a gap (filter state, a half-seen pulse). Bare arrays are taken as
    contiguous. ``position`` is the absolute index of the next expected sample.
    """

    __slots__ = ("position",)

    def __init__(self) -> None:
        self.position: int | None = None

    def check(self, view: ChunkView) -> bool:
        start = view.start_index
        if start is None:
            start = 0 if self.position is None else self.position
        gap = self.position is not None and (start != self.position or view.discontinuity)
        self.position = start + view.data.shape[0]
        return gap

    def start_of(self, view: ChunkView) -> int:
        """Absolute index of the chunk's first sample (call before :meth:`check`)."""
        if view.start_index is not None:
            return view.start_index
        return 0 if self.position is None else self.position

    def reset(self) -> None:
        self.position = None


def check_positive(name: str, value: float | None, *, allow_none: bool = False) -> None:
    """``ConfigurationError`` unless ``value`` is a finite number > 0."""
    if value is None and allow_none:
        return
    if value is None or not np.isfinite(value) or value <= 0:
        raise ConfigurationError(f"{name} must be a finite number > 0, got {value!r}")
