"""Recorder: exact round trips, gaps kept, crash safety (SIGKILL), clear errors."""

from __future__ import annotations

import errno
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import livetrace
from _helpers import livetrace_cli
from livetrace import (
    ConfigurationError,
    RealtimeConfig,
    RealtimeStream,
    SimulatedSource,
    SinkError,
    SourceInfo,
    StreamStateError,
    TraceMetadata,
    WaveformTrace,
)
from livetrace.sinks import Recorder, RecordingReader
from livetrace.testing import JumpSource

HERE = Path(__file__).parent


def sim(n: int, *, channels: int = 1, dtype: str = "float64", **kw: Any) -> SimulatedSource:
    return SimulatedSource(
        "sine",
        frequency=50.0,
        sample_rate=1000.0,
        chunk_size=64,
        n_samples=n,
        realtime=False,
        n_channels=channels,
        dtype=dtype,
        **kw,
    )


def chunk(data: Any, start: int, *, disc: bool = False, rate: float = 1000.0) -> WaveformTrace:
    return WaveformTrace(
        np.asarray(data), TraceMetadata(sample_rate=rate, start_index=start, discontinuity=disc)
    )


def info(n_channels: int = 1, dtype: str = "float64", **kw: Any) -> SourceInfo:
    return SourceInfo(sample_rate=1000.0, dtype=dtype, n_channels=n_channels, **kw)


# ------------------------------------------------------------------------------ round trips
def test_stream_round_trip_is_exact_with_metadata(tmp_path: Path) -> None:
    path = tmp_path / "rec.h5"
    src = sim(1000, channels=2, dtype="float32")
    rec = Recorder(path, attrs={"operator": "ada", "gain": 2.5})
    stream = RealtimeStream.from_source(
        src,
        chunk_size=64,
        overflow="block",
        sinks=[rec],
        channel_names=("a", "b"),
        units=("V", "mA"),
    )
    with stream:
        delivered = stream.run()
    assert delivered == 1000
    expected = sim(1000, channels=2, dtype="float32").generate(0, 1000)
    with RecordingReader(path) as r:
        assert r.n_samples == 1000
        got = r.read()
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, expected)
        i = r.info
        assert (i.sample_rate, i.dtype, i.n_channels) == (1000.0, "float32", 2)
        assert i.channel_names == ("a", "b")
        assert i.units == ("V", "mA")
        assert i.description == src.info.description
        assert i.start_time == stream.info.start_time
        assert i.finite
        assert r.complete
        assert r.gaps == []
        assert r.metadata["livetrace_version"] == livetrace.__version__
        assert r.metadata["format"] == "livetrace-recording"
        assert r.attrs == {"operator": "ada", "gain": 2.5}
        assert r.duration == pytest.approx(1.0)
    assert rec.samples_written == 1000
    assert rec.samples_committed == 1000


def test_store_as_other_dtype_and_gzip(tmp_path: Path) -> None:
    path = tmp_path / "rec.h5"
    with RealtimeStream.from_source(
        sim(500), chunk_size=100, sinks=[Recorder(path, dtype="float32", compression=4)]
    ) as s:
        s.run()
    with RecordingReader(path) as r:
        assert r.info.dtype == "float32"
        np.testing.assert_array_equal(r.read(), sim(500).generate(0, 500).astype(np.float32))
    with h5py.File(path, "r") as f:  # closed cleanly: plain h5py opens it
        assert f["samples"].compression == "gzip"
        assert f.attrs["buffer_dtype"] == b"float64"  # fixed-length UTF-8: checksummed


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cuts=st.lists(st.integers(1, 499), max_size=8, unique=True),
    gaps=st.dictionaries(st.integers(1, 499), st.integers(0, 50), max_size=3),
)
def test_file_does_not_depend_on_chunking(
    tmp_path: Path, cuts: list[int], gaps: dict[int, int]
) -> None:
    """Same samples and gaps, chunked differently (gaps only fall on chunk boundaries) →
    identical samples and segment table."""
    x = np.random.default_rng(1).standard_normal((500, 2))
    bounds = sorted({0, 500, *cuts, *gaps})

    def record(path: Path, edges: list[int]) -> tuple[np.ndarray, np.ndarray]:
        rec = Recorder(path, overwrite=True)
        rec.open(info(2))
        shift = 0
        for a, b in itertools.pairwise(edges):
            g = gaps.get(a, 0)
            shift += g
            rec.write(chunk(x[a:b], a + shift, disc=g == 0 and a in gaps))
        rec.close()
        with RecordingReader(path) as r:
            return r.read(), r.segments.copy()

    whole = sorted({0, 500, *gaps})
    a_data, a_seg = record(tmp_path / "a.h5", bounds)
    b_data, b_seg = record(tmp_path / "b.h5", whole)
    np.testing.assert_array_equal(a_data, x)
    np.testing.assert_array_equal(a_data, b_data)
    np.testing.assert_array_equal(a_seg, b_seg)
    # segment table: one row per run, exact absolute positions and gap sizes
    assert a_seg["stored_index"].tolist() == [0, *sorted(gaps)]
    shift = np.cumsum([gaps[k] for k in sorted(gaps)]).tolist()
    starts = [k + s for k, s in zip(sorted(gaps), shift, strict=True)]
    assert a_seg["start_index"].tolist() == [0, *starts]


def test_gaps_and_unknown_losses_are_recorded(tmp_path: Path) -> None:
    path = tmp_path / "gaps.h5"
    plan = {2: ("jump", 30), 4: ("disc", 0), 6: ("jump", 7)}
    chunks: list[tuple[int, int, int, bool]] = []
    rec = Recorder(path)
    cfg = RealtimeConfig(
        sample_rate=100.0, buffer_size=400, chunk_size=25, n_channels=2, overflow="block"
    )
    with RealtimeStream(
        cfg,
        JumpSource(
            8,
            50,
            plan,
            factors=(1.0, -1.0),
            sample_rate=100.0,
            dtype="float64",
            channel_names=("x", "y"),
            units=("V", "A"),
        ),
        sinks=[rec],
    ) as s:
        chunks = [(c.start_index, len(c), c.metadata.gap, c.metadata.discontinuity) for c in s]
    assert rec.gaps == 3
    assert rec.samples_lost == 37
    with RecordingReader(path) as r:
        assert r.n_samples == 400
        assert [tuple(g) for g in r.gaps] == [
            (130, 30, 100, True),
            (230, 0, 200, False),
            (337, 7, 300, True),
        ]
        assert r.samples_lost == 37
        assert r.first_index == 0
        assert r.end_index == 437
        # stored sample k maps back to the absolute index the stream delivered it at
        idx = r.absolute_index(np.arange(400))
        np.testing.assert_array_equal(r.read()[:, 0], idx.astype(np.float64))
        live_starts = [c[0] for c in chunks]
        assert [b.start_index for b in r.iter_blocks(25)] == live_starts


def test_first_chunk_after_loss_is_recorded_as_gap(tmp_path: Path) -> None:
    path = tmp_path / "late.h5"
    rec = Recorder(path)
    rec.open(info())
    rec.write(chunk(np.arange(10.0), 90))
    rec.close()
    with RecordingReader(path) as r:
        assert [tuple(g) for g in r.gaps] == [(90, 90, 0, True)]
        assert r.first_index == 90


# ------------------------------------------------------------------------------ crash safety
def _wait_for_samples(path: Path, n: int, proc: subprocess.Popen[bytes], errors: Path) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, errors.read_text()
        try:
            with RecordingReader(path) as r:
                if r.n_samples >= n:
                    return r.n_samples
        except (OSError, ConfigurationError, KeyError):
            pass  # not created yet / not yet in SWMR mode
        time.sleep(0.05)
    raise AssertionError(f"the child did not commit {n} samples within 60 s")


@pytest.mark.parametrize("target", [8000, 23000])
def test_sigkill_mid_recording_leaves_every_flushed_sample(tmp_path: Path, target: int) -> None:
    sys.path.insert(0, str(HERE))
    try:
        import _record_child as child
    finally:
        sys.path.remove(str(HERE))
    path = tmp_path / "crash.h5"
    errors = tmp_path / "child.err"
    with errors.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "_record_child.py"), str(path), "0.1"], stderr=err
        )
        try:
            seen = _wait_for_samples(path, target, proc, errors)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    with RecordingReader(path) as r:  # opens without any repair
        assert not r.complete
        n = r.n_samples
        assert n >= seen >= target
        data = r.read()
        assert data.shape == (n, 2)
        # every 5th block of 500 was dropped by the source: the gap table says where
        block = child.BLOCK
        assert all(g.known and g.length == block for g in r.gaps)
        assert [g.start_index for g in r.gaps] == [5 * block * (k + 1) for k in range(len(r.gaps))]
        idx = r.absolute_index(np.arange(n))
        full = child.signal().generate(0, int(idx[-1]) + 1)
        np.testing.assert_array_equal(data, full[idx])
        i = r.info
        assert (i.sample_rate, i.dtype, i.channel_names, i.units) == (
            child.RATE,
            "float32",
            ("left", "right"),
            ("V", "mV"),
        )
        assert i.description == "crash-test sine"
        assert i.start_time is not None
        assert abs(i.start_time - time.time()) < 120
        assert r.attrs == {"run": "crash-test"}
        assert r.metadata["livetrace_version"] == livetrace.__version__
    with h5py.File(path, "r", swmr=True) as f:  # and so does plain h5py, in SWMR read mode
        assert int(f["progress"][()]["n_samples"]) == n


# ------------------------------------------------------------------------------ errors
def test_existing_path_without_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "x.h5"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match=r"x\.h5.*already exists.*overwrite") as ei:
        Recorder(path)
    assert ei.value.errno == errno.EEXIST
    assert path.read_bytes() == b"precious"
    # appearing between construction and start: the stream fails to start, file untouched
    late = tmp_path / "late.h5"
    rec = Recorder(late)
    late.write_bytes(b"other")
    stream = RealtimeStream.from_source(sim(100), sinks=[rec])
    with pytest.raises(SinkError, match="late.h5") as si:
        stream.start()
    assert isinstance(si.value.__cause__, FileExistsError)
    assert late.read_bytes() == b"other"
    # overwrite=True replaces it
    with RealtimeStream.from_source(sim(100), sinks=[Recorder(path, overwrite=True)]) as s:
        s.run()
    with RecordingReader(path) as r:
        assert r.n_samples == 100


def test_path_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("not a directory")
    bad = tmp_path / "plain" / "rec.h5"
    stream = RealtimeStream.from_source(sim(100), sinks=[Recorder(bad)])
    with pytest.raises(SinkError, match=r"cannot create recording file .*plain/rec\.h5") as ei:
        stream.start()
    assert isinstance(ei.value.__cause__, NotADirectoryError)
    assert stream.state == "idle"


def _try_record_in(directory: Path) -> BaseException | None:
    rec = Recorder(directory / "rec.h5")
    try:
        rec.open(info())
    except OSError as exc:
        return exc
    rec.close()
    return None


@pytest.fixture
def open_dir() -> Any:
    """A directory anyone may traverse (pytest's tmp_path parents are private to root)."""
    d = Path(tempfile.mkdtemp(prefix="livetrace-perm-", dir="/tmp"))
    d.chmod(0o755)
    yield d
    for sub in d.iterdir():
        sub.chmod(0o755)
    shutil.rmtree(d)


def test_permission_denied_is_a_clear_error(open_dir: Path) -> None:
    locked = open_dir / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.geteuid() != 0:
        exc = _try_record_in(locked)
        assert isinstance(exc, PermissionError)
        assert "locked/rec.h5" in str(exc)
        return
    # root ignores permissions: try as 'nobody' in a forked child (modules already loaded)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.setgid(65534)
            os.setuid(65534)
            exc = _try_record_in(locked)
            msg = f"{type(exc).__name__}|{getattr(exc, 'errno', '')}|{exc}"
        except BaseException as e:
            msg = f"child failed: {e!r}"
        os.write(w, msg.encode())
        os._exit(0)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    out = os.read(r, 4096).decode()
    os.close(r)
    assert status == 0
    assert out.count("|") >= 2, out
    kind, code, message = out.split("|", 2)
    assert kind == "PermissionError", out
    assert int(code) == errno.EACCES
    assert "cannot create recording file" in message
    assert "locked/rec.h5" in message
    assert not (locked / "rec.h5").exists()


def test_disk_full_stops_the_stream_with_sink_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "full.h5"
    real = h5py.Dataset.write_direct
    calls = {"n": 0}

    def flaky(self: Any, *args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Dataset, "write_direct", flaky)
    rec = Recorder(path, flush_interval=60.0)
    src = sim(10_000)
    stream = RealtimeStream.from_source(src, chunk_size=100, overflow="block", sinks=[rec])
    delivered: list[int] = []
    with pytest.raises(SinkError, match="No space left on device") as ei, stream:
        delivered.extend(c.start_index for c in stream)
    cause = ei.value.__cause__
    assert isinstance(cause, OSError)
    assert cause.errno == errno.ENOSPC
    assert "full.h5" in str(cause)
    assert stream.state == "failed"
    assert delivered == [0, 100, 200, 300]  # the 5th chunk failed: iteration stopped there
    assert not rec.is_open
    monkeypatch.setattr(h5py.Dataset, "write_direct", real)
    with RecordingReader(path) as r:  # still a valid file; nothing was committed past 0
        assert not r.complete
        assert r.n_samples == 0


def test_validation_errors(tmp_path: Path) -> None:
    p = tmp_path / "v.h5"
    with pytest.raises(ConfigurationError, match="flush_interval"):
        Recorder(p, flush_interval=0)
    with pytest.raises(ConfigurationError, match="flush_interval"):
        Recorder(p, flush_interval=float("inf"))
    with pytest.raises(ConfigurationError, match="compression"):
        Recorder(p, compression="zip")
    with pytest.raises(ConfigurationError, match="gzip compression level"):
        Recorder(p, compression=11)
    with pytest.raises(ConfigurationError, match="numeric numpy dtype .*, got 'U8'"):
        Recorder(p, dtype="U8")
    with pytest.raises(ConfigurationError, match="numeric numpy dtype .*, got 'foo'"):
        Recorder(p, dtype="foo")  # not a dtype at all: the same clear error, not a TypeError
    with pytest.raises(ConfigurationError, match="sample_rate"):
        Recorder(p, attrs={"sample_rate": 3})
    rec = Recorder(p)
    rec.open(info(2))
    with pytest.raises(ValueError, match=r"shape \(3,\).*2 channel"):
        rec.write(chunk(np.zeros(3), 0))
    rec.write(chunk(np.zeros((3, 2)), 10))
    with pytest.raises(ValueError, match="goes back"):
        rec.write(chunk(np.zeros((3, 2)), 11))
    rec.close()
    rec.close()  # idempotent
    with RecordingReader(p) as r:
        assert r.n_samples == 3
        assert r.complete


def test_restart_and_late_chunks_append_to_the_same_file(tmp_path: Path) -> None:
    p = tmp_path / "again.h5"
    rec = Recorder(p, flush_interval=0.05)
    rec.open(info(2))
    rec.write(chunk(np.ones((3, 2)), 0))
    rec.close()
    # a chunk that was on its way when another thread closed the recorder: kept
    rec.write(chunk(np.full((2, 2), 2.0), 3))
    assert rec.late_writes == 1
    assert not rec.is_open
    with RecordingReader(p) as r:
        assert r.n_samples == 5
        assert r.complete
    # the stream restarted: open() appends; the samples lost meanwhile are a gap
    rec.open(info(2))
    rec.write(chunk(np.full((4, 2), 3.0), 10))
    rec.close()
    with RecordingReader(p) as r:
        assert r.complete
        assert r.n_samples == 9
        np.testing.assert_array_equal(r.read()[:, 0], [1, 1, 1, 2, 2, 3, 3, 3, 3])
        assert [tuple(g) for g in r.gaps] == [(10, 5, 5, True)]
    with pytest.raises(ValueError, match="cannot append 1 channel"):
        rec.open(info(1))


def test_stream_stop_and_start_keeps_recording(tmp_path: Path) -> None:
    p = tmp_path / "restart.h5"
    src = sim(1000)
    stream = RealtimeStream.from_source(src, chunk_size=100, overflow="block", sinks=[Recorder(p)])
    stream.start()
    first = [stream.read_chunk() for _ in range(3)]
    stream.stop()
    with RecordingReader(p) as r:
        assert r.complete
        assert r.n_samples == 300
    with stream:
        rest = stream.run()
    assert 300 + rest == 1000
    assert all(c is not None for c in first)
    with RecordingReader(p) as r:
        assert r.complete
        assert r.n_samples == 1000
        assert r.gaps == []
        np.testing.assert_array_equal(r.read(), sim(1000).generate(0, 1000))
    rec2 = Recorder(tmp_path / "never.h5")
    with pytest.raises(StreamStateError, match="not opened"):
        rec2.write(chunk(np.zeros(3), 0))


def test_background_flush_commits_without_new_chunks(tmp_path: Path) -> None:
    path = tmp_path / "bg.h5"
    rec = Recorder(path, flush_interval=0.05)
    rec.open(info())
    rec.write(chunk(np.arange(100.0), 0))
    deadline = time.monotonic() + 10
    while rec.samples_committed < 100 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert rec.samples_committed == 100
    with RecordingReader(path) as r:  # a second reader while the writer is open (SWMR)
        assert r.n_samples == 100
        assert not r.complete
        np.testing.assert_array_equal(r.read(), np.arange(100.0))
        rec.write(chunk(np.arange(100.0, 150.0), 100))
        rec.flush()
        assert r.refresh() == 150
        np.testing.assert_array_equal(r.read(140, 150), np.arange(140.0, 150.0))
    rec.close()
    assert rec._thread is None


def test_flush_schedule_finishes_within_the_interval(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "s.h5", flush_interval=1.0)
    rec._commit_point = 99.0
    rec._dirty_since = 100.0  # the oldest uncommitted sample arrived at t=100
    # no flush measured yet: start 20 ms before the deadline (t=101)
    assert rec._flush_wait(100.25, dirty=True) == pytest.approx(0.73)
    assert rec._flush_wait(100.98, dirty=True) == 0.0
    assert rec._flush_wait(107.0, dirty=True) == 0.0
    # slow flushes (a loaded machine): start earlier by 3 x the longest + 20 ms
    rec._flush_costs = [0.01, 0.1, 0.05]
    assert rec._flush_wait(100.25, dirty=True) == pytest.approx(0.43)
    # never more than half the interval early
    rec._flush_costs = [2.0]
    assert rec._flush_wait(100.25, dirty=True) == pytest.approx(0.25)
    # nothing waiting: data written from now on is due one interval later at the earliest
    rec._flush_costs = []
    assert rec._flush_wait(100.25, dirty=False) == pytest.approx(0.98)


class _SlowFlushFile:
    """Stands in for the h5py file: each flush takes ``delay`` seconds."""

    def __init__(self, real: Any, delay: float) -> None:
        self.real, self.delay = real, delay

    def flush(self) -> None:
        time.sleep(self.delay)
        self.real.flush()

    def close(self) -> None:
        self.real.close()


def test_commit_age_stays_within_the_interval_when_flushes_are_slow(tmp_path: Path) -> None:
    interval = 1.0
    rec = Recorder(tmp_path / "slow.h5", flush_interval=interval)
    rec.open(info())
    rec._file = _SlowFlushFile(rec._file, 0.15)  # 2 flushes per commit: 0.3 s each
    rec.flush()  # the recorder learns how long a commit takes (its first one, in real use)
    t_end = time.monotonic() + 3.5
    k = 0
    while time.monotonic() < t_end:
        rec.write(chunk(np.arange(k, k + 10, dtype=np.float64), k))
        k += 10
        time.sleep(0.005)
    rec.close()
    # Started half an interval early, a commit ends about 0.8 s after its oldest sample
    # arrived; flushing on a fixed period from the end of the last one (as before) took
    # 1.3 s. The 0.3 s above 0.8 are for a loaded machine.
    assert 0 < rec.max_commit_age <= interval + 0.1
    with RecordingReader(tmp_path / "slow.h5") as r:
        np.testing.assert_array_equal(r.read(), np.arange(k, dtype=np.float64))


# ------------------------------------------------------------------------------ a full disk
@pytest.fixture
def small_tmpfs() -> Any:
    """A 32 MiB tmpfs (the tests run as root); skipped where mounting is not allowed."""
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    d = Path(tempfile.mkdtemp(prefix="livetrace-full-", dir="/tmp"))
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(d)],
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        d.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    yield d
    subprocess.run(["umount", str(d)], check=False)
    d.rmdir()


_FULL_CHILD = r"""
import errno, sys
from livetrace import RealtimeStream, SimulatedSource, SinkError
from livetrace.sinks import Recorder
rec = Recorder(sys.argv[1], flush_interval=0.2)
src = SimulatedSource("noise", sample_rate=1e6, chunk_size=4096, realtime=False)
stream = RealtimeStream.from_source(src, chunk_size=4096, sinks=[rec])
try:
    with stream:
        stream.run()
except SinkError as exc:
    cause = exc.__cause__
    assert isinstance(cause, OSError) and cause.errno == errno.ENOSPC, repr(cause)
    print(rec.samples_committed, "|", cause)
"""


def test_a_full_disk_stops_cleanly_and_says_what_is_safe(small_tmpfs: Path) -> None:
    path = small_tmpfs / "full.h5"
    res = subprocess.run(
        [sys.executable, "-c", _FULL_CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]  # no segfault, no bus error
    committed, message = res.stdout.strip().split(" | ", 1)
    assert "full.h5" in message
    assert "No space left on device" in message
    assert f"the first {committed} samples are safely in the file" in message
    with RecordingReader(path) as r:  # still a valid file holding what it said
        assert r.n_samples == int(committed) > 0
        assert not r.complete
        assert r.verify() == []
    # the command line: exit status 1, one line naming the file and what is safe
    path.unlink()
    cli = livetrace_cli("record", "sim:noise?realtime=0", "-o", str(path), timeout=100)
    assert cli.returncode == 1, cli.stderr[-3000:]
    lines = cli.stderr.strip().splitlines()
    assert len(lines) == 1, cli.stderr
    assert "full.h5" in lines[0]
    assert "samples are safely in the file" in lines[0]
    with RecordingReader(path) as r:
        assert r.n_samples > 0


_RACE_CHILD = (
    r"""
import os
real = os.statvfs
class Roomy:  # another program fills the disk after each check: the check sees room
    def __init__(self, st): self.f_bavail, self.f_frsize = 1 << 40, st.f_frsize
os.statvfs = lambda p: Roomy(real(p))
"""
    + _FULL_CHILD
)


def test_a_disk_filled_behind_the_recorders_back_still_closes_cleanly(small_tmpfs: Path) -> None:
    """HDF5 itself meets the full disk: the recorder frees its reserve so that HDF5 can close
    the file (it crashes when it cannot), and says what is safe."""
    path = small_tmpfs / "race.h5"
    res = subprocess.run(
        [sys.executable, "-c", _RACE_CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]  # no segfault
    committed, message = res.stdout.strip().split(" | ", 1)
    assert "race.h5" in message
    assert f"the first {committed} samples are safely in the file" in message
    assert not (small_tmpfs / ".race.h5.reserve").exists()
    with RecordingReader(path) as r:
        assert r.n_samples == int(committed)
        assert r.verify() == []
        r.read()
