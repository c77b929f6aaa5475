"""Pictures of recordings (matplotlib, the ``plot`` extra): :func:`plot_recording`.

Long spans are drawn as the min/max envelope of buckets anchored to absolute sample indices
(bucket ``k`` covers ``[k * B, (k + 1) * B)``, one bucket per pixel column or less), so a
glitch one sample wide is still drawn; gaps are breaks in the trace, shaded and labelled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError, require
from .._types import TraceMetadata, WaveformTrace

if TYPE_CHECKING:
    from ._reader import RecordingReader

__all__ = ["Envelope", "envelope", "figure_and_envelope", "plot_recording"]

_BLOCK = 1 << 20  # stored samples read at a time


@dataclass
class Envelope:
    """Min/max of each bucket of ``bucket`` samples, per run of contiguous samples.

    ``runs`` holds, for each stretch without a gap, ``(starts, mins, maxs)``: the absolute
    index where each bucket starts and ``(channels, n)`` minima and maxima of the samples of
    that bucket that exist. ``gaps`` lists ``(absolute start, length)`` of each loss inside
    the span (length 0: a loss of unknown size).
    """

    bucket: int
    runs: list[tuple[NDArray[np.int64], NDArray[Any], NDArray[Any]]] = field(default_factory=list)
    gaps: list[tuple[int, int]] = field(default_factory=list)


def _bucketed(data: NDArray[Any], first: int, bucket: int) -> tuple[NDArray[np.int64], Any, Any]:
    """``data`` (``(channels, n)``) padded with NaN to whole buckets, then reduced."""
    c, n = data.shape
    lo = (first // bucket) * bucket
    hi = -(-(first + n) // bucket) * bucket
    padded = np.full((c, hi - lo), np.nan, dtype=np.float64)
    padded[:, first - lo : first - lo + n] = data
    shaped = padded.reshape(c, -1, bucket)
    starts = np.arange(lo, hi, bucket, dtype=np.int64)
    return starts, np.fmin.reduce(shaped, axis=2), np.fmax.reduce(shaped, axis=2)


def envelope(
    reader: RecordingReader,
    a: int,
    b: int,
    bucket: int,
    channels: Sequence[int],
    spectrum: Any = None,
) -> Envelope:
    """The min/max envelope of absolute samples ``[a, b)`` of ``channels`` (see
    :class:`Envelope`); every block read is also given to ``spectrum.update`` when set."""
    out = Envelope(bucket)
    segs = reader.segments
    seg_start = np.asarray(segs["start_index"], dtype=np.int64)
    seg_stored = np.asarray(segs["stored_index"], dtype=np.int64)
    if not len(seg_start):
        return out
    r = max(0, int(np.searchsorted(seg_start, a, side="right")) - 1)
    pos = int(seg_stored[r] + max(0, a - seg_start[r]))
    pos = min(pos, reader.n_samples)
    runs: list[list[list[Any]]] = []  # per run: [starts], [mins], [maxs] block by block
    run: list[list[Any]] | None = None
    prev_end: int | None = None
    for blk in reader.iter_blocks(_BLOCK, start=pos):
        first = blk.start_index
        if first >= b:
            break
        if blk.gap or blk.discontinuity:
            if first > a:
                out.gaps.append((first - blk.gap, blk.gap))
            run = None
        data = blk.data if blk.data.ndim == 2 else blk.data[:, None]
        lo = max(a, first)
        hi = min(b, first + len(data))
        if hi <= lo:
            prev_end = first + len(data)
            continue
        if prev_end is not None and first != prev_end and not blk.gap:
            run = None  # a jump the recording did not flag: still never join across it
        part = np.ascontiguousarray(data[lo - first : hi - first, list(channels)].T)
        if spectrum is not None:
            meta = TraceMetadata(sample_rate=reader.sample_rate, start_index=lo)
            spectrum.update(WaveformTrace(part.T, meta))
        starts, mins, maxs = _bucketed(part, lo, bucket)
        if run is not None and run[0][-1][-1] == starts[0]:
            # the bucket shared with the previous block of the same run
            run[1][-1][:, -1] = np.fmin(run[1][-1][:, -1], mins[:, 0])
            run[2][-1][:, -1] = np.fmax(run[2][-1][:, -1], maxs[:, 0])
            starts, mins, maxs = starts[1:], mins[:, 1:], maxs[:, 1:]
        if run is None:
            run = [[], [], []]
            runs.append(run)
        run[0].append(starts)
        run[1].append(mins)
        run[2].append(maxs)
        prev_end = first + len(data)
    out.runs = [
        (np.concatenate(s), np.concatenate(lo_, axis=1), np.concatenate(hi_, axis=1))
        for s, lo_, hi_ in runs
    ]
    return out


def plot_recording(
    reader: RecordingReader,
    *,
    start: float | None = None,
    duration: float | None = None,
    channels: Sequence[int | str] | None = None,
    spectrum: bool = False,
    width: int = 1600,
    height: int | None = None,
    dpi: int = 100,
    nperseg: int = 4096,
) -> Any:
    """A matplotlib figure of a recording: one panel per channel, the spectrum below.

    ``start`` and ``duration`` are seconds from the first recorded sample (gaps included);
    ``channels`` are indices or names (default all). The figure is ``width`` by ``height``
    pixels at ``dpi`` (height default: 260 px per panel). Axes are in seconds and each
    channel's unit. Spans longer than the plot's pixel width are drawn as the min/max envelope
    of absolute-index-anchored buckets; shorter ones as the samples joined by lines. Gaps are
    breaks, shaded and labelled with the number of samples lost. With ``spectrum`` a Welch
    spectrum (:class:`~livetrace.analysis.Spectrum`, Blackman-Harris, every sample of the
    span, no segment across a gap) is drawn below in dB.
    """
    return figure_and_envelope(
        reader,
        start=start,
        duration=duration,
        channels=channels,
        spectrum=spectrum,
        width=width,
        height=height,
        dpi=dpi,
        nperseg=nperseg,
    )[0]


def figure_and_envelope(
    reader: RecordingReader,
    *,
    start: float | None,
    duration: float | None,
    channels: Sequence[int | str] | None,
    spectrum: bool,
    width: int,
    height: int | None,
    dpi: int,
    nperseg: int,
) -> tuple[Any, Envelope]:
    """:func:`plot_recording`, also returning the envelope it drew."""
    require("matplotlib", "plot")
    from matplotlib.figure import Figure

    from ..analysis import Spectrum

    info = reader.info
    rate = reader.sample_rate
    names = list(info.channel_names) or [f"ch{i}" for i in range(info.n_channels)]
    units = list(info.units) or ["" for _ in range(info.n_channels)]
    chans = _channel_indices(channels, names)
    t0 = reader.first_index
    a = t0 + (0 if start is None else round(start * rate))
    b = reader.end_index if duration is None else a + round(duration * rate)
    b = min(b, reader.end_index)
    if b <= a:
        raise ConfigurationError(
            f"nothing to plot: the recording spans {reader.span:g} s, asked for start={start} "
            f"duration={duration}"
        )
    n_panels = len(chans) + (1 if spectrum else 0)
    height = height if height is not None else 120 + 260 * n_panels
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, layout="constrained")
    axes = fig.subplots(n_panels, 1, squeeze=False)[:, 0]
    columns = max(16, int(width * 0.85))
    bucket = max(1, math.ceil((b - a) / columns))
    sp = Spectrum(sample_rate=rate, nperseg=max(4, min(nperseg, b - a)), window="blackmanharris")
    env = envelope(reader, a, b, bucket, chans, sp if spectrum else None)
    span = (b - a) / rate
    scale, tunit = _time_unit(span)
    for row, ch in enumerate(chans):
        ax = axes[row]
        colour = f"C{row}"
        for starts, mins, maxs in env.runs:
            t = (starts - t0) / rate * scale
            if bucket <= 2:
                ax.plot(t, mins[row], color=colour, lw=0.8)
                if bucket == 2:
                    ax.plot(t, maxs[row], color=colour, lw=0.8)
            else:
                tt = np.append(t, t[-1] + bucket / rate * scale)
                ax.fill_between(
                    tt,
                    np.append(mins[row], mins[row][-1]),
                    np.append(maxs[row], maxs[row][-1]),
                    step="post",
                    color=colour,
                    lw=0.6,
                    edgecolor=colour,
                )
        for g_start, g_len in env.gaps:
            g0 = (g_start - t0) / rate * scale
            g1 = (g_start + max(g_len, 1) - t0) / rate * scale
            ax.axvspan(g0, g1, color="#d62728", alpha=0.15, lw=0)
            if row == 0:
                label = f"gap: {g_len} samples" if g_len else "gap (size unknown)"
                ax.annotate(
                    label,
                    xy=(g0, 1.0),
                    xycoords=("data", "axes fraction"),
                    xytext=(2, -2),
                    textcoords="offset points",
                    va="top",
                    fontsize=8,
                    color="#d62728",
                )
        ax.set_xlim((a - t0) / rate * scale, (b - t0) / rate * scale)
        unit = units[ch] or "value"
        ax.set_ylabel(f"{names[ch]} ({unit})" if units[ch] else names[ch])
        ax.grid(True, alpha=0.3)
        ax.set_xlabel(f"time ({tunit}) from the first recorded sample")
    if spectrum:
        ax = axes[-1]
        r = sp.result
        db = np.atleast_2d(np.asarray(r.psd_db))
        if db.shape[0] != len(r.frequencies):
            db = db.T
        for k in range(db.shape[1] if db.ndim == 2 else 1):
            ax.plot(r.frequencies, db[:, k], color=f"C{k}", lw=0.8, label=names[chans[k]])
        ax.set_xlabel("frequency (Hz)")
        ax.set_ylabel("PSD (dB)")
        ax.grid(True, alpha=0.3)
        if len(chans) > 1:
            ax.legend(fontsize=8)
    fig.suptitle(
        f"{info.description or reader.path.name}: {rate:g} S/s, {(b - a) / rate:g} s"
        + (f", {len(env.gaps)} gap(s)" if env.gaps else "")
    )
    return fig, env


def _channel_indices(channels: Sequence[int | str] | None, names: list[str]) -> list[int]:
    if channels is None:
        return list(range(len(names)))
    out = []
    for c in channels:
        if isinstance(c, str) and c in names:
            out.append(names.index(c))
        elif isinstance(c, str) and c.isdigit() and int(c) < len(names):
            out.append(int(c))
        elif isinstance(c, int) and 0 <= c < len(names):
            out.append(c)
        else:
            raise ConfigurationError(f"no channel {c!r}; the recording has {', '.join(names)}")
    return out


def _time_unit(span: float) -> tuple[float, str]:
    for scale, unit in ((1.0, "s"), (1e3, "ms"), (1e6, "µs")):
        if span * scale >= 1:
            return scale, unit
    return 1e9, "ns"
