"""A browser's view settings and the binary frames built for it (format: ``docs/web.md``).

Everything here runs in the server thread. A :class:`View` is what one browser asked for
(time base, trigger, plot width); :class:`TimeFramer` keeps that browser's trigger state and
turns the scope's :class:`~._decimate.History` into one frame: min/max buckets anchored to
absolute sample indices, the gaps inside the frame, and where the trigger fell.
"""

from __future__ import annotations

import math
import struct
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._decimate import Gap, History, bucket_for, minmax_buckets

__all__ = [
    "MAGIC",
    "SEQ_OFFSET",
    "SKIPPED_OFFSET",
    "TimeFrame",
    "TimeFramer",
    "View",
    "encode_spectrum",
    "parse_view",
]

MAGIC = 0x3146544C  # "LTF1" little-endian
KIND_TIME = 1
KIND_SPECTRUM = 2
FLAG_TRIGGERED = 1
FLAG_FORCED = 2
FLAG_ROLL = 4

# header: magic u32, kind u16, n_channels u16, n_buckets u32, n_gaps u32,
# first f64, bucket f64, sample_rate f64, trigger f64, seq f64, end f64,
# skipped u32, flags u32  -> 72 bytes
_TIME_HEADER = struct.Struct("<IHHII6dII")
SEQ_OFFSET = 48
SKIPPED_OFFSET = 64
# spectrum: magic u32, kind u16, n_channels u16, n_bins u32, reserved u32, f0 f64, df f64
_SPEC_HEADER = struct.Struct("<IHHIIdd")

#: Time base above which the display rolls (free-running, newest sample at the right edge).
ROLL_SECONDS_PER_DIV = 0.1
DIVISIONS = 10
MODES = ("auto", "normal", "single")
SLOPES = ("rising", "falling")


@dataclass(frozen=True)
class View:
    """What one browser displays. Times in seconds, levels in the channel's units."""

    time_per_div: float = 1e-3
    width: int = 1000
    running: bool = True
    mode: str = "auto"
    trigger_channel: int = 0
    level: float = 0.0
    hysteresis: float = 0.0  # signal units
    slope: str = "rising"
    holdoff: float = 0.0
    pre: float = 0.5  # fraction of the screen before the trigger point
    spectrum: bool = False
    spectrum_width: int = 1000


_LIMITS: dict[str, tuple[float, float]] = {
    "time_per_div": (1e-9, 1e4),
    "width": (16, 8192),
    "trigger_channel": (0, 1024),
    "level": (-1e300, 1e300),
    "hysteresis": (0.0, 1e300),
    "holdoff": (0.0, 1e4),
    "pre": (0.0, 1.0),
    "spectrum_width": (16, 8192),
}


def parse_view(view: View, message: dict[str, Any], n_channels: int) -> View:
    """``view`` updated with the known, valid fields of a browser's ``{"view": {...}}``.

    Unknown keys and out-of-range values are ignored: a browser can change only its own view.
    """
    changes: dict[str, Any] = {}
    for key, value in message.items():
        flag = key in ("running", "spectrum") and isinstance(value, bool)
        if flag or (key == "mode" and value in MODES) or (key == "slope" and value in SLOPES):
            changes[key] = value
        elif key in _LIMITS and isinstance(value, (int, float)) and not isinstance(value, bool):
            lo, hi = _LIMITS[key]
            if math.isfinite(value) and lo <= value <= hi:
                if key in ("width", "trigger_channel", "spectrum_width"):
                    value = int(value)
                changes[key] = value
    if changes.get("trigger_channel", 0) >= n_channels:
        del changes["trigger_channel"]
    return replace(view, **changes)


@dataclass
class TimeFrame:
    """One frame for one browser, before encoding."""

    first: int  # absolute index where bucket 0 starts
    bucket: int
    mins: NDArray[Any]  # (channels, n_buckets)
    maxs: NDArray[Any]
    end: int  # one past the newest sample the frame covers
    trigger: float  # absolute (fractional) index of the trigger point, NaN when free-running
    flags: int
    gaps: list[Gap] = field(default_factory=list)

    def encode(self, sample_rate: float, seq: int, skipped: int) -> bytes:
        c, n = self.mins.shape
        header = _TIME_HEADER.pack(
            MAGIC,
            KIND_TIME,
            c,
            n,
            len(self.gaps),
            float(self.first),
            float(self.bucket),
            float(sample_rate),
            float(self.trigger),
            float(seq),
            float(self.end),
            min(skipped, 2**32 - 1),
            self.flags,
        )
        gaps = np.array([(g.start, g.length) for g in self.gaps], dtype="<f8").reshape(-1)
        body = np.empty((c, 2, n), dtype="<f4")
        body[:, 0, :] = self.mins
        body[:, 1, :] = self.maxs
        return header + gaps.tobytes() + body.tobytes()

    @property
    def n_buckets(self) -> int:
        return int(self.mins.shape[1])


def encode_spectrum(f0: float, df: float, db: NDArray[Any]) -> bytes:
    """A spectrum message: ``db`` of shape ``(channels, n_bins)`` at ``f0 + k * df`` Hz."""
    c, n = db.shape
    header = _SPEC_HEADER.pack(MAGIC, KIND_SPECTRUM, c, n, 0, f0, df)
    return header + np.ascontiguousarray(db, dtype="<f4").tobytes()


def _edges(x: NDArray[Any], level: float, hysteresis: float, rising: bool) -> NDArray[np.intp]:
    """Indices ``i`` (>= 1) where ``x`` crosses ``level`` between ``i - 1`` and ``i`` with the
    chosen slope, as a Schmitt trigger sees them: with ``hysteresis`` > 0, an edge counts only
    when the signal went from below ``level - hysteresis/2`` to above ``level + hysteresis/2``
    (mirrored for a falling edge), and its position is the last crossing of ``level`` on the
    way. Noise smaller than the hysteresis cannot trigger."""
    if not rising:
        x, level = -x, -level
    above = x >= level
    cross = np.flatnonzero(~above[:-1] & above[1:]) + 1
    if hysteresis <= 0 or cross.size == 0:
        return cross
    pos = np.arange(x.shape[0])
    low = x < level - hysteresis / 2
    high = x > level + hysteresis / 2
    last_low = np.maximum.accumulate(np.where(low, pos, -1))
    last_high = np.maximum.accumulate(np.where(high, pos, -1))
    prev_high = np.concatenate(([-1], last_high[:-1]))
    done = np.flatnonzero(high & (last_low > prev_high))  # first sample above the band
    k = np.searchsorted(cross, done, side="right") - 1
    keep = k >= 0
    found = cross[k[keep]]
    return found[found > last_low[done[keep]]]


class TimeFramer:
    """One browser's time-view state: trigger search, holdoff and mode.

    A digital scope's display trigger: at each frame the newest samples are searched for the
    last edge that leaves room for the whole screen after it and comes at least ``holdoff``
    after the previously displayed trigger. ``auto`` falls back to a free-running frame when
    no edge came for ``max(0.1 s, two screens)``; ``normal`` keeps the last frame; ``single``
    shows one triggered frame and stops.
    """

    def __init__(self, sample_rate: float) -> None:
        self.rate = float(sample_rate)
        self.last_trigger: float | None = None
        self.last_frame_time = time.monotonic()
        self.last_end = -1
        self.last_key: tuple[Any, ...] | None = None

    def reset(self) -> None:
        self.last_trigger = None
        self.last_end = -1
        self.last_key = None
        self.last_frame_time = time.monotonic()

    def state(self) -> tuple[Any, ...]:
        """Everything :meth:`build` depends on besides the view and the history."""
        return (self.last_trigger, self.last_end, self.last_key, self.last_frame_time)

    def set_state(self, state: tuple[Any, ...]) -> None:
        """Take another framer's state (a browser with the same view shares its frame)."""
        self.last_trigger, self.last_end, self.last_key, self.last_frame_time = state

    def window(self, view: View) -> int:
        return max(2, round(view.time_per_div * DIVISIONS * self.rate))

    @staticmethod
    def longest(history: History) -> int:
        """The longest window (samples) ``history`` can fill: the raw samples, or the coarse
        envelope's span (then with buckets of whole coarse buckets)."""
        c = history.coarse
        if c is None:
            return history.capacity
        return max(history.capacity, (c.capacity - 2) * c.bucket)

    def window_and_bucket(self, history: History, view: View) -> tuple[int, int]:
        """Samples on screen and samples per bucket for ``view``: beyond the raw history the
        bucket is rounded up to whole coarse buckets (drawn from the coarse envelope)."""
        w = min(self.window(view), self.longest(history))
        bucket = bucket_for(w, view.width)
        c = history.coarse
        if w > history.capacity and c is not None:
            bucket = -(-bucket // c.bucket) * c.bucket
        return w, bucket

    def build(self, history: History, view: View) -> TimeFrame | None:
        """The next frame for ``view``, or None when there is nothing new to show."""
        oldest, end = history.span()
        key = (
            view.time_per_div,
            view.width,
            view.mode,
            view.level,
            view.hysteresis,
            view.slope,
            view.pre,
        )
        if end == self.last_end and key == self.last_key:
            return None
        w, bucket = self.window_and_bucket(history, view)
        roll = view.time_per_div >= ROLL_SECONDS_PER_DIV
        now = time.monotonic()
        frame: TimeFrame | None = None
        if not roll:
            frame = self._triggered(history, view, oldest, end, w, bucket)
        if frame is None:
            waited = now - self.last_frame_time
            patience = max(0.1, 2 * w / self.rate)
            if roll or (view.mode == "auto" and (waited >= patience or key != self.last_key)):
                frame = self._free(history, end, w, bucket, FLAG_ROLL if roll else FLAG_FORCED)
            elif key != self.last_key:
                self.last_key = key
        if frame is not None:
            self.last_frame_time = now
            self.last_end = end
            self.last_key = key
        return frame

    def _free(self, history: History, end: int, w: int, bucket: int, flags: int) -> TimeFrame:
        # newest whole bucket boundary: the right edge moves by whole buckets only
        right = (end // bucket) * bucket
        left = right - (w // bucket + 1) * bucket
        empty = np.empty((history.n_channels, 0))
        frame = self._frame(history, left, right, bucket, math.nan, flags)
        return frame or TimeFrame(right, bucket, empty, empty, end, math.nan, flags)

    def _frame(
        self, history: History, left: int, right: int, bucket: int, trigger: float, flags: int
    ) -> TimeFrame | None:
        oldest, _ = history.span()
        if left < oldest and history.coarse is not None and bucket % history.coarse.bucket == 0:
            # older than the raw samples: from the coarse envelope
            a = -(-max(left, history.oldest(bucket)) // bucket) * bucket
            b = (right // bucket) * bucket
            if b <= a:
                return None
            env = history.read_envelope(a, b, bucket)
            if env is None:
                return None
            gaps = history.gaps_in(a, b)
            return TimeFrame(a, bucket, env[0], env[1], b, trigger, flags, gaps)
        a = max(left, oldest)
        a = -(-a // bucket) * bucket
        if right <= a:
            return None
        data = history.read(a, right)
        if data is None:
            return None
        mins, maxs, first = minmax_buckets(data, a, bucket)
        return TimeFrame(
            first, bucket, mins, maxs, right, trigger, flags, history.gaps_in(a, right)
        )

    def _triggered(
        self, history: History, view: View, oldest: int, end: int, w: int, bucket: int
    ) -> TimeFrame | None:
        pre = round(view.pre * w)
        post = w - pre
        lo = oldest + pre + 1
        if self.last_trigger is not None:
            lo = max(lo, math.floor(self.last_trigger + view.holdoff * self.rate) + 1)
        hi = end - post  # the last trigger position that leaves a full screen after it
        lo = max(lo, hi - max(w, end - max(self.last_end, oldest)))
        if hi <= lo:
            return None
        ch = min(view.trigger_channel, history.n_channels - 1)
        # with hysteresis, earlier samples tell whether the trigger is armed at `lo`
        a = lo - 1 if view.hysteresis <= 0 else max(oldest, lo - 1 - w)
        col = history.read(a, hi, channel=ch)
        if col is None:
            return None
        hits = _edges(col, view.level, view.hysteresis, view.slope == "rising")
        hits = hits[hits >= lo - a]
        if hits.size == 0:
            return None
        i = int(hits[-1])
        x0, x1 = float(col[i - 1]), float(col[i])
        frac = (view.level - x0) / (x1 - x0) if x1 != x0 else 0.0
        trigger = a + i - 1 + min(max(frac, 0.0), 1.0)
        left = (math.floor(trigger - pre) // bucket) * bucket
        right = -(-math.ceil(trigger + post) // bucket) * bucket
        frame = self._frame(history, left, min(right, end), bucket, trigger, FLAG_TRIGGERED)
        if frame is not None:
            self.last_trigger = trigger
        return frame


def spectrum_bins(db: NDArray[Any], width: int) -> tuple[NDArray[Any], int]:
    """``db`` (``(channels, n)``) reduced to at most ``2 * width`` bins by the max of each
    group (a peak is never lost); returns the reduced array and the group size."""
    n = db.shape[1]
    group = max(1, math.ceil(n / (2 * width)))
    if group == 1:
        return db, 1
    m = n // group
    head = db[:, : m * group].reshape(db.shape[0], m, group)
    return np.fmax.reduce(head, axis=2), group
