"""Rolling and cumulative statistics: :class:`RealtimeAnalyzer` (the seed's name) and
:class:`Statistics`.

How it stays exact, stable and chunking-invariant
-------------------------------------------------
Samples are grouped into fixed blocks of ``BLOCK`` samples counted from the first sample since
``reset()``, so block boundaries never depend on how the stream was chunked. Each completed
block is summarised (count, mean, M2, min, max) with a two-pass over its samples, shifted by a
per-channel reference ``K`` (the first finite sample), which removes the cancellation that
large offsets cause (``1e9 + N(0, 1e-3)``). Window statistics combine, in one weighted step
about the window's mean, the summaries of the blocks fully inside the window and a two-pass
summary of the raw samples of the partial blocks at both ends; cumulative statistics fold
groups of ``GROUP`` blocks into a running total with Chan's merge, in a fixed order. The same
samples therefore give bit-identical results for every chunking. Min and max are exact over
the window (not all-time).

Speed: every summary is computed in a reused, 64-byte-aligned float64 (or complex128) work
array, a few whole-array numpy calls per chunk whatever the number of blocks in it (copy, shift,
sum, centre, ``vecdot``, min, max). Every block, and every edge range of a given length, is
summarised at the same alignment and with the same call sequence, so results do not depend on
where the samples sat in memory either. ``vecdot`` vectors stay below 10,000 samples, where
OpenBLAS's dot runs on one thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._config import RealtimeConfig
from .._result import ResultMapping
from .._types import WaveformTrace

__all__ = ["RealtimeAnalyzer", "Statistics"]

BLOCK = 4096
GROUP = 16
_ALIGN = 64  # bytes: the start of the work array, so each block's dot sees one alignment


@dataclass(frozen=True)
class Statistics(ResultMapping):
    """Statistics of a set of samples (also readable as ``stats["mean"]``, like the seed's dict).

    For one channel each value is a Python scalar; for several, a numpy array with one entry per
    channel. ``std`` and ``variance`` are population values (``ddof=0``, as ``numpy.std``);
    ``rms`` is ``sqrt(mean(|x|**2))``. With no samples, ``n_samples`` is 0 and every other value
    is NaN. Complex samples: ``mean`` is complex; ``std``/``variance`` are those of numpy
    (``mean(|x - mean|**2)``); ``rms`` uses ``|x|``; ``min``, ``max`` and ``peak_to_peak`` are
    of the magnitude ``|x|``. NaN and inf in the samples propagate as in numpy (an inf gives an
    inf mean, rms and max, a NaN std), without numpy's ``RuntimeWarning``.
    """

    mean: Any
    std: Any
    min: Any
    max: Any
    peak_to_peak: Any
    n_samples: int
    rms: Any
    variance: Any

    @classmethod
    def empty(cls, n_channels: int = 1) -> Statistics:
        """The documented result for no samples: ``n_samples=0`` and NaN elsewhere."""
        nan: Any = float("nan") if n_channels == 1 else np.full(n_channels, np.nan)
        return cls(nan, nan, nan, nan, nan, 0, nan, nan)


class _Summary:
    """Per-channel (n, mean of x-K, M2, min, max) of some samples; ``n`` is shared."""

    __slots__ = ("m2", "max", "mean", "min", "n")

    def __init__(
        self, n: int, mean: NDArray[Any], m2: NDArray[Any], mn: NDArray[Any], mx: NDArray[Any]
    ) -> None:
        self.n = n
        self.mean = mean
        self.m2 = m2
        self.min = mn
        self.max = mx


def _sq(d: NDArray[Any]) -> NDArray[np.float64]:
    if d.dtype.kind == "c":
        out: NDArray[np.float64] = d.real * d.real + d.imag * d.imag
        return out
    sq: NDArray[np.float64] = d * d
    return sq


def _sum_sq(d: NDArray[Any]) -> NDArray[np.float64]:
    """``sum(|d|**2)`` over the last axis, by numpy's pairwise sum (alignment-independent)."""
    out: NDArray[np.float64] = np.add.reduce(_sq(d), axis=-1)
    return out


def _combine_equal(
    mean: NDArray[Any], m2: NDArray[Any], mn: NDArray[Any], mx: NDArray[Any], size: int
) -> _Summary:
    """Combine block summaries, each (C, n_blocks), that each hold ``size`` samples."""
    nb = mean.shape[1]
    total_mean = np.add.reduce(mean, axis=1) / nb
    dev = mean - total_mean[:, None]
    total_m2 = np.add.reduce(m2, axis=1) + size * _sum_sq(dev)
    return _Summary(
        nb * size,
        total_mean,
        total_m2,
        np.minimum.reduce(mn, axis=1),
        np.maximum.reduce(mx, axis=1),
    )


def _merge(a: _Summary | None, b: _Summary | None) -> _Summary | None:
    """Chan et al.'s parallel merge of two summaries."""
    if a is None or a.n == 0:
        return b
    if b is None or b.n == 0:
        return a
    n = a.n + b.n
    delta = b.mean - a.mean
    mean = a.mean + delta * (b.n / n)
    m2 = a.m2 + b.m2 + _sq(delta) * (a.n * b.n / n)
    return _Summary(n, mean, m2, np.minimum(a.min, b.min), np.maximum(a.max, b.max))


class RealtimeAnalyzer:
    """Rolling statistics over the last ``window_size`` samples, and cumulative ones since start.

    ``accumulate`` (or ``update``, the analyser contract's name) takes numpy arrays (or
    :class:`~livetrace.WaveformTrace` chunks) of any numeric dtype, taken in ``config.dtype``
    as the stream's buffer stores them (float64 by default; complex input to a real config is
    kept complex); with ``config.n_channels > 1`` they must be ``(n, n_channels)``. Results are
    equal to numpy's on the same samples (see :class:`Statistics`) and identical however the
    samples were chunked. Not thread-safe: one thread accumulates and reads (the stream's
    consumer thread).

    Example:
        >>> import numpy as np
        >>> from livetrace import RealtimeAnalyzer, RealtimeConfig
        >>> an = RealtimeAnalyzer(RealtimeConfig(sample_rate=1e3, window_size=10))
        >>> an.accumulate(np.arange(20.0))
        >>> s = an.get_statistics()
        >>> s.min, s.max, s["mean"], s.n_samples
        (10.0, 19.0, 14.5, 10)
        >>> an.get_cumulative_statistics().min
        0.0
        >>> an.reset(); an.result.n_samples  # the analyser face: update / result / reset
        0
    """

    def __init__(self, config: RealtimeConfig) -> None:
        config.validate()
        self.config = config
        self._window_size = config.effective_window
        self._n_channels = int(config.n_channels)
        self.reset()

    @property
    def window_size(self) -> int:
        """Samples in the rolling window."""
        return self._window_size

    def reset(self) -> None:
        """Forget every sample: the analyser is as freshly constructed."""
        c = self._n_channels
        self._count = 0
        self._k: NDArray[Any] = np.zeros(c)
        self._k_final: NDArray[np.bool_] = np.zeros(c, dtype=bool)
        self._k_done = False
        self._complex = False
        self._store: np.dtype[Any] = np.dtype(np.float64)  # dtype of the raw samples kept
        self._work_dtype: np.dtype[Any] = np.dtype(np.float64)
        self._work: NDArray[Any] = np.empty(0)
        self._raw: NDArray[Any] | None = None  # last W raw samples, ring, (C, W)
        self._partial: NDArray[Any] | None = None  # current incomplete block, (C, BLOCK)
        nb = self._window_size // BLOCK + 2
        self._nb = nb
        # block summaries: a ring of nb per channel, (C, nb); and the open cumulative group
        self._b_mean: NDArray[Any] = np.empty((c, nb))
        self._b_m2: NDArray[Any] = np.empty((c, nb))
        self._b_min: NDArray[Any] = np.empty((c, nb))
        self._b_max: NDArray[Any] = np.empty((c, nb))
        self._g_mean: NDArray[Any] = np.empty((c, GROUP))
        self._g_m2: NDArray[Any] = np.empty((c, GROUP))
        self._g_min: NDArray[Any] = np.empty((c, GROUP))
        self._g_max: NDArray[Any] = np.empty((c, GROUP))
        self._total: _Summary | None = None

    # ---------------------------------------------------------------- analyser face
    def update(self, chunk: NDArray[Any] | WaveformTrace) -> None:
        """Same as :meth:`accumulate` (the name every analyser of :mod:`livetrace.analysis` uses)."""
        self.accumulate(chunk)

    @property
    def result(self) -> Statistics:
        """The window's :class:`Statistics`, or :meth:`Statistics.empty` before any sample."""
        if self._count == 0:
            return Statistics.empty(self._n_channels)
        return self.get_statistics()

    # ---------------------------------------------------------------- accumulate
    def _as_2d(self, data: Any) -> NDArray[Any]:
        """Validate and return the samples channel-major, shape (C, n)."""
        if isinstance(data, WaveformTrace):
            data = data.data
        if not isinstance(data, np.ndarray):
            raise TypeError("data must be numpy array")
        if data.dtype.kind not in "biufc":
            raise TypeError(
                f"data must be a numeric array (integer, float or complex), got dtype {data.dtype}"
            )
        c = self._n_channels
        if c == 1:
            return data.reshape(1, -1)
        if data.ndim != 2 or data.shape[1] != c:
            raise ValueError(
                f"data for {c} channels must have shape (n_samples, {c}), got shape {data.shape}"
            )
        return np.ascontiguousarray(data.T)

    def _init_storage(self, x: NDArray[Any]) -> None:
        cfg_dtype = self.config.np_dtype
        if x.dtype.kind == "c":
            raw_dtype: np.dtype[Any] = (
                cfg_dtype if cfg_dtype.kind == "c" else np.dtype(np.complex128)
            )
        else:
            raw_dtype = cfg_dtype if cfg_dtype.kind == "f" else np.dtype(np.float64)
        work_dtype = np.dtype(np.complex128 if raw_dtype.kind == "c" else np.float64)
        c = self._n_channels
        self._complex = raw_dtype.kind == "c"
        self._store = raw_dtype
        self._work_dtype = work_dtype
        self._raw = np.empty((c, self._window_size), dtype=raw_dtype)
        self._partial = np.empty((c, BLOCK), dtype=raw_dtype)
        self._b_mean = np.empty((c, self._nb), dtype=work_dtype)
        self._g_mean = np.empty((c, GROUP), dtype=work_dtype)
        self._k = np.zeros(c, dtype=work_dtype)

    def _work_for(self, n_items: int) -> NDArray[Any]:
        """A 1-D view of the reused work array, ``n_items`` long, starting 64-byte aligned."""
        work = self._work
        if work.size < n_items or work.dtype != self._work_dtype:
            dt = self._work_dtype
            size = max(n_items, 2 * BLOCK * self._n_channels)
            raw = np.empty(size * dt.itemsize + _ALIGN, dtype=np.uint8)
            start = -raw.ctypes.data % _ALIGN
            work = raw[start : start + size * dt.itemsize].view(dt)
            self._work = work
        return work[:n_items]

    def _set_reference(self, x: NDArray[Any]) -> None:
        """Fix K per channel at the first finite sample ever seen.

        Until a channel has seen a finite sample its K is a provisional 0; nothing computed
        before then depends on K (summaries of non-finite samples are non-finite for any K),
        so results do not depend on where chunk boundaries fell.
        """
        finite = np.isfinite(x)
        found = finite.any(axis=1) & ~self._k_final
        if found.any():
            first = finite.argmax(axis=1)
            chans = np.flatnonzero(found)
            self._k[chans] = x[chans, first[chans]]
            self._k_final[chans] = True
            self._k_done = bool(self._k_final.all())

    def accumulate(self, data: NDArray[Any] | WaveformTrace) -> None:
        """Add samples (an array, or a chunk's ``data``) to the window and the running totals."""
        x = self._as_2d(data)
        n = x.shape[1]
        if n == 0:
            return
        if self._raw is None:
            self._init_storage(x)
        elif x.dtype.kind == "c" and not self._complex:
            raise TypeError(
                "complex data after real data: create the analyser for complex data "
                "(or reset() it) before accumulating complex samples"
            )
        if x.dtype != self._store:
            x = x.astype(self._store)
        if not self._k_done:
            self._set_reference(x)
        self._push_raw(x)
        with np.errstate(invalid="ignore", over="ignore"):  # inf/NaN give NaN/inf, quietly
            self._push_blocks(x)
        self._count += n

    def _push_raw(self, x: NDArray[Any]) -> None:
        raw = self._raw
        assert raw is not None
        w = self._window_size
        n = x.shape[1]
        if n >= w:
            # keep ring positions aligned with the absolute count
            pos = (self._count + n) % w
            tail = x[:, n - w :]
            raw[:, pos:] = tail[:, : w - pos]
            raw[:, :pos] = tail[:, w - pos :]
            return
        pos = self._count % w
        end = pos + n
        if end <= w:
            raw[:, pos:end] = x
        else:
            k = w - pos
            raw[:, pos:] = x[:, :k]
            raw[:, : n - k] = x[:, k:]

    def _summarize(
        self, parts: list[NDArray[Any]], n_blocks: int, size: int
    ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]:
        """Per-block (mean of x-K, M2, min, max), each (C, n_blocks), of raw samples.

        ``parts`` are (C, n_blocks, length) arrays of the store dtype whose concatenation along
        the last axis is the ``size`` samples of each block. Two-pass in the space shifted by
        K: the mean of ``x - K`` is of the order of the signal's spread, so its rounding error
        is ~1e-16 of that and contributes ~1e-32 relative to M2 (no correction term needed).
        """
        c = self._n_channels
        d = self._work_for(c * n_blocks * size).reshape(c, n_blocks, size)
        if len(parts) == 1:
            np.copyto(d, parts[0])
        else:
            off = 0
            for p in parts:
                np.copyto(d[:, :, off : off + p.shape[2]], p)
                off += p.shape[2]
        if self._complex:
            mag = np.abs(d)
            mn = np.minimum.reduce(mag, axis=2)
            mx = np.maximum.reduce(mag, axis=2)
        elif len(parts) == 1:  # min/max in the store dtype (cheaper for float32); same values
            mn = np.minimum.reduce(parts[0], axis=2)
            mx = np.maximum.reduce(parts[0], axis=2)
        else:
            mn = np.minimum.reduce(d, axis=2)
            mx = np.maximum.reduce(d, axis=2)
        k = self._k
        if c == 1:
            np.subtract(d, k[0], out=d)
        else:
            np.subtract(d, k[:, None, None], out=d)
        mean = np.add.reduce(d, axis=2)
        mean /= size
        np.subtract(d, mean[:, :, None], out=d)
        if self._complex:
            m2 = np.add.reduce(_sq(d), axis=2)
        else:
            m2 = np.vecdot(d, d)
        return mean, m2, mn.astype(np.float64, copy=False), mx.astype(np.float64, copy=False)

    def _push_blocks(self, x: NDArray[Any]) -> None:
        partial = self._partial
        assert partial is not None
        c = self._n_channels
        n = x.shape[1]
        fill = self._count % BLOCK
        block_no = self._count // BLOCK
        i = 0
        if fill:
            take = min(BLOCK - fill, n)
            partial[:, fill : fill + take] = x[:, :take]
            i = take
            if fill + take < BLOCK:
                return
            self._add_blocks(block_no, *self._summarize([partial[:, None, :]], 1, BLOCK))
            block_no += 1
        n_full = (n - i) // BLOCK
        if n_full:
            blocks = x[:, i : i + n_full * BLOCK].reshape(c, n_full, BLOCK)
            self._add_blocks(block_no, *self._summarize([blocks], n_full, BLOCK))
            i += n_full * BLOCK
        rest = n - i
        if rest:
            partial[:, :rest] = x[:, i:]

    def _add_blocks(
        self,
        first: int,
        mean: NDArray[Any],
        m2: NDArray[Any],
        mn: NDArray[Any],
        mx: NDArray[Any],
    ) -> None:
        """Store per-block summaries (each (C, count)) for blocks ``first`` onwards."""
        count = mean.shape[1]
        nb = self._nb
        keep = min(count, nb)
        lo = (first + count - keep) % nb
        if lo + keep <= nb:
            idx: Any = slice(lo, lo + keep)
        else:
            idx = np.arange(first + count - keep, first + count) % nb
        src = slice(count - keep, count)
        self._b_mean[:, idx] = mean[:, src]
        self._b_m2[:, idx] = m2[:, src]
        self._b_min[:, idx] = mn[:, src]
        self._b_max[:, idx] = mx[:, src]
        # cumulative: fold complete groups of GROUP blocks in a fixed order
        j = 0
        while j < count:
            g = (first + j) % GROUP
            take = min(GROUP - g, count - j)
            sl = slice(j, j + take)
            self._g_mean[:, g : g + take] = mean[:, sl]
            self._g_m2[:, g : g + take] = m2[:, sl]
            self._g_min[:, g : g + take] = mn[:, sl]
            self._g_max[:, g : g + take] = mx[:, sl]
            j += take
            if g + take == GROUP:
                group = _combine_equal(self._g_mean, self._g_m2, self._g_min, self._g_max, BLOCK)
                self._total = _merge(self._total, group)

    # ---------------------------------------------------------------- results
    def _finish(self, n: int, mean_d: Any, m2: Any, mn: Any, mx: Any) -> Statistics:
        """Statistics from a summary: ``mean_d`` is the mean of ``x - K``; (C,) arrays."""
        if self._n_channels == 1:
            # Python floats: the same IEEE operations as the array path, without numpy's
            # per-call cost (and without warnings: inf - inf is NaN quietly)
            k = self._k[0].item()
            d0 = mean_d[0].item()
            mean = d0 + k
            var = m2[0].item() / n
            std = math.sqrt(var)
            lo, hi = float(mn[0]), float(mx[0])
            if isinstance(mean, complex):
                rms = math.sqrt(mean.real * mean.real + mean.imag * mean.imag + var)
            else:
                rms = math.sqrt(mean * mean + var)
            if (math.isinf(hi) or math.isinf(lo)) and not (math.isnan(hi) or math.isnan(lo)):
                rms = math.inf
            return Statistics(mean, std, lo, hi, hi - lo, n, rms, var)
        with np.errstate(invalid="ignore", over="ignore"):
            mean_a = mean_d + self._k
            var_a = m2 / n
            std_a = np.sqrt(var_a)
            rms_a = np.sqrt(_sq(mean_a) + var_a)
            # an infinite sample makes var NaN (inf - inf) but numpy's rms is inf, unless NaN
            # is present too (then min/max are NaN: np.min/np.max propagate it)
            inf = (np.isinf(mx) | np.isinf(mn)) & ~np.isnan(mx) & ~np.isnan(mn)
            if inf.any():
                rms_a = np.where(inf, np.inf, rms_a)
            return Statistics(mean_a, std_a, mn, mx, mx - mn, n, rms_a, var_a)

    def _range_parts(self, ranges: tuple[tuple[int, int], ...]) -> list[NDArray[Any]]:
        """(C, 1, length) views of the absolute sample ranges ``[start, stop)`` in the ring."""
        raw = self._raw
        assert raw is not None
        w = self._window_size
        parts: list[NDArray[Any]] = []
        for start, stop in ranges:
            if stop <= start:
                continue
            a, b = start % w, stop % w
            if a < b:
                parts.append(raw[:, None, a:b])
            else:
                parts.append(raw[:, None, a:])
                if b:
                    parts.append(raw[:, None, :b])
        return parts

    def get_statistics(self) -> Statistics:
        """Statistics over the last ``window_size`` samples (fewer before the window fills).

        Raises ``ValueError("No data accumulated yet")`` before the first sample (the seed's
        behaviour); :class:`~livetrace.RealtimeStream` returns :meth:`Statistics.empty` instead.
        """
        if self._count == 0:
            raise ValueError("No data accumulated yet")
        with np.errstate(invalid="ignore", over="ignore"):  # inf/NaN give NaN/inf, quietly
            return self._window_statistics()

    def _window_statistics(self) -> Statistics:
        end = self._count
        start = max(0, end - self._window_size)
        first_full = -(-start // BLOCK)
        last_full = end // BLOCK
        if first_full >= last_full:
            parts = self._range_parts(((start, end),))
            mean, m2, mn, mx = self._summarize(parts, 1, end - start)
            return self._finish(end - start, mean[:, 0], m2[:, 0], mn[:, 0], mx[:, 0])
        # every block fully inside the window, and the raw samples at both ends, combined in
        # one weighted step about the window's mean
        m = last_full - first_full
        lo, hi = first_full % self._nb, last_full % self._nb
        sl: Any = slice(lo, hi) if lo < hi else np.arange(first_full, last_full) % self._nb
        b_mean = self._b_mean[:, sl]
        n_edge = (first_full * BLOCK - start) + (end - last_full * BLOCK)
        n = m * BLOCK + n_edge
        s_mean = np.add.reduce(b_mean, axis=1)
        m2 = np.add.reduce(self._b_m2[:, sl], axis=1)
        mn = np.minimum.reduce(self._b_min[:, sl], axis=1)
        mx = np.maximum.reduce(self._b_max[:, sl], axis=1)
        if n_edge:
            parts = self._range_parts(((start, first_full * BLOCK), (last_full * BLOCK, end)))
            e_mean, e_m2, e_mn, e_mx = self._summarize(parts, 1, n_edge)
            e_mean = e_mean[:, 0]
            mean = (s_mean * BLOCK + e_mean * n_edge) / n
            dev_e = e_mean - mean
            m2 += e_m2[:, 0] + n_edge * _sq(dev_e)
            np.minimum(mn, e_mn[:, 0], out=mn)
            np.maximum(mx, e_mx[:, 0], out=mx)
        else:
            mean = s_mean / m
        m2 += BLOCK * _sum_sq(b_mean - mean[:, None])
        return self._finish(n, mean, m2, mn, mx)

    def get_cumulative_statistics(self) -> Statistics:
        """Statistics over every sample since construction or ``reset()``.

        Raises ``ValueError("No data accumulated yet")`` before the first sample.
        """
        if self._count == 0:
            raise ValueError("No data accumulated yet")
        with np.errstate(invalid="ignore", over="ignore"):  # inf/NaN give NaN/inf, quietly
            return self._cumulative_statistics()

    def _cumulative_statistics(self) -> Statistics:
        total = self._total
        g = (self._count // BLOCK) % GROUP
        if g:
            open_group = _combine_equal(
                self._g_mean[:, :g], self._g_m2[:, :g], self._g_min[:, :g], self._g_max[:, :g], BLOCK
            )
            total = _merge(total, open_group)
        fill = self._count % BLOCK
        if fill:
            assert self._partial is not None
            mean, m2, mn, mx = self._summarize([self._partial[:, None, :fill]], 1, fill)
            total = _merge(total, _Summary(fill, mean[:, 0], m2[:, 0], mn[:, 0], mx[:, 0]))
        assert total is not None
        return self._finish(total.n, total.mean, total.m2, total.min, total.max)

    @property
    def n_accumulated(self) -> int:
        """Samples accumulated since construction or ``reset()``."""
        return self._count
