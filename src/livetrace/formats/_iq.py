"""Headerless I/Q recordings named by their common extensions (GQRX, inspectrum, rtl-sdr,
GNU Radio ``file_sink``, SDR#...).

=========================  ==========================  ====================================
extensions                 stored                      delivered
=========================  ==========================  ====================================
``.cfile .cf32 .fc32``     complex float32 (I, Q)      ``complex64`` as is
``.cf64 .fc64``            complex float64             ``complex128`` as is
``.cs32 .sc32``            int32 I, Q                  ``complex128``, counts / 2**31
``.cs16 .sc16``            int16 I, Q                  ``complex64``, counts / 32768
``.cs8 .sc8``              int8 I, Q                   ``complex64``, counts / 128
``.cu8 .uc8``              uint8 I, Q, offset binary   ``complex64``, (counts - 128) / 128
=========================  ==========================  ====================================

Integer formats use the PCM convention livetrace applies to WAV files (full scale is
``2**(bits - 1)``, unsigned 8-bit centred on 128), so every value is exact and the same
counts always give the same floats. Files are little-endian and hold no sample rate:
``sample_rate`` is required. A trailing partial I/Q pair (a capture that was cut) is left out
and reported in ``health()["trailing_bytes"]``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError
from .._protocols import SourceInfo
from ._segments import Segment, SegmentReader, open_path

__all__ = ["IQ_FORMATS", "open_iq"]

#: extension -> (stored item dtype, full scale subtracted/divided, delivered dtype)
IQ_FORMATS: dict[str, tuple[str, float, float, str]] = {
    ".cfile": ("<f4", 0.0, 1.0, "complex64"),
    ".cf32": ("<f4", 0.0, 1.0, "complex64"),
    ".fc32": ("<f4", 0.0, 1.0, "complex64"),
    ".cf64": ("<f8", 0.0, 1.0, "complex128"),
    ".fc64": ("<f8", 0.0, 1.0, "complex128"),
    ".cs32": ("<i4", 0.0, 2.0**31, "complex128"),
    ".sc32": ("<i4", 0.0, 2.0**31, "complex128"),
    ".cs16": ("<i2", 0.0, 32768.0, "complex64"),
    ".sc16": ("<i2", 0.0, 32768.0, "complex64"),
    ".cs8": ("i1", 0.0, 128.0, "complex64"),
    ".sc8": ("i1", 0.0, 128.0, "complex64"),
    ".cu8": ("u1", 128.0, 128.0, "complex64"),
    ".uc8": ("u1", 128.0, 128.0, "complex64"),
}


def iq_converter(stored: str, centre: float, full_scale: float, out: str) -> Any:
    """The function turning ``(n, 2)`` stored I/Q items into ``n`` complex samples."""
    out_dt = np.dtype(out)
    real = np.float32 if out_dt == np.complex64 else np.float64
    st = np.dtype(stored)

    def convert(frames: NDArray[Any]) -> NDArray[Any]:
        if st.kind == "f":
            pairs = np.ascontiguousarray(frames, dtype=st.newbyteorder("="))
        else:
            pairs = frames.astype(real)
            if centre:
                pairs -= real(centre)
            pairs *= real(1.0 / full_scale)
        return pairs.view(out_dt).reshape(-1)

    return convert


def open_iq(
    path: str | os.PathLike[str], *, sample_rate: float | None = None, kind: str | None = None
) -> SegmentReader:
    """A reader of the I/Q file ``path``; its encoding comes from the extension (or ``kind``,
    an extension such as ``".cs16"``); ``sample_rate`` is required."""
    p = open_path(path, "I/Q file")
    ext = (kind or p.suffix).lower()
    if not ext.startswith("."):
        ext = "." + ext
    if ext not in IQ_FORMATS:
        raise ConfigurationError(
            f"I/Q file {str(p)!r}: unknown encoding {ext!r}; expected one of "
            f"{', '.join(IQ_FORMATS)}"
        )
    if sample_rate is None or not sample_rate > 0:
        raise ConfigurationError(
            f"I/Q file {str(p)!r} does not record its sample rate; pass sample_rate= "
            f"(e.g. 'file:{p.name}?sample_rate=2.4e6'), got {sample_rate!r}"
        )
    stored, centre, full_scale, out = IQ_FORMATS[ext]
    st = np.dtype(stored)
    size = p.stat().st_size
    frame = 2 * st.itemsize
    n = size // frame
    info = SourceInfo(
        sample_rate=float(sample_rate),
        dtype=out,
        finite=True,
        backpressure=True,
        description=f"file:{p}",
    )
    counters = {"trailing_bytes": size % frame} if size % frame else {}
    return SegmentReader(
        p,
        st,
        2,
        [Segment(0, n, 0)],
        info,
        iq_converter(stored, centre, full_scale, out),
        counters=counters,
    )
