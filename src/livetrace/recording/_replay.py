"""Replaying a recording: the frame reader :class:`FileSource` uses for recordings, and
:class:`RecordingSource`, a :class:`FileSource` fixed to the recording format."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._errors import SourceUnavailableError
from .._protocols import Block
from ..sources._file import FileSource
from ..sources._formats import FrameFile
from ._reader import RecordingReader

__all__ = ["RecordingFrames", "RecordingSource", "open_recording"]


class RecordingFrames:
    """Reads a recording block by block with its recorded positions (a frame reader).

    Each block has the recorded absolute ``start_index`` and never spans a gap; after the
    last stored sample, a loss recorded at the end of the stream comes as one empty block
    carrying it, then the end.
    """

    def __init__(self, reader: RecordingReader) -> None:
        self.recording = reader
        self.timed = len(reader.clock) > 0  # the recording kept its stream's clock map
        self.pos = 0
        self._tail_sent = False

    def read(self, n: int) -> NDArray[Any] | Block:
        rec = self.recording
        if self.pos >= rec.n_samples:
            tail = rec.trailing_loss
            if tail is not None and not self._tail_sent:
                self._tail_sent = True
                empty = rec.read(rec.n_samples, rec.n_samples)
                return Block(empty, start_index=tail.start_index, discontinuity=True)
            shape = (0,) if rec.info.n_channels == 1 else (0, rec.info.n_channels)
            return np.empty(shape, dtype=rec.info.dtype)
        blk = rec.block_at(self.pos, n)
        self.pos += len(blk.data)
        stamp = rec.time_of(blk.start_index) if self.timed else None
        return Block(
            blk.data, start_index=blk.start_index, discontinuity=blk.discontinuity, time=stamp
        )

    def rewind(self) -> None:
        self.pos = 0
        self._tail_sent = False

    def health(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        self.recording.close()


def open_recording(path: Path) -> FrameFile:
    """Open a livetrace recording for replay (``SourceUnavailableError`` when it cannot be)."""
    try:
        reader = RecordingReader(path)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        reason = exc.strerror or str(exc)
        raise SourceUnavailableError(f"cannot replay '{path}': {reason}") from exc
    clock = "device" if len(reader.clock) else "nominal"
    return FrameFile.described(RecordingFrames(reader), reader.info, clock=clock)


class RecordingSource(FileSource):
    """Replay a recording as a live source: same samples, same positions, same gaps.

    Each ``acquire()`` returns a :class:`~livetrace.Block` with the recorded absolute
    ``start_index`` (a gap shows as the same jump, a loss of unknown size as
    ``discontinuity=True``), never spanning a gap. ``info`` is the recording's (rate, dtype,
    channels, names, units, ``start_time`` of sample 0, description), with ``finite=True``:
    the source raises :class:`~livetrace.EndOfStream` after the last sample.

    Args:
        path: a file written by :class:`~livetrace.sinks.Recorder`.
        speed: replay pace, 1.0 = real time (gaps take their recorded time), 2.0 twice as
            fast; None (or 0) = as fast as the stream takes it.
        loop: start again at the end, forever; positions keep increasing (each pass is
            offset by the recording's span) and the restart is flagged as a discontinuity.
        chunk_size: samples per ``acquire()`` (default: about 10 ms, 256 to 65536; 65536
            when ``speed`` is None).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        speed: float | None = 1.0,
        loop: bool = False,
        chunk_size: int | None = None,
    ) -> None:
        super().__init__(path, speed=speed, loop=loop, chunk_size=chunk_size, format="hdf5")

    @property
    def reader(self) -> RecordingReader:
        """The open :class:`RecordingReader`."""
        frames = self._reader
        assert isinstance(frames, RecordingFrames)
        return frames.recording

    @property
    def n_samples(self) -> int:
        """Stored samples in the recording (per pass)."""
        return self.reader.n_samples
