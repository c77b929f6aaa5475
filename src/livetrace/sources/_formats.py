"""File formats FileSource reads: each opener returns a :class:`FrameFile` (a reader of
whole frames plus what the file says about its samples).

Binary formats are memory-mapped (a chunk is a slice of the map; the file is never read
whole); text files are read in 1 MiB blocks through :class:`~livetrace.sources._text.TextParser`.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError, SourceError
from .._protocols import Block
from ._raw import parse_dtype
from ._text import TextParser

__all__ = [
    "FORMATS",
    "FrameFile",
    "FrameReader",
    "WavLayout",
    "format_of",
    "open_npy",
    "open_raw",
    "open_text",
    "open_wav",
    "read_wav_header",
]

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


def format_of(path: Path, format: str | None) -> str:
    """The format name for ``path``: ``format`` when given, else from the suffix."""
    fmt = format.lower() if format else _SUFFIX.get(path.suffix.lower())
    if fmt not in FORMATS:
        raise ConfigurationError(
            f"FileSource: cannot tell the format of {str(path)!r} "
            f"(format={format!r}, suffix {path.suffix!r}); pass format= one of "
            f"{', '.join(FORMATS)} (suffixes: {', '.join(sorted(_SUFFIX))})"
        )
    return fmt


class FrameReader(Protocol):
    """A format backend: sequential reads of whole frames, rewind, close.

    ``read(n)`` returns up to ``n`` frames: an array (contiguous with the previous ones) or a
    :class:`~livetrace.Block` whose ``start_index`` counts from the file's first sample (a
    jump is a recorded gap); an empty array (not a Block) at the end of the file. A Block
    with no samples carries a loss at the end of the file.
    """

    def read(self, n: int) -> NDArray[Any] | Block: ...

    def rewind(self) -> None: ...

    def close(self) -> None: ...

    def health(self) -> dict[str, Any]: ...


@dataclass
class FrameFile:
    """An opened file: its reader and what its samples are (None: the file does not say)."""

    reader: FrameReader
    sample_rate: float | None
    dtype: np.dtype[Any]
    n_channels: int
    names: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    scale: float | None = None
    offset: float | None = None
    start_time: float | None = None
    description: str = ""
    positioned: bool = False
    """The reader's blocks carry recorded positions: the source always returns Blocks."""
    extra_health: dict[str, Any] = field(default_factory=dict)


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

    def health(self) -> dict[str, Any]:
        return {}

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

    def health(self) -> dict[str, Any]:
        return {
            "malformed_lines": self.total_malformed,
            "last_malformed": self.parser.last_malformed or self.last_malformed,
        }

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


def open_wav(path: Path) -> FrameFile:
    """A WAV file (PCM 8/16/24/32-bit integer counts with their scale, or float)."""
    lay = read_wav_header(path)
    nch = lay.n_channels
    shape: tuple[int, ...] = (lay.n_frames,) if nch == 1 else (lay.n_frames, nch)
    scale: float | None = None
    offset: float | None = None
    if lay.is_float:
        dt = np.dtype(f"<f{lay.bits // 8}")
        reader: FrameReader = _MappedReader(_memmap(path, dt, lay.data_offset, shape))
    elif lay.bits == 24:
        raw = _memmap(path, np.uint8, lay.data_offset, (lay.n_frames, 3 * nch))

        def convert(chunk: NDArray[np.uint8]) -> NDArray[np.int32]:
            out = _int24_to_int32(chunk)
            return out.reshape(-1) if nch == 1 else out

        reader = _MappedReader(raw, convert)
        dt, scale = np.dtype(np.int32), 2.0**-23
    else:
        dt = np.dtype({8: "u1", 16: "<i2", 32: "<i4"}[lay.bits])
        reader = _MappedReader(_memmap(path, dt, lay.data_offset, shape))
        scale = 2.0 ** -(lay.bits - 1)
        if lay.bits == 8:
            offset = -1.0
    return FrameFile(
        reader,
        float(lay.sample_rate),
        dt.newbyteorder("="),
        nch,
        scale=scale,
        offset=offset,
        extra_health={"trailing_bytes": lay.trailing_bytes} if lay.trailing_bytes else {},
    )


def open_npy(path: Path) -> FrameFile:
    """A ``.npy`` array, 1-D or ``(n, channels)``, memory-mapped."""
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise SourceError(
            f"{path}: not a .npy file of numbers that can be memory-mapped: {exc}"
        ) from exc
    if not isinstance(arr, np.ndarray):
        raise SourceError(f"{path}: expected one .npy array, got {type(arr).__name__}")
    if arr.dtype.kind not in "iufc":
        raise SourceError(f"{path}: .npy dtype must be integer, float or complex, got {arr.dtype}")
    if arr.ndim not in (1, 2) or (arr.ndim == 2 and arr.shape[1] < 1):
        raise SourceError(f"{path}: expected a 1-D array or (n, channels), got shape {arr.shape}")
    nch = 1 if arr.ndim == 1 else int(arr.shape[1])
    return FrameFile(_MappedReader(arr), None, arr.dtype.newbyteorder("="), nch)


def open_raw(
    path: Path, dtype: Any, channels: int | None, byteorder: str, header_bytes: int
) -> FrameFile:
    """Headerless interleaved samples (after ``header_bytes``), memory-mapped."""
    where = f"FileSource: raw file {str(path)!r}"
    try:
        dt = parse_dtype("float32" if dtype is None else dtype, byteorder)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc}") from exc
    nch = 1 if channels is None else int(channels)
    if nch < 1:
        raise ConfigurationError(f"{where}: channels must be >= 1, got {channels!r}")
    if header_bytes < 0:
        raise ConfigurationError(f"{where}: header_bytes must be >= 0, got {header_bytes!r}")
    size = path.stat().st_size - header_bytes
    frame = dt.itemsize * nch
    if size < 0 or size % frame:
        raise ConfigurationError(
            f"FileSource: {str(path)!r} holds {size} bytes of samples (after "
            f"{header_bytes} header bytes), not a whole number of {frame}-byte frames "
            f"({nch} channel(s) of {dt.name}); check dtype=, channels= and header_bytes="
        )
    n = size // frame
    shape: tuple[int, ...] = (n,) if nch == 1 else (n, nch)
    reader = _MappedReader(_memmap(path, dt, header_bytes, shape))
    return FrameFile(reader, None, dt.newbyteorder("="), nch)


def open_text(
    path: Path,
    columns: Sequence[int] | None,
    delimiter: str | None,
    skip_header: int,
    time_column: bool,
    sample_rate: float | None,
) -> FrameFile:
    """A text file of one column per channel (see :class:`FileSource`)."""
    with open(path, "rb") as f:
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
                f"{path}: expected numeric data after the header line, got {lines[i][:80]!r}"
            )
        header_names = [x.decode("utf-8", "replace") for x in fields]
        pos += len(lines[i]) + 1
        i += 1
    if n_fields == 0:
        raise SourceError(
            f"{path}: no line of numbers found in the first {len(head)} bytes "
            "(expected one column per channel, separated by commas, tabs or spaces)"
        )
    if header_names and len(header_names) != n_fields:
        header_names = []
    if columns is not None:
        cols = [int(c) for c in columns]
        bad = [c for c in cols if not -n_fields <= c < n_fields]
        if bad or not cols:
            raise ConfigurationError(
                f"FileSource: columns={list(columns)!r} do not fit {path.name}, which "
                f"has {n_fields} column(s)"
            )
        cols = [c % n_fields for c in cols]
    else:
        cols = list(range(1 if time_column else 0, n_fields))
        if not cols:
            raise ConfigurationError(f"FileSource: {path.name} has only a time column, no channel")
    rate = sample_rate
    if time_column and rate is None:
        probe = TextParser(n_fields, "float64", delimiter)
        rows = probe.feed(b"\n".join(lines[i : i + 1001]) + b"\n").reshape(-1, n_fields)
        dt = np.diff(rows[:, 0])
        step = float(np.median(dt)) if len(dt) else 0.0
        if not step > 0:
            raise ConfigurationError(
                f"FileSource: cannot estimate the sample rate from the time column of "
                f"{path.name} (median step {step!r}); pass sample_rate="
            )
        rate = 1.0 / step
    names = [header_names[c] for c in cols] if header_names else []
    selected = None if cols == list(range(n_fields)) else cols
    reader = _TextReader(path, pos, n_fields, selected, delimiter)
    return FrameFile(reader, rate, np.dtype(np.float64), len(cols), names=tuple(names))
