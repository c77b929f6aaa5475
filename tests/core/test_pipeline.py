"""The consumer pipeline: order of the steps, exact run(max_samples), what sinks are told."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livetrace import (
    ConfigurationError,
    RealtimeConfig,
    RealtimeStream,
    SourceInfo,
    StreamState,
    WaveformTrace,
)
from livetrace.analysis import Decimator
from livetrace.testing import RampSource


class ListSink:
    def __init__(self) -> None:
        self.info: SourceInfo | None = None
        self.chunks: list[WaveformTrace] = []
        self.closed = 0

    def open(self, info: SourceInfo) -> None:
        self.info = info

    def write(self, chunk: WaveformTrace) -> None:
        self.chunks.append(chunk)

    def close(self) -> None:
        self.closed += 1


class Recording:
    """An analyser that logs the order in which the steps saw a chunk."""

    def __init__(self, log: list[str], tag: str) -> None:
        self.log, self.tag = log, tag
        self.name = tag

    def update(self, chunk: WaveformTrace) -> None:
        self.log.append(self.tag)

    def reset(self) -> None:
        self.log.clear()

    @property
    def result(self) -> str:
        return self.tag


class Doubler:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def process(self, chunk: WaveformTrace) -> WaveformTrace:
        self.log.append("transform")
        return WaveformTrace(chunk.data * 2, dataclasses.replace(chunk.metadata))

    def reset(self) -> None:
        pass


@settings(max_examples=30, deadline=None)
@given(
    total=st.integers(1, 3000),
    chunk=st.integers(1, 500),
    block=st.integers(1, 700),
    limit=st.integers(1, 4000),
)
def test_run_max_samples_delivers_exactly_that_many(
    total: int, chunk: int, block: int, limit: int
) -> None:
    sink = ListSink()
    stream = RealtimeStream.from_source(
        RampSource(total, block=block), chunk_size=chunk, buffer_size=4096, sinks=[sink]
    )
    n = stream.run(max_samples=limit)
    stream.stop()
    expected = min(limit, total)
    assert n == expected
    got = np.concatenate([c.data for c in sink.chunks if len(c)])
    np.testing.assert_array_equal(got, np.arange(expected, dtype=float))
    assert stream.health().samples_out == expected
    assert all(len(c) <= chunk for c in sink.chunks)


def test_steps_run_in_order_and_results_reach_the_chunk() -> None:
    log: list[str] = []
    seen: list[dict[str, Any]] = []

    class LogSink(ListSink):
        def write(self, chunk: WaveformTrace) -> None:
            log.append("sink")
            super().write(chunk)

    def on_chunk(chunk: WaveformTrace) -> None:
        log.append("on_chunk")
        seen.append(dict(chunk.results))

    stream = RealtimeStream.from_source(
        RampSource(100, block=50),
        chunk_size=50,
        transforms=[Doubler(log)],
        analyzers=[Recording(log, "a"), Recording(log, "b")],
        sinks=[LogSink()],
        on_chunk=on_chunk,
    )
    stream.run()
    assert log == ["transform", "a", "b", "sink", "on_chunk"] * 2
    assert seen == [{"a": "a", "b": "b"}] * 2
    assert stream.get_statistics().max == 2 * 99  # statistics see the transformed samples
    assert stream.state == StreamState.FINISHED
    assert stream.state == "finished"  # the enum compares equal to its value


def test_sinks_and_analysers_are_told_the_rate_after_the_transforms() -> None:
    sink = ListSink()
    stream = RealtimeStream.from_source(
        RampSource(4000, block=1000, rate=8000.0),
        chunk_size=1000,
        transforms=[Decimator(factor=4)],
        sinks=[sink],
    )
    stream.run()
    assert sink.info is not None
    assert sink.info.sample_rate == 2000.0
    assert stream.pipeline.output_info.sample_rate == 2000.0
    assert stream.info.sample_rate == 8000.0


def test_a_failing_on_chunk_still_counts_the_chunk_as_delivered() -> None:
    def boom(chunk: WaveformTrace) -> None:
        raise RuntimeError("user code")

    stream = RealtimeStream.from_source(RampSource(100, block=50), chunk_size=50, on_chunk=boom)
    stream.start()
    with pytest.raises(RuntimeError, match="user code"):
        stream.read_chunk()
    assert stream.health().chunks == 1
    assert stream.health().samples_out == 50
    stream.stop()


def test_config_is_a_frozen_value() -> None:
    cfg = RealtimeConfig(sample_rate=1000.0, chunk_size=10, buffer_size=100)
    stream = RealtimeStream.from_source(RampSource(10), chunk_size=10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.chunk_size = 20  # type: ignore[misc]
    changed = dataclasses.replace(cfg, chunk_size=20)
    assert (cfg.chunk_size, changed.chunk_size) == (10, 20)
    with pytest.raises(ConfigurationError, match="chunk_size cannot exceed buffer_size"):
        dataclasses.replace(cfg, chunk_size=200).validate()
    assert isinstance(ConfigurationError("x"), ValueError)
    stream.stop()
