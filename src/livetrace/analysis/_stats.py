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

Speed: real samples are summarised by a small compiled kernel (``_kernels.c``, built by
``pip install`` when a C compiler is there) that makes both passes over each block in the CPU's
cache without the GIL, in a fixed order of eight lanes (SSE2, or AVX2 where the CPU has it, with
bit-identical results; ``LIVETRACE_KERNEL=sse2`` or ``plain`` picks a slower variant).

Without it (or with ``LIVETRACE_NO_KERNEL=1`` in the environment, or ``compiled=False``), and
for complex samples, every summary is computed in a reused, 64-byte-aligned float64 (or
complex128) work array, a few whole-array numpy calls per chunk whatever the number of blocks in
it (copy, shift, sum, centre, ``vecdot``, min, max). Every block, and every edge range of a
given length, is summarised at the same alignment and with the same call sequence, so results
do not depend on where the samples sat in memory either. ``vecdot`` vectors stay below 10,000
samples, where OpenBLAS's dot runs on one thread. The two implementations agree to a few units
in the last place; each is bit-identical across chunkings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._config import RealtimeConfig
from .._memory import aligned_empty
from .._result import ResultMapping
from .._types import WaveformTrace
from . import _compiled
from ._compiled import kernels as _kernels

__all__ = ["RealtimeAnalyzer", "Statistics"]

BLOCK = 4096
GROUP = 1024  # blocks folded into the cumulative total at a time (4 Mi samples)
_BATCH = 32  # blocks summarised per call: 1 MiB of float64 work at most
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


def _join(mean: NDArray[np.float64]) -> NDArray[Any]:
    """(C,) means from their stacked rows (C, p): real (p = 1) or real and imaginary (p = 2)."""
    if mean.shape[1] == 1:
        return mean[:, 0]
    out: NDArray[Any] = np.ascontiguousarray(mean).view(np.complex128)[:, 0]
    return out


def _combine_equal(v: NDArray[np.float64], size: int) -> _Summary:
    """Combine stacked block summaries ``v`` (C, p + 3, n_blocks), each of ``size`` samples."""
    p = v.shape[1] - 3
    nb = v.shape[2]
    sums = np.add.reduce(v[:, : p + 1], axis=2)
    mean = sums[:, :p] / nb
    dev = v[:, :p] - mean[:, :, None]
    m2 = sums[:, p] + size * np.add.reduce(dev * dev, axis=(1, 2))
    mn = np.minimum.reduce(v[:, p + 1], axis=1)
    mx = np.maximum.reduce(v[:, p + 2], axis=1)
    return _Summary(nb * size, _join(mean), m2, mn, mx)


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

    def __init__(self, config: RealtimeConfig, *, compiled: bool | None = None) -> None:
        config.validate()
        self.config = config
        self._window_size = config.effective_window
        self._n_channels = int(config.n_channels)
        if compiled is None:
            compiled = _kernels is not None and _compiled.wanted()
        elif compiled and _kernels is None:
            raise ImportError(
                "livetrace's compiled statistics kernel was not built (no C compiler when it "
                "was installed); reinstall livetrace with a C compiler present, or pass "
                "compiled=None to use the numpy implementation"
            )
        self._compiled = bool(compiled)
        self.reset()

    @property
    def compiled(self) -> bool:
        """True when real samples are summarised by the compiled kernel (see the module notes)."""
        return self._compiled

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
        self._ones_cache: NDArray[np.float64] = np.ones(BLOCK)
        self._raw: NDArray[Any] | None = None  # the last _raw_len >= W raw samples, (C, ...)
        self._raw_len = 0
        self._partial: NDArray[Any] | None = None  # current incomplete block, (C, BLOCK)
        nb = self._window_size // BLOCK + 2
        self._nb = nb
        # Block summaries stacked per channel as rows: the mean of x-K (p = 1 row, or 2 for
        # complex: real and imaginary part), M2, min, max; a ring of nb blocks for the window,
        # stored twice (block b at b % nb and b % nb + nb) so that the blocks of any window
        # are one contiguous slice; and the open group of GROUP blocks for the cumulative total.
        self._p = 1
        self._ring: NDArray[np.float64] = np.empty((c, 4, 2 * nb))
        self._group: NDArray[np.float64] = np.empty((c, 4, GROUP))
        self._total: _Summary | None = None
        self._kernel = False  # the compiled kernel summarises (decided by the first samples)

    # ---------------------------------------------------------------- analyser face
    def update(self, chunk: NDArray[Any] | WaveformTrace) -> None:
        """Same as :meth:`accumulate`: the name every analyser of :mod:`livetrace.analysis` uses."""
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
                f"data must be float or complex array (or integer counts), got dtype {data.dtype}"
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
        raw_dtype = raw_dtype.newbyteorder("=")  # a big-endian config stores native samples
        work_dtype = np.dtype(np.complex128 if raw_dtype.kind == "c" else np.float64)
        c = self._n_channels
        self._complex = raw_dtype.kind == "c"
        self._store = raw_dtype
        self._work_dtype = work_dtype
        # the ring of raw samples holds the window rounded up to 1024 samples, placed at the page
        # offset of the stream's chunks: each ring position then keeps the same page offset as
        # the sample it stores arrives at, and copies never hit 4K aliasing (10x slower)
        self._raw_len = -(-self._window_size // 1024) * 1024
        self._raw = aligned_empty((c, self._raw_len), raw_dtype)
        self._partial = np.empty((c, BLOCK), dtype=raw_dtype)
        self._p = p = 2 if self._complex else 1
        self._ring = np.empty((c, p + 3, 2 * self._nb))
        self._group = np.empty((c, p + 3, GROUP))
        self._k = np.zeros(c, dtype=work_dtype)
        self._kernel = self._compiled and not self._complex

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

    def _ones(self, size: int) -> NDArray[np.float64]:
        """``size`` ones, for sums as dot products."""
        ones = self._ones_cache
        if ones.size < size:
            ones = self._ones_cache = np.ones(max(size, BLOCK))
        return ones[:size]

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
        if self._count % BLOCK + n < BLOCK or self._kernel:  # no numpy arithmetic on samples
            self._push_blocks(x)
        else:
            with np.errstate(invalid="ignore", over="ignore"):  # inf/NaN give NaN/inf quietly
                self._push_blocks(x)
        self._count += n

    def _push_raw(self, x: NDArray[Any]) -> None:
        raw = self._raw
        assert raw is not None
        w = self._raw_len
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
    ) -> NDArray[np.float64]:
        """Stacked summaries (C, p + 3, n_blocks) of blocks of raw samples (see ``_ring``).

        ``parts`` are (C, n_blocks, length) arrays of the store dtype whose concatenation along
        the last axis is the ``size`` samples of each block. Two-pass in the space shifted by
        K: the mean of ``x - K`` is of the order of the signal's spread, so its rounding error
        is ~1e-16 of that and contributes ~1e-32 relative to M2 (no correction term needed).
        """
        c = self._n_channels
        p = self._p
        if self._kernel:
            out = np.empty((c, 4, n_blocks))
            blocks = _kernels.blocks
            for ch in range(c):
                if len(parts) == 1:
                    seg = np.ascontiguousarray(parts[0][ch])  # a view when it is one already
                else:
                    seg = np.concatenate([part[ch] for part in parts], axis=1)
                blocks(seg, float(self._k[ch]), size, out[ch])
            return out
        d = self._work_for(c * n_blocks * size).reshape(c, n_blocks, size)
        out = np.empty((c, p + 3, n_blocks))
        k: Any = self._k[0] if c == 1 else self._k[:, None, None]
        if len(parts) == 1:
            np.copyto(d, parts[0])
        else:
            off = 0
            for part in parts:
                np.copyto(d[:, :, off : off + part.shape[2]], part)
                off += part.shape[2]
        # min/max of the raw samples when they are one array (fewer bytes to read), else of
        # the float64 copies: the same values either way
        mag = np.abs(d) if self._complex else parts[0] if len(parts) == 1 else d
        out[:, p + 1] = np.minimum.reduce(mag, axis=2)
        out[:, p + 2] = np.maximum.reduce(mag, axis=2)
        np.subtract(d, k, out=d)
        # real sums as dot products with ones (one BLAS call, fewer instructions than the
        # pairwise sum; vecdot would conjugate complex samples)
        mean = np.add.reduce(d, axis=2) if self._complex else np.vecdot(d, self._ones(size))
        mean /= size
        np.subtract(d, mean[:, :, None], out=d)
        if self._complex:
            out[:, 0] = mean.real
            out[:, 1] = mean.imag
            out[:, 2] = np.add.reduce(_sq(d), axis=2)
        else:
            out[:, 0] = mean
            out[:, 1] = np.vecdot(d, d)
        return out

    def _summary_one(self, parts: list[NDArray[Any]], n: int) -> tuple[float, float, float, float]:
        """(mean of x-K, M2, min, max) of ``n`` real samples of one channel, as Python floats.

        The same two-pass as :meth:`_summarize` on 1-D arrays: eight numpy calls, for the
        raw-sample ranges every window query sums (the query's cost is its calls).
        """
        if self._kernel:  # parts are rows of the raw ring or of the partial block: contiguous
            seg = parts[0] if len(parts) == 1 else np.concatenate([q.reshape(-1) for q in parts])
            return _kernels.one(seg, float(self._k[0]))
        d = self._work_for(n)
        if len(parts) == 1:
            seg = parts[0].reshape(-1)
            np.copyto(d, seg)
            mn, mx = np.minimum.reduce(seg), np.maximum.reduce(seg)
        else:
            off = 0
            for part in parts:
                m = part.size
                np.copyto(d[off : off + m], part.reshape(-1))
                off += m
            mn, mx = np.minimum.reduce(d), np.maximum.reduce(d)
        np.subtract(d, self._k[0], out=d)
        mean = float(np.add.reduce(d)) / n
        np.subtract(d, mean, out=d)
        return mean, float(np.dot(d, d)), float(mn), float(mx)

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
            self._add_blocks(block_no, self._summarize([partial[:, None, :]], 1, BLOCK))
            block_no += 1
        n_full = (n - i) // BLOCK
        while n_full:
            # at most _BATCH blocks at a time, so that the passes over the work array stay in
            # the CPU's cache (results do not depend on the batching: blocks are independent)
            nb = min(n_full, _BATCH)
            blocks = x[:, i : i + nb * BLOCK].reshape(c, nb, BLOCK)
            self._add_blocks(block_no, self._summarize([blocks], nb, BLOCK))
            block_no += nb
            i += nb * BLOCK
            n_full -= nb
        rest = n - i
        if rest:
            partial[:, :rest] = x[:, i:]

    def _add_blocks(self, first: int, summaries: NDArray[np.float64]) -> None:
        """Store stacked summaries (C, p + 3, count) of blocks ``first`` onwards."""
        count = summaries.shape[2]
        nb = self._nb
        keep = min(count, nb)
        lo = (first + count - keep) % nb
        kept = summaries[:, :, count - keep :]
        if lo + keep <= nb:
            self._ring[:, :, lo : lo + keep] = kept
            self._ring[:, :, lo + nb : lo + nb + keep] = kept
        else:
            idx = np.arange(lo, lo + keep) % nb
            self._ring[:, :, idx] = kept
            self._ring[:, :, idx + nb] = kept
        # cumulative: fold complete groups of GROUP blocks in a fixed order
        j = 0
        while j < count:
            g = (first + j) % GROUP
            take = min(GROUP - g, count - j)
            self._group[:, :, g : g + take] = summaries[:, :, j : j + take]
            j += take
            if g + take == GROUP:
                with np.errstate(invalid="ignore", over="ignore"):
                    self._total = _merge(self._total, _combine_equal(self._group, BLOCK))

    # ---------------------------------------------------------------- results
    def _finish(self, n: int, mean_d: Any, m2: Any, mn: Any, mx: Any) -> Statistics:
        """Statistics from a summary: ``mean_d`` is the mean of ``x - K``; (C,) arrays."""
        if self._n_channels == 1:
            # Python floats: the same IEEE operations as the array path, without numpy's
            # per-call cost (and without warnings: inf - inf is NaN quietly)
            k = self._k[0].item()
            d0 = mean_d[0]
            mean = (d0.item() if isinstance(d0, np.generic) else d0) + k
            var = float(m2[0]) / n
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
        w = self._raw_len
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

    def _raw_summary(
        self, parts: list[NDArray[Any]], n: int
    ) -> tuple[int, NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]:
        """(n, mean of x-K, M2, min, max), each (C,), of ``n`` raw samples given in ``parts``."""
        p = self._p
        s = self._summarize(parts, 1, n)[:, :, 0]
        return n, _join(s[:, :p]), s[:, p], s[:, p + 1], s[:, p + 2]

    def get_statistics(self) -> Statistics:
        """Statistics over the last ``window_size`` samples (fewer before the window fills).

        Raises ``ValueError("No data accumulated yet")`` before the first sample (the seed's
        behaviour); :class:`~livetrace.RealtimeStream` returns :meth:`Statistics.empty` instead.
        """
        if self._count == 0:
            raise ValueError("No data accumulated yet")
        if self._kernel and self._n_channels == 1:  # no numpy arithmetic: nothing to silence
            return self._window_statistics()
        with np.errstate(invalid="ignore", over="ignore"):  # inf/NaN give NaN/inf, quietly
            return self._window_statistics()

    def _window_statistics(self) -> Statistics:
        end = self._count
        start = max(0, end - self._window_size)
        first_full = -(-start // BLOCK)
        last_full = end // BLOCK
        if first_full >= last_full:
            parts = self._range_parts(((start, end),))
            if self._n_channels == 1 and not self._complex:
                mean, m2, mn, mx = self._summary_one(parts, end - start)
                return self._finish(end - start, [mean], [m2], [mn], [mx])
            return self._finish(*self._raw_summary(parts, end - start))
        # every block fully inside the window, and the raw samples at both ends, combined in
        # one weighted step about the window's mean
        p = self._p
        m = last_full - first_full
        lo = first_full % self._nb
        if self._n_channels == 1:
            return self._window_one_channel(start, end, first_full, last_full)
        v = self._ring[:, :, lo : lo + m]
        n_edge = (first_full * BLOCK - start) + (end - last_full * BLOCK)
        n = m * BLOCK + n_edge
        sums = np.add.reduce(v[:, : p + 1], axis=2)
        mn = np.minimum.reduce(v[:, p + 1], axis=1)
        mx = np.maximum.reduce(v[:, p + 2], axis=1)
        if n_edge:
            parts = self._range_parts(((start, first_full * BLOCK), (last_full * BLOCK, end)))
            e = self._summarize(parts, 1, n_edge)[:, :, 0]
            mean = (sums[:, :p] * BLOCK + e[:, :p] * n_edge) / n
            dev_e = e[:, :p] - mean
            m2 = sums[:, p] + e[:, p] + n_edge * np.add.reduce(dev_e * dev_e, axis=1)
            np.minimum(mn, e[:, p + 1], out=mn)
            np.maximum(mx, e[:, p + 2], out=mx)
        else:
            mean = sums[:, :p] / m
            m2 = sums[:, p]
        dev = v[:, :p] - mean[:, :, None]
        m2 += BLOCK * np.add.reduce(dev * dev, axis=(1, 2))
        return self._finish(n, _join(mean), m2, mn, mx)

    def _window_one_channel(
        self, start: int, end: int, first_full: int, last_full: int
    ) -> Statistics:
        """:meth:`_window_statistics` for one channel: the same combination, with Python floats
        for the per-query scalars and a dozen numpy calls in all (the query's cost is calls)."""
        p = self._p
        m = last_full - first_full
        lo = first_full % self._nb
        if self._kernel:
            n_edge = (first_full * BLOCK - start) + (end - last_full * BLOCK)
            edge = None
            if n_edge:
                ranges = ((start, first_full * BLOCK), (last_full * BLOCK, end))
                edge = (n_edge, *self._summary_one(self._range_parts(ranges), n_edge))
            n, mean_k, m2_k, mn_k, mx_k = _kernels.window(self._ring[0], lo, m, BLOCK, edge)
            return self._finish(n, [mean_k], [m2_k], [mn_k], [mx_k])
        v = self._ring[0, :, lo : lo + m]  # (p + 3, m)
        sums = np.add.reduce(v[: p + 1], axis=1).tolist()
        mn = float(np.minimum.reduce(v[p + 1]))
        mx = float(np.maximum.reduce(v[p + 2]))
        n_edge = (first_full * BLOCK - start) + (end - last_full * BLOCK)
        n = m * BLOCK + n_edge
        m2 = sums[p]
        if n_edge:
            parts = self._range_parts(((start, first_full * BLOCK), (last_full * BLOCK, end)))
            e = (
                list(self._summary_one(parts, n_edge))
                if p == 1
                else self._summarize(parts, 1, n_edge)[0, :, 0].tolist()
            )
            mean = [(sums[r] * BLOCK + e[r] * n_edge) / n for r in range(p)]
            dev_e = [e[r] - mean[r] for r in range(p)]
            m2 = m2 + e[p] + n_edge * sum(dv * dv for dv in dev_e)
            mn = e[p + 1] if math.isnan(e[p + 1]) or e[p + 1] < mn else mn
            mx = e[p + 2] if math.isnan(e[p + 2]) or e[p + 2] > mx else mx
        else:
            mean = [sums[r] / m for r in range(p)]
        dev = v[:p] - np.array(mean)[:, None]
        m2 = m2 + BLOCK * float(np.add.reduce(dev * dev, axis=None))
        mean_d = complex(mean[0], mean[1]) if p == 2 else mean[0]
        return self._finish(n, [mean_d], [m2], [mn], [mx])

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
            total = _merge(total, _combine_equal(self._group[:, :, :g], BLOCK))
        fill = self._count % BLOCK
        if fill:
            assert self._partial is not None
            part = _Summary(*self._raw_summary([self._partial[:, None, :fill]], fill))
            total = _merge(total, part)
        assert total is not None
        return self._finish(total.n, total.mean, total.m2, total.min, total.max)

    @property
    def n_accumulated(self) -> int:
        """Samples accumulated since construction or ``reset()``."""
        return self._count
