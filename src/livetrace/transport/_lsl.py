"""Lab Streaming Layer (LSL) through pylsl and its bundled liblsl (``livetrace[lsl]``).

- :class:`LslSource` reads an LSL outlet found by name or type: every channel of a numeric
  stream, channel names and units from the stream's XML description, the sender's
  timestamps kept as ``(sample_index, LSL time)`` pairs, and samples that LSL dropped
  silently (an inlet buffer that overflowed) detected from the timestamps and delivered as
  gaps.
- :class:`LslPublisher` is a sink that publishes a livetrace stream as an LSL outlet, so
  LabRecorder and every LSL tool can consume any livetrace source.

LSL finds streams by multicast on the local network. To keep everything on one machine,
give liblsl a configuration file (the ``LSLAPICFG`` environment variable names it, set before
the first LSL call), for example::

    [ports]
    IPv6 = disable
    [multicast]
    ResolveScope = machine
    ListenAddress = 127.0.0.1
    [lab]
    KnownPeers = {127.0.0.1}
    SessionID = my-bench
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError, SourceError, SourceUnavailableError, require
from .._protocols import Block, RealtimeSource, SourceInfo

__all__ = ["LslPublisher", "LslSource", "from_uri"]

#: liblsl channel formats -> numpy dtype (cf_string = 3 is not numeric)
_FORMATS = {1: "float32", 2: "float64", 4: "int32", 5: "int16", 6: "int8", 7: "int64"}
_TO_FORMAT = {v: k for k, v in _FORMATS.items()}
_POLL = 0.05


def _pylsl() -> Any:
    return require("pylsl", "lsl")


def _channels(info: Any, n: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Channel labels and units from ``desc/channels/channel`` (empty ones become defaults)."""
    names: list[str] = []
    units: list[str] = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty() and len(names) < n:
        names.append(ch.child_value("label") or f"ch{len(names)}")
        units.append(ch.child_value("unit") or "")
        ch = ch.next_sibling("channel")
    if len(names) != n:
        return tuple(f"ch{i}" for i in range(n)), ("",) * n
    return tuple(names), tuple(units)


class LslSource(RealtimeSource):
    """Samples of an LSL outlet (see the module docs).

    Args:
        name, type: the stream's name or type to look for (one of them, or ``predicate`` —
            an XPath predicate such as ``"name='EEG' and hostname='lab1'"``).
        timeout: seconds to wait for the stream when resolving (``SourceUnavailableError``
            when it is not found).
        sample_rate: needed only for streams without a nominal rate (irregular streams).
        chunk_size: samples per ``acquire()`` at most (default 10 ms of samples, at least 32).
        max_buflen: seconds that liblsl buffers for this inlet; older samples are dropped by
            liblsl when it is full, which this source detects and reports as a gap.
        gap_threshold: a jump of the sender's timestamps by more than this many sample
            periods (beyond the one expected) is a gap of ``round(jump) - 1`` samples; smaller
            jitter is not (default: 10 ms of samples, at least 2).

    ``acquire()`` waits at most 50 ms for samples (so ``stop()`` is prompt) and returns a
    ``Block`` whose ``start_index`` counts from the first sample received; the inlet is
    opened by ``start()`` (or the first ``acquire()``) and closed by :meth:`close`. Samples
    arriving while stopped are kept by liblsl (up to ``max_buflen``). ``timestamps()``
    returns ``(sample_index, LSL time)`` of the first sample of each pull (the latest 10000,
    in the sender's ``local_clock()``; add ``health()["time_correction"]`` for this
    machine's clock). ``health()`` also counts ``gaps`` and ``gap_samples``.
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        type: str | None = None,  # LSL's own term
        predicate: str | None = None,
        timeout: float = 5.0,
        sample_rate: float | None = None,
        chunk_size: int | None = None,
        max_buflen: int = 30,
        gap_threshold: float | None = None,
    ) -> None:
        given = [x for x in (name, type, predicate) if x]
        if len(given) != 1:
            raise ConfigurationError(
                "LslSource: give exactly one of name=, type= or predicate= (e.g. "
                f"'lsl:name=EEG' or 'lsl:type=EEG'), got name={name!r}, type={type!r}, "
                f"predicate={predicate!r}"
            )
        if predicate:
            self.predicate = predicate
        else:
            key, value = ("name", name) if name else ("type", type)
            if value is not None and "'" in value:
                raise ConfigurationError(f"LslSource: {key} must not contain a quote: {value!r}")
            self.predicate = f"{key}='{value}'"
        pylsl = _pylsl()
        found = pylsl.resolve_bypred(self.predicate, 1, timeout)
        if not found:
            raise SourceUnavailableError(
                f"LslSource: no LSL stream with {self.predicate} found within {timeout} s "
                "(is the outlet running, in the same LSL session and resolve scope?)"
            )
        self._inlet = pylsl.StreamInlet(found[0], max_buflen=int(max_buflen), recover=True)
        try:
            full = self._inlet.info(timeout)
        except Exception as exc:  # pylsl raises TimeoutError/LostError subclasses
            self._inlet.close_stream()
            raise SourceUnavailableError(
                f"LslSource: the stream {self.predicate} did not send its description: {exc}"
            ) from exc
        fmt = int(full.channel_format())
        if fmt not in _FORMATS:
            self._inlet.close_stream()
            raise ConfigurationError(
                f"LslSource: stream {full.name()!r} has channel format {fmt} (string or "
                "undefined); livetrace reads numeric streams: float32, double64, int8/16/32/64"
            )
        nominal = float(full.nominal_srate())
        rate = nominal if nominal > 0 else sample_rate
        if rate is None or not rate > 0:
            self._inlet.close_stream()
            raise ConfigurationError(
                f"LslSource: stream {full.name()!r} has no nominal rate (irregular); pass "
                "sample_rate= to give it one"
            )
        self.dtype = np.dtype(_FORMATS[fmt])
        self.n_channels = int(full.channel_count())
        names, units = _channels(full, self.n_channels)
        self.sample_rate = float(rate)
        self.regular = nominal > 0
        self.chunk_size = int(chunk_size) if chunk_size else max(32, int(self.sample_rate / 100))
        if self.chunk_size < 1:
            raise ConfigurationError(f"LslSource: chunk_size must be >= 1, got {chunk_size!r}")
        self.gap_threshold = (
            float(gap_threshold) if gap_threshold is not None else max(2.0, 0.01 * self.sample_rate)
        )
        self.stream_name = str(full.name())
        self._info = SourceInfo(
            sample_rate=self.sample_rate,
            dtype=self.dtype.name,
            n_channels=self.n_channels,
            channel_names=names,
            units=units,
            description=f"lsl:{self.predicate}",
            clock="device",  # each block carries the sender's timestamp of its first sample
        )
        self._stop = threading.Event()
        self._opened = False
        self._next: int | None = None  # index of the next sample
        self._last_ts: float | None = None
        self._stamps: deque[tuple[int, float]] = deque(maxlen=10_000)
        self._gaps = 0
        self._gap_samples = 0
        self._received = 0
        self._correction: float | None = None
        self._offset: float | None = None  # sender local_clock() -> POSIX, see _posix_offset
        self._last_offset_error: str | None = None
        self._pending: tuple[NDArray[Any], NDArray[np.float64]] | None = None
        self._as_numpy = True

    @property
    def info(self) -> SourceInfo:
        return self._info

    def start(self) -> None:
        self._stop.clear()
        if not self._opened:
            self._inlet.open_stream(5.0)
            self._opened = True

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        """Close the inlet (the source cannot be read afterwards)."""
        self._stop.set()
        self._inlet.close_stream()
        self._opened = False

    def timestamps(self) -> list[tuple[int, float]]:
        """``(sample_index, LSL time)`` pairs (see the class docs)."""
        return list(self._stamps)

    def health(self) -> dict[str, Any]:
        return {
            "received": self._received,
            "gaps": self._gaps,
            "gap_samples": self._gap_samples,
            "time_correction": self._correction,
            "time_correction_error": self._last_offset_error,
        }

    def time_correction(self, timeout: float = 2.0) -> float:
        """Offset (s) from the sender's LSL clock to this machine's; also kept in health()."""
        self._correction = float(self._inlet.time_correction(timeout))
        return self._correction

    def acquire(self) -> Block | None:
        """The samples that arrived (at most ``chunk_size``, waiting at most 50 ms); None
        when none came or the source was stopped."""
        if self._stop.is_set():
            return None
        if not self._opened:
            self.start()
        if self._pending is not None:
            data, ts = self._pending
            self._pending = None
        else:
            pulled = self._pull()
            if pulled is None:
                return None
            data, ts = pulled
        start = 0 if self._next is None else self._next
        if self.regular:
            if self._last_ts is not None:
                lost = self._lost(ts[0] - self._last_ts)
                start += lost
            # a drop inside the pulled samples: deliver up to it, keep the rest
            jumps = np.flatnonzero(np.diff(ts) * self.sample_rate - 1.0 > self.gap_threshold)
            if len(jumps):
                cut = int(jumps[0]) + 1
                self._pending = (data[cut:], ts[cut:])
                data, ts = data[:cut], ts[:cut]
        k = len(ts)
        self._last_ts = float(ts[-1])
        self._stamps.append((start, float(ts[0])))
        self._next = start + k
        self._received += k
        return Block(
            data.reshape(-1) if self.n_channels == 1 else data,
            start,
            time=float(ts[0]) + self._posix_offset(),
        )

    def _posix_offset(self) -> float:
        """Seconds from the sender's ``local_clock()`` to POSIX time: LSL's measured clock
        offset to this host (``time_correction``, taken once) plus this host's
        ``time.time() - local_clock()``."""
        if self._offset is None:
            pylsl = _pylsl()
            try:
                correction = self.time_correction(0.1)  # stop() must stay prompt
            except Exception as exc:  # no answer from the sender: same host clock assumed
                self._last_offset_error = f"time_correction failed: {exc!r}"
                correction = 0.0
            self._offset = correction + time.time() - float(pylsl.local_clock())
        return self._offset

    def _lost(self, step: float) -> int:
        """Samples missing before a sample that came ``step`` seconds after the previous."""
        missing = step * self.sample_rate - 1.0
        if missing <= self.gap_threshold:
            return 0
        lost = round(missing)
        self._gaps += 1
        self._gap_samples += lost
        return lost

    def _pull(self) -> tuple[NDArray[Any], NDArray[np.float64]] | None:
        n = self.chunk_size
        buf = np.empty((n, self.n_channels), dtype=self.dtype)
        pylsl = _pylsl()
        try:
            if self._as_numpy:  # pylsl >= 1.18: timestamps as an array, no list
                try:
                    _, stamps = self._inlet.pull_chunk(
                        timeout=_POLL, max_samples=n, dest_obj=buf, as_numpy=True
                    )
                except TypeError:
                    self._as_numpy = False
            if not self._as_numpy:
                _, stamps = self._inlet.pull_chunk(timeout=_POLL, max_samples=n, dest_obj=buf)
        except pylsl.LostError as exc:
            raise SourceError(f"LslSource {self.predicate}: the stream was lost: {exc}") from exc
        if len(stamps) == 0:
            return None
        return buf[: len(stamps)], np.asarray(stamps, dtype=np.float64)

    def __repr__(self) -> str:
        return f"LslSource({self.predicate!r}, {self.sample_rate} Hz, {self.n_channels} ch)"


class LslPublisher:
    """A sink publishing the stream as an LSL outlet: ``sinks=[LslPublisher("scope")]``.

    The outlet is created by ``open(info)`` with the stream's rate, channel count, names and
    units (``desc/channels/channel/label``, ``unit``) and ``type`` (default ``"livetrace"``);
    float32/float64/int8/16/32/64 samples keep their format, other real dtypes are sent as
    float64, complex channels as two channels each (``<name>.re``, ``<name>.im``, float32 for
    complex64, float64 for complex128). Each chunk is pushed with the LSL timestamp of its
    samples on a regular grid anchored at the first chunk (``local_clock()`` then, plus
    ``absolute index / rate``), so samples lost upstream show as a jump in the timestamps
    that every LSL consumer (and :class:`LslSource`) can see. ``write`` never blocks on slow
    consumers: liblsl buffers ``max_buffered`` seconds per consumer and drops the oldest
    beyond. Runs in the consumer thread; ``close()`` destroys the outlet.
    """

    def __init__(
        self,
        name: str,
        *,
        type: str = "livetrace",  # LSL's own term
        source_id: str = "",
        max_buffered: int = 360,
    ) -> None:
        if not name:
            raise ConfigurationError("LslPublisher: a stream name is needed")
        self.name = name
        self.type = type
        self.source_id = source_id or f"livetrace-{name}"
        self.max_buffered = int(max_buffered)
        self._outlet: Any = None
        self._complex = False
        self._rate = 0.0
        self._anchor: float | None = None
        self.pushed = 0

    def open(self, info: SourceInfo) -> None:
        pylsl = _pylsl()
        dt = np.dtype(info.dtype)
        names = list(info.channel_names)
        units = list(info.units)
        self._complex = dt.kind == "c"
        if self._complex:
            dt = np.dtype(np.float32 if dt == np.complex64 else np.float64)
            names = [f"{n}.{part}" for n in names for part in ("re", "im")]
            units = [u for u in units for _ in range(2)]
        self._dtype = dt if dt.name in _TO_FORMAT else np.dtype(np.float64)
        sinfo = pylsl.StreamInfo(
            self.name,
            self.type,
            len(names),
            float(info.sample_rate),
            _TO_FORMAT[self._dtype.name],
            self.source_id,
        )
        chans = sinfo.desc().append_child("channels")
        for label, unit in zip(names, units, strict=True):
            ch = chans.append_child("channel")
            ch.append_child_value("label", label)
            ch.append_child_value("unit", unit)
        sinfo.desc().append_child("acquisition").append_child_value("manufacturer", "livetrace")
        self._outlet = pylsl.StreamOutlet(sinfo, 0, self.max_buffered)
        self._rate = float(info.sample_rate)
        self._anchor = None
        self._n_values = len(names)

    def write(self, chunk: Any) -> None:
        if self._outlet is None:
            raise SourceError("LslPublisher: write() before open() or after close()")
        data = np.asarray(chunk.data)
        n = len(data)
        if n == 0:
            return
        if self._complex:
            data = data.reshape(n, -1).view(data.real.dtype)
        x = np.ascontiguousarray(data.reshape(n, self._n_values), dtype=self._dtype)
        first = int(chunk.metadata.start_index)
        if self._anchor is None:
            self._anchor = float(_pylsl().local_clock()) - first / self._rate
        self._outlet.push_chunk(x, self._anchor + (first + n - 1) / self._rate)
        self.pushed += n

    def have_consumers(self) -> bool:
        """True when an LSL inlet is connected."""
        return self._outlet is not None and bool(self._outlet.have_consumers())

    def close(self) -> None:
        self._outlet = None  # pylsl destroys the outlet with the object


def from_uri(parsed: Any) -> LslSource:
    """``lsl:name=NAME`` or ``lsl:type=TYPE`` (or ``lsl:?predicate=...``), with
    ``timeout=5&sample_rate=..&chunk_size=..&max_buflen=..&gap_threshold=..``."""
    from ..sources._uri import to_int

    target = parsed.target
    key, sep, value = target.partition("=")
    name = type_ = None
    if sep and key in ("name", "type"):
        name, type_ = (value, None) if key == "name" else (None, value)
    elif target:
        name = target  # lsl:NAME
    given: Sequence[Any] = (
        parsed.take("predicate", str, None),
        parsed.take("timeout", float, 5.0),
        parsed.take("sample_rate", float, None, aliases=("rate", "fs")),
        parsed.take("chunk_size", to_int, None),
        parsed.take("max_buflen", to_int, 30),
        parsed.take("gap_threshold", float, None),
    )
    predicate, timeout, rate, chunk, buflen, threshold = given
    return LslSource(
        name,
        type=type_,
        predicate=predicate,
        timeout=timeout,
        sample_rate=rate,
        chunk_size=chunk,
        max_buflen=buflen,
        gap_threshold=threshold,
    )
