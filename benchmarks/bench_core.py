"""Core figures: buffer vs the bare numpy floor, statistics vs the bare reductions, the whole
stream vs GNU Radio's C++ graph, latency.

Each figure is measured in this run next to its reference, alternating the two, and printed as
a ratio first:

- ``RealtimeBuffer`` write + read (float32) over one ``np.copyto`` in and one out of a ring with
  matching page offsets, no lock (the floor); the 4K-aliasing trap shown beside it;
- ``RealtimeAnalyzer.accumulate`` + ``get_statistics`` (16384-sample chunks, window 100 000)
  over numpy's sum, dot, min and max of each chunk (the reductions' floor), and over a naive
  two-pass over the window per chunk;
- end to end: unpaced ``SimulatedSource`` -> ``RealtimeStream`` (``overflow="block"``, float32,
  65536-sample chunks, window 1000), iterating with ``get_statistics()`` every chunk, over GNU
  Radio 3.10's ``sig_source_f -> head -> moving_average_ff(1000) -> null_sink`` run as a child
  process by Debian's ``/usr/bin/python3`` (``not available`` without GNU Radio); also with a
  ``Recorder`` to local disk, with a ``MinMaxDecimator`` and with the web ``Scope`` (as a sink,
  no browser) attached, and the CPU time of the
  acquisition and consumer threads over the wall time (1.0 = one core busy all along);
- latency of a paced 1 MS/s source, write -> consumer.

Run: ``python benchmarks/bench_core.py [--quick]``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from _common import Ratio, Row, aligned_empty, alternate, main
from livetrace import (
    RealtimeAnalyzer,
    RealtimeBuffer,
    RealtimeConfig,
    RealtimeStream,
    SimulatedSource,
)
from livetrace.analysis import MinMaxDecimator

RATE = 1e6
SYSTEM_PYTHON = "/usr/bin/python3"
_GNURADIO = r"""
import sys, time
from gnuradio import analog, blocks, gr
n = int(sys.argv[1])
tb = gr.top_block()
src = analog.sig_source_f(1e6, analog.GR_SIN_WAVE, 1e3, 1.0)
head = blocks.head(gr.sizeof_float, n)
avg = blocks.moving_average_ff(1000, 1.0 / 1000, 4000)
sink = blocks.null_sink(gr.sizeof_float)
tb.connect(src, head, avg, sink)
t0 = time.perf_counter()
tb.run()
print(n / (time.perf_counter() - t0))
"""


# ----------------------------------------------------------------------------- buffer
def _floor_step(chunk: int, slots: int, *, aligned: bool) -> Callable[[], int]:
    """One np.copyto into a ring slot plus one copy out, no lock: the bare floor."""
    src = np.random.default_rng(0).standard_normal(chunk).astype(np.float32)
    size = chunk * slots
    if aligned:
        ring = aligned_empty(size, np.float32, like=src)
        out = aligned_empty(chunk, np.float32, like=src)
    else:  # a ring 16 bytes off the source's page offset: the 4K-aliasing trap
        ring = aligned_empty(size + 4, np.float32, like=src)[4:]
        out = aligned_empty(chunk, np.float32, like=src)
    pos = [0]

    def step() -> int:
        p = pos[0]
        np.copyto(ring[p : p + chunk], src)
        np.copyto(out, ring[p : p + chunk])
        pos[0] = (p + chunk) % size
        return chunk

    return step


def _buffer_step(chunk: int, slots: int) -> Callable[[], int]:
    cfg = RealtimeConfig(
        sample_rate=RATE, buffer_size=chunk * slots, chunk_size=chunk, dtype="float32"
    )
    buf = RealtimeBuffer(cfg)
    src = np.random.default_rng(0).standard_normal(chunk).astype(np.float32)

    def step() -> int:
        buf.write(src)
        buf.read(chunk)
        return chunk

    return step


# ----------------------------------------------------------------------------- statistics
def _stats_steps(dtype: str, chunk: int, window: int) -> dict[str, Callable[[], int]]:
    data = np.random.default_rng(1).standard_normal(chunk * 64).astype(dtype)
    cfg = RealtimeConfig(sample_rate=RATE, window_size=window, buffer_size=window, dtype=dtype)
    an = RealtimeAnalyzer(cfg)  # the compiled kernel when it was built
    an_numpy = RealtimeAnalyzer(cfg, compiled=False)
    i = [0, 0, 0, 0]

    def ours() -> int:
        k = i[0]
        an.accumulate(data[k * chunk : (k + 1) * chunk])
        an.get_statistics()
        i[0] = (k + 1) % 64
        return chunk

    def ours_numpy() -> int:
        k = i[3]
        an_numpy.accumulate(data[k * chunk : (k + 1) * chunk])
        an_numpy.get_statistics()
        i[3] = (k + 1) % 64
        return chunk

    def reductions() -> int:  # the floor: one pass of each reduction over the chunk
        k = i[1]
        x = data[k * chunk : (k + 1) * chunk]
        np.add.reduce(x, dtype=np.float64)
        # dot products of 4096 samples: below the length at which OpenBLAS starts threads
        # (which on a loaded 2-core machine can make one np.dot take milliseconds)
        rows = x.reshape(-1, 4096)
        np.vecdot(rows, rows)
        np.minimum.reduce(x)
        np.maximum.reduce(x)
        i[1] = (k + 1) % 64
        return chunk

    ring = np.zeros(window)

    def naive() -> int:  # what a user without the analyser writes: two passes over the window
        k = i[2]
        x = data[k * chunk : (k + 1) * chunk]
        p = (k * chunk) % window
        idx = (p + np.arange(chunk)) % window
        ring[idx] = x
        ring.mean()
        ring.std()
        ring.min()
        ring.max()
        i[2] = (k + 1) % 64
        return chunk

    steps = {"ours": ours, "reductions": reductions, "naive": naive}
    if an.compiled:
        steps["numpy"] = ours_numpy
    return steps


# ----------------------------------------------------------------------------- end to end
def gnuradio_rate(n: int) -> float | None:
    """GNU Radio's graph, samples/s, in a child process; None when GNU Radio is missing."""
    if not os.path.exists(SYSTEM_PYTHON):
        return None
    try:
        out = subprocess.run(
            [SYSTEM_PYTHON, "-c", _GNURADIO, str(n)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return float(out.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError):
        return None


class _ThreadTimedSource(SimulatedSource):
    """Simulated source noting the CPU time of the thread that calls ``acquire()``."""

    cpu = 0.0

    def acquire(self) -> Any:
        self.cpu = time.thread_time()
        return super().acquire()


def stream_rate(
    n: int,
    *,
    sinks: Iterable[Any] = (),
    analyzers: Iterable[Any] = (),
    chunk: int = 65536,
    window: int = 1000,
) -> tuple[float, int, float, float]:
    """(samples/s, gaps + drops, acquisition-thread CPU / wall, consumer CPU / wall)."""
    src = _ThreadTimedSource(
        "sine", frequency=1e3, sample_rate=RATE, chunk_size=chunk, realtime=False, dtype="float32"
    )
    cfg = RealtimeConfig(
        sample_rate=RATE,
        chunk_size=chunk,
        buffer_size=chunk * 16,
        overflow="block",
        dtype="float32",
        window_size=window,
    )
    got = 0
    gaps = 0
    expected = 0
    stream = RealtimeStream(cfg, src, sinks=sinks, analyzers=analyzers)
    t0 = time.perf_counter()
    c0 = time.thread_time()
    with stream:
        for c in stream:
            if c.start_index != expected:
                gaps += 1
            expected = c.end_index
            stream.get_statistics()
            got += len(c)
            if got >= n:
                break
        wall = time.perf_counter() - t0
        consumer = time.thread_time() - c0
    gaps += stream.get_buffer_stats().dropped
    return got / wall, gaps, src.cpu / wall, consumer / wall


def _latency(seconds: float) -> tuple[float, float, int]:
    """Paced 1 MS/s source, 1000-sample chunks: time from acquire() to the consumer."""
    stamps: dict[int, float] = {}

    class Stamped(SimulatedSource):
        def acquire(self) -> Any:
            start = self.samples_generated
            out = super().acquire()
            if out is not None:
                stamps[start] = time.perf_counter()
            return out

    src = Stamped(sample_rate=RATE, chunk_size=1000, dtype="float32")
    cfg = RealtimeConfig(sample_rate=RATE, chunk_size=1000, buffer_size=1_000_000)
    lat: list[float] = []
    t_end = time.perf_counter() + seconds
    with RealtimeStream(cfg, src) as stream:
        for c in stream:
            now = time.perf_counter()
            stamp = stamps.pop(c.start_index, None)
            if stamp is not None:
                lat.append(now - stamp)
            if now >= t_end:
                break
    arr = np.array(lat[50:]) * 1e3  # skip start-up
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99)), len(arr)


def run(quick: bool = False) -> tuple[list[Ratio], list[Row]]:
    """Measure every core figure; ``quick`` shortens each measurement."""
    mt = 0.05 if quick else 0.25
    rounds = 1 if quick else 5
    ratios: list[Ratio] = []
    rows: list[Row] = []

    # buffer vs floor
    for chunk, target in ((1024, 0.4), (16384, None), (65536, 0.75)):
        slots = max(4, (1 << 20) // chunk)
        r = alternate(
            {
                "ours": _buffer_step(chunk, slots),
                "floor": _floor_step(chunk, slots, aligned=True),
                "trap": _floor_step(chunk, slots, aligned=False),
            },
            rounds=rounds,
            min_time=mt,
        )
        ratios.append(
            Ratio(
                f"RealtimeBuffer write+read f32, {chunk}-sample chunks / bare floor",
                r["ours"] / 1e6,
                r["floor"] / 1e6,
                "one copyto in + one out, no lock",
                target=target,
            )
        )
        rows.append(
            Row(f"bare floor misaligned by 16 B (4K trap), {chunk}", r["trap"] / 1e6, "MS/s")
        )

    # statistics
    for dtype, target in (("float32", 150.0), ("float64", 100.0)):
        r = alternate(_stats_steps(dtype, 16384, 100_000), rounds=rounds, min_time=mt)
        name = f"accumulate+get_statistics {dtype}, 16384 chunks, window 1e5"
        ratios.append(
            Ratio(f"{name} / reductions", r["ours"] / 1e6, r["reductions"] / 1e6, "sum+dot+min+max")
        )
        ratios.append(
            Ratio(f"{name} / naive", r["ours"] / 1e6, r["naive"] / 1e6, "two-pass over window")
        )
        rows.append(
            Row(
                name,
                r["ours"] / 1e6,
                "MS/s",
                target=target,
                note="compiled kernel" if "numpy" in r else "numpy implementation (no kernel)",
            )
        )
        if "numpy" in r:
            rows.append(
                Row("  same, numpy implementation (compiled=False)", r["numpy"] / 1e6, "MS/s")
            )

    # end to end vs GNU Radio, alternating
    n = (20 if quick else 200) * (1 << 20)
    tmp = tempfile.mkdtemp(prefix="livetrace-bench-", dir=os.environ.get("TMPDIR"))
    try:
        from livetrace.sinks import Recorder

        def recorder() -> list[Any]:
            return [Recorder(os.path.join(tmp, "r.h5"), overwrite=True)]

        has_h5 = True
        try:
            import h5py  # noqa: F401
        except ImportError:
            has_h5 = False
        gr: list[float] = []
        try:
            from livetrace.web import Scope

            has_web = True
        except ImportError:
            has_web = False
        runs: dict[str, list[tuple[float, int, float, float]]] = {
            "plain": [],
            "recorder": [],
            "decimator": [],
            "scope": [],
        }
        for _ in range(1 if quick else 3):
            g = gnuradio_rate(n)
            if g is not None:
                gr.append(g)
            runs["plain"].append(stream_rate(n))
            if has_h5:
                runs["recorder"].append(stream_rate(n, sinks=recorder()))
            runs["decimator"].append(stream_rate(n, analyzers=[MinMaxDecimator(bucket=64)]))
            if has_web:  # the whole web scope as a sink, no browser attached
                with Scope(port=0) as scope:
                    runs["scope"].append(stream_rate(n // 4, sinks=[scope]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    g_med = float(np.median(gr)) / 1e6 if gr else None
    for key, label in (
        ("plain", "end to end sim -> stream(block, f32, 65536, window 1000) + stats"),
        ("recorder", "  same + Recorder to local disk"),
        ("decimator", "  same + MinMaxDecimator(bucket=64)"),
        ("scope", "  same + web Scope sink (envelope, stats, frequency; no browser)"),
    ):
        res = runs[key]
        if not res:
            missing = "h5py" if key == "recorder" else "aiohttp"
            rows.append(Row(label, float("nan"), "MS/s", note=f"{missing} not installed"))
            continue
        rate = float(np.median([r[0] for r in res])) / 1e6
        gaps = sum(r[1] for r in res)
        acq = float(np.median([r[2] for r in res]))
        con = float(np.median([r[3] for r in res]))
        if g_med is not None:
            ratios.append(
                Ratio(
                    f"{label.strip()} / GNU Radio",
                    rate,
                    g_med,
                    "GNU Radio 3.10 sig_source_f->head->moving_average_ff(1000)->null_sink",
                    target=1.5 if key == "plain" else None,
                )
            )
        rows.append(
            Row(
                label,
                rate,
                "MS/s",
                note=f"gaps+drops {gaps}; thread CPU/wall: acquisition {acq:.2f}, "
                f"consumer {con:.2f}",
            )
        )
    rows.append(
        Row(
            "GNU Radio 3.10 C++ graph, same run",
            g_med if g_med is not None else float("nan"),
            "MS/s",
            note="child process, Debian /usr/bin/python3"
            if g_med is not None
            else "not available (GNU Radio not installed)",
        )
    )

    p50, p99, count = _latency(0.5 if quick else 3.0)
    rows.append(Row("latency acquire->consumer p50, paced 1 MS/s, 1000", p50, "ms"))
    rows.append(
        Row("latency p99", p99, "ms", target=5.0, higher_is_better=False, note=f"{count} chunks")
    )
    return ratios, rows


if __name__ == "__main__":
    main("core: buffer, statistics, stream", run, __doc__)
