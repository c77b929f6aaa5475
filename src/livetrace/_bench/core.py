"""Core benchmark: buffer vs the bare numpy floor, statistics, end-to-end stream, latency.

Every figure is measured in this run, side by side with its reference, so ratios hold even on
a noisy shared machine. Targets are those of the core issue.
"""

from __future__ import annotations

import gc
import resource
import threading
import time
from typing import Any

import numpy as np

from .._buffer import RealtimeBuffer
from .._config import RealtimeConfig
from .._result import aligned_empty
from .._stream import RealtimeStream
from ..analysis._stats import RealtimeAnalyzer
from ..sources._simulated import SimulatedSource
from ._common import Row, best_rate, print_rows

__all__ = ["main", "run"]


def _floor_rate(chunk: int, ring_slots: int, *, aligned: bool, min_time: float) -> float:
    """One np.copyto into a ring slot plus one copy out, no lock: the bare floor."""
    src = np.random.default_rng(0).standard_normal(chunk).astype(np.float32)
    size = chunk * ring_slots
    if aligned:
        ring = aligned_empty(size, np.float32, like_address=src.ctypes.data)
        out = aligned_empty(chunk, np.float32, like_address=src.ctypes.data)
    else:  # a ring 16 bytes off the source's page offset: the 4K-aliasing trap
        ring = aligned_empty(size + 4, np.float32, like_address=src.ctypes.data)[4:]
        out = np.empty(chunk, np.float32)
    state = {"pos": 0}

    def step() -> int:
        pos = state["pos"]
        np.copyto(ring[pos : pos + chunk], src)
        np.copyto(out, ring[pos : pos + chunk])
        state["pos"] = (pos + chunk) % size
        return chunk

    return best_rate(step, min_time=min_time)


def _buffer_rate(chunk: int, ring_slots: int, *, min_time: float) -> float:
    cfg = RealtimeConfig(
        sample_rate=1e6, buffer_size=chunk * ring_slots, chunk_size=chunk, dtype="float32"
    )
    buf = RealtimeBuffer(cfg)
    src = np.random.default_rng(0).standard_normal(chunk).astype(np.float32)

    def step() -> int:
        buf.write(src)
        buf.read(chunk)
        return chunk

    return best_rate(step, min_time=min_time)


def _stats_rate(chunk: int, window: int, *, min_time: float) -> tuple[float, float]:
    rng = np.random.default_rng(1)
    data = rng.standard_normal(chunk * 64).astype(np.float32)
    an = RealtimeAnalyzer(
        RealtimeConfig(sample_rate=1e6, buffer_size=window, chunk_size=1, dtype="float32")
    )
    state = {"i": 0}

    def step() -> int:
        i = state["i"]
        an.accumulate(data[i * chunk : (i + 1) * chunk])
        an.get_statistics()
        state["i"] = (i + 1) % 64
        return chunk

    ours = best_rate(step, min_time=min_time)
    # reference: numpy's two-pass over the window after every chunk (what a naive user does)
    ring = np.zeros(window, dtype=np.float64)
    pos = {"p": 0}

    def naive() -> int:
        i = state["i"]
        x = data[i * chunk : (i + 1) * chunk]
        p = pos["p"]
        idx = (p + np.arange(chunk)) % window
        ring[idx] = x
        pos["p"] = (p + chunk) % window
        ring.mean()
        ring.std()
        ring.min()
        ring.max()
        state["i"] = (i + 1) % 64
        return chunk

    return ours, best_rate(naive, min_time=min_time)


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _end_to_end(chunk: int, seconds: float) -> tuple[float, int, int, float]:
    """Unpaced simulated source -> block -> iteration with statistics after every chunk.

    Returns (samples/s, samples, gap count, peak-RSS growth in MiB during the run).
    """
    src = SimulatedSource(
        "sine", frequency=1e3, sample_rate=1e6, chunk_size=chunk, realtime=False, dtype="float32"
    )
    cfg = RealtimeConfig(
        sample_rate=1e6,
        chunk_size=chunk,
        buffer_size=chunk * 16,
        overflow="block",
        dtype="float32",
        window_size=100_000,
    )
    n = 0
    gaps = 0
    expected = 0
    with RealtimeStream(cfg, src) as stream:
        it = iter(stream)
        for _ in range(20):  # warm-up, then measure memory growth from here
            c = next(it)
            expected = c.end_index
        gc.collect()
        rss0 = _rss_mib()
        t0 = time.perf_counter()
        for c in it:
            if c.start_index != expected:
                gaps += 1
            expected = c.end_index
            stream.get_statistics()
            n += len(c)
            if time.perf_counter() - t0 >= seconds:
                break
        dt = time.perf_counter() - t0
    return n / dt, n, gaps + stream.get_buffer_stats().dropped, _rss_mib() - rss0


class _StampedSource(SimulatedSource):
    """Paced simulated source that notes when each block was handed to the buffer."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.stamps: dict[int, float] = {}

    def acquire(self) -> Any:
        start = self.samples_generated
        out = super().acquire()
        if out is not None:
            self.stamps[start] = time.perf_counter()
        return out


def _latency(seconds: float) -> tuple[float, float, int]:
    """Paced 1 MS/s source, 1000-sample chunks: time from acquire()->write to consumer."""
    src = _StampedSource(sample_rate=1e6, chunk_size=1000, dtype="float32")
    cfg = RealtimeConfig(sample_rate=1e6, chunk_size=1000, buffer_size=1_000_000)
    lat: list[float] = []
    t_end = time.perf_counter() + seconds
    with RealtimeStream(cfg, src) as stream:
        for c in stream:
            now = time.perf_counter()
            stamp = src.stamps.pop(c.start_index, None)
            if stamp is not None:
                lat.append(now - stamp)
            if now >= t_end:
                break
    arr = np.array(lat[50:]) * 1e3  # skip start-up
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99)), len(arr)


def run(quick: bool = False) -> list[Row]:
    """Measure every core figure; ``quick`` shortens each measurement."""
    mt = 0.05 if quick else 0.3
    rows: list[Row] = []
    for chunk in (1024, 65536):
        slots = max(4, (1 << 20) // chunk)
        floor_al = _floor_rate(chunk, slots, aligned=True, min_time=mt)
        floor_mis = _floor_rate(chunk, slots, aligned=False, min_time=mt)
        ours = _buffer_rate(chunk, slots, min_time=mt)
        rows.append(Row(f"bare floor, page-aligned, {chunk}-sample chunks", floor_al / 1e6, "MS/s"))
        rows.append(
            Row(f"bare floor, misaligned by 16 B, {chunk}", floor_mis / 1e6, "MS/s", note="4K trap")
        )
        rows.append(
            Row(
                f"RealtimeBuffer write+read float32, {chunk}",
                ours / 1e6,
                "MS/s",
                target=50.0 if chunk == 1024 else None,
            )
        )
        if chunk == 65536:
            rows.append(
                Row("  ratio buffer / aligned floor, 65536", ours / floor_al, "x", target=0.5)
            )
    ours, naive = _stats_rate(16384, 100_000, min_time=mt)
    rows.append(
        Row("accumulate+get_statistics f32, 16384 chunks, window 1e5", ours / 1e6, "MS/s", 100.0)
    )
    rows.append(Row("  numpy two-pass over the window per chunk", naive / 1e6, "MS/s"))
    rate, n, gaps, growth = _end_to_end(65536, 0.5 if quick else 3.0)
    rows.append(Row("end to end sim->block->iterate+stats, 65536 f32", rate / 1e6, "MS/s", 50.0))
    rows.append(Row("  gaps + drops during that run", gaps, "", 0, higher_is_better=False))
    rows.append(Row("  peak RSS growth during that run", growth, "MiB", note=f"{n} samples"))
    p50, p99, count = _latency(0.5 if quick else 3.0)
    rows.append(Row("latency write->consumer p50, paced 1 MS/s, 1000", p50, "ms"))
    rows.append(
        Row(
            "latency write->consumer p99",
            p99,
            "ms",
            target=5.0,
            higher_is_better=False,
            note=f"{count} chunks",
        )
    )
    rows.append(
        Row("reference: seed RealtimeBuffer read (PERF-NOTES)", 2.0, "MS/s", note="not run here")
    )
    return rows


def main() -> None:
    """Print the core figures."""
    import sys

    quick = "--quick" in sys.argv
    print_rows("core: buffer, statistics, stream", run(quick=quick))
    _ = threading.active_count()


if __name__ == "__main__":
    main()
