"""Reading recordings: :class:`RecordingReader` (random access, metadata, gaps).

A recording is trusted up to what its ``/progress`` record vouches for (see ``_format``), so
a file whose writer was killed reads back every sample committed before the kill. Files are
opened in SWMR read mode, which also lets a reader follow a recording that is still growing
(:meth:`RecordingReader.refresh`).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError, require
from .._protocols import SourceInfo
from ._format import FORMAT_NAME, FORMAT_VERSION, SEGMENT_DTYPE

__all__ = ["Gap", "RecordedBlock", "RecordingReader"]


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


def _as_str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _open_h5(path: Path) -> Any:
    h5py: Any = require("h5py", "hdf5")
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "no such recording", str(path))
    if path.is_dir():
        raise IsADirectoryError(
            errno.EISDIR, "expected a recording file, got a directory", str(path)
        )
    try:
        # SWMR read mode opens a file whose writer was killed (HDF5 still marks it "open for
        # writing") and follows one that is being written.
        return h5py.File(path, "r", swmr=True)
    except OSError as exc:
        try:
            return h5py.File(path, "r")
        except OSError:
            raise OSError(f"cannot open '{path}' as an HDF5 recording: {exc}") from exc


class RecordingReader:
    """Random access to a recording made by :class:`~livetrace.sinks.Recorder`.

    ``info`` describes the samples (a :class:`~livetrace.SourceInfo` with ``finite=True`` and
    ``start_time`` = wall-clock time of absolute sample 0); ``n_samples`` counts the stored
    samples; ``gaps`` lists every loss. ``read(start, stop)`` returns stored samples
    ``start:stop``; iterating yields :class:`RecordedBlock` objects that never span a gap.
    Use it as a context manager (or call ``close()``).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._file = _open_h5(self.path)
        try:
            self._load()
        except BaseException:
            self._file.close()
            raise

    def _load(self) -> None:
        f = self._file
        a = f.attrs
        fmt = _as_str(a.get("format", ""))
        if fmt != FORMAT_NAME or not {"samples", "segments", "progress"} <= set(f.keys()):
            raise ConfigurationError(
                f"'{self.path}' is an HDF5 file but not a livetrace recording "
                f"(expected attribute format={FORMAT_NAME!r}, got {fmt!r})"
            )
        version = int(a.get("format_version", 0))
        if version > FORMAT_VERSION:
            raise ConfigurationError(
                f"'{self.path}' has recording format version {version}; this livetrace reads "
                f"up to version {FORMAT_VERSION} (upgrade livetrace)"
            )
        self.format_version = version
        n_ch = int(a["n_channels"])
        names = tuple(_as_str(x) for x in a["channel_names"])
        units = tuple(_as_str(x) for x in a["units"])
        t0 = float(a["start_time"])
        scale = float(a.get("scale", float("nan")))
        offset = float(a.get("offset", float("nan")))
        self.info = SourceInfo(
            sample_rate=float(a["sample_rate"]),
            dtype=_as_str(a["dtype"]),
            n_channels=n_ch,
            channel_names=names,
            units=units,
            finite=True,
            backpressure=True,
            description=_as_str(a["description"]),
            start_time=None if np.isnan(t0) else t0,
            scale=None if np.isnan(scale) else scale,
            offset=None if np.isnan(offset) else offset,
        )
        self.metadata: dict[str, Any] = {
            k: (_as_str(v) if isinstance(v, (bytes, str)) else v) for k, v in a.items()
        }
        self.attrs: dict[str, Any] = dict(f["user"].attrs) if "user" in f else {}
        self._samples = f["samples"]
        self._seg_ds = f["segments"]
        self._progress = f["progress"]
        self._read_progress()

    def _read_progress(self) -> None:
        prog = self._progress[()]
        n_seg = int(prog["n_segments"])
        n = int(prog["n_samples"])
        self.complete = bool(prog["complete"])
        self.flush_time = float(prog["flush_time"])
        n = min(n, int(self._samples.shape[0]))
        segs = np.asarray(self._seg_ds[:n_seg], dtype=SEGMENT_DTYPE)
        # a segment starting at n holds no committed sample: keep it only for the gap it
        # reports (the stream records a loss at its very end as such an empty segment)
        segs = segs[segs["stored_index"] <= n]
        self.n_samples = n
        self.segments = segs
        self._seg_stored = segs["stored_index"].astype(np.int64)
        self._seg_start = segs["start_index"].astype(np.int64)

    def refresh(self) -> int:
        """Re-read what a recording still being written has committed; returns ``n_samples``."""
        for ds in (self._samples, self._seg_ds, self._progress):
            ds.refresh()
        self._read_progress()
        return self.n_samples

    # ------------------------------------------------------------------ description
    @property
    def sample_rate(self) -> float:
        return self.info.sample_rate

    @property
    def n_channels(self) -> int:
        return self.info.n_channels

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
            raise IndexError(f"stored index out of range [0, {self.n_samples}): {stored!r}")
        r = np.searchsorted(self._seg_stored, k, side="right") - 1
        out = self._seg_start[r] + (k - self._seg_stored[r])
        return int(out) if out.ndim == 0 else out

    def read(self, start: int = 0, stop: int | None = None) -> NDArray[Any]:
        """Stored samples ``start:stop`` (clipped to ``n_samples``), 1-D for one channel."""
        n = self.n_samples
        stop = n if stop is None else stop
        start, stop, _ = slice(start, stop).indices(n)
        stop = max(start, stop)
        data = np.empty((stop - start, self.n_channels), dtype=self._samples.dtype)
        if stop > start:
            self._samples.read_direct(data, source_sel=np.s_[start:stop])
        return data[:, 0] if self.n_channels == 1 else data

    def iter_blocks(self, block_size: int = 65536, *, start: int = 0) -> Iterator[RecordedBlock]:
        """Blocks of at most ``block_size`` stored samples from ``start``, never spanning a gap."""
        if block_size < 1:
            raise ConfigurationError(f"block_size must be >= 1, got {block_size!r}")
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
