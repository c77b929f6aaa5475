"""ArraySource: an in-memory array streamed in chunks (the simplest source and test double)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError, EndOfStream
from .._pacing import Pacer
from .._protocols import Block, RealtimeSource, SourceInfo
from ._checks import check_chunk_size, check_rate

__all__ = ["ArraySource"]


class ArraySource(RealtimeSource):
    """Streams ``data`` (1-D for one channel, ``(n, channels)`` for several) in chunks.

    ``acquire()`` returns read-only views of ``data`` of ``chunk_size`` samples (fewer at the
    end), without copying; do not modify ``data`` while a stream reads it. The dtype is that of
    ``data`` (integer arrays are counts: pass ``scale``/``offset`` to describe them).

    ``realtime=True`` paces delivery to ``sample_rate`` from a monotonic clock (``stop()``
    wakes the wait at once); ``realtime=False`` returns chunks as fast as it is called.

    At the end ``acquire()`` raises :class:`~livetrace.EndOfStream`, and keeps raising it, unless
    ``loop=True``: then it starts again from sample 0. Positions keep increasing across a wrap
    (the stream numbers the replayed samples after the previous ones) and the first chunk
    after each wrap is returned as a ``Block(..., discontinuity=True)`` so that the splice is
    visible; :attr:`loops` counts the wraps. ``start()`` after ``stop()`` continues where it
    stopped; :meth:`reset` rewinds.

    Example:
        >>> import numpy as np
        >>> from livetrace.sources import ArraySource
        >>> src = ArraySource(np.arange(5.0), sample_rate=10, chunk_size=2)
        >>> src.acquire(), src.acquire(), src.acquire()
        (array([0., 1.]), array([2., 3.]), array([4.]))
    """

    def __init__(
        self,
        data: Any,
        sample_rate: float,
        *,
        chunk_size: int = 1024,
        realtime: bool = False,
        channel_names: Sequence[str] | None = None,
        units: Sequence[str] | None = None,
        loop: bool = False,
        scale: float | None = None,
        offset: float | None = None,
        description: str = "",
    ) -> None:
        arr = np.asarray(data)
        if arr.dtype.kind not in "iufcb":
            raise ConfigurationError(
                f"ArraySource: data must be a numeric array, got dtype {arr.dtype}"
            )
        if arr.ndim not in (1, 2):
            raise ConfigurationError(
                f"ArraySource: data must be 1-D (one channel) or 2-D (n, channels), "
                f"got shape {arr.shape}"
            )
        if arr.ndim == 2 and arr.shape[1] < 1:
            raise ConfigurationError(f"ArraySource: data has no channels, shape {arr.shape}")
        if loop and len(arr) == 0:
            raise ConfigurationError("ArraySource: cannot loop over an empty array")
        sample_rate = check_rate("ArraySource", sample_rate)
        chunk_size = check_chunk_size("ArraySource", chunk_size)
        if arr.dtype.kind == "b":
            arr = arr.view(np.uint8)
        view = arr.view()
        view.flags.writeable = False
        self.data: NDArray[Any] = view
        self.n_channels = 1 if arr.ndim == 1 else int(arr.shape[1])
        self.sample_rate = float(sample_rate)
        self.chunk_size = int(chunk_size)
        self.realtime = bool(realtime)
        self.loop = bool(loop)
        self._info = SourceInfo(
            sample_rate=self.sample_rate,
            dtype=arr.dtype.name,
            n_channels=self.n_channels,
            channel_names=tuple(channel_names or ()),
            units=tuple(units or ()),
            finite=not self.loop,
            backpressure=True,
            description=description or f"array{arr.shape}",
            scale=scale,
            offset=offset,
        )
        self._stop = threading.Event()
        self._pacer = Pacer(self.sample_rate, self._stop)
        self.reset()

    @property
    def info(self) -> SourceInfo:
        return self._calibrated(self._info)

    def reset(self) -> None:
        """Rewind to sample 0."""
        self._pos = 0
        self._delivered = 0
        self.loops = 0
        self._wrapped = False
        self._pacer.reanchor()

    @property
    def position(self) -> int:
        """Index in ``data`` of the next sample to deliver."""
        return self._pos

    def start(self) -> None:
        self._stop.clear()
        self._pacer.reanchor()

    def stop(self) -> None:
        self._stop.set()

    def health(self) -> dict[str, Any]:
        return {"delivered": self._delivered, "loops": self.loops}

    def acquire(self) -> NDArray[Any] | Block | None:
        """The next chunk (a view); ``EndOfStream`` at the end unless looping."""
        total = len(self.data)
        if self._pos >= total:
            if not self.loop:
                raise EndOfStream(f"ArraySource: all {total} samples delivered")
            self._pos = 0
            self.loops += 1
            self._wrapped = True
        n = min(self.chunk_size, total - self._pos)
        if self.realtime and not self._pacer.wait(self._delivered, self._delivered + n):
            return None
        chunk = self.data[self._pos : self._pos + n]
        self._pos += n
        self._delivered += n
        if self._wrapped:
            self._wrapped = False
            return Block(chunk, discontinuity=True)
        return chunk

    def __repr__(self) -> str:
        return (
            f"ArraySource(shape={self.data.shape}, dtype={self.data.dtype}, "
            f"sample_rate={self.sample_rate:g}, chunk_size={self.chunk_size}, "
            f"realtime={self.realtime}, loop={self.loop})"
        )
