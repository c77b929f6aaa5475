"""What the I/O sources share: argument checks, the raw-sample description, and
:class:`PolledSource`, the acquire/stop skeleton of the sources that poll a socket or port.

TcpSource, UdpSource, ZmqSource and SerialSource start no thread: ``acquire()`` runs in the
caller's thread, holds the source's I/O lock and polls its socket or port with a short
timeout, looking at the stop flag between polls. They differ only in how they open, close
and poll, which is what a subclass implements.
"""

from __future__ import annotations

import threading
from typing import Any

from numpy.typing import NDArray

from .._errors import ConfigurationError
from .._protocols import Block, RealtimeSource, SourceInfo
from ._raw import RawDecoder
from ._uri import ParsedURI

__all__ = [
    "POLL_INTERVAL",
    "STOP_LOCK_WAIT",
    "PolledSource",
    "check_channels",
    "check_rate",
    "default_names",
    "make_decoder",
    "raw_info",
    "required_rate",
]

POLL_INTERVAL = 0.05
"""Seconds a blocked ``acquire()`` waits before it looks at the stop flag again."""

STOP_LOCK_WAIT = 0.25
"""Seconds ``stop()`` waits for a polling ``acquire()`` to let go of the I/O lock. A poll
lasts at most :data:`POLL_INTERVAL` (0.1 s for a serial port); only a call that cannot be
interrupted (a slow DNS lookup) takes longer, and then ``acquire()`` closes on its way out."""


def check_rate(name: str, sample_rate: Any) -> float:
    """``sample_rate`` as a positive float; ConfigurationError naming ``name`` otherwise."""
    try:
        rate = float(sample_rate)
    except (TypeError, ValueError):
        rate = float("nan")
    if not rate > 0:
        raise ConfigurationError(
            f"{name}: sample_rate must be a positive number of samples/s, got {sample_rate!r}"
        )
    return rate


def check_channels(name: str, channels: Any) -> int:
    """``channels`` as an int >= 1; ConfigurationError naming ``name`` otherwise."""
    if not isinstance(channels, int) or channels < 1:
        raise ConfigurationError(f"{name}: channels must be an integer >= 1, got {channels!r}")
    return channels


def default_names(channel_names: Any, n: int) -> tuple[str, ...]:
    """``channel_names`` as a tuple, or ``("ch0", "ch1", ...)`` when not given."""
    return tuple(channel_names) if channel_names else tuple(f"ch{i}" for i in range(n))


def make_decoder(name: str, dtype: Any, channels: int, byteorder: str) -> RawDecoder:
    """A :class:`RawDecoder`; its ConfigurationError (bad dtype or byte order) names ``name``."""
    try:
        return RawDecoder(dtype, channels, byteorder)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{name}: {exc}") from exc


def raw_info(
    where: str,
    sample_rate: float,
    decoder: RawDecoder,
    channel_names: tuple[str, ...],
    extra_query: str = "",
    *,
    backpressure: bool,
) -> SourceInfo:
    """The description of an endless stream of raw samples decoded by ``decoder``; its
    ``description`` is the URI ``where?dtype=..&channels=..&sample_rate=..`` + ``extra_query``.
    ``backpressure``: see :class:`~livetrace.sources.SourceInfo`.
    """
    query = f"dtype={decoder.dtype.name}&channels={decoder.n_channels}&sample_rate={sample_rate:g}"
    return SourceInfo(
        sample_rate=sample_rate,
        dtype=decoder.dtype.newbyteorder("=").name,
        n_channels=decoder.n_channels,
        channel_names=channel_names,
        finite=False,
        description=f"{where}?{query}{extra_query}",
        backpressure=backpressure,
    )


def required_rate(parsed: ParsedURI) -> float:
    """The ``sample_rate`` parameter, which network and serial sources cannot guess."""
    no_rate: float | None = None
    rate = parsed.take("sample_rate", float, no_rate, aliases=("rate", "fs"))
    if rate is None:
        raise ConfigurationError(
            f"{parsed.scheme}: sample_rate is required (samples/s per channel; the "
            f"{parsed.scheme} source cannot know it), e.g. add '&sample_rate=1e6' to "
            f"{parsed.uri!r}"
        )
    return rate


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
