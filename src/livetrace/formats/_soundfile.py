"""Audio files through libsndfile (the ``soundfile`` package, ``livetrace[audio]``): FLAC,
Sony Wave64, AIFF, Ogg (RF64/BW64 and large WAVs are memory-mapped by FileSource's own WAV
reader, which libsndfile is not needed for); and exports to FLAC, WAV (16/24-bit PCM,
float32/float64), RF64 and Wave64.

PCM scaling is livetrace's convention in both directions: ``bits``-bit PCM holds counts
``c`` meaning ``c / 2**(bits-1)``. Reading delivers the counts (``int16`` for 8/16-bit,
``int32`` for 24/32-bit; 8-bit centred on zero) with ``info.scale = 2**-(bits-1)``;
exporting writes ``clip(rint(x * 2**(bits-1)), -2**(bits-1), 2**(bits-1) - 1)``, so a value
read from a PCM file is exported to the same counts. (libsndfile's own float conversion
scales by ``2**(bits-1) - 1`` on writing; it is not used.) Float files are delivered and
written as they are.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError, SourceError, require
from .._protocols import Block, SourceInfo
from ._segments import open_path

__all__ = ["SOUNDFILE_EXPORTS", "SoundfileReader", "export_soundfile", "open_soundfile"]

#: PCM subtypes -> (bits, dtype read from libsndfile, right shift to the counts)
_PCM = {
    "PCM_S8": (8, "int16", 8),
    "PCM_U8": (8, "int16", 8),
    "PCM_16": (16, "int16", 0),
    "PCM_24": (24, "int32", 8),
    "PCM_32": (32, "int32", 0),
}
#: export format -> libsndfile container
SOUNDFILE_EXPORTS = {"flac": "FLAC", "rf64": "RF64", "w64": "W64", "wav": "WAV"}
#: sample encodings for exports -> libsndfile subtype
_SUBTYPES = {"int16": "PCM_16", "int24": "PCM_24", "float32": "FLOAT", "float64": "DOUBLE"}


def _soundfile() -> Any:
    return require("soundfile", "audio")


class SoundfileReader:
    """Sequential reads of an audio file through libsndfile (see the module docs)."""

    def __init__(self, path: Path) -> None:
        sf = _soundfile()
        try:
            self._file: Any = sf.SoundFile(str(path))
        except (RuntimeError, sf.LibsndfileError) as exc:
            raise SourceError(
                f"{path}: libsndfile cannot read it as audio ({exc}); expected FLAC, WAV, "
                "RF64, Wave64, AIFF or Ogg"
            ) from exc
        f = self._file
        self.path = path
        self.subtype = str(f.subtype)
        self.container = str(f.format)
        pcm = _PCM.get(self.subtype)
        scale: float | None = None
        if pcm is not None:
            bits, self._read_dtype, self._shift = pcm
            dtype = self._read_dtype
            scale = 2.0 ** -(bits - 1)
        else:
            self._read_dtype = "float64" if self.subtype == "DOUBLE" else "float32"
            self._shift = 0
            dtype = self._read_dtype
        self.n_frames = int(f.frames)
        self.channels = int(f.channels)
        self._info = SourceInfo(
            sample_rate=float(f.samplerate),
            dtype=dtype,
            n_channels=self.channels,
            finite=True,
            backpressure=True,
            description=f"file:{path}",
            scale=scale,
        )
        self._pos = 0

    @property
    def info(self) -> SourceInfo:
        return self._info

    @property
    def first_index(self) -> int:
        return 0

    def read(self, n: int) -> Block:
        data: NDArray[Any] = self._file.read(n, dtype=self._read_dtype, always_2d=False)
        if self._shift:
            data >>= self._shift
        start = self._pos
        self._pos += len(data)
        return Block(data, start, False)

    def seek(self, frame: int) -> None:
        """Continue reading at ``frame``."""
        self._pos = int(self._file.seek(frame))

    def rewind(self) -> None:
        self.seek(0)

    def close(self) -> None:
        self._file.close()

    def timestamps(self) -> list[tuple[int, float]]:
        return []

    def health(self) -> dict[str, Any]:
        return {"container": self.container, "subtype": self.subtype}


def open_soundfile(path: str | os.PathLike[str]) -> SoundfileReader:
    """A reader of the audio file ``path`` (needs ``livetrace[audio]``)."""
    return SoundfileReader(open_path(path, "audio file"))


def to_pcm(x: NDArray[Any], bits: int) -> NDArray[Any]:
    """Values in [-1, 1) -> ``bits``-bit counts, livetrace's convention (see the module docs);
    24-bit counts are returned in the top bits of int32, as libsndfile takes them."""
    full = 2.0 ** (bits - 1)
    counts = np.clip(np.rint(np.asarray(x, dtype=np.float64) * full), -full, full - 1)
    if bits == 16:
        return counts.astype(np.int16)
    return counts.astype(np.int32) << (32 - bits)


def export_soundfile(
    rec: Any,
    out: str | os.PathLike[str],
    fmt: str,
    *,
    encoding: str,
    block_size: int = 1 << 16,
) -> int:
    """Write the open recording ``rec`` (a :class:`~livetrace.sinks.RecordingReader`) to the
    audio file ``out``; returns the number of frames.

    ``fmt``: ``"flac"``, ``"wav"``, ``"rf64"`` (a WAV without the 4 GiB limit) or ``"w64"``;
    ``encoding``: ``"int16"``, ``"int24"`` (FLAC: these two only), ``"float32"`` or
    ``"float64"``. Integer recordings with ``info.scale`` are scaled to values first; gaps
    are not reproduced (the samples are written back to back).
    """
    sf = _soundfile()
    info = rec.info
    if np.dtype(info.dtype).kind == "c":
        raise ConfigurationError(
            f"'{rec.path}' holds complex samples, which audio files cannot store; export to "
            "SigMF (.sigmf-meta) or .npy"
        )
    if fmt not in SOUNDFILE_EXPORTS:
        raise ConfigurationError(f"audio export format must be one of {list(SOUNDFILE_EXPORTS)}")
    if encoding not in _SUBTYPES or (fmt == "flac" and encoding not in ("int16", "int24")):
        allowed = ("int16", "int24") if fmt == "flac" else tuple(_SUBTYPES)
        raise ConfigurationError(
            f"{fmt} export: sample encoding must be one of {allowed}, got {encoding!r}"
        )
    rate = round(info.sample_rate)
    if rate < 1 or (fmt == "flac" and rate > 655350):
        raise ConfigurationError(f"{fmt} needs an integer sample rate it supports, got {rate}")
    bits = {"int16": 16, "int24": 24}.get(encoding)
    scale = info.scale if np.dtype(info.dtype).kind in "iu" else None
    offset = info.offset or 0.0
    with sf.SoundFile(
        str(out),
        "w",
        samplerate=rate,
        channels=info.n_channels,
        subtype=_SUBTYPES[encoding],
        format=SOUNDFILE_EXPORTS[fmt],
    ) as f:
        for blk in rec.iter_blocks(block_size):
            x = blk.data
            if scale is not None:
                x = x * scale + offset
            if bits is not None:
                f.write(to_pcm(x, bits))
            else:
                f.write(np.asarray(x, dtype=encoding))
    return int(rec.n_samples)
