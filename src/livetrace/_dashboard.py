"""The live terminal dashboard behind ``livetrace monitor`` and ``livetrace replay``.

:class:`Monitor` owns one consumer thread that reads the stream's chunks and feeds the
frequency counter, the spectrum and a ring of the last ``window`` samples; the display
thread (the caller) takes a :class:`Snapshot` at display rate, so a slow terminal never
stalls acquisition. :func:`render` turns a snapshot into a rich renderable (a min/max
sparkline per channel plus its numbers); :meth:`Snapshot.to_dict` is the ``--json`` line.
rich is imported only by :func:`render`.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._stream import RealtimeStream, StreamHealth
from ._types import WaveformTrace

__all__ = [
    "ChannelView",
    "Monitor",
    "Snapshot",
    "format_number",
    "format_rate",
    "minmax_columns",
    "render",
    "sparkline",
]

DASH = "—"


def format_number(value: Any, digits: int = 6) -> str:
    """``value`` with ``digits`` significant digits, or an em dash when unknown (None/NaN)."""
    if value is None:
        return DASH
    v = float(value)
    if not math.isfinite(v):
        return DASH
    return f"{v:.{digits}g}"


def format_rate(value: float, unit: str = "S/s") -> str:
    """``48000`` → ``"48.0 kS/s"`` (SI prefix, three significant digits)."""
    v = float(value)
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= factor:
            return f"{v / factor:.3g} {prefix}{unit}"
    return f"{v:.3g} {unit}"


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


@dataclass(frozen=True)
class ChannelView:
    """One channel in a snapshot: its name and unit, rolling statistics over the window,
    frequency (FrequencyCounter), spectral peak (Spectrum), and the window's samples.

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
        def num(v: Any) -> float | None:
            if v is None:
                return None
            f = float(v)
            return f if math.isfinite(f) else None

        return {
            "name": self.name,
            "unit": self.unit,
            "mean": num(self.mean),
            "rms": num(self.rms),
            "min": num(self.min),
            "max": num(self.max),
            "peak_to_peak": num(self.peak_to_peak),
            "n_samples": self.n_samples,
            "frequency": num(self.frequency),
            "peak_frequency": num(self.peak_frequency),
        }


@dataclass(frozen=True)
class Snapshot:
    """What the dashboard shows at one instant (taken by :meth:`Monitor.snapshot`)."""

    elapsed: float
    description: str
    sample_rate: float
    window: int
    health: StreamHealth
    channels: tuple[ChannelView, ...]
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
            "buffer_fill": h.buffer_fill,
            "buffer_capacity": h.buffer_capacity,
            "source_errors": h.source_errors,
            "last_error": h.last_error,
            "error": self.error,
            "window": self.window,
            "channels": [c.to_dict() for c in self.channels],
        }


def _per_channel(value: Any, n_channels: int) -> list[float | None]:
    if value is None:
        return [None] * n_channels
    arr = np.atleast_1d(np.asarray(value)).ravel()
    arr = np.abs(arr) if arr.dtype.kind == "c" else arr.astype(np.float64)  # complex: magnitude
    if arr.size == 1 and n_channels > 1:
        arr = np.repeat(arr, n_channels)
    if arr.size != n_channels:
        raise ValueError(
            f"expected one value per channel ({n_channels}), got {arr.size}: {value!r}"
        )
    return [float(v) for v in arr]


class Monitor:
    """Consume a stream in a background thread and give snapshots for a live display.

    ``window`` is the number of samples the sparkline shows (and, for a stream built with
    ``window_size=window``, the rolling statistics cover). ``start()`` starts the stream and
    the consumer thread; ``stop()`` stops both and joins the thread. ``done`` is set when
    the stream ended (source finished, stopped, or failed: ``error`` then holds the error).
    """

    def __init__(self, stream: RealtimeStream, *, window: int) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1 sample, got {window!r}")
        self.stream = stream
        self.window = int(window)
        n_ch = stream.config.n_channels
        self._ring = np.full((self.window, n_ch), np.nan, dtype=np.float64)
        self._pos = 0  # samples ever written into the ring
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.done = threading.Event()
        self.error: BaseException | None = None
        self._t0 = time.monotonic()
        # imported here: `livetrace record` uses this module's formatting without scipy
        from .analysis import FrequencyCounter, Spectrum

        rate = stream.config.sample_rate
        # Live figures: the frequency over the last completed 0.5 s gate (every channel), the
        # spectrum's peak averaged over its last 8 segments of about 0.1 s (256..4096 points).
        nperseg = int(2 ** np.clip(np.floor(np.log2(max(rate * 0.1, 1.0))), 8, 12))
        self.frequency = FrequencyCounter(
            channel=None, gate=0.5, auto_samples=max(2, min(65536, round(rate * 0.05)))
        )
        self.frequency.attach(stream.info)
        self.spectrum = Spectrum(nperseg=nperseg, average="last", n_average=8)
        self.spectrum.attach(stream.info)

    def start(self) -> None:
        self._t0 = time.monotonic()
        self.stream.start()
        self._thread = threading.Thread(target=self._consume, name="livetrace-monitor", daemon=True)
        self._thread.start()

    def _consume(self) -> None:
        stream = self.stream
        try:
            while True:
                chunk = stream.read_chunk()
                if chunk is None:
                    return
                data = chunk.data.reshape(len(chunk.data), -1)
                real = chunk
                if np.iscomplexobj(chunk.data):  # the counter and the sparkline: real part
                    data = data.real
                    real = WaveformTrace(chunk.data.real, chunk.metadata)
                with self._lock:
                    self.frequency.update(real)
                    self.spectrum.update(chunk)
                    self._push(data)
        except BaseException as exc:  # handed to the display thread, which re-raises it
            self.error = exc
        finally:
            self.done.set()

    def _push(self, data: NDArray[Any]) -> None:
        w = self.window
        n = len(data)
        if n >= w:
            data = data[n - w :]
            self._pos += n - w
            n = w
        i = self._pos % w
        k = min(n, w - i)
        self._ring[i : i + k] = data[:k]
        self._ring[: n - k] = data[k:]
        self._pos += n

    def recent(self) -> NDArray[Any]:
        """The last ``window`` samples (fewer at the start), oldest first, ``(n, channels)``."""
        with self._lock:
            return self._recent_locked()

    def _recent_locked(self) -> NDArray[Any]:
        w = self.window
        if self._pos < w:
            head: NDArray[Any] = self._ring[: self._pos].copy()
            return head
        i = self._pos % w
        out: NDArray[Any] = np.concatenate([self._ring[i:], self._ring[:i]])
        return out

    def snapshot(self) -> Snapshot:
        """The numbers and samples to show now (thread-safe)."""
        stream = self.stream
        health = stream.health()
        stats = stream.get_statistics()
        n_ch = stream.config.n_channels
        with self._lock:
            samples = self._recent_locked()
            freq = self.frequency.result.frequency
            peak = self.spectrum.result.peak_frequency
        freqs = _per_channel(freq, n_ch)
        peaks = _per_channel(peak, n_ch)
        cols = [_per_channel(stats[k], n_ch) for k in ("mean", "rms", "min", "max")]
        p2p = _per_channel(stats["peak_to_peak"], n_ch)
        names = stream.info.channel_names
        units = stream.info.units
        channels = tuple(
            ChannelView(
                name=names[c],
                unit=units[c],
                mean=_nan(cols[0][c]),
                rms=_nan(cols[1][c]),
                min=_nan(cols[2][c]),
                max=_nan(cols[3][c]),
                peak_to_peak=_nan(p2p[c]),
                n_samples=int(stats.n_samples),
                frequency=freqs[c],
                peak_frequency=peaks[c],
                samples=samples[:, c],
            )
            for c in range(n_ch)
        )
        err = self.error
        return Snapshot(
            elapsed=time.monotonic() - self._t0,
            description=stream.info.description,
            sample_rate=stream.config.sample_rate,
            window=self.window,
            health=health,
            channels=channels,
            error=None if err is None else f"{type(err).__name__}: {err}",
        )

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the stream has ended; True if it did."""
        return self.done.wait(timeout)

    def stop(self) -> None:
        """Stop the stream and join the consumer thread."""
        self.stream.stop()
        thread = self._thread
        self._thread = None
        if thread is not None and thread is not threading.current_thread():
            thread.join()


def _nan(v: float | None) -> float:
    return float("nan") if v is None else float(v)


def render(snap: Snapshot, width: int = 80, height: int = 2) -> Any:
    """A rich renderable of ``snap``: a status line, then per channel its numbers and a
    min/max sparkline ``height`` rows tall fitting ``width`` columns."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    h = snap.health
    fill = 100.0 * h.buffer_fill / h.buffer_capacity if h.buffer_capacity else 0.0
    status = Text()
    status.append(f"{h.state}", style="bold green" if h.state == "running" else "bold yellow")
    status.append(f"  rate {format_rate(snap.sample_rate, 'Hz')}")
    status.append(f"  in {format_rate(h.input_rate)}")
    status.append(f"  buffer {fill:.0f}% ({h.buffer_fill}/{h.buffer_capacity})")
    status.append(f"  dropped {h.dropped}", style="bold red" if h.dropped else "")
    status.append(f"  gaps {h.discontinuities}")
    status.append(f"  source errors {h.source_errors}", style="bold red" if h.source_errors else "")
    parts: list[Any] = [status]
    if h.last_error:
        parts.append(Text(f"last source error: {h.last_error}", style="red"))
    if snap.error:
        parts.append(Text(f"stream ended with: {snap.error}", style="bold red"))
    spark_w = max(8, width - 4)
    for ch in snap.channels:
        unit = f" [{ch.unit}]" if ch.unit else ""
        line = Text()
        line.append(f"{ch.name}{unit}", style="bold cyan")
        line.append(
            f"  mean {format_number(ch.mean)}  rms {format_number(ch.rms)}"
            f"  min {format_number(ch.min)}  max {format_number(ch.max)}"
            f"  p-p {format_number(ch.peak_to_peak)}"
        )
        line.append(f"  freq {_hz(ch.frequency)}  peak {_hz(ch.peak_frequency)}", style="magenta")
        parts.append(line)
        lo, hi = minmax_columns(ch.samples, spark_w)
        y_min = float(np.nanmin(lo)) if len(lo) and np.isfinite(lo).any() else 0.0
        y_max = float(np.nanmax(hi)) if len(hi) and np.isfinite(hi).any() else 1.0
        parts.extend(Text(row, style="green") for row in sparkline(lo, hi, y_min, y_max, height))
    title = f"livetrace · {snap.description} · {snap.elapsed:.1f} s · window {snap.window}"
    return Panel(Group(*parts), title=title, title_align="left", width=width)


def _hz(value: float | None) -> str:
    text = format_number(value)
    return text if text == DASH else f"{text} Hz"
