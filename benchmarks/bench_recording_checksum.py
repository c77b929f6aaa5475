"""What the recording's Fletcher-32 checksums cost: Recorder write throughput (MB/s) and file
size with ``checksums=True`` (the default) and ``checksums=False``, same run, same chunks,
alternating rounds; then the ratio. Also the time ``RecordingReader.verify()`` takes.

Usage: python benchmarks/bench_recording_checksum.py [--mb 400] [--rounds 3] [--dir DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from livetrace import SourceInfo, TraceMetadata, WaveformTrace
from livetrace.sinks import Recorder, RecordingReader

CHUNK = 65536  # samples per write, float32, 2 channels


def write_rate(path: Path, chunk: np.ndarray, n_chunks: int, *, checksums: bool) -> float:
    rec = Recorder(path, overwrite=True, flush_interval=1.0, checksums=checksums)
    rec.open(SourceInfo(sample_rate=1e6, dtype="float32", n_channels=chunk.shape[1]))
    t0 = time.perf_counter()
    for i in range(n_chunks):
        rec.write(WaveformTrace(chunk, TraceMetadata(sample_rate=1e6, start_index=i * CHUNK)))
    rec.close()
    return chunk.nbytes * n_chunks / (time.perf_counter() - t0) / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=400.0, help="MB written per run")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    ap.add_argument("--dir", default=None, help="directory to write in (default: a temp dir)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    chunk = rng.standard_normal((CHUNK, 2)).astype(np.float32)
    n_chunks = max(1, int(args.mb * 1e6 / chunk.nbytes))
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        rates: dict[bool, list[float]] = {True: [], False: []}
        sizes: dict[bool, int] = {}
        for _ in range(args.rounds):
            for checksums in (False, True):
                path = Path(tmp) / f"rec-{int(checksums)}.h5"
                rates[checksums].append(write_rate(path, chunk, n_chunks, checksums=checksums))
                sizes[checksums] = path.stat().st_size
        t0 = time.perf_counter()
        with RecordingReader(Path(tmp) / "rec-1.h5") as r:
            damaged = r.verify()
        verify_s = time.perf_counter() - t0
    off, on = statistics.median(rates[False]), statistics.median(rates[True])
    mb = chunk.nbytes * n_chunks / 1e6
    print(f"Recorder.write, {mb:.0f} MB of float32 x 2 channels, median of {args.rounds} rounds")
    print(f"  checksums=False: {off:8.1f} MB/s   file {sizes[False] / 1e6:8.1f} MB")
    print(f"  checksums=True:  {on:8.1f} MB/s   file {sizes[True] / 1e6:8.1f} MB")
    print(f"  ratio (with / without): {on / off:.3f}  ({(1 - on / off) * 100:+.1f} % slower)")
    print(f"  verify() of the checksummed file: {verify_s:.2f} s ({mb / verify_s:.0f} MB/s)")
    print(f"  damaged ranges found: {len(damaged)}")


if __name__ == "__main__":
    main()
