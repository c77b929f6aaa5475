"""Shared machinery of the frequency counter and the triggers: a vectorised Schmitt edge
detector whose state is carried across chunks, and the channel choice.

The Schmitt rule (used by :class:`~livetrace.analysis.FrequencyCounter`,
:class:`~livetrace.analysis.EdgeTrigger` and the pulse triggers): with ``lo = level - h/2``
and ``hi = level + h/2``, the state becomes *high* at a sample ``> hi`` and *low* at a sample
``< lo``; samples inside the band (and NaN) keep the state. An edge is a change of state; it is
*detected* at the first sample beyond the band, and its *time* is the last crossing of
``level`` itself at or before that sample, linearly interpolated between the two samples around
it. The state starts unknown: the first sample outside the band sets it without an edge, so an
edge is counted only after the signal was seen on the other side.

How it is vectorised: only the positions where the signal *leaves* the band (starts of runs
above ``hi`` / below ``lo``) are found with numpy; that short, sorted list of states is
compressed (a position is an edge when its state differs from the previous one, the first
compared with the state carried from the previous chunk). Level crossings are found the same
way, and each edge picks the last one before it with ``searchsorted``. Per chunk the cost is a
few boolean passes plus work proportional to the number of crossings. Where the optional
compiled kernel was built, the same rule runs in one pass over the samples in C (without the
GIL), with the same arithmetic for the crossing times: the results are identical.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError
from .._protocols import SourceInfo
from . import _compiled
from ._base import RateResolver, check_channels, check_int

__all__ = [
    "ChannelAnalyser",
    "EdgeDetector",
    "column_f64",
    "crossing_times",
    "interp_crossing",
    "level_crossings",
]

_EMPTY_I = np.empty(0, dtype=np.int64)
_EMPTY_F = np.empty(0, dtype=np.float64)
_EMPTY_B = np.empty(0, dtype=bool)


def interp_crossing(
    before: NDArray[np.float64], after: NDArray[np.float64], level: NDArray[np.float64] | float
) -> NDArray[np.float64]:
    """Fraction in [0, 1] of the way from ``before`` to ``after`` where ``level`` is crossed.

    Callers guarantee ``before`` and ``after`` lie on different sides of ``level`` (so the
    denominator is not zero); NaN samples give NaN.
    """
    return (level - before) / (after - before)


def level_crossings(
    x: NDArray[np.float64], prev: float | None, level: float
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Indices ``k`` in ``x`` where ``x`` crosses ``level`` upward (``x[k-1] <= level < x[k]``)
    and downward (``x[k-1] > level >= x[k]``); ``x[-1]`` is ``prev`` (None: no crossing at 0)."""
    g = x > level
    ch = np.flatnonzero(g[1:] != g[:-1])
    ch += 1
    if prev is not None and bool(prev > level) != bool(g[0]):
        ch = np.concatenate((np.zeros(1, dtype=np.int64), ch))
    rising = g[ch]
    return ch[rising], ch[~rising]


def crossing_times(
    x: NDArray[np.float64],
    prev: float | None,
    k: NDArray[np.int64],
    start: int,
    level: NDArray[np.float64] | float,
) -> NDArray[np.float64]:
    """Absolute interpolated times (in samples) where the segments ``x[k-1] -> x[k]`` cross
    ``level`` (one level, or one per ``k``); ``x[-1]`` is ``prev`` (None: NaN at ``k == 0``)."""
    if k.size == 0:
        return _EMPTY_F
    after = x[k]
    before = x[np.maximum(k - 1, 0)]
    if k[0] == 0:
        before[k == 0] = np.nan if prev is None else prev
    frac = interp_crossing(before, after, level)
    return (start - 1 + k).astype(np.float64) + frac


def _band_starts(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Indices where runs of True start (index 0 included when ``mask[0]``)."""
    ch = np.flatnonzero(mask[1:] > mask[:-1])
    ch += 1
    if mask[0]:
        ch = np.concatenate((np.zeros(1, dtype=np.int64), ch))
    return ch


class EdgeDetector:
    """Schmitt edge detector with state carried across calls (see the module docstring).

    ``detect(x, start)`` takes one channel (float64, 1-D) whose first sample has absolute index
    ``start`` and returns the edges in it: absolute detection indices (int64), whether each is
    rising, and the interpolated absolute level-crossing times (float64, in samples). Edges
    alternate rising / falling. ``reset()`` forgets everything (used at gaps).
    """

    __slots__ = (
        "_kernel",
        "_last_dn",
        "_last_up",
        "_out",
        "_prev",
        "_state",
        "hi",
        "hysteresis",
        "level",
        "lo",
    )

    def __init__(self, level: float, hysteresis: float) -> None:
        self.level = float(level)
        self.hysteresis = float(hysteresis)
        self.lo = self.level - hysteresis / 2.0
        self.hi = self.level + hysteresis / 2.0
        # the compiled detector: one pass, same rule, same arithmetic, identical results
        self._kernel = _compiled.kernels if _compiled.wanted() else None
        self._out: tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.float64]] | None = None
        self.reset()

    def reset(self) -> None:
        self._state = -1  # -1 unknown, 0 low, 1 high
        self._prev: float | None = None
        self._last_up = math.nan
        self._last_dn = math.nan

    def detect(
        self, x: NDArray[np.float64], start: int
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.float64]]:
        if x.size == 0:
            return _EMPTY_I, _EMPTY_B, _EMPTY_F
        if self._kernel is not None and x.dtype in _KERNEL_DTYPES and x.flags.c_contiguous:
            return self._detect_compiled(x, start)
        prev = self._prev
        level = self.level
        above = x > self.hi
        below = x < self.lo
        ups = _band_starts(above)
        dns = _band_starts(below)
        if ups.size + dns.size:
            pos = np.concatenate((ups, dns))
            kind = np.concatenate((np.ones(ups.size, np.int8), np.zeros(dns.size, np.int8)))
            if ups.size and dns.size:
                order = np.argsort(pos, kind="stable")
                pos = pos[order]
                kind = kind[order]
            state0 = self._state if self._state >= 0 else int(kind[0])
            keep = np.empty(kind.size, dtype=bool)
            keep[0] = kind[0] != state0
            np.not_equal(kind[1:], kind[:-1], out=keep[1:])
            self._state = int(kind[-1])
            j = pos[keep]
            rising = kind[keep].astype(bool)
        else:
            j = _EMPTY_I
            rising = _EMPTY_B
        c_up, c_dn = level_crossings(x, prev, level)
        t = np.empty(j.size, dtype=np.float64)
        if j.size:
            for mask, crossings, carried in (
                (rising, c_up, self._last_up),
                (~rising, c_dn, self._last_dn),
            ):
                jj = j[mask]
                if jj.size == 0:
                    continue
                if crossings.size == 0:
                    t[mask] = carried
                    continue
                which = np.searchsorted(crossings, jj, side="right") - 1
                times = crossing_times(x, prev, crossings[np.maximum(which, 0)], start, level)
                t[mask] = np.where(which >= 0, times, carried)
        if c_up.size:
            self._last_up = float(crossing_times(x, prev, c_up[-1:], start, level)[0])
        if c_dn.size:
            self._last_dn = float(crossing_times(x, prev, c_dn[-1:], start, level)[0])
        self._prev = float(x[-1])
        return j + start, rising, t

    def column(self, data: NDArray[Any], channel: int) -> NDArray[Any]:
        """Channel ``channel`` of ``(n, C)`` data as :meth:`detect` takes it: contiguous
        float64, or float32 as it is when the compiled detector reads it (no conversion)."""
        col = data[:, channel]
        if self._kernel is not None and col.dtype in _KERNEL_DTYPES:
            return np.ascontiguousarray(col)  # a view when it is contiguous already
        return np.ascontiguousarray(col, dtype=np.float64)

    def _detect_compiled(
        self, x: NDArray[Any], start: int
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.float64]]:
        assert self._kernel is not None
        n = x.size
        if self._out is None or self._out[0].size < n:  # reused: no allocation per chunk
            self._out = (np.empty(n, np.int64), np.empty(n, bool), np.empty(n, np.float64))
        j, rising, t = self._out
        count, self._state, self._last_up, self._last_dn = self._kernel.schmitt(
            x, start, self.level, self.lo, self.hi, self._state, self._prev,
            self._last_up, self._last_dn, j, rising, t,
        )  # fmt: skip
        self._prev = float(x[-1])
        # copies: the buffers are reused by the next call
        return j[:count].copy(), rising[:count].copy(), t[:count].copy()


_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def column_f64(data: NDArray[Any], channel: int) -> NDArray[np.float64]:
    """Channel ``channel`` of ``(n, C)`` data as a contiguous float64 array."""
    return np.ascontiguousarray(data[:, channel], dtype=np.float64)


class ChannelAnalyser:
    """Sample rate, channel choice and channel count shared by the counter and the triggers.

    The sample rate follows the rule of every analyser (see
    :class:`~livetrace.analysis._base.RateResolver`): the ``sample_rate`` given, else the
    one from ``attach(info)``, else the first chunk's metadata; a chunk at another rate is
    refused, and so is a bare array while no rate is known. ``reset()`` forgets a rate learnt
    from a chunk, not one given or attached.
    """

    name: str

    def __init__(self, *, sample_rate: float | None, channel: int | None, name: str) -> None:
        self._rate = RateResolver(type(self).__name__, sample_rate)
        if channel is not None:
            channel = check_int("channel", channel, 0)
        self._n_channels: int | None = None
        self.channel = channel
        self.name = name

    @property
    def sample_rate(self) -> float | None:
        """The sample rate in use (Hz), None until known."""
        return self._rate.value

    def attach(self, info: SourceInfo) -> None:
        """Take the sample rate and channel count from a stream's ``SourceInfo`` (a given
        ``sample_rate`` wins)."""
        self._rate.attach(info.sample_rate)
        n_ch = int(info.n_channels)
        if self.channel is not None and self.channel >= n_ch:
            raise ConfigurationError(f"channel={self.channel} but the stream has {n_ch} channel(s)")

    def _reset_rate(self) -> None:
        self._rate.forget()
        self._n_channels = None

    def _check_chunk(self, view_rate: float | None, data: NDArray[Any]) -> float:
        """Resolve the rate and check the channel layout of a chunk; returns the rate."""
        if data.dtype.kind == "c":
            raise TypeError(f"{type(self).__name__} takes real samples, got dtype {data.dtype}")
        rate = self._rate.require(view_rate)
        n_ch = int(data.shape[1])
        if self._n_channels is None:
            if self.channel is not None and self.channel >= n_ch:
                raise ConfigurationError(
                    f"channel={self.channel} but the chunk has {n_ch} channel(s)"
                )
            self._n_channels = n_ch
        else:
            check_channels(type(self).__name__, self._n_channels, n_ch)
        return rate
