"""File formats FileSource reads: each opener returns a :class:`FrameFile` (a reader of
whole frames plus what the file says about its samples).

Binary formats are read frame by frame with ``pread`` (never whole, and never memory-mapped:
a file truncated under a mapped read would kill the process with SIGBUS); text files are
read in 1 MiB blocks through :class:`~livetrace.sources._text.TextParser`.
"""

from __future__ import annotations

import os
import struct
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError, SourceError
from .._fileio import check_same_file, file_identity, open_sequential, pread_into
from .._protocols import Block, SourceInfo
from ..formats._iq import IQ_FORMATS
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
    "wav": (".wav", ".wave", ".rf64", ".bw64"),
    "npy": (".npy",),
    "raw": (".raw", ".bin", ".dat"),
    "text": (".csv", ".txt", ".tsv"),
    "hdf5": (".h5", ".hdf5"),
    # read by livetrace.formats: GNU Radio metadata, raw I/Q, SigMF, libsndfile
    "gnuradio_meta": (".hdr",),
    "iq": tuple(IQ_FORMATS),
    "sigmf": (".sigmf-meta", ".sigmf-data"),
    "soundfile": (".flac", ".w64", ".aiff", ".aif", ".ogg"),
}
_SUFFIX = {suffix: name for name, suffixes in FORMATS.items() for suffix in suffixes}
_TEXT_BLOCK = 1 << 20


def _suffix(path: Path) -> str:
    """The suffix that names the format: ``.sigmf-meta`` counts as one."""
    name = path.name.lower()
    for double in (".sigmf-meta", ".sigmf-data"):
        if name.endswith(double):
            return double
    return path.suffix.lower()


_SNIFF_BYTES = 1 << 16


def format_of(path: Path, format: str | None) -> str:
    """The format name for ``path``: ``format`` when given, else from the suffix, corrected
    by the content where the suffix misleads (a GNU Radio metadata file named ``.dat``)."""
    fmt = format.lower() if format else _SUFFIX.get(_suffix(path))
    if format is None and path.is_file():
        from ..formats._registry import sniff_format

        fmt = sniff_format(path, fmt) or fmt
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
    clock: str = "nominal"
    """``"device"`` when the reader's blocks carry the recorded time of their first sample."""
    extra_health: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def described(
        cls, reader: FrameReader, info: SourceInfo, *, clock: str = "nominal"
    ) -> FrameFile:
        """A positioned reader that describes its samples with a :class:`SourceInfo`."""
        return cls(
            reader,
            info.sample_rate,
            np.dtype(info.dtype),
            info.n_channels,
            names=info.channel_names,
            units=info.units,
            scale=info.scale,
            offset=info.offset,
            start_time=info.start_time,
            description=info.description,
            positioned=True,
            clock=clock,
        )


class _PreadReader:
    """Whole frames of a binary file (``.npy``, raw, WAV) read with ``pread`` into new arrays.

    Not a memory map: a file truncated while it is replayed would make a mapped read fault
    (SIGBUS kills the process); here a short read is a clear :class:`~livetrace.SourceError`
    naming the file. ``width`` items make a frame (the channels, or 3 bytes per channel of a
    24-bit WAV before ``convert``). ``fortran``: a ``(n, width)`` array stored column by column.
    """

    def __init__(
        self,
        path: Path,
        dtype: np.dtype[Any],
        offset: int,
        n_frames: int,
        width: int,
        *,
        squeeze: bool,
        convert: Any = None,
        fortran: bool = False,
    ) -> None:
        self.path = path
        self.dtype = dtype
        self.offset = offset
        self.n_frames = n_frames
        self.width = width
        self.squeeze = squeeze  # one channel: 1-D frames
        self.convert = convert
        self.fortran = fortran
        self.native = dtype if dtype.isnative else dtype.newbyteorder("=")
        self.pos = 0
        self.fd: int | None = open_sequential(path)
        self.identity = file_identity(os.fstat(self.fd))

    def _pread(self, out: NDArray[Any], at: int) -> None:
        if self.fd is None:
            raise SourceError(f"FileSource: {str(self.path)!r} is closed")
        pread_into(self.fd, out, at, self.path)

    def _check_same_file(self) -> None:
        """SourceError when the path now names another file (replaced under the replay)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return  # deleted: the open descriptor still reads the same, complete file
        check_same_file(st, self.identity, self.path)

    def read(self, n: int) -> NDArray[Any]:
        self._check_same_file()
        k = min(n, self.n_frames - self.pos)
        shape: tuple[int, ...] = (k,) if self.squeeze else (k, self.width)
        if k <= 0:
            return np.empty((0,) if self.squeeze else (0, self.width), dtype=self.native)
        item = self.dtype.itemsize
        if self.fortran:  # column c of the (n, width) array starts at c * n_frames items
            out = np.empty((self.width, k), dtype=self.dtype)
            for c in range(self.width):
                self._pread(out[c], self.offset + (c * self.n_frames + self.pos) * item)
            frames: NDArray[Any] = out.T
        else:
            frames = np.empty(shape, dtype=self.dtype)
            self._pread(frames, self.offset + self.pos * self.width * item)
        self.pos += k
        if self.convert is not None:
            return self.convert(frames)  # type: ignore[no-any-return]  # returns NDArray
        if not frames.dtype.isnative:
            return frames.astype(self.native)
        return frames

    def rewind(self) -> None:
        self.pos = 0

    def health(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


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
    """Parse the RIFF/WAVE header of ``path`` (``SourceError`` when it is not a WAV we read).

    RF64 and BW64 files (``ds64`` chunk, 64-bit sizes) are read the same way. A RIFF file
    whose data chunk runs past 4 GiB is read to its end when the header's 32-bit size says
    ``0xFFFFFFFF`` or 0 (streaming writers) or is the true size wrapped modulo 2**32.
    """
    size = os.path.getsize(path)
    ds64_data: int | None = None
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64", b"BW64") or head[8:12] != b"WAVE":
            raise SourceError(
                f"{path}: not a WAV file: expected a 'RIFF....WAVE' header (or RF64/BW64), "
                f"got {head[:12]!r}"
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
            elif cid == b"ds64":  # RF64/BW64: riff size, data size, sample count (uint64)
                body = f.read(min(csize, 64))  # the sizes; a chunk table may follow
                if len(body) >= 16:
                    ds64_data = struct.unpack("<Q", body[8:16])[0]
                f.seek(csize - len(body) + (csize & 1), os.SEEK_CUR)
            elif cid == b"data":
                data_offset = f.tell()
                rest = size - data_offset
                claimed = csize
                if ds64_data is not None and csize == 0xFFFFFFFF:
                    claimed = ds64_data
                data_bytes = min(claimed, rest)  # streaming writers leave 0xFFFFFFFF
                if (
                    head[:4] == b"RIFF"
                    and rest > claimed
                    and (claimed in (0, 0xFFFFFFFF) or (rest - claimed) % (1 << 32) == 0)
                ):
                    data_bytes = rest  # past 4 GiB: the 32-bit size cannot say it
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
    if rate < 1:
        raise SourceError(f"{path}: WAV header gives a sample rate of {rate} Hz; expected >= 1")
    if head[:4] == b"RIFF" and 0 < csize < 0x7FFF0000 and csize > size - data_offset:
        raise SourceError(
            f"{path}: WAV file is truncated: its header promises {csize} bytes of samples, "
            f"the file holds {size - data_offset}"
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
        self.identity: tuple[int, int] | None = None  # (device, inode) of the file read

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
        """The next block of the file; SourceError if it was replaced or truncated since the
        replay began (its last line would otherwise be spliced with another file's)."""
        try:
            with open(self.path, "rb") as f:
                st = os.fstat(f.fileno())
                if self.identity is None:
                    self.identity = file_identity(st)
                check_same_file(st, self.identity, self.path)
                if st.st_size < self.offset:
                    raise SourceError(
                        f"FileSource: {str(self.path)!r} shrank while it was replayed: "
                        f"{self.offset} bytes were read, the file now has {st.st_size}"
                    )
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


class _IndexedTextReader:
    """Rows of a CSV whose first column, ``index``, is each row's absolute position (the
    CSV :func:`~livetrace.sinks.export_recording` writes): :class:`~livetrace.Block` objects
    that never span a jump in the index, so gaps are kept."""

    def __init__(self, inner: _TextReader) -> None:
        self.inner = inner
        self.held: NDArray[Any] | None = None  # rows read past a jump, delivered next

    def read(self, n: int) -> NDArray[Any] | Block:
        rows = self.held if self.held is not None else self.inner.read(n)
        self.held = None
        if len(rows) == 0:
            return np.empty((0, rows.shape[1] - 1 if rows.ndim == 2 else 1))
        idx = rows[:, 0]
        steps = np.diff(idx)
        if not (np.all(idx == np.floor(idx)) and idx[0] >= 0 and np.all(steps >= 1)):
            raise SourceError(
                f"{self.inner.path}: the index column must hold increasing whole numbers >= 0 "
                f"(absolute sample positions), got {idx[:5].tolist()}..."
            )
        jumps = np.flatnonzero(steps != 1)
        cut = int(jumps[0]) + 1 if len(jumps) else len(rows)
        if cut < len(rows):
            self.held = rows[cut:]
        return Block(rows[:cut, 1:], start_index=int(idx[0]))

    def rewind(self) -> None:
        self.inner.rewind()
        self.held = None

    def health(self) -> dict[str, Any]:
        return self.inner.health()

    def close(self) -> None:
        self.inner.close()
        self.held = None


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
    scale: float | None = None
    offset: float | None = None
    if lay.is_float:
        dt = np.dtype(f"<f{lay.bits // 8}")
        reader: FrameReader = _PreadReader(
            path, dt, lay.data_offset, lay.n_frames, nch, squeeze=nch == 1
        )
    elif lay.bits == 24:

        def convert(chunk: NDArray[np.uint8]) -> NDArray[np.int32]:
            out = _int24_to_int32(chunk)
            return out.reshape(-1) if nch == 1 else out

        reader = _PreadReader(
            path,
            np.dtype(np.uint8),
            lay.data_offset,
            lay.n_frames,
            3 * nch,
            squeeze=False,
            convert=convert,
        )
        dt, scale = np.dtype(np.int32), 2.0**-23
    else:
        dt = np.dtype({8: "u1", 16: "<i2", 32: "<i4"}[lay.bits])
        reader = _PreadReader(path, dt, lay.data_offset, lay.n_frames, nch, squeeze=nch == 1)
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
    """A ``.npy`` array, 1-D or ``(n, channels)``: its header is checked against the file's
    size, then frames are read as they are needed."""
    fmt = np.lib.format
    try:
        with open(path, "rb") as f:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = fmt.read_array_header_2_0(f)
            data_offset = f.tell()
    except (ValueError, OSError, EOFError, SyntaxError, tokenize.TokenError) as exc:
        raise SourceError(f"{path}: not a .npy file (expected numpy's .npy header): {exc}") from exc
    dt = np.dtype(dtype)
    if dt.kind not in "iufc" or dt.hasobject:
        raise SourceError(f"{path}: .npy dtype must be integer, float or complex, got {dt}")
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] < 1):
        raise SourceError(f"{path}: expected a 1-D array or (n, channels), got shape {shape}")
    n = int(shape[0])
    nch = 1 if len(shape) == 1 else int(shape[1])
    need = data_offset + n * nch * dt.itemsize
    size = path.stat().st_size
    if size < need:
        raise SourceError(
            f"{path}: the .npy header promises {n} x {nch} {dt} samples ({need} bytes with "
            f"the header) but the file has {size} bytes: it is truncated"
        )
    reader = _PreadReader(
        path, dt, data_offset, n, nch, squeeze=nch == 1, fortran=bool(fortran) and nch > 1
    )
    return FrameFile(reader, None, dt.newbyteorder("="), nch)


def open_raw(
    path: Path, dtype: Any, channels: int | None, byteorder: str, header_bytes: int
) -> FrameFile:
    """Headerless interleaved samples (after ``header_bytes``)."""
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
    reader = _PreadReader(path, dt, header_bytes, size // frame, nch, squeeze=nch == 1)
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
    if columns is None and not time_column and header_names[:1] == ["index"] and n_fields > 1:
        # livetrace's own CSV export: the index column is each row's absolute position
        inner = _TextReader(path, pos, n_fields, None, delimiter)
        return FrameFile(
            _IndexedTextReader(inner),
            rate,
            np.dtype(np.float64),
            n_fields - 1,
            names=tuple(header_names[1:]),
            positioned=True,
        )
    selected = None if cols == list(range(n_fields)) else cols
    reader = _TextReader(path, pos, n_fields, selected, delimiter)
    return FrameFile(reader, rate, np.dtype(np.float64), len(cols), names=tuple(names))
