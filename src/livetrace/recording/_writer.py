"""Recorder: a sink that writes every delivered chunk to an HDF5 file that survives a crash.

The file layout is described in :mod:`livetrace.recording._format`. Crash safety: the file is
written in HDF5's SWMR mode, in which the library orders its writes so that the file on disk is
always a consistent HDF5 file. A background thread flushes the file, *then* records in
``/progress`` how many samples and segments that flush made durable, and flushes again; a
reader trusts ``/progress`` rather than the dataset shapes. A process killed at any moment
(SIGKILL) leaves a file in which every sample committed by the last completed flush reads back
exactly. HDF5 then still marks the file as "open for writing": open it with
:class:`~livetrace.sinks.RecordingReader` (SWMR read mode) or clear the mark with
``h5clear -s path`` (after which HDF5 1.10 tools such as ``h5dump`` read it too).

Lost-data bound: a sample is committed at most ``flush_interval`` seconds after ``write``
received it. Flushes are scheduled to *finish* by then: each starts early by a margin learnt
from the recent flushes (three times the longest recent flush, lock wait included, plus
20 ms, at most half the interval), and ``write`` itself flushes when the flush thread is late
(a loaded machine). ``Recorder.max_commit_age`` reports the largest age actually observed.

Disk full: before each write the recorder checks that the file system has room for it, for
what HDF5 still holds in its chunk cache and for the metadata; when it has not, it commits what
it has, closes the file cleanly and raises ``OSError(ENOSPC)`` naming the file and the number
of samples safely in it, so HDF5 never runs out of space in the middle of its own bookkeeping.
Should another program fill the disk between the check and HDF5's write, a hidden
``.NAME.reserve`` file beside the recording (about 10 MiB, set aside when the file is created,
deleted at close; delete it by hand after a crash) is released so that HDF5 can still close the
file: the same ``OSError(ENOSPC)``, every committed sample readable.
"""

from __future__ import annotations

import errno
import functools
import math
import os
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError, StreamStateError, require
from .._protocols import SourceInfo
from .._types import WaveformTrace
from ._format import (
    CLOCK_DTYPE,
    FORMAT_NAME,
    FORMAT_VERSION,
    LIBVER,
    PROGRESS_DTYPE,
    RESERVED_ATTRS,
    SEGMENT_DTYPE,
)

__all__ = ["Recorder"]

_CHUNK_BYTES = 1 << 20  # HDF5 chunk of about 1 MiB: large sequential writes, cheap resizes
_CACHE_BYTES = 8 * _CHUNK_BYTES  # HDF5's chunk cache: what may wait in memory
_RESERVE_BYTES = _CHUNK_BYTES + (1 << 19)  # kept free: the next chunk, metadata
_BALLAST_BYTES = _CACHE_BYTES + _RESERVE_BYTES  # set aside for HDF5 to close after a failure
_MARGIN_MIN = 0.02  # seconds a flush starts before its deadline, at least


def _exists_message(path: Path) -> str:
    return (
        f"recording file '{path}' already exists; pass overwrite=True (CLI: --overwrite) "
        "to replace it"
    )


def _fixed_strings(h5py: Any, value: str | list[str]) -> NDArray[Any]:
    """UTF-8 strings of fixed length: stored in the attribute itself, which HDF5 checksums
    (variable-length strings live in a global heap that has no checksum)."""
    items = [value] if isinstance(value, str) else value
    encoded = [x.encode("utf-8") for x in items]
    dt = h5py.string_dtype("utf-8", max(1, *(len(b) for b in encoded)))
    arr = np.array(encoded, dtype=dt)
    return arr[0] if isinstance(value, str) else arr


def _check_compression(compression: str | int | None) -> tuple[str | None, int | None]:
    if compression is None:
        return None, None
    if isinstance(compression, bool):
        raise ConfigurationError(
            f"compression must be None, 'gzip', 'lzf' or a gzip level 0-9, got {compression!r}"
        )
    if isinstance(compression, int):
        if not 0 <= compression <= 9:
            raise ConfigurationError(f"a gzip compression level is 0-9, got {compression!r}")
        return "gzip", compression
    if compression in ("gzip", "lzf"):
        return compression, None
    raise ConfigurationError(
        f"compression must be None, 'gzip', 'lzf' or a gzip level 0-9, got {compression!r}"
    )


class Recorder:
    """Write a stream to an HDF5 recording, crash-safe: attach it with ``sinks=[Recorder(...)]``.

    Every delivered chunk is appended (all channels) in ``dtype`` (default: the stream's
    buffer dtype); gaps (a jump in ``start_index``, or a chunk flagged ``discontinuity``) are
    listed in ``/segments`` with their absolute position and length, so a replay reproduces
    them (see the module docs for the layout).

    Args:
        path: the file to create (``.h5`` by convention).
        overwrite: replace an existing file; without it an existing ``path`` raises
            :class:`FileExistsError` (here, and again in ``open`` if it appeared since).
        flush_interval: seconds (> 0); a sample is in the file at most this long after the
            recorder received it, so at most this much is lost if the process is killed.
            Flushing runs in a background thread owned by the recorder (started by ``open``,
            joined by ``close``).
        compression: None, ``"gzip"``, ``"lzf"`` or a gzip level 0-9 (slower, smaller).
        dtype: store the samples in this dtype (e.g. ``"float32"`` for a float64 stream).
            Values never wrap: in an integer dtype, a value outside its range is clipped to
            the range and counted (``clipped``, stored in the file).
        scale: for an integer ``dtype``: the value of one stored count. Values are stored as
            ``round(value / scale)`` and the file's ``scale`` says how to read them back
            (e.g. ``scale=1/32768`` keeps a ±1 signal in int16 to 1/32768). Needed when a
            float stream is stored as integers (``scale=1`` when the values are whole counts).
        checksums: store a Fletcher-32 checksum with every HDF5 chunk of samples and segments
            (default), so damage is detected when read (see
            :meth:`~livetrace.sinks.RecordingReader.verify`); False saves its small cost.
        attrs: extra attributes (str, numbers, arrays) stored in the file's ``/user`` group.

    Threads: ``open``/``write``/``close`` are called by the stream in the consumer thread;
    the flush thread shares a lock with ``write``. A failed background flush is raised by
    the next ``write`` or ``close``.

    Example:
        >>> import tempfile, os
        >>> from livetrace import RealtimeStream, SimulatedSource
        >>> from livetrace.sinks import Recorder, RecordingReader
        >>> path = os.path.join(tempfile.mkdtemp(), "rec.h5")
        >>> src = SimulatedSource("sine", sample_rate=1000, chunk_size=100, n_samples=250,
        ...                       realtime=False)
        >>> with RealtimeStream.from_source(src, chunk_size=100, sinks=[Recorder(path)]) as s:
        ...     n = s.run()
        >>> with RecordingReader(path) as rec:
        ...     print(rec.n_samples, rec.info.sample_rate, rec.complete)
        250 1000.0 True
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        flush_interval: float = 1.0,
        compression: str | int | None = None,
        dtype: Any = None,
        scale: float | None = None,
        checksums: bool = True,
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self.checksums = bool(checksums)
        self.overwrite = bool(overwrite)
        if not (
            isinstance(flush_interval, (int, float))
            and math.isfinite(flush_interval)
            and flush_interval > 0
        ):
            raise ConfigurationError(
                f"flush_interval must be a finite number of seconds > 0, got {flush_interval!r}"
            )
        self.flush_interval = float(flush_interval)
        self._compression = _check_compression(compression)
        self.compression = compression
        self.dtype: np.dtype[Any] | None = None
        if dtype is not None:
            try:
                dt = np.dtype(dtype)
            except (TypeError, ValueError):
                dt = None  # not a dtype at all
            if dt is None or dt.kind not in "iufc":
                raise ConfigurationError(
                    f"dtype must be a numeric numpy dtype (e.g. 'float32', 'int16'), got {dtype!r}"
                )
            self.dtype = dt
        self.scale: float | None = None
        if scale is not None:
            if self.dtype is None or self.dtype.kind not in "iu":
                raise ConfigurationError(
                    f"scale= applies to an integer storage dtype (e.g. dtype='int16'), got "
                    f"scale={scale!r} with dtype={dtype!r}"
                )
            if not (
                isinstance(scale, (int, float))
                and not isinstance(scale, bool)
                and math.isfinite(scale)
                and scale > 0
            ):
                raise ConfigurationError(
                    f"scale must be a finite number > 0 (the value of one count), got {scale!r}"
                )
            self.scale = float(scale)
        self.attrs = dict(attrs or {})
        clash = sorted(set(self.attrs) & RESERVED_ATTRS)
        if clash:  # they live in /user, but refusing avoids a confusing duplicate
            raise ConfigurationError(
                f"Recorder('{self.path}'): attrs may not use the recording's own attribute "
                f"names: {', '.join(clash)}"
            )
        if not self.overwrite and self.path.exists():
            raise FileExistsError(errno.EEXIST, _exists_message(self.path))
        self._file: Any = None
        self._samples: Any = None
        self._segments: Any = None
        self._progress: Any = None
        self._info: SourceInfo | None = None
        self._n_channels = 1
        self._row_bytes = 8
        self._n = 0  # samples written
        self._n_committed = 0  # samples made durable by the last completed flush
        self._clipped = 0  # values clipped to the storage dtype's range
        self._segs: list[tuple[int, int, int, int]] = []  # rows not yet in the file
        self._n_segs = 0  # rows written to /segments
        self._clock_ds: Any = None
        self._clock_rows: list[tuple[int, float, float, float]] = []  # not yet in the file
        self._n_clock = 0  # rows written to /clock
        self._clock_next: tuple[int, int] | None = None  # (expected start, next row due at)
        self._clock_last: tuple[int, float, float] | None = None  # the last row's line
        self._next: int | None = None  # absolute index expected next
        self._gap_total = 0
        self._n_disc = 0
        self._dirty_since: float | None = None  # when the oldest uncommitted write arrived
        self._closed = False
        self._created = False
        self.late_writes = 0
        self._failed: BaseException | None = None
        self._flush_error: BaseException | None = None
        self._close_error: BaseException | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reserve: Path | None = None  # space set aside beside the file (see _take_reserve)
        self._commit_point = 0.0  # monotonic time before which every write is committed
        self._flush_costs: list[float] = []  # recent flush durations, lock wait included
        self.max_commit_age = 0.0

    # ------------------------------------------------------------------ properties
    @property
    def samples_written(self) -> int:
        """Samples appended so far (all are durable after ``close`` or the next flush)."""
        return self._n

    @property
    def samples_committed(self) -> int:
        """Samples made durable by the last completed flush (what survives a crash now)."""
        return self._n_committed

    @property
    def clipped(self) -> int:
        """Values outside the storage dtype's range, stored clipped to it (never wrapped)."""
        return self._clipped

    @property
    def gaps(self) -> int:
        """Number of discontinuities recorded (known-size gaps and unknown-size losses)."""
        return self._n_disc

    @property
    def samples_lost(self) -> int:
        """Total size of the known gaps recorded (samples the stream did not deliver)."""
        return self._gap_total

    @property
    def is_open(self) -> bool:
        return self._file is not None

    @property
    def close_error(self) -> BaseException | None:
        """An error raised while closing after a failed write (the write's error was raised)."""
        return self._close_error

    # ------------------------------------------------------------------ sink protocol
    def open(self, info: SourceInfo) -> None:
        """Create the file and write the metadata; called by the stream's ``start()``.

        After ``close()`` (a stream stopped and started again) it reopens the same file and
        appends; the stream's positions continue, so any samples lost meanwhile are a gap.
        """
        with self._lock:
            if self._file is not None:
                return
            if self._failed is not None:
                raise StreamStateError(
                    f"Recorder for '{self.path}' failed ({self._failed}); create a new Recorder"
                )
            if self._created:
                if int(info.n_channels) != self._n_channels:
                    raise ValueError(
                        f"cannot append {info.n_channels} channel(s) to the recording "
                        f"'{self.path}' of {self._n_channels} channel(s)"
                    )
                self._reopen()
            else:
                self._open_new(info)
            self._closed = False
            self._commit_point = time.monotonic()
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._flush_loop, name=f"livetrace-recorder-{self.path.name}", daemon=True
            )
            self._thread.start()

    def _check_storage(self, info: SourceInfo, dt: np.dtype[Any]) -> None:
        src = np.dtype(info.dtype)
        if dt.kind in "iu" and src.kind == "c":
            raise ConfigurationError(
                f"recording '{self.path}': cannot store complex samples ({src.name}) as "
                f"{dt.name}; use a complex dtype"
            )
        if dt.kind in "iu" and src.kind == "f" and self.scale is None:
            raise ConfigurationError(
                f"recording '{self.path}': storing {src.name} samples as {dt.name} needs "
                f"scale= (CLI: --scale), the value of one count: e.g. scale=1/32768 for a "
                f"±1 signal in int16, scale=1 when the values are whole counts"
            )

    def _open_new(self, info: SourceInfo) -> None:
        h5py: Any = require("h5py", "hdf5")
        dt = self.dtype if self.dtype is not None else np.dtype(info.dtype)
        self._check_storage(info, dt)
        n_ch = int(info.n_channels)
        # Create the file with Python first: a clean FileExistsError / PermissionError /
        # NotADirectoryError naming the path, instead of HDF5's error stack.
        try:
            with open(self.path, "wb" if self.overwrite else "xb"):
                pass
        except FileExistsError as exc:
            raise FileExistsError(errno.EEXIST, _exists_message(self.path)) from exc
        except OSError as exc:
            raise type(exc)(
                exc.errno, f"cannot create recording file '{self.path}': {exc.strerror}"
            ) from exc
        self.dtype = dt
        self._n_channels = n_ch
        self._row_bytes = dt.itemsize * n_ch
        self._info = info
        try:
            self._check_space(_BALLAST_BYTES + _RESERVE_BYTES, "creating the file")
            self._take_reserve()
            self._create(h5py, info, dt, n_ch)
        except BaseException:
            if self._file is not None:
                self._file.close()
                self._file = None
            self._release_reserve()
            raise
        self._created = True

    def _reopen(self) -> None:
        """Open the file this recorder wrote before, to append (SWMR again)."""
        h5py: Any = require("h5py", "hdf5")
        self._take_reserve()
        f = h5py.File(self.path, "r+", libver=LIBVER, rdcc_nbytes=_CACHE_BYTES)
        try:
            self._samples = f["samples"]
            self._segments = f["segments"]
            self._clock_ds = f.get("clock")
            self._progress = f["progress"]
            self._progress[()] = self._progress_row(complete=False)
            f.swmr_mode = True
            f.flush()
        except BaseException:
            f.close()
            raise
        self._file = f

    def _progress_row(self, *, complete: bool) -> NDArray[Any]:
        row = (self._n, self._n_segs, 1 if complete else 0, time.time(), self._clipped)
        return np.array(row, dtype=PROGRESS_DTYPE)

    def _create(self, h5py: Any, info: SourceInfo, dt: np.dtype[Any], n_ch: int) -> None:
        from .._version import __version__

        f = h5py.File(self.path, "w", libver=LIBVER, rdcc_nbytes=_CACHE_BYTES)
        self._file = f
        rows = max(1, _CHUNK_BYTES // (dt.itemsize * n_ch))
        comp, level = self._compression
        self._samples = f.create_dataset(
            "samples",
            shape=(0, n_ch),
            maxshape=(None, n_ch),
            dtype=dt,
            chunks=(rows, n_ch),
            compression=comp,
            compression_opts=level,
            fletcher32=self.checksums,
        )
        self._segments = f.create_dataset(
            "segments",
            shape=(0,),
            maxshape=(None,),
            dtype=SEGMENT_DTYPE,
            chunks=(1024,),
            fletcher32=self.checksums,
        )
        self._clock_ds = f.create_dataset(
            "clock",
            shape=(0,),
            maxshape=(None,),
            dtype=CLOCK_DTYPE,
            chunks=(256,),
            fletcher32=self.checksums,
        )
        # compact: the record lives in its object header, which HDF5 checksums
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        space = h5py.h5s.create(h5py.h5s.SCALAR)
        ptype = h5py.h5t.py_create(PROGRESS_DTYPE, logical=True)
        self._progress = h5py.Dataset(h5py.h5d.create(f.id, b"progress", ptype, space, dcpl=dcpl))
        self._progress[()] = self._progress_row(complete=False)
        a = f.attrs
        text = functools.partial(_fixed_strings, h5py)
        a["format"] = text(FORMAT_NAME)
        a["format_version"] = FORMAT_VERSION
        a["livetrace_version"] = text(__version__)
        a["h5py_version"] = text(h5py.version.version)
        a["hdf5_version"] = text(h5py.version.hdf5_version)
        a["created"] = text(datetime.now(timezone.utc).isoformat())
        a["sample_rate"] = float(info.sample_rate)
        a["dtype"] = text(dt.name)
        a["buffer_dtype"] = text(str(info.dtype))
        a["n_channels"] = n_ch
        a["channel_names"] = text(list(info.channel_names))
        a["units"] = text(list(info.units))
        t0 = info.start_time
        a["start_time"] = float("nan") if t0 is None else float(t0)
        a["start_time_iso"] = text(
            "" if t0 is None else datetime.fromtimestamp(t0, timezone.utc).isoformat()
        )
        a["description"] = text(str(info.description))
        a["flush_interval"] = self.flush_interval
        scale = info.scale
        if self.scale is not None:  # stored count * self.scale = the value delivered
            scale = self.scale * (1.0 if scale is None else float(scale))
        a["scale"] = float("nan") if scale is None else float(scale)
        a["offset"] = float("nan") if info.offset is None else float(info.offset)
        a["clip"] = text("clip-and-count" if dt.kind in "iu" else "none")
        user = f.create_group("user")
        for key, value in self.attrs.items():
            user.attrs[key] = value
        f.swmr_mode = True  # from here on the file on disk is always consistent
        t0 = time.monotonic()
        f.flush()
        self._learn_cost(2 * (time.monotonic() - t0))  # a commit is two flushes

    def write(self, chunk: WaveformTrace) -> None:
        """Append a chunk (consumer thread); records a gap if it does not follow the last one.

        Raises ``ValueError`` for a chunk with the wrong channel count or going back in
        position, :class:`OSError` when the disk fails or is full (the stream then stops
        with :class:`~livetrace.SinkError`; the message names the file and the number of
        samples safely in it). A chunk that arrives after ``close()`` (the stream was
        stopped from another thread while this chunk was on its way) is appended by
        reopening the file briefly: it is counted in ``late_writes``, never lost.
        """
        data = chunk.data
        if data.ndim == 1:
            data = data.reshape(-1, 1)
        n, ch = data.shape if data.ndim == 2 else (len(data), -1)
        meta = chunk.metadata
        start = int(meta.start_index)
        disc = bool(meta.discontinuity)
        with self._lock:
            if self._file is None:
                if not self._created or self._failed is not None:
                    state = (
                        f"failed ({self._failed})"
                        if self._failed is not None
                        else "not opened (attach it to a stream, or call open(info))"
                    )
                    raise StreamStateError(f"Recorder for '{self.path}' is {state}")
                self._reopen()
                try:
                    self._append(data, n, ch, start, disc)
                    self._flush_locked(complete=True)
                    self.late_writes += 1
                finally:
                    reopened: Any = self._file
                    self._file = None
                    self._release_reserve()
                    reopened.close()
                return
            self._raise_flush_error()
            self._append(data, n, ch, start, disc)
            self._note_clock(meta, start, n, disc)
            now = time.monotonic()
            if self._dirty_since is not None and now >= self._deadline() - self._margin():
                self._flush_locked(complete=False)  # the flush thread is late: do it here

    def _note_clock(self, meta: Any, start: int, n: int, disc: bool) -> None:
        """Keep a /clock row at the start, after every gap, whenever the rows so far would
        put this chunk more than 1 us off the stream's time for it, and once a second."""
        rate = meta.measured_rate
        if rate is None or meta.start_time is None or not n:
            return
        t = float(meta.start_time)
        nxt = self._clock_next
        last = self._clock_last
        off = abs(last[1] + (start - last[0]) / last[2] - t) if last is not None else 0.0
        if nxt is None or disc or start != nxt[0] or start >= nxt[1] or off > 1e-6:
            unc = meta.time_uncertainty
            row = (start, t, float(rate), float("nan") if unc is None else unc)
            self._clock_rows.append(row)
            self._clock_last = row[:3]
            due = start + max(1, int(rate))
        else:
            due = nxt[1]
        self._clock_next = (start + n, due)

    def _convert(self, data: NDArray[Any]) -> NDArray[Any]:
        """``data`` in the storage dtype: scaled, rounded and clipped (counted), never wrapped."""
        dt = self.dtype
        assert dt is not None
        if dt.kind not in "iu" or (data.dtype == dt and self.scale is None):
            return np.ascontiguousarray(data, dtype=dt)
        info = np.iinfo(dt)
        if self.scale is not None or data.dtype.kind == "f":
            y = np.asarray(data, dtype=np.float64)
            y = y / self.scale if self.scale is not None else y.copy()
            np.rint(y, out=y)
            bad = ~((y >= info.min) & (y <= info.max))  # NaN counts as out of range
            if bad.any():
                self._clipped += int(np.count_nonzero(bad))
                y[np.isnan(y)] = 0.0
                np.clip(y, info.min, info.max, out=y)
            return np.ascontiguousarray(y, dtype=dt)
        if np.can_cast(data.dtype, dt):
            return np.ascontiguousarray(data, dtype=dt)
        lo = data < info.min if data.dtype.kind == "i" or info.min > 0 else None
        hi = data > info.max
        out_of_range = hi if lo is None else (lo | hi)
        n_bad = int(np.count_nonzero(out_of_range))
        if n_bad:
            self._clipped += n_bad
            data = np.clip(data, max(info.min, np.iinfo(data.dtype).min), info.max)
        return np.ascontiguousarray(data, dtype=dt)

    def _append(self, data: NDArray[Any], n: int, ch: int, start: int, disc: bool) -> None:
        if ch != self._n_channels:
            raise ValueError(
                f"chunk has shape {data.shape if ch != 1 else (n,)}; the recording "
                f"'{self.path}' has {self._n_channels} channel(s)"
            )
        expected = 0 if self._next is None else self._next
        if start < expected:
            raise ValueError(
                f"recording '{self.path}': chunk start_index {start} goes back before the next "
                f"expected index {expected}; a recording's positions must increase"
            )
        if n:
            # what HDF5 still holds in its chunk cache is not on disk yet
            cached = min((self._n - self._n_committed) * self._row_bytes, _CACHE_BYTES)
            needed = n * self._row_bytes + cached + _RESERVE_BYTES
            self._check_space(needed, f"writing {n} samples")
            data = self._convert(data)
        if self._next is None or start != expected or disc:
            gap = start - expected
            flag = 1 if (disc or gap > 0) else 0
            self._segs.append((self._n, start, gap, flag))
            if flag:
                self._n_disc += 1
                self._gap_total += gap
        if n:
            n0 = self._n
            try:
                self._samples.resize(n0 + n, axis=0)
                self._samples.write_direct(data, dest_sel=np.s_[n0 : n0 + n])
            except (OSError, RuntimeError) as exc:  # HDF5 reports disk errors as either
                self._failed = exc
                raise self._disk_error(exc, f"writing {n} samples failed") from exc
            except BaseException as exc:
                self._failed = exc
                raise
            self._n = n0 + n
        self._next = start + n
        if self._dirty_since is None:
            self._dirty_since = time.monotonic()

    def _check_space(self, needed: int, what: str) -> None:
        """Raise ``OSError(ENOSPC)`` before HDF5 would run out of space in the middle of a write.

        When the file system lacks room, what was written is committed first (the reserve
        covers it) and the file is closed cleanly."""
        try:
            st = os.statvfs(self.path)
        except OSError:
            return  # cannot tell (e.g. a file system without statvfs): let the write decide
        free = st.f_bavail * st.f_frsize
        if free >= needed:
            return
        exc = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        if self._file is not None:
            try:
                self._flush_locked(complete=False)
            except Exception as flush_exc:  # the reserve was not enough: keep both errors
                self._close_error = flush_exc
        self._failed = exc
        raise OSError(
            *self._os_args(exc, f"{what} needs {needed} bytes with the reserve, {free} are free")
        )

    def _disk_error(self, exc: BaseException, what: str) -> OSError:
        """An HDF5 failure as an ``OSError`` naming the file and the samples safely in it."""
        code = getattr(exc, "errno", None)
        text = str(exc)
        if code is None and ("errno = 28" in text or "No space left" in text):
            code = errno.ENOSPC  # HDF5 puts the system error in its message only
        os_exc = OSError(code, os.strerror(code) if code else text)
        return OSError(*self._os_args(os_exc, what))

    def _take_reserve(self) -> None:
        """Set aside disk space (HDF5's chunk cache and more) in a hidden file beside the file.

        Free space is checked before every write, but another program can fill the disk in
        between; when HDF5 then fails, the reserve is released so that the file can still be
        flushed and closed cleanly (HDF5 crashes when it must close a file it cannot write)."""
        path = self.path.with_name(f".{self.path.name}.reserve")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError:
            return  # a directory we cannot add to: work without a reserve
        try:
            if hasattr(os, "posix_fallocate"):
                os.posix_fallocate(fd, 0, _BALLAST_BYTES)
            else:  # pragma: no cover - platforms without posix_fallocate
                os.write(fd, bytes(_BALLAST_BYTES))
        except OSError as exc:
            os.close(fd)
            path.unlink(missing_ok=True)
            if exc.errno == errno.ENOSPC:
                raise OSError(*self._os_args(exc, "no room for the write reserve")) from exc
            return  # a file system without fallocate: work without a reserve
        os.close(fd)
        self._reserve = path

    def _release_reserve(self) -> None:
        path, self._reserve = self._reserve, None
        if path is not None:
            path.unlink(missing_ok=True)

    def _os_args(self, exc: OSError, what: str) -> tuple[Any, ...]:
        msg = (
            f"recording '{self.path}': {what}: {exc.strerror or exc}; the first "
            f"{self._n_committed} samples are safely in the file"
        )
        return (exc.errno, msg) if exc.errno is not None else (msg,)

    def flush(self) -> None:
        """Make everything written so far durable now (also done every ``flush_interval``)."""
        with self._lock:
            self._flush_locked(complete=False)

    def _flush_locked(self, *, complete: bool) -> None:
        f = self._file
        if f is None:
            return
        # every write received before this moment is in the progress record written below
        snapshot = time.monotonic()
        try:
            if self._segs:
                rows = np.array(self._segs, dtype=SEGMENT_DTYPE)
                k = self._n_segs
                self._segments.resize(k + len(rows), axis=0)
                self._segments[k : k + len(rows)] = rows
                self._n_segs = k + len(rows)
                self._segs = []
            if self._clock_rows and self._clock_ds is not None:
                rows = np.array(self._clock_rows, dtype=CLOCK_DTYPE)
                k = self._n_clock
                self._clock_ds.resize(k + len(rows), axis=0)
                self._clock_ds[k : k + len(rows)] = rows
                self._n_clock = k + len(rows)
                self._clock_rows = []
            f.flush()  # samples and segments on disk first...
            self._progress[()] = self._progress_row(complete=complete)
            f.flush()  # ...then the count that vouches for them
        except (OSError, RuntimeError) as exc:
            self._failed = exc
            raise self._disk_error(exc, "flushing failed") from exc
        done = time.monotonic()
        self._learn_cost(done - snapshot)
        self._n_committed = self._n
        if self._dirty_since is not None:
            self.max_commit_age = max(self.max_commit_age, done - self._dirty_since)
        self._dirty_since = None
        self._commit_point = snapshot

    # ------------------------------------------------------------------ flush schedule
    def _deadline(self) -> float:
        """When the oldest uncommitted write must be committed (monotonic seconds)."""
        since = self._dirty_since if self._dirty_since is not None else time.monotonic()
        return max(since, self._commit_point) + self.flush_interval

    def _learn_cost(self, seconds: float) -> None:
        self._flush_costs = [*self._flush_costs[-7:], seconds]

    def _margin(self) -> float:
        """How long before the deadline a flush starts: 3 x the longest recent flush (lock
        wait included) + 20 ms, at most half the interval."""
        recent = max(self._flush_costs, default=0.0)
        return min(self.flush_interval / 2, 3 * recent + _MARGIN_MIN)

    def _flush_wait(self, now: float, dirty: bool) -> float:
        """Seconds the flush thread sleeps before looking again (0: flush now).

        Uncommitted data must be committed ``flush_interval`` after it arrived, so the flush
        starts ``_margin()`` before that; with nothing uncommitted, data written from ``now``
        on has its deadline one interval later at the earliest."""
        if not dirty:
            return self.flush_interval - self._margin()
        return max(0.0, self._deadline() - self._margin() - now)

    def _flush_loop(self) -> None:
        stop = self._stop
        wait = self._flush_wait(time.monotonic(), False)
        while not stop.wait(wait):
            wait = self._flush_wait(time.monotonic(), self._dirty_since is not None)
            if wait > 0:
                continue
            try:
                t0 = time.monotonic()
                with self._lock:
                    waited = time.monotonic() - t0
                    if self._file is not None and self._failed is None:
                        self._flush_locked(complete=False)
                        self._flush_costs[-1] += waited
            except Exception as exc:  # reported by the next write() or close()
                self._flush_error = exc
                return
            wait = self._flush_wait(time.monotonic(), self._dirty_since is not None)

    def _raise_flush_error(self) -> None:
        exc = self._flush_error
        if exc is not None:
            self._flush_error = None
            self._failed = exc
            raise exc

    def close(self) -> None:
        """Flush, mark the file complete and close it; joins the flush thread. Idempotent.

        May be called from another thread than ``write`` (the stream's ``stop()``): it waits
        for a write in progress to finish. After a failed write (a full disk) the file is
        closed without marking it complete; every committed sample stays readable.
        """
        thread = self._thread
        self._thread = None
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._lock:
            f = self._file
            self._closed = True
            if f is None:
                return
            self._file = None
            if self._failed is not None:
                # The write error is already on its way to the caller; free the reserve so
                # that HDF5 can write what it still holds, close, and keep a second error for
                # inspection instead of masking the first.
                self._release_reserve()
                try:
                    f.close()
                except Exception as exc:
                    self._close_error = exc
                return
            try:
                self._file = f
                self._raise_flush_error()
                self._flush_locked(complete=True)
            except BaseException:
                self._release_reserve()  # room for HDF5 to close the file it could not flush
                raise
            finally:
                self._file = None
                f.close()
                self._release_reserve()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "open" if self._file is not None else ("closed" if self._closed else "new")
        return f"Recorder('{self.path}', {state}, samples={self._n}, gaps={self._n_disc})"


def write_array(
    path: str | os.PathLike[str],
    data: NDArray[Any],
    info: SourceInfo,
    *,
    start_index: int = 0,
    overwrite: bool = False,
) -> None:
    """Write ``data`` as a one-segment recording (for tests and conversions)."""
    from .._types import TraceMetadata

    rec = Recorder(path, overwrite=overwrite)
    rec.open(info)
    try:
        meta = TraceMetadata(sample_rate=info.sample_rate, start_index=start_index)
        rec.write(WaveformTrace(np.asarray(data), meta))
    finally:
        rec.close()
