"""Child process: publishes a ramp (sample i has the value i) into shared memory.

Usage: python _shm_publisher.py NAME TOTAL CHUNK CAPACITY PAUSE [DESCRIPTORS]
Prints ``ready`` once the segment exists, writes TOTAL samples (TOTAL < 0: forever) in chunks of
CHUNK (every 7th chunk 3 samples shorter, so chunks straddle the ring's end), sleeping PAUSE
seconds between chunks, then closes cleanly and prints ``done``. Two channels: (i, -i).
DESCRIPTORS (default 64) sizes the descriptor table.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from livetrace import TraceMetadata, WaveformTrace
from livetrace.sinks import ShmPublisher
from livetrace.sources import SourceInfo

RATE = 1e6
T0 = 1000.0  # POSIX time of sample 0


def main() -> None:
    name, total, chunk, capacity, pause = (
        sys.argv[1],
        int(sys.argv[2]),
        int(sys.argv[3]),
        int(sys.argv[4]),
        float(sys.argv[5]),
    )
    info = SourceInfo(
        sample_rate=RATE,
        dtype="float64",
        n_channels=2,
        channel_names=("x", "y"),
        units=("V", "V"),
        start_time=T0,
    )
    descriptors = int(sys.argv[6]) if len(sys.argv) > 6 else 64
    pub = ShmPublisher(name, capacity_samples=capacity, descriptors=descriptors)
    pub.open(info)
    print("ready", flush=True)
    sign = np.array([1.0, -1.0])
    index = 0
    k = 0
    while total < 0 or index < total:
        n = chunk - 3 if k % 7 == 6 else chunk
        if total >= 0:
            n = min(n, total - index)
        data = np.arange(index, index + n, dtype=np.float64)[:, None] * sign
        md = TraceMetadata(sample_rate=RATE, start_index=index, start_time=T0 + index / RATE)
        pub.write(WaveformTrace(data, md))
        index += n
        k += 1
        if pause:
            time.sleep(pause)
    pub.close()
    print("done", index, flush=True)


if __name__ == "__main__":
    main()
