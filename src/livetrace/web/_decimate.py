"""The scope's sample history and its min/max decimation.

:class:`History` keeps the newest samples of every channel in a ring indexed by *absolute*
sample position (the stream's ``start_index``). Samples the stream lost (a gap) are stored as
NaN, so a bucket that holds only missing samples is NaN (a break in the trace) and the gap's
exact position is kept in a short list that frames report.

One writer (the stream's consumer thread, through :meth:`History.write`) and any number of
readers (the server thread) share it: the writer copies a chunk in and publishes the new end
under a short lock; a reader copies the span it needs *without* the lock and then checks that
the writer did not overwrite that span meanwhile (:meth:`History.read` returns None then), so
the writer never waits for a reader.

:func:`minmax_buckets` is the decimation itself: bucket ``k`` covers absolute indices
``[k * bucket, (k + 1) * bucket)``, whatever the window, so a picture built from it does not
shimmer as chunks arrive.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Gap", "History", "minmax_buckets"]


def minmax_buckets(
    data: NDArray[Any], first: int, bucket: int
) -> tuple[NDArray[Any], NDArray[Any], int]:
    """Min and max of every whole bucket of ``data`` (shape ``(channels, n)``, channel-major so
    that each bucket is contiguous).

    ``first`` is the absolute index of ``data[:, 0]``; bucket ``k`` covers absolute indices
    ``[k * bucket, (k + 1) * bucket)``. Only buckets entirely inside ``data`` are returned,
    as ``(mins, maxs, first_bucket_start)`` with ``mins``/``maxs`` of shape
    ``(channels, n_buckets)``. NaN (missing samples) is ignored within a bucket; a bucket of
    NaN only is NaN.
    """
    if bucket < 1:
        raise ValueError(f"bucket must be >= 1, got {bucket}")
    start = -(-first // bucket) * bucket  # first bucket boundary at or after `first`
    skip = start - first
    n_buckets = max(0, (data.shape[1] - skip) // bucket)
    body = data[:, skip : skip + n_buckets * bucket]
    if bucket == 1:
        return body, body, start
    shaped = body.reshape(data.shape[0], n_buckets, bucket)
    return np.fmin.reduce(shaped, axis=2), np.fmax.reduce(shaped, axis=2), start


@dataclass(frozen=True)
class Gap:
    """Samples ``[start, start + length)`` (absolute indices) that never reached the scope."""

    start: int
    length: int


class History:
    """The newest ``capacity`` samples per channel, addressed by absolute index, stored
    channel-major (``(channels, capacity)``) so that a bucket of one channel is contiguous.

    ``dtype`` is the stored real dtype (float32 or float64; complex input is stored as its real
    part). Thread contract: :meth:`write` from one thread; :meth:`read`, :meth:`span` and
    :meth:`gaps_in` from any thread.
    """

    def __init__(self, capacity: int, n_channels: int, dtype: Any = np.float32) -> None:
        if capacity < 2:
            raise ValueError(f"capacity must be >= 2 samples, got {capacity}")
        self.capacity = int(capacity)
        self.n_channels = int(n_channels)
        self.dtype = np.dtype(dtype)
        self._ring: NDArray[Any] = np.full((self.n_channels, self.capacity), np.nan, self.dtype)
        self._lock = threading.Lock()
        self._start = 0  # absolute index of the oldest valid sample
        self._end = 0  # one past the newest
        self._began = False
        self._gaps: list[Gap] = []

    def span(self) -> tuple[int, int]:
        """``(oldest, end)``: absolute indices held now, end exclusive."""
        with self._lock:
            return self._start, self._end

    def gaps_in(self, a: int, b: int) -> list[Gap]:
        """The gaps that overlap ``[a, b)`` (absolute indices), oldest first."""
        with self._lock:
            return [g for g in self._gaps if g.start < b and g.start + g.length > a]

    def write(self, data: NDArray[Any], start_index: int) -> None:
        """Store ``data`` (``(n,)`` or ``(n, channels)``) whose first sample is ``start_index``.

        A ``start_index`` beyond the current end records a gap and stores NaN for the missing
        samples (at most ``capacity`` of them); an index before the end (a restart) starts
        the history again.
        """
        x = data.real if np.iscomplexobj(data) else data
        if x.ndim == 1:
            x = x[:, None]
        n = x.shape[0]
        cap = self.capacity
        with self._lock:
            if not self._began or start_index < self._end:
                self._began = True
                self._start = self._end = start_index
                self._gaps.clear()
            elif start_index > self._end:
                missing = start_index - self._end
                self._gaps.append(Gap(self._end, missing))
                self._fill(self._end, min(missing, cap), None)
                self._end = start_index
            if n == 0:
                return
            if n > cap:
                x = x[n - cap :]
                start_index += n - cap
                n = cap
            self._fill(start_index, n, x)
            self._end = start_index + n
            self._start = max(self._start, self._end - cap)
            while self._gaps and self._gaps[0].start + self._gaps[0].length <= self._start:
                self._gaps.pop(0)

    def _fill(self, first: int, n: int, x: NDArray[Any] | None) -> None:
        cap = self.capacity
        p = first % cap
        k = min(n, cap - p)
        if x is None:
            self._ring[:, p : p + k] = np.nan
            self._ring[:, : n - k] = np.nan
        else:
            self._ring[:, p : p + k] = x[:k].T
            self._ring[:, : n - k] = x[k:].T

    def read(self, a: int, b: int, channel: int | None = None) -> NDArray[Any] | None:
        """A copy of samples ``[a, b)``, shape ``(channels, b - a)`` (or ``(b - a,)`` for one
        ``channel``); None when part of that span is no longer (or not yet) held, including
        when the writer overwrote it while it was being copied."""
        n = b - a
        if n < 0:
            raise ValueError(f"read needs a <= b, got [{a}, {b})")
        with self._lock:
            if a < self._start or b > self._end:
                return None
        ring = self._ring if channel is None else self._ring[channel : channel + 1]
        cap = self.capacity
        p = a % cap
        k = min(n, cap - p)
        if k == n:
            dst = ring[:, p : p + n].copy()
        else:
            dst = np.concatenate((ring[:, p:], ring[:, : n - k]), axis=1)
        with self._lock:
            # the writer may have wrapped over [a, b) while we copied
            if a < self._end - cap:
                return None
        out: NDArray[Any] = dst if channel is None else dst[0]
        return out


def bucket_for(window: int, width: int) -> int:
    """Samples per bucket so that a ``window``-sample view fits ``width`` pixel columns."""
    return max(1, math.ceil(window / max(1, width)))
