"""The live terminal dashboard behind ``livetrace monitor`` and ``livetrace replay``.

:class:`LiveView` is an analyser on the stream: it runs in the stream's consumer thread like
any other analyser, measures the frequency, triggers the trace (:class:`EdgeTrigger`, so a
periodic signal stands still) and publishes what the screen shows as one frozen
:class:`ViewResult`. The display thread reads that result with the stream's statistics and
health at display rate (:func:`snapshot`), so a slow terminal never stalls acquisition.
:func:`render` turns a :class:`Snapshot` into a rich renderable; :meth:`Snapshot.to_dict` is
the ``--json`` line. rich is imported only by :func:`render`, scipy (the spectrum) only by
:meth:`LiveView.enable_spectrum`.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError
from .._health import StreamHealth
from .._protocols import SourceInfo
from .._types import WaveformTrace

__all__ = [
    "ChannelView",
    "LiveView",
    "Snapshot",
    "ViewResult",
    "format_number",
    "format_rate",
    "format_seconds",
    "minmax_columns",
    "render",
    "snapshot",
    "sparkline",
]

DASH = "—"
#: Longest window (samples) chosen from the frequency (``LiveView(window=None)``).
AUTO_MAX_SAMPLES = 1 << 20
SLOPES = ("rising", "falling", "either")


def format_number(value: Any, digits: int = 6) -> str:
    """``value`` with ``digits`` significant digits, or an em dash when unknown (None/NaN)."""
    if value is None:
        return DASH
    v = float(value)
    if not math.isfinite(v):
        return DASH
    return f"{v:.{digits}g}"


def format_rate(value: float, unit: str = "S/s") -> str:
    """``48000`` → ``"48 kS/s"`` (SI prefix, three significant digits)."""
    v = float(value)
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= factor:
            return f"{v / factor:.3g} {prefix}{unit}"
    return f"{v:.3g} {unit}"


def format_seconds(value: float) -> str:
    """``0.003`` → ``"3 ms"``, ``2.5`` → ``"2.5 s"`` (three significant digits)."""
    v = float(value)
    if not math.isfinite(v):
        return DASH
    for factor, prefix in ((1.0, ""), (1e-3, "m"), (1e-6, "µ")):
        if abs(v) >= factor:
            return f"{v / factor:.3g} {prefix}s"
    return f"{v / 1e-9:.3g} ns"


def minmax_columns(x: NDArray[Any], n_cols: int) -> tuple[NDArray[Any], NDArray[Any]]:
    """Per-column (min, max) of ``x`` (1-D) split into ``n_cols`` near-equal buckets.

    With fewer samples than columns, each sample is its own column. Vectorised
    (``np.minimum.reduceat``); NaN samples propagate to their column.
    """
    n = len(x)
    if n == 0 or n_cols < 1:
        empty = np.empty(0, dtype=np.float64)
        return empty, empty
    x = np.asarray(x, dtype=np.float64)
    if n <= n_cols:
        return x.copy(), x.copy()
    edges = (np.arange(n_cols, dtype=np.int64) * n) // n_cols
    return np.minimum.reduceat(x, edges), np.maximum.reduceat(x, edges)


_HALF = np.array([" ", "▄", "▀", "█"])  # index: 2 * top_filled + bottom_filled


def sparkline(
    lo: NDArray[Any], hi: NDArray[Any], y_min: float, y_max: float, height: int = 2
) -> list[str]:
    """Rows (top first) of a min/max envelope drawn with half blocks (2 levels per row).

    Column ``j`` fills every level between ``lo[j]`` and ``hi[j]`` scaled to
    ``[y_min, y_max]``; a NaN column is blank.
    """
    levels = 2 * height
    if len(lo) == 0:
        return [""] * height
    span = y_max - y_min
    if not math.isfinite(span) or span <= 0:
        span = 1.0
        y_min = y_min - 0.5 if math.isfinite(y_min) else 0.0
    with np.errstate(invalid="ignore"):
        a = np.floor((np.asarray(lo, dtype=np.float64) - y_min) / span * levels)
        b = np.floor((np.asarray(hi, dtype=np.float64) - y_min) / span * levels)
    valid = np.isfinite(a) & np.isfinite(b)
    a = np.clip(np.where(valid, a, 0), 0, levels - 1).astype(np.int64)
    b = np.clip(np.where(valid, b, -1), -1, levels - 1).astype(np.int64)
    lv = np.arange(levels)[:, None]  # level 0 = bottom
    filled = (lv >= a[None, :]) & (lv <= b[None, :]) & valid[None, :]
    rows = []
    for r in range(height):  # r = 0 is the top row
        top = filled[levels - 1 - 2 * r]
        bottom = filled[levels - 2 - 2 * r]
        rows.append("".join(_HALF[2 * top.astype(np.int64) + bottom.astype(np.int64)]))
    return rows


# ---------------------------------------------------------------------------------- the view
@dataclass(frozen=True)
class ViewResult:
    """What a :class:`LiveView` shows, as of the last chunk it saw.

    ``samples`` is the trace, ``(n, n_channels)`` float64 (the real part of complex samples),
    oldest first: a frame of ``window`` seconds around a trigger (``triggered``), or the
    latest samples when nothing triggered. ``trace_start`` is the absolute index of
    ``samples[0]``, ``trigger_index`` that of the trigger point (None when untriggered).
    ``level`` and ``slope`` describe the trigger (None: no trigger, or its level is still being
    measured). ``frequency`` and ``peak_frequency`` hold one value per channel (NaN when not
    measured yet; ``peak_frequency`` stays NaN until :meth:`LiveView.enable_spectrum`).
    ``position`` is the absolute index after the last sample seen.
    """

    window: float
    samples: NDArray[Any] = field(repr=False)
    trace_start: int
    trigger_index: int | None
    triggered: bool
    level: float | None
    slope: str | None
    frequency: tuple[float, ...]
    peak_frequency: tuple[float, ...]
    position: int


class LiveView:
    """The dashboard's analyser: frequency, spectrum peak and a triggered trace.

    ``window`` (seconds) is the length of the trace; None chooses it from the measured
    frequency of channel 0: ``periods`` periods (at least 32 samples, at most 1 s and 2**20
    samples), 0.1 s (at most 2**16 samples) until the frequency is known. ``slope``
    (``"rising"``, ``"falling"``, ``"either"``) or None (free-running trace) and ``level``
    (signal units; None: the midpoint of the first 50 ms, the frequency counter's level) set
    the edge trigger on channel 0; each frame is centred on a trigger point. When nothing
    triggered lately (like an oscilloscope's auto mode), the latest samples are shown.

    ``update`` runs in the stream's consumer thread; :attr:`result` may be read from any
    thread (it is replaced, never modified).
    """

    name = "live_view"

    def __init__(
        self,
        *,
        window: float | None = None,
        slope: str | None = "rising",
        level: float | None = None,
        periods: float = 3.0,
    ) -> None:
        if window is not None and not (math.isfinite(window) and window > 0):
            raise ConfigurationError(f"window must be > 0 seconds or None, got {window!r}")
        if slope is not None and slope not in SLOPES:
            raise ConfigurationError(f"slope must be one of {SLOPES} or None, got {slope!r}")
        if level is not None and not math.isfinite(level):
            raise ConfigurationError(f"level must be a finite number or None, got {level!r}")
        if not periods > 0:
            raise ConfigurationError(f"periods must be > 0, got {periods!r}")
        self.window = window
        self.slope = slope
        self.level = level
        self.periods = float(periods)
        self._info: SourceInfo | None = None
        self._spectrum: Any = None
        self._spectrum_next: Any = None
        self._spectrum_wanted = False
        self._result: ViewResult | None = None
        self._trigger: Any = None
        self._frequency: Any = None
        self._n = 0  # samples of the current trace window
        self._latest: NDArray[Any] | None = None
        self._trace_from = 0

    # ---------------------------------------------------------------- analyser contract
    def attach(self, info: SourceInfo) -> None:
        """Take the rate and channels from the stream (called when added to it)."""
        self._info = info
        self.reset()

    def reset(self) -> None:
        """Forget every sample: as freshly attached (the spectrum stays enabled)."""
        from ..analysis import FrequencyCounter

        info = self._info
        rate = 1.0 if info is None else info.sample_rate
        self._frequency = FrequencyCounter(
            channel=None, gate=0.5, auto_samples=max(2, min(65536, round(rate * 0.05)))
        )
        if info is not None:
            self._frequency.attach(info)
        if self._spectrum is not None:
            self._spectrum.reset()
        self._trigger = None
        self._result = None
        self._latest = None
        self._trace_from = 0
        if self.window is not None:
            self._n = self._samples_for(self.window)
        else:  # until the frequency is known: 0.1 s (at most 2**16 samples)
            self._n = min(self._samples_for(0.1), AUTO_MAX_SAMPLES // 16)

    def _samples_for(self, seconds: float) -> int:
        rate = 1.0 if self._info is None else self._info.sample_rate
        return max(2, round(seconds * rate))

    @property
    def result(self) -> ViewResult | None:
        """The latest trace and figures, None before the first chunk."""
        return self._result

    def enable_spectrum(self, *, background: bool = True) -> None:
        """Also measure the spectrum's peak, from the next chunk on.

        The spectrum needs scipy, whose import takes a second or more; with ``background``
        it is imported in a thread of its own, so that neither the display nor the stream
        waits for it (the peak shows once it is there). Safe to call from any thread, more
        than once.
        """
        if self._spectrum_wanted:
            return
        self._spectrum_wanted = True
        if background:
            threading.Thread(
                target=self._load_spectrum, name="livetrace-load-spectrum", daemon=True
            ).start()
        else:
            self._load_spectrum()

    def _load_spectrum(self) -> None:
        from ..analysis import Spectrum

        rate = 1.0 if self._info is None else self._info.sample_rate
        # the peak of the last 8 segments of about 0.1 s (256..4096 points)
        nperseg = int(2 ** np.clip(np.floor(np.log2(max(rate * 0.1, 1.0))), 8, 12))
        spectrum = Spectrum(nperseg=nperseg, average="last", n_average=8)
        if self._info is not None:
            spectrum.attach(self._info)
        self._spectrum_next = spectrum  # one assignment: the consumer thread picks it up

    def update(self, chunk: WaveformTrace) -> None:
        """Measure ``chunk`` and publish a new :attr:`result` (consumer thread)."""
        if self._spectrum_next is not None:
            self._spectrum, self._spectrum_next = self._spectrum_next, None
        data = chunk.data
        if len(data) == 0:
            return
        real = chunk
        if np.iscomplexobj(data):  # the counter, the trigger and the trace: the real part
            real = WaveformTrace(data.real, chunk.metadata)
        self._frequency.update(real)
        if self._spectrum is not None:
            self._spectrum.update(chunk)
        freq = self._frequency.result
        n_ch = 1 if data.ndim == 1 else data.shape[1]
        freqs = _per_channel(freq.frequency, n_ch)
        level = float(np.atleast_1d(freq.level)[0])
        self._adapt(freqs[0], level, float(np.atleast_1d(freq.hysteresis)[0]))
        length = len(data)
        start = chunk.metadata.start_index
        end = start + length
        self._remember(real.data[-self._n :], end)
        frame = None
        if self._trigger is not None:
            # a screen shows ~10 frames/s: in a chunk much longer than the window, only its
            # end can give the frame shown next, so only that end goes to the trigger (the
            # trigger sees the skipped part as a gap and restarts after it)
            keep = 4 * self._n
            if length > keep:
                meta = dataclasses.replace(real.metadata, start_index=end - keep, gap=0)
                self._trigger.update(WaveformTrace(real.data[-keep:], meta))
            else:
                self._trigger.update(real)
            frame = self._trigger.result.last_frame
        trigger_index: int | None = None
        rate = self._info.sample_rate if self._info else 1.0
        stale = max(4 * self._n, round(0.1 * rate)) + length
        if frame is not None and frame.start_index + len(frame.data) >= end - stale:
            # a recent triggered frame: it stands still however the chunks fall
            samples = np.asarray(frame.data, dtype=np.float64).reshape(len(frame.data), -1)
            trace_start = frame.start_index
            trigger_index = frame.trigger_index
        else:  # nothing triggered lately: the latest samples
            assert self._latest is not None
            samples = self._latest
            trace_start = self._trace_from
        peaks: list[float] = [math.nan] * n_ch
        if self._spectrum is not None:
            peaks = _per_channel(self._spectrum.result.peak_frequency, n_ch)
        self._result = ViewResult(
            window=self._n / rate,
            samples=samples,
            trace_start=trace_start,
            trigger_index=trigger_index,
            triggered=trigger_index is not None,
            level=None if self._trigger is None else float(self._trigger.level),
            slope=None if self._trigger is None else self.slope,
            frequency=tuple(freqs),
            peak_frequency=tuple(peaks),
            position=end,
        )

    # ---------------------------------------------------------------- internals
    def _adapt(self, frequency: float, auto_level: float, auto_hysteresis: float) -> None:
        """Choose the window from the frequency and (re)build the trigger when it changes."""
        n = self._n
        if self.window is None and math.isfinite(frequency) and frequency > 0:
            rate = self._info.sample_rate if self._info else 1.0
            top = max(32, min(rate, AUTO_MAX_SAMPLES))
            want = int(np.clip(round(self.periods / frequency * rate), 32, top))
            if abs(want - n) > 0.2 * n:  # hysteresis: a jittery figure does not rebuild
                n = want
        level = self.level if self.level is not None else auto_level
        rebuild = n != self._n or (self._trigger is None and math.isfinite(level))
        self._n = n
        if not rebuild or self.slope is None or not math.isfinite(level):
            return
        from ..analysis import EdgeTrigger

        rate = self._info.sample_rate if self._info else 1.0
        hysteresis = auto_hysteresis if math.isfinite(auto_hysteresis) else 0.0
        pre = n // 2
        self._trigger = EdgeTrigger(
            level=level,
            slope=self.slope,
            hysteresis=hysteresis,
            pre=pre,
            post=n - pre,
            holdoff=max(n / rate, 0.02),  # at most ~50 frames/s: enough for any display
            max_frames=1,
            max_capture=max(n, 1),
        )
        if self._info is not None:
            self._trigger.attach(self._info)

    def _remember(self, tail: NDArray[Any], end: int) -> None:
        """Keep the last ``window`` samples (the untriggered trace); ``tail`` is the end of a
        chunk (at most ``window`` samples) whose last sample is at ``end - 1``."""
        n = self._n
        x = np.asarray(tail, dtype=np.float64).reshape(len(tail), -1)
        prev = self._latest
        start = end - len(x)
        if prev is None or len(x) >= n or self._trace_from + len(prev) != start:
            keep = x
        else:
            keep = np.concatenate([prev, x])[-n:]
        self._latest = np.array(keep, dtype=np.float64)
        self._trace_from = end - len(keep)


def _per_channel(value: Any, n_channels: int) -> list[float]:
    if value is None:
        return [math.nan] * n_channels
    arr = np.atleast_1d(np.asarray(value)).ravel()
    arr = np.abs(arr) if arr.dtype.kind == "c" else arr.astype(np.float64)  # complex: magnitude
    if arr.size == 1 and n_channels > 1:
        arr = np.repeat(arr, n_channels)
    if arr.size != n_channels:
        raise ValueError(
            f"expected one value per channel ({n_channels}), got {arr.size}: {value!r}"
        )
    return [float(v) for v in arr]


def _signed(value: Any, n_channels: int) -> list[float]:
    """Per-channel values keeping their sign (a two-sided spectrum's peak)."""
    if value is None:
        return [math.nan] * n_channels
    arr = np.atleast_1d(np.asarray(value, dtype=np.float64)).ravel()
    if arr.size == 1 and n_channels > 1:
        arr = np.repeat(arr, n_channels)
    return [float(v) for v in arr]


# ---------------------------------------------------------------------------------- snapshot
@dataclass(frozen=True)
class ChannelView:
    """One channel in a snapshot: its name and unit, rolling statistics over the stream's
    window, frequency (level-crossing counter), spectral peak, and the trace's samples.

    For complex samples: ``mean`` is the magnitude of the mean, ``rms``/``min``/``max`` are
    the stream's (of ``|x|``), ``frequency`` and ``samples`` are those of the real part, and
    ``peak_frequency`` is signed (two-sided spectrum)."""

    name: str
    unit: str
    mean: float
    rms: float
    min: float
    max: float
    peak_to_peak: float
    n_samples: int
    frequency: float | None
    peak_frequency: float | None
    samples: NDArray[Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "mean": _num(self.mean),
            "rms": _num(self.rms),
            "min": _num(self.min),
            "max": _num(self.max),
            "peak_to_peak": _num(self.peak_to_peak),
            "n_samples": self.n_samples,
            "frequency": _num(self.frequency),
            "peak_frequency": _num(self.peak_frequency),
        }


def _num(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


@dataclass(frozen=True)
class Snapshot:
    """What the dashboard shows at one instant (taken by :func:`snapshot`).

    ``window`` is the trace's length in seconds, ``stats_window`` the rolling statistics'
    (seconds); ``position``/``total`` are the replay position and the recording's length in
    seconds (``total`` None for a live source).
    """

    elapsed: float
    description: str
    sample_rate: float
    window: float
    stats_window: float
    health: StreamHealth
    channels: tuple[ChannelView, ...]
    triggered: bool = False
    level: float | None = None
    slope: str | None = None
    position: float = 0.0
    total: float | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` line: plain JSON types, NaN as null."""
        h = self.health
        return {
            "elapsed": round(self.elapsed, 6),
            "source": self.description,
            "sample_rate": self.sample_rate,
            "state": h.state,
            "samples_in": h.samples_in,
            "samples_out": h.samples_out,
            "dropped": h.dropped,
            "source_gap": h.source_gap,
            "discontinuities": h.discontinuities,
            "input_rate": round(h.input_rate, 3),
            "idle_seconds": round(h.idle_seconds, 3),
            "buffer_fill": h.buffer_fill,
            "buffer_capacity": h.buffer_capacity,
            "source_errors": h.source_errors,
            "last_error": h.last_error,
            "error": self.error,
            "window": self.window,
            "stats_window": self.stats_window,
            "trigger": {"triggered": self.triggered, "level": self.level, "slope": self.slope},
            "position": self.position,
            "total": self.total,
            "channels": [c.to_dict() for c in self.channels],
        }


def snapshot(
    stream: Any,
    view: LiveView,
    *,
    t0: float,
    error: BaseException | None = None,
    total: float | None = None,
) -> Snapshot:
    """What to show now: ``view``'s latest result with the stream's statistics and health.

    Any thread may call it (everything it reads is thread-safe or replaced atomically).
    """
    health = stream.health()
    stats = stream.get_statistics()
    cfg = stream.config
    info = stream.info
    n_ch = cfg.n_channels
    rate = cfg.sample_rate
    res = view.result
    cols = [_per_channel(stats[k], n_ch) for k in ("mean", "rms", "min", "max", "peak_to_peak")]
    if res is None:
        samples = np.empty((0, n_ch), dtype=np.float64)
        freqs = peaks = [math.nan] * n_ch
        window = view._n / rate
    else:
        samples = res.samples
        freqs = list(res.frequency)
        peaks = _signed(res.peak_frequency, n_ch)
        window = res.window
    channels = tuple(
        ChannelView(
            name=info.channel_names[c],
            unit=info.units[c],
            mean=cols[0][c],
            rms=cols[1][c],
            min=cols[2][c],
            max=cols[3][c],
            peak_to_peak=cols[4][c],
            n_samples=int(stats.n_samples),
            frequency=None if math.isnan(freqs[c]) else freqs[c],
            peak_frequency=None if math.isnan(peaks[c]) else peaks[c],
            samples=samples[:, c],
        )
        for c in range(n_ch)
    )
    return Snapshot(
        elapsed=time.monotonic() - t0,
        description=info.description,
        sample_rate=rate,
        window=window,
        stats_window=cfg.effective_window / rate,
        health=health,
        channels=channels,
        triggered=bool(res is not None and res.triggered),
        level=None if res is None else res.level,
        slope=None if res is None else res.slope,
        position=0.0 if res is None else res.position / rate,
        total=total,
        error=None if error is None else f"{type(error).__name__}: {error}",
    )


# ---------------------------------------------------------------------------------- render
def _pack(fields: list[tuple[str, str]], width: int) -> list[Any]:
    """``(text, style)`` fields packed into lines of at most ``width`` cells (two spaces
    between fields); a field never splits."""
    from rich.text import Text

    lines: list[Any] = []
    line = Text()
    for text, style in fields:
        if line.cell_len and line.cell_len + 2 + len(text) > width:
            lines.append(line)
            line = Text()
        if line.cell_len:
            line.append("  ")
        line.append(text, style=style)
    if line.cell_len:
        lines.append(line)
    return lines


SILENT_AFTER = 2.0
"""Seconds without a sample after which the status line says the source is silent."""


def render(snap: Snapshot, width: int = 80, height: int = 4) -> Any:
    """A rich renderable of ``snap`` ``width`` columns wide: the source in the title, a status
    block, then per channel its numbers and a min/max trace ``height`` rows tall; the window,
    the trigger and the elapsed time in the bottom border. No line is wider than ``width``
    (fields wrap whole)."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    inner = max(20, width - 4)  # the panel's borders and padding
    h = snap.health
    fill = 100.0 * h.buffer_fill / h.buffer_capacity if h.buffer_capacity else 0.0
    status: list[tuple[str, str]] = [
        (str(h.state), "bold green" if h.state == "running" else "bold yellow"),
        (f"in {format_rate(h.input_rate)}", ""),
        (f"buffer {fill:.0f}%", ""),
        (f"dropped {h.dropped}", "bold red" if h.dropped else ""),
        (f"gaps {h.discontinuities}", ""),
        (f"source errors {h.source_errors}", "bold red" if h.source_errors else ""),
    ]
    if h.idle_seconds >= SILENT_AFTER:  # the source delivered nothing for a while: say so
        status.insert(1, (f"silent {h.idle_seconds:.0f} s", "bold red"))
    reconnecting = h.source.get("reconnecting") if isinstance(h.source, dict) else None
    if reconnecting:
        attempts = h.source.get("reconnect_attempts", 0)
        status.insert(1, (f"reconnecting ({attempts} attempts)", "bold red"))
    if snap.total is not None:
        pct = 100.0 * snap.position / snap.total if snap.total > 0 else 100.0
        status.insert(
            1,
            (f"at {snap.position:.2f} s of {snap.total:.2f} s ({min(pct, 100.0):.0f}%)", "bold"),
        )
    parts: list[Any] = _pack(status, inner)
    if h.last_error:
        parts.append(Text(f"last source error: {h.last_error}", style="red"))
    if snap.error:
        parts.append(Text(f"stream ended with: {snap.error}", style="bold red"))
    for ch in snap.channels:
        unit = f" [{ch.unit}]" if ch.unit else ""
        fields = [
            (f"{ch.name}{unit}", "bold cyan"),
            (f"mean {format_number(ch.mean)}", ""),
            (f"rms {format_number(ch.rms)}", ""),
            (f"min {format_number(ch.min)}", ""),
            (f"max {format_number(ch.max)}", ""),
            (f"p-p {format_number(ch.peak_to_peak)}", ""),
            (f"freq {_hz(ch.frequency)}", "magenta"),
            (f"peak {_hz(ch.peak_frequency)}", "magenta"),
        ]
        parts.extend(_pack(fields, inner))
        lo, hi = minmax_columns(ch.samples, inner)
        y_min = float(np.nanmin(lo)) if len(lo) and np.isfinite(lo).any() else 0.0
        y_max = float(np.nanmax(hi)) if len(hi) and np.isfinite(hi).any() else 1.0
        parts.extend(Text(row, style="green") for row in sparkline(lo, hi, y_min, y_max, height))
    if snap.slope is None:
        trig = "free-running"
    else:
        arrow = {"rising": "↑", "falling": "↓"}.get(snap.slope, "↕")
        state = "" if snap.triggered else " (waiting)"
        trig = f"trig {arrow}{format_number(snap.level, 3)}{state}"
    room = max(8, inner - 2 - len("livetrace · "))
    desc = snap.description
    if len(desc) > room:
        desc = desc[: room - 1] + "…"
    title = f"livetrace · {desc}"
    subtitle = f"window {format_seconds(snap.window)} · {trig} · {snap.elapsed:.1f} s"
    return Panel(
        Group(*parts),
        title=title,
        title_align="left",
        subtitle=subtitle,
        subtitle_align="right",
        width=width,
    )


def _hz(value: float | None) -> str:
    text = format_number(value)
    return text if text == DASH else f"{text} Hz"
