"""Pulse measurements on one captured frame (IEEE 181 style, simplified).

State levels: ``base`` and ``top`` are the medians of the samples below and above the midpoint
``(min + max) / 2``; ``amplitude = top - base``. Reference levels 10 %, 50 % and 90 % are
``base + {0.1, 0.5, 0.9} * amplitude``; every crossing time is interpolated linearly between
the two samples around the level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .._result import ResultMapping

__all__ = ["FrameMeasurements", "measure_frame"]


@dataclass(frozen=True)
class FrameMeasurements(ResultMapping):
    """Measurements of a frame's trigger channel; NaN where not measurable.

    - ``base``, ``top``: low and high state levels; ``amplitude = top - base``.
    - ``peak_to_peak``: ``max - min``; ``rms``: root mean square of the samples.
    - ``rise_time`` / ``fall_time`` (s): 10 % → 90 % (90 % → 10 %) of the rising (falling)
      edge whose 50 % crossing is nearest the trigger point.
    - ``overshoot`` (%): ``(max - top) / amplitude * 100``.
    - ``pulse_width`` (s): time between the first two 50 % crossings in the frame (the first
      complete pulse, positive if its first crossing is rising).
    """

    base: float
    top: float
    amplitude: float
    peak_to_peak: float
    rms: float
    rise_time: float
    fall_time: float
    overshoot: float
    pulse_width: float


def _crossings(y: NDArray[np.float64], level: float, rising: bool) -> NDArray[np.float64]:
    """Interpolated positions (in samples from ``y[0]``) where ``y`` crosses ``level``."""
    g = y > level
    k = np.flatnonzero((g[1:] & ~g[:-1]) if rising else (g[:-1] & ~g[1:])) + 1
    before = y[k - 1]
    return (k - 1) + (level - before) / (y[k] - before)


def _edge_time(
    y: NDArray[np.float64], ref: float, lo: float, mid: float, hi: float, rising: bool
) -> float:
    """10-90 % duration (samples) of the edge whose ``mid`` crossing is nearest ``ref``."""
    c50 = _crossings(y, mid, rising)
    if c50.size == 0:
        return math.nan
    c = float(c50[np.argmin(np.abs(c50 - ref))])
    start_level, end_level = (lo, hi) if rising else (hi, lo)
    c_start = _crossings(y, start_level, rising)
    c_end = _crossings(y, end_level, rising)
    before = c_start[c_start <= c]
    after = c_end[c_end >= c]
    if before.size == 0 or after.size == 0:
        return math.nan
    return float(after[0] - before[-1])


def measure_frame(y: NDArray[np.float64], trigger_pos: float, rate: float) -> FrameMeasurements:
    """Measure one channel of a frame; ``trigger_pos`` is the trigger point in samples from
    ``y[0]`` and ``rate`` the sample rate (Hz)."""
    nan = math.nan
    if y.size < 2 or not np.isfinite(y).all():
        return FrameMeasurements(nan, nan, nan, nan, nan, nan, nan, nan, nan)
    mn = float(y.min())
    mx = float(y.max())
    rms = float(np.sqrt(np.mean(y * y)))
    p2p = mx - mn
    if not p2p > 0:
        return FrameMeasurements(mn, mx, 0.0, p2p, rms, nan, nan, nan, nan)
    half = (mn + mx) / 2.0
    upper = y > half
    top = float(np.median(y[upper]))
    base = float(np.median(y[~upper]))
    amp = top - base
    if not amp > 0:
        return FrameMeasurements(base, top, amp, p2p, rms, nan, nan, nan, nan)
    lo = base + 0.1 * amp
    mid = base + 0.5 * amp
    hi = base + 0.9 * amp
    rise = _edge_time(y, trigger_pos, lo, mid, hi, True) / rate
    fall = _edge_time(y, trigger_pos, lo, mid, hi, False) / rate
    overshoot = (mx - top) / amp * 100.0
    ups = _crossings(y, mid, True)
    dns = _crossings(y, mid, False)
    both = np.sort(np.concatenate((ups, dns)))
    width = float(both[1] - both[0]) / rate if both.size >= 2 else nan
    return FrameMeasurements(base, top, amp, p2p, rms, rise, fall, overshoot, width)
