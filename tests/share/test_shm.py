"""ShmPublisher and ShmSource: a stream shared through shared memory between processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _feeding import feeding

from livetrace import (
    ConfigurationError,
    EndOfStream,
    RealtimeStream,
    SourceUnavailableError,
    TraceMetadata,
    WaveformTrace,
)
from livetrace.sinks import ShmPublisher
from livetrace.sources import ArraySource, ShmSource, SourceInfo, open_source
from livetrace.testing import check_source

HERE = Path(__file__).parent
CHILD = HERE / "_shm_publisher.py"
DEADLINE = 20.0
SHM_DIR = Path("/dev/shm")


def unique() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def ramp_chunk(start: int, n: int, rate: float = 1e6, gap: int = 0) -> WaveformTrace:
    data = np.arange(start, start + n, dtype=np.float64)[:, None] * np.array([1.0, -1.0])
    md = TraceMetadata(
        sample_rate=rate, start_index=start, start_time=start / rate, gap=gap, discontinuity=gap > 0
    )
    return WaveformTrace(data, md)


INFO = SourceInfo(sample_rate=1e6, dtype="float64", n_channels=2, channel_names=("x", "y"))


@pytest.fixture
def name() -> Iterator[str]:
    n = unique()
    yield n
    assert not (SHM_DIR / f"livetrace-{n}").exists(), "the segment was left behind"


class Child:
    """A publisher process (tests/share/_shm_publisher.py)."""

    def __init__(
        self, name: str, total: int, chunk: int, capacity: int, pause: float, descriptors: int = 64
    ) -> None:
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2] / "src"))
        args = [name, str(total), str(chunk), str(capacity), str(pause), str(descriptors)]
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), *args],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", f"publisher child said {line!r}"

    def finish(self) -> str:
        out, _ = self.proc.communicate(timeout=DEADLINE)
        assert self.proc.returncode == 0
        return out

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.communicate(timeout=DEADLINE)


def check_ramp(data: np.ndarray, first: int) -> None:
    expect = np.arange(first, first + len(data), dtype=np.float64)
    np.testing.assert_array_equal(data[:, 0], expect)
    np.testing.assert_array_equal(data[:, 1], -expect)


def drain(src: ShmSource, copy: bool = True) -> tuple[int, int, int]:
    """Read to the end, checking every sample; (samples, lost, chunks)."""
    samples = lost = chunks = 0
    expect = None
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            piece = src.read(copy=copy, timeout=0.2)
        except EndOfStream:
            return samples, lost, chunks
        if piece is None:
            continue
        data = piece.data
        if not copy:
            data = data.copy()
            if not piece.valid():
                continue  # overwritten while we looked: the next read counts it as lost
        check_ramp(data, piece.start_index)
        if expect is not None:
            assert piece.start_index >= expect
            lost += piece.start_index - expect
        samples += len(data)
        chunks += 1
        expect = piece.start_index + len(data)
    raise AssertionError("the stream did not end in time")


def test_ramp_exact_three_readers_at_their_own_pace(name: str) -> None:
    """Two readers in this process and a stream in a third: every sample, exactly, in order,
    with the publisher's absolute indices; a ring (and descriptor table) that holds the whole
    stream loses nothing, however late a reader starts."""
    total = 300_000
    child = Child(name, total, 4096, 1 << 20, 0.002, descriptors=256)
    readers = [ShmSource(name, start="start") for _ in range(2)]
    # attached while the publisher still runs (a closed stream's segment is gone)
    source = open_source(f"shm://{name}?from=start")
    results: list[Any] = [None, None]

    def run(i: int) -> None:
        results[i] = drain(readers[i], copy=(i == 0))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    got: list[WaveformTrace] = []
    stream = RealtimeStream.from_source(source, chunk_size=5000)
    with stream:
        for chunk in stream:
            got.append(chunk)
    for t in threads:
        t.join(DEADLINE)
    assert "done 300000" in child.finish()
    # copies: everything; views: everything that stayed valid (the ring was never overrun)
    assert results[0] == (total, 0, results[0][2])
    assert results[1][0] == total, results
    data = np.concatenate([c.data for c in got])
    check_ramp(data.astype(np.float64), 0)
    assert len(data) == total
    assert got[0].metadata.channel_names == ("x", "y")
    assert got[0].metadata.units == ("V", "V")
    assert all(c.metadata.gap == 0 for c in got)
    assert got[3].metadata.start_time == pytest.approx(1000.0 + got[3].metadata.start_index / 1e6)


def test_overrun_gives_exact_gaps_never_torn_data(name: str) -> None:
    """A publisher process writing flat out into a small ring while this reader copies and
    views: every delivered sample is the right one, and samples + counted losses add up to
    exactly what was published."""
    total = 3_000_000
    child = Child(name, total, 1000, 4096, 0.0)
    copier = ShmSource(name, start="start", max_samples=3000)
    viewer = ShmSource(name, start="start", max_samples=3000)
    out: list[Any] = []
    t = threading.Thread(target=lambda: out.append(drain(viewer, copy=False)))
    t.start()
    samples, lost, _ = drain(copier)
    t.join(DEADLINE)
    assert "done" in child.finish()
    h = copier.health()
    assert samples + h["lost_samples"] == total, (samples, h)  # losses before index 0 too
    assert h["lost_samples"] >= lost
    vs, _, _ = out[0]
    assert 0 < vs <= total
    print("copier", h, "viewer", viewer.health())


def account(src: ShmSource, copy: bool) -> tuple[int, int, int, int]:
    """Read to the end: every piece must start exactly ``gap`` after the previous one and a
    copy or a still-valid view must hold exactly its samples. (delivered, discarded views,
    gaps summed, longest piece)."""
    delivered = discarded = gaps = longest = 0
    expect = src.health()["origin"]
    out = np.empty((1 << 16, 2)) if copy else None
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            piece = src.read(copy=copy, out=out, timeout=0.2)
        except EndOfStream:
            return delivered, discarded, gaps, longest
        if piece is None:
            continue
        assert piece.start_index == expect + piece.gap, (piece, expect)
        assert piece.discontinuity or piece.gap == 0
        gaps += piece.gap
        expect = piece.start_index + len(piece.data)
        longest = max(longest, len(piece.data))
        data = piece.data.copy()
        if piece.valid():
            check_ramp(data, piece.start_index)
            delivered += len(data)
        else:
            discarded += len(data)
    raise AssertionError("the stream did not end in time")


@pytest.mark.parametrize("copy", [False, True])
def test_multi_chunk_reads_under_contention_count_every_sample(name: str, copy: bool) -> None:
    """A publisher process laps a small ring (and its descriptor table) while this reader takes
    many chunks per read: pieces join chunks, yet every gap is exact and delivered samples,
    discarded views and gaps add up to exactly what was published."""
    total = 2_000_000
    child = Child(name, total, 300, 8192, 0.0)
    src = ShmSource(name, start="start", max_samples=1 << 16, min_poll=0.0001, poll=0.001)
    delivered, discarded, gaps, longest = account(src, copy)
    assert "done" in child.finish()
    h = src.health()
    assert delivered + discarded + gaps == total, (delivered, discarded, gaps, h)
    assert h["lost_samples"] == gaps
    assert h["samples"] == delivered + discarded
    assert delivered > 0
    assert longest > 300  # reads joined chunks
    print("delivered", delivered, "discarded", discarded, "gaps", gaps, "longest", longest, h)


def test_wait_parameters(name: str) -> None:
    with ShmPublisher(name, capacity_samples=4096) as pub:
        pub.open(INFO)
        with pytest.raises(ConfigurationError, match="min_poll"):
            ShmSource(name, min_poll=0.01, poll=0.005)
        src = ShmSource(name, min_poll=0.001, poll=0.02)
        t0 = time.monotonic()
        assert src.read(timeout=0.05) is None
        assert time.monotonic() - t0 < 1.0
        threading.Timer(0.05, src.stop).start()
        assert src.read() is None  # a stop ends a wait without timeout


def test_killed_publisher_is_noticed_and_a_restarted_one_reattached(name: str) -> None:
    child = Child(name, -1, 500, 1 << 16, 0.002)
    src = ShmSource(name, timeout=0.5)
    first = src.acquire()
    assert first is not None
    assert first.start_index == 0
    child.kill()
    killed = time.monotonic()
    while src.health()["publisher"] != "lost":
        src.read(timeout=0.05)
        assert time.monotonic() - killed < 5.0, "a killed publisher was not noticed"
    assert src.health()["publisher_lost"] == 1
    # the dead process's resource tracker removes the segment
    while (SHM_DIR / f"livetrace-{name}").exists():
        assert time.monotonic() - killed < 10.0, "a killed publisher's segment was leaked"
        time.sleep(0.05)
    # paced, so that it is still published when the reader looks (a publisher that already
    # closed and removed its segment cannot be attached)
    again = Child(name, 20_000, 500, 1 << 16, 0.002)
    block = None
    started = time.monotonic()
    while block is None:
        block = src.acquire()
        assert time.monotonic() - started < DEADLINE, "the restarted publisher was not attached"
    assert block.discontinuity
    assert src.health()["reattached"] == 1
    assert src.health()["publisher"] in ("running", "ended")  # attached (it may be done)
    again.finish()
    n = len(block.data)
    while True:
        try:
            b = src.acquire()
        except EndOfStream:
            break
        if b is not None:
            n += len(b.data)
    assert n == 20_000  # the restarted publisher's stream, read from its start


def test_clean_close_ends_readers_and_frees_the_segment(name: str) -> None:
    pub = ShmPublisher(name, capacity_samples=8192)
    pub.open(INFO)
    src = ShmSource(name)
    assert (SHM_DIR / f"livetrace-{name}").exists()
    pub.write(ramp_chunk(0, 100))
    pub.write(WaveformTrace(np.empty((0, 2)), TraceMetadata(1e6, start_index=150, gap=50)))
    pub.close()
    assert not (SHM_DIR / f"livetrace-{name}").exists()
    block = src.acquire()
    assert block is not None
    assert len(block.data) == 100
    with pytest.raises(EndOfStream):
        src.acquire()
    with pytest.raises(SourceUnavailableError, match="no stream is published"):
        ShmSource(name)


def test_second_publisher_of_a_live_name_is_refused(name: str) -> None:
    with ShmPublisher(name) as pub:
        pub.open(INFO)
        other = ShmPublisher(name)
        with pytest.raises(ConfigurationError, match="already published"):
            other.open(INFO)


def test_publisher_as_a_stream_sink_with_start_index_jumps(name: str) -> None:
    """A stream with a source gap publishes it; the reader sees the same jump and flags."""
    pub = ShmPublisher(name, capacity_samples=1 << 16)
    data = np.arange(10_000, dtype=np.float32)

    src = ArraySource(data, chunk_size=1000, sample_rate=1000.0)
    stream = RealtimeStream.from_source(src, chunk_size=1000, sinks=[pub])
    with stream:
        reader = ShmSource(name, start="start")
        stream.run()
    pieces = []
    while True:
        try:
            b = reader.acquire()
        except EndOfStream:
            break
        if b is not None:
            pieces.append(b)
    np.testing.assert_array_equal(np.concatenate([p.data for p in pieces]), data)
    assert reader.info.dtype == "float32"
    assert reader.info.n_channels == 1


def test_check_source_conformance(name: str) -> None:
    pub = ShmPublisher(name, capacity_samples=1 << 16)
    pub.open(INFO)
    try:
        with feeding(pub.write, ramp_chunk):
            report = check_source(lambda: ShmSource(name), n_chunks=4)
        assert report.ok, str(report)
    finally:
        pub.close()


def test_uri_parameters(name: str) -> None:
    with pytest.raises(SourceUnavailableError):
        open_source(f"shm://{name}")
    with pytest.raises(ConfigurationError):
        ShmSource(name, start="middle")
    with pytest.raises(ConfigurationError):
        ShmPublisher("a/b")
    with ShmPublisher(name, capacity_samples=4096) as pub:
        pub.open(INFO)
        with pytest.raises(ConfigurationError, match="unknown parameter"):
            open_source(f"shm://{name}?bogus=1")
        for i in range(4):
            pub.write(ramp_chunk(i * 1000, 1000))
        src = open_source(f"shm://{name}?from=2500&max_samples=100")
        block = src.acquire()
        assert block is not None
        assert (block.start_index, len(block.data), block.data[0, 0]) == (0, 100, 2500.0)
        assert src.health()["origin"] == 2500


def test_cli_record_reads_a_shared_stream(name: str, tmp_path: Path) -> None:
    """``livetrace record shm://NAME`` (another process) records exactly what was published."""
    from livetrace.sinks import RecordingReader

    pub = ShmPublisher(name, capacity_samples=1 << 20)
    pub.open(INFO)
    out = tmp_path / "copy.h5"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "livetrace",
            "record",
            f"shm://{name}?from=start",
            "-o",
            str(out),
            "--samples",
            "50000",
            "-q",
        ],
        env=dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2] / "src")),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for i in range(0, 50_000, 1000):  # the ring keeps it all until the recorder attaches
            pub.write(ramp_chunk(i, 1000))
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    finally:
        pub.close()
    with RecordingReader(out) as rec:
        data = rec.read()
        assert rec.samples_lost == 0
    assert len(data) == 50_000
    check_ramp(data.astype(np.float64), 0)
