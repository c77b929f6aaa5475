"""GNU Radio ``blocks.file_meta_sink`` files: attached and detached headers.

``file_meta_sink`` writes segments: a header (a serialized PMT dictionary of 149 bytes with
``version``, ``rx_rate``, ``rx_time``, ``size``, ``type``, ``cplx``, ``strt``, ``bytes``),
an optional *extra* dictionary (the block's ``extra_dict`` and tags it saw), then ``bytes``
bytes of items. A new segment starts when a tag updates a header key (``rx_time``,
``rx_rate``) or after ``max_segment_size`` items. With ``detached_header=True`` the headers
go to ``<data>.hdr`` and the data file holds the items only.

The headers are parsed here with :mod:`livetrace.formats._pmt` (GNU Radio is not needed).
Item types: ``type`` 0 byte (``uint8``; ``int8`` when complex), 1 short (``int16``), 2 int and
3 long (``int32``), 4 long long (``int64``), 5 float (``float32``), 6 double (``float64``);
``cplx`` pairs them as I/Q (complex integers become ``complex64``, or ``complex128`` for 32-
and 64-bit integers, holding the counts unscaled). ``size`` / (item size) is the vector length,
delivered as channels. Samples are native byte order (little-endian on the usual machines).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._errors import SourceError
from .._protocols import SourceInfo
from ._pmt import PmtError, parse_pmt
from ._segments import Segment, SegmentReader, open_path

__all__ = ["HEADER_KEYS", "is_gnuradio_meta", "open_gnuradio_meta"]

#: keys every file_meta_sink header holds
HEADER_KEYS = frozenset({"version", "rx_rate", "rx_time", "size", "type", "cplx", "strt", "bytes"})
_HEAD_READ = 1 << 16  # a header (149 bytes in GNU Radio 3.7-3.10) and a generous extra dict
_HEADER_START = b"\x09\x07\x02\x00\x04strt\x0b"  # every file_meta_sink header begins so
_TYPES = {0: "u1", 1: "i2", 2: "i4", 3: "i4", 4: "i8", 5: "f4", 6: "f8"}
_TYPE_NAMES = "0 byte, 1 short, 2 int, 3 long, 4 long long, 5 float, 6 double"


def _parse_dict(buf: bytes, pos: int) -> tuple[dict[str, Any], int] | None:
    try:
        value, end = parse_pmt(buf, pos)
    except PmtError:
        return None
    return (value, end) if isinstance(value, dict) else None


def _looks_like_header(buf: bytes) -> bool:
    parsed = _parse_dict(buf, 0) if buf[:1] == b"\x09" else None
    return parsed is not None and set(parsed[0]) >= HEADER_KEYS


def is_gnuradio_meta(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a ``file_meta_sink`` file: it starts with a metadata header,
    it is a detached ``.hdr`` header file, or a detached ``<path>.hdr`` lies next to it."""
    p = Path(path)
    candidates = [p, Path(f"{p}.hdr")]
    for c in candidates:
        try:
            with open(c, "rb") as f:
                head = f.read(_HEAD_READ)
        except OSError:
            continue
        if _looks_like_header(head):
            return True
    return False


def _rx_time(value: Any) -> tuple[int, float] | None:
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], int)
        and isinstance(value[1], float)
    ):
        return int(value[0]), float(value[1])
    return None


def _headers(
    hdr_path: Path, attached: bool, data_size: int
) -> list[tuple[dict[str, Any], dict[str, Any], int]]:
    """``(header, extra, data_offset)`` of every segment; the offset is in the data file."""
    size = hdr_path.stat().st_size
    out: list[tuple[dict[str, Any], dict[str, Any], int]] = []
    pos = 0
    data_pos = 0
    with open(hdr_path, "rb") as f:
        while pos < size:
            f.seek(pos)
            buf = f.read(_HEAD_READ)
            parsed = _parse_dict(buf, 0)
            where = f"{hdr_path}: GNU Radio metadata header at byte {pos}"
            if parsed is None or not set(parsed[0]) >= HEADER_KEYS:
                have = sorted(parsed[0]) if parsed else "no PMT dictionary"
                raise SourceError(
                    f"{where} is not a file_meta_sink header (expected a PMT dictionary with "
                    f"{', '.join(sorted(HEADER_KEYS))}; found {have}); the file is truncated "
                    "or not a GNU Radio metadata file"
                )
            header, end = parsed
            strt, nbytes = header["strt"], header["bytes"]
            if not (isinstance(strt, int) and isinstance(nbytes, int)) or strt < end:
                raise SourceError(
                    f"{where}: header length 'strt'={strt!r} is shorter than the header itself "
                    f"({end} bytes) or 'bytes'={nbytes!r} is not an integer"
                )
            extra: dict[str, Any] = {}
            if strt > end:
                if pos + strt > size:
                    raise SourceError(
                        f"{where}: the extra dictionary ends at byte {pos + strt}, past the end "
                        f"of the {size}-byte file (truncated)"
                    )
                more = _parse_dict(buf, end) if strt <= len(buf) else None
                extra = more[0] if more is not None else {}
            if attached:
                out.append((header, extra, pos + strt))
                if nbytes > size - pos - strt:
                    _check_no_header_after(f, hdr_path, pos + strt, nbytes)
                if nbytes == 0 and pos + strt < size:
                    f.seek(pos + strt)
                    if not _looks_like_header(f.read(_HEAD_READ)):
                        break  # a writer killed mid-segment: the data runs to the end
                pos += strt + nbytes
            else:
                out.append((header, extra, data_pos))
                data_pos += nbytes
                pos += strt
    if not out:
        raise SourceError(f"{hdr_path}: empty file, expected a GNU Radio metadata header")
    return out


def open_gnuradio_meta(path: str | os.PathLike[str]) -> SegmentReader:
    """A reader of the ``file_meta_sink`` file ``path`` (attached headers, or detached: the
    data file with ``<path>.hdr`` beside it, or the ``.hdr`` file itself).

    ``info.sample_rate`` is the first segment's ``rx_rate``; segments at another rate are
    delivered as they are and counted in ``health()["rate_changes"]`` (each segment's rate is
    in ``reader.meta["segments"]``). ``timestamps()`` lists ``(sample_index, rx_time)`` for the
    first segment and every segment whose header brings a new ``rx_time`` (a segment opened
    by an ``rx_rate`` tag repeats the previous time, which is not its own, and is skipped);
    ``info.start_time`` is the first one. A new ``rx_time`` that does not continue the
    previous one (a device overflow: samples lost) flags that segment ``discontinuity=True``.
    A last segment whose header says fewer or more bytes than the file holds (a writer that
    was killed) is read up to the last whole item present: ``health()`` reports
    ``truncated_bytes`` and ``unterminated_segment``.
    """
    p = open_path(path, "GNU Radio metadata")
    if p.suffix == ".hdr" and p.with_suffix("").is_file():
        hdr_path, data_path, attached = p, p.with_suffix(""), False
    elif Path(f"{p}.hdr").is_file() and not _head_is_header(p):
        hdr_path, data_path, attached = Path(f"{p}.hdr"), p, False
    else:
        hdr_path, data_path, attached = p, p, True
    data_size = data_path.stat().st_size
    headers = _headers(hdr_path, attached, data_size)
    first = headers[0][0]
    ftype, cplx, size = first["type"], bool(first["cplx"]), first["size"]
    if ftype not in _TYPES:
        raise SourceError(
            f"{hdr_path}: unknown GNU Radio item type {ftype!r}; expected {_TYPE_NAMES}"
        )
    base = np.dtype("<" + ("i1" if ftype == 0 and cplx else _TYPES[ftype]))
    item = base.itemsize * (2 if cplx else 1)
    if not isinstance(size, int) or size < item or size % item:
        raise SourceError(
            f"{hdr_path}: item size {size!r} is not a whole number of "
            f"{'complex ' if cplx else ''}{base.name} values ({item} bytes each)"
        )
    channels = size // item
    segments: list[Segment] = []
    table: list[dict[str, Any]] = []
    stamps: list[tuple[int, float]] = []
    index = 0
    truncated = 0
    unterminated = False
    anchor: tuple[int, float] | None = None
    elapsed = 0.0
    prev_time: tuple[int, float] | None = None
    for k, (header, extra, offset) in enumerate(headers):
        if (header["type"], bool(header["cplx"]), header["size"]) != (ftype, cplx, size):
            raise SourceError(
                f"{hdr_path}: segment {k} changes the item type (type {header['type']}, "
                f"cplx {header['cplx']}, size {header['size']}); file_meta_sink never does"
            )
        rate = header["rx_rate"]
        if not isinstance(rate, (int, float)) or not rate > 0:
            raise SourceError(f"{hdr_path}: segment {k} has sample rate {rate!r}")
        rate = float(rate)
        nbytes = int(header["bytes"])
        avail = max(0, data_size - offset)
        last = k == len(headers) - 1
        if nbytes > avail or (last and nbytes == 0 and avail):
            unterminated = unterminated or nbytes == 0
            if nbytes > avail:
                truncated += nbytes - avail
            if not last:
                raise SourceError(
                    f"{hdr_path}: segment {k} claims {nbytes} bytes but only {avail} remain "
                    "before the next header (corrupt file)"
                )
            nbytes = avail
        if nbytes % size:
            truncated += nbytes % size
            nbytes -= nbytes % size
        n = nbytes // size
        t = _rx_time(header.get("rx_time"))
        disc = False
        fresh = t is not None and t != prev_time and t != (0, 0.0)
        if fresh and t is not None:
            if anchor is not None:
                drift = (t[0] - anchor[0]) + (t[1] - anchor[1]) - elapsed
                disc = abs(drift) * rate > 0.5
            anchor, elapsed = t, 0.0
            stamps.append((index, t[0] + t[1]))
        prev_time = t
        segments.append(Segment(offset, n, index, disc))
        table.append(
            {
                "start_index": index,
                "n_samples": n,
                "rx_rate": rate,
                "rx_time": t,
                "extra": extra,
                "discontinuity": disc,
            }
        )
        elapsed += n / rate
        index += n
    dtype, convert = _decoding(base, cplx, channels)
    info = SourceInfo(
        sample_rate=float(first["rx_rate"]),
        dtype=dtype,
        n_channels=channels,
        finite=True,
        backpressure=True,
        description=f"file:{p}",
        start_time=stamps[0][1] if stamps and stamps[0][0] == 0 else None,
    )
    counters: dict[str, Any] = {
        "segments": len(segments),
        "rate_changes": sum(
            1 for a, b in itertools.pairwise(table) if a["rx_rate"] != b["rx_rate"]
        ),
        "header": "attached" if attached else "detached",
    }
    if truncated:
        counters["truncated_bytes"] = truncated
    if unterminated:
        counters["unterminated_segment"] = True
    reader = SegmentReader(
        data_path, base, channels * (2 if cplx else 1), segments, info, convert, stamps, counters
    )
    reader.meta["segments"] = table
    return reader


def _check_no_header_after(f: Any, path: Path, begin: int, nbytes: int) -> None:
    """A segment claiming more bytes than the file holds is only believable as the last one
    of a cut file: refuse it when another header follows (a corrupt or hostile length)."""
    import mmap

    with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        found = mm.find(_HEADER_START, begin)
    if found >= 0:
        raise SourceError(
            f"{path}: the segment at byte {begin} claims {nbytes} bytes, past the end of the "
            f"file, but another header starts at byte {found} (corrupt segment length)"
        )


def _head_is_header(p: Path) -> bool:
    with open(p, "rb") as f:
        return _looks_like_header(f.read(_HEAD_READ))


def _decoding(base: np.dtype[Any], cplx: bool, channels: int) -> tuple[str, Any]:
    """The delivered dtype name and the conversion from stored items."""
    if not cplx:
        return base.newbyteorder("=").name, None
    if base.kind == "f":
        out = np.dtype(np.complex64 if base.itemsize == 4 else np.complex128)

        def view(frames: NDArray[Any]) -> NDArray[Any]:
            flat: NDArray[Any] = np.ascontiguousarray(frames).view(out.newbyteorder("<"))
            if not flat.dtype.isnative:
                flat = flat.astype(out)
            return flat.reshape(-1) if channels == 1 else flat.reshape(-1, channels)

        return out.name, view
    out = np.dtype(np.complex64 if base.itemsize <= 2 else np.complex128)

    def widen(frames: NDArray[Any]) -> NDArray[Any]:
        pairs = np.asarray(frames).reshape(-1, 2)
        res = np.empty(len(pairs), dtype=out)
        res.real = pairs[:, 0]
        res.imag = pairs[:, 1]
        return res if channels == 1 else res.reshape(-1, channels)

    return out.name, widen
