"""Decimation of a live stream: :class:`Decimator` (anti-aliased, polyphase, stateful) and
:class:`MinMaxDecimator` (the min/max envelope per bucket that an oscilloscope draws).

Both number their output from absolute input positions, so they are chunking-invariant and
stay aligned across gaps: decimated sample ``j`` is the filtered value at absolute input index
``j * factor``; bucket ``b`` holds absolute input indices ``[b * bucket, (b + 1) * bucket)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.signal as sps
from numpy.typing import ArrayLike, NDArray

from .._errors import ConfigurationError
from .._protocols import SourceInfo
from .._result import ResultMapping
from .._types import WaveformTrace
from ._base import (
    GapTracker,
    RateResolver,
    as_chunk,
    check_channels,
    check_int,
    input_ndim,
    readonly,
)
from ._filter import TransformResult, _coefficients

__all__ = ["Decimator", "MinMaxDecimator", "MinMaxResult"]


class Decimator:
    """Anti-aliased integer-factor decimation with state carried across chunks.

    ``factor``: integer >= 1. The anti-aliasing FIR is ``taps`` if given, else
    ``scipy.signal.firwin(numtaps, 1 / factor, window="hamming")`` with ``numtaps`` defaulting to
    ``20 * factor + 1`` (the FIR ``scipy.signal.decimate`` uses); ``factor=1`` without taps is
    the identity.

    Output, exactly: decimated sample ``j`` is ``sum_k h[k] * x[j * factor - k]`` over the input
    at *absolute* indices (samples before the first one seen count as 0). For a stream starting
    at ``start_index`` 0 the concatenated output therefore equals
    ``scipy.signal.upfirdn(h, x, up=1, down=factor)[: ceil(len(x) / factor)]`` for any chunking
    (upfirdn's last ``(len(h) - 1) // factor`` outputs need samples that have not arrived). The
    FIR delays the signal by ``(len(h) - 1) / 2`` input samples (a linear-phase design), which
    is not compensated: output ``j`` describes the input around ``j * factor - (len(h) - 1) / 2``.

    Chunks: ``process(chunk)`` returns a chunk at ``sample_rate / factor`` whose
    ``start_index`` is in the decimated numbering, ``ceil(s / factor)`` for an input chunk
    starting at absolute index ``s`` (the index ``j`` of the first multiple of ``factor`` at or
    after ``s``); ``start_time`` is that of input sample ``j * factor``. A chunk may give no
    output (fewer than ``factor`` samples); the empty chunk is still returned. Arrays in,
    arrays out. Float32 input is filtered in float64 (float64 taps) and returned as float32.

    **A gap** (a jump in ``start_index`` or a ``discontinuity`` flag) clears the history: the
    output after it equals decimating the post-gap signal alone, still at absolute positions
    (the output chunk carries the jump in its own ``start_index`` and the flag).

    The input rate is ``sample_rate`` if given, else the stream's (``attach(info)``), else the
    first chunk's metadata; a chunk at another rate is refused (the rule of every analyser).
    Bare arrays need no rate: they give arrays.

    ``update(chunk)`` = ``process`` keeping the output for ``result`` (:class:`TransformResult`).

    Example:
        >>> import numpy as np, scipy.signal as sps
        >>> d = Decimator(factor=4)
        >>> x = np.random.default_rng(1).normal(size=1000)
        >>> y = np.concatenate([d.process(x[:333]), d.process(x[333:])])
        >>> ref = sps.upfirdn(d.taps, x, 1, 4)[:250]
        >>> bool(np.allclose(y, ref, rtol=1e-12, atol=1e-15)), len(y)
        (True, 250)
    """

    def __init__(
        self,
        *,
        factor: int,
        sample_rate: float | None = None,
        numtaps: int | None = None,
        taps: ArrayLike | None = None,
        name: str = "decimator",
    ) -> None:
        self.name = name
        self._q = check_int("factor", factor, 1)
        self._rate = RateResolver(type(self).__name__, sample_rate)
        if taps is not None and numtaps is not None:
            raise ConfigurationError("give numtaps=... or taps=..., not both")
        if taps is not None:
            h = _coefficients("taps", taps)
            if h.ndim != 1 or h.size == 0:
                raise ConfigurationError(f"taps must be a non-empty 1-D array, got shape {h.shape}")
        elif self._q == 1 and numtaps is None:
            h = np.ones(1)
        else:
            n = 20 * self._q + 1 if numtaps is None else check_int("numtaps", numtaps, 1)
            if self._q == 1:
                raise ConfigurationError(
                    "factor=1 with numtaps: a low-pass at Nyquist is undefined; give taps=..."
                )
            h = sps.firwin(n, 1.0 / self._q, window="hamming")
        self._h: NDArray[Any] = np.ascontiguousarray(h)
        self.reset()

    @property
    def factor(self) -> int:
        return self._q

    @property
    def taps(self) -> NDArray[Any]:
        """The anti-aliasing FIR (a copy)."""
        h: NDArray[Any] = self._h.copy()
        return h

    @property
    def sample_rate(self) -> float | None:
        """The input rate (Hz) in use, None while unknown; the output is at this / ``factor``."""
        return self._rate.value

    def attach(self, info: SourceInfo) -> None:
        """Take the stream's sample rate (called by the stream; a given ``sample_rate`` wins)."""
        self._rate.attach(info.sample_rate)

    def output_info(self, info: SourceInfo) -> SourceInfo:
        """What the decimated chunks are, given what comes in: the rate divided by ``factor``."""
        return dataclasses.replace(info, sample_rate=info.sample_rate / self._q)

    def reset(self) -> None:
        """Forget the history, positions and counters (taps and attached rate stay)."""
        self._gaps = GapTracker()
        self._hist: NDArray[Any] | None = None
        self._n_channels: int | None = None
        self._next_out: int | None = None
        self._last: NDArray[Any] | None = None
        self._last_start: int | None = None
        self._n_out = 0
        self._n_gaps = 0
        self._rate.forget()

    def process(self, chunk: WaveformTrace | NDArray[Any]) -> Any:
        """Decimate one chunk (see the class docstring for numbering and alignment)."""
        view = as_chunk(chunk)
        rate = self._rate.see(view.sample_rate)
        start = self._gaps.start_of(view)
        gap = self._gaps.check(view)
        x = view.data
        q = self._q
        h = self._h
        m = h.size - 1
        work = np.result_type(x.dtype, h.dtype)
        c = self._n_channels = check_channels(type(self).__name__, self._n_channels, x.shape[1])
        if gap:
            self._hist = None
            self._n_gaps += 1
        hist = self._hist
        if hist is not None and hist.dtype != work:
            hist = hist.astype(work)
        if hist is None:
            hist = np.zeros((m, c), dtype=work)
        n = x.shape[0]
        i0 = (-start) % q  # first chunk sample at an absolute multiple of q
        n_out = max(0, -(-(n - i0) // q))
        out_start = -(-start // q)
        if n_out:
            # buf = [z zeros | history (m) | chunk]: output j sits at buf index i0 + m + z + j q,
            # a multiple of q, so upfirdn's outputs (every q-th of the full convolution) land
            # on it. The z leading zeros only feed outputs we discard.
            z = (-(i0 + m)) % q
            buf = np.empty((z + m + n, c), dtype=work)
            buf[:z] = 0
            buf[z : z + m] = hist
            buf[z + m :] = x
            first = (i0 + m + z) // q
            y = sps.upfirdn(h, buf[: z + m + i0 + (n_out - 1) * q + 1], 1, q, axis=0)
            y = y[first : first + n_out]
            if m:
                self._hist = buf[-m:].copy()
            else:
                self._hist = buf[:0].copy()
        else:
            y = np.empty((0, c), dtype=work)
            if m:
                self._hist = np.concatenate([hist, x.astype(work)])[-m:]
            else:
                self._hist = hist
        if y.dtype != x.dtype and x.dtype.kind == y.dtype.kind:
            y = y.astype(x.dtype)  # float32 in, float32 out
        data = y[:, 0] if input_ndim(chunk) == 1 else y
        out_gap = 0
        if self._next_out is not None and gap:
            out_gap = max(0, out_start - self._next_out)
        self._next_out = -(-(start + n) // q)
        self._last = data
        self._last_start = out_start
        self._n_out += n_out
        if not isinstance(chunk, WaveformTrace):
            return data
        meta = chunk.metadata
        rate_in = meta.sample_rate if rate is None else rate
        t0 = meta.start_time
        out_meta = dataclasses.replace(
            meta,
            sample_rate=rate_in / q,
            start_index=out_start,
            start_time=None if t0 is None else t0 + i0 / rate_in,
            gap=out_gap,
            discontinuity=bool(meta.discontinuity or gap),
        )
        return WaveformTrace(data, out_meta)

    def update(self, chunk: WaveformTrace | NDArray[Any]) -> None:
        """Decimate a chunk and keep the output for :attr:`result`."""
        self.process(chunk)

    @property
    def result(self) -> TransformResult:
        """The last output (decimated numbering and rate)."""
        rate = self._rate.value
        return TransformResult(
            data=None if self._last is None else readonly(self._last),
            start_index=self._last_start,
            sample_rate=None if rate is None else rate / self._q,
            n_samples=self._n_out,
            n_gaps=self._n_gaps,
        )

    def __repr__(self) -> str:
        return f"Decimator(factor={self._q}, numtaps={self._h.size})"


@dataclass(frozen=True, eq=False)
class MinMaxResult(ResultMapping):
    """Completed min/max buckets.

    ``mins``/``maxs``: ``(n_buckets,)`` for 1-D input, ``(n_buckets, channels)`` otherwise, in
    the input dtype. ``bucket_start_indices``: absolute index of each bucket's first position
    (``b * bucket``, int64). ``counts``: samples that fell in each bucket (``bucket``, except for
    a bucket cut by the start of the stream, a gap, or :meth:`MinMaxDecimator.flush`).
    ``n_dropped``: buckets discarded because more than ``max_pending`` waited for ``take()``.
    """

    mins: NDArray[Any]
    maxs: NDArray[Any]
    bucket_start_indices: NDArray[np.int64]
    counts: NDArray[np.int64]
    n_dropped: int = 0

    @property
    def n_buckets(self) -> int:
        """Number of buckets (``len(result)`` is the number of fields, as for a mapping)."""
        return int(self.bucket_start_indices.shape[0])


#: Completed buckets: mins, maxs, absolute start indices, sample counts (equal lengths).
_Buckets = tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]


def _bucket_extrema(body: NDArray[Any], k: int, bs: int) -> tuple[NDArray[Any], NDArray[Any]]:
    """Min and max of each of the ``k`` consecutive buckets of ``bs`` rows of ``body``
    (``(k * bs, channels)``), as ``(k, channels)`` arrays; NaN propagates as in ``min``.

    ``reduceat`` over contiguous samples: several channels are made channel-major first (a
    reduction across the middle axis of ``(k, bs, channels)`` is tens of times slower).
    """
    starts = np.arange(0, k * bs, bs)
    if body.shape[1] == 1:
        flat = body[:, 0]
        mins = np.minimum.reduceat(flat, starts)
        return mins[:, None], np.maximum.reduceat(flat, starts)[:, None]
    t = np.ascontiguousarray(body.T)
    mins = np.ascontiguousarray(np.minimum.reduceat(t, starts, axis=1).T)
    return mins, np.ascontiguousarray(np.maximum.reduceat(t, starts, axis=1).T)


class MinMaxDecimator:
    """Peak-detect decimation: min and max of every ``bucket`` samples, per channel.

    Buckets are aligned to absolute sample positions: bucket ``b`` covers input indices
    ``[b * bucket, (b + 1) * bucket)``, whatever the chunking, so the output equals
    ``x.reshape(-1, bucket).min(axis=1)`` / ``.max(axis=1)`` of the whole signal (for a stream
    starting at a multiple of ``bucket``). A bucket is complete when a sample of a later bucket
    arrives (or at :meth:`flush`); until then it is carried across chunks.

    A gap inside one bucket merges the samples on both sides (the envelope of what exists); a
    gap that leaves the bucket completes it with ``counts < bucket``. Real data only (NaN
    propagates, as in ``numpy.min``).

    ``sample_rate`` is optional (given, attached or from the first chunk, as for every
    analyser): chunks at another rate than the one in use are refused.

    ``update(chunk)`` consumes a chunk; ``result`` holds the buckets that chunk completed,
    ``take()`` returns every bucket completed since the last ``take()`` (at most
    ``max_pending`` are kept; older ones are dropped and counted in ``n_dropped``).

    Example:
        >>> import numpy as np
        >>> mm = MinMaxDecimator(bucket=4)
        >>> for part in np.array_split(np.arange(10.0), 3):
        ...     mm.update(part)
        >>> r = mm.take()
        >>> r.mins.tolist(), r.maxs.tolist(), r.bucket_start_indices.tolist()
        ([0.0, 4.0], [3.0, 7.0], [0, 4])
    """

    def __init__(
        self,
        *,
        bucket: int,
        max_pending: int = 1_000_000,
        sample_rate: float | None = None,
        name: str = "minmax",
    ) -> None:
        self.name = name
        self._bucket = check_int("bucket", bucket, 1)
        self._max_pending = check_int("max_pending", max_pending, 1)
        self._rate = RateResolver(type(self).__name__, sample_rate)
        self.reset()

    @property
    def bucket(self) -> int:
        return self._bucket

    @property
    def sample_rate(self) -> float | None:
        """The rate (Hz) of the chunks in use, None while unknown (buckets count samples, so
        none is needed; it only keeps chunks at two rates out of one envelope)."""
        return self._rate.value

    def attach(self, info: SourceInfo) -> None:
        """Take the stream's sample rate (called by the stream; a given ``sample_rate`` wins)."""
        self._rate.attach(info.sample_rate)

    def reset(self) -> None:
        """Forget the partial bucket, pending buckets and counters (a given or attached rate
        stays)."""
        self._rate.forget()
        self._gaps = GapTracker()
        self._squeeze: bool | None = None
        self._dtype: np.dtype[Any] | None = None
        self._n_channels: int | None = None
        # partial bucket: index, min, max, count, absolute index of its next sample
        self._p_bucket: int | None = None
        self._p_min: NDArray[Any] | None = None
        self._p_max: NDArray[Any] | None = None
        self._p_count = 0
        self._p_next = 0
        self._last: MinMaxResult | None = None
        self._pending: list[_Buckets] = []
        self._n_pending = 0
        self._n_dropped = 0

    def _empty(self) -> MinMaxResult:
        c = 1 if self._n_channels is None else self._n_channels
        dtype = np.float64 if self._dtype is None else self._dtype
        shape: tuple[int, ...] = (0,) if self._squeeze in (None, True) else (0, c)
        e = np.empty(shape, dtype=dtype)
        ei = np.empty(0, dtype=np.int64)
        return MinMaxResult(readonly(e), readonly(e), readonly(ei), readonly(ei), self._n_dropped)

    def _partial_out(self) -> _Buckets:
        assert self._p_min is not None and self._p_max is not None and self._p_bucket is not None
        out = (
            self._p_min[None],
            self._p_max[None],
            np.array([self._p_bucket * self._bucket], dtype=np.int64),
            np.array([self._p_count], dtype=np.int64),
        )
        self._p_bucket = self._p_min = self._p_max = None
        self._p_count = 0
        return out

    def update(self, chunk: WaveformTrace | NDArray[Any]) -> None:
        """Add a chunk's samples; buckets it completes go to ``result`` and to ``take()``."""
        view = as_chunk(chunk)
        x = view.data
        if x.dtype.kind == "c":
            raise TypeError(
                "MinMaxDecimator takes real data; pass np.abs(x) or x.real for complex samples"
            )
        self._rate.see(view.sample_rate)
        start = self._gaps.start_of(view)
        self._gaps.check(view)
        if self._n_channels is None:
            self._squeeze = input_ndim(chunk) == 1
            self._dtype = x.dtype
        self._n_channels = check_channels(type(self).__name__, self._n_channels, x.shape[1])
        n = x.shape[0]
        bs = self._bucket
        parts: list[_Buckets] = []
        if n:
            b0, off = divmod(start, bs)
            if self._p_bucket is not None and (self._p_bucket != b0 or start < self._p_next):
                parts.append(self._partial_out())
            i = 0
            if off:
                i = min(n, bs - off)
                head = x[:i]
                mn, mx = head.min(axis=0), head.max(axis=0)
                if self._p_bucket is None:
                    self._p_bucket, self._p_min, self._p_max, self._p_count = b0, mn, mx, i
                else:
                    assert self._p_min is not None and self._p_max is not None
                    self._p_min = np.minimum(self._p_min, mn)
                    self._p_max = np.maximum(self._p_max, mx)
                    self._p_count += i
                if off + i == bs:
                    parts.append(self._partial_out())
                b0 += 1
            k = (n - i) // bs
            if k:
                mins, maxs = _bucket_extrema(x[i : i + k * bs], k, bs)
                starts = (np.arange(b0, b0 + k, dtype=np.int64)) * bs
                parts.append((mins, maxs, starts, np.full(k, bs, dtype=np.int64)))
                i += k * bs
                b0 += k
            if i < n:
                tail = x[i:]
                self._p_bucket, self._p_min, self._p_max = b0, tail.min(axis=0), tail.max(axis=0)
                self._p_count = n - i
            self._p_next = start + n
        self._last = self._joined(parts, squeeze=bool(self._squeeze))
        if self._last.n_buckets:
            self._push(self._last)

    def _push(self, r: MinMaxResult) -> None:
        self._pending.append((r.mins, r.maxs, r.bucket_start_indices, r.counts))
        self._n_pending += r.n_buckets
        while self._n_pending > self._max_pending:
            excess = self._n_pending - self._max_pending
            mins, maxs, starts, counts = self._pending[0]
            if len(starts) <= excess:
                self._pending.pop(0)
                self._n_pending -= len(starts)
                self._n_dropped += len(starts)
            else:
                self._pending[0] = (mins[excess:], maxs[excess:], starts[excess:], counts[excess:])
                self._n_pending -= excess
                self._n_dropped += excess

    def flush(self) -> MinMaxResult:
        """Complete the partial bucket (end of data) and return :meth:`take`'s result.

        Samples that arrive later for the same bucket start a new entry for it.
        """
        if self._p_bucket is not None:
            self._push(self._joined([self._partial_out()], squeeze=bool(self._squeeze)))
        return self.take()

    def take(self) -> MinMaxResult:
        """Every bucket completed since the last ``take()`` (oldest first); clears them."""
        parts = self._pending
        self._pending = []
        self._n_pending = 0
        return self._joined(parts, squeeze=False)

    def _joined(self, parts: list[_Buckets], *, squeeze: bool) -> MinMaxResult:
        """One result of the buckets ``parts`` (in order); ``squeeze`` drops the channel axis
        of parts still shaped ``(k, channels)``."""
        if not parts:
            return self._empty()
        if len(parts) == 1:
            mins, maxs, starts, counts = parts[0]
        else:
            mins, maxs, starts, counts = (np.concatenate(col) for col in zip(*parts, strict=True))
        if squeeze:
            mins, maxs = mins[:, 0], maxs[:, 0]
        return MinMaxResult(
            readonly(mins), readonly(maxs), readonly(starts), readonly(counts), self._n_dropped
        )

    @property
    def result(self) -> MinMaxResult:
        """The buckets completed by the last ``update`` (empty before the first)."""
        return self._last if self._last is not None else self._empty()

    @property
    def n_dropped(self) -> int:
        """Buckets dropped because more than ``max_pending`` waited for ``take()``."""
        return self._n_dropped

    def __repr__(self) -> str:
        return f"MinMaxDecimator(bucket={self._bucket})"
