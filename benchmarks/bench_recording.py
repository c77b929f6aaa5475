"""Recording speed: Recorder vs a bare h5py append vs raw ``file.write``, and a 50 MS/s stream.

Figures (float32, one channel, 65536-sample chunks, written to a temporary directory on the
local disk, ``flush_interval=1``):

- ``Recorder.write`` sustained MB/s (target >= 200), side by side with a bare h5py resizable
  dataset append of the same chunks and a raw ``file.write`` of the same bytes;
- a :class:`~livetrace.SimulatedSource` paced at 50 MS/s through a stream with a Recorder for
  a few seconds: samples dropped (target 0) and the delivered rate.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import Ratio, Row, main
from livetrace import RealtimeStream, SimulatedSource, TraceMetadata, WaveformTrace
from livetrace.sinks import Recorder
from livetrace.sources import SourceInfo

CHUNK = 65536


def _recorder_rate(path: Path, chunks: list[WaveformTrace], n_total: int) -> float:
    rec = Recorder(path, overwrite=True, flush_interval=1.0)
    rec.open(SourceInfo(sample_rate=50e6, dtype="float32"))
    n = 0
    t0 = time.perf_counter()
    i = 0
    while n < n_total:
        # a fresh chunk each time, positioned as the stream would deliver it
        c = WaveformTrace(
            chunks[i % len(chunks)].data, TraceMetadata(sample_rate=50e6, start_index=n)
        )
        rec.write(c)
        n += len(c)
        i += 1
    rec.close()
    dt = time.perf_counter() - t0
    return n * 4 / dt / 1e6


def _h5py_rate(path: Path, data: np.ndarray, n_total: int) -> float:
    import h5py

    t0 = time.perf_counter()
    with h5py.File(path, "w", libver="latest") as f:
        ds = f.create_dataset("x", shape=(0, 1), maxshape=(None, 1), dtype="f4", chunks=(262144, 1))
        n = 0
        block = data.reshape(-1, 1)
        while n < n_total:
            ds.resize(n + len(block), axis=0)
            ds[n : n + len(block)] = block
            n += len(block)
        f.flush()
    return n * 4 / (time.perf_counter() - t0) / 1e6


def _raw_rate(path: Path, data: np.ndarray, n_total: int) -> float:
    t0 = time.perf_counter()
    n = 0
    with open(path, "wb") as fh:
        while n < n_total:
            fh.write(data.data)
            n += len(data)
    return n * 4 / (time.perf_counter() - t0) / 1e6


def _stream_at_50ms(path: Path, seconds: float) -> tuple[int, float, float, int]:
    """(dropped, input MS/s, delivered MS/s, buffer fill at the end) for ``seconds``."""
    src = SimulatedSource(
        "sine",
        sample_rate=50e6,
        chunk_size=CHUNK * 2,
        dtype="float32",
        realtime=True,
        frequency=1.25e6,
    )
    rec = Recorder(path, overwrite=True, flush_interval=1.0)
    stream = RealtimeStream.from_source(
        src, chunk_size=CHUNK * 2, buffer_size=CHUNK * 256, sinks=[rec]
    )
    with stream:
        n = stream.run(duration=seconds)
        h = stream.health()
    # per second of the run: the source is paced, so it can only fall short, never exceed
    return h.dropped, h.samples_in / seconds / 1e6, n / seconds / 1e6, h.buffer_fill


def run(quick: bool = False) -> tuple[list[Ratio], list[Row]]:
    """Measure; quick=True writes 128 MB per method once and streams for 1 s; the full run
    writes 512 MB per method three times, alternating, and reports the medians."""
    n_total = (32 if quick else 128) * 1024 * 1024  # samples: 128 / 512 MB of float32
    rounds = 1 if quick else 3
    base = Path(tempfile.mkdtemp(prefix="livetrace-bench-", dir=os.environ.get("TMPDIR")))
    try:
        rng = np.random.default_rng(0)
        data = rng.standard_normal(CHUNK).astype(np.float32)
        chunks = [
            WaveformTrace(data.copy(), TraceMetadata(sample_rate=50e6, start_index=0))
            for _ in range(4)
        ]
        rec, bare, raw = [], [], []
        for _ in range(rounds):  # alternate so that disk write-back hits each method alike
            rec.append(_recorder_rate(base / "rec.h5", chunks, n_total))
            (base / "rec.h5").unlink()
            bare.append(_h5py_rate(base / "bare.h5", data, n_total))
            (base / "bare.h5").unlink()
            raw.append(_raw_rate(base / "raw.bin", data, n_total))
            (base / "raw.bin").unlink()
        dropped, rate_in, rate_out, fill = _stream_at_50ms(
            base / "stream.h5", 1.0 if quick else 4.0
        )
        size = f"{n_total * 4 / 1e6:.0f} MB x {rounds}, median; 65536-sample chunks"
        ratios = [
            Ratio(
                "Recorder.write / bare h5py append",
                float(np.median(rec)),
                float(np.median(bare)),
                "h5py resizable dataset, same chunks",
                unit="MB/s",
            ),
            Ratio(
                "Recorder.write / raw file.write",
                float(np.median(rec)),
                float(np.median(raw)),
                "file.write of the same bytes",
                unit="MB/s",
            ),
        ]
        return ratios, [
            Row("Recorder.write float32 sustained", float(np.median(rec)), "MB/s", 200.0, size),
            Row("bare h5py resize+write (reference)", float(np.median(bare)), "MB/s", note=size),
            Row("raw file.write (reference)", float(np.median(raw)), "MB/s", note=size),
            Row(
                "stream + Recorder @ 50 MS/s: dropped",
                float(dropped),
                "samples",
                0.0,
                higher_is_better=False,
            ),
            Row("stream + Recorder @ 50 MS/s: source input", rate_in, "MS/s", 50.0 * 0.95),
            Row(
                "stream + Recorder @ 50 MS/s: recorded",
                rate_out,
                "MS/s",
                note=f"{fill} samples still buffered at stop",
            ),
        ]
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main("recording", run, __doc__)
