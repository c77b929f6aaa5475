"""Test doubles for sources and streams: a finite ramp and a silent (blocking) source.

>>> from livetrace import RealtimeStream
>>> from livetrace.testing import RampSource
>>> with RealtimeStream.from_source(RampSource(250, block=100), chunk_size=100) as s:
...     print([(c.start_index, float(c.data[0]), len(c)) for c in s])
[(0, 0.0, 100), (100, 100.0, 100), (200, 200.0, 50)]
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._errors import EndOfStream
from .._protocols import Block, RealtimeSource, SourceInfo

__all__ = ["BlockingSource", "JumpSource", "RampSource"]


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


class JumpSource(RealtimeSource):
    """A finite source with planned losses: ``n_blocks`` blocks of ``block`` samples whose
    values are their absolute indices (channel ``c`` scaled by ``factors[c]``; one factor
    gives 1-D blocks). ``plan`` maps a block number to ``("jump", k)`` (``k`` samples are
    missing before it: a counted gap) or ``("disc", 0)`` (a loss of unknown size), so a test
    can check that gaps are kept end to end, from the values alone."""

    def __init__(
        self,
        n_blocks: int,
        block: int,
        plan: dict[int, tuple[str, int]],
        *,
        factors: Sequence[float] = (1.0,),
        sample_rate: float = 1000.0,
        dtype: str = "float32",
        channel_names: Sequence[str] | None = None,
        units: Sequence[str] | None = None,
    ) -> None:
        self.n_blocks, self.block, self.plan = n_blocks, block, plan
        self.factors = tuple(factors)
        self.sample_rate, self.dtype = sample_rate, dtype
        self.names = {"channel_names": channel_names, "units": units}
        self.k = 0
        self.pos = 0

    @property
    def info(self) -> SourceInfo:
        names, units = self.names["channel_names"], self.names["units"]
        return SourceInfo(
            sample_rate=self.sample_rate,
            dtype=self.dtype,
            n_channels=len(self.factors),
            channel_names=tuple(names or ()),
            units=tuple(units or ()),
            finite=True,
            description="jumps",
        )

    def acquire(self) -> Block:
        if self.k >= self.n_blocks:
            raise EndOfStream("done")
        kind, amount = self.plan.get(self.k, ("", 0))
        if kind == "jump":
            self.pos += amount
        idx = np.arange(self.pos, self.pos + self.block, dtype=self.dtype)
        x = idx if len(self.factors) == 1 else np.stack([idx * f for f in self.factors], axis=1)
        blk = Block(x, self.pos, kind == "disc")
        self.pos += self.block
        self.k += 1
        return blk
