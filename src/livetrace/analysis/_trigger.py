"""Oscilloscope triggers on a live stream: edge, pulse width, glitch, runt and window, with
holdoff, auto / normal / single modes, and pre/post-trigger capture across chunk boundaries.

How a trigger works, per chunk:

1. *Detection* (vectorised, state carried across chunks): the trigger condition is evaluated
   on the source channel and gives candidate events, each with the absolute index of the sample
   where the condition became true (``trigger_index``) and an interpolated trigger time.
2. *Acceptance* (sequential, one Python step per accepted event, never per sample): a candidate
   is accepted if the trigger is armed, at least ``pre`` samples were seen since ``reset()`` or
   the last gap (the pre-trigger history is complete), and ``trigger_index >= previous trigger
   index + holdoff``. ``mode="single"`` disarms after one frame until :meth:`rearm`;
   ``mode="auto"`` also forces an untriggered frame ``auto_timeout`` after the last frame (or
   after arming) when nothing triggered.
3. *Capture*: each accepted trigger opens a frame of samples ``[trigger_index - pre,
   trigger_index + post)`` of every channel, filled from a history ring (the samples before
   the chunk) and from the following chunks; it is queued when complete.

Gaps (a jump in ``start_index`` or a chunk flagged ``discontinuity``) are never spliced over:
the detector forgets its half-seen state (a pending crossing, a half-seen pulse), frames still
being filled are abandoned and counted in ``n_lost``, the history restarts empty (so no
trigger until ``pre`` samples after the gap).
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError
from .._result import ResultMapping
from .._types import WaveformTrace
from ._base import (
    GapTracker,
    as_chunk,
    check_choice,
    check_finite,
    check_int,
    check_nonnegative,
    check_positive,
)
from ._measure import FrameMeasurements, measure_frame
from ._trigger_core import ChannelAnalyser, EdgeDetector, column_f64, crossing_times

__all__ = [
    "EdgeTrigger",
    "GlitchTrigger",
    "PulseWidthTrigger",
    "RuntTrigger",
    "TriggerFrame",
    "TriggerResult",
    "WindowTrigger",
]

MODES: tuple[str, ...] = ("auto", "normal", "single")
DEFAULT_MAX_CAPTURE = 10_000_000

_EMPTY_I = np.empty(0, dtype=np.int64)
_EMPTY_F = np.empty(0, dtype=np.float64)


class _Measured:
    """A read-only attribute of :class:`TriggerFrame` taken from its cached
    :class:`FrameMeasurements` field of the same name."""

    def __init__(self, doc: str) -> None:
        self.__doc__ = doc
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, frame: None, owner: type | None = None) -> _Measured: ...
    @overload
    def __get__(self, frame: TriggerFrame, owner: type | None = None) -> float: ...
    def __get__(self, frame: TriggerFrame | None, owner: type | None = None) -> _Measured | float:
        if frame is None:
            return self
        value: float = getattr(frame.measurements, self._name)
        return value


@dataclass(frozen=True, eq=False)
class TriggerFrame(ResultMapping):
    """One captured frame (also readable as ``frame["trigger_index"]``).

    - ``data``: ``(pre + post, n_channels)`` samples of every channel, in the chunks' dtype;
      ``data[pre]`` is the sample at ``trigger_index``.
    - ``trigger_index``: absolute index of the sample where the trigger condition became true;
      ``start_index = trigger_index - pre`` is the absolute index of ``data[0]``.
    - ``trigger_time``: interpolated time of the trigger point in seconds from sample 0
      (``position / sample_rate``); ``wall_time``: the same on the stream's wall clock (POSIX
      seconds), None when the chunks carry no ``start_time``.
    - ``trigger_position``: the trigger point in samples from ``data[0]`` (fractional).
    - ``forced``: True for a frame forced by ``mode="auto"`` (no trigger).

    Measurements of the trigger channel (see :class:`FrameMeasurements`) are computed on first
    access and cached: ``amplitude``, ``peak_to_peak``, ``rms``, ``rise_time``, ``fall_time``,
    ``overshoot``, ``pulse_width`` (NaN when not measurable).
    """

    trigger_index: int
    trigger_time: float
    wall_time: float | None
    start_index: int
    data: NDArray[Any] = field(repr=False)
    forced: bool
    pre: int
    trigger_position: float
    sample_rate: float
    channel: int

    @cached_property
    def measurements(self) -> FrameMeasurements:
        """Measurements of the trigger channel (computed once)."""
        y = np.asarray(self.data[:, self.channel], dtype=np.float64)
        return measure_frame(y, self.trigger_position, self.sample_rate)

    amplitude = _Measured("``top - base`` state levels (signal units).")
    peak_to_peak = _Measured("``max - min`` (signal units).")
    rms = _Measured("Root mean square of the trigger channel (signal units).")
    rise_time = _Measured(
        "10-90 % rise time in seconds of the rising edge nearest the trigger point."
    )
    fall_time = _Measured(
        "90-10 % fall time in seconds of the falling edge nearest the trigger point."
    )
    overshoot = _Measured("Overshoot in % of the amplitude.")
    pulse_width = _Measured("Width at 50 % of the first complete pulse in the frame (seconds).")


@dataclass(frozen=True)
class TriggerResult(ResultMapping):
    """State of a trigger (also readable as ``result["n_triggers"]``).

    - ``frames``: completed frames not yet taken with ``take()`` (oldest first, at most
      ``max_frames``; older ones are dropped and counted in ``n_dropped``).
    - ``last_frame``: the most recent completed frame (kept after ``take()``), or None.
    - ``n_triggers``: accepted trigger events since ``reset()`` (forced frames excluded).
    - ``n_forced``: frames forced by ``mode="auto"``.
    - ``n_frames``: frames completed since ``reset()``.
    - ``n_dropped``: completed frames dropped because the queue was full.
    - ``n_lost``: frames abandoned unfinished because of a gap in the stream.
    - ``armed``: False once a ``mode="single"`` trigger has fired (until ``rearm()``).
    """

    frames: tuple[TriggerFrame, ...]
    last_frame: TriggerFrame | None
    n_triggers: int
    n_forced: int
    n_frames: int
    n_dropped: int
    n_lost: int
    armed: bool


class _Pending:
    __slots__ = ("buf", "end", "filled", "forced", "index", "t", "wall")

    def __init__(
        self, buf: NDArray[Any], index: int, t: float, end: int, forced: bool, wall: float | None
    ) -> None:
        self.buf = buf
        self.index = index
        self.t = t
        self.end = end
        self.filled = 0
        self.forced = forced
        self.wall = wall


class _Trigger(ChannelAnalyser):
    """Common part of every trigger: acceptance, holdoff, modes, capture and the frame queue.

    Subclasses implement ``_detect(x, start) -> (indices, times)`` (absolute int64 sample
    indices, increasing, and absolute float64 times in samples) and ``_reset_detector()``.
    """

    def __init__(
        self,
        *,
        pre: int = 500,
        post: int = 500,
        holdoff: float = 0.0,
        mode: str = "normal",
        auto_timeout: float = 0.1,
        max_frames: int = 64,
        max_capture: int = DEFAULT_MAX_CAPTURE,
        channel: int = 0,
        sample_rate: float | None = None,
        name: str = "trigger",
    ) -> None:
        super().__init__(sample_rate=sample_rate, channel=channel, name=name)
        pre = check_int("pre", pre, 0, " (samples)")
        post = check_int("post", post, 0, " (samples)")
        max_capture = check_int("max_capture", max_capture, 1, " (samples)")
        if pre + post < 1:
            raise ConfigurationError("pre + post must be >= 1 sample, got pre=0 and post=0")
        if pre + post > max_capture:
            raise ConfigurationError(
                f"pre + post = {pre + post} samples per frame exceeds max_capture={max_capture}"
                " samples; capture fewer samples or raise max_capture deliberately"
            )
        self.holdoff = check_nonnegative("holdoff", holdoff, " (seconds)")
        self.mode = check_choice("mode", mode, MODES)
        self.auto_timeout: float = check_positive("auto_timeout", auto_timeout, " (seconds)")
        self.max_frames = check_int("max_frames", max_frames, 1)
        self.pre = pre
        self.post = post
        self.max_capture = max_capture
        self.channel: int = channel

    # ---------------------------------------------------------------- state
    def reset(self) -> None:
        """Forget everything: as freshly constructed (and attached), armed."""
        self._reset_rate()
        self._reset_detector()
        self._gap = GapTracker()
        self._queue: deque[TriggerFrame] = deque()
        self._pending: deque[_Pending] = deque()
        self._last_frame: TriggerFrame | None = None
        self._ring: NDArray[Any] | None = None
        self._hist_n = 0
        self._seg_start: int | None = None
        self._anchor = 0  # index the auto timeout counts from
        self._next_allowed = -math.inf
        self._armed = True
        self._n_triggers = 0
        self._n_forced = 0
        self._n_frames = 0
        self._n_dropped = 0
        self._n_lost = 0

    def _reset_detector(self) -> None:
        raise NotImplementedError

    def _detect(
        self, x: NDArray[np.float64], start: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        raise NotImplementedError

    def rearm(self) -> None:
        """Arm again after a ``mode="single"`` trigger fired (the auto timeout restarts)."""
        self._armed = True
        if self._gap.position is not None:
            self._anchor = max(self._anchor, self._gap.position)

    def take(self) -> list[TriggerFrame]:
        """Return the completed frames (oldest first) and clear the queue."""
        frames = list(self._queue)
        self._queue.clear()
        return frames

    @property
    def result(self) -> TriggerResult:
        """Frames and counters; see :class:`TriggerResult`."""
        return TriggerResult(
            frames=tuple(self._queue),
            last_frame=self._last_frame,
            n_triggers=self._n_triggers,
            n_forced=self._n_forced,
            n_frames=self._n_frames,
            n_dropped=self._n_dropped,
            n_lost=self._n_lost,
            armed=self._armed,
        )

    # ---------------------------------------------------------------- update
    def update(self, chunk: WaveformTrace | NDArray[Any]) -> None:
        """Look for triggers in ``chunk`` (WaveformTrace or array, 1-D or (n, C)), fill the
        frames in progress, and queue the frames that are complete."""
        view = as_chunk(chunk)
        data = view.data
        n = data.shape[0]
        if n == 0:
            return
        rate = self._check_chunk(view.sample_rate, data)
        start = self._gap.start_of(view)
        gap = self._gap.check(view)
        if self._seg_start is None or gap:
            self._new_segment(start, gap)
        if self._ring is None and self.pre:
            self._ring = np.empty((self.pre, data.shape[1]), dtype=data.dtype)
        wall0: float | None = None
        if isinstance(chunk, WaveformTrace) and chunk.metadata.start_time is not None:
            wall0 = float(chunk.metadata.start_time)
        idx, t = self._detect(column_f64(data, self.channel), start)
        self._accept(idx, t, data, start, rate, wall0)
        self._fill(data, start, rate)
        self._remember(data, start)

    def _new_segment(self, start: int, gap: bool) -> None:
        if gap:
            self._reset_detector()
            self._n_lost += len(self._pending)
            self._pending.clear()
        self._seg_start = start
        self._hist_n = 0
        self._anchor = start + self.pre

    def _accept(
        self,
        idx: NDArray[np.int64],
        t: NDArray[np.float64],
        data: NDArray[Any],
        start: int,
        rate: float,
        wall0: float | None,
    ) -> None:
        assert self._seg_start is not None
        end = start + data.shape[0]
        armed_from = self._seg_start + self.pre
        holdoff_n = self.holdoff * rate
        auto = self.mode == "auto"
        single = self.mode == "single"
        timeout_n = max(1, round(self.auto_timeout * rate))
        m = idx.size
        cands: list[int] = idx.tolist()
        times: list[float] = t.tolist()
        i = 0
        while self._armed:
            lo = max(self._next_allowed, armed_from)
            if i < m and cands[i] < lo:
                i = bisect.bisect_left(cands, math.ceil(lo), i)
            cand = cands[i] if i < m else None
            if auto:
                forced_at = self._anchor + timeout_n
                if forced_at < end and (cand is None or forced_at < cand):
                    self._open(forced_at, float(forced_at), True, data, start, rate, wall0)
                    self._n_forced += 1
                    self._next_allowed = forced_at + holdoff_n
                    if single:
                        self._armed = False
                    continue
            if cand is None:
                break
            self._open(cand, times[i], False, data, start, rate, wall0)
            self._n_triggers += 1
            self._next_allowed = cand + holdoff_n
            i += 1
            if single:
                self._armed = False

    def _open(
        self,
        index: int,
        t: float,
        forced: bool,
        data: NDArray[Any],
        start: int,
        rate: float,
        wall0: float | None,
    ) -> None:
        """Start a frame for a trigger at ``index``: copy its pre-trigger part from history."""
        self._anchor = index
        first = index - self.pre
        buf = np.empty((self.pre + self.post, data.shape[1]), dtype=data.dtype)
        frame = _Pending(buf, index, t, index + self.post, forced, None)
        if wall0 is not None:
            frame.wall = wall0 + (t - start) / rate
        if first < start:
            self._read_history(first, start, buf[: start - first])
            frame.filled = start - first
        self._pending.append(frame)

    def _read_history(self, a: int, b: int, out: NDArray[Any]) -> None:
        ring = self._ring
        assert ring is not None and b - a <= self._hist_n
        cap = ring.shape[0]
        pa = a % cap
        k = min(b - a, cap - pa)
        out[:k] = ring[pa : pa + k]
        out[k:] = ring[: b - a - k]

    def _remember(self, data: NDArray[Any], start: int) -> None:
        """Keep the last ``pre`` samples for the pre-trigger part of later frames."""
        ring = self._ring
        if ring is None:
            return
        cap = ring.shape[0]
        n = data.shape[0]
        m = min(n, cap)
        pa = (start + n - m) % cap
        k = min(m, cap - pa)
        ring[pa : pa + k] = data[n - m : n - m + k]
        ring[: m - k] = data[n - m + k :]
        self._hist_n = min(cap, self._hist_n + n)

    def _fill(self, data: NDArray[Any], start: int, rate: float) -> None:
        """Copy this chunk's part of every frame in progress; queue the completed ones.

        Frames in progress are ordered by trigger index and all have the same length, so
        they complete in order: one pass to fill, then pop the completed ones from the head.
        """
        end = start + data.shape[0]
        pending = self._pending
        if not pending:
            return
        pre = self.pre
        for frame in pending:
            first = frame.index - pre
            a = first + frame.filled
            if a >= end:
                break
            b = min(frame.end, end)
            if b > a:
                frame.buf[a - first : b - first] = data[a - start : b - start]
                frame.filled = b - first
        while pending and pending[0].end <= end:
            self._complete(pending.popleft(), rate)

    def _complete(self, p: _Pending, rate: float) -> None:
        first = p.index - self.pre
        frame = TriggerFrame(
            trigger_index=p.index,
            trigger_time=p.t / rate,
            wall_time=p.wall,
            start_index=first,
            data=p.buf,
            forced=p.forced,
            pre=self.pre,
            trigger_position=p.t - first,
            sample_rate=rate,
            channel=self.channel,
        )
        if len(self._queue) >= self.max_frames:
            self._queue.popleft()
            self._n_dropped += 1
        self._queue.append(frame)
        self._last_frame = frame
        self._n_frames += 1

    def _common_repr(self) -> str:
        return (
            f"pre={self.pre}, post={self.post}, holdoff={self.holdoff!r}, mode={self.mode!r}, "
            f"channel={self.channel}"
        )


def _low_high(low: Any, high: Any) -> tuple[float, float]:
    lo = check_finite("low", low, " (signal units)")
    hi = check_finite("high", high, " (signal units)")
    if not lo < hi:
        raise ConfigurationError(f"low must be < high, got low={low!r} and high={high!r}")
    return lo, hi


class EdgeTrigger(_Trigger):
    """Trigger on a level crossing: ``slope="rising"``, ``"falling"`` or ``"either"``.

    ``level`` in signal units; ``hysteresis`` (>= 0, signal units) is the Schmitt band
    ``level ± hysteresis/2`` of :class:`FrequencyCounter`: a rising edge triggers at the first
    sample above ``level + hysteresis/2`` once the signal was below ``level - hysteresis/2``
    (``trigger_index``); ``trigger_time`` is the interpolated crossing of ``level`` before it.

    Common keywords of every trigger: ``pre`` / ``post`` (samples captured before / from the
    trigger sample; ``pre + post <= max_capture``), ``holdoff`` (seconds after a trigger during
    which no new trigger is accepted), ``mode`` (``"normal"``; ``"single"``: one frame, then
    disarmed until :meth:`rearm`; ``"auto"``: a ``forced`` frame ``auto_timeout`` seconds after
    the last frame when nothing triggered), ``max_frames`` (queue length; older frames are
    dropped and counted), ``channel`` (trigger source; frames capture every channel),
    ``sample_rate`` (None: from the chunks or ``attach``), ``name``.

    Example:
        >>> import numpy as np
        >>> from livetrace.analysis import EdgeTrigger
        >>> trig = EdgeTrigger(level=0.0, pre=2, post=3, sample_rate=1000.0)
        >>> x = np.array([-1.0, -1.0, -1.0, 1.0, 1.0, 1.0, -1.0, -1.0])
        >>> trig.update(x[:4]); trig.update(x[4:])
        >>> [(f.trigger_index, f.trigger_time, f.data[:, 0].tolist()) for f in trig.take()]
        [(3, 0.0025, [-1.0, -1.0, 1.0, 1.0, 1.0])]
    """

    def __init__(
        self,
        *,
        level: float,
        slope: str = "rising",
        hysteresis: float = 0.0,
        name: str = "edge_trigger",
        **common: Any,
    ) -> None:
        super().__init__(name=name, **common)
        self.level = check_finite("level", level, " (signal units)")
        self.slope = check_choice("slope", slope, ("rising", "falling", "either"))
        self.hysteresis = check_nonnegative("hysteresis", hysteresis, " (signal units)")
        self._det = EdgeDetector(self.level, self.hysteresis)
        self.reset()

    def _reset_detector(self) -> None:
        self._det.reset()

    def _detect(
        self, x: NDArray[np.float64], start: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        j, rising, t = self._det.detect(x, start)
        if self.slope == "either":
            return j, t
        keep = rising if self.slope == "rising" else ~rising
        return j[keep], t[keep]

    def __repr__(self) -> str:
        return (
            f"EdgeTrigger(level={self.level!r}, slope={self.slope!r}, "
            f"hysteresis={self.hysteresis!r}, {self._common_repr()})"
        )


CONDITIONS: tuple[str, ...] = ("<", ">", "inside", "outside")


class PulseWidthTrigger(_Trigger):
    """Trigger on a pulse whose width (in **seconds**, measured at ``level`` between the
    interpolated crossings) meets ``condition``.

    - ``polarity``: ``"positive"`` (rise then fall), ``"negative"`` (fall then rise) or
      ``"either"``.
    - ``condition``: ``"<"`` / ``">"`` compare with ``width``; ``"inside"`` means
      ``min_width < w < max_width`` and ``"outside"`` means ``w < min_width or w > max_width``.
    - The trigger point is the pulse's ending edge (the width is known only then):
      ``trigger_index`` is the sample where that edge is detected, ``trigger_time`` its
      interpolated level crossing.
    - ``hysteresis``: Schmitt band as in :class:`EdgeTrigger`.

    Common keywords (``pre``, ``post``, ``holdoff``, ``mode``...): see :class:`EdgeTrigger`.
    A pulse cut by a gap is not measured.
    """

    def __init__(
        self,
        *,
        level: float,
        polarity: str = "positive",
        condition: str = "<",
        width: float | None = None,
        min_width: float | None = None,
        max_width: float | None = None,
        hysteresis: float = 0.0,
        name: str = "pulse_width_trigger",
        **common: Any,
    ) -> None:
        super().__init__(name=name, **common)
        self.level = check_finite("level", level, " (signal units)")
        self.polarity = check_choice("polarity", polarity, ("positive", "negative", "either"))
        self.condition = check_choice("condition", condition, CONDITIONS)
        self.hysteresis = check_nonnegative("hysteresis", hysteresis, " (signal units)")
        if condition in ("<", ">"):
            if width is None or min_width is not None or max_width is not None:
                raise ConfigurationError(
                    f"condition {condition!r} takes width= (seconds) only, got width={width!r},"
                    f" min_width={min_width!r}, max_width={max_width!r}"
                )
            self.width: float | None = check_nonnegative("width", width, " (seconds)")
            self.min_width: float | None = None
            self.max_width: float | None = None
        else:
            if min_width is None or max_width is None or width is not None:
                raise ConfigurationError(
                    f"condition {condition!r} takes min_width= and max_width= (seconds), got "
                    f"width={width!r}, min_width={min_width!r}, max_width={max_width!r}"
                )
            self.width = None
            self.min_width = check_nonnegative("min_width", min_width, " (seconds)")
            self.max_width = check_nonnegative("max_width", max_width, " (seconds)")
            if not self.min_width < self.max_width:
                raise ConfigurationError(
                    f"min_width must be < max_width, got {min_width!r} and {max_width!r}"
                )
        self._det = EdgeDetector(self.level, self.hysteresis)
        self.reset()

    def _reset_detector(self) -> None:
        self._det.reset()
        self._last_t = math.nan

    def _detect(
        self, x: NDArray[np.float64], start: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        j, rising, t = self._det.detect(x, start)
        if j.size == 0:
            return _EMPTY_I, _EMPTY_F
        prev = np.empty_like(t)
        prev[0] = self._last_t
        prev[1:] = t[:-1]
        self._last_t = float(t[-1])
        w = t - prev  # samples; NaN for a pulse whose start was not seen
        rate = self._rate.value
        assert rate is not None
        cond = self.condition
        if cond == "<":
            ok = w < self.width * rate  # type: ignore[operator]  # width is set for "<"
        elif cond == ">":
            ok = w > self.width * rate  # type: ignore[operator]  # width is set for ">"
        else:
            lo = self.min_width * rate  # type: ignore[operator]  # set for inside/outside
            hi = self.max_width * rate  # type: ignore[operator]  # set for inside/outside
            ok = (w > lo) & (w < hi) if cond == "inside" else (w < lo) | (w > hi)
        if self.polarity == "positive":
            ok &= ~rising
        elif self.polarity == "negative":
            ok &= rising
        return j[ok], t[ok]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(level={self.level!r}, polarity={self.polarity!r}, "
            f"condition={self.condition!r}, width={self.width!r}, min_width={self.min_width!r},"
            f" max_width={self.max_width!r}, {self._common_repr()})"
        )


class GlitchTrigger(PulseWidthTrigger):
    """Trigger on a glitch: a pulse narrower than ``width`` seconds (``polarity`` defaults to
    ``"either"``). Same as ``PulseWidthTrigger(condition="<")``; the trigger point is the
    glitch's ending edge."""

    def __init__(
        self,
        *,
        level: float,
        width: float,
        polarity: str = "either",
        hysteresis: float = 0.0,
        name: str = "glitch_trigger",
        **common: Any,
    ) -> None:
        super().__init__(
            level=level,
            polarity=polarity,
            condition="<",
            width=width,
            hysteresis=hysteresis,
            name=name,
            **common,
        )


_UNKNOWN = 9


class RuntTrigger(_Trigger):
    """Trigger on a runt: a pulse that crosses one threshold but returns without crossing the
    other.

    Zones: below ``low`` (x < low), middle, above ``high`` (x > high). A ``"positive"`` runt is
    below → middle → below (it rose past ``low`` but not past ``high``); a ``"negative"`` runt
    is above → middle → above; ``"either"`` takes both. The trigger point is the return: the
    first sample back below ``low`` (above ``high``), with the interpolated crossing time.
    Common keywords: see :class:`EdgeTrigger`.
    """

    def __init__(
        self,
        *,
        low: float,
        high: float,
        polarity: str = "positive",
        name: str = "runt_trigger",
        **common: Any,
    ) -> None:
        super().__init__(name=name, **common)
        self.low, self.high = _low_high(low, high)
        self.polarity = check_choice("polarity", polarity, ("positive", "negative", "either"))
        self.reset()

    def _reset_detector(self) -> None:
        self._zones = [_UNKNOWN, _UNKNOWN]  # the last two zones entered (-1, 0, 1)
        self._prev: float | None = None

    def _detect(
        self, x: NDArray[np.float64], start: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        prev = self._prev
        self._prev = float(x[-1])
        z = (x > self.high).view(np.int8) - (x < self.low).view(np.int8)
        ch = np.flatnonzero(z[1:] != z[:-1])
        ch += 1
        z1, z2 = self._zones
        if z2 != z[0]:  # a change at the boundary, or the first zone ever (z2 unknown)
            ch = np.concatenate((np.zeros(1, dtype=np.int64), ch))
        zc = z[ch].astype(np.int64)
        if zc.size == 0:
            return _EMPTY_I, _EMPTY_F
        seq = np.concatenate(([z1, z2], zc))
        self._zones = [int(seq[-2]), int(seq[-1])]
        mid = seq[1:-1] == 0
        same = seq[:-2] == seq[2:]
        if self.polarity == "positive":
            ok = mid & same & (seq[2:] == -1)
        elif self.polarity == "negative":
            ok = mid & same & (seq[2:] == 1)
        else:
            ok = mid & same & (seq[2:] != 0)
        if not ok.any():
            return _EMPTY_I, _EMPTY_F
        k = ch[ok]
        level = np.where(zc[ok] == -1, self.low, self.high)
        return k + start, crossing_times(x, prev, k, start, level)

    def __repr__(self) -> str:
        return (
            f"RuntTrigger(low={self.low!r}, high={self.high!r}, polarity={self.polarity!r}, "
            f"{self._common_repr()})"
        )


class WindowTrigger(_Trigger):
    """Trigger when the signal enters (``condition="enter"``) or leaves (``"exit"``) the window
    ``low <= x <= high``. The trigger sample is the first one inside (outside); the trigger time
    is the interpolated crossing of the boundary passed. NaN samples count as outside.
    Common keywords: see :class:`EdgeTrigger`.
    """

    def __init__(
        self,
        *,
        low: float,
        high: float,
        condition: str = "enter",
        name: str = "window_trigger",
        **common: Any,
    ) -> None:
        super().__init__(name=name, **common)
        self.low, self.high = _low_high(low, high)
        self.condition = check_choice("condition", condition, ("enter", "exit"))
        self.reset()

    def _reset_detector(self) -> None:
        self._inside: bool | None = None
        self._prev: float | None = None

    def _detect(
        self, x: NDArray[np.float64], start: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        prev = self._prev
        ins = (x >= self.low) & (x <= self.high)
        ch = np.flatnonzero(ins[1:] != ins[:-1])
        ch += 1
        if self._inside is not None and self._inside != bool(ins[0]):
            ch = np.concatenate((np.zeros(1, dtype=np.int64), ch))
        self._inside = bool(ins[-1])
        self._prev = float(x[-1])
        if ch.size == 0:
            return _EMPTY_I, _EMPTY_F
        k = ch[ins[ch]] if self.condition == "enter" else ch[~ins[ch]]
        if k.size == 0:
            return _EMPTY_I, _EMPTY_F
        side = x[np.maximum(k - 1, 0)] if self.condition == "enter" else x[k]
        if self.condition == "enter" and k[0] == 0:
            side[0] = math.nan if prev is None else prev
        level = np.where(side < self.low, self.low, self.high)
        return k + start, crossing_times(x, prev, k, start, level)

    def __repr__(self) -> str:
        return (
            f"WindowTrigger(low={self.low!r}, high={self.high!r}, "
            f"condition={self.condition!r}, {self._common_repr()})"
        )
