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

__all__ = ["Coarse", "Gap", "History", "minmax_buckets"]


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


class Coarse:
    """Min/max of every ``bucket`` samples for a long stretch of the past: what a slow time
    base draws once the raw samples are gone.

    Bucket ``k`` covers absolute indices ``[k * bucket, (k + 1) * bucket)``; the newest
    ``capacity`` buckets are kept, channel-major, NaN where no sample arrived. The newest
    bucket may be partial (it is completed as samples arrive). Used under the lock of the
    :class:`History` that owns it.
    """

    def __init__(self, bucket: int, capacity: int, n_channels: int) -> None:
        self.bucket = int(bucket)
        self.capacity = int(capacity)
        self.mins: NDArray[np.float32] = np.full((n_channels, capacity), np.nan, np.float32)
        self.maxs: NDArray[np.float32] = np.full((n_channels, capacity), np.nan, np.float32)
        self.start = 0  # oldest bucket held
        self.end = 0  # one past the newest bucket touched
        self.began = False

    def restart(self, index: int) -> None:
        self.start = self.end = index // self.bucket
        self.began = True

    def _put(self, k: int, mins: NDArray[Any], maxs: NDArray[Any]) -> None:
        n = mins.shape[1]
        cap = self.capacity
        p = k % cap
        m = min(n, cap - p)
        self.mins[:, p : p + m] = mins[:, :m]
        self.maxs[:, p : p + m] = maxs[:, :m]
        self.mins[:, : n - m] = mins[:, m:]
        self.maxs[:, : n - m] = maxs[:, m:]

    def add(self, x: NDArray[Any], first: int) -> None:
        """Fold ``x`` (``(channels, n)``, contiguous per channel) starting at ``first`` in."""
        n = x.shape[1]
        if n == 0:
            return
        L = self.bucket
        k0 = first // L
        if not self.began:
            self.restart(first)
        if k0 >= self.end:  # buckets nothing arrived for: NaN
            skip = min(k0 - self.end, self.capacity)
            nan = np.full((x.shape[0], skip), np.nan, np.float32)
            self._put(k0 - skip, nan, nan)
        head = min(n, (k0 + 1) * L - first)  # samples of bucket k0
        body = (n - head) // L * L
        tail = n - head - body
        c = x.shape[0]
        mins = np.empty((c, 1 + body // L + (1 if tail else 0)), np.float32)
        maxs = np.empty_like(mins)
        mins[:, 0] = np.fmin.reduce(x[:, :head], axis=1)
        maxs[:, 0] = np.fmax.reduce(x[:, :head], axis=1)
        if body:
            shaped = x[:, head : head + body].reshape(c, -1, L)
            mins[:, 1 : 1 + body // L] = np.fmin.reduce(shaped, axis=2)
            maxs[:, 1 : 1 + body // L] = np.fmax.reduce(shaped, axis=2)
        if tail:
            mins[:, -1] = np.fmin.reduce(x[:, n - tail :], axis=1)
            maxs[:, -1] = np.fmax.reduce(x[:, n - tail :], axis=1)
        if k0 < self.end:  # bucket k0 already holds earlier samples: merge
            p = k0 % self.capacity
            mins[:, 0] = np.fmin(mins[:, 0], self.mins[:, p])
            maxs[:, 0] = np.fmax(maxs[:, 0], self.maxs[:, p])
        self._put(k0, mins, maxs)
        self.end = k0 + mins.shape[1]
        self.start = max(self.start, self.end - self.capacity)


class History:
    """The newest ``capacity`` samples per channel, addressed by absolute index, stored
    channel-major (``(channels, capacity)``) so that a bucket of one channel is contiguous.

    ``dtype`` is the stored real dtype (float32 or float64; complex input is stored as its real
    part). Thread contract: :meth:`write` from one thread; :meth:`read`, :meth:`span` and
    :meth:`gaps_in` from any thread.
    """

    def __init__(
        self,
        capacity: int,
        n_channels: int,
        dtype: Any = np.float32,
        coarse: tuple[int, int] | None = None,
    ) -> None:
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
        # (bucket, buckets kept): a min/max envelope of a longer past, for slow time bases
        self.coarse = None if coarse is None else Coarse(coarse[0], coarse[1], self.n_channels)

    def oldest(self, bucket: int) -> int:
        """The oldest absolute index a frame with ``bucket`` samples per bucket can show: the
        raw history's, or the coarse envelope's when ``bucket`` is a multiple of its bucket."""
        with self._lock:
            c = self.coarse
            if c is not None and c.began and bucket % c.bucket == 0:
                return min(self._start, c.start * c.bucket)
            return self._start

    def read_envelope(
        self, a: int, b: int, bucket: int
    ) -> tuple[NDArray[Any], NDArray[Any]] | None:
        """Min and max (``(channels, n)``) of the buckets ``[a, b)`` of ``bucket`` samples
        (``a``, ``b`` multiples of ``bucket``, itself a multiple of the coarse bucket), from
        the coarse envelope; None when it does not hold that span."""
        c = self.coarse
        if c is None or bucket % c.bucket or a % bucket or b % bucket:
            return None
        ka, kb = a // c.bucket, b // c.bucket
        with self._lock:
            if ka < c.start or kb > c.end:
                return None
        n = kb - ka
        p = ka % c.capacity
        m = min(n, c.capacity - p)
        mins = np.concatenate((c.mins[:, p : p + m], c.mins[:, : n - m]), axis=1)
        maxs = np.concatenate((c.maxs[:, p : p + m], c.maxs[:, : n - m]), axis=1)
        with self._lock:
            if ka < c.end - c.capacity:
                return None
        g = bucket // c.bucket
        shape = (mins.shape[0], -1, g)
        return (
            np.fmin.reduce(mins.reshape(shape), axis=2),
            np.fmax.reduce(maxs.reshape(shape), axis=2),
        )

    def span(self) -> tuple[int, int]:
        """``(oldest, end)``: absolute indices held now, end exclusive."""
        with self._lock:
            return self._start, self._end

    def gaps_in(self, a: int, b: int) -> list[Gap]:
        """The gaps that overlap ``[a, b)`` (absolute indices), oldest first."""
        with self._lock:
            return [g for g in self._gaps if g.start < b and g.start + g.length > a]

    def _feed_coarse(self, first: int, n: int) -> None:
        """Fold the raw samples ``[first, first + n)`` just stored into the coarse envelope."""
        c = self.coarse
        if c is None:
            return
        cap = self.capacity
        p = first % cap
        k = min(n, cap - p)
        c.add(self._ring[:, p : p + k], first)
        if n > k:
            c.add(self._ring[:, : n - k], first + k)

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
                if self.coarse is not None:
                    self.coarse.restart(start_index)
            elif start_index > self._end:
                missing = start_index - self._end
                self._gaps.append(Gap(self._end, missing))
                self._fill(self._end, min(missing, cap), None)
                self._end = start_index
            if n == 0:
                return
            if n > cap:
                if self.coarse is not None:
                    head = np.ascontiguousarray(x[: n - cap].T, dtype=np.float32)
                    self.coarse.add(head, start_index)
                x = x[n - cap :]
                start_index += n - cap
                n = cap
            self._fill(start_index, n, x)
            self._feed_coarse(start_index, n)
            self._end = start_index + n
            self._start = max(self._start, self._end - cap)
            oldest = self._start
            if self.coarse is not None:
                oldest = min(oldest, self.coarse.start * self.coarse.bucket)
            while self._gaps and self._gaps[0].start + self._gaps[0].length <= oldest:
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
