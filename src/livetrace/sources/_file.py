"""FileSource: replay a WAV, ``.npy``, raw binary, CSV/text file or a livetrace recording.

Binary formats are memory-mapped (a chunk is a slice of the map; the file is never read
whole), text files are read in 1 MiB blocks through :class:`~livetrace.sources._text.TextParser`.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError, EndOfStream, SourceError, SourceUnavailableError
from .._protocols import Block, RealtimeSource, SourceInfo
from ._array import Pacer
from ._raw import parse_dtype
from ._text import TextParser
from ._uri import ParsedURI, to_bool, to_int

__all__ = ["FORMATS", "FileSource"]

#: format name -> file suffixes that select it
FORMATS: dict[str, tuple[str, ...]] = {
    "wav": (".wav", ".wave"),
    "npy": (".npy",),
    "raw": (".raw", ".bin", ".dat"),
    "text": (".csv", ".txt", ".tsv"),
    "hdf5": (".h5", ".hdf5"),
}
_SUFFIX = {suffix: name for name, suffixes in FORMATS.items() for suffix in suffixes}
_TEXT_BLOCK = 1 << 20
_SNIFF_BYTES = 1 << 16


class _Reader(Protocol):
    """A format backend: sequential reads of whole frames, rewind, close."""

    def read(self, n: int) -> NDArray[Any]:
        """Up to ``n`` frames; an empty array at the end of the file."""

    def rewind(self) -> None: ...

    def close(self) -> None: ...


class _MappedReader:
    """Frames of a memory-mapped array (``.npy``, raw, WAV)."""

    def __init__(self, frames: NDArray[Any], convert: Any = None) -> None:
        self.frames = frames
        self.convert = convert
        self.pos = 0
        mm = getattr(frames, "_mmap", None)
        if mm is not None and hasattr(mmap, "MADV_SEQUENTIAL"):
            mm.madvise(mmap.MADV_SEQUENTIAL)  # replay reads front to back: read ahead
        dt = frames.dtype
        self.native = dt if dt.isnative else dt.newbyteorder("=")

    def read(self, n: int) -> NDArray[Any]:
        pos = self.pos
        stop = min(len(self.frames), pos + n)
        self.pos = stop
        chunk = np.asarray(self.frames[pos:stop])
        if self.convert is not None:
            return self.convert(chunk)  # type: ignore[no-any-return]  # callable returns NDArray
        if chunk.dtype is not self.native and not chunk.dtype.isnative:
            return chunk.astype(self.native)
        return chunk

    def rewind(self) -> None:
        self.pos = 0

    def close(self) -> None:
        mm = getattr(self.frames, "_mmap", None)
        self.frames = self.frames[:0]
        if mm is not None:
            del mm


def _int24_to_int32(chunk: NDArray[np.uint8]) -> NDArray[np.int32]:
    """``(n, 3 * channels)`` bytes of little-endian 24-bit samples -> ``(n, channels)`` int32."""
    n, width = chunk.shape
    wide = np.zeros((chunk.size // 3, 4), dtype=np.uint8)
    wide[:, 1:] = chunk.reshape(-1, 3)
    out = wide.view("<i4").reshape(n, width // 3)
    out >>= 8  # arithmetic shift: sign-extends the top byte
    return out if out.dtype.isnative else out.astype(np.int32)


@dataclass(frozen=True)
class WavLayout:
    """What a WAV header says: where the samples are and how they are encoded."""

    sample_rate: int
    n_channels: int
    bits: int
    is_float: bool
    data_offset: int
    n_frames: int
    trailing_bytes: int


def read_wav_header(path: str | os.PathLike[str]) -> WavLayout:
    """Parse the RIFF/WAVE header of ``path`` (``SourceError`` when it is not a WAV we read)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise SourceError(
                f"{path}: not a WAV file: expected a 'RIFF....WAVE' header, got {head[:12]!r}"
            )
        fmt: bytes | None = None
        while True:
            hdr = f.read(8)
            if len(hdr) < 8:
                raise SourceError(f"{path}: WAV file has no 'data' chunk")
            cid, csize = hdr[:4], struct.unpack("<I", hdr[4:])[0]
            if cid == b"fmt ":
                fmt = f.read(csize)
                if csize & 1:
                    f.seek(1, os.SEEK_CUR)
            elif cid == b"data":
                data_offset = f.tell()
                data_bytes = min(csize, size - data_offset)  # streaming writers leave 0xFFFFFFFF
                break
            else:
                f.seek(csize + (csize & 1), os.SEEK_CUR)
    if fmt is None or len(fmt) < 16:
        raise SourceError(f"{path}: WAV file has no valid 'fmt ' chunk before its data")
    tag, channels, rate, _byte_rate, align, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == 0xFFFE and len(fmt) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the sub-format GUID
        tag = struct.unpack("<H", fmt[24:26])[0]
    if tag == 1 and bits in (8, 16, 24, 32):
        is_float = False
    elif tag == 3 and bits in (32, 64):
        is_float = True
    else:
        raise SourceError(
            f"{path}: unsupported WAV encoding (format tag {tag}, {bits} bits); expected PCM "
            "8/16/24/32-bit integer (tag 1) or 32/64-bit IEEE float (tag 3)"
        )
    if channels < 1 or align != channels * bits // 8:
        raise SourceError(
            f"{path}: inconsistent WAV header: {channels} channel(s) of {bits} bits but "
            f"block align {align}"
        )
    return WavLayout(
        sample_rate=rate,
        n_channels=channels,
        bits=bits,
        is_float=is_float,
        data_offset=data_offset,
        n_frames=data_bytes // align,
        trailing_bytes=data_bytes % align,
    )


def _memmap(path: Path, dtype: Any, offset: int, shape: tuple[int, ...]) -> NDArray[Any]:
    if shape[0] == 0:
        return np.empty(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)


class _TextReader:
    """Rows of a text file, read in blocks and parsed by :class:`TextParser`.

    The file is opened for each block read (at the saved offset) and closed again, so no
    handle is held between calls.
    """

    def __init__(
        self,
        path: Path,
        data_offset: int,
        n_fields: int,
        columns: list[int] | None,
        delimiter: str | None,
    ) -> None:
        self.path = path
        self.data_offset = data_offset
        self.columns = columns
        self.parser = TextParser(n_fields, "float64", delimiter)
        self.malformed = 0
        self.last_malformed: bytes | None = None
        self.offset = data_offset
        self.pending: list[NDArray[Any]] = []
        self.n_pending = 0
        self.eof = False

    def rewind(self) -> None:
        # keep the malformed-line count across passes, then start the parser afresh
        self.malformed += self.parser.malformed
        if self.parser.last_malformed is not None:
            self.last_malformed = self.parser.last_malformed
        self.parser.reset()
        self.offset = self.data_offset
        self.pending = []
        self.n_pending = 0
        self.eof = False

    @property
    def total_malformed(self) -> int:
        return self.malformed + self.parser.malformed

    def _next_block(self) -> bytes:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                block = f.read(_TEXT_BLOCK)
        except OSError as exc:
            raise SourceError(f"FileSource: reading {str(self.path)!r} failed: {exc}") from exc
        self.offset += len(block)
        return block

    def read(self, n: int) -> NDArray[Any]:
        while self.n_pending < n and not self.eof:
            block = self._next_block()
            if block:
                rows = self.parser.feed(block)
            else:
                rows = self.parser.flush()
                self.eof = True
            if rows.ndim == 1:
                rows = rows.reshape(-1, 1)
            if self.columns is not None:
                rows = rows[:, self.columns]
            if len(rows):
                self.pending.append(rows)
                self.n_pending += len(rows)
        if not self.pending:
            return np.empty((0, 1), dtype=np.float64)
        allrows = self.pending[0] if len(self.pending) == 1 else np.concatenate(self.pending)
        out, rest = allrows[:n], allrows[n:]
        self.pending = [rest] if len(rest) else []
        self.n_pending = len(rest)
        return out

    def close(self) -> None:
        self.pending = []
        self.n_pending = 0
        self.eof = True


def _is_number(field: bytes) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _split_fields(line: bytes, delimiter: str | None) -> list[bytes]:
    if delimiter is None:
        return line.translate(bytes.maketrans(b",;", b"  ")).split()
    if delimiter.strip() == "" or delimiter == "whitespace":
        return line.split()
    return [f.strip() for f in line.split(delimiter.encode("latin-1"))]


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
    - **livetrace recordings** (``.h5``/``.hdf5``): delegated to
      ``livetrace.sinks._reader.RecordingSource`` (needs ``livetrace[hdf5]``).

    Pacing: ``speed=1.0`` delivers in real time from a monotonic clock anchored at the first
    ``acquire()`` (re-anchored by ``start()`` after ``stop()``; ``stop()`` wakes the wait);
    ``speed=2.0`` twice as fast; ``speed=None`` as fast as it is called.
    ``chunk_size`` (frames per ``acquire()``) defaults to 10 ms of samples (at least 256)
    when paced and 65536 when not.

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
        if speed is not None and not speed > 0:
            raise ConfigurationError(
                f"FileSource: speed must be > 0 (1.0 = real time) or None (as fast as possible), "
                f"got {speed!r}"
            )
        if chunk_size is not None and chunk_size < 1:
            raise ConfigurationError(f"FileSource: chunk_size must be >= 1, got {chunk_size!r}")
        if sample_rate is not None and not sample_rate > 0:
            raise ConfigurationError(
                f"FileSource: sample_rate must be positive, got {sample_rate!r}"
            )
        if not self.path.exists():
            raise SourceUnavailableError(f"FileSource: no such file: {str(self.path)!r}")
        if not self.path.is_file():
            raise SourceUnavailableError(f"FileSource: not a regular file: {str(self.path)!r}")
        fmt = format.lower() if format else _SUFFIX.get(self.path.suffix.lower())
        if fmt not in FORMATS:
            raise ConfigurationError(
                f"FileSource: cannot tell the format of {str(self.path)!r} "
                f"(format={format!r}, suffix {self.path.suffix!r}); pass format= one of "
                f"{', '.join(FORMATS)} (suffixes: {', '.join(sorted(_SUFFIX))})"
            )
        if fmt != "raw" and (dtype is not None or channels is not None):
            raise ConfigurationError(
                f"FileSource: dtype= and channels= apply to raw files only; {self.path.name} is "
                f"{fmt} and describes its own samples"
            )
        self.format = fmt
        self.speed = speed
        self.loop = bool(loop)
        self.loops = 0
        self._delegate: RealtimeSource | None = None
        self._stop = threading.Event()
        self._delivered = 0
        self._wrapped = False
        self._ended = False
        self.trailing_bytes = 0
        scale: float | None = None
        offset: float | None = None
        names: Sequence[str] | None = channel_names
        if fmt == "hdf5":
            self._open_recording(chunk_size)
            return
        try:
            if fmt == "wav":
                reader, rate, dt, nch, scale, offset = self._open_wav()
            elif fmt == "npy":
                reader, dt, nch = self._open_npy()
                rate = None
            elif fmt == "raw":
                reader, dt, nch = self._open_raw(dtype, channels, byteorder, header_bytes)
                rate = None
            else:
                reader, rate, nch, header_names = self._open_text(
                    columns, delimiter, skip_header, time_column, sample_rate
                )
                dt = np.dtype(np.float64)
                if names is None and header_names:
                    names = header_names
        except PermissionError as exc:
            raise SourceUnavailableError(
                f"FileSource: cannot read {str(self.path)!r}: {exc.strerror}"
            ) from exc
        rate = sample_rate if sample_rate is not None else rate
        if rate is None:
            raise ConfigurationError(
                f"FileSource: {fmt} file {str(self.path)!r} does not record its sample rate; "
                "pass sample_rate="
            )
        self._reader: _Reader = reader
        self.sample_rate = float(rate)
        self.chunk_size = int(chunk_size) if chunk_size else self._default_chunk()
        self._pacer = Pacer(self.sample_rate * (speed or 1.0), self._stop)
        self._info = SourceInfo(
            sample_rate=self.sample_rate,
            dtype=dt.name,
            n_channels=nch,
            channel_names=tuple(names or ()),
            units=tuple(units or ()),
            finite=not self.loop,
            backpressure=True,
            description=f"file:{self.path}",
            scale=scale,
            offset=offset,
        )
        self.n_channels = nch

    # -- format backends -----------------------------------------------------------------
    def _open_recording(self, chunk_size: int | None) -> None:
        try:
            from ..sinks._reader import RecordingSource  # optional, lazy
        except ModuleNotFoundError as exc:
            if exc.name != "livetrace.sinks._reader":
                raise
            raise SourceError(
                f"FileSource: {str(self.path)!r} is a livetrace recording, but the recording "
                "reader (livetrace.sinks._reader) is not available in this installation"
            ) from exc
        self._delegate = RecordingSource(
            self.path, speed=self.speed, loop=self.loop, chunk_size=chunk_size
        )

    def _open_wav(self) -> tuple[_Reader, float, np.dtype[Any], int, float | None, float | None]:
        lay = read_wav_header(self.path)
        nch = lay.n_channels
        self.trailing_bytes = lay.trailing_bytes
        shape: tuple[int, ...] = (lay.n_frames,) if nch == 1 else (lay.n_frames, nch)
        scale: float | None = None
        offset: float | None = None
        if lay.is_float:
            dt = np.dtype(f"<f{lay.bits // 8}")
            reader: _Reader = _MappedReader(_memmap(self.path, dt, lay.data_offset, shape))
        elif lay.bits == 24:
            raw = _memmap(self.path, np.uint8, lay.data_offset, (lay.n_frames, 3 * nch))

            def convert(chunk: NDArray[np.uint8]) -> NDArray[np.int32]:
                out = _int24_to_int32(chunk)
                return out.reshape(-1) if nch == 1 else out

            reader = _MappedReader(raw, convert)
            dt, scale = np.dtype(np.int32), 2.0**-23
        else:
            dt = np.dtype({8: "u1", 16: "<i2", 32: "<i4"}[lay.bits])
            reader = _MappedReader(_memmap(self.path, dt, lay.data_offset, shape))
            scale = 2.0 ** -(lay.bits - 1)
            if lay.bits == 8:
                offset = -1.0
        return reader, float(lay.sample_rate), dt.newbyteorder("="), nch, scale, offset

    def _open_npy(self) -> tuple[_Reader, np.dtype[Any], int]:
        try:
            arr = np.load(self.path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise SourceError(
                f"{self.path}: not a .npy file of numbers that can be memory-mapped: {exc}"
            ) from exc
        if not isinstance(arr, np.ndarray):
            raise SourceError(f"{self.path}: expected one .npy array, got {type(arr).__name__}")
        if arr.dtype.kind not in "iufc":
            raise SourceError(
                f"{self.path}: .npy dtype must be integer, float or complex, got {arr.dtype}"
            )
        if arr.ndim not in (1, 2) or (arr.ndim == 2 and arr.shape[1] < 1):
            raise SourceError(
                f"{self.path}: expected a 1-D array or (n, channels), got shape {arr.shape}"
            )
        nch = 1 if arr.ndim == 1 else int(arr.shape[1])
        return _MappedReader(arr), arr.dtype.newbyteorder("="), nch

    def _open_raw(
        self, dtype: Any, channels: int | None, byteorder: str, header_bytes: int
    ) -> tuple[_Reader, np.dtype[Any], int]:
        where = f"FileSource: raw file {str(self.path)!r}"
        try:
            dt = parse_dtype("float32" if dtype is None else dtype, byteorder)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{where}: {exc}") from exc
        nch = 1 if channels is None else int(channels)
        if nch < 1:
            raise ConfigurationError(f"{where}: channels must be >= 1, got {channels!r}")
        if header_bytes < 0:
            raise ConfigurationError(f"{where}: header_bytes must be >= 0, got {header_bytes!r}")
        size = self.path.stat().st_size - header_bytes
        frame = dt.itemsize * nch
        if size < 0 or size % frame:
            raise ConfigurationError(
                f"FileSource: {str(self.path)!r} holds {size} bytes of samples (after "
                f"{header_bytes} header bytes), not a whole number of {frame}-byte frames "
                f"({nch} channel(s) of {dt.name}); check dtype=, channels= and header_bytes="
            )
        n = size // frame
        shape: tuple[int, ...] = (n,) if nch == 1 else (n, nch)
        return _MappedReader(_memmap(self.path, dt, header_bytes, shape)), dt.newbyteorder("="), nch

    def _open_text(
        self,
        columns: Sequence[int] | None,
        delimiter: str | None,
        skip_header: int,
        time_column: bool,
        sample_rate: float | None,
    ) -> tuple[_Reader, float | None, int, list[str]]:
        with open(self.path, "rb") as f:
            head = f.read(_SNIFF_BYTES)
        lines = head.split(b"\n")
        if len(head) == _SNIFF_BYTES:
            lines = lines[:-1]  # the last one may be cut
        pos = 0
        i = 0
        for _ in range(skip_header):
            if i >= len(lines):
                break
            pos += len(lines[i]) + 1
            i += 1
        header_names: list[str] = []
        n_fields = 0
        while i < len(lines):
            fields = _split_fields(lines[i], delimiter)
            if not fields:
                pos += len(lines[i]) + 1
                i += 1
                continue
            if all(_is_number(x) for x in fields):
                n_fields = len(fields)
                break
            if header_names:
                raise SourceError(
                    f"{self.path}: expected numeric data after the header line, got "
                    f"{lines[i][:80]!r}"
                )
            header_names = [x.decode("utf-8", "replace") for x in fields]
            pos += len(lines[i]) + 1
            i += 1
        if n_fields == 0:
            raise SourceError(
                f"{self.path}: no line of numbers found in the first {len(head)} bytes "
                "(expected one column per channel, separated by commas, tabs or spaces)"
            )
        if header_names and len(header_names) != n_fields:
            header_names = []
        if columns is not None:
            cols = [int(c) for c in columns]
            bad = [c for c in cols if not -n_fields <= c < n_fields]
            if bad or not cols:
                raise ConfigurationError(
                    f"FileSource: columns={list(columns)!r} do not fit {self.path.name}, which "
                    f"has {n_fields} column(s)"
                )
            cols = [c % n_fields for c in cols]
        else:
            cols = list(range(1 if time_column else 0, n_fields))
            if not cols:
                raise ConfigurationError(
                    f"FileSource: {self.path.name} has only a time column, no channel"
                )
        rate = sample_rate
        if time_column and rate is None:
            probe = TextParser(n_fields, "float64", delimiter)
            rows = probe.feed(b"\n".join(lines[i : i + 1001]) + b"\n").reshape(-1, n_fields)
            dt = np.diff(rows[:, 0])
            step = float(np.median(dt)) if len(dt) else 0.0
            if not step > 0:
                raise ConfigurationError(
                    f"FileSource: cannot estimate the sample rate from the time column of "
                    f"{self.path.name} (median step {step!r}); pass sample_rate="
                )
            rate = 1.0 / step
        names = [header_names[c] for c in cols] if header_names else []
        selected = None if cols == list(range(n_fields)) else cols
        reader = _TextReader(self.path, pos, n_fields, selected, delimiter)
        return reader, rate, len(cols), names

    # -- protocol -------------------------------------------------------------------------
    def _default_chunk(self) -> int:
        if self.speed is None:
            return 65536
        return max(256, int(self.sample_rate / 100))

    @property
    def info(self) -> SourceInfo | None:
        if self._delegate is not None:
            return self._delegate.info
        return self._info

    def start(self) -> None:
        if self._delegate is not None:
            self._delegate.start()
            return
        self._stop.clear()
        self._pacer.reanchor()

    def stop(self) -> None:
        if self._delegate is not None:
            self._delegate.stop()
            return
        self._stop.set()

    def close(self) -> None:
        """Release the file (the map or handle); the source cannot be read afterwards."""
        if self._delegate is not None:
            closer = getattr(self._delegate, "close", None)
            if closer is not None:
                closer()
            return
        self._reader.close()
        self._ended = True

    def reset(self) -> None:
        """Rewind to the first sample."""
        self._reader.rewind()
        self._delivered = 0
        self._ended = False
        self._pacer.reanchor()

    def health(self) -> dict[str, Any]:
        if self._delegate is not None:
            return self._delegate.health()
        out: dict[str, Any] = {"delivered": self._delivered, "loops": self.loops}
        if isinstance(self._reader, _TextReader):
            out["malformed_lines"] = self._reader.total_malformed
            last = self._reader.parser.last_malformed or self._reader.last_malformed
            out["last_malformed"] = last
        if self.trailing_bytes:
            out["trailing_bytes"] = self.trailing_bytes
        return out

    def acquire(self) -> NDArray[Any] | Block | None:
        """The next chunk of ``chunk_size`` frames, paced by ``speed``; see the class docs."""
        if self._delegate is not None:
            return self._delegate.acquire()
        if self._ended:
            raise EndOfStream(f"FileSource: end of {self.path}")
        n = self.chunk_size
        if self.speed is not None and not self._pacer.wait(self._delivered, self._delivered + n):
            return None
        data = self._reader.read(n)
        if len(data) == 0:
            if not self.loop or self._delivered_in_pass() == 0:
                self._ended = True
                raise EndOfStream(f"FileSource: end of {self.path}")
            self._reader.rewind()
            self.loops += 1
            self._pass_start = self._delivered
            self._wrapped = True
            data = self._reader.read(n)
        if self.n_channels == 1 and data.ndim == 2:
            data = data.reshape(-1)
        self._delivered += len(data)
        if self._wrapped:
            self._wrapped = False
            return Block(data, discontinuity=True)
        return data

    _pass_start = 0

    def _delivered_in_pass(self) -> int:
        return self._delivered - self._pass_start

    def __repr__(self) -> str:
        return (
            f"FileSource({str(self.path)!r}, format={self.format!r}, speed={self.speed}, "
            f"loop={self.loop})"
        )


_REALTIME: float | None = 1.0


def _speed(text: str) -> float | None:
    low = text.strip().lower()
    if low in ("0", "max", "none", "inf"):
        return None
    return float(text)


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
        speed=p.take("speed", _speed, _REALTIME),
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
