"""``PolledSource``: the acquire/stop skeleton of the sources that poll a socket or port.

TcpSource, UdpSource, ZmqSource and SerialSource start no thread: ``acquire()`` runs in the
caller's thread, holds the source's I/O lock and polls its socket or port with a short
timeout, looking at the stop flag between polls. They differ only in how they open, close
and poll, which is what a subclass implements.
"""

from __future__ import annotations

import threading
from typing import Any

from numpy.typing import NDArray

from .._protocols import Block, RealtimeSource

__all__ = ["POLL_INTERVAL", "STOP_LOCK_WAIT", "PolledSource"]

POLL_INTERVAL = 0.05
"""Seconds a blocked ``acquire()`` waits before it looks at the stop flag again."""

STOP_LOCK_WAIT = 0.25
"""Seconds ``stop()`` waits for a polling ``acquire()`` to let go of the I/O lock. A poll
lasts at most :data:`POLL_INTERVAL` (0.1 s for a serial port); only a call that cannot be
interrupted (a slow DNS lookup) takes longer, and then ``acquire()`` closes on its way out."""


class PolledSource(RealtimeSource):
    """A source whose ``acquire()`` polls an I/O object under a lock in the caller's thread.

    Subclasses implement :meth:`_open` (idempotent), :meth:`_close` (idempotent, called with
    the lock held) and :meth:`_poll` (one wait of at most a poll interval: samples, or None to
    poll again), and call :meth:`_init_polled` in their constructor.

    ``stop()`` sets the stop flag and closes under the lock; a polling ``acquire()`` sees the
    flag within one poll and returns None. Should ``acquire()`` be inside a call that cannot
    be interrupted, ``stop()`` returns after :data:`STOP_LOCK_WAIT` without waiting for it, and
    ``acquire()`` closes on its way out: ``stop()`` never waits on the I/O.
    """

    _stop: threading.Event
    _io: threading.Lock
    _disc_next: bool
    _samples: int

    def _init_polled(self) -> None:
        self._stop = threading.Event()
        self._io = threading.Lock()
        self._disc_next = False  # the next samples follow a possible loss
        self._samples = 0

    def _open(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def _poll(self) -> NDArray[Any] | Block | None:
        raise NotImplementedError

    def _deliver(self, data: NDArray[Any]) -> NDArray[Any] | Block:
        """Count ``data`` and flag it when samples may be missing before it."""
        self._samples += len(data)
        if self._disc_next:
            self._disc_next = False
            return Block(data, discontinuity=True)
        return data

    def start(self) -> None:
        """Open now, so that errors (SourceUnavailableError) surface here."""
        self._stop.clear()
        with self._io:
            self._open()

    def stop(self) -> None:
        """Make a blocked ``acquire()`` return (within one poll), then close."""
        self._stop.set()
        if self._io.acquire(timeout=STOP_LOCK_WAIT):
            try:
                self._close()
            finally:
                self._io.release()

    def acquire(self) -> NDArray[Any] | Block | None:
        """Block until samples arrive and return them (None once stopped)."""
        if self._stop.is_set():
            return None
        stop = self._stop
        with self._io:
            while not stop.is_set():
                out = self._poll()
                if out is not None:
                    return out
            self._close()  # stop() may have given up waiting for the lock
        return None
