"""FileSource against real files written by numpy and scipy (and a hand-built 24-bit WAV)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import numpy as np
import pytest
from _source_helpers import drain
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.io import wavfile

from livetrace import (
    ConfigurationError,
    EndOfStream,
    RealtimeStream,
    SourceError,
    SourceUnavailableError,
)
from livetrace.sources import Block, FileSource, open_source
from livetrace.sources import _formats as file_mod
from livetrace.testing import check_source


def replay(src) -> np.ndarray:
    return np.concatenate(drain(src))


def stream_all(src, **kw):
    """Everything a stream built from ``src`` delivers, checking contiguous positions."""
    with RealtimeStream.from_source(src, overflow="block", **kw) as stream:
        chunks = list(stream)
    expected = 0
    for c in chunks:
        assert c.metadata.start_index == expected
        assert c.metadata.gap == 0
        expected += len(c.data)
    assert stream.state == "finished"
    return np.concatenate([c.data for c in chunks])


def wav_bytes(
    samples: np.ndarray, rate: int, bits: int, *, extensible=False, extra_chunk=False
) -> bytes:
    """A PCM WAV file built by hand; ``samples`` are integer counts, (n, channels)."""
    n, ch = samples.shape
    if bits == 24:
        u = samples.astype("<i4").view(np.uint8).reshape(n, ch, 4)[:, :, :3]
        data = u.tobytes()
    else:
        data = samples.astype({16: "<i2", 32: "<i4"}[bits]).tobytes()
    align = ch * bits // 8
    if extensible:
        fmt = struct.pack("<HHIIHH", 0xFFFE, ch, rate, rate * align, align, bits)
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", 1) + guid_tail
    else:
        fmt = struct.pack("<HHIIHH", 1, ch, rate, rate * align, align, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if extra_chunk:
        body += b"LIST" + struct.pack("<I", 3) + b"abc" + b"\x00"  # odd size: padded
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


# ---------------------------------------------------------------------------------- .npy
@pytest.mark.parametrize("shape", [(10_000,), (7_001, 3)])
def test_npy_exact_through_a_stream(tmp_path, shape):
    rng = np.random.default_rng(1)
    data = rng.standard_normal(shape).astype(np.float32)
    path = tmp_path / "x.npy"
    np.save(path, data)
    src = FileSource(path, sample_rate=1e4, speed=None, chunk_size=999)
    assert src.info.dtype == "float32"
    assert src.info.n_channels == ((*shape, 1))[1]
    assert src.info.finite
    assert src.info.description == f"file:{path}"
    np.testing.assert_array_equal(stream_all(src, chunk_size=512), data)


def test_npy_is_read_frame_by_frame_not_whole(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(100, dtype=np.int32))
    src = FileSource(path, sample_rate=1, speed=None, chunk_size=10)
    assert src._reader.n_frames == 100
    assert src._reader.pos == 0
    chunk = src.acquire()
    assert chunk.tolist() == list(range(10))
    assert chunk.dtype == np.int32
    src.close()


def test_npy_errors(tmp_path):
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(SourceError, match=r"obj\.npy.*integer, float or complex"):
        FileSource(obj, sample_rate=1)
    good = tmp_path / "g.npy"
    np.save(good, np.zeros(3))
    with pytest.raises(ConfigurationError, match=r"g\.npy.*sample_rate"):
        FileSource(good)
    cube = tmp_path / "c.npy"
    np.save(cube, np.zeros((2, 2, 2)))
    with pytest.raises(SourceError, match=r"c\.npy.*shape \(2, 2, 2\)"):
        FileSource(cube, sample_rate=1)
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"not numpy at all")
    with pytest.raises(SourceError, match=r"junk\.npy"):
        FileSource(junk, sample_rate=1)


# ---------------------------------------------------------------------------------- WAV
@pytest.mark.parametrize(
    ("dtype", "scale", "offset"),
    [("int16", 2**-15, None), ("int32", 2**-31, None), ("uint8", 2**-7, -1.0)],
)
def test_wav_integer_counts_and_scale(tmp_path, dtype, scale, offset):
    rng = np.random.default_rng(2)
    info = np.iinfo(dtype)
    counts = rng.integers(info.min, info.max, size=(4000, 2), endpoint=True).astype(dtype)
    path = tmp_path / "x.wav"
    wavfile.write(path, 44100, counts)
    src = FileSource(path, speed=None, chunk_size=1000)
    assert (src.info.sample_rate, src.info.n_channels, src.info.dtype) == (44100, 2, dtype)
    assert (src.info.scale, src.info.offset) == (scale, offset)
    np.testing.assert_array_equal(replay(src), counts)
    # through a stream the counts become floats: counts * scale (+ offset)
    src2 = FileSource(path, speed=None)
    expected = counts.astype(np.float64) * scale + (offset or 0.0)
    got = stream_all(src2, chunk_size=300)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-7)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_wav_float_mono(tmp_path, dtype):
    data = np.sin(np.arange(3000) * 0.01).astype(dtype)
    path = tmp_path / "f.wav"
    wavfile.write(path, 8000, data)
    src = FileSource(path, speed=None, chunk_size=512)
    assert src.info.dtype == dtype
    assert src.info.scale is None
    chunks = drain(src)
    assert all(c.ndim == 1 for c in chunks)
    np.testing.assert_array_equal(np.concatenate(chunks), data)


@pytest.mark.parametrize("extensible", [False, True])
@pytest.mark.parametrize("channels", [1, 3])
def test_wav_24bit_hand_built(tmp_path, extensible, channels):
    rng = np.random.default_rng(3)
    counts = rng.integers(-(2**23), 2**23, size=(2001, channels), dtype=np.int64)
    counts[:4, 0] = [-(2**23), 2**23 - 1, -1, 0]  # the extremes and the sign boundary
    path = tmp_path / "x24.wav"
    path.write_bytes(wav_bytes(counts, 96000, 24, extensible=extensible, extra_chunk=True))
    src = FileSource(path, speed=None, chunk_size=333)
    assert (src.info.dtype, src.info.n_channels, src.info.sample_rate) == ("int32", channels, 96000)
    assert src.info.scale == 2**-23
    got = replay(src)
    expected = counts[:, 0] if channels == 1 else counts
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, expected)


def test_wav_streaming_header_and_trailing_partial_frame(tmp_path):
    counts = np.arange(-50, 50, dtype=np.int64).reshape(-1, 2)
    raw = bytearray(wav_bytes(counts, 1000, 16))
    raw[-len(counts) * 4 - 4 : -len(counts) * 4] = struct.pack("<I", 0xFFFFFFFF)  # unknown size
    raw += b"\x01"  # a cut last frame
    path = tmp_path / "s.wav"
    path.write_bytes(bytes(raw))
    src = FileSource(path, speed=None)
    np.testing.assert_array_equal(replay(src), counts)
    assert src.health()["trailing_bytes"] == 1


def test_wav_errors(tmp_path):
    fake = tmp_path / "fake.wav"
    fake.write_bytes(b"ID3\x03" + bytes(100))
    with pytest.raises(SourceError, match=r"fake\.wav: not a WAV file.*RIFF"):
        FileSource(fake)
    adpcm = tmp_path / "adpcm.wav"
    data = wav_bytes(np.zeros((4, 1), np.int64), 8000, 16)
    adpcm.write_bytes(data[:20] + struct.pack("<H", 2) + data[22:])
    with pytest.raises(SourceError, match=r"adpcm\.wav: unsupported WAV encoding \(format tag 2"):
        FileSource(adpcm)
    nodata = tmp_path / "nodata.wav"
    nodata.write_bytes(wav_bytes(np.zeros((4, 1), np.int64), 8000, 16)[:36])
    with pytest.raises(SourceError, match="no 'data' chunk"):
        FileSource(nodata)
    with pytest.raises(ConfigurationError, match="raw files only"):
        FileSource(tmp_path / "nodata.wav", dtype="int16")


# ---------------------------------------------------------------------------------- raw
def test_raw_little_and_big_endian(tmp_path):
    a = np.arange(-3000, 3000, dtype=np.int16).reshape(-1, 2)
    be = tmp_path / "be.bin"
    a.astype(">i2").tofile(be)
    src = FileSource(be, dtype="int16", channels=2, byteorder="big", sample_rate=1e3, speed=None)
    got = replay(src)
    assert got.dtype == np.dtype("=i2")
    np.testing.assert_array_equal(got, a)
    f = np.linspace(-1, 1, 5001, dtype=np.float32)
    le = tmp_path / "le.raw"
    le.write_bytes(b"HDR!" + f.tobytes())
    src = FileSource(le, sample_rate=5, speed=None, header_bytes=4, chunk_size=1000)
    np.testing.assert_array_equal(stream_all(src, chunk_size=256), f)


def test_raw_size_must_be_whole_frames(tmp_path):
    p = tmp_path / "odd.dat"
    p.write_bytes(bytes(10))
    with pytest.raises(ConfigurationError, match=r"odd\.dat.*10 bytes.*8-byte frames.*2 channel"):
        FileSource(p, dtype="float32", channels=2, sample_rate=1)
    with pytest.raises(ConfigurationError, match="byteorder"):
        FileSource(p, dtype="int16", byteorder="middle", sample_rate=1)


# ---------------------------------------------------------------------------------- text
def test_csv_with_header_names_exact(tmp_path):
    rng = np.random.default_rng(4)
    data = rng.standard_normal((3000, 3))
    path = tmp_path / "x.csv"
    np.savetxt(path, data, delimiter=",", fmt="%.17g", header="a,b,c", comments="")
    src = FileSource(path, sample_rate=100, speed=None, chunk_size=700)
    assert src.info.channel_names == ("a", "b", "c")
    assert src.info.dtype == "float64"
    np.testing.assert_array_equal(stream_all(src, chunk_size=256), data)


def test_text_streamed_in_blocks_across_boundaries(tmp_path, monkeypatch):
    monkeypatch.setattr(file_mod, "_TEXT_BLOCK", 997)  # many block boundaries mid-line
    data = np.arange(20000, dtype=np.float64).reshape(-1, 2) / 7
    path = tmp_path / "x.txt"
    np.savetxt(path, data, fmt="%.17g")  # whitespace separated
    src = FileSource(path, sample_rate=1, speed=None, chunk_size=123)
    np.testing.assert_array_equal(replay(src), data)


def test_text_time_column_columns_and_malformed_lines(tmp_path):
    t = np.arange(500) / 250.0
    v = np.stack([np.arange(500.0), -np.arange(500.0)], axis=1)
    lines = ["# exported", "time\tch1\tch2"]
    lines += [f"{a!r}\t{b!r}\t{c!r}" for a, b, c in zip(t.tolist(), *v.T.tolist(), strict=False)]
    lines.insert(100, "ERROR 42")
    lines.insert(200, "1\t2")
    path = tmp_path / "x.tsv"
    path.write_text("\n".join(lines) + "\n")
    src = FileSource(path, skip_header=1, time_column=True, speed=None, chunk_size=64)
    assert src.info.sample_rate == pytest.approx(250.0)
    assert src.info.channel_names == ("ch1", "ch2")
    np.testing.assert_array_equal(replay(src), v)
    assert src.health()["malformed_lines"] == 2
    assert src.health()["last_malformed"] == b"1\t2"
    only = FileSource(path, skip_header=1, columns=[2], sample_rate=10, speed=None)
    assert only.info.channel_names == ("ch2",)
    got = replay(only)
    assert got.ndim == 1
    np.testing.assert_array_equal(got, v[:, 1])


def test_text_errors(tmp_path):
    p = tmp_path / "words.csv"
    p.write_text("a,b\nc,d\n")
    with pytest.raises(SourceError, match=r"words\.csv.*numeric data after the header"):
        FileSource(p, sample_rate=1)
    p2 = tmp_path / "nums.csv"
    p2.write_text("1,2\n")
    with pytest.raises(ConfigurationError, match=r"columns=\[5\].*2 column"):
        FileSource(p2, sample_rate=1, columns=[5])
    with pytest.raises(ConfigurationError, match="sample_rate"):
        FileSource(p2)


# ------------------------------------------------------------------------- pacing, loop, end
def test_end_of_stream_keeps_raising(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(5.0))
    src = FileSource(path, sample_rate=1, speed=None)
    assert src.acquire().tolist() == [0, 1, 2, 3, 4]
    for _ in range(3):
        with pytest.raises(EndOfStream, match=r"x\.npy"):
            src.acquire()
    src.reset()
    assert src.acquire().tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_loop_restarts_and_marks_the_splice(tmp_path, suffix):
    data = np.arange(10.0)
    path = tmp_path / f"x{suffix}"
    if suffix == ".npy":
        np.save(path, data)
    else:
        np.savetxt(path, data)
    src = FileSource(path, sample_rate=1, speed=None, loop=True, chunk_size=4)
    assert src.info.finite is False
    got = [src.acquire() for _ in range(8)]
    flags = [isinstance(g, Block) and g.discontinuity for g in got]
    assert flags == [False, False, False, True, False, False, True, False]
    flat = np.concatenate([g.data if isinstance(g, Block) else g for g in got])
    np.testing.assert_array_equal(flat, [*range(10), *range(10), *range(8)])
    assert src.health()["loops"] == 2


def test_speed_paces_from_a_monotonic_clock_and_stop_wakes(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros(100_000, np.float32))
    src = FileSource(path, sample_rate=1000, chunk_size=100)  # speed=1.0 default
    t0 = time.monotonic()
    for _ in range(3):
        src.acquire()
    assert time.monotonic() - t0 >= 0.29  # 300 samples at 1 kHz
    fast = FileSource(path, sample_rate=1000, chunk_size=100, speed=4.0)
    t0 = time.monotonic()
    for _ in range(4):
        fast.acquire()
    assert time.monotonic() - t0 >= 0.095  # 400 samples at 4 x 1 kHz
    slow = FileSource(path, sample_rate=10, chunk_size=1000)
    out = {}
    th = threading.Thread(target=lambda: out.setdefault("v", slow.acquire()))
    th.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    slow.stop()
    th.join(0.5)
    assert not th.is_alive()
    assert out["v"] is None
    assert time.monotonic() - t0 < 0.5


# ---------------------------------------------------------------------------------- errors, URI
def test_missing_file_and_unknown_format(tmp_path):
    missing = tmp_path / "nope.wav"
    with pytest.raises(SourceUnavailableError, match=r"no such file.*nope\.wav"):
        FileSource(missing)
    with pytest.raises(SourceUnavailableError, match="not a regular file"):
        FileSource(tmp_path)
    odd = tmp_path / "x.xyz"
    odd.write_bytes(b"")
    with pytest.raises(ConfigurationError, match=r"x\.xyz.*format=.*wav, npy, raw, text, hdf5"):
        FileSource(odd)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ConfigurationError, match="speed"):
            FileSource(odd, format="raw", speed=bad)
    assert FileSource(odd, format="raw", speed=0, sample_rate=1).speed is None  # 0: flat out


def test_uri(tmp_path):
    path = tmp_path / "a b.npy"
    np.save(path, np.arange(6, dtype=np.float32).reshape(3, 2))
    quoted = urllib.parse.quote(str(path))
    src = open_source(f"file:{quoted}?speed=0&sample_rate=50&chunk_size=2&loop=0")
    assert isinstance(src, FileSource)
    assert src.speed is None
    assert src.chunk_size == 2
    assert src.info.sample_rate == 50
    np.testing.assert_array_equal(replay(src), np.arange(6).reshape(3, 2))
    raw = tmp_path / "r.bin"
    np.arange(8, dtype=">i2").tofile(raw)
    src = open_source(f"file:{raw}?speed=max&dtype=int16&channels=2&byteorder=big&sample_rate=1")
    np.testing.assert_array_equal(replay(src), np.arange(8).reshape(4, 2))
    csv = tmp_path / "c.csv"
    csv.write_text("t,x,y\n0,1,2\n0.5,3,4\n1.0,5,6\n")
    src = open_source(f"file:{csv}?time_column=1&columns=2&speed=2")
    assert src.info.sample_rate == 2.0
    assert src.speed == 2.0
    with pytest.raises(ConfigurationError, match="unknown parameter.*bogus.*accepted"):
        open_source(f"file:{csv}?bogus=1&sample_rate=1")


def test_unsplit_path_is_taken_literally(tmp_path):
    path = Path(tmp_path) / "w.wav"
    wavfile.write(path, 1000, np.zeros(10, np.int16))
    assert isinstance(open_source(f"file:{path}"), FileSource)


def test_recording_delegation(tmp_path):
    pytest.importorskip("h5py")
    pytest.importorskip("h5py")
    from livetrace import SimulatedSource
    from livetrace.recording import Recorder

    path = tmp_path / "rec.h5"
    sim = SimulatedSource("sine", sample_rate=1000, chunk_size=100, n_samples=1234, realtime=False)
    with RealtimeStream.from_source(sim, chunk_size=100, sinks=[Recorder(path)]) as s:
        s.run()
    expected = SimulatedSource("sine", sample_rate=1000, n_samples=1234, realtime=False).generate(
        0, 1234
    )
    src = FileSource(path, speed=None)
    assert src.info.sample_rate == 1000
    assert src.info.finite
    np.testing.assert_allclose(replay(src), expected)


# ---------------------------------------------------------------------------------- properties
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(n=st.integers(1, 2000), chunk=st.integers(1, 600), channels=st.integers(1, 3))
def test_any_chunk_size_replays_the_file_exactly(tmp_path, n, chunk, channels):
    data = np.arange(n * channels, dtype=np.int16).reshape(n, channels)
    path = tmp_path / f"h{n}_{chunk}_{channels}.wav"
    wavfile.write(path, 100, data)
    src = FileSource(path, speed=None, chunk_size=chunk)
    chunks = drain(src)
    assert all(len(c) <= chunk for c in chunks)
    np.testing.assert_array_equal(np.concatenate(chunks), data if channels > 1 else data[:, 0])


def test_conformance(tmp_path):
    path = tmp_path / "c.wav"
    wavfile.write(path, 8000, (np.arange(8000) % 100).astype(np.int16))
    assert check_source(lambda: FileSource(path, speed=None, chunk_size=500)).ok
    csv = tmp_path / "c.csv"
    np.savetxt(csv, np.arange(3000.0).reshape(-1, 2), delimiter=",")
    assert check_source(lambda: FileSource(csv, sample_rate=100, speed=None, chunk_size=64)).ok
    paced = check_source(lambda: FileSource(path, speed=8.0))
    assert paced["stop_wakes_acquire"].status == "passed"


_TRUNCATE_CHILD = """
import os, sys
import numpy as np
from livetrace import RealtimeStream, SourceError
from livetrace.sources import FileSource

path, kind = sys.argv[1], sys.argv[2]
src = FileSource(path, sample_rate=1000, speed=None, chunk_size=4096,
                 **({"format": "raw", "dtype": "float32"} if kind == "raw" else {}))
stream = RealtimeStream.from_source(src, chunk_size=4096, buffer_size=8192)
got = 0
try:
    with stream:
        for chunk in stream:
            got += len(chunk)
            if got == 4096:
                os.truncate(path, 1024)  # another program shrinks the file under the replay
except SourceError as exc:
    print("SourceError", exc)
    sys.exit(1)
print("finished", got)
"""


@pytest.mark.parametrize("kind", ["npy", "wav", "raw"])
def test_a_file_truncated_while_replayed_is_a_clear_error_not_a_crash(
    tmp_path: Path, kind: str
) -> None:
    """The replay runs in a child process: a memory-mapped read would die of SIGBUS."""
    x = np.arange(1 << 20, dtype=np.float32)
    path = tmp_path / f"x.{kind}"
    if kind == "npy":
        np.save(path, x)
    elif kind == "wav":
        wavfile.write(path, 1000, x)
    else:
        x.tofile(path)
    proc = subprocess.run(
        [sys.executable, "-c", _TRUNCATE_CHILD, str(path), kind],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "SourceError" in proc.stdout
    assert "shrank while it was replayed" in proc.stdout
    assert path.name in proc.stdout


@pytest.mark.parametrize("change", ["truncate", "replace"])
def test_a_text_file_changed_under_the_replay_is_an_error_never_a_splice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    monkeypatch.setattr(file_mod, "_TEXT_BLOCK", 64)  # many block reads
    path = tmp_path / "x.csv"
    path.write_text("".join(f"{i}\n" for i in range(1000)))
    src = FileSource(path, sample_rate=10, speed=None, chunk_size=10)
    first = src.acquire()
    assert first is not None
    if change == "truncate":
        with open(path, "r+b") as f:
            f.truncate(20)
    else:
        other = tmp_path / "y.csv"
        other.write_text("".join(f"{-i}\n" for i in range(1000)))
        os.replace(other, path)
    with pytest.raises(SourceError, match="shrank|replaced"):
        while src.acquire() is not None:
            pass
    src.close()
