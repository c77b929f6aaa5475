"""Hostile plain files (WAV, .npy, raw, CSV/text): truncated, corrupted, crafted and foreign
files each give one clear error naming the file within seconds, never a crash, a hang, a
huge allocation or a silently shorter replay. (Recordings: tests/recording/test_hostile.py.)"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from livetrace import EndOfStream, LivetraceError
from livetrace.sources import FileSource, open_source

FAST = 20.0  # seconds


def read_all(path: Path, **kw: Any) -> int:
    """Replay ``path`` to its end as fast as possible; the number of frames delivered."""
    src = FileSource(path, speed=None, chunk_size=256, **kw)
    n = 0
    try:
        while True:
            x = src.acquire()
            if x is not None:
                n += len(x.data if hasattr(x, "data") else x)
    except EndOfStream:
        return n
    finally:
        src.close()


def assert_clear_error(path: Path, match: str, **kw: Any) -> LivetraceError:
    """One livetrace error naming the file, fast, from FileSource and from a file: URI."""
    t0 = time.monotonic()
    with pytest.raises(LivetraceError, match=match) as ei:
        read_all(path, **kw)
    assert time.monotonic() - t0 < FAST
    assert not isinstance(ei.value, EndOfStream)
    assert path.name in str(ei.value), str(ei.value)
    query = "&".join(f"{k}={v}" for k, v in kw.items())
    with pytest.raises(LivetraceError) as ei2:
        src = open_source(f"file:{path}?speed=0" + (f"&{query}" if query else ""))
        try:
            while True:
                src.acquire()
        finally:
            src.close()
    assert not isinstance(ei2.value, EndOfStream)
    assert path.name in str(ei2.value), str(ei2.value)
    return ei.value


# ------------------------------------------------------------------------------ builders
def wav_bytes(
    *,
    channels: int = 1,
    rate: int = 8000,
    bits: int = 16,
    tag: int = 1,
    frames: int = 100,
    align: int | None = None,
    data_size: int | None = None,
) -> bytes:
    align = channels * bits // 8 if align is None else align
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    data = bytes(frames * max(align, 1))
    size = len(data) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def npy_with_header(header: str, payload: bytes = bytes(800)) -> bytes:
    text = header + " " * (118 - len(header)) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + payload


def good_npy(path: Path) -> bytes:
    np.save(path, np.arange(1000, dtype=np.float64))
    return path.read_bytes()


# ------------------------------------------------------------------------------ WAV
WAV_CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    "truncated-header": (lambda: wav_bytes()[:20], "no 'data' chunk"),
    "truncated-data": (lambda: wav_bytes(frames=1000)[:200], "truncated"),
    "zero-channels": (lambda: wav_bytes(channels=0, align=0), "0 channel"),
    "zero-rate": (lambda: wav_bytes(rate=0), "sample rate of 0"),
    "12-bit": (lambda: wav_bytes(bits=12, align=2), "unsupported WAV encoding"),
    "adpcm": (lambda: wav_bytes(tag=2), "unsupported WAV encoding"),
    "bad-align": (lambda: wav_bytes(align=7), "block align 7"),
    "fmt-size-huge": (
        lambda: b"RIFF\x00\x00\x00\x00WAVEfmt \xff\xff\xff\xff" + bytes(30),
        "'data' chunk|'fmt ' chunk",
    ),
    "chunk-size-huge": (
        lambda: b"RIFF\x00\x00\x00\x00WAVEjunk\xf0\xff\xff\xff" + bytes(30),
        "'data' chunk",
    ),
    "empty": (lambda: b"", "not a WAV file"),
    "text": (lambda: b"1,2,3\n4,5,6\n", "not a WAV file"),
    "npy": (
        lambda: npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"),
        "not a WAV",
    ),
}


@pytest.mark.parametrize("case", sorted(WAV_CASES))
def test_hostile_wav_is_a_clear_error(tmp_path: Path, case: str) -> None:
    make, match = WAV_CASES[case]
    path = tmp_path / f"{case}.wav"
    path.write_bytes(make())
    assert_clear_error(path, match)


def test_a_streaming_wav_header_is_not_truncation(tmp_path: Path) -> None:
    """Writers that cannot seek back leave 0 or 0xFFFFFFFF as the data size: read to the end."""
    for size in (0, 0xFFFFFFFF):
        path = tmp_path / f"stream-{size}.wav"
        path.write_bytes(wav_bytes(frames=300, data_size=size))
        assert read_all(path) == 300


# ------------------------------------------------------------------------------ .npy
NPY_CASES: dict[str, tuple[Callable[[Path], bytes], str]] = {
    "truncated-data": (lambda p: good_npy(p)[:500], "truncated"),
    "truncated-header": (lambda p: good_npy(p)[:30], "not a .npy file"),
    "claims-10e12": (
        lambda p: npy_with_header(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"
        ),
        "truncated",
    ),
    "garbage-header": (
        lambda p: b"\x93NUMPY\x01\x00\x20\x00" + b"{'descr': 1+, }".ljust(32),
        "not a .npy file",
    ),
    "unclosed-header": (lambda p: npy_with_header("{'descr': '<f8', 'shape': (3,"), "not a .npy"),
    "object-dtype": (
        lambda p: npy_with_header("{'descr': '|O', 'fortran_order': False, 'shape': (3,), }"),
        "integer, float or complex",
    ),
    "3-d": (
        lambda p: npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2, 2), }"),
        "1-D array or",
    ),
    "empty": (lambda p: b"", "not a .npy file"),
    "wav": (lambda p: wav_bytes(), "not a .npy file"),
}


@pytest.mark.parametrize("case", sorted(NPY_CASES))
def test_hostile_npy_is_a_clear_error(tmp_path: Path, case: str) -> None:
    make, match = NPY_CASES[case]
    path = tmp_path / f"{case}.npy"
    path.write_bytes(make(tmp_path / "good.npy"))
    assert_clear_error(path, match, sample_rate=1000)


# ------------------------------------------------------------------------------ raw
def test_hostile_raw_is_a_clear_error(tmp_path: Path) -> None:
    odd = tmp_path / "odd.raw"
    odd.write_bytes(bytes(7))
    assert_clear_error(odd, "not a whole number of 4-byte frames", sample_rate=1000)
    short = tmp_path / "short.raw"
    short.write_bytes(bytes(16))
    assert_clear_error(short, "header", sample_rate=1000, header_bytes=64)


# ------------------------------------------------------------------------------ CSV / text
TEXT_CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    "binary": (lambda: np.random.default_rng(3).bytes(5000), "numeric data|no line of numbers"),
    "empty": (lambda: b"", "no line of numbers"),
    "one-long-line": (lambda: b"1" * 5_000_000, "no line of numbers"),
    "wav": (lambda: wav_bytes(), "numeric data|no line of numbers"),
    "index-goes-back": (lambda: b"index,a\n0,1\n5,2\n3,3\n", "index column"),
    "index-not-whole": (lambda: b"index,a\n0,1\n0.5,2\n", "index column"),
}


@pytest.mark.parametrize("case", sorted(TEXT_CASES))
def test_hostile_text_is_a_clear_error(tmp_path: Path, case: str) -> None:
    make, match = TEXT_CASES[case]
    path = tmp_path / f"{case}.csv"
    path.write_bytes(make())
    assert_clear_error(path, match, sample_rate=1000)


def test_a_truncated_text_file_counts_its_cut_line(tmp_path: Path) -> None:
    """Text has no declared length: every whole row is delivered and the cut line is counted
    as malformed in health(), not silently dropped."""
    path = tmp_path / "cut.csv"
    path.write_bytes(b"a,b\n1,2\n3,4\n5,")
    src = FileSource(path, sample_rate=10, speed=None)
    rows = [src.acquire()]
    with pytest.raises(EndOfStream):
        rows.append(src.acquire())
    assert np.concatenate([r for r in rows if r is not None]).tolist() == [[1, 2], [3, 4]]
    assert src.health()["malformed_lines"] == 1
    src.close()


# ------------------------------------------------------------------------------ flipped bytes
_SWEEP = r"""
import json, sys, time, numpy as np
from livetrace import EndOfStream, LivetraceError
from livetrace.sources import FileSource
path, n_head = sys.argv[1], int(sys.argv[2])
kw = json.loads(sys.argv[3])
orig = open(path + ".orig", "rb").read()
out = []
for off in range(min(n_head, len(orig))):
    for x in (0x01, 0x80, 0xFF):
        d = bytearray(orig); d[off] ^= x
        open(path, "wb").write(bytes(d))
        t0 = time.monotonic()
        try:
            src = FileSource(path, speed=None, chunk_size=64, **kw)
            try:
                while True:
                    src.acquire()
            finally:
                src.close()
        except EndOfStream:
            res = "read"
        except LivetraceError as exc:
            res = "named" if path in str(exc) else "unnamed: " + str(exc)
        except Exception as exc:
            res = f"foreign {type(exc).__name__}: {exc}"
        out.append([off, x, res, time.monotonic() - t0])
print(json.dumps(out))
"""


def _npy(path: Path) -> None:
    np.save(path, np.arange(300, dtype="<f4").reshape(150, 2))


def _wav(path: Path) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(np.arange(600, dtype="<i2").tobytes())


@pytest.mark.parametrize(
    ("name", "make", "n_head", "kw"),
    [("s.wav", _wav, 48, {}), ("s.npy", _npy, 128, {"sample_rate": 1000})],
)
def test_flipped_header_bytes_never_crash_or_raise_foreign_errors(
    tmp_path: Path, name: str, make: Callable[[Path], None], n_head: int, kw: dict[str, Any]
) -> None:
    """Every header byte flipped three ways (in a child process: a crash shows as its exit
    status): the file reads (the byte did not matter, or changed a value) or fails with a
    livetrace error naming it, fast."""
    path = tmp_path / name
    make(path)
    os.replace(path, str(path) + ".orig")
    res = subprocess.run(
        [sys.executable, "-c", _SWEEP, str(path), str(n_head), json.dumps(kw)],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    results = json.loads(res.stdout)
    assert len(results) == 3 * n_head
    bad = [r for r in results if r[2] not in ("read", "named")]
    assert not bad, bad[:5]
    slow = [r for r in results if r[3] > 5.0]
    assert not slow, slow[:5]
    assert any(r[2] == "named" for r in results)
