"""FrequencyCounter: frequency, period, duty cycle and edge counts from level crossings with
hysteresis, exact across chunk boundaries.

Edges are found by the vectorised Schmitt detector of :mod:`._trigger_core` (band
``level ± hysteresis/2``, crossing times interpolated at ``level``). The measurement is
reciprocal counting: over a measurement window the frequency is ``n_periods / (last rising
crossing - first rising crossing)``, the duty cycle the time spent high during those complete
periods over the same span. Every number depends only on the samples and their absolute
positions, never on how they were chunked: sums are folded sequentially (``np.add.accumulate``),
in event order.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._result import ResultMapping
from .._types import WaveformTrace
from ._base import (
    GapTracker,
    as_chunk,
    check_finite,
    check_int,
    check_nonnegative,
    check_positive,
)
from ._trigger_core import ChannelAnalyser, EdgeDetector

__all__ = ["FrequencyCounter", "FrequencyResult"]

#: Fraction of the calibration peak-to-peak used as hysteresis when ``hysteresis=None``.
AUTO_HYSTERESIS = 0.1


@dataclass(frozen=True)
class FrequencyResult(ResultMapping):
    """What a :class:`FrequencyCounter` measured (also readable as ``result["frequency"]``).

    For one measured channel each value is a Python scalar; with ``channel=None`` (every
    channel) each is a numpy array with one entry per channel (``edge_count`` then has shape
    ``(n_channels, 2)`` and ``last_edge_index`` is -1 where there was no edge).

    - ``frequency`` (Hz), ``period`` (s), ``duty_cycle`` (0..1, time high / period) over the
      measurement window: everything since ``reset()``, or the last completed gate when the
      counter has ``gate=``. NaN until a full period was seen in the window.
    - ``n_periods``: complete periods the figures above are measured over.
    - ``edge_count``: ``(rising, falling)`` edges since ``reset()``.
    - ``last_edge_index``: absolute index of the sample where the last edge was detected
      (None / -1 before any).
    - ``level``, ``hysteresis``: thresholds in use (NaN while still being estimated).
    - ``gate_index``: number of the last completed gate (gate ``g`` covers absolute samples
      ``[g * G, (g + 1) * G)``), None without gating or before the first gate completes.
    """

    frequency: Any
    period: Any
    duty_cycle: Any
    n_periods: Any
    edge_count: Any
    last_edge_index: Any
    level: Any
    hysteresis: Any
    gate_index: int | None


class _Window:
    """Accumulators of one measurement window (since reset, or one gate) for one channel."""

    __slots__ = ("first", "high", "last", "n_periods", "pending", "span_closed")

    def __init__(self) -> None:
        self.n_periods = 0
        self.span_closed = 0.0  # spans of segments closed by gaps
        self.first = math.nan  # first rising crossing of the open segment
        self.last = math.nan  # last rising crossing of the open segment
        self.high = 0.0  # time high over complete periods
        self.pending = math.nan  # time high of the period in progress (after its fall)

    def close_segment(self) -> None:
        """A gap: keep the complete periods measured so far, forget the half-seen one."""
        if not math.isnan(self.first):
            self.span_closed += self.last - self.first
        self.first = self.last = self.pending = math.nan

    def add(self, t: NDArray[np.float64], rising: NDArray[np.bool_]) -> None:
        """Fold alternating edges (times in samples) into the window, in order."""
        m = t.size
        if m == 0:
            return
        r_idx = np.flatnonzero(rising)
        f_idx = np.flatnonzero(~rising)
        hv = np.full(m, np.nan)
        if f_idx.size:
            prev_rise = t[np.maximum(f_idx - 1, 0)]
            if f_idx[0] == 0:
                prev_rise[0] = self.last
            hv[f_idx] = t[f_idx] - prev_rise
        if r_idx.size:
            committed = hv[np.maximum(r_idx - 1, 0)]
            if r_idx[0] == 0:
                committed[0] = self.pending
            has_prev = r_idx >= 2
            if not math.isnan(self.last):
                has_prev |= r_idx < 2
            self.n_periods += int(np.count_nonzero(has_prev))
            vals = committed[has_prev & ~np.isnan(committed)]
            if vals.size:
                self.high = float(np.add.accumulate(np.concatenate(([self.high], vals)))[-1])
            if math.isnan(self.first):
                self.first = float(t[r_idx[0]])
            self.last = float(t[r_idx[-1]])
        self.pending = math.nan if rising[-1] else float(hv[-1])

    def figures(self, rate: float) -> tuple[float, float, float, int]:
        """``(frequency Hz, period s, duty cycle, n_periods)``."""
        span = self.span_closed
        if not math.isnan(self.first):
            span += self.last - self.first
        if self.n_periods == 0 or not span > 0:
            return math.nan, math.nan, math.nan, self.n_periods
        freq = self.n_periods / span * rate
        return freq, span / (self.n_periods * rate), self.high / span, self.n_periods


class _Channel:
    __slots__ = ("det", "last_edge", "n_fall", "n_rise", "window")

    def __init__(self, level: float, hysteresis: float) -> None:
        self.det = EdgeDetector(level, hysteresis)
        self.window = _Window()
        self.n_rise = 0
        self.n_fall = 0
        self.last_edge = -1


class FrequencyCounter(ChannelAnalyser):
    """Frequency, period, duty cycle and edge counts of a live signal.

    Parameters (keyword-only):

    - ``level``: threshold in signal units. None: the midpoint ``(min + max) / 2`` of the
      first ``auto_samples`` samples since ``reset()`` (per channel); until that many samples
      were seen nothing is measured, then the buffered samples are measured too, so the
      result does not depend on chunking.
    - ``hysteresis`` (>= 0, signal units): an edge counts only once the signal went beyond
      ``level ± hysteresis/2`` on the other side; the edge time is the last crossing of
      ``level`` before that, interpolated between the two samples around it. None:
      ``0.1 * (max - min)`` of the first ``auto_samples`` samples.
    - ``gate``: None measures over everything since ``reset()``; a duration in seconds
      measures per gate (gates are aligned on absolute sample indices, ``round(gate * rate)``
      samples long; an edge belongs to the gate where it is detected) and reports the last
      completed gate.
    - ``sample_rate``: Hz; None takes the stream's (``attach(info)``), else the first chunk's
      (the rule of every analyser; a chunk at another rate is refused).
    - ``channel``: which column of ``(n, channels)`` chunks to measure; None measures every
      channel (results become per-channel arrays).

    Gaps (a jump in ``start_index`` or a chunk flagged ``discontinuity``) reset the edge state:
    the half-seen edge and the period in progress are dropped, the complete periods measured
    before the gap are kept, and nothing is spliced across it (the time of the gap is not
    counted). Not thread-safe: update and read from one thread (the stream's consumer).

    Example:
        >>> import numpy as np
        >>> from livetrace.analysis import FrequencyCounter
        >>> fc = FrequencyCounter(level=0.0, hysteresis=0.1, sample_rate=1e6)
        >>> x = np.sin(2 * np.pi * 1e3 * np.arange(100_000) / 1e6)
        >>> fc.update(x[:30_000]); fc.update(x[30_000:])
        >>> r = fc.result
        >>> round(r.frequency, 6), round(r.duty_cycle, 6), r.edge_count  # no edge at sample 0
        (1000.0, 0.5, (99, 100))
    """

    def __init__(
        self,
        *,
        level: float | None = None,
        hysteresis: float | None = None,
        gate: float | None = None,
        sample_rate: float | None = None,
        channel: int | None = 0,
        auto_samples: int = 65536,
        name: str = "frequency",
    ) -> None:
        super().__init__(sample_rate=sample_rate, channel=channel, name=name)
        if level is not None:
            level = check_finite("level", level, " (signal units) or None")
        if hysteresis is not None:
            hysteresis = check_nonnegative("hysteresis", hysteresis, " (signal units)")
        gate = check_positive("gate", gate, " (seconds) or None", allow_none=True)
        self.level = level
        self.hysteresis = hysteresis
        self.gate = gate
        self.auto_samples = check_int("auto_samples", auto_samples, 2)
        self.reset()

    def reset(self) -> None:
        """Forget every sample and edge: as freshly constructed (and attached)."""
        self._reset_rate()
        self._gap = GapTracker()
        self._chans: list[_Channel] | None = None
        self._calib: list[tuple[NDArray[Any], int, bool]] = []
        self._calib_n = 0
        self._gate_n: int | None = None
        self._cur_gate: int | None = None
        self._gate_figures: list[tuple[float, float, float, int]] | None = None
        self._last_gate: int | None = None

    # ---------------------------------------------------------------- update
    def update(self, chunk: WaveformTrace | NDArray[Any]) -> None:
        """Measure the samples of ``chunk`` (a WaveformTrace or an array, 1-D or (n, C))."""
        view = as_chunk(chunk)
        data = view.data
        if data.shape[0] == 0:
            return
        self._check_chunk(view.sample_rate, data)
        start = self._gap.start_of(view)
        gap = self._gap.check(view)
        if self._chans is None:
            if self.level is not None and self.hysteresis is not None:
                self._setup(data.shape[1], None)
            else:
                self._calibrate(data, start, gap)
                return
        self._process(data, start, gap)

    def _columns(self, n_ch: int) -> list[int]:
        return list(range(n_ch)) if self.channel is None else [self.channel]

    def _setup(self, n_ch: int, calib: NDArray[Any] | None) -> None:
        cols = self._columns(n_ch)
        chans = []
        for c in cols:
            level, hyst = self.level, self.hysteresis
            if calib is not None:
                col = calib[:, c].astype(np.float64)
                lo, hi = float(np.min(col)), float(np.max(col))
                if level is None:
                    level = (lo + hi) / 2.0
                if hyst is None:
                    hyst = AUTO_HYSTERESIS * (hi - lo)
            assert level is not None and hyst is not None
            chans.append(_Channel(level, hyst))
        self._chans = chans
        rate = self._rate.value
        assert rate is not None
        if self.gate is not None:
            self._gate_n = max(1, round(self.gate * rate))

    def _calibrate(self, data: NDArray[Any], start: int, gap: bool) -> None:
        """Buffer chunks until ``auto_samples`` samples were seen, then set the thresholds
        from exactly the first ``auto_samples`` and measure the buffered chunks in order."""
        self._calib.append((np.array(data, copy=True), start, gap))
        self._calib_n += data.shape[0]
        if self._calib_n < self.auto_samples:
            return
        first = np.concatenate([d for d, _, _ in self._calib])[: self.auto_samples]
        self._setup(data.shape[1], first)
        pending = self._calib
        self._calib = []
        for d, s, g in pending:
            self._process(d, s, g)

    def _process(self, data: NDArray[Any], start: int, gap: bool) -> None:
        chans = self._chans
        assert chans is not None
        cols = self._columns(data.shape[1])
        if gap:
            for ch in chans:
                ch.det.reset()
                ch.window.close_segment()
        end = start + data.shape[0]
        gate_n = self._gate_n
        bounds: NDArray[np.int64] | None = None
        if gate_n is not None:
            if self._cur_gate is None:
                self._cur_gate = start // gate_n
            self._skip_gates(start, gate_n)
            cur = self._cur_gate
            assert cur is not None
            bounds = np.arange(cur + 1, end // gate_n + 1, dtype=np.int64) * gate_n
        pieces: list[list[tuple[NDArray[np.float64], NDArray[np.bool_]]]] = []
        for c, ch in zip(cols, chans, strict=True):
            j, rising, t = ch.det.detect(ch.det.column(data, c), start)
            if j.size:
                nr = int(np.count_nonzero(rising))
                ch.n_rise += nr
                ch.n_fall += j.size - nr
                ch.last_edge = int(j[-1])
            if bounds is None:
                ch.window.add(t, rising)
            else:
                cuts = [0, *np.searchsorted(j, bounds, side="left").tolist(), j.size]
                pieces.append([(t[a:b], rising[a:b]) for a, b in itertools.pairwise(cuts)])
        if bounds is not None:
            for k in range(bounds.size + 1):
                for ch, piece in zip(chans, pieces, strict=True):
                    ch.window.add(*piece[k])
                if k < bounds.size:
                    self._finish_gate()

    def _finish_gate(self) -> None:
        chans = self._chans
        rate = self._rate.value
        assert chans is not None and rate is not None and self._cur_gate is not None
        self._gate_figures = [ch.window.figures(rate) for ch in chans]
        self._last_gate = self._cur_gate
        self._cur_gate += 1
        for ch in chans:
            ch.window = _Window()

    def _skip_gates(self, start: int, gate_n: int) -> None:
        """Complete the gates that ended before ``start`` (only after a gap)."""
        cur = self._cur_gate
        assert cur is not None
        if (cur + 1) * gate_n > start:
            return
        self._finish_gate()
        target = start // gate_n
        if self._cur_gate is not None and self._cur_gate < target:
            # whole gates with no samples at all: the last completed one measured nothing
            self._cur_gate = target - 1
            self._finish_gate()

    # ---------------------------------------------------------------- result
    @property
    def result(self) -> FrequencyResult:
        """The current measurement; see :class:`FrequencyResult`."""
        chans = self._chans
        n_out = 1 if self.channel is not None else (self._n_channels or 1)
        nan = math.nan
        if chans is None:
            figs = [(nan, nan, nan, 0)] * n_out
            edges = [(0, 0)] * n_out
            last = [-1] * n_out
            levels = [nan if self.level is None else self.level] * n_out
            hyst = [nan if self.hysteresis is None else self.hysteresis] * n_out
        else:
            rate = self._rate.value
            assert rate is not None
            if self._gate_n is None:
                figs = [ch.window.figures(rate) for ch in chans]
            else:
                figs = self._gate_figures or [(nan, nan, nan, 0)] * len(chans)
            edges = [(ch.n_rise, ch.n_fall) for ch in chans]
            last = [ch.last_edge for ch in chans]
            levels = [ch.det.level for ch in chans]
            hyst = [ch.det.hysteresis for ch in chans]
        if self.channel is not None:
            f, p, d, n = figs[0]
            return FrequencyResult(
                frequency=f,
                period=p,
                duty_cycle=d,
                n_periods=n,
                edge_count=edges[0],
                last_edge_index=None if last[0] < 0 else last[0],
                level=levels[0],
                hysteresis=hyst[0],
                gate_index=self._last_gate,
            )
        arr = np.array(figs, dtype=np.float64).reshape(-1, 4)
        return FrequencyResult(
            frequency=arr[:, 0],
            period=arr[:, 1],
            duty_cycle=arr[:, 2],
            n_periods=arr[:, 3].astype(np.int64),
            edge_count=np.array(edges, dtype=np.int64).reshape(-1, 2),
            last_edge_index=np.array(last, dtype=np.int64),
            level=np.array(levels, dtype=np.float64),
            hysteresis=np.array(hyst, dtype=np.float64),
            gate_index=self._last_gate,
        )

    def __repr__(self) -> str:
        return (
            f"FrequencyCounter(level={self.level!r}, hysteresis={self.hysteresis!r}, "
            f"gate={self.gate!r}, sample_rate={self.sample_rate!r}, channel={self.channel!r})"
        )
