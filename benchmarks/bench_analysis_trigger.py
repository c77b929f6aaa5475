"""Benchmark: FrequencyCounter and the triggers on 65536-sample float32 chunks.

Each figure is measured side by side with a bare numpy reference doing the least a detector
must do on the same chunks (one threshold comparison and the positions where it changes).
Two signals at 1 MS/s: a realistic one (1 kHz square with noise, ~65 edges per chunk), and a
dense one (period 8 samples, ~16,000 edges per chunk).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from _common import Ratio, Row, best_rate, main
from livetrace.analysis import (
    EdgeTrigger,
    FrequencyCounter,
    GlitchTrigger,
    PulseWidthTrigger,
    RuntTrigger,
    WindowTrigger,
)

CHUNK = 65536
RATE = 1e6
TARGET = 50e6


def _signal(period: float, n_chunks: int, seed: int = 1) -> list[Any]:
    n = CHUNK * n_chunks
    i = np.arange(n)
    rng = np.random.default_rng(seed)
    x = np.where((i / period) % 1.0 < 0.5, 1.0, -1.0) + rng.normal(0, 0.01, n)
    # a few runts and glitches so those triggers have work
    x[(i % 5000) == 2700] = 1.0
    x32 = x.astype(np.float32)
    return [x32[k * CHUNK : (k + 1) * CHUNK] for k in range(n_chunks)]


def _feeder(obj: Any, chunks: list[Any], take: bool) -> Callable[[], int]:
    state = {"k": 0}

    def step() -> int:
        k = state["k"]
        obj.update(chunks[k % len(chunks)])
        if take:
            obj.take()
        state["k"] = k + 1
        return CHUNK

    return step


def _numpy_reference(chunks: list[Any]) -> Callable[[], int]:
    state = {"k": 0}

    def step() -> int:
        x = chunks[state["k"] % len(chunks)]
        g = x > 0.0
        np.flatnonzero(g[1:] != g[:-1])
        state["k"] += 1
        return CHUNK

    return step


def _analysers() -> list[tuple[str, Callable[[], Any], bool]]:
    # scope-like: frames of 512 samples that do not overlap (holdoff = frame length)
    common: dict[str, Any] = {"pre": 256, "post": 256, "holdoff": 512 / RATE, "sample_rate": RATE}
    return [
        (
            "FrequencyCounter",
            lambda: FrequencyCounter(level=0.0, hysteresis=0.2, sample_rate=RATE),
            False,
        ),
        ("EdgeTrigger rising", lambda: EdgeTrigger(level=0.0, hysteresis=0.2, **common), True),
        (
            "PulseWidthTrigger >",
            lambda: PulseWidthTrigger(level=0.0, condition=">", width=2e-6, **common),
            True,
        ),
        ("GlitchTrigger", lambda: GlitchTrigger(level=0.0, width=2e-6, **common), True),
        ("RuntTrigger", lambda: RuntTrigger(low=-0.5, high=1.5, **common), True),
        (
            "WindowTrigger exit",
            lambda: WindowTrigger(low=-1.5, high=0.5, condition="exit", **common),
            True,
        ),
    ]


def run(quick: bool = False) -> tuple[list[Ratio], list[Row]]:
    """Measure every analyser on a realistic and a dense signal; ``quick`` for a smoke run."""
    repeat = 1 if quick else 3
    min_time = 0.05 if quick else 0.3
    n_chunks = 4 if quick else 16
    rows: list[Row] = []
    ratios: list[Ratio] = []
    for label, period in (("1 kHz square", 1000.0), ("dense, period 8", 8.0)):
        chunks = _signal(period, n_chunks)
        ref = best_rate(_numpy_reference(chunks), repeat=repeat, min_time=min_time)
        rows.append(
            Row(
                f"[{label}] numpy x > level + flatnonzero", ref / 1e6, "MS/s", note="bare reference"
            )
        )
        for name, make, take in _analysers():
            obj = make()
            rate = best_rate(_feeder(obj, chunks, take), repeat=repeat, min_time=min_time)
            note = f"{ref / rate:.1f}x the numpy reference's time"
            if take:
                note += f"; {obj.result.n_frames} frames"
            target = TARGET / 1e6 if period == 1000.0 else None
            ratios.append(
                Ratio(
                    f"[{label}] {name} / numpy threshold + flatnonzero",
                    rate / 1e6,
                    ref / 1e6,
                    "x > level, positions where it changes",
                )
            )
            rows.append(Row(f"[{label}] {name}", rate / 1e6, "MS/s", target=target, note=note))
        obj = EdgeTrigger(level=0.0, hysteresis=0.2, pre=256, post=256, sample_rate=RATE)
        rate = best_rate(_feeder(obj, chunks, True), repeat=1, min_time=min_time)
        rows.append(
            Row(
                f"[{label}] EdgeTrigger, holdoff 0 (a frame per edge)",
                rate / 1e6,
                "MS/s",
                note=f"{obj.result.n_frames} frames of 512 samples",
            )
        )
    return ratios, rows


if __name__ == "__main__":
    main(
        "analysis: frequency counter and triggers (65536-sample float32 chunks, 1 MS/s)",
        run,
        __doc__,
    )
