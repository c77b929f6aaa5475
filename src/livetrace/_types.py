"""Chunk types: :class:`TraceMetadata` and :class:`WaveformTrace`.

Names and the first fields follow tracekit's ``core.types`` so seed code keeps working; the
streaming fields (``start_index``, ``start_time``, ``channel_names``, ``gap``,
``discontinuity``) are what make a chunk's position in the stream absolute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._errors import ConfigurationError

__all__ = ["TraceMetadata", "WaveformTrace"]


@dataclass(slots=True)
class TraceMetadata:
    """What a chunk of samples is: rate, absolute position, time, channels, and any gap before it.

    ``start_index`` is the absolute index of the chunk's first sample in the source's sequence
    (sample 0 is the first sample the source ever produced); samples dropped anywhere before
    this chunk advance it, so ``start_index`` of the next chunk minus ``start_index + len`` of
    this one is the number of samples lost between them.
    ``gap`` is that number for the samples lost *immediately before* this chunk, and
    ``discontinuity`` is True whenever samples may be missing there (``gap > 0``, or a loss
    of unknown size such as a reconnected socket).
    ``start_time`` is the wall-clock time (POSIX seconds) of the first sample, on the stream's
    nominal clock: time of sample 0 plus ``start_index / sample_rate``.
    """

    sample_rate: float
    vertical_scale: float | None = None
    vertical_offset: float | None = None
    acquisition_time: datetime | None = None
    trigger_info: dict[str, Any] | None = None
    source_file: str | None = None
    channel_name: str | None = None
    calibration_info: Any = None
    start_index: int = 0
    start_time: float | None = None
    channel_names: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    gap: int = 0
    discontinuity: bool = False

    def __post_init__(self) -> None:
        if not self.sample_rate > 0:
            raise ConfigurationError(f"sample_rate must be positive, got {self.sample_rate}")
        if self.channel_name is None and len(self.channel_names) == 1:
            self.channel_name = self.channel_names[0]

    @property
    def time_base(self) -> float:
        """Seconds between samples (``1 / sample_rate``)."""
        return 1.0 / self.sample_rate


@dataclass(slots=True)
class WaveformTrace:
    """A chunk of samples with its metadata.

    ``data`` is 1-D for a single channel and ``(n_samples, n_channels)`` for several.
    Integer data is converted to float64 (tracekit's behaviour); float and complex data are
    kept as they are. ``results`` holds, for chunks delivered by a stream, each attached
    analyser's result after this chunk (keyed by analyser name).
    """

    data: NDArray[Any]
    metadata: TraceMetadata
    results: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.data, np.ndarray):
            raise TypeError(f"data must be a numpy array, got {type(self.data).__name__}")
        if self.data.dtype.kind not in "fc":
            self.data = self.data.astype(np.float64)

    @property
    def time_vector(self) -> NDArray[np.float64]:
        """Time of each sample in seconds, relative to the chunk's first sample."""
        return np.arange(len(self.data), dtype=np.float64) * self.metadata.time_base

    @property
    def timestamps(self) -> NDArray[np.float64]:
        """Absolute wall-clock time (POSIX seconds) of each sample, from ``start_time``."""
        t0 = self.metadata.start_time
        if t0 is None:
            t0 = self.metadata.start_index / self.metadata.sample_rate
        return t0 + self.time_vector

    @property
    def duration(self) -> float:
        """Seconds from the first to the last sample (0 for fewer than two samples)."""
        if len(self.data) == 0:
            return 0.0
        return (len(self.data) - 1) * self.metadata.time_base

    @property
    def n_channels(self) -> int:
        """Number of channels (1 for 1-D data)."""
        return 1 if self.data.ndim == 1 else int(self.data.shape[1])

    @property
    def start_index(self) -> int:
        """Shortcut for ``metadata.start_index``."""
        return self.metadata.start_index

    @property
    def end_index(self) -> int:
        """Absolute index one past the last sample (``start_index + len(self)``)."""
        return self.metadata.start_index + len(self.data)

    def __len__(self) -> int:
        return len(self.data)
