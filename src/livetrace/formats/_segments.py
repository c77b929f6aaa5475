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

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from .._fileio import open_sequential, pread_into
from .._protocols import Block, SourceInfo

__all__ = ["FormatReader", "Segment", "SegmentReader"]

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

    ``read(n)`` reads at most ``n`` frames of the current segment with ``pread`` (never a
    memory map: a file truncated under a mapped read would kill the process with SIGBUS); a
    file that shrank is a :class:`~livetrace.SourceError` naming it.
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
        self._fd: int | None = open_sequential(path)
        self._stamp_at = dict(self._stamps)  # segment start index -> its device time
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
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._seg = len(self.segments)

    def read(self, n: int) -> Block:
        while self._seg < len(self.segments) and self._pos >= self.segments[self._seg].n_frames:
            self._seg += 1
            self._pos = 0
        if self._seg >= len(self.segments) or self._fd is None:
            return Block(self._empty(), None, False)
        seg = self.segments[self._seg]
        k = min(n, seg.n_frames - self._pos)
        begin = seg.offset + self._pos * self._frame
        raw = np.empty(k * self._frame, dtype=np.uint8)
        pread_into(self._fd, raw, begin, self.path)
        items = raw.view(self.stored)
        frames = items.reshape(k, self.channels) if self.channels > 1 else items
        if self.convert is not None:
            data = self.convert(frames)
        elif frames.dtype.isnative:
            data = np.asarray(frames)
        else:
            data = frames.astype(frames.dtype.newbyteorder("="))
        first = seg.start_index + self._pos
        stamp = self._stamp_at.get(first)  # a device time recorded for this segment's start
        block = Block(data, first, seg.discontinuity and self._pos == 0, stamp)
        self._pos += k
        return block

    def _empty(self) -> NDArray[Any]:
        dt = np.dtype(self._info.dtype)
        ch = self._info.n_channels
        return np.empty((0,) if ch == 1 else (0, ch), dtype=dt)


def open_path(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` as a :class:`Path`; ``SourceUnavailableError`` naming ``what`` when it is not
    a readable regular file."""
    from .._errors import SourceUnavailableError

    p = Path(path)
    if not p.is_file():
        reason = "no such file" if not p.exists() else "not a regular file"
        raise SourceUnavailableError(f"{what}: {reason}: {str(p)!r}")
    if not os.access(p, os.R_OK):
        raise SourceUnavailableError(f"{what}: cannot read {str(p)!r}: permission denied")
    return p
