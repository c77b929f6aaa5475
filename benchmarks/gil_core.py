"""Who holds the GIL, and for what: the end-to-end stream of ``bench_core.py`` under py-spy.

Runs the unpaced ``SimulatedSource`` -> ``RealtimeStream`` (``overflow="block"``, float32,
65536-sample chunks, window 1000) -> iteration + ``get_statistics()`` benchmark in a child
process sampled by ``py-spy record --gil --threads`` (only the thread holding the GIL is
sampled at each tick), and prints, for the acquisition thread and the consumer (main) thread,
the fraction of the wall time it held the GIL and where that time went. The samples of one
run are compared with each other only, so the figures are fractions, not rates; the thread
CPU/wall times come from the same child.

Needs py-spy (``pip install py-spy``). Usage: ``python benchmarks/gil_core.py [--seconds 8]``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile

from _common import machine

RATE = 250  # samples per second taken by py-spy

_CHILD = r"""
import json, sys, threading, time
sys.path.insert(0, {bench!r})
from bench_core import stream_rate
deadline = time.perf_counter() + {seconds}
t0 = time.perf_counter()
rates = []
while time.perf_counter() < deadline:
    rates.append(stream_rate(65536 * 1500))
wall = time.perf_counter() - t0
print(json.dumps({{"wall": wall, "rate": sum(r[0] for r in rates) / len(rates),
                  "acq": sum(r[2] for r in rates) / len(rates),
                  "con": sum(r[3] for r in rates) / len(rates)}}))
"""

# what the innermost recognised frame of a sample was doing (checked from the leaf outwards)
_PLACES = [
    ("waiting for the other thread (lock, condition)", ("Condition.", "Event.wait")),
    ("statistics", ("_stats.py",)),
    ("buffer write", ("RealtimeBuffer.write_at", "RealtimeBuffer._store", "_write_blocking")),
    (
        "buffer read",
        ("RealtimeBuffer.read_block", "RealtimeBuffer._take", "_advance", "OutputPool"),
    ),
    ("source acquire", ("SimulatedSource.", "_ThreadTimedSource.")),
    ("stream + pipeline (chunk objects, clock)", ("_stream.py", "_pipeline.py", "_clock.py")),
]


def _place(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, keys in _PLACES:
            if any(k in frame for k in keys):
                return name
    return "other (interpreter, benchmark loop)"


def _thread(stack: str) -> str | None:
    if "livetrace-acquire" in stack:
        return "acquisition"
    if "MainThread" in stack and "stream_rate (" in stack:
        return "consumer (main)"
    return None  # start-up imports, helper threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    spy = shutil.which("py-spy")
    if spy is None:
        print("py-spy not installed: pip install py-spy")
        sys.exit(1)
    bench = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "child.py")
        raw = os.path.join(tmp, "gil.txt")
        with open(script, "w") as f:
            f.write(_CHILD.format(bench=bench, seconds=args.seconds))
        cmd = [spy, "record", "--gil", "--threads", "-r", str(RATE), "-f", "raw", "-o", raw]
        out = subprocess.run(
            [*cmd, "--", sys.executable, script], capture_output=True, text=True, check=True
        )
        line = next(x for x in reversed(out.stdout.splitlines()) if x.startswith("{"))
        result = json.loads(line)
        per_thread: dict[str, collections.Counter[str]] = collections.defaultdict(
            collections.Counter
        )
        with open(raw) as f:
            for line in f:
                stack, _, count = line.rstrip("\n").rpartition(" ")
                thread = _thread(stack)
                if thread is not None:
                    per_thread[thread][_place(stack.split(";"))] += int(count)
    ticks = result["wall"] * RATE
    print("== who holds the GIL: end-to-end stream (bench_core.py's figure) under py-spy --gil")
    print(f"   machine: {machine()}")
    print(
        f"   this run: {result['rate'] / 1e6:.0f} MS/s; thread CPU/wall: acquisition "
        f"{result['acq']:.2f}, consumer {result['con']:.2f}; {RATE} samples/s over "
        f"{result['wall']:.1f} s"
    )
    for thread in ("consumer (main)", "acquisition"):
        places = per_thread.get(thread, collections.Counter())
        held = sum(places.values())
        print(f"  {thread}: holds the GIL {held / ticks:.0%} of the wall time")
        for place, n in places.most_common():
            print(f"    {n / max(held, 1):5.0%}  {place}")


if __name__ == "__main__":
    main()
