"""Shared memory: one publisher process -> 4 reader processes, float32, 65536-sample chunks.

Each figure is printed next to a reference measured in the same run, in the same topology:
one writer process and 4 reader processes doing nothing but ``np.copyto`` into and out of a
plain shared-memory ring (no counters, no checks). Modes, in order A B A B...:

- ``bare``: the reference; the writer copies chunks into the ring round and round, and each
  reader copies ring slots into its own page-offset-matched array as fast as it can, without
  waiting for new data or checking anything (a ceiling, not a protocol);
- ``views``: ShmPublisher + ShmSource.read(copy=False) and ``valid()``: samples/s handed to the
  reader as read-only views;
- ``copies``: ShmPublisher + ShmSource.read(copy=True, out=...): samples/s copied out.

The publisher runs flat out, so on a machine with fewer cores than processes the readers
share the CPU with it and fall behind: each reader's figure is samples delivered per second,
and the fraction it lost (counted exactly) is printed beside it.

Usage: python benchmarks/bench_shm.py [--seconds 2] [--readers 4] [--rounds 2]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import time
import uuid
from multiprocessing import shared_memory
from typing import Any

import numpy as np

from _common import machine_busy, process_cpu

CHUNK = 65536
RING_CHUNKS = 128


def _bare_writer(seg: str, seconds: float, go: Any, out_q: Any) -> None:
    shm = shared_memory.SharedMemory(name=seg)  # spawn children share the parent's tracker
    ring = np.ndarray((RING_CHUNKS, CHUNK), np.float32, shm.buf)
    src = np.random.default_rng(0).standard_normal(CHUNK).astype(np.float32)
    go.wait()
    t0, c0 = time.perf_counter(), process_cpu()
    end = t0 + seconds
    k = 0
    while time.perf_counter() < end:
        np.copyto(ring[k % RING_CHUNKS], src)
        k += 1
    wall = time.perf_counter() - t0
    out_q.put(("writer", k * CHUNK / wall, (process_cpu() - c0) / wall))
    del ring
    shm.close()


def _bare_reader(seg: str, seconds: float, go: Any, out_q: Any) -> None:
    shm = shared_memory.SharedMemory(name=seg)  # spawn children share the parent's tracker
    ring = np.ndarray((RING_CHUNKS, CHUNK), np.float32, shm.buf)
    raw = np.empty(CHUNK * 4 + 8192, np.uint8)
    skip = (ring.ctypes.data - raw.ctypes.data) % 4096
    out = raw[skip : skip + CHUNK * 4].view(np.float32)
    go.wait()
    t0, c0 = time.perf_counter(), process_cpu()
    end = t0 + seconds
    n = 0
    k = 0
    while time.perf_counter() < end:  # no waiting and no checks: the copy alone
        np.copyto(out, ring[k % RING_CHUNKS])
        k += 1
        n += CHUNK
    elapsed = time.perf_counter() - t0
    out_q.put(("reader", n / elapsed, float("nan"), (process_cpu() - c0) / elapsed))
    del ring
    shm.close()


def _lt_writer(name: str, seconds: float, go: Any, ready: Any, out_q: Any) -> None:
    from livetrace import TraceMetadata, WaveformTrace
    from livetrace.sinks import ShmPublisher
    from livetrace.sources import SourceInfo

    pub = ShmPublisher(name, capacity_samples=CHUNK * RING_CHUNKS)
    pub.open(SourceInfo(sample_rate=1e9, dtype="float32", start_time=0.0))
    ready.set()
    src = np.random.default_rng(0).standard_normal(CHUNK).astype(np.float32)
    go.wait()
    t0, c0 = time.perf_counter(), process_cpu()
    end = t0 + seconds
    i = 0
    while time.perf_counter() < end:
        pub.write(WaveformTrace(src, TraceMetadata(1e9, start_index=i)))
        i += CHUNK
    wall = time.perf_counter() - t0
    out_q.put(("writer", i / wall, (process_cpu() - c0) / wall))
    pub.close()


def _lt_reader(name: str, seconds: float, go: Any, out_q: Any, copy: bool) -> None:
    from livetrace import EndOfStream
    from livetrace.sources import ShmSource

    # copies: one chunk per read into a reused array; views: whatever is there, up to the ring end
    src = ShmSource(name, start="latest", max_samples=CHUNK if copy else CHUNK * 16, wait=5.0)
    out = np.empty(CHUNK, np.float32) if copy else None
    go.wait()
    t0, c0 = time.perf_counter(), process_cpu()
    end = t0 + seconds
    n = 0
    while time.perf_counter() < end:
        try:
            piece = src.read(copy=copy, out=out, timeout=0.05)
        except EndOfStream:
            break
        if piece is None:
            continue
        if copy or piece.valid():
            n += len(piece.data)
    elapsed = time.perf_counter() - t0
    h = src.health()
    total = h["samples"] + h["lost_samples"]
    lost = h["lost_samples"] / total if total else 0.0
    out_q.put(("reader", n / elapsed, lost, (process_cpu() - c0) / elapsed))


def run_mode(mode: str, seconds: float, readers: int) -> tuple[list[tuple[float, float]], Any]:
    """Each reader's (rate, fraction lost) and CPU use (cores) of the writer and readers."""
    ctx = mp.get_context("spawn")
    go = ctx.Barrier(readers + 2)
    out_q = ctx.Queue()
    procs: list[Any] = []
    shm = None
    if mode == "bare":
        seg = f"lvbench-{uuid.uuid4().hex[:8]}"
        shm = shared_memory.SharedMemory(name=seg, create=True, size=RING_CHUNKS * CHUNK * 4)
        procs.append(ctx.Process(target=_bare_writer, args=(seg, seconds, go, out_q)))
        procs += [
            ctx.Process(target=_bare_reader, args=(seg, seconds, go, out_q)) for _ in range(readers)
        ]
        for p in procs:
            p.start()
    else:
        name = f"bench{uuid.uuid4().hex[:8]}"
        ready = ctx.Event()
        writer = ctx.Process(target=_lt_writer, args=(name, seconds + 0.5, go, ready, out_q))
        writer.start()
        ready.wait(60)
        procs = [writer] + [
            ctx.Process(target=_lt_reader, args=(name, seconds, go, out_q, mode == "copies"))
            for _ in range(readers)
        ]
        for p in procs[1:]:
            p.start()
    go.wait(120)  # every process imported and attached
    got = [out_q.get(timeout=seconds + 60) for _ in range(readers + 1)]
    results = [(g[1], g[2]) for g in got if g[0] == "reader"]
    cpu = {
        "writer": [g[2] for g in got if g[0] == "writer"],
        "reader": [g[3] for g in got if g[0] == "reader"],
    }
    for p in procs:
        p.join(30)
    if shm is not None:
        shm.close()
        shm.unlink()
    return results, cpu


def _pct(values: list[float]) -> str:
    values = [v for v in values if v == v]
    return f"{statistics.median(values) * 100:.1f}%" if values else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--readers", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    found: dict[str, list[float]] = {"bare": [], "views": [], "copies": []}
    lost: dict[str, list[float]] = {"bare": [], "views": [], "copies": []}
    cpus: dict[str, dict[str, list[float]]] = {m: {"writer": [], "reader": []} for m in found}
    busy0, total0 = machine_busy()
    for _ in range(args.rounds):
        for mode in ("bare", "views", "bare", "copies"):
            res, cpu = run_mode(mode, args.seconds, args.readers)
            found[mode] += [r for r, _ in res]
            lost[mode] += [f for _, f in res]
            for who in ("writer", "reader"):
                cpus[mode][who] += cpu[who]
    busy1, total1 = machine_busy()
    bare = statistics.median(found["bare"])
    print(
        f"publisher -> {args.readers} reader processes, float32, {CHUNK}-sample chunks, "
        f"{args.seconds:g} s x {args.rounds} rounds (this run, this machine; "
        f"{mp.cpu_count()} CPUs)"
    )
    print(
        f"{'mode':<8} {'per reader median':>18} {'min':>10} {'lost':>7}   ratio to bare copy"
        "   CPU (cores): writer, each reader"
    )
    for mode in ("bare", "views", "copies"):
        med = statistics.median(found[mode])
        print(
            f"{mode:<8} {med / 1e9:>14.2f} GS/s {min(found[mode]) / 1e9:>7.2f} GS "
            f"{_pct(lost[mode]):>7}   {med / bare:>18.2f}   "
            f"{statistics.median(cpus[mode]['writer']):.2f}, "
            f"{statistics.median(cpus[mode]['reader']):.2f}"
        )
    print(
        f"machine CPU busy during the runs (all processes, this benchmark's and others'): "
        f"{(busy1 - busy0) / (total1 - total0):.0%} of {mp.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
