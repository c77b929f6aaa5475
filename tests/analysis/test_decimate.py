"""Decimator (equals upfirdn of the whole signal) and MinMaxDecimator (equals reshape min/max)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as sps
from hypothesis import given, settings
from hypothesis import strategies as st

from livetrace import RealtimeConfig, RealtimeStream, TraceMetadata, WaveformTrace
from livetrace._errors import ConfigurationError
from livetrace.analysis import Decimator, MinMaxDecimator
from livetrace.sources import SimulatedSource


def chunk(data: np.ndarray, start: int, rate: float = 1e3, disc: bool = False) -> WaveformTrace:
    return WaveformTrace(
        data, TraceMetadata(sample_rate=rate, start_index=start, discontinuity=disc)
    )


def split(x: np.ndarray, cuts: list[int]) -> list[np.ndarray]:
    return np.split(x, sorted(c % (len(x) + 1) for c in cuts))


# ------------------------------------------------------------------------------ Decimator
@settings(max_examples=50, deadline=None)
@given(
    factor=st.integers(1, 9),
    numtaps=st.one_of(st.none(), st.integers(1, 40)),
    n=st.integers(0, 1500),
    channels=st.integers(1, 3),
    cuts=st.lists(st.integers(0, 10**6), max_size=8),
    seed=st.integers(0, 2**16),
)
def test_decimator_any_chunking_equals_upfirdn(factor, numtaps, n, channels, cuts, seed):
    if factor == 1 and numtaps is not None:
        numtaps = None
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, channels))
    d = Decimator(factor=factor, numtaps=numtaps)
    out, pos, starts = [], 0, []
    for part in split(x, cuts):
        c = d.process(chunk(part, pos))
        starts.append((c.metadata.start_index, len(c)))
        out.append(c.data)
        pos += len(part)
    y = np.concatenate(out) if out else np.empty((0, channels))
    expected_len = -(-n // factor)
    assert y.shape == (expected_len, channels)
    ref = sps.upfirdn(d.taps, x, 1, factor, axis=0)[:expected_len]
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-13)
    # output start indices are contiguous in the decimated numbering
    nxt = 0
    for s, length in starts:
        assert s == nxt
        nxt += length
    assert d.result.n_samples == expected_len


def test_decimator_default_filter_is_scipy_decimate_fir():
    d = Decimator(factor=5)
    np.testing.assert_array_equal(d.taps, sps.firwin(101, 1 / 5, window="hamming"))
    x = np.random.default_rng(1).normal(size=2000)
    y = d.process(x)
    # scipy.signal.decimate(ftype="fir", zero_phase=False) keeps the same samples
    ref = sps.decimate(x, 5, ftype="fir", zero_phase=False)
    np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-12)


def test_decimator_metadata_and_alignment_to_absolute_positions():
    fs, q = 1000.0, 4
    x = np.random.default_rng(2).normal(size=50)
    d = Decimator(factor=q, taps=[0.5, 0.25, 0.25])
    meta = TraceMetadata(sample_rate=fs, start_index=7, start_time=100.0)
    out = d.process(WaveformTrace(x, meta))
    # first output: absolute input index 8 (the first multiple of 4 at or after 7) -> 2
    assert out.metadata.start_index == 2
    assert out.metadata.sample_rate == fs / q
    assert out.metadata.start_time == pytest.approx(100.0 + 1 / fs)
    padded = np.concatenate([np.zeros(7), x])  # samples before the first count as zero
    ref = sps.upfirdn([0.5, 0.25, 0.25], padded, 1, q)[2 : 2 + len(out)]
    np.testing.assert_allclose(out.data, ref, rtol=1e-14)
    assert len(out) == len(range(8, 57, 4))


def test_decimator_gap_clears_history_and_keeps_numbering():
    q = 3
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=100), rng.normal(size=90)
    d = Decimator(factor=q, numtaps=13)
    d.process(chunk(a, 0))
    out = d.process(chunk(b, 250))
    # equals decimating the post-gap signal alone, at its absolute positions
    ref = sps.upfirdn(d.taps, np.concatenate([np.zeros(250), b]), 1, q)
    first = -(-250 // q)
    np.testing.assert_allclose(out.data, ref[first : first + len(out)], rtol=1e-13, atol=1e-15)
    assert out.metadata.start_index == first == 84
    assert out.metadata.discontinuity
    assert out.metadata.gap == first - 34  # 100 samples -> outputs 0..33, next expected 34
    assert d.result.n_gaps == 1


def test_decimator_float32_reset_and_empty_output():
    d = Decimator(factor=8)
    x = np.random.default_rng(4).normal(size=100).astype(np.float32)
    small = d.process(chunk(x[:1], 1))  # index 1: no multiple of 8 in [1, 2)
    assert small.data.shape == (0,)
    assert small.metadata.start_index == 1
    d.reset()
    y = d.process(x)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(
        y, sps.upfirdn(d.taps, x.astype(np.float64), 1, 8)[:13].astype(np.float32)
    )
    fresh = Decimator(factor=8)
    d.reset()
    np.testing.assert_array_equal(d.process(x), fresh.process(x))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"factor": 0}, "factor must be an integer >= 1, got 0"),
        ({"factor": 2.5}, "factor must be an integer >= 1, got 2.5"),
        ({"factor": 2, "numtaps": 5, "taps": [1.0]}, "not both"),
        ({"factor": 2, "taps": []}, "non-empty 1-D"),
        ({"factor": 2, "taps": [1.0, np.nan]}, "finite numbers"),
        ({"factor": 2, "numtaps": 0}, "numtaps must be an integer >= 1"),
        ({"factor": 1, "numtaps": 5}, "give taps=..."),
    ],
)
def test_decimator_bad_parameters(kwargs, message):
    with pytest.raises(ConfigurationError) as info:
        Decimator(**kwargs)
    assert message in str(info.value)


def test_decimator_in_a_stream():
    fs, n, q = 48000.0, 30000, 6

    def source() -> SimulatedSource:
        return SimulatedSource(
            "sine", frequency=440.0, sample_rate=fs, chunk_size=1000, realtime=False, n_samples=n
        )

    cfg = RealtimeConfig(sample_rate=fs, chunk_size=1024, buffer_size=16384, overflow="block")
    d = Decimator(factor=q)
    outs, rates, starts = [], set(), []
    with RealtimeStream(cfg, source(), transforms=[d]) as stream:
        for c in stream:
            outs.append(c.data.copy())
            rates.add(c.metadata.sample_rate)
            starts.append(c.metadata.start_index)
    src = source()
    raw = np.concatenate([src.acquire() for _ in range(n // 1000)])
    ref = sps.upfirdn(d.taps, raw, 1, q)[: n // q]
    np.testing.assert_allclose(np.concatenate(outs), ref, rtol=1e-12, atol=1e-12)
    assert rates == {fs / q}
    assert starts[:3] == [0, 171, 342]  # ceil(1024 * k / 6)


# ------------------------------------------------------------------------------ MinMax
def reference(x: np.ndarray, bucket: int) -> tuple[np.ndarray, np.ndarray]:
    full = len(x) // bucket * bucket
    blocks = x[:full].reshape(-1, bucket, *x.shape[1:])
    mins, maxs = blocks.min(axis=1), blocks.max(axis=1)
    if full < len(x):
        mins = np.concatenate([mins, x[full:].min(axis=0, keepdims=True)])
        maxs = np.concatenate([maxs, x[full:].max(axis=0, keepdims=True)])
    return mins, maxs


@settings(max_examples=60, deadline=None)
@given(
    bucket=st.integers(1, 50),
    n=st.integers(0, 1200),
    channels=st.integers(1, 3),
    one_d=st.booleans(),
    cuts=st.lists(st.integers(0, 10**6), max_size=10),
    takes=st.lists(st.booleans(), max_size=12),
    seed=st.integers(0, 2**16),
)
def test_minmax_any_chunking_equals_reshape(bucket, n, channels, one_d, cuts, takes, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-1000, 1000, size=(n, channels)).astype(np.float32)
    if one_d:
        x = x[:, 0]
    mm = MinMaxDecimator(bucket=bucket)
    got, per_update = [], []
    for i, part in enumerate(split(x, cuts)):
        mm.update(part)
        per_update.append(mm.result)
        if i < len(takes) and takes[i]:
            got.append(mm.take())
    got.append(mm.flush())
    mins = np.concatenate([r.mins for r in got])
    maxs = np.concatenate([r.maxs for r in got])
    starts = np.concatenate([r.bucket_start_indices for r in got])
    counts = np.concatenate([r.counts for r in got])
    ref_min, ref_max = reference(x, bucket)
    np.testing.assert_array_equal(mins, ref_min)
    np.testing.assert_array_equal(maxs, ref_max)
    assert mins.dtype == np.float32
    np.testing.assert_array_equal(starts, np.arange(len(ref_min)) * bucket)
    assert counts.sum() == n
    # result of each update = the buckets that update completed
    done = np.concatenate([r.bucket_start_indices for r in per_update])
    np.testing.assert_array_equal(done, np.arange(n // bucket) * bucket)


def test_minmax_aligned_to_absolute_index_and_gaps():
    mm = MinMaxDecimator(bucket=10)
    mm.update(chunk(np.arange(5.0), 7))  # indices 7..11: bucket 0 (3 samples), bucket 10 open
    r = mm.result
    assert r.bucket_start_indices.tolist() == [0]
    assert r.counts.tolist() == [3]
    assert r.mins.tolist() == [0.0]
    assert r.maxs.tolist() == [2.0]
    mm.update(chunk(np.array([-9.0, 9.0]), 15))  # gap inside bucket 10: merged
    assert mm.result.n_buckets == 0
    mm.update(chunk(np.array([4.0]), 42))  # gap leaving bucket 10: it completes
    r = mm.result
    assert r.bucket_start_indices.tolist() == [10]
    assert r.counts.tolist() == [4]
    assert (r.mins.tolist(), r.maxs.tolist()) == ([-9.0], [9.0])
    assert mm.take().bucket_start_indices.tolist() == [0, 10]
    assert mm.take().n_buckets == 0
    assert mm.flush().bucket_start_indices.tolist() == [40]


def test_minmax_pending_is_bounded_and_drops_are_counted():
    mm = MinMaxDecimator(bucket=2, max_pending=5)
    mm.update(np.arange(20.0))  # 10 buckets
    r = mm.take()
    assert r.bucket_start_indices.tolist() == [10, 12, 14, 16, 18]
    assert r.n_dropped == 5 == mm.n_dropped


def test_minmax_multichannel_reset_and_errors():
    x = np.random.default_rng(5).normal(size=(103, 2))
    mm = MinMaxDecimator(bucket=8)
    mm.update(x)
    r = mm.result
    ref_min, ref_max = reference(x[:96], 8)
    np.testing.assert_array_equal(r.mins, ref_min)
    np.testing.assert_array_equal(r.maxs, ref_max)
    assert r.mins.shape == (12, 2)
    assert r["maxs"].shape == (12, 2)
    mm.reset()
    assert mm.take().n_buckets == 0
    assert mm.result.n_buckets == 0
    with pytest.raises(TypeError, match="takes real data"):
        mm.update(np.ones(4, dtype=complex))
    with pytest.raises(ConfigurationError, match="bucket must be an integer >= 1, got 0"):
        MinMaxDecimator(bucket=0)
    mm.update(x)
    with pytest.raises(ValueError, match="fed 2 channel"):
        mm.update(np.ones((4, 3)))


def test_minmax_in_a_stream():
    fs, n, bucket = 10000.0, 25000, 64

    def source() -> SimulatedSource:
        return SimulatedSource(
            "noise", sample_rate=fs, chunk_size=999, seed=11, realtime=False, n_samples=n
        )

    cfg = RealtimeConfig(sample_rate=fs, chunk_size=1000, buffer_size=10000, overflow="block")
    mm = MinMaxDecimator(bucket=bucket)
    got = []
    with RealtimeStream(cfg, source(), analyzers=[mm]) as stream:
        for c in stream:
            got.append(c.results["minmax"])
    src = source()
    raw = np.concatenate([src.acquire() for _ in range(-(-n // 999))])
    ref_min, ref_max = reference(raw[: n // bucket * bucket], bucket)
    np.testing.assert_array_equal(np.concatenate([r.mins for r in got]), ref_min)
    np.testing.assert_array_equal(np.concatenate([r.maxs for r in got]), ref_max)


def test_minmax_nan_stays_in_its_bucket_and_channel() -> None:
    x = np.arange(64.0).reshape(32, 2)
    x[9, 1] = np.nan
    mm = MinMaxDecimator(bucket=8)
    mm.update(x)
    r = mm.take()
    assert np.isnan(r.mins[1, 1])
    assert np.isnan(r.maxs[1, 1])
    assert not np.isnan(np.delete(r.mins.ravel(), 3)).any()
    np.testing.assert_array_equal(r.mins[:, 0], x[::8, 0])
    np.testing.assert_array_equal(r.maxs[:, 0], x[7::8, 0])
