"""LSL source throughput: livetrace's LslSource (alone and through a RealtimeStream) against a
plain pylsl ``pull_chunk`` loop, side by side, draining the same samples from an inlet.

A producer process pushes ``N`` samples of ``C`` float32 channels into a pylsl outlet (on a
regular timestamp grid) while the inlet is connected but not read, so liblsl's inlet buffer
holds them all; each reader then drains them and the time from its first to its last pull
is measured. liblsl is pinned to 127.0.0.1 and a private session (``LSLAPICFG``).

    python benchmarks/bench_lsl.py [N] [C]
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from typing import Any

import numpy as np

CONFIG = """[ports]
IPv6 = disable
[multicast]
ResolveScope = machine
ListenAddress = 127.0.0.1
MachineAddresses = {127.0.0.1}
[lab]
KnownPeers = {127.0.0.1}
SessionID = livetrace-bench-%d
[log]
level = -2
"""
RATE = 1_000_000.0
CHUNK = 1000
STREAM_CHUNK = 20_000


def _configure() -> None:
    if "LSLAPICFG" not in os.environ:
        path = os.path.join(tempfile.mkdtemp(prefix="lt-lsl-bench-"), "lsl_api.cfg")
        with open(path, "w", encoding="ascii") as f:
            f.write(CONFIG % os.getpid())
        os.environ["LSLAPICFG"] = path


def producer(name: str, n: int, c: int, go: Any, done: Any) -> None:
    import pylsl

    info = pylsl.StreamInfo(name, "bench", c, RATE, "float32", name)
    out = pylsl.StreamOutlet(info, 0, 360)
    go.wait()
    block = np.arange(CHUNK * c, dtype=np.float32).reshape(CHUNK, c)
    t0 = pylsl.local_clock()
    for k in range(0, n, CHUNK):
        out.push_chunk(block, t0 + (k + CHUNK - 1) / RATE)
    done.set()
    time.sleep(60)  # keep the outlet alive until the parent ends this process


def drain_plain(inlet: Any, n: int, c: int) -> float:
    got = 0
    t0 = time.perf_counter()
    while got < n:
        buf = np.empty((65536, c), dtype=np.float32)
        _, ts = inlet.pull_chunk(timeout=0.05, max_samples=65536, dest_obj=buf, as_numpy=True)
        got += len(ts)
    return n / (time.perf_counter() - t0)


def drain_source(src: Any, n: int) -> float:
    got = 0
    t0 = time.perf_counter()
    while got < n:
        blk = src.acquire()
        if blk is not None:
            got += len(blk.data)
    return n / (time.perf_counter() - t0)


def drain_stream(src: Any, n: int) -> float:
    from livetrace import RealtimeStream

    got = 0
    # chunk_size divides n: a stream holds back a partial chunk of an endless source
    with RealtimeStream.from_source(src, chunk_size=STREAM_CHUNK, overflow="block") as stream:
        t0 = time.perf_counter()
        for chunk in stream:
            got += len(chunk.data)
            if got >= n:
                break
        rate = got / (time.perf_counter() - t0)
    return rate


def one_run(kind: str, n: int, c: int) -> float:
    import pylsl

    from livetrace.sources import LslSource

    name = f"bench-{uuid.uuid4().hex[:8]}"
    ctx = mp.get_context("spawn")
    go, done = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=producer, args=(name, n, c, go, done), daemon=True)
    proc.start()
    try:
        src = LslSource(name, timeout=10, chunk_size=65536, max_buflen=int(2 * n / RATE) + 5)
        src.start()
        go.set()
        done.wait(120)
        time.sleep(0.5)  # the last chunks reach the inlet buffer
        if kind == "pylsl pull_chunk loop":
            rate = drain_plain(src._inlet, n, c)
        elif kind == "LslSource.acquire loop":
            rate = drain_source(src, n)
        else:
            rate = drain_stream(src, n)
        assert src.health()["gaps"] == 0, src.health()
        src.close()
        del pylsl
    finally:
        proc.terminate()
        proc.join()
    return rate


def main() -> None:
    _configure()
    from _common import Ratio, Row, print_report

    n = int(float(sys.argv[1])) if len(sys.argv) > 1 else 1_000_000
    if n % STREAM_CHUNK:
        raise SystemExit(f"N must be a multiple of {STREAM_CHUNK}")
    c = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    rows = []
    best: dict[str, float] = {}
    for kind in ("pylsl pull_chunk loop", "LslSource.acquire loop", "LslSource -> RealtimeStream"):
        rates = [one_run(kind, n, c) for _ in range(3)]
        best[kind] = max(rates) / 1e6
        rows.append(
            Row(
                f"{kind} ({c} ch float32)",
                best[kind],
                "M samples/s",
                note=f"runs: {', '.join(f'{r / 1e6:.2f}' for r in rates)}",
            )
        )
    ref = "pylsl pull_chunk loop"
    ratios = [Ratio(k, best[k], best[ref], ref, unit="M samples/s") for k in best if k != ref]
    print_report(f"LSL inlet drain, {n} samples x {c} channels, loopback", ratios, rows)


if __name__ == "__main__":
    main()
