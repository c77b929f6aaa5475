"""FileSource: replay a WAV, ``.npy``, raw binary, CSV/text file or a livetrace recording.

The format is chosen once, when the source is built: its opener (``_formats`` for plain
files, ``livetrace.recording`` for recordings) returns a frame reader, and everything else
(pacing, looping, positions, end of file) is the same for every format.
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from numpy.typing import NDArray

from .._errors import ConfigurationError, EndOfStream, SourceUnavailableError
from .._pacing import Pacer, default_chunk
from .._protocols import Block, RealtimeSource, SourceInfo
from ._checks import check_chunk_size, check_rate, check_speed
from ._formats import FORMATS, FrameFile, format_of, open_npy, open_raw, open_text, open_wav
from ._uri import ParsedURI, to_bool, to_int, to_speed

__all__ = ["FORMATS", "FileSource"]


def _open(
    path: Path,
    fmt: str,
    *,
    dtype: Any,
    channels: int | None,
    byteorder: str,
    header_bytes: int,
    columns: Sequence[int] | None,
    delimiter: str | None,
    skip_header: int,
    time_column: bool,
    sample_rate: float | None,
) -> FrameFile:
    if fmt == "hdf5":
        from ..recording._replay import open_recording

        return open_recording(path)
    if fmt != "raw" and (dtype is not None or channels is not None):
        raise ConfigurationError(
            f"FileSource: dtype= and channels= apply to raw files only; {path.name} is "
            f"{fmt} and describes its own samples"
        )
    if fmt in ("gnuradio_meta", "iq", "sigmf", "soundfile"):
        from ..formats._registry import open_format_frames

        return open_format_frames(path, fmt, sample_rate=sample_rate)
    try:
        if fmt == "wav":
            return open_wav(path)
        if fmt == "npy":
            return open_npy(path)
        if fmt == "raw":
            return open_raw(path, dtype, channels, byteorder, header_bytes)
        return open_text(path, columns, delimiter, skip_header, time_column, sample_rate)
    except PermissionError as exc:
        raise SourceUnavailableError(
            f"FileSource: cannot read {str(path)!r}: {exc.strerror}"
        ) from exc


class FileSource(RealtimeSource):
    """Replays a file as a stream.

    The format comes from the suffix, or ``format=`` (one of :data:`FORMATS`):

    - **WAV** (``.wav``): PCM 8/16/24/32-bit integer or 32/64-bit float, any channel count,
      memory-mapped (the header is parsed here, chunks are slices of the map). Integer WAVs
      are delivered as integer *counts* (24-bit ones converted to int32, vectorised) with
      ``info.scale`` (``1/32768`` for int16, ``2**-23`` for int24, ``2**-31`` for int32,
      ``1/128`` and ``offset=-1`` for unsigned 8-bit), so a stream built with
      ``RealtimeStream.from_source`` gets floats in [-1, 1); float WAVs are delivered as is.
      ``sample_rate`` defaults to the header's.
    - **.npy**: ``np.load(mmap_mode="r")``; 1-D or ``(n, channels)``; ``sample_rate`` required.
    - **raw** (``.raw/.bin/.dat``): headerless interleaved samples: ``dtype`` (default
      float32), ``channels``, ``byteorder`` (``little``/``big``/``native``), ``header_bytes``
      to skip, ``sample_rate`` required; memory-mapped.
    - **text** (``.csv/.txt/.tsv``): one column per channel, separated by commas, semicolons,
      tabs or spaces (``delimiter=`` to fix one); read in 1 MiB blocks, never whole.
      ``skip_header`` lines are skipped; after them a first line that is not numeric is a
      header and gives the channel names. ``time_column=True``: the first column is time in
      seconds; it is not a channel, and when ``sample_rate`` is not given it is estimated
      from the first rows (``1 / median(diff(t))``). ``columns``: file column indices to
      keep as channels. Malformed lines are skipped and counted in ``health()``.
    - **livetrace recordings** (``.h5``/``.hdf5``): replayed with their recorded positions,
      gaps and final loss (as :class:`~livetrace.sinks.RecordingSource`; needs the ``hdf5``
      extra).

    Pacing: ``speed=1.0`` delivers in real time from a monotonic clock anchored at the first
    ``acquire()`` (re-anchored by ``start()`` after ``stop()``; ``stop()`` wakes the wait);
    ``speed=2.0`` twice as fast; ``speed=None`` (or 0) as fast as it is called.
    Positions are absolute, so a recorded gap takes its recorded time.
    ``chunk_size`` (frames per ``acquire()``) defaults to about 10 ms of samples (256 to
    65536) when paced and 65536 when not.

    End: :class:`~livetrace.EndOfStream`, raised again on every later call. With
    ``loop=True`` the file restarts from its first sample; positions keep increasing (the
    replayed samples are numbered after the previous ones, no gap) and the first chunk after
    each wrap is a ``Block(..., discontinuity=True)`` marking the splice; ``health()["loops"]``
    counts the wraps.

    Errors: a missing file raises :class:`~livetrace.SourceUnavailableError`; a file whose
    content is not the format (a ``.wav`` without a RIFF header, an object-dtype ``.npy``)
    :class:`~livetrace.SourceError`; parameters that do not fit (no ``sample_rate``, a raw
    size that is not a whole number of frames) :class:`~livetrace.ConfigurationError`. Every
    message names the file.

    Example:
        >>> import numpy as np, tempfile, os
        >>> from livetrace.sources import FileSource
        >>> path = os.path.join(tempfile.mkdtemp(), "x.npy")
        >>> np.save(path, np.arange(5, dtype=np.float32))
        >>> src = FileSource(path, sample_rate=1000, speed=None, chunk_size=3)
        >>> src.acquire(), src.acquire()
        (array([0., 1., 2.], dtype=float32), array([3., 4.], dtype=float32))
        >>> src.close()
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        speed: float | None = 1.0,
        loop: bool = False,
        chunk_size: int | None = None,
        format: str | None = None,  # the natural name for a file format
        sample_rate: float | None = None,
        dtype: Any = None,
        channels: int | None = None,
        byteorder: str = "little",
        header_bytes: int = 0,
        columns: Sequence[int] | None = None,
        delimiter: str | None = None,
        skip_header: int = 0,
        time_column: bool = False,
        channel_names: Sequence[str] | None = None,
        units: Sequence[str] | None = None,
    ) -> None:
        self.path = Path(path)
        speed = check_speed("FileSource", speed)
        if chunk_size is not None:
            chunk_size = check_chunk_size("FileSource", chunk_size)
        if sample_rate is not None:
            sample_rate = check_rate("FileSource", sample_rate)
        if format != "hdf5":  # a recording's opener says what is wrong in its own words
            if not self.path.exists():
                raise SourceUnavailableError(f"FileSource: no such file: {str(self.path)!r}")
            if not self.path.is_file():
                raise SourceUnavailableError(f"FileSource: not a regular file: {str(self.path)!r}")
        fmt = format_of(self.path, format)
        opened = _open(
            self.path,
            fmt,
            dtype=dtype,
            channels=channels,
            byteorder=byteorder,
            header_bytes=header_bytes,
            columns=columns,
            delimiter=delimiter,
            skip_header=skip_header,
            time_column=time_column,
            sample_rate=sample_rate,
        )
        rate = sample_rate if sample_rate is not None else opened.sample_rate
        if rate is None:
            opened.reader.close()
            raise ConfigurationError(
                f"FileSource: {fmt} file {str(self.path)!r} does not record its sample rate; "
                "pass sample_rate="
            )
        self.format = fmt
        self.speed = speed
        self.loop = bool(loop)
        self.loops = 0
        self._reader = opened.reader
        self._positioned = opened.positioned
        self._extra_health = opened.extra_health
        self.trailing_bytes = int(opened.extra_health.get("trailing_bytes", 0))
        self.sample_rate = float(rate)
        self.n_channels = opened.n_channels
        self.chunk_size = (
            int(chunk_size)
            if chunk_size
            else default_chunk(self.sample_rate, paced=speed is not None)
        )
        self._stop = threading.Event()
        self._pacer = Pacer(self.sample_rate * (speed or 1.0), self._stop)
        self._info = SourceInfo(
            sample_rate=self.sample_rate,
            dtype=opened.dtype.name,
            n_channels=opened.n_channels,
            channel_names=tuple(channel_names or opened.names or ()),
            units=tuple(units or opened.units or ()),
            finite=not self.loop,
            backpressure=True,
            description=opened.description or f"file:{self.path}",
            start_time=opened.start_time,
            clock=opened.clock if not self.loop else "nominal",
            scale=opened.scale,
            offset=opened.offset,
        )
        self._rewind_state()

    def _rewind_state(self) -> None:
        self._delivered = 0  # samples delivered, all passes
        self._pass_pos = 0  # samples delivered in this pass
        self._pass_first: int | None = None  # file position of the first block of this pass
        self._pass_end = 0  # file position after the last block of this pass
        self._offset = 0  # added to file positions: the span of the earlier passes
        self._pending: Block | None = None  # read, but its pacing wait was interrupted
        self._next_out = 0  # position after the last delivered sample
        self._wrapped = False
        self._ended = False

    @property
    def info(self) -> SourceInfo:
        return self._calibrated(self._info)

    def start(self) -> None:
        self._stop.clear()
        self._pacer.reanchor()

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        """Release the file (the map or handle); the source cannot be read afterwards."""
        self._reader.close()
        self._ended = True

    def timestamps(self) -> list[tuple[int, float]]:
        """``(sample_index, POSIX time)`` pairs the file records (GNU Radio ``rx_time``,
        SigMF ``core:datetime``), numbered as in the file; empty for formats without them."""
        stamps = getattr(self._reader, "timestamps", None)
        return list(stamps()) if callable(stamps) else []

    def reset(self) -> None:
        """Rewind to the first sample."""
        self._reader.rewind()
        self._rewind_state()
        self._pacer.reanchor()

    def health(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "delivered": self._delivered,
            "position": self._pass_pos,
            "loops": self.loops,
        }
        out.update(self._extra_health)
        out.update(self._reader.health())
        return out

    def _next_block(self) -> Block:
        """The next block of this file, positioned in the source's numbering."""
        got = self._reader.read(self.chunk_size)
        if isinstance(got, Block):
            data, start, disc = got.data, got.start_index, got.discontinuity
        else:
            data, start, disc = got, None, False
        if start is None:
            start = self._pass_end
        if len(data) == 0 and not disc:
            # the end of the file (an empty Block *with* a discontinuity is a loss recorded
            # at its end, which is passed on)
            if not self.loop or self._pass_pos == 0:
                self._ended = True
                raise EndOfStream(f"FileSource: end of {self.path}")
            self._reader.rewind()
            self.loops += 1
            self._offset += self._pass_end - (self._pass_first or 0)
            self._pass_first = None
            self._pass_pos = 0
            self._pass_end = 0
            self._wrapped = True
            return self._next_block()
        if self._pass_first is None:
            self._pass_first = start
        if self.loop and len(data) == 0:
            return self._next_block()  # a final loss is not replayed when looping
        if self.n_channels == 1 and data.ndim == 2:
            data = data.reshape(-1)
        self._pass_end = start + len(data)
        self._pass_pos += len(data)
        if self._wrapped:
            self._wrapped = False
            disc = True
        stamp = got.time if isinstance(got, Block) and not self.loop else None
        return Block(data, start_index=start + self._offset, discontinuity=disc, time=stamp)

    def acquire(self) -> NDArray[Any] | Block | None:
        """The next chunk of ``chunk_size`` frames, paced by ``speed``; see the class docs."""
        if self._ended:
            raise EndOfStream(f"FileSource: end of {self.path}")
        blk = self._pending
        self._pending = None
        if blk is None:
            blk = self._next_block()
        start = blk.start_index
        assert start is not None
        if self.speed is not None and not self._pacer.wait(start, start + len(blk.data)):
            self._pending = blk
            return None
        self._delivered += len(blk.data)
        if start == self._next_out and not blk.discontinuity and not self._positioned:
            self._next_out = start + len(blk.data)
            return blk.data  # contiguous: a plain array, as the stream's default numbering
        self._next_out = start + len(blk.data)
        return blk

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({str(self.path)!r}, format={self.format!r}, "
            f"speed={self.speed}, loop={self.loop}, chunk_size={self.chunk_size})"
        )


_REALTIME: float | None = 1.0


def _int_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def from_uri(parsed: ParsedURI) -> RealtimeSource:
    """``file:PATH?speed=1&loop=0&chunk_size=..&format=..&sample_rate=..&dtype=..&channels=..
    &byteorder=..&header_bytes=..&columns=0,2&delimiter=..&skip_header=..&time_column=0|1``.

    ``speed=0`` (or ``max``) replays as fast as possible. PATH is percent-decoded, so a
    ``?`` in a file name is written ``%3F`` (a space may be ``%20``; ``%`` itself ``%25``).
    """
    p = parsed
    if not p.target:
        raise ConfigurationError(f"file: a path is needed, e.g. 'file:capture.wav', got {p.uri!r}")
    path = urllib.parse.unquote(p.target)
    cols = p.take("columns", _int_list, None)
    return FileSource(
        path,
        speed=p.take("speed", to_speed, _REALTIME),
        loop=p.take("loop", to_bool, False),
        chunk_size=p.take("chunk_size", to_int, None),
        format=p.take("format", str, None),
        sample_rate=p.take("sample_rate", float, None, aliases=("rate", "fs")),
        dtype=p.take("dtype", str, None),
        channels=p.take("channels", to_int, None, aliases=("n_channels",)),
        byteorder=p.take("byteorder", str, "little"),
        header_bytes=p.take("header_bytes", to_int, 0),
        columns=cols,
        delimiter=p.take("delimiter", str, None),
        skip_header=p.take("skip_header", to_int, 0),
        time_column=p.take("time_column", to_bool, False),
    )
