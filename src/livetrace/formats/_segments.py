"""The pieces every file format reader here shares.

- :class:`Segment`: a run of contiguous frames stored at a byte offset of a file, with the
  absolute index of its first frame (a jump from the previous segment's end is a gap).
- :class:`SegmentReader`: reads such segments from one memory-mapped file, block by block,
  converting the stored encoding (byte order, interleaved integer I/Q) to numpy samples.
- :class:`FormatSource`: replays any reader as a :class:`~livetrace.RealtimeSource`, paced
  or not, looping or not, with gaps reproduced as ``Block(start_index=...)`` jumps.

A *reader* has one face: ``info`` (a :class:`~livetrace.SourceInfo`), ``read(n)`` returning a
:class:`~livetrace.Block` of at most ``n`` frames that never spans a gap (empty data at the
end), ``first_index``, ``rewind()``, ``close()``, ``timestamps()`` (``(sample_index,
POSIX time)`` pairs the file records) and ``health()`` (counters about the file).
"""

from __future__ import annotations

import mmap
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from livetrace import Block, ConfigurationError, EndOfStream, RealtimeSource, SourceInfo

__all__ = ["FormatReader", "FormatSource", "Segment", "SegmentReader"]

Convert = Callable[[NDArray[Any]], NDArray[Any]]


class FormatReader(Protocol):
    """What :class:`FormatSource` needs from a file format reader (see the module docs)."""

    @property
    def info(self) -> SourceInfo: ...

    @property
    def first_index(self) -> int: ...

    def read(self, n: int) -> Block: ...

    def rewind(self) -> None: ...

    def close(self) -> None: ...

    def timestamps(self) -> list[tuple[int, float]]: ...

    def health(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Segment:
    """``n_frames`` contiguous frames at byte ``offset`` of the data file; ``start_index`` is
    the absolute index of the first one; ``discontinuity`` marks a loss of unknown size (or a
    splice) right before it."""

    offset: int
    n_frames: int
    start_index: int
    discontinuity: bool = False


class SegmentReader:
    """Frames of ``segments`` of the file ``path``, each frame ``channels`` items of the
    stored dtype ``stored`` (any byte order), turned into samples by ``convert`` (default:
    native byte order).

    The file is memory-mapped once; ``read(n)`` copies at most ``n`` frames of the current
    segment out of the map.
    """

    def __init__(
        self,
        path: Path,
        stored: np.dtype[Any],
        channels: int,
        segments: Sequence[Segment],
        info: SourceInfo,
        convert: Convert | None = None,
        stamps: Sequence[tuple[int, float]] = (),
        counters: dict[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.stored = stored
        self.channels = channels
        self.segments = list(segments)
        self._info = info
        self.convert = convert
        self._stamps = list(stamps)
        self._counters = dict(counters or {})
        #: format-specific description (segment tables, annotations, global metadata)
        self.meta: dict[str, Any] = {}
        self._frame = stored.itemsize * channels
        size = path.stat().st_size
        for seg in self.segments:
            if seg.offset < 0 or seg.offset + seg.n_frames * self._frame > size:
                raise ValueError(f"segment {seg} lies outside the {size}-byte file {path}")
        self._map: NDArray[np.uint8] | None = None
        if size and any(seg.n_frames for seg in self.segments):
            mm: NDArray[np.uint8] = np.memmap(path, dtype=np.uint8, mode="r")
            raw = getattr(mm, "_mmap", None)
            if raw is not None and hasattr(mmap, "MADV_SEQUENTIAL"):
                raw.madvise(mmap.MADV_SEQUENTIAL)
            self._map = mm
        self._seg = 0
        self._pos = 0

    @property
    def info(self) -> SourceInfo:
        return self._info

    @property
    def first_index(self) -> int:
        return self.segments[0].start_index if self.segments else 0

    @property
    def n_frames(self) -> int:
        """Frames stored in the file (gaps not counted)."""
        return sum(seg.n_frames for seg in self.segments)

    def timestamps(self) -> list[tuple[int, float]]:
        return list(self._stamps)

    def health(self) -> dict[str, Any]:
        return dict(self._counters)

    def rewind(self) -> None:
        self._seg = 0
        self._pos = 0

    def close(self) -> None:
        self._map = None
        self._seg = len(self.segments)

    def read(self, n: int) -> Block:
        while self._seg < len(self.segments) and self._pos >= self.segments[self._seg].n_frames:
            self._seg += 1
            self._pos = 0
        if self._seg >= len(self.segments) or self._map is None:
            return Block(self._empty(), None, False)
        seg = self.segments[self._seg]
        k = min(n, seg.n_frames - self._pos)
        begin = seg.offset + self._pos * self._frame
        raw = self._map[begin : begin + k * self._frame]
        items = raw.view(self.stored) if begin % self.stored.alignment == 0 else None
        if items is None:  # an unaligned segment (attached headers of odd length): copy first
            items = np.frombuffer(raw.tobytes(), dtype=self.stored)
        frames = items.reshape(k, self.channels) if self.channels > 1 else items
        if self.convert is not None:
            data = self.convert(frames)
        elif frames.dtype.isnative:
            data = np.asarray(frames)
        else:
            data = frames.astype(frames.dtype.newbyteorder("="))
        block = Block(data, seg.start_index + self._pos, seg.discontinuity and self._pos == 0)
        self._pos += k
        return block

    def _empty(self) -> NDArray[Any]:
        dt = np.dtype(self._info.dtype)
        ch = self._info.n_channels
        return np.empty((0,) if ch == 1 else (0, ch), dtype=dt)


class FormatSource(RealtimeSource):
    """Replays a file format reader as a source (used by ``FileSource`` for the formats of
    :mod:`livetrace.formats`).

    ``speed=1.0`` delivers in real time from a monotonic clock anchored at the first
    ``acquire()`` (gaps take their time too), ``2.0`` twice as fast, ``None`` as fast as it is
    called; ``stop()`` wakes a paced wait at once. ``chunk_size`` frames per ``acquire()``
    (default 10 ms of samples, at least 256, when paced; 65536 when not); a chunk never spans
    a gap. Gaps recorded in the file come out as ``Block(start_index=...)`` jumps. At the end
    :class:`~livetrace.EndOfStream` is raised, again on every later call; with ``loop=True``
    the file restarts, numbered after the previous pass, its first chunk flagged
    ``discontinuity=True``, ``health()["loops"]`` counting the wraps.

    ``sample_rate``, ``channel_names`` and ``units`` override what the file says.
    ``timestamps()`` returns the ``(sample_index, POSIX time)`` pairs the file records
    (device times such as GNU Radio's ``rx_time`` or SigMF's ``core:datetime``), numbered as
    in the file's first pass.
    """

    def __init__(
        self,
        reader: FormatReader,
        *,
        speed: float | None = 1.0,
        loop: bool = False,
        chunk_size: int | None = None,
        sample_rate: float | None = None,
        channel_names: Sequence[str] | None = None,
        units: Sequence[str] | None = None,
        description: str | None = None,
    ) -> None:
        if speed is not None and not speed > 0:
            raise ConfigurationError(
                f"speed must be > 0 (1.0 = real time) or None (as fast as possible), got {speed!r}"
            )
        if chunk_size is not None and chunk_size < 1:
            raise ConfigurationError(f"chunk_size must be >= 1, got {chunk_size!r}")
        self.reader = reader
        info = reader.info
        changes: dict[str, Any] = {"finite": not loop, "backpressure": True}
        if sample_rate is not None:
            changes["sample_rate"] = float(sample_rate)
        if channel_names is not None:
            changes["channel_names"] = tuple(channel_names)
        if units is not None:
            changes["units"] = tuple(units)
        if description is not None:
            changes["description"] = description
        try:
            self._info = replace(info, **changes)
        except ValueError as exc:
            raise ConfigurationError(f"{info.description}: {exc}") from exc
        self.speed = speed
        self.loop = bool(loop)
        self.loops = 0
        rate = self._info.sample_rate
        self.chunk_size = (
            int(chunk_size)
            if chunk_size
            else (65536 if speed is None else max(256, int(rate / 100)))
        )
        self._stop = threading.Event()
        self._anchor: float | None = None
        self._base = 0  # added to the reader's indices (grows with each loop)
        self._end: int | None = None  # absolute index one past the last delivered frame
        self._first: int | None = None
        self._pending: Block | None = None
        self._delivered = 0
        self._pass_delivered = 0
        self._wrapped = False
        self._ended = False

    @property
    def info(self) -> SourceInfo:
        return self._info

    def timestamps(self) -> list[tuple[int, float]]:
        """``(sample_index, POSIX time)`` pairs recorded in the file (see the class docs)."""
        return self.reader.timestamps()

    def health(self) -> dict[str, Any]:
        return {**self.reader.health(), "delivered": self._delivered, "loops": self.loops}

    def start(self) -> None:
        self._stop.clear()
        self._anchor = None

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        """Release the file; the source cannot be read afterwards."""
        self.reader.close()
        self._ended = True

    def reset(self) -> None:
        """Rewind to the first sample."""
        self.reader.rewind()
        self._base = 0
        self._end = None
        self._first = None
        self._pending = None
        self._anchor = None
        self._ended = False

    def _next(self) -> Block | None:
        blk = self.reader.read(self.chunk_size)
        if len(blk.data) == 0:
            if not self.loop or self._pass_delivered == 0:
                return None
            self.reader.rewind()
            self.loops += 1
            self._pass_delivered = 0
            assert self._end is not None
            self._base = self._end - self.reader.first_index
            self._wrapped = True
            blk = self.reader.read(self.chunk_size)
            if len(blk.data) == 0:
                return None
        start = self._base + (blk.start_index if blk.start_index is not None else 0)
        disc = blk.discontinuity or self._wrapped
        self._wrapped = False
        return Block(blk.data, start, disc)

    def acquire(self) -> NDArray[Any] | Block | None:
        """The next chunk (at most ``chunk_size`` frames, never across a gap), paced by
        ``speed``; see the class docs."""
        if self._ended:
            raise EndOfStream(f"end of {self._info.description}")
        blk = self._pending or self._next()
        self._pending = None
        if blk is None:
            self._ended = True
            raise EndOfStream(f"end of {self._info.description}")
        assert blk.start_index is not None
        if self._first is None:
            self._first = blk.start_index
        if self.speed is not None:
            rate = self._info.sample_rate * self.speed
            now = time.monotonic()
            if self._anchor is None:
                self._anchor = now - (blk.start_index - self._first) / rate
            due = self._anchor + (blk.start_index + len(blk.data) - self._first) / rate
            if due > now and self._stop.wait(due - now):
                self._pending = blk
                return None
        self._end = blk.start_index + len(blk.data)
        self._delivered += len(blk.data)
        self._pass_delivered += len(blk.data)
        return blk

    def __repr__(self) -> str:
        return f"FormatSource({self._info.description!r}, speed={self.speed}, loop={self.loop})"


def open_path(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` as a :class:`Path`; ``SourceUnavailableError`` naming ``what`` when it is not
    a readable regular file."""
    from livetrace import SourceUnavailableError

    p = Path(path)
    if not p.is_file():
        reason = "no such file" if not p.exists() else "not a regular file"
        raise SourceUnavailableError(f"{what}: {reason}: {str(p)!r}")
    if not os.access(p, os.R_OK):
        raise SourceUnavailableError(f"{what}: cannot read {str(p)!r}: permission denied")
    return p
