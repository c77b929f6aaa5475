"""Real-time pacing and the default chunk length, shared by every source that replays or
generates samples (the simulator, arrays, files, recordings, programs).
"""

from __future__ import annotations

import threading
import time

__all__ = ["MAX_DEFAULT_CHUNK", "MIN_DEFAULT_CHUNK", "Pacer", "default_chunk"]

MIN_DEFAULT_CHUNK = 256
MAX_DEFAULT_CHUNK = 65536


def default_chunk(sample_rate: float, *, paced: bool = True) -> int:
    """Samples per chunk when the user chose none: about 10 ms of signal, at least 256 and at
    most 65536; 65536 when the source is not paced (throughput matters, not latency)."""
    if not paced:
        return MAX_DEFAULT_CHUNK
    return max(MIN_DEFAULT_CHUNK, min(MAX_DEFAULT_CHUNK, int(sample_rate / 100)))


class Pacer:
    """Paces delivery to ``rate`` samples per second of a monotonic clock, without drift.

    The clock is anchored at the first :meth:`wait` after construction or :meth:`reanchor`
    (call it from ``start()`` so that a pause does not cause a burst). ``wait(begin, end)``
    sleeps until samples ``begin .. end-1`` are due, i.e. until ``end / rate`` seconds after
    the time at which sample 0 would have been due; positions are absolute, so a gap in
    ``begin`` takes the time it would have taken. The sleep is ``stop.wait``: :meth:`wait`
    returns False at once when ``stop`` is set.
    """

    __slots__ = ("_anchor", "_stop", "rate")

    def __init__(self, rate: float, stop: threading.Event) -> None:
        self.rate = float(rate)
        self._stop = stop
        self._anchor: float | None = None

    def reanchor(self) -> None:
        """Forget the anchor: the next :meth:`wait` delivers at once and paces from there."""
        self._anchor = None

    def wait(self, begin: int, end: int) -> bool:
        """Wait until samples ``begin .. end-1`` are due; False if stopped meanwhile."""
        now = time.monotonic()
        if self._anchor is None:
            self._anchor = now - begin / self.rate
        due = self._anchor + end / self.rate
        if due > now:
            return not self._stop.wait(due - now)
        return not self._stop.is_set()
