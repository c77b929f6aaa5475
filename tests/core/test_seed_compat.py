"""Code written for tracekit.streaming.realtime runs unchanged (where the seed was right)."""

from __future__ import annotations

import numpy as np
import pytest

from livetrace import (
    RealtimeAnalyzer,
    RealtimeBuffer,
    RealtimeConfig,
    RealtimeSource,
    RealtimeStream,
    TraceMetadata,
    WaveformTrace,
)


def test_buffer_write_read_stats_as_in_the_seed() -> None:
    config = RealtimeConfig(sample_rate=1e6, buffer_size=100, chunk_size=10)
    buffer = RealtimeBuffer(config)
    assert buffer.write(np.arange(50, dtype=np.float64)) == 50
    assert buffer.get_available() == 50
    chunk = buffer.read(10)
    assert isinstance(chunk, np.ndarray)
    assert chunk.dtype == np.float64
    np.testing.assert_array_equal(chunk, np.arange(10.0))
    stats = buffer.get_stats()
    assert stats["total_samples"] == 50
    assert stats["overflow_count"] == 0
    buffer.clear()
    assert buffer.get_available() == 0
    assert buffer.get_stats()["total_samples"] == 0
    buffer.close()


def test_buffer_overflow_count_as_in_the_seed() -> None:
    buffer = RealtimeBuffer(RealtimeConfig(sample_rate=1e3, buffer_size=10, chunk_size=5))
    buffer.write(np.arange(15, dtype=np.float64))
    assert buffer.get_stats()["overflow_count"] == 5
    assert buffer.get_available() == 10


def test_buffer_rejects_what_the_seed_rejected() -> None:
    buffer = RealtimeBuffer(RealtimeConfig(sample_rate=1e3))
    with pytest.raises(TypeError, match="data must be numpy array"):
        buffer.write([1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_samples must be positive"):
        buffer.read(-1)
    with pytest.raises(TimeoutError, match="No data available"):
        buffer.read(10, timeout=0.01)


def test_analyzer_as_in_the_seed() -> None:
    analyzer = RealtimeAnalyzer(RealtimeConfig(sample_rate=1e6, window_size=100))
    analyzer.accumulate(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    stats = analyzer.get_statistics()
    assert stats["mean"] == 3.0
    assert stats["std"] == pytest.approx(np.std([1, 2, 3, 4, 5]))
    assert stats["min"] == 1.0
    assert stats["max"] == 5.0
    assert stats["peak_to_peak"] == 4.0
    assert stats["n_samples"] == 5
    analyzer.reset()
    with pytest.raises(ValueError, match="No data accumulated yet"):
        analyzer.get_statistics()
    with pytest.raises(TypeError, match="data must be numpy array"):
        analyzer.accumulate([1.0])  # type: ignore[arg-type]


def test_trace_types_as_in_tracekit() -> None:
    meta = TraceMetadata(sample_rate=1e9)
    assert meta.time_base == 1e-9
    trace = WaveformTrace(data=np.arange(1000.0), metadata=TraceMetadata(sample_rate=1e6))
    assert len(trace) == 1000
    assert trace.duration == pytest.approx(999e-6)
    assert trace.time_vector[-1] == pytest.approx(999e-6)
    with pytest.raises(ValueError, match="sample_rate must be positive, got 0"):
        TraceMetadata(sample_rate=0)
    with pytest.raises(TypeError, match="data must be a numpy array, got list"):
        WaveformTrace(data=[1.0], metadata=meta)  # type: ignore[arg-type]
    assert WaveformTrace(np.array([1, 2]), meta).data.dtype == np.float64


def test_stream_usage_from_the_seed_docstring() -> None:
    class CustomSource(RealtimeSource):
        def __init__(self) -> None:
            self.k = 0

        def acquire(self) -> np.ndarray:
            self.k += 1
            return np.full(1000, float(self.k))

    config = RealtimeConfig(sample_rate=1e6)
    stream = RealtimeStream(config, CustomSource())
    stream.start()
    seen = []
    for chunk in stream.iter_chunks():
        seen.append((chunk.metadata.start_index, chunk.data.mean(), chunk.metadata.sample_rate))
        if len(seen) == 3:
            break
    stream.stop()
    # The docstring's start_index exists now, and is honest: this unpaced source outruns the
    # consumer, so the default overwrite policy drops the oldest samples and start_index
    # jumps by exactly what was dropped. Each chunk holds the block its position says.
    starts = [s[0] for s in seen]
    assert starts == sorted(set(starts))
    assert all(mean == start / 1000 + 1 for start, mean, _ in seen)
    assert all(s[2] == 1e6 for s in seen)
    assert stream.get_chunk_count() == 3
    assert set(stream.get_statistics().keys()) >= {"mean", "std", "min", "max", "peak_to_peak"}
    assert stream.get_buffer_stats()["total_samples"] >= 3000


@pytest.mark.parametrize("bad", [np.array(["a", "b"]), np.array([object(), 1], dtype=object)])
def test_non_numeric_data_is_refused_with_the_seeds_words_first(bad: np.ndarray) -> None:
    buffer = RealtimeBuffer(RealtimeConfig(sample_rate=1e3))
    with pytest.raises(TypeError, match=r"^data must be float or complex array"):
        buffer.write(bad)
    analyzer = RealtimeAnalyzer(RealtimeConfig(sample_rate=1e3))
    with pytest.raises(TypeError, match=r"^data must be float or complex array"):
        analyzer.accumulate(bad)
