"""Reading recordings: :class:`RecordingReader` (random access, metadata, gaps, damage).

A recording is trusted up to what its ``/progress`` record vouches for (see ``_format``), so
a file whose writer was killed reads back every sample committed before the kill. Files are
opened in SWMR read mode, which also lets a reader follow a recording that is still growing
(:meth:`RecordingReader.refresh`).

Nothing in a file is trusted blindly: before anything is allocated, the reader checks that
the file is as long as its HDF5 superblock says (a truncated copy fails at once, naming the
file), that every size, count and index fits what the file holds (a crafted file claiming
10**12 samples in 1 MB is refused), and it reads checksummed data, so damaged samples raise
:class:`DamagedRecordingError` with the damaged range instead of reading back as zeros.
HDF5's read retries (meant for following a live writer) are limited, so a damaged file fails
within a second instead of backing off for minutes.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError, LivetraceError, require
from .._protocols import SourceInfo
from ._format import CLOCK_DTYPE, FORMAT_NAME, FORMAT_VERSION, SEGMENT_DTYPE

__all__ = ["DamagedRange", "DamagedRecordingError", "Gap", "RecordedBlock", "RecordingReader"]

_READ_ATTEMPTS = 20  # SWMR metadata read attempts: HDF5's 100 back off for minutes
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_MAX_CHANNELS = 1 << 16
_MAX_INDEX = 1 << 62  # absolute positions beyond this would overflow int64 arithmetic


class Gap(NamedTuple):
    """A loss in a recording: ``length`` samples missing before absolute ``start_index``.

    ``stored_index`` is the position in ``/samples`` of the first sample after the gap.
    ``known`` is False for a loss of unknown size (``length`` is then 0).
    """

    start_index: int
    length: int
    stored_index: int
    known: bool


class RecordedBlock(NamedTuple):
    """Samples read back: ``data`` (1-D for one channel, else ``(n, n_channels)``), the absolute
    ``start_index`` of ``data[0]``, its ``stored_index``, and the gap right before it
    (``gap`` samples; ``discontinuity`` True for any loss, known or not)."""

    data: NDArray[Any]
    start_index: int
    stored_index: int
    gap: int
    discontinuity: bool


class DamagedRange(NamedTuple):
    """Stored samples ``stored_start:stored_stop`` whose checksum does not match: they cannot
    be read back. ``start_index``/``stop_index`` are the absolute positions of the first and
    one past the last (the range may span recorded gaps)."""

    stored_start: int
    stored_stop: int
    start_index: int
    stop_index: int


class DamagedRecordingError(LivetraceError, OSError):
    """A recording is damaged: truncated, its samples fail their checksum, or its metadata
    is missing, inconsistent or claims more than the file holds. ``path`` is the file;
    ``damaged`` the :class:`DamagedRange` of samples that failed (None when the damage is
    not in the samples). ``errno`` is ``EIO``. ``final`` is True: a stream replaying the file
    stops at once with this error (reading again cannot repair it) instead of retrying."""

    final = True

    def __init__(self, path: Path, message: str, damaged: DamagedRange | None = None) -> None:
        super().__init__(errno.EIO, message)
        self.path = path
        self.damaged = damaged


def _damage(path: Path, damaged: DamagedRange, what: str = "") -> DamagedRecordingError:
    msg = (
        f"recording '{path}' is damaged: stored samples {damaged.stored_start}"
        f":{damaged.stored_stop} (absolute {damaged.start_index}:{damaged.stop_index}) "
        f"fail their checksum{what}; RecordingReader.verify() lists every damaged range"
    )
    return DamagedRecordingError(path, msg, damaged)


def _as_str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@functools.cache
def _set_read_attempts() -> Callable[[int, int], int] | None:
    """``H5Pset_metadata_read_attempts`` of the HDF5 library h5py uses (None: not found).

    h5py does not expose it; the library is the one already loaded into this process."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            paths = {line.split()[-1] for line in fh if "libhdf5" in line and "/" in line}
    except OSError:
        return None
    for path in sorted(paths):
        if "_hl" in Path(path).name:
            continue
        try:
            fn = ctypes.CDLL(path).H5Pset_metadata_read_attempts
        except (OSError, AttributeError):
            continue
        fn.argtypes = [ctypes.c_int64, ctypes.c_uint]
        fn.restype = ctypes.c_int
        attempts: Callable[[int, int], int] = fn
        return attempts
    return None


def _superblock_end(head: bytes, at: int) -> int | None:
    """The end-of-file address the HDF5 superblock at ``at`` declares; None when it does not
    say (an undefined address, or a superblock version this check does not know); -1 when
    the superblock itself is cut short."""
    sb = head[at:]
    if len(sb) < 16:
        return -1
    version = sb[8]
    if version in (0, 1):
        size, base_at = sb[13], (24 if version == 0 else 28)
    elif version in (2, 3):
        size, base_at = sb[9], 12
    else:
        return None
    eof_at = base_at + 2 * size
    if size not in (2, 4, 8):
        return None
    if len(sb) < eof_at + size:
        return -1
    base = int.from_bytes(sb[base_at : base_at + size], "little")
    end = int.from_bytes(sb[eof_at : eof_at + size], "little")
    if end == (1 << (8 * size)) - 1:
        return None
    return base + end


def _check_container(path: Path) -> None:
    """Fail at once, naming the file, when it is not a whole HDF5 file."""
    size = path.stat().st_size
    if size == 0:
        raise OSError(
            errno.EINVAL,
            f"cannot open '{path}' as a recording: the file is empty (expected an HDF5 file)",
        )
    with open(path, "rb") as fh:
        head = fh.read(4096)
    at = next((k for k in (0, 512, 1024, 2048) if head[k : k + 8] == _HDF5_SIGNATURE), None)
    if at is None:
        raise OSError(
            errno.EINVAL,
            f"cannot open '{path}' as a recording: it is not an HDF5 file (expected the HDF5 "
            f"signature at byte 0, 512, 1024 or 2048; the file starts with {head[:8]!r})",
        )
    end = _superblock_end(head, at)
    if end is not None and size < max(end, at + 16):
        said = "" if end < 0 else f"; its HDF5 superblock says it ends at byte {end}"
        raise DamagedRecordingError(
            path,
            f"cannot open '{path}' as a recording: the file is truncated ({size} bytes{said}):"
            " an interrupted copy or download?",
        )


def _open_h5(path: Path) -> Any:
    h5py: Any = require("h5py", "hdf5")
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "no such recording", str(path))
    if path.is_dir():
        raise IsADirectoryError(
            errno.EISDIR, "expected a recording file, got a directory", str(path)
        )
    _check_container(path)
    # SWMR read mode opens a file whose writer was killed (HDF5 still marks it "open for
    # writing") and follows one that is being written.
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    set_attempts = _set_read_attempts()
    if set_attempts is not None:
        set_attempts(fapl.id, _READ_ATTEMPTS)
    name = os.fsencode(path)
    try:
        fid = h5py.h5f.open(name, h5py.h5f.ACC_RDONLY | h5py.h5f.ACC_SWMR_READ, fapl=fapl)
    except (OSError, RuntimeError) as exc:
        try:
            fid = h5py.h5f.open(name, h5py.h5f.ACC_RDONLY, fapl=fapl)
        except (OSError, RuntimeError):
            raise DamagedRecordingError(
                path, f"cannot open '{path}' as an HDF5 recording: HDF5 says: {exc}"
            ) from exc
    return h5py.File(fid)


class RecordingReader:
    """Random access to a recording made by :class:`~livetrace.sinks.Recorder`.

    ``info`` describes the samples (a :class:`~livetrace.SourceInfo` with ``finite=True`` and
    ``start_time`` = wall-clock time of absolute sample 0); ``n_samples`` counts the stored
    samples; ``gaps`` lists every loss. ``read(start, stop)`` returns stored samples
    ``start:stop``; iterating yields :class:`RecordedBlock` objects that never span a gap.
    Use it as a context manager (or call ``close()``).

    Errors name the file and what was expected: :class:`OSError` for a file that is missing,
    empty or not HDF5; :class:`~livetrace.ConfigurationError` for an HDF5 file that is not a
    livetrace recording, or of a newer format version; :class:`DamagedRecordingError` (an
    ``OSError``) for a truncated file, HDF5 structures that fail their checksums, metadata that
    is missing, inconsistent or claims more than the file holds, and samples that fail their
    checksum (``verify()`` lists every damaged range). All of them come within a second.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._file = _open_h5(self.path)
        try:
            self._load()
        except (LivetraceError, FileNotFoundError):
            self._file.close()
            raise
        except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
            self._file.close()
            raise self._unreadable(exc) from exc
        except BaseException:
            self._file.close()
            raise

    def _unreadable(self, exc: BaseException) -> DamagedRecordingError:
        """HDF5 failed on the file's own structures (they fail their checksums, or point
        outside the file)."""
        reason = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        return DamagedRecordingError(
            self.path,
            f"recording '{self.path}' is damaged: HDF5 cannot read its structure ({reason})",
        )

    def _bad(self, what: str) -> DamagedRecordingError:
        return DamagedRecordingError(
            self.path, f"'{self.path}' is not a valid livetrace recording: {what}"
        )

    def _attr(self, name: str, expected: str, convert: Callable[[Any], Any]) -> Any:
        a = self._file.attrs
        if name not in a:
            raise self._bad(f"the attribute {name!r} is missing (expected {expected})")
        value = a[name]
        try:
            return convert(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise self._bad(f"attribute {name!r} is {value!r}; expected {expected}") from exc

    def _strings(self, name: str, n: int) -> tuple[str, ...]:
        def convert(v: Any) -> tuple[str, ...]:
            arr = np.atleast_1d(np.asarray(v, dtype=object))
            if arr.ndim != 1 or len(arr) != n:
                raise ValueError(name)
            return tuple(_as_str(x) for x in arr)

        strings: tuple[str, ...] = self._attr(name, f"{n} string(s), one per channel", convert)
        return strings

    def _load(self) -> None:
        f = self._file
        a = f.attrs
        fmt = _as_str(a.get("format", ""))
        if fmt != FORMAT_NAME:
            raise ConfigurationError(
                f"'{self.path}' is an HDF5 file but not a livetrace recording "
                f"(expected attribute format={FORMAT_NAME!r}, got {fmt!r})"
            )
        missing = [k for k in ("samples", "segments", "progress") if k not in f]
        if missing:
            raise self._bad(
                f"the dataset(s) {', '.join('/' + k for k in missing)} are missing (expected "
                "/samples, /segments and /progress)"
            )
        version = self._attr("format_version", "an integer", int)
        if not 1 <= version <= FORMAT_VERSION:
            raise ConfigurationError(
                f"'{self.path}' has recording format version {version}; this livetrace reads "
                f"versions 1 to {FORMAT_VERSION}"
                + (" (upgrade livetrace)" if version > FORMAT_VERSION else "")
            )
        self.format_version = version
        n_ch = self._attr("n_channels", f"an integer 1 to {_MAX_CHANNELS}", int)
        if not 1 <= n_ch <= _MAX_CHANNELS:
            raise self._bad(f"n_channels is {n_ch}; expected 1 to {_MAX_CHANNELS}")
        rate = self._attr("sample_rate", "a finite number > 0 (Hz)", float)
        if not (math.isfinite(rate) and rate > 0):
            raise self._bad(f"sample_rate is {rate!r}; expected a finite number > 0 (Hz)")
        samples = f["samples"]
        if not hasattr(samples, "shape") or samples.ndim != 2 or samples.shape[1] != n_ch:
            raise self._bad(
                f"/samples has shape {getattr(samples, 'shape', None)}; expected "
                f"(n, {n_ch}) for n_channels={n_ch}"
            )
        if samples.dtype.kind not in "iufc":
            raise self._bad(f"/samples has dtype {samples.dtype}; expected a numeric dtype")
        dtype = self._attr("dtype", "a numeric dtype name", lambda v: np.dtype(_as_str(v)))
        if dtype.kind != samples.dtype.kind or dtype.itemsize != samples.dtype.itemsize:
            raise self._bad(
                f"attribute dtype is {dtype.name} but /samples holds {samples.dtype}; expected "
                "the same dtype"
            )
        names = self._strings("channel_names", n_ch)
        units = self._strings("units", n_ch)
        t0 = self._attr("start_time", "POSIX seconds or NaN", float)
        description = self._attr("description", "a string", _as_str)
        scale = float(a.get("scale", float("nan")))
        offset = float(a.get("offset", float("nan")))
        for key, value in (("scale", scale), ("offset", offset), ("start_time", t0)):
            if math.isinf(value):
                raise self._bad(f"{key} is {value}; expected a finite number or NaN")
        self.info = SourceInfo(
            sample_rate=rate,
            dtype=samples.dtype.newbyteorder("=").name,
            n_channels=n_ch,
            channel_names=names,
            units=units,
            finite=True,
            backpressure=True,
            description=description,
            start_time=None if np.isnan(t0) else t0,
            scale=None if np.isnan(scale) else scale,
            offset=None if np.isnan(offset) else offset,
        )
        self.metadata: dict[str, Any] = {
            k: (_as_str(v) if isinstance(v, (bytes, str)) else v) for k, v in a.items()
        }
        self.attrs: dict[str, Any] = dict(f["user"].attrs) if "user" in f else {}
        self._samples = samples
        self._seg_ds = f["segments"]
        self._progress = f["progress"]
        if self._seg_ds.ndim != 1 or not set(SEGMENT_DTYPE.names or ()) <= set(
            self._seg_ds.dtype.names or ()
        ):
            raise self._bad(
                f"/segments has shape {self._seg_ds.shape} and dtype {self._seg_ds.dtype}; "
                f"expected (n,) of fields {', '.join(SEGMENT_DTYPE.names or ())}"
            )
        fields = set(self._progress.dtype.names or ())
        needed = {"n_samples", "n_segments", "complete", "flush_time"}
        if self._progress.shape != () or not needed <= fields:
            raise self._bad(
                f"/progress has shape {self._progress.shape} and dtype {self._progress.dtype}; "
                f"expected a scalar of fields {', '.join(sorted(needed))}"
            )
        self._capacity = {"samples": 0, "segments": 0, "clock": 0}  # rows known to be stored
        self._read_progress()
        self._read_clock(f)

    def _read_clock(self, f: Any) -> None:
        """The clock map rows (``/clock``), checked; empty when the stream measured none."""
        empty = np.zeros(0, dtype=CLOCK_DTYPE)
        ds = f.get("clock")
        if ds is None:
            self.clock = empty
            return
        if ds.ndim != 1 or not set(CLOCK_DTYPE.names or ()) <= set(ds.dtype.names or ()):
            raise self._bad(
                f"/clock has shape {ds.shape} and dtype {ds.dtype}; expected (n,) of fields "
                f"{', '.join(CLOCK_DTYPE.names or ())}"
            )
        n = int(ds.shape[0])
        self._rows_stored("clock", ds, n)
        try:
            rows = np.asarray(ds[:n], dtype=CLOCK_DTYPE)
        except OSError as exc:
            raise DamagedRecordingError(
                self.path,
                f"recording '{self.path}' is damaged: its clock map (/clock) fails its checksum "
                f"({exc}); sample times fall back to the start time and nominal rate",
            ) from exc
        rows = rows[rows["start_index"] < max(self.end_index, 1)]
        bad = ~np.isfinite(rows["start_time"]) | ~(rows["rate"] > 0) | ~np.isfinite(rows["rate"])
        if bad.any() or np.any(np.diff(rows["start_index"]) < 0):
            raise self._bad(
                "/clock rows must have increasing start_index, finite start_time and a rate > 0"
            )
        self.clock = rows

    def time_of(self, index: int | NDArray[Any]) -> Any:
        """When sample ``index`` (absolute; scalar or array) was taken, POSIX seconds: from
        the recorded clock map (see ``docs/time.md``), else ``start_time + index / rate``."""
        idx = np.asarray(index, dtype=np.int64)
        rows = self.clock
        if len(rows) == 0:
            t0 = self.info.start_time or 0.0
            out = t0 + idx / self.info.sample_rate
        else:
            r = np.searchsorted(rows["start_index"], idx, side="right") - 1
            r = np.clip(r, 0, len(rows) - 1)
            out = rows["start_time"][r] + (idx - rows["start_index"][r]) / rows["rate"][r]
        return float(out) if np.ndim(out) == 0 else out

    @property
    def measured_rate(self) -> float | None:
        """The sample rate the stream measured (last clock row), or None."""
        return float(self.clock["rate"][-1]) if len(self.clock) else None

    def _rows_stored(self, name: str, ds: Any, needed: int) -> None:
        """Check that ``ds`` holds (allocated chunks for) at least ``needed`` rows."""
        if needed <= self._capacity[name]:
            return
        row_bytes = ds.dtype.itemsize * int(np.prod(ds.shape[1:], dtype=np.int64))
        if ds.chunks is None:
            held = ds.id.get_storage_size() // max(1, row_bytes)
        else:
            held = ds.id.get_num_chunks() * ds.chunks[0]
        if held < needed:
            raise self._bad(
                f"/progress claims {needed} row(s) of /{name}, but the file stores only "
                f"{held} ({row_bytes} bytes a row; the file is {self.path.stat().st_size} "
                f"bytes); expected at most {held}"
            )
        self._capacity[name] = held

    def _read_progress(self) -> None:
        prog = self._progress[()]
        n_seg = int(prog["n_segments"])
        n = int(prog["n_samples"])
        names = prog.dtype.names or ()
        self.complete = bool(prog["complete"])
        self.flush_time = float(prog["flush_time"])
        self.clipped = int(prog["n_clipped"]) if "n_clipped" in names else 0
        shape_n, shape_seg = int(self._samples.shape[0]), int(self._seg_ds.shape[0])
        if not 0 <= n <= shape_n:
            raise self._bad(
                f"/progress claims {n} samples; expected 0 to {shape_n}, the rows of /samples"
            )
        if not 0 <= n_seg <= shape_seg:
            raise self._bad(
                f"/progress claims {n_seg} segments; expected 0 to {shape_seg}, the rows of "
                "/segments"
            )
        self._rows_stored("samples", self._samples, n)
        self._rows_stored("segments", self._seg_ds, n_seg)
        try:
            segs = np.asarray(self._seg_ds[:n_seg], dtype=SEGMENT_DTYPE)
        except OSError as exc:
            raise DamagedRecordingError(
                self.path,
                f"recording '{self.path}' is damaged: its segment table (/segments) fails its "
                f"checksum ({exc}); the positions of its {n} samples are unknown",
            ) from exc
        # a segment starting at n holds no committed sample: keep it only for the gap it
        # reports (the stream records a loss at its very end as such an empty segment)
        segs = segs[segs["stored_index"] <= n]
        self._check_segments(segs, n)
        self.n_samples = n
        self.segments = segs
        self._seg_stored = segs["stored_index"].astype(np.int64)
        self._seg_start = segs["start_index"].astype(np.int64)

    def _check_segments(self, segs: NDArray[Any], n: int) -> None:
        stored = segs["stored_index"].astype(np.int64)
        start = segs["start_index"].astype(np.int64)
        problem = ""
        if n and (not len(segs) or stored[0] != 0):
            problem = "the first segment does not start at stored sample 0"
        elif np.any(stored < 0) or np.any(np.diff(stored) < 0):
            problem = "stored indices go backwards"
        elif np.any(start < 0) or np.any(segs["gap"] < 0):
            problem = "a negative position or gap"
        elif np.any(start[1:] < start[:-1] + np.diff(stored)):
            problem = "positions overlap (a segment starts before the previous one ends)"
        elif len(segs) and (
            int(start[-1]) > _MAX_INDEX or n - int(stored[-1]) > _MAX_INDEX - int(start[-1])
        ):
            problem = f"positions beyond {_MAX_INDEX}"
        if problem:
            raise self._bad(
                f"/segments is inconsistent: {problem}; expected rows from stored sample 0 on, "
                "with increasing positions and gaps >= 0"
            )

    def refresh(self) -> int:
        """Re-read what a recording still being written has committed; returns ``n_samples``."""
        try:
            for ds in (self._samples, self._seg_ds, self._progress):
                ds.refresh()
            self._read_progress()
        except (OSError, RuntimeError, KeyError, ValueError) as exc:
            if isinstance(exc, LivetraceError):
                raise
            raise self._unreadable(exc) from exc
        return self.n_samples

    # ------------------------------------------------------------------ description
    @property
    def sample_rate(self) -> float:
        return self.info.sample_rate

    @property
    def n_channels(self) -> int:
        return self.info.n_channels

    @property
    def checksummed(self) -> bool:
        """True when the samples carry checksums (damage is detected); older files do not."""
        return bool(self._samples.fletcher32)

    @property
    def duration(self) -> float:
        """Seconds of recorded signal: ``n_samples / sample_rate`` (gaps not counted)."""
        return self.n_samples / self.info.sample_rate

    @property
    def first_index(self) -> int:
        """Absolute index of the first stored sample (0 for an empty recording)."""
        return int(self._seg_start[0]) if len(self._seg_start) else 0

    @property
    def end_index(self) -> int:
        """Absolute index one past the last stored sample."""
        if not self.n_samples:
            return 0
        return int(self._seg_start[-1] + (self.n_samples - self._seg_stored[-1]))

    @property
    def span(self) -> float:
        """Seconds from the first stored sample to the end, gaps included."""
        return (self.end_index - self.first_index) / self.info.sample_rate

    @property
    def gaps(self) -> list[Gap]:
        """Every loss, in order: a known gap or a discontinuity of unknown size."""
        out: list[Gap] = []
        for row in self.segments:
            gap = int(row["gap"])
            if row["discontinuity"] or gap > 0:
                out.append(
                    Gap(
                        start_index=int(row["start_index"]),
                        length=gap,
                        stored_index=int(row["stored_index"]),
                        known=gap > 0,
                    )
                )
        return out

    @property
    def trailing_loss(self) -> Gap | None:
        """The loss recorded after the last stored sample (the stream's end), if any."""
        gaps = self.gaps
        if gaps and gaps[-1].stored_index == self.n_samples:
            return gaps[-1]
        return None

    @property
    def samples_lost(self) -> int:
        """Samples missing in known gaps (including before the first stored sample)."""
        return int(self.segments["gap"].sum()) if len(self.segments) else 0

    # ------------------------------------------------------------------ data
    def absolute_index(self, stored: int | NDArray[np.integer[Any]]) -> Any:
        """Absolute sample index of stored sample(s) ``stored`` (vectorised)."""
        k = np.asarray(stored, dtype=np.int64)
        if np.any((k < 0) | (k >= self.n_samples)):
            raise IndexError(
                f"recording '{self.path}': stored index out of range [0, {self.n_samples}): "
                f"{stored!r}"
            )
        r = np.searchsorted(self._seg_stored, k, side="right") - 1
        out = self._seg_start[r] + (k - self._seg_stored[r])
        return int(out) if out.ndim == 0 else out

    def read(self, start: int = 0, stop: int | None = None) -> NDArray[Any]:
        """Stored samples ``start:stop`` (clipped to ``n_samples``), 1-D for one channel.

        Raises :class:`DamagedRecordingError` naming the first damaged range when a part of
        them fails its checksum."""
        n = self.n_samples
        stop = n if stop is None else stop
        start, stop, _ = slice(start, stop).indices(n)
        stop = max(start, stop)
        data = np.empty((stop - start, self.n_channels), dtype=self._samples.dtype)
        if stop > start:
            try:
                self._samples.read_direct(data, source_sel=np.s_[start:stop])
            except (OSError, RuntimeError) as exc:
                damaged = self._damaged(start, stop)
                if not damaged:
                    raise self._unreadable(exc) from exc
                raise _damage(self.path, damaged[0]) from exc
        return data[:, 0] if self.n_channels == 1 else data

    def _damaged(self, start: int, stop: int) -> list[DamagedRange]:
        """Damaged ranges of the HDF5 chunks holding stored samples ``start:stop``."""
        n = self.n_samples
        rows = self._samples.chunks[0] if self._samples.chunks else max(1, n)
        out: list[DamagedRange] = []
        k = start - start % rows
        buf = np.empty((rows, self.n_channels), dtype=self._samples.dtype)
        while k < stop:
            a, b = k, min(k + rows, n)
            try:
                self._samples.read_direct(buf, np.s_[a:b], np.s_[0 : b - a])
            except (OSError, RuntimeError):
                if out and out[-1].stored_stop == a:
                    a = out.pop().stored_start
                last = int(self.absolute_index(b - 1)) + 1
                out.append(DamagedRange(a, b, int(self.absolute_index(a)), last))
            k += rows
        return out

    def verify(self) -> list[DamagedRange]:
        """Read every stored sample and return the ranges that fail their checksum (empty:
        the recording is intact). Reads the whole file, one HDF5 chunk at a time. A file
        written without checksums (``checksummed`` False) always verifies empty."""
        return self._damaged(0, self.n_samples)

    def iter_blocks(self, block_size: int = 65536, *, start: int = 0) -> Iterator[RecordedBlock]:
        """Blocks of at most ``block_size`` stored samples from ``start``, never spanning a gap."""
        if block_size < 1:
            raise ConfigurationError(
                f"recording '{self.path}': block_size must be >= 1, got {block_size!r}"
            )
        pos = start
        n = self.n_samples
        while pos < n:
            blk = self.block_at(pos, block_size)
            yield blk
            pos += len(blk.data)

    def block_at(self, pos: int, block_size: int) -> RecordedBlock:
        """The block of up to ``block_size`` samples starting at stored index ``pos``."""
        r = int(np.searchsorted(self._seg_stored, pos, side="right")) - 1
        seg_end = int(self._seg_stored[r + 1]) if r + 1 < len(self._seg_stored) else self.n_samples
        stop = min(pos + block_size, seg_end)
        first = pos == int(self._seg_stored[r])
        row = self.segments[r]
        gap = int(row["gap"]) if first else 0
        disc = bool(row["discontinuity"]) if first else False
        abs_start = int(self._seg_start[r]) + pos - int(self._seg_stored[r])
        return RecordedBlock(self.read(pos, stop), abs_start, pos, gap, disc)

    def __iter__(self) -> Iterator[RecordedBlock]:
        return self.iter_blocks()

    def plot(self, **options: Any) -> Any:
        """A matplotlib figure of this recording (needs the ``plot`` extra), for notebooks.

        Options: ``start``, ``duration`` (seconds from the first recorded sample),
        ``channels`` (indices or names), ``spectrum`` (add a Welch spectrum panel),
        ``width``, ``height`` (pixels), ``dpi``, ``nperseg``. Long spans are drawn as the
        min/max envelope of each pixel column's samples; gaps are breaks, shaded and labelled.
        Save it with ``fig.savefig("out.png")`` (or ``.svg``).
        """
        from ._plot import plot_recording

        return plot_recording(self, **options)

    def __len__(self) -> int:
        return self.n_samples

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RecordingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"RecordingReader('{self.path}', n_samples={self.n_samples}, "
            f"sample_rate={self.info.sample_rate:g}, channels={self.n_channels}, "
            f"gaps={len(self.gaps)}, complete={self.complete})"
        )
