"""SigMF recordings: a JSON ``.sigmf-meta`` beside the samples in ``.sigmf-data``.

Reading (:func:`open_sigmf`): ``core:datatype`` (``cf32_le``, ``ri16_le``, ``cu8``...; real
or complex, 8 to 64 bits, either byte order), ``core:sample_rate``, ``core:num_channels``
(interleaved), captures (``core:sample_start``, ``core:global_index``, ``core:datetime``,
``core:header_bytes``), ``core:trailing_bytes`` and non-conforming datasets
(``core:dataset``). A capture whose ``core:global_index`` jumps ahead of the samples before
it is a gap of exactly that many samples (delivered as a ``start_index`` jump); captures
without it continue the numbering. Real integers are delivered as counts with
``info.scale = 2**-(bits-1)`` (and ``offset = -1`` for unsigned), complex integers as complex
floats scaled the same way: the convention of the ``sigmf`` package's ``autoscale``.

Writing: :class:`SigmfWriter` streams samples to ``.sigmf-data`` and writes the metadata at
:meth:`~SigmfWriter.close` (atomically): a capture at the start and at every gap or
discontinuity, with ``core:sample_start``, ``core:global_index`` (the absolute index, so the
gap is exact) and ``core:datetime``; annotations (e.g. trigger frames). :func:`export_sigmf`
exports a livetrace recording; :class:`SigmfRecorder` is a sink writing a stream directly.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError, SourceError
from .._protocols import SourceInfo
from ._iq import iq_converter
from ._segments import Segment, SegmentReader, open_path

__all__ = [
    "SIGMF_VERSION",
    "SigmfRecorder",
    "SigmfWriter",
    "export_sigmf",
    "format_datetime",
    "open_sigmf",
    "parse_datetime",
    "sigmf_datatype",
    "sigmf_paths",
]

#: the SigMF specification version written
SIGMF_VERSION = "1.2.0"
_MAX_META = 64 << 20
_DATATYPE = re.compile(r"^(c|r)(f32|f64|i32|i16|u32|u16|i8|u8)(_le|_be)?$")
_DATETIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z$")


def sigmf_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(meta, data)`` paths of the recording named by either file, or by its base name."""
    p = Path(path)
    name = p.name
    for suffix in (".sigmf-meta", ".sigmf-data", ".sigmf"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    base = p.with_name(name)
    return Path(f"{base}.sigmf-meta"), Path(f"{base}.sigmf-data")


def parse_datetime(text: str) -> float:
    """POSIX seconds of a SigMF ``core:datetime`` (RFC 3339, ``Z``, any fraction digits)."""
    m = _DATETIME.match(text)
    if m is None:
        raise ValueError(f"expected an RFC 3339 UTC time like 2024-01-31T12:00:00.5Z, got {text!r}")
    whole = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return whole.timestamp() + (float("0" + m.group(2)) if m.group(2) else 0.0)


def format_datetime(t: float) -> str:
    """``t`` (POSIX seconds) as a SigMF ``core:datetime`` with nanosecond digits."""
    secs = math.floor(t)
    nanos = round((t - secs) * 1e9)
    if nanos >= 1_000_000_000:
        secs, nanos = secs + 1, nanos - 1_000_000_000
    stamp = datetime.fromtimestamp(secs, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


def sigmf_datatype(dtype: Any) -> str:
    """The little-endian SigMF datatype for numpy ``dtype`` (``ConfigurationError`` if none)."""
    dt = np.dtype(dtype)
    table = {
        "complex64": "cf32_le",
        "complex128": "cf64_le",
        "float32": "rf32_le",
        "float64": "rf64_le",
        "int32": "ri32_le",
        "int16": "ri16_le",
        "int8": "ri8",
        "uint32": "ru32_le",
        "uint16": "ru16_le",
        "uint8": "ru8",
    }
    if dt.name not in table:
        raise ConfigurationError(
            f"SigMF has no datatype for {dt.name}; expected one of {', '.join(table)}"
        )
    return table[dt.name]


def _stored_dtype(datatype: str) -> tuple[np.dtype[Any], bool]:
    m = _DATATYPE.match(datatype)
    if m is None:
        raise ValueError(
            f"core:datatype {datatype!r} is not a SigMF datatype such as cf32_le, ri16_le or cu8"
        )
    kind, body, order = m.groups()
    bits = int(body[1:])
    if bits > 8 and not order:
        raise ValueError(f"core:datatype {datatype!r} needs a byte order (_le or _be)")
    endian = ">" if order == "_be" else "<"
    return np.dtype(f"{endian}{body[0]}{bits // 8}"), kind == "c"


def _load_meta(meta: Path) -> dict[str, Any]:
    size = meta.stat().st_size
    if size > _MAX_META:
        raise SourceError(f"{meta}: {size} bytes of SigMF metadata, more than the 64 MiB accepted")
    try:
        doc = json.loads(meta.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"{meta}: not valid SigMF metadata JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("global"), dict):
        raise SourceError(f"{meta}: SigMF metadata must be an object with a 'global' object")
    if not isinstance(doc.get("captures", []), list):
        raise SourceError(f"{meta}: SigMF 'captures' must be an array")
    return doc


def open_sigmf(path: str | os.PathLike[str], *, sample_rate: float | None = None) -> SegmentReader:
    """A reader of the SigMF recording named by its ``.sigmf-meta`` or ``.sigmf-data`` file
    (see the module docs). ``reader.meta`` holds ``global``, ``captures`` and
    ``annotations`` as in the file; ``timestamps()`` the ``(sample_index, POSIX time)`` of
    every capture with ``core:datetime``."""
    meta_path, data_path = sigmf_paths(path)
    open_path(meta_path, "SigMF metadata")
    doc = _load_meta(meta_path)
    g = doc["global"]
    where = str(meta_path)
    if g.get("core:dataset"):
        data_path = meta_path.with_name(str(g["core:dataset"]))
    open_path(data_path, "SigMF dataset")
    try:
        stored, cplx = _stored_dtype(str(g.get("core:datatype")))
    except ValueError as exc:
        raise SourceError(f"{where}: {exc}") from exc
    rate = g.get("core:sample_rate", sample_rate) if sample_rate is None else sample_rate
    if not isinstance(rate, (int, float)) or not rate > 0:
        raise ConfigurationError(
            f"{where}: no usable core:sample_rate ({rate!r}); pass sample_rate="
        )
    nch = g.get("core:num_channels", 1)
    if not isinstance(nch, int) or nch < 1:
        raise SourceError(f"{where}: core:num_channels must be a positive integer, got {nch!r}")
    items = nch * (2 if cplx else 1)
    frame = stored.itemsize * items
    size = data_path.stat().st_size
    trailing = g.get("core:trailing_bytes", 0)
    end_bytes = size - (trailing if isinstance(trailing, int) and trailing >= 0 else 0)
    captures = doc.get("captures") or [{"core:sample_start": 0}]
    segments: list[Segment] = []
    stamps: list[tuple[int, float]] = []
    header_total = 0
    prev_end: int | None = None
    raw_starts = [c.get("core:sample_start") if isinstance(c, dict) else None for c in captures]
    starts = [s if isinstance(s, int) and s >= 0 else -1 for s in raw_starts]
    if min(starts) < 0 or starts != sorted(starts):
        raise SourceError(
            f"{where}: every capture needs a core:sample_start >= 0, in ascending order; "
            f"got {raw_starts[:10]}"
        )
    for k, cap in enumerate(captures):
        hb = cap.get("core:header_bytes", 0)
        if not isinstance(hb, int) or hb < 0:
            raise SourceError(f"{where}: capture {k} has core:header_bytes {hb!r}")
        header_total += hb
        offset = header_total + starts[k] * frame
        if k + 1 < len(captures):
            n = starts[k + 1] - starts[k]
        else:
            n = max(0, end_bytes - offset) // frame
        if offset + n * frame > size:
            raise SourceError(
                f"{where}: capture {k} (samples {starts[k]}..{starts[k] + n}) lies beyond the "
                f"end of the {size}-byte dataset {data_path.name} (truncated?)"
            )
        gi = cap.get("core:global_index")
        if isinstance(gi, int) and gi >= 0 and (prev_end is None or gi >= prev_end):
            index, disc = gi, False
        elif prev_end is None:
            index, disc = starts[k], False
        else:
            index, disc = prev_end, isinstance(gi, int)
        when = cap.get("core:datetime")
        if isinstance(when, str):
            try:
                stamps.append((index, parse_datetime(when)))
            except ValueError as exc:
                raise SourceError(f"{where}: capture {k}: {exc}") from exc
        segments.append(Segment(offset, n, index, disc))
        prev_end = index + n
    names = tuple(f"ch{i}" for i in range(nch))
    convert: Any = None
    scale: float | None = None
    offset_: float | None = None
    if cplx:
        wide = stored.itemsize == 8 or (stored.kind in "iu" and stored.itemsize == 4)
        out = "complex128" if wide else "complex64"
        bits = stored.itemsize * 8
        centre = 2.0 ** (bits - 1) if stored.kind == "u" else 0.0
        full = 1.0 if stored.kind == "f" else 2.0 ** (bits - 1)
        one = iq_converter(stored.str, centre, full, out)

        def convert(frames: NDArray[Any]) -> NDArray[Any]:
            res: NDArray[Any] = one(np.asarray(frames).reshape(-1, 2))
            return res if nch == 1 else res.reshape(-1, nch)

        dtype = out
    else:
        dtype = stored.newbyteorder("=").name
        if stored.kind in "iu":
            scale = 2.0 ** -(stored.itemsize * 8 - 1)
            offset_ = -1.0 if stored.kind == "u" else None
    info = SourceInfo(
        sample_rate=float(rate),
        dtype=dtype,
        n_channels=nch,
        channel_names=names,
        finite=True,
        backpressure=True,
        description=f"file:{meta_path}",
        start_time=_time_of_first(stamps, segments),
        scale=scale,
        offset=offset_,
    )
    reader = SegmentReader(
        data_path,
        stored,
        items,
        segments,
        info,
        convert,
        stamps,
        {"captures": len(segments)},
    )
    reader.meta.update(
        {"global": g, "captures": captures, "annotations": doc.get("annotations", [])}
    )
    return reader


def _time_of_first(
    stamps: Sequence[tuple[int, float]], segments: Sequence[Segment]
) -> float | None:
    if stamps and segments and stamps[0][0] == segments[0].start_index:
        return stamps[0][1]
    return None


class SigmfWriter:
    """Streams samples into a SigMF recording (``<base>.sigmf-data`` + ``.sigmf-meta``).

    ``path`` names either file or the base. :meth:`write` appends samples (1-D for one
    channel, ``(n, n_channels)``) at absolute ``start_index``; a new capture starts at the
    first samples, at every jump of ``start_index`` (a gap: ``core:global_index`` keeps the
    absolute index, so readers see exactly how many samples are missing) and at every
    ``discontinuity``. ``core:datetime`` of a capture is ``time`` when given, else
    ``start_time + global_index / sample_rate`` when ``start_time`` (POSIX seconds of
    absolute index 0) is known. :meth:`annotate` adds an annotation at an absolute index.
    :meth:`close` writes the metadata (to a temporary file renamed over the target, so a
    reader never sees half of it). Samples are stored little-endian in ``dtype``'s SigMF
    datatype (:func:`sigmf_datatype`).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        sample_rate: float,
        dtype: Any,
        n_channels: int = 1,
        start_time: float | None = None,
        description: str = "",
        overwrite: bool = False,
        extra_global: Mapping[str, Any] | None = None,
    ) -> None:
        self.meta_path, self.data_path = sigmf_paths(path)
        if not sample_rate > 0:
            raise ConfigurationError(f"SigMF sample_rate must be positive, got {sample_rate!r}")
        self.datatype = sigmf_datatype(dtype)
        self.dtype = np.dtype(dtype).newbyteorder("<")
        self.n_channels = int(n_channels)
        self.sample_rate = float(sample_rate)
        self.start_time = start_time
        for p in (self.meta_path, self.data_path):
            if p.exists() and not overwrite:
                raise FileExistsError(
                    17, f"SigMF target already exists (use overwrite): '{p}'", str(p)
                )
        self.global_info: dict[str, Any] = {
            "core:datatype": self.datatype,
            "core:sample_rate": self.sample_rate,
            "core:version": SIGMF_VERSION,
            "core:num_channels": self.n_channels,
            "core:recorder": "livetrace",
        }
        if description:
            self.global_info["core:description"] = description
        self.global_info.update(extra_global or {})
        self.captures: list[dict[str, Any]] = []
        self._marks: list[tuple[int, int]] = []  # (stored index, absolute index) per capture
        self._notes: list[tuple[int, int, dict[str, Any]]] = []
        self.n_samples = 0
        self._next: int | None = None
        self._fh: Any = open(self.data_path, "wb")  # noqa: SIM115 - closed by close()

    def write(
        self,
        data: NDArray[Any],
        start_index: int | None = None,
        *,
        discontinuity: bool = False,
        time: float | None = None,
    ) -> None:
        """Append ``data`` whose first sample has absolute index ``start_index`` (None: right
        after the previous samples)."""
        if self._fh is None:
            raise ValueError(f"SigMF writer for '{self.data_path}' is closed")
        arr = np.asarray(data)
        if arr.dtype.kind == "c" and self.dtype.kind != "c":
            raise TypeError(f"complex samples cannot be stored as {self.datatype}")
        index = (self._next or 0) if start_index is None else int(start_index)
        if self._next is None or index != self._next or discontinuity:
            cap: dict[str, Any] = {"core:sample_start": self.n_samples, "core:global_index": index}
            when = time
            if when is None and self.start_time is not None:
                when = self.start_time + index / self.sample_rate
            if when is not None:
                cap["core:datetime"] = format_datetime(when)
            if self.captures and self.captures[-1]["core:sample_start"] == self.n_samples:
                self.captures[-1] = cap  # a capture that received no sample is replaced
                self._marks[-1] = (self.n_samples, index)
            else:
                self.captures.append(cap)
                self._marks.append((self.n_samples, index))
        n = len(arr)
        if n:
            self._fh.write(np.ascontiguousarray(arr, dtype=self.dtype).data)
        self.n_samples += n
        self._next = index + n

    def annotate(
        self, start_index: int, count: int | None = None, *, label: str = "", comment: str = ""
    ) -> None:
        """An annotation from absolute ``start_index`` over ``count`` samples."""
        note: dict[str, Any] = {}
        if label:
            note["core:label"] = label
        if comment:
            note["core:comment"] = comment
        self._notes.append((int(start_index), -1 if count is None else int(count), note))

    def _stored(self, index: int) -> int | None:
        """The stored position of absolute ``index`` (None when it fell in a gap)."""
        best: int | None = None
        for stored, absolute in self._marks:
            if absolute <= index:
                best = stored + index - absolute
        if best is None or best >= self.n_samples:
            return None
        return best

    def metadata(self) -> dict[str, Any]:
        """The SigMF metadata of what was written so far."""
        notes = []
        for index, count, note in self._notes:
            stored = self._stored(index)
            if stored is None:
                continue
            entry = {"core:sample_start": stored, **note}
            if count >= 0:
                entry["core:sample_count"] = min(count, self.n_samples - stored)
            notes.append(entry)
        notes.sort(key=lambda a: int(a["core:sample_start"]))
        return {
            "global": dict(self.global_info),
            "captures": list(self.captures),
            "annotations": notes,
        }

    def close(self) -> None:
        """Finish the data file and write the metadata (idempotent)."""
        if self._fh is None:
            return
        self._fh.close()
        self._fh = None
        tmp = self.meta_path.with_name(self.meta_path.name + ".tmp")
        tmp.write_text(json.dumps(self.metadata(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.meta_path)

    def __enter__(self) -> SigmfWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def export_sigmf(
    rec: Any, out: str | os.PathLike[str], *, overwrite: bool = False, block_size: int = 1 << 16
) -> int:
    """Write the open recording ``rec`` (a :class:`~livetrace.sinks.RecordingReader`) as
    SigMF; returns the number of samples. Gaps become captures with their absolute
    ``core:global_index``; ``core:datetime`` comes from the recording's start time and
    nominal rate."""
    info = rec.info
    with SigmfWriter(
        out,
        sample_rate=info.sample_rate,
        dtype=info.dtype,
        n_channels=info.n_channels,
        start_time=info.start_time,
        description=info.description,
        overwrite=overwrite,
    ) as writer:
        for blk in rec.iter_blocks(block_size):
            writer.write(blk.data, blk.start_index, discontinuity=blk.discontinuity)
    return int(rec.n_samples)


class SigmfRecorder:
    """A sink writing a stream straight to SigMF: ``sinks=[SigmfRecorder("x.sigmf-meta")]``.

    Samples are stored in the chunks' dtype; gaps and discontinuities start captures (see
    :class:`SigmfWriter`), each with ``core:datetime`` = the chunk's ``start_time``. When a
    trigger is attached to the stream, every frame it completes (``chunk.results[name]``
    with ``frames`` / ``last_frame``) becomes an annotation over the frame's samples,
    labelled ``trigger`` (``forced`` for an auto-mode frame) with the analyser name as
    comment. The metadata is written by ``close()``. Runs in the consumer thread.
    """

    def __init__(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        self.path = Path(path)
        self.overwrite = overwrite
        self.writer: SigmfWriter | None = None
        self._info: SourceInfo | None = None
        self._seen: set[tuple[str, int]] = set()

    def open(self, info: SourceInfo) -> None:
        self._info = info

    def write(self, chunk: Any) -> None:
        meta = chunk.metadata
        data = np.asarray(chunk.data)
        if self.writer is None:
            info = self._info
            self.writer = SigmfWriter(
                self.path,
                sample_rate=meta.sample_rate,
                dtype=data.dtype,
                n_channels=1 if data.ndim == 1 else data.shape[1],
                description=info.description if info is not None else "",
                overwrite=self.overwrite,
            )
        self.writer.write(
            data,
            meta.start_index,
            discontinuity=bool(meta.discontinuity or meta.gap),
            time=meta.start_time,
        )
        for name, result in (getattr(chunk, "results", None) or {}).items():
            frames = list(getattr(result, "frames", ()) or ())
            last = getattr(result, "last_frame", None)
            if last is not None:
                frames.append(last)
            for frame in frames:
                index = getattr(frame, "trigger_index", None)
                if index is None or (name, index) in self._seen:
                    continue
                self._seen.add((name, index))
                self.writer.annotate(
                    frame.start_index,
                    len(frame.data),
                    label="forced" if frame.forced else "trigger",
                    comment=str(name),
                )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
