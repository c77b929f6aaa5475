"""A publisher fed in the background while a test reads (``tests/share`` is on ``sys.path``
for its own test modules)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def feeding(write: Callable[[Any], object], chunk: Callable[[int, int], Any]) -> Iterator[None]:
    """While the block runs, a thread calls ``write(chunk(i, 200))`` every 2 ms, ``i`` the
    index of the chunk's first sample (0, 200, 400, ...); joined on the way out."""
    stop = threading.Event()

    def feed() -> None:
        i = 0
        while not stop.wait(0.002):
            write(chunk(i, 200))
            i += 200

    t = threading.Thread(target=feed)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()
