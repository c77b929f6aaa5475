"""ArraySource: chunks, end of stream, looping, pacing, stop, stream end-to-end."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from _source_helpers import drain
from hypothesis import given, settings
from hypothesis import strategies as st

from livetrace import ConfigurationError, EndOfStream, RealtimeStream
from livetrace.sources import ArraySource, Block
from livetrace.testing import check_source


def test_chunks_are_exact_views_then_end_of_stream_repeats():
    data = np.arange(10, dtype=np.int16)
    src = ArraySource(data, 100.0, chunk_size=4)
    chunks = drain(src)
    assert [c.tolist() for c in chunks] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert all(c.dtype == np.int16 and not c.flags.writeable for c in chunks)
    for _ in range(2):
        with pytest.raises(EndOfStream, match="10 samples"):
            src.acquire()
    src.reset()
    assert src.acquire().tolist() == [0, 1, 2, 3]


def test_info_describes_the_array():
    src = ArraySource(
        np.zeros((5, 3), np.float32), 250.0, channel_names=["x", "y", "z"], units=["V"] * 3
    )
    info = src.info
    assert (info.sample_rate, info.dtype, info.n_channels, info.finite) == (
        250.0,
        "float32",
        3,
        True,
    )
    assert info.channel_names == ("x", "y", "z")
    assert info.units == ("V", "V", "V")
    assert src.acquire().shape == (5, 3)
    assert ArraySource(np.zeros(3), 1, loop=True).info.finite is False


def test_loop_wraps_with_a_marked_discontinuity():
    src = ArraySource(np.arange(5.0), 10, chunk_size=3, loop=True)
    got = [src.acquire() for _ in range(5)]
    assert [isinstance(g, Block) for g in got] == [False, False, True, False, True]
    flat = np.concatenate([g.data if isinstance(g, Block) else g for g in got])
    np.testing.assert_array_equal(flat, [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2])
    assert all(g.discontinuity for g in got if isinstance(g, Block))
    assert src.loops == 2
    assert src.health()["loops"] == 2


def test_realtime_pacing_waits_and_stop_wakes_it():
    src = ArraySource(np.zeros(10_000), 1000.0, chunk_size=100, realtime=True)
    t0 = time.monotonic()
    for _ in range(3):
        assert len(src.acquire()) == 100
    assert time.monotonic() - t0 >= 0.29  # 300 samples at 1 kHz cannot come sooner
    slow = ArraySource(np.zeros(10_000), 1.0, chunk_size=5000, realtime=True)
    result = {}
    entered = threading.Event()

    def blocked():
        entered.set()
        result["value"] = slow.acquire()

    t = threading.Thread(target=blocked)
    t.start()
    entered.wait()
    time.sleep(0.05)
    slow.stop()
    t.join(0.5)
    assert not t.is_alive()
    assert result["value"] is None
    assert slow.position == 0  # nothing was consumed by the interrupted call


def test_bad_inputs():
    with pytest.raises(ConfigurationError, match="numeric"):
        ArraySource(np.array(["a"]), 1)
    with pytest.raises(ConfigurationError, match="shape"):
        ArraySource(np.zeros((2, 2, 2)), 1)
    with pytest.raises(ConfigurationError, match="sample_rate"):
        ArraySource(np.zeros(3), 0)
    with pytest.raises(ConfigurationError, match="chunk_size"):
        ArraySource(np.zeros(3), 1, chunk_size=0)
    with pytest.raises(ConfigurationError, match="empty"):
        ArraySource(np.zeros(0), 1, loop=True)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 3000), chunk=st.integers(1, 700), channels=st.integers(1, 3))
def test_any_chunk_size_gives_the_array_back(n, chunk, channels):
    data = np.arange(n * channels, dtype=np.float64).reshape(n, channels)
    if channels == 1:
        data = data[:, 0]
    chunks = drain(ArraySource(data, 1000, chunk_size=chunk))
    assert all(len(c) <= chunk for c in chunks)
    out = np.concatenate(chunks) if chunks else data[:0]
    np.testing.assert_array_equal(out, data)


def test_stream_end_to_end_exact_and_contiguous():
    rng = np.random.default_rng(7)
    data = rng.standard_normal((5000, 2)).astype(np.float32)
    src = ArraySource(data, 1e4, chunk_size=333)
    with RealtimeStream.from_source(src, chunk_size=256, overflow="block") as stream:
        chunks = list(stream)
    starts = [c.metadata.start_index for c in chunks]
    assert starts == list(range(0, 5000, 256))
    np.testing.assert_array_equal(np.concatenate([c.data for c in chunks]), data)
    assert stream.state == "finished"


def test_conformance():
    report = check_source(lambda: ArraySource(np.arange(4000.0), 1000, chunk_size=100))
    assert report.ok
    paced = check_source(lambda: ArraySource(np.arange(400.0), 4000, chunk_size=100, realtime=True))
    assert paced["end_of_stream"].status == "passed"
