"""Rolling and cumulative statistics: :class:`RealtimeAnalyzer` (the seed's name) and
:class:`Statistics`.

How it stays exact, stable and chunking-invariant
-------------------------------------------------
Samples are grouped into fixed blocks of ``BLOCK`` samples counted from the first sample since
``reset()``, so block boundaries never depend on how the stream was chunked. Each completed
block is summarised (count, mean, M2, min, max) with a corrected two-pass over its samples,
shifted by a per-channel reference ``K`` (the first finite sample), which removes the
cancellation that large offsets cause (``1e9 + N(0, 1e-3)``). Window statistics combine the
summaries of the blocks fully inside the window with a two-pass over the raw samples of the
partial blocks at both ends; cumulative statistics fold groups of ``GROUP`` blocks into a
running total with Chan's merge, in a fixed order. The same samples therefore give bit-identical
results for every chunking. Min and max are exact over the window (not all-time).
"""

from __future__ import annotations

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


def _summarize(raw: NDArray[Any], k: NDArray[Any], work: NDArray[Any]) -> _Summary:
    """Summary of ``raw`` shaped (C, n), shifted by ``k``; ``work`` has the shifted dtype."""
    mean, m2, mn, mx = _summarize_blocks(raw[:, None, :], k, work)
    return _Summary(raw.shape[1], mean[:, 0], m2[:, 0], mn[:, 0], mx[:, 0])


def _summarize_blocks(
    raw: NDArray[Any], k: NDArray[Any], work: NDArray[Any]
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Per-block (mean, M2, min, max), each (C, n_blocks), of ``raw`` shaped (C, n_blocks, size).

    Channel-major so every reduction runs over contiguous memory. Two-pass in the space
    shifted by K: the mean of ``x - K`` is of the order of the signal's spread, so its rounding
    error is ~1e-16 of that and contributes ~1e-32 relative to M2 (no correction term needed).
    """
    n = raw.shape[2]
    d = np.subtract(raw, k[:, None, None], dtype=work.dtype)
    mean = d.sum(axis=2)
    mean /= n
    d -= mean[:, :, None]
    if d.dtype.kind == "c":
        m2 = _sq(d).sum(axis=2)
        mag = np.abs(raw)
        return mean, m2, mag.min(axis=2), mag.max(axis=2)
    m2 = np.einsum("cbi,cbi->cb", d, d)
    return (
        mean,
        m2,
        raw.min(axis=2).astype(np.float64, copy=False),
        raw.max(axis=2).astype(np.float64, copy=False),
    )


def _combine_equal(
    mean: NDArray[Any], m2: NDArray[Any], mn: NDArray[Any], mx: NDArray[Any], size: int
) -> _Summary:
    """Combine block summaries, each (C, n_blocks), that each hold ``size`` samples."""
    nb = mean.shape[1]
    total_mean = mean.sum(axis=1) / nb
    dev = mean - total_mean[:, None]
    total_m2 = m2.sum(axis=1) + size * _sq(dev).sum(axis=1)
    return _Summary(nb * size, total_mean, total_m2, mn.min(axis=1), mx.max(axis=1))


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

    ``accumulate`` takes numpy arrays (or :class:`~livetrace.WaveformTrace` chunks) of any
    numeric dtype, taken in ``config.dtype`` as the stream's buffer stores them (float64 by
    default; complex input to a real config is kept complex); with ``config.n_channels > 1``
    they must be ``(n, n_channels)``. Results are equal to numpy's on the same samples (see
    :class:`Statistics`) and identical however the samples were chunked. Not thread-safe:
    one thread accumulates and reads (the stream's consumer thread).

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
        self._count = 0
        self._k: NDArray[Any] = np.zeros(self._n_channels)
        self._k_final: NDArray[np.bool_] = np.zeros(self._n_channels, dtype=bool)
        self._work: NDArray[Any] = np.empty(0, dtype=np.float64)
        self._store: np.dtype[Any] = np.dtype(np.float64)  # dtype of the raw samples kept
        self._raw: NDArray[Any] | None = None  # last W raw samples, ring, (C, W)
        self._partial: NDArray[Any] | None = None  # current incomplete block, (C, BLOCK)
        nb = self._window_size // BLOCK + 2
        self._nb = nb
        self._b_mean: NDArray[Any] | None = None  # (nb, C) ring of block summaries
        self._b_m2: NDArray[Any] | None = None
        self._b_min: NDArray[Any] | None = None
        self._b_max: NDArray[Any] | None = None
        self._group: list[tuple[Any, Any, Any, Any]] = []  # summaries of blocks in open group
        self._total: _Summary | None = None

    # ---------------------------------------------------------------- accumulate
    def _as_2d(self, data: Any) -> NDArray[Any]:
        """Validate and return the samples channel-major, shape (C, n)."""
        if isinstance(data, WaveformTrace):
            data = data.data
        if not isinstance(data, np.ndarray):
            raise TypeError("data must be numpy array")
        if data.dtype.kind not in "biufc":
            raise TypeError(
                f"data must be float or complex array (or integer ADC counts), got dtype {data.dtype}"
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
        work_dtype = np.complex128 if raw_dtype.kind == "c" else np.float64
        c = self._n_channels
        self._store = raw_dtype
        self._work = np.empty(0, dtype=work_dtype)
        self._raw = np.empty((c, self._window_size), dtype=raw_dtype)
        self._partial = np.empty((c, BLOCK), dtype=raw_dtype)
        self._b_mean = np.empty((c, self._nb), dtype=work_dtype)
        self._b_m2 = np.empty((c, self._nb), dtype=np.float64)
        self._b_min = np.empty((c, self._nb), dtype=np.float64)
        self._b_max = np.empty((c, self._nb), dtype=np.float64)
        self._k = np.zeros(c, dtype=work_dtype)
        self._k_final = np.zeros(c, dtype=bool)

    def _set_reference(self, x: NDArray[Any]) -> None:
        """Fix K per channel at the first finite sample ever seen.

        Until a channel has seen a finite sample its K is a provisional 0; nothing computed
        before then depends on K (summaries of non-finite samples are non-finite for any K),
        so results do not depend on where chunk boundaries fell.
        """
        if self._k_final.all():
            return
        finite = np.isfinite(x)
        found = finite.any(axis=1) & ~self._k_final
        if found.any():
            first = finite.argmax(axis=1)
            chans = np.flatnonzero(found)
            self._k[chans] = x[chans, first[chans]]
            self._k_final[chans] = True

    def accumulate(self, data: NDArray[Any] | WaveformTrace) -> None:
        """Add samples (an array, or a chunk's ``data``) to the window and the running totals."""
        x = self._as_2d(data)
        n = x.shape[1]
        if n == 0:
            return
        if self._raw is None:
            self._init_storage(x)
        elif x.dtype.kind == "c" and self._work.dtype.kind != "c":
            raise TypeError(
                "complex data after real data: create the analyser for complex data "
                "(or reset() it) before accumulating complex samples"
            )
        if x.dtype != self._store:
            x = x.astype(self._store)
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

    def _push_blocks(self, x: NDArray[Any]) -> None:
        partial = self._partial
        assert partial is not None
        k = self._k
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
            s = _summarize(partial, k, self._work)
            self._add_blocks(
                block_no, s.mean[:, None], s.m2[:, None], s.min[:, None], s.max[:, None]
            )
            block_no += 1
        n_full = (n - i) // BLOCK
        if n_full:
            blocks = x[:, i : i + n_full * BLOCK].reshape(x.shape[0], n_full, BLOCK)
            self._add_blocks(block_no, *_summarize_blocks(blocks, k, self._work))
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
        assert self._b_mean is not None and self._b_m2 is not None
        assert self._b_min is not None and self._b_max is not None
        count = mean.shape[1]
        keep = min(count, self._nb)
        idx = np.arange(first + count - keep, first + count) % self._nb
        self._b_mean[:, idx] = mean[:, count - keep :]
        self._b_m2[:, idx] = m2[:, count - keep :]
        self._b_min[:, idx] = mn[:, count - keep :]
        self._b_max[:, idx] = mx[:, count - keep :]
        # cumulative: fold complete groups of GROUP blocks in a fixed order
        j = 0
        while j < count:
            b = first + j
            take = min(GROUP - (b % GROUP), count - j)
            sl = slice(j, j + take)
            self._group.append((mean[:, sl], m2[:, sl], mn[:, sl], mx[:, sl]))
            j += take
            if (b + take) % GROUP == 0:
                self._total = _merge(self._total, self._combine_group())
                self._group = []

    def _combine_group(self) -> _Summary:
        """One summary of the blocks of the open group (which stays as it is)."""
        parts = self._group
        if len(parts) == 1:
            return _combine_equal(*parts[0], BLOCK)
        return _combine_equal(
            np.concatenate([p[0] for p in parts], axis=1),
            np.concatenate([p[1] for p in parts], axis=1),
            np.concatenate([p[2] for p in parts], axis=1),
            np.concatenate([p[3] for p in parts], axis=1),
            BLOCK,
        )

    # ---------------------------------------------------------------- results
    def _finish(self, s: _Summary) -> Statistics:
        n = s.n
        mean = s.mean + self._k
        var = s.m2 / n
        std = np.sqrt(var)
        mn, mx = s.min, s.max
        rms = np.sqrt(_sq(mean) + var)
        # an infinite sample makes var NaN (inf - inf) but numpy's rms is inf, unless NaN is
        # present too (then min/max are NaN: np.min/np.max propagate it)
        inf = (np.isinf(mx) | np.isinf(mn)) & ~np.isnan(mx) & ~np.isnan(mn)
        if inf.any():
            rms = np.where(inf, np.inf, rms)
        p2p = mx - mn
        if self._n_channels == 1:
            return Statistics(
                mean=mean[0].item(),
                std=float(std[0]),
                min=float(mn[0]),
                max=float(mx[0]),
                peak_to_peak=float(p2p[0]),
                n_samples=n,
                rms=float(rms[0]),
                variance=float(var[0]),
            )
        return Statistics(mean, std, mn, mx, p2p, n, rms, var)

    def _raw_segments(self, start: int, stop: int) -> list[NDArray[Any]]:
        """Views of absolute samples [start, stop) in the raw window ring."""
        if stop <= start:
            return []
        raw = self._raw
        assert raw is not None
        w = self._window_size
        a, b = start % w, stop % w
        return [raw[:, a:b]] if a < b else [raw[:, a:], raw[:, :b]]

    def _raw_summary(self, *ranges: tuple[int, int]) -> _Summary | None:
        """One summary of the raw samples in the absolute ``[start, stop)`` ranges."""
        segs = [seg for a, b in ranges for seg in self._raw_segments(a, b)]
        if not segs:
            return None
        data = segs[0] if len(segs) == 1 else np.concatenate(segs, axis=1)
        return _summarize(data, self._k, self._work)

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
            s = self._raw_summary((start, end))
            assert s is not None
            return self._finish(s)
        assert self._b_mean is not None and self._b_m2 is not None
        assert self._b_min is not None and self._b_max is not None
        lo, hi = first_full % self._nb, last_full % self._nb
        if lo < hi:
            sl: Any = slice(lo, hi)
        else:
            sl = np.arange(first_full, last_full) % self._nb
        mid = _combine_equal(
            self._b_mean[:, sl], self._b_m2[:, sl], self._b_min[:, sl], self._b_max[:, sl], BLOCK
        )
        s2 = _merge(mid, self._raw_summary((start, first_full * BLOCK), (last_full * BLOCK, end)))
        assert s2 is not None
        return self._finish(s2)

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
        if self._group:
            total = _merge(total, self._combine_group())
        fill = self._count % BLOCK
        if fill:
            assert self._partial is not None
            total = _merge(total, _summarize(self._partial[:, :fill], self._k, self._work))
        assert total is not None
        return self._finish(total)

    @property
    def n_accumulated(self) -> int:
        """Samples accumulated since construction or ``reset()``."""
        return self._count
