"""Faults in the acquisition thread and the consumer: nothing dies silently, nothing hangs.

Every exception that leaves the acquisition thread ends the stream with a SourceError the
consumer receives; Ctrl-C in the consumer leaves the stream restartable; a silent source is
visible (and fatal with ``idle_timeout``); a partial chunk waits at most ``max_latency``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import numpy as np
import pytest

from livetrace import (
    Block,
    RealtimeSource,
    RealtimeStream,
    SourceError,
    SourceInfo,
    StreamState,
    WaveformTrace,
)
from livetrace.testing import BlockingSource

DEADLINE = 10.0


class Scripted(RealtimeSource):
    """Returns the scripted results in order (an exception is raised), then blocks."""

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self._stop = threading.Event()

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(sample_rate=1000.0, description="scripted")

    def start(self) -> None:
        self._stop.clear()

    def stop(self) -> None:
        self._stop.set()

    def acquire(self) -> Any:
        if self.script:
            item = self.script.pop(0)
            if isinstance(item, BaseException):
                raise item
            return item
        self._stop.wait(0.05)
        return None


class ListSink:
    def __init__(self) -> None:
        self.chunks: list[WaveformTrace] = []
        self.closed = 0

    def open(self, info: SourceInfo) -> None:
        pass

    def write(self, chunk: WaveformTrace) -> None:
        self.chunks.append(chunk)

    def close(self) -> None:
        self.closed += 1


def drain(stream: RealtimeStream) -> list[WaveformTrace]:
    out = []
    for chunk in stream:
        out.append(chunk)
    return out


@pytest.mark.parametrize(
    "fault",
    [
        np.array(3.0),  # a 0-d array
        np.float64(3.0),  # a numpy scalar
        [1.0, 2.0],  # not an array
        SystemExit(3),
        KeyboardInterrupt(),
        GeneratorExit(),
    ],
    ids=["0-d array", "scalar", "list", "SystemExit", "KeyboardInterrupt", "GeneratorExit"],
)
def test_anything_leaving_the_acquisition_thread_reaches_the_consumer(fault: Any) -> None:
    src = Scripted(np.arange(100.0), fault)
    stream = RealtimeStream.from_source(src, chunk_size=100, max_latency=None)
    got: list[WaveformTrace] = []
    t0 = time.monotonic()
    with stream, pytest.raises(SourceError) as info:
        for chunk in stream:
            got.append(chunk)
    assert time.monotonic() - t0 < DEADLINE
    assert [len(c) for c in got] == [100]  # what came before the fault is delivered first
    assert stream.state == StreamState.FAILED
    assert stream.health().state == "failed"
    assert stream.health().source_errors >= 1
    if isinstance(fault, BaseException):
        assert info.value.__cause__ is fault
    else:
        assert "expected a numpy array of samples" in str(info.value)


def test_a_bug_while_storing_samples_reaches_the_consumer(monkeypatch: pytest.MonkeyPatch) -> None:
    src = Scripted(np.arange(10.0))
    stream = RealtimeStream.from_source(src, chunk_size=10)

    def broken(*args: Any, **kwargs: Any) -> int:
        raise MemoryError("while converting")

    monkeypatch.setattr(stream._buffer, "write_at", broken)
    with stream, pytest.raises(SourceError, match="acquisition thread .* died") as info:
        drain(stream)
    assert isinstance(info.value.__cause__, MemoryError)
    assert stream.state == StreamState.FAILED


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals")
def test_ctrl_c_while_waiting_leaves_the_stream_running_and_restartable() -> None:
    src = Scripted(np.arange(50.0))
    sink = ListSink()
    stream = RealtimeStream.from_source(src, chunk_size=100, max_latency=None, sinks=[sink])
    main = threading.get_ident()

    def press_ctrl_c() -> None:
        time.sleep(0.2)
        signal.pthread_kill(main, signal.SIGINT)

    stream.start()
    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    with pytest.raises(KeyboardInterrupt):
        for _ in stream:
            pass
    presser.join()
    assert stream.state == StreamState.RUNNING
    assert sink.closed == 0  # sinks stay open: the stream is not over
    stream.stop()
    assert sink.closed == 1
    stream.start()  # restartable, and nothing was lost
    src.script.append(np.arange(50.0, 100.0))
    chunk = stream.read_chunk()
    stream.stop()
    assert chunk is not None
    np.testing.assert_array_equal(chunk.data, np.arange(100.0))


def test_a_silent_source_is_visible_in_health() -> None:
    src = BlockingSource()
    stream = RealtimeStream.from_source(src, chunk_size=10)
    with stream:
        assert src.entered.wait(DEADLINE)
        time.sleep(0.3)
        h = stream.health()
    assert h.idle_seconds >= 0.25
    assert stream.health().idle_seconds == 0.0  # not running: not silent


def test_idle_timeout_ends_the_stream_with_a_source_error_naming_the_source() -> None:
    src = Scripted(np.arange(20.0))  # 20 samples, then silence (acquire returns None)
    stream = RealtimeStream.from_source(src, chunk_size=10, idle_timeout=0.3)
    got: list[WaveformTrace] = []
    t0 = time.monotonic()
    with stream, pytest.raises(SourceError, match=r"Scripted \(scripted\) delivered nothing"):
        for chunk in stream:
            got.append(chunk)
    waited = time.monotonic() - t0
    assert 0.3 <= waited < DEADLINE
    assert sum(len(c) for c in got) == 20
    assert stream.state == StreamState.FAILED


def test_idle_timeout_also_catches_an_acquire_that_never_returns() -> None:
    stream = RealtimeStream.from_source(BlockingSource(), chunk_size=10, idle_timeout=0.2)
    with stream, pytest.raises(SourceError, match="delivered nothing"):
        drain(stream)


class Burst(RealtimeSource):
    """Sends ``n`` samples in one block, then stays silent until stopped."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.sent = False
        self._stop = threading.Event()

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(sample_rate=1e6, description="burst")

    def start(self) -> None:
        self._stop.clear()

    def stop(self) -> None:
        self._stop.set()

    def acquire(self) -> Any:
        if not self.sent:
            self.sent = True
            return Block(np.arange(self.n, dtype=np.float64), start_index=1000)
        self._stop.wait(0.05)
        return None


@pytest.mark.parametrize("latency", [0.05, 0.2])
def test_the_tail_of_a_burst_is_delivered_within_max_latency(latency: float) -> None:
    stream = RealtimeStream.from_source(Burst(2500), chunk_size=1000, max_latency=latency)
    got: list[WaveformTrace] = []
    with stream:
        t0 = time.monotonic()
        for chunk in stream:
            got.append(chunk)
            if sum(len(c) for c in got) == 2500:
                break
        waited = time.monotonic() - t0
    assert [(c.start_index, len(c)) for c in got] == [(1000, 1000), (2000, 1000), (3000, 500)]
    assert waited >= latency * 0.9
    np.testing.assert_array_equal(np.concatenate([c.data for c in got]), np.arange(2500.0))


def test_without_max_latency_chunks_stay_whole() -> None:
    stream = RealtimeStream.from_source(Burst(2500), chunk_size=1000, max_latency=None)
    got: list[int] = []

    def stop_later() -> None:
        time.sleep(0.4)
        stream.stop()

    with stream:
        stopper = threading.Thread(target=stop_later)
        stopper.start()
        got = [len(c) for c in stream]
        stopper.join()
    assert got == [1000, 1000]
    assert stream.get_buffer_stats().available == 500  # kept for a restart, not lost


def test_every_thread_is_joined_across_start_stop_cycles() -> None:
    before = {t.ident for t in threading.enumerate()}
    fds_before = len(os.listdir("/proc/self/fd"))
    stream = RealtimeStream.from_source(BlockingSource(), chunk_size=10, idle_timeout=5.0)
    for _ in range(5):
        stream.start()
        t0 = time.monotonic()
        stream.stop()
        assert time.monotonic() - t0 < 0.5
    left = [t for t in threading.enumerate() if t.ident not in before]
    assert left == []
    assert len(os.listdir("/proc/self/fd")) <= fds_before
