"""Hostile and damaged recordings: truncated, corrupted, crafted and foreign files each give
one clear error naming the file within seconds; other tools (HDF5 1.10's h5dump) read ours."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from _helpers import livetrace_cli as cli
from livetrace import ConfigurationError, LivetraceError, SourceError
from livetrace.recording import DamagedRange, DamagedRecordingError
from livetrace.sinks import RecordingReader, RecordingSource, export_recording
from livetrace.sources import open_source

HERE = Path(__file__).parent
FAST = 20.0  # seconds: "fails fast" (the bug was minutes)
N = 150_000  # samples, two channels: two HDF5 chunks of /samples


def make_recording(path: Path, n: int = N) -> np.ndarray:
    from livetrace import SourceInfo
    from livetrace.recording._writer import write_array

    data = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
    info = SourceInfo(
        sample_rate=1000.0,
        dtype="float32",
        n_channels=2,
        channel_names=("left", "right"),
        units=("V", "A"),
        description="hostile-test",
    )
    write_array(path, data, info, overwrite=True)
    return data


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("good") / "good.h5"
    make_recording(path)
    return path


def copy(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    return dst


def open_every_way(path: Path) -> Iterator[tuple[str, Callable[[], Any]]]:
    """Every library path that reads a recording, as (name, call)."""

    def reader() -> Any:
        with RecordingReader(path) as r:
            return r.read()

    def replay() -> Any:
        src = open_source(f"file:{path}?speed=0")
        try:
            while True:
                src.acquire()
        finally:
            src.close()

    def export() -> Any:
        out = path.with_suffix(".npy")
        try:
            return export_recording(path, out, overwrite=True)
        finally:
            out.unlink(missing_ok=True)

    yield from (("RecordingReader", reader), ("file: replay", replay), ("export", export))


def assert_fails_fast_naming(path: Path, errors: tuple[type[BaseException], ...]) -> None:
    for name, call in open_every_way(path):
        t0 = time.monotonic()
        with pytest.raises(errors) as ei:
            call()
        elapsed = time.monotonic() - t0
        assert elapsed < FAST, f"{name} took {elapsed:.1f} s on {path.name}"
        assert path.name in str(ei.value), f"{name}: {ei.value}"


# ------------------------------------------------------------------------------ other tools
needs_h5dump = pytest.mark.skipif(
    shutil.which("h5dump") is None or shutil.which("h5clear") is None,
    reason="HDF5 command-line tools not installed (Debian: apt-get install hdf5-tools)",
)


@needs_h5dump
def test_h5dump_reads_a_recording(good: Path) -> None:
    out = subprocess.run(["h5dump", "-H", str(good)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert 'DATASET "samples"' in out.stdout
    assert "H5S_UNLIMITED" in out.stdout
    prog = subprocess.run(
        ["h5dump", "-d", "progress", str(good)], capture_output=True, text=True, check=False
    )
    assert prog.returncode == 0, prog.stderr
    assert f"{N}," in prog.stdout


def _wait_committed(path: Path, n: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the recording child died"
        try:
            with RecordingReader(path) as r:
                if r.n_samples >= n:
                    return
        except (OSError, ConfigurationError):
            pass  # not created yet
        time.sleep(0.05)
    raise AssertionError(f"the child did not commit {n} samples within 60 s")


@needs_h5dump
def test_h5dump_reads_a_sigkilled_recording_after_h5clear(tmp_path: Path) -> None:
    path = tmp_path / "killed.h5"
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_record_child.py"), str(path), "0.1"],
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_committed(path, 5000, proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    with RecordingReader(path) as r:  # without any repair
        n = r.n_samples
        assert not r.complete
        before = r.read()
        assert r.verify() == []
    clear = subprocess.run(["h5clear", "-s", str(path)], capture_output=True, text=True)
    assert clear.returncode == 0, clear.stderr
    dump = subprocess.run(["h5dump", "-H", str(path)], capture_output=True, text=True)
    assert dump.returncode == 0, dump.stderr
    assert 'DATASET "samples"' in dump.stdout
    with RecordingReader(path) as r:  # and after it
        assert r.n_samples == n
        np.testing.assert_array_equal(r.read(), before)


# ------------------------------------------------------------------------------ truncated
@pytest.mark.parametrize("keep", [0.999, 0.6, 0.1, 600, 9])
def test_truncated_recording_fails_fast_naming_the_file(
    good: Path, tmp_path: Path, keep: float
) -> None:
    size = good.stat().st_size
    n_bytes = int(size * keep) if keep < 1 else int(keep)
    path = tmp_path / f"cut-{n_bytes}.h5"
    path.write_bytes(good.read_bytes()[:n_bytes])
    assert_fails_fast_naming(path, (OSError, SourceError))
    with pytest.raises(OSError, match="truncated|not an HDF5 file"):
        RecordingReader(path)


def test_truncated_recording_fails_fast_in_the_cli(good: Path, tmp_path: Path) -> None:
    path = tmp_path / "cut.h5"
    path.write_bytes(good.read_bytes()[:3000])
    for command in (["info", str(path)], ["export", str(path), "-o", str(tmp_path / "o.npy")]):
        t0 = time.monotonic()
        out = cli(*command)
        assert time.monotonic() - t0 < FAST + 10
        assert out.returncode == 1, out.stderr
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1, out.stderr
        assert "cut.h5" in lines[0]
        assert "truncated" in lines[0]


# ------------------------------------------------------------------------------ damaged data
def _flip(path: Path, offset: int) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        b = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([b[0] ^ 0xA5]))


def test_damaged_samples_are_reported_not_hidden(good: Path, tmp_path: Path) -> None:
    path = copy(good, tmp_path / "damaged.h5")
    with h5py.File(path, "r") as f:
        ds = f["samples"]
        rows = ds.chunks[0]
        second = ds.id.get_chunk_info(1)
    _flip(path, second.byte_offset + 100)
    with RecordingReader(path) as r:
        assert r.checksummed
        assert r.complete  # closed cleanly, but that does not make its samples sound:
        assert r.verify() == [DamagedRange(rows, N, rows, N)]
        np.testing.assert_array_equal(r.read(0, rows)[:3], [[0, 1], [2, 3], [4, 5]])
        with pytest.raises(DamagedRecordingError, match=rf"damaged\.h5.*{rows}:{N}") as ei:
            r.read(rows - 5, rows + 5)
        assert ei.value.damaged == DamagedRange(rows, N, rows, N)
        assert isinstance(ei.value, OSError)
        assert isinstance(ei.value, LivetraceError)
    src = RecordingSource(path, speed=None, chunk_size=50_000)
    with pytest.raises(DamagedRecordingError, match="damaged.h5"):
        for _ in range(10):
            src.acquire()
    src.close()


def test_damaged_segment_table_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "segs.h5"
    make_recording(path, 100)
    with h5py.File(path, "r") as f:
        seg = f["segments"].id.get_chunk_info(0)
    _flip(path, seg.byte_offset + 3)
    with pytest.raises(DamagedRecordingError, match="segs.h5.*segment table"):
        RecordingReader(path)


_SWEEP = r"""
import json, sys, time
import numpy as np
from livetrace.sinks import RecordingReader
path, n = sys.argv[1], int(sys.argv[2])
expected = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
out = {}
for off in json.loads(sys.argv[3]):
    data = bytearray(open(path + ".orig", "rb").read())
    data[off] ^= 0xA5
    open(path, "wb").write(bytes(data))
    t0 = time.monotonic()
    try:
        with RecordingReader(path) as r:
            x = r.read()
            same = (
                np.array_equal(x, expected)
                and r.info.channel_names == ("left", "right")
                and r.info.units == ("V", "A")
                and r.info.sample_rate == 1000.0
                and r.info.description == "hostile-test"
                and r.gaps == []
                and r.first_index == 0
            )
            out[off] = ["read", same, time.monotonic() - t0]
    except Exception as exc:
        out[off] = [type(exc).__name__, path in str(exc), time.monotonic() - t0, str(exc)]
print(json.dumps(out))
"""


def test_any_flipped_byte_is_an_error_naming_the_file_or_harmless(tmp_path: Path) -> None:
    """Flip one byte at a time, all over a small recording (in a child process: a crash of
    the HDF5 library would show as its exit status): the file either reads back exactly
    (the byte was unused) or fails with an error naming it, fast; never wrong data."""
    path = tmp_path / "flip.h5"
    make_recording(path, 3000)
    shutil.copyfile(path, str(path) + ".orig")
    size = path.stat().st_size
    header = list(range(0, min(size, 4096), 9))  # superblock, object headers, attributes
    tail = list(range(4096, size, max(1, (size - 4096) // 150)))
    offsets = sorted(set(header + tail))
    res = subprocess.run(
        [sys.executable, "-c", _SWEEP, str(path), "3000", json.dumps(offsets)],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    results = json.loads(res.stdout)
    wrong = {k: v for k, v in results.items() if v[0] == "read" and not v[1]}
    assert not wrong, f"silently wrong data for flipped bytes at {sorted(wrong)}"
    unnamed = {k: v for k, v in results.items() if v[0] != "read" and not v[1]}
    assert not unnamed, f"errors not naming the file: {unnamed}"
    slow = {k: v for k, v in results.items() if v[2] > 5.0}
    assert not slow, f"slow failures: {slow}"
    assert sum(v[0] != "read" for v in results.values()) > len(results) // 3


# ------------------------------------------------------------------------------ crafted files
def _edit(path: Path, edit: Callable[[h5py.File], None]) -> Path:
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def _claim(n_samples: int | None = None, n_segments: int | None = None) -> Any:
    def edit(f: h5py.File) -> None:
        prog = f["progress"][()]
        if n_samples is not None:
            prog["n_samples"] = n_samples
        if n_segments is not None:
            prog["n_segments"] = n_segments
        f["progress"][()] = prog

    return edit


def test_crafted_sample_count_is_refused_before_anything_is_allocated(
    good: Path, tmp_path: Path
) -> None:
    path = copy(good, tmp_path / "huge.h5")

    def grow(f: h5py.File) -> None:
        f["samples"].resize(10**12, axis=0)  # metadata only: the file stays ~2 MB
        _claim(10**12)(f)

    _edit(path, grow)
    assert path.stat().st_size < 4_000_000
    with pytest.raises(DamagedRecordingError, match=r"huge\.h5.*claims 10{12} row.*stores only"):
        RecordingReader(path)
    out = tmp_path / "huge.npy"
    with pytest.raises(DamagedRecordingError, match="huge.h5"):
        export_recording(path, out)
    assert not out.exists()
    res = cli("export", str(path), "-o", str(tmp_path / "huge2.npy"))
    assert res.returncode == 1
    assert "huge.h5" in res.stderr
    assert not (tmp_path / "huge2.npy").exists()


def _set_attr(name: str, value: Any) -> Callable[[h5py.File], None]:
    def edit(f: h5py.File) -> None:
        f.attrs[name] = value

    return edit


def _del_attr(name: str) -> Callable[[h5py.File], None]:
    def edit(f: h5py.File) -> None:
        del f.attrs[name]

    return edit


def _segments(rows: list[tuple[int, int, int, int]]) -> Callable[[h5py.File], None]:
    def edit(f: h5py.File) -> None:
        ds = f["segments"]
        ds.resize(len(rows), axis=0)
        ds[:] = np.array(rows, dtype=ds.dtype)
        _claim(n_segments=len(rows))(f)

    return edit


CRAFTED: dict[str, tuple[Callable[[h5py.File], None], str]] = {
    "more-than-stored": (_claim(N + 1), "claims 150001 samples; expected 0 to 150000"),
    "negative-count": (_claim(-5), "claims -5 samples"),
    "segments-beyond": (_claim(n_segments=10**9), "claims 1000000000 segments"),
    "no-n_channels": (_del_attr("n_channels"), "'n_channels' is missing"),
    "no-sample_rate": (_del_attr("sample_rate"), "'sample_rate' is missing"),
    "no-dtype": (_del_attr("dtype"), "'dtype' is missing"),
    "no-channel_names": (_del_attr("channel_names"), "'channel_names' is missing"),
    "no-units": (_del_attr("units"), "'units' is missing"),
    "no-start_time": (_del_attr("start_time"), "'start_time' is missing"),
    "no-description": (_del_attr("description"), "'description' is missing"),
    "no-version": (_del_attr("format_version"), "'format_version' is missing"),
    "nan-rate": (_set_attr("sample_rate", float("nan")), "sample_rate is nan"),
    "zero-rate": (_set_attr("sample_rate", 0.0), "sample_rate is 0.0"),
    "text-rate": (_set_attr("sample_rate", "fast"), "'sample_rate' is"),
    "channels-mismatch": (_set_attr("n_channels", 3), r"shape \(150000, 2\).*\(n, 3\)"),
    "channels-huge": (_set_attr("n_channels", 10**9), "n_channels is 1000000000"),
    "names-short": (_set_attr("channel_names", ["x"]), "2 string"),
    "dtype-lies": (_set_attr("dtype", "int64"), "dtype is int64"),
    "dtype-junk": (_set_attr("dtype", "no-such-type"), "numeric dtype name"),
    "inf-scale": (_set_attr("scale", float("inf")), "scale is inf"),
    "first-segment-late": (_segments([(7, 0, 0, 0)]), "first segment"),
    "positions-back": (
        _segments([(0, 0, 0, 0), (10, 5, 0, 1)]),
        "positions overlap",
    ),
    "negative-gap": (_segments([(0, 0, 0, 0), (10, 20, -10, 1)]), "negative"),
    "position-overflow": (
        _segments([(0, 2**63 - 10, 0, 0)]),
        "positions beyond",
    ),
    "stored-back": (_segments([(0, 0, 0, 0), (20, 30, 10, 1), (10, 100, 0, 1)]), "backwards"),
}


CLI_CASES = {"no-n_channels", "segments-beyond", "positions-back"}  # the CLI is a thin client


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_metadata_is_a_clear_error_naming_the_file(
    good: Path, tmp_path: Path, case: str
) -> None:
    edit, expected = CRAFTED[case]
    path = _edit(copy(good, tmp_path / f"{case}.h5"), edit)
    t0 = time.monotonic()
    with pytest.raises(DamagedRecordingError, match=expected) as ei:
        RecordingReader(path)
    assert time.monotonic() - t0 < FAST
    assert f"{case}.h5" in str(ei.value)
    assert "expected" in str(ei.value)
    assert_fails_fast_naming(path, (DamagedRecordingError, SourceError))
    if case in CLI_CASES:
        res = cli("info", str(path))
        assert res.returncode == 1, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1, res.stderr
        assert f"{case}.h5" in res.stderr


def test_a_newer_format_version_asks_for_an_upgrade(good: Path, tmp_path: Path) -> None:
    path = _edit(copy(good, tmp_path / "future.h5"), _set_attr("format_version", 99))
    with pytest.raises(ConfigurationError, match=r"future\.h5.*version 99.*upgrade"):
        RecordingReader(path)


def test_missing_datasets_name_the_file_and_what_is_expected(good: Path, tmp_path: Path) -> None:
    def drop(f: h5py.File) -> None:
        del f["segments"]

    path = _edit(copy(good, tmp_path / "nosegs.h5"), drop)
    with pytest.raises(DamagedRecordingError, match=r"nosegs\.h5.*/segments.*missing.*expected"):
        RecordingReader(path)


# ------------------------------------------------------------------------------ foreign files
def _foreign(tmp_path: Path) -> dict[str, Path]:
    d = tmp_path
    files = {
        "empty": d / "empty.h5",
        "text": d / "text.h5",
        "wav": d / "wav.h5",
        "npy": d / "npy.h5",
        "random": d / "random.h5",
        "other-hdf5": d / "other.h5",
        "signature-only": d / "sig.h5",
    }
    files["empty"].write_bytes(b"")
    files["text"].write_text("index,ch0\n0,1.5\n")
    files["wav"].write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(40))
    np.save(d / "a.npy", np.arange(5))
    (d / "a.npy").rename(files["npy"])
    files["random"].write_bytes(np.random.default_rng(1).bytes(5000))
    with h5py.File(files["other-hdf5"], "w") as f:
        f["x"] = np.arange(3)
    files["signature-only"].write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    return files


def test_foreign_files_are_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    for kind, path in _foreign(tmp_path).items():
        t0 = time.monotonic()
        with pytest.raises((OSError, ConfigurationError)) as ei:
            RecordingReader(path)
        assert time.monotonic() - t0 < FAST, kind
        assert path.name in str(ei.value), (kind, str(ei.value))
        assert_fails_fast_naming(path, (OSError, ConfigurationError, SourceError))


# ------------------------------------------------------------------------- errors name the file
def test_every_recording_error_names_the_file(tmp_path: Path) -> None:
    from livetrace import SourceInfo, TraceMetadata, WaveformTrace
    from livetrace.sinks import Recorder

    path = tmp_path / "named.h5"
    rec = Recorder(path)
    rec.open(SourceInfo(sample_rate=0.25, dtype="float64"))
    rec.write(WaveformTrace(np.zeros(10), TraceMetadata(sample_rate=0.25, start_index=100)))
    with pytest.raises(ValueError, match=r"named\.h5.*goes back"):
        rec.write(WaveformTrace(np.zeros(10), TraceMetadata(sample_rate=0.25, start_index=50)))
    rec.close()
    with pytest.raises(ConfigurationError, match=r"named2\.h5.*attrs may not use"):
        Recorder(tmp_path / "named2.h5", attrs={"sample_rate": 1})
    with RecordingReader(path) as r:
        with pytest.raises(IndexError, match=r"named\.h5.*out of range"):
            r.absolute_index(10)
        with pytest.raises(ConfigurationError, match=r"named\.h5.*block_size"):
            list(r.iter_blocks(0))
    with pytest.raises(ConfigurationError, match=r"named\.h5.*sample rate of 0.25 Hz.*WAV"):
        export_recording(path, tmp_path / "x.wav")
    with pytest.raises(FileNotFoundError, match=r"no such recording.*missing\.h5"):
        RecordingReader(tmp_path / "missing.h5")
    with pytest.raises(IsADirectoryError, match=r"directory.*" + tmp_path.name):
        RecordingReader(tmp_path)


def test_a_damaged_recording_stops_a_replay_at_once_and_the_cli_in_one_line(
    good: Path, tmp_path: Path
) -> None:
    from livetrace import RealtimeStream

    path = copy(good, tmp_path / "bad.h5")
    with h5py.File(path, "r") as f:
        second = f["samples"].id.get_chunk_info(1)
    _flip(path, second.byte_offset + 7)
    stream = RealtimeStream.from_source(RecordingSource(path, speed=None))
    with pytest.raises(DamagedRecordingError, match=r"bad\.h5.*131072:150000"), stream:
        for _ in stream:
            pass
    # not retried: reading again cannot repair it
    assert [e.attempt for e in stream.errors] == [1]
    res = cli("info", str(path))
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "bad.h5' is damaged: stored samples 131072:150000" in lines[0]
    assert "failed 4 time(s)" not in lines[0]
