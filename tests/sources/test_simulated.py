"""SimulatedSource: correct waveforms, phase-continuous chunks, real-time pacing."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livetrace import ConfigurationError, EndOfStream, SimulatedSource
from livetrace.sources import SIGNAL_TYPES, open_source


def collect(src: SimulatedSource, n: int) -> np.ndarray:
    out = []
    got = 0
    while got < n:
        x = src.acquire()
        assert x is not None
        out.append(x)
        got += len(x)
    return np.concatenate(out)[:n]


def test_sine_values() -> None:
    src = SimulatedSource("sine", frequency=50, amplitude=2.0, sample_rate=1000, realtime=False)
    x = collect(src, 1000)
    t = np.arange(1000) / 1000
    np.testing.assert_allclose(x, 2.0 * np.sin(2 * np.pi * 50 * t), atol=1e-12)


def test_table_and_direct_generation_agree() -> None:
    """A rational frequency uses one precomputed period; it matches the direct formula."""
    table = SimulatedSource("sine", frequency=1e3, sample_rate=1e6, realtime=False)
    assert table._period_table() is not None
    idx = np.arange(5_000_000, 5_010_000, dtype=np.float64)
    np.testing.assert_allclose(table.generate(5_000_000, 10_000), table._direct(idx), atol=1e-9)
    odd = SimulatedSource("sine", frequency=1234.567, sample_rate=1e6, realtime=False)
    assert odd._period_table() is None


def test_square_triangle_sawtooth_shapes() -> None:
    kw = {"frequency": 10, "sample_rate": 1000, "realtime": False, "chunk_size": 100}
    sq = collect(SimulatedSource("square", duty_cycle=0.25, **kw), 100)  # type: ignore[arg-type]
    np.testing.assert_array_equal(sq, np.where(np.arange(100) < 25, 1.0, -1.0))
    tri = collect(SimulatedSource("triangle", **kw), 100)  # type: ignore[arg-type]
    assert tri[0] == pytest.approx(0.0)
    assert tri[25] == pytest.approx(1.0)
    assert tri[75] == pytest.approx(-1.0)
    saw = collect(SimulatedSource("sawtooth", **kw), 100)  # type: ignore[arg-type]
    np.testing.assert_allclose(saw, 2 * np.arange(100) / 100 - 1, atol=1e-12)


def test_multitone_mixed_and_offset() -> None:
    src = SimulatedSource(
        "multitone", tones=[(10, 1.0), (30, 0.5)], sample_rate=1000, realtime=False, offset=3.0
    )
    x = collect(src, 1000)
    t = np.arange(1000) / 1000
    ref = np.sin(2 * np.pi * 10 * t) + 0.5 * np.sin(2 * np.pi * 30 * t) + 3.0
    np.testing.assert_allclose(x, ref, atol=1e-12)
    mixed = collect(SimulatedSource("mixed", frequency=10, sample_rate=1000, realtime=False), 1000)
    np.testing.assert_allclose(
        mixed, np.sin(2 * np.pi * 10 * t) + 0.3 * np.sin(2 * np.pi * 30 * t), atol=1e-12
    )


def test_chirp_sweeps_between_frequencies() -> None:
    fs = 10_000
    src = SimulatedSource(
        "chirp", frequency=100, chirp_end=1000, chirp_duration=1.0, sample_rate=fs, realtime=False
    )
    x = collect(src, fs)
    t = np.arange(fs) / fs
    np.testing.assert_allclose(x, np.sin(2 * np.pi * (100 * t + 450 * t**2)), atol=1e-9)


def test_noise_level_and_seed_reproducible() -> None:
    a = collect(SimulatedSource("noise", amplitude=2.0, seed=7, realtime=False), 50_000)
    b = collect(SimulatedSource("noise", amplitude=2.0, seed=7, realtime=False), 50_000)
    np.testing.assert_array_equal(a, b)
    assert a.std() == pytest.approx(2.0, rel=0.02)
    c = collect(
        SimulatedSource("dc", noise_level=0.1, amplitude=5.0, seed=1, realtime=False), 50_000
    )
    assert c.std() == pytest.approx(0.5, rel=0.02)


@settings(max_examples=30, deadline=None)
@given(
    kind=st.sampled_from(list(SIGNAL_TYPES)),
    chunk=st.integers(1, 700),
    dtype=st.sampled_from(["float32", "float64"]),
    channels=st.integers(1, 3),
    frequency=st.sampled_from([37.0, 37.123456789]),  # periodic table path / direct path
)
def test_concatenated_chunks_equal_one_long_generation(
    kind: str, chunk: int, dtype: str, channels: int, frequency: float
) -> None:
    kw = {
        "frequency": frequency,
        "sample_rate": 1000.0,
        "realtime": False,
        "noise_level": 0.1,
        "seed": 3,
        "dtype": dtype,
        "n_channels": channels,
    }
    whole = collect(SimulatedSource(kind, chunk_size=2000, **kw), 2000)  # type: ignore[arg-type]
    pieces = collect(SimulatedSource(kind, chunk_size=chunk, **kw), 2000)  # type: ignore[arg-type]
    np.testing.assert_array_equal(whole, pieces)
    assert whole.dtype == np.dtype(dtype)
    assert whole.shape == ((2000,) if channels == 1 else (2000, channels))


def test_finite_source_ends_with_end_of_stream() -> None:
    src = SimulatedSource(sample_rate=100, chunk_size=40, n_samples=100, realtime=False)
    assert [len(src.acquire()) for _ in range(3)] == [40, 40, 20]  # type: ignore[arg-type]
    with pytest.raises(EndOfStream):
        src.acquire()
    assert src.info.finite


def test_paced_source_delivers_at_the_sample_rate_without_drift() -> None:
    src = SimulatedSource(sample_rate=48_000, chunk_size=480)
    src.start()
    t0 = time.monotonic()
    n = 0
    while n < 24_000:  # 0.5 s of samples
        n += len(src.acquire())  # type: ignore[arg-type]
    elapsed = time.monotonic() - t0
    # paced from the anchor: never early, and not late by more than scheduling noise
    assert 0.49 <= elapsed < 0.6


def test_stop_wakes_a_paced_wait_at_once() -> None:
    src = SimulatedSource(sample_rate=1.0, chunk_size=10)  # 10 s per chunk
    src.start()
    result: list[object] = []
    t = threading.Thread(target=lambda: result.append(src.acquire()))
    t.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    src.stop()
    t.join(1.0)
    assert not t.is_alive()
    assert time.monotonic() - t0 < 0.1
    assert result == [None]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"signal_type": "bogus"}, "Unknown signal type: 'bogus'; expected one of sine"),
        ({"sample_rate": 0}, "sample_rate must be positive"),
        ({"chunk_size": 0}, "chunk_size must be >= 1"),
        ({"duty_cycle": 2}, r"duty_cycle must be within \[0, 1\]"),
        ({"dtype": "int16"}, "dtype must be float32 or float64"),
        ({"dtype": "foo"}, "dtype must be float32 or float64, got 'foo'"),
    ],
)
def test_bad_parameters(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SimulatedSource(**kwargs)  # type: ignore[arg-type]


def test_sim_uri() -> None:
    src = open_source("sim:square?frequency=5&sample_rate=100&realtime=0&samples=30&chunk_size=30")
    assert isinstance(src, SimulatedSource)
    x = src.acquire()
    assert x is not None
    np.testing.assert_array_equal(x[:10], np.ones(10))
    with pytest.raises(ValueError, match="unknown parameter.*bogus.*accepted: amplitude"):
        open_source("sim:sine?bogus=1")
    with pytest.raises(ValueError, match="frequency='abc' is invalid"):
        open_source("sim:sine?frequency=abc")
    with pytest.raises(ValueError, match="unknown source scheme 'nope'.*available: .*sim"):
        open_source("nope:thing")
