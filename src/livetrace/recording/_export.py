"""Export a recording to WAV, ``.npy`` or CSV, streamed block by block (bounded memory).

WAV and ``.npy`` hold the stored samples back to back (gaps are not reproduced: use the
recording itself, or CSV whose ``index`` column keeps the absolute position of every sample).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError
from ..formats._registry import AUDIO_ENCODINGS, EXPORTS, export_with
from ._reader import RecordingReader

__all__ = ["EXPORT_FORMATS", "export_recording"]

EXPORT_FORMATS: dict[str, str] = {
    ".wav": "wav",
    ".npy": "npy",
    ".csv": "csv",
    # SigMF, FLAC, RF64, Wave64 (livetrace.formats)
    **{suffix: name for name, suffixes in EXPORTS.items() for suffix in suffixes},
}
_BLOCK = 1 << 16
_WAVE_FORMAT_PCM = 1
_WAVE_FORMAT_IEEE_FLOAT = 3


def export_recording(
    src_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    format: str | None = None,
    wav_dtype: str = "float32",
    overwrite: bool = False,
    block_size: int = _BLOCK,
) -> int:
    """Write the samples of recording ``src_path`` to ``out_path``; returns the sample count.

    ``format`` is ``"wav"``, ``"npy"``, ``"csv"``, ``"sigmf"``, ``"flac"``, ``"rf64"`` or
    ``"w64"`` (default: from the file suffix).

    - WAV: interleaved channels at the recording's rate (rounded to an integer), 32-bit float
      (``wav_dtype="float32"``) or 16-bit PCM (``"int16"``: ``rint(x * 32768)`` clipped to
      -32768..32767, the inverse of reading a PCM WAV as ``count / 32768`` as libsndfile and
      :class:`~livetrace.sources.FileSource` do, so a PCM WAV recorded and exported again
      gives the same bytes; +1.0 becomes 32767). Values are the recording's calibrated
      values (stored counts times its ``scale``, plus ``offset``). Complex recordings cannot
      be written to WAV.
    - npy: the recording's dtype, shape ``(n,)`` for one channel or ``(n, n_channels)``,
      written through a memory map.
    - CSV: a header ``index,<channel names>`` then one row per sample: the absolute sample
      index (so gaps stay visible) and the values (``%.9g`` for float32, ``%.17g`` for float64:
      both read back exactly). Complex values are written as ``(re+imj)``.
      ``file:out.csv?sample_rate=...`` replays it with the same positions and gaps (a loss of
      unknown size, which has no jump in positions, is not visible in CSV).

    - SigMF (``.sigmf-meta``/``.sigmf-data``): the recording's dtype, a capture at the start
      and at every gap (``core:sample_start``, ``core:global_index``, ``core:datetime``).
    - FLAC, RF64 (a WAV without the 4 GiB limit), Wave64, and WAV with
      ``wav_dtype="int24"`` or ``"float64"``: written by libsndfile (``livetrace[audio]``);
      ``wav_dtype`` is the sample encoding (FLAC: ``"int16"`` or ``"int24"``, its default);
      PCM counts are ``rint(x * 2**(bits-1))`` clipped, the scaling the readers apply.

    Raises ``FileExistsError`` if ``out_path`` exists and ``overwrite`` is False.
    """
    out = Path(out_path)
    fmt = format or EXPORT_FORMATS.get(out.suffix.lower())
    if fmt not in ("wav", "npy", "csv", *EXPORTS):
        raise ConfigurationError(
            f"cannot tell the export format of '{out}': use a .wav, .npy or .csv file name "
            f"(or .sigmf-meta, .flac, .rf64, .w64) or format= one of wav, npy, csv, "
            f"{', '.join(EXPORTS)} (got format={format!r})"
        )
    if fmt == "flac" and wav_dtype == "float32":
        wav_dtype = "int24"  # the default encoding; FLAC holds integers only
    if wav_dtype not in AUDIO_ENCODINGS:
        raise ConfigurationError(
            f"wav_dtype must be one of {', '.join(AUDIO_ENCODINGS)}, got {wav_dtype!r}"
        )
    if block_size < 1:
        raise ConfigurationError(f"block_size must be >= 1, got {block_size!r}")
    if out.exists() and not overwrite:
        raise FileExistsError(
            17, f"export target already exists (use overwrite): '{out}'", str(out)
        )
    with RecordingReader(src_path) as rec:
        if fmt in EXPORTS or (fmt == "wav" and wav_dtype in ("int24", "float64")):
            return export_with(
                fmt, rec, out, encoding=wav_dtype, overwrite=overwrite, block_size=block_size
            )
        if fmt == "wav":
            return _to_wav(rec, out, wav_dtype, block_size)
        if fmt == "npy":
            return _to_npy(rec, out, block_size)
        return _to_csv(rec, out, block_size)


def _calibrated(rec: RecordingReader, data: NDArray[Any]) -> NDArray[Any]:
    """The recording's values: stored counts times its ``scale`` plus ``offset`` when set."""
    scale, offset = rec.info.scale, rec.info.offset
    if scale is None and offset is None:
        return data
    y = np.asarray(data, dtype=np.float64) * (1.0 if scale is None else scale)
    return y + offset if offset is not None else y


def _pcm16(x: NDArray[Any]) -> NDArray[np.int16]:
    """16-bit PCM counts: ``rint(x * 32768)`` clipped to -32768..32767 (NaN becomes 0)."""
    y = np.rint(np.asarray(x, dtype=np.float64) * 32768.0)
    np.nan_to_num(y, copy=False, nan=0.0)
    return np.clip(y, -32768, 32767).astype("<i2")


def _to_wav(rec: RecordingReader, out: Path, wav_dtype: str, block_size: int) -> int:
    if np.dtype(rec.info.dtype).kind == "c":
        raise ConfigurationError(
            f"'{rec.path}' holds complex samples, which WAV cannot store; export to .npy or .csv"
        )
    n, ch = rec.n_samples, rec.n_channels
    rate = round(rec.info.sample_rate)
    if not 1 <= rate <= 0xFFFFFFFF:
        raise ConfigurationError(f"WAV needs an integer sample rate, got {rec.info.sample_rate}")
    out_dt = np.dtype("<f4") if wav_dtype == "float32" else np.dtype("<i2")
    width = out_dt.itemsize
    data_bytes = n * ch * width
    tag = _WAVE_FORMAT_IEEE_FLOAT if wav_dtype == "float32" else _WAVE_FORMAT_PCM
    fmt_body = struct.pack("<HHIIHH", tag, ch, rate, rate * ch * width, ch * width, 8 * width)
    if tag == _WAVE_FORMAT_IEEE_FLOAT:
        fmt_body += struct.pack("<H", 0)  # cbSize: non-PCM fmt chunks are 18 bytes
        extra = b"fact" + struct.pack("<II", 4, n)
    else:
        extra = b""
    riff_size = 4 + (8 + len(fmt_body)) + len(extra) + 8 + data_bytes + (data_bytes & 1)
    if riff_size > 0xFFFFFFFF:
        raise ConfigurationError(
            f"'{rec.path}' is too long for a WAV file ({data_bytes} bytes of samples, the limit "
            "is 4 GiB); export to .rf64 (or format='rf64') or .npy instead"
        )
    with open(out, "wb") as fh:
        fh.write(b"RIFF" + struct.pack("<I", riff_size) + b"WAVE")
        fh.write(b"fmt " + struct.pack("<I", len(fmt_body)) + fmt_body)
        fh.write(extra)
        fh.write(b"data" + struct.pack("<I", data_bytes))
        for blk in rec.iter_blocks(block_size):
            x = _calibrated(rec, blk.data)
            y = _pcm16(x) if wav_dtype == "int16" else np.asarray(x, dtype=out_dt)
            fh.write(np.ascontiguousarray(y, dtype=out_dt).tobytes())
        if data_bytes & 1:
            fh.write(b"\0")
    return n


def _to_npy(rec: RecordingReader, out: Path, block_size: int) -> int:
    n, ch = rec.n_samples, rec.n_channels
    shape: tuple[int, ...] = (n,) if ch == 1 else (n, ch)
    mm: Any = np.lib.format.open_memmap(out, mode="w+", dtype=np.dtype(rec.info.dtype), shape=shape)
    try:
        for blk in rec.iter_blocks(block_size):
            k = blk.stored_index
            mm[k : k + len(blk.data)] = blk.data
        mm.flush()
    finally:
        del mm
    return n


def _to_csv(rec: RecordingReader, out: Path, block_size: int) -> int:
    dt = np.dtype(rec.info.dtype)
    component = dt.itemsize // 2 if dt.kind == "c" else dt.itemsize
    val_fmt = "%.9g" if component <= 4 else "%.17g"  # shortest that always reads back exactly
    # one field per name, whatever the reader's delimiter (commas, semicolons, white space)
    names = [
        "_".join(name.replace(",", " ").replace(";", " ").split()) or "_"
        for name in rec.info.channel_names
    ]
    with open(out, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("index," + ",".join(names) + "\n")
        for blk in rec.iter_blocks(block_size):
            x = blk.data.reshape(len(blk.data), -1)
            idx = np.arange(blk.start_index, blk.start_index + len(x), dtype=np.int64)
            if dt.kind == "c":  # rare: Python's complex repr, which reads back exactly
                rows = [
                    ",".join([str(int(i)), *(repr(complex(v)) for v in row)])
                    for i, row in zip(idx, x, strict=True)
                ]
                fh.write("\n".join(rows) + "\n")
            else:
                # float64 holds every index (< 2**53) and every float32 value exactly
                table: Any = np.column_stack([idx.astype(np.float64), x.astype(np.float64)])
                np.savetxt(fh, table, fmt=["%d"] + [val_fmt] * x.shape[1], delimiter=",")
    return rec.n_samples
