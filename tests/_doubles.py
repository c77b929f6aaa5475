"""Test doubles shared by the core tests (import with ``from _doubles import ...``)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from numpy.typing import NDArray

from livetrace import EndOfStream, RealtimeSource, SourceInfo


class RampSource(RealtimeSource):
    """Emits 0, 1, 2, ... in blocks of ``block`` samples, ``total`` samples in all (finite).

    ``gate``: when given, each acquire() waits for the event (lets a test pace the source).
    ``fail_at``: a dict {call number: exception} raised instead of data on those calls.
    """

    def __init__(
        self,
        total: int,
        block: int = 100,
        *,
        dtype: Any = np.float64,
        n_channels: int = 1,
        fail_at: dict[int, BaseException] | None = None,
        rate: float = 1000.0,
    ) -> None:
        self.total = total
        self.block = block
        self.dtype = np.dtype(dtype)
        self.n_channels = n_channels
        self.fail_at = dict(fail_at or {})
        self.rate = rate
        self.pos = 0
        self.calls = 0
        self.started = 0
        self.stopped = 0
        self._stop = threading.Event()

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(
            sample_rate=self.rate,
            dtype=self.dtype.name,
            n_channels=self.n_channels,
            finite=True,
            description="ramp",
        )

    def start(self) -> None:
        self.started += 1
        self._stop.clear()

    def stop(self) -> None:
        self.stopped += 1
        self._stop.set()

    def acquire(self) -> NDArray[Any]:
        self.calls += 1
        if self.calls in self.fail_at:
            raise self.fail_at[self.calls]
        if self.pos >= self.total:
            raise EndOfStream("ramp done")
        n = min(self.block, self.total - self.pos)
        x = np.arange(self.pos, self.pos + n, dtype=self.dtype)
        self.pos += n
        if self.n_channels > 1:
            x = np.stack([x + 0.5 * k for k in range(self.n_channels)], axis=1)
        return x


class BlockingSource(RealtimeSource):
    """acquire() blocks until stop() (a silent device); counts calls."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self.entered = threading.Event()

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(sample_rate=1000.0, description="silent")

    def start(self) -> None:
        self._stop.clear()

    def stop(self) -> None:
        self._stop.set()

    def acquire(self) -> None:
        self.entered.set()
        self._stop.wait()
