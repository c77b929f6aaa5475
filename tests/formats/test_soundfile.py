"""Audio through libsndfile: FLAC and Wave64 written by sox, RF64 written by libsndfile
(also named ``.wav``), an RF64 file larger than 4 GiB (sparse), and exports to FLAC, 24-bit
and float64 WAV, RF64 and Wave64 read back by sox and libsndfile with the same PCM scaling."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sf = pytest.importorskip("soundfile")
pytest.importorskip("h5py")

from livetrace import RealtimeStream  # noqa: E402
from livetrace.formats._soundfile import open_soundfile  # noqa: E402
from livetrace.recording import export_recording  # noqa: E402
from livetrace.sinks import Recorder  # noqa: E402
from livetrace.sources import ArraySource, FileSource  # noqa: E402
from livetrace.testing import check_source  # noqa: E402

from ._helpers import drain  # noqa: E402

RATE = 8000
N = 4000


def sox(*args: str) -> bytes:
    if shutil.which("sox") is None:
        pytest.skip("sox is not installed (scripts/install-test-deps installs it)")
    proc = subprocess.run(["sox", *args], capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def sox_counts(path: Path, bits: int, channels: int) -> np.ndarray[Any, Any]:
    """The PCM counts sox decodes from ``path``."""
    raw = sox(str(path), "-t", "raw", "-e", "signed", "-b", str(bits), "-")
    if bits == 24:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        wide = np.zeros((len(b), 4), dtype=np.uint8)
        wide[:, 1:] = b
        counts = wide.view("<i4").reshape(-1) >> 8
    else:
        counts = np.frombuffer(raw, dtype=f"<i{bits // 8}")
    return counts.reshape(-1, channels) if channels > 1 else counts


def read_all(path: Path) -> tuple[np.ndarray[Any, Any], Any]:
    src = FileSource(path, speed=None)
    try:
        data = np.concatenate([d for _, _, d in drain(src)])
        return data, src.info
    finally:
        src.close()


@pytest.mark.parametrize(
    ("name", "bits", "args"),
    [
        ("s16.flac", 16, ["-b", "16"]),
        ("s24.flac", 24, ["-b", "24"]),
        ("s24.w64", 24, ["-b", "24", "-e", "signed", "-t", "w64"]),
    ],
)
def test_reads_files_written_by_sox(tmp_path: Path, name: str, bits: int, args: list[str]) -> None:
    path = tmp_path / name
    sox(
        "-n",
        "-r",
        str(RATE),
        "-c",
        "2",
        *args,
        str(path),
        "synth",
        "0.5",
        "sine",
        "440",
        "sine",
        "1000",
        "gain",
        "-1",
    )
    data, info = read_all(path)
    assert (info.sample_rate, info.n_channels) == (RATE, 2)
    assert info.scale == 2.0 ** -(bits - 1)
    np.testing.assert_array_equal(data, sox_counts(path, bits, 2))


def test_rf64_named_wav_and_conformance(tmp_path: Path) -> None:
    x = (np.arange(N, dtype=np.int64) * 37 % 65536 - 32768).astype(np.int16)
    for name in ("a.rf64", "a_rf64.wav"):
        sf.write(tmp_path / name, x, RATE, subtype="PCM_16", format="RF64")
        assert (tmp_path / name).read_bytes()[:4] == b"RF64"
        data, info = read_all(tmp_path / name)
        np.testing.assert_array_equal(data, x)
        assert info.dtype == "int16"
    check_source(lambda: FileSource(tmp_path / "a.rf64", speed=None, chunk_size=512))


def sparse_rf64(path: Path, magic: bytes = b"RF64") -> tuple[int, np.ndarray[Any, Any]]:
    """An RF64 (libsndfile's header) whose 16-bit mono data ends 2000 bytes past 4 GiB, with
    a known ramp in its last 1000 frames and holes elsewhere; ``(frames, tail)``."""
    sf.write(path, np.zeros(16, dtype=np.int16), RATE, subtype="PCM_16", format="RF64")
    raw = bytearray(path.read_bytes())
    raw[:4] = magic
    data_at = raw.index(b"data") + 8
    frames = (4 << 30) // 2 + 1000
    n_bytes = frames * 2
    ds64 = raw.index(b"ds64") + 8  # riff size, data size, sample count (uint64 each)
    struct.pack_into("<QQQ", raw, ds64, data_at + n_bytes - 8, n_bytes, frames)
    tail = np.arange(1000, dtype=np.int16)
    with open(path, "wb") as f:
        f.write(raw[:data_at])
        f.seek(data_at + n_bytes - tail.nbytes)
        f.write(tail.tobytes())
    return frames, tail


@pytest.mark.parametrize("magic", [b"RF64", b"BW64"])
def test_rf64_and_bw64_beyond_4_gib(tmp_path: Path, magic: bytes) -> None:
    """Sparse files whose data chunk ends past 4 GiB: the last frames are exact."""
    path = tmp_path / "big.wav"
    frames, tail = sparse_rf64(path, magic)
    src = FileSource(path, speed=None)  # livetrace's own WAV reader, frame by frame
    try:
        assert src.info is not None
        assert src.info.dtype == "int16"
        reader = src._reader
        assert reader.n_frames == frames  # type: ignore[attr-defined]
        reader.pos = frames - 1000  # type: ignore[attr-defined]
        np.testing.assert_array_equal(reader.read(5000), tail)
    finally:
        src.close()
    if magic == b"RF64":  # libsndfile reads RF64 (not BW64) and agrees
        reader = open_soundfile(path)
        try:
            assert reader.n_frames == frames
            reader.seek(frames - 1000)
            blk = reader.read(5000)
            assert blk.start_index == frames - 1000
            np.testing.assert_array_equal(blk.data, tail)
        finally:
            reader.close()


@pytest.mark.parametrize("size_field", [0xFFFFFFFF, 0, "wrapped"])
def test_riff_wav_beyond_4_gib(tmp_path: Path, size_field: Any) -> None:
    """A plain RIFF WAV past 4 GiB (streaming writers leave 0xFFFFFFFF or 0, others wrap)."""
    path = tmp_path / "big.wav"
    sox("-n", "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed", str(path), "trim", "0", "16s")
    raw = bytearray(path.read_bytes())
    data_at = raw.index(b"data") + 8
    n_bytes = (4 << 30) + 2000
    field = n_bytes % (1 << 32) if size_field == "wrapped" else size_field
    struct.pack_into("<I", raw, data_at - 4, field)
    tail = np.arange(1000, dtype=np.int16)
    with open(path, "wb") as f:
        f.write(raw[:data_at])
        f.seek(data_at + n_bytes - tail.nbytes)
        f.write(tail.tobytes())
    src = FileSource(path, speed=None)
    try:
        reader = src._reader
        assert reader.n_frames == n_bytes // 2  # type: ignore[attr-defined]
        reader.pos = n_bytes // 2 - 1000  # type: ignore[attr-defined]
        np.testing.assert_array_equal(reader.read(5000), tail)
    finally:
        src.close()


@pytest.fixture
def recording(tmp_path: Path) -> tuple[Path, np.ndarray[Any, Any]]:
    """A 2-channel float32 recording of values that are exact 16-bit counts / 32768."""
    rng = np.random.default_rng(3)
    counts = rng.integers(-32768, 32767, size=(N, 2), endpoint=True)
    x = (counts / 32768).astype(np.float32)
    path = tmp_path / "rec.h5"
    src = ArraySource(x, sample_rate=RATE, chunk_size=1000)
    with RealtimeStream.from_source(src, chunk_size=1000, sinks=[Recorder(path)]) as s:
        s.run()
    return path, x


@pytest.mark.parametrize(
    ("name", "wav_dtype", "bits"),
    [
        ("o.flac", "float32", 24),  # FLAC's default: 24-bit
        ("o16.flac", "int16", 16),
        ("o24.wav", "int24", 24),
        ("o.rf64", "int16", 16),
        ("o.w64", "int24", 24),
    ],
)
def test_pcm_exports_use_the_reading_convention(
    recording: tuple[Path, np.ndarray[Any, Any]], name: str, wav_dtype: str, bits: int
) -> None:
    path, x = recording
    out = path.with_name(name)
    assert export_recording(path, out, wav_dtype=wav_dtype) == N
    expected = np.rint(x.astype(np.float64) * 2 ** (bits - 1)).astype(np.int64)
    if not name.endswith(".rf64"):  # sox 14.4 has no RF64 reader
        np.testing.assert_array_equal(sox_counts(out, bits, 2), expected)
    data, info = read_all(out)
    np.testing.assert_array_equal(data, expected)  # livetrace reads the same counts back
    np.testing.assert_array_equal(data * info.scale, x)  # and the same values
    assert sf.info(str(out)).subtype == f"PCM_{bits}"


@pytest.mark.parametrize("name", ["f64.wav", "f64.rf64"])
def test_float64_exports(recording: tuple[Path, np.ndarray[Any, Any]], name: str) -> None:
    path, x = recording
    out = path.with_name(name)
    export_recording(path, out, wav_dtype="float64")
    info = sf.info(str(out))
    assert (info.subtype, info.format) == ("DOUBLE", "WAV" if name.endswith(".wav") else "RF64")
    data, _ = sf.read(str(out), dtype="float64")
    np.testing.assert_array_equal(data, x.astype(np.float64))


def test_a_sox_flac_exported_again_keeps_its_counts(tmp_path: Path) -> None:
    """Read a 16-bit FLAC (counts / 32768), record it, export to FLAC: identical counts, the
    extremes -32768 and 32767 included."""
    counts = np.concatenate([[-32768, 32767, 0, -1, 1], np.arange(-32768, 32768, 17)])
    sf.write(tmp_path / "in.wav", counts.astype(np.int16), RATE, subtype="PCM_16")
    src_path = tmp_path / "in.flac"
    sox(str(tmp_path / "in.wav"), str(src_path))  # sox encodes the FLAC
    original = sox_counts(src_path, 16, 1)
    np.testing.assert_array_equal(original, counts)  # full scale both ways
    rec = tmp_path / "r.h5"
    with RealtimeStream.from_source(
        FileSource(src_path, speed=None), chunk_size=500, sinks=[Recorder(rec)]
    ) as s:
        s.run()
    out = tmp_path / "again.flac"
    export_recording(rec, out, wav_dtype="int16")
    np.testing.assert_array_equal(sox_counts(out, 16, 1), original)


def test_not_audio_is_a_clear_error(tmp_path: Path) -> None:
    from livetrace import SourceError

    (tmp_path / "x.flac").write_bytes(b"not a flac file at all")
    with pytest.raises(SourceError, match=r"x\.flac.*libsndfile"):
        FileSource(tmp_path / "x.flac")
