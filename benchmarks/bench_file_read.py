"""Reading binary files frame by frame with pread, beside a memory map, in one run.

FileSource reads .npy, raw and WAV files with ``pread`` into new arrays instead of slicing a
memory map, so that a file truncated under a replay is a clear error instead of a SIGBUS.
This prints what that costs: FileSource.acquire() (unpaced, 65536-frame chunks, float32)
next to a bare memory-map slice copied into a new array, the same bytes from the page cache.

    python benchmarks/bench_file_read.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from livetrace import EndOfStream
from livetrace.sources import FileSource

CHUNK = 65536


def bare_memmap(path: Path, n: int) -> float:
    arr = np.load(path, mmap_mode="r")
    t0 = time.perf_counter()
    for pos in range(0, n, CHUNK):
        np.array(arr[pos : pos + CHUNK])  # the copy a stream's buffer makes of a mapped slice
    return n / (time.perf_counter() - t0)


def file_source(path: Path, n: int) -> float:
    src = FileSource(path, sample_rate=1e6, speed=None, chunk_size=CHUNK)
    t0 = time.perf_counter()
    try:
        while True:
            src.acquire()
    except EndOfStream:
        pass
    rate = n / (time.perf_counter() - t0)
    src.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16 M samples instead of 64 M")
    args = parser.parse_args()
    n = (16 if args.quick else 64) << 20
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.npy"
        np.save(path, np.arange(n, dtype=np.float32))
        with open(path, "rb") as f:  # into the page cache, for both readers alike
            while f.read(1 << 24):
                pass
        ours, ref = [], []
        for _ in range(3):  # alternate A B A B A B
            ours.append(file_source(path, n))
            ref.append(bare_memmap(path, n))
    print(f"machine: {os.cpu_count()} cores, numpy {np.__version__}")
    ratio = np.median(ours) / np.median(ref)
    print(f"FileSource pread / bare memmap copy: {ratio:.2f}x (median of 3, same run)")
    print(
        f"  this machine, this run: FileSource {np.median(ours) / 1e6:.0f} MS/s, "
        f"memmap copy {np.median(ref) / 1e6:.0f} MS/s (float32, {CHUNK}-frame chunks)"
    )


if __name__ == "__main__":
    main()
