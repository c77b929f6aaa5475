"""RealtimeStream: lossless in-order delivery, overflow policies end to end, lifecycle, errors."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livetrace import (
    BufferOverflowError,
    ConfigurationError,
    RealtimeConfig,
    RealtimeSource,
    RealtimeStream,
    RetryPolicy,
    SimulatedSource,
    SinkError,
    SourceError,
    SourceInfo,
    StreamStateError,
    WaveformTrace,
)
from livetrace.testing import BlockingSource, RampSource


def acquisition_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("livetrace-acquire")]


def cfg(**kw: Any) -> RealtimeConfig:
    base: dict[str, Any] = {"sample_rate": 1000.0, "chunk_size": 100, "buffer_size": 1000}
    base.update(kw)
    return RealtimeConfig(**base)


def check_ramp_chunks(chunks: list[WaveformTrace]) -> tuple[int, int]:
    """Each chunk holds the ramp values of its positions; returns (delivered, summed gaps)."""
    expected = 0
    gaps = 0
    for c in chunks:
        np.testing.assert_array_equal(c.data, np.arange(c.start_index, c.end_index))
        assert c.start_index == expected + c.metadata.gap
        assert c.metadata.discontinuity == (c.metadata.gap > 0)
        gaps += c.metadata.gap
        expected = c.end_index
    return sum(len(c) for c in chunks), gaps


# ---------------------------------------------------------------- the example
def test_readme_example_runs_and_delivers_contiguous_chunks() -> None:
    cfg_ = RealtimeConfig(sample_rate=48_000, chunk_size=1024, buffer_size=48_000)
    seen = []
    with RealtimeStream(cfg_, SimulatedSource("sine", frequency=1e3, sample_rate=48_000)) as s:
        for chunk in s:
            seen.append((chunk.metadata.start_index, len(chunk)))
            assert s.get_statistics()["std"] == pytest.approx(np.sqrt(0.5), rel=0.05)
            if len(seen) == 10:
                break
    assert seen == [(i * 1024, 1024) for i in range(10)]
    assert not acquisition_threads()


# ---------------------------------------------------------------- lossless / policies
@settings(max_examples=15, deadline=None)
@given(
    block=st.integers(1, 500),
    chunk=st.integers(1, 300),
    extra=st.integers(0, 700),
)
def test_block_policy_delivers_every_sample_once_in_order(
    block: int, chunk: int, extra: int
) -> None:
    total = 3000 + extra
    src = RampSource(total, block)
    with RealtimeStream(cfg(chunk_size=chunk, buffer_size=chunk + 7, overflow="block"), src) as s:
        chunks = list(s)
    n, gaps = check_ramp_chunks(chunks)
    assert (n, gaps) == (total, 0)
    assert all(len(c) == chunk for c in chunks[:-1])
    assert 0 < len(chunks[-1]) <= chunk
    assert s.get_buffer_stats().dropped == 0
    assert s.state == "finished"


@pytest.mark.parametrize("policy", ["overwrite", "drop_newest"])
def test_lossy_policies_count_every_drop_and_show_it_as_a_gap(policy: str) -> None:
    total = 20_000
    src = RampSource(total, 250)
    s = RealtimeStream(cfg(chunk_size=100, buffer_size=500, overflow=policy), src)
    s.start()
    # Let the source run ahead of a consumer that has not started reading.
    deadline = time.monotonic() + 5
    while s.state == "running" and not s._buffer.ended and time.monotonic() < deadline:
        time.sleep(0.005)
    chunks = list(s)
    s.stop()
    n, gaps = check_ramp_chunks(chunks)
    dropped = s.get_buffer_stats().dropped
    assert dropped > 0
    assert n + dropped == total
    # every drop is visible as a gap, except drops at the very end (none here: the buffer
    # kept the newest/oldest samples that were then delivered)
    assert gaps == dropped - (total - chunks[-1].end_index)
    h = s.health()
    assert (h.samples_in, h.samples_out, h.dropped) == (total, n, dropped)


def test_error_policy_surfaces_overflow_to_the_consumer_after_buffered_data() -> None:
    src = RampSource(5000, 400)
    s = RealtimeStream(cfg(chunk_size=100, buffer_size=1000, overflow="error"), src)
    s.start()
    deadline = time.monotonic() + 5
    while not s._buffer.ended and time.monotonic() < deadline:
        time.sleep(0.005)
    got = []
    with pytest.raises(BufferOverflowError, match="overflow='error'"):
        for c in s:
            got.append(c)
    s.stop()
    n, gaps = check_ramp_chunks(got)
    assert (n, gaps) == (800, 0)  # two whole blocks fit; the third was refused
    assert s.state == "failed"


# ---------------------------------------------------------------- end of stream, lifecycle
def test_end_of_stream_drains_and_ends_iteration_by_itself() -> None:
    src = RampSource(1050, 300)
    with RealtimeStream(cfg(overflow="block"), src) as s:
        chunks = list(s.iter_chunks())
    assert [len(c) for c in chunks] == [100] * 10 + [50]
    assert s.state == "finished"
    assert s.get_chunk_count() == 11


def test_stop_is_prompt_and_ends_iteration_in_another_thread() -> None:
    src = BlockingSource()
    s = RealtimeStream(cfg(), src)
    s.start()
    ended = threading.Event()

    def consume() -> None:
        for _ in s:
            pass
        ended.set()

    t = threading.Thread(target=consume)
    t.start()
    assert src.entered.wait(2)
    t0 = time.monotonic()
    s.stop()
    assert time.monotonic() - t0 < 0.5
    assert ended.wait(0.5)
    t.join(1)
    assert not acquisition_threads()


def test_stop_interrupts_a_writer_blocked_on_a_full_buffer_without_losing_samples() -> None:
    src = RampSource(10_000, 500)
    s = RealtimeStream(cfg(chunk_size=100, buffer_size=300, overflow="block"), src)
    s.start()
    time.sleep(0.05)  # the writer is now blocked on the full buffer
    t0 = time.monotonic()
    s.stop()
    assert time.monotonic() - t0 < 0.5
    s.start()  # resume: the interrupted remainder is written first
    chunks = list(s)
    s.stop()
    n, gaps = check_ramp_chunks(chunks)
    assert (n, gaps) == (10_000, 0)


def test_start_stop_start_resumes_positions_and_leaks_no_thread() -> None:
    src = SimulatedSource("sawtooth", frequency=10, sample_rate=20_000, chunk_size=200)
    s = RealtimeStream(cfg(sample_rate=20_000, chunk_size=200, buffer_size=20_000), src)
    before = threading.active_count()
    starts = []
    for _ in range(3):
        s.start()
        for i, c in enumerate(s):
            starts.append(c.start_index)
            if i == 4:
                break
        s.stop()
        assert not acquisition_threads()
    # positions continue; nothing was dropped (samples buffered at stop are delivered later)
    assert starts == [200 * k for k in range(15)]
    assert s.get_buffer_stats().dropped == 0
    assert threading.active_count() <= before


def test_iterating_before_start_raises_seed_error() -> None:
    s = RealtimeStream(cfg(), RampSource(10))
    with pytest.raises(RuntimeError, match="Stream not started"):
        s.iter_chunks()
    with pytest.raises(StreamStateError):
        iter(s)


def test_finished_stream_cannot_restart() -> None:
    with RealtimeStream(cfg(), RampSource(100)) as s:
        list(s)
    with pytest.raises(StreamStateError, match="cannot restart a finished stream"):
        s.start()


# ---------------------------------------------------------------- errors never silent
def test_transient_source_errors_are_recorded_and_retried() -> None:
    src = RampSource(1000, 100, fail_at={2: OSError("flaky link"), 3: OSError("flaky again")})
    retry = RetryPolicy(max_retries=3, backoff=0.001)
    with RealtimeStream(cfg(retry=retry, overflow="block"), src) as s:
        chunks = list(s)
    assert check_ramp_chunks(chunks) == (1000, 0)
    assert [str(r.error) for r in s.errors] == ["flaky link", "flaky again"]
    assert [r.attempt for r in s.errors] == [1, 2]
    h = s.health()
    assert h.source_errors == 2
    assert h.last_error == "OSError: flaky again"


def test_persistent_source_error_reaches_consumer_chained_after_data() -> None:
    boom = {k: ValueError(f"sensor fault {k}") for k in range(3, 100)}
    src = RampSource(10_000, 100, fail_at=boom)
    retry = RetryPolicy(max_retries=2, backoff=0.001)
    s = RealtimeStream(cfg(retry=retry, overflow="block"), src)
    s.start()
    got = []
    with pytest.raises(SourceError, match="failed 3 time") as info:
        for c in s:
            got.append(c)
    s.stop()
    assert isinstance(info.value.__cause__, ValueError)
    assert str(info.value.__cause__) == "sensor fault 5"
    assert check_ramp_chunks(got) == (200, 0)  # what came before the failure is delivered
    assert s.state == "failed"
    assert s.health().source_errors == 3


def test_invalid_data_from_source_is_a_source_error() -> None:
    class Complexy(RealtimeSource):
        def acquire(self) -> np.ndarray:
            return np.ones(10, dtype=complex)

    s = RealtimeStream(cfg(), Complexy())
    s.start()
    with pytest.raises(SourceError, match="imaginary part") as info:
        list(s)
    s.stop()
    assert isinstance(info.value.__cause__, TypeError)


def test_on_chunk_exception_propagates_to_consumer() -> None:
    def cb(chunk: WaveformTrace) -> None:
        if chunk.start_index == 200:
            raise KeyError("user bug")

    with RealtimeStream(cfg(overflow="block"), RampSource(1000), on_chunk=cb) as s:
        with pytest.raises(KeyError, match="user bug"):
            list(s)
        assert s.get_chunk_count() == 3


# ---------------------------------------------------------------- pipeline
class MaxTracker:
    name = "max"

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.value = -math.inf

    def update(self, chunk: WaveformTrace) -> None:
        self.value = max(self.value, float(chunk.data.max()))

    @property
    def result(self) -> float:
        return self.value


class Doubler:
    def process(self, chunk: WaveformTrace) -> WaveformTrace:
        return WaveformTrace(chunk.data * 2, chunk.metadata)

    def reset(self) -> None:
        pass


class ListSink:
    def __init__(self, fail_at: int | None = None) -> None:
        self.events: list[Any] = []
        self.fail_at = fail_at

    def open(self, info: SourceInfo) -> None:
        self.events.append(("open", info.sample_rate, info.channel_names))

    def write(self, chunk: WaveformTrace) -> None:
        if chunk.start_index == self.fail_at:
            raise OSError(28, "No space left on device")
        self.events.append(("write", chunk.start_index))

    def close(self) -> None:
        self.events.append(("close",))


def test_transforms_statistics_analyzers_sinks_and_on_chunk_in_order() -> None:
    seen: list[tuple[int, float]] = []
    sink = ListSink()
    with RealtimeStream(
        cfg(overflow="block"),
        RampSource(300),
        on_chunk=lambda c: seen.append((c.start_index, c.results["max"])),
        analyzers=[MaxTracker()],
        transforms=[Doubler()],
        sinks=[sink],
    ) as s:
        chunks = list(s)
    np.testing.assert_array_equal(np.concatenate([c.data for c in chunks]), 2 * np.arange(300))
    assert seen == [(0, 198.0), (100, 398.0), (200, 598.0)]
    assert s.get_results() == {"max": 598.0}
    assert s.get_cumulative_statistics().max == 598.0
    assert sink.events == [
        ("open", 1000.0, ("ch0",)),
        ("write", 0),
        ("write", 100),
        ("write", 200),
        ("close",),
    ]


def test_failing_sink_stops_the_stream_with_sink_error() -> None:
    sink = ListSink(fail_at=200)
    s = RealtimeStream(cfg(overflow="block"), RampSource(1000), sinks=[sink])
    s.start()
    with pytest.raises(SinkError, match="No space left") as info:
        list(s)
    assert isinstance(info.value.__cause__, OSError)
    assert s.state == "failed"
    assert not acquisition_threads()
    assert sink.events[-1] == ("close",)


# ---------------------------------------------------------------- metadata, stats, health
def test_chunk_metadata_positions_time_and_channels() -> None:
    src = RampSource(400, 100, n_channels=2)
    c = cfg(n_channels=2, channel_names=("left", "right"), units=("V", "A"), overflow="block")
    t_before = time.time()
    with RealtimeStream(c, src) as s:
        chunks = list(s)
    t0 = chunks[0].metadata.start_time
    assert t0 is not None
    assert t_before <= t0 <= time.time()
    for ch in chunks:
        assert ch.data.shape == (100, 2)
        assert ch.metadata.channel_names == ("left", "right")
        assert ch.metadata.units == ("V", "A")
        assert ch.metadata.start_time == pytest.approx(t0 + ch.start_index / 1000.0)
    stats = s.get_statistics()
    np.testing.assert_allclose(stats.mean, [199.5, 200.0])


def test_statistics_before_any_data_are_the_documented_empty_result() -> None:
    s = RealtimeStream(cfg(), BlockingSource())
    stats = s.get_statistics()
    assert stats.n_samples == 0
    assert math.isnan(stats.mean)
    assert math.isnan(stats["std"])


def test_health_reports_input_rate_and_fill() -> None:
    src = SimulatedSource(sample_rate=20_000, chunk_size=200)
    with RealtimeStream(cfg(sample_rate=20_000, chunk_size=200, buffer_size=20_000), src) as s:
        for i, _ in enumerate(s):
            if i == 60:  # ~0.6 s
                break
        h = s.health()
    assert h.state == "running"
    assert h.input_rate == pytest.approx(20_000, rel=0.25)
    assert h.samples_out == 61 * 200
    assert h.buffer_capacity == 20_000
    assert h["chunks"] == 61


def test_from_source_takes_rate_dtype_and_channels_from_the_source() -> None:
    src = SimulatedSource(
        sample_rate=8000, realtime=False, n_samples=5000, dtype="float32", n_channels=2
    )
    s = RealtimeStream.from_source(src, chunk_size=500, overflow="block")
    assert s.config.sample_rate == 8000
    assert s.config.np_dtype == np.float32
    assert s.config.n_channels == 2
    with s:
        chunks = list(s)
    assert sum(len(c) for c in chunks) == 5000
    assert chunks[0].data.dtype == np.float32


def test_from_source_needs_a_described_source() -> None:
    class Bare(RealtimeSource):
        def acquire(self) -> np.ndarray:
            return np.zeros(1)

    with pytest.raises(TypeError, match="does not describe itself"):
        RealtimeStream.from_source(Bare())


def test_seed_style_source_without_info_runs_unchanged() -> None:
    class Custom(RealtimeSource):
        def __init__(self) -> None:
            self.n = 0

        def acquire(self) -> np.ndarray:
            self.n += 1
            time.sleep(0.001)
            return np.full(50, float(self.n))

    config = RealtimeConfig(sample_rate=1e6)
    stream = RealtimeStream(config, Custom())
    stream.start()
    means = []
    for chunk in stream.iter_chunks():
        means.append(chunk.data.mean())
        if len(means) == 3:
            break
    stream.stop()
    # consecutive chunks are different samples (the seed repeated its first chunk forever)
    assert means == [10.5, 30.5, 50.5]


def test_run_consumes_in_the_calling_thread() -> None:
    sink = ListSink()
    s = RealtimeStream(cfg(overflow="block"), RampSource(1000), sinks=[sink])
    assert s.run(max_samples=500) == 500
    s.stop()
    assert sink.events[-1] == ("close",)
    s2 = RealtimeStream(cfg(overflow="block"), RampSource(1000))
    assert s2.run() == 1000


def test_stop_from_another_thread_never_closes_a_sink_mid_write() -> None:
    events: list[str] = []
    writing = threading.Event()

    class SlowSink:
        def open(self, info: SourceInfo) -> None:
            events.append("open")

        def write(self, chunk: WaveformTrace) -> None:
            events.append("write-start")
            writing.set()
            time.sleep(0.2)
            events.append("write-end")

        def close(self) -> None:
            events.append("close")

    s = RealtimeStream(cfg(overflow="block"), RampSource(100_000), sinks=[SlowSink()])
    s.start()
    stopper = threading.Thread(target=lambda: (writing.wait(5), s.stop()))
    stopper.start()
    t0 = time.monotonic()
    for _ in s:
        pass
    stopper.join(5)
    assert time.monotonic() - t0 < 2
    assert events[0] == "open"
    assert events[-1] == "close"
    assert events.count("close") == 1
    # every write that started also ended before the close
    assert events[:-1].count("write-start") == events[:-1].count("write-end")


@pytest.mark.parametrize(
    ("source_kw", "config_kw", "message"),
    [
        ({"n_channels": 2}, {}, r"delivers 2 channel\(s\) but the config has n_channels=1"),
        ({}, {"sample_rate": 48_000}, "samples at 1000 Hz but the config has sample_rate=48000"),
    ],
)
def test_a_source_that_cannot_fit_the_config_is_refused_up_front(
    source_kw: dict[str, Any], config_kw: dict[str, Any], message: str
) -> None:
    src = RampSource(100, **source_kw)
    with pytest.raises(ConfigurationError, match=message):
        RealtimeStream(cfg(**config_kw), src)


def test_from_source_is_lossless_by_default_for_sources_that_can_wait() -> None:
    waits = SimulatedSource(sample_rate=1000, realtime=False, n_samples=10)
    assert waits.info.backpressure
    assert RealtimeStream.from_source(waits).config.overflow == "block"

    class Live(RampSource):
        @property
        def info(self) -> SourceInfo:
            return SourceInfo(sample_rate=1000.0, description="live")

    assert RealtimeStream.from_source(Live(10)).config.overflow == "overwrite"
    assert RealtimeStream.from_source(waits, overflow="error").config.overflow == "error"


def test_a_loss_at_the_very_end_reaches_sinks_as_an_empty_chunk() -> None:
    """drop_newest discards the tail of the last write; no chunk follows, so sinks get one
    empty chunk carrying the loss (the consumer's loop does not see it)."""
    seen: list[tuple[int, int, int]] = []

    class GapSink(ListSink):
        def write(self, chunk: WaveformTrace) -> None:
            seen.append((chunk.start_index, len(chunk), chunk.metadata.gap))

    src = RampSource(250, 250)  # one write of 250 samples into a 100-sample buffer
    s = RealtimeStream(
        cfg(chunk_size=100, buffer_size=100, overflow="drop_newest"), src, sinks=[GapSink()]
    )
    with s:
        chunks = list(s)
    assert [(c.start_index, len(c)) for c in chunks] == [(0, 100)]
    assert seen == [(0, 100, 0), (250, 0, 150)]
    assert s.health().dropped == 150


# ---------------------------------------------------------------- review: edge cases found
def test_consumer_exception_leaves_a_running_streams_sinks_open() -> None:
    """Reading on after an on_chunk error must never write to a closed sink."""
    sink = ListSink()

    def cb(chunk: WaveformTrace) -> None:
        if chunk.start_index == 100:
            raise KeyError("user bug")

    s = RealtimeStream(cfg(overflow="block"), RampSource(400), cb, sinks=[sink])
    s.start()
    errors = 0
    while True:
        try:
            chunk = s.read_chunk()
        except KeyError:
            errors += 1
            continue
        if chunk is None:
            break
    s.stop()
    assert errors == 1
    assert sink.events[1:] == [("write", i) for i in range(0, 400, 100)] + [("close",)]


def test_health_input_rate_is_exact_for_large_paced_chunks() -> None:
    """4 chunks per second: counting the first logged chunk overstated the rate by 25 %+."""
    src = SimulatedSource(sample_rate=4000, chunk_size=1000)
    with RealtimeStream(cfg(sample_rate=4000, chunk_size=1000, buffer_size=8000), src) as s:
        for i, _ in enumerate(s):
            if i == 4:
                break
        rate = s.health().input_rate
    assert rate == pytest.approx(4000, rel=0.08)


def test_from_source_default_chunk_fits_a_small_buffer() -> None:
    s = RealtimeStream.from_source(SimulatedSource(sample_rate=48_000), buffer_size=300)
    assert (s.config.chunk_size, s.config.buffer_size) == (300, 300)


@pytest.mark.parametrize("failing", [False, True])
def test_restart_after_the_source_ended_delivers_the_rest_without_restarting_it(
    failing: bool,
) -> None:
    fail_at: dict[int, BaseException] = {3: OSError("gone"), 4: OSError("gone")}
    src = RampSource(200 if not failing else 1000, fail_at=fail_at if failing else None)
    c = cfg(overflow="block", retry=RetryPolicy(max_retries=1, backoff=0.0))
    s = RealtimeStream(c, src)
    s.start()
    deadline = time.monotonic() + 5
    while not s._buffer.ended and time.monotonic() < deadline:
        time.sleep(0.001)
    s.stop()  # before the consumer has read anything
    s.start()
    chunks: list[WaveformTrace] = []
    if failing:
        with pytest.raises(SourceError) as info:
            chunks.extend(s)
        assert isinstance(info.value.__cause__, OSError)
    else:
        chunks.extend(s)
    s.stop()
    assert check_ramp_chunks(chunks) == (200, 0)
    assert src.started == 1  # the ended source was not started again
    assert s.state == ("failed" if failing else "finished")


def test_stop_start_from_another_thread_loses_and_duplicates_nothing() -> None:
    """Races of stop()/start() against the acquisition thread and a consumer thread."""
    total = 60_000
    s = RealtimeStream(cfg(overflow="block", buffer_size=300, chunk_size=64), RampSource(total, 37))
    chunks: list[WaveformTrace] = []
    s.start()

    def consume() -> None:
        while True:
            chunk = s.read_chunk()
            if chunk is not None:
                chunks.append(chunk)
            elif s.state == "finished":
                return
            else:
                time.sleep(0.0005)

    t = threading.Thread(target=consume)
    t.start()
    rng = np.random.default_rng(7)
    for _ in range(40):
        if not t.is_alive():
            break
        time.sleep(float(rng.uniform(0, 0.004)))
        s.stop()
        time.sleep(float(rng.uniform(0, 0.002)))
        if s.state == "finished":
            break
        s.start()
    if s.state == "stopped":
        s.start()
    t.join(20)
    s.stop()
    assert not t.is_alive()
    assert check_ramp_chunks(chunks) == (total, 0)
    h = s.health()
    assert (h.samples_in, h.samples_out, h.dropped) == (total, total, 0)
    assert acquisition_threads() == []
