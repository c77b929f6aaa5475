"""Recorder: a sink that writes every delivered chunk to an HDF5 file that survives a crash.

The file layout is described in :mod:`livetrace.recording._format`. Crash safety: the file is
written in HDF5's SWMR mode, in which the library orders its writes so that the file on disk is
always a consistent HDF5 file. Every ``flush_interval`` seconds a background thread flushes the
file, *then* records in ``/progress`` how many samples and segments that flush made durable, and
flushes again; a reader trusts ``/progress`` rather than the dataset shapes. A process killed at
any moment (SIGKILL) leaves a file in which every sample committed by the last completed flush
reads back exactly. HDF5 then still marks the file as "open for writing": open it with
:class:`~livetrace.sinks.RecordingReader` (SWMR read mode) or clear the mark with
``h5clear -s path``.
"""

from __future__ import annotations

import errno
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
    FORMAT_NAME,
    FORMAT_VERSION,
    PROGRESS_DTYPE,
    RESERVED_ATTRS,
    SEGMENT_DTYPE,
)

__all__ = ["Recorder"]

_CHUNK_BYTES = 1 << 20  # HDF5 chunk of about 1 MiB: large sequential writes, cheap resizes


def _exists_message(path: Path) -> str:
    return (
        f"recording file '{path}' already exists; pass overwrite=True (CLI: --overwrite) "
        "to replace it"
    )


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
        flush_interval: seconds (> 0) between flushes; at most this much acquired data is lost
            if the process is killed. Flushing runs in a background thread owned by the
            recorder (started by ``open``, joined by ``close``).
        compression: None, ``"gzip"``, ``"lzf"`` or a gzip level 0-9 (slower, smaller).
        dtype: store the samples in this dtype (e.g. ``"float32"`` for a float64 stream).
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
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
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
        self.attrs = dict(attrs or {})
        clash = sorted(set(self.attrs) & RESERVED_ATTRS)
        if clash:  # they live in /user, but refusing avoids a confusing duplicate
            raise ConfigurationError(
                f"attrs may not use the recording's own attribute names: {', '.join(clash)}"
            )
        if not self.overwrite and self.path.exists():
            raise FileExistsError(errno.EEXIST, _exists_message(self.path))
        self._file: Any = None
        self._samples: Any = None
        self._segments: Any = None
        self._progress: Any = None
        self._info: SourceInfo | None = None
        self._n_channels = 1
        self._n = 0  # samples written
        self._n_committed = 0  # samples made durable by the last completed flush
        self._segs: list[tuple[int, int, int, int]] = []  # rows not yet in the file
        self._n_segs = 0  # rows written to /segments
        self._next: int | None = None  # absolute index expected next
        self._gap_total = 0
        self._n_disc = 0
        self._dirty = False
        self._closed = False
        self._created = False
        self.late_writes = 0
        self._failed: BaseException | None = None
        self._flush_error: BaseException | None = None
        self._close_error: BaseException | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_flush = 0.0

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
            self._last_flush = time.monotonic()
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._flush_loop, name=f"livetrace-recorder-{self.path.name}", daemon=True
            )
            self._thread.start()

    def _open_new(self, info: SourceInfo) -> None:
        h5py: Any = require("h5py", "hdf5")
        dt = self.dtype if self.dtype is not None else np.dtype(info.dtype)
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
        self._info = info
        try:
            self._create(h5py, info, dt, n_ch)
        except BaseException:
            if self._file is not None:
                self._file.close()
                self._file = None
            raise
        self._created = True

    def _reopen(self) -> None:
        """Open the file this recorder wrote before, to append (SWMR again)."""
        h5py: Any = require("h5py", "hdf5")
        f = h5py.File(self.path, "r+", libver="latest")
        try:
            self._samples = f["samples"]
            self._segments = f["segments"]
            self._progress = f["progress"]
            self._progress[()] = np.array(
                (self._n, self._n_segs, 0, time.time()), dtype=PROGRESS_DTYPE
            )
            f.swmr_mode = True
            f.flush()
        except BaseException:
            f.close()
            raise
        self._file = f

    def _create(self, h5py: Any, info: SourceInfo, dt: np.dtype[Any], n_ch: int) -> None:
        from .._version import __version__

        f = h5py.File(self.path, "w", libver="latest")
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
        )
        self._segments = f.create_dataset(
            "segments", shape=(0,), maxshape=(None,), dtype=SEGMENT_DTYPE, chunks=(1024,)
        )
        self._progress = f.create_dataset("progress", shape=(), dtype=PROGRESS_DTYPE)
        self._progress[()] = np.array((0, 0, 0, time.time()), dtype=PROGRESS_DTYPE)
        a = f.attrs
        a["format"] = FORMAT_NAME
        a["format_version"] = FORMAT_VERSION
        a["livetrace_version"] = __version__
        a["h5py_version"] = h5py.version.version
        a["hdf5_version"] = h5py.version.hdf5_version
        a["created"] = datetime.now(timezone.utc).isoformat()
        a["sample_rate"] = float(info.sample_rate)
        a["dtype"] = dt.name
        a["buffer_dtype"] = str(info.dtype)
        a["n_channels"] = n_ch
        a["channel_names"] = np.array(list(info.channel_names), dtype=h5py.string_dtype())
        a["units"] = np.array(list(info.units), dtype=h5py.string_dtype())
        t0 = info.start_time
        a["start_time"] = float("nan") if t0 is None else float(t0)
        a["start_time_iso"] = (
            "" if t0 is None else datetime.fromtimestamp(t0, timezone.utc).isoformat()
        )
        a["description"] = str(info.description)
        a["flush_interval"] = self.flush_interval
        a["scale"] = float("nan") if info.scale is None else float(info.scale)
        a["offset"] = float("nan") if info.offset is None else float(info.offset)
        user = f.create_group("user")
        for key, value in self.attrs.items():
            user.attrs[key] = value
        f.swmr_mode = True  # from here on the file on disk is always consistent
        f.flush()

    def write(self, chunk: WaveformTrace) -> None:
        """Append a chunk (consumer thread); records a gap if it does not follow the last one.

        Raises ``ValueError`` for a chunk with the wrong channel count or going back in
        position, :class:`OSError` when the disk fails (the stream then stops with
        :class:`~livetrace.SinkError`). A chunk that arrives after ``close()`` (the stream
        was stopped from another thread while this chunk was on its way) is appended by
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
                    reopened.close()
                return
            self._raise_flush_error()
            self._append(data, n, ch, start, disc)

    def _append(self, data: NDArray[Any], n: int, ch: int, start: int, disc: bool) -> None:
        if ch != self._n_channels:
            raise ValueError(
                f"chunk has shape {data.shape if ch != 1 else (n,)}; the recording "
                f"'{self.path}' has {self._n_channels} channel(s)"
            )
        dt = self.dtype
        assert dt is not None
        if data.dtype != dt or not data.flags.c_contiguous:
            data = np.ascontiguousarray(data, dtype=dt)
        expected = 0 if self._next is None else self._next
        if start < expected:
            raise ValueError(
                f"chunk start_index {start} goes back before the next expected index "
                f"{expected}; a recording's positions must increase"
            )
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
            except OSError as exc:
                self._failed = exc
                raise type(exc)(*self._os_args(exc, f"writing {n} samples failed")) from exc
            except BaseException as exc:
                self._failed = exc
                raise
            self._n = n0 + n
        self._next = start + n
        self._dirty = True

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
        if self._segs:
            rows = np.array(self._segs, dtype=SEGMENT_DTYPE)
            k = self._n_segs
            self._segments.resize(k + len(rows), axis=0)
            self._segments[k : k + len(rows)] = rows
            self._n_segs = k + len(rows)
            self._segs = []
        f.flush()  # samples and segments on disk first...
        self._progress[()] = np.array(
            (self._n, self._n_segs, 1 if complete else 0, time.time()), dtype=PROGRESS_DTYPE
        )
        f.flush()  # ...then the count that vouches for them
        self._n_committed = self._n
        self._dirty = False
        self._last_flush = time.monotonic()

    def _flush_wait(self, now: float, dirty: bool) -> float:
        """Seconds the flush thread sleeps before looking again (0: flush now).

        Unwritten data is at most ``flush_interval`` old when flushed: dirty data waits only
        until ``flush_interval`` after the last flush (anything written since is younger);
        with nothing to flush, data written from ``now`` on is flushed ``flush_interval``
        later at the latest."""
        if not dirty:
            return self.flush_interval
        return max(0.0, self._last_flush + self.flush_interval - now)

    def _flush_loop(self) -> None:
        stop = self._stop
        wait = self.flush_interval
        while not stop.wait(wait):
            wait = self._flush_wait(time.monotonic(), self._dirty)
            if wait > 0:
                continue
            wait = self.flush_interval
            try:
                with self._lock:
                    if self._file is not None and self._failed is None:
                        self._flush_locked(complete=False)
            except Exception as exc:  # reported by the next write() or close()
                self._flush_error = exc
                return

    def _raise_flush_error(self) -> None:
        exc = self._flush_error
        if exc is not None:
            self._flush_error = None
            self._failed = exc
            if isinstance(exc, OSError):
                raise type(exc)(*self._os_args(exc, "flushing failed")) from exc
            raise exc

    def close(self) -> None:
        """Flush, mark the file complete and close it; joins the flush thread. Idempotent.

        May be called from another thread than ``write`` (the stream's ``stop()``): it waits
        for a write in progress to finish.
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
                # The write error is already on its way to the caller; close what can be
                # closed and keep a second error for inspection instead of masking the first.
                try:
                    f.close()
                except Exception as exc:
                    self._close_error = exc
                return
            try:
                self._file = f
                self._raise_flush_error()
                self._flush_locked(complete=True)
            finally:
                self._file = None
                f.close()

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
