"""The livetrace recording format (HDF5), field by field.

``format = "livetrace-recording"``, ``format_version = 1``:

- ``/samples`` ``(n_stored, n_channels)``: every delivered sample, contiguous (a gap is *not*
  zero-filled), chunked and resizable along axis 0. Each HDF5 chunk carries a Fletcher-32
  checksum (HDF5's ``fletcher32`` filter), so a damaged chunk is detected when it is read.
- ``/segments`` (checksummed like ``/samples``): one row per run of contiguous samples,
  ``(stored_index, start_index, gap, discontinuity)``; stored sample ``k`` of the run
  starting at row ``r`` has the absolute index ``start_index[r] + (k - stored_index[r])``.
  ``gap`` is the number of samples lost right before the run (``discontinuity=1, gap=0``: a
  loss of unknown size).
- ``/progress`` (scalar, stored inside its object header, which HDF5 checksums):
  ``n_samples`` and ``n_segments`` committed by the last flush, ``complete`` (1 once closed
  cleanly), ``flush_time`` (POSIX seconds) and ``n_clipped`` (values that did not fit the
  storage dtype and were clipped to its range; absent in files written before it existed).
  Readers trust it rather than the dataset shapes, after checking that the file holds what
  it claims.
- The file is written with HDF5's 1.10 format (the oldest with SWMR), which HDF5 1.10 tools
  (``h5dump``, ``h5ls``, HDFView, MATLAB) read.
- ``/clock`` (optional): the stream's clock map when it measured one (see ``docs/time.md``):
  rows ``(start_index, start_time, rate, uncertainty)``: one at the start, one after every
  gap, one a second, and one whenever the rows so far would be more than 1 us off the stream's
  time of a chunk; sample ``i`` was taken at ``start_time + (i - start_index) / rate`` of the
  last row with ``start_index <= i``.
- root attributes: what the samples are (rate, dtype, channels, units, time of sample 0,
  the source's description, livetrace version...), written once, before any sample.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CLOCK_DTYPE",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "LIBVER",
    "PROGRESS_DTYPE",
    "RESERVED_ATTRS",
    "SEGMENT_DTYPE",
]

FORMAT_NAME = "livetrace-recording"
FORMAT_VERSION = 1

SEGMENT_DTYPE = np.dtype(
    [
        ("stored_index", "<i8"),
        ("start_index", "<i8"),
        ("gap", "<i8"),
        ("discontinuity", "u1"),
    ]
)
PROGRESS_DTYPE = np.dtype(
    [
        ("n_samples", "<i8"),
        ("n_segments", "<i8"),
        ("complete", "u1"),
        ("flush_time", "<f8"),
        ("n_clipped", "<i8"),
    ]
)
CLOCK_DTYPE = np.dtype(
    [
        ("start_index", "<i8"),
        ("start_time", "<f8"),
        ("rate", "<f8"),
        ("uncertainty", "<f8"),
    ]
)
LIBVER = ("v110", "v110")
"""HDF5 format bounds the recorder writes: the oldest that supports SWMR, and no newer."""

RESERVED_ATTRS = frozenset(
    {
        "format",
        "format_version",
        "livetrace_version",
        "hdf5_version",
        "h5py_version",
        "created",
        "sample_rate",
        "dtype",
        "buffer_dtype",
        "n_channels",
        "channel_names",
        "units",
        "start_time",
        "start_time_iso",
        "description",
        "flush_interval",
        "scale",
        "offset",
        "clip",
    }
)
