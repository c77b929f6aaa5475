"""check_source: passes good sources, and each deliberately broken double fails its check."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from livetrace import EndOfStream, SimulatedSource, SourceError
from livetrace.sources import ArraySource, FileSource, RealtimeSource, SourceInfo
from livetrace.testing import CheckResult, SourceReport, check_source


class Counter(RealtimeSource):
    """A well-behaved finite source: 0, 1, 2, ... in blocks, ``total`` samples."""

    def __init__(self, total: int = 2000, block: int = 100, dtype="float64") -> None:
        self.total, self.block, self.dtype = total, block, np.dtype(dtype)
        self.pos = 0
        self.stopped = threading.Event()

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(sample_rate=1000, dtype=self.dtype.name, finite=True)

    def start(self) -> None:
        self.stopped.clear()

    def stop(self) -> None:
        self.stopped.set()

    def acquire(self):
        if self.pos >= self.total:
            raise EndOfStream("done")
        n = min(self.block, self.total - self.pos)
        self.pos += n
        return np.arange(self.pos - n, self.pos, dtype=self.dtype)


class WrongDtype(Counter):
    """Declares float32, delivers float64."""

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(sample_rate=1000, dtype="float32", finite=True)


class WrongChannels(Counter):
    """Declares 2 channels, delivers 1-D arrays."""

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(sample_rate=1000, n_channels=2, finite=True)


class DeafStop(RealtimeSource):
    """An endless source whose acquire() blocks on an event that stop() does not set."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(sample_rate=1000)

    def acquire(self):
        self.calls += 1
        if self.calls > 20:
            self.release.wait(10)
        return np.zeros(10)


class SwallowsEnd(Counter):
    """Finite, but at the end returns None forever instead of raising EndOfStream."""

    def acquire(self):
        if self.pos >= self.total:
            self.stopped.wait(0.001)
            return None
        return super().acquire()


class EndsOnce(Counter):
    """Raises EndOfStream once, then returns empty arrays."""

    def __init__(self) -> None:
        super().__init__(total=300)
        self.ended = False

    def acquire(self):
        if self.ended:
            return np.empty(0)
        try:
            return super().acquire()
        except EndOfStream:
            self.ended = True
            raise


class HidesFailure(Counter):
    """Its device fails, and it turns the failure into EndOfStream (the bug to catch)."""

    def acquire(self):
        try:
            raise OSError("device unplugged")
        except OSError as exc:
            raise EndOfStream("stopping") from exc


class Raises(Counter):
    def acquire(self):
        raise RuntimeError("driver bug")


class NoInfo(Counter):
    @property
    def info(self):
        return None


def statuses(report: SourceReport) -> dict[str, str]:
    return {c.name: c.status for c in report.checks}


def test_good_sources_pass(tmp_path):
    assert check_source(lambda: SimulatedSource(sample_rate=48000, chunk_size=480)).ok
    assert check_source(Counter).ok
    assert statuses(check_source(Counter))["end_of_stream"] == "passed"
    path = tmp_path / "x.npy"
    np.save(path, np.arange(3000, dtype=np.int16).reshape(-1, 3))
    report = check_source(lambda: FileSource(path, sample_rate=100, speed=None, chunk_size=64))
    assert set(statuses(report).values()) == {"passed", "skipped"}
    assert statuses(report)["errors_surface"] == "skipped"
    assert "contiguous" in report["stream"].detail


def test_single_instance_mode():
    src = ArraySource(np.arange(100_000.0), 1e5, chunk_size=1000)
    report = check_source(src)
    assert report.ok, str(report)
    assert report.source.startswith("ArraySource(")


def test_report_object_and_strict_mode():
    report = check_source(WrongDtype, strict=False)
    assert isinstance(report, SourceReport)
    assert not report.ok
    assert all(isinstance(c, CheckResult) for c in report.checks)
    assert [c.name for c in report.failures] == ["data", "restart"]
    assert "dtype float64, but info.dtype is float32" in report["data"].detail
    assert "FAILED" in str(report)
    with pytest.raises(AssertionError, match=r"(?s)FAILED\s+data.*info\.dtype is float32"):
        check_source(WrongDtype)


def test_wrong_channel_count_fails_data_and_stream():
    s = statuses(check_source(WrongChannels, strict=False))
    assert s["data"] == "failed"
    assert s["stream"] == "failed"


def test_stop_that_does_not_wake_acquire_fails():
    doubles: list[DeafStop] = []

    def make() -> DeafStop:
        doubles.append(DeafStop())
        return doubles[-1]

    try:
        report = check_source(make, strict=False, timeout=2.0, stop_timeout=0.3)
    finally:
        for d in doubles:
            d.release.set()
    assert statuses(report)["stop_wakes_acquire"] == "failed"
    assert "did not return within 0.3 s of stop()" in report["stop_wakes_acquire"].detail
    assert statuses(report)["data"] == "passed"


def test_swallowed_end_of_stream_fails():
    report = check_source(SwallowsEnd, strict=False, timeout=1.0)
    assert statuses(report)["end_of_stream"] == "failed"
    assert "did not raise EndOfStream within 1 s" in report["end_of_stream"].detail


def test_end_of_stream_must_keep_raising():
    report = check_source(EndsOnce, strict=False)
    assert statuses(report)["end_of_stream"] == "failed"
    assert "must keep raising" in report["end_of_stream"].detail


def test_failure_hidden_as_end_of_stream_fails_errors_surface():
    report = check_source(Counter, failing=HidesFailure, strict=False)
    assert statuses(report)["errors_surface"] == "failed"
    assert "swallowed" in report["errors_surface"].detail
    good = check_source(Counter, failing=Raises)
    assert "RuntimeError: driver bug" in good["errors_surface"].detail


def test_exceptions_from_acquire_are_reported_not_swallowed():
    report = check_source(Raises, strict=False, timeout=1.0)
    assert statuses(report)["data"] == "failed"
    assert "RuntimeError: driver bug" in report["data"].detail
    assert "test_conformance.py" in report["data"].detail  # where it was raised
    assert statuses(report)["stream"] == "failed"
    assert isinstance(SourceError("x"), Exception)


def test_source_without_info_fails_info_and_skips_the_rest():
    report = check_source(NoInfo, strict=False)
    s = statuses(report)
    assert s["info"] == "failed"
    assert s["data"] == "skipped"
    assert s["stream"] == "skipped"
