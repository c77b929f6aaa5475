"""RealtimeAnalyzer: windowed and cumulative statistics equal numpy, stable, chunk-invariant."""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livetrace import RealtimeAnalyzer, RealtimeConfig, Statistics, TraceMetadata, WaveformTrace
from livetrace.analysis import _stats
from livetrace.analysis._stats import BLOCK

pytestmark = pytest.mark.usefixtures("implementation")


def analyzer(window: int, **kw: object) -> RealtimeAnalyzer:
    return RealtimeAnalyzer(
        RealtimeConfig(sample_rate=1.0, buffer_size=max(window, 1), chunk_size=1, **kw)  # type: ignore[arg-type]
    )


def reference(x: np.ndarray) -> dict[str, float]:
    """numpy's two-pass results, in extended precision so the reference itself is exact."""
    xl = x.astype(np.longdouble)
    return {
        "mean": float(xl.mean()),
        "std": float(xl.std()),
        "variance": float(xl.var()),
        "rms": float(np.sqrt((xl * xl).mean())),
        "min": float(x.min()),
        "max": float(x.max()),
    }


def assert_matches(stats: Statistics, x: np.ndarray, rel: float = 1e-9) -> None:
    ref = reference(x)
    assert stats.n_samples == len(x)
    assert stats.min == ref["min"]  # exact: min and max are samples
    assert stats.max == ref["max"]
    assert stats.peak_to_peak == ref["max"] - ref["min"]
    for key in ("mean", "std", "variance", "rms"):
        assert stats[key] == pytest.approx(ref[key], rel=rel, abs=1e-300), key


def feed(an: RealtimeAnalyzer, x: np.ndarray, cuts: list[int]) -> None:
    bounds = [0, *sorted(c % (len(x) + 1) for c in cuts), len(x)]
    for a, b in itertools.pairwise(bounds):
        an.accumulate(x[a:b])


# ---------------------------------------------------------------- correctness vs numpy
@pytest.mark.parametrize("window", [1, 10, 1000, BLOCK, BLOCK + 1, 3 * BLOCK + 17, 100_000])
def test_window_statistics_equal_numpy_on_every_length(window: int) -> None:
    rng = np.random.default_rng(window)
    x = rng.normal(3.0, 2.0, 3 * window + 5000)
    an = analyzer(window)
    pos = 0
    for n in [1, 7, window, 4096, 13, 9000, len(x)]:
        chunk = x[pos : pos + n]
        if not len(chunk):
            break
        an.accumulate(chunk)
        pos += len(chunk)
        assert_matches(an.get_statistics(), x[max(0, pos - window) : pos])
        assert_matches(an.get_cumulative_statistics(), x[:pos])


def test_min_and_max_leave_the_window() -> None:
    """The seed kept all-time min/max: window 10 over 0..19 reported min 0."""
    an = analyzer(10)
    an.accumulate(np.arange(20.0))
    s = an.get_statistics()
    assert (s.min, s.max, s.peak_to_peak, s.n_samples) == (10.0, 19.0, 9.0, 10)
    c = an.get_cumulative_statistics()
    assert (c.min, c.max, c.n_samples) == (0.0, 19.0, 20)


def test_spike_leaves_the_window_across_blocks() -> None:
    an = analyzer(5000)
    x = np.zeros(30_000)
    x[100] = 1e6
    an.accumulate(x[:5000])
    assert an.get_statistics().max == 1e6
    an.accumulate(x[5000:])
    s = an.get_statistics()
    assert (s.max, s.mean, s.std) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("n", [1000, 100_000, 1_000_000])
def test_large_offset_small_noise_is_stable(n: int) -> None:
    """1e9 + N(0, 1e-3): the seed's sum/sum-of-squares gives std 0.0. Ours matches the exact
    (extended-precision two-pass) value to 1e-9; numpy's float64 two-pass itself is off by up
    to ~2e-8 here (its mean rounds to the nearest double near 1e9), so we also check we are
    within that of numpy's float64 result."""
    rng = np.random.default_rng(n)
    x = 1e9 + rng.normal(0.0, 1e-3, n)
    an = analyzer(n)
    feed(an, x, [n // 3, n // 2 + 7])
    s = an.get_statistics()
    assert s.std > 0.9e-3
    assert_matches(s, x, rel=1e-9)
    assert s.std == pytest.approx(np.std(x), rel=5e-8)
    assert_matches(an.get_cumulative_statistics(), x, rel=1e-9)


def test_rms_and_variance_relation() -> None:
    an = analyzer(100)
    an.accumulate(np.full(100, -3.0))
    s = an.get_statistics()
    assert (s.mean, s.std, s.rms, s.variance) == (-3.0, 0.0, 3.0, 0.0)


# ---------------------------------------------------------------- chunking invariance
@settings(max_examples=40, deadline=None)
@given(
    window=st.integers(1, 3 * BLOCK),
    n=st.integers(1, 4 * BLOCK),
    cuts=st.lists(st.integers(0, 10**6), max_size=12),
    seed=st.integers(0, 2**32 - 1),
)
def test_results_identical_however_the_stream_is_chunked(
    window: int, n: int, cuts: list[int], seed: int
) -> None:
    x = 1e6 + np.random.default_rng(seed).normal(0, 1.0, n)
    whole, split = analyzer(window), analyzer(window)
    whole.accumulate(x)
    feed(split, x, cuts)
    assert whole.get_statistics() == split.get_statistics()  # bit-identical
    assert whole.get_cumulative_statistics() == split.get_cumulative_statistics()
    assert_matches(split.get_statistics(), x[-window:])


# ---------------------------------------------------------------- channels, dtypes, specials
def test_per_channel_statistics() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20_000, 3)) * [1.0, 10.0, 100.0] + [0.0, 5.0, -7.0]
    an = analyzer(5000, n_channels=3)
    feed(an, x, [123, 8000])
    s = an.get_statistics()
    w = x[-5000:]
    np.testing.assert_allclose(s.mean, w.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(s.std, w.std(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(s.min, w.min(axis=0))
    np.testing.assert_array_equal(s.max, w.max(axis=0))
    assert s.n_samples == 5000
    with pytest.raises(ValueError, match=r"shape \(n_samples, 3\)"):
        an.accumulate(np.zeros(10))


def test_complex_input_statistics_follow_numpy_and_magnitude() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=3000) + 1j * rng.normal(size=3000) + (2 - 1j)
    an = analyzer(1000, dtype="complex128")
    an.accumulate(x)
    s = an.get_statistics()
    w = x[-1000:]
    assert s.mean == pytest.approx(w.mean(), rel=1e-12)
    assert s.std == pytest.approx(np.std(w), rel=1e-12)
    assert s.rms == pytest.approx(np.sqrt(np.mean(np.abs(w) ** 2)), rel=1e-12)
    assert s.min == np.abs(w).min()
    assert s.max == np.abs(w).max()


def test_integer_and_float32_input() -> None:
    an = analyzer(4)
    an.accumulate(np.array([1, 2, 3, 4, 5], dtype=np.int16))
    assert an.get_statistics().mean == 3.5
    an2 = analyzer(3)
    an2.accumulate(np.array([0.1, 0.2, 0.3], dtype=np.float32))
    assert an2.get_statistics().mean == pytest.approx(
        np.float32([0.1, 0.2, 0.3]).astype(float).mean()
    )


def test_nan_propagates_while_in_window_and_leaves_with_it() -> None:
    an = analyzer(10)
    x = np.arange(30.0)
    x[3] = np.nan
    an.accumulate(x[:10])
    assert math.isnan(an.get_statistics().mean)
    an.accumulate(x[10:])
    s = an.get_statistics()
    assert s.mean == pytest.approx(24.5)
    assert math.isnan(an.get_cumulative_statistics().mean)


def test_leading_nonfinite_samples_do_not_depend_on_chunking() -> None:
    x = np.concatenate([[np.nan, np.inf], 1e9 + np.arange(10_000.0)])
    a, b = analyzer(5000), analyzer(5000)
    a.accumulate(x)
    b.accumulate(x[:1])
    b.accumulate(x[1:2])
    b.accumulate(x[2:])
    assert a.get_statistics() == b.get_statistics()
    assert_matches(a.get_statistics(), x[-5000:])


# ---------------------------------------------------------------- API
def test_empty_analyzer_raises_seed_message() -> None:
    with pytest.raises(ValueError, match="No data accumulated yet"):
        analyzer(10).get_statistics()


def test_reset_restores_fresh_state() -> None:
    an = analyzer(10)
    an.accumulate(np.arange(50.0))
    an.reset()
    with pytest.raises(ValueError, match="No data accumulated yet"):
        an.get_statistics()
    an.accumulate(np.arange(3.0))
    fresh = analyzer(10)
    fresh.accumulate(np.arange(3.0))
    assert an.get_statistics() == fresh.get_statistics()


def test_accepts_waveform_trace_chunks() -> None:
    an = analyzer(10)
    an.accumulate(WaveformTrace(np.arange(4.0), TraceMetadata(sample_rate=1.0)))
    assert an.get_statistics().n_samples == 4


def test_rejects_non_arrays_with_seed_message() -> None:
    with pytest.raises(TypeError, match="^data must be numpy array$"):
        analyzer(10).accumulate([1.0])  # type: ignore[arg-type]


def test_statistics_keys_are_the_seeds_plus_rms_and_variance() -> None:
    an = analyzer(10)
    an.accumulate(np.arange(4.0))
    s = an.get_statistics()
    assert set(s.keys()) == {
        "mean",
        "std",
        "min",
        "max",
        "peak_to_peak",
        "n_samples",
        "rms",
        "variance",
    }
    assert s["peak_to_peak"] == 3.0
    empty = Statistics.empty()
    assert empty.n_samples == 0
    assert math.isnan(empty.mean)


def test_samples_are_taken_in_the_configured_dtype() -> None:
    """A float32 analyser (as in a float32 stream) sees float32 values, whatever it is fed."""
    x = np.random.default_rng(5).normal(1.0, 1e-3, 20_000)
    an = analyzer(5000, dtype="float32")
    feed(an, x, [777, 5000])
    assert_matches(an.get_statistics(), x.astype(np.float32).astype(np.float64)[-5000:])


# ---------------------------------------------------------------- review: edge cases found
@pytest.mark.parametrize("window", [3, 5000])
def test_inf_gives_numpys_rms_and_mean_without_warnings(window: int) -> None:
    """pyproject turns warnings into errors: inf - inf must not raise out of accumulate."""
    c = RealtimeConfig(sample_rate=1.0, window_size=window, buffer_size=5000, n_channels=3)
    an = RealtimeAnalyzer(c)
    x = np.ones((6000, 3))
    x[-2, 0] = np.inf
    x[-2, 1] = np.nan
    x[-2, 2] = -np.inf
    an.accumulate(x)
    for s in (an.get_statistics(), an.get_cumulative_statistics()):
        np.testing.assert_array_equal(s.rms, [np.inf, np.nan, np.inf])
        np.testing.assert_array_equal(s.mean, [np.inf, np.nan, -np.inf])
        np.testing.assert_array_equal(s.max, [np.inf, np.nan, 1.0])
        assert np.isnan(s.std).all()


# ---------------------------------------------------------------- paths added for speed
@settings(max_examples=25, deadline=None)
@given(
    window=st.integers(1, 3 * BLOCK),
    n=st.integers(1, 4 * BLOCK),
    cuts=st.lists(st.integers(0, 10**6), max_size=8),
    seed=st.integers(0, 2**32 - 1),
)
def test_multichannel_and_complex_results_identical_however_chunked(
    window: int, n: int, cuts: list[int], seed: int
) -> None:
    """The array path (several channels, complex) is chunking-invariant like the one-channel
    path, and agrees with it channel by channel."""
    rng = np.random.default_rng(seed)
    x = 1e6 + rng.normal(0, 1.0, (n, 2))
    whole, split = analyzer(window, n_channels=2), analyzer(window, n_channels=2)
    whole.accumulate(x)
    feed(split, x, cuts)
    for a, b in ((whole.get_statistics(), split.get_statistics()),):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    one = analyzer(window)
    one.accumulate(x[:, 1].copy())
    s1, s2 = one.get_statistics(), split.get_statistics()
    for key in ("mean", "std", "rms", "variance"):
        assert s1[key] == pytest.approx(s2[key][1], rel=1e-12), key
    assert (s1.min, s1.max) == (s2.min[1], s2.max[1])
    z = x[:, 0] + 1j * x[:, 1]
    zw, zs = analyzer(window, dtype="complex128"), analyzer(window, dtype="complex128")
    zw.accumulate(z)
    feed(zs, z, cuts)
    assert zw.get_statistics() == zs.get_statistics()
    assert zw.get_cumulative_statistics() == zs.get_cumulative_statistics()
    w = z[-window:]
    assert zs.get_statistics().std == pytest.approx(np.std(w), rel=1e-9)


def test_analyser_face_update_result_reset() -> None:
    """``update``/``result``/``reset``: the contract of every livetrace analyser."""
    an = analyzer(10)
    assert an.result.n_samples == 0
    assert math.isnan(an.result.mean)
    with pytest.raises(ValueError, match="No data accumulated yet"):
        an.get_statistics()  # the seed's behaviour stays
    an.update(WaveformTrace(np.arange(20.0), TraceMetadata(sample_rate=1.0)))
    assert an.result == an.get_statistics()
    assert (an.result.min, an.result.max) == (10.0, 19.0)
    an.reset()
    assert an.result.n_samples == 0
    multi = analyzer(10, n_channels=3)
    assert multi.result.n_samples == 0
    assert np.isnan(multi.result.mean).all()
    assert multi.result.mean.shape == (3,)


def test_window_of_many_blocks_wrapping_the_summary_ring() -> None:
    """Queries whose blocks wrap around the ring of block summaries, both paths."""
    rng = np.random.default_rng(7)
    x = rng.normal(5.0, 2.0, (40 * BLOCK + 123, 2))
    for channels in (1, 2):
        an = analyzer(5 * BLOCK + 77, n_channels=channels)
        data = x[:, 0] if channels == 1 else x
        for pos in range(0, len(x), 3 * BLOCK + 5):
            an.accumulate(data[pos : pos + 3 * BLOCK + 5])
            end = min(pos + 3 * BLOCK + 5, len(x))
            w = data[max(0, end - an.window_size) : end]
            s = an.get_statistics()
            np.testing.assert_allclose(s.mean, w.mean(axis=0), rtol=1e-12)
            np.testing.assert_allclose(s.std, w.std(axis=0), rtol=1e-10)
            np.testing.assert_array_equal(s.min, w.min(axis=0))
            np.testing.assert_array_equal(s.max, w.max(axis=0))


@pytest.mark.parametrize("window", [3, 5000, 3 * BLOCK + 5])
def test_one_channel_inf_and_nan_as_numpy(window: int) -> None:
    """The one-channel query path (Python floats) treats inf and NaN as the array path."""
    for bad, mean, rms in ((np.inf, np.inf, np.inf), (np.nan, np.nan, np.nan)):
        an = analyzer(window)
        x = np.ones(4 * BLOCK)
        x[-2] = bad
        an.accumulate(x)
        s = an.get_statistics()
        np.testing.assert_array_equal([s.mean, s.rms, s.max], [mean, rms, bad])
        assert math.isnan(s.std)
        multi = analyzer(window, n_channels=2)
        multi.accumulate(np.column_stack([x, x]))
        m = multi.get_statistics()
        np.testing.assert_array_equal([m.mean[0], m.rms[0], m.max[0]], [mean, rms, bad])


@pytest.mark.parametrize("group", [1, 3])
def test_cumulative_across_folded_groups(monkeypatch: pytest.MonkeyPatch, group: int) -> None:
    """The cumulative total folds groups of blocks (4 Mi samples by default); with small groups
    many folds happen here: still chunking-invariant and equal to numpy."""
    from livetrace.analysis import _stats

    monkeypatch.setattr(_stats, "GROUP", group)
    x = 1e3 + np.random.default_rng(group).normal(0, 1.0, 11 * BLOCK + 321)
    whole, split = analyzer(5000), analyzer(5000)
    whole.accumulate(x)
    feed(split, x, [5, BLOCK + 3, 4 * BLOCK, 7 * BLOCK + 11])
    assert whole.get_cumulative_statistics() == split.get_cumulative_statistics()
    assert_matches(split.get_cumulative_statistics(), x)


# ---------------------------------------------------------------- the two implementations
def test_analyser_reports_its_implementation(implementation: str) -> None:
    from livetrace.analysis import compiled_kernel

    an = analyzer(100)
    assert an.compiled is (implementation == "compiled")
    assert (compiled_kernel() in ("avx2", "sse2", "plain")) is an.compiled
    assert RealtimeAnalyzer(RealtimeConfig(sample_rate=1.0), compiled=False).compiled is False


def test_asking_for_a_missing_kernel_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_stats, "_kernels", None)
    with pytest.raises(ImportError, match="C compiler"):
        RealtimeAnalyzer(RealtimeConfig(sample_rate=1.0), compiled=True)
    assert RealtimeAnalyzer(RealtimeConfig(sample_rate=1.0)).compiled is False


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "signal",
    ["noise", "offset", "ramp", "spikes", "nan", "inf", "both_infs", "constant"],
)
@pytest.mark.parametrize("window", [7, 1000, 3 * BLOCK + 17, 40_000])
def test_compiled_and_numpy_implementations_agree(signal: str, dtype: str, window: int) -> None:
    if _stats._kernels is None:
        pytest.skip("the compiled statistics kernel was not built")
    rng = np.random.default_rng(7)
    n = 50_000
    x = {
        "noise": rng.normal(0.0, 1.0, n),
        "offset": 1e6 + rng.normal(0.0, 1e-3, n),
        "ramp": np.arange(n) * 0.5 - 3.0,
        "spikes": np.where(rng.random(n) < 1e-3, 1e5, rng.normal(0.0, 1.0, n)),
        "nan": np.where(np.arange(n) == n - window // 2 - 1, np.nan, rng.normal(size=n)),
        "inf": np.where(np.arange(n) == n - 3, np.inf, rng.normal(size=n)),
        "both_infs": np.where(
            np.arange(n) == n - 2, -np.inf, np.where(np.arange(n) == n - 1, np.inf, 1.0)
        ),
        "constant": np.full(n, 2.5),
    }[signal].astype(dtype)
    cfg = RealtimeConfig(sample_rate=1.0, window_size=window, dtype=dtype)  # type: ignore[arg-type]
    fast, slow = RealtimeAnalyzer(cfg, compiled=True), RealtimeAnalyzer(cfg, compiled=False)
    cuts = [0, 1, 4095, 9000, 30_001, n]
    for a, b in itertools.pairwise(cuts):
        fast.accumulate(x[a:b])
        slow.accumulate(x[a:b])
    for f, s in (
        (fast.get_statistics(), slow.get_statistics()),
        (fast.get_cumulative_statistics(), slow.get_cumulative_statistics()),
    ):
        assert f.n_samples == s.n_samples
        for key in ("min", "max", "peak_to_peak"):
            assert f[key] == s[key] or (math.isnan(f[key]) and math.isnan(s[key])), key
        for key in ("mean", "std", "variance", "rms"):
            assert f[key] == pytest.approx(s[key], rel=1e-12, abs=1e-300, nan_ok=True), key


def test_kernel_variants_give_the_same_bits() -> None:
    """The AVX2, SSE2 and plain C versions of the kernel use the same lanes in the same order."""
    if _stats._kernels is None:
        pytest.skip("the compiled statistics kernel was not built")
    code = (
        "import sys, numpy as np\n"
        "from livetrace.analysis import _kernels\n"
        "out = []\n"
        "for dt in ('float32', 'float64'):\n"
        "    x = (np.random.default_rng(3).standard_normal(3 * 4096 + 13) * 3 + 1e3).astype(dt)\n"
        "    o = np.empty(12)\n"
        "    _kernels.blocks(x[: 3 * 4096], 0.25, 4096, o)\n"
        "    out += [*o.tolist(), *_kernels.one(x, 0.25)]\n"
        "print(repr([v.hex() for v in out]))\n"
    )
    results = [
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "LIVETRACE_KERNEL": variant},
        ).stdout
        for variant in ("", "sse2", "plain")
    ]
    assert results[0] == results[1] == results[2]


@pytest.mark.parametrize("dtype", [">f4", ">f8", "<f4"])
def test_any_byte_order_of_the_configured_dtype(dtype: str) -> None:
    x = np.random.default_rng(5).normal(2.0, 1.0, 3 * BLOCK + 11).astype(dtype)
    an = analyzer(BLOCK + 7, dtype=dtype)
    feed(an, x, [5, BLOCK, 2 * BLOCK + 3])
    assert_matches(an.get_statistics(), x[-(BLOCK + 7) :].astype(np.float64), rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.floats(-1e6, 1e6),
            st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0]),
        ),
        min_size=1,
        max_size=70,
    ),
    k=st.floats(-10.0, 10.0),
    dtype=st.sampled_from(["float32", "float64"]),
)
def test_kernel_summary_of_any_length_matches_a_two_pass(
    values: list[float], k: float, dtype: str
) -> None:
    """Every tail length (the kernel works in groups of eight) and every special value."""
    kernels = _stats._kernels
    if kernels is None:
        pytest.skip("the compiled statistics kernel was not built")
    with np.errstate(over="ignore", invalid="ignore"):
        x = np.array(values).astype(dtype)
        d = x.astype(np.float64) - k
        mean = float(np.sum(d) / len(d))
        m2 = float(np.sum((d - mean) ** 2))
    got = kernels.one(x, k)
    if np.isnan(x).any():
        assert all(math.isnan(v) for v in got)
        return
    assert got[2] == x.min()
    assert got[3] == x.max()
    for g, want in ((got[0], mean), (got[1], m2)):
        if math.isfinite(want) and math.isfinite(g):
            assert g == pytest.approx(want, rel=1e-9, abs=1e-9 * (1 + abs(want)))
        else:
            assert (math.isnan(g) and math.isnan(want)) or g == want


def test_a_stale_kernel_build_is_not_used_and_says_so() -> None:
    """A compiled module from other sources (an old build in a checkout) falls back to numpy."""
    code = (
        "import sys, types, warnings\n"
        "sys.modules['livetrace.analysis._kernels'] = types.ModuleType('stale')\n"
        "sys.modules['livetrace.analysis._kernels'].__file__ = '/old/_kernels.so'\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    from livetrace import RealtimeAnalyzer, RealtimeConfig\n"
        "    from livetrace.analysis import compiled_kernel\n"
        "print(compiled_kernel(), RealtimeAnalyzer(RealtimeConfig(sample_rate=1.0)).compiled)\n"
        "print([str(w.message) for w in caught])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == "None False"
    assert "/old/_kernels.so" in out[1]
    assert "rebuild" in out[1]
