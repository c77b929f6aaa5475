"""The clock map: from absolute sample index to time, fitted to the best clock available.

A device's crystal drifts against the host by tens of ppm (about 0.1 s an hour), so the time
of sample ``i`` is not ``t0 + i / rate``. The map keeps *segments* (a new one at every gap,
discontinuity, reconnect or clock reset), each a line ``t = t_k + (i - i_k) / rate_k`` fitted to
pairs ``(sample index, timestamp)``:

- ``"device"`` clocks (the source stamps its samples: GNU Radio ``rx_time``, LSL, a recording's
  own map) are fitted by least squares over a sliding window;
- ``"host"`` clocks (the arrival time of each block on this host: a TCP, UDP, serial or
  ZeroMQ peer) arrive late by a random, one-sided delay. The slope comes from least squares
  over the window and the offset from the *lower envelope* of the residuals (the block that
  waited least), as NTP does with its minimum-delay filter: the estimate sits at about
  ``mean_delay / n`` above the truth instead of ``mean_delay``;
- ``"nominal"``: no clock but the positions (files, simulators): ``t0 + i / rate``.

The window holds the last ``window`` pairs within ``time_constant`` seconds (30 s by default):
the fit follows a drifting rate with that time constant, and converges within a few seconds
(see ``docs/time.md`` for the bounds measured).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ._errors import ConfigurationError
from ._result import ResultMapping

__all__ = ["CLOCK_KINDS", "ClockKind", "ClockMap", "ClockSegment"]

ClockKind = Literal["nominal", "host", "device"]
CLOCK_KINDS: tuple[str, ...] = ("nominal", "host", "device")


@dataclass(frozen=True)
class ClockSegment(ResultMapping):
    """One straight piece of the clock map.

    Sample ``i >= start_index`` of this segment was taken at
    ``start_time + (i - start_index) / rate`` (POSIX seconds). ``rate`` is the fitted (actual)
    sample rate, ``uncertainty`` an estimate of the error of a time taken from the segment
    (seconds), ``pairs`` how many ``(index, timestamp)`` pairs it was fitted to, ``reason``
    why it began (``"start"``, ``"gap"``, ``"discontinuity"``, ``"reset"``).
    """

    start_index: int
    start_time: float
    rate: float
    uncertainty: float
    pairs: int
    reason: str


class _Fit:
    """The pairs of one segment and the line fitted to them: sample ``i`` at
    ``origin + a + (i - i0) * slope``; pairs are kept relative to ``(i0, origin)``."""

    __slots__ = ("a", "i0", "origin", "pairs", "since", "slope", "uncertainty", "x", "y")

    def __init__(self, i0: int, t: float, slope: float, window: int) -> None:
        self.i0 = i0
        self.origin = t
        self.a = 0.0
        self.slope = slope
        self.uncertainty = float("nan")
        self.x: deque[float] = deque(maxlen=window)  # index - i0
        self.y: deque[float] = deque(maxlen=window)  # timestamp - origin
        self.pairs = 0
        self.since = 0  # pairs since the last fit

    @property
    def t0(self) -> float:
        return self.origin + self.a

    @property
    def rate(self) -> float:
        return 1.0 / self.slope

    def time_of(self, index: int) -> float:
        return self.origin + self.a + (index - self.i0) * self.slope


class ClockMap:
    """Times of absolute sample indices for one stream; thread-safe (the acquisition thread
    adds pairs, any thread asks for times).

    ``kind``: see the module docs. ``t0``: the time of sample ``first_index`` until pairs say
    otherwise. ``reset_threshold`` (seconds): a pair this far from the fitted line (for a host
    clock: this far *early*; late is only delay) starts a new segment (a clock reset).
    ``max_drift``: a fitted rate further than this (relative) from the nominal one is not a
    drifting crystal but times that do not follow the samples (a sender bursting faster than
    real time): the segment keeps the nominal rate.
    """

    def __init__(
        self,
        nominal_rate: float,
        t0: float,
        *,
        kind: ClockKind = "nominal",
        first_index: int = 0,
        time_constant: float = 30.0,
        window: int = 2048,
        reset_threshold: float = 0.5,
        max_drift: float = 0.01,
    ) -> None:
        if kind not in CLOCK_KINDS:
            raise ConfigurationError(f"clock kind must be one of {CLOCK_KINDS}, got {kind!r}")
        if not nominal_rate > 0:
            raise ConfigurationError(f"nominal_rate must be > 0, got {nominal_rate!r}")
        self.kind = kind
        self.nominal_rate = float(nominal_rate)
        self.time_constant = float(time_constant)
        self.window = int(window)
        self.reset_threshold = float(reset_threshold)
        self.max_drift = float(max_drift)
        self._lock = threading.Lock()
        self._closed: list[ClockSegment] = []
        self._fit = _Fit(first_index, t0, 1.0 / self.nominal_rate, self.window)
        self._reason = "start"
        self._fresh = True  # no pair yet in the current segment

    # ------------------------------------------------------------------ feeding
    def add(self, index: int, timestamp: float) -> None:
        """A pair: sample ``index`` was taken (device) or had arrived (host) at ``timestamp``."""
        if self.kind == "nominal":
            return
        with self._lock:
            fit = self._fit
            if self._fresh:
                # the first pair anchors the segment (for a host clock, as an upper bound)
                fit.origin = timestamp - (index - fit.i0) * fit.slope
                fit.a = 0.0
                self._fresh = False
            else:
                early = fit.time_of(index) - timestamp
                if early > self.reset_threshold or (
                    self.kind == "device" and -early > self.reset_threshold
                ):
                    self._start(index, timestamp, "reset")
                    self._fresh = False
                    fit = self._fit
                    fit.origin = timestamp
            fit.x.append(float(index - fit.i0))
            fit.y.append(timestamp - fit.origin)
            fit.pairs += 1
            fit.since += 1
            # refit at every pair while the fit is young, then every 16th (O(window) each)
            if fit.pairs < 64 or fit.since >= 16:
                self._refit(fit)

    def break_segment(self, index: int, reason: str = "gap") -> None:
        """Samples may be missing before ``index``: the next pairs start a new segment (its
        rate starts from the last fitted one)."""
        with self._lock:
            self._start(index, self._fit.time_of(index), reason)
            self._fresh = True

    def _start(self, index: int, t: float, reason: str) -> None:
        old = self._fit
        self._refit(old)
        self._closed.append(self._segment(old, self._reason))
        slope = old.slope if old.pairs >= 2 else 1.0 / self.nominal_rate
        self._fit = _Fit(index, t, slope, self.window)
        self._reason = reason

    def _refit(self, fit: _Fit) -> None:
        fit.since = 0
        n = len(fit.x)
        if n < 2:
            return
        x = np.fromiter(fit.x, dtype=np.float64, count=n)
        y = np.fromiter(fit.y, dtype=np.float64, count=n)
        keep = x >= x[-1] - self.time_constant / fit.slope  # at most time_constant of signal
        if not keep.all():
            x, y = x[keep], y[keep]
            n = len(x)
            if n < 2:
                return
        xm, ym = float(x.mean()), float(y.mean())
        dx = x - xm
        sxx = float(dx @ dx)
        if sxx <= 0:
            return
        slope = float(dx @ (y - ym)) / sxx  # seconds per sample
        if not abs(slope * self.nominal_rate - 1.0) <= self.max_drift:
            # no crystal drifts this far: these times do not follow the samples (a burst, a
            # replay sent flat out); keep the nominal rate from the segment's anchor
            fit.a, fit.slope, fit.uncertainty = 0.0, 1.0 / self.nominal_rate, float("nan")
            return
        resid = y - (ym + slope * dx)
        if self.kind == "host":
            offset = float(resid.min())  # the block that waited least: the lower envelope
            uncertainty = float(np.median(resid) - offset) / np.sqrt(n)
        else:
            offset = 0.0
            uncertainty = float(resid.std()) / np.sqrt(n)
        fit.a = ym - slope * xm + offset
        fit.slope = slope
        fit.uncertainty = uncertainty

    # ------------------------------------------------------------------ reading
    def time_of(self, index: int) -> float:
        """The time (POSIX seconds) sample ``index`` was taken, from its segment."""
        with self._lock:
            fit = self._fit
            if index >= fit.i0 or not self._closed:
                return fit.time_of(index)
            for seg in reversed(self._closed):
                if index >= seg.start_index:
                    return seg.start_time + (index - seg.start_index) / seg.rate
            first = self._closed[0]
            return first.start_time + (index - first.start_index) / first.rate

    def current(self) -> ClockSegment:
        """The segment being fitted now."""
        with self._lock:
            return self._segment(self._fit, self._reason)

    def segments(self) -> list[ClockSegment]:
        """Every segment so far, the current one last."""
        with self._lock:
            return [*self._closed, self._segment(self._fit, self._reason)]

    @staticmethod
    def _segment(fit: _Fit, reason: str) -> ClockSegment:
        return ClockSegment(
            start_index=fit.i0,
            start_time=fit.t0,
            rate=fit.rate,
            uncertainty=fit.uncertainty,
            pairs=fit.pairs,
            reason=reason,
        )
