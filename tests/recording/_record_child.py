"""Child process for the crash test: records a paced, deterministic, gappy signal forever.

Usage: python _record_child.py PATH FLUSH_INTERVAL
Absolute sample ``i`` has the value ``signal().generate(i, 1)``; every 5th block of
``BLOCK`` samples is skipped (a gap the recording must keep). Runs until killed.
"""

from __future__ import annotations

import sys
from typing import Any

from livetrace import Block, RealtimeSource, RealtimeStream, SimulatedSource, SourceInfo
from livetrace.sinks import Recorder

RATE = 20000.0
BLOCK = 500
SKIP_EVERY = 5


def signal(realtime: bool = False) -> SimulatedSource:
    return SimulatedSource(
        "sine",
        frequency=123.0,
        amplitude=2.0,
        sample_rate=RATE,
        chunk_size=BLOCK,
        dtype="float32",
        realtime=realtime,
        n_channels=2,
    )


class GappySine(RealtimeSource):
    """A real-time sine that drops every ``SKIP_EVERY``-th block (declared as a jump)."""

    def __init__(self) -> None:
        self.sim = signal(realtime=True)
        self.k = 0

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(
            sample_rate=RATE,
            dtype="float32",
            n_channels=2,
            channel_names=("left", "right"),
            units=("V", "mV"),
            description="crash-test sine",
        )

    def start(self) -> None:
        self.sim.start()

    def stop(self) -> None:
        self.sim.stop()

    def acquire(self) -> Any:
        data = self.sim.acquire()
        if data is None:
            return None
        self.k += 1
        if self.k % SKIP_EVERY == 0:
            return None  # lost: the next block's start_index jumps over it
        return Block(data, start_index=self.sim.samples_generated - len(data))


def main() -> None:
    path, flush = sys.argv[1], float(sys.argv[2])
    rec = Recorder(path, flush_interval=flush, attrs={"run": "crash-test"})
    stream = RealtimeStream.from_source(GappySine(), chunk_size=BLOCK, sinks=[rec])
    stream.run()  # forever, until the parent kills us


if __name__ == "__main__":
    main()
