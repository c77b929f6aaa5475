"""Test doubles for sources and streams: a finite ramp and a silent (blocking) source.

>>> from livetrace import RealtimeStream
>>> from livetrace.testing import RampSource
>>> with RealtimeStream.from_source(RampSource(250, block=100), chunk_size=100) as s:
...     print([(c.start_index, float(c.data[0]), len(c)) for c in s])
[(0, 0.0, 100), (100, 100.0, 100), (200, 200.0, 50)]
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._errors import EndOfStream
from .._protocols import RealtimeSource, SourceInfo

__all__ = ["BlockingSource", "RampSource"]


class RampSource(RealtimeSource):
    """Emits 0, 1, 2, ... in blocks of ``block`` samples, ``total`` samples in all, then
    raises :class:`~livetrace.EndOfStream`. Each sample's value is its absolute index, so a
    test can check order, loss and duplication from the values alone.

    With ``n_channels > 1`` channel ``k`` carries ``index + 0.5 * k``. ``fail_at`` maps a call
    number (1-based) to an exception raised instead of data on that call. ``calls``,
    ``started`` and ``stopped`` count the calls the stream made.
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
    """A silent device: ``acquire()`` blocks until ``stop()``, then returns None.

    ``entered`` is set once ``acquire()`` has been called, so a test can wait for it.
    """

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
