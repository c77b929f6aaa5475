"""DSP analysis figures: StreamingFilter, Spectrum, Decimator, MinMaxDecimator.

Each object is fed consecutive 65536-sample float32 chunks (``WaveformTrace`` with advancing
``start_index``, so state is carried, never reset) and measured side by side with the bare
scipy / numpy call on the same data.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.signal as sps

from _common import Ratio, Row, best_rate, main
from livetrace import TraceMetadata, WaveformTrace
from livetrace.analysis import Decimator, MinMaxDecimator, Spectrum, StreamingFilter

CHUNK = 65536
FS = 1e6


def _feeder(data: list[Any], step: Callable[[WaveformTrace], object]) -> Callable[[], int]:
    """A benchmark body: one chunk per call, ``start_index`` advancing (no gaps)."""
    pos = [0]

    def fn() -> int:
        block = data[(pos[0] // CHUNK) % len(data)]
        step(WaveformTrace(block, TraceMetadata(sample_rate=FS, start_index=pos[0])))
        pos[0] += CHUNK
        return CHUNK

    return fn


def _bare(data: list[Any], call: Callable[[Any], object]) -> Callable[[], int]:
    pos = [0]

    def fn() -> int:
        call(data[pos[0] % len(data)])
        pos[0] += 1
        return CHUNK

    return fn


def _upfirdn(h: Any, q: int, x: Any) -> object:
    return sps.upfirdn(h, x, 1, q)


def run(quick: bool = False) -> tuple[list[Ratio], list[Row]]:
    """Measure every figure once; ``quick`` shortens the timing (a few seconds in all)."""
    repeat, min_time = (1, 0.05) if quick else (3, 0.3)

    def rate(fn: Callable[[], int]) -> float:
        return best_rate(fn, repeat=repeat, min_time=min_time) / 1e6

    rng = np.random.default_rng(0)
    t = np.arange(CHUNK * 4) / FS
    sig = np.sin(2 * np.pi * 12345.6 * t) + 0.01 * rng.normal(size=t.size)
    data32 = [c.astype(np.float32) for c in np.split(sig, 4)]
    data64 = [c.astype(np.float64) for c in data32]
    rows: list[Row] = []

    # StreamingFilter: 8th-order Butterworth low-pass (4 sections)
    filt = StreamingFilter(kind="lowpass", order=8, cutoff=50e3, sample_rate=FS)
    sos = filt.sos
    assert sos is not None
    zi = np.zeros((sos.shape[0], 2))
    sos32, zi32 = sos.astype(np.float32), zi.astype(np.float32)
    ours = rate(_feeder(data32, filt.process))
    rows.append(Row("StreamingFilter 8th-order IIR, f32 chunks", ours, "MS/s", 50.0))
    rows.append(
        Row(
            "  bare sosfilt(sos f64, x f32, zi)",
            rate(_bare(data32, lambda x: sps.sosfilt(sos, x, zi=zi))),
            "MS/s",
            note="f64 out",
        )
    )
    rows.append(
        Row(
            "  bare sosfilt(sos f32, x f32, zi f32)",
            rate(_bare(data32, lambda x: sps.sosfilt(sos32, x, zi=zi32))),
            "MS/s",
            note="f32 native",
        )
    )
    fir = StreamingFilter(b=sps.firwin(64, 0.1))
    rows.append(
        Row("StreamingFilter 64-tap FIR (lfilter), f32", rate(_feeder(data32, fir.process)), "MS/s")
    )

    # MinMaxDecimator
    for bucket in (64, 1024):
        mm = MinMaxDecimator(bucket=bucket)
        rows.append(
            Row(
                f"MinMaxDecimator bucket {bucket}, f32",
                rate(_feeder(data32, mm.update)),
                "MS/s",
                50.0,
            )
        )
    rows.append(
        Row(
            "  bare reshape(-1, 64).min/.max",
            rate(
                _bare(
                    data32, lambda x: (x.reshape(-1, 64).min(axis=1), x.reshape(-1, 64).max(axis=1))
                )
            ),
            "MS/s",
        )
    )

    # MinMaxDecimator on two channels (an I/Q pair, a stereo pair): samples (n, 2)
    data2 = [np.ascontiguousarray(np.stack([c, -c], axis=1)) for c in data32]
    mm2 = MinMaxDecimator(bucket=64)
    rows.append(
        Row("MinMaxDecimator bucket 64, 2 channels, f32", rate(_feeder(data2, mm2.update)), "MS/s")
    )

    def _bare2(x: Any) -> Any:  # channel-major copy, then per-bucket min/max of each channel
        t = np.ascontiguousarray(x.T).reshape(2, -1, 64)
        return t.min(axis=2), t.max(axis=2)

    rows.append(
        Row("  bare transpose + reshape(2, -1, 64).min/.max", rate(_bare(data2, _bare2)), "MS/s")
    )

    # Spectrum: nperseg 4096, 50 % overlap, Hann
    sp32 = Spectrum(nperseg=4096)
    rows.append(
        Row(
            "Spectrum nperseg 4096 50% (update), f32",
            rate(_feeder(data32, sp32.update)),
            "MS/s",
            50.0,
        )
    )
    sp_r = Spectrum(nperseg=4096)

    def update_and_result(c: WaveformTrace) -> object:
        sp_r.update(c)
        return sp_r.result

    rows.append(
        Row(
            "  same + result (ADC figures) every chunk",
            rate(_feeder(data32, update_and_result)),
            "MS/s",
            50.0,
        )
    )
    sp64 = Spectrum(nperseg=4096)
    rows.append(Row("  Spectrum, f64 chunks", rate(_feeder(data64, sp64.update)), "MS/s"))
    rows.append(
        Row(
            "  bare scipy.signal.welch per chunk, f32",
            rate(_bare(data32, lambda x: sps.welch(x, FS, nperseg=4096))),
            "MS/s",
            note="no overlap across chunks",
        )
    )
    rows.append(
        Row(
            "  bare scipy.signal.welch per chunk, f64",
            rate(_bare(data64, lambda x: sps.welch(x, FS, nperseg=4096))),
            "MS/s",
        )
    )

    # Decimator
    for q in (4, 16):
        dec = Decimator(factor=q)
        h = dec.taps
        rows.append(
            Row(
                f"Decimator factor {q} ({h.size} taps), f32",
                rate(_feeder(data32, dec.process)),
                "MS/s",
            )
        )
        rows.append(
            Row(
                f"  bare upfirdn(h, x, 1, {q}) per chunk",
                rate(_bare(data32, functools.partial(_upfirdn, h, q))),
                "MS/s",
            )
        )
    return _ratios(rows), rows


def _ratios(rows: list[Row]) -> list[Ratio]:
    """Each figure over the bare call it is compared with (the reference row below it)."""
    by_name = {r.name.strip(): r.value for r in rows}
    pairs = [
        ("StreamingFilter 8th-order IIR, f32 chunks", "bare sosfilt(sos f64, x f32, zi)"),
        ("MinMaxDecimator bucket 64, f32", "bare reshape(-1, 64).min/.max"),
        (
            "MinMaxDecimator bucket 64, 2 channels, f32",
            "bare transpose + reshape(2, -1, 64).min/.max",
        ),
        ("Spectrum nperseg 4096 50% (update), f32", "bare scipy.signal.welch per chunk, f32"),
        ("Decimator factor 4 (", "bare upfirdn(h, x, 1, 4) per chunk"),
        ("Decimator factor 16 (", "bare upfirdn(h, x, 1, 16) per chunk"),
    ]
    out = []
    for ours, ref in pairs:
        name = next(k for k in by_name if k.startswith(ours))
        out.append(Ratio(f"{name} / bare", by_name[name], by_name[ref], ref))
    return out


if __name__ == "__main__":
    main("analysis DSP (65536-sample float32 chunks, MS/s)", run, __doc__)
