"""Which reader opens which file: suffixes, content sniffing, and the frames FileSource reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._errors import ConfigurationError
from ..sources._formats import FORMATS, FrameFile
from ._segments import FormatReader

__all__ = ["EXPORTS", "FORMATS", "export_with", "open_format_frames", "sniff_format"]

#: export format -> output suffixes that select it (added to the recording exports)
EXPORTS: dict[str, tuple[str, ...]] = {
    "sigmf": (".sigmf-meta", ".sigmf-data", ".sigmf"),
    "flac": (".flac",),
    "rf64": (".rf64",),
    "w64": (".w64",),
}
#: sample encodings of the audio exports (``wav`` with these goes through libsndfile too)
AUDIO_ENCODINGS = ("int16", "int24", "float32", "float64")


def export_with(
    fmt: str, rec: Any, out: Path, *, encoding: str, overwrite: bool, block_size: int
) -> int:
    """Export the open recording ``rec`` to ``out`` as ``fmt`` (a key of :data:`EXPORTS`, or
    ``"wav"`` for the encodings livetrace's own WAV writer lacks); returns the sample count."""
    if fmt == "sigmf":
        from ._sigmf import export_sigmf

        return export_sigmf(rec, out, overwrite=overwrite, block_size=block_size)
    from ._soundfile import export_soundfile

    return export_soundfile(rec, out, fmt, encoding=encoding, block_size=block_size)


def sniff_format(path: Path, by_suffix: str | None) -> str | None:
    """A format that the content of ``path`` reveals where its suffix would mislead: a GNU
    Radio ``file_meta_sink`` file named ``.dat``/``.bin``/``.raw`` (or without suffix), a
    Sony Wave64 file named ``.wav``. None: keep the suffix's choice."""
    if by_suffix in (None, "raw"):
        from ._gnuradio_meta import is_gnuradio_meta

        if is_gnuradio_meta(path):
            return "gnuradio_meta"
    if by_suffix == "wav":
        try:
            with open(path, "rb") as f:
                magic = f.read(4)
        except OSError:
            return None
        if magic == b"riff":  # starts a Sony Wave64 GUID (RF64/BW64 are read as WAV)
            return "soundfile"
    return None


def open_reader(
    path: Path, fmt: str, sample_rate: float | None, options: dict[str, Any]
) -> FormatReader:
    if fmt == "gnuradio_meta":
        from ._gnuradio_meta import open_gnuradio_meta

        return open_gnuradio_meta(path)
    if fmt == "iq":
        from ._iq import open_iq

        return open_iq(path, sample_rate=sample_rate, **options)
    if fmt == "sigmf":
        from ._sigmf import open_sigmf

        return open_sigmf(path, sample_rate=sample_rate)
    if fmt == "soundfile":
        from ._soundfile import open_soundfile

        return open_soundfile(path)
    raise ConfigurationError(f"unknown file format {fmt!r}; expected one of {', '.join(FORMATS)}")


def open_format_frames(
    path: Path, fmt: str, *, sample_rate: float | None = None, **options: Any
) -> FrameFile:
    """Open ``path`` read as ``fmt`` (one of :data:`FORMATS`) for :class:`FileSource`."""
    reader = open_reader(path, fmt, sample_rate, options)
    # device times recorded in the file (rx_time, core:datetime) feed the stream's clock map
    clock = "device" if reader.timestamps() else "nominal"
    return FrameFile.described(reader, reader.info, clock=clock)
